//! Every check a verification, an appraisal or the CLI can fail, as one closed set.
//!
//! A failure names its check with a [`Check`]; its text ([`Check::as_str`]) is the documented name
//! that the JSON output, the EAR results and the exit-code table use (`snp.vek`,
//! `policy.reference_value`, ...). Code decides by variant, never by the text: the names may be
//! read by people and by other tools, but nothing in cloud-ra parses them back except
//! [`Check::from_str`](std::str::FromStr), which accepts exactly the names listed here.

/// Defines [`Check`] with its variants and their documented names.
macro_rules! checks {
    ($($v:ident = $s:literal,)*) => {
        /// A named check: the step of verification, appraisal or invocation that failed.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Check {
            $(
                #[doc = concat!("`", $s, "`")]
                $v,
            )*
        }

        impl Check {
            /// Every check, in the order of their names.
            pub(crate) const ALL: &'static [Check] = &[$(Check::$v,)*];

            /// The documented name of this check (stable: output, EAR results and tests use it).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Check::$v => $s,)*
                }
            }
        }
    };
}

checks! {
    AdminTokenFile = "admin_token_file",
    Attest = "attest",
    AzureAk = "azure.ak",
    AzureBinding = "azure.binding",
    AzureCerts = "azure.certs",
    AzureEvidence = "azure.evidence",
    AzureFreshness = "azure.freshness",
    AzureHclReport = "azure.hcl_report",
    AzurePlatform = "azure.platform",
    AzureRuntimeClaims = "azure.runtime_claims",
    AzureTdQuote = "azure.td_quote",
    AzureThim = "azure.thim",
    AzureTpmQuote = "azure.tpm_quote",
    AzureUserData = "azure.user_data",
    Bundle = "bundle",
    Collateral = "collateral",
    CollateralCache = "collateral.cache",
    CollateralConfig = "collateral.config",
    CollateralFetch = "collateral.fetch",
    CollateralNeeds = "collateral.needs",
    CollateralOffline = "collateral.offline",
    Compare = "compare",
    Config = "config",
    DcapCollateral = "dcap.collateral",
    DcapPckChain = "dcap.pck_chain",
    DcapPckCrl = "dcap.pck_crl",
    DcapPckExtensions = "dcap.pck_extensions",
    DcapQeIdentity = "dcap.qe_identity",
    DcapQeReport = "dcap.qe_report",
    DcapQeReportData = "dcap.qe_report_data",
    DcapQuote = "dcap.quote",
    DcapQuoteSignature = "dcap.quote_signature",
    DcapRootCrl = "dcap.root_crl",
    DcapTcbInfo = "dcap.tcb_info",
    DcapTcbLevel = "dcap.tcb_level",
    DcapTdxModule = "dcap.tdx_module",
    Demo = "demo",
    Detect = "detect",
    EarNonce = "ear.nonce",
    EarProfile = "ear.profile",
    EarStatus = "ear.status",
    EarSubmods = "ear.submods",
    Eventlog = "eventlog",
    EventlogBinding = "eventlog.binding",
    EventlogCcelTable = "eventlog.ccel_table",
    EventlogDigest = "eventlog.digest",
    EventlogFindings = "eventlog.findings",
    EventlogFormat = "eventlog.format",
    EventlogProfile = "eventlog.profile",
    EventlogReplay = "eventlog.replay",
    EventlogRtmr3 = "eventlog.rtmr3",
    EventlogSecureBoot = "eventlog.secure_boot",
    EventlogSeparator = "eventlog.separator",
    EventlogUnverified = "eventlog.unverified",
    EventlogVariable = "eventlog.variable",
    FreshReport = "fresh-report",
    GceFreshness = "gce.freshness",
    GceTeeAttestation = "gce.tee_attestation",
    GotpmFormat = "gotpm.format",
    Imds = "imds",
    Input = "input",
    Jwk = "jwk",
    Jwks = "jwks",
    JwtAlg = "jwt.alg",
    JwtClaims = "jwt.claims",
    JwtCrit = "jwt.crit",
    JwtExp = "jwt.exp",
    JwtFormat = "jwt.format",
    JwtIat = "jwt.iat",
    JwtIss = "jwt.iss",
    JwtJku = "jwt.jku",
    JwtKid = "jwt.kid",
    JwtNbf = "jwt.nbf",
    JwtNonce = "jwt.nonce",
    JwtSignature = "jwt.signature",
    Listen = "listen",
    Maa = "maa",
    MeasureEif = "measure.eif",
    MeasureEndorsement = "measure.endorsement",
    MeasureInput = "measure.input",
    MeasureOvmf = "measure.ovmf",
    MeasureSvsm = "measure.svsm",
    NitroAlg = "nitro.alg",
    NitroChain = "nitro.chain",
    NitroFormat = "nitro.format",
    NitroRequest = "nitro.request",
    NitroRoot = "nitro.root",
    NitroServe = "nitro.serve",
    NitroSignature = "nitro.signature",
    NitroTimestamp = "nitro.timestamp",
    Nonce = "nonce",
    Output = "output",
    Pcrs = "pcrs",
    Policy = "policy",
    PolicyDebug = "policy.debug",
    PolicyEventlog = "policy.eventlog",
    PolicyEventlogBootApplications = "policy.eventlog.boot_applications",
    PolicyEventlogKernelCmdline = "policy.eventlog.kernel_cmdline",
    PolicyEventlogPcrs = "policy.eventlog.pcrs",
    PolicyEventlogRtmr = "policy.eventlog.rtmr",
    PolicyEventlogSecureBoot = "policy.eventlog.secure_boot",
    PolicyFirmware = "policy.firmware",
    PolicyFreshness = "policy.freshness",
    PolicyGuestPolicy = "policy.guest_policy",
    PolicyGuestSvn = "policy.guest_svn",
    PolicyIsvSvn = "policy.isv_svn",
    PolicyMaxAge = "policy.max_age",
    PolicyMinimumLaunchTcb = "policy.minimum_launch_tcb",
    PolicyMinimumTcb = "policy.minimum_tcb",
    PolicyNonce = "policy.nonce",
    PolicyPcrs = "policy.pcrs",
    PolicyPublicKey = "policy.public_key",
    PolicyReferenceValue = "policy.reference_value",
    PolicyReportData = "policy.report_data",
    PolicySigningKey = "policy.signing_key",
    PolicyTcb = "policy.tcb",
    PolicyTcbDate = "policy.tcb_date",
    PolicyTcbStatus = "policy.tcb_status",
    PolicyTdAttributes = "policy.td_attributes",
    PolicyUserData = "policy.user_data",
    PolicyVmConfiguration = "policy.vm_configuration",
    PolicyVmpl = "policy.vmpl",
    Result = "result",
    Serve = "serve",
    SnpArk = "snp.ark",
    SnpCertTable = "snp.cert_table",
    SnpChain = "snp.chain",
    SnpCrl = "snp.crl",
    SnpFormat = "snp.format",
    SnpProduct = "snp.product",
    SnpSignature = "snp.signature",
    SnpSigner = "snp.signer",
    SnpVek = "snp.vek",
    SnpVekCspId = "snp.vek_csp_id",
    SnpVekExtensions = "snp.vek_extensions",
    SnpVekHwid = "snp.vek_hwid",
    SnpVekProduct = "snp.vek_product",
    SnpVekTcb = "snp.vek_tcb",
    Survey = "survey",
    Time = "time",
    Tpm = "tpm",
    TpmAk = "tpm.ak",
    TpmAkCert = "tpm.ak_cert",
    TpmFormat = "tpm.format",
    TpmMagic = "tpm.magic",
    TpmNonce = "tpm.nonce",
    TpmPcrs = "tpm.pcrs",
    TpmQuote = "tpm.quote",
    TpmSignature = "tpm.signature",
    TpmType = "tpm.type",
    Verifier = "verifier",
    VerifierNewSession = "verifier.newSession",
    VerifierNonce = "verifier.nonce",
    VerifierSubmit = "verifier.submit",
    VerifierCa = "verifier_ca",
}

