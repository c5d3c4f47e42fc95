//! [`Tpm`] in pure Rust: TPM 2.0 commands marshalled by hand (TCG TPM 2.0 Library, Part 2
//! structures, Part 3 commands) for exactly what cloud-ra does, sent through a
//! [`crate::tcti`] transport. Commands: GetCapability (handles, TPM properties), NV_ReadPublic,
//! NV_Read and NV_Write in chunks of TPM_PT_NV_BUFFER_MAX, NV_DefineSpace, ReadPublic, PCR_Read
//! (at most 8 digests per answer, so in rounds), Quote, CreatePrimary with the TCG EK templates
//! (EK Credential Profile L-1 RSA-2048, L-2 ECC P-256), StartAuthSession + PolicySecret
//! (TPM_RH_ENDORSEMENT) for the EK's policy, Create/Load of an AK under the EK, EvictControl,
//! FlushContext. Authorisation is the empty password (TPM_RS_PW) or that policy session.
//!
//! Every response is parsed whole with bounds checks: a truncated answer, a wrong tag, a length
//! that runs past the end, or trailing bytes are an error naming the command and the field. A
//! response code is decoded (format-one with its parameter, handle or session number, or
//! format-zero error/warning) and named (`TPM_RC_NV_DEFINED`, ...). No resource manager is
//! assumed: every transient object and session created here is flushed before the call returns,
//! on success and on every error path, including an answer that fails to parse after its handle.

use crate::tcti::{DeviceTransport, TcpTransport, TctiConf, Transport};
use crate::tpm::{
    EK_POLICY_A_SHA256, EK_POLICY_B_SHA256, EkRange, KeyAlg, NvInfo, PcrSelection, PublicInfo, Quote, Tpm, TpmError,
};
use cloud_ra_verify::eventlog::AlgId;

const ST_NO_SESSIONS: u16 = 0x8001;
const ST_SESSIONS: u16 = 0x8002;

const TPM_RS_PW: u32 = 0x4000_0009;
const TPM_RH_OWNER: u32 = 0x4000_0001;
const TPM_RH_NULL: u32 = 0x4000_0007;
const TPM_RH_ENDORSEMENT: u32 = 0x4000_000B;

const CC_EVICT_CONTROL: u32 = 0x120;
const CC_NV_DEFINE_SPACE: u32 = 0x12A;
const CC_CREATE_PRIMARY: u32 = 0x131;
const CC_NV_WRITE: u32 = 0x137;
const CC_NV_READ: u32 = 0x14E;
const CC_POLICY_SECRET: u32 = 0x151;
const CC_CREATE: u32 = 0x153;
const CC_LOAD: u32 = 0x157;
const CC_QUOTE: u32 = 0x158;
const CC_FLUSH_CONTEXT: u32 = 0x165;
const CC_NV_READ_PUBLIC: u32 = 0x169;
const CC_READ_PUBLIC: u32 = 0x173;
const CC_START_AUTH_SESSION: u32 = 0x176;
const CC_GET_CAPABILITY: u32 = 0x17A;
const CC_PCR_READ: u32 = 0x17E;

const CAP_HANDLES: u32 = 1;
const CAP_TPM_PROPERTIES: u32 = 6;
const PT_NV_BUFFER_MAX: u32 = 0x100 + 44;

const ALG_RSA: u16 = 0x0001;
const ALG_AES: u16 = 0x0006;
const ALG_SHA256: u16 = 0x000B;
const ALG_NULL: u16 = 0x0010;
const ALG_RSASSA: u16 = 0x0014;
const ALG_RSAPSS: u16 = 0x0016;
const ALG_ECDSA: u16 = 0x0018;
const ALG_ECC: u16 = 0x0023;
const ALG_CFB: u16 = 0x0043;
const ECC_NIST_P256: u16 = 0x0003;

/// TPMA_OBJECT of the TCG EK templates L-1/L-2: fixedTPM, fixedParent, sensitiveDataOrigin,
/// adminWithPolicy, restricted, decrypt; the high-range H-1/H-2 add userWithAuth.
const EK_ATTRIBUTES: u32 = 0x0003_00B2;
/// TPMA_OBJECT of the AK: fixedTPM, fixedParent, sensitiveDataOrigin, userWithAuth,
/// restricted, sign (what tss-esapi's `create_ak` made, so existing AKs classify the same).
const AK_ATTRIBUTES: u32 = 0x0005_0072;
const ATTR_USER_WITH_AUTH: u32 = 1 << 6;

const NV_OWNERWRITE: u32 = 1 << 1;
const NV_AUTHWRITE: u32 = 1 << 2;
const NV_OWNERREAD: u32 = 1 << 17;
const NV_AUTHREAD: u32 = 1 << 18;

/// TPM_RC_HANDLE for handle 1: the object or index is not there.
const RC_HANDLE_1: u32 = 0x18B;
/// Warnings after which the same command is sent again.
const RC_RETRY: u32 = 0x922;
const RC_YIELDED: u32 = 0x908;
const RC_TESTING: u32 = 0x90A;

/// At most this many quote attempts when the PCRs change between Quote and PCR_Read.
const QUOTE_ATTEMPTS: usize = 3;
/// TPM2B_MAX_NV_BUFFER's upper bound in the reference implementation.
const NV_BUFFER_CEILING: usize = 2048;

// ---------------------------------------------------------------------------------------------
// Response codes (Part 2, 6.6).

fn fmt1_name(n: u32) -> Option<&'static str> {
    Some(match n {
        0x01 => "ASYMMETRIC",
        0x02 => "ATTRIBUTES",
        0x03 => "HASH",
        0x04 => "VALUE",
        0x05 => "HIERARCHY",
        0x07 => "KEY_SIZE",
        0x08 => "MGF",
        0x09 => "MODE",
        0x0A => "TYPE",
        0x0B => "HANDLE",
        0x0C => "KDF",
        0x0D => "RANGE",
        0x0E => "AUTH_FAIL",
        0x0F => "NONCE",
        0x10 => "PP",
        0x12 => "SCHEME",
        0x15 => "SIZE",
        0x16 => "SYMMETRIC",
        0x17 => "TAG",
        0x18 => "SELECTOR",
        0x1A => "INSUFFICIENT",
        0x1B => "SIGNATURE",
        0x1C => "KEY",
        0x1D => "POLICY_FAIL",
        0x1F => "INTEGRITY",
        0x20 => "TICKET",
        0x21 => "RESERVED_BITS",
        0x22 => "BAD_AUTH",
        0x23 => "EXPIRED",
        0x24 => "POLICY_CC",
        0x25 => "BINDING",
        0x26 => "CURVE",
        0x27 => "ECC_POINT",
        _ => return None,
    })
}

