//! The two response structures this crate decodes itself instead of taking them
//! from `x509-tsp` 0.1, and why:
//!
//! - `TimeStampResp`: x509-tsp uses cmpv2's `PKIStatusInfo`, whose failInfo
//!   flag set loses or rejects most RFC 3161 bits (see [`FailInfo`]).
//! - `TSTInfo`: x509-tsp's genTime is der 0.7's `GeneralizedTime`, which only
//!   takes `YYYYMMDDhhmmssZ`; RFC 3161 §2.4.2 allows fractional seconds
//!   (`…ss.sssZ`), which many TSAs send. [`GenTime`] decodes both.
//!
//! Everything else (`MessageImprint`, `Accuracy`, the request) is x509-tsp's.

use der::asn1::{AnyRef, BitString, Int};
use der::{DecodeValue, EncodeValue, FixedTag, Header, Length, Reader, Sequence, Tag, Writer};
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use x509_cert::ext::Extensions;
use x509_cert::ext::pkix::name::GeneralName;
use x509_tsp::{Accuracy, MessageImprint, TsaPolicyId, TspVersion};

use crate::FailInfo;

/// ```text
/// TimeStampResp ::= SEQUENCE  {
///     status                  PKIStatusInfo,
///     timeStampToken          TimeStampToken     OPTIONAL  }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct TimeStampResp<'a> {
    pub(crate) status: PkiStatusInfo,
    /// Kept undecoded: its exact bytes are what the caller stores.
    #[asn1(optional = "true")]
    pub(crate) time_stamp_token: Option<AnyRef<'a>>,
}

/// ```text
/// PKIStatusInfo ::= SEQUENCE {
///     status        PKIStatus,                    -- INTEGER
///     statusString  PKIFreeText     OPTIONAL,     -- SEQUENCE OF UTF8String
///     failInfo      PKIFailureInfo  OPTIONAL  }   -- BIT STRING
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct PkiStatusInfo {
    pub(crate) status: u8,
    #[asn1(optional = "true")]
    pub(crate) status_string: Option<Vec<String>>,
    #[asn1(optional = "true")]
    pub(crate) fail_info: Option<BitString>,
}

impl PkiStatusInfo {
    pub(crate) fn fail_info(&self) -> Option<FailInfo> {
        self.fail_info
            .as_ref()
            .map(|bits| FailInfo::from_bits(bits.bits()))
    }

    pub(crate) fn text(&self) -> Option<String> {
        self.status_string.as_ref().map(|lines| lines.join("; "))
    }
}

/// RFC 3161 §2.4.2 `TSTInfo`; see x509-tsp's `TstInfo` for the ASN.1.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct TstInfo {
    pub(crate) version: TspVersion,
    pub(crate) policy: TsaPolicyId,
    pub(crate) message_imprint: MessageImprint,
    pub(crate) serial_number: Int,
    pub(crate) gen_time: GenTime,
    #[asn1(optional = "true")]
    pub(crate) accuracy: Option<Accuracy>,
    #[asn1(default = "Default::default")]
    pub(crate) ordering: bool,
    #[asn1(optional = "true")]
    pub(crate) nonce: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub(crate) tsa: Option<GeneralName>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub(crate) extensions: Option<Extensions>,
}

/// A GeneralizedTime as RFC 3161 constrains genTime: `YYYYMMDDhhmmss[.f…]Z`,
/// UTC, seconds always present, any number of fraction digits (nanoseconds
/// kept, the rest ignored). Trailing zeros in the fraction, which RFC 3161 says
/// a TSA must not send, are tolerated: the signature covers the bytes anyway.
#[derive(Clone, Debug, Eq, PartialEq)]
pub(crate) struct GenTime {
    pub(crate) time: Timestamp,
    /// As received, so that encoding gives back the same bytes.
    raw: Vec<u8>,
}

