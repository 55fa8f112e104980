//! Integration tests of `tcsms-emulator`: spawn the binary, send hand-signed requests over
//! plain TCP, and check the verdicts, the actions, the inspection API and the faults.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tcsms::sign;

const APP: &str = "1400000001";

mod support;

use support::{now, Req, ID, KEY};

/// A running emulator, killed on drop.
struct Emu {
    process: support::RunningEmulator,
    port: u16,
}

impl Emu {
    fn start(extra: &[&str]) -> Emu {
        let mut args = vec!["--listen", "127.0.0.1:0", "--secret-id", ID, "--secret-key", KEY, "--app-id", APP];
        args.extend_from_slice(extra);
        Emu::start_raw(&args)
    }

    fn start_raw(args: &[&str]) -> Emu {
        let process = support::RunningEmulator::spawn(args);
        Emu { port: process.port, process }
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s
    }

    /// Sends one request on a new connection.
    fn send(&self, req: &Req) -> Resp {
        let mut s = self.connect();
        write_request(&mut s, &self.host(), req);
        read_response(&mut s).expect("a response")
    }

    /// A signed POST of `body` for `action`, with the test credentials.
    fn call(&self, action: &str, body: Value) -> Value {
        self.send(&Req::post(action, body.to_string())).json()
    }

    fn stop(mut self, signal: libc::c_int) -> std::process::ExitStatus {
        // SAFETY: sending a signal to our own child process.
        unsafe { libc::kill(self.process.child.id() as libc::pid_t, signal) };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.process.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the emulator did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn write_request(s: &mut TcpStream, host: &str, req: &Req) {
    let body = req.sent_body.as_ref().unwrap_or(&req.body);
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.target());
    for (name, value) in req.headers(host) {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        assert_eq!(self.status, 200, "{}", String::from_utf8_lossy(&self.body));
        assert_eq!(self.header("Content-Type"), Some("application/json"));
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

/// Reads one response (Content-Length framed); `None` when the connection closes first.
fn read_response(s: &mut TcpStream) -> Option<Resp> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(0) => return None,
            Ok(_) => buf.push(byte[0]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return None,
            Err(e) => panic!("read: {e}"),
        }
    }
    let head = String::from_utf8(buf).unwrap();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Content-Length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).ok()?;
    Some(Resp { status, headers, body })
}

fn code(v: &Value) -> &str {
    v["Response"]["Error"]["Code"].as_str().unwrap_or("")
}

fn assert_ok(v: &Value) {
    assert!(v["Response"]["Error"].is_null(), "unexpected error: {v}");
    assert!(v["Response"]["RequestId"].as_str().is_some_and(|r| r.len() == 36), "{v}");
}

fn list_signs() -> Value {
    json!({"International": 0})
}

fn inspect(emu: &Emu, method: &str, path: &str) -> Value {
    let mut s = emu.connect();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").unwrap();
    let r = read_response(&mut s).expect("inspection answer");
    assert_eq!(r.status, 200);
    serde_json::from_slice(&r.body).unwrap()
}

/// With `--inspection-token`, the inspection API wants it as a bearer token.
#[test]
fn the_inspection_token_guards_the_inspection_api() {
    let emu = Emu::start(&["--inspection-token", "let-me-in"]);
    let status = |auth: &str| {
        let mut s = emu.connect();
        write!(s, "GET /_emulator/messages HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 0\r\n\r\n").unwrap();
        read_response(&mut s).expect("an answer").status
    };
    assert_eq!(status(""), 401);
    assert_eq!(status("Authorization: Bearer wrong\r\n"), 401);
    assert_eq!(status("Authorization: Bearer let-me-in\r\n"), 200);
    assert_ok(&emu.call("DescribeSmsSignList", list_signs()));
}

#[test]
fn help_documents_the_flags() {
    let out = Command::new(env!("CARGO_BIN_EXE_tcsms-emulator")).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--listen",
        "--secret-id",
        "--secret-key",
        "--token",
        "--app-id",
        "--log",
        "--fault",
        "--fault-every",
        "--rate-limit",
        "--clock-offset",
        "--doc-examples",
        "--strict-serial-no",
        "--review-delay-ms",
        "--report-delay-ms",
        "--auto-reply",
        "--callback-url",
        "--fault-delay-ms",
        "--workers",
        "--help",
        "--version",
        "--cvm-role",
        "--temp-credential-lifetime",
        "--web-identity-token",
        "--web-identity-token-file",
        "--metadata-fault",
        "--sts-fault",
        "--inspection-token",
        "/_emulator/credentials",
    ] {
        assert!(text.contains(flag), "{flag}");
    }
    let bad = Command::new(env!("CARGO_BIN_EXE_tcsms-emulator")).arg("--bogus").output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn a_signed_request_gets_the_real_envelope() {
    let emu = Emu::start(&[]);
    let r = emu.send(&Req::post("DescribeSmsSignList", list_signs().to_string()));
    let v = r.json();
    assert_ok(&v);
    let signs = v["Response"]["DescribeSignListStatusSet"].as_array().unwrap();
    assert_eq!(signs.len(), 1);
    assert_eq!(signs[0]["SignId"], 1001);
    assert_eq!(signs[0]["SignName"], "tcsms");
    assert_eq!(signs[0]["StatusCode"], 0);
    let id1 = v["Response"]["RequestId"].as_str().unwrap().to_owned();
    let id2 = emu.call("DescribeSmsSignList", list_signs())["Response"]["RequestId"].as_str().unwrap().to_owned();
    assert_ne!(id1, id2, "a fresh RequestId every time");
    assert_eq!(&id1[14..15], "4", "UUID v4 form");
}

