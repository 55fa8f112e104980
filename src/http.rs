//! HTTP/1.1 exchanges over ureq's transports, without ureq's per-request machinery.
//!
//! ureq stays the connection layer: its connector chain opens the TCP connection, wraps
//! it in TLS (rustls, with the configured roots) and tunnels it through an HTTP CONNECT
//! proxy, and the name resolver is ureq's hook (see [`crate::dns`]). What ureq does per
//! request on top of a connection (an `http::Request` with a `HeaderMap`, header
//! validation, a protocol state machine, layered body readers with a charset decoder)
//! cost about 50,000 instructions per call, more than everything else a call does
//! outside SHA-256 (bench/README.md). A call needs much less: this module writes a
//! request head built by the caller and its body in one write, parses the answer's head
//! with `httparse` (the parser ureq itself uses), and reads a `Content-Length`, chunked
//! or until-close body up to a limit.
//!
//! # Connections
//!
//! Idle connections wait in a pool per client and the most recently used is taken
//! first. Before a pooled connection is used, it is checked: opened by this process (a
//! connection inherited across `fork()` is dropped, which closes only the child's
//! descriptor, so parent and child never share a socket or read each other's answers),
//! idle for less than [`MAX_IDLE`], and still open (a request must not go out on a
//! connection the server has just closed: a SendSms that fails that way is never
//! resent). A connection goes back to the pool only after a complete HTTP/1.1 answer
//! without `Connection: close` and with nothing left over.
//!
//! # Time limits
//!
//! Every step (resolving, connecting, each write and each read) gets the time left until
//! the call's deadline. Limits above one second are rounded down to [`TIMEOUT_STEP`],
//! so the socket's timeout repeats from one request to the next and ureq skips the
//! syscalls that set it; a call can then time out at most one step early, never late.
//!
//! # What was sent
//!
//! [`Failed::written`] tells whether any of the request reached the transport: when not,
//! the service cannot have seen it (the connection, the TLS handshake or the proxy failed
//! first), and the client may send it again whatever the action.

use crate::dns::CachingResolver;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use ureq::unversioned::resolver::Resolver;
use ureq::unversioned::transport::time::{Duration as Remaining, Instant as At};
use ureq::unversioned::transport::{
    Buffers, ConnectProxyConnector, ConnectionDetails, Connector, LazyBuffers, NextTimeout, RustlsConnector, Transport,
};
use ureq::Timeout;
use zeroize::Zeroize;

/// Remaining times above one second are rounded down to a multiple of this.
pub const TIMEOUT_STEP: Duration = Duration::from_millis(100);
/// How long an idle connection is kept.
pub const MAX_IDLE: Duration = Duration::from_secs(15);
/// The most idle connections a client keeps.
pub const MAX_IDLE_CONNECTIONS: usize = 64;
/// The largest response head accepted.
pub const MAX_HEAD_BYTES: usize = 64 << 10;
/// The most header lines a response head may have.
const MAX_HEADERS: usize = 64;

/// The answer to one request.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// The `Date` header, when there is one (read to correct clock skew).
    pub date: Option<String>,
    pub body: Vec<u8>,
}

/// A failed exchange: the error and whether any of the request was written.
#[derive(Debug)]
pub struct Failed {
    pub error: ureq::Error,
    pub written: bool,
}

/// Connections to one endpoint, made through ureq's connector chain.
pub struct Http {
    connector: Arc<Chain>,
    resolver: CachingResolver,
    /// Proxy, TLS roots, `TCP_NODELAY` and buffer sizes, as the connectors read them.
    config: ureq::config::Config,
    uri: ureq::http::Uri,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http").field("uri", &self.uri).finish_non_exhaustive()
    }
}

/// One connection and what the pool needs to know about it.
struct Connection {
    transport: Box<dyn Transport>,
    /// The process that opened it.
    pid: u32,
    idle_since: Instant,
}

impl Drop for Connection {
    /// Zeroes the output buffer, which held request heads (with their `X-TC-Token`),
    /// before the connection's memory is freed.
    fn drop(&mut self) {
        self.transport.buffers().output().zeroize();
    }
}

/// How the body of an answer is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// No body (1xx, 204, 304).
    Empty,
    Length(u64),
    Chunked,
    /// Until the server closes the connection.
    UntilClose,
}

