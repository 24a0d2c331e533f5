//! The SignerInfo's signed attributes: content-type and message-digest
//! (RFC 5652 §5.3, §11) and the ESS signing-certificate attribute that binds
//! the signer certificate into the signature (RFC 3161 §2.4.1, RFC 5816).

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5911::{
    ID_AA_SIGNING_CERTIFICATE, ID_AA_SIGNING_CERTIFICATE_V_2, ID_CONTENT_TYPE, ID_MESSAGE_DIGEST,
};
use der::Sequence;
use der::asn1::{Any, OctetString};
use x509_cert::Certificate;
use x509_cert::attr::Attributes;
use x509_cert::ext::pkix::name::{GeneralName, GeneralNames};
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::AlgorithmIdentifierOwned;

use crate::TspError;
use crate::hash::CmsHash;
use crate::oid::ID_CT_TST_INFO;

/// Checks content-type = id-ct-TSTInfo and message-digest = `digest` of the
/// encapsulated TSTInfo.
pub(crate) fn check_content(
    attrs: &Attributes,
    tst_info: &[u8],
    digest: CmsHash,
) -> Result<(), TspError> {
    let content_type = single_value(attrs, ID_CONTENT_TYPE, "content-type")?
        .ok_or_else(|| missing("content-type"))?;
    let content_type = content_type
        .decode_as::<ObjectIdentifier>()
        .map_err(TspError::malformed("content-type attribute"))?;
    if content_type != ID_CT_TST_INFO {
        return Err(TspError::BadSignature {
            reason: "the signed content-type attribute is not id-ct-TSTInfo",
        });
    }
    let message_digest = single_value(attrs, ID_MESSAGE_DIGEST, "message-digest")?
        .ok_or_else(|| missing("message-digest"))?;
    let message_digest = message_digest
        .decode_as::<OctetString>()
        .map_err(TspError::malformed("message-digest attribute"))?;
    if message_digest.as_bytes() != digest.digest(tst_info) {
        return Err(TspError::BadSignature {
            reason: "the signed message-digest attribute does not match the TSTInfo",
        });
    }
    Ok(())
}

/// Checks that the ESS signing-certificate attribute, in version 2 (RFC 5035,
/// any hash) or version 1 (RFC 2634, SHA-1), is present and that its first
/// ESSCertID names the signer certificate: its hash over the certificate's
/// bytes as received and, if given, its issuer and serial number. Both are
/// checked when a TSA sends both. RFC 3161 makes the attribute mandatory, and
/// `openssl ts -verify` refuses tokens without it, so this crate does too.
pub(crate) fn check_signing_certificate(
    attrs: &Attributes,
    signer_der: &[u8],
    signer: &Certificate,
) -> Result<(), TspError> {
    let v2 = single_value(attrs, ID_AA_SIGNING_CERTIFICATE_V_2, "signingCertificateV2")?;
    let v1 = single_value(attrs, ID_AA_SIGNING_CERTIFICATE, "signingCertificate")?;
    if v1.is_none() && v2.is_none() {
        return Err(TspError::bad_signer(
            "no ESS signing-certificate attribute (RFC 3161 §2.4.1)",
        ));
    }
    if let Some(value) = v2 {
        let attribute: SigningCertificateV2 = value
            .decode_as()
            .map_err(TspError::malformed("signingCertificateV2 attribute"))?;
        let first = attribute.certs.first().ok_or_else(|| {
            TspError::structure("signingCertificateV2 attribute", "no ESSCertIDv2")
        })?;
        let hash = match &first.hash_algorithm {
            // DEFAULT {algorithm id-sha256}
            None => CmsHash::Sha256,
            Some(algorithm) => CmsHash::sha2(algorithm, "ESSCertIDv2 hash")?,
        };
        check_cert_id(
            "ESSCertIDv2",
            hash,
            &first.cert_hash,
            first.issuer_serial.as_ref(),
            signer_der,
            signer,
        )?;
    }
    if let Some(value) = v1 {
        let attribute: SigningCertificate = value
            .decode_as()
            .map_err(TspError::malformed("signingCertificate attribute"))?;
        let first = attribute
            .certs
            .first()
            .ok_or_else(|| TspError::structure("signingCertificate attribute", "no ESSCertID"))?;
        check_cert_id(
            "ESSCertID",
            CmsHash::Sha1,
            &first.cert_hash,
            first.issuer_serial.as_ref(),
            signer_der,
            signer,
        )?;
    }
    Ok(())
}

fn check_cert_id(
    what: &str,
    hash: CmsHash,
    cert_hash: &OctetString,
    issuer_serial: Option<&IssuerSerial>,
    signer_der: &[u8],
    signer: &Certificate,
) -> Result<(), TspError> {
    if cert_hash.as_bytes() != hash.digest(signer_der) {
        return Err(TspError::bad_signer(format!(
            "the {what} certificate hash does not match the signer certificate"
        )));
    }
    if let Some(issuer_serial) = issuer_serial {
        let issuer_matches = issuer_serial.issuer.iter().any(|name| {
            matches!(name, GeneralName::DirectoryName(name) if *name == signer.tbs_certificate.issuer)
        });
        if !issuer_matches || issuer_serial.serial_number != signer.tbs_certificate.serial_number {
            return Err(TspError::bad_signer(format!(
                "the {what} issuerSerial does not match the signer certificate"
            )));
        }
    }
    Ok(())
}

/// The value of the attribute `oid`, if present. RFC 5652 §11 allows each of
/// these attributes once, with exactly one value.
fn single_value<'a>(
    attrs: &'a Attributes,
    oid: ObjectIdentifier,
    name: &'static str,
) -> Result<Option<&'a Any>, TspError> {
    let mut found = attrs.iter().filter(|attribute| attribute.oid == oid);
    let Some(attribute) = found.next() else {
        return Ok(None);
    };
    if found.next().is_some() {
        return Err(TspError::structure(
            "signed attributes",
            format!("{name} appears more than once"),
        ));
    }
    match attribute.values.as_slice() {
        [value] => Ok(Some(value)),
        _ => Err(TspError::structure(
            "signed attributes",
            format!("{name} does not have exactly one value"),
        )),
    }
}

fn missing(name: &str) -> TspError {
    TspError::structure("signed attributes", format!("no {name} attribute"))
}

/// ```text
/// SigningCertificate ::= SEQUENCE {
///     certs        SEQUENCE OF ESSCertID,
///     policies     SEQUENCE OF PolicyInformation OPTIONAL }
/// ESSCertID ::= SEQUENCE {
///     certHash     OCTET STRING,     -- SHA-1 of the certificate
///     issuerSerial IssuerSerial OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificate {
    certs: Vec<EssCertId>,
    #[asn1(optional = "true")]
    policies: Option<Vec<Any>>,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertId {
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

/// ```text
/// SigningCertificateV2 ::= SEQUENCE {
///     certs        SEQUENCE OF ESSCertIDv2,
///     policies     SEQUENCE OF PolicyInformation OPTIONAL }
/// ESSCertIDv2 ::= SEQUENCE {
///     hashAlgorithm AlgorithmIdentifier DEFAULT {algorithm id-sha256},
///     certHash      OCTET STRING,
///     issuerSerial  IssuerSerial OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
    #[asn1(optional = "true")]
    policies: Option<Vec<Any>>,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV2 {
    #[asn1(optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

/// `IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct IssuerSerial {
    issuer: GeneralNames,
    serial_number: SerialNumber,
}
