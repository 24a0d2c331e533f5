//! Checks the checked-in `pki/` against its manifest and against rustls-webpki, the verifier
//! the gateway's TLS stack uses. Fails loudly if the files are stale, edited by hand, or
//! expired (the PKI is valid until 2045; see README.md for the expiry plan).

use std::error::Error;
use std::fs;
use std::path::PathBuf;

use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use serde_json::Value;
use sha2::{Digest, Sha256};
use webpki::{
    BorrowedCertRevocationList, CertRevocationList, EndEntityCert, ExpirationPolicy, KeyUsage,
    RevocationCheckDepth, RevocationOptionsBuilder, anchor_from_trusted_cert,
};
use x509_parser::pem::Pem;

type Result<T = ()> = std::result::Result<T, Box<dyn Error>>;

fn read(rel: &str) -> Result<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("pki")
        .join(rel);
    fs::read(&path).map_err(|e| format!("{}: {e}", path.display()).into())
}

/// The DER blocks of a PEM file, in order.
fn pem_blocks(rel: &str) -> Result<Vec<Vec<u8>>> {
    let text = read(rel)?;
    let mut blocks = Vec::new();
    for pem in Pem::iter_from_buffer(&text) {
        blocks.push(pem?.contents);
    }
    Ok(blocks)
}

/// The first certificate of a PEM file.
fn first_cert(rel: &str) -> Result<CertificateDer<'static>> {
    let der = pem_blocks(rel)?.into_iter().next();
    Ok(CertificateDer::from(
        der.ok_or_else(|| format!("{rel}: no PEM block"))?,
    ))
}

fn manifest() -> Result<Value> {
    Ok(serde_json::from_slice(&read("manifest.json")?)?)
}

fn field<'a>(entry: &'a Value, key: &str) -> Result<&'a str> {
    entry[key]
        .as_str()
        .ok_or_else(|| format!("manifest entry lacks {key}: {entry}").into())
}

fn lower_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn manifest_describes_the_files() -> Result {
    let manifest = manifest()?;
    let certs = manifest["certificates"]
        .as_object()
        .ok_or("no certificates")?;
    assert_eq!(certs.len(), 21, "one entry per certificate");
    let root_end = manifest["certificates"]["root-ca"]["not_after_unix"]
        .as_i64()
        .ok_or("no root not_after_unix")?;
    for (name, entry) in certs {
        let blocks = pem_blocks(field(entry, "path")?)?;
        let der = blocks.first().ok_or_else(|| format!("{name}: empty PEM"))?;
        assert_eq!(
            lower_hex(&Sha256::digest(der)),
            field(entry, "sha256")?,
            "{name}"
        );
        let (_, cert) = x509_parser::parse_x509_certificate(der)?;
        assert_eq!(
            cert.raw_serial_as_string().replace(':', "").to_uppercase(),
            field(entry, "serial")?
        );
        assert_eq!(cert.raw_serial().len(), 16, "{name}: 16-byte serial");
        if let Some(leaf) = entry["leaf_path"].as_str() {
            assert_eq!(blocks.len(), 2, "{name}: chain file is leaf then issuer");
            assert_eq!(pem_blocks(leaf)?, vec![der.clone()], "{name}: leaf file");
        }
        if let Some(cer) = entry["der_path"].as_str() {
            assert_eq!(&read(cer)?, der, "{name}: DER copy");
        }
        let key = String::from_utf8(read(field(entry, "key_path")?)?)?;
        assert!(
            key.starts_with("-----BEGIN PRIVATE KEY-----"),
            "{name}: PKCS#8 key"
        );
        // Everything ends with the root, except the deliberately expired client.
        let end = entry["not_after_unix"]
            .as_i64()
            .ok_or("no not_after_unix")?;
        if name == "clients/expired" {
            assert!(end < root_end, "{name}");
        } else {
            assert_eq!(end, root_end, "{name}");
        }
    }
    let crls = manifest["crls"].as_object().ok_or("no crls")?;
    assert_eq!(crls.len(), 3);
    for (path, entry) in crls {
        assert_eq!(
            lower_hex(&Sha256::digest(read(path)?)),
            field(entry, "sha256")?,
            "{path}"
        );
    }
    let revoked = field(&manifest["certificates"]["clients/revoked"], "serial")?;
    let crl = &manifest["crls"]["crl/intermediate.crl"];
    assert_eq!(crl["revoked_serials"], serde_json::json!([revoked]));
    let index = String::from_utf8(read("ocsp/index.txt")?)?;
    assert_eq!(
        index.lines().count(),
        12,
        "every intermediate-issued client"
    );
    assert!(
        index
            .lines()
            .any(|l| l.starts_with('R') && l.contains(revoked))
    );
    Ok(())
}

/// Trust anchors, intermediate and CRLs as a listener would load them.
struct Trust {
    root: CertificateDer<'static>,
    intermediate: CertificateDer<'static>,
    crl: CertRevocationList<'static>,
    expired_crl: CertRevocationList<'static>,
}

fn trust() -> Result<Trust> {
    let owned = |der: &[u8]| -> Result<CertRevocationList<'static>> {
        Ok(BorrowedCertRevocationList::from_der(der)?
            .to_owned()?
            .into())
    };
    Ok(Trust {
        root: CertificateDer::from(read("root-ca.cer")?),
        intermediate: CertificateDer::from(read("intermediate-ca.cer")?),
        crl: owned(&read("crl/intermediate.crl")?)?,
        expired_crl: owned(&read("crl/intermediate-expired.crl")?)?,
    })
}

