//! Memory: every string tcsms returns is freed with `tcsms_free`.

use std::ffi::{c_char, CString};

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
