//! HTTP serving on hyper: one task per connection (keep-alive included), the request
//! body read with a size cap, then [`handle`] routes it to the API or the inspection
//! paths, applies faults and logs. [`handle`] is plain synchronous code with no I/O of its
//! own (besides the `--log` file), so the rules are testable without a socket.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, DATE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};

use crate::actions;
use crate::cli::{Config, DEFAULT_APP_ID};
use crate::clock::Clock;
use crate::envelope::{error_body, success_body, ApiError};
use crate::faults::{self, FaultKind, FaultPlan};
use crate::ids;
use crate::inspect;
use crate::ratelimit::RateLimiter;
use crate::reqlog::{Entry, RequestLog};
use crate::schema::Schema;
use crate::state::{Emulator, Settings, State};
use crate::verify::{self, RawRequest, Verifier, MAX_BODY_BYTES};

/// Bodies past the limit are read and thrown away up to this much more, so that the
/// client can read the answer; beyond that the connection is closed after answering.
const DRAIN_CAP_BYTES: u64 = 64 * 1024 * 1024;
/// A connection that sends nothing of a request head for this long is closed.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// A request whose body takes longer than this to arrive is dropped.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// One emulator: what verification compares against, the account state, the request log,
/// the fault plan and the clock. Build it with [`Service::new`]; [`handle`] serves a request.
#[derive(Debug)]
pub struct Service {
    verifier: Verifier,
    emulator: Emulator,
    log: Option<RequestLog>,
    fault: Option<FaultPlan>,
    clock: Clock,
}

impl Service {
    /// The emulator `cfg` describes, with its seeded state. Fails only when the `--log`
    /// file cannot be opened or the embedded spec cannot be read.
    pub fn new(cfg: &Config) -> Result<Service, String> {
        let log = match &cfg.log {
            Some(path) => {
                Some(RequestLog::open(path).map_err(|e| format!("cannot open --log {}: {e}", path.display()))?)
            }
            None => None,
        };
        let clock = Clock::with_offset_secs(cfg.clock_offset_secs);
        let settings = Settings {
            review_delay_ms: cfg.review_delay_ms,
            report_delay_ms: cfg.report_delay_ms,
            auto_reply: cfg.auto_reply.clone(),
            strict_serial_no: cfg.strict_serial_no,
            doc_examples: cfg.doc_examples,
        };
        let default_app = [DEFAULT_APP_ID.to_owned()];
        let apps = if cfg.app_ids.is_empty() { &default_app[..] } else { &cfg.app_ids };
        let mut state = State::seeded(apps, clock.now_ms());
        if cfg.doc_examples {
            state.seed_doc_examples();
        }
        if let Some(url) = &cfg.callback_url {
            state.outbox = Some(crate::callbacks::Outbox::start(url.clone(), clock)?);
        }
        Ok(Service {
            verifier: Verifier::new(
                cfg.key_pairs.clone(),
                cfg.tokens.clone(),
                Schema::load()?,
                RateLimiter::new(&cfg.rate_limits),
            ),
            emulator: Emulator::new(state, settings),
            log,
            fault: cfg.fault.map(|kind| FaultPlan::new(kind, cfg.fault_every, cfg.fault_delay_ms)),
            clock,
        })
    }

    /// The emulator's clock (`--clock-offset`).
    pub fn clock(&self) -> Clock {
        self.clock
    }
}

/// The request body, as far as it was read.
#[derive(Clone, Copy)]
enum Body<'a> {
    Complete(&'a [u8]),
    /// Larger than the limit; the rest was drained (or, when `close`, not).
    TooLarge {
        close: bool,
    },
    /// The client went away or stalled while sending.
    Unreadable,
}

/// A request as read from the connection (or given to [`handle`]).
struct Received<'a> {
    method: &'a str,
    path: &'a str,
    query: &'a str,
    headers: &'a [(String, String)],
    body: Body<'a>,
    remote: Option<String>,
}

/// What to answer to a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// An HTTP answer. Over a socket it also carries `Date` (the emulator's clock).
    Answer {
        /// HTTP status: 200 for every API answer (errors included), 4xx for the inspection
        /// API and unknown paths, 500 for the `http500` fault.
        status: u16,
        content_type: &'static str,
        body: String,
        /// Answer only after this long (the `slow` fault).
        delay: Duration,
        /// Close the connection after answering.
        close: bool,
    },
    /// Close the connection without answering (the `close` fault, an unreadable body).
    Close,
}

