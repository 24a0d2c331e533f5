//! What the test PKI contains and in which order it is generated.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rcgen::{DnType, ExtendedKeyUsagePurpose as Eku, KeyUsagePurpose as Ku, SanType};

use crate::clients::CLIENTS;
use crate::der;
use crate::error::Error;
use crate::issue::{Ca, Leaf, Subject, VALID, Validity};
use crate::layout::Layout;
use crate::output::Output;
use crate::revocation::{self, CrlSpec, IndexEntry};

const ORG: &str = "TEST PKI - NOT IGC SANTE";
const ROOT_CN: &str = "ACR-EL-TEST (GATEWAY TEST PKI)";
const INTERMEDIATE_CN: &str = "ACI-EL-ORG-TEST (GATEWAY TEST PKI)";
const UNTRUSTED_CN: &str = "UNTRUSTED ROOT (GATEWAY TEST PKI)";
/// Written in the intermediate; nothing fetches it.
const ROOT_CRL_URL: &str = "http://127.0.0.1/crl/ACR-EL-TEST.crl";
/// Written in every client certificate the intermediate issues.
const CLIENT_CRL_URL: &str = "http://127.0.0.1:8888/crl/ACI-EL-ORG-TEST.crl";
const CLIENT_OCSP_URL: &str = "http://127.0.0.1:8889/";

const EXPIRED_CRL: Validity = Validity {
    not_before: (2020, 1, 1),
    not_after: (2020, 1, 8),
};

/// The three authorities.
struct Authorities {
    root: Ca,
    intermediate: Ca,
    untrusted: Ca,
}

/// C=FR, O=the test PKI marker, CN.
fn test_subject(cn: &str) -> Subject {
    vec![
        (DnType::CountryName, "FR".into()),
        (DnType::OrganizationName, ORG.into()),
        (DnType::CommonName, cn.into()),
    ]
}

fn leaf(subject: Subject, key_usages: Vec<Ku>, eku: Eku) -> Leaf {
    Leaf {
        subject,
        validity: VALID,
        key_usages,
        ekus: vec![eku],
        sans: Vec::new(),
        crl_urls: Vec::new(),
        extensions: Vec::new(),
    }
}

fn dns(name: &str) -> Result<SanType, Error> {
    let ia5 = name
        .try_into()
        .map_err(Error::rcgen(format!("the DNS name {name}")))?;
    Ok(SanType::DnsName(ia5))
}

/// Generates the whole PKI into `out`.
pub(crate) fn generate(out: &mut Output) -> Result<(), Error> {
    let mut files = Layout::new(out);
    let cas = authorities(&mut files)?;
    servers(&mut files, &cas.intermediate)?;
    clients_and_revocation(&mut files, &cas)?;
    ocsp_responders(&mut files, &cas)?;
    files.finish()?;
    crate::cps::generate(out)
}

fn authorities(files: &mut Layout<'_>) -> Result<Authorities, Error> {
    let root = Ca::root("the root CA", &test_subject(ROOT_CN))?;
    let intermediate = root.subordinate(
        "the intermediate CA",
        &test_subject(INTERMEDIATE_CN),
        ROOT_CRL_URL,
    )?;
    let untrusted = Ca::root("the untrusted CA", &test_subject(UNTRUSTED_CN))?;
    files.ca("root-ca", &root.cert, true)?;
    files.ca("intermediate-ca", &intermediate.cert, true)?;
    files.ca("untrusted-ca", &untrusted.cert, false)?;
    let bundle = [root.cert.pem.as_str(), &intermediate.cert.pem].concat();
    files.out.write("ca-bundle.pem", bundle)?;
    Ok(Authorities {
        root,
        intermediate,
        untrusted,
    })
}

