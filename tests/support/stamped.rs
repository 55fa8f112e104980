//! A keep-alive HTTP/1.1 server on 127.0.0.1 that stamps each answer with the request
//! it answers, and misbehaves once, at a chosen request, in a chosen way: for the
//! hostile-server suite (tests/hostile_server.rs, tests/hostile_memory.rs).
//!
//! The stamp of a request is its `SessionContext` (SendSms) or `SerialNo`
//! (ReportConversion); an answer carries it as its `RequestId`, and a SendSms answer
//! lists the request's own numbers. A caller compares the stamp of the answer it got
//! with the stamp it sent: a difference is an answer that is not its own.
// Each includer uses a different part of this module.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How the server misbehaves at the chosen request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Never.
    Clean,
    /// Answers, then writes a second 200 for the same request after `0` ms.
    ExtraAnswer(u64),
    /// Answers, then writes a second 200 after `0` ms that answers no request (stamped
    /// `other`, with its own RequestId and a number never sent).
    ExtraOther(u64),
    /// Answers `204 No Content`, then writes the whole 200 answer as if it were its body.
    BodyAfter204,
    /// Answers, then writes an unsolicited `408 Request Timeout` after `0` ms.
    Stray408(u64),
    /// Writes an answer (stamped `early`) on the first connection before reading its
    /// first request (`at` does not matter).
    EarlyAnswer,
    /// Answers with numbers that were never sent, stamped `foreign`.
    ForeignNumbers,
    /// A chunked answer of one byte, then a chunk size of `ffffffffffffffff`, then bytes
    /// for as long as the client reads.
    ChunkedOverflow,
    /// A chunked answer whose chunks go on without end (each within the limit).
    EndlessChunks,
    /// An answer without length, read until close, that never ends.
    EndlessUntilClose,
    /// An answer head with 100 header lines.
    ManyHeaders,
}

pub struct Stamped {
    pub port: u16,
    /// Requests read so far.
    pub requests: Arc<AtomicUsize>,
}

impl Stamped {
    /// Serves every connection on its own thread; misbehaves as `mode` at request
    /// `at` (0-based, counted over all connections).
    pub fn start(mode: Mode, at: usize) -> Stamped {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("address").port();
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let early_sent = Arc::new(AtomicUsize::new(0));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (counter, early_sent) = (counter.clone(), early_sent.clone());
                std::thread::spawn(move || serve(stream, mode, at, &counter, &early_sent));
            }
        });
        Stamped { port, requests }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn answer(stamp: &str, numbers: &[String]) -> String {
    let body = if numbers.is_empty() {
        format!(
            r#"{{"Response":{{"ReportConversionStatus":{{"Code":"OK","Message":"{stamp}"}},"RequestId":"{stamp}"}}}}"#
        )
    } else {
        let set: Vec<String> = numbers
            .iter()
            .map(|n| {
                format!(
                    r#"{{"SerialNo":"{stamp}:{n}","PhoneNumber":"{n}","Fee":1,"SessionContext":"{stamp}","Code":"Ok","Message":"send success","IsoCode":"CN"}}"#
                )
            })
            .collect();
        format!(r#"{{"Response":{{"SendStatusSet":[{}],"RequestId":"{stamp}"}}}}"#, set.join(","))
    };
    format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len())
}