fn answer(status: u16, content_type: &'static str, body: String) -> Reply {
    Reply::Answer { status, content_type, body, delay: Duration::ZERO, close: false }
}

/// Handles one request without a socket, exactly as one arriving over HTTP: routing, the
/// fault plan, verification, the action, the inspection API, the log.
///
/// `path_and_query` is the request target (`/` or `/?a=1`); `headers` are (name, value)
/// pairs as sent, names in any case; `body` is the whole body (one over the 10 MB limit is
/// answered `RequestSizeLimitExceeded`). The state changes as the request asks.
pub fn handle(
    service: &Service,
    method: &str,
    path_and_query: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Reply {
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let body = if body.len() > MAX_BODY_BYTES { Body::TooLarge { close: false } } else { Body::Complete(body) };
    route(service, &Received { method, path, query, headers, body, remote: None })
}

/// Accepts connections until the listener fails; each connection gets a task.
pub async fn serve(listener: tokio::net::TcpListener, service: Arc<Service>) -> std::io::Result<()> {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of file descriptors and the like: wait a moment rather than spin.
            Err(e) if is_transient_accept_error(&e) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        let _ = stream.set_nodelay(true);
        let service = Arc::clone(&service);
        tokio::spawn(async move {
            let handler = service_fn(move |request| respond(Arc::clone(&service), peer, request));
            // A connection that ends badly (client gone, `close` fault) is nothing to report.
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), handler)
                .await;
        });
    }
}

fn is_transient_accept_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionAborted | ConnectionReset | Interrupted | WouldBlock)
        || e.raw_os_error().is_some_and(|c| c == libc::EMFILE || c == libc::ENFILE)
}

/// Returned to hyper to close a connection without an answer.
#[derive(Debug)]
struct CloseWithoutAnswer;

impl std::fmt::Display for CloseWithoutAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection closed without an answer")
    }
}

impl std::error::Error for CloseWithoutAnswer {}

async fn respond(
    service: Arc<Service>,
    peer: SocketAddr,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, CloseWithoutAnswer> {
    let (parts, incoming) = request.into_parts();
    let declared = parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let read = match tokio::time::timeout(BODY_READ_TIMEOUT, read_body(incoming, declared)).await {
        Ok(read) => read,
        Err(_) => Err(Body::Unreadable),
    };
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let received = Received {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &headers,
        body: match &read {
            Ok(bytes) => Body::Complete(bytes),
            Err(unread) => *unread,
        },
        remote: Some(peer.to_string()),
    };
    match route(&service, &received) {
        Reply::Close => Err(CloseWithoutAnswer),
        Reply::Answer { status, content_type, body, delay, close } => {
            if !delay.is_zero() {
                // Only this request waits; other connections go on.
                tokio::time::sleep(delay).await;
            }
            let mut response = Response::new(Full::new(Bytes::from(body)));
            *response.status_mut() =
                hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            // hyper would send the host's time; the emulator's clock may run offset.
            if let Ok(date) = HeaderValue::from_str(&service.clock.http_date()) {
                headers.insert(DATE, date);
            }
            if close {
                headers.insert(CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(response)
        }
    }
}

/// The whole body, or why there is none to use.
async fn read_body(mut incoming: Incoming, declared: Option<u64>) -> Result<Vec<u8>, Body<'static>> {
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64 + DRAIN_CAP_BYTES) {
        return Err(Body::TooLarge { close: true });
    }
    let mut buf = Vec::new();
    let mut total: u64 = 0;
    while let Some(frame) = incoming.frame().await {
        let Ok(frame) = frame else { return Err(Body::Unreadable) };
        let Ok(data) = frame.into_data() else { continue };
        total += data.len() as u64;
        if total > MAX_BODY_BYTES as u64 + DRAIN_CAP_BYTES {
            return Err(Body::TooLarge { close: true });
        }
        if total <= MAX_BODY_BYTES as u64 {
            buf.extend_from_slice(&data);
        }
    }
    if total > MAX_BODY_BYTES as u64 {
        Err(Body::TooLarge { close: false })
    } else {
        Ok(buf)
    }
}

/// Writes the log line of one request, with what every line of it shares.
struct Logger<'a> {
    log: Option<&'a RequestLog>,
    started: Instant,
    rq: &'a Received<'a>,
    action: Option<&'a str>,
}

impl Logger<'_> {
    fn write(&self, entry: Entry) {
        if let Some(log) = self.log {
            log.write(&Entry {
                method: self.rq.method,
                path: self.rq.path,
                action: self.action,
                duration_ms: self.started.elapsed().as_millis() as u64,
                remote: self.rq.remote.clone(),
                ..entry
            });
        }
    }
}

