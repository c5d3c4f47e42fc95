//! `cloud-ra collateral fetch | export | import | list`, and the collateral step of `verify`.

use crate::print::fail;
use cloud_ra_collateral::{Config, Gathered, Item, NeedOptions, Origin, Overrides, Store, needs};
use cloud_ra_verify::Check;
use cloud_ra_verify::bundle::{Detected, detect};
use cloud_ra_verify::snp::Product;
use cloud_ra_verify::{Collateral, Error, Timestamp};
use serde_json::json;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

/// Where collateral comes from and where it is cached (flags beat CLOUD_RA_* variables, which
/// beat the config file).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct SourceArgs {
    /// AMD KDS base URL (default https://kdsintf.amd.com; env CLOUD_RA_KDS_URL).
    #[arg(long, value_name = "URL")]
    pub kds_url: Option<String>,
    /// Intel PCS or PCCS base URL (default https://api.trustedservices.intel.com; env CLOUD_RA_PCS_URL).
    #[arg(long, value_name = "URL")]
    pub pcs_url: Option<String>,
    /// Azure IMDS base URL: VCEKs are then asked from THIM first (env CLOUD_RA_THIM_URL).
    #[arg(long, value_name = "URL")]
    pub thim_url: Option<String>,
    /// Cache directory (default $XDG_CACHE_HOME/cloud-ra or ~/.cache/cloud-ra; env CLOUD_RA_CACHE_DIR).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Never use the network: only the cache (env CLOUD_RA_OFFLINE=1).
    #[arg(long)]
    pub offline: bool,
    /// Serve an expired cached copy when refreshing it fails (with a warning).
    #[arg(long)]
    pub allow_stale: bool,
    /// Config file (default $CLOUD_RA_CONFIG or ~/.config/cloud-ra/config.toml, table [collateral]).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl SourceArgs {
    pub fn store(&self) -> Result<Store, Error> {
        let o = Overrides {
            kds_url: self.kds_url.clone(),
            pcs_url: self.pcs_url.clone(),
            thim_url: self.thim_url.clone(),
            aws_root_url: None,
            cache_dir: self.cache_dir.clone(),
            offline: self.offline,
            allow_stale: self.allow_stale,
            config_file: self.config.clone(),
        };
        Ok(Store::new(Config::resolve(&o)?))
    }
}

#[derive(clap::Subcommand)]
pub enum CollateralCmd {
    /// Fetch everything these evidence files need (cache first) and cache it.
    Fetch {
        #[arg(required = true)]
        evidence: Vec<String>,
        /// Product line for SNP reports without CPUID (v2).
        #[arg(long, value_parser = crate::input::parse_product)]
        product: Option<Product>,
        /// Time the collateral must be valid at (RFC 3339; default now).
        #[arg(long)]
        at: Option<String>,
        #[command(flatten)]
        src: SourceArgs,
        #[arg(long)]
        json: bool,
    },
    /// Write the whole cache into one offline bundle (manifest + SHA-256 of every item).
    Export {
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        src: SourceArgs,
    },
    /// Check an offline bundle (manifest, hashes, pinned roots, signatures) and add it to the cache.
    Import {
        file: PathBuf,
        #[command(flatten)]
        src: SourceArgs,
    },
    /// Show what is cached and until when it is valid.
    List {
        #[command(flatten)]
        src: SourceArgs,
        #[arg(long)]
        json: bool,
    },
}

fn when(t: Option<i64>) -> String {
    t.map(|t| Timestamp(t).to_rfc3339()).unwrap_or_else(|| "indefinitely".into())
}

/// A one-line progress indication on a terminal (stderr), nothing otherwise.
fn progress_printer(label: &str) -> impl FnMut(usize, usize, Option<&Item>) + use<> {
    let tty = std::io::stderr().is_terminal();
    let label = label.to_string();
    move |i, n, item| {
        if !tty || n == 0 {
            return;
        }
        let width = 24;
        let done = width * i / n;
        let bar = format!("{}{}", "#".repeat(done), ".".repeat(width - done));
        let what = item.map(|x| x.describe()).unwrap_or_else(|| "done".into());
        let mut e = std::io::stderr();
        let _ = write!(e, "\r\x1b[2K{label} [{bar}] {i}/{n} {what}");
        if item.is_none() {
            let _ = writeln!(e);
        }
        let _ = e.flush();
    }
}

pub fn run(cmd: CollateralCmd) -> i32 {
    match cmd {
        CollateralCmd::Fetch { evidence, product, at, src, json } => run_fetch(&evidence, product, at, &src, json),
        CollateralCmd::Export { out, src } => {
            let store = match src.store() {
                Ok(s) => s,
                Err(e) => return fail(&e),
            };
            match cloud_ra_collateral::offline::export(&store, &out) {
                Ok(n) => {
                    println!("exported {n} items from {} to {}", store.cache().dir().display(), out.display());
                    0
                }
                Err(e) => fail(&e.into()),
            }
        }
        CollateralCmd::Import { file, src } => {
            let store = match src.store() {
                Ok(s) => s,
                Err(e) => return fail(&e),
            };
            match cloud_ra_collateral::offline::import(&store, &file) {
                Ok(n) => {
                    println!("imported {n} items into {}", store.cache().dir().display());
                    0
                }
                Err(e) => fail(&e.into()),
            }
        }
        CollateralCmd::List { src, json } => run_list(&src, json),
    }
}

