//! Whatever a server answers: the input is the raw bytes a server on 127.0.0.1 sends back
//! (status line, headers, body, or none of these) before it closes the connection. Drives
//! the whole answer path of `tcsms_call`: HTTP framing, the size cap, the status check, the
//! envelope parser and the error built from it. A fresh client per input keeps runs
//! independent of the connection pool.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::ffi::CString;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::ptr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tcsms_fuzz::*;

/// The answer the server sends next, and the server's port.
struct Server {
    answer: Arc<Mutex<Vec<u8>>>,
    port: u16,
}

/// Reads one request (headers, then Content-Length bytes of body), so the answer never
/// races the request.
fn read_request(stream: &mut TcpStream) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = stream.read(&mut buf) {
        seen.extend_from_slice(&buf[..n]);
        let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if seen.len() >= end + 4 + length {
            return;
        }
    }
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("local address").port();
        let answer = Arc::new(Mutex::new(Vec::new()));
        let shared = answer.clone();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                read_request(&mut stream);
                let answer = shared.lock().expect("answer lock").clone();
                let _ = stream.write_all(&answer);
                let _ = stream.shutdown(std::net::Shutdown::Both);
            }
        });
        Server { answer, port }
    })
}

fuzz_target!(|data: &[u8]| {
    if mentions_marker(data) {
        return;
    }
    hermetic_env();
    let server = server();
    *server.answer.lock().expect("answer lock") = data.to_vec();
    let config = CString::new(format!(
        r#"{{"secret_id":"AKIDfuzz0000000000000000000000000000","secret_key":"{MARKER_SECRET_KEY}",
        "token":"{MARKER_TOKEN}","endpoint":"http://127.0.0.1:{}","timeout_ms":3000,"max_retries":0}}"#,
        server.port
    ))
    .expect("no NUL");
    let mut client = ptr::null_mut();
    let mut out = ptr::null_mut();
    // SAFETY: valid pointers.
    assert_eq!(unsafe { tcsms_client_new(config.as_ptr(), &mut client, &mut out) }, OK);
    let started = Instant::now();
    // SAFETY: a live client and valid strings.
    let status = unsafe {
        tcsms_call(
            client,
            c"ReportConversion".as_ptr(),
            cr#"{"SmsSdkAppId":"1400000001","SerialNo":"1"}"#.as_ptr(),
            &mut out,
        )
    };
    let elapsed = started.elapsed();
    // SAFETY: freed once, after the call returned.
    unsafe { tcsms_client_free(client) };
    assert!(elapsed < Duration::from_millis(3000 + 1000), "the call took {elapsed:?}, limit 3 s");
    assert!(
        [OK, NETWORK, TIMEOUT, HTTP_STATUS, DECODE, API_ERROR].contains(&status),
        "status {status} for an answer from the server"
    );
    if status == OK {
        // SAFETY: the library's string, freed once.
        let text = unsafe { take_string(out) }.expect("an answer on success");
        let value: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("OK with non-JSON ({e}): {text}"));
        assert!(value["Response"].is_object() && value["Response"].get("Error").is_none(), "OK with {text}");
        assert_no_marker(&text);
    } else {
        // SAFETY: the library's string, freed once.
        unsafe { check_failure(status, out) };
    }
});
