//! A SIMULATED Azure paravisor, for any [`Tpm`] (in tests: swtpm). It provisions the TPM the way
//! Azure's CVMs come: an EK at 0x81010001, an RSA-2048 AK at 0x81000003, and an HCL report in NV
//! 0x01400001 whose hardware report is an SNP report signed by the simulated AMD PKI
//! (`cloud-ra-sim`) with REPORT_DATA = SHA-256(runtime claims naming that AK as `HCLAkPub`). The
//! [`SimParavisor`] wrapper answers NV 0x01400002 writes with a refreshed report, as the real
//! paravisor does. Bundles made from it verify only with `--trust-simulated`.
//!
//! Real HCL reports (~2.6 KiB) exceed swtpm's 2048-byte NV limit; these carry only the `HCLAkPub`
//! key in their claims so they fit.

use crate::azure::AzureTee;
use crate::tpm::{
    AZURE_AK_HANDLE, EK_HANDLE, HR_PERSISTENT, KeyAlg, NV_HCL_REPORT, NV_HCL_USER_DATA, NvInfo, PcrSelection,
    PublicInfo, Quote, Tpm, TpmError,
};
use base64::Engine;
use cloud_ra_sim::{ReportBuilder, SimAmd, VekKind};

const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
/// swtpm's TPM2_PT_NV_INDEX_MAX: the size of the simulated 0x01400001.
pub const NV_SIZE: usize = 2048;

/// The AK's public key as the JWK the paravisor puts into the runtime claims.
pub fn jwk(ak_public: &[u8]) -> Result<serde_json::Value, TpmError> {
    let p = PublicInfo::parse(ak_public)?;
    let unique = |i: usize| p.unique.get(i).map(|v| B64URL.encode(v)).unwrap_or_default();
    Ok(match p.alg() {
        Some(KeyAlg::Rsa2048) => {
            let e = if p.exponent == 0 { 65537 } else { p.exponent }.to_be_bytes();
            let first = e.iter().position(|&b| b != 0).unwrap_or(3);
            serde_json::json!({"kid": "HCLAkPub", "key_ops": ["sign"], "kty": "RSA",
                "e": B64URL.encode(&e[first..]), "n": unique(0)})
        }
        Some(KeyAlg::EccP256) => serde_json::json!({"kid": "HCLAkPub", "key_ops": ["sign"], "kty": "EC",
            "crv": "P-256", "x": unique(0), "y": unique(1)}),
        None => return Err(TpmError::Invalid(format!("the AK is {}, not RSA-2048 or ECC P-256", p.alg_name()))),
    })
}

/// Runtime claims as the paravisor writes them (`keys`, `vm-configuration`, `user-data`).
pub fn runtime_claims(ak_public: &[u8], user_data: &[u8; 64]) -> Result<Vec<u8>, TpmError> {
    serde_json::to_vec(&serde_json::json!({
        "keys": [jwk(ak_public)?],
        "vm-configuration": {"console-enabled": false, "secure-boot": true, "tpm-enabled": true,
                             "vmUniqueId": "00000000-0000-4000-8000-00000000c0de"},
        "user-data": hex::encode_upper(user_data),
    }))
    .map_err(|e| TpmError::Invalid(e.to_string()))
}

/// An HCL report: header ('HCLA', version 2, report_size = end of the claims, request type 2),
/// the hardware report slot (1184 bytes), IGVM request data (SHA-256), the claims. Unpadded.
pub fn hcl_report(tee: AzureTee, hw_report: &[u8], claims: &[u8]) -> Vec<u8> {
    let report_type = match tee {
        AzureTee::Snp => 2u32,
        AzureTee::Tdx => 4,
    };
    let used = (32 + 1184 + 20 + claims.len()) as u32;
    let mut b = Vec::with_capacity(used as usize);
    for v in [0x414C_4348u32, 2, used, 2, 0, 0, 0, 0] {
        b.extend(v.to_le_bytes());
    }
    let mut slot = hw_report.to_vec();
    slot.resize(1184, 0);
    b.extend(slot);
    for v in [20 + claims.len() as u32, 1, report_type, 1, claims.len() as u32] {
        b.extend(v.to_le_bytes());
    }
    b.extend_from_slice(claims);
    b
}

