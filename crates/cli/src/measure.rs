//! `cloud-ra measure`: reference values from launch artefacts. Reads the files, calls
//! `cloud_ra_verify::measure`, prints (human or --json) and optionally writes the policy section.

use crate::print::fail;
use clap::{Args, Subcommand};
use cloud_ra_verify::Check;
use cloud_ra_verify::Error;
use cloud_ra_verify::Timestamp;
use cloud_ra_verify::measure::{Input, eif, emit, gce, parse_hex_exact, snp, tdx, to_json};

/// Largest firmware, kernel or initrd read (bytes).
const MAX_INPUT: u64 = 1 << 30;

#[derive(Subcommand)]
pub enum MeasureCmd {
    /// AMD SEV/SEV-ES/SEV-SNP launch digest (the SNP report's MEASUREMENT) from OVMF; sev-snp-measure's flags.
    Snp(Box<SnpArgs>),
    /// Intel TDX MRTD from a TDVF/OVMF image, and RTMR0..2 for a QEMU direct boot (TD HOB, CFV, kernel, initrd, command line).
    Tdx(TdxArgs),
    /// AWS Nitro Enclaves PCR0, PCR1, PCR2 and (signed images) PCR8 of an enclave image file, as nitro-cli describe-eif.
    Nitro(NitroArgs),
    /// Google's signed launch endorsement of a GCE Confidential VM UEFI: verify it to a root and print the endorsed SNP MEASUREMENTs and TDX MRTDs.
    GceEndorsement(GceArgs),
}

#[derive(Args)]
pub struct Output {
    /// One JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Write the policy section (`[snp]`, `[tdx]`, `[nitro.pcrs]`) that `verify --policy` reads to FILE ("-" = stdout).
    #[arg(long, value_name = "FILE")]
    emit_policy: Option<String>,
}

#[derive(Args)]
pub struct SnpArgs {
    /// Guest mode: snp, seves, sev, snp:ovmf-hash (digest of the OVMF pages only) or snp:svsm.
    #[arg(long)]
    mode: String,
    /// Number of guest vCPUs (required except in sev and snp:ovmf-hash modes).
    #[arg(long, value_name = "N")]
    vcpus: Option<u32>,
    /// QEMU vCPU model whose CPUID signature goes into the VMSA, e.g. EPYC-v4, EPYC-Milan, EPYC-Genoa.
    #[arg(long, value_name = "NAME")]
    vcpu_type: Option<String>,
    /// vCPU CPUID signature (CPUID Fn0000_0001_EAX), decimal or 0x-hex.
    #[arg(long, value_name = "N")]
    vcpu_sig: Option<String>,
    /// vCPU family (with --vcpu-model and --vcpu-stepping).
    #[arg(long)]
    vcpu_family: Option<u32>,
    /// vCPU model (with --vcpu-family).
    #[arg(long)]
    vcpu_model: Option<u32>,
    /// vCPU stepping (with --vcpu-family).
    #[arg(long)]
    vcpu_stepping: Option<u32>,
    /// VMM that builds the initial VMSAs: qemu, ec2 or gce.
    #[arg(long, default_value = "qemu")]
    vmm_type: String,
    /// EC2 VMSA generation: current (RDX 0x600, EC2 since 2026) or legacy (RDX 0, before sev-snp-measure 4a02bf0).
    #[arg(long, default_value = "current")]
    ec2_vmsa: String,
    /// OVMF firmware image.
    #[arg(long, value_name = "FILE")]
    ovmf: String,
    /// Kernel for measured direct boot (its SHA-256 goes into the SEV hashes table).
    #[arg(long, value_name = "FILE")]
    kernel: Option<String>,
    /// Initrd for measured direct boot (with --kernel).
    #[arg(long, value_name = "FILE")]
    initrd: Option<String>,
    /// Kernel command line for measured direct boot (with --kernel).
    #[arg(long, value_name = "TEXT")]
    append: Option<String>,
    /// SEV_FEATURES of the guest VMSAs, hex (0x1 = SNPActive; 0x21 adds DebugSwap, host kernels 6.6+).
    #[arg(long, value_name = "HEX", default_value = "0x1")]
    guest_features: String,
    /// Precomputed OVMF hash (hex, from --mode snp:ovmf-hash) to continue from instead of hashing the OVMF pages.
    #[arg(long, value_name = "HEX")]
    snp_ovmf_hash: Option<String>,
    /// Coconut-SVSM image (snp:svsm mode).
    #[arg(long, value_name = "FILE")]
    svsm: Option<String>,
    /// Size in bytes of the OVMF vars area between the SVSM and OVMF (snp:svsm mode).
    #[arg(long, value_name = "N")]
    vars_size: Option<u64>,
    #[command(flatten)]
    out: Output,
}

