//! HTTP serving: worker threads take requests from tiny_http (which reads each connection,
//! keep-alive included, on its own thread), route them to the API or the inspection paths,
//! apply faults, answer, and log.

use std::io::{self, Read};
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use tiny_http::{Header, Request, Response, Server};

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
/// connection stays usable; beyond that the connection is closed instead.
const DRAIN_CAP_BYTES: usize = 64 * 1024 * 1024;

/// Everything a worker needs.
#[derive(Debug)]
pub struct Service {
    pub verifier: Verifier,
    pub emulator: Emulator,
    pub log: Option<RequestLog>,
    pub fault: Option<FaultPlan>,
    /// The port the server listens on (to find a connection's socket for the `close` fault).
    pub port: u16,
}

/// Starts `workers` threads answering requests until the server is dropped or unblocked.
pub fn spawn_workers(server: Arc<Server>, service: Arc<Service>, workers: usize) -> io::Result<Vec<thread::JoinHandle<()>>> {
    (0..workers)
        .map(|i| {
            let server = Arc::clone(&server);
            let service = Arc::clone(&service);
            thread::Builder::new().name(format!("worker-{i}")).spawn(move || {
                while let Ok(rq) = server.recv() {
                    handle(&service, rq);
                }
            })
        })
        .collect()
}

enum Body {
    Complete(Vec<u8>),
    TooLarge,
    /// The client went away while sending.
    Unreadable,
    /// Declared far larger than the limit: not read at all.
    Abandoned,
}

fn read_body(rq: &mut Request) -> Body {
    if rq.body_length().is_some_and(|n| n > MAX_BODY_BYTES + DRAIN_CAP_BYTES) {
        return Body::Abandoned;
    }
    let reader = rq.as_reader();
    let mut buf = Vec::new();
    if reader.take(MAX_BODY_BYTES as u64 + 1).read_to_end(&mut buf).is_err() {
        return Body::Unreadable;
    }
    if buf.len() > MAX_BODY_BYTES {
        // Read the rest in small pieces: tiny_http would otherwise allocate all of it at once.
        let _ = io::copy(&mut reader.take(DRAIN_CAP_BYTES as u64), &mut io::sink());
        return Body::TooLarge;
    }
    Body::Complete(buf)
}