fn ver1_name(n: u32) -> Option<&'static str> {
    Some(match n {
        0x00 => "INITIALIZE",
        0x01 => "FAILURE",
        0x03 => "SEQUENCE",
        0x0B => "PRIVATE",
        0x19 => "HMAC",
        0x20 => "DISABLED",
        0x21 => "EXCLUSIVE",
        0x24 => "AUTH_TYPE",
        0x25 => "AUTH_MISSING",
        0x26 => "POLICY",
        0x27 => "PCR",
        0x28 => "PCR_CHANGED",
        0x2D => "UPGRADE",
        0x2E => "TOO_MANY_CONTEXTS",
        0x2F => "AUTH_UNAVAILABLE",
        0x30 => "REBOOT",
        0x31 => "UNBALANCED",
        0x42 => "COMMAND_SIZE",
        0x43 => "COMMAND_CODE",
        0x44 => "AUTHSIZE",
        0x45 => "AUTH_CONTEXT",
        0x46 => "NV_RANGE",
        0x47 => "NV_SIZE",
        0x48 => "NV_LOCKED",
        0x49 => "NV_AUTHORIZATION",
        0x4A => "NV_UNINITIALIZED",
        0x4B => "NV_SPACE",
        0x4C => "NV_DEFINED",
        0x50 => "BAD_CONTEXT",
        0x51 => "CPHASH",
        0x52 => "PARENT",
        0x53 => "NEEDS_TEST",
        0x54 => "NO_RESULT",
        0x55 => "SENSITIVE",
        _ => return None,
    })
}

fn warn_name(n: u32) -> Option<&'static str> {
    Some(match n {
        0x01 => "CONTEXT_GAP",
        0x02 => "OBJECT_MEMORY",
        0x03 => "SESSION_MEMORY",
        0x04 => "MEMORY",
        0x05 => "SESSION_HANDLES",
        0x06 => "OBJECT_HANDLES",
        0x07 => "LOCALITY",
        0x08 => "YIELDED",
        0x09 => "CANCELED",
        0x0A => "TESTING",
        0x10..=0x16 => [
            "REFERENCE_H0",
            "REFERENCE_H1",
            "REFERENCE_H2",
            "REFERENCE_H3",
            "REFERENCE_H4",
            "REFERENCE_H5",
            "REFERENCE_H6",
        ][(n - 0x10) as usize],
        0x18..=0x1E => [
            "REFERENCE_S0",
            "REFERENCE_S1",
            "REFERENCE_S2",
            "REFERENCE_S3",
            "REFERENCE_S4",
            "REFERENCE_S5",
            "REFERENCE_S6",
        ][(n - 0x18) as usize],
        0x20 => "NV_RATE",
        0x21 => "LOCKOUT",
        0x22 => "RETRY",
        0x23 => "NV_UNAVAILABLE",
        _ => return None,
    })
}

/// What a response code means, as one phrase: `TPM_RC_HANDLE (0x018b, format-one error 0x0b,
/// handle 1)`, `TPM_RC_NV_DEFINED (0x014c, format-zero error)`, plus a hint for the usual ones.
pub fn describe_rc(rc: u32) -> String {
    let layer = rc >> 16;
    if layer != 0 {
        let who = match layer {
            11 => "the resource manager",
            10 => "the TCTI",
            _ => "a TSS layer",
        };
        return format!("response code {rc:#010x} from {who} (layer {layer}), not from the TPM: {:#06x}", rc & 0xFFFF);
    }
    let (name, how) = if rc & 0x80 != 0 {
        let n = rc & 0x3F;
        let name = fmt1_name(n).map(str::to_string).unwrap_or_else(|| format!("format-one error {n:#04x}"));
        let num = (rc >> 8) & 0xF;
        let which = if rc & 0x40 != 0 {
            format!("parameter {num}")
        } else if rc & 0x800 != 0 {
            format!("session {}", num & 7)
        } else if num & 7 == 0 {
            "no handle named".to_string()
        } else {
            format!("handle {}", num & 7)
        };
        (name, format!("format-one error {n:#04x}, {which}"))
    } else if rc & 0x100 == 0 {
        return format!("response code {rc:#06x} (a TPM 1.2 code: is this a TPM 2.0?)");
    } else if rc & 0x400 != 0 {
        return format!("response code {rc:#06x} (vendor-defined)");
    } else if rc & 0x800 != 0 {
        let n = rc & 0x7F;
        let name = warn_name(n).map(str::to_string).unwrap_or_else(|| format!("warning {n:#04x}"));
        (name, "format-zero warning".to_string())
    } else {
        let n = rc & 0x7F;
        let name = ver1_name(n).map(str::to_string).unwrap_or_else(|| format!("error {n:#04x}"));
        (name, "format-zero error".to_string())
    };
    let name = if name.starts_with("format") || name.starts_with("error") || name.starts_with("warning") {
        name
    } else {
        format!("TPM_RC_{name}")
    };
    // Format-one codes without their parameter/handle/session number.
    let bare = if rc & 0x80 != 0 { rc & 0xBF } else { rc & 0xFFF };
    let hint = match bare {
        0x902 => ": out of object slots (transient objects left loaded and no resource manager?)",
        0x903 => ": out of session slots",
        0x921 => ": the TPM is in dictionary-attack lockout",
        0x14C => ": the NV index is already defined",
        0x14B => ": no NV space left",
        0x14A => ": the NV index was never written",
        0x149 => ": the index does not allow this authorisation",
        0x146 => ": offset/size outside the NV index",
        0x8E | 0xA2 => ": wrong authorisation value (cloud-ra uses the empty password)",
        0x9D => ": the policy session does not satisfy the object's policy",
        0x85 => ": the hierarchy is disabled",
        _ => "",
    };
    format!("{name} ({rc:#06x}, {how}){hint}")
}

// ---------------------------------------------------------------------------------------------
// Marshalling.

#[derive(Default)]
struct W(Vec<u8>);

impl W {
    fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend(v.to_be_bytes());
        self
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend(v.to_be_bytes());
        self
    }
    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }
    /// A TPM2B of `b` (callers bound `b` far below 64 KiB).
    fn tpm2b(&mut self, b: &[u8]) -> &mut Self {
        self.u16(b.len().min(u16::MAX as usize) as u16);
        self.bytes(b)
    }
}

/// Bounds-checked reader of one command's response, naming the command and field on failure.
struct R<'a> {
    op: &'a str,
    b: &'a [u8],
    pos: usize,
    /// Offset of `b` within the whole response (for messages).
    base: usize,
}

