//! Role credential sources end to end against `tcsms-emulator`, which serves the CVM
//! instance metadata, STS AssumeRole and AssumeRoleWithWebIdentity beside the SMS API and
//! issues temporary keys that live a few seconds (`--temp-credential-lifetime`):
//!
//! - each source (CVM role, AssumeRole over fixed keys, AssumeRole over a CVM role, OIDC
//!   from the TKE variables) sends and reports conversions across several expiries;
//! - 16 threads of continuous calls across expiries: no call fails, and exactly one fetch
//!   per refresh reaches the emulator;
//! - the metadata service down, hanging or answering garbage after the first keys: the
//!   last good keys are used until they expire, then calls fail in bounded time, named;
//! - STS refusing: the service's code surfaces; the token file rotated between refreshes;
//! - no secret in any event or error.
//!
//! The emulator is `$TCSMS_EMULATOR`, else the one cargo built beside this test, else
//! `target/release/tcsms-emulator`.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tcsms::{Client, Config, ErrorKind};

#[path = "support/emulator.rs"]
mod emulator;
use emulator::Emulator;

const DEMO_ID: &str = "AKIDtcsmsdemo00000000000000000000000";
const DEMO_KEY: &str = "tcsmsdemosecretkey00000000000000";
const APP: &str = "1400000001";
const ROLE_ARN: &str = "qcs::cam::uin/100000000001:roleName/tcsms-sender";

fn start(args: &[&str]) -> Emulator {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let binary = emulator::find(root).expect("tcsms-emulator is built (cargo build --release)");
    let mut all = vec!["--rate-limit", "all=0"];
    all.extend_from_slice(args);
    Emulator::spawn(&binary, &all)
}

/// One request to the emulator's inspection API.
fn inspect(emulator: &Emulator, method: &str, path: &str, body: &str) -> Value {
    let authority = emulator.url.strip_prefix("http://").unwrap();
    let mut stream = TcpStream::connect(authority).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

fn counters(emulator: &Emulator) -> Value {
    inspect(emulator, "GET", "/_emulator/credentials", "")
}

fn set_faults(emulator: &Emulator, faults: Value) {
    inspect(emulator, "POST", "/_emulator/credentials/faults", &faults.to_string());
}

fn client_with_env(json: &str, env: &[(&str, &str)]) -> Client {
    let map: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let lookup = move |name: &str| map.get(name).cloned();
    Client::new(Config::from_json_with_env(json, &lookup).unwrap()).unwrap()
}

/// A client of `emulator` with `extra` keys, reading no environment or profile file.
fn client(emulator: &Emulator, extra: &str) -> Client {
    let url = &emulator.url;
    client_with_env(
        &format!(
            r#"{{"endpoint":"{url}","metadata_endpoint":"{url}","sts_endpoint":"{url}","timeout_ms":8000,"rate_limits":{{"*":0}}{extra}}}"#
        ),
        &[("TENCENTCLOUD_CREDENTIALS_FILE", "/nonexistent/tcsms/credentials")],
    )
}

/// Records every event; checks that no event ever holds `secrets`.
fn record(client: &Client) -> Arc<Mutex<Vec<String>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    client.set_event_callback(Some(Box::new(move |e: &str| sink.lock().unwrap().push(e.to_owned()))));
    seen
}

fn credential_events(seen: &Mutex<Vec<String>>) -> Vec<Value> {
    let events = seen.lock().unwrap();
    let out: Vec<Value> = events
        .iter()
        .map(|e| serde_json::from_str::<Value>(e).unwrap())
        .filter(|e| e["event"] == "credentials")
        .collect();
    for e in &out {
        // Only these keys: none can hold a secret.
        let mut keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["code", "event", "expiry", "message", "outcome", "source"], "{e}");
    }
    out
}

fn assert_no_secret(text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!text.contains(secret), "a secret in: {text}");
    }
}