#[test]
fn authentication_verdicts() {
    let emu = Emu::start(&[]);
    let base = Req::post("DescribeSmsSignList", list_signs().to_string());
    let host = emu.host();
    let cases: Vec<(&str, Req)> = vec![
        ("AuthFailure.SignatureFailure", base.clone().with(|r| r.secret_key = "wrong-key".into())),
        ("AuthFailure.SignatureExpire", base.clone().with(|r| r.timestamp -= 600)),
        ("AuthFailure.SignatureExpire", base.clone().with(|r| r.timestamp += 600)),
        (
            "AuthFailure.SignatureFailure",
            base.clone().with(|r| r.sent_body = Some(br#"{"International": 1}"#.to_vec())),
        ),
        ("AuthFailure.SecretIdNotFound", base.clone().with(|r| r.secret_id = "AKIDunknown".into())),
        ("AuthFailure.TokenFailure", base.clone().with(|r| r.token = Some("some-token".into()))),
        (
            "AuthFailure.InvalidAuthorization",
            base.clone().with(|r| r.authorization = Some("TC3-HMAC-SHA256 nonsense".into())),
        ),
        ("AuthFailure.InvalidAuthorization", base.clone().with(|r| r.authorization = Some(String::new()))),
        ("AuthFailure.InvalidAuthorization", base.clone().with(|r| r.scope_service = "cvm".into())),
        (
            "AuthFailure.SignatureFailure",
            base.clone().with(|r| {
                // Signed for one time (and the right host), sent with another time.
                let auth = r.authorization(&host);
                r.authorization = Some(auth);
                r.timestamp -= 120;
            }),
        ),
        (
            "AuthFailure.SignatureFailure",
            base.clone().with(|r| {
                // Signed for another host.
                let auth = r.authorization("sms.tencentcloudapi.com");
                r.authorization = Some(auth);
            }),
        ),
        ("NoSuchVersion", base.clone().with(|r| r.version = Some("2019-07-11".into()))),
        ("InvalidAction", base.clone().with(|r| r.action = Some("SendEmail".into()))),
        ("MissingParameter", base.clone().with(|r| r.action = None)),
        ("MissingParameter", base.clone().with(|r| r.region = None)),
        ("UnsupportedRegion", base.clone().with(|r| r.region = Some("mars-1".into()))),
        // Verification order: the version is refused before the signature is looked at, the
        // signature before the region.
        (
            "NoSuchVersion",
            base.clone().with(|r| {
                r.version = Some("2000-01-01".into());
                r.secret_key = "wrong".into();
            }),
        ),
        (
            "AuthFailure.SignatureFailure",
            base.clone().with(|r| {
                r.region = Some("mars-1".into());
                r.secret_key = "wrong".into();
            }),
        ),
        (
            "AuthFailure.SignatureExpire",
            base.clone().with(|r| {
                r.timestamp -= 1000;
                r.secret_id = "AKIDunknown".into();
            }),
        ),
    ];
    for (want, req) in cases {
        let v = emu.send(&req).json();
        assert_eq!(code(&v), want, "{v}");
        assert!(v["Response"]["RequestId"].as_str().is_some_and(|r| r.len() == 36));
    }
    // The secret key never shows in an answer.
    let v = emu.send(&base.clone().with(|r| r.secret_key = "wrong-key".into()));
    assert!(!String::from_utf8_lossy(&v.body).contains(KEY));
}

#[test]
fn exact_request_bytes_are_signed() {
    let emu = Emu::start(&[]);
    let body = list_signs().to_string();
    // Extra signed headers, as the official signature demo signs x-tc-action.
    let extra = Req::post("DescribeSmsSignList", body.clone())
        .with(|r| r.extra_signed = vec![("x-tc-action".into(), "describesmssignlist".into())]);
    // x-tc-action is sent with its real value, so the lowercase signed value does not match...
    assert_eq!(code(&emu.send(&extra).json()), "AuthFailure.SignatureFailure");
    // ...while an extra header signed with the value sent passes.
    let extra = Req::post("DescribeSmsSignList", body.clone())
        .with(|r| r.extra_signed = vec![("x-custom".into(), "value".into())]);
    assert_ok(&emu.send(&extra).json());
    // The payload may be left unsigned, as the SDKs' UNSIGNED-PAYLOAD option does.
    assert_ok(&emu.send(&Req::post("DescribeSmsSignList", body.clone()).with(|r| r.unsigned = true)).json());
    // content-type and host must be signed.
    let no_host = Req::post("DescribeSmsSignList", body.clone()).with(|r| {
        r.authorization = Some(format!(
            "TC3-HMAC-SHA256 Credential={ID}/{}/sms/tc3_request, SignedHeaders=content-type, Signature={}",
            sign::utc_date(r.timestamp),
            "0".repeat(64)
        ))
    });
    assert_eq!(code(&emu.send(&no_host).json()), "AuthFailure.InvalidAuthorization");
    // A charset added after signing breaks the signature.
    let mut charset = Req::post("DescribeSmsSignList", body);
    let auth = charset.authorization(&emu.host());
    charset.authorization = Some(auth);
    charset.content_type = "application/json; charset=utf-8".into();
    assert_eq!(code(&emu.send(&charset).json()), "AuthFailure.SignatureFailure");
}

#[test]
fn tokens() {
    let emu = Emu::start(&["--token", "tok-123"]);
    let base = Req::post("DescribeSmsSignList", list_signs().to_string());
    assert_eq!(code(&emu.send(&base).json()), "AuthFailure.TokenFailure", "token missing");
    assert_eq!(
        code(&emu.send(&base.clone().with(|r| r.token = Some("tok-999".into()))).json()),
        "AuthFailure.TokenFailure"
    );
    assert_ok(&emu.send(&base.clone().with(|r| r.token = Some("tok-123".into()))).json());
}

#[test]
fn parameter_verdicts() {
    let emu = Emu::start(&[]);
    let pull = |body: Value| emu.call("PullSmsSendStatus", body);
    assert_eq!(code(&pull(json!({"SmsSdkAppId": APP}))), "MissingParameter");
    assert_eq!(code(&pull(json!({"SmsSdkAppId": APP, "Limit": 10, "Extra": 1}))), "UnknownParameter");
    assert_eq!(code(&pull(json!({"SmsSdkAppId": APP, "Limit": "10"}))), "InvalidParameter");
    assert_eq!(code(&pull(json!({"SmsSdkAppId": 1400000001, "Limit": 10}))), "InvalidParameter");
    assert_eq!(code(&pull(json!({"SmsSdkAppId": APP, "Limit": 101}))), "InvalidParameterValue.LimitVerifyFail");
    assert_eq!(
        code(&pull(json!({"SmsSdkAppId": "1400009999", "Limit": 10}))),
        "UnauthorizedOperation.SmsSdkAppIdVerifyFail"
    );
    assert_ok(&pull(json!({"SmsSdkAppId": APP, "Limit": 10})));
    for bad in [&b"{not json"[..], b"[1,2]", b"\xff\xfe{}"] {
        let v = emu.send(&Req::post("PullSmsSendStatus", bad.to_vec())).json();
        assert_eq!(code(&v), "InvalidParameter", "{}", String::from_utf8_lossy(bad));
    }
    let form =
        Req::post("PullSmsSendStatus", "Limit=1").with(|r| r.content_type = "application/x-www-form-urlencoded".into());
    assert_eq!(code(&emu.send(&form).json()), "InvalidParameter");
    let put = Req::post("PullSmsSendStatus", "{}").with(|r| r.method = "PUT".into());
    assert_eq!(code(&emu.send(&put).json()), "UnsupportedProtocol");
    let huge = Req::post("PullSmsSendStatus", vec![b' '; 11 * 1024 * 1024]);
    assert_eq!(code(&emu.send(&huge).json()), "RequestSizeLimitExceeded");
    // Still serving after all that.
    assert_ok(&pull(json!({"SmsSdkAppId": APP, "Limit": 10})));
}

#[test]
fn get_requests_with_form_encoded_queries() {
    let emu = Emu::start(&[]);
    let q = "PhoneNumberSet.0=%2B8618501234444&PhoneNumberSet.1=%2B60198123000";
    let v = emu.send(&Req::get("DescribePhoneNumberInfo", q)).json();
    assert_ok(&v);
    let set = &v["Response"]["PhoneNumberInfoSet"];
    assert_eq!(set[0]["IsoCode"], "CN");
    assert_eq!(set[1]["NationCode"], "60");
    // The query is signed as sent: change it after signing and the signature fails.
    let mut tampered = Req::get("DescribePhoneNumberInfo", q);
    let auth = tampered.authorization(&emu.host());
    tampered.authorization = Some(auth);
    tampered.query = q.replace("4444", "4445");
    assert_eq!(code(&emu.send(&tampered).json()), "AuthFailure.SignatureFailure");
    let q = "SmsSdkAppId=1400000001&MultiSmsInfoSet.0.PhoneNumber=%2B60198123000&MultiSmsInfoSet.0.TemplateId=2004\
             &MultiSmsInfoSet.0.SessionContext=a+b";
    let v = emu.send(&Req::get("SendMultiGlobalSms", q)).json();
    assert_ok(&v);
    assert_eq!(v["Response"]["SendMultiStatusSet"][0]["Code"], "Ok");
    assert_eq!(v["Response"]["SendMultiStatusSet"][0]["SessionContext"], "a b");
    let v = emu.send(&Req::get("PullSmsSendStatus", "SmsSdkAppId=1400000001&Limit=x")).json();
    assert_eq!(code(&v), "InvalidParameter");
    let v = emu.send(&Req::get("PullSmsSendStatus", "SmsSdkAppId=1400000001&Limit=1&Nope=2")).json();
    assert_eq!(code(&v), "UnknownParameter");
}

#[test]
fn send_pull_and_report_conversion() {
    let emu = Emu::start(&["--report-delay-ms", "200", "--auto-reply", "TD"]);
    assert_eq!(inspect(&emu, "GET", "/_emulator/messages"), json!([]));
    let v = emu.call(
        "SendSms",
        json!({"PhoneNumberSet": ["+8618501234444", "18501230404"], "SmsSdkAppId": APP, "SignName": "tcsms",
               "TemplateId": "2001", "TemplateParamSet": ["123456", "5"], "SessionContext": "ctx-1"}),
    );
    assert_ok(&v);
    let set = v["Response"]["SendStatusSet"].as_array().unwrap();
    assert_eq!(set.len(), 2);
    for s in set {
        assert_eq!(s["Code"], "Ok");
        assert_eq!(s["Fee"], 1);
        assert_eq!(s["IsoCode"], "CN");
        assert_eq!(s["SessionContext"], "ctx-1");
        assert!(s["SerialNo"].as_str().unwrap().starts_with("2433:"));
    }
    assert_eq!(set[1]["PhoneNumber"], "+8618501230404", "mainland short forms are normalised");
    let serial = set[0]["SerialNo"].as_str().unwrap().to_owned();

    let msgs = inspect(&emu, "GET", "/_emulator/messages");
    assert_eq!(msgs.as_array().unwrap().len(), 2);
    assert_eq!(msgs[0]["Text"], "【tcsms】您的验证码为123456，请于5分钟内填写。");
    assert_eq!(msgs[0]["SerialNo"], serial.as_str());
    assert_eq!(msgs[0]["Status"], "sent");
    assert_eq!(msgs[0]["SmsSdkAppId"], APP);
    assert_eq!(msgs[0]["TemplateId"], "2001");
    assert_eq!(msgs[0]["SignName"], "tcsms");

    // Nothing to pull before the report delay; then each record exactly once.
    let pull = || emu.call("PullSmsSendStatus", json!({"SmsSdkAppId": APP, "Limit": 100}));
    assert_eq!(pull()["Response"]["PullSmsSendStatusSet"], json!([]));
    std::thread::sleep(Duration::from_millis(350));
    let reports = pull();
    let reports = reports["Response"]["PullSmsSendStatusSet"].as_array().unwrap().clone();
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0]["SerialNo"], serial.as_str());
    assert_eq!(reports[0]["ReportStatus"], "SUCCESS");
    assert_eq!(reports[0]["Description"], "DELIVRD");
    assert_eq!(reports[1]["ReportStatus"], "FAIL", "numbers ending 0404 are not delivered");
    assert_eq!(pull()["Response"]["PullSmsSendStatusSet"], json!([]), "queue semantics");
    let by_phone = emu.call(
        "PullSmsSendStatusByPhoneNumber",
        json!({"SmsSdkAppId": APP, "PhoneNumber": "+8618501234444", "BeginTime": now() - 60, "Offset": 0, "Limit": 10}),
    );
    assert_eq!(by_phone["Response"]["PullSmsSendStatusSet"].as_array().unwrap().len(), 1, "{by_phone}");
    let replies = emu.call("PullSmsReplyStatus", json!({"SmsSdkAppId": APP, "Limit": 10}));
    let replies = replies["Response"]["PullSmsReplyStatusSet"].as_array().unwrap().clone();
    assert_eq!(replies.len(), 1, "auto-reply for the delivered message only");
    assert_eq!((replies[0]["ReplyContent"].as_str(), replies[0]["SignName"].as_str()), (Some("TD"), Some("tcsms")));
    let msgs = inspect(&emu, "GET", "/_emulator/messages");
    assert_eq!((msgs[0]["Status"].as_str(), msgs[1]["Status"].as_str()), (Some("delivered"), Some("failed")));

    let v =
        emu.call("ReportConversion", json!({"SmsSdkAppId": APP, "SerialNo": serial, "ConversionTime": 1_700_000_000}));
    assert_ok(&v);
    assert_eq!(v["Response"]["ReportConversionStatus"], json!({"Code": "ok", "Message": "report success"}));
    let msgs = inspect(&emu, "GET", "/_emulator/messages?PhoneNumber=%2B8618501234444");
    assert_eq!(msgs.as_array().unwrap().len(), 1);
    assert_eq!(msgs[0]["Conversion"]["ConversionTime"], 1_700_000_000);
    // SerialNos it did not issue, in both documented shapes, are accepted as the service does.
    for other in ["a12gb4e2-sd11-5dx6-aav9-8f3d97xa2xu7", "5000:1045710669157053657849499619"] {
        let v = emu.call("ReportConversion", json!({"SmsSdkAppId": APP, "SerialNo": other}));
        assert_eq!(v["Response"]["ReportConversionStatus"]["Code"], "ok", "{other}: {v}");
    }
    for bad in ["", "not a serial", &"7".repeat(65)] {
        let v = emu.call("ReportConversion", json!({"SmsSdkAppId": APP, "SerialNo": bad}));
        assert_eq!(code(&v), "InvalidParameterValue", "{bad}");
    }
    let converted = inspect(&emu, "GET", "/_emulator/messages");
    let converted: Vec<&Value> = converted.as_array().unwrap().iter().filter(|m| !m["Conversion"].is_null()).collect();
    assert_eq!(converted.len(), 1, "only the issued SerialNo records a conversion");

    // Statistics count what was sent.
    let hour = |secs: i64| {
        let secs = secs + 8 * 3600;
        let (y, m, d) = sign::civil_from_days(secs.div_euclid(86_400));
        format!("{y:04}{m:02}{d:02}{:02}", secs.rem_euclid(86_400) / 3600)
    };
    let window =
        json!({"SmsSdkAppId": APP, "BeginTime": hour(now() - 3600), "EndTime": hour(now()), "Limit": 0, "Offset": 0});
    let v = emu.call("SendStatusStatistics", window.clone());
    assert_eq!(
        v["Response"]["SendStatusStatistics"],
        json!({"FeeCount": 2, "RequestCount": 2, "RequestSuccessCount": 2})
    );
    let v = emu.call("CallbackStatusStatistics", window);
    let c = &v["Response"]["CallbackStatusStatistics"];
    assert_eq!(
        (c["CallbackCount"].as_u64(), c["CallbackSuccessCount"].as_u64(), c["CallbackFailCount"].as_u64()),
        (Some(2), Some(1), Some(1))
    );

    assert_eq!(inspect(&emu, "DELETE", "/_emulator/messages"), json!({"Deleted": 2}));
    assert_eq!(inspect(&emu, "GET", "/_emulator/messages"), json!([]));
}

