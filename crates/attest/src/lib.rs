//! cloud-ra attester: guest device backends behind small traits, and evidence collection into
//! the cloud-ra bundle. Simulated devices (crate `cloud-ra-sim` keys) stand in where hardware
//! cannot exist; they speak the same byte protocol as the kernel interfaces.

pub mod azure;
pub mod collect;
pub mod configfs_tsm;
pub mod imds;
pub mod nitro_service;
pub mod nsm;
pub mod platform;
pub mod sev_guest;
pub mod sim_azure;
pub mod sim_sev_guest;
pub mod source;
pub mod survey;
pub mod tcti;
pub mod tdx_guest;
pub mod tpm;
pub mod tpm2;
pub mod vsock;

pub use collect::{SnpCollectOptions, collect_snp_bundle};
pub use sev_guest::{DevSevGuest, SevGuest, SevGuestError};
pub use sim_sev_guest::SimSevGuest;
pub use tpm::{Tpm, TpmError};
pub use tpm2::TpmClient;

/// Restores the default disposition of SIGPIPE, so that a command writing into a closed pipe
/// (`cloud-ra show ... | head`) ends quietly, as Unix tools do, instead of panicking inside
/// `println!`. Call it first thing in `main`, before any thread starts.
pub fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: `signal` with SIG_DFL installs no handler code; it is called before any other
    // thread exists, so no thread observes a half-changed disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