#[derive(Args)]
pub struct TdxArgs {
    /// TDVF/OVMF firmware image.
    #[arg(long, value_name = "FILE")]
    firmware: String,
    /// Kernel file (its SHA-384 is printed as a component).
    #[arg(long, value_name = "FILE")]
    kernel: Option<String>,
    /// Initrd (its SHA-384, the digest OVMF extends, is printed as a component).
    #[arg(long, value_name = "FILE")]
    initrd: Option<String>,
    /// Kernel command line (its RTMR event digest, SHA-384 of UTF-16LE with NUL, is printed).
    #[arg(long, value_name = "TEXT")]
    append: Option<String>,
    /// Guest RAM in MiB: QEMU's TD HOB (RTMR0) and, with an initrd, the initrd address QEMU writes into the kernel header (RTMR1).
    #[arg(long, value_name = "MIB")]
    memory: Option<u64>,
    /// Digest (SHA-384 hex) of one of RTMR0's three ACPI DATA events, in log order: etc/table-loader, etc/acpi/rsdp, etc/acpi/tables. Give it three times.
    #[arg(long, value_name = "HEX")]
    acpi_digest: Vec<String>,
    /// The OVMF logs an EV_SEPARATOR into RTMR1 after "Calling EFI Application from Boot Option" (newer OVMF builds, e.g. dstack's).
    #[arg(long)]
    rtmr1_separator: bool,
    #[command(flatten)]
    out: Output,
}

#[derive(Args)]
pub struct GceArgs {
    /// The endorsement (`VMLaunchEndorsement` protobuf, Google's `<uefi digest>.binarypb`).
    endorsement: String,
    /// Trusted root certificate(s), PEM or DER (Google's `GCE-cc-tcb-root`).
    #[arg(long, value_name = "FILE")]
    root: String,
    /// Evaluation time for the certificate validity, RFC 3339 (default: now).
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// Print only the SNP measurements for these vCPU counts (repeatable or comma-separated; default: all endorsed).
    #[arg(long, value_name = "N", value_delimiter = ',')]
    vcpus: Vec<u32>,
    /// Also check that this firmware image is the endorsed one (its SHA-384 equals the endorsed digest).
    #[arg(long, value_name = "FILE")]
    firmware: Option<String>,
    #[command(flatten)]
    out: Output,
}

#[derive(Args)]
pub struct NitroArgs {
    /// Enclave image file (.eif).
    eif: String,
    #[command(flatten)]
    out: Output,
}

pub fn run(c: MeasureCmd) -> i32 {
    let r = match c {
        MeasureCmd::Snp(a) => run_snp(*a),
        MeasureCmd::Tdx(a) => run_tdx(a),
        MeasureCmd::Nitro(a) => run_nitro(a),
        MeasureCmd::GceEndorsement(a) => run_gce(a),
    };
    match r {
        Ok(()) => 0,
        Err(e) => fail(&e),
    }
}

fn read_big(path: &str, what: &str) -> Result<Vec<u8>, Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error::usage(Check::Input, format!("{what} {path}: {e}")))?;
    if meta.len() > MAX_INPUT {
        return Err(Error::usage(Check::Input, format!("{what} {path} is {} bytes, too large", meta.len())));
    }
    std::fs::read(path).map_err(|e| Error::usage(Check::Input, format!("{what} {path}: {e}")))
}

fn read_opt(path: &Option<String>, what: &str) -> Result<Option<Vec<u8>>, Error> {
    path.as_deref().map(|p| read_big(p, what)).transpose()
}

fn parse_int(what: &str, s: &str) -> Result<u64, Error> {
    let t = s.trim();
    let r = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => t.parse(),
    };
    r.map_err(|_| Error::usage(Check::MeasureInput, format!("{what} '{s}' is not a number")))
}

fn emit_policy(out: &Output, text: Result<String, Error>) -> Result<(), Error> {
    let Some(path) = &out.emit_policy else { return Ok(()) };
    let text = text?;
    if path == "-" {
        print!("{text}");
        return Ok(());
    }
    std::fs::write(path, text).map_err(|e| Error::usage(Check::Output, format!("policy {path}: {e}")))
}

/// `--emit-policy` and `--json`: writes the policy where asked and prints the JSON if asked; true
/// when stdout is complete (the policy went to stdout, or the JSON was printed).
fn machine_output(
    out: &Output,
    policy: impl FnOnce() -> Result<String, Error>,
    json: impl FnOnce() -> serde_json::Value,
) -> Result<bool, Error> {
    if out.emit_policy.is_some() {
        emit_policy(out, policy())?;
        if out.emit_policy.as_deref() == Some("-") {
            return Ok(true);
        }
    }
    if out.json {
        crate::print::json(&json());
        return Ok(true);
    }
    Ok(false)
}

