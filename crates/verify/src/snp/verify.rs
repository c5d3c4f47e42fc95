//! SNP verification: VEK -> ASK/ASVK -> pinned ARK, CRL, VEK extensions against the report, and
//! the report signature over the received bytes. Each failure names its check and the field.

use super::format::{CertKind, CertTableEntry, Product, Report, SigningKey, Tcb};
use super::roots;
use crate::Check;
use crate::collateral::Collateral;
use crate::crypto::SigAlg;
use crate::error::{Error, Result};
use crate::time::Timestamp;
use crate::x509::{Certificate, Crl, PkiObject, read_objects};
use aws_lc_rs::signature::ParsedPublicKey;
use std::sync::Arc;

/// AMD certificate extension OIDs (1.3.6.1.4.1.3704.1.*).
pub(crate) mod oid {
    pub(crate) const PRODUCT_NAME: &str = "1.3.6.1.4.1.3704.1.2";
    pub(crate) const BL_SPL: &str = "1.3.6.1.4.1.3704.1.3.1";
    pub(crate) const TEE_SPL: &str = "1.3.6.1.4.1.3704.1.3.2";
    pub(crate) const SNP_SPL: &str = "1.3.6.1.4.1.3704.1.3.3";
    pub(crate) const UCODE_SPL: &str = "1.3.6.1.4.1.3704.1.3.8";
    pub(crate) const FMC_SPL: &str = "1.3.6.1.4.1.3704.1.3.9";
    pub(crate) const HWID: &str = "1.3.6.1.4.1.3704.1.4";
    pub(crate) const CSP_ID: &str = "1.3.6.1.4.1.3704.1.5";
}

/// Options of one verification. `at` is the evaluation time: nothing here reads the clock.
#[derive(Debug, Clone, Copy)]
pub struct SnpOptions {
    /// The evaluation time for certificate and CRL validity.
    pub at: Timestamp,
    /// The product line the caller names (`--product`); it must agree with the report and the VEK.
    pub product: Option<Product>,
    /// Also trust cloud-ra's simulated ARK ([`roots::SIMULATED_ARK`]).
    pub trust_simulated: bool,
    /// Fail unless a CRL issued by the ARK is supplied.
    pub require_crl: bool,
}

/// The role of an AMD certificate, from its subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The AMD Root Key (subject `ARK-*`).
    Ark,
    /// The AMD SEV Key, issuer of VCEKs (subject `SEV-*`).
    Ask,
    /// The AMD SEV VLEK Key, issuer of VLEKs (subject `SEV-VLEK-*`).
    Asvk,
    /// A Versioned Chip Endorsement Key (subject `SEV-VCEK`).
    Vcek,
    /// A Versioned Loaded Endorsement Key (subject `SEV-VLEK`).
    Vlek,
    /// Any other subject.
    Unknown,
}

/// The role of `cert`, from its subject common name.
pub fn role_of(cert: &Certificate) -> Role {
    let cn = cert.subject_cn.as_str();
    match cn {
        "SEV-VCEK" => Role::Vcek,
        "SEV-VLEK" => Role::Vlek,
        _ if cn.starts_with("ARK-") => Role::Ark,
        _ if cn.starts_with("SEV-VLEK-") => Role::Asvk,
        _ if cn.starts_with("SEV-") => Role::Ask,
        _ => Role::Unknown,
    }
}

/// What the VEK's AMD extensions say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VekExtensions {
    /// productName (1.3.6.1.4.1.3704.1.2), e.g. `Milan-B0`.
    pub product_name: Option<String>,
    /// blSPL (1.3.6.1.4.1.3704.1.3.1): the boot loader security patch level.
    pub bl: Option<u8>,
    /// teeSPL (1.3.6.1.4.1.3704.1.3.2): the TEE security patch level.
    pub tee: Option<u8>,
    /// snpSPL (1.3.6.1.4.1.3704.1.3.3): the SNP firmware security patch level.
    pub snp: Option<u8>,
    /// ucodeSPL (1.3.6.1.4.1.3704.1.3.8): the microcode security patch level.
    pub ucode: Option<u8>,
    /// fmcSPL (1.3.6.1.4.1.3704.1.3.9): the FMC security patch level (Turin).
    pub fmc: Option<u8>,
    /// hwID (1.3.6.1.4.1.3704.1.4): the raw chip ID (VCEK only).
    pub hwid: Option<Vec<u8>>,
    /// cspID (1.3.6.1.4.1.3704.1.5): the cloud provider the VLEK was issued to.
    pub csp_id: Option<String>,
}