/// What the head of an answer says.
struct Head {
    status: u16,
    date: Option<String>,
    framing: Framing,
    /// The connection may carry another request afterwards.
    keep_alive: bool,
}

impl Http {
    /// `url`: `http://authority/` or `https://authority/`; `config` as the connectors
    /// read it (proxy, TLS, `no_delay`, buffer sizes).
    pub fn new(url: &str, config: ureq::config::Config, resolver: CachingResolver) -> Result<Http, ureq::Error> {
        let uri: ureq::http::Uri =
            url.parse().map_err(|e: ureq::http::uri::InvalidUri| ureq::Error::BadUri(e.to_string()))?;
        Ok(Http { connector: Arc::new(chain()), resolver, config, uri, idle: Mutex::new(Vec::new()) })
    }

    /// Forgets every resolved address: the next connection resolves the host afresh
    /// (after a failure to connect, the address may have moved).
    pub fn forget_addresses(&self) {
        self.resolver.forget_all();
    }

    /// Sends `head` (a whole request head, ending with an empty line) and `body` in one
    /// write and reads the answer, whose body may be at most `limit` bytes. Connecting
    /// takes at most `connect_timeout`; everything ends by `deadline`.
    pub fn exchange(
        &self,
        head: &[u8],
        body: &[u8],
        deadline: Instant,
        connect_timeout: Duration,
        limit: u64,
    ) -> Result<Response, Failed> {
        let mut connection =
            self.checkout(deadline, connect_timeout).map_err(|error| Failed { error, written: false })?;
        let mut written = false;
        let result = send(&mut *connection.transport, head, body, deadline, &mut written)
            .and_then(|()| read_response(&mut *connection.transport, deadline, limit));
        match result {
            Ok((response, reusable)) => {
                if reusable {
                    self.checkin(connection);
                }
                Ok(response)
            }
            Err(error) => Err(Failed { error, written }),
        }
    }

    fn pool(&self) -> MutexGuard<'_, Vec<Connection>> {
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The most recently used pooled connection that is still good, or a new one.
    fn checkout(&self, deadline: Instant, connect_timeout: Duration) -> Result<Connection, ureq::Error> {
        let pid = std::process::id();
        loop {
            let Some(mut connection) = self.pool().pop() else { break };
            // Checked outside the lock: is_open costs syscalls.
            if connection.pid == pid && connection.idle_since.elapsed() < MAX_IDLE && connection.transport.is_open() {
                return Ok(connection);
            }
            // Dropped: closes this process's descriptor only (no shutdown(2)).
        }
        self.connect(pid, deadline, connect_timeout)
    }

    fn checkin(&self, mut connection: Connection) {
        connection.idle_since = Instant::now();
        let mut idle = self.pool();
        if idle.len() >= MAX_IDLE_CONNECTIONS {
            // The least recently used goes.
            let oldest = idle.remove(0);
            idle.push(connection);
            drop(idle);
            drop(oldest);
        } else {
            idle.push(connection);
        }
    }

    /// Opens a connection through the connector chain (TCP, CONNECT proxy, TLS), as
    /// ureq's agent would.
    fn connect(&self, pid: u32, deadline: Instant, connect_timeout: Duration) -> Result<Connection, ureq::Error> {
        let limit = |reason| remaining(deadline, Some(connect_timeout), reason);
        let proxied = self.config.proxy().is_some_and(|p| !p.is_no_proxy(&self.uri) && !p.resolve_target());
        // Through a proxy, the proxy resolves the target.
        let addrs = if proxied {
            self.resolver.empty()
        } else {
            self.resolver.resolve(&self.uri, &self.config, limit(Timeout::Resolve))?
        };
        let connector = Arc::clone(&self.connector);
        let details = ConnectionDetails {
            uri: &self.uri,
            addrs,
            config: &self.config,
            request_level: false,
            resolver: &self.resolver,
            now: At::now(),
            timeout: limit(Timeout::Connect),
            current_time: Arc::new(At::now),
            run_connector: Arc::new(move |details| {
                connector.connect(details, None)?.ok_or(ureq::Error::ConnectionFailed)
            }),
            register_shutdown: Arc::new(|_| Ok(())),
        };
        let transport = self.connector.connect(&details, None)?.ok_or(ureq::Error::ConnectionFailed)?;
        if details.needs_tls() && !transport.is_tls() {
            return Err(ureq::Error::TlsRequired);
        }
        Ok(Connection { transport, pid, idle_since: Instant::now() })
    }
}