/// Sends one message and reports its conversion.
fn send_and_report(client: &Client, phone: &str) -> Result<(), tcsms::Error> {
    let request = json!({
        "PhoneNumberSet": [phone],
        "SmsSdkAppId": APP,
        "SignName": "tcsms",
        "TemplateId": "2002",
        "TemplateParamSet": ["8642"],
    });
    let answer: Value = serde_json::from_str(&client.call("SendSms", &request.to_string())?).unwrap();
    let status = &answer["Response"]["SendStatusSet"][0];
    assert_eq!(status["Code"], "Ok", "{answer}");
    let serial = status["SerialNo"].as_str().unwrap().to_owned();
    client.report_conversion(&tcsms::api::ReportConversionRequest {
        sms_sdk_app_id: APP.into(),
        serial_no: serial,
        conversion_time: None,
    })?;
    Ok(())
}

/// Calls from `threads` threads without pause until `run` has passed; returns the calls
/// made and every failure.
fn load(client: &Arc<Client>, threads: usize, run: Duration) -> (usize, Vec<String>) {
    let done = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (client, done, calls, failures) = (client.clone(), done.clone(), calls.clone(), failures.clone());
            std::thread::spawn(move || {
                let mut i = 0u32;
                while !done.load(Ordering::SeqCst) {
                    i += 1;
                    if let Err(e) = send_and_report(&client, &format!("+8613{t:03}{i:06}")) {
                        failures.lock().unwrap().push(e.to_string());
                    }
                    calls.fetch_add(2, Ordering::SeqCst);
                }
            })
        })
        .collect();
    std::thread::sleep(run);
    done.store(true, Ordering::SeqCst);
    for w in workers {
        w.join().unwrap();
    }
    // A refresh the last calls started has finished (and sent its event).
    std::thread::sleep(Duration::from_millis(300));
    let failures = failures.lock().unwrap().clone();
    (calls.load(Ordering::SeqCst), failures)
}

