//! HTTP/1.1 exchanges over ureq's transports, without ureq's per-request machinery.
//!
//! ureq stays the connection layer: its connector chain opens the TCP connection, wraps
//! it in TLS (rustls, with the configured roots) and tunnels it through an HTTP CONNECT
//! proxy, and the name resolver is ureq's hook (see [`super::dns`]). What ureq does per
//! request on top of a connection (an `http::Request` with a `HeaderMap`, header
//! validation, a protocol state machine, layered body readers with a charset decoder)
//! cost about 50,000 instructions per call, more than everything else a call does
//! outside SHA-256 (bench/README.md). A call needs much less: this module writes the
//! request head (its request line and framing headers, then the caller's own headers,
//! see [`Request`]) and its body straight into the connection's output buffer, one
//! write when they fit; parses the answer's head with `httparse` (the parser ureq itself
//! uses), and reads a `Content-Length`, chunked or until-close body up to a limit.
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
//! A client that is freed leaves its idle connections to the process's later clients (at
//! most [`MAX_HANDED_OVER`] per endpoint and [`MAX_HANDED_OVER_IN_ALL`] in all, the most
//! recently used kept): a client that has no rested connection of its own takes one of
//! those before it opens one, if it would have made that connection the same way: the
//! same scheme, host and port, the same trusted roots (the same shared rustls
//! configuration), the same buffers, no proxy and the system's resolver (a
//! [`super::NameResolver`] hook, which tests use to stand in for DNS, keeps its
//! connections to its own client). HTTP/1.1 carries no credentials on a connection: each
//! request is signed on its own. A program that makes a client per request (a CGI-style
//! handler) then pays for a connection and its TLS handshake once, not per client. The
//! same checks apply as to a client's own pool, rest included; a handed-over connection
//! idle for [`MAX_IDLE`] is closed when a client is next freed or comes for it; those
//! left at exit close with the process.
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

use super::dns::CachingResolver;
use super::wire::{Pumped, Wire};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use ureq::unversioned::resolver::Resolver;
use ureq::unversioned::transport::time::{Duration as Remaining, Instant as At};
use ureq::unversioned::transport::{
    Buffers, ConnectProxyConnector, ConnectionDetails, Connector, LazyBuffers, NextTimeout, Transport,
};
use ureq::Timeout;
use zeroize::Zeroize;

/// Remaining times above one second are rounded down to a multiple of this.
pub const TIMEOUT_STEP: Duration = Duration::from_millis(100);
/// How long an idle connection is kept.
pub const MAX_IDLE: Duration = Duration::from_secs(15);
/// The most idle connections a client keeps. Each rests at least [`MIN_SETTLE`] after
/// its answer, so a client making n calls per second keeps about n x 1 ms of them
/// resting: at 64 a client was held near 55,000 calls/s on loopback, where every call
/// beyond found all 64 resting and opened a connection (3-5 % of calls; bench/README.md,
/// "The pool's size"). Each holds up to 128 KiB of buffers (162 KiB over TLS: 34 more between the socket
/// and TLS).
pub const MAX_IDLE_CONNECTIONS: usize = 128;
/// The most connections [`Http::connect_ahead`] opens.
pub const MAX_CONNECT_AHEAD: usize = 64;
/// The largest response head accepted.
pub const MAX_HEAD_BYTES: usize = 64 << 10;
/// The least a connection rests between exchanges (see [`Connection::settle`]).
pub const MIN_SETTLE: Duration = Duration::from_millis(1);
/// The most a connection rests between exchanges (see [`Connection::settle`]).
pub const MAX_SETTLE: Duration = Duration::from_millis(500);
/// The most idle connections freed clients leave to the process's later clients, per
/// endpoint ...
pub const MAX_HANDED_OVER: usize = 8;
/// ... and in all.
pub const MAX_HANDED_OVER_IN_ALL: usize = 32;
/// The most header lines a response head may have: proxies and CDNs add many. Memory
/// stays bounded by [`MAX_HEAD_BYTES`]; this array of borrowed slices lives on the stack.
pub const MAX_HEADERS: usize = 256;

/// The method of a [`Request`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// One request as its sender describes it. The transport writes it as
///
/// ```text
/// METHOD PATH HTTP/1.1
/// Host: <the endpoint's authority>
/// Content-Type: <content_type>          (when given)
/// Content-Length: <body's length>       (POST)
/// <headers, in order; those without a value left out>
/// User-Agent: <the transport's user agent>
///
/// <body>
/// ```
///
/// so a signature over the host signs [`super::Transport::host`]. No `Debug`: the
/// headers may hold a token.
#[derive(Clone, Copy)]
pub struct Request<'a> {
    pub method: Method,
    /// The path and query, starting with `/`.
    pub path: &'a str,
    /// The media type of `body`.
    pub content_type: Option<&'a str>,
    /// The sender's own header lines, written after the framing ones; a `None` value
    /// leaves its line out.
    pub headers: &'a [(&'a str, Option<&'a str>)],
    pub body: &'a [u8],
}

/// The answer to one request.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// The `Date` header, when there is one (read to correct clock skew).
    pub date: Option<String>,
    pub body: Vec<u8>,
    /// The connection, when the exchange was clean enough to carry another request:
    /// give it back with [`Http::reuse`] once the answer is known to fit its request;
    /// dropping it closes the connection.
    pub reuse: Option<Reusable>,
}

/// A connection that may go back to the pool (see [`Http::reuse`]).
pub struct Reusable(Connection);

impl std::fmt::Debug for Reusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Reusable")
    }
}

/// A failed exchange: the error and whether any of the request was written.
#[derive(Debug)]
pub struct Failed {
    pub error: ureq::Error,
    pub written: bool,
}

