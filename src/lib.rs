//! tcsms: a Tencent Cloud SMS API (2021-01-11) client with a C ABI.
//!
//! The core (`sign`, `config`, `credentials`, `client`, `api`, `error`, and `send`:
//! per-number results and batching, `ratelimit`: client-side token buckets) is a plain
//! Rust library. Internal to it: `transport` (one write per request, fork safety, knowing
//! whether a request was written), `dns` (a caching resolver), `clock` (the skew learned
//! from `AuthFailure.SignatureExpire`), `signer` (credentials replaceable while calls are
//! in flight) and `ffi`, the thin C
//! layer whose `tcsms_*` functions are exported from the cdylib and staticlib and
//! described in the generated `include/tcsms.h`.

pub mod api;
pub mod callback;
pub mod client;
mod clock;
pub mod completion;
pub mod config;
pub mod credentials;
mod dns;
pub mod error;
pub mod events;
mod ffi;
mod http;
pub mod ratelimit;
pub mod send;
pub mod sign;
mod signer;
mod tcp;

/// Entry points for the fuzzers; not part of the stable interface.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::http::read_answer_from;
}

pub use client::Client;
pub use config::Config;
pub use error::{Error, ErrorKind};
