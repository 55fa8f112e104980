//! tcsms: a Tencent Cloud SMS API (2021-01-11) client with a C ABI.
//!
//! The core (`sign`, `config`, `credentials`, `provider`: temporary keys from a CVM
//! role, STS or OIDC, refreshed ahead of expiry, `client`, `api`, `error`, and `send`:
//! per-number results and batching, `ratelimit`: client-side token buckets) is a plain
//! Rust library. Internal to it: `transport` (one write per request, fork safety, knowing
//! whether a request was written), `dns` (a caching resolver), `clock` (the skew learned
//! from `AuthFailure.SignatureExpire`), `signer` (credentials replaceable while calls are
//! in flight), `files` (bounded, non-blocking reads of the files a configuration names),
//! `wipe` (buffers that grow without leaving copies of secrets behind) and `ffi`, the thin C
//! layer whose `tcsms_*` functions are exported from the cdylib and staticlib and
//! described in the generated `include/tcsms.h`.

// `unsafe` is refused everywhere but where it is needed, each allowed site with a SAFETY
// comment: the C layer (`ffi`), the socket peek of `transport::tcp` and the completion
// queue's wake-up descriptor (`completion`). A test (tests/layout.rs) checks it.
#![deny(unsafe_code)]

pub mod api;
pub mod callback;
pub mod client;
mod clock;
pub mod completion;
pub mod config;
pub mod credentials;
mod endpoint;
pub mod error;
pub mod events;
mod ffi;
mod files;
mod json_path;
mod process;
pub mod provider;
pub mod ratelimit;
pub mod ratelimit_store;
pub mod send;
pub mod sign;
mod signer;
pub mod status;
mod transport;
mod wipe;

/// Entry points for the fuzzers; not part of the stable interface.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::json_path::get as json_get;
    pub use crate::transport::http::read_answer_from;
}

pub use client::Client;
pub use config::Config;
pub use error::{Error, ErrorKind};
pub use status::Status;
pub use transport::NameResolver;
