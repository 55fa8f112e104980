//! Client configuration: one JSON object, unknown keys refused with the key named.

use crate::credentials::{self, Credentials, EnvLookup, Secret};
use crate::error::{codes, Error, ErrorKind};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use std::path::PathBuf;
use std::time::Duration;
use zeroize::Zeroizing;

pub use crate::endpoint::Endpoint;

pub const DEFAULT_REGION: &str = "ap-guangzhou";
pub const DEFAULT_ENDPOINT: &str = "sms.intl.tencentcloudapi.com";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(15_000);
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_millis(5_000);
pub const DEFAULT_MAX_RETRIES: u32 = 2;
/// The largest `max_retries` accepted.
pub const MAX_RETRIES_LIMIT: u32 = 10;

/// The keys a configuration object may have.
pub const KEYS: [&str; 25] = [
    "secret_id",
    "secret_key",
    "token",
    "region",
    "endpoint",
    "language",
    "timeout_ms",
    "connect_timeout_ms",
    "max_retries",
    "proxy",
    "ca_file",
    "rate_limits",
    "log_phone_numbers",
    "rate_limit_store",
    "rate_limit_key",
    "rate_limit_store_fallback_share",
    "credential_source",
    "cvm_role_name",
    "role_arn",
    "role_session_name",
    "role_duration_seconds",
    "oidc_provider_id",
    "oidc_token_file",
    "metadata_endpoint",
    "sts_endpoint",
];

/// `X-TC-Language` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    EnUs,
    ZhCn,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::EnUs => "en-US",
            Language::ZhCn => "zh-CN",
        }
    }
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub credentials: Credentials,
    pub region: String,
    pub endpoint: Endpoint,
    pub language: Option<Language>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_retries: u32,
    /// An explicit proxy URL, which may hold a password; `None` means the environment's:
    /// the first of `ALL_PROXY`, `HTTPS_PROXY`, `HTTP_PROXY` (or their lower-case forms)
    /// that is set, whether the endpoint is `https` or `http`, with `NO_PROXY`.
    pub proxy: Option<Secret>,
    pub ca_file: Option<PathBuf>,
    /// Client-side rate limits per action (see [`crate::ratelimit`]).
    pub rate_limits: crate::ratelimit::RateLimits,
    /// Events show phone numbers in full (configuration key `log_phone_numbers`);
    /// by default they are masked (see [`crate::events`]).
    pub log_phone_numbers: bool,
    /// Rate limits shared through Redis (keys `rate_limit_store`, `rate_limit_key`,
    /// `rate_limit_store_fallback_share`; see [`crate::ratelimit_store`]); `None`:
    /// in-process buckets.
    pub rate_limit_store: Option<crate::ratelimit_store::StoreConfig>,
    /// A role source (CVM role, STS AssumeRole, OIDC) that supplies and refreshes the
    /// keys; `None`: `credentials` are used as they are (see [`crate::provider`]).
    pub credential_provider: Option<crate::provider::Provider>,
}

impl Config {
    /// Parses a configuration object, reading missing credentials from the process
    /// environment and the profile file.
    pub fn from_json(json: &str) -> Result<Config, Error> {
        Config::from_json_with_env(json, &credentials::process_env)
    }

    /// As [`Config::from_json`], with an injectable environment.
    pub fn from_json_with_env(json: &str, env: EnvLookup<'_>) -> Result<Config, Error> {
        Config::from_raw(RawConfig::parse(json)?, env)
    }

