//! cloud-ra collateral: the AMD ARK/ASK certificates that the `sev` registry crate ships, and
//! collateral fetched from AMD KDS, Intel PCS/PCCS, Azure THIM and AWS, validated against the
//! pinned roots before use, kept in an on-disk cache, and carried to offline machines in bundles.
//! Trust is never taken from a source: the verifier (and [`validate`] before caching) accepts a
//! root only when its fingerprint is pinned. The verifier crate itself never touches the network.
//!
//! * [`needs::needs`]: what a piece of evidence needs;
//! * [`store::Store`]: cache first, then the network ([`config::Config`] says where);
//! * [`offline`]: export/import of the cache as one file.

#![forbid(unsafe_code)]

pub mod cache;
pub mod config;
pub mod error;
pub mod http;
pub mod item;
pub mod needs;
pub mod offline;
pub mod store;
pub mod validate;
mod zip;

pub use config::{Config, Overrides};
pub use error::{CollError, Kind};
pub use item::Item;
pub use needs::{Need, NeedOptions, Needs, needs};
pub use store::{Gathered, Got, Origin, Store};

use cloud_ra_verify::Collateral;

/// Every built-in AMD ARK and ASK, parsed (VLEK ASVKs are not shipped by the `sev` crate: they
/// come with the extended report or from `--collateral`).
pub fn builtin_amd() -> Collateral {
    use sev::certs::snp::builtin::{genoa, milan, turin};
    let mut c = Collateral::default();
    for (name, pem) in [
        ("sev crate: Milan ARK", milan::ARK),
        ("sev crate: Milan ASK", milan::ASK),
        ("sev crate: Genoa ARK", genoa::ARK),
        ("sev crate: Genoa ASK", genoa::ASK),
        ("sev crate: Turin ARK", turin::ARK),
        ("sev crate: Turin ASK", turin::ASK),
    ] {
        // The shipped PEMs are constants; one that does not parse is simply not offered.
        let _ = c.add_file(name, pem);
    }
    c
}

/// The simulated ARK, ASK and ASVK of `cloud-ra-sim` (offered only when the caller trusts the
/// simulated root; the verifier refuses them otherwise anyway).
pub fn simulated_amd() -> Collateral {
    let sim = cloud_ra_sim::SimAmd::get();
    let mut c = Collateral::default();
    for (name, der) in
        [("simulated ARK", sim.ark_der()), ("simulated ASK", sim.ask_der()), ("simulated ASVK", sim.asvk_der())]
    {
        let _ = c.add_file(name, der);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloud_ra_verify::snp::roots::PINNED_ARKS;

    #[test]
    fn simulated_ark_matches_its_pin() {
        let c = simulated_amd();
        assert_eq!(c.certs.len(), 3);
        assert_eq!(c.certs[0].fingerprint_hex(), cloud_ra_verify::snp::roots::SIMULATED_ARK);
    }

    #[test]
    fn builtin_arks_match_the_pins() {
        let c = builtin_amd();
        assert_eq!(c.certs.len(), 6, "three ARKs and three ASKs");
        for (product, fp) in PINNED_ARKS {
            let cn = format!("ARK-{}", product.name());
            let ark = c.certs.iter().find(|x| x.subject_cn == cn).expect("ARK shipped");
            assert_eq!(&ark.fingerprint_hex(), fp, "{cn}");
        }
    }
}
