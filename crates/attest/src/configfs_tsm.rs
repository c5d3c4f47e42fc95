//! configfs-tsm (`/sys/kernel/config/tsm/report`, Linux ≥ 6.7): the kernel's one interface for
//! TEE reports. The protocol is files: `mkdir` an entry, read `provider` (`sev_guest`,
//! `tdx_guest`, ...), write `privlevel` (SNP VMPL; optional) and `inblob` (≤ 64 bytes of report
//! data), read `generation`, read `outblob` (the report or quote) and `auxblob` (SNP: the
//! certificate table), re-read `generation` to detect a concurrent writer, `rmdir` the entry.
//!
//! The file operations go through [`TsmFs`] so the same protocol code runs against the real
//! configfs ([`RealFs`]) and against [`SimTsm`]: a real directory tree in a temporary directory
//! whose attribute files are kept by a simulated provider, exactly as configfs keeps them (the
//! entry's files appear on `mkdir`, `generation` counts writes, `outblob` is produced when read).

use crate::sev_guest::{ReportReq, SevGuest, report_from_resp};
use crate::sim_sev_guest::SimSevGuest;
use std::io;
use std::path::{Path, PathBuf};

/// Where the kernel mounts the report subsystem.
pub const DEFAULT_ROOT: &str = "/sys/kernel/config/tsm/report";
/// The kernel's limit on `inblob` (TSM_INBLOB_MAX).
pub const INBLOB_MAX: usize = 64;
/// The kernel's limit on `outblob`/`auxblob` (TSM_OUTBLOB_MAX, 32 KiB).
pub const OUTBLOB_MAX: usize = 32 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TsmError {
    #[error(
        "configfs is not mounted ({configfs} is missing or empty): `mount -t configfs none /sys/kernel/config` (needs a kernel ≥ 6.7 with CONFIG_TSM_REPORTS)"
    )]
    NotMounted { configfs: String },
    #[error(
        "{root} is absent: configfs is mounted but no TSM report provider is registered; load the guest driver (`modprobe sev-guest` or `modprobe tdx-guest`; kernel ≥ 6.7)"
    )]
    NoProvider { root: String },
    #[error("{path}: permission denied (configfs-tsm needs root, or write access to {path})")]
    PermissionDenied { path: String },
    #[error("configfs-tsm provider is '{found}', expected '{expected}'")]
    ProviderMismatch { expected: String, found: String },
    #[error("inblob is {0} bytes; configfs-tsm takes at most {INBLOB_MAX}")]
    InblobTooLarge(usize),
    #[error(
        "provider '{provider}' has no privlevel attribute: a privilege level (VMPL) can only be requested from sev_guest"
    )]
    PrivlevelUnsupported { provider: String },
    #[error(
        "privlevel {level} refused by the kernel (privlevel_floor is {floor}: the guest runs at VMPL {floor} and cannot ask for a more privileged level)"
    )]
    PrivlevelRefused { level: u32, floor: String },
    #[error(
        "configfs-tsm generation is {found}, expected {expected}: another process wrote to the entry concurrently; the report may carry its data, retry"
    )]
    GenerationRace { expected: u64, found: u64 },
    #[error("{path}: {detail}")]
    BadAttribute { path: String, detail: String },
    #[error("{path}: {detail}")]
    Io { path: String, detail: String },
}

/// The file operations the protocol needs.
pub trait TsmFs: Send + Sync {
    fn create_dir(&self, path: &Path) -> io::Result<()>;
    fn remove_dir(&self, path: &Path) -> io::Result<()>;
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    fn write(&self, path: &Path, data: &[u8]) -> io::Result<()>;
    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }
    fn describe(&self) -> String;
    fn simulated(&self) -> bool {
        false
    }
}

/// The real configfs: `std::fs`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealFs;

impl TsmFs for RealFs {
    fn create_dir(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir(path)
    }
    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_dir(path)
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        use std::io::Read;
        let mut out = Vec::new();
        std::fs::File::open(path)?.take(OUTBLOB_MAX as u64 + 1).read_to_end(&mut out)?;
        Ok(out)
    }
    fn write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        // One write(2): configfs binary attributes take the whole value in one call.
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
        f.write_all(data)
    }
    fn describe(&self) -> String {
        "configfs-tsm".into()
    }
}

/// One request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsmRequest {
    /// Report data, at most 64 bytes (the nonce).
    pub inblob: Vec<u8>,
    /// SNP VMPL to request (written to `privlevel`); `None` leaves the kernel default (0).
    pub privlevel: Option<u32>,
    /// Refuse any other provider (`sev_guest`, `tdx_guest`).
    pub expect_provider: Option<String>,
}

