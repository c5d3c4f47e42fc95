//! The pinned Intel SGX Root CA, by SHA-256 of its DER. The certificate itself comes from the
//! quote's PCK chain or from collateral; only this fingerprint decides trust.

/// Intel SGX Root CA (CN=Intel SGX Root CA, 2018-05-21 → 2049-12-31).
pub const INTEL_SGX_ROOT_CA: &str = "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3";

/// Subject common names of Intel's DCAP PKI.
pub const ROOT_CN: &str = "Intel SGX Root CA";
/// Subject common name of the PCK Platform CA.
pub const PLATFORM_CA_CN: &str = "Intel SGX PCK Platform CA";
/// Subject common name of the PCK Processor CA.
pub const PROCESSOR_CA_CN: &str = "Intel SGX PCK Processor CA";
/// Subject common name of the TCB Signing certificate (TCB info and QE identity).
pub const TCB_SIGNING_CN: &str = "Intel SGX TCB Signing";
/// Intel QVL 4.1.2.4.4: the PCK certificate's CN contains this phrase.
pub(crate) const PCK_CN_PHRASE: &str = "SGX PCK Certificate";

/// SHA-256 of cloud-ra's simulated Intel SGX Root CA (crate `cloud-ra-sim`, `intel` module).
/// Trusted only when the caller asks for it (`--trust-simulated`). Checked against the generator
/// by `cloud-ra-sim`'s tests (`intel_root_fingerprint_pinned`).
pub const SIMULATED_ROOT_CA: &[&str] = &["7aed2ae7ecbbfcb79c3b55a5171fd7ab7646f94359794d6b10ccb0310e148f24"];
