//! HTTP serving on hyper: one task per connection (keep-alive included), the request
//! body read with a size cap, then [`handle`] routes it to the API or the inspection
//! paths, applies faults and logs. `handle` is plain synchronous code with no I/O of its
//! own, so the rules are testable without a socket.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};

use crate::actions;
use crate::clock::now_ms;
use crate::envelope::{error_body, success_body, ApiError};
use crate::faults::{self, FaultKind, FaultPlan};
use crate::ids;
use crate::inspect;
use crate::reqlog::{Entry, RequestLog};
use crate::state::Emulator;
use crate::verify::{self, RawRequest, Verifier, MAX_BODY_BYTES};

/// Bodies past the limit are read and thrown away up to this much more, so that the
/// client can read the answer; beyond that the connection is closed after answering.
const DRAIN_CAP_BYTES: u64 = 64 * 1024 * 1024;
/// A connection that sends nothing of a request head for this long is closed.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// A request whose body takes longer than this to arrive is dropped.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Everything a connection task needs.
#[derive(Debug)]
pub struct Service {
    pub verifier: Verifier,
    pub emulator: Emulator,
    pub log: Option<RequestLog>,
    pub fault: Option<FaultPlan>,
}

/// A request as read from the connection.
pub struct Received {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Body,
    pub remote: Option<String>,
}

pub enum Body {
    Complete(Vec<u8>),
    /// Larger than the limit; the rest was drained (or, when `close`, not).
    TooLarge {
        close: bool,
    },
    /// The client went away or stalled while sending.
    Unreadable,
}

/// What to do with a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    Answer {
        status: u16,
        content_type: &'static str,
        body: String,
        /// Answer only after this long (the `slow` fault).
        delay: Duration,
        /// Close the connection after answering.
        close: bool,
    },
    /// Close the connection without answering.
    Close,
}

fn answer(status: u16, content_type: &'static str, body: String) -> Reply {
    Reply::Answer { status, content_type, body, delay: Duration::ZERO, close: false }
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
    let body = match tokio::time::timeout(BODY_READ_TIMEOUT, read_body(incoming, declared)).await {
        Ok(body) => body,
        Err(_) => Body::Unreadable,
    };
    let received = Received {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect(),
        body,
        remote: Some(peer.to_string()),
    };
    match handle(&service, received) {
        Reply::Close => Err(CloseWithoutAnswer),
        Reply::Answer { status, content_type, body, delay, close } => {
            if !delay.is_zero() {
                // Only this request waits; other connections go on.
                tokio::time::sleep(delay).await;
            }
            let mut response = Response::new(Full::new(Bytes::from(body)));
            *response.status_mut() =
                hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
            response.headers_mut().insert(CONTENT_TYPE, hyper::header::HeaderValue::from_static(content_type));
            if close {
                response.headers_mut().insert(CONNECTION, hyper::header::HeaderValue::from_static("close"));
            }
            Ok(response)
        }
    }
}

async fn read_body(mut incoming: Incoming, declared: Option<u64>) -> Body {
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64 + DRAIN_CAP_BYTES) {
        return Body::TooLarge { close: true };
    }
    let mut buf = Vec::new();
    let mut total: u64 = 0;
    while let Some(frame) = incoming.frame().await {
        let Ok(frame) = frame else { return Body::Unreadable };
        let Ok(data) = frame.into_data() else { continue };
        total += data.len() as u64;
        if total > MAX_BODY_BYTES as u64 + DRAIN_CAP_BYTES {
            return Body::TooLarge { close: true };
        }
        if total <= MAX_BODY_BYTES as u64 {
            buf.extend_from_slice(&data);
        }
    }
    if total > MAX_BODY_BYTES as u64 {
        Body::TooLarge { close: false }
    } else {
        Body::Complete(buf)
    }
}