/// What a connection was made with that decides whether another client may use it.
#[derive(Clone)]
struct ShareKey {
    /// Scheme, host and port.
    uri: String,
    /// The trusted roots: the rustls configuration shared by the clients that trust the
    /// same roots (held, so that its address is never another configuration's).
    tls: Arc<rustls::ClientConfig>,
    output_buffer: usize,
}

impl ShareKey {
    fn same(&self, other: &ShareKey) -> bool {
        self.uri == other.uri && Arc::ptr_eq(&self.tls, &other.tls) && self.output_buffer == other.output_buffer
    }
}

/// Idle connections of freed clients, for the process's later clients; the most
/// recently handed over last. Taken with [`super::lock_soon`]: in a child forked while
/// another thread held it, clients go on without it.
static HANDED_OVER: Mutex<Vec<(ShareKey, Connection)>> = Mutex::new(Vec::new());

/// Connections to one endpoint, made through ureq's connector chain.
pub struct Http {
    /// `Host` of every request: the endpoint's authority.
    host: String,
    /// `User-Agent` of every request.
    user_agent: String,
    connector: Arc<Chain>,
    resolver: CachingResolver,
    /// Proxy, TLS roots, `TCP_NODELAY` and buffer sizes, as the connectors read them.
    config: ureq::config::Config,
    uri: ureq::http::Uri,
    idle: Mutex<Vec<Connection>>,
    /// Set when this client's connections may serve other clients of the process (no
    /// proxy, the system's resolver): see the module's notes.
    share: Option<ShareKey>,
}

/// Leaves the idle connections to the process's later clients (see the module's notes).
impl Drop for Http {
    fn drop(&mut self) {
        let Some(key) = self.share.take() else { return };
        let pid = crate::process::id();
        // No lock: `&mut self` is the only access (a lock another thread held when the
        // process forked would never come free in the child).
        let idle = std::mem::take(self.idle.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner()));
        let mut left: Vec<Connection> = idle.into_iter().filter(|c| c.fresh(pid)).collect();
        if left.is_empty() {
            return;
        }
        for connection in &mut left {
            // The last request head (its signature, a token) leaves with its client.
            connection.transport.buffers().output().zeroize();
        }
        let Some(mut list) = super::lock_soon(&HANDED_OVER) else { return };
        let mut closed: Vec<(ShareKey, Connection)> = Vec::new();
        let mut i = 0;
        while i < list.len() {
            if !list[i].1.fresh(pid) {
                closed.push(list.remove(i));
            } else {
                i += 1;
            }
        }
        list.extend(left.into_iter().map(|connection| (key.clone(), connection)));
        // The oldest go first: beyond MAX_HANDED_OVER for this endpoint, then beyond
        // MAX_HANDED_OVER_IN_ALL.
        let mut excess = list.iter().filter(|(k, _)| k.same(&key)).count().saturating_sub(MAX_HANDED_OVER);
        let mut i = 0;
        while excess > 0 {
            if list[i].0.same(&key) {
                closed.push(list.remove(i));
                excess -= 1;
            } else {
                i += 1;
            }
        }
        let excess = list.len().saturating_sub(MAX_HANDED_OVER_IN_ALL);
        closed.extend(list.drain(..excess));
        drop(list);
        // Closed outside the lock.
        drop(closed);
    }
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http").field("uri", &self.uri).finish_non_exhaustive()
    }
}

/// One connection and what the pool needs to know about it.
struct Connection {
    transport: Box<dyn Wire>,
    /// The process that opened it.
    pid: u32,
    idle_since: Instant,
    /// Twice the time its last exchange took, from the first byte written to the last
    /// byte read, or half the previous value if that is more (a slow exchange counts
    /// for a while, halving with each later one), from [`MIN_SETTLE`] to
    /// [`MAX_SETTLE`]: it rests at least this long before it carries another request.
    settle: Duration,
    /// `idle_since + settle`, set when it is pooled: a lease compares it with the time
    /// for every resting connection it passes (at n calls per second, about n x 1 ms of
    /// them).
    rested_at: Instant,
}

impl Connection {
    /// Opened by process `pid` and idle for less than [`MAX_IDLE`].
    fn fresh(&self, pid: u32) -> bool {
        self.pid == pid && self.idle_since.elapsed() < MAX_IDLE
    }

    /// Its rest after the last exchange is over at `now`.
    fn rested(&self, now: Instant) -> bool {
        now >= self.rested_at
    }
}

