//! Intel DCAP (TDX quotes v4/v5, SGX quotes v3), verified the way Intel's Quote Verification
//! Library does: `format` (byte-exact quote), `collateral` (TCB info, enclave identity, the
//! dcap-qvl collateral file), `pck` (PCK certificate extensions), `verify` (the numbered QVL steps,
//! TCB level matching and status convergence), `claims`, `appraise`, and the pinned `roots`.

pub(crate) mod appraise;
pub mod claims;
pub mod collateral;
pub mod format;
pub mod pck;
pub mod roots;
pub mod verify;

pub use format::{Body, Quote};
pub use verify::{CollateralCache, DcapOptions, TcbStatus, VerifiedDcap};

/// A DCAP quote as detected: its bytes and the platform its header names (TDX or SGX).
pub(crate) struct DcapEvidence<'a> {
    pub quote: &'a [u8],
    pub platform: crate::Platform,
}

/// Intel DCAP (TDX and SGX quotes) under the one TEE contract (`crate::tee::Tee`).
pub(crate) struct Dcap;

impl crate::tee::Tee for Dcap {
    type Evidence<'e> = DcapEvidence<'e>;
    type Verified = VerifiedDcap;

    fn platform_of(ev: &DcapEvidence<'_>) -> crate::Platform {
        ev.platform
    }

    fn verify(
        ev: &DcapEvidence<'_>,
        collateral: &crate::Collateral,
        cx: &crate::tee::Context,
    ) -> crate::Result<VerifiedDcap> {
        let opts =
            DcapOptions { at: cx.opts.at, require_crl: cx.require_crl(), trust_simulated: cx.opts.trust_simulated };
        verify::verify(ev.quote, collateral, &opts, cx.caches.map(|c| &c.dcap))
    }

    fn platform(v: &VerifiedDcap) -> crate::Platform {
        match v.quote.body {
            Body::Sgx(_) => crate::Platform::Sgx,
            Body::Td10(_) | Body::Td15(_) => crate::Platform::Tdx,
        }
    }

    fn appraise(
        v: &VerifiedDcap,
        policy: &crate::Policy,
        nonce: Option<&crate::tee::Nonce>,
        cx: &crate::tee::Context,
    ) -> crate::Result<crate::tee::Appraisal> {
        appraise::appraise(v, policy, nonce, cx.opts.allow_debug)
    }

    fn claims(v: &VerifiedDcap) -> crate::claims::Claims {
        claims::claims(v)
    }
}