/// Verifies `clients/<name>.leaf.pem` (or any leaf file) for `usage` with the leaf-only CRL.
fn verify(
    trust: &Trust,
    leaf: &str,
    usage: KeyUsage,
    crl: &CertRevocationList<'_>,
) -> Result<std::result::Result<(), webpki::Error>> {
    let der = first_cert(leaf)?;
    let anchors = [anchor_from_trusted_cert(&trust.root)?.to_owned()];
    let ee = EndEntityCert::try_from(&der)?;
    let crls = [crl];
    let revocation = RevocationOptionsBuilder::new(&crls)
        .map_err(|_| "no CRL")?
        .with_depth(RevocationCheckDepth::EndEntity)
        .with_expiration_policy(ExpirationPolicy::Enforce)
        .build();
    let result = ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        std::slice::from_ref(&trust.intermediate),
        UnixTime::now(),
        usage,
        Some(revocation),
        None,
    );
    Ok(result.map(drop))
}

#[test]
fn webpki_accepts_and_refuses_as_intended() -> Result {
    let t = trust()?;
    for good in [
        "sas-recette",
        "sas-preproduction",
        "sas-production",
        "wrong-cn",
        "wrong-ou",
        "internal-app",
        "portal",
        "vendor",
    ] {
        let leaf = format!("clients/{good}.leaf.pem");
        assert_eq!(
            verify(&t, &leaf, KeyUsage::client_auth(), &t.crl)?,
            Ok(()),
            "{good}"
        );
    }
    let client = |name: &str, crl| {
        verify(
            &t,
            &format!("clients/{name}.leaf.pem"),
            KeyUsage::client_auth(),
            crl,
        )
    };
    assert!(matches!(
        client("expired", &t.crl)?,
        Err(webpki::Error::CertExpired { .. })
    ));
    assert!(matches!(
        client("not-yet-valid", &t.crl)?,
        Err(webpki::Error::CertNotValidYet { .. })
    ));
    assert_eq!(
        client("untrusted", &t.crl)?,
        Err(webpki::Error::UnknownIssuer)
    );
    assert_eq!(client("revoked", &t.crl)?, Err(webpki::Error::CertRevoked));
    assert!(matches!(
        client("no-client-eku", &t.crl)?,
        Err(webpki::Error::RequiredEkuNotFoundContext(_))
    ));
    assert!(matches!(
        client("sas-recette", &t.expired_crl)?,
        Err(webpki::Error::CrlExpired { .. })
    ));

    assert_eq!(
        verify(&t, "server.pem", KeyUsage::server_auth(), &t.crl)?,
        Ok(())
    );
    let server = first_cert("server.pem")?;
    let server = EndEntityCert::try_from(&server)?;
    for name in ["localhost", "127.0.0.1", "::1"] {
        server.verify_is_valid_for_subject_name(&ServerName::try_from(name)?)?;
    }
    let wrong = first_cert("wrong-name-server.pem")?;
    let wrong = EndEntityCert::try_from(&wrong)?;
    let localhost = ServerName::try_from("localhost")?;
    assert!(wrong.verify_is_valid_for_subject_name(&localhost).is_err());
    Ok(())
}

/// The self-contained CPS part (`cps/`, its own manifest): both cards chain to the CPS test CA
/// for client authentication, and to nothing else.
#[test]
fn cps_cards_chain_to_the_cps_ca() -> Result {
    let manifest: Value = serde_json::from_slice(&read("cps/manifest.json")?)?;
    let certs = manifest["certificates"]
        .as_object()
        .ok_or("no certificates")?;
    assert_eq!(certs.len(), 3, "the CPS CA and two cards");
    for (name, entry) in certs {
        let der = first_cert(field(entry, "path")?)?;
        assert_eq!(
            lower_hex(&Sha256::digest(&der)),
            field(entry, "sha256")?,
            "{name}"
        );
        let key = String::from_utf8(read(field(entry, "key_path")?)?)?;
        assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"), "{name}");
    }
    let cps_root = CertificateDer::from(read("cps/cps-ca.cer")?);
    let cps = [anchor_from_trusted_cert(&cps_root)?.to_owned()];
    let igc_root = CertificateDer::from(read("root-ca.cer")?);
    let igc = [anchor_from_trusted_cert(&igc_root)?.to_owned()];
    for card in ["medecin", "infirmiere"] {
        let der = first_cert(&format!("cps/cards/{card}.leaf.pem"))?;
        let ee = EndEntityCert::try_from(&der)?;
        let verify = |anchors: &[rustls_pki_types::TrustAnchor<'_>], usage| {
            ee.verify_for_usage(
                webpki::ALL_VERIFICATION_ALGS,
                anchors,
                &[],
                UnixTime::now(),
                usage,
                None,
                None,
            )
            .map(drop)
        };
        assert_eq!(verify(&cps, KeyUsage::client_auth()), Ok(()), "{card}");
        assert!(verify(&cps, KeyUsage::server_auth()).is_err(), "{card}");
        assert_eq!(
            verify(&igc, KeyUsage::client_auth()),
            Err(webpki::Error::UnknownIssuer),
            "{card}"
        );
        let entry = &manifest["certificates"][format!("cps/cards/{card}")];
        assert!(field(entry, "cn")?.contains("/"), "{card}: RPPS/name CN");
    }
    Ok(())
}