#[test]
fn send_rules() {
    let emu = Emu::start(&[]);
    let send = |body: Value| emu.call("SendSms", body);
    let base = json!({"PhoneNumberSet": ["+8618501234444"], "SmsSdkAppId": APP, "SignName": "tcsms", "TemplateId": "2001", "TemplateParamSet": ["1234", "5"]});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let v = send(with("TemplateParamSet", json!(["1234"])));
    assert_ok(&v);
    let s = &v["Response"]["SendStatusSet"][0];
    assert_eq!(s["Code"], "FailedOperation.TemplateParamSetNotMatchApprovedTemplate");
    assert_eq!((s["Fee"].as_u64(), s["SerialNo"].as_str()), (Some(0), Some("")));
    assert_eq!(
        code(&send(with("PhoneNumberSet", json!(["+8618501234444", "+60198123000"])))),
        "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber"
    );
    assert_eq!(code(&send(with("PhoneNumberSet", json!([])))), "MissingParameter.EmptyPhoneNumberSet");
    let many: Vec<String> = (0..201).map(|i| format!("+86185{i:08}")).collect();
    assert_eq!(code(&send(with("PhoneNumberSet", json!(many)))), "LimitExceeded.PhoneNumberCountLimit");
    assert_eq!(code(&send(with("PhoneNumberSet", json!(["12345"])))), "InvalidParameterValue.IncorrectPhoneNumber");
    assert_eq!(code(&send(with("SignName", json!("nope")))), "FailedOperation.SignatureIncorrectOrUnapproved");
    assert_eq!(code(&send(with("TemplateId", json!("9999")))), "FailedOperation.TemplateUnapprovedOrNotExist");
    assert_eq!(
        code(&send(with("TemplateId", json!("2003")))),
        "UnsupportedOperation.GlobalTemplateToChineseMainlandPhone"
    );
    assert_eq!(code(&send(with("TemplateId", json!(2001)))), "InvalidParameter");
    assert_eq!(
        code(&send(with("TemplateParamSet", json!(["abcdefg", "5"])))),
        "InvalidParameterValue.TemplateParameterFormatError"
    );
    assert_eq!(
        code(&send(with("TemplateParamSet", json!(["1234567", "5"])))),
        "InvalidParameterValue.TemplateParameterFormatError"
    );
    assert_ok(&send(with("TemplateParamSet", json!(["1234", "五"]))));
    assert_eq!(
        code(&send(with("TemplateParamSet", json!(["1234", "see https://x.example"])))),
        "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter"
    );
    // International: template 2003/2004, fee by GSM-7 segments.
    let intl = json!({"PhoneNumberSet": ["+6598765432", "+85261234567"], "SmsSdkAppId": APP, "TemplateId": "2003", "TemplateParamSet": ["123456", "10"]});
    let v = send(intl);
    assert_ok(&v);
    let set = &v["Response"]["SendStatusSet"];
    assert_eq!((set[0]["IsoCode"].as_str(), set[1]["IsoCode"].as_str()), (Some("SG"), Some("HK")));
    assert_eq!(set[0]["Fee"], 1);
    let v = send(
        json!({"PhoneNumberSet": ["+6598765432"], "SmsSdkAppId": APP, "TemplateId": "2002", "TemplateParamSet": ["1"]}),
    );
    assert_eq!(code(&v), "UnsupportedOperation.ChineseMainlandTemplateToGlobalPhone");
    // A long Unicode message costs several segments.
    let long = "长".repeat(100);
    let v = send(
        json!({"PhoneNumberSet": ["+8618501234444"], "SmsSdkAppId": APP, "SignName": "tcsms", "TemplateId": "2002", "TemplateParamSet": [long]}),
    );
    assert_eq!(v["Response"]["SendStatusSet"][0]["Fee"], 2, "{v}");
    let v = emu.call(
        "SendMultiGlobalSms",
        json!({"SmsSdkAppId": APP, "MultiSmsInfoSet": [{"PhoneNumber": "+8618501234444", "TemplateId": "2004"}]}),
    );
    assert_eq!(code(&v), "UnsupportedOperation.ContainDomesticPhoneNumber");
}

