//! WS-Security UsernameToken verification with hand-built tokens.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use soap::{
    Envelope, Limits, PasswordKind, SecurityFault, SecurityHeader, SecurityPolicy, SoapVersion,
    VerifiedToken, WsSecurityError,
};

const NOW: &str = "2024-06-01T12:00:00Z";
const CREATED: &str = "2024-06-01T11:59:30.250Z";
const NONCE: [u8; 16] = *b"0123456789abcdef";

fn verify_xml(
    xml: &str,
    policy: &SecurityPolicy,
    now: &str,
) -> Result<VerifiedToken, WsSecurityError> {
    let env = Envelope::parse(xml.as_bytes(), &Limits::default(), SoapVersion::V11).unwrap();
    let header = SecurityHeader::find(&env)?;
    header.verify(policy, &partner("portal", "s3cret"), ts(now))
}

fn verify_inner(inner: &str, policy: &SecurityPolicy) -> Result<VerifiedToken, WsSecurityError> {
    verify_xml(&envelope_with_security(inner), policy, NOW)
}

fn strict() -> SecurityPolicy {
    SecurityPolicy::strict()
}

/// A token with every field overridable.
struct Token<'a> {
    user: &'a str,
    password: &'a str,
    nonce: &'a [u8],
    created: &'a str,
    password_type: Option<&'a str>,
    encoding_type: Option<&'a str>,
}

impl Default for Token<'_> {
    fn default() -> Self {
        Self {
            user: "portal",
            password: "s3cret",
            nonce: &NONCE,
            created: CREATED,
            password_type: Some(soap::PASSWORD_DIGEST_URI),
            encoding_type: Some(soap::BASE64_BINARY_URI),
        }
    }
}

