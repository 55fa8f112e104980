//! Stress and soak (issue 10, item 5), through the C ABI as a C caller uses it, against the
//! emulator on 127.0.0.1 with rate limits off (the emulator's and the client's own):
//!
//! - many threads share one client: every call succeeds, and the process's resident memory
//!   and open file descriptors after the run are what they were before it (after a warm-up
//!   round that fills the connection pool, the allocator's arenas and glibc's stack cache);
//! - clients created, used once and freed in a loop: memory and descriptors stay flat.
//!
//! Sizes come from the environment. The defaults are the bounded CI run (64 threads x 1,000
//! calls, 2,000 cycles); `scripts/soak.sh` runs the full size (64 x 10,000, 10,000 cycles).
//! Tolerances: TCSMS_STRESS_RSS_MIB (default 4) MiB of resident memory, TCSMS_STRESS_FDS
//! (default 4) descriptors.
//!
//! The emulator is `$TCSMS_EMULATOR`, else the one cargo built beside this test, else
//! `target/release/tcsms-emulator`.

use std::ffi::{c_char, CStr, CString};
use std::path::Path;
use std::ptr;
use std::time::Instant;

// Links the library, whose exported C functions the declarations below resolve to.
extern crate tcsms;

#[path = "support/emulator.rs"]
mod emulator;
use emulator::Emulator;

#[repr(C)]
struct TcsmsClient {
    _opaque: [u8; 0],
}

extern "C" {
    fn tcsms_client_new(
        config_json: *const c_char,
        out_client: *mut *mut TcsmsClient,
        out_json: *mut *mut c_char,
    ) -> i32;
    fn tcsms_client_free(client: *mut TcsmsClient);
    fn tcsms_call(
        client: *const TcsmsClient,
        action: *const c_char,
        request_json: *const c_char,
        out_json: *mut *mut c_char,
    ) -> i32;
    fn tcsms_free(s: *mut c_char);
}

const DEMO_ID: &str = "AKIDtcsmsdemo00000000000000000000000";
const DEMO_KEY: &str = "tcsmsdemosecretkey00000000000000";
const APP: &str = "1400000001";

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// The emulator with rate limits off.
fn start_emulator() -> Emulator {
    let path = emulator::find(Path::new(env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|| panic!("no tcsms-emulator: run `cargo build --release` first, or set TCSMS_EMULATOR"));
    Emulator::spawn(&path, &["--rate-limit", "all=0", "--app-id", APP])
}

/// A client handle that may be shared between threads (the library documents it so).
#[derive(Clone, Copy)]
struct Handle(*mut TcsmsClient);
unsafe impl Send for Handle {}
unsafe impl Sync for Handle {}

fn new_client(endpoint: &str) -> Handle {
    let config = CString::new(format!(
        r#"{{"secret_id":"{DEMO_ID}","secret_key":"{DEMO_KEY}","endpoint":"{endpoint}","timeout_ms":10000,"rate_limits":{{"*":0}}}}"#
    ))
    .unwrap();
    let mut client = ptr::null_mut();
    let mut out = ptr::null_mut();
    let status = unsafe { tcsms_client_new(config.as_ptr(), &mut client, &mut out) };
    assert_eq!(status, 0, "{:?}", take(out));
    Handle(client)
}

/// Reads and frees a string from the library.
fn take(out: *mut c_char) -> Option<String> {
    if out.is_null() {
        return None;
    }
    let text = unsafe { CStr::from_ptr(out) }.to_string_lossy().into_owned();
    unsafe { tcsms_free(out) };
    Some(text)
}

/// One call; `Err` with the status and the envelope when it fails.
fn call(client: Handle, action: &CStr, request: &CStr) -> Result<String, (i32, String)> {
    let mut out = ptr::null_mut();
    let status = unsafe { tcsms_call(client.0, action.as_ptr(), request.as_ptr(), &mut out) };
    let text = take(out).unwrap_or_default();
    if status == 0 {
        Ok(text)
    } else {
        Err((status, text))
    }
}

/// Sends one message and returns its SerialNo, which ReportConversion then reports on.
fn serial_no(client: Handle) -> String {
    let request = format!(
        r#"{{"PhoneNumberSet":["+8613800000001"],"SmsSdkAppId":"{APP}","SignName":"tcsms","TemplateId":"2002","TemplateParamSet":["stress-1"]}}"#
    );
    let answer = call(client, c"SendSms", &CString::new(request).unwrap()).expect("SendSms");
    let value: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let status = &value["Response"]["SendStatusSet"][0];
    assert_eq!(status["Code"], "Ok", "{answer}");
    status["SerialNo"].as_str().expect("a SerialNo").to_owned()
}

fn report_request(serial: &str) -> CString {
    CString::new(format!(r#"{{"SmsSdkAppId":"{APP}","SerialNo":"{serial}"}}"#)).unwrap()
}

/// Resident memory (bytes) and open descriptors of this process.
#[derive(Debug, Clone, Copy)]
struct Usage {
    rss: u64,
    fds: u64,
}

fn usage() -> Usage {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).expect("resident pages");
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
    let fds = std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd").count() as u64;
    Usage { rss: pages * page, fds }
}

/// Asserts that `after` stays within the tolerances of `before`, allowing on top
/// `connections` more open connections (a descriptor and 256 KiB each) that a pool
/// may still open without leaking, and `turnover_mib` for the buffers of connections
/// the pool replaces (see the call).
fn assert_flat(what: &str, before: Usage, after: Usage, connections: u64, turnover_mib: u64) {
    let rss_mib = env_number("TCSMS_STRESS_RSS_MIB", 4) + connections.div_ceil(4) + turnover_mib;
    let fds = env_number("TCSMS_STRESS_FDS", 4) + connections;
    eprintln!(
        "{what}: RSS {:.1} -> {:.1} MiB, fds {} -> {}",
        before.rss as f64 / 1048576.0,
        after.rss as f64 / 1048576.0,
        before.fds,
        after.fds
    );
    assert!(
        after.rss <= before.rss + (rss_mib << 20),
        "{what}: RSS grew more than {rss_mib} MiB: {before:?} -> {after:?}"
    );
    assert!(after.fds <= before.fds + fds, "{what}: open descriptors grew by more than {fds}: {before:?} -> {after:?}");
}

/// `threads` threads make `calls` ReportConversion calls each on `client`; returns the failures.
fn round(client: Handle, threads: u64, calls: u64, serial: &str) -> Vec<(i32, String)> {
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let request = report_request(serial);
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                for _ in 0..calls {
                    if let Err(failure) = call(client, c"ReportConversion", &request) {
                        failures.push(failure);
                    }
                }
                failures
            })
        })
        .collect();
    workers.into_iter().flat_map(|w| w.join().expect("worker thread")).collect()
}

