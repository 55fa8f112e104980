//! Issue 11 against the emulator: per-number results and batching, client-side rate
//! limiting, clock-skew correction and credential rotation.

use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tcsms::send::Class;
use tcsms::{Client, ErrorKind};

mod support;
use support::harness::{Emulator, DEMO_ID, DEMO_KEY};

const OTHER_ID: &str = "AKIDtcsmsrotated000000000000000000000";
const OTHER_KEY: &str = "tcsmsrotatedsecretkey000000000000";
const APP: &str = "1400000001";

fn sms_request(numbers: &[String]) -> String {
    json!({
        "PhoneNumberSet": numbers,
        "SmsSdkAppId": APP,
        "SignName": "tcsms",
        "TemplateId": "2001",
        "TemplateParamSet": ["1234", "5"],
    })
    .to_string()
}

/// 450 numbers: ordinary ones (some written as bare 11 digits), and at fixed places the
/// emulator's test numbers and one duplicate. Returns the numbers and the expected
/// (normalised number, class, code) per place.
fn four_hundred_fifty() -> (Vec<String>, Vec<(String, Class, &'static str)>) {
    let special: [(usize, &str, Class, &str); 8] = [
        (3, "+8619900000001", Class::Rejected, "InvalidParameterValue.IncorrectPhoneNumber"),
        (150, "+8619900000002", Class::Rejected, "FailedOperation.PhoneNumberInBlacklist"),
        (199, "+8619900000011", Class::Limited, "LimitExceeded.PhoneNumberThirtySecondLimit"),
        (200, "19900000013", Class::Limited, "LimitExceeded.PhoneNumberDailyLimit"),
        (310, "+8619900000014", Class::Limited, "LimitExceeded.PhoneNumberSameContentDailyLimit"),
        (401, "+8619900000021", Class::Failed, "InternalError.Timeout"),
        (449, "+8619900000022", Class::Failed, "InternalError.OtherError"),
        (420, "+8613800000010", Class::Rejected, "ClientError.DuplicatePhoneNumber"),
    ];
    let mut numbers = Vec::new();
    let mut expected = Vec::new();
    for i in 0..450 {
        if let Some((_, n, class, code)) = special.iter().find(|s| s.0 == i) {
            numbers.push(n.to_string());
            let normalised = if n.starts_with('+') { n.to_string() } else { format!("+86{n}") };
            expected.push((normalised, *class, *code));
        } else if i % 7 == 0 {
            numbers.push(format!("138{i:08}"));
            expected.push((format!("+86138{i:08}"), Class::Ok, "Ok"));
        } else {
            numbers.push(format!("+86138{i:08}"));
            expected.push((format!("+86138{i:08}"), Class::Ok, "Ok"));
        }
    }
    (numbers, expected)
}

#[test]
fn four_hundred_fifty_numbers_in_one_send_get_results_in_input_order() {
    let emulator = Emulator::start(&[]);
    let client = emulator.client("");
    let (mut numbers, expected) = four_hundred_fifty();

    // A few invalid numbers: refused locally, naming the first one's index; nothing sent.
    let good = numbers.clone();
    numbers[17] = "+86 138 0000 0000".into();
    numbers[300] = "12345".into();
    let e = client.send_sms(&sms_request(&numbers)).unwrap_err();
    assert_eq!((e.kind(), e.code()), (ErrorKind::InvalidArgument, "ClientError.InvalidPhoneNumber"), "{e}");
    assert!(e.message().contains("PhoneNumberSet[17]"), "{e}");
    assert!(emulator.requests().is_empty(), "{:?}", emulator.requests());

    let sent = client.send_sms(&sms_request(&good)).unwrap();
    assert!(!sent.all_ok());
    assert_eq!(sent.request_ids.len(), 3, "449 distinct numbers: batches of 200, 200 and 49");
    assert_eq!(sent.results.len(), 450);
    for (i, (result, (number, class, code))) in sent.results.iter().zip(&expected).enumerate() {
        assert_eq!((&result.phone_number, result.class, result.code.as_str()), (number, *class, *code), "place {i}");
        assert_eq!(result.serial_no.is_empty(), *class != Class::Ok, "place {i}");
        assert_eq!(result.fee, u64::from(*class == Class::Ok), "place {i}");
    }
    assert!(sent.results[420].message.contains("PhoneNumberSet[10]"), "{:?}", sent.results[420]);
    let requests = emulator.requests();
    assert_eq!(requests, vec![("SendSms".to_owned(), "ok".to_owned()); 3]);
    let accepted = sent.results.iter().filter(|r| r.class == Class::Ok).count();
    assert_eq!(emulator.messages().len(), accepted);
    assert_eq!(accepted, 450 - 8);
}

#[test]
fn one_batch_whose_outcome_is_unknown_is_never_resent() {
    // The second API request (the second batch) answers after the client gave up.
    let emulator = Emulator::start(&["--fault", "slow", "--fault-every", "2", "--fault-delay-ms", "2500"]);
    let client = emulator.client(r#","timeout_ms":1000,"max_retries":2"#);
    let numbers: Vec<String> = (0..450).map(|i| format!("+86138{i:08}")).collect();
    let sent = client.send_sms(&sms_request(&numbers)).unwrap();
    let classes: Vec<Class> = sent.results.iter().map(|r| r.class).collect();
    assert!(classes[..200].iter().all(|c| *c == Class::Ok));
    assert!(classes[200..400].iter().all(|c| *c == Class::Unknown), "{:?}", &sent.results[200]);
    assert_eq!(sent.results[200].code, "ClientError.Timeout");
    assert!(sent.results[400..].iter().all(|r| r.class == Class::Failed && r.code == "ClientError.NotSent"));
    std::thread::sleep(Duration::from_millis(2000));
    // Exactly two requests reached the emulator: the unknown batch was not resent.
    assert_eq!(emulator.requests().len(), 2, "{:?}", emulator.requests());
    assert_eq!(emulator.messages().len(), 400);
}

#[test]
fn a_request_refused_as_a_whole_keeps_its_error() {
    let emulator = Emulator::start(&[]);
    let client = emulator.client("");
    let request =
        json!({"PhoneNumberSet": ["+8613800000000"], "SmsSdkAppId": APP, "SignName": "tcsms", "TemplateId": "9999"});
    let e = client.send_sms(&request.to_string()).unwrap_err();
    assert_eq!((e.kind(), e.code()), (ErrorKind::Api, "FailedOperation.TemplateUnapprovedOrNotExist"));
    for bad in [r#"{"PhoneNumberSet":[]}"#, r#"{"SmsSdkAppId":"1"}"#, r#"{"PhoneNumberSet":"+8613800000000"}"#] {
        assert_eq!(client.send_sms(bad).unwrap_err().code(), "ClientError.InvalidArgument", "{bad}");
    }
    assert_eq!(client.send_sms("[1]").unwrap_err().code(), "ClientError.InvalidJson");
}

#[test]
fn send_multi_global_sms_is_checked_batched_and_classified() {
    let emulator = Emulator::start(&[]);
    let client = emulator.client("");
    let mut entries: Vec<Value> = (0..230)
        .map(|i| json!({"PhoneNumber": format!("+1202555{i:04}"), "TemplateId": "2003", "TemplateParamSet": ["1234", "5"]}))
        .collect();
    entries[5]["PhoneNumber"] = json!("+15550000002");
    entries[210]["PhoneNumber"] = json!("+15550000012");
    let mut bad = entries.clone();
    bad[7]["PhoneNumber"] = json!("2025550000");
    let request = |entries: &[Value]| json!({"SmsSdkAppId": APP, "MultiSmsInfoSet": entries}).to_string();
    let e = client.send_multi_global_sms(&request(&bad)).unwrap_err();
    assert_eq!(e.code(), "ClientError.InvalidPhoneNumber");
    assert!(e.message().contains("MultiSmsInfoSet[7]"), "{e}");
    let sent = client.send_multi_global_sms(&request(&entries)).unwrap();
    assert_eq!(sent.request_ids.len(), 2);
    for (i, r) in sent.results.iter().enumerate() {
        let want = match i {
            5 => Class::Rejected,
            210 => Class::Limited,
            _ => Class::Ok,
        };
        assert_eq!(r.class, want, "{i}: {r:?}");
        assert_eq!(r.phone_number, entries[i]["PhoneNumber"].as_str().unwrap());
    }
}

/// 3x the limit of an action (DescribeSmsSignList, 20/s) from 8 threads.
fn burst(client: &Arc<Client>) -> Vec<tcsms::Error> {
    let errors = Arc::new(std::sync::Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (client, errors) = (client.clone(), errors.clone());
            std::thread::spawn(move || {
                for _ in 0..(60 / 8 + usize::from(t < 60 % 8)) {
                    if let Err(e) = client.call("DescribeSmsSignList", r#"{"International":0,"SignIdSet":[1001]}"#) {
                        errors.lock().unwrap().push(e);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    Arc::try_unwrap(errors).unwrap().into_inner().unwrap()
}

#[test]
fn a_burst_of_three_times_the_limit_from_eight_threads_is_never_refused() {
    let emulator = Emulator::start(&[]);
    // No retries: any RequestLimitExceeded would surface.
    let limited = Arc::new(emulator.client(r#","max_retries":0"#));
    let start = Instant::now();
    let errors = burst(&limited);
    assert!(errors.is_empty(), "{errors:?}");
    // 60 calls at 18/s after a burst of 1 take over 3 s.
    assert!(start.elapsed() >= Duration::from_millis(3200), "{:?}", start.elapsed());
    // The same burst without client-side limiting is refused by the service.
    let unlimited = Arc::new(emulator.client(r#","max_retries":0,"rate_limits":{"*":0}"#));
    let errors = burst(&unlimited);
    assert!(!errors.is_empty() && errors.iter().all(|e| e.code() == "RequestLimitExceeded"), "{errors:?}");
}

#[test]
fn a_call_that_cannot_get_a_token_in_time_is_not_sent() {
    let emulator = Emulator::start(&[]);
    let client = emulator.client(r#","timeout_ms":300,"rate_limits":{"*":0,"DescribeSmsSignList":1}"#);
    let request = r#"{"International":0}"#;
    client.call("DescribeSmsSignList", request).unwrap();
    let start = Instant::now();
    let e = client.call("DescribeSmsSignList", request).unwrap_err();
    assert_eq!((e.kind(), e.code()), (ErrorKind::Timeout, "ClientError.RateLimited"), "{e}");
    assert!(start.elapsed() < Duration::from_millis(100));
    // Other actions are not limited ("*": 0).
    for _ in 0..5 {
        client.call("DescribeSmsTemplateList", request).unwrap();
    }
    assert_eq!(emulator.requests().iter().filter(|(a, _)| a == "DescribeSmsSignList").count(), 1);
}

#[test]
fn a_client_900_s_fast_succeeds_on_its_first_call_after_one_re_sign() {
    let emulator = Emulator::start(&["--clock-offset", "-900"]);
    // max_retries 0: the re-sign is not a retry.
    let client = emulator.client(r#","max_retries":0"#);
    assert_eq!(client.clock_offset(), 0);
    let sent = client.send_sms(&sms_request(&["+8613800000000".to_owned()])).unwrap();
    assert!(sent.all_ok(), "{sent:?}");
    assert!((-901..=-899).contains(&client.clock_offset()), "{}", client.clock_offset());
    assert_eq!(
        emulator.requests(),
        vec![("SendSms".to_owned(), "AuthFailure.SignatureExpire".to_owned()), ("SendSms".to_owned(), "ok".to_owned())]
    );
    // Later calls sign with the corrected time at once.
    client.call("DescribeSmsSignList", r#"{"International":0}"#).unwrap();
    assert_eq!(emulator.requests().len(), 3);
    assert_eq!(emulator.messages().len(), 1, "the message was sent once");
}

#[test]
fn credentials_rotate_while_eight_threads_call() {
    let emulator = Emulator::start(&[
        "--rate-limit",
        "all=0",
        "--secret-id",
        DEMO_ID,
        "--secret-key",
        DEMO_KEY,
        "--secret-id",
        OTHER_ID,
        "--secret-key",
        OTHER_KEY,
    ]);
    let client = Arc::new(emulator.client(r#","rate_limits":{"*":0}"#));
    let done = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (client, done, calls) = (client.clone(), done.clone(), calls.clone());
            std::thread::spawn(move || {
                while !done.load(Ordering::SeqCst) {
                    client.call("DescribeSmsSignList", r#"{"International":0}"#).unwrap();
                    calls.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for i in 0..40 {
        std::thread::sleep(Duration::from_millis(10));
        let (id, key) = if i % 2 == 0 { (OTHER_ID, OTHER_KEY) } else { (DEMO_ID, DEMO_KEY) };
        client.set_credentials(id, key, None).unwrap();
    }
    done.store(true, Ordering::SeqCst);
    for t in threads {
        t.join().unwrap();
    }
    assert!(calls.load(Ordering::SeqCst) >= 40, "{}", calls.load(Ordering::SeqCst));
    assert!(emulator.requests().iter().all(|(_, code)| code == "ok"));
    // Later calls use the new credentials: a pair the emulator does not know is refused.
    client.set_credentials("AKIDunknown0000000000000000000000000", "unknown-key", None).unwrap();
    let e = client.call("DescribeSmsSignList", r#"{"International":0}"#).unwrap_err();
    assert_eq!(e.code(), "AuthFailure.SecretIdNotFound");
    client.set_credentials(OTHER_ID, OTHER_KEY, Some("")).unwrap();
    client.call("DescribeSmsSignList", r#"{"International":0}"#).unwrap();
    // Bad credentials are refused and the current ones kept.
    let e = client.set_credentials("", "k", None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    assert!(!format!("{e} {e:?} {client:?}").contains(OTHER_KEY));
    client.call("DescribeSmsSignList", r#"{"International":0}"#).unwrap();
}

#[test]
fn a_send_with_a_time_limit_ends_within_it() {
    let emulator = Emulator::start(&["--fault", "slow", "--fault-delay-ms", "3000"]);
    let client = emulator.client("");
    let numbers: Vec<String> = (0..450).map(|i| format!("+86138{i:08}")).collect();
    let start = Instant::now();
    let e = client.send_sms_with_timeout(&sms_request(&numbers), Some(Duration::from_millis(800))).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(start.elapsed() < Duration::from_millis(1500), "{:?}", start.elapsed());
}
