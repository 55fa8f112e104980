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
use crate::dns::CachingResolver;
use crate::error::{codes, Error, ErrorKind};
use crate::events::{AttemptInfo, CallTrace, EventFn, Observer};
use crate::http::{Failed, Http};
use crate::ratelimit::Limiter;
use crate::sign;
use crate::signer::{CredentialSlot, Signer};
use std::cell::Cell;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// `X-TC-RequestClient` value.
pub const REQUEST_CLIENT: &str = concat!("tcsms/", env!("CARGO_PKG_VERSION"));
/// The largest response body read.
pub const MAX_RESPONSE_BYTES: u64 = 16 << 20;
const CONTENT_TYPE: &str = "application/json";
const BACKOFF_BASE: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// A Tencent Cloud SMS client. Immutable after creation, `Send + Sync`: share one
/// client between all threads; they share its connection pool.
pub struct Client {
    /// The configuration; its `credentials` are empty: the live ones are in `signer`.
    config: Config,
    /// Connections and HTTP/1.1 exchanges (see [`crate::http`]).
    http: Http,
    /// The credentials, replaceable while calls are in flight (see [`Client::set_credentials`]).
    signer: CredentialSlot,
    /// The host's clock plus the skew learned from `AuthFailure.SignatureExpire`.
    clock: Clock,
    limiter: Limiter,
    /// The event hook and the statistics (see [`crate::events`]).
    observer: Observer,
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
            Reach::NotSentWillRecur | Reach::Final => false,
        }
    }
}

impl Reach {
    /// Why a failure of this reach is retried (for events).
    fn retry_reason(self) -> &'static str {
        match self {
            Reach::NotSent | Reach::NotSentWillRecur => "not sent: safe to send again",
            Reach::NotActed => "the service did not act (rate limited)",
            Reach::MaybeActed | Reach::Final => "the service may have acted: the action is idempotent",
        }
    }

    /// What the caller learns from a failed exchange about the request's fate.
    fn describe(self) -> &'static str {
        match self {
            Reach::NotSent | Reach::NotSentWillRecur => "the request was not sent",
            Reach::NotActed => "the service did not act on the request",
            Reach::MaybeActed | Reach::Final => "the request was sent: the service may have acted on it",
        }
    }
}

