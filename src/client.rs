//! The client: signs each call, sends it over a shared keep-alive pool, reads the
//! envelope, and retries only when doing so can never duplicate a message.
//!
//! # Retries
//!
//! | what happened | idempotent actions (ReportConversion, Describe*, Pull*, *Statistics) | SendSms, SendMultiGlobalSms, Add*, Modify*, Delete* |
//! |---|---|---|
//! | nothing of the request was written: DNS failure, connection refused or reset, connect timeout | retried | retried |
//! | nothing was written, and it would fail the same way again: TLS handshake or certificate refused, a request that cannot be encoded, the proxy refused the tunnel | never | never |
//! | service answered `RequestLimitExceeded*` (it did not act) | retried | retried |
//! | the request was written, then a read timeout, a broken connection, HTTP 5xx, a 200 that is not the envelope | retried | **never** |
//! | service answered `InternalError.SendAndRecvFail`, `InternalError.Timeout`, `InternalError`, `ServiceUnavailable` | retried | **never** |
//! | any other API error, HTTP 4xx, invalid input | never | never |
//! | `AuthFailure.TokenFailure`/`SecretIdNotFound` with a role's temporary keys (it did not act) | once, with new keys | once, with new keys |
//!
//! Whether anything was written is recorded by the transport, not guessed from the
//! error; every transport error's message ends with "the request was not sent" or
//! "the request was sent: the service may have acted on it".
//!
//! Retries use exponential backoff with equal jitter (a pause between half and all of
//! 100 ms · 2ⁿ, at most 2 s), all of them within the call's overall `timeout_ms`; each
//! attempt is signed afresh.

use crate::api::{self, Action, Idempotency, ReportConversionRequest, ReportConversionResponse};
use crate::clock::Clock;
use crate::config::Config;
use crate::error::{codes, Error, ErrorKind};
use crate::events::{AttemptInfo, CallTrace, EventFn, Observer};
use crate::ratelimit::Limiter;
use crate::sign;
use crate::signer::{CredentialSlot, Signer};
use crate::transport::{Method, NameResolver, Request, Response, Stage, Transport, TransportError};
use std::cell::Cell;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod pending;
pub(crate) use pending::{Begun, Parked, Pending, Polled};

/// `X-TC-RequestClient` value.
pub const REQUEST_CLIENT: &str = concat!("tcsms/", env!("CARGO_PKG_VERSION"));
/// The largest response body read.
pub const MAX_RESPONSE_BYTES: u64 = 16 << 20;
const CONTENT_TYPE: &str = "application/json";
/// After waiting for its rate-limit slot, an attempt still needs this share of the time
/// it had left (at most [`MAX_SEND_RESERVE`]) for the exchange, or it is not sent.
const SEND_RESERVE_DIVISOR: u32 = 4;
const MAX_SEND_RESERVE: Duration = Duration::from_secs(1);
const BACKOFF_BASE: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// A Tencent Cloud SMS client. Internally synchronised (`Send + Sync`): share one client
/// between all threads; they share its connection pool, rate limits and statistics.
/// [`Client::set_credentials`] and [`Client::set_event_callback`] may be called at any
/// time from any thread: calls in flight finish with the credentials and the callback
/// they started with, later calls use the new ones.
pub struct Client {
    /// The configuration; its `credentials` are empty: the live ones are in `signer`.
    config: Config,
    /// Connections and HTTP/1.1 exchanges (see [`crate::transport`]).
    transport: Transport,
    /// The credentials, replaceable while calls are in flight (see [`Client::set_credentials`]).
    signer: std::sync::Arc<CredentialSlot>,
    /// Refreshes the credentials of a role source (see [`crate::provider`]).
    refresher: Option<crate::provider::refresh::Refresher>,
    /// The host's clock plus the skew learned from `AuthFailure.SignatureExpire`.
    clock: Clock,
    limiter: Limiter,
    /// The limiter shared through Redis, when `rate_limit_store` is set (then `limiter` is unused).
    store: Option<crate::ratelimit_store::SharedLimiter>,
    /// The event hook and the statistics (see [`crate::events`]).
    observer: std::sync::Arc<Observer>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("config", &self.config).finish_non_exhaustive()
    }
}

/// How far a failed attempt got, which decides whether it may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// The request never left: always safe to retry.
    NotSent,
    /// The request never left, and trying again would fail the same way (a TLS
    /// certificate or handshake refusal, a request that cannot be encoded, a proxy
    /// that refuses the tunnel): not retried.
    NotSentWillRecur,
    /// The service answered that it did not act (rate limited): safe to retry.
    NotActed,
    /// The service may have acted: retry only idempotent actions.
    MaybeActed,
    /// Retrying cannot help.
    Final,
    /// The service refused the temporary keys before acting: one more try with new keys.
    KeysRefused,
}

struct Failure {
    error: Error,
    reach: Reach,
}

impl Failure {
    fn new(reach: Reach, error: Error) -> Failure {
        Failure { error, reach }
    }

    fn retryable(&self, idempotency: Idempotency) -> bool {
        match self.reach {
            Reach::NotSent | Reach::NotActed => true,
            Reach::MaybeActed => idempotency == Idempotency::Idempotent,
            Reach::NotSentWillRecur | Reach::Final | Reach::KeysRefused => false,
        }
    }
}

/// Where a call stands between its attempts.
struct Attempts {
    deadline: Instant,
    /// Retries made so far.
    retries: u32,
    /// Signed again after a clock skew was corrected.
    resigned: bool,
    /// Signed again with new temporary keys.
    rekeyed: bool,
}

impl Attempts {
    fn until(deadline: Instant) -> Attempts {
        Attempts { deadline, retries: 0, resigned: false, rekeyed: false }
    }
}

/// What follows an attempt.
enum Next {
    Done(Result<String, Error>),
    /// Another attempt, after this pause.
    Again(Duration),
}

