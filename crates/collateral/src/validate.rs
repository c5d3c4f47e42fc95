//! Before anything is cached or used: the body must be the collateral asked for (not an error
//! page), parse, and chain to a pinned root (AMD ARK, Intel SGX Root CA, AWS Nitro Root-G1);
//! signed documents must verify over their received bytes. Also turns cached bodies back into
//! verifier collateral.

use crate::item::{Item, KeyType};
use crate::zip;
use cloud_ra_verify::Collateral;
use cloud_ra_verify::crypto::SigAlg;
use cloud_ra_verify::dcap::collateral::{DcapItem, parse_json};
use cloud_ra_verify::snp::verify::{Role, VekExtensions, role_of};
use cloud_ra_verify::snp::{Product, roots as amd_roots};
use cloud_ra_verify::x509::{Certificate, Crl, PkiObject, read_objects};
use cloud_ra_verify::{Timestamp, dcap::roots as intel_roots, nitro::roots as aws_roots};

/// The validity the cache records for an item version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Validity {
    pub from: Option<i64>,
    pub until: Option<i64>,
}

/// The issuer-chain response header of each Intel item (PCS API v4 names first).
pub fn issuer_chain_headers(item: &Item) -> &'static [&'static str] {
    match item {
        Item::IntelTcbInfo { .. } => &["TCB-Info-Issuer-Chain", "SGX-TCB-Info-Issuer-Chain"],
        Item::IntelQeIdentity { .. } => &["SGX-Enclave-Identity-Issuer-Chain", "Enclave-Identity-Issuer-Chain"],
        Item::IntelPckCrl { .. } => &["SGX-PCK-CRL-Issuer-Chain"],
        _ => &[],
    }
}

/// Percent-decoding of a header value (PCS URL-encodes the PEM chain).
pub fn percent_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let h = b.get(i + 1..i + 3).ok_or("truncated %-escape")?;
                let v = u8::from_str_radix(std::str::from_utf8(h).map_err(|_| "bad %-escape")?, 16)
                    .map_err(|_| "bad %-escape")?;
                out.push(v);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| "not UTF-8 after %-decoding".to_string())
}

fn reject_error_page(body: &[u8], content_type: Option<&str>) -> Result<(), String> {
    if body.is_empty() {
        return Err("empty body".into());
    }
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    if ct.contains("html") {
        return Err(format!("content type '{ct}' is an error page, not collateral"));
    }
    let head: Vec<u8> = body.iter().take(64).copied().skip_while(|b| b.is_ascii_whitespace()).collect();
    let lower = String::from_utf8_lossy(&head).to_ascii_lowercase();
    if lower.starts_with("<!doctype") || lower.starts_with("<html") || lower.starts_with("<?xml") {
        return Err("the body is an HTML/XML page, not collateral".into());
    }
    Ok(())
}

fn certs_of(bytes: &[u8], what: &str) -> Result<Vec<Certificate>, String> {
    let objs = read_objects(bytes).map_err(|e| format!("{what}: {e}"))?;
    let mut out = Vec::new();
    for o in objs {
        match o {
            PkiObject::Certificate(c) => out.push(*c),
            PkiObject::Crl(_) => return Err(format!("{what}: holds a CRL where certificates were expected")),
        }
    }
    Ok(out)
}

fn one_crl(bytes: &[u8], what: &str) -> Result<Crl, String> {
    let bytes = hex_text(bytes).unwrap_or_else(|| bytes.to_vec());
    let objs = read_objects(&bytes).map_err(|e| format!("{what}: {e}"))?;
    match objs.as_slice() {
        [PkiObject::Crl(c)] => Ok((**c).clone()),
        _ => Err(format!("{what}: expected exactly one CRL")),
    }
}

/// Hex text of DER (what some PCCS versions answer for CRLs).
fn hex_text(b: &[u8]) -> Option<Vec<u8>> {
    let t = std::str::from_utf8(b).ok()?.trim();
    if t.len() < 4 || !t.starts_with("30") || !t.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    hex::decode(t).ok()
}

/// The ARKs of `product` among `pool` whose fingerprint is pinned (and, when `sim` is set, the
/// simulated ARK, which names itself ARK-Milan like the real one).
fn pinned_arks(pool: &[Certificate], product: Product, sim: bool) -> Result<Vec<&Certificate>, String> {
    let fp = amd_roots::pinned_ark(product);
    let cn = format!("ARK-{}", product.name());
    let arks: Vec<&Certificate> = pool
        .iter()
        .filter(|c| {
            role_of(c) == Role::Ark
                && (c.fingerprint_hex() == fp
                    || (sim && c.subject_cn == cn && c.fingerprint_hex() == amd_roots::SIMULATED_ARK))
        })
        .collect();
    if arks.is_empty() {
        return Err(format!("no ARK-{} with the pinned fingerprint {fp}", product.name()));
    }
    Ok(arks)
}