/// The connector chain: an HTTP CONNECT proxy when one is configured, else TCP
/// ([`crate::tcp`]); then TLS for `https` (rustls). ureq's default chain differs only by
/// SOCKS (refused when the client is made) and its own TCP connector.
type Chain = dyn Connector<(), Out = Box<dyn Transport>>;

fn chain() -> impl Connector<(), Out = Box<dyn Transport>> {
    ().chain(ConnectProxyConnector::default())
        .chain(crate::tcp::TcpConnector)
        .chain(RustlsConnector::default())
        .chain(Boxed)
}

/// The end of the chain: erases the transport's type.
#[derive(Debug)]
struct Boxed;

impl<In: Transport> Connector<In> for Boxed {
    type Out = Box<dyn Transport>;

    fn connect(&self, _: &ConnectionDetails, chained: Option<In>) -> Result<Option<Self::Out>, ureq::Error> {
        Ok(chained.map(|transport| Box::new(transport) as Box<dyn Transport>))
    }
}

/// The time left until `deadline` (at most `cap`), for a step that fails with `reason`.
fn remaining(deadline: Instant, cap: Option<Duration>, reason: Timeout) -> NextTimeout {
    let mut left = deadline.saturating_duration_since(Instant::now());
    if let Some(cap) = cap {
        left = left.min(cap);
    }
    if left > Duration::from_secs(1) {
        left = TIMEOUT_STEP * (left.as_millis() / TIMEOUT_STEP.as_millis()) as u32;
    }
    NextTimeout { after: Remaining::Exact(left), reason, per_read: None, per_write: None }
}

/// Writes head and body through the transport's output buffer: one write when they fit.
fn send(
    transport: &mut dyn Transport,
    head: &[u8],
    body: &[u8],
    deadline: Instant,
    written: &mut bool,
) -> Result<(), ureq::Error> {
    let mut filled = 0;
    for mut part in [head, body] {
        while !part.is_empty() {
            let output = transport.buffers().output();
            let n = (output.len() - filled).min(part.len());
            output[filled..filled + n].copy_from_slice(&part[..n]);
            filled += n;
            part = &part[n..];
            if filled == output.len() {
                transport.transmit_output(filled, remaining(deadline, None, Timeout::Global))?;
                *written = true;
                filled = 0;
            }
        }
    }
    if filled > 0 {
        transport.transmit_output(filled, remaining(deadline, None, Timeout::Global))?;
        *written = true;
    }
    Ok(())
}

fn invalid(why: impl Into<String>) -> ureq::Error {
    ureq::Error::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, why.into()))
}

fn closed(while_: &str) -> ureq::Error {
    ureq::Error::Io(std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        format!("the server closed the connection {while_}"),
    ))
}

/// Reads more input; false when the server closed the connection.
fn fill(transport: &mut dyn Transport, deadline: Instant) -> Result<bool, ureq::Error> {
    transport.await_input(remaining(deadline, None, Timeout::Global))
}

/// Reads more input, which must come: the server closing the connection is an error
/// ("closed `while_`").
fn fill_or_closed(transport: &mut dyn Transport, deadline: Instant, while_: &str) -> Result<(), ureq::Error> {
    if fill(transport, deadline)? {
        Ok(())
    } else {
        Err(closed(while_))
    }
}

/// Reads the answer: its head, then its body. Also says whether the connection may be
/// used again.
fn read_response(
    transport: &mut dyn Transport,
    deadline: Instant,
    limit: u64,
) -> Result<(Response, bool), ureq::Error> {
    let head = read_head(transport, deadline)?;
    let body = match head.framing {
        Framing::Empty => Vec::new(),
        Framing::Length(length) => read_length(transport, deadline, length, limit)?,
        Framing::Chunked => read_chunked(transport, deadline, limit)?,
        Framing::UntilClose => read_until_close(transport, deadline, limit)?,
    };
    // Bytes beyond the answer mean the server does not speak plain request/response.
    let reusable = head.keep_alive && head.framing != Framing::UntilClose && transport.buffers().input().is_empty();
    Ok((Response { status: head.status, date: head.date, body }, reusable))
}

