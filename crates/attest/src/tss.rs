//! [`Tpm`] over tss-esapi 7.7.0 (ESAPI via libtss2; feature `tpm`). Works behind any TCTI:
//! `device:/dev/tpmrm0` (kernel resource manager), `device:/dev/tpm0`, `swtpm:host=..,port=..`
//! (simulator; its control port must be port+1), `tabrmd:`. No resource manager is assumed:
//! every transient object and session this code creates is flushed before the call returns,
//! on success and on error.

use crate::tpm::{KeyAlg, NvInfo, PcrSelection, Quote, Tpm, TpmError};
use cloud_ra_verify::eventlog::AlgId;
use std::str::FromStr;
use tss_esapi::abstraction::{ak, ek, pcr};
use tss_esapi::attributes::NvIndexAttributesBuilder;
use tss_esapi::constants::CapabilityType;
use tss_esapi::handles::{KeyHandle, NvIndexHandle, NvIndexTpmHandle, ObjectHandle, PersistentTpmHandle, TpmHandle};
use tss_esapi::interface_types::algorithm::{AsymmetricAlgorithm, HashingAlgorithm, SignatureSchemeAlgorithm};
use tss_esapi::interface_types::dynamic_handles::Persistent;
use tss_esapi::interface_types::resource_handles::{NvAuth, Provision};
use tss_esapi::interface_types::session_handles::AuthSession;
use tss_esapi::structures::{
    CapabilityData, Data, MaxNvBuffer, NvPublicBuilder, PcrSelectionListBuilder, PcrSlot, SignatureScheme,
};
use tss_esapi::tcti_ldr::TctiNameConf;
use tss_esapi::traits::Marshall;
use tss_esapi::{Context, Error as TssError};

/// At most this many quote attempts when the PCRs change between reading them and quoting.
const QUOTE_ATTEMPTS: usize = 3;

/// A TPM reached through a TCTI.
pub struct TssTpm {
    ctx: Context,
    tcti: String,
    nv_buffer_max: usize,
}

fn cmd(op: &str) -> impl FnOnce(TssError) -> TpmError + '_ {
    move |e| TpmError::command(op, e)
}

fn persistent(h: u32) -> Result<PersistentTpmHandle, TpmError> {
    PersistentTpmHandle::new(h).map_err(|_| TpmError::Invalid(format!("{h:#010x} is not a persistent handle")))
}

fn nv_handle(index: u32) -> Result<NvIndexTpmHandle, TpmError> {
    NvIndexTpmHandle::new(index).map_err(|_| TpmError::Invalid(format!("{index:#010x} is not an NV index handle")))
}

fn hash_alg(a: AlgId) -> Result<HashingAlgorithm, TpmError> {
    Ok(match a {
        AlgId::SHA1 => HashingAlgorithm::Sha1,
        AlgId::SHA256 => HashingAlgorithm::Sha256,
        AlgId::SHA384 => HashingAlgorithm::Sha384,
        AlgId::SHA512 => HashingAlgorithm::Sha512,
        other => return Err(TpmError::Invalid(format!("PCR bank {} is not supported", other.name()))),
    })
}

fn pcr_slot(i: u32) -> Result<PcrSlot, TpmError> {
    PcrSlot::try_from(1u32 << i.min(31)).map_err(|_| TpmError::Invalid(format!("PCR {i} does not exist")))
}

