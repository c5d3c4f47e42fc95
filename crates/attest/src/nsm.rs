//! The Nitro Security Module (`/dev/nsm`): one ioctl carrying a CBOR request and a CBOR
//! response (aws-nitro-enclaves-nsm-api's wire format). The trait is that byte interface, so the
//! simulated NSM and the real device drive the same request code.

use cloud_ra_verify::cbor::{self, Value};

pub const NSM_REQUEST_MAX: usize = 0x1000;
pub const NSM_RESPONSE_MAX: usize = 0x3000;
/// The NSM's own limit for user_data, nonce and public_key in a request.
pub const NSM_FIELD_MAX: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NsmError {
    #[error("/dev/nsm is absent: this is not a Nitro enclave (or the nsm driver is not loaded)")]
    Absent,
    #[error("/dev/nsm: {0}")]
    Io(String),
    /// The NSM answered with an error code (e.g. InvalidArgument, InputTooLarge).
    #[error("the NSM refused the request: {0}")]
    Refused(String),
    #[error("malformed NSM message: {0}")]
    Malformed(String),
}

pub trait Nsm: Send + Sync {
    /// Sends one CBOR request, returns the CBOR response.
    fn process(&self, request: &[u8]) -> Result<Vec<u8>, NsmError>;
    fn describe(&self) -> String;
    fn simulated(&self) -> bool {
        false
    }
}

fn opt(v: Option<&[u8]>) -> Value {
    v.map(|b| Value::Bytes(b.to_vec())).unwrap_or(Value::Null)
}

/// `Request::Attestation { user_data, nonce, public_key }` as the NSM API encodes it.
pub fn attestation_request(user_data: Option<&[u8]>, nonce: Option<&[u8]>, public_key: Option<&[u8]>) -> Vec<u8> {
    cbor::encode(&Value::Map(vec![(
        Value::Text("Attestation".into()),
        Value::Map(vec![
            (Value::Text("user_data".into()), opt(user_data)),
            (Value::Text("nonce".into()), opt(nonce)),
            (Value::Text("public_key".into()), opt(public_key)),
        ]),
    )]))
}

/// Extracts the document from `Response::Attestation { document }`, or the error code.
pub fn attestation_response(resp: &[u8]) -> Result<Vec<u8>, NsmError> {
    let v = cbor::decode(resp).map_err(|e| NsmError::Malformed(e.to_string()))?;
    let Value::Map(mut m) = v else { return Err(NsmError::Malformed("response is not a map".into())) };
    if m.len() != 1 {
        return Err(NsmError::Malformed(format!("response map has {} entries", m.len())));
    }
    match m.remove(0) {
        (Value::Text(k), Value::Map(inner)) if k == "Attestation" => inner
            .into_iter()
            .find_map(|(k, v)| match (k, v) {
                (Value::Text(k), Value::Bytes(d)) if k == "document" => Some(d),
                _ => None,
            })
            .ok_or_else(|| NsmError::Malformed("Attestation response without a document".into())),
        (Value::Text(k), Value::Text(code)) if k == "Error" => Err(NsmError::Refused(code)),
        (Value::Text(k), _) => Err(NsmError::Malformed(format!("unexpected response '{k}'"))),
        _ => Err(NsmError::Malformed("unexpected response shape".into())),
    }
}

/// Asks the NSM for an attestation document.
pub fn request_document(
    nsm: &dyn Nsm,
    user_data: Option<&[u8]>,
    nonce: Option<&[u8]>,
    public_key: Option<&[u8]>,
) -> Result<Vec<u8>, NsmError> {
    let req = attestation_request(user_data, nonce, public_key);
    if req.len() > NSM_REQUEST_MAX {
        return Err(NsmError::Refused("InputTooLarge".into()));
    }
    let resp = nsm.process(&req)?;
    attestation_response(&resp)
}

/// The real device.
pub struct DevNsm {
    path: String,
}

