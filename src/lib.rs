//! tcsms: a Tencent Cloud SMS API (2021-01-11) client with a C ABI.
//!
//! The core (`sign`, `config`, `credentials`, `client`, `api`, `error`) is a plain Rust
//! library; `ffi` is the thin C layer over it.

pub mod api;
pub mod client;
pub mod completion;
pub mod config;
pub mod credentials;
pub mod dns;
pub mod error;
pub mod ffi;
pub mod sign;
pub mod transport;

pub use client::Client;
pub use config::Config;
pub use error::{Error, ErrorKind};