    fn from_raw(mut raw: RawConfig, env: EnvLookup<'_>) -> Result<Config, Error> {
        let endpoint = endpoint(raw.endpoint.as_deref(), env)?;
        let (credentials, credential_provider) = crate::provider::resolve(
            raw.role_keys(),
            raw.secret_id.as_deref(),
            raw.secret_key.as_deref().map(String::as_str),
            raw.token.as_deref().map(String::as_str),
            &endpoint,
            env,
        )?;
        let region = region(raw.region)?;
        // A role client has no keys yet (and its temporary ones change): its budget is
        // its role's.
        let owner = match &credential_provider {
            Some(provider) => crate::ratelimit_store::Owner::Role(provider),
            None => crate::ratelimit_store::Owner::Keys(credentials.secret_id()),
        };
        let rate_limit_store = crate::ratelimit_store::StoreConfig::from_config(
            raw.rate_limit_store.as_deref().map(String::as_str),
            raw.rate_limit_key.as_deref(),
            raw.rate_limit_store_fallback_share,
            owner,
            &region,
        )?;
        Ok(Config {
            credentials,
            credential_provider,
            region,
            endpoint,
            language: language(raw.language.as_deref())?,
            timeout: duration("timeout_ms", raw.timeout_ms, DEFAULT_TIMEOUT)?,
            connect_timeout: duration("connect_timeout_ms", raw.connect_timeout_ms, DEFAULT_CONNECT_TIMEOUT)?,
            max_retries: max_retries(raw.max_retries)?,
            proxy: proxy(raw.proxy)?,
            ca_file: raw.ca_file.filter(|s| !s.is_empty()).map(PathBuf::from),
            rate_limits: crate::ratelimit::RateLimits::from_config(raw.rate_limits.as_ref())?,
            log_phone_numbers: raw.log_phone_numbers.unwrap_or(false),
            rate_limit_store,
        })
    }
}

/// The configuration object as written: every key may be absent or `null`; unknown
/// keys are refused. Secrets are zeroed when it is dropped.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default, deserialize_with = "string")]
    secret_id: Option<String>,
    #[serde(default, deserialize_with = "secret")]
    secret_key: Option<Zeroizing<String>>,
    #[serde(default, deserialize_with = "secret")]
    token: Option<Zeroizing<String>>,
    #[serde(default, deserialize_with = "string")]
    region: Option<String>,
    #[serde(default, deserialize_with = "string")]
    endpoint: Option<String>,
    #[serde(default, deserialize_with = "string")]
    language: Option<String>,
    #[serde(default, deserialize_with = "integer")]
    timeout_ms: Option<u64>,
    #[serde(default, deserialize_with = "integer")]
    connect_timeout_ms: Option<u64>,
    #[serde(default, deserialize_with = "integer")]
    max_retries: Option<u64>,
    #[serde(default, deserialize_with = "secret")]
    proxy: Option<Zeroizing<String>>,
    #[serde(default, deserialize_with = "string")]
    ca_file: Option<String>,
    /// Checked by [`crate::ratelimit::RateLimits::from_config`].
    #[serde(default)]
    rate_limits: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "boolean")]
    log_phone_numbers: Option<bool>,
    /// Checked by [`crate::ratelimit_store::StoreConfig::from_config`].
    #[serde(default, deserialize_with = "secret")]
    rate_limit_store: Option<Zeroizing<String>>,
    #[serde(default, deserialize_with = "string")]
    rate_limit_key: Option<String>,
    #[serde(default, deserialize_with = "number")]
    rate_limit_store_fallback_share: Option<f64>,
    #[serde(default, deserialize_with = "string")]
    credential_source: Option<String>,
    #[serde(default, deserialize_with = "string")]
    cvm_role_name: Option<String>,
    #[serde(default, deserialize_with = "string")]
    role_arn: Option<String>,
    #[serde(default, deserialize_with = "string")]
    role_session_name: Option<String>,
    #[serde(default, deserialize_with = "integer")]
    role_duration_seconds: Option<u64>,
    #[serde(default, deserialize_with = "string")]
    oidc_provider_id: Option<String>,
    #[serde(default, deserialize_with = "string")]
    oidc_token_file: Option<String>,
    #[serde(default, deserialize_with = "string")]
    metadata_endpoint: Option<String>,
    #[serde(default, deserialize_with = "string")]
    sts_endpoint: Option<String>,
}

impl RawConfig {
    /// The keys of the role sources (see [`crate::provider`]).
    fn role_keys(&mut self) -> crate::provider::RoleKeys {
        crate::provider::RoleKeys {
            credential_source: self.credential_source.take(),
            cvm_role_name: self.cvm_role_name.take(),
            role_arn: self.role_arn.take(),
            role_session_name: self.role_session_name.take(),
            role_duration_seconds: self.role_duration_seconds.take(),
            oidc_provider_id: self.oidc_provider_id.take(),
            oidc_token_file: self.oidc_token_file.take(),
            metadata_endpoint: self.metadata_endpoint.take(),
            sts_endpoint: self.sts_endpoint.take(),
        }
    }

