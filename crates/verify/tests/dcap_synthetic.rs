//! Intel DCAP negative cases from the simulated Intel PKI (`cloud_ra_sim::intel`): each test
//! differs from a passing baseline in exactly one input (quote field, certificate, CRL, TCB info
//! or QE identity) and asserts the exit code, the failing check (the numbered verification step
//! of `dcap::verify`) and a detail substring.

use cloud_ra_sim::intel::{
    ChainKind, CrlIssuer, IntelCrlSpec, QeIdentitySpec, QuoteKind, QuoteSpec, SimIntel, TcbInfoSpec,
};
use cloud_ra_verify::policy::OneOrMany;
use cloud_ra_verify::{Caches, Collateral, Outcome, Status, Timestamp, VerifyOptions, verify_evidence};

const NOW: i64 = 1_900_000_000;

/// One verification: the quote, every collateral document, and the options.
struct Case {
    quote: QuoteSpec,
    tcb: TcbInfoSpec,
    qe: QeIdentitySpec,
    root_crl: IntelCrlSpec,
    pck_crl: IntelCrlSpec,
    /// Replaces the signed TCB info body (e.g. altered bytes under the original signature).
    tcb_body: Option<String>,
    /// Flips one byte of the built quote.
    flip: Option<usize>,
    opts: VerifyOptions,
}

impl Case {
    fn new(kind: QuoteKind) -> Self {
        let tdx = kind != QuoteKind::SgxV3;
        let mut opts = VerifyOptions::at(Timestamp(NOW));
        opts.trust_simulated = true;
        opts.policy.require_crl = Some(true);
        Case {
            quote: QuoteSpec::new(kind),
            tcb: TcbInfoSpec::new(tdx, NOW),
            qe: QeIdentitySpec::new(tdx, NOW),
            root_crl: IntelCrlSpec::fresh(CrlIssuer::Root, NOW),
            pck_crl: IntelCrlSpec::fresh(CrlIssuer::PlatformCa, NOW),
            tcb_body: None,
            flip: None,
            opts,
        }
    }
    fn tdx() -> Self {
        Self::new(QuoteKind::TdxV4)
    }
    fn td15() -> Self {
        Self::new(QuoteKind::TdxV5)
    }
    fn sgx() -> Self {
        Self::new(QuoteKind::SgxV3)
    }

    fn quote_bytes(&self) -> Vec<u8> {
        let mut q = SimIntel::get().quote(&self.quote);
        if let Some(i) = self.flip {
            q[i] ^= 0x01;
        }
        q
    }

