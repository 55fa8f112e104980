//! The tcsms client against the emulator, which verifies signatures as the service does.

use serde_json::{json, Value};
use tcsms::{Client, ErrorKind};

const APP: &str = "1400000001";

mod support;
use support::harness::{Emulator, DEMO_ID};

fn send_one(client: &Client, phone: &str) -> String {
    let request = json!({
        "PhoneNumberSet": [phone],
        "SmsSdkAppId": APP,
        "SignName": "tcsms",
        "TemplateId": "2002",
        "TemplateParamSet": ["五号-8642"],
    });
    let answer: Value = serde_json::from_str(&client.call("SendSms", &request.to_string()).unwrap()).unwrap();
    let status = &answer["Response"]["SendStatusSet"][0];
    assert_eq!(status["Code"], "Ok", "{answer}");
    assert!(answer["Response"]["RequestId"].as_str().is_some_and(|r| !r.is_empty()));
    status["SerialNo"].as_str().unwrap().to_owned()
}

#[test]
fn send_with_unicode_parameters_then_report_the_conversion() {
    let emulator = Emulator::start(&[]);
    let client = emulator.client("");
    let serial = send_one(&client, "+8613800000001");
    let request = tcsms::api::ReportConversionRequest {
        sms_sdk_app_id: APP.into(),
        serial_no: serial.clone(),
        conversion_time: Some(1_700_000_000),
    };
    let answer = client.report_conversion_typed(&request).unwrap();
    let status = &answer.report_conversion_status;
    assert_eq!((status.code.as_str(), status.message.as_str()), ("ok", "report success"), "{answer:?}");
    assert!(!answer.request_id.is_empty());

    let text = Value::from(emulator.messages()).to_string();
    assert!(text.contains(&serial), "{text}");
    assert!(text.contains("您的订单五号-8642已发货"), "the rendered text holds the Unicode parameter: {text}");
}

#[test]
fn service_errors_come_back_with_code_and_request_id() {
    let emulator = Emulator::start(&[]);
    let wrong_key = Client::from_json(&format!(
        r#"{{"secret_id":"{DEMO_ID}","secret_key":"not-the-key","endpoint":"{}"}}"#,
        emulator.url
    ))
    .unwrap();
    let e = wrong_key.call("DescribeSmsSignList", r#"{"International":0}"#).unwrap_err();
    assert_eq!((e.kind(), e.code()), (ErrorKind::Api, "AuthFailure.SignatureFailure"));
    assert!(!e.request_id().is_empty());
    assert!(!e.to_envelope_json().contains("not-the-key"));

    let client = emulator.client("");
    let e = client.call("ReportConversion", r#"{"SmsSdkAppId":"1400999999","SerialNo":"2433:1"}"#).unwrap_err();
    assert_eq!(e.code(), "UnauthorizedOperation.SmsSdkAppIdVerifyFail");
    assert!(!e.request_id().is_empty());

    let e = client.call("ReportConversion", r#"{"SmsSdkAppId":"1400000001"}"#).unwrap_err();
    assert_eq!(e.code(), "MissingParameter", "{e}");

    let e = client
        .call("SendSms", r#"{"PhoneNumberSet":"+8613800000000","SmsSdkAppId":"1400000001","TemplateId":"2001"}"#)
        .unwrap_err();
    assert!(e.code().starts_with("InvalidParameter"), "a wrong-typed field: {e}");

    let bad_token = emulator.client(r#","token":"unexpected""#);
    assert_eq!(
        bad_token.call("DescribeSmsSignList", r#"{"International":0}"#).unwrap_err().code(),
        "AuthFailure.TokenFailure"
    );
}

#[test]
fn sts_tokens_and_regions_are_sent() {
    let emulator = Emulator::start(&["--token", "sts-session-token"]);
    let client = emulator.client(r#","token":"sts-session-token","region":"ap-singapore","language":"en-US""#);
    client.call("DescribeSmsTemplateList", r#"{"International":1}"#).unwrap();
    let unknown_region = emulator.client(r#","token":"sts-session-token","region":"mars-north-1""#);
    let e = unknown_region.call("DescribeSmsTemplateList", r#"{"International":1}"#).unwrap_err();
    assert!(e.code().contains("UnsupportedRegion"), "{e}");
}

/// Every documented example, sent by the client to `--doc-examples`, succeeds with the
/// documented answer's shape (the story order and the review wait are in `support`).
#[test]
fn every_documented_example_succeeds_through_the_client() {
    let emulator = Emulator::start(&["--doc-examples", "--review-delay-ms", "300"]);
    let client = emulator.client("");
    let optional = support::optional_output_fields();
    let mut waited = false;
    for example in support::doc_examples() {
        if !waited && example.action == support::DOC_EXAMPLE_ORDER[support::DOC_EXAMPLES_REVIEWED_FROM] {
            std::thread::sleep(std::time::Duration::from_millis(400));
            waited = true;
        }
        let name = example.action.as_str();
        let body = client
            .call(name, &example.request.to_string())
            .unwrap_or_else(|e| panic!("{name}: {e} (request {})", example.request));
        let answer: Value = serde_json::from_str(&body).unwrap();
        let response = &answer["Response"];
        assert!(response["RequestId"].as_str().is_some_and(|r| !r.is_empty()), "{name}: {body}");
        if let Err(why) = support::same_shape(&example.response, response, &optional, name) {
            panic!("{name}: {why}\n{body}");
        }
    }
}

#[test]
fn faults_map_to_statuses_and_sendsms_is_never_resent() {
    let garbage = Emulator::start(&["--fault", "garbage"]);
    let e = garbage
        .client(r#","max_retries":2"#)
        .call("SendSms", r#"{"PhoneNumberSet":["+8613800000002"],"SmsSdkAppId":"1400000001","TemplateId":"2001"}"#)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode, "{e}");

    let http500 = Emulator::start(&["--fault", "http500"]);
    let e = http500.client("").call("PullSmsSendStatus", r#"{"Limit":10,"SmsSdkAppId":"1400000001"}"#).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::HttpStatus, "{e}");
    assert!(e.message().contains("500"));

    let slow = Emulator::start(&["--fault", "slow", "--fault-delay-ms", "3000"]);
    let started = std::time::Instant::now();
    let e = slow
        .client(r#","timeout_ms":500"#)
        .call("SendSms", r#"{"PhoneNumberSet":["+8613800000003"],"SmsSdkAppId":"1400000001","TemplateId":"2001"}"#)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(started.elapsed() < std::time::Duration::from_millis(2500));

    // Every second request fails with `close`: an idempotent call is retried and succeeds.
    let flaky = Emulator::start(&["--fault", "close", "--fault-every", "2"]);
    let client = flaky.client("");
    for _ in 0..4 {
        client.call("DescribeSmsSignList", r#"{"International":0}"#).unwrap();
    }
}

#[test]
fn many_threads_share_one_client() {
    let emulator = Emulator::start(&["--rate-limit", "all=0"]);
    let client = std::sync::Arc::new(emulator.client(""));
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let client = client.clone();
            std::thread::spawn(move || {
                for j in 0..5 {
                    let serial = send_one(&client, &format!("+86138{i:04}{j:04}"));
                    client
                        .report_conversion(&tcsms::api::ReportConversionRequest {
                            sms_sdk_app_id: APP.into(),
                            serial_no: serial,
                            conversion_time: None,
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(emulator.messages().len(), 40);
}