/// An SEV-SNP HCL report for `ak_public` carrying `user_data`, its SNP report signed by the
/// simulated AMD VCEK (ReportBuilder defaults: Milan, VMPL 0).
pub fn snp_hcl_report(ak_public: &[u8], user_data: &[u8; 64]) -> Result<Vec<u8>, TpmError> {
    let claims = runtime_claims(ak_public, user_data)?;
    let mut rd = [0u8; 64];
    rd[..32].copy_from_slice(&cloud_ra_verify::crypto::sha256(&claims));
    let report = ReportBuilder::new().with_report_data(rd).sign(SimAmd::get(), VekKind::Vcek);
    Ok(hcl_report(AzureTee::Snp, &report, &claims))
}

/// A TDX HCL report for `ak_public` carrying `user_data`: a TDREPORT-shaped hardware report
/// (type 0x81, REPORTDATA at offset 128 = SHA-256(claims) zero-padded) — only the SIMULATED TD
/// quote the IMDS stand-in makes for it is signed (`cloud_ra_sim::intel`).
pub fn tdx_hcl_report(ak_public: &[u8], user_data: &[u8; 64]) -> Result<Vec<u8>, TpmError> {
    let claims = runtime_claims(ak_public, user_data)?;
    let mut td = vec![0u8; 1024];
    td[0] = 0x81; // REPORTTYPE.type: TDX
    td[128..160].copy_from_slice(&cloud_ra_verify::crypto::sha256(&claims));
    Ok(hcl_report(AzureTee::Tdx, &td, &claims))
}

fn hcl_for(tee: AzureTee, ak_public: &[u8], user_data: &[u8; 64]) -> Result<Vec<u8>, TpmError> {
    match tee {
        AzureTee::Snp => snp_hcl_report(ak_public, user_data),
        AzureTee::Tdx => tdx_hcl_report(ak_public, user_data),
    }
}

/// Writes `blob` (zero-padded to [`NV_SIZE`]) to NV 0x01400001, defining it when absent.
pub fn write_hcl(tpm: &mut dyn Tpm, blob: &[u8]) -> Result<(), TpmError> {
    if blob.len() > NV_SIZE {
        return Err(TpmError::Invalid(format!("an HCL report of {} bytes exceeds {NV_SIZE}", blob.len())));
    }
    match tpm.nv_info(NV_HCL_REPORT) {
        Ok(_) => {}
        Err(TpmError::Absent(_)) => tpm.nv_define(NV_HCL_REPORT, NV_SIZE)?,
        Err(e) => return Err(e),
    }
    let mut padded = blob.to_vec();
    padded.resize(NV_SIZE, 0);
    tpm.nv_write(NV_HCL_REPORT, &padded)
}

/// Provisions `tpm` like a fresh Azure CVM of `tee`: EK (RSA-2048) at 0x81010001 and an AK of
/// `ak_alg` at 0x81000003 (kept when present), and a boot-time HCL report (user data all zero).
/// Returns the AK's TPMT_PUBLIC.
pub fn provision(tpm: &mut dyn Tpm, tee: AzureTee, ak_alg: KeyAlg) -> Result<Vec<u8>, TpmError> {
    let present = tpm.handles(HR_PERSISTENT)?;
    if !present.contains(&EK_HANDLE) {
        tpm.persist_ek(KeyAlg::Rsa2048, EK_HANDLE)?;
    }
    let ak = if present.contains(&AZURE_AK_HANDLE) {
        tpm.read_public(AZURE_AK_HANDLE)?
    } else {
        tpm.persist_ak(EK_HANDLE, ak_alg, AZURE_AK_HANDLE)?
    };
    write_hcl(tpm, &hcl_for(tee, &ak, &[0u8; 64])?)?;
    Ok(ak)
}

