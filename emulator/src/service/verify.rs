//! Request verification in the real service's order: method, version and action,
//! Authorization, timestamp, SecretId, token, signature; then region, rate limit,
//! Content-Type and body, parameters. Business rules come after (see `actions`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value};
use tcsms::api::{find_action, Action, API_VERSION};
use tcsms::sign;

use crate::config::{KeyPair, Secret};
use crate::model::temp_keys::{TempCredential, TempKeys};
use crate::service::authorization::{self, ParsedAuthorization};
use crate::service::envelope::ApiError;
use crate::service::params;
use crate::service::ratelimit::RateLimiter;
use crate::service::schema::Schema;

/// Regions accepted in `X-TC-Region` (spec/protocol.md §1, plus ap-nanjing).
pub const REGIONS: &[&str] = &[
    "ap-guangzhou",
    "ap-shanghai",
    "ap-beijing",
    "ap-chengdu",
    "ap-chongqing",
    "ap-nanjing",
    "ap-hongkong",
    "ap-singapore",
    "ap-bangkok",
    "ap-mumbai",
    "ap-seoul",
    "ap-tokyo",
    "na-ashburn",
    "na-siliconvalley",
    "eu-frankfurt",
];

/// Largest accepted difference between X-TC-Timestamp and the emulator's clock.
pub const MAX_SKEW_SECS: i64 = 300;
/// Largest POST body (TC3).
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// Largest GET query string.
pub const MAX_QUERY_BYTES: usize = 32 * 1024;

/// A received request, as bytes and strings exactly as they arrived.
#[derive(Debug)]
pub struct RawRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The query string after `?` (empty when none), not decoded.
    pub query: &'a str,
    /// Header names as sent, values as sent.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl RawRequest<'_> {
    /// The first header called `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A request that passed every check up to the business rules.
#[derive(Debug)]
pub struct Verified {
    pub action: &'static Action,
    pub params: Map<String, Value>,
}

/// Holds what verification compares against.
#[derive(Debug)]
pub struct Verifier {
    key_pairs: Vec<KeyPair>,
    /// None, one for every key pair, or one per key pair (by position).
    tokens: Vec<Secret>,
    /// Temporary credentials issued by the metadata service and STS.
    temp_keys: Arc<TempKeys>,
    schema: Schema,
    limiter: RateLimiter,
    /// Requests that passed the signature check with a temporary credential.
    temp_key_calls: AtomicU64,
    /// Requests refused because their temporary credential had expired.
    expired_refusals: AtomicU64,
}

/// Who signed a request: a configured key pair (by position) or a temporary credential.
enum Signer {
    Pair(usize),
    Temp(TempCredential),
}

/// The message of `AuthFailure.TokenFailure` for an expired temporary credential, as a
/// user report quotes the service (credentials.md §4).
pub const EXPIRED_TOKEN_MESSAGE: &str = "Token verification failed. Please check your Token is correct.";

impl Verifier {
    pub fn new(
        key_pairs: Vec<KeyPair>,
        tokens: Vec<Secret>,
        temp_keys: Arc<TempKeys>,
        schema: Schema,
        limiter: RateLimiter,
    ) -> Verifier {
        Verifier {
            key_pairs,
            tokens,
            temp_keys,
            schema,
            limiter,
            temp_key_calls: AtomicU64::new(0),
            expired_refusals: AtomicU64::new(0),
        }
    }

    /// (requests signed with a temporary credential that passed, requests refused for an
    /// expired one).
    pub fn temp_key_counts(&self) -> (u64, u64) {
        (self.temp_key_calls.load(Ordering::Relaxed), self.expired_refusals.load(Ordering::Relaxed))
    }

    pub fn reset_temp_key_counts(&self) {
        self.temp_key_calls.store(0, Ordering::Relaxed);
        self.expired_refusals.store(0, Ordering::Relaxed);
    }

