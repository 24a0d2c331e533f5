//! Reads back what was generated (names, serials, dates, fingerprints) with x509-parser,
//! so the manifest and the OCSP index describe the DER actually written, not our intentions.

use sha2::{Digest, Sha256};
use x509_parser::oid_registry::{
    OID_X509_COMMON_NAME, OID_X509_COUNTRY_NAME, OID_X509_ORGANIZATION_NAME,
    OID_X509_ORGANIZATIONAL_UNIT, OID_X509_STATE_OR_PROVINCE_NAME,
};
use x509_parser::prelude::{ASN1Time, FromDer, X509Certificate, X509Name};
use x509_parser::revocation_list::CertificateRevocationList;

use crate::error::Error;

/// A distinguished name as (short attribute name, value), in encoding order.
pub(crate) struct Name(Vec<(&'static str, String)>);

/// A point in time from a certificate or CRL (UTC).
pub(crate) struct Time {
    pub(crate) unix: i64,
    fields: [i64; 6],
}

/// What the manifest and the OCSP index need to know about a certificate.
pub(crate) struct CertInfo {
    pub(crate) subject: Name,
    pub(crate) issuer: Name,
    /// Serial number, uppercase hex without separators.
    pub(crate) serial: String,
    pub(crate) not_before: Time,
    pub(crate) not_after: Time,
    /// SHA-256 of the DER, lowercase hex.
    pub(crate) sha256: String,
}

/// What the manifest needs to know about a CRL.
pub(crate) struct CrlInfo {
    pub(crate) issuer: Name,
    pub(crate) this_update: Time,
    pub(crate) next_update: Option<Time>,
    pub(crate) crl_number: Option<String>,
    /// Serials listed, uppercase hex.
    pub(crate) revoked: Vec<String>,
    pub(crate) sha256: String,
}

fn upper_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn sha256_hex(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn reparse(what: &str, detail: impl std::fmt::Display) -> Error {
    Error::Reparse {
        what: what.to_owned(),
        detail: detail.to_string(),
    }
}

/// Parses a certificate we generated.
pub(crate) fn certificate(what: &str, der: &[u8]) -> Result<CertInfo, Error> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| reparse(what, e))?;
    Ok(CertInfo {
        subject: Name::read(what, cert.subject())?,
        issuer: Name::read(what, cert.issuer())?,
        serial: upper_hex(cert.raw_serial()),
        not_before: Time::from(cert.validity().not_before),
        not_after: Time::from(cert.validity().not_after),
        sha256: sha256_hex(der),
    })
}

/// Parses a CRL we generated.
pub(crate) fn crl(what: &str, der: &[u8]) -> Result<CrlInfo, Error> {
    let (_, crl) = CertificateRevocationList::from_der(der).map_err(|e| reparse(what, e))?;
    Ok(CrlInfo {
        issuer: Name::read(what, crl.issuer())?,
        this_update: Time::from(crl.last_update()),
        next_update: crl.next_update().map(Time::from),
        crl_number: crl.crl_number().map(|n| n.to_str_radix(10)),
        revoked: crl
            .iter_revoked_certificates()
            .map(|r| upper_hex(r.raw_serial()))
            .collect(),
        sha256: sha256_hex(der),
    })
}

// === impl Name ===

impl Name {
    fn read(what: &str, name: &X509Name<'_>) -> Result<Self, Error> {
        let mut attrs = Vec::new();
        for attr in name.iter_attributes() {
            let oid = attr.attr_type();
            let short = if *oid == OID_X509_COUNTRY_NAME {
                "C"
            } else if *oid == OID_X509_STATE_OR_PROVINCE_NAME {
                "ST"
            } else if *oid == OID_X509_ORGANIZATION_NAME {
                "O"
            } else if *oid == OID_X509_ORGANIZATIONAL_UNIT {
                "OU"
            } else if *oid == OID_X509_COMMON_NAME {
                "CN"
            } else {
                return Err(reparse(what, format!("unexpected name attribute {oid}")));
            };
            let value = attr.as_str().map_err(|e| reparse(what, e))?;
            attrs.push((short, value.to_owned()));
        }
        Ok(Self(attrs))
    }

    /// The first value of an attribute (`"CN"`, `"OU"`, ...).
    pub(crate) fn get(&self, short: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| *k == short)
            .map(|(_, v)| v.as_str())
    }

    /// The attributes in encoding order.
    pub(crate) fn attributes(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0.iter().map(|(k, v)| (*k, v.as_str()))
    }

    /// OpenSSL's legacy one-line form, `/C=FR/ST=.../CN=...` (the `index.txt` format).
    pub(crate) fn openssl(&self) -> String {
        self.0.iter().map(|(k, v)| format!("/{k}={v}")).collect()
    }

    /// RFC 4514 string form: last attribute first, comma-separated, values escaped
    /// (what `openssl x509 -subject -nameopt RFC2253` and nginx `$ssl_client_s_dn` print).
    pub(crate) fn rfc4514(&self) -> String {
        self.0
            .iter()
            .rev()
            .map(|(k, v)| format!("{k}={}", escape_rfc4514(v)))
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn escape_rfc4514(value: &str) -> String {
    let last = value.chars().count().saturating_sub(1);
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        let edge_space = c == ' ' && (i == 0 || i == last);
        if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || edge_space
            || (i == 0 && c == '#')
        {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

// === impl Time ===

impl From<ASN1Time> for Time {
    fn from(t: ASN1Time) -> Self {
        let dt = t.to_datetime();
        Self {
            unix: dt.unix_timestamp(),
            fields: [
                i64::from(dt.year()),
                i64::from(u8::from(dt.month())),
                i64::from(dt.day()),
                i64::from(dt.hour()),
                i64::from(dt.minute()),
                i64::from(dt.second()),
            ],
        }
    }
}

impl Time {
    /// `2025-01-01T00:00:00Z`.
    pub(crate) fn rfc3339(&self) -> String {
        let [y, mo, d, h, mi, s] = self.fields;
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }

    /// The `index.txt` form: UTCTime `YYMMDDHHMMSSZ` before 2050, GeneralizedTime after,
    /// as RFC 5280 encodes validity dates and `openssl ca` writes them.
    pub(crate) fn openssl_index(&self) -> String {
        let [y, mo, d, h, mi, s] = self.fields;
        if (1950..2050).contains(&y) {
            format!("{:02}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z", y % 100)
        } else {
            format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4514_escapes_specials_only() {
        assert_eq!(
            escape_rfc4514("D'INFORMATION (TEST)"),
            "D'INFORMATION (TEST)"
        );
        assert_eq!(escape_rfc4514("a,b+c"), "a\\,b\\+c");
        assert_eq!(escape_rfc4514(" x "), "\\ x\\ ");
        assert_eq!(escape_rfc4514("#1"), "\\#1");
    }
}