impl<'a> R<'a> {
    fn new(op: &'a str, b: &'a [u8], base: usize) -> Self {
        R { op, b, pos: 0, base }
    }
    fn err(&self, field: &str, msg: String) -> TpmError {
        TpmError::Invalid(format!("TPM2_{} answered a malformed response: {field} {msg}", self.op))
    }
    fn take(&mut self, n: usize, field: &str) -> Result<&'a [u8], TpmError> {
        let left = self.b.len() - self.pos;
        match self.pos.checked_add(n).and_then(|e| self.b.get(self.pos..e)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(self.err(
                field,
                format!("needs {n} bytes at offset {}, only {left} left (truncated)", self.base + self.pos),
            )),
        }
    }
    fn u8(&mut self, field: &str) -> Result<u8, TpmError> {
        Ok(self.take(1, field)?[0])
    }
    fn u16(&mut self, field: &str) -> Result<u16, TpmError> {
        let s = self.take(2, field)?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }
    fn u32(&mut self, field: &str) -> Result<u32, TpmError> {
        let s = self.take(4, field)?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn tpm2b(&mut self, field: &str) -> Result<&'a [u8], TpmError> {
        let n = self.u16(field)? as usize;
        self.take(n, field)
    }
    /// What CreatePrimary and Create return after the public area: creationData, creationHash and
    /// creationTicket, read (bounds-checked) and not used.
    fn creation_outputs(&mut self) -> Result<(), TpmError> {
        self.tpm2b("creationData")?;
        self.tpm2b("creationHash")?;
        self.u16("creationTicket.tag")?;
        self.u32("creationTicket.hierarchy")?;
        self.tpm2b("creationTicket.digest")?;
        Ok(())
    }
    fn end(&self) -> Result<(), TpmError> {
        if self.pos != self.b.len() {
            return Err(self.err(
                "parameters",
                format!("end at offset {}; {} trailing bytes", self.base + self.pos, self.b.len() - self.pos),
            ));
        }
        Ok(())
    }
    fn offset(&self) -> usize {
        self.pos
    }
}

/// How a command's one authorised handle is authorised.
#[derive(Clone, Copy)]
enum Auth {
    /// The empty password.
    Password,
    /// A policy session (satisfied by PolicySecret): used once, then the TPM flushes it.
    Policy(u32),
}

/// One PCR value: (bank, index) and its digest.
type PcrValue = ((AlgId, u32), Vec<u8>);

/// A successful response: returned handles and the parameter area.
struct Response {
    handles: Vec<u32>,
    params: Vec<u8>,
    /// Offset of `params` in the response (for messages).
    params_at: usize,
}

impl Response {
    fn reader<'a>(&'a self, op: &'a str) -> R<'a> {
        R::new(op, &self.params, self.params_at)
    }
}

fn marshal_command(cc: u32, handles: &[u32], auths: &[Auth], params: &[u8]) -> Vec<u8> {
    let mut w = W::default();
    w.u16(if auths.is_empty() { ST_NO_SESSIONS } else { ST_SESSIONS }).u32(0).u32(cc);
    for h in handles {
        w.u32(*h);
    }
    if !auths.is_empty() {
        let mut a = W::default();
        for auth in auths {
            match auth {
                Auth::Password => a.u32(TPM_RS_PW).tpm2b(&[]).u8(0).tpm2b(&[]),
                // continueSession clear: the TPM flushes the session once the command succeeds.
                Auth::Policy(s) => a.u32(*s).tpm2b(&[]).u8(0).tpm2b(&[]),
            };
        }
        w.u32(a.0.len() as u32).bytes(&a.0);
    }
    w.bytes(params);
    let size = (w.0.len() as u32).to_be_bytes();
    w.0[2..6].copy_from_slice(&size);
    w.0
}

fn hash_ok(a: AlgId) -> Result<u16, TpmError> {
    match a {
        AlgId::SHA1 | AlgId::SHA256 | AlgId::SHA384 | AlgId::SHA512 => Ok(a.0),
        other => Err(TpmError::Invalid(format!("PCR bank {} is not supported", other.name()))),
    }
}

/// TPML_PCR_SELECTION.
fn marshal_pcr_selection(w: &mut W, sel: &[(AlgId, Vec<u32>)]) -> Result<(), TpmError> {
    w.u32(sel.len() as u32);
    for (alg, idx) in sel {
        w.u16(hash_ok(*alg)?);
        let mut bits = [0u8; 3];
        for &i in idx {
            let byte =
                bits.get_mut((i / 8) as usize).ok_or_else(|| TpmError::Invalid(format!("PCR {i} does not exist")))?;
            *byte |= 1 << (i % 8);
        }
        w.u8(3).bytes(&bits);
    }
    Ok(())
}

/// TPML_PCR_SELECTION from a response.
fn parse_pcr_selection(r: &mut R, field: &str) -> Result<Vec<(AlgId, Vec<u32>)>, TpmError> {
    let count = r.u32(field)?;
    if count > 16 {
        return Err(r.err(field, format!("count {count} is more than 16 banks")));
    }
    let mut out = Vec::new();
    for _ in 0..count {
        let alg = AlgId(r.u16(field)?);
        let n = r.u8(field)? as usize;
        if n > 32 {
            return Err(r.err(field, format!("sizeofSelect {n} is more than 32")));
        }
        let bits = r.take(n, field)?;
        let idx = (0..n as u32 * 8).filter(|i| bits[(i / 8) as usize] & (1 << (i % 8)) != 0).collect();
        out.push((alg, idx));
    }
    Ok(out)
}

/// Length of the TPMT_SIGNATURE at the reader's position (which is advanced past it).
fn skip_signature(r: &mut R) -> Result<(), TpmError> {
    let alg = r.u16("TPMT_SIGNATURE.sigAlg")?;
    match alg {
        ALG_NULL => {}
        ALG_RSASSA | ALG_RSAPSS => {
            r.u16("TPMT_SIGNATURE.hash")?;
            r.tpm2b("TPMT_SIGNATURE.sig")?;
        }
        ALG_ECDSA | 0x001A | 0x001B | 0x001C => {
            r.u16("TPMT_SIGNATURE.hash")?;
            r.tpm2b("TPMT_SIGNATURE.signatureR")?;
            r.tpm2b("TPMT_SIGNATURE.signatureS")?;
        }
        other => return Err(r.err("TPMT_SIGNATURE.sigAlg", format!("{other:#06x} is not a signature algorithm"))),
    }
    Ok(())
}

/// TPMT_PUBLIC of a TCG default EK template (EK Credential Profile 2.x: L-1 / L-2 in the low
/// range, H-1 / H-2 in the high range).
fn ek_template(alg: KeyAlg, range: EkRange) -> Vec<u8> {
    let (attrs, policy, zeros) = match range {
        EkRange::Low => (EK_ATTRIBUTES, &EK_POLICY_A_SHA256, true),
        EkRange::High => (EK_ATTRIBUTES | ATTR_USER_WITH_AUTH, &EK_POLICY_B_SHA256, false),
    };
    let mut w = W::default();
    match alg {
        KeyAlg::Rsa2048 => {
            w.u16(ALG_RSA).u16(ALG_SHA256).u32(attrs).tpm2b(policy);
            w.u16(ALG_AES).u16(128).u16(ALG_CFB).u16(ALG_NULL).u16(2048).u32(0);
            w.tpm2b(if zeros { &[0u8; 256] } else { &[] });
        }
        KeyAlg::EccP256 => {
            w.u16(ALG_ECC).u16(ALG_SHA256).u32(attrs).tpm2b(policy);
            w.u16(ALG_AES).u16(128).u16(ALG_CFB).u16(ALG_NULL).u16(ECC_NIST_P256).u16(ALG_NULL);
            let u: &[u8] = if zeros { &[0u8; 32] } else { &[] };
            w.tpm2b(u).tpm2b(u);
        }
    }
    w.0
}

