//! `--callback-url URL`: the emulator POSTs delivery reports and replies to the
//! customer's URL, as the service does (protocol.md §11).
//!
//! - A delivery report is POSTed when it exists (`--report-delay-ms` after the send), as
//!   a JSON **array**; the reports that become due together (one SendSms to several
//!   numbers) go in one request, at most [`MAX_REPORTS_PER_POST`].
//! - A reply (from `--auto-reply` or `POST /_emulator/replies`) is POSTed at its reply
//!   time as one JSON **object**.
//! - The receiver must answer HTTP 200 with a JSON object whose `result` is 0 (the
//!   service documents `{"result": 0, "errmsg": "OK"}`). Anything else (another status,
//!   another body, no answer within [`TIMEOUT`], a refused connection) is a failure; a
//!   failed request is sent again after 1 s, 2 s and 4 s, then dropped (the service does
//!   not document its retry policy; this one is the emulator's).
//! - Requests are sent by one background thread, one at a time: the API never waits for
//!   a callback. At most [`MAX_PENDING`] callbacks wait; beyond that new ones are dropped,
//!   with a line on stderr.

use crate::clock::Clock;
use crate::model::state::{Message, Reply};
use serde_json::{json, Value};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};

/// How long one callback request may take, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// Pauses before the retries of a failed callback request.
pub const RETRY_PAUSES: [Duration; 3] = [Duration::from_secs(1), Duration::from_secs(2), Duration::from_secs(4)];
/// Callbacks waiting to be sent, at most.
pub const MAX_PENDING: usize = 10_000;
/// Delivery reports in one request, at most.
pub const MAX_REPORTS_PER_POST: usize = 100;

/// Checks a `--callback-url` value.
pub fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("--callback-url must start with http:// or https://, got {url:?}"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || url.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control()) {
        return Err(format!("--callback-url must be a URL like http://127.0.0.1:8080/sms/callback, got {url:?}"));
    }
    Ok(())
}

enum Payload {
    Report(Value),
    Reply(Value),
}

struct Job {
    due: Instant,
    /// Failed requests so far.
    failures: usize,
    payload: Payload,
}

/// The queue of callbacks to send; cheap to call while the state is locked.
pub struct Outbox {
    tx: SyncSender<Job>,
    /// The emulator's clock (ms) at `start`: times map to instants from there, so that
    /// reports of the same time are due at the same instant.
    start_ms: u64,
    start: Instant,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").finish_non_exhaustive()
    }
}

impl Outbox {
    /// Starts the sending thread; it ends when the outbox is dropped.
    pub fn start(url: String, clock: Clock) -> Result<Outbox, String> {
        check_url(&url)?;
        let (tx, rx) = mpsc::sync_channel(MAX_PENDING);
        std::thread::Builder::new()
            .name("callbacks".into())
            .spawn(move || Sender::new(url).run(rx))
            .map_err(|e| format!("cannot start the callback thread: {e}"))?;
        Ok(Outbox { tx, start_ms: clock.now_ms(), start: Instant::now() })
    }

    fn due(&self, at_ms: u64) -> Instant {
        self.start + Duration::from_millis(at_ms.saturating_sub(self.start_ms))
    }

    fn push(&self, job: Job) {
        if let Err(TrySendError::Full(_)) = self.tx.try_send(job) {
            eprintln!("tcsms-emulator: {MAX_PENDING} callbacks are waiting; one more was dropped");
        }
    }

    /// Queues the delivery report of `message` for its report time.
    pub fn report(&self, message: &Message) {
        let (status, code) = message.delivery_report();
        let description = if message.delivered { "user received the message" } else { "the message was not delivered" };
        let report = json!({
            "user_receive_time": beijing_time(message.report_ms / 1000),
            "nationcode": message.nation_code,
            "mobile": message.subscriber,
            "report_status": status,
            "errmsg": code,
            "description": description,
            "sid": message.serial_no,
        });
        self.push(Job { due: self.due(message.report_ms), failures: 0, payload: Payload::Report(report) });
    }

    /// Queues `reply` for its reply time.
    pub fn reply(&self, reply: &Reply) {
        let body = json!({
            "extend": reply.extend_code,
            "mobile": reply.subscriber,
            "nationcode": reply.nation_code,
            "sign": reply.sign_name,
            "text": reply.content,
            "time": reply.reply_ms / 1000,
        });
        self.push(Job { due: self.due(reply.reply_ms), failures: 0, payload: Payload::Reply(body) });
    }
}

