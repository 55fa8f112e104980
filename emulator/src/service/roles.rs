//! Temporary credentials for roles: the CVM instance metadata service
//! (`/latest/meta-data/cam/security-credentials/[ROLE]`) and the two STS actions
//! (`AssumeRole`, `AssumeRoleWithWebIdentity`, version 2018-08-13), as credentials.md
//! describes them; their fault knobs and request counters.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::config::{Config, Secret, MAX_TEMP_LIFETIME_SECS};
use crate::model::temp_keys::{Source, TempCredential, TempKeys};
use crate::service::authorization::constant_time_eq;
use crate::service::envelope::ApiError;
use crate::service::faults::EndpointFault;
use crate::service::ids;
use crate::service::verify::{self, RawRequest, Verifier};

/// The STS API version.
pub const STS_VERSION: &str = "2018-08-13";
/// The TC3 service name of STS.
pub const STS_SERVICE: &str = "sts";
/// The STS actions the emulator serves.
pub const STS_ACTIONS: &[&str] = &["AssumeRole", "AssumeRoleWithWebIdentity"];
/// Where the metadata service's paths start.
pub const METADATA_PREFIX: &str = "/latest/meta-data/";
/// The role-name path; the role's credentials are at this path followed by the name.
pub const ROLE_PATH: &str = "/latest/meta-data/cam/security-credentials/";
/// Lifetime of metadata credentials without `--temp-credential-lifetime` (the service's is
/// undocumented).
pub const METADATA_LIFETIME_SECS: u64 = 7200;
/// `DurationSeconds` when a request gives none (the documented default).
pub const DEFAULT_DURATION_SECS: u64 = 7200;
/// Largest token file read for `--web-identity-token-file`.
const MAX_TOKEN_FILE_BYTES: u64 = 64 * 1024;
/// Issued credentials listed by `GET /_emulator/credentials`.
const LISTED: usize = 20;

/// Requests to one endpoint, by outcome.
#[derive(Debug, Default)]
pub struct Counter {
    requests: AtomicU64,
    ok: AtomicU64,
    faulted: AtomicU64,
    refused: AtomicU64,
}

impl Counter {
    fn json(&self) -> Value {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        json!({"Requests": n(&self.requests), "Ok": n(&self.ok), "Faulted": n(&self.faulted), "Refused": n(&self.refused)})
    }

    fn reset(&self) {
        for c in [&self.requests, &self.ok, &self.faulted, &self.refused] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// How one request to a counted endpoint ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Faulted,
    Refused,
}

/// The endpoints counted separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    RoleName,
    RoleCredentials,
    AssumeRole,
    AssumeRoleWithWebIdentity,
}

/// The token AssumeRoleWithWebIdentity accepts.
#[derive(Debug, Clone)]
enum WebToken {
    None,
    Value(Secret),
    File(PathBuf),
}

/// The metadata service and STS of one emulator.
#[derive(Debug)]
pub struct Roles {
    cvm_role: Option<String>,
    lifetime_secs: Option<u64>,
    web_token: WebToken,
    /// (metadata, STS) faults; changeable at run time.
    faults: Mutex<(Option<EndpointFault>, Option<EndpointFault>)>,
    keys: Arc<TempKeys>,
    counters: [Counter; 4],
}

