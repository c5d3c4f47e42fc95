//! A minimal HTTP/1.1 server on loopback standing in for AMD KDS, Intel PCS, Azure THIM and AWS:
//! it serves the recorded responses of ../shared/testdata at the real URL paths with the real
//! headers, and injects faults on request (404, 429 + Retry-After, 5xx, truncated body, HTML
//! error page with status 200, slow answer, arbitrary body).

#![allow(dead_code)]

use base64::Engine;
use cloud_ra_sim::testdata;
use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn ok(content_type: &str, body: Vec<u8>) -> Self {
        Reply { status: 200, headers: vec![("Content-Type".into(), content_type.into())], body }
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }
}

#[derive(Clone, Debug)]
pub enum Fault {
    Status(u16, Option<String>),
    Html200,
    Truncate,
    Slow(Duration),
    Body(String, Vec<u8>),
}

#[derive(Default)]
struct State {
    routes: HashMap<String, Reply>,
    faults: HashMap<String, VecDeque<Fault>>,
    log: Vec<(String, Vec<(String, String)>)>,
}

#[derive(Clone)]
pub struct Server {
    pub base: String,
    state: Arc<Mutex<State>>,
}

impl Server {
    pub fn start() -> Self {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let base = format!("http://{}", l.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                let st = st.clone();
                std::thread::spawn(move || {
                    let _ = handle(s, &st);
                });
            }
        });
        Server { base, state }
    }

    pub fn route(&self, target: &str, r: Reply) {
        self.state.lock().expect("lock").routes.insert(target.into(), r);
    }

    /// Faults served, in order, on the next requests for `target` (then the route again).
    pub fn fault(&self, target: &str, faults: &[Fault]) {
        self.state.lock().expect("lock").faults.entry(target.into()).or_default().extend(faults.iter().cloned());
    }

    pub fn hits(&self, target: &str) -> usize {
        self.state.lock().expect("lock").log.iter().filter(|(t, _)| t == target).count()
    }

    pub fn total_hits(&self) -> usize {
        self.state.lock().expect("lock").log.len()
    }

    pub fn request_headers(&self, target: &str) -> Vec<(String, String)> {
        let s = self.state.lock().expect("lock");
        s.log.iter().rev().find(|(t, _)| t == target).map(|(_, h)| h.clone()).unwrap_or_default()
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn write_reply(s: &mut TcpStream, r: &Reply, send: Option<usize>) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        r.status,
        reason(r.status),
        r.body.len()
    );
    for (k, v) in &r.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    let n = send.unwrap_or(r.body.len()).min(r.body.len());
    s.write_all(&r.body[..n])?;
    s.flush()
}

fn handle(s: TcpStream, st: &Arc<Mutex<State>>) -> std::io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut rd = BufReader::new(s.try_clone()?);
    let mut line = String::new();
    rd.read_line(&mut line)?;
    let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if rd.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let (fault, route) = {
        let mut g = st.lock().expect("lock");
        g.log.push((target.clone(), headers.clone()));
        let f = g.faults.get_mut(&target).and_then(|q| q.pop_front());
        (f, g.routes.get(&target).cloned())
    };
    let mut s = s;
    let not_found = Reply {
        status: 404,
        headers: vec![("Content-Type".into(), "text/html".into())],
        body: b"<html><body>404 Not Found</body></html>".to_vec(),
    };
    match fault {
        Some(Fault::Status(code, retry_after)) => {
            let mut r = Reply {
                status: code,
                headers: vec![("Content-Type".into(), "text/html".into())],
                body: b"<html>error</html>".to_vec(),
            };
            if let Some(ra) = retry_after {
                r = r.header("Retry-After", &ra);
            }
            write_reply(&mut s, &r, None)
        }
        Some(Fault::Html200) => write_reply(
            &mut s,
            &Reply::ok(
                "text/html; charset=utf-8",
                b"<!DOCTYPE html><html><body>Service temporarily unavailable</body></html>".to_vec(),
            ),
            None,
        ),
        Some(Fault::Truncate) => {
            let r = route.unwrap_or(not_found);
            let half = r.body.len() / 2;
            write_reply(&mut s, &r, Some(half))
        }
        Some(Fault::Slow(d)) => {
            std::thread::sleep(d);
            write_reply(&mut s, &route.unwrap_or(not_found), None)
        }
        Some(Fault::Body(ct, b)) => {
            let mut r = route.unwrap_or(not_found);
            r.status = 200;
            r.body = b;
            r.headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
            r.headers.push(("Content-Type".into(), ct));
            write_reply(&mut s, &r, None)
        }
        None => match route {
            // THIM answers only with the Metadata header.
            Some(_)
                if target.starts_with("/metadata/")
                    && !headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("metadata") && v == "true") =>
            {
                write_reply(
                    &mut s,
                    &Reply {
                        status: 400,
                        headers: vec![],
                        body: b"Bad request. Required metadata header not specified".to_vec(),
                    },
                    None,
                )
            }
            Some(r) => write_reply(&mut s, &r, None),
            None => write_reply(&mut s, &not_found, None),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// The recorded responses.

pub fn pem(label: &str, der: &[u8]) -> String {
    let b = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).expect("ascii")).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

