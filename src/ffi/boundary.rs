//! The boundary every exported function goes through: argument checks (NULL, UTF-8), the
//! panic catch, and the error envelope written to `*out_json`.

use super::client::tcsms_client;
use super::status::*;
use crate::client::Client;
use crate::error::{codes, envelope_json, panic_text, Error, ErrorKind};
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

/// A failure at the C boundary: the core's, or one of the boundary's own.
pub(super) enum FfiError {
    Core(Error),
    Boundary(BoundaryKind, &'static str, String),
}

impl From<Error> for FfiError {
    fn from(error: Error) -> FfiError {
        FfiError::Core(error)
    }
}

impl FfiError {
    pub(super) fn null_argument(name: &str) -> FfiError {
        FfiError::Boundary(BoundaryKind::NullArgument, codes::NULL_ARGUMENT, format!("argument `{name}` is NULL"))
    }

    pub(super) fn invalid_utf8(name: &str) -> FfiError {
        let message = format!("argument `{name}` is not valid UTF-8");
        FfiError::Boundary(BoundaryKind::InvalidUtf8, codes::INVALID_UTF8, message)
    }

    pub(super) fn panic(what: &str) -> FfiError {
        let message = format!("internal error in tcsms (please report it): {what}");
        FfiError::Boundary(BoundaryKind::Panic, codes::PANIC, message)
    }

    pub(super) fn status(&self) -> tcsms_status {
        match self {
            FfiError::Core(error) => error.kind().status().value(),
            FfiError::Boundary(kind, ..) => kind.status(),
        }
    }

    pub(super) fn to_envelope_json(&self) -> String {
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
pub(super) unsafe fn boundary(
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
pub(super) unsafe fn str_arg<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, FfiError> {
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
pub(super) unsafe fn client_arg<'a>(client: *const tcsms_client) -> Result<&'a Client, FfiError> {
    // SAFETY: NULL or live per the caller's contract.
    unsafe { client.as_ref() }.map(|c| &*c.inner).ok_or_else(|| FfiError::null_argument("client"))
}
