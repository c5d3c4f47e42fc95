//! Measured boot: TCG PC Client event logs (legacy SHA-1 and crypto-agile) and the TDX CCEL,
//! their replay into PCRs / RTMRs, the comparison with the registers of a verified quote, and the
//! claims a log supports once its registers are vouched for.

pub mod bind;
pub mod claims;
pub mod decode;
pub mod format;
pub(crate) mod replay;

pub use format::{AlgId, Event, EventLog, Flavour, LogFormat, parse, parse_ccel, parse_ccel_table};
pub use replay::{Replay, replay};

use serde_json::{Value, json};

/// `show`: the log with every event decoded.
pub fn show_json(log: &EventLog) -> Value {
    let events: Vec<Value> = log
        .events
        .iter()
        .map(|e| {
            let mut digests = serde_json::Map::new();
            for (a, d) in &e.digests {
                digests.insert(a.name(), json!(hex::encode(d)));
            }
            json!({
                "number": e.number,
                "offset": e.offset,
                (if log.format == LogFormat::Ccel { "mr" } else { "pcr" }): e.register,
                "type": e.type_name(),
                "type_value": e.event_type,
                "digests": digests,
                "data_length": e.data.len(),
                "details": decode::details(e),
                "digest_check": if e.extends() { json!(decode::digest_check(e)) } else { json!("no_extend") },
            })
        })
        .collect();
    json!({
        "format": log.format,
        "banks": log.banks().iter().map(|(a, s)| json!({"alg": a.name(), "size": s})).collect::<Vec<_>>(),
        "spec_id": log.spec_id.as_ref().map(|s| json!({
            "platform_class": s.platform_class,
            "spec_version": format!("{}.{}.{}", s.spec_version.0, s.spec_version.1, s.spec_version.2),
            "uintn_size": s.uintn_size,
            "vendor_info": hex::encode(&s.vendor_info),
        })),
        "startup_locality": log.startup_locality,
        "ccel_table": log.ccel_table,
        "log_bytes": log.log_bytes,
        "event_count": log.events.len(),
        "events": events,
    })
}
