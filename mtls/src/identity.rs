//! The verified identity of a TLS client, extracted once per connection.

use rustls_pki_types::CertificateDer;
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, X509Certificate};

/// What the gateway knows about a client whose chain was verified during the handshake.
///
/// Built once per connection from the leaf certificate; handlers read it, never the certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    /// Subject distinguished name, in certificate order (`C=FR, ST=…, O=…, OU=…, CN=…`).
    pub subject_dn: String,
    /// The subject's first Common Name, if any.
    pub cn: Option<String>,
    /// The subject's first Organizational Unit, if any (IGC Santé puts the structure id there).
    pub ou: Option<String>,
    /// The subject's first Organization, if any.
    pub o: Option<String>,
    /// Serial number, uppercase hexadecimal without separators.
    pub serial_hex: String,
    /// Issuer distinguished name, in certificate order.
    pub issuer_dn: String,
    /// SHA-256 of the leaf certificate's DER, lowercase hexadecimal.
    pub sha256_fingerprint: String,
    /// End of validity, RFC 3339 UTC (`2045-01-01T00:00:00Z`).
    pub not_after: String,
    /// End of validity, seconds since the Unix epoch.
    pub not_after_unix: i64,
}

impl PeerIdentity {
    /// Extracts the identity from a leaf certificate.
    ///
    /// Returns `None` when the certificate does not parse; that cannot happen for a chain rustls
    /// has verified, and the caller then treats the client as unauthenticated.
    #[must_use]
    pub fn from_leaf(leaf: &CertificateDer<'_>) -> Option<Self> {
        let (_, cert) = X509Certificate::from_der(leaf.as_ref()).ok()?;
        let subject = cert.subject();
        let first =
            |iter: &mut dyn Iterator<Item = &x509_parser::x509::AttributeTypeAndValue<'_>>| {
                iter.next()
                    .and_then(|attr| attr.as_str().ok())
                    .map(str::to_owned)
            };
        let not_after = cert.validity().not_after;
        Some(Self {
            subject_dn: subject.to_string(),
            cn: first(&mut subject.iter_common_name()),
            ou: first(&mut subject.iter_organizational_unit()),
            o: first(&mut subject.iter_organization()),
            serial_hex: hex::encode_upper(cert.raw_serial()),
            issuer_dn: cert.issuer().to_string(),
            sha256_fingerprint: hex::encode(Sha256::digest(leaf.as_ref())),
            not_after: rfc3339(not_after.timestamp()),
            not_after_unix: not_after.timestamp(),
        })
    }
}

/// Formats seconds since the epoch as RFC 3339 UTC without pulling a date library in.
fn rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm), valid for the whole proleptic Gregorian range.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn formats_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(2_366_841_600), "2045-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_735_689_599), "2024-12-31T23:59:59Z");
    }
}