/// TPMT_PUBLIC of an AK: restricted signing key, RSASSA-SHA256 (RSA-2048) or ECDSA-SHA256 (P-256).
fn ak_template(alg: KeyAlg) -> Vec<u8> {
    let mut w = W::default();
    match alg {
        KeyAlg::Rsa2048 => {
            w.u16(ALG_RSA).u16(ALG_SHA256).u32(AK_ATTRIBUTES).tpm2b(&[]);
            w.u16(ALG_NULL).u16(ALG_RSASSA).u16(ALG_SHA256).u16(2048).u32(0).tpm2b(&[]);
        }
        KeyAlg::EccP256 => {
            w.u16(ALG_ECC).u16(ALG_SHA256).u32(AK_ATTRIBUTES).tpm2b(&[]);
            w.u16(ALG_NULL).u16(ALG_ECDSA).u16(ALG_SHA256).u16(ECC_NIST_P256).u16(ALG_NULL).tpm2b(&[]).tpm2b(&[]);
        }
    }
    w.0
}

/// TPM2B_SENSITIVE_CREATE with an empty userAuth and no data; TPM2B_DATA outsideInfo empty;
/// TPML_PCR_SELECTION creationPCR empty.
fn creation_params(w: &mut W, template: &[u8]) {
    w.u16(4).u16(0).u16(0);
    w.tpm2b(template);
    w.u16(0);
    w.u32(0);
}

fn persistent(h: u32) -> Result<(), TpmError> {
    if (0x8100_0000..=0x81FF_FFFF).contains(&h) {
        Ok(())
    } else {
        Err(TpmError::Invalid(format!("{h:#010x} is not a persistent handle")))
    }
}

fn nv_handle(index: u32) -> Result<(), TpmError> {
    if index >> 24 == 0x01 {
        Ok(())
    } else {
        Err(TpmError::Invalid(format!("{index:#010x} is not an NV index handle")))
    }
}

// ---------------------------------------------------------------------------------------------

/// A TPM reached through a TCTI (see [`crate::tcti`]), spoken to in pure Rust.
pub struct TpmClient {
    t: Box<dyn Transport>,
    tcti: String,
    nv_buffer_max: usize,
    warning: Option<String>,
}

