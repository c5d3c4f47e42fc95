//! The Intel SGX extensions of a PCK certificate (OID 1.2.840.113741.1.13.1): PPID, TCB (16 SGX
//! components, PCESVN, CPUSVN), PCE-ID, FMSPC, SGX type. A bounded DER reader: no panics on
//! malformed input, every failure names the field.

use crate::Check;
use crate::error::{Error, Result};
use crate::x509::Certificate;

pub(crate) const SGX_EXTENSION_OID: &str = "1.2.840.113741.1.13.1";
/// DER body of the OID 1.2.840.113741.1.13.1.
const SGX_OID: [u8; 9] = [0x2A, 0x86, 0x48, 0x86, 0xF8, 0x4D, 0x01, 0x0D, 0x01];

const CHECK: Check = Check::DcapPckExtensions;

fn err(detail: impl Into<String>) -> Error {
    Error::evidence(CHECK, detail)
}

/// What the PCK certificate says about the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PckExtensions {
    /// PPID (1.2.840.113741.1.13.1.1): the Platform Provisioning ID.
    pub ppid: Vec<u8>,
    /// TCB sgxTcbComp01Svn..sgxTcbComp16Svn (1.2.840.113741.1.13.1.2.1-16).
    pub sgx_tcb_components: [u8; 16],
    /// TCB pcesvn (1.2.840.113741.1.13.1.2.17): the PCE security version.
    pub pce_svn: u16,
    /// TCB cpusvn (1.2.840.113741.1.13.1.2.18): the CPUSVN (empty when absent).
    pub cpu_svn: Vec<u8>,
    /// PCE-ID (1.2.840.113741.1.13.1.3).
    pub pce_id: [u8; 2],
    /// FMSPC (1.2.840.113741.1.13.1.4): the family-model-stepping-platform-custom SKU.
    pub fmspc: [u8; 6],
    /// 0 Standard, 1 Scalable, 2 Scalable with integrity.
    pub sgx_type: Option<u32>,
}

use crate::crypto::der_tlv as tlv;

/// Iterates the elements of a constructed value.
fn elements<'a>(mut b: &'a [u8], what: &str) -> Result<Vec<(u8, &'a [u8])>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let (t, v, rest) = tlv(b).ok_or_else(|| err(format!("{what}: malformed DER element")))?;
        out.push((t, v));
        b = rest;
    }
    Ok(out)
}

fn uint(v: &[u8], what: &str) -> Result<u32> {
    if v.is_empty() || v.len() > 5 || v[0] & 0x80 != 0 {
        return Err(err(format!("{what}: not a non-negative INTEGER that fits 32 bits")));
    }
    let x = v.iter().fold(0u64, |a, &b| (a << 8) | b as u64);
    u32::try_from(x).map_err(|_| err(format!("{what}: {x} does not fit 32 bits")))
}

/// `SEQUENCE { OID, value }` → (last arcs after the SGX base OID, value TLV tag, value).
fn oid_value<'a>(seq: &'a [u8], what: &str) -> Result<(&'a [u8], u8, &'a [u8])> {
    let els = elements(seq, what)?;
    let [(0x06, oid), (tag, value)] = els.as_slice() else {
        return Err(err(format!("{what}: expected SEQUENCE {{ OID, value }}")));
    };
    let arcs =
        oid.strip_prefix(&SGX_OID[..]).ok_or_else(|| err(format!("{what}: OID is not under {SGX_EXTENSION_OID}")))?;
    Ok((arcs, *tag, value))
}

impl PckExtensions {
    /// Reads the SGX extension of a PCK certificate; PPID, TCB, PCE-ID and FMSPC are required.
    pub fn read(cert: &Certificate) -> Result<Self> {
        let ext = cert
            .extension(SGX_EXTENSION_OID)
            .ok_or_else(|| err(format!("'{}' has no SGX extension {SGX_EXTENSION_OID}", cert.subject_cn)))?;
        let (tag, body, rest) = tlv(&ext.value).ok_or_else(|| err("SGX extension: malformed DER"))?;
        if tag != 0x30 || !rest.is_empty() {
            return Err(err("SGX extension: not a single SEQUENCE"));
        }
        let mut ppid = None;
        let mut tcb = None;
        let mut pce_id = None;
        let mut fmspc = None;
        let mut sgx_type = None;
        for (t, seq) in elements(body, "SGX extension")? {
            if t != 0x30 {
                return Err(err("SGX extension: element is not a SEQUENCE"));
            }
            let (arcs, vt, v) = oid_value(seq, "SGX extension")?;
            match (arcs, vt) {
                ([1], 0x04) => ppid = Some(v.to_vec()),
                ([2], 0x30) => {
                    let mut comps = [0u8; 16];
                    let mut seen = [false; 16];
                    let mut pce_svn = None;
                    let mut cpu_svn = None;
                    for (t2, s2) in elements(v, "TCB")? {
                        if t2 != 0x30 {
                            return Err(err("TCB: element is not a SEQUENCE"));
                        }
                        let (a2, vt2, v2) = oid_value(s2, "TCB")?;
                        match (a2, vt2) {
                            ([2, n @ 1..=16], 0x02) => {
                                let i = (*n - 1) as usize;
                                let x = uint(v2, &format!("TCB.sgxTcbComp{:02}Svn", n))?;
                                comps[i] = u8::try_from(x)
                                    .map_err(|_| err(format!("TCB.sgxTcbComp{n:02}Svn {x} does not fit a byte")))?;
                                seen[i] = true;
                            }
                            ([2, 17], 0x02) => {
                                let x = uint(v2, "TCB.pcesvn")?;
                                pce_svn = Some(u16::try_from(x).map_err(|_| err(format!("TCB.pcesvn {x} > 65535")))?);
                            }
                            ([2, 18], 0x04) => cpu_svn = Some(v2.to_vec()),
                            _ => {}
                        }
                    }
                    if let Some(i) = seen.iter().position(|s| !s) {
                        return Err(err(format!("TCB: sgxTcbComp{:02}Svn is missing", i + 1)));
                    }
                    let pce_svn = pce_svn.ok_or_else(|| err("TCB: pcesvn is missing"))?;
                    tcb = Some((comps, pce_svn, cpu_svn.unwrap_or_default()));
                }
                ([3], 0x04) => {
                    pce_id =
                        Some(<[u8; 2]>::try_from(v).map_err(|_| err(format!("PCE-ID is {} bytes, not 2", v.len())))?)
                }
                ([4], 0x04) => {
                    fmspc = Some(<[u8; 6]>::try_from(v).map_err(|_| err(format!("FMSPC is {} bytes, not 6", v.len())))?)
                }
                ([5], 0x0A) => sgx_type = Some(uint(v, "SGX Type")?),
                _ => {}
            }
        }
        let (sgx_tcb_components, pce_svn, cpu_svn) = tcb.ok_or_else(|| err("SGX extension: TCB is missing"))?;
        Ok(PckExtensions {
            ppid: ppid.ok_or_else(|| err("SGX extension: PPID is missing"))?,
            sgx_tcb_components,
            pce_svn,
            cpu_svn,
            pce_id: pce_id.ok_or_else(|| err("SGX extension: PCE-ID is missing"))?,
            fmspc: fmspc.ok_or_else(|| err("SGX extension: FMSPC is missing"))?,
            sgx_type,
        })
    }
}