impl TssTpm {
    /// Connects through `tcti` (see [`crate::tpm::default_tcti`]). A missing device or a refused
    /// connection is [`TpmError::Unavailable`].
    pub fn open(tcti: &str) -> Result<TssTpm, TpmError> {
        let unavailable = |detail: String| TpmError::Unavailable { tcti: tcti.to_string(), detail };
        if let Some(path) = tcti.strip_prefix("device:") {
            let path = if path.is_empty() { "/dev/tpm0" } else { path };
            match std::fs::metadata(path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(unavailable(format!(
                        "{path} does not exist (no TPM, or its driver is not loaded: `modprobe tpm_crb` / `tpm_tis`; on Azure CVMs the vTPM is always present)"
                    )));
                }
                Err(e) => return Err(unavailable(format!("{path}: {e}"))),
                Ok(_) => {
                    if let Err(e) = std::fs::OpenOptions::new().read(true).write(true).open(path) {
                        return Err(unavailable(format!("{path}: {e} (run as root or add the user to the tss group)")));
                    }
                }
            }
        }
        if let Some(args) = tcti.strip_prefix("swtpm:") {
            // The swtpm TCTI connects to the command port; say precisely when nothing listens.
            let mut host = "127.0.0.1".to_string();
            let mut port = 2321u16;
            for kv in args.split(',').filter(|s| !s.is_empty()) {
                match kv.split_once('=') {
                    Some(("host", h)) => host = h.to_string(),
                    Some(("port", p)) => {
                        port = p.parse().map_err(|_| unavailable(format!("port '{p}' is not a number")))?
                    }
                    _ => {}
                }
            }
            let addr = format!("{host}:{port}");
            let reachable = std::net::ToSocketAddrs::to_socket_addrs(&addr)
                .ok()
                .and_then(|mut a| a.next())
                .map(|a| std::net::TcpStream::connect_timeout(&a, std::time::Duration::from_secs(2)));
            match reachable {
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(unavailable(format!("{addr}: {e} (is swtpm running?)"))),
                None => return Err(unavailable(format!("{addr} does not resolve"))),
            }
        }
        let conf = TctiNameConf::from_str(tcti).map_err(|e| unavailable(format!("not a TCTI name: {e}")))?;
        let mut ctx = Context::new(conf).map_err(|e| {
            let name = tcti.split(':').next().unwrap_or(tcti);
            unavailable(format!(
                "{e} (the TCTI did not initialise: is libtss2-tcti-{name}.so.0 installed, and the TPM or its service there?)"
            ))
        })?;
        let nv_buffer_max = ctx
            .execute_without_session(tss_esapi::abstraction::nv::max_nv_buffer_size)
            .map_err(|e| unavailable(format!("TPM2_GetCapability failed: {e}")))?
            .clamp(64, MaxNvBuffer::MAX_SIZE);
        Ok(TssTpm { ctx, tcti: tcti.to_string(), nv_buffer_max })
    }

    /// Whether the TPM has `handle` (GetCapability, one entry from `handle` on).
    fn exists(&mut self, handle: u32) -> Result<bool, TpmError> {
        let (data, _) = self
            .ctx
            .execute_without_session(|c| c.get_capability(CapabilityType::Handles, handle, 1))
            .map_err(cmd("GetCapability(handles)"))?;
        Ok(match data {
            CapabilityData::Handles(l) => l.into_inner().into_iter().map(u32::from).next() == Some(handle),
            _ => false,
        })
    }

    /// ESYS_TR of a persistent object; the caller must `tr_close` it.
    fn object(&mut self, handle: u32) -> Result<ObjectHandle, TpmError> {
        let h = persistent(handle)?;
        if !self.exists(handle)? {
            return Err(TpmError::Absent(format!("persistent handle {handle:#010x} holds no object")));
        }
        self.ctx
            .execute_without_session(|c| c.tr_from_tpm_public(TpmHandle::Persistent(h)))
            .map_err(|e| TpmError::command(format!("ESYS_TR_FromTPMPublic {handle:#010x}"), e))
    }

    fn close(&mut self, mut h: ObjectHandle) {
        let _ = self.ctx.tr_close(&mut h);
    }

    fn flush(&mut self, h: ObjectHandle) {
        let _ = self.ctx.flush_context(h);
    }

    /// ESYS_TR of an NV index and its public info; the caller must `tr_close` it.
    fn nv_open(&mut self, index: u32) -> Result<(NvIndexHandle, NvInfo), TpmError> {
        let h = nv_handle(index)?;
        if !self.exists(index)? {
            return Err(TpmError::Absent(format!("NV index {index:#010x} is not defined")));
        }
        let obj = self
            .ctx
            .execute_without_session(|c| c.tr_from_tpm_public(TpmHandle::NvIndex(h)))
            .map_err(cmd("ESYS_TR_FromTPMPublic (NV)"))?;
        let nvh = NvIndexHandle::from(obj);
        match self.ctx.execute_without_session(|c| c.nv_read_public(nvh)) {
            Ok((public, _)) => {
                let a = public.attributes();
                Ok((
                    nvh,
                    NvInfo {
                        size: public.data_size(),
                        owner_read: a.owner_read(),
                        owner_write: a.owner_write(),
                        auth_read: a.auth_read(),
                        auth_write: a.auth_write(),
                    },
                ))
            }
            Err(e) => {
                self.close(obj);
                Err(TpmError::command("NV_ReadPublic", e))
            }
        }
    }

    fn read_pcrs(&mut self, sel: &[(AlgId, Vec<u32>)]) -> Result<pcr::PcrData, TpmError> {
        let list = selection_list(sel)?;
        self.ctx.execute_without_session(|c| pcr::read_all(c, list)).map_err(cmd("PCR_Read"))
    }
}