fn print_inputs(inputs: &[Input]) {
    println!("inputs:");
    for i in inputs {
        println!("  {:<15} {}", i.name, i.value);
    }
}

fn run_snp(a: SnpArgs) -> Result<(), Error> {
    let mode = snp::SevMode::parse(&a.mode)?;
    let sig = match (&a.vcpu_family, &a.vcpu_sig, &a.vcpu_type) {
        (Some(f), _, _) => Some(snp::cpu_sig(
            *f,
            a.vcpu_model.ok_or_else(|| Error::usage(Check::MeasureInput, "--vcpu-family needs --vcpu-model"))?,
            a.vcpu_stepping.ok_or_else(|| Error::usage(Check::MeasureInput, "--vcpu-family needs --vcpu-stepping"))?,
        )?),
        (None, Some(s), _) => Some(
            u32::try_from(parse_int("--vcpu-sig", s)?)
                .map_err(|_| Error::usage(Check::MeasureInput, format!("--vcpu-sig {s} does not fit 32 bits")))?,
        ),
        (None, None, Some(t)) => Some(snp::vcpu_sig_by_name(t)?),
        (None, None, None) => None,
    };
    let vcpus = match (mode, a.vcpus) {
        (snp::SevMode::Sev | snp::SevMode::SnpOvmfHash, v) => v.unwrap_or(1),
        (_, Some(v)) => v,
        (_, None) => return Err(Error::usage(Check::MeasureInput, format!("mode {} needs --vcpus N", mode.name()))),
    };
    if mode == snp::SevMode::SnpSvsm && a.vars_size.is_none() {
        return Err(Error::usage(Check::MeasureInput, "mode snp:svsm needs --vars-size"));
    }
    let ovmf = read_big(&a.ovmf, "OVMF")?;
    let kernel = read_opt(&a.kernel, "kernel")?;
    let initrd = read_opt(&a.initrd, "initrd")?;
    let svsm = read_opt(&a.svsm, "SVSM")?;
    let mut i = snp::SnpInputs::new(mode, &ovmf);
    i.vcpus = vcpus;
    i.vcpu_sig = sig;
    i.vmm = snp::VmmType::parse(&a.vmm_type)?;
    i.ec2_vmsa = snp::Ec2Vmsa::parse(&a.ec2_vmsa)?;
    i.kernel = kernel.as_deref();
    i.initrd = initrd.as_deref();
    i.append = a.append.as_deref();
    i.guest_features =
        parse_int("--guest-features", &format!("0x{}", a.guest_features.trim().trim_start_matches("0x")))?;
    i.ovmf_hash = a.snp_ovmf_hash.as_deref().map(|h| parse_hex_exact::<48>("--snp-ovmf-hash", h)).transpose()?;
    i.svsm = svsm.as_deref();
    i.vars_size = a.vars_size.unwrap_or(0);
    let m = snp::launch_digest(&i)?;
    if machine_output(&a.out, || emit::snp_policy(&m), || to_json(&m))? {
        return Ok(());
    }
    let what = match mode {
        snp::SevMode::Sev => "SEV launch digest",
        snp::SevMode::SevEs => "SEV-ES launch digest",
        snp::SevMode::Snp | snp::SevMode::SnpSvsm => "SNP launch digest (MEASUREMENT)",
        snp::SevMode::SnpOvmfHash => "SNP OVMF hash",
    };
    println!("{what}: {}", hex::encode(&m.measurement));
    if let (Some(h), true) = (&m.ovmf_hash, mode != snp::SevMode::SnpOvmfHash) {
        println!("  ovmf_hash       {}", hex::encode(h));
    }
    if m.vmsa_pages > 0 {
        println!("  vmsa_pages      {}", m.vmsa_pages);
    }
    print_inputs(&m.inputs);
    Ok(())
}