impl Drop for Connection {
    /// Zeroes the buffers before the connection's memory is freed: the output buffer held
    /// request heads (with their `X-TC-Token`), the input buffer answers (the temporary
    /// keys of a CVM role or STS, in plain text there over TLS too).
    fn drop(&mut self) {
        let buffers = self.transport.buffers();
        buffers.output().zeroize();
        // Consumed to the end, the input buffer then offers all of itself to append to.
        let unread = buffers.input().len();
        buffers.input_consume(unread);
        buffers.input_append_buf().zeroize();
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
    /// `url`: `http://authority/` or `https://authority/`, whose `authority` (`host` or
    /// `host:port`) every request names in `Host`; `user_agent`: every request's
    /// `User-Agent`; `config` as the connectors read it (proxy, TLS, `no_delay`, buffer
    /// sizes).
    pub fn new(
        url: &str,
        authority: &str,
        user_agent: &str,
        config: ureq::config::Config,
        resolver: CachingResolver,
        tls: super::tls::TlsConnector,
    ) -> Result<Http, ureq::Error> {
        let uri: ureq::http::Uri =
            url.parse().map_err(|e: ureq::http::uri::InvalidUri| ureq::Error::BadUri(e.to_string()))?;
        let share = (config.proxy().is_none() && resolver.is_system()).then(|| ShareKey {
            uri: uri.to_string(),
            tls: Arc::clone(tls.config()),
            output_buffer: config.output_buffer_size(),
        });
        Ok(Http {
            host: authority.to_owned(),
            user_agent: user_agent.to_owned(),
            connector: Arc::new(chain(tls)),
            resolver,
            config,
            uri,
            idle: Mutex::new(Vec::new()),
            share,
        })
    }

    /// The `Host` of every request.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Forgets every resolved address: the next connection resolves the host afresh
    /// (after a failure to connect, the address may have moved).
    pub fn forget_addresses(&self) {
        self.resolver.forget_all();
    }

    /// Writes `request` (its head and body in one write when they fit) and reads the
    /// answer, whose body may be at most `limit` bytes. Connecting takes at most
    /// `connect_timeout`; everything ends by `deadline`.
    pub fn exchange(
        &self,
        request: &Request<'_>,
        deadline: Instant,
        connect_timeout: Duration,
        limit: u64,
    ) -> Result<Response, Failed> {
        let (mut connection, _) =
            self.checkout(deadline, connect_timeout).map_err(|error| Failed { error, written: false })?;
        let mut written = false;
        let started = Instant::now();
        let result = send(&mut connection.transport, request, &self.host, &self.user_agent, deadline, &mut written)
            .and_then(|()| read_response(&mut connection.transport, deadline, limit));
        answered(connection, started, result).map_err(|error| Failed { error, written })
    }

    /// A pooled connection for an event loop: one that has rested and whose socket the
    /// loop can wait for (never a new one, never through a proxy); None when there is
    /// none (the call then goes the blocking way). Send on it with [`Http::start`].
    pub fn lease(&self) -> Option<Lease> {
        if self.config.proxy().is_some() {
            return None;
        }
        let connection = self.pooled(crate::process::id())?;
        match connection.transport.fd() {
            Some(fd) => Some(Lease { connection, fd }),
            None => {
                self.checkin(connection);
                None
            }
        }
    }

    /// Sends `request` on `lease`; then [`Http::poll`] the answer when the socket is
    /// readable, or [`Http::finish`] it the blocking way.
    pub fn start(&self, lease: Lease, request: &Request<'_>, deadline: Instant, limit: u64) -> Result<Sent, Failed> {
        let Lease { mut connection, fd } = lease;
        let mut written = false;
        let started = Instant::now();
        send(&mut connection.transport, request, &self.host, &self.user_agent, deadline, &mut written)
            .map_err(|error| Failed { error, written })?;
        Ok(Sent { connection: Some(connection), fd, started, deadline, limit, failed: None })
    }

    /// Reads what has arrived for `sent`, without waiting: the answer when it is whole
    /// (`sent` is then spent), else [`Polled::Waiting`] for its socket again or
    /// [`Polled::Blocking`] ([`Http::finish`] it: chunked or larger than the buffer, the
    /// connection closed or failed).
    pub fn poll(&self, sent: &mut Sent) -> Polled {
        let Some(connection) = sent.connection.as_mut() else { return Polled::Blocking };
        match connection.transport.pump() {
            Ok(Pumped::More | Pumped::Nothing) => {}
            Ok(Pumped::Closed) => return Polled::Blocking,
            Err(error) => {
                sent.failed = Some(Box::new(error));
                return Polled::Blocking;
            }
        }
        let buffers = connection.transport.buffers();
        match whole(buffers.input(), sent.limit) {
            Whole::Ready(used, head) => {
                buffers.input_consume(used);
                Polled::Answered(self.read(sent, Some(head)))
            }
            Whole::Refused => Polled::Answered(self.read(sent, None)),
            Whole::NotYet if !buffers.input_append_buf().is_empty() => Polled::Waiting,
            Whole::NotYet | Whole::Unknowable => Polled::Blocking,
        }
    }

    /// Reads the rest of the answer to `sent`, waiting for it until its deadline.
    pub fn finish(&self, mut sent: Sent) -> Result<Response, Failed> {
        self.read(&mut sent, None)
    }

    /// Reads the answer to `sent`, or its body when its `head` was read already.
    fn read(&self, sent: &mut Sent, head: Option<Head>) -> Result<Response, Failed> {
        let spent = || Failed { error: closed("after its answer was read"), written: true };
        let mut connection = sent.connection.take().ok_or_else(spent)?;
        let (deadline, limit) = (sent.deadline, sent.limit);
        let result = match (sent.failed.take(), head) {
            (Some(error), _) => Err(*error),
            (None, Some(head)) => read_body(&mut connection.transport, head, deadline, limit),
            (None, None) => read_response(&mut connection.transport, deadline, limit),
        };
        answered(connection, sent.started, result).map_err(|error| Failed { error, written: true })
    }

    /// Puts a connection back into the pool, after its answer was found to fit its
    /// request (an answer that does not fit may belong to another request: the
    /// connection is then dropped, never reused).
    pub fn reuse(&self, reusable: Reusable) {
        self.checkin(reusable.0);
    }

    /// Opens connections (TCP, proxy tunnel, TLS handshake) until `count` (at most
    /// [`MAX_CONNECT_AHEAD`]) fresh idle connections of this process wait in the pool;
    /// returns how many wait. Nothing is sent on them. Each connection takes at most
    /// `connect_timeout`; everything ends by `deadline`.
    pub fn connect_ahead(
        &self,
        count: usize,
        deadline: Instant,
        connect_timeout: Duration,
    ) -> Result<usize, ureq::Error> {
        let pid = crate::process::id();
        let count = count.min(MAX_CONNECT_AHEAD);
        let mut ready = self.pool().iter().filter(|c| c.fresh(pid)).count().min(count);
        while ready < count {
            if Instant::now() >= deadline {
                return Err(ureq::Error::Timeout(Timeout::Connect));
            }
            self.checkin(self.connect(pid, deadline, connect_timeout)?);
            ready += 1;
        }
        Ok(ready)
    }

    fn pool(&self) -> MutexGuard<'_, Vec<Connection>> {
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The most recently used pooled connection that is still good and has rested (and
    /// true), else such a connection a freed client left (see the module's notes), or a
    /// new one (and false).
    ///
    /// A connection rests, after an answer, at least twice as long as its slowest
    /// exchange took: an answer to an earlier request that is still on its way (a server that
    /// answered twice, so that each answer read since is the one before) has then
    /// arrived, and the check below sees it. Without the rest, a caller faster than
    /// the server keeps reading the previous request's answer for ever.
    fn checkout(&self, deadline: Instant, connect_timeout: Duration) -> Result<(Connection, bool), ureq::Error> {
        let pid = crate::process::id();
        match self.pooled(pid) {
            Some(connection) => Ok((connection, true)),
            None => Ok((self.connect(pid, deadline, connect_timeout)?, false)),
        }
    }

    /// The pooled connection [`Http::checkout`] takes, if there is one: the client's own,
    /// else one a freed client left.
    fn pooled(&self, pid: u32) -> Option<Connection> {
        loop {
            let taken = {
                let mut pool = self.pool();
                // One clock read for the whole scan (it runs under the pool's lock).
                let now = Instant::now();
                let rested = pool.iter().rposition(|c| c.rested(now));
                rested.map(|i| pool.remove(i))
            };
            let Some(mut connection) = taken else { break };
            // Checked outside the lock.
            if usable(&mut connection, pid) {
                return Some(connection);
            }
            // Dropped: closes this process's descriptor only (no shutdown(2)).
        }
        handed_over(self.share.as_ref()?, pid)
    }

    fn checkin(&self, mut connection: Connection) {
        connection.idle_since = Instant::now();
        connection.rested_at = connection.idle_since + connection.settle;
        let mut idle = self.pool();
        if idle.len() >= MAX_IDLE_CONNECTIONS {
            // One of another process or idle too long goes; else the one whose rest ends last (often the one
            // just used): the least recently used has rested and is the next one a call
            // can take.
            let pid = crate::process::id();
            let stale = idle.iter().position(|c| !c.fresh(pid));
            let last =
                stale.unwrap_or_else(|| idle.iter().enumerate().max_by_key(|(_, c)| c.rested_at).map_or(0, |(i, _)| i));
            if stale.is_none() && connection.rested_at >= idle[last].rested_at {
                drop(idle);
                drop(connection);
                return;
            }
            let evicted = idle.remove(last);
            idle.push(connection);
            drop(idle);
            drop(evicted);
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
                let wire = connector.connect(details, None)?.ok_or(ureq::Error::ConnectionFailed)?;
                Ok(Box::new(wire) as Box<dyn Transport>)
            }),
            register_shutdown: Arc::new(|_| Ok(())),
        };
        let transport = self.connector.connect(&details, None)?.ok_or(ureq::Error::ConnectionFailed)?;
        if details.needs_tls() && !transport.is_tls() {
            return Err(ureq::Error::TlsRequired);
        }
        let now = Instant::now();
        Ok(Connection { transport, pid, idle_since: now, settle: Duration::ZERO, rested_at: now })
    }
}

