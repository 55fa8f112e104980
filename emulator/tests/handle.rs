//! The emulator's request handling without a socket: `tcsms_emulator::handle` on a
//! `Service`, checking the verification order, the answers and the documented examples.

use std::time::Duration;

use serde_json::{json, Value};
use tcsms_emulator::config::{Config, KeyPair};
use tcsms_emulator::{handle, Reply, Service};

mod support;

use support::{now, Req, ID, KEY};

const HOST: &str = "127.0.0.1:9";

fn service(f: impl FnOnce(&mut Config)) -> Service {
    let mut cfg = Config { key_pairs: vec![KeyPair::new(ID, KEY)], ..Config::default() };
    f(&mut cfg);
    Service::new(&cfg).expect("a service")
}

fn send(service: &Service, req: &Req) -> Reply {
    let body = req.sent_body.as_ref().unwrap_or(&req.body);
    handle(service, &req.method, &req.target(), &req.headers(HOST), body)
}

/// The `Response` of an API answer (HTTP 200, JSON).
fn response(reply: Reply) -> Value {
    match reply {
        Reply::Answer { status: 200, content_type: "application/json", body, delay, close: false } => {
            assert_eq!(delay, Duration::ZERO);
            let v: Value = serde_json::from_str(&body).expect("JSON");
            assert!(v["Response"]["RequestId"].as_str().is_some_and(|r| r.len() == 36), "{v}");
            v["Response"].clone()
        }
        other => panic!("not an API answer: {other:?}"),
    }
}

fn code(reply: Reply) -> String {
    let r = response(reply);
    r["Error"]["Code"].as_str().unwrap_or("(no error)").to_owned()
}

fn describe_signs() -> Req {
    Req::post("DescribeSmsSignList", json!({"International": 0}).to_string())
}

/// A change to a request.
type Edit = fn(&mut Req);

/// One way to break one verification step, in the service's order.
struct Breaker {
    code: &'static str,
    apply: Edit,
    /// The step is the rate limit: exhaust it first instead of changing the request.
    exhausts_rate_limit: bool,
}

const fn breaker(code: &'static str, apply: Edit) -> Breaker {
    Breaker { code, apply, exhausts_rate_limit: false }
}