    /// Parses the JSON; errors name the key at fault. As in any JSON object read into a
    /// map, a key given twice takes its last value.
    fn parse(json: &str) -> Result<RawConfig, Error> {
        let invalid_json = |why: String| Error::local(ErrorKind::InvalidJson, codes::INVALID_JSON, why);
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| invalid_json(format!("configuration is not valid JSON: {e}")))?;
        if !value.is_object() {
            return Err(invalid_json("configuration must be a JSON object".into()));
        }
        // Deserialized from the owned value, the strings move into the fields: the
        // secrets are not copied, and the fields zero them.
        serde_path_to_error::deserialize(value).map_err(|error| {
            let key = error.path().to_string();
            // The messages of this module's deserializers, or serde's own.
            let why = error.into_inner().to_string();
            match why.strip_prefix("unknown field `").and_then(|rest| rest.split('`').next()) {
                Some(unknown) => Error::invalid_config(format!(
                    "unknown configuration key `{unknown}` (known keys: {})",
                    KEYS.join(", ")
                )),
                None => Error::invalid_config(format!("configuration key `{key}` {why}")),
            }
        })
    }
}

fn string<'de, D: Deserializer<'de>>(value: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(value).map_err(|_| D::Error::custom("must be a string"))
}

fn secret<'de, D: Deserializer<'de>>(value: D) -> Result<Option<Zeroizing<String>>, D::Error> {
    string(value).map(|s| s.map(Zeroizing::new))
}

fn boolean<'de, D: Deserializer<'de>>(value: D) -> Result<Option<bool>, D::Error> {
    Option::<bool>::deserialize(value).map_err(|_| D::Error::custom("must be true or false"))
}

fn number<'de, D: Deserializer<'de>>(value: D) -> Result<Option<f64>, D::Error> {
    Option::<f64>::deserialize(value).map_err(|_| D::Error::custom("must be a number"))
}

fn integer<'de, D: Deserializer<'de>>(value: D) -> Result<Option<u64>, D::Error> {
    Option::<u64>::deserialize(value).map_err(|_| D::Error::custom("must be a whole number"))
}

fn region(region: Option<String>) -> Result<String, Error> {
    match region {
        None => Ok(DEFAULT_REGION.to_owned()),
        Some(r) if !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') => Ok(r),
        Some(r) => Err(Error::invalid_config(format!("region `{r}` is not a region name like ap-guangzhou"))),
    }
}

fn language(language: Option<&str>) -> Result<Option<Language>, Error> {
    match language {
        None => Ok(None),
        Some("en-US") => Ok(Some(Language::EnUs)),
        Some("zh-CN") => Ok(Some(Language::ZhCn)),
        Some(other) => Err(Error::invalid_config(format!("language `{other}` must be en-US or zh-CN"))),
    }
}

/// The environment variable read for the endpoint when the configuration has none (as
/// the AWS SDKs read `AWS_ENDPOINT_URL`): one variable points every program at the emulator.
pub const ENDPOINT_ENV: &str = "TCSMS_ENDPOINT";

/// The configured endpoint, else a non-empty `TCSMS_ENDPOINT`, else the default.
fn endpoint(configured: Option<&str>, env: EnvLookup<'_>) -> Result<Endpoint, Error> {
    if let Some(text) = configured {
        return Endpoint::parse(text);
    }
    match env(ENDPOINT_ENV).filter(|text| !text.is_empty()) {
        Some(text) => Endpoint::parse(&text).map_err(|e| {
            Error::invalid_config(format!(
                "{ENDPOINT_ENV} (read because the configuration has no `endpoint`): {}",
                e.message()
            ))
        }),
        None => Endpoint::parse(DEFAULT_ENDPOINT),
    }
}

/// The longest time limit accepted, one day.
const MAX_TIMEOUT_MS: u64 = 86_400_000;

fn duration(key: &str, ms: Option<u64>, default: Duration) -> Result<Duration, Error> {
    match ms {
        None => Ok(default),
        Some(ms @ 1..=MAX_TIMEOUT_MS) => Ok(Duration::from_millis(ms)),
        Some(_) => Err(Error::invalid_config(format!(
            "configuration key `{key}` must be an integer from 1 to {MAX_TIMEOUT_MS}"
        ))),
    }
}

