//! Temporary credentials: the CVM instance metadata paths, STS AssumeRole and
//! AssumeRoleWithWebIdentity, the keys they issue used on SMS actions until they expire,
//! their faults and their counters (`/_emulator/credentials`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tcsms_emulator::config::{Config, KeyPair, Secret};
use tcsms_emulator::{handle, EndpointFault, Reply, Service};

mod support;

use support::{now, Req, RunningEmulator, ID, KEY};

const HOST: &str = "127.0.0.1:9";
const ROLE: &str = "tcsms-role";
const ARN: &str = "qcs::cam::uin/100000000001:roleName/tcsms-sender";
const ROLE_PATH: &str = "/latest/meta-data/cam/security-credentials/";

fn service(f: impl FnOnce(&mut Config)) -> Service {
    let mut cfg = Config { key_pairs: vec![KeyPair::new(ID, KEY)], ..Config::default() };
    f(&mut cfg);
    Service::new(&cfg).expect("a service")
}

fn send(service: &Service, req: &Req) -> Reply {
    handle(service, &req.method, &req.target(), &req.headers(HOST), &req.body)
}

/// (status, body) of an answer.
fn answered(reply: Reply) -> (u16, String) {
    match reply {
        Reply::Answer { status, body, .. } => (status, body),
        other => panic!("no answer: {other:?}"),
    }
}

fn get(service: &Service, path: &str) -> (u16, String) {
    answered(handle(service, "GET", path, &[], b""))
}

/// The `Response` of an API answer.
fn response(reply: Reply) -> Value {
    let (status, body) = answered(reply);
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<Value>(&body).expect("JSON")["Response"].clone()
}

fn code(reply: Reply) -> String {
    response(reply)["Error"]["Code"].as_str().unwrap_or("(no error)").to_owned()
}

fn stats(service: &Service) -> Value {
    let (status, body) = get(service, "/_emulator/credentials");
    assert_eq!(status, 200);
    serde_json::from_str(&body).unwrap()
}

/// An SMS action signed with `(id, key)` and carrying `token`.
fn sms_call(id: &str, key: &str, token: Option<&str>) -> Req {
    Req::post("DescribeSmsSignList", json!({"International": 0}).to_string()).with(|r| {
        r.secret_id = id.into();
        r.secret_key = key.into();
        r.token = token.map(str::to_owned);
    })
}

fn assume_role(body: Value) -> Req {
    Req::post("AssumeRole", body.to_string()).with(|r| {
        r.version = Some("2018-08-13".into());
        r.scope_service = "sts".into();
    })
}

fn web_identity(token: &str) -> Req {
    let body = json!({"ProviderId": "OIDC", "WebIdentityToken": token, "RoleArn": ARN,
                      "RoleSessionName": "tcsms-test", "DurationSeconds": 1800});
    Req::post("AssumeRoleWithWebIdentity", body.to_string()).with(|r| {
        r.version = Some("2018-08-13".into());
        r.authorization = Some("SKIP".into());
        r.secret_id = String::new();
    })
}

/// (TmpSecretId, TmpSecretKey, Token, ExpiredTime) of an STS `Response`.
fn triple(r: &Value) -> (String, String, String, u64) {
    let c = &r["Credentials"];
    let s = |v: &Value| v.as_str().expect("a string").to_owned();
    (s(&c["TmpSecretId"]), s(&c["TmpSecretKey"]), s(&c["Token"]), r["ExpiredTime"].as_u64().expect("a number"))
}

