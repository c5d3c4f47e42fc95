//! Offline bundles: one JSON file (`cloud-ra/collateral-bundle/v1`) with a manifest of every
//! cached item (key, SHA-256 and size of its body) and the entries themselves. Import checks the
//! manifest against every entry, validates every body as if it had just been fetched (pinned
//! roots, signatures), and only then writes anything.

use crate::cache::Entry;
use crate::error::{CollError, Kind};
use crate::item::Item;
use crate::store::Store;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const BUNDLE_FORMAT: &str = "cloud-ra/collateral-bundle/v1";
/// Largest bundle read.
pub const MAX_BUNDLE: u64 = 256 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestItem {
    pub key: String,
    pub description: String,
    pub sha256: String,
    pub bytes: usize,
    #[serde(default)]
    pub valid_until: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    pub format: String,
    pub created_at: String,
    pub manifest: Vec<ManifestItem>,
    pub entries: Vec<Entry>,
}

/// Writes every good cache entry to `out` (atomically). Returns the number of items.
pub fn export(store: &Store, out: &Path) -> Result<usize, CollError> {
    let mut manifest = Vec::new();
    let mut entries = Vec::new();
    for e in store.cache().all().into_iter().flatten() {
        let body = e.body().map_err(|why| CollError::new(Kind::Cache, format!("{}: {why}", e.key)))?;
        manifest.push(ManifestItem {
            key: e.key.clone(),
            description: e.item.describe(),
            sha256: e.sha256.clone(),
            bytes: body.len(),
            valid_until: e.valid_until,
        });
        entries.push(e);
    }
    let b = Bundle {
        format: BUNDLE_FORMAT.into(),
        created_at: cloud_ra_verify::Timestamp::now().to_rfc3339(),
        manifest,
        entries,
    };
    let text = serde_json::to_vec_pretty(&b).map_err(|e| CollError::new(Kind::Cache, format!("bundle: {e}")))?;
    let tmp = out.with_file_name(format!(
        ".{}.tmp-{}",
        out.file_name().and_then(|n| n.to_str()).unwrap_or("bundle"),
        std::process::id()
    ));
    let r = (|| -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&text)?;
        f.sync_all()?;
        std::fs::rename(&tmp, out)
    })();
    if let Err(e) = r {
        let _ = std::fs::remove_file(&tmp);
        return Err(CollError::io(Kind::Cache, out, e));
    }
    Ok(b.entries.len())
}

/// Items needed as context first (AMD chains; Intel items carrying the root in their chain).
fn rank(i: &Item) -> u8 {
    match i {
        Item::AmdCertChain { .. } => 0,
        Item::IntelTcbInfo { .. } | Item::IntelQeIdentity { .. } | Item::IntelPckCrl { .. } => 1,
        _ => 2,
    }
}

/// Reads, checks and stores a bundle. Nothing is written unless every item checks out.
pub fn import(store: &Store, file: &Path) -> Result<usize, CollError> {
    let meta = std::fs::metadata(file).map_err(|e| CollError::io(Kind::Usage, file, e))?;
    if meta.len() > MAX_BUNDLE {
        return Err(CollError::new(
            Kind::Usage,
            format!("{}: {} bytes is larger than {MAX_BUNDLE}", file.display(), meta.len()),
        ));
    }
    let bytes = std::fs::read(file).map_err(|e| CollError::io(Kind::Usage, file, e))?;
    let bad = |why: String| CollError::new(Kind::Invalid, format!("{}: {why}; nothing was imported", file.display()));
    let b: Bundle =
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("not a cloud-ra collateral bundle: {e}")))?;
    if b.format != BUNDLE_FORMAT {
        return Err(bad(format!("format '{}' is not {BUNDLE_FORMAT}", b.format)));
    }
    if b.manifest.len() != b.entries.len() {
        return Err(bad(format!("the manifest lists {} items but {} are present", b.manifest.len(), b.entries.len())));
    }
    let mut entries: Vec<(Entry, Vec<u8>)> = Vec::new();
    for (m, e) in b.manifest.iter().zip(b.entries.iter()) {
        let body = e.check().map_err(|why| bad(format!("item {}: {why}", e.key)))?;
        if m.key != e.key || m.sha256 != e.sha256 || m.bytes != body.len() {
            return Err(bad(format!("item {}: does not match its manifest line (key, SHA-256 or size)", e.key)));
        }
        entries.push((e.clone(), body));
    }
    entries.sort_by_key(|(e, _)| rank(&e.item));
    // Validate all (in a scratch store sharing the context), then write all.
    let mut checked = Vec::new();
    for (e, body) in &entries {
        let v = crate::validate::validate_trusting(
            &e.item,
            body,
            e.content_type.as_deref(),
            e.issuer_chain.as_deref(),
            &store.ctx_snapshot(),
            store.cfg.trust_simulated,
        )
        .map_err(|why| bad(format!("item {} ({}): {}", e.key, e.item.describe(), why.detail)))?;
        let mut e = e.clone();
        e.valid_from = v.from;
        e.valid_until = v.until;
        store.remember_entry(&e);
        checked.push(e);
    }
    for e in &checked {
        store.cache().store(e)?;
    }
    Ok(checked.len())
}
