//! The on-disk cache refuses entry files that are not regular files: a FIFO or a device (e.g. a
//! symlink to /dev/zero) under an item's folder is skipped without reading, so a lookup (the one
//! `verify` uses) neither hangs nor reads without bound. The good entry beside them still wins.

use cloud_ra_collateral::Item;
use cloud_ra_collateral::cache::{Cache, Entry, Lookup};
use cloud_ra_collateral::item::CaType;
use cloud_ra_verify::Timestamp;
use std::path::PathBuf;
use std::time::Duration;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cloud-ra-cache-files-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn item() -> Item {
    Item::IntelPckCrl { ca: CaType::Platform }
}

/// A cache with one good entry; returns (cache root, the item's folder).
fn cache_with_entry(name: &str) -> (PathBuf, PathBuf) {
    let root = scratch(name);
    let cache = Cache::new(&root);
    let e = Entry::new(&item(), "import:test", Timestamp::now(), b"a CRL body");
    let path = cache.store(&e).expect("stored");
    (root, path.parent().expect("item dir").to_path_buf())
}

/// Runs a lookup on its own thread: it must answer, with the good entry, within 10 s.
fn lookup_answers(root: PathBuf) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let r = Cache::new(&root).lookup(&item(), Timestamp::now());
        let _ = tx.send(matches!(r, Lookup::Valid(e) if e.body().ok().as_deref() == Some(&b"a CRL body"[..])));
    });
    let found = rx.recv_timeout(Duration::from_secs(10)).expect("the lookup answers (no read of a FIFO or device)");
    assert!(found, "the regular entry is still found");
}

#[cfg(unix)]
#[test]
fn fifo_entry_is_skipped_without_blocking() {
    let (root, dir) = cache_with_entry("fifo");
    let fifo = dir.join("0000000000000000.json");
    let c = std::ffi::CString::new(fifo.to_str().expect("utf-8")).expect("path");
    // SAFETY: mkfifo on a NUL-terminated path we own.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    lookup_answers(root.clone());
    // `all` (collateral list) reports it or skips it, but never blocks on it either.
    assert!(Cache::new(&root).all().iter().any(|r| r.is_ok()));
}

#[cfg(unix)]
#[test]
fn device_entry_is_skipped_without_reading() {
    let (root, dir) = cache_with_entry("device");
    std::os::unix::fs::symlink("/dev/zero", dir.join("1111111111111111.json")).expect("symlink");
    std::os::unix::fs::symlink("/dev/null", dir.join("2222222222222222.json")).expect("symlink");
    lookup_answers(root);
}
