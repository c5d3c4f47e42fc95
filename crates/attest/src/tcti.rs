//! Where TPM commands go: the TCTI strings tpm2-tools users already type, and the two transports
//! behind them. `device:PATH` writes a command to a TPM character device and reads the answer
//! (`/dev/tpmrm0`, the kernel resource manager; `/dev/tpm0` is the raw TPM, where transient
//! objects stay loaded until this process flushes them). `swtpm:host=H,port=P` sends raw
//! commands to swtpm's TCP server port (what `swtpm socket --server type=tcp` listens on);
//! `mssim:host=H,port=P` frames them the TPM simulator way (TPM_SEND_COMMAND = 8, locality byte,
//! length, command; answer: length, response, a trailing u32 0) and ends with TPM_SESSION_END.
//! Neither TCP transport uses the control/platform port: swtpm is started with
//! `--flags not-need-init,startup-clear`, the Microsoft simulator is powered on by its owner.
//!
//! Refused: any other TCTI name (`tabrmd`, `libtpms`, ...), unknown keys, a port that is no
//! number; a response longer than [`MAX_RESPONSE`] or shorter than its header says.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// TPM2 responses are at most a few KiB (TPM2_PT_MAX_RESPONSE_SIZE is 4096 on most TPMs).
pub const MAX_RESPONSE: usize = 64 * 1024;
/// How long a TCP TPM may take for one command (RSA key generation on swtpm takes seconds).
const TCP_TIMEOUT: Duration = Duration::from_secs(120);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

const TPM_SEND_COMMAND: u32 = 8;
const TPM_SESSION_END: u32 = 20;

/// A parsed TCTI string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TctiConf {
    /// A TPM character device.
    Device(String),
    /// swtpm's TCP server port, raw TPM commands.
    Swtpm { host: String, port: u16 },
    /// The TPM simulator protocol (mssim framing) on the command port.
    Mssim { host: String, port: u16 },
}

impl TctiConf {
    /// `device:/dev/tpmrm0`, `device` (= `/dev/tpm0`, as libtss2), `swtpm:host=127.0.0.1,port=2321`,
    /// `swtpm:port=2321`, `swtpm` (127.0.0.1:2321), `mssim:host=..,port=..`; the legacy
    /// tpm2-tools form `mssim:127.0.0.1:2321` too.
    pub fn parse(s: &str) -> Result<TctiConf, String> {
        let (name, args) = s.split_once(':').unwrap_or((s, ""));
        match name {
            "device" => {
                let path = if args.is_empty() { "/dev/tpm0" } else { args };
                Ok(TctiConf::Device(path.to_string()))
            }
            "swtpm" | "mssim" => {
                let mut host = "127.0.0.1".to_string();
                let mut port = 2321u16;
                let parse_port = |p: &str| {
                    p.parse::<u16>().map_err(|_| format!("TCTI '{s}': port '{p}' is not a number from 0 to 65535"))
                };
                if !args.contains('=') && !args.is_empty() {
                    // `host:port` or `host`.
                    match args.rsplit_once(':') {
                        Some((h, p)) => {
                            host = h.to_string();
                            port = parse_port(p)?;
                        }
                        None => host = args.to_string(),
                    }
                } else {
                    for kv in args.split(',').filter(|k| !k.is_empty()) {
                        match kv.split_once('=') {
                            Some(("host", h)) if !h.is_empty() => host = h.to_string(),
                            Some(("port", p)) => port = parse_port(p)?,
                            _ => return Err(format!("TCTI '{s}': '{kv}' is not host=ADDRESS or port=NUMBER")),
                        }
                    }
                }
                if host == "localhost" {
                    host = "127.0.0.1".into();
                }
                Ok(if name == "swtpm" { TctiConf::Swtpm { host, port } } else { TctiConf::Mssim { host, port } })
            }
            "" => Err("empty TCTI".into()),
            other => Err(format!(
                "TCTI '{s}': '{other}' is not a TCTI cloud-ra speaks (device:PATH, swtpm:host=H,port=P, mssim:host=H,port=P)"
            )),
        }
    }
}

/// One connection to a TPM: a command in, its response out.
pub trait Transport {
    /// Sends one marshalled command and returns the whole response (its header's size checked).
    fn transmit(&mut self, command: &[u8]) -> std::io::Result<Vec<u8>>;
}

fn bad(msg: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg)
}

/// Reads a response whose header (tag u16, size u32) says how long it is.
fn read_sized(r: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut head = [0u8; 10];
    read_exact(r, &mut head, "the response header")?;
    let size = u32::from_be_bytes([head[2], head[3], head[4], head[5]]) as usize;
    if !(10..=MAX_RESPONSE).contains(&size) {
        return Err(bad(format!("response header says {size} bytes (10..={MAX_RESPONSE} expected)")));
    }
    let mut out = vec![0u8; size];
    out[..10].copy_from_slice(&head);
    read_exact(r, &mut out[10..], "the response body")?;
    Ok(out)
}