#[test]
fn signatures_and_templates_are_reviewed() {
    let emu = Emu::start(&["--review-delay-ms", "300", "--rate-limit", "all=0"]);
    let v = emu.call(
        "AddSmsTemplate",
        json!({"TemplateName": "t", "TemplateContent": "Code {1}", "SmsType": 3, "International": 1, "Remark": "r"}),
    );
    assert_ok(&v);
    let id: u64 = v["Response"]["AddTemplateStatus"]["TemplateId"].as_str().unwrap().parse().unwrap();
    let describe = || emu.call("DescribeSmsTemplateList", json!({"International": 1, "TemplateIdSet": [id]}));
    assert_eq!(describe()["Response"]["DescribeTemplateStatusSet"][0]["StatusCode"], 1);
    let send = json!({"PhoneNumberSet": ["+6598765432"], "SmsSdkAppId": APP, "TemplateId": id.to_string(), "TemplateParamSet": ["42"]});
    assert_eq!(code(&emu.call("SendSms", send.clone())), "FailedOperation.TemplateUnapprovedOrNotExist", "pending");
    let modify = json!({"TemplateId": id, "TemplateName": "t2", "TemplateContent": "Your code {1}", "SmsType": 3, "International": 1, "Remark": "r"});
    assert_ok(&emu.call("ModifySmsTemplate", modify.clone()));
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(describe()["Response"]["DescribeTemplateStatusSet"][0]["StatusCode"], 0);
    assert_eq!(code(&emu.call("ModifySmsTemplate", modify)), "FailedOperation.TemplateAlreadyPassedCheck");
    assert_ok(&emu.call("SendSms", send));
    assert_ok(&emu.call("DeleteSmsTemplate", json!({"TemplateId": id})));
    assert_eq!(code(&emu.call("DeleteSmsTemplate", json!({"TemplateId": id}))), "FailedOperation.TemplateIdNotExist");

    let sign = json!({"SignName": "My Shop", "SignType": 0, "DocumentType": 1, "International": 0, "SignPurpose": 0, "ProofImage": "aGVsbG8="});
    let v = emu.call("AddSmsSign", sign.clone());
    assert_ok(&v);
    let sign_id = v["Response"]["AddSignStatus"]["SignId"].as_u64().unwrap();
    assert_eq!(code(&emu.call("AddSmsSign", sign.clone())), "InvalidParameterValue.SignExistAndUnapproved");
    let rejected = json!({"SignName": "rejectme", "SignType": 0, "DocumentType": 1, "International": 0, "SignPurpose": 0, "ProofImage": "aGVsbG8="});
    let rejected_id = emu.call("AddSmsSign", rejected)["Response"]["AddSignStatus"]["SignId"].as_u64().unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let v = emu.call("DescribeSmsSignList", json!({"International": 0, "SignIdSet": [sign_id, rejected_id]}));
    let set = &v["Response"]["DescribeSignListStatusSet"];
    assert_eq!((set[0]["StatusCode"].as_i64(), set[1]["StatusCode"].as_i64()), (Some(0), Some(-1)), "{v}");
    assert_ne!(set[1]["ReviewReply"], "");
    assert_eq!(code(&emu.call("AddSmsSign", sign.with_field("SignType", 3))), "InvalidParameterValue");
    assert_eq!(code(&emu.call("DeleteSmsSign", json!({"SignId": 9_999_999}))), "FailedOperation.SignIdNotExist");
    assert_ok(&emu.call("DeleteSmsSign", json!({"SignId": sign_id})));
}

