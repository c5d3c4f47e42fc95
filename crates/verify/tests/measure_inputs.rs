//! `measure` on synthetic and malformed inputs: EIF PCRs recomputed independently, every
//! malformed structure refused with its check and offset, emitted policies parse.

use aws_lc_rs::digest::{SHA384, digest};
use cloud_ra_sim::testdata;
use cloud_ra_verify::cbor::{self, Value};
use cloud_ra_verify::measure::snp::{self, SevMode, SnpInputs, VmmType};
use cloud_ra_verify::measure::{eif, emit, tdx};
use cloud_ra_verify::{Error, Policy};

fn sha384(parts: &[&[u8]]) -> Vec<u8> {
    digest(&SHA384, &parts.concat()).as_ref().to_vec()
}

/// PCR = SHA-384(0^48 ‖ SHA-384(data)), computed without the crate.
fn pcr(parts: &[&[u8]]) -> String {
    hex::encode(sha384(&[&[0u8; 48], &sha384(parts)]))
}

/// Kernel, cmdline, metadata, first and second ramdisk.
type Sections = (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>);

fn sections() -> Sections {
    let kernel: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
    let cmdline = b"reboot=k panic=30 pci=off nomodules console=ttyS0".to_vec();
    let metadata = br#"{"ImageName":"test","ImageVersion":"1.0"}"#.to_vec();
    let ramdisk1: Vec<u8> = (0..3000u32).map(|i| (i * 13) as u8).collect();
    let ramdisk2: Vec<u8> = (0..7000u32).map(|i| (i * 3 + 1) as u8).collect();
    (kernel, cmdline, metadata, ramdisk1, ramdisk2)
}

fn unsigned_eif() -> Vec<u8> {
    let (k, c, m, r1, r2) = sections();
    eif::build(4, &[(1, &k), (2, &c), (5, &m), (3, &r1), (3, &r2)])
}

#[test]
fn eif_pcrs_unsigned() {
    let (k, c, _m, r1, r2) = sections();
    let m = eif::measure(&unsigned_eif()).unwrap();
    assert_eq!(m.pcr0, pcr(&[&k, &c, &r1, &r2]));
    assert_eq!(m.pcr1, pcr(&[&k, &c, &r1]));
    assert_eq!(m.pcr2, pcr(&[&r2]));
    assert_eq!(m.pcr8, None);
    assert_eq!(m.sections.len(), 5);
    // The emitted policy is what verify reads.
    let p = Policy::parse("p.toml", &emit::nitro_policy(&m)).unwrap();
    assert_eq!(p.nitro.pcrs.get("0"), Some(&m.pcr0));
    assert_eq!(p.nitro.pcrs.get("2"), Some(&m.pcr2));
    assert!(!p.nitro.pcrs.contains_key("8"));
}

#[test]
fn eif_pcr8_from_signing_certificate() {
    let (k, c, m, r1, r2) = sections();
    let pem = testdata::read("roots/aws/nitro.pem");
    let der = testdata::read("roots/aws/aws_root.der");
    // serde_cbor's encoding of Vec<PcrSignature>: Vec<u8> fields as arrays of integers.
    let ints = |b: &[u8]| Value::Array(b.iter().map(|&x| Value::Uint(x as u64)).collect());
    let sig = cbor::encode(&Value::Array(vec![Value::Map(vec![
        (Value::Text("signing_certificate".into()), ints(&pem)),
        (Value::Text("signature".into()), ints(b"cose")),
    ])]));
    let e = eif::build(4, &[(1, &k), (2, &c), (5, &m), (3, &r1), (3, &r2), (4, &sig)]);
    let got = eif::measure(&e).unwrap();
    assert_eq!(got.pcr8.as_deref(), Some(pcr(&[&der]).as_str()));
    assert_eq!(got.pcr0, pcr(&[&k, &c, &r1, &r2]), "the signature does not enter PCR0");
    let p = Policy::parse("p.toml", &emit::nitro_policy(&got)).unwrap();
    assert_eq!(p.nitro.pcrs.get("8"), got.pcr8.as_ref());
}

fn eif_err(b: &[u8]) -> Error {
    let e = eif::measure(b).expect_err("malformed EIF refused");
    assert_eq!(e.check, "measure.eif", "{e}");
    e
}