// The two tests measure the whole process, so they run one after the other in one test.
#[test]
fn stress_threads_then_create_free_cycles_stay_flat() {
    let emulator = start_emulator();
    let threads = env_number("TCSMS_STRESS_THREADS", 64);
    let calls = env_number("TCSMS_STRESS_CALLS", 1000);
    let cycles = env_number("TCSMS_STRESS_CYCLES", 2000);

    // 1. Many threads, one client.
    let base = usage();
    let client = new_client(&emulator.url);
    let serial = serial_no(client);
    // Warm up until the pool holds a connection per thread: on a loaded machine one
    // round may not have had every thread in flight at once.
    let pool = 128; // http.rs MAX_IDLE_CONNECTIONS
    let pooled = base.fds + threads.min(pool);
    for _ in 0..5 {
        let warm = round(client, threads, calls.min(50), &serial);
        assert!(warm.is_empty(), "{} warm-up calls failed, first: {:?}", warm.len(), warm.first());
        if usage().fds >= pooled {
            break;
        }
    }
    // Then one round of the measured size: the pool's turnover reaches its steady state
    // (a connection rests after each answer, so 64 threads against the emulator need
    // more connections than the pool keeps, and it replaces some; their buffers may come
    // from another malloc arena). RSS then stays within a few MiB however long the
    // measured round is (5 MiB both after 64,000 and after 192,000 calls, measured), and a
    // leak still grows with the calls.
    let settle = round(client, threads, calls, &serial);
    assert!(settle.is_empty(), "{} calls failed before measuring, first: {:?}", settle.len(), settle.first());
    let before = usage();
    let started = Instant::now();
    let failures = round(client, threads, calls, &serial);
    let elapsed = started.elapsed();
    let after = usage();
    let total = threads * calls;
    eprintln!(
        "{threads} threads x {calls} calls: {total} calls in {:.1} s ({:.0}/s), {} failed",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        failures.len()
    );
    assert!(failures.is_empty(), "{} of {total} calls failed, first: {:?}", failures.len(), failures.first());
    // The main round may open what the pool can still hold (a descriptor and its
    // buffers each): threads' connections that the warm-up left unopened, and more
    // than one per thread, since a connection rests after each answer. And the pool
    // keeps replacing connections at this load: a new one's 128 KiB of buffers may come
    // from another thread's malloc arena than the one it replaced freed to, so a
    // quarter of the pool's buffers (4 MiB) is allowed on top (up to 4.6 MiB of growth
    // measured with a CPU hog beside, none of it growing with the number of calls).
    // A leak of more than 130 bytes per call still fails.
    let unopened = (base.fds + pool).saturating_sub(before.fds);
    assert_flat("threads", before, after, unopened, (pool / 4) * 128 / 1024);
    unsafe { tcsms_client_free(client.0) };

    // 2. Create, call once, free: each cycle opens a connection and must close it.
    let request = report_request(&serial);
    let cycle = || {
        let client = new_client(&emulator.url);
        call(client, c"ReportConversion", &request).expect("ReportConversion on a fresh client");
        unsafe { tcsms_client_free(client.0) };
    };
    (0..100).for_each(|_| cycle());
    let before = usage();
    let started = Instant::now();
    (0..cycles).for_each(|_| cycle());
    let after = usage();
    eprintln!("{cycles} create/call/free cycles in {:.1} s", started.elapsed().as_secs_f64());
    assert_flat("create/free", before, after, 0, 0);
}
