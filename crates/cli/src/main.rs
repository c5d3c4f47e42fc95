//! cloud-ra: the command line. Argument parsing and printing only; the work lives in the crates.

#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use cloud_ra_verify::Check;
use cloud_ra_verify::bundle::{Evidence, detect};
use cloud_ra_verify::snp::{Product, claims::report_fields};
use cloud_ra_verify::x509::{PkiObject, read_objects};
use cloud_ra_verify::{Collateral, Error, Policy, Timestamp, VerifyOptions, verify_evidence};
use input::{parse_product, read_file};
use print::fail;
use serde_json::{Value, json};
use std::process::ExitCode;

mod attest;
mod collateral;
mod compare;
mod demo;
mod eventlog;
mod input;
mod maa;
mod measure;
mod nitro;
mod print;
mod serve;
mod token;
mod tpm;

const LONG_ABOUT: &str = "cloud-ra collects attestation evidence on confidential machines and verifies it anywhere, offline if need be.

Exit codes: 0 verified and appraisal passed (affirming or warning); 1 usage error; 2 evidence invalid (format, signature, chain, binding); 3 collateral missing or unusable; 4 appraisal failed (policy, debug, TCB).";

#[derive(Parser)]
#[command(name = "cloud-ra", version = env!("CLOUD_RA_LONG_VERSION"), about = "Remote attestation for confidential computing on public clouds", long_about = LONG_ABOUT)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Verify evidence (raw SNP report, report + cert table, DCAP quote, Nitro document, Azure HCL report or trustee az-*-vtpm evidence, or a cloud-ra bundle) and appraise it.
    Verify(VerifyArgs),
    /// Print every field of an evidence file or certificate (human; --json for machines).
    Show {
        file: String,
        #[arg(long)]
        json: bool,
        /// Product line used to decode TCB fields of a v2 report.
        #[arg(long, value_parser = parse_product)]
        product: Option<Product>,
    },
    /// Collect evidence from the simulated SEV-SNP device with a fresh nonce and verify it, trusting the simulated root. No hardware needed.
    Demo {
        #[arg(long)]
        json: bool,
    },
    /// Collect evidence on this machine (or a simulated platform) into a cloud-ra evidence bundle.
    Attest(attest::AttestArgs),
    /// Which TEE, cloud and attestation interfaces this machine has (short form of survey).
    Detect(attest::DetectArgs),
    /// Every fact about this machine's confidential computing, each with its source and trust level.
    Survey(attest::SurveyArgs),
    /// Side-by-side comparison of survey files (Markdown, or --html for a standalone page).
    Compare(compare::CompareArgs),
    /// Reference values from launch artefacts: SNP launch digest (OVMF), TDX MRTD (TDVF), Nitro PCRs (EIF); --emit-policy writes the policy section.
    #[command(subcommand)]
    Measure(measure::MeasureCmd),
    /// AWS Nitro Enclaves: the enclave's document server and the parent's verifying client.
    #[command(subcommand)]
    Nitro(nitro::NitroCmd),
    /// Collateral (AMD KDS, Intel PCS/PCCS, Azure THIM, AWS root): fetch into the cache, list, export/import offline bundles.
    #[command(subcommand)]
    Collateral(collateral::CollateralCmd),
    /// Measured boot: decode (show) or replay TCG event logs and TDX CCELs, optionally against a verified quote.
    #[command(subcommand)]
    Eventlog(eventlog::EventlogCmd),
    /// Microsoft Azure Attestation: build the request bodies the seed sends (SevSnpVm, TdxVm, SgxEnclave), send them, verify tokens as a relying party.
    #[command(subcommand)]
    Maa(maa::MaaCmd),
    /// TPM: persistent keys (list, create EK/AK) and quotes (device:/dev/tpmrm0, swtpm:, mssim:).
    #[command(subcommand)]
    Tpm(tpm::TpmCmd),
    /// The verifier service: Veraison challenge-response API, one-shot verification, signed EAR results (JWKS),
    /// audit store on SQLite or PostgreSQL, metrics and a dashboard.
    Serve(serve::ServeArgs),
    /// Attestation results (EAR JWTs) from `cloud-ra serve`, checked as a relying party would.
    #[command(subcommand)]
    Token(token::TokenCmd),
}

