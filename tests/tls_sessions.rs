//! TLS costs paid once per process: a new client resumes the TLS session an earlier client
//! of the process got from the same server (the server tells a resumed handshake from a
//! full one), whether the clients read the same `ca_file` or another file with the same
//! roots, over TLS 1.3 and TLS 1.2.

#[path = "support/hostile.rs"]
mod hostile;
#[path = "support/tls.rs"]
mod tls;

use hostile::{read_request_from, Hostile};
use rustls::HandshakeKind;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tcsms::Client;

// The control case's certificates of tests/fault_matrix.rs: a test CA and the certificate it
// issued for IP 127.0.0.1 (valid until 2126).
const LOCAL_CA_CERT: &str = include_str!("support/certs/local-ca.pem");
const LOCAL_HOST_CERT: &str = include_str!("support/certs/local-host.pem");
const LOCAL_HOST_KEY: &str = include_str!("support/certs/local-host.key");

/// A TLS server on 127.0.0.1 speaking `versions`; it answers every request and records
/// the kind of each handshake. It closes each connection after one answer (with
/// `Connection: close`), so that every client makes its own connection (a freed
/// client's kept-alive connection would serve the next client, see
/// [`keep_alive_server`]).
fn server(versions: &[&'static rustls::SupportedProtocolVersion]) -> (Hostile, Arc<Mutex<Vec<HandshakeKind>>>) {
    serve(versions, false)
}

/// As [`server`], keeping connections alive.
fn keep_alive_server(
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> (Hostile, Arc<Mutex<Vec<HandshakeKind>>>) {
    serve(versions, true)
}

fn serve(
    versions: &[&'static rustls::SupportedProtocolVersion],
    keep_alive: bool,
) -> (Hostile, Arc<Mutex<Vec<HandshakeKind>>>) {
    let config = tls::server_config(versions, LOCAL_HOST_CERT, LOCAL_HOST_KEY);
    let kinds = Arc::new(Mutex::new(Vec::new()));
    let seen = kinds.clone();
    let server = Hostile::start(move |mut s| {
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
        let Ok(mut tls) = rustls::ServerConnection::new(config.clone()) else { return };
        while tls.is_handshaking() {
            if tls.complete_io(&mut s).is_err() {
                return;
            }
        }
        seen.lock().unwrap().push(tls.handshake_kind().expect("handshake done"));
        let mut stream = rustls::Stream::new(&mut tls, &mut s);
        while read_request_from(&mut stream) {
            let envelope = r#"{"Response":{"ReportConversionStatus":{"Code":"ok","Message":"ok"},"RequestId":"tls"}}"#;
            let close = if keep_alive { "" } else { "Connection: close\r\n" };
            let answer = format!("HTTP/1.1 200 OK\r\n{close}Content-Length: {}\r\n\r\n{envelope}", envelope.len());
            if stream.write_all(answer.as_bytes()).and_then(|()| stream.flush()).is_err() || !keep_alive {
                return;
            }
        }
    });
    (server, kinds)
}

/// A `ca_file` trusting the test CA. Sessions are kept per trust configuration (the roots,
/// by content) and server name, not per port: `label`, a line outside the PEM block, keeps
/// each test's sessions its own.
fn ca_file(label: &str, name: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("tcsms-tls-sessions-{name}-{}.pem", std::process::id()));
    std::fs::write(&path, format!("{label}\n{LOCAL_CA_CERT}")).expect("write the CA file");
    path
}

fn client(server: &Hostile, ca_file: &std::path::Path) -> Client {
    Client::from_json(&format!(
        r#"{{"secret_id":"AKIDsessions","secret_key":"SessionsSecretKey0000000","endpoint":"https://127.0.0.1:{}","timeout_ms":5000,"ca_file":"{}"}}"#,
        server.port,
        ca_file.display()
    ))
    .expect("client")
}

/// One call with a new client that is dropped afterwards.
fn cold_call(server: &Hostile, ca_file: &std::path::Path) {
    let client = client(server, ca_file);
    let answer = client
        .call("ReportConversion", r#"{"SmsSdkAppId":"1400000001","SerialNo":"1"}"#)
        .unwrap_or_else(|e| panic!("call over TLS: {e}"));
    assert_eq!(answer, r#"{"Response":{"ReportConversionStatus":{"Code":"ok","Message":"ok"},"RequestId":"tls"}}"#);
}

fn new_clients_resume(versions: &[&'static rustls::SupportedProtocolVersion], name: &str) {
    let (server, kinds) = server(versions);
    let first = ca_file(name, &format!("{name}-first"));
    let second = ca_file(name, &format!("{name}-second"));
    cold_call(&server, &first);
    cold_call(&server, &first);
    // Another file with the same roots is the same trust configuration.
    cold_call(&server, &second);
    let kinds = kinds.lock().unwrap().clone();
    assert_eq!(server.connections(), 3, "one connection per client");
    assert_eq!(
        kinds,
        [HandshakeKind::Full, HandshakeKind::Resumed, HandshakeKind::Resumed],
        "the first client's handshake is full, the next clients resume"
    );
    let _ = std::fs::remove_file(&first);
    let _ = std::fs::remove_file(&second);
}

#[test]
fn new_clients_resume_tls13_sessions() {
    new_clients_resume(&[&rustls::version::TLS13], "13");
}

#[test]
fn new_clients_resume_tls12_sessions() {
    new_clients_resume(&[&rustls::version::TLS12], "12");
}

/// A freed client leaves its connection to the next client that trusts the same roots
/// (the same `ca_file` content), and only to such a client.
#[test]
fn a_freed_client_s_connection_serves_only_clients_trusting_the_same_roots() {
    let (server, kinds) = keep_alive_server(&[&rustls::version::TLS13]);
    let first = ca_file("share-first", "share-first");
    let other = ca_file("share-other", "share-other");
    // A connection rests after each exchange (twice the exchange, at least 1 ms) before
    // it carries another: wait that out, whatever a slow run makes of it.
    let timed = |ca_file: &std::path::Path| {
        let started = std::time::Instant::now();
        cold_call(&server, ca_file);
        started.elapsed()
    };
    let rest = |slowest: Duration| std::thread::sleep(Duration::from_millis(20).max(slowest * 4));
    let first_took = timed(&first);
    rest(first_took);
    let other_took = timed(&other);
    assert_eq!(server.connections(), 2, "other roots, another connection");
    rest(first_took.max(other_took));
    cold_call(&server, &first);
    cold_call(&server, &other);
    assert_eq!(server.connections(), 2, "each later client took the connection its roots made");
    assert_eq!(kinds.lock().unwrap().clone(), [HandshakeKind::Full; 2]);
    let _ = std::fs::remove_file(&first);
    let _ = std::fs::remove_file(&other);
}

/// Connections opened ahead: three wait after `connect_ahead(3)`, handshaken, the next
/// calls use them without opening more, and a second `connect_ahead` opens nothing. (A
/// TLS 1.3 server sends its session tickets after the handshake, and nothing is read on a
/// connection opened ahead until its first call: these handshakes are all full.)
#[test]
fn connect_ahead_opens_and_handshakes_pooled_connections() {
    let (server, kinds) = server(&[&rustls::version::TLS13]);
    let path = ca_file("ahead", "ahead");
    let client = client(&server, &path);
    assert_eq!(client.connect_ahead(3, None).expect("connect ahead"), 3);
    assert_eq!(server.connections(), 3);
    let seen = |kinds: &Arc<Mutex<Vec<HandshakeKind>>>| kinds.lock().unwrap().clone();
    // The client's side of each handshake is done before connect_ahead returns; the
    // server thread records its side a moment later, so wait (bounded) for it.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while seen(&kinds).len() < 3 && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(seen(&kinds), [HandshakeKind::Full; 3]);
    assert_eq!(client.connect_ahead(2, None).expect("connect ahead again"), 2);
    for _ in 0..3 {
        client.call("ReportConversion", r#"{"SmsSdkAppId":"1400000001","SerialNo":"1"}"#).expect("call");
    }
    assert_eq!(server.connections(), 3, "the calls use the connections opened ahead");
    // At most the pool's size.
    assert_eq!(client.connect_ahead(1000, None).expect("connect ahead 64"), 64);
    let _ = std::fs::remove_file(&path);
}

/// An endpoint that is down: a typed network error within the time limit, and the client
/// stays usable.
#[test]
fn connect_ahead_to_a_closed_port_fails_in_time() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = Client::from_json(&format!(
        r#"{{"secret_id":"AKIDsessions","secret_key":"SessionsSecretKey0000000","endpoint":"https://127.0.0.1:{port}","timeout_ms":1500}}"#
    ))
    .expect("client");
    let started = std::time::Instant::now();
    let error = client.connect_ahead(4, Some(Duration::from_millis(800))).expect_err("nothing listens");
    assert!(started.elapsed() < Duration::from_millis(800 + 1000), "took {:?}", started.elapsed());
    assert_eq!(error.kind(), tcsms::ErrorKind::Network, "{error}");
    assert!(error.message().contains("could not connect"), "{error}");
    assert!(!format!("{error:?}").contains("SessionsSecretKey0000000"));
    let again = client.call("ReportConversion", r#"{"SmsSdkAppId":"1400000001","SerialNo":"1"}"#).expect_err("down");
    assert_eq!(again.kind(), tcsms::ErrorKind::Network, "{again}");
}
