//! The C ABI: a thin, boring layer over the core.
//!
//! Every exported function has the same skeleton: set the out-pointers to NULL, check
//! the arguments (NULL, UTF-8), call the core inside a panic boundary, write `*out_json`,
//! return a status. This is the only module with `unsafe`.
//!
//! The header `include/tcsms.h` is generated from this file by cbindgen (see build.rs);
//! the doc comments here become the header's documentation.

#![allow(non_camel_case_types)]
#![deny(unsafe_op_in_unsafe_fn)]

use crate::api::ReportConversionRequest;
use crate::client::Client;
use crate::error::{codes, envelope_json, panic_text, Error, ErrorKind};
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

/// The ABI version of this header. `tcsms_abi_version()` returns the version of the
/// library actually loaded; bindings compare the two at load time. It changes only
/// when a function's signature or meaning changes incompatibly.
pub const TCSMS_ABI_VERSION: u32 = 1;

/// The outcome of a call: 0 (`TCSMS_STATUS_OK`) or one of the `TCSMS_STATUS_*` values.
/// Values are append-only and never reused. On any status other than OK, `*out_json`
/// holds `{"Response":{"Error":{"Code":...,"Message":...},"RequestId":...}}`.
pub type tcsms_status = i32;

/// Success.
pub const TCSMS_STATUS_OK: tcsms_status = 0;
/// A required pointer argument was NULL. Code `ClientError.NullArgument`.
pub const TCSMS_STATUS_NULL_ARGUMENT: tcsms_status = 1;
/// A string argument was not valid UTF-8. Code `ClientError.InvalidUtf8`.
pub const TCSMS_STATUS_INVALID_UTF8: tcsms_status = 2;
/// A JSON argument was malformed or not an object. Code `ClientError.InvalidJson`.
pub const TCSMS_STATUS_INVALID_JSON: tcsms_status = 3;
/// An argument had a wrong value. Codes `ClientError.InvalidArgument`, `ClientError.UnknownAction`,
/// `ClientError.InvalidPhoneNumber` (`tcsms_send_sms`: a number is neither E.164 nor mainland),
/// `ClientError.Reentrant` (a call from inside the client's event callback),
/// `ClientError.QueueFull` (`tcsms_submit` on a full completion queue).
pub const TCSMS_STATUS_INVALID_ARGUMENT: tcsms_status = 4;
/// The configuration was refused. Codes `ClientError.InvalidConfig`, `ClientError.MissingCredentials`.
pub const TCSMS_STATUS_INVALID_CONFIG: tcsms_status = 5;
/// The service could not be reached or the connection broke. Code `ClientError.Network`.
pub const TCSMS_STATUS_NETWORK: tcsms_status = 6;
/// The call did not finish in time. Codes `ClientError.Timeout`, `ClientError.RateLimited`
/// (no client-side rate-limit slot within the time limit; nothing was sent).
pub const TCSMS_STATUS_TIMEOUT: tcsms_status = 7;
/// The service answered with an HTTP status other than 200. Code `ClientError.HttpStatus`.
pub const TCSMS_STATUS_HTTP_STATUS: tcsms_status = 8;
/// The answer was not the service's JSON envelope (or was too large). Code `ClientError.Decode`.
pub const TCSMS_STATUS_DECODE: tcsms_status = 9;
/// The service answered with an error: `*out_json` is its body as received, with its
/// own `Error.Code`, `Error.Message` and `RequestId`.
pub const TCSMS_STATUS_API_ERROR: tcsms_status = 10;
/// A bug in tcsms was caught before it could cross into the caller. Code
/// `ClientError.Panic`. Free the client involved and report the bug.
pub const TCSMS_STATUS_PANIC: tcsms_status = 11;
/// `tcsms_send_sms` / `tcsms_send_multi_global_sms` only: the request was handled, but
/// not every number's `Class` is `ok` (perhaps none is). `*out_json` holds the
/// per-number results, not an error envelope. Besides the service's codes, a result's
/// `Code` may be `ClientError.DuplicatePhoneNumber`, `ClientError.NotSent` or
/// `ClientError.NoResult` (see README, "Production sending").
pub const TCSMS_STATUS_PARTIAL: tcsms_status = 12;

/// A client. Opaque: create with `tcsms_client_new`, destroy with `tcsms_client_free`.
pub struct tcsms_client {
    inner: Arc<Client>,
}

pub(crate) fn status_of(kind: ErrorKind) -> tcsms_status {
    match kind {
        ErrorKind::InvalidJson => TCSMS_STATUS_INVALID_JSON,
        ErrorKind::InvalidArgument => TCSMS_STATUS_INVALID_ARGUMENT,
        ErrorKind::InvalidConfig => TCSMS_STATUS_INVALID_CONFIG,
        ErrorKind::Network => TCSMS_STATUS_NETWORK,
        ErrorKind::Timeout => TCSMS_STATUS_TIMEOUT,
        ErrorKind::HttpStatus => TCSMS_STATUS_HTTP_STATUS,
        ErrorKind::Decode => TCSMS_STATUS_DECODE,
        ErrorKind::Api => TCSMS_STATUS_API_ERROR,
    }
}

