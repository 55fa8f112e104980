//! `cargo bench --bench roundtrip`: how close one thread making tcsms calls in sequence
//! comes to the raw round-trip rate of the same loopback server, and what signing costs.
//!
//! The server answers every request with one fixed ReportConversion envelope. The "raw"
//! peer writes a prebuilt request of the same size over one keep-alive connection and
//! reads the answer: the best any client could do. Figures are ratios measured in the
//! same run, so the machine's speed cancels out.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};
use tcsms::sign::{self, SigningKey};

#[path = "../examples/fixed_server.rs"]
mod fixed_server;
use fixed_server::ANSWER;
const BODY: &str =
    r#"{"SmsSdkAppId":"1400000001","SerialNo":"2433:1045710669157053657849499619","ConversionTime":1700000000}"#;

fn main() {
    let calls: usize = std::env::var("TCSMS_BENCH_CALLS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let port = fixed_response_server();
    // For instruction counts (valgrind --tool=callgrind): only N calls of one peer.
    if let Ok(peer) = std::env::var("TCSMS_BENCH_ONLY") {
        tcsms_peer(port, peer == "hooked")(calls);
        return;
    }
    println!("tcsms round-trip benchmark: {calls} sequential calls per peer, loopback, fixed-response server");

    let sign_ns = bench_signing();
    println!("signing one request (cached key):   {sign_ns:>8.0} ns");
    let derive_ns = bench_key_derivation();
    println!("deriving a signing key (once a day): {derive_ns:>7.0} ns");

    // Warm both peers, then alternate rounds so drift affects both alike.
    let raw = raw_peer(port);
    let client = tcsms_peer(port, false);
    let hooked = tcsms_peer(port, true);
    raw(calls / 10);
    client(calls / 10);
    hooked(calls / 10);
    let mut raw_rate = 0.0;
    let mut tcsms_rate = 0.0;
    let mut hooked_rate = 0.0;
    for _ in 0..3 {
        raw_rate += rate(calls / 3, &raw);
        tcsms_rate += rate(calls / 3, &client);
        hooked_rate += rate(calls / 3, &hooked);
    }
    raw_rate /= 3.0;
    tcsms_rate /= 3.0;
    hooked_rate /= 3.0;
    println!("raw round trips:                     {raw_rate:>8.0} /s");
    println!("tcsms Client::call (ReportConversion): {tcsms_rate:>6.0} /s");
    println!(
        "connections opened:                  {:>8}",
        fixed_server::CONNECTIONS.load(std::sync::atomic::Ordering::Relaxed)
    );
    println!("tcsms / raw:                          {:>7.1} %", 100.0 * tcsms_rate / raw_rate);
    println!(
        "... with an event callback (no-op):   {hooked_rate:>8.0} /s ({:.1} % of without)",
        100.0 * hooked_rate / tcsms_rate
    );
}

fn rate(n: usize, run: &dyn Fn(usize)) -> f64 {
    let started = Instant::now();
    run(n);
    n as f64 / started.elapsed().as_secs_f64()
}

fn bench_signing() -> f64 {
    let key = SigningKey::derive(b"benchmark-secret-key", "2024-06-01", "sms");
    let n = 200_000;
    let started = Instant::now();
    let mut total = 0usize;
    for i in 0..n {
        let auth = sign::sign_post(
            "AKIDbench",
            &key,
            "2024-06-01",
            1_717_200_000 + i as i64,
            "application/json",
            "sms.tencentcloudapi.com",
            BODY.as_bytes(),
        );
        total += auth.len();
    }
    assert!(total > 0);
    started.elapsed().as_nanos() as f64 / n as f64
}

fn bench_key_derivation() -> f64 {
    let n = 100_000;
    let started = Instant::now();
    for _ in 0..n {
        std::hint::black_box(SigningKey::derive(b"benchmark-secret-key", "2024-06-01", "sms"));
    }
    started.elapsed().as_nanos() as f64 / n as f64
}

/// The fixed-response server of examples/fixed_server.rs, on a background thread.
fn fixed_response_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || fixed_server::serve(listener));
    port
}

/// The best case: a prebuilt request of tcsms's size, one write, one keep-alive connection.
fn raw_peer(port: u16) -> impl Fn(usize) {
    let request = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Authorization: TC3-HMAC-SHA256 Credential=AKIDtcsmsdemo00000000000000000000000/2024-06-01/sms/tc3_request, SignedHeaders=content-type;host, Signature=0d20b5720578f0ebc868f401fe7b0f34689472cbe8aaeffc320b120fd1ec5097\r\n\
         X-TC-Action: ReportConversion\r\nX-TC-Version: 2021-01-11\r\nX-TC-Timestamp: 1717200000\r\nX-TC-Region: ap-guangzhou\r\n\
         Content-Length: {}\r\n\r\n{BODY}",
        BODY.len()
    );
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_nodelay(true).unwrap();
    let reader = std::cell::RefCell::new(BufReader::new(stream.try_clone().unwrap()));
    let writer = std::cell::RefCell::new(stream);
    move |n| {
        let mut reader = reader.borrow_mut();
        let mut writer = writer.borrow_mut();
        let mut line = String::new();
        for _ in 0..n {
            writer.write_all(request.as_bytes()).unwrap();
            let mut length = 0usize;
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" {
                    break;
                }
                if let Some(v) = line.strip_prefix("Content-Length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
        }
    }
}

/// Client-side rate limiting is off: the bench measures the client, not the limiter.
/// A client making ReportConversion calls; `hooked`: with a no-op event callback (the
/// statistics are always on).
fn tcsms_peer(port: u16, hooked: bool) -> impl Fn(usize) {
    let client = tcsms::Client::from_json(&format!(
        r#"{{"secret_id":"AKIDbench","secret_key":"benchmark-secret-key","endpoint":"http://127.0.0.1:{port}","timeout_ms":{},"rate_limits":{{"*":0}}}}"#,
        Duration::from_secs(10).as_millis()
    ))
    .unwrap();
    if hooked {
        client.set_event_callback(Some(Box::new(|event: &str| {
            std::hint::black_box(event);
        })));
    }
    move |n| {
        for _ in 0..n {
            let answer = client.call("ReportConversion", BODY).unwrap();
            assert_eq!(answer.len(), ANSWER.len());
        }
    }
}
