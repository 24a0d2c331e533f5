//! SSO tokens and login backoff, on an explicit clock.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::ts;
use sha2::{Digest as _, Sha256};
use soap::{Backoff, Secret, SsoError, SsoPolicy, UserRole, is_sso_form};

fn policy() -> SsoPolicy {
    SsoPolicy::new(Secret::from("cle-partagee"))
}

/// hex(SHA-256(key ‖ login ‖ AAMMJJ ‖ HHmm)), computed independently.
fn manual(login: &str, date: &str, time: &str) -> String {
    let digest = Sha256::digest(format!("cle-partagee{login}{date}{time}").as_bytes());
    format!("sso:{date}:{time}:{}", hex::encode(digest))
}

#[test]
fn format_and_default_zone() {
    assert!(is_sso_form("sso:191028:1701:abc"));
    assert!(!is_sso_form("SSO:191028"));
    assert!(!is_sso_form("password"));
    assert_eq!(policy().time_zone().iana_name(), Some("Europe/Paris"));
    // 2019-10-28 16:01 UTC is 17:01 in Paris (winter time), the seed's example shape.
    let token = policy().token_for("jdupont", ts("2019-10-28T16:01:30Z"));
    assert_eq!(token, manual("jdupont", "191028", "1701"));
}

#[test]
fn valid_token_accepted_in_either_case() {
    let now = ts("2024-06-01T12:03:00Z");
    let token = manual("jdupont", "240601", "1400"); // 12:00 UTC, Paris summer time
    policy()
        .verify("jdupont", &token, UserRole::User, now)
        .unwrap();
    policy()
        .verify(
            "jdupont",
            &token.to_uppercase().replace("SSO:", "sso:"),
            UserRole::User,
            now,
        )
        .unwrap();
}

#[test]
fn refusals_with_reasons() {
    let now = ts("2024-06-01T12:03:00Z");
    let p = policy();
    let token = manual("jdupont", "240601", "1400");
    let cases: Vec<(String, &str, SsoError)> = vec![
        (token.clone(), "other", SsoError::Mismatch),
        ("s3cret".into(), "jdupont", SsoError::NotSsoForm),
        (
            "sso:240601:1400".into(),
            "jdupont",
            SsoError::Malformed {
                reason: "expected sso:<AAMMJJ>:<HHmm>:<token>",
            },
        ),
        (
            "sso:24061:1400:00".into(),
            "jdupont",
            SsoError::Malformed {
                reason: "date is not six digits (AAMMJJ)",
            },
        ),
        (
            "sso:240601:14h0:00".into(),
            "jdupont",
            SsoError::Malformed {
                reason: "time is not four digits (HHmm)",
            },
        ),
        (
            format!("{}0", token),
            "jdupont",
            SsoError::Malformed {
                reason: "token is not 64 hexadecimal digits",
            },
        ),
        (
            token.replace(":1400:", ":1400: "),
            "jdupont",
            SsoError::Malformed {
                reason: "token is not 64 hexadecimal digits",
            },
        ),
        (
            manual("jdupont", "240231", "1400"),
            "jdupont",
            SsoError::InvalidDate,
        ),
        (
            manual("jdupont", "240601", "2460"),
            "jdupont",
            SsoError::InvalidDate,
        ),
        (
            manual("jdupont", "240601", "1352"),
            "jdupont",
            SsoError::Expired {
                age_secs: 660,
                validity_secs: 300,
            },
        ),
        (
            manual("jdupont", "240601", "1405"),
            "jdupont",
            SsoError::NotYetValid {
                ahead_secs: 120,
                skew_secs: 60,
            },
        ),
    ];
    for (password, login, expected) in cases {
        assert_eq!(
            p.verify(login, &password, UserRole::User, now).unwrap_err(),
            expected,
            "{password}"
        );
    }
    assert_eq!(
        p.verify("jdupont", &token, UserRole::Administrator, now)
            .unwrap_err(),
        SsoError::AdministratorRefused
    );
    assert_eq!(
        SsoError::AdministratorRefused.to_string(),
        "SSO is not allowed for administrator accounts"
    );
    assert_eq!(
        SsoError::Expired {
            age_secs: 660,
            validity_secs: 300
        }
        .to_string(),
        "SSO token is 660 s old; validity is 300 s"
    );
}