/// Reads and parses the head of the final answer (skipping 1xx interim answers).
fn read_head(transport: &mut dyn Transport, deadline: Instant) -> Result<Head, ureq::Error> {
    loop {
        let input = transport.buffers().input();
        if !input.is_empty() {
            if let Some((used, head)) = parse_head(input)? {
                transport.buffers().input_consume(used);
                if (100..200).contains(&head.status) {
                    continue;
                }
                return Ok(head);
            }
            if input.len() >= MAX_HEAD_BYTES {
                return Err(invalid(format!("the response head is larger than {MAX_HEAD_BYTES} bytes")));
            }
        }
        fill_or_closed(transport, deadline, "before it answered")?;
    }
}

/// Parses a whole response head at the start of `input`: its length and what it says;
/// None when the head is not complete yet.
fn parse_head(input: &[u8]) -> Result<Option<(usize, Head)>, ureq::Error> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let used = match response.parse(input) {
        Ok(httparse::Status::Complete(used)) => used,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(invalid(format!("the response is not HTTP/1.1: {e}"))),
    };
    let status = response.code.unwrap_or(0);
    if status < 100 {
        return Err(invalid(format!("the response's status {status:03} is not an HTTP status")));
    }
    let mut date = None;
    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut other_coding = false;
    let mut close = response.version != Some(1);
    for header in response.headers.iter() {
        let name = header.name;
        if name.eq_ignore_ascii_case("content-length") {
            let value = std::str::from_utf8(header.value).ok().and_then(|v| v.trim().parse::<u64>().ok());
            match (value, length) {
                (None, _) => return Err(invalid("the response has an invalid Content-Length")),
                (Some(v), Some(l)) if v != l => return Err(invalid("the response has conflicting Content-Lengths")),
                (v, _) => length = v,
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // The last coding decides; anything but chunked is read until close.
            let value = String::from_utf8_lossy(header.value);
            let last = value.rsplit(',').next().unwrap_or("").trim();
            chunked = last.eq_ignore_ascii_case("chunked");
            other_coding = !chunked;
        } else if name.eq_ignore_ascii_case("connection") {
            let value = String::from_utf8_lossy(header.value);
            if value.split(',').any(|token| token.trim().eq_ignore_ascii_case("close")) {
                close = true;
            }
        } else if name.eq_ignore_ascii_case("date") {
            date = std::str::from_utf8(header.value).ok().map(str::to_owned);
        }
    }
    let framing = if (100..200).contains(&status) || status == 204 || status == 304 {
        Framing::Empty
    } else if chunked {
        Framing::Chunked
    } else if other_coding {
        Framing::UntilClose
    } else if let Some(length) = length {
        Framing::Length(length)
    } else {
        Framing::UntilClose
    };
    // A length beside a transfer coding: the message is suspect, the connection too.
    if (chunked || other_coding) && length.is_some() {
        close = true;
    }
    Ok(Some((used, Head { status, date, framing, keep_alive: !close })))
}

fn too_large(limit: u64) -> ureq::Error {
    ureq::Error::BodyExceedsLimit(limit)
}

/// Moves up to `wanted` input bytes into `body`; how many were moved.
fn take(transport: &mut dyn Transport, body: &mut Vec<u8>, wanted: u64) -> usize {
    let buffers = transport.buffers();
    let input = buffers.input();
    let n = input.len().min(usize::try_from(wanted).unwrap_or(usize::MAX));
    body.extend_from_slice(&input[..n]);
    buffers.input_consume(n);
    n
}

fn read_length(
    transport: &mut dyn Transport,
    deadline: Instant,
    length: u64,
    limit: u64,
) -> Result<Vec<u8>, ureq::Error> {
    if length > limit {
        return Err(too_large(limit));
    }
    let mut body = Vec::with_capacity(length as usize);
    let mut left = length;
    loop {
        left -= take(transport, &mut body, left) as u64;
        if left == 0 {
            return Ok(body);
        }
        if !fill(transport, deadline)? {
            return Err(closed(&format!("after {} of the {length} bytes it announced", length - left)));
        }
    }
}