/// The failures only the C boundary has; the core's kinds are [`crate::ErrorKind`].
mod boundary {
    use super::{tcsms_status, TCSMS_STATUS_INVALID_UTF8, TCSMS_STATUS_NULL_ARGUMENT, TCSMS_STATUS_PANIC};

    #[derive(Debug, Clone, Copy)]
    pub(super) enum ErrorKind {
        /// A required pointer argument was NULL.
        NullArgument,
        /// A string argument was not valid UTF-8.
        InvalidUtf8,
        /// A panic was caught before it could cross into the caller.
        Panic,
    }

    pub(super) fn status_of(kind: ErrorKind) -> tcsms_status {
        match kind {
            ErrorKind::NullArgument => TCSMS_STATUS_NULL_ARGUMENT,
            ErrorKind::InvalidUtf8 => TCSMS_STATUS_INVALID_UTF8,
            ErrorKind::Panic => TCSMS_STATUS_PANIC,
        }
    }
}

/// A failure at the C boundary: the core's, or one of the boundary's own.
enum FfiError {
    Core(Error),
    Boundary(boundary::ErrorKind, &'static str, String),
}

impl From<Error> for FfiError {
    fn from(error: Error) -> FfiError {
        FfiError::Core(error)
    }
}

impl FfiError {
    fn null_argument(name: &str) -> FfiError {
        FfiError::Boundary(
            boundary::ErrorKind::NullArgument,
            codes::NULL_ARGUMENT,
            format!("argument `{name}` is NULL"),
        )
    }

    fn invalid_utf8(name: &str) -> FfiError {
        let message = format!("argument `{name}` is not valid UTF-8");
        FfiError::Boundary(boundary::ErrorKind::InvalidUtf8, codes::INVALID_UTF8, message)
    }

    fn panic(what: &str) -> FfiError {
        let message = format!("internal error in tcsms (please report it): {what}");
        FfiError::Boundary(boundary::ErrorKind::Panic, codes::PANIC, message)
    }

    fn status(&self) -> tcsms_status {
        match self {
            FfiError::Core(error) => status_of(error.kind()),
            FfiError::Boundary(kind, ..) => boundary::status_of(*kind),
        }
    }

    fn to_envelope_json(&self) -> String {
        match self {
            FfiError::Core(error) => error.to_envelope_json(),
            FfiError::Boundary(_, code, message) => envelope_json(code, message, ""),
        }
    }
}

/// Runs `body` inside the panic boundary and writes its result to `*out_json`.
///
/// # Safety
/// `out_json` is NULL or valid for one write.
unsafe fn boundary(
    out_json: *mut *mut c_char,
    body: impl FnOnce() -> Result<Option<String>, FfiError>,
) -> tcsms_status {
    if out_json.is_null() {
        return TCSMS_STATUS_NULL_ARGUMENT;
    }
    // SAFETY: checked non-NULL; the caller guarantees it is writable.
    unsafe { *out_json = ptr::null_mut() };
    let outcome =
        catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| Err(FfiError::panic(&panic_text(&*panic))));
    let (status, json) = match outcome {
        Ok(None) => return TCSMS_STATUS_OK,
        Ok(Some(json)) => (TCSMS_STATUS_OK, json),
        Err(error) => (error.status(), error.to_envelope_json()),
    };
    let (status, text) = match CString::new(json) {
        Ok(text) => (status, text),
        Err(_) => {
            let error = Error::local(ErrorKind::Decode, codes::DECODE, "answer contains a NUL byte");
            (TCSMS_STATUS_DECODE, CString::new(error.to_envelope_json()).unwrap_or_default())
        }
    };
    // SAFETY: as above.
    unsafe { *out_json = text.into_raw() };
    status
}

