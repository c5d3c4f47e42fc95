//! The on-disk cache: `<dir>/v1/<item key>/<sha256 of body, 16 hex>.json`, one self-checking JSON
//! entry per version of an item (body byte-exact in base64, its SHA-256, the issuer chain from
//! the response headers, fetch time and validity). Writes go to a temporary file in the same
//! folder, are synced, then renamed: a crash or a full disk never leaves a half-written entry,
//! and concurrent processes writing the same item write the same name with the same content.
//! Entries that do not check out on reading are ignored (and reported by `list`).

use crate::error::{CollError, Kind};
use crate::item::Item;
use base64::Engine;
use cloud_ra_verify::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub const ENTRY_FORMAT: &str = "cloud-ra/collateral-entry/v1";
/// Largest entry file read back.
const MAX_ENTRY_FILE: u64 = 8 << 20;
/// Most versions of one item considered.
const MAX_VERSIONS: usize = 64;

/// One cached item version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub format: String,
    pub key: String,
    pub item: Item,
    /// Where it came from (URL, or `import:<file>`).
    pub source: String,
    /// Unix seconds.
    pub fetched_at: i64,
    /// issueDate / thisUpdate, when the item has one.
    #[serde(default)]
    pub valid_from: Option<i64>,
    /// nextUpdate; None: kept indefinitely (certificates).
    #[serde(default)]
    pub valid_until: Option<i64>,
    #[serde(default)]
    pub content_type: Option<String>,
    /// The response body, byte-exact, base64.
    pub body: String,
    /// SHA-256 of the body, hex.
    pub sha256: String,
    /// PEM issuer chain from the response header (Intel PCS), URL-decoded.
    #[serde(default)]
    pub issuer_chain: Option<String>,
}

impl Entry {
    pub fn new(item: &Item, source: &str, fetched_at: Timestamp, body: &[u8]) -> Self {
        Entry {
            format: ENTRY_FORMAT.into(),
            key: item.key(),
            item: item.clone(),
            source: source.into(),
            fetched_at: fetched_at.0,
            valid_from: None,
            valid_until: None,
            content_type: None,
            body: base64::engine::general_purpose::STANDARD.encode(body),
            sha256: hex::encode(Sha256::digest(body)),
            issuer_chain: None,
        }
    }

    pub fn body(&self) -> Result<Vec<u8>, String> {
        let b = base64::engine::general_purpose::STANDARD
            .decode(self.body.as_bytes())
            .map_err(|e| format!("body is not base64: {e}"))?;
        if hex::encode(Sha256::digest(&b)) != self.sha256 {
            return Err("body does not match its SHA-256".into());
        }
        Ok(b)
    }

    /// Self-consistency: format, key of the item, body hash.
    pub fn check(&self) -> Result<Vec<u8>, String> {
        if self.format != ENTRY_FORMAT {
            return Err(format!("format '{}' is not {ENTRY_FORMAT}", self.format));
        }
        if self.key != self.item.key() {
            return Err(format!("key '{}' is not the item's key '{}'", self.key, self.item.key()));
        }
        self.body()
    }

    pub fn valid_at(&self, at: Timestamp) -> bool {
        self.valid_from.is_none_or(|f| f <= at.0) && self.valid_until.is_none_or(|u| at.0 < u)
    }

    fn file_name(&self) -> String {
        format!("{}.json", &self.sha256[..16.min(self.sha256.len())])
    }
}

/// What the cache holds for an item at an evaluation time.
#[derive(Debug, Clone)]
pub enum Lookup {
    Valid(Entry),
    /// Only versions not valid at that time (expired, or not yet valid): the newest one.
    Invalid(Entry),
    Missing,
}

