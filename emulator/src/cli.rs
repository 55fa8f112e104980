//! Command-line parsing: turns `argv` into a [`Config`]. No I/O besides what the caller does
//! with the result.

use std::fmt;
use std::path::PathBuf;

use crate::faults::FaultKind;

/// Secret id used when `--secret-id`/`--secret-key` are absent (docs/contracts.md).
pub const DEMO_SECRET_ID: &str = "AKIDtcsmsdemo00000000000000000000000";
/// Secret key used when `--secret-id`/`--secret-key` are absent (docs/contracts.md).
pub const DEMO_SECRET_KEY: &str = "tcsmsdemosecretkey00000000000000";
/// App created when no `--app-id` is given.
pub const DEFAULT_APP_ID: &str = "1400000001";
/// `--clock-offset` beyond ten years either way is surely a typo.
const MAX_CLOCK_OFFSET_SECS: u64 = 10 * 366 * 86_400;

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
        }
    }
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    Run(Box<Config>),
    Help,
    Version,
}

pub const HELP: &str = "\
tcsms-emulator: a local Tencent Cloud SMS API (2021-01-11) service for demos and tests

USAGE:
    tcsms-emulator [OPTIONS]

It prints `listening on http://HOST:PORT` as its first stdout line once it accepts
connections; point a client's endpoint at that URL. SIGINT/SIGTERM stop it (exit 0).

OPTIONS:
    --listen ADDR           Address to listen on [default: 127.0.0.1:0; port 0 = any free port]
    --secret-id ID          SecretId clients may sign with; repeat with --secret-key for more
                            accepted key pairs (paired by position, for credential rotation)
    --secret-key KEY        SecretKey of the --secret-id at the same position (as many of
                            each; without them the demo credentials are used:
                            AKIDtcsmsdemo00000000000000000000000 / tcsmsdemosecretkey00000000000000)
    --token TOKEN           Require X-TC-Token to equal TOKEN (temporary credentials); give it
                            once for every key pair or once per key pair; without it, requests
                            that carry a token are refused (AuthFailure.TokenFailure)
    --app-id ID             An SmsSdkAppId the account owns; repeat for more
                            [default: 1400000001]
    --log FILE              Append one JSON line per request (action, verdict, error code,
                            RequestId; never the secret key)
    --review-delay-ms MS    Time before a new or modified signature/template is approved
                            [default: 1000]
    --report-delay-ms MS    Time before a delivery report (and any reply) can be pulled
                            [default: 500]
    --rate-limit ACTION=N   Override an action's requests-per-second limit (N = 0: unlimited);
                            ACTION may be `all`. Repeatable; later ones win
    --auto-reply TEXT       Every delivered message gets a reply TEXT (for PullSmsReplyStatus)
    --callback-url URL      POST each delivery report (JSON array) and reply (JSON object) to
                            URL when it exists, as the service does; the receiver must answer
                            {\"result\":0,...}; failures are retried after 1, 2 and 4 s
    --fault KIND            Inject a fault into API requests: http500 (HTTP 500, HTML body),
                            close (connection closed without a response), slow (the answer
                            comes after --fault-delay-ms), garbage (HTTP 200, body not JSON)
    --fault-every N         Inject the fault into every Nth API request [default: 1]
    --fault-delay-ms MS     Delay of the `slow` fault [default: 30000]
    --workers N             Threads serving connections (each serves many) [default: 4]
    --clock-offset SECONDS  Run the emulator's clock (timestamps it issues, the signature-expiry
                            check, the HTTP Date header) SECONDS ahead of the host's; negative
                            runs it behind [default: 0]
    --doc-examples          Seed the state the API documentation's examples assume (app
                            1400006666, signature 1111, templates 1111 and 1800308, the
                            sample reports and replies); see docs/emulator.md
    --strict-serial-no      ReportConversion refuses a SerialNo this emulator did not issue to
                            the app (InvalidParameterValue); by default any well-formed one is
                            accepted, as the service does
    -h, --help              Print this help
    -V, --version           Print the version

