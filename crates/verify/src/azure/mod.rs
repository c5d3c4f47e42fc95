//! Azure confidential VMs with a vTPM (SEV-SNP and TDX behind the OpenHCL paravisor): `format`
//! (the HCL report, runtime claims, and the evidence shapes accepted), `verify` (hardware report,
//! runtime-claims binding, AK, vTPM quote), `claims`, `appraise` (`[azure]`).

pub(crate) mod appraise;
pub(crate) mod claims;
pub mod format;
pub mod verify;

pub use format::{AzureEvidence, HclReport, QuoteParts, Source, Tee};
pub use verify::{AzureOptions, Freshness, VerifiedAzure};

/// Azure vTPM evidence (SNP or TDX behind the paravisor) under the one TEE contract
/// (`crate::tee::Tee`).
pub(crate) struct Azure;

impl crate::tee::Tee for Azure {
    type Evidence<'e> = AzureEvidence;
    type Verified = VerifiedAzure;

    fn platform_of(e: &AzureEvidence) -> crate::Platform {
        e.tee.map(|t| t.platform()).unwrap_or(crate::Platform::AzureVtpm)
    }

    fn verify(
        e: &AzureEvidence,
        collateral: &crate::Collateral,
        cx: &crate::tee::Context,
    ) -> crate::Result<VerifiedAzure> {
        let opts = AzureOptions {
            at: cx.opts.at,
            product: cx.snp_product()?,
            trust_simulated: cx.opts.trust_simulated,
            require_crl: cx.require_crl(),
        };
        verify::verify(e, collateral, &opts, cx.caches.map(|c| &c.snp), cx.caches.map(|c| &c.dcap))
    }

    fn platform(v: &VerifiedAzure) -> crate::Platform {
        v.platform()
    }

    fn appraise(
        v: &VerifiedAzure,
        policy: &crate::Policy,
        nonce: Option<&crate::tee::Nonce>,
        cx: &crate::tee::Context,
    ) -> crate::Result<crate::tee::Appraisal> {
        appraise::appraise(v, policy, nonce, cx.opts.allow_debug)
    }

    fn claims(v: &VerifiedAzure) -> crate::claims::Claims {
        claims::claims(v)
    }
}
