//! `tcsms_call`, `tcsms_call_with_timeout`, `tcsms_status_str`, `tcsms_version`,
//! `tcsms_abi_version` and `tcsms_free` with arbitrary arguments.
//!
//! Input: byte 0 = flags (bits 0-1: which function; bit 2: client NULL; bit 3: action NULL;
//! bit 4: request NULL; bit 5: out_json NULL), bytes 1-8 = timeout_ms or status (little
//! endian), then `action \0 request_json`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::ffi::CStr;
use std::ptr;
use tcsms_fuzz::*;

fuzz_target!(|data: &[u8]| {
    if data.is_empty() || mentions_marker(data) {
        return;
    }
    let flags = data[0];
    let number = u64_at(data, 1);
    let strings = c_strings(data.get(9..).unwrap_or_default());
    let client = if flag(flags, 2) { ptr::null() } else { fixed_client() };
    let action = arg(&strings, 0, flag(flags, 3));
    let request = arg(&strings, 1, flag(flags, 4));
    let null_out = flag(flags, 5);
    let mut out = ptr::null_mut();
    let out_ptr = if null_out { ptr::null_mut() } else { &mut out };
    // SAFETY: every pointer is NULL or valid for the call.
    let status = match flags & 3 {
        0 => unsafe { tcsms_call(client, action, request, out_ptr) },
        1 => unsafe { tcsms_call_with_timeout(client, action, request, number, out_ptr) },
        _ => {
            let text = unsafe { CStr::from_ptr(tcsms_status_str(number as i32)) };
            let text = text.to_str().expect("status text is UTF-8");
            assert!(!text.is_empty());
            assert_eq!(text == "unknown status", !(0..=LAST_STATUS).contains(&(number as i32)));
            let version = unsafe { CStr::from_ptr(tcsms_version()) }.to_str().expect("version is UTF-8");
            assert!(version.starts_with("tcsms "));
            assert_eq!(unsafe { tcsms_abi_version() }, 1);
            unsafe { tcsms_free(ptr::null_mut()) };
            return;
        }
    };
    if null_out {
        assert_eq!(status, NULL_ARGUMENT);
        return;
    }
    // The port is closed: nothing can succeed, and nothing can get past the connection.
    assert!(
        [NULL_ARGUMENT, INVALID_UTF8, INVALID_JSON, INVALID_ARGUMENT, NETWORK, TIMEOUT].contains(&status),
        "unexpected status {status}"
    );
    // Arguments are checked in order; the first bad one decides.
    // SAFETY: NULL or NUL-terminated.
    if let Some(expected) = unsafe { first_bad_argument(client.is_null(), &[action, request]) } {
        assert_eq!(status, expected);
    }
    // SAFETY: the library's string, freed once.
    unsafe { check_failure(status, out) };
});
