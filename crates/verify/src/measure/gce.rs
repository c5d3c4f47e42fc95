//! Google Compute Engine launch endorsements: the signed reference values Google publishes for
//! each Confidential VM UEFI build (`gs://gce_tcb_integrity/ovmf_x64_csm/<digest>.binarypb`).
//!
//! Format (google/gce-tcb-verifier `proto/endorsement.proto`, package `cloud_vmm_proto`):
//! `VMLaunchEndorsement { bytes serialized_uefi_golden = 1; bytes signature = 2; }`, the golden
//! bytes a `VMGoldenMeasurement { google.protobuf.Timestamp timestamp = 1; uint64 cl_spec = 2;
//! bytes commit = 3; bytes cert = 4 (DER of the signing key's certificate); bytes digest = 5
//! (SHA-384 of the UEFI image); bytes ca_bundle = 6 (PEM, root … final intermediate);
//! VMSevSnp sev_snp = 7; VMTdx tdx = 8; }`, with `VMSevSnp { uint32 svn = 1;
//! map<uint32, bytes> measurements = 2 (vCPU count → 48-byte MEASUREMENT); bytes family_id = 3;
//! bytes image_id = 4; uint64 policy = 5; bytes ca_bundle = 6; }` and `VMTdx { uint32 svn = 1;
//! repeated Measurement measurements = 2; }`, `Measurement { uint32 ram_gib = 1;
//! bool early_accept = 2; bytes mrtd = 3; }`.
//!
//! Verification (gce-tcb-verifier `verify/verify.go`, `sign/ops/verify.go`): the golden
//! measurement's `cert` must chain to a root the caller trusts at the evaluation time, and
//! `signature` must be its RSASSA-PSS SHA-256 (MGF1-SHA-256, salt = 32) signature over the
//! serialized golden bytes exactly as received. The protobuf is read with the strict wire-format
//! reader of [`crate::tpm::gotpm`]; every error names the message, the field and the byte offset
//! in the file (check `measure.endorsement`).

use crate::Check;
use crate::crypto::{KeyKind, SigAlg};
use crate::error::{Error, Result};
use crate::time::Timestamp;
use crate::tpm::gotpm::{Field, Reader, WireValue};
use crate::x509::{Certificate, PkiObject, read_objects};
use serde::Serialize;
use std::collections::BTreeMap;

/// Largest endorsement accepted (real ones are a few KiB).
pub(crate) const MAX_ENDORSEMENT: usize = 1 << 20;
/// Longest certificate chain followed from the signer to a root.
const MAX_CHAIN: usize = 8;
/// More entries than this is not an endorsement.
const MAX_ENTRIES: usize = 1024;

fn err(d: impl Into<String>) -> Error {
    Error::evidence(Check::MeasureEndorsement, d)
}

/// The reader's errors, under this module's check.
fn remap(e: Error) -> Error {
    err(e.detail)
}

fn fields<'a>(b: &'a [u8], base: usize, what: &'static str) -> Result<Vec<Field<'a>>> {
    Reader::new(b, base, what).fields().map_err(remap)
}

fn bytes<'a>(what: &str, f: &Field<'a>) -> Result<&'a [u8]> {
    match f.value {
        WireValue::Bytes(b) => Ok(b),
        v => Err(err(format!(
            "{what} at offset {}: field {} has wire type {}, expected 2 (length-delimited)",
            f.offset,
            f.number,
            v.wire_type()
        ))),
    }
}

fn varint(what: &str, f: &Field<'_>) -> Result<u64> {
    match f.value {
        WireValue::Varint(v) => Ok(v),
        v => Err(err(format!(
            "{what} at offset {}: field {} has wire type {}, expected 0 (varint)",
            f.offset,
            f.number,
            v.wire_type()
        ))),
    }
}

fn uint32(what: &str, f: &Field<'_>) -> Result<u32> {
    let v = varint(what, f)?;
    u32::try_from(v)
        .map_err(|_| err(format!("{what} at offset {}: field {} value {v} does not fit uint32", f.offset, f.number)))
}

fn once<T>(what: &str, f: &Field<'_>, slot: &mut Option<T>, v: T) -> Result<()> {
    if slot.is_some() {
        return Err(err(format!(
            "{what} at offset {}: field {} is given twice (a singular field)",
            f.offset, f.number
        )));
    }
    *slot = Some(v);
    Ok(())
}

fn fixed48(what: &str, name: &str, f: &Field<'_>, b: &[u8]) -> Result<[u8; 48]> {
    b.try_into().map_err(|_| {
        err(format!("{what} at offset {}: {name} (field {}) is {} bytes, expected 48", f.offset, f.number, b.len()))
    })
}

