//! Collateral fetched from a loopback stand-in for AMD KDS, Intel PCS, Azure THIM and AWS that
//! serves the recorded responses of ../shared/testdata, then verification from the cache alone
//! (offline), export -> import on an empty cache, and every fault the sources are known for.

mod common;

use cloud_ra_collateral::cache::Cache;
use cloud_ra_collateral::item::{CaType, KeyType, SnpTcb, Tee};
use cloud_ra_collateral::{Config, Gathered, Item, Kind, NeedOptions, Origin, Store, needs};
use cloud_ra_sim::testdata;
use cloud_ra_verify::bundle::detect;
use cloud_ra_verify::snp::Product;
use cloud_ra_verify::{Collateral, Outcome, Timestamp, VerifyOptions, verify_evidence};
use common::{CRL_CT, DER_CT, Fault, JSON_CT, PEM_CT, Reply, Server};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Dir(PathBuf);
impl Dir {
    fn new(name: &str) -> Self {
        let d = std::env::temp_dir().join(format!("cloud-ra-coll-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("temp dir");
        Dir(d)
    }
}
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn cfg(server: &Server, dir: &Path) -> Config {
    let mut c = Config::with_cache_dir(dir);
    c.kds_url = server.base.clone();
    c.pcs_url = server.base.clone();
    c.aws_root_url = server.base.clone();
    c.timeout = Duration::from_millis(300);
    c.connect_timeout = Duration::from_millis(300);
    c.retries = 2;
    c.backoff = Duration::from_millis(10);
    c.max_retry_after = Duration::from_secs(2);
    c
}

fn offline(dir: &Path) -> Store {
    let mut c = Config::with_cache_dir(dir);
    c.kds_url = "http://127.0.0.1:9".into();
    c.pcs_url = "http://127.0.0.1:9".into();
    c.offline = true;
    Store::new(c)
}

fn at(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).expect("time")
}

/// Evidence -> needs -> cache/network -> verify, as `cloud-ra verify` does.
fn verify_with(store: &Store, evidence: &[u8], opts: &VerifyOptions, fetch_optional: bool) -> (Outcome, Gathered) {
    verify_given(store, evidence, opts, fetch_optional, &Collateral::default())
}

/// [`verify_with`], with `given` as the `--collateral` files.
fn verify_given(
    store: &Store,
    evidence: &[u8],
    opts: &VerifyOptions,
    fetch_optional: bool,
    given: &Collateral,
) -> (Outcome, Gathered) {
    let d = detect(evidence).expect("detected");
    let mut have = cloud_ra_collateral::builtin_amd();
    have.merge(given);
    let n = needs(&d, &have, &NeedOptions { product: opts.product, require_crl: false }).expect("needs");
    let g = store.gather(&n, opts.at, fetch_optional, &mut |_, _, _| {});
    let mut c: Collateral = have;
    c.merge(&g.collateral());
    (verify_evidence(evidence, &c, opts, None), g)
}

fn vcek_item(report: &str) -> Item {
    let d = detect(&testdata::read(report)).expect("report");
    // v2 reports carry no CPUID: the product line is given, as `--product milan` does.
    let n = needs(
        &d,
        &cloud_ra_collateral::builtin_amd(),
        &NeedOptions { product: Some(Product::Milan), require_crl: false },
    )
    .expect("needs");
    n.items.into_iter().find(|n| matches!(n.item, Item::AmdVcek { .. })).expect("VCEK needed").item
}

const GSG: &str = "snp/go-sev-guest-milan/attestation.bin";
const TRUSTEE: &str = "snp/trustee-milan/test-report.bin";

fn kds(server: &Server) {
    server.route("/vcek/v1/Milan/cert_chain", Reply::ok(PEM_CT, testdata::read("roots/amd/ask_ark_milan.pem")));
    server.route("/vlek/v1/Milan/cert_chain", Reply::ok(PEM_CT, testdata::read("roots/amd/ask_ark_milan_vlek.pem")));
    server.route("/vcek/v1/Genoa/cert_chain", Reply::ok(PEM_CT, testdata::read("roots/amd/ask_ark_genoa.pem")));
    server.route(&vcek_item(GSG).url_path(), Reply::ok(DER_CT, testdata::read("snp/go-sev-guest-milan/vcek.testcer")));
    server.route(&vcek_item(TRUSTEE).url_path(), Reply::ok(DER_CT, testdata::read("snp/trustee-milan/test-vcek.der")));
}

fn pcs_gcp(server: &Server) {
    server.route(
        "/tdx/certification/v4/tcb?fmspc=00806F050000",
        Reply::ok(JSON_CT, testdata::read("tdx/automata-gcp-spr-0725/tcb_info_v3_with_tdx_module.json"))
            .header("TCB-Info-Issuer-Chain", &common::tcb_signing_chain()),
    );
    server.route(
        "/tdx/certification/v4/qe/identity",
        Reply::ok(JSON_CT, testdata::read("tdx/automata-gcp-spr-0725/qe_identity.json"))
            .header("SGX-Enclave-Identity-Issuer-Chain", &common::tcb_signing_chain()),
    );
    server.route(
        "/sgx/certification/v4/pckcrl?ca=platform&encoding=der",
        Reply::ok(CRL_CT, testdata::read("tdx/automata-gcp-spr-0725/pck_platform_crl.der"))
            .header("SGX-PCK-CRL-Issuer-Chain", &common::pck_crl_chain()),
    );
    server.route(
        "/sgx/certification/v4/rootcacrl",
        Reply::ok(CRL_CT, testdata::read("roots/intel/intel_root_ca_crl.der")),
    );
}

fn pcs_icx(server: &Server) {
    server.route(
        "/sgx/certification/v4/tcb?fmspc=00606A000000",
        Reply::ok(JSON_CT, testdata::read("sgx/automata-icx-0825/sgx_tcbinfov3_00606a000000.json"))
            .header("TCB-Info-Issuer-Chain", &common::tcb_signing_chain()),
    );
    server.route(
        "/sgx/certification/v4/qe/identity",
        Reply::ok(JSON_CT, testdata::read("sgx/automata-icx-0825/sgx_qeidentity_v4.json"))
            .header("SGX-Enclave-Identity-Issuer-Chain", &common::tcb_signing_chain()),
    );
    server.route(
        "/sgx/certification/v4/pckcrl?ca=platform&encoding=der",
        Reply::ok(CRL_CT, testdata::read("sgx/automata-icx-0825/platform_crl.der"))
            .header("SGX-PCK-CRL-Issuer-Chain", &common::pck_crl_chain()),
    );
    server.route(
        "/sgx/certification/v4/rootcacrl",
        Reply::ok(CRL_CT, testdata::read("roots/intel/intel_root_ca_crl.der")),
    );
}

fn icx_quote() -> Vec<u8> {
    let t = String::from_utf8(testdata::read("sgx/automata-icx-0825/quotev3.hex")).expect("utf8");
    let t: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(t.trim_start_matches("0x")).expect("hex")
}

fn snp_opts(t: &str) -> VerifyOptions {
    let mut o = VerifyOptions::at(at(t));
    o.allow_debug = true;
    o.product = Some(Product::Milan);
    o
}

fn tdx_opts(t: &str) -> VerifyOptions {
    let mut o = VerifyOptions::at(at(t));
    o.policy.tdx.accepted_tcb_statuses = Some(vec!["UpToDate".into(), "OutOfDate".into()]);
    o
}

fn assert_ok(o: &Outcome, what: &str) {
    assert!(o.verified, "{what}: {:?}", o.failures);
    assert_eq!(o.exit_code(), 0, "{what}: {:?}", o.failures);
}

fn no_bad_entries(dir: &Path) {
    for r in Cache::new(dir).all() {
        assert!(r.is_ok(), "corrupt cache entry: {r:?}");
    }
    // No temporary file left behind.
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                assert!(!p.file_name().and_then(|n| n.to_str()).unwrap_or("").starts_with(".tmp-"), "{p:?}");
            }
        }
    }
}

