//! `cloud-ra tpm keys|setup-ak|quote`: the TPM's persistent keys (the talk's EK/AK experiment)
//! and a raw quote, through the pure-Rust TPM backend (`cloud_ra_attest::TpmClient`). Also the
//! options of the Azure vTPM collection for `attest` ([`AzureArgs`]).

use crate::print::fail;
use cloud_ra_attest::platform::AzureRequest;
use cloud_ra_attest::tpm::{self as t, KeyAlg, PcrSelection};
use cloud_ra_verify::Check;
use cloud_ra_verify::Error;
use serde_json::json;

#[derive(clap::Args, Clone, Debug)]
pub struct TctiArg {
    /// TPM to use: device:/dev/tpmrm0, swtpm:host=127.0.0.1,port=2321 or mssim:host=H,port=P.
    /// Default: $TPM2TOOLS_TCTI, else $TCTI, else device:/dev/tpmrm0 (/dev/tpm0 when absent).
    #[arg(long)]
    pub tcti: Option<String>,
}

#[derive(clap::Subcommand)]
pub enum TpmCmd {
    /// List persistent handles: EK (RSA/ECC, by the TCG default templates), AK, unknown; and
    /// whether each is usable (an AK signs a test quote; an EK equals the one the TPM derives).
    Keys {
        #[command(flatten)]
        tcti: TctiArg,
        #[arg(long)]
        json: bool,
    },
    /// Create the EK and an AK under it and persist them (default 0x81010001 and 0x81000002, the
    /// seed's handles). Idempotent: keys already there are kept; any other object at either
    /// handle is refused, never replaced.
    SetupAk {
        #[command(flatten)]
        tcti: TctiArg,
        /// EK algorithm: rsa (RSA-2048) or ecc (P-256).
        #[arg(long, default_value = "rsa")]
        ek_alg: String,
        /// AK algorithm: rsa (RSASSA-SHA256, as on Azure) or ecc (ECDSA-SHA256).
        #[arg(long, default_value = "rsa")]
        ak_alg: String,
        #[arg(long, default_value = "0x81010001", value_parser = parse_handle)]
        ek_handle: u32,
        #[arg(long, default_value = "0x81000002", value_parser = parse_handle)]
        ak_handle: u32,
        #[arg(long)]
        json: bool,
    },
    /// Quote PCRs with a persistent AK; prints TPMS_ATTEST, TPMT_SIGNATURE, the PCR values and
    /// the AK's TPMT_PUBLIC as hex JSON.
    Quote {
        #[command(flatten)]
        tcti: TctiArg,
        #[arg(long, default_value = "0x81000003", value_parser = parse_handle)]
        ak: u32,
        /// Qualifying data (hex, 1..=64 bytes).
        #[arg(long)]
        nonce: String,
        /// PCR selection, tpm2-tools syntax: sha256:15,16,22 or sha256:0-7+sha384:all.
        #[arg(long, default_value = "sha256:all")]
        pcrs: String,
    },
}

fn parse_handle(s: &str) -> Result<u32, String> {
    let h = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
    u32::from_str_radix(h, 16).map_err(|_| format!("'{s}' is not a hex handle like 0x81000003"))
}

/// Options of the Azure vTPM collection (`attest --platform azure-snp|azure-tdx`).
#[derive(clap::Args, Clone, Debug)]
pub struct AzureArgs {
    #[command(flatten)]
    pub tcti: TctiArg,
    /// PCRs to quote (the seed uses sha256:15,16,22).
    #[arg(long, default_value = "sha256:all")]
    pub pcrs: String,
    /// Ask the paravisor for a fresh HCL report: write these 64 bytes (hex) to NV 0x01400002 and
    /// wait for NV 0x01400001 to change. `nonce` uses the nonce, zero-padded to 64 bytes.
    #[arg(long)]
    pub fresh_report: Option<String>,
    /// How long to wait for the fresh report (milliseconds).
    #[arg(long, default_value_t = 10_000)]
    pub fresh_timeout_ms: u64,
    /// The AK's persistent handle.
    #[arg(long, default_value = "0x81000003", value_parser = parse_handle)]
    pub ak_handle: u32,
    /// Azure IMDS base URL (TD quotes on TDX; THIM with --thim).
    #[arg(long, default_value = "http://169.254.169.254")]
    pub imds: String,
    /// SNP: include the VCEK chain from IMDS THIM (`thim` in the bundle).
    #[arg(long)]
    pub thim: bool,
}