trait WithField {
    fn with_field(&self, k: &str, v: impl Into<Value>) -> Value;
}

impl WithField for Value {
    fn with_field(&self, k: &str, v: impl Into<Value>) -> Value {
        let mut out = self.clone();
        out[k] = v.into();
        out
    }
}

#[test]
fn rate_limits() {
    let emu = Emu::start(&["--rate-limit", "DescribeSmsSignList=2"]);
    let codes: Vec<String> = (0..3).map(|_| code(&emu.call("DescribeSmsSignList", list_signs())).to_owned()).collect();
    assert_eq!(codes, ["", "", "RequestLimitExceeded"]);
    // The window slides: a second later the action is allowed again.
    std::thread::sleep(Duration::from_millis(1100));
    assert_ok(&emu.call("DescribeSmsSignList", list_signs()));
}

#[test]
fn keep_alive_and_concurrency() {
    let emu = Emu::start(&["--rate-limit", "all=0"]);
    let host = emu.host();
    let port = emu.port;
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let host = host.clone();
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                for i in 0..20 {
                    let body = json!({"PhoneNumberSet": [format!("+8618{t:03}{i:06}")]}).to_string();
                    write_request(&mut s, &host, &Req::post("DescribePhoneNumberInfo", body));
                    let v = read_response(&mut s).expect("answer on the kept-alive connection").json();
                    assert_eq!(v["Response"]["PhoneNumberInfoSet"][0]["Code"], "Ok", "{v}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn fault_http500() {
    let emu = Emu::start(&["--fault", "http500", "--fault-every", "2"]);
    let req = Req::post("DescribeSmsSignList", list_signs().to_string());
    assert_ok(&emu.send(&req).json());
    let r = emu.send(&req);
    assert_eq!(r.status, 500);
    assert!(String::from_utf8_lossy(&r.body).contains("<html>"));
    assert_ok(&emu.send(&req).json());
    // Inspection is never faulted.
    inspect(&emu, "GET", "/_emulator/messages");
}

#[test]
fn fault_close() {
    let emu = Emu::start(&["--fault", "close"]);
    let mut s = emu.connect();
    write_request(&mut s, &emu.host(), &Req::post("DescribeSmsSignList", list_signs().to_string()));
    let mut buf = Vec::new();
    let n = s.read_to_end(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "closed without a response, got {:?}", String::from_utf8_lossy(&buf));
}

#[test]
fn fault_garbage() {
    let emu = Emu::start(&["--fault", "garbage"]);
    let r = emu.send(&Req::post("DescribeSmsSignList", list_signs().to_string()));
    assert_eq!(r.status, 200);
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());
}

#[test]
fn fault_slow_does_not_block_others() {
    let emu = Emu::start(&["--fault", "slow", "--fault-every", "2", "--fault-delay-ms", "3000"]);
    let req = Req::post("DescribeSmsSignList", list_signs().to_string());
    assert_ok(&emu.send(&req).json());
    let mut slow = emu.connect();
    slow.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    write_request(&mut slow, &emu.host(), &req);
    let started = Instant::now();
    let mut byte = [0u8; 1];
    let err = slow.read(&mut byte).expect_err("the slow answer is later than the client's timeout");
    assert!(matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut), "{err}");
    // Meanwhile another connection is answered at once.
    let quick = Instant::now();
    assert_ok(&emu.send(&req).json());
    assert!(quick.elapsed() < Duration::from_millis(1000));
    // And the slow answer does come, complete.
    slow.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let r = read_response(&mut slow).expect("the slow answer");
    assert!(started.elapsed() >= Duration::from_millis(2000));
    assert_eq!(r.status, 200);
}