/// `VMSevSnp`: the SEV-SNP reference values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SevSnp {
    /// Google's security version number of this UEFI on SEV-SNP.
    pub svn: u32,
    /// Launch MEASUREMENT by number of VMSAs (vCPUs) at launch.
    pub measurements: BTreeMap<u32, [u8; 48]>,
    /// The UUID Google uses for its CVM UEFIs (the report's FAMILY_ID when an ID block is used).
    pub family_id: Vec<u8>,
    /// The UUID of this release (the report's IMAGE_ID).
    pub image_id: Vec<u8>,
    /// The launch policy verifiers should expect.
    pub policy: u64,
    /// PEM certificates of the ID/author keys, when used.
    pub ca_bundle: Vec<u8>,
    /// Field numbers present but not in the schema (skipped).
    pub unknown_fields: Vec<u32>,
}

/// One `VMTdx.Measurement`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TdxMrtd {
    /// RAM of the VM in GiB this MRTD is for.
    pub ram_gib: u32,
    /// All memory accepted by the firmware (no EFI_UNACCEPTED_MEMORY).
    pub early_accept: bool,
    /// The MRTD (hex).
    pub mrtd: String,
}

/// `VMTdx`: the TDX reference values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tdx {
    /// Google's security version number of this UEFI on TDX.
    pub svn: u32,
    /// MRTDs of the legal configurations.
    pub measurements: Vec<TdxMrtd>,
    /// Field numbers present but not in the schema (skipped).
    pub unknown_fields: Vec<u32>,
}

/// `VMGoldenMeasurement`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoldenMeasurement {
    /// Build time: (seconds, nanos) of the `google.protobuf.Timestamp`.
    pub timestamp: Option<(i64, i32)>,
    /// The changelist the UEFI was built from.
    pub cl_spec: u64,
    /// The commit hash the UEFI was built from.
    pub commit: Vec<u8>,
    /// DER certificate of the signing key.
    pub cert: Vec<u8>,
    /// SHA-384 of the UEFI image.
    pub digest: Vec<u8>,
    /// PEM certificates, root … final intermediate.
    pub ca_bundle: Vec<u8>,
    /// SEV-SNP reference values, when endorsed for SNP.
    pub sev_snp: Option<SevSnp>,
    /// TDX reference values, when endorsed for TDX.
    pub tdx: Option<Tdx>,
    /// Field numbers present but not in the schema (skipped).
    pub unknown_fields: Vec<u32>,
}

/// A parsed `VMLaunchEndorsement`: the golden measurement's bytes as received (what is signed),
/// the signature and the decoded golden measurement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchEndorsement {
    /// `serialized_uefi_golden`, byte for byte.
    pub golden_bytes: Vec<u8>,
    /// `signature`.
    pub signature: Vec<u8>,
    /// The decoded golden measurement.
    pub golden: GoldenMeasurement,
}

fn parse_timestamp(b: &[u8], base: usize) -> Result<(i64, i32)> {
    const W: &str = "google.protobuf.Timestamp";
    let (mut s, mut n) = (None, None);
    for f in fields(b, base, W)? {
        match f.number {
            1 => once(W, &f, &mut s, varint(W, &f)? as i64)?,
            2 => once(W, &f, &mut n, varint(W, &f)? as i64 as i32)?,
            _ => {}
        }
    }
    Ok((s.unwrap_or(0), n.unwrap_or(0)))
}

fn parse_snp(b: &[u8], base: usize) -> Result<SevSnp> {
    const W: &str = "VMSevSnp";
    let mut s = SevSnp::default();
    let (mut svn, mut fam, mut img, mut pol, mut ca) = (None, None, None, None, None);
    for f in fields(b, base, W)? {
        match f.number {
            1 => once(W, &f, &mut svn, uint32(W, &f)?)?,
            2 => {
                const E: &str = "VMSevSnp.MeasurementsEntry";
                let (mut k, mut v) = (None, None);
                for g in fields(bytes(W, &f)?, f.value_offset, E)? {
                    match g.number {
                        1 => once(E, &g, &mut k, uint32(E, &g)?)?,
                        2 => {
                            let d = bytes(E, &g)?;
                            once(E, &g, &mut v, fixed48(E, "measurement", &g, d)?)?
                        }
                        _ => {}
                    }
                }
                let k = k.unwrap_or(0);
                let v = v.ok_or_else(|| {
                    err(format!("{E} at offset {}: the entry for {k} VMSAs has no measurement", f.offset))
                })?;
                if s.measurements.insert(k, v).is_some() {
                    return Err(err(format!("{W} at offset {}: {k} VMSAs endorsed twice", f.offset)));
                }
                if s.measurements.len() > MAX_ENTRIES {
                    return Err(err(format!("{W}: more than {MAX_ENTRIES} measurements")));
                }
            }
            3 => once(W, &f, &mut fam, bytes(W, &f)?.to_vec())?,
            4 => once(W, &f, &mut img, bytes(W, &f)?.to_vec())?,
            5 => once(W, &f, &mut pol, varint(W, &f)?)?,
            6 => once(W, &f, &mut ca, bytes(W, &f)?.to_vec())?,
            n => s.unknown_fields.push(n),
        }
    }
    s.svn = svn.unwrap_or(0);
    s.family_id = fam.unwrap_or_default();
    s.image_id = img.unwrap_or_default();
    s.policy = pol.unwrap_or(0);
    s.ca_bundle = ca.unwrap_or_default();
    Ok(s)
}

