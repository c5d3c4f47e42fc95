//! Builder for SEV-SNP ATTESTATION_REPORT structures.

use crate::{REPORT_LEN, SIM_CHIP_ID, SimAmd, Tcb, VekKind, VekSpec, sim_chip_id_turin};
use cloud_ra_verify::snp::format::{GuestPolicy, PlatformInfo, Report, SigningKey};

/// The fields of an SEV-SNP ATTESTATION_REPORT (the offsets given per field
/// are those of the verifier's [`Report`], which encodes them). TCB_VERSION
/// fields are encoded with [`Tcb::to_u64`] (Turin layout when `fmc` is `Some`).
///
/// [`ReportBuilder::new`] gives a Milan, version-3, VCEK-signed report of the
/// simulated chip; [`ReportBuilder::turin`] a Turin one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportBuilder {
    /// 0x000
    pub version: u32,
    /// 0x004
    pub guest_svn: u32,
    /// 0x008
    pub policy: u64,
    /// 0x010
    pub family_id: [u8; 16],
    /// 0x020
    pub image_id: [u8; 16],
    /// 0x030
    pub vmpl: u32,
    /// 0x034 (1 = ECDSA P-384 with SHA-384)
    pub signature_algo: u32,
    /// 0x038
    pub current_tcb: Tcb,
    /// 0x040
    pub platform_info: u64,
    /// 0x048 bit 0
    pub author_key_en: bool,
    /// 0x048 bit 1
    pub mask_chip_key: bool,
    /// 0x048 bits 4:2 (0 = VCEK, 1 = VLEK, 7 = none; the reserved values 2..=6
    /// are written as 7, a [`Report`] cannot hold them); overwritten by
    /// [`ReportBuilder::sign`].
    pub signing_key: u8,
    /// 0x050
    pub report_data: [u8; 64],
    /// 0x090
    pub measurement: [u8; 48],
    /// 0x0C0
    pub host_data: [u8; 32],
    /// 0x0E0
    pub id_key_digest: [u8; 48],
    /// 0x110
    pub author_key_digest: [u8; 48],
    /// 0x140
    pub report_id: [u8; 32],
    /// 0x160
    pub report_id_ma: [u8; 32],
    /// 0x180
    pub reported_tcb: Tcb,
    /// 0x188 (written for version >= 3 only)
    pub cpuid_fam_id: u8,
    /// 0x189 (written for version >= 3 only)
    pub cpuid_mod_id: u8,
    /// 0x18A (written for version >= 3 only)
    pub cpuid_step: u8,
    /// 0x1A0
    pub chip_id: [u8; 64],
    /// 0x1E0
    pub committed_tcb: Tcb,
    /// 0x1E8
    pub current_build: u8,
    /// 0x1E9
    pub current_minor: u8,
    /// 0x1EA
    pub current_major: u8,
    /// 0x1EC
    pub committed_build: u8,
    /// 0x1ED
    pub committed_minor: u8,
    /// 0x1EE
    pub committed_major: u8,
    /// 0x1F0
    pub launch_tcb: Tcb,
    /// 0x1F8 (written for version >= 5 only)
    pub launch_mit_vector: u64,
    /// 0x200 (written for version >= 5 only)
    pub current_mit_vector: u64,
}

impl Default for ReportBuilder {
    fn default() -> Self {
        Self::new()
    }
}

/// Default TCB of the simulated Milan chip: bl 3, tee 0, snp 20, ucode 209.
pub(crate) const DEFAULT_MILAN_TCB: Tcb = Tcb::milan(3, 0, 20, 209);
/// Default TCB of the simulated Turin chip: fmc 0, bl 1, tee 0, snp 3, ucode 72.
pub(crate) const DEFAULT_TURIN_TCB: Tcb = Tcb::turin(0, 1, 0, 3, 72);

impl ReportBuilder {
    /// Milan defaults: version 3, policy 0x30000 (SMT allowed + reserved bit
    /// 17; ABI 0.0), VMPL 0, signature algo 1, CPUID family 0x19 model 0x01
    /// stepping 0x01, TCB bl 3 / tee 0 / snp 20 / ucode 209 in current,
    /// reported, committed and launch TCB, firmware 1.55 build 21 (current and
    /// committed), platform info 0x1 (SMT enabled), CHIP_ID = [`SIM_CHIP_ID`],
    /// signing key VCEK, REPORT_ID_MA all 0xFF (no migration agent), all other
    /// fields zero.
    pub fn new() -> Self {
        let tcb = DEFAULT_MILAN_TCB;
        Self {
            version: 3,
            guest_svn: 0,
            policy: 0x3_0000,
            family_id: [0; 16],
            image_id: [0; 16],
            vmpl: 0,
            signature_algo: 1,
            current_tcb: tcb,
            platform_info: 0x1,
            author_key_en: false,
            mask_chip_key: false,
            signing_key: 0,
            report_data: [0; 64],
            measurement: [0; 48],
            host_data: [0; 32],
            id_key_digest: [0; 48],
            author_key_digest: [0; 48],
            report_id: [0; 32],
            report_id_ma: [0xFF; 32],
            reported_tcb: tcb,
            cpuid_fam_id: 0x19,
            cpuid_mod_id: 0x01,
            cpuid_step: 0x01,
            chip_id: SIM_CHIP_ID,
            committed_tcb: tcb,
            current_build: 21,
            current_minor: 55,
            current_major: 1,
            committed_build: 21,
            committed_minor: 55,
            committed_major: 1,
            launch_tcb: tcb,
            launch_mit_vector: 0,
            current_mit_vector: 0,
        }
    }