impl Reach {
    /// Why a failure of this reach is retried (for events).
    fn retry_reason(self) -> &'static str {
        match self {
            Reach::NotSent | Reach::NotSentWillRecur => "not sent: safe to send again",
            Reach::NotActed => "the service did not act (rate limited)",
            Reach::MaybeActed | Reach::Final => "the service may have acted: the action is idempotent",
            Reach::KeysRefused => "temporary keys refused: signed again with new ones",
        }
    }

    /// What the caller learns from a failed exchange about the request's fate.
    fn describe(self) -> &'static str {
        match self {
            Reach::NotSent | Reach::NotSentWillRecur => "the request was not sent",
            Reach::NotActed => "the service did not act on the request",
            Reach::MaybeActed | Reach::Final => "the request was sent: the service may have acted on it",
            Reach::KeysRefused => "the service did not act on the request",
        }
    }
}

/// How far a failed exchange got, what kind of failure it is (kind and code) and the
/// first words of its message.
fn classify_transport_error(error: &TransportError) -> (Reach, ErrorKind, &'static str, &'static str) {
    let reach = match error.stage {
        _ if error.recurs() => Reach::NotSentWillRecur,
        _ if error.written => Reach::MaybeActed,
        _ => Reach::NotSent,
    };
    let (kind, code) =
        if error.timed_out { (ErrorKind::Timeout, codes::TIMEOUT) } else { (ErrorKind::Network, codes::NETWORK) };
    let what = match (error.stage, reach) {
        _ if error.timed_out && reach == Reach::MaybeActed => "no answer within the time limit from",
        _ if error.timed_out => "could not connect in time to",
        (Stage::Tls, _) => "TLS handshake failed with",
        (Stage::Proxy, _) => "the proxy refused the tunnel to",
        (Stage::Resolve, _) => "could not resolve the host of",
        (_, Reach::NotSentWillRecur) => "cannot make a request to",
        (_, Reach::MaybeActed) => "exchange failed after sending to",
        _ => "could not connect to",
    };
    (reach, kind, code, what)
}

impl Client {
    /// Creates a client from a JSON configuration (see [`Config`]).
    pub fn from_json(config_json: &str) -> Result<Client, Error> {
        Client::new(Config::from_json(config_json)?)
    }

    /// Creates a client; builds the connection pool and TLS roots once.
    pub fn new(config: Config) -> Result<Client, Error> {
        Client::with_resolver(config, None)
    }

    /// As [`Client::new`], resolving names with `resolver` instead of the system's: the
    /// hook through which tests simulate DNS failure without resolving a real name. Not part
    /// of the stable interface.
    #[doc(hidden)]
    pub fn with_name_resolver(config: Config, resolver: impl NameResolver) -> Result<Client, Error> {
        Client::with_resolver(config, Some(Box::new(resolver)))
    }

    /// As [`Client::new`], resolving names with `resolver`.
    fn with_resolver(mut config: Config, resolver: Option<Box<dyn NameResolver>>) -> Result<Client, Error> {
        // One resolver for the client's transport and its credential fetchers'.
        let resolver: Option<std::sync::Arc<dyn NameResolver>> = resolver.map(std::sync::Arc::from);
        let share = || resolver.clone().map(|r| Box::new(r) as Box<dyn NameResolver>);
        let transport = Transport::new(
            &config.endpoint.url,
            &config.endpoint.authority,
            config.proxy.as_ref().map(|url| url.expose()),
            config.ca_file.as_deref(),
            REQUEST_CLIENT,
            share(),
        )?;
        let observer = std::sync::Arc::new(Observer::new(config.log_phone_numbers));
        let credentials = config.credentials.take();
        if let Some(warning) = credentials.warning() {
            observer.warn(warning.to_owned());
        }
        let settings = crate::provider::fetch::Settings {
            region: &config.region,
            connect_timeout: config.connect_timeout,
            proxy: config.proxy.as_ref().map(|url| url.expose()),
            ca_file: config.ca_file.as_deref(),
            user_agent: REQUEST_CLIENT,
        };
        let (signer, refresher) = crate::provider::client_parts(
            credentials,
            config.credential_provider.clone(),
            &settings,
            &share,
            &observer,
        )?;
        let limiter = Limiter::new(&config.rate_limits);
        let store = match &config.rate_limit_store {
            Some(store) => Some(crate::ratelimit_store::SharedLimiter::new(store, &config.rate_limits)?),
            None => None,
        };
        Ok(Client { config, transport, signer, refresher, clock: Clock::default(), limiter, store, observer })
    }

    /// The configuration, without its credentials (see [`Client::set_credentials`]).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Replaces the credentials (for example temporary ones about to expire). Safe while
    /// calls are in flight: calls already signing finish with the old credentials, later
    /// ones use the new; the connection pool is kept; the old secrets are zeroed when
    /// the last call using them ends. `token`: `None` (or empty) for none.
    pub fn set_credentials(&self, secret_id: &str, secret_key: &str, token: Option<&str>) -> Result<(), Error> {
        use crate::credentials::{CredentialSource, Credentials};
        if let Some(refresher) = &self.refresher {
            return Err(Error::invalid_argument(format!(
                "this client fetches and refreshes its own credentials ({}); set_credentials is for clients \
                 configured with fixed keys",
                refresher.source()
            )));
        }
        let credentials = Credentials::new(secret_id, secret_key, token, CredentialSource::Config)?;
        self.signer.replace(Signer::new(credentials));
        Ok(())
    }

    /// Seconds the service's clock runs ahead of the host's (negative: behind), as
    /// learned from the last `AuthFailure.SignatureExpire`; 0 until then.
    pub fn clock_offset(&self) -> i64 {
        self.clock.offset()
    }

    /// Installs (`Some`) or removes (`None`) the event callback: one JSON event per
    /// attempt and one per call, on the calling thread (see [`crate::events`]). Safe at
    /// any time, from any thread; calls in flight keep the callback they started with.
    pub fn set_event_callback(&self, callback: Option<Box<EventFn>>) {
        self.observer.set_hook(callback.map(std::sync::Arc::from));
    }