fn parse_tdx(b: &[u8], base: usize) -> Result<Tdx> {
    const W: &str = "VMTdx";
    let mut t = Tdx::default();
    let mut svn = None;
    for f in fields(b, base, W)? {
        match f.number {
            1 => once(W, &f, &mut svn, uint32(W, &f)?)?,
            2 => {
                const M: &str = "VMTdx.Measurement";
                let (mut ram, mut ea, mut mrtd) = (None, None, None);
                for g in fields(bytes(W, &f)?, f.value_offset, M)? {
                    match g.number {
                        1 => once(M, &g, &mut ram, uint32(M, &g)?)?,
                        2 => once(M, &g, &mut ea, varint(M, &g)? != 0)?,
                        3 => {
                            let d = bytes(M, &g)?;
                            once(M, &g, &mut mrtd, fixed48(M, "mrtd", &g, d)?)?
                        }
                        _ => {}
                    }
                }
                let mrtd = mrtd.ok_or_else(|| err(format!("{M} at offset {}: no mrtd (field 3)", f.value_offset)))?;
                t.measurements.push(TdxMrtd {
                    ram_gib: ram.unwrap_or(0),
                    early_accept: ea.unwrap_or(false),
                    mrtd: hex::encode(mrtd),
                });
                if t.measurements.len() > MAX_ENTRIES {
                    return Err(err(format!("{W}: more than {MAX_ENTRIES} measurements")));
                }
            }
            n => t.unknown_fields.push(n),
        }
    }
    t.svn = svn.unwrap_or(0);
    Ok(t)
}

fn parse_golden(b: &[u8], base: usize) -> Result<GoldenMeasurement> {
    const W: &str = "VMGoldenMeasurement";
    let mut g = GoldenMeasurement::default();
    let (mut ts, mut cl, mut commit, mut cert, mut digest, mut ca, mut snp, mut tdx) =
        (None, None, None, None, None, None, None, None);
    for f in fields(b, base, W)? {
        match f.number {
            1 => once(W, &f, &mut ts, parse_timestamp(bytes(W, &f)?, f.value_offset)?)?,
            2 => once(W, &f, &mut cl, varint(W, &f)?)?,
            3 => once(W, &f, &mut commit, bytes(W, &f)?.to_vec())?,
            4 => once(W, &f, &mut cert, bytes(W, &f)?.to_vec())?,
            5 => once(W, &f, &mut digest, bytes(W, &f)?.to_vec())?,
            6 => once(W, &f, &mut ca, bytes(W, &f)?.to_vec())?,
            7 => once(W, &f, &mut snp, parse_snp(bytes(W, &f)?, f.value_offset)?)?,
            8 => once(W, &f, &mut tdx, parse_tdx(bytes(W, &f)?, f.value_offset)?)?,
            n => g.unknown_fields.push(n),
        }
    }
    g.timestamp = ts;
    g.cl_spec = cl.unwrap_or(0);
    g.commit = commit.unwrap_or_default();
    g.cert = cert.ok_or_else(|| err(format!("{W} at offset {base}: no signing certificate (field 4, cert)")))?;
    g.digest = digest.unwrap_or_default();
    if !g.digest.is_empty() && g.digest.len() != 48 {
        return Err(err(format!("{W}: digest (field 5) is {} bytes, expected 48 (SHA-384)", g.digest.len())));
    }
    g.ca_bundle = ca.unwrap_or_default();
    g.sev_snp = snp;
    g.tdx = tdx;
    Ok(g)
}