#[test]
fn eif_malformed() {
    let good = unsigned_eif();
    let mut b = good.clone();
    b[0] = b'x';
    assert!(eif_err(&b).detail.contains("bad magic"));
    assert!(eif_err(&good[..100]).detail.contains("header"));
    assert!(eif_err(&good[..good.len() - 1]).detail.contains("out of bounds"));
    // A section table entry whose size lies.
    let mut b = good.clone();
    let so = 28 + 8 * 32 + 8;
    b[so..so + 8].copy_from_slice(&u64::MAX.to_be_bytes());
    assert!(eif_err(&b).detail.contains("out of bounds"));
    // The section header disagrees with the table.
    let mut b = good.clone();
    let off = 548 + 12 + 5000;
    b[off + 4..off + 12].copy_from_slice(&10u64.to_be_bytes());
    assert!(eif_err(&b).detail.contains("its header says"));
    // One flipped data bit: CRC mismatch.
    let mut b = good.clone();
    b[600] ^= 1;
    assert!(eif_err(&b).detail.contains("CRC mismatch"));
    // Too many sections.
    let mut b = good.clone();
    b[26..28].copy_from_slice(&33u16.to_be_bytes());
    assert!(eif_err(&b).detail.contains("at most 32"));
    // Trailing bytes, invalid type.
    let mut b = good.clone();
    b.extend_from_slice(&[0; 20]);
    assert!(eif_err(&b).detail.contains("after the last section"));
    let (k, ..) = sections();
    assert!(eif_err(&eif::build(4, &[(0, &k)])).detail.contains("invalid section type"));
    assert!(eif_err(&eif::build(4, &[(1, &k), (2, b"x")])).detail.contains("no ramdisk"));
}

fn ovmf() -> Vec<u8> {
    testdata::read("refvals/snp/sev-snp-measure/ovmf_AmdSev_suffix.bin")
}

fn snp_err(i: &SnpInputs<'_>) -> Error {
    snp::launch_digest(i).expect_err("refused")
}

#[test]
fn ovmf_malformed() {
    let good = ovmf();
    let mut i = SnpInputs::new(SevMode::Snp, &good);
    i.vcpu_sig = Some(0x800f12);
    assert!(snp::launch_digest(&i).is_ok());
    // Truncated: the footer GUID table is gone.
    let short = &good[..good.len() - 64];
    let e = snp_err(&SnpInputs { ovmf: short, ..i.clone() });
    assert_eq!(e.check, "measure.ovmf");
    assert!(e.detail.contains("no footer GUID table"), "{e}");
    // Not OVMF at all.
    let zeros = vec![0u8; 4096];
    assert!(snp_err(&SnpInputs { ovmf: &zeros, ..i.clone() }).detail.contains("footer GUID table"));
    let tiny = [0u8; 10];
    assert!(snp_err(&SnpInputs { ovmf: &tiny, ..i.clone() }).detail.contains("too short"));
    // The table size points before the start of the image.
    let foot = good.len() - 32 - 18;
    let mut b = good.clone();
    b[foot..foot + 2].copy_from_slice(&0xffffu16.to_le_bytes());
    assert!(snp_err(&SnpInputs { ovmf: &b, ..i.clone() }).detail.contains("out of bounds"));
    // The SEV metadata offset points outside the image.
    let o = cloud_ra_verify::measure::ovmf::Ovmf::parse(&good).unwrap();
    let meta = o.entry(&cloud_ra_verify::measure::ovmf::SEV_METADATA_GUID).unwrap().offset;
    let mut b = good.clone();
    b[meta..meta + 4].copy_from_slice(&0x10_0000u32.to_le_bytes());
    let e = snp_err(&SnpInputs { ovmf: &b, ..i.clone() });
    assert!(e.detail.contains("SEV metadata offset"), "{e}");
    // Overlapping sections: make section 1 start where section 0 does.
    let start = good.len() - u32::from_le_bytes(good[meta..meta + 4].try_into().unwrap()) as usize;
    let mut b = good.clone();
    let s0 = b[start + 16..start + 20].to_vec();
    b[start + 28..start + 32].copy_from_slice(&s0);
    let e = snp_err(&SnpInputs { ovmf: &b, ..i.clone() });
    assert!(e.detail.contains("overlaps"), "{e}");
    // Metadata section count beyond its size.
    let mut b = good.clone();
    b[start + 12..start + 16].copy_from_slice(&1000u32.to_le_bytes());
    assert!(snp_err(&SnpInputs { ovmf: &b, ..i.clone() }).detail.contains("do not fit"));
    // Bad signature.
    let mut b = good.clone();
    b[start] = b'X';
    assert!(snp_err(&SnpInputs { ovmf: &b, ..i.clone() }).detail.contains("ASEV"));
}

