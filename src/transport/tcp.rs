//! TCP connections for ureq's connector chain (in place of ureq's `TcpConnector`).
//!
//! It does what ureq's does (each resolved address in turn within the connect time
//! limit, `TCP_NODELAY`, socket timeouts set only when they change) with two
//! differences that matter on every call of a pooled connection:
//!
//! - [`Transport::is_open`] is one `recv(MSG_PEEK | MSG_DONTWAIT)` instead of three
//!   syscalls (make the socket non-blocking, read, make it blocking again). The pool asks
//!   it before every reuse, so that a request never goes out on a connection the server
//!   has closed (a SendSms that fails that way is never resent).
//! - The stream is owned, not shared through an `Arc` with a shutdown registry: tcsms
//!   never shuts a connection down from another thread.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};
use ureq::unversioned::transport::time::Duration as Remaining;
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, Transport,
};
use ureq::{Error, Timeout};

/// The buffers of a TCP connection that carries TLS directly: a whole TLS record (16 KiB
/// of data and at most 256 bytes of header and tag) fits, so a record leaves in one write.
const TLS_RECORD_BUFFER_BYTES: usize = 17 << 10;

/// The least time given to one address when several are tried.
const MIN_PER_ADDRESS: Duration = Duration::from_millis(10);

/// Opens a TCP connection when no earlier connector in the chain made one.
#[derive(Debug, Default)]
pub struct TcpConnector;

impl<In: Transport> Connector<In> for TcpConnector {
    type Out = Either<In, TcpTransport>;

    fn connect(&self, details: &ConnectionDetails, chained: Option<In>) -> Result<Option<Self::Out>, Error> {
        if let Some(transport) = chained {
            return Ok(Some(Either::A(transport)));
        }
        let stream = connect_any(&details.addrs, limit(details.timeout))?;
        if details.config.no_delay() {
            stream.set_nodelay(true)?;
        }
        let (mut input, mut output) = (details.config.input_buffer_size(), details.config.output_buffer_size());
        if details.needs_tls() && details.config.proxy().is_none() {
            // Under TLS these buffers only pass records through (the TLS layer has the
            // connection's own), so one record's room is enough: a new connection
            // zeroes 34 KiB here, not 128.
            input = input.min(TLS_RECORD_BUFFER_BYTES);
            output = output.min(TLS_RECORD_BUFFER_BYTES);
        }
        let buffers = LazyBuffers::new(input, output);
        Ok(Some(Either::B(TcpTransport { stream, buffers, read_timeout: None, write_timeout: None })))
    }
}

/// The time a `NextTimeout` allows; None when it never expires.
fn limit(timeout: NextTimeout) -> Option<Duration> {
    match timeout.after {
        Remaining::Exact(after) => Some(after),
        Remaining::NotHappening => None,
    }
}

/// Connects to the first address that accepts. With a time limit, each address but the
/// last gets half of the time left, so one that never answers does not use it all.
fn connect_any(addrs: &[SocketAddr], within: Option<Duration>) -> Result<TcpStream, Error> {
    let start = Instant::now();
    let mut last = None;
    for (i, addr) in addrs.iter().enumerate() {
        let stream = match within {
            None => TcpStream::connect(addr),
            Some(within) => {
                let left = within.saturating_sub(start.elapsed());
                if left.is_zero() {
                    return Err(Error::Timeout(Timeout::Connect));
                }
                let share = if i + 1 == addrs.len() { left } else { (left / 2).max(MIN_PER_ADDRESS).min(left) };
                TcpStream::connect_timeout(addr, share)
            }
        };
        match stream {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(io_error(e, Timeout::Connect)),
        }
    }
    Err(last.unwrap_or_else(|| {
        Error::Io(io::Error::new(io::ErrorKind::AddrNotAvailable, "the host resolved to no address"))
    }))
}

/// A TCP connection with ureq's buffers.
pub struct TcpTransport {
    stream: TcpStream,
    buffers: LazyBuffers,
    /// The socket's timeouts as last set (None: not set yet, or none).
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
}

