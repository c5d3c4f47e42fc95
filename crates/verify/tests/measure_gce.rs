//! Google launch endorsements (`measure::gce`): the staged fake GCE root and signer of
//! gce-tcb-verifier (`refvals/gcp/gce-tcb-verifier/devkeys`, read in place), and endorsements
//! built and signed in the test by the simulated Google PKI of `cloud-ra-sim`, endorsing the
//! CleanExample firmware with the values gce-tcb-verifier asserts for it.

use cloud_ra_sim::google::{Golden, SIGNER_NOT_AFTER, SimGoogle, launch_endorsement};
use cloud_ra_sim::testdata;
use cloud_ra_verify::Timestamp;
use cloud_ra_verify::crypto::sha384;
use cloud_ra_verify::measure::gce::{self, certificates, verify_chain};
use cloud_ra_verify::measure::snp::{self, SevMode, SnpInputs, VmmType};
use cloud_ra_verify::measure::{Input, emit, tdx};
use cloud_ra_verify::policy::Policy;
use cloud_ra_verify::x509::Certificate;

const DEVKEYS: &str = "refvals/gcp/gce-tcb-verifier/devkeys";
const CLEAN: &str = "refvals/gcp/gce-tcb-verifier/derived/clean_example_2MiB.fd";
/// 2025-01-01T00:00:00Z
const AT: Timestamp = Timestamp(1_735_689_600);