fn servers(files: &mut Layout<'_>, intermediate: &Ca) -> Result<(), Error> {
    let ku = || vec![Ku::DigitalSignature, Ku::KeyEncipherment];

    let mut server = leaf(test_subject("localhost"), ku(), Eku::ServerAuth);
    server.sans = vec![
        dns("localhost")?,
        SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)),
    ];
    let cert = intermediate.issue("server", server)?;
    files.chain("server", &cert, &intermediate.cert, false)?;

    let wrong_name = "wrong-name.test.invalid";
    let mut server = leaf(test_subject(wrong_name), ku(), Eku::ServerAuth);
    server.sans = vec![dns(wrong_name)?];
    let cert = intermediate.issue("wrong-name-server", server)?;
    files
        .chain("wrong-name-server", &cert, &intermediate.cert, false)
        .map(drop)
}

/// The client certificates, then the CRLs and `index.txt` that describe them.
fn clients_and_revocation(files: &mut Layout<'_>, cas: &Authorities) -> Result<(), Error> {
    let mut index = Vec::new();
    let mut revoked = Vec::new();
    for client in CLIENTS {
        let eku = if client.server_eku_only {
            Eku::ServerAuth
        } else {
            Eku::ClientAuth
        };
        let mut spec = leaf(client.subject(), vec![Ku::DigitalSignature], eku);
        spec.validity = client.validity;
        let issuer = if client.untrusted {
            &cas.untrusted
        } else {
            spec.crl_urls = vec![CLIENT_CRL_URL.to_owned()];
            spec.extensions = vec![der::ocsp_aia(CLIENT_OCSP_URL)];
            &cas.intermediate
        };
        let name = format!("clients/{}", client.name);
        let cert = issuer.issue(&name, spec)?;
        let info = files.chain(&name, &cert, &issuer.cert, true)?;
        if client.revoked {
            revoked.push(cert.serial);
        }
        if !client.untrusted {
            index.push(IndexEntry {
                info,
                revoked: client.revoked,
            });
        }
    }

    let current = CrlSpec {
        what: "crl/intermediate.crl",
        period: VALID,
        crl_number: 1,
        revoked: &revoked,
    };
    let expired = CrlSpec {
        what: "crl/intermediate-expired.crl",
        period: EXPIRED_CRL,
        ..current
    };
    let root = CrlSpec {
        what: "crl/root.crl",
        period: VALID,
        crl_number: 1,
        revoked: &[],
    };
    let crl = revocation::sign_crl(&cas.intermediate, &current)?;
    files.crl(current.what, &crl, true)?;
    let crl = revocation::sign_crl(&cas.intermediate, &expired)?;
    files.crl(expired.what, &crl, false)?;
    let crl = revocation::sign_crl(&cas.root, &root)?;
    files.crl(root.what, &crl, false)?;

    files
        .out
        .write("ocsp/index.txt", revocation::openssl_index(&index))?;
    files
        .out
        .write("ocsp/index.txt.attr", revocation::INDEX_ATTR)
}

/// A delegated responder, one without the OCSPSigning EKU, and one from the untrusted root.
fn ocsp_responders(files: &mut Layout<'_>, cas: &Authorities) -> Result<(), Error> {
    let ku = || vec![Ku::DigitalSignature];

    let cn = "OCSP RESPONDER ACI-EL-ORG-TEST (GATEWAY TEST PKI)";
    let mut responder = leaf(test_subject(cn), ku(), Eku::OcspSigning);
    responder.extensions = vec![der::ocsp_nocheck()];
    let cert = cas.intermediate.issue("ocsp/responder", responder)?;
    files.single("ocsp/responder", &cert)?;

    let cn = "OCSP RESPONDER WITHOUT OCSPSIGNING (GATEWAY TEST PKI)";
    let responder = leaf(test_subject(cn), ku(), Eku::ClientAuth);
    let cert = cas.intermediate.issue("ocsp/responder-no-eku", responder)?;
    files.single("ocsp/responder-no-eku", &cert)?;

    let cn = "OCSP RESPONDER UNTRUSTED (GATEWAY TEST PKI)";
    let responder = leaf(test_subject(cn), ku(), Eku::OcspSigning);
    let cert = cas.untrusted.issue("ocsp/responder-untrusted", responder)?;
    files.single("ocsp/responder-untrusted", &cert)
}