/// A DER INTEGER of any length holding 0..=255 (`02 01 xx`, `02 02 00 xx`, ...).
fn der_u8(oid: &str, v: &[u8]) -> Result<u8> {
    let bad = |why: &str| Error::evidence(Check::SnpVekExtensions, format!("extension {oid}: {why}"));
    if v.len() < 3 || v[0] != 0x02 {
        return Err(bad("not a DER INTEGER"));
    }
    let (len, body) = if v[1] < 0x80 {
        (v[1] as usize, &v[2..])
    } else {
        let n = (v[1] & 0x7F) as usize;
        if n == 0 || n > 2 || v.len() < 2 + n {
            return Err(bad("bad INTEGER length"));
        }
        let len = v[2..2 + n].iter().fold(0usize, |a, &b| (a << 8) | b as usize);
        (len, &v[2 + n..])
    };
    if len == 0 || body.len() != len {
        return Err(bad("INTEGER length does not match the extension"));
    }
    if body[0] & 0x80 != 0 {
        return Err(bad("negative INTEGER"));
    }
    let value = body.iter().fold(0u128, |a, &b| a.saturating_mul(256).saturating_add(b as u128));
    u8::try_from(value).map_err(|_| bad(&format!("value {value} does not fit a security patch level (0..=255)")))
}

/// IA5String (or UTF8String) contents.
fn der_string(oid: &str, v: &[u8]) -> Result<String> {
    let bad = || Error::evidence(Check::SnpVekExtensions, format!("extension {oid}: not a DER string"));
    if v.len() < 2 || !matches!(v[0], 0x16 | 0x0C | 0x13) || v[1] >= 0x80 || v.len() != 2 + v[1] as usize {
        return Err(bad());
    }
    String::from_utf8(v[2..].to_vec()).map_err(|_| bad())
}

impl VekExtensions {
    /// Reads the AMD extensions of a VEK certificate; a malformed one is an error.
    pub fn read(cert: &Certificate) -> Result<Self> {
        let int = |o: &str| cert.extension(o).map(|e| der_u8(o, &e.value)).transpose();
        let string = |o: &str| cert.extension(o).map(|e| der_string(o, &e.value)).transpose();
        Ok(VekExtensions {
            product_name: string(oid::PRODUCT_NAME)?,
            bl: int(oid::BL_SPL)?,
            tee: int(oid::TEE_SPL)?,
            snp: int(oid::SNP_SPL)?,
            ucode: int(oid::UCODE_SPL)?,
            fmc: int(oid::FMC_SPL)?,
            // hwID is the raw chip id, not DER (snpguest#38 panicked treating it as DER).
            hwid: cert.extension(oid::HWID).map(|e| e.value.clone()),
            csp_id: string(oid::CSP_ID)?,
        })
    }
}

/// A chain that passed every check at some time inside `valid_from..=valid_until`.
pub struct VerifiedChain {
    /// Earliest evaluation time at which every certificate and CRL of the chain is valid.
    pub valid_from: i64,
    /// Latest evaluation time at which every certificate and CRL of the chain is valid.
    pub valid_until: i64,
    /// The VCEK or VLEK certificate.
    pub vek: Certificate,
    /// The VEK's public key, parsed once for the report signatures.
    pub vek_key: ParsedPublicKey,
    /// The VEK's AMD extensions.
    pub vek_ext: VekExtensions,
    /// SHA-256 of the ARK certificate that anchors the chain.
    pub ark_sha256: [u8; 32],
    /// The ARK is cloud-ra's simulated one.
    pub simulated: bool,
    /// How many CRLs were checked.
    pub crls_checked: usize,
}

impl crate::cache::Window for VerifiedChain {
    fn valid_from(&self) -> i64 {
        self.valid_from
    }
    fn valid_until(&self) -> i64 {
        self.valid_until
    }
}

