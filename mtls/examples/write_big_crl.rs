//! Writes a CRL of the test intermediate listing N random serials (DER), for benchmarks that
//! need the same big CRL in the gateway and in nginx (`bench/run.sh` with revocation on).
//! Run: `cargo run --release -p mtls --example write_big_crl -- OUT.crl [N=100000]`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

#[path = "../benches/support/big_crl.rs"]
#[allow(dead_code)]
mod big_crl;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(out) = args.next() else {
        eprintln!("usage: write_big_crl OUT.crl [ENTRIES]");
        std::process::exit(64);
    };
    let entries = args.next().map_or(100_000, |n| n.parse().unwrap());
    let der = big_crl::big_crl(entries);
    std::fs::write(&out, &der).unwrap();
    println!("{out}: {entries} entries, {} bytes", der.len());
}
