//! The client against small scripted loopback servers: what it sends, how it reads
//! answers, and which failures it retries.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tcsms::{Client, ErrorKind};

const SECRET_ID: &str = "AKIDtransporttest";
const SECRET_KEY: &str = "transport-secret-key-0000";

/// One received request.
#[derive(Debug, Clone)]
struct Seen {
    /// The request line, e.g. `POST / HTTP/1.1`.
    request_line: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// What the server answers: (HTTP status, body, delay before answering).
type Script = dyn Fn(usize, &Seen) -> (u16, String, Duration) + Send + Sync;

struct Server {
    url: String,
    hits: Arc<AtomicUsize>,
    /// The most requests the server was handling at one moment.
    max_in_flight: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Connections accepted, and connections the client has closed since.
    accepted: Arc<AtomicUsize>,
    closed: Arc<AtomicUsize>,
}

/// A thread-per-connection HTTP/1.1 server with keep-alive, just enough for these tests.
fn serve(script: impl Fn(usize, &Seen) -> (u16, String, Duration) + Send + Sync + 'static) -> Server {
    serve_with(true, script)
}

/// As [`serve`]; with `keep_alive` false it closes each connection after one answer
/// without a `Connection: close` header, as some servers and proxies do.
fn serve_with(
    keep_alive: bool,
    script: impl Fn(usize, &Seen) -> (u16, String, Duration) + Send + Sync + 'static,
) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let hits = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let max_in_flight = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let script: Arc<Script> = Arc::new(script);
    let (accepted, closed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (h, f, m, s) = (hits.clone(), in_flight.clone(), max_in_flight.clone(), seen.clone());
    let (a, c) = (accepted.clone(), closed.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            a.fetch_add(1, Ordering::SeqCst);
            let (hits, in_flight, max_in_flight, seen, script) =
                (h.clone(), f.clone(), m.clone(), s.clone(), script.clone());
            let closed = c.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                loop {
                    let Some(request) = read_request(&mut reader) else {
                        // The client closed the connection (or sent garbage).
                        closed.fetch_add(1, Ordering::SeqCst);
                        return;
                    };
                    let n = hits.fetch_add(1, Ordering::SeqCst);
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    max_in_flight.fetch_max(now, Ordering::SeqCst);
                    seen.lock().unwrap().push(request.clone());
                    let (status, answer, delay) = script(n, &request);
                    std::thread::sleep(delay);
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    let head = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                        answer.len()
                    );
                    if writer.write_all(head.as_bytes()).and_then(|_| writer.write_all(answer.as_bytes())).is_err()
                        || !keep_alive
                    {
                        return;
                    }
                }
            });
        }
    });
    Server { url, hits, max_in_flight, seen, accepted, closed }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Seen> {
    let mut line = String::new();
    reader.read_line(&mut line).ok().filter(|n| *n > 0)?;
    let request_line = line.trim_end().to_owned();
    let mut headers = HashMap::new();
    loop {
        line.clear();
        reader.read_line(&mut line).ok().filter(|n| *n > 0)?;
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        let (name, value) = trimmed.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    let length: usize = headers.get("content-length").map_or(0, |v| v.parse().unwrap());
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Seen { request_line, headers, body })
}

fn client(url: &str, extra: &str) -> Client {
    Client::from_json(&format!(
        r#"{{"secret_id":"{SECRET_ID}","secret_key":"{SECRET_KEY}","endpoint":"{url}","timeout_ms":5000{extra}}}"#
    ))
    .unwrap()
}

fn ok_body() -> String {
    r#"{"Response":{"ReportConversionStatus":{"Code":"OK","Message":"ok"},"RequestId":"req-ok"}}"#.to_owned()
}

/// A SendSms success for the number of [`SEND`].
fn send_ok_body() -> String {
    r#"{"Response":{"SendStatusSet":[{"SerialNo":"s1","PhoneNumber":"+8613800000000","Fee":1,"SessionContext":"","Code":"Ok","Message":"send success","IsoCode":"CN"}],"RequestId":"req-send"}}"#.to_owned()
}