/// Validated chains keyed by the fingerprints of ARK, ASK/ASVK, VEK and CRLs. Safe to share.
pub type ChainCache = crate::cache::VerifiedCache<VerifiedChain>;

/// What a successful verification established.
pub struct VerifiedSnp {
    /// The parsed report.
    pub report: Report,
    /// The product line.
    pub product: Product,
    /// Where the product line was learnt: `report CPUID`, `VEK productName` or `--product`.
    pub product_source: &'static str,
    /// The verified chain (possibly shared through the cache).
    pub chain: Arc<VerifiedChain>,
    /// REPORTED_TCB decoded for the product line.
    pub reported_tcb: Tcb,
    /// Checks that passed with a caveat (e.g. masked CHIP_ID): each becomes a warning.
    pub warnings: Vec<Error>,
}

/// Evidence as received: the report bytes and the cert table, if any.
pub struct SnpEvidence<'a> {
    /// The ATTESTATION_REPORT bytes.
    pub report: &'a [u8],
    /// The extended-report certificate table (may be empty).
    pub cert_table: &'a [CertTableEntry],
}

/// Certificates and CRLs of the cert table, parsed.
fn table_collateral(entries: &[CertTableEntry]) -> Result<Collateral> {
    let mut c = Collateral::default();
    for e in entries {
        if e.kind == CertKind::Other {
            continue;
        }
        let objs = read_objects(&e.data)
            .map_err(|err| Error::evidence(Check::SnpCertTable, format!("{:?} entry: {err}", e.kind)))?;
        for o in objs {
            match (&o, e.kind) {
                (PkiObject::Crl(_), CertKind::Crl) | (PkiObject::Certificate(_), _) => c.add(o),
                _ => {
                    return Err(Error::evidence(Check::SnpCertTable, format!("{:?} entry holds a CRL", e.kind)));
                }
            }
        }
    }
    Ok(c)
}

/// Verifies a report. `collateral` holds every certificate and CRL the caller has; the cert table
/// of the evidence is added to it.
///
/// The steps, each a function below that names its check in any error:
/// 1. [`Report::parse`]: the report, byte-exact (`snp.format`); the certificate pool
///    (`Pool::of`): the cert table's and the caller's certificates and CRLs (`snp.cert_table`).
/// 2. `select_vek`: the VEK of the kind SIGNER_INFO names (`snp.signer`, `snp.vek`).
/// 3. `product_line`: CPUID, else the VEK's productName, else the caller's (`snp.product`).
/// 4. `select_issuers`: the ASK/ASVK of that product line and the pinned ARK (`snp.chain`,
///    `snp.ark`).
/// 5. `cached_chain`: ARK → ASK/ASVK → VEK at the evaluation time with the ARK's CRLs
///    (`snp.chain`, `snp.crl`), once per chain in the cache.
/// 6. `bind_vek`: the VEK's extensions against the report (`snp.vek_tcb`, `snp.vek_product`,
///    `snp.vek_hwid`, `snp.vek_csp_id`).
/// 7. `check_signature`: the report signature over the received bytes (`snp.signature`).
///
/// Steps 6 and 7 report every failure they find (the first names the check, the others follow it).
pub fn verify(
    ev: &SnpEvidence<'_>,
    collateral: &Collateral,
    opts: &SnpOptions,
    cache: Option<&ChainCache>,
) -> Result<VerifiedSnp> {
    // 1. Format and certificate pool.
    let report = Report::parse(ev.report)?;
    let table = if ev.cert_table.is_empty() { None } else { Some(table_collateral(ev.cert_table)?) };
    let pool = Pool::of(table.as_ref(), collateral);
    // 2. Signer.
    let (vek, want) = select_vek(&report, &pool)?;
    let vek_ext = VekExtensions::read(vek)?;
    // 3. Product line.
    let (product, product_source) = product_line(&report, &vek_ext, opts.product)?;
    // 4. Intermediate and pinned root.
    let issuers = select_issuers(&pool, vek, want, product, opts.trust_simulated)?;
    // 5. Chain and CRLs, cached.
    let chain = cached_chain(&report, &pool, vek, vek_ext, &issuers, product, opts, cache)?;
    // 6. VEK extensions against the report, 7. the signature.
    let mut failures = Vec::new();
    let mut warnings = Vec::new();
    let (tcb, chip_id) = (report.reported_tcb, &report.chip_id);
    bind_vek(&chain.vek_ext, want, product, product_source, tcb, chip_id, &mut failures, &mut warnings);
    check_signature(&report, &chain, &mut failures);
    joined(failures)?;
    let reported = Tcb::decode(report.reported_tcb, product);
    Ok(VerifiedSnp { reported_tcb: reported, report, product, product_source, chain, warnings })
}

