//! Appraisal policy: a TOML or JSON file, and the same knobs as CLI flags. Unknown keys are
//! refused so a typo never silently weakens a policy.

use crate::Check;
use crate::error::{Error, Result};
use serde::Deserialize;

/// A number written as an integer or as a string (`"0x30000"`, `"196608"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Num {
    /// Written as an integer.
    Int(u64),
    /// Written as a string, decimal or `0x` hex.
    Str(#[serde(deserialize_with = "de_num_str")] u64),
}

fn de_num_str<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    let s = String::deserialize(d)?;
    let t = s.trim();
    let r = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(h, 16)
    } else {
        t.parse()
    };
    r.map_err(|_| serde::de::Error::custom(format!("'{s}' is not a number")))
}

impl Num {
    /// The number.
    pub fn get(self) -> u64 {
        match self {
            Num::Int(v) | Num::Str(v) => v,
        }
    }
}

/// One value or a list of accepted values.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// A single accepted value.
    One(String),
    /// A list of accepted values.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The accepted values.
    pub fn values(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(|s| s.as_str()).collect(),
        }
    }
}

/// Minimum TCB, by component name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcbMin {
    /// Minimum FMC SPL (Turin only; ignored for other product lines).
    pub fmc: Option<u8>,
    /// Minimum boot loader SPL (also `bl`).
    #[serde(alias = "bl")]
    pub bootloader: Option<u8>,
    /// Minimum TEE SPL.
    pub tee: Option<u8>,
    /// Minimum SNP firmware SPL.
    pub snp: Option<u8>,
    /// Minimum microcode SPL (also `ucode`).
    #[serde(alias = "ucode")]
    pub microcode: Option<u8>,
}

/// SNP reference values and knobs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnpPolicy {
    /// Exact REPORT_DATA (hex, up to 64 bytes, zero-padded).
    pub report_data: Option<String>,
    /// Accepted MEASUREMENT value(s), hex.
    pub measurement: Option<OneOrMany>,
    /// Exact HOST_DATA, hex.
    pub host_data: Option<String>,
    /// Accepted ID_KEY_DIGEST value(s), hex.
    pub id_key_digest: Option<OneOrMany>,
    /// Accepted AUTHOR_KEY_DIGEST value(s), hex.
    pub author_key_digest: Option<OneOrMany>,
    /// Required VMPL (Sakura's guests run at 2).
    pub vmpl: Option<u32>,
    /// Most permissive acceptable guest policy (go-sev-guest `-guest_policy` semantics).
    pub guest_policy: Option<Num>,
    /// Minimum GUEST_SVN.
    pub minimum_guest_svn: Option<u32>,
    /// Minimum REPORTED_TCB, per component.
    pub minimum_tcb: Option<TcbMin>,
    /// Minimum LAUNCH_TCB, per component.
    pub minimum_launch_tcb: Option<TcbMin>,
    /// Minimum current firmware, "major.minor".
    pub minimum_version: Option<String>,
    /// Minimum CURRENT_BUILD of the firmware.
    pub minimum_build: Option<u8>,
    /// Committed firmware older than the running one (provisional) is accepted. Default true.
    pub allow_provisional_firmware: Option<bool>,
    /// "vcek" or "vlek".
    pub signing_key: Option<String>,
    /// Product hint for v2 reports: "milan", "genoa", "turin".
    pub product: Option<String>,
}

/// AWS Nitro reference values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NitroPolicy {
    /// Expected PCRs by index ("0", "1", "2", "3", "4", "8", ...), hex; each optional (PCR4 is
    /// per instance).
    #[serde(default)]
    pub pcrs: std::collections::BTreeMap<String, String>,
    /// Exact `user_data` of the document, hex.
    pub user_data: Option<String>,
    /// Exact `public_key` of the document, hex.
    pub public_key: Option<String>,
    /// Largest accepted age of the document (seconds) relative to the evaluation time.
    pub max_age: Option<u64>,
}

