//! Connections opened ahead of the first calls.

use super::boundary::{boundary, client_arg};
use super::client::tcsms_client;
use super::status::*;
use std::ffi::c_char;
use std::time::Duration;

/// Opens connections to the endpoint before the first calls (TCP, the proxy's tunnel,
/// the TLS handshake), so that the first calls find them warm: afterwards up to `count`
/// (at most 64) idle connections wait in the client's pool, each closed after 15 s
/// unused. Nothing is sent on them. `*out_ready` is set to
/// how many wait (connections already idle count), 0 on failure (the connections opened
/// before the failure stay in the pool).
///
/// `timeout_ms` bounds the whole function: min(`timeout_ms`, the client's `timeout_ms`)
/// milliseconds when greater than 0, else the client's `timeout_ms`; each connection
/// takes at most `connect_timeout_ms`.
///
/// Harmless when the endpoint is down: the function fails within the time limit with
/// TCSMS_STATUS_NETWORK or TCSMS_STATUS_TIMEOUT and an error envelope in `*out_json`,
/// and the client is as before.
///
/// Ownership: `*out_json` is set to NULL on entry; afterwards any non-NULL value is an
/// error envelope owned by the caller (free it with `tcsms_free`). On success it stays
/// NULL.
///
/// Thread safety: any thread, also while other threads call the client.
///
/// Errors: TCSMS_STATUS_NULL_ARGUMENT, TCSMS_STATUS_NETWORK, TCSMS_STATUS_TIMEOUT.
///
/// # Safety
/// `client` is NULL or a live handle; `out_ready` is NULL or valid for one write;
/// `out_json` as described.
#[no_mangle]
pub unsafe extern "C" fn tcsms_client_connect_ahead(
    client: *const tcsms_client,
    count: u32,
    timeout_ms: u64,
    out_ready: *mut u64,
    out_json: *mut *mut c_char,
) -> tcsms_status {
    if out_ready.is_null() {
        // SAFETY: pointers per the contract.
        return unsafe { boundary(out_json, || Err(super::boundary::FfiError::null_argument("out_ready"))) };
    }
    // SAFETY: non-NULL and writable per the contract.
    unsafe { *out_ready = 0 };
    // SAFETY: pointers per the contract.
    unsafe {
        boundary(out_json, || {
            let client = client_arg(client)?;
            let timeout = (timeout_ms > 0).then(|| Duration::from_millis(timeout_ms));
            let ready = client.connect_ahead(count as usize, timeout)?;
            // SAFETY: non-NULL and writable per the contract.
            *out_ready = ready as u64;
            Ok(None)
        })
    }
}