/// Every failure as one error: the first names the check, the others follow it.
fn joined(failures: Vec<Error>) -> Result<()> {
    let mut failures = failures.into_iter();
    let Some(mut e) = failures.next() else {
        return Ok(());
    };
    let rest: Vec<String> = failures.map(|f| f.to_string()).collect();
    if !rest.is_empty() {
        e.detail = format!("{}; also {}", e.detail, rest.join("; "));
    }
    Err(e)
}

/// Every certificate and CRL a verification may use: the evidence's cert table first.
struct Pool<'a> {
    certs: Vec<&'a Certificate>,
    crls: Vec<&'a Crl>,
}

impl<'a> Pool<'a> {
    fn of(table: Option<&'a Collateral>, collateral: &'a Collateral) -> Pool<'a> {
        let tc = table.map(|t| t.certs.as_slice()).unwrap_or_default();
        let tl = table.map(|t| t.crls.as_slice()).unwrap_or_default();
        Pool {
            certs: tc.iter().chain(collateral.certs.iter()).collect(),
            crls: tl.iter().chain(collateral.crls.iter()).collect(),
        }
    }
}

/// Step 2: the VEK of the kind the report names. Several candidates (a bundle of chips, one chip
/// at several TCBs, a masked CHIP_ID): the one whose key verifies the report, then the one whose
/// hwID equals CHIP_ID. Every later check still runs on the chosen VEK.
fn select_vek<'a>(report: &Report, pool: &Pool<'a>) -> Result<(&'a Certificate, Role)> {
    let (want, other) = match report.signing_key {
        SigningKey::Vcek => (Role::Vcek, Role::Vlek),
        SigningKey::Vlek => (Role::Vlek, Role::Vcek),
        SigningKey::None => {
            return Err(Error::evidence(
                Check::SnpSigner,
                "SIGNER_INFO.SIGNING_KEY is 7 (none): the report carries no VEK signature",
            ));
        }
    };
    let candidates: Vec<&Certificate> = pool.certs.iter().copied().filter(|c| role_of(c) == want).collect();
    if candidates.is_empty() {
        if pool.certs.iter().any(|c| role_of(c) == other) {
            return Err(Error::evidence(
                Check::SnpSigner,
                format!(
                    "SIGNER_INFO.SIGNING_KEY says {} but only a {} certificate was supplied",
                    report.signing_key.name().to_uppercase(),
                    if other == Role::Vlek { "VLEK" } else { "VCEK" }
                ),
            ));
        }
        let hint = match want {
            Role::Vlek => "a VLEK cannot be fetched from AMD KDS: take it from the extended report (cert table)",
            _ => "fetch it from AMD KDS (vcek/v1/{product}/{chip_id}?blSPL..) or use the extended report",
        };
        return Err(Error::collateral(
            Check::SnpVek,
            format!(
                "no {} certificate among the evidence and collateral; {hint}",
                report.signing_key.name().to_uppercase()
            ),
        ));
    }
    let signed_by = |c: &Certificate| {
        c.public_key.as_ref().is_some_and(|k| {
            k.verify(SigAlg::EcdsaP384Sha384Fixed, report.signed_bytes(), &report.signature_fixed()).is_ok()
        })
    };
    let vek = if candidates.len() == 1 { None } else { candidates.iter().copied().find(|c| signed_by(c)) };
    let vek = vek
        .or_else(|| {
            candidates.iter().copied().find(|c| {
                VekExtensions::read(c)
                    .ok()
                    .and_then(|x| x.hwid)
                    .is_some_and(|h| !h.is_empty() && report.chip_id.starts_with(&h))
            })
        })
        .unwrap_or(candidates[0]);
    Ok((vek, want))
}