/// Intel TDX reference values and knobs (`[tdx]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TdxPolicy {
    /// Accepted TCB statuses (Intel's names). Default: UpToDate; SWHardeningNeeded,
    /// ConfigurationNeeded and ConfigurationAndSWHardeningNeeded with a warning. Revoked never.
    pub accepted_tcb_statuses: Option<Vec<String>>,
    /// Oldest acceptable tcbDate of the matched TCB level (RFC 3339).
    pub minimum_tcb_date: Option<String>,
    /// Exact REPORTDATA (hex, up to 64 bytes, zero-padded).
    pub report_data: Option<String>,
    /// Accepted MRTD value(s), hex.
    pub mrtd: Option<OneOrMany>,
    /// Accepted RTMR0 value(s), hex.
    pub rtmr0: Option<OneOrMany>,
    /// Accepted RTMR1 value(s), hex.
    pub rtmr1: Option<OneOrMany>,
    /// Accepted RTMR2 value(s), hex.
    pub rtmr2: Option<OneOrMany>,
    /// Accepted RTMR3 value(s), hex.
    pub rtmr3: Option<OneOrMany>,
    /// Accepted MRCONFIGID value(s), hex.
    pub mrconfigid: Option<OneOrMany>,
    /// Accepted MROWNER value(s), hex.
    pub mrowner: Option<OneOrMany>,
    /// Accepted MROWNERCONFIG value(s), hex.
    pub mrownerconfig: Option<OneOrMany>,
    /// Accepted MRSEAM value(s), hex.
    pub mrseam: Option<OneOrMany>,
    /// Require TDATTRIBUTES.SEPT_VE_DISABLE (default false).
    pub require_sept_ve_disable: Option<bool>,
}

/// Intel SGX reference values and knobs (`[sgx]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SgxPolicy {
    /// Accepted TCB statuses, as for TDX.
    pub accepted_tcb_statuses: Option<Vec<String>>,
    /// Oldest acceptable tcbDate of the matched TCB level (RFC 3339).
    pub minimum_tcb_date: Option<String>,
    /// Exact REPORTDATA (hex, up to 64 bytes, zero-padded).
    pub report_data: Option<String>,
    /// Accepted MRENCLAVE value(s), hex.
    pub mrenclave: Option<OneOrMany>,
    /// Accepted MRSIGNER value(s), hex.
    pub mrsigner: Option<OneOrMany>,
    /// Required ISVPRODID.
    pub isv_prod_id: Option<u16>,
    /// Minimum ISVSVN.
    pub minimum_isv_svn: Option<u16>,
}

/// `nitro-cli build-enclave`'s `expected-measurements.json`.
#[derive(Debug, Deserialize)]
struct NitroCliMeasurements {
    #[serde(rename = "Measurements")]
    measurements: std::collections::BTreeMap<String, String>,
}

/// A whole policy file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Accept debug-enabled guests (default false).
    pub allow_debug: Option<bool>,
    /// A CRL must be supplied and checked (default false).
    pub require_crl: Option<bool>,
    /// Expected nonce (hex); report data must carry it.
    pub nonce: Option<String>,
    /// `[snp]`: AMD SEV-SNP reference values and knobs.
    #[serde(default)]
    pub snp: SnpPolicy,
    /// `[nitro]`: AWS Nitro reference values.
    #[serde(default)]
    pub nitro: NitroPolicy,
    /// `[tdx]`: Intel TDX reference values and knobs.
    #[serde(default)]
    pub tdx: TdxPolicy,
    /// `[sgx]`: Intel SGX reference values and knobs.
    #[serde(default)]
    pub sgx: SgxPolicy,
    /// `[eventlog]`: measured-boot requirements.
    #[serde(default)]
    pub eventlog: EventlogPolicy,
    /// `[azure]`: Azure vTPM requirements.
    #[serde(default)]
    pub azure: AzurePolicy,
}

/// A `vm-configuration` value of the Azure runtime claims (`true`, `"..."`, a number).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ConfigValue {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A string.
    Str(String),
}

