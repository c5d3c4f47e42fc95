//! `detect` and `survey`: what this machine is, read from a root directory (normally `/`; a fixture
//! tree in tests) without dmesg. Every fact carries where it was read and how far it can be
//! trusted: signed by the CPU (an SNP report, a TDX quote), CPUID (controlled by the hypervisor,
//! the TDX module or a paravisor), the guest OS (files under /sys, /proc, /dev), the vTPM, or the
//! operator (cloud console settings, an experiment's observations).

use crate::configfs_tsm::{ConfigfsTsm, DEFAULT_ROOT, TsmRequest};
use crate::sev_guest::{DevSevGuest, ReportReq, SevGuest, SevGuestError, report_from_resp};
use crate::tdx_guest::{DevTdxGuest, TdReport, TdxGuest};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The survey file format this cloud-ra writes and reads.
pub const SURVEY_FORMAT: &str = "cloud-ra/survey/v1";
const SURVEY_PREFIX: &str = "cloud-ra/survey/v";
pub const SURVEY_VERSION: u32 = 1;

/// The EFI global variable GUID (SecureBoot, SetupMode).
pub const EFI_GLOBAL_GUID: &str = "8be4df61-93ca-11d2-aa0d-00e098032b8c";

/// The TEE a survey found (its `tee` fact), strongest evidence first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Tee {
    /// AMD SEV-SNP (`sev-snp`).
    SevSnp,
    /// Intel TDX (`tdx`).
    Tdx,
    /// AWS Nitro Enclaves (`nitro-enclave`).
    NitroEnclave,
    /// Intel SGX enclaves can run here (`sgx`).
    Sgx,
    /// AMD SEV without SNP (`sev`).
    Sev,
    /// A confidential VM whose TEE is hidden (`unknown`, Azure behind a paravisor).
    Unknown,
    /// No confidential-computing interface (`none`).
    None,
}

/// Hyper-V's isolation type (CPUID 0x40000003 EBX[22] and 0x4000000C EBX[3:0]), as the survey
/// fact `hyperv.isolation` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HvIsolation {
    None,
    Vbs,
    Snp,
    Tdx,
    Unknown,
}

impl HvIsolation {
    const ALL: [HvIsolation; 5] =
        [HvIsolation::None, HvIsolation::Vbs, HvIsolation::Snp, HvIsolation::Tdx, HvIsolation::Unknown];

    fn of(isolated: bool, itype: u32) -> Self {
        match (isolated, itype) {
            (false, _) => HvIsolation::None,
            (true, 1) => HvIsolation::Vbs,
            (true, 2) => HvIsolation::Snp,
            (true, 3) => HvIsolation::Tdx,
            (true, _) => HvIsolation::Unknown,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            HvIsolation::None => "none",
            HvIsolation::Vbs => "vbs",
            HvIsolation::Snp => "snp",
            HvIsolation::Tdx => "tdx",
            HvIsolation::Unknown => "unknown",
        }
    }

    /// The TEE a recorded `hyperv.isolation` fact names (SNP or TDX behind the paravisor).
    fn tee_of(fact: &str) -> Option<Tee> {
        match HvIsolation::ALL.into_iter().find(|i| i.as_str() == fact)? {
            HvIsolation::Snp => Some(Tee::SevSnp),
            HvIsolation::Tdx => Some(Tee::Tdx),
            _ => None,
        }
    }
}

impl Tee {
    const ALL: &'static [Tee] =
        &[Tee::SevSnp, Tee::Tdx, Tee::NitroEnclave, Tee::Sgx, Tee::Sev, Tee::Unknown, Tee::None];

    /// The value of the `tee` fact.
    pub const fn as_str(self) -> &'static str {
        match self {
            Tee::SevSnp => "sev-snp",
            Tee::Tdx => "tdx",
            Tee::NitroEnclave => "nitro-enclave",
            Tee::Sgx => "sgx",
            Tee::Sev => "sev",
            Tee::Unknown => "unknown",
            Tee::None => "none",
        }
    }

    /// The TEE a `tee` fact names (surveys of other versions may name others: `None` then).
    pub fn parse(name: &str) -> Option<Tee> {
        Tee::ALL.iter().copied().find(|t| t.as_str() == name)
    }

    /// Its name for people (table headings).
    pub const fn title(self) -> &'static str {
        match self {
            Tee::SevSnp => "AMD SEV-SNP",
            Tee::Tdx => "Intel TDX",
            Tee::NitroEnclave => "AWS Nitro Enclaves",
            Tee::Sgx => "Intel SGX",
            Tee::Sev => "AMD SEV",
            Tee::Unknown => "unknown",
            Tee::None => "none",
        }
    }
}