fn read_until_close(transport: &mut dyn Transport, deadline: Instant, limit: u64) -> Result<Vec<u8>, ureq::Error> {
    let mut body = Vec::new();
    loop {
        take(transport, &mut body, u64::MAX);
        if body.len() as u64 > limit {
            return Err(too_large(limit));
        }
        if !fill(transport, deadline)? {
            return Ok(body);
        }
    }
}

/// Where a chunked body was cut, for [`closed`].
const CHUNKED: &str = "in the middle of a chunked body";

fn read_chunked(transport: &mut dyn Transport, deadline: Instant, limit: u64) -> Result<Vec<u8>, ureq::Error> {
    let mut body = Vec::new();
    loop {
        // The chunk-size line.
        let size = loop {
            let input = transport.buffers().input();
            match httparse::parse_chunk_size(input) {
                Ok(httparse::Status::Complete((used, size))) => {
                    transport.buffers().input_consume(used);
                    break size;
                }
                Ok(httparse::Status::Partial) if input.len() < 1024 => {}
                _ => return Err(invalid("the response's chunked body is malformed")),
            }
            fill_or_closed(transport, deadline, CHUNKED)?;
        };
        if size == 0 {
            skip_trailers(transport, deadline)?;
            return Ok(body);
        }
        if body.len() as u64 + size > limit {
            return Err(too_large(limit));
        }
        let mut left = size;
        while left > 0 {
            left -= take(transport, &mut body, left) as u64;
            if left > 0 {
                fill_or_closed(transport, deadline, CHUNKED)?;
            }
        }
        expect_crlf(transport, deadline)?;
    }
}

/// Consumes the CRLF that ends a chunk's data.
fn expect_crlf(transport: &mut dyn Transport, deadline: Instant) -> Result<(), ureq::Error> {
    while transport.buffers().input().len() < 2 {
        fill_or_closed(transport, deadline, CHUNKED)?;
    }
    if &transport.buffers().input()[..2] != b"\r\n" {
        return Err(invalid("the response's chunked body is malformed"));
    }
    transport.buffers().input_consume(2);
    Ok(())
}

/// Consumes the trailer lines after the last chunk, up to the empty line.
fn skip_trailers(transport: &mut dyn Transport, deadline: Instant) -> Result<(), ureq::Error> {
    let mut seen = 0usize;
    loop {
        let input = transport.buffers().input();
        if let Some(end) = input.windows(2).position(|w| w == b"\r\n") {
            transport.buffers().input_consume(end + 2);
            if end == 0 {
                return Ok(());
            }
            seen += end + 2;
            if seen > MAX_HEAD_BYTES {
                return Err(invalid("the response's trailers are too large"));
            }
            continue;
        }
        if input.len() > MAX_HEAD_BYTES {
            return Err(invalid("the response's trailers are too large"));
        }
        fill_or_closed(transport, deadline, CHUNKED)?;
    }
}

/// Reads one answer from `answer`, delivered `step` bytes at a time (at least 1), as
/// [`Http::exchange`] reads it from a connection: the status, the body and whether the
/// connection could be reused, or the error's text. For the fuzzer
/// (fuzz/fuzz_targets/http_parse.rs); not part of the stable interface.
pub fn read_answer_from(answer: &[u8], step: usize, limit: u64) -> Result<(u16, Vec<u8>, bool), String> {
    let mut transport = scripted(answer, step.max(1), MAX_HEAD_BYTES);
    let deadline = Instant::now() + Duration::from_secs(60);
    read_response(&mut transport, deadline, limit)
        .map(|(response, reusable)| (response.status, response.body, reusable))
        .map_err(|e| e.to_string())
}

/// A transport that answers from a script, `step` bytes per read, and records what
/// was written (for the fuzzer and the tests).
#[derive(Debug)]
struct Scripted {
    buffers: LazyBuffers,
    answer: Vec<u8>,
    at: usize,
    step: usize,
    sent: Vec<u8>,
    writes: usize,
}

/// `input` is the size of the input buffer (a connection's is [`MAX_HEAD_BYTES`]).
fn scripted(answer: &[u8], step: usize, input: usize) -> Scripted {
    Scripted { buffers: LazyBuffers::new(input, 64), answer: answer.to_vec(), at: 0, step, sent: Vec::new(), writes: 0 }
}