/// Borrows a NUL-terminated UTF-8 argument.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string valid for the duration of the call.
unsafe fn str_arg<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, FfiError> {
    if ptr.is_null() {
        return Err(FfiError::null_argument(name));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    unsafe { CStr::from_ptr(ptr) }.to_str().map_err(|_| FfiError::invalid_utf8(name))
}

/// Borrows the client behind a handle.
///
/// # Safety
/// `client` is NULL or a live handle from `tcsms_client_new`.
unsafe fn client_arg<'a>(client: *const tcsms_client) -> Result<&'a Client, FfiError> {
    // SAFETY: NULL or live per the caller's contract.
    unsafe { client.as_ref() }.map(|c| &*c.inner).ok_or_else(|| FfiError::null_argument("client"))
}

/// Creates a client from a JSON configuration object.
///
/// Keys (all optional; unknown keys are refused with the key named): `secret_id`,
/// `secret_key`, `token`, `region` (default "ap-guangzhou"), `endpoint` (default
/// "sms.intl.tencentcloudapi.com"; "host", "host:port", "https://host[:port]" or
/// "http://host:port"), `language` ("en-US" or "zh-CN"), `timeout_ms` (whole call,
/// default 15000), `connect_timeout_ms` (default 5000), `max_retries` (default 2),
/// `proxy` (an HTTP CONNECT proxy, http://[user:password@]host:port; SOCKS is refused;
/// default: ALL_PROXY/HTTPS_PROXY/HTTP_PROXY and NO_PROXY), `ca_file` (extra PEM roots:
/// a regular file of at most 1 MiB), `rate_limits` (client-side rate limits: an object
/// from action name to requests per second, "*" for every action not named, 0 for no
/// limit; default: 85 % of each action's documented limit, see README),
/// `log_phone_numbers` (true: events show phone numbers in full; default false, masked,
/// see `tcsms_client_set_event_callback`). Without `secret_id`/`secret_key`, TENCENTCLOUD_SECRET_ID/TENCENTCLOUD_SECRET_KEY are read,
/// then ~/.tencentcloud/credentials.
///
/// Ownership: `config_json` is borrowed for the call only. On success `*out_client` is a
/// new client owned by the caller (free it with `tcsms_client_free`) and `*out_json` is
/// NULL. On failure `*out_client` is NULL and `*out_json`, if not NULL, is an error
/// envelope owned by the caller (free it with `tcsms_free`).
///
/// Thread safety: may be called from any thread.
///
/// fork(): a client made before fork() may be used by the parent and the child, at
/// the same time: the child never uses a connection the parent opened (it closes its
/// copies, leaving the parent's connections alone, and opens its own). Fork while no
/// other thread is inside a call on the client.
///
/// Errors: TCSMS_STATUS_NULL_ARGUMENT, TCSMS_STATUS_INVALID_UTF8,
/// TCSMS_STATUS_INVALID_JSON, TCSMS_STATUS_INVALID_CONFIG. Secrets never appear in
/// error messages.
///
/// # Safety
/// Pointers are NULL or valid as described.
#[no_mangle]
pub unsafe extern "C" fn tcsms_client_new(
    config_json: *const c_char,
    out_client: *mut *mut tcsms_client,
    out_json: *mut *mut c_char,
) -> tcsms_status {
    if !out_client.is_null() {
        // SAFETY: non-NULL and writable per the contract.
        unsafe { *out_client = ptr::null_mut() };
    }
    // SAFETY: `out_json` per the contract; the closure only touches checked pointers.
    unsafe {
        boundary(out_json, || {
            if out_client.is_null() {
                return Err(FfiError::null_argument("out_client"));
            }
            let config = str_arg(config_json, "config_json")?;
            let client = Box::new(tcsms_client { inner: Arc::new(Client::from_json(config)?) });
            *out_client = Box::into_raw(client);
            Ok(None)
        })
    }
}

/// Destroys a client and closes its connections. NULL is a no-op.
///
/// Ownership: takes back the client from `tcsms_client_new`; the handle must not be
/// used afterwards, and must be freed only once.
///
/// Thread safety: must not race with other calls on the same client; wait for them
/// to return first. Calls submitted with `tcsms_submit` may still be pending: they
/// complete normally, and the connections close when the last of them ends.
///
/// # Safety
/// `client` is NULL or a live handle from `tcsms_client_new`.
#[no_mangle]
pub unsafe extern "C" fn tcsms_client_free(client: *mut tcsms_client) {
    if client.is_null() {
        return;
    }
    // SAFETY: a live handle from Box::into_raw, freed once per the contract.
    let client = unsafe { Box::from_raw(client) };
    let _ = catch_unwind(AssertUnwindSafe(move || drop(client)));
}

/// Reports that a verification-code SMS was converted (action ReportConversion).
///
/// `sms_sdk_app_id` is the SmsSdkAppId, `serial_no` the SerialNo that SendSms returned
/// for the message, `conversion_time` the Unix time in seconds when the code was used
/// (a negative value omits it).
///
/// Ownership: string arguments are borrowed for the call only. `*out_json` is set to
/// NULL on entry; afterwards any non-NULL value is owned by the caller (free it with
/// `tcsms_free`). On success it is the service's answer as received,
/// `{"Response":{"ReportConversionStatus":{...},"RequestId":"..."}}`; on failure an
/// error envelope (see `tcsms_status`).
///
/// Thread safety: any number of threads may call this on the same client at once.
/// Blocks until the answer arrives or the client's `timeout_ms` passes; idempotent, so
/// failed attempts may be retried (see README, "Retries").
///
/// Errors: every `TCSMS_STATUS_*` value except TCSMS_STATUS_INVALID_CONFIG.
///
/// # Safety
/// Pointers are NULL or valid as described.
#[no_mangle]
pub unsafe extern "C" fn tcsms_report_conversion(
    client: *const tcsms_client,
    sms_sdk_app_id: *const c_char,
    serial_no: *const c_char,
    conversion_time: i64,
    out_json: *mut *mut c_char,
) -> tcsms_status {
    // SAFETY: pointers per the contract.
    unsafe {
        boundary(out_json, || {
            let client = client_arg(client)?;
            let request = ReportConversionRequest {
                sms_sdk_app_id: str_arg(sms_sdk_app_id, "sms_sdk_app_id")?.to_owned(),
                serial_no: str_arg(serial_no, "serial_no")?.to_owned(),
                conversion_time: u64::try_from(conversion_time).ok(),
            };
            Ok(Some(client.report_conversion(&request)?))
        })
    }
}

/// Calls any action of the SMS API 2021-01-11 by name (for example "SendSms",
/// "PullSmsSendStatus", "DescribeSmsTemplateList") with its parameters as a JSON object
/// (for example `{"SmsSdkAppId":"1400000001","Limit":10}`). The JSON is checked, not
/// re-encoded: it is signed and sent as given, less any spaces, tabs and line breaks
/// around it. An action not in the API is refused locally (ClientError.UnknownAction).
///
/// Ownership, errors and `*out_json` as for `tcsms_report_conversion`.
///
/// Thread safety: any number of threads may call this on the same client at once.
/// Blocks until the answer arrives or the client's `timeout_ms` passes. SendSms,
/// SendMultiGlobalSms, Add*, Modify* and Delete* are never resent once they may have
/// reached the service.
///
/// # Safety
/// Pointers are NULL or valid as described.
#[no_mangle]
pub unsafe extern "C" fn tcsms_call(
    client: *const tcsms_client,
    action: *const c_char,
    request_json: *const c_char,
    out_json: *mut *mut c_char,
) -> tcsms_status {
    // SAFETY: pointers per the contract.
    unsafe { tcsms_call_with_timeout(client, action, request_json, 0, out_json) }
}

/// As `tcsms_call`, with a time limit for this call: when `timeout_ms` is greater than
/// 0 the whole call, retries included, ends after min(`timeout_ms`, the client's
/// `timeout_ms`) milliseconds; 0 means the client's `timeout_ms`. Bindings use it to
/// honour a caller's deadline (a Go context, a Python timeout).
///
/// # Safety
/// Pointers are NULL or valid as described for `tcsms_call`.
#[no_mangle]
pub unsafe extern "C" fn tcsms_call_with_timeout(
    client: *const tcsms_client,
    action: *const c_char,
    request_json: *const c_char,
    timeout_ms: u64,
    out_json: *mut *mut c_char,
) -> tcsms_status {
    // SAFETY: pointers per the contract.
    unsafe {
        boundary(out_json, || {
            let client = client_arg(client)?;
            let action = str_arg(action, "action")?;
            let request = str_arg(request_json, "request_json")?;
            let timeout = (timeout_ms > 0).then(|| Duration::from_millis(timeout_ms));
            Ok(Some(client.call_with_timeout(action, request, timeout)?))
        })
    }
}

/// Frees a string returned by tcsms (any `*out_json`). NULL is a no-op.
///
/// Ownership: takes the string back; use it only once per string, and never on
/// strings from elsewhere or on the static strings of `tcsms_status_str` and
/// `tcsms_version`. Never free tcsms strings with libc `free`.
///
/// Thread safety: may be called from any thread.
///
/// # Safety
/// `s` is NULL or a string returned by tcsms and not yet freed.
#[no_mangle]
pub unsafe extern "C" fn tcsms_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: produced by CString::into_raw in `boundary`, freed once per the contract.
        drop(unsafe { CString::from_raw(s) });
    }
}