/// How far a fact can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trust {
    /// Read from evidence the CPU signed (SNP report, TDX quote): verifiable remotely.
    CpuSigned,
    /// CPUID as the guest sees it: the hypervisor, TDX module or paravisor decides what it says.
    Cpuid,
    /// Read from the vTPM (trustworthy only as far as the vTPM is rooted in the TEE).
    Tpm,
    /// Read from files the guest kernel exposes: only as good as the guest OS.
    GuestOs,
    /// Stated by the operator (cloud console settings, observations across reboots).
    Operator,
}

impl Trust {
    pub fn label(self) -> &'static str {
        match self {
            Trust::CpuSigned => "cpu-signed",
            Trust::Cpuid => "cpuid",
            Trust::Tpm => "tpm",
            Trust::GuestOs => "guest-os",
            Trust::Operator => "operator",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fact {
    pub value: Value,
    /// Where it was read ("/sys/class/dmi/id/sys_vendor", "SNP report (VMPL field, offset 0x30)").
    pub source: String,
    pub trust: Trust,
}

/// One attestation interface and whether it worked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interface {
    /// sev-guest | configfs-tsm | tdx-guest | tpm | nsm | sgx
    pub name: String,
    pub path: String,
    pub present: bool,
    /// `Some(true)` when a request succeeded, `Some(false)` when it failed, `None` when not tried.
    pub usable: Option<bool>,
    pub detail: String,
}

/// A survey of one machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Survey {
    pub format: String,
    /// A label for the machine (`--label`; default: the detected cloud and TEE).
    pub machine: String,
    /// e.g. `initial`, `after-setup`, `after-reboot` (the talk's persistent-key experiment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collected_at: Option<String>,
    /// The root directory the facts were read under.
    pub root: String,
    /// Where the file came from when not from `cloud-ra survey` on the machine (fixtures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<String>,
    pub interfaces: Vec<Interface>,
    pub facts: BTreeMap<String, Fact>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SurveyError {
    #[error("{file}: not a cloud-ra survey: {detail}")]
    NotASurvey { file: String, detail: String },
    #[error(
        "{file}: survey format '{format}' (version {version}) is newer than this cloud-ra reads ({SURVEY_FORMAT}); upgrade cloud-ra"
    )]
    Newer { file: String, format: String, version: u32 },
    #[error("{file}: survey format '{format}' is not supported (this cloud-ra reads {SURVEY_FORMAT})")]
    Unsupported { file: String, format: String },
}

impl Survey {
    pub fn parse(source: &str, bytes: &[u8]) -> Result<Survey, SurveyError> {
        let not = |detail: String| SurveyError::NotASurvey { file: source.into(), detail };
        let v: Value = serde_json::from_slice(bytes).map_err(|e| not(format!("not JSON: {e}")))?;
        let format =
            v.get("format").and_then(Value::as_str).ok_or_else(|| not("no \"format\" string".into()))?.to_string();
        if format != SURVEY_FORMAT {
            if let Some(n) = format.strip_prefix(SURVEY_PREFIX).and_then(|n| n.parse::<u32>().ok())
                && n > SURVEY_VERSION
            {
                return Err(SurveyError::Newer { file: source.into(), format, version: n });
            }
            return Err(SurveyError::Unsupported { file: source.into(), format });
        }
        serde_json::from_value(v).map_err(|e| not(e.to_string()))
    }

    pub fn fact(&self, key: &str) -> Option<&Value> {
        self.facts.get(key).map(|f| &f.value)
    }

    fn set(&mut self, key: &str, value: Value, source: impl Into<String>, trust: Trust) {
        self.facts.insert(key.into(), Fact { value, source: source.into(), trust });
    }
}

/// A persistent TPM object, as the TPM probe classifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersistentHandle {
    pub handle: u32,
    /// `EK-RSA`, `EK-ECC`, `AK-RSA`, `unknown-RSA`, ...
    pub kind: String,
}

/// What `survey` asks the vTPM (the CLI wires it to [`crate::TpmClient`]); without a probe,
/// survey reports only the device nodes.
pub trait TpmProbe {
    fn persistent_handles(&self) -> Result<Vec<PersistentHandle>, String>;
    /// NV indexes defined (0x01400001 HCL report, 0x01400002 user data, 0x01C101D0 AK certificate, ...).
    fn nv_indexes(&self) -> Result<Vec<u32>, String>;
}

