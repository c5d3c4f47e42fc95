//! Azure confidential VMs with a vTPM (SEV-SNP and TDX behind the OpenHCL paravisor): `format`
//! (the HCL report, runtime claims, and the evidence shapes accepted), `verify` (hardware report,
//! runtime-claims binding, AK, vTPM quote), `claims`, `appraise` (`[azure]`).

pub mod appraise;
pub mod claims;
pub mod format;
pub mod verify;

pub use format::{AzureEvidence, HclReport, QuoteParts, Source, Tee};
pub use verify::{AzureOptions, Freshness, VerifiedAzure};
