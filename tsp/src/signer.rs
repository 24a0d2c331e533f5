//! Which certificate signed the token, and is it a TSA certificate.

use cms::signed_data::SignerIdentifier;
use const_oid::db::rfc5280::ID_KP_TIME_STAMPING;
use const_oid::db::rfc5280::{
    ID_CE_EXT_KEY_USAGE, ID_CE_SUBJECT_ALT_NAME, ID_CE_SUBJECT_KEY_IDENTIFIER,
};
use der::Decode;
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, SubjectAltName, SubjectKeyIdentifier};

use crate::TspError;

/// The signer certificate: its bytes as received and its decoded form.
pub(crate) struct Signer<'a> {
    pub(crate) der: &'a [u8],
    pub(crate) cert: Certificate,
    /// Its position among the token's certificates, so that the others can be
    /// offered to the path builder as intermediates.
    pub(crate) index: usize,
}

/// Finds the certificate the SignerInfo's `sid` names among the token's
/// certificates (RFC 5652 §5.3: issuer and serial number, or subject key
/// identifier).
pub(crate) fn find_signer<'a>(
    certificates: &[&'a [u8]],
    sid: &SignerIdentifier,
) -> Result<Signer<'a>, TspError> {
    if certificates.is_empty() {
        return Err(TspError::bad_signer(
            "the token carries no certificate (was the request sent with cert_req = false?)",
        ));
    }
    for (index, &der) in certificates.iter().enumerate() {
        let cert = Certificate::from_der(der).map_err(|error| {
            TspError::bad_signer(format!("certificate {index} in the token: {error}"))
        })?;
        let matches = match sid {
            SignerIdentifier::IssuerAndSerialNumber(id) => {
                cert.tbs_certificate.issuer == id.issuer
                    && cert.tbs_certificate.serial_number == id.serial_number
            }
            SignerIdentifier::SubjectKeyIdentifier(id) => {
                subject_key_identifier(&cert).as_ref() == Some(id)
            }
        };
        if matches {
            return Ok(Signer { der, cert, index });
        }
    }
    Err(TspError::bad_signer(
        "no certificate in the token matches the SignerInfo's sid",
    ))
}

fn subject_key_identifier(cert: &Certificate) -> Option<SubjectKeyIdentifier> {
    let extension = cert
        .tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|extension| extension.extn_id == ID_CE_SUBJECT_KEY_IDENTIFIER)?;
    SubjectKeyIdentifier::from_der(extension.extn_value.as_bytes()).ok()
}

/// RFC 3161 §2.3: the TSA certificate "MUST contain only one instance of the
/// extended key usage field extension ... with KeyPurposeID having value
/// id-kp-timeStamping. This extension MUST be critical." Checked here, on the
/// signer only, because webpki applies its key-usage rule to every certificate
/// of the path, and CA certificates rarely carry an EKU (see `chain`).
pub(crate) fn check_time_stamping_eku(cert: &Certificate) -> Result<(), TspError> {
    let mut found = cert
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .filter(|extension| extension.extn_id == ID_CE_EXT_KEY_USAGE);
    let extension = found.next().ok_or(TspError::NoTimeStampingEku {
        reason: "no extendedKeyUsage extension",
    })?;
    if found.next().is_some() {
        return Err(TspError::NoTimeStampingEku {
            reason: "more than one extendedKeyUsage extension",
        });
    }
    if !extension.critical {
        return Err(TspError::NoTimeStampingEku {
            reason: "extendedKeyUsage is not critical",
        });
    }
    let usage = ExtendedKeyUsage::from_der(extension.extn_value.as_bytes()).map_err(|_| {
        TspError::NoTimeStampingEku {
            reason: "extendedKeyUsage does not decode",
        }
    })?;
    match usage.0.as_slice() {
        [ID_KP_TIME_STAMPING] => Ok(()),
        purposes if purposes.contains(&ID_KP_TIME_STAMPING) => Err(TspError::NoTimeStampingEku {
            reason: "extendedKeyUsage lists other purposes besides id-kp-timeStamping",
        }),
        _ => Err(TspError::NoTimeStampingEku {
            reason: "extendedKeyUsage does not list id-kp-timeStamping",
        }),
    }
}

/// RFC 3161 §2.4.2: the TSTInfo's `tsa` name, if present, "MUST correspond to
/// one of the subject names included in the certificate": its subject, or an
/// entry of its subjectAltName.
pub(crate) fn check_tsa_name(tsa: &GeneralName, cert: &Certificate) -> Result<(), TspError> {
    if let GeneralName::DirectoryName(name) = tsa
        && *name == cert.tbs_certificate.subject
    {
        return Ok(());
    }
    let alt_names = cert
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .filter(|extension| extension.extn_id == ID_CE_SUBJECT_ALT_NAME)
        .filter_map(|extension| SubjectAltName::from_der(extension.extn_value.as_bytes()).ok())
        .flat_map(|names| names.0);
    for name in alt_names {
        if name == *tsa {
            return Ok(());
        }
    }
    Err(TspError::bad_signer(format!(
        "the TSTInfo names the TSA {:?}, which is not a name of the signer certificate",
        general_name(tsa)
    )))
}

/// A GeneralName as text for [`Token::tsa_name`](crate::Token::tsa_name).
pub(crate) fn general_name(name: &GeneralName) -> String {
    match name {
        GeneralName::DirectoryName(name) => name.to_string(),
        GeneralName::DnsName(name) => format!("DNS:{name}"),
        GeneralName::Rfc822Name(name) => format!("email:{name}"),
        GeneralName::UniformResourceIdentifier(name) => format!("URI:{name}"),
        GeneralName::RegisteredId(oid) => format!("RID:{oid}"),
        GeneralName::IpAddress(address) => format!("IP:{:02x?}", address.as_bytes()),
        GeneralName::OtherName(other) => format!("othername:{}", other.type_id),
        GeneralName::EdiPartyName(_) => "EdiPartyName".to_owned(),
    }
}
