//! Fetching temporary keys: the CVM instance metadata service and STS (`AssumeRole`,
//! `AssumeRoleWithWebIdentity`), over the client's own transport ([`crate::transport`]) with
//! bounded bodies and time limits, signed with [`crate::sign`].
//!
//! No message built here holds a secret: answers are never quoted, only described, and
//! the secrets read from them are zeroed when dropped.

use super::{check_role_name, Base, Oidc, Provider};
use crate::credentials::{CredentialSource, Credentials};
use crate::error::{codes, envelope_json, Error, ErrorKind};
use crate::sign::{self, SigningKey};
use crate::transport::{Method, NameResolver, Request, Stage, Transport, TransportError};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use zeroize::{Zeroize, Zeroizing};

/// Connecting to the metadata service takes at most this.
pub const METADATA_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// A whole metadata fetch (role name and keys) takes at most this.
pub const METADATA_TIMEOUT: Duration = Duration::from_secs(3);
/// A whole STS call takes at most this.
pub const STS_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read from the metadata service or STS.
pub const MAX_ANSWER_BYTES: u64 = 64 << 10;
/// The largest web-identity token file read.
pub const MAX_TOKEN_FILE_BYTES: u64 = 64 << 10;
pub const STS_VERSION: &str = "2018-08-13";
const STS_SERVICE: &str = "sts";
const CONTENT_TYPE: &str = "application/json";
const ROLE_PATH: &str = "/latest/meta-data/cam/security-credentials/";

/// Keys and when they expire (Unix seconds, the service's `ExpiredTime`).
#[derive(Clone)]
pub(crate) struct Fetched {
    pub credentials: Credentials,
    pub expires_at: i64,
}

/// What a fetcher takes from its client's configuration.
pub(crate) struct Settings<'a> {
    /// The client's region: `X-TC-Region` of STS calls.
    pub region: &'a str,
    pub connect_timeout: Duration,
    /// The client's proxy URL: STS calls go through it (metadata requests never do).
    pub proxy: Option<&'a str>,
    /// The client's extra TLS roots, for STS.
    pub ca_file: Option<&'a std::path::Path>,
    /// `X-TC-RequestClient` and `User-Agent`.
    pub user_agent: &'static str,
}

/// Fetches keys for one client's [`Provider`].
pub(crate) struct Fetcher {
    provider: Provider,
    /// The keys that sign `AssumeRole` when the base is [`Base::Fixed`].
    fixed: Option<Credentials>,
    /// The client's region: `X-TC-Region` of STS calls (OIDC: `TKE_REGION` when set).
    region: String,
    sts_connect_timeout: Duration,
    user_agent: &'static str,
    metadata: Option<Transport>,
    sts: Option<Transport>,
    /// The discovered CVM role name.
    role_name: Mutex<Option<String>>,
    /// CVM keys that sign `AssumeRole`, reused while more than 5 minutes of their life is left.
    cvm_base: Mutex<Option<Fetched>>,
}

impl Fetcher {
    /// The fetcher of `provider`, whose STS calls go through the client's proxy with its
    /// TLS roots (`settings`), and whose metadata requests never go through a proxy.
    pub(crate) fn new(
        provider: Provider,
        fixed: Option<Credentials>,
        settings: &Settings<'_>,
        resolver: &dyn Fn() -> Option<Box<dyn NameResolver>>,
    ) -> Result<Fetcher, Error> {
        let unusable =
            |key: &str, e: Error| Error::invalid_config(format!("configuration key `{key}`: {}", e.message()));
        let metadata = match provider.base {
            Base::CvmRole { .. } => {
                // Plain HTTP on the instance's link: never through a proxy.
                let endpoint = &provider.metadata_endpoint;
                Some(
                    Transport::direct(&endpoint.url, &endpoint.authority, settings.user_agent, resolver())
                        .map_err(|e| unusable("metadata_endpoint", e))?,
                )
            }
            _ => None,
        };
        let sts = match (&provider.base, &provider.role_arn) {
            (Base::Oidc(_), _) | (_, Some(_)) => {
                let endpoint = &provider.sts_endpoint;
                Some(
                    Transport::new(
                        &endpoint.url,
                        &endpoint.authority,
                        settings.proxy,
                        settings.ca_file,
                        settings.user_agent,
                        resolver(),
                    )
                    .map_err(|e| unusable("sts_endpoint", e))?,
                )
            }
            _ => None,
        };
        let region = settings.region.to_owned();
        let connect_timeout = settings.connect_timeout;
        Ok(Fetcher {
            provider,
            fixed,
            region,
            sts_connect_timeout: connect_timeout.min(Duration::from_secs(5)),
            user_agent: settings.user_agent,
            metadata,
            sts,
            role_name: Mutex::new(None),
            cvm_base: Mutex::new(None),
        })
    }