impl TpmClient {
    /// Connects through `tcti` (see [`crate::tpm::default_tcti`]). A TCTI that does not parse, a
    /// missing device, a refused connection, or a first command (GetCapability) that fails is
    /// [`TpmError::Unavailable`].
    pub fn open(tcti: &str) -> Result<TpmClient, TpmError> {
        let unavailable = |detail: String| TpmError::Unavailable { tcti: tcti.to_string(), detail };
        let conf = TctiConf::parse(tcti).map_err(unavailable)?;
        let mut warning = None;
        let mut name = tcti.to_string();
        let t: Box<dyn Transport> = match &conf {
            TctiConf::Device(path) => {
                let mut path = path.clone();
                if path == "/dev/tpmrm0"
                    && !std::path::Path::new(&path).exists()
                    && std::path::Path::new("/dev/tpm0").exists()
                {
                    warning = Some(
                        "/dev/tpmrm0 (the kernel resource manager) is absent: using /dev/tpm0 directly; transient objects are then this process's to flush, and another TPM user at the same time can break it".to_string(),
                    );
                    path = "/dev/tpm0".into();
                    name = "device:/dev/tpm0".into();
                }
                match std::fs::metadata(&path) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        return Err(unavailable(format!(
                            "{path} does not exist (no TPM, or its driver is not loaded: `modprobe tpm_crb` / `tpm_tis`; on Azure CVMs the vTPM is always present)"
                        )));
                    }
                    Err(e) => return Err(unavailable(format!("{path}: {e}"))),
                    Ok(_) => {}
                }
                Box::new(
                    DeviceTransport::open(&path).map_err(|e| {
                        unavailable(format!("{path}: {e} (run as root or add the user to the tss group)"))
                    })?,
                )
            }
            TctiConf::Swtpm { host, port } | TctiConf::Mssim { host, port } => {
                let framed = matches!(conf, TctiConf::Mssim { .. });
                let what = if framed { "the TPM simulator" } else { "swtpm" };
                Box::new(
                    TcpTransport::connect(host, *port, framed)
                        .map_err(|e| unavailable(format!("{host}:{port}: {e} (is {what} running?)")))?,
                )
            }
        };
        let mut tpm = TpmClient { t, tcti: name, nv_buffer_max: 1024, warning };
        let max =
            tpm.tpm_property(PT_NV_BUFFER_MAX).map_err(|e| unavailable(format!("the first command failed: {e}")))?;
        tpm.nv_buffer_max = (max as usize).clamp(64, NV_BUFFER_CEILING);
        Ok(tpm)
    }

    /// Why this connection is less than the user asked for (`/dev/tpm0` instead of `/dev/tpmrm0`).
    pub fn warning(&self) -> Option<&str> {
        self.warning.as_deref()
    }

    /// Sends one command; `Ok(Err(rc))` is a response code. Parses the header, `n_handles`
    /// returned handles, the parameter area and the session area. An answer that fails to parse
    /// after its handles flushes them.
    fn exec(
        &mut self,
        op: &str,
        cc: u32,
        handles: &[u32],
        auths: &[Auth],
        params: &[u8],
        n_handles: usize,
    ) -> Result<Result<Response, u32>, TpmError> {
        let cmd = marshal_command(cc, handles, auths, params);
        let mut attempts = 0;
        let resp = loop {
            let resp = self.t.transmit(&cmd).map_err(|e| TpmError::command(op, format!("{}: {e}", self.tcti)))?;
            let mut r = R::new(op, &resp, 0);
            let tag = r.u16("tag")?;
            let size = r.u32("responseSize")?;
            let rc = r.u32("responseCode")?;
            if size as usize != resp.len() {
                return Err(r.err("responseSize", format!("says {size} bytes, the answer has {}", resp.len())));
            }
            if rc == 0 {
                break resp;
            }
            if tag != ST_NO_SESSIONS && tag != ST_SESSIONS {
                return Err(r.err("tag", format!("{tag:#06x} is neither TPM_ST_NO_SESSIONS nor TPM_ST_SESSIONS")));
            }
            attempts += 1;
            if matches!(rc, RC_RETRY | RC_YIELDED | RC_TESTING) && attempts < 20 {
                std::thread::sleep(std::time::Duration::from_millis(50));
                continue;
            }
            if resp.len() != 10 {
                return Err(r.err("error response", format!("of {} bytes (an error answer is 10)", resp.len())));
            }
            return Ok(Err(rc));
        };
        let mut r = R::new(op, &resp, 0);
        let tag = r.u16("tag")?;
        r.take(8, "header")?;
        let mut out = Vec::with_capacity(n_handles);
        for _ in 0..n_handles {
            out.push(r.u32("handle")?);
        }
        let rest = (|| {
            if tag != (if auths.is_empty() { ST_NO_SESSIONS } else { ST_SESSIONS }) {
                return Err(
                    R::new(op, &resp, 0).err("tag", format!("{tag:#06x} does not match the command's sessions"))
                );
            }
            if auths.is_empty() {
                let at = r.offset();
                return Ok((resp[at..].to_vec(), at));
            }
            let n = r.u32("parameterSize")? as usize;
            let at = r.offset();
            let params = r.take(n, "parameters")?.to_vec();
            for _ in auths {
                r.tpm2b("authorization nonceTPM")?;
                r.u8("authorization sessionAttributes")?;
                r.tpm2b("authorization hmac")?;
            }
            if r.offset() != resp.len() {
                return Err(r.err("authorization area", format!("is followed by {} bytes", resp.len() - r.offset())));
            }
            Ok((params, at))
        })();
        match rest {
            Ok((params, params_at)) => Ok(Ok(Response { handles: out, params, params_at })),
            Err(e) => {
                for h in out {
                    self.flush_if_loaded(h);
                }
                Err(e)
            }
        }
    }

    /// [`Self::exec`] with a response code as [`TpmError::Command`].
    fn run(
        &mut self,
        op: &str,
        cc: u32,
        handles: &[u32],
        auths: &[Auth],
        params: &[u8],
        n_handles: usize,
    ) -> Result<Response, TpmError> {
        self.exec(op, cc, handles, auths, params, n_handles)?.map_err(|rc| TpmError::command(op, describe_rc(rc)))
    }

    /// FlushContext of a transient object or session (others are left alone); errors ignored:
    /// this runs on the way out of a failure, and the TPM may be gone.
    fn flush_if_loaded(&mut self, h: u32) {
        if matches!(h >> 24, 0x02 | 0x03 | 0x80) {
            let _ = self.flush(h);
        }
    }

    fn flush(&mut self, h: u32) -> Result<(), TpmError> {
        let op = format!("FlushContext {h:#010x}");
        let r = self.run(&op, CC_FLUSH_CONTEXT, &[], &[], &h.to_be_bytes(), 0)?;
        r.reader(&op).end()
    }

    fn tpm_property(&mut self, prop: u32) -> Result<u32, TpmError> {
        let op = format!("GetCapability(TPM_PROPERTIES, {prop:#x})");
        let mut w = W::default();
        w.u32(CAP_TPM_PROPERTIES).u32(prop).u32(1);
        let resp = self.run(&op, CC_GET_CAPABILITY, &[], &[], &w.0, 0)?;
        let mut r = resp.reader(&op);
        r.u8("moreData")?;
        let cap = r.u32("capability")?;
        if cap != CAP_TPM_PROPERTIES {
            return Err(r.err("capability", format!("{cap} is not TPM_CAP_TPM_PROPERTIES")));
        }
        let count = r.u32("TPML_TAGGED_TPM_PROPERTY.count")?;
        if count != 1 {
            return Err(r.err("TPML_TAGGED_TPM_PROPERTY.count", format!("is {count}, asked for 1")));
        }
        let p = r.u32("property")?;
        let v = r.u32("value")?;
        r.end()?;
        if p != prop {
            return Err(r.err("property", format!("{p:#x} is not the {prop:#x} asked for (not implemented?)")));
        }
        Ok(v)
    }

    fn nv_public(&mut self, index: u32) -> Result<NvInfo, TpmError> {
        nv_handle(index)?;
        let op = format!("NV_ReadPublic {index:#010x}");
        let resp = match self.exec(&op, CC_NV_READ_PUBLIC, &[index], &[], &[], 0)? {
            Ok(r) => r,
            Err(RC_HANDLE_1) => return Err(TpmError::Absent(format!("NV index {index:#010x} is not defined"))),
            Err(rc) => return Err(TpmError::command(op, describe_rc(rc))),
        };
        let mut r = resp.reader(&op);
        let public = r.tpm2b("nvPublic")?;
        r.tpm2b("nvName")?;
        r.end()?;
        let mut p = R::new(&op, public, resp.params_at + 2);
        let got = p.u32("nvPublic.nvIndex")?;
        p.u16("nvPublic.nameAlg")?;
        let attrs = p.u32("nvPublic.attributes")?;
        p.tpm2b("nvPublic.authPolicy")?;
        let size = p.u16("nvPublic.dataSize")? as usize;
        p.end()?;
        if got != index {
            return Err(p.err("nvPublic.nvIndex", format!("is {got:#010x}, asked for {index:#010x}")));
        }
        let has = |a: u32| attrs & a != 0;
        Ok(NvInfo {
            size,
            owner_read: has(NV_OWNERREAD),
            owner_write: has(NV_OWNERWRITE),
            auth_read: has(NV_AUTHREAD),
            auth_write: has(NV_AUTHWRITE),
        })
    }

    /// ReadPublic of any loaded object; `Absent` when nothing is at `handle`.
    fn public_of(&mut self, handle: u32) -> Result<Vec<u8>, TpmError> {
        let op = format!("ReadPublic {handle:#010x}");
        let resp = match self.exec(&op, CC_READ_PUBLIC, &[handle], &[], &[], 0)? {
            Ok(r) => r,
            Err(RC_HANDLE_1) => {
                return Err(TpmError::Absent(format!("persistent handle {handle:#010x} holds no object")));
            }
            Err(rc) => return Err(TpmError::command(op, describe_rc(rc))),
        };
        let mut r = resp.reader(&op);
        let public = r.tpm2b("outPublic")?.to_vec();
        r.tpm2b("name")?;
        r.tpm2b("qualifiedName")?;
        r.end()?;
        if public.is_empty() {
            return Err(r.err("outPublic", "is empty".into()));
        }
        Ok(public)
    }

    /// PCR values of `sel` by (bank, index), in as many PCR_Read rounds as the TPM needs (it
    /// answers at most 8 digests at a time).
    fn read_pcrs(&mut self, sel: &[(AlgId, Vec<u32>)]) -> Result<Vec<PcrValue>, TpmError> {
        let mut want: Vec<(AlgId, Vec<u32>)> = sel.to_vec();
        let mut got: Vec<PcrValue> = Vec::new();
        for _ in 0..64 {
            want.retain(|(_, idx)| !idx.is_empty());
            if want.is_empty() {
                return Ok(got);
            }
            let mut w = W::default();
            marshal_pcr_selection(&mut w, &want)?;
            let resp = self.run("PCR_Read", CC_PCR_READ, &[], &[], &w.0, 0)?;
            let mut r = resp.reader("PCR_Read");
            r.u32("pcrUpdateCounter")?;
            let read = parse_pcr_selection(&mut r, "pcrSelectionOut")?;
            let count = r.u32("pcrValues.count")? as usize;
            let n_sel: usize = read.iter().map(|(_, i)| i.len()).sum();
            if count != n_sel || count > 8 {
                return Err(r.err("pcrValues.count", format!("is {count} for {n_sel} selected PCRs")));
            }
            let mut digests = Vec::with_capacity(count);
            for _ in 0..count {
                digests.push(r.tpm2b("pcrValues.digest")?.to_vec());
            }
            r.end()?;
            if count == 0 {
                let (bank, idx) = &want[0];
                return Err(TpmError::Invalid(format!(
                    "PCR_Read returned no value for {} PCR{} (bank not active?)",
                    bank.name(),
                    idx[0]
                )));
            }
            let mut d = digests.into_iter();
            for (bank, idx) in read {
                for i in idx {
                    let v = d.next().unwrap_or_default();
                    if Some(v.len()) != bank.known_size() {
                        return Err(
                            r.err("pcrValues.digest", format!("of {} PCR{i} has {} bytes", bank.name(), v.len()))
                        );
                    }
                    let Some((_, wi)) = want.iter_mut().find(|(b, _)| *b == bank) else {
                        return Err(
                            r.err("pcrSelectionOut", format!("names bank {} that was not asked for", bank.name()))
                        );
                    };
                    let Some(pos) = wi.iter().position(|&x| x == i) else {
                        return Err(r.err("pcrSelectionOut", format!("names {} PCR{i}, not asked for", bank.name())));
                    };
                    wi.remove(pos);
                    got.push(((bank, i), v));
                }
            }
        }
        Err(TpmError::Invalid("PCR_Read: the TPM kept answering without finishing the selection".into()))
    }

    /// The default-template EK as a transient primary object: (handle, TPMT_PUBLIC). The caller
    /// flushes the handle.
    fn create_ek(&mut self, alg: KeyAlg, range: EkRange) -> Result<(u32, Vec<u8>), TpmError> {
        let op = match range {
            EkRange::Low => format!("CreatePrimary (EK {})", alg.name()),
            EkRange::High => format!("CreatePrimary (high-range EK {})", alg.name()),
        };
        let mut w = W::default();
        creation_params(&mut w, &ek_template(alg, range));
        let resp = self.run(&op, CC_CREATE_PRIMARY, &[TPM_RH_ENDORSEMENT], &[Auth::Password], &w.0, 1)?;
        let h = resp.handles[0];
        let parsed = (|| {
            let mut r = resp.reader(&op);
            let public = r.tpm2b("outPublic")?.to_vec();
            r.creation_outputs()?;
            r.tpm2b("name")?;
            r.end()?;
            if h >> 24 != 0x80 {
                return Err(r.err("objectHandle", format!("{h:#010x} is not a transient handle")));
            }
            Ok(public)
        })();
        match parsed {
            Ok(p) => Ok((h, p)),
            Err(e) => {
                self.flush_if_loaded(h);
                Err(e)
            }
        }
    }

    /// A policy session satisfied by PolicySecret(TPM_RH_ENDORSEMENT): the EK's policy A. The
    /// caller uses it once (continueSession clear) or flushes it.
    fn ek_policy_session(&mut self) -> Result<u32, TpmError> {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|e| TpmError::Invalid(format!("no randomness for nonceCaller: {e}")))?;
        let mut w = W::default();
        w.tpm2b(&nonce).u16(0).u8(0x01).u16(ALG_NULL).u16(ALG_SHA256);
        let op = "StartAuthSession (policy, SHA-256)";
        let resp = self.run(op, CC_START_AUTH_SESSION, &[TPM_RH_NULL, TPM_RH_NULL], &[], &w.0, 1)?;
        let s = resp.handles[0];
        let checked = (|| {
            let mut r = resp.reader(op);
            r.tpm2b("nonceTPM")?;
            r.end()?;
            if s >> 24 != 0x03 {
                return Err(r.err("sessionHandle", format!("{s:#010x} is not a policy session")));
            }
            let mut w = W::default();
            w.u16(0).u16(0).u16(0).u32(0);
            let op = "PolicySecret (TPM_RH_ENDORSEMENT)";
            let resp = self.run(op, CC_POLICY_SECRET, &[TPM_RH_ENDORSEMENT, s], &[Auth::Password], &w.0, 0)?;
            let mut r = resp.reader(op);
            r.tpm2b("timeout")?;
            r.u16("policyTicket.tag")?;
            r.u32("policyTicket.hierarchy")?;
            r.tpm2b("policyTicket.digest")?;
            r.end()
        })();
        match checked {
            Ok(()) => Ok(s),
            Err(e) => {
                self.flush_if_loaded(s);
                Err(e)
            }
        }
    }

    /// How to authorise use of the EK: its policy (PolicySecret) unless userWithAuth is set.
    fn ek_auth(&mut self, ek_public: &[u8]) -> Result<Auth, TpmError> {
        let info = PublicInfo::parse(ek_public)?;
        if info.attributes & ATTR_USER_WITH_AUTH != 0 {
            return Ok(Auth::Password);
        }
        Ok(Auth::Policy(self.ek_policy_session()?))
    }

    /// Runs a command authorised by `auth`; a policy session left loaded by a failure is flushed.
    fn run_authorised(
        &mut self,
        op: &str,
        cc: u32,
        handles: &[u32],
        auth: Auth,
        params: &[u8],
        n_handles: usize,
    ) -> Result<Response, TpmError> {
        let r = self.run(op, cc, handles, &[auth], params, n_handles);
        if let (Err(_), Auth::Policy(s)) = (&r, auth) {
            self.flush_if_loaded(s);
        }
        r
    }

    /// Creates the EK of `range`'s default template and makes it persistent at `handle`.
    /// Returns its TPMT_PUBLIC.
    pub fn persist_ek_in(&mut self, alg: KeyAlg, range: EkRange, handle: u32) -> Result<Vec<u8>, TpmError> {
        persistent(handle)?;
        let (ekh, _) = self.create_ek(alg, range)?;
        let r = self.evict_control(&format!("EvictControl (EK to {handle:#010x})"), ekh, handle);
        let f = self.flush(ekh);
        r?;
        f?;
        self.read_public(handle)
    }

    fn evict_control(&mut self, op: &str, object: u32, persistent: u32) -> Result<(), TpmError> {
        let resp =
            self.run(op, CC_EVICT_CONTROL, &[TPM_RH_OWNER, object], &[Auth::Password], &persistent.to_be_bytes(), 0)?;
        resp.reader(op).end()
    }
}

