use super::*;
use p384::ecdsa::signature::Verifier as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[test]
fn chip_id_const_matches_derivation() {
    assert_eq!(SIM_CHIP_ID, sim_chip_id(), "{}", hex(&sim_chip_id()));
}

/// The published fingerprint of the simulated ARK. If this changes (e.g. after
/// an `rsa`/`rand_chacha` upgrade changed key generation), every pinned copy
/// of the simulated ARK fingerprint must be updated too.
const PINNED_ARK_SHA256: &str = "465ea882c8ee2df868eb21a99d18b87a60e3bfea260432e0c19261a5fc908076";

#[test]
fn ark_fingerprint_is_pinned() {
    assert_eq!(hex(&SimAmd::get().ark_sha256()), PINNED_ARK_SHA256);
}

#[test]
fn get_is_cached_and_timed() {
    let t = Instant::now();
    let a = SimAmd::get();
    let first = t.elapsed();
    let t = Instant::now();
    let b = SimAmd::get();
    let second = t.elapsed();
    assert!(std::ptr::eq(a, b));
    println!("SimAmd::get(): first call {first:?} (may include waiting for another test's init), second {second:?}");
    println!("ARK sha256 = {}", hex(&a.ark_sha256()));
}

#[test]
fn deterministic_across_generations() {
    // A second, independent generation must give identical bytes.
    let sim = SimAmd::get();
    let fresh = SimAmd::generate();
    assert_eq!(sim.ark_der(), fresh.ark_der());
    assert_eq!(sim.ask_der(), fresh.ask_der());
    assert_eq!(sim.asvk_der(), fresh.asvk_der());
    assert_eq!(sim.impostor_ark_der(), fresh.impostor_ark_der());
    let spec = VekSpec::vcek(Tcb::milan(3, 0, 20, 209));
    assert_eq!(sim.vek_der(&spec), fresh.vek_der(&spec));
    assert_eq!(sim.vek_der(&spec), sim.vek_der(&spec));
    let crl = CrlSpec { revoked: vec![vec![0x12, 0x34]], ..CrlSpec::new(VEK_NOT_BEFORE) };
    assert_eq!(sim.crl_der(&crl), fresh.crl_der(&crl));
    let r1 = ReportBuilder::new().sign(sim, VekKind::Vcek);
    let r2 = ReportBuilder::new().sign(&fresh, VekKind::Vcek);
    assert_eq!(r1, r2);
    assert_ne!(sim.ark_der(), sim.impostor_ark_der());
    assert_eq!(sim.ark_sha256(), fresh.ark_sha256());
}

