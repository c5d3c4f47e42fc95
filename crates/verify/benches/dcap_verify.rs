//! DCAP verification cost against its signature floor.
//!
//! `cargo bench --workspace --locked --bench dcap_verify -- --warm-up-time 1 --measurement-time 3`
//!
//! * `floor_2x_ecdsa_p256`: the two per-quote signatures alone (QE report by the PCK key, quote by
//!   the attestation key; keys parsed once): the floor of a repeated quote (cached collateral);
//! * `{tdx,sgx}_floor_required`: every ECDSA P-256 verification an uncached quote must do, on
//!   pre-parsed keys: PCK by its CA, the CA by the root, the TCB Signing certificate by the root,
//!   the Root CA CRL and the PCK CRL, the TCB info and the QE identity, the QE report and the
//!   quote (9; the pinned root's self-signature is not among them);
//! * `{tdx,sgx}_verify_{cached,uncached}`: `dcap::verify::verify` on the dcap-qvl TDX v4 and SGX
//!   v3 quotes with their collateral already parsed, with a warmed `CollateralCache` / without;
//! * `{tdx,sgx}_from_file_uncached`: what a CLI user pays: `Collateral::add_file` on the dcap-qvl
//!   collateral JSON file, then `verify_evidence` (detection, verification, appraisal), no cache;
//! * `spr_from_files_uncached`: the same from go-tdx-guest's six separate collateral files;
//! * `{tdx,sgx}_quote_parse`, `{tdx,sgx}_add_file`: the parsing parts alone.
//!
//! The `dcap-qvl::verify` baseline is in `crates/dcap-diff` (`--bench dcap_vs_qvl`), so that
//! dcap-qvl never becomes a dependency of cloud-ra-verify.

use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_FIXED, ParsedPublicKey};
use cloud_ra_verify::dcap::collateral::DcapItem;
use cloud_ra_verify::dcap::verify::verify;
use cloud_ra_verify::dcap::{CollateralCache, DcapOptions, Quote};
use cloud_ra_verify::x509::Certificate;
use cloud_ra_verify::{Collateral, Outcome, Timestamp, VerifyOptions, verify_evidence};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

struct Vector {
    quote: Vec<u8>,
    files: Vec<(String, Vec<u8>)>,
    collateral: Collateral,
    opts: DcapOptions,
    vopts: VerifyOptions,
}

fn vector(quote: &str, files: &[&str], at: &str) -> Vector {
    let quote = cloud_ra_sim::testdata::read(quote);
    let files: Vec<(String, Vec<u8>)> =
        files.iter().map(|f| (f.to_string(), cloud_ra_sim::testdata::read(f))).collect();
    let collateral = from_files(&files);
    let at = Timestamp::parse_rfc3339(at).expect("time");
    Vector {
        quote,
        files,
        collateral,
        opts: DcapOptions { at, require_crl: true, trust_simulated: false },
        vopts: VerifyOptions::at(at),
    }
}

fn from_files(files: &[(String, Vec<u8>)]) -> Collateral {
    let mut c = Collateral::default();
    for (name, bytes) in files {
        c.add_file(name, bytes).expect("collateral parses");
    }
    c
}

fn from_file_uncached(v: &Vector) -> Outcome {
    let c = from_files(black_box(&v.files));
    verify_evidence(black_box(&v.quote), &c, &v.vopts, None)
}

/// P-256 verifications on keys parsed once: (key, message, signature).
type Floor = Vec<(ParsedPublicKey, Vec<u8>, Vec<u8>)>;

fn floor_required(v: &Vector) -> (Floor, Floor) {
    let q = Quote::parse(&v.quote).expect("quote parses");
    let chain: Vec<Certificate> = q
        .pck_certification()
        .pck_chain()
        .expect("PCK chain in the quote")
        .iter()
        .map(|d| Certificate::from_der(d).expect("certificate"))
        .collect();
    let by_cn = |cn: &str| -> Certificate {
        chain
            .iter()
            .chain(v.collateral.certs.iter())
            .find(|c| c.subject_cn.contains(cn))
            .cloned()
            .unwrap_or_else(|| panic!("{cn} supplied"))
    };
    let (pck, root, signer) = (&chain[0], by_cn("Root CA"), by_cn("TCB Signing"));
    let ca = chain.iter().find(|c| c.subject_raw == pck.issuer_raw).expect("PCK CA").clone();
    let key = |c: &Certificate, alg| {
        ParsedPublicKey::new(alg, &c.public_key.as_ref().expect("key").bytes).expect("P-256 key")
    };
    let mut asn1: Floor = Vec::new();
    for (subject, issuer) in [(pck, &ca), (&ca, &root), (&signer, &root)] {
        asn1.push((key(issuer, &ECDSA_P256_SHA256_ASN1), subject.tbs().to_vec(), subject.signature.clone()));
    }
    for crl in &v.collateral.crls {
        let issuer = if crl.issuer_raw == root.subject_raw { &root } else { &ca };
        asn1.push((key(issuer, &ECDSA_P256_SHA256_ASN1), crl.tbs().to_vec(), crl.signature.clone()));
    }
    let mut fixed: Floor = Vec::new();
    for d in &v.collateral.dcap {
        let s = match d {
            DcapItem::TcbInfo(t) => &t.signed,
            DcapItem::EnclaveIdentity(e) => &e.signed,
        };
        fixed.push((key(&signer, &ECDSA_P256_SHA256_FIXED), s.raw.clone(), s.signature.to_vec()));
    }
    fixed.push((key(pck, &ECDSA_P256_SHA256_FIXED), q.qe_report.raw.clone(), q.qe_report_signature.to_vec()));
    let mut point = vec![0x04];
    point.extend_from_slice(&q.attestation_key);
    let ak = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point).expect("attestation key");
    fixed.push((ak, q.signed_bytes().to_vec(), q.quote_signature.to_vec()));
    assert_eq!(asn1.len() + fixed.len(), 9, "9 signatures");
    (asn1, fixed)
}

