//! Whatever a server answers: the input is the raw bytes a server on 127.0.0.1 sends back
//! (status line, headers, body, or none of these) before it closes the connection. Drives
//! the whole answer path of `tcsms_call`: HTTP framing, the size cap, the status check, the
//! envelope parser and the error built from it. A fresh client per input keeps runs
//! independent of the connection pool.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::ffi::CString;
use std::ptr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tcsms_fuzz::*;

#[path = "../../tests/support/hostile.rs"]
mod hostile;

/// The answer the server sends next, and the server.
struct Server {
    answer: Arc<Mutex<Vec<u8>>>,
    hostile: hostile::Hostile,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let answer = Arc::new(Mutex::new(Vec::new()));
        let shared = answer.clone();
        let hostile = hostile::Hostile::start(move |mut stream| {
            if hostile::read_request(&mut stream) {
                let answer = shared.lock().expect("answer lock").clone();
                hostile::answer_and_close(&mut stream, &answer);
            }
        });
        Server { answer, hostile }
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
        server.hostile.port
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
