//! Reference-value vectors: the 29 SEV/SEV-ES/SNP launch-digest cases of
//! `refvals/snp/expected_launch_digests.json`, the CleanExample MRTD and the RTMR component
//! vectors of `refvals/tdx/expected_tdx_components.json`, read in place from the shared vectors.

use cloud_ra_sim::testdata;
use cloud_ra_verify::measure::snp::{self, Ec2Vmsa, SevMode, SnpInputs, VmmType};
use cloud_ra_verify::measure::tdx;
use serde_json::Value;

fn json(rel: &str) -> Value {
    serde_json::from_slice(&testdata::read(rel)).expect("vector JSON")
}

fn file_of(v: &Value) -> Option<Vec<u8>> {
    match v.as_str() {
        None => None,
        Some(s) if s.starts_with("EMPTY") => Some(Vec::new()),
        Some(s) => Some(testdata::read(s.split(' ').next().unwrap_or(s))),
    }
}

/// Runs one case; Err(description) when it does not reproduce.
fn run_case(c: &Value) -> Result<(), String> {
    let mode = match c["mode"].as_str().unwrap_or("") {
        "SEV" => SevMode::Sev,
        "SEV_ES" => SevMode::SevEs,
        "SEV_SNP" => SevMode::Snp,
        "SEV_SNP_SVSM" => SevMode::SnpSvsm,
        m => return Err(format!("unknown mode {m}")),
    };
    let vmm_s = c["vmm_type"].as_str().unwrap_or("");
    let (vmm, ec2_vmsa) = match vmm_s.split(' ').next().unwrap_or("").to_ascii_lowercase().as_str() {
        "qemu" => (VmmType::Qemu, Ec2Vmsa::Current),
        "ec2" if vmm_s.contains("rdx=0") => (VmmType::Ec2, Ec2Vmsa::Legacy),
        "ec2" => (VmmType::Ec2, Ec2Vmsa::Current),
        "gce" => (VmmType::Gce, Ec2Vmsa::Current),
        v => return Err(format!("unknown vmm {v}")),
    };
    let mut sig = c["vcpu_sig"].as_str().map(|s| u32::from_str_radix(s.trim_start_matches("0x"), 16).unwrap());
    if let Some(t) = c["vcpu_type"].as_str() {
        let by_name = snp::vcpu_sig_by_name(t).map_err(|e| e.to_string())?;
        if sig.is_some_and(|s| s != by_name) {
            return Err(format!("vcpu type {t} gives {by_name:#x}, the case says {sig:?}"));
        }
        sig = Some(by_name);
    }
    let ovmf = file_of(&c["ovmf"]).ok_or("no ovmf")?;
    let kernel = file_of(&c["kernel"]);
    let initrd = file_of(&c["initrd"]);
    let svsm = file_of(&c["svsm"]);
    let features = c["guest_features"].as_str().map(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap());
    let ovmf_hash: Option<[u8; 48]> =
        c["precomputed_ovmf_hash"].as_str().map(|h| hex::decode(h).unwrap().try_into().unwrap());
    let mut i = SnpInputs::new(mode, &ovmf);
    i.vcpus = c["vcpus"].as_u64().unwrap() as u32;
    i.vcpu_sig = sig;
    i.vmm = vmm;
    i.ec2_vmsa = ec2_vmsa;
    i.kernel = kernel.as_deref();
    i.initrd = initrd.as_deref();
    i.append = c["append"].as_str();
    i.guest_features = features.unwrap_or(1);
    i.ovmf_hash = ovmf_hash;
    i.svsm = svsm.as_deref();
    i.vars_size = c["ovmf_vars_size"].as_u64().unwrap_or(0);
    if let Some(want) = c["expected_ovmf_hash"].as_str() {
        let mut h = SnpInputs::new(SevMode::SnpOvmfHash, &ovmf);
        h.vcpu_sig = sig;
        let got = snp::launch_digest(&h).map_err(|e| e.to_string())?;
        if hex::encode(&got.measurement) != want {
            return Err(format!("ovmf hash {} != {want}", hex::encode(&got.measurement)));
        }
    }
    let r = snp::launch_digest(&i);
    match (c["expected_launch_digest"].as_str(), c["expected_error"].as_str(), r) {
        (Some(want), _, Ok(m)) if hex::encode(&m.measurement) == want => Ok(()),
        (Some(want), _, Ok(m)) => Err(format!("got {} want {want}", hex::encode(&m.measurement))),
        (Some(_), _, Err(e)) => Err(format!("error {e}")),
        (None, Some(want), Err(e)) => {
            let key = if want.contains("SNP_KERNEL_HASHES") { "SNP_KERNEL_HASHES" } else { "kernel/initrd/cmdline" };
            if e.check == "measure.ovmf" && e.detail.contains(key) {
                Ok(())
            } else {
                Err(format!("error {e} does not say {key:?}"))
            }
        }
        (None, Some(want), Ok(m)) => Err(format!("expected error {want:?}, got {}", hex::encode(&m.measurement))),
        (None, None, _) => Err("case has no expectation".into()),
    }
}

#[test]
fn snp_launch_digest_vectors() {
    let v = json("refvals/snp/expected_launch_digests.json");
    let cases = v["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 29, "the vector file has 29 cases");
    let mut failed = Vec::new();
    for c in cases {
        let id = c["id"].as_str().unwrap_or("?");
        match run_case(c) {
            Ok(()) => eprintln!("ok   {id}"),
            Err(e) => {
                eprintln!("FAIL {id}: {e}");
                failed.push(format!("{id}: {e}"));
            }
        }
    }
    assert!(failed.is_empty(), "{} of {} SNP cases fail:\n{}", failed.len(), cases.len(), failed.join("\n"));
}

#[test]
fn tdx_mrtd_clean_example() {
    let v = json("refvals/tdx/expected_tdx_components.json");
    for case in v["mrtd"].as_array().unwrap() {
        let fw = testdata::read(case["firmware"].as_str().unwrap());
        let m = tdx::measure(&tdx::TdxInputs { firmware: &fw, ..Default::default() }).unwrap();
        assert_eq!(m.mrtd, case["expected_mrtd"].as_str().unwrap());
        let want = case["tdx_metadata_sections"].as_array().unwrap();
        assert_eq!(m.sections.len(), want.len());
        for (s, w) in m.sections.iter().zip(want) {
            assert_eq!(s.kind, w["type"].as_str().unwrap());
            assert_eq!(s.gpa, w["memory_address"].as_str().unwrap());
            assert_eq!(s.size, w["memory_size"].as_str().unwrap());
            assert_eq!(s.extend_mr, w["attributes"].as_str().unwrap() == "0x1");
        }
    }
}

#[test]
fn tdx_cmdline_digests() {
    let v = json("refvals/tdx/expected_tdx_components.json");
    let cases = v["rtmr_components"]["kernel_cmdline"]["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for c in cases {
        let got = tdx::cmdline_digest(c["cmdline"].as_str().unwrap());
        assert_eq!(hex::encode(got), c["expected_sha384"].as_str().unwrap(), "cmdline {}", c["cmdline"]);
    }
}

#[test]
fn tdx_rtmr_folds() {
    let v = json("refvals/tdx/expected_tdx_components.json");
    let cases = v["rtmr_components"]["rtmr_fold"]["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for c in cases {
        let ds: Vec<[u8; 48]> = c["event_digests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| hex::decode(d.as_str().unwrap()).unwrap().try_into().unwrap())
            .collect();
        assert_eq!(hex::encode(tdx::rtmr_fold(&ds)), c["expected_rtmr"].as_str().unwrap());
    }
}