#[derive(clap::Args)]
struct VerifyArgs {
    /// Evidence file: raw 1184-byte SNP report, report followed by its certificate table, DCAP quote,
    /// Nitro document, Azure HCL report (NV 0x01400001), CoCo trustee az-snp-vtpm/az-tdx-vtpm
    /// evidence JSON, or a cloud-ra bundle (incl. azure-snp-vtpm / azure-tdx-vtpm).
    evidence: String,
    /// Certificate, chain or CRL file (PEM or DER; kind detected from content). Repeatable.
    #[arg(long)]
    collateral: Vec<String>,
    /// Evaluation time (RFC 3339). Default: now. For Nitro, `document` evaluates certificates at
    /// the document's own signed timestamp (archived documents; bound its age with nitro.max_age).
    #[arg(long)]
    at: Option<String>,
    /// Policy file (TOML or JSON).
    #[arg(long)]
    policy: Option<String>,
    /// Event log to replay against the verified registers (TPM log or CCEL, detected from content). Repeatable.
    #[arg(long)]
    eventlog: Vec<String>,
    /// The nonce the verifier issued (hex, up to 64 bytes): REPORT_DATA must equal it, zero-padded.
    /// Azure vTPM: the quote's extraData must equal it (or a fresh HCL report's user-data carry it).
    #[arg(long)]
    nonce: Option<String>,
    /// Product line for reports that do not carry CPUID (v2).
    #[arg(long, value_parser = parse_product)]
    product: Option<Product>,
    /// Accept a guest whose policy allows debugging.
    #[arg(long)]
    allow_debug: bool,
    /// Require a CRL issued by the ARK and check revocation.
    #[arg(long)]
    require_crl: bool,
    /// Trust cloud-ra's simulated roots (never do this for real evidence).
    #[arg(long)]
    trust_simulated: bool,
    /// Do not offer the AMD ARK/ASK certificates shipped with cloud-ra (from the `sev` crate) as collateral.
    #[arg(long)]
    no_builtin_certs: bool,
    /// One JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Collateral sources and cache: the cache is used automatically; missing required
    /// collateral is fetched unless --offline.
    #[command(flatten)]
    sources: collateral::SourceArgs,
}

fn main() -> ExitCode {
    // Die quietly on a closed pipe (`cloud-ra show ... | head`), as Unix tools do.
    cloud_ra_attest::restore_default_sigpipe();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let code = match cli.cmd {
        Cmd::Verify(a) => run_verify(a),
        Cmd::Show { file, json, product } => run_show(&file, json, product),
        Cmd::Demo { json } => demo::run_demo(json),
        Cmd::Attest(a) => attest::run_attest(a),
        Cmd::Detect(a) => attest::run_detect(a),
        Cmd::Survey(a) => attest::run_survey(a),
        Cmd::Compare(a) => compare::run(a),
        Cmd::Measure(c) => measure::run(c),
        Cmd::Nitro(c) => nitro::run(c),
        Cmd::Collateral(c) => collateral::run(c),
        Cmd::Eventlog(c) => eventlog::run(c),
        Cmd::Maa(c) => maa::run(c),
        Cmd::Tpm(c) => tpm::run(c),
        Cmd::Serve(a) => serve::run_serve(a),
        Cmd::Token(c) => token::run(c),
    };
    ExitCode::from(code as u8)
}

fn run_verify(a: VerifyArgs) -> i32 {
    let evidence = match read_file(&a.evidence, "evidence") {
        Ok(b) => b,
        Err(e) => return fail(&e),
    };
    let opts = match verify_options(&a) {
        Ok(o) => o,
        Err(e) => return fail(&e),
    };
    let mut collateral = Collateral::default();
    for path in &a.collateral {
        let r = read_file(path, "collateral").and_then(|b| collateral.add_file(path, &b));
        if let Err(e) = r {
            return fail(&e);
        }
    }
    if !a.no_builtin_certs {
        collateral.merge(&cloud_ra_collateral::builtin_amd());
    }
    if a.trust_simulated {
        collateral.merge(&cloud_ra_collateral::simulated_amd());
    }
    let require_crl = opts.policy.require_crl.unwrap_or(false);
    match collateral::for_verify(&a.sources, &evidence, &collateral, opts.product, require_crl, opts.at) {
        Ok(c) => collateral.merge(&c),
        Err(e) => return fail(&e),
    }
    let outcome = verify_evidence(&evidence, &collateral, &opts, None);
    print::outcome(&outcome, a.json);
    outcome.exit_code()
}

fn verify_options(a: &VerifyArgs) -> Result<VerifyOptions, Error> {
    let (at, use_document_time) = match a.at.as_deref() {
        Some("document") => (Timestamp::now(), true),
        Some(s) => (Timestamp::parse_rfc3339(s)?, false),
        None => (Timestamp::now(), false),
    };
    let mut opts = VerifyOptions::at(at);
    opts.use_document_time = use_document_time;
    if let Some(p) = &a.policy {
        let text = String::from_utf8(read_file(p, "policy")?)
            .map_err(|_| Error::usage(Check::Policy, format!("{p} is not UTF-8 text")))?;
        opts.policy = Policy::parse(p, &text)?;
    }
    if let Some(n) = &a.nonce {
        let v = cloud_ra_verify::policy::parse_hex("nonce", n, 64)?;
        if v.is_empty() {
            return Err(Error::usage(Check::Nonce, "--nonce is empty"));
        }
        opts.nonce = Some(v);
    }
    for path in &a.eventlog {
        opts.eventlogs.push(eventlog::load(path, None, eventlog::LogKind::Auto)?);
    }
    opts.product = a.product;
    opts.allow_debug = a.allow_debug;
    opts.trust_simulated = a.trust_simulated;
    if a.require_crl {
        opts.policy.require_crl = Some(true);
    }
    Ok(opts)
}

