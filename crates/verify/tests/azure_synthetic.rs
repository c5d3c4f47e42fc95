//! Azure vTPM evidence built from parts: an SNP report of the simulated AMD PKI carrying the hash
//! of runtime claims whose HCLAkPub is a fresh attestation key, that key's TPM quote. The baseline
//! verifies; each negative case changes one thing and asserts the check (and where it matters the
//! field and offset) that refuses it. The evaluation time is pinned.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, KeyPair};
use base64::Engine;
use cloud_ra_sim::{ReportBuilder, SimAmd, VekKind};
use cloud_ra_verify::azure::format::{self, HclReport};
use cloud_ra_verify::azure::{QuoteParts, Tee};
use cloud_ra_verify::bundle::{B64, Bundle, BundleCert};
use cloud_ra_verify::eventlog::AlgId;
use cloud_ra_verify::policy::{ConfigValue, OneOrMany};
use cloud_ra_verify::tpm::{self, AkPublic, Attest, Signature};
use cloud_ra_verify::{Category, Collateral, Outcome, Status, Timestamp, VerifyOptions, verify_evidence};
use std::sync::OnceLock;

const AT: &str = "2030-01-01T00:00:00Z";
const NONCE: &[u8] = b"verifier-nonce-0123456789abcdef!";

fn b64u(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn rsa_ak() -> &'static aws_lc_rs::rsa::KeyPair {
    static K: OnceLock<aws_lc_rs::rsa::KeyPair> = OnceLock::new();
    K.get_or_init(|| aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("RSA key"))
}

fn other_rsa() -> &'static aws_lc_rs::rsa::KeyPair {
    static K: OnceLock<aws_lc_rs::rsa::KeyPair> = OnceLock::new();
    K.get_or_init(|| aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("RSA key"))
}

/// The modulus of the key's PKCS#1 RSAPublicKey (SEQUENCE { INTEGER n, INTEGER e }).
fn modulus(k: &aws_lc_rs::rsa::KeyPair) -> Vec<u8> {
    let der = k.public_key().as_ref();
    // 30 82 LL LL 02 82 LL LL <n> ...
    assert_eq!((der[0], der[1], der[4], der[5]), (0x30, 0x82, 0x02, 0x82));
    let n = u16::from_be_bytes([der[6], der[7]]) as usize;
    der[8..8 + n].iter().copied().skip_while(|&b| b == 0).collect()
}

/// TPMT_PUBLIC of an RSA-2048 RSASSA-SHA256 signing key with exponent 0 (= 65537), as Azure's AK.
fn rsa_tpmt_public(n: &[u8]) -> Vec<u8> {
    let mut o = Vec::new();
    o.extend(0x0001u16.to_be_bytes()); // TPM_ALG_RSA
    o.extend(0x000Bu16.to_be_bytes()); // nameAlg SHA-256
    o.extend(0x0005_0072u32.to_be_bytes()); // fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|restricted|sign
    o.extend(0u16.to_be_bytes()); // authPolicy
    o.extend(0x0010u16.to_be_bytes()); // symmetric NULL
    o.extend(0x0014u16.to_be_bytes()); // scheme RSASSA
    o.extend(0x000Bu16.to_be_bytes()); // SHA-256
    o.extend(2048u16.to_be_bytes());
    o.extend(0u32.to_be_bytes()); // exponent 0 = 65537
    o.extend((n.len() as u16).to_be_bytes());
    o.extend_from_slice(n);
    o
}

fn claims_json(keys: &str, user_data: &[u8; 64]) -> Vec<u8> {
    format!(
        r#"{{"keys":[{keys}],"vm-configuration":{{"console-enabled":true,"root-cert-thumbprint":"x","secure-boot":true,"tpm-enabled":true,"tpm-persisted":true,"vmUniqueId":"00000000-0000-0000-0000-000000000001"}},"user-data":"{}"}}"#,
        hex::encode_upper(user_data)
    )
    .into_bytes()
}

