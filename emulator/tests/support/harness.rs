//! An emulator for tests of the tcsms client: delays off, a request log, and clients
//! signed with the emulator's demo key pair.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;
use tcsms::Client;

use super::RunningEmulator;

/// The key pair the emulator accepts when it is given none.
pub const DEMO_ID: &str = "AKIDtcsmsdemo00000000000000000000000";
pub const DEMO_KEY: &str = "tcsmsdemosecretkey00000000000000";

/// A running emulator (killed on drop, its log removed) with the test helpers.
pub struct Emulator {
    _process: RunningEmulator,
    pub url: String,
    log: PathBuf,
}

impl Emulator {
    /// Starts the emulator on a free port with report and review delays 0, logging each
    /// request to a file of its own, plus `args`.
    pub fn start(args: &[&str]) -> Emulator {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let log = std::env::temp_dir().join(format!(
            "tcsms-emulator-test-{}-{}.log",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_file(&log);
        let log_arg = log.to_str().unwrap().to_owned();
        let mut all = vec!["--listen", "127.0.0.1:0", "--report-delay-ms", "0", "--review-delay-ms", "0", "--log"];
        all.push(&log_arg);
        all.extend_from_slice(args);
        let process = RunningEmulator::spawn(&all);
        Emulator { url: process.url.clone(), _process: process, log }
    }

    /// A client with the demo key pair, a 5 s timeout and the configuration keys in `extra`
    /// (`,"key":value...`).
    pub fn client(&self, extra: &str) -> Client {
        Client::from_json(&format!(
            r#"{{"secret_id":"{DEMO_ID}","secret_key":"{DEMO_KEY}","endpoint":"{}","timeout_ms":5000{extra}}}"#,
            self.url
        ))
        .unwrap()
    }

    /// The messages the emulator accepted (`/_emulator/messages`).
    pub fn messages(&self) -> Vec<Value> {
        let body = ureq::get(&format!("{}/_emulator/messages", self.url))
            .call()
            .unwrap()
            .into_body()
            .read_to_string()
            .unwrap();
        serde_json::from_str::<Value>(&body).unwrap().as_array().unwrap().clone()
    }

    /// The API requests the emulator received: (action, code or "ok").
    pub fn requests(&self) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v["action"].is_string())
            .map(|v| {
                (
                    v["action"].as_str().unwrap().to_owned(),
                    v["code"].as_str().unwrap_or(v["verdict"].as_str().unwrap()).to_owned(),
                )
            })
            .collect()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.log);
    }
}