fn selection_list(sel: &[(AlgId, Vec<u32>)]) -> Result<tss_esapi::structures::PcrSelectionList, TpmError> {
    let mut b = PcrSelectionListBuilder::new();
    for (alg, idx) in sel {
        let slots = idx.iter().map(|&i| pcr_slot(i)).collect::<Result<Vec<_>, _>>()?;
        b = b.with_selection(hash_alg(*alg)?, &slots);
    }
    b.build().map_err(|e| TpmError::Invalid(format!("PCR selection: {e}")))
}

impl Tpm for TssTpm {
    fn describe(&self) -> String {
        format!("TPM 2.0 via TCTI {}", self.tcti)
    }

    fn handles(&mut self, first: u32) -> Result<Vec<u32>, TpmError> {
        let end = (first & 0xFF00_0000) | 0x00FF_FFFF;
        let mut out = Vec::new();
        let mut next = first;
        loop {
            let (data, more) = self
                .ctx
                .execute_without_session(|c| c.get_capability(CapabilityType::Handles, next, 64))
                .map_err(cmd("GetCapability(handles)"))?;
            let CapabilityData::Handles(list) = data else {
                return Err(TpmError::Invalid("GetCapability(handles) answered another capability".into()));
            };
            let got: Vec<u32> =
                list.into_inner().into_iter().map(u32::from).filter(|&h| h <= end && h >= first).collect();
            let last = got.last().copied();
            out.extend(got);
            match (more, last) {
                (true, Some(l)) if l < end => next = l + 1,
                _ => break,
            }
        }
        Ok(out)
    }

    fn nv_info(&mut self, index: u32) -> Result<NvInfo, TpmError> {
        let (h, info) = self.nv_open(index)?;
        self.close(h.into());
        Ok(info)
    }

    fn nv_read(&mut self, index: u32) -> Result<Vec<u8>, TpmError> {
        let (h, info) = self.nv_open(index)?;
        let auth = if info.owner_read {
            NvAuth::Owner
        } else if info.auth_read {
            NvAuth::NvIndex(h)
        } else {
            self.close(h.into());
            return Err(TpmError::Invalid(format!(
                "NV index {index:#010x} is readable neither with owner auth nor with its own auth"
            )));
        };
        let mut out = Vec::with_capacity(info.size);
        let mut result = Ok(());
        while out.len() < info.size {
            let n = (info.size - out.len()).min(self.nv_buffer_max);
            let off = out.len();
            let chunk = self
                .ctx
                .execute_with_session(Some(AuthSession::Password), |c| c.nv_read(auth, h, n as u16, off as u16));
            match chunk {
                Ok(buf) if buf.len() == n => out.extend_from_slice(&buf),
                Ok(buf) => {
                    result = Err(TpmError::Invalid(format!(
                        "NV_Read of {index:#010x} returned {} bytes at offset {off}, asked for {n}",
                        buf.len()
                    )));
                    break;
                }
                Err(e) => {
                    result = Err(TpmError::command(format!("NV_Read {index:#010x} at offset {off}"), e));
                    break;
                }
            }
        }
        self.close(h.into());
        result.map(|()| out)
    }