fn run_tdx(a: TdxArgs) -> Result<(), Error> {
    let fw = read_big(&a.firmware, "firmware")?;
    let kernel = read_opt(&a.kernel, "kernel")?;
    let initrd = read_opt(&a.initrd, "initrd")?;
    let acpi_digests =
        a.acpi_digest.iter().map(|h| parse_hex_exact::<48>("--acpi-digest", h)).collect::<Result<Vec<_>, Error>>()?;
    let i = tdx::TdxInputs {
        firmware: &fw,
        kernel: kernel.as_deref(),
        initrd: initrd.as_deref(),
        append: a.append.as_deref(),
        memory_mib: a.memory,
        acpi_digests,
        rtmr1_separator: a.rtmr1_separator,
    };
    let m = tdx::measure(&i)?;
    if machine_output(&a.out, || Ok(emit::tdx_policy(&m)), || to_json(&m))? {
        return Ok(());
    }
    println!("mrtd: {}", m.mrtd);
    println!("TDX metadata sections (measured in this order):");
    for s in &m.sections {
        println!(
            "  {:<8} GPA {:>12} size {:>10} image offset {:>9}{}",
            s.kind,
            s.gpa,
            s.size,
            s.data_offset,
            if s.extend_mr { "  MR.EXTEND" } else { "" }
        );
    }
    if !m.components.is_empty() {
        println!("RTMR event digests:");
        for c in &m.components {
            println!("  {:<18} {}", c.name, c.value);
        }
    }
    for r in &m.rtmrs {
        match &r.value {
            Some(v) => println!("rtmr{}: {v}", r.index),
            None => println!("rtmr{}: not predicted", r.index),
        }
        for e in &r.events {
            println!("  {:<34} {}  {}", e.event_type, e.digest, e.what);
        }
        for w in &r.missing {
            println!("  missing: {w}");
        }
    }
    print_inputs(&m.inputs);
    Ok(())
}

fn run_nitro(a: NitroArgs) -> Result<(), Error> {
    let b = read_big(&a.eif, "EIF")?;
    let m = eif::measure(&b)?;
    if machine_output(&a.out, || Ok(emit::nitro_policy(&m)), || to_json(&m))? {
        return Ok(());
    }
    println!("pcr0: {}", m.pcr0);
    println!("pcr1: {}", m.pcr1);
    println!("pcr2: {}", m.pcr2);
    match &m.pcr8 {
        Some(p) => println!("pcr8: {p}"),
        None => println!("pcr8: (unsigned image)"),
    }
    println!("EIF version {}, CRC-32 {}; sections:", m.version, m.crc32);
    for s in &m.sections {
        println!("  {:<10} offset {:#10x} size {:#10x} sha384 {}", format!("{:?}", s.kind), s.offset, s.size, s.sha384);
    }
    print_inputs(&m.inputs);
    Ok(())
}

fn file_input(name: &str, data: &[u8]) -> Input {
    Input {
        name: name.to_string(),
        value: format!("{} bytes, sha256 {}", data.len(), hex::encode(cloud_ra_verify::crypto::sha256(data))),
    }
}

fn run_gce(a: GceArgs) -> Result<(), Error> {
    let b = read_big(&a.endorsement, "endorsement")?;
    let root_bytes = read_big(&a.root, "root")?;
    let roots = gce::certificates(&format!("root {}", a.root), &root_bytes)?;
    let at = match &a.at {
        Some(s) => Timestamp::parse_rfc3339(s)?,
        None => Timestamp::now(),
    };
    let v = gce::verify(&b, &roots, at, &a.vcpus)?;
    let mut inputs = vec![file_input("endorsement", &b), file_input("root", &root_bytes)];
    inputs.push(Input { name: "at".into(), value: at.to_rfc3339() });
    if let Some(f) = &a.firmware {
        let fw = read_big(f, "firmware")?;
        let d = hex::encode(cloud_ra_verify::crypto::sha384(&fw));
        if d != v.uefi_digest {
            return Err(Error::evidence(
                Check::MeasureEndorsement,
                format!("firmware {f}: SHA-384 {d} is not the endorsed UEFI digest {}", v.uefi_digest),
            ));
        }
        inputs.push(file_input("firmware", &fw));
    }
    if machine_output(&a.out, || emit::gce_policy(&v, &inputs), || to_json(&v))? {
        return Ok(());
    }
    println!("endorsement: verified (RSASSA-PSS SHA-256) at {}", v.verified_at);
    println!("  signer          {} (sha256 {})", v.signer.subject, v.signer.sha256);
    println!("  valid           {} .. {}", v.signer.not_before, v.signer.not_after);
    println!("  chain           {}", v.chain.join(" <- "));
    println!("uefi_digest: {}", v.uefi_digest);
    if let Some(t) = &v.timestamp {
        println!("  built           {t} (cl {}, commit {})", v.cl_spec, v.commit);
    }
    match &v.snp {
        Some(s) => {
            println!("snp: svn {}, policy {}, family_id {}, image_id {}", s.svn, s.policy, s.family_id, s.image_id);
            for (n, m) in &s.measurements {
                println!("  measurement ({n} vCPU{}) {m}", if *n == 1 { "" } else { "s" });
            }
        }
        None => println!("snp: not endorsed"),
    }
    match &v.tdx {
        Some(t) => {
            println!("tdx: svn {}", t.svn);
            for m in &t.measurements {
                println!("  mrtd ({} GiB{}) {}", m.ram_gib, if m.early_accept { ", early accept" } else { "" }, m.mrtd);
            }
        }
        None => println!("tdx: not endorsed"),
    }
    print_inputs(&inputs);
    Ok(())
}
