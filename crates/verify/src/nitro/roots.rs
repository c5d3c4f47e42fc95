//! The pinned AWS Nitro Enclaves Root-G1 (SHA-256 of its DER, as AWS publishes it).

/// SHA-256 of the AWS Nitro Enclaves Root-G1 certificate DER, hex.
pub const AWS_NITRO_ROOT_G1: &str = "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b";

/// SHA-256 of cloud-ra's simulated Nitro root (crate `cloud-ra-sim`); trusted only on request.
pub const SIMULATED_ROOT: &str = "6240901bc1583bc247ae8bb998768ce76e4bc5bc7cd23de9c18c4763e88b8e8b";
