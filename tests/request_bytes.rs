//! The exact bytes of every request the library writes: an API call (with and without
//! the optional headers), the CVM metadata service's GETs and an STS `AssumeRole`,
//! each captured whole on a loopback listener and compared byte for byte with the
//! request rebuilt here from the documented layout (the timestamp, the session name and
//! the signature taken from what was received, the signature then checked).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use tcsms::sign;
use tcsms::{Client, Config};

const SECRET_ID: &str = "AKIDrequestbytes";
const SECRET_KEY: &str = "request-bytes-secret-key-0000";
const VERSION: &str = env!("CARGO_PKG_VERSION");
const ROLE: &str = "tcsms-bytes-role";
const ROLE_PATH: &str = "/latest/meta-data/cam/security-credentials/";
const CVM_ID: &str = "AKIDcvmtemporary";
const CVM_KEY: &str = "cvm-temporary-key-0000";
const CVM_TOKEN: &str = "cvm-temporary-token";
const STS_ID: &str = "AKIDststemporary";
const STS_KEY: &str = "sts-temporary-key-0000";
const STS_TOKEN: &str = "sts-temporary-token";
const ROLE_ARN: &str = "qcs::cam::uin/100000000001:roleName/bytes";

/// A request as received: every byte of its head and its body.
#[derive(Debug, Clone)]
struct Raw {
    head: String,
    body: Vec<u8>,
}

impl Raw {
    fn bytes(&self) -> Vec<u8> {
        let mut all = self.head.as_bytes().to_vec();
        all.extend_from_slice(&self.body);
        all
    }

    fn header(&self, name: &str) -> &str {
        let prefix = format!("\r\n{name}: ");
        let at = self.head.find(&prefix).unwrap_or_else(|| panic!("no {name} in {:?}", self.head)) + prefix.len();
        let rest = &self.head[at..];
        &rest[..rest.find("\r\n").unwrap()]
    }
}

/// A keep-alive server that records each request whole and answers it by what it asks.
fn serve() -> (String, Arc<Mutex<Vec<Raw>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let record = record.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                while let Some(raw) = read_raw(&mut reader) {
                    record.lock().unwrap().push(raw.clone());
                    let answer = answer(&raw);
                    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", answer.len());
                    if writer.write_all(head.as_bytes()).and_then(|_| writer.write_all(answer.as_bytes())).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, seen)
}

fn read_raw(reader: &mut BufReader<TcpStream>) -> Option<Raw> {
    let mut head = String::new();
    loop {
        let before = head.len();
        reader.read_line(&mut head).ok().filter(|n| *n > 0)?;
        if &head[before..] == "\r\n" {
            break;
        }
    }
    let length =
        head.split("\r\n").find_map(|line| line.strip_prefix("Content-Length: ")).map_or(0, |n| n.parse().unwrap());
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Raw { head, body })
}

fn answer(raw: &Raw) -> String {
    let expires = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 3600;
    if raw.head.starts_with(&format!("GET {ROLE_PATH}{ROLE} ")) {
        format!(
            r#"{{"TmpSecretId":"{CVM_ID}","TmpSecretKey":"{CVM_KEY}","Token":"{CVM_TOKEN}","ExpiredTime":{expires},"Code":"Success"}}"#
        )
    } else if raw.head.starts_with("GET ") {
        ROLE.to_owned()
    } else if raw.head.contains("\r\nX-TC-Action: AssumeRole\r\n") {
        format!(
            r#"{{"Response":{{"Credentials":{{"TmpSecretId":"{STS_ID}","TmpSecretKey":"{STS_KEY}","Token":"{STS_TOKEN}"}},"ExpiredTime":{expires},"RequestId":"sts-1"}}}}"#
        )
    } else {
        r#"{"Response":{"ReportConversionStatus":{"Code":"OK","Message":"ok"},"RequestId":"req-ok"}}"#.to_owned()
    }
}

/// `Authorization` of a POST of `body` to `host` at `timestamp`, TC3-signed for `service`.
fn authorization(id: &str, key: &str, service: &str, host: &str, timestamp: i64, body: &[u8]) -> String {
    let date = sign::utc_date(timestamp);
    let canonical = sign::canonical_request(
        "POST",
        "/",
        "",
        &[("content-type", "application/json"), ("host", host)],
        &sign::sha256_hex(body),
    );
    let scope = sign::credential_scope(&date, service);
    let signature = sign::SigningKey::derive(key.as_bytes(), &date, service)
        .sign(&sign::string_to_sign(timestamp, &scope, &canonical));
    sign::authorization(id, &scope, "content-type;host", &signature)
}

