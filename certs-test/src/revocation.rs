//! Revocation material: CRLs (DER/PEM) and the OpenSSL CA database `openssl ocsp -index` reads.

use rcgen::{
    CertificateRevocationList, CertificateRevocationListParams, KeyIdMethod, RevocationReason,
    RevokedCertParams, SerialNumber, date_time_ymd,
};

use crate::error::Error;
use crate::inspect::CertInfo;
use crate::issue::{Ca, Day, Validity};

/// When the `revoked` client was revoked (also written in `index.txt`).
pub(crate) const REVOKED_ON: Day = (2025, 6, 1);

/// A CRL to sign: its period and the serials it lists (all revoked on [`REVOKED_ON`] for
/// keyCompromise).
pub(crate) struct CrlSpec<'a> {
    pub(crate) what: &'a str,
    pub(crate) period: Validity,
    pub(crate) crl_number: u64,
    pub(crate) revoked: &'a [SerialNumber],
}

/// Signs a CRL with `ca`'s key. rcgen adds the authority key identifier and CRL number
/// extensions itself, and no issuing distribution point (so the CRL covers every
/// certificate of the issuer).
pub(crate) fn sign_crl(ca: &Ca, spec: &CrlSpec<'_>) -> Result<CertificateRevocationList, Error> {
    let (y, m, d) = REVOKED_ON;
    let revoked_certs = spec
        .revoked
        .iter()
        .map(|serial| RevokedCertParams {
            serial_number: serial.clone(),
            revocation_time: date_time_ymd(y, m, d),
            reason_code: Some(RevocationReason::KeyCompromise),
            invalidity_date: None,
        })
        .collect();
    let (ty, tm, td) = spec.period.not_before;
    let (ny, nm, nd) = spec.period.not_after;
    let params = CertificateRevocationListParams {
        this_update: date_time_ymd(ty, tm, td),
        next_update: date_time_ymd(ny, nm, nd),
        crl_number: SerialNumber::from(spec.crl_number),
        issuing_distribution_point: None,
        revoked_certs,
        // Same method as the CA certificates' subject key identifiers, so AKI matches SKI.
        key_identifier_method: KeyIdMethod::Sha256,
    };
    params
        .signed_by(&ca.issuer)
        .map_err(Error::rcgen(spec.what))
}

/// One certificate's line in the OpenSSL CA database.
pub(crate) struct IndexEntry {
    pub(crate) info: CertInfo,
    pub(crate) revoked: bool,
}

/// The `index.txt` database: `status \t expiry \t revocation \t serial \t file \t subject`.
/// Every entry is `V` (valid) or `R` (revoked on [`REVOKED_ON`], keyCompromise); OpenSSL
/// answers OCSP by serial, so an expired certificate left as `V` still answers "good".
pub(crate) fn openssl_index(entries: &[IndexEntry]) -> String {
    let (y, m, d) = REVOKED_ON;
    let revoked_on = format!("{:02}{m:02}{d:02}000000Z,keyCompromise", y % 100);
    entries
        .iter()
        .map(|e| {
            let (status, when) = if e.revoked {
                ("R", revoked_on.as_str())
            } else {
                ("V", "")
            };
            format!(
                "{status}\t{}\t{when}\t{}\tunknown\t{}\n",
                e.info.not_after.openssl_index(),
                e.info.serial,
                e.info.subject.openssl(),
            )
        })
        .collect()
}

/// `index.txt.attr`: several certificates share a subject (the negative cases reuse the
/// recette names), which `openssl ca` refuses unless told otherwise.
pub(crate) const INDEX_ATTR: &str = "unique_subject = no\n";
