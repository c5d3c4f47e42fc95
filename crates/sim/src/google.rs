//! A simulated Google launch-endorsement PKI (`GCE-cc-tcb-root` → `GCE-uefi-signer`) and
//! endorsement builder: a `VMLaunchEndorsement` protobuf (google/gce-tcb-verifier
//! `proto/endorsement.proto`) whose `VMGoldenMeasurement` is signed RSASSA-PSS SHA-256
//! (MGF1-SHA-256, salt 32), as Google signs its UEFI endorsements.
//!
//! Keys derive from the published [`crate::SEED`], so nothing here is a trust anchor. The
//! certificates use RSASSA-PSS SHA-256 like Google's (and the staged devkeys), RSA-2048, and
//! `O=cloud-ra SIMULATED (not Google)`.

use std::sync::OnceLock;

use rsa::pss::SigningKey as PssSigningKey;
use rsa::signature::{RandomizedSigner as _, SignatureEncoding as _};
use sha2::Sha256;

use crate::{
    CA_NOT_AFTER, CA_NOT_BEFORE, OID_BASIC_CONSTRAINTS, OID_KEY_USAGE, OID_MGF1, OID_RSASSA_PSS, aki_value, der,
    extension, rng_for, ski_ext,
};

const OID_SHA256: &str = "2.16.840.1.101.3.4.2.1";
const OID_AUTHORITY_KEY_ID: &str = "2.5.29.35";
/// `O=` of the simulated Google certificates.
pub const SIM_GOOGLE_ORGANIZATION: &str = "cloud-ra SIMULATED (not Google)";
/// Default validity start of the simulated signer: 2024-01-01T00:00:00Z.
pub const SIGNER_NOT_BEFORE: i64 = 1_704_067_200;
/// Default validity end of the simulated signer: 2029-01-01T00:00:00Z.
pub const SIGNER_NOT_AFTER: i64 = 1_861_920_000;

struct Key {
    key: PssSigningKey<Sha256>,
    spki: Vec<u8>,
    key_id: [u8; 20],
}

impl Key {
    fn generate(label: &str) -> Key {
        let (key, spki, key_id) = crate::rsa_key(&[b"google", label.as_bytes()]);
        Key { key: PssSigningKey::new_with_salt_len(key, 32), spki, key_id }
    }

    /// RSASSA-PSS/SHA-256/MGF1-SHA-256/salt 32, salt from `SHA-256(SEED || "pss-salt" || msg)`.
    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        let mut rng = rng_for(&[b"pss-salt", msg]);
        self.key.sign_with_rng(&mut rng, msg).to_vec()
    }
}

fn pss256_alg_id() -> Vec<u8> {
    let sha = der::sequence(&[&der::oid(OID_SHA256), &der::null()]);
    let params = der::sequence(&[
        &der::explicit(0, &sha),
        &der::explicit(1, &der::sequence(&[&der::oid(OID_MGF1), &sha])),
        &der::explicit(2, &der::small_uint(32)),
    ]);
    der::sequence(&[&der::oid(OID_RSASSA_PSS), &params])
}

fn name(cn: &str, serial: &str) -> Vec<u8> {
    let rdn = |oid: &str, value: Vec<u8>| der::set(&[&der::sequence(&[&der::oid(oid), &value])]);
    der::sequence_of(&[
        rdn("2.5.4.6", der::printable_string("US")),
        rdn("2.5.4.10", der::utf8_string(SIM_GOOGLE_ORGANIZATION)),
        rdn("2.5.4.5", der::printable_string(serial)),
        rdn("2.5.4.3", der::utf8_string(cn)),
    ])
}

const CN_ROOT: &str = "GCE-cc-tcb-root";
const CN_SIGNER: &str = "GCE-uefi-signer";

/// The simulated Google endorsement PKI. Obtain it with [`SimGoogle::get`].
pub struct SimGoogle {
    root: Key,
    signer: Key,
    root_der: Vec<u8>,
    signer_der: Vec<u8>,
}

