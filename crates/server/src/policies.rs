//! Appraisal policies as data: the configured default (`--policy`, named `default`) and the named
//! policies of the admin API (`/v1/policies`), stored in the database so replicas on one
//! PostgreSQL share them.
//!
//! A policy is today's TOML/JSON policy format, validated with `cloud_ra_verify::Policy::parse`
//! (the errors of `cloud-ra verify --policy`). Its version is a content hash: the first 16 hex
//! digits of the SHA-256 of its canonical form (the document as compact JSON with sorted keys),
//! so whitespace, comments and TOML-vs-JSON do not change it. Results and audit records name the
//! policy `NAME@VERSION`.

use cloud_ra_verify::Policy;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The name of the configured default policy (reserved: it cannot be stored or deleted).
pub const DEFAULT: &str = "default";

/// The largest policy text accepted (also bounded by `max_body_bytes`).
pub const MAX_POLICY_BYTES: usize = 64 * 1024;

/// A policy ready to appraise under.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub name: String,
    pub version: String,
    pub policy: Arc<Policy>,
}

impl Resolved {
    /// `NAME@VERSION`, as results and the audit log name it.
    pub fn id(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

/// A policy name: 1 to 64 characters of `A-Z a-z 0-9 . _ -`, starting with a letter or digit
/// (no `@`, which separates the version; nothing that needs escaping in a URL path).
pub fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

/// A version: 16 lowercase hex digits.
pub fn valid_version(v: &str) -> bool {
    v.len() == 16 && v.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

/// `NAME` or `NAME@VERSION` (the appraisal filter).
pub fn valid_ref(s: &str) -> bool {
    match s.split_once('@') {
        Some((n, v)) => valid_name(n) && valid_version(v),
        None => valid_name(s),
    }
}

/// Why a policy text was refused: the check and the detail (the CLI's `--policy` wording).
#[derive(Debug)]
pub struct Invalid {
    pub check: String,
    pub detail: String,
}

/// Parses and validates a policy text as `verify --policy` does; returns it with its version.
pub fn parse(name: &str, text: &str) -> Result<(Policy, String), Invalid> {
    let policy = Policy::parse(name, text)
        .map_err(|e| Invalid { check: e.check.as_str().to_string(), detail: e.detail.clone() })?;
    Ok((policy, version(text)))
}

/// The version of a policy text (it must parse as TOML or JSON; otherwise the hash of the raw
/// text, which is never the case for a policy `parse` accepted).
pub fn version(text: &str) -> String {
    let canon = canonical(text).unwrap_or_else(|| text.as_bytes().to_vec());
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &canon);
    hex::encode(&d.as_ref()[..8])
}

/// The canonical bytes: the document (JSON when it starts with `{`, else TOML, as
/// `Policy::parse` decides) as compact JSON with object keys sorted.
pub fn canonical(text: &str) -> Option<Vec<u8>> {
    let v: Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).ok()?
    } else {
        toml::from_str(text).ok()?
    };
    let mut out = String::new();
    write_sorted(&v, &mut out);
    Some(out.into_bytes())
}

fn write_sorted(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                if let Some(x) = m.get(*k) {
                    write_sorted(x, out);
                }
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_sorted(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Parsed stored policies by the SHA-256 of their text: each is parsed once per server.
#[derive(Default)]
pub struct Cache {
    parsed: Mutex<HashMap<String, Arc<Policy>>>,
}

impl Cache {
    const MAX: usize = 256;

    /// The parsed policy of `text` (stored, so it was valid when uploaded).
    pub fn get(&self, name: &str, text: &str) -> Result<Arc<Policy>, Invalid> {
        let key = hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes()));
        if let Some(p) = self.parsed.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(p);
        }
        let (p, _) = parse(name, text)?;
        let p = Arc::new(p);
        if let Ok(mut m) = self.parsed.lock() {
            if m.len() >= Self::MAX {
                m.clear();
            }
            m.insert(key, p.clone());
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["default", "strict", "prod-2024.1", "a", "A_b", &"x".repeat(64)] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "-x", ".x", "a@b", "a/b", "a b", "ä", "a%20", &"x".repeat(65), "a;drop"] {
            assert!(!valid_name(bad), "{bad}");
        }
        assert!(valid_ref("strict@0123456789abcdef"));
        assert!(!valid_ref("strict@0123"));
        assert!(!valid_ref("strict@0123456789ABCDEF"));
    }

    #[test]
    fn version_is_the_content_not_the_spelling() {
        let toml = "# reference values\nallow_debug = false\n[snp]\nvmpl = 2\nminimum_guest_svn = 1\n";
        let json = r#"{ "snp": { "minimum_guest_svn": 1, "vmpl": 2 }, "allow_debug": false }"#;
        let (_, v1) = parse("a", toml).expect("parses");
        let (_, v2) = parse("b", json).expect("parses");
        assert_eq!(v1, v2);
        assert!(valid_version(&v1), "{v1}");
        let (_, v3) = parse("c", "allow_debug = true\n[snp]\nvmpl = 2\nminimum_guest_svn = 1\n").expect("parses");
        assert_ne!(v1, v3);
        assert_eq!(
            canonical(json).as_deref(),
            Some(&br#"{"allow_debug":false,"snp":{"minimum_guest_svn":1,"vmpl":2}}"#[..])
        );
    }

    #[test]
    fn invalid_policies_name_the_check() {
        let e = parse("p", "[snp]\nno_such_knob = 1\n").expect_err("unknown key");
        assert_eq!(e.check, "policy");
        assert!(e.detail.contains("no_such_knob"), "{}", e.detail);
        let e = parse("p", "{ not json").expect_err("bad JSON");
        assert!(e.detail.contains("invalid JSON policy"), "{}", e.detail);
    }
}