#[test]
fn a_cvm_role_client_sends_across_expiries_under_sixteen_threads_with_one_fetch_per_refresh() {
    let emulator = start(&["--cvm-role", "tcsms-role", "--temp-credential-lifetime", "4"]);
    let client = Arc::new(client(&emulator, r#","credential_source":"cvm_role""#));
    let seen = record(&client);
    let (calls, failures) = load(&client, 16, Duration::from_secs(13));
    assert!(
        failures.is_empty(),
        "{} of {calls} calls failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    let events = credential_events(&seen);
    assert!(events.iter().all(|e| e["outcome"] == "ok" && e["source"] == "cvm_role"), "{events:?}");
    // 13 s of 4-second keys: the first fetch and at least three refreshes.
    assert!(events.len() >= 4, "{} refreshes: {events:?}", events.len());
    let c = counters(&emulator);
    assert_eq!(c["Metadata"]["Credentials"]["Requests"], events.len(), "{c}");
    assert_eq!(c["Metadata"]["RoleName"]["Requests"], 1, "the role name is asked once: {c}");
    assert_eq!(c["ExpiredTokenRefusals"], 0, "{c}");
    assert!(c["TemporaryKeyCalls"].as_u64().unwrap() >= calls as u64, "{c} vs {calls}");
    // Every expiry the events report is later than the one before.
    let expiries: Vec<i64> = events.iter().map(|e| e["expiry"].as_i64().unwrap()).collect();
    assert!(expiries.windows(2).all(|w| w[0] < w[1]), "{expiries:?}");
}

#[test]
fn assume_role_over_fixed_keys_and_over_a_cvm_role() {
    let emulator = start(&["--cvm-role", "tcsms-role", "--temp-credential-lifetime", "3"]);
    let fixed = Arc::new(client(
        &emulator,
        &format!(
            r#","secret_id":"{DEMO_ID}","secret_key":"{DEMO_KEY}","role_arn":"{ROLE_ARN}","role_duration_seconds":900"#
        ),
    ));
    let over_cvm = Arc::new(client(&emulator, &format!(r#","credential_source":"cvm_role","role_arn":"{ROLE_ARN}""#)));
    let (seen_fixed, seen_cvm) = (record(&fixed), record(&over_cvm));
    let (_, failures) = load(&fixed, 4, Duration::from_secs(7));
    assert!(failures.is_empty(), "{failures:?}");
    let (_, failures) = load(&over_cvm, 4, Duration::from_secs(7));
    assert!(failures.is_empty(), "{failures:?}");
    let (fixed_events, cvm_events) = (credential_events(&seen_fixed), credential_events(&seen_cvm));
    assert!(fixed_events.len() >= 3 && cvm_events.len() >= 3, "{fixed_events:?} {cvm_events:?}");
    assert!(fixed_events.iter().all(|e| e["source"] == "assume_role (base: fixed keys)" && e["outcome"] == "ok"));
    assert!(cvm_events.iter().all(|e| e["source"] == "assume_role (base: cvm_role)" && e["outcome"] == "ok"));
    let c = counters(&emulator);
    assert_eq!(c["AssumeRole"]["Requests"], fixed_events.len() + cvm_events.len(), "{c}");
    assert_eq!(c["AssumeRole"]["Refused"], 0, "{c}");
    // The CVM keys that sign AssumeRole live 3 s here: fetched again for each refresh.
    assert_eq!(c["Metadata"]["Credentials"]["Requests"], cvm_events.len(), "{c}");
    let text = format!("{:?}{:?}", seen_fixed.lock().unwrap(), seen_cvm.lock().unwrap());
    assert_no_secret(&text, &[DEMO_KEY]);
}

#[test]
fn oidc_from_the_tke_variables_rereads_a_rotated_token_file() {
    let dir = std::env::temp_dir().join(format!("tcsms-oidc-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let token_file: PathBuf = dir.join("token");
    std::fs::write(&token_file, "eyJ-first-token\n").unwrap();
    let emulator =
        start(&["--web-identity-token-file", token_file.to_str().unwrap(), "--temp-credential-lifetime", "3"]);
    let url = &emulator.url;
    // No keys anywhere, the TKE variables set: the default chain ends with OIDC.
    let client = Arc::new(client_with_env(
        &format!(r#"{{"endpoint":"{url}","sts_endpoint":"{url}","timeout_ms":8000,"rate_limits":{{"*":0}}}}"#),
        &[
            ("TENCENTCLOUD_CREDENTIALS_FILE", "/nonexistent/tcsms/credentials"),
            ("TKE_PROVIDER_ID", "OIDC"),
            ("TKE_WEB_IDENTITY_TOKEN_FILE", token_file.to_str().unwrap()),
            ("TKE_ROLE_ARN", ROLE_ARN),
            ("TKE_REGION", "ap-singapore"),
        ],
    ));
    let seen = record(&client);
    send_and_report(&client, "+8613900000001").unwrap();
    // The projected token rotates: the next refresh must send the new one.
    std::fs::write(&token_file, "eyJ-second-token\n").unwrap();
    let (_, failures) = load(&client, 4, Duration::from_secs(7));
    assert!(failures.is_empty(), "{failures:?}");
    let events = credential_events(&seen);
    assert!(events.len() >= 3 && events.iter().all(|e| e["outcome"] == "ok" && e["source"] == "oidc"), "{events:?}");
    let c = counters(&emulator);
    assert_eq!(c["AssumeRoleWithWebIdentity"]["Requests"], events.len(), "{c}");
    assert_eq!(c["AssumeRoleWithWebIdentity"]["Refused"], 0, "{c}");

    // A token the service does not accept: STS's own code surfaces once the keys expire.
    std::fs::write(&token_file, "eyJ-second-token\n").unwrap();
    let stale = client_with_env(
        &format!(
            r#"{{"endpoint":"{url}","sts_endpoint":"{url}","credential_source":"oidc","oidc_provider_id":"OIDC","oidc_token_file":"{}","role_arn":"{ROLE_ARN}"}}"#,
            dir.join("stale").display()
        ),
        &[],
    );
    std::fs::write(dir.join("stale"), "eyJ-stale-token").unwrap();
    let seen = record(&stale);
    let e = stale.call("DescribeSmsSignList", r#"{"International":0}"#).unwrap_err();
    assert_eq!((e.kind(), e.code()), (ErrorKind::Api, "InvalidParameter.WebIdentityTokenError"), "{e}");
    assert!(e.message().contains("oidc") && !e.request_id().is_empty(), "{e}");
    let events = credential_events(&seen);
    assert_eq!(events.len(), 1);
    assert_eq!(
        (&events[0]["outcome"], &events[0]["code"]),
        (&json!("failed"), &json!("InvalidParameter.WebIdentityTokenError"))
    );
    let text = format!("{e} {e:?} {} {:?}", e.to_envelope_json(), seen.lock().unwrap());
    assert_no_secret(&text, &["eyJ-stale-token", "eyJ-second-token"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failing_metadata_service_leaves_the_last_good_keys_in_use_until_they_expire() {
    for fault in ["hang", "garbage", "http500"] {
        let emulator =
            start(&["--cvm-role", "tcsms-role", "--temp-credential-lifetime", "4", "--fault-delay-ms", "20000"]);
        let client = client(&emulator, r#","credential_source":"cvm_role""#);
        let seen = record(&client);
        client.call("DescribeSmsSignList", r#"{"International":0}"#).unwrap();
        let expiry = credential_events(&seen)[0]["expiry"].as_i64().unwrap();
        set_faults(&emulator, json!({"Metadata": fault}));
        // Until the keys expire, every call succeeds with them, refresh failures or not.
        let mut ok_after_fault = 0;
        let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
        while now() < expiry * 1000 - 300 {
            client.call("DescribeSmsSignList", r#"{"International":0}"#).unwrap();
            ok_after_fault += 1;
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(ok_after_fault > 5, "{fault}: {ok_after_fault}");
        std::thread::sleep(Duration::from_millis(400));
        // Expired, and the metadata service still failing: a bounded, named error.
        let started = Instant::now();
        let e = client
            .call("DescribeSmsSignList", r#"{"International":0}"#)
            .expect_err("a call succeeded after the keys expired");
        assert!(started.elapsed() < Duration::from_millis(3600), "{fault}: {:?}", started.elapsed());
        assert_eq!(e.code(), "ClientError.CredentialsUnavailable", "{fault}: {e}");
        assert!(e.message().contains("cvm_role") && e.message().contains("metadata service"), "{fault}: {e}");
        let events = credential_events(&seen);
        let failed: Vec<_> = events.iter().filter(|e| e["outcome"] == "failed").collect();
        assert!(!failed.is_empty(), "{fault}: {events:?}");
        // A failed refresh reports the expiry of the keys still in use.
        assert!(failed.iter().all(|e| e["expiry"] == expiry), "{fault}: {failed:?}");
        let c = counters(&emulator);
        assert_eq!(c["ExpiredTokenRefusals"], 0, "{fault}: {c}");
        // Back to health: a later call (after the backoff) gets new keys.
        set_faults(&emulator, json!({"Metadata": null}));
        let started = Instant::now();
        loop {
            if client.call("DescribeSmsSignList", r#"{"International":0}"#).is_ok() {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "{fault}: no recovery");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[test]
fn keys_the_service_refuses_before_their_expiry_are_replaced_and_the_call_signed_again_once() {
    // The emulator's clock runs 6 s ahead: it refuses the 10-second keys 6 s before this
    // host thinks they expire, and before the refresh is due.
    let emulator = start(&["--cvm-role", "tcsms-role", "--temp-credential-lifetime", "10", "--clock-offset", "6"]);
    let client = client(&emulator, r#","credential_source":"cvm_role""#);
    let seen = record(&client);
    let started = Instant::now();
    client.call("DescribeSmsSignList", r#"{"International":0}"#).unwrap();
    std::thread::sleep(Duration::from_millis(10_700).saturating_sub(started.elapsed()));
    send_and_report(&client, "+8613900000009").unwrap();
    let c = counters(&emulator);
    assert_eq!(c["ExpiredTokenRefusals"], 1, "{c}");
    assert_eq!(c["Metadata"]["Credentials"]["Requests"], 2, "{c}");
    // Sent once: the refused request was not acted on.
    let messages = inspect(&emulator, "GET", "/_emulator/messages", "");
    assert_eq!(messages.as_array().unwrap().len(), 1, "{messages}");
    let events: Vec<Value> = seen.lock().unwrap().iter().map(|e| serde_json::from_str(e).unwrap()).collect();
    let resigned: Vec<_> = events
        .iter()
        .filter(|e| {
            e["event"] == "attempt" && e["retry_reason"] == "temporary keys refused: signed again with new ones"
        })
        .collect();
    assert_eq!(resigned.len(), 1, "{events:?}");
    assert_eq!(resigned[0]["code"], "AuthFailure.TokenFailure");
}