fn run_show(file: &str, json_out: bool, product: Option<Product>) -> i32 {
    let bytes = match read_file(file, "input") {
        Ok(b) => b,
        Err(e) => return fail(&e),
    };
    let value = match detect(&bytes) {
        Ok(d) => match &d.evidence {
            Evidence::Snp { report, cert_table } => match cloud_ra_verify::snp::Report::parse(report) {
                Ok(r) => {
                    let product = product.or_else(|| r.product_from_cpuid());
                    let table: Vec<Value> = cert_table
                        .iter()
                        .map(|e| {
                            let mut v = json!({"guid": cloud_ra_verify::snp::format::guid_string(&e.guid), "kind": e.kind, "bytes": e.data.len()});
                            if let Ok(objs) = read_objects(&e.data) {
                                v["objects"] = Value::Array(objs.iter().map(object_json).collect());
                            }
                            v
                        })
                        .collect();
                    json!({"detected": d.what, "product": product, "report": report_fields(&r, product), "cert_table": table})
                }
                Err(e) => return fail(&e),
            },
            Evidence::Nitro { document } => match cloud_ra_verify::nitro::Document::parse(document) {
                Ok(doc) => json!({
                    "detected": d.what,
                    "cose": {"tagged": doc.cose.tagged, "alg": doc.cose.alg.to_string(), "protected": hex::encode(&doc.cose.protected), "signature": hex::encode(&doc.cose.signature)},
                    "document": cloud_ra_verify::nitro::claims::document_fields(&doc.doc),
                    "certificates": doc.doc.cabundle.iter().chain(std::iter::once(&doc.doc.certificate)).map(|c| match read_objects(c) {
                        Ok(objs) => objs.iter().map(object_json).collect::<Vec<_>>().into(),
                        Err(e) => json!({"error": e}),
                    }).collect::<Vec<Value>>(),
                }),
                Err(e) => return fail(&e),
            },
            Evidence::Dcap { quote } => match cloud_ra_verify::dcap::Quote::parse(quote) {
                Ok(q) => json!({"detected": d.what, "quote": cloud_ra_verify::dcap::claims::quote_fields(&q)}),
                Err(e) => return fail(&e),
            },
            Evidence::GceVtpm(a) => show_gce(&d.what, a),
            Evidence::AzureVtpm(e) => match show_azure(e, product) {
                Ok(mut v) => {
                    v["detected"] = json!(d.what);
                    v
                }
                Err(e) => return fail(&e),
            },
        },
        Err(evidence_err) => match read_objects(&bytes) {
            Ok(objs) => {
                json!({"detected": "certificates/CRLs", "objects": objs.iter().map(object_json).collect::<Vec<_>>()})
            }
            Err(_) => return fail(&evidence_err),
        },
    };
    if json_out {
        println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
    } else {
        print::tree(&value, 0);
    }
    0
}

/// `show` of Azure evidence: the HCL report (header, request data, hardware report, runtime
/// claims), the TPM quote and AK public when present, the TD quote.
fn show_azure(e: &cloud_ra_verify::azure::AzureEvidence, product: Option<Product>) -> Result<Value, Error> {
    use cloud_ra_verify::azure::{HclReport, Tee, claims as az};
    use cloud_ra_verify::tpm::{AkPublic, Attest, Signature};
    let h = HclReport::parse(&e.hcl_report)?;
    let hw = match h.tee {
        Tee::Snp => {
            let r = cloud_ra_verify::snp::Report::parse(&h.hw_report)?;
            report_fields(&r, product.or_else(|| r.product_from_cpuid()))
        }
        Tee::Tdx => cloud_ra_verify::azure::format::td_report_fields(&h.hw_report),
    };
    let mut v = json!({
        "hcl_report": az::hcl_fields(&h),
        "binding": {
            "report_data": hex::encode(h.report_data()),
            "expected": hex::encode(h.expected_report_data()),
            "holds": h.report_data() == h.expected_report_data(),
        },
        "hardware_report": hw,
        "runtime_claims": az::runtime_claims_fields(&h),
    });
    if let Some(q) = &e.quote {
        let a = Attest::parse(&q.attest)?;
        let s = Signature::parse(&q.signature)?;
        let pcrs = a.split_pcrs(&q.pcrs)?;
        let pcrs: serde_json::Map<String, Value> = pcrs
            .iter()
            .map(|(b, m)| (b.name(), m.iter().map(|(i, x)| (i.to_string(), json!(hex::encode(x)))).collect()))
            .collect();
        let mut quote = json!({"magic": "TPM_GENERATED_VALUE", "type": "TPM_ST_ATTEST_QUOTE"});
        if let (Some(q), Value::Object(fields)) = (quote.as_object_mut(), a.to_json()) {
            q.extend(fields);
        }
        quote["signature"] = json!({"scheme": s.scheme_name(), "bytes": s.sig.len()});
        quote["pcrs"] = json!(pcrs);
        v["tpm_quote"] = quote;
    }
    if let Some(p) = &e.ak_public {
        let ak = AkPublic::parse(p)?;
        v["ak_public"] =
            json!({"sha256": ak.params.fingerprint(), "same_as_hclakpub": ak.params.same_key(&h.claims.ak_pub.params)});
    }
    if let Some(q) = &e.td_quote {
        let q = cloud_ra_verify::dcap::Quote::parse(q)?;
        v["td_quote"] = cloud_ra_verify::dcap::claims::quote_fields(&q);
    }
    Ok(v)
}

