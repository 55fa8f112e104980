//! The transport: everything between a signed request and the bytes of its answer. DNS
//! ([`dns`], a caching resolver), TCP ([`tcp`]), TLS roots ([`tls`]), HTTP CONNECT proxies
//! ([`proxy`]), the connection pool and the HTTP/1.1 framing ([`http`]).
//!
//! The rest of the library sees only this module's own interface: [`Transport::new`],
//! [`Transport::exchange`] (a [`Request`] in: method, path, content type, the caller's
//! own headers and the body; a [`Response`] or a [`TransportError`] out, which says the
//! stage that failed, whether it timed out and whether any byte of the request was
//! written), [`Transport::host`] and the [`NameResolver`] hook. The request line and the
//! framing headers (`Host`, `Content-Type`, `Content-Length`, `User-Agent`) are written
//! here; a caller adds only its own (the TC3 headers), and signs the `Host` that
//! [`Transport::host`] says will be written. ureq, which
//! provides the connectors, appears nowhere else: a ureq upgrade touches this folder only.

pub(crate) mod dns;
pub(crate) mod http;
pub(crate) mod proxy;
pub(crate) mod tcp;
pub(crate) mod tls;
pub(crate) mod wire;

use crate::error::Error;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

pub use http::{Lease, Method, Request, Response, Reusable, Sent, MAX_HEADERS};

/// What [`Transport::poll`] found.
pub enum Polled {
    /// The answer, read whole, or the error reading it met (the [`Sent`] is spent).
    Answered(Result<Response, TransportError>),
    /// Not all of it has arrived: wait for [`Sent::fd`] again.
    Waiting,
    /// Only a blocking read can go on (a chunked answer, one larger than the buffer, a
    /// closed or failed connection): [`Transport::finish`].
    Blocking,
}

/// How many times a busy lock on state shared by the process's clients is tried before
/// it is given up.
const LOCK_ATTEMPTS: u32 = 1000;

/// `mutex`'s guard, or `None` when it stays busy: a lock that another thread held when
/// the process forked never comes free in the child, so the caller goes on without the
/// shared state. Only for caches, which stay good after a panic (poisoning is ignored).
fn lock_soon<T>(mutex: &std::sync::Mutex<T>) -> Option<std::sync::MutexGuard<'_, T>> {
    for _ in 0..LOCK_ATTEMPTS {
        match mutex.try_lock() {
            Ok(guard) => return Some(guard),
            Err(std::sync::TryLockError::Poisoned(poisoned)) => return Some(poisoned.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => std::thread::yield_now(),
        }
    }
    None
}

/// Resolves host names: the hook through which tests simulate DNS failure without
/// resolving a real name ([`crate::Client::with_name_resolver`]). Answers are cached by
/// the transport and forgotten when connecting fails.
pub trait NameResolver: Send + Sync + std::fmt::Debug + 'static {
    /// The addresses of `host` (a name or an IP literal) at `port`. An error, or no
    /// address, fails the attempt before anything is sent.
    fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>>;
}

/// One resolver shared by several transports (a client's and its credential fetchers').
impl NameResolver for std::sync::Arc<dyn NameResolver> {
    fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        (**self).resolve(host, port)
    }
}

/// Where a failed exchange stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The request cannot be made as configured (a bad address, a TLS setting): it would
    /// fail the same way again.
    Setup,
    /// Resolving the host.
    Resolve,
    /// Connecting, or the connection broke before any byte of the request was written.
    Connect,
    /// The TLS handshake was refused (certificate, alert, not TLS): it would recur.
    Tls,
    /// The HTTP CONNECT proxy refused the tunnel: it would recur.
    Proxy,
    /// Sending the request or reading its answer, after a byte was written.
    Exchange,
    /// The answer's body is larger than the limit.
    TooLarge,
    /// The answer's head has more header lines than are read ([`MAX_HEADERS`]).
    HeadTooLarge,
}

/// A failed exchange, in tcsms's own terms.
#[derive(Debug)]
pub struct TransportError {
    pub stage: Stage,
    /// The step ran out of time.
    pub timed_out: bool,
    /// Some byte of the request reached the transport: the service may have seen it.
    pub written: bool,
    /// What went wrong, for the error message (never holds the request).
    pub detail: String,
}