/// Step 3: the product line: CPUID (v3+), else the VEK's productName, else the caller's hint,
/// which must agree with the other two.
fn product_line(report: &Report, vek_ext: &VekExtensions, hint: Option<Product>) -> Result<(Product, &'static str)> {
    let from_name = vek_ext.product_name.as_deref().and_then(Product::from_product_name);
    let (product, product_source) = match (report.product_from_cpuid(), from_name, hint) {
        (Some(p), _, _) => (p, "report CPUID"),
        (None, Some(p), _) => (p, "VEK productName"),
        (None, None, Some(p)) => (p, "--product"),
        (None, None, None) => {
            let why = match report.cpuid {
                Some((f, m, s)) => {
                    format!("CPUID family {f:#x} model {m:#x} stepping {s:#x} is not a known product line")
                }
                None if report.chip_id_is_zero() => {
                    "a v2 report has no CPUID and its CHIP_ID is masked (all zero)".to_string()
                }
                None => "a v2 report has no CPUID fields".to_string(),
            };
            return Err(Error::usage(
                Check::SnpProduct,
                format!("{why}, and the VEK has no productName: give --product milan|genoa|turin"),
            ));
        }
    };
    if let Some(p) = hint
        && p != product
    {
        return Err(Error::evidence(
            Check::SnpProduct,
            format!("--product {} but the {product_source} says {}", p.name(), product.name()),
        ));
    }
    Ok((product, product_source))
}

/// The chain above a VEK: its intermediate and the pinned (or trusted simulated) ARK.
struct Issuers<'a> {
    inter: &'a Certificate,
    ark: &'a Certificate,
    ark_name: String,
    simulated: bool,
}

/// Step 4: the ASK (VCEK) or ASVK (VLEK) of the product line ([`select_intermediate`]) and the
/// ARK that issued it, pinned by fingerprint ([`pinned_ark`]).
fn select_issuers<'a>(
    pool: &Pool<'a>,
    vek: &Certificate,
    want: Role,
    product: Product,
    trust_simulated: bool,
) -> Result<Issuers<'a>> {
    let inter = select_intermediate(&pool.certs, want, product, Some(vek))?;
    let (ark, simulated) = pinned_ark(&pool.certs, product, Some(&inter.issuer_raw), trust_simulated)?;
    Ok(Issuers { inter, ark, ark_name: format!("ARK-{}", product.name()), simulated })
}

/// The intermediate that issues the VEKs of kind `vek` ([`Role::Vcek`] or [`Role::Vlek`]) for
/// `product` among `certs`: the ASK `SEV-{product}` or the ASVK `SEV-VLEK-{product}`. When
/// `issued` is given, the one its issuer name names, else the first (a same-named certificate of
/// another PKI, e.g. the simulated one next to AMD's, is only a fallback, so a later error names
/// the real mismatch). No signature is checked here. Fails with `snp.chain` (collateral) when
/// none is among `certs`.
pub fn select_intermediate<'a>(
    certs: &[&'a Certificate],
    vek: Role,
    product: Product,
    issued: Option<&Certificate>,
) -> Result<&'a Certificate> {
    let (inter_role, inter_name, key) = match vek {
        Role::Vlek => (Role::Asvk, format!("SEV-VLEK-{}", product.name()), "vlek"),
        _ => (Role::Ask, format!("SEV-{}", product.name()), "vcek"),
    };
    let inters: Vec<&Certificate> =
        certs.iter().copied().filter(|c| role_of(c) == inter_role && c.subject_cn == inter_name).collect();
    let named = issued.and_then(|v| inters.iter().copied().find(|c| c.subject_raw == v.issuer_raw));
    if let Some(inter) = named.or(inters.first().copied()) {
        return Ok(inter);
    }
    let wrong = certs.iter().any(|c| matches!(role_of(c), Role::Ask | Role::Asvk));
    let msg = if wrong {
        format!(
            "the {} must be issued by {inter_name}, which is not supplied (an intermediate of another kind or product line is, and is not accepted)",
            key.to_uppercase()
        )
    } else {
        format!("no {inter_name} certificate: supply AMD KDS {key}/v1/{}/cert_chain", product.name())
    };
    Err(Error::collateral(Check::SnpChain, msg))
}

