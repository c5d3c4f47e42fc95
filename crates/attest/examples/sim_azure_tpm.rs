//! Provisions a TPM like an Azure SEV-SNP CVM with the SIMULATED paravisor
//! (`cloud_ra_attest::sim_azure`: EK, RSA AK at 0x81000003, an HCL report in NV 0x01400001), so
//! `cloud-ra attest --platform azure-snp --tcti ...` can be tried (and timed) on a swtpm:
//!
//! ```sh
//! swtpm socket --tpm2 --tpmstate dir=/tmp/st --server type=tcp,port=2321 \
//!     --ctrl type=tcp,port=2322 --flags not-need-init,startup-clear &
//! cargo run -p cloud-ra-attest --example sim_azure_tpm -- swtpm:host=127.0.0.1,port=2321
//! ```

fn main() {
    let tcti = std::env::args().nth(1).unwrap_or_else(|| cloud_ra_attest::tpm::default_tcti(None));
    let run = || -> Result<Vec<u8>, cloud_ra_attest::TpmError> {
        let mut tpm = cloud_ra_attest::TpmClient::open(&tcti)?;
        cloud_ra_attest::sim_azure::provision(
            &mut tpm,
            cloud_ra_attest::azure::AzureTee::Snp,
            cloud_ra_attest::tpm::KeyAlg::Rsa2048,
        )
    };
    match run() {
        Ok(ak) => println!("provisioned {tcti} as a simulated Azure SNP CVM; AK public {} bytes", ak.len()),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