/// A short static description of a status, such as "network error". Unknown values
/// give "unknown status".
///
/// Ownership: static; never free it. Thread safety: any thread.
#[no_mangle]
pub extern "C" fn tcsms_status_str(status: tcsms_status) -> *const c_char {
    let text: &'static CStr = match status {
        TCSMS_STATUS_OK => c"ok",
        TCSMS_STATUS_NULL_ARGUMENT => c"a required argument is NULL",
        TCSMS_STATUS_INVALID_UTF8 => c"a string argument is not valid UTF-8",
        TCSMS_STATUS_INVALID_JSON => c"a JSON argument is malformed or not an object",
        TCSMS_STATUS_INVALID_ARGUMENT => c"invalid argument",
        TCSMS_STATUS_INVALID_CONFIG => c"invalid configuration",
        TCSMS_STATUS_NETWORK => c"network error",
        TCSMS_STATUS_TIMEOUT => c"timed out",
        TCSMS_STATUS_HTTP_STATUS => c"unexpected HTTP status",
        TCSMS_STATUS_DECODE => c"the answer is not the service's JSON envelope",
        TCSMS_STATUS_API_ERROR => c"the service returned an error",
        TCSMS_STATUS_PANIC => c"internal error in tcsms",
        TCSMS_STATUS_PARTIAL => c"not every number was sent",
        _ => c"unknown status",
    };
    text.as_ptr()
}

/// The library version, such as "tcsms 0.1.0 (SMS API 2021-01-11)".
///
/// Ownership: static; never free it. Thread safety: any thread.
#[no_mangle]
pub extern "C" fn tcsms_version() -> *const c_char {
    const VERSION: &str = concat!("tcsms ", env!("CARGO_PKG_VERSION"), " (SMS API 2021-01-11)\0");
    VERSION.as_ptr().cast()
}

/// The ABI version of the loaded library; compare it with `TCSMS_ABI_VERSION`.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn tcsms_abi_version() -> u32 {
    TCSMS_ABI_VERSION
}

