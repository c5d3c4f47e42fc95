//! Nitro negative cases from the simulated Nitro PKI: each differs from a passing document in
//! exactly one way.

use cloud_ra_sim::nitro::{ChainSpec, DocSpec, SimNitro};
use cloud_ra_verify::cbor::Value;
use cloud_ra_verify::{Caches, Collateral, Outcome, Timestamp, VerifyOptions, verify_evidence};

const NOW: i64 = 1_900_000_000;

fn opts() -> VerifyOptions {
    let mut o = VerifyOptions::at(Timestamp(NOW));
    o.trust_simulated = true;
    o
}

fn doc_with(chain: &ChainSpec, d: &DocSpec) -> Vec<u8> {
    SimNitro::get().chain(chain).sign(d)
}

fn doc(d: &DocSpec) -> Vec<u8> {
    doc_with(&ChainSpec::at(NOW), d)
}

fn run(bytes: &[u8], o: &VerifyOptions) -> Outcome {
    verify_evidence(bytes, &Collateral::default(), o, None)
}

fn refused(o: &Outcome, code: i32, check: &str, needle: &str) {
    assert_eq!(o.exit_code(), code, "{:?}", o.failures);
    let f = o.failures.first().expect("a failure");
    assert_eq!(f.check, check, "{}", f.detail);
    assert!(f.detail.contains(needle), "expected '{needle}' in: {}", f.detail);
}

#[test]
fn baseline_untagged_and_tagged_verify() {
    for tagged in [false, true] {
        let d = DocSpec { tagged, ..DocSpec::at(NOW) };
        let o = run(&doc(&d), &opts());
        assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
        assert_eq!(o.claims["simulated"], true);
        assert_eq!(o.claims["parent_instance_id"], "i-0123456789abcdef0");
    }
}

#[test]
fn simulated_root_refused_without_trust() {
    let mut o = opts();
    o.trust_simulated = false;
    refused(&run(&doc(&DocSpec::at(NOW)), &o), 2, "nitro.root", "SIMULATED");
}

#[test]
fn impostor_root_refused() {
    let chain = ChainSpec { impostor_root: true, ..ChainSpec::at(NOW) };
    refused(&run(&doc_with(&chain, &DocSpec::at(NOW)), &opts()), 2, "nitro.root", "not the pinned AWS");
}

#[test]
fn cabundle_out_of_order_refused() {
    let d = DocSpec { reverse_cabundle: true, ..DocSpec::at(NOW) };
    refused(&run(&doc(&d), &opts()), 2, "nitro.root", "must start with the root");
}

#[test]
fn expired_intermediate_and_leaf_refused() {
    let mut chain = ChainSpec::at(NOW);
    chain.zonal.not_after = NOW - 10;
    refused(&run(&doc_with(&chain, &DocSpec::at(NOW)), &opts()), 2, "nitro.chain", "cabundle[2]");
    let mut chain = ChainSpec::at(NOW);
    chain.leaf.not_after = NOW - 1;
    refused(&run(&doc_with(&chain, &DocSpec::at(NOW)), &opts()), 2, "nitro.chain", "certificate");
}

#[test]
fn leaf_that_is_a_ca_or_intermediate_that_is_not_refused() {
    let mut chain = ChainSpec::at(NOW);
    chain.leaf.ca = true;
    refused(&run(&doc_with(&chain, &DocSpec::at(NOW)), &opts()), 2, "nitro.chain", "is a CA");
    let mut chain = ChainSpec::at(NOW);
    chain.instance.ca = false;
    refused(&run(&doc_with(&chain, &DocSpec::at(NOW)), &opts()), 2, "nitro.chain", "not a CA");
}

#[test]
fn wrong_alg_refused() {
    let d = DocSpec { alg: -7, ..DocSpec::at(NOW) };
    refused(&run(&doc(&d), &opts()), 2, "nitro.alg", "-7");
}

