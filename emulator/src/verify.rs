//! Request verification in the real service's order: method, version and action,
//! Authorization, timestamp, SecretId, token, signature; then region, rate limit,
//! Content-Type and body, parameters. Business rules come after (see `actions`).

use std::time::Instant;

use serde_json::{Map, Value};
use tcsms::api::{find_action, Action, API_VERSION};
use tcsms::sign;

use crate::authorization;

use crate::cli::Secret;
use crate::envelope::ApiError;
use crate::params;
use crate::ratelimit::RateLimiter;
use crate::schema::Schema;

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
    pub secret_id: String,
    secret_key: Secret,
    token: Option<Secret>,
    schema: Schema,
    limiter: RateLimiter,
}

impl Verifier {
    pub fn new(
        secret_id: String,
        secret_key: Secret,
        token: Option<Secret>,
        schema: Schema,
        limiter: RateLimiter,
    ) -> Verifier {
        Verifier { secret_id, secret_key, token, schema, limiter }
    }

    /// Runs every check; `now_secs` is the emulator's Unix time.
    pub fn verify(&self, req: &RawRequest, now_secs: i64, now: Instant) -> Result<Verified, ApiError> {
        // 0. Size limits (the service refuses these before reading further).
        if req.body.len() > MAX_BODY_BYTES || (req.method == "GET" && req.query.len() > MAX_QUERY_BYTES) {
            return Err(size_exceeded());
        }
        // 1. Method.
        if req.method != "POST" && req.method != "GET" {
            return Err(ApiError::new(
                "UnsupportedProtocol",
                format!("The HTTP method `{}` is not supported; use POST or GET.", req.method),
            ));
        }
        // 2. Version and action.
        let action_name = non_empty(req.header("X-TC-Action")).ok_or_else(|| ApiError::missing("Action"))?;
        let version = non_empty(req.header("X-TC-Version")).ok_or_else(|| ApiError::missing("Version"))?;
        if version != API_VERSION {
            return Err(ApiError::new(
                "NoSuchVersion",
                format!("The requested version `{version}` of service `sms` does not exist."),
            ));
        }
        let action = find_action(action_name).ok_or_else(|| {
            ApiError::new("InvalidAction", format!("The requested action `{action_name}` does not exist."))
        })?;
        // 3. Authorization header.
        let auth = req.header("Authorization").ok_or_else(|| invalid_auth("The Authorization header is missing."))?;
        let parsed = authorization::parse_authorization(auth)
            .map_err(|why| invalid_auth(&format!("The Authorization header is malformed: {why}.")))?;
        if parsed.service != sign::SERVICE {
            return Err(invalid_auth(&format!(
                "The credential scope names service `{}`; this service is `sms`.",
                parsed.service
            )));
        }
        for needed in ["content-type", "host"] {
            if !parsed.signed_headers.iter().any(|h| h == needed) {
                return Err(invalid_auth(&format!("SignedHeaders must include `{needed}`.")));
            }
        }
        // 4. Timestamp.
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
        // 5. SecretId.
        if parsed.secret_id != self.secret_id {
            return Err(ApiError::new(
                "AuthFailure.SecretIdNotFound",
                "The SecretId is not found; check that it is correct.",
            ));
        }
        // 6. Token.
        let sent_token = non_empty(req.header("X-TC-Token"));
        let token_ok = match (&self.token, sent_token) {
            (Some(want), Some(got)) => authorization::constant_time_eq(want.expose(), got),
            (None, None) => true,
            _ => false,
        };
        if !token_ok {
            return Err(ApiError::new("AuthFailure.TokenFailure", "The token (X-TC-Token) is invalid or missing."));
        }
        // 7. Scope date and signature.
        let date = sign::utc_date(ts);
        if parsed.date != date {
            return Err(signature_failure(&format!(
                "The credential date `{}` is not the UTC date `{date}` of X-TC-Timestamp.",
                parsed.date
            )));
        }
        let mut names: Vec<&str> = parsed.signed_headers.iter().map(String::as_str).collect();
        names.sort_unstable();
        names.dedup();
        let mut signed = Vec::with_capacity(names.len());
        for name in names {
            let value = req
                .header(name)
                .ok_or_else(|| signature_failure(&format!("The signed header `{name}` is not in the request.")))?;
            signed.push((name, value));
        }
        let payload_hash = if req.header("X-TC-Content-SHA256") == Some("UNSIGNED-PAYLOAD") {
            sign::sha256_hex(b"UNSIGNED-PAYLOAD")
        } else {
            sign::sha256_hex(req.body)
        };
        let canonical = sign::canonical_request(req.method, req.path, req.query, &signed, &payload_hash);
        let scope = sign::credential_scope(&date, sign::SERVICE);
        let key = sign::SigningKey::derive(self.secret_key.expose().as_bytes(), &date, sign::SERVICE);
        let expected = key.sign(&sign::string_to_sign(ts, &scope, &canonical));
        if !authorization::constant_time_eq(&expected, &parsed.signature) {
            return Err(signature_failure(
                "The provided credentials could not be validated. Please check your signature is correct.",
            ));
        }
        // 8. Region.
        let region = non_empty(req.header("X-TC-Region")).ok_or_else(|| ApiError::missing("Region"))?;
        if !REGIONS.contains(&region) {
            return Err(ApiError::new(
                "UnsupportedRegion",
                format!("The action `{}` does not support the region `{region}`.", action.name),
            ));
        }
        // 9. Rate limit.
        if !self.limiter.admit(action.name, region, now) {
            return Err(ApiError::new(
                "RequestLimitExceeded",
                format!(
                    "Your current request rate of `{}` exceeds {} requests per second; try again later.",
                    action.name,
                    self.limiter.limit(action.name)
                ),
            ));
        }
        // 10. Content-Type and body; 11. parameters.
        let content_type = req.header("Content-Type").unwrap_or("");
        let media_type = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        let fields = self
            .schema
            .request_fields(action.name)
            .ok_or_else(|| ApiError::internal("The action has no parameter metadata."))?;
        let params = if req.method == "POST" {
            if media_type != "application/json" {
                return Err(ApiError::invalid(format!(
                    "Content-Type `{content_type}` is not supported for POST with TC3-HMAC-SHA256; use application/json."
                )));
            }
            let text =
                std::str::from_utf8(req.body).map_err(|_| ApiError::invalid("The request body is not UTF-8."))?;
            let obj = if text.trim().is_empty() {
                Map::new()
            } else {
                match serde_json::from_str::<Value>(text) {
                    Ok(Value::Object(m)) => m,
                    Ok(_) => return Err(ApiError::invalid("The request body must be a JSON object.")),
                    Err(e) => return Err(ApiError::invalid(format!("The request body is not valid JSON: {e}."))),
                }
            };
            params::validate(&self.schema, fields, obj)?
        } else {
            if media_type != "application/x-www-form-urlencoded" {
                return Err(ApiError::invalid(format!(
                    "Content-Type `{content_type}` is not supported for GET; use application/x-www-form-urlencoded."
                )));
            }
            params::from_query(&self.schema, fields, req.query)?
        };
        Ok(Verified { action, params })
    }
}

fn non_empty(v: Option<&str>) -> Option<&str> {
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
