//! A loopback HTTP/1.1 keep-alive server that answers every request with one fixed
//! ReportConversion envelope, for benchmarks of the bindings against their official
//! SDKs (bench/). Prints `listening on http://127.0.0.1:PORT` and serves until killed.
//!
//! `cargo run --release --example fixed_server`

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The one answer, a ReportConversion success envelope.
pub const ANSWER: &str = r#"{"Response":{"ReportConversionStatus":{"Code":"OK","Message":"report success"},"RequestId":"a0aabda6-cf91-4f3e-a81f-9198114a2279"}}"#;

/// Connections accepted so far (benches/roundtrip.rs checks that clients reuse them).
pub static CONNECTIONS: AtomicUsize = AtomicUsize::new(0);

#[allow(dead_code)] // benches/roundtrip.rs includes this file for `serve` alone.
fn main() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    println!("listening on http://{}", listener.local_addr().expect("bound"));
    serve(listener);
}

/// Answers every request on every connection of `listener` with [`ANSWER`]; a thread
/// per connection, keep-alive, until the process ends.
pub fn serve(listener: TcpListener) {
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{ANSWER}",
        ANSWER.len()
    );
    for stream in listener.incoming().flatten() {
        CONNECTIONS.fetch_add(1, Ordering::Relaxed);
        let response = response.clone();
        std::thread::spawn(move || {
            let _ = stream.set_nodelay(true);
            let Ok(read_half) = stream.try_clone() else { return };
            let mut reader = BufReader::new(read_half);
            let mut writer = stream;
            let mut line = String::new();
            loop {
                let mut length = 0usize;
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if line == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':') {
                        if name.eq_ignore_ascii_case("content-length") {
                            length = value.trim().parse().unwrap_or(0);
                        }
                    }
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() || writer.write_all(response.as_bytes()).is_err() {
                    return;
                }
            }
        });
    }
}