impl Tpm for TpmClient {
    fn describe(&self) -> String {
        match self.warning {
            Some(_) => format!("TPM 2.0 via TCTI {} (no resource manager)", self.tcti),
            None => format!("TPM 2.0 via TCTI {}", self.tcti),
        }
    }

    fn handles(&mut self, first: u32) -> Result<Vec<u32>, TpmError> {
        let end = (first & 0xFF00_0000) | 0x00FF_FFFF;
        let mut out = Vec::new();
        let mut next = first;
        let op = "GetCapability(handles)";
        for _ in 0..1024 {
            let mut w = W::default();
            w.u32(CAP_HANDLES).u32(next).u32(64);
            let resp = self.run(op, CC_GET_CAPABILITY, &[], &[], &w.0, 0)?;
            let mut r = resp.reader(op);
            let more = r.u8("moreData")?;
            if more > 1 {
                return Err(r.err("moreData", format!("is {more}, not YES or NO")));
            }
            let cap = r.u32("capability")?;
            if cap != CAP_HANDLES {
                return Err(r.err("capability", format!("{cap} is not TPM_CAP_HANDLES")));
            }
            let count = r.u32("TPML_HANDLE.count")?;
            if count > 64 {
                return Err(r.err("TPML_HANDLE.count", format!("is {count}, asked for at most 64")));
            }
            let mut got = Vec::with_capacity(count as usize);
            for _ in 0..count {
                got.push(r.u32("TPML_HANDLE.handle")?);
            }
            r.end()?;
            got.retain(|&h| (first..=end).contains(&h));
            let last = got.last().copied();
            out.extend(got);
            match (more == 1, last) {
                (true, Some(l)) if l < end => next = l + 1,
                _ => return Ok(out),
            }
        }
        Err(TpmError::Invalid("GetCapability(handles): the TPM kept saying moreData".into()))
    }

