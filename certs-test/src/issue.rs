//! Keys, serials and certificate issuance on top of rcgen.

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, CrlDistributionPoint, CustomExtension,
    DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    PKCS_RSA_SHA256, RsaKeySize, SanType, SerialNumber, date_time_ymd,
};

use crate::error::Error;

/// A calendar day at 00:00:00Z, as (year, month, day).
pub(crate) type Day = (i32, u8, u8);

/// A certificate's validity period, from midnight UTC to midnight UTC.
#[derive(Clone, Copy)]
pub(crate) struct Validity {
    pub(crate) not_before: Day,
    pub(crate) not_after: Day,
}

/// The validity of everything that is not deliberately out of date.
pub(crate) const VALID: Validity = Validity {
    not_before: (2025, 1, 1),
    not_after: (2045, 1, 1),
};

/// A subject distinguished name, attributes in the order they are encoded.
pub(crate) type Subject = Vec<(DnType, String)>;

/// A certificate as written to disk, with its private key.
pub(crate) struct Issued {
    pub(crate) der: Vec<u8>,
    pub(crate) pem: String,
    /// PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub(crate) key_pem: String,
    pub(crate) serial: SerialNumber,
}

/// A certificate authority: its certificate and what rcgen needs to sign with it.
pub(crate) struct Ca {
    pub(crate) cert: Issued,
    pub(crate) issuer: Issuer<'static, KeyPair>,
}

/// What varies between end-entity certificates.
pub(crate) struct Leaf {
    pub(crate) subject: Subject,
    pub(crate) validity: Validity,
    pub(crate) key_usages: Vec<KeyUsagePurpose>,
    pub(crate) ekus: Vec<ExtendedKeyUsagePurpose>,
    pub(crate) sans: Vec<SanType>,
    pub(crate) crl_urls: Vec<String>,
    pub(crate) extensions: Vec<CustomExtension>,
}

/// A freshly generated RSA 2048 key (IGC Santé keys are RSA).
fn rsa_key(what: &str) -> Result<KeyPair, Error> {
    KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048)
        .map_err(Error::rcgen(format!("the RSA key of {what}")))
}

/// A random positive serial of exactly 16 bytes.
fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    // A clear top bit keeps the INTEGER positive without a 0x00 pad; a non-zero first
    // byte keeps it 16 bytes long.
    bytes[0] = (bytes[0] & 0x7f).max(1);
    SerialNumber::from_slice(&bytes)
}

/// Parameters common to every certificate: names, validity, serial, key identifiers.
fn base_params(subject: &Subject, validity: Validity, serial: &SerialNumber) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    for (ty, value) in subject {
        dn.push(ty.clone(), value.as_str());
    }
    params.distinguished_name = dn;
    let (y, m, d) = validity.not_before;
    params.not_before = date_time_ymd(y, m, d);
    let (y, m, d) = validity.not_after;
    params.not_after = date_time_ymd(y, m, d);
    params.serial_number = Some(serial.clone());
    params
}

fn issued(cert: &Certificate, key: &KeyPair, serial: SerialNumber) -> Issued {
    Issued {
        der: cert.der().to_vec(),
        pem: cert.pem(),
        key_pem: key.serialize_pem(),
        serial,
    }
}

// === impl Ca ===

impl Ca {
    /// A self-signed root (CA:true without path length, keyCertSign + cRLSign).
    pub(crate) fn root(what: &str, subject: &Subject) -> Result<Self, Error> {
        let key = rsa_key(what)?;
        let serial = random_serial();
        let mut params = base_params(subject, VALID, &serial);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).map_err(Error::rcgen(what))?;
        let cert = issued(&cert, &key, serial);
        Ok(Self {
            cert,
            issuer: Issuer::new(params, key),
        })
    }

    /// A subordinate CA issued by `self` (CA:true, pathlen 0, keyCertSign + cRLSign).
    pub(crate) fn subordinate(
        &self,
        what: &str,
        subject: &Subject,
        crl_url: &str,
    ) -> Result<Self, Error> {
        let key = rsa_key(what)?;
        let serial = random_serial();
        let mut params = base_params(subject, VALID, &serial);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.use_authority_key_identifier_extension = true;
        params.crl_distribution_points = vec![CrlDistributionPoint {
            uris: vec![crl_url.to_owned()],
        }];
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(Error::rcgen(what))?;
        let cert = issued(&cert, &key, serial);
        Ok(Self {
            cert,
            issuer: Issuer::new(params, key),
        })
    }

    /// An end-entity certificate (CA:false) with a new key.
    pub(crate) fn issue(&self, what: &str, leaf: Leaf) -> Result<Issued, Error> {
        let key = rsa_key(what)?;
        let serial = random_serial();
        let mut params = base_params(&leaf.subject, leaf.validity, &serial);
        // ExplicitNoCa writes basicConstraints CA:false and a subject key identifier.
        params.is_ca = IsCa::ExplicitNoCa;
        params.use_authority_key_identifier_extension = true;
        params.key_usages = leaf.key_usages;
        params.extended_key_usages = leaf.ekus;
        params.subject_alt_names = leaf.sans;
        params.crl_distribution_points = leaf
            .crl_urls
            .into_iter()
            .map(|url| CrlDistributionPoint { uris: vec![url] })
            .collect();
        params.custom_extensions = leaf.extensions;
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(Error::rcgen(what))?;
        Ok(issued(&cert, &key, serial))
    }
}
