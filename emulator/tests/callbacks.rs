//! `--callback-url` (issue 12 item 3): the emulator POSTs delivery reports and replies to
//! a receiver on 127.0.0.1, retries until it acknowledges, and never holds up the API.

use serde_json::{json, Value};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tcsms::Client;

mod support;

const DEMO_ID: &str = "AKIDtcsmsdemo00000000000000000000000";
const DEMO_KEY: &str = "tcsmsdemosecretkey00000000000000";
const APP: &str = "1400000001";

#[derive(Clone, Copy, Debug)]
enum Answer {
    Ack,
    Http500,
    ResultOne,
    Hang,
}

/// A minimal callback receiver: records (path, content type, body) of each POST and
/// answers as scripted (then with the acknowledgement).
struct Receiver_ {
    url: String,
    received: Receiver<(String, String, String)>,
}

fn receiver(script: &[Answer]) -> Receiver_ {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/sms/callback", listener.local_addr().unwrap());
    let script = Arc::new(Mutex::new(script.iter().copied().collect::<VecDeque<_>>()));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let tx = tx.clone();
            let answer = script.lock().unwrap().pop_front().unwrap_or(Answer::Ack);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let path = line.split_whitespace().nth(1).unwrap_or_default().to_owned();
                let (mut length, mut content_type) = (0usize, String::new());
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).unwrap();
                    if header.trim().is_empty() {
                        break;
                    }
                    let (name, value) = header.split_once(':').unwrap();
                    match name.to_ascii_lowercase().as_str() {
                        "content-length" => length = value.trim().parse().unwrap(),
                        "content-type" => content_type = value.trim().to_owned(),
                        _ => {}
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let _ = tx.send((path, content_type, String::from_utf8(body).unwrap()));
                let (status, text) = match answer {
                    Answer::Ack => ("200 OK", r#"{"result":0,"errmsg":"OK"}"#),
                    Answer::Http500 => ("500 Internal Server Error", "oops"),
                    Answer::ResultOne => ("200 OK", r#"{"result":1,"errmsg":"busy"}"#),
                    Answer::Hang => {
                        std::thread::sleep(Duration::from_secs(8));
                        return;
                    }
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
            });
        }
    });
    Receiver_ { url, received: rx }
}

impl Receiver_ {
    /// The next POST: path, content type and body; every body must be one the library's
    /// callback parser (tcsms::callback, issue 12 item 3) accepts.
    fn next(&self, within: Duration) -> Option<(String, String, Value)> {
        let (path, content_type, body) = self.received.recv_timeout(within).ok()?;
        let parsed = tcsms::callback::parse(body.as_bytes()).expect("tcsms::callback::parse accepts the body");
        let value: Value = serde_json::from_str(&body).expect("a callback body is JSON");
        match parsed {
            tcsms::callback::Callback::Delivery(reports) => {
                assert_eq!(reports.len(), value.as_array().map_or(0, Vec::len));
                assert!(reports.iter().all(|r| r.phone_number.starts_with('+') && r.phone_number.ends_with(&r.mobile)));
            }
            tcsms::callback::Callback::Reply(reply) => {
                assert!(value.is_object());
                assert_eq!(reply.phone_number, format!("+{}{}", reply.nationcode, reply.mobile));
            }
        }
        Some((path, content_type, value))
    }
}

/// A receiver answering as `script` says, an emulator posting to it with reports
/// `report_delay_ms` after a send, and a client of that emulator.
fn setup(script: &[Answer], report_delay_ms: &str) -> (Receiver_, support::RunningEmulator, Client) {
    let rx = receiver(script);
    let emulator = support::RunningEmulator::spawn(&[
        "--listen",
        "127.0.0.1:0",
        "--report-delay-ms",
        report_delay_ms,
        "--callback-url",
        &rx.url,
    ]);
    let client = client(&emulator);
    (rx, emulator, client)
}

fn client(emulator: &support::RunningEmulator) -> Client {
    Client::from_json(&format!(
        r#"{{"secret_id":"{DEMO_ID}","secret_key":"{DEMO_KEY}","endpoint":"{}","timeout_ms":5000}}"#,
        emulator.url
    ))
    .unwrap()
}

fn send(client: &Client, numbers: &[&str]) -> Value {
    let request = json!({"PhoneNumberSet": numbers, "SmsSdkAppId": APP, "SignName": "tcsms", "TemplateId": "2001",
                         "TemplateParamSet": ["1234", "5"]});
    serde_json::from_str(&client.call("SendSms", &request.to_string()).unwrap()).unwrap()
}