/// How far a failed exchange got, what kind of failure it is (kind and code) and the
/// first words of its message. `written`: whether any byte of the request reached the
/// socket.
fn classify_transport_error(error: &ureq::Error, written: bool) -> (Reach, ErrorKind, &'static str, &'static str) {
    use ureq::Error as E;
    use ureq::Timeout as T;
    let (reach, kind, code) = match error {
        E::Timeout(T::Resolve | T::Connect) => (Reach::NotSent, ErrorKind::Timeout, codes::TIMEOUT),
        E::Timeout(_) if !written => (Reach::NotSent, ErrorKind::Timeout, codes::TIMEOUT),
        E::Timeout(_) => (Reach::MaybeActed, ErrorKind::Timeout, codes::TIMEOUT),
        // Refusals that would recur: the request cannot be made, TLS or the proxy said
        // no. rustls reports a refused handshake (certificate, alert) as InvalidData from
        // the first write; a plain socket never does.
        E::Http(_)
        | E::BadUri(_)
        | E::InvalidProxyUrl
        | E::RequireHttpsOnly(_)
        | E::Tls(_)
        | E::Rustls(_)
        | E::Pem(_)
        | E::TlsRequired
        | E::ConnectProxyFailed(_) => (Reach::NotSentWillRecur, ErrorKind::Network, codes::NETWORK),
        E::Io(io) if !written && io.kind() == std::io::ErrorKind::InvalidData => {
            (Reach::NotSentWillRecur, ErrorKind::Network, codes::NETWORK)
        }
        _ if !written => (Reach::NotSent, ErrorKind::Network, codes::NETWORK),
        _ => (Reach::MaybeActed, ErrorKind::Network, codes::NETWORK),
    };
    let what = match (error, reach) {
        (E::Timeout(_), Reach::MaybeActed) => "no answer within the time limit from",
        (E::Timeout(_), _) => "could not connect in time to",
        (E::Io(_), Reach::NotSentWillRecur) => "TLS handshake failed with",
        (E::ConnectProxyFailed(_), _) => "the proxy refused the tunnel to",
        (E::HostNotFound, _) => "could not resolve the host of",
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
        Client::with_resolver(config, CachingResolver::default())
    }

    /// As [`Client::new`], resolving names with `resolver` instead of the system's: the
    /// hook through which tests simulate DNS failure without resolving a real name. Not part
    /// of the stable interface.
    #[doc(hidden)]
    pub fn with_name_resolver(
        config: Config,
        resolver: impl ureq::unversioned::resolver::Resolver,
    ) -> Result<Client, Error> {
        Client::with_resolver(config, CachingResolver::over(resolver))
    }

    /// As [`Client::new`], resolving names with `resolver`.
    fn with_resolver(mut config: Config, resolver: CachingResolver) -> Result<Client, Error> {
        let proxy = match &config.proxy {
            Some(url) => Some(crate::config::parse_proxy(url.expose())?),
            None => crate::config::env_proxy()?,
        };
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(path) = &config.ca_file {
            tls = tls.root_certs(load_roots(path)?);
        }
        // What the connectors read: the proxy, TLS roots, TCP_NODELAY, the buffers (the
        // output buffer holds a whole request, so that it leaves in one write) and the
        // User-Agent of a proxy's CONNECT.
        let connection_config = ureq::config::Config::builder()
            .proxy(proxy)
            .tls_config(tls.build())
            .no_delay(true)
            .input_buffer_size(crate::http::MAX_HEAD_BYTES)
            .output_buffer_size(64 << 10)
            .user_agent(REQUEST_CLIENT)
            .build();
        let http = Http::new(&config.endpoint.url, connection_config, resolver)
            .map_err(|e| Error::invalid_config(format!("endpoint {} cannot be used: {e}", config.endpoint.url)))?;
        let signer = CredentialSlot::new(Signer::new(config.credentials.take()));
        let limiter = Limiter::new(&config.rate_limits);
        let observer = Observer::new(config.log_phone_numbers);
        Ok(Client { config, http, signer, clock: Clock::default(), limiter, observer })
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
        let deadline = Instant::now() + limit;
        let mut attempt = 0u32;
        let mut resigned = false;
        loop {
            let offset = self.clock.offset();
            let mut info = AttemptInfo::start(offset);
            let failure = match self.attempt(action, body, deadline, &mut info) {
                Ok(answer) => {
                    trace.attempt(&info, Ok(answer.as_str()), None, self.clock.offset());
                    return Ok(answer);
                }
                Err(failure) => failure,
            };
            let ends = |trace: &mut CallTrace<'_>, failure: Failure| {
                trace.attempt(&info, Err(&failure.error), None, self.clock.offset());
                Err(failure.error)
            };
            // Refused for clock skew (before acting): sign with the corrected time once more.
            if !resigned && failure.error.code() == crate::clock::SIGNATURE_EXPIRE && self.clock.offset() != offset {
                resigned = true;
                let reason = Some(("clock skew corrected: signed again with the service's time", Duration::ZERO));
                trace.attempt(&info, Err(&failure.error), reason, self.clock.offset());
                continue;
            }
            if attempt >= self.config.max_retries || !failure.retryable(action.idempotency) {
                return ends(trace, failure);
            }
            let pause = backoff(attempt);
            if Instant::now() + pause >= deadline {
                return ends(trace, failure);
            }
            trace.attempt(&info, Err(&failure.error), Some((failure.reach.retry_reason(), pause)), self.clock.offset());
            std::thread::sleep(pause);
            attempt += 1;
        }
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
        info.rate_limit_wait = self.limiter.acquire(action, deadline).map_err(|e| Failure::new(Reach::Final, e))?;
        let signer = self.signer.current();
        let head = self.request_head(action, body, &signer);
        let response = self
            .http
            .exchange(&head, body, deadline, self.config.connect_timeout, MAX_RESPONSE_BYTES)
            .map_err(|failed| self.transport_failure(failed, &signer))?;
        drop(head);
        info.bytes_received = response.body.len() as u64;
        self.judge(response.status, response.body, &signer).inspect_err(|failure| {
            if failure.error.code() == crate::clock::SIGNATURE_EXPIRE {
                response.date.as_deref().map(|date| self.clock.correct_from_date(date));
            }
        })
    }

    /// The head of a request for `action`, signed now: `POST / HTTP/1.1` and the API's
    /// headers. It holds the `X-TC-Token`: its buffer is sized once (never grown, which
    /// would free a copy) and zeroed when dropped.
    fn request_head(&self, action: &Action, body: &[u8], signer: &Signer) -> zeroize::Zeroizing<Vec<u8>> {
        let timestamp = self.clock.now();
        let (date, key) = signer.signing_key(timestamp);
        let endpoint = &self.config.endpoint;
        let authorization = sign::sign_post(
            signer.credentials().secret_id(),
            &key,
            &date,
            timestamp,
            CONTENT_TYPE,
            &endpoint.authority,
            body,
        );
        let mut length = itoa::Buffer::new();
        let mut time = itoa::Buffer::new();
        // The token and the language are the only headers that may be absent.
        let lines: [(&str, Option<&str>); 11] = [
            ("Host", Some(&endpoint.authority)),
            ("Content-Type", Some(CONTENT_TYPE)),
            ("Content-Length", Some(length.format(body.len()))),
            ("Authorization", Some(&authorization)),
            ("X-TC-Action", Some(action.name)),
            ("X-TC-Version", Some(api::API_VERSION)),
            ("X-TC-Timestamp", Some(time.format(timestamp))),
            ("X-TC-Region", Some(&self.config.region)),
            ("X-TC-RequestClient", Some(REQUEST_CLIENT)),
            ("X-TC-Token", signer.token()),
            ("X-TC-Language", self.config.language.map(|l| l.as_str())),
        ];
        let present = || lines.iter().filter_map(|&(name, value)| Some((name, value?)));
        const REQUEST_LINE: &str = "POST / HTTP/1.1\r\n";
        const USER_AGENT: &str = concat!("User-Agent: tcsms/", env!("CARGO_PKG_VERSION"), "\r\n\r\n");
        let size = REQUEST_LINE.len()
            + USER_AGENT.len()
            + present().map(|(name, value)| name.len() + value.len() + 4).sum::<usize>();
        let mut head = zeroize::Zeroizing::new(Vec::with_capacity(size));
        head.extend_from_slice(REQUEST_LINE.as_bytes());
        for (name, value) in present() {
            head.extend_from_slice(name.as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value.as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(USER_AGENT.as_bytes());
        debug_assert_eq!(head.len(), size, "the head was sized exactly");
        head
    }

    /// The body of a 200 answer that is the service's success envelope, or the failure
    /// that the status or the content stands for.
    fn judge(&self, status: u16, answer: Vec<u8>, signer: &Signer) -> Result<String, Failure> {
        if status != 200 {
            let reach = if status >= 500 { Reach::MaybeActed } else { Reach::Final };
            let shown = excerpt(&answer, &self.secrets(signer));
            let message = format!("HTTP status {status} from {}: {shown}", self.config.endpoint.url);
            return Err(Failure::new(reach, Error::local(ErrorKind::HttpStatus, codes::HTTP_STATUS, message)));
        }
        interpret_answer(answer, || self.secrets(signer))
    }

    /// The failure of an exchange that did not bring an answer.
    fn transport_failure(&self, failed: Failed, signer: &Signer) -> Failure {
        if let ureq::Error::BodyExceedsLimit(_) = failed.error {
            let message = format!("response is larger than {MAX_RESPONSE_BYTES} bytes");
            return Failure::new(Reach::Final, Error::local(ErrorKind::Decode, codes::DECODE, message));
        }
        let (reach, kind, code, what) = classify_transport_error(&failed.error, failed.written);
        if reach == Reach::NotSent {
            // The address may have moved: resolve afresh next time.
            self.http.forget_addresses();
        }
        let message = format!("{what} {}: {}; {}", self.config.endpoint.url, failed.error, reach.describe());
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

/// Replaces each secret in `message` by `<redacted>`.
fn redact_secrets(mut message: String, secrets: &[&str]) -> String {
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        if message.contains(secret) {
            message = message.replace(secret, "<redacted>");
        }
    }
    message
}

/// System CA bundles that `ca_file` roots are added to.
const SYSTEM_CA_BUNDLES: [&str; 3] =
    ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"];

/// The largest `ca_file` accepted (the whole system bundle is about 220 KiB).
pub const MAX_CA_FILE_BYTES: u64 = 1 << 20;

/// The PEM roots of `ca_file` plus those of the system bundle (when there is one).
fn load_roots(path: &std::path::Path) -> Result<ureq::tls::RootCerts, Error> {
    let pem = read_ca_file(path)?;
    let mut certs = pem_certificates(&pem)
        .map_err(|e| Error::invalid_config(format!("ca_file {} is not valid PEM: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Error::invalid_config(format!("ca_file {} holds no certificate", path.display())));
    }
    if let Some(bundle) = SYSTEM_CA_BUNDLES.iter().find_map(|p| std::fs::read(p).ok()) {
        certs.extend(pem_certificates(&bundle).unwrap_or_default());
    }
    Ok(ureq::tls::RootCerts::new_with_certs(&certs))
}

/// Reads `ca_file` without ever blocking or reading without bound: only a regular
/// file of at most [`MAX_CA_FILE_BYTES`] is read (not a FIFO, a device or a directory).
fn read_ca_file(path: &std::path::Path) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let refused = |why: String| Error::invalid_config(format!("ca_file {} {why}", path.display()));
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // A FIFO opens at once instead of waiting for a writer; regular files ignore it.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path).map_err(|e| refused(format!("cannot be read: {e}")))?;
    let metadata = file.metadata().map_err(|e| refused(format!("cannot be read: {e}")))?;
    if !metadata.is_file() {
        return Err(refused("is not a regular file".into()));
    }
    let too_large = || refused(format!("is larger than {MAX_CA_FILE_BYTES} bytes"));
    if metadata.len() > MAX_CA_FILE_BYTES {
        return Err(too_large());
    }
    let mut pem = Vec::new();
    file.take(MAX_CA_FILE_BYTES + 1).read_to_end(&mut pem).map_err(|e| refused(format!("cannot be read: {e}")))?;
    if pem.len() as u64 > MAX_CA_FILE_BYTES {
        return Err(too_large());
    }
    Ok(pem)
}

fn pem_certificates(pem: &[u8]) -> Result<Vec<ureq::tls::Certificate<'static>>, ureq::Error> {
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(pem) {
        if let ureq::tls::PemItem::Certificate(cert) = item? {
            certs.push(cert);
        }
    }
    Ok(certs)
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

/// Turns a 200 answer into the body (success) or the service's error.
fn interpret_answer<'a>(answer: Vec<u8>, secrets: impl Fn() -> Vec<&'a str>) -> Result<String, Failure> {
    let Some(head) = api::parse_envelope_head(&answer) else {
        return Err(Failure::new(
            Reach::MaybeActed,
            decode_error("answer is not the service's JSON envelope {\"Response\":{...}}".into(), &answer, &secrets()),
        ));
    };
    let body = String::from_utf8(answer).map_err(|e| {
        Failure::new(Reach::MaybeActed, decode_error("answer is not UTF-8".into(), e.as_bytes(), &secrets()))
    })?;
    match head.error {
        None => Ok(body),
        Some(error) => {
            let reach = classify_api_error(&error.code);
            Err(Failure::new(reach, Error::api(error.code, error.message, head.request_id.unwrap_or_default(), body)))
        }
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
    // Redacted before it is cut, so that no prefix of a secret survives the cut.
    let text = redact_secrets(text.into_owned(), secrets);
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
        use std::io::{Error as IoError, ErrorKind as Io};
        use ureq::Error as E;
        let cases: Vec<(E, bool, Reach)> = vec![
            (
                E::Io(IoError::new(Io::InvalidData, "invalid peer certificate: UnknownIssuer")),
                false,
                Reach::NotSentWillRecur,
            ),
            (E::Io(IoError::new(Io::ConnectionReset, "reset")), false, Reach::NotSent),
            (E::Io(IoError::new(Io::ConnectionReset, "reset")), true, Reach::MaybeActed),
            (E::Io(IoError::new(Io::InvalidData, "bad chunk")), true, Reach::MaybeActed),
            (E::Io(IoError::other("failed to lookup address information")), false, Reach::NotSent),
            (E::HostNotFound, false, Reach::NotSent),
            (E::BadUri("x".into()), false, Reach::NotSentWillRecur),
            (E::Tls("Rustls invalid dns name error"), false, Reach::NotSentWillRecur),
            (E::ConnectProxyFailed("407".into()), false, Reach::NotSentWillRecur),
            (E::Timeout(ureq::Timeout::Connect), false, Reach::NotSent),
            (E::Timeout(ureq::Timeout::Global), false, Reach::NotSent),
            (E::Timeout(ureq::Timeout::Global), true, Reach::MaybeActed),
            (E::ConnectionFailed, false, Reach::NotSent),
        ];
        for (error, written, want) in cases {
            let (reach, _, _, _) = classify_transport_error(&error, written);
            assert_eq!(reach, want, "{error} (written: {written})");
        }
        assert!(!Failure::new(Reach::NotSentWillRecur, Error::invalid_argument("x")).retryable(Idempotency::Idempotent));
    }

    #[test]
    fn client_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Client>();
    }
}
