//! A test-only TSA: a PKI made with rcgen at test time, `openssl ts -reply` as
//! the TSA (Debian's OpenSSL 3 CLI), `openssl ts -verify` as a second opinion,
//! and `openssl cms -sign -cades` to sign TSTInfos with certificates that
//! `openssl ts` refuses to sign with (no time-stamping EKU).
//!
//! The tests fail, not skip, when `openssl` is missing: a silently skipped
//! interoperability test is worse than none.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::Command;

use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SignatureAlgorithm,
};
use rustls_pki_types::{CertificateDer, UnixTime};
use tempfile::TempDir;

/// The policies the test TSA knows: its default and one other it accepts.
pub const DEFAULT_POLICY: &str = "1.2.3.4.1";
pub const OTHER_POLICY: &str = "1.2.3.4.5";
/// The TSA's serial file holds this; `openssl ts` increments it before use.
pub const SERIAL_FILE: &str = "7F3A5C";
pub const FIRST_SERIAL: [u8; 3] = [0x7f, 0x3a, 0x5d];

/// Runs `openssl` in `dir`; panics with its stderr if it fails and with a
/// clear message if it is not installed.
pub fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "cannot run `openssl` ({error}): these tests need the OpenSSL 3 command line \
                 tool as the test TSA (Debian/Ubuntu: apt-get install openssl)"
            )
        });
    assert!(
        output.status.success(),
        "openssl {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// A certificate with its key, as files for openssl and DER for the verifier.
pub struct Cert {
    pub name: String,
    pub pem: PathBuf,
    pub key: PathBuf,
    pub der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

/// How a leaf's extendedKeyUsage looks.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Eku {
    /// `critical, timeStamping`: a proper TSA certificate.
    TimeStamping,
    /// No extendedKeyUsage extension at all.
    Absent,
    /// `timeStamping`, not critical.
    NonCritical,
}

/// The test PKI and TSA configuration in one temporary directory.
pub struct Tsa {
    pub dir: TempDir,
    pub ca: Cert,
    pub config: PathBuf,
}

impl Tsa {
    /// A P-256 root CA and an openssl ts config file.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let ca = ca(dir.path(), "ca", &rcgen::PKCS_ECDSA_P256_SHA256, None);
        let config = dir.path().join("ts.cnf");
        std::fs::write(&config, config_text(dir.path())).expect("write config");
        std::fs::write(dir.path().join("serial"), format!("{SERIAL_FILE}\n")).expect("serial");
        Self { dir, ca, config }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Another CA, under `parent` (an intermediate) or self-signed.
    pub fn ca(&self, name: &str, parent: Option<&Cert>) -> Cert {
        ca(
            self.dir.path(),
            name,
            &rcgen::PKCS_ECDSA_P256_SHA256,
            parent,
        )
    }

    /// The usual TSA: a P-256 leaf `tsa` of this PKI's root with the critical timeStamping EKU.
    pub fn time_stamping_leaf(&self) -> Cert {
        self.leaf(
            "tsa",
            &self.ca,
            &rcgen::PKCS_ECDSA_P256_SHA256,
            Eku::TimeStamping,
            false,
        )
    }

    /// A leaf issued by `issuer`, valid from a day ago for a year unless
    /// `expired` (then it ended yesterday).
    pub fn leaf(
        &self,
        name: &str,
        issuer: &Cert,
        alg: &'static SignatureAlgorithm,
        eku: Eku,
        expired: bool,
    ) -> Cert {
        let mut params = params(name);
        let now = time::OffsetDateTime::now_utc();
        if expired {
            params.not_before = now - time::Duration::days(30);
            params.not_after = now - time::Duration::days(1);
        } else {
            params.not_before = now - time::Duration::days(1);
            params.not_after = now + time::Duration::days(365);
        }
        match eku {
            Eku::TimeStamping => {
                // rcgen writes its EKU non-critical, so build the extension
                // by hand: SEQUENCE { id-kp-timeStamping }.
                let value = vec![
                    0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08,
                ];
                let mut extension = CustomExtension::from_oid_content(&[2, 5, 29, 37], value);
                extension.set_criticality(true);
                params.custom_extensions.push(extension);
            }
            Eku::NonCritical => {
                params.extended_key_usages = vec![ExtendedKeyUsagePurpose::TimeStamping]
            }
            Eku::Absent => {}
        }
        let key = KeyPair::generate_for(alg).expect("key generation");
        let cert = params.signed_by(&key, &issuer.issuer).expect("sign leaf");
        write(
            self.dir.path(),
            name,
            cert.pem(),
            key,
            cert.der().clone(),
            params,
        )
    }

    /// Runs `openssl ts -reply` for `request` as `signer`, including `chain`
    /// in the token, with the config section `section` (`tsa_default` or
    /// `tsa_v1`). Returns the DER TimeStampResp.
    pub fn reply(&self, request: &[u8], signer: &Cert, chain: &[&Cert], section: &str) -> Vec<u8> {
        let dir = self.dir.path();
        std::fs::write(dir.join("req.der"), request).expect("write request");
        let mut args = vec![
            "ts",
            "-reply",
            "-config",
            "ts.cnf",
            "-section",
            section,
            "-queryfile",
            "req.der",
            "-out",
            "resp.der",
        ];
        let (key, pem) = (signer.key.to_string_lossy(), signer.pem.to_string_lossy());
        args.extend(["-inkey", &key, "-signer", &pem]);
        let chain_file = dir.join("chain.pem");
        if !chain.is_empty() {
            let text: String = chain
                .iter()
                .map(|cert| std::fs::read_to_string(&cert.pem).expect("read chain"))
                .collect();
            std::fs::write(&chain_file, text).expect("write chain");
            args.extend(["-chain", "chain.pem"]);
        }
        openssl(dir, &args);
        std::fs::read(dir.join("resp.der")).expect("read response")
    }

    /// `openssl ts -verify` of `response` against `request`, trusting only
    /// this PKI's root. Returns whether it said "Verification: OK".
    pub fn openssl_verifies(&self, request: &[u8], response: &[u8], untrusted: &[&Cert]) -> bool {
        let dir = self.dir.path();
        std::fs::write(dir.join("check-req.der"), request).expect("write request");
        std::fs::write(dir.join("check-resp.der"), response).expect("write response");
        let text: String = untrusted
            .iter()
            .map(|cert| std::fs::read_to_string(&cert.pem).expect("read untrusted"))
            .collect();
        std::fs::write(dir.join("untrusted.pem"), text).expect("write untrusted");
        let output = Command::new("openssl")
            .args([
                "ts",
                "-verify",
                "-in",
                "check-resp.der",
                "-queryfile",
                "check-req.der",
            ])
            .args([
                "-CAfile",
                &self.ca.pem.to_string_lossy(),
                "-untrusted",
                "untrusted.pem",
            ])
            .current_dir(dir)
            .output()
            .expect("openssl runs (checked by the first call)");
        output.status.success()
            && String::from_utf8_lossy(&output.stdout).contains("Verification: OK")
    }

    /// The TimeStampToken inside a response, extracted by openssl.
    pub fn openssl_token(&self, response: &[u8]) -> Vec<u8> {
        let dir = self.dir.path();
        std::fs::write(dir.join("extract.der"), response).expect("write response");
        openssl(
            dir,
            &[
                "ts",
                "-reply",
                "-in",
                "extract.der",
                "-token_out",
                "-out",
                "token.der",
            ],
        );
        std::fs::read(dir.join("token.der")).expect("read token")
    }

    /// A granted TimeStampResp whose token is `tst_info` signed by `signer`
    /// with `openssl cms -sign -cades` (content-type, message-digest,
    /// signing-time and ESS signingCertificateV2 attributes).
    pub fn cms_response(&self, tst_info: &[u8], signer: &Cert) -> Vec<u8> {
        let dir = self.dir.path();
        std::fs::write(dir.join("tstinfo.der"), tst_info).expect("write TSTInfo");
        let (key, pem) = (signer.key.to_string_lossy(), signer.pem.to_string_lossy());
        openssl(
            dir,
            &[
                "cms",
                "-sign",
                "-binary",
                "-nodetach",
                "-cades",
                "-nosmimecap",
                "-md",
                "sha256",
                "-econtent_type",
                "1.2.840.113549.1.9.16.1.4",
                "-in",
                "tstinfo.der",
                "-inkey",
                &key,
                "-signer",
                &pem,
                "-outform",
                "DER",
                "-out",
                "cms.der",
            ],
        );
        let token = std::fs::read(dir.join("cms.der")).expect("read token");
        granted(&token)
    }
}

/// `TimeStampResp { status { granted }, token }`.
pub fn granted(token: &[u8]) -> Vec<u8> {
    use der::Encode;
    let content = [&[0x30, 0x03, 0x02, 0x01, 0x00][..], token].concat();
    der::asn1::AnyRef::new(der::Tag::Sequence, &content)
        .expect("length")
        .to_der()
        .expect("encodes")
}

/// The TSTInfo (eContent) of a granted response.
pub fn tst_info(response: &[u8]) -> Vec<u8> {
    use der::Decode;
    let token = der::asn1::AnyRef::from_der(response).expect("response");
    let mut reader = der::SliceReader::new(token.value()).expect("contents");
    let _status: der::asn1::AnyRef<'_> = der::Reader::decode(&mut reader).expect("status");
    let token: cms::content_info::ContentInfo = der::Reader::decode(&mut reader).expect("token");
    let signed: cms::signed_data::SignedData = token.content.decode_as().expect("SignedData");
    let content = signed.encap_content_info.econtent.expect("eContent");
    content.value().to_vec()
}

/// Replaces the only occurrence of `from` in `bytes` with `to`.
pub fn replace_once(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let positions: Vec<usize> = bytes
        .windows(from.len())
        .enumerate()
        .filter(|(_, window)| *window == from)
        .map(|(position, _)| position)
        .collect();
    assert_eq!(positions.len(), 1, "pattern {from:02x?} must occur once");
    let mut out = bytes.to_vec();
    out[positions[0]..positions[0] + to.len()].copy_from_slice(to);
    out
}

pub fn now() -> UnixTime {
    UnixTime::now()
}

fn params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "tsp tests");
    params
}

