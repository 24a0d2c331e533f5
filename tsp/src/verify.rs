//! Verifying a `TimeStampResp` (RFC 3161 §2.4.2) against the request it answers.

use std::time::Duration;

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerInfo};
use const_oid::db::rfc5911::ID_SIGNED_DATA;
use der::{Decode, Encode, Tag, Tagged};
use jiff::Timestamp;
use rustls_pki_types::{CertificateDer, UnixTime};
use webpki::EndEntityCert;
use x509_tsp::Accuracy;

use crate::hash::{CmsHash, imprint_alg_name, null_or_absent};
use crate::messages::{TimeStampResp, TstInfo};
use crate::oid::ID_CT_TST_INFO;
use crate::raw::{RawSignedData, signed_attrs_der};
use crate::request::nonce_octets;
use crate::{HashAlg, PolicyId, Status, TspError, attrs, chain, signature, signer};

/// How far genTime may be ahead of the caller's `now` before the token is
/// refused ([`TspError::GenTimeInFuture`]): room for ordinary clock drift
/// between the gateway and the TSA, not for a misconfigured clock.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(300);

/// What the token must say: the values the request was built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected<'a> {
    /// The time-stamped digest.
    pub digest: &'a [u8],
    /// Its algorithm.
    pub alg: HashAlg,
    /// The request's nonce.
    pub nonce: u64,
    /// The policy the token must have been issued under, if one is required.
    pub policy: Option<&'a PolicyId>,
}

/// A verified time-stamp token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Token {
    /// The `TimeStampToken` (a CMS `ContentInfo` with `SignedData`) exactly as
    /// the TSA sent it: what goes into the PDF or the archive.
    pub der: Vec<u8>,
    /// When the TSA says it saw the digest (UTC, with the TSA's precision).
    pub gen_time: Timestamp,
    /// The TSA's serial number of the token: the DER INTEGER content octets
    /// (big-endian two's complement, so a leading 0x00 when the top bit is set).
    pub serial: Vec<u8>,
    /// The TSTInfo's `tsa` name, if the TSA sent one (an RFC 4514 string for a
    /// directory name, `DNS:…`, `URI:…`, … otherwise).
    pub tsa_name: Option<String>,
    /// The policy the token was issued under.
    pub policy: PolicyId,
    /// The TSA's stated accuracy of genTime, if given.
    pub accuracy: Option<Duration>,
    /// The subject of the signer certificate (RFC 4514), for the log.
    pub signer: String,
}