impl std::fmt::Debug for SimGoogle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimGoogle").finish_non_exhaustive()
    }
}

impl SimGoogle {
    /// The process-wide instance (keys are generated once).
    pub fn get() -> &'static SimGoogle {
        static SIM: OnceLock<SimGoogle> = OnceLock::new();
        SIM.get_or_init(SimGoogle::generate)
    }

    fn generate() -> SimGoogle {
        let root = Key::generate("gce-cc-tcb-root");
        let signer = Key::generate("gce-uefi-signer");
        let alg = pss256_alg_id();
        let subject = name(CN_ROOT, "1");
        let tbs = der::sequence_of(&[
            der::explicit(0, &der::small_uint(2)),
            der::small_uint(1),
            alg.clone(),
            subject.clone(),
            der::sequence(&[&der::time(CA_NOT_BEFORE), &der::time(CA_NOT_AFTER)]),
            subject,
            root.spki.clone(),
            der::explicit(
                3,
                &der::sequence_of(&[
                    extension(OID_BASIC_CONSTRAINTS, true, &der::sequence(&[&der::boolean(true)])),
                    extension(OID_KEY_USAGE, true, &der::named_bits(&[5, 6])),
                    ski_ext(&root.key_id),
                ]),
            ),
        ]);
        let sig = root.sign(&tbs);
        let root_der = der::sequence(&[&tbs, &alg, &der::bit_string(&sig)]);
        let mut g = SimGoogle { root, signer, root_der, signer_der: Vec::new() };
        g.signer_der = g.signer_cert(SIGNER_NOT_BEFORE, SIGNER_NOT_AFTER);
        g
    }

    /// DER of the simulated root (`CN=GCE-cc-tcb-root`, self-signed).
    pub fn root_der(&self) -> &[u8] {
        &self.root_der
    }

    /// PEM of the simulated root.
    pub fn root_pem(&self) -> String {
        crate::pem("CERTIFICATE", &self.root_der)
    }

    /// DER of the default signer certificate ([`SIGNER_NOT_BEFORE`]..[`SIGNER_NOT_AFTER`]).
    pub fn signer_der(&self) -> &[u8] {
        &self.signer_der
    }

    /// A certificate for the signer key, issued by the root, with the given validity.
    pub fn signer_cert(&self, not_before: i64, not_after: i64) -> Vec<u8> {
        let alg = pss256_alg_id();
        let tbs = der::sequence_of(&[
            der::explicit(0, &der::small_uint(2)),
            der::small_uint(2),
            alg.clone(),
            name(CN_ROOT, "1"),
            der::sequence(&[&der::time(not_before), &der::time(not_after)]),
            name(CN_SIGNER, "2"),
            self.signer.spki.clone(),
            der::explicit(
                3,
                &der::sequence_of(&[
                    extension(OID_KEY_USAGE, true, &der::named_bits(&[0])),
                    ski_ext(&self.signer.key_id),
                    extension(OID_AUTHORITY_KEY_ID, false, &aki_value(&self.root.key_id)),
                ]),
            ),
        ]);
        let sig = self.root.sign(&tbs);
        der::sequence(&[&tbs, &alg, &der::bit_string(&sig)])
    }

    /// RSASSA-PSS SHA-256 signature of the signer key over `msg`.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        self.signer.sign(msg)
    }

    /// A signed `VMLaunchEndorsement` for `g` (its `cert` defaults to [`SimGoogle::signer_der`]).
    pub fn endorsement(&self, g: &Golden) -> Vec<u8> {
        let golden = g.to_bytes(g.cert.as_deref().unwrap_or(&self.signer_der));
        launch_endorsement(&golden, &self.sign(&golden))
    }
}

