//! Temporary credentials from a role, refreshed while calls go on.
//!
//! Sources (configuration keys in brackets):
//!
//! - `cvm_role` (`credential_source: "cvm_role"`, `cvm_role_name`): the CVM instance
//!   metadata service at `metadata_endpoint` (default `http://metadata.tencentyun.com`).
//!   The role name is asked for once when not given. Each fetch connects within about
//!   1 s and ends within about 3 s, so a machine that is not a CVM fails fast.
//! - `assume_role` (`role_arn`, `role_session_name`, `role_duration_seconds`): STS
//!   `AssumeRole` (2018-08-13) at `sts_endpoint`, signed (TC3, service `sts`) with the
//!   base credentials: explicit keys, the environment, the profile file or a CVM role.
//! - `oidc` (`credential_source: "oidc"`, `oidc_provider_id`, `oidc_token_file`,
//!   `role_arn`; defaults `TKE_PROVIDER_ID`, `TKE_WEB_IDENTITY_TOKEN_FILE`,
//!   `TKE_ROLE_ARN`): STS `AssumeRoleWithWebIdentity`, unsigned (`Authorization: SKIP`),
//!   the token file read afresh at every refresh; the region is `TKE_REGION` when set.
//!
//! Without `credential_source` the chain is: explicit keys, the environment, the
//! profile file, then `oidc` when its provider id, token file and role ARN are all
//! known. Nothing in it touches the network unless a role is configured or the TKE
//! variables are set. With `role_arn` (and a source other than `oidc`), the keys found
//! sign `AssumeRole` and calls are signed with the role's keys.
//!
//! The refresh rules are in [`refresh`]; the wire in [`fetch`].

pub(crate) mod fetch;
pub(crate) mod refresh;

use crate::credentials::{self, CredentialSource, Credentials, EnvLookup};
use crate::endpoint::Endpoint;
use crate::error::{codes, Error, ErrorKind};
use crate::signer::{CredentialSlot, Expiry, Signer};
use std::path::PathBuf;

pub const DEFAULT_METADATA_ENDPOINT: &str = "http://metadata.tencentyun.com";
pub const DEFAULT_ROLE_DURATION_SECONDS: u64 = 7200;
/// The longest `role_duration_seconds` STS accepts.
pub const MAX_ROLE_DURATION_SECONDS: u64 = 43_200;
/// The STS host of the international site (the default SMS endpoint's).
pub const DEFAULT_STS_HOST: &str = "sts.intl.tencentcloudapi.com";

pub const ENV_TKE_PROVIDER_ID: &str = "TKE_PROVIDER_ID";
pub const ENV_TKE_TOKEN_FILE: &str = "TKE_WEB_IDENTITY_TOKEN_FILE";
/// The name older TKE webhooks and SDKs used for the token file; read when the
/// current one is not set.
pub const ENV_TKE_TOKEN_FILE_OLD: &str = "TKE_IDENTITY_TOKEN_FILE";
pub const ENV_TKE_ROLE_ARN: &str = "TKE_ROLE_ARN";
pub const ENV_TKE_REGION: &str = "TKE_REGION";

/// The role keys of a configuration object, as written (`None`: absent or `null`).
#[derive(Debug, Default, Clone)]
pub struct RoleKeys {
    pub credential_source: Option<String>,
    pub cvm_role_name: Option<String>,
    pub role_arn: Option<String>,
    pub role_session_name: Option<String>,
    pub role_duration_seconds: Option<u64>,
    pub oidc_provider_id: Option<String>,
    pub oidc_token_file: Option<String>,
    pub metadata_endpoint: Option<String>,
    pub sts_endpoint: Option<String>,
}

/// What signs the calls, or the `AssumeRole` call when there is a `role_arn`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// The configuration's credentials (explicit, environment or profile file).
    Fixed,
    /// The CVM instance metadata service; the role name when given.
    CvmRole { role_name: Option<String> },
    /// STS `AssumeRoleWithWebIdentity`.
    Oidc(Oidc),
}

/// The settings of the web-identity exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Oidc {
    pub provider_id: String,
    pub token_file: PathBuf,
    pub role_arn: String,
    /// `TKE_REGION`, sent as `X-TC-Region`; the client's region when `None`.
    pub region: Option<String>,
}

/// A configured role source: where keys come from and how they are refreshed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    pub base: Base,
    /// `AssumeRole` over the base keys (never with [`Base::Oidc`], which takes its own).
    pub role_arn: Option<String>,
    /// `None`: a fresh `tcsms-<time>` name at every refresh.
    pub session_name: Option<String>,
    pub duration_seconds: u64,
    pub metadata_endpoint: Endpoint,
    pub sts_endpoint: Endpoint,
}

