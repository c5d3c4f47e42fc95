//! The pure-Rust TPM backend cross-checked against tpm2-tools on the same swtpm: a quote it
//! makes verifies with `tpm2_checkquote`, its PCR values equal `tpm2_pcrread`'s, the AK public
//! equals `tpm2_readpublic`'s, and NV contents read either way are the same bytes (written by
//! one side, read by the other, both ways).

use cloud_ra_attest::TpmClient;
use cloud_ra_attest::tpm::{AZURE_AK_HANDLE, EK_HANDLE, KeyAlg, PcrSelection, Tpm};
use cloud_ra_sim::swtpm::Swtpm;
use std::path::{Path, PathBuf};
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cloud-ra-tpm2-tools-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs a tpm2-tools command against `sw`; its output on failure.
fn tool(sw: &Swtpm, args: &[&str]) {
    let o = Command::new(args[0])
        .args(&args[1..])
        .env("TPM2TOOLS_TCTI", sw.tcti())
        .env("TSS2_LOG", "all+NONE")
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (apt-get install tpm2-tools)", args[0]));
    assert!(
        o.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn p(d: &Path, f: &str) -> String {
    d.join(f).to_str().unwrap().to_string()
}

#[test]
fn quotes_verify_with_tpm2_checkquote() {
    let sw = Swtpm::start().expect("swtpm");
    let d = scratch("quote");
    for (alg, handle) in [(KeyAlg::Rsa2048, AZURE_AK_HANDLE), (KeyAlg::EccP256, 0x8100_0004)] {
        let mut tpm = TpmClient::open(&sw.tcti()).unwrap();
        if !tpm.handles(0x8100_0000).unwrap().contains(&EK_HANDLE) {
            tpm.persist_ek(KeyAlg::Rsa2048, EK_HANDLE).unwrap();
        }
        let ak = tpm.persist_ak(EK_HANDLE, alg, handle).unwrap();
        let nonce = b"cross-check with tpm2-tools";
        let q = tpm.quote(handle, nonce, &PcrSelection::parse("sha256:0,15,16,22").unwrap()).unwrap();
        drop(tpm);

        // TPM2B_PUBLIC (the "tss" format tpm2-tools reads), TPMS_ATTEST, TPMT_SIGNATURE.
        let mut tpm2b = (ak.len() as u16).to_be_bytes().to_vec();
        tpm2b.extend(&ak);
        std::fs::write(d.join("ak.pub"), &tpm2b).unwrap();
        std::fs::write(d.join("quote.msg"), &q.attest).unwrap();
        std::fs::write(d.join("quote.sig"), &q.signature).unwrap();
        tool(
            &sw,
            &[
                "tpm2_checkquote",
                "-u",
                &p(&d, "ak.pub"),
                "-m",
                &p(&d, "quote.msg"),
                "-s",
                &p(&d, "quote.sig"),
                "-g",
                "sha256",
                "-q",
                &hex::encode(nonce),
            ],
        );
        // A quote over another nonce does not pass tpm2_checkquote.
        let o = Command::new("tpm2_checkquote")
            .args(["-u", &p(&d, "ak.pub"), "-m", &p(&d, "quote.msg"), "-s", &p(&d, "quote.sig")])
            .args(["-g", "sha256", "-q", "00"])
            .env("TSS2_LOG", "all+NONE")
            .output()
            .unwrap();
        assert!(!o.status.success(), "tpm2_checkquote accepted a wrong nonce");

        // The same AK public and PCR values as tpm2-tools reads.
        tool(&sw, &["tpm2_readpublic", "-c", &format!("{handle:#010x}"), "-o", &p(&d, "ak.tools.pub")]);
        assert_eq!(std::fs::read(d.join("ak.tools.pub")).unwrap(), tpm2b, "{}", alg.name());
        tool(&sw, &["tpm2_pcrread", "sha256:0,15,16,22", "-o", &p(&d, "pcrs.bin")]);
        assert_eq!(std::fs::read(d.join("pcrs.bin")).unwrap(), q.pcrs);
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn nv_contents_equal_tpm2_nvread() {
    let sw = Swtpm::start().expect("swtpm");
    let d = scratch("nv");
    // Written here (2048 bytes: two NV_Write chunks on swtpm), read by tpm2_nvread.
    let data: Vec<u8> = (0..2048u32).map(|i| (i * 7 + i / 256) as u8).collect();
    let mut tpm = TpmClient::open(&sw.tcti()).unwrap();
    tpm.nv_define(0x0140_0001, data.len()).unwrap();
    tpm.nv_write(0x0140_0001, &data).unwrap();
    drop(tpm);
    tool(&sw, &["tpm2_nvread", "-C", "o", "-s", "2048", "-o", &p(&d, "nv.bin"), "0x01400001"]);
    assert_eq!(std::fs::read(d.join("nv.bin")).unwrap(), data);

    // Written by tpm2-tools (an index of another shape: 1500 bytes), read here.
    let other: Vec<u8> = (0..1500u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(d.join("in.bin"), &other).unwrap();
    tool(
        &sw,
        &["tpm2_nvdefine", "-C", "o", "-s", "1500", "-a", "ownerread|ownerwrite|authread|authwrite", "0x01500010"],
    );
    tool(&sw, &["tpm2_nvwrite", "-C", "o", "-i", &p(&d, "in.bin"), "0x01500010"]);
    let mut tpm = TpmClient::open(&sw.tcti()).unwrap();
    assert_eq!(tpm.nv_info(0x0150_0010).unwrap().size, 1500);
    assert_eq!(tpm.nv_read(0x0150_0010).unwrap(), other);
    assert_eq!(tpm.nv_read(0x0140_0001).unwrap(), data);
    let _ = std::fs::remove_dir_all(&d);
}