/// Parses the body of a callback that Tencent Cloud POSTs to your URL: a delivery-status
/// callback (a JSON array of reports) or a reply callback (one JSON object).
///
/// `body` is `len` bytes, not NUL-terminated (NULL with `len` 0 is an empty body). On
/// success `*out_json` is `{"Kind":"delivery","Reports":[{...},...]}` or
/// `{"Kind":"reply","Reply":{...}}`, with the service's field names kept
/// (`user_receive_time`, `nationcode`, `mobile`, `report_status`, `errmsg`,
/// `description`, `sid`; `extend`, `mobile`, `nationcode`, `sign`, `text`, `time`) and
/// the number in E.164 as `"PhoneNumber":"+86..."`. A receiver that took the callback
/// answers HTTP 200 with exactly the body `{"result": 0, "errmsg": "OK"}`.
///
/// Ownership: `body` is borrowed for the call only; `*out_json` as for
/// `tcsms_report_conversion`.
///
/// Thread safety: any thread; no client needed. Never blocks.
///
/// Errors: TCSMS_STATUS_NULL_ARGUMENT (`body` NULL with `len` > 0, or `out_json` NULL),
/// TCSMS_STATUS_INVALID_UTF8, TCSMS_STATUS_INVALID_JSON (malformed or truncated),
/// TCSMS_STATUS_INVALID_ARGUMENT (empty, over 1 MiB, or a wrong shape: the error message
/// names the record and field).
///
/// # Safety
/// `body` is NULL or valid for reads of `len` bytes; `out_json` as described.
#[no_mangle]
pub unsafe extern "C" fn tcsms_parse_callback(
    body: *const c_char,
    len: usize,
    out_json: *mut *mut c_char,
) -> tcsms_status {
    // SAFETY: pointers per the contract; `len` is checked against the 1 MiB limit before
    // a slice is formed, so it never exceeds isize::MAX.
    unsafe {
        boundary(out_json, || {
            crate::callback::check_len(len)?;
            let bytes: &[u8] = match (body.is_null(), len) {
                (true, 0) => &[],
                (true, _) => return Err(FfiError::null_argument("body")),
                (false, _) => std::slice::from_raw_parts(body.cast::<u8>(), len),
            };
            std::str::from_utf8(bytes).map_err(|_| FfiError::invalid_utf8("body"))?;
            Ok(Some(crate::callback::parse(bytes)?.to_json()))
        })
    }
}

/// Runs a send (per-number results) in the boundary: `TCSMS_STATUS_PARTIAL` when not
/// every number is `ok`.
///
/// # Safety
/// As for [`boundary`].
unsafe fn send_boundary(
    out_json: *mut *mut c_char,
    body: impl FnOnce() -> Result<crate::send::SendResults, FfiError>,
) -> tcsms_status {
    let mut all_ok = true;
    // SAFETY: per the caller's contract.
    let status = unsafe {
        boundary(out_json, || {
            let results = body()?;
            all_ok = results.all_ok();
            Ok(Some(results.to_json()))
        })
    };
    if status == TCSMS_STATUS_OK && !all_ok {
        TCSMS_STATUS_PARTIAL
    } else {
        status
    }
}

/// The body of the four send functions: `send` is a `Client::send_*_with_timeout`.
///
/// # Safety
/// Pointers are NULL or valid as described for `tcsms_send_sms`.
unsafe fn send_with_timeout(
    client: *const tcsms_client,
    request_json: *const c_char,
    timeout_ms: u64,
    out_json: *mut *mut c_char,
    send: fn(&Client, &str, Option<Duration>) -> Result<crate::send::SendResults, Error>,
) -> tcsms_status {
    // SAFETY: pointers per the contract.
    unsafe {
        send_boundary(out_json, || {
            let client = client_arg(client)?;
            let timeout = (timeout_ms > 0).then(|| Duration::from_millis(timeout_ms));
            Ok(send(client, str_arg(request_json, "request_json")?, timeout)?)
        })
    }
}

