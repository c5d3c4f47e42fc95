//! go-tpm-tools' `attest.Attestation` protobuf (what `gotpm attest` and GCE's Shielded/Confidential
//! VM tooling write): a strict protobuf wire-format reader and the message itself.
//!
//! Schema (google/go-tpm-tools `proto/attest.proto`, `proto/tpm.proto`):
//! `Attestation { bytes ak_pub = 1; repeated Quote quotes = 2; bytes event_log = 3;
//! GCEInstanceInfo instance_info = 4; bytes canonical_event_log = 5; bytes ak_cert = 6;
//! repeated bytes intermediate_certs = 7; oneof tee_attestation { 8 sev_snp_attestation; 9 tdx } }`,
//! `Quote { bytes quote = 1 (TPMS_ATTEST); bytes raw_sig = 2 (TPMT_SIGNATURE); PCRs pcrs = 3 }`,
//! `PCRs { HashAlgo hash = 1; map<uint32, bytes> pcrs = 2 }`.
//!
//! Strictness beyond protobuf's own rules (a verifier must not guess): wire types 3/4 (groups),
//! field number 0, over-long or overflowing varints, lengths past the end, a known field with
//! the wrong wire type, a singular field given twice (protobuf would merge; cloud-ra refuses), a
//! PCR index given twice: each is an error naming the message, the field number and the byte
//! offset in the whole input. Unknown fields are skipped (protobuf semantics) and listed.

use crate::Check;
use crate::error::{Error, Result};
use crate::eventlog::AlgId;
use std::collections::BTreeMap;

/// Longest varint (10 bytes encode 64 bits).
const MAX_VARINT: usize = 10;
/// Nesting is fixed by the schema (Attestation > Quote > PCRs > entry); more quotes than this is
/// not an attestation.
pub(crate) const MAX_QUOTES: usize = 16;
/// More intermediate certificates than this is not a chain.
pub(crate) const MAX_INTERMEDIATES: usize = 16;

/// A protobuf wire value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WireValue<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

impl WireValue<'_> {
    pub(crate) fn wire_type(&self) -> u8 {
        match self {
            WireValue::Varint(_) => 0,
            WireValue::Fixed64(_) => 1,
            WireValue::Bytes(_) => 2,
            WireValue::Fixed32(_) => 5,
        }
    }
}

/// One field of a message: its number, the offset of its key in the whole input, its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field<'a> {
    pub number: u32,
    pub offset: usize,
    pub value: WireValue<'a>,
    /// Offset of the value's first byte in the whole input (a nested message's base).
    pub value_offset: usize,
}

fn err(what: &str, offset: usize, m: impl std::fmt::Display) -> Error {
    Error::evidence(Check::GotpmFormat, format!("{what} at offset {offset}: {m}"))
}