impl std::fmt::Debug for TcpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpTransport").field("peer", &self.stream.peer_addr().ok()).finish()
    }
}

/// The socket timeout for an operation with `timeout` left: Err when none is left.
/// In whole steps ([`super::http::whole_steps`]), as the pool rounds what a call has
/// left: the TLS layer above passes on what is left to the microsecond, which would
/// reset both socket timeouts (two `setsockopt`) on every call over TLS.
fn socket_timeout(timeout: NextTimeout) -> Result<Option<Duration>, Error> {
    match limit(timeout) {
        Some(left) if left.is_zero() => Err(Error::Timeout(timeout.reason)),
        other => Ok(other.map(super::http::whole_steps)),
    }
}

/// Acknowledges what was read at once instead of after the delayed-ACK pause (Linux;
/// the flag lasts until the kernel's next decision, hence after every read). A server
/// with Nagle's algorithm holds a second write until the first is acknowledged: an
/// extra answer written after an answer would otherwise arrive only once the next
/// request carries the ACK, too late for the pool's idle check to see it, and be
/// taken for that request's answer.
#[allow(unsafe_code)] // one setsockopt(2), which std does not offer
fn quick_ack(stream: &TcpStream) {
    #[cfg(target_os = "linux")]
    {
        let on: libc::c_int = 1;
        // SAFETY: sets an integer option, from a live local, on a socket `stream` owns.
        unsafe {
            libc::setsockopt(
                stream.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_QUICKACK,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = stream;
}

/// Maps an I/O error of a socket with a timeout: an expired timeout is a `Timeout`.
fn io_error(e: io::Error, reason: Timeout) -> Error {
    if matches!(e.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock) {
        Error::Timeout(reason)
    } else {
        Error::Io(e)
    }
}

impl Transport for TcpTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), Error> {
        let timeout = timeout.for_write();
        let wanted = socket_timeout(timeout)?;
        if wanted != self.write_timeout {
            self.stream.set_write_timeout(wanted)?;
            self.write_timeout = wanted;
        }
        let output = &self.buffers.output()[..amount];
        (&self.stream).write_all(output).map_err(|e| io_error(e, timeout.reason))
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, Error> {
        let timeout = timeout.for_read();
        let wanted = socket_timeout(timeout)?;
        if wanted != self.read_timeout {
            self.stream.set_read_timeout(wanted)?;
            self.read_timeout = wanted;
        }
        let input = self.buffers.input_append_buf();
        let read = loop {
            match (&self.stream).read(input) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let amount = read.map_err(|e| io_error(e, timeout.reason))?;
        self.buffers.input_appended(amount);
        quick_ack(&self.stream);
        Ok(amount > 0)
    }

    /// Open while nothing is waiting to be read and the peer has not closed: an idle
    /// connection has nothing to read, so a byte, an end of stream or an error all mean
    /// it cannot carry another request.
    #[allow(unsafe_code)] // one recv(2) with MSG_PEEK, which std does not offer non-blocking
    fn is_open(&mut self) -> bool {
        let mut byte = 0u8;
        // SAFETY: reads at most one byte into a live local, from a socket this value owns.
        let n = unsafe {
            libc::recv(self.stream.as_raw_fd(), (&mut byte as *mut u8).cast(), 1, libc::MSG_PEEK | libc::MSG_DONTWAIT)
        };
        n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock
    }
}

impl super::wire::Wire for TcpTransport {
    fn fd(&self) -> Option<std::os::fd::RawFd> {
        Some(self.stream.as_raw_fd())
    }

    /// One `recv(MSG_DONTWAIT)` into the input buffer, then the quick ACK as after any
    /// read.
    #[allow(unsafe_code)] // one recv(2) with MSG_DONTWAIT, which std does not offer
    fn pump(&mut self) -> Result<super::wire::Pumped, Error> {
        use super::wire::Pumped;
        let input = self.buffers.input_append_buf();
        if input.is_empty() {
            return Ok(Pumped::Nothing);
        }
        let n = loop {
            // SAFETY: reads at most `input.len()` bytes into the live buffer `input`, from
            // a socket this value owns.
            let n = unsafe {
                libc::recv(self.stream.as_raw_fd(), input.as_mut_ptr().cast(), input.len(), libc::MSG_DONTWAIT)
            };
            if n >= 0 {
                break n as usize;
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => return Ok(Pumped::Nothing),
                _ => return Err(Error::Io(e)),
            }
        };
        if n == 0 {
            return Ok(Pumped::Closed);
        }
        self.buffers.input_appended(n);
        quick_ack(&self.stream);
        Ok(Pumped::More)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn pair() -> (TcpTransport, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stream = connect_any(&[addr], Some(Duration::from_secs(2))).unwrap();
        let (server, _) = listener.accept().unwrap();
        let transport =
            TcpTransport { stream, buffers: LazyBuffers::new(1024, 1024), read_timeout: None, write_timeout: None };
        (transport, server)
    }

    fn within(d: Duration) -> NextTimeout {
        NextTimeout { after: Remaining::Exact(d), reason: Timeout::Global, per_read: None, per_write: None }
    }

    #[test]
    fn an_idle_connection_is_open_until_the_peer_closes_or_talks() {
        let (mut transport, server) = pair();
        assert!(transport.is_open());
        assert!(transport.is_open(), "probing consumes nothing");
        drop(server);
        std::thread::sleep(Duration::from_millis(50));
        assert!(!transport.is_open(), "closed by the peer");

        let (mut transport, mut server) = pair();
        server.write_all(b"x").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert!(!transport.is_open(), "unexpected bytes");
        // The probe only peeked: the byte is still there to read.
        assert!(transport.await_input(within(Duration::from_secs(1))).unwrap());
        assert_eq!(transport.buffers().input(), b"x");
    }

    #[test]
    fn socket_timeouts_above_a_second_are_whole_steps() {
        let left = |d: Duration| NextTimeout {
            after: Remaining::Exact(d),
            reason: Timeout::Global,
            per_read: None,
            per_write: None,
        };
        let step = super::super::http::TIMEOUT_STEP;
        // What a TLS layer passes on: a whole step less a few microseconds.
        let ragged = step * 49 - Duration::from_micros(12);
        assert_eq!(socket_timeout(left(ragged)).unwrap(), Some(step * 48));
        assert_eq!(socket_timeout(left(step * 49)).unwrap(), Some(step * 49));
        assert_eq!(socket_timeout(left(Duration::from_millis(900))).unwrap(), Some(Duration::from_millis(900)));
        assert!(socket_timeout(left(Duration::ZERO)).is_err());
    }

    #[test]
    fn reads_and_writes_keep_to_their_time_limit() {
        let (mut transport, mut server) = pair();
        transport.buffers().output()[..4].copy_from_slice(b"ping");
        transport.transmit_output(4, within(Duration::from_secs(1))).unwrap();
        let mut got = [0u8; 4];
        server.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"ping");
        let started = Instant::now();
        let silent = transport.await_input(within(Duration::from_millis(200)));
        assert!(matches!(silent, Err(Error::Timeout(Timeout::Global))), "{silent:?}");
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(matches!(transport.await_input(within(Duration::ZERO)), Err(Error::Timeout(_))));
        drop(server);
        assert!(!transport.await_input(within(Duration::from_secs(1))).unwrap(), "end of stream");
    }

    #[test]
    fn every_address_is_tried_and_refusals_are_reported() {
        let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let open = listener.local_addr().unwrap();
        assert!(connect_any(&[closed, open], Some(Duration::from_secs(2))).is_ok());
        let refused = connect_any(&[closed], Some(Duration::from_secs(2)));
        assert!(
            matches!(refused, Err(Error::Io(ref e)) if e.kind() == io::ErrorKind::ConnectionRefused),
            "{refused:?}"
        );
        assert!(connect_any(&[], None).is_err());
    }
}