/// Sends a SendSms request to any number of numbers and returns one result per number.
///
/// `request_json` is a SendSms request object (as for `tcsms_call`) whose
/// `PhoneNumberSet` has at least one number, any number of them. Each number must be
/// E.164 (`+` and the country code, such as `+8613800000000`) or an 11-digit mainland
/// number (sent as `+86...`); otherwise nothing is sent and the call fails with
/// TCSMS_STATUS_INVALID_ARGUMENT and code `ClientError.InvalidPhoneNumber`, whose
/// message names the number's 0-based index. A number given twice is sent once; its
/// later places get Code `ClientError.DuplicatePhoneNumber`. More than 200 numbers are
/// sent in batches of at most 200, in order, each limited by the client's `timeout_ms`.
///
/// On TCSMS_STATUS_OK or TCSMS_STATUS_PARTIAL, `*out_json` is
/// `{"Results":[{"PhoneNumber":"+8613711112222","SerialNo":"...","Code":"Ok","Message":"...","Fee":1,"Class":"ok"}, ...],"RequestIds":["..."]}`
/// with one result per input number, in input order (`PhoneNumber` in E.164 form).
/// `Class` is `ok`, `rejected` (permanent: the number, a blacklist, the signature or
/// template, the content), `limited` (per-number frequency limits,
/// `LimitExceeded.PhoneNumber*`), `failed` (not sent; may be retried) or `unknown` (the
/// request may or may not have been delivered; it was not resent). The status is OK
/// only when every number is `ok`, and TCSMS_STATUS_PARTIAL otherwise (even when none
/// is). When the first batch is refused as a whole (authentication, app, template, a
/// network failure), the call returns that status and error envelope, as `tcsms_call`
/// does. When a later batch fails as a whole, its numbers get the error's code and
/// class `unknown` (the service may have acted) or the code's class, and the batches
/// after it are not sent (`ClientError.NotSent`, `failed`). The README's "Production
/// sending" section lists the classification.
///
/// Ownership: `request_json` is borrowed for the call only; `*out_json` is set to NULL
/// on entry and any non-NULL value is owned by the caller (free it with `tcsms_free`).
///
/// Thread safety: any number of threads may call this on the same client at once.
///
/// # Safety
/// Pointers are NULL or valid as described.
#[no_mangle]
pub unsafe extern "C" fn tcsms_send_sms(
    client: *const tcsms_client,
    request_json: *const c_char,
    out_json: *mut *mut c_char,
) -> tcsms_status {
    // SAFETY: pointers per the contract.
    unsafe { tcsms_send_sms_with_timeout(client, request_json, 0, out_json) }
}

/// As `tcsms_send_sms`, for SendMultiGlobalSms: `request_json` is a SendMultiGlobalSms
/// request whose `MultiSmsInfoSet` has at least one entry, any number of them; each
/// entry's `PhoneNumber` is checked, deduplicated and batched as there, and the results
/// (one per entry, in input order) have the same shape and statuses.
///
/// # Safety
/// Pointers are NULL or valid as described for `tcsms_send_sms`.
#[no_mangle]
pub unsafe extern "C" fn tcsms_send_multi_global_sms(
    client: *const tcsms_client,
    request_json: *const c_char,
    out_json: *mut *mut c_char,
) -> tcsms_status {
    // SAFETY: pointers per the contract.
    unsafe { tcsms_send_multi_global_sms_with_timeout(client, request_json, 0, out_json) }
}

/// As `tcsms_send_sms`, with a time limit: when `timeout_ms` is greater than 0 the whole
/// send, every batch included, ends within `timeout_ms` milliseconds (each batch also
/// within the client's `timeout_ms`); batches that no longer fit are not sent
/// (`ClientError.NotSent`). 0 means: each batch within the client's `timeout_ms`.
/// Bindings use it to honour a caller's deadline.
///
/// # Safety
/// Pointers are NULL or valid as described for `tcsms_send_sms`.
#[no_mangle]
pub unsafe extern "C" fn tcsms_send_sms_with_timeout(
    client: *const tcsms_client,
    request_json: *const c_char,
    timeout_ms: u64,
    out_json: *mut *mut c_char,
) -> tcsms_status {
    // SAFETY: pointers per the contract.
    unsafe { send_with_timeout(client, request_json, timeout_ms, out_json, Client::send_sms_with_timeout) }
}

/// As `tcsms_send_multi_global_sms`, with a time limit as for `tcsms_send_sms_with_timeout`.
///
/// # Safety
/// Pointers are NULL or valid as described for `tcsms_send_sms`.
#[no_mangle]
pub unsafe extern "C" fn tcsms_send_multi_global_sms_with_timeout(
    client: *const tcsms_client,
    request_json: *const c_char,
    timeout_ms: u64,
    out_json: *mut *mut c_char,
) -> tcsms_status {
    // SAFETY: pointers per the contract.
    unsafe { send_with_timeout(client, request_json, timeout_ms, out_json, Client::send_multi_global_sms_with_timeout) }
}

/// Replaces the client's credentials, for example temporary ones about to expire;
/// `token` is NULL (or "") for none.
///
/// Safe while calls are in flight on other threads: calls already signing finish with
/// the old credentials, later ones use the new. The connection pool is kept. The old
/// secret key and token are zeroed when the last call using them ends. The values are
/// checked as in `tcsms_client_new` (non-empty, printable ASCII, no surrounding
/// whitespace); when refused, the current credentials stay.
///
/// Ownership: the strings are borrowed for the call only (copied). On success
/// `*out_json` is NULL; on failure an error envelope owned by the caller (free it with
/// `tcsms_free`).
///
/// Errors: TCSMS_STATUS_NULL_ARGUMENT, TCSMS_STATUS_INVALID_UTF8,
/// TCSMS_STATUS_INVALID_CONFIG. Secrets never appear in error messages.
///
/// # Safety
/// Pointers are NULL or valid as described.
#[no_mangle]
pub unsafe extern "C" fn tcsms_client_set_credentials(
    client: *const tcsms_client,
    secret_id: *const c_char,
    secret_key: *const c_char,
    token: *const c_char, /* NULL: none */
    out_json: *mut *mut c_char,
) -> tcsms_status {
    // SAFETY: pointers per the contract.
    unsafe {
        boundary(out_json, || {
            let client = client_arg(client)?;
            let secret_id = str_arg(secret_id, "secret_id")?;
            let secret_key = str_arg(secret_key, "secret_key")?;
            let token = if token.is_null() { None } else { Some(str_arg(token, "token")?) };
            client.set_credentials(secret_id, secret_key, token)?;
            Ok(None)
        })
    }
}

