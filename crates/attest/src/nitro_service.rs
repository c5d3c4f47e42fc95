//! The seed's Nitro sample, both sides: the enclave answers `{"user-data": b64, "nonce": b64}`
//! with `{"document": b64}` from the NSM; the parent sends a fresh nonce and reads the whole
//! answer. Works over any byte stream (vsock in an enclave, TCP on loopback for tests).

use crate::nsm::{Nsm, NsmError, request_document};
use base64::Engine;
use serde_json::{Value, json};
use std::io::{Read, Write};

/// Bytes read from one peer at most (a document is ~5 KiB; base64 and JSON add a third).
pub const MAX_MESSAGE: u64 = 1 << 20;

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn error(code: &str, message: String) -> Value {
    json!({"error": code, "message": message})
}

/// Answers one request value.
pub fn answer(nsm: &dyn Nsm, req: &Value) -> Value {
    let field = |name: &str, code: &str| -> Result<Option<Vec<u8>>, Value> {
        match req.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                b64().decode(s).map(Some).map_err(|e| error(code, format!("{name} is not base64: {e}")))
            }
            Some(_) => Err(error(code, format!("{name} must be a base64 string"))),
        }
    };
    if !req.is_object() {
        return error("Invalid JSON request", "the request must be a JSON object".into());
    }
    let user_data = match field("user-data", "Invalid report-data encoding") {
        Ok(v) => v,
        Err(e) => return e,
    };
    let nonce = match field("nonce", "Invalid nonce encoding") {
        Ok(v) => v,
        Err(e) => return e,
    };
    let public_key = match field("public-key", "Invalid public-key encoding") {
        Ok(v) => v,
        Err(e) => return e,
    };
    match request_document(nsm, user_data.as_deref(), nonce.as_deref(), public_key.as_deref()) {
        Ok(doc) => json!({"document": b64().encode(doc)}),
        Err(NsmError::Absent) => {
            json!({"error": "NSM device not available", "message": NsmError::Absent.to_string(), "status": "NSM_UNAVAILABLE"})
        }
        Err(e) => error("NSM request failed", e.to_string()),
    }
}

/// Serves one connection: any number of JSON requests, one JSON answer (plus newline) each. A
/// peer that hangs up after its answer is a normal end.
pub fn serve_connection<S: Read + Write>(nsm: &dyn Nsm, stream: S) -> std::io::Result<usize> {
    use std::io::ErrorKind::{BrokenPipe, ConnectionReset};
    let mut served = 0;
    match serve_inner(nsm, stream, &mut served) {
        Err(e) if served > 0 && matches!(e.kind(), BrokenPipe | ConnectionReset) => Ok(served),
        other => other,
    }
}

fn serve_inner<S: Read + Write>(nsm: &dyn Nsm, stream: S, served: &mut usize) -> std::io::Result<usize> {
    let mut stream = stream;
    loop {
        let mut limited = (&mut stream).take(MAX_MESSAGE);
        let mut de = serde_json::Deserializer::from_reader(&mut limited).into_iter::<Value>();
        let reply = match de.next() {
            None => return Ok(*served),
            Some(Ok(req)) => answer(nsm, &req),
            Some(Err(e)) if e.is_eof() && *served > 0 => return Ok(*served),
            Some(Err(e)) if e.is_io() => return Err(std::io::Error::from(e)),
            Some(Err(e)) => {
                let r = error("Invalid JSON request", e.to_string());
                drop(de);
                stream.write_all(format!("{r}\n").as_bytes())?;
                return Ok(*served);
            }
        };
        drop(de);
        stream.write_all(format!("{reply}\n").as_bytes())?;
        stream.flush()?;
        *served += 1;
    }
}

/// The parent's side: sends the request, reads the whole answer (until the JSON value is
/// complete or the peer closes; never a single fixed-size read), returns the document.
pub fn request<S: Read + Write>(stream: S, user_data: &[u8], nonce: &[u8]) -> Result<Vec<u8>, String> {
    let mut stream = stream;
    let req = json!({"user-data": b64().encode(user_data), "nonce": b64().encode(nonce)});
    writeln!(stream, "{req}").map_err(|e| format!("sending the request: {e}"))?;
    stream.flush().map_err(|e| format!("sending the request: {e}"))?;
    let mut limited = (&mut stream).take(MAX_MESSAGE);
    let mut de = serde_json::Deserializer::from_reader(&mut limited).into_iter::<Value>();
    let answer = match de.next() {
        Some(Ok(v)) => v,
        Some(Err(e)) => return Err(format!("the enclave's answer is not JSON: {e}")),
        None => return Err("the enclave closed the connection without answering".into()),
    };
    if let Some(err) = answer.get("error") {
        return Err(format!(
            "the enclave answered an error: {} ({})",
            err.as_str().unwrap_or("?"),
            answer.get("message").and_then(|m| m.as_str()).unwrap_or("")
        ));
    }
    let doc =
        answer.get("document").and_then(|d| d.as_str()).ok_or_else(|| "the answer has no \"document\"".to_string())?;
    b64().decode(doc).map_err(|e| format!("the document is not base64: {e}"))
}
