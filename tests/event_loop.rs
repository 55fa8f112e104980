//! The completion queue's event loop (src/completion.rs, src/client/pending.rs): a call
//! submitted when its client has a rested pooled connection is sent from `submit` and its
//! answer read by the thread that takes completions, without a worker; whatever must
//! wait (a chunked answer, a closed connection, a deadline) still ends as a blocking
//! call would. Over plain HTTP and TLS, with answers whole, in pieces, chunked, late and
//! never.

#[path = "support/hostile.rs"]
mod hostile;
#[path = "support/tls.rs"]
mod tls;

use hostile::{next_request_body, read_request_from, Hostile};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tcsms::completion::{CompletionQueue, QueueOptions};
use tcsms::{Client, ErrorKind};

const SECRET_KEY: &str = "EventLoopSecretKey000000";
const REPORT: &str = r#"{"SmsSdkAppId":"1400000001","SerialNo":"s1"}"#;
const LOCAL_CA_CERT: &str = include_str!("support/certs/local-ca.pem");
const LOCAL_HOST_CERT: &str = include_str!("support/certs/local-host.pem");
const LOCAL_HOST_KEY: &str = include_str!("support/certs/local-host.key");

/// How a server delivers the answer to request number `n` (from 0) of a connection.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Delivery {
    /// In one write.
    Whole,
    /// The head, the first half of the body and the rest, 40 ms apart.
    Pieces,
    /// With a chunked body.
    Chunked,
    /// After this long.
    Late(Duration),
    /// Never: the connection stays open and silent.
    Never,
    /// The connection is closed instead.
    Close,
}

fn envelope(n: usize) -> String {
    format!(r#"{{"Response":{{"ReportConversionStatus":{{"Code":"OK","Message":"ok"}},"RequestId":"loop-{n}"}}}}"#)
}

/// Answers request `n` as `delivery(n)` says; false when the connection is done.
fn deliver(stream: &mut impl Write, n: usize, delivery: Delivery) -> bool {
    let body = envelope(n);
    let mut send = |bytes: &[u8]| stream.write_all(bytes).and_then(|()| stream.flush()).is_ok();
    match delivery {
        Delivery::Whole => send(format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len()).as_bytes()),
        Delivery::Pieces => {
            let (first, rest) = body.split_at(body.len() / 2);
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
            let mut ok = true;
            for (i, piece) in [head.as_str(), first, rest].into_iter().enumerate() {
                if i > 0 {
                    std::thread::sleep(Duration::from_millis(40));
                }
                ok &= send(piece.as_bytes());
            }
            ok
        }
        Delivery::Chunked => send(
            format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n", body.len())
                .as_bytes(),
        ),
        Delivery::Late(after) => {
            std::thread::sleep(after);
            deliver(stream, n, Delivery::Whole)
        }
        Delivery::Never => {
            std::thread::sleep(Duration::from_secs(30));
            false
        }
        Delivery::Close => false,
    }
}

/// Serves requests on `stream` until the client hangs up; the first request of a
/// connection is answered whole (it warms the client's pool), later ones as `later`.
fn serve(stream: &mut (impl Read + Write), later: Delivery) {
    for n in 0.. {
        if !read_request_from(stream) {
            return;
        }
        if !deliver(stream, n, if n == 0 { Delivery::Whole } else { later }) {
            return;
        }
    }
}

fn plain_server(later: Delivery) -> Hostile {
    Hostile::start(move |mut stream| {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
        serve(&mut stream, later);
    })
}

fn tls_server(later: Delivery) -> Hostile {
    let config = tls::server_config(rustls::DEFAULT_VERSIONS, LOCAL_HOST_CERT, LOCAL_HOST_KEY);
    Hostile::start(move |mut s: TcpStream| {
        let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
        let Ok(mut tls) = rustls::ServerConnection::new(config.clone()) else { return };
        let mut stream = rustls::Stream::new(&mut tls, &mut s);
        serve(&mut stream, later);
    })
}

fn client(endpoint: &str, timeout_ms: u64) -> Arc<Client> {
    // Written once: tests run in parallel, and a client reading it half-written would fail.
    static CA_FILE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    let ca_file = CA_FILE.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("tcsms-event-loop-ca-{}.pem", std::process::id()));
        std::fs::write(&path, LOCAL_CA_CERT).expect("write the CA file");
        path
    });
    let config = format!(
        r#"{{"secret_id":"AKIDloop","secret_key":"{SECRET_KEY}","endpoint":"{endpoint}","timeout_ms":{timeout_ms},"max_retries":0,"rate_limits":{{"*":0}},"ca_file":"{}"}}"#,
        ca_file.display()
    );
    Arc::new(Client::from_json(&config).expect("client"))
}