fn read_exact(r: &mut impl Read, buf: &mut [u8], what: &str) -> std::io::Result<()> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("connection closed after {got} of {} bytes of {what}", buf.len()),
                ));
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A TPM character device. The kernel answers a whole response to one read.
pub struct DeviceTransport {
    file: std::fs::File,
}

impl DeviceTransport {
    pub fn open(path: &str) -> std::io::Result<DeviceTransport> {
        Ok(DeviceTransport { file: std::fs::OpenOptions::new().read(true).write(true).open(path)? })
    }
}

impl Transport for DeviceTransport {
    fn transmit(&mut self, command: &[u8]) -> std::io::Result<Vec<u8>> {
        self.file.write_all(command)?;
        let mut buf = vec![0u8; MAX_RESPONSE];
        let n = loop {
            match self.file.read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        buf.truncate(n);
        if n < 10 {
            return Err(bad(format!("the device answered {n} bytes, shorter than a response header")));
        }
        let size = u32::from_be_bytes([buf[2], buf[3], buf[4], buf[5]]) as usize;
        if size != n {
            return Err(bad(format!("the device answered {n} bytes; the response header says {size}")));
        }
        Ok(buf)
    }
}

/// swtpm (raw) or the simulator framing over TCP.
pub struct TcpTransport {
    stream: TcpStream,
    framed: bool,
}

impl TcpTransport {
    pub fn connect(host: &str, port: u16, framed: bool) -> std::io::Result<TcpTransport> {
        let addr = (host, port).to_socket_addrs()?.next().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, format!("{host}:{port} does not resolve"))
        })?;
        let stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)?;
        stream.set_read_timeout(Some(TCP_TIMEOUT))?;
        stream.set_write_timeout(Some(TCP_TIMEOUT))?;
        stream.set_nodelay(true)?;
        Ok(TcpTransport { stream, framed })
    }
}

impl Transport for TcpTransport {
    fn transmit(&mut self, command: &[u8]) -> std::io::Result<Vec<u8>> {
        if !self.framed {
            self.stream.write_all(command)?;
            return read_sized(&mut self.stream);
        }
        let len = u32::try_from(command.len()).map_err(|_| bad("command too long".into()))?;
        let mut msg = Vec::with_capacity(command.len() + 9);
        msg.extend(TPM_SEND_COMMAND.to_be_bytes());
        msg.push(0); // locality 0
        msg.extend(len.to_be_bytes());
        msg.extend_from_slice(command);
        self.stream.write_all(&msg)?;
        let mut n = [0u8; 4];
        read_exact(&mut self.stream, &mut n, "the simulator's length word")?;
        let n = u32::from_be_bytes(n) as usize;
        if !(10..=MAX_RESPONSE).contains(&n) {
            return Err(bad(format!("the simulator announced a response of {n} bytes (10..={MAX_RESPONSE})")));
        }
        let mut out = vec![0u8; n];
        read_exact(&mut self.stream, &mut out, "the response")?;
        let mut ack = [0u8; 4];
        read_exact(&mut self.stream, &mut ack, "the simulator's trailing status word")?;
        if ack != [0; 4] {
            return Err(bad(format!("the simulator's trailing status word is {}, not 0", u32::from_be_bytes(ack))));
        }
        let size = u32::from_be_bytes([out[2], out[3], out[4], out[5]]) as usize;
        if size != n {
            return Err(bad(format!("the simulator framed {n} bytes; the response header says {size}")));
        }
        Ok(out)
    }
}

impl Drop for TcpTransport {
    fn drop(&mut self) {
        if self.framed {
            let _ = self.stream.write_all(&TPM_SESSION_END.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcti_strings() {
        assert_eq!(TctiConf::parse("device:/dev/tpmrm0"), Ok(TctiConf::Device("/dev/tpmrm0".into())));
        assert_eq!(TctiConf::parse("device"), Ok(TctiConf::Device("/dev/tpm0".into())));
        assert_eq!(
            TctiConf::parse("swtpm:host=127.0.0.1,port=2321"),
            Ok(TctiConf::Swtpm { host: "127.0.0.1".into(), port: 2321 })
        );
        assert_eq!(TctiConf::parse("swtpm:port=9"), Ok(TctiConf::Swtpm { host: "127.0.0.1".into(), port: 9 }));
        assert_eq!(TctiConf::parse("swtpm"), Ok(TctiConf::Swtpm { host: "127.0.0.1".into(), port: 2321 }));
        assert_eq!(
            TctiConf::parse("mssim:host=localhost,port=2400"),
            Ok(TctiConf::Mssim { host: "127.0.0.1".into(), port: 2400 })
        );
        assert_eq!(TctiConf::parse("mssim:10.0.0.1:5"), Ok(TctiConf::Mssim { host: "10.0.0.1".into(), port: 5 }));
        for bad in ["", "tabrmd:", "nosuchtcti:foo", "swtpm:port=x", "swtpm:port=70000", "swtpm:hots=a", "mssim:h:p"] {
            assert!(TctiConf::parse(bad).is_err(), "{bad}");
        }
        assert!(TctiConf::parse("swtpm:port=x").unwrap_err().contains("'x' is not a number"));
    }
}