    /// Removes the event callback for good, also for calls in flight or queued: when this
    /// returns, the callback is not running on another thread and will not be called
    /// again (what it uses may be freed). For a client whose handle is released while
    /// calls submitted to a completion queue are still pending.
    pub fn detach_event_callback(&self) {
        self.observer.detach();
    }

    /// The statistics since the client was made, as JSON (see [`crate::events`]).
    pub fn stats_json(&self) -> String {
        self.observer.stats_json()
    }

    /// Calls any action with a JSON object of its parameters. Returns the service's body
    /// as received (`{"Response":{...,"RequestId":...}}`).
    pub fn call(&self, action: &str, request_json: &str) -> Result<String, Error> {
        self.call_with_timeout(action, request_json, None)
    }

    /// As [`Client::call`]; `timeout`, when given, caps this call at
    /// min(timeout, the client's `timeout_ms`).
    pub fn call_with_timeout(
        &self,
        action: &str,
        request_json: &str,
        timeout: Option<Duration>,
    ) -> Result<String, Error> {
        let action = lookup_action(action)?;
        let body = check_request_json(request_json)?;
        self.execute(action, body.as_bytes(), timeout)
    }

    /// ReportConversion; returns the service's body as received.
    pub fn report_conversion(&self, request: &ReportConversionRequest) -> Result<String, Error> {
        let body = serde_json::to_vec(request)
            .map_err(|e| Error::invalid_argument(format!("cannot encode the request: {e}")))?;
        let action = lookup_action("ReportConversion")?;
        self.execute(action, &body, None)
    }

    /// ReportConversion, decoded into the typed response.
    pub fn report_conversion_typed(
        &self,
        request: &ReportConversionRequest,
    ) -> Result<ReportConversionResponse, Error> {
        let body = self.report_conversion(request)?;
        serde_json::from_str::<api::Envelope<ReportConversionResponse>>(&body).map(|e| e.response).map_err(|e| {
            decode_error(
                format!("ReportConversion answer has an unexpected shape: {e}"),
                body.as_bytes(),
                &self.secrets(&self.signer.current()),
            )
        })
    }

    /// Opens and handshakes connections before the first calls, so that up to `count`
    /// (at most 64) idle connections wait; returns how many wait.
    /// Nothing is sent on them. Takes at most `timeout` (and the client's `timeout_ms`).
    /// When the endpoint cannot be reached, the error says so and the client is as
    /// before (the connections opened so far stay in the pool).
    pub fn connect_ahead(&self, count: usize, timeout: Option<Duration>) -> Result<usize, Error> {
        let limit = timeout.map_or(self.config.timeout, |t| t.min(self.config.timeout));
        let deadline = Instant::now() + limit;
        self.transport
            .connect_ahead(count, deadline, self.config.connect_timeout)
            .map_err(|failed| self.transport_failure(failed, &self.signer.current()).error)
    }

    fn execute(&self, action: &'static Action, body: &[u8], timeout: Option<Duration>) -> Result<String, Error> {
        if crate::events::in_callback() {
            return Err(crate::events::reentrant_error(action.name));
        }
        let mut trace = self.observer.trace(action, body);
        let result = self.execute_traced(action, body, timeout, &mut trace);
        trace.finish(result.as_deref(), self.clock.offset());
        result
    }

    fn execute_traced(
        &self,
        action: &Action,
        body: &[u8],
        timeout: Option<Duration>,
        trace: &mut CallTrace<'_>,
    ) -> Result<String, Error> {
        let limit = timeout.map_or(self.config.timeout, |t| t.min(self.config.timeout));
        let mut attempts = Attempts::until(Instant::now() + limit);
        self.attempt_until_done(action, body, &mut attempts, trace)
    }

    /// Attempts until one ends the call: the blocking loop of every call.
    fn attempt_until_done(
        &self,
        action: &Action,
        body: &[u8],
        attempts: &mut Attempts,
        trace: &mut CallTrace<'_>,
    ) -> Result<String, Error> {
        loop {
            let mut info = AttemptInfo::start(self.clock.offset());
            let outcome = self.attempt(action, body, attempts.deadline, &mut info);
            match self.after_attempt(action, attempts, trace, &info, outcome) {
                Next::Done(result) => return result,
                Next::Again(pause) => std::thread::sleep(pause),
            }
        }
    }

