//! The callback parser through the C ABI: `tcsms_parse_callback` with arbitrary bytes (the
//! first byte picks a NULL body), checked against the Rust parser it wraps.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::ptr;
use tcsms_fuzz::*;

fuzz_target!(|data: &[u8]| {
    let (null_body, body) = match data.split_first() {
        Some((&0, rest)) => (true, rest),
        Some((_, rest)) => (false, rest),
        None => (false, data),
    };
    let mut out = ptr::null_mut();
    let pointer = if null_body { ptr::null() } else { body.as_ptr().cast() };
    // SAFETY: `pointer` is NULL or valid for `body.len()` bytes; `out` is writable.
    let status = unsafe { tcsms_parse_callback(pointer, body.len(), &mut out) };
    if null_body && !body.is_empty() {
        assert_eq!(status, NULL_ARGUMENT, "NULL body with a length");
    }
    let parsed = if null_body { None } else { Some(tcsms::callback::parse(body)) };
    if status == OK {
        // SAFETY: the library's string, freed once.
        let text = unsafe { take_string(out) }.expect("a result on success");
        let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("OK with non-JSON ({e}): {text}"));
        let kind = value["Kind"].as_str().unwrap_or_else(|| panic!("no Kind: {text}"));
        assert!(matches!(kind, "delivery" | "reply"), "Kind {kind}");
        assert!(matches!(parsed, Some(Ok(_))), "the C ABI accepted what the parser refuses: {text}");
    } else {
        // SAFETY: per the contract.
        unsafe { check_failure(status, out) };
        if let Some(result) = parsed {
            if std::str::from_utf8(body).is_ok() {
                assert!(result.is_err(), "the parser accepts what the C ABI refuses (status {status})");
            }
        }
    }
});
