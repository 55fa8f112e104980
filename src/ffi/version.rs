//! Versions: of the ABI this header describes and of the library actually loaded.

use std::ffi::c_char;

/// The ABI version of this header. `tcsms_abi_version()` returns the version of the
/// library actually loaded; bindings compare the two at load time. It changes only
/// when a function's signature or meaning changes incompatibly.
pub const TCSMS_ABI_VERSION: u32 = 1;

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