/// Azure confidential VMs with a vTPM (`[azure]`): PCRs of the vTPM quote, the runtime claims'
/// `vm-configuration`, freshness. The hardware report is appraised by `[snp]` or `[tdx]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AzurePolicy {
    /// PCR indices the quote must cover. Default: all 24 (0..=23).
    pub required_pcrs: Option<Vec<u32>>,
    /// The bank of `required_pcrs` and `pcrs` ("sha256", default; "sha1", "sha384").
    pub pcr_bank: Option<String>,
    /// Reference values by PCR index ("7" = "hex" or a list of accepted values).
    #[serde(default)]
    pub pcrs: std::collections::BTreeMap<String, OneOrMany>,
    /// Required `vm-configuration` members, e.g. `secure-boot = true`, `console-enabled = false`.
    #[serde(default)]
    pub vm_configuration: std::collections::BTreeMap<String, ConfigValue>,
    /// Refuse evidence whose freshness is "none" (a boot-time report without a quote).
    pub require_freshness: Option<bool>,
    /// Expected HCL `user-data` (hex, up to 64 bytes, zero-padded).
    pub user_data: Option<String>,
}

/// Measured-boot requirements (`[eventlog]`), appraised on what replayed event logs say about
/// registers a verified quote vouches for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventlogPolicy {
    /// Secure boot must be reported enabled by a vouched SecureBoot variable.
    pub require_secure_boot: Option<bool>,
    /// Accepted kernel command line(s), exact text.
    pub kernel_cmdline: Option<OneOrMany>,
    /// Accepted boot-application digests (hex, any bank); every vouched boot application must be one.
    pub allowed_boot_applications: Option<Vec<String>>,
    /// Expected replayed-and-vouched RTMR values by RTMR index ("0".."3").
    #[serde(default)]
    pub rtmr: std::collections::BTreeMap<String, OneOrMany>,
    /// Expected replayed-and-vouched PCR values by bank ("sha256") and index ("7").
    #[serde(default)]
    pub pcrs: std::collections::BTreeMap<String, std::collections::BTreeMap<String, OneOrMany>>,
}

impl EventlogPolicy {
    /// Whether any requirement is set.
    pub(crate) fn is_active(&self) -> bool {
        *self != EventlogPolicy::default()
    }
}

impl Policy {
    /// Parses TOML or JSON (JSON when the first non-blank character is `{`).
    pub fn parse(name: &str, text: &str) -> Result<Self> {
        let bad = |e: String| Error::usage(Check::Policy, format!("{name}: {e}"));
        if text.trim_start().starts_with('{') {
            if let Ok(m) = serde_json::from_str::<NitroCliMeasurements>(text) {
                return Self::from_nitro_cli(name, m);
            }
            serde_json::from_str(text).map_err(|e| bad(format!("invalid JSON policy: {e}")))
        } else {
            toml::from_str(text).map_err(|e| bad(format!("invalid TOML policy: {}", e.message())))
        }
    }
}

impl Policy {
    fn from_nitro_cli(name: &str, m: NitroCliMeasurements) -> Result<Self> {
        let mut p = Policy::default();
        for (k, v) in m.measurements {
            if k == "HashAlgorithm" {
                if !v.to_ascii_lowercase().starts_with("sha384") {
                    return Err(Error::usage(Check::Policy, format!("{name}: HashAlgorithm '{v}' is not Sha384")));
                }
                continue;
            }
            let idx = k
                .strip_prefix("PCR")
                .and_then(|i| i.parse::<u8>().ok())
                .filter(|i| *i < 32)
                .ok_or_else(|| Error::usage(Check::Policy, format!("{name}: unknown measurement '{k}'")))?;
            p.nitro.pcrs.insert(idx.to_string(), v);
        }
        Ok(p)
    }
}

/// Decodes hex of at most `max` bytes (whitespace and a 0x prefix allowed).
pub fn parse_hex(field: &'static str, s: &str, max: usize) -> Result<Vec<u8>> {
    let t: String = s.trim().trim_start_matches("0x").chars().filter(|c| !c.is_whitespace()).collect();
    let v = hex::decode(&t).map_err(|e| Error::usage(Check::Policy, format!("{field} '{s}' is not hex: {e}")))?;
    if v.len() > max {
        return Err(Error::usage(Check::Policy, format!("{field} is {} bytes, at most {max} allowed", v.len())));
    }
    Ok(v)
}

/// Pads to 64 bytes with zeros (report data convention).
pub fn pad64(v: &[u8]) -> [u8; 64] {
    let mut out = [0u8; 64];
    out[..v.len().min(64)].copy_from_slice(&v[..v.len().min(64)]);
    out
}
