//! The TSA certificate's path to a trust anchor, built by `rustls-webpki`.

use rustls_pki_types::{CertificateDer, UnixTime};
use webpki::{EndEntityCert, KeyUsage};

use crate::TspError;
use crate::oid::ID_KP_TIME_STAMPING_DER;

/// Verifies that `signer` chains to one of `anchors` through the token's other
/// certificates, every certificate valid at `at`.
///
/// The key-usage rule webpki applies to every certificate of the path is
/// "id-kp-timeStamping if an EKU is present", not "required": the TSA's CA and
/// intermediates seldom carry an EKU and must not be refused for that, while an
/// intermediate that restricts its EKU to other purposes is (EKU chaining, as
/// browsers and OpenSSL do it). The signer's own, stricter RFC 3161 rule is
/// checked beforehand by `signer::check_time_stamping_eku`.
pub(crate) fn verify(
    signer: &EndEntityCert<'_>,
    intermediates: &[CertificateDer<'_>],
    anchors: &[CertificateDer<'_>],
    at: UnixTime,
) -> Result<(), TspError> {
    let anchors = anchors
        .iter()
        .enumerate()
        .map(|(index, anchor)| {
            webpki::anchor_from_trusted_cert(anchor).map_err(|error| TspError::UntrustedChain {
                reason: format!("trust anchor {index} is not a usable certificate: {error}"),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if anchors.is_empty() {
        return Err(TspError::UntrustedChain {
            reason: "no trust anchors".to_owned(),
        });
    }
    signer
        .verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchors,
            intermediates,
            at,
            KeyUsage::required_if_present(ID_KP_TIME_STAMPING_DER),
            // Revocation (CRL/OCSP of the TSA certificate) is the caller's
            // business: it needs I/O, and this crate has none.
            None,
            None,
        )
        .map(|_path| ())
        .map_err(|error| TspError::UntrustedChain {
            reason: error.to_string(),
        })
}
