//! PKCS#11 identities with SoftHSM (Debian `softhsm2`): a token is initialised in a temporary
//! directory, a card's key imported, and the handshake to a partner is signed on the token
//! (RSA PKCS#1 v1.5 over TLS 1.2, RSA-PSS over TLS 1.3, ECDSA P-256); a wrong PIN, a missing
//! token or key are typed errors.
//!
//! SoftHSM reads its configuration from `SOFTHSM2_CONF` when the module initialises. The tests
//! never change their own environment (`set_var` is unsafe and banned here): each parent test
//! prepares a token, then runs its `child::…` test in a child process of this same binary with
//! `SOFTHSM2_CONF` set. The children are `#[ignore]`d so that they run only that way.
//!
//! These tests fail (they do not skip) when softhsm2 is not installed: `scripts/test.sh`
//! installs it.
#![allow(clippy::unwrap_used, missing_docs)]

mod partner;

use std::path::{Path, PathBuf};
use std::process::Command;

use partner::pki;

/// Where Debian puts the module (`dpkg -L softhsm2`), newest layout first.
const MODULES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
];
const TOKEN: &str = "test";
const PIN: &str = "1234";
const KEY_LABEL: &str = "card-key";

fn module() -> PathBuf {
    let found = MODULES.iter().map(PathBuf::from).find(|p| p.exists());
    found.unwrap_or_else(|| {
        panic!(
            "softhsm2 is not installed (no libsofthsm2.so in {MODULES:?}): \
             `apt-get install softhsm2` (scripts/test.sh does it)"
        )
    })
}

/// A SoftHSM token directory with its configuration file.
struct Hsm {
    dir: tempfile::TempDir,
    conf: PathBuf,
}

fn softhsm2_util(hsm: &Hsm, args: &[&str]) {
    let out = Command::new("softhsm2-util")
        .args(args)
        .env("SOFTHSM2_CONF", &hsm.conf)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "softhsm2-util cannot run ({e}): softhsm2 is not installed: \
                 `apt-get install softhsm2` (scripts/test.sh does it)"
            )
        });
    assert!(
        out.status.success(),
        "softhsm2-util {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fresh token `test` (PIN 1234) holding `key_pem` (PKCS#8 PEM) as `card-key`.
fn token_with_key(key_pem: &Path) -> Hsm {
    module();
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    let hsm = Hsm { dir, conf };
    softhsm2_util(
        &hsm,
        &[
            "--init-token",
            "--free",
            "--label",
            TOKEN,
            "--pin",
            PIN,
            "--so-pin",
            "5678",
        ],
    );
    let key = key_pem.to_str().unwrap();
    softhsm2_util(
        &hsm,
        &[
            "--import", key, "--token", TOKEN, "--label", KEY_LABEL, "--id", "01", "--pin", PIN,
        ],
    );
    hsm
}

/// Runs `child::<name>` in a child process with the token's configuration (and `extra`
/// variables), and fails with its output if it fails or did not run.
fn run_child(name: &str, hsm: &Hsm, extra: &[(&str, &Path)]) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            &format!("child::{name}"),
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env("SOFTHSM2_CONF", &hsm.conf)
        .env("MTLS_TEST_PKCS11_MODULE", module())
        .env("MTLS_TEST_DIR", hsm.dir.path());
    for (k, v) in extra {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child::{name} failed:\n{stdout}\n{stderr}"
    );
    eprint!("{stderr}");
}

#[test]
fn a_token_key_signs_the_handshake() {
    let hsm = token_with_key(&pki("cps/cards/medecin.key"));
    run_child("token_key_signs_tls12_and_tls13", &hsm, &[]);
}

#[test]
fn a_certificate_on_the_token_is_used() {
    let hsm = token_with_key(&pki("cps/cards/infirmiere.key"));
    run_child("import_certificate", &hsm, &[]);
    run_child("certificate_from_the_token", &hsm, &[]);
}

#[test]
fn a_wrong_pin_and_missing_objects_are_typed_errors() {
    let hsm = token_with_key(&pki("cps/cards/medecin.key"));
    run_child("wrong_pin_and_missing_objects", &hsm, &[]);
}

#[test]
fn an_ecdsa_token_key_signs_the_handshake() {
    // A P-256 card issued at test time by the CPS test CA.
    let ca_key =
        rcgen::KeyPair::from_pem(&std::fs::read_to_string(pki("cps/cps-ca.key")).unwrap()).unwrap();
    let issuer = rcgen::Issuer::from_ca_cert_pem(
        &std::fs::read_to_string(pki("cps/cps-ca.pem")).unwrap(),
        ca_key,
    )
    .unwrap();
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "EC CARD (TEST)");
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, &issuer).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (key_file, cert_file) = (dir.path().join("ec.key"), dir.path().join("ec.pem"));
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    std::fs::write(&cert_file, cert.pem()).unwrap();
    let hsm = token_with_key(&key_file);
    run_child(
        "ecdsa_key_signs",
        &hsm,
        &[("MTLS_TEST_EC_CERT", &cert_file)],
    );
}

/// What the parent tests run in child processes (see the module docs).
mod child {
    use std::path::PathBuf;

    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    use cryptoki::object::{Attribute, CertificateType, ObjectClass};
    use cryptoki::session::UserType;
    use cryptoki::types::AuthPin;
    use mtls::{
        IdentityError, OutboundIdentity, OutboundTls, OutboundTlsBuilder, Pkcs11Certificate,
        Pkcs11Identity, Secret, TlsVersions,
    };
    use x509_parser::prelude::{FromDer, X509Certificate};

    use super::partner::{TLS12, TLS13, call, partner, pki};
    use super::{KEY_LABEL, PIN, TOKEN};