#[test]
fn metadata_serves_the_role_and_fresh_credentials() {
    let unbound = service(|_| {});
    assert_eq!(get(&unbound, ROLE_PATH).0, 404, "no role bound");

    let svc = service(|c| c.cvm_role = Some(ROLE.into()));
    assert_eq!(get(&svc, ROLE_PATH), (200, ROLE.to_owned()), "the role name, no newline");
    let (status, body) = get(&svc, &format!("{ROLE_PATH}{ROLE}"));
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    for field in ["TmpSecretId", "TmpSecretKey", "ExpiredTime", "Expiration", "Token", "Code"] {
        assert!(keys.contains(&field), "{field} in {v}");
    }
    assert_eq!(v["Code"], "Success");
    let expired = v["ExpiredTime"].as_i64().expect("ExpiredTime is a number");
    assert!((now() + 7199..=now() + 7201).contains(&expired), "{expired}");
    let e = v["Expiration"].as_str().unwrap();
    assert!(e.ends_with('Z') && e.len() == 20 && e.as_bytes()[10] == b'T', "{e}");

    let (_, again) = get(&svc, &format!("{ROLE_PATH}{ROLE}"));
    let again: Value = serde_json::from_str(&again).unwrap();
    assert_ne!(again["TmpSecretId"], v["TmpSecretId"], "every fetch issues fresh keys");
    assert_eq!(get(&svc, &format!("{ROLE_PATH}other-role")).0, 404);
    assert_eq!(get(&svc, "/latest/meta-data/placement/region").0, 404);
    assert_eq!(answered(handle(&svc, "POST", ROLE_PATH, &[], b"")).0, 405);

    let s = stats(&svc);
    assert_eq!(s["Metadata"]["RoleName"]["Requests"], 2, "{s}");
    assert_eq!(s["Metadata"]["RoleName"]["Ok"], 1, "{s}");
    assert_eq!(s["Metadata"]["Credentials"]["Requests"], 3, "{s}");
    assert_eq!(s["Metadata"]["Credentials"]["Ok"], 2, "{s}");
    assert_eq!(s["IssuedCount"], 2);
    assert_eq!(s["Issued"][1]["TmpSecretId"], again["TmpSecretId"]);
    assert!(!s.to_string().contains(v["TmpSecretKey"].as_str().unwrap()), "keys never listed");
    assert_eq!(answered(handle(&svc, "DELETE", "/_emulator/credentials", &[], b"")).0, 200);
    assert_eq!(stats(&svc)["Metadata"]["Credentials"]["Requests"], 0);
}

#[test]
fn temporary_keys_work_with_their_token_until_they_expire() {
    let svc = service(|c| {
        c.cvm_role = Some(ROLE.into());
        c.temp_credential_lifetime_secs = Some(2);
    });
    let (_, body) = get(&svc, &format!("{ROLE_PATH}{ROLE}"));
    let v: Value = serde_json::from_str(&body).unwrap();
    let (id, key, token) =
        (v["TmpSecretId"].as_str().unwrap(), v["TmpSecretKey"].as_str().unwrap(), v["Token"].as_str().unwrap());
    let expired_time = v["ExpiredTime"].as_i64().unwrap();
    assert!((now() + 1..=now() + 2).contains(&expired_time), "a 2-second lifetime");

    assert_eq!(code(send(&svc, &sms_call(id, key, Some(token)))), "(no error)");
    assert_eq!(code(send(&svc, &sms_call(id, key, None))), "AuthFailure.TokenFailure", "no token");
    assert_eq!(code(send(&svc, &sms_call(id, key, Some("forged")))), "AuthFailure.TokenFailure");
    assert_eq!(code(send(&svc, &sms_call(id, "wrong-key", Some(token)))), "AuthFailure.SignatureFailure");
    assert_eq!(code(send(&svc, &sms_call("AKIDnever-issued", key, Some(token)))), "AuthFailure.SecretIdNotFound");

    while now() < expired_time {
        std::thread::sleep(Duration::from_millis(50));
    }
    let r = response(send(&svc, &sms_call(id, key, Some(token))));
    assert_eq!(r["Error"]["Code"], "AuthFailure.TokenFailure", "expired: {r}");
    assert!(r["Error"]["Message"].as_str().unwrap().contains("Token"));
    let s = stats(&svc);
    assert_eq!(s["TemporaryKeyCalls"], 1, "{s}");
    assert_eq!(s["ExpiredTokenRefusals"], 1, "{s}");
}

