//! `tcsms-emulator`: a local Tencent Cloud SMS API 2021-01-11 service for demos and tests.
//!
//! The binary (`main.rs`) only parses its command line and serves. Everything else is here,
//! so that tests and fuzz targets can drive the emulator without a socket:
//!
//! ```no_run
//! use tcsms_emulator::{config::Config, handle, Reply, Service};
//!
//! let service = Service::new(&Config::default()).unwrap();
//! let reply = handle(&service, "POST", "/", &[], b"{}");
//! // An unsigned request: HTTP 200 with an error envelope (MissingParameter, no X-TC-Action).
//! assert!(matches!(reply, Reply::Answer { status: 200, .. }));
//! ```
//!
//! See docs/emulator.md for the behaviour.

pub mod cli;
pub mod clock;
pub mod config;
mod fixtures;
mod http;
mod model;
mod outbound;
mod service;

pub use http::serve;
pub use service::faults::{EndpointFault, FaultKind};
pub use service::{handle, Reply, Service};