#[test]
fn payload_tampered_refused() {
    let mut bytes = doc(&DocSpec::at(NOW));
    // Change one byte of module_id inside the payload.
    let pos = bytes.windows(5).position(|w| w == b"i-012").expect("module_id present");
    bytes[pos + 2] ^= 0x01;
    refused(&run(&bytes, &opts()), 2, "nitro.signature", "does not verify");
}

#[test]
fn pcr_nonce_user_data_and_public_key_policies() {
    let d = DocSpec {
        nonce: Some(vec![7; 64]),
        user_data: Some(b"hello".to_vec()),
        public_key: Some(vec![4; 65]),
        ..DocSpec::at(NOW)
    };
    let bytes = doc(&d);
    let mut o = opts();
    o.nonce = Some(vec![7; 64]);
    o.policy = cloud_ra_verify::Policy::parse(
        "p.toml",
        &format!(
            "[nitro]\nuser_data = \"{}\"\npublic_key = \"{}\"\n[nitro.pcrs]\n\"0\" = \"{}\"\n",
            hex::encode(b"hello"),
            hex::encode([4u8; 65]),
            hex::encode(&d.pcrs[&0])
        ),
    )
    .expect("policy");
    let ok = run(&bytes, &o);
    assert_eq!(ok.exit_code(), 0, "{:?}", ok.failures);
    assert_eq!(ok.claims["nonce_bound"], true);
    let mut bad = o.clone();
    bad.nonce = Some(vec![8; 64]);
    refused(&run(&bytes, &bad), 4, "policy.nonce", "not the verifier's nonce");
    let mut bad = o.clone();
    bad.policy.nitro.pcrs.insert("0".into(), "00".repeat(48));
    refused(&run(&bytes, &bad), 4, "policy.pcrs", "PCR0");
    let mut bad = o.clone();
    bad.policy.nitro.pcrs.insert("20".into(), "00".repeat(48));
    refused(&run(&bytes, &bad), 4, "policy.pcrs", "absent");
    let mut bad = o.clone();
    bad.policy.nitro.user_data = Some(hex::encode(b"hellO"));
    refused(&run(&bytes, &bad), 4, "policy.user_data", "user_data");
    let mut bad = o;
    bad.policy.nitro.public_key = Some("04".into());
    refused(&run(&bytes, &bad), 4, "policy.public_key", "public_key");
}

#[test]
fn debug_enclave_refused_unless_allowed() {
    let bytes = doc(&DocSpec::at(NOW).debug());
    refused(&run(&bytes, &opts()), 4, "policy.debug", "debug-mode");
    let mut o = opts();
    o.allow_debug = true;
    assert_eq!(run(&bytes, &o).exit_code(), 0);
}

#[test]
fn oversized_and_malformed_fields_refused() {
    let cases: Vec<(DocSpec, &str)> = vec![
        (DocSpec { user_data: Some(vec![0; 1025]), ..DocSpec::at(NOW) }, "user_data is 1025 bytes"),
        (DocSpec { nonce: Some(vec![0; 2000]), ..DocSpec::at(NOW) }, "nonce is 2000 bytes"),
        (DocSpec { public_key: Some(vec![0; 1025]), ..DocSpec::at(NOW) }, "public_key is 1025 bytes"),
        (
            {
                let mut d = DocSpec::at(NOW);
                d.pcrs.insert(3, vec![1; 47]);
                d
            },
            "pcrs[3] is 47 bytes",
        ),
        (
            {
                let mut d = DocSpec::at(NOW);
                d.pcrs.clear();
                d
            },
            "pcrs has 0 entries",
        ),
        (
            DocSpec { extra: vec![("surprise".into(), Value::Uint(1))], ..DocSpec::at(NOW) },
            "unknown payload key 'surprise'",
        ),
        (DocSpec { module_id: String::new(), ..DocSpec::at(NOW) }, "module_id"),
        (DocSpec { timestamp_ms: 0, ..DocSpec::at(NOW) }, "timestamp"),
    ];
    for (d, needle) in cases {
        refused(&run(&doc(&d), &opts()), 2, "nitro.format", needle);
    }
    // 1024-byte user data is accepted (AWS's documents disagree on 512 vs 1024: the larger wins).
    let d = DocSpec { user_data: Some(vec![1; 1024]), ..DocSpec::at(NOW) };
    assert_eq!(run(&doc(&d), &opts()).exit_code(), 0);
}

