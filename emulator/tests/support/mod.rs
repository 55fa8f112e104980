//! Shared by the integration tests that run `tcsms-emulator`.
// Each test crate uses a different part of this module.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A running emulator process, killed on drop.
pub struct RunningEmulator {
    pub child: Child,
    /// `http://127.0.0.1:PORT`, from its first line.
    pub url: String,
    pub port: u16,
}

impl RunningEmulator {
    /// Starts the emulator with exactly `args` and waits for its first line.
    pub fn spawn(args: &[&str]) -> RunningEmulator {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tcsms-emulator"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the emulator");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("first line");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        let port = url
            .strip_prefix("http://127.0.0.1:")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected address {url:?}"));
        RunningEmulator { child, url, port }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
