//! CRL cost: loading a 100,000-serial CRL (parse + signature check + index build) and looking a
//! client chain up in it. Run: `CARGO_TARGET_DIR=/work/target-mtls cargo bench -p mtls --bench crl`.
#![allow(missing_docs, clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use mtls::{
    Combine, CrlSettings, CrlSource, OcspSettings, Revocation, RevocationScope, RevocationSettings,
    TrustAnchors,
};

const ENTRIES: u32 = 100_000;

fn pki(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../certs-test/pki")
        .join(path)
}

/// A CRL of the test intermediate listing `ENTRIES` random 16-byte serials.
fn big_crl() -> Vec<u8> {
    use rand::RngCore;
    let read = |p: &str| std::fs::read_to_string(pki(p)).unwrap();
    let key = rcgen::KeyPair::from_pem(&read("intermediate-ca.key")).unwrap();
    let issuer = rcgen::Issuer::from_ca_cert_pem(&read("intermediate-ca.pem"), key).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let mut rng = rand::rng();
    let revoked_certs = (0..ENTRIES)
        .map(|_| {
            let mut serial = [0u8; 16];
            rng.fill_bytes(&mut serial);
            serial[0] &= 0x7f;
            rcgen::RevokedCertParams {
                serial_number: rcgen::SerialNumber::from_slice(&serial),
                revocation_time: now,
                reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                invalidity_date: None,
            }
        })
        .collect();
    rcgen::CertificateRevocationListParams {
        this_update: now,
        next_update: now + time::Duration::days(7),
        crl_number: rcgen::SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    }
    .signed_by(&issuer)
    .unwrap()
    .der()
    .to_vec()
}

fn settings(file: PathBuf) -> RevocationSettings {
    RevocationSettings {
        crl: Some(CrlSettings {
            sources: vec![CrlSource::File(file)],
            ..CrlSettings::default()
        }),
        ocsp: OcspSettings::default(),
        scope: RevocationScope::LeafOnly,
        combine: Combine::CrlOnly,
    }
}

fn bench(c: &mut Criterion) {
    mtls::install_default_provider();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.crl");
    std::fs::write(&file, big_crl()).unwrap();
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