/// What the provider returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsmResponse {
    pub provider: String,
    pub outblob: Vec<u8>,
    /// SNP: the certificate table (absent or empty when the host caches none).
    pub auxblob: Option<Vec<u8>>,
    /// `generation` when the report was read (= the number of writes to the entry).
    pub generation: u64,
    /// The VMPL floor the kernel reported, when the provider has one.
    pub privlevel_floor: Option<u32>,
    /// Set when the entry could not be removed afterwards (the evidence is still good).
    pub cleanup_error: Option<String>,
}

/// The configfs-tsm report interface rooted at `root` (normally [`DEFAULT_ROOT`]).
pub struct ConfigfsTsm {
    pub root: PathBuf,
    pub fs: Box<dyn TsmFs>,
}

fn io_err(path: &Path, e: &io::Error) -> TsmError {
    if e.kind() == io::ErrorKind::PermissionDenied {
        TsmError::PermissionDenied { path: path.display().to_string() }
    } else {
        TsmError::Io { path: path.display().to_string(), detail: e.to_string() }
    }
}

impl ConfigfsTsm {
    pub fn real(root: impl Into<PathBuf>) -> Self {
        ConfigfsTsm { root: root.into(), fs: Box::new(RealFs) }
    }

    /// Whether the report directory exists; if not, says whether configfs itself is mounted.
    pub fn check(&self) -> Result<(), TsmError> {
        if self.fs.exists(&self.root) {
            return Ok(());
        }
        // root = <configfs>/tsm/report
        let configfs = self.root.parent().and_then(Path::parent).unwrap_or(&self.root).to_path_buf();
        let mounted = std::fs::read_dir(&configfs).map(|mut d| d.next().is_some()).unwrap_or(false);
        if mounted || self.fs.exists(&configfs.join("tsm")) {
            Err(TsmError::NoProvider { root: self.root.display().to_string() })
        } else {
            Err(TsmError::NotMounted { configfs: configfs.display().to_string() })
        }
    }

    pub fn describe(&self) -> String {
        format!("{} at {}", self.fs.describe(), self.root.display())
    }

    fn read_text(&self, path: &Path) -> Result<String, TsmError> {
        let b = self.fs.read(path).map_err(|e| io_err(path, &e))?;
        String::from_utf8(b)
            .map(|s| s.trim_end_matches(['\n', '\0']).to_string())
            .map_err(|_| TsmError::BadAttribute { path: path.display().to_string(), detail: "not text".into() })
    }

    fn read_u64(&self, path: &Path) -> Result<u64, TsmError> {
        let t = self.read_text(path)?;
        t.trim().parse().map_err(|_| TsmError::BadAttribute {
            path: path.display().to_string(),
            detail: format!("'{}' is not a decimal number", t.chars().take(32).collect::<String>()),
        })
    }

    /// One report: mkdir, the protocol, rmdir (also on error).
    pub fn get(&self, req: &TsmRequest) -> Result<TsmResponse, TsmError> {
        if req.inblob.len() > INBLOB_MAX {
            return Err(TsmError::InblobTooLarge(req.inblob.len()));
        }
        self.check()?;
        let mut tag = [0u8; 6];
        let _ = getrandom::fill(&mut tag);
        let entry = self.root.join(format!("cloud-ra-{}-{}", std::process::id(), hex::encode(tag)));
        self.fs.create_dir(&entry).map_err(|e| io_err(&entry, &e))?;
        let r = self.run(&entry, req);
        let rm = self.fs.remove_dir(&entry);
        let mut resp = r?;
        if let Err(e) = rm {
            resp.cleanup_error = Some(format!("could not remove {}: {e}", entry.display()));
        }
        Ok(resp)
    }

    /// Reads `provider` of a throw-away entry (what `detect` reports).
    pub fn provider(&self) -> Result<String, TsmError> {
        self.check()?;
        let entry = self.root.join(format!("cloud-ra-probe-{}", std::process::id()));
        self.fs.create_dir(&entry).map_err(|e| io_err(&entry, &e))?;
        let p = self.read_text(&entry.join("provider"));
        let _ = self.fs.remove_dir(&entry);
        p
    }