fn t(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

#[test]
fn devkeys_chain_verifies_and_expires() {
    let root = certificates("root.crt", &testdata::read(&format!("{DEVKEYS}/root.crt"))).unwrap();
    assert_eq!(root.len(), 1);
    let signer = certificates("primarySigningKey.crt", &testdata::read(&format!("{DEVKEYS}/primarySigningKey.crt")))
        .unwrap()
        .remove(0);
    assert!(signer.subject.contains("GCE-uefi-signer"), "{}", signer.subject);
    let chain = verify_chain(&signer, &[], &root, AT).unwrap();
    assert_eq!(chain.len(), 2);
    assert!(chain[1].contains("GCE-cc-tcb-root"), "{chain:?}");
    // The root alone is trusted as itself.
    assert_eq!(verify_chain(&root[0], &[], &root, AT).unwrap().len(), 1);
    // openssl verify -attime 1900000000 (2030-03-17): "certificate has expired".
    let e = verify_chain(&signer, &[], &root, Timestamp(1_900_000_000)).unwrap_err();
    assert_eq!(e.check, "measure.endorsement");
    assert!(e.detail.contains("GCE-uefi-signer") && e.detail.contains("expired"), "{e}");
    let e = verify_chain(&signer, &[], &root, t("2024-01-01T00:00:00Z")).unwrap_err();
    assert!(e.detail.contains("not yet valid") || e.detail.contains("before"), "{e}");
    // Not issued by the simulated root.
    let sim_root = Certificate::from_der(SimGoogle::get().root_der()).unwrap();
    let e = verify_chain(&signer, &[], &[sim_root], AT).unwrap_err();
    assert!(e.detail.contains("no issuer"), "{e}");
    assert!(verify_chain(&signer, &[], &[], AT).is_err());
}

/// The CleanExample endorsement as gce-tcb-verifier's `FakeEndorsement` makes it
/// (`endorse --add_snp --add_tdx`): digest = SHA-384 of the image, SNP measurements for 1, 2
/// and 4 vCPUs computed here, the MRTD.
fn clean_golden() -> (Golden, Vec<u8>) {
    let fw = testdata::read(CLEAN);
    let mut ms = Vec::new();
    for v in [1u32, 2, 4] {
        let mut i = SnpInputs::new(SevMode::Snp, &fw);
        i.vmm = VmmType::Gce;
        i.vcpus = v;
        let m = snp::launch_digest(&i).unwrap();
        ms.push((v, m.measurement.clone().try_into().unwrap()));
    }
    let mrtd: [u8; 48] =
        hex::decode(tdx::measure(&tdx::TdxInputs { firmware: &fw, ..Default::default() }).unwrap().mrtd)
            .unwrap()
            .try_into()
            .unwrap();
    let g = Golden {
        timestamp: 1_725_000_000,
        cl_spec: 123456,
        commit: b"0123456789abcdef0123".to_vec(),
        cert: None,
        digest: sha384(&fw).to_vec(),
        ca_bundle: Vec::new(),
        snp: Some((7, ms, [0x11; 16], [0x22; 16], 0x30000)),
        tdx: Some((3, vec![(1, false, mrtd), (2, true, mrtd)])),
    };
    (g, fw)
}

fn sim_root() -> Vec<Certificate> {
    certificates("sim root", SimGoogle::get().root_pem().as_bytes()).unwrap()
}

#[test]
fn simulated_endorsement_verifies() {
    let sim = SimGoogle::get();
    let (g, _fw) = clean_golden();
    let b = sim.endorsement(&g);
    let v = gce::verify(&b, &sim_root(), AT, &[]).unwrap();
    // gce-tcb-verifier's asserted CleanExample values (verifytest.go:41, :43) and the image digest.
    let snp = v.snp.as_ref().unwrap();
    assert_eq!(
        snp.measurements[&1],
        "20ec0dbd1c0a26d184a6f11ec5a796d68ec03c9d101bdd84c03f3d9cbbc4a292a9fad098edacfa04da0da58f20be885e"
    );
    assert_eq!(snp.endorsed_vcpus, vec![1, 2, 4]);
    assert_eq!(snp.svn, 7);
    assert_eq!(snp.policy, "0x30000");
    assert_eq!(snp.family_id, "11".repeat(16));
    let tdx = v.tdx.as_ref().unwrap();
    assert_eq!(
        tdx.measurements[0].mrtd,
        "6e540be4917f24f74cc3292b59803d06dc7c38eb4a3c1fd6be9c735ba74bb7a23e25f98da94779d17508b243e4fb582b"
    );
    assert!(tdx.measurements[1].early_accept && tdx.measurements[1].ram_gib == 2);
    assert_eq!(
        v.uefi_digest,
        "6510d598074bb1b31662903576518baacc2fa6f946d09a6bc0d494ad60cf8837ea289408198ca7d70ef20a2e62a065ba"
    );
    assert_eq!(v.cl_spec, 123456);
    assert_eq!(v.timestamp.as_deref(), Some("2024-08-30T06:40:00Z"));
    assert_eq!(v.chain.len(), 2);
    assert!(v.signer.subject.contains("GCE-uefi-signer"));

    // vCPU selection.
    let v1 = gce::verify(&b, &sim_root(), AT, &[4, 1]).unwrap();
    assert_eq!(v1.snp.as_ref().unwrap().measurements.keys().copied().collect::<Vec<_>>(), vec![1, 4]);
    let e = gce::verify(&b, &sim_root(), AT, &[3]).unwrap_err();
    assert!(e.detail.contains("no SNP measurement for 3 vCPUs"), "{e}");

    // The policy verify reads: every selected SNP measurement and the distinct MRTDs.
    let text =
        emit::gce_policy(&v1, &[Input { name: "endorsement".into(), value: format!("{} bytes", b.len()) }]).unwrap();
    let p = Policy::parse("p.toml", &text).unwrap();
    assert_eq!(p.snp.measurement.unwrap().values(), vec![&snp.measurements[&1][..], &snp.measurements[&4][..]]);
    assert_eq!(p.tdx.mrtd.unwrap().values(), vec![&tdx.measurements[0].mrtd[..]]);
}

#[test]
fn bad_signatures_chains_and_times() {
    let sim = SimGoogle::get();
    let (g, _) = clean_golden();
    let b = sim.endorsement(&g);
    let roots = sim_root();
    // Flip a byte of the signature (the last byte of the file).
    let mut s = b.clone();
    let n = s.len();
    s[n - 1] ^= 1;
    let e = gce::verify(&s, &roots, AT, &[]).unwrap_err();
    assert_eq!(e.check, "measure.endorsement");
    assert_eq!(e.exit_code(), 2);
    assert!(e.detail.contains("signature") && e.detail.contains("does not verify"), "{e}");
    // A golden measurement changed after signing (another MRTD, re-framed): signature fails.
    let mut g2 = g.clone();
    if let Some((_, ms)) = g2.tdx.as_mut() {
        ms[0].2[0] ^= 1;
    }
    let golden = g2.to_bytes(sim.signer_der());
    let forged = launch_endorsement(&golden, &sim.sign(&g.to_bytes(sim.signer_der())));
    assert!(gce::verify(&forged, &roots, AT, &[]).unwrap_err().detail.contains("does not verify"));
    // Another root: no issuer.
    let devroot = certificates("root.crt", &testdata::read(&format!("{DEVKEYS}/root.crt"))).unwrap();
    let e = gce::verify(&b, &devroot, AT, &[]).unwrap_err();
    assert!(e.detail.contains("no issuer"), "{e}");
    // The simulated root in ca_bundle is not a trust anchor.
    let mut g3 = g.clone();
    g3.ca_bundle = sim.root_pem().into_bytes();
    let e = gce::verify(&sim.endorsement(&g3), &devroot, AT, &[]).unwrap_err();
    assert!(e.detail.contains("no issuer"), "{e}");
    // ... but the chain through it verifies when the root is given.
    assert_eq!(gce::verify(&sim.endorsement(&g3), &roots, AT, &[]).unwrap().chain.len(), 2);
    // The default signer expires at SIGNER_NOT_AFTER.
    let e = gce::verify(&b, &roots, Timestamp(SIGNER_NOT_AFTER + 1), &[]).unwrap_err();
    assert!(e.detail.contains("expired"), "{e}");
    // A signer certificate valid 2024-01-01 .. 2025-01-01: valid mid-2024, expired in 2026.
    let mut g4 = g.clone();
    g4.cert = Some(sim.signer_cert(1_704_067_200, 1_735_689_600));
    let b4 = sim.endorsement(&g4);
    assert!(gce::verify(&b4, &roots, t("2024-06-01T00:00:00Z"), &[]).is_ok());
    let e = gce::verify(&b4, &roots, t("2026-01-01T00:00:00Z"), &[]).unwrap_err();
    assert!(e.detail.contains("GCE-uefi-signer") && e.detail.contains("expired"), "{e}");
    // The root as the signer certificate: a CA key, not one for signing documents.
    let mut g5 = g.clone();
    g5.cert = Some(sim.root_der().to_vec());
    let e = gce::verify(&sim.endorsement(&g5), &roots, AT, &[]).unwrap_err();
    assert!(e.detail.contains("lacks digitalSignature"), "{e}");
}

#[test]
fn malformed_endorsements_name_the_field_and_offset() {
    let sim = SimGoogle::get();
    let (g, _) = clean_golden();
    let b = sim.endorsement(&g);
    let e = |b: &[u8]| gce::parse(b).unwrap_err();
    // Truncated: the golden bytes' length runs past the end.
    let x = e(&b[..100]);
    assert_eq!(x.check, "measure.endorsement");
    assert!(x.detail.contains("VMLaunchEndorsement at offset 0") && x.detail.contains("field 1"), "{x}");
    // Empty: no golden.
    assert!(e(&[]).detail.contains("no serialized_uefi_golden"));
    // Only the golden, no signature.
    let golden = g.to_bytes(sim.signer_der());
    let mut only = Vec::new();
    only.push(0x0a);
    let mut n = golden.len();
    while n >= 0x80 {
        only.push((n as u8) | 0x80);
        n >>= 7;
    }
    only.push(n as u8);
    only.extend_from_slice(&golden);
    assert!(e(&only).detail.contains("no signature (field 2)"));
    // Signature given as a varint: wrong wire type.
    let mut w = only.clone();
    w.extend_from_slice(&[0x10, 0x01]);
    let x = e(&w);
    assert!(x.detail.contains("field 2 has wire type 0, expected 2"), "{x}");
    // Field 1 twice.
    let twice = launch_endorsement(&golden, b"s");
    let mut tw = twice.clone();
    tw.extend_from_slice(&[0x0a, 0x00]);
    assert!(e(&tw).detail.contains("given twice"), "{}", e(&tw));
    // An MRTD of 47 bytes, in a hand-framed VMTdx: named with its message and offset.
    let mut g2 = g.clone();
    g2.snp = None;
    g2.tdx = None;
    let mut bytes = g2.to_bytes(sim.signer_der());
    let mut m = vec![0x1a, 47];
    m.extend_from_slice(&[0x33; 47]);
    let mut t = vec![0x12, m.len() as u8];
    t.extend_from_slice(&m);
    bytes.extend_from_slice(&[0x42, t.len() as u8]);
    bytes.extend_from_slice(&t);
    let x = e(&launch_endorsement(&bytes, b"s"));
    assert!(x.detail.contains("VMTdx.Measurement") && x.detail.contains("mrtd (field 3) is 47 bytes"), "{x}");
    // No cert.
    let mut nc = Vec::new();
    nc.extend_from_slice(&[0x10, 0x05]); // cl_spec only
    let x = e(&launch_endorsement(&nc, b"s"));
    assert!(x.detail.contains("VMGoldenMeasurement") && x.detail.contains("no signing certificate"), "{x}");
    // A digest of the wrong size.
    let mut g3 = g.clone();
    g3.digest = vec![0; 32];
    let x = e(&launch_endorsement(&g3.to_bytes(sim.signer_der()), b"s"));
    assert!(x.detail.contains("digest (field 5) is 32 bytes"), "{x}");
    // An SNP measurement of the wrong size.
    let mut g4 = g.clone();
    g4.snp = None;
    g4.tdx = None;
    let mut bytes = g4.to_bytes(sim.signer_der());
    let entry = [0x08, 0x01, 0x12, 0x02, 0xaa, 0xbb];
    let mut snpmsg = vec![0x12, entry.len() as u8];
    snpmsg.extend_from_slice(&entry);
    bytes.push(0x3a);
    bytes.push(snpmsg.len() as u8);
    let snp_at = bytes.len();
    bytes.extend_from_slice(&snpmsg);
    let x = e(&launch_endorsement(&bytes, b"s"));
    assert!(x.detail.contains("VMSevSnp.MeasurementsEntry") && x.detail.contains("2 bytes, expected 48"), "{x}");
    // The offset is in the whole file: 3 bytes of VMLaunchEndorsement framing, the VMSevSnp
    // field's 2, then the entry's key field (2): the measurement field's key.
    let want = format!("offset {}", 3 + snp_at + 2 + 2);
    assert!(x.detail.contains(&want), "{x} (want {want})");
    // An unknown field is skipped (forward compatibility).
    let mut u = g.to_bytes(sim.signer_der());
    u.extend_from_slice(&[0x78, 0x01]); // field 15 varint
    let p = gce::parse(&launch_endorsement(&u, b"s")).unwrap();
    assert_eq!(p.golden.unknown_fields, vec![15]);
    // A cert that is not DER.
    let mut g6 = g.clone();
    g6.cert = Some(b"not a certificate".to_vec());
    let x = gce::verify(&sim.endorsement(&g6), &sim_root(), AT, &[]).unwrap_err();
    assert!(x.detail.contains("cert (field 4) is not a certificate"), "{x}");
}

/// Every truncation and many single-byte corruptions give a result or an error, never a panic.
#[test]
fn corruptions_never_panic() {
    let sim = SimGoogle::get();
    let (g, _) = clean_golden();
    let b = sim.endorsement(&g);
    let roots = sim_root();
    for n in 0..b.len() {
        let _ = gce::parse(&b[..n]);
    }
    for i in (0..b.len()).step_by(3) {
        for x in [0x01u8, 0x80, 0xff] {
            let mut c = b.clone();
            c[i] ^= x;
            let _ = gce::verify(&c, &roots, AT, &[1]);
        }
    }
}
