//! A simulated `/dev/sev-guest`: it answers SNP_GET_REPORT and SNP_GET_EXT_REPORT with the same
//! bytes the kernel returns (MSG_REPORT_RSP, GUID certificate table, "buffer too small" with the
//! needed length), signing with the simulated AMD PKI of `cloud-ra-sim`.

use crate::sev_guest::{RESP_LEN, RESP_REPORT_OFFSET, ReportReq, SevGuest, SevGuestError};
use cloud_ra_sim::{
    CrlSpec, GUID_ARK, GUID_ASK, GUID_CRL, GUID_VCEK, GUID_VLEK, ReportBuilder, SimAmd, VekKind, cert_table,
};

/// Which certificates the simulated host caches for SNP_GET_EXT_REPORT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostCerts {
    /// ARK + ASK + VCEK, as GCP's hosts do.
    VcekChain,
    /// Only the VLEK (signed by the ASVK), as AWS's hosts do; the report is VLEK-signed.
    VlekOnly,
    /// Nothing cached: the extended report carries no table.
    None,
}

/// A simulated SNP guest.
#[derive(Debug, Clone)]
pub struct SimSevGuest {
    pub host_certs: HostCerts,
    /// The VMPL the guest itself runs at (requests for a more privileged VMPL fail like on
    /// hardware: MSG_REPORT_RSP.STATUS = 0x16).
    pub guest_vmpl: u32,
    pub measurement: [u8; 48],
    pub policy: u64,
    /// When set, the host also caches an ARK-signed CRL issued at this time minus one hour and
    /// valid for a week (so the table spans more than one page, as AMD's RSA-4096 chains do).
    pub crl_issued_at: Option<i64>,
    /// Further entries the host appends (unknown GUIDs must be carried through untouched).
    pub extra_entries: Vec<([u8; 16], Vec<u8>)>,
}

impl Default for SimSevGuest {
    fn default() -> Self {
        let mut measurement = [0u8; 48];
        for (i, b) in measurement.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(0x5a);
        }
        SimSevGuest {
            host_certs: HostCerts::VcekChain,
            guest_vmpl: 0,
            measurement,
            policy: 0x30000,
            crl_issued_at: None,
            extra_entries: Vec::new(),
        }
    }
}

const STATUS_INVALID_PARAM: u32 = 0x16;

impl SimSevGuest {
    fn kind(&self) -> VekKind {
        if self.host_certs == HostCerts::VlekOnly { VekKind::Vlek } else { VekKind::Vcek }
    }

    fn builder(&self, req: &ReportReq) -> ReportBuilder {
        let mut b = ReportBuilder::new();
        b.report_data = req.user_data;
        b.vmpl = req.vmpl;
        b.measurement = self.measurement;
        b.policy = self.policy;
        if self.kind() == VekKind::Vlek {
            b.chip_id = [0u8; 64];
        }
        b
    }

    fn response(&self, msg_version: u8, req: &ReportReq) -> Result<(Vec<u8>, ReportBuilder), SevGuestError> {
        if msg_version != 1 {
            return Err(SevGuestError::Firmware { errno: 22, fw_error: 0, vmm_error: 0 });
        }
        let mut resp = vec![0u8; RESP_LEN];
        let b = self.builder(req);
        if req.vmpl < self.guest_vmpl || req.vmpl > 3 {
            resp[0..4].copy_from_slice(&STATUS_INVALID_PARAM.to_le_bytes());
            return Ok((resp, b));
        }
        let report = b.sign(SimAmd::get(), self.kind());
        resp[4..8].copy_from_slice(&(report.len() as u32).to_le_bytes());
        resp[RESP_REPORT_OFFSET..RESP_REPORT_OFFSET + report.len()].copy_from_slice(&report);
        Ok((resp, b))
    }

    /// The host's certificate table for this guest.
    pub fn host_table(&self, b: &ReportBuilder) -> Vec<u8> {
        let sim = SimAmd::get();
        match self.host_certs {
            HostCerts::VcekChain => {
                let mut entries = vec![
                    (GUID_ARK, sim.ark_der().to_vec()),
                    (GUID_ASK, sim.ask_der().to_vec()),
                    (GUID_VCEK, sim.vek_der(&b.vek_spec(VekKind::Vcek))),
                ];
                if let Some(t) = self.crl_issued_at {
                    let mut spec = CrlSpec::new(t - 3600);
                    spec.next_update = Some(t + 7 * 86400);
                    entries.push((GUID_CRL, sim.crl_der(&spec)));
                }
                entries.extend(self.extra_entries.iter().cloned());
                cert_table(&entries)
            }
            HostCerts::VlekOnly => cert_table(&[(GUID_VLEK, sim.vek_der(&b.vek_spec(VekKind::Vlek)))]),
            HostCerts::None => Vec::new(),
        }
    }
}

impl SevGuest for SimSevGuest {
    fn get_report(&self, msg_version: u8, req: &ReportReq) -> Result<Vec<u8>, SevGuestError> {
        self.response(msg_version, req).map(|(r, _)| r)
    }

    fn get_ext_report(&self, msg_version: u8, req: &ReportReq, certs: &mut [u8]) -> Result<Vec<u8>, SevGuestError> {
        let (resp, b) = self.response(msg_version, req)?;
        let table = self.host_table(&b);
        let needed = table.len().div_ceil(4096) * 4096;
        if certs.len() < needed {
            return Err(SevGuestError::CertsTooSmall { needed });
        }
        certs.fill(0);
        certs[..table.len()].copy_from_slice(&table);
        Ok(resp)
    }

    fn describe(&self) -> String {
        format!(
            "SIMULATED /dev/sev-guest (cloud-ra-sim PKI, host certificates: {:?}, guest VMPL {})",
            self.host_certs, self.guest_vmpl
        )
    }

    fn simulated(&self) -> bool {
        true
    }
}
