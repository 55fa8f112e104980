//! Rate limits shared through Redis (`rate_limit_store`), against a real `redis-server`
//! started here on 127.0.0.1 (a free port, a temporary directory, no persistence) and the
//! emulator with its SendSms limit on:
//!
//! - 4 processes x 8 threads sharing one budget send at the shared rate, with no
//!   `RequestLimitExceeded`; the same 4 without the store are refused (the control);
//! - Redis killed in the middle of a run and started again: every call succeeds, each
//!   process reports `down` then `up` once per transition, and all four share again;
//! - a store that never answers, or refuses the password: calls go on at the in-process
//!   share, within the store's own small time limit, and the password shows nowhere;
//! - a client used by the parent and the child of a fork(): both send, as two sharers.
//!
//! The worker processes are this test binary again, running the ignored tests `worker` and
//! `fork_worker`.
//! `redis-server` must be installed (`.ci/run` installs Debian's).

use serde_json::{json, Value};
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tcsms::Client;

#[path = "support/emulator.rs"]
mod emulator;
use emulator::Emulator;

const DEMO_ID: &str = "AKIDtcsmsdemo00000000000000000000000";
const DEMO_KEY: &str = "tcsmsdemosecretkey00000000000000";
const APP: &str = "1400000001";
/// The emulator's SendSms limit, per sliding second: low enough that 4 x 8 senders exceed it
/// without the store even instrumented (ASan) on a busy 2-core machine (about 300/s there).
const SERVICE_LIMIT: u32 = 200;
/// The shared limit: the same 85 % the library keeps below a documented limit by default.
const SHARED_LIMIT: f64 = 170.0;
const PROCESSES: usize = 4;
const THREADS: usize = 8;
const PASSWORD: &str = "redispw-marker";
const WORKER_ENV: &str = "TCSMS_RL_STORE_WORKER";

