//! Shared by the fuzz targets: the C ABI declared as C sees it, a hermetic environment, a
//! client that can only ever reach a closed local port, and the checks every answer must pass.
//!
//! The targets call the exported C functions through `extern "C"` declarations rather than
//! `tcsms::ffi`, so they exercise exactly what a C caller links against.

use serde_json::{Map, Value};
use std::ffi::{c_char, CStr, CString};
use std::ptr;
use std::sync::{Once, OnceLock};

// Links the library, whose exported symbols the declarations below resolve to.
extern crate tcsms;

pub type Status = i32;
pub const OK: Status = 0;
pub const NULL_ARGUMENT: Status = 1;
pub const INVALID_UTF8: Status = 2;
pub const INVALID_JSON: Status = 3;
pub const INVALID_ARGUMENT: Status = 4;
pub const INVALID_CONFIG: Status = 5;
pub const NETWORK: Status = 6;
pub const TIMEOUT: Status = 7;
pub const HTTP_STATUS: Status = 8;
pub const DECODE: Status = 9;
pub const API_ERROR: Status = 10;
pub const PANIC: Status = 11;
/// Per-number results of tcsms_send_sms: not every number was sent successfully.
pub const PARTIAL: Status = 12;
/// The highest status the library has (values are append-only).
pub const LAST_STATUS: Status = PARTIAL;

#[repr(C)]
pub struct TcsmsClient {
    _opaque: [u8; 0],
}

extern "C" {
    pub fn tcsms_client_new(
        config_json: *const c_char,
        out_client: *mut *mut TcsmsClient,
        out_json: *mut *mut c_char,
    ) -> Status;
    pub fn tcsms_client_free(client: *mut TcsmsClient);
    pub fn tcsms_report_conversion(
        client: *const TcsmsClient,
        sms_sdk_app_id: *const c_char,
        serial_no: *const c_char,
        conversion_time: i64,
        out_json: *mut *mut c_char,
    ) -> Status;
    pub fn tcsms_call(
        client: *const TcsmsClient,
        action: *const c_char,
        request_json: *const c_char,
        out_json: *mut *mut c_char,
    ) -> Status;
    pub fn tcsms_call_with_timeout(
        client: *const TcsmsClient,
        action: *const c_char,
        request_json: *const c_char,
        timeout_ms: u64,
        out_json: *mut *mut c_char,
    ) -> Status;
    pub fn tcsms_parse_callback(body: *const c_char, len: usize, out_json: *mut *mut c_char) -> Status;
    pub fn tcsms_json_get(json: *const c_char, path: *const c_char, out_value: *mut *mut c_char) -> Status;
    pub fn tcsms_free(s: *mut c_char);
    pub fn tcsms_status_str(status: Status) -> *const c_char;
    pub fn tcsms_version() -> *const c_char;
    pub fn tcsms_abi_version() -> u32;
}

/// The fixed client's secret key and token: no answer may ever contain them.
pub const MARKER_SECRET_KEY: &str = "FuzzMarkerSecretKey7q3Zx9Wv";
pub const MARKER_TOKEN: &str = "FuzzMarkerToken5k2Jm8Rt";

/// Makes the process environment hermetic, once: no proxy (which could send traffic
/// elsewhere), no credentials from the environment or a real profile file.
pub fn hermetic_env() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for name in [
            "HTTPS_PROXY",
            "https_proxy",
            "HTTP_PROXY",
            "http_proxy",
            "ALL_PROXY",
            "all_proxy",
            "NO_PROXY",
            "no_proxy",
            "TENCENTCLOUD_SECRET_ID",
            "TENCENTCLOUD_SECRET_KEY",
            "TENCENTCLOUD_SESSION_TOKEN",
            "TENCENTCLOUD_TOKEN",
        ] {
            // SAFETY (edition 2021: safe fn): runs once, before any thread of ours reads the environment.
            std::env::remove_var(name);
        }
        std::env::set_var("TENCENTCLOUD_CREDENTIALS_FILE", "/nonexistent/tcsms-fuzz/credentials");
        std::env::set_var("HOME", "/nonexistent/tcsms-fuzz");
    });
}

struct ClientPtr(*mut TcsmsClient);
// SAFETY: a tcsms client is Send + Sync (documented); the pointer is never freed.
unsafe impl Send for ClientPtr {}
unsafe impl Sync for ClientPtr {}

/// A client for the whole run, pointed at a closed port on 127.0.0.1 with short limits and
/// no retries: every call that passes validation fails fast with a connection error.
pub fn fixed_client() -> *const TcsmsClient {
    static CLIENT: OnceLock<ClientPtr> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            hermetic_env();
            let config = format!(
                r#"{{"secret_id":"AKIDfuzz0000000000000000000000000000","secret_key":"{MARKER_SECRET_KEY}",
                "token":"{MARKER_TOKEN}","endpoint":"http://127.0.0.1:1","timeout_ms":300,
                "connect_timeout_ms":100,"max_retries":0}}"#
            );
            let config = CString::new(config).expect("no NUL");
            let mut client = ptr::null_mut();
            let mut out = ptr::null_mut();
            // SAFETY: valid pointers.
            let status = unsafe { tcsms_client_new(config.as_ptr(), &mut client, &mut out) };
            // SAFETY: `out` is NULL or the library's string.
            assert_eq!(status, OK, "the fixed fuzz client must be created: {:?}", unsafe { take_string(out) });
            assert!(!client.is_null());
            ClientPtr(client)
        })
        .0
}

/// Splits the input at NUL bytes: C strings cannot hold a NUL, so each piece is one string
/// argument exactly as a C caller could pass it (invalid UTF-8 included).
pub fn c_strings(data: &[u8]) -> Vec<CString> {
    data.split(|&b| b == 0).map(|piece| CString::new(piece).expect("split at NUL")).collect()
}