/// Parses a `VMLaunchEndorsement` (no signature or certificate check: see [`verify`]).
pub fn parse(b: &[u8]) -> Result<LaunchEndorsement> {
    const W: &str = "VMLaunchEndorsement";
    if b.len() > MAX_ENDORSEMENT {
        return Err(err(format!("{W}: {} bytes, larger than the {MAX_ENDORSEMENT} accepted", b.len())));
    }
    let (mut golden, mut sig) = (None, None);
    for f in fields(b, 0, W)? {
        match f.number {
            1 => once(W, &f, &mut golden, (bytes(W, &f)?, f.value_offset))?,
            2 => once(W, &f, &mut sig, bytes(W, &f)?.to_vec())?,
            _ => {}
        }
    }
    let (gb, off) = golden.ok_or_else(|| err(format!("{W}: no serialized_uefi_golden (field 1)")))?;
    let signature = sig.ok_or_else(|| err(format!("{W}: no signature (field 2)")))?;
    let golden = parse_golden(gb, off)?;
    Ok(LaunchEndorsement { golden_bytes: gb.to_vec(), signature, golden })
}

/// Certificates from a PEM bundle or a DER/PEM file (CRLs are refused).
pub fn certificates(what: &str, b: &[u8]) -> Result<Vec<Certificate>> {
    let objs = read_objects(b).map_err(|e| Error::usage(Check::MeasureInput, format!("{what}: {e}")))?;
    objs.into_iter()
        .map(|o| match o {
            PkiObject::Certificate(c) => Ok(*c),
            PkiObject::Crl(_) => Err(Error::usage(Check::MeasureInput, format!("{what}: a CRL, not a certificate"))),
        })
        .collect()
}

fn chain_err(e: crate::x509::X509Error, subject: &str) -> Error {
    let mut e = e.into_error(Check::MeasureEndorsement, &format!("endorsement signer chain at '{subject}'"));
    e.category = crate::error::Category::Evidence;
    e
}

/// Verifies `signer` up to one of `roots` at `at` through `intermediates` (the endorsement's
/// `ca_bundle`; never trusted as roots): every certificate in its validity period, issued by the
/// next (CA, keyCertSign, signature), no unknown critical extension. Returns the chain's subjects,
/// signer first, root last.
pub fn verify_chain(
    signer: &Certificate,
    intermediates: &[Certificate],
    roots: &[Certificate],
    at: Timestamp,
) -> Result<Vec<String>> {
    if roots.is_empty() {
        return Err(Error::usage(Check::MeasureInput, "no root certificate given (--root)"));
    }
    let mut chain = vec![signer.subject.clone()];
    let mut cur = signer.clone();
    for _ in 0..MAX_CHAIN {
        cur.check_validity(at).map_err(|e| chain_err(e, &cur.subject))?;
        cur.check_critical_extensions().map_err(|e| chain_err(e, &cur.subject))?;
        if roots.iter().any(|r| r.sha256 == cur.sha256) {
            return Ok(chain);
        }
        if let Some(r) = roots.iter().find(|r| r.subject_raw == cur.issuer_raw) {
            cur.verify_issued_by(r).map_err(|e| chain_err(e, &cur.subject))?;
            r.check_validity(at).map_err(|e| chain_err(e, &r.subject))?;
            chain.push(r.subject.clone());
            return Ok(chain);
        }
        let Some(next) = intermediates.iter().find(|c| c.subject_raw == cur.issuer_raw && c.sha256 != cur.sha256)
        else {
            return Err(err(format!(
                "endorsement signer chain: no issuer '{}' of '{}' among the {} given root(s) and the {} ca_bundle certificate(s)",
                cur.issuer,
                cur.subject,
                roots.len(),
                intermediates.len()
            )));
        };
        cur.verify_issued_by(next).map_err(|e| chain_err(e, &cur.subject))?;
        chain.push(next.subject.clone());
        cur = next.clone();
    }
    Err(err(format!("endorsement signer chain: longer than {MAX_CHAIN} certificates")))
}

/// The signing certificate, as the output names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignerInfo {
    /// Subject DN.
    pub subject: String,
    /// Validity start (RFC 3339).
    pub not_before: String,
    /// Validity end (RFC 3339).
    pub not_after: String,
    /// SHA-256 of the DER.
    pub sha256: String,
}

/// The SNP part of a verified endorsement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnpValues {
    /// Security version number.
    pub svn: u32,
    /// Launch policy (hex).
    pub policy: String,
    /// FAMILY_ID (hex).
    pub family_id: String,
    /// IMAGE_ID (hex).
    pub image_id: String,
    /// MEASUREMENT (hex) by vCPU count, the selected ones.
    pub measurements: BTreeMap<u32, String>,
    /// Every vCPU count the endorsement covers.
    pub endorsed_vcpus: Vec<u32>,
}

