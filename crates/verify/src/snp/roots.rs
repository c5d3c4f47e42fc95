//! Pinned AMD root keys (ARK), by SHA-256 of the certificate DER. The bytes themselves come from
//! collateral; only these fingerprints decide trust.

use super::format::Product;

/// (product, SHA-256 of the ARK certificate).
pub const PINNED_ARKS: &[(Product, &str)] = &[
    (Product::Milan, "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd"),
    (Product::Genoa, "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1"),
    (Product::Turin, "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a"),
];

/// SHA-256 of cloud-ra's simulated ARK (crate `cloud-ra-sim`, derived from its published seed).
/// Trusted only when the caller asks for it (`--trust-simulated`).
pub const SIMULATED_ARK: &str = "465ea882c8ee2df868eb21a99d18b87a60e3bfea260432e0c19261a5fc908076";

/// The pinned ARK fingerprint of `product` (from [`PINNED_ARKS`]).
pub fn pinned_ark(product: Product) -> &'static str {
    PINNED_ARKS.iter().find(|(p, _)| *p == product).map(|(_, f)| *f).unwrap_or("")
}
