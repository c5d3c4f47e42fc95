//! SNP verification against the simulated AMD PKI (`cloud-ra-sim`): a passing VCEK and VLEK
//! baseline, and negative cases that each differ from a baseline in exactly one input. Every case
//! asserts the verdict, the exit code, the first failing check and (where it matters) the field or
//! offset the detail names. The evaluation time is pinned; nothing reads the clock.

use cloud_ra_sim::{
    CA_NOT_BEFORE, CrlSpec, ReportBuilder, SIM_CHIP_ID, Signer, SimAmd, Tcb as SimTcb, VekKind, VekSpec, amd_oid,
    cert_table,
};
use cloud_ra_verify::bundle::{B64, Bundle, BundleCert};
use cloud_ra_verify::policy::{Num, OneOrMany, TcbMin};
use cloud_ra_verify::snp::claims::report_fields;
use cloud_ra_verify::snp::format::{
    self as fmt, CertKind, CertTableEntry, MAX_CERT_TABLE_ENTRIES, Product, Report, Tcb, parse_cert_table,
    write_cert_table,
};
use cloud_ra_verify::snp::verify::{ChainCache, SnpEvidence, SnpOptions, verify};
use cloud_ra_verify::{
    Caches, Category, Collateral, Outcome, Policy, Status, Timestamp, VerifyOptions, verify_evidence,
};

// ---------------------------------------------------------------------------------------------
// Helpers

const DAY: i64 = 86_400;
/// The pinned evaluation time, 2030-01-01T00:00:00Z.
const AT: i64 = 1_893_456_000;

fn sim() -> &'static SimAmd {
    SimAmd::get()
}

fn at() -> Timestamp {
    let t = Timestamp::parse_rfc3339("2030-01-01T00:00:00Z").expect("valid time");
    assert_eq!(t.0, AT);
    t
}

/// The report of `b`, with SIGNING_KEY set for `spec.kind`, signed with the key of `spec`.
fn sign_as(b: &ReportBuilder, spec: &VekSpec) -> Vec<u8> {
    let mut b = b.clone();
    b.signing_key = match spec.kind {
        VekKind::Vcek => 0,
        VekKind::Vlek => 1,
    };
    let mut bytes = b.to_bytes();
    sim().sign_report(spec, &mut bytes);
    bytes.to_vec()
}

/// One verification: report bytes, collateral files and options. The constructors give a case
/// that verifies; each test changes exactly one thing.
#[derive(Clone)]
struct Case {
    builder: ReportBuilder,
    /// The VEK certificate supplied, and the key the report is signed with.
    spec: VekSpec,
    report: Vec<u8>,
    /// Collateral files by name (DER), in order.
    files: Vec<(&'static str, Vec<u8>)>,
    opts: VerifyOptions,
}

impl Case {
    /// Milan v3 report of the simulated chip, VCEK chain ARK -> ASK -> VCEK.
    fn vcek() -> Self {
        Self::new(ReportBuilder::new(), VekKind::Vcek)
    }

    /// Milan v3 report signed by a VLEK, chain ARK -> ASVK -> VLEK.
    fn vlek() -> Self {
        Self::new(ReportBuilder::new(), VekKind::Vlek)
    }

    fn new(b: ReportBuilder, kind: VekKind) -> Self {
        let spec = b.vek_spec(kind);
        Self::with_spec(b, spec)
    }

    /// `b` signed with `spec`'s key; the VEK certificate is `spec`'s.
    fn with_spec(b: ReportBuilder, spec: VekSpec) -> Self {
        let inter = match spec.kind {
            VekKind::Vcek => ("ask.der", sim().ask_der().to_vec()),
            VekKind::Vlek => ("asvk.der", sim().asvk_der().to_vec()),
        };
        let report = sign_as(&b, &spec);
        let files = vec![("ark.der", sim().ark_der().to_vec()), inter, ("vek.der", sim().vek_der(&spec))];
        let opts = VerifyOptions { trust_simulated: true, ..VerifyOptions::at(at()) };
        Case { builder: b, spec, report, files, opts }
    }

    /// Replaces the collateral file `name` (or adds it).
    fn file(mut self, name: &'static str, der: Vec<u8>) -> Self {
        match self.files.iter_mut().find(|(n, _)| *n == name) {
            Some(f) => f.1 = der,
            None => self.files.push((name, der)),
        }
        self
    }

    fn without(mut self, name: &str) -> Self {
        self.files.retain(|(n, _)| *n != name);
        self
    }

    /// Rebuilds the report from the builder (after changing it), signed with the same key.
    fn rebuild(mut self, f: impl FnOnce(&mut ReportBuilder)) -> Self {
        f(&mut self.builder);
        self.report = sign_as(&self.builder, &self.spec);
        self
    }

    /// Sets signed bytes and re-signs, so only those bytes differ from the baseline.
    fn patch_signed(mut self, offset: usize, bytes: &[u8]) -> Self {
        assert!(offset + bytes.len() <= fmt::SIGNED_LEN);
        self.report[offset..offset + bytes.len()].copy_from_slice(bytes);
        sim().sign_report(&self.spec, &mut self.report);
        self
    }

    /// Sets bytes after signing (signature and unsigned area).
    fn patch_unsigned(mut self, offset: usize, bytes: &[u8]) -> Self {
        self.report[offset..offset + bytes.len()].copy_from_slice(bytes);
        self
    }

    fn opts(mut self, f: impl FnOnce(&mut VerifyOptions)) -> Self {
        f(&mut self.opts);
        self
    }

    fn collateral(&self) -> Collateral {
        let mut c = Collateral::default();
        for (name, der) in &self.files {
            c.add_file(name, der).unwrap_or_else(|e| panic!("collateral {name}: {e}"));
        }
        c
    }

    /// The extended-report certificate table holding every collateral file.
    fn table(&self) -> Vec<u8> {
        let entries: Vec<([u8; 16], Vec<u8>)> =
            self.files.iter().map(|(name, der)| (guid_for(name), der.clone())).collect();
        cert_table(&entries)
    }

    /// report || cert table.
    fn extended(&self) -> Vec<u8> {
        let mut v = self.report.clone();
        v.extend_from_slice(&self.table());
        v
    }

    fn run(&self) -> Outcome {
        run_bytes(&self.report, &self.collateral(), &self.opts)
    }