impl Provider {
    /// The source's name as events and errors give it: `cvm_role`, `oidc`,
    /// `assume_role` (with its base).
    pub fn name(&self) -> String {
        let base = match &self.base {
            Base::Fixed => "fixed keys",
            Base::CvmRole { .. } => "cvm_role",
            Base::Oidc(_) => "oidc",
        };
        match (&self.role_arn, &self.base) {
            (Some(_), _) => format!("assume_role (base: {base})"),
            (None, _) => base.to_owned(),
        }
    }
}

/// Resolves the credentials and the role source of a configuration. Returns the fixed
/// credentials (placeholders when a role supplies every key) and the source, if any.
pub(crate) fn resolve(
    keys: RoleKeys,
    secret_id: Option<&str>,
    secret_key: Option<&str>,
    token: Option<&str>,
    sms_endpoint: &Endpoint,
    env: EnvLookup<'_>,
) -> Result<(Credentials, Option<Provider>), Error> {
    let source = keys.credential_source.as_deref();
    if !matches!(source, None | Some("cvm_role") | Some("oidc")) {
        return Err(Error::invalid_config(format!(
            "credential_source `{}` must be \"cvm_role\" or \"oidc\" (or null for the default chain)",
            keys.credential_source.as_deref().unwrap_or_default()
        )));
    }
    if keys.cvm_role_name.is_some() && source != Some("cvm_role") {
        return Err(Error::invalid_config("cvm_role_name is set but credential_source is not \"cvm_role\""));
    }
    let duration_seconds = match keys.role_duration_seconds {
        None => DEFAULT_ROLE_DURATION_SECONDS,
        Some(s @ 1..=MAX_ROLE_DURATION_SECONDS) => s,
        Some(_) => {
            return Err(Error::invalid_config(format!(
                "configuration key `role_duration_seconds` must be an integer from 1 to {MAX_ROLE_DURATION_SECONDS}"
            )))
        }
    };
    if let Some(name) = &keys.role_session_name {
        check_session_name(name)?;
    }
    if let Some(name) = &keys.cvm_role_name {
        check_role_name(name)?;
    }
    let metadata_endpoint = metadata_endpoint(keys.metadata_endpoint.as_deref())?;
    let sts_endpoint = match keys.sts_endpoint.as_deref() {
        Some(text) => Endpoint::parse(text).map_err(|e| renamed(e, "sts_endpoint"))?,
        None => default_sts_endpoint(sms_endpoint),
    };
    let explicit_keys = secret_id.is_some() || secret_key.is_some();
    let provider = |base: Base, role_arn: Option<String>| Provider {
        base,
        role_arn,
        session_name: keys.role_session_name.clone(),
        duration_seconds,
        metadata_endpoint: metadata_endpoint.clone(),
        sts_endpoint: sts_endpoint.clone(),
    };
    let role_arn = keys.role_arn.clone().filter(|a| !a.is_empty());
    if let Some(arn) = &role_arn {
        check_header_value("role_arn", arn)?;
    }
    match source {
        Some("cvm_role") => {
            if explicit_keys {
                return Err(Error::invalid_config(
                    "secret_id/secret_key cannot be combined with credential_source \"cvm_role\"",
                ));
            }
            let base = Base::CvmRole { role_name: keys.cvm_role_name.clone() };
            Ok((Credentials::placeholder(CredentialSource::CvmRole), Some(provider(base, role_arn))))
        }
        Some(_) => {
            if explicit_keys {
                return Err(Error::invalid_config(
                    "secret_id/secret_key cannot be combined with credential_source \"oidc\"",
                ));
            }
            let oidc = oidc(&keys, env).map_err(|missing| {
                Error::local(
                    ErrorKind::InvalidConfig,
                    codes::MISSING_CREDENTIALS,
                    format!("credential_source \"oidc\" needs {}", missing.join(", ")),
                )
            })?;
            Ok((Credentials::placeholder(CredentialSource::Oidc), Some(provider(Base::Oidc(oidc), None))))
        }
        None => match credentials::resolve(secret_id, secret_key, token, env) {
            Ok(fixed) => Ok((fixed, role_arn.map(|arn| provider(Base::Fixed, Some(arn))))),
            Err(e) if is_missing(&e) && !explicit_keys => match oidc(&keys, env) {
                Ok(oidc) => {
                    Ok((Credentials::placeholder(CredentialSource::Oidc), Some(provider(Base::Oidc(oidc), None))))
                }
                Err(missing) => Err(Error::local(
                    ErrorKind::InvalidConfig,
                    codes::MISSING_CREDENTIALS,
                    format!(
                        "{}; oidc: not configured ({} not set); cvm_role: not tried (set credential_source to \
                         \"cvm_role\" on a CVM instance with a bound role)",
                        e.message(),
                        missing.join(", ")
                    ),
                )),
            },
            Err(e) => Err(e),
        },
    }
}