/// Writes to `*out_seconds` how many seconds the service's clock runs ahead of this
/// host's (negative: behind), as the client learned it: when the service refuses a
/// request with `AuthFailure.SignatureExpire` (more than 300 s of skew), the client
/// reads the service's time from the answer's `Date` header, keeps the offset, re-signs
/// and sends that request once more, and signs every later request with the corrected
/// time. 0 until then.
///
/// Errors: TCSMS_STATUS_NULL_ARGUMENT when `client` or `out_seconds` is NULL (nothing
/// is written then). Thread safety: any thread, at any time.
///
/// # Safety
/// `client` is NULL or a live handle; `out_seconds` is NULL or valid for one write.
#[no_mangle]
pub unsafe extern "C" fn tcsms_client_clock_offset(client: *const tcsms_client, out_seconds: *mut i64) -> tcsms_status {
    // SAFETY: NULL or live per the contract.
    let Some(client) = (unsafe { client.as_ref() }) else {
        return TCSMS_STATUS_NULL_ARGUMENT;
    };
    if out_seconds.is_null() {
        return TCSMS_STATUS_NULL_ARGUMENT;
    }
    // SAFETY: non-NULL and writable per the contract.
    unsafe { *out_seconds = client.inner.clock_offset() };
    TCSMS_STATUS_OK
}

use std::ffi::c_void;

/// An event callback: `event_json` is one event, a NUL-terminated JSON object valid only
/// during the call (copy it to keep it). See `tcsms_client_set_event_callback`.
pub type tcsms_event_fn = Option<unsafe extern "C" fn(user_data: *mut c_void, event_json: *const c_char)>;

/// The C callback and its `user_data`, called from the thread making the call.
struct CEventHook {
    callback: unsafe extern "C" fn(*mut c_void, *const c_char),
    user_data: *mut c_void,
}

// SAFETY: the caller of `tcsms_client_set_event_callback` promises that `fn` may be called
// with `user_data` from any thread that calls the client.
unsafe impl Send for CEventHook {}
// SAFETY: as above.
unsafe impl Sync for CEventHook {}

impl CEventHook {
    fn call(&self, event: &str) {
        // Events are JSON, whose strings escape NUL: the conversion cannot fail.
        if let Ok(text) = CString::new(event) {
            // SAFETY: a callback and user_data given together by the caller.
            unsafe { (self.callback)(self.user_data, text.as_ptr()) };
        }
    }
}

/// Installs the client's event callback, or removes it when `fn` is NULL.
///
/// The callback receives one JSON object per attempt (`"event":"attempt"`) and one per
/// call (`"event":"call"`), with the keys `event`, `action`, `attempt` (1-based; in a call
/// event, the number of attempts), `status` (the TCSMS_STATUS_* number), `code` (the
/// Error.Code, or null), `request_id` (or null), `latency_us`, `retry`, `retry_reason`,
/// `retry_delay_us` (attempt events), `retries` (call events), `rate_limit_wait_us`,
/// `clock_offset_s`, `clock_corrected`, `bytes_sent`, `bytes_received` (body bytes) and,
/// for requests with phone numbers, `phone_numbers`, masked (`+86137****2222`) unless the
/// configuration key `log_phone_numbers` is true. No secret, signature or token is ever
/// in an event. See docs/events.md.
///
/// The callback runs on the thread making the call, after each attempt and at the end of
/// the call; `event_json` is valid only during the callback. It must not call the client's
/// request functions: such a call returns TCSMS_STATUS_INVALID_ARGUMENT with the code
/// `ClientError.Reentrant` instead of deadlocking. `fn` must return normally (a C++
/// exception must not escape it). `user_data` is passed through untouched; it must stay
/// valid until the callback is replaced or removed and no call that started before is
/// still running, or the client is freed.
///
/// Thread safety: may be called at any time from any thread; calls in flight keep the
/// callback they started with.
///
/// Ownership: on success `*out_json` is NULL; on failure an error envelope owned by the
/// caller (free it with `tcsms_free`). Errors: TCSMS_STATUS_NULL_ARGUMENT.
///
/// # Safety
/// `client` is NULL or a live handle; `out_json` is NULL or valid for one write; `fn`,
/// when not NULL, may be called with `user_data` from any thread that calls the client.
#[no_mangle]
pub unsafe extern "C" fn tcsms_client_set_event_callback(
    client: *const tcsms_client,
    r#fn: tcsms_event_fn,
    user_data: *mut c_void,
    out_json: *mut *mut c_char,
) -> tcsms_status {
    // SAFETY: pointers per the contract.
    unsafe {
        boundary(out_json, || {
            let client = client_arg(client)?;
            let hook = r#fn.map(|callback| {
                let hook = CEventHook { callback, user_data };
                Box::new(move |event: &str| hook.call(event)) as Box<crate::events::EventFn>
            });
            client.set_event_callback(hook);
            Ok(None)
        })
    }
}