#[test]
fn delivery_reports_of_one_send_arrive_together_and_are_acknowledged() {
    let (rx, _emulator, client) = setup(&[], "200");
    let sent_at = Instant::now();
    let answer = send(&client, &["+8613711112222", "+8613711110404"]);
    let serials: Vec<&str> = answer["Response"]["SendStatusSet"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["SerialNo"].as_str().unwrap())
        .collect();
    let (path, content_type, body) = rx.next(Duration::from_secs(5)).expect("the reports are POSTed");
    assert!(sent_at.elapsed() >= Duration::from_millis(150), "not before the report delay");
    assert_eq!((path.as_str(), content_type.as_str()), ("/sms/callback", "application/json"));
    let reports = body.as_array().expect("delivery reports are an array");
    assert_eq!(reports.len(), 2, "{body}");
    let delivered = &reports[0];
    assert_eq!(delivered["nationcode"], "86");
    assert_eq!(delivered["mobile"], "13711112222");
    assert_eq!((delivered["report_status"].as_str(), delivered["errmsg"].as_str()), (Some("SUCCESS"), Some("DELIVRD")));
    assert_eq!(delivered["sid"], serials[0]);
    let time = delivered["user_receive_time"].as_str().unwrap();
    assert!(time.len() == 19 && time.as_bytes()[10] == b' ', "{time}");
    assert!(delivered["description"].is_string());
    assert_eq!((reports[1]["report_status"].as_str(), reports[1]["errmsg"].as_str()), (Some("FAIL"), Some("UNDELIV")));
    assert_eq!(reports[1]["sid"], serials[1]);
    // Acknowledged: nothing is sent again.
    assert!(rx.next(Duration::from_millis(1500)).is_none());
}

#[test]
fn an_injected_reply_is_posted_as_one_object() {
    let (rx, emulator, client) = setup(&[], "0");
    send(&client, &["+8613800000000"]);
    let (_, _, reports) = rx.next(Duration::from_secs(5)).unwrap();
    assert!(reports.is_array());
    let queued = ureq::post(&format!("{}/_emulator/replies", emulator.url))
        .send(r#"{"PhoneNumber":"+8613800000000","ReplyContent":"TD","ExtendCode":"01"}"#)
        .unwrap();
    assert_eq!(queued.status(), 200);
    let (_, _, reply) = rx.next(Duration::from_secs(5)).expect("the reply is POSTed");
    let keys: Vec<&String> = reply.as_object().expect("a reply is an object").keys().collect();
    assert_eq!(keys, vec!["extend", "mobile", "nationcode", "sign", "text", "time"]);
    assert_eq!(
        (reply["mobile"].as_str(), reply["nationcode"].as_str(), reply["text"].as_str()),
        (Some("13800000000"), Some("86"), Some("TD"))
    );
    assert_eq!((reply["sign"].as_str(), reply["extend"].as_str()), (Some("tcsms"), Some("01")));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((reply["time"].as_i64().unwrap() - now).abs() <= 5, "{reply}");
}

#[test]
fn a_receiver_that_does_not_acknowledge_gets_the_same_body_again() {
    // HTTP 500, then {"result":1}, then the acknowledgement: three requests, same body.
    let (rx, _emulator, client) = setup(&[Answer::Http500, Answer::ResultOne], "0");
    send(&client, &["+8613711112222"]);
    let first = rx.next(Duration::from_secs(5)).unwrap();
    let started = Instant::now();
    let second = rx.next(Duration::from_secs(5)).expect("retried after an HTTP 500");
    assert!(started.elapsed() >= Duration::from_millis(800), "after about 1 s");
    let third = rx.next(Duration::from_secs(5)).expect("retried after result 1");
    assert!(started.elapsed() >= Duration::from_millis(2800), "then after about 2 s more");
    assert_eq!(first.2, second.2);
    assert_eq!(second.2, third.2);
    assert!(rx.next(Duration::from_millis(1500)).is_none(), "acknowledged at the third");
}

#[test]
fn a_hanging_receiver_never_holds_up_the_api() {
    let (rx, _emulator, client) = setup(&[Answer::Hang, Answer::Hang], "0");
    send(&client, &["+8613711112222"]);
    rx.next(Duration::from_secs(5)).expect("the first report is POSTed (and hangs)");
    let started = Instant::now();
    for _ in 0..5 {
        send(&client, &["+8613711112222"]);
        client.call("PullSmsSendStatus", &json!({"SmsSdkAppId": APP, "Limit": 10}).to_string()).unwrap();
    }
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
}
