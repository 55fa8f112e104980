//! The configuration parser (`Config::from_json_with_env`), the endpoint parser and the
//! proxy parser, with arbitrary text and an empty environment.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tcsms::config::{parse_proxy, Config, Endpoint};
use tcsms_fuzz::assert_config_secrets_hidden;

fn no_env(name: &str) -> Option<String> {
    (name == "TENCENTCLOUD_CREDENTIALS_FILE").then(|| "/nonexistent/tcsms-fuzz/credentials".to_owned())
}

fn check_endpoint(text: &str) {
    let Ok(endpoint) = Endpoint::parse(text) else { return };
    let scheme = if endpoint.https { "https" } else { "http" };
    assert_eq!(endpoint.url, format!("{scheme}://{}/", endpoint.authority), "from {text:?}");
    assert!(!endpoint.authority.is_empty());
    assert!(
        !endpoint.authority.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b"/?#@".contains(&b)),
        "authority {:?} from {text:?}",
        endpoint.authority
    );
    assert_eq!(endpoint.authority, endpoint.authority.to_ascii_lowercase());
    // What the parser produced, it accepts again unchanged.
    assert_eq!(Endpoint::parse(&endpoint.url).as_ref(), Ok(&endpoint), "re-parsing {:?}", endpoint.url);
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    check_endpoint(text);
    let _ = parse_proxy(text);
    let parsed = Config::from_json_with_env(text, &no_env);
    let map = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => map,
        _ => {
            assert!(parsed.is_err(), "accepted a configuration that is not a JSON object: {text:?}");
            return;
        }
    };
    if let Some(Value::String(endpoint)) = map.get("endpoint") {
        check_endpoint(endpoint);
    }
    let shown = match &parsed {
        Ok(config) => {
            assert!(!config.timeout.is_zero() && !config.connect_timeout.is_zero());
            assert!(config.max_retries <= tcsms::config::MAX_RETRIES_LIMIT);
            assert!(!config.region.is_empty());
            assert_eq!(Some(config.credentials.secret_id()), map.get("secret_id").and_then(Value::as_str));
            format!("{config:?}")
        }
        Err(error) => format!("{error} {error:?} {}", error.to_envelope_json()),
    };
    // Secrets never show: not in Debug output, not in errors.
    assert_config_secrets_hidden(&map, &shown, |json| match Config::from_json_with_env(json, &no_env) {
        Ok(config) => format!("{config:?}"),
        Err(error) => format!("{error} {error:?} {}", error.to_envelope_json()),
    });
});