fn api_error(code: &str) -> String {
    format!(r#"{{"Response":{{"Error":{{"Code":"{code}","Message":"scripted"}},"RequestId":"req-err"}}}}"#)
}

const SEND: &str = r#"{"PhoneNumberSet":["+8613800000000"],"SmsSdkAppId":"1400000001","TemplateId":"2001"}"#;

#[test]
fn sends_the_documented_headers_and_a_valid_signature() {
    let server = serve(|_, _| (200, ok_body(), Duration::ZERO));
    let c = client(&server.url, r#","token":"sts-token","language":"en-US","region":"ap-singapore""#);
    let body = r#"{"SmsSdkAppId":"1400000001","SerialNo":"2433:1","ConversionTime":1700000000}"#;
    let answer = c.call("ReportConversion", body).unwrap();
    assert_eq!(answer, ok_body(), "the body is returned as received");
    let seen = server.seen.lock().unwrap()[0].clone();
    let h = &seen.headers;
    assert_eq!(seen.body, body.as_bytes(), "the exact bytes given are sent");
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(h["host"], server.url.trim_start_matches("http://"));
    assert_eq!(h["x-tc-action"], "ReportConversion");
    assert_eq!(h["x-tc-version"], "2021-01-11");
    assert_eq!(h["x-tc-region"], "ap-singapore");
    assert_eq!(h["x-tc-token"], "sts-token");
    assert_eq!(h["x-tc-language"], "en-US");
    assert_eq!(h["x-tc-requestclient"], format!("tcsms/{}", env!("CARGO_PKG_VERSION")));
    let timestamp: i64 = h["x-tc-timestamp"].parse().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((now - timestamp).abs() <= 5);

    // Verify the signature independently from the received bytes.
    let date = tcsms::sign::utc_date(timestamp);
    let canonical = tcsms::sign::canonical_request(
        "POST",
        "/",
        "",
        &[("content-type", &h["content-type"]), ("host", &h["host"])],
        &tcsms::sign::sha256_hex(&seen.body),
    );
    let scope = tcsms::sign::credential_scope(&date, "sms");
    let key = tcsms::sign::SigningKey::derive(SECRET_KEY.as_bytes(), &date, "sms");
    let signature = key.sign(&tcsms::sign::string_to_sign(timestamp, &scope, &canonical));
    let expected = tcsms::sign::authorization(SECRET_ID, &scope, "content-type;host", &signature);
    assert_eq!(h["authorization"], expected);
}

#[test]
fn typed_report_conversion_omits_a_missing_time() {
    let server = serve(|_, _| (200, ok_body(), Duration::ZERO));
    let c = client(&server.url, "");
    let request = tcsms::api::ReportConversionRequest {
        sms_sdk_app_id: "1400000001".into(),
        serial_no: "2433:5".into(),
        conversion_time: None,
    };
    let answer = c.report_conversion_typed(&request).unwrap();
    assert_eq!(answer.report_conversion_status.code, "OK");
    assert_eq!(answer.request_id, "req-ok");
    let seen = server.seen.lock().unwrap()[0].body.clone();
    assert_eq!(seen, br#"{"SmsSdkAppId":"1400000001","SerialNo":"2433:5"}"#);
}

#[test]
fn api_errors_carry_code_message_and_request_id() {
    let server = serve(|_, _| (200, api_error("AuthFailure.SignatureFailure"), Duration::ZERO));
    let e = client(&server.url, "").call("SendSms", SEND).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Api);
    assert_eq!((e.code(), e.message(), e.request_id()), ("AuthFailure.SignatureFailure", "scripted", "req-err"));
    assert_eq!(e.to_envelope_json(), api_error("AuthFailure.SignatureFailure"));
    assert_eq!(server.hits.load(Ordering::SeqCst), 1, "not retried");
}

#[test]
fn a_5xx_is_retried_only_for_idempotent_actions() {
    let server = serve(|_, _| (500, "<html>oops</html>".into(), Duration::ZERO));
    let c = client(&server.url, "");
    let e = c.call("SendSms", SEND).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::HttpStatus);
    assert!(e.message().contains("500") && e.message().contains("oops"), "{}", e.message());
    assert_eq!(server.hits.load(Ordering::SeqCst), 1, "SendSms is never resent after a 5xx");

    let e = c.call("PullSmsSendStatus", r#"{"Limit":10,"SmsSdkAppId":"1400000001"}"#).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::HttpStatus);
    assert_eq!(server.hits.load(Ordering::SeqCst), 1 + 3, "idempotent: first try + max_retries");
}

#[test]
fn rate_limits_are_retried_for_every_action_and_can_succeed() {
    let server = serve(|n, _| {
        if n < 2 {
            (200, api_error("RequestLimitExceeded"), Duration::ZERO)
        } else {
            (200, send_ok_body(), Duration::ZERO)
        }
    });
    let answer = client(&server.url, "").call("SendSms", SEND).unwrap();
    assert_eq!(answer, send_ok_body());
    assert_eq!(server.hits.load(Ordering::SeqCst), 3);
}

#[test]
fn transient_internal_errors_never_resend_a_message() {
    let server = serve(|_, _| (200, api_error("InternalError.SendAndRecvFail"), Duration::ZERO));
    let c = client(&server.url, "");
    assert_eq!(c.call("SendSms", SEND).unwrap_err().code(), "InternalError.SendAndRecvFail");
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    c.call("DescribeSmsTemplateList", r#"{"International":0}"#).unwrap_err();
    assert_eq!(server.hits.load(Ordering::SeqCst), 4);
}

#[test]
fn max_retries_zero_disables_retries() {
    let server = serve(|_, _| (200, api_error("RequestLimitExceeded"), Duration::ZERO));
    client(&server.url, r#","max_retries":0"#).call("SendSms", SEND).unwrap_err();
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
}

#[test]
fn a_body_that_is_not_the_envelope_is_a_decode_error() {
    let server = serve(|_, _| (200, "not json at all".into(), Duration::ZERO));
    let e = client(&server.url, r#","max_retries":0"#).call("SendSms", SEND).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    assert!(e.message().contains("not json at all"));
}

#[test]
fn a_slow_server_times_out_within_the_limit_and_sendsms_is_not_resent() {
    let server = serve(|_, _| (200, ok_body(), Duration::from_secs(3)));
    let c = client(&server.url, r#","timeout_ms":400"#);
    let started = Instant::now();
    let e = c.call("SendSms", SEND).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(started.elapsed() < Duration::from_millis(1500), "{:?}", started.elapsed());
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);

    // A per-call limit below the client's.
    let c = client(&server.url, r#","timeout_ms":10000"#);
    let started = Instant::now();
    let e = c.call_with_timeout("SendSms", SEND, Some(Duration::from_millis(300))).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(started.elapsed() < Duration::from_millis(1500), "{:?}", started.elapsed());
}

#[test]
fn an_unreachable_host_is_a_network_error_without_secrets() {
    // Bind then drop a listener: nothing listens on that port afterwards.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let c = client(&format!("http://127.0.0.1:{port}"), r#","max_retries":1"#);
    let started = Instant::now();
    let e = c.call("SendSms", SEND).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Network, "{e}");
    assert!(e.message().contains(&port.to_string()), "{}", e.message());
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(!e.to_envelope_json().contains(SECRET_KEY));
    assert!(!format!("{e:?}").contains(SECRET_KEY));
}

#[test]
fn a_plain_http_answer_to_tls_names_the_http_scheme() {
    // A plain-HTTP server (as the emulator is) answers the TLS ClientHello with an HTTP error.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut hello = [0u8; 512];
        let _ = stream.read(&mut hello);
        let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    });
    let c = client(&format!("https://127.0.0.1:{port}"), r#","max_retries":0"#);
    let e = c.call("SendSms", SEND).unwrap_err();
    server.join().unwrap();
    assert_eq!(e.kind(), ErrorKind::Network, "{e}");
    assert!(e.message().contains("TLS handshake failed with"), "{}", e.message());
    assert!(
        e.message()
            .contains(&format!("the server speaks plain HTTP; for a local emulator use http://127.0.0.1:{port}")),
        "{}",
        e.message()
    );
    assert!(e.message().contains("the request was not sent"), "{}", e.message());
}

#[test]
fn local_input_errors_never_reach_the_network() {
    let server = serve(|_, _| (200, ok_body(), Duration::ZERO));
    let c = client(&server.url, "");
    assert_eq!(c.call("NoSuchAction", "{}").unwrap_err().code(), "ClientError.UnknownAction");
    assert_eq!(c.call("SendSms", "{not json").unwrap_err().kind(), ErrorKind::InvalidJson);
    assert_eq!(c.call("SendSms", "[1,2]").unwrap_err().kind(), ErrorKind::InvalidJson);
    assert_eq!(server.hits.load(Ordering::SeqCst), 0);
}

#[test]
fn one_client_serves_many_threads_at_once() {
    let server = serve(|_, _| (200, ok_body(), Duration::from_millis(200)));
    let c = Arc::new(client(&server.url, ""));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let c = c.clone();
            std::thread::spawn(move || c.call("ReportConversion", r#"{"SmsSdkAppId":"1","SerialNo":"2"}"#).unwrap())
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), ok_body());
    }
    assert_eq!(server.hits.load(Ordering::SeqCst), 8);
    // The calls overlapped: one client does not serialise its callers.
    assert!(server.max_in_flight.load(Ordering::SeqCst) >= 4, "{}", server.max_in_flight.load(Ordering::SeqCst));
}

#[test]
fn an_explicit_proxy_is_used_with_its_credentials() {
    // ureq tunnels through the proxy with CONNECT; this server then answers the
    // tunnelled request on the same connection.
    let proxy = serve(|_, seen| {
        let body = if seen.request_line.starts_with("CONNECT ") { String::new() } else { ok_body() };
        (200, body, Duration::ZERO)
    });
    let port = proxy.url.rsplit(':').next().unwrap().to_owned();
    // Nothing listens at the endpoint itself: only the proxy can answer.
    let c = Client::from_json(&format!(
        r#"{{"secret_id":"{SECRET_ID}","secret_key":"{SECRET_KEY}","endpoint":"http://sms.example.invalid:8080","proxy":"http://user:proxy-pass@127.0.0.1:{port}","max_retries":0}}"#
    ))
    .unwrap();
    assert_eq!(c.call("ReportConversion", r#"{"SmsSdkAppId":"1","SerialNo":"2"}"#).unwrap(), ok_body());
    let seen = proxy.seen.lock().unwrap().clone();
    assert_eq!(seen[0].request_line, "CONNECT sms.example.invalid:8080 HTTP/1.1");
    // Basic base64("user:proxy-pass")
    assert_eq!(seen[0].headers["proxy-authorization"], "Basic dXNlcjpwcm94eS1wYXNz");
    assert_eq!(seen[1].request_line, "POST / HTTP/1.1");
    assert_eq!(seen[1].headers["host"], "sms.example.invalid:8080", "the signed Host is the endpoint's");
}

#[test]
fn an_unreachable_proxy_never_leaks_its_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let c = Client::from_json(&format!(
        r#"{{"secret_id":"{SECRET_ID}","secret_key":"{SECRET_KEY}","proxy":"http://user:proxy-pass@127.0.0.1:{port}","max_retries":0,"timeout_ms":2000}}"#
    ))
    .unwrap();
    let e = c.call("ReportConversion", r#"{"SmsSdkAppId":"1","SerialNo":"2"}"#).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Network, "{e}");
    assert!(!e.to_envelope_json().contains("proxy-pass") && !e.to_envelope_json().contains(SECRET_KEY), "{e}");
}

#[test]
fn answers_larger_than_16_mib_are_refused() {
    let huge = format!(r#"{{"Response":{{"Padding":"{}","RequestId":"r"}}}}"#, "x".repeat(17 << 20));
    let server = serve(move |_, _| (200, huge.clone(), Duration::ZERO));
    let e = client(&server.url, r#","max_retries":0,"timeout_ms":20000"#)
        .call("PullSmsSendStatus", r#"{"Limit":1,"SmsSdkAppId":"1"}"#)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
    assert!(e.message().contains("larger than"), "{e}");
}

#[test]
fn ca_files_are_checked_when_the_client_is_made() {
    let dir = std::env::temp_dir().join(format!("tcsms-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "no certificate here\n").unwrap();
    for (path, needle) in [(dir.join("missing.pem"), "cannot be read"), (empty, "no certificate")] {
        let e = Client::from_json(&format!(
            r#"{{"secret_id":"{SECRET_ID}","secret_key":"{SECRET_KEY}","ca_file":"{}"}}"#,
            path.display()
        ))
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig);
        assert!(e.message().contains(needle), "{e}");
    }
    // Never read without bound, never block: a FIFO without a writer, a device, a
    // directory and a file over 1 MiB are refused at once.
    let fifo = dir.join("fifo.pem");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let large = dir.join("large.pem");
    std::fs::write(&large, "#".repeat((1 << 20) + 1)).unwrap();
    for (path, needle) in [
        (fifo, "not a regular file"),
        (std::path::PathBuf::from("/dev/zero"), "not a regular file"),
        (dir.clone(), "not a regular file"),
        (large, "larger than 1048576 bytes"),
    ] {
        let config =
            format!(r#"{{"secret_id":"{SECRET_ID}","secret_key":"{SECRET_KEY}","ca_file":"{}"}}"#, path.display());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(Client::from_json(&config).map(drop)).unwrap());
        let e = rx.recv_timeout(Duration::from_secs(5)).expect("refused without blocking").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig);
        assert!(e.message().contains(needle), "{e}");
    }
    // A real PEM bundle is accepted.
    let bundle = ["/etc/ssl/certs/ca-certificates.crt"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("the system CA bundle");
    Client::from_json(&format!(r#"{{"secret_id":"{SECRET_ID}","secret_key":"{SECRET_KEY}","ca_file":"{bundle}"}}"#))
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_connection_the_server_closed_after_answering_is_not_reused() {
    let server = serve_with(false, |_, _| (200, send_ok_body(), Duration::ZERO));
    let c = client(&server.url, r#","max_retries":0"#);
    for _ in 0..20 {
        // No retries: SendSms must not be written to the connection the server closed.
        // (The pause lets the server's FIN arrive; with none, a request can race it.)
        c.call("SendSms", SEND).unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(server.hits.load(Ordering::SeqCst), 20);
}

#[test]
fn errors_never_show_request_headers_that_a_server_or_proxy_echoes() {
    const TOKEN: &str = "echo-token-secret-1234";
    const PROXY_PASSWORD: &str = "echo-proxy-pw-5678";
    // A proxy that tunnels, then answers each request with every header it saw, the
    // CONNECT's (Proxy-Authorization) included: as text with a 500, as JSON that is not
    // the envelope, and as the bare values.
    let tunnel = Arc::new(Mutex::new(HashMap::new()));
    let seen_connect = tunnel.clone();
    let proxy = serve(move |_, seen| {
        if seen.request_line.starts_with("CONNECT ") {
            *seen_connect.lock().unwrap() = seen.headers.clone();
            return (200, String::new(), Duration::ZERO);
        }
        let mut headers = seen_connect.lock().unwrap().clone();
        headers.extend(seen.headers.clone());
        match seen.headers["x-tc-action"].as_str() {
            "SendSms" => (500, headers.iter().map(|(k, v)| format!("{k}: {v}\n")).collect(), Duration::ZERO),
            "PullSmsSendStatus" => (200, serde_json::json!({ "headers": headers }).to_string(), Duration::ZERO),
            _ => (502, format!("values: {}", headers.values().cloned().collect::<Vec<_>>().join(" ")), Duration::ZERO),
        }
    });
    let port = proxy.url.rsplit(':').next().unwrap().to_owned();
    let c = Client::from_json(&format!(
        r#"{{"secret_id":"{SECRET_ID}","secret_key":"{SECRET_KEY}","token":"{TOKEN}","endpoint":"http://sms.example.invalid:8080","proxy":"http://user:{PROXY_PASSWORD}@127.0.0.1:{port}","max_retries":0}}"#
    ))
    .unwrap();
    for (action, kind) in [
        ("SendSms", ErrorKind::HttpStatus),
        ("PullSmsSendStatus", ErrorKind::Decode),
        ("DescribeSmsSignList", ErrorKind::HttpStatus),
    ] {
        let e = c.call(action, r#"{"SmsSdkAppId":"1400000001"}"#).unwrap_err();
        assert_eq!(e.kind(), kind, "{action}: {e}");
        for shown in [e.to_envelope_json(), e.to_string(), format!("{e:?}")] {
            // "dXNlcjp" starts base64("user:..."), the Proxy-Authorization value.
            for secret in [TOKEN, PROXY_PASSWORD, SECRET_KEY, "dXNlcjp", "TC3-HMAC-SHA256"] {
                assert!(!shown.contains(secret), "{action}: {secret} in {shown}");
            }
        }
    }
    assert!(tunnel.lock().unwrap().contains_key("proxy-authorization"), "the proxy saw the credentials");
}

#[test]
fn a_refused_tls_handshake_is_reported_as_not_sent_and_not_retried() {
    // A "TLS server" that reads the ClientHello and answers with a fatal
    // handshake_failure alert, as one does for a certificate it cannot offer.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let count = connections.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            let mut hello = [0u8; 4096];
            let _ = stream.read(&mut hello);
            let _ = stream.write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]);
        }
    });
    let c = client(&format!("https://127.0.0.1:{port}"), r#","max_retries":2"#);
    let e = c.call("PullSmsSendStatus", r#"{"Limit":1,"SmsSdkAppId":"1400000001"}"#).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Network, "{e}");
    assert!(e.message().contains("the request was not sent"), "{e}");
    assert_eq!(connections.load(Ordering::SeqCst), 1, "a refused handshake would be refused again: not retried");
}

#[test]
fn a_rate_limit_slot_too_late_to_be_answered_in_time_is_not_used() {
    let server = serve(move |_, _| (200, send_ok_body(), Duration::ZERO));
    // One SendSms per 2 s; each call has 2.2 s.
    let client = Client::from_json(&format!(
        r#"{{"secret_id":"{SECRET_ID}","secret_key":"{SECRET_KEY}","endpoint":"{}","timeout_ms":2200,"max_retries":0,"rate_limits":{{"SendSms":0.5}}}}"#,
        server.url
    ))
    .unwrap();
    client.call("SendSms", SEND).expect("the first call has its slot at once");
    // The next slot comes about 2 s later: inside the 2.2 s, but with too little of it
    // left to be sure of an answer. Not sent, and said so.
    let started = Instant::now();
    let e = client.call("SendSms", SEND).expect_err("a slot too late to be answered in time");
    assert_eq!(e.code(), tcsms::error::codes::RATE_LIMITED, "{e}");
    assert!(e.message().contains("not sent"), "{e}");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "refused at once, not after waiting: {:?}",
        started.elapsed()
    );
    assert_eq!(server.hits.load(Ordering::SeqCst), 1, "the second call reached the server");
}

#[test]
fn send_sms_never_assigns_results_for_numbers_it_did_not_send() {
    // The answer lists a number that was never sent, where the sent one should be.
    let foreign = r#"{"Response":{"SendStatusSet":[{"SerialNo":"foreign-1","PhoneNumber":"+8613900000009","Fee":1,"SessionContext":"","Code":"Ok","Message":"send success","IsoCode":"CN"}],"RequestId":"r-foreign"}}"#;
    let server = serve(move |_, _| (200, foreign.to_owned(), Duration::ZERO));
    let c = client(&server.url, r#","max_retries":0"#);
    match c.send_sms(SEND) {
        Ok(results) => panic!("foreign results were taken for the sent number: {}", results.to_json()),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
            assert!(e.message().contains("not in the request"), "{e}");
            assert!(!e.message().contains("foreign-1\",\"PhoneNumber\":\"+8613800000000"), "{e}");
        }
    }
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
}

#[test]
fn a_first_batch_that_fails_says_the_later_batches_were_not_sent() {
    let server = serve(|_, _| (200, api_error("FailedOperation.SignatureIncorrectOrUnapproved"), Duration::ZERO));
    let c = client(&server.url, r#","max_retries":0"#);
    let numbers: Vec<String> = (0..450).map(|i| format!("\"+86137{i:08}\"")).collect();
    let request =
        format!(r#"{{"PhoneNumberSet":[{}],"SmsSdkAppId":"1400000001","TemplateId":"2001"}}"#, numbers.join(","));
    let e = c.send_sms(&request).expect_err("the first batch fails");
    assert_eq!(e.code(), "FailedOperation.SignatureIncorrectOrUnapproved");
    assert!(e.message().contains("batches 2 to 3 (250 more numbers) were not sent"), "{e}");
    assert_eq!(server.hits.load(Ordering::SeqCst), 1, "only the first batch was sent");
}

#[test]
fn an_echoing_server_s_success_answers_carry_no_secret_or_signature_anywhere() {
    // A server that answers with success envelopes whose RequestId (and an entry's
    // Message) echo the request's token and signature.
    const TOKEN: &str = "echoed-session-token-0000";
    let server = serve(|n, seen| {
        let signature = seen.headers["authorization"].rsplit("Signature=").next().unwrap_or_default().to_owned();
        let token = &seen.headers["x-tc-token"];
        let id = format!("{token} Signature={signature}");
        let body = match n {
            // A fitting answer (send_sms), then one listing a number never sent.
            0 => format!(
                r#"{{"Response":{{"SendStatusSet":[{{"SerialNo":"s1","PhoneNumber":"+8613800000000","Fee":1,"SessionContext":"","Code":"Ok","Message":"sent with {token}","IsoCode":"CN"}}],"RequestId":"{id}"}}}}"#
            ),
            _ => format!(
                r#"{{"Response":{{"SendStatusSet":[{{"SerialNo":"s1","PhoneNumber":"+8613900000000","Code":"Ok","Message":"ok"}}],"RequestId":"{id}"}}}}"#
            ),
        };
        (200, body, Duration::ZERO)
    });
    let c = client(&server.url, &format!(r#","token":"{TOKEN}","max_retries":0"#));
    let events = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = events.clone();
    c.set_event_callback(Some(Box::new(move |e: &str| sink.lock().unwrap().push(e.to_owned()))));
    let results = c.send_sms(SEND).expect("a fitting answer");
    let misfit = c.call("SendSms", SEND).expect_err("an answer listing a number never sent");
    assert_eq!(misfit.kind(), ErrorKind::Decode, "{misfit}");
    let signatures: Vec<String> = server
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.headers["authorization"].rsplit("Signature=").next().unwrap().to_owned())
        .collect();
    assert_eq!(signatures.len(), 2);
    let shown = format!(
        "{} {:?} {misfit} {misfit:?} {} {} {}",
        results.to_json(),
        results,
        misfit.to_envelope_json(),
        events.lock().unwrap().join("\n"),
        c.stats_json()
    );
    assert!(signatures.iter().all(|s| s.len() == 64), "{signatures:?}");
    for secret in signatures.iter().map(String::as_str).chain([TOKEN]) {
        assert!(!shown.contains(secret), "{secret} shown in: {shown}");
    }
    // The RequestId still reaches the results and the events, scrubbed.
    assert!(
        results.request_ids.len() == 1 && results.request_ids[0].contains("<redacted>"),
        "{:?}",
        results.request_ids
    );
    assert!(
        events.lock().unwrap().iter().any(|e| e.contains(r#""request_id":"<redacted> Signature=<redacted>""#)),
        "{shown}"
    );
}

#[test]
fn a_server_that_answers_every_request_twice_never_hands_a_call_another_call_s_answer() {
    // Each answer takes 50 ms, and a copy of it follows 2 ms later: what a connection
    // rests after an answer (twice its exchange, 100 ms here) covers the copy with a wide
    // margin for a loaded host, and the idle check then finds it. A caller that reused the connection at once would read the copy of
    // the previous answer for its own, and every answer after it one call late.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                while let Some(request) = read_request(&mut reader) {
                    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
                    let serial = body["SerialNo"].as_str().unwrap_or_default().to_owned();
                    let answer = format!(
                        r#"{{"Response":{{"ReportConversionStatus":{{"Code":"OK","Message":"ok"}},"RequestId":"{serial}"}}}}"#
                    );
                    let whole = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
                        answer.len()
                    );
                    std::thread::sleep(Duration::from_millis(50));
                    if writer.write_all(whole.as_bytes()).is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(2));
                    if writer.write_all(whole.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    let c = client(&url, r#","max_retries":0"#);
    let mut not_their_own = Vec::new();
    for i in 0..20 {
        let serial = format!("serial-{i}");
        let answer = c.call("ReportConversion", &format!(r#"{{"SmsSdkAppId":"1400000001","SerialNo":"{serial}"}}"#));
        match answer {
            Ok(answer) if answer.contains(&format!(r#""RequestId":"{serial}""#)) => {}
            other => not_their_own.push(format!("call {i}: {other:?}")),
        }
    }
    assert!(not_their_own.is_empty(), "{} of 20 calls: {not_their_own:#?}", not_their_own.len());
}

/// A connection rests after each exchange before it carries another request: twice the
/// exchange (at least 1 ms), or half its previous rest. The tests below wait that out.
const REST: Duration = Duration::from_millis(20);

/// Waits (at most 5 s) until `count` reaches `n`: the server's threads count
/// connections a moment after the client's side is done.
fn wait_until(count: &AtomicUsize, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while count.load(Ordering::SeqCst) < n && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until a connection whose exchanges all took less than `slowest` has rested
/// (a slow run, under a sanitizer say, makes every rest longer).
fn wait_out_the_rest(slowest: Duration) {
    std::thread::sleep(REST.max(slowest * 4));
}

const REPORT: &str = r#"{"SmsSdkAppId":"1400000001","SerialNo":"1"}"#;

#[test]
fn a_freed_client_leaves_its_connection_to_the_next_client() {
    let server = serve(|_, _| (200, ok_body(), Duration::ZERO));
    let mut slowest = Duration::ZERO;
    for round in 0..5 {
        let c = client(&server.url, "");
        let started = Instant::now();
        c.call("ReportConversion", REPORT).unwrap_or_else(|e| panic!("round {round}: {e}"));
        slowest = slowest.max(started.elapsed());
        drop(c);
        wait_out_the_rest(slowest);
    }
    assert_eq!(server.hits.load(Ordering::SeqCst), 5);
    assert_eq!(server.accepted.load(Ordering::SeqCst), 1, "five clients, one after the other, share one connection");
    assert_eq!(server.closed.load(Ordering::SeqCst), 0, "the connection stays open for the next client");
}

#[test]
fn a_handed_over_connection_still_rests_before_its_next_request() {
    // A slow answer (200 ms) makes the connection rest twice that long.
    let server = serve(|_, _| (200, ok_body(), Duration::from_millis(200)));
    let first = client(&server.url, "");
    first.call("ReportConversion", REPORT).unwrap();
    drop(first);
    // At once: the connection is still resting, so the next client opens its own.
    client(&server.url, "").call("ReportConversion", REPORT).unwrap();
    assert_eq!(server.accepted.load(Ordering::SeqCst), 2);
}

#[test]
fn a_client_with_its_own_name_resolver_neither_takes_nor_leaves_connections() {
    #[derive(Debug)]
    struct Loopback;
    impl tcsms::NameResolver for Loopback {
        fn resolve(&self, _host: &str, port: u16) -> std::io::Result<Vec<std::net::SocketAddr>> {
            Ok(vec![std::net::SocketAddr::from(([127, 0, 0, 1], port))])
        }
    }
    let server = serve(|_, _| (200, ok_body(), Duration::ZERO));
    let hooked = |url: &str| {
        let config = tcsms::Config::from_json(&format!(
            r#"{{"secret_id":"{SECRET_ID}","secret_key":"{SECRET_KEY}","endpoint":"{url}","timeout_ms":5000}}"#
        ))
        .unwrap();
        Client::with_name_resolver(config, Loopback).unwrap()
    };
    // A plain client's connection is left behind, but not to a client with a hook ...
    let plain = client(&server.url, "");
    plain.call("ReportConversion", REPORT).unwrap();
    drop(plain);
    std::thread::sleep(REST);
    let first = hooked(&server.url);
    first.call("ReportConversion", REPORT).unwrap();
    assert_eq!(server.accepted.load(Ordering::SeqCst), 2, "the hooked client opened its own connection");
    // ... whose own connection closes with it.
    drop(first);
    wait_until(&server.closed, 1);
    assert_eq!(server.closed.load(Ordering::SeqCst), 1, "the hooked client's connection closed when it was freed");
}

#[test]
fn freed_clients_leave_at_most_eight_connections() {
    let server = serve(|_, _| (200, ok_body(), Duration::ZERO));
    let c = client(&server.url, "");
    assert_eq!(c.connect_ahead(12, Some(Duration::from_secs(5))).unwrap(), 12);
    wait_until(&server.accepted, 12);
    assert_eq!(server.accepted.load(Ordering::SeqCst), 12);
    drop(c);
    // At least 4 close at once; other tests of this process hand over connections too,
    // so more may.
    wait_until(&server.closed, 4);
    let closed = server.closed.load(Ordering::SeqCst);
    assert!(closed >= 4, "only {closed} of 12 closed");
    std::thread::sleep(REST);
    if closed < 12 {
        client(&server.url, "").call("ReportConversion", REPORT).unwrap();
        assert_eq!(server.accepted.load(Ordering::SeqCst), 12, "the next client took a connection left behind");
    }
}
