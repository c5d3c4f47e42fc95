//! The result-signing key: ES256 (P-256), generated at first start into a file only its owner
//! can read, and published as a JWK. The private key is never logged or served.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;

pub struct SigningKey {
    pair: EcdsaKeyPair,
    pub kid: String,
    /// The public key as a JWK (`kty`, `crv`, `x`, `y`, `kid`, `alg`, `use`).
    pub jwk: Value,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey(kid {})", self.kid)
    }
}

const PEM_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PEM_END: &str = "-----END PRIVATE KEY-----";

impl SigningKey {
    /// Loads the PKCS#8 PEM key at `path`, or creates one (mode 0600, never overwritten).
    /// Refuses a key file that group or others can read.
    pub fn load_or_create(path: &Path) -> Result<(SigningKey, bool), String> {
        match std::fs::metadata(path) {
            Ok(meta) => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = meta.permissions().mode();
                    if mode & 0o077 != 0 {
                        return Err(format!(
                            "signing key {}: mode {:o} lets others read it; chmod 600 it",
                            path.display(),
                            mode & 0o777
                        ));
                    }
                }
                let _ = meta;
                let text = std::fs::read_to_string(path).map_err(|e| format!("signing key {}: {e}", path.display()))?;
                let der = pem_decode(&text).ok_or_else(|| {
                    format!("signing key {}: not a PEM PKCS#8 private key (BEGIN PRIVATE KEY)", path.display())
                })?;
                Ok((SigningKey::from_pkcs8(&der).map_err(|e| format!("signing key {}: {e}", path.display()))?, false))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                    .map_err(|_| "could not generate a P-256 key".to_string())?;
                let der = doc.as_ref().to_vec();
                let mut pem = String::from(PEM_BEGIN);
                pem.push('\n');
                let b64 = STANDARD.encode(&der);
                for chunk in b64.as_bytes().chunks(64) {
                    pem.push_str(std::str::from_utf8(chunk).unwrap_or_default());
                    pem.push('\n');
                }
                pem.push_str(PEM_END);
                pem.push('\n');
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
                    crate::store::create_private_dir(dir)?;
                }
                let mut o = std::fs::OpenOptions::new();
                o.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    o.mode(0o600);
                }
                let mut f = o.open(path).map_err(|e| format!("signing key {}: {e}", path.display()))?;
                f.write_all(pem.as_bytes())
                    .and_then(|_| f.sync_all())
                    .map_err(|e| format!("signing key {}: {e}", path.display()))?;
                Ok((SigningKey::from_pkcs8(&der)?, true))
            }
            Err(e) => Err(format!("signing key {}: {e}", path.display())),
        }
    }

    pub fn from_pkcs8(der: &[u8]) -> Result<SigningKey, String> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .map_err(|_| "not a P-256 PKCS#8 private key".to_string())?;
        let public = pair.public_key().as_ref();
        if public.len() != 65 || public[0] != 4 {
            return Err("unexpected P-256 public key encoding".into());
        }
        let x = URL_SAFE_NO_PAD.encode(&public[1..33]);
        let y = URL_SAFE_NO_PAD.encode(&public[33..65]);
        // RFC 7638 thumbprint as the key id.
        let thumb = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, thumb.as_bytes()));
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "alg": "ES256", "use": "sig"});
        Ok(SigningKey { pair, kid, jwk })
    }

    /// A compact JWS (ES256: the raw 64-byte r||s signature) over `claims`.
    pub fn sign_jws(&self, claims: &[u8]) -> Result<String, String> {
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": self.kid});
        let mut input = URL_SAFE_NO_PAD.encode(header.to_string());
        input.push('.');
        input.push_str(&URL_SAFE_NO_PAD.encode(claims));
        let sig =
            self.pair.sign(&SystemRandom::new(), input.as_bytes()).map_err(|_| "ECDSA signing failed".to_string())?;
        input.push('.');
        input.push_str(&URL_SAFE_NO_PAD.encode(sig.as_ref()));
        Ok(input)
    }

    pub fn jwks(&self) -> Value {
        json!({"keys": [self.jwk]})
    }
}

fn pem_decode(text: &str) -> Option<Vec<u8>> {
    let start = text.find(PEM_BEGIN)? + PEM_BEGIN.len();
    let end = text[start..].find(PEM_END)? + start;
    let b64: String = text[start..end].chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(b64).ok()
}
