//! The fault matrix (issue 10, item 4), Rust binding: a client with default settings (only
//! the time limit shortened to 1.5 s) against small hostile servers on 127.0.0.1. For every
//! fault, for SendSms (never resent) and ReportConversion (idempotent, retried): the typed
//! error, the time the call took (never more than the limit plus a margin), and how many
//! connections reached the server (never more than one for SendSms). Also DNS failure
//! (through an injected resolver) and TLS unknown issuer / wrong host (fixed test certificates).

#[path = "support/hostile.rs"]
mod hostile;
#[path = "support/tls.rs"]
mod tls;

use hostile::{answer_and_close, read_request, read_request_from, until_hangup, Hostile};
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};
use tcsms::{Client, ErrorKind};

const SECRET_KEY: &str = "FaultMatrixSecretKey0000";
const LIMIT: Duration = Duration::from_millis(1500);
/// Scheduling slack on a loaded 2-core machine.
const MARGIN: Duration = Duration::from_millis(1000);
const SEND: (&str, &str) =
    ("SendSms", r#"{"PhoneNumberSet":["+8613800000001"],"SmsSdkAppId":"1400000001","TemplateId":"2002"}"#);
const REPORT: (&str, &str) = ("ReportConversion", r#"{"SmsSdkAppId":"1400000001","SerialNo":"1"}"#);

fn client(url: &str) -> Client {
    Client::from_json(&format!(
        r#"{{"secret_id":"AKIDfault","secret_key":"{SECRET_KEY}","endpoint":"{url}","timeout_ms":{}}}"#,
        LIMIT.as_millis()
    ))
    .expect("client")
}

/// Calls `action` against a fresh server running `behaviour`; checks the error kind, the
/// time taken and the connections against `max_connections`.
fn check(
    fault: &str,
    (action, request): (&str, &str),
    behaviour: impl Fn(TcpStream) + Send + Sync + 'static,
    kind: ErrorKind,
    max_connections: usize,
) {
    let server = Hostile::start(behaviour);
    let client = client(&server.url());
    let started = Instant::now();
    let error = client.call(action, request).expect_err("a hostile server cannot succeed");
    let elapsed = started.elapsed();
    let connections = server.connections();
    eprintln!("{fault:20} {action:17} {:?} after {elapsed:?}, {connections} connection(s): {error}", error.kind());
    assert_eq!(error.kind(), kind, "{fault}/{action}: {error}");
    assert!(elapsed <= LIMIT + MARGIN, "{fault}/{action} took {elapsed:?}, limit {LIMIT:?}");
    assert!(connections <= max_connections, "{fault}/{action}: {connections} connections, at most {max_connections}");
    let shown = format!("{error} {error:?} {}", error.to_envelope_json());
    assert!(!shown.contains(SECRET_KEY), "{fault}/{action}: the secret key shows: {shown}");
}

/// SendSms reaches the server once and is never resent; ReportConversion may be retried
/// (1 + max_retries = 3 attempts) when the service may not have acted or it is idempotent.
fn both(
    fault: &str,
    behaviour: impl Fn(TcpStream) + Send + Sync + Clone + 'static,
    kind: ErrorKind,
    report_connections: usize,
) {
    check(fault, SEND, behaviour.clone(), kind, 1);
    check(fault, REPORT, behaviour, kind, report_connections);
}

/// Reads the request, writes `bytes` and closes the connection.
fn answers(bytes: &'static [u8]) -> impl Fn(TcpStream) + Send + Sync + Clone + 'static {
    move |mut s| {
        if read_request(&mut s) {
            answer_and_close(&mut s, bytes);
        }
    }
}

const OK_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n";

#[test]
fn http_500() {
    both(
        "500",
        answers(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops"),
        ErrorKind::HttpStatus,
        3,
    );
}

#[test]
fn close_after_the_request() {
    both("close", answers(b""), ErrorKind::Network, 3);
}

#[test]
fn slow_answer() {
    both(
        "slow",
        |mut s| {
            if read_request(&mut s) {
                std::thread::sleep(LIMIT + Duration::from_secs(1));
                answer_and_close(&mut s, OK_HEAD);
            }
        },
        ErrorKind::Timeout,
        3,
    );
}

#[test]
fn slow_drip_one_byte_per_500_ms() {
    both(
        "slow-drip",
        |mut s| {
            if read_request(&mut s) {
                for byte in OK_HEAD.iter().chain(&[b' '; 100]) {
                    if s.write_all(&[*byte]).is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
        },
        ErrorKind::Timeout,
        3,
    );
}

#[test]
fn silent_server() {
    both("silent", |mut s| until_hangup(&mut s), ErrorKind::Timeout, 3);
}

#[test]
fn headers_then_stall() {
    both(
        "headers-then-stall",
        |mut s| {
            if read_request(&mut s) && s.write_all(OK_HEAD).is_ok() {
                until_hangup(&mut s);
            }
        },
        ErrorKind::Timeout,
        3,
    );
}

#[test]
fn garbage_answer() {
    both("garbage", answers(b"\x00\x01\x02 this is not HTTP \xff\r\n\r\n{}"), ErrorKind::Network, 3);
}

#[test]
fn oversized_answer() {
    both(
        "oversized",
        |mut s| {
            if read_request(&mut s) && s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 33554432\r\n\r\n").is_ok() {
                let block = [b' '; 65536];
                for _ in 0..512 {
                    if s.write_all(&block).is_err() {
                        return;
                    }
                }
            }
        },
        ErrorKind::Decode,
        1,
    );
}

#[test]
fn chunked_forever() {
    both(
        "chunked-forever",
        |mut s| {
            if read_request(&mut s) && s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").is_ok() {
                let mut chunk = b"4000\r\n".to_vec();
                chunk.extend_from_slice(&[b' '; 0x4000]);
                chunk.extend_from_slice(b"\r\n");
                while s.write_all(&chunk).is_ok() {}
            }
        },
        ErrorKind::Decode,
        1,
    );
}

#[test]
fn content_length_lie() {
    both(
        "content-length-lie",
        answers(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"Response\":{}}"),
        ErrorKind::Network,
        3,
    );
}

#[test]
fn refused_port() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    for (action, request) in [SEND, REPORT] {
        let client = client(&format!("http://127.0.0.1:{port}"));
        let started = Instant::now();
        let error = client.call(action, request).expect_err("nothing listens");
        let elapsed = started.elapsed();
        eprintln!("refused              {action:17} {:?} after {elapsed:?}: {error}", error.kind());
        assert_eq!(error.kind(), ErrorKind::Network, "{error}");
        assert!(elapsed <= LIMIT + MARGIN, "took {elapsed:?}");
    }
}

#[test]
fn proxy_answers_407() {
    let proxy = Hostile::start(answers(
        b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n",
    ));
    for (action, request) in [SEND, REPORT] {
        // The service is never reached: the proxy refuses the tunnel to it first.
        let client = Client::from_json(&format!(
            r#"{{"secret_id":"AKIDfault","secret_key":"{SECRET_KEY}","endpoint":"https://127.0.0.1:9",
            "timeout_ms":{},"proxy":"http://user:ProxyPassword0000@127.0.0.1:{}"}}"#,
            LIMIT.as_millis(),
            proxy.port
        ))
        .expect("client");
        let started = Instant::now();
        let error = client.call(action, request).expect_err("the proxy refuses");
        let elapsed = started.elapsed();
        eprintln!("proxy-407            {action:17} {:?} after {elapsed:?}: {error}", error.kind());
        assert_eq!(error.kind(), ErrorKind::Network, "{error}");
        assert!(elapsed <= LIMIT + MARGIN, "took {elapsed:?}");
        let shown = format!("{error} {error:?} {}", error.to_envelope_json());
        assert!(!shown.contains("ProxyPassword0000") && !shown.contains(SECRET_KEY), "{shown}");
    }
}

/// A resolver that fails as getaddrinfo does for an unknown name, and counts lookups; the
/// system's resolver is never asked and no real name is looked up.
#[derive(Debug, Clone, Default)]
struct FailingResolver(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl tcsms::NameResolver for FailingResolver {
    fn resolve(&self, _: &str, _: u16) -> std::io::Result<Vec<std::net::SocketAddr>> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Err(std::io::Error::other("failed to lookup address information: Name or service not known"))
    }
}

#[test]
fn dns_failure() {
    for (action, request) in [SEND, REPORT] {
        let resolver = FailingResolver::default();
        let config = tcsms::Config::from_json(&format!(
            r#"{{"secret_id":"AKIDfault","secret_key":"{SECRET_KEY}","endpoint":"sms.fault-matrix.invalid","timeout_ms":{}}}"#,
            LIMIT.as_millis()
        ))
        .expect("config");
        let client = Client::with_name_resolver(config, resolver.clone()).expect("client");
        let started = Instant::now();
        let error = client.call(action, request).expect_err("no name resolves");
        let elapsed = started.elapsed();
        let lookups = resolver.0.load(std::sync::atomic::Ordering::SeqCst);
        eprintln!(
            "dns-failure          {action:17} {:?} after {elapsed:?}, {lookups} lookup(s): {error}",
            error.kind()
        );
        assert_eq!(error.kind(), ErrorKind::Network, "{error}");
        assert!(error.message().contains("the request was not sent"), "{error}");
        assert!(!error.message().contains("may have acted"), "{error}");
        assert!(elapsed <= LIMIT + MARGIN, "took {elapsed:?}");
        // No request can reach a server whose address is unknown; as nothing was sent, even a
        // SendSms may be tried again (first try + 2 retries), each time resolving afresh.
        assert_eq!(lookups, 3, "{action}");
        assert!(!format!("{error} {error:?} {}", error.to_envelope_json()).contains(SECRET_KEY));
    }
}

// Fixed test certificates in tests/support/certs/ (P-256, made with openssl once, valid until
// 2126; the Python and Go matrices use the same files): a self-signed one for IP 127.0.0.1, a
// test CA, and a certificate that CA issued for `other.example` only.
const SELF_SIGNED_CERT: &str = include_str!("support/certs/self-signed.pem");
const SELF_SIGNED_KEY: &str = include_str!("support/certs/self-signed.key");
const TEST_CA_CERT: &str = include_str!("support/certs/test-ca.pem");
const OTHER_HOST_CERT: &str = include_str!("support/certs/other-host.pem");
const OTHER_HOST_KEY: &str = include_str!("support/certs/other-host.key");
// The control case's: a second test CA (its key was not kept) and the certificate it issued
// for IP 127.0.0.1, made with openssl in the same way on 2026-12-01, valid until 2126.
const LOCAL_CA_CERT: &str = include_str!("support/certs/local-ca.pem");
const LOCAL_HOST_CERT: &str = include_str!("support/certs/local-host.pem");
const LOCAL_HOST_KEY: &str = include_str!("support/certs/local-host.key");

/// A rustls server configuration presenting `cert`.
fn tls_config(cert: &str, key: &str) -> std::sync::Arc<rustls::ServerConfig> {
    tls::server_config(rustls::DEFAULT_VERSIONS, cert, key)
}

/// A TLS server on 127.0.0.1 presenting `cert`; it counts connections, and answers 200 to a
/// request should a handshake ever succeed (it must not).
fn tls_server(cert: &str, key: &str) -> Hostile {
    let config = tls_config(cert, key);
    Hostile::start(move |mut s| {
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
        let Ok(mut tls) = rustls::ServerConnection::new(config.clone()) else { return };
        while tls.is_handshaking() {
            if tls.complete_io(&mut s).is_err() {
                return;
            }
        }
        let mut stream = rustls::Stream::new(&mut tls, &mut s);
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 37\r\n\r\n{\"Response\":{\"RequestId\":\"accepted\"}}");
        let _ = stream.flush();
    })
}

/// Calls both actions over https against `server`; the handshake must fail, typed as a
/// network error that says nothing was sent, within the limit, on one connection (a
/// certificate that is refused once is refused again, so nothing is retried).
fn check_tls(fault: &str, server: &Hostile, extra_config: &str, expect_in_message: &str) {
    for (action, request) in [SEND, REPORT] {
        let before = server.connections();
        let client = Client::from_json(&format!(
            r#"{{"secret_id":"AKIDfault","secret_key":"{SECRET_KEY}","endpoint":"https://127.0.0.1:{}","timeout_ms":{}{extra_config}}}"#,
            server.port,
            LIMIT.as_millis()
        ))
        .expect("client");
        let started = Instant::now();
        let error = client.call(action, request).expect_err("the certificate is refused");
        let elapsed = started.elapsed();
        let connections = server.connections() - before;
        eprintln!("{fault:20} {action:17} {:?} after {elapsed:?}, {connections} connection(s): {error}", error.kind());
        assert_eq!(error.kind(), ErrorKind::Network, "{fault}/{action}: {error}");
        assert!(error.message().contains("the request was not sent"), "{fault}/{action}: {error}");
        assert!(error.message().contains(expect_in_message), "{fault}/{action}: {error}");
        assert!(elapsed <= LIMIT + MARGIN, "{fault}/{action} took {elapsed:?}");
        assert_eq!(connections, 1, "{fault}/{action}: a refused certificate is not tried again");
        assert!(!format!("{error} {error:?} {}", error.to_envelope_json()).contains(SECRET_KEY));
    }
}

/// The control case of the TLS faults: a certificate the client trusts (through `ca_file`)
/// gets answers, and the calls share one kept-alive connection. The server reads each
/// request (head and Content-Length body, `hostile::read_request_from`) through TLS and
/// answers it, until the client closes.
#[test]
fn tls_trusted_certificate_answers_on_one_kept_alive_connection() {
    let config = tls_config(LOCAL_HOST_CERT, LOCAL_HOST_KEY);
    let server = Hostile::start(move |mut s| {
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
        let Ok(mut tls) = rustls::ServerConnection::new(config.clone()) else { return };
        let mut stream = rustls::Stream::new(&mut tls, &mut s);
        for answered in 0.. {
            if !read_request_from(&mut stream) {
                return;
            }
            // Fits both actions called: an empty SendStatusSet, a ReportConversionStatus.
            let envelope = format!(
                r#"{{"Response":{{"SendStatusSet":[],"ReportConversionStatus":{{"Code":"OK","Message":""}},"RequestId":"tls-{answered}"}}}}"#
            );
            let answer = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{envelope}", envelope.len());
            if stream.write_all(answer.as_bytes()).and_then(|()| stream.flush()).is_err() {
                return;
            }
        }
    });
    let ca_file = std::env::temp_dir().join(format!("tcsms-fault-matrix-local-ca-{}.pem", std::process::id()));
    std::fs::write(&ca_file, LOCAL_CA_CERT).expect("write the CA file");
    let client = Client::from_json(&format!(
        r#"{{"secret_id":"AKIDfault","secret_key":"{SECRET_KEY}","endpoint":"https://127.0.0.1:{}","timeout_ms":{},"ca_file":"{}"}}"#,
        server.port,
        LIMIT.as_millis(),
        ca_file.display()
    ))
    .expect("client");
    for (i, (action, request)) in [SEND, REPORT, SEND].into_iter().enumerate() {
        let answer = client.call(action, request).unwrap_or_else(|e| panic!("{action} over TLS: {e}"));
        assert!(answer.contains(&format!(r#""RequestId":"tls-{i}""#)), "{action}: {answer}");
        // A connection rests after an exchange (twice its duration, at least 1 ms) before
        // it carries the next request; a caller back at once would open another.
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(server.connections(), 1, "the three calls share one connection");
    let _ = std::fs::remove_file(&ca_file);
}

#[test]
fn tls_unknown_issuer() {
    let server = tls_server(SELF_SIGNED_CERT, SELF_SIGNED_KEY);
    check_tls("tls-unknown-issuer", &server, "", "UnknownIssuer");
}

#[test]
fn tls_wrong_host() {
    // The client trusts the test CA through `ca_file`; the certificate it issued names
    // another host, not 127.0.0.1.
    let ca_file = std::env::temp_dir().join(format!("tcsms-fault-matrix-ca-{}.pem", std::process::id()));
    std::fs::write(&ca_file, TEST_CA_CERT).expect("write the CA file");
    let server = tls_server(OTHER_HOST_CERT, OTHER_HOST_KEY);
    let extra = format!(r#","ca_file":"{}""#, ca_file.display());
    check_tls("tls-wrong-host", &server, &extra, "not valid for name");
    let _ = std::fs::remove_file(&ca_file);
}
