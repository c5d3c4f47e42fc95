//! The Nitro request path end to end over real loopback TCP: parent -> enclave server -> NSM
//! (simulated, CBOR wire format) -> document -> verifier.

use base64::Engine;
use cloud_ra_attest::nitro_service::{answer, request, serve_connection};
use cloud_ra_attest::nsm::{Nsm, NsmError, SimNsm, attestation_request, attestation_response, request_document};
use cloud_ra_verify::{Collateral, Timestamp, VerifyOptions, verify_evidence};
use serde_json::json;
use std::net::{TcpListener, TcpStream};

const NOW: i64 = 1_900_000_000;

fn sim() -> SimNsm {
    SimNsm { debug: false, fixed_time: Some(NOW) }
}

fn verify(doc: &[u8], nonce: &[u8]) -> cloud_ra_verify::Outcome {
    let mut o = VerifyOptions::at(Timestamp(NOW + 5));
    o.trust_simulated = true;
    o.nonce = Some(nonce.to_vec());
    verify_evidence(doc, &Collateral::default(), &o, None)
}

#[test]
fn nsm_wire_format_round_trip() {
    let doc = request_document(&sim(), Some(b"hello"), Some(&[1; 64]), None).expect("document");
    let o = verify(&doc, &[1; 64]);
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    assert_eq!(o.claims["user_data"], hex::encode(b"hello"));
    // The NSM's own limits and error codes.
    let too_big = request_document(&sim(), Some(&[0; 513]), None, None);
    assert_eq!(too_big, Err(NsmError::Refused("InputTooLarge".into())));
    let resp = sim().process(b"\xA1\x69DescribeX\xF6").expect("answers");
    assert!(matches!(attestation_response(&resp), Err(NsmError::Refused(_))));
    assert!(matches!(attestation_response(b"\x01"), Err(NsmError::Malformed(_))));
    assert!(attestation_request(None, None, None).len() < 64);
}

#[test]
fn loopback_round_trip_with_a_fresh_nonce() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    let server = std::thread::spawn(move || {
        let (s, _) = listener.accept().expect("accept");
        serve_connection(&sim(), s).expect("serve")
    });
    let nonce = cloud_ra_attest::collect::fresh_nonce().expect("nonce");
    let doc = request(TcpStream::connect(addr).expect("connect"), b"hello", &nonce).expect("document");
    assert_eq!(server.join().expect("server thread"), 1);
    let o = verify(&doc, &nonce);
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    assert_eq!(o.claims["nonce_bound"], true);
    // The same document against another nonce is refused.
    assert_eq!(verify(&doc, &[0; 64]).exit_code(), 4);
}

#[test]
fn several_requests_on_one_connection_and_errors_as_the_seed_answers_them() {
    let b64 = base64::engine::general_purpose::STANDARD;
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    let server = std::thread::spawn(move || {
        let (s, _) = listener.accept().expect("accept");
        serve_connection(&sim(), s).expect("serve")
    });
    use std::io::{BufRead, BufReader, Write};
    let mut s = TcpStream::connect(addr).expect("connect");
    let mut r = BufReader::new(s.try_clone().expect("clone"));
    let mut line = String::new();
    for req in [
        json!({"user-data": b64.encode("a"), "nonce": b64.encode([1u8; 8])}),
        json!({"user-data": "***", "nonce": b64.encode([1u8; 8])}),
        json!({"user-data": b64.encode("a"), "nonce": 5}),
    ] {
        writeln!(s, "{req}").expect("send");
        line.clear();
        r.read_line(&mut line).expect("answer");
        let a: serde_json::Value = serde_json::from_str(&line).expect("JSON answer");
        match req["user-data"].as_str() {
            Some("***") => assert_eq!(a["error"], "Invalid report-data encoding"),
            _ if req["nonce"].is_number() => assert_eq!(a["error"], "Invalid nonce encoding"),
            _ => assert!(a["document"].is_string(), "{a}"),
        }
    }
    writeln!(s, "not json").expect("send");
    line.clear();
    r.read_line(&mut line).expect("answer");
    assert!(line.contains("Invalid JSON request"), "{line}");
    drop(s);
    assert_eq!(server.join().expect("server thread"), 3);
}

#[test]
fn absent_device_is_reported_like_the_seed() {
    struct Absent;
    impl Nsm for Absent {
        fn process(&self, _: &[u8]) -> Result<Vec<u8>, NsmError> {
            Err(NsmError::Absent)
        }
        fn describe(&self) -> String {
            "absent".into()
        }
    }
    let a = answer(&Absent, &json!({"user-data": null, "nonce": null}));
    assert_eq!(a["error"], "NSM device not available");
    assert_eq!(a["status"], "NSM_UNAVAILABLE");
    assert!(matches!(cloud_ra_attest::nsm::DevNsm::open("/nonexistent/nsm"), Err(NsmError::Absent)));
}

#[test]
fn client_refuses_errors_and_garbage() {
    for reply in [
        &b"{\"error\":\"NSM device not available\",\"message\":\"x\"}\n"[..],
        b"nonsense",
        b"",
        b"{\"document\": \"!!\"}",
    ] {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shown = String::from_utf8_lossy(reply).into_owned();
        let reply = reply.to_vec();
        let t = std::thread::spawn(move || {
            use std::io::{Read, Write};
            let (mut s, _) = listener.accept().expect("accept");
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf);
            let _ = s.write_all(&reply);
        });
        let r = request(TcpStream::connect(addr).expect("connect"), b"x", &[0; 64]);
        assert!(r.is_err(), "{shown}");
        t.join().expect("thread");
    }
}
