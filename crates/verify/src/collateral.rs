//! Collateral handed to a verifier: certificates and CRLs, already parsed, whatever their source
//! (evidence cert table, `--collateral` files, the cache, or roots shipped by a registry crate).

use crate::error::{Error, Result};
use crate::x509::{Certificate, Crl, PkiObject, read_objects};

#[derive(Debug, Clone, Default)]
pub struct Collateral {
    pub certs: Vec<Certificate>,
    pub crls: Vec<Crl>,
    /// Where each item came from, for messages (parallel to nothing; free text).
    pub sources: Vec<String>,
}

impl Collateral {
    /// Adds every certificate and CRL found in a DER or PEM file's bytes.
    pub fn add_file(&mut self, name: &str, bytes: &[u8]) -> Result<usize> {
        let objects = read_objects(bytes).map_err(|e| Error::collateral("collateral", format!("{name}: {e}")))?;
        let n = objects.len();
        for o in objects {
            self.add(o);
        }
        self.sources.push(name.to_string());
        Ok(n)
    }

    pub fn add(&mut self, o: PkiObject) {
        match o {
            PkiObject::Certificate(c) => {
                if !self.certs.iter().any(|x| x.sha256 == c.sha256) {
                    self.certs.push(*c)
                }
            }
            PkiObject::Crl(c) => {
                if !self.crls.iter().any(|x| x.sha256 == c.sha256) {
                    self.crls.push(*c)
                }
            }
        }
    }

    pub fn merge(&mut self, other: &Collateral) {
        for c in &other.certs {
            self.add(PkiObject::Certificate(Box::new(c.clone())));
        }
        for c in &other.crls {
            self.add(PkiObject::Crl(Box::new(c.clone())));
        }
        self.sources.extend(other.sources.iter().cloned());
    }
}