impl GenTime {
    fn parse(raw: &[u8]) -> Option<Timestamp> {
        let (digits, rest) = raw.split_at_checked(14)?;
        let number = |range: std::ops::Range<usize>| -> Option<i16> {
            let field = digits.get(range)?;
            field.iter().try_fold(0i16, |value, &byte| {
                byte.is_ascii_digit()
                    .then(|| value * 10 + i16::from(byte - b'0'))
            })
        };
        let small = |range| number(range).and_then(|value| i8::try_from(value).ok());
        let (fraction, zone) = match rest.split_first()? {
            (b'.', tail) => tail.split_at(tail.len().checked_sub(1)?),
            _ => (&[][..], rest),
        };
        if zone != b"Z" || (rest.first() == Some(&b'.') && fraction.is_empty()) {
            return None;
        }
        if !fraction.iter().all(u8::is_ascii_digit) {
            return None;
        }
        // Nanoseconds: the first nine digits, right-padded with zeros.
        let nanos = (0..9).fold(0i32, |nanos, position| {
            let digit = fraction
                .get(position)
                .map_or(0, |byte| i32::from(byte - b'0'));
            nanos * 10 + digit
        });
        let civil = DateTime::new(
            number(0..4)?,
            small(4..6)?,
            small(6..8)?,
            small(8..10)?,
            small(10..12)?,
            small(12..14)?,
            nanos,
        )
        .ok()?;
        TimeZone::UTC.to_timestamp(civil).ok()
    }
}

impl<'a> DecodeValue<'a> for GenTime {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let raw = reader.read_vec(header.length)?;
        let time = Self::parse(&raw).ok_or_else(|| Self::TAG.value_error())?;
        Ok(Self { time, raw })
    }
}

impl EncodeValue for GenTime {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.raw.len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(&self.raw)
    }
}

impl FixedTag for GenTime {
    const TAG: Tag = Tag::GeneralizedTime;
}

#[cfg(test)]
mod tests {
    use der::{Decode, Encode};

    use super::*;

    fn parse(text: &str) -> Option<String> {
        GenTime::parse(text.as_bytes()).map(|time| time.to_string())
    }

    #[test]
    fn gen_time_whole_and_fractional_seconds() {
        assert_eq!(
            parse("20230607112626Z").as_deref(),
            Some("2023-06-07T11:26:26Z")
        );
        assert_eq!(
            parse("20230607112626.5Z").as_deref(),
            Some("2023-06-07T11:26:26.5Z")
        );
        assert_eq!(
            parse("20230607112626.123456789123Z").as_deref(),
            Some("2023-06-07T11:26:26.123456789Z")
        );
        assert_eq!(
            parse("20230607112626.120Z").as_deref(),
            Some("2023-06-07T11:26:26.12Z")
        );
    }

    #[test]
    fn gen_time_rejects_other_forms() {
        for bad in [
            "",
            "20230607112626",
            "202306071126Z",
            "20230607112626+0100",
            "20230607112626.Z",
            "20230607112626.1a2Z",
            "20231307112626Z",
            "20230230112626Z",
            "2023060711262Z6",
            "2023-6071126260Z",
            "20230607112626ZZ",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn gen_time_round_trips_its_bytes() {
        let der = [&[0x18, 18][..], b"20240229235959.25Z"].concat();
        let time = GenTime::from_der(&der).expect("decodes");
        assert_eq!(time.time.to_string(), "2024-02-29T23:59:59.25Z");
        assert_eq!(time.to_der().expect("encodes"), der);
    }

    #[test]
    fn status_info_keeps_high_fail_info_bits() {
        // status 2, failInfo with bit 25 (systemFailure) set: 26 bits, 6 unused.
        let der = [
            0x30, 0x0a, 0x02, 0x01, 0x02, 0x03, 0x05, 0x06, 0x00, 0x00, 0x00, 0x40,
        ];
        let info = PkiStatusInfo::from_der(&der).expect("decodes");
        assert_eq!(info.status, 2);
        assert_eq!(
            info.fail_info().map(FailInfo::bits),
            Some(FailInfo::SYSTEM_FAILURE)
        );
        assert_eq!(info.text(), None);
    }
}
