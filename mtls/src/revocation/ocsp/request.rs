//! Building an RFC 6960 request: a SHA-1 CertID (what every responder understands) and an
//! optional nonce.

use der::Encode;
use der::asn1::OctetString;
use sha1::{Digest, Sha1};
use x509_cert::ext::AsExtension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_ocsp::ext::Nonce;
use x509_ocsp::{CertId, OcspRequest, Request, TbsRequest};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::OcspFailure;

/// The identity of the certificate asked about, as the response must echo it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertKey {
    pub(crate) issuer_name_hash: [u8; 20],
    pub(crate) issuer_key_hash: [u8; 20],
    /// Serial without sign padding.
    pub(crate) serial: Vec<u8>,
}

// === impl CertKey ===

impl CertKey {
    /// # Errors
    /// [`OcspFailure::Internal`] when the issuer does not parse.
    pub(crate) fn new(
        issuer_name_raw: &[u8],
        serial: &[u8],
        issuer_der: &[u8],
    ) -> Result<Self, OcspFailure> {
        let (_, issuer) = X509Certificate::from_der(issuer_der)
            .map_err(|e| OcspFailure::Internal(format!("issuer certificate: {e}")))?;
        Ok(Self {
            issuer_name_hash: Sha1::digest(issuer_name_raw).into(),
            issuer_key_hash: Sha1::digest(&*issuer.public_key().subject_public_key.data).into(),
            serial: super::super::chain::strip_zeros(serial).to_vec(),
        })
    }

    fn cert_id(&self) -> Result<CertId, der::Error> {
        // A positive INTEGER whose first byte has the high bit set needs a zero in front.
        let mut serial = Vec::with_capacity(self.serial.len() + 1);
        if self.serial.first().is_none_or(|b| b & 0x80 != 0) {
            serial.push(0);
        }
        serial.extend_from_slice(&self.serial);
        Ok(CertId {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: const_oid::db::rfc5912::ID_SHA_1,
                parameters: Some(der::asn1::Null.into()),
            },
            issuer_name_hash: OctetString::new(self.issuer_name_hash.to_vec())?,
            issuer_key_hash: OctetString::new(self.issuer_key_hash.to_vec())?,
            serial_number: SerialNumber::new(&serial)?,
        })
    }

    /// Whether a response's CertID names this certificate: hash algorithm, both hashes and the
    /// serial.
    pub(crate) fn matches(&self, id: &CertId) -> bool {
        id.hash_algorithm.oid == const_oid::db::rfc5912::ID_SHA_1
            && id.issuer_name_hash.as_bytes() == self.issuer_name_hash
            && id.issuer_key_hash.as_bytes() == self.issuer_key_hash
            && super::super::chain::strip_zeros(id.serial_number.as_bytes()) == self.serial
    }
}

/// DER of an unsigned request for `key`, with `nonce` when given.
///
/// # Errors
/// [`OcspFailure::Internal`] when encoding fails (it cannot for well-formed inputs).
pub(crate) fn encode(key: &CertKey, nonce: Option<&[u8]>) -> Result<Vec<u8>, OcspFailure> {
    let internal = |e: der::Error| OcspFailure::Internal(format!("encoding the request: {e}"));
    let request_extensions = match nonce {
        Some(bytes) => {
            let ext = Nonce::new(bytes.to_vec())
                .and_then(|n| n.to_extension(&Name::default(), &[]))
                .map_err(internal)?;
            Some(vec![ext])
        }
        None => None,
    };
    OcspRequest {
        tbs_request: TbsRequest {
            version: x509_ocsp::Version::V1,
            requestor_name: None,
            request_list: vec![Request {
                req_cert: key.cert_id().map_err(internal)?,
                single_request_extensions: None,
            }],
            request_extensions,
        },
        optional_signature: None,
    }
    .to_der()
    .map_err(internal)
}
