//! Memory against servers that send without end (tests/support/stamped.rs): a chunked
//! answer whose second chunk size is `ffffffffffffffff` (it used to wrap the body limit
//! away), chunks without end, and an answer read until close that never closes. The
//! peak resident memory of this process (its own test binary, so no other test shares
//! it) must stay within the 16 MiB body limit (twice: a growing buffer doubles) plus a
//! constant per call in flight. The figures are printed (`-- --nocapture`).

#[path = "support/stamped.rs"]
mod stamped;

use stamped::{send_stamped, Mode, Outcome, Stamped};

const MIB: u64 = 1 << 20;
const BODY_LIMIT: u64 = 16 * MIB;

/// The constant allowed beyond the body limit: 16 MiB, or `TCSMS_HOSTILE_RSS_SLACK_MIB`
/// (scripts/sanitize.sh lifts it: under ASan resident memory is the sanitizer's, whose
/// quarantine keeps freed buffers; the error checks still run there).
fn slack() -> u64 {
    std::env::var("TCSMS_HOSTILE_RSS_SLACK_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(16) * MIB
}

/// The process's peak resident memory (VmHWM), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    kb * 1024
}

fn client(url: &str) -> tcsms::Client {
    tcsms::Client::from_json(&format!(
        r#"{{"secret_id":"AKIDmemory","secret_key":"HostileMemorySecretKey00","endpoint":"{url}","timeout_ms":3000,"max_retries":0}}"#
    ))
    .expect("client")
}

fn failed(outcome: Outcome) -> String {
    match outcome {
        Outcome::Failed(why) => why,
        other => panic!("a server that never stops cannot give an answer: {other:?}"),
    }
}

#[test]
fn memory_stays_bounded_whatever_the_server_sends() {
    let before = peak_rss();
    for mode in [Mode::ChunkedOverflow, Mode::EndlessChunks, Mode::EndlessUntilClose] {
        let server = Stamped::start(mode, 0);
        let why = failed(send_stamped(&client(&server.url()), "m0", 0));
        let grown = peak_rss().saturating_sub(before);
        eprintln!("{mode:?} sequential: peak grew by {} MiB; {why}", grown / MIB);
        assert!(why.contains("larger than"), "{mode:?}: {why}");
        assert!(grown <= 2 * BODY_LIMIT + slack(), "{mode:?}: peak grew by {} MiB", grown / MIB);
    }
    // 8 calls at once, each against its own server (which misbehaves at its first
    // request) and a chunk size of ffffffffffffffff.
    let threads: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                let server = Stamped::start(Mode::ChunkedOverflow, 0);
                failed(send_stamped(&client(&server.url()), &format!("m{t}"), t))
            })
        })
        .collect();
    for thread in threads {
        let why = thread.join().expect("thread");
        assert!(why.contains("larger than"), "{why}");
    }
    let grown = peak_rss().saturating_sub(before);
    eprintln!("ChunkedOverflow 8 threads: peak grew by {} MiB", grown / MIB);
    assert!(grown <= 8 * (2 * BODY_LIMIT) + slack(), "8 threads: peak grew by {} MiB", grown / MIB);
}
