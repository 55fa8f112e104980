//! The service layer: [`handle`] routes one request to the SMS API, STS, the instance
//! metadata or the inspection API, applies faults, verifies, runs the action and logs. It is
//! plain synchronous code with no I/O of its own (besides the `--log` file), so the rules
//! are testable without a socket; `crate::http` serves it over HTTP.

pub mod actions;
pub mod authorization;
pub mod envelope;
pub mod faults;
pub mod ids;
pub mod inspect;
pub mod params;
pub mod phone;
pub mod ratelimit;
pub mod reqlog;
pub mod roles;
pub mod schema;
pub mod verify;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::clock::Clock;
use crate::config::{Config, Secret, DEFAULT_APP_ID};
use crate::fixtures;
use crate::model::state::{Emulator, Settings};
use crate::model::temp_keys::TempKeys;
use crate::outbound::callbacks::Outbox;
use envelope::{error_body, success_body, ApiError};
use faults::{FaultKind, FaultPlan};
use ratelimit::RateLimiter;
use reqlog::{Entry, RequestLog};
use roles::{Endpoint, Outcome, Roles};
use schema::Schema;
use verify::{RawRequest, Verifier, MAX_BODY_BYTES};

/// One emulator: what verification compares against, the account state, where callbacks
/// go, the request log, the fault plan and the clock. Build it with [`Service::new`]; [`handle`] serves a request.
#[derive(Debug)]
pub struct Service {
    verifier: Verifier,
    emulator: Emulator,
    /// `--callback-url`: delivery reports and replies are POSTed there.
    outbox: Option<Outbox>,
    log: Option<RequestLog>,
    fault: Option<FaultPlan>,
    /// The instance metadata service and STS.
    roles: Roles,
    /// How long a `hang` fault of the metadata service or STS lasts.
    hang: Duration,
    /// `--inspection-token`.
    inspection_token: Option<Secret>,
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
        let mut state = fixtures::account(apps, clock.now_ms());
        if cfg.doc_examples {
            fixtures::doc_examples::seed(&mut state);
        }
        let outbox = match &cfg.callback_url {
            Some(url) => Some(Outbox::start(url.clone(), clock)?),
            None => None,
        };
        let temp_keys = Arc::new(TempKeys::default());
        Ok(Service {
            verifier: Verifier::new(
                cfg.key_pairs.clone(),
                cfg.tokens.clone(),
                Arc::clone(&temp_keys),
                Schema::load()?,
                RateLimiter::new(&cfg.rate_limits),
            ),
            roles: Roles::new(cfg, temp_keys),
            hang: roles::hang_for(cfg.fault_delay_ms),
            inspection_token: cfg.inspection_token.clone(),
            emulator: Emulator::new(state, settings),
            outbox,
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
pub(crate) enum Body<'a> {
    Complete(&'a [u8]),
    /// Larger than the limit; the rest was drained (or, when `close`, not).
    TooLarge {
        close: bool,
    },
    /// The client went away or stalled while sending.
    Unreadable,
}

/// A request as read from the connection (or given to [`handle`]).
pub(crate) struct Received<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) query: &'a str,
    pub(crate) headers: &'a [(String, String)],
    pub(crate) body: Body<'a>,
    pub(crate) remote: Option<String>,
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
    /// Answer nothing for this long, then close the connection (the `hang` fault of the
    /// metadata service and STS).
    Hang(Duration),
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
pub(crate) fn route(service: &Service, rq: &Received) -> Reply {
    let is_api = rq.path == "/";
    let action = if is_api { header(rq.headers, "X-TC-Action") } else { None };
    let logger = Logger { log: service.log.as_ref(), started: Instant::now(), rq, action };
    let is_sts = action.is_some_and(|a| roles::STS_ACTIONS.contains(&a));
    if is_sts {
        return sts(service, rq, &logger);
    }
    if rq.path.starts_with(roles::METADATA_PREFIX) {
        return metadata(service, rq, &logger);
    }
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

/// A request under `/_emulator/`: only from a loopback peer (or with the
/// `--inspection-token`), with a small body.
fn inspection(service: &Service, rq: &Received, logger: &Logger) -> Reply {
    if let Some(refusal) = inspection_refusal(service.inspection_token.as_ref(), rq) {
        let (status, why) = refusal;
        logger.write(Entry { verdict: "error", status, ..Entry::default() });
        return answer(status, "application/json", serde_json::json!({ "Error": why }).to_string());
    }
    let bytes = match rq.body {
        Body::Complete(b) if b.len() <= inspect::MAX_BODY_BYTES => b,
        Body::Complete(_) | Body::TooLarge { .. } => {
            logger.write(Entry { verdict: "error", status: 413, ..Entry::default() });
            let why = format!("the body is larger than {} bytes", inspect::MAX_BODY_BYTES);
            return answer(413, "application/json", serde_json::json!({ "Error": why }).to_string());
        }
        Body::Unreadable => &[],
    };
    let now = service.clock.now_ms();
    let (status, text) = if rq.path.starts_with("/_emulator/credentials") {
        service.roles.inspect(&service.verifier, rq.method, rq.path, bytes)
    } else {
        inspect::handle(&service.emulator, service.outbox.as_ref(), rq.method, rq.path, rq.query, bytes, now)
    };
    logger.write(Entry { verdict: if status == 200 { "ok" } else { "error" }, status, ..Entry::default() });
    answer(status, "application/json", text)
}

/// Why an inspection request is refused (HTTP status, reason), if it is: with a token
/// configured, it must come as `Authorization: Bearer TOKEN`; without one, the peer must be
/// a loopback address (requests given to [`handle`] have no peer and count as local).
fn inspection_refusal(token: Option<&Secret>, rq: &Received) -> Option<(u16, &'static str)> {
    match token {
        Some(want) => {
            let sent = header(rq.headers, "Authorization").and_then(|v| v.strip_prefix("Bearer "));
            if sent.is_some_and(|got| crate::service::authorization::constant_time_eq(want.expose(), got.trim())) {
                None
            } else {
                Some((401, "the inspection API needs Authorization: Bearer <--inspection-token>"))
            }
        }
        None if rq.remote.as_deref().is_none_or(is_loopback) => None,
        None => Some((403, "the inspection API answers loopback peers only (or start with --inspection-token)")),
    }
}

/// Whether a peer address (`IP:PORT`) is a loopback address.
fn is_loopback(peer: &str) -> bool {
    match peer.parse::<SocketAddr>() {
        Ok(SocketAddr::V4(a)) => a.ip().is_loopback(),
        Ok(SocketAddr::V6(a)) => a.ip().is_loopback() || a.ip().to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        Err(_) => false,
    }
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

/// A metadata request: the fault, or the role name / the role's credentials; counted.
fn metadata(service: &Service, rq: &Received, logger: &Logger) -> Reply {
    let endpoint = Roles::metadata_endpoint(rq.path);
    let (reply, outcome, status, fault) = match (endpoint, service.roles.metadata_fault()) {
        (Some(endpoint), Some(fault)) => {
            let (reply, status) = endpoint_fault(service, fault, endpoint == Endpoint::RoleName);
            (reply, Outcome::Faulted, status, Some(fault.name()))
        }
        _ => {
            let ((status, content_type, body), outcome) =
                service.roles.metadata(rq.method, rq.path, service.clock.now_ms());
            (answer(status, content_type, body), outcome, status, None)
        }
    };
    if let Some(endpoint) = endpoint {
        service.roles.count(endpoint, outcome);
    }
    let verdict = match outcome {
        Outcome::Ok => "ok",
        Outcome::Faulted => "fault",
        Outcome::Refused => "error",
    };
    logger.write(Entry { verdict, fault, status, ..Entry::default() });
    reply
}

/// The reply of a metadata or STS fault, and the HTTP status to log (0: none).
fn endpoint_fault(service: &Service, fault: faults::EndpointFault, plain_text: bool) -> (Reply, u16) {
    use faults::EndpointFault as F;
    match fault {
        F::Http500 => (answer(500, "text/html", faults::HTTP500_BODY.to_owned()), 500),
        F::Hang => (Reply::Hang(service.hang), 0),
        F::Garbage => {
            let content_type = if plain_text { "text/plain; charset=utf-8" } else { "application/json" };
            (answer(200, content_type, faults::GARBAGE_BODY.to_owned()), 200)
        }
    }
}

/// An STS request (AssumeRole, AssumeRoleWithWebIdentity): the fault, or verification and
/// the action; counted.
fn sts(service: &Service, rq: &Received, logger: &Logger) -> Reply {
    let endpoint = match logger.action {
        Some("AssumeRole") => Endpoint::AssumeRole,
        _ => Endpoint::AssumeRoleWithWebIdentity,
    };
    if let Body::Unreadable = rq.body {
        logger.write(Entry { verdict: "dropped", ..Entry::default() });
        return Reply::Close;
    }
    if let Some(fault) = service.roles.sts_fault() {
        service.roles.count(endpoint, Outcome::Faulted);
        let (reply, status) = endpoint_fault(service, fault, false);
        logger.write(Entry { verdict: "fault", fault: Some(fault.name()), status, ..Entry::default() });
        return reply;
    }
    let mut issued = false;
    let reply = api_with(service, rq, None, logger, |raw| {
        let result = service.roles.sts(&service.verifier, raw, service.clock.now_ms());
        issued = result.is_ok();
        result
    });
    service.roles.count(endpoint, if issued { Outcome::Ok } else { Outcome::Refused });
    reply
}

/// An API request: verification, the action, the envelope (late under the `slow` fault).
fn api(service: &Service, rq: &Received, fault: Option<FaultKind>, logger: &Logger) -> Reply {
    api_with(service, rq, fault, logger, |raw| process(service, raw))
}

/// An API request answered by `run` in the envelope.
fn api_with(
    service: &Service,
    rq: &Received,
    fault: Option<FaultKind>,
    logger: &Logger,
    run: impl FnOnce(&RawRequest) -> Result<serde_json::Map<String, serde_json::Value>, ApiError>,
) -> Reply {
    let request_id = ids::request_id();
    let (result, close) = match rq.body {
        Body::Complete(bytes) => {
            let raw =
                RawRequest { method: rq.method, path: rq.path, query: rq.query, headers: rq.headers, body: bytes };
            (run(&raw), false)
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
    let verified = service.verifier.verify(raw, now, Instant::now())?;
    actions::dispatch(&service.emulator, service.outbox.as_ref(), verified.action.name, &verified.params, now)
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn only_loopback_peers_are_local() {
        for local in ["127.0.0.1:5", "127.8.0.1:5", "[::1]:5", "[::ffff:127.0.0.1]:5"] {
            assert!(is_loopback(local), "{local}");
        }
        for remote in ["10.0.0.1:5", "[2001:db8::1]:5", "[::ffff:10.0.0.1]:5", "nonsense"] {
            assert!(!is_loopback(remote), "{remote}");
        }
    }
}