    fn collateral(&self) -> Collateral {
        let s = SimIntel::get();
        let mut c = Collateral::default();
        let mut chain = cloud_ra_sim::pem("CERTIFICATE", s.tcb_signing_der());
        chain.push_str(&cloud_ra_sim::pem("CERTIFICATE", s.root_der()));
        let tcb = self.tcb_body.clone().unwrap_or_else(|| s.tcb_info(&self.tcb));
        for (name, bytes) in [
            ("tcb_info_issuer_chain.pem", chain.into_bytes()),
            ("root_ca_crl.der", s.crl_der(&self.root_crl)),
            ("pck_crl.der", s.crl_der(&self.pck_crl)),
            ("tcb_info.json", tcb.into_bytes()),
            ("qe_identity.json", s.qe_identity(&self.qe).into_bytes()),
        ] {
            c.add_file(name, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        c
    }

    fn run(&self) -> Outcome {
        verify_evidence(&self.quote_bytes(), &self.collateral(), &self.opts, None)
    }
}

fn refused(o: &Outcome, code: i32, check: &str, needle: &str) {
    assert_eq!(o.exit_code(), code, "{:?}", o.failures);
    let f = o.failures.first().expect("a failure");
    assert_eq!(f.check, check, "{}", f.detail);
    assert!(f.detail.contains(needle), "expected '{needle}' in: {}", f.detail);
}

fn passes(o: &Outcome, status: Status, tcb_status: &str) {
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    assert!(o.verified);
    assert_eq!(o.status, status, "{:?}", o.warnings);
    assert_eq!(o.claims["tcb_status"], tcb_status);
}

/// Offset of the QE report in a v4 quote: header, TD report, signature data length, quote
/// signature, attestation key, certification data type and size.
const V4_QE_REPORT: usize = 48 + 584 + 4 + 64 + 64 + 6;
/// Offset of MRTD in a v4 quote.
const V4_MRTD: usize = 48 + 16 + 48 + 48 + 8 + 8 + 8;

// ----- baselines

#[test]
fn baselines_verify_affirming() {
    for (case, platform, version) in [(Case::tdx(), "tdx", 4), (Case::td15(), "tdx", 5), (Case::sgx(), "sgx", 3)] {
        let o = case.run();
        passes(&o, Status::Affirming, "UpToDate");
        assert!(o.warnings.is_empty(), "{:?}", o.warnings);
        assert_eq!(o.platform, platform);
        assert_eq!(o.claims["quote_version"], version);
        assert_eq!(o.claims["simulated"], true);
        assert_eq!(o.claims["crls_checked"], 2);
        assert_eq!(o.claims["fmspc"], "5A1A0C000000");
        assert_eq!(o.claims["qe_tcb_status"], "UpToDate");
        assert_eq!(o.claims["root_sha256"], hex::encode(SimIntel::get().root_sha256()));
    }
    let o = Case::td15().run();
    assert_eq!(o.claims["body_type"], "TD report (TDX 1.5)");
    assert_eq!(o.claims["tdx_module"]["id"], "TDX_01");
}

#[test]
fn collateral_verified_once_per_set() {
    let case = Case::tdx();
    let coll = case.collateral();
    let caches = Caches::default();
    for i in 0..4u8 {
        let mut spec = case.quote.clone();
        spec.report_data[0] = i;
        let o = verify_evidence(&SimIntel::get().quote(&spec), &coll, &case.opts, Some(&caches));
        passes(&o, Status::Affirming, "UpToDate");
    }
    assert_eq!(caches.dcap.len(), 1);
    assert_eq!(caches.dcap.parsed_chains(), 1);
    // A cache warmed by the genuine chain does not vouch for another one (keyed by the PEM bytes).
    let mut spec = case.quote.clone();
    spec.chain = ChainKind::ImpostorRoot;
    let o = verify_evidence(&SimIntel::get().quote(&spec), &coll, &case.opts, Some(&caches));
    refused(&o, 2, "dcap.pck_chain", "not the pinned Intel SGX Root CA");
    let mut spec = case.quote.clone();
    spec.pck.serial = vec![0x42];
    let mut crl = case.pck_crl.clone();
    crl.revoked = vec![vec![0x42]];
    let mut revoked = Case::tdx();
    revoked.pck_crl = crl;
    let o = verify_evidence(&SimIntel::get().quote(&spec), &revoked.collateral(), &case.opts, Some(&caches));
    refused(&o, 2, "dcap.pck_crl", "PCK_REVOKED");
    assert_eq!(caches.dcap.parsed_chains(), 3);
}

// ----- 2. PCK chain

#[test]
fn simulated_root_refused_without_trust_simulated() {
    let mut c = Case::tdx();
    c.opts.trust_simulated = false;
    refused(&c.run(), 2, "dcap.pck_chain", "SIMULATED");
}

#[test]
fn pck_chain_to_an_impostor_root_refused() {
    let mut c = Case::tdx();
    c.quote.chain = ChainKind::ImpostorRoot;
    refused(&c.run(), 2, "dcap.pck_chain", "not the pinned Intel SGX Root CA");
}

#[test]
fn expired_pck_refused() {
    let mut c = Case::sgx();
    c.quote.pck.not_after = NOW - 1;
    refused(&c.run(), 2, "dcap.pck_chain", "expired");
}

// ----- 3. Root CA CRL, 4. PCK CRL

#[test]
fn stale_root_crl_refused() {
    let mut c = Case::tdx();
    c.root_crl.this_update = NOW - 10 * 86_400;
    c.root_crl.next_update = NOW - 1;
    refused(&c.run(), 3, "dcap.root_crl", "stale");
}

#[test]
fn stale_pck_crl_refused() {
    let mut c = Case::tdx();
    c.pck_crl.next_update = NOW;
    refused(&c.run(), 3, "dcap.pck_crl", "stale");
}

#[test]
fn pck_crl_not_yet_valid_refused() {
    let mut c = Case::sgx();
    c.pck_crl.this_update = NOW + 1;
    refused(&c.run(), 3, "dcap.pck_crl", "thisUpdate");
}

#[test]
fn revoked_pck_refused() {
    let mut c = Case::tdx();
    c.pck_crl.revoked = vec![c.quote.pck.serial.clone()];
    refused(&c.run(), 2, "dcap.pck_crl", "PCK_REVOKED");
    // Another serial on the list does not matter.
    let mut c = Case::tdx();
    c.pck_crl.revoked = vec![vec![0x77]];
    passes(&c.run(), Status::Affirming, "UpToDate");
}

#[test]
fn platform_ca_revoked_by_root_crl_refused() {
    let mut c = Case::sgx();
    c.root_crl.revoked = vec![vec![0x02]];
    refused(&c.run(), 2, "dcap.root_crl", "revoked");
}

// ----- 5. TCB info

#[test]
fn tcb_info_for_another_fmspc_refused() {
    let mut c = Case::tdx();
    c.tcb.fmspc[5] = 0x01;
    refused(&c.run(), 3, "dcap.tcb_info", "FMSPC 5A1A0C000001");
}

#[test]
fn tcb_info_with_another_pce_id_refused() {
    let mut c = Case::sgx();
    c.tcb.pce_id = [0, 1];
    refused(&c.run(), 3, "dcap.tcb_info", "pceId");
}

#[test]
fn tcb_info_of_the_other_tee_refused() {
    let mut c = Case::tdx();
    c.tcb = TcbInfoSpec::new(false, NOW);
    refused(&c.run(), 3, "dcap.tcb_info", "TCB_INFO_MISMATCH");
}

#[test]
fn tcb_info_signature_over_altered_bytes_refused() {
    let s = SimIntel::get();
    let value = Case::tdx().tcb.to_json();
    let sig = s.sign_hex(&value);
    // A changed value under the original signature.
    let altered = value.replacen("\"tcbEvaluationDataNumber\":17", "\"tcbEvaluationDataNumber\":18", 1);
    assert_ne!(altered, value);
    let mut c = Case::tdx();
    c.tcb_body = Some(SimIntel::body("tcbInfo", &altered, &sig));
    refused(&c.run(), 3, "dcap.tcb_info", "signature");
    // The same meaning re-serialised with whitespace: the signature is over bytes, not meaning.
    let parsed: serde_json::Value = serde_json::from_str(&value).expect("json");
    let pretty = serde_json::to_string_pretty(&parsed).expect("ser");
    assert_ne!(pretty, value);
    let mut c = Case::tdx();
    c.tcb_body = Some(SimIntel::body("tcbInfo", &pretty, &sig));
    refused(&c.run(), 3, "dcap.tcb_info", "raw bytes");
    // Whitespace outside the signed value does not matter.
    let mut c = Case::tdx();
    c.tcb_body = Some(format!("{{\n  \"tcbInfo\" : {value},\n  \"signature\" : \"{sig}\"\n}}\n"));
    passes(&c.run(), Status::Affirming, "UpToDate");
}

#[test]
fn tcb_info_expired_or_not_yet_valid_refused() {
    let mut c = Case::tdx();
    c.tcb.next_update = NOW;
    refused(&c.run(), 3, "dcap.tcb_info", "has expired");
    let mut c = Case::sgx();
    c.tcb.issue_date = NOW + 1;
    refused(&c.run(), 3, "dcap.tcb_info", "not yet valid");
}

// ----- 6. QE identity

#[test]
fn qe_identity_with_the_wrong_id_refused() {
    let mut c = Case::tdx();
    c.qe = QeIdentitySpec::new(false, NOW);
    refused(&c.run(), 3, "dcap.qe_identity", "needs \"TD_QE\"");
    let mut c = Case::sgx();
    c.qe = QeIdentitySpec::new(true, NOW);
    refused(&c.run(), 3, "dcap.qe_identity", "needs \"QE\"");
}

#[test]
fn qe_identity_expired_refused() {
    let mut c = Case::td15();
    c.qe.next_update = NOW - 1;
    refused(&c.run(), 3, "dcap.qe_identity", "has expired");
}

// ----- 7. TDX module

#[test]
fn tdx_module_identity_mismatch_refused() {
    let mut c = Case::tdx();
    c.quote.td.mr_signer_seam = [0x11; 48];
    refused(&c.run(), 2, "dcap.tdx_module", "MRSIGNERSEAM");
    let mut c = Case::tdx();
    c.quote.td.seam_attributes[0] = 1;
    refused(&c.run(), 2, "dcap.tdx_module", "SEAMATTRIBUTES");
    // A module version the TCB info does not know (TDX_02).
    let mut c = Case::td15();
    c.quote.td.tee_tcb_svn[1] = 2;
    refused(&c.run(), 2, "dcap.tdx_module", "TDX_02");
}

// ----- 8. QE report signature, 9. QE report data, 10. QE identity match, 11. quote signature

#[test]
fn qe_report_signature_refused() {
    let mut c = Case::tdx();
    c.flip = Some(V4_QE_REPORT + 20);
    refused(&c.run(), 2, "dcap.qe_report", "PCK key");
}

#[test]
fn qe_report_data_mismatch_refused() {
    let mut c = Case::sgx();
    let mut rd = [0u8; 64];
    rd[..32].copy_from_slice(&[0xAB; 32]);
    c.quote.qe_report_data = Some(rd);
    refused(&c.run(), 2, "dcap.qe_report_data", "SHA-256(attestation key || QE auth data)");
}

#[test]
fn qe_report_of_another_signer_refused() {
    let mut c = Case::tdx();
    c.quote.qe.mr_signer[0] ^= 0xFF;
    refused(&c.run(), 2, "dcap.qe_identity", "mrSigner");
    let mut c = Case::tdx();
    c.quote.qe.isv_prod_id = 1;
    refused(&c.run(), 2, "dcap.qe_identity", "isvProdID");
    let mut c = Case::sgx();
    c.quote.qe.attributes[0] |= 0x02;
    refused(&c.run(), 2, "dcap.qe_identity", "attributes");
}

#[test]
fn qe_isvsvn_below_the_up_to_date_level() {
    // ISVSVN 7: the OutOfDate QE level; the UpToDate platform converges to OutOfDate.
    let mut c = Case::tdx();
    c.quote.qe.isv_svn = 7;
    let o = c.run();
    assert_eq!(o.claims["qe_tcb_status"], "OutOfDate");
    assert_eq!(o.claims["tcb_status"], "OutOfDate");
    refused(&o, 4, "policy.tcb_status", "QE OutOfDate");
    // ConfigurationNeeded platform + QE OutOfDate = OutOfDateConfigurationNeeded.
    let mut c = Case::sgx();
    c.quote.qe.isv_svn = 6;
    c.tcb.levels[0].status = "ConfigurationNeeded".into();
    let o = c.run();
    assert_eq!(o.claims["tcb_status"], "OutOfDateConfigurationNeeded");
    assert_eq!(o.exit_code(), 4);
    // Below every level.
    let mut c = Case::sgx();
    c.quote.qe.isv_svn = 5;
    let o = c.run();
    assert_eq!(o.claims["qe_tcb_status"], "TcbLevelNotFound");
    refused(&o, 4, "policy.tcb_status", "TcbLevelNotFound");
}

#[test]
fn quote_signature_refused() {
    let mut c = Case::tdx();
    c.flip = Some(V4_MRTD);
    refused(&c.run(), 2, "dcap.quote_signature", "attestation key");
    // v5: the signed range includes the body descriptor and the TD 1.5 fields.
    let mut c = Case::td15();
    c.flip = Some(V4_MRTD + 6);
    refused(&c.run(), 2, "dcap.quote_signature", "body descriptor");
    let mut c = Case::td15();
    c.flip = Some(48 + 6 + 584 + 3);
    refused(&c.run(), 2, "dcap.quote_signature", "attestation key");
    // A changed body descriptor is refused by the parser, naming the field.
    let mut c = Case::td15();
    c.flip = Some(48 + 5);
    refused(&c.run(), 2, "dcap.quote", "bodyDescriptor.size");
    let mut c = Case::sgx();
    c.flip = Some(48 + 64 + 10);
    refused(&c.run(), 2, "dcap.quote_signature", "attestation key");
}

// ----- 12. TCB level and appraisal

#[test]
fn tcb_statuses_and_default_appraisal() {
    for mk in [Case::tdx as fn() -> Case, Case::sgx, Case::td15] {
        for (status, code, verdict) in [
            ("UpToDate", 0, Some(Status::Affirming)),
            ("SWHardeningNeeded", 0, Some(Status::Warning)),
            ("ConfigurationNeeded", 0, Some(Status::Warning)),
            ("ConfigurationAndSWHardeningNeeded", 0, Some(Status::Warning)),
            ("OutOfDate", 4, None),
            ("OutOfDateConfigurationNeeded", 4, None),
            ("Revoked", 4, None),
        ] {
            let mut c = mk();
            c.tcb.levels[0].status = status.into();
            c.tcb.levels[0].advisories = vec!["INTEL-SA-00615".into()];
            let o = c.run();
            assert!(o.verified, "{status}: {:?}", o.failures);
            assert_eq!(o.claims["tcb_status"], status);
            assert_eq!(o.claims["advisory_ids"][0], "INTEL-SA-00615");
            assert_eq!(o.claims["tcb_date"], "2029-11-13T00:00:00Z");
            match verdict {
                Some(v) => passes(&o, v, status),
                None => refused(&o, code, "policy.tcb_status", status),
            }
        }
    }
}

#[test]
fn revoked_is_never_accepted() {
    let mut c = Case::tdx();
    c.tcb.levels[0].status = "Revoked".into();
    c.opts.policy.tdx.accepted_tcb_statuses = Some(vec!["UpToDate".into(), "Revoked".into()]);
    refused(&c.run(), 4, "policy.tcb_status", "Revoked");
    // The TDX module's Revoked level revokes the platform too.
    let mut c = Case::tdx();
    c.tcb.tdx_module_identities[0].levels[0].1 = "Revoked".into();
    let o = c.run();
    assert_eq!(o.claims["tcb_status"], "Revoked");
    refused(&o, 4, "policy.tcb_status", "Revoked");
}

#[test]
fn out_of_date_accepted_only_by_policy() {
    let mut c = Case::sgx();
    c.tcb.levels[0].status = "OutOfDate".into();
    c.opts.policy.sgx.accepted_tcb_statuses = Some(vec!["UpToDate".into(), "OutOfDate".into()]);
    passes(&c.run(), Status::Warning, "OutOfDate");
}

#[test]
fn tcb_level_not_found() {
    // PCK SGX components below every level.
    let mut c = Case::sgx();
    c.quote.pck.sgx_tcb[0] = 1;
    let o = c.run();
    assert!(o.verified);
    refused(&o, 4, "policy.tcb_status", "TcbLevelNotFound");
    // PCESVN below every level.
    let mut c = Case::tdx();
    c.quote.pck.pce_svn = 12;
    refused(&c.run(), 4, "policy.tcb_status", "TcbLevelNotFound");
    // TEE_TCB_SVN[2] below every TDX level (indices 0..1 are the module's).
    let mut c = Case::tdx();
    c.quote.td.tee_tcb_svn[2] = 1;
    refused(&c.run(), 4, "policy.tcb_status", "TcbLevelNotFound");
    // Only indices 0 and 1 lower: still the UpToDate level (the module decides those).
    let mut c = Case::tdx();
    c.quote.td.tee_tcb_svn[0] = 5;
    c.tcb.levels[0].tdx[0] = 9;
    passes(&c.run(), Status::Affirming, "UpToDate");
    // TDX module SVN below every module level.
    let mut c = Case::tdx();
    c.quote.td.tee_tcb_svn[0] = 2;
    let o = c.run();
    assert_eq!(o.claims["tdx_module"]["tcb_status"], "TcbLevelNotFound");
    refused(&o, 4, "policy.tcb_status", "TcbLevelNotFound");
}

#[test]
fn older_platform_matches_the_out_of_date_level() {
    let mut c = Case::sgx();
    c.quote.pck.sgx_tcb[0] = 5;
    let o = c.run();
    assert_eq!(o.claims["tcb_date"], "2028-08-09T00:00:00Z");
    assert_eq!(o.claims["advisory_ids"], serde_json::json!(["INTEL-SA-00960", "INTEL-SA-00982"]));
    refused(&o, 4, "policy.tcb_status", "OutOfDate");
    // TDX module SVN 3: module OutOfDate, platform UpToDate -> OutOfDate.
    let mut c = Case::tdx();
    c.quote.td.tee_tcb_svn[0] = 3;
    let o = c.run();
    assert_eq!(o.claims["tdx_module"]["tcb_status"], "OutOfDate");
    refused(&o, 4, "policy.tcb_status", "OutOfDate");
}

#[test]
fn td15_relaunch_advised() {
    // Running on an OutOfDate module (SVN 3) but TEE_TCB_SVN2 shows the UpToDate one (SVN 5) is
    // loaded: TDRelaunchCheck says relaunch.
    let mut c = Case::td15();
    c.quote.td.tee_tcb_svn[0] = 3;
    let o = c.run();
    assert_eq!(o.claims["tcb_status"], "TDRelaunchAdvised");
    refused(&o, 4, "policy.tcb_status", "TDRelaunchAdvised");
    // With configuration needed.
    let mut c = Case::td15();
    c.quote.td.tee_tcb_svn[0] = 3;
    c.tcb.levels[0].status = "ConfigurationNeeded".into();
    assert_eq!(c.run().claims["tcb_status"], "TDRelaunchAdvisedConfigurationNeeded");
    // TEE_TCB_SVN2 still at the old module: no relaunch would help.
    let mut c = Case::td15();
    c.quote.td.tee_tcb_svn[0] = 3;
    c.quote.td.tee_tcb_svn2[0] = 3;
    assert_eq!(c.run().claims["tcb_status"], "OutOfDate");
    // The same TD as a v4 quote (no TEE_TCB_SVN2): OutOfDate.
    let mut c = Case::tdx();
    c.quote.td.tee_tcb_svn[0] = 3;
    assert_eq!(c.run().claims["tcb_status"], "OutOfDate");
    // Accepted when policy says so.
    let mut c = Case::td15();
    c.quote.td.tee_tcb_svn[0] = 3;
    c.opts.policy.tdx.accepted_tcb_statuses = Some(vec!["UpToDate".into(), "TDRelaunchAdvised".into()]);
    passes(&c.run(), Status::Warning, "TDRelaunchAdvised");
}

// ----- debug, nonce, reference values

#[test]
fn debug_td_refused_by_default() {
    let mut c = Case::tdx();
    c.quote.td.td_attributes |= 1;
    let o = c.run();
    assert_eq!(o.claims["td_attributes"]["debug"], true);
    refused(&o, 4, "policy.debug", "TDATTRIBUTES.DEBUG");
    c.opts.allow_debug = true;
    passes(&c.run(), Status::Affirming, "UpToDate");
}

#[test]
fn debug_sgx_enclave_refused_by_default() {
    let mut c = Case::sgx();
    c.quote.enclave.attributes[0] |= 0x02;
    let o = c.run();
    assert_eq!(o.claims["attributes"]["debug"], true);
    refused(&o, 4, "policy.debug", "debug enclave");
    c.opts.allow_debug = true;
    passes(&c.run(), Status::Affirming, "UpToDate");
}

#[test]
fn nonce_binding() {
    for mk in [Case::tdx as fn() -> Case, Case::sgx] {
        let mut c = mk();
        c.quote.report_data[..4].copy_from_slice(b"abcd");
        c.opts.nonce = Some(b"abcd".to_vec());
        let o = c.run();
        passes(&o, Status::Affirming, "UpToDate");
        assert_eq!(o.claims["nonce_bound"], true);
        c.opts.nonce = Some(b"abce".to_vec());
        refused(&c.run(), 4, "policy.nonce", "does not carry the nonce 61626365");
    }
}

#[test]
fn reference_values() {
    let c = Case::tdx();
    let mrtd = hex::encode(c.quote.td.mr_td);
    let mut ok = Case::tdx();
    ok.opts.policy.tdx.mrtd = Some(OneOrMany::One(mrtd.clone()));
    ok.opts.policy.tdx.rtmr3 = Some(OneOrMany::One("00".repeat(48)));
    passes(&ok.run(), Status::Affirming, "UpToDate");
    let mut bad = Case::tdx();
    bad.quote.td.mr_td[47] ^= 1;
    bad.opts.policy.tdx.mrtd = Some(OneOrMany::One(mrtd));
    refused(&bad.run(), 4, "policy.reference_value", "MRTD");
    let mut bad = Case::sgx();
    bad.opts.policy.sgx.mrenclave = Some(OneOrMany::One("00".repeat(32)));
    refused(&bad.run(), 4, "policy.reference_value", "MRENCLAVE");
    let mut bad = Case::sgx();
    bad.opts.policy.sgx.minimum_isv_svn = Some(4);
    refused(&bad.run(), 4, "policy.isv_svn", "ISVSVN 3");
    let mut bad = Case::td15();
    bad.opts.policy.tdx.minimum_tcb_date = Some("2030-01-01T00:00:00Z".into());
    refused(&bad.run(), 4, "policy.tcb_date", "2029-11-13");
}