#[test]
fn assume_role_is_signed_for_sts_and_issues_usable_keys() {
    let svc = service(|c| c.cvm_role = Some(ROLE.into()));
    let body = json!({"RoleArn": ARN, "RoleSessionName": "tcsms-test", "DurationSeconds": 900});
    let r = response(send(&svc, &assume_role(body.clone())));
    assert!(r["Error"].is_null(), "{r}");
    let (id, key, token, expired) = triple(&r);
    assert!((now() as u64 + 899..=now() as u64 + 901).contains(&expired), "DurationSeconds 900: {expired}");
    assert_eq!(r["Expiration"].as_str().unwrap().len(), 20);
    assert_eq!(code(send(&svc, &sms_call(&id, &key, Some(&token)))), "(no error)", "the role's keys sign SMS calls");

    let refused = |edit: fn(&mut Req), want: &str| {
        assert_eq!(code(send(&svc, &assume_role(body.clone()).with(edit))), want);
    };
    refused(|r| r.scope_service = "sms".into(), "AuthFailure.InvalidAuthorization");
    refused(|r| r.secret_key = "wrong".into(), "AuthFailure.SignatureFailure");
    refused(|r| r.secret_id = "AKIDunknown".into(), "AuthFailure.SecretIdNotFound");
    refused(|r| r.timestamp -= 3600, "AuthFailure.SignatureExpire");
    refused(|r| r.version = Some("2021-01-11".into()), "NoSuchVersion");
    refused(|r| r.region = None, "MissingParameter");
    refused(|r| r.body = json!({"RoleSessionName": "tcsms-test"}).to_string().into(), "MissingParameter");
    refused(
        |r| r.body = json!({"RoleArn": ARN, "RoleSessionName": "x y"}).to_string().into(),
        "InvalidParameter.ParamError",
    );
    refused(
        |r| r.body = json!({"RoleArn": "arn:aws:iam::1:role/x", "RoleSessionName": "ab"}).to_string().into(),
        "InvalidParameter.ParamError",
    );
    refused(
        |r| r.body = json!({"RoleArn": ARN, "RoleSessionName": "ab", "DurationSeconds": 43201}).to_string().into(),
        "InvalidParameter.OverTimeError",
    );
    refused(
        |r| r.body = json!({"RoleArn": ARN, "RoleSessionName": "ab", "Nope": 1}).to_string().into(),
        "UnknownParameter",
    );
    refused(|r| r.body = json!({"RoleArn": ARN, "RoleSessionName": 5}).to_string().into(), "InvalidParameter");

    // A CVM role's keys may sign AssumeRole (with their token).
    let (_, meta) = get(&svc, &format!("{ROLE_PATH}{ROLE}"));
    let meta: Value = serde_json::from_str(&meta).unwrap();
    let with_role_keys = assume_role(body.clone()).with(|r| {
        r.secret_id = meta["TmpSecretId"].as_str().unwrap().into();
        r.secret_key = meta["TmpSecretKey"].as_str().unwrap().into();
        r.token = Some(meta["Token"].as_str().unwrap().into());
    });
    assert_eq!(code(send(&svc, &with_role_keys)), "(no error)");

    let s = stats(&svc);
    assert_eq!(s["AssumeRole"]["Requests"], 14, "{s}");
    assert_eq!(s["AssumeRole"]["Ok"], 2, "{s}");
    assert_eq!(s["AssumeRole"]["Refused"], 12, "{s}");
    assert_eq!(s["Issued"].as_array().unwrap().last().unwrap()["Source"], "AssumeRole");
}

#[test]
fn the_lifetime_flag_overrides_duration_seconds() {
    let svc = service(|c| c.temp_credential_lifetime_secs = Some(30));
    let r = response(send(&svc, &assume_role(json!({"RoleArn": ARN, "RoleSessionName": "ab"}))));
    let expired = r["ExpiredTime"].as_u64().unwrap();
    assert!((now() as u64 + 29..=now() as u64 + 31).contains(&expired), "{r}");
}

#[test]
fn web_identity_is_unsigned_and_checks_the_token() {
    let svc = service(|c| c.web_identity_token = Some(Secret::new("the-oidc-token".into())));
    let r = response(send(&svc, &web_identity("the-oidc-token")));
    assert!(r["Error"].is_null(), "{r}");
    let (id, key, token, expired) = triple(&r);
    assert!((now() as u64 + 1799..=now() as u64 + 1801).contains(&expired));
    assert_eq!(code(send(&svc, &sms_call(&id, &key, Some(&token)))), "(no error)");
    assert_eq!(code(send(&svc, &web_identity("another-token"))), "InvalidParameter.WebIdentityTokenError");
    let string_duration = web_identity("the-oidc-token").with(|r| {
        r.body = json!({"ProviderId": "OIDC", "WebIdentityToken": "the-oidc-token", "RoleArn": ARN,
                        "RoleSessionName": "ab", "DurationSeconds": "1800"})
        .to_string()
        .into()
    });
    assert_eq!(code(send(&svc, &string_duration)), "(no error)", "the documented sample's string");
    let missing = web_identity("x").with(|r| r.body = json!({"ProviderId": "OIDC", "RoleArn": ARN}).to_string().into());
    assert_eq!(code(send(&svc, &missing)), "MissingParameter");
    let s = stats(&svc);
    assert_eq!(s["AssumeRoleWithWebIdentity"]["Requests"], 4, "{s}");
    assert_eq!(s["AssumeRoleWithWebIdentity"]["Ok"], 2, "{s}");

    let none = service(|_| {});
    assert_eq!(code(send(&none, &web_identity("anything"))), "InvalidParameter.WebIdentityTokenError");
}