/// What the metadata service answers: HTTP status, Content-Type, body.
pub type MetadataAnswer = (u16, &'static str, String);

impl Roles {
    pub fn new(cfg: &Config, keys: Arc<TempKeys>) -> Roles {
        let web_token = match (&cfg.web_identity_token, &cfg.web_identity_token_file) {
            (Some(t), _) => WebToken::Value(t.clone()),
            (None, Some(p)) => WebToken::File(p.clone()),
            (None, None) => WebToken::None,
        };
        Roles {
            cvm_role: cfg.cvm_role.clone(),
            lifetime_secs: cfg.temp_credential_lifetime_secs,
            web_token,
            faults: Mutex::new((cfg.metadata_fault, cfg.sts_fault)),
            keys,
            counters: Default::default(),
        }
    }

    fn faults(&self) -> std::sync::MutexGuard<'_, (Option<EndpointFault>, Option<EndpointFault>)> {
        match self.faults.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    pub fn metadata_fault(&self) -> Option<EndpointFault> {
        self.faults().0
    }

    pub fn sts_fault(&self) -> Option<EndpointFault> {
        self.faults().1
    }

    /// Counts one request to `endpoint` that ended as `outcome`.
    pub fn count(&self, endpoint: Endpoint, outcome: Outcome) {
        let c = &self.counters[endpoint as usize];
        c.requests.fetch_add(1, Ordering::Relaxed);
        match outcome {
            Outcome::Ok => &c.ok,
            Outcome::Faulted => &c.faulted,
            Outcome::Refused => &c.refused,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    /// Which metadata endpoint `path` (under [`METADATA_PREFIX`]) is, if any.
    pub fn metadata_endpoint(path: &str) -> Option<Endpoint> {
        if path == ROLE_PATH || path == ROLE_PATH.trim_end_matches('/') {
            Some(Endpoint::RoleName)
        } else if path.strip_prefix(ROLE_PATH).is_some_and(|r| !r.is_empty()) {
            Some(Endpoint::RoleCredentials)
        } else {
            None
        }
    }

    /// A metadata request that is not faulted: the role name, the role's credentials, or 404.
    pub fn metadata(&self, method: &str, path: &str, now_ms: u64) -> (MetadataAnswer, Outcome) {
        let not_found = |what: &str| ((404, "text/plain; charset=utf-8", format!("{what}\n")), Outcome::Refused);
        if method != "GET" {
            return ((405, "text/plain; charset=utf-8", "method not allowed: use GET\n".to_owned()), Outcome::Refused);
        }
        let Some(role) = &self.cvm_role else {
            return not_found("no CAM role is bound to this instance (tcsms-emulator runs without --cvm-role)");
        };
        match Self::metadata_endpoint(path) {
            Some(Endpoint::RoleName) => ((200, "text/plain; charset=utf-8", role.clone()), Outcome::Ok),
            Some(Endpoint::RoleCredentials) if path.strip_prefix(ROLE_PATH) == Some(role.as_str()) => {
                let lifetime = self.lifetime_secs.unwrap_or(METADATA_LIFETIME_SECS);
                let cred = issue(&self.keys, Source::Metadata, role, now_ms / 1000 + lifetime);
                let body = json!({
                    "TmpSecretId": cred.secret_id,
                    "TmpSecretKey": cred.secret_key.expose(),
                    "ExpiredTime": cred.expired_time,
                    "Expiration": rfc3339(cred.expired_time),
                    "Token": cred.token.expose(),
                    "Code": "Success",
                });
                ((200, "application/json", body.to_string()), Outcome::Ok)
            }
            Some(Endpoint::RoleCredentials) => not_found("no such role is bound to this instance"),
            _ => not_found("no such metadata path (the emulator serves /latest/meta-data/cam/security-credentials/)"),
        }
    }

    /// An STS request that is not faulted: verification, then the action. Returns the
    /// `Response` fields.
    pub fn sts(&self, verifier: &Verifier, req: &RawRequest, now_ms: u64) -> Result<Map<String, Value>, ApiError> {
        verify::check_size(req)?;
        if req.method != "POST" {
            return Err(ApiError::new(
                "UnsupportedProtocol",
                format!("The HTTP method `{}` is not supported by the emulator's STS; use POST.", req.method),
            ));
        }
        let action = verify::non_empty(req.header("X-TC-Action")).ok_or_else(|| ApiError::missing("Action"))?;
        let version = verify::non_empty(req.header("X-TC-Version")).ok_or_else(|| ApiError::missing("Version"))?;
        if version != STS_VERSION {
            return Err(ApiError::new(
                "NoSuchVersion",
                format!("The requested version `{version}` of service `sts` does not exist."),
            ));
        }
        let web_identity = match action {
            "AssumeRole" => false,
            "AssumeRoleWithWebIdentity" => true,
            other => {
                return Err(ApiError::new("InvalidAction", format!("The requested action `{other}` does not exist.")))
            }
        };
        // AssumeRoleWithWebIdentity is not signed (`Authorization: SKIP`, no X-TC-Token).
        if !web_identity {
            verifier.authenticate(req, STS_SERVICE, now_ms)?;
        }
        verify::check_region_for(req, action)?;
        let content_type = req.header("Content-Type").unwrap_or("");
        if !content_type.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json") {
            return Err(ApiError::invalid(format!(
                "Content-Type `{content_type}` is not supported for POST with TC3-HMAC-SHA256; use application/json."
            )));
        }
        let params = verify::json_object(req.body)?;
        let (source, allowed, required): (Source, &[&str], &[&str]) = if web_identity {
            (
                Source::AssumeRoleWithWebIdentity,
                &["ProviderId", "WebIdentityToken", "RoleArn", "RoleSessionName", "DurationSeconds"],
                &["ProviderId", "WebIdentityToken", "RoleArn", "RoleSessionName"],
            )
        } else {
            (
                Source::AssumeRole,
                &[
                    "RoleArn",
                    "RoleSessionName",
                    "DurationSeconds",
                    "Policy",
                    "ExternalId",
                    "Tags",
                    "SourceIdentity",
                    "SerialNumber",
                    "TokenCode",
                ],
                &["RoleArn", "RoleSessionName"],
            )
        };
        let params: Map<String, Value> = params.into_iter().filter(|(_, v)| !v.is_null()).collect();
        if let Some(unknown) = params.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ApiError::unknown(unknown));
        }
        if let Some(missing) = required.iter().find(|k| !params.contains_key(**k)) {
            return Err(ApiError::missing(missing));
        }
        for (name, value) in &params {
            let fine = match name.as_str() {
                "Tags" => value.is_array(),
                // The documentation's sample sends it as a string of digits.
                "DurationSeconds" => value.is_u64() || value.as_str().is_some_and(|s| s.parse::<u64>().is_ok()),
                _ => value.is_string(),
            };
            if !fine {
                return Err(ApiError::invalid(format!("The parameter `{name}` has the wrong type.")));
            }
        }
        let text = |k: &str| params.get(k).and_then(Value::as_str).unwrap_or_default();
        let role_arn = text("RoleArn");
        if !role_arn_ok(role_arn) {
            return Err(ApiError::new(
                "InvalidParameter.ParamError",
                format!("RoleArn `{role_arn}` is not of the form qcs::cam::uin/<uin>:role/<id> or :roleName/<name>."),
            ));
        }
        if !session_name_ok(text("RoleSessionName")) {
            return Err(ApiError::new(
                "InvalidParameter.ParamError",
                "RoleSessionName must be 2 to 128 characters of letters, digits and +=,.@_-.",
            ));
        }
        let duration = match params.get("DurationSeconds") {
            None => DEFAULT_DURATION_SECS,
            Some(v) => v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())).unwrap_or(0),
        };
        if duration == 0 {
            return Err(ApiError::new("InvalidParameter.ParamError", "DurationSeconds must be at least 1."));
        }
        if duration > MAX_TEMP_LIFETIME_SECS {
            return Err(ApiError::new(
                "InvalidParameter.OverTimeError",
                format!("DurationSeconds must be at most {MAX_TEMP_LIFETIME_SECS}."),
            ));
        }
        if web_identity {
            self.check_web_identity_token(text("WebIdentityToken"))?;
        }
        let lifetime = self.lifetime_secs.unwrap_or(duration);
        let cred = issue(&self.keys, source, role_arn, now_ms / 1000 + lifetime);
        Ok(sts_response(&cred))
    }

    fn check_web_identity_token(&self, got: &str) -> Result<(), ApiError> {
        let want = match &self.web_token {
            WebToken::None => {
                return Err(ApiError::new(
                    "InvalidParameter.WebIdentityTokenError",
                    "The WebIdentityToken is not valid (the emulator runs without --web-identity-token).",
                ))
            }
            WebToken::Value(t) => t.expose().to_owned(),
            WebToken::File(path) => read_token_file(path).map_err(|e| {
                ApiError::new("InternalError.SystemError", format!("The emulator cannot read its token file: {e}."))
            })?,
        };
        if constant_time_eq(want.trim(), got.trim()) {
            Ok(())
        } else {
            Err(ApiError::new("InvalidParameter.WebIdentityTokenError", "The WebIdentityToken is not valid."))
        }
    }

    /// `GET`/`DELETE /_emulator/credentials` and `POST /_emulator/credentials/faults`.
    pub fn inspect(&self, verifier: &Verifier, method: &str, path: &str, body: &[u8]) -> (u16, String) {
        match (method, path.trim_end_matches('/')) {
            ("GET", "/_emulator/credentials") => (200, self.stats(verifier).to_string()),
            ("DELETE", "/_emulator/credentials") => {
                self.counters.iter().for_each(Counter::reset);
                verifier.reset_temp_key_counts();
                (200, self.stats(verifier).to_string())
            }
            ("POST" | "PUT", "/_emulator/credentials/faults") => match self.set_faults(body) {
                Ok(()) => (200, self.faults_json().to_string()),
                Err(e) => (400, json!({ "Error": e }).to_string()),
            },
            (_, "/_emulator/credentials") | (_, "/_emulator/credentials/faults") => {
                (405, json!({"Error": "method not allowed"}).to_string())
            }
            _ => (404, json!({"Error": "no such inspection path; see /_emulator/credentials"}).to_string()),
        }
    }

    fn faults_json(&self) -> Value {
        let (metadata, sts) = *self.faults();
        json!({"Metadata": metadata.map(EndpointFault::name), "Sts": sts.map(EndpointFault::name)})
    }

    fn set_faults(&self, body: &[u8]) -> Result<(), String> {
        let v: Map<String, Value> =
            serde_json::from_slice(body).map_err(|e| format!("body must be a JSON object: {e}"))?;
        let parse = |k: &str| -> Result<Option<Option<EndpointFault>>, String> {
            match v.get(k) {
                None => Ok(None),
                Some(Value::Null) => Ok(Some(None)),
                Some(Value::String(s)) => EndpointFault::parse(s)
                    .map(|f| Some(Some(f)))
                    .ok_or_else(|| format!("{k} must be http500, hang, garbage or null, got {s:?}")),
                Some(_) => Err(format!("{k} must be a string or null")),
            }
        };
        if let Some(unknown) = v.keys().find(|k| *k != "Metadata" && *k != "Sts") {
            return Err(format!("unknown key {unknown:?}; use Metadata and Sts"));
        }
        let (metadata, sts) = (parse("Metadata")?, parse("Sts")?);
        let mut faults = self.faults();
        if let Some(f) = metadata {
            faults.0 = f;
        }
        if let Some(f) = sts {
            faults.1 = f;
        }
        Ok(())
    }

    fn stats(&self, verifier: &Verifier) -> Value {
        let (calls, expired) = verifier.temp_key_counts();
        let c = |e: Endpoint| self.counters[e as usize].json();
        let issued: Vec<Value> = self
            .keys
            .recent(LISTED)
            .iter()
            .map(|k| {
                json!({"TmpSecretId": k.secret_id, "ExpiredTime": k.expired_time,
                       "Source": k.source.name(), "Role": k.role})
            })
            .collect();
        json!({
            "Metadata": {"RoleName": c(Endpoint::RoleName), "Credentials": c(Endpoint::RoleCredentials)},
            "AssumeRole": c(Endpoint::AssumeRole),
            "AssumeRoleWithWebIdentity": c(Endpoint::AssumeRoleWithWebIdentity),
            "TemporaryKeyCalls": calls,
            "ExpiredTokenRefusals": expired,
            "IssuedCount": self.keys.len(),
            "Issued": issued,
            "Faults": self.faults_json(),
        })
    }
}