/// The client's credential slot and, for a role source, its refresher: the slot then
/// starts with expired placeholder keys, so the first call waits for the first fetch.
pub(crate) fn client_parts(
    credentials: Credentials,
    provider: Option<Provider>,
    settings: &fetch::Settings<'_>,
    resolver: &dyn Fn() -> Option<Box<dyn crate::transport::NameResolver>>,
    observer: &std::sync::Arc<crate::events::Observer>,
) -> Result<(std::sync::Arc<CredentialSlot>, Option<refresh::Refresher>), Error> {
    let Some(provider) = provider else {
        return Ok((std::sync::Arc::new(CredentialSlot::new(Signer::new(credentials))), None));
    };
    let fixed = (provider.base == Base::Fixed).then_some(credentials);
    let fetcher = fetch::Fetcher::new(provider, fixed, settings, resolver)?;
    let placeholder = Credentials::placeholder(CredentialSource::CvmRole);
    let expired = Expiry { refresh_at_ms: 0, expires_at_ms: 0 };
    let slot = std::sync::Arc::new(CredentialSlot::new(Signer::expiring(placeholder, expired)));
    let refresher = refresh::Refresher::new(fetcher, slot.clone(), observer.clone());
    Ok((slot, Some(refresher)))
}

/// Whether `e` says that no source had credentials.
fn is_missing(e: &Error) -> bool {
    let missing = Error::local(ErrorKind::InvalidConfig, codes::MISSING_CREDENTIALS, "");
    e.code() == missing.code()
}

/// The web-identity settings from the configuration or the TKE variables, or the names
/// of what is missing.
fn oidc(keys: &RoleKeys, env: EnvLookup<'_>) -> Result<Oidc, Vec<String>> {
    let provider_id = keys.oidc_provider_id.clone().filter(|s| !s.is_empty()).or_else(|| env(ENV_TKE_PROVIDER_ID));
    let token_file = keys
        .oidc_token_file
        .clone()
        .filter(|s| !s.is_empty())
        .or_else(|| env(ENV_TKE_TOKEN_FILE))
        .or_else(|| env(ENV_TKE_TOKEN_FILE_OLD));
    let role_arn = keys.role_arn.clone().filter(|s| !s.is_empty()).or_else(|| env(ENV_TKE_ROLE_ARN));
    match (provider_id, token_file, role_arn) {
        (Some(provider_id), Some(token_file), Some(role_arn)) => Ok(Oidc {
            provider_id,
            token_file: PathBuf::from(token_file),
            role_arn,
            region: env(ENV_TKE_REGION).filter(|r| r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')),
        }),
        (p, t, r) => {
            let mut missing = Vec::new();
            if p.is_none() {
                missing.push(format!("oidc_provider_id or {ENV_TKE_PROVIDER_ID}"));
            }
            if t.is_none() {
                missing.push(format!("oidc_token_file or {ENV_TKE_TOKEN_FILE}"));
            }
            if r.is_none() {
                missing.push(format!("role_arn or {ENV_TKE_ROLE_ARN}"));
            }
            Err(missing)
        }
    }
}

/// `metadata_endpoint` in the forms `endpoint` accepts, except that the metadata
/// service speaks plain HTTP: a bare host, or `http://host` without a port, means
/// `http://host:80`.
fn metadata_endpoint(text: Option<&str>) -> Result<Endpoint, Error> {
    let text = text.unwrap_or(DEFAULT_METADATA_ENDPOINT);
    let rest = text.strip_prefix("http://").unwrap_or(text);
    let plain = !text.contains("://") || text.starts_with("http://");
    let bare = rest.strip_suffix('/').unwrap_or(rest);
    let has_port = bare.rsplit_once(':').is_some_and(|(h, p)| !p.is_empty() && !p.contains(']') && !h.is_empty());
    if plain && !has_port {
        let mut endpoint =
            Endpoint::parse(&format!("http://{bare}:80")).map_err(|e| renamed(e, "metadata_endpoint"))?;
        endpoint.authority.truncate(endpoint.authority.len() - 3);
        endpoint.url = format!("http://{}/", endpoint.authority);
        return Ok(endpoint);
    }
    let text = if plain && !text.starts_with("http://") { format!("http://{text}") } else { text.to_owned() };
    Endpoint::parse(&text).map_err(|e| renamed(e, "metadata_endpoint"))
}

/// The STS host of the SMS endpoint's site: `sms.X` becomes `sts.X` (the default
/// `sms.intl.tencentcloudapi.com` gives `sts.intl.tencentcloudapi.com`); any other host
/// (a proxy, an emulator) is taken to serve STS too.
fn default_sts_endpoint(sms: &Endpoint) -> Endpoint {
    match sms.authority.strip_prefix("sms.") {
        Some(rest) => {
            let authority = format!("sts.{rest}");
            let scheme = if sms.https { "https" } else { "http" };
            Endpoint { https: sms.https, url: format!("{scheme}://{authority}/"), authority }
        }
        None => sms.clone(),
    }
}

/// An endpoint error about `endpoint`, said of the key it came from.
fn renamed(e: Error, key: &str) -> Error {
    Error::invalid_config(format!("configuration key `{key}`: {}", e.message()))
}

/// `RoleSessionName`: 2 to 128 of `[A-Za-z0-9_+=,.@-]`.
fn check_session_name(name: &str) -> Result<(), Error> {
    let ok =
        (2..=128).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_config(
            "configuration key `role_session_name` must be 2 to 128 characters of letters, digits and _+=,.@-",
        ))
    }
}

