//! Replay: every bank and register, `R = H(R || digest)`, from zero (PCR0 from the
//! StartupLocality value when the log carries one). EV_NO_ACTION never extends. A CCEL replays
//! SHA-384 48-byte registers keyed by CC MR index.

use super::format::*;
use crate::Check;
use crate::error::{Error, Result};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// One register of one bank after replay, with the value after each event that extended it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Register {
    pub value: Vec<u8>,
    /// Initial value (zero, or the locality value for PCR0).
    pub initial: Vec<u8>,
    /// (event number, value after that event), in order.
    pub history: Vec<(usize, Vec<u8>)>,
}

impl Register {
    /// The first event after the longest replay prefix that equals `target`: the event where the
    /// log diverges from a register that holds `target`, when `target` is an intermediate value.
    /// `None` when no prefix of the replay reaches `target`.
    pub(crate) fn divergence(&self, target: &[u8]) -> Option<Divergence> {
        if self.initial == target {
            return self.history.first().map(|(n, _)| Divergence::ExtraEventsFrom(*n));
        }
        let pos = self.history.iter().position(|(_, v)| v == target)?;
        self.history.get(pos + 1).map(|(n, _)| Divergence::ExtraEventsFrom(*n))
    }
}

/// Where a mismatch comes from, when it can be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Divergence {
    /// The register equals the replay up to just before this event: this event and later ones
    /// were not extended into the register (or were extended after the quote).
    ExtraEventsFrom(usize),
}

/// The replayed registers of a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    /// The format of the replayed log.
    pub format: LogFormat,
    /// bank → register index → register.
    pub banks: BTreeMap<AlgId, BTreeMap<u32, Register>>,
    /// Banks listed by the log whose algorithm cloud-ra cannot compute.
    pub skipped_banks: Vec<AlgId>,
}

impl Replay {
    /// The replayed value of register `index` in `bank`, if the log extends it.
    pub fn value(&self, bank: AlgId, index: u32) -> Option<&[u8]> {
        self.banks.get(&bank)?.get(&index).map(|r| r.value.as_slice())
    }

    /// `{"pcrs": {"sha256": {"0": HEX, ...}, ...}}` for TPM logs, `{"mr": {"1": HEX, ...}}` for CCELs.
    pub fn to_json(&self) -> Value {
        let regs = |m: &BTreeMap<u32, Register>| {
            let mut o = Map::new();
            for (i, r) in m {
                o.insert(i.to_string(), json!(hex::encode(&r.value)));
            }
            Value::Object(o)
        };
        if self.format == LogFormat::Ccel {
            let empty = BTreeMap::new();
            json!({"mr": regs(self.banks.get(&AlgId::SHA384).unwrap_or(&empty))})
        } else {
            let mut o = Map::new();
            for (alg, m) in &self.banks {
                o.insert(alg.name(), regs(m));
            }
            json!({"pcrs": o})
        }
    }
}

/// Replays the log (every event that extends, whatever its meaning: a log whose boot state cannot
/// be extracted, e.g. with a duplicated separator, still replays).
pub fn replay(log: &EventLog) -> Result<Replay> {
    let mut banks: BTreeMap<AlgId, BTreeMap<u32, Register>> = BTreeMap::new();
    let mut skipped = Vec::new();
    let wanted: Vec<(AlgId, usize)> = match log.format {
        LogFormat::Ccel => vec![(AlgId::SHA384, 48)],
        _ => log.banks(),
    };
    for (alg, size) in &wanted {
        if alg.hash(&[]).is_none() {
            skipped.push(*alg);
            continue;
        }
        banks.insert(*alg, BTreeMap::new());
        let bank =
            banks.get_mut(alg).ok_or_else(|| Error::evidence(Check::EventlogReplay, "internal: bank missing"))?;
        if log.format != LogFormat::Ccel
            && let Some(loc) = log.startup_locality
        {
            let mut init = vec![0u8; *size];
            if let Some(last) = init.last_mut() {
                *last = loc;
            }
            bank.insert(0, Register { value: init.clone(), initial: init, history: Vec::new() });
        }
        for e in log.body() {
            if !e.extends() {
                continue;
            }
            let d = e.digest(*alg).ok_or_else(|| {
                Error::evidence(
                    Check::EventlogReplay,
                    format!("event {} at offset {}: no {} digest", e.number, e.offset, alg.name()),
                )
            })?;
            let r = bank.entry(e.register).or_insert_with(|| Register {
                value: vec![0u8; *size],
                initial: vec![0u8; *size],
                history: Vec::new(),
            });
            let v = alg.extend(&r.value, d).unwrap_or_default();
            r.history.push((e.number, v.clone()));
            r.value = v;
        }
    }
    Ok(Replay { format: log.format, banks, skipped_banks: skipped })
}

/// EV_SEPARATOR appears at most once on the secure-boot register (PCR7, or CC MR 1 = RTMR0 in a
/// CCEL) and on the firmware-driver register (PCR2, or CC MR 2): a second one (a known UEFI bug)
/// makes the pre-/post-separator split — and so the secure-boot state — ambiguous.
pub(crate) fn check_separators(log: &EventLog) -> Result<()> {
    let regs: [u32; 2] = if log.format == LogFormat::Ccel { [1, 2] } else { [7, 2] };
    let mut seen: BTreeMap<u32, usize> = BTreeMap::new();
    for e in log.body().filter(|e| e.event_type == EV_SEPARATOR && regs.contains(&e.register)) {
        if let Some(first) = seen.insert(e.register, e.number) {
            return Err(Error::evidence(
                Check::EventlogSeparator,
                format!(
                    "duplicate separator at event {} (offset {}) on {} {}: event {first} already separated it",
                    e.number,
                    e.offset,
                    if log.format == LogFormat::Ccel { "CC MR" } else { "PCR" },
                    e.register
                ),
            ));
        }
    }
    Ok(())
}