    fn nv_define(&mut self, index: u32, size: usize) -> Result<(), TpmError> {
        let attrs = NvIndexAttributesBuilder::new()
            .with_owner_read(true)
            .with_owner_write(true)
            .with_auth_read(true)
            .with_auth_write(true)
            .build()
            .map_err(|e| TpmError::Invalid(format!("NV attributes: {e}")))?;
        let public = NvPublicBuilder::new()
            .with_nv_index(nv_handle(index)?)
            .with_index_name_algorithm(HashingAlgorithm::Sha256)
            .with_index_attributes(attrs)
            .with_data_area_size(size)
            .build()
            .map_err(|e| TpmError::Invalid(format!("NV public for {index:#010x} of {size} bytes: {e}")))?;
        let h = self
            .ctx
            .execute_with_session(Some(AuthSession::Password), |c| c.nv_define_space(Provision::Owner, None, public))
            .map_err(|e| TpmError::command(format!("NV_DefineSpace {index:#010x} ({size} bytes)"), e))?;
        self.close(h.into());
        Ok(())
    }

    fn nv_write(&mut self, index: u32, data: &[u8]) -> Result<(), TpmError> {
        let (h, info) = self.nv_open(index)?;
        let fail = |s: &mut Self, e: TpmError| {
            s.close(h.into());
            Err(e)
        };
        if data.len() > info.size {
            return fail(
                self,
                TpmError::Invalid(format!(
                    "NV index {index:#010x} holds {} bytes; {} do not fit",
                    info.size,
                    data.len()
                )),
            );
        }
        let auth = if info.owner_write {
            NvAuth::Owner
        } else if info.auth_write {
            NvAuth::NvIndex(h)
        } else {
            return fail(
                self,
                TpmError::Invalid(format!("NV index {index:#010x} is not writable with owner or index auth")),
            );
        };
        let mut off = 0;
        for chunk in data.chunks(self.nv_buffer_max) {
            let buf = match MaxNvBuffer::try_from(chunk.to_vec()) {
                Ok(b) => b,
                Err(e) => return fail(self, TpmError::Invalid(format!("NV chunk: {e}"))),
            };
            let r =
                self.ctx.execute_with_session(Some(AuthSession::Password), |c| c.nv_write(auth, h, buf, off as u16));
            if let Err(e) = r {
                return fail(self, TpmError::command(format!("NV_Write {index:#010x} at offset {off}"), e));
            }
            off += chunk.len();
        }
        self.close(h.into());
        Ok(())
    }

    fn read_public(&mut self, handle: u32) -> Result<Vec<u8>, TpmError> {
        let obj = self.object(handle)?;
        let r = self.ctx.execute_without_session(|c| c.read_public(KeyHandle::from(obj)));
        self.close(obj);
        let (public, _, _) = r.map_err(|e| TpmError::command(format!("ReadPublic {handle:#010x}"), e))?;
        public.marshall().map_err(|e| TpmError::command("marshalling TPMT_PUBLIC", e))
    }