/// The `i`th string, or NULL when it is absent or `null` is set.
pub fn arg(strings: &[CString], i: usize, null: bool) -> *const c_char {
    match strings.get(i) {
        Some(s) if !null => s.as_ptr(),
        _ => ptr::null(),
    }
}

/// Reads and frees a string returned by the library.
///
/// # Safety
/// `out` is NULL or a string from the library not yet freed.
pub unsafe fn take_string(out: *mut c_char) -> Option<String> {
    if out.is_null() {
        return None;
    }
    // SAFETY: per the contract; freed exactly once below.
    let text = unsafe { CStr::from_ptr(out) }.to_str().map(str::to_owned);
    unsafe { tcsms_free(out) };
    Some(text.expect("every string the library returns is UTF-8"))
}

/// Checks a failed call's status and its error envelope (then frees it), and returns it.
///
/// # Safety
/// As [`take_string`].
pub unsafe fn check_failure(status: Status, out: *mut c_char) -> Value {
    // SAFETY: per the contract.
    let text = unsafe { take_string(out) }.unwrap_or_else(|| panic!("status {status} without an error envelope"));
    check_failure_text(status, &text)
}

/// As [`check_failure`], for an envelope already taken.
pub fn check_failure_text(status: Status, text: &str) -> Value {
    assert_ne!(status, PANIC, "a panic was caught at the boundary: {text}");
    assert!((1..=PANIC).contains(&status), "status {status} is not a documented failure");
    let envelope: Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("error envelope is not JSON ({e}): {text}"));
    let response = &envelope["Response"];
    let code = response["Error"]["Code"].as_str().unwrap_or_else(|| panic!("no Response.Error.Code: {text}"));
    // An API error is the service's body as received: only its Error.Code is certain
    // (the head parser requires it). A local error is the library's own, complete envelope.
    if status != API_ERROR {
        assert!(response["Error"]["Message"].is_string(), "no Response.Error.Message: {text}");
        assert!(response["RequestId"].is_string(), "no Response.RequestId: {text}");
        assert!(code.starts_with("ClientError."), "local failure with code {code}: {text}");
        assert!(!response["Error"]["Message"].as_str().unwrap_or_default().is_empty(), "empty message: {text}");
    }
    assert_no_marker(text);
    envelope
}

/// No output may contain the fixed client's secrets.
pub fn assert_no_marker(text: &str) {
    for marker in [MARKER_SECRET_KEY, MARKER_TOKEN] {
        assert!(!text.contains(marker), "a secret leaked into the output: {text}");
    }
}

/// Whether the input spells one of the markers itself (then an echo is not a leak).
pub fn mentions_marker(data: &[u8]) -> bool {
    [MARKER_SECRET_KEY, MARKER_TOKEN].iter().any(|m| data.windows(m.len()).any(|w| w == m.as_bytes()))
}

/// Paths of special files. A fuzzed `ca_file` naming one (a FIFO, `/dev/zero`) would block or
/// fill memory: that defect has its own test (issue 10, finding 7); the fuzzer skips it.
pub fn names_special_file(data: &[u8]) -> bool {
    ["/dev", "/proc", "/sys", "/run"].iter().any(|m| data.windows(m.len()).any(|w| w == m.as_bytes()))
}

/// Reads the flag bit `bit` of `flags`.
pub fn flag(flags: u8, bit: u8) -> bool {
    flags & (1 << bit) != 0
}

/// Eight bytes from `data` at `at` as a little-endian integer (zero-padded).
pub fn u64_at(data: &[u8], at: usize) -> u64 {
    let mut bytes = [0u8; 8];
    for (i, b) in data.iter().skip(at).take(8).enumerate() {
        bytes[i] = *b;
    }
    u64::from_le_bytes(bytes)
}

/// The status the first bad argument must produce: a NULL client, then each string in
/// order, NULL or not UTF-8. `None` when all are good.
///
/// # Safety
/// Each string is NULL or NUL-terminated.
pub unsafe fn first_bad_argument(client_null: bool, strings: &[*const c_char]) -> Option<Status> {
    if client_null {
        return Some(NULL_ARGUMENT);
    }
    strings.iter().find_map(|&s| {
        if s.is_null() {
            return Some(NULL_ARGUMENT);
        }
        // SAFETY: per the contract.
        unsafe { CStr::from_ptr(s) }.to_str().is_err().then_some(INVALID_UTF8)
    })
}

/// Checks that no secret of the configuration `map` (`secret_key`, `token`, `proxy`) shows in
/// `shown`, the output made from it. A secret found there is a leak only if neither the output
/// for the same configuration with that secret replaced by `#`s nor the one without that key
/// (`output_for(json)`) contains it; otherwise the text comes from elsewhere (another field,
/// a field name such as `max_retries`, a fixed message).
pub fn assert_config_secrets_hidden(map: &Map<String, Value>, shown: &str, output_for: impl Fn(&str) -> String) {
    for key in ["secret_key", "token", "proxy"] {
        let Some(Value::String(secret)) = map.get(key) else { continue };
        if secret.len() < 6 || !shown.contains(secret.as_str()) {
            continue;
        }
        let mut replaced = map.clone();
        replaced.insert(key.to_owned(), Value::String("#".repeat(secret.len())));
        let again = output_for(&Value::Object(replaced).to_string());
        let mut removed = map.clone();
        removed.remove(key);
        let without = output_for(&Value::Object(removed).to_string());
        assert!(again.contains(secret.as_str()) || without.contains(secret.as_str()), "`{key}` shows: {shown}");
    }
}