#[test]
fn window_edges_and_per_partner_validity() {
    let token = manual("jdupont", "240601", "1400"); // labelled 12:00:00 UTC
    let p = policy();
    // Valid for 5 minutes plus the rest of the labelled minute.
    p.verify(
        "jdupont",
        &token,
        UserRole::User,
        ts("2024-06-01T12:05:59Z"),
    )
    .unwrap();
    assert!(
        p.verify(
            "jdupont",
            &token,
            UserRole::User,
            ts("2024-06-01T12:06:00Z")
        )
        .is_err()
    );
    p.verify(
        "jdupont",
        &token,
        UserRole::User,
        ts("2024-06-01T11:59:00Z"),
    )
    .unwrap();
    assert!(
        p.verify(
            "jdupont",
            &token,
            UserRole::User,
            ts("2024-06-01T11:58:59Z")
        )
        .is_err()
    );
    let long = policy().with_validity(Duration::from_secs(3600));
    long.verify(
        "jdupont",
        &token,
        UserRole::User,
        ts("2024-06-01T12:50:00Z"),
    )
    .unwrap();
}

#[test]
fn configurable_zone_and_dst_fold() {
    let utc = policy().with_time_zone_name("UTC").unwrap();
    let token = manual("jdupont", "240601", "1200");
    utc.verify(
        "jdupont",
        &token,
        UserRole::User,
        ts("2024-06-01T12:01:00Z"),
    )
    .unwrap();
    assert_eq!(
        policy()
            .with_time_zone_name("Mars/Olympus")
            .unwrap_err()
            .to_string(),
        r#"unknown time zone "Mars/Olympus""#
    );
    // 2024-10-27 02:30 happens twice in Paris (00:30 and 01:30 UTC): both readings work.
    let fold = manual("jdupont", "241027", "0230");
    policy()
        .verify("jdupont", &fold, UserRole::User, ts("2024-10-27T00:31:00Z"))
        .unwrap();
    policy()
        .verify("jdupont", &fold, UserRole::User, ts("2024-10-27T01:31:00Z"))
        .unwrap();
    // 2024-03-31 02:30 does not exist in Paris; read as 03:30 (01:30 UTC).
    let gap = manual("jdupont", "240331", "0230");
    policy()
        .verify("jdupont", &gap, UserRole::User, ts("2024-03-31T01:31:00Z"))
        .unwrap();
}

#[test]
fn backoff_proportional_and_capped() {
    let b = Backoff::default();
    assert_eq!(b.step(), Duration::from_secs(5));
    assert_eq!(b.wait_for(0), Duration::ZERO);
    assert_eq!(b.wait_for(1), Duration::from_secs(5));
    assert_eq!(b.wait_for(7), Duration::from_secs(35));
    assert_eq!(b.wait_for(360), Duration::from_secs(1800));
    assert_eq!(b.wait_for(10_000), Duration::from_secs(1800));
    assert_eq!(b.wait_for(u64::MAX), Duration::from_secs(1800));
    assert_eq!(b.counter_ttl(), Duration::from_secs(86_400));
}

#[test]
fn backoff_retry_after_on_a_controlled_clock() {
    let b = Backoff::new(Duration::from_secs(2));
    let last = ts("2024-06-01T12:00:00Z");
    assert_eq!(b.retry_after(0, last, last), None);
    assert_eq!(b.retry_after(3, last, last), Some(Duration::from_secs(6)));
    assert_eq!(
        b.retry_after(3, last, ts("2024-06-01T12:00:04.5Z")),
        Some(Duration::from_millis(1500))
    );
    assert_eq!(b.retry_after(3, last, ts("2024-06-01T12:00:06Z")), None);
    assert_eq!(b.retry_after(3, last, ts("2024-06-01T13:00:00Z")), None);
    // Clock behind the last failure: the full wait remains.
    assert_eq!(
        b.retry_after(3, last, ts("2024-06-01T11:00:00Z")),
        Some(Duration::from_secs(6))
    );
    let capped = b.with_max(Duration::from_secs(10));
    assert_eq!(
        capped.retry_after(100, last, last),
        Some(Duration::from_secs(10))
    );
    // The cap never exceeds 30 minutes.
    let b = Backoff::new(Duration::from_secs(60)).with_max(Duration::from_secs(7200));
    assert_eq!(b.wait_for(1000), Duration::from_secs(1800));
}