/// The response of an exchange on `connection` that started at `started`, with the
/// connection when it may carry another request. Sets how long the connection rests.
fn answered(
    mut connection: Connection,
    started: Instant,
    result: Result<(Response, bool), ureq::Error>,
) -> Result<Response, ureq::Error> {
    let (mut response, reusable) = result?;
    // Twice this exchange, and a floor for the scheduling jitter of a loaded host, to
    // cover an answer slower than this one; a slower exchange before counts for half as
    // much after each later one. (The slowest exchange of the connection's life made
    // every connection rest ever longer on a loaded host, until the pool was exhausted
    // and each call opened a connection.)
    let settle = (started.elapsed() * 2).max(connection.settle / 2).max(MIN_SETTLE);
    connection.settle = settle.min(MAX_SETTLE);
    if reusable {
        response.reuse = Some(Reusable(connection));
    }
    Ok(response)
}

/// What the input buffer holds of an answer (see [`whole`]).
enum Whole {
    /// All of it: the head (after the interim answers), which ends `used` bytes in, and
    /// its whole body.
    Ready(usize, Head),
    /// A head [`read_response`] refuses at once, without reading on.
    Refused,
    /// Not all of it yet.
    NotYet,
    /// Only reading on can tell where it ends: a chunked body, or one that ends when
    /// the server closes.
    Unknowable,
}

/// What `input` holds of an answer whose body may be at most `limit` bytes: when it is
/// [`Whole::Ready`], the head is not parsed again.
fn whole(input: &[u8], limit: u64) -> Whole {
    let mut at = 0;
    loop {
        let (used, head) = match parse_head(&input[at..]) {
            Err(_) => return Whole::Refused,
            // As read_head sees it once the interim answers are consumed (a buffer
            // full of less than that is NotYet, and goes the blocking way).
            Ok(None) if input.len() - at >= MAX_HEAD_BYTES => return Whole::Refused,
            Ok(None) => return Whole::NotYet,
            Ok(Some(parsed)) => parsed,
        };
        if head.status == 101 {
            return Whole::Refused;
        }
        at += used;
        if (100..200).contains(&head.status) {
            continue;
        }
        return match head.framing {
            Framing::Empty => Whole::Ready(at, head),
            Framing::Length(length) if length > limit => Whole::Refused,
            Framing::Length(length) if (input.len() - at) as u64 >= length => Whole::Ready(at, head),
            Framing::Length(_) => Whole::NotYet,
            Framing::Chunked | Framing::UntilClose => Whole::Unknowable,
        };
    }
}