/// The TDX part of a verified endorsement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TdxValues {
    /// Security version number.
    pub svn: u32,
    /// MRTDs by configuration.
    pub measurements: Vec<TdxMrtd>,
}

/// A verified endorsement: what it endorses and who signed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndorsedValues {
    /// SHA-384 of the endorsed UEFI image (hex).
    pub uefi_digest: String,
    /// Build time (RFC 3339), when given.
    pub timestamp: Option<String>,
    /// Changelist number.
    pub cl_spec: u64,
    /// Build commit (hex).
    pub commit: String,
    /// The signing certificate.
    pub signer: SignerInfo,
    /// Subjects from the signer to the trusted root.
    pub chain: Vec<String>,
    /// The evaluation time (RFC 3339).
    pub verified_at: String,
    /// SEV-SNP values, when endorsed.
    pub snp: Option<SnpValues>,
    /// TDX values, when endorsed.
    pub tdx: Option<TdxValues>,
}

/// Parses the endorsement, verifies its signer to `roots` at `at` and its RSASSA-PSS SHA-256
/// signature over the golden bytes, and returns the endorsed values. `vcpus` selects SNP
/// measurements (empty = all; a count the endorsement does not cover is an error).
pub fn verify(b: &[u8], roots: &[Certificate], at: Timestamp, vcpus: &[u32]) -> Result<EndorsedValues> {
    let e = parse(b)?;
    let g = &e.golden;
    let signer = Certificate::from_der(&g.cert)
        .map_err(|x| err(format!("VMGoldenMeasurement cert (field 4) is not a certificate: {x}")))?;
    let intermediates = if g.ca_bundle.is_empty() {
        Vec::new()
    } else {
        certificates("VMGoldenMeasurement ca_bundle (field 6)", &g.ca_bundle).map_err(|x| err(x.detail))?
    };
    let chain = verify_chain(&signer, &intermediates, roots, at)?;
    if let Some(ku) = signer.key_usage
        && ku & 1 == 0
    {
        return Err(err(format!("endorsement signer '{}': keyUsage lacks digitalSignature", signer.subject)));
    }
    let key = signer.public_key.as_ref().filter(|k| k.kind == KeyKind::Rsa).ok_or_else(|| {
        err(format!("endorsement signer '{}' has no RSA key (RSASSA-PSS is required)", signer.subject))
    })?;
    key.verify(SigAlg::RsaPssSha256, &e.golden_bytes, &e.signature).map_err(|x| {
        err(format!(
            "VMLaunchEndorsement signature (field 2, {} bytes) over serialized_uefi_golden does not verify with '{}' (RSASSA-PSS SHA-256): {x}",
            e.signature.len(),
            signer.subject
        ))
    })?;
    let snp = match &g.sev_snp {
        Some(s) => {
            let mut m = BTreeMap::new();
            for v in vcpus {
                let d = s.measurements.get(v).ok_or_else(|| {
                    Error::usage(
                        Check::MeasureInput,
                        format!(
                            "the endorsement has no SNP measurement for {v} vCPUs (it covers {:?})",
                            s.measurements.keys().collect::<Vec<_>>()
                        ),
                    )
                })?;
                m.insert(*v, hex::encode(d));
            }
            if vcpus.is_empty() {
                m = s.measurements.iter().map(|(k, d)| (*k, hex::encode(d))).collect();
            }
            Some(SnpValues {
                svn: s.svn,
                policy: format!("{:#x}", s.policy),
                family_id: hex::encode(&s.family_id),
                image_id: hex::encode(&s.image_id),
                measurements: m,
                endorsed_vcpus: s.measurements.keys().copied().collect(),
            })
        }
        None if !vcpus.is_empty() => {
            return Err(Error::usage(Check::MeasureInput, "--vcpus given, but the endorsement has no SEV-SNP part"));
        }
        None => None,
    };
    Ok(EndorsedValues {
        uefi_digest: hex::encode(&g.digest),
        timestamp: g.timestamp.map(|(s, _)| Timestamp(s).to_rfc3339()),
        cl_spec: g.cl_spec,
        commit: hex::encode(&g.commit),
        signer: SignerInfo {
            subject: signer.subject.clone(),
            not_before: Timestamp(signer.not_before).to_rfc3339(),
            not_after: Timestamp(signer.not_after).to_rfc3339(),
            sha256: signer.fingerprint_hex(),
        },
        chain,
        verified_at: at.to_rfc3339(),
        snp,
        tdx: g.tdx.as_ref().map(|t| TdxValues { svn: t.svn, measurements: t.measurements.clone() }),
    })
}