    /// Records an attempt's outcome and decides what follows: the call's end, or another
    /// attempt after a pause.
    fn after_attempt(
        &self,
        action: &Action,
        attempts: &mut Attempts,
        trace: &mut CallTrace<'_>,
        info: &AttemptInfo,
        outcome: Result<String, Failure>,
    ) -> Next {
        let failure = match outcome {
            Ok(answer) => {
                trace.attempt(info, Ok(answer.as_str()), None, self.clock.offset());
                return Next::Done(Ok(answer));
            }
            Err(failure) => failure,
        };
        let ends = |trace: &mut CallTrace<'_>, failure: Failure| {
            trace.attempt(info, Err(&failure.error), None, self.clock.offset());
            Next::Done(Err(failure.error))
        };
        // Refused for clock skew (before acting): sign with the corrected time once more.
        if !attempts.resigned
            && failure.error.code() == crate::clock::SIGNATURE_EXPIRE
            && self.clock.offset() != info.clock_offset_before
        {
            attempts.resigned = true;
            let reason = Some(("clock skew corrected: signed again with the service's time", Duration::ZERO));
            trace.attempt(info, Err(&failure.error), reason, self.clock.offset());
            return Next::Again(Duration::ZERO);
        }
        // Temporary keys the service refused: signed again once with new ones.
        if !attempts.rekeyed && failure.reach == Reach::KeysRefused {
            attempts.rekeyed = true;
            let reason = Some(("temporary keys refused: signed again with new ones", Duration::ZERO));
            trace.attempt(info, Err(&failure.error), reason, self.clock.offset());
            return Next::Again(Duration::ZERO);
        }
        if attempts.retries >= self.config.max_retries || !failure.retryable(action.idempotency) {
            return ends(trace, failure);
        }
        let pause = backoff(attempts.retries);
        if Instant::now() + pause >= attempts.deadline {
            return ends(trace, failure);
        }
        trace.attempt(info, Err(&failure.error), Some((failure.reach.retry_reason(), pause)), self.clock.offset());
        attempts.retries += 1;
        Next::Again(pause)
    }

    /// One try: sign, send, read and judge the answer.
    fn attempt(
        &self,
        action: &Action,
        body: &[u8],
        deadline: Instant,
        info: &mut AttemptInfo,
    ) -> Result<String, Failure> {
        if deadline <= Instant::now() {
            return Err(Failure::new(Reach::Final, timeout_error(&self.config)));
        }
        // A call whose rate-limit slot comes too late to be answered in time is not sent
        // (it would time out after the service may have acted): a share of the time
        // left is kept for the exchange.
        let left = deadline.saturating_duration_since(Instant::now());
        let send_by = deadline - (left / SEND_RESERVE_DIVISOR).min(MAX_SEND_RESERVE);
        info.rate_limit_wait = match &self.store {
            Some(store) => store.acquire(action, send_by, &self.observer),
            None => self.limiter.acquire(action, send_by),
        }
        .map_err(|e| Failure::new(Reach::Final, e))?;
        let signer = match &self.refresher {
            Some(refresher) => refresher.signer(deadline).map_err(|e| Failure::new(Reach::Final, e))?,
            None => self.signer.current(),
        };
        let response = self
            .signed_exchange(action, body, &signer, deadline)
            .map_err(|failed| self.transport_failure(failed, &signer))?;
        self.conclude(action, body, response, &signer, info)
    }

    /// Judges the answer to an attempt's request (`body`, signed by `signer`): the
    /// connection goes back to the pool when the answer fits, the clock is corrected
    /// and refused keys are noted.
    fn conclude(
        &self,
        action: &Action,
        body: &[u8],
        mut response: Response,
        signer: &std::sync::Arc<Signer>,
        info: &mut AttemptInfo,
    ) -> Result<String, Failure> {
        info.bytes_received = response.body.len() as u64;
        let reuse = response.reuse.take();
        let judged = self.judge(action, body, response.status, response.body, signer);
        // The connection carries another request only after an answer that fits this
        // one: a success with the action's result fields, or the service's error.
        if let Some(reuse) = reuse {
            if judged.as_ref().map_or_else(|failure| failure.error.kind() == ErrorKind::Api, |_| true) {
                self.transport.reuse(reuse);
            }
        }
        judged.map_err(|mut failure| {
            if failure.error.code() == crate::clock::SIGNATURE_EXPIRE {
                response.date.as_deref().map(|date| self.clock.correct_from_date(date));
            }
            // Temporary keys refused (the action did not run): new keys, one more try.
            if matches!(failure.error.code(), "AuthFailure.TokenFailure" | "AuthFailure.SecretIdNotFound")
                && self.refresher.as_ref().is_some_and(|r| r.refused(signer))
            {
                failure.reach = Reach::KeysRefused;
            }
            failure
        })
    }

    /// Signs a request for `action` now and exchanges it. The transport writes the
    /// request line and the framing headers (`Host`, `Content-Type`, `Content-Length`,
    /// `User-Agent`); the client adds the TC3 headers, whose signature covers the content
    /// type given here and the `Host` the transport says it writes. The token goes from
    /// the credentials straight into the connection's output buffer, which is zeroed
    /// when the connection is dropped.
    fn signed_exchange(
        &self,
        action: &Action,
        body: &[u8],
        signer: &Signer,
        deadline: Instant,
    ) -> Result<Response, TransportError> {
        self.signed(action, body, signer, |request| {
            self.transport.exchange(request, deadline, self.config.connect_timeout, MAX_RESPONSE_BYTES)
        })
    }

    /// Signs a request for `action` now and hands it to `send`.
    fn signed<R>(&self, action: &Action, body: &[u8], signer: &Signer, send: impl FnOnce(&Request<'_>) -> R) -> R {
        let timestamp = self.clock.now();
        let (date, key) = signer.signing_key(timestamp);
        let authorization = sign::sign_post(
            signer.credentials().secret_id(),
            &key,
            &date,
            timestamp,
            CONTENT_TYPE,
            self.transport.host(),
            body,
        );
        let mut time = itoa::Buffer::new();
        // The token and the language are the only headers that may be absent.
        let headers: [(&str, Option<&str>); 8] = [
            ("Authorization", Some(&authorization)),
            ("X-TC-Action", Some(action.name)),
            ("X-TC-Version", Some(api::API_VERSION)),
            ("X-TC-Timestamp", Some(time.format(timestamp))),
            ("X-TC-Region", Some(&self.config.region)),
            ("X-TC-RequestClient", Some(REQUEST_CLIENT)),
            ("X-TC-Token", signer.token()),
            ("X-TC-Language", self.config.language.map(|l| l.as_str())),
        ];
        // `sign_post` signs `POST /`.
        let request =
            Request { method: Method::Post, path: "/", content_type: Some(CONTENT_TYPE), headers: &headers, body };
        send(&request)
    }

    /// The body of a 200 answer that is the service's success envelope and fits the
    /// request (`body`), or the failure that the status or the content stands for.
    fn judge(
        &self,
        action: &Action,
        body: &[u8],
        status: u16,
        answer: Vec<u8>,
        signer: &Signer,
    ) -> Result<String, Failure> {
        if status != 200 {
            let reach = if status >= 500 { Reach::MaybeActed } else { Reach::Final };
            let shown = excerpt(&answer, &self.secrets(signer));
            let message = format!("HTTP status {status} from {}: {shown}", self.config.endpoint.url);
            return Err(Failure::new(reach, Error::local(ErrorKind::HttpStatus, codes::HTTP_STATUS, message)));
        }
        // One pass over the answer for both the head and what ties it to its request.
        let numbers_in = numbers_field(action);
        let (head, keys) = match api::parse_answer(&answer, action.result_fields, numbers_in) {
            Some((head, keys)) => (Some(head), keys),
            None => (None, None),
        };
        let answer = interpret_parsed(answer, head, || self.secrets(signer))?;
        match answer_misfit(action, body, keys) {
            None => Ok(answer),
            Some(why) => Err(Failure::new(
                Reach::MaybeActed,
                decode_error(
                    format!("the answer is not an answer to this {} request: {why}", action.name),
                    answer.as_bytes(),
                    &self.secrets(signer),
                ),
            )),
        }
    }

    /// The failure of an exchange that did not bring an answer.
    fn transport_failure(&self, failed: TransportError, signer: &Signer) -> Failure {
        if failed.stage == Stage::TooLarge {
            let message = format!("response is larger than {MAX_RESPONSE_BYTES} bytes");
            return Failure::new(Reach::Final, Error::local(ErrorKind::Decode, codes::DECODE, message));
        }
        if failed.stage == Stage::HeadTooLarge {
            let message = format!(
                "the answer from {} has more than {} header lines and cannot be read; {}",
                self.config.endpoint.url,
                crate::transport::MAX_HEADERS,
                Reach::MaybeActed.describe()
            );
            return Failure::new(Reach::MaybeActed, Error::local(ErrorKind::Decode, codes::DECODE, message));
        }
        let (reach, kind, code, what) = classify_transport_error(&failed);
        let message = format!("{what} {}: {}; {}", self.config.endpoint.url, failed, reach.describe());
        Failure::new(reach, Error::local(kind, code, redact_secrets(message, &self.secrets(signer))))
    }

    /// The secrets that must never appear in a message: the secret key, the token and
    /// the proxy password.
    fn secrets<'a>(&'a self, signer: &'a Signer) -> Vec<&'a str> {
        let credentials = signer.credentials();
        let mut secrets = vec![credentials.secret_key().expose()];
        secrets.extend(credentials.token().map(|t| t.expose()));
        secrets.extend(self.config.proxy.as_ref().and_then(|p| proxy_password(p.expose())));
        secrets
    }
}