/// A pooled connection taken for an event loop ([`Http::lease`]); dropping it closes it.
pub struct Lease {
    connection: Connection,
    fd: std::os::fd::RawFd,
}

/// A request [`Http::start`] sent, waiting for its answer.
pub struct Sent {
    /// None once the answer was read.
    connection: Option<Connection>,
    fd: std::os::fd::RawFd,
    started: Instant,
    deadline: Instant,
    limit: u64,
    /// What went wrong while polling, for [`Http::finish`] to report.
    failed: Option<Box<ureq::Error>>,
}

impl Sent {
    /// The connection's socket: readable when more of the answer has arrived.
    pub fn fd(&self) -> std::os::fd::RawFd {
        self.fd
    }
}

/// What [`Http::poll`] found.
pub enum Polled {
    /// The answer, read whole (or the error reading it met).
    Answered(Result<Response, Failed>),
    /// Not all of it has arrived: wait for the socket again.
    Waiting,
    /// Only a blocking read can go on: [`Http::finish`].
    Blocking,
}

/// A connection a freed client left that fits `key`, has rested and is still good (the
/// checks of [`Http::checkout`]), the most recently used first.
fn handed_over(key: &ShareKey, pid: u32) -> Option<Connection> {
    loop {
        let taken = {
            let mut list = super::lock_soon(&HANDED_OVER)?;
            let now = Instant::now();
            let rested = list.iter().rposition(|(k, c)| k.same(key) && c.rested(now))?;
            list.remove(rested).1
        };
        let mut connection = taken;
        if usable(&mut connection, pid) {
            return Some(connection);
        }
    }
}

/// Opened by this process, idle for less than [`MAX_IDLE`], and nothing waiting to be
/// read: `is_open` (syscalls, so called outside any lock) is false when the server
/// closed the connection and also when any byte arrived while it was idle, an answer
/// nobody asked for, which must not be taken for the next one.
fn usable(connection: &mut Connection, pid: u32) -> bool {
    connection.fresh(pid) && connection.transport.buffers().input().is_empty() && connection.transport.is_open()
}

/// The connector chain: an HTTP CONNECT proxy when one is configured, else TCP
/// ([`super::tcp`]); then TLS for `https` ([`super::tls`]). ureq's default chain differs by
/// SOCKS (refused when the client is made) and its own TCP connector.
type Chain = dyn Connector<(), Out = Box<dyn Wire>>;

fn chain(tls: super::tls::TlsConnector) -> impl Connector<(), Out = Box<dyn Wire>> {
    ().chain(ConnectProxyConnector::default()).chain(super::tcp::TcpConnector).chain(tls).chain(Boxed)
}

/// The end of the chain: erases the transport's type.
#[derive(Debug)]
struct Boxed;

impl<In: Wire> Connector<In> for Boxed {
    type Out = Box<dyn Wire>;

    fn connect(&self, _: &ConnectionDetails, chained: Option<In>) -> Result<Option<Self::Out>, ureq::Error> {
        Ok(chained.map(|transport| Box::new(transport) as Box<dyn Wire>))
    }
}

/// The time left until `deadline` (at most `cap`), for a step that fails with `reason`.
fn remaining(deadline: Instant, cap: Option<Duration>, reason: Timeout) -> NextTimeout {
    let mut left = deadline.saturating_duration_since(Instant::now());
    if let Some(cap) = cap {
        left = left.min(cap);
    }
    NextTimeout { after: Remaining::Exact(whole_steps(left)), reason, per_read: None, per_write: None }
}

/// `left`, rounded down to a multiple of [`TIMEOUT_STEP`] when above one second: a socket
/// timeout set from it then repeats from one call to the next and is not set again.
/// Rounding down never makes a wait longer than its limit.
pub(super) fn whole_steps(left: Duration) -> Duration {
    if left > Duration::from_secs(1) {
        TIMEOUT_STEP * (left.as_millis() / TIMEOUT_STEP.as_millis()) as u32
    } else {
        left
    }
}

/// Hands each piece of `request`'s head to `put`, in order, as [`Request`] lays them
/// out (straight-line calls: this runs on every call, twice).
#[inline(always)]
fn each_head_part(request: &Request<'_>, host: &str, user_agent: &str, length: &str, mut put: impl FnMut(&[u8])) {
    put(request.method.as_str().as_bytes());
    put(b" ");
    put(request.path.as_bytes());
    put(b" HTTP/1.1\r\nHost: ");
    put(host.as_bytes());
    put(b"\r\n");
    if let Some(media) = request.content_type {
        put(b"Content-Type: ");
        put(media.as_bytes());
        put(b"\r\n");
    }
    if request.method == Method::Post {
        put(b"Content-Length: ");
        put(length.as_bytes());
        put(b"\r\n");
    }
    for &(name, value) in request.headers {
        if let Some(value) = value {
            put(name.as_bytes());
            put(b": ");
            put(value.as_bytes());
            put(b"\r\n");
        }
    }
    put(b"User-Agent: ");
    put(user_agent.as_bytes());
    put(b"\r\n\r\n");
}

