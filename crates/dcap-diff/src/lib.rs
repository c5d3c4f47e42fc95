//! Nothing here: this crate exists for its tests (`tests/differential.rs`, cloud-ra vs dcap-qvl on
//! every real DCAP vector) and its benchmark (`benches/dcap_vs_qvl.rs`). dcap-qvl is a
//! dev-dependency of this crate only, so it never reaches the verifier's dependency graph.