#[test]
fn cbor_tricks_refused() {
    let good = doc(&DocSpec::at(NOW));
    // Indefinite-length array in place of the definite COSE array.
    let mut indefinite = good.clone();
    indefinite[0] = 0x9F;
    indefinite.push(0xFF);
    let o = run(&indefinite, &opts());
    assert!(!o.verified);
    // Trailing garbage.
    let mut trailing = good.clone();
    trailing.push(0x00);
    refused(&run(&trailing, &opts()), 2, "nitro.format", "after the item");
    // Truncated.
    refused(&run(&good[..good.len() - 10], &opts()), 2, "nitro.format", "past the end");
    // A COSE array of 3.
    let three = cloud_ra_verify::cbor::encode(&Value::Array(vec![
        Value::Bytes(vec![0xA0]),
        Value::Map(vec![]),
        Value::Bytes(vec![]),
    ]));
    let o = run(&three, &opts());
    assert!(!o.verified);
    // A map claiming 2^32 entries.
    let mut huge = vec![0x84, 0x41, 0xA0, 0xA0, 0x5A, 0x00, 0x00, 0x00, 0x05];
    huge.extend_from_slice(&[0xBA, 0xFF, 0xFF, 0xFF, 0xFF]);
    let o = run(&huge, &opts());
    assert!(!o.verified);
    // A payload that is not a map.
    let not_map = cloud_ra_verify::cbor::encode(&Value::Array(vec![
        Value::Bytes(vec![0xA1, 0x01, 0x38, 0x22]),
        Value::Map(vec![]),
        Value::Bytes(vec![0x01]),
        Value::Bytes(vec![0; 96]),
    ]));
    refused(&run(&not_map, &opts()), 2, "nitro.format", "not a map");
}

#[test]
fn cache_serves_repeated_documents_but_not_outside_the_window() {
    let caches = Caches::default();
    let bytes = doc(&DocSpec::at(NOW));
    for _ in 0..3 {
        let o = verify_evidence(&bytes, &Collateral::default(), &opts(), Some(&caches));
        assert_eq!(o.exit_code(), 0);
    }
    assert_eq!(caches.nitro.len(), 1);
    let mut late = opts();
    late.at = Timestamp(NOW + 4 * 3600);
    let o = verify_evidence(&bytes, &Collateral::default(), &late, Some(&caches));
    assert_eq!(o.failures[0].check, "nitro.chain", "the cached chain is not valid 4 h later");
    let mut untrusted = opts();
    untrusted.trust_simulated = false;
    let o = verify_evidence(&bytes, &Collateral::default(), &untrusted, Some(&caches));
    assert_eq!(o.failures[0].check, "nitro.root");
}

/// A signed timestamp the signing certificate could not have made (decades after its notAfter,
/// before its notBefore) or in the future of the evaluation time beyond the skew: refused
/// (evidence, exit 2), never an affirming result.
#[test]
fn timestamp_outside_the_signing_certificate_or_in_the_future_refused() {
    let forty_years = 40 * 365 * 86400;
    let cases = [
        ((NOW + forty_years) as u64 * 1000, "outside its signing certificate"),
        ((NOW - 2 * 3600) as u64 * 1000, "outside its signing certificate"),
        ((NOW + 1000) as u64 * 1000, "after the evaluation time"),
    ];
    for (ts, needle) in cases {
        let d = DocSpec { timestamp_ms: ts, ..DocSpec::at(NOW) };
        let o = run(&doc(&d), &opts());
        assert!(!o.verified, "{ts}: {:?}", o.failures);
        refused(&o, 2, "nitro.timestamp", needle);
    }
    // Inside the leaf's validity and within the skew: accepted.
    let d = DocSpec { timestamp_ms: (NOW + 200) as u64 * 1000, ..DocSpec::at(NOW) };
    assert_eq!(run(&doc(&d), &opts()).exit_code(), 0);
}
