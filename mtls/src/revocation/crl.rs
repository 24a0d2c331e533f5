//! One CRL, parsed once, its signature checked against its issuer among the trust anchors,
//! its serials indexed for constant-time lookups.

use std::collections::HashMap;

use jiff::Timestamp;
use rustls_pki_types::CertificateRevocationListDer;
use rustls_pki_types::pem::PemObject;
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::revocation_list::CertificateRevocationList;

use super::RevocationError;
use super::chain::{Anchor, strip_zeros};

/// Serials of RFC 5280 conforming certificates fit in 20 bytes: a fixed-size key keeps the
/// index to one allocation (about 23 bytes a serial instead of a boxed slice each).
const INLINE_SERIAL: usize = 20;

/// A serial without sign padding, inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct SerialKey {
    len: u8,
    bytes: [u8; INLINE_SERIAL],
}

impl SerialKey {
    fn new(serial: &[u8]) -> Option<Self> {
        let serial = strip_zeros(serial);
        let len = u8::try_from(serial.len()).ok()?;
        if serial.len() > INLINE_SERIAL {
            return None;
        }
        let mut bytes = [0u8; INLINE_SERIAL];
        bytes[..serial.len()].copy_from_slice(serial);
        Some(Self { len, bytes })
    }
}

/// A reason code, or none given.
const NO_REASON: u8 = u8::MAX;

/// A verified, indexed CRL.
#[derive(Debug)]
pub(crate) struct LoadedCrl {
    pub(crate) issuer_raw: Vec<u8>,
    pub(crate) issuer: String,
    pub(crate) this_update: Timestamp,
    pub(crate) next_update: Option<Timestamp>,
    pub(crate) crl_number: Option<String>,
    pub(crate) sha256: String,
    revoked: HashMap<SerialKey, u8>,
    /// Non-conforming serials longer than 20 bytes, kept rather than silently ignored.
    long_serials: HashMap<Box<[u8]>, u8>,
}

// === impl LoadedCrl ===

impl LoadedCrl {
    /// Parses a DER or PEM CRL, verifies its signature with the key of the anchor named as its
    /// issuer, and indexes its serials.
    ///
    /// # Errors
    /// [`RevocationError::BadCrl`], [`RevocationError::UnknownCrlIssuer`] or
    /// [`RevocationError::BadCrlSignature`].
    pub(crate) fn parse(
        bytes: &[u8],
        source_name: &str,
        anchors: &[Anchor],
    ) -> Result<Self, RevocationError> {
        let bad = |reason: String| RevocationError::BadCrl {
            source_name: source_name.to_owned(),
            reason,
        };
        let pem;
        let der: &[u8] = if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
            pem = CertificateRevocationListDer::from_pem_slice(bytes)
                .map_err(|e| bad(format!("PEM: {e}")))?;
            pem.as_ref()
        } else {
            bytes
        };
        let (rest, crl) =
            CertificateRevocationList::from_der(der).map_err(|e| bad(e.to_string()))?;
        if !rest.is_empty() {
            return Err(bad(format!("{} bytes after the CRL", rest.len())));
        }
        let issuer_raw = crl.issuer().as_raw().to_vec();
        let issuer = crl.issuer().to_string();
        verify_signature(&crl, &issuer_raw, &issuer, source_name, anchors)?;

        let mut revoked = HashMap::new();
        let mut long_serials = HashMap::new();
        for entry in crl.iter_revoked_certificates() {
            let reason = entry.reason_code().map_or(NO_REASON, |(_, code)| code.0);
            match SerialKey::new(entry.raw_serial()) {
                Some(key) => {
                    revoked.insert(key, reason);
                }
                None => {
                    long_serials.insert(strip_zeros(entry.raw_serial()).into(), reason);
                }
            }
        }
        revoked.shrink_to_fit();
        Ok(Self {
            issuer_raw,
            issuer,
            this_update: timestamp(crl.last_update().timestamp()),
            next_update: crl.next_update().map(|t| timestamp(t.timestamp())),
            crl_number: crl.crl_number().map(ToString::to_string),
            sha256: hex::encode(Sha256::digest(der)),
            revoked,
            long_serials,
        })
    }

    /// The reason code of a revoked serial (`Some(None)` when the entry gives none), or `None`
    /// when the serial is not listed.
    pub(crate) fn lookup(&self, serial: &[u8]) -> Option<Option<u8>> {
        let code = match SerialKey::new(serial) {
            Some(key) => self.revoked.get(&key),
            None => self.long_serials.get(strip_zeros(serial)),
        }?;
        Some((*code != NO_REASON).then_some(*code))
    }

    /// Number of revoked serials.
    pub(crate) fn entries(&self) -> usize {
        self.revoked.len() + self.long_serials.len()
    }

    /// Whether `now` is past nextUpdate (a CRL without nextUpdate never expires).
    pub(crate) fn expired(&self, now: Timestamp) -> bool {
        self.next_update.is_some_and(|next| next < now)
    }

    /// Bytes held by the serial index, estimated from its capacity (hashbrown stores one
    /// control byte per bucket besides the entry).
    pub(crate) fn index_bytes(&self) -> usize {
        let entry = std::mem::size_of::<(SerialKey, u8)>() + 1;
        self.revoked.capacity() * entry
            + self
                .long_serials
                .keys()
                .map(|k| k.len() + std::mem::size_of::<(Box<[u8]>, u8)>() + 1)
                .sum::<usize>()
    }
}

