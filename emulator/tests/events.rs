//! Issue 12 items 1 and 2 against the emulator: the event hook (one event per attempt and
//! per call, re-entrancy refused, panics contained, no secret and no unmasked number in
//! any event) and the per-action statistics.

use serde_json::{json, Value};
use std::sync::{Arc, Mutex, Weak};
use tcsms::Client;

mod support;

const DEMO_ID: &str = "AKIDtcsmsdemo00000000000000000000000";
const DEMO_KEY: &str = "tcsmsdemosecretkey00000000000000";
const TOKEN: &str = "marker-sts-token-0123456789";
const APP: &str = "1400000001";
const NUMBER: &str = "+8613711112222";

fn start(args: &[&str]) -> support::RunningEmulator {
    let mut all = vec!["--listen", "127.0.0.1:0", "--report-delay-ms", "0", "--token", TOKEN];
    all.extend_from_slice(args);
    support::RunningEmulator::spawn(&all)
}

fn client(emulator: &support::RunningEmulator, extra: &str) -> Client {
    Client::from_json(&format!(
        r#"{{"secret_id":"{DEMO_ID}","secret_key":"{DEMO_KEY}","token":"{TOKEN}","endpoint":"{}","timeout_ms":5000{extra}}}"#,
        emulator.url
    ))
    .unwrap()
}

/// Installs a callback that keeps every event; returns them.
fn record(client: &Client) -> Arc<Mutex<Vec<Value>>> {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    client.set_event_callback(Some(Box::new(move |event: &str| {
        sink.lock().unwrap().push(serde_json::from_str::<Value>(event).expect("an event is JSON"));
    })));
    events
}

/// Every event: the documented keys, and nothing secret or unmasked.
fn check_clean(events: &[Value]) {
    assert!(!events.is_empty());
    for event in events {
        for key in ["event", "action", "attempt", "status", "code", "request_id", "latency_us", "bytes_sent"] {
            assert!(event.get(key).is_some(), "{key} missing in {event}");
        }
        let text = event.to_string();
        for marker in [DEMO_KEY, TOKEN, "TC3-HMAC-SHA256", "Authorization", "Signature=", &NUMBER[1..]] {
            assert!(!text.contains(marker), "{marker} in {text}");
        }
    }
}

fn send_request(number: &str, template: &str) -> String {
    json!({"PhoneNumberSet": [number], "SmsSdkAppId": APP, "SignName": "tcsms", "TemplateId": template,
           "TemplateParamSet": ["1234", "5"]})
    .to_string()
}

#[test]
fn one_event_per_attempt_and_per_call_with_the_retry_shown() {
    // The 2nd API request gets HTTP 500: the 2nd call (idempotent) is retried once.
    let emulator = start(&["--fault", "http500", "--fault-every", "2"]);
    let client = client(&emulator, "");
    let events = record(&client);
    let pull = json!({"SmsSdkAppId": APP, "Limit": 10}).to_string();
    client.call("PullSmsSendStatus", &pull).unwrap();
    client.call("PullSmsSendStatus", &pull).unwrap();
    let events = events.lock().unwrap().clone();
    check_clean(&events);
    let kinds: Vec<(&str, u64, i64)> = events
        .iter()
        .map(|e| (e["event"].as_str().unwrap(), e["attempt"].as_u64().unwrap(), e["status"].as_i64().unwrap()))
        .collect();
    assert_eq!(kinds, vec![("attempt", 1, 0), ("call", 1, 0), ("attempt", 1, 8), ("attempt", 2, 0), ("call", 2, 0)]);
    let failed = &events[2];
    assert_eq!(failed["code"], "ClientError.HttpStatus");
    assert_eq!(failed["retry"], true);
    assert!(failed["retry_reason"].as_str().unwrap().contains("idempotent"), "{failed}");
    assert!(failed["retry_delay_us"].as_u64().unwrap() >= 50_000, "{failed}");
    assert!(failed["bytes_received"].as_u64().unwrap() > 0);
    assert_eq!(failed["request_id"], Value::Null);
    let call = &events[4];
    assert_eq!((call["retries"].as_u64(), call["code"].clone()), (Some(1), Value::Null));
    assert!(call["request_id"].as_str().is_some_and(|id| !id.is_empty()), "{call}");
    assert_eq!(call["request_id"], events[3]["request_id"]);
    assert!(call["latency_us"].as_u64().unwrap() >= failed["retry_delay_us"].as_u64().unwrap());
    assert_eq!(call["bytes_sent"].as_u64().unwrap(), 2 * pull.len() as u64);
    assert!(events.iter().all(|e| e["action"] == "PullSmsSendStatus"));

    let stats: Value = serde_json::from_str(&client.stats_json()).unwrap();
    let s = &stats["Actions"]["PullSmsSendStatus"];
    assert_eq!(
        (s["Calls"].as_u64(), s["Attempts"].as_u64(), s["Retries"].as_u64(), s["Codes"].clone()),
        (Some(2), Some(3), Some(1), json!({"ok": 2}))
    );
}