#[test]
fn snp_vectors_from_kds_then_offline_then_bundle() {
    let server = Server::start();
    kds(&server);
    let dir = Dir::new("snp");
    let store = Store::new(cfg(&server, &dir.0));
    let cases = [(GSG, "2022-09-24T01:00:00Z"), (TRUSTEE, "2024-01-01T00:00:00Z")];

    let t = Instant::now();
    for (f, when) in cases {
        let (o, g) = verify_with(&store, &testdata::read(f), &snp_opts(when), true);
        assert_ok(&o, f);
        assert_eq!(g.from_network(), 1, "{f}: the VCEK came from KDS");
        // KDS has no CRL recorded: an optional item that failed with a 404 explanation.
        assert_eq!(g.failed.len(), 1, "{:?}", g.failed);
        assert!(!g.failed[0].0.required && g.failed[0].1.kind == Kind::NotFound);
    }
    let network = t.elapsed();
    let hits = server.total_hits();
    assert_eq!(server.hits(&vcek_item(GSG).url_path()), 1);

    // The same, offline: from the cache alone, no request.
    let off = offline(&dir.0);
    let t = Instant::now();
    for (f, when) in cases {
        let (o, g) = verify_with(&off, &testdata::read(f), &snp_opts(when), false);
        assert_ok(&o, f);
        assert_eq!((g.from_cache(), g.from_network()), (1, 0), "{f}");
    }
    let cached = t.elapsed();
    assert_eq!(server.total_hits(), hits, "offline verification sent no request");
    eprintln!("SNP fetch+verify from the KDS stub: {network:?}; from the cache: {cached:?}");

    // Offline with an empty cache says precisely what is missing.
    let empty = Dir::new("snp-empty");
    let e = offline(&empty.0).get(&vcek_item(GSG), at("2022-09-24T01:00:00Z")).expect_err("not cached");
    assert_eq!(e.kind, Kind::Offline);
    assert!(
        e.detail.contains("VCEK") && e.detail.contains("not in the cache") && e.detail.contains("--offline"),
        "{e}"
    );

    // cert_chain per product and key type, VLEK: chain fetched, VLEK itself unfetchable.
    let g = store
        .get(&Item::AmdCertChain { product: Product::Milan, key: KeyType::Vlek }, Timestamp::now())
        .expect("ASVK chain");
    assert_eq!(g.origin, Origin::Network);
    let d = detect(&testdata::read("snp/trustee-vlek-aws/test-vlek-report.bin")).expect("report");
    let n = needs(&d, &cloud_ra_collateral::builtin_amd(), &NeedOptions::default()).expect("needs");
    assert!(n.unfetchable.iter().any(|u| u.contains("VLEK") && u.contains("extended report")), "{:?}", n.unfetchable);
    assert!(
        n.items
            .iter()
            .any(|x| x.item == Item::AmdCertChain { product: Product::Milan, key: KeyType::Vlek } && x.required)
    );

    // Export -> import on an empty cache reproduces the verification.
    let bundle = dir.0.join("bundle.json");
    let n = cloud_ra_collateral::offline::export(&store, &bundle).expect("export");
    assert_eq!(n, 3, "two VCEKs and one chain");
    let fresh = Dir::new("snp-import");
    let imported = offline(&fresh.0);
    assert_eq!(cloud_ra_collateral::offline::import(&imported, &bundle).expect("import"), 3);
    for (f, when) in cases {
        let (o, _) = verify_with(&offline(&fresh.0), &testdata::read(f), &snp_opts(when), false);
        assert_ok(&o, f);
    }
    no_bad_entries(&dir.0);
    no_bad_entries(&fresh.0);
}

#[test]
fn dcap_vectors_from_pcs_then_offline_then_bundle() {
    let dir = Dir::new("dcap");
    let gcp = testdata::read("tdx/automata-gcp-spr-0725/quote_tdx.bin");
    let icx = icx_quote();
    let (gcp_at, icx_at) = ("2025-07-20T00:00:00Z", "2025-09-01T00:00:00Z");

    let s1 = Server::start();
    pcs_gcp(&s1);
    let t = Instant::now();
    let (o, g) = verify_with(&Store::new(cfg(&s1, &dir.0)), &gcp, &tdx_opts(gcp_at), true);
    let network = t.elapsed();
    assert_ok(&o, "GCP TDX");
    assert_eq!(o.claims["tcb_status"], "OutOfDate");
    assert_eq!(o.claims["crls_checked"], 2, "{}", o.claims);
    assert_eq!((g.from_network(), g.failed.len()), (4, 0), "{:?}", g.failed);

    // SGX from another PCS (its own PCK CRL of the same CA: a second version of that item).
    let s2 = Server::start();
    pcs_icx(&s2);
    let (o, g) = verify_with(&Store::new(cfg(&s2, &dir.0)), &icx, &VerifyOptions::at(at(icx_at)), true);
    assert_ok(&o, "ICX SGX");
    assert_eq!(o.claims["tcb_status"], "SWHardeningNeeded");
    assert_eq!(
        g.from_network(),
        3,
        "root CA CRL already cached: {:?}",
        g.got.iter().map(|x| (&x.entry.key, x.origin)).collect::<Vec<_>>()
    );
    assert_eq!(Cache::new(&dir.0).versions(&Item::IntelPckCrl { ca: CaType::Platform }).len(), 2);

    // Offline, from the cache alone.
    let hits = s1.total_hits() + s2.total_hits();
    let t = Instant::now();
    let (o, g) = verify_with(&offline(&dir.0), &gcp, &tdx_opts(gcp_at), false);
    let cached = t.elapsed();
    assert_ok(&o, "GCP TDX offline");
    assert_eq!(o.claims["crls_checked"], 2, "CRLs are used from the cache");
    assert_eq!(g.from_cache(), 4);
    let (o, _) = verify_with(&offline(&dir.0), &icx, &VerifyOptions::at(at(icx_at)), false);
    assert_ok(&o, "ICX SGX offline");
    assert_eq!(s1.total_hits() + s2.total_hits(), hits);
    eprintln!("TDX fetch+verify from the PCS stub: {network:?}; from the cache: {cached:?}");

    // Offline at a time the cached TCB info does not cover: precise.
    let e = offline(&dir.0)
        .get(&Item::IntelTcbInfo { tee: Tee::Tdx, fmspc: vec![0, 0x80, 0x6f, 5, 0, 0] }, at("2026-01-01T00:00:00Z"))
        .expect_err("expired");
    assert!(
        e.detail.contains("valid 2025-07-07T09:06:43Z .. 2025-08-06T09:06:43Z, not at 2026-01-01T00:00:00Z"),
        "{e}"
    );

    // Export -> import on an empty cache reproduces both verifications.
    let bundle = dir.0.join("dcap-bundle.json");
    assert_eq!(
        cloud_ra_collateral::offline::export(&offline(&dir.0), &bundle).expect("export"),
        7,
        "root CA CRL shared"
    );
    let fresh = Dir::new("dcap-import");
    cloud_ra_collateral::offline::import(&offline(&fresh.0), &bundle).expect("import");
    let (o, _) = verify_with(&offline(&fresh.0), &gcp, &tdx_opts(gcp_at), false);
    assert_ok(&o, "GCP TDX imported");
    let (o, _) = verify_with(&offline(&fresh.0), &icx, &VerifyOptions::at(at(icx_at)), false);
    assert_ok(&o, "ICX SGX imported");

    // A tampered bundle is refused whole: nothing is written.
    let text = std::fs::read_to_string(&bundle).expect("bundle");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let body = v["entries"][0]["body"].as_str().expect("body").to_string();
    let flipped = format!("{}{}", if body.starts_with('A') { "B" } else { "A" }, &body[1..]);
    std::fs::write(&bundle, text.replacen(&body, &flipped, 1)).expect("write");
    let empty = Dir::new("dcap-tampered");
    let e = cloud_ra_collateral::offline::import(&offline(&empty.0), &bundle).expect_err("tampered");
    assert!(e.detail.contains("nothing was imported"), "{e}");
    assert!(Cache::new(&empty.0).all().is_empty());
    no_bad_entries(&dir.0);
}

