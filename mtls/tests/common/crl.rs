//! CRLs signed at test time by a CA of the test PKI (rcgen). Shared by mtls' tests
//! (`common::sign_crl`) and the gateway's end-to-end tests (included with `#[path]`).
#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use std::path::Path;

use rcgen::{
    CertificateRevocationListParams, Issuer, KeyIdMethod, KeyPair, RevocationReason,
    RevokedCertParams, SerialNumber,
};

/// Signs a CRL with `ca` of the PKI in `pki_dir` (`intermediate-ca` or `root-ca`), listing
/// `serials` (hex): thisUpdate `age` seconds ago, nextUpdate `valid` seconds after thisUpdate.
pub fn sign(
    pki_dir: &Path,
    ca: &str,
    serials: &[&str],
    number: u64,
    age: i64,
    valid: i64,
) -> Vec<u8> {
    let read = |file: String| std::fs::read_to_string(pki_dir.join(file)).unwrap();
    let key = KeyPair::from_pem(&read(format!("{ca}.key"))).unwrap();
    let issuer = Issuer::from_ca_cert_pem(&read(format!("{ca}.pem")), key).unwrap();
    let this_update = time::OffsetDateTime::now_utc() - time::Duration::seconds(age);
    let params = CertificateRevocationListParams {
        this_update,
        next_update: this_update + time::Duration::seconds(valid),
        crl_number: SerialNumber::from(number),
        issuing_distribution_point: None,
        revoked_certs: serials
            .iter()
            .map(|s| RevokedCertParams {
                serial_number: SerialNumber::from_slice(&hex::decode(s).unwrap()),
                revocation_time: this_update,
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    };
    params.signed_by(&issuer).unwrap().der().to_vec()
}