fn header(name: &str, value: &str) -> Option<Header> {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

fn respond(rq: Request, status: u16, content_type: &str, body: String) {
    let mut response = Response::from_data(body.into_bytes()).with_status_code(status);
    if let Some(h) = header("Content-Type", content_type) {
        response.add_header(h);
    }
    // The client may have gone; nothing to do about it.
    let _ = rq.respond(response);
}

/// Closes the request's connection without answering.
fn close(service: &Service, rq: Request) {
    let closed = rq.remote_addr().copied().is_some_and(|peer: SocketAddr| faults::shutdown_connection(peer, service.port));
    if !closed {
        eprintln!("tcsms-emulator: could not find the socket to close; answering with an empty 500 instead");
    }
    // Dropping the request now writes nothing to the shut-down socket.
    drop(rq);
}

/// Gives up on a request whose declared body is far too large: closes the connection
/// without an answer and leaks the (small) request, because dropping it would make tiny_http
/// allocate the whole declared body at once to skip it.
fn abandon(service: &Service, rq: Request) {
    let closed = rq.remote_addr().copied().is_some_and(|peer| faults::shutdown_connection(peer, service.port));
    if !closed {
        eprintln!("tcsms-emulator: could not close the connection of an oversized request");
    }
    std::mem::forget(rq);
}

fn handle(service: &Arc<Service>, mut rq: Request) {
    let started = Instant::now();
    let url = rq.url().to_owned();
    let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
    let method = rq.method().as_str().to_owned();
    let remote = rq.remote_addr().map(|a| a.to_string());
    let headers: Vec<(String, String)> =
        rq.headers().iter().map(|h| (h.field.as_str().as_str().to_owned(), h.value.as_str().to_owned())).collect();
    let log = |entry: Entry| {
        if let Some(l) = &service.log {
            l.write(&Entry { duration_ms: started.elapsed().as_millis() as u64, remote: remote.clone(), ..entry });
        }
    };

    let action = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("X-TC-Action")).map(|(_, v)| v.clone());
    let action = action.as_deref();
    let is_api = path == "/";
    // Count the request for the fault plan before anything else can refuse it.
    let fault = if is_api { service.fault.as_ref().and_then(FaultPlan::next) } else { None };
    let body = match read_body(&mut rq) {
        Body::Abandoned => {
            abandon(service, rq);
            log(Entry { method: &method, path, action, verdict: "dropped", code: Some("RequestSizeLimitExceeded"), ..Entry::default() });
            return;
        }
        Body::Unreadable => {
            log(Entry { method: &method, path, action, verdict: "dropped", ..Entry::default() });
            return;
        }
        other => other,
    };

    if path == inspect::PREFIX || path.starts_with("/_emulator/") {
        let bytes = match &body {
            Body::Complete(b) => b.as_slice(),
            _ => &[],
        };
        let (status, text) = inspect::handle(&service.emulator, &method, path, query, bytes, now_ms());
        respond(rq, status, "application/json", text);
        log(Entry { method: &method, path, verdict: if status == 200 { "ok" } else { "error" }, status, ..Entry::default() });
        return;
    }
    if !is_api {
        let text = "not found: the API is served at / and the inspection API under /_emulator/\n".to_owned();
        respond(rq, 404, "text/plain; charset=utf-8", text);
        log(Entry { method: &method, path, verdict: "error", status: 404, ..Entry::default() });
        return;
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
            close(service, rq);
            log(fault_entry(FaultKind::Close, 0));
            return;
        }
        Some(FaultKind::Http500) => {
            respond(rq, 500, "text/html", faults::HTTP500_BODY.to_owned());
            log(fault_entry(FaultKind::Http500, 500));
            return;
        }
        Some(FaultKind::Garbage) => {
            respond(rq, 200, "application/json", faults::GARBAGE_BODY.to_owned());
            log(fault_entry(FaultKind::Garbage, 200));
            return;
        }
        Some(FaultKind::Slow) | None => {}
    }

    let request_id = ids::request_id();
    let result = match &body {
        Body::Complete(bytes) => {
            let raw = RawRequest { method: &method, path, query, headers: &headers, body: bytes };
            process(service, &raw)
        }
        _ => Err(verify::size_exceeded()),
    };
    let (text, code) = match result {
        Ok(fields) => (success_body(fields, &request_id), None),
        Err(e) => (error_body(&e, &request_id), Some(e.code)),
    };
    let code = code.as_deref();
    let verdict = if code.is_some() { "error" } else { "ok" };
    match fault {
        Some(FaultKind::Slow) => {
            let delay = Duration::from_millis(service.fault.as_ref().map_or(0, |f| f.delay_ms));
            // A thread of its own, so that a slow answer holds up no other connection.
            let spawned = thread::Builder::new().name("slow-reply".into()).spawn(move || {
                thread::sleep(delay);
                respond(rq, 200, "application/json", text);
            });
            if spawned.is_err() {
                eprintln!("tcsms-emulator: could not start a thread for a slow reply");
            }
            log(Entry { code, request_id: Some(&request_id), ..fault_entry(FaultKind::Slow, 200) });
        }
        _ => {
            respond(rq, 200, "application/json", text);
            log(Entry { method: &method, path, action, verdict, code, request_id: Some(&request_id), status: 200, ..Entry::default() });
        }
    }
}

/// Verification, then the action's business rules.
fn process(service: &Service, raw: &RawRequest) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    let now = now_ms();
    let verified = service.verifier.verify(raw, (now / 1000) as i64, Instant::now())?;
    actions::dispatch(&service.emulator, verified.action.name, &verified.params, now)
}
