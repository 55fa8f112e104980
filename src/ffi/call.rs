//! Calls: any action by name, and ReportConversion with its arguments.

use super::boundary::{boundary, client_arg, str_arg};
use super::client::tcsms_client;
use super::status::*;
use crate::api::ReportConversionRequest;
use std::ffi::c_char;
use std::time::Duration;

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
