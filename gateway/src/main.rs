//! The `gateway` binary: everything lives in the library; see `gateway::cli`.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    #[cfg(not(feature = "system-allocator"))]
    jemalloc::tune();
    gateway::cli::main()
}

#[cfg(not(feature = "system-allocator"))]
mod jemalloc {
    //! jemalloc rather than glibc's malloc, for the binary only (the library and its tests keep the
    //! system allocator). With thousands of keep-alive connections, glibc keeps the memory of
    //! closed connections: it can only give back the top of a heap, and long-lived allocations
    //! interleave with the handshakes' short-lived ones. jemalloc returns unused pages (see
    //! [`tune`]).
    //!
    //! The `system-allocator` feature keeps glibc's malloc instead, for heap profilers that hook it
    //! (heaptrack, valgrind): `cargo build --release -p gateway --features system-allocator`.

    #[global_allocator]
    static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

    /// jemalloc purges unused ("dirty") pages as time passes, but only when some thread allocates
    /// or frees: after the last connection of a burst closes, an idle gateway would keep them. A
    /// background thread purges them without waiting for allocator activity.
    ///
    /// Decay: freed pages go back to the system after about a second (jemalloc's default: 10 s),
    /// and with `MADV_DONTNEED` at once rather than through the lazy `MADV_FREE` ("muzzy") stage,
    /// whose pages still count in the RSS until the kernel is short of memory. The price is more
    /// `madvise` calls and page faults when memory is freed and needed again within a second.
    pub(super) fn tune() {
        use tikv_jemalloc_ctl::{Access as _, AsName as _};
        if let Err(e) = tikv_jemalloc_ctl::background_thread::write(true) {
            // Not fatal: the pages are still purged, at the next allocator activity.
            eprintln!("jemalloc: background_thread not enabled: {e}");
        }
        // The defaults of arenas created from now on, then the arenas that exist already.
        let _ = b"arenas.dirty_decay_ms\0".name().write(DIRTY_DECAY_MS);
        let _ = b"arenas.muzzy_decay_ms\0".name().write(0isize);
        let arenas = tikv_jemalloc_ctl::arenas::narenas::read().unwrap_or(0);
        for i in 0..arenas {
            // Arenas not initialised yet refuse: they will take the defaults above.
            let _ = format!("arena.{i}.dirty_decay_ms\0")
                .as_str()
                .name()
                .write(DIRTY_DECAY_MS);
            let _ = format!("arena.{i}.muzzy_decay_ms\0")
                .as_str()
                .name()
                .write(0isize);
        }
    }

    const DIRTY_DECAY_MS: isize = 1000;
}