/// The ARK `ARK-{product}` among `certs`, pinned by its SHA-256 fingerprint: AMD's (returned with
/// `false`), or cloud-ra's simulated ARK when `trust_simulated` (returned with `true`). When
/// `issuer` (the raw issuer name of the certificate or CRL the ARK must have signed) is the
/// subject of some candidates, only those are considered. No signature is checked here. Fails
/// with `snp.ark`: collateral when no ARK of the product line is among `certs`, evidence when
/// none of them is pinned.
pub fn pinned_ark<'a>(
    certs: &[&'a Certificate],
    product: Product,
    issuer: Option<&[u8]>,
    trust_simulated: bool,
) -> Result<(&'a Certificate, bool)> {
    let ark_name = format!("ARK-{}", product.name());
    let mut arks: Vec<&Certificate> =
        certs.iter().copied().filter(|c| role_of(c) == Role::Ark && c.subject_cn == ark_name).collect();
    if let Some(issuer) = issuer
        && arks.iter().any(|a| a.subject_raw == issuer)
    {
        arks.retain(|a| a.subject_raw == issuer);
    }
    if arks.is_empty() {
        return Err(Error::collateral(
            Check::SnpArk,
            format!("no {ark_name} certificate among the evidence and collateral"),
        ));
    }
    let pinned = roots::pinned_ark(product);
    let mut refused = Vec::new();
    for a in arks {
        let fp = a.fingerprint_hex();
        if fp == pinned {
            return Ok((a, false));
        }
        if fp == roots::SIMULATED_ARK {
            if trust_simulated {
                return Ok((a, true));
            }
            refused.push(format!("{fp} is cloud-ra's SIMULATED ARK (trusted only with --trust-simulated)"));
        } else {
            refused.push(format!("{fp} is not the pinned AMD {ark_name} ({pinned})"));
        }
    }
    Err(Error::evidence(Check::SnpArk, format!("ARK refused: {}", refused.join("; "))))
}

/// Step 5: the ARK's CRLs, and the chain validated at the evaluation time, from the cache when
/// the same certificates and CRLs were validated before and are still valid then.
#[allow(clippy::too_many_arguments)]
fn cached_chain(
    report: &Report,
    pool: &Pool<'_>,
    vek: &Certificate,
    vek_ext: VekExtensions,
    issuers: &Issuers<'_>,
    product: Product,
    opts: &SnpOptions,
    cache: Option<&ChainCache>,
) -> Result<Arc<VerifiedChain>> {
    let Issuers { inter, ark, ark_name, simulated } = issuers;
    let our_crls: Vec<&Crl> = pool.crls.iter().copied().filter(|c| c.issuer_raw == ark.subject_raw).collect();
    if opts.require_crl && our_crls.is_empty() {
        return Err(Error::collateral(
            Check::SnpCrl,
            format!(
                "policy requires a CRL and none issued by {ark_name} was supplied (AMD KDS {}/v1/{}/crl)",
                report.signing_key.name(),
                product.name()
            ),
        ));
    }
    let mut key = Vec::with_capacity(32 * (3 + our_crls.len()));
    key.extend_from_slice(&ark.sha256);
    key.extend_from_slice(&inter.sha256);
    key.extend_from_slice(&vek.sha256);
    for c in &our_crls {
        key.extend_from_slice(&c.sha256);
    }
    let key = crate::crypto::sha256(&key);
    if let Some(ch) = cache.and_then(|c| c.get_valid(&key, opts.at)) {
        return Ok(ch);
    }
    let ch = Arc::new(validate_chain(ark, inter, vek, vek_ext, &our_crls, *simulated, opts.at)?);
    if let Some(c) = cache {
        c.insert(key, ch.clone());
    }
    Ok(ch)
}