fn ca(dir: &Path, name: &str, alg: &'static SignatureAlgorithm, parent: Option<&Cert>) -> Cert {
    let mut params = params(name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(2);
    params.not_after = now + time::Duration::days(3650);
    let key = KeyPair::generate_for(alg).expect("key generation");
    let cert = match parent {
        Some(parent) => params.signed_by(&key, &parent.issuer),
        None => params.self_signed(&key),
    }
    .expect("sign CA");
    write(dir, name, cert.pem(), key, cert.der().clone(), params)
}

fn write(
    dir: &Path,
    name: &str,
    pem: String,
    key: KeyPair,
    der: CertificateDer<'static>,
    params: CertificateParams,
) -> Cert {
    let (pem_path, key_path) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&pem_path, pem).expect("write certificate");
    std::fs::write(&key_path, key.serialize_pem()).expect("write key");
    Cert {
        name: name.to_owned(),
        pem: pem_path,
        key: key_path,
        der,
        issuer: Issuer::new(params, key),
    }
}

/// Two TSA sections: `tsa_default` signs with SHA-256, sends ESSCertIDv2
/// (SHA-256), whole seconds and its name; `tsa_v1` signs with SHA-512, sends
/// the version 1 ESSCertID (SHA-1), a genTime with milliseconds and no name.
fn config_text(dir: &Path) -> String {
    let common = format!(
        "dir = {}\nserial = $dir/serial\ncrypto_device = builtin\n\
         default_policy = {DEFAULT_POLICY}\nother_policies = {OTHER_POLICY}\n\
         digests = sha256, sha512\naccuracy = secs:1, millisecs:500, microsecs:100\n\
         ordering = yes\ness_cert_id_chain = no\n",
        dir.display()
    );
    format!(
        "[ tsa ]\ndefault_tsa = tsa_default\n\n\
         [ tsa_default ]\n{common}signer_digest = sha256\nclock_precision_digits = 0\ntsa_name = yes\ness_cert_id_alg = sha256\n\n\
         [ tsa_v1 ]\n{common}signer_digest = sha512\nclock_precision_digits = 3\ntsa_name = no\ness_cert_id_alg = sha1\n"
    )
}
