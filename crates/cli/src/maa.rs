//! `cloud-ra maa request`: the Microsoft Azure Attestation request bodies the seed sends
//! (seed-system §2.9), built from the evidence files with a fresh nonce.
//!
//! * SevSnpVm: `{"report": b64url(JSON {"SnpReport": b64url(1184-byte report), "VcekCertChain":
//!   b64url(VCEK + chain PEM)}), "runtimeData": {"data": b64url(runtime claims), "dataType":
//!   "JSON"}, "nonce": hex}` — the report and the runtime claims come from the HCL report.
//! * TdxVm: `{"quote": b64url(TD quote), "runtimeData": {... claims ...}, "nonce": hex}`.
//! * SgxEnclave: `{"quote": b64url(quote), "runtimeData": {"data": b64url(bytes), "dataType":
//!   "Binary"}, "nonce": hex}`.
//!
//! base64url is padded, as `basenc --base64url` in the seed's scripts writes it. Only `--dry-run`
//! is implemented: sending needs the verification of MAA's token (JWT), which is not in this
//! build.

use crate::read_file;
use base64::Engine;
use clap::{Subcommand, ValueEnum};
use cloud_ra_verify::Error;
use cloud_ra_verify::azure::{HclReport, Tee};
use serde_json::{Value, json};

#[derive(Subcommand)]
pub enum MaaCmd {
    /// Build the attestation request for MAA (`--dry-run` prints it; sending is not in this build).
    Request(RequestArgs),
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TeeType {
    #[value(name = "SevSnpVm")]
    SevSnpVm,
    #[value(name = "TdxVm")]
    TdxVm,
    #[value(name = "SgxEnclave")]
    SgxEnclave,
}

impl TeeType {
    fn name(self) -> &'static str {
        match self {
            TeeType::SevSnpVm => "SevSnpVm",
            TeeType::TdxVm => "TdxVm",
            TeeType::SgxEnclave => "SgxEnclave",
        }
    }
    /// The seed's default provider and API version for this TEE type.
    fn defaults(self) -> (&'static str, &'static str) {
        match self {
            TeeType::SevSnpVm => ("https://sharedjpe.jpe.attest.azure.net", "2022-08-01"),
            TeeType::TdxVm => ("https://sharedeus.eus.attest.azure.net", "2025-06-01"),
            TeeType::SgxEnclave => ("https://sharedjpe.jpe.attest.azure.net", "2025-06-01"),
        }
    }
}

#[derive(clap::Args)]
pub struct RequestArgs {
    /// MAA TEE type.
    #[arg(long, value_enum)]
    tee: TeeType,
    /// HCL report (vTPM NV 0x01400001): SNP report and runtime claims (SevSnpVm), runtime claims (TdxVm).
    #[arg(long)]
    hcl: Option<String>,
    /// VCEK followed by its chain (PEM), or an IMDS THIM response JSON (SevSnpVm).
    #[arg(long)]
    vcek: Option<String>,
    /// Quote file: the TD quote from IMDS /acc/tdquote (TdxVm) or an SGX quote (SgxEnclave).
    #[arg(long)]
    quote: Option<String>,
    /// SgxEnclave: the runtime data whose hash the enclave put in REPORT_DATA (sent as "Binary").
    #[arg(long)]
    runtime_data: Option<String>,
    /// MAA provider URL. Default: the seed's shared provider for the TEE type.
    #[arg(long)]
    provider: Option<String>,
    /// API version. Default: 2022-08-01 for SevSnpVm, 2025-06-01 otherwise.
    #[arg(long)]
    api_version: Option<String>,
    /// Nonce (hex). Default: 32 fresh random bytes.
    #[arg(long)]
    nonce: Option<String>,
    /// Print the request body (JSON) on stdout and the URL on stderr; send nothing.
    #[arg(long)]
    dry_run: bool,
}

fn b64url(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE.encode(b)
}

fn need<'a>(v: &'a Option<String>, flag: &str, tee: TeeType) -> Result<&'a str, Error> {
    v.as_deref().ok_or_else(|| Error::usage("maa", format!("--tee {} needs {flag}", tee.name())))
}

fn hcl_of(path: &str, want: Tee) -> Result<HclReport, Error> {
    let h = HclReport::parse(&read_file(path, "HCL report")?)?;
    if h.tee != want {
        return Err(Error::usage(
            "maa",
            format!("{path} is an HCL report of {}, not {}", h.tee.platform(), want.platform()),
        ));
    }
    Ok(h)
}