/// Reads the fields of one message. `base` is the offset of `b` in the whole input (for errors).
pub(crate) struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
    base: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(b: &'a [u8], base: usize, what: &'static str) -> Self {
        Reader { b, pos: 0, base, what }
    }

    fn varint(&mut self) -> Result<u64> {
        let start = self.pos;
        let mut v = 0u64;
        for i in 0..MAX_VARINT {
            let Some(&c) = self.b.get(self.pos) else {
                return Err(err(self.what, self.base + start, "truncated varint"));
            };
            self.pos += 1;
            if i == MAX_VARINT - 1 && c > 1 {
                return Err(err(self.what, self.base + start, "varint overflows 64 bits"));
            }
            v |= u64::from(c & 0x7f) << (7 * i);
            if c & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(err(self.what, self.base + start, "varint longer than 10 bytes"))
    }

    fn take(&mut self, n: u64, number: u32, at: usize) -> Result<&'a [u8]> {
        let left = self.b.len() - self.pos;
        let n = usize::try_from(n).ok().filter(|n| *n <= left).ok_or_else(|| {
            err(self.what, self.base + at, format!("field {number}: length {n} runs past the end ({left} bytes left)"))
        })?;
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// The next field, or None at the end of the message.
    pub(crate) fn next_field(&mut self) -> Result<Option<Field<'a>>> {
        if self.pos >= self.b.len() {
            return Ok(None);
        }
        let at = self.pos;
        let key = self.varint()?;
        let number = key >> 3;
        if number == 0 || number > 0x1fff_ffff {
            return Err(err(self.what, self.base + at, format!("field number {number} is invalid")));
        }
        let number = number as u32;
        let mut value_offset = self.base + self.pos;
        let value = match key & 7 {
            0 => WireValue::Varint(self.varint()?),
            1 => {
                let s = self.take(8, number, at)?;
                WireValue::Fixed64(u64::from_le_bytes(s.try_into().unwrap_or([0; 8])))
            }
            2 => {
                let n = self.varint()?;
                value_offset = self.base + self.pos;
                WireValue::Bytes(self.take(n, number, at)?)
            }
            5 => {
                let s = self.take(4, number, at)?;
                WireValue::Fixed32(u32::from_le_bytes(s.try_into().unwrap_or([0; 4])))
            }
            w => {
                return Err(err(
                    self.what,
                    self.base + at,
                    format!("field {number}: wire type {w} is not supported (groups are deprecated)"),
                ));
            }
        };
        Ok(Some(Field { number, offset: self.base + at, value, value_offset }))
    }

    /// Every field of the message.
    pub(crate) fn fields(mut self) -> Result<Vec<Field<'a>>> {
        let mut out = Vec::new();
        while let Some(f) = self.next_field()? {
            out.push(f);
        }
        Ok(out)
    }
}

fn bytes<'a>(what: &str, f: &Field<'a>) -> Result<&'a [u8]> {
    match f.value {
        WireValue::Bytes(b) => Ok(b),
        v => Err(err(
            what,
            f.offset,
            format!("field {} has wire type {}, expected 2 (length-delimited)", f.number, v.wire_type()),
        )),
    }
}

fn varint(what: &str, f: &Field<'_>) -> Result<u64> {
    match f.value {
        WireValue::Varint(v) => Ok(v),
        v => {
            Err(err(what, f.offset, format!("field {} has wire type {}, expected 0 (varint)", f.number, v.wire_type())))
        }
    }
}

fn once<T>(what: &str, f: &Field<'_>, slot: &mut Option<T>, v: T) -> Result<()> {
    if slot.is_some() {
        return Err(err(what, f.offset, format!("field {} is given twice (a singular field)", f.number)));
    }
    *slot = Some(v);
    Ok(())
}

/// `tpm.PCRs`: the bank and its values by index.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pcrs {
    /// TPM_ALG_ID of the bank (`tpm.HashAlgo` uses the TPM values: SHA1 4, SHA256 11, SHA384 12).
    pub hash: AlgId,
    /// The PCR values by index.
    pub values: BTreeMap<u32, Vec<u8>>,
}

/// `tpm.Quote`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Quote {
    /// TPMS_ATTEST.
    pub quote: Vec<u8>,
    /// TPMT_SIGNATURE.
    pub raw_sig: Vec<u8>,
    /// The PCR values the quote covers.
    pub pcrs: Pcrs,
}

/// `attest.GCEInstanceInfo` (as carried in the attestation: not signed by anything).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct InstanceInfo {
    /// The instance's zone.
    pub zone: String,
    /// The project ID.
    pub project_id: String,
    /// The project number.
    pub project_number: u64,
    /// The instance name.
    pub instance_name: String,
    /// The instance ID.
    pub instance_id: u64,
}

