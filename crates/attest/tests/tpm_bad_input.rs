//! The pure-Rust TPM backend on bad input: a loopback stand-in that answers garbage or a
//! truncated response, a proxy in front of a real swtpm that mangles the answer to one command
//! (after the TPM created a transient object or session: it must still be flushed), a swtpm
//! killed mid-command, a response code for each failing command, and TCTI strings that do not
//! parse. Every failure is one error naming the command and the cause; afterwards a direct
//! connection finds no transient object or session left in the TPM.

use cloud_ra_attest::TpmClient;
use cloud_ra_attest::tpm::{
    EK_HANDLE, HR_HMAC_SESSION, HR_POLICY_SESSION, HR_TRANSIENT, KeyAlg, PcrSelection, Tpm, TpmError,
};
use cloud_ra_sim::swtpm::Swtpm;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

const CC_CREATE_PRIMARY: u32 = 0x131;
const CC_START_AUTH_SESSION: u32 = 0x176;
const CC_LOAD: u32 = 0x157;
const CC_CREATE: u32 = 0x153;

/// What the stand-in does with one command.
#[derive(Clone, Debug)]
enum Act {
    /// Forward to the real TPM and pass the answer on.
    Pass,
    /// Answer these bytes without asking the TPM.
    Reply(Vec<u8>),
    /// Forward, then answer only the first `n` bytes with the header's size set to `n`: a
    /// well-framed response whose structure is cut short.
    Truncate(usize),
    /// Forward, then send the first `n` bytes and close the connection.
    Cut(usize),
    /// Flip bits in the answer's tag.
    BadTag,
    /// Kill the TPM before it sees the command (it dies mid-command for the caller).
    Kill,
}

type Hook = Arc<dyn Fn(u32) -> Act + Send + Sync>;

fn read_command(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = [0u8; 10];
    s.read_exact(&mut head).ok()?;
    let n = u32::from_be_bytes([head[2], head[3], head[4], head[5]]) as usize;
    let mut cmd = head.to_vec();
    cmd.resize(n.max(10), 0);
    s.read_exact(&mut cmd[10..]).ok()?;
    Some(cmd)
}

/// A loopback stand-in on a free port: each command goes through `hook`; `upstream` is the
/// real TPM (swtpm's port) when there is one.
fn stand_in(upstream: Option<u16>, hook: Hook, tpm: Option<Arc<Mutex<Swtpm>>>) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in l.incoming() {
            let Ok(mut c) = client else { return };
            let hook = hook.clone();
            let tpm = tpm.clone();
            std::thread::spawn(move || {
                let mut up = upstream.and_then(|p| TcpStream::connect(("127.0.0.1", p)).ok());
                while let Some(cmd) = read_command(&mut c) {
                    let cc = u32::from_be_bytes([cmd[6], cmd[7], cmd[8], cmd[9]]);
                    let act = hook(cc);
                    if let Act::Reply(b) = &act {
                        let _ = c.write_all(b);
                        continue;
                    }
                    if let Act::Kill = act {
                        if let Some(t) = &tpm {
                            t.lock().unwrap().stop();
                        }
                        return;
                    }
                    let Some(u) = up.as_mut() else { return };
                    if u.write_all(&cmd).is_err() {
                        return;
                    }
                    let mut head = [0u8; 10];
                    if u.read_exact(&mut head).is_err() {
                        return;
                    }
                    let n = u32::from_be_bytes([head[2], head[3], head[4], head[5]]) as usize;
                    let mut resp = head.to_vec();
                    resp.resize(n, 0);
                    if u.read_exact(&mut resp[10..]).is_err() {
                        return;
                    }
                    match act {
                        Act::Truncate(k) => {
                            resp.truncate(k);
                            let k = (resp.len() as u32).to_be_bytes();
                            resp[2..6].copy_from_slice(&k);
                        }
                        Act::Cut(k) => {
                            let _ = c.write_all(&resp[..k.min(resp.len())]);
                            return;
                        }
                        Act::BadTag => resp[1] ^= 0x03,
                        _ => {}
                    }
                    let _ = c.write_all(&resp);
                }
            });
        }
    });
    format!("swtpm:host=127.0.0.1,port={port}")
}

/// A hook that mangles the `nth` (1-based) command with code `cc` and passes everything else.
fn on(cc: u32, nth: usize, act: Act) -> Hook {
    let seen = Arc::new(Mutex::new(0usize));
    Arc::new(move |c| {
        if c != cc {
            return Act::Pass;
        }
        let mut n = seen.lock().unwrap();
        *n += 1;
        if *n == nth { act.clone() } else { Act::Pass }
    })
}

fn assert_nothing_loaded(tcti: &str) {
    let mut tpm = TpmClient::open(tcti).expect("direct connection");
    for range in [HR_TRANSIENT, HR_HMAC_SESSION, HR_POLICY_SESSION] {
        assert_eq!(tpm.handles(range).unwrap(), Vec::<u32>::new(), "range {range:#010x} left loaded");
    }
}

