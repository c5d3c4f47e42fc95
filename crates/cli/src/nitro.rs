//! `cloud-ra nitro serve|request`: the seed's enclave server and parent client, done correctly.

use crate::print::{self, fail};
use cloud_ra_attest::nitro_service;
use cloud_ra_attest::nsm::{DevNsm, Nsm, SimNsm};
use cloud_ra_verify::Check;
use cloud_ra_verify::bundle::Bundle;
use cloud_ra_verify::{Collateral, Error, Policy, Timestamp, VerifyOptions, verify_evidence};
use std::net::{TcpListener, TcpStream};

#[derive(clap::Subcommand)]
pub enum NitroCmd {
    /// Enclave side: answer {"user-data", "nonce"} requests with NSM attestation documents.
    Serve {
        /// vsock port (any CID).
        #[arg(long, default_value_t = 5000)]
        port: u32,
        /// Listen on TCP instead of vsock (e.g. 127.0.0.1:5000), for machines without vsock.
        #[arg(long)]
        tcp: Option<String>,
        /// Answer from the simulated NSM (documents signed by the simulated Nitro root).
        #[arg(long)]
        simulated: bool,
        /// With --simulated: a debug-mode enclave (all PCRs zero).
        #[arg(long)]
        debug_enclave: bool,
        /// Exit after this many connections (default: serve forever).
        #[arg(long)]
        max_connections: Option<usize>,
        #[arg(long, default_value = "/dev/nsm")]
        device: String,
    },
    /// Parent side: send a fresh 64-byte nonce, read the whole answer, verify the document.
    Request {
        #[arg(long, default_value_t = 16)]
        cid: u32,
        #[arg(long, default_value_t = 5000)]
        port: u32,
        /// Connect over TCP instead of vsock.
        #[arg(long)]
        tcp: Option<String>,
        /// User data to bind (text; the document's user_data must equal it).
        #[arg(long, default_value = "hello")]
        user_data: String,
        /// Policy: a cloud-ra policy file or nitro-cli's expected-measurements.json.
        #[arg(long)]
        policy: Option<String>,
        #[arg(long)]
        allow_debug: bool,
        /// Trust the simulated Nitro root (only for documents from `serve --simulated`).
        #[arg(long)]
        trust_simulated: bool,
        /// Save the document (CBOR) here.
        #[arg(short, long)]
        output: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: NitroCmd) -> i32 {
    match cmd {
        NitroCmd::Serve { port, tcp, simulated, debug_enclave, max_connections, device } => {
            let nsm: Box<dyn Nsm> = if simulated {
                Box::new(SimNsm { debug: debug_enclave, fixed_time: None })
            } else {
                match DevNsm::open(&device) {
                    Ok(d) => Box::new(d),
                    Err(e) => return fail(&Error::usage(Check::NitroServe, e.to_string())),
                }
            };
            serve(nsm.as_ref(), port, tcp.as_deref(), max_connections)
        }
        NitroCmd::Request { cid, port, tcp, user_data, policy, allow_debug, trust_simulated, output, json } => request(
            cid,
            port,
            tcp.as_deref(),
            &user_data,
            policy.as_deref(),
            allow_debug,
            trust_simulated,
            output,
            json,
        ),
    }
}

fn serve(nsm: &dyn Nsm, port: u32, tcp: Option<&str>, max: Option<usize>) -> i32 {
    match tcp {
        Some(addr) => {
            let l = match TcpListener::bind(addr) {
                Ok(l) => l,
                Err(e) => return fail(&Error::usage(Check::NitroServe, format!("listen on {addr}: {e}"))),
            };
            eprintln!("serving attestation documents from the {} on tcp {}", nsm.describe(), addr);
            accept_loop(nsm, max, || l.accept().map(|(s, _)| s))
        }
        None => {
            #[cfg(target_os = "linux")]
            {
                let l = match cloud_ra_attest::vsock::VsockListener::bind(port) {
                    Ok(l) => l,
                    Err(e) => return fail(&Error::usage(Check::NitroServe, format!("vsock port {port}: {e}"))),
                };
                eprintln!("serving attestation documents from the {} on vsock port {port}", nsm.describe());
                accept_loop(nsm, max, || l.accept())
            }
            #[cfg(not(target_os = "linux"))]
            fail(&Error::usage(Check::NitroServe, format!("vsock (port {port}) needs Linux; use --tcp")))
        }
    }
}

/// Serves connections one after another until `max` have been handled (or forever).
fn accept_loop<S: std::io::Read + std::io::Write>(
    nsm: &dyn Nsm,
    max: Option<usize>,
    mut accept: impl FnMut() -> std::io::Result<S>,
) -> i32 {
    let mut handled = 0usize;
    while max.is_none_or(|m| handled < m) {
        match accept() {
            Ok(s) => {
                if let Err(e) = nitro_service::serve_connection(nsm, s) {
                    eprintln!("connection: {e}");
                }
            }
            Err(e) => eprintln!("accept: {e}"),
        }
        handled += 1;
    }
    0
}

#[allow(clippy::too_many_arguments)]
fn request(
    cid: u32,
    port: u32,
    tcp: Option<&str>,
    user_data: &str,
    policy: Option<&str>,
    allow_debug: bool,
    trust_simulated: bool,
    output: Option<String>,
    json: bool,
) -> i32 {
    let nonce = match cloud_ra_attest::collect::fresh_nonce() {
        Ok(n) => n,
        Err(e) => return fail(&Error::usage(Check::Nonce, e)),
    };
    let doc = match tcp {
        Some(addr) => TcpStream::connect(addr)
            .map_err(|e| format!("connect {addr}: {e}"))
            .and_then(|s| nitro_service::request(s, user_data.as_bytes(), &nonce)),
        None => {
            #[cfg(target_os = "linux")]
            {
                cloud_ra_attest::vsock::connect(cid, port)
                    .map_err(|e| format!("vsock connect {cid}:{port}: {e}"))
                    .and_then(|s| nitro_service::request(s, user_data.as_bytes(), &nonce))
            }
            #[cfg(not(target_os = "linux"))]
            {
                Err(format!("vsock ({cid}:{port}) needs Linux; use --tcp"))
            }
        }
    };
    let doc = match doc {
        Ok(d) => d,
        Err(e) => return fail(&Error::usage(Check::NitroRequest, e)),
    };
    if let Some(path) = &output
        && let Err(e) = std::fs::write(path, &doc)
    {
        return fail(&Error::usage(Check::NitroRequest, format!("{path}: {e}")));
    }
    let mut opts = VerifyOptions::at(Timestamp::now());
    if let Some(p) = policy {
        let text = match std::fs::read_to_string(p) {
            Ok(t) => t,
            Err(e) => return fail(&Error::usage(Check::Policy, format!("{p}: {e}"))),
        };
        opts.policy = match Policy::parse(p, &text) {
            Ok(p) => p,
            Err(e) => return fail(&e),
        };
    }
    opts.policy.nitro.user_data = Some(hex::encode(user_data.as_bytes()));
    opts.nonce = Some(nonce.to_vec());
    opts.allow_debug = allow_debug;
    opts.trust_simulated = trust_simulated;
    let bundle = Bundle::new_nitro(&doc);
    let outcome = verify_evidence(bundle.to_json().as_bytes(), &Collateral::default(), &opts, None);
    print::outcome(&outcome, json);
    outcome.exit_code()
}