/// ARK (pinned) -> intermediate of `product`/`key` among `pool`: (intermediate, its ARK).
fn amd_intermediate(
    pool: &[Certificate],
    product: Product,
    key: KeyType,
    sim: bool,
) -> Result<(&Certificate, &Certificate), String> {
    let arks = pinned_arks(pool, product, sim)?;
    let (role, cn) = match key {
        KeyType::Vcek => (Role::Ask, format!("SEV-{}", product.name())),
        KeyType::Vlek => (Role::Asvk, format!("SEV-VLEK-{}", product.name())),
    };
    let mut why = format!("no {cn} certificate");
    for c in pool.iter().filter(|c| role_of(c) == role && c.subject_cn == cn) {
        for ark in &arks {
            match c.verify_issued_by(ark) {
                Ok(()) => return Ok((c, ark)),
                Err(e) => why = format!("{cn} is not issued by the pinned ARK: {e}"),
            }
        }
    }
    Err(why)
}

/// The certificates the AMD checks may chain through: built-in ARK/ASK plus `ctx` (plus the
/// simulated ARK/ASK/ASVK when `sim`).
fn amd_pool(ctx: &Collateral, extra: &[Certificate], sim: bool) -> Vec<Certificate> {
    let mut pool: Vec<Certificate> = extra.to_vec();
    pool.extend(ctx.certs.iter().cloned());
    pool.extend(crate::builtin_amd().certs);
    if sim {
        pool.extend(crate::simulated_amd().certs);
    }
    pool
}

fn check_vcek(
    vcek: &Certificate,
    product: Product,
    hwid: &[u8],
    tcb: &crate::item::SnpTcb,
    pool: &[Certificate],
    sim: bool,
) -> Result<(), String> {
    if role_of(vcek) != Role::Vcek {
        return Err(format!("'{}' is not a VCEK (CN SEV-VCEK)", vcek.subject_cn));
    }
    // Any acceptable ASK may have issued it (real and simulated ones share their names).
    let arks = pinned_arks(pool, product, sim)?;
    let cn = format!("SEV-{}", product.name());
    let asks: Vec<&Certificate> = pool
        .iter()
        .filter(|c| role_of(c) == Role::Ask && c.subject_cn == cn)
        .filter(|c| arks.iter().any(|ark| c.verify_issued_by(ark).is_ok()))
        .collect();
    let Some(first) = asks.first() else {
        return Err(format!("no {cn} certificate issued by the pinned ARK"));
    };
    if !asks.iter().any(|ask| vcek.verify_issued_by(ask).is_ok()) {
        let e = vcek.verify_issued_by(first).err().map(|e| e.to_string()).unwrap_or_default();
        return Err(format!("VCEK is not issued by {cn}: {e}"));
    }
    let ext = VekExtensions::read(vcek).map_err(|e| e.detail)?;
    if ext.hwid.as_deref() != Some(hwid) {
        return Err(format!(
            "VCEK hwID {} is not the requested {}",
            ext.hwid.as_deref().map(hex::encode).unwrap_or_else(|| "(none)".into()),
            hex::encode(hwid)
        ));
    }
    let got = (ext.fmc, ext.bl, ext.tee, ext.snp, ext.ucode);
    let want = (tcb.fmc, Some(tcb.bl), Some(tcb.tee), Some(tcb.snp), Some(tcb.ucode));
    if got != want {
        return Err(format!("VCEK TCB extensions {got:?} are not the requested TCB {want:?}"));
    }
    if let Some(name) = &ext.product_name
        && Product::from_product_name(name) != Some(product)
    {
        return Err(format!("VCEK productName '{name}' is not {}", product.name()));
    }
    Ok(())
}

/// Intel issuer chain: the pinned root and a certificate named `cn` issued by it.
fn intel_chain(chain_pem: Option<&str>, cn: &str, header: &str) -> Result<(Certificate, Certificate), String> {
    let pem = chain_pem.ok_or_else(|| format!("the response has no {header} header (the issuer chain)"))?;
    let certs = certs_of(pem.as_bytes(), header)?;
    let root = certs.iter().find(|c| c.fingerprint_hex() == intel_roots::INTEL_SGX_ROOT_CA).ok_or_else(|| {
        format!("{header}: no Intel SGX Root CA with the pinned fingerprint {}", intel_roots::INTEL_SGX_ROOT_CA)
    })?;
    root.verify_issued_by(root).map_err(|e| format!("{header}: root self-signature: {e}"))?;
    let signer = certs.iter().find(|c| c.subject_cn == cn).ok_or_else(|| format!("{header}: no '{cn}' certificate"))?;
    signer.verify_issued_by(root).map_err(|e| format!("{header}: {e}"))?;
    Ok((signer.clone(), root.clone()))
}

