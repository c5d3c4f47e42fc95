//! The IMDS client against a loopback server that answers as Azure's IMDS does.

mod common;

use base64::Engine;
use cloud_ra_attest::imds::{Imds, ImdsError};
use cloud_ra_sim::intel::{QuoteKind, QuoteSpec, SimIntel};
use cloud_ra_sim::{ReportBuilder, SimAmd, VekKind, pem};
use std::time::Duration;

const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE;
const B64URL_NOPAD: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn client(base: &str) -> Imds {
    Imds::new(base, Duration::from_secs(5)).expect("client")
}

/// A TD quote for the TDREPORT's REPORTDATA (offset 128, 64 bytes), from the simulated QE.
fn td_quote_for(tdreport: &[u8]) -> Vec<u8> {
    let mut rd = [0u8; 64];
    rd.copy_from_slice(&tdreport[128..192]);
    SimIntel::get().quote(&QuoteSpec { report_data: rd, ..QuoteSpec::new(QuoteKind::TdxV4) })
}

fn imds_tdquote(req: &common::Request) -> (u16, Vec<u8>) {
    if req.method != "POST" || req.target != "/acc/tdquote" {
        return (404, b"{}".to_vec());
    }
    let v: serde_json::Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(_) => return (400, b"{\"error\":\"invalid json\"}".to_vec()),
    };
    let Some(report) = v.get("report").and_then(|r| r.as_str()).and_then(|r| B64URL.decode(r).ok()) else {
        return (400, b"{\"error\":\"report missing\"}".to_vec());
    };
    if report.len() != 1024 {
        return (400, b"{\"error\":\"bad report size\"}".to_vec());
    }
    (200, serde_json::json!({"quote": B64URL_NOPAD.encode(td_quote_for(&report))}).to_string().into_bytes())
}

#[test]
fn td_quote_round_trip() {
    let stub = common::Imds::start(imds_tdquote);
    let mut tdreport = vec![0u8; 1024];
    tdreport[128..192].copy_from_slice(&[0x5A; 64]);
    let quote = client(&stub.base).td_quote(&tdreport).expect("td quote");
    assert_eq!(quote, td_quote_for(&tdreport));
    // The quote carries our REPORTDATA (TDX v4 quote: header 48 + TD report body, REPORTDATA at 520).
    assert_eq!(&quote[48 + 520..48 + 584], &[0x5A; 64][..]);
    let reqs = stub.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].header("Content-Type"), Some("application/json"));
    // IMDS takes padded base64url, as trustauthority-cli sends it.
    let sent: serde_json::Value = serde_json::from_slice(&reqs[0].body).unwrap();
    assert_eq!(sent["report"].as_str().unwrap(), B64URL.encode(&tdreport));
}

#[test]
fn td_quote_errors_are_precise() {
    let stub = common::Imds::start(|req| match req.target.as_str() {
        "/acc/tdquote" => (400, b"{\"error\":\"Invalid report\"}".to_vec()),
        _ => (404, vec![]),
    });
    let c = client(&stub.base);
    match c.td_quote(&[0u8; 1024]) {
        Err(ImdsError::Status { status: 400, body, url }) => {
            assert!(body.contains("Invalid report"), "{body}");
            assert!(url.ends_with("/acc/tdquote"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(c.td_quote(&[0u8; 100]), Err(ImdsError::Input(m)) if m.contains("1024")));

    for (body, want) in [
        (b"not json".to_vec(), "not JSON"),
        (b"{\"q\":1}".to_vec(), "\"quote\""),
        (b"{\"quote\":\"!!!\"}".to_vec(), "base64url"),
        (b"{\"quote\":\"AAAA\"}".to_vec(), "shorter than a quote header"),
    ] {
        let stub = common::Imds::start(move |_| (200, body.clone()));
        let e = client(&stub.base).td_quote(&[0u8; 1024]).unwrap_err();
        assert!(matches!(&e, ImdsError::Answer { detail, .. } if detail.contains(want)), "{e}");
    }
}

#[test]
fn nothing_listening_is_an_http_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let e = client(&format!("http://127.0.0.1:{port}")).thim_amd().unwrap_err();
    assert!(matches!(&e, ImdsError::Http { url, .. } if url.contains("/metadata/THIM/amd/certification")), "{e}");
    assert!(Imds::new("169.254.169.254", Duration::from_secs(1)).is_err());
}

fn thim_json() -> Vec<u8> {
    let sim = SimAmd::get();
    let r = ReportBuilder::new();
    let vcek = sim.vek_der(&r.vek_spec(VekKind::Vcek));
    serde_json::json!({
        "vcekCert": pem("CERTIFICATE", &vcek),
        "tcbm": "DB18000000000003",
        "certificateChain": format!("{}{}", pem("CERTIFICATE", sim.ask_der()), pem("CERTIFICATE", sim.ark_der())),
        "cacheControl": "86400",
    })
    .to_string()
    .into_bytes()
}

#[test]
fn thim_sends_the_metadata_header() {
    let body = thim_json();
    let b2 = body.clone();
    let stub = common::Imds::start(move |req| match req.target.as_str() {
        "/metadata/THIM/amd/certification" => (200, b2.clone()),
        _ => (404, vec![]),
    });
    let got = client(&stub.base).thim_amd().expect("thim");
    assert_eq!(got, body);
    assert_eq!(stub.requests()[0].header("Metadata"), Some("true"));
    assert_eq!(stub.requests()[0].method, "GET");
}

#[test]
fn thim_refuses_an_answer_without_certificates() {
    let stub = common::Imds::start(|_| (200, b"{\"vcekCert\":\"\",\"certificateChain\":\"x\"}".to_vec()));
    let e = client(&stub.base).thim_amd().unwrap_err();
    assert!(matches!(&e, ImdsError::Answer { detail, .. } if detail.contains("vcekCert")), "{e}");
}