/// A CAM role name, which becomes a path segment of the metadata URL.
pub(crate) fn check_role_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_config(
            "configuration key `cvm_role_name` must be 1 to 128 characters of letters, digits and _+=,.@-",
        ))
    }
}

fn check_header_value(key: &str, value: &str) -> Result<(), Error> {
    if value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        Ok(())
    } else {
        Err(Error::invalid_config(format!("configuration key `{key}` must be printable ASCII")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    fn sms() -> Endpoint {
        Endpoint::parse("sms.intl.tencentcloudapi.com").unwrap()
    }

    const NO_FILE: (&str, &str) = ("TENCENTCLOUD_CREDENTIALS_FILE", "/nonexistent/tcsms/credentials");

    #[test]
    fn fixed_keys_without_role_arn_have_no_provider() {
        let env = env_of(&[NO_FILE]);
        let (c, p) = resolve(RoleKeys::default(), Some("AKID1"), Some("k"), None, &sms(), &env).unwrap();
        assert_eq!(c.secret_id(), "AKID1");
        assert!(p.is_none());
    }

    #[test]
    fn role_arn_over_fixed_keys_is_assume_role_at_the_sites_sts_host() {
        let env = env_of(&[NO_FILE]);
        let keys = RoleKeys { role_arn: Some("qcs::cam::uin/1:roleName/r".into()), ..Default::default() };
        let (_, p) = resolve(keys, Some("AKID1"), Some("k"), None, &sms(), &env).unwrap();
        let p = p.unwrap();
        assert_eq!((p.base.clone(), p.duration_seconds), (Base::Fixed, 7200));
        assert_eq!(p.sts_endpoint.url, "https://sts.intl.tencentcloudapi.com/");
        assert_eq!(p.metadata_endpoint.url, "http://metadata.tencentyun.com/");
        assert_eq!(p.metadata_endpoint.authority, "metadata.tencentyun.com");
        assert_eq!(p.name(), "assume_role (base: fixed keys)");
        let china = Endpoint::parse("sms.tencentcloudapi.com").unwrap();
        assert_eq!(default_sts_endpoint(&china).url, "https://sts.tencentcloudapi.com/");
        let local = Endpoint::parse("http://127.0.0.1:9").unwrap();
        assert_eq!(default_sts_endpoint(&local), local);
    }

    #[test]
    fn cvm_role_and_oidc_sources() {
        let env = env_of(&[NO_FILE]);
        let keys = RoleKeys {
            credential_source: Some("cvm_role".into()),
            cvm_role_name: Some("my-role".into()),
            metadata_endpoint: Some("http://127.0.0.1:8080".into()),
            ..Default::default()
        };
        let (c, p) = resolve(keys, None, None, None, &sms(), &env).unwrap();
        assert_eq!(c.source(), CredentialSource::CvmRole);
        let p = p.unwrap();
        assert_eq!(p.base, Base::CvmRole { role_name: Some("my-role".into()) });
        assert_eq!(p.metadata_endpoint.url, "http://127.0.0.1:8080/");

        let keys = RoleKeys { credential_source: Some("oidc".into()), ..Default::default() };
        let e = resolve(keys.clone(), None, None, None, &sms(), &env).unwrap_err();
        assert_eq!(e.code(), codes::MISSING_CREDENTIALS);
        for needle in ["oidc_provider_id or TKE_PROVIDER_ID", "TKE_WEB_IDENTITY_TOKEN_FILE", "TKE_ROLE_ARN"] {
            assert!(e.message().contains(needle), "{}", e.message());
        }
        let tke = env_of(&[
            NO_FILE,
            (ENV_TKE_PROVIDER_ID, "OIDC"),
            (ENV_TKE_TOKEN_FILE, "/var/run/token"),
            (ENV_TKE_ROLE_ARN, "qcs::cam::uin/1:roleName/r"),
            (ENV_TKE_REGION, "ap-singapore"),
        ]);
        let (_, p) = resolve(keys, None, None, None, &sms(), &tke).unwrap();
        let Base::Oidc(oidc) = p.unwrap().base else { panic!("not oidc") };
        assert_eq!((oidc.provider_id.as_str(), oidc.region.as_deref()), ("OIDC", Some("ap-singapore")));
    }

    #[test]
    fn the_default_chain_ends_with_oidc_and_names_every_source() {
        let tke = env_of(&[
            NO_FILE,
            (ENV_TKE_PROVIDER_ID, "OIDC"),
            (ENV_TKE_TOKEN_FILE, "/var/run/token"),
            (ENV_TKE_ROLE_ARN, "qcs::cam::uin/1:roleName/r"),
        ]);
        let (_, p) = resolve(RoleKeys::default(), None, None, None, &sms(), &tke).unwrap();
        assert!(matches!(p.unwrap().base, Base::Oidc(_)));
        // Environment keys come before OIDC.
        let both = env_of(&[
            NO_FILE,
            (ENV_TKE_PROVIDER_ID, "OIDC"),
            (ENV_TKE_TOKEN_FILE, "/var/run/token"),
            (ENV_TKE_ROLE_ARN, "qcs::cam::uin/1:roleName/r"),
            ("TENCENTCLOUD_SECRET_ID", "AKIDenv"),
            ("TENCENTCLOUD_SECRET_KEY", "envkey"),
        ]);
        let (c, p) = resolve(RoleKeys::default(), None, None, None, &sms(), &both).unwrap();
        assert_eq!(c.secret_id(), "AKIDenv");
        assert!(p.is_none());
        let e = resolve(RoleKeys::default(), None, None, None, &sms(), &env_of(&[NO_FILE])).unwrap_err();
        assert_eq!(e.code(), codes::MISSING_CREDENTIALS);
        for needle in ["TENCENTCLOUD_SECRET_ID", "/nonexistent/tcsms/credentials", "oidc: not configured", "cvm_role"] {
            assert!(e.message().contains(needle), "{needle}: {}", e.message());
        }
    }

    #[test]
    fn bad_role_keys_are_named() {
        let env = env_of(&[NO_FILE]);
        for (keys, needle) in [
            (RoleKeys { credential_source: Some("imds".into()), ..Default::default() }, "credential_source"),
            (RoleKeys { cvm_role_name: Some("r".into()), ..Default::default() }, "cvm_role_name"),
            (
                RoleKeys {
                    credential_source: Some("cvm_role".into()),
                    cvm_role_name: Some("../x".into()),
                    ..Default::default()
                },
                "cvm_role_name",
            ),
            (RoleKeys { role_duration_seconds: Some(0), ..Default::default() }, "role_duration_seconds"),
            (RoleKeys { role_duration_seconds: Some(43_201), ..Default::default() }, "role_duration_seconds"),
            (RoleKeys { role_session_name: Some("x".into()), ..Default::default() }, "role_session_name"),
            (RoleKeys { role_session_name: Some("a b".into()), ..Default::default() }, "role_session_name"),
            (RoleKeys { sts_endpoint: Some("ftp://x".into()), ..Default::default() }, "sts_endpoint"),
            (RoleKeys { metadata_endpoint: Some("http://a/b".into()), ..Default::default() }, "metadata_endpoint"),
            (RoleKeys { role_arn: Some("a\nb".into()), ..Default::default() }, "role_arn"),
        ] {
            let e = resolve(keys, Some("AKID1"), Some("k"), None, &sms(), &env).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidConfig);
            assert!(e.message().contains(needle), "{needle}: {}", e.message());
        }
        let keys = RoleKeys { credential_source: Some("cvm_role".into()), ..Default::default() };
        assert!(resolve(keys, Some("AKID1"), Some("k"), None, &sms(), &env).is_err());
    }
}
