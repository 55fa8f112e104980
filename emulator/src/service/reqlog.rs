//! `--log FILE`: one JSON line per request. It holds what the request was and how it was
//! answered, never a credential (the Authorization header and the secret key are not logged).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::Mutex;

use serde_json::{json, Value};

/// One logged request.
#[derive(Debug, Default)]
pub struct Entry<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub action: Option<&'a str>,
    /// `ok`, `error` (an API error envelope), `fault` or `dropped`.
    pub verdict: &'a str,
    pub code: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub fault: Option<&'a str>,
    pub status: u16,
    pub duration_ms: u64,
    pub remote: Option<String>,
}

#[derive(Debug)]
pub struct RequestLog {
    file: Mutex<File>,
}

impl RequestLog {
    pub fn open(path: &Path) -> io::Result<RequestLog> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(RequestLog { file: Mutex::new(file) })
    }

    pub fn write(&self, e: &Entry) {
        let line = json!({
            "time_ms": crate::clock::now_ms(),
            "remote": e.remote,
            "method": e.method,
            "path": e.path,
            "action": e.action,
            "verdict": e.verdict,
            "code": e.code,
            "request_id": e.request_id,
            "fault": e.fault,
            "http_status": e.status,
            "duration_ms": e.duration_ms,
        });
        let mut text = line.to_string();
        text.push('\n');
        let mut file = match self.file.lock() {
            Ok(f) => f,
            Err(poisoned) => poisoned.into_inner(),
        };
        // A full disk must not take the emulator down; the entry is lost.
        let _ = file.write_all(text.as_bytes()).and_then(|_| file.flush());
    }
}

/// Parses a log line back (for tests).
#[allow(dead_code)]
pub fn parse_line(line: &str) -> Option<Value> {
    serde_json::from_str(line).ok()
}