    /// Turin defaults: like [`ReportBuilder::new`] but CPUID family 0x1A
    /// model 0x02 stepping 0x01, Turin TCB fmc 0 / bl 1 / tee 0 / snp 3 /
    /// ucode 72 everywhere, and CHIP_ID = the 8-byte Turin hwID followed by
    /// zeros ([`crate::sim_chip_id_turin`]).
    pub fn turin() -> Self {
        let tcb = DEFAULT_TURIN_TCB;
        Self {
            current_tcb: tcb,
            reported_tcb: tcb,
            committed_tcb: tcb,
            launch_tcb: tcb,
            cpuid_fam_id: 0x1A,
            cpuid_mod_id: 0x02,
            cpuid_step: 0x01,
            chip_id: sim_chip_id_turin(),
            ..Self::new()
        }
    }

    /// Sets current, reported, committed and launch TCB at once.
    pub fn with_tcb(mut self, tcb: Tcb) -> Self {
        self.current_tcb = tcb;
        self.reported_tcb = tcb;
        self.committed_tcb = tcb;
        self.launch_tcb = tcb;
        self
    }

    /// Sets REPORT_DATA.
    pub fn with_report_data(mut self, report_data: [u8; 64]) -> Self {
        self.report_data = report_data;
        self
    }

    /// Sets MEASUREMENT.
    pub fn with_measurement(mut self, measurement: [u8; 48]) -> Self {
        self.measurement = measurement;
        self
    }

    /// The unsigned report (signature area all zero), encoded by the verifier's
    /// [`Report::to_bytes`] (the one copy of the layout): CPUID only for version >= 3, the
    /// mitigation vectors only for version >= 5, other fields as set.
    pub fn to_bytes(&self) -> [u8; REPORT_LEN] {
        Report {
            raw: Box::new([0; REPORT_LEN]),
            version: self.version,
            guest_svn: self.guest_svn,
            policy: GuestPolicy::decode(self.policy),
            family_id: self.family_id,
            image_id: self.image_id,
            vmpl: self.vmpl,
            signature_algo: self.signature_algo,
            current_tcb: self.current_tcb.to_u64(),
            platform_info: PlatformInfo::decode(self.platform_info),
            author_key_en: self.author_key_en,
            mask_chip_key: self.mask_chip_key,
            signing_key: match self.signing_key & 0x7 {
                0 => SigningKey::Vcek,
                1 => SigningKey::Vlek,
                _ => SigningKey::None,
            },
            report_data: self.report_data,
            measurement: self.measurement,
            host_data: self.host_data,
            id_key_digest: self.id_key_digest,
            author_key_digest: self.author_key_digest,
            report_id: self.report_id,
            report_id_ma: self.report_id_ma,
            reported_tcb: self.reported_tcb.to_u64(),
            cpuid: (self.version >= 3).then_some((self.cpuid_fam_id, self.cpuid_mod_id, self.cpuid_step)),
            chip_id: self.chip_id,
            committed_tcb: self.committed_tcb.to_u64(),
            current_build: self.current_build,
            current_minor: self.current_minor,
            current_major: self.current_major,
            committed_build: self.committed_build,
            committed_minor: self.committed_minor,
            committed_major: self.committed_major,
            launch_tcb: self.launch_tcb.to_u64(),
            mit_vectors: (self.version >= 5).then_some((self.launch_mit_vector, self.current_mit_vector)),
            sig_r: [0; 48],
            sig_s: [0; 48],
        }
        .to_bytes()
    }

    /// The VEK certificate spec matching this report: [`VekSpec::vcek`] or
    /// [`VekSpec::vlek`] of the REPORTED_TCB; for a VCEK the hwID is CHIP_ID
    /// (its first 8 bytes when the TCB is Turin-style).
    pub fn vek_spec(&self, kind: VekKind) -> VekSpec {
        match kind {
            VekKind::Vcek => {
                let mut spec = VekSpec::vcek(self.reported_tcb);
                spec.hwid = Some(if self.reported_tcb.fmc.is_some() {
                    self.chip_id[..8].to_vec()
                } else {
                    self.chip_id.to_vec()
                });
                spec
            }
            VekKind::Vlek => VekSpec::vlek(self.reported_tcb),
        }
    }

    /// Builds the report with SIGNING_KEY set for `kind` (0 = VCEK, 1 = VLEK;
    /// all other fields as set, CHIP_ID included) and signs it with the key of
    /// `sim.vek_der(&self.vek_spec(kind))`. Returns 1184 bytes.
    pub fn sign(&self, sim: &SimAmd, kind: VekKind) -> Vec<u8> {
        let mut b = self.clone();
        b.signing_key = match kind {
            VekKind::Vcek => 0,
            VekKind::Vlek => 1,
        };
        let mut bytes = b.to_bytes();
        sim.sign_report(&self.vek_spec(kind), &mut bytes);
        bytes.to_vec()
    }
}