    fn run(&self, entry: &Path, req: &TsmRequest) -> Result<TsmResponse, TsmError> {
        let provider = self.read_text(&entry.join("provider"))?;
        if let Some(want) = &req.expect_provider
            && &provider != want
        {
            return Err(TsmError::ProviderMismatch { expected: want.clone(), found: provider });
        }
        let gen_path = entry.join("generation");
        let start = self.read_u64(&gen_path)?;
        let mut writes = 0u64;
        let floor_path = entry.join("privlevel_floor");
        let privlevel_floor = if self.fs.exists(&floor_path) { Some(self.read_u64(&floor_path)? as u32) } else { None };
        if let Some(level) = req.privlevel {
            let p = entry.join("privlevel");
            if !self.fs.exists(&p) {
                return Err(TsmError::PrivlevelUnsupported { provider });
            }
            let floor = privlevel_floor.map(|f| f.to_string()).unwrap_or_else(|| "unknown".into());
            if privlevel_floor.is_some_and(|f| level < f) {
                return Err(TsmError::PrivlevelRefused { level, floor });
            }
            match self.fs.write(&p, format!("{level}\n").as_bytes()) {
                Ok(()) => writes += 1,
                Err(e) if e.kind() == io::ErrorKind::InvalidInput => {
                    return Err(TsmError::PrivlevelRefused { level, floor });
                }
                Err(e) => return Err(io_err(&p, &e)),
            }
        }
        let inblob = entry.join("inblob");
        self.fs.write(&inblob, &req.inblob).map_err(|e| io_err(&inblob, &e))?;
        writes += 1;
        let expected = start + writes;
        let before = self.read_u64(&gen_path)?;
        if before != expected {
            return Err(TsmError::GenerationRace { expected, found: before });
        }
        let out_path = entry.join("outblob");
        let outblob = self.fs.read(&out_path).map_err(|e| io_err(&out_path, &e))?;
        if outblob.is_empty() {
            return Err(TsmError::BadAttribute {
                path: out_path.display().to_string(),
                detail: format!("provider '{provider}' returned an empty report"),
            });
        }
        if outblob.len() > OUTBLOB_MAX {
            return Err(TsmError::BadAttribute {
                path: out_path.display().to_string(),
                detail: format!("more than {OUTBLOB_MAX} bytes"),
            });
        }
        let aux_path = entry.join("auxblob");
        let auxblob = if self.fs.exists(&aux_path) {
            let a = self.fs.read(&aux_path).map_err(|e| io_err(&aux_path, &e))?;
            if a.is_empty() { None } else { Some(a) }
        } else {
            None
        };
        let after = self.read_u64(&gen_path)?;
        if after != expected {
            return Err(TsmError::GenerationRace { expected, found: after });
        }
        Ok(TsmResponse { provider, outblob, auxblob, generation: after, privlevel_floor, cleanup_error: None })
    }
}

/// What the simulated provider is.
#[derive(Debug, Clone)]
pub enum SimProvider {
    /// `sev_guest`: SNP reports and the host's certificate table from a simulated SNP guest.
    SevGuest(SimSevGuest),
    /// `tdx_guest`: TDX v4 quotes from the simulated Intel quoting enclave.
    TdxGuest,
    /// A provider that answers the given bytes whatever is asked (bad-input tests).
    Garbage { name: String, outblob: Vec<u8> },
}

/// A concurrent writer the simulation injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Race {
    None,
    /// Another process writes `inblob` right after ours (before the report is generated).
    AfterInblob,
    /// Another process writes `inblob` while we read `outblob`.
    DuringOutblob,
}

/// A simulated configfs-tsm: real files under `<dir>/sys/kernel/config/tsm/report`, kept by a
/// simulated provider the way configfs keeps its attributes. Removes its directory on drop.
pub struct SimTsm {
    pub dir: PathBuf,
    pub provider: SimProvider,
    pub race: Race,
    owns_dir: bool,
}

impl SimTsm {
    /// In a fresh temporary directory.
    pub fn new(provider: SimProvider) -> io::Result<Self> {
        let mut tag = [0u8; 8];
        getrandom::fill(&mut tag).map_err(|e| io::Error::other(e.to_string()))?;
        let dir = std::env::temp_dir().join(format!("cloud-ra-simtsm-{}", hex::encode(tag)));
        let mut s = Self::at(&dir, provider)?;
        s.owns_dir = true;
        Ok(s)
    }

    /// Under an existing machine root (a fixture tree); the directory is left in place.
    pub fn at(root: &Path, provider: SimProvider) -> io::Result<Self> {
        std::fs::create_dir_all(root.join("sys/kernel/config/tsm/report"))?;
        Ok(SimTsm { dir: root.to_path_buf(), provider, race: Race::None, owns_dir: false })
    }

    pub fn report_root(&self) -> PathBuf {
        self.dir.join("sys/kernel/config/tsm/report")
    }

    /// The configfs-tsm interface over this simulation.
    pub fn into_tsm(self) -> ConfigfsTsm {
        ConfigfsTsm { root: self.report_root(), fs: Box::new(self) }
    }

    fn name(&self) -> &str {
        match &self.provider {
            SimProvider::SevGuest(_) => "sev_guest",
            SimProvider::TdxGuest => "tdx_guest",
            SimProvider::Garbage { name, .. } => name,
        }
    }

    fn floor(&self) -> Option<u32> {
        match &self.provider {
            SimProvider::SevGuest(g) => Some(g.guest_vmpl),
            _ => None,
        }
    }