INSPECTION (no signature needed):
    GET    /_emulator/messages   JSON array of the messages sent (?PhoneNumber=, ?SmsSdkAppId=)
    DELETE /_emulator/messages   Clear that list
    POST   /_emulator/replies    Queue an SMS reply: {\"PhoneNumber\":\"+86...\",\"ReplyContent\":\"...\"}

See docs/emulator.md for the seeded signatures and templates, the verification order and
the rules the emulator applies.
";

/// Parses the arguments after the program name.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
    let mut cfg = Config::default();
    let mut secret_ids = Vec::new();
    let mut secret_keys = Vec::new();
    let mut fault_every_given = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => args.next().ok_or_else(|| format!("{name} needs a value")),
            }
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--listen" => cfg.listen = value("--listen")?,
            "--secret-id" => secret_ids.push(non_empty("--secret-id", value("--secret-id")?)?),
            "--secret-key" => secret_keys.push(non_empty("--secret-key", value("--secret-key")?)?),
            "--token" => cfg.tokens.push(Secret::new(non_empty("--token", value("--token")?)?)),
            "--app-id" => {
                let id = value("--app-id")?;
                if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("--app-id must be digits, got {id:?}"));
                }
                if !cfg.app_ids.contains(&id) {
                    cfg.app_ids.push(id);
                }
            }
            "--log" => cfg.log = Some(PathBuf::from(non_empty("--log", value("--log")?)?)),
            "--review-delay-ms" => cfg.review_delay_ms = number("--review-delay-ms", &value("--review-delay-ms")?)?,
            "--report-delay-ms" => cfg.report_delay_ms = number("--report-delay-ms", &value("--report-delay-ms")?)?,
            "--rate-limit" => {
                let v = value("--rate-limit")?;
                let (action, n) = v.split_once('=').ok_or_else(|| format!("--rate-limit wants ACTION=N, got {v:?}"))?;
                if action != "all" && tcsms::api::find_action(action).is_none() {
                    return Err(format!("--rate-limit: unknown action {action:?}"));
                }
                let n =
                    u32::try_from(number("--rate-limit", n)?).map_err(|_| "--rate-limit: N is too large".to_owned())?;
                cfg.rate_limits.push((action.to_owned(), n));
            }
            "--auto-reply" => cfg.auto_reply = Some(value("--auto-reply")?),
            "--fault" => {
                let v = value("--fault")?;
                cfg.fault = Some(
                    FaultKind::parse(&v)
                        .ok_or_else(|| format!("--fault must be http500, close, slow or garbage, got {v:?}"))?,
                );
            }
            "--fault-every" => {
                cfg.fault_every = number("--fault-every", &value("--fault-every")?)?;
                if cfg.fault_every == 0 {
                    return Err("--fault-every must be at least 1".to_owned());
                }
                fault_every_given = true;
            }
            "--fault-delay-ms" => cfg.fault_delay_ms = number("--fault-delay-ms", &value("--fault-delay-ms")?)?,
            "--workers" => {
                let n = number("--workers", &value("--workers")?)?;
                if n == 0 || n > 1024 {
                    return Err("--workers must be between 1 and 1024".to_owned());
                }
                cfg.workers = n as usize;
            }
            "--clock-offset" => {
                let v = value("--clock-offset")?;
                cfg.clock_offset_secs =
                    v.parse::<i64>().ok().filter(|s| s.unsigned_abs() <= MAX_CLOCK_OFFSET_SECS).ok_or_else(|| {
                        format!("--clock-offset wants seconds (at most 10 years either way), got {v:?}")
                    })?;
            }
            "--doc-examples" => cfg.doc_examples = true,
            "--strict-serial-no" => cfg.strict_serial_no = true,
            "--callback-url" => {
                let url = value("--callback-url")?;
                crate::callbacks::check_url(&url)?;
                cfg.callback_url = Some(url);
            }
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    if secret_ids.len() != secret_keys.len() {
        return Err("--secret-id and --secret-key go together: give as many of each".to_owned());
    }
    if !secret_ids.is_empty() {
        cfg.key_pairs = secret_ids
            .into_iter()
            .zip(secret_keys)
            .map(|(secret_id, key)| KeyPair { secret_id, secret_key: Secret::new(key) })
            .collect();
    }
    if cfg.key_pairs.iter().enumerate().any(|(i, p)| cfg.key_pairs[..i].iter().any(|q| q.secret_id == p.secret_id)) {
        return Err("--secret-id: each SecretId may be given once".to_owned());
    }
    if cfg.tokens.len() > 1 && cfg.tokens.len() != cfg.key_pairs.len() {
        return Err("--token: give it once, or once per key pair".to_owned());
    }
    if cfg.app_ids.is_empty() {
        cfg.app_ids.push(DEFAULT_APP_ID.to_owned());
    }
    if fault_every_given && cfg.fault.is_none() {
        return Err("--fault-every needs --fault".to_owned());
    }
    Ok(Command::Run(Box::new(cfg)))
}

