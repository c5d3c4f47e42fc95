//! From measured values to the policy sections `verify --policy` reads ([`crate::policy`]):
//! `[snp] measurement`, `[tdx] mrtd`, `[nitro.pcrs]`. Each section is preceded by comments
//! naming every input and its digest, so a policy file says where its values came from.

use super::eif::EifMeasurement;
use super::gce::EndorsedValues;
use super::snp::{SevMode, SnpMeasurement};
use super::tdx::TdxMeasurement;
use super::{Input, bad_input};
use crate::error::Result;

fn comments(tool: &str, inputs: &[Input]) -> String {
    let mut s = format!("# {tool}\n");
    for i in inputs {
        s.push_str(&format!("#   {}: {}\n", i.name, i.value.replace('\n', " ")));
    }
    s
}

/// `[snp]` with the launch digest (SNP modes only: SEV/SEV-ES digests are not in any report
/// `verify` appraises, and an OVMF hash is not a launch digest).
pub fn snp_policy(m: &SnpMeasurement) -> Result<String> {
    if !matches!(m.mode, SevMode::Snp | SevMode::SnpSvsm) {
        return Err(bad_input(format!(
            "--emit-policy needs mode snp or snp:svsm (mode {} gives no SNP report MEASUREMENT)",
            m.mode.name()
        )));
    }
    Ok(format!(
        "{}[snp]\nmeasurement = \"{}\"\n",
        comments("cloud-ra measure snp", &m.inputs),
        hex::encode(&m.measurement)
    ))
}

/// `[tdx]` with MRTD and each RTMR that could be predicted (an unpredicted one is a comment
/// naming what is missing).
pub fn tdx_policy(m: &TdxMeasurement) -> String {
    let mut s = format!("{}[tdx]\nmrtd = \"{}\"\n", comments("cloud-ra measure tdx", &m.inputs), m.mrtd);
    for r in &m.rtmrs {
        match &r.value {
            Some(v) => s.push_str(&format!("rtmr{} = \"{v}\"\n", r.index)),
            None => s.push_str(&format!("# rtmr{}: not predicted ({})\n", r.index, r.missing.join("; "))),
        }
    }
    s
}

/// `[nitro.pcrs]` with PCR0, 1, 2 and (signed EIFs) 8.
pub fn nitro_policy(m: &EifMeasurement) -> String {
    let mut s = comments("cloud-ra measure nitro", &m.inputs);
    s.push_str("[nitro.pcrs]\n");
    s.push_str(&format!("\"0\" = \"{}\"\n\"1\" = \"{}\"\n\"2\" = \"{}\"\n", m.pcr0, m.pcr1, m.pcr2));
    if let Some(p8) = &m.pcr8 {
        s.push_str(&format!("\"8\" = \"{p8}\"\n"));
    }
    s
}

fn toml_list(v: &[String]) -> String {
    let items: Vec<String> = v.iter().map(|s| format!("\"{s}\"")).collect();
    format!("[{}]", items.join(", "))
}

/// `[snp] measurement` (the selected vCPU counts) and `[tdx] mrtd` (every endorsed
/// configuration) of a verified Google launch endorsement; `inputs` name the endorsement and root.
pub fn gce_policy(v: &EndorsedValues, inputs: &[Input]) -> Result<String> {
    let mut s = comments("cloud-ra measure gce-endorsement", inputs);
    s.push_str(&format!(
        "#   uefi_digest: {}\n#   signer: {} (sha256 {})\n",
        v.uefi_digest, v.signer.subject, v.signer.sha256
    ));
    let mut any = false;
    if let Some(snp) = v.snp.as_ref().filter(|p| !p.measurements.is_empty()) {
        let vcpus: Vec<String> = snp.measurements.keys().map(|k| k.to_string()).collect();
        s.push_str(&format!("# SNP measurements for {} vCPU(s)\n", vcpus.join(", ")));
        let m: Vec<String> = snp.measurements.values().cloned().collect();
        s.push_str(&format!("[snp]\nmeasurement = {}\n", toml_list(&m)));
        any = true;
    }
    if let Some(tdx) = v.tdx.as_ref().filter(|t| !t.measurements.is_empty()) {
        let mut m: Vec<String> = Vec::new();
        for x in &tdx.measurements {
            if !m.contains(&x.mrtd) {
                m.push(x.mrtd.clone());
            }
        }
        s.push_str(&format!("[tdx]\nmrtd = {}\n", toml_list(&m)));
        any = true;
    }
    if !any {
        return Err(bad_input("the endorsement carries no SNP measurement and no TDX MRTD: no policy to write"));
    }
    Ok(s)
}