impl Token<'_> {
    fn xml(&self) -> String {
        let ptype = self
            .password_type
            .map(|t| format!(r#" Type="{t}""#))
            .unwrap_or_default();
        let etype = self
            .encoding_type
            .map(|t| format!(r#" EncodingType="{t}""#))
            .unwrap_or_default();
        format!(
            r#"<wsse:UsernameToken wsu:Id="UT-1"><wsse:Username>{}</wsse:Username><wsse:Password{ptype}>{}</wsse:Password><wsse:Nonce{etype}>{}</wsse:Nonce><wsu:Created>{}</wsu:Created></wsse:UsernameToken>"#,
            self.user,
            digest(self.nonce, self.created, self.password),
            b64(self.nonce),
            self.created
        )
    }
}

#[test]
fn wss4j_style_token_is_accepted() {
    let token = verify_inner(&Token::default().xml(), &strict()).unwrap();
    assert_eq!(token.username(), "portal");
    assert_eq!(token.nonce(), NONCE);
    assert_eq!(token.password_kind(), PasswordKind::Digest);
    assert_eq!(token.created(), Some(ts(CREATED)));
    let key = token.replay_key().unwrap();
    assert_eq!(key, soap::replay_key("portal", &NONCE));
    assert_eq!(key.len(), 64);
    assert_ne!(soap::replay_key("a", b"bc"), soap::replay_key("ab", b"c"));
    assert_eq!(strict().replay_ttl(), Duration::from_secs(360));
}

#[test]
fn zeep_style_created_is_accepted_by_strict() {
    // zeep writes whole seconds and "+00:00" unless zulu_timestamp=True.
    let created = "2024-06-01T11:59:30+00:00";
    let token = Token {
        created,
        ..Token::default()
    };
    verify_inner(&token.xml(), &strict()).unwrap();
    let err = verify_inner(&token.xml(), &strict().require_fractional_seconds()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Created is not an acceptable xs:dateTime: no fractional seconds, which the policy requires"
    );
}

#[test]
fn wrong_password_and_unknown_user_look_the_same_on_the_wire() {
    let wrong = verify_inner(
        &Token {
            password: "guess",
            ..Token::default()
        }
        .xml(),
        &strict(),
    )
    .unwrap_err();
    assert_eq!(
        wrong,
        WsSecurityError::WrongPassword {
            username: "portal".into(),
            kind: PasswordKind::Digest
        }
    );
    assert_eq!(
        wrong.to_string(),
        r#"PasswordDigest mismatch for username "portal""#
    );
    let unknown = verify_inner(
        &Token {
            user: "nobody",
            ..Token::default()
        }
        .xml(),
        &strict(),
    )
    .unwrap_err();
    assert_eq!(unknown.to_string(), r#"unknown username "nobody""#);
    assert_eq!(wrong.security_fault(), SecurityFault::FailedAuthentication);
    for v in [SoapVersion::V11, SoapVersion::V12] {
        assert_eq!(wrong.to_fault().to_xml(v), unknown.to_fault().to_xml(v));
    }
}

#[test]
fn altered_nonce_or_created_fails_authentication() {
    let good = Token::default().xml();
    let altered = good.replace(&b64(&NONCE), &b64(b"0123456789abcdeX"));
    let err = verify_inner(&altered, &strict()).unwrap_err();
    assert_eq!(err.security_fault(), SecurityFault::FailedAuthentication);
    let altered = good.replace(CREATED, "2024-06-01T11:59:31.250Z");
    assert_eq!(
        verify_inner(&altered, &strict())
            .unwrap_err()
            .security_fault(),
        SecurityFault::FailedAuthentication
    );
    // A digest that is not even base64 of 20 bytes fails the same way.
    let garbage = good.replace(&digest(&NONCE, CREATED, "s3cret"), "not-base64!");
    assert!(matches!(
        verify_inner(&garbage, &strict()).unwrap_err(),
        WsSecurityError::WrongPassword { .. }
    ));
}

#[test]
fn freshness_window() {
    let xml = envelope_with_security(&Token::default().xml());
    // 300 s after Created: still fine; 301 s: expired.
    verify_xml(&xml, &strict(), "2024-06-01T12:04:30.250Z").unwrap();
    let err = verify_xml(&xml, &strict(), "2024-06-01T12:04:31.250Z").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Created is 301 s old; the policy allows 300 s"
    );
    assert_eq!(err.security_fault(), SecurityFault::MessageExpired);
    // 60 s ahead: fine; 61 s: refused.
    verify_xml(&xml, &strict(), "2024-06-01T11:58:30.250Z").unwrap();
    let err = verify_xml(&xml, &strict(), "2024-06-01T11:58:29.250Z").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Created is 61 s in the future; the policy allows 60 s"
    );
    // Per-partner windows.
    let wide = strict().with_max_age(Duration::from_secs(3600));
    verify_xml(&xml, &wide, "2024-06-01T12:30:00Z").unwrap();
    let fault = err.to_fault().to_xml(SoapVersion::V11);
    assert!(fault.contains("wsse:MessageExpired") && fault.contains("The message has expired"));
}

#[test]
fn timestamp_header() {
    let stamp = |c: &str, e: &str| {
        format!(
            r#"<wsu:Timestamp wsu:Id="TS-1"><wsu:Created>{c}</wsu:Created><wsu:Expires>{e}</wsu:Expires></wsu:Timestamp>"#
        )
    };
    let token = Token::default().xml();
    let ok = format!(
        "{}{token}",
        stamp("2024-06-01T11:59:30Z", "2024-06-01T12:04:30Z")
    );
    verify_inner(&ok, &strict()).unwrap();
    let expired = format!(
        "{}{token}",
        stamp("2024-06-01T11:55:00Z", "2024-06-01T11:59:00Z")
    );
    let err = verify_inner(&expired, &strict()).unwrap_err();
    assert_eq!(err, WsSecurityError::TimestampExpired { ago_secs: 60 });
    assert_eq!(err.security_fault(), SecurityFault::MessageExpired);
    let inverted = format!(
        "{}{token}",
        stamp("2024-06-01T12:00:30Z", "2024-06-01T12:00:10Z")
    );
    assert_eq!(
        verify_inner(&inverted, &strict()).unwrap_err(),
        WsSecurityError::TimestampInverted
    );
    let twice = format!(
        "{ok}{}",
        stamp("2024-06-01T11:59:30Z", "2024-06-01T12:04:30Z")
    );
    assert_eq!(
        verify_inner(&twice, &strict()).unwrap_err(),
        WsSecurityError::DuplicateTimestamp { count: 2 }
    );
    let bad = format!("{}{token}", stamp("yesterday", "2024-06-01T12:04:30Z"));
    assert_eq!(
        verify_inner(&bad, &strict()).unwrap_err().to_string(),
        "Timestamp/Created is not an acceptable xs:dateTime: not of the form YYYY-MM-DDThh:mm:ss[.fff][Z|+hh:mm]"
    );
}

#[test]
fn strict_basic_security_profile_checks() {
    let cases: Vec<(String, WsSecurityError)> = vec![
        (
            Token {
                password_type: None,
                ..Token::default()
            }
            .xml(),
            WsSecurityError::MissingPasswordType,
        ),
        (
            Token {
                encoding_type: None,
                ..Token::default()
            }
            .xml(),
            WsSecurityError::MissingNonceEncoding,
        ),
        (
            Token {
                encoding_type: Some("urn:hex"),
                ..Token::default()
            }
            .xml(),
            WsSecurityError::UnsupportedNonceEncoding {
                encoding_type: "urn:hex".into(),
            },
        ),
        (
            Token {
                nonce: b"short-nonce",
                ..Token::default()
            }
            .xml(),
            WsSecurityError::NonceTooShort { len: 11, min: 16 },
        ),
        (
            Token {
                password_type: Some("urn:other"),
                ..Token::default()
            }
            .xml(),
            WsSecurityError::UnknownPasswordType {
                type_uri: "urn:other".into(),
            },
        ),
        (
            Token {
                created: "2024-06-01T13:59:30.250+02:00",
                ..Token::default()
            }
            .xml(),
            WsSecurityError::BadDateTime {
                element: "Created",
                problem: "not in UTC (Z or +00:00), as the strict policy requires",
            },
        ),
        (
            format!("{}{}", Token::default().xml(), Token::default().xml()),
            WsSecurityError::MultipleUsernameTokens { count: 2 },
        ),
        (String::new(), WsSecurityError::MissingUsernameToken),
        (
            Token::default()
                .xml()
                .replace(&format!("<wsu:Created>{CREATED}</wsu:Created>"), ""),
            WsSecurityError::MissingElement { element: "Created" },
        ),
        (
            Token::default().xml().replace(
                "<wsse:Username>portal</wsse:Username>",
                "<wsse:Username> </wsse:Username>",
            ),
            WsSecurityError::EmptyUsername,
        ),
        (
            Token::default().xml().replace(
                "<wsse:Username>portal</wsse:Username>",
                "<wsse:Username>portal</wsse:Username><wsse:Username>x</wsse:Username>",
            ),
            WsSecurityError::DuplicateElement {
                element: "Username",
            },
        ),
    ];
    for (inner, expected) in cases {
        let err = verify_inner(&inner, &strict()).unwrap_err();
        assert_eq!(err, expected, "{inner}");
    }
    let nonce_not_b64 = Token::default().xml().replace(&b64(&NONCE), "***");
    assert_eq!(
        verify_inner(&nonce_not_b64, &strict()).unwrap_err(),
        WsSecurityError::NonceNotBase64
    );
    let no_nonce = Token::default().xml().replace(
        &format!(
            r#"<wsse:Nonce EncodingType="{}">{}</wsse:Nonce>"#,
            soap::BASE64_BINARY_URI,
            b64(&NONCE)
        ),
        "",
    );
    assert_eq!(
        verify_inner(&no_nonce, &strict()).unwrap_err(),
        WsSecurityError::MissingElement { element: "Nonce" }
    );
}

#[test]
fn error_messages_are_exact_and_fault_strings_generic() {
    let cases = [
        (
            WsSecurityError::MissingSecurityHeader,
            "no wsse:Security header block targets this receiver",
            SecurityFault::InvalidSecurity,
        ),
        (
            WsSecurityError::NonceTooShort { len: 5, min: 16 },
            "Nonce decodes to 5 bytes; the policy requires at least 16",
            SecurityFault::InvalidSecurityToken,
        ),
        (
            WsSecurityError::MissingNonceEncoding,
            "Nonce has no EncodingType attribute (required by the strict policy)",
            SecurityFault::InvalidSecurityToken,
        ),
        (
            WsSecurityError::PasswordTypeNotAllowed {
                kind: PasswordKind::Text,
            },
            "PasswordText is not allowed by this partner's policy",
            SecurityFault::InvalidSecurityToken,
        ),
        (
            WsSecurityError::DuplicateSecurityHeader { count: 2 },
            "2 wsse:Security header blocks target this receiver; one is allowed",
            SecurityFault::InvalidSecurity,
        ),
    ];
    for (err, message, fault) in cases {
        assert_eq!(err.to_string(), message);
        assert_eq!(err.security_fault(), fault);
    }
    assert_eq!(
        SecurityFault::InvalidSecurity.fault_string(),
        "An error was discovered processing the <wsse:Security> header"
    );
    assert_eq!(
        SecurityFault::InvalidSecurityToken.fault_string(),
        "An invalid security token was provided"
    );
}

#[test]
fn errors_never_reveal_secrets_or_digest_inputs() {
    let nonce_b64 = b64(&NONCE);
    let digest_b64 = digest(&NONCE, CREATED, "s3cret");
    let variants = [
        Token {
            password: "guess",
            ..Token::default()
        }
        .xml(),
        Token {
            user: "nobody",
            ..Token::default()
        }
        .xml(),
        Token {
            password_type: None,
            ..Token::default()
        }
        .xml(),
        Token {
            nonce: b"tiny",
            ..Token::default()
        }
        .xml(),
        Token {
            created: "2020-01-01T00:00:00.000Z",
            ..Token::default()
        }
        .xml(),
    ];
    for inner in variants {
        let err = verify_inner(&inner, &strict()).unwrap_err();
        let text = format!("{err} {err:?}");
        for secret in ["s3cret", nonce_b64.as_str(), digest_b64.as_str(), CREATED] {
            assert!(!text.contains(secret), "{text} reveals {secret}");
        }
    }
}

#[test]
fn password_text_only_when_enabled() {
    let text_token = format!(
        r#"<wsse:UsernameToken><wsse:Username>portal</wsse:Username><wsse:Password Type="{}">s3cret</wsse:Password></wsse:UsernameToken>"#,
        soap::PASSWORD_TEXT_URI
    );
    let err = verify_inner(&text_token, &strict()).unwrap_err();
    assert_eq!(
        err,
        WsSecurityError::PasswordTypeNotAllowed {
            kind: PasswordKind::Text
        }
    );
    let policy = strict().allow_password_text();
    let token = verify_inner(&text_token, &policy).unwrap();
    assert_eq!(token.password_kind(), PasswordKind::Text);
    assert_eq!(token.replay_key(), None);
    let wrong = text_token.replace(">s3cret<", ">s3cre<");
    assert_eq!(
        verify_inner(&wrong, &policy).unwrap_err(),
        WsSecurityError::WrongPassword {
            username: "portal".into(),
            kind: PasswordKind::Text
        }
    );
    let unknown = text_token.replace(">portal<", ">other<");
    assert!(matches!(
        verify_inner(&unknown, &policy).unwrap_err(),
        WsSecurityError::UnknownUser { .. }
    ));
}

/// What the public PHP ASPOne client sends: 5-byte nonce without EncodingType,
/// Created to the second with a literal Z.
fn php_client_header(created: &str) -> String {
    let nonce = [0x12, 0x34, 0x56, 0x78, 0x9a];
    format!(
        r#"<wsse:UsernameToken><wsse:Username>portal</wsse:Username><wsse:Password Type="{}">{}</wsse:Password><wsse:Nonce>{}</wsse:Nonce><wsu:Created>{created}</wsu:Created></wsse:UsernameToken>"#,
        soap::PASSWORD_DIGEST_URI,
        digest(&nonce, created, "s3cret"),
        b64(&nonce)
    )
}

#[test]
fn php_client_refused_in_strict_accepted_in_lenient() {
    let inner = php_client_header("2024-06-01T11:59:50Z");
    assert_eq!(
        verify_inner(&inner, &strict()).unwrap_err(),
        WsSecurityError::MissingNonceEncoding
    );
    let token = verify_inner(&inner, &SecurityPolicy::lenient()).unwrap();
    assert_eq!(token.nonce().len(), 5);
    assert_eq!(
        SecurityPolicy::lenient().replay_ttl(),
        Duration::from_secs(900)
    );
}

#[test]
fn php_client_writing_paris_time_labelled_z() {
    // 12:00 UTC is 14:00 in Paris in June; the portal writes "14:00:00Z".
    let inner = php_client_header("2024-06-01T13:59:50Z");
    let err = verify_inner(&inner, &SecurityPolicy::lenient()).unwrap_err();
    assert!(matches!(err, WsSecurityError::InFuture { .. }), "{err}");
    let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
    let policy = SecurityPolicy::lenient().assume_z_means_local_time(paris.clone());
    verify_inner(&inner, &policy).unwrap();
    // Strict ignores the setting: Z is UTC.
    let strictish = strict().assume_z_means_local_time(paris);
    assert!(verify_inner(&inner, &strictish).is_err());
}

#[test]
fn lenient_still_checks_the_password_and_minimum_nonce() {
    let lenient = SecurityPolicy::lenient();
    let inner = php_client_header("2024-06-01T11:59:50Z")
        .replace("<wsse:Username>portal", "<wsse:Username>nobody");
    assert!(matches!(
        verify_inner(&inner, &lenient).unwrap_err(),
        WsSecurityError::UnknownUser { .. }
    ));
    let tiny = Token {
        nonce: b"abc",
        encoding_type: None,
        ..Token::default()
    }
    .xml();
    assert_eq!(
        verify_inner(&tiny, &lenient).unwrap_err(),
        WsSecurityError::NonceTooShort { len: 3, min: 4 }
    );
    // Two tokens: the first is used.
    let two = format!(
        "{}{}",
        Token::default().xml(),
        Token {
            user: "x",
            ..Token::default()
        }
        .xml()
    );
    assert_eq!(verify_inner(&two, &lenient).unwrap().username(), "portal");
}

#[test]
fn locating_the_security_header() {
    let ns = soap::SOAP11_NS;
    let token = Token::default().xml();
    let none = format!(r#"<s:Envelope xmlns:s="{ns}"><s:Body/></s:Envelope>"#);
    assert_eq!(
        verify_xml(&none, &strict(), NOW).unwrap_err(),
        WsSecurityError::MissingSecurityHeader
    );
    let other_actor = format!(
        r#"<s:Envelope xmlns:s="{ns}" xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}"><s:Header><wsse:Security s:actor="urn:someone">{token}</wsse:Security></s:Header><s:Body/></s:Envelope>"#
    );
    assert_eq!(
        verify_xml(&other_actor, &strict(), NOW).unwrap_err(),
        WsSecurityError::MissingSecurityHeader
    );
    let two = format!(
        r#"<s:Envelope xmlns:s="{ns}" xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}"><s:Header><wsse:Security>{token}</wsse:Security><wsse:Security>{token}</wsse:Security></s:Header><s:Body/></s:Envelope>"#
    );
    assert_eq!(
        verify_xml(&two, &strict(), NOW).unwrap_err(),
        WsSecurityError::DuplicateSecurityHeader { count: 2 }
    );
}

#[test]
fn aspone_request_verifies_end_to_end() {
    let xml = aspone_request(&Token::default().xml());
    let token = verify_xml(&xml, &strict(), NOW).unwrap();
    assert_eq!(token.username(), "portal");
    assert!(xml.len() > 1800 && xml.len() < 2600, "{}", xml.len());
}
