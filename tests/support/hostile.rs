//! Small hostile HTTP servers on 127.0.0.1, one thread per connection, for the fault matrix
//! (tests/fault_matrix.rs) and the `http_answer` fuzz target (fuzz/, which includes this
//! file by path). Each behaviour ends when the client hangs up.
// Each includer uses a different part of this module.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A listening server; its thread lives as long as the process.
pub struct Hostile {
    pub port: u16,
    /// Connections accepted so far: an upper bound on the requests that reached the server.
    pub connections: Arc<AtomicUsize>,
}

impl Hostile {
    /// Listens on 127.0.0.1 and hands each connection to `behaviour` on its own thread.
    pub fn start(behaviour: impl Fn(TcpStream) + Send + Sync + 'static) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("local address").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        let behaviour = Arc::new(behaviour);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                let behaviour = behaviour.clone();
                std::thread::spawn(move || behaviour(stream));
            }
        });
        Hostile { port, connections }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Reads one request: the headers, then Content-Length bytes of body. `false` when the
/// client hung up first.
pub fn read_request(stream: &mut TcpStream) -> bool {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    read_request_from(stream)
}

/// [`read_request`] from any stream (a TLS stream, say), which sets its own time limit.
pub fn read_request_from(stream: &mut impl Read) -> bool {
    next_request_body(stream, &mut Vec::new()).is_some()
}

/// The body of the next request on `stream`, read as [`read_request`] reads one; `seen`
/// holds what was read past the previous request (a client that sends before its last
/// answer) and keeps what is read past this one. None when the client hung up first.
pub fn next_request_body(stream: &mut impl Read, seen: &mut Vec<u8>) -> Option<String> {
    next_request(stream, seen).map(|(_, body)| body)
}

/// The head and the body of the next request on `stream`, as [`next_request_body`].
pub fn next_request(stream: &mut impl Read, seen: &mut Vec<u8>) -> Option<(String, String)> {
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&seen[..end]).into_owned();
            let length = head
                .to_ascii_lowercase()
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if seen.len() >= end + 4 + length {
                let body = String::from_utf8_lossy(&seen[end + 4..end + 4 + length]).into_owned();
                seen.drain(..end + 4 + length);
                return Some((head, body));
            }
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

/// Waits until the client hangs up (or 60 s pass).
pub fn until_hangup(stream: &mut TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let mut buf = [0u8; 1024];
    while let Ok(1..) = stream.read(&mut buf) {}
}

/// Writes `bytes` and closes the connection.
pub fn answer_and_close(stream: &mut TcpStream, bytes: &[u8]) {
    let _ = stream.write_all(bytes);
    let _ = stream.shutdown(Shutdown::Both);
}