impl DevNsm {
    pub fn open(path: &str) -> Result<Self, NsmError> {
        match std::fs::OpenOptions::new().read(true).write(true).open(path) {
            Ok(_) => Ok(DevNsm { path: path.into() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(NsmError::Absent),
            Err(e) => Err(NsmError::Io(e.to_string())),
        }
    }
}

impl Nsm for DevNsm {
    #[cfg(target_os = "linux")]
    fn process(&self, request: &[u8]) -> Result<Vec<u8>, NsmError> {
        use std::os::fd::AsRawFd;
        #[repr(C)]
        struct NsmMessage {
            request: libc::iovec,
            response: libc::iovec,
        }
        const fn iowr(nr: u64, size: usize) -> u64 {
            (3u64 << 30) | ((size as u64) << 16) | (0x0Au64 << 8) | nr
        }
        const NSM_IOCTL_REQUEST: u64 = iowr(0, std::mem::size_of::<NsmMessage>());
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.path)
            .map_err(|e| NsmError::Io(e.to_string()))?;
        let mut req = request.to_vec();
        let mut resp = vec![0u8; NSM_RESPONSE_MAX];
        let mut msg = NsmMessage {
            request: libc::iovec { iov_base: req.as_mut_ptr().cast(), iov_len: req.len() },
            response: libc::iovec { iov_base: resp.as_mut_ptr().cast(), iov_len: resp.len() },
        };
        // SAFETY: both buffers outlive the call; the kernel writes at most `iov_len` bytes into
        // the response and updates its length.
        let rc = unsafe { libc::ioctl(file.as_raw_fd(), NSM_IOCTL_REQUEST as _, &mut msg as *mut NsmMessage) };
        if rc < 0 {
            return Err(NsmError::Io(std::io::Error::last_os_error().to_string()));
        }
        let n = msg.response.iov_len.min(resp.len());
        resp.truncate(n);
        Ok(resp)
    }
    #[cfg(not(target_os = "linux"))]
    fn process(&self, _request: &[u8]) -> Result<Vec<u8>, NsmError> {
        Err(NsmError::Absent)
    }
    fn describe(&self) -> String {
        format!("{} (NSM ioctl)", self.path)
    }
}

/// A simulated NSM: answers attestation requests with documents signed by the simulated Nitro
/// PKI (`cloud-ra-sim`), at the wall-clock time of the request, with AWS's error codes.
#[derive(Debug, Clone, Default)]
pub struct SimNsm {
    /// Produce a debug-mode enclave's document (all PCRs zero).
    pub debug: bool,
    /// Fixed time (seconds) instead of the clock — for tests.
    pub fixed_time: Option<i64>,
}

impl Nsm for SimNsm {
    fn process(&self, request: &[u8]) -> Result<Vec<u8>, NsmError> {
        use cloud_ra_sim::nitro::{ChainSpec, DocSpec, SimNitro};
        let err =
            |code: &str| Ok(cbor::encode(&Value::Map(vec![(Value::Text("Error".into()), Value::Text(code.into()))])));
        if request.len() > NSM_REQUEST_MAX {
            return err("InputTooLarge");
        }
        let Ok(Value::Map(m)) = cbor::decode(request) else { return err("InvalidArgument") };
        let Some((Value::Text(op), Value::Map(fields))) = m.into_iter().next() else { return err("InvalidArgument") };
        if op != "Attestation" {
            return err("InvalidOperation");
        }
        let mut d = DocSpec::at(self.fixed_time.unwrap_or_else(|| cloud_ra_verify::Timestamp::now().0));
        for (k, v) in fields {
            let value = match v {
                Value::Null => None,
                Value::Bytes(b) if b.len() <= NSM_FIELD_MAX => Some(b),
                Value::Bytes(_) => return err("InputTooLarge"),
                _ => return err("InvalidArgument"),
            };
            match k {
                Value::Text(k) if k == "user_data" => d.user_data = value,
                Value::Text(k) if k == "nonce" => d.nonce = value,
                Value::Text(k) if k == "public_key" => d.public_key = value,
                _ => return err("InvalidArgument"),
            }
        }
        if self.debug {
            d = d.debug();
        }
        let now = (d.timestamp_ms / 1000) as i64;
        let doc = SimNitro::get().chain(&ChainSpec::at(now)).sign(&d);
        Ok(cbor::encode(&Value::Map(vec![(
            Value::Text("Attestation".into()),
            Value::Map(vec![(Value::Text("document".into()), Value::Bytes(doc))]),
        )])))
    }
    fn describe(&self) -> String {
        "SIMULATED /dev/nsm (cloud-ra-sim Nitro PKI)".into()
    }
    fn simulated(&self) -> bool {
        true
    }
}
