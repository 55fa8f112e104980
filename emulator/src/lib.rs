//! `tcsms-emulator`: a local Tencent Cloud SMS API 2021-01-11 service for demos and tests.
//!
//! The binary (`main.rs`) only parses its command line and serves. Everything else is here,
//! so that tests and fuzz targets can drive the emulator without a socket:
//!
//! ```no_run
//! use tcsms_emulator::{cli::Config, handle, Reply, Service};
//!
//! let service = Service::new(&Config::default()).unwrap();
//! let reply = handle(&service, "POST", "/", &[], b"{}");
//! // An unsigned request: HTTP 200 with an error envelope (MissingParameter, no X-TC-Action).
//! assert!(matches!(reply, Reply::Answer { status: 200, .. }));
//! ```
//!
//! See docs/emulator.md for the behaviour.

mod actions;
mod authorization;
mod callbacks;
pub mod cli;
pub mod clock;
mod doc_examples;
mod envelope;
mod faults;
mod ids;
mod inspect;
mod params;
mod phone;
mod ratelimit;
mod reqlog;
mod schema;
mod server;
mod state;
mod verify;

pub use faults::FaultKind;
pub use server::{handle, serve, Reply, Service};