#[test]
fn faults_are_bounded_and_nothing_corrupt_is_cached() {
    let server = Server::start();
    kds(&server);
    pcs_gcp(&server);
    let dir = Dir::new("faults");
    let store = Store::new(cfg(&server, &dir.0));
    let now = Timestamp::now();
    let vcek = vcek_item(GSG);
    let path = vcek.url_path();
    let cached = || Cache::new(&dir.0).versions(&vcek).len();

    // 404: no retry, the usual causes explained, nothing cached.
    server.fault(&path, &[Fault::Status(404, None)]);
    let e = store.get(&vcek, now).expect_err("404");
    assert_eq!(e.kind, Kind::NotFound);
    assert!(e.detail.contains("masked") && e.detail.contains("product line") && e.detail.contains("VLEK"), "{e}");
    assert_eq!(server.hits(&path), 1);
    // HTML error page with status 200: refused, not retried, not cached.
    server.fault(&path, &[Fault::Html200]);
    let e = store.get(&vcek, now).expect_err("html");
    assert_eq!(e.kind, Kind::Invalid);
    assert!(e.detail.contains("error page") && e.detail.contains("nothing was cached"), "{e}");
    assert_eq!(server.hits(&path), 2);
    // Retries exhausted on 500: exactly 1 + retries requests.
    server.fault(&path, &[Fault::Status(500, None), Fault::Status(503, None), Fault::Status(500, None)]);
    let e = store.get(&vcek, now).expect_err("5xx");
    assert!(e.detail.contains("gave up after 3 attempts"), "{e}");
    assert_eq!(server.hits(&path), 5);
    // Truncated body every time: refused; slow answer past the timeout: bounded.
    server.fault(&path, &[Fault::Truncate, Fault::Truncate, Fault::Truncate]);
    let e = store.get(&vcek, now).expect_err("truncated");
    assert!(e.detail.contains("truncated"), "{e}");
    assert_eq!(server.hits(&path), 8);
    let t = Instant::now();
    let slow = Fault::Slow(Duration::from_millis(900));
    server.fault(&path, &[slow.clone(), slow.clone(), slow]);
    let e = store.get(&vcek, now).expect_err("slow");
    assert!(e.detail.contains("no answer within") || e.detail.contains("not complete within"), "{e}");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert_eq!(server.hits(&path), 11);
    // A 429 with a Retry-After beyond the bound: fails at once.
    server.fault(&path, &[Fault::Status(429, Some("3600".into()))]);
    let e = store.get(&vcek, now).expect_err("429 long");
    assert!(e.detail.contains("Retry-After 3600"), "{e}");
    assert_eq!(server.hits(&path), 12);
    assert_eq!(cached(), 0, "nothing cached after the faults");

    // 429 with Retry-After: 1, then success: waited, retried once, cached.
    server.fault(&path, &[Fault::Status(429, Some("1".into()))]);
    let t = Instant::now();
    let g = store.get(&vcek, now).expect("after 429");
    assert!(t.elapsed() >= Duration::from_secs(1), "Retry-After honoured");
    assert_eq!((g.origin, g.attempts), (Origin::Network, 2));
    assert_eq!(cached(), 1);
    // 500 then success, truncated then success (another chip's path, same item kind).
    let other = vcek_item(TRUSTEE);
    server.fault(&other.url_path(), &[Fault::Status(500, None), Fault::Truncate]);
    let g = store.get(&other, now).expect("after 500 + truncation");
    assert_eq!(g.attempts, 3);

    // Wrong certificates: another chip's VCEK, another product's ARK, a non-AWS root.
    let wrong = Item::AmdVcek {
        product: Product::Milan,
        hwid: vec![0x11; 64],
        tcb: SnpTcb { fmc: None, bl: 2, tee: 0, snp: 5, ucode: 68 },
    };
    server.route(&wrong.url_path(), Reply::ok(DER_CT, testdata::read("snp/go-sev-guest-milan/vcek.testcer")));
    let e = store.get(&wrong, now).expect_err("wrong chip");
    assert!(e.detail.contains("hwID"), "{e}");
    server.fault(
        "/vcek/v1/Milan/cert_chain",
        &[Fault::Body(PEM_CT.into(), testdata::read("roots/amd/ask_ark_genoa.pem"))],
    );
    let e = store
        .get(&Item::AmdCertChain { product: Product::Milan, key: KeyType::Vcek }, now)
        .expect_err("Genoa as Milan");
    assert!(e.detail.contains("pinned"), "{e}");
    server.route(
        "/AWS_NitroEnclaves_Root-G1.zip",
        Reply::ok(
            "application/zip",
            common::zip_stored(
                "root.pem",
                common::pem("CERTIFICATE", &testdata::read("roots/intel/TrustedRootCA.der")).as_bytes(),
            ),
        ),
    );
    let e = store.get(&Item::AwsNitroRoot, now).expect_err("not AWS");
    assert!(e.detail.contains("fingerprint"), "{e}");
    // TCB info: garbage JSON, a wrong content type, a tampered signature, a missing issuer chain.
    let tcb = Item::IntelTcbInfo { tee: Tee::Tdx, fmspc: vec![0, 0x80, 0x6f, 5, 0, 0] };
    let tpath = tcb.url_path();
    let good = testdata::read("tdx/automata-gcp-spr-0725/tcb_info_v3_with_tdx_module.json");
    let tampered = String::from_utf8(good.clone()).expect("utf8").replacen(
        "\"tcbEvaluationDataNumber\":17",
        "\"tcbEvaluationDataNumber\":18",
        1,
    );
    server.fault(
        &tpath,
        &[
            Fault::Body(JSON_CT.into(), b"{\"error\": \"rate limited\"}".to_vec()),
            Fault::Body("text/plain".into(), good.clone()),
            Fault::Body(JSON_CT.into(), tampered.into_bytes()),
        ],
    );
    for why in ["neither", "not JSON", "signature"] {
        let e = store.get(&tcb, now).expect_err("bad TCB info");
        assert!(e.detail.contains(why), "{why}: {e}");
    }
    assert!(Cache::new(&dir.0).versions(&tcb).is_empty());
    // A body larger than the bound.
    let mut small = cfg(&server, &dir.0);
    small.max_body = 1000;
    let e = Store::new(small).get(&tcb, now).expect_err("oversized");
    assert!(e.detail.contains("larger than the 1000"), "{e}");
    no_bad_entries(&dir.0);
}