    fn quote(&mut self, ak: u32, nonce: &[u8], sel: &PcrSelection) -> Result<Quote, TpmError> {
        let qualifying = Data::try_from(nonce.to_vec()).map_err(|_| {
            TpmError::Invalid(format!("a nonce of {} bytes does not fit TPM2B_DATA (at most 64)", nonce.len()))
        })?;
        let info = crate::tpm::PublicInfo::parse(&self.read_public(ak)?)?;
        if !info.is_attestation_key() {
            return Err(TpmError::Invalid(format!("{ak:#010x} is not a restricted signing key; it cannot quote")));
        }
        // A key with a fixed scheme signs with it; otherwise ask for the usual one.
        let scheme = match (info.scheme == 0x0010, info.alg()) {
            (false, _) => SignatureScheme::Null,
            (true, Some(KeyAlg::Rsa2048)) => SignatureScheme::RsaSsa {
                hash_scheme: tss_esapi::structures::HashScheme::new(HashingAlgorithm::Sha256),
            },
            (true, _) => {
                SignatureScheme::EcDsa { hash_scheme: tss_esapi::structures::HashScheme::new(HashingAlgorithm::Sha256) }
            }
        };
        let list = selection_list(&sel.0)?;
        let obj = self.object(ak)?;
        let mut last_err = None;
        for _ in 0..QUOTE_ATTEMPTS {
            let q = self.ctx.execute_with_session(Some(AuthSession::Password), |c| {
                c.quote(KeyHandle::from(obj), qualifying.clone(), scheme, list.clone())
            });
            let (attest, signature) = match q {
                Ok(v) => v,
                Err(e) => {
                    self.close(obj);
                    return Err(TpmError::command(format!("Quote with {ak:#010x}"), e));
                }
            };
            let (attest, signature) = match (attest.marshall(), signature.marshall()) {
                (Ok(a), Ok(s)) => (a, s),
                (Err(e), _) | (_, Err(e)) => {
                    self.close(obj);
                    return Err(TpmError::command("marshalling the quote", e));
                }
            };
            let parsed = match cloud_ra_verify::tpm::Attest::parse(&attest) {
                Ok(p) => p,
                Err(e) => {
                    self.close(obj);
                    return Err(TpmError::Invalid(format!("the TPM's TPMS_ATTEST does not parse: {e}")));
                }
            };
            // PCR values in the quote's own selection order, checked against its signed digest
            // (PCR_Read and Quote are two commands: retry if a PCR moved in between).
            let data = match self.read_pcrs(&parsed.selection) {
                Ok(d) => d,
                Err(e) => {
                    self.close(obj);
                    return Err(e);
                }
            };
            let mut concat = Vec::new();
            let mut missing = None;
            for (bank, idx) in &parsed.selection {
                for &i in idx {
                    let v = hash_alg(*bank)
                        .ok()
                        .and_then(|h| data.pcr_bank(h))
                        .and_then(|b| pcr_slot(i).ok().and_then(|s| b.get_digest(s)));
                    match v {
                        Some(d) => concat.extend_from_slice(d.value()),
                        None => missing = Some(format!("{} PCR{i}", bank.name())),
                    }
                }
            }
            if let Some(m) = missing {
                self.close(obj);
                return Err(TpmError::Invalid(format!("PCR_Read returned no value for {m} (bank not active?)")));
            }
            let sig_hash = signature.get(2..4).map(|h| u16::from_be_bytes([h[0], h[1]])).unwrap_or(0);
            match AlgId(sig_hash).hash(&concat) {
                Some(d) if d == parsed.pcr_digest => {
                    self.close(obj);
                    return Ok(Quote { attest, signature, pcrs: concat });
                }
                Some(_) => last_err = Some("PCR values changed between PCR_Read and Quote".to_string()),
                None => {
                    self.close(obj);
                    return Err(TpmError::Invalid(format!("signature hash {sig_hash:#06x} is not supported")));
                }
            }
        }
        self.close(obj);
        Err(TpmError::Invalid(format!(
            "{} after {QUOTE_ATTEMPTS} attempts",
            last_err.unwrap_or_else(|| "no quote".into())
        )))
    }