/// `attest.Attestation`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Attestation {
    /// TPMT_PUBLIC of the attestation key.
    pub ak_pub: Vec<u8>,
    /// The quotes (go-tpm-tools writes one per PCR bank).
    pub quotes: Vec<Quote>,
    /// TCG event log (binary_bios_measurements), possibly empty.
    pub event_log: Vec<u8>,
    /// GCE instance information, if given.
    pub instance_info: Option<InstanceInfo>,
    /// COS canonical event log (TCG CEL), possibly empty. Not evaluated by cloud-ra.
    pub canonical_event_log: Vec<u8>,
    /// DER AK certificate, possibly empty.
    pub ak_cert: Vec<u8>,
    /// DER certificates between the AK certificate and its root.
    pub intermediate_certs: Vec<Vec<u8>>,
    /// The TEE attestation of the oneof (field 8 SEV-SNP, 9 TDX), raw. Not evaluated by cloud-ra.
    pub tee_attestation: Option<(u32, Vec<u8>)>,
    /// Numbers of unknown fields that were skipped.
    pub unknown_fields: Vec<u32>,
}

fn string(what: &str, f: &Field<'_>) -> Result<String> {
    let b = bytes(what, f)?;
    String::from_utf8(b.to_vec()).map_err(|_| err(what, f.offset, format!("field {} is not UTF-8", f.number)))
}

fn parse_instance_info(b: &[u8], base: usize) -> Result<InstanceInfo> {
    const W: &str = "GCEInstanceInfo";
    let mut i = InstanceInfo::default();
    let mut seen = [false; 6];
    for f in Reader::new(b, base, W).fields()? {
        if let Some(s) = seen.get_mut(f.number as usize) {
            if *s {
                return Err(err(W, f.offset, format!("field {} is given twice (a singular field)", f.number)));
            }
            *s = true;
        }
        match f.number {
            1 => i.zone = string(W, &f)?,
            2 => i.project_id = string(W, &f)?,
            3 => i.project_number = varint(W, &f)?,
            4 => i.instance_name = string(W, &f)?,
            5 => i.instance_id = varint(W, &f)?,
            _ => {}
        }
    }
    Ok(i)
}

fn parse_pcrs(b: &[u8], base: usize) -> Result<Pcrs> {
    const W: &str = "PCRs";
    let mut hash = None;
    let mut values = BTreeMap::new();
    for f in Reader::new(b, base, W).fields()? {
        match f.number {
            1 => {
                let h = varint(W, &f)?;
                let h = u16::try_from(h).map_err(|_| err(W, f.offset, format!("hash {h} is not a TPM_ALG_ID")))?;
                once(W, &f, &mut hash, AlgId(h))?;
            }
            2 => {
                const E: &str = "PCRs.pcrs entry";
                let e = bytes(W, &f)?;
                let eb = f.value_offset;
                let (mut key, mut val) = (None, None);
                for g in Reader::new(e, eb, E).fields()? {
                    match g.number {
                        1 => {
                            let k = varint(E, &g)?;
                            let k = u32::try_from(k)
                                .map_err(|_| err(E, g.offset, format!("PCR index {k} does not fit a uint32")))?;
                            once(E, &g, &mut key, k)?;
                        }
                        2 => once(E, &g, &mut val, bytes(E, &g)?.to_vec())?,
                        _ => {}
                    }
                }
                // proto3 omits default values: a missing key is PCR 0, a missing value is empty.
                let k = key.unwrap_or(0);
                if values.insert(k, val.unwrap_or_default()).is_some() {
                    return Err(err(E, f.offset, format!("PCR {k} is given twice")));
                }
            }
            _ => {}
        }
    }
    Ok(Pcrs { hash: hash.unwrap_or(AlgId(0)), values })
}

