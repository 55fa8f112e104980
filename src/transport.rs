//! Sends each request in one write.
//!
//! ureq writes a request's head and its body with two separate writes. With
//! TCP_NODELAY that is two packets, and the server wakes up twice per request. The
//! [`OneWrite`] transport holds a request head that announces a `Content-Length`
//! until the whole body has been handed over, then writes head and body together.
//! Anything else (no length, very large bodies, responses) passes straight through.
//!
//! It also keeps a connection to the process that opened it: after `fork()`, a child
//! that finds a connection inherited from its parent in the pool reports it closed, so
//! the pool drops it (closing the child's copy of the descriptor, without
//! `shutdown(2)`, which would cut the parent's connection too) and the child opens its
//! own. Parent and child never share a socket, so never read each other's answers.
//! (As everywhere after fork(), a lock held by another thread of the parent at that
//! moment, such as the pool's, stays held in the child: fork between calls.)
//!
//! It also rounds the time limits it hands down: ureq sets the socket's send and receive
//! timeouts (one syscall each) whenever the remaining time differs from the last one,
//! which at nanosecond precision is every request. Rounded down to [`TIMEOUT_STEP`], the
//! value repeats from one request to the next and the syscalls are skipped. A call can
//! then time out at most one step early, never late.

use std::cell::Cell;
use std::fmt;
use std::time::Duration;
use ureq::unversioned::transport::{Buffers, ConnectionDetails, Connector, NextTimeout, Transport};
use zeroize::Zeroize;

/// Remaining times above one second are rounded down to a multiple of this.
const TIMEOUT_STEP: Duration = Duration::from_millis(100);

/// Bodies larger than this are not held back.
const MAX_HELD: usize = 1 << 20;

thread_local! {
    /// Whether any byte of the current attempt's request reached the socket (ureq runs
    /// a request on the calling thread).
    static WRITTEN: Cell<bool> = const { Cell::new(false) };
}

/// Starts an attempt on this thread: nothing of its request has been written yet.
pub(crate) fn start_attempt() {
    WRITTEN.with(|w| w.set(false));
}

/// Whether any byte of this thread's current request was handed to the socket. When
/// not, the service cannot have seen the request: the connection, the TLS handshake or
/// the request's own encoding failed first. A TLS handshake happens within the first
/// write, so a certificate error leaves this false.
pub(crate) fn request_written() -> bool {
    WRITTEN.with(Cell::get)
}

/// Wraps every transport of a connector chain in [`OneWrite`].
#[derive(Debug, Default, Clone, Copy)]
pub struct OneWriteConnector;

impl<In: Transport> Connector<In> for OneWriteConnector {
    type Out = OneWrite<In>;

    fn connect(&self, _: &ConnectionDetails, chained: Option<In>) -> Result<Option<Self::Out>, ureq::Error> {
        Ok(chained.map(|inner| OneWrite { inner, held: Vec::new(), expected: 0, pid: std::process::id() }))
    }
}

/// A transport that coalesces a request's head and body into one write.
pub struct OneWrite<T: Transport> {
    inner: T,
    held: Vec<u8>,
    /// The length of the whole request being held; 0 when nothing is held.
    expected: usize,
    /// The process that opened the connection.
    pid: u32,
}

impl<T: Transport + fmt::Debug> fmt::Debug for OneWrite<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneWrite").field("inner", &self.inner).field("held", &self.held.len()).finish()
    }
}

impl<T: Transport> OneWrite<T> {
    fn flush_held(&mut self, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let timeout = coarse(timeout);
        let mut start = 0;
        while start < self.held.len() {
            let output = self.inner.buffers().output();
            let n = output.len().min(self.held.len() - start);
            output[..n].copy_from_slice(&self.held[start..start + n]);
            self.inner.transmit_output(n, timeout)?;
            WRITTEN.with(|w| w.set(true));
            start += n;
        }
        // Zeroed, not just cleared: it held the request head, with the X-TC-Token.
        self.held.zeroize();
        self.expected = 0;
        Ok(())
    }
}

impl<T: Transport> Drop for OneWrite<T> {
    /// Zeroes what held the request heads (with their X-TC-Token) before the
    /// connection's memory is freed: the held copy and the output buffer.
    fn drop(&mut self) {
        self.held.zeroize();
        self.inner.buffers().output().zeroize();
    }
}