/// What to survey and through which devices. Devices left `None` are opened under `root`.
pub struct Probe<'a> {
    pub root: PathBuf,
    pub sev_guest: Option<Box<dyn SevGuest>>,
    pub tdx_guest: Option<Box<dyn TdxGuest>>,
    pub tsm: Option<ConfigfsTsm>,
    pub tpm: Option<&'a dyn TpmProbe>,
    /// Ask the interfaces for a report (VMPL, report version, signing key, TCB).
    pub request_report: bool,
    /// Read CPUID (only meaningful when `root` is this machine's `/`).
    pub cpuid: bool,
}

impl<'a> Probe<'a> {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let cpuid = root == Path::new("/");
        Probe { root, sev_guest: None, tdx_guest: None, tsm: None, tpm: None, request_report: true, cpuid }
    }

    fn path(&self, abs: &str) -> PathBuf {
        self.root.join(abs.trim_start_matches('/'))
    }

    /// Shown in facts' sources: the absolute path on the surveyed machine.
    fn shown(&self, abs: &str) -> String {
        if self.root == Path::new("/") { abs.to_string() } else { format!("{}{abs}", self.root.display()) }
    }
}

/// A small text file: `Ok(None)` if absent, `Err` if unreadable.
fn read_text(p: &Path) -> Result<Option<String>, String> {
    match std::fs::read(p) {
        Ok(b) => Ok(Some(String::from_utf8_lossy(&b[..b.len().min(4096)]).trim().to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err("permission denied".into()),
        Err(e) => Err(e.to_string()),
    }
}

fn node_kind(p: &Path) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let m = std::fs::symlink_metadata(p).ok()?;
    let t = m.file_type();
    Some(if t.is_char_device() {
        "character device"
    } else if t.is_file() {
        "regular file (not a device node)"
    } else if t.is_dir() {
        "directory"
    } else {
        "other"
    })
}

/// Reads CPUID leaves that tell a confidential guest: Intel's TDX leaf 0x21, the Hyper-V
/// isolation type (leaf 0x4000000C) that marks Azure CVMs, AMD's 0x8000001F.
#[cfg(target_arch = "x86_64")]
fn cpuid_facts(s: &mut Survey) {
    #[allow(unused_unsafe)]
    // SAFETY: CPUID is available on every x86_64 CPU.
    let q = |leaf: u32, sub: u32| unsafe { std::arch::x86_64::__cpuid_count(leaf, sub) };
    let text = |regs: [u32; 3]| -> String {
        regs.iter().flat_map(|r| r.to_le_bytes()).map(|b| if b.is_ascii_graphic() { b as char } else { ' ' }).collect()
    };
    let l0 = q(0, 0);
    let vendor = text([l0.ebx, l0.edx, l0.ecx]);
    s.set("cpuid.vendor", json!(vendor.trim()), "CPUID leaf 0", Trust::Cpuid);
    let hyper = q(1, 0).ecx >> 31 & 1 == 1;
    if hyper {
        let h = q(0x4000_0000, 0);
        let hv = text([h.ebx, h.ecx, h.edx]);
        s.set("cpuid.hypervisor", json!(hv.trim()), "CPUID leaf 0x40000000", Trust::Cpuid);
        if hv.starts_with("Microsoft Hv") && h.eax >= 0x4000_000C {
            let features = q(0x4000_0003, 0);
            let isolated = features.ebx >> 22 & 1 == 1;
            let itype = q(0x4000_000C, 0).ebx & 0xf;
            let name = HvIsolation::of(isolated, itype).as_str();
            s.set(
                "hyperv.isolation",
                json!(name),
                format!("CPUID 0x40000003 EBX[22] = {}, 0x4000000C EBX[3:0] = {itype}", isolated as u8),
                Trust::Cpuid,
            );
        }
    }
    if vendor.trim() == "GenuineIntel" && q(0, 0).eax >= 0x21 {
        let t = q(0x21, 0);
        let sig = text([t.ebx, t.edx, t.ecx]);
        s.set("cpuid.tdx", json!(sig == "IntelTDX    "), "CPUID leaf 0x21 (\"IntelTDX\" inside a TD)", Trust::Cpuid);
    }
    if vendor.trim() == "AuthenticAMD" && q(0x8000_0000, 0).eax >= 0x8000_001F {
        let e = q(0x8000_001F, 0).eax;
        s.set(
            "cpuid.amd_sev",
            json!({"sev": e >> 1 & 1 == 1, "sev_es": e >> 3 & 1 == 1, "sev_snp": e >> 4 & 1 == 1}),
            "CPUID 0x8000001F EAX (as the hypervisor passes it through)",
            Trust::Cpuid,
        );
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn cpuid_facts(_s: &mut Survey) {}

/// Surveys the machine under `probe.root`.
pub fn survey(probe: &Probe<'_>) -> Survey {
    let mut s = Survey {
        format: SURVEY_FORMAT.into(),
        machine: String::new(),
        phase: None,
        collected_at: None,
        root: probe.root.display().to_string(),
        provenance: None,
        interfaces: Vec::new(),
        facts: BTreeMap::new(),
    };
    if probe.cpuid {
        cpuid_facts(&mut s);
    } else {
        s.set(
            "cpuid",
            Value::Null,
            "not read: the surveyed root is not this machine's / (fixture or mounted image); /sys facts only",
            Trust::GuestOs,
        );
    }
    // Kernel, DMI, CPU flags.
    let file_fact = |s: &mut Survey, key: &str, abs: &str| -> Option<String> {
        match read_text(&probe.path(abs)) {
            Ok(Some(v)) => {
                s.set(key, json!(v), probe.shown(abs), Trust::GuestOs);
                Some(v)
            }
            Ok(None) => None,
            Err(e) => {
                s.set(key, Value::Null, format!("{}: {e}", probe.shown(abs)), Trust::GuestOs);
                None
            }
        }
    };
    file_fact(&mut s, "kernel", "/proc/sys/kernel/osrelease");
    let vendor = file_fact(&mut s, "dmi.sys_vendor", "/sys/class/dmi/id/sys_vendor").unwrap_or_default();
    let product = file_fact(&mut s, "dmi.product_name", "/sys/class/dmi/id/product_name").unwrap_or_default();
    let asset = file_fact(&mut s, "dmi.chassis_asset_tag", "/sys/class/dmi/id/chassis_asset_tag").unwrap_or_default();
    let bios = file_fact(&mut s, "dmi.bios_vendor", "/sys/class/dmi/id/bios_vendor").unwrap_or_default();
    let cloud = if vendor == "Amazon EC2" || bios == "Amazon EC2" {
        "aws"
    } else if vendor == "Microsoft Corporation"
        && (asset == "7783-7084-3265-9085-8269-3286-77" || product == "Virtual Machine")
    {
        "azure"
    } else if vendor == "Google" || product == "Google Compute Engine" {
        "gcp"
    } else if vendor.is_empty() {
        "unknown"
    } else {
        "other"
    };
    s.set("cloud", json!(cloud), "DMI sys_vendor / product_name / chassis_asset_tag", Trust::GuestOs);
    let flags: Vec<String> = read_text(&probe.path("/proc/cpuinfo"))
        .ok()
        .flatten()
        .and_then(|t| {
            t.lines().find(|l| l.starts_with("flags")).map(|l| {
                l.split(':').nth(1).unwrap_or("").split_whitespace().map(str::to_string).collect::<Vec<String>>()
            })
        })
        .unwrap_or_default();
    let cc_flags: Vec<&String> = flags
        .iter()
        .filter(|f| ["sev", "sev_es", "sev_snp", "tdx_guest", "hypervisor"].contains(&f.as_str()))
        .collect();
    if !flags.is_empty() {
        s.set("cpu.flags", json!(cc_flags), probe.shown("/proc/cpuinfo"), Trust::GuestOs);
    }
    let has = |f: &str| flags.iter().any(|x| x == f);

    // Interfaces.
    let mut snp_report: Option<cloud_ra_verify::snp::Report> = None;
    let mut tsm_provider: Option<String> = None;
    let owned_tsm;
    let tsm = match &probe.tsm {
        Some(t) => Some(t),
        None => {
            let root = probe.path(DEFAULT_ROOT);
            owned_tsm = ConfigfsTsm::real(root);
            owned_tsm.fs.exists(&owned_tsm.root).then_some(&owned_tsm)
        }
    };
    match tsm {
        Some(t) => {
            let mut i = Interface {
                name: "configfs-tsm".into(),
                path: probe.shown(DEFAULT_ROOT),
                present: true,
                usable: None,
                detail: String::new(),
            };
            match t.provider() {
                Ok(p) => {
                    tsm_provider = Some(p.clone());
                    i.detail = format!("provider {p}");
                    if probe.request_report {
                        let floor_req = TsmRequest { inblob: vec![0; 64], privlevel: None, expect_provider: None };
                        match t.get(&floor_req) {
                            Ok(r) => {
                                i.usable = Some(true);
                                if p == "sev_guest" {
                                    // privlevel_floor is the guest's VMPL; ask at it.
                                    let floor = r.privlevel_floor.unwrap_or(0);
                                    let at = TsmRequest { privlevel: Some(floor), ..floor_req };
                                    if let Ok(r2) = t.get(&at)
                                        && let Ok(rep) = cloud_ra_verify::snp::Report::parse(&r2.outblob)
                                    {
                                        snp_report = Some(rep);
                                        if let Some(a) = &r2.auxblob {
                                            cert_table_fact(&mut s, a, "configfs-tsm auxblob");
                                        }
                                    } else if let Ok(rep) = cloud_ra_verify::snp::Report::parse(&r.outblob) {
                                        snp_report = Some(rep);
                                    }
                                    if let Some(f) = r.privlevel_floor {
                                        s.set(
                                            "vmpl.floor",
                                            json!(f),
                                            format!("{}/<entry>/privlevel_floor", probe.shown(DEFAULT_ROOT)),
                                            Trust::GuestOs,
                                        );
                                    }
                                } else if p == "tdx_guest" {
                                    quote_facts(&mut s, &r.outblob);
                                }
                            }
                            Err(e) => {
                                i.usable = Some(false);
                                i.detail = format!("provider {p}; report request failed: {e}");
                            }
                        }
                    }
                }
                Err(e) => {
                    i.usable = Some(false);
                    i.detail = e.to_string();
                }
            }
            s.interfaces.push(i);
        }
        None => s.interfaces.push(Interface {
            name: "configfs-tsm".into(),
            path: probe.shown(DEFAULT_ROOT),
            present: false,
            usable: None,
            detail: match ConfigfsTsm::real(probe.path(DEFAULT_ROOT)).check() {
                Err(e) => e.to_string(),
                Ok(()) => String::new(),
            },
        }),
    }

    // /dev/sev-guest.
    let sev_path = probe.path("/dev/sev-guest");
    let mut sev = Interface {
        name: "sev-guest".into(),
        path: probe.shown("/dev/sev-guest"),
        present: probe.sev_guest.is_some() || node_kind(&sev_path).is_some(),
        usable: None,
        detail: String::new(),
    };
    let opened: Option<Box<dyn SevGuest>> = match &probe.sev_guest {
        Some(_) => None,
        None if sev.present => match DevSevGuest::open(&sev_path.to_string_lossy()) {
            Ok(d) => Some(Box::new(d)),
            Err(e) => {
                sev.usable = Some(false);
                sev.detail = e.to_string();
                None
            }
        },
        None => {
            sev.detail = SevGuestError::Absent.to_string();
            None
        }
    };
    if let Some(dev) = probe.sev_guest.as_deref().or(opened.as_deref())
        && probe.request_report
    {
        let kind = node_kind(&sev_path);
        match lowest_vmpl(dev) {
            Ok((vmpl, report, table)) => {
                sev.usable = Some(true);
                sev.detail = format!("{}; lowest VMPL the firmware accepts: {vmpl}", dev.describe());
                if snp_report.is_none() {
                    snp_report = Some(report);
                }
                if let Some(t) = table {
                    cert_table_fact(&mut s, &t, "SNP_GET_EXT_REPORT certificate table");
                }
            }
            Err(e) => {
                sev.usable = Some(false);
                sev.detail = match kind {
                    Some(k) if probe.sev_guest.is_none() && k != "character device" => {
                        format!("{}: {k}; the request failed: {e}", sev.path)
                    }
                    _ => format!("the request failed: {e}"),
                };
            }
        }
    }
    s.interfaces.push(sev);

    // /dev/tdx_guest.
    let tdx_path = probe.path("/dev/tdx_guest");
    let mut tdx = Interface {
        name: "tdx-guest".into(),
        path: probe.shown("/dev/tdx_guest"),
        present: probe.tdx_guest.is_some() || node_kind(&tdx_path).is_some(),
        usable: None,
        detail: String::new(),
    };
    let opened_tdx: Option<Box<dyn TdxGuest>> = match &probe.tdx_guest {
        Some(_) => None,
        None if tdx.present => match DevTdxGuest::open(&tdx_path.to_string_lossy()) {
            Ok(d) => Some(Box::new(d)),
            Err(e) => {
                tdx.usable = Some(false);
                tdx.detail = e.to_string();
                None
            }
        },
        None => {
            tdx.detail = crate::tdx_guest::TdxGuestError::Absent { path: tdx.path.clone() }.to_string();
            None
        }
    };
    let mut tdreport = None;
    if let Some(dev) = probe.tdx_guest.as_deref().or(opened_tdx.as_deref())
        && probe.request_report
    {
        match dev.get_report0(&[0u8; 64]).and_then(|r| TdReport::parse(&r)) {
            Ok(r) => {
                tdx.usable = Some(true);
                tdx.detail = format!("{}: TDREPORT (MAC'd; a quote needs configfs-tsm)", dev.describe());
                tdreport = Some(r);
            }
            Err(e) => {
                tdx.usable = Some(false);
                tdx.detail = e.to_string();
            }
        }
    }
    s.interfaces.push(tdx);
    if let Some(r) = &tdreport {
        let src = "TDREPORT from /dev/tdx_guest (MAC'd by this CPU; not verifiable remotely)";
        s.set("td.attributes", json!(format!("{:016x}", r.td_attributes)), src, Trust::GuestOs);
        s.set("td.debug", json!(r.td_attributes & 1 == 1), src, Trust::GuestOs);
        s.set("td.mrtd", json!(hex::encode(r.mr_td)), src, Trust::GuestOs);
        s.set("td.rtmrs_zero", json!(r.rt_mr.iter().all(|m| m.iter().all(|&b| b == 0))), src, Trust::GuestOs);
    }

    // Other device nodes.
    for (name, abs) in [
        ("nsm", "/dev/nsm"),
        ("sgx", "/dev/sgx_enclave"),
        ("nitro-enclaves", "/dev/nitro_enclaves"),
        ("tpm", if node_kind(&probe.path("/dev/tpm0")).is_some() { "/dev/tpm0" } else { "/dev/tpmrm0" }),
    ] {
        let kind = node_kind(&probe.path(abs));
        s.interfaces.push(Interface {
            name: name.into(),
            path: probe.shown(abs),
            present: kind.is_some(),
            usable: None,
            detail: kind.map(str::to_string).unwrap_or_default(),
        });
    }

    // Evidence facts.
    if let Some(r) = &snp_report {
        let src = "SNP report (requested by survey)";
        s.set("vmpl", json!(r.vmpl), format!("{src}: VMPL field at 0x30 (the lowest VMPL accepted)"), Trust::CpuSigned);
        s.set("report.version", json!(r.version), format!("{src}: VERSION"), Trust::CpuSigned);
        s.set("report.signing_key", json!(r.signing_key.name()), format!("{src}: SIGNING_KEY"), Trust::CpuSigned);
        if let Some(p) = r.product_from_cpuid() {
            s.set("report.product", json!(p.name()), format!("{src}: CPUID_FAM_ID/MOD_ID"), Trust::CpuSigned);
            let tcb = cloud_ra_verify::snp::Tcb::decode(r.reported_tcb, p);
            let map: serde_json::Map<String, Value> =
                tcb.components().into_iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
            s.set("report.tcb", Value::Object(map), format!("{src}: REPORTED_TCB"), Trust::CpuSigned);
        }
        s.set("report.debug", json!(r.policy.debug), format!("{src}: POLICY.DEBUG"), Trust::CpuSigned);
    }

    // vTPM.
    let tpm_nodes: Vec<&str> =
        ["/dev/tpm0", "/dev/tpmrm0"].into_iter().filter(|p| node_kind(&probe.path(p)).is_some()).collect();
    let sys_tpm = probe.path("/sys/class/tpm/tpm0").exists();
    s.set(
        "vtpm.present",
        json!(!tpm_nodes.is_empty() || sys_tpm),
        format!(
            "{} {}",
            probe.shown("/dev/tpm0, /dev/tpmrm0"),
            if sys_tpm { "and /sys/class/tpm/tpm0" } else { "(no /sys/class/tpm/tpm0)" }
        ),
        Trust::GuestOs,
    );
    let driver = std::fs::read_link(probe.path("/sys/class/tpm/tpm0/device/driver"))
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
    if let Some(d) = &driver {
        s.set("vtpm.driver", json!(d), probe.shown("/sys/class/tpm/tpm0/device/driver"), Trust::GuestOs);
    }
    let mut nv: Option<Vec<u32>> = None;
    if let Some(t) = probe.tpm {
        match t.persistent_handles() {
            Ok(h) => s.set(
                "tpm.persistent_handles",
                json!(
                    h.iter()
                        .map(|h| json!({"handle": format!("0x{:08x}", h.handle), "kind": h.kind}))
                        .collect::<Vec<_>>()
                ),
                "TPM2_GetCapability(TPM_CAP_HANDLES, 0x81000000) + ReadPublic",
                Trust::Tpm,
            ),
            Err(e) => s.set("tpm.persistent_handles", Value::Null, format!("TPM probe failed: {e}"), Trust::Tpm),
        }
        match t.nv_indexes() {
            Ok(v) => {
                s.set(
                    "tpm.nv_indexes",
                    json!(
                        v.iter()
                            .map(|i| json!({"index": format!("0x{i:08x}"), "what": nv_name(*i)}))
                            .collect::<Vec<_>>()
                    ),
                    "TPM2_GetCapability(TPM_CAP_HANDLES, 0x01000000)",
                    Trust::Tpm,
                );
                nv = Some(v);
            }
            Err(e) => s.set("tpm.nv_indexes", Value::Null, format!("TPM probe failed: {e}"), Trust::Tpm),
        }
    }
    // Secure boot, event logs.
    let efi = probe.path("/sys/firmware/efi");
    let sb_path = format!("/sys/firmware/efi/efivars/SecureBoot-{EFI_GLOBAL_GUID}");
    match std::fs::read(probe.path(&sb_path)) {
        Ok(b) if b.len() == 5 => s.set("secure_boot", json!(b[4] == 1), probe.shown(&sb_path), Trust::GuestOs),
        Ok(b) => s.set(
            "secure_boot",
            Value::Null,
            format!("{}: {} bytes, expected 4 attribute bytes + 1", probe.shown(&sb_path), b.len()),
            Trust::GuestOs,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let why = if efi.exists() {
                "EFI boot without a SecureBoot variable"
            } else {
                "legacy BIOS boot (no /sys/firmware/efi)"
            };
            s.set("secure_boot", json!(false), format!("{}: {why}", probe.shown(&sb_path)), Trust::GuestOs)
        }
        Err(e) => s.set("secure_boot", Value::Null, format!("{}: {e}", probe.shown(&sb_path)), Trust::GuestOs),
    }
    let log = "/sys/kernel/security/tpm0/binary_bios_measurements";
    s.set("eventlog.tpm", json!(probe.path(log).exists()), probe.shown(log), Trust::GuestOs);
    let ccel = ["/sys/firmware/acpi/tables/CCEL", "/sys/firmware/acpi/tables/data/CCEL"];
    s.set(
        "eventlog.ccel",
        json!(ccel.iter().any(|p| probe.path(p).exists())),
        probe.shown(ccel[0]) + " and " + ccel[1],
        Trust::GuestOs,
    );

    // TEE: the strongest evidence first.
    let (tee, how, trust) = if snp_report.is_some() {
        (Tee::SevSnp, "an SNP report was obtained".to_string(), Trust::CpuSigned)
    } else if s.fact("quote.version").is_some() {
        (Tee::Tdx, "a TDX quote was obtained".to_string(), Trust::CpuSigned)
    } else if let Some(tee) = s.fact("hyperv.isolation").and_then(Value::as_str).and_then(HvIsolation::tee_of) {
        (tee, "Hyper-V isolation type (CPUID 0x4000000C): an Azure CVM behind a paravisor".into(), Trust::Cpuid)
    } else if s.fact("cpuid.tdx") == Some(&json!(true)) {
        (Tee::Tdx, "CPUID leaf 0x21".into(), Trust::Cpuid)
    } else if has("sev_snp") || tsm_provider.as_deref() == Some("sev_guest") || node_kind(&sev_path).is_some() {
        (Tee::SevSnp, "guest kernel: cpuinfo flag sev_snp, /dev/sev-guest or provider sev_guest".into(), Trust::GuestOs)
    } else if has("tdx_guest")
        || tsm_provider.as_deref() == Some("tdx_guest")
        || tdreport.is_some()
        || node_kind(&tdx_path).is_some()
    {
        (Tee::Tdx, "guest kernel: cpuinfo flag tdx_guest, /dev/tdx_guest or provider tdx_guest".into(), Trust::GuestOs)
    } else if node_kind(&probe.path("/dev/nsm")).is_some() {
        (Tee::NitroEnclave, "/dev/nsm present".into(), Trust::GuestOs)
    } else if node_kind(&probe.path("/dev/sgx_enclave")).is_some() {
        (Tee::Sgx, "/dev/sgx_enclave present (SGX enclaves can run here)".into(), Trust::GuestOs)
    } else if cloud == "azure" && has("sev") {
        (
            Tee::SevSnp,
            "Azure CVM: under vTOM the guest kernel shows only the cpuinfo flag sev, and Azure's AMD CVMs are SEV-SNP; confirm with CPUID 0x4000000C (hyperv.isolation) or the HCL report in vTPM NV 0x01400001".into(),
            Trust::GuestOs,
        )
    } else if cloud == "azure" && (!tpm_nodes.is_empty() || sys_tpm) {
        (
            Tee::Unknown,
            "Azure hides the guest devices: the isolation type is in CPUID 0x4000000C (not read here) or the HCL report in vTPM NV 0x01400001".into(),
            Trust::GuestOs,
        )
    } else if has("sev") {
        (Tee::Sev, "cpuinfo flag sev without sev_snp (Azure vTOM guests show only this)".into(), Trust::GuestOs)
    } else {
        (Tee::None, "no confidential-computing interface or CPU flag found".into(), Trust::GuestOs)
    };
    s.set("tee", json!(tee.as_str()), how, trust);
    if !tpm_nodes.is_empty() || sys_tpm {
        let (rooted, how, trust) = if driver.as_deref() == Some("tpm_svsm") {
            ("vmpl-hosted", "the tpm_svsm driver: an SVSM vTPM at VMPL 0 inside the TEE", Trust::GuestOs)
        } else if nv.as_ref().is_some_and(|v| v.contains(&0x0140_0001)) {
            (
                "paravisor",
                "NV 0x01400001 (HCL report) present: the paravisor's vTPM, its AK bound to the CPU report",
                Trust::Tpm,
            )
        } else if cloud == "azure" && matches!(tee, Tee::SevSnp | Tee::Tdx | Tee::Unknown) {
            ("paravisor", "Azure CVM: the vTPM lives in the paravisor (OpenHCL) at VMPL 0", Trust::GuestOs)
        } else {
            ("no", "hypervisor-provided vTPM: not covered by the CPU's attestation", Trust::GuestOs)
        };
        s.set("vtpm.tee_rooted", json!(rooted), how, trust);
    }

    s.machine = format!("{cloud}-{}", tee.as_str());
    s
}

/// What a well-known NV index holds.
fn nv_name(index: u32) -> &'static str {
    match index {
        0x0140_0001 => "Azure HCL report (SNP/TDX report + runtime claims)",
        0x0140_0002 => "Azure HCL user data (64 bytes written to refresh the report)",
        0x01C1_01D0 => "AK certificate (Azure)",
        0x01C0_0002 => "EK certificate (RSA)",
        0x01C0_000A => "EK certificate (ECC NIST P-256)",
        0x01C0_0003 => "EK template (RSA)",
        0x01C0_000B => "EK template (ECC)",
        _ => "unknown",
    }
}

/// Finds the guest's VMPL: the lowest VMPL the firmware accepts a report request for.
fn lowest_vmpl(dev: &dyn SevGuest) -> Result<(u32, cloud_ra_verify::snp::Report, Option<Vec<u8>>), String> {
    let mut last = String::new();
    for vmpl in 0..=3 {
        let req = ReportReq { user_data: [0; 64], vmpl };
        let resp = match dev.get_report(1, &req) {
            Ok(r) => r,
            // Some kernels fail the ioctl itself when the firmware refuses the VMPL.
            Err(e @ SevGuestError::Firmware { .. }) => {
                last = e.to_string();
                continue;
            }
            Err(e) => return Err(e.to_string()),
        };
        match report_from_resp(&resp) {
            Ok(raw) => {
                let r = cloud_ra_verify::snp::Report::parse(&raw).map_err(|e| e.to_string())?;
                let o =
                    crate::collect::SnpCollectOptions { report_data: [0; 64], vmpl, extended: true, msg_version: 1 };
                let table = crate::collect::collect_snp(dev, &o).ok().and_then(|(_, t)| t);
                return Ok((vmpl, r, table));
            }
            Err(e) => last = e.to_string(),
        }
    }
    Err(format!("every VMPL 0..3 refused: {last}"))
}

fn cert_table_fact(s: &mut Survey, table: &[u8], source: &str) {
    if let Ok(entries) = cloud_ra_verify::snp::format::parse_cert_table(table) {
        let kinds: Vec<String> = entries.iter().map(|e| format!("{:?}", e.kind).to_lowercase()).collect();
        s.set("snp.cert_table", json!(kinds), source, Trust::GuestOs);
    }
}

fn quote_facts(s: &mut Survey, outblob: &[u8]) {
    if let Ok(q) = cloud_ra_verify::dcap::Quote::parse(outblob) {
        let src = "TDX quote (requested by survey through configfs-tsm)";
        s.set("quote.version", json!(q.header.version), format!("{src}: header version"), Trust::CpuSigned);
        if let cloud_ra_verify::dcap::format::Body::Td10(td) | cloud_ra_verify::dcap::format::Body::Td15(td) = &q.body {
            s.set(
                "report.tcb",
                json!({"tee_tcb_svn": hex::encode(td.tee_tcb_svn)}),
                format!("{src}: TEE_TCB_SVN"),
                Trust::CpuSigned,
            );
            s.set(
                "td.debug",
                json!(td.td_attributes[0] & 1 == 1),
                format!("{src}: TD_ATTRIBUTES.DEBUG"),
                Trust::CpuSigned,
            );
        }
    }
}

/// An operator statement (`survey --note key=value`): stored as `note.<key>`.
pub fn add_note(s: &mut Survey, key: &str, value: &str) {
    s.set(&format!("note.{key}"), json!(value), "stated by the operator (survey --note)", Trust::Operator);
}