fn max_retries(n: Option<u64>) -> Result<u32, Error> {
    match n {
        None => Ok(DEFAULT_MAX_RETRIES),
        Some(n) if n <= u64::from(MAX_RETRIES_LIMIT) => Ok(n as u32),
        Some(_) => Err(Error::invalid_config(format!(
            "configuration key `max_retries` must be an integer from 0 to {MAX_RETRIES_LIMIT}"
        ))),
    }
}

fn proxy(url: Option<Zeroizing<String>>) -> Result<Option<Secret>, Error> {
    match url.as_deref().map(String::as_str) {
        None | Some("") => Ok(None),
        Some(url) => {
            parse_proxy(url)?;
            Ok(Some(Secret::new(url)))
        }
    }
}

/// Checks a proxy URL (an HTTP CONNECT proxy, `http://[user:password@]host:port`); the
/// error never repeats the URL, which may hold a password.
pub fn parse_proxy(url: &str) -> Result<(), Error> {
    crate::transport::proxy::parse(url).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn parse(json: &str) -> Result<Config, Error> {
        Config::from_json_with_env(json, &no_env)
    }

    const CREDS: &str = r#""secret_id":"AKID1","secret_key":"key1""#;

    #[test]
    fn defaults() {
        let c = parse(&format!("{{{CREDS}}}")).unwrap();
        assert_eq!(c.region, "ap-guangzhou");
        assert_eq!(c.endpoint.url, "https://sms.intl.tencentcloudapi.com/");
        assert_eq!(c.endpoint.authority, "sms.intl.tencentcloudapi.com");
        assert_eq!(c.timeout, Duration::from_secs(15));
        assert_eq!(c.connect_timeout, Duration::from_secs(5));
        assert_eq!(c.max_retries, 2);
        assert_eq!(c.language, None);
        assert!(c.proxy.is_none() && c.ca_file.is_none());
    }

    #[test]
    fn every_key_is_read() {
        let c = parse(&format!(
            r#"{{{CREDS},"token":"t","region":"ap-singapore","endpoint":"http://127.0.0.1:8080","language":"en-US",
                "timeout_ms":2500,"connect_timeout_ms":700,"max_retries":0,"proxy":"http://u:p@proxy:3128","ca_file":"/tmp/ca.pem"}}"#
        ))
        .unwrap();
        assert_eq!(c.credentials.token().unwrap().expose(), "t");
        assert_eq!(c.region, "ap-singapore");
        assert_eq!(
            c.endpoint,
            Endpoint { https: false, authority: "127.0.0.1:8080".into(), url: "http://127.0.0.1:8080/".into() }
        );
        assert_eq!(c.language, Some(Language::EnUs));
        assert_eq!(
            (c.timeout, c.connect_timeout, c.max_retries),
            (Duration::from_millis(2500), Duration::from_millis(700), 0)
        );
        assert_eq!(c.proxy.as_ref().map(Secret::expose), Some("http://u:p@proxy:3128"));
        assert_eq!(c.ca_file, Some(PathBuf::from("/tmp/ca.pem")));
    }

    #[test]
    fn nulls_are_absent() {
        let c = parse(&format!(r#"{{{CREDS},"token":null,"region":null,"timeout_ms":null}}"#)).unwrap();
        assert!(c.credentials.token().is_none());
        assert_eq!(c.region, DEFAULT_REGION);
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = parse(&format!(r#"{{{CREDS},"timeout":5}}"#)).unwrap_err();
        assert_eq!(e.code(), codes::INVALID_CONFIG);
        assert!(e.message().contains("`timeout`"), "{}", e.message());
    }

    #[test]
    fn wrong_types_and_values_are_named() {
        for (extra, needle) in [
            (r#""timeout_ms":"5""#, "timeout_ms"),
            (r#""timeout_ms":-1"#, "timeout_ms"),
            (r#""timeout_ms":0"#, "timeout_ms"),
            (r#""timeout_ms":1.5"#, "`timeout_ms` must be a whole number"),
            (r#""token":5"#, "`token` must be a string"),
            (r#""max_retries":11"#, "max_retries"),
            (r#""region":5"#, "region"),
            (r#""region":"ap guangzhou""#, "region"),
            (r#""language":"fr-FR""#, "language"),
            (r#""endpoint":"ftp://x""#, "endpoint"),
            (r#""endpoint":"http://localhost""#, "port"),
            (r#""endpoint":"host:99999""#, "port"),
            (r#""endpoint":"host/path""#, "path"),
            (r#""endpoint":"http://127.0.0.1:+80""#, "port"),
            (r#""endpoint":"http://127.0.0.1:8_0""#, "port"),
            (r#""endpoint":"bücher.example""#, "ASCII"),
            (r#""endpoint":"sms|x.example.com""#, "ASCII"),
            (r#""endpoint":"https://sms{x}.example.com""#, "ASCII"),
            (r#""endpoint":"https://sms.tencentcloudapi.com\u00a0""#, "ASCII"),
            (r#""proxy":"socks5://127.0.0.1:1080""#, "socks5://"),
            (r#""proxy":"socks4://127.0.0.1:1080""#, "socks4://"),
            (r#""proxy":"socks4a://127.0.0.1:1080""#, "socks4a://"),
            (r#""proxy":"socks5h://u:pw@127.0.0.1:1080""#, "socks5h://"),
            (r#""proxy":"::not a url::""#, "proxy"),
            (r#""rate_limit_store_fallback_share":"0.5""#, "`rate_limit_store_fallback_share` must be a number"),
            (r#""rate_limit_store_fallback_share":true"#, "`rate_limit_store_fallback_share` must be a number"),
            (
                r#""rate_limit_store":"redis://127.0.0.1:6379","rate_limit_store_fallback_share":0"#,
                "`rate_limit_store_fallback_share` must be a number greater than 0 and at most 1",
            ),
            (
                r#""rate_limit_store":"redis://127.0.0.1:6379","rate_limit_store_fallback_share":1.5"#,
                "`rate_limit_store_fallback_share` must be a number greater than 0 and at most 1",
            ),
            (r#""rate_limit_store_fallback_share":0.5"#, "needs `rate_limit_store`"),
        ] {
            let e = parse(&format!("{{{CREDS},{extra}}}")).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{extra}");
            assert!(e.message().contains(needle), "{extra}: {}", e.message());
        }
    }

    #[test]
    fn the_fallback_share_is_read_as_a_number() {
        let store = r#""rate_limit_store":"redis://127.0.0.1:6379""#;
        let c = parse(&format!(r#"{{{CREDS},{store}}}"#)).unwrap();
        assert_eq!(c.rate_limit_store.unwrap().fallback_share(), None);
        for (given, share) in [("0.125", 0.125), ("1", 1.0), ("1e-3", 0.001)] {
            let c = parse(&format!(r#"{{{CREDS},{store},"rate_limit_store_fallback_share":{given}}}"#)).unwrap();
            assert_eq!(c.rate_limit_store.unwrap().fallback_share(), Some(share), "{given}");
        }
        let c = parse(&format!(r#"{{{CREDS},{store},"rate_limit_store_fallback_share":null}}"#)).unwrap();
        assert_eq!(c.rate_limit_store.unwrap().fallback_share(), None);
    }

    #[test]
    fn a_role_clients_default_rate_limit_key_is_its_roles_and_region() {
        const ARN: &str = "qcs::cam::uin/100000000001:roleName/sms-sender";
        let store = r#""rate_limit_store":"redis://127.0.0.1:6379""#;
        let key = |extra: &str| {
            let c = parse(&format!(r#"{{{store},{extra}}}"#)).unwrap();
            assert!(c.credential_provider.is_some(), "{extra}");
            c.rate_limit_store.unwrap().key().to_owned()
        };
        let oidc =
            format!(r#""credential_source":"oidc","oidc_provider_id":"p","oidc_token_file":"/t","role_arn":"{ARN}""#);
        let assumed = format!(r#"{CREDS},"role_arn":"{ARN}""#);
        let assumed_other_keys = format!(r#""secret_id":"AKID2","secret_key":"key2","role_arn":"{ARN}""#);
        let other_role = format!(r#"{CREDS},"role_arn":"qcs::cam::uin/100000000002:roleName/sms-sender""#);
        let cvm = r#""credential_source":"cvm_role","cvm_role_name":"sms-sender""#;
        let cvm_other = r#""credential_source":"cvm_role","cvm_role_name":"other""#;
        let k = key(&oidc);
        // Before: the placeholder's empty SecretId, one budget for every role client of
        // every account in the region.
        assert_ne!(k, crate::ratelimit_store::default_key("", DEFAULT_REGION));
        assert!(k.len() == 16 && k.bytes().all(|b| b.is_ascii_hexdigit()), "{k}");
        // One role is one budget, whatever keys assume it and however it is reached.
        assert_eq!(key(&assumed), k);
        assert_eq!(key(&assumed_other_keys), k);
        // Other roles, other regions, the base keys themselves: other budgets.
        assert_ne!(key(&other_role), k);
        assert_ne!(key(&format!(r#"{oidc},"region":"ap-singapore""#)), k);
        assert_ne!(key(&assumed), crate::ratelimit_store::default_key("AKID1", DEFAULT_REGION));
        assert_ne!(key(cvm), key(cvm_other));
        assert_ne!(key(cvm), k);
        // The key reveals neither the account nor the role.
        for extra in [oidc.as_str(), assumed.as_str(), cvm] {
            let k = key(extra);
            assert!(!k.contains("sms") && !k.contains("100000000001"), "{k}");
        }
        // A given key is kept.
        assert_eq!(
            parse(&format!(r#"{{{store},{oidc},"rate_limit_key":"fleet"}}"#)).unwrap().rate_limit_store.unwrap().key(),
            "fleet"
        );
    }

    #[test]
    fn a_key_given_twice_takes_its_last_value() {
        let c = parse(&format!(r#"{{{CREDS},"region":"ap-beijing","region":"ap-singapore"}}"#)).unwrap();
        assert_eq!(c.region, "ap-singapore");
    }

    #[test]
    fn malformed_json_is_invalid_json() {
        for bad in ["", "{", "[]", "\"x\"", "{\"secret_id\":}"] {
            assert_eq!(parse(bad).unwrap_err().kind(), ErrorKind::InvalidJson, "{bad}");
        }
    }

    #[test]
    fn endpoint_forms() {
        for (text, https, authority) in [
            ("sms.tencentcloudapi.com", true, "sms.tencentcloudapi.com"),
            ("sms.tencentcloudapi.com:8443", true, "sms.tencentcloudapi.com:8443"),
            ("https://sms.ap-singapore.tencentcloudapi.com", true, "sms.ap-singapore.tencentcloudapi.com"),
            ("https://Example.com:444/", true, "example.com:444"),
            ("http://127.0.0.1:9000", false, "127.0.0.1:9000"),
            ("http://[::1]:9000", false, "[::1]:9000"),
        ] {
            let e = Endpoint::parse(text).unwrap();
            assert_eq!((e.https, e.authority.as_str()), (https, authority), "{text}");
        }
    }

    #[test]
    fn endpoint_credentials_are_refused_without_being_quoted() {
        for text in
            ["https://user:endpointpw@sms.tencentcloudapi.com", "http://u:endpointpw@127.0.0.1:9/", "u:endpointpw@host"]
        {
            let e = Endpoint::parse(text).unwrap_err();
            assert!(!e.message().contains("endpointpw"), "{text}: {}", e.message());
            assert!(e.message().contains("***@"), "{text}: {}", e.message());
        }
    }

    #[test]
    fn secrets_stay_out_of_errors_and_debug() {
        let c = parse(r#"{"secret_id":"AKIDsecretid","secret_key":"verysecretkey","token":"sessiontok","proxy":"http://u:proxypw@p:1"}"#).unwrap();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("verysecretkey") && !shown.contains("sessiontok") && !shown.contains("proxypw"),
            "{shown}"
        );
        let e = parse(r#"{"secret_id":"a","secret_key":"b","proxy":"http://u:proxypw@bad host:1"}"#).unwrap_err();
        assert!(!e.to_envelope_json().contains("proxypw"));
        let e = parse(r#"{"secret_id":"AKIDsecretid","secret_key":"verysecretkey","bogus":1}"#).unwrap_err();
        assert!(!e.to_envelope_json().contains("verysecretkey"));
    }
}