#[test]
fn vek_keys_depend_on_chip_and_tcb_only() {
    let sim = SimAmd::get();
    let a = VekSpec::vcek(Tcb::milan(3, 0, 20, 209));
    let mut b = a.clone();
    b.serial = vec![7];
    b.not_after = VEK_NOT_AFTER - 1;
    assert_eq!(sim.vek_public_key(&a), sim.vek_public_key(&b));
    assert_ne!(sim.vek_der(&a), sim.vek_der(&b));
    let c = VekSpec::vcek(Tcb::milan(3, 0, 21, 209));
    assert_ne!(sim.vek_public_key(&a), sim.vek_public_key(&c));
    let d = VekSpec::vlek(Tcb::milan(3, 0, 20, 209));
    assert_ne!(sim.vek_public_key(&a), sim.vek_public_key(&d));
    assert_eq!(sim.vek_public_key(&a).len(), 97);
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The DER of one extension as it should appear in the certificate.
fn ext_bytes(oid: &str, contents: &[u8]) -> Vec<u8> {
    der::sequence(&[&der::oid(oid), &der::octet_string(contents)])
}

#[test]
fn vek_extensions_encoding() {
    let sim = SimAmd::get();
    let spec = VekSpec::vcek(Tcb::milan(3, 0x80, 20, 209));
    let cert = sim.vek_der(&spec);
    for (oid, contents) in [
        (amd_oid::STRUCT_VERSION, vec![2, 1, 0]),
        (amd_oid::PRODUCT_NAME, b"\x16\x08Milan-B0".to_vec()),
        (amd_oid::BL_SPL, vec![2, 1, 3]),
        (amd_oid::TEE_SPL, vec![2, 2, 0, 0x80]),
        (amd_oid::SNP_SPL, vec![2, 1, 20]),
        (amd_oid::SPL_4, vec![2, 1, 0]),
        (amd_oid::SPL_7, vec![2, 1, 0]),
        (amd_oid::UCODE_SPL, vec![2, 2, 0, 209]),
        (amd_oid::HWID, SIM_CHIP_ID.to_vec()),
    ] {
        assert!(find(&cert, &ext_bytes(oid, &contents)).is_some(), "{oid}");
    }
    assert!(find(&cert, &der::oid(amd_oid::FMC_SPL)).is_none());
    assert!(find(&cert, &der::oid(amd_oid::CSP_ID)).is_none());

    // Omit + extra.
    let mut neg = spec.clone();
    neg.omit_extensions = vec![amd_oid::HWID.to_string()];
    neg.extra_extensions = vec![("1.2.3.4".to_string(), vec![5, 0])];
    let cert = sim.vek_der(&neg);
    assert!(find(&cert, &der::oid(amd_oid::HWID)).is_none());
    assert!(find(&cert, &ext_bytes("1.2.3.4", &[5, 0])).is_some());

    // VLEK: CSP_ID instead of hwID.
    let cert = sim.vek_der(&VekSpec::vlek(Tcb::milan(3, 0, 20, 209)));
    assert!(find(&cert, &der::oid(amd_oid::HWID)).is_none());
    assert!(find(&cert, &ext_bytes(amd_oid::CSP_ID, &der::ia5_string("CN=sim.cloud-ra.invalid"))).is_some());
    assert!(find(&cert, &ext_bytes(amd_oid::PRODUCT_NAME, b"\x16\x05Milan")).is_some());

    // Turin: fmcSPL, structVersion 1, 8-byte hwID.
    let cert = sim.vek_der(&VekSpec::vcek(Tcb::turin(1, 2, 3, 4, 5)));
    assert!(find(&cert, &ext_bytes(amd_oid::FMC_SPL, &[2, 1, 1])).is_some());
    assert!(find(&cert, &ext_bytes(amd_oid::STRUCT_VERSION, &[2, 1, 1])).is_some());
    assert!(find(&cert, &ext_bytes(amd_oid::HWID, &SIM_CHIP_ID[..8])).is_some());
}

#[test]
fn tcb_layouts() {
    let t = Tcb::milan(3, 0, 20, 209);
    assert_eq!(t.to_u64_milan(), 0xD114_0000_0000_0003);
    assert_eq!(Tcb::from_u64_milan(t.to_u64_milan()), t);
    let t = Tcb::turin(1, 2, 3, 4, 5);
    assert_eq!(t.to_u64_turin(), 0x0500_0000_0403_0201);
    assert_eq!(t.to_u64(), t.to_u64_turin());
    assert_eq!(Tcb::from_u64_turin(t.to_u64_turin()), t);
}

#[test]
fn report_layout_and_signature() {
    let sim = SimAmd::get();
    let mut b = ReportBuilder::new();
    b.report_data = [0xAB; 64];
    b.measurement = [0xCD; 48];
    let unsigned = b.to_bytes();
    assert_eq!(&unsigned[0..4], &3u32.to_le_bytes());
    assert_eq!(&unsigned[8..16], &0x30000u64.to_le_bytes());
    assert_eq!(&unsigned[0x34..0x38], &1u32.to_le_bytes());
    assert_eq!(&unsigned[0x38..0x40], &[3, 0, 0, 0, 0, 0, 20, 209], "current tcb");
    assert_eq!(&unsigned[0x180..0x188], &[3, 0, 0, 0, 0, 0, 20, 209]);
    assert_eq!(&unsigned[0x188..0x18B], &[0x19, 1, 1]);
    assert_eq!(&unsigned[0x1A0..0x1E0], &SIM_CHIP_ID);
    assert_eq!(&unsigned[0x1E8..0x1EF], &[21, 55, 1, 0, 21, 55, 1]);
    assert!(unsigned[0x2A0..].iter().all(|&x| x == 0));

    for kind in [VekKind::Vcek, VekKind::Vlek] {
        let signed = b.sign(sim, kind);
        assert_eq!(signed.len(), REPORT_LEN);
        let key_field = u32::from_le_bytes(signed[0x48..0x4C].try_into().unwrap());
        assert_eq!((key_field >> 2) & 7, if kind == VekKind::Vcek { 0 } else { 1 });
        let spec = b.vek_spec(kind);
        let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(&sim.vek_public_key(&spec)).unwrap();
        let mut r: Vec<u8> = signed[0x2A0..0x2D0].to_vec();
        let mut s: Vec<u8> = signed[0x2E8..0x318].to_vec();
        assert!(signed[0x2D0..0x2E8].iter().all(|&x| x == 0));
        assert!(signed[0x318..].iter().all(|&x| x == 0));
        r.reverse();
        s.reverse();
        let sig = p384::ecdsa::Signature::from_slice(&[r, s].concat()).unwrap();
        vk.verify(&signed[..SIGNED_LEN], &sig).unwrap();
        let mut tampered = signed.clone();
        tampered[42] ^= 1;
        assert!(vk.verify(&tampered[..SIGNED_LEN], &sig).is_err());
    }

    // Turin report: Turin TCB layout and 8-byte chip id.
    let t = ReportBuilder::turin();
    let bytes = t.to_bytes();
    assert_eq!(&bytes[0x180..0x188], &[0, 1, 0, 3, 0, 0, 0, 72]);
    assert_eq!(&bytes[0x1A0..0x1A8], &SIM_CHIP_ID[..8]);
    assert!(bytes[0x1A8..0x1E0].iter().all(|&x| x == 0));
    assert_eq!(t.vek_spec(VekKind::Vcek), VekSpec::vcek(t.reported_tcb));
    // Version 5 mitigation vectors.
    let mut v5 = ReportBuilder::new();
    v5.version = 5;
    v5.launch_mit_vector = 0x11;
    v5.current_mit_vector = 0x22;
    let bytes = v5.to_bytes();
    assert_eq!(bytes[0x1F8], 0x11);
    assert_eq!(bytes[0x200], 0x22);
    let mut v2 = ReportBuilder::new();
    v2.version = 2;
    assert!(v2.to_bytes()[0x188..0x18B].iter().all(|&x| x == 0));
}

#[test]
#[should_panic(expected = "1184 bytes")]
fn sign_report_rejects_wrong_length() {
    let mut short = [0u8; 100];
    SimAmd::get().sign_report(&VekSpec::vcek(Tcb::default()), &mut short);
}

#[test]
fn cert_table_layout() {
    let t = cert_table(&[(GUID_ARK, vec![1, 2, 3]), (GUID_VCEK, vec![4, 5])]);
    assert_eq!(t.len(), 3 * 24 + 5);
    assert_eq!(&t[0..16], &GUID_ARK);
    assert_eq!(&t[16..20], &72u32.to_le_bytes());
    assert_eq!(&t[20..24], &3u32.to_le_bytes());
    assert_eq!(&t[24..40], &GUID_VCEK);
    assert_eq!(&t[40..44], &75u32.to_le_bytes());
    assert_eq!(&t[44..48], &2u32.to_le_bytes());
    assert!(t[48..72].iter().all(|&x| x == 0));
    assert_eq!(&t[72..], &[1, 2, 3, 4, 5]);
    assert_eq!(cert_table(&[]), vec![0u8; 24]);
    assert_eq!(hex(&GUID_ARK), "c0b406a4a803495297433fb6014cd0ae".to_string());
}

#[test]
fn pem_encoding() {
    assert_eq!(pem("X", b"Man"), "-----BEGIN X-----\nTWFu\n-----END X-----\n");
    assert_eq!(pem("X", b"Ma"), "-----BEGIN X-----\nTWE=\n-----END X-----\n");
    assert_eq!(pem("X", b"M"), "-----BEGIN X-----\nTQ==\n-----END X-----\n");
}

// ---------------------------------------------------------------------------
// Cross-checks with the openssl CLI (skipped when it is not installed).

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("cloud-ra-sim-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn write(&self, name: &str, data: impl AsRef<[u8]>) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, data).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn openssl(dir: &Path, args: &[&str]) -> Option<(bool, String)> {
    let out = Command::new("openssl").args(args).current_dir(dir).output().ok()?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    Some((out.status.success(), text))
}

fn openssl_ok(dir: &Path, args: &[&str]) -> String {
    let (ok, text) = openssl(dir, args).expect("openssl ran before");
    assert!(ok, "openssl {args:?} failed:\n{text}");
    text
}

#[test]
fn openssl_cross_check() {
    let dir = Scratch::new("openssl");
    if openssl(&dir.0, &["version"]).is_none() {
        eprintln!("openssl CLI not found; skipping");
        return;
    }
    let sim = SimAmd::get();
    let tcb = Tcb::milan(3, 0, 20, 209);
    let vcek = sim.vek_der(&VekSpec::vcek(tcb));
    let vlek = sim.vek_der(&VekSpec::vlek(tcb));
    let turin = sim.vek_der(&VekSpec::vcek(Tcb::turin(0, 1, 0, 3, 72)));
    dir.write("ark.pem", pem("CERTIFICATE", sim.ark_der()));
    dir.write("ask.pem", pem("CERTIFICATE", sim.ask_der()));
    dir.write("asvk.pem", pem("CERTIFICATE", sim.asvk_der()));
    dir.write("imp.pem", pem("CERTIFICATE", sim.impostor_ark_der()));
    dir.write("vcek.pem", pem("CERTIFICATE", &vcek));
    dir.write("vlek.pem", pem("CERTIFICATE", &vlek));
    dir.write("turin.pem", pem("CERTIFICATE", &turin));
    dir.write("ark.der", sim.ark_der());
    dir.write("vcek.der", &vcek);

    for f in ["ark", "ask", "asvk", "imp", "vcek", "vlek", "turin"] {
        let text = openssl_ok(&dir.0, &["x509", "-in", &format!("{f}.pem"), "-noout", "-text"]);
        assert!(text.contains("rsassaPss"), "{f}: {text}");
        assert!(text.contains("Salt Length: 0x30"), "{f}: {text}");
        assert!(text.contains("cloud-ra SIMULATED (not AMD)"), "{f}: {text}");
    }
    openssl_ok(&dir.0, &["x509", "-inform", "der", "-in", "vcek.der", "-noout"]);
    // Round trip DER -> PEM -> DER is identical (openssl re-encodes nothing).
    openssl_ok(&dir.0, &["x509", "-in", "ark.pem", "-outform", "der", "-out", "ark2.der"]);
    assert_eq!(std::fs::read(dir.0.join("ark2.der")).unwrap(), sim.ark_der());

    let v = openssl_ok(&dir.0, &["verify", "-CAfile", "ark.pem", "-untrusted", "ask.pem", "vcek.pem"]);
    assert!(v.contains("vcek.pem: OK"), "{v}");
    let v = openssl_ok(&dir.0, &["verify", "-CAfile", "ark.pem", "-untrusted", "asvk.pem", "vlek.pem"]);
    assert!(v.contains("vlek.pem: OK"), "{v}");
    openssl_ok(&dir.0, &["verify", "-CAfile", "ark.pem", "ask.pem"]);
    // Negative: wrong intermediate, impostor root.
    let (ok, _) = openssl(&dir.0, &["verify", "-CAfile", "ark.pem", "-untrusted", "asvk.pem", "vcek.pem"]).unwrap();
    assert!(!ok, "VCEK must not chain to the ASVK");
    let (ok, _) = openssl(&dir.0, &["verify", "-CAfile", "imp.pem", "-untrusted", "ask.pem", "vcek.pem"]).unwrap();
    assert!(!ok, "ASK must not verify under the impostor ARK");
    let imp_vcek = sim.vek_der(&VekSpec { issuer: Signer::ImpostorArk, ..VekSpec::vcek(tcb) });
    dir.write("imp_vcek.pem", pem("CERTIFICATE", &imp_vcek));
    let (ok, _) = openssl(&dir.0, &["verify", "-CAfile", "ark.pem", "imp_vcek.pem"]).unwrap();
    assert!(!ok, "impostor-signed VCEK must not verify under the ARK");
    // Expired ASK.
    dir.write("ask_old.pem", pem("CERTIFICATE", &sim.ask_with_validity(VEK_NOT_BEFORE, VEK_NOT_BEFORE + 86_400)));
    let (ok, text) =
        openssl(&dir.0, &["verify", "-CAfile", "ark.pem", "-untrusted", "ask_old.pem", "vcek.pem"]).unwrap();
    assert!(!ok && text.contains("expired"), "{text}");

    // CRL.
    let crl = sim.crl_der(&CrlSpec { revoked: vec![vec![0x12, 0x34], vec![0x80]], ..CrlSpec::new(VEK_NOT_BEFORE) });
    dir.write("crl.der", &crl);
    let text = openssl_ok(&dir.0, &["crl", "-inform", "der", "-in", "crl.der", "-noout", "-text"]);
    assert!(text.contains("Serial Number: 1234"), "{text}");
    assert!(text.contains("Serial Number: 80"), "{text}");
    let text =
        openssl_ok(&dir.0, &["crl", "-inform", "der", "-in", "crl.der", "-noout", "-CAfile", "ark.pem", "-verify"]);
    assert!(text.contains("verify OK"), "{text}");
    let empty = sim.crl_der(&CrlSpec { next_update: None, ..CrlSpec::new(CA_NOT_AFTER - 10) });
    dir.write("empty.der", &empty);
    let text = openssl_ok(
        &dir.0,
        &["crl", "-inform", "der", "-in", "empty.der", "-noout", "-text", "-CAfile", "ark.pem", "-verify"],
    );
    assert!(text.contains("No Revoked Certificates"), "{text}");
    let bad = sim.crl_der(&CrlSpec { signer: Signer::Ask, ..CrlSpec::new(VEK_NOT_BEFORE) });
    dir.write("bad.der", &bad);
    let (ok, text) =
        openssl(&dir.0, &["crl", "-inform", "der", "-in", "bad.der", "-noout", "-CAfile", "ark.pem", "-verify"])
            .unwrap();
    assert!(!ok || !text.contains("verify OK"), "{text}");

    // Report signature, checked with openssl dgst using a DER ECDSA-Sig-Value.
    let report = ReportBuilder::new().sign(sim, VekKind::Vcek);
    let mut r = report[0x2A0..0x2D0].to_vec();
    let mut s = report[0x2E8..0x318].to_vec();
    r.reverse();
    s.reverse();
    dir.write("sig.der", der::sequence(&[&der::uint(&r), &der::uint(&s)]));
    dir.write("body.bin", &report[..SIGNED_LEN]);
    openssl_ok(&dir.0, &["x509", "-in", "vcek.pem", "-pubkey", "-noout", "-out", "vcek_pub.pem"]);
    let text = openssl_ok(&dir.0, &["dgst", "-sha384", "-verify", "vcek_pub.pem", "-signature", "sig.der", "body.bin"]);
    assert!(text.contains("Verified OK"), "{text}");
    let mut body = report[..SIGNED_LEN].to_vec();
    body[0x50] ^= 1;
    dir.write("body2.bin", &body);
    let (ok, _) =
        openssl(&dir.0, &["dgst", "-sha384", "-verify", "vcek_pub.pem", "-signature", "sig.der", "body2.bin"]).unwrap();
    assert!(!ok);
}
