//! `tcsms_json_get` with arbitrary bytes: the first byte is the path's length, the path
//! follows, the rest is the document (NUL bytes end a C string, so they become spaces).
//! Checked: a documented status, an envelope on failure, and INVALID_JSON exactly when
//! serde_json refuses the document (which also refuses valid JSON deeper than its recursion
//! limit or with numbers beyond f64).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::ffi::CString;
use std::ptr;
use tcsms_fuzz::*;

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else { return };
    let (path, json) = rest.split_at(usize::from(n).min(rest.len()));
    let c =
        |bytes: &[u8]| CString::new(bytes.iter().map(|&b| if b == 0 { b' ' } else { b }).collect::<Vec<u8>>()).unwrap();
    let (path_c, json_c) = (c(path), c(json));
    let mut out = ptr::null_mut();
    // SAFETY: NUL-terminated strings and a writable out-pointer.
    let status = unsafe { tcsms_json_get(json_c.as_ptr(), path_c.as_ptr(), &mut out) };
    let text = std::str::from_utf8(json_c.as_bytes()).ok();
    if status == OK {
        // SAFETY: the library's string, freed once.
        unsafe { take_string(out) }.expect("a value on success");
        if let Some(Err(e)) = text.map(serde_json::from_str::<Value>) {
            // Deeper than serde_json's recursion limit, or a number beyond f64: valid JSON.
            let why = e.to_string();
            assert!(
                why.contains("recursion limit") || why.contains("out of range"),
                "a value out of JSON serde_json refuses: {why}"
            );
        }
        return;
    }
    // SAFETY: per the contract.
    unsafe { check_failure(status, out) };
    assert!(matches!(status, INVALID_UTF8 | INVALID_JSON | INVALID_ARGUMENT), "status {status}");
    if status == INVALID_JSON {
        if let Some(text) = text {
            assert!(serde_json::from_str::<Value>(text).is_err(), "INVALID_JSON for JSON serde_json accepts");
        }
    }
});