#[test]
fn log_lines_and_signals() {
    let dir = std::env::temp_dir().join(format!("tcsms-emulator-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("requests.log");
    let _ = std::fs::remove_file(&log);
    let emu = Emu::start(&["--log", log.to_str().unwrap()]);
    let ok = emu.call("DescribeSmsSignList", list_signs());
    let bad = emu
        .send(&Req::post("DescribeSmsSignList", list_signs().to_string()).with(|r| r.secret_key = "x".into()))
        .json();
    assert_eq!(emu.stop(libc::SIGTERM).code(), Some(0), "SIGTERM exits 0");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains(KEY), "the secret key never reaches the log");
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["action"], "DescribeSmsSignList");
    assert_eq!(lines[0]["verdict"], "ok");
    assert_eq!(lines[0]["request_id"], ok["Response"]["RequestId"]);
    assert_eq!(lines[1]["verdict"], "error");
    assert_eq!(lines[1]["code"], "AuthFailure.SignatureFailure");
    assert_eq!(lines[1]["request_id"], bad["Response"]["RequestId"]);
    let _ = std::fs::remove_dir_all(&dir);

    let emu = Emu::start(&[]);
    assert_eq!(emu.stop(libc::SIGINT).code(), Some(0), "SIGINT exits 0");
}