/// Routes one request and decides the answer; logs it.
fn route(service: &Service, rq: &Received) -> Reply {
    let is_api = rq.path == "/";
    let action = if is_api { header(rq.headers, "X-TC-Action") } else { None };
    let logger = Logger { log: service.log.as_ref(), started: Instant::now(), rq, action };
    // Count the request for the fault plan before anything else can refuse it.
    let fault = if is_api { service.fault.as_ref().and_then(FaultPlan::next) } else { None };
    if let Body::Unreadable = rq.body {
        logger.write(Entry { verdict: "dropped", ..Entry::default() });
        return Reply::Close;
    }
    if !is_api && matches!(rq.body, Body::TooLarge { close: true }) {
        logger.write(Entry { verdict: "dropped", code: Some("RequestSizeLimitExceeded"), ..Entry::default() });
        return Reply::Close;
    }
    if rq.path == inspect::PREFIX || rq.path.starts_with("/_emulator/") {
        return inspection(service, rq, &logger);
    }
    if !is_api {
        let text = "not found: the API is served at / and the inspection API under /_emulator/\n".to_owned();
        logger.write(Entry { verdict: "error", status: 404, ..Entry::default() });
        return answer(404, "text/plain; charset=utf-8", text);
    }
    match fault {
        Some(kind @ (FaultKind::Close | FaultKind::Http500 | FaultKind::Garbage)) => injected_fault(kind, &logger),
        Some(FaultKind::Slow) | None => api(service, rq, fault, &logger),
    }
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// A request under `/_emulator/`.
fn inspection(service: &Service, rq: &Received, logger: &Logger) -> Reply {
    let bytes = match rq.body {
        Body::Complete(b) => b,
        _ => &[],
    };
    let now = service.clock.now_ms();
    let (status, text) = inspect::handle(&service.emulator, rq.method, rq.path, rq.query, bytes, now);
    logger.write(Entry { verdict: if status == 200 { "ok" } else { "error" }, status, ..Entry::default() });
    answer(status, "application/json", text)
}

/// The faults that replace the answer: nothing is verified or done.
fn injected_fault(kind: FaultKind, logger: &Logger) -> Reply {
    let (status, reply) = match kind {
        FaultKind::Http500 => (500, answer(500, "text/html", faults::HTTP500_BODY.to_owned())),
        FaultKind::Garbage => (200, answer(200, "application/json", faults::GARBAGE_BODY.to_owned())),
        FaultKind::Close | FaultKind::Slow => (0, Reply::Close),
    };
    logger.write(Entry { verdict: "fault", fault: Some(kind.name()), status, ..Entry::default() });
    reply
}

/// An API request: verification, the action, the envelope (late under the `slow` fault).
fn api(service: &Service, rq: &Received, fault: Option<FaultKind>, logger: &Logger) -> Reply {
    let request_id = ids::request_id();
    let (result, close) = match rq.body {
        Body::Complete(bytes) => {
            let raw =
                RawRequest { method: rq.method, path: rq.path, query: rq.query, headers: rq.headers, body: bytes };
            (process(service, &raw), false)
        }
        Body::TooLarge { close } => (Err(verify::size_exceeded()), close),
        Body::Unreadable => (Err(ApiError::internal("The request body could not be read.")), true),
    };
    let (body, code) = match result {
        Ok(fields) => (success_body(fields, &request_id), None),
        Err(e) => (error_body(&e, &request_id), Some(e.code)),
    };
    let code = code.as_deref();
    let slow = fault == Some(FaultKind::Slow);
    logger.write(Entry {
        verdict: if slow {
            "fault"
        } else if code.is_some() {
            "error"
        } else {
            "ok"
        },
        fault: fault.map(FaultKind::name),
        code,
        request_id: Some(&request_id),
        status: 200,
        ..Entry::default()
    });
    let delay = match (slow, &service.fault) {
        (true, Some(plan)) => Duration::from_millis(plan.delay_ms),
        _ => Duration::ZERO,
    };
    Reply::Answer { status: 200, content_type: "application/json", body, delay, close }
}

/// Verification, then the action's business rules.
fn process(service: &Service, raw: &RawRequest) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    let now = service.clock.now_ms();
    let verified = service.verifier.verify(raw, (now / 1000) as i64, Instant::now())?;
    actions::dispatch(&service.emulator, verified.action.name, &verified.params, now)
}