    fn nv_info(&mut self, index: u32) -> Result<NvInfo, TpmError> {
        self.nv_public(index)
    }

    fn nv_read(&mut self, index: u32) -> Result<Vec<u8>, TpmError> {
        let info = self.nv_public(index)?;
        let auth_handle = if info.owner_read {
            TPM_RH_OWNER
        } else if info.auth_read {
            index
        } else {
            return Err(TpmError::Invalid(format!(
                "NV index {index:#010x} is readable neither with owner auth nor with its own auth"
            )));
        };
        let mut out = Vec::with_capacity(info.size);
        while out.len() < info.size {
            let n = (info.size - out.len()).min(self.nv_buffer_max);
            let off = out.len();
            let op = format!("NV_Read {index:#010x} at offset {off}");
            let mut w = W::default();
            w.u16(n as u16).u16(off as u16);
            let resp = self.run(&op, CC_NV_READ, &[auth_handle, index], &[Auth::Password], &w.0, 0)?;
            let mut r = resp.reader(&op);
            let data = r.tpm2b("data")?;
            r.end()?;
            if data.len() != n {
                return Err(TpmError::Invalid(format!(
                    "NV_Read of {index:#010x} returned {} bytes at offset {off}, asked for {n}",
                    data.len()
                )));
            }
            out.extend_from_slice(data);
        }
        Ok(out)
    }

    fn nv_define(&mut self, index: u32, size: usize) -> Result<(), TpmError> {
        nv_handle(index)?;
        let op = format!("NV_DefineSpace {index:#010x} ({size} bytes)");
        let size16 = u16::try_from(size)
            .map_err(|_| TpmError::Invalid(format!("NV public for {index:#010x} of {size} bytes: too large")))?;
        let mut public = W::default();
        public.u32(index).u16(ALG_SHA256).u32(NV_OWNERWRITE | NV_AUTHWRITE | NV_OWNERREAD | NV_AUTHREAD);
        public.tpm2b(&[]).u16(size16);
        let mut w = W::default();
        w.tpm2b(&[]).tpm2b(&public.0);
        let resp = self.run(&op, CC_NV_DEFINE_SPACE, &[TPM_RH_OWNER], &[Auth::Password], &w.0, 0)?;
        resp.reader(&op).end()
    }

    fn nv_write(&mut self, index: u32, data: &[u8]) -> Result<(), TpmError> {
        let info = self.nv_public(index)?;
        if data.len() > info.size {
            return Err(TpmError::Invalid(format!(
                "NV index {index:#010x} holds {} bytes; {} do not fit",
                info.size,
                data.len()
            )));
        }
        let auth_handle = if info.owner_write {
            TPM_RH_OWNER
        } else if info.auth_write {
            index
        } else {
            return Err(TpmError::Invalid(format!("NV index {index:#010x} is not writable with owner or index auth")));
        };
        let mut off = 0;
        for chunk in data.chunks(self.nv_buffer_max) {
            let op = format!("NV_Write {index:#010x} at offset {off}");
            let mut w = W::default();
            w.tpm2b(chunk).u16(off as u16);
            let resp = self.run(&op, CC_NV_WRITE, &[auth_handle, index], &[Auth::Password], &w.0, 0)?;
            resp.reader(&op).end()?;
            off += chunk.len();
        }
        Ok(())
    }

    fn read_public(&mut self, handle: u32) -> Result<Vec<u8>, TpmError> {
        persistent(handle)?;
        self.public_of(handle)
    }

    fn quote(&mut self, ak: u32, nonce: &[u8], sel: &PcrSelection) -> Result<Quote, TpmError> {
        if nonce.len() > 64 {
            return Err(TpmError::Invalid(format!(
                "a nonce of {} bytes does not fit TPM2B_DATA (at most 64)",
                nonce.len()
            )));
        }
        let info = PublicInfo::parse(&self.read_public(ak)?)?;
        if !info.is_attestation_key() {
            return Err(TpmError::Invalid(format!("{ak:#010x} is not a restricted signing key; it cannot quote")));
        }
        let mut w = W::default();
        w.tpm2b(nonce);
        // A key with a fixed scheme signs with it; otherwise ask for the usual one.
        match (info.scheme == ALG_NULL, info.alg()) {
            (false, _) => w.u16(ALG_NULL),
            (true, Some(KeyAlg::Rsa2048)) => w.u16(ALG_RSASSA).u16(ALG_SHA256),
            (true, _) => w.u16(ALG_ECDSA).u16(ALG_SHA256),
        };
        marshal_pcr_selection(&mut w, &sel.0)?;
        let op = format!("Quote with {ak:#010x}");
        let mut last_err = None;
        for _ in 0..QUOTE_ATTEMPTS {
            let resp = self.run(&op, CC_QUOTE, &[ak], &[Auth::Password], &w.0, 0)?;
            let mut r = resp.reader(&op);
            let attest = r.tpm2b("quoted")?.to_vec();
            let sig_at = r.offset();
            skip_signature(&mut r)?;
            r.end()?;
            let signature = resp.params[sig_at..].to_vec();
            let parsed = cloud_ra_verify::tpm::Attest::parse(&attest)
                .map_err(|e| TpmError::Invalid(format!("the TPM's TPMS_ATTEST does not parse: {e}")))?;
            // PCR values in the quote's own selection order, checked against its signed digest
            // (PCR_Read and Quote are two commands: retry if a PCR moved in between).
            let values = self.read_pcrs(&parsed.selection)?;
            let mut concat = Vec::new();
            for (bank, idx) in &parsed.selection {
                for &i in idx {
                    match values.iter().find(|((b, x), _)| b == bank && *x == i) {
                        Some((_, v)) => concat.extend_from_slice(v),
                        None => {
                            return Err(TpmError::Invalid(format!(
                                "PCR_Read returned no value for {} PCR{i} (bank not active?)",
                                bank.name()
                            )));
                        }
                    }
                }
            }
            let sig_hash = signature.get(2..4).map(|h| u16::from_be_bytes([h[0], h[1]])).unwrap_or(0);
            match AlgId(sig_hash).hash(&concat) {
                Some(d) if d == parsed.pcr_digest => return Ok(Quote { attest, signature, pcrs: concat }),
                Some(_) => last_err = Some("PCR values changed between Quote and PCR_Read".to_string()),
                None => return Err(TpmError::Invalid(format!("signature hash {sig_hash:#06x} is not supported"))),
            }
        }
        Err(TpmError::Invalid(format!(
            "{} after {QUOTE_ATTEMPTS} attempts",
            last_err.unwrap_or_else(|| "no quote".into())
        )))
    }

