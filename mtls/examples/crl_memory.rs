//! Resident memory of a loaded 100,000-serial CRL: VmRSS before and after loading it.
//! Run: `CARGO_TARGET_DIR=/work/target-mtls cargo run --release -p mtls --example crl_memory`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::path::PathBuf;

use mtls::{
    Combine, CrlSettings, CrlSource, OcspSettings, Revocation, RevocationScope, RevocationSettings,
    TrustAnchors,
};

fn pki(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../certs-test/pki")
        .join(path)
}

fn vm_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn big_crl(entries: u32) -> Vec<u8> {
    use rand::RngCore;
    let read = |p: &str| std::fs::read_to_string(pki(p)).unwrap();
    let key = rcgen::KeyPair::from_pem(&read("intermediate-ca.key")).unwrap();
    let issuer = rcgen::Issuer::from_ca_cert_pem(&read("intermediate-ca.pem"), key).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let mut rng = rand::rng();
    let revoked_certs = (0..entries)
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

#[tokio::main]
async fn main() {
    mtls::install_default_provider();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.crl");
    std::fs::write(&file, big_crl(100_000)).unwrap();
    let anchors = TrustAnchors::from_files(&[pki("ca-bundle.pem")]).unwrap();
    let settings = RevocationSettings {
        crl: Some(CrlSettings {
            sources: vec![CrlSource::File(file.clone())],
            ..CrlSettings::default()
        }),
        ocsp: OcspSettings::default(),
        scope: RevocationScope::LeafOnly,
        combine: Combine::CrlOnly,
    };
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