/// Issues and keeps a fresh credential for `role`, valid until `expired_time` (Unix s).
fn issue(keys: &TempKeys, source: Source, role: &str, expired_time: u64) -> TempCredential {
    let cred = TempCredential {
        secret_id: format!("AKIDtmp{}", ids::random_alnum(29)),
        secret_key: Secret::new(ids::random_alnum(32)),
        token: Secret::new(ids::random_alnum(160)),
        expired_time,
        source,
        role: role.to_owned(),
    };
    keys.keep(cred.clone());
    cred
}

/// How long a `hang` fault lasts before the connection is closed.
pub fn hang_for(fault_delay_ms: u64) -> Duration {
    Duration::from_millis(fault_delay_ms)
}

fn sts_response(cred: &TempCredential) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "Credentials".to_owned(),
        json!({"Token": cred.token.expose(), "TmpSecretId": cred.secret_id, "TmpSecretKey": cred.secret_key.expose()}),
    );
    m.insert("ExpiredTime".to_owned(), json!(cred.expired_time));
    m.insert("Expiration".to_owned(), json!(rfc3339(cred.expired_time)));
    m
}

/// `qcs::cam::uin/<digits>:role/<id>` or `:roleName/<name>` (service roles included).
fn role_arn_ok(arn: &str) -> bool {
    let Some(rest) = arn.strip_prefix("qcs::cam::uin/") else { return false };
    let Some((uin, role)) = rest.split_once(':') else { return false };
    let name = role.strip_prefix("role/").or_else(|| role.strip_prefix("roleName/"));
    !uin.is_empty() && uin.bytes().all(|b| b.is_ascii_digit()) && name.is_some_and(|n| !n.is_empty())
}