/// The paravisor: when the guest writes NV 0x01400002, a new HCL report carrying those 64 bytes
/// appears in NV 0x01400001 — after `delay_reads` reads of it by the guest, as the real one
/// answers asynchronously. `wrong_user_data` makes it carry other bytes (a concurrent writer).
pub struct SimParavisor<T: Tpm> {
    pub tpm: T,
    /// Which TEE's reports it writes.
    pub tee: AzureTee,
    pub ak_public: Vec<u8>,
    pub delay_reads: usize,
    pub wrong_user_data: bool,
    /// Reads of 0x01400001 since the last write of 0x01400002.
    pub reads_seen: usize,
    pending: Option<[u8; 64]>,
}

impl<T: Tpm> SimParavisor<T> {
    pub fn new(tpm: T, ak_public: Vec<u8>) -> Self {
        SimParavisor {
            tpm,
            tee: AzureTee::Snp,
            ak_public,
            delay_reads: 2,
            wrong_user_data: false,
            reads_seen: 0,
            pending: None,
        }
    }
}

impl<T: Tpm> Tpm for SimParavisor<T> {
    fn describe(&self) -> String {
        format!("{} behind a SIMULATED Azure paravisor", self.tpm.describe())
    }
    fn handles(&mut self, first: u32) -> Result<Vec<u32>, TpmError> {
        self.tpm.handles(first)
    }
    fn nv_info(&mut self, index: u32) -> Result<NvInfo, TpmError> {
        self.tpm.nv_info(index)
    }
    fn nv_read(&mut self, index: u32) -> Result<Vec<u8>, TpmError> {
        if index == NV_HCL_REPORT
            && let Some(ud) = self.pending
        {
            self.reads_seen += 1;
            if self.reads_seen > self.delay_reads {
                let mut carried = ud;
                if self.wrong_user_data {
                    carried[0] ^= 0xFF;
                }
                let blob = hcl_for(self.tee, &self.ak_public, &carried)?;
                write_hcl(&mut self.tpm, &blob)?;
                self.pending = None;
            }
        }
        self.tpm.nv_read(index)
    }
    fn nv_define(&mut self, index: u32, size: usize) -> Result<(), TpmError> {
        self.tpm.nv_define(index, size)
    }
    fn nv_write(&mut self, index: u32, data: &[u8]) -> Result<(), TpmError> {
        self.tpm.nv_write(index, data)?;
        if index == NV_HCL_USER_DATA {
            let v = self.tpm.nv_read(NV_HCL_USER_DATA)?;
            let ud: [u8; 64] = v
                .get(..64)
                .and_then(|s| s.try_into().ok())
                .ok_or_else(|| TpmError::Invalid("NV 0x01400002 holds fewer than 64 bytes".into()))?;
            self.pending = Some(ud);
            self.reads_seen = 0;
        }
        Ok(())
    }
    fn read_public(&mut self, handle: u32) -> Result<Vec<u8>, TpmError> {
        self.tpm.read_public(handle)
    }
    fn quote(&mut self, ak: u32, nonce: &[u8], pcrs: &PcrSelection) -> Result<Quote, TpmError> {
        self.tpm.quote(ak, nonce, pcrs)
    }
    fn derive_ek_public(&mut self, alg: KeyAlg) -> Result<Vec<u8>, TpmError> {
        self.tpm.derive_ek_public(alg)
    }
    fn derive_ek_public_in(&mut self, alg: KeyAlg, range: crate::tpm::EkRange) -> Result<Vec<u8>, TpmError> {
        self.tpm.derive_ek_public_in(alg, range)
    }
    fn persist_ek(&mut self, alg: KeyAlg, handle: u32) -> Result<Vec<u8>, TpmError> {
        self.tpm.persist_ek(alg, handle)
    }
    fn persist_ak(&mut self, ek: u32, alg: KeyAlg, handle: u32) -> Result<Vec<u8>, TpmError> {
        self.tpm.persist_ak(ek, alg, handle)
    }
    fn evict(&mut self, handle: u32) -> Result<(), TpmError> {
        self.tpm.evict(handle)
    }
}