#[test]
fn thim_and_aws_root() {
    let server = Server::start();
    let dir = Dir::new("thim");
    let vcek = vcek_item(TRUSTEE);
    let thim = serde_json::json!({
        "vcekCert": common::pem("CERTIFICATE", &testdata::read("snp/trustee-milan/test-vcek.der")),
        "certificateChain": String::from_utf8(testdata::read("roots/amd/ask_ark_milan.pem")).expect("pem"),
        "tcbm": "7300000000000803", "cacheControl": "86400"
    });
    server.route("/metadata/THIM/amd/certification", Reply::ok(JSON_CT, thim.to_string().into_bytes()));
    let mut c = cfg(&server, &dir.0);
    c.thim_url = Some(server.base.clone());
    let store = Store::new(c);
    let (o, g) = verify_with(&store, &testdata::read(TRUSTEE), &snp_opts("2024-01-01T00:00:00Z"), false);
    assert_ok(&o, "trustee via THIM");
    assert_eq!(g.from_network(), 1);
    assert!(g.got[0].entry.source.ends_with("/metadata/THIM/amd/certification"));
    assert!(
        server
            .request_headers("/metadata/THIM/amd/certification")
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("metadata") && v == "true")
    );
    assert_eq!(server.hits(&vcek.url_path()), 0, "KDS not asked");
    // Another chip: THIM's VCEK does not match, KDS (404 here) is asked and both are reported.
    let e = store.get(&vcek_item(GSG), Timestamp::now()).expect_err("no VCEK");
    assert!(e.detail.contains("404") && e.detail.contains("THIM") && e.detail.contains("hwID"), "{e}");

    server.route(
        "/AWS_NitroEnclaves_Root-G1.zip",
        Reply::ok("application/zip", common::zip_stored("root.pem", &testdata::read("roots/aws/nitro.pem"))),
    );
    let g = store.get(&Item::AwsNitroRoot, Timestamp::now()).expect("AWS root");
    let mut coll = Collateral::default();
    cloud_ra_collateral::validate::load(&g.entry.item, &g.entry.body().expect("body"), None, "aws", &mut coll)
        .expect("load");
    assert_eq!(coll.certs[0].fingerprint_hex(), cloud_ra_verify::nitro::roots::AWS_NITRO_ROOT_G1);
    assert_eq!(store.get(&Item::AwsNitroRoot, Timestamp::now()).expect("cached").origin, Origin::Cache);
}