/// Unpacks the AWS root: a zip holding `root.pem`, or the PEM itself.
pub fn aws_root_pem(body: &[u8]) -> Result<Vec<u8>, String> {
    if body.starts_with(b"PK\x03\x04") { zip::extract(body, "root.pem", 1 << 20) } else { Ok(body.to_vec()) }
}

/// THIM answer: `{"vcekCert": PEM, "certificateChain": PEM, "tcbm": hex, ...}`.
pub fn thim_pems(body: &[u8]) -> Result<(String, String), String> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| format!("THIM answer is not JSON: {e}"))?;
    let s = |k: &str| {
        v.get(k).and_then(|x| x.as_str()).map(String::from).ok_or_else(|| format!("THIM answer has no \"{k}\""))
    };
    Ok((s("vcekCert")?, s("certificateChain")?))
}

/// Checks a body for `item` and returns its validity. `ctx` holds certificates already trusted
/// as context (the cache's AMD chains and Intel issuer chains).
pub fn validate(
    item: &Item,
    body: &[u8],
    content_type: Option<&str>,
    issuer_chain: Option<&str>,
    ctx: &Collateral,
) -> Result<Validity, String> {
    validate_trusting(item, body, content_type, issuer_chain, ctx, false)
}

/// [`validate`], also accepting AMD collateral under the simulated ARK when `sim` is set
/// ([`crate::Config::trust_simulated`]).
pub fn validate_trusting(
    item: &Item,
    body: &[u8],
    content_type: Option<&str>,
    issuer_chain: Option<&str>,
    ctx: &Collateral,
    sim: bool,
) -> Result<Validity, String> {
    reject_error_page(body, content_type)?;
    match item {
        Item::AmdCertChain { product, key } => {
            let certs = certs_of(body, "cert_chain")?;
            if certs.len() != 2 {
                return Err(format!(
                    "cert_chain holds {} certificates; KDS answers the intermediate then the ARK",
                    certs.len()
                ));
            }
            let (_, ark) = amd_intermediate(&certs, *product, *key, sim)?;
            ark.verify_issued_by(ark).map_err(|e| format!("ARK self-signature: {e}"))?;
            Ok(Validity::default())
        }
        Item::AmdVcek { product, hwid, tcb } => {
            let (vcek, extra) = if body.first() == Some(&b'{') {
                let (v, chain) = thim_pems(body)?;
                (certs_of(v.as_bytes(), "THIM vcekCert")?, certs_of(chain.as_bytes(), "THIM certificateChain")?)
            } else {
                if body.first() != Some(&0x30) {
                    return Err("not a DER certificate (KDS answers the VCEK in DER)".into());
                }
                (certs_of(body, "VCEK")?, Vec::new())
            };
            let [vcek] = vcek.as_slice() else {
                return Err("expected exactly one VCEK certificate".into());
            };
            check_vcek(vcek, *product, hwid, tcb, &amd_pool(ctx, &extra, sim), sim)?;
            Ok(Validity::default())
        }
        Item::AmdCrl { product, .. } => {
            if body.first() != Some(&0x30) {
                return Err("not a DER CRL (KDS answers the CRL in DER)".into());
            }
            let crl = one_crl(body, "CRL")?;
            let pool = amd_pool(ctx, &[], sim);
            // Signed by an acceptable ARK (real and simulated ARKs share their name), and
            // fresh: a nextUpdate after thisUpdate (the window is recorded with the entry).
            // The error reported is that of an ARK the CRL names as its issuer, if any.
            let mut why = String::new();
            let mut named = false;
            for ark in pinned_arks(&pool, *product, sim)? {
                match crl.check(ark, Timestamp(crl.this_update)) {
                    Ok(()) => return Ok(Validity { from: Some(crl.this_update), until: crl.next_update }),
                    Err(e) if !named || ark.subject_raw == crl.issuer_raw => {
                        named = ark.subject_raw == crl.issuer_raw;
                        why = format!("CRL: {e}");
                    }
                    Err(_) => {}
                }
            }
            Err(why)
        }
        Item::IntelTcbInfo { tee, fmspc } => {
            if let Some(ct) = content_type
                && !ct.to_ascii_lowercase().contains("json")
            {
                return Err(format!("content type '{ct}' is not JSON"));
            }
            let f = parse_json("TCB info", body).map_err(|e| e.detail)?;
            let [DcapItem::TcbInfo(t)] = f.items.as_slice() else {
                return Err("not an Intel TCB info body".into());
            };
            if t.fmspc.as_slice() != fmspc.as_slice() || t.id() != tee.tcb_id() {
                return Err(format!(
                    "TCB info is {} for FMSPC {}, not {} for {}",
                    t.id(),
                    hex::encode_upper(t.fmspc),
                    tee.tcb_id(),
                    hex::encode_upper(fmspc)
                ));
            }
            let (signer, _) = intel_chain(issuer_chain, intel_roots::TCB_SIGNING_CN, "TCB-Info-Issuer-Chain")?;
            let key = signer.public_key.as_ref().ok_or("TCB Signing key is not supported")?;
            key.verify(SigAlg::EcdsaP256Sha256Fixed, &t.signed.raw, &t.signed.signature)
                .map_err(|e| format!("TCB info signature: {e}"))?;
            Ok(Validity { from: Some(t.issue_date.0), until: Some(t.next_update.0) })
        }
        Item::IntelQeIdentity { tee } => {
            if let Some(ct) = content_type
                && !ct.to_ascii_lowercase().contains("json")
            {
                return Err(format!("content type '{ct}' is not JSON"));
            }
            let f = parse_json("QE identity", body).map_err(|e| e.detail)?;
            let [DcapItem::EnclaveIdentity(q)] = f.items.as_slice() else {
                return Err("not an Intel enclave identity body".into());
            };
            if q.json.id != tee.qe_id() {
                return Err(format!("enclave identity is {}, not {}", q.json.id, tee.qe_id()));
            }
            let (signer, _) =
                intel_chain(issuer_chain, intel_roots::TCB_SIGNING_CN, "SGX-Enclave-Identity-Issuer-Chain")?;
            let key = signer.public_key.as_ref().ok_or("TCB Signing key is not supported")?;
            key.verify(SigAlg::EcdsaP256Sha256Fixed, &q.signed.raw, &q.signed.signature)
                .map_err(|e| format!("QE identity signature: {e}"))?;
            Ok(Validity { from: Some(q.issue_date.0), until: Some(q.next_update.0) })
        }
        Item::IntelPckCrl { ca } => {
            let crl = one_crl(body, "PCK CRL")?;
            let (ca_cert, _) = intel_chain(issuer_chain, ca.subject_cn(), "SGX-PCK-CRL-Issuer-Chain")?;
            crl.check(&ca_cert, Timestamp(crl.this_update)).map_err(|e| format!("PCK CRL: {e}"))?;
            Ok(Validity { from: Some(crl.this_update), until: crl.next_update })
        }
        Item::IntelRootCaCrl => {
            let crl = one_crl(body, "Root CA CRL")?;
            let root = ctx
                .certs
                .iter()
                .find(|c| c.fingerprint_hex() == intel_roots::INTEL_SGX_ROOT_CA)
                .ok_or("the Intel SGX Root CA is needed to check this CRL: fetch a TCB info or PCK CRL first (its issuer chain carries the root)")?;
            crl.check(root, Timestamp(crl.this_update)).map_err(|e| format!("Root CA CRL: {e}"))?;
            Ok(Validity { from: Some(crl.this_update), until: crl.next_update })
        }
        Item::AwsNitroRoot => {
            let pem = aws_root_pem(body)?;
            let certs = certs_of(&pem, "AWS root")?;
            match certs.as_slice() {
                [c] if c.fingerprint_hex() == aws_roots::AWS_NITRO_ROOT_G1 => Ok(Validity::default()),
                [c] => Err(format!(
                    "AWS root fingerprint {} is not the pinned Root-G1 {}",
                    c.fingerprint_hex(),
                    aws_roots::AWS_NITRO_ROOT_G1
                )),
                _ => Err("expected exactly one root certificate".into()),
            }
        }
    }
}

/// Adds a cached body (and its issuer chain) to verifier collateral.
pub fn load(
    item: &Item,
    body: &[u8],
    issuer_chain: Option<&str>,
    name: &str,
    out: &mut Collateral,
) -> Result<(), String> {
    match item {
        Item::AmdVcek { .. } if body.first() == Some(&b'{') => {
            let (v, chain) = thim_pems(body)?;
            out.add_file(name, v.as_bytes()).map_err(|e| e.detail)?;
            out.add_file(name, chain.as_bytes()).map_err(|e| e.detail)?;
        }
        Item::AwsNitroRoot => {
            out.add_file(name, &aws_root_pem(body)?).map_err(|e| e.detail)?;
        }
        Item::IntelRootCaCrl | Item::IntelPckCrl { .. } => {
            let b = hex_text(body).unwrap_or_else(|| body.to_vec());
            out.add_file(name, &b).map_err(|e| e.detail)?;
        }
        _ => {
            out.add_file(name, body).map_err(|e| e.detail)?;
        }
    }
    if let Some(chain) = issuer_chain {
        out.add_file(name, chain.as_bytes()).map_err(|e| e.detail)?;
    }
    Ok(())
}