/// The shortest run of hex digits taken for a request signature (TC3's is 64).
const SIGNATURE_HEX_DIGITS: usize = 64;

/// Whether `text` holds a run of hex digits as long as a request signature.
fn holds_signature(text: &str) -> bool {
    text.as_bytes().split(|b| !b.is_ascii_hexdigit()).any(|run| run.len() >= SIGNATURE_HEX_DIGITS)
}

/// `text` from the server with the secrets and anything like a request signature (a
/// run of [`SIGNATURE_HEX_DIGITS`] or more hex digits) replaced by `<redacted>`.
fn scrub(text: &str, secrets: &[&str]) -> String {
    let text = redact_secrets(text.to_owned(), secrets);
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while at < bytes.len() {
        let run = bytes[at..].iter().take_while(|b| b.is_ascii_hexdigit()).count();
        if run >= SIGNATURE_HEX_DIGITS {
            out.push_str("<redacted>");
            at += run;
        } else if run > 0 {
            out.push_str(&text[at..at + run]);
            at += run;
        } else {
            let c = text[at..].chars().next().unwrap_or(' ');
            out.push(c);
            at += c.len_utf8();
        }
    }
    out
}

/// A success answer as the caller, events and `send_sms` see it. When the server put a
/// secret anywhere in it, or a secret or a signature into its `RequestId` (an echoing
/// server), every string of it has the secrets replaced and the `RequestId` is
/// [`scrub`]bed; otherwise (every real answer) it is the body as received. Only the
/// `RequestId` loses its hex runs: the rest may hold the caller's own data (a hash in
/// `SessionContext`, say).
fn scrub_success(body: String, request_id: Option<&str>, secrets: &[&str]) -> String {
    // Without allocating: every real answer takes this way.
    if !redactable(secrets).any(|s| holds(&body, s)) && request_id.is_none_or(|id| !holds_signature(id)) {
        return body;
    }
    fn redact_all(value: &mut serde_json::Value, secrets: &[&str]) {
        match value {
            serde_json::Value::String(text) => *text = redact_secrets(std::mem::take(text), secrets),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|item| redact_all(item, secrets)),
            serde_json::Value::Object(map) => {
                *map = std::mem::take(map)
                    .into_iter()
                    .map(|(key, mut item)| {
                        redact_all(&mut item, secrets);
                        (redact_secrets(key, secrets), item)
                    })
                    .collect();
            }
            _ => {}
        }
    }
    // A success answer is an envelope (parse_envelope_head read it): this parses.
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(&body) else {
        return redact_secrets(body, secrets);
    };
    redact_all(&mut value, secrets);
    if let Some(serde_json::Value::String(id)) = value.get_mut("Response").and_then(|r| r.get_mut("RequestId")) {
        *id = scrub(id, secrets);
    }
    value.to_string()
}

/// The secrets long enough to be redacted (a shorter one would blank out ordinary text).
fn redactable<'a>(secrets: &'a [&'a str]) -> impl Iterator<Item = &'a str> + 'a {
    secrets.iter().copied().filter(|s| s.len() >= 4)
}

/// Whether `text` holds `secret`. Its first 32 bytes are looked for first: std finds a
/// needle of up to 32 bytes with SIMD, while a longer one (a 33-byte key, a token of a
/// kilobyte or more) builds a Two-Way searcher on every call, thousands of
/// instructions; only when that prefix is there is the whole secret looked for.
fn holds(text: &str, secret: &str) -> bool {
    let mut end = secret.len().min(32);
    while !secret.is_char_boundary(end) {
        end -= 1;
    }
    text.contains(&secret[..end]) && (end == secret.len() || text.contains(secret))
}

/// Replaces each secret in `message` by `<redacted>`.
fn redact_secrets(mut message: String, secrets: &[&str]) -> String {
    for secret in redactable(secrets) {
        if holds(&message, secret) {
            message = message.replace(secret, "<redacted>");
        }
    }
    message
}

