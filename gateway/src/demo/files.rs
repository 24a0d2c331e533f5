//! What `gateway demo` carries inside the binary: its YAML and the test PKI files it uses.

/// The demo configuration, embedded so that `gateway demo` needs nothing but the binary.
pub(super) const DEMO_YAML: &str = include_str!("../../../config/demo.yaml");

/// The test PKI files the demo uses, embedded too: `gateway demo` writes them (and its YAML, as
/// `config/demo.yaml`) to a fresh temporary directory laid out like the repository, so that the
/// YAML's relative paths (`../certs-test/pki/…`) resolve. Server side: the listener's and the
/// fake services' certificate and key, the trust anchors, the CRL, the vendor certificate of the
/// `sas_appointments` route, the CPS CA and the medecin card of the DMP walkthrough. Client side:
/// the certificates the printed tour uses, so that it works from any directory.
pub(super) const DEMO_FILES: &[(&str, &[u8])] = &[
    (
        "certs-test/pki/server.pem",
        include_bytes!("../../../certs-test/pki/server.pem"),
    ),
    (
        "certs-test/pki/server.key",
        include_bytes!("../../../certs-test/pki/server.key"),
    ),
    (
        "certs-test/pki/ca-bundle.pem",
        include_bytes!("../../../certs-test/pki/ca-bundle.pem"),
    ),
    (
        "certs-test/pki/root-ca.cer",
        include_bytes!("../../../certs-test/pki/root-ca.cer"),
    ),
    (
        "certs-test/pki/intermediate-ca.cer",
        include_bytes!("../../../certs-test/pki/intermediate-ca.cer"),
    ),
    (
        "certs-test/pki/crl/intermediate.crl",
        include_bytes!("../../../certs-test/pki/crl/intermediate.crl"),
    ),
    (
        "certs-test/pki/clients/vendor.pem",
        include_bytes!("../../../certs-test/pki/clients/vendor.pem"),
    ),
    (
        "certs-test/pki/clients/vendor.key",
        include_bytes!("../../../certs-test/pki/clients/vendor.key"),
    ),
    (
        "certs-test/pki/cps/cps-ca.pem",
        include_bytes!("../../../certs-test/pki/cps/cps-ca.pem"),
    ),
    (
        "certs-test/pki/cps/cards/medecin.pem",
        include_bytes!("../../../certs-test/pki/cps/cards/medecin.pem"),
    ),
    (
        "certs-test/pki/cps/cards/medecin.key",
        include_bytes!("../../../certs-test/pki/cps/cards/medecin.key"),
    ),
    // The tour's clients.
    (
        "certs-test/pki/clients/sas-recette.pem",
        include_bytes!("../../../certs-test/pki/clients/sas-recette.pem"),
    ),
    (
        "certs-test/pki/clients/sas-recette.key",
        include_bytes!("../../../certs-test/pki/clients/sas-recette.key"),
    ),
    (
        "certs-test/pki/clients/wrong-ou.pem",
        include_bytes!("../../../certs-test/pki/clients/wrong-ou.pem"),
    ),
    (
        "certs-test/pki/clients/wrong-ou.key",
        include_bytes!("../../../certs-test/pki/clients/wrong-ou.key"),
    ),
    (
        "certs-test/pki/clients/untrusted.pem",
        include_bytes!("../../../certs-test/pki/clients/untrusted.pem"),
    ),
    (
        "certs-test/pki/clients/untrusted.key",
        include_bytes!("../../../certs-test/pki/clients/untrusted.key"),
    ),
    (
        "certs-test/pki/clients/revoked.pem",
        include_bytes!("../../../certs-test/pki/clients/revoked.pem"),
    ),
    (
        "certs-test/pki/clients/revoked.key",
        include_bytes!("../../../certs-test/pki/clients/revoked.key"),
    ),
    (
        "certs-test/pki/clients/internal-app.pem",
        include_bytes!("../../../certs-test/pki/clients/internal-app.pem"),
    ),
    (
        "certs-test/pki/clients/internal-app.key",
        include_bytes!("../../../certs-test/pki/clients/internal-app.key"),
    ),
    (
        "certs-test/pki/clients/portal.pem",
        include_bytes!("../../../certs-test/pki/clients/portal.pem"),
    ),
    (
        "certs-test/pki/clients/portal.key",
        include_bytes!("../../../certs-test/pki/clients/portal.key"),
    ),
];