/// Writes `request` through the transport's output buffer, the head straight into it:
/// one write when head and body fit.
fn send(
    transport: &mut dyn Transport,
    request: &Request<'_>,
    host: &str,
    user_agent: &str,
    deadline: Instant,
    written: &mut bool,
) -> Result<(), ureq::Error> {
    debug_assert!(request.method == Method::Post || request.body.is_empty(), "a GET has no body");
    let mut digits = itoa::Buffer::new();
    let length = digits.format(request.body.len());
    let mut size = 0;
    each_head_part(request, host, user_agent, length, |part| size += part.len());
    let output = transport.buffers().output();
    // A head larger than the buffer (only with a tiny buffer or huge headers) is spelled
    // out first, in a buffer sized once and zeroed when dropped (it may hold a token).
    let mut spilled = zeroize::Zeroizing::new(Vec::new());
    let mut filled = 0;
    if size <= output.len() {
        each_head_part(request, host, user_agent, length, |part| {
            output[filled..filled + part.len()].copy_from_slice(part);
            filled += part.len();
        });
    } else {
        spilled.reserve_exact(size);
        each_head_part(request, host, user_agent, length, |part| spilled.extend_from_slice(part));
    }
    let mut output = output;
    for mut part in [&spilled[..], request.body] {
        while !part.is_empty() {
            let n = (output.len() - filled).min(part.len());
            output[filled..filled + n].copy_from_slice(&part[..n]);
            filled += n;
            part = &part[n..];
            if filled == output.len() {
                transport.transmit_output(filled, remaining(deadline, None, Timeout::Global))?;
                *written = true;
                filled = 0;
                output = transport.buffers().output();
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
    read_body(transport, head, deadline, limit)
}

/// Reads the body `head` announces, the head read already; see [`read_response`].
fn read_body(
    transport: &mut dyn Transport,
    head: Head,
    deadline: Instant,
    limit: u64,
) -> Result<(Response, bool), ureq::Error> {
    let body = match head.framing {
        Framing::Empty => Vec::new(),
        Framing::Length(length) => read_length(transport, deadline, length, limit)?,
        Framing::Chunked => read_chunked(transport, deadline, limit)?,
        Framing::UntilClose => read_until_close(transport, deadline, limit)?,
    };
    // Only a clean exchange leaves the connection usable: a 200 (after an error status
    // or a status without a body, a server may well write more), whose framing ended
    // exactly at the last byte received (bytes beyond the answer mean the server does
    // not speak plain request/response).
    let reusable = head.keep_alive
        && head.status == 200
        && matches!(head.framing, Framing::Length(_) | Framing::Chunked)
        && transport.buffers().input().is_empty();
    Ok((Response { status: head.status, date: head.date, body, reuse: None }, reusable))
}

/// Reads and parses the head of the final answer (skipping 1xx interim answers).
fn read_head(transport: &mut dyn Transport, deadline: Instant) -> Result<Head, ureq::Error> {
    loop {
        let input = transport.buffers().input();
        if !input.is_empty() {
            if let Some((used, head)) = parse_head(input)? {
                transport.buffers().input_consume(used);
                // 101 is no interim answer: the connection would now speak another
                // protocol, which this client never asks for.
                if head.status == 101 {
                    return Err(invalid("the server switched protocols (101) without being asked to"));
                }
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
        // An answer, but one this client cannot read (not a broken connection).
        Err(httparse::Error::TooManyHeaders) => {
            return Err(ureq::Error::LargeResponseHeader(MAX_HEADERS + 1, MAX_HEADERS))
        }
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
            // 1*DIGIT (RFC 9110 section 8.6): no sign, no other whitespace than OWS.
            let digits = header.value.trim_ascii_start().trim_ascii_end();
            let value = (!digits.is_empty() && digits.iter().all(u8::is_ascii_digit))
                .then(|| std::str::from_utf8(digits).ok()?.parse::<u64>().ok())
                .flatten();
            match (value, length) {
                (None, _) => return Err(invalid("the response has an invalid Content-Length")),
                (Some(v), Some(l)) if v != l => return Err(invalid("the response has conflicting Content-Lengths")),
                (v, _) => length = v,
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // Codings are ASCII tokens; a value with other bytes is read differently by
            // different readers (one skips the whole line, one only the odd bytes), so
            // the answer is refused rather than framed by a guess.
            let Some(value) = std::str::from_utf8(header.value).ok().filter(|v| v.is_ascii()) else {
                return Err(invalid("the response's Transfer-Encoding is not ASCII"));
            };
            // The last coding decides: chunked, or one this client never asked for (refused below).
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
    } else if let Some(length) = length {
        Framing::Length(length)
    } else {
        Framing::UntilClose
    };
    // An HTTP/1.0 answer with a transfer coding has faulty framing (RFC 9112 section 6.1):
    // readers disagree on where its body ends, so it is refused.
    if response.version == Some(0) && (chunked || other_coding) {
        return Err(invalid("the HTTP/1.0 response has a Transfer-Encoding: its framing is faulty"));
    }
    // A final transfer coding other than chunked: this client never offers one (it sends no
    // TE), and readers disagree on where such a body ends (until close, or at a
    // Content-Length beside it), so it is refused rather than guessed.
    if other_coding && !(100..200).contains(&status) && status != 204 && status != 304 {
        return Err(invalid(
            "the response's Transfer-Encoding does not end in chunked, and no other coding was asked for",
        ));
    }
    // A length beside a transfer coding: the message is suspect, the connection too.
    if chunked && length.is_some() {
        close = true;
    }
    Ok(Some((used, Head { status, date, framing, keep_alive: !close })))
}

fn too_large(limit: u64) -> ureq::Error {
    ureq::Error::BodyExceedsLimit(limit)
}

/// Moves up to `wanted` input bytes into `body`; how many were moved. A body that must
/// grow (chunked or delimited by the close; a `Content-Length` body is sized at once)
/// leaves no copy behind: it may hold temporary keys (`crate::provider`).
fn take(transport: &mut dyn Transport, body: &mut Vec<u8>, wanted: u64) -> usize {
    let buffers = transport.buffers();
    let input = buffers.input();
    let n = input.len().min(usize::try_from(wanted).unwrap_or(usize::MAX));
    crate::wipe::reserve(body, n);
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
    // One byte to spare: a caller that hands the answer on with a terminator (a C
    // string's NUL) then needs no second allocation and copy (callgrind: 150
    // instructions per call).
    let mut body = Vec::with_capacity(length as usize + 1);
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
        // Checked: a size near u64::MAX must not wrap the sum below the limit.
        if (body.len() as u64).checked_add(size).is_none_or(|total| total > limit) {
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

impl Wire for Scripted {
    fn fd(&self) -> Option<std::os::fd::RawFd> {
        None
    }

    fn pump(&mut self) -> Result<Pumped, ureq::Error> {
        Ok(if self.await_input(NextTimeout::default())? { Pumped::More } else { Pumped::Closed })
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
    fn an_answer_is_whole_only_once_its_last_byte_arrived() {
        let limit = 1 << 20;
        let state = |input: &[u8], limit| match whole(input, limit) {
            Whole::Ready(..) => "ready",
            Whole::Refused => "refused",
            Whole::NotYet => "not yet",
            Whole::Unknowable => "unknowable",
        };
        for (answer, status, body) in [
            (&b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"[..], 200, &b"hello"[..]),
            (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, b"ok"),
            (b"HTTP/1.1 204 No Content\r\n\r\n", 204, b""),
        ] {
            for cut in 0..answer.len() {
                assert_eq!(state(&answer[..cut], limit), "not yet", "{cut} bytes of {answer:?}");
            }
            let Whole::Ready(used, head) = whole(answer, limit) else { panic!("{answer:?} is whole") };
            // The body is then read from the buffer alone: the script has nothing more.
            let mut transport = scripted(b"", 1, MAX_HEAD_BYTES);
            let input = transport.buffers.input_append_buf();
            input[..answer.len()].copy_from_slice(answer);
            transport.buffers.input_appended(answer.len());
            transport.buffers.input_consume(used);
            let (response, _) = read_body(&mut transport, head, soon(), limit).unwrap();
            assert_eq!((response.status, &response.body[..]), (status, body));
        }
        // Refused at once, without reading on: too long, or not HTTP.
        assert_eq!(state(b"HTTP/1.1 200 OK\r\nContent-Length: 9999999\r\n\r\n", 100), "refused");
        assert_eq!(state(b"SSH-2.0-OpenSSH\r\n\r\n", limit), "refused");
        assert_eq!(state(b"HTTP/1.1 101 Switching\r\n\r\n", limit), "refused");
        assert_eq!(state(&vec![b'x'; MAX_HEAD_BYTES], limit), "refused");
        // An interim answer, then a final head cut short: read_head would wait for more.
        let mut interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX: ".to_vec();
        interim.resize(MAX_HEAD_BYTES, b'x');
        assert_eq!(state(&interim, limit), "not yet");
        // Only reading on can tell where these end.
        assert_eq!(state(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", limit), "unknowable");
        assert_eq!(state(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall", limit), "unknowable");
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

    /// What `send` writes for `request` through an output buffer of `output` bytes, and
    /// in how many writes.
    fn sent(request: &Request<'_>, output: usize) -> (String, usize) {
        let mut transport = scripted(b"", 1, 256);
        transport.buffers = LazyBuffers::new(256, output);
        let mut written = false;
        send(&mut transport, request, "h:1", "agent/1", soon(), &mut written).unwrap();
        assert!(written);
        (String::from_utf8(transport.sent).unwrap(), transport.writes)
    }

    #[test]
    fn requests_are_laid_out_with_their_framing_headers_in_one_write_when_they_fit() {
        let headers = [("X-One", Some("1")), ("X-Absent", None), ("X-Two", Some("2"))];
        let post = Request {
            method: Method::Post,
            path: "/",
            content_type: Some("application/json"),
            headers: &headers,
            body: b"{\"A\":1}",
        };
        let want = "POST / HTTP/1.1\r\nHost: h:1\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\
                    X-One: 1\r\nX-Two: 2\r\nUser-Agent: agent/1\r\n\r\n{\"A\":1}";
        assert_eq!(sent(&post, 1024), (want.to_owned(), 1));
        let get = Request { method: Method::Get, path: "/a/b", content_type: None, headers: &[], body: b"" };
        let want = "GET /a/b HTTP/1.1\r\nHost: h:1\r\nUser-Agent: agent/1\r\n\r\n".to_owned();
        assert_eq!(sent(&get, 1024), (want, 1));
    }

    #[test]
    fn requests_larger_than_the_output_buffer_leave_in_order_in_several_writes() {
        let body: String = (0..200).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
        let headers = [("X-Long", Some("v".repeat(100)))];
        let headers: Vec<(&str, Option<&str>)> = headers.iter().map(|(n, v)| (*n, v.as_deref())).collect();
        let post =
            Request { method: Method::Post, path: "/", content_type: None, headers: &headers, body: body.as_bytes() };
        let whole = sent(&post, 4096).0;
        assert!(
            whole.ends_with(&format!("\r\n\r\n{body}")) && whole.contains(&format!("X-Long: {}\r\n", "v".repeat(100)))
        );
        // The head fits but not the body; then not even the head.
        for output in [256, 64] {
            let (bytes, writes) = sent(&post, output);
            assert_eq!(bytes, whole, "{output}");
            assert_eq!(writes, whole.len().div_ceil(output), "{output}");
        }
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
        // A size that would wrap the running total past u64::MAX, after a first byte.
        for size in ["ffffffffffffffff", "fffffffffffffffe", "fffffffffffffc19"] {
            let wraps = format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n{size}\r\nyy");
            let result = read(wraps.as_bytes(), 1000, 1000);
            assert!(matches!(result, Err(ureq::Error::BodyExceedsLimit(1000))), "{size}: {result:?}");
        }
        let mut until_close = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
        until_close.extend(std::iter::repeat_n(b'x', 1500));
        assert!(matches!(read(&until_close, 100, 1000), Err(ureq::Error::BodyExceedsLimit(1000))));
    }

    #[test]
    fn which_connections_are_kept() {
        let keep = |answer: &[u8]| read(answer, 1000, 100).unwrap().1;
        assert!(keep(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
        // Only a 200 leaves the connection clean: after an error status, a server may write more.
        assert!(!keep(b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n"));
        assert!(!keep(b"HTTP/1.1 500 Oops\r\nContent-Length: 2\r\n\r\nno"));
        assert!(!keep(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"));
        assert!(!keep(b"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n"));
        assert!(!keep(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"), "HTTP/1.0");
        // HTTP/1.0 with a transfer coding: faulty framing, refused rather than guessed.
        for coding in ["chunked", "gzip", "gzip, chunked"] {
            let answer = format!("HTTP/1.0 200 OK\r\nTransfer-Encoding: {coding}\r\n\r\n2\r\nok\r\n0\r\n\r\n");
            let refused = read(answer.as_bytes(), 1000, 100).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(refused.contains("HTTP/1.0 response has a Transfer-Encoding"), "{coding}: {refused}");
        }
        // A final coding other than chunked, with or without a length beside it: refused
        // (read until close, or at the length, readers would disagree).
        for extra in ["", "Content-Length: 2\r\n"] {
            for coding in ["gzip", "chunked, gzip", "identity", ""] {
                let answer = format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: {coding}\r\n{extra}\r\nokEXTRA");
                let refused = read(answer.as_bytes(), 1000, 100).err().map(|e| e.to_string()).unwrap_or_default();
                assert!(refused.contains("does not end in chunked"), "{coding:?} {extra:?}: {refused}");
            }
        }
        // A coding list with non-ASCII bytes: refused, though its last coding reads "chunked"
        // (ureq-proto skips such a line whole and would read the body until close).
        for value in [&b"\x80, chunked"[..], b"chunked\r\nTransfer-Encoding: \xff"] {
            let mut answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: ".to_vec();
            answer.extend_from_slice(value);
            answer.extend_from_slice(b"\r\n\r\n2\r\nok\r\n0\r\n\r\n");
            let refused = read(&answer, 1000, 100).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(refused.contains("Transfer-Encoding is not ASCII"), "{value:?}: {refused}");
        }
        for length in ["+2", "0x2", "2 2", "\u{a0}2", ""] {
            let answer = format!("HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n\r\nok");
            let refused = read(answer.as_bytes(), 1000, 100).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(refused.contains("invalid Content-Length"), "{length:?}: {refused}");
        }
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
        // After a status without a body, a server may well write one: not reused.
        assert!(response.body.is_empty() && !reusable);
        // 101 Switching Protocols is not skipped like an interim answer.
        let switched =
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        let refused = read(switched, 1000, 100).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(refused.contains("switched protocols"), "{refused}");
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
    fn heads_with_many_header_lines_are_read_and_too_many_are_classified() {
        let head = |lines: usize| {
            let extra: String = (0..lines).map(|i| format!("X-Added-By-Proxy-{i}: {i}\r\n")).collect();
            format!("HTTP/1.1 200 OK\r\n{extra}Content-Length: 2\r\n\r\nok").into_bytes()
        };
        // A proxy or CDN that adds a hundred header lines: still an answer.
        let mut transport = scripted(&head(100), 4096, MAX_HEAD_BYTES);
        let (response, _) = read_response(&mut transport, soon(), 100).unwrap();
        assert_eq!((response.status, &response.body[..]), (200, &b"ok"[..]));
        // More than the allowance: refused as too many header lines, not as a broken connection.
        let mut transport = scripted(&head(MAX_HEADERS + 10), 4096, MAX_HEAD_BYTES);
        let refused = read_response(&mut transport, soon(), 100).err();
        assert!(matches!(refused, Some(ureq::Error::LargeResponseHeader(_, MAX_HEADERS))), "{refused:?}");
    }

    #[test]
    fn connections_from_another_process_are_never_reused() {
        let tls = super::super::tls::TlsConnector::new(None).unwrap();
        let config = ureq::config::Config::default();
        let http =
            Http::new("http://127.0.0.1:9/", "127.0.0.1:9", "t", config, CachingResolver::default(), tls).unwrap();
        let own = std::process::id();
        let pooled = |pid| Connection {
            transport: Box::new(scripted(b"", 1, 256)),
            pid,
            idle_since: Instant::now(),
            settle: Duration::ZERO,
            rested_at: Instant::now(),
        };
        http.checkin(pooled(own));
        // Taken: opened by this process, fresh and open.
        let (taken, reused) = http.checkout(soon(), Duration::from_millis(50)).unwrap();
        assert_eq!(taken.pid, own);
        assert!(reused);
        // As the child sees a connection its parent opened before fork(): dropped, and
        // a new one is opened (to a closed port here, so the attempt fails).
        http.checkin(pooled(own ^ 1));
        assert!(http.checkout(soon(), Duration::from_millis(200)).is_err());
        assert!(http.pool().is_empty());
    }
}