fn proxy_password(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let userinfo = rest.split_once('@')?.0;
    userinfo.split_once(':').map(|(_, password)| password)
}

fn lookup_action(name: &str) -> Result<&'static Action, Error> {
    api::find_action(name).ok_or_else(|| {
        Error::local(
            ErrorKind::InvalidArgument,
            codes::UNKNOWN_ACTION,
            format!(
                "unknown action `{name}`; the SMS API 2021-01-11 has: {}",
                api::ACTIONS.iter().map(|a| a.name).collect::<Vec<_>>().join(", ")
            ),
        )
    })
}

/// Checks that the request is one JSON object, without re-encoding it: the exact bytes
/// given are signed and sent.
fn check_request_json(json: &str) -> Result<&str, Error> {
    let trimmed = json.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
    let invalid = |why: String| Error::local(ErrorKind::InvalidJson, codes::INVALID_JSON, why);
    if !trimmed.starts_with('{') {
        return Err(invalid("request must be a JSON object, like {\"SmsSdkAppId\":\"1400000001\"}".into()));
    }
    serde_json::from_str::<serde::de::IgnoredAny>(trimmed)
        .map_err(|e| invalid(format!("request is not valid JSON: {e}")))?;
    Ok(trimmed)
}

/// [`interpret_parsed`], parsing the head itself.
#[cfg(test)]
fn interpret_answer<'a>(answer: Vec<u8>, secrets: impl Fn() -> Vec<&'a str>) -> Result<String, Failure> {
    let head = api::parse_envelope_head(&answer);
    interpret_parsed(answer, head, secrets)
}

/// Turns a 200 answer into the body (success) or the service's error, given its
/// envelope's head (`None`: the answer is no envelope).
fn interpret_parsed<'a>(
    answer: Vec<u8>,
    head: Option<api::ResponseHead>,
    secrets: impl Fn() -> Vec<&'a str>,
) -> Result<String, Failure> {
    let Some(head) = head else {
        return Err(Failure::new(
            Reach::MaybeActed,
            decode_error("answer is not the service's JSON envelope {\"Response\":{...}}".into(), &answer, &secrets()),
        ));
    };
    let body = String::from_utf8(answer).map_err(|e| {
        Failure::new(Reach::MaybeActed, decode_error("answer is not UTF-8".into(), e.as_bytes(), &secrets()))
    })?;
    match head.error {
        None => Ok(scrub_success(body, head.request_id.as_deref(), &secrets())),
        Some(error) => {
            let reach = classify_api_error(&error.code);
            // What the server wrote reaches events, error envelopes and exceptions: an
            // echoing server must not put the request's secrets or signature there.
            let secrets = secrets();
            let code = scrub(&error.code, &secrets);
            let message = scrub(&error.message, &secrets);
            let request_id = scrub(head.request_id.as_deref().unwrap_or_default(), &secrets);
            let body = if scrub(&body, &secrets) == body {
                body
            } else {
                serde_json::json!({"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id}})
                    .to_string()
            };
            Err(Failure::new(reach, Error::api(code, message, request_id, body)))
        }
    }
}

/// The array of a success answer that lists the numbers sent to (SendSms and
/// SendMultiGlobalSms).
fn numbers_field(action: &Action) -> Option<&'static str> {
    match action.name {
        "SendSms" => Some("SendStatusSet"),
        "SendMultiGlobalSms" => Some("SendMultiStatusSet"),
        _ => None,
    }
}

/// Why a success answer does not fit the request `body` of `action`, or `None` when it
/// does: it must have the action's result fields, and for SendSms and
/// SendMultiGlobalSms list only numbers that were in the request. HTTP/1.1 carries no
/// request identity: this is what the client can check that an answer is its own (an
/// answer to another request on a desynchronised connection, say). `keys`: what
/// [`api::parse_answer`] read of the answer.
fn answer_misfit(action: &Action, body: &[u8], keys: Option<api::AnswerKeys>) -> Option<String> {
    let numbers_in = numbers_field(action);
    let Some(keys) = keys else {
        return Some(format!("its {} is not a list of objects", numbers_in.unwrap_or("Response")));
    };
    if let Some((_, missing)) = action.result_fields.iter().enumerate().find(|(i, _)| keys.present & (1 << i) == 0) {
        return Some(format!("it has no {missing}, which every {} answer has", action.name));
    }
    // Only the sending actions list numbers.
    numbers_in?;
    // The numbers of the request, normalised as the service answers them (`+86...`).
    #[derive(serde::Deserialize)]
    struct Item {
        #[serde(rename = "PhoneNumber", default)]
        phone_number: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Sent {
        #[serde(rename = "PhoneNumberSet", default)]
        set: Vec<String>,
        #[serde(rename = "MultiSmsInfoSet", default)]
        multi: Vec<Item>,
    }
    let normalized = |n: &str| api::normalize_phone_number(n).unwrap_or_else(|| n.to_owned());
    // A request that cannot be read this way was refused by the service, not answered.
    let sent: Sent = serde_json::from_slice(body).ok()?;
    let sent: std::collections::HashSet<String> = sent
        .set
        .iter()
        .map(|n| normalized(n))
        .chain(sent.multi.iter().filter_map(|i| Some(normalized(i.phone_number.as_deref()?))))
        .collect();
    let unnumbered = keys.numbers.iter().filter(|n| n.is_none()).count();
    let foreign = keys.numbers.iter().flatten().filter(|n| !sent.contains(&normalized(n))).count();
    match (unnumbered, foreign) {
        (0, 0) => None,
        (0, _) => Some(format!("it lists {foreign} number(s) that were not in the request")),
        _ => Some(format!("{unnumbered} of its entries have no PhoneNumber")),
    }
}

/// How an API error code bears on retrying; see the table in the module docs.
fn classify_api_error(code: &str) -> Reach {
    if code == "RequestLimitExceeded" || code.starts_with("RequestLimitExceeded.") {
        Reach::NotActed
    } else if matches!(
        code,
        "InternalError.SendAndRecvFail" | "InternalError.Timeout" | "InternalError" | "ServiceUnavailable"
    ) {
        Reach::MaybeActed
    } else {
        Reach::Final
    }
}

fn decode_error(why: String, answer: &[u8], secrets: &[&str]) -> Error {
    Error::local(ErrorKind::Decode, codes::DECODE, format!("{why}; it starts with: {}", excerpt(answer, secrets)))
}

fn timeout_error(config: &Config) -> Error {
    Error::local(
        ErrorKind::Timeout,
        codes::TIMEOUT,
        format!("no answer from {} within the time limit", config.endpoint.url),
    )
}

/// How much of a body is searched for echoed headers and secrets.
const EXCERPT_SCAN: usize = 64 << 10;

/// Words that mark a body as an echo of the request's headers (as servers and proxies
/// that mirror a request write them): such a body is not shown at all.
const ECHO_MARKERS: [&str; 3] = ["authorization", "x-tc-token", "tc3-hmac-sha256"];

/// The first 200 characters of a body, printable, with `secrets` redacted; nothing of a
/// body that repeats the request's headers (`X-TC-Token`, `Authorization`,
/// `Proxy-Authorization`).
fn excerpt(body: &[u8], secrets: &[&str]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT_SCAN)]);
    let lower = text.to_ascii_lowercase();
    if ECHO_MARKERS.iter().any(|marker| lower.contains(marker)) {
        return format!("({} bytes, not shown: they repeat the request's headers)", body.len());
    }
    // Redacted before it is cut, so that no prefix of a secret survives the cut; a
    // signature (a run of 64 hex digits) is not shown either.
    let text = scrub(&text, secrets);
    let mut out: String = text.chars().take(200).map(|c| if c.is_control() { ' ' } else { c }).collect();
    if text.chars().count() > 200 || body.len() > EXCERPT_SCAN {
        out.push('…');
    }
    if out.trim().is_empty() {
        "(empty body)".to_owned()
    } else {
        out
    }
}

