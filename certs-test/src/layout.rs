//! File layout: which files each certificate or CRL becomes, recorded in the manifest as
//! they are written.

use rcgen::CertificateRevocationList;

use crate::error::Error;
use crate::inspect::{self, CertInfo};
use crate::issue::Issued;
use crate::manifest::{CertFiles, Manifest};
use crate::output::Output;

/// Writes certificates and CRLs under their names and records them in the manifest.
pub(crate) struct Layout<'o> {
    pub(crate) out: &'o mut Output,
    manifest: Manifest,
}

impl<'o> Layout<'o> {
    pub(crate) fn new(out: &'o mut Output) -> Self {
        Self {
            out,
            manifest: Manifest::default(),
        }
    }

    /// A CA: `<name>.pem`, `<name>.cer` (DER) if `der`, and `<name>.key`.
    pub(crate) fn ca(&mut self, name: &str, cert: &Issued, der: bool) -> Result<(), Error> {
        let pem = format!("{name}.pem");
        let cer = format!("{name}.cer");
        let key = format!("{name}.key");
        self.out.write(&pem, &cert.pem)?;
        if der {
            self.out.write(&cer, &cert.der)?;
        }
        self.out.write(&key, &cert.key_pem)?;
        let files = CertFiles {
            pem: &pem,
            leaf_pem: None,
            der: der.then_some(cer.as_str()),
            key: &key,
        };
        self.record(name, &files, cert).map(drop)
    }

    /// A leaf as a peer presents it: `<name>.pem` = leaf then issuer, `<name>.key`, and
    /// `<name>.leaf.pem` (the leaf alone) if `leaf_file`.
    pub(crate) fn chain(
        &mut self,
        name: &str,
        cert: &Issued,
        issuer: &Issued,
        leaf_file: bool,
    ) -> Result<CertInfo, Error> {
        let pem = format!("{name}.pem");
        let leaf_pem = format!("{name}.leaf.pem");
        let key = format!("{name}.key");
        self.out
            .write(&pem, [cert.pem.as_str(), &issuer.pem].concat())?;
        if leaf_file {
            self.out.write(&leaf_pem, &cert.pem)?;
        }
        self.out.write(&key, &cert.key_pem)?;
        let files = CertFiles {
            pem: &pem,
            leaf_pem: leaf_file.then_some(leaf_pem.as_str()),
            der: None,
            key: &key,
        };
        self.record(name, &files, cert)
    }

    /// A lone certificate: `<name>.pem` (no chain) and `<name>.key`.
    pub(crate) fn single(&mut self, name: &str, cert: &Issued) -> Result<(), Error> {
        let pem = format!("{name}.pem");
        let key = format!("{name}.key");
        self.out.write(&pem, &cert.pem)?;
        self.out.write(&key, &cert.key_pem)?;
        let files = CertFiles {
            pem: &pem,
            leaf_pem: None,
            der: None,
            key: &key,
        };
        self.record(name, &files, cert).map(drop)
    }

    fn record(
        &mut self,
        name: &str,
        files: &CertFiles<'_>,
        cert: &Issued,
    ) -> Result<CertInfo, Error> {
        let info = inspect::certificate(name, &cert.der)?;
        self.manifest.certificate(name, files, &info);
        Ok(info)
    }

    /// A CRL: DER at `path`, plus PEM at `<path>.pem` if `pem`.
    pub(crate) fn crl(
        &mut self,
        path: &str,
        crl: &CertificateRevocationList,
        pem: bool,
    ) -> Result<(), Error> {
        self.out.write(path, crl.der())?;
        let pem_path = format!("{path}.pem");
        if pem {
            let text = crl.pem().map_err(Error::rcgen(pem_path.as_str()))?;
            self.out.write(&pem_path, text)?;
        }
        let info = inspect::crl(path, crl.der())?;
        self.manifest
            .crl(path, pem.then_some(pem_path.as_str()), &info);
        Ok(())
    }

    /// Writes `manifest.json`, describing everything recorded so far.
    pub(crate) fn finish(self) -> Result<(), Error> {
        self.finish_as("manifest.json")
    }

    /// Writes the manifest of what was recorded to `rel` (a self-contained part such as
    /// `cps/` has its own).
    pub(crate) fn finish_as(self, rel: &str) -> Result<(), Error> {
        let json = self.manifest.to_json()?;
        self.out.write(rel, json)
    }
}
