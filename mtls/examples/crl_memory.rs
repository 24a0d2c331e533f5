//! Resident memory of a loaded 100,000-serial CRL: VmRSS before and after loading it.
//! Run: `CARGO_TARGET_DIR=/work/target-mtls cargo run --release -p mtls --example crl_memory`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use mtls::{Revocation, TrustAnchors};

#[path = "../benches/support/big_crl.rs"]
mod big_crl;
use big_crl::{big_crl, file_settings, pki};

fn vm_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::main]
async fn main() {
    mtls::install_default_provider();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.crl");
    std::fs::write(&file, big_crl(100_000)).unwrap();
    let anchors = TrustAnchors::from_files(&[pki("ca-bundle.pem")]).unwrap();
    let settings = file_settings(file.clone());
    let before = vm_rss_kib();
    let started = std::time::Instant::now();
    let revocation = Revocation::start(settings, &anchors).await.unwrap();
    let load = started.elapsed();
    let after = vm_rss_kib();
    let status = revocation.status();
    println!(
        "CRL file {} bytes, {} entries; load {:?}; VmRSS {} KiB -> {} KiB (+{} KiB); index estimate {} KiB",
        std::fs::metadata(&file).unwrap().len(),
        status.crls[0].entries.unwrap(),
        load,
        before,
        after,
        after.saturating_sub(before),
        status.crls[0].index_bytes.unwrap() / 1024
    );
}
