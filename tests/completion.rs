//! The completion queue (asynchronous calls) against the emulator: many concurrent
//! submissions each matched to its answer, the queue-full error, and a client released
//! while its calls are pending.

use std::sync::Arc;
use std::time::{Duration, Instant};
use tcsms::completion::{CompletionQueue, QueueOptions};
use tcsms::error::codes;
use tcsms::{Client, ErrorKind};

#[path = "support/emulator.rs"]
mod emulator;
use emulator::Emulator;

fn emulator() -> Emulator {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let binary = emulator::find(root).expect("tcsms-emulator (cargo build --release first)");
    Emulator::spawn(&binary, &["--rate-limit", "all=0"])
}

fn client(url: &str) -> Arc<Client> {
    let config = format!(
        r#"{{"secret_id":"AKIDtcsmsdemo00000000000000000000000","secret_key":"tcsmsdemosecretkey00000000000000","endpoint":"{url}","max_retries":0}}"#
    );
    Arc::new(Client::from_json(&config).unwrap())
}

fn send_sms(phone: &str) -> String {
    format!(
        r#"{{"PhoneNumberSet":["{phone}"],"SmsSdkAppId":"1400000001","TemplateId":"2001","SignName":"tcsms","TemplateParamSet":["1234","5"]}}"#
    )
}

fn wait_readable(fd: i32, within: Duration) -> bool {
    let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one live pollfd.
    unsafe { libc::poll(&mut pfd, 1, within.as_millis() as i32) == 1 }
}

/// Takes `n` completions, waiting on the fd as an event loop would.
fn collect(queue: &CompletionQueue, n: usize) -> Vec<(u64, Result<String, tcsms::Error>)> {
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while out.len() < n {
        assert!(Instant::now() < deadline, "only {} of {n} completions", out.len());
        if !wait_readable(queue.fd(), Duration::from_secs(10)) {
            continue;
        }
        while let Some(done) = queue.next() {
            let result = done.result.map_err(|failure| failure.error().cloned().expect("no worker panics"));
            out.push((done.tag, result));
        }
    }
    assert!(queue.next().is_none());
    out
}

#[test]
fn many_concurrent_calls_each_get_their_own_answer() {
    let emu = emulator();
    let client = client(&emu.url);
    let queue = CompletionQueue::new(QueueOptions { workers: 8, capacity: 300, ..Default::default() }).unwrap();
    let n = 300u64;
    for tag in 0..n {
        let phone = format!("+86138{:08}", tag);
        queue.submit(Arc::clone(&client), "SendSms", &send_sms(&phone), None, tag).unwrap();
    }
    let mut done = collect(&queue, n as usize);
    done.sort_by_key(|(tag, _)| *tag);
    for (i, (tag, result)) in done.iter().enumerate() {
        assert_eq!(*tag, i as u64);
        let body = result.as_ref().unwrap_or_else(|e| panic!("call {tag}: {e:?}"));
        assert!(body.contains(&format!("\"PhoneNumber\":\"+86138{:08}\"", tag)), "call {tag} got {body}");
    }
}

#[test]
fn a_full_queue_refuses_until_completions_are_taken() {
    let emu = emulator();
    let client = client(&emu.url);
    let queue = CompletionQueue::new(QueueOptions { workers: 2, capacity: 4, ..Default::default() }).unwrap();
    for tag in 0..4 {
        queue.submit(Arc::clone(&client), "SendSms", &send_sms(&format!("+86139{tag:08}")), None, tag).unwrap();
    }
    let full = queue.submit(Arc::clone(&client), "SendSms", &send_sms("+8613900000099"), None, 99).unwrap_err();
    assert_eq!((full.kind(), full.code()), (ErrorKind::InvalidArgument, codes::QUEUE_FULL));
    // Finished but not taken still counts as pending.
    std::thread::sleep(Duration::from_millis(300));
    assert!(queue.submit(Arc::clone(&client), "SendSms", "{}", None, 98).is_err());
    let done = collect(&queue, 4);
    assert!(done.iter().all(|(_, r)| r.is_ok()), "{done:?}");
    queue.submit(client, "SendSms", &send_sms("+8613900000099"), None, 99).unwrap();
    let last = collect(&queue, 1);
    assert_eq!(last[0].0, 99);
}

#[test]
fn a_client_released_with_pending_calls_still_completes_them() {
    let emu = emulator();
    let queue = CompletionQueue::new(QueueOptions { workers: 4, capacity: 64, ..Default::default() }).unwrap();
    {
        let client = client(&emu.url);
        for tag in 0..32 {
            queue.submit(Arc::clone(&client), "SendSms", &send_sms(&format!("+86137{tag:08}")), None, tag).unwrap();
        }
    } // the caller's reference is gone; the queue holds the client for its calls
    let done = collect(&queue, 32);
    assert_eq!(done.iter().filter(|(_, r)| r.is_ok()).count(), 32, "{done:?}");
}

#[test]
fn time_limits_hold_for_queued_calls() {
    // The emulator with a fault that never answers would need a flag; a listener that
    // accepts and stays silent is the same for the client.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = client(&format!("http://{}", silent.local_addr().unwrap()));
    let queue = CompletionQueue::new(QueueOptions { workers: 2, capacity: 16, ..Default::default() }).unwrap();
    let started = Instant::now();
    for tag in 0..10 {
        queue
            .submit(Arc::clone(&client), "SendSms", &send_sms("+8613600000000"), Some(Duration::from_millis(250)), tag)
            .unwrap();
    }
    let done = collect(&queue, 10);
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1500), "10 calls limited to 250 ms took {took:?}");
    assert!(done.iter().all(|(_, r)| r.as_ref().unwrap_err().kind() == ErrorKind::Timeout), "{done:?}");
}
