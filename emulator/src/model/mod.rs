//! The model: the emulator's data and nothing else. It holds the account (apps,
//! signatures, templates, messages, reports, replies, conversions) and the temporary
//! credentials issued; it does no I/O, delivers nothing and seeds nothing (see
//! `crate::fixtures`, `crate::outbound`).

pub mod state;
pub mod temp_keys;