    pub(crate) fn provider(&self) -> &Provider {
        &self.provider
    }

    /// New keys from the source, or why there are none.
    pub(crate) fn fetch(&self) -> Result<Fetched, Error> {
        match (&self.provider.base, &self.provider.role_arn) {
            (Base::Oidc(oidc), _) => self.web_identity(oidc),
            (Base::CvmRole { .. }, None) => self.cvm(),
            (Base::CvmRole { .. }, Some(arn)) => {
                let base = self.cvm_base()?;
                self.assume_role(arn, &base.credentials, "cvm_role")
            }
            (Base::Fixed, Some(arn)) => match &self.fixed {
                Some(base) => self.assume_role(arn, base, "fixed keys"),
                None => Err(unavailable("assume_role: no base keys".into())),
            },
            (Base::Fixed, None) => Err(unavailable("no role source is configured".into())),
        }
    }

    /// CVM keys for signing `AssumeRole`: the cached ones while more than 5 minutes of
    /// their life is left.
    fn cvm_base(&self) -> Result<Fetched, Error> {
        // The lock is never held across the fetch (one refresh runs at a time anyway).
        let cached = self.cvm_base.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(base) = cached.filter(|b| b.expires_at - unix_now() > 300) {
            return Ok(base);
        }
        let fresh = self.cvm()?;
        *self.cvm_base.lock().unwrap_or_else(|p| p.into_inner()) = Some(fresh.clone());
        Ok(fresh)
    }

    /// Keys of the instance's role from the metadata service, within
    /// [`METADATA_TIMEOUT`].
    fn cvm(&self) -> Result<Fetched, Error> {
        let Some(http) = &self.metadata else { return Err(unavailable("cvm_role: no metadata endpoint".into())) };
        let deadline = Instant::now() + METADATA_TIMEOUT;
        let configured = match &self.provider.base {
            Base::CvmRole { role_name } => role_name.clone(),
            _ => None,
        };
        let mut discovered_now = false;
        // Copied out first: the lock must not be held while the name is discovered.
        let cached = self.role_name.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let role = match &configured {
            Some(role) => role.clone(),
            None => match cached {
                Some(role) => role,
                None => {
                    discovered_now = true;
                    self.discover_role(http, deadline)?
                }
            },
        };
        let (status, body) = self.get(http, &format!("{ROLE_PATH}{role}"), deadline)?;
        let (status, body) = if status == 404 && configured.is_none() && !discovered_now {
            // The instance's role may have been changed: ask for its name again.
            let role = self.discover_role(http, deadline)?;
            self.get(http, &format!("{ROLE_PATH}{role}"), deadline)?
        } else {
            (status, body)
        };
        match status {
            200 => parse_metadata(&body).map_err(|why| self.metadata_error(&why)),
            404 => Err(self.metadata_error(&format!(
                "it knows no role `{role}` (HTTP 404){}",
                if configured.is_some() { ": check cvm_role_name" } else { "" }
            ))),
            other => Err(self.metadata_error(&format!("HTTP status {other}"))),
        }
    }

