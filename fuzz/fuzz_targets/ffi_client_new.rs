//! `tcsms_client_new` and `tcsms_client_free` with arbitrary configurations.
//!
//! Input: byte 0 = flags (bit 0: config NULL; bit 1: out_client NULL; bit 2: out_json NULL),
//! then the configuration text (up to the first NUL). A client that is created is freed
//! without a call, so a fuzzed endpoint is never contacted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::ffi::CString;
use std::ptr;
use tcsms_fuzz::*;

/// Creates a client from `config`; returns the status and the error text, checked.
fn create(config: *const std::ffi::c_char, null_client: bool, null_out: bool) -> (Status, Option<String>) {
    let mut client = ptr::null_mut();
    let mut out = ptr::null_mut();
    let client_ptr = if null_client { ptr::null_mut() } else { &mut client };
    let out_ptr = if null_out { ptr::null_mut() } else { &mut out };
    // SAFETY: every pointer is NULL or valid for the call.
    let status = unsafe { tcsms_client_new(config, client_ptr, out_ptr) };
    if status == OK {
        assert!(!client.is_null() && out.is_null());
        // SAFETY: a live client, freed once.
        unsafe { tcsms_client_free(client) };
        return (status, None);
    }
    assert!(client.is_null(), "status {status} with a client");
    assert!([NULL_ARGUMENT, INVALID_UTF8, INVALID_JSON, INVALID_CONFIG].contains(&status), "status {status}");
    if null_out {
        assert!(out.is_null());
        return (status, None);
    }
    // SAFETY: the library's string, freed once.
    let text = unsafe { take_string(out) };
    let text = text.unwrap_or_else(|| panic!("status {status} without an error envelope"));
    check_failure_text(status, &text);
    (status, Some(text))
}

fuzz_target!(|data: &[u8]| {
    if data.is_empty() || names_special_file(data) {
        return;
    }
    hermetic_env();
    let flags = data[0];
    let strings = c_strings(&data[1..]);
    let config = arg(&strings, 0, flag(flags, 0));
    let (status, text) = create(config, flag(flags, 1), flag(flags, 2));
    if config.is_null() || flag(flags, 1) {
        assert_eq!(status, NULL_ARGUMENT);
    }
    // A secret given in the configuration never appears in the error, unless the error
    // says the same with the secret replaced (then the text comes from elsewhere).
    let (Some(text), Ok(Value::Object(map))) = (text, serde_json::from_slice::<Value>(strings[0].as_bytes())) else {
        return;
    };
    assert_config_secrets_hidden(&map, &text, |json| {
        let json = CString::new(json).expect("serde_json escapes NUL");
        create(json.as_ptr(), false, false).1.unwrap_or_default()
    });
});
