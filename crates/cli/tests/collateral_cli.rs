//! `cloud-ra collateral fetch | list | export | import` and `verify --offline` through the binary,
//! against the loopback KDS stand-in of the collateral crate's tests.

#[path = "../../collateral/tests/common/mod.rs"]
mod common;

use cloud_ra_sim::testdata;
use common::{DER_CT, JSON_CT, PEM_CT, Reply, Server};
use std::process::{Command, Output};

fn run(cache: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cloud-ra"))
        .args(args)
        .env("CLOUD_RA_CACHE_DIR", cache)
        .env_remove("CLOUD_RA_OFFLINE")
        .env_remove("CLOUD_RA_CONFIG")
        .output()
        .expect("cloud-ra runs")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn fetch_then_verify_offline_and_bundle_round_trip() {
    let server = Server::start();
    let vcek_path = format!("/vcek/v1/Milan/{}?blSPL=03&teeSPL=00&snpSPL=08&ucodeSPL=115", {
        let r = testdata::read("snp/trustee-milan/test-report.bin");
        hex::encode(&r[0x1A0..0x1E0])
    });
    server.route(&vcek_path, Reply::ok(DER_CT, testdata::read("snp/trustee-milan/test-vcek.der")));
    server.route("/vcek/v1/Milan/cert_chain", Reply::ok(PEM_CT, testdata::read("roots/amd/ask_ark_milan.pem")));
    let tmp = std::env::temp_dir().join(format!("cloud-ra-cli-coll-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let (cache, empty) = (tmp.join("cache"), tmp.join("empty"));
    let report = testdata::path("snp/trustee-milan/test-report.bin").to_string_lossy().into_owned();
    let at = "2024-01-01T00:00:00Z";

    // Offline with an empty cache: says precisely what is missing, exit 3.
    let o = run(&cache, &["verify", &report, "--product", "milan", "--at", at, "--offline"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("not in the cache") && text(&o).contains("VCEK"), "{}", text(&o));
    assert_eq!(server.total_hits(), 0);

    let o = run(&cache, &["collateral", "fetch", &report, "--product", "milan", "--kds-url", &server.base, "--at", at]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("from the network"), "{}", text(&o));
    assert_eq!(server.hits(&vcek_path), 1);

    let o = run(&cache, &["verify", &report, "--product", "milan", "--at", at, "--offline", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(j["verified"], true);

    // Without --offline, verify uses the cache and sends nothing.
    let hits = server.total_hits();
    let o = run(&cache, &["verify", &report, "--product", "milan", "--at", at, "--kds-url", &server.base]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(server.total_hits(), hits);

    let o = run(&cache, &["collateral", "list"]);
    assert!(text(&o).contains("amd/vcek/Milan/") && text(&o).contains("indefinitely"), "{}", text(&o));

    let bundle = tmp.join("offline.json").to_string_lossy().into_owned();
    assert_eq!(run(&cache, &["collateral", "export", "--out", &bundle]).status.code(), Some(0));
    let o = run(&empty, &["collateral", "import", &bundle]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run(&empty, &["verify", &report, "--product", "milan", "--at", at, "--offline"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // A 404 from KDS: explained, exit 3, nothing cached.
    let other = tmp.join("other");
    let gsg = testdata::path("snp/go-sev-guest-milan/attestation.bin").to_string_lossy().into_owned();
    let o = run(&other, &["collateral", "fetch", &gsg, "--product", "milan", "--kds-url", &server.base]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("404") && text(&o).contains("masked"), "{}", text(&o));
    let _ = std::fs::remove_dir_all(&tmp);
}

/// `--allow-stale`: a cached TCB info past its nextUpdate whose refresh fails is served with a
/// warning only when allowed; otherwise `collateral fetch` refuses it, naming the cached window.
#[test]
fn allow_stale_through_the_binary() {
    let pcs = Server::start();
    pcs.route(
        "/tdx/certification/v4/tcb?fmspc=00806F050000",
        Reply::ok(JSON_CT, testdata::read("tdx/automata-gcp-spr-0725/tcb_info_v3_with_tdx_module.json"))
            .header("TCB-Info-Issuer-Chain", &common::tcb_signing_chain()),
    );
    pcs.route(
        "/tdx/certification/v4/qe/identity",
        Reply::ok(JSON_CT, testdata::read("tdx/automata-gcp-spr-0725/qe_identity.json"))
            .header("SGX-Enclave-Identity-Issuer-Chain", &common::tcb_signing_chain()),
    );
    let tmp = std::env::temp_dir().join(format!("cloud-ra-cli-stale-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let cache = tmp.join("cache");
    let quote = testdata::path("tdx/automata-gcp-spr-0725/quote_tdx.bin").to_string_lossy().into_owned();
    let o = run(&cache, &["collateral", "fetch", &quote, "--pcs-url", &pcs.base, "--at", "2025-07-20T00:00:00Z"]);
    assert!(text(&o).contains("2 from the network"), "{}", text(&o));

    // A month after nextUpdate; the source is down (every request answers 503).
    let down = Server::start();
    for p in ["/tdx/certification/v4/tcb?fmspc=00806F050000", "/tdx/certification/v4/qe/identity"] {
        down.fault(p, &vec![common::Fault::Status(503, None); 4]);
    }
    // No retries, so the test stays fast (retries are covered by the collateral crate's tests).
    let conf = tmp.join("config.toml");
    std::fs::write(&conf, "[collateral]\nretries = 0\n").expect("config");
    let conf = conf.to_string_lossy().into_owned();
    let args =
        ["collateral", "fetch", &quote, "--pcs-url", &down.base, "--at", "2025-09-01T00:00:00Z", "--config", &conf];
    let o = run(&cache, &args);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        text(&o).contains("503")
            && text(&o).contains("valid 2025-07-07T09:06:43Z .. 2025-08-06T09:06:43Z, not at 2025-09-01T00:00:00Z")
            && text(&o).contains("--allow-stale would serve it"),
        "{}",
        text(&o)
    );
    assert!(!text(&o).contains("STALE"), "{}", text(&o));

    let o = run(&cache, &[&args[..], &["--allow-stale"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("STALE cache") && text(&o).contains("2 stale"), "{}", text(&o));
    assert!(text(&o).contains("warning: serving the EXPIRED cached Intel TDX TCB info"), "{}", text(&o));
    let _ = std::fs::remove_dir_all(&tmp);
}
