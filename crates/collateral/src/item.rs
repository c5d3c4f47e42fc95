//! What one piece of collateral is, and what identifies it: product + key type (AMD chains and
//! CRLs), hwID + TCB (VCEKs), FMSPC + TEE type (Intel TCB info), TEE type (QE identity), CA type
//! (PCK CRLs). The key doubles as the item's folder in the cache.

use cloud_ra_verify::snp::Product;
use serde::{Deserialize, Serialize};

/// AMD endorsement key type: VCEK (per chip and TCB) or VLEK (per cloud provider).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyType {
    Vcek,
    Vlek,
}

impl KeyType {
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Vcek => "vcek",
            KeyType::Vlek => "vlek",
        }
    }
}

/// Intel TEE type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tee {
    Tdx,
    Sgx,
}

impl Tee {
    pub fn name(self) -> &'static str {
        match self {
            Tee::Tdx => "tdx",
            Tee::Sgx => "sgx",
        }
    }
    /// The `id` of the TCB info document for this TEE.
    pub fn tcb_id(self) -> &'static str {
        match self {
            Tee::Tdx => "TDX",
            Tee::Sgx => "SGX",
        }
    }
    /// The `id` of the enclave identity of its quoting enclave.
    pub fn qe_id(self) -> &'static str {
        match self {
            Tee::Tdx => "TD_QE",
            Tee::Sgx => "QE",
        }
    }
}

/// Intel PCK CA type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CaType {
    Platform,
    Processor,
}

impl CaType {
    pub fn name(self) -> &'static str {
        match self {
            CaType::Platform => "platform",
            CaType::Processor => "processor",
        }
    }
    pub fn subject_cn(self) -> &'static str {
        match self {
            CaType::Platform => cloud_ra_verify::dcap::roots::PLATFORM_CA_CN,
            CaType::Processor => cloud_ra_verify::dcap::roots::PROCESSOR_CA_CN,
        }
    }
}

/// An SNP TCB as KDS names its parts (fmcSPL only on Turin and later).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SnpTcb {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fmc: Option<u8>,
    pub bl: u8,
    pub tee: u8,
    pub snp: u8,
    pub ucode: u8,
}

impl From<cloud_ra_verify::snp::Tcb> for SnpTcb {
    fn from(t: cloud_ra_verify::snp::Tcb) -> Self {
        SnpTcb { fmc: t.fmc, bl: t.bootloader, tee: t.tee, snp: t.snp, ucode: t.microcode }
    }
}

fn product_serde_name(p: Product) -> &'static str {
    p.name()
}

mod product_serde {
    use super::*;
    pub fn serialize<S: serde::Serializer>(p: &Product, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(product_serde_name(*p))
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Product, D::Error> {
        let s = String::deserialize(d)?;
        Product::parse(&s).map_err(|e| serde::de::Error::custom(e.detail))
    }
}

mod hex_serde {
    use serde::Deserialize;
    pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(s).map_err(serde::de::Error::custom)
    }
}

/// One piece of collateral.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Item {
    /// KDS `{vcek|vlek}/v1/{Product}/cert_chain`: ASK (or ASVK) then ARK, PEM.
    AmdCertChain {
        #[serde(with = "product_serde")]
        product: Product,
        key: KeyType,
    },
    /// KDS `vcek/v1/{Product}/{hwid}?...SPL=..`: the VCEK, DER.
    AmdVcek {
        #[serde(with = "product_serde")]
        product: Product,
        #[serde(with = "hex_serde")]
        hwid: Vec<u8>,
        tcb: SnpTcb,
    },
    /// KDS `{vcek|vlek}/v1/{Product}/crl`: the ARK's CRL, DER.
    AmdCrl {
        #[serde(with = "product_serde")]
        product: Product,
        key: KeyType,
    },
    /// PCS `/{tdx|sgx}/certification/v4/tcb?fmspc=..`, with `TCB-Info-Issuer-Chain`.
    IntelTcbInfo {
        tee: Tee,
        #[serde(with = "hex_serde")]
        fmspc: Vec<u8>,
    },
    /// PCS `/{tdx|sgx}/certification/v4/qe/identity` (TD_QE or QE), with
    /// `SGX-Enclave-Identity-Issuer-Chain`.
    IntelQeIdentity { tee: Tee },
    /// PCS `/sgx/certification/v4/pckcrl?ca=..`, with `SGX-PCK-CRL-Issuer-Chain`.
    IntelPckCrl { ca: CaType },
    /// PCS `/sgx/certification/v4/rootcacrl`.
    IntelRootCaCrl,
    /// AWS Nitro Enclaves Root-G1 (zip holding root.pem, or root.pem).
    AwsNitroRoot,
}

impl Item {
    /// The cache key: a relative path of plain ASCII segments.
    pub fn key(&self) -> String {
        match self {
            Item::AmdCertChain { product, key } => format!("amd/{}/{}/cert_chain", key.name(), product.name()),
            Item::AmdVcek { product, hwid, tcb } => {
                let fmc = tcb.fmc.map(|f| format!("fmc{f}-")).unwrap_or_default();
                format!(
                    "amd/vcek/{}/{}/{fmc}bl{}-tee{}-snp{}-ucode{}",
                    product.name(),
                    hex::encode(hwid),
                    tcb.bl,
                    tcb.tee,
                    tcb.snp,
                    tcb.ucode
                )
            }
            Item::AmdCrl { product, key } => format!("amd/{}/{}/crl", key.name(), product.name()),
            Item::IntelTcbInfo { tee, fmspc } => format!("intel/{}/tcb/{}", tee.name(), hex::encode_upper(fmspc)),
            Item::IntelQeIdentity { tee } => format!("intel/{}/qe_identity", tee.name()),
            Item::IntelPckCrl { ca } => format!("intel/pckcrl/{}", ca.name()),
            Item::IntelRootCaCrl => "intel/rootcacrl".into(),
            Item::AwsNitroRoot => "aws/nitro/root".into(),
        }
    }

