//! Fault injection (`--fault KIND --fault-every N`) and closing a connection without
//! answering, which the HTTP server crate offers no call for.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

/// The kinds of fault the command line can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// HTTP 500 with an HTML body, as a load balancer in front of a broken backend sends.
    Http500,
    /// The connection is closed without any response.
    Close,
    /// The request is processed, but the answer comes after the fault delay.
    Slow,
    /// HTTP 200 with a body that is not JSON.
    Garbage,
}

impl FaultKind {
    pub fn parse(s: &str) -> Option<FaultKind> {
        match s {
            "http500" => Some(FaultKind::Http500),
            "close" => Some(FaultKind::Close),
            "slow" => Some(FaultKind::Slow),
            "garbage" => Some(FaultKind::Garbage),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Http500 => "http500",
            FaultKind::Close => "close",
            FaultKind::Slow => "slow",
            FaultKind::Garbage => "garbage",
        }
    }
}

pub const HTTP500_BODY: &str = "<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n\
<body>\r\n<center><h1>500 Internal Server Error</h1></center>\r\n<hr><center>tcsms-emulator</center>\r\n\
</body>\r\n</html>\r\n";

pub const GARBAGE_BODY: &str = "<<tcsms-emulator: this body is deliberately not JSON>>";

/// Decides which API requests get the fault: every Nth one, counting from the first.
#[derive(Debug)]
pub struct FaultPlan {
    pub kind: FaultKind,
    pub every: u64,
    pub delay_ms: u64,
    seen: AtomicU64,
}

impl FaultPlan {
    pub fn new(kind: FaultKind, every: u64, delay_ms: u64) -> FaultPlan {
        FaultPlan { kind, every: every.max(1), delay_ms, seen: AtomicU64::new(0) }
    }

    /// Counts one API request; returns the fault it must suffer, if any.
    pub fn next(&self) -> Option<FaultKind> {
        let n = self.seen.fetch_add(1, Ordering::Relaxed) + 1;
        (n % self.every == 0).then_some(self.kind)
    }
}

/// Shuts down (both ways) the accepted TCP connection whose peer is `peer` and whose local
/// port is `local_port`, so that the client sees the connection closed without a response.
///
/// tiny_http keeps the socket to itself, so the socket is found among this process's open
/// file descriptors by its addresses (unique for a TCP connection). Returns whether one was
/// found.
#[cfg(unix)]
pub fn shutdown_connection(peer: SocketAddr, local_port: u16) -> bool {
    let dir = match std::fs::read_dir("/proc/self/fd").or_else(|_| std::fs::read_dir("/dev/fd")) {
        Ok(d) => d,
        Err(_) => return false,
    };
    let fds: Vec<libc::c_int> = dir
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
        .collect();
    let mut found = false;
    for fd in fds {
        let same_peer = socket_addr(fd, libc::getpeername) == Some(peer);
        if same_peer && socket_addr(fd, libc::getsockname).map(|a| a.port()) == Some(local_port) {
            // SAFETY: shutdown only changes the state of a socket this process owns; tiny_http's
            // later reads and writes on it fail with EOF/EPIPE, which it handles.
            unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
            found = true;
        }
    }
    found
}

#[cfg(not(unix))]
pub fn shutdown_connection(_peer: SocketAddr, _local_port: u16) -> bool {
    false
}

#[cfg(unix)]
type AddrFn = unsafe extern "C" fn(libc::c_int, *mut libc::sockaddr, *mut libc::socklen_t) -> libc::c_int;

#[cfg(unix)]
fn socket_addr(fd: libc::c_int, f: AddrFn) -> Option<SocketAddr> {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
    // SAFETY: sockaddr_storage is plain data; zeroed is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: the pointers are valid for `len` bytes; on a non-socket fd the call fails.
    let rc = unsafe { f(fd, &mut storage as *mut _ as *mut libc::sockaddr, &mut len) };
    if rc != 0 {
        return None;
    }
    match storage.ss_family as libc::c_int {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let a: &libc::sockaddr_in = unsafe { &*(&storage as *const _ as *const libc::sockaddr_in) };
            let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be(a.sin_port))))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let a: &libc::sockaddr_in6 = unsafe { &*(&storage as *const _ as *const libc::sockaddr_in6) };
            let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
            Some(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_nth_request_faults() {
        let plan = FaultPlan::new(FaultKind::Close, 3, 0);
        let hits: Vec<bool> = (0..6).map(|_| plan.next().is_some()).collect();
        assert_eq!(hits, [false, false, true, false, false, true]);
    }

    #[cfg(unix)]
    #[test]
    fn shutdown_finds_the_socket() {
        use std::io::Read;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (_server_side, peer) = listener.accept().unwrap();
        assert!(shutdown_connection(peer, port));
        let mut buf = [0u8; 8];
        assert_eq!(client.read(&mut buf).unwrap(), 0, "client sees EOF");
    }
}