fn non_empty(name: &str, v: String) -> Result<String, String> {
    if v.is_empty() || v.trim() != v {
        Err(format!("{name} must be non-empty, without surrounding spaces"))
    } else {
        Ok(v)
    }
}

fn number(name: &str, v: &str) -> Result<u64, String> {
    v.parse::<u64>().map_err(|_| format!("{name} wants a non-negative integer, got {v:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Config, String> {
        match parse(args.iter().map(|s| s.to_string()))? {
            Command::Run(c) => Ok(*c),
            other => Err(format!("{other:?}")),
        }
    }

    #[test]
    fn defaults_use_demo_credentials() {
        let c = run(&[]).unwrap();
        assert_eq!(c.key_pairs, vec![KeyPair::new(DEMO_SECRET_ID, DEMO_SECRET_KEY)]);
        assert_eq!(c.app_ids, vec![DEFAULT_APP_ID]);
        assert!(!format!("{c:?}").contains(DEMO_SECRET_KEY));
    }

    #[test]
    fn flags_parse() {
        let c = run(&[
            "--listen",
            "127.0.0.1:0",
            "--secret-id",
            "ID",
            "--secret-key=KEY",
            "--token",
            "T",
            "--app-id",
            "1400000001",
            "--app-id",
            "1400006666",
            "--rate-limit",
            "SendSms=5",
            "--fault",
            "slow",
            "--fault-every",
            "3",
            "--fault-delay-ms",
            "10",
        ])
        .unwrap();
        assert_eq!(c.key_pairs, vec![KeyPair::new("ID", "KEY")]);
        assert_eq!(c.tokens.iter().map(Secret::expose).collect::<Vec<_>>(), ["T"]);
        assert_eq!(c.app_ids, vec!["1400000001", "1400006666"]);
        assert_eq!(c.rate_limits, vec![("SendSms".to_owned(), 5)]);
        assert_eq!(c.fault, Some(FaultKind::Slow));
        assert_eq!(c.fault_every, 3);
    }

    #[test]
    fn bad_flags_are_refused() {
        for bad in [
            &["--secret-id", "x"][..],
            &["--nope"],
            &["--app-id", "abc"],
            &["--fault", "boom"],
            &["--fault-every", "0", "--fault", "close"],
            &["--rate-limit", "Nope=1"],
            &["--listen"],
            &["--secret-id", "a", "--secret-key", "k", "--secret-id", "b"],
            &["--secret-id", "a", "--secret-key", "k", "--secret-id", "a", "--secret-key", "k2"],
            &["--token", "t1", "--token", "t2"],
            &["--clock-offset", "1.5"],
            &["--clock-offset", "999999999999"],
        ] {
            assert!(run(bad).is_err(), "{bad:?}");
        }
        assert!(matches!(parse(["--help".to_owned()]), Ok(Command::Help)));
    }

    #[test]
    fn key_pairs_pair_by_position_and_options_parse() {
        let c = run(&[
            "--secret-id",
            "A",
            "--secret-id",
            "B",
            "--secret-key",
            "ka",
            "--secret-key",
            "second-secret-key",
            "--token",
            "ta",
            "--token",
            "tb",
            "--clock-offset",
            "-900",
            "--doc-examples",
            "--strict-serial-no",
        ])
        .unwrap();
        assert_eq!(c.key_pairs, vec![KeyPair::new("A", "ka"), KeyPair::new("B", "second-secret-key")]);
        assert_eq!(c.tokens.len(), 2);
        assert_eq!(c.clock_offset_secs, -900);
        assert!(c.doc_examples && c.strict_serial_no);
        assert!(!format!("{c:?}").contains("second-secret-key"), "secrets stay out of Debug");
        assert!(!run(&[]).unwrap().doc_examples);
        assert_eq!(
            run(&["--callback-url", "http://127.0.0.1:9/cb"]).unwrap().callback_url.as_deref(),
            Some("http://127.0.0.1:9/cb")
        );
        assert!(run(&["--callback-url", "127.0.0.1:9"]).unwrap_err().contains("http://"));
    }
}
