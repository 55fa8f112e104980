//! Outbound delivery: what the emulator sends on its own (the callbacks to
//! `--callback-url`). It reads the model's records; the service hands them over.

pub mod callbacks;