#[test]
fn rate_limit_waits_and_clock_corrections_are_in_the_events() {
    let emulator = start(&["--clock-offset", "1000"]);
    // SendSms at 5/s with a burst of 1: the second call waits about 200 ms.
    let client = client(&emulator, r#","rate_limits":{"*":0,"SendSms":5}"#);
    let events = record(&client);
    client.call("SendSms", &send_request(NUMBER, "2001")).unwrap();
    client.call("SendSms", &send_request(NUMBER, "2001")).unwrap();
    let events = events.lock().unwrap().clone();
    check_clean(&events);
    // 1st call: refused for the skew, re-signed, accepted; 2nd call: one attempt after a wait.
    let first = &events[0];
    assert_eq!(
        (first["event"].as_str(), first["code"].as_str()),
        (Some("attempt"), Some("AuthFailure.SignatureExpire"))
    );
    assert_eq!((first["clock_corrected"].as_bool(), first["retry"].as_bool()), (Some(true), Some(true)));
    assert!(first["retry_reason"].as_str().unwrap().contains("clock skew"));
    let offset = first["clock_offset_s"].as_i64().unwrap();
    assert!((999..=1001).contains(&offset), "{first}");
    assert_eq!(events[2]["event"], "call");
    assert_eq!((events[2]["status"].as_i64(), events[2]["clock_corrected"].as_bool()), (Some(0), Some(true)));
    let waited = &events[3];
    assert_eq!((waited["event"].as_str(), waited["attempt"].as_u64()), (Some("attempt"), Some(1)));
    let wait = waited["rate_limit_wait_us"].as_u64().unwrap();
    assert!((100_000..=400_000).contains(&wait), "{waited}");
    assert_eq!(waited["clock_corrected"], false);
    // The re-signed attempt needed a second token of the same bucket: it waited too.
    assert!(events[1]["rate_limit_wait_us"].as_u64().unwrap() >= 100_000, "{}", events[1]);
    assert_eq!(events[4]["rate_limit_wait_us"], wait);
    // Masked by default.
    assert_eq!(waited["phone_numbers"], json!(["+86137****2222"]));

    let stats: Value = serde_json::from_str(&client.stats_json()).unwrap();
    let s = &stats["Actions"]["SendSms"];
    assert_eq!((s["Calls"].as_u64(), s["Attempts"].as_u64(), s["Retries"].as_u64()), (Some(2), Some(3), Some(1)));
    assert_eq!((s["RateLimitWaits"].as_u64(), stats["RateLimitWaits"].as_u64()), (Some(2), Some(2)));
    assert!(stats["RateLimitWaitUs"].as_u64().unwrap() >= wait);
}

#[test]
fn numbers_are_shown_in_full_only_when_the_configuration_asks() {
    let emulator = start(&[]);
    let client = client(&emulator, r#","log_phone_numbers":true"#);
    let events = record(&client);
    client.call("SendSms", &send_request(NUMBER, "2001")).unwrap();
    let events = events.lock().unwrap();
    assert!(events.iter().all(|e| e["phone_numbers"] == json!([NUMBER])), "{events:?}");
}

#[test]
fn a_call_from_inside_the_callback_is_refused_without_deadlock() {
    let emulator = start(&[]);
    let client = Arc::new(client(&emulator, ""));
    let weak: Weak<Client> = Arc::downgrade(&client);
    let inner = Arc::new(Mutex::new(Vec::new()));
    let seen = inner.clone();
    client.set_event_callback(Some(Box::new(move |_: &str| {
        let client = weak.upgrade().unwrap();
        let outcome = client.call("DescribeSmsSignList", r#"{"International":0}"#);
        // Stats may be read from inside the callback.
        let stats = client.stats_json();
        seen.lock().unwrap().push((outcome.map_err(|e| e.code().to_owned()), stats.contains("Actions")));
    })));
    client.call("DescribeSmsSignList", r#"{"International":0}"#).unwrap();
    let inner = inner.lock().unwrap();
    assert_eq!(inner.len(), 2, "one attempt event, one call event");
    assert!(inner.iter().all(|(o, stats)| *o == Err("ClientError.Reentrant".to_owned()) && *stats), "{inner:?}");
    // The refused inner calls did not count.
    let stats: Value = serde_json::from_str(&client.stats_json()).unwrap();
    assert_eq!(stats["Actions"]["DescribeSmsSignList"]["Calls"], 1);
    // Outside the callback the same call works.
    client.set_event_callback(None);
    client.call("DescribeSmsSignList", r#"{"International":0}"#).unwrap();
}

#[test]
fn a_panicking_callback_never_reaches_the_caller() {
    let emulator = start(&[]);
    let client = client(&emulator, "");
    let calls = Arc::new(Mutex::new(0));
    let count = calls.clone();
    client.set_event_callback(Some(Box::new(move |_: &str| {
        *count.lock().unwrap() += 1;
        panic!("the callback panics");
    })));
    for _ in 0..3 {
        client.call("DescribeSmsSignList", r#"{"International":0}"#).unwrap();
    }
    assert_eq!(*calls.lock().unwrap(), 6);
}

#[test]
fn stats_are_exact_after_a_known_sequence() {
    let emulator = start(&[]);
    let client = client(&emulator, r#","max_retries":0"#);
    let events = record(&client);
    for _ in 0..3 {
        client.call("SendSms", &send_request(NUMBER, "2001")).unwrap();
    }
    let refused = client.call("SendSms", &send_request(NUMBER, "9999")).unwrap_err();
    for _ in 0..2 {
        client.call("PullSmsSendStatus", &json!({"SmsSdkAppId": APP, "Limit": 10}).to_string()).unwrap();
    }
    // Refused before any request: not counted.
    client.call("SendSms", "not json").unwrap_err();
    client.call("NoSuchAction", "{}").unwrap_err();
    check_clean(&events.lock().unwrap());

    let stats: Value = serde_json::from_str(&client.stats_json()).unwrap();
    let actions = stats["Actions"].as_object().unwrap();
    assert_eq!(actions.keys().collect::<Vec<_>>(), vec!["PullSmsSendStatus", "SendSms"]);
    let send = &actions["SendSms"];
    assert_eq!(
        (send["Calls"].as_u64(), send["Attempts"].as_u64(), send["Retries"].as_u64()),
        (Some(4), Some(4), Some(0))
    );
    assert_eq!(send["Codes"], json!({"ok": 3, (refused.code()): 1}));
    for action in actions.values() {
        let codes: u64 = action["Codes"].as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum();
        assert_eq!(codes, action["Calls"].as_u64().unwrap());
        let l = &action["LatencyUs"];
        let (p50, p90, p99, max) = (l["p50"].as_u64(), l["p90"].as_u64(), l["p99"].as_u64(), l["max"].as_u64());
        assert!(Some(0) < p50 && p50 <= p90 && p90 <= p99 && p99 <= max, "{l}");
    }
    assert_eq!(actions["PullSmsSendStatus"]["Codes"], json!({"ok": 2}));
    assert_eq!(stats["RateLimitWaits"], 0);
}
