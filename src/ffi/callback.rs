//! Callback parsing: the bodies Tencent Cloud POSTs to your URL. No client needed.

use super::boundary::{boundary, FfiError};
use super::status::*;
use std::ffi::c_char;

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

#[cfg(test)]
mod tests {
    use super::super::memory::tcsms_free;
    use super::*;
    use crate::callback::tests::REPLY;
    use std::ffi::{c_char, CStr};
    use std::ptr;

    fn call(body: *const c_char, len: usize) -> (tcsms_status, String) {
        let mut out = ptr::null_mut();
        let status = unsafe { tcsms_parse_callback(body, len, &mut out) };
        assert!(!out.is_null());
        let json = unsafe { CStr::from_ptr(out) }.to_str().unwrap().to_owned();
        unsafe { tcsms_free(out) };
        (status, json)
    }

    #[test]
    fn parses_from_bytes_with_a_length() {
        // The length counts, not a NUL: trailing garbage beyond `len` is not read.
        let mut bytes = REPLY.as_bytes().to_vec();
        bytes.extend_from_slice(b"garbage");
        let (status, json) = call(bytes.as_ptr().cast(), REPLY.len());
        assert_eq!(status, TCSMS_STATUS_OK, "{json}");
        assert!(json.starts_with(r#"{"Kind":"reply","Reply":{"#), "{json}");
        assert!(json.contains(r#""PhoneNumber":"+8613900000001""#), "{json}");
    }

    #[test]
    fn statuses_of_bad_bodies() {
        let (status, json) = call(ptr::null(), 0);
        assert_eq!(status, TCSMS_STATUS_INVALID_ARGUMENT);
        assert!(json.contains("callback body is empty"), "{json}");
        let (status, json) = call(ptr::null(), 3);
        assert_eq!(status, TCSMS_STATUS_NULL_ARGUMENT);
        assert!(json.contains("`body`"), "{json}");
        // Over the limit: refused from the length alone, the pointer is never read.
        let byte = 0u8;
        let (status, json) = call((&byte as *const u8).cast(), usize::MAX);
        assert_eq!(status, TCSMS_STATUS_INVALID_ARGUMENT);
        assert!(json.contains("over the limit"), "{json}");
        let bad = b"[\xff]";
        assert_eq!(call(bad.as_ptr().cast(), bad.len()).0, TCSMS_STATUS_INVALID_UTF8);
        let cut = &REPLY.as_bytes()[..10];
        assert_eq!(call(cut.as_ptr().cast(), cut.len()).0, TCSMS_STATUS_INVALID_JSON);
        assert_eq!(unsafe { tcsms_parse_callback(ptr::null(), 0, ptr::null_mut()) }, TCSMS_STATUS_NULL_ARGUMENT);
    }
}