fn one_line(e: &TpmError) -> String {
    let s = e.to_string();
    assert!(!s.contains('\n'), "{s}");
    s
}

#[test]
fn garbage_and_truncated_answers_are_refused_at_open() {
    // An HTTP server where a TPM should be.
    let tcti = stand_in(None, Arc::new(|_| Act::Reply(b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec())), None);
    let e = TpmClient::open(&tcti).err().expect("garbage accepted");
    let s = one_line(&e);
    assert!(matches!(e, TpmError::Unavailable { .. }), "{s}");
    assert!(s.contains("GetCapability") && s.contains("response header says"), "{s}");

    // A header promising 30 bytes, then 5 and the connection closed.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((mut c, _)) = l.accept() {
            let _ = read_command(&mut c);
            let _ = c.write_all(&[0x80, 0x01, 0, 0, 0, 30, 0, 0, 0, 0, 1, 2, 3, 4, 5]);
        }
    });
    let e = TpmClient::open(&format!("swtpm:host=127.0.0.1,port={port}")).err().expect("truncated accepted");
    let s = one_line(&e);
    assert!(s.contains("GetCapability") && s.contains("connection closed after 5 of 20 bytes"), "{s}");

    // A well-framed success without the capability data.
    let tcti = stand_in(None, Arc::new(|_| Act::Reply(vec![0x80, 0x01, 0, 0, 0, 11, 0, 0, 0, 0, 0])), None);
    let s = one_line(&TpmClient::open(&tcti).err().expect("accepted"));
    assert!(s.contains("TPM2_GetCapability(TPM_PROPERTIES, 0x12c) answered a malformed response: capability"), "{s}");
    // A response code in a 12-byte answer.
    let tcti = stand_in(None, Arc::new(|_| Act::Reply(vec![0x80, 0x01, 0, 0, 0, 12, 0, 0, 1, 0x01, 0, 0])), None);
    let s = one_line(&TpmClient::open(&tcti).err().expect("accepted"));
    assert!(s.contains("error response of 12 bytes"), "{s}");
}

#[test]
fn mangled_answers_leave_nothing_loaded() {
    let sw = Swtpm::start().expect("swtpm");
    let direct = sw.tcti();
    let cases: Vec<(&str, Hook, &str)> = vec![
        // CreatePrimary's answer cut after the new object's handle: the EK must be flushed.
        ("ek handle only", on(CC_CREATE_PRIMARY, 1, Act::Truncate(14)), "parameterSize needs 4 bytes at offset 14"),
        ("ek public cut", on(CC_CREATE_PRIMARY, 1, Act::Truncate(60)), "TPM2_CreatePrimary (EK RSA-2048)"),
        ("ek bad tag", on(CC_CREATE_PRIMARY, 1, Act::BadTag), "tag"),
        // The policy session for the EK, cut after its handle.
        ("session", on(CC_START_AUTH_SESSION, 1, Act::Truncate(14)), "TPM2_StartAuthSession"),
        // Create's answer cut: nothing loaded yet, the consumed session is gone.
        ("create", on(CC_CREATE, 1, Act::Truncate(30)), "TPM2_Create (AK under 0x81010001)"),
        // Load's answer cut after the AK's handle.
        ("load", on(CC_LOAD, 1, Act::Truncate(14)), "TPM2_Load (AK) answered a malformed response"),
    ];
    // swtpm serves one connection at a time: never two of ours open at once.
    for (what, hook, want) in cases {
        if !what.starts_with("ek") {
            let mut d = TpmClient::open(&direct).unwrap();
            if !d.handles(0x8100_0000).unwrap().contains(&EK_HANDLE) {
                d.persist_ek(KeyAlg::Rsa2048, EK_HANDLE).unwrap();
            }
        }
        let tcti = stand_in(Some(sw.port()), hook, None);
        let mut tpm = TpmClient::open(&tcti).expect("open through the stand-in");
        let r = if what.starts_with("ek") {
            tpm.persist_ek(KeyAlg::Rsa2048, EK_HANDLE).map(|_| ())
        } else {
            tpm.persist_ak(EK_HANDLE, KeyAlg::Rsa2048, 0x8100_0010).map(|_| ())
        };
        let e = r.err().unwrap_or_else(|| panic!("{what}: mangled answer accepted"));
        let s = one_line(&e);
        assert!(s.contains(want), "{what}: {s}");
        drop(tpm);
        assert_nothing_loaded(&direct);
        assert!(!TpmClient::open(&direct).unwrap().handles(0x8100_0000).unwrap().contains(&0x8100_0010), "{what}");
    }
    // And the TPM still does the whole job directly.
    let mut tpm = TpmClient::open(&direct).unwrap();
    tpm.persist_ak(EK_HANDLE, KeyAlg::EccP256, 0x8100_0010).unwrap();
    tpm.quote(0x8100_0010, b"n", &PcrSelection::parse("sha256:0").unwrap()).unwrap();
    drop(tpm);
    assert_nothing_loaded(&direct);
}