/// A signed POST of `body` as the layout says: request line, `Host`, `Content-Type`,
/// `Content-Length`, `Authorization`, the `X-TC-*` headers (`extra` after
/// `X-TC-RequestClient`), `User-Agent`, an empty line, the body.
#[allow(clippy::too_many_arguments)]
fn signed_post(
    host: &str,
    (id, key, service): (&str, &str, &str),
    action: &str,
    version: &str,
    timestamp: i64,
    region: &str,
    extra: &str,
    body: &[u8],
) -> Vec<u8> {
    let authorization = authorization(id, key, service, host, timestamp, body);
    let mut bytes = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Authorization: {authorization}\r\nX-TC-Action: {action}\r\nX-TC-Version: {version}\r\n\
         X-TC-Timestamp: {timestamp}\r\nX-TC-Region: {region}\r\nX-TC-RequestClient: tcsms/{VERSION}\r\n\
         {extra}User-Agent: tcsms/{VERSION}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn get(host: &str, path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json, text/plain\r\nUser-Agent: tcsms/{VERSION}\r\n\r\n")
        .into_bytes()
}

fn timestamp(raw: &Raw) -> i64 {
    raw.header("X-TC-Timestamp").parse().unwrap()
}

const BODY: &str = r#"{"SmsSdkAppId":"1400000001","SerialNo":"2433:1","ConversionTime":1700000000}"#;

#[test]
fn an_api_call_is_written_byte_for_byte_as_documented() {
    let (url, seen) = serve();
    let host = url.trim_start_matches("http://");
    let with_all = Client::from_json(&format!(
        r#"{{"secret_id":"{SECRET_ID}","secret_key":"{SECRET_KEY}","token":"call-token","endpoint":"{url}","region":"ap-singapore","language":"en-US"}}"#
    ))
    .unwrap();
    with_all.call("ReportConversion", BODY).unwrap();
    let plain =
        Client::from_json(&format!(r#"{{"secret_id":"{SECRET_ID}","secret_key":"{SECRET_KEY}","endpoint":"{url}"}}"#))
            .unwrap();
    plain.call("ReportConversion", &format!("  {BODY}\n")).unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    let keys = (SECRET_ID, SECRET_KEY, "sms");
    let extra = "X-TC-Token: call-token\r\nX-TC-Language: en-US\r\n";
    let want = signed_post(
        host,
        keys,
        "ReportConversion",
        "2021-01-11",
        timestamp(&seen[0]),
        "ap-singapore",
        extra,
        BODY.as_bytes(),
    );
    assert_eq!(String::from_utf8_lossy(&seen[0].bytes()), String::from_utf8_lossy(&want));
    // No token, no language: those lines are left out; the default region; the body as
    // given, without the blanks around it.
    let want = signed_post(
        host,
        keys,
        "ReportConversion",
        "2021-01-11",
        timestamp(&seen[1]),
        "ap-guangzhou",
        "",
        BODY.as_bytes(),
    );
    assert_eq!(String::from_utf8_lossy(&seen[1].bytes()), String::from_utf8_lossy(&want));
}

#[test]
fn metadata_and_sts_requests_are_written_byte_for_byte_as_documented() {
    let (url, seen) = serve();
    let host = url.trim_start_matches("http://");
    let config = Config::from_json_with_env(
        &format!(
            r#"{{"endpoint":"{url}","metadata_endpoint":"{url}","sts_endpoint":"{url}","credential_source":"cvm_role","role_arn":"{ROLE_ARN}","role_session_name":"bytes-session","region":"ap-singapore"}}"#
        ),
        &|name: &str| (name == "TENCENTCLOUD_CREDENTIALS_FILE").then(|| "/nonexistent/tcsms/credentials".to_owned()),
    )
    .unwrap();
    let client = Client::new(config).unwrap();
    client.call("ReportConversion", BODY).unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4, "role name, role keys, AssumeRole, the call: {seen:?}");
    assert_eq!(seen[0].bytes(), get(host, ROLE_PATH), "{:?}", seen[0]);
    assert_eq!(seen[1].bytes(), get(host, &format!("{ROLE_PATH}{ROLE}")), "{:?}", seen[1]);
    // AssumeRole, signed for STS with the CVM role's keys.
    let sts = &seen[2];
    let body: serde_json::Value = serde_json::from_slice(&sts.body).unwrap();
    assert_eq!(body["RoleArn"], ROLE_ARN);
    assert_eq!(body["RoleSessionName"], "bytes-session");
    let want = signed_post(
        host,
        (CVM_ID, CVM_KEY, "sts"),
        "AssumeRole",
        "2018-08-13",
        timestamp(sts),
        "ap-singapore",
        &format!("X-TC-Token: {CVM_TOKEN}\r\n"),
        &sts.body,
    );
    assert_eq!(String::from_utf8_lossy(&sts.bytes()), String::from_utf8_lossy(&want));
    // The call, signed with the role's keys.
    let want = signed_post(
        host,
        (STS_ID, STS_KEY, "sms"),
        "ReportConversion",
        "2021-01-11",
        timestamp(&seen[3]),
        "ap-singapore",
        &format!("X-TC-Token: {STS_TOKEN}\r\n"),
        BODY.as_bytes(),
    );
    assert_eq!(String::from_utf8_lossy(&seen[3].bytes()), String::from_utf8_lossy(&want));
}