/// `YYYY-MM-DD HH:MM:SS` in China Standard Time (UTC+8), as the service writes
/// `user_receive_time`.
pub fn beijing_time(unix_secs: u64) -> String {
    let secs = unix_secs as i64 + 8 * 3600;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = tcsms::sign::civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// A request that is due: its body and the jobs it carries (to retry together).
struct Batch {
    body: String,
    jobs: Vec<Job>,
}

struct Sender {
    url: String,
    agent: ureq::Agent,
    /// Jobs by due time (then by arrival).
    waiting: BinaryHeap<Reverse<(Instant, u64)>>,
    jobs: std::collections::HashMap<u64, Job>,
    next: u64,
}

impl Sender {
    fn new(url: String) -> Sender {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(TIMEOUT))
            .user_agent(concat!("tcsms-emulator/", env!("CARGO_PKG_VERSION")))
            .build();
        Sender { url, agent: config.into(), waiting: BinaryHeap::new(), jobs: Default::default(), next: 0 }
    }

    fn add(&mut self, job: Job) {
        self.waiting.push(Reverse((job.due, self.next)));
        self.jobs.insert(self.next, job);
        self.next += 1;
    }

    fn run(mut self, rx: Receiver<Job>) {
        loop {
            let wait = match self.waiting.peek() {
                Some(Reverse((due, _))) => due.saturating_duration_since(Instant::now()),
                None => Duration::from_secs(3600),
            };
            match rx.recv_timeout(wait) {
                Ok(job) => {
                    self.add(job);
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => {}
            }
            while let Some(batch) = self.next_batch() {
                self.send(batch);
            }
        }
    }

    /// The due jobs for one request: one reply, or up to MAX_REPORTS_PER_POST reports.
    fn next_batch(&mut self) -> Option<Batch> {
        let now = Instant::now();
        let mut jobs: Vec<Job> = Vec::new();
        while let Some(Reverse((due, id))) = self.waiting.peek().copied() {
            if due > now || jobs.len() >= MAX_REPORTS_PER_POST {
                break;
            }
            let is_reply = matches!(self.jobs.get(&id).map(|j| &j.payload), Some(Payload::Reply(_)));
            if is_reply && !jobs.is_empty() {
                break;
            }
            self.waiting.pop();
            jobs.extend(self.jobs.remove(&id));
            if is_reply {
                break;
            }
        }
        let body = match jobs.first()?.payload {
            Payload::Reply(ref reply) => reply.to_string(),
            Payload::Report(_) => Value::Array(
                jobs.iter()
                    .filter_map(|j| match &j.payload {
                        Payload::Report(r) => Some(r.clone()),
                        Payload::Reply(_) => None,
                    })
                    .collect(),
            )
            .to_string(),
        };
        Some(Batch { body, jobs })
    }

    fn send(&mut self, batch: Batch) {
        let outcome = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json")
            .send(batch.body.as_bytes())
            .map_err(|e| e.to_string())
            .and_then(|response| {
                let status = response.status().as_u16();
                let body = response.into_body().with_config().limit(64 << 10).read_to_string().unwrap_or_default();
                acknowledged(status, &body)
            });
        let Err(why) = outcome else {
            return;
        };
        let failures = batch.jobs.first().map_or(0, |j| j.failures) + 1;
        match RETRY_PAUSES.get(failures - 1) {
            Some(pause) => {
                eprintln!("tcsms-emulator: callback to {} failed ({why}); retrying in {pause:?}", self.url);
                let due = Instant::now() + *pause;
                for job in batch.jobs {
                    self.add(Job { due, failures, ..job });
                }
            }
            None => eprintln!(
                "tcsms-emulator: callback to {} failed ({why}) {failures} times; dropped {} callback(s)",
                self.url,
                batch.jobs.len()
            ),
        }
    }
}

/// Whether the receiver acknowledged: HTTP 200 with `{"result": 0, ...}`.
pub fn acknowledged(status: u16, body: &str) -> Result<(), String> {
    if status != 200 {
        return Err(format!("HTTP status {status}"));
    }
    let answer: Value = serde_json::from_str(body).map_err(|_| "the answer is not JSON".to_owned())?;
    match answer.get("result").and_then(Value::as_i64) {
        Some(0) => Ok(()),
        Some(n) => Err(format!("result {n}: {}", answer.get("errmsg").and_then(Value::as_str).unwrap_or(""))),
        None => Err("the answer has no numeric `result`".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_in_beijing_time() {
        assert_eq!(beijing_time(0), "1970-01-01 08:00:00");
        assert_eq!(beijing_time(1_620_734_188), "2021-05-11 19:56:28");
        assert_eq!(beijing_time(951_825_600), "2000-02-29 20:00:00");
    }

    #[test]
    fn only_result_zero_acknowledges() {
        assert!(acknowledged(200, r#"{"result":0,"errmsg":"OK"}"#).is_ok());
        assert!(acknowledged(200, r#"{"result":1,"errmsg":"busy"}"#).unwrap_err().contains("busy"));
        assert!(acknowledged(500, r#"{"result":0}"#).is_err());
        assert!(acknowledged(200, "OK").is_err());
        assert!(acknowledged(200, r#"{"result":"0"}"#).is_err());
    }

    #[test]
    fn urls_are_checked() {
        assert!(check_url("http://127.0.0.1:8080/cb").is_ok());
        for bad in ["127.0.0.1:8080", "ftp://x", "http://", "http://a b"] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