#[test]
fn a_tpm_killed_mid_command() {
    let sw = Arc::new(Mutex::new(Swtpm::start().expect("swtpm")));
    let port = sw.lock().unwrap().port();
    let tcti = stand_in(Some(port), on(CC_CREATE_PRIMARY, 1, Act::Kill), Some(sw.clone()));
    let mut tpm = TpmClient::open(&tcti).unwrap();
    let e = tpm.persist_ek(KeyAlg::Rsa2048, EK_HANDLE).unwrap_err();
    let s = one_line(&e);
    assert!(matches!(e, TpmError::Command { .. }), "{s}");
    assert!(s.contains("CreatePrimary (EK RSA-2048)") && s.contains("connection closed"), "{s}");
    // Later commands on the dead connection fail the same way, never panic.
    let e = tpm.handles(0x8100_0000).unwrap_err();
    assert!(one_line(&e).contains("GetCapability(handles)"), "{e}");
    let mut sw = sw.lock().unwrap();
    sw.restart().expect("restart");
    // An answer cut off mid-response by a dying connection (NV_ReadPublic here).
    let tcti = stand_in(Some(sw.port()), on(0x169, 1, Act::Cut(4)), None);
    let e = TpmClient::open(&tcti).unwrap().nv_info(0x0140_0001).unwrap_err();
    let s = one_line(&e);
    assert!(s.contains("NV_ReadPublic 0x01400001") && s.contains("connection closed after 4 of 10 bytes"), "{s}");
    assert_nothing_loaded(&sw.tcti());
    assert!(TpmClient::open(&sw.tcti()).unwrap().handles(0x8100_0000).unwrap().is_empty(), "no half-made EK");
    // The stand-in's thread keeps a reference: stop this swtpm and remove its state here.
    sw.stop();
    let _ = std::fs::remove_dir_all(sw.state_dir());
}

#[test]
fn failing_commands_name_their_response_code() {
    let sw = Swtpm::start().expect("swtpm");
    let mut tpm = TpmClient::open(&sw.tcti()).unwrap();
    tpm.nv_define(0x0150_0000, 64).unwrap();
    let s = one_line(&tpm.nv_define(0x0150_0000, 64).unwrap_err());
    assert!(
        s.contains("NV_DefineSpace 0x01500000 (64 bytes) failed: TPM_RC_NV_DEFINED (0x014c, format-zero error)"),
        "{s}"
    );
    let s = one_line(&tpm.nv_read(0x0150_0000).unwrap_err());
    assert!(s.contains("NV_Read 0x01500000 at offset 0 failed: TPM_RC_NV_UNINITIALIZED"), "{s}");
    assert!(matches!(tpm.nv_info(0x0150_0001), Err(TpmError::Absent(_))));
    assert!(matches!(tpm.nv_read(0x0150_0001), Err(TpmError::Absent(_))));
    let s = one_line(&tpm.nv_write(0x0150_0000, &[0; 65]).unwrap_err());
    assert!(s.contains("holds 64 bytes; 65 do not fit"), "{s}");
    assert!(matches!(tpm.read_public(0x8100_0009), Err(TpmError::Absent(_))));
    assert!(matches!(tpm.evict(0x8100_0009), Err(TpmError::Absent(_))));
    assert!(matches!(
        tpm.quote(0x8100_0009, b"n", &PcrSelection::parse("sha256:0").unwrap()),
        Err(TpmError::Absent(_))
    ));
    assert!(matches!(tpm.read_public(0x8000_0000), Err(TpmError::Invalid(_))));

    // The EK to a handle that is taken: EvictControl's code, and the transient EK flushed.
    tpm.persist_ek(KeyAlg::Rsa2048, EK_HANDLE).unwrap();
    let s = one_line(&tpm.persist_ek(KeyAlg::EccP256, EK_HANDLE).unwrap_err());
    assert!(s.contains("EvictControl (EK to 0x81010001) failed: TPM_RC_NV_DEFINED"), "{s}");
    // An AK under a parent that is no storage key: Create's code, the policy session flushed.
    tpm.persist_ak(EK_HANDLE, KeyAlg::Rsa2048, 0x8100_0002).unwrap();
    let s = one_line(&tpm.persist_ak(0x8100_0002, KeyAlg::Rsa2048, 0x8100_0005).unwrap_err());
    assert!(s.contains("Create (AK under 0x81000002) failed: TPM_RC_"), "{s}");
    drop(tpm);
    assert_nothing_loaded(&sw.tcti());
}

#[test]
fn tcti_strings_that_do_not_parse() {
    for (t, want) in [
        ("swtpm:port=x", "port 'x' is not a number"),
        ("swtpm:hots=127.0.0.1", "'hots=127.0.0.1' is not host=ADDRESS or port=NUMBER"),
        ("tabrmd:bus_type=system", "'tabrmd' is not a TCTI cloud-ra speaks"),
        ("", "empty TCTI"),
    ] {
        match TpmClient::open(t) {
            Err(e @ TpmError::Unavailable { .. }) => assert!(one_line(&e).contains(want), "{t}: {e}"),
            Err(e) => panic!("{t}: {e}"),
            Ok(_) => panic!("{t}: opened"),
        }
    }
}