#[test]
fn bad_parameters() {
    let good = ovmf();
    let i = SnpInputs::new(SevMode::Snp, &good);
    // QEMU needs a vCPU signature.
    let e = snp_err(&i);
    assert_eq!(e.check, "measure.input");
    assert!(e.detail.contains("vCPU signature"));
    assert!(snp::vcpu_sig_by_name("EPYC-v9").unwrap_err().detail.contains("unknown vCPU type"));
    assert_eq!(snp::vcpu_sig_by_name("EPYC-Milan").unwrap(), 0xa00f11);
    assert_eq!(snp::cpu_sig(23, 1, 2).unwrap(), 0x800f12);
    assert!(snp::cpu_sig(23, 1, 16).is_err());
    let mut j = i.clone();
    j.vcpu_sig = Some(0x800f12);
    j.vcpus = 0;
    assert!(snp_err(&j).detail.contains("vCPUs"));
    j.vcpus = 1;
    j.append = Some("x");
    assert!(snp_err(&j).detail.contains("needs a kernel"));
    assert!(SevMode::parse("tdx").is_err());
    assert!(VmmType::parse("azure").is_err());
    // A GCE VMSA ignores the signature, so none is needed.
    let mut g = i.clone();
    g.vmm = VmmType::Gce;
    assert!(snp::launch_digest(&g).is_ok());
}

#[test]
fn tdx_malformed_and_policy() {
    let fw = testdata::read("refvals/gcp/gce-tcb-verifier/derived/clean_example_2MiB.fd");
    let m = tdx::measure(&tdx::TdxInputs { firmware: &fw, ..Default::default() }).unwrap();
    let p = Policy::parse("p.toml", &emit::tdx_policy(&m)).unwrap();
    assert_eq!(p.tdx.mrtd.unwrap().values(), vec![m.mrtd.as_str()]);
    // The 4 KiB OVMF suffix has TDX metadata whose sections lie outside it.
    let e = tdx::measure(&tdx::TdxInputs { firmware: &ovmf(), ..Default::default() }).unwrap_err();
    assert_eq!(e.check, "measure.ovmf");
    assert!(e.detail.contains("TDX metadata"), "{e}");
    // Corrupt the descriptor signature (at 0x110) and a section's data size (BFV, first section).
    let mut b = fw.clone();
    b[0x110] = b'X';
    assert!(tdx::measure(&tdx::TdxInputs { firmware: &b, ..Default::default() }).unwrap_err().detail.contains("TDVF"));
    let mut b = fw.clone();
    b[0x120 + 4..0x120 + 8].copy_from_slice(&0x30_0000u32.to_le_bytes());
    let e = tdx::measure(&tdx::TdxInputs { firmware: &b, ..Default::default() }).unwrap_err();
    assert!(e.detail.contains("out of bounds"), "{e}");
    // Overlap: move CFV's GPA onto BFV's.
    let mut b = fw.clone();
    let bfv_gpa = b[0x120 + 8..0x120 + 16].to_vec();
    b[0x140 + 8..0x140 + 16].copy_from_slice(&bfv_gpa);
    let e = tdx::measure(&tdx::TdxInputs { firmware: &b, ..Default::default() }).unwrap_err();
    assert!(e.detail.contains("overlaps"), "{e}");
    // The same file gives Google's SNP digest too (GCE, 1 vCPU, features 0x1).
    let mut s = SnpInputs::new(SevMode::Snp, &fw);
    s.vmm = VmmType::Gce;
    let d = snp::launch_digest(&s).unwrap();
    assert!(hex::encode(&d.measurement).starts_with("20ec0dbd"));
    let p = Policy::parse("p.toml", &emit::snp_policy(&d).unwrap()).unwrap();
    assert_eq!(p.snp.measurement.unwrap().values(), vec![hex::encode(&d.measurement)]);
    let sev = snp::launch_digest(&SnpInputs::new(SevMode::Sev, &fw)).unwrap();
    assert!(emit::snp_policy(&sev).is_err());
}

/// Every single-byte corruption and every truncation of the parsed structures gives a result or
/// an error, never a panic (a deterministic complement to the fuzz targets).
#[test]
fn corruptions_never_panic() {
    let e = unsigned_eif();
    for n in 0..e.len().min(700) {
        let _ = eif::measure(&e[..n]);
        let mut b = e.clone();
        b[n] ^= 0xff;
        assert!(eif::measure(&b).is_err(), "a flipped byte at {n} must not go unnoticed (CRC)");
    }
    let o = ovmf();
    for n in 0..o.len() {
        let mut b = o.clone();
        b[n] = b[n].wrapping_add(0x41);
        let mut i = SnpInputs::new(SevMode::Snp, &b);
        i.vmm = VmmType::Ec2;
        i.vcpus = 2;
        i.kernel = Some(b"");
        let _ = snp::launch_digest(&i);
        let _ = tdx::measure(&tdx::TdxInputs { firmware: &b, ..Default::default() });
    }
    let fw = testdata::read("refvals/gcp/gce-tcb-verifier/derived/clean_example_2MiB.fd");
    // The TDX metadata GUID, descriptor and six sections.
    for n in 0x100..0x110 + 16 + 6 * 32 {
        let mut b = fw.clone();
        b[n] = b[n].wrapping_add(0x81);
        let _ = tdx::measure(&tdx::TdxInputs { firmware: &b, ..Default::default() });
    }
}