fn object_json(o: &PkiObject) -> Value {
    match o {
        PkiObject::Certificate(c) => json!({
            "type": "certificate", "subject": c.subject, "issuer": c.issuer, "serial": hex::encode(&c.serial),
            "not_before": Timestamp(c.not_before).to_rfc3339(), "not_after": Timestamp(c.not_after).to_rfc3339(),
            "sha256": c.fingerprint_hex(), "signature_algorithm": c.sig_alg_oid, "ca": c.is_ca,
            "extensions": c.extensions.iter().map(|e| json!({"oid": e.oid, "critical": e.critical, "value": hex::encode(&e.value)})).collect::<Vec<_>>(),
        }),
        PkiObject::Crl(c) => json!({
            "type": "crl", "issuer": c.issuer, "this_update": Timestamp(c.this_update).to_rfc3339(),
            "next_update": c.next_update.map(|t| Timestamp(t).to_rfc3339()), "revoked": c.revoked.iter().map(hex::encode).collect::<Vec<_>>(),
            "sha256": hex::encode(c.sha256),
        }),
    }
}

/// `show` of a go-tpm-tools Attestation: every field, the TPM structures decoded where they parse.
fn show_gce(what: &str, a: &cloud_ra_verify::tpm::gotpm::Attestation) -> Value {
    use cloud_ra_verify::tpm::{AkPublic, Attest, Signature};
    let quotes: Vec<Value> = a
        .quotes
        .iter()
        .map(|q| {
            let mut pcrs = serde_json::Map::new();
            for (i, v) in &q.pcrs.values {
                pcrs.insert(i.to_string(), json!(hex::encode(v)));
            }
            json!({
                "bank": q.pcrs.hash.name(),
                "attest": match Attest::parse(&q.quote) {
                    Ok(at) => json!({"extra_data": hex::encode(&at.extra_data), "clock": at.clock,
                        "reset_count": at.reset_count, "restart_count": at.restart_count, "safe": at.safe,
                        "firmware_version": format!("{:#018x}", at.firmware_version),
                        "selection": at.selection.iter().map(|(b, i)| json!({"bank": b.name(), "pcrs": i})).collect::<Vec<_>>(),
                        "pcr_digest": hex::encode(&at.pcr_digest)}),
                    Err(e) => json!({"error": e.to_string()}),
                },
                "signature": match Signature::parse(&q.raw_sig) {
                    Ok(s) => json!(s.scheme_name()),
                    Err(e) => json!({"error": e.to_string()}),
                },
                "pcrs": pcrs,
            })
        })
        .collect();
    let cert = |d: &[u8]| match read_objects(d) {
        Ok(objs) => objs.iter().map(object_json).collect::<Vec<_>>().into(),
        Err(e) => json!({"error": e}),
    };
    json!({
        "detected": what,
        "ak_pub": match AkPublic::parse(&a.ak_pub) {
            Ok(k) => json!({"sha256": k.params.fingerprint(), "name_alg": k.name_alg}),
            Err(e) => json!({"error": e.to_string()}),
        },
        "quotes": quotes,
        "event_log_bytes": a.event_log.len(),
        "canonical_event_log_bytes": a.canonical_event_log.len(),
        "instance_info": a.instance_info,
        "ak_cert": if a.ak_cert.is_empty() { Value::Null } else { cert(&a.ak_cert) },
        "intermediate_certs": a.intermediate_certs.iter().map(|c| cert(c)).collect::<Vec<_>>(),
        "tee_attestation": a.tee_attestation.as_ref().map(|(n, b)| json!({"field": n, "bytes": b.len()})),
        "unknown_fields": a.unknown_fields,
    })
}
