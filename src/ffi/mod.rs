//! The C ABI: a thin, boring layer over the core.
//!
//! Every exported function has the same skeleton: set the out-pointers to NULL, check
//! the arguments (NULL, UTF-8), call the core inside a panic boundary ([`boundary`]),
//! write `*out_json`, return a status.
//!
//! The header `include/tcsms.h` is generated from these files by cbindgen (see build.rs);
//! the doc comments here become the header's documentation, and the modules below give
//! its order: one topic after another.

#![allow(non_camel_case_types)]
// The C boundary dereferences the caller's pointers: the crate's one module of `unsafe`
// functions (each block with a SAFETY comment).
#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

// One topic per file. cbindgen follows these `mod` items in order, so this order is the
// header's (each stands alone, so that rustfmt keeps the order).

// Versions: of the ABI this header describes and of the library loaded.
mod version;

// `tcsms_status` and its text.
mod status;

// `tcsms_free`: every string tcsms returns.
mod memory;

// The skeleton every function shares: argument checks, the panic catch, the envelope.
mod boundary;

// A client: made, configured, shared, freed.
mod client;

// Calls: any action by name, ReportConversion.
mod call;

// Sends with per-number results.
mod send;

// The completion queue: asynchronous calls for event loops.
mod queue;

// Callback bodies Tencent Cloud POSTs to your URL.
mod callback;

// One value out of a JSON answer, for C callers without a JSON parser.
mod json;

// Connections opened ahead of the first calls.
mod connect;

#[cfg(test)]
mod tests {
    use super::boundary::boundary;
    use super::call::*;
    use super::client::*;
    use super::memory::*;
    use super::status::*;
    use super::version::*;
    use std::ffi::{c_char, CStr};
    use std::ptr;

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