impl AzureArgs {
    /// The library's view of these options.
    pub fn request(&self) -> AzureRequest {
        AzureRequest {
            tcti: self.tcti.tcti.clone(),
            pcrs: self.pcrs.clone(),
            fresh_report: self.fresh_report.clone(),
            fresh_timeout_ms: self.fresh_timeout_ms,
            ak_handle: self.ak_handle,
            imds: self.imds.clone(),
            thim: self.thim,
        }
    }
}

fn open(a: &TctiArg) -> Result<cloud_ra_attest::TpmClient, Error> {
    cloud_ra_attest::platform::open_tpm(a.tcti.as_deref(), &mut |line| eprintln!("{line}"))
}

/// [`open`] for `survey`: the fallback warning goes into the facts' error text, not stderr.
fn open_quiet(tcti: &str) -> Result<cloud_ra_attest::TpmClient, String> {
    cloud_ra_attest::TpmClient::open(tcti).map_err(|e| e.to_string())
}

/// `survey`'s view of the TPM (persistent handles classified, NV indexes), through one
/// connection opened on first use.
struct SurveyTpm {
    tcti: String,
    tpm: std::cell::RefCell<Option<Result<cloud_ra_attest::TpmClient, String>>>,
}

impl SurveyTpm {
    fn with<R>(&self, f: impl FnOnce(&mut cloud_ra_attest::TpmClient) -> Result<R, t::TpmError>) -> Result<R, String> {
        let mut slot = self.tpm.borrow_mut();
        let conn = slot.get_or_insert_with(|| open_quiet(&self.tcti).map_err(|e| e.to_string()));
        match conn {
            Ok(tpm) => f(tpm).map_err(|e| e.to_string()),
            Err(e) => Err(e.clone()),
        }
    }
}

impl cloud_ra_attest::survey::TpmProbe for SurveyTpm {
    fn persistent_handles(&self) -> Result<Vec<cloud_ra_attest::survey::PersistentHandle>, String> {
        self.with(|tpm| t::classify_persistent(tpm)).map(|v| {
            v.into_iter()
                .map(|(handle, kind, public)| cloud_ra_attest::survey::PersistentHandle {
                    handle,
                    kind: kind.short(public.as_deref()),
                })
                .collect()
        })
    }
    fn nv_indexes(&self) -> Result<Vec<u32>, String> {
        use cloud_ra_attest::Tpm;
        self.with(|tpm| tpm.handles(t::HR_NV_INDEX))
    }
}

/// The TPM probe for `survey`: when a TCTI is named in the environment ($TPM2TOOLS_TCTI or
/// $TCTI), or `root` is `/` and /dev/tpmrm0 or /dev/tpm0 exists. A fixture tree (`--root DIR`)
/// gets none unless a TCTI is named.
pub fn survey_probe(root: &std::path::Path) -> Option<Box<dyn cloud_ra_attest::survey::TpmProbe>> {
    let named = ["TPM2TOOLS_TCTI", "TCTI"].iter().any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
    let tcti = if named {
        t::default_tcti(None)
    } else if root == std::path::Path::new("/") {
        match ["/dev/tpmrm0", "/dev/tpm0"].into_iter().find(|p| std::path::Path::new(p).exists()) {
            Some(p) => format!("device:{p}"),
            None => return None,
        }
    } else {
        return None;
    };
    Some(Box::new(SurveyTpm { tcti, tpm: std::cell::RefCell::new(None) }))
}