    /// The role bound to the instance, remembered for later fetches.
    fn discover_role(&self, http: &Transport, deadline: Instant) -> Result<String, Error> {
        let (status, body) = self.get(http, ROLE_PATH, deadline)?;
        let role = match status {
            200 => String::from_utf8_lossy(&body).lines().next().unwrap_or_default().trim().to_owned(),
            404 => return Err(self.metadata_error("no CAM role is bound to this instance (HTTP 404)")),
            other => return Err(self.metadata_error(&format!("HTTP status {other} for the role name"))),
        };
        if check_role_name(&role).is_err() {
            return Err(self.metadata_error(&format!(
                "the role name it gave is not one ({} bytes, not letters, digits and _+=,.@-)",
                body.len()
            )));
        }
        *self.role_name.lock().unwrap_or_else(|p| p.into_inner()) = Some(role.clone());
        Ok(role)
    }

    fn get(&self, http: &Transport, path: &str, deadline: Instant) -> Result<(u16, Zeroizing<Vec<u8>>), Error> {
        let headers = [("Accept", Some("application/json, text/plain"))];
        let request = Request { method: Method::Get, path, content_type: None, headers: &headers, body: b"" };
        match http.exchange(&request, deadline, METADATA_CONNECT_TIMEOUT, MAX_ANSWER_BYTES) {
            Ok(response) => Ok((response.status, Zeroizing::new(response.body))),
            Err(failed) => Err(self.metadata_error(&transport_why(&failed, METADATA_TIMEOUT))),
        }
    }

    fn metadata_error(&self, why: &str) -> Error {
        unavailable(format!("cvm_role: metadata service {}: {why}", self.provider.metadata_endpoint.url))
    }

    /// `AssumeRole`, signed with `base`.
    fn assume_role(&self, arn: &str, base: &Credentials, base_name: &str) -> Result<Fetched, Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Request<'a> {
            role_arn: &'a str,
            role_session_name: &'a str,
            duration_seconds: u64,
        }
        let session = self.session_name();
        let body = to_json(&Request {
            role_arn: arn,
            role_session_name: &session,
            duration_seconds: self.provider.duration_seconds,
        });
        let source = format!("assume_role (base: {base_name})");
        self.sts_call("AssumeRole", &body, Some(base), &self.region, &source, CredentialSource::AssumeRole)
    }

    /// `AssumeRoleWithWebIdentity` with the token file read now.
    fn web_identity(&self, oidc: &Oidc) -> Result<Fetched, Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Request<'a> {
            provider_id: &'a str,
            web_identity_token: &'a str,
            role_arn: &'a str,
            role_session_name: &'a str,
            duration_seconds: u64,
        }
        let token = read_token_file(&oidc.token_file)?;
        let session = self.session_name();
        let body = to_json(&Request {
            provider_id: &oidc.provider_id,
            web_identity_token: &token,
            role_arn: &oidc.role_arn,
            role_session_name: &session,
            duration_seconds: self.provider.duration_seconds,
        });
        let region = oidc.region.as_deref().unwrap_or(&self.region);
        self.sts_call("AssumeRoleWithWebIdentity", &body, None, region, "oidc", CredentialSource::Oidc)
    }

    fn session_name(&self) -> String {
        self.provider.session_name.clone().unwrap_or_else(|| {
            let ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
            format!("tcsms-{ms}")
        })
    }

    /// One STS call: signed with `signing` (TC3, service `sts`), or `Authorization: SKIP`.
    fn sts_call(
        &self,
        action: &str,
        body: &[u8],
        signing: Option<&Credentials>,
        region: &str,
        source: &str,
        kind: CredentialSource,
    ) -> Result<Fetched, Error> {
        let endpoint = &self.provider.sts_endpoint;
        let failed = |why: String| unavailable(format!("{source}: STS {action} at {}: {why}", endpoint.url));
        let Some(http) = &self.sts else { return Err(failed("no STS endpoint".into())) };
        let timestamp = unix_now();
        let authorization = match signing {
            Some(base) => {
                let date = sign::utc_date(timestamp);
                let key = SigningKey::derive(base.secret_key().expose().as_bytes(), &date, STS_SERVICE);
                let canonical = sign::canonical_request(
                    "POST",
                    "/",
                    "",
                    &[("content-type", CONTENT_TYPE), ("host", http.host())],
                    &sign::sha256_hex(body),
                );
                let scope = sign::credential_scope(&date, STS_SERVICE);
                let signature = key.sign(&sign::string_to_sign(timestamp, &scope, &canonical));
                sign::authorization(base.secret_id(), &scope, sign::DEFAULT_SIGNED_HEADERS, &signature)
            }
            None => "SKIP".to_owned(),
        };
        let time = timestamp.to_string();
        let headers: [(&str, Option<&str>); 7] = [
            ("Authorization", Some(&authorization)),
            ("X-TC-Action", Some(action)),
            ("X-TC-Version", Some(STS_VERSION)),
            ("X-TC-Timestamp", Some(&time)),
            ("X-TC-Region", Some(region)),
            ("X-TC-RequestClient", Some(self.user_agent)),
            ("X-TC-Token", signing.and_then(Credentials::token).map(|t| t.expose())),
        ];
        // The transport writes the request line, `Host` (the one signed above),
        // `Content-Type`, `Content-Length` and `User-Agent`.
        let request =
            Request { method: Method::Post, path: "/", content_type: Some(CONTENT_TYPE), headers: &headers, body };
        let deadline = Instant::now() + STS_TIMEOUT;
        let response = http
            .exchange(&request, deadline, self.sts_connect_timeout, MAX_ANSWER_BYTES)
            .map_err(|f| failed(transport_why(&f, STS_TIMEOUT)))?;
        let answer = Zeroizing::new(response.body);
        if response.status != 200 {
            return Err(failed(format!("HTTP status {} ({} bytes)", response.status, answer.len())));
        }
        parse_sts(&answer, kind).map_err(|outcome| match outcome {
            StsFailure::Refused { code, message, request_id } => {
                let message = format!("{source}: STS {action} at {} refused: {message}", endpoint.url);
                let body = envelope_json(&code, &message, &request_id);
                Error::api(code, message, request_id, body)
            }
            StsFailure::Garbage(why) => failed(why),
        })
    }
}