    /// Words for the user.
    pub fn describe(&self) -> String {
        match self {
            Item::AmdCertChain { product, key } => {
                let inter = if *key == KeyType::Vlek { "ASVK" } else { "ASK" };
                format!("AMD {} {inter}+ARK chain", product.name())
            }
            Item::AmdVcek { product, hwid, tcb } => {
                let fmc = tcb.fmc.map(|f| format!("fmc={f} ")).unwrap_or_default();
                let short = hex::encode(&hwid[..hwid.len().min(8)]);
                format!(
                    "AMD {} VCEK for chip {short}… at TCB {fmc}bl={} tee={} snp={} ucode={}",
                    product.name(),
                    tcb.bl,
                    tcb.tee,
                    tcb.snp,
                    tcb.ucode
                )
            }
            Item::AmdCrl { product, key } => format!("AMD {} {} CRL", product.name(), key.name().to_uppercase()),
            Item::IntelTcbInfo { tee, fmspc } => {
                format!("Intel {} TCB info for FMSPC {}", tee.tcb_id(), hex::encode_upper(fmspc))
            }
            Item::IntelQeIdentity { tee } => format!("Intel {} identity", tee.qe_id()),
            Item::IntelPckCrl { ca } => format!("Intel PCK {} CA CRL", ca.name()),
            Item::IntelRootCaCrl => "Intel SGX Root CA CRL".into(),
            Item::AwsNitroRoot => "AWS Nitro Enclaves Root-G1".into(),
        }
    }

    /// The path and query below the source's base URL.
    pub fn url_path(&self) -> String {
        match self {
            Item::AmdCertChain { product, key } => format!("/{}/v1/{}/cert_chain", key.name(), product.name()),
            Item::AmdVcek { product, hwid, tcb } => {
                let fmc = tcb.fmc.map(|f| format!("fmcSPL={f:02}&")).unwrap_or_default();
                format!(
                    "/vcek/v1/{}/{}?{fmc}blSPL={:02}&teeSPL={:02}&snpSPL={:02}&ucodeSPL={:02}",
                    product.name(),
                    hex::encode(hwid),
                    tcb.bl,
                    tcb.tee,
                    tcb.snp,
                    tcb.ucode
                )
            }
            Item::AmdCrl { product, key } => format!("/{}/v1/{}/crl", key.name(), product.name()),
            Item::IntelTcbInfo { tee, fmspc } => {
                format!("/{}/certification/v4/tcb?fmspc={}", tee.name(), hex::encode_upper(fmspc))
            }
            Item::IntelQeIdentity { tee } => format!("/{}/certification/v4/qe/identity", tee.name()),
            Item::IntelPckCrl { ca } => format!("/sgx/certification/v4/pckcrl?ca={}&encoding=der", ca.name()),
            Item::IntelRootCaCrl => "/sgx/certification/v4/rootcacrl".into(),
            Item::AwsNitroRoot => "/AWS_NitroEnclaves_Root-G1.zip".into(),
        }
    }

    /// Collateral that changes (CRLs, TCB info, QE identity) is valid until its nextUpdate;
    /// certificates are kept indefinitely.
    pub fn expires(&self) -> bool {
        matches!(
            self,
            Item::AmdCrl { .. }
                | Item::IntelTcbInfo { .. }
                | Item::IntelQeIdentity { .. }
                | Item::IntelPckCrl { .. }
                | Item::IntelRootCaCrl
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kds_url_forms() {
        let milan = Item::AmdVcek {
            product: Product::Milan,
            hwid: vec![0xab; 64],
            tcb: SnpTcb { fmc: None, bl: 2, tee: 0, snp: 5, ucode: 68 },
        };
        let p = milan.url_path();
        assert!(p.starts_with(&format!("/vcek/v1/Milan/{}?blSPL=02&teeSPL=00&snpSPL=05&ucodeSPL=68", "ab".repeat(64))));
        let turin = Item::AmdVcek {
            product: Product::Turin,
            hwid: vec![0x01; 8],
            tcb: SnpTcb { fmc: Some(1), bl: 2, tee: 0, snp: 5, ucode: 68 },
        };
        assert_eq!(
            turin.url_path(),
            "/vcek/v1/Turin/0101010101010101?fmcSPL=01&blSPL=02&teeSPL=00&snpSPL=05&ucodeSPL=68"
        );
        assert_eq!(turin.key(), "amd/vcek/Turin/0101010101010101/fmc1-bl2-tee0-snp5-ucode68");
        let j = serde_json::to_string(&turin).expect("json");
        assert_eq!(serde_json::from_str::<Item>(&j).expect("back"), turin);
        assert_eq!(
            Item::IntelTcbInfo { tee: Tee::Tdx, fmspc: vec![0, 0x80, 0x6f, 5, 0, 0] }.url_path(),
            "/tdx/certification/v4/tcb?fmspc=00806F050000"
        );
    }
}