    /// The same evidence as an extended report with no separate collateral.
    fn run_extended(&self) -> Outcome {
        run_bytes(&self.extended(), &Collateral::default(), &self.opts)
    }
}

fn guid_for(name: &str) -> [u8; 16] {
    match name {
        "ark.der" => cloud_ra_sim::GUID_ARK,
        "ask.der" | "asvk.der" => cloud_ra_sim::GUID_ASK,
        "vek.der" => cloud_ra_sim::GUID_VCEK,
        "vlek.der" => cloud_ra_sim::GUID_VLEK,
        "crl.der" => cloud_ra_sim::GUID_CRL,
        _ => [0x5a; 16],
    }
}

fn run_bytes(bytes: &[u8], c: &Collateral, opts: &VerifyOptions) -> Outcome {
    verify_evidence(bytes, c, opts, None)
}

fn first_check(o: &Outcome) -> &str {
    o.failures.first().map(|f| f.check.as_str()).unwrap_or("")
}

fn first_detail(o: &Outcome) -> &str {
    o.failures.first().map(|f| f.detail.as_str()).unwrap_or("")
}

/// Verified, appraised OK, no warnings, exit 0.
#[track_caller]
fn assert_affirming(o: &Outcome) {
    assert!(o.verified, "not verified: {:?}", o.failures);
    assert!(o.failures.is_empty(), "{:?}", o.failures);
    assert!(o.warnings.is_empty(), "{:?}", o.warnings);
    assert_eq!(o.status, Status::Affirming);
    assert_eq!(o.exit_code(), 0);
}

/// Not verified; exit code, first check, and a substring of its detail.
#[track_caller]
fn assert_refused(o: &Outcome, exit: i32, check: &str, detail: &str) {
    assert!(!o.verified, "verified, expected {check}: {:?}", o.to_json());
    assert_eq!(o.status, Status::Contraindicated);
    assert_eq!(first_check(o), check, "{:?}", o.failures);
    assert_eq!(o.exit_code(), exit, "{:?}", o.failures);
    assert!(first_detail(o).contains(detail), "detail {:?} does not contain {detail:?}", first_detail(o));
}

/// Verified, appraisal failed (exit 4) at `check`.
#[track_caller]
fn assert_appraisal(o: &Outcome, check: &str, detail: &str) {
    assert!(o.verified, "not verified: {:?}", o.failures);
    assert_eq!(o.status, Status::Contraindicated);
    assert_eq!(first_check(o), check, "{:?}", o.failures);
    assert_eq!(o.failures[0].category, Category::Appraisal);
    assert_eq!(o.exit_code(), 4);
    assert!(first_detail(o).contains(detail), "detail {:?} does not contain {detail:?}", first_detail(o));
}

fn crl(spec: &CrlSpec) -> Vec<u8> {
    sim().crl_der(spec)
}

/// An ARK-signed CRL valid from a day before `AT` for a week.
fn fresh_crl() -> CrlSpec {
    CrlSpec::new(AT - DAY)
}

fn hexs(b: u8, n: usize) -> String {
    hex::encode(vec![b; n])
}

// ---------------------------------------------------------------------------------------------
// Baselines

#[test]
fn baseline_vcek_verifies() {
    let o = Case::vcek().run();
    assert_affirming(&o);
    assert_eq!(o.platform, "snp");
    assert!(o.detected.contains("raw SNP attestation report"), "{}", o.detected);
    let c = &o.claims;
    assert_eq!(c["platform"], "snp");
    assert_eq!(c["product"], "milan");
    assert_eq!(c["product_source"], "report CPUID");
    assert_eq!(c["signing_key"], "vcek");
    assert_eq!(c["version"], 3);
    assert_eq!(c["simulated"], true);
    assert_eq!(c["crls_checked"], 0);
    assert_eq!(c["debug"], false);
    assert_eq!(c["nonce_bound"], false);
    assert_eq!(c["reported_tcb"], serde_json::json!({"bootloader": 3, "tee": 0, "snp": 20, "microcode": 209}));
    assert_eq!(c["current_firmware"], "1.55.21");
    assert_eq!(c["chip_id"], hex::encode(SIM_CHIP_ID));
    assert_eq!(c["vek"]["product_name"], "Milan-B0");
    assert_eq!(c["ark_sha256"], hex::encode(sim().ark_sha256()));
    assert_eq!(c["ark_sha256"], cloud_ra_verify::snp::roots::SIMULATED_ARK);
    assert!(c["launch_mit_vector"].is_null());
}

#[test]
fn baseline_vlek_verifies() {
    let o = Case::vlek().run();
    assert_affirming(&o);
    assert_eq!(o.claims["signing_key"], "vlek");
    assert_eq!(o.claims["vek"]["csp_id"], "CN=sim.cloud-ra.invalid");
    assert_eq!(o.claims["vek"]["product_name"], "Milan");
}

#[test]
fn baseline_extended_report_and_bundles_verify() {
    let case = Case::vcek();
    // (b) report || cert table, nothing else.
    let o = case.run_extended();
    assert_affirming(&o);
    assert!(o.detected.contains("extended report") && o.detected.contains("3 entries"), "{}", o.detected);
    // (c) a bundle with the cert table.
    let json = Bundle::new_snp(&case.report, Some(&case.table())).to_json();
    let o = run_bytes(json.as_bytes(), &Collateral::default(), &case.opts);
    assert_affirming(&o);
    assert!(o.detected.contains("bundle"), "{}", o.detected);
    // A bundle with the certificates in `certs` and no table.
    let mut b = Bundle::new_snp(&case.report, None);
    for (name, der) in &case.files {
        b.certs.push(BundleCert { kind: name.trim_end_matches(".der").replace("vek", "vcek"), der: B64(der.clone()) });
    }
    let o = run_bytes(b.to_json().as_bytes(), &Collateral::default(), &case.opts);
    assert_affirming(&o);
    // The VLEK as an extended report.
    let o = Case::vlek().run_extended();
    assert_affirming(&o);
}

#[test]
fn bundle_with_unknown_format_is_refused() {
    let case = Case::vcek();
    let mut b = Bundle::new_snp(&case.report, None);
    b.format = "cloud-ra/evidence/v0".into();
    let o = run_bytes(b.to_json().as_bytes(), &case.collateral(), &case.opts);
    assert_refused(&o, 2, "bundle", "cloud-ra/evidence/v0");
}

#[test]
fn versions_2_4_and_5_verify() {
    let o = Case::vcek().rebuild(|b| b.version = 2).run();
    assert_affirming(&o);
    assert_eq!(o.claims["version"], 2);
    assert!(o.claims["cpuid"].is_null());
    assert_eq!(o.claims["product_source"], "VEK productName");
    let o = Case::vcek().rebuild(|b| b.version = 4).run();
    assert_affirming(&o);
    let o = Case::vcek().rebuild(|b| b.version = 5).run();
    assert_affirming(&o);
    assert_eq!(o.claims["launch_mit_vector"], "0x0000000000000000");
}

// ---------------------------------------------------------------------------------------------
// 1, 2: the root

#[test]
fn simulated_ark_refused_without_trust_simulated() {
    let o = Case::vcek().opts(|o| o.trust_simulated = false).run();
    assert_refused(&o, 2, "snp.ark", "SIMULATED");
    assert!(first_detail(&o).contains(cloud_ra_verify::snp::roots::SIMULATED_ARK));
    // Same for the extended report and the VLEK chain.
    assert_refused(&Case::vcek().opts(|o| o.trust_simulated = false).run_extended(), 2, "snp.ark", "SIMULATED");
    assert_refused(&Case::vlek().opts(|o| o.trust_simulated = false).run(), 2, "snp.ark", "SIMULATED");
}

#[test]
fn impostor_ark_refused() {
    let o = Case::vcek().file("ark.der", sim().impostor_ark_der().to_vec()).run();
    assert_refused(&o, 2, "snp.ark", "is not the pinned AMD ARK-Milan");
    // In the cert table too.
    let o = Case::vcek().file("ark.der", sim().impostor_ark_der().to_vec()).run_extended();
    assert_refused(&o, 2, "snp.ark", "is not the pinned AMD ARK-Milan");
}

#[test]
fn impostor_ark_beside_the_real_one_is_ignored() {
    let o = Case::vcek().file("impostor.der", sim().impostor_ark_der().to_vec()).run();
    assert_affirming(&o);
}

#[test]
fn no_ark_is_missing_collateral() {
    let o = Case::vcek().without("ark.der").run();
    assert_refused(&o, 3, "snp.ark", "no ARK-Milan certificate");
}

#[test]
fn no_ask_is_missing_collateral() {
    let o = Case::vcek().without("ask.der").run();
    assert_refused(&o, 3, "snp.chain", "no SEV-Milan certificate");
}

#[test]
fn no_vek_is_missing_collateral() {
    let o = Case::vcek().without("vek.der").run();
    assert_refused(&o, 3, "snp.vek", "no VCEK certificate");
    let o = Case::vlek().without("vek.der").run();
    assert_refused(&o, 3, "snp.vek", "a VLEK cannot be fetched from AMD KDS");
}

// ---------------------------------------------------------------------------------------------
// 3: tampering

#[test]
fn flipped_measurement_fails_the_signature() {
    let mut case = Case::vcek();
    case.report[0x090] ^= 0x01;
    assert_refused(&case.run(), 2, "snp.signature", "does not verify over bytes 0x000..0x2A0");
}

#[test]
fn flipped_reported_tcb_fails_the_vek_tcb_binding() {
    let mut case = Case::vcek();
    case.report[0x186] ^= 0x01; // REPORTED_TCB.snp 20 -> 21
    let o = case.run();
    assert_refused(&o, 2, "snp.vek_tcb", "REPORTED_TCB.snp is 21 but the VEK snpSPL extension is 20");
    assert!(first_detail(&o).contains("also snp.signature"), "{}", first_detail(&o));
}

#[test]
fn flipped_chip_id_fails_the_hwid_binding_and_signature() {
    let mut case = Case::vcek();
    case.report[0x1A0 + 17] ^= 0x01;
    let o = case.run();
    assert_refused(&o, 2, "snp.vek_hwid", "is not the VCEK hwID");
    assert!(first_detail(&o).contains("also snp.signature"), "{}", first_detail(&o));
}

#[test]
fn flipped_signing_key_refused() {
    let mut case = Case::vcek();
    case.report[0x048] ^= 0x04; // SIGNING_KEY 0 -> 1 (VLEK)
    assert_refused(&case.run(), 2, "snp.signer", "SIGNING_KEY says VLEK but only a VCEK certificate");
}

/// Every single-bit flip anywhere in the 1184 bytes must make verification fail.
#[test]
fn every_byte_flip_is_refused() {
    let case = Case::vcek();
    let c = case.collateral();
    let caches = Caches::default();
    for mask in [0x01u8, 0x80] {
        for i in 0..fmt::REPORT_SIZE {
            let mut r = case.report.clone();
            r[i] ^= mask;
            let o = verify_evidence(&r, &c, &case.opts, Some(&caches));
            assert!(!o.verified, "flip {mask:#04x} at {i:#05x} still verifies: {:?}", o.to_json());
            assert_ne!(o.exit_code(), 0, "flip at {i:#05x}");
            let check = first_check(&o);
            if i < fmt::SIGNED_LEN {
                assert!(check.starts_with("snp."), "flip at {i:#05x}: {check}");
            } else if (0x2A0 + 48..0x2A0 + 72).contains(&i) || (0x2E8 + 48..0x330).contains(&i) || i >= 0x330 {
                assert_eq!(check, "snp.format", "flip at {i:#05x}");
                assert!(first_detail(&o).contains(&format!("{i:#05x}")), "flip at {i:#05x}: {}", first_detail(&o));
            } else {
                assert_eq!(check, "snp.signature", "flip at {i:#05x}");
            }
        }
    }
    assert_eq!(caches.snp.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// 4: format

#[track_caller]
fn assert_format(o: &Outcome, offset: usize) {
    assert_refused(o, 2, "snp.format", &format!("reserved byte at offset {offset:#05x}"));
}

#[test]
fn reserved_after_signer_info() {
    assert_format(&Case::vcek().patch_signed(0x04C, &[1]).run(), 0x04C);
    assert!(first_detail(&Case::vcek().patch_signed(0x04F, &[1]).run()).contains("0x04f"));
}

#[test]
fn reserved_after_current_and_committed_major() {
    assert_format(&Case::vcek().patch_signed(0x1EB, &[1]).run(), 0x1EB);
    assert_format(&Case::vcek().patch_signed(0x1EF, &[1]).run(), 0x1EF);
}

#[test]
fn reserved_after_cpuid_in_v3() {
    assert_format(&Case::vcek().patch_signed(0x18B, &[1]).run(), 0x18B);
    assert_format(&Case::vcek().patch_signed(0x19F, &[1]).run(), 0x19F);
}

#[test]
fn cpuid_bytes_are_reserved_in_v2() {
    let v2 = Case::vcek().rebuild(|b| b.version = 2);
    assert_affirming(&v2.run());
    assert_format(&v2.patch_signed(0x188, &[0x19]).run(), 0x188);
}

#[test]
fn mitigation_vector_bytes_are_reserved_before_v5() {
    for v in [3, 4] {
        let case = Case::vcek().rebuild(|b| b.version = v);
        assert_affirming(&case.run());
        assert_format(&case.clone().patch_signed(0x1F8, &[1]).run(), 0x1F8);
        assert_format(&case.patch_signed(0x200, &[1]).run(), 0x200);
    }
    let v5 = Case::vcek().rebuild(|b| b.version = 5);
    let o = v5.clone().patch_signed(0x1F8, &[1]).run();
    assert_affirming(&o);
    assert_eq!(o.claims["launch_mit_vector"], "0x0000000000000001");
    assert_format(&v5.patch_signed(0x208, &[1]).run(), 0x208);
}

#[test]
fn unsigned_area_must_be_zero() {
    assert_format(&Case::vcek().patch_unsigned(0x330, &[1]).run(), 0x330);
    assert_format(&Case::vcek().patch_unsigned(0x49F, &[1]).run(), 0x49F);
}

#[test]
fn signature_high_bytes_must_be_zero() {
    let o = Case::vcek().patch_unsigned(0x2A0 + 48, &[1]).run();
    assert_format(&o, 0x2D0);
    assert!(first_detail(&o).contains("SIGNATURE.R high bytes"), "{}", first_detail(&o));
    let o = Case::vcek().patch_unsigned(0x2E8 + 71, &[1]).run();
    assert_format(&o, 0x32F);
    assert!(first_detail(&o).contains("SIGNATURE.S high bytes"), "{}", first_detail(&o));
}

#[test]
fn versions_1_and_6_refused() {
    for v in [1u32, 6] {
        let o = Case::vcek().patch_signed(0, &v.to_le_bytes()).run();
        assert_refused(&o, 2, "snp.format", &format!("VERSION (offset 0x000) is {v}"));
    }
}

#[test]
fn other_format_fields_refused() {
    // SIGNATURE_ALGO 2.
    let o = Case::vcek().patch_signed(0x034, &2u32.to_le_bytes()).run();
    assert_refused(&o, 2, "snp.format", "SIGNATURE_ALGO (offset 0x034) is 2");
    // POLICY bit 17 clear.
    let o = Case::vcek().rebuild(|b| b.policy = 0x1_0000).run();
    assert_refused(&o, 2, "snp.format", "bit 17");
    // POLICY reserved bit 26.
    let o = Case::vcek().rebuild(|b| b.policy = 0x3_0000 | 1 << 26).run();
    assert_refused(&o, 2, "snp.format", "reserved bits 63:26");
    // PLATFORM_INFO bit 8.
    let o = Case::vcek().rebuild(|b| b.platform_info = 0x101).run();
    assert_refused(&o, 2, "snp.format", "PLATFORM_INFO (offset 0x040)");
    // SIGNER_INFO reserved bit 5, and a reserved SIGNING_KEY value.
    let o = Case::vcek().patch_signed(0x048, &[0x20]).run();
    assert_refused(&o, 2, "snp.format", "SIGNER_INFO (offset 0x048)");
    let o = Case::vcek().patch_signed(0x048, &[2 << 2]).run();
    assert_refused(&o, 2, "snp.format", "SIGNING_KEY (offset 0x048 bits 4:2) is 2");
}

#[test]
fn signing_key_none_refused() {
    let o = Case::vcek().patch_signed(0x048, &[7 << 2]).run();
    assert_refused(&o, 2, "snp.signer", "is 7 (none)");
}

#[test]
fn wrong_sizes_and_empty_input_refused() {
    let case = Case::vcek();
    let c = case.collateral();
    let o = run_bytes(&case.report[..1183], &c, &case.opts);
    assert_refused(&o, 2, "detect", "1183 bytes");
    assert_eq!(o.platform, "unknown");
    // 1185 bytes look like a report followed by a (1-byte, so truncated) certificate table.
    let mut long = case.report.clone();
    long.push(0);
    let o = run_bytes(&long, &c, &case.opts);
    assert_refused(&o, 2, "snp.cert_table", "has no terminating all-zero entry");
    let o = run_bytes(&[], &c, &case.opts);
    assert_refused(&o, 2, "detect", "empty");
    // Report::parse itself.
    assert_eq!(Report::parse(&long).unwrap_err().check, "snp.format");
    assert!(Report::parse(&case.report[..1183]).unwrap_err().detail.contains("1183 bytes"));
    // The report followed by an empty table (just the terminator) verifies.
    let mut ok = case.report.clone();
    ok.extend_from_slice(&[0u8; 24]);
    assert_affirming(&run_bytes(&ok, &c, &case.opts));
}

// ---------------------------------------------------------------------------------------------
// 5: signer kind and intermediates

#[test]
fn vcek_report_with_only_a_vlek_refused() {
    let vlek = VekSpec::vlek(ReportBuilder::new().reported_tcb);
    let o = Case::vcek()
        .without("ask.der")
        .file("asvk.der", sim().asvk_der().to_vec())
        .file("vek.der", sim().vek_der(&vlek))
        .run();
    assert_refused(&o, 2, "snp.signer", "SIGNING_KEY says VCEK but only a VLEK certificate was supplied");
}

#[test]
fn vlek_report_with_only_a_vcek_refused() {
    let vcek = ReportBuilder::new().vek_spec(VekKind::Vcek);
    let o = Case::vlek()
        .without("asvk.der")
        .file("ask.der", sim().ask_der().to_vec())
        .file("vek.der", sim().vek_der(&vcek))
        .run();
    assert_refused(&o, 2, "snp.signer", "SIGNING_KEY says VLEK but only a VCEK certificate was supplied");
}

#[test]
fn vlek_issued_by_the_ask_refused() {
    let mut spec = VekSpec::vlek(ReportBuilder::new().reported_tcb);
    spec.issuer = Signer::Ask;
    let case =
        Case::with_spec(ReportBuilder::new(), spec).without("asvk.der").file("ask.der", sim().ask_der().to_vec());
    assert_refused(&case.run(), 3, "snp.chain", "must be issued by SEV-VLEK-Milan");
    // With the ASVK supplied as well, the VLEK does not chain to it.
    let o = case.file("asvk.der", sim().asvk_der().to_vec()).run();
    assert_refused(&o, 2, "snp.chain", "is not the subject of");
}

#[test]
fn vcek_issued_by_the_asvk_refused() {
    let mut spec = ReportBuilder::new().vek_spec(VekKind::Vcek);
    spec.issuer = Signer::Asvk;
    let case = Case::with_spec(ReportBuilder::new(), spec);
    // Only the ASVK as intermediate.
    let o = case.clone().without("ask.der").file("asvk.der", sim().asvk_der().to_vec()).run();
    assert_refused(&o, 3, "snp.chain", "must be issued by SEV-Milan");
    // With the ASK too: the VCEK's issuer is not the ASK.
    let o = case.file("asvk.der", sim().asvk_der().to_vec()).run();
    assert_refused(&o, 2, "snp.chain", "is not the subject of");
}

#[test]
fn vcek_with_the_asvk_as_its_intermediate_refused() {
    // A correct VCEK (issued by the ASK), but the ASVK supplied instead of the ASK.
    let o = Case::vcek().without("ask.der").file("asvk.der", sim().asvk_der().to_vec()).run();
    assert_refused(&o, 3, "snp.chain", "must be issued by SEV-Milan");
}

#[test]
fn vek_that_is_a_ca_refused() {
    let mut spec = ReportBuilder::new().vek_spec(VekKind::Vcek);
    spec.extra_extensions.push(("2.5.29.19".into(), vec![0x30, 0x03, 0x01, 0x01, 0xFF]));
    let o = Case::with_spec(ReportBuilder::new(), spec).run();
    assert_refused(&o, 2, "snp.chain", "is a CA certificate");
}

// ---------------------------------------------------------------------------------------------
// 6: VEK extensions

fn vcek_spec() -> VekSpec {
    ReportBuilder::new().vek_spec(VekKind::Vcek)
}

fn with_ext(mut spec: VekSpec, oid: &str, value: Option<Vec<u8>>) -> VekSpec {
    spec.omit_extensions.push(oid.to_string());
    if let Some(v) = value {
        spec.extra_extensions.push((oid.to_string(), v));
    }
    spec
}

#[test]
fn vcek_without_bl_spl_refused() {
    let spec = with_ext(vcek_spec(), amd_oid::BL_SPL, None);
    let o = Case::with_spec(ReportBuilder::new(), spec).run();
    assert_refused(&o, 2, "snp.vek_tcb", "VEK lacks the blSPL extension");
}

#[test]
fn vcek_without_ucode_spl_refused() {
    let spec = with_ext(vcek_spec(), amd_oid::UCODE_SPL, None);
    let o = Case::with_spec(ReportBuilder::new(), spec).run();
    assert_refused(&o, 2, "snp.vek_tcb", "VEK lacks the ucodeSPL extension");
}

#[test]
fn ucode_spl_two_byte_integer_matches() {
    // 209 = 0xD1 needs a leading zero byte: 02 02 00 D1.
    assert_eq!(ReportBuilder::new().reported_tcb.ucode, 0xD1);
    assert!(sim().vek_der(&vcek_spec()).windows(4).any(|w| w == [0x02, 0x02, 0x00, 0xD1]));
    let spec = with_ext(vcek_spec(), amd_oid::UCODE_SPL, Some(vec![0x02, 0x02, 0x00, 0xD1]));
    assert_affirming(&Case::with_spec(ReportBuilder::new(), spec).run());
    // 0x80 likewise (the smallest value that needs two bytes).
    let b = ReportBuilder::new().with_tcb(SimTcb::milan(3, 0, 20, 0x80));
    let spec = with_ext(b.vek_spec(VekKind::Vcek), amd_oid::UCODE_SPL, Some(vec![0x02, 0x02, 0x00, 0x80]));
    assert_affirming(&Case::with_spec(b, spec).run());
}

#[test]
fn ucode_spl_negative_or_too_large_refused() {
    // 02 01 D1 is -47, not 209.
    let spec = with_ext(vcek_spec(), amd_oid::UCODE_SPL, Some(vec![0x02, 0x01, 0xD1]));
    let o = Case::with_spec(ReportBuilder::new(), spec).run();
    assert_refused(&o, 2, "snp.vek_extensions", "negative INTEGER");
    let spec = with_ext(vcek_spec(), amd_oid::UCODE_SPL, Some(vec![0x02, 0x02, 0x01, 0xD1]));
    let o = Case::with_spec(ReportBuilder::new(), spec).run();
    assert_refused(&o, 2, "snp.vek_extensions", "value 465 does not fit");
    let spec = with_ext(vcek_spec(), amd_oid::UCODE_SPL, Some(vec![0x04, 0x01, 0xD1]));
    let o = Case::with_spec(ReportBuilder::new(), spec).run();
    assert_refused(&o, 2, "snp.vek_extensions", "not a DER INTEGER");
}

#[test]
fn hwid_prefix_of_chip_id_refused() {
    let spec = with_ext(vcek_spec(), amd_oid::HWID, Some(SIM_CHIP_ID[..32].to_vec()));
    let o = Case::with_spec(ReportBuilder::new(), spec).run();
    assert_refused(&o, 2, "snp.vek_hwid", "VCEK hwID is 32 bytes; Milan uses 64");
}

#[test]
fn hwid_with_an_extra_byte_refused() {
    let mut long = SIM_CHIP_ID.to_vec();
    long.push(0);
    let spec = with_ext(vcek_spec(), amd_oid::HWID, Some(long));
    let o = Case::with_spec(ReportBuilder::new(), spec).run();
    assert_refused(&o, 2, "snp.vek_hwid", "VCEK hwID is 65 bytes; Milan uses 64");
}

#[test]
fn vcek_without_hwid_refused() {
    let spec = with_ext(vcek_spec(), amd_oid::HWID, None);
    let o = Case::with_spec(ReportBuilder::new(), spec).run();
    assert_refused(&o, 2, "snp.vek_hwid", "VCEK lacks the hwID extension");
}

#[test]
fn vlek_without_csp_id_refused() {
    let mut spec = VekSpec::vlek(ReportBuilder::new().reported_tcb);
    spec.csp_id = None;
    let o = Case::with_spec(ReportBuilder::new(), spec).run();
    assert_refused(&o, 2, "snp.vek_csp_id", "VLEK lacks the CSP_ID extension");
}

#[test]
fn genoa_vcek_for_a_milan_report_refused() {
    let mut spec = vcek_spec();
    spec.product_name = "Genoa".into();
    let o = Case::with_spec(ReportBuilder::new(), spec).run();
    assert_refused(&o, 2, "snp.vek_product", "VEK productName 'Genoa' is not the Milan product line (report CPUID)");
}

#[test]
fn product_hint_contradicting_cpuid_refused() {
    let o = Case::vcek().opts(|o| o.product = Some(Product::Genoa)).run();
    assert_refused(&o, 2, "snp.product", "--product Genoa but the report CPUID says Milan");
    // The same hint via the policy file.
    let o = Case::vcek().opts(|o| o.policy.snp.product = Some("genoa".into())).run();
    assert_refused(&o, 2, "snp.product", "--product Genoa");
    // And a hint that agrees is fine.
    assert_affirming(&Case::vcek().opts(|o| o.product = Some(Product::Milan)).run());
    // An unknown product name in the policy is a usage error.
    let o = Case::vcek().opts(|o| o.policy.snp.product = Some("rome".into())).run();
    assert_refused(&o, 1, "snp.product", "unknown product 'rome'");
}

/// The simulated PKI only has Milan names (ARK-Milan, SEV-Milan), also for its Turin VCEKs. A
/// Turin report (CPUID family 0x1A) needs ARK-Turin/SEV-Turin, so the verifier refuses the Milan
/// chain as "another product line" (exit 3, missing collateral): there is no Turin-chain positive
/// case, and the fmcSPL binding cannot be reached with the simulated PKI.
#[test]
fn turin_report_with_the_simulated_milan_chain_refused() {
    let b = ReportBuilder::turin();
    let case = Case::new(b.clone(), VekKind::Vcek);
    assert_eq!(case.spec.product_name, "Turin");
    assert_eq!(case.spec.issuer, Signer::Ask);
    let o = case.run();
    assert_refused(&o, 3, "snp.chain", "must be issued by SEV-Turin");
    assert!(first_detail(&o).contains("another kind or product line"), "{}", first_detail(&o));
    // A Turin VCEK without fmcSPL: refused, at the same place.
    let spec = with_ext(b.vek_spec(VekKind::Vcek), amd_oid::FMC_SPL, None);
    let o = Case::with_spec(b, spec).run();
    assert_refused(&o, 3, "snp.chain", "must be issued by SEV-Turin");
}

#[test]
fn turin_tcb_layout_decoded() {
    let b = ReportBuilder::turin().with_tcb(SimTcb::turin(2, 4, 6, 8, 77));
    let bytes = sign_as(&b, &b.vek_spec(VekKind::Vcek));
    let r = Report::parse(&bytes).expect("Turin report parses");
    assert_eq!(r.cpuid, Some((0x1A, 0x02, 0x01)));
    assert_eq!(r.product_from_cpuid(), Some(Product::Turin));
    assert_eq!(r.reported_tcb, u64::from_le_bytes([2, 4, 6, 8, 0, 0, 0, 77]));
    let t = Tcb::decode(r.reported_tcb, Product::Turin);
    assert_eq!(t, Tcb { fmc: Some(2), bootloader: 4, tee: 6, snp: 8, microcode: 77 });
    assert!(!Tcb::reserved_nonzero(r.reported_tcb, Product::Turin));
    // The same bytes read with the Milan layout put FMC/BL/TEE/SNP in the wrong places and hit
    // the Milan reserved bytes.
    assert!(Tcb::reserved_nonzero(r.reported_tcb, Product::Milan));
    let fields = report_fields(&r, Some(Product::Turin));
    assert_eq!(
        fields["reported_tcb"]["components"],
        serde_json::json!({"fmc": 2, "bootloader": 4, "tee": 6, "snp": 8, "microcode": 77})
    );
    assert_eq!(fields["chip_id"], hex::encode(cloud_ra_sim::sim_chip_id_turin()));
    // The sim's own decoder agrees.
    assert_eq!(SimTcb::from_u64_turin(r.reported_tcb), SimTcb::turin(2, 4, 6, 8, 77));
}

// ---------------------------------------------------------------------------------------------
// 7: v5 mitigation vectors

#[test]
fn v5_mitigation_vectors_in_claims_and_refused_as_v4() {
    let case = Case::vcek().rebuild(|b| {
        b.version = 5;
        b.launch_mit_vector = 0x5;
        b.current_mit_vector = 0x1_0007;
    });
    let r = Report::parse(&case.report).expect("v5 parses");
    assert_eq!(r.mit_vectors, Some((0x5, 0x1_0007)));
    let o = case.run();
    assert_affirming(&o);
    assert_eq!(o.claims["launch_mit_vector"], "0x0000000000000005");
    assert_eq!(o.claims["current_mit_vector"], "0x0000000000010007");
    // The same bytes claiming version 4.
    let o = case.patch_signed(0, &4u32.to_le_bytes()).run();
    assert_format(&o, 0x1F8);
}

// ---------------------------------------------------------------------------------------------
// 8: masked CHIP_ID and the product line

/// A report with CHIP_ID all zero (MASK_CHIP_ID), signed by the chip's real VCEK.
fn masked(b: ReportBuilder) -> (ReportBuilder, VekSpec) {
    let spec = VekSpec::vcek(b.reported_tcb);
    let b = ReportBuilder { chip_id: [0; 64], mask_chip_key: true, ..b };
    (b, spec)
}

#[test]
fn masked_chip_id_verifies_with_a_warning() {
    let (b, spec) = masked(ReportBuilder::new());
    let o = Case::with_spec(b, spec).run();
    assert!(o.verified, "{:?}", o.failures);
    assert!(o.failures.is_empty(), "{:?}", o.failures);
    assert_eq!(o.status, Status::Warning);
    assert_eq!(o.exit_code(), 0);
    assert_eq!(o.warnings[0].check, "snp.vek_hwid");
    assert!(o.warnings[0].detail.contains("CHIP_ID is masked"), "{}", o.warnings[0].detail);
    assert_eq!(o.claims["mask_chip_key"], true);
}

#[test]
fn masked_v2_report_without_product_needs_a_hint() {
    let (b, spec) = masked(ReportBuilder { version: 2, ..ReportBuilder::new() });
    let spec = with_ext(spec, amd_oid::PRODUCT_NAME, None);
    let case = Case::with_spec(b, spec);
    let o = case.run();
    assert_refused(&o, 1, "snp.product", "CHIP_ID is masked");
    assert!(first_detail(&o).contains("give --product"), "{}", first_detail(&o));
    // With the hint it verifies (the masked CHIP_ID still warns).
    let o = case.clone().opts(|o| o.product = Some(Product::Milan)).run();
    assert!(o.verified, "{:?}", o.failures);
    assert_eq!(o.exit_code(), 0);
    assert_eq!(o.status, Status::Warning);
    assert_eq!(o.warnings[0].check, "snp.vek_hwid");
    assert_eq!(o.claims["product_source"], "--product");
    // The hint from the policy file works the same.
    let o = case.opts(|o| o.policy.snp.product = Some("milan".into())).run();
    assert!(o.verified, "{:?}", o.failures);
    assert_eq!(o.exit_code(), 0);
}

// ---------------------------------------------------------------------------------------------
// 9: CRL

#[test]
fn fresh_empty_crl_is_checked() {
    let o = Case::vcek().file("crl.der", crl(&fresh_crl())).run();
    assert_affirming(&o);
    assert_eq!(o.claims["crls_checked"], 1);
    // From the cert table too.
    let o = Case::vcek().file("crl.der", crl(&fresh_crl())).run_extended();
    assert_affirming(&o);
    assert_eq!(o.claims["crls_checked"], 1);
    // And for the VLEK chain.
    let o = Case::vlek().file("crl.der", crl(&fresh_crl())).run();
    assert_affirming(&o);
    assert_eq!(o.claims["crls_checked"], 1);
}

#[test]
fn revoked_vek_refused() {
    let spec = CrlSpec { revoked: vec![vec![0]], ..fresh_crl() };
    let o = Case::vcek().file("crl.der", crl(&spec)).run();
    assert_refused(&o, 2, "snp.crl", "VEK 'SEV-VCEK' serial 00 is revoked");
    // A VEK with another serial is not hit by that entry; revoking its serial is.
    let mut vcek = vcek_spec();
    vcek.serial = vec![0x01, 0x23];
    let case = Case::with_spec(ReportBuilder::new(), vcek).file("crl.der", crl(&spec));
    assert_affirming(&case.run());
    let spec = CrlSpec { revoked: vec![vec![0x01, 0x23]], ..fresh_crl() };
    assert_refused(&case.file("crl.der", crl(&spec)).run(), 2, "snp.crl", "serial 0123 is revoked");
}

#[test]
fn revoked_ask_and_asvk_refused() {
    let spec = CrlSpec { revoked: vec![vec![2]], ..fresh_crl() };
    let o = Case::vcek().file("crl.der", crl(&spec)).run();
    assert_refused(&o, 2, "snp.crl", "ASK/ASVK 'SEV-Milan' serial 02 is revoked");
    let spec = CrlSpec { revoked: vec![vec![3]], ..fresh_crl() };
    let o = Case::vlek().file("crl.der", crl(&spec)).run();
    assert_refused(&o, 2, "snp.crl", "ASK/ASVK 'SEV-VLEK-Milan' serial 03 is revoked");
    // The ASVK's serial does not revoke the ASK.
    assert_affirming(&Case::vcek().file("crl.der", crl(&spec)).run());
}

#[test]
fn stale_crl_refused() {
    let spec = CrlSpec { this_update: AT - 8 * DAY, next_update: Some(AT - DAY), ..fresh_crl() };
    let o = Case::vcek().file("crl.der", crl(&spec)).run();
    assert_refused(&o, 3, "snp.crl", "CRL is stale");
    // nextUpdate exactly at the evaluation time is stale too; one second later is fresh.
    let spec = CrlSpec { this_update: AT - 7 * DAY, next_update: Some(AT), ..fresh_crl() };
    assert_refused(&Case::vcek().file("crl.der", crl(&spec)).run(), 3, "snp.crl", "CRL is stale");
    let spec = CrlSpec { this_update: AT - 7 * DAY, next_update: Some(AT + 1), ..fresh_crl() };
    assert_affirming(&Case::vcek().file("crl.der", crl(&spec)).run());
}

#[test]
fn future_crl_refused() {
    let spec = CrlSpec::new(AT + DAY);
    let o = Case::vcek().file("crl.der", crl(&spec)).run();
    assert_refused(&o, 3, "snp.crl", "thisUpdate");
    // thisUpdate exactly at the evaluation time is fine.
    assert_affirming(&Case::vcek().file("crl.der", crl(&CrlSpec::new(AT))).run());
}

#[test]
fn crl_not_signed_by_the_ark_refused() {
    for signer in [Signer::ImpostorArk, Signer::Ask, Signer::Asvk] {
        let spec = CrlSpec { signer, ..fresh_crl() };
        let o = Case::vcek().file("crl.der", crl(&spec)).run();
        assert_refused(&o, 2, "snp.crl", "CRL signature by 'ARK-Milan'");
    }
}

#[test]
fn crl_required_by_policy() {
    let o = Case::vcek().opts(|o| o.policy.require_crl = Some(true)).run();
    assert_refused(&o, 3, "snp.crl", "policy requires a CRL");
    let o = Case::vcek().opts(|o| o.policy.require_crl = Some(true)).file("crl.der", crl(&fresh_crl())).run();
    assert_affirming(&o);
    assert_eq!(o.claims["crls_checked"], 1);
}

#[test]
fn crl_without_next_update_refused() {
    let spec = CrlSpec { next_update: None, ..fresh_crl() };
    let o = Case::vcek().file("crl.der", crl(&spec)).run();
    assert_refused(&o, 3, "snp.crl", "CRL has no nextUpdate");
}

// ---------------------------------------------------------------------------------------------
// 10: validity

#[test]
fn expired_ask_refused() {
    let ask = sim().ask_with_validity(CA_NOT_BEFORE, AT - 1);
    let o = Case::vcek().file("ask.der", ask).run();
    assert_refused(&o, 2, "snp.chain", "'SEV-Milan' expired at");
    // Valid until exactly the evaluation time is still valid.
    assert_affirming(&Case::vcek().file("ask.der", sim().ask_with_validity(CA_NOT_BEFORE, AT)).run());
}

#[test]
fn expired_asvk_refused() {
    let asvk = sim().asvk_with_validity(CA_NOT_BEFORE, AT - 1);
    let o = Case::vlek().file("asvk.der", asvk).run();
    assert_refused(&o, 2, "snp.chain", "'SEV-VLEK-Milan' expired at");
}

#[test]
fn vek_not_yet_valid_refused() {
    let mut spec = vcek_spec();
    spec.not_before = AT + 1;
    let o = Case::with_spec(ReportBuilder::new(), spec).run();
    assert_refused(&o, 2, "snp.chain", "'SEV-VCEK' is not valid before");
    let mut spec = vcek_spec();
    spec.not_after = AT - 1;
    let o = Case::with_spec(ReportBuilder::new(), spec).run();
    assert_refused(&o, 2, "snp.chain", "'SEV-VCEK' expired at");
}

#[test]
fn evaluation_in_2018_refused() {
    let t = Timestamp::parse_rfc3339("2018-06-01T00:00:00Z").expect("time");
    let o = Case::vcek().opts(|o| o.at = t).run();
    assert_refused(&o, 2, "snp.chain", "'ARK-Milan' is not valid before 2019-01-01T00:00:00Z");
}

// ---------------------------------------------------------------------------------------------
// 11: appraisal

#[test]
fn debug_guest_refused_by_default() {
    let case = Case::vcek().rebuild(|b| b.policy = 0x3_0000 | 1 << 19);
    let o = case.run();
    assert_appraisal(&o, "policy.debug", "POLICY.DEBUG is set");
    assert_eq!(o.claims["debug"], true);
    assert_affirming(&case.clone().opts(|o| o.allow_debug = true).run());
    assert_affirming(&case.clone().opts(|o| o.policy.allow_debug = Some(true)).run());
    // A most-permissive guest policy that allows debug accepts it too.
    assert_affirming(&case.opts(|o| o.policy.snp.guest_policy = Some(Num::Int(0xB_0000))).run());
}

fn nonce() -> Vec<u8> {
    (1..=32).collect()
}

#[test]
fn nonce_match_and_mismatch() {
    let mut rd = [0u8; 64];
    rd[..32].copy_from_slice(&nonce());
    let case = Case::vcek().rebuild(|b| b.report_data = rd);
    let o = case.clone().opts(|o| o.nonce = Some(nonce())).run();
    assert_affirming(&o);
    assert_eq!(o.claims["nonce_bound"], true);
    let mut other = nonce();
    other[31] ^= 1;
    let o = case.clone().opts(|o| o.nonce = Some(other)).run();
    assert_appraisal(&o, "policy.nonce", "does not carry the nonce");
    assert_eq!(o.claims["nonce_bound"], false);
    // The nonce from the policy file.
    let o = case.clone().opts(|o| o.policy.nonce = Some(hex::encode(nonce()))).run();
    assert_affirming(&o);
    assert_eq!(o.claims["nonce_bound"], true, "a policy-file nonce binds like --nonce");
    let o = case.clone().opts(|o| o.policy.nonce = Some(hexs(0xEE, 32))).run();
    assert_appraisal(&o, "policy.nonce", "does not carry the nonce");
    // An empty nonce would match any all-zero REPORT_DATA: refused as a usage error.
    let zero = Case::vcek().rebuild(|b| b.report_data = [0; 64]);
    let o = zero.opts(|o| o.policy.nonce = Some(String::new())).run();
    assert_eq!(o.exit_code(), 1);
    assert_eq!(o.failures[0].check, "nonce");
}

#[test]
fn report_data_reference() {
    let case = Case::vcek().rebuild(|b| b.report_data = [0x42; 64]);
    assert_affirming(&case.clone().opts(|o| o.policy.snp.report_data = Some(hexs(0x42, 64))).run());
    let o = case.opts(|o| o.policy.snp.report_data = Some(hexs(0x43, 64))).run();
    assert_appraisal(&o, "policy.report_data", "REPORT_DATA");
}

#[test]
fn vmpl_required() {
    let o = Case::vcek().opts(|o| o.policy.snp.vmpl = Some(2)).run();
    assert_appraisal(&o, "policy.vmpl", "VMPL is 0 but the policy requires 2");
    // Sakura's guests run at VMPL 2.
    let sakura = Case::vcek().rebuild(|b| b.vmpl = 2);
    let o = sakura.clone().opts(|o| o.policy.snp.vmpl = Some(2)).run();
    assert_affirming(&o);
    assert_eq!(o.claims["vmpl"], 2);
    let o = sakura.opts(|o| o.policy.snp.vmpl = Some(0)).run();
    assert_appraisal(&o, "policy.vmpl", "VMPL is 2 but the policy requires 0");
}

#[test]
fn measurement_list() {
    let case = Case::vcek().rebuild(|b| b.measurement = [0xAB; 48]);
    let accepted = OneOrMany::Many(vec![hexs(0x00, 48), hexs(0xAB, 48)]);
    assert_affirming(&case.clone().opts(|o| o.policy.snp.measurement = Some(accepted)).run());
    let one = OneOrMany::One(hexs(0xAB, 48));
    assert_affirming(&case.clone().opts(|o| o.policy.snp.measurement = Some(one)).run());
    let refused = OneOrMany::Many(vec![hexs(0x00, 48), hexs(0xCD, 48)]);
    let o = case.clone().opts(|o| o.policy.snp.measurement = Some(refused)).run();
    assert_appraisal(&o, "policy.reference_value", &format!("MEASUREMENT {}", hexs(0xAB, 48)));
    // Bad hex in the policy is a usage error (exit 1), not a silent pass.
    let bad = OneOrMany::One("zz".into());
    let o = case.opts(|o| o.policy.snp.measurement = Some(bad)).run();
    assert!(o.verified);
    assert_eq!(first_check(&o), "policy");
    assert_eq!(o.exit_code(), 1);
}

#[test]
fn host_data_reference() {
    let case = Case::vcek().rebuild(|b| b.host_data = [0x11; 32]);
    assert_affirming(&case.clone().opts(|o| o.policy.snp.host_data = Some(hexs(0x11, 32))).run());
    let o = case.opts(|o| o.policy.snp.host_data = Some(hexs(0x22, 32))).run();
    assert_appraisal(&o, "policy.reference_value", &format!("HOST_DATA {}", hexs(0x11, 32)));
}

#[test]
fn id_and_author_key_digests() {
    let case = Case::vcek().rebuild(|b| {
        b.id_key_digest = [0x33; 48];
        b.author_key_digest = [0x44; 48];
    });
    let ok = case.clone().opts(|o| {
        o.policy.snp.id_key_digest = Some(OneOrMany::One(hexs(0x33, 48)));
        o.policy.snp.author_key_digest = Some(OneOrMany::One(hexs(0x44, 48)));
    });
    assert_affirming(&ok.run());
    let o = case.clone().opts(|o| o.policy.snp.id_key_digest = Some(OneOrMany::One(hexs(0x44, 48)))).run();
    assert_appraisal(&o, "policy.reference_value", "ID_KEY_DIGEST");
    let o = case.opts(|o| o.policy.snp.author_key_digest = Some(OneOrMany::One(hexs(0x33, 48)))).run();
    assert_appraisal(&o, "policy.reference_value", "AUTHOR_KEY_DIGEST");
}

#[test]
fn guest_policy_most_permissive_acceptable() {
    // The report allows SMT (0x30000).
    let with = |p: u64| Case::vcek().opts(move |o| o.policy.snp.guest_policy = Some(Num::Int(p))).run();
    let o = with(0x2_0000);
    assert_appraisal(&o, "policy.guest_policy", "POLICY.SMT is allowed by the guest but not by the policy");
    assert_affirming(&with(0x3_0000));
    // More permissive than the guest is fine.
    assert_affirming(&with(0x3_0000 | 1 << 18 | 1 << 21));
    let o = with(0x3_0000 | 1 << 20);
    assert_appraisal(&o, "policy.guest_policy", "POLICY.SINGLE_SOCKET is required by the policy");
    // ABI minimum: the report says ABI 0.0.
    let o = with(0x3_0100);
    assert_appraisal(&o, "policy.guest_policy", "POLICY ABI 0.0 is below the required 1.0");
    // A guest that sets SINGLE_SOCKET satisfies it.
    let o = Case::vcek()
        .rebuild(|b| b.policy = 0x3_0000 | 1 << 20)
        .opts(|o| o.policy.snp.guest_policy = Some(Num::Int(0x3_0000 | 1 << 20)))
        .run();
    assert_affirming(&o);
}

#[test]
fn minimum_tcb() {
    let min = |snp| Some(TcbMin { snp: Some(snp), ..TcbMin::default() });
    let o = Case::vcek().opts(|o| o.policy.snp.minimum_tcb = min(21)).run();
    assert_appraisal(&o, "policy.minimum_tcb", "REPORTED_TCB.snp is 20, below the minimum 21");
    assert_affirming(&Case::vcek().opts(|o| o.policy.snp.minimum_tcb = min(20)).run());
    let all = TcbMin { bootloader: Some(3), tee: Some(0), snp: Some(20), microcode: Some(210), fmc: None };
    let o = Case::vcek().opts(|o| o.policy.snp.minimum_tcb = Some(all)).run();
    assert_appraisal(&o, "policy.minimum_tcb", "REPORTED_TCB.microcode is 209, below the minimum 210");
}

#[test]
fn minimum_launch_tcb() {
    let min = |bl| Some(TcbMin { bootloader: Some(bl), ..TcbMin::default() });
    let o = Case::vcek().opts(|o| o.policy.snp.minimum_launch_tcb = min(4)).run();
    assert_appraisal(&o, "policy.minimum_launch_tcb", "LAUNCH_TCB.bootloader is 3, below the minimum 4");
    assert_affirming(&Case::vcek().opts(|o| o.policy.snp.minimum_launch_tcb = min(3)).run());
    // A report launched at an older TCB fails a minimum its REPORTED_TCB meets.
    let old = Case::vcek().rebuild(|b| b.launch_tcb = SimTcb::milan(2, 0, 20, 209));
    assert_affirming(&old.run());
    let o = old.opts(|o| o.policy.snp.minimum_launch_tcb = min(3)).run();
    assert_appraisal(&o, "policy.minimum_launch_tcb", "LAUNCH_TCB.bootloader is 2");
}

#[test]
fn current_tcb_below_reported_refused() {
    let o = Case::vcek().rebuild(|b| b.current_tcb = SimTcb::milan(3, 0, 19, 209)).run();
    assert_appraisal(&o, "policy.tcb", "REPORTED_TCB.snp 20 is above CURRENT_TCB.snp 19");
}

#[test]
fn minimum_firmware_version_and_build() {
    let o = Case::vcek().opts(|o| o.policy.snp.minimum_version = Some("1.56".into())).run();
    assert_appraisal(&o, "policy.firmware", "CURRENT firmware 1.55 is below the minimum 1.56");
    assert_affirming(&Case::vcek().opts(|o| o.policy.snp.minimum_version = Some("1.55".into())).run());
    let o = Case::vcek().opts(|o| o.policy.snp.minimum_build = Some(22)).run();
    assert_appraisal(&o, "policy.firmware", "CURRENT_BUILD 21 is below the minimum 22");
    let o = Case::vcek().opts(|o| o.policy.snp.minimum_version = Some("1".into())).run();
    assert_eq!((first_check(&o), o.exit_code()), ("policy", 1));
}

#[test]
fn provisional_firmware() {
    let provisional = Case::vcek().rebuild(|b| b.committed_minor = 54);
    assert_affirming(&provisional.run());
    let o = provisional.clone().opts(|o| o.policy.snp.allow_provisional_firmware = Some(false)).run();
    assert_appraisal(&o, "policy.firmware", "provisional firmware not allowed");
    // Committed TCB differs from the current TCB: provisional too.
    let tcb = Case::vcek().rebuild(|b| b.committed_tcb = SimTcb::milan(3, 0, 19, 209));
    let o = tcb.opts(|o| o.policy.snp.allow_provisional_firmware = Some(false)).run();
    assert_appraisal(&o, "policy.firmware", "provisional firmware not allowed");
    // Committed newer than current is always refused.
    let o = Case::vcek().rebuild(|b| b.committed_minor = 56).run();
    assert_appraisal(&o, "policy.firmware", "COMMITTED firmware 1.56.21 is newer than CURRENT 1.55.21");
    // Not provisional: allowed with the knob off.
    let o = Case::vcek().opts(|o| o.policy.snp.allow_provisional_firmware = Some(false)).run();
    assert_affirming(&o);
}

#[test]
fn signing_key_required() {
    let o = Case::vcek().opts(|o| o.policy.snp.signing_key = Some("vlek".into())).run();
    assert_appraisal(&o, "policy.signing_key", "signed by a VCEK but the policy requires a VLEK");
    assert_affirming(&Case::vcek().opts(|o| o.policy.snp.signing_key = Some("VCEK".into())).run());
    assert_affirming(&Case::vlek().opts(|o| o.policy.snp.signing_key = Some("vlek".into())).run());
    let o = Case::vlek().opts(|o| o.policy.snp.signing_key = Some("vcek".into())).run();
    assert_appraisal(&o, "policy.signing_key", "signed by a VLEK but the policy requires a VCEK");
    let o = Case::vcek().opts(|o| o.policy.snp.signing_key = Some("ark".into())).run();
    assert_eq!((first_check(&o), o.exit_code()), ("policy", 1));
}

#[test]
fn guest_svn_minimum() {
    let case = Case::vcek().rebuild(|b| b.guest_svn = 4);
    assert_affirming(&case.clone().opts(|o| o.policy.snp.minimum_guest_svn = Some(4)).run());
    let o = case.opts(|o| o.policy.snp.minimum_guest_svn = Some(5)).run();
    assert_appraisal(&o, "policy.guest_svn", "GUEST_SVN 4 is below 5");
}

#[test]
fn every_appraisal_failure_is_reported() {
    let o = Case::vcek()
        .opts(|o| {
            o.policy.snp.vmpl = Some(1);
            o.policy.snp.minimum_version = Some("2.0".into());
        })
        .run();
    assert_appraisal(&o, "policy.vmpl", "VMPL is 0");
    let checks: Vec<&str> = o.failures.iter().map(|f| f.check.as_str()).collect();
    assert_eq!(checks, ["policy.vmpl", "policy.firmware"]);
}

const TOML_POLICY: &str = r#"
# Everything the simulated baseline satisfies.
allow_debug = false
require_crl = false
nonce = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"

[snp]
vmpl = 0
guest_policy = "0x30000"
measurement = ["000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", "ff"]
minimum_tcb = { bootloader = 3, tee = 0, snp = 20, microcode = 209 }
minimum_launch_tcb = { bl = 3, ucode = 209 }
minimum_version = "1.55"
minimum_build = 21
allow_provisional_firmware = false
signing_key = "vcek"
product = "milan"
"#;

const JSON_POLICY: &str = r#"{
  "nonce": "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
  "snp": {
    "vmpl": 0,
    "guest_policy": 196608,
    "measurement": "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "minimum_tcb": {"bl": 3, "snp": 20, "ucode": 209},
    "signing_key": "vcek"
  }
}"#;

#[test]
fn policies_from_toml_and_json() {
    let mut rd = [0u8; 64];
    rd[..32].copy_from_slice(&nonce());
    let case = Case::vcek().rebuild(|b| b.report_data = rd);
    for (name, text) in [("p.toml", TOML_POLICY), ("p.json", JSON_POLICY)] {
        let p = Policy::parse(name, text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(p.snp.guest_policy.map(Num::get), Some(0x3_0000));
        assert_eq!(p.snp.minimum_tcb.and_then(|t| t.microcode), Some(209));
        let o = case.clone().opts(|o| o.policy = p.clone()).run();
        assert_affirming(&o);
        // One value tightened: fails at the matching check.
        let mut tight = p;
        tight.snp.minimum_tcb = Some(TcbMin { snp: Some(21), ..TcbMin::default() });
        let o = case.clone().opts(|o| o.policy = tight).run();
        assert_appraisal(&o, "policy.minimum_tcb", "REPORTED_TCB.snp is 20");
    }
    // The nonce in the policy binds the report (a report without it fails).
    let p = Policy::parse("p.toml", TOML_POLICY).expect("parses");
    let o = Case::vcek().opts(|o| o.policy = p).run();
    assert_appraisal(&o, "policy.nonce", "does not carry the nonce");
    // A guest policy the TOML refuses.
    let p = Policy::parse("p.toml", "[snp]\nguest_policy = 0x20000\n").expect("parses");
    assert_appraisal(&Case::vcek().opts(|o| o.policy = p).run(), "policy.guest_policy", "POLICY.SMT");
}

#[test]
fn malformed_and_unknown_policies_refused() {
    for (name, text, needle) in [
        ("bad.toml", "[snp\nvmpl = 2\n", "invalid TOML policy"),
        ("bad.json", "{\"snp\": {\"vmpl\": }", "invalid JSON policy"),
        ("unknown.toml", "[snp]\nvmpl_level = 2\n", "vmpl_level"),
        ("unknown.json", "{\"allow_debugging\": true}", "allow_debugging"),
        ("unknown-tcb.toml", "[snp]\nminimum_tcb = { spl = 1 }\n", "spl"),
        ("type.toml", "[snp]\nvmpl = \"two\"\n", "invalid TOML policy"),
        ("num.toml", "[snp]\nguest_policy = \"0xZZ\"\n", "invalid TOML policy"),
    ] {
        let e = Policy::parse(name, text).expect_err(name);
        assert_eq!(e.check, "policy", "{name}");
        assert_eq!(e.category, Category::Usage, "{name}");
        assert_eq!(e.exit_code(), 1, "{name}");
        assert!(e.detail.contains(name), "{name}: {}", e.detail);
        assert!(e.detail.contains(needle), "{name}: {}", e.detail);
    }
}

// ---------------------------------------------------------------------------------------------
// 12: the certificate table

fn entry(kind: CertKind, data: &[u8]) -> CertTableEntry {
    CertTableEntry { guid: kind.guid().unwrap_or([0x5a; 16]), kind, data: data.to_vec() }
}

fn put_u32(t: &mut [u8], at: usize, v: u32) {
    t[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

#[track_caller]
fn assert_table_err(t: &[u8], needle: &str) {
    let e = parse_cert_table(t).expect_err("table must be refused");
    assert_eq!(e.check, "snp.cert_table");
    assert_eq!(e.category, Category::Evidence);
    assert!(e.detail.contains(needle), "{:?} does not contain {needle:?}", e.detail);
}

#[test]
fn cert_table_guids_match_the_simulator() {
    assert_eq!(fmt::GUID_ARK, cloud_ra_sim::GUID_ARK);
    assert_eq!(fmt::GUID_ASK, cloud_ra_sim::GUID_ASK);
    assert_eq!(fmt::GUID_VCEK, cloud_ra_sim::GUID_VCEK);
    assert_eq!(fmt::GUID_VLEK, cloud_ra_sim::GUID_VLEK);
    assert_eq!(fmt::GUID_CRL, cloud_ra_sim::GUID_CRL);
    assert_eq!(fmt::guid_string(&fmt::GUID_ARK), "c0b406a4-a803-4952-9743-3fb6014cd0ae");
}

#[test]
fn cert_table_round_trip() {
    let entries = vec![
        entry(CertKind::Ark, sim().ark_der()),
        entry(CertKind::Ask, sim().ask_der()),
        entry(CertKind::Vcek, &sim().vek_der(&vcek_spec())),
        entry(CertKind::Crl, &crl(&fresh_crl())),
    ];
    let t = write_cert_table(&entries);
    assert_eq!(parse_cert_table(&t).expect("parses"), entries);
    // The simulator's layout is the same.
    let sim_t = cert_table(&entries.iter().map(|e| (e.guid, e.data.clone())).collect::<Vec<_>>());
    assert_eq!(sim_t, t);
    // Trailing zero padding (a page-sized buffer) is fine.
    let mut padded = t.clone();
    padded.resize(t.len() + 4096, 0);
    assert_eq!(parse_cert_table(&padded).expect("parses"), entries);
    // An empty table is just the terminator.
    assert_eq!(write_cert_table(&[]), vec![0u8; 24]);
    assert!(parse_cert_table(&[0u8; 24]).expect("parses").is_empty());
}

#[test]
fn cert_table_unknown_guid_kept() {
    let unknown = CertTableEntry { guid: [0x5a; 16], kind: CertKind::Other, data: b"vendor blob".to_vec() };
    let t = write_cert_table(&[entry(CertKind::Ark, sim().ark_der()), unknown.clone()]);
    let parsed = parse_cert_table(&t).expect("parses");
    assert_eq!(parsed[1], unknown);
    assert_eq!(parsed[1].kind, CertKind::Other);
    // And verification ignores it, even though it is not a certificate.
    let case = Case::vcek();
    let mut entries: Vec<([u8; 16], Vec<u8>)> = case.files.iter().map(|(n, d)| (guid_for(n), d.clone())).collect();
    entries.push(([0x5a; 16], b"vendor blob".to_vec()));
    let mut bytes = case.report.clone();
    bytes.extend_from_slice(&cert_table(&entries));
    assert_affirming(&run_bytes(&bytes, &Collateral::default(), &case.opts));
}

#[test]
fn cert_table_offset_into_the_table_refused() {
    let mut t = write_cert_table(&[entry(CertKind::Ark, sim().ark_der())]);
    put_u32(&mut t, 16, 24);
    assert_table_err(&t, "offset 24 points into the table, which ends at 48");
    put_u32(&mut t, 16, 0);
    assert_table_err(&t, "offset 0 points into the table");
}

#[test]
fn cert_table_entry_past_the_end_refused() {
    let mut t = write_cert_table(&[entry(CertKind::Ark, sim().ark_der())]);
    let len = sim().ark_der().len() as u32;
    put_u32(&mut t, 20, len + 1);
    assert_table_err(&t, "is outside the");
    // Overflowing offset + length.
    put_u32(&mut t, 16, u32::MAX);
    put_u32(&mut t, 20, u32::MAX);
    assert_table_err(&t, "is outside the");
}

#[test]
fn cert_table_zero_length_refused() {
    let mut t = write_cert_table(&[entry(CertKind::Ark, sim().ark_der())]);
    put_u32(&mut t, 20, 0);
    assert_table_err(&t, "has length 0");
}

#[test]
fn cert_table_without_terminator_refused() {
    let t = write_cert_table(&[entry(CertKind::Ark, b"x")]);
    assert_table_err(&t[..24], "no terminating all-zero entry");
    assert_table_err(&t[..47], "no terminating all-zero entry");
    assert_table_err(&[], "no terminating all-zero entry");
}

#[test]
fn cert_table_entry_limit() {
    let many = |n: usize| write_cert_table(&vec![entry(CertKind::Other, b"x"); n]);
    assert_eq!(parse_cert_table(&many(MAX_CERT_TABLE_ENTRIES)).expect("64 entries").len(), 64);
    assert_table_err(&many(MAX_CERT_TABLE_ENTRIES + 1), "more than 64 entries");
}

#[test]
fn cert_table_garbage_entry_refused() {
    let case = Case::vcek();
    let entries = vec![
        (cloud_ra_sim::GUID_ARK, sim().ark_der().to_vec()),
        (cloud_ra_sim::GUID_ASK, sim().ask_der().to_vec()),
        (cloud_ra_sim::GUID_VCEK, b"garbage, not a certificate".to_vec()),
    ];
    let mut bytes = case.report.clone();
    bytes.extend_from_slice(&cert_table(&entries));
    let o = run_bytes(&bytes, &case.collateral(), &case.opts);
    assert_refused(&o, 2, "snp.cert_table", "Vcek entry");
    // A CRL in the VCEK slot.
    let entries = vec![(cloud_ra_sim::GUID_VCEK, crl(&fresh_crl()))];
    let mut bytes = case.report.clone();
    bytes.extend_from_slice(&cert_table(&entries));
    let o = run_bytes(&bytes, &case.collateral(), &case.opts);
    assert_refused(&o, 2, "snp.cert_table", "Vcek entry holds a CRL");
}

#[test]
fn garbage_collateral_file_refused() {
    let mut c = Collateral::default();
    let e = c.add_file("junk.der", b"\x30\x03junk").expect_err("junk");
    assert_eq!((e.check.as_str(), e.category), ("collateral", Category::Collateral));
    assert!(e.detail.contains("junk.der"));
}

// ---------------------------------------------------------------------------------------------
// 13: the chain cache

#[test]
fn chain_cache_gives_identical_outcomes() {
    let case = Case::vcek().file("crl.der", crl(&fresh_crl()));
    let c = case.collateral();
    let caches = Caches::default();
    let first = verify_evidence(&case.report, &c, &case.opts, Some(&caches));
    let second = verify_evidence(&case.report, &c, &case.opts, Some(&caches));
    assert_affirming(&first);
    assert_eq!(first.to_json(), second.to_json());
    assert_eq!(first.to_json(), case.run().to_json());
    assert_eq!(caches.snp.len(), 1);
    // A tampered report with the same chain: served from the cache, still refused.
    let mut bad = case.report.clone();
    bad[0x090] ^= 1;
    let o = verify_evidence(&bad, &c, &case.opts, Some(&caches));
    assert_refused(&o, 2, "snp.signature", "does not verify");
    assert_eq!(caches.snp.len(), 1);
}

#[test]
fn chain_cache_does_not_serve_stale_validations() {
    let case = Case::vcek().file("crl.der", crl(&fresh_crl()));
    let c = case.collateral();
    let caches = Caches::default();
    assert_affirming(&verify_evidence(&case.report, &c, &case.opts, Some(&caches)));
    assert_eq!(caches.snp.len(), 1);
    // After the CRL's nextUpdate (AT + 6 days).
    let later = VerifyOptions { at: Timestamp(AT + 6 * DAY), ..case.opts.clone() };
    let o = verify_evidence(&case.report, &c, &later, Some(&caches));
    assert_refused(&o, 3, "snp.crl", "CRL is stale");
    // Before the CRL's thisUpdate.
    let earlier = VerifyOptions { at: Timestamp(AT - 2 * DAY), ..case.opts.clone() };
    let o = verify_evidence(&case.report, &c, &earlier, Some(&caches));
    assert_refused(&o, 3, "snp.crl", "thisUpdate");
    // One second before nextUpdate: still inside the window, served and fine.
    let edge = VerifyOptions { at: Timestamp(AT + 6 * DAY - 1), ..case.opts.clone() };
    assert_affirming(&verify_evidence(&case.report, &c, &edge, Some(&caches)));
    // Without trust in the simulated ARK, the cached chain is not used either.
    let untrusted = VerifyOptions { trust_simulated: false, ..case.opts.clone() };
    let o = verify_evidence(&case.report, &c, &untrusted, Some(&caches));
    assert_refused(&o, 2, "snp.ark", "SIMULATED");
    // Without the CRL, the policy that requires one is not satisfied by the cached CRL check.
    let no_crl = case.clone().without("crl.der");
    let require = VerifyOptions { policy: Policy { require_crl: Some(true), ..Policy::default() }, ..case.opts };
    let o = verify_evidence(&no_crl.report, &no_crl.collateral(), &require, Some(&caches));
    assert_refused(&o, 3, "snp.crl", "policy requires a CRL");
}

#[test]
fn chain_cache_window_follows_certificate_expiry() {
    // The VCEK expires a day after AT; no CRL.
    let mut spec = vcek_spec();
    spec.not_after = AT + DAY;
    let case = Case::with_spec(ReportBuilder::new(), spec);
    let c = case.collateral();
    let cache = ChainCache::new();
    let entries: Vec<CertTableEntry> = Vec::new();
    let ev = SnpEvidence { report: &case.report, cert_table: &entries };
    let opts = SnpOptions { at: at(), product: None, trust_simulated: true, require_crl: false };
    let v = verify(&ev, &c, &opts, Some(&cache)).expect("verifies");
    assert_eq!(v.product, Product::Milan);
    assert_eq!(v.chain.crls_checked, 0);
    assert!(v.chain.simulated);
    assert_eq!(v.chain.valid_until, AT + DAY);
    assert_eq!(cache.len(), 1);
    let again = verify(&ev, &c, &opts, Some(&cache)).expect("verifies from the cache");
    assert!(std::sync::Arc::ptr_eq(&v.chain, &again.chain));
    let late = SnpOptions { at: Timestamp(AT + DAY + 1), ..opts };
    let e = verify(&ev, &c, &late, Some(&cache)).err().expect("expired VCEK refused");
    assert_eq!((e.check.as_str(), e.category), ("snp.chain", Category::Evidence));
    assert!(e.detail.contains("'SEV-VCEK' expired at"), "{}", e.detail);
    // The extended-report form with the same chain hits the same cache entry.
    let table = parse_cert_table(&case.table()).expect("table");
    let ev2 = SnpEvidence { report: &case.report, cert_table: &table };
    let v2 = verify(&ev2, &Collateral::default(), &opts, Some(&cache)).expect("verifies");
    assert!(std::sync::Arc::ptr_eq(&v.chain, &v2.chain));
    assert_eq!(cache.len(), 1);
}

#[test]
fn the_vek_that_signed_is_chosen_among_several() {
    // The same chip at an older TCB, supplied before and after the right VCEK.
    let old = sim().vek_der(&VekSpec::vcek(SimTcb::milan(3, 0, 19, 209)));
    let mut before = Case::vcek();
    before.files.insert(2, ("old.der", old.clone()));
    assert_affirming(&before.run());
    assert_affirming(&Case::vcek().file("old.der", old.clone()).run());
    // Only the old one: its SPLs do not bind the report.
    let o = Case::vcek().file("vek.der", old).run();
    assert_refused(&o, 2, "snp.vek_tcb", "REPORTED_TCB.snp is 20 but the VEK snpSPL extension is 19");
    // A masked CHIP_ID (no hwID to choose by) with another chip's VCEK supplied first.
    let (b, spec) = masked(ReportBuilder::new());
    let mut other = spec.clone();
    other.hwid = Some(vec![7; 64]);
    let mut case = Case::with_spec(b, spec);
    case.files.insert(2, ("other.der", sim().vek_der(&other)));
    let o = case.run();
    assert!(o.verified, "{:?}", o.failures);
    assert_eq!((o.status, o.exit_code()), (Status::Warning, 0));
    // Only the other chip's VCEK: the signature does not verify.
    let o = case.without("vek.der").run();
    assert_refused(&o, 2, "snp.signature", "does not verify");
}