fn rsa_jwk(kid: &str, n: &[u8]) -> String {
    format!(r#"{{"kid":"{kid}","key_ops":["sign"],"kty":"RSA","e":"AQAB","n":"{}"}}"#, b64u(n))
}

fn default_keys() -> String {
    format!("{},{}", rsa_jwk("HCLAkPub", &modulus(rsa_ak())), rsa_jwk("HCLEkPub", &modulus(other_rsa())))
}

/// The HCL blob: header, hardware slot, request data, claims, zero padding to `total`.
fn hcl_blob(tee: Tee, hw: &[u8], hash_type: u32, claims: &[u8], total: usize) -> Vec<u8> {
    let var = claims.len() as u32;
    let mut b = Vec::new();
    for v in [0x414C_4348u32, if tee == Tee::Snp { 1 } else { 2 }, 0x4D4 + var, 2, 0, 0, 0, 0] {
        b.extend(v.to_le_bytes());
    }
    let mut slot = hw.to_vec();
    slot.resize(1184, 0);
    b.extend(slot);
    for v in [20 + var, 1, if tee == Tee::Snp { 2 } else { 4 }, hash_type, var] {
        b.extend(v.to_le_bytes());
    }
    b.extend_from_slice(claims);
    b.resize(total.max(b.len()), 0);
    b
}

fn hash(ht: u32, d: &[u8]) -> Vec<u8> {
    match ht {
        2 => cloud_ra_verify::crypto::sha384(d).to_vec(),
        3 => cloud_ra_verify::crypto::sha512(d).to_vec(),
        _ => cloud_ra_verify::crypto::sha256(d).to_vec(),
    }
}

/// An SNP report of the simulated chip whose REPORT_DATA is `rd`, signed by the simulated VCEK.
fn snp_report(rd: &[u8], vmpl: u32) -> Vec<u8> {
    let mut b = ReportBuilder::new().with_report_data(cloud_ra_verify::policy::pad64(rd));
    b.vmpl = vmpl;
    let spec = b.vek_spec(VekKind::Vcek);
    let mut bytes = b.to_bytes();
    SimAmd::get().sign_report(&spec, &mut bytes);
    bytes.to_vec()
}

fn pcr_values(n: u32) -> Vec<Vec<u8>> {
    (0..n).map(|i| cloud_ra_verify::crypto::sha256(&i.to_be_bytes()).to_vec()).collect()
}

/// A quote over SHA-256 PCRs `sel` with `extra`, signed RSASSA-SHA256 by `key`.
fn rsa_quote(key: &aws_lc_rs::rsa::KeyPair, sel: &[u32], extra: &[u8], pss: bool) -> QuoteParts {
    rsa_quote_over(key, sel, extra, pss, &pcr_values(24))
}

fn rsa_quote_over(key: &aws_lc_rs::rsa::KeyPair, sel: &[u32], extra: &[u8], pss: bool, vals: &[Vec<u8>]) -> QuoteParts {
    let mut concat = Vec::new();
    for i in sel {
        concat.extend_from_slice(&vals[*i as usize]);
    }
    let a = Attest {
        qualified_signer: vec![0, 0x0B, 1, 2, 3],
        extra_data: extra.to_vec(),
        clock: 12345,
        reset_count: 1,
        restart_count: 0,
        safe: true,
        firmware_version: 0x2019_0101_0000_0000,
        selection: vec![(AlgId::SHA256, sel.to_vec())],
        pcr_digest: cloud_ra_verify::crypto::sha256(&concat).to_vec(),
    };
    let attest = a.to_bytes();
    let mut sig = vec![0u8; key.public_modulus_len()];
    let (enc, scheme): (&'static dyn signature::RsaEncoding, u16) =
        if pss { (&signature::RSA_PSS_SHA256, 0x0016) } else { (&signature::RSA_PKCS1_SHA256, 0x0014) };
    key.sign(enc, &SystemRandom::new(), &attest, &mut sig).expect("sign");
    let signature = Signature { scheme, hash: 0x000B, sig }.to_bytes();
    QuoteParts { attest, signature, pcrs: concat }
}

/// The parts of one case; `bundle()` assembles them.
#[derive(Clone)]
struct Case {
    hcl: Vec<u8>,
    quote: Option<QuoteParts>,
    ak_public: Option<Vec<u8>>,
    nonce: Option<String>,
    aux: serde_json::Value,
    eventlog: Option<Vec<u8>>,
    opts: VerifyOptions,
}

impl Case {
    /// SHA-256 binding, 24 PCRs, extraData = NONCE, AK public given; --nonce NONCE.
    fn new() -> Self {
        Self::with_claims(&claims_json(&default_keys(), &[0u8; 64]), 1, 0)
    }

    fn with_claims(claims: &[u8], ht: u32, vmpl: u32) -> Self {
        let hw = snp_report(&hash(ht, claims), vmpl);
        let hcl = hcl_blob(Tee::Snp, &hw, ht, claims, 2600);
        let mut opts = VerifyOptions::at(Timestamp::parse_rfc3339(AT).expect("time"));
        opts.trust_simulated = true;
        opts.nonce = Some(NONCE.to_vec());
        Case {
            hcl,
            quote: Some(rsa_quote(rsa_ak(), &(0..24).collect::<Vec<_>>(), NONCE, false)),
            ak_public: Some(rsa_tpmt_public(&modulus(rsa_ak()))),
            nonce: Some(hex::encode(NONCE)),
            aux: serde_json::json!({"fresh_report": false}),
            eventlog: None,
            opts,
        }
    }

    fn bundle(&self) -> Vec<u8> {
        let mut b = Bundle::new_azure(Tee::Snp, &self.hcl, self.quote.as_ref());
        if let Some(a) = &self.ak_public {
            b.evidence.insert("ak_public".into(), B64(a.clone()));
        }
        let sim = SimAmd::get();
        let spec = ReportBuilder::new().vek_spec(VekKind::Vcek);
        for (kind, der) in
            [("vcek", sim.vek_der(&spec)), ("ask", sim.ask_der().to_vec()), ("ark", sim.ark_der().to_vec())]
        {
            b.certs.push(BundleCert { kind: kind.into(), der: B64(der) });
        }
        if let Some(l) = &self.eventlog {
            b.evidence.insert("eventlog_tpm".into(), B64(l.clone()));
        }
        b.nonce = self.nonce.clone();
        b.aux = self.aux.clone();
        b.to_json().into_bytes()
    }

    fn run(&self) -> Outcome {
        verify_evidence(&self.bundle(), &Collateral::default(), &self.opts, None)
    }
}

fn first(o: &Outcome) -> (&str, &str) {
    o.failures.first().map(|f| (f.check.as_str(), f.detail.as_str())).unwrap_or(("", ""))
}

#[test]
fn baseline_verifies_with_every_claim() {
    let o = Case::new().run();
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    assert_eq!(o.status, Status::Affirming, "{:?}", o.warnings);
    let c = &o.claims;
    assert_eq!(c["platform"], "azure-snp-vtpm");
    assert_eq!(c["simulated"], true);
    assert_eq!(c["freshness"], "tpm-quote");
    assert_eq!(c["nonce_bound"], true);
    assert_eq!(c["ak_pub"]["tpm_public_checked"], true);
    let ak = AkPublic::parse(&rsa_tpmt_public(&modulus(rsa_ak()))).expect("AK");
    assert_eq!(c["ak_pub"]["sha256"], ak.params.fingerprint());
    assert_eq!(c["pcrs"]["23"], hex::encode(&pcr_values(24)[23]));
    assert_eq!(c["vm_configuration"]["vmUniqueId"], "00000000-0000-0000-0000-000000000001");
    assert_eq!(c["user_data"], hex::encode([0u8; 64]));
    assert_eq!(c["tpm_quote"]["clock"], 12345);
    assert_eq!(c["evidence_format"], "bundle");
}

#[test]
fn sha384_and_sha512_bindings() {
    for ht in [2, 3] {
        let o = Case::with_claims(&claims_json(&default_keys(), &[0u8; 64]), ht, 0).run();
        assert_eq!(o.exit_code(), 0, "hash type {ht}: {:?}", o.failures);
        assert_eq!(o.claims["hcl"]["hash_type"], if ht == 2 { "sha384" } else { "sha512" });
    }
    // The report carries SHA-256(claims) but the request says SHA-512.
    let mut c = Case::new();
    c.hcl[0x4C0 + 12] = 3;
    let o = c.run();
    assert_eq!(first(&o).0, "azure.binding");
    assert!(first(&o).1.contains("Sha512"), "{}", first(&o).1);
}

/// Parse errors: (name, mutation, field named, offset named).
#[test]
fn lying_sizes_and_bad_headers_are_refused_precisely() {
    let base = Case::new().hcl;
    let set = |b: &mut Vec<u8>, off: usize, v: u32| b[off..off + 4].copy_from_slice(&v.to_le_bytes());
    let get = |b: &[u8], off: usize| u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]]);
    let var = get(&base, 0x4D0);
    type Mutation = Box<dyn Fn(&mut Vec<u8>)>;
    let cases: Vec<(&str, Mutation, &str)> = vec![
        ("signature", Box::new(|b| b[0] = b'X'), "header.signature at offset 0x0"),
        ("version", Box::new(move |b| set(b, 4, 3)), "header.version at offset 0x4"),
        (
            "report_size +1",
            Box::new(move |b| {
                let v = get(b, 8);
                set(b, 8, v + 1)
            }),
            "header.report_size at offset 0x8",
        ),
        (
            "report_size -1",
            Box::new(move |b| {
                let v = get(b, 8);
                set(b, 8, v - 1)
            }),
            "header.report_size at offset 0x8",
        ),
        ("request_type 0", Box::new(move |b| set(b, 12, 0)), "header.request_type at offset 0xc"),
        ("status", Box::new(move |b| set(b, 16, 1)), "header.status at offset 0x10"),
        ("reserved", Box::new(move |b| set(b, 24, 7)), "header.reserved at offset 0x18"),
        (
            "data_size",
            Box::new(move |b| {
                let v = get(b, 0x4C0);
                set(b, 0x4C0, v + 4)
            }),
            "request.data_size at offset 0x4c0",
        ),
        ("request version", Box::new(move |b| set(b, 0x4C4, 2)), "request.version at offset 0x4c4"),
        ("report type 3", Box::new(move |b| set(b, 0x4C8, 3)), "request.report_type at offset 0x4c8"),
        ("hash type 4", Box::new(move |b| set(b, 0x4CC, 4)), "request.report_data_hash_type at offset 0x4cc"),
        ("hash type 0", Box::new(move |b| set(b, 0x4CC, 0)), "request.report_data_hash_type at offset 0x4cc"),
        ("var size 0", Box::new(move |b| set(b, 0x4D0, 0)), "request.variable_data_size at offset 0x4d0"),
        (
            "var size past the blob",
            Box::new(move |b| set(b, 0x4D0, 100_000)),
            "request.variable_data_size at offset 0x4d0",
        ),
        (
            "var size includes padding",
            Box::new(move |b| {
                set(b, 0x4D0, var + 16);
                set(b, 0x4C0, 20 + var + 16);
                set(b, 8, 0x4D4 + var + 16);
            }),
            "includes 16 bytes of zero padding",
        ),
        (
            "junk after report_size",
            Box::new(|b| {
                let n = b.len();
                b[n - 3] = 1
            }),
            "padding at offset 0xa25",
        ),
    ];
    for (name, m, want) in cases {
        let mut b = base.clone();
        m(&mut b);
        let e = HclReport::parse(&b).expect_err(name);
        assert_eq!(e.category, Category::Evidence, "{name}");
        assert_eq!(e.check, "azure.hcl_report", "{name}: {e}");
        assert!(e.detail.contains(want), "{name}: {e}");
        // Through the whole verifier: exit 2 with the same check.
        let mut c = Case::new();
        c.hcl = b;
        let o = c.run();
        assert_eq!(o.exit_code(), 2, "{name}");
        assert_eq!(first(&o).0, "azure.hcl_report", "{name}");
    }
    // Every truncation is refused, never a panic.
    for n in 0..base.len() {
        let r = HclReport::parse(&base[..n]);
        let trunc_ok = n >= 0x4D4 + var as usize;
        assert_eq!(r.is_ok(), trunc_ok, "truncated to {n}");
    }
    // A TDX report with junk after its 1024-byte TDREPORT.
    let claims = claims_json(&default_keys(), &[0u8; 64]);
    let mut td = vec![0u8; 1184];
    td[1100] = 1;
    let e = HclReport::parse(&hcl_blob(Tee::Tdx, &td, 1, &claims, 2600)).expect_err("slot");
    assert!(e.detail.contains("after the 1024-byte TDREPORT"), "{e}");
}