/// A `ClientError.CredentialsUnavailable` error.
pub(crate) fn unavailable(message: String) -> Error {
    Error::local(ErrorKind::Network, codes::CREDENTIALS_UNAVAILABLE, message)
}

/// Why an exchange brought no answer, without anything of the request.
fn transport_why(error: &TransportError, limit: Duration) -> String {
    match error.stage {
        Stage::TooLarge => format!("the answer is larger than {MAX_ANSWER_BYTES} bytes"),
        Stage::Resolve | Stage::Connect if error.timed_out => "could not connect in time".to_owned(),
        _ if error.timed_out => format!("no answer within {} ms", limit.as_millis()),
        _ => format!("could not be reached: {error}"),
    }
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// A request body in memory that is zeroed when dropped (it may hold a token).
fn to_json(value: &impl Serialize) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(8 << 10));
    // Serializing plain strings and numbers into memory cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
    out
}

/// The web-identity token: a regular file of at most [`MAX_TOKEN_FILE_BYTES`], trimmed.
fn read_token_file(path: &std::path::Path) -> Result<Zeroizing<String>, Error> {
    let refused = |why: crate::files::Refusal| unavailable(format!("oidc: token file {}: {why}", path.display()));
    let read = crate::files::read_bounded(path, MAX_TOKEN_FILE_BYTES).map_err(refused)?;
    let text = read.text().map_err(refused)?.trim();
    if text.is_empty() {
        return Err(unavailable(format!("oidc: token file {}: is empty", path.display())));
    }
    Ok(Zeroizing::new(text.to_owned()))
}

/// The three secrets of an answer, zeroed when dropped.
#[derive(Deserialize, Default)]
struct Triple {
    #[serde(rename = "TmpSecretId", default)]
    id: Option<String>,
    #[serde(rename = "TmpSecretKey", default)]
    key: Option<String>,
    #[serde(rename = "Token", default)]
    token: Option<String>,
}

