//! The cryptography of one full mutual-TLS 1.3 handshake on the server's side, with the
//! gateway's provider (aws-lc-rs) and the test PKI's keys (RSA-2048 everywhere, as IGC Santé
//! issues them), one operation at a time on one core (issue 16, item 2): the bound a gateway's
//! full handshakes per second per core can approach.
//!
//! - the server's CertificateVerify: one RSA-2048 PSS signature;
//! - the key exchange: an X25519 key pair and the shared secret;
//! - the client's chain: the verifier the gateway builds on (webpki through rustls), leaf signed
//!   by the intermediate CA (one RSA verification, plus parsing and name/EKU/validity checks);
//! - the client's CertificateVerify: one RSA-2048 PSS verification.
//!
//! Run: `CARGO_TARGET_DIR=/work/target-mtls cargo bench -p mtls --bench handshake_crypto`.
#![allow(missing_docs, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{NamedGroup, RootCertStore, SignatureScheme};

fn pki(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../certs-test/pki")
        .join(rel)
}

fn certs(rel: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_file_iter(pki(rel))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let provider = mtls::crypto_provider();
    // The transcript hash a CertificateVerify signs is 64 bytes of context plus a hash; the
    // signed message's length does not change an RSA operation's cost.
    let message = [0x20_u8; 130];

    // 1. The server's CertificateVerify.
    let key = PrivateKeyDer::from_pem_file(pki("server.key")).unwrap();
    let signing_key = provider.key_provider.load_private_key(key).unwrap();
    let signer = signing_key
        .choose_scheme(&[SignatureScheme::RSA_PSS_SHA256])
        .unwrap();
    c.bench_function("server CertificateVerify: RSA-2048 PSS sign", |b| {
        b.iter(|| signer.sign(&message).unwrap());
    });

    // 2. The key exchange.
    let x25519 = *provider
        .kx_groups
        .iter()
        .find(|g| g.name() == NamedGroup::X25519)
        .unwrap();
    let peer = x25519.start().unwrap();
    let peer_public = peer.pub_key().to_vec();
    c.bench_function("X25519: key pair + shared secret", |b| {
        b.iter(|| x25519.start().unwrap().complete(&peer_public).unwrap());
    });

    // 3. The client's chain, with the verifier rustls builds on webpki.
    let mut roots = RootCertStore::empty();
    for cert in certs("root-ca.pem") {
        roots.add(cert).unwrap();
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .unwrap();
    let chain = certs("clients/internal-app.pem");
    let now = UnixTime::now();
    c.bench_function("client chain: leaf <- intermediate <- root (webpki)", |b| {
        b.iter(|| {
            verifier
                .verify_client_cert(&chain[0], &chain[1..], now)
                .unwrap()
        });
    });

    // 4. The client's CertificateVerify, signed here with its own key.
    let client_key = PrivateKeyDer::from_pem_file(pki("clients/internal-app.key")).unwrap();
    let client_signer = provider
        .key_provider
        .load_private_key(client_key)
        .unwrap()
        .choose_scheme(&[SignatureScheme::RSA_PSS_SHA256])
        .unwrap();
    let signature = client_signer.sign(&message).unwrap();
    // What rustls' `verify_tls13_signature` does: parse the leaf, verify with the provider's
    // algorithms for the scheme.
    let algorithms = provider
        .signature_verification_algorithms
        .mapping
        .iter()
        .find(|(scheme, _)| *scheme == SignatureScheme::RSA_PSS_SHA256)
        .unwrap()
        .1;
    c.bench_function("client CertificateVerify: RSA-2048 PSS verify", |b| {
        b.iter(|| {
            let leaf = webpki::EndEntityCert::try_from(&chain[0]).unwrap();
            assert!(
                algorithms
                    .iter()
                    .any(|alg| leaf.verify_signature(*alg, &message, &signature).is_ok())
            );
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
