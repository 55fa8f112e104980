//! The C ABI's JSON accessor (`crate::json_path`): one value out of an answer, for C
//! callers without a JSON parser. Same skeleton as the blocking functions in `call.rs`.

use super::boundary::{boundary, str_arg};
use super::status::tcsms_status;
use std::ffi::c_char;

/// Reads one value out of a JSON document, such as an answer from any tcsms function,
/// so that C code needs no JSON parser for the basic flow.
///
/// `path` is keys separated by `.`, each followed by any number of `[N]` array indexes
/// (0-based): `Response.SendStatusSet[0].SerialNo`, `Results[1].Class`,
/// `Response.Error.Code`; a path may start with an index when the document is an array
/// (`[0].Name`). A key cannot contain `.`, `[` or `]`; when a key repeats in an object,
/// its last value counts.
///
/// On success `*out_value` is the value: a string unquoted and unescaped (UTF-8), any
/// other value as compact JSON (`1`, `true`, `null`, `{"Class":"ok",...}`, with object keys
/// in the document's order and numbers as written).
///
/// Ownership: `json` and `path` are borrowed for the call only. `*out_value` is set to
/// NULL on entry; afterwards any non-NULL value is owned by the caller (free it with
/// `tcsms_free`): the value on success, an error envelope on failure.
///
/// Thread safety: any thread; no client needed. Never blocks.
///
/// Errors: TCSMS_STATUS_NULL_ARGUMENT, TCSMS_STATUS_INVALID_UTF8,
/// TCSMS_STATUS_INVALID_JSON (`json` is not one JSON value; checked as a whole, also
/// after the value sought), TCSMS_STATUS_INVALID_ARGUMENT (the path is not in the
/// document: the message names the first missing segment; a malformed or empty path; a
/// path over 4096 bytes or 64 steps; `json` over 16 MiB; a string value holding
/// U+0000, which a C string cannot carry).
///
/// # Safety
/// `json` and `path` are NULL or NUL-terminated strings; `out_value` is NULL or valid
/// for one write.
#[no_mangle]
pub unsafe extern "C" fn tcsms_json_get(
    json: *const c_char,
    path: *const c_char,
    out_value: *mut *mut c_char,
) -> tcsms_status {
    // SAFETY: pointers per the contract.
    unsafe {
        boundary(out_value, || {
            let json = str_arg(json, "json")?;
            let path = str_arg(path, "path")?;
            Ok(Some(crate::json_path::get(json, path)?))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::memory::tcsms_free;
    use super::super::status::*;
    use super::*;
    use std::ffi::CStr;
    use std::ptr;

    fn call(json: *const c_char, path: *const c_char) -> (tcsms_status, Option<String>) {
        let mut out = ptr::null_mut();
        let status = unsafe { tcsms_json_get(json, path, &mut out) };
        let text = (!out.is_null()).then(|| {
            let text = unsafe { CStr::from_ptr(out) }.to_str().unwrap().to_owned();
            unsafe { tcsms_free(out) };
            text
        });
        (status, text)
    }

    #[test]
    fn a_value_and_each_failure_status() {
        let json = cr#"{"Response":{"SendStatusSet":[{"SerialNo":"5000:1","Fee":1}]}}"#;
        let (status, text) = call(json.as_ptr(), c"Response.SendStatusSet[0].SerialNo".as_ptr());
        assert_eq!((status, text.as_deref()), (TCSMS_STATUS_OK, Some("5000:1")));
        let (status, text) = call(json.as_ptr(), c"Response.SendStatusSet[1]".as_ptr());
        assert_eq!(status, TCSMS_STATUS_INVALID_ARGUMENT);
        let text = text.unwrap();
        assert!(text.contains("ClientError.InvalidArgument") && text.contains("`[1]` not found"), "{text}");
        let (status, text) = call(c"{".as_ptr(), c"a".as_ptr());
        assert_eq!(status, TCSMS_STATUS_INVALID_JSON);
        assert!(text.unwrap().contains("ClientError.InvalidJson"));
        let (status, text) = call(ptr::null(), c"a".as_ptr());
        assert_eq!(status, TCSMS_STATUS_NULL_ARGUMENT);
        assert!(text.unwrap().contains("`json`"));
        let (status, text) = call(json.as_ptr(), ptr::null());
        assert_eq!(status, TCSMS_STATUS_NULL_ARGUMENT);
        assert!(text.unwrap().contains("`path`"));
        let bad = [b'a', 0xff, 0];
        let (status, text) = call(json.as_ptr(), bad.as_ptr().cast());
        assert_eq!(status, TCSMS_STATUS_INVALID_UTF8);
        assert!(text.unwrap().contains("`path`"));
        assert_eq!(
            unsafe { tcsms_json_get(json.as_ptr(), c"a".as_ptr(), ptr::null_mut()) },
            TCSMS_STATUS_NULL_ARGUMENT
        );
    }
}