fn bench(c: &mut Criterion) {
    let tdx = vector(
        "tdx/dcap-qvl-emr-v4/tdx_quote",
        &["tdx/dcap-qvl-emr-v4/tdx_quote_collateral.json"],
        "2025-07-19T10:00:34Z",
    );
    let sgx =
        vector("sgx/dcap-qvl-sgx/sgx_quote", &["sgx/dcap-qvl-sgx/sgx_quote_collateral.json"], "2025-07-19T10:01:17Z");
    let spr = vector(
        "tdx/go-tdx-guest-spr-v4/tdx_prod_quote_SPR_E4.dat",
        &[
            "tdx/go-tdx-guest-spr-v4/sample_tcbInfo_response",
            "tdx/go-tdx-guest-spr-v4/sample_qeIdentity_response",
            "tdx/go-tdx-guest-spr-v4/pckcrl",
            "tdx/go-tdx-guest-spr-v4/rootcrl.der",
            "tdx/go-tdx-guest-spr-v4/derived/tcb_info_issuer_chain.pem",
            "tdx/go-tdx-guest-spr-v4/derived/pck_crl_issuer_chain.pem",
        ],
        "2023-07-01T01:00:00Z",
    );

    // Floor of a repeated quote: the two per-quote signatures.
    let q = Quote::parse(&tdx.quote).expect("quote parses");
    let pck_der = q.pck_certification().pck_chain().and_then(|c| c.first()).expect("PCK").clone();
    let pck = Certificate::from_der(&pck_der).expect("PCK parses");
    let pck_key = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &pck.public_key.expect("key").bytes).expect("key");
    let mut point = vec![0x04];
    point.extend_from_slice(&q.attestation_key);
    let ak = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point).expect("ak");

    let mut g = c.benchmark_group("dcap");
    g.bench_function("floor_2x_ecdsa_p256", |b| {
        b.iter(|| {
            pck_key.verify_sig(black_box(&q.qe_report.raw), &q.qe_report_signature).expect("qe");
            ak.verify_sig(black_box(q.signed_bytes()), &q.quote_signature).expect("quote");
        })
    });
    for (name, v) in [("tdx", &tdx), ("sgx", &sgx)] {
        let (asn1, fixed) = floor_required(v);
        g.bench_function(format!("{name}_floor_required"), |b| {
            b.iter(|| {
                for (k, m, s) in asn1.iter().chain(fixed.iter()) {
                    k.verify_sig(black_box(m), s).expect("signature");
                }
            })
        });
        let cache = CollateralCache::new();
        verify(&v.quote, &v.collateral, &v.opts, Some(&cache)).expect("verifies");
        g.bench_function(format!("{name}_verify_cached"), |b| {
            b.iter(|| verify(black_box(&v.quote), &v.collateral, &v.opts, Some(&cache)).expect("verifies"))
        });
        g.bench_function(format!("{name}_verify_uncached"), |b| {
            b.iter(|| verify(black_box(&v.quote), &v.collateral, &v.opts, None).expect("verifies"))
        });
        let o = from_file_uncached(v);
        assert!(o.verified, "{name}: {:?}", o.failures);
        g.bench_function(format!("{name}_from_file_uncached"), |b| b.iter(|| from_file_uncached(v)));
        g.bench_function(format!("{name}_quote_parse"), |b| {
            b.iter(|| Quote::parse(black_box(&v.quote)).expect("parses"))
        });
        g.bench_function(format!("{name}_add_file"), |b| b.iter(|| from_files(black_box(&v.files))));
    }
    // go-tdx-guest's separate files (verified; the sample TCB info has no level for this PCK, so
    // the appraisal fails after every signature was checked).
    let o = from_file_uncached(&spr);
    assert!(o.verified, "{:?}", o.failures);
    g.bench_function("spr_from_files_uncached", |b| b.iter(|| from_file_uncached(&spr)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