fn serve(stream: TcpStream, mode: Mode, at: usize, counter: &AtomicUsize, early_sent: &AtomicUsize) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    // On the first connection, before its first request.
    if mode == Mode::EarlyAnswer && early_sent.fetch_add(1, Ordering::SeqCst) == 0 {
        let _ = writer.write_all(answer("early", &["+8613900000000".to_owned()]).as_bytes());
    }
    while let Some(body) = read_request(&mut reader) {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let (stamp, numbers) = stamp_of(&body);
        let ok = answer(&stamp, &numbers);
        let written = match mode {
            _ if n != at => writer.write_all(ok.as_bytes()),
            Mode::Clean | Mode::EarlyAnswer => writer.write_all(ok.as_bytes()),
            Mode::ExtraAnswer(delay) => writer.write_all(ok.as_bytes()).and_then(|()| {
                std::thread::sleep(Duration::from_millis(delay));
                writer.write_all(ok.as_bytes())
            }),
            Mode::ExtraOther(delay) => writer.write_all(ok.as_bytes()).and_then(|()| {
                std::thread::sleep(Duration::from_millis(delay));
                let other = if numbers.is_empty() { Vec::new() } else { vec!["+8613900000001".to_owned()] };
                writer.write_all(answer("other", &other).as_bytes())
            }),
            Mode::BodyAfter204 => writer.write_all(format!("HTTP/1.1 204 No Content\r\n\r\n{ok}").as_bytes()),
            Mode::Stray408(delay) => writer.write_all(ok.as_bytes()).and_then(|()| {
                std::thread::sleep(Duration::from_millis(delay));
                writer.write_all(b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n")
            }),
            Mode::ForeignNumbers => writer.write_all(answer("foreign", &["+8613900000000".to_owned()]).as_bytes()),
            Mode::ChunkedOverflow => {
                let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\nffffffffffffffff\r\n";
                writer.write_all(head.as_bytes()).and_then(|()| endless(&mut writer))
            }
            Mode::EndlessChunks => {
                let chunk = format!("8000\r\n{}\r\n", "x".repeat(0x8000));
                writer
                    .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                    .and_then(|()| (0..).try_for_each(|_: u64| writer.write_all(chunk.as_bytes())))
            }
            Mode::EndlessUntilClose => writer.write_all(b"HTTP/1.1 200 OK\r\n\r\n").and_then(|()| endless(&mut writer)),
            Mode::ManyHeaders => {
                let (head, body) = ok.split_once("\r\n").expect("status line");
                let extra: String = (0..100).map(|i| format!("X-Added-By-Proxy-{i}: {i}\r\n")).collect();
                writer.write_all(format!("{head}\r\n{extra}{body}").as_bytes())
            }
        };
        if written.is_err() {
            return;
        }
    }
}

/// Writes bytes until the client hangs up.
fn endless(writer: &mut TcpStream) -> std::io::Result<()> {
    let block = vec![b'x'; 1 << 16];
    loop {
        writer.write_all(&block)?;
    }
}

/// The request's stamp and, for SendSms, its numbers.
fn stamp_of(body: &[u8]) -> (String, Vec<String>) {
    let request: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let numbers = request["PhoneNumberSet"]
        .as_array()
        .map(|set| set.iter().filter_map(|n| n.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let stamp = request["SessionContext"].as_str().or(request["SerialNo"].as_str()).unwrap_or("none").to_owned();
    (stamp, numbers)
}

/// Reads one request's head and body; `None` when the client hung up.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut line = String::new();
    let mut length = 0usize;
    let mut first = true;
    loop {
        line.clear();
        reader.read_line(&mut line).ok().filter(|n| *n > 0)?;
        let trimmed = line.trim_end();
        if trimmed.is_empty() && !first {
            break;
        }
        first = false;
        if let Some((name, value)) = trimmed.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(body)
}

/// What happened to one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Its own answer.
    Own,
    /// An answer that is not its own (the stamp it carries).
    Crossed(String),
    /// An error (its kind and message).
    Failed(String),
}

/// One SendSms through `client` stamped `stamp`, to a number made from `n`.
pub fn send_stamped(client: &tcsms::Client, stamp: &str, n: usize) -> Outcome {
    let number = format!("+86138{n:08}");
    let request = format!(
        r#"{{"PhoneNumberSet":["{number}"],"SmsSdkAppId":"1400000001","TemplateId":"2002","SessionContext":"{stamp}"}}"#
    );
    judge(client.call("SendSms", &request), stamp, Some(&number))
}

/// One ReportConversion through `client` stamped `stamp` (its answers carry no number:
/// only the stamp can tell them apart).
pub fn report_stamped(client: &tcsms::Client, stamp: &str) -> Outcome {
    let request = format!(r#"{{"SmsSdkAppId":"1400000001","SerialNo":"{stamp}"}}"#);
    judge(client.call("ReportConversion", &request), stamp, None)
}

fn judge(result: Result<String, tcsms::Error>, stamp: &str, number: Option<&str>) -> Outcome {
    match result {
        Ok(answer) => {
            let answer: serde_json::Value = serde_json::from_str(&answer).expect("a returned answer is JSON");
            let got = answer["Response"]["RequestId"].as_str().unwrap_or("").to_owned();
            let numbers_own = number.is_none_or(|n| {
                answer["Response"]["SendStatusSet"]
                    .as_array()
                    .is_some_and(|set| set.iter().all(|e| e["PhoneNumber"] == n && e["SessionContext"] == stamp))
            });
            if got == stamp && numbers_own {
                Outcome::Own
            } else {
                Outcome::Crossed(format!("{stamp} got {got}"))
            }
        }
        Err(e) => Outcome::Failed(format!("{:?}: {}", e.kind(), e.message())),
    }
}