fn parse_quote(b: &[u8], base: usize) -> Result<Quote> {
    const W: &str = "Quote";
    let (mut quote, mut sig, mut pcrs) = (None, None, None);
    for f in Reader::new(b, base, W).fields()? {
        match f.number {
            1 => once(W, &f, &mut quote, bytes(W, &f)?.to_vec())?,
            2 => once(W, &f, &mut sig, bytes(W, &f)?.to_vec())?,
            3 => {
                let v = bytes(W, &f)?;
                let p = parse_pcrs(v, f.value_offset)?;
                once(W, &f, &mut pcrs, p)?;
            }
            _ => {}
        }
    }
    Ok(Quote { quote: quote.unwrap_or_default(), raw_sig: sig.unwrap_or_default(), pcrs: pcrs.unwrap_or_default() })
}

impl Attestation {
    /// Parses the protobuf strictly (see the module documentation).
    pub fn parse(b: &[u8]) -> Result<Attestation> {
        const W: &str = "Attestation";
        let mut a = Attestation::default();
        let (mut ak_pub, mut log, mut info, mut cel, mut cert) = (None, None, None, None, None);
        let mut tee = None;
        for f in Reader::new(b, 0, W).fields()? {
            match f.number {
                1 => once(W, &f, &mut ak_pub, bytes(W, &f)?.to_vec())?,
                2 => {
                    if a.quotes.len() >= MAX_QUOTES {
                        return Err(err(W, f.offset, format!("more than {MAX_QUOTES} quotes")));
                    }
                    let v = bytes(W, &f)?;
                    a.quotes.push(parse_quote(v, f.value_offset)?);
                }
                3 => once(W, &f, &mut log, bytes(W, &f)?.to_vec())?,
                4 => {
                    let v = bytes(W, &f)?;
                    once(W, &f, &mut info, parse_instance_info(v, f.value_offset)?)?;
                }
                5 => once(W, &f, &mut cel, bytes(W, &f)?.to_vec())?,
                6 => once(W, &f, &mut cert, bytes(W, &f)?.to_vec())?,
                7 => {
                    if a.intermediate_certs.len() >= MAX_INTERMEDIATES {
                        return Err(err(
                            W,
                            f.offset,
                            format!("more than {MAX_INTERMEDIATES} intermediate certificates"),
                        ));
                    }
                    a.intermediate_certs.push(bytes(W, &f)?.to_vec());
                }
                8 | 9 => once(W, &f, &mut tee, (f.number, bytes(W, &f)?.to_vec()))?,
                n => a.unknown_fields.push(n),
            }
        }
        a.ak_pub = ak_pub.unwrap_or_default();
        a.event_log = log.unwrap_or_default();
        a.instance_info = info;
        a.canonical_event_log = cel.unwrap_or_default();
        a.ak_cert = cert.unwrap_or_default();
        a.tee_attestation = tee;
        Ok(a)
    }

    /// Whether `b` looks like an Attestation: starts with field 1 (ak_pub, length-delimited)
    /// holding an RSA or ECC TPMT_PUBLIC, and parses.
    pub fn looks_like(b: &[u8]) -> bool {
        let mut r = Reader::new(b, 0, "Attestation");
        let first = matches!(r.next_field(), Ok(Some(Field { number: 1, value: WireValue::Bytes(p), .. }))
            if p.starts_with(&[0x00, 0x01]) || p.starts_with(&[0x00, 0x23]));
        first && Attestation::parse(b).is_ok()
    }