/// Exponential backoff with equal jitter for retry number `attempt` (0-based): between
/// half and all of 100 ms · 2ⁿ (capped at 2 s).
fn backoff(attempt: u32) -> Duration {
    let ceiling = BACKOFF_BASE.saturating_mul(1 << attempt.min(16)).min(BACKOFF_MAX);
    let fraction = (next_random() % 1000) as u32;
    // Between half and all of the ceiling, so retries never hammer the service.
    ceiling / 2 + ceiling * fraction / 2000
}

fn next_random() -> u64 {
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
            let here = &nanos as *const u64 as u64;
            (nanos ^ here.rotate_left(32)) | 1
        });
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        x
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_secret_is_found_by_its_prefix_then_whole() {
        let long = "k".repeat(31) + "é-and-the-rest-of-a-long-token";
        for (text, secret, found) in [
            ("ab", "abc", false),
            ("xxabcxx", "abc", true),
            (&*format!("..{long}.."), &*long, true),
            // The prefix alone is not the secret.
            (&*format!("..{}..", &long[..40]), &*long, false),
            (&*"k".repeat(31), &*long, false),
        ] {
            assert_eq!(super::holds(text, secret), found, "{text:?} / {secret:?}");
            assert_eq!(super::holds(text, secret), text.contains(secret));
        }
    }

    use super::*;

    #[test]
    fn retry_classification_never_resends_messages() {
        use Idempotency::*;
        let cases = [
            (Reach::NotSent, true, true),
            (Reach::NotActed, true, true),
            (Reach::MaybeActed, true, false),
            (Reach::Final, false, false),
        ];
        for (reach, idempotent, not_idempotent) in cases {
            let f = Failure::new(reach, Error::invalid_argument("x"));
            assert_eq!(f.retryable(Idempotent), idempotent, "{reach:?}");
            assert_eq!(f.retryable(NotIdempotent), not_idempotent, "{reach:?}");
        }
        assert_eq!(classify_api_error("RequestLimitExceeded"), Reach::NotActed);
        assert_eq!(classify_api_error("RequestLimitExceeded.UinLimitExceeded"), Reach::NotActed);
        assert_eq!(classify_api_error("RequestLimitExceededX"), Reach::Final);
        assert_eq!(classify_api_error("InternalError.SendAndRecvFail"), Reach::MaybeActed);
        assert_eq!(classify_api_error("AuthFailure.SignatureFailure"), Reach::Final);
        assert_eq!(classify_api_error("LimitExceeded.PhoneNumberDailyLimit"), Reach::Final);
    }

    #[test]
    fn answers_are_interpreted() {
        let ok = br#"{"Response":{"RequestId":"r"}}"#.to_vec();
        assert_eq!(interpret_answer(ok.clone(), Vec::new).ok().unwrap().as_bytes(), &ok[..]);
        let err = br#"{"Response":{"Error":{"Code":"RequestLimitExceeded","Message":"slow down"},"RequestId":"r9"}}"#;
        let f = interpret_answer(err.to_vec(), Vec::new).err().unwrap();
        assert_eq!((f.reach, f.error.code(), f.error.request_id()), (Reach::NotActed, "RequestLimitExceeded", "r9"));
        assert_eq!(f.error.to_envelope_json().as_bytes(), &err[..]);
        let f = interpret_answer(b"<html>oops</html>".to_vec(), Vec::new).err().unwrap();
        assert_eq!(f.error.kind(), ErrorKind::Decode);
        assert!(f.error.message().contains("<html>oops"));
    }

    #[test]
    fn server_strings_in_api_errors_are_scrubbed_of_secrets_and_signatures() {
        let signature = "a".repeat(64);
        let err = format!(
            r#"{{"Response":{{"Error":{{"Code":"AuthFailure.tok-SECRET-tok","Message":"you sent Signature={signature}, token tok-SECRET-tok"}},"RequestId":"tok-SECRET-tok"}}}}"#
        );
        let f = interpret_answer(err.into_bytes(), || vec!["tok-SECRET-tok"]).err().unwrap();
        let shown = format!("{} {:?} {}", f.error, f.error, f.error.to_envelope_json());
        assert!(!shown.contains("SECRET") && !shown.contains(&signature), "{shown}");
        assert_eq!(f.error.code(), "AuthFailure.<redacted>");
        assert!(f.error.message().contains("Signature=<redacted>"), "{}", f.error.message());
        // Short hex runs (RequestIds, codes) are kept.
        assert_eq!(scrub("id 3f2a-9c1b deadbeef", &[]), "id 3f2a-9c1b deadbeef");
    }

    #[test]
    fn server_strings_in_success_answers_are_scrubbed_of_secrets_and_signatures() {
        let signature = "b".repeat(64);
        // An echoing server: the token and the signature in the RequestId, the token in
        // an entry's Message and in a key.
        for request_id in ["tok-SECRET-tok".to_owned(), format!("Signature={signature}")] {
            let answer = format!(
                r#"{{"Response":{{"SendStatusSet":[{{"PhoneNumber":"+8613800000000","Code":"Ok","Message":"echo tok-SECRET-tok","SessionContext":"{signature}"}}],"x-tok-SECRET-tok":1,"RequestId":"{request_id}"}}}}"#
            );
            let got = interpret_answer(answer.into_bytes(), || vec!["tok-SECRET-tok"]).ok().expect("a success");
            assert!(!got.contains("SECRET"), "{got}");
            let head = api::parse_envelope_head(got.as_bytes()).expect("still an envelope");
            let id = head.request_id.unwrap();
            assert!(id.contains("<redacted>") && !id.contains(&signature), "{id}");
            // The caller's own data (a hash in SessionContext) is kept.
            let value: serde_json::Value = serde_json::from_str(&got).unwrap();
            assert_eq!(value["Response"]["SendStatusSet"][0]["SessionContext"], signature.as_str());
            assert_eq!(value["Response"]["SendStatusSet"][0]["Message"], "echo <redacted>");
        }
        // A real answer is returned as received, byte for byte.
        let real = r#"{"Response":{"SendStatusSet":[],"RequestId":"3f2a9c1b-0c9e-4d5a-8f1e-2b7c6d5e4f3a"}}"#;
        assert_eq!(interpret_answer(real.as_bytes().to_vec(), || vec!["tok-SECRET-tok"]).ok().as_deref(), Some(real));
    }

    #[test]
    fn request_json_is_checked_not_rewritten() {
        assert_eq!(check_request_json(" {\"A\": 1}\n").unwrap(), "{\"A\": 1}");
        for bad in ["", "[]", "1", "{", "{\"A\":}", "{} {}"] {
            assert_eq!(check_request_json(bad).unwrap_err().kind(), ErrorKind::InvalidJson, "{bad}");
        }
    }

    #[test]
    fn unknown_actions_are_local_errors() {
        let e = lookup_action("SendSMS").unwrap_err();
        assert_eq!((e.kind(), e.code()), (ErrorKind::InvalidArgument, codes::UNKNOWN_ACTION));
        assert!(e.message().contains("SendSms"));
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        for attempt in 0..20 {
            let b = backoff(attempt);
            let ceiling = BACKOFF_BASE.saturating_mul(1 << attempt.min(16)).min(BACKOFF_MAX);
            assert!(b >= ceiling / 2 && b <= ceiling, "{attempt}: {b:?}");
        }
    }

    #[test]
    fn excerpts_are_short_and_printable() {
        let long = "x\n".repeat(1000);
        let e = excerpt(long.as_bytes(), &[]);
        assert!(e.chars().count() <= 201 && !e.contains('\n'));
        assert_eq!(excerpt(b"", &[]), "(empty body)");
        // Secrets are redacted before the cut: no prefix of one survives it.
        let body = format!("{}sekrit-token-value and more", "x".repeat(195));
        let e = excerpt(body.as_bytes(), &["sekrit-token-value"]);
        assert!(!e.contains("sekr") && e.starts_with("xxx"), "{e}");
        // A body that repeats the request's headers is not shown at all.
        for echo in
            ["X-TC-Token: abc", "\"Proxy-Authorization\": \"Basic dXNlcjpwdw==\"", "TC3-HMAC-SHA256 Credential=AKID"]
        {
            let e = excerpt(echo.as_bytes(), &[]);
            assert!(e.contains("not shown") && !e.contains("abc") && !e.contains("dXNl") && !e.contains("AKID"), "{e}");
        }
        assert_eq!(proxy_password("http://user:pw@host:1"), Some("pw"));
        assert_eq!(proxy_password("http://host:1"), None);
    }

    #[test]
    fn transport_errors_say_whether_the_request_may_have_reached_the_service() {
        let error = |stage, timed_out, written| TransportError { stage, timed_out, written, detail: String::new() };
        let cases = [
            (error(Stage::Tls, false, false), Reach::NotSentWillRecur, "TLS handshake failed with"),
            (error(Stage::Setup, false, false), Reach::NotSentWillRecur, "cannot make a request to"),
            (error(Stage::Proxy, false, false), Reach::NotSentWillRecur, "the proxy refused the tunnel to"),
            (error(Stage::Resolve, false, false), Reach::NotSent, "could not resolve the host of"),
            (error(Stage::Connect, false, false), Reach::NotSent, "could not connect to"),
            (error(Stage::Connect, true, false), Reach::NotSent, "could not connect in time to"),
            (error(Stage::Exchange, false, true), Reach::MaybeActed, "exchange failed after sending to"),
            (error(Stage::Exchange, true, true), Reach::MaybeActed, "no answer within the time limit from"),
        ];
        for (failed, want, words) in cases {
            let (reach, kind, _, what) = classify_transport_error(&failed);
            assert_eq!((reach, what), (want, words), "{failed:?}");
            assert_eq!(kind == ErrorKind::Timeout, failed.timed_out, "{failed:?}");
        }
        assert!(!Failure::new(Reach::NotSentWillRecur, Error::invalid_argument("x")).retryable(Idempotency::Idempotent));
    }

    #[test]
    fn client_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Client>();
    }
}