    fn derive_ek_public(&mut self, alg: KeyAlg) -> Result<Vec<u8>, TpmError> {
        let ekh = self.create_ek(alg)?;
        let r = self.ctx.execute_without_session(|c| c.read_public(ekh));
        self.flush(ekh.into());
        let (public, _, _) = r.map_err(cmd("ReadPublic (EK)"))?;
        public.marshall().map_err(|e| TpmError::command("marshalling TPMT_PUBLIC", e))
    }

    fn persist_ek(&mut self, alg: KeyAlg, handle: u32) -> Result<Vec<u8>, TpmError> {
        let p = persistent(handle)?;
        let ekh = self.create_ek(alg)?;
        let r = self
            .ctx
            .execute_with_session(Some(AuthSession::Password), |c| {
                c.evict_control(Provision::Owner, ekh.into(), Persistent::Persistent(p))
            })
            .map_err(|e| TpmError::command(format!("EvictControl (EK to {handle:#010x})"), e));
        self.flush(ekh.into());
        let obj = r?;
        self.close(obj);
        self.read_public(handle)
    }

    fn persist_ak(&mut self, ek_handle: u32, alg: KeyAlg, handle: u32) -> Result<Vec<u8>, TpmError> {
        let p = persistent(handle)?;
        let ek = self.object(ek_handle)?;
        let ekk = KeyHandle::from(ek);
        let sign = match alg {
            KeyAlg::Rsa2048 => SignatureSchemeAlgorithm::RsaSsa,
            KeyAlg::EccP256 => SignatureSchemeAlgorithm::EcDsa,
        };
        let created = self
            .ctx
            .execute_without_session(|c| ak::create_ak(c, ekk, HashingAlgorithm::Sha256, sign, None, None))
            .map_err(|e| TpmError::command(format!("Create (AK under {ek_handle:#010x})"), e));
        let created = match created {
            Ok(c) => c,
            Err(e) => {
                self.close(ek);
                return Err(e);
            }
        };
        let loaded = self
            .ctx
            .execute_without_session(|c| ak::load_ak(c, ekk, None, created.out_private, created.out_public))
            .map_err(cmd("Load (AK)"));
        self.close(ek);
        let akh = loaded?;
        let r = self
            .ctx
            .execute_with_session(Some(AuthSession::Password), |c| {
                c.evict_control(Provision::Owner, akh.into(), Persistent::Persistent(p))
            })
            .map_err(|e| TpmError::command(format!("EvictControl (AK to {handle:#010x})"), e));
        self.flush(akh.into());
        let obj = r?;
        self.close(obj);
        self.read_public(handle)
    }

    fn evict(&mut self, handle: u32) -> Result<(), TpmError> {
        let p = persistent(handle)?;
        let obj = self.object(handle)?;
        let r = self
            .ctx
            .execute_with_session(Some(AuthSession::Password), |c| {
                c.evict_control(Provision::Owner, obj, Persistent::Persistent(p))
            })
            .map_err(|e| TpmError::command(format!("EvictControl (remove {handle:#010x})"), e));
        // ESYS keeps the evicted object's metadata (tss-esapi only forgets it): release it, or
        // the next object persisted at this handle mismatches the stale name.
        self.close(obj);
        r.map(|_| ())
    }
}

impl TssTpm {
    /// The default-template EK as a transient primary object; the caller flushes it.
    fn create_ek(&mut self, alg: KeyAlg) -> Result<KeyHandle, TpmError> {
        let a = match alg {
            KeyAlg::Rsa2048 => AsymmetricAlgorithm::Rsa,
            KeyAlg::EccP256 => AsymmetricAlgorithm::Ecc,
        };
        self.ctx.execute_without_session(|c| ek::create_ek_object(c, a, None)).map_err(cmd("CreatePrimary (EK)"))
    }
}
