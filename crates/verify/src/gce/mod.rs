//! Google Compute Engine vTPM evidence: go-tpm-tools' `attest.Attestation` (`tpm::gotpm`).
//!
//! Verification: the AK (TPMT_PUBLIC) is vouched for by its certificate, which must chain through
//! the carried or given intermediates to a Google EK/AK root pinned by fingerprint
//! (`tpm::GOOGLE_AK_ROOTS`); every quote (one per PCR bank) is signed by the AK, carries exactly
//! the PCR values it selects, and those hash to its pcrDigest; all quotes carry the same
//! extraData. Appraisal: that extraData against the verifier's nonce. The attestation's event log
//! is replayed against the quoted PCRs by `eventlog::bind` (like every carried log).

//!
//! The same rooms as every TEE: `verify` (numbered steps), `appraise`, `claims`, joined by
//! the one contract in `crate::tee`.

pub(crate) mod appraise;
pub(crate) mod claims;
pub(crate) mod verify;

pub(crate) use verify::VerifiedGce;

/// GCE vTPM evidence under the one TEE contract (`crate::tee::Tee`).
pub(crate) struct Gce;

impl crate::tee::Tee for Gce {
    type Evidence<'e> = crate::tpm::gotpm::Attestation;
    type Verified = VerifiedGce;

    fn platform_of(_: &crate::tpm::gotpm::Attestation) -> crate::Platform {
        crate::Platform::GceVtpm
    }

    fn verify(
        a: &crate::tpm::gotpm::Attestation,
        collateral: &crate::Collateral,
        cx: &crate::tee::Context,
    ) -> crate::Result<VerifiedGce> {
        verify::verify(a, collateral, cx.opts.at)
    }

    fn platform(_: &VerifiedGce) -> crate::Platform {
        crate::Platform::GceVtpm
    }

    fn appraise(
        v: &VerifiedGce,
        _: &crate::Policy,
        nonce: Option<&crate::tee::Nonce>,
        _: &crate::tee::Context,
    ) -> crate::Result<crate::tee::Appraisal> {
        appraise::appraise(v, nonce)
    }

    fn claims(v: &VerifiedGce) -> crate::claims::Claims {
        claims::claims(v)
    }
}
