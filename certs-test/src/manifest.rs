//! `manifest.json`: what tests assert against (names, serials, dates, fingerprints), so that
//! regenerating the PKI (new keys, new random serials) needs no test edits.

use serde_json::{Map, Value, json};

use crate::error::Error;
use crate::inspect::{CertInfo, CrlInfo, Name};

/// Where one certificate was written, relative to the output directory.
pub(crate) struct CertFiles<'a> {
    /// The PEM file (for leaves issued by a CA: the leaf followed by its issuer).
    pub(crate) pem: &'a str,
    /// The PEM file holding the leaf alone, when `pem` is a chain.
    pub(crate) leaf_pem: Option<&'a str>,
    /// The DER copy (`.cer`), for the CAs.
    pub(crate) der: Option<&'a str>,
    /// The PKCS#8 private key.
    pub(crate) key: &'a str,
}

/// The manifest being assembled.
#[derive(Default)]
pub(crate) struct Manifest {
    certificates: Map<String, Value>,
    crls: Map<String, Value>,
}

fn name_json(name: &Name) -> Value {
    let mut fields = Map::new();
    for (k, v) in name.attributes() {
        fields.insert(k.to_owned(), Value::from(v));
    }
    Value::Object(fields)
}

impl Manifest {
    /// Records a certificate under `name` (its path without extension, e.g. `clients/sas-recette`).
    pub(crate) fn certificate(&mut self, name: &str, files: &CertFiles<'_>, info: &CertInfo) {
        let entry = json!({
            "path": files.pem,
            "leaf_path": files.leaf_pem,
            "der_path": files.der,
            "key_path": files.key,
            "subject": info.subject.rfc4514(),
            "subject_openssl": info.subject.openssl(),
            "subject_fields": name_json(&info.subject),
            "cn": info.subject.get("CN"),
            "ou": info.subject.get("OU"),
            "o": info.subject.get("O"),
            "issuer": info.issuer.rfc4514(),
            "issuer_openssl": info.issuer.openssl(),
            "serial": info.serial,
            "not_before": info.not_before.rfc3339(),
            "not_after": info.not_after.rfc3339(),
            "not_before_unix": info.not_before.unix,
            "not_after_unix": info.not_after.unix,
            "sha256": info.sha256,
        });
        self.certificates.insert(name.to_owned(), entry);
    }

    /// Records a CRL under its path.
    pub(crate) fn crl(&mut self, path: &str, pem_path: Option<&str>, info: &CrlInfo) {
        let entry = json!({
            "path": path,
            "pem_path": pem_path,
            "issuer": info.issuer.rfc4514(),
            "issuer_openssl": info.issuer.openssl(),
            "crl_number": info.crl_number,
            "this_update": info.this_update.rfc3339(),
            "next_update": info.next_update.as_ref().map(|t| t.rfc3339()),
            "next_update_unix": info.next_update.as_ref().map(|t| t.unix),
            "revoked_serials": info.revoked,
            "sha256": info.sha256,
        });
        self.crls.insert(path.to_owned(), entry);
    }

    /// The manifest as pretty-printed JSON with a trailing newline.
    pub(crate) fn to_json(&self) -> Result<String, Error> {
        let doc = json!({
            "about": "GATEWAY TEST PKI - test-only keys, never real IGC Sante material. \
                      Regenerate with `cargo run -p certs-test`; see certs-test/README.md.",
            "certificates": self.certificates,
            "crls": self.crls,
        });
        let mut text = serde_json::to_string_pretty(&doc)?;
        text.push('\n');
        Ok(text)
    }
}
