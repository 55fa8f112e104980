//! Sends with per-number results: SendSms and SendMultiGlobalSms to any number of numbers.

use super::boundary::{boundary, client_arg, str_arg, FfiError};
use super::client::tcsms_client;
use super::status::*;
use crate::client::Client;
use crate::error::Error;
use std::ffi::c_char;
use std::time::Duration;

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