/// 2 to 128 characters of `[\w+=,.@-]`.
fn session_name_ok(name: &str) -> bool {
    (2..=128).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
}

fn read_token_file(path: &std::path::Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)?.take(MAX_TOKEN_FILE_BYTES).read_to_string(&mut text)?;
    Ok(text)
}

/// `YYYY-MM-DDThh:mm:ssZ` of a Unix time.
pub fn rfc3339(unix_secs: u64) -> String {
    let secs = unix_secs as i64;
    let (y, m, d) = tcsms::sign::civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiration_is_rfc3339_utc() {
        assert_eq!(rfc3339(1_543_914_376), "2018-12-04T09:06:16Z");
        assert_eq!(rfc3339(1_615_590_047), "2021-03-12T23:00:47Z");
    }

    #[test]
    fn role_arns_and_session_names() {
        assert!(role_arn_ok("qcs::cam::uin/100000000001:roleName/tcsms-sender"));
        assert!(role_arn_ok("qcs::cam::uin/100000000001:role/4611686018427397919"));
        for bad in ["", "qcs::cam::uin/abc:roleName/x", "qcs::cam::uin/1:user/x", "qcs::cam::uin/1:roleName/"] {
            assert!(!role_arn_ok(bad), "{bad}");
        }
        assert!(session_name_ok("tcsms-1.2@x"));
        assert!(!session_name_ok("a") && !session_name_ok("has space"));
    }
}
