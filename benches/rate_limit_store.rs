//! `cargo bench --bench rate_limit_store` (or `bench/rate_limit_store.sh`): the time a call
//! spends in the shared rate limiter (`rate_limit_store`, one script run against a
//! `redis-server` on 127.0.0.1) next to the in-process bucket, with 1 and 8 threads
//! calling ReportConversion on a loopback fixed-response server. Rates are high enough
//! that no call waits: the difference is the limiter's own cost. Figures are from one
//! run, rounds alternating between the peers; the ratio is what carries over.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "../examples/fixed_server.rs"]
mod fixed_server;
const BODY: &str =
    r#"{"SmsSdkAppId":"1400000001","SerialNo":"2433:1045710669157053657849499619","ConversionTime":1700000000}"#;

fn main() {
    let calls: usize = std::env::var("TCSMS_BENCH_CALLS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || fixed_server::serve(listener));

    let redis_port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = std::env::temp_dir().join(format!("tcsms-bench-redis-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut redis = Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--port", &redis_port.to_string(), "--save", "", "--appendonly", "no"])
        .args(["--logfile", "", "--dir"])
        .arg(&dir)
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server (apt-get install redis-server)");
    std::thread::sleep(Duration::from_millis(300));

    let store = format!("redis://127.0.0.1:{redis_port}");
    let in_process = client(port, None);
    let shared = client(port, Some(&store));
    println!("rate limiter cost per call: {calls} ReportConversion calls per peer and round, loopback server, local redis-server");
    println!("| threads | in-process µs/call | shared (Redis) µs/call | added µs/call | ratio |");
    println!("|---|---|---|---|---|");
    for threads in [1, 8] {
        run(&in_process, threads, calls / 10);
        run(&shared, threads, calls / 10);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            a.push(run(&in_process, threads, calls / 3));
            b.push(run(&shared, threads, calls / 3));
        }
        a.sort_by(f64::total_cmp);
        b.sort_by(f64::total_cmp);
        let (a, b) = (a[1], b[1]);
        println!("| {threads} | {a:.1} | {b:.1} | {:.1} | {:.2}x |", b - a, b / a);
    }
    let _ = redis.kill();
    let _ = redis.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

fn client(port: u16, store: Option<&str>) -> Arc<tcsms::Client> {
    let store = store.map_or(String::new(), |s| format!(r#","rate_limit_store":"{s}","rate_limit_key":"bench""#));
    Arc::new(
        tcsms::Client::from_json(&format!(
            r#"{{"secret_id":"AKIDbench","secret_key":"benchmark-secret-key","endpoint":"http://127.0.0.1:{port}","timeout_ms":10000,"max_retries":0,"rate_limits":{{"*":1000000}}{store}}}"#
        ))
        .unwrap(),
    )
}

/// Wall-clock µs per call of `threads` threads making `n` calls in all.
fn run(client: &Arc<tcsms::Client>, threads: usize, n: usize) -> f64 {
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                for _ in 0..n / threads {
                    client.call("ReportConversion", BODY).unwrap();
                }
            });
        }
    });
    started.elapsed().as_secs_f64() * 1e6 / (n / threads * threads) as f64
}