impl Drop for Triple {
    fn drop(&mut self) {
        for s in [&mut self.id, &mut self.key, &mut self.token].into_iter().flatten() {
            s.zeroize();
        }
    }
}

impl Triple {
    fn credentials(&self, source: CredentialSource) -> Result<Credentials, String> {
        let (Some(id), Some(key), Some(token)) = (&self.id, &self.key, &self.token) else {
            return Err("the answer lacks TmpSecretId, TmpSecretKey or Token".into());
        };
        if id.is_empty() || key.is_empty() || token.is_empty() {
            return Err("the answer has an empty TmpSecretId, TmpSecretKey or Token".into());
        }
        // The refusal names the field, never its value.
        Credentials::new(id, key, Some(token), source).map_err(|e| format!("the answer's {}", e.message()))
    }
}

/// Describes a JSON error without quoting the answer.
fn json_why(e: &serde_json::Error, len: usize) -> String {
    let what = match e.classify() {
        serde_json::error::Category::Data => "has fields of the wrong type",
        _ => "is not JSON",
    };
    format!("the answer ({len} bytes) {what}")
}

/// The keys in a metadata answer (`Code` must be `Success`).
fn parse_metadata(body: &[u8]) -> Result<Fetched, String> {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(flatten)]
        triple: Triple,
        #[serde(rename = "ExpiredTime", default)]
        expired_time: Option<i64>,
        #[serde(rename = "Code", default)]
        code: Option<String>,
    }
    let answer: Answer = serde_json::from_slice(body).map_err(|e| json_why(&e, body.len()))?;
    if answer.code.as_deref() != Some("Success") {
        let shown: String =
            answer.code.as_deref().unwrap_or("(none)").chars().take(40).filter(|c| !c.is_control()).collect();
        return Err(format!("the answer's Code is `{shown}`, not Success"));
    }
    let credentials = answer.triple.credentials(CredentialSource::CvmRole)?;
    let expires_at = answer.expired_time.ok_or("the answer has no ExpiredTime")?;
    Ok(Fetched { credentials, expires_at })
}

enum StsFailure {
    Refused { code: String, message: String, request_id: String },
    Garbage(String),
}