#[test]
fn demo_credentials_by_default() {
    let emu = Emu::start_raw(&["--listen", "127.0.0.1:0"]);
    let req = Req::post("PullSmsSendStatus", json!({"SmsSdkAppId": "1400000001", "Limit": 1}).to_string()).with(|r| {
        r.secret_id = "AKIDtcsmsdemo00000000000000000000000".into();
        r.secret_key = "tcsmsdemosecretkey00000000000000".into();
    });
    assert_ok(&emu.send(&req).json());
}

#[test]
fn phone_number_info_and_packages() {
    let emu = Emu::start(&[]);
    let v = emu.call("DescribePhoneNumberInfo", json!({"PhoneNumberSet": ["+8618501234444", "+447911123456", "nope"]}));
    let set = &v["Response"]["PhoneNumberInfoSet"];
    assert_eq!(
        set[0],
        json!({"Code": "Ok", "Message": "Describe success", "NationCode": "86", "SubscriberNumber": "18501234444", "PhoneNumber": "+8618501234444", "IsoCode": "CN", "IsoName": "China"})
    );
    assert_eq!(set[1]["IsoCode"], "GB");
    assert_eq!(set[2]["Code"], "InvalidParameterValue.IncorrectPhoneNumber");
    let v = emu.call(
        "SmsPackagesStatistics",
        json!({"SmsSdkAppId": APP, "BeginTime": "2020120100", "EndTime": "2021043023", "Limit": 10, "Offset": 0}),
    );
    assert_eq!(v["Response"]["SmsPackagesStatisticsSet"].as_array().unwrap().len(), 1, "{v}");
    let v = emu.call(
        "SmsPackagesStatistics",
        json!({"SmsSdkAppId": APP, "BeginTime": "2021139900", "EndTime": "2021043023", "Limit": 10, "Offset": 0}),
    );
    assert_eq!(code(&v), "InvalidParameterValue.BeginTimeVerifyFail");
}

#[test]
fn absurd_content_length_closes_the_connection() {
    let emu = Emu::start(&[]);
    for path in ["/", "/_emulator/replies", "/elsewhere"] {
        let mut s = emu.connect();
        write!(s, "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n{{").unwrap();
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        let text = String::from_utf8_lossy(&buf);
        if path == "/" {
            // The API answers as the service does, then closes the connection.
            assert!(
                text.contains("RequestSizeLimitExceeded") && text.to_ascii_lowercase().contains("connection: close"),
                "{text}"
            );
        } else {
            assert!(buf.is_empty(), "{path}: closed without an answer: {text}");
        }
    }
    // The emulator is still there.
    assert_ok(&emu.call("DescribeSmsSignList", list_signs()));
}