/// Verifies a DER `TimeStampResp` (the body of an `application/timestamp-reply`)
/// as the answer to the request built from `expected`, and returns the token.
///
/// In order: the status is granted or grantedWithMods; the token is a CMS
/// `SignedData` with exactly one SignerInfo over an id-ct-TSTInfo; the signer
/// certificate, found among the token's certificates by the SignerInfo's sid,
/// has the critical id-kp-timeStamping-only EKU; the signature over the signed
/// attributes verifies with its key; the content-type and message-digest
/// attributes match the TSTInfo; the ESS signing-certificate(v2) attribute
/// names the signer certificate; the TSTInfo's tsa name, if any, is one of its
/// names; the certificate chains to one of `anchors` at genTime (not at `now`:
/// a token stays valid after its TSA certificate expires); genTime is not more
/// than [`MAX_CLOCK_SKEW`] after `now`; and the messageImprint, nonce and (if
/// required) policy are the expected ones.
///
/// Not checked: revocation of the TSA certificate (needs I/O), and the TSTInfo's
/// extensions (the request asks for none).
///
/// # Errors
/// The first failed check, as a [`TspError`].
pub fn verify_response(
    der: &[u8],
    expected: &Expected<'_>,
    anchors: &[CertificateDer<'_>],
    now: UnixTime,
) -> Result<Token, TspError> {
    let response = TimeStampResp::from_der(der).map_err(TspError::malformed("TimeStampResp"))?;
    let status = Status::from_code(response.status.status);
    if !matches!(status, Status::Granted | Status::GrantedWithMods) {
        return Err(TspError::Rejected {
            status,
            fail_info: response.status.fail_info(),
            text: response.status.text(),
        });
    }
    let token = response
        .time_stamp_token
        .ok_or_else(|| TspError::structure("TimeStampResp", "granted, but no timeStampToken"))?
        .to_der()
        .map_err(TspError::malformed("timeStampToken"))?;
    let verified = verify_token(&token, anchors)?;
    let tst = &verified.tst;

    let now_seconds = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let skew = i64::try_from(MAX_CLOCK_SKEW.as_secs()).unwrap_or(i64::MAX);
    if tst.gen_time.time.as_second().saturating_sub(now_seconds) > skew {
        return Err(TspError::GenTimeInFuture {
            gen_time: tst.gen_time.time,
            now: Timestamp::from_second(now_seconds).unwrap_or(Timestamp::MAX),
        });
    }
    check_request_binding(tst, expected)?;

    Ok(Token {
        der: token,
        gen_time: tst.gen_time.time,
        serial: tst.serial_number.as_bytes().to_vec(),
        tsa_name: tst.tsa.as_ref().map(signer::general_name),
        policy: PolicyId(tst.policy),
        accuracy: tst.accuracy.as_ref().map(accuracy).transpose()?,
        signer: verified.signer,
    })
}

/// What `verify_token` established: the authenticated TSTInfo and who signed it.
struct Verified {
    tst: TstInfo,
    signer: String,
}

/// Everything about the token that does not depend on the request.
fn verify_token(token: &[u8], anchors: &[CertificateDer<'_>]) -> Result<Verified, TspError> {
    let content_info = ContentInfo::from_der(token).map_err(TspError::malformed("ContentInfo"))?;
    if content_info.content_type != ID_SIGNED_DATA {
        return Err(TspError::structure(
            "ContentInfo",
            format!(
                "content type {} is not id-signedData",
                content_info.content_type
            ),
        ));
    }
    let signed_data: SignedData = content_info
        .content
        .decode_as()
        .map_err(TspError::malformed("SignedData"))?;
    let raw = RawSignedData::parse(content_info.content.value())
        .map_err(TspError::malformed("SignedData"))?;

    let encapsulated = &signed_data.encap_content_info;
    if encapsulated.econtent_type != ID_CT_TST_INFO {
        return Err(TspError::structure(
            "SignedData",
            format!(
                "eContentType {} is not id-ct-TSTInfo",
                encapsulated.econtent_type
            ),
        ));
    }
    let tst_der = match &encapsulated.econtent {
        Some(content) if content.tag() == Tag::OctetString => content.value(),
        _ => {
            return Err(TspError::structure(
                "SignedData",
                "no eContent OCTET STRING",
            ));
        }
    };
    let tst = TstInfo::from_der(tst_der).map_err(TspError::malformed("TSTInfo"))?;

    // RFC 3161 §2.4.2: the token carries no signature but the TSA's.
    let signer_info: &SignerInfo = match signed_data.signer_infos.0.as_slice() {
        [one] => one,
        many => {
            return Err(TspError::structure(
                "SignedData",
                format!("{} SignerInfos, expected exactly one", many.len()),
            ));
        }
    };
    let signer = signer::find_signer(&raw.certificates, &signer_info.sid)?;
    signer::check_time_stamping_eku(&signer.cert)?;

    let (Some(attributes), Some(raw_attributes)) = (&signer_info.signed_attrs, raw.signed_attrs)
    else {
        return Err(TspError::structure("SignerInfo", "no signed attributes"));
    };
    let digest = CmsHash::sha2(&signer_info.digest_alg, "digest")?;
    let signer_der = CertificateDer::from(signer.der);
    let end_entity = EndEntityCert::try_from(&signer_der)
        .map_err(|error| TspError::bad_signer(format!("signer certificate: {error}")))?;
    let message = signed_attrs_der(raw_attributes).map_err(TspError::malformed("signedAttrs"))?;
    signature::verify(
        &end_entity,
        digest,
        &signer_info.signature_algorithm,
        &message,
        signer_info.signature.as_bytes(),
    )?;
    // The attributes are authentic now; they must bind this TSTInfo and this
    // certificate.
    attrs::check_content(attributes, tst_der, digest)?;
    attrs::check_signing_certificate(attributes, signer.der, &signer.cert)?;
    if let Some(tsa) = &tst.tsa {
        signer::check_tsa_name(tsa, &signer.cert)?;
    }

    let gen_time = u64::try_from(tst.gen_time.time.as_second())
        .map_err(|_| TspError::structure("TSTInfo", "genTime before 1970"))?;
    let intermediates: Vec<CertificateDer<'_>> = raw
        .certificates
        .iter()
        .enumerate()
        .filter(|&(index, _)| index != signer.index)
        .map(|(_, &der)| CertificateDer::from(der))
        .collect();
    chain::verify(
        &end_entity,
        &intermediates,
        anchors,
        UnixTime::since_unix_epoch(Duration::from_secs(gen_time)),
    )?;

    Ok(Verified {
        signer: signer.cert.tbs_certificate.subject.to_string(),
        tst,
    })
}

/// The TSTInfo answers this request: same imprint, same nonce, required policy.
fn check_request_binding(tst: &TstInfo, expected: &Expected<'_>) -> Result<(), TspError> {
    let imprint = &tst.message_imprint;
    let found_alg = imprint.hash_algorithm.oid;
    if found_alg != expected.alg.oid() || !null_or_absent(&imprint.hash_algorithm) {
        return Err(TspError::ImprintMismatch {
            expected: expected.alg,
            found: format!("a {} digest", imprint_alg_name(found_alg)),
        });
    }
    if imprint.hashed_message.as_bytes() != expected.digest {
        return Err(TspError::ImprintMismatch {
            expected: expected.alg,
            found: format!("another {} digest", expected.alg),
        });
    }
    let found_nonce = tst.nonce.as_ref().map(|nonce| nonce.as_bytes());
    if found_nonce != Some(nonce_octets(expected.nonce).as_slice()) {
        return Err(TspError::NonceMismatch {
            expected: expected.nonce,
            found: found_nonce.map(<[u8]>::to_vec),
        });
    }
    if let Some(policy) = expected.policy
        && tst.policy != policy.0
    {
        return Err(TspError::PolicyMismatch {
            expected: *policy,
            found: PolicyId(tst.policy),
        });
    }
    Ok(())
}

fn accuracy(accuracy: &Accuracy) -> Result<Duration, TspError> {
    let part = |value: Option<i16>| -> Result<u64, TspError> {
        match value.map(u64::try_from) {
            None => Ok(0),
            Some(Ok(value)) if (1..=999).contains(&value) => Ok(value),
            Some(_) => Err(TspError::structure(
                "Accuracy",
                "millis or micros not in 1..999",
            )),
        }
    };
    // Checked: `seconds` is whatever the TSA wrote, up to u64::MAX.
    Duration::from_secs(accuracy.seconds.unwrap_or(0))
        .checked_add(Duration::from_millis(part(accuracy.millis)?))
        .and_then(|sum| sum.checked_add(Duration::from_micros(part(accuracy.micros).ok()?)))
        .ok_or_else(|| TspError::structure("Accuracy", "out of range"))
}