/// The keys in an STS answer, or STS's refusal.
fn parse_sts(body: &[u8], source: CredentialSource) -> Result<Fetched, StsFailure> {
    #[derive(Deserialize)]
    struct Envelope {
        #[serde(rename = "Response")]
        response: Answer,
    }
    #[derive(Deserialize)]
    struct Answer {
        #[serde(rename = "Error", default)]
        error: Option<ApiError>,
        #[serde(rename = "Credentials", default)]
        credentials: Option<Triple>,
        #[serde(rename = "ExpiredTime", default)]
        expired_time: Option<i64>,
        #[serde(rename = "RequestId", default)]
        request_id: Option<String>,
    }
    #[derive(Deserialize)]
    struct ApiError {
        #[serde(rename = "Code")]
        code: String,
        #[serde(rename = "Message", default)]
        message: String,
    }
    let envelope: Envelope = serde_json::from_slice(body).map_err(|e| StsFailure::Garbage(json_why(&e, body.len())))?;
    let answer = envelope.response;
    let request_id = answer.request_id.unwrap_or_default();
    if let Some(error) = answer.error {
        return Err(StsFailure::Refused { code: error.code, message: error.message, request_id });
    }
    let garbage = |why: &str| StsFailure::Garbage(why.to_owned());
    let triple = answer.credentials.ok_or_else(|| garbage("the answer has no Credentials"))?;
    let credentials = triple.credentials(source).map_err(StsFailure::Garbage)?;
    let expires_at = answer.expired_time.ok_or_else(|| garbage("the answer has no ExpiredTime"))?;
    Ok(Fetched { credentials, expires_at })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_answers_are_read_and_garbage_is_described_without_quoting() {
        let good = br#"{"TmpSecretId":"AKIDtmp","TmpSecretKey":"tmpkey1","ExpiredTime":1700000000,
            "Expiration":"2023-11-14T22:13:20Z","Token":"tok1","Code":"Success"}"#;
        let f = parse_metadata(good).unwrap();
        assert_eq!((f.credentials.secret_id(), f.expires_at), ("AKIDtmp", 1_700_000_000));
        assert_eq!(f.credentials.token().unwrap().expose(), "tok1");
        for (bad, needle) in [
            (&br#"{"TmpSecretId":"AKIDtmp","TmpSecretKey":"tmpkey1","ExpiredTime":1,"Token":"t","Code":"Fail"}"#[..], "Code is `Fail`"),
            (br#"{"TmpSecretId":"AKIDtmp","TmpSecretKey":"tmpkey1","ExpiredTime":1,"Code":"Success"}"#, "lacks"),
            (br#"{"TmpSecretId":"AKIDtmp","TmpSecretKey":"tmpkey1","Token":"t","Code":"Success"}"#, "ExpiredTime"),
            (br#"{"TmpSecretId":"AKIDtmp","TmpSecretKey":"tmpkey1","Token":"t","ExpiredTime":"soon","Code":"Success"}"#, "wrong type"),
            (b"<html>tmpkey1</html>", "is not JSON"),
            (br#"{"TmpSecretId":"AKIDtmp","TmpSecretKey":"tmp\nkey1","ExpiredTime":1,"Token":"t","Code":"Success"}"#, "secret_key contains a control"),
        ] {
            let why = parse_metadata(bad).err().unwrap();
            assert!(why.contains(needle), "{needle}: {why}");
            assert!(!why.contains("tmpkey1") && !why.contains("tmp\nkey1"), "{why}");
        }
    }

    #[test]
    fn sts_answers_and_refusals() {
        let good = br#"{"Response":{"Credentials":{"Token":"t","TmpSecretId":"AKIDsts","TmpSecretKey":"k"},
            "ExpiredTime":1543914376,"Expiration":"2018-12-04T09:06:16Z","RequestId":"r1"}}"#;
        let f = parse_sts(good, CredentialSource::AssumeRole).ok().unwrap();
        assert_eq!((f.credentials.secret_id(), f.expires_at), ("AKIDsts", 1_543_914_376));
        assert_eq!(f.credentials.source(), CredentialSource::AssumeRole);
        let refused = br#"{"Response":{"Error":{"Code":"InvalidParameter.WebIdentityTokenError","Message":"bad token"},"RequestId":"r2"}}"#;
        match parse_sts(refused, CredentialSource::Oidc) {
            Err(StsFailure::Refused { code, request_id, .. }) => {
                assert_eq!((code.as_str(), request_id.as_str()), ("InvalidParameter.WebIdentityTokenError", "r2"))
            }
            _ => panic!("not refused"),
        }
        assert!(matches!(parse_sts(b"{}", CredentialSource::Oidc), Err(StsFailure::Garbage(_))));
        assert!(matches!(parse_sts(br#"{"Response":{}}"#, CredentialSource::Oidc), Err(StsFailure::Garbage(_))));
    }

    #[test]
    fn token_files_are_bounded_and_trimmed() {
        let dir = std::env::temp_dir().join(format!("tcsms-oidc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "  jwt.value.sig\n").unwrap();
        assert_eq!(read_token_file(&file).unwrap().as_str(), "jwt.value.sig");
        std::fs::write(&file, "\n").unwrap();
        assert!(read_token_file(&file).unwrap_err().message().contains("is empty"));
        std::fs::write(&file, vec![b'a'; MAX_TOKEN_FILE_BYTES as usize + 1]).unwrap();
        assert!(read_token_file(&file).unwrap_err().message().contains("larger"));
        assert!(read_token_file(&dir).unwrap_err().message().contains("not a regular file"));
        let e = read_token_file(&dir.join("missing")).unwrap_err();
        assert_eq!(e.code(), codes::CREDENTIALS_UNAVAILABLE);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
