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
mod softhsm;

use partner::pki;
use softhsm::{KEY_LABEL, PIN, TOKEN, run_child, token_with_key};

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
