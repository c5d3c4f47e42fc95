//! Writes the simulated AMD PKI, a CRL and a signed report to a directory, for
//! inspection with openssl: `cargo run -p cloud-ra-sim --example dump -- DIR`.

use cloud_ra_sim::{CrlSpec, ReportBuilder, SimAmd, VekKind, VekSpec, cert_table, pem};

fn main() -> std::io::Result<()> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "cloud-ra-sim-dump".to_string()));
    std::fs::create_dir_all(&dir)?;
    let sim = SimAmd::get();
    let b = ReportBuilder::new();
    let vcek = sim.vek_der(&b.vek_spec(VekKind::Vcek));
    let vlek = sim.vek_der(&b.vek_spec(VekKind::Vlek));
    let crl = sim.crl_der(&CrlSpec::new(cloud_ra_sim::VEK_NOT_BEFORE));
    let turin = ReportBuilder::turin();
    let files: [(&str, Vec<u8>); 9] = [
        ("ark.der", sim.ark_der().to_vec()),
        ("ask.der", sim.ask_der().to_vec()),
        ("asvk.der", sim.asvk_der().to_vec()),
        ("impostor_ark.der", sim.impostor_ark_der().to_vec()),
        ("vcek.der", vcek.clone()),
        ("vlek.der", vlek),
        ("vcek_turin.der", sim.vek_der(&VekSpec::vcek(turin.reported_tcb))),
        ("crl.der", crl),
        ("report.bin", b.sign(sim, VekKind::Vcek)),
    ];
    for (name, data) in &files {
        std::fs::write(dir.join(name), data)?;
    }
    std::fs::write(dir.join("ark.pem"), pem("CERTIFICATE", sim.ark_der()))?;
    std::fs::write(dir.join("ask_ark.pem"), pem("CERTIFICATE", sim.ask_der()) + &pem("CERTIFICATE", sim.ark_der()))?;
    std::fs::write(
        dir.join("certs.bin"),
        cert_table(&[
            (cloud_ra_sim::GUID_ARK, sim.ark_der().to_vec()),
            (cloud_ra_sim::GUID_ASK, sim.ask_der().to_vec()),
            (cloud_ra_sim::GUID_VCEK, vcek),
        ]),
    )?;
    let fp: String = sim.ark_sha256().iter().map(|b| format!("{b:02x}")).collect();
    println!("wrote {} (ARK sha256 {fp})", dir.display());
    Ok(())
}