/// Routes one request and decides the answer; logs it.
pub fn handle(service: &Service, rq: Received) -> Reply {
    let started = Instant::now();
    let Received { method, path, query, headers, body, remote } = rq;
    let log = |entry: Entry| {
        if let Some(l) = &service.log {
            l.write(&Entry { duration_ms: started.elapsed().as_millis() as u64, remote: remote.clone(), ..entry });
        }
    };
    let path = path.as_str();
    let action = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("X-TC-Action")).map(|(_, v)| v.clone());
    let action = action.as_deref();
    let is_api = path == "/";
    // Count the request for the fault plan before anything else can refuse it.
    let fault = if is_api { service.fault.as_ref().and_then(FaultPlan::next) } else { None };
    if let Body::Unreadable = body {
        log(Entry { method: &method, path, action, verdict: "dropped", ..Entry::default() });
        return Reply::Close;
    }
    if !is_api && matches!(body, Body::TooLarge { close: true }) {
        log(Entry {
            method: &method,
            path,
            verdict: "dropped",
            code: Some("RequestSizeLimitExceeded"),
            ..Entry::default()
        });
        return Reply::Close;
    }

    if path == inspect::PREFIX || path.starts_with("/_emulator/") {
        let bytes = match &body {
            Body::Complete(b) => b.as_slice(),
            _ => &[],
        };
        let (status, text) = inspect::handle(&service.emulator, &method, path, &query, bytes, now_ms());
        log(Entry {
            method: &method,
            path,
            verdict: if status == 200 { "ok" } else { "error" },
            status,
            ..Entry::default()
        });
        return answer(status, "application/json", text);
    }
    if !is_api {
        let text = "not found: the API is served at / and the inspection API under /_emulator/\n".to_owned();
        log(Entry { method: &method, path, verdict: "error", status: 404, ..Entry::default() });
        return answer(404, "text/plain; charset=utf-8", text);
    }

    // An API request.
    let fault_entry = |kind: FaultKind, status: u16| Entry {
        method: &method,
        path,
        action,
        verdict: "fault",
        fault: Some(kind.name()),
        status,
        ..Entry::default()
    };
    match fault {
        Some(FaultKind::Close) => {
            log(fault_entry(FaultKind::Close, 0));
            return Reply::Close;
        }
        Some(FaultKind::Http500) => {
            log(fault_entry(FaultKind::Http500, 500));
            return answer(500, "text/html", faults::HTTP500_BODY.to_owned());
        }
        Some(FaultKind::Garbage) => {
            log(fault_entry(FaultKind::Garbage, 200));
            return answer(200, "application/json", faults::GARBAGE_BODY.to_owned());
        }
        Some(FaultKind::Slow) | None => {}
    }

    let request_id = ids::request_id();
    let (result, close) = match &body {
        Body::Complete(bytes) => {
            let raw = RawRequest { method: &method, path, query: &query, headers: &headers, body: bytes };
            (process(service, &raw), false)
        }
        Body::TooLarge { close } => (Err(verify::size_exceeded()), *close),
        Body::Unreadable => unreachable!("handled above"),
    };
    let (text, code) = match result {
        Ok(fields) => (success_body(fields, &request_id), None),
        Err(e) => (error_body(&e, &request_id), Some(e.code)),
    };
    let code = code.as_deref();
    let verdict = if code.is_some() { "error" } else { "ok" };
    let delay = match fault {
        Some(FaultKind::Slow) => {
            log(Entry { code, request_id: Some(&request_id), ..fault_entry(FaultKind::Slow, 200) });
            Duration::from_millis(service.fault.as_ref().map_or(0, |f| f.delay_ms))
        }
        _ => {
            log(Entry {
                method: &method,
                path,
                action,
                verdict,
                code,
                request_id: Some(&request_id),
                status: 200,
                ..Entry::default()
            });
            Duration::ZERO
        }
    };
    Reply::Answer { status: 200, content_type: "application/json", body: text, delay, close }
}

/// Verification, then the action's business rules.
fn process(service: &Service, raw: &RawRequest) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    let now = now_ms();
    let verified = service.verifier.verify(raw, (now / 1000) as i64, Instant::now())?;
    actions::dispatch(&service.emulator, verified.action.name, &verified.params, now)
}
