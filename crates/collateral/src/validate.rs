//! Before anything is cached or used: the body must be the collateral asked for (not an error
//! page), parse, and chain to a pinned root (AMD ARK, Intel SGX Root CA, AWS Nitro Root-G1);
//! signed documents must verify over their received bytes. Also turns cached bodies back into
//! verifier collateral.

use crate::item::{Item, KeyType};
use crate::zip;
use cloud_ra_verify::crypto::SigAlg;
use cloud_ra_verify::dcap::collateral::{DcapItem, parse_json};
use cloud_ra_verify::snp::Product;
use cloud_ra_verify::snp::format::Tcb;
use cloud_ra_verify::snp::verify::{Role, VekExtensions, check_vek_binding, pinned_ark, role_of, select_intermediate};
use cloud_ra_verify::x509::{Certificate, Crl, PkiObject, read_objects};
use cloud_ra_verify::{Check, Collateral, Error};
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

/// A body that is not the collateral asked for (an error page, the wrong shape).
fn invalid(detail: impl Into<String>) -> Error {
    Error::collateral(Check::CollateralFetch, detail)
}

/// `e` with `context` before its detail (same check and category).
fn within(context: &str, e: Error) -> Error {
    Error { detail: format!("{context}: {}", e.detail), ..e }
}

fn reject_error_page(body: &[u8], content_type: Option<&str>) -> Result<(), Error> {
    if body.is_empty() {
        return Err(invalid("empty body"));
    }
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    if ct.contains("html") {
        return Err(invalid(format!("content type '{ct}' is an error page, not collateral")));
    }
    let head: Vec<u8> = body.iter().take(64).copied().skip_while(|b| b.is_ascii_whitespace()).collect();
    let lower = String::from_utf8_lossy(&head).to_ascii_lowercase();
    if lower.starts_with("<!doctype") || lower.starts_with("<html") || lower.starts_with("<?xml") {
        return Err(invalid("the body is an HTML/XML page, not collateral"));
    }
    Ok(())
}

fn certs_of(bytes: &[u8], what: &str, check: Check) -> Result<Vec<Certificate>, Error> {
    let objs = read_objects(bytes).map_err(|e| Error::evidence(check, format!("{what}: {e}")))?;
    let mut out = Vec::new();
    for o in objs {
        match o {
            PkiObject::Certificate(c) => out.push(*c),
            PkiObject::Crl(_) => {
                return Err(Error::evidence(check, format!("{what}: holds a CRL where certificates were expected")));
            }
        }
    }
    Ok(out)
}

