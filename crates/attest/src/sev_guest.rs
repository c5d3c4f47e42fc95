//! `/dev/sev-guest` (Linux `include/uapi/linux/sev-guest.h`): SNP_GET_REPORT and
//! SNP_GET_EXT_REPORT. The trait is the kernel interface in bytes, so the simulated device and
//! the real ioctl are driven by the same collection code.

/// `struct snp_report_req`: 64 bytes of user data, the VMPL, 28 reserved bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportReq {
    pub user_data: [u8; 64],
    pub vmpl: u32,
}

/// Size of `struct snp_report_resp.data`.
pub const RESP_LEN: usize = 4000;
/// The firmware's MSG_REPORT_RSP: status u32, report_size u32, 24 reserved, then the report.
pub const RESP_REPORT_OFFSET: usize = 32;
/// `SNP_GUEST_VMM_ERR_INVALID_LEN`: the certificate buffer is too small; the kernel wrote the
/// needed length back into `certs_len`.
pub const VMM_ERR_INVALID_LEN: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SevGuestError {
    #[error(
        "/dev/sev-guest is absent: load the driver (`modprobe sev-guest`); if the node is still missing, `cat /sys/class/misc/sev-guest/dev` gives MAJOR:MINOR for `mknod /dev/sev-guest c MAJOR MINOR`"
    )]
    Absent,
    #[error("/dev/sev-guest: permission denied (run as root or grant access to the device)")]
    PermissionDenied,
    #[error("/dev/sev-guest: {0}")]
    Io(String),
    /// The ioctl failed with firmware/VMM error codes (exitinfo2).
    #[error("/dev/sev-guest request failed: errno {errno}, firmware error {fw_error:#x}, VMM error {vmm_error:#x}")]
    Firmware { errno: i32, fw_error: u32, vmm_error: u32 },
    /// SNP_GET_EXT_REPORT with a certificate buffer that is too small.
    #[error("certificate buffer too small: {needed} bytes needed")]
    CertsTooSmall { needed: usize },
    #[error("malformed response from the device: {0}")]
    BadResponse(String),
}

/// The guest device, as bytes in and bytes out.
pub trait SevGuest {
    /// SNP_GET_REPORT with `msg_version`: returns `snp_report_resp.data` (MSG_REPORT_RSP).
    fn get_report(&self, msg_version: u8, req: &ReportReq) -> Result<Vec<u8>, SevGuestError>;
    /// SNP_GET_EXT_REPORT: like `get_report`, and the host's certificate table written into
    /// `certs` (whose length is the page-multiple `certs_len`).
    fn get_ext_report(&self, msg_version: u8, req: &ReportReq, certs: &mut [u8]) -> Result<Vec<u8>, SevGuestError>;
    /// Words for the bundle: which interface this is.
    fn describe(&self) -> String;
    fn simulated(&self) -> bool {
        false
    }
}

/// Extracts the report from MSG_REPORT_RSP, checking status and size.
pub fn report_from_resp(resp: &[u8]) -> Result<Vec<u8>, SevGuestError> {
    if resp.len() < RESP_REPORT_OFFSET {
        return Err(SevGuestError::BadResponse(format!(
            "{} bytes, shorter than the MSG_REPORT_RSP header",
            resp.len()
        )));
    }
    let status = u32::from_le_bytes([resp[0], resp[1], resp[2], resp[3]]);
    let size = u32::from_le_bytes([resp[4], resp[5], resp[6], resp[7]]) as usize;
    if status != 0 {
        return Err(SevGuestError::BadResponse(format!(
            "MSG_REPORT_RSP.STATUS is {status:#x} (0x16 = invalid parameters, e.g. a VMPL below the guest's own)"
        )));
    }
    if size != cloud_ra_verify::snp::format::REPORT_SIZE || RESP_REPORT_OFFSET + size > resp.len() {
        return Err(SevGuestError::BadResponse(format!(
            "MSG_REPORT_RSP.REPORT_SIZE is {size}, expected {}",
            cloud_ra_verify::snp::format::REPORT_SIZE
        )));
    }
    Ok(resp[RESP_REPORT_OFFSET..RESP_REPORT_OFFSET + size].to_vec())
}

/// The real device node.
pub struct DevSevGuest {
    path: String,
}