    fn derive_ek_public(&mut self, alg: KeyAlg) -> Result<Vec<u8>, TpmError> {
        self.derive_ek_public_in(alg, EkRange::Low)
    }

    fn derive_ek_public_in(&mut self, alg: KeyAlg, range: EkRange) -> Result<Vec<u8>, TpmError> {
        let (h, public) = self.create_ek(alg, range)?;
        self.flush(h)?;
        Ok(public)
    }

    fn persist_ek(&mut self, alg: KeyAlg, handle: u32) -> Result<Vec<u8>, TpmError> {
        self.persist_ek_in(alg, EkRange::Low, handle)
    }

    fn persist_ak(&mut self, ek: u32, alg: KeyAlg, handle: u32) -> Result<Vec<u8>, TpmError> {
        persistent(handle)?;
        let ek_public = self.read_public(ek)?;
        let mut w = W::default();
        creation_params(&mut w, &ak_template(alg));
        let auth = self.ek_auth(&ek_public)?;
        let op = format!("Create (AK under {ek:#010x})");
        let resp = self.run_authorised(&op, CC_CREATE, &[ek], auth, &w.0, 0)?;
        let mut r = resp.reader(&op);
        let private = r.tpm2b("outPrivate")?.to_vec();
        let public = r.tpm2b("outPublic")?.to_vec();
        r.creation_outputs()?;
        r.end()?;

        let mut w = W::default();
        w.tpm2b(&private).tpm2b(&public);
        let auth = self.ek_auth(&ek_public)?;
        let op = "Load (AK)";
        let resp = self.run_authorised(op, CC_LOAD, &[ek], auth, &w.0, 1)?;
        let akh = resp.handles[0];
        let checked = (|| {
            let mut r = resp.reader(op);
            r.tpm2b("name")?;
            r.end()?;
            if akh >> 24 != 0x80 {
                return Err(r.err("objectHandle", format!("{akh:#010x} is not a transient handle")));
            }
            Ok(())
        })();
        if let Err(e) = checked {
            self.flush_if_loaded(akh);
            return Err(e);
        }
        let r = self.evict_control(&format!("EvictControl (AK to {handle:#010x})"), akh, handle);
        let f = self.flush(akh);
        r?;
        f?;
        self.read_public(handle)
    }

    fn evict(&mut self, handle: u32) -> Result<(), TpmError> {
        self.read_public(handle)?;
        self.evict_control(&format!("EvictControl (remove {handle:#010x})"), handle, handle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_codes_are_decoded() {
        assert_eq!(describe_rc(0x18B), "TPM_RC_HANDLE (0x018b, format-one error 0x0b, handle 1)");
        assert!(describe_rc(0x14C).starts_with("TPM_RC_NV_DEFINED (0x014c, format-zero error)"));
        assert!(describe_rc(0x902).contains("TPM_RC_OBJECT_MEMORY") && describe_rc(0x902).contains("warning"));
        assert_eq!(describe_rc(0x2C4), "TPM_RC_VALUE (0x02c4, format-one error 0x04, parameter 2)");
        assert!(describe_rc(0x98E).starts_with("TPM_RC_AUTH_FAIL (0x098e, format-one error 0x0e, session 1)"));
        assert!(describe_rc(0x9A2).contains("TPM_RC_BAD_AUTH") && describe_rc(0x9A2).contains("session 1"));
        assert!(describe_rc(0x000B_0101).contains("resource manager"));
        assert!(describe_rc(0x0030).contains("TPM 1.2"));
    }

    #[test]
    fn commands_are_framed() {
        let c = marshal_command(CC_NV_READ, &[TPM_RH_OWNER, 0x0140_0001], &[Auth::Password], &[0, 1, 0, 2]);
        assert_eq!(&c[..2], &ST_SESSIONS.to_be_bytes());
        assert_eq!(u32::from_be_bytes([c[2], c[3], c[4], c[5]]) as usize, c.len());
        // handles, authorizationSize 9, TPM_RS_PW, empty nonce, attributes, empty hmac, params.
        assert_eq!(&c[18..22], &9u32.to_be_bytes());
        assert_eq!(&c[22..26], &TPM_RS_PW.to_be_bytes());
        assert_eq!(&c[31..], &[0, 1, 0, 2]);
    }

    #[test]
    fn templates_classify_as_what_they_make() {
        for alg in [KeyAlg::Rsa2048, KeyAlg::EccP256] {
            for range in [EkRange::Low, EkRange::High] {
                let ek = PublicInfo::parse(&ek_template(alg, range)).unwrap();
                assert!(ek.is_ek_template() && ek.alg() == Some(alg) && ek.ek_range() == Some(range));
            }
            let ak = PublicInfo::parse(&ak_template(alg)).unwrap();
            assert!(ak.is_attestation_key() && ak.alg() == Some(alg) && ak.user_with_auth());
        }
    }

    #[test]
    fn pcr_selections_round_trip() {
        let sel = vec![(AlgId::SHA256, vec![0, 15, 16, 22]), (AlgId::SHA384, vec![1])];
        let mut w = W::default();
        marshal_pcr_selection(&mut w, &sel).unwrap();
        let mut r = R::new("PCR_Read", &w.0, 0);
        assert_eq!(parse_pcr_selection(&mut r, "sel").unwrap(), sel);
        let mut r = R::new("PCR_Read", &w.0[..w.0.len() - 1], 0);
        let e = parse_pcr_selection(&mut r, "pcrSelectionOut").unwrap_err().to_string();
        assert!(e.contains("TPM2_PCR_Read") && e.contains("pcrSelectionOut") && e.contains("truncated"), "{e}");
        assert!(marshal_pcr_selection(&mut W::default(), &[(AlgId::SHA256, vec![24])]).is_err());
    }
}