/// The Date header of an answer as Unix seconds; it must be an RFC 7231 IMF-fixdate.
fn date_of(r: &Resp) -> i64 {
    let date = r.header("Date").unwrap_or_else(|| panic!("no Date header: {r:?}"));
    assert!(date.len() == 29 && date.ends_with(" GMT"), "{date:?} is not an IMF-fixdate");
    let t = httpdate::parse_http_date(date).unwrap_or_else(|e| panic!("{date:?}: {e}"));
    t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[test]
fn every_answer_carries_the_emulators_date() {
    for offset in [0i64, -900, 900] {
        let emu = Emu::start(&["--clock-offset", &offset.to_string(), "--fault", "http500", "--fault-every", "3"]);
        let signed_now =
            Req::post("DescribeSmsSignList", list_signs().to_string()).with(|r| r.timestamp = now() + offset);
        let answers = [
            emu.send(&signed_now),                                       // API success
            emu.send(&Req::post("DescribeSmsSignList", "{".to_owned())), // API error
            emu.send(&signed_now),                                       // the http500 fault
            emu.send(&Req::get("DescribeSmsSignList", "").with(|r| r.path = "/_emulator/messages".into())),
            emu.send(&Req::get("DescribeSmsSignList", "").with(|r| r.path = "/nowhere".into())),
        ];
        let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
        assert_eq!(statuses, [200, 200, 500, 200, 404], "offset {offset}");
        assert_ok(&answers[0].json());
        for r in &answers {
            let skew = date_of(r) - (now() + offset);
            assert!(skew.abs() <= 2, "offset {offset}: Date is {skew} s off");
        }
    }
}

#[test]
fn clock_offset_moves_expiry_and_issued_times() {
    let emu = Emu::start(&["--clock-offset", "-900", "--report-delay-ms", "0"]);
    let v = emu.call("DescribeSmsSignList", list_signs());
    assert_eq!(code(&v), "AuthFailure.SignatureExpire", "the host's time is 900 s ahead of the emulator's");
    let behind = |action: &str, body: Value| {
        emu.send(&Req::post(action, body.to_string()).with(|r| r.timestamp = now() - 900)).json()
    };
    let sent = behind(
        "SendSms",
        json!({"PhoneNumberSet": ["+8613800000077"], "SmsSdkAppId": APP, "SignName": "tcsms", "TemplateId": "2002", "TemplateParamSet": ["A1"]}),
    );
    assert_ok(&sent);
    let msgs = inspect(&emu, "GET", "/_emulator/messages");
    let send_time = msgs[0]["SendTime"].as_i64().unwrap();
    assert!((send_time - (now() - 900)).abs() <= 2, "SendTime {send_time} runs on the emulator's clock");
}

#[test]
fn test_numbers_get_their_documented_per_number_codes() {
    let emu = Emu::start(&[]);
    // (number suffix, Code), as listed in docs/emulator.md.
    let table = [
        ("001", "InvalidParameterValue.IncorrectPhoneNumber"),
        ("002", "FailedOperation.PhoneNumberInBlacklist"),
        ("011", "LimitExceeded.PhoneNumberThirtySecondLimit"),
        ("012", "LimitExceeded.PhoneNumberOneHourLimit"),
        ("013", "LimitExceeded.PhoneNumberDailyLimit"),
        ("014", "LimitExceeded.PhoneNumberSameContentDailyLimit"),
        ("021", "InternalError.Timeout"),
        ("022", "InternalError.OtherError"),
    ];
    let mut numbers = vec!["+8613800000001".to_owned()];
    numbers.extend(table.iter().map(|(n, _)| format!("+8619900000{n}")));
    numbers.push("19900000999".to_owned());
    let v = emu.call(
        "SendSms",
        json!({"PhoneNumberSet": numbers, "SmsSdkAppId": APP, "SignName": "tcsms", "TemplateId": "2002", "TemplateParamSet": ["A1"]}),
    );
    let set = v["Response"]["SendStatusSet"].as_array().unwrap_or_else(|| panic!("{v}"));
    let codes: Vec<&str> = set.iter().map(|e| e["Code"].as_str().unwrap()).collect();
    let mut want = vec!["Ok"];
    want.extend(table.iter().map(|(_, c)| *c));
    want.push("Ok");
    assert_eq!(codes, want, "one result per number, in order");
    for e in &set[1..=table.len()] {
        assert_eq!((e["Fee"].as_u64(), e["SerialNo"].as_str()), (Some(0), Some("")), "{e}");
        assert!(!e["Message"].as_str().unwrap().is_empty());
    }
    assert_eq!(set[9]["PhoneNumber"], "+8619900000999", "normalised, an ordinary number");
    assert_eq!(inspect(&emu, "GET", "/_emulator/messages").as_array().unwrap().len(), 2, "only the Ok ones are sent");

    let entries: Vec<Value> = ["+15550000002", "+15550000013", "+15550000021", "+15550000100"]
        .iter()
        .map(|n| json!({"PhoneNumber": n, "TemplateId": "2004"}))
        .collect();
    let v = emu.call("SendMultiGlobalSms", json!({"SmsSdkAppId": APP, "MultiSmsInfoSet": entries}));
    let set = v["Response"]["SendMultiStatusSet"].as_array().unwrap_or_else(|| panic!("{v}"));
    let codes: Vec<&str> = set.iter().map(|e| e["Code"].as_str().unwrap()).collect();
    assert_eq!(
        codes,
        [
            "FailedOperation.PhoneNumberInBlacklist",
            "LimitExceeded.PhoneNumberDailyLimit",
            "InternalError.Timeout",
            "Ok"
        ]
    );
    assert_eq!((set[0]["Fee"].as_u64(), set[0]["IsoCode"].as_str()), (Some(0), Some("US")));
}

#[test]
fn several_key_pairs_are_accepted() {
    let emu = Emu::start_raw(&[
        "--listen",
        "127.0.0.1:0",
        "--secret-id",
        "AKIDold",
        "--secret-key",
        "old-key",
        "--secret-id",
        ID,
        "--secret-key",
        KEY,
    ]);
    assert_ok(&emu.call("DescribeSmsSignList", list_signs()));
    let old = Req::post("DescribeSmsSignList", list_signs().to_string()).with(|r| {
        r.secret_id = "AKIDold".into();
        r.secret_key = "old-key".into();
    });
    assert_ok(&emu.send(&old).json());
    let mixed = old.clone().with(|r| r.secret_key = KEY.into());
    assert_eq!(code(&emu.send(&mixed).json()), "AuthFailure.SignatureFailure", "keys pair by position");
}

#[test]
fn strict_serial_numbers() {
    let emu = Emu::start(&["--strict-serial-no"]);
    let v = emu.call("ReportConversion", json!({"SmsSdkAppId": APP, "SerialNo": "5000:1045710669157053657849499619"}));
    assert_eq!(code(&v), "InvalidParameterValue");
    assert!(v["Response"]["Error"]["Message"].as_str().unwrap().contains("was not issued"), "{v}");
}
