//! The emulator's configuration: what it accepts, seeds and injects. Built by the command
//! line (`cli`) or by tests directly; the service reads only this.

use std::fmt;
use std::path::PathBuf;

use crate::service::faults::{EndpointFault, FaultKind};

/// Secret id used when `--secret-id`/`--secret-key` are absent (docs/contracts.md).
pub const DEMO_SECRET_ID: &str = "AKIDtcsmsdemo00000000000000000000000";
/// Secret key used when `--secret-id`/`--secret-key` are absent (docs/contracts.md).
pub const DEMO_SECRET_KEY: &str = "tcsmsdemosecretkey00000000000000";
/// App created when no `--app-id` is given.
pub const DEFAULT_APP_ID: &str = "1400000001";
/// `--clock-offset` beyond ten years either way is surely a typo.
/// Longest `--temp-credential-lifetime` (and STS `DurationSeconds`): 12 hours.
pub(crate) const MAX_TEMP_LIFETIME_SECS: u64 = 43_200;
pub(crate) const MAX_CLOCK_OFFSET_SECS: u64 = 10 * 366 * 86_400;

/// A secret that never shows up in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Secret {
        Secret(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// One accepted SecretId with its SecretKey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPair {
    pub secret_id: String,
    pub secret_key: Secret,
}

impl KeyPair {
    pub fn new(secret_id: &str, secret_key: &str) -> KeyPair {
        KeyPair { secret_id: secret_id.to_owned(), secret_key: Secret::new(secret_key.to_owned()) }
    }
}

/// Everything the emulator is told on its command line.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: String,
    /// The accepted key pairs (`--secret-id`/`--secret-key`, paired by position); never empty.
    pub key_pairs: Vec<KeyPair>,
    /// `--token`: none, one for every key pair, or one per key pair (by position).
    pub tokens: Vec<Secret>,
    /// The account's SmsSdkAppIds; empty means the default one, 1400000001.
    pub app_ids: Vec<String>,
    pub log: Option<PathBuf>,
    pub review_delay_ms: u64,
    pub report_delay_ms: u64,
    /// `(action or "all", requests per second; 0 = unlimited)`, in the order given.
    pub rate_limits: Vec<(String, u32)>,
    pub fault: Option<FaultKind>,
    pub fault_every: u64,
    pub fault_delay_ms: u64,
    pub auto_reply: Option<String>,
    pub workers: usize,
    /// How far the emulator's clock runs ahead of the host's (negative: behind), in seconds.
    pub clock_offset_secs: i64,
    /// Seed the state the documentation's examples assume (`--doc-examples`).
    pub doc_examples: bool,
    /// ReportConversion refuses SerialNos this emulator did not issue to the app.
    pub strict_serial_no: bool,
    /// `--callback-url`: where delivery reports and replies are POSTed.
    pub callback_url: Option<String>,
    /// `--cvm-role`: the CAM role bound to the emulated instance (metadata service);
    /// none: the metadata service answers 404 (no role bound).
    pub cvm_role: Option<String>,
    /// `--temp-credential-lifetime`: every temporary credential issued lives this long,
    /// whatever STS `DurationSeconds` asked. None: metadata 7200 s, STS `DurationSeconds`.
    pub temp_credential_lifetime_secs: Option<u64>,
    /// `--web-identity-token`: the token AssumeRoleWithWebIdentity accepts.
    pub web_identity_token: Option<Secret>,
    /// `--web-identity-token-file`: the file holding the accepted token, read at each call.
    pub web_identity_token_file: Option<PathBuf>,
    /// `--metadata-fault`: the metadata service fails this way (changeable at run time).
    pub metadata_fault: Option<EndpointFault>,
    /// `--sts-fault`: the STS actions fail this way (changeable at run time).
    pub sts_fault: Option<EndpointFault>,
    /// `--inspection-token`: `/_emulator/` requests must carry `Authorization: Bearer`
    /// it. None: they are served to loopback peers only.
    pub inspection_token: Option<Secret>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: "127.0.0.1:0".to_owned(),
            key_pairs: vec![KeyPair::new(DEMO_SECRET_ID, DEMO_SECRET_KEY)],
            tokens: Vec::new(),
            app_ids: Vec::new(),
            log: None,
            review_delay_ms: 1000,
            report_delay_ms: 500,
            rate_limits: Vec::new(),
            fault: None,
            fault_every: 1,
            fault_delay_ms: 30_000,
            auto_reply: None,
            workers: 4,
            clock_offset_secs: 0,
            doc_examples: false,
            strict_serial_no: false,
            callback_url: None,
            cvm_role: None,
            temp_credential_lifetime_secs: None,
            web_identity_token: None,
            web_identity_token_file: None,
            metadata_fault: None,
            sts_fault: None,
            inspection_token: None,
        }
    }
}
