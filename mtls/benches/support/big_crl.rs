//! A large CRL for the CRL benchmark and the memory example (both include this file).

use std::path::PathBuf;

use mtls::{Combine, CrlSettings, CrlSource, OcspSettings, RevocationScope, RevocationSettings};

pub(crate) fn pki(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../certs-test/pki")
        .join(path)
}

/// A CRL of the test intermediate listing `entries` random 16-byte serials, DER.
pub(crate) fn big_crl(entries: u32) -> Vec<u8> {
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

/// Leaf-scope, CRL-only settings reading one CRL file.
pub(crate) fn file_settings(file: PathBuf) -> RevocationSettings {
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