    /// Runs every check in the service's order; `now_ms` is the emulator's Unix time.
    pub fn verify(&self, req: &RawRequest, now_ms: u64, now: Instant) -> Result<Verified, ApiError> {
        check_size(req)?; // 0
        check_method(req)?; // 1
        let action = check_version_and_action(req)?; // 2
        self.authenticate(req, sign::SERVICE, now_ms)?; // 3 to 7
        let region = check_region(req, action)?; // 8
        self.check_rate(action, region, now)?; // 9
        let params = self.parameters(req, action)?; // 10, 11
        Ok(Verified { action, params })
    }

    /// Steps 3 to 7: Authorization for `service`, timestamp, SecretId, token, signature.
    pub fn authenticate(&self, req: &RawRequest, service: &str, now_ms: u64) -> Result<(), ApiError> {
        let auth = check_authorization(req, service)?; // 3
        let ts = check_timestamp(req, (now_ms / 1000) as i64)?; // 4
        let signer = self.signer(&auth.secret_id)?; // 5
        let key = match &signer {
            Signer::Pair(pair) => {
                self.check_token(req, *pair)?; // 6
                &self.key_pairs[*pair].secret_key
            }
            Signer::Temp(cred) => {
                self.check_temp_token(req, cred, now_ms)?; // 6
                &cred.secret_key
            }
        };
        check_signature(req, &auth, ts, key, service)?; // 7
        if let Signer::Temp(_) = signer {
            self.temp_key_calls.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Step 5: the key pair or temporary credential whose SecretId signed the request.
    fn signer(&self, secret_id: &str) -> Result<Signer, ApiError> {
        if let Some(pair) = self.key_pairs.iter().position(|p| p.secret_id == secret_id) {
            return Ok(Signer::Pair(pair));
        }
        self.temp_keys.find(secret_id).map(Signer::Temp).ok_or_else(|| {
            ApiError::new("AuthFailure.SecretIdNotFound", "The SecretId is not found; check that it is correct.")
        })
    }

    /// Step 6 for a temporary credential: `X-TC-Token` must be its token, and it must not
    /// have expired.
    fn check_temp_token(&self, req: &RawRequest, cred: &TempCredential, now_ms: u64) -> Result<(), ApiError> {
        let sent = non_empty(req.header("X-TC-Token"));
        if !sent.is_some_and(|got| authorization::constant_time_eq(cred.token.expose(), got)) {
            return Err(ApiError::new("AuthFailure.TokenFailure", "The token (X-TC-Token) is invalid or missing."));
        }
        if cred.expired(now_ms) {
            self.expired_refusals.fetch_add(1, Ordering::Relaxed);
            return Err(ApiError::new("AuthFailure.TokenFailure", EXPIRED_TOKEN_MESSAGE));
        }
        Ok(())
    }

    /// Step 6: `X-TC-Token` must equal the key pair's token, and be absent when it has none.
    fn check_token(&self, req: &RawRequest, pair: usize) -> Result<(), ApiError> {
        let want = match self.tokens.as_slice() {
            [] => None,
            [one] => Some(one),
            many => many.get(pair),
        };
        let token_ok = match (want, non_empty(req.header("X-TC-Token"))) {
            (Some(want), Some(got)) => authorization::constant_time_eq(want.expose(), got),
            (None, None) => true,
            _ => false,
        };
        if token_ok {
            Ok(())
        } else {
            Err(ApiError::new("AuthFailure.TokenFailure", "The token (X-TC-Token) is invalid or missing."))
        }
    }

    /// Step 9: the action's rate limit, counted per action and region.
    fn check_rate(&self, action: &Action, region: &str, now: Instant) -> Result<(), ApiError> {
        if self.limiter.admit(action.name, region, now) {
            return Ok(());
        }
        Err(ApiError::new(
            "RequestLimitExceeded",
            format!(
                "Your current request rate of `{}` exceeds {} requests per second; try again later.",
                action.name,
                self.limiter.limit(action.name)
            ),
        ))
    }

    /// Steps 10 and 11: Content-Type and body (POST) or query (GET), then the parameters
    /// against the schema.
    fn parameters(&self, req: &RawRequest, action: &Action) -> Result<Map<String, Value>, ApiError> {
        let content_type = req.header("Content-Type").unwrap_or("");
        let media_type = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        let fields = self
            .schema
            .request_fields(action.name)
            .ok_or_else(|| ApiError::internal("The action has no parameter metadata."))?;
        if req.method == "POST" {
            if media_type != "application/json" {
                return Err(ApiError::invalid(format!(
                    "Content-Type `{content_type}` is not supported for POST with TC3-HMAC-SHA256; use application/json."
                )));
            }
            params::validate(&self.schema, fields, json_object(req.body)?)
        } else {
            if media_type != "application/x-www-form-urlencoded" {
                return Err(ApiError::invalid(format!(
                    "Content-Type `{content_type}` is not supported for GET; use application/x-www-form-urlencoded."
                )));
            }
            params::from_query(&self.schema, fields, req.query)
        }
    }
}

/// Step 0: size limits (the service refuses these before reading further).
pub fn check_size(req: &RawRequest) -> Result<(), ApiError> {
    if req.body.len() > MAX_BODY_BYTES || (req.method == "GET" && req.query.len() > MAX_QUERY_BYTES) {
        return Err(size_exceeded());
    }
    Ok(())
}

/// Step 1: only POST and GET.
fn check_method(req: &RawRequest) -> Result<(), ApiError> {
    if req.method != "POST" && req.method != "GET" {
        return Err(ApiError::new(
            "UnsupportedProtocol",
            format!("The HTTP method `{}` is not supported; use POST or GET.", req.method),
        ));
    }
    Ok(())
}

/// Step 2: `X-TC-Action` and `X-TC-Version` present, the version ours, the action known.
fn check_version_and_action(req: &RawRequest) -> Result<&'static Action, ApiError> {
    let action_name = non_empty(req.header("X-TC-Action")).ok_or_else(|| ApiError::missing("Action"))?;
    let version = non_empty(req.header("X-TC-Version")).ok_or_else(|| ApiError::missing("Version"))?;
    if version != API_VERSION {
        return Err(ApiError::new(
            "NoSuchVersion",
            format!("The requested version `{version}` of service `sms` does not exist."),
        ));
    }
    find_action(action_name)
        .ok_or_else(|| ApiError::new("InvalidAction", format!("The requested action `{action_name}` does not exist.")))
}

/// Step 3: a well-formed TC3 `Authorization` for `service` that signs content-type and host.
fn check_authorization(req: &RawRequest, service: &str) -> Result<ParsedAuthorization, ApiError> {
    let auth = req.header("Authorization").ok_or_else(|| invalid_auth("The Authorization header is missing."))?;
    let parsed = authorization::parse_authorization(auth)
        .map_err(|why| invalid_auth(&format!("The Authorization header is malformed: {why}.")))?;
    if parsed.service != service {
        return Err(invalid_auth(&format!(
            "The credential scope names service `{}`; this service is `{service}`.",
            parsed.service
        )));
    }
    for needed in ["content-type", "host"] {
        if !parsed.signed_headers.iter().any(|h| h == needed) {
            return Err(invalid_auth(&format!("SignedHeaders must include `{needed}`.")));
        }
    }
    Ok(parsed)
}

/// Step 4: `X-TC-Timestamp` an integer within [`MAX_SKEW_SECS`] of the emulator's clock.
fn check_timestamp(req: &RawRequest, now_secs: i64) -> Result<i64, ApiError> {
    let ts_text = non_empty(req.header("X-TC-Timestamp")).ok_or_else(|| ApiError::missing("Timestamp"))?;
    let ts: i64 = ts_text
        .parse()
        .map_err(|_| ApiError::invalid(format!("X-TC-Timestamp `{ts_text}` is not a Unix time in seconds.")))?;
    if now_secs.abs_diff(ts) > MAX_SKEW_SECS as u64 {
        return Err(ApiError::new(
            "AuthFailure.SignatureExpire",
            format!(
                "Signature expired. Timestamp is {ts}, server time is {now_secs}; they may differ by at most {MAX_SKEW_SECS} seconds."
            ),
        ));
    }
    Ok(ts)
}

/// Step 7: the credential date must be the timestamp's UTC date, and the signature the one
/// `key` makes over what arrived.
fn check_signature(
    req: &RawRequest,
    auth: &ParsedAuthorization,
    ts: i64,
    key: &Secret,
    service: &str,
) -> Result<(), ApiError> {
    let date = sign::utc_date(ts);
    if auth.date != date {
        return Err(signature_failure(&format!(
            "The credential date `{}` is not the UTC date `{date}` of X-TC-Timestamp.",
            auth.date
        )));
    }
    let mut names: Vec<&str> = auth.signed_headers.iter().map(String::as_str).collect();
    names.sort_unstable();
    names.dedup();
    let signed = names
        .into_iter()
        .map(|name| {
            req.header(name)
                .map(|value| (name, value))
                .ok_or_else(|| signature_failure(&format!("The signed header `{name}` is not in the request.")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let payload_hash = if req.header("X-TC-Content-SHA256") == Some("UNSIGNED-PAYLOAD") {
        sign::sha256_hex(b"UNSIGNED-PAYLOAD")
    } else {
        sign::sha256_hex(req.body)
    };
    let canonical = sign::canonical_request(req.method, req.path, req.query, &signed, &payload_hash);
    let scope = sign::credential_scope(&date, service);
    let signing_key = sign::SigningKey::derive(key.expose().as_bytes(), &date, service);
    let expected = signing_key.sign(&sign::string_to_sign(ts, &scope, &canonical));
    if !authorization::constant_time_eq(&expected, &auth.signature) {
        return Err(signature_failure(
            "The provided credentials could not be validated. Please check your signature is correct.",
        ));
    }
    Ok(())
}

/// Step 8: `X-TC-Region` present and a known region.
pub fn check_region<'r>(req: &'r RawRequest, action: &Action) -> Result<&'r str, ApiError> {
    check_region_for(req, action.name)
}

/// Step 8 for the action called `action`.
pub fn check_region_for<'r>(req: &'r RawRequest, action: &str) -> Result<&'r str, ApiError> {
    let region = non_empty(req.header("X-TC-Region")).ok_or_else(|| ApiError::missing("Region"))?;
    if !REGIONS.contains(&region) {
        return Err(ApiError::new(
            "UnsupportedRegion",
            format!("The action `{action}` does not support the region `{region}`."),
        ));
    }
    Ok(region)
}

/// The POST body as a JSON object (an empty body is an empty object).
pub fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| ApiError::invalid("The request body is not UTF-8."))?;
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::invalid("The request body must be a JSON object.")),
        Err(e) => Err(ApiError::invalid(format!("The request body is not valid JSON: {e}."))),
    }
}

pub fn non_empty(v: Option<&str>) -> Option<&str> {
    v.filter(|s| !s.is_empty())
}

fn invalid_auth(message: &str) -> ApiError {
    ApiError::new("AuthFailure.InvalidAuthorization", message)
}

fn signature_failure(message: &str) -> ApiError {
    ApiError::new("AuthFailure.SignatureFailure", message)
}

pub fn size_exceeded() -> ApiError {
    ApiError::new(
        "RequestSizeLimitExceeded",
        format!("The request is larger than the limit ({MAX_BODY_BYTES} bytes for POST, {MAX_QUERY_BYTES} bytes of query for GET)."),
    )
}
