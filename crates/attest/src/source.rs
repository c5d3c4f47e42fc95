//! Where `attest` collects from: a guest interface of this machine, or one of its simulations.
//! One closed set, parsed once from the `--platform` argument; the collection code matches on it.

use cloud_ra_verify::Platform;

/// An attester source (`attest --platform NAME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Source {
    /// Detect the interface under the machine's root.
    Auto,
    /// SEV-SNP: configfs-tsm (`sev_guest`), else `/dev/sev-guest`.
    Snp,
    /// TDX: configfs-tsm (`tdx_guest`).
    Tdx,
    /// AWS Nitro Enclaves: `/dev/nsm`.
    Nitro,
    /// Azure SEV-SNP confidential VM: the vTPM (HCL report, AK quote).
    AzureSnp,
    /// Azure TDX confidential VM: the vTPM and the TD quote from the IMDS.
    AzureTdx,
    /// SIMULATED SEV-SNP device with a VCEK chain (like GCP).
    SimSnp,
    /// SIMULATED SEV-SNP device signing with a VLEK (like AWS).
    SimSnpVlek,
    /// SIMULATED SEV-SNP guest at VMPL 2 without host certificates (like Sakura).
    SimSnpVmpl2,
    /// SIMULATED SEV-SNP through a simulated configfs-tsm.
    SimSnpTsm,
    /// SIMULATED TDX v4 quote through a simulated configfs-tsm.
    SimTdx,
    /// SIMULATED SGX v3 quote.
    SimSgx,
    /// SIMULATED Nitro Secure Module.
    SimNitro,
}

impl Source {
    /// Every source, in the order `--help` lists them.
    pub const ALL: &'static [Source] = &[
        Source::Auto,
        Source::Snp,
        Source::Tdx,
        Source::Nitro,
        Source::AzureSnp,
        Source::AzureTdx,
        Source::SimSnp,
        Source::SimSnpVlek,
        Source::SimSnpVmpl2,
        Source::SimSnpTsm,
        Source::SimTdx,
        Source::SimSgx,
        Source::SimNitro,
    ];

    /// The name `--platform` takes.
    pub const fn as_str(self) -> &'static str {
        match self {
            Source::Auto => "auto",
            Source::Snp => "snp",
            Source::Tdx => "tdx",
            Source::Nitro => "nitro",
            Source::AzureSnp => "azure-snp",
            Source::AzureTdx => "azure-tdx",
            Source::SimSnp => "sim-snp",
            Source::SimSnpVlek => "sim-snp-vlek",
            Source::SimSnpVmpl2 => "sim-snp-vmpl2",
            Source::SimSnpTsm => "sim-snp-tsm",
            Source::SimTdx => "sim-tdx",
            Source::SimSgx => "sim-sgx",
            Source::SimNitro => "sim-nitro",
        }
    }

    /// The source named `name`, if any.
    pub fn parse(name: &str) -> Option<Source> {
        Source::ALL.iter().copied().find(|s| s.as_str() == name)
    }

    /// Every name, comma-separated (for messages).
    pub fn names() -> String {
        Source::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// The platform of the evidence this source yields (`None` for `auto` before detection).
    pub const fn platform(self) -> Option<Platform> {
        Some(match self {
            Source::Auto => return None,
            Source::Snp | Source::SimSnp | Source::SimSnpVlek | Source::SimSnpVmpl2 | Source::SimSnpTsm => {
                Platform::Snp
            }
            Source::Tdx | Source::SimTdx => Platform::Tdx,
            Source::SimSgx => Platform::Sgx,
            Source::Nitro | Source::SimNitro => Platform::Nitro,
            Source::AzureSnp => Platform::AzureSnpVtpm,
            Source::AzureTdx => Platform::AzureTdxVtpm,
        })
    }

    /// A simulation, trusted by `verify` only with `--trust-simulated`.
    pub const fn is_simulated(self) -> bool {
        matches!(
            self,
            Source::SimSnp
                | Source::SimSnpVlek
                | Source::SimSnpVmpl2
                | Source::SimSnpTsm
                | Source::SimTdx
                | Source::SimSgx
                | Source::SimNitro
        )
    }

    /// Collected through a vTPM, whose quote's qualifying data holds at most 32 bytes everywhere.
    pub fn is_vtpm(self) -> bool {
        self.platform().is_some_and(Platform::is_vtpm)
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Source;
    use cloud_ra_verify::Platform;

    #[test]
    fn names_round_trip_and_platforms() {
        for s in Source::ALL {
            assert_eq!(Source::parse(s.as_str()), Some(*s));
        }
        assert_eq!(Source::parse("mars"), None);
        assert_eq!(Source::AzureTdx.platform(), Some(Platform::AzureTdxVtpm));
        assert!(Source::AzureSnp.is_vtpm() && !Source::SimSnp.is_vtpm());
        assert!(Source::SimSgx.is_simulated() && !Source::Snp.is_simulated());
        assert_eq!(Source::Auto.platform(), None);
    }
}