impl Check {
    /// An appraisal of measured code against reference values: a launch measurement, MRTD or RTMR,
    /// PCRs, or what a replayed event log says was booted. The AR4SI `executables` claim of an EAR
    /// result reports these.
    pub const fn is_measurement(self) -> bool {
        matches!(
            self,
            Check::PolicyReferenceValue
                | Check::PolicyPcrs
                | Check::PolicyEventlogPcrs
                | Check::PolicyEventlogRtmr
                | Check::PolicyEventlogBootApplications
                | Check::PolicyEventlogKernelCmdline
        )
    }
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the documented checks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown check '{0}'")]
pub struct UnknownCheck(pub String);

impl std::str::FromStr for Check {
    type Err = UnknownCheck;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Check::ALL.iter().copied().find(|c| c.as_str() == s).ok_or_else(|| UnknownCheck(s.to_string()))
    }
}

impl serde::Serialize for Check {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Check {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Comparing with a documented name (exact, never a substring): for relying parties and tests
/// that hold the name as text.
impl PartialEq<&str> for Check {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for Check {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

#[cfg(test)]
mod tests {
    use super::Check;

    #[test]
    fn names_are_unique_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for c in Check::ALL {
            assert!(seen.insert(c.as_str()), "duplicate check name {}", c.as_str());
            assert_eq!(c.as_str().parse::<Check>(), Ok(*c));
            assert_eq!(serde_json::to_value(c).unwrap(), serde_json::json!(c.as_str()));
        }
        assert!("snp.ve".parse::<Check>().is_err(), "a prefix is not a check");
        assert!("SNP.VEK".parse::<Check>().is_err(), "names are exact");
    }

    #[test]
    fn measurement_checks() {
        assert!(Check::PolicyReferenceValue.is_measurement());
        assert!(Check::PolicyPcrs.is_measurement());
        assert!(!Check::PolicyDebug.is_measurement());
        assert!(!Check::SnpVek.is_measurement());
    }
}
