//! What a piece of evidence needs: from the detected evidence (and whatever collateral the caller
//! already has) to the list of collateral items, each required or optional. Items the evidence
//! or the caller already supplies are left out; what cannot be fetched at all is said.

use crate::error::{CollError, Kind};
use crate::item::{CaType, Item, KeyType, Tee};
use cloud_ra_verify::Collateral;
use cloud_ra_verify::bundle::{Detected, Evidence};
use cloud_ra_verify::dcap::collateral::DcapItem;
use cloud_ra_verify::dcap::pck::PckExtensions;
use cloud_ra_verify::snp::format::CertKind;
use cloud_ra_verify::snp::verify::{Role, VekExtensions, role_of};
use cloud_ra_verify::snp::{Product, Report, SigningKey, Tcb};
use cloud_ra_verify::x509::{Certificate, PkiObject, read_objects};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub item: Item,
    /// Verification cannot succeed without it (otherwise: used when cached, fetched by
    /// `collateral fetch`; a missing optional item is a warning of the verifier at most).
    pub required: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Needs {
    pub items: Vec<Need>,
    /// Collateral that no source can provide, with what to do instead.
    pub unfetchable: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct NeedOptions {
    /// Product line hint for SNP reports without CPUID.
    pub product: Option<Product>,
    /// CRLs become required.
    pub require_crl: bool,
}

fn table_certs(d: &Detected) -> Vec<Certificate> {
    let mut out = Vec::new();
    if let Evidence::Snp { cert_table, .. } = &d.evidence {
        for e in cert_table.iter().filter(|e| e.kind != CertKind::Other) {
            if let Ok(objs) = read_objects(&e.data) {
                out.extend(objs.into_iter().filter_map(|o| match o {
                    PkiObject::Certificate(c) => Some(*c),
                    PkiObject::Crl(_) => None,
                }));
            }
        }
    }
    out
}

/// The collateral `d` needs beyond `have` (the caller's files and built-in roots).
pub fn needs(d: &Detected, have: &Collateral, o: &NeedOptions) -> Result<Needs, CollError> {
    match &d.evidence {
        Evidence::Snp { report, .. } => snp_needs(report, &table_certs(d), have, o),
        Evidence::Dcap { quote } => dcap_needs(quote, have, o),
        Evidence::AzureVtpm(e) => azure_needs(e, have, o),
        Evidence::Nitro { .. } => {
            // The document carries its whole chain; the root is checked against the pin. The
            // published root is optional collateral (fetched by `collateral fetch`).
            Ok(Needs { items: vec![Need { item: Item::AwsNitroRoot, required: false }], unfetchable: Vec::new() })
        }
    }
}

/// Azure: the SNP report inside the HCL report (its VCEK may ride along: trustee's `vcek`, a
/// THIM response, bundle certs), or the TD quote.
fn azure_needs(
    e: &cloud_ra_verify::azure::AzureEvidence,
    have: &Collateral,
    o: &NeedOptions,
) -> Result<Needs, CollError> {
    use cloud_ra_verify::azure::{HclReport, Tee};
    let h = HclReport::parse(&e.hcl_report).map_err(|err| CollError::new(Kind::Invalid, err.to_string()))?;
    match h.tee {
        Tee::Snp => {
            let mut carried = Vec::new();
            let thim = e.thim.as_deref().map(cloud_ra_verify::azure::format::thim_pems).transpose();
            let thim = thim.map_err(|err| CollError::new(Kind::Invalid, err.to_string()))?;
            for bytes in e.certs.iter().chain(thim.iter()) {
                if let Ok(objs) = read_objects(bytes) {
                    carried.extend(objs.into_iter().filter_map(|o| match o {
                        PkiObject::Certificate(c) => Some(*c),
                        PkiObject::Crl(_) => None,
                    }));
                }
            }
            snp_needs(&h.hw_report, &carried, have, o)
        }
        Tee::Tdx => match &e.td_quote {
            Some(q) => dcap_needs(q, have, o),
            None => Ok(Needs {
                items: Vec::new(),
                unfetchable: vec![
                    "a TDX HCL report needs its TD quote (IMDS /acc/tdquote), which no collateral source provides"
                        .into(),
                ],
            }),
        },
    }
}

fn snp_needs(report: &[u8], table: &[Certificate], have: &Collateral, o: &NeedOptions) -> Result<Needs, CollError> {
    let r = Report::parse(report).map_err(|e| CollError::new(Kind::Invalid, e.to_string()))?;
    let all: Vec<&Certificate> = table.iter().chain(have.certs.iter()).collect();
    let (want, key) = match r.signing_key {
        SigningKey::Vcek => (Role::Vcek, KeyType::Vcek),
        SigningKey::Vlek => (Role::Vlek, KeyType::Vlek),
        SigningKey::None => return Ok(Needs::default()),
    };
    let vek = all.iter().copied().find(|c| role_of(c) == want);
    let from_vek = vek
        .and_then(|c| VekExtensions::read(c).ok())
        .and_then(|x| x.product_name)
        .and_then(|n| Product::from_product_name(&n));
    let mut out = Needs::default();
    let Some(product) = r.product_from_cpuid().or(o.product).or(from_vek) else {
        out.unfetchable.push(
            "the product line is unknown (a v2 report without CPUID and no VEK): give --product milan|genoa|turin so the KDS URLs can be built".into(),
        );
        return Ok(out);
    };
    if vek.is_none() {
        match key {
            KeyType::Vlek => out.unfetchable.push(
                "the report is signed by a VLEK, which AMD KDS does not serve (VLEKs are issued to cloud providers): take it from the extended report (`cloud-ra attest --extended`, SNP_GET_EXT_REPORT)".into(),
            ),
            KeyType::Vcek if r.chip_id_is_zero() => out.unfetchable.push(
                "CHIP_ID is masked (all zero), so the VCEK cannot be requested from KDS: take it from the extended report or give it with --collateral".into(),
            ),
            KeyType::Vcek => {
                let len = if product.turin_layout() { 8 } else { 64 };
                out.items.push(Need {
                    item: Item::AmdVcek {
                        product,
                        hwid: r.chip_id[..len].to_vec(),
                        tcb: Tcb::decode(r.reported_tcb, product).into(),
                    },
                    required: true,
                });
            }
        }
    }
    let (inter_role, inter_cn) = match key {
        KeyType::Vcek => (Role::Ask, format!("SEV-{}", product.name())),
        KeyType::Vlek => (Role::Asvk, format!("SEV-VLEK-{}", product.name())),
    };
    let ark_cn = format!("ARK-{}", product.name());
    let has_inter = all.iter().any(|c| role_of(c) == inter_role && c.subject_cn == inter_cn);
    let has_ark = all.iter().any(|c| role_of(c) == Role::Ark && c.subject_cn == ark_cn);
    if !(has_inter && has_ark) {
        // KDS serves the chain first: the VCEK check needs it.
        out.items.insert(0, Need { item: Item::AmdCertChain { product, key }, required: true });
    }
    let has_crl = have.crls.iter().any(|c| c.issuer.contains(&format!("CN={ark_cn}")));
    if !has_crl {
        out.items.push(Need { item: Item::AmdCrl { product, key }, required: o.require_crl });
    }
    Ok(out)
}

fn dcap_needs(quote: &[u8], have: &Collateral, o: &NeedOptions) -> Result<Needs, CollError> {
    let q = cloud_ra_verify::dcap::Quote::parse(quote).map_err(|e| CollError::new(Kind::Invalid, e.to_string()))?;
    let mut out = Needs::default();
    let Some(chain) = q.pck_certification().pck_chain() else {
        out.unfetchable.push(format!(
            "the quote carries certification data type {} (no PCK certificate): give the PCK certificate with --collateral",
            q.pck_certification().cert_type
        ));
        return Ok(out);
    };
    let pck =
        chain.first().ok_or_else(|| CollError::new(Kind::Invalid, "the quote's PCK chain is empty")).and_then(|d| {
            Certificate::from_der(d).map_err(|e| CollError::new(Kind::Invalid, format!("PCK certificate: {e}")))
        })?;
    let ext = PckExtensions::read(&pck).map_err(|e| CollError::new(Kind::Invalid, e.to_string()))?;
    let tee = if q.is_tdx() { Tee::Tdx } else { Tee::Sgx };
    let ca = if pck.issuer.contains(CaType::Processor.subject_cn()) { CaType::Processor } else { CaType::Platform };
    let has_tcb =
        have.dcap.iter().any(|i| matches!(i, DcapItem::TcbInfo(t) if t.fmspc == ext.fmspc && t.id() == tee.tcb_id()));
    if !has_tcb {
        out.items.push(Need { item: Item::IntelTcbInfo { tee, fmspc: ext.fmspc.to_vec() }, required: true });
    }
    let has_qe = have.dcap.iter().any(|i| matches!(i, DcapItem::EnclaveIdentity(e) if e.json.id == tee.qe_id()));
    if !has_qe {
        out.items.push(Need { item: Item::IntelQeIdentity { tee }, required: true });
    }
    if !have.crls.iter().any(|c| c.issuer.contains(ca.subject_cn())) {
        out.items.push(Need { item: Item::IntelPckCrl { ca }, required: o.require_crl });
    }
    if !have.crls.iter().any(|c| c.issuer.contains(cloud_ra_verify::dcap::roots::ROOT_CN)) {
        out.items.push(Need { item: Item::IntelRootCaCrl, required: o.require_crl });
    }
    Ok(out)
}