/// Writes the client's statistics since it was made to `*out_json`:
/// `{"Actions":{"SendSms":{"Calls":N,"Attempts":N,"Retries":N,"Codes":{"ok":N,...},
/// "LatencyUs":{"p50":N,"p90":N,"p99":N,"max":N},"RateLimitWaits":N,"RateLimitWaitUs":N},...},
/// "RateLimitWaits":N,"RateLimitWaitUs":N}`. `Codes` counts calls by final outcome
/// (successes under "ok") and sums to `Calls`; only actions called at least once appear;
/// percentiles are within 25 % above the true value (log-scale buckets), never above `max`.
///
/// Ownership: `*out_json` is a string owned by the caller (free it with `tcsms_free`),
/// on success and on failure. Errors: TCSMS_STATUS_NULL_ARGUMENT. Thread safety: any
/// thread, at any time (also from inside the event callback).
///
/// # Safety
/// `client` is NULL or a live handle; `out_json` is NULL or valid for one write.
#[no_mangle]
pub unsafe extern "C" fn tcsms_client_stats(client: *const tcsms_client, out_json: *mut *mut c_char) -> tcsms_status {
    // SAFETY: pointers per the contract.
    unsafe { boundary(out_json, || Ok(Some(client_arg(client)?.stats_json()))) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(out: *mut c_char) -> String {
        assert!(!out.is_null());
        let s = unsafe { CStr::from_ptr(out) }.to_str().unwrap().to_owned();
        unsafe { tcsms_free(out) };
        s
    }

    #[test]
    fn null_arguments_are_refused_without_crashing() {
        let mut out = ptr::null_mut();
        let mut client = ptr::null_mut();
        assert_eq!(unsafe { tcsms_client_new(ptr::null(), &mut client, &mut out) }, TCSMS_STATUS_NULL_ARGUMENT);
        assert!(client.is_null());
        assert!(take(out).contains("ClientError.NullArgument"));
        assert_eq!(unsafe { tcsms_client_new(c"{}".as_ptr(), ptr::null_mut(), &mut out) }, TCSMS_STATUS_NULL_ARGUMENT);
        assert!(take(out).contains("out_client"));
        assert_eq!(
            unsafe { tcsms_call(ptr::null(), c"SendSms".as_ptr(), c"{}".as_ptr(), &mut out) },
            TCSMS_STATUS_NULL_ARGUMENT
        );
        assert!(take(out).contains("`client`"));
        assert_eq!(
            unsafe { tcsms_call(ptr::null(), ptr::null(), ptr::null(), ptr::null_mut()) },
            TCSMS_STATUS_NULL_ARGUMENT
        );
        unsafe { tcsms_client_free(ptr::null_mut()) };
        unsafe { tcsms_free(ptr::null_mut()) };
    }

    #[test]
    fn bad_config_is_reported_in_the_envelope() {
        let mut out = ptr::null_mut();
        let mut client = ptr::null_mut();
        let config = cr#"{"secret_id":"a","secret_key":"b","tiemout_ms":1}"#;
        assert_eq!(unsafe { tcsms_client_new(config.as_ptr(), &mut client, &mut out) }, TCSMS_STATUS_INVALID_CONFIG);
        let json = take(out);
        assert!(json.contains("tiemout_ms") && json.contains("ClientError.InvalidConfig"), "{json}");
        let bytes = [b'{', 0xff, b'}', 0];
        assert_eq!(
            unsafe { tcsms_client_new(bytes.as_ptr().cast(), &mut client, &mut out) },
            TCSMS_STATUS_INVALID_UTF8
        );
        assert!(take(out).contains("ClientError.InvalidUtf8"));
    }

    #[test]
    fn panics_become_statuses() {
        let mut out = ptr::null_mut();
        let status = unsafe { boundary(&mut out, || panic!("boom")) };
        assert_eq!(status, TCSMS_STATUS_PANIC);
        let json = take(out);
        assert!(json.contains("ClientError.Panic") && json.contains("boom"), "{json}");
    }

    #[test]
    fn every_status_has_a_text() {
        for status in 0..=12 {
            let text = unsafe { CStr::from_ptr(tcsms_status_str(status)) }.to_str().unwrap();
            assert_ne!(text, "unknown status", "{status}");
        }
        assert_eq!(unsafe { CStr::from_ptr(tcsms_status_str(99)) }.to_str().unwrap(), "unknown status");
        assert!(unsafe { CStr::from_ptr(tcsms_version()) }.to_str().unwrap().starts_with("tcsms "));
        assert_eq!(tcsms_abi_version(), TCSMS_ABI_VERSION);
    }
}

// The completion queue (asynchronous calls): its own file, so this one stays the
// blocking API.
mod queue;