impl TransportError {
    /// Trying again would fail the same way.
    pub fn recurs(&self) -> bool {
        matches!(self.stage, Stage::Setup | Stage::Tls | Stage::Proxy)
    }
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

/// The connections to one endpoint.
#[derive(Debug)]
pub struct Transport {
    http: http::Http,
}

/// The size of the output buffer: a whole request leaves in one write.
const OUTPUT_BUFFER_BYTES: usize = 64 << 10;
/// The output buffer of a [`Transport::direct`]: its requests are small GETs.
const DIRECT_OUTPUT_BUFFER_BYTES: usize = 4 << 10;

impl Transport {
    /// Connections to `url` (`http://authority/` or `https://authority/`). `proxy` is the
    /// configured proxy URL; without one, the process environment's (ALL_PROXY,
    /// HTTPS_PROXY, HTTP_PROXY, with NO_PROXY; lower case too) is used. `ca_file` adds PEM
    /// roots to the system's. `authority` (`host` or `host:port`, as in `url`) is every
    /// request's `Host`; `user_agent` its `User-Agent`, and that of a proxy's CONNECT.
    pub fn new(
        url: &str,
        authority: &str,
        proxy: Option<&str>,
        ca_file: Option<&Path>,
        user_agent: &str,
        resolver: Option<Box<dyn NameResolver>>,
    ) -> Result<Transport, Error> {
        let proxy = match proxy {
            Some(url) => Some(proxy::parse(url)?),
            None => proxy::from_env()?,
        };
        // TLS roots and sessions are shared with the other clients of the process that
        // trust the same roots (see [`tls`]).
        let tls = tls::TlsConnector::new(ca_file)?;
        // What the connectors read: the proxy, TCP_NODELAY, the buffers (the output buffer
        // holds a whole request, so that it leaves in one write) and the User-Agent of a
        // proxy's CONNECT.
        let config = ureq::config::Config::builder()
            .proxy(proxy)
            .no_delay(true)
            .input_buffer_size(http::MAX_HEAD_BYTES)
            .output_buffer_size(OUTPUT_BUFFER_BYTES)
            .user_agent(user_agent)
            .build();
        Transport::with_config(url, authority, user_agent, config, resolver, tls)
    }

    /// Connections to `url` that never go through a proxy, with the system's TLS roots
    /// and a small output buffer: for a service on the host's own link, such as the CVM
    /// instance metadata service. `authority` and `user_agent` as for [`Transport::new`].
    pub fn direct(
        url: &str,
        authority: &str,
        user_agent: &str,
        resolver: Option<Box<dyn NameResolver>>,
    ) -> Result<Transport, Error> {
        let config = ureq::config::Config::builder()
            .proxy(None)
            .no_delay(true)
            .input_buffer_size(http::MAX_HEAD_BYTES)
            .output_buffer_size(DIRECT_OUTPUT_BUFFER_BYTES)
            .user_agent(user_agent)
            .build();
        let tls = tls::TlsConnector::new(None)?;
        Transport::with_config(url, authority, user_agent, config, resolver, tls)
    }

    fn with_config(
        url: &str,
        authority: &str,
        user_agent: &str,
        config: ureq::config::Config,
        resolver: Option<Box<dyn NameResolver>>,
        tls: tls::TlsConnector,
    ) -> Result<Transport, Error> {
        let resolver = match resolver {
            Some(resolver) => dns::CachingResolver::over(dns::Hook(resolver)),
            None => dns::CachingResolver::default(),
        };
        let http = http::Http::new(url, authority, user_agent, config, resolver, tls)
            .map_err(|e| Error::invalid_config(format!("endpoint {url} cannot be used: {e}")))?;
        Ok(Transport { http })
    }

    /// The `Host` every request carries (the endpoint's authority): the value a
    /// signature over the host must sign.
    pub fn host(&self) -> &str {
        self.http.host()
    }

    /// Writes `request` (see [`Request`] for its layout; head and body in one write when
    /// they fit) and reads the answer, whose body may be at most `limit` bytes.
    /// Connecting takes at most `connect_timeout`; everything ends by `deadline`. After a
    /// failure before anything was written, the resolved addresses are forgotten (the
    /// address may have moved).
    pub fn exchange(
        &self,
        request: &Request<'_>,
        deadline: Instant,
        connect_timeout: Duration,
        limit: u64,
    ) -> Result<Response, TransportError> {
        self.http.exchange(request, deadline, connect_timeout, limit).map_err(|failed| self.failed(failed))
    }

    /// The error of a failed exchange. After a failure before anything was written, the
    /// resolved addresses are forgotten (the address may have moved).
    fn failed(&self, failed: http::Failed) -> TransportError {
        let error = classify(&failed.error, failed.written, self.host());
        if !error.written && !error.recurs() {
            self.http.forget_addresses();
        }
        error
    }

    /// A pooled connection for an event loop, one whose socket it can wait for; None
    /// when there is none (the call goes the blocking way, [`Transport::exchange`]).
    pub fn lease(&self) -> Option<Lease> {
        self.http.lease()
    }

    /// Sends `request` on `lease`. Then [`Transport::poll`] when [`Sent::fd`] is readable,
    /// or [`Transport::finish`].
    pub fn start(
        &self,
        lease: Lease,
        request: &Request<'_>,
        deadline: Instant,
        limit: u64,
    ) -> Result<Sent, TransportError> {
        self.http.start(lease, request, deadline, limit).map_err(|failed| self.failed(failed))
    }

    /// Reads what has arrived for `sent`, without waiting (see [`Polled`]).
    pub fn poll(&self, sent: &mut Sent) -> Polled {
        match self.http.poll(sent) {
            http::Polled::Answered(answer) => Polled::Answered(answer.map_err(|failed| self.failed(failed))),
            http::Polled::Waiting => Polled::Waiting,
            http::Polled::Blocking => Polled::Blocking,
        }
    }

