//! The two extensions rcgen has no field for, encoded by hand as DER.
//!
//! rcgen 0.14 writes CRL distribution points itself but has no Authority Information Access
//! and no id-pkix-ocsp-nocheck; both are tiny fixed structures, so a few lines of DER here
//! are simpler than another ASN.1 dependency.

use rcgen::CustomExtension;

/// id-pe-authorityInfoAccess (RFC 5280 §4.2.2.1).
const OID_AUTHORITY_INFO_ACCESS: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 1];
/// id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1).
const OID_OCSP_NOCHECK: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1, 5];
/// id-ad-ocsp, DER content octets of 1.3.6.1.5.5.7.48.1.
const ID_AD_OCSP: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01];

const TAG_OID: u8 = 0x06;
const TAG_SEQUENCE: u8 = 0x30;
/// uniformResourceIdentifier `[6] IMPLICIT IA5String` inside a GeneralName.
const TAG_GENERAL_NAME_URI: u8 = 0x86;

/// One DER TLV (definite length, short or long form).
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// Authority Information Access with a single OCSP responder URL.
pub(crate) fn ocsp_aia(url: &str) -> CustomExtension {
    let mut description = tlv(TAG_OID, ID_AD_OCSP);
    description.extend(tlv(TAG_GENERAL_NAME_URI, url.as_bytes()));
    let content = tlv(TAG_SEQUENCE, &tlv(TAG_SEQUENCE, &description));
    CustomExtension::from_oid_content(OID_AUTHORITY_INFO_ACCESS, content)
}

/// id-pkix-ocsp-nocheck, whose value is ASN.1 NULL.
pub(crate) fn ocsp_nocheck() -> CustomExtension {
    CustomExtension::from_oid_content(OID_OCSP_NOCHECK, vec![0x05, 0x00])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_lengths() {
        assert_eq!(tlv(0x04, &[1, 2]), vec![0x04, 0x02, 1, 2]);
        let long = tlv(0x04, &[0; 200]);
        assert_eq!(&long[..3], &[0x04, 0x81, 200]);
        assert_eq!(long.len(), 203);
    }

    #[test]
    fn aia_encoding() {
        let ext = ocsp_aia("http://a/");
        let mut expected = vec![0x30, 0x17, 0x30, 0x15, 0x06, 0x08];
        expected.extend_from_slice(ID_AD_OCSP);
        expected.extend_from_slice(&[0x86, 0x09]);
        expected.extend_from_slice(b"http://a/");
        assert_eq!(ext.content(), expected.as_slice());
        assert!(!ext.criticality());
    }
}
