//! Checking an OCSP response (RFC 6960 §3.2 and §4.2.2.2), each failed check with its own
//! reason.

use der::{Decode, Encode};
use jiff::Timestamp;
use sha1::{Digest, Sha1};
use x509_ocsp::{BasicOcspResponse, CertStatus, OcspResponse, OcspResponseStatus, ResponderId};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::AlgorithmIdentifier;

use super::request::CertKey;
use super::{Answer, OcspFailure};
use crate::revocation::chain::reason_name;
use crate::revocation::crl::timestamp;
use crate::revocation::schedule::{add, sub};

/// What the caller needs to check a response against.
pub(crate) struct Expected<'a> {
    pub(crate) key: &'a CertKey,
    pub(crate) issuer_der: &'a [u8],
    pub(crate) nonce: Option<&'a [u8]>,
    pub(crate) now: Timestamp,
    pub(crate) skew: std::time::Duration,
}

/// A verified answer and until when the responder vouches for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checked {
    pub(crate) answer: Answer,
    pub(crate) next_update: Option<Timestamp>,
}

/// Runs every check of RFC 6960 on `body`.
///
/// # Errors
/// The first failed check, as an [`OcspFailure`].
pub(crate) fn check(body: &[u8], expected: &Expected<'_>) -> Result<Checked, OcspFailure> {
    let response =
        OcspResponse::from_der(body).map_err(|e| OcspFailure::Malformed(e.to_string()))?;
    let status = match response.response_status {
        OcspResponseStatus::Successful => None,
        OcspResponseStatus::MalformedRequest => Some("malformedRequest"),
        OcspResponseStatus::InternalError => Some("internalError"),
        OcspResponseStatus::TryLater => Some("tryLater"),
        OcspResponseStatus::SigRequired => Some("sigRequired"),
        OcspResponseStatus::Unauthorized => Some("unauthorized"),
    };
    if let Some(status) = status {
        return Err(OcspFailure::Status(status));
    }
    let bytes = response.response_bytes.ok_or_else(|| {
        OcspFailure::Malformed("successful response without responseBytes".into())
    })?;
    if bytes.response_type != const_oid::db::rfc6960::ID_PKIX_OCSP_BASIC {
        return Err(OcspFailure::NotBasic(bytes.response_type.to_string()));
    }
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes())
        .map_err(|e| OcspFailure::Malformed(format!("BasicOCSPResponse: {e}")))?;

    let (_, issuer) = X509Certificate::from_der(expected.issuer_der)
        .map_err(|e| OcspFailure::Internal(format!("issuer certificate: {e}")))?;
    verify_signer_and_signature(&basic, &issuer, expected)?;

    let data = &basic.tbs_response_data;
    let single = data
        .responses
        .iter()
        .find(|r| expected.key.matches(&r.cert_id))
        .ok_or(OcspFailure::CertIdMismatch)?;

    let this_update = gtime(&single.this_update);
    if this_update > add(expected.now, expected.skew) {
        return Err(OcspFailure::NotYetValid(this_update.to_string()));
    }
    let next_update = single.next_update.as_ref().map(gtime);
    if let Some(next) = next_update
        && next < sub(expected.now, expected.skew)
    {
        return Err(OcspFailure::Expired(next.to_string()));
    }
    if let Some(sent) = expected.nonce {
        // A responder that ignores nonces answers without one (ANS does not document nonce
        // support): tolerated. One that answers with another nonce is replaying: refused.
        if let Some(got) = data.nonce()
            && got.0.as_bytes() != sent
        {
            return Err(OcspFailure::NonceMismatch);
        }
    }
    let answer = match &single.cert_status {
        CertStatus::Good(_) => Answer::Good,
        CertStatus::Revoked(info) => Answer::Revoked(format!(
            "OCSP: {} at {}",
            reason_name(info.revocation_reason.map(|r| r as u8)),
            gtime(&info.revocation_time)
        )),
        CertStatus::Unknown(_) => Answer::Unknown,
    };
    Ok(Checked {
        answer,
        next_update,
    })
}

