//! Client configuration: one JSON object, unknown keys refused with the key named.

use crate::credentials::{self, Credentials, EnvLookup, Secret};
use crate::error::{codes, Error, ErrorKind};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use std::path::PathBuf;
use std::time::Duration;
use zeroize::Zeroizing;

pub const DEFAULT_REGION: &str = "ap-guangzhou";
pub const DEFAULT_ENDPOINT: &str = "sms.intl.tencentcloudapi.com";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(15_000);
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_millis(5_000);
pub const DEFAULT_MAX_RETRIES: u32 = 2;
/// The largest `max_retries` accepted.
pub const MAX_RETRIES_LIMIT: u32 = 10;

/// The keys a configuration object may have.
pub const KEYS: [&str; 13] = [
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

/// Where requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub https: bool,
    /// `host` or `host:port`, exactly as sent (and signed) in the `Host` header.
    pub authority: String,
    /// `https://authority/` or `http://authority/`.
    pub url: String,
}

impl Endpoint {
    /// Accepts `host`, `host:port`, `https://host[:port]` and `http://host:port`.
    pub fn parse(text: &str) -> Result<Endpoint, Error> {
        let shown = without_userinfo(text);
        let bad = |why: &str| Error::invalid_config(format!("endpoint `{shown}` {why}"));
        let (https, rest) = if let Some(rest) = text.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = text.strip_prefix("http://") {
            (false, rest)
        } else if text.contains("://") {
            return Err(bad("must use https:// or http://"));
        } else {
            (true, text)
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() {
            return Err(bad("has no host"));
        }
        if authority.contains(['/', '?', '#', '@'])
            || authority.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(bad("must be a host with an optional port, without a path"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, _)) if !h.ends_with(']') && h.contains(':') => (authority, None), // bare IPv6
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        if host.is_empty() {
            return Err(bad("has no host"));
        }
        if !host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'[' | b']' | b':')) {
            return Err(bad("has a host that is not an ASCII name or IP address (write internationalised names in punycode, xn--...)"));
        }
        if let Some(p) = port {
            // Digits only: `u16::from_str` would also take "+80", sent as `Host: x:+80`.
            match p.parse::<u16>() {
                Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => {}
                _ => return Err(bad("has an invalid port")),
            }
        }
        if !https && port.is_none() {
            return Err(bad("uses http:// and must give a port (plain http is for local testing)"));
        }
        let authority = authority.to_ascii_lowercase();
        let url = format!("{}://{authority}/", if https { "https" } else { "http" });
        Ok(Endpoint { https, authority, url })
    }
}

/// `text` with any `user:password@` part replaced by `***@`, so an error can quote it.
fn without_userinfo(text: &str) -> std::borrow::Cow<'_, str> {
    let start = text.find("://").map_or(0, |i| i + 3);
    match text[start..].rfind('@') {
        Some(at) => format!("{}***{}", &text[..start], &text[start + at..]).into(),
        None => text.into(),
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
    /// An explicit proxy URL, which may hold a password; `None` means
    /// `HTTPS_PROXY`/`NO_PROXY` from the environment.
    pub proxy: Option<Secret>,
    pub ca_file: Option<PathBuf>,
    /// Client-side rate limits per action (see [`crate::ratelimit`]).
    pub rate_limits: crate::ratelimit::RateLimits,
    /// Events show phone numbers in full (configuration key `log_phone_numbers`);
    /// by default they are masked (see [`crate::events`]).
    pub log_phone_numbers: bool,
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

    fn from_raw(raw: RawConfig, env: EnvLookup<'_>) -> Result<Config, Error> {
        let credentials = credentials::resolve(
            raw.secret_id.as_deref(),
            raw.secret_key.as_deref().map(String::as_str),
            raw.token.as_deref().map(String::as_str),
            env,
        )?;
        Ok(Config {
            credentials,
            region: region(raw.region)?,
            endpoint: Endpoint::parse(raw.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT))?,
            language: language(raw.language.as_deref())?,
            timeout: duration("timeout_ms", raw.timeout_ms, DEFAULT_TIMEOUT)?,
            connect_timeout: duration("connect_timeout_ms", raw.connect_timeout_ms, DEFAULT_CONNECT_TIMEOUT)?,
            max_retries: max_retries(raw.max_retries)?,
            proxy: proxy(raw.proxy)?,
            ca_file: raw.ca_file.filter(|s| !s.is_empty()).map(PathBuf::from),
            rate_limits: crate::ratelimit::RateLimits::from_config(raw.rate_limits.as_ref())?,
            log_phone_numbers: raw.log_phone_numbers.unwrap_or(false),
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
}

impl RawConfig {
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

/// Parses a proxy URL; the error never repeats the URL, which may hold a password.
pub fn parse_proxy(url: &str) -> Result<ureq::Proxy, Error> {
    let proxy = ureq::Proxy::new(url)
        .map_err(|_| Error::invalid_config("proxy must be a URL like http://[user:password@]host:port"))?;
    refuse_socks(&proxy, "configuration key `proxy`")?;
    Ok(proxy)
}

/// The environment variables a proxy is read from, in the order ureq reads them.
const PROXY_ENV: [&str; 6] = ["ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"];

/// The proxy of the process environment (with `NO_PROXY`), as ureq reads it; a SOCKS
/// proxy is refused, naming the variable.
pub fn env_proxy() -> Result<Option<ureq::Proxy>, Error> {
    let Some(proxy) = ureq::Proxy::try_from_env() else {
        return Ok(None);
    };
    let variable = PROXY_ENV
        .iter()
        .find(|name| std::env::var(name).is_ok_and(|v| ureq::Proxy::new(&v).is_ok()))
        .copied()
        .unwrap_or("ALL_PROXY/HTTPS_PROXY/HTTP_PROXY");
    refuse_socks(&proxy, &format!("environment variable {variable}"))?;
    Ok(Some(proxy))
}

/// SOCKS proxies are refused when the client is made: ureq is built without SOCKS
/// support, and would otherwise fail (or connect directly) on every call.
fn refuse_socks(proxy: &ureq::Proxy, origin: &str) -> Result<(), Error> {
    use ureq::ProxyProtocol as P;
    let scheme = match proxy.protocol() {
        P::Socks4 => "socks4",
        P::Socks4A => "socks4a",
        P::Socks5 => "socks5",
        P::Socks5h => "socks5h",
        _ => return Ok(()),
    };
    Err(Error::invalid_config(format!(
        "{origin} names a {scheme}:// proxy; tcsms supports only HTTP CONNECT proxies (http://[user:password@]host:port)"
    )))
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
        ] {
            let e = parse(&format!("{{{CREDS},{extra}}}")).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{extra}");
            assert!(e.message().contains(needle), "{extra}: {}", e.message());
        }
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
