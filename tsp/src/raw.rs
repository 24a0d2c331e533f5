//! The parts of a `SignedData` whose exact bytes matter, found without decoding
//! them into structures.
//!
//! `cms` decodes `SET OF` into a `SetOfVec`, which sorts its elements, and a
//! `Certificate` into fields; encoding either again gives the original bytes
//! only if the TSA encoded them in canonical DER. A signature, a certificate
//! hash (ESSCertID) and webpki's certificate parser all need the bytes as
//! received, so this module walks the TLVs with `der`'s reader and hands out
//! slices of the input. The structure itself is validated by decoding the same
//! bytes with `cms` as well.

use der::asn1::AnyRef;
use der::{Decode, Reader, SliceReader, Tag, TagNumber, Tagged};

/// Slices of one `SignedData`'s content octets.
#[derive(Debug)]
pub(crate) struct RawSignedData<'a> {
    /// The full TLV of each `Certificate` in `certificates`, in order; the
    /// other `CertificateChoices` (attribute certificates, …) are skipped.
    pub(crate) certificates: Vec<&'a [u8]>,
    /// The contents octets of the first SignerInfo's `[0] IMPLICIT`
    /// signedAttrs, if present.
    pub(crate) signed_attrs: Option<&'a [u8]>,
}

impl<'a> RawSignedData<'a> {
    /// `content` is the value of the `SignedData` SEQUENCE:
    /// `version, digestAlgorithms, encapContentInfo, [0] certificates OPTIONAL,
    /// [1] crls OPTIONAL, signerInfos`.
    pub(crate) fn parse(content: &'a [u8]) -> der::Result<Self> {
        let fields = elements(content)?;
        let mut certificates = Vec::new();
        if let Some(set) = fields.iter().find(|tlv| is_context(tlv, TagNumber::N0)) {
            for choice in elements(AnyRef::from_der(set)?.value())? {
                if AnyRef::from_der(choice)?.tag() == Tag::Sequence {
                    certificates.push(choice);
                }
            }
        }
        let signer_infos = fields.last().copied().unwrap_or_default();
        let signed_attrs = match elements(AnyRef::from_der(signer_infos)?.value())?.first() {
            // version, sid, digestAlgorithm, then signedAttrs if present.
            Some(signer_info) => elements(AnyRef::from_der(signer_info)?.value())?
                .get(3)
                .filter(|tlv| is_context(tlv, TagNumber::N0))
                .map(|tlv| AnyRef::from_der(tlv).map(|any| any.value()))
                .transpose()?,
            None => None,
        };
        Ok(Self {
            certificates,
            signed_attrs,
        })
    }
}

/// The DER that a SignerInfo's signature covers: the signedAttrs contents
/// re-tagged as a `SET OF` (RFC 5652 §5.4), i.e. `0x31`, the same length
/// octets, the same contents.
pub(crate) fn signed_attrs_der(contents: &[u8]) -> der::Result<Vec<u8>> {
    use der::Encode;
    AnyRef::new(Tag::Set, contents)?.to_der()
}

/// The full TLV of every element of a constructed value's contents.
fn elements(contents: &[u8]) -> der::Result<Vec<&[u8]>> {
    let mut reader = SliceReader::new(contents)?;
    let mut elements = Vec::new();
    while !reader.is_finished() {
        elements.push(reader.tlv_bytes()?);
    }
    Ok(elements)
}

/// Whether a TLV is a constructed `[number]` (an IMPLICIT SET OF / SEQUENCE OF).
fn is_context(tlv: &[u8], number: TagNumber) -> bool {
    tlv.first().and_then(|&byte| Tag::try_from(byte).ok())
        == Some(Tag::ContextSpecific {
            constructed: true,
            number,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_certificates_and_unsorted_signed_attrs() {
        // SignedData contents: version, digestAlgorithms {}, encap {},
        // [0] { cert-like SEQUENCE, [2] other choice }, signerInfos { SignerInfo {
        //   version, sid, digestAlgorithm, [0] { attrs in non-DER order } } }.
        let content = [
            &[0x02, 0x01, 0x03][..],
            &[0x31, 0x00],
            &[0x30, 0x00],
            &[0xa0, 0x07, 0x30, 0x02, 0x05, 0x00, 0xa2, 0x01, 0x00],
            &[0x31, 0x10, 0x30, 0x0e],
            &[0x02, 0x01, 0x01, 0x30, 0x00, 0x30, 0x00],
            &[0xa0, 0x05, 0x30, 0x01, 0x09, 0x30, 0x00],
        ]
        .concat();
        let raw = RawSignedData::parse(&content).expect("walks");
        assert_eq!(raw.certificates, [&[0x30, 0x02, 0x05, 0x00][..]]);
        assert_eq!(raw.signed_attrs, Some(&[0x30, 0x01, 0x09, 0x30, 0x00][..]));
        assert_eq!(
            signed_attrs_der(&[0x30, 0x01, 0x09, 0x30, 0x00]).expect("encodes"),
            [0x31, 0x05, 0x30, 0x01, 0x09, 0x30, 0x00]
        );
    }

    #[test]
    fn no_signed_attrs_and_garbage() {
        let content = [
            &[0x02, 0x01, 0x01, 0x31, 0x00, 0x30, 0x00][..],
            &[
                0x31, 0x0b, 0x30, 0x09, 0x02, 0x01, 0x01, 0x30, 0x00, 0x30, 0x00, 0x30, 0x00,
            ],
        ]
        .concat();
        let raw = RawSignedData::parse(&content).expect("walks");
        assert!(raw.certificates.is_empty());
        assert_eq!(raw.signed_attrs, None);
        assert!(RawSignedData::parse(&[0x30, 0x05, 0x00]).is_err());
    }
}
