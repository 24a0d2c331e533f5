//! Log lines reach standard output in batches, written by a thread of their own.
//!
//! Writing every line with its own `write(2)` cost a request about 2.5 µs of the worker's CPU
//! (`bench/profile.sh requests`, issue 16): the syscall and the file system's bookkeeping, on the
//! thread that also serves the connections. Here a line is appended to a shared buffer (a
//! memcpy under an uncontended lock) and a flusher thread writes what gathered every
//! [`FLUSH_AFTER`], so under load one `write` carries hundreds of lines.
//!
//! Nothing is dropped: past [`MAX_PENDING`] bytes the thread that logs writes the batch itself
//! (the back-pressure a slow log reader applied before, now once per megabyte), and
//! [`LogWriter::flush`] is called before the process exits. Order is kept: a batch is taken
//! from the buffer and written while holding the output's lock.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long a line may wait in memory before it is written.
pub(crate) const FLUSH_AFTER: Duration = Duration::from_millis(5);
/// Past this many bytes waiting, the logging thread writes them itself.
const MAX_PENDING: usize = 1 << 20;

/// The process's log output (standard output, or a test's sink).
#[derive(Clone)]
pub(crate) struct LogWriter {
    shared: Arc<Shared>,
}

struct Shared {
    pending: Mutex<Vec<u8>>,
    /// Signalled when the first line of a batch arrives.
    arrived: Condvar,
    /// The output, and the buffer the last batch was written from (swapped with `pending`, so
    /// that batches reuse two buffers instead of allocating one each).
    out: Mutex<(Box<dyn Write + Send>, Vec<u8>)>,
    /// False when the flusher thread could not start.
    batched: std::sync::atomic::AtomicBool,
}

/// The log writer of the process, started on first use.
pub(crate) fn stdout() -> LogWriter {
    static STDOUT: OnceLock<LogWriter> = OnceLock::new();
    STDOUT
        .get_or_init(|| LogWriter::start(Box::new(std::io::stdout())))
        .clone()
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves bytes, not broken invariants: keep logging.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

// === impl LogWriter ===

impl LogWriter {
    /// Starts the flusher thread for `out`. If the thread cannot start, every line is written
    /// by the thread that logs it (as before batching).
    pub(crate) fn start(out: Box<dyn Write + Send>) -> Self {
        let shared = Arc::new(Shared {
            pending: Mutex::new(Vec::with_capacity(64 * 1024)),
            arrived: Condvar::new(),
            out: Mutex::new((out, Vec::with_capacity(64 * 1024))),
            batched: std::sync::atomic::AtomicBool::new(true),
        });
        let flusher = Arc::clone(&shared);
        let started = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || flusher.run());
        if let Err(e) = started {
            eprintln!("log writer thread could not start ({e}); writing lines one by one");
            shared
                .batched
                .store(false, std::sync::atomic::Ordering::Relaxed);
        }
        Self { shared }
    }

    /// Writes every line logged so far. Called before the process exits.
    pub(crate) fn flush(&self) {
        self.shared.write_pending();
    }

    fn append(&self, bytes: &[u8]) {
        let mut pending = lock(&self.shared.pending);
        let first = pending.is_empty();
        pending.extend_from_slice(bytes);
        let full = pending.len() >= MAX_PENDING
            || !self
                .shared
                .batched
                .load(std::sync::atomic::Ordering::Relaxed);
        drop(pending);
        if full {
            self.shared.write_pending();
        } else if first {
            self.shared.arrived.notify_one();
        }
    }
}

// === impl Shared ===

impl Shared {
    fn run(&self) {
        loop {
            let mut pending = lock(&self.pending);
            while pending.is_empty() {
                pending = self
                    .arrived
                    .wait(pending)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            drop(pending);
            // Let the batch grow: under load, the lines of the next few milliseconds.
            std::thread::sleep(FLUSH_AFTER);
            self.write_pending();
        }
    }

    fn write_pending(&self) {
        let mut guard = lock(&self.out);
        let (out, batch) = &mut *guard;
        std::mem::swap(batch, &mut *lock(&self.pending));
        if batch.is_empty() {
            return;
        }
        // Like tracing's own writer: a log that cannot be written is not worth failing for.
        let _ = out.write_all(batch);
        let _ = out.flush();
        batch.clear();
    }
}

/// What `tracing_subscriber` writes one event to: the formatted line arrives in one
/// `write_all`, so each line is appended whole.
pub(crate) struct LineSink(LogWriter);

impl Write for LineSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.append(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = LineSink;
    fn make_writer(&'a self) -> LineSink {
        LineSink(self.clone())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A sink the test can read, counting the writes it gets.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<(Vec<u8>, usize)>>);
    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let mut s = lock(&self.0);
            s.0.extend_from_slice(buf);
            s.1 += 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_arrive_whole_in_order_and_batched() {
        let sink = Sink::default();
        let log = LogWriter::start(Box::new(sink.clone()));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    for i in 0..1000 {
                        let mut w = log.make_writer();
                        w.write_all(format!("{t} {i}\n").as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        log.flush();
        let (bytes, writes) = lock(&sink.0).clone();
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(text.lines().count(), 4000);
        // Each thread's lines in its own order, none torn.
        for t in 0..4 {
            let mine: Vec<usize> = text
                .lines()
                .filter_map(|l| l.strip_prefix(&format!("{t} ")))
                .map(|i| i.parse().unwrap())
                .collect();
            assert_eq!(mine, (0..1000).collect::<Vec<_>>());
        }
        assert!(writes < 4000, "{writes} writes for 4000 lines: not batched");
    }

    #[test]
    fn a_line_reaches_the_output_without_an_explicit_flush() {
        let sink = Sink::default();
        let log = LogWriter::start(Box::new(sink.clone()));
        log.make_writer().write_all(b"alone\n").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while lock(&sink.0).0.is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "the line was never written"
            );
            std::thread::sleep(FLUSH_AFTER);
        }
        assert_eq!(lock(&sink.0).0, b"alone\n");
    }

    #[test]
    fn past_the_limit_the_logging_thread_writes() {
        let sink = Sink::default();
        let log = LogWriter::start(Box::new(sink.clone()));
        let big = vec![b'x'; MAX_PENDING];
        log.make_writer().write_all(&big).unwrap();
        // Written by this thread, before the flusher's delay could have passed.
        assert_eq!(lock(&sink.0).0.len(), MAX_PENDING);
    }
}
