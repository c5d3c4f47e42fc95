//! `/dev/tdx_guest` (Linux `include/uapi/linux/tdx-guest.h`): TDX_CMD_GET_REPORT0 returns the
//! 1024-byte TDREPORT_STRUCT for 64 bytes of REPORTDATA. A TDREPORT is MAC'd with a key only the
//! CPU of this machine holds: it proves nothing to a remote verifier until a quoting enclave turns
//! it into a quote (upstream Linux does that through configfs-tsm, see [`crate::configfs_tsm`]).
//! cloud-ra uses it to detect a TD and read its measurements on the machine itself.

use cloud_ra_verify::crypto::{sha256, sha384};

pub const TDREPORT_LEN: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TdxGuestError {
    #[error(
        "{path} is absent: load the driver (`modprobe tdx-guest`); if the node is still missing, `cat /sys/class/misc/tdx_guest/dev` gives MAJOR:MINOR for `mknod {path} c MAJOR MINOR` (GCP: 10:122). Azure TDX CVMs hide it: use the vTPM"
    )]
    Absent { path: String },
    #[error("{path}: permission denied (run as root or grant access to the device)")]
    PermissionDenied { path: String },
    #[error("{path}: TDX_CMD_GET_REPORT0 failed: {detail}")]
    Ioctl { path: String, detail: String },
    #[error("TDREPORT: {0}")]
    BadReport(String),
}

/// The TD guest device.
pub trait TdxGuest {
    /// TDX_CMD_GET_REPORT0: the TDREPORT_STRUCT for `report_data`.
    fn get_report0(&self, report_data: &[u8; 64]) -> Result<Vec<u8>, TdxGuestError>;
    fn describe(&self) -> String;
    fn simulated(&self) -> bool {
        false
    }
}

/// The real node.
pub struct DevTdxGuest {
    path: String,
}

impl DevTdxGuest {
    pub fn open(path: &str) -> Result<Self, TdxGuestError> {
        match std::fs::OpenOptions::new().read(true).write(true).open(path) {
            Ok(_) => Ok(DevTdxGuest { path: path.into() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(TdxGuestError::Absent { path: path.into() }),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                Err(TdxGuestError::PermissionDenied { path: path.into() })
            }
            Err(e) => Err(TdxGuestError::Ioctl { path: path.into(), detail: e.to_string() }),
        }
    }
}

impl TdxGuest for DevTdxGuest {
    #[cfg(target_os = "linux")]
    fn get_report0(&self, report_data: &[u8; 64]) -> Result<Vec<u8>, TdxGuestError> {
        use std::os::fd::AsRawFd;
        #[repr(C)]
        struct TdxReportReq {
            reportdata: [u8; 64],
            tdreport: [u8; TDREPORT_LEN],
        }
        // _IOWR('T', 1, struct tdx_report_req)
        const TDX_CMD_GET_REPORT0: u64 =
            (3u64 << 30) | ((std::mem::size_of::<TdxReportReq>() as u64) << 16) | ((b'T' as u64) << 8) | 1;
        let err = |detail: String| TdxGuestError::Ioctl { path: self.path.clone(), detail };
        let file =
            std::fs::OpenOptions::new().read(true).write(true).open(&self.path).map_err(|e| err(e.to_string()))?;
        let mut req = TdxReportReq { reportdata: *report_data, tdreport: [0; TDREPORT_LEN] };
        // SAFETY: `req` is the kernel's `struct tdx_report_req`, alive for the call.
        let rc = unsafe { libc::ioctl(file.as_raw_fd(), TDX_CMD_GET_REPORT0 as _, &mut req as *mut TdxReportReq) };
        if rc < 0 {
            return Err(err(std::io::Error::last_os_error().to_string()));
        }
        Ok(req.tdreport.to_vec())
    }
    #[cfg(not(target_os = "linux"))]
    fn get_report0(&self, _report_data: &[u8; 64]) -> Result<Vec<u8>, TdxGuestError> {
        Err(TdxGuestError::Absent { path: self.path.clone() })
    }
    fn describe(&self) -> String {
        format!("{} (TDX_CMD_GET_REPORT0 ioctl)", self.path)
    }
}

/// The fields of a TDREPORT_STRUCT cloud-ra reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TdReport {
    /// REPORTTYPE: type (0x81 = TDX), subtype, version.
    pub report_type: u8,
    pub report_version: u8,
    pub report_data: [u8; 64],
    pub tee_tcb_svn: [u8; 16],
    pub td_attributes: u64,
    pub xfam: u64,
    pub mr_td: [u8; 48],
    pub rt_mr: [[u8; 48]; 4],
}

