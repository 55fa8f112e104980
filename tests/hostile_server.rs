//! The hostile-server suite: a server that stamps each answer with the request it
//! answers (tests/support/stamped.rs) misbehaves once, at a chosen request, while one
//! client drives it sequentially and from 8 threads. Each call's outcome is its own
//! answer, an answer that is not its own (crossed), or an error. The contract (see
//! docs/architecture.md, "Answers belong to their request"):
//! - a late body after a 204, a stray 408, foreign numbers, an extra 200 or an answer
//!   written before the request never make a SendSms return an answer not its own (its
//!   numbers tie it to its request), and one misbehaviour affects at most two calls;
//! - ReportConversion, whose answers carry nothing of the request, is measured for the
//!   extra 200 (the limit documented).
//!
//! The figures are printed (`cargo test --release --test hostile_server -- --nocapture`).

#[path = "support/stamped.rs"]
mod stamped;

use stamped::{report_stamped, send_stamped, Mode, Outcome, Stamped};

/// Calls per run: sequential, and per thread with 8 threads.
const SEQUENTIAL: usize = 200;
const THREADS: usize = 8;
const PER_THREAD: usize = 100;
/// The request at which the server misbehaves (after the pool has warmed up).
const SEQUENTIAL_AT: usize = 50;
const THREADED_AT: usize = 200;

fn client(url: &str) -> tcsms::Client {
    tcsms::Client::from_json(&format!(
        r#"{{"secret_id":"AKIDhostile","secret_key":"HostileSuiteSecretKey000","endpoint":"{url}","timeout_ms":3000,"max_retries":0,
            "rate_limits":{{"SendSms":100000,"ReportConversion":100000}}}}"#
    ))
    .expect("client")
}

#[derive(Debug, Default)]
struct Tally {
    own: usize,
    crossed: Vec<String>,
    failed: Vec<String>,
}

impl Tally {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Own => self.own += 1,
            Outcome::Crossed(stamp) => self.crossed.push(stamp),
            Outcome::Failed(why) => self.failed.push(why),
        }
    }
    fn affected(&self) -> usize {
        self.crossed.len() + self.failed.len()
    }
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Send,
    Report,
}

fn call(client: &tcsms::Client, action: Action, thread: usize, i: usize) -> Outcome {
    let stamp = format!("t{thread}-c{i}");
    match action {
        Action::Send => send_stamped(client, &stamp, thread * 10_000 + i),
        Action::Report => report_stamped(client, &stamp),
    }
}

/// `action` under `mode` from `threads` threads of `calls` calls each (thread `t`'s stamps
/// `t{t}-c{i}`), the server misbehaving at request `at`; the figures printed under `label`.
fn drive(mode: Mode, action: Action, at: usize, threads: usize, calls: usize, label: &str) -> Tally {
    let server = Stamped::start(mode, at);
    let client = client(&server.url());
    let tallies: Vec<Tally> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let client = &client;
                s.spawn(move || {
                    let mut tally = Tally::default();
                    for i in 0..calls {
                        tally.add(call(client, action, t, i));
                    }
                    tally
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("worker")).collect()
    });
    let mut tally = Tally::default();
    for t in tallies {
        tally.own += t.own;
        tally.crossed.extend(t.crossed);
        tally.failed.extend(t.failed);
    }
    eprintln!(
        "{mode:?} {action:?} {label}: {} own, {} crossed {:?}, {} failed {:?}",
        tally.own,
        tally.crossed.len(),
        tally.crossed.iter().take(5).collect::<Vec<_>>(),
        tally.failed.len(),
        tally.failed.iter().take(5).collect::<Vec<_>>()
    );
    tally
}

/// `action` under `mode` driven sequentially (one thread), then from 8 threads.
fn sequential_and_threaded(mode: Mode, action: Action) -> [Tally; 2] {
    [
        drive(mode, action, SEQUENTIAL_AT, 1, SEQUENTIAL, "sequential"),
        drive(mode, action, THREADED_AT, THREADS, PER_THREAD, "8 threads"),
    ]
}

/// SendSms under `mode`, sequentially and from 8 threads: no answer that is not its
/// own, at most `max_affected` calls affected.
fn sends_keep_their_own_answers(mode: Mode, max_affected: usize) {
    for tally in sequential_and_threaded(mode, Action::Send) {
        assert!(tally.crossed.is_empty(), "{mode:?}: answers not their own: {:?}", tally.crossed);
        assert!(tally.affected() <= max_affected, "{mode:?}: {} calls affected", tally.affected());
    }
}

/// ReportConversion under `mode`, sequentially and from 8 threads: at most two calls
/// affected.
fn reports_affect_at_most_two(mode: Mode) {
    for tally in sequential_and_threaded(mode, Action::Report) {
        assert!(tally.affected() <= 2, "{mode:?}: {} calls affected", tally.affected());
    }
}

#[test]
fn a_clean_server_answers_every_call_with_its_own_answer() {
    for action in [Action::Send, Action::Report] {
        for tally in sequential_and_threaded(Mode::Clean, action) {
            assert_eq!(tally.affected(), 0, "{action:?}");
        }
    }
}

#[test]
fn a_late_body_after_a_204_is_never_taken_for_the_next_answer() {
    sends_keep_their_own_answers(Mode::BodyAfter204, 1);
}

#[test]
fn a_stray_408_is_never_taken_for_the_next_answer() {
    for delay in [0, 2] {
        sends_keep_their_own_answers(Mode::Stray408(delay), 2);
    }
}

#[test]
fn foreign_numbers_are_refused_not_assigned() {
    sends_keep_their_own_answers(Mode::ForeignNumbers, 1);
}

#[test]
fn an_extra_200_affects_at_most_two_sends() {
    for delay in [0, 2] {
        sends_keep_their_own_answers(Mode::ExtraAnswer(delay), 2);
    }
}

#[test]
fn an_answer_written_before_the_request_affects_at_most_two_sends() {
    sends_keep_their_own_answers(Mode::EarlyAnswer, 2);
}

/// ReportConversion answers carry nothing of the request: an extra 200 that lands after
/// every check can be taken for the next answer. Measured; the bound documented in
/// docs/architecture.md is two calls per extra answer.
#[test]
fn an_extra_200_affects_at_most_two_reports() {
    for delay in [0, 2] {
        reports_affect_at_most_two(Mode::ExtraAnswer(delay));
    }
}

#[test]
fn an_extra_200_for_no_request_affects_at_most_two_sends() {
    for delay in [0, 2] {
        sends_keep_their_own_answers(Mode::ExtraOther(delay), 2);
    }
}

#[test]
fn an_extra_200_for_no_request_shifts_reports_measured() {
    for delay in [0, 2] {
        reports_affect_at_most_two(Mode::ExtraOther(delay));
    }
}

#[test]
fn a_proxy_that_adds_headers_does_not_make_sends_unknown() {
    for tally in sequential_and_threaded(Mode::ManyHeaders, Action::Send) {
        assert_eq!(tally.affected(), 0);
    }
}