    /// Reads the rest of the answer to `sent`, waiting for it until its deadline.
    pub fn finish(&self, sent: Sent) -> Result<Response, TransportError> {
        self.http.finish(sent).map_err(|failed| self.failed(failed))
    }

    /// Puts the connection of an answer back into the pool, once the answer is known to
    /// fit its request (see [`Response::reuse`]); an answer that does not fit may belong to
    /// another request, and its connection is dropped instead.
    pub fn reuse(&self, reusable: Reusable) {
        self.http.reuse(reusable);
    }
}

impl Transport {
    /// Opens and handshakes connections ahead of calls until `count` idle ones wait in
    /// the pool (see [`http::Http::connect_ahead`]); returns how many wait.
    pub fn connect_ahead(
        &self,
        count: usize,
        deadline: Instant,
        connect_timeout: Duration,
    ) -> Result<usize, TransportError> {
        self.http.connect_ahead(count, deadline, connect_timeout).map_err(|error| {
            let error = classify(&error, false, self.host());
            if !error.recurs() {
                self.http.forget_addresses();
            }
            error
        })
    }
}

/// The stage of a ureq error. rustls reports a refused handshake (certificate, alert) as
/// InvalidData from the first write; a plain socket never does.
fn stage(error: &ureq::Error, written: bool) -> (Stage, bool) {
    use ureq::Error as E;
    use ureq::Timeout as T;
    match error {
        E::BodyExceedsLimit(_) => (Stage::TooLarge, false),
        E::LargeResponseHeader(_, _) => (Stage::HeadTooLarge, false),
        E::Timeout(T::Resolve) => (Stage::Resolve, true),
        E::Timeout(T::Connect) => (Stage::Connect, true),
        E::Timeout(_) if !written => (Stage::Connect, true),
        E::Timeout(_) => (Stage::Exchange, true),
        E::Http(_)
        | E::BadUri(_)
        | E::InvalidProxyUrl
        | E::RequireHttpsOnly(_)
        | E::Tls(_)
        | E::Rustls(_)
        | E::Pem(_)
        | E::TlsRequired => (Stage::Setup, false),
        E::ConnectProxyFailed(_) => (Stage::Proxy, false),
        E::Io(io) if !written && io.kind() == std::io::ErrorKind::InvalidData => (Stage::Tls, false),
        E::HostNotFound => (Stage::Resolve, false),
        _ if !written => (Stage::Connect, false),
        _ => (Stage::Exchange, false),
    }
}

/// rustls's words for a TLS handshake answered by a plain-HTTP server.
const PLAIN_HTTP_ANSWER: &str = "InvalidContentType";

/// A ureq error in tcsms's terms; `authority` (`host:port`) names the endpoint in hints.
fn classify(error: &ureq::Error, written: bool, authority: &str) -> TransportError {
    let (stage, timed_out) = stage(error, written);
    let mut detail = error.to_string();
    if stage == Stage::Tls && detail.contains(PLAIN_HTTP_ANSWER) {
        detail.push_str(&format!(" (the server speaks plain HTTP; for a local emulator use http://{authority})"));
    }
    TransportError { stage, timed_out, written, detail }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_say_how_far_an_exchange_got() {
        use std::io::{Error as IoError, ErrorKind as Io};
        use ureq::Error as E;
        let cases: Vec<(E, bool, Stage, bool)> = vec![
            (E::Io(IoError::new(Io::InvalidData, "invalid peer certificate: UnknownIssuer")), false, Stage::Tls, false),
            (E::Io(IoError::new(Io::ConnectionReset, "reset")), false, Stage::Connect, false),
            (E::Io(IoError::new(Io::ConnectionReset, "reset")), true, Stage::Exchange, false),
            (E::Io(IoError::new(Io::InvalidData, "bad chunk")), true, Stage::Exchange, false),
            (E::Io(IoError::other("failed to lookup address information")), false, Stage::Connect, false),
            (E::HostNotFound, false, Stage::Resolve, false),
            (E::BadUri("x".into()), false, Stage::Setup, false),
            (E::Tls("Rustls invalid dns name error"), false, Stage::Setup, false),
            (E::ConnectProxyFailed("407".into()), false, Stage::Proxy, false),
            (E::Timeout(ureq::Timeout::Connect), false, Stage::Connect, true),
            (E::Timeout(ureq::Timeout::Global), false, Stage::Connect, true),
            (E::Timeout(ureq::Timeout::Global), true, Stage::Exchange, true),
            (E::ConnectionFailed, false, Stage::Connect, false),
            (E::BodyExceedsLimit(10), true, Stage::TooLarge, false),
            (E::LargeResponseHeader(257, 256), true, Stage::HeadTooLarge, false),
        ];
        for (error, written, want, timed_out) in cases {
            let got = classify(&error, written, "h:1");
            assert_eq!((got.stage, got.timed_out, got.written), (want, timed_out, written), "{error}");
        }
        let tls = IoError::new(Io::InvalidData, "received corrupt message of type InvalidContentType");
        let plain = classify(&E::Io(tls), false, "127.0.0.1:9");
        assert!(plain.recurs());
        assert!(plain.detail.ends_with("(the server speaks plain HTTP; for a local emulator use http://127.0.0.1:9)"));
    }
}