fn start_emulator() -> Emulator {
    let path = emulator::find(Path::new(env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|| panic!("no tcsms-emulator: run `cargo build --release` first, or set TCSMS_EMULATOR"));
    Emulator::spawn(&path, &["--rate-limit", &format!("SendSms={SERVICE_LIMIT}"), "--app-id", APP])
}

/// A `redis-server` of this test, killed on drop.
struct Redis {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    password: Option<String>,
}

impl Redis {
    fn start(password: Option<&str>) -> Redis {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("tcsms-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut redis = Redis { child: None, port, dir, password: password.map(str::to_owned) };
        redis.restart();
        redis
    }

    /// Starts the server (again) on its port and waits until it answers PING.
    fn restart(&mut self) {
        let mut command = Command::new("redis-server");
        command.args(["--bind", "127.0.0.1", "--port", &self.port.to_string(), "--save", "", "--appendonly", "no"]);
        command.args(["--daemonize", "no", "--logfile", "", "--dir"]).arg(&self.dir);
        if let Some(password) = &self.password {
            command.args(["--requirepass", password]);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start redis-server (apt-get install redis-server): {e}"));
        self.child = Some(child);
        let start = Instant::now();
        while self.query(&["PING"]).is_err() {
            assert!(start.elapsed() < Duration::from_secs(10), "redis-server did not answer on port {}", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        match &self.password {
            Some(p) => format!("redis://:{p}@127.0.0.1:{}/0", self.port),
            None => format!("redis://127.0.0.1:{}/0", self.port),
        }
    }

    fn query(&self, args: &[&str]) -> redis::RedisResult<redis::Value> {
        let client = redis::Client::open(self.url())?;
        let mut con = client.get_connection_with_timeout(Duration::from_secs(1))?;
        let mut cmd = redis::cmd(args[0]);
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        cmd.query(&mut con)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn epoch_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

fn config(endpoint: &str, store: Option<&str>, key: &str) -> String {
    let mut c = json!({
        "secret_id": DEMO_ID, "secret_key": DEMO_KEY, "endpoint": endpoint, "timeout_ms": 5000,
        "max_retries": 0, "rate_limits": {"*": 0, "SendSms": SHARED_LIMIT},
    });
    if let Some(store) = store {
        c["rate_limit_store"] = json!(store);
        c["rate_limit_key"] = json!(key);
    }
    c.to_string()
}

/// Runs PROCESSES workers of THREADS threads each, all sending SendSms from `start_ms`
/// to `end_ms` (epoch); `during` runs meanwhile. Returns each worker's result.
/// One multi-process run at a time: two runs of 4 x 8 senders at once (the test harness
/// runs tests in parallel) bunch arrivals at the emulator on a small machine, and under the
/// sanitizers starve the senders, which says nothing about the shared budget.
static ONE_RUN_AT_A_TIME: Mutex<()> = Mutex::new(());

fn run_workers(config: &str, seconds: f64, during: impl FnOnce(u64)) -> Vec<Value> {
    let _alone = ONE_RUN_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let start_ms = epoch_ms() + 700;
    let end_ms = start_ms + (seconds * 1000.0) as u64;
    let spec = json!({"config": config, "start_ms": start_ms, "end_ms": end_ms}).to_string();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<Child> = (0..PROCESSES)
        .map(|_| {
            Command::new(&exe)
                .args(["worker", "--exact", "--ignored", "--nocapture", "--test-threads", "1"])
                .env(WORKER_ENV, &spec)
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("worker process")
        })
        .collect();
    during(start_ms);
    children
        .into_iter()
        .map(|mut child| {
            let mut out = String::new();
            child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
            assert!(child.wait().unwrap().success(), "worker failed: {out}");
            let line = out
                .lines()
                .find_map(|l| l.split_once("RESULT ").map(|(_, r)| r))
                .unwrap_or_else(|| panic!("no result: {out}"));
            serde_json::from_str(line).unwrap()
        })
        .collect()
}

fn sum(results: &[Value], field: &str) -> u64 {
    results.iter().map(|r| r[field].as_u64().unwrap()).sum()
}

/// Not a test: the body of a worker process (run by the tests above with WORKER_ENV set).
#[test]
#[ignore = "a worker process of the tests in this file, run by them"]
fn worker() {
    let spec: Value = serde_json::from_str(&std::env::var(WORKER_ENV).expect(WORKER_ENV)).unwrap();
    let client = Arc::new(Client::from_json(spec["config"].as_str().unwrap()).unwrap());
    let (start_ms, end_ms) = (spec["start_ms"].as_u64().unwrap(), spec["end_ms"].as_u64().unwrap());
    let events = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = events.clone();
    client.set_event_callback(Some(Box::new(move |e: &str| {
        if e.contains(r#""event":"rate_limit_store""#) {
            sink.lock().unwrap().push(e.to_owned());
        }
    })));
    let (ok, limited, other) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let first_error = Arc::new(Mutex::new(String::new()));
    std::thread::sleep(Duration::from_millis(start_ms.saturating_sub(epoch_ms())));
    let request = format!(
        r#"{{"PhoneNumberSet":["+8613800000001"],"SmsSdkAppId":"{APP}","SignName":"tcsms","TemplateId":"2002","TemplateParamSet":["1"]}}"#
    );
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                while epoch_ms() < end_ms {
                    let result = client.call("SendSms", &request);
                    if epoch_ms() > end_ms {
                        break; // completed after the window: not counted
                    }
                    match result {
                        Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                        Err(e) if e.code().starts_with("RequestLimitExceeded") => {
                            limited.fetch_add(1, Ordering::Relaxed)
                        }
                        Err(e) => {
                            let mut first = first_error.lock().unwrap();
                            if first.is_empty() {
                                *first = format!("{}: {}", e.code(), e.message());
                            }
                            other.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                }
            });
        }
    });
    let events = events.lock().unwrap().clone();
    let result = json!({
        "ok": ok.load(Ordering::Relaxed), "limited": limited.load(Ordering::Relaxed),
        "other": other.load(Ordering::Relaxed), "first_error": *first_error.lock().unwrap(),
        "events": events, "debug": format!("{client:?}"),
    });
    println!("RESULT {result}");
}

/// Nothing a worker reports shows the store's password.
fn assert_no_password(results: &[Value]) {
    for r in results {
        assert!(!r.to_string().contains(PASSWORD), "{r}");
    }
}

#[test]
fn four_processes_share_one_budget_and_without_the_store_are_refused() {
    let emulator = start_emulator();
    let redis = Redis::start(Some(PASSWORD));
    let seconds = 3.0;
    let shared = run_workers(&config(&emulator.url, Some(&redis.url()), "shared-test"), seconds, |_| ());
    assert_no_password(&shared);
    let (ok, limited, other) = (sum(&shared, "ok"), sum(&shared, "limited"), sum(&shared, "other"));
    assert_eq!((limited, other), (0, 0), "{shared:?}");
    let rate = ok as f64 / seconds;
    println!(
        "shared: {ok} calls in {seconds} s = {rate:.1}/s (shared limit {SHARED_LIMIT}/s, service {SERVICE_LIMIT}/s)"
    );
    // The budget is used, not only kept: at least 95 % of it (the sanitize suite lowers this
    // floor with TCSMS_RL_STORE_MIN_SHARE, as instrumented senders on a busy 2-core machine
    // cannot always keep up; the ceiling stays).
    let floor: f64 = std::env::var("TCSMS_RL_STORE_MIN_SHARE").ok().and_then(|v| v.parse().ok()).unwrap_or(0.95);
    assert!(rate > SHARED_LIMIT * floor && rate < SHARED_LIMIT * 1.03, "aggregate {rate:.1}/s vs {SHARED_LIMIT}/s");
    for r in &shared {
        // Every worker got its part: the budget is shared, not taken by one.
        assert!(r["ok"].as_u64().unwrap() as f64 > rate * seconds / PROCESSES as f64 / 3.0, "{shared:?}");
        assert_eq!(r["events"], json!([]), "the store stayed up: {r}");
    }
    // The control: the same four, each with its own in-process bucket.
    let alone = run_workers(&config(&emulator.url, None, ""), 2.0, |_| ());
    let (ok, limited) = (sum(&alone, "ok"), sum(&alone, "limited"));
    println!("without the store: {ok} calls succeeded, {limited} refused with RequestLimitExceeded");
    assert!(limited > 100, "without the store the four should exceed the service's limit: {alone:?}");
}

#[test]
fn redis_killed_and_restarted_calls_go_on_and_sharing_resumes() {
    let emulator = start_emulator();
    let mut redis = Redis::start(Some(PASSWORD));
    let key = "restart-test";
    let results = run_workers(&config(&emulator.url, Some(&redis.url()), key), 5.0, |start_ms| {
        std::thread::sleep(Duration::from_millis((start_ms + 1500).saturating_sub(epoch_ms())));
        // Killed only once every worker has registered and then registered again (each
        // does so once a second), so each knows it has three peers: on a slow machine the
        // last may start late, and a worker that counted fewer would fall back at a
        // larger share than a quarter.
        let sharers = format!("tcsms:rl:{key}:sharers");
        let (waited, mut late) = (Instant::now(), false);
        while redis.query(&["ZCARD", &sharers]).ok() != Some(redis::Value::Int(PROCESSES as i64)) {
            assert!(waited.elapsed() < Duration::from_secs(10), "the workers never all registered");
            late = true;
            std::thread::sleep(Duration::from_millis(20));
        }
        if late {
            std::thread::sleep(Duration::from_millis(1200));
        }
        redis.kill();
        std::thread::sleep(Duration::from_millis(1500));
        redis.restart();
    });
    assert_no_password(&results);
    assert_eq!((sum(&results, "limited"), sum(&results, "other")), (0, 0), "{results:?}");
    assert!(sum(&results, "ok") > 500, "{results:?}");
    for r in &results {
        let events: Vec<Value> = r["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| serde_json::from_str(e.as_str().unwrap()).unwrap())
            .collect();
        let states: Vec<&str> = events.iter().map(|e| e["state"].as_str().unwrap()).collect();
        assert!(!states.is_empty() && states.len() % 2 == 0, "{states:?}");
        for (i, state) in states.iter().enumerate() {
            assert_eq!(*state, if i % 2 == 0 { "down" } else { "up" }, "{states:?}");
        }
        let down = &events[0];
        // Down at the learned share: four clients, a quarter each.
        assert_eq!(down["fallback_share"].as_f64(), Some(0.25), "{down}");
        assert_eq!(down["store"], json!(format!("redis://***@127.0.0.1:{}/0", redis.port)), "{down}");
    }
    // All four registered again with the restarted (empty) Redis: sharing resumed.
    let sharers = redis.query(&["ZCARD", &format!("tcsms:rl:{key}:sharers")]).unwrap();
    assert_eq!(sharers, redis::Value::Int(PROCESSES as i64));
}

/// Not a test: the body of the fork test's process (a process of its own, so that
/// fork() happens with no other test's threads around).
#[test]
#[ignore = "the process of the fork test, run by it"]
fn fork_worker() {
    let spec: Value = serde_json::from_str(&std::env::var(WORKER_ENV).expect(WORKER_ENV)).unwrap();
    let client = Client::from_json(spec["config"].as_str().unwrap()).unwrap();
    let request = format!(
        r#"{{"PhoneNumberSet":["+8613800000001"],"SmsSdkAppId":"{APP}","SignName":"tcsms","TemplateId":"2002","TemplateParamSet":["1"]}}"#
    );
    // The parent has a pooled store connection and has registered before the fork.
    client.call("SendSms", &request).unwrap();
    // SAFETY: the child makes calls on its copy of the client (as a prefork server's
    // worker does) and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        let ok = (0..20).all(|_| client.call("SendSms", &request).is_ok());
        unsafe { libc::_exit(if ok { 0 } else { 3 }) };
    }
    let mut status = 0;
    // SAFETY: waits for the child made above.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    let child_ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    let parent_ok = (0..20).all(|_| client.call("SendSms", &request).is_ok());
    println!("RESULT {}", json!({"child_ok": child_ok, "parent_ok": parent_ok}));
}

#[test]
fn a_forked_child_shares_as_a_client_of_its_own() {
    let emulator = start_emulator();
    let redis = Redis::start(Some(PASSWORD));
    let key = "fork-test";
    let spec = json!({"config": config(&emulator.url, Some(&redis.url()), key)}).to_string();
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["fork_worker", "--exact", "--ignored", "--nocapture", "--test-threads", "1"])
        .env(WORKER_ENV, &spec)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&out.stdout);
    let line = out.lines().find_map(|l| l.split_once("RESULT ").map(|(_, r)| r)).unwrap_or_else(|| panic!("{out}"));
    let result: Value = serde_json::from_str(line).unwrap();
    assert_eq!(result, json!({"child_ok": true, "parent_ok": true}), "{out}");
    // Parent and child registered as two sharers.
    let sharers = redis.query(&["ZCARD", &format!("tcsms:rl:{key}:sharers")]).unwrap();
    assert_eq!(sharers, redis::Value::Int(2));
}

#[test]
fn a_store_that_never_answers_or_refuses_falls_back_within_its_time_limit() {
    let emulator = start_emulator();
    // Accepts connections and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let held = Arc::new(Mutex::new(Vec::new()));
    let holder = held.clone();
    std::thread::spawn(move || {
        for stream in silent.incoming().flatten() {
            holder.lock().unwrap().push(stream);
        }
    });
    let redis = Redis::start(Some(PASSWORD));
    for (url, reason) in [
        (format!("redis://:{PASSWORD}@127.0.0.1:{silent_port}"), "timed out"),
        (format!("redis://:wrong-{PASSWORD}@127.0.0.1:{}", redis.port), "refused by Redis (authentication failed)"),
    ] {
        let client = Client::from_json(&config(&emulator.url, Some(&url), "fallback-test")).unwrap();
        let events = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = events.clone();
        client.set_event_callback(Some(Box::new(move |e: &str| sink.lock().unwrap().push(e.to_owned()))));
        let request = format!(
            r#"{{"PhoneNumberSet":["+8613800000001"],"SmsSdkAppId":"{APP}","SignName":"tcsms","TemplateId":"2002","TemplateParamSet":["1"]}}"#
        );
        let start = Instant::now();
        for _ in 0..5 {
            client.call("SendSms", &request).unwrap();
        }
        // The first call waited for the store's limit (100 ms), the others did not try
        // it again (one probe per 500 ms).
        assert!(start.elapsed() < Duration::from_secs(2), "{:?}", start.elapsed());
        let events = events.lock().unwrap();
        let store_events: Vec<&String> = events.iter().filter(|e| e.contains("rate_limit_store")).collect();
        assert_eq!(store_events.len(), 1, "{events:?}");
        let down: Value = serde_json::from_str(store_events[0]).unwrap();
        assert_eq!((down["state"].as_str(), down["reason"].as_str()), (Some("down"), Some(reason)), "{down}");
        assert_eq!(down["fallback_share"].as_f64(), Some(1.0), "{down}");
        let shown = format!("{events:?} {client:?}");
        assert!(!shown.contains(PASSWORD), "{shown}");
    }
    drop(held);
}

#[test]
fn a_client_reads_the_key_and_shows_no_password() {
    let c = tcsms::Config::from_json(&format!(
        r#"{{"secret_id":"{DEMO_ID}","secret_key":"{DEMO_KEY}","rate_limit_store":"redis://u:{PASSWORD}@127.0.0.1:6399/3","rate_limit_key":"fleet"}}"#
    ))
    .unwrap();
    let store = c.rate_limit_store.as_ref().unwrap();
    assert_eq!((store.key(), store.shown_url()), ("fleet", "redis://***@127.0.0.1:6399/3"));
    assert!(!format!("{c:?}").contains(PASSWORD));
    let e = Client::from_json(&format!(
        r#"{{"secret_id":"{DEMO_ID}","secret_key":"{DEMO_KEY}","rate_limit_store":"redis://u:{PASSWORD}@127.0.0.1:99999"}}"#
    ))
    .unwrap_err();
    assert!(e.message().contains("rate_limit_store") && !e.to_envelope_json().contains(PASSWORD), "{e}");
}

#[test]
fn a_configured_fallback_share_is_used_while_the_store_is_down() {
    let emulator = start_emulator();
    // Nothing listens on this port: every store operation is refused.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let share = 0.05;
    let mut c: Value = serde_json::from_str(&config(
        &emulator.url,
        Some(&format!("redis://:{PASSWORD}@127.0.0.1:{closed}/0")),
        "share-test",
    ))
    .unwrap();
    c["rate_limit_store_fallback_share"] = json!(share);
    let client = Arc::new(Client::from_json(&c.to_string()).unwrap());
    let events = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = events.clone();
    client.set_event_callback(Some(Box::new(move |e: &str| {
        if e.contains(r#""event":"rate_limit_store""#) {
            sink.lock().unwrap().push(e.to_owned());
        }
    })));
    let request = format!(
        r#"{{"PhoneNumberSet":["+8613800000001"],"SmsSdkAppId":"{APP}","SignName":"tcsms","TemplateId":"2002","TemplateParamSet":["1"]}}"#
    );
    // 4 threads for 1.5 s: at 5 % of SHARED_LIMIT (a burst of one) a dozen or two
    // calls; at the whole limit (a share of 1, what a client that never reached the
    // store uses by default) twenty times as many.
    let ok = AtomicU64::new(0);
    let start = Instant::now();
    let window = Duration::from_millis(1500);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                while start.elapsed() < window {
                    match client.call("SendSms", &request) {
                        Ok(_) => {
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                        // A slot beyond the call's time limit (5 s) is never waited for.
                        Err(e) => panic!("{}: {}", e.code(), e.message()),
                    }
                }
            });
        }
    });
    let elapsed = start.elapsed().as_secs_f64();
    let ok = ok.load(Ordering::Relaxed) as f64;
    let allowed = 1.0 + SHARED_LIMIT * share * elapsed;
    println!("store down, fallback share {share}: {ok} calls in {elapsed:.2} s (the share allows {allowed:.1})");
    assert!(ok <= allowed + 1.0, "{ok} calls in {elapsed:.2} s at a share of {share} of {SHARED_LIMIT}/s");
    assert!(ok >= 5.0, "{ok} calls in {elapsed:.2} s");
    let events = events.lock().unwrap();
    assert_eq!(events.len(), 1, "one transition, one event: {events:?}");
    let down: Value = serde_json::from_str(&events[0]).unwrap();
    assert_eq!(down["state"], "down", "{down}");
    assert_eq!(down["reason"], "connection refused", "{down}");
    assert_eq!(down["fallback_share"].as_f64(), Some(share), "{down}");
    assert!(!format!("{events:?} {client:?}").contains(PASSWORD));
}