#[test]
fn cache_is_safe_under_bad_dirs_corruption_and_concurrency() {
    let server = Server::start();
    kds(&server);
    let dir = Dir::new("cache");
    // A cache "directory" below a regular file: a precise error, nothing written anywhere.
    let file = dir.0.join("not-a-dir");
    std::fs::write(&file, b"x").expect("file");
    let bad = Store::new(cfg(&server, &file.join("cache")));
    let chain = Item::AmdCertChain { product: Product::Milan, key: KeyType::Vcek };
    let e = bad.get(&chain, Timestamp::now()).expect_err("unwritable");
    assert_eq!(e.kind, Kind::Cache);
    assert!(e.detail.contains("not-a-dir"), "{e}");

    // Concurrent stores of the same and of different items.
    let root = dir.0.join("c");
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let (server, root) = (server.clone(), root.clone());
            std::thread::spawn(move || {
                let s = Store::new(cfg(&server, &root));
                let item = if i % 2 == 0 { vcek_item(GSG) } else { vcek_item(TRUSTEE) };
                s.fetch(&item).map(|_| ()).map_err(|e| e.to_string())
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread").expect("fetched");
    }
    let all = Cache::new(&root).all();
    assert_eq!(all.len(), 2, "{all:?}");
    no_bad_entries(&root);

    // A corrupt entry (truncated by hand) is ignored by lookups and reported by `all`.
    let vdir = Cache::new(&root).dir().join(vcek_item(GSG).key());
    let f = std::fs::read_dir(&vdir).expect("dir").flatten().next().expect("entry").path();
    let text = std::fs::read(&f).expect("read");
    std::fs::write(&f, &text[..text.len() / 2]).expect("truncate");
    assert!(Cache::new(&root).versions(&vcek_item(GSG)).is_empty());
    assert!(Cache::new(&root).all().iter().any(|r| r.is_err()));
    let e = offline(&root).get(&vcek_item(GSG), Timestamp::now()).expect_err("corrupt = missing");
    assert_eq!(e.kind, Kind::Offline);
    // Refetching repairs it.
    Store::new(cfg(&server, &root)).get(&vcek_item(GSG), Timestamp::now()).expect("refetched");
    assert_eq!(Cache::new(&root).versions(&vcek_item(GSG)).len(), 1);
}

#[test]
fn config_file_and_overrides() {
    let dir = Dir::new("config");
    let f = dir.0.join("config.toml");
    std::fs::write(&f, "[collateral]\nkds_url = \"http://kds.mirror.example/\"\npcs_url = \"https://pccs.local:8081\"\ntimeout_ms = 1500\nretries = 1\n").expect("write");
    let o = cloud_ra_collateral::Overrides {
        pcs_url: Some("http://127.0.0.1:8081".into()),
        cache_dir: Some(dir.0.join("cache")),
        config_file: Some(f.clone()),
        ..Default::default()
    };
    let c = Config::resolve(&o).expect("config");
    assert_eq!(c.kds_url, "http://kds.mirror.example");
    assert_eq!(c.pcs_url, "http://127.0.0.1:8081", "the flag wins over the file");
    assert_eq!((c.timeout, c.retries), (Duration::from_millis(1500), 1));
    assert_eq!(c.cache_dir, dir.0.join("cache"));
    std::fs::write(&f, "[collateral]\nkds_ur = \"x\"\n").expect("write");
    assert!(Config::resolve(&o).expect_err("typo").detail.contains("kds_ur"));
    let o = cloud_ra_collateral::Overrides {
        kds_url: Some("ftp://x".into()),
        config_file: Some(dir.0.join("none.toml")),
        ..Default::default()
    };
    assert!(Config::resolve(&o).is_err());
}

// ---------------------------------------------------------------------------------------------
// Every shared SNP/TDX/SGX vector with real collateral: fetched through the stub, then verified
// with --offline from the cache alone.
//
// Not here, on purpose:
// * snp/virtee-turin-chain has no report (chain only): its Turin VCEK is fetched by its 8-byte
//   hwID and fmcSPL URL below, and served offline, but there is nothing to verify.
// * azure/* HCL reports: `detect` does not take Azure HCL/vTPM evidence, so `verify` asks no
//   collateral for them; the raw Azure TD quote (azure/trustee-az-tdx-vtpm/td-quote.bin) is here.
// * azure/kinvolk, tpm/*, ccel event logs, nitro/*: not SNP/TDX/SGX collateral (Nitro documents
//   carry their chain; the AWS root is covered by `thim_and_aws_root`).

/// A quote file: binary, or hex text.
fn quote_file(f: &str) -> Vec<u8> {
    let b = testdata::read(f);
    if f.ends_with(".hex") {
        let t: String = String::from_utf8(b).expect("utf8").chars().filter(|c| !c.is_whitespace()).collect();
        hex::decode(t.trim_start_matches("0x")).expect("hex")
    } else {
        b
    }
}

/// The four PCS answers one quote needs: bodies as PCS sends them, issuer chains as PEM.
struct Pcs {
    tcb: Vec<u8>,
    tcb_chain: String,
    qe: Vec<u8>,
    qe_chain: String,
    pck_crl: Vec<u8>,
    pck_crl_chain: String,
    root_crl: Vec<u8>,
}

fn pem_of(der_files: &[&str]) -> String {
    der_files.iter().map(|f| common::pem("CERTIFICATE", &testdata::read(f))).collect()
}

/// Recorded PCS answers kept as separate files (issuer chains: the 2025 TCB Signing cert, or
/// the derived 2018 chains for the 2023 go-tdx-guest collateral).
fn pcs_files(tcb: &str, qe: &str, pck_crl: &str, root_crl: &str, tcb_chain: String, pck_crl_chain: String) -> Pcs {
    Pcs {
        tcb: testdata::read(tcb),
        tcb_chain: tcb_chain.clone(),
        qe: testdata::read(qe),
        qe_chain: tcb_chain,
        pck_crl: testdata::read(pck_crl),
        pck_crl_chain,
        root_crl: testdata::read(root_crl),
    }
}

const ROOT_CRL: &str = "roots/intel/intel_root_ca_crl.der";

fn chain_2025() -> String {
    pem_of(&["roots/intel/tcb_signing.der", "roots/intel/TrustedRootCA.der"])
}

fn platform_chain() -> String {
    pem_of(&["roots/intel/pck_platform_ca.der", "roots/intel/TrustedRootCA.der"])
}

/// dcap-qvl's single-file collateral JSON split back into what PCS answers at its paths: the
/// TCB info and QE identity bodies rebuilt as `{"tcbInfo":<raw>,"signature":"<hex>"}` (the raw
/// substring is what Intel signed, so the signature still verifies over the received bytes),
/// the CRLs hex-decoded to DER, and the issuer chains served in the PCS headers.
fn pcs_qvl(f: &str) -> Pcs {
    let v: serde_json::Value = serde_json::from_slice(&testdata::read(f)).expect("collateral JSON");
    let s = |k: &str| v[k].as_str().unwrap_or_else(|| panic!("{f}: {k}")).to_string();
    Pcs {
        tcb: format!(r#"{{"tcbInfo":{},"signature":"{}"}}"#, s("tcb_info"), s("tcb_info_signature")).into_bytes(),
        tcb_chain: s("tcb_info_issuer_chain"),
        qe: format!(r#"{{"enclaveIdentity":{},"signature":"{}"}}"#, s("qe_identity"), s("qe_identity_signature"))
            .into_bytes(),
        qe_chain: s("qe_identity_issuer_chain"),
        pck_crl: hex::decode(s("pck_crl")).expect("hex"),
        pck_crl_chain: s("pck_crl_issuer_chain"),
        root_crl: hex::decode(s("root_ca_crl")).expect("hex"),
    }
}

fn spr_2023() -> Pcs {
    let d = "tdx/go-tdx-guest-spr-v4";
    pcs_files(
        &format!("{d}/sample_tcbInfo_response"),
        &format!("{d}/sample_qeIdentity_response"),
        &format!("{d}/pckcrl"),
        &format!("{d}/rootcrl.der"),
        String::from_utf8(testdata::read(&format!("{d}/derived/tcb_info_issuer_chain.pem"))).expect("pem"),
        String::from_utf8(testdata::read(&format!("{d}/derived/pck_crl_issuer_chain.pem"))).expect("pem"),
    )
}

fn spr_0725() -> Pcs {
    let d = "tdx/automata-gcp-spr-0725";
    pcs_files(
        &format!("{d}/tcb_info_v3_with_tdx_module.json"),
        &format!("{d}/qe_identity.json"),
        &format!("{d}/pck_platform_crl.der"),
        ROOT_CRL,
        chain_2025(),
        platform_chain(),
    )
}

fn spr_1025() -> Pcs {
    let d = "tdx/automata-spr-collateral-1025";
    pcs_files(
        &format!("{d}/tcb_info.json"),
        &format!("{d}/identity.json"),
        &format!("{d}/pck_crl.der"),
        ROOT_CRL,
        chain_2025(),
        platform_chain(),
    )
}

fn icx_0825() -> Pcs {
    let d = "sgx/automata-icx-0825";
    pcs_files(
        &format!("{d}/sgx_tcbinfov3_00606a000000.json"),
        &format!("{d}/sgx_qeidentity_v4.json"),
        &format!("{d}/platform_crl.der"),
        ROOT_CRL,
        chain_2025(),
        platform_chain(),
    )
}

/// Routes every item `quote` needs at its PCS path (asked by `needs`, so the FMSPC, TEE type and
/// PCK CA come from the quote), with the content type and issuer-chain header PCS sends.
fn serve_pcs(server: &Server, quote: &[u8], p: &Pcs) -> usize {
    let d = detect(quote).expect("quote");
    let n = needs(&d, &Collateral::default(), &NeedOptions::default()).expect("needs");
    for need in &n.items {
        let path = need.item.url_path();
        let r = match &need.item {
            Item::IntelTcbInfo { .. } => {
                Reply::ok(JSON_CT, p.tcb.clone()).header("TCB-Info-Issuer-Chain", &common::url_encode(&p.tcb_chain))
            }
            Item::IntelQeIdentity { .. } => Reply::ok(JSON_CT, p.qe.clone())
                .header("SGX-Enclave-Identity-Issuer-Chain", &common::url_encode(&p.qe_chain)),
            Item::IntelPckCrl { .. } => Reply::ok(CRL_CT, p.pck_crl.clone())
                .header("SGX-PCK-CRL-Issuer-Chain", &common::url_encode(&p.pck_crl_chain)),
            Item::IntelRootCaCrl => Reply::ok(CRL_CT, p.root_crl.clone()),
            other => panic!("unexpected need {other:?}"),
        };
        server.route(&path, r);
    }
    n.items.len()
}

fn dcap_opts(t: &str, debug: bool) -> VerifyOptions {
    let mut o = VerifyOptions::at(at(t));
    let ok: Vec<String> =
        ["UpToDate", "SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded", "OutOfDate"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    o.policy.tdx.accepted_tcb_statuses = Some(ok.clone());
    o.policy.sgx.accepted_tcb_statuses = Some(ok);
    o.allow_debug = debug;
    o
}

#[test]
fn every_dcap_vector_fetched_then_verified_offline() {
    // (quote, PCS answers, evaluation time, debug TD/enclave allowed, TCB status, exit code). Times and
    // statuses as crates/verify/tests/dcap_vectors.rs gives them with the same collateral as
    // --collateral files; exit 4 only where no TCB level matches (not acceptable by policy).
    type Case = (&'static str, fn() -> Pcs, &'static str, bool, &'static str, i32);
    let qvl_v4: fn() -> Pcs = || pcs_qvl("tdx/dcap-qvl-emr-v4/tdx_quote_collateral.json");
    let qvl_v5: fn() -> Pcs = || pcs_qvl("tdx/dcap-qvl-emr-v5-outdated/tdx_quote_outdated_collateral.json");
    // go-tdx-guest's own v5 TCB info (eval #18), the rest from dcap-qvl's EMR v5 collateral.
    let emr5: fn() -> Pcs = || {
        let mut p = pcs_qvl("tdx/dcap-qvl-emr-v5-outdated/tdx_quote_outdated_collateral.json");
        p.tcb = testdata::read("tdx/go-tdx-guest-emr-v5/sample_tcbinfo_response_v5");
        p
    };
    // Granite Rapids: its own TCB info and QE identity; MANIFEST pairs it with the Oct 2025
    // Platform-CA CRL of automata-spr-collateral-1025.
    let gnr: fn() -> Pcs = || {
        let mut p = spr_1025();
        p.tcb = testdata::read("tdx/trustee-gnr/tcbInfo.json");
        p.qe = testdata::read("tdx/trustee-gnr/enclaveIdentity.json");
        p
    };
    let sgx_qvl: fn() -> Pcs = || pcs_qvl("sgx/dcap-qvl-sgx/sgx_quote_collateral.json");
    let cases: &[Case] = &[
        (
            "tdx/go-tdx-guest-spr-v4/tdx_prod_quote_SPR_E4.dat",
            spr_2023,
            "2023-07-01T01:00:00Z",
            false,
            "TcbLevelNotFound",
            4,
        ),
        ("tdx/trustee-misc/tdx_quote_4.dat", spr_2023, "2023-07-01T01:00:00Z", true, "UpToDate", 0),
        ("tdx/go-tdx-guest-emr-v5/quote_v5_sample.dat", emr5, "2026-02-20T00:00:00Z", false, "UpToDate", 0),
        ("tdx/dcap-qvl-emr-v4/tdx_quote", qvl_v4, "2025-07-19T10:00:34Z", false, "UpToDate", 0),
        ("tdx/dcap-qvl-emr-v4/quote-from-tappd.hex", qvl_v4, "2025-07-19T10:00:34Z", false, "TcbLevelNotFound", 4),
        (
            "tdx/dcap-qvl-emr-v5-outdated/tdx_quote_outdated",
            qvl_v5,
            "2026-03-01T00:00:00Z",
            false,
            "TcbLevelNotFound",
            4,
        ),
        ("tdx/trustee-misc/tdx_quote_5.dat", qvl_v5, "2026-03-01T00:00:00Z", false, "TcbLevelNotFound", 4),
        ("tdx/automata-gcp-spr-0725/quote_tdx.bin", spr_0725, "2025-07-20T00:00:00Z", false, "OutOfDate", 0),
        ("tdx/automata-gcp-spr-0725/quote_tdx.bin", spr_1025, "2025-11-01T00:00:00Z", false, "OutOfDate", 0),
        ("ccel/gcp-cos113/cos-113-tdx-quote.dat", spr_1025, "2025-11-01T00:00:00Z", false, "UpToDate", 0),
        ("azure/trustee-az-tdx-vtpm/td-quote.bin", spr_1025, "2025-11-01T00:00:00Z", false, "OutOfDate", 0),
        ("tdx/trustee-gnr/tdx_quote_6.dat", gnr, "2025-11-01T00:00:00Z", false, "OutOfDate", 0),
        ("sgx/dcap-qvl-sgx/sgx_quote", sgx_qvl, "2025-07-19T10:01:17Z", false, "ConfigurationAndSWHardeningNeeded", 0),
        ("sgx/automata-icx-0825/quotev3.hex", icx_0825, "2025-09-01T00:00:00Z", false, "SWHardeningNeeded", 0),
        ("sgx/trustee-occlum/occlum_quote.dat", icx_0825, "2025-09-01T00:00:00Z", true, "OutOfDate", 0),
    ];
    for (i, &(f, pcs, when, debug, status, code)) in cases.iter().enumerate() {
        let q = quote_file(f);
        let server = Server::start();
        let n = serve_pcs(&server, &q, &pcs());
        assert_eq!(n, 4, "{f}: TCB info, QE identity, PCK CRL, root CA CRL");
        let dir = Dir::new(&format!("vec-dcap-{i}"));
        let opts = dcap_opts(when, debug);
        let (online, g) = verify_with(&Store::new(cfg(&server, &dir.0)), &q, &opts, true);
        assert!(g.failed.is_empty(), "{f}: {:?}", g.failed);
        assert_eq!(g.from_network(), 4, "{f}");
        let hits = server.total_hits();
        let (o, g) = verify_with(&offline(&dir.0), &q, &opts, false);
        assert_eq!((g.from_cache(), g.failed.len(), g.skipped.len()), (4, 0, 0), "{f}: all from the cache");
        assert_eq!(server.total_hits(), hits, "{f}: offline sent nothing");
        assert_eq!(o.exit_code(), code, "{f} at {when}: {:?}", o.failures);
        assert!(o.verified, "{f}: evidence and collateral check out: {:?}", o.failures);
        assert_eq!(o.claims["tcb_status"], status, "{f}: {:?}", o.failures);
        assert_eq!(o.claims["crls_checked"], 2, "{f}: both CRLs used from the cache");
        // The cache gives what the network gave.
        assert_eq!((o.exit_code(), &o.claims), (online.exit_code(), &online.claims), "{f}");
        no_bad_entries(&dir.0);
    }
}

#[test]
fn every_snp_vector_fetched_then_verified_offline() {
    const VLEK: &str = "snp/trustee-vlek-aws/test-vlek-report.bin";
    let server = Server::start();
    kds(&server);
    let vlek_opts = {
        let mut o = VerifyOptions::at(at("2025-06-01T00:00:00Z"));
        o.policy.snp.vmpl = Some(1);
        o.policy.snp.signing_key = Some("vlek".into());
        o
    };
    // (report, --collateral files, options, what comes from KDS).
    let cases: [(&str, &[&str], VerifyOptions, &[Item]); 3] = [
        (GSG, &[], snp_opts("2022-09-24T01:00:00Z"), &[vcek_item(GSG)]),
        (TRUSTEE, &[], snp_opts("2024-01-01T00:00:00Z"), &[vcek_item(TRUSTEE)]),
        // KDS cannot serve the VLEK (it comes with the extended report, here `--collateral`);
        // its ASVK chain `vlek/v1/Milan/cert_chain` is fetched.
        (
            VLEK,
            &["snp/trustee-vlek-aws/test-vlek.der"],
            vlek_opts,
            &[Item::AmdCertChain { product: Product::Milan, key: KeyType::Vlek }],
        ),
    ];
    let dir = Dir::new("vec-snp");
    let store = Store::new(cfg(&server, &dir.0));
    for (f, files, opts, fetched) in &cases {
        let mut given = Collateral::default();
        for c in *files {
            given.add_file(c, &testdata::read(c)).expect("collateral file");
        }
        let (o, g) = verify_given(&store, &testdata::read(f), opts, true, &given);
        assert_ok(&o, f);
        let got: Vec<&Item> = g.got.iter().map(|x| &x.entry.item).collect();
        assert_eq!(got, fetched.iter().collect::<Vec<_>>(), "{f}");
        assert_eq!(g.from_network(), fetched.len(), "{f}");
        // KDS has no CRL recorded: an optional item, a 404 (the simulated-chain test serves one).
        assert!(g.failed.iter().all(|(n, e)| !n.required && e.kind == Kind::NotFound), "{f}: {:?}", g.failed);
    }
    let hits = server.total_hits();
    for (f, files, opts, fetched) in &cases {
        let mut given = Collateral::default();
        for c in *files {
            given.add_file(c, &testdata::read(c)).expect("collateral file");
        }
        let (o, g) = verify_given(&offline(&dir.0), &testdata::read(f), opts, false, &given);
        assert_ok(&o, &format!("{f} offline"));
        assert_eq!((g.from_cache(), g.from_network(), g.failed.len()), (fetched.len(), 0, 0), "{f}");
    }
    assert_eq!(server.total_hits(), hits, "offline sent nothing");
    // Without the fetched ASVK chain, the VLEK report does not verify: the cache did the work.
    let (o, _) = verify_given(&offline(&Dir::new("vec-snp-empty").0), &testdata::read(VLEK), &cases[2].2, false, &{
        let mut c = Collateral::default();
        c.add_file("vlek", &testdata::read("snp/trustee-vlek-aws/test-vlek.der")).expect("vlek");
        c
    });
    assert_eq!(o.exit_code(), 3, "{:?}", o.failures);

    // Turin (chain-only vector): the VCEK by its 8-byte hwID with fmcSPL, fetched and checked
    // against the Turin chain, then served offline.
    let der = testdata::read("snp/virtee-turin-chain/vcek_turin.der");
    let cert = cloud_ra_verify::x509::Certificate::from_der(&der).expect("VCEK");
    let x = cloud_ra_verify::snp::verify::VekExtensions::read(&cert).expect("extensions");
    let turin = Item::AmdVcek {
        product: Product::Turin,
        hwid: x.hwid.clone().expect("hwID"),
        tcb: SnpTcb {
            fmc: x.fmc,
            bl: x.bl.expect("bl"),
            tee: x.tee.expect("tee"),
            snp: x.snp.expect("snp"),
            ucode: x.ucode.expect("ucode"),
        },
    };
    assert_eq!(x.hwid.as_ref().map(Vec::len), Some(8));
    assert!(turin.url_path().contains("?fmcSPL="), "{}", turin.url_path());
    server.route(
        "/vcek/v1/Turin/cert_chain",
        Reply::ok(PEM_CT, testdata::read("snp/virtee-turin-chain/cert_chain_turin")),
    );
    server.route(&turin.url_path(), Reply::ok(DER_CT, der));
    let chain = Item::AmdCertChain { product: Product::Turin, key: KeyType::Vcek };
    assert_eq!(store.get(&chain, Timestamp::now()).expect("Turin chain").origin, Origin::Network);
    assert_eq!(store.get(&turin, Timestamp::now()).expect("Turin VCEK").origin, Origin::Network);
    assert_eq!(offline(&dir.0).get(&turin, Timestamp::now()).expect("offline").origin, Origin::Cache);
    no_bad_entries(&dir.0);
}

/// The KDS CRL of the simulated chain (no ARK-signed CRL is recorded in testdata): validated
/// before caching (signed by the ARK, a nextUpdate after thisUpdate, window recorded), used by
/// `verify` from the cache; a CRL signed by another key is refused and not cached.
#[test]
fn amd_crl_signed_by_the_ark_is_validated_before_caching() {
    use cloud_ra_sim::{CrlSpec, ReportBuilder, Signer, SimAmd, VekKind};
    let sim = SimAmd::get();
    let server = Server::start();
    let b = ReportBuilder::new();
    let report = b.sign(sim, VekKind::Vcek);
    let vcek = vcek_item_of(&report, &cloud_ra_collateral::simulated_amd());
    server.route(&vcek.url_path(), Reply::ok(DER_CT, sim.vek_der(&b.vek_spec(VekKind::Vcek))));
    let crl_path = "/vcek/v1/Milan/crl";
    let crl_item = Item::AmdCrl { product: Product::Milan, key: KeyType::Vcek };
    let now = Timestamp::now().0;
    let this_update = now - 86_400;
    let good = sim.crl_der(&CrlSpec::new(this_update));
    server.route(crl_path, Reply::ok(CRL_CT, good.clone()));
    let dir = Dir::new("amd-crl");
    let trusting = |d: &Path| {
        let mut c = cfg(&server, d);
        c.trust_simulated = true;
        Store::new(c)
    };

    // Not trusting the simulated root: refused against the pin, nothing cached.
    let e = Store::new(cfg(&server, &dir.0)).get(&crl_item, Timestamp(now)).expect_err("not pinned");
    assert!(
        e.detail.contains("CRL issuer") && e.detail.contains("SIMULATED") && e.detail.contains("nothing was cached"),
        "{e}"
    );
    assert!(Cache::new(&dir.0).versions(&crl_item).is_empty());

    // Signed by a key that is not the ARK's, under the ARK's name: refused, not cached.
    let impostor = CrlSpec { signer: Signer::ImpostorArk, ..CrlSpec::new(this_update) };
    server.fault(crl_path, &[Fault::Body(CRL_CT.into(), sim.crl_der(&impostor))]);
    let e = trusting(&dir.0).get(&crl_item, Timestamp(now)).expect_err("impostor");
    assert_eq!(e.kind, Kind::Invalid);
    assert!(e.detail.contains("CRL signature") && e.detail.contains("nothing was cached"), "{e}");
    // Signed by the ASK (a CA the ARK certified, but not the CRL issuer): refused.
    let by_ask = CrlSpec { signer: Signer::Ask, ..CrlSpec::new(this_update) };
    server.fault(crl_path, &[Fault::Body(CRL_CT.into(), sim.crl_der(&by_ask))]);
    let e = trusting(&dir.0).get(&crl_item, Timestamp(now)).expect_err("ASK-signed");
    assert!(e.detail.contains("CRL"), "{e}");
    // Not fresh: no nextUpdate, or a nextUpdate not after thisUpdate.
    for (next, why) in [(None, "no nextUpdate"), (Some(this_update), "stale")] {
        let spec = CrlSpec { next_update: next, ..CrlSpec::new(this_update) };
        server.fault(crl_path, &[Fault::Body(CRL_CT.into(), sim.crl_der(&spec))]);
        let e = trusting(&dir.0).get(&crl_item, Timestamp(now)).expect_err(why);
        assert!(e.detail.contains(why), "{why}: {e}");
    }
    // A PEM or HTML answer instead of DER.
    server.fault(crl_path, &[Fault::Body(CRL_CT.into(), common::pem("X509 CRL", &good).into_bytes()), Fault::Html200]);
    for why in ["not a DER CRL", "error page"] {
        let e = trusting(&dir.0).get(&crl_item, Timestamp(now)).expect_err(why);
        assert!(e.detail.contains(why), "{why}: {e}");
    }
    assert!(Cache::new(&dir.0).versions(&crl_item).is_empty(), "nothing refused was cached");
    no_bad_entries(&dir.0);

    // The good one: fetched with the VCEK by `verify`, cached with its window, used offline.
    let mut opts = VerifyOptions::at(Timestamp(now));
    opts.trust_simulated = true;
    let given = cloud_ra_collateral::simulated_amd();
    let (o, g) = verify_given(&trusting(&dir.0), &report, &opts, true, &given);
    assert_ok(&o, "simulated report");
    assert_eq!((g.from_network(), g.failed.len()), (2, 0), "{:?}", g.failed);
    let v = Cache::new(&dir.0).versions(&crl_item);
    assert_eq!(v.len(), 1);
    assert_eq!((v[0].valid_from, v[0].valid_until), (Some(this_update), Some(this_update + 7 * 86_400)));
    assert_eq!(v[0].body().expect("body"), good, "stored byte-exact");
    let (o, g) = verify_given(&offline(&dir.0), &report, &opts, false, &given);
    assert_ok(&o, "simulated report offline");
    assert_eq!(g.from_cache(), 2);
    assert_eq!(o.claims["crls_checked"], 1, "the cached CRL was checked");
    // Offline past its nextUpdate: not served, and said so.
    let late = Timestamp(this_update + 8 * 86_400);
    let e = offline(&dir.0).get(&crl_item, late).expect_err("past nextUpdate");
    assert!(e.detail.contains("not at") && e.detail.contains("--offline"), "{e}");
}

fn vcek_item_of(report: &[u8], have: &Collateral) -> Item {
    let d = detect(report).expect("report");
    let n = needs(&d, have, &NeedOptions::default()).expect("needs");
    n.items.into_iter().find(|n| matches!(n.item, Item::AmdVcek { .. })).expect("VCEK needed").item
}

/// A cached TCB info past its nextUpdate whose refresh fails: served (marked stale, with a
/// warning) only with `allow_stale`; otherwise refused with an error naming the failure, the
/// cached copy's window and the option.
#[test]
fn allow_stale_serves_an_expired_copy_only_when_allowed() {
    let server = Server::start();
    pcs_gcp(&server);
    let dir = Dir::new("stale");
    let tcb = Item::IntelTcbInfo { tee: Tee::Tdx, fmspc: vec![0, 0x80, 0x6f, 5, 0, 0] };
    let path = tcb.url_path();
    let inside = at("2025-07-20T00:00:00Z");
    let after = at("2025-09-01T00:00:00Z");
    let got = Store::new(cfg(&server, &dir.0)).get(&tcb, inside).expect("fetched");
    assert_eq!(got.origin, Origin::Network);
    let window = "2025-07-07T09:06:43Z .. 2025-08-06T09:06:43Z";

    // Refresh fails (503 until retries run out); not allowed: refused, precisely.
    let fail3 = [Fault::Status(503, None), Fault::Status(503, None), Fault::Status(503, None)];
    server.fault(&path, &fail3);
    let hits = server.hits(&path);
    let e = Store::new(cfg(&server, &dir.0)).get(&tcb, after).expect_err("stale refused");
    assert_eq!(server.hits(&path), hits + 3, "a refresh was tried");
    assert!(e.detail.contains("503") && e.detail.contains("gave up after 3 attempts"), "{e}");
    assert!(
        e.detail.contains(&format!(
            "the cached Intel TDX TCB info for FMSPC 00806F050000 is valid {window}, not at 2025-09-01T00:00:00Z"
        )) && e.detail.contains("--allow-stale"),
        "{e}"
    );

    // Allowed: the expired copy, marked and explained.
    server.fault(&path, &fail3);
    let mut c = cfg(&server, &dir.0);
    c.allow_stale = true;
    let stale_store = Store::new(c);
    let got = stale_store.get(&tcb, after).expect("stale served");
    assert_eq!((got.origin, got.attempts), (Origin::Stale, 0));
    let note = got.note.expect("a warning");
    assert!(note.contains("EXPIRED") && note.contains(window) && note.contains("503"), "{note}");
    assert_eq!(
        got.entry.body().expect("body"),
        testdata::read("tdx/automata-gcp-spr-0725/tcb_info_v3_with_tdx_module.json")
    );
    // Through `gather` (what `verify` and `collateral fetch` use), the note travels with it.
    let q = testdata::read("tdx/automata-gcp-spr-0725/quote_tdx.bin");
    let n = needs(&detect(&q).expect("quote"), &Collateral::default(), &NeedOptions::default()).expect("needs");
    server.fault(&path, &fail3);
    let g = stale_store.gather(&n, after, false, &mut |_, _, _| {});
    let s = g.got.iter().find(|x| x.entry.item == tcb).expect("served");
    assert_eq!(s.origin, Origin::Stale);
    assert!(s.note.as_deref().is_some_and(|n| n.contains("EXPIRED")));

    // At a time the cached copy covers, it is simply served from the cache.
    let got = stale_store.get(&tcb, inside).expect("valid copy");
    assert_eq!(got.origin, Origin::Cache);
    // Offline never refreshes, so there is no stale serving: precise refusal.
    let e = offline(&dir.0).get(&tcb, after).expect_err("offline");
    assert!(e.detail.contains(&format!("valid {window}, not at 2025-09-01T00:00:00Z")), "{e}");
    assert_eq!(Cache::new(&dir.0).versions(&tcb).len(), 1, "nothing else was cached");
    no_bad_entries(&dir.0);
}