impl<T: Transport> Transport for OneWrite<T> {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        if self.expected == 0 {
            let chunk = &self.inner.buffers().output()[..amount];
            match request_length(chunk) {
                Some(total) if total > amount && total <= MAX_HELD => {
                    // Room for the whole request at once: growing would free a copy
                    // of the head (and its X-TC-Token) without zeroing it.
                    self.held.reserve_exact(total);
                    self.held.extend_from_slice(chunk);
                    self.expected = total;
                    return Ok(());
                }
                _ => {
                    self.inner.transmit_output(amount, coarse(timeout))?;
                    WRITTEN.with(|w| w.set(true));
                    return Ok(());
                }
            }
        }
        let chunk = &self.inner.buffers().output()[..amount];
        self.held.extend_from_slice(chunk);
        if self.held.len() >= self.expected {
            self.flush_held(timeout)?;
        }
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        // Never wait for an answer to bytes still held back.
        if !self.held.is_empty() {
            self.flush_held(timeout)?;
        }
        self.inner.await_input(coarse(timeout))
    }

    fn is_open(&mut self) -> bool {
        // A connection inherited across fork() is shared with the other process: this
        // one must never use it again. Dropping it only closes this process's descriptor.
        if self.pid != std::process::id() {
            return false;
        }
        // Checked every time the pool asks (on check-in and on check-out): skipping a
        // check saves three syscalls but lets a request go out on a connection the
        // server has just closed, and a SendSms that fails that way is not resent.
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

/// Rounds a remaining time above one second down to a multiple of [`TIMEOUT_STEP`].
fn coarse(mut timeout: NextTimeout) -> NextTimeout {
    use ureq::unversioned::transport::time::Duration as Remaining;
    if let Remaining::Exact(after) = timeout.after {
        if after > Duration::from_secs(1) {
            let steps = after.as_millis() / TIMEOUT_STEP.as_millis();
            timeout.after = Remaining::Exact(TIMEOUT_STEP * steps as u32);
        }
    }
    timeout
}

/// For a chunk that starts with a whole HTTP request head announcing a
/// `Content-Length`, the length of head plus body.
fn request_length(chunk: &[u8]) -> Option<usize> {
    let end = chunk.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&chunk[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let request_line = lines.next()?;
    if !request_line.ends_with("HTTP/1.1") && !request_line.ends_with("HTTP/1.0") {
        return None;
    }
    let mut length = None;
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':')?;
        if name.eq_ignore_ascii_case("transfer-encoding") {
            return None;
        }
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.trim().parse::<usize>().ok()?);
        }
    }
    Some(end + length?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_time_limits_are_rounded_down_short_ones_kept() {
        use ureq::unversioned::transport::time::Duration as Remaining;
        let with = |d: Duration| NextTimeout { after: Remaining::Exact(d), ..NextTimeout::default() };
        let after = |t: NextTimeout| match t.after {
            Remaining::Exact(d) => d,
            Remaining::NotHappening => panic!("not exact"),
        };
        assert_eq!(after(coarse(with(Duration::from_nanos(14_999_987_654)))), Duration::from_millis(14_900));
        assert_eq!(after(coarse(with(Duration::from_nanos(14_950_000_001)))), Duration::from_millis(14_900));
        assert_eq!(after(coarse(with(Duration::from_micros(999_999)))), Duration::from_micros(999_999));
        assert!(matches!(coarse(NextTimeout::default()).after, Remaining::NotHappening));
    }

    /// A transport that is always open and never does I/O.
    #[derive(Debug)]
    struct Idle(ureq::unversioned::transport::LazyBuffers);

    impl Transport for Idle {
        fn buffers(&mut self) -> &mut dyn Buffers {
            &mut self.0
        }
        fn transmit_output(&mut self, _: usize, _: NextTimeout) -> Result<(), ureq::Error> {
            Ok(())
        }
        fn await_input(&mut self, _: NextTimeout) -> Result<bool, ureq::Error> {
            Ok(false)
        }
        fn is_open(&mut self) -> bool {
            true
        }
    }

    #[test]
    fn connections_from_another_process_are_never_reused() {
        let idle = || Idle(ureq::unversioned::transport::LazyBuffers::new(64, 64));
        let mut own = OneWrite { inner: idle(), held: Vec::new(), expected: 0, pid: std::process::id() };
        assert!(own.is_open(), "opened by this process");
        // As the child sees a connection its parent opened before fork().
        let mut inherited = OneWrite { inner: idle(), held: Vec::new(), expected: 0, pid: std::process::id() ^ 1 };
        assert!(!inherited.is_open(), "inherited across fork()");
    }

    #[test]
    fn request_length_reads_heads() {
        let head = b"POST / HTTP/1.1\r\nHost: x\r\ncontent-length: 10\r\n\r\n";
        assert_eq!(request_length(head), Some(head.len() + 10));
        let mut with_body = head.to_vec();
        with_body.extend_from_slice(b"0123456789");
        assert_eq!(request_length(&with_body), Some(with_body.len()));
        assert_eq!(request_length(b"POST / HTTP/1.1\r\nHost: x\r\n\r\n"), None, "no length");
        assert_eq!(request_length(b"POST / HTTP/1.1\r\nHost: x\r\n"), None, "incomplete head");
        assert_eq!(request_length(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"), None);
        assert_eq!(request_length(b"{\"a\":1}"), None, "a body chunk");
    }
}