/// A client of `server` whose pool holds one rested connection (a blocking call made it).
fn warm_client(server: &Hostile, tls: bool, timeout_ms: u64) -> Arc<Client> {
    let scheme = if tls { "https" } else { "http" };
    let client = client(&format!("{scheme}://127.0.0.1:{}", server.port), timeout_ms);
    let started = Instant::now();
    let answer = client.call("ReportConversion", REPORT).expect("the warm-up call");
    assert!(answer.contains(r#""RequestId":"loop-0""#), "{answer}");
    rest(started.elapsed());
    client
}

/// Waits until a connection whose exchange took at most `took` has rested (twice its
/// exchange), with room for a slow machine or a sanitizer.
fn rest(took: Duration) {
    std::thread::sleep((took * 4).max(Duration::from_millis(30)));
}

/// Occupies the queue's only worker for about `busy`: a call to a server that answers
/// that late, on a client with no connection yet (which only a worker can open).
fn occupy_the_worker(queue: &CompletionQueue, busy: Duration) -> Hostile {
    let late = Hostile::start(move |mut stream| {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
        if read_request_from(&mut stream) {
            deliver(&mut stream, 0, Delivery::Late(busy));
        }
    });
    let blocker = client(&format!("http://127.0.0.1:{}", late.port), 10_000);
    queue.submit(blocker, "ReportConversion", REPORT, None, u64::MAX).unwrap();
    std::thread::sleep(Duration::from_millis(100)); // the worker has taken it
    late
}

fn readable(fd: i32, within: Duration) -> bool {
    let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one live pollfd.
    unsafe { libc::poll(&mut pfd, 1, within.as_millis() as i32) == 1 }
}

/// The completion of `tag`, waiting on the fd as an event loop would; other tags are
/// dropped.
fn completion(queue: &CompletionQueue, tag: u64, within: Duration) -> Result<String, tcsms::Error> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no completion for call {tag} within {within:?}");
        if !readable(queue.fd(), left) {
            continue;
        }
        while let Some(done) = queue.next() {
            if done.tag == tag {
                return done.result.map_err(|failure| failure.error().cloned().expect("no panic"));
            }
        }
    }
}

fn one_worker() -> CompletionQueue {
    CompletionQueue::new(QueueOptions { workers: 1, capacity: 16, ..Default::default() }).unwrap()
}

