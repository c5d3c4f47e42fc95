//! Collateral handed to a verifier: certificates and CRLs, already parsed, whatever their source
//! (evidence cert table, `--collateral` files, the cache, or roots shipped by a registry crate).

use crate::Check;
use crate::error::{Error, Result};
use crate::x509::{Certificate, Crl, PkiObject, Seen, read_new_objects};

/// Certificates, CRLs and Intel DCAP documents for a verifier, deduplicated by content.
#[derive(Debug, Clone, Default)]
pub struct Collateral {
    /// Certificates, each once (by SHA-256 of the DER).
    pub certs: Vec<Certificate>,
    /// CRLs, each once (by SHA-256 of the DER).
    pub crls: Vec<Crl>,
    /// Where each item came from, for messages (parallel to nothing; free text).
    pub sources: Vec<String>,
    /// Intel DCAP documents (TCB info, QE identity), signatures not yet checked.
    pub dcap: Vec<crate::dcap::collateral::DcapItem>,
}

impl Collateral {
    /// Adds every certificate and CRL found in a DER or PEM file's bytes (or the documents,
    /// certificates and CRLs of a DCAP collateral JSON file); returns how many it read.
    /// Certificates and CRLs already held, byte for byte, are skipped before parsing (uncounted).
    pub fn add_file(&mut self, name: &str, bytes: &[u8]) -> Result<usize> {
        let mut seen = Seen {
            certs: self.certs.iter().map(|c| c.sha256).collect(),
            crls: self.crls.iter().map(|c| c.sha256).collect(),
        };
        // JSON: Intel PCS/PCCS TCB info or enclave identity, or a dcap-qvl collateral file.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            let f = crate::dcap::collateral::parse_json_new(name, bytes, &mut seen)?;
            let n = f.items.len() + f.pki.len();
            for o in f.pki {
                self.add(o);
            }
            for d in f.items {
                self.add_dcap(d);
            }
            self.sources.push(name.to_string());
            return Ok(n);
        }
        let objects = read_new_objects(bytes, &mut seen)
            .map_err(|e| Error::collateral(Check::Collateral, format!("{name}: {e}")))?;
        let n = objects.len();
        for o in objects {
            self.add(o);
        }
        self.sources.push(name.to_string());
        Ok(n)
    }

    pub(crate) fn add(&mut self, o: PkiObject) {
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

    pub(crate) fn add_dcap(&mut self, d: crate::dcap::collateral::DcapItem) {
        if !self.dcap.iter().any(|x| x.digest() == d.digest()) {
            self.dcap.push(d)
        }
    }

    /// [`merge`](Self::merge) taking `other` by value: its items are moved, not copied.
    pub fn absorb(&mut self, other: Collateral) {
        for d in other.dcap {
            self.add_dcap(d);
        }
        for c in other.certs {
            self.add(PkiObject::Certificate(Box::new(c)));
        }
        for c in other.crls {
            self.add(PkiObject::Crl(Box::new(c)));
        }
        self.sources.extend(other.sources);
    }

    /// Adds everything `other` holds that this collateral does not hold yet.
    pub fn merge(&mut self, other: &Collateral) {
        for d in &other.dcap {
            self.add_dcap(d.clone());
        }
        for c in &other.certs {
            self.add(PkiObject::Certificate(Box::new(c.clone())));
        }
        for c in &other.crls {
            self.add(PkiObject::Crl(Box::new(c.clone())));
        }
        self.sources.extend(other.sources.iter().cloned());
    }
}
