//! AWS Nitro Enclaves: `format` (COSE_Sign1 + attestation document), `verify` (ES384 and the
//! chain to the pinned AWS root), `claims`, `appraise`, `roots`.

pub(crate) mod appraise;
pub(crate) mod claims;
pub(crate) mod format;
pub mod roots;
pub mod verify;

pub use format::{AttestationDoc, CoseSign1, Document};
pub(crate) use verify::{NitroCache, NitroOptions};

/// AWS Nitro Enclaves under the one TEE contract (`crate::tee::Tee`). The evidence is the
/// COSE_Sign1 document's bytes.
pub(crate) struct Nitro;

impl crate::tee::Tee for Nitro {
    type Evidence<'e> = &'e [u8];
    type Verified = verify::VerifiedNitro;

    fn platform_of(_: &&[u8]) -> crate::Platform {
        crate::Platform::Nitro
    }

    fn verify(
        document: &&[u8],
        _: &crate::Collateral,
        cx: &crate::tee::Context,
    ) -> crate::Result<verify::VerifiedNitro> {
        let opts = NitroOptions {
            at: cx.opts.at,
            use_document_time: cx.opts.use_document_time,
            trust_simulated: cx.opts.trust_simulated,
        };
        verify::verify(document, &opts, cx.caches.map(|c| &c.nitro))
    }

    fn platform(_: &verify::VerifiedNitro) -> crate::Platform {
        crate::Platform::Nitro
    }

    fn appraise(
        v: &verify::VerifiedNitro,
        policy: &crate::Policy,
        nonce: Option<&crate::tee::Nonce>,
        cx: &crate::tee::Context,
    ) -> crate::Result<crate::tee::Appraisal> {
        appraise::appraise(v, policy, nonce, cx.opts.allow_debug, cx.opts.at)
    }

    fn claims(v: &verify::VerifiedNitro) -> crate::claims::Claims {
        claims::claims(v)
    }
}
