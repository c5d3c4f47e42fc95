//! Cache first, then the network: each item is served from the cache when a version valid at the
//! evaluation time is there, else fetched from its source (AMD KDS, Azure THIM for VCEKs when
//! configured, Intel PCS/PCCS, AWS), validated, cached and served. `offline` forbids the network
//! and says precisely what is missing.

use crate::cache::{Cache, Entry, Lookup};
use crate::config::Config;
use crate::error::{CollError, Kind};
use crate::http::Http;
use crate::item::Item;
use crate::needs::{Need, Needs};
use crate::validate::{issuer_chain_headers, load, percent_decode, validate_trusting};
use cloud_ra_verify::{Collateral, Timestamp};
use std::sync::{Mutex, OnceLock};

/// Where an item came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Cache,
    Network,
    /// An expired cached copy, served because refreshing failed and `allow_stale` is set.
    Stale,
}

#[derive(Debug, Clone)]
pub struct Got {
    pub entry: Entry,
    pub origin: Origin,
    /// Requests sent for it (0 from the cache).
    pub attempts: u32,
    /// Something the user should know (stale copy served, fetched copy not valid at `at`).
    pub note: Option<String>,
}

/// The outcome of gathering a list of needs.
#[derive(Debug, Default)]
pub struct Gathered {
    pub got: Vec<Got>,
    pub failed: Vec<(Need, CollError)>,
    /// Optional items neither cached nor fetched.
    pub skipped: Vec<Need>,
    pub unfetchable: Vec<String>,
}

impl Gathered {
    pub fn from_cache(&self) -> usize {
        self.got.iter().filter(|g| g.origin == Origin::Cache).count()
    }
    pub fn from_network(&self) -> usize {
        self.got.iter().filter(|g| g.origin == Origin::Network).count()
    }
    /// Every item gathered, as verifier collateral.
    pub fn collateral(&self) -> Collateral {
        let mut c = Collateral::default();
        for g in &self.got {
            if let Ok(body) = g.entry.body() {
                let name = format!("cache: {}", g.entry.key);
                let _ = load(&g.entry.item, &body, g.entry.issuer_chain.as_deref(), &name, &mut c);
            }
        }
        c
    }
}

pub struct Store {
    pub cfg: Config,
    cache: Cache,
    http: OnceLock<Result<Http, CollError>>,
    /// Trusted context for validating new items: built-in AMD roots plus everything served.
    ctx: Mutex<Collateral>,
}

const THIM_PATH: &str = "/metadata/THIM/amd/certification";

fn not_found_hint(item: &Item) -> &'static str {
    match item {
        Item::AmdVcek { .. } => {
            "KDS answers 404 when the CHIP_ID is masked or not this chip's, when the product line is wrong (Bergamo and Siena are Genoa), or when the report is VLEK-signed (AWS): VLEKs are not on KDS."
        }
        Item::AmdCertChain { .. } | Item::AmdCrl { .. } => {
            "Check the product line (Milan, Genoa, Turin) and the KDS base URL (--kds-url)."
        }
        Item::IntelTcbInfo { .. } => {
            "PCS has no TCB info for this FMSPC and TEE type (an SGX platform asked on /tdx or the reverse, or a PCCS that has not cached it); check --pcs-url."
        }
        _ => "Check the base URL of this source.",
    }
}

impl Store {
    pub fn new(cfg: Config) -> Self {
        let cache = Cache::new(&cfg.cache_dir);
        Store { cfg, cache, http: OnceLock::new(), ctx: Mutex::new(crate::builtin_amd()) }
    }

    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    fn http(&self) -> Result<&Http, CollError> {
        self.http.get_or_init(|| Http::new(&self.cfg)).as_ref().map_err(|e| e.clone())
    }

    /// Adds an entry to the validation context (import validates in order).
    pub fn remember_entry(&self, e: &Entry) {
        self.remember(e)
    }

    /// The validation context.
    pub fn ctx_snapshot(&self) -> Collateral {
        self.ctx()
    }

    fn remember(&self, e: &Entry) {
        if let (Ok(body), Ok(mut ctx)) = (e.body(), self.ctx.lock()) {
            let _ = load(&e.item, &body, e.issuer_chain.as_deref(), &e.key, &mut ctx);
        }
    }

    fn ctx(&self) -> Collateral {
        self.ctx.lock().map(|c| c.clone()).unwrap_or_default()
    }

    pub fn url(&self, item: &Item) -> String {
        let base = match item {
            Item::AmdCertChain { .. } | Item::AmdVcek { .. } | Item::AmdCrl { .. } => &self.cfg.kds_url,
            Item::AwsNitroRoot => &self.cfg.aws_root_url,
            _ => &self.cfg.pcs_url,
        };
        format!("{base}{}", item.url_path())
    }