#[test]
fn the_token_file_is_read_at_every_call() {
    let path = std::env::temp_dir().join(format!("tcsms-emulator-oidc-{}", std::process::id()));
    std::fs::write(&path, "token-one\n").unwrap();
    let svc = service(|c| c.web_identity_token_file = Some(path.clone()));
    assert_eq!(code(send(&svc, &web_identity("token-one"))), "(no error)");
    std::fs::write(&path, "token-two").unwrap();
    assert_eq!(code(send(&svc, &web_identity("token-one"))), "InvalidParameter.WebIdentityTokenError");
    assert_eq!(code(send(&svc, &web_identity("token-two"))), "(no error)");
    std::fs::remove_file(&path).unwrap();
    assert_eq!(code(send(&svc, &web_identity("token-two"))), "InternalError.SystemError");
}

#[test]
fn faults_fail_hang_or_garble_and_change_at_run_time() {
    let svc = service(|c| {
        c.cvm_role = Some(ROLE.into());
        c.metadata_fault = Some(EndpointFault::Http500);
        c.sts_fault = Some(EndpointFault::Garbage);
        c.fault_delay_ms = 1234;
    });
    let creds_path = format!("{ROLE_PATH}{ROLE}");
    assert_eq!(get(&svc, &creds_path).0, 500);
    let body = json!({"RoleArn": ARN, "RoleSessionName": "ab"});
    let (status, garbage) = answered(send(&svc, &assume_role(body.clone())));
    assert_eq!(status, 200);
    assert!(serde_json::from_str::<Value>(&garbage).is_err(), "{garbage}");
    // SMS actions are not affected by the STS fault.
    assert_eq!(code(send(&svc, &sms_call(ID, KEY, None))), "(no error)");

    let set = |body: &str| answered(handle(&svc, "POST", "/_emulator/credentials/faults", &[], body.as_bytes()));
    assert_eq!(set(r#"{"Metadata":"hang","Sts":"http500"}"#).0, 200);
    assert_eq!(handle(&svc, "GET", &creds_path, &[], b""), Reply::Hang(Duration::from_millis(1234)));
    assert_eq!(answered(send(&svc, &assume_role(body.clone()))).0, 500);
    assert_eq!(set(r#"{"Metadata":"garbage"}"#).0, 200);
    let (status, text) = get(&svc, &creds_path);
    assert!(status == 200 && serde_json::from_str::<Value>(&text).is_err(), "{text}");
    assert_eq!(set(r#"{"Metadata":null,"Sts":null}"#).0, 200);
    assert_eq!(get(&svc, &creds_path).0, 200);
    assert_eq!(code(send(&svc, &assume_role(body))), "(no error)");
    assert_eq!(set(r#"{"Metadata":"boom"}"#).0, 400);
    assert_eq!(set(r#"{"Other":null}"#).0, 400);

    let s = stats(&svc);
    assert_eq!(s["Metadata"]["Credentials"], json!({"Requests": 4, "Ok": 1, "Faulted": 3, "Refused": 0}));
    assert_eq!(s["AssumeRole"], json!({"Requests": 3, "Ok": 1, "Faulted": 2, "Refused": 0}));
    assert_eq!(s["Faults"], json!({"Metadata": null, "Sts": null}));
}

/// Over a socket: the hang fault holds the connection for the fault delay, then closes it
/// without a byte; the flags parse.
#[test]
fn hang_over_a_socket_then_recovery() {
    let emu = RunningEmulator::spawn(&[
        "--listen",
        "127.0.0.1:0",
        "--cvm-role",
        ROLE,
        "--metadata-fault",
        "hang",
        "--fault-delay-ms",
        "400",
        "--temp-credential-lifetime",
        "60",
    ]);
    let fetch = |path: &str| -> (Duration, String) {
        let mut s = TcpStream::connect(("127.0.0.1", emu.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
        let started = Instant::now();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        (started.elapsed(), String::from_utf8_lossy(&out).into_owned())
    };
    let (took, text) = fetch(ROLE_PATH);
    assert!(text.is_empty(), "no answer: {text}");
    assert!(took >= Duration::from_millis(350), "{took:?}");
    let (_, text) = fetch("/_emulator/credentials");
    assert!(text.contains(r#""Faulted":1"#), "{text}");
    let mut s = TcpStream::connect(("127.0.0.1", emu.port)).unwrap();
    let body = r#"{"Metadata":null}"#;
    write!(
        s,
        "POST /_emulator/credentials/faults HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    let (_, text) = fetch(&format!("{ROLE_PATH}{ROLE}"));
    assert!(text.starts_with("HTTP/1.1 200") && text.contains(r#""Code":"Success""#), "{text}");
}