fn gtime(t: &x509_ocsp::OcspGeneralizedTime) -> Timestamp {
    let secs = t.0.to_unix_duration().as_secs();
    timestamp(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// Finds who signed (the issuer itself, or a delegated responder included in the response),
/// checks a delegate's authorisation, then the signature.
fn verify_signer_and_signature(
    basic: &BasicOcspResponse,
    issuer: &X509Certificate<'_>,
    expected: &Expected<'_>,
) -> Result<(), OcspFailure> {
    let certs = basic.certs.as_deref().unwrap_or_default();
    let issuer_key_hash = expected.key.issuer_key_hash;
    let by_issuer = match &basic.tbs_response_data.responder_id {
        ResponderId::ByName(name) => name
            .to_der()
            .is_ok_and(|der| der.as_slice() == issuer.subject().as_raw()),
        ResponderId::ByKey(hash) => hash.as_bytes() == issuer_key_hash,
    };
    let tbs = basic
        .tbs_response_data
        .to_der()
        .map_err(|e| OcspFailure::Malformed(format!("tbsResponseData: {e}")))?;
    if by_issuer {
        return verify(issuer, basic, &tbs);
    }
    // A delegated responder: its certificate must be in the response.
    let delegate_der = certs
        .iter()
        .filter_map(|c| c.to_der().ok())
        .find(|der| {
            X509Certificate::from_der(der).is_ok_and(|(_, c)| {
                match &basic.tbs_response_data.responder_id {
                    ResponderId::ByName(name) => name
                        .to_der()
                        .is_ok_and(|n| n.as_slice() == c.subject().as_raw()),
                    ResponderId::ByKey(hash) => {
                        hash.as_bytes()
                            == Sha1::digest(&*c.public_key().subject_public_key.data).as_slice()
                    }
                }
            })
        })
        .ok_or_else(|| {
            OcspFailure::Unauthorized("its certificate is not in the response".to_owned())
        })?;
    let (_, delegate) = X509Certificate::from_der(&delegate_der)
        .map_err(|e| OcspFailure::Malformed(format!("responder certificate: {e}")))?;
    let who = delegate.subject().to_string();
    if delegate.issuer().as_raw() != issuer.subject().as_raw()
        || delegate
            .verify_signature(Some(issuer.public_key()))
            .is_err()
    {
        return Err(OcspFailure::Unauthorized(format!(
            "{who} is not certified by the issuer {} (issued by {})",
            issuer.subject(),
            delegate.issuer()
        )));
    }
    let has_ocsp_signing = delegate
        .extended_key_usage()
        .ok()
        .flatten()
        .is_some_and(|eku| eku.value.ocsp_signing);
    if !has_ocsp_signing {
        return Err(OcspFailure::Unauthorized(format!(
            "{who} lacks the id-kp-OCSPSigning extended key usage"
        )));
    }
    let validity = delegate.validity();
    let now = expected.now;
    if timestamp(validity.not_after.timestamp()) < sub(now, expected.skew)
        || timestamp(validity.not_before.timestamp()) > add(now, expected.skew)
    {
        return Err(OcspFailure::Unauthorized(format!(
            "{who} is outside its validity period"
        )));
    }
    verify(&delegate, basic, &tbs)
}

fn verify(
    signer: &X509Certificate<'_>,
    basic: &BasicOcspResponse,
    tbs: &[u8],
) -> Result<(), OcspFailure> {
    let bad = |why: String| OcspFailure::BadSignature(why);
    let alg_der = basic
        .signature_algorithm
        .to_der()
        .map_err(|e| bad(e.to_string()))?;
    let (_, alg) = AlgorithmIdentifier::from_der(&alg_der).map_err(|e| bad(e.to_string()))?;
    let raw = basic
        .signature
        .as_bytes()
        .ok_or_else(|| bad("signature has unused bits".to_owned()))?;
    let signature = x509_parser::asn1_rs::BitString::new(0, raw);
    x509_parser::verify::verify_signature(signer.public_key(), &alg, &signature, tbs)
        .map_err(|e| bad(format!("{e} (signer {})", signer.subject())))
}