#[test]
fn mutations_never_panic() {
    let base = Case::new().hcl;
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..3000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut b = base.clone();
        let pos = (seed as usize) % 0x900;
        b[pos] = (seed >> 32) as u8;
        let _ = HclReport::parse(&b);
    }
}

#[test]
fn runtime_claims_that_are_not_json_or_lack_hclakpub() {
    let z = [0u8; 64];
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"not json at all".to_vec(), "not JSON"),
        (b"[1,2,3]".to_vec(), "not a JSON object"),
        (br#"{"vm-configuration":{}}"#.to_vec(), "no \"keys\" array"),
        (claims_json(&rsa_jwk("HCLEkPub", &modulus(other_rsa())), &z), "no key with kid \"HCLAkPub\""),
        (claims_json(r#"{"kid":"HCLAkPub","kty":"RSA","e":"AQAB"}"#, &z), "neither key parameters nor x5c"),
        (claims_json(r#"{"kid":"HCLAkPub","kty":"RSA","e":"AQAB","n":"!!"}"#, &z), "member 'n' is not base64url"),
        (claims_json(r#"{"kid":"HCLAkPub","kty":"oct","k":"AA"}"#, &z), "key type 'oct' is not RSA or EC"),
        (
            format!(r#"{{"keys":[{}],"user-data":"1234"}}"#, rsa_jwk("HCLAkPub", &modulus(rsa_ak()))).into_bytes(),
            "\"user-data\" is 2 bytes",
        ),
        (
            format!(r#"{{"keys":[{}],"vm-configuration":true}}"#, rsa_jwk("HCLAkPub", &modulus(rsa_ak()))).into_bytes(),
            "\"vm-configuration\" is not an object",
        ),
    ];
    for (claims, want) in cases {
        // Correctly bound (the report carries their hash): the claims themselves are refused.
        let o = Case::with_claims(&claims, 1, 0).run();
        assert_eq!(o.exit_code(), 2, "{want}");
        assert_eq!(first(&o).0, "azure.runtime_claims", "{want}");
        assert!(first(&o).1.contains(want), "{want}: {}", first(&o).1);
    }
    // A short modulus in HCLAkPub cannot be an AK.
    let o = Case::with_claims(&claims_json(&rsa_jwk("HCLAkPub", &[0xC5; 64]), &z), 1, 0).run();
    assert_eq!(first(&o).0, "azure.runtime_claims");
    assert!(first(&o).1.contains("RSA modulus of 64 bytes"), "{}", first(&o).1);
}

#[test]
fn quote_over_wrong_pcrs_and_pcr_policy() {
    let sel15: Vec<u32> = vec![15, 16, 22];
    let mut c = Case::new();
    c.quote = Some(rsa_quote(rsa_ak(), &sel15, NONCE, false));
    let o = c.run();
    assert!(o.verified, "{:?}", o.failures);
    assert_eq!(o.exit_code(), 4);
    assert_eq!(first(&o).0, "policy.pcrs");
    assert!(first(&o).1.contains("[0, 1, 2"), "{}", first(&o).1);
    // The seed's PCR set by policy: accepted.
    c.opts.policy.azure.required_pcrs = Some(sel15.clone());
    assert_eq!(c.run().exit_code(), 0);
    // 23 PCRs (conformance azure-snp-quote-with-23-pcrs): refused by default.
    let mut c = Case::new();
    c.quote = Some(rsa_quote(rsa_ak(), &(0..23).collect::<Vec<_>>(), NONCE, false));
    let o = c.run();
    assert_eq!(first(&o).0, "policy.pcrs");
    assert!(first(&o).1.contains("[23]"), "{}", first(&o).1);
    // PCR values that are not the quoted ones: the digest does not match (evidence).
    let mut c = Case::new();
    if let Some(q) = c.quote.as_mut() {
        q.pcrs[32 * 7] ^= 0xff;
    }
    let o = c.run();
    assert_eq!(o.exit_code(), 2);
    assert_eq!(first(&o).0, "tpm.pcrs");
    // Reference values.
    let mut c = Case::new();
    c.opts.policy.azure.pcrs.insert("7".into(), OneOrMany::One(hex::encode(&pcr_values(24)[7])));
    assert_eq!(c.run().exit_code(), 0);
    c.opts.policy.azure.pcrs.insert("7".into(), OneOrMany::Many(vec!["00".repeat(32), "11".repeat(32)]));
    let o = c.run();
    assert_eq!(first(&o).0, "policy.pcrs");
    assert!(first(&o).1.contains("PCR7"));
    c.opts.policy.azure.pcrs.clear();
    c.opts.policy.azure.pcrs.insert("24".into(), OneOrMany::One("00".into()));
    assert_eq!(c.run().exit_code(), 1, "a PCR index beyond 23 is a policy error");
}

#[test]
fn nonce_lengths_and_mismatches() {
    // The quote carries NONCE (32 bytes); a 9-byte nonce is refused, naming both lengths.
    let mut c = Case::new();
    c.opts.nonce = Some(b"challenge".to_vec());
    let o = c.run();
    assert_eq!(o.exit_code(), 4);
    assert_eq!(first(&o).0, "policy.nonce");
    assert!(first(&o).1.contains("32 bytes vs 9"), "{}", first(&o).1);
    // A nonce longer than any TPM qualifying data: a usage error.
    c.opts.nonce = Some(vec![7u8; 65]);
    assert_eq!(c.run().exit_code(), 1);
    c.opts.nonce = Some(Vec::new());
    assert_eq!(c.run().exit_code(), 1);
    // The bundle claims another nonce than the quote's extraData: inconsistent evidence.
    let mut c = Case::new();
    c.nonce = Some("00".into());
    assert_eq!(first(&c.run()).0, "tpm.nonce");
    // No --nonce: verified, nothing bound.
    let mut c = Case::new();
    c.opts.nonce = None;
    let o = c.run();
    assert_eq!(o.exit_code(), 0);
    assert_eq!(o.claims["nonce_bound"], false);
}

#[test]
fn attestation_key_mismatches() {
    // The TPM's AK public is another key than HCLAkPub.
    let mut c = Case::new();
    c.ak_public = Some(rsa_tpmt_public(&modulus(other_rsa())));
    let o = c.run();
    assert_eq!(first(&o).0, "azure.ak");
    assert!(first(&o).1.contains("not HCLAkPub"));
    // The quote is signed by another key.
    let mut c = Case::new();
    c.quote = Some(rsa_quote(other_rsa(), &(0..24).collect::<Vec<_>>(), NONCE, false));
    assert_eq!(first(&c.run()).0, "tpm.signature");
    // A malformed TPMT_PUBLIC.
    let mut c = Case::new();
    if let Some(a) = c.ak_public.as_mut() {
        a.truncate(100);
    }
    assert_eq!(first(&c.run()).0, "tpm.format");
    // RSASSA-PSS from a key without a fixed scheme: accepted.
    let mut c = Case::new();
    c.ak_public = None;
    c.quote = Some(rsa_quote(rsa_ak(), &(0..24).collect::<Vec<_>>(), NONCE, true));
    let o = c.run();
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    assert_eq!(o.claims["tpm_quote"]["signature"], "rsapss-sha256");
    // ... but not when the TPM key fixes RSASSA.
    let mut c = Case::new();
    c.quote = Some(rsa_quote(rsa_ak(), &(0..24).collect::<Vec<_>>(), NONCE, true));
    assert_eq!(first(&c.run()).0, "tpm.signature");
    // An unknown TPMT_SIGNATURE algorithm.
    let mut c = Case::new();
    if let Some(q) = c.quote.as_mut() {
        q.signature[1] = 0x99;
    }
    assert_eq!(first(&c.run()).0, "tpm.signature");
}

#[test]
fn ecdsa_p256_attestation_key() {
    let rng = SystemRandom::new();
    let k = signature::EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).expect("EC key");
    let p = k.public_key().as_ref().to_vec();
    let jwk =
        format!(r#"{{"kid":"HCLAkPub","kty":"EC","crv":"P-256","x":"{}","y":"{}"}}"#, b64u(&p[1..33]), b64u(&p[33..]));
    let mut c = Case::with_claims(&claims_json(&jwk, &[0u8; 64]), 1, 0);
    c.ak_public = None;
    let vals = pcr_values(24);
    let concat: Vec<u8> = vals.concat();
    let a = Attest {
        qualified_signer: vec![],
        extra_data: NONCE.to_vec(),
        clock: 1,
        reset_count: 0,
        restart_count: 0,
        safe: true,
        firmware_version: 0,
        selection: vec![(AlgId::SHA256, (0..24).collect())],
        pcr_digest: cloud_ra_verify::crypto::sha256(&concat).to_vec(),
    };
    let attest = a.to_bytes();
    let sig = k.sign(&rng, &attest).expect("sign").as_ref().to_vec();
    let signature = Signature { scheme: 0x0018, hash: 0x000B, sig }.to_bytes();
    c.quote = Some(QuoteParts { attest, signature, pcrs: concat });
    let o = c.run();
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    assert_eq!(o.claims["ak_pub"]["kty"], "EC");
    assert_eq!(o.claims["tpm_quote"]["signature"], "ecdsa-sha256");
}

#[test]
fn fresh_report_user_data() {
    let ud: [u8; 64] = cloud_ra_verify::policy::pad64(NONCE);
    // No quote: the fresh HCL report's user-data carries the nonce.
    let mut c = Case::with_claims(&claims_json(&default_keys(), &ud), 1, 0);
    c.quote = None;
    c.nonce = None;
    c.aux = serde_json::json!({"fresh_report": true, "user_data": hex::encode(ud)});
    let o = c.run();
    assert!(o.verified, "{:?}", o.failures);
    assert_eq!(o.claims["freshness"], "hcl-user-data");
    assert_eq!(o.claims["nonce_bound"], true);
    // No quote: no PCRs are attested (a warning), unless the policy requires them.
    assert!(o.warnings.iter().any(|w| w.check == "azure.tpm_quote"), "{:?}", o.warnings);
    c.opts.policy.azure.required_pcrs = Some(vec![15]);
    assert_eq!(first(&c.run()).0, "policy.pcrs");
    c.opts.policy.azure.required_pcrs = None;
    // Another nonce.
    c.opts.nonce = Some(b"other".to_vec());
    assert_eq!(first(&c.run()).0, "policy.nonce");
    // The bundle says other bytes were written to NV 0x01400002: not the fresh report.
    let mut d = c.clone();
    d.aux = serde_json::json!({"fresh_report": true, "user_data": "ab".repeat(64)});
    assert_eq!(first(&d.run()).0, "azure.user_data");
    let mut d = c.clone();
    d.aux = serde_json::json!({"fresh_report": true, "user_data": "abcd"});
    assert_eq!(first(&d.run()).0, "bundle");
    // trustauthority-cli: user-data = SHA-512(nonce ‖ user-data input).
    let input = b"attester user data".to_vec();
    let mut m = NONCE.to_vec();
    m.extend_from_slice(&input);
    let ud = cloud_ra_verify::crypto::sha512(&m);
    let mut c = Case::with_claims(&claims_json(&default_keys(), &ud), 1, 0);
    c.quote = None;
    c.nonce = None;
    c.aux =
        serde_json::json!({"fresh_report": true, "user_data": hex::encode(ud), "user_data_input": hex::encode(&input)});
    let o = c.run();
    assert_eq!(o.claims["nonce_bound"], true, "{:?}", o.failures);
    assert_eq!(o.claims["freshness"], "hcl-user-data");
}

#[test]
fn vm_configuration_and_vmpl_policy() {
    let mut c = Case::new();
    c.opts.policy.azure.vm_configuration.insert("secure-boot".into(), ConfigValue::Bool(true));
    c.opts.policy.azure.vm_configuration.insert("tpm-enabled".into(), ConfigValue::Bool(true));
    assert_eq!(c.run().exit_code(), 0);
    c.opts.policy.azure.vm_configuration.insert("console-enabled".into(), ConfigValue::Bool(false));
    let o = c.run();
    assert_eq!(first(&o).0, "policy.vm_configuration");
    assert!(first(&o).1.contains("console-enabled"));
    let mut c = Case::new();
    c.opts.policy.azure.vm_configuration.insert("nested-virtualization".into(), ConfigValue::Bool(false));
    assert!(first(&c.run()).1.contains("has no \"nested-virtualization\""));
    // The paravisor's report is at VMPL 0.
    let o = Case::with_claims(&claims_json(&default_keys(), &[0u8; 64]), 1, 2).run();
    assert_eq!(first(&o).0, "policy.vmpl");
    // Policy parsed from TOML.
    let p = cloud_ra_verify::Policy::parse(
        "p.toml",
        "[azure]\nrequired_pcrs = [15, 16, 22]\nrequire_freshness = true\n[azure.vm_configuration]\nsecure-boot = true\nconsole-enabled = false\n[azure.pcrs]\n7 = \"00\"\n",
    )
    .expect("policy");
    assert_eq!(p.azure.required_pcrs, Some(vec![15, 16, 22]));
    assert_eq!(p.azure.vm_configuration.get("console-enabled"), Some(&ConfigValue::Bool(false)));
    assert!(cloud_ra_verify::Policy::parse("p.toml", "[azure]\nrequire_fresh = true\n").is_err());
}

#[test]
fn bundle_shape_errors() {
    let c = Case::new();
    let mut b: serde_json::Value = serde_json::from_slice(&c.bundle()).expect("json");
    b["evidence"].as_object_mut().expect("obj").remove("tpm_pcrs");
    let o = verify_evidence(b.to_string().as_bytes(), &Collateral::default(), &c.opts, None);
    assert_eq!(first(&o).0, "bundle");
    assert!(first(&o).1.contains("go together"));
    let mut b: serde_json::Value = serde_json::from_slice(&c.bundle()).expect("json");
    b["evidence"]["tpm_extra"] = serde_json::json!("AA==");
    assert_eq!(first(&verify_evidence(b.to_string().as_bytes(), &Collateral::default(), &c.opts, None)).0, "bundle");
    // A bare trustee tpm-quote JSON is not evidence on its own.
    let o = verify_evidence(br#"{"signature":"00","message":"00","pcrs":[]}"#, &Collateral::default(), &c.opts, None);
    assert_eq!(first(&o).0, "detect");
    // Trustee evidence with an unknown version.
    let o = verify_evidence(
        br#"{"version":9,"hcl_report":"","tpm_quote":{"signature":"","message":"","pcrs":[]},"vcek":""}"#,
        &Collateral::default(),
        &c.opts,
        None,
    );
    assert_eq!(first(&o).0, "azure.evidence");
}

#[test]
fn tpm_structures_round_trip_and_refuse_garbage() {
    let q = rsa_quote(rsa_ak(), &[0, 7, 15], b"n", false);
    let a = Attest::parse(&q.attest).expect("attest");
    assert_eq!(a.to_bytes(), q.attest);
    assert_eq!(a.selected().len(), 3);
    let s = Signature::parse(&q.signature).expect("sig");
    assert_eq!(s.to_bytes(), q.signature);
    let mut long = q.signature.clone();
    long.push(0);
    assert_eq!(Signature::parse(&long).expect_err("trailing").check, "tpm.format");
    for n in 0..q.attest.len() {
        assert!(Attest::parse(&q.attest[..n]).is_err());
    }
    let p = rsa_tpmt_public(&modulus(rsa_ak()));
    for n in 0..p.len() {
        assert!(AkPublic::parse(&p[..n]).is_err());
    }
    assert!(a.split_pcrs(&[0u8; 95]).is_err());
    assert!(a.split_pcrs(&[0u8; 97]).is_err());
    assert!(
        tpm::verify_quote_signed(&AkPublic::parse(&p).expect("AK"), &q.attest, &q.signature, &Default::default())
            .is_err_and(|e| e.check == "tpm.pcrs")
    );
    // Kinvolk bincode shape: lengths that lie are refused.
    let mut kb = Vec::new();
    kb.extend(300u64.to_le_bytes());
    kb.extend([0u8; 10]);
    assert!(format::kinvolk_quote(&kb).is_err());
}

#[test]
fn tpm_event_log_replays_against_the_quoted_pcrs() {
    use cloud_ra_verify::eventlog::{Flavour, parse, replay};
    // A real crypto-agile log (GCE RHEL 8, Secure Boot on); the quote vouches for its replay.
    let log_bytes = cloud_ra_sim::testdata::read("tpm/eventlogs/rhel8-uefi.bin");
    let rep = replay(&parse(&log_bytes, Flavour::Auto).expect("log")).expect("replay");
    let bank = rep.banks.get(&AlgId::SHA256).expect("sha256 bank");
    let vals: Vec<Vec<u8>> =
        (0..24u32).map(|i| bank.get(&i).map(|r| r.value.clone()).unwrap_or(vec![0u8; 32])).collect();
    let all: Vec<u32> = (0..24).collect();
    let mut c = Case::new();
    c.quote = Some(rsa_quote_over(rsa_ak(), &all, NONCE, false, &vals));
    c.eventlog = Some(log_bytes.clone());
    c.opts.policy.eventlog.require_secure_boot = Some(true);
    let mut m = std::collections::BTreeMap::new();
    m.insert("7".to_string(), OneOrMany::One(hex::encode(&vals[7])));
    c.opts.policy.eventlog.pcrs.insert("sha256".into(), m);
    let o = c.run();
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    assert_eq!(o.claims["secure_boot"], "enabled", "{}", o.claims["eventlog"]);
    // The same log given with --eventlog (not in the bundle) binds the same way.
    let mut d = c.clone();
    d.eventlog = None;
    d.opts.eventlogs.push(parse(&log_bytes, Flavour::Auto).expect("log"));
    assert_eq!(d.run().exit_code(), 0);
    // A PCR reference value the replay does not reach.
    let mut d = c.clone();
    d.opts.policy.eventlog.pcrs.get_mut("sha256").expect("bank").insert("7".into(), OneOrMany::One("00".repeat(32)));
    assert_eq!(first(&d.run()).0, "policy.eventlog.pcrs");
    // The quote says another PCR4 than the log replays to: the log does not bind.
    let mut v2 = vals.clone();
    v2[4][0] ^= 1;
    let mut d = c.clone();
    d.quote = Some(rsa_quote_over(rsa_ak(), &all, NONCE, false, &v2));
    d.opts.policy.eventlog = Default::default();
    let o = d.run();
    assert!(o.failures.iter().any(|f| f.check == "eventlog.binding" && f.detail.contains("PCR4")), "{:?}", o.failures);
    // A log that is not a log.
    let mut d = c.clone();
    d.eventlog = Some(vec![1, 2, 3]);
    assert_eq!(first(&d.run()).0, "eventlog.format");
}

#[test]
fn vcek_from_a_thim_response() {
    let sim = SimAmd::get();
    let spec = ReportBuilder::new().vek_spec(VekKind::Vcek);
    let thim = serde_json::json!({
        "vcekCert": cloud_ra_sim::pem("CERTIFICATE", &sim.vek_der(&spec)),
        "certificateChain": format!("{}{}", cloud_ra_sim::pem("CERTIFICATE", sim.ask_der()), cloud_ra_sim::pem("CERTIFICATE", sim.ark_der())),
        "tcbm": "0300000000000008",
    });
    let c = Case::new();
    let mut b: serde_json::Value = serde_json::from_slice(&c.bundle()).expect("json");
    b["certs"] = serde_json::json!([]);
    // Without any certificate: the VCEK is missing (collateral).
    let o = verify_evidence(b.to_string().as_bytes(), &Collateral::default(), &c.opts, None);
    assert_eq!(o.exit_code(), 3, "{:?}", o.failures);
    b["evidence"]["thim"] = serde_json::json!(base64::engine::general_purpose::STANDARD.encode(thim.to_string()));
    let o = verify_evidence(b.to_string().as_bytes(), &Collateral::default(), &c.opts, None);
    assert_eq!(o.exit_code(), 0, "{:?}", o.failures);
    // A THIM response that is not one.
    b["evidence"]["thim"] = serde_json::json!(base64::engine::general_purpose::STANDARD.encode("{\"vcekCert\": 1}"));
    let o = verify_evidence(b.to_string().as_bytes(), &Collateral::default(), &c.opts, None);
    assert_eq!(first(&o).0, "azure.thim");
    assert_eq!(o.exit_code(), 3);
}