/// Whole answers and answers in pieces, over plain HTTP and TLS, are read and judged by
/// the taker while the only worker is busy elsewhere, on the connection the pool had.
#[test]
fn answers_on_pooled_connections_are_read_without_a_worker() {
    for tls in [false, true] {
        for delivery in [Delivery::Whole, Delivery::Pieces] {
            let server = if tls { tls_server(delivery) } else { plain_server(delivery) };
            let client = warm_client(&server, tls, 5000);
            let queue = one_worker();
            let _slow = occupy_the_worker(&queue, Duration::from_millis(3000));
            for n in 1..=3u64 {
                let started = Instant::now();
                queue.submit(Arc::clone(&client), "ReportConversion", REPORT, None, n).unwrap();
                let answer = completion(&queue, n, Duration::from_secs(2))
                    .unwrap_or_else(|e| panic!("tls {tls}, {delivery:?}, call {n}: {e}"));
                let took = started.elapsed();
                assert!(answer.contains(&format!(r#""RequestId":"loop-{n}""#)), "{answer}");
                // Well before the busy worker is free (3 s).
                assert!(took < Duration::from_millis(1500), "tls {tls}, {delivery:?}: call {n} took {took:?}");
                // The connection rests twice as long as its exchange took before it
                // carries the next request (answers in pieces take 80 ms).
                rest(took);
            }
            assert_eq!(server.connections(), 1, "tls {tls}, {delivery:?}: every call on the pooled connection");
        }
    }
}

/// What the loop cannot read without waiting goes to a worker, which ends the call as a
/// blocking call would: a chunked answer is read whole, a closed connection is an error
/// that says the request was sent.
#[test]
fn answers_only_a_blocking_read_can_finish_end_as_blocking_calls_do() {
    for tls in [false, true] {
        let server = if tls { tls_server(Delivery::Chunked) } else { plain_server(Delivery::Chunked) };
        let client = warm_client(&server, tls, 5000);
        let queue = one_worker();
        queue.submit(Arc::clone(&client), "ReportConversion", REPORT, None, 1).unwrap();
        let answer = completion(&queue, 1, Duration::from_secs(5)).unwrap_or_else(|e| panic!("tls {tls}: {e}"));
        assert!(answer.contains(r#""RequestId":"loop-1""#), "tls {tls}: {answer}");

        let server = if tls { tls_server(Delivery::Close) } else { plain_server(Delivery::Close) };
        let client = warm_client(&server, tls, 5000);
        queue.submit(Arc::clone(&client), "ReportConversion", REPORT, None, 2).unwrap();
        let error = completion(&queue, 2, Duration::from_secs(5)).expect_err("the server closed");
        assert_eq!(error.kind(), ErrorKind::Network, "tls {tls}: {error}");
        assert!(error.message().contains("the service may have acted"), "tls {tls}: {error}");
    }
}

/// A call whose answer never comes ends at its own deadline: the queue's fd becomes
/// readable by then without anything arriving, and the error is the blocking call's.
/// An answer that comes late but in time is still read.
#[test]
fn deadlines_hold_in_the_event_loop() {
    for tls in [false, true] {
        let server = if tls { tls_server(Delivery::Never) } else { plain_server(Delivery::Never) };
        let client = warm_client(&server, tls, 5000);
        let queue = one_worker();
        let started = Instant::now();
        queue.submit(Arc::clone(&client), "ReportConversion", REPORT, Some(Duration::from_millis(300)), 1).unwrap();
        assert!(readable(queue.fd(), Duration::from_secs(3)), "tls {tls}: the fd stayed silent past the deadline");
        let error = completion(&queue, 1, Duration::from_secs(3)).expect_err("never answered");
        let took = started.elapsed();
        assert_eq!(error.kind(), ErrorKind::Timeout, "tls {tls}: {error}");
        assert!(error.message().contains("may have acted"), "tls {tls}: {error}");
        assert!(took >= Duration::from_millis(290) && took < Duration::from_millis(1300), "tls {tls}: {took:?}");

        let server = if tls {
            tls_server(Delivery::Late(Duration::from_millis(200)))
        } else {
            plain_server(Delivery::Late(Duration::from_millis(200)))
        };
        let client = warm_client(&server, tls, 5000);
        queue.submit(Arc::clone(&client), "ReportConversion", REPORT, Some(Duration::from_secs(2)), 2).unwrap();
        let answer = completion(&queue, 2, Duration::from_secs(3)).unwrap_or_else(|e| panic!("tls {tls}: {e}"));
        assert!(answer.contains(r#""RequestId":"loop-1""#), "tls {tls}: {answer}");
    }
}

/// An answer the loop reads that calls for a retry (HTTP 500 to an idempotent action)
/// is retried by a worker after the backoff, as a blocking call would retry it.
#[test]
fn retries_after_an_answer_read_by_the_loop_go_on_in_a_worker() {
    let served = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&served);
    // Every connection's first request is answered (the warm-up); the first later request
    // of the server gets a 500, the rest are answered.
    let server = Hostile::start(move |mut stream| {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
        for n in 0.. {
            if !read_request_from(&mut stream) {
                return;
            }
            let nth = count.fetch_add(1, Ordering::SeqCst);
            let ok = if n > 0 && nth == 1 {
                stream.write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\n\r\nno").is_ok()
            } else {
                deliver(&mut stream, nth, Delivery::Whole)
            };
            if !ok {
                return;
            }
        }
    });
    let config = format!(
        r#"{{"secret_id":"AKIDloop","secret_key":"{SECRET_KEY}","endpoint":"http://127.0.0.1:{}","timeout_ms":5000,"max_retries":1,"rate_limits":{{"*":0}}}}"#,
        server.port
    );
    let client = Arc::new(Client::from_json(&config).expect("client"));
    let started = Instant::now();
    client.call("ReportConversion", REPORT).expect("the warm-up call");
    rest(started.elapsed());
    let queue = one_worker();
    queue.submit(Arc::clone(&client), "ReportConversion", REPORT, None, 1).unwrap();
    let answer = completion(&queue, 1, Duration::from_secs(5)).expect("answered on the retry");
    assert!(answer.contains(r#""RequestId":"loop-2""#), "{answer}");
    assert_eq!(served.load(Ordering::SeqCst), 3, "the warm-up, the 500 and the retry");
    // The 500 came on the pooled connection (which it closed); only the retry opened one.
    assert_eq!(server.connections(), 2);
}

/// Answers each request on `stream` with its SerialNo as the RequestId (one longer than
/// 64 bytes as its first character and length), counting them; `padding` bytes of
/// padding make the answer larger.
fn answer_with_serials(stream: &mut (impl Read + Write), count: &AtomicUsize, padding: usize) {
    let mut seen = Vec::new();
    let padding = "p".repeat(padding);
    while let Some(body) = next_request_body(stream, &mut seen) {
        let serial = body.split(r#""SerialNo":""#).nth(1).and_then(|r| r.split('"').next()).unwrap_or("?");
        let id = if serial.len() <= 64 { serial.to_owned() } else { format!("{}-{}", &serial[..1], serial.len()) };
        let envelope = format!(
            r#"{{"Response":{{"ReportConversionStatus":{{"Code":"OK","Message":"ok"}},"Padding":"{padding}","RequestId":"{id}"}}}}"#
        );
        count.fetch_add(1, Ordering::SeqCst);
        let answer = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{envelope}", envelope.len());
        if stream.write_all(answer.as_bytes()).and_then(|()| stream.flush()).is_err() {
            return;
        }
    }
}

/// Over TLS, a request and an answer of several TLS records each (more than the
/// buffers that carry records between the socket and TLS) pass whole, on a blocking
/// call and in the event loop.
#[test]
fn requests_and_answers_of_many_tls_records_pass_whole() {
    let served = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&served);
    let config = tls::server_config(rustls::DEFAULT_VERSIONS, LOCAL_HOST_CERT, LOCAL_HOST_KEY);
    let server = Hostile::start(move |mut s: TcpStream| {
        let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
        let Ok(mut tls) = rustls::ServerConnection::new(config.clone()) else { return };
        answer_with_serials(&mut rustls::Stream::new(&mut tls, &mut s), &count, 48 << 10);
    });
    let client = client(&format!("https://127.0.0.1:{}", server.port), 5000);
    // 48 KiB each way: three records, against buffers of one.
    let serial = |c: char| c.to_string().repeat(48 << 10);
    let request = |serial: &str| format!(r#"{{"SmsSdkAppId":"1400000001","SerialNo":"{serial}"}}"#);
    let started = Instant::now();
    let answer = client.call("ReportConversion", &request(&serial('b'))).expect("the blocking call");
    assert!(answer.contains(r#""RequestId":"b-49152""#) && answer.len() > 48 << 10, "{answer:.300}");
    rest(started.elapsed());
    let queue = one_worker();
    let _busy = occupy_the_worker(&queue, Duration::from_secs(3));
    queue.submit(Arc::clone(&client), "ReportConversion", &request(&serial('q')), None, 7).unwrap();
    let answer = completion(&queue, 7, Duration::from_secs(2)).expect("answered in the event loop");
    assert!(answer.contains(r#""RequestId":"q-49152""#) && answer.len() > 48 << 10, "{answer:.300}");
    assert_eq!(served.load(Ordering::SeqCst), 2);
    assert_eq!(server.connections(), 1, "the event loop's call went on the pooled connection");
}

/// Many calls in flight at once over a few pooled connections, all collected through
/// the fd: each gets its own answer, and the connections are reused.
#[test]
fn many_calls_in_flight_each_get_their_own_answer() {
    let served = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&served);
    // Echoes the request's SerialNo as the RequestId, so an answer crossed between
    // calls would show.
    let server = Hostile::start(move |mut stream| {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
        answer_with_serials(&mut stream, &count, 0);
    });
    let client = client(&format!("http://127.0.0.1:{}", server.port), 5000);
    let queue = CompletionQueue::new(QueueOptions { workers: 2, capacity: 64, ..Default::default() }).unwrap();
    let request = |tag: u64| format!(r#"{{"SmsSdkAppId":"1400000001","SerialNo":"serial-{tag}"}}"#);
    let n = 400u64;
    let (mut next, mut done) = (0u64, 0u64);
    let deadline = Instant::now() + Duration::from_secs(60);
    while done < n {
        assert!(Instant::now() < deadline, "{done} of {n} calls done");
        while next < n && next - done < 8 {
            queue.submit(Arc::clone(&client), "ReportConversion", &request(next), None, next).unwrap();
            next += 1;
        }
        if !readable(queue.fd(), Duration::from_secs(5)) {
            continue;
        }
        queue.take(64, |c| {
            let answer = c.result.unwrap_or_else(|f| panic!("call {}: {f:?}", c.tag));
            assert!(answer.contains(&format!(r#""RequestId":"serial-{}""#, c.tag)), "call {}: {answer}", c.tag);
            done += 1;
        });
    }
    assert_eq!(served.load(Ordering::SeqCst), n as usize);
    // Connections rest between exchanges, so 8 calls at a time need more than 8; still
    // far fewer than one per call.
    assert!(server.connections() <= 64, "{} connections for {n} calls, 8 at a time", server.connections());
}