fn run_list(src: &SourceArgs, json_out: bool) -> i32 {
    let store = match src.store() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let now = Timestamp::now();
    let all = store.cache().all();
    if json_out {
        let items: Vec<_> = all
            .iter()
            .map(|r| match r {
                Ok(e) => json!({"key": e.key, "item": e.item.describe(), "source": e.source,
                    "fetched_at": Timestamp(e.fetched_at).to_rfc3339(), "valid_from": e.valid_from.map(|t| Timestamp(t).to_rfc3339()),
                    "valid_until": e.valid_until.map(|t| Timestamp(t).to_rfc3339()), "valid_now": e.valid_at(now), "sha256": e.sha256}),
                Err((p, why)) => json!({"path": p.display().to_string(), "error": why}),
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"cache": store.cache().dir(), "items": items})).unwrap_or_default()
        );
        return 0;
    }
    println!("cache: {}", store.cache().dir().display());
    if all.is_empty() {
        println!("  (empty)");
    }
    for r in &all {
        match r {
            Ok(e) => println!(
                "  {:<60} {} until {}{}  (fetched {} from {})",
                e.key,
                e.item.describe(),
                when(e.valid_until),
                if e.valid_at(now) { "" } else { " [EXPIRED]" },
                Timestamp(e.fetched_at),
                e.source
            ),
            Err((p, why)) => println!("  UNUSABLE {}: {why}", p.display()),
        }
    }
    0
}

fn run_fetch(files: &[String], product: Option<Product>, at: Option<String>, src: &SourceArgs, json_out: bool) -> i32 {
    let store = match src.store() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let at = match at.as_deref().map(Timestamp::parse_rfc3339).transpose() {
        Ok(t) => t.unwrap_or_else(Timestamp::now),
        Err(e) => return fail(&e),
    };
    let started = Instant::now();
    let mut total = Gathered::default();
    let mut code = 0;
    for f in files {
        let bytes = match crate::input::read_file(f, "evidence") {
            Ok(b) => b,
            Err(e) => return fail(&e),
        };
        let d = match detect(&bytes) {
            Ok(d) => d,
            Err(e) => return fail(&e),
        };
        // `fetch` also gets the cert chain even when the built-in one would do.
        let mut n = match needs(&d, &Collateral::default(), &NeedOptions { product, require_crl: false }) {
            Ok(n) => n,
            Err(e) => return fail(&Error::evidence(Check::CollateralNeeds, format!("{f}: {e}"))),
        };
        n.items.dedup();
        let g = store.gather(&n, at, true, &mut progress_printer(f));
        total.got.extend(g.got);
        total.failed.extend(g.failed);
        total.unfetchable.extend(g.unfetchable);
    }
    let elapsed = started.elapsed();
    for (need, e) in &total.failed {
        if need.required {
            code = 3;
        }
        eprintln!("{}: {}: {e}", if need.required { "error" } else { "warning" }, need.item.describe());
    }
    for u in &total.unfetchable {
        eprintln!("note: {u}");
        code = code.max(3);
    }
    if json_out {
        let items: Vec<_> = total
            .got
            .iter()
            .map(|g| json!({"key": g.entry.key, "item": g.entry.item.describe(), "origin": format!("{:?}", g.origin).to_lowercase(),
                "attempts": g.attempts, "valid_until": g.entry.valid_until.map(|t| Timestamp(t).to_rfc3339()), "note": g.note}))
            .collect();
        let failed: Vec<_> = total
            .failed
            .iter()
            .map(|(n, e)| json!({"item": n.item.describe(), "required": n.required, "error": e.detail}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"cache": store.cache().dir(), "from_cache": total.from_cache(),
                "from_network": total.from_network(), "failed": failed, "unfetchable": total.unfetchable, "items": items,
                "elapsed_ms": elapsed.as_millis() as u64}))
            .unwrap_or_default()
        );
        return code;
    }
    for g in &total.got {
        let origin = match g.origin {
            Origin::Cache => "cache",
            Origin::Network => "network",
            Origin::Stale => "STALE cache",
        };
        println!("  {:<8} {} (valid until {})", origin, g.entry.item.describe(), when(g.entry.valid_until));
        if let Some(n) = &g.note {
            eprintln!("warning: {n}");
        }
    }
    println!(
        "{} items: {} from the cache, {} from the network, {} stale, {} failed ({} ms; cache {})",
        total.got.len() + total.failed.len(),
        total.from_cache(),
        total.from_network(),
        total.got.iter().filter(|g| g.origin == Origin::Stale).count(),
        total.failed.len(),
        elapsed.as_millis(),
        store.cache().dir().display()
    );
    code
}

/// The collateral step of `verify`: what the detected evidence needs beyond `have`, from the
/// cache, and from the network when required and not `--offline`. Problems go to stderr; the
/// verifier then says what is still missing.
pub fn for_verify(
    src: &SourceArgs,
    d: &Detected,
    have: &Collateral,
    product: Option<Product>,
    require_crl: bool,
    at: Timestamp,
) -> Result<Collateral, Error> {
    // What the bundle itself carries is not fetched again (copied only when it carries some).
    let with_carried;
    let have = match d.bundle_collateral() {
        Ok(carried) if !(carried.certs.is_empty() && carried.crls.is_empty() && carried.dcap.is_empty()) => {
            let mut h = have.clone();
            h.merge(&carried);
            with_carried = h;
            &with_carried
        }
        _ => have,
    };
    let Ok(n) = needs(d, have, &NeedOptions { product, require_crl }) else {
        return Ok(Collateral::default());
    };
    if n.items.is_empty() {
        return Ok(Collateral::default());
    }
    let store = src.store()?;
    let g = store.gather(&n, at, false, &mut progress_printer("collateral"));
    for (_, e) in &g.failed {
        eprintln!("{}: {e}", e.check());
    }
    for got in &g.got {
        if let Some(note) = &got.note {
            eprintln!("warning: {note}");
        }
    }
    if store.cfg.offline {
        for s in &g.skipped {
            eprintln!("note: {} is not cached (optional; --offline)", s.item.describe());
        }
    }
    Ok(g.collateral())
}
