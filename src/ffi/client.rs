//! The client: made from a JSON configuration, shared between threads, freed once.

use super::boundary::{boundary, client_arg, str_arg, FfiError};
use super::status::*;
use crate::client::Client;
use std::ffi::{c_char, c_void, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::Arc;

/// A client. Opaque: create with `tcsms_client_new`, destroy with `tcsms_client_free`.
pub struct tcsms_client {
    pub(super) inner: Arc<Client>,
}

/// Creates a client from a JSON configuration object.
///
/// Keys (all optional; unknown keys are refused with the key named): `secret_id`,
/// `secret_key`, `token`, `region` (default "ap-guangzhou"), `endpoint` (default: the
/// environment variable TCSMS_ENDPOINT when set and not empty, else
/// "sms.intl.tencentcloudapi.com"; "host", "host:port", "https://host[:port]" or
/// "http://host:port"), `language` ("en-US" or "zh-CN"), `timeout_ms` (whole call,
/// default 15000), `connect_timeout_ms` (default 5000), `max_retries` (default 2),
/// `proxy` (an HTTP CONNECT proxy, http://[user:password@]host:port; SOCKS is refused;
/// default: ALL_PROXY/HTTPS_PROXY/HTTP_PROXY and NO_PROXY), `ca_file` (extra PEM roots:
/// a regular file of at most 1 MiB), `rate_limits` (client-side rate limits: an object
/// from action name to requests per second, "*" for every action not named, 0 for no
/// limit; default: 85 % of each action's documented limit, see README),
/// `log_phone_numbers` (true: events show phone numbers in full; default false, masked,
/// see `tcsms_client_set_event_callback`), `rate_limit_store` (a Redis URL,
/// redis://[user:password@]host:port[/db]: clients with the same store and
/// `rate_limit_key` share one budget per action; default: in-process buckets, see README),
/// `rate_limit_key` (the budget's namespace; default derived from the SecretId, or a role
/// client's role, and the region without revealing them), `rate_limit_store_fallback_share`
/// (while the store is down, this client's share of `rate_limits`, greater than 0 and at
/// most 1; default 1/N of the N clients the store last counted). Without `secret_id`/`secret_key`, TENCENTCLOUD_SECRET_ID/TENCENTCLOUD_SECRET_KEY are read,
/// then ~/.tencentcloud/credentials, then the TKE OIDC variables. Role sources (keys
/// `credential_source`, `cvm_role_name`, `role_arn`, `role_session_name`,
/// `role_duration_seconds`, `oidc_provider_id`, `oidc_token_file`, `metadata_endpoint`,
/// `sts_endpoint`; see docs/c.md) fetch temporary keys and refresh them.
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

/// Destroys a client. NULL is a no-op. Its idle kept-alive connections are left to
/// the process's later clients of the same endpoint and trust (at most 8 per endpoint,
/// 32 in all; never used after 15 s idle, and closed when a later client is freed or
/// looks for one, else at exit), so that a program making a client per request does not
/// connect and handshake for each; a client with a proxy or a resolver hook closes its
/// own.
///
/// Ownership: takes back the client from `tcsms_client_new`; the handle must not be
/// used afterwards, and must be freed only once.
///
/// Thread safety: must not race with other calls on the same client; wait for them
/// to return first. Calls submitted with `tcsms_submit` may still be pending: they
/// complete normally, without events, and the connections close when the last of them
/// ends. The event callback is detached first: once this returns it is not running and
/// is never called again, so its `user_data` may be freed (an event being delivered
/// on another thread is waited for).
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
    let _ = catch_unwind(AssertUnwindSafe(move || {
        client.inner.detach_event_callback();
        drop(client)
    }));
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
/// still running, or until `tcsms_client_free` returns (from then on the callback is
/// never called, not even for calls still pending from `tcsms_submit`).
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