    const MEDECIN_CN: &str = "899700000017/MEDECIN0001 Jean (TEST)";

    fn env(name: &str) -> PathBuf {
        std::env::var_os(name)
            .map(PathBuf::from)
            .unwrap_or_else(|| panic!("{name} is not set: run by its parent test, not alone"))
    }

    fn identity(certificate: Pkcs11Certificate, pin: &str) -> Pkcs11Identity {
        // The token's variables are set by the parent; this checks they are.
        env("SOFTHSM2_CONF");
        Pkcs11Identity::new(
            env("MTLS_TEST_PKCS11_MODULE"),
            TOKEN,
            KEY_LABEL,
            certificate,
            Secret::new(pin),
        )
    }

    fn build(id: Pkcs11Identity) -> Result<OutboundTls, IdentityError> {
        OutboundTlsBuilder::from_files(&[pki("ca-bundle.pem")])?
            .versions(TlsVersions::ALL)
            .build(&OutboundIdentity::Pkcs11(id))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "run by its parent test with SOFTHSM2_CONF set"]
    async fn token_key_signs_tls12_and_tls13() {
        let card = pki("cps/cards/medecin.pem");
        let outbound = build(identity(Pkcs11Certificate::File(card), PIN)).unwrap();
        // SoftHSM has CKM_RSA_PKCS_PSS: the key can sign for TLS 1.3 too.
        assert_eq!(outbound.versions(), TlsVersions::ALL);
        let config = outbound.config(None).await.unwrap();
        let cps_ca = pki("cps/cps-ca.pem");
        for versions in [TLS12, TLS13] {
            let server = partner(versions, &cps_ca).await;
            assert_eq!(call(config.clone(), server.addr).await.unwrap(), MEDECIN_CN);
        }
        let counts = outbound.signatures();
        assert_eq!((counts.succeeded, counts.failed), (2, 0), "{counts:?}");
    }

    #[test]
    #[ignore = "run by its parent test with SOFTHSM2_CONF set"]
    fn import_certificate() {
        let pem = std::fs::read(pki("cps/cards/infirmiere.pem")).unwrap();
        let der = x509_parser::pem::parse_x509_pem(&pem).unwrap().1.contents;
        let (_, cert) = X509Certificate::from_der(&der).unwrap();
        let ctx = Pkcs11::new(env("MTLS_TEST_PKCS11_MODULE")).unwrap();
        ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .unwrap();
        let slot = ctx
            .get_slots_with_token()
            .unwrap()
            .into_iter()
            .find(|s| ctx.get_token_info(*s).unwrap().label().trim_end() == TOKEN)
            .unwrap();
        let session = ctx.open_rw_session(slot).unwrap();
        session
            .login(UserType::User, Some(&AuthPin::from(PIN)))
            .unwrap();
        session
            .create_object(&[
                Attribute::Class(ObjectClass::CERTIFICATE),
                Attribute::CertificateType(CertificateType::X_509),
                Attribute::Token(true),
                Attribute::Label(b"card-cert".to_vec()),
                Attribute::Subject(cert.subject().as_raw().to_vec()),
                Attribute::Value(der.clone()),
            ])
            .unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "run by its parent test with SOFTHSM2_CONF set"]
    async fn certificate_from_the_token() {
        let from_token = Pkcs11Certificate::Token {
            label: "card-cert".into(),
        };
        let outbound = build(identity(from_token, PIN)).unwrap();
        let server = partner(TLS12, &pki("cps/cps-ca.pem")).await;
        let config = outbound.fixed().unwrap().clone();
        assert_eq!(
            call(config, server.addr).await.unwrap(),
            "899700000025/INFIRMIERE0002 Marie (TEST)"
        );
    }

    #[test]
    #[ignore = "run by its parent test with SOFTHSM2_CONF set"]
    fn wrong_pin_and_missing_objects() {
        let card = || Pkcs11Certificate::File(pki("cps/cards/medecin.pem"));
        let err = build(identity(card(), "0000")).unwrap_err();
        assert!(
            matches!(&err, IdentityError::PinIncorrect { token } if token == TOKEN),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "PKCS#11 token \"test\": the PIN is incorrect"
        );

        let mut absent = identity(card(), PIN);
        absent.token_label = "no-such-token".into();
        let err = build(absent).unwrap_err();
        assert!(matches!(err, IdentityError::TokenAbsent { .. }), "{err}");

        let mut no_key = identity(card(), PIN);
        no_key.key_label = "no-such-key".into();
        let err = build(no_key).unwrap_err();
        assert!(
            matches!(
                err,
                IdentityError::ObjectNotFound {
                    what: "private key",
                    ..
                }
            ),
            "{err}"
        );

        // The key is the medecin's: another card's certificate does not match it.
        let other = Pkcs11Certificate::File(pki("cps/cards/infirmiere.pem"));
        let err = build(identity(other, PIN)).unwrap_err();
        assert!(matches!(err, IdentityError::BadSignature { .. }), "{err}");

        // And the right PIN works after all that.
        build(identity(card(), PIN)).unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "run by its parent test with SOFTHSM2_CONF set"]
    async fn ecdsa_key_signs() {
        let cert = Pkcs11Certificate::File(env("MTLS_TEST_EC_CERT"));
        let outbound = build(identity(cert, PIN)).unwrap();
        let config = outbound.config(None).await.unwrap();
        let cps_ca = pki("cps/cps-ca.pem");
        for versions in [TLS12, TLS13] {
            let server = partner(versions, &cps_ca).await;
            assert_eq!(
                call(config.clone(), server.addr).await.unwrap(),
                "EC CARD (TEST)"
            );
        }
    }
}