pub struct Cache {
    root: PathBuf,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl Cache {
    pub fn new(dir: &Path) -> Self {
        Cache { root: dir.join("v1") }
    }

    pub fn dir(&self) -> &Path {
        &self.root
    }

    fn item_dir(&self, key: &str) -> PathBuf {
        let mut p = self.root.clone();
        for seg in key.split('/') {
            p.push(seg);
        }
        p
    }

    /// Every readable, self-consistent version of an item, newest fetch first.
    pub fn versions(&self, item: &Item) -> Vec<Entry> {
        let key = item.key();
        let dir = self.item_dir(&key);
        let mut out = Vec::new();
        let Ok(rd) = std::fs::read_dir(&dir) else {
            return out;
        };
        for e in rd.flatten().take(MAX_VERSIONS * 4) {
            let p = e.path();
            if p.extension().and_then(|x| x.to_str()) != Some("json") {
                continue;
            }
            if let Ok(entry) = read_entry(&p)
                && entry.key == key
                && &entry.item == item
            {
                out.push(entry);
            }
            if out.len() >= MAX_VERSIONS {
                break;
            }
        }
        out.sort_by(|a, b| b.fetched_at.cmp(&a.fetched_at).then(b.valid_until.cmp(&a.valid_until)));
        out
    }

    pub fn lookup(&self, item: &Item, at: Timestamp) -> Lookup {
        let v = self.versions(item);
        if let Some(e) =
            v.iter().filter(|e| e.valid_at(at)).max_by_key(|e| (e.valid_until.unwrap_or(i64::MAX), e.fetched_at))
        {
            return Lookup::Valid(e.clone());
        }
        match v.into_iter().next() {
            Some(e) => Lookup::Invalid(e),
            None => Lookup::Missing,
        }
    }

    /// Writes an entry atomically (temporary file, fsync, rename). The entry must check out.
    pub fn store(&self, entry: &Entry) -> Result<PathBuf, CollError> {
        entry.check().map_err(|e| CollError::new(Kind::Invalid, format!("refusing to cache {}: {e}", entry.key)))?;
        let dir = self.item_dir(&entry.key);
        std::fs::create_dir_all(&dir).map_err(|e| CollError::io(Kind::Cache, &dir, e))?;
        let text = serde_json::to_vec_pretty(entry)
            .map_err(|e| CollError::new(Kind::Cache, format!("cannot serialise {}: {e}", entry.key)))?;
        let fin = dir.join(entry.file_name());
        let tmp = dir.join(format!(
            ".tmp-{}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            Timestamp::now().0
        ));
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
            f.write_all(&text)?;
            f.sync_all()?;
            Ok(())
        };
        if let Err(e) = write() {
            let _ = std::fs::remove_file(&tmp);
            return Err(CollError::io(Kind::Cache, &tmp, e));
        }
        if let Err(e) = std::fs::rename(&tmp, &fin) {
            let _ = std::fs::remove_file(&tmp);
            return Err(CollError::io(Kind::Cache, &fin, e));
        }
        // Make the rename durable where the platform allows (best effort).
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(fin)
    }

    /// Every entry file under the cache: Ok(entry) or Err((path, why)).
    pub fn all(&self) -> Vec<Result<Entry, (PathBuf, String)>> {
        let mut out = Vec::new();
        let mut stack = vec![self.root.clone()];
        let mut seen = 0usize;
        while let Some(d) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&d) else { continue };
            for e in rd.flatten() {
                seen += 1;
                if seen > 100_000 {
                    return out;
                }
                let p = e.path();
                match e.file_type() {
                    Ok(t) if t.is_dir() => stack.push(p),
                    Ok(t) if t.is_file() => {
                        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                        if name.starts_with(".tmp-") {
                            continue;
                        }
                        if name.ends_with(".json") {
                            out.push(read_entry(&p).map_err(|why| (p.clone(), why)));
                        }
                    }
                    _ => {}
                }
            }
        }
        out.sort_by(|a, b| match (a, b) {
            (Ok(x), Ok(y)) => x.key.cmp(&y.key).then(x.fetched_at.cmp(&y.fetched_at)),
            (Ok(_), Err(_)) => std::cmp::Ordering::Less,
            (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
            (Err(x), Err(y)) => x.0.cmp(&y.0),
        });
        out
    }
}

/// Reads one entry file: a regular file (after following symlinks) of at most
/// [`MAX_ENTRY_FILE`] bytes. A FIFO, a device (a symlink to `/dev/zero`), a socket or a
/// directory is refused without reading: opened non-blocking, checked again on the open handle
/// (the name may have been swapped meanwhile), and read through a bound either way.
fn read_entry(p: &Path) -> Result<Entry, String> {
    use std::io::Read;
    let meta = std::fs::metadata(p).map_err(|e| e.to_string())?;
    regular_within_limit(&meta)?;
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Opening a FIFO for reading blocks until a writer comes; non-blocking, it does not.
        o.custom_flags(libc::O_NONBLOCK);
    }
    let f = o.open(p).map_err(|e| e.to_string())?;
    regular_within_limit(&f.metadata().map_err(|e| e.to_string())?)?;
    let mut bytes = Vec::new();
    f.take(MAX_ENTRY_FILE + 1).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_ENTRY_FILE {
        return Err(format!("more than {MAX_ENTRY_FILE} bytes"));
    }
    let entry: Entry = serde_json::from_slice(&bytes).map_err(|e| format!("not a cache entry: {e}"))?;
    entry.check()?;
    Ok(entry)
}

fn regular_within_limit(meta: &std::fs::Metadata) -> Result<(), String> {
    if !meta.is_file() {
        return Err(format!("not a regular file ({:?}): cache entries are plain files", meta.file_type()));
    }
    if meta.len() > MAX_ENTRY_FILE {
        return Err(format!("{} bytes is larger than {MAX_ENTRY_FILE}", meta.len()));
    }
    Ok(())
}