    fn bump(&self, entry: &Path) -> io::Result<()> {
        let g = std::fs::read_to_string(entry.join("generation"))?;
        let n: u64 = g.trim().parse().map_err(|_| io::Error::other("bad generation"))?;
        std::fs::write(entry.join("generation"), format!("{}\n", n + 1))
    }

    /// Produces `outblob`/`auxblob` from the entry's current `inblob`/`privlevel`.
    fn generate(&self, entry: &Path) -> io::Result<()> {
        let inblob = std::fs::read(entry.join("inblob"))?;
        let data = cloud_ra_verify::policy::pad64(&inblob);
        let (out, aux) = match &self.provider {
            SimProvider::SevGuest(g) => {
                let vmpl = std::fs::read_to_string(entry.join("privlevel"))?.trim().parse::<u32>().unwrap_or(0);
                let req = ReportReq { user_data: data, vmpl };
                let mut certs = vec![0u8; 4 * 4096];
                let resp = g
                    .get_ext_report(1, &req, &mut certs)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
                // The kernel returns EIO when the firmware refuses (e.g. STATUS 0x16).
                let report = report_from_resp(&resp).map_err(|e| io::Error::other(e.to_string()))?;
                let table_len = cloud_ra_verify::snp::format::parse_cert_table(&certs)
                    .map(|e| cloud_ra_verify::snp::format::write_cert_table(&e).len())
                    .unwrap_or(0);
                certs.truncate(table_len);
                (report, certs)
            }
            SimProvider::TdxGuest => {
                use cloud_ra_sim::intel::{QuoteKind, QuoteSpec, SimIntel};
                let spec = QuoteSpec { report_data: data, ..QuoteSpec::new(QuoteKind::TdxV4) };
                let mut q = SimIntel::get().quote(&spec);
                // The TDX provider returns the quote in a buffer padded with zeros.
                q.resize(q.len().div_ceil(512) * 512, 0);
                (q, Vec::new())
            }
            SimProvider::Garbage { outblob, .. } => (outblob.clone(), Vec::new()),
        };
        std::fs::write(entry.join("outblob"), out)?;
        if entry.join("auxblob").exists() {
            std::fs::write(entry.join("auxblob"), aux)?;
        }
        Ok(())
    }

    fn concurrent_write(&self, entry: &Path) -> io::Result<()> {
        std::fs::write(entry.join("inblob"), b"another process")?;
        self.bump(entry)
    }
}

impl Drop for SimTsm {
    fn drop(&mut self) {
        if self.owns_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn file_name(path: &Path) -> &str {
    path.file_name().and_then(|n| n.to_str()).unwrap_or("")
}

impl TsmFs for SimTsm {
    fn create_dir(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir(path)?;
        std::fs::write(path.join("provider"), format!("{}\n", self.name()))?;
        std::fs::write(path.join("generation"), "0\n")?;
        std::fs::write(path.join("inblob"), b"")?;
        std::fs::write(path.join("outblob"), b"")?;
        if let Some(floor) = self.floor() {
            std::fs::write(path.join("auxblob"), b"")?;
            std::fs::write(path.join("privlevel"), format!("{floor}\n"))?;
            std::fs::write(path.join("privlevel_floor"), format!("{floor}\n"))?;
        }
        Ok(())
    }
    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        // configfs removes the attributes with the entry.
        std::fs::remove_dir_all(path)
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let entry = path.parent().unwrap_or(path);
        if file_name(path) == "outblob" {
            self.generate(entry)?;
            if self.race == Race::DuringOutblob {
                self.concurrent_write(entry)?;
            }
        }
        std::fs::read(path)
    }
    fn write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        let entry = path.parent().unwrap_or(path);
        match file_name(path) {
            "inblob" => {
                if data.len() > INBLOB_MAX {
                    return Err(io::Error::new(io::ErrorKind::InvalidInput, "inblob larger than 64 bytes"));
                }
                std::fs::write(path, data)?;
                self.bump(entry)?;
                if self.race == Race::AfterInblob {
                    self.concurrent_write(entry)?;
                }
                Ok(())
            }
            "privlevel" => {
                let text = std::str::from_utf8(data).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
                let level: u32 = text.trim().parse().map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
                if level > 3 || self.floor().is_some_and(|f| level < f) {
                    return Err(io::Error::new(io::ErrorKind::InvalidInput, "privlevel below privlevel_floor"));
                }
                std::fs::write(path, data)?;
                self.bump(entry)
            }
            _ => Err(io::Error::new(io::ErrorKind::PermissionDenied, "read-only attribute")),
        }
    }
    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }
    fn describe(&self) -> String {
        format!("SIMULATED configfs-tsm (provider {}, cloud-ra-sim)", self.name())
    }
    fn simulated(&self) -> bool {
        true
    }
}