fn breakers() -> Vec<Breaker> {
    vec![
        breaker("UnsupportedProtocol", |r| r.method = "PUT".into()),
        breaker("NoSuchVersion", |r| r.version = Some("2019-07-11".into())),
        breaker("InvalidAction", |r| r.action = Some("SendSmsNow".into())),
        breaker("AuthFailure.InvalidAuthorization", |r| r.scope_service = "cvm".into()),
        breaker("AuthFailure.SignatureExpire", |r| r.timestamp = now() - 301),
        breaker("AuthFailure.SecretIdNotFound", |r| r.secret_id = "AKIDsomeoneelse".into()),
        breaker("AuthFailure.TokenFailure", |r| r.token = Some("unexpected".into())),
        breaker("AuthFailure.SignatureFailure", |r| r.secret_key = "not-the-key".into()),
        breaker("UnsupportedRegion", |r| r.region = Some("mars-north-1".into())),
        Breaker { code: "RequestLimitExceeded", apply: |_| {}, exhausts_rate_limit: true },
        breaker("InvalidParameter", |r| r.content_type = "text/plain".into()),
        breaker("UnknownParameter", |r| r.body = br#"{"International":0,"Colour":"red"}"#.to_vec()),
    ]
}

#[test]
fn a_good_request_passes_every_check() {
    let r = response(send(&service(|_| {}), &describe_signs()));
    assert!(r["Error"].is_null(), "{r}");
    assert_eq!(r["DescribeSignListStatusSet"].as_array().map(Vec::len), Some(1), "{r}");
}

/// For each step k, a request that fails steps k, k+1, ... at once is refused by step k:
/// the checks run in the documented order (docs/emulator.md, "Verification order").
#[test]
fn verification_follows_the_documented_order() {
    let all = breakers();
    for k in 0..all.len() {
        let service = service(|c| c.rate_limits = vec![("all".into(), 1)]);
        if all[k..].iter().any(|b| b.exhausts_rate_limit) {
            assert_eq!(code(send(&service, &describe_signs())), "(no error)");
        }
        let mut req = describe_signs();
        for b in &all[k..] {
            (b.apply)(&mut req);
        }
        assert_eq!(code(send(&service, &req)), all[k].code, "step {k} first");
    }
}

#[test]
fn each_check_refuses_on_its_own() {
    let cases: [(&str, Edit); 10] = [
        ("MissingParameter", |r| r.action = None),
        ("MissingParameter", |r| r.version = None),
        ("AuthFailure.InvalidAuthorization", |r| r.authorization = Some("Bearer x".into())),
        ("AuthFailure.SignatureExpire", |r| r.timestamp = now() + 301),
        ("AuthFailure.SignatureFailure", |r| r.sent_body = Some(br#"{"International":1}"#.to_vec())),
        ("MissingParameter", |r| r.region = None),
        ("InvalidParameter", |r| r.body = b"{not json".to_vec()),
        ("InvalidParameter", |r| r.body = br#"{"International":"0"}"#.to_vec()),
        ("InvalidParameter", |r| r.body = b"[1]".to_vec()),
        ("MissingParameter", |r| r.body = b"{}".to_vec()),
    ];
    let service = service(|_| {});
    for (i, (want, apply)) in cases.into_iter().enumerate() {
        let mut req = describe_signs();
        apply(&mut req);
        assert_eq!(code(send(&service, &req)), want, "case {i}");
    }
}

#[test]
fn get_requests_and_business_rules() {
    let service = service(|_| {});
    let get = Req::get("DescribeSmsSignList", "International=0");
    assert!(response(send(&service, &get))["Error"].is_null());
    let wrong_type = get.clone().with(|r| r.content_type = "application/json".into());
    assert_eq!(code(send(&service, &wrong_type)), "InvalidParameter");
    let unknown_app = Req::post("PullSmsSendStatus", json!({"SmsSdkAppId": "1400999999", "Limit": 1}).to_string());
    assert_eq!(code(send(&service, &unknown_app)), "UnauthorizedOperation.SmsSdkAppIdVerifyFail");
    let too_big = Req::post("DescribeSmsSignList", vec![b' '; 10 * 1024 * 1024 + 1]);
    assert_eq!(code(send(&service, &too_big)), "RequestSizeLimitExceeded");
}

#[test]
fn routing_inspection_and_faults() {
    let service = service(|c| c.fault = Some(tcsms_emulator::FaultKind::Close));
    assert_eq!(send(&service, &describe_signs()), Reply::Close, "the close fault");
    match handle(&service, "GET", "/_emulator/messages?PhoneNumber=%2B8613800000000", &[], b"") {
        Reply::Answer { status: 200, body, .. } => assert_eq!(body, "[]"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(handle(&service, "GET", "/elsewhere", &[], b""), Reply::Answer { status: 404, .. }));
}

#[test]
fn several_key_pairs_with_their_own_tokens() {
    let service = service(|c| {
        c.key_pairs = vec![KeyPair::new("AKIDold", "old-key"), KeyPair::new("AKIDnew", "new-key")];
        c.tokens = vec![
            tcsms_emulator::config::Secret::new("old-token".into()),
            tcsms_emulator::config::Secret::new("new-token".into()),
        ];
    });
    let with = |id: &str, key: &str, token: &str| {
        describe_signs().with(|r| {
            r.secret_id = id.into();
            r.secret_key = key.into();
            r.token = Some(token.into());
        })
    };
    assert_eq!(code(send(&service, &with("AKIDold", "old-key", "old-token"))), "(no error)");
    assert_eq!(code(send(&service, &with("AKIDnew", "new-key", "new-token"))), "(no error)");
    assert_eq!(code(send(&service, &with("AKIDnew", "old-key", "new-token"))), "AuthFailure.SignatureFailure");
    assert_eq!(code(send(&service, &with("AKIDnew", "new-key", "old-token"))), "AuthFailure.TokenFailure");
    assert_eq!(code(send(&service, &with(ID, KEY, "new-token"))), "AuthFailure.SecretIdNotFound");
}

#[test]
fn the_clock_offset_moves_the_expiry_window() {
    let ahead = service(|c| c.clock_offset_secs = 900);
    assert_eq!(code(send(&ahead, &describe_signs())), "AuthFailure.SignatureExpire", "host time is 900 s behind");
    let fast = describe_signs().with(|r| r.timestamp = now() + 900);
    assert_eq!(code(send(&ahead, &fast)), "(no error)");
    let host = now() as u64;
    let emulated = ahead.clock().now_ms() / 1000;
    assert!((host + 899..=host + 901).contains(&emulated), "{host} {emulated}");
}

#[test]
fn report_conversion_is_lenient_unless_strict() {
    let request = |serial: &str| {
        Req::post("ReportConversion", json!({"SmsSdkAppId": "1400000001", "SerialNo": serial}).to_string())
    };
    let lenient = service(|_| {});
    let r = response(send(&lenient, &request("a12gb4e2-sd11-5dx6-aav9-8f3d97xa2xu7")));
    assert_eq!(r["ReportConversionStatus"], json!({"Code": "ok", "Message": "report success"}));
    assert_eq!(code(send(&lenient, &request("with spaces"))), "InvalidParameterValue");
    let strict = service(|c| c.strict_serial_no = true);
    assert_eq!(code(send(&strict, &request("5000:1045710669157053657849499619"))), "InvalidParameterValue");
}

/// Every documented example request, against `--doc-examples`, answers with the
/// documented answer's shape (same keys and JSON types; ids and times may differ).
#[test]
fn every_documented_example_answers_with_the_documented_shape() {
    let service = service(|c| {
        c.doc_examples = true;
        c.review_delay_ms = 300;
        c.report_delay_ms = 0;
    });
    let optional = support::optional_output_fields();
    let examples = support::doc_examples();
    let reviewed_from = &support::DOC_EXAMPLE_ORDER[support::DOC_EXAMPLES_REVIEWED_FROM];
    let mut waited = false;
    for example in &examples {
        if !waited && example.action == *reviewed_from {
            std::thread::sleep(Duration::from_millis(400));
            waited = true;
        }
        let req = Req::post(&example.action, example.request.to_string());
        let got = response(send(&service, &req));
        if let Err(why) = support::same_shape(&example.response, &got, &optional, &example.action) {
            panic!("{}: {why}\nrequest {}\nanswer {got}", example.action, example.request);
        }
    }
    assert_eq!(examples.len(), 21, "19 actions, two with a second (failure) example");
}

#[test]
fn the_shape_check_can_fail() {
    let optional = support::optional_output_fields();
    let doc = json!({"A": [{"B": 1, "C": "x"}]});
    assert!(support::same_shape(&doc, &json!({"A": [{"B": 2, "C": "y"}]}), &optional, "").is_ok());
    for bad in [
        json!({"A": []}),
        json!({"A": [{"B": "1", "C": "x"}]}),
        json!({"A": [{"B": 1}]}),
        json!({"A": [{"B": 1, "C": "x", "D": 0}]}),
        json!({"A": {"B": 1}}),
    ] {
        assert!(support::same_shape(&doc, &bad, &optional, "").is_err(), "{bad}");
    }
}

/// Every documented request with its values replaced by odd ones of every JSON type, signed
/// correctly so that the business rules see them: an answer each time, never a panic.
#[test]
fn odd_parameter_values_get_answers() {
    let service = service(|c| {
        c.doc_examples = true;
        c.rate_limits = vec![("all".into(), 0)];
    });
    let odd = [
        json!(null),
        json!(-1),
        json!(u64::MAX),
        json!(1.5),
        json!(""),
        json!("+"),
        json!("{1}{99}{100}"),
        json!("9".repeat(600)),
        json!([]),
        json!([""]),
        json!([{}]),
        json!({}),
        json!(true),
    ];
    let mut answered = 0;
    for example in support::doc_examples() {
        let Value::Object(fields) = &example.request else { panic!("{}", example.request) };
        for key in fields.keys() {
            for value in &odd {
                let mut body = fields.clone();
                body.insert(key.clone(), value.clone());
                let req = Req::post(&example.action, Value::Object(body).to_string());
                let r = response(send(&service, &req));
                assert!(r["Error"]["Code"].is_string() || r.as_object().is_some_and(|o| o.len() > 1), "{r}");
                answered += 1;
            }
        }
    }
    assert!(answered > 1000, "{answered}");
}

/// `POST /_emulator/replies` keeps at most 10,000 replies and 4 MiB of their text (oldest
/// dropped first) and refuses oversized fields and bodies, so scripted replies cannot grow
/// the emulator without bound.
#[test]
fn scripted_replies_are_bounded() {
    let by_count = service(|c| {
        c.report_delay_ms = 0;
        c.rate_limits = vec![("all".to_owned(), 0)];
    });
    let by_bytes = service(|c| c.report_delay_ms = 0);
    let service = by_count;
    let post = |content: &str| {
        let body = json!({"PhoneNumber": "+8613800000000", "ReplyContent": content}).to_string();
        match handle(&service, "POST", "/_emulator/replies", &[], body.as_bytes()) {
            Reply::Answer { status, .. } => status,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(post(&"x".repeat(1001)), 400, "ReplyContent over 1000 characters");
    let huge =
        json!({"PhoneNumber": "+8613800000000", "ReplyContent": "x", "SignName": "y".repeat(20_000)}).to_string();
    assert!(matches!(
        handle(&service, "POST", "/_emulator/replies", &[], huge.as_bytes()),
        Reply::Answer { status: 413, .. }
    ));
    for i in 0..10_005 {
        assert_eq!(post(&format!("r{i}")), 200);
    }
    // The replies of one number, from `offset` on (a page of at most 100).
    let page = |offset: u64| -> Vec<String> {
        let body = json!({"SmsSdkAppId": "1400000001", "PhoneNumber": "+8613800000000",
                          "BeginTime": now() - 60, "Offset": offset, "Limit": 100});
        let r = response(send(&service, &Req::post("PullSmsReplyStatusByPhoneNumber", body.to_string())));
        r["PullSmsReplyStatusSet"]
            .as_array()
            .unwrap_or_else(|| panic!("{r}"))
            .iter()
            .map(|v| v["ReplyContent"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(page(9_999), ["r10004"], "the newest 10,000 are kept");
    assert!(page(10_000).is_empty());
    assert_eq!(page(0)[0], "r5", "the oldest were dropped");

    for _ in 0..4_300 {
        let body = json!({"PhoneNumber": "+8613800000000", "ReplyContent": "x".repeat(1000)}).to_string();
        assert!(matches!(
            handle(&by_bytes, "POST", "/_emulator/replies", &[], body.as_bytes()),
            Reply::Answer { status: 200, .. }
        ));
    }
    let kept = 4 * 1024 * 1024 / 1000;
    let pull = |offset: usize| {
        let body = json!({"SmsSdkAppId": "1400000001", "PhoneNumber": "+8613800000000",
                          "BeginTime": now() - 60, "Offset": offset, "Limit": 100});
        response(send(&by_bytes, &Req::post("PullSmsReplyStatusByPhoneNumber", body.to_string())))
            ["PullSmsReplyStatusSet"]
            .as_array()
            .map_or(0, Vec::len)
    };
    assert_eq!(pull(kept - 1), 1, "4 MiB of text is kept");
    assert_eq!(pull(kept), 0, "and no more");
}