/// Step 6 on its own: the AMD extensions of a VEK of kind `vek` ([`Role::Vcek`] or
/// [`Role::Vlek`]) against the REPORTED_TCB (raw, in the layout of `product`) and CHIP_ID a report
/// carries or a KDS request names (a VCEK's hwID must be CHIP_ID: on Turin its first 8 bytes,
/// followed by zeros). `product_source` says where the product line was learnt, for the messages.
/// Every failure is reported in one error (the first names the check: `snp.vek_tcb`,
/// `snp.vek_product`, `snp.vek_hwid` or `snp.vek_csp_id`); the caveats (an all-zero, masked
/// CHIP_ID) are returned as warnings.
pub fn check_vek_binding(
    ext: &VekExtensions,
    vek: Role,
    product: Product,
    product_source: &str,
    reported_tcb: u64,
    chip_id: &[u8; 64],
) -> Result<Vec<Error>> {
    let mut failures = Vec::new();
    let mut warnings = Vec::new();
    bind_vek(ext, vek, product, product_source, reported_tcb, chip_id, &mut failures, &mut warnings);
    joined(failures)?;
    Ok(warnings)
}

/// Step 6: the VEK's AMD extensions against the report: TCB components, product name, hwID
/// (VCEK) or CSP_ID (VLEK). A masked CHIP_ID is a warning, not a failure.
#[allow(clippy::too_many_arguments)]
fn bind_vek(
    ext: &VekExtensions,
    want: Role,
    product: Product,
    product_source: &str,
    reported_tcb: u64,
    chip_id: &[u8; 64],
    failures: &mut Vec<Error>,
    warnings: &mut Vec<Error>,
) {
    let reported = &Tcb::decode(reported_tcb, product);
    let mut tcb_pairs = vec![
        ("blSPL", "bootloader", ext.bl, reported.bootloader),
        ("teeSPL", "tee", ext.tee, reported.tee),
        ("snpSPL", "snp", ext.snp, reported.snp),
        ("ucodeSPL", "microcode", ext.ucode, reported.microcode),
    ];
    if let Some(fmc) = reported.fmc {
        tcb_pairs.insert(0, ("fmcSPL", "fmc", ext.fmc, fmc));
    }
    for (ext_name, comp, cert_v, rep_v) in tcb_pairs {
        match cert_v {
            None => failures.push(Error::evidence(
                Check::SnpVekTcb,
                format!("VEK lacks the {ext_name} extension, so REPORTED_TCB.{comp} cannot be bound"),
            )),
            Some(v) if v != rep_v => failures.push(Error::evidence(
                Check::SnpVekTcb,
                format!("REPORTED_TCB.{comp} is {rep_v} but the VEK {ext_name} extension is {v}"),
            )),
            _ => {}
        }
    }
    if Tcb::reserved_nonzero(reported_tcb, product) {
        failures.push(Error::evidence(
            Check::SnpVekTcb,
            format!("REPORTED_TCB {reported_tcb:#018x} has non-zero reserved bytes for the {} layout", product.name()),
        ));
    }
    if let Some(name) = &ext.product_name
        && Product::from_product_name(name) != Some(product)
    {
        failures.push(Error::evidence(
            Check::SnpVekProduct,
            format!("VEK productName '{name}' is not the {} product line ({product_source})", product.name()),
        ));
    }
    if want != Role::Vcek {
        if ext.csp_id.is_none() {
            failures.push(Error::evidence(Check::SnpVekCspId, "VLEK lacks the CSP_ID extension"));
        }
        return;
    }
    let hw_len = if product.turin_layout() { 8 } else { 64 };
    match &ext.hwid {
        None => failures.push(Error::evidence(Check::SnpVekHwid, "VCEK lacks the hwID extension")),
        Some(h) if h.len() != hw_len => failures.push(Error::evidence(
            Check::SnpVekHwid,
            format!("VCEK hwID is {} bytes; {} uses {hw_len}", h.len(), product.name()),
        )),
        Some(_) if chip_id.iter().all(|&b| b == 0) => warnings.push(Error::evidence(
            Check::SnpVekHwid,
            "CHIP_ID is masked (all zero): the VCEK hwID binding cannot be checked (the VCEK signature still binds the chip)",
        )),
        Some(h) => {
            let tail_ok = chip_id[hw_len..].iter().all(|&b| b == 0);
            if chip_id[..hw_len] != h[..] || !tail_ok {
                failures.push(Error::evidence(
                    Check::SnpVekHwid,
                    format!("CHIP_ID {} is not the VCEK hwID {}", hex::encode(chip_id), hex::encode(h)),
                ));
            }
        }
    }
}