impl DevSevGuest {
    pub fn open_default() -> Result<Self, SevGuestError> {
        Self::open("/dev/sev-guest")
    }
    pub fn open(path: &str) -> Result<Self, SevGuestError> {
        match std::fs::OpenOptions::new().read(true).write(true).open(path) {
            Ok(_) => Ok(DevSevGuest { path: path.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(SevGuestError::Absent),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err(SevGuestError::PermissionDenied),
            Err(e) => Err(SevGuestError::Io(e.to_string())),
        }
    }
}

#[cfg(target_os = "linux")]
mod ioctl {
    use super::*;
    use std::os::fd::AsRawFd;

    #[repr(C)]
    struct SnpReportReq {
        user_data: [u8; 64],
        vmpl: u32,
        rsvd: [u8; 28],
    }
    #[repr(C)]
    struct SnpExtReportReq {
        data: SnpReportReq,
        certs_address: u64,
        certs_len: u32,
    }
    #[repr(C)]
    struct SnpGuestRequestIoctl {
        msg_version: u8,
        req_data: u64,
        resp_data: u64,
        exitinfo2: u64,
    }
    const fn iowr(nr: u64, size: usize) -> u64 {
        (3u64 << 30) | ((size as u64) << 16) | ((b'S' as u64) << 8) | nr
    }
    const SNP_GET_REPORT: u64 = iowr(0x0, std::mem::size_of::<SnpGuestRequestIoctl>());
    const SNP_GET_EXT_REPORT: u64 = iowr(0x2, std::mem::size_of::<SnpGuestRequestIoctl>());

    pub fn request(
        dev: &DevSevGuest,
        msg_version: u8,
        req: &ReportReq,
        certs: Option<&mut [u8]>,
    ) -> Result<Vec<u8>, SevGuestError> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&dev.path)
            .map_err(|e| SevGuestError::Io(e.to_string()))?;
        let mut resp = vec![0u8; RESP_LEN];
        let base = SnpReportReq { user_data: req.user_data, vmpl: req.vmpl, rsvd: [0; 28] };
        let has_certs = certs.is_some();
        let (certs_ptr, certs_len) = match &certs {
            Some(c) => (c.as_ptr() as u64, c.len() as u32),
            None => (0, 0),
        };
        let mut ext = SnpExtReportReq { data: base, certs_address: certs_ptr, certs_len };
        let mut io = SnpGuestRequestIoctl {
            msg_version,
            req_data: if has_certs { &mut ext as *mut _ as u64 } else { &mut ext.data as *mut _ as u64 },
            resp_data: resp.as_mut_ptr() as u64,
            exitinfo2: 0,
        };
        let cmd = if has_certs { SNP_GET_EXT_REPORT } else { SNP_GET_REPORT };
        // SAFETY: the request, response and certificate buffers outlive the call and have the
        // sizes the kernel's uapi structures declare.
        let rc = unsafe { libc::ioctl(file.as_raw_fd(), cmd as _, &mut io as *mut SnpGuestRequestIoctl) };
        if rc < 0 {
            let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
            let fw_error = (io.exitinfo2 & 0xffff_ffff) as u32;
            let vmm_error = (io.exitinfo2 >> 32) as u32;
            if has_certs && vmm_error == VMM_ERR_INVALID_LEN {
                return Err(SevGuestError::CertsTooSmall { needed: ext.certs_len as usize });
            }
            return Err(SevGuestError::Firmware { errno, fw_error, vmm_error });
        }
        Ok(resp)
    }
}

impl SevGuest for DevSevGuest {
    fn get_report(&self, msg_version: u8, req: &ReportReq) -> Result<Vec<u8>, SevGuestError> {
        #[cfg(target_os = "linux")]
        return ioctl::request(self, msg_version, req, None);
        #[cfg(not(target_os = "linux"))]
        Err(SevGuestError::Absent)
    }
    fn get_ext_report(&self, msg_version: u8, req: &ReportReq, certs: &mut [u8]) -> Result<Vec<u8>, SevGuestError> {
        #[cfg(target_os = "linux")]
        return ioctl::request(self, msg_version, req, Some(certs));
        #[cfg(not(target_os = "linux"))]
        Err(SevGuestError::Absent)
    }
    fn describe(&self) -> String {
        format!("{} (SNP_GET_REPORT / SNP_GET_EXT_REPORT ioctls)", self.path)
    }
}
