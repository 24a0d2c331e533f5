//! The few facts revocation needs from certificates: issuer and subject names, serials,
//! distribution points, OCSP URLs, and which certificate issued which.

use rustls_pki_types::CertificateDer;
use x509_parser::prelude::{FromDer, GeneralName, ParsedExtension, X509Certificate};

/// A trust anchor, pre-digested: the raw subject name is what CRLs and certificates name their
/// issuer by.
#[derive(Debug, Clone)]
pub(crate) struct Anchor {
    pub(crate) der: CertificateDer<'static>,
    pub(crate) subject_raw: Vec<u8>,
    pub(crate) crl_urls: Vec<String>,
}

// === impl Anchor ===

impl Anchor {
    /// `None` when the certificate does not parse (the trust store has already refused those).
    pub(crate) fn new(der: &CertificateDer<'static>) -> Option<Self> {
        let (_, cert) = X509Certificate::from_der(der.as_ref()).ok()?;
        Some(Self {
            der: der.clone(),
            subject_raw: cert.subject().as_raw().to_vec(),
            crl_urls: crl_urls(&cert),
        })
    }
}

/// What is checked for one certificate of a client chain.
#[derive(Debug, Clone)]
pub(crate) struct Subject {
    /// Raw DER of the issuer name: the key of the CRL that covers this certificate.
    pub(crate) issuer_raw: Vec<u8>,
    pub(crate) issuer: String,
    /// Serial as encoded (may carry a leading zero byte).
    pub(crate) serial: Vec<u8>,
    pub(crate) ocsp_urls: Vec<String>,
}

impl Subject {
    pub(crate) fn serial_hex(&self) -> String {
        hex::encode_upper(strip_zeros(&self.serial))
    }
}

/// The certificates of `chain` to check, leaf first, with the DER of each one's issuer when it
/// could be found among the presented intermediates or the anchors. In leaf scope only the
/// leaf; in whole-chain scope every certificate up to (not including) a self-issued root.
///
/// An unparsable certificate ends the walk: rustls has already verified the chain, so that
/// can only happen for a chain the caller did not get from rustls.
pub(crate) fn subjects(
    chain: &[CertificateDer<'_>],
    anchors: &[Anchor],
    whole_chain: bool,
) -> Vec<(Subject, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    let Some(leaf) = chain.first() else {
        return out;
    };
    let mut current: Vec<u8> = leaf.as_ref().to_vec();
    // A real IGC Santé chain has three certificates; the bound stops a crafted loop.
    for _ in 0..8 {
        let Ok((_, cert)) = X509Certificate::from_der(&current) else {
            break;
        };
        if !out.is_empty() && cert.subject().as_raw() == cert.issuer().as_raw() {
            break; // a root: nothing above it publishes a CRL for it
        }
        let issuer_raw = cert.issuer().as_raw().to_vec();
        let issuer_der = find_issuer(&issuer_raw, &chain[1..], anchors);
        out.push((
            Subject {
                issuer_raw,
                issuer: cert.issuer().to_string(),
                serial: cert.raw_serial().to_vec(),
                ocsp_urls: ocsp_urls(&cert),
            },
            issuer_der.clone(),
        ));
        match (whole_chain, issuer_der) {
            (true, Some(next)) => current = next,
            _ => break,
        }
    }
    out
}

fn find_issuer(
    issuer_raw: &[u8],
    presented: &[CertificateDer<'_>],
    anchors: &[Anchor],
) -> Option<Vec<u8>> {
    // Anchors first: they are what the chain was verified against.
    if let Some(a) = anchors.iter().find(|a| a.subject_raw == issuer_raw) {
        return Some(a.der.as_ref().to_vec());
    }
    presented
        .iter()
        .find(|c| {
            X509Certificate::from_der(c.as_ref())
                .is_ok_and(|(_, cert)| cert.subject().as_raw() == issuer_raw)
        })
        .map(|c| c.as_ref().to_vec())
}

fn crl_urls(cert: &X509Certificate<'_>) -> Vec<String> {
    let mut urls = Vec::new();
    for ext in cert.extensions() {
        if let ParsedExtension::CRLDistributionPoints(points) = ext.parsed_extension() {
            for point in points.iter() {
                if let Some(x509_parser::extensions::DistributionPointName::FullName(names)) =
                    &point.distribution_point
                {
                    urls.extend(names.iter().filter_map(uri));
                }
            }
        }
    }
    urls
}

fn ocsp_urls(cert: &X509Certificate<'_>) -> Vec<String> {
    let mut urls = Vec::new();
    for ext in cert.extensions() {
        if let ParsedExtension::AuthorityInfoAccess(aia) = ext.parsed_extension() {
            for desc in aia.iter() {
                if desc.access_method == x509_parser::oid_registry::OID_PKIX_ACCESS_DESCRIPTOR_OCSP
                {
                    urls.extend(uri(&desc.access_location));
                }
            }
        }
    }
    urls
}

fn uri(name: &GeneralName<'_>) -> Option<String> {
    match name {
        GeneralName::URI(u) if u.starts_with("http://") || u.starts_with("https://") => {
            Some((*u).to_owned())
        }
        _ => None,
    }
}

/// A DER INTEGER's content without its sign-padding zeros: certificates and CRL entries may
/// encode the same serial with or without them.
pub(crate) fn strip_zeros(serial: &[u8]) -> &[u8] {
    let first = serial.iter().position(|b| *b != 0).unwrap_or(serial.len());
    &serial[first..]
}

/// RFC 5280 CRLReason names (shared by CRL entries and OCSP answers).
pub(crate) fn reason_name(code: Option<u8>) -> &'static str {
    match code {
        None => "no reason given",
        Some(0) => "unspecified",
        Some(1) => "keyCompromise",
        Some(2) => "cACompromise",
        Some(3) => "affiliationChanged",
        Some(4) => "superseded",
        Some(5) => "cessationOfOperation",
        Some(6) => "certificateHold",
        Some(8) => "removeFromCRL",
        Some(9) => "privilegeWithdrawn",
        Some(10) => "aACompromise",
        Some(_) => "unknown reason code",
    }
}

#[cfg(test)]
mod tests {
    use super::{reason_name, strip_zeros};

    #[test]
    fn serial_normalisation_and_reasons() {
        assert_eq!(strip_zeros(&[0, 0x80, 1]), &[0x80, 1]);
        assert_eq!(strip_zeros(&[0, 0]), &[] as &[u8]);
        assert_eq!(reason_name(Some(1)), "keyCompromise");
        assert_eq!(reason_name(Some(7)), "unknown reason code");
    }
}