fn one_crl(bytes: &[u8], what: &str, check: Check) -> Result<Crl, Error> {
    let bytes = hex_text(bytes).unwrap_or_else(|| bytes.to_vec());
    let objs = read_objects(&bytes).map_err(|e| Error::evidence(check, format!("{what}: {e}")))?;
    match objs.as_slice() {
        [PkiObject::Crl(c)] => Ok((**c).clone()),
        _ => Err(Error::evidence(check, format!("{what}: expected exactly one CRL"))),
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

/// The kind of VEK an AMD item is for.
fn vek_role(key: KeyType) -> Role {
    match key {
        KeyType::Vcek => Role::Vcek,
        KeyType::Vlek => Role::Vlek,
    }
}

/// A KDS cert_chain: the intermediate of `product`/`key` and the ARK pinned by fingerprint (the
/// verifier's [`select_intermediate`] and [`pinned_ark`]), the one issued by the other, the ARK
/// self-signed.
fn check_cert_chain(certs: &[Certificate], product: Product, key: KeyType, sim: bool) -> Result<(), Error> {
    let pool: Vec<&Certificate> = certs.iter().collect();
    let (ark, _) = pinned_ark(&pool, product, None, sim).map_err(|e| within("the chain has no pinned ARK", e))?;
    let inter = select_intermediate(&pool, vek_role(key), product, None)?;
    inter.verify_issued_by(ark).map_err(|e| {
        e.into_error(Check::SnpChain, &format!("{} is not issued by the pinned {}", inter.subject_cn, ark.subject_cn))
    })?;
    ark.verify_issued_by(ark).map_err(|e| e.into_error(Check::SnpArk, "ARK self-signature"))
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

/// The context of a binding failure of a fetched VCEK.
const NOT_REQUESTED: &str =
    "the VCEK does not match the request (its hwID and TCB taken as a report's CHIP_ID and REPORTED_TCB)";

/// A VCEK for the request `product`/`hwid`/`tcb`: a VCEK, issued by the ASK of `product` that a
/// pinned ARK issued (chain selection and pinning by the verifier's [`select_intermediate`] and
/// [`pinned_ark`]), its extensions bound to the requested TCB and hwID as a report's would be
/// ([`check_vek_binding`]).
fn check_vcek(
    vcek: &Certificate,
    product: Product,
    hwid: &[u8],
    tcb: &crate::item::SnpTcb,
    pool: &[Certificate],
    sim: bool,
) -> Result<(), Error> {
    if role_of(vcek) != Role::Vcek {
        return Err(Error::evidence(Check::SnpVek, format!("'{}' is not a VCEK (CN SEV-VCEK)", vcek.subject_cn)));
    }
    let pool: Vec<&Certificate> = pool.iter().collect();
    let ask = select_intermediate(&pool, Role::Vcek, product, Some(vcek))?;
    let (ark, _) = pinned_ark(&pool, product, Some(&ask.issuer_raw), sim)?;
    ask.verify_issued_by(ark).map_err(|e| {
        e.into_error(Check::SnpChain, &format!("{} is not issued by the pinned {}", ask.subject_cn, ark.subject_cn))
    })?;
    vcek.verify_issued_by(ask)
        .map_err(|e| e.into_error(Check::SnpChain, &format!("VCEK is not issued by {}", ask.subject_cn)))?;
    let ext = VekExtensions::read(vcek)?;
    let mut chip_id = [0u8; 64];
    chip_id
        .get_mut(..hwid.len())
        .ok_or_else(|| {
            Error::usage(Check::SnpVekHwid, format!("the requested hwID is {} bytes, not 64 or 8", hwid.len()))
        })?
        .copy_from_slice(hwid);
    let reported = Tcb { fmc: tcb.fmc, bootloader: tcb.bl, tee: tcb.tee, snp: tcb.snp, microcode: tcb.ucode };
    let warnings = check_vek_binding(&ext, Role::Vcek, product, "requested", reported.encode(product), &chip_id)
        .map_err(|e| within(NOT_REQUESTED, e))?;
    // A caveat for a report (masked CHIP_ID) leaves a request unanswered.
    match warnings.into_iter().next() {
        Some(w) => Err(within(NOT_REQUESTED, w)),
        None => Ok(()),
    }
}

/// Intel issuer chain: the pinned root and a certificate named `cn` issued by it (`check` names
/// the item's check).
fn intel_chain(
    chain_pem: Option<&str>,
    cn: &str,
    header: &str,
    check: Check,
) -> Result<(Certificate, Certificate), Error> {
    let pem = chain_pem
        .ok_or_else(|| Error::collateral(check, format!("the response has no {header} header (the issuer chain)")))?;
    let certs = certs_of(pem.as_bytes(), header, check)?;
    let root = certs.iter().find(|c| c.fingerprint_hex() == intel_roots::INTEL_SGX_ROOT_CA).ok_or_else(|| {
        Error::evidence(
            check,
            format!("{header}: no Intel SGX Root CA with the pinned fingerprint {}", intel_roots::INTEL_SGX_ROOT_CA),
        )
    })?;
    root.verify_issued_by(root).map_err(|e| e.into_error(check, &format!("{header}: root self-signature")))?;
    let signer = certs
        .iter()
        .find(|c| c.subject_cn == cn)
        .ok_or_else(|| Error::evidence(check, format!("{header}: no '{cn}' certificate")))?;
    signer.verify_issued_by(root).map_err(|e| e.into_error(check, header))?;
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
/// as context (the cache's AMD chains and Intel issuer chains). An error names the check that
/// refused the body (the verifier's own for AMD chains, `collateral.fetch` for a body that is not
/// collateral at all); its detail says why.
pub fn validate(
    item: &Item,
    body: &[u8],
    content_type: Option<&str>,
    issuer_chain: Option<&str>,
    ctx: &Collateral,
) -> Result<Validity, Error> {
    validate_trusting(item, body, content_type, issuer_chain, ctx, false)
}

fn require_json(content_type: Option<&str>) -> Result<(), Error> {
    match content_type {
        Some(ct) if !ct.to_ascii_lowercase().contains("json") => {
            Err(invalid(format!("content type '{ct}' is not JSON")))
        }
        _ => Ok(()),
    }
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
) -> Result<Validity, Error> {
    reject_error_page(body, content_type)?;
    match item {
        Item::AmdCertChain { product, key } => {
            let certs = certs_of(body, "cert_chain", Check::SnpChain)?;
            if certs.len() != 2 {
                return Err(invalid(format!(
                    "cert_chain holds {} certificates; KDS answers the intermediate then the ARK",
                    certs.len()
                )));
            }
            check_cert_chain(&certs, *product, *key, sim)?;
            Ok(Validity::default())
        }
        Item::AmdVcek { product, hwid, tcb } => {
            let (vcek, extra) = if body.first() == Some(&b'{') {
                let (v, chain) = thim_pems(body).map_err(invalid)?;
                (
                    certs_of(v.as_bytes(), "THIM vcekCert", Check::SnpVek)?,
                    certs_of(chain.as_bytes(), "THIM certificateChain", Check::SnpChain)?,
                )
            } else {
                if body.first() != Some(&0x30) {
                    return Err(invalid("not a DER certificate (KDS answers the VCEK in DER)"));
                }
                (certs_of(body, "VCEK", Check::SnpVek)?, Vec::new())
            };
            let [vcek] = vcek.as_slice() else {
                return Err(invalid("expected exactly one VCEK certificate"));
            };
            check_vcek(vcek, *product, hwid, tcb, &amd_pool(ctx, &extra, sim), sim)?;
            Ok(Validity::default())
        }
        Item::AmdCrl { product, .. } => {
            if body.first() != Some(&0x30) {
                return Err(invalid("not a DER CRL (KDS answers the CRL in DER)"));
            }
            let crl = one_crl(body, "CRL", Check::SnpCrl)?;
            let pool = amd_pool(ctx, &[], sim);
            let pool: Vec<&Certificate> = pool.iter().collect();
            // Signed by the pinned (or trusted simulated) ARK it names as its issuer (the
            // verifier's pinned_ark), and fresh: a nextUpdate after thisUpdate (the window is
            // recorded with the entry).
            let (ark, _) = pinned_ark(&pool, *product, Some(&crl.issuer_raw), sim)?;
            crl.check(ark, Timestamp(crl.this_update)).map_err(|e| e.into_error(Check::SnpCrl, "CRL"))?;
            Ok(Validity { from: Some(crl.this_update), until: crl.next_update })
        }
        Item::IntelTcbInfo { tee, fmspc } => {
            require_json(content_type)?;
            let f = parse_json("TCB info", body)?;
            let [DcapItem::TcbInfo(t)] = f.items.as_slice() else {
                return Err(invalid("not an Intel TCB info body"));
            };
            if t.fmspc.as_slice() != fmspc.as_slice() || t.id() != tee.tcb_id() {
                return Err(invalid(format!(
                    "TCB info is {} for FMSPC {}, not {} for {}",
                    t.id(),
                    hex::encode_upper(t.fmspc),
                    tee.tcb_id(),
                    hex::encode_upper(fmspc)
                )));
            }
            let check = Check::DcapTcbInfo;
            let (signer, _) = intel_chain(issuer_chain, intel_roots::TCB_SIGNING_CN, "TCB-Info-Issuer-Chain", check)?;
            let key =
                signer.public_key.as_ref().ok_or_else(|| Error::evidence(check, "TCB Signing key is not supported"))?;
            key.verify(SigAlg::EcdsaP256Sha256Fixed, &t.signed.raw, &t.signed.signature)
                .map_err(|e| Error::evidence(check, format!("TCB info signature: {e}")))?;
            Ok(Validity { from: Some(t.issue_date.0), until: Some(t.next_update.0) })
        }
        Item::IntelQeIdentity { tee } => {
            require_json(content_type)?;
            let f = parse_json("QE identity", body)?;
            let [DcapItem::EnclaveIdentity(q)] = f.items.as_slice() else {
                return Err(invalid("not an Intel enclave identity body"));
            };
            if q.json.id != tee.qe_id() {
                return Err(invalid(format!("enclave identity is {}, not {}", q.json.id, tee.qe_id())));
            }
            let check = Check::DcapQeIdentity;
            let header = "SGX-Enclave-Identity-Issuer-Chain";
            let (signer, _) = intel_chain(issuer_chain, intel_roots::TCB_SIGNING_CN, header, check)?;
            let key =
                signer.public_key.as_ref().ok_or_else(|| Error::evidence(check, "TCB Signing key is not supported"))?;
            key.verify(SigAlg::EcdsaP256Sha256Fixed, &q.signed.raw, &q.signed.signature)
                .map_err(|e| Error::evidence(check, format!("QE identity signature: {e}")))?;
            Ok(Validity { from: Some(q.issue_date.0), until: Some(q.next_update.0) })
        }
        Item::IntelPckCrl { ca } => {
            let check = Check::DcapPckCrl;
            let crl = one_crl(body, "PCK CRL", check)?;
            let (ca_cert, _) = intel_chain(issuer_chain, ca.subject_cn(), "SGX-PCK-CRL-Issuer-Chain", check)?;
            crl.check(&ca_cert, Timestamp(crl.this_update)).map_err(|e| e.into_error(check, "PCK CRL"))?;
            Ok(Validity { from: Some(crl.this_update), until: crl.next_update })
        }
        Item::IntelRootCaCrl => {
            let check = Check::DcapRootCrl;
            let crl = one_crl(body, "Root CA CRL", check)?;
            let root = ctx.certs.iter().find(|c| c.fingerprint_hex() == intel_roots::INTEL_SGX_ROOT_CA).ok_or_else(|| {
                Error::collateral(
                    check,
                    "the Intel SGX Root CA is needed to check this CRL: fetch a TCB info or PCK CRL first (its issuer chain carries the root)",
                )
            })?;
            crl.check(root, Timestamp(crl.this_update)).map_err(|e| e.into_error(check, "Root CA CRL"))?;
            Ok(Validity { from: Some(crl.this_update), until: crl.next_update })
        }
        Item::AwsNitroRoot => {
            let check = Check::NitroRoot;
            let pem = aws_root_pem(body).map_err(invalid)?;
            let certs = certs_of(&pem, "AWS root", check)?;
            match certs.as_slice() {
                [c] if c.fingerprint_hex() == aws_roots::AWS_NITRO_ROOT_G1 => Ok(Validity::default()),
                [c] => Err(Error::evidence(
                    check,
                    format!(
                        "AWS root fingerprint {} is not the pinned Root-G1 {}",
                        c.fingerprint_hex(),
                        aws_roots::AWS_NITRO_ROOT_G1
                    ),
                )),
                _ => Err(invalid("expected exactly one root certificate")),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::SnpTcb;
    use cloud_ra_sim::testdata;

    fn chain(product: Product) -> Item {
        Item::AmdCertChain { product, key: KeyType::Vcek }
    }

    /// A KDS answer is refused by the verifier's own checks, named as the verifier names them.
    #[test]
    fn amd_refusals_name_the_verifiers_checks() {
        let ctx = Collateral::default();
        let milan = testdata::read("roots/amd/ask_ark_milan.pem");
        let genoa = testdata::read("roots/amd/ask_ark_genoa.pem");
        assert_eq!(validate(&chain(Product::Milan), &milan, None, None, &ctx), Ok(Validity::default()));
        let e = validate(&chain(Product::Milan), &genoa, None, None, &ctx).expect_err("Genoa as Milan");
        assert_eq!(e.check, Check::SnpArk, "{e}");
        assert!(e.detail.contains("pinned"), "{e}");
        let vlek = Item::AmdCertChain { product: Product::Milan, key: KeyType::Vlek };
        let e = validate(&vlek, &milan, None, None, &ctx).expect_err("an ASK is not an ASVK");
        assert_eq!(e.check, Check::SnpChain, "{e}");

        let der = testdata::read("snp/trustee-milan/test-vcek.der");
        let cert = Certificate::from_der(&der).expect("VCEK parses");
        let x = VekExtensions::read(&cert).expect("extensions");
        let (Some(bl), Some(tee), Some(snp), Some(ucode), Some(hwid)) = (x.bl, x.tee, x.snp, x.ucode, x.hwid.clone())
        else {
            panic!("a VCEK's extensions: {x:?}");
        };
        let tcb = SnpTcb { fmc: None, bl, tee, snp, ucode };
        let right = Item::AmdVcek { product: Product::Milan, hwid: hwid.clone(), tcb };
        assert!(validate(&right, &der, None, None, &ctx).is_ok());
        let mut other = hwid.clone();
        other[0] ^= 1;
        let e = validate(&Item::AmdVcek { product: Product::Milan, hwid: other, tcb }, &der, None, None, &ctx)
            .expect_err("another chip");
        assert_eq!(e.check, Check::SnpVekHwid, "{e}");
        let older = SnpTcb { snp: snp.wrapping_sub(1), ..tcb };
        let e = validate(
            &Item::AmdVcek { product: Product::Milan, hwid: hwid.clone(), tcb: older },
            &der,
            None,
            None,
            &ctx,
        )
        .expect_err("another TCB");
        assert_eq!(e.check, Check::SnpVekTcb, "{e}");
        let e = validate(&Item::AmdVcek { product: Product::Genoa, hwid, tcb }, &der, None, None, &ctx)
            .expect_err("another product line");
        assert_eq!(e.check, Check::SnpChain, "{e}");
    }

    #[test]
    fn simulated_crl_needs_the_simulated_ark_trusted() {
        let sim = cloud_ra_sim::SimAmd::get();
        let crl = sim.crl_der(&cloud_ra_sim::CrlSpec::new(1_700_000_000));
        let item = Item::AmdCrl { product: Product::Milan, key: KeyType::Vcek };
        let ctx = Collateral::default();
        let e = validate(&item, &crl, None, None, &ctx).expect_err("not trusted");
        assert_eq!(e.check, Check::SnpCrl, "{e}");
        let v = validate_trusting(&item, &crl, None, None, &ctx, true).expect("trusted");
        assert_eq!(v.from, Some(1_700_000_000));
    }
}