pub fn run(c: TpmCmd) -> i32 {
    match run_tpm(c) {
        Ok(()) => 0,
        Err(e) => fail(&e),
    }
}

fn alg(s: &str) -> Result<KeyAlg, Error> {
    KeyAlg::parse(s).ok_or_else(|| Error::usage(Check::Tpm, format!("key algorithm '{s}' is not rsa or ecc")))
}

fn run_tpm(c: TpmCmd) -> Result<(), Error> {
    use cloud_ra_attest::Tpm;
    let tpm_err = |e: t::TpmError| Error::usage(Check::Tpm, e.to_string());
    match c {
        TpmCmd::Keys { tcti, json } => {
            let mut tpm = open(&tcti)?;
            let keys = t::list_keys(&mut tpm).map_err(tpm_err)?;
            if json {
                let v: Vec<_> = keys
                    .iter()
                    .map(|k| {
                        json!({
                            "handle": format!("{:#010x}", k.handle),
                            "kind": match k.kind { t::KeyKind::Ek(_) | t::KeyKind::EkOther(_) => "ek", t::KeyKind::Ak(_) => "ak", t::KeyKind::Unknown(_) => "unknown" },
                            "description": k.kind_name(),
                            "usable": k.usable,
                            "note": k.note,
                            "public": k.public.as_ref().map(hex::encode),
                        })
                    })
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({"tpm": tpm.describe(), "persistent": v})).unwrap_or_default()
                );
            } else {
                println!("{}: {} persistent handle(s)", tpm.describe(), keys.len());
                for k in &keys {
                    let u = if k.usable { "usable" } else { "NOT usable" };
                    println!("  {:#010x}  {:<40} {u}: {}", k.handle, k.kind_name(), k.note);
                }
            }
        }
        TpmCmd::SetupAk { tcti, ek_alg, ak_alg, ek_handle, ak_handle, json } => {
            let (ek_alg, ak_alg) = (alg(&ek_alg)?, alg(&ak_alg)?);
            let mut tpm = open(&tcti)?;
            let r = t::setup_ak(&mut tpm, ek_alg, ek_handle, ak_alg, ak_handle).map_err(tpm_err)?;
            let step = |s: &t::SetupStep| match s {
                t::SetupStep::Created => "created",
                t::SetupStep::AlreadyPresent => "already present",
            };
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "ek": {"handle": format!("{:#010x}", r.ek_handle), "alg": ek_alg.name(), "action": step(&r.ek), "public": hex::encode(&r.ek_public)},
                        "ak": {"handle": format!("{:#010x}", r.ak_handle), "alg": ak_alg.name(), "action": step(&r.ak), "public": hex::encode(&r.ak_public)},
                    }))
                    .unwrap_or_default()
                );
            } else {
                println!("EK {} at {:#010x}: {}", ek_alg.name(), r.ek_handle, step(&r.ek));
                println!("AK {} at {:#010x}: {}", ak_alg.name(), r.ak_handle, step(&r.ak));
            }
        }
        TpmCmd::Quote { tcti, ak, nonce, pcrs } => {
            let nonce = cloud_ra_verify::policy::parse_hex("nonce", &nonce, 64)?;
            if nonce.is_empty() {
                return Err(Error::usage(Check::Nonce, "--nonce is empty"));
            }
            let sel = PcrSelection::parse(&pcrs).map_err(|e| Error::usage(Check::Pcrs, e))?;
            let mut tpm = open(&tcti)?;
            let ak_public = tpm.read_public(ak).map_err(tpm_err)?;
            let q = tpm.quote(ak, &nonce, &sel).map_err(tpm_err)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({
                    "ak_handle": format!("{ak:#010x}"),
                    "ak_public": hex::encode(ak_public),
                    "nonce": hex::encode(&nonce),
                    "tpm_quote": hex::encode(&q.attest),
                    "tpm_signature": hex::encode(&q.signature),
                    "tpm_pcrs": hex::encode(&q.pcrs),
                }))
                .unwrap_or_default()
            );
        }
    }
    Ok(())
}
