//! A loopback HTTP/1.1 server answering as the Azure IMDS does: `POST /acc/tdquote` (JSON
//! `{"report": base64url}` in, `{"quote": base64url-unpadded}` out) and
//! `GET /metadata/THIM/amd/certification` (only with `Metadata: true`, else 400 as IMDS does).
//! What it answers is the test's closure; it records every request.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

type Handler = dyn Fn(&Request) -> (u16, Vec<u8>) + Send + Sync;

pub struct Imds {
    pub base: String,
    pub log: Arc<Mutex<Vec<Request>>>,
}

impl Imds {
    /// Serves `handler` behind IMDS' own checks (the Metadata header on /metadata/).
    pub fn start(handler: impl Fn(&Request) -> (u16, Vec<u8>) + Send + Sync + 'static) -> Imds {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let base = format!("http://{}", l.local_addr().expect("addr"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let lg = log.clone();
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                let (h, lg) = (handler.clone(), lg.clone());
                std::thread::spawn(move || {
                    let _ = serve(s, &*h, &lg);
                });
            }
        });
        Imds { base, log }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().expect("lock").clone()
    }
}

fn serve(s: std::net::TcpStream, h: &Handler, log: &Mutex<Vec<Request>>) -> std::io::Result<()> {
    let mut r = BufReader::new(s.try_clone()?);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut l = String::new();
        if r.read_line(&mut l)? == 0 || l.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = l.trim_end().split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    let req = Request { method, target, headers, body };
    log.lock().expect("lock").push(req.clone());
    let (status, body) = if req.target.starts_with("/metadata/") && req.header("Metadata") != Some("true") {
        (400, b"{\"error\":\"Bad request. Required metadata header not specified\"}".to_vec())
    } else {
        h(&req)
    };
    let mut w = s;
    write!(
        w,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    w.write_all(&body)?;
    w.flush()
}
