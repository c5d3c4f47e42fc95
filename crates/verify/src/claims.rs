//! `Claims`: what verified evidence says, one value per outcome.
//!
//! The fields with one meaning across TEEs are typed (`platform`, `measurements`, `report_data`,
//! `debug`, `tcb_status`, `signer`, `nonce_bound`, `simulated`, and the registers an event log
//! replays against); the TEE's native fields stay verbatim under today's JSON keys. The JSON form
//! (`Serialize`, `Index<&str>`, `Display`) is the map of both, so `claims["measurement"]` reads
//! as it always has; decisions read the typed accessors.

use crate::eventlog::AlgId;
use crate::platform::Platform;
use crate::tpm::QuotedPcrs;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The measurement registers of a verified TD quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TdxRegisters {
    /// MRTD: the TD's build-time measurement.
    pub mrtd: [u8; 48],
    /// RTMR0..RTMR3: the runtime-extendable registers.
    pub rtmr: [[u8; 48]; 4],
}

/// The registers verified evidence vouches for, by name: what an event log is replayed against.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Registers {
    /// No replayable registers (SNP, SGX, Nitro: their measurements are not extended from a log).
    #[default]
    None,
    /// TDX: MRTD and RTMR0..3 of the verified TD quote.
    Tdx(Box<TdxRegisters>),
    /// A vTPM: the PCR values of the verified quote(s), by bank and index.
    Pcrs(QuotedPcrs),
}

/// A vTPM's measurements: its SHA-256 PCRs (else the first bank quoted), named `pcr0`..`pcr23`.
pub(crate) fn pcr_measurements(banks: &QuotedPcrs) -> Vec<(String, &[u8])> {
    let bank = banks.get(&AlgId::SHA256).or_else(|| banks.values().next());
    bank.into_iter().flatten().map(|(i, v)| (format!("pcr{i}"), v.as_slice())).collect()
}

/// The key that signed the evidence, as the chain to the vendor root names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signer {
    /// `vcek`, `vlek`, `pck`, `nitro` (the enclave's signing certificate) or `ak` (a vTPM's AK).
    pub kind: &'static str,
    /// SHA-256 of the signing certificate (DER) or, for an AK, of its public key.
    pub sha256: String,
}

/// What verified evidence says: shared fields (typed) plus the TEE's native fields.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Claims {
    platform: Option<Platform>,
    measurements: BTreeMap<String, Vec<u8>>,
    report_data: Option<Vec<u8>>,
    debug: Option<bool>,
    tcb_status: Option<String>,
    signer: Option<Signer>,
    nonce_bound: bool,
    simulated: bool,
    registers: Registers,
    json: Map<String, Value>,
}

impl Claims {
    /// No claims (evidence that did not verify): serialises as `{}`.
    pub(crate) fn none() -> Claims {
        Claims::default()
    }

    /// The claims of verified evidence of `platform`, from the TEE's native fields.
    pub(crate) fn new(platform: Platform, native: Value) -> Claims {
        let json = match native {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        let mut c = Claims { json, ..Claims::default() };
        c.set_platform(platform);
        c
    }

    pub(crate) fn set_platform(&mut self, platform: Platform) {
        self.platform = Some(platform);
        self.json.insert("platform".into(), json!(platform));
    }

    /// Named measurements (`measurement`; `mrtd`, `rtmr0`..; `mrenclave`, `mrsigner`; `pcr0`..).
    pub(crate) fn with_measurements<'a>(mut self, m: impl IntoIterator<Item = (String, &'a [u8])>) -> Claims {
        self.measurements.extend(m.into_iter().map(|(k, v)| (k, v.to_vec())));
        let hexed: Map<String, Value> =
            self.measurements.iter().map(|(k, v)| (k.clone(), json!(hex::encode(v)))).collect();
        self.json.insert("measurements".into(), Value::Object(hexed));
        self
    }

    pub(crate) fn with_report_data(mut self, rd: &[u8]) -> Claims {
        self.report_data = Some(rd.to_vec());
        self.json.insert("report_data".into(), json!(hex::encode(rd)));
        self
    }

    pub(crate) fn with_debug(mut self, debug: bool) -> Claims {
        self.debug = Some(debug);
        self.json.insert("debug".into(), json!(debug));
        self
    }

    pub(crate) fn with_tcb_status(mut self, status: &str) -> Claims {
        self.tcb_status = Some(status.to_string());
        self.json.insert("tcb_status".into(), json!(status));
        self
    }

    pub(crate) fn with_signer(mut self, kind: &'static str, sha256: String) -> Claims {
        let s = Signer { kind, sha256 };
        self.json.insert("signer".into(), json!(s));
        self.signer = Some(s);
        self
    }

    pub(crate) fn with_simulated(mut self, simulated: bool) -> Claims {
        self.simulated = simulated;
        self.json.insert("simulated".into(), json!(simulated));
        self
    }

    pub(crate) fn with_registers(mut self, r: Registers) -> Claims {
        self.registers = r;
        self
    }

    pub(crate) fn set_nonce_bound(&mut self, bound: bool) {
        self.nonce_bound = bound;
        self.json.insert("nonce_bound".into(), json!(bound));
    }

    /// Adds (or replaces) one native field.
    pub(crate) fn insert(&mut self, key: &str, v: Value) {
        self.json.insert(key.into(), v);
    }

    /// Takes one native field out (a composite TEE renames its hardware's fields).
    pub(crate) fn remove(&mut self, key: &str) -> Option<Value> {
        self.json.remove(key)
    }

    /// The platform whose evidence verified (`None` for unverified evidence).
    pub fn platform(&self) -> Option<Platform> {
        self.platform
    }
    /// Named measurements, raw bytes.
    pub fn measurements(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.measurements
    }
    /// The report data the hardware signed (SNP REPORT_DATA, DCAP REPORTDATA), if the TEE has one.
    pub fn report_data(&self) -> Option<&[u8]> {
        self.report_data.as_deref()
    }
    /// Whether the TEE runs in debug mode (its memory is readable by the host), where known.
    pub fn debug(&self) -> bool {
        self.debug.unwrap_or(false)
    }
    /// The vendor's TCB status (DCAP), where the TEE has one.
    pub fn tcb_status(&self) -> Option<&str> {
        self.tcb_status.as_deref()
    }
    /// The key that signed the evidence.
    pub fn signer(&self) -> Option<&Signer> {
        self.signer.as_ref()
    }
    /// Whether the verifier's nonce was required and found bound.
    pub fn nonce_bound(&self) -> bool {
        self.nonce_bound
    }
    /// Whether the evidence chains to one of cloud-ra's simulated roots.
    pub fn simulated(&self) -> bool {
        self.simulated
    }
    /// The registers an event log is replayed against.
    pub fn registers(&self) -> &Registers {
        &self.registers
    }
    /// One field of the JSON form.
    pub fn get(&self, key: impl AsRef<str>) -> Option<&Value> {
        self.json.get(key.as_ref())
    }
    /// The JSON form (today's keys).
    pub fn to_value(&self) -> Value {
        Value::Object(self.json.clone())
    }
    /// Iterates over the fields of the JSON form.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.json.iter()
    }
}

impl Serialize for Claims {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.json.serialize(s)
    }
}

impl std::ops::Index<&str> for Claims {
    type Output = Value;
    fn index(&self, key: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.json.get(key).unwrap_or(&NULL)
    }
}

impl std::fmt::Display for Claims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", Value::Object(self.json.clone()))
    }
}

impl From<Claims> for Value {
    fn from(c: Claims) -> Value {
        Value::Object(c.json)
    }
}
