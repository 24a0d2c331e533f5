//! CRL cost: loading a 100,000-serial CRL (parse + signature check + index build) and looking a
//! client chain up in it. Run: `CARGO_TARGET_DIR=/work/target-mtls cargo bench -p mtls --bench crl`.
#![allow(missing_docs, clippy::unwrap_used)]

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use mtls::{Revocation, TrustAnchors};

#[path = "support/big_crl.rs"]
mod big_crl;
use big_crl::{big_crl, file_settings as settings, pki};

const ENTRIES: u32 = 100_000;

fn bench(c: &mut Criterion) {
    mtls::install_default_provider();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.crl");
    std::fs::write(&file, big_crl(ENTRIES)).unwrap();
    let anchors = TrustAnchors::from_files(&[pki("ca-bundle.pem")]).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();

    let revocation: Arc<Revocation> = rt
        .block_on(Revocation::start(settings(file.clone()), &anchors))
        .unwrap();
    let status = revocation.status();
    eprintln!(
        "CRL: {} bytes on disk, {} entries, index ≈ {} bytes",
        std::fs::metadata(&file).unwrap().len(),
        status.crls[0].entries.unwrap(),
        status.crls[0].index_bytes.unwrap()
    );

    let mut group = c.benchmark_group("crl_100k");
    group.sample_size(10);
    group.bench_function("load (read + parse + signature + index)", |b| {
        b.iter(|| {
            rt.block_on(Revocation::start(settings(file.clone()), &anchors))
                .unwrap()
        });
    });
    group.finish();

    let chain = mtls::load_certificates(&pki("clients/sas-recette.pem")).unwrap();
    c.bench_function("crl_100k/check_crl (parse leaf + lookup)", |b| {
        b.iter(|| std::hint::black_box(revocation.check_crl(std::hint::black_box(&chain))));
    });
    // What the gateway pays per request: the chain is prepared once per connection.
    let prepared = revocation.prepare(&chain);
    c.bench_function("crl_100k/check_crl_prepared (lookup only)", |b| {
        b.iter(|| {
            std::hint::black_box(revocation.check_crl_prepared(std::hint::black_box(&prepared)))
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
