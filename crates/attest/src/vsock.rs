//! AF_VSOCK stream sockets (enclave <-> parent), as std streams.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

#[cfg(target_os = "linux")]
fn addr(cid: u32, port: u32) -> libc::sockaddr_vm {
    // SAFETY: sockaddr_vm is plain old data; all-zero is a valid value.
    let mut a: libc::sockaddr_vm = unsafe { std::mem::zeroed() };
    a.svm_family = libc::AF_VSOCK as libc::sa_family_t;
    a.svm_port = port;
    a.svm_cid = cid;
    a
}

#[cfg(target_os = "linux")]
fn socket() -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2) call; the descriptor is owned right away.
    let fd = unsafe { libc::socket(libc::AF_VSOCK, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh, valid descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A listening vsock socket on any CID.
pub struct VsockListener {
    fd: OwnedFd,
}

impl VsockListener {
    #[cfg(target_os = "linux")]
    pub fn bind(port: u32) -> io::Result<Self> {
        use std::os::fd::AsRawFd;
        let fd = socket()?;
        let a = addr(libc::VMADDR_CID_ANY, port);
        let len = std::mem::size_of::<libc::sockaddr_vm>() as libc::socklen_t;
        // SAFETY: `a` is a valid sockaddr_vm of `len` bytes.
        if unsafe { libc::bind(fd.as_raw_fd(), (&a as *const libc::sockaddr_vm).cast(), len) } < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a bound stream socket.
        if unsafe { libc::listen(fd.as_raw_fd(), 16) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(VsockListener { fd })
    }

    #[cfg(target_os = "linux")]
    pub fn accept(&self) -> io::Result<UnixStream> {
        use std::os::fd::AsRawFd;
        // SAFETY: accept(2) on a listening socket; peer address not requested.
        let fd: RawFd = unsafe { libc::accept(self.fd.as_raw_fd(), std::ptr::null_mut(), std::ptr::null_mut()) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh connected stream socket; UnixStream only reads, writes and closes it.
        Ok(unsafe { UnixStream::from_raw_fd(fd) })
    }
}

/// Connects to `cid:port`.
#[cfg(target_os = "linux")]
pub fn connect(cid: u32, port: u32) -> io::Result<UnixStream> {
    use std::os::fd::{AsRawFd, IntoRawFd};
    let fd = socket()?;
    let a = addr(cid, port);
    let len = std::mem::size_of::<libc::sockaddr_vm>() as libc::socklen_t;
    // SAFETY: `a` is a valid sockaddr_vm of `len` bytes.
    if unsafe { libc::connect(fd.as_raw_fd(), (&a as *const libc::sockaddr_vm).cast(), len) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: ownership of the connected descriptor moves into the stream.
    Ok(unsafe { UnixStream::from_raw_fd(fd.into_raw_fd()) })
}