    /// The protobuf encoding (fields in schema order; what go-tpm-tools writes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut o = Vec::new();
        put_bytes(&mut o, 1, &self.ak_pub);
        for q in &self.quotes {
            let mut qm = Vec::new();
            put_bytes(&mut qm, 1, &q.quote);
            put_bytes(&mut qm, 2, &q.raw_sig);
            let mut pm = Vec::new();
            put_varint_field(&mut pm, 1, u64::from(q.pcrs.hash.0));
            for (k, v) in &q.pcrs.values {
                let mut e = Vec::new();
                put_varint_field(&mut e, 1, u64::from(*k));
                put_bytes(&mut e, 2, v);
                put_len(&mut pm, 2, &e);
            }
            put_len(&mut qm, 3, &pm);
            put_len(&mut o, 2, &qm);
        }
        put_bytes(&mut o, 3, &self.event_log);
        if let Some(i) = &self.instance_info {
            let mut m = Vec::new();
            put_bytes(&mut m, 1, i.zone.as_bytes());
            put_bytes(&mut m, 2, i.project_id.as_bytes());
            put_varint_field(&mut m, 3, i.project_number);
            put_bytes(&mut m, 4, i.instance_name.as_bytes());
            put_varint_field(&mut m, 5, i.instance_id);
            put_len(&mut o, 4, &m);
        }
        put_bytes(&mut o, 5, &self.canonical_event_log);
        put_bytes(&mut o, 6, &self.ak_cert);
        for c in &self.intermediate_certs {
            put_len(&mut o, 7, c);
        }
        if let Some((n, v)) = &self.tee_attestation {
            put_len(&mut o, *n, v);
        }
        o
    }
}

fn put_varint(o: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        o.push((v as u8) | 0x80);
        v >>= 7;
    }
    o.push(v as u8);
}

fn put_varint_field(o: &mut Vec<u8>, n: u32, v: u64) {
    // proto3: default values are not written.
    if v != 0 {
        put_varint(o, u64::from(n) << 3);
        put_varint(o, v);
    }
}

/// A length-delimited field, always written (repeated elements and messages).
fn put_len(o: &mut Vec<u8>, n: u32, v: &[u8]) {
    put_varint(o, (u64::from(n) << 3) | 2);
    put_varint(o, v.len() as u64);
    o.extend_from_slice(v);
}

/// A singular bytes/string field: omitted when empty (proto3).
fn put_bytes(o: &mut Vec<u8>, n: u32, v: &[u8]) {
    if !v.is_empty() {
        put_len(o, n, v);
    }
}

