//! The client certificates of `clients/`: the SAS platform's three identities, the
//! negative cases (most reuse the recette names so only one property differs), and the
//! project's own callers.

use rcgen::DnType;

use crate::issue::{Subject, VALID, Validity};

/// One client certificate, written as `clients/<name>.{pem,leaf.pem,key}`.
pub(crate) struct Client {
    pub(crate) name: &'static str,
    cn: &'static str,
    ou: &'static str,
    o: &'static str,
    pub(crate) validity: Validity,
    /// Issued by `untrusted-ca` instead of the intermediate.
    pub(crate) untrusted: bool,
    /// serverAuth as the only EKU, instead of clientAuth.
    pub(crate) server_eku_only: bool,
    /// Listed in `crl/intermediate.crl` and `R` in `ocsp/index.txt`.
    pub(crate) revoked: bool,
}

const RECETTE_O: &str = "CABINET MLLE DENTISTE0023419 (TEST)";

const EXPIRED: Validity = Validity {
    not_before: (2020, 1, 1),
    not_after: (2021, 1, 1),
};

/// Starts well after the PKI was generated (2026) and stays in the future for years.
const NOT_YET_VALID: Validity = Validity {
    not_before: (2040, 1, 1),
    not_after: (2045, 1, 1),
};

/// The SAS recette identity (seed 002), which the negative cases reuse.
const fn recette(name: &'static str) -> Client {
    Client {
        name,
        cn: "sas-agregateur-recette",
        ou: "499700234190004",
        o: RECETTE_O,
        validity: VALID,
        untrusted: false,
        server_eku_only: false,
        revoked: false,
    }
}

const fn named(name: &'static str, cn: &'static str, ou: &'static str, o: &'static str) -> Client {
    Client {
        cn,
        ou,
        o,
        ..recette(name)
    }
}

/// Every client certificate, in the order they are written and listed in `index.txt`.
pub(crate) const CLIENTS: &[Client] = &[
    recette("sas-recette"),
    named(
        "sas-preproduction",
        "sas-aggregator-preproduction",
        "499700343942006",
        "CABINET M. MASSEUR0034394 (TEST)",
    ),
    named(
        "sas-production",
        "sas-aggregator-production",
        "318751275100020",
        "AGENCE DES SYSTEMES D'INFORMATION PARTAG (TEST)",
    ),
    named(
        "wrong-cn",
        "sas-agregateur-recette-evil",
        "499700234190004",
        RECETTE_O,
    ),
    named(
        "wrong-ou",
        "sas-agregateur-recette",
        "000000000000000",
        RECETTE_O,
    ),
    Client {
        validity: EXPIRED,
        ..recette("expired")
    },
    Client {
        validity: NOT_YET_VALID,
        ..recette("not-yet-valid")
    },
    Client {
        revoked: true,
        ..recette("revoked")
    },
    Client {
        untrusted: true,
        ..recette("untrusted")
    },
    Client {
        server_eku_only: true,
        ..recette("no-client-eku")
    },
    // An internal application calling over REST.
    named(
        "internal-app",
        "internal-app.test",
        "INTERNAL-TEST",
        "VENDOR (TEST)",
    ),
    named(
        "portal",
        "portal-whitelabel.test",
        "PARTNER-TEST",
        "PORTAIL MARQUE BLANCHE (TEST)",
    ),
    // The vendor's own outbound identity towards SAS.
    named(
        "vendor",
        "vendor-gateway.test",
        "VENDOR-TEST",
        "EDITEUR (TEST)",
    ),
];

impl Client {
    /// C=FR, ST=Paris (75), O, OU, CN, in that order (as IGC Santé organisation certificates).
    pub(crate) fn subject(&self) -> Subject {
        vec![
            (DnType::CountryName, "FR".into()),
            (DnType::StateOrProvinceName, "Paris (75)".into()),
            (DnType::OrganizationName, self.o.into()),
            (DnType::OrganizationalUnitName, self.ou.into()),
            (DnType::CommonName, self.cn.into()),
        ]
    }
}
