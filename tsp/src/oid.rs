//! Object identifiers: TSA policies ([`PolicyId`]) and the constants the
//! verifier compares against.

use std::fmt;
use std::str::FromStr;

use const_oid::ObjectIdentifier;

use crate::InvalidPolicyId;

/// id-ct-TSTInfo (RFC 3161 §2.4.2); `const-oid`'s database does not have it.
pub(crate) const ID_CT_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

/// id-kp-timeStamping (1.3.6.1.5.5.7.3.8) as the DER contents octets that
/// `rustls-webpki` compares key purposes by.
pub(crate) const ID_KP_TIME_STAMPING_DER: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];

/// A TSA policy (`TSAPolicyId`, an OBJECT IDENTIFIER), e.g. `1.2.3.4.1`.
///
/// Parsed once, with [`FromStr`], so that neither [`request`](crate::request)
/// nor [`verify_response`](crate::verify_response) has a string to reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PolicyId(pub(crate) ObjectIdentifier);

impl FromStr for PolicyId {
    type Err = InvalidPolicyId;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        ObjectIdentifier::new(value)
            .map(PolicyId)
            .map_err(|_| InvalidPolicyId {
                value: value.to_owned(),
            })
    }
}

impl fmt::Display for PolicyId {
    /// Dotted decimal.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Encode;

    #[test]
    fn policy_ids_parse_and_render() {
        let policy: PolicyId = "1.2.3.4.1".parse().expect("valid");
        assert_eq!(policy.to_string(), "1.2.3.4.1");
        assert!("1.2.x".parse::<PolicyId>().is_err());
        assert!("".parse::<PolicyId>().is_err());
    }

    #[test]
    fn time_stamping_constant_is_the_oid() {
        let oid = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
        assert_eq!(oid.as_bytes(), ID_KP_TIME_STAMPING_DER);
        let der = ID_CT_TST_INFO.to_der().expect("encodes");
        assert_eq!(
            der[2..],
            [
                0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04
            ]
        );
    }
}
