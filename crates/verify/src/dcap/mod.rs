//! Intel DCAP (TDX quotes v4/v5, SGX quotes v3), verified the way Intel's Quote Verification
//! Library does: `format` (byte-exact quote), `collateral` (TCB info, enclave identity, the
//! dcap-qvl collateral file), `pck` (PCK certificate extensions), `verify` (the numbered QVL steps,
//! TCB level matching and status convergence), `claims`, `appraise`, and the pinned `roots`.

pub mod appraise;
pub mod claims;
pub mod collateral;
pub mod format;
pub mod pck;
pub mod roots;
pub mod verify;

pub use format::{Body, Quote};
pub use verify::{CollateralCache, DcapOptions, TcbStatus, VerifiedDcap};
