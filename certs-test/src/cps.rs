//! The CPS test hierarchy under `cps/`: a self-signed "CPS" test CA and the authentication
//! certificates of two practitioners' cards, as a CPS agent hands them out (seed 003).
//!
//! It is self-contained (its own CA, its own `cps/manifest.json`) so that it can be generated
//! on its own (`--only cps`) without touching the rest of `pki/`, whose fingerprints other
//! tests pin.

use rcgen::{DnType, ExtendedKeyUsagePurpose as Eku, KeyUsagePurpose as Ku};

use crate::error::Error;
use crate::issue::{Ca, Leaf, Subject, VALID};
use crate::layout::Layout;
use crate::output::Output;

/// One practitioner's card, written as `cps/cards/<name>.{pem,leaf.pem,key}`.
struct Card {
    name: &'static str,
    /// `<RPPS number>/<NAME> <Given name>`, as the CN of a CPS authentication certificate.
    cn: &'static str,
    /// The practitioner's national identifier (RPPS, test range 8997…).
    ou: &'static str,
    o: &'static str,
}

const CARDS: &[Card] = &[
    Card {
        name: "medecin",
        cn: "899700000017/MEDECIN0001 Jean (TEST)",
        ou: "899700000017",
        o: "CABINET DR MEDECIN0001 (TEST)",
    },
    Card {
        name: "infirmiere",
        cn: "899700000025/INFIRMIERE0002 Marie (TEST)",
        ou: "899700000025",
        o: "CABINET INFIRMIER0002 (TEST)",
    },
];

const CA_CN: &str = "AC CPS TEST (GATEWAY TEST PKI)";
const ORG: &str = "TEST PKI - NOT IGC SANTE";

/// Generates `cps/` into `out`: the CA, the cards, and `cps/manifest.json`.
pub(crate) fn generate(out: &mut Output) -> Result<(), Error> {
    let mut files = Layout::new(out);
    let subject: Subject = vec![
        (DnType::CountryName, "FR".into()),
        (DnType::OrganizationName, ORG.into()),
        (DnType::CommonName, CA_CN.into()),
    ];
    let ca = Ca::root("the CPS test CA", &subject)?;
    files.ca("cps/cps-ca", &ca.cert, true)?;
    for card in CARDS {
        let name = format!("cps/cards/{}", card.name);
        let spec = Leaf {
            subject: vec![
                (DnType::CountryName, "FR".into()),
                (DnType::OrganizationName, card.o.into()),
                (DnType::OrganizationalUnitName, card.ou.into()),
                (DnType::CommonName, card.cn.into()),
            ],
            validity: VALID,
            // A card's authentication key signs (the TLS CertificateVerify), nothing else.
            key_usages: vec![Ku::DigitalSignature],
            ekus: vec![Eku::ClientAuth],
            sans: Vec::new(),
            crl_urls: Vec::new(),
            extensions: Vec::new(),
        };
        let cert = ca.issue(&name, spec)?;
        files.chain(&name, &cert, &ca.cert, true)?;
    }
    files.finish_as("cps/manifest.json")
}