/// `show` of a go-tpm-tools Attestation: every field, the TPM structures decoded where they
/// parse (an error in place of one that does not).
pub fn describe(a: &Attestation) -> serde_json::Value {
    use crate::describe::pki_json;
    use crate::tpm::{AkPublic, Attest, Signature};
    use serde_json::{Value, json};
    let quotes: Vec<Value> = a
        .quotes
        .iter()
        .map(|q| {
            let mut pcrs = serde_json::Map::new();
            for (i, v) in &q.pcrs.values {
                pcrs.insert(i.to_string(), json!(hex::encode(v)));
            }
            json!({
                "bank": q.pcrs.hash.name(),
                "attest": match Attest::parse(&q.quote) {
                    Ok(at) => json!({"extra_data": hex::encode(&at.extra_data), "clock": at.clock,
                        "reset_count": at.reset_count, "restart_count": at.restart_count, "safe": at.safe,
                        "firmware_version": format!("{:#018x}", at.firmware_version),
                        "selection": at.selection.iter().map(|(b, i)| json!({"bank": b.name(), "pcrs": i})).collect::<Vec<_>>(),
                        "pcr_digest": hex::encode(&at.pcr_digest)}),
                    Err(e) => json!({"error": e.to_string()}),
                },
                "signature": match Signature::parse(&q.raw_sig) {
                    Ok(s) => json!(s.scheme_name()),
                    Err(e) => json!({"error": e.to_string()}),
                },
                "pcrs": pcrs,
            })
        })
        .collect();
    json!({
        "ak_pub": match AkPublic::parse(&a.ak_pub) {
            Ok(k) => json!({"sha256": k.params.fingerprint(), "name_alg": k.name_alg}),
            Err(e) => json!({"error": e.to_string()}),
        },
        "quotes": quotes,
        "event_log_bytes": a.event_log.len(),
        "canonical_event_log_bytes": a.canonical_event_log.len(),
        "instance_info": a.instance_info,
        "ak_cert": if a.ak_cert.is_empty() { Value::Null } else { pki_json(&a.ak_cert) },
        "intermediate_certs": a.intermediate_certs.iter().map(|c| pki_json(c)).collect::<Vec<_>>(),
        "tee_attestation": a.tee_attestation.as_ref().map(|(n, b)| json!({"field": n, "bytes": b.len()})),
        "unknown_fields": a.unknown_fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_errors_name_field_and_offset() {
        // field 1, wire type 3 (group).
        let e = Attestation::parse(&[0x0b]).expect_err("group");
        assert!(e.detail.contains("wire type 3") && e.detail.contains("offset 0"), "{}", e.detail);
        // field 0.
        assert!(Attestation::parse(&[0x02, 0x00]).expect_err("zero").detail.contains("field number 0"));
        // length past the end.
        let e = Attestation::parse(&[0x0a, 0x05, 1, 2]).expect_err("len");
        assert!(e.detail.contains("field 1: length 5 runs past the end (2 bytes left)"), "{}", e.detail);
        // over-long varint.
        let e = Attestation::parse(&[0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]).expect_err("v");
        assert!(e.detail.contains("overflows"), "{}", e.detail);
        let e = Attestation::parse(&[0x18, 0x80]).expect_err("trunc");
        assert!(e.detail.contains("truncated varint at") || e.detail.contains("offset 1"), "{}", e.detail);
        // ak_pub as a varint: wrong wire type.
        let e = Attestation::parse(&[0x08, 0x01]).expect_err("wire");
        assert!(e.detail.contains("field 1 has wire type 0"), "{}", e.detail);
        // ak_pub twice.
        let e = Attestation::parse(&[0x0a, 0x01, 0x00, 0x0a, 0x01, 0x00]).expect_err("twice");
        assert!(e.detail.contains("offset 3") && e.detail.contains("twice"), "{}", e.detail);
        // unknown fields are skipped and listed.
        let a = Attestation::parse(&[0x78, 0x01, 0x0a, 0x01, 0x00]).expect("unknown field 15");
        assert_eq!(a.unknown_fields, vec![15]);
    }

    #[test]
    fn nested_offsets_and_round_trip() {
        let mut a = Attestation { ak_pub: vec![0, 1, 2], ..Default::default() };
        let mut values = BTreeMap::new();
        values.insert(0, vec![0u8; 32]);
        values.insert(7, vec![7u8; 32]);
        a.quotes.push(Quote { quote: vec![1; 5], raw_sig: vec![2; 6], pcrs: Pcrs { hash: AlgId::SHA256, values } });
        a.intermediate_certs = vec![vec![9; 3], vec![8; 2]];
        a.instance_info = Some(InstanceInfo { zone: "z".into(), instance_id: 42, ..Default::default() });
        let b = a.to_bytes();
        assert_eq!(Attestation::parse(&b).expect("round trip"), a);
        // A duplicated PCR index inside the nested map: the error names the entry's offset.
        let mut dup = a.clone();
        dup.quotes[0].pcrs.values.clear();
        let mut b = dup.to_bytes();
        // Append a PCRs message with two entries for PCR 3 as a second quote.
        let entry = [0x12, 0x04, 0x08, 0x03, 0x12, 0x00];
        let mut pm = vec![0x08, 0x0b];
        pm.extend(entry);
        pm.extend(entry);
        let mut qm = vec![0x1a, pm.len() as u8];
        qm.extend(&pm);
        b.push(0x12);
        b.push(qm.len() as u8);
        let quote_at = b.len();
        b.extend(&qm);
        let e = Attestation::parse(&b).expect_err("dup");
        let second_entry = quote_at + 2 + 2 + entry.len();
        assert!(e.detail.contains(&format!("offset {second_entry}: PCR 3 is given twice")), "{}", e.detail);
        // Every truncation is an error or a shorter valid message, never a panic.
        let full = a.to_bytes();
        for n in 0..full.len() {
            let _ = Attestation::parse(&full[..n]);
        }
    }
}
