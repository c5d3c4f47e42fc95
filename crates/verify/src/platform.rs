//! The platforms cloud-ra verifies, as one type from detection to the result. Their names
//! ([`Platform::as_str`]) are what bundles, outcomes, EAR submodules and the service's paths
//! carry; code compares variants, never the names.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The kind of evidence, and so which verifier appraises it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Platform {
    /// AMD SEV-SNP attestation report (`snp`).
    Snp,
    /// Intel TDX quote (`tdx`).
    Tdx,
    /// Intel SGX quote (`sgx`).
    Sgx,
    /// AWS Nitro Enclaves attestation document (`nitro`).
    Nitro,
    /// Azure confidential VM on SEV-SNP: HCL report and vTPM (`azure-snp-vtpm`).
    AzureSnpVtpm,
    /// Azure confidential VM on TDX: HCL report, TD quote and vTPM (`azure-tdx-vtpm`).
    AzureTdxVtpm,
    /// Azure vTPM evidence whose hardware is not known yet (`azure-vtpm`; refusals only).
    AzureVtpm,
    /// Google Compute Engine vTPM attestation, go-tpm-tools format (`gce-vtpm`).
    GceVtpm,
    /// Input that is not recognised evidence (`unknown`; refusals only).
    Unknown,
}

impl Platform {
    /// Every platform a bundle may name (those a verifier appraises).
    pub(crate) const EVIDENCE: &'static [Platform] = &[
        Platform::Snp,
        Platform::Nitro,
        Platform::Tdx,
        Platform::Sgx,
        Platform::AzureSnpVtpm,
        Platform::AzureTdxVtpm,
        Platform::GceVtpm,
    ];

    /// The platform's name in bundles, outcomes and EAR results.
    pub const fn as_str(self) -> &'static str {
        match self {
            Platform::Snp => "snp",
            Platform::Tdx => "tdx",
            Platform::Sgx => "sgx",
            Platform::Nitro => "nitro",
            Platform::AzureSnpVtpm => "azure-snp-vtpm",
            Platform::AzureTdxVtpm => "azure-tdx-vtpm",
            Platform::AzureVtpm => "azure-vtpm",
            Platform::GceVtpm => "gce-vtpm",
            Platform::Unknown => "unknown",
        }
    }

    /// The platform a bundle names, if it is one cloud-ra verifies.
    pub fn from_evidence_name(name: &str) -> Option<Platform> {
        Platform::EVIDENCE.iter().copied().find(|p| p.as_str() == name)
    }

    /// Evidence quoted by a (virtual) TPM: the event log replays against PCRs.
    pub const fn is_vtpm(self) -> bool {
        matches!(self, Platform::AzureSnpVtpm | Platform::AzureTdxVtpm | Platform::AzureVtpm | Platform::GceVtpm)
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Platform {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Platform {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        match s.as_ref() {
            "azure-vtpm" => Ok(Platform::AzureVtpm),
            "unknown" => Ok(Platform::Unknown),
            n => Platform::from_evidence_name(n)
                .ok_or_else(|| serde::de::Error::custom(format!("unknown platform '{n}'"))),
        }
    }
}

/// Comparing with a platform name (exact): for tests and relying parties holding the text.
impl PartialEq<&str> for Platform {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::Platform;

    #[test]
    fn names_round_trip() {
        for p in Platform::EVIDENCE {
            assert_eq!(Platform::from_evidence_name(p.as_str()), Some(*p));
            let j = serde_json::to_value(p).unwrap();
            assert_eq!(serde_json::from_value::<Platform>(j).unwrap(), *p);
        }
        assert_eq!(Platform::from_evidence_name("azure-vtpm"), None, "not a bundle platform");
        assert_eq!(Platform::from_evidence_name("SNP"), None);
        assert!(Platform::GceVtpm.is_vtpm() && !Platform::Tdx.is_vtpm());
    }
}
