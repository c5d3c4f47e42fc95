//! AMD SEV-SNP: `format` (byte-exact report and cert table), `verify` (chain, CRL, signature),
//! `claims`, `appraise`, and the pinned `roots`.

pub(crate) mod appraise;
pub mod claims;
pub mod format;
pub mod roots;
pub mod verify;

pub use format::{CertKind, CertTableEntry, Product, Report, SigningKey, Tcb};
pub use verify::{ChainCache, SnpEvidence, SnpOptions, VerifiedSnp};

/// SEV-SNP under the one TEE contract (`crate::tee::Tee`).
pub(crate) struct Snp;

impl crate::tee::Tee for Snp {
    type Evidence<'e> = SnpEvidence<'e>;
    type Verified = VerifiedSnp;

    fn platform_of(_: &SnpEvidence<'_>) -> crate::Platform {
        crate::Platform::Snp
    }

    fn verify(
        ev: &SnpEvidence<'_>,
        collateral: &crate::Collateral,
        cx: &crate::tee::Context,
    ) -> crate::Result<VerifiedSnp> {
        let opts = SnpOptions {
            at: cx.opts.at,
            product: cx.snp_product()?,
            trust_simulated: cx.opts.trust_simulated,
            require_crl: cx.require_crl(),
        };
        verify::verify(ev, collateral, &opts, cx.caches.map(|c| &c.snp))
    }

    fn platform(_: &VerifiedSnp) -> crate::Platform {
        crate::Platform::Snp
    }

    fn appraise(
        v: &VerifiedSnp,
        policy: &crate::Policy,
        nonce: Option<&crate::tee::Nonce>,
        cx: &crate::tee::Context,
    ) -> crate::Result<crate::tee::Appraisal> {
        appraise::appraise(v, policy, nonce, cx.opts.allow_debug)
    }

    fn claims(v: &VerifiedSnp) -> crate::claims::Claims {
        claims::claims(v)
    }
}