/// VCEK + chain as PEM text: a PEM file as is, or a THIM response's vcekCert + certificateChain.
fn vcek_chain_pem(path: &str) -> Result<Vec<u8>, Error> {
    let b = read_file(path, "VCEK chain")?;
    let pem = if b.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'{') {
        cloud_ra_verify::azure::format::thim_pems(&b)?
    } else {
        b
    };
    let objs = cloud_ra_verify::x509::read_objects(&pem)
        .map_err(|e| Error::usage("maa", format!("{path}: not PEM certificates: {e}")))?;
    if objs.is_empty() || pem.first() == Some(&0x30) {
        return Err(Error::usage("maa", format!("{path}: MAA takes the VCEK chain as PEM text")));
    }
    Ok(pem)
}

fn runtime_json(h: &HclReport) -> Value {
    json!({"data": b64url(&h.claims.raw), "dataType": "JSON"})
}

/// Builds (URL, body).
pub fn build(a: &RequestArgs) -> Result<(String, Value), Error> {
    let nonce = match &a.nonce {
        Some(n) => {
            let v = cloud_ra_verify::policy::parse_hex("nonce", n, 64)?;
            if v.is_empty() {
                return Err(Error::usage("nonce", "--nonce is empty"));
            }
            v
        }
        None => cloud_ra_attest::collect::fresh_nonce().map_err(|e| Error::usage("nonce", e))?[..32].to_vec(),
    };
    let body = match a.tee {
        TeeType::SevSnpVm => {
            let h = hcl_of(need(&a.hcl, "--hcl", a.tee)?, Tee::Snp)?;
            let chain = vcek_chain_pem(need(&a.vcek, "--vcek", a.tee)?)?;
            let inner = json!({"SnpReport": b64url(&h.hw_report), "VcekCertChain": b64url(&chain)});
            json!({
                "report": b64url(inner.to_string().as_bytes()),
                "runtimeData": runtime_json(&h),
                "nonce": hex::encode(&nonce),
            })
        }
        TeeType::TdxVm => {
            let path = need(&a.quote, "--quote", a.tee)?;
            let q = read_file(path, "TD quote")?;
            let parsed = cloud_ra_verify::dcap::Quote::parse(&q)?;
            let Some(td) = parsed.body.td() else {
                return Err(Error::usage("maa", format!("{path} is an SGX quote; --tee TdxVm takes a TD quote")));
            };
            let h = hcl_of(need(&a.hcl, "--hcl", a.tee)?, Tee::Tdx)?;
            if td.report_data != h.report_data() {
                return Err(Error::usage(
                    "maa",
                    "the TD quote's REPORTDATA is not the HCL report's TDREPORT REPORTDATA: they belong to different reports",
                ));
            }
            json!({"quote": b64url(&q), "runtimeData": runtime_json(&h), "nonce": hex::encode(&nonce)})
        }
        TeeType::SgxEnclave => {
            let path = need(&a.quote, "--quote", a.tee)?;
            let q = read_file(path, "SGX quote")?;
            let parsed = cloud_ra_verify::dcap::Quote::parse(&q)?;
            if parsed.body.td().is_some() {
                return Err(Error::usage("maa", format!("{path} is a TD quote; --tee SgxEnclave takes an SGX quote")));
            }
            let mut body = json!({"quote": b64url(&q), "nonce": hex::encode(&nonce)});
            if let Some(r) = &a.runtime_data {
                body["runtimeData"] = json!({"data": b64url(&read_file(r, "runtime data")?), "dataType": "Binary"});
            }
            body
        }
    };
    let (provider, version) = a.tee.defaults();
    let provider = a.provider.as_deref().unwrap_or(provider).trim_end_matches('/');
    let url = format!("{provider}/attest/{}?api-version={}", a.tee.name(), a.api_version.as_deref().unwrap_or(version));
    Ok((url, body))
}

pub fn run(c: MaaCmd) -> i32 {
    match c {
        MaaCmd::Request(a) => {
            let (url, body) = match build(&a) {
                Ok(x) => x,
                Err(e) => return crate::fail(&e),
            };
            if !a.dry_run {
                return crate::fail(&Error::usage(
                    "maa",
                    format!(
                        "sending to {url} and verifying MAA's token is not in this build; use --dry-run to print the request"
                    ),
                ));
            }
            eprintln!("POST {url}");
            println!("{}", serde_json::to_string_pretty(&body).unwrap_or_default());
            0
        }
    }
}