/// `VMSevSnp`: (svn, [(vCPUs, MEASUREMENT)], family_id, image_id, policy).
pub type SnpGolden = (u32, Vec<(u32, [u8; 48])>, [u8; 16], [u8; 16], u64);
/// `VMTdx`: (svn, [(ram_gib, early_accept, MRTD)]).
pub type TdxGolden = (u32, Vec<(u32, bool, [u8; 48])>);

/// The content of a simulated `VMGoldenMeasurement`.
#[derive(Debug, Clone, Default)]
pub struct Golden {
    /// Build time, Unix seconds.
    pub timestamp: i64,
    /// Changelist number.
    pub cl_spec: u64,
    /// Commit hash bytes.
    pub commit: Vec<u8>,
    /// The signer certificate to embed (default: the simulated signer's).
    pub cert: Option<Vec<u8>>,
    /// SHA-384 of the UEFI image.
    pub digest: Vec<u8>,
    /// PEM bundle of intermediates.
    pub ca_bundle: Vec<u8>,
    /// SNP: (svn, [(vCPUs, MEASUREMENT)], family_id, image_id, policy).
    pub snp: Option<SnpGolden>,
    /// TDX: (svn, [(ram_gib, early_accept, MRTD)]).
    pub tdx: Option<TdxGolden>,
}

fn varint(o: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        o.push((v as u8) | 0x80);
        v >>= 7;
    }
    o.push(v as u8);
}

fn put_varint(o: &mut Vec<u8>, n: u32, v: u64) {
    if v != 0 {
        varint(o, u64::from(n) << 3);
        varint(o, v);
    }
}

fn put_bytes(o: &mut Vec<u8>, n: u32, v: &[u8]) {
    varint(o, (u64::from(n) << 3) | 2);
    varint(o, v.len() as u64);
    o.extend_from_slice(v);
}

impl Golden {
    /// The serialized `VMGoldenMeasurement` with `cert` as field 4 (proto3: zero scalars omitted).
    pub fn to_bytes(&self, cert: &[u8]) -> Vec<u8> {
        let mut o = Vec::new();
        let mut ts = Vec::new();
        put_varint(&mut ts, 1, self.timestamp as u64);
        put_bytes(&mut o, 1, &ts);
        put_varint(&mut o, 2, self.cl_spec);
        if !self.commit.is_empty() {
            put_bytes(&mut o, 3, &self.commit);
        }
        put_bytes(&mut o, 4, cert);
        put_bytes(&mut o, 5, &self.digest);
        if !self.ca_bundle.is_empty() {
            put_bytes(&mut o, 6, &self.ca_bundle);
        }
        if let Some((svn, ms, fam, img, pol)) = &self.snp {
            let mut s = Vec::new();
            put_varint(&mut s, 1, u64::from(*svn));
            for (k, m) in ms {
                let mut e = Vec::new();
                put_varint(&mut e, 1, u64::from(*k));
                put_bytes(&mut e, 2, m);
                put_bytes(&mut s, 2, &e);
            }
            put_bytes(&mut s, 3, fam);
            put_bytes(&mut s, 4, img);
            put_varint(&mut s, 5, *pol);
            put_bytes(&mut o, 7, &s);
        }
        if let Some((svn, ms)) = &self.tdx {
            let mut t = Vec::new();
            put_varint(&mut t, 1, u64::from(*svn));
            for (ram, ea, mrtd) in ms {
                let mut m = Vec::new();
                put_varint(&mut m, 1, u64::from(*ram));
                put_varint(&mut m, 2, u64::from(*ea));
                put_bytes(&mut m, 3, mrtd);
                put_bytes(&mut t, 2, &m);
            }
            put_bytes(&mut o, 8, &t);
        }
        o
    }
}

/// `VMLaunchEndorsement { serialized_uefi_golden = 1; signature = 2 }`.
pub fn launch_endorsement(golden: &[u8], signature: &[u8]) -> Vec<u8> {
    let mut o = Vec::new();
    put_bytes(&mut o, 1, golden);
    put_bytes(&mut o, 2, signature);
    o
}