fn verify_signature(
    crl: &CertificateRevocationList<'_>,
    issuer_raw: &[u8],
    issuer: &str,
    source_name: &str,
    anchors: &[Anchor],
) -> Result<(), RevocationError> {
    let mut last_error = None;
    // Several anchors may share a name across a key rollover: any one of them may have signed.
    for anchor in anchors.iter().filter(|a| a.subject_raw == issuer_raw) {
        let Ok((_, cert)) = X509Certificate::from_der(anchor.der.as_ref()) else {
            continue;
        };
        match crl.verify_signature(cert.public_key()) {
            Ok(()) => return Ok(()),
            Err(e) => last_error = Some(e.to_string()),
        }
    }
    match last_error {
        None => Err(RevocationError::UnknownCrlIssuer {
            source_name: source_name.to_owned(),
            issuer: issuer.to_owned(),
        }),
        Some(reason) => Err(RevocationError::BadCrlSignature {
            source_name: source_name.to_owned(),
            issuer: issuer.to_owned(),
            reason,
        }),
    }
}

pub(crate) fn timestamp(unix: i64) -> Timestamp {
    Timestamp::from_second(unix).unwrap_or(if unix < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn anchors() -> Vec<Anchor> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../certs-test/pki/ca-bundle.pem"
        );
        crate::load_certificates(std::path::Path::new(path))
            .unwrap()
            .iter()
            .filter_map(Anchor::new)
            .collect()
    }

    fn pki(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../certs-test/pki/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn parses_der_and_pem_and_finds_the_revoked_serial() {
        let der = LoadedCrl::parse(&pki("crl/intermediate.crl"), "der", &anchors()).unwrap();
        let pem = LoadedCrl::parse(&pki("crl/intermediate.crl.pem"), "pem", &anchors()).unwrap();
        assert_eq!(der.sha256, pem.sha256);
        assert_eq!(der.entries(), 1);
        // Serials change at each regeneration of the test PKI: read them from its manifest.
        let manifest: serde_json::Value = serde_json::from_slice(&pki("manifest.json")).unwrap();
        let serial = manifest["certificates"]["clients/revoked"]["serial"]
            .as_str()
            .unwrap();
        let revoked = hex::decode(serial).unwrap();
        assert_eq!(der.lookup(&revoked), Some(Some(1)));
        // The same serial with sign padding is the same serial.
        let mut padded = vec![0];
        padded.extend_from_slice(&revoked);
        assert_eq!(der.lookup(&padded), Some(Some(1)));
        assert_eq!(der.lookup(&[1, 2, 3]), None);
        assert!(!der.expired(Timestamp::now()));
    }

    #[test]
    fn refuses_garbage_forged_and_foreign_crls() {
        let err = LoadedCrl::parse(b"not a crl", "junk", &anchors()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("CRL junk: not a valid CRL (DER or PEM):"),
            "{err}"
        );
        // Flip one byte of the signature: parses, but does not verify.
        let mut forged = pki("crl/intermediate.crl");
        let last = forged.len() - 1;
        forged[last] ^= 1;
        let err = LoadedCrl::parse(&forged, "forged", &anchors()).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "CRL forged: signature does not verify with the key of C=FR, O=TEST PKI - NOT IGC SANTE, CN=ACI-EL-ORG-TEST"
            ),
            "{err}"
        );
        // Only the root as anchor: the intermediate's CRL has an unknown issuer.
        let root_only: Vec<Anchor> = anchors()
            .into_iter()
            .filter(|a| a.crl_urls.is_empty())
            .collect();
        let err = LoadedCrl::parse(&pki("crl/intermediate.crl"), "x", &root_only).unwrap_err();
        assert_eq!(
            err.to_string(),
            "CRL x: issuer C=FR, O=TEST PKI - NOT IGC SANTE, CN=ACI-EL-ORG-TEST (GATEWAY TEST PKI) is not one of the trust anchors"
        );
        // Truncated input never panics.
        let good = pki("crl/intermediate.crl");
        for len in 0..good.len() {
            let _ = LoadedCrl::parse(&good[..len], "cut", &anchors());
        }
    }

    #[test]
    fn expired_crl_is_seen_as_expired() {
        let crl =
            LoadedCrl::parse(&pki("crl/intermediate-expired.crl"), "old", &anchors()).unwrap();
        assert!(crl.expired(Timestamp::now()));
        assert_eq!(crl.next_update, Some(timestamp(1_578_441_600)));
    }
}