    /// One item valid at `at`: cache, else network (unless offline).
    pub fn get(&self, item: &Item, at: Timestamp) -> Result<Got, CollError> {
        let cached = self.cache.lookup(item, at);
        let stale = match cached {
            Lookup::Valid(e) => {
                self.remember(&e);
                return Ok(Got { entry: e, origin: Origin::Cache, attempts: 0, note: None });
            }
            Lookup::Invalid(e) => Some(e),
            Lookup::Missing => None,
        };
        let window = |e: &Entry| {
            format!(
                "{} .. {}",
                e.valid_from.map(|t| Timestamp(t).to_rfc3339()).unwrap_or_else(|| "-".into()),
                e.valid_until.map(|t| Timestamp(t).to_rfc3339()).unwrap_or_else(|| "-".into())
            )
        };
        if self.cfg.offline {
            let why = match &stale {
                Some(e) => format!("the cached copy is valid {}, not at {at}", window(e)),
                None => "not in the cache".to_string(),
            };
            return Err(CollError::new(
                Kind::Offline,
                format!(
                    "{} ({}): {why} ({}), and --offline forbids fetching {}",
                    item.describe(),
                    item.key(),
                    self.cache.dir().display(),
                    self.url(item)
                ),
            ));
        }
        match self.fetch(item) {
            Ok((entry, attempts)) => {
                let note = (!entry.valid_at(at)).then(|| {
                    format!(
                        "fetched {}, but it is valid {}, not at the evaluation time {at}",
                        item.describe(),
                        window(&entry)
                    )
                });
                Ok(Got { entry, origin: Origin::Network, attempts, note })
            }
            Err(err) => match stale {
                Some(e) if self.cfg.allow_stale && err.kind != Kind::Cache => {
                    self.remember(&e);
                    let note = format!(
                        "serving the EXPIRED cached {} (valid {}) because refreshing failed: {err}",
                        item.describe(),
                        window(&e)
                    );
                    Ok(Got { entry: e, origin: Origin::Stale, attempts: 0, note: Some(note) })
                }
                Some(e) if err.kind != Kind::Cache => Err(CollError::new(
                    err.kind,
                    format!(
                        "{err}; the cached {} is valid {}, not at {at}, and is not served (--allow-stale would serve it with a warning)",
                        item.describe(),
                        window(&e)
                    ),
                )),
                _ => Err(err),
            },
        }
    }

    /// Fetches, validates and caches one item, whatever the cache holds.
    pub fn fetch(&self, item: &Item) -> Result<(Entry, u32), CollError> {
        if self.cfg.offline {
            return Err(CollError::new(Kind::Offline, format!("--offline forbids fetching {}", self.url(item))));
        }
        let http = self.http()?;
        let mut attempts = 0;
        let mut thim_note = None;
        if let (Item::AmdVcek { .. }, Some(thim)) = (item, &self.cfg.thim_url) {
            let url = format!("{thim}{THIM_PATH}");
            match http.get(&url, &[("Metadata", "true")], "THIM answers only inside an Azure confidential VM.") {
                Ok(r) => {
                    attempts += r.attempts;
                    match self.accept(item, &r.url, &r.body, r.content_type.as_deref(), None) {
                        Ok(e) => return Ok((e, attempts)),
                        Err(e) => thim_note = Some(format!("THIM: {e}")),
                    }
                }
                Err(e) => thim_note = Some(format!("THIM: {e}")),
            }
        }
        let url = self.url(item);
        let r = http.get(&url, &[], not_found_hint(item)).map_err(|e| match &thim_note {
            Some(n) => CollError::new(e.kind, format!("{e}; {n}")),
            None => e,
        })?;
        attempts += r.attempts;
        let mut chain = None;
        for h in issuer_chain_headers(item) {
            if let Some(v) = r.header(h) {
                chain = Some(
                    percent_decode(v)
                        .map_err(|e| CollError::new(Kind::Invalid, format!("GET {url}: header {h}: {e}")))?,
                );
                break;
            }
        }
        let e = self.accept(item, &url, &r.body, r.content_type.as_deref(), chain)?;
        Ok((e, attempts))
    }

    /// Validates a body for `item` and caches it.
    pub fn accept(
        &self,
        item: &Item,
        source: &str,
        body: &[u8],
        content_type: Option<&str>,
        issuer_chain: Option<String>,
    ) -> Result<Entry, CollError> {
        let v =
            validate_trusting(item, body, content_type, issuer_chain.as_deref(), &self.ctx(), self.cfg.trust_simulated)
                .map_err(|why| {
                    CollError::new(
                        Kind::Invalid,
                        format!("{source}: not a valid {} ({}); nothing was cached", item.describe(), why.detail),
                    )
                })?;
        let mut e = Entry::new(item, source, Timestamp::now(), body);
        e.valid_from = v.from;
        e.valid_until = v.until;
        e.content_type = content_type.map(String::from);
        e.issuer_chain = issuer_chain;
        self.cache.store(&e)?;
        self.remember(&e);
        Ok(e)
    }

    /// Serves every need: required and (when `fetch_optional`) optional items from cache or
    /// network; optional items otherwise only from the cache. `progress(i, n, item)` is called
    /// before each item, `progress(n, n, None)` at the end.
    pub fn gather(
        &self,
        needs: &Needs,
        at: Timestamp,
        fetch_optional: bool,
        progress: &mut dyn FnMut(usize, usize, Option<&Item>),
    ) -> Gathered {
        let mut g = Gathered { unfetchable: needs.unfetchable.clone(), ..Default::default() };
        let n = needs.items.len();
        for (i, need) in needs.items.iter().enumerate() {
            progress(i, n, Some(&need.item));
            if !need.required && !fetch_optional {
                match self.cache.lookup(&need.item, at) {
                    Lookup::Valid(e) => {
                        self.remember(&e);
                        g.got.push(Got { entry: e, origin: Origin::Cache, attempts: 0, note: None });
                    }
                    _ => g.skipped.push(need.clone()),
                }
                continue;
            }
            match self.get(&need.item, at) {
                Ok(got) => g.got.push(got),
                Err(e) => g.failed.push((need.clone(), e)),
            }
        }
        progress(n, n, None);
        g
    }
}