impl Transport for Scripted {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }
    fn transmit_output(&mut self, amount: usize, _: NextTimeout) -> Result<(), ureq::Error> {
        self.sent.extend_from_slice(&self.buffers.output()[..amount]);
        self.writes += 1;
        Ok(())
    }
    fn await_input(&mut self, _: NextTimeout) -> Result<bool, ureq::Error> {
        let free = self.buffers.input_append_buf();
        let n = free.len().min(self.step).min(self.answer.len() - self.at);
        free[..n].copy_from_slice(&self.answer[self.at..self.at + n]);
        self.buffers.input_appended(n);
        self.at += n;
        Ok(n > 0)
    }
    fn is_open(&mut self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    /// Reads one answer from `answer` delivered `step` bytes at a time.
    fn read(answer: &[u8], step: usize, limit: u64) -> Result<(Response, bool), ureq::Error> {
        read_response(&mut scripted(answer, step, 256), soon(), limit)
    }

    #[test]
    fn long_time_limits_are_rounded_down_short_ones_kept() {
        let after = |t: NextTimeout| match t.after {
            Remaining::Exact(d) => d,
            Remaining::NotHappening => panic!("not exact"),
        };
        let now = Instant::now();
        let long = after(remaining(now + Duration::from_millis(14_987), None, Timeout::Global));
        assert!(long <= Duration::from_millis(14_900) && long >= Duration::from_millis(14_800), "{long:?}");
        assert_eq!(long.as_millis() % 100, 0);
        let short = after(remaining(now + Duration::from_millis(900), None, Timeout::Global));
        assert!(short <= Duration::from_millis(900) && short > Duration::from_millis(800), "{short:?}");
        let capped = remaining(now + Duration::from_secs(10), Some(Duration::from_millis(500)), Timeout::Connect);
        assert!(after(capped) <= Duration::from_millis(500));
        assert_eq!(capped.reason, Timeout::Connect);
        assert!(after(remaining(now - Duration::from_secs(1), None, Timeout::Global)).is_zero());
    }

    #[test]
    fn head_and_body_leave_in_one_write_when_they_fit() {
        let mut transport = scripted(b"", 1, 256);
        let mut written = false;
        send(&mut transport, b"POST / HTTP/1.1\r\n\r\n", b"{}", soon(), &mut written).unwrap();
        assert!(written);
        assert_eq!(transport.writes, 1);
        assert_eq!(transport.sent, b"POST / HTTP/1.1\r\n\r\n{}");
        // Larger than the 64-byte output buffer: several writes, every byte in order.
        let mut transport = scripted(b"", 1, 256);
        let body: Vec<u8> = (0..200u8).collect();
        send(&mut transport, b"HEAD\r\n\r\n", &body, soon(), &mut written).unwrap();
        assert_eq!(transport.writes, 4);
        assert_eq!(&transport.sent[..8], b"HEAD\r\n\r\n");
        assert_eq!(&transport.sent[8..], &body[..]);
    }

    #[test]
    fn content_length_answers_are_read_whole_byte_by_byte_and_keep_the_connection() {
        let answer = b"HTTP/1.1 200 OK\r\nDate: Tue, 01 Dec 2026 02:00:00 GMT\r\nContent-Length: 5\r\n\r\nhello";
        for step in [1, 7, 1000] {
            let (response, reusable) = read(answer, step, 100).unwrap();
            assert_eq!(response.status, 200);
            assert_eq!(response.body, b"hello");
            assert_eq!(response.date.as_deref(), Some("Tue, 01 Dec 2026 02:00:00 GMT"));
            assert!(reusable, "step {step}");
        }
    }

    #[test]
    fn chunked_answers_are_decoded_with_extensions_and_trailers() {
        let answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n";
        for step in [1, 3, 1000] {
            let (response, reusable) = read(answer, step, 100).unwrap();
            assert_eq!(response.body, b"hello world", "step {step}");
            assert!(reusable);
        }
        let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n";
        assert!(matches!(read(bad, 1000, 100), Err(ureq::Error::Io(e)) if e.kind() == std::io::ErrorKind::InvalidData));
        let no_crlf = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n";
        assert!(read(no_crlf, 1000, 100).is_err());
    }

    #[test]
    fn bodies_over_the_limit_are_refused_without_reading_them() {
        let announced = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n";
        assert!(matches!(read(announced, 1000, 1000), Err(ureq::Error::BodyExceedsLimit(1000))));
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n";
        assert!(matches!(read(chunked, 1000, 1000), Err(ureq::Error::BodyExceedsLimit(1000))));
        let mut until_close = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
        until_close.extend(std::iter::repeat_n(b'x', 1500));
        assert!(matches!(read(&until_close, 100, 1000), Err(ureq::Error::BodyExceedsLimit(1000))));
    }

    #[test]
    fn which_connections_are_kept() {
        let keep = |answer: &[u8]| read(answer, 1000, 100).unwrap().1;
        assert!(keep(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
        assert!(!keep(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"));
        assert!(!keep(b"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n"));
        assert!(!keep(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"), "HTTP/1.0");
        assert!(!keep(b"HTTP/1.1 200 OK\r\n\r\nuntil close"), "no length");
        assert!(!keep(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA"), "bytes beyond the answer");
        assert!(!keep(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\nok\r\n0\r\n\r\n"
        ));
        let (response, _) = read(b"HTTP/1.1 200 OK\r\n\r\nuntil close", 4, 100).unwrap();
        assert_eq!(response.body, b"until close");
    }

    #[test]
    fn interim_answers_are_skipped_and_empty_statuses_have_no_body() {
        let answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
        let (response, reusable) = read(answer, 5, 100).unwrap();
        assert_eq!(response.status, 204);
        assert!(response.body.is_empty() && reusable);
    }

    #[test]
    fn malformed_and_cut_answers_are_errors() {
        let kind = |answer: &[u8]| match read(answer, 1000, 100) {
            Err(ureq::Error::Io(e)) => e.kind(),
            other => panic!("{other:?}"),
        };
        use std::io::ErrorKind::{InvalidData, UnexpectedEof};
        assert_eq!(kind(b"garbage garbage\r\n\r\n"), InvalidData);
        assert_eq!(kind(b"HTTP/1.1 020 OK\r\nContent-Length: 0\r\n\r\n"), InvalidData);
        assert_eq!(kind(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"), InvalidData);
        assert_eq!(kind(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"), InvalidData);
        assert_eq!(kind(b""), UnexpectedEof);
        assert_eq!(kind(b"HTTP/1.1 200 OK\r\nContent-Le"), UnexpectedEof);
        assert_eq!(kind(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"), UnexpectedEof);
        assert_eq!(kind(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhe"), UnexpectedEof);
        // A head that never ends is refused at the limit, not read forever.
        let mut endless = b"HTTP/1.1 200 OK\r\n".to_vec();
        while endless.len() <= MAX_HEAD_BYTES {
            endless.extend_from_slice(b"X-Filler: ");
            endless.extend(std::iter::repeat_n(b'a', 2000));
            endless.extend_from_slice(b"\r\n");
        }
        for input in [MAX_HEAD_BYTES, MAX_HEAD_BYTES * 2] {
            let mut transport = scripted(&endless, 4096, input);
            let refused = read_head(&mut transport, soon()).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(refused.contains("larger than"), "{refused}");
        }
    }

    #[test]
    fn connections_from_another_process_are_never_reused() {
        let http =
            Http::new("http://127.0.0.1:9/", ureq::config::Config::default(), CachingResolver::default()).unwrap();
        let own = std::process::id();
        let pooled = |pid| Connection { transport: Box::new(scripted(b"", 1, 256)), pid, idle_since: Instant::now() };
        http.checkin(pooled(own));
        // Taken: opened by this process, fresh and open.
        let taken = http.checkout(soon(), Duration::from_millis(50)).unwrap();
        assert_eq!(taken.pid, own);
        // As the child sees a connection its parent opened before fork(): dropped, and
        // a new one is opened (to a closed port here, so the attempt fails).
        http.checkin(pooled(own ^ 1));
        assert!(http.checkout(soon(), Duration::from_millis(200)).is_err());
        assert!(http.pool().is_empty());
    }
}
