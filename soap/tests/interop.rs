//! Interoperability with a real WS-Security client: Python zeep.
//!
//! `tests/interop/zeep_tokens.py` builds real requests with
//! `zeep.wsse.username.UsernameToken` (without sending them) and this test verifies
//! them. It FAILS, rather than skips, when python3 or zeep is missing: CI installs
//! them with `pip install zeep`.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use soap::{
    Envelope, Limits, PasswordKind, Secret, SecurityFault, SecurityHeader, SecurityPolicy,
    SoapVersion, VerifiedToken, WSSE_NS, WsSecurityError, check_must_understand,
};
use state::MemoryStore;

const USER: &str = "portal-zeep";
const PASSWORD: &str = "Zeep-s3cret!";

/// Runs the zeep script into a fresh directory and returns it.
fn generate() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/zeep_tokens.py");
    let dir = std::env::temp_dir().join(format!(
        "soap-interop-{}-{:x}",
        std::process::id(),
        jiff::Timestamp::now().as_nanosecond()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let output = Command::new("python3")
        .arg(&script)
        .arg(&dir)
        .arg(USER)
        .arg(PASSWORD)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}): install Python 3 and then `pip install zeep`")
        });
    assert!(
        output.status.success(),
        "the zeep interop script failed — is zeep installed? Run `pip install zeep`.\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    dir
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

fn credentials(password: &'static str) -> impl Fn(&str) -> Option<Secret> {
    move |user: &str| (user == USER).then(|| Secret::from(password))
}

fn verify(
    xml: &str,
    policy: &SecurityPolicy,
    password: &'static str,
    now: jiff::Timestamp,
) -> Result<VerifiedToken, WsSecurityError> {
    let env = Envelope::parse(xml.as_bytes(), &Limits::default(), SoapVersion::V11).unwrap();
    check_must_understand(&env, &[(WSSE_NS, "Security")]).unwrap();
    assert!(env.payload().unwrap().is(
        "http://www.cegedim.com/aspone/mb/webservices",
        "setAlertActive"
    ));
    SecurityHeader::find(&env)?.verify(policy, &credentials(password), now)
}

/// Replaces the nonce with another valid base64 value of the same length.
fn alter_nonce(xml: &str) -> String {
    let start = xml.find("Base64Binary\">").unwrap() + "Base64Binary\">".len();
    let end = start + xml[start..].find('<').unwrap();
    let mut nonce = STANDARD.decode(&xml[start..end]).unwrap();
    nonce[0] ^= 0x01;
    format!("{}{}{}", &xml[..start], STANDARD.encode(nonce), &xml[end..])
}

#[test]
fn zeep_generated_tokens() {
    let dir = generate();
    let now = jiff::Timestamp::now();
    let strict = SecurityPolicy::strict();

    // Accepted with the right password, in every form zeep writes.
    for name in ["digest.xml", "digest_zulu.xml", "digest_timestamp.xml"] {
        let token = verify(&read(&dir, name), &strict, PASSWORD, now)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(token.username(), USER);
        assert_eq!(token.nonce().len(), 16, "{name}");
        assert_eq!(token.password_kind(), PasswordKind::Digest);
    }
    let digest = read(&dir, "digest.xml");

    // Wrong password → FailedAuthentication.
    let err = verify(&digest, &strict, "not-the-password", now).unwrap_err();
    assert!(
        matches!(err, WsSecurityError::WrongPassword { .. }),
        "{err}"
    );
    assert_eq!(err.security_fault(), SecurityFault::FailedAuthentication);
    assert!(
        err.to_fault()
            .to_xml(SoapVersion::V11)
            .contains("wsse:FailedAuthentication")
    );

    // Altered nonce → FailedAuthentication.
    let err = verify(&alter_nonce(&digest), &strict, PASSWORD, now).unwrap_err();
    assert_eq!(
        err.security_fault(),
        SecurityFault::FailedAuthentication,
        "{err}"
    );

    // Stale Created (zeep's `created=` an hour ago) → MessageExpired.
    let err = verify(&read(&dir, "stale.xml"), &strict, PASSWORD, now).unwrap_err();
    assert!(matches!(err, WsSecurityError::TooOld { .. }), "{err}");
    assert_eq!(err.security_fault(), SecurityFault::MessageExpired);
    // And a fresh token verified far in the future → MessageExpired.
    let later = now
        .checked_add(jiff::SignedDuration::from_hours(1))
        .unwrap();
    let err = verify(&digest, &strict, PASSWORD, later).unwrap_err();
    assert_eq!(err.security_fault(), SecurityFault::MessageExpired, "{err}");
    let err = verify(
        &read(&dir, "digest_timestamp.xml"),
        &strict,
        PASSWORD,
        later,
    )
    .unwrap_err();
    assert_eq!(err.security_fault(), SecurityFault::MessageExpired, "{err}");

    // Replayed nonce → caught by the replay cache, keyed and timed by the helpers.
    let store = MemoryStore::default();
    let token = verify(&digest, &strict, PASSWORD, now).unwrap();
    let key = token.replay_key().unwrap();
    assert_eq!(strict.replay_ttl(), Duration::from_secs(360));
    assert!(
        !store
            .seen_or_insert_sync(&key, strict.replay_ttl())
            .unwrap(),
        "first use"
    );
    let again = verify(&digest, &strict, PASSWORD, now).unwrap();
    assert!(
        store
            .seen_or_insert_sync(&again.replay_key().unwrap(), strict.replay_ttl())
            .unwrap(),
        "replay caught"
    );
    let other = verify(&read(&dir, "digest_zulu.xml"), &strict, PASSWORD, now).unwrap();
    assert!(
        !store
            .seen_or_insert_sync(&other.replay_key().unwrap(), strict.replay_ttl())
            .unwrap()
    );

    // PasswordText only when the partner's policy names it.
    let text = read(&dir, "text.xml");
    let err = verify(&text, &strict, PASSWORD, now).unwrap_err();
    assert_eq!(
        err,
        WsSecurityError::PasswordTypeNotAllowed {
            kind: PasswordKind::Text
        }
    );
    let token = verify(&text, &strict.clone().allow_password_text(), PASSWORD, now).unwrap();
    assert_eq!(token.password_kind(), PasswordKind::Text);

    std::fs::remove_dir_all(&dir).unwrap();
}