fn arr<const N: usize>(b: &[u8], o: usize) -> [u8; N] {
    let mut a = [0u8; N];
    if let Some(s) = b.get(o..o + N) {
        a.copy_from_slice(s);
    }
    a
}

const TEE_TCB_INFO: std::ops::Range<usize> = 256..256 + 239;
const TD_INFO: std::ops::Range<usize> = 512..1024;

impl TdReport {
    /// Parses and checks the internal hashes (TEE_TCB_INFO_HASH, TEE_INFO_HASH) — the MAC itself
    /// can only be checked by the CPU.
    pub fn parse(b: &[u8]) -> Result<Self, TdxGuestError> {
        if b.len() != TDREPORT_LEN {
            return Err(TdxGuestError::BadReport(format!("{} bytes, expected {TDREPORT_LEN}", b.len())));
        }
        if b[0] != 0x81 {
            return Err(TdxGuestError::BadReport(format!("REPORTTYPE.TYPE is {:#x}, expected 0x81 (TDX)", b[0])));
        }
        if b[32..80] != sha384(&b[TEE_TCB_INFO]) {
            return Err(TdxGuestError::BadReport("TEE_TCB_INFO_HASH (offset 32) does not match TEE_TCB_INFO".into()));
        }
        if b[80..128] != sha384(&b[TD_INFO]) {
            return Err(TdxGuestError::BadReport("TEE_INFO_HASH (offset 80) does not match TDINFO".into()));
        }
        let mut rt_mr = [[0u8; 48]; 4];
        for (i, r) in rt_mr.iter_mut().enumerate() {
            *r = arr(b, 720 + 48 * i);
        }
        Ok(TdReport {
            report_type: b[0],
            report_version: b[2],
            report_data: arr(b, 128),
            tee_tcb_svn: arr(b, 256 + 8),
            td_attributes: u64::from_le_bytes(arr(b, 512)),
            xfam: u64::from_le_bytes(arr(b, 520)),
            mr_td: arr(b, 528),
            rt_mr,
        })
    }
}

/// A simulated `/dev/tdx_guest`: the TD of `cloud-ra-sim`'s default TDX quote, with a MAC under a
/// fixed simulated key.
#[derive(Debug, Clone, Default)]
pub struct SimTdxGuest {
    /// Answer with these bytes instead (bad-input tests).
    pub garbage: Option<Vec<u8>>,
}

impl TdxGuest for SimTdxGuest {
    fn get_report0(&self, report_data: &[u8; 64]) -> Result<Vec<u8>, TdxGuestError> {
        if let Some(g) = &self.garbage {
            return Ok(g.clone());
        }
        let td = cloud_ra_sim::intel::QuoteSpec::new(cloud_ra_sim::intel::QuoteKind::TdxV4).td;
        let mut r = vec![0u8; TDREPORT_LEN];
        r[0] = 0x81; // TDX
        r[2] = 0; // version 0 (TDX 1.0)
        r[128..192].copy_from_slice(report_data);
        // TEE_TCB_INFO: VALID, TEE_TCB_SVN, MRSEAM, MRSIGNER_SEAM, ATTRIBUTES.
        r[256..264].copy_from_slice(&[0xff, 0x01, 0, 0, 0, 0, 0, 0]);
        r[264..280].copy_from_slice(&td.tee_tcb_svn);
        r[280..328].copy_from_slice(&td.mr_seam);
        r[328..376].copy_from_slice(&td.mr_signer_seam);
        r[376..384].copy_from_slice(&td.seam_attributes);
        // TDINFO.
        r[512..520].copy_from_slice(&td.td_attributes.to_le_bytes());
        r[520..528].copy_from_slice(&td.xfam.to_le_bytes());
        r[528..576].copy_from_slice(&td.mr_td);
        r[576..624].copy_from_slice(&td.mr_config_id);
        r[624..672].copy_from_slice(&td.mr_owner);
        r[672..720].copy_from_slice(&td.mr_owner_config);
        for (i, m) in td.rt_mr.iter().enumerate() {
            r[720 + 48 * i..768 + 48 * i].copy_from_slice(m);
        }
        let h = sha384(&r[TEE_TCB_INFO]);
        r[32..80].copy_from_slice(&h);
        let h = sha384(&r[TD_INFO]);
        r[80..128].copy_from_slice(&h);
        let mut mac_in = b"cloud-ra simulated TDX MAC key".to_vec();
        mac_in.extend_from_slice(&r[..224]);
        let mac = sha256(&mac_in);
        r[224..256].copy_from_slice(&mac);
        Ok(r)
    }
    fn describe(&self) -> String {
        "SIMULATED /dev/tdx_guest (cloud-ra-sim TD)".into()
    }
    fn simulated(&self) -> bool {
        true
    }
}