/// Step 7: the report's ECDSA P-384 signature over bytes 0x000..0x2A0 as received.
fn check_signature(report: &Report, chain: &VerifiedChain, failures: &mut Vec<Error>) {
    if chain.vek_key.verify_sig(report.signed_bytes(), &report.signature_fixed()).is_err() {
        failures.push(Error::evidence(
            Check::SnpSignature,
            format!(
                "ECDSA P-384/SHA-384 signature at 0x2A0 does not verify over bytes 0x000..0x2A0 with the {} '{}'",
                report.signing_key.name().to_uppercase(),
                chain.vek.subject_cn
            ),
        ));
    }
}

/// Validates ARK (self-signed; pinning is the caller's job) -> ASK/ASVK -> VEK at `at`, with the
/// ARK's CRLs; returns the VEK key parsed once for the report signatures.
pub fn validate_chain(
    ark: &Certificate,
    inter: &Certificate,
    vek: &Certificate,
    vek_ext: VekExtensions,
    crls: &[&Crl],
    simulated: bool,
    at: Timestamp,
) -> Result<VerifiedChain> {
    let chain_err = |d: String| Error::evidence(Check::SnpChain, d);
    for c in [ark, inter, vek] {
        c.check_critical_extensions().map_err(|e| chain_err(e.into()))?;
        c.check_validity(at).map_err(|e| chain_err(e.into()))?;
    }
    if !ark.is_self_issued() {
        return Err(Error::evidence(Check::SnpArk, format!("'{}' is not self-issued", ark.subject)));
    }
    // A pinned AMD ARK is trusted as its exact bytes (its SHA-256 is pinned): its self-signature
    // is a property of those bytes, checked once by the test `pinned_arks_are_self_signed`, not
    // per report. Any other ARK (the simulated one, or a caller's) is checked here.
    let pinned = super::roots::PINNED_ARKS.iter().any(|(_, fp)| ark.fingerprint_hex() == *fp);
    if !pinned {
        ark.verify_issued_by(ark).map_err(|e| Error::evidence(Check::SnpArk, format!("ARK self-signature: {e}")))?;
    }
    inter.verify_issued_by(ark).map_err(|e| chain_err(e.into()))?;
    vek.verify_issued_by(inter).map_err(|e| chain_err(e.into()))?;
    if vek.is_ca {
        return Err(chain_err(format!("VEK '{}' is a CA certificate", vek.subject_cn)));
    }
    for (c, name) in [(ark, "ARK"), (inter, "ASK/ASVK")] {
        if c.sig_alg != Some(SigAlg::RsaPssSha384) {
            return Err(chain_err(format!("{name} is not signed with RSASSA-PSS/SHA-384 ({})", c.sig_alg_oid)));
        }
    }
    let mut from = ark.not_before.max(inter.not_before).max(vek.not_before);
    let mut until = ark.not_after.min(inter.not_after).min(vek.not_after);
    for crl in crls {
        crl.check(ark, at).map_err(|e| e.into_error(Check::SnpCrl, ""))?;
        for (c, name) in [(inter, "ASK/ASVK"), (vek, "VEK")] {
            if crl.is_revoked(&c.serial) {
                return Err(Error::evidence(
                    Check::SnpCrl,
                    format!("{name} '{}' serial {} is revoked by the ARK's CRL", c.subject_cn, hex::encode(&c.serial)),
                ));
            }
        }
        from = from.max(crl.this_update);
        until = until.min(crl.next_update.unwrap_or(i64::MIN).saturating_sub(1));
    }
    let key = vek.public_key.as_ref().ok_or_else(|| chain_err("VEK public key is not supported".into()))?;
    let vek_key = key
        .parsed(SigAlg::EcdsaP384Sha384Fixed)
        .map_err(|e| chain_err(format!("VEK public key: {e} (an ECDSA P-384 key is required)")))?;
    Ok(VerifiedChain {
        valid_from: from,
        valid_until: until,
        vek: vek.clone(),
        vek_key,
        vek_ext,
        ark_sha256: ark.sha256,
        simulated,
        crls_checked: crls.len(),
    })
}
