//! The emulator's request handling without a socket (`tcsms_emulator::handle`): routing,
//! header and signature verification, parameter parsing, every action, the inspection API.
//!
//! Input: byte 0 = mode. Even: the rest is `METHOD PATH\n`, header lines `name: value\n`, an
//! empty line, then the body, handed over as is (a signature will rarely verify). Odd: the
//! rest is `ACTION\n` then the body, which the target signs with the emulator's demo key as
//! the client does, so the fuzzer reaches each action's parameter checks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};
use tcsms::sign;
use tcsms_emulator::cli::{Config, DEMO_SECRET_ID, DEMO_SECRET_KEY};
use tcsms_emulator::{handle, Reply, Service};

/// Requests per service: its state (messages sent, templates added) grows with each, so a
/// fresh one replaces it now and then.
const REQUESTS_PER_SERVICE: u32 = 5000;

static SERVICE: Mutex<Option<(Service, u32)>> = Mutex::new(None);

fn new_service() -> Service {
    let config = Config { rate_limits: vec![("all".to_owned(), 0)], ..Config::default() };
    Service::new(&config).expect("the default emulator starts")
}

/// The headers the client sends for `action` and `body`, signed with the demo key.
fn signed_headers(action: &str, body: &[u8]) -> Vec<(String, String)> {
    let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let date = sign::utc_date(timestamp);
    let key = sign::SigningKey::derive(DEMO_SECRET_KEY.as_bytes(), &date, sign::SERVICE);
    let host = "127.0.0.1:1";
    let content_type = "application/json";
    let authorization = sign::sign_post(DEMO_SECRET_ID, &key, &date, timestamp, content_type, host, body);
    [
        ("Authorization", authorization),
        ("Content-Type", content_type.to_owned()),
        ("Host", host.to_owned()),
        ("X-TC-Action", action.to_owned()),
        ("X-TC-Version", "2021-01-11".to_owned()),
        ("X-TC-Timestamp", timestamp.to_string()),
        ("X-TC-Region", "ap-guangzhou".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Splits `METHOD PATH\nname: value\n...\n\nbody`.
fn raw_request(data: &[u8]) -> (String, String, Vec<(String, String)>, &[u8]) {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &data[data.len()..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split('\n');
    let first = lines.next().unwrap_or_default();
    let (method, path) = first.split_once(' ').unwrap_or((first, "/"));
    let headers =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect();
    (method.to_owned(), path.to_owned(), headers, body)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let signed = mode % 2 == 1;
    let (method, path, headers, body) = if signed {
        let (action, body) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        ("POST".to_owned(), "/".to_owned(), signed_headers(&String::from_utf8_lossy(action), body), body)
    } else {
        raw_request(rest)
    };
    let mut guard = SERVICE.lock().unwrap_or_else(|e| e.into_inner());
    let (service, used) = guard.get_or_insert_with(|| (new_service(), 0));
    *used += 1;
    if *used > REQUESTS_PER_SERVICE {
        *service = new_service();
        *used = 1;
    }
    let reply = handle(service, &method, &path, &headers, body);
    let Reply::Answer { status, body: answer, .. } = reply else { return };
    // The key never shows (unless the request spelled it: the emulator echoes an unknown action).
    let spelled = data.windows(DEMO_SECRET_KEY.len()).any(|w| w == DEMO_SECRET_KEY.as_bytes());
    assert!(spelled || !answer.contains(DEMO_SECRET_KEY), "the secret key shows: {answer}");
    if method != "POST" || path != "/" {
        return;
    }
    // Every API answer is HTTP 200 with the service's envelope.
    assert_eq!(status, 200, "{answer}");
    let value: Value = serde_json::from_str(&answer).unwrap_or_else(|e| panic!("answer is not JSON ({e}): {answer}"));
    let response = &value["Response"];
    assert!(response["RequestId"].as_str().is_some_and(|r| !r.is_empty()), "no RequestId: {answer}");
    if let Some(error) = response.get("Error") {
        let code = error["Code"].as_str().unwrap_or_else(|| panic!("no Error.Code: {answer}"));
        assert!(!code.is_empty() && error["Message"].is_string(), "{answer}");
        // The target signs exactly as the client does: the signature always verifies.
        assert!(!(signed && code.starts_with("AuthFailure")), "a correctly signed request refused: {answer}");
    }
});