/// URL-encodes a PEM chain the way PCS sends it in a header.
pub fn url_encode(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

pub fn tcb_signing_chain() -> String {
    url_encode(&format!(
        "{}{}",
        pem("CERTIFICATE", &testdata::read("roots/intel/tcb_signing.der")),
        pem("CERTIFICATE", &testdata::read("roots/intel/TrustedRootCA.der"))
    ))
}

pub fn pck_crl_chain() -> String {
    url_encode(&format!(
        "{}{}",
        pem("CERTIFICATE", &testdata::read("roots/intel/pck_platform_ca.der")),
        pem("CERTIFICATE", &testdata::read("roots/intel/TrustedRootCA.der"))
    ))
}

/// A zip archive holding `root.pem`, stored (what AWS publishes, uncompressed).
pub fn zip_stored(name: &str, data: &[u8]) -> Vec<u8> {
    let mut z = Vec::new();
    let le16 = |v: &mut Vec<u8>, x: u16| v.extend_from_slice(&x.to_le_bytes());
    let le32 = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_le_bytes());
    z.extend_from_slice(b"PK\x03\x04");
    le16(&mut z, 10);
    le16(&mut z, 0);
    le16(&mut z, 0);
    le32(&mut z, 0);
    le32(&mut z, 0);
    le32(&mut z, data.len() as u32);
    le32(&mut z, data.len() as u32);
    le16(&mut z, name.len() as u16);
    le16(&mut z, 0);
    z.extend_from_slice(name.as_bytes());
    z.extend_from_slice(data);
    let cd = z.len();
    z.extend_from_slice(b"PK\x01\x02");
    le16(&mut z, 20);
    le16(&mut z, 10);
    le16(&mut z, 0);
    le16(&mut z, 0);
    le32(&mut z, 0);
    le32(&mut z, 0);
    le32(&mut z, data.len() as u32);
    le32(&mut z, data.len() as u32);
    le16(&mut z, name.len() as u16);
    le16(&mut z, 0);
    le16(&mut z, 0);
    le16(&mut z, 0);
    le16(&mut z, 0);
    le32(&mut z, 0);
    le32(&mut z, 0);
    z.extend_from_slice(name.as_bytes());
    let cd_len = z.len() - cd;
    z.extend_from_slice(b"PK\x05\x06");
    le16(&mut z, 0);
    le16(&mut z, 0);
    le16(&mut z, 1);
    le16(&mut z, 1);
    le32(&mut z, cd_len as u32);
    le32(&mut z, cd as u32);
    le16(&mut z, 0);
    z
}

pub const PEM_CT: &str = "application/x-pem-file";
pub const DER_CT: &str = "application/pkix-cert";
pub const CRL_CT: &str = "application/pkix-crl";
pub const JSON_CT: &str = "application/json";
