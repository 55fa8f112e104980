//! The command line (clap-derive): turns `argv` into a [`Config`]. No I/O besides what the
//! caller does with the result; nothing but the binary and this module reads it.

use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};

pub use crate::config::{Config, KeyPair, Secret, DEFAULT_APP_ID, DEMO_SECRET_ID, DEMO_SECRET_KEY};
use crate::config::{MAX_CLOCK_OFFSET_SECS, MAX_TEMP_LIFETIME_SECS};
use crate::outbound::callbacks;
use crate::service::faults::{EndpointFault, FaultKind};

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    Run(Box<Config>),
    Help,
    Version,
}

const ABOUT: &str = "\
tcsms-emulator: a local Tencent Cloud SMS API (2021-01-11) service for demos and tests

It prints `listening on http://HOST:PORT` as its first stdout line once it accepts
connections; point a client's endpoint at that URL. SIGINT/SIGTERM stop it (exit 0).";

const AFTER_HELP: &str = "\
INSPECTION (no signature; loopback peers only, or --inspection-token):
    GET    /_emulator/messages   JSON array of the messages sent (?PhoneNumber=, ?SmsSdkAppId=)
    DELETE /_emulator/messages   Clear that list
    POST   /_emulator/replies    Queue an SMS reply: {\"PhoneNumber\":\"+86...\",\"ReplyContent\":\"...\"}
    GET    /_emulator/credentials          Requests per metadata path and STS action, keys issued
    DELETE /_emulator/credentials          Reset those counters
    POST   /_emulator/credentials/faults   Change the faults: {\"Metadata\":\"hang\",\"Sts\":null}

STS (AssumeRole, AssumeRoleWithWebIdentity; version 2018-08-13) is served at / beside the SMS
API and the instance metadata under /latest/meta-data/: set a client's sts_endpoint and
metadata_endpoint to the emulator's URL.

See docs/emulator.md for the seeded signatures and templates, the verification order and
the rules the emulator applies.";

/// The flags, as clap reads them; [`Args::into_config`] checks what spans several flags.
#[derive(Debug, Parser)]
#[command(
    name = "tcsms-emulator",
    version,
    about = ABOUT,
    after_help = AFTER_HELP,
    args_override_self = true,
    max_term_width = 100
)]
struct Args {
    /// Address to listen on (port 0 = any free port)
    #[arg(long, verbatim_doc_comment, value_name = "ADDR", default_value = "127.0.0.1:0")]
    listen: String,
    /// SecretId clients may sign with; repeat with --secret-key for more accepted key pairs
    /// (paired by position, for credential rotation)
    #[arg(long, verbatim_doc_comment, value_name = "ID", value_parser = non_empty)]
    secret_id: Vec<String>,
    /// SecretKey of the --secret-id at the same position (as many of each; without them the
    /// demo credentials are used: AKIDtcsmsdemo00000000000000000000000 /
    /// tcsmsdemosecretkey00000000000000)
    #[arg(long, verbatim_doc_comment, value_name = "KEY", value_parser = non_empty)]
    secret_key: Vec<String>,
    /// Require X-TC-Token to equal TOKEN (temporary credentials); give it once for every key
    /// pair or once per key pair; without it, requests that carry a token are refused
    /// (AuthFailure.TokenFailure)
    #[arg(long, verbatim_doc_comment, value_name = "TOKEN", value_parser = non_empty)]
    token: Vec<String>,
    /// An SmsSdkAppId the account owns; repeat for more [default: 1400000001]
    #[arg(long, verbatim_doc_comment, value_name = "ID", value_parser = app_id)]
    app_id: Vec<String>,
    /// Append one JSON line per request (action, verdict, error code, RequestId; never the
    /// secret key)
    #[arg(long, verbatim_doc_comment, value_name = "FILE", value_parser = non_empty)]
    log: Option<String>,
    /// Time before a new or modified signature/template is approved
    #[arg(long, verbatim_doc_comment, value_name = "MS", default_value_t = 1000)]
    review_delay_ms: u64,
    /// Time before a delivery report (and any reply) can be pulled
    #[arg(long, verbatim_doc_comment, value_name = "MS", default_value_t = 500)]
    report_delay_ms: u64,
    /// Override an action's requests-per-second limit (N = 0: unlimited); ACTION may be
    /// `all`. Repeatable; later ones win
    #[arg(long, verbatim_doc_comment, value_name = "ACTION=N", value_parser = rate_limit)]
    rate_limit: Vec<(String, u32)>,
    /// Every delivered message gets a reply TEXT (for PullSmsReplyStatus)
    #[arg(long, verbatim_doc_comment, value_name = "TEXT")]
    auto_reply: Option<String>,
    /// POST each delivery report (JSON array) and reply (JSON object) to URL when it exists,
    /// as the service does; the receiver must answer {"result":0,...}; failures are retried
    /// after 1, 2 and 4 s
    #[arg(long, verbatim_doc_comment, value_name = "URL", value_parser = callback_url)]
    callback_url: Option<String>,
    /// Inject a fault into API requests: http500 (HTTP 500, HTML body), close (connection
    /// closed without a response), slow (the answer comes after --fault-delay-ms), garbage
    /// (HTTP 200, body not JSON)
    #[arg(long, verbatim_doc_comment, value_name = "KIND", value_parser = fault_kind)]
    fault: Option<FaultKind>,
    /// Inject the fault into every Nth API request [default: 1]
    #[arg(long, verbatim_doc_comment, value_name = "N", requires = "fault", value_parser = clap::value_parser!(u64).range(1..))]
    fault_every: Option<u64>,
    /// Delay of the `slow` fault (and how long a `hang` fault lasts)
    #[arg(long, verbatim_doc_comment, value_name = "MS", default_value_t = 30_000)]
    fault_delay_ms: u64,
    /// Threads serving connections (each serves many)
    #[arg(long, verbatim_doc_comment, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=1024))]
    workers: u64,
    /// Run the emulator's clock (timestamps it issues, the signature-expiry check, the HTTP
    /// Date header) SECONDS ahead of the host's; negative runs it behind
    #[arg(long, verbatim_doc_comment, value_name = "SECONDS", default_value_t = 0, allow_negative_numbers = true, value_parser = clock_offset)]
    clock_offset: i64,
    /// Seed the state the API documentation's examples assume (app 1400006666, signature
    /// 1111, templates 1111 and 1800308, the sample reports and replies); see
    /// docs/emulator.md
    #[arg(long, verbatim_doc_comment)]
    doc_examples: bool,
    /// Serve the CVM instance metadata paths with NAME as the bound CAM role
    /// (/latest/meta-data/cam/security-credentials/[NAME]); without it they answer 404 (no
    /// role bound)
    #[arg(long, verbatim_doc_comment, value_name = "NAME", value_parser = cvm_role)]
    cvm_role: Option<String>,
    /// Lifetime of every temporary credential issued (metadata and STS), whatever
    /// DurationSeconds asks [default: metadata 7200, STS its DurationSeconds]
    #[arg(long, verbatim_doc_comment, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=MAX_TEMP_LIFETIME_SECS))]
    temp_credential_lifetime: Option<u64>,
    /// The WebIdentityToken STS AssumeRoleWithWebIdentity accepts
    #[arg(long, verbatim_doc_comment, value_name = "TOKEN", value_parser = non_empty)]
    web_identity_token: Option<String>,
    /// Accept the token this file holds, read again at every call
    #[arg(long, verbatim_doc_comment, value_name = "PATH", value_parser = non_empty, conflicts_with = "web_identity_token")]
    web_identity_token_file: Option<String>,
    /// Make the metadata service fail: http500, hang (no answer for --fault-delay-ms, then
    /// the connection is closed) or garbage
    #[arg(long, verbatim_doc_comment, value_name = "KIND", value_parser = endpoint_fault)]
    metadata_fault: Option<EndpointFault>,
    /// Make STS (AssumeRole, AssumeRoleWithWebIdentity) fail the same ways
    #[arg(long, verbatim_doc_comment, value_name = "KIND", value_parser = endpoint_fault)]
    sts_fault: Option<EndpointFault>,
    /// The inspection API (/_emulator/) requires `Authorization: Bearer TOKEN`; without it,
    /// it answers loopback peers only
    #[arg(long, verbatim_doc_comment, value_name = "TOKEN", value_parser = non_empty)]
    inspection_token: Option<String>,
    /// ReportConversion refuses a SerialNo this emulator did not issue to the app
    /// (InvalidParameterValue); by default any well-formed one is accepted, as the service
    /// does
    #[arg(long, verbatim_doc_comment)]
    strict_serial_no: bool,
}

impl Args {
    /// The configuration, once the rules that span several flags hold.
    fn into_config(self) -> Result<Config, String> {
        if self.secret_id.len() != self.secret_key.len() {
            return Err("--secret-id and --secret-key go together: give as many of each".to_owned());
        }
        let mut cfg = Config::default();
        if !self.secret_id.is_empty() {
            cfg.key_pairs = self
                .secret_id
                .into_iter()
                .zip(self.secret_key)
                .map(|(secret_id, key)| KeyPair { secret_id, secret_key: Secret::new(key) })
                .collect();
        }
        if cfg.key_pairs.iter().enumerate().any(|(i, p)| cfg.key_pairs[..i].iter().any(|q| q.secret_id == p.secret_id))
        {
            return Err("--secret-id: each SecretId may be given once".to_owned());
        }
        cfg.tokens = self.token.into_iter().map(Secret::new).collect();
        if cfg.tokens.len() > 1 && cfg.tokens.len() != cfg.key_pairs.len() {
            return Err("--token: give it once, or once per key pair".to_owned());
        }
        for id in self.app_id {
            if !cfg.app_ids.contains(&id) {
                cfg.app_ids.push(id);
            }
        }
        if cfg.app_ids.is_empty() {
            cfg.app_ids.push(DEFAULT_APP_ID.to_owned());
        }
        cfg.listen = self.listen;
        cfg.log = self.log.map(PathBuf::from);
        cfg.review_delay_ms = self.review_delay_ms;
        cfg.report_delay_ms = self.report_delay_ms;
        cfg.rate_limits = self.rate_limit;
        cfg.auto_reply = self.auto_reply;
        cfg.callback_url = self.callback_url;
        cfg.fault = self.fault;
        cfg.fault_every = self.fault_every.unwrap_or(1);
        cfg.fault_delay_ms = self.fault_delay_ms;
        cfg.workers = self.workers as usize;
        cfg.clock_offset_secs = self.clock_offset;
        cfg.doc_examples = self.doc_examples;
        cfg.strict_serial_no = self.strict_serial_no;
        cfg.cvm_role = self.cvm_role;
        cfg.temp_credential_lifetime_secs = self.temp_credential_lifetime;
        cfg.web_identity_token = self.web_identity_token.map(Secret::new);
        cfg.web_identity_token_file = self.web_identity_token_file.map(PathBuf::from);
        cfg.metadata_fault = self.metadata_fault;
        cfg.sts_fault = self.sts_fault;
        cfg.inspection_token = self.inspection_token.map(Secret::new);
        Ok(cfg)
    }
}

/// The `--help` text.
pub fn help() -> String {
    Args::command().render_help().to_string()
}

/// Parses the arguments after the program name. An error is the message to print (exit
/// status 2).
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
    let argv = std::iter::once("tcsms-emulator".to_owned()).chain(args);
    match Args::try_parse_from(argv) {
        Ok(args) => Ok(Command::Run(Box::new(args.into_config()?))),
        Err(e) if e.kind() == ErrorKind::DisplayHelp => Ok(Command::Help),
        Err(e) if e.kind() == ErrorKind::DisplayVersion => Ok(Command::Version),
        Err(e) => Err(e.render().to_string().trim_start_matches("error: ").trim_end().to_owned()),
    }
}

fn non_empty(v: &str) -> Result<String, String> {
    if v.is_empty() || v.trim() != v {
        Err("must be non-empty, without surrounding spaces".to_owned())
    } else {
        Ok(v.to_owned())
    }
}

fn app_id(id: &str) -> Result<String, String> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("must be digits, got {id:?}"));
    }
    Ok(id.to_owned())
}

fn rate_limit(v: &str) -> Result<(String, u32), String> {
    let (action, n) = v.split_once('=').ok_or_else(|| format!("wants ACTION=N, got {v:?}"))?;
    if action != "all" && tcsms::api::find_action(action).is_none() {
        return Err(format!("unknown action {action:?}"));
    }
    let n: u32 = n.parse().map_err(|_| format!("N must be a non-negative integer that fits 32 bits, got {n:?}"))?;
    Ok((action.to_owned(), n))
}

fn callback_url(url: &str) -> Result<String, String> {
    callbacks::check_url(url)?;
    Ok(url.to_owned())
}

fn fault_kind(v: &str) -> Result<FaultKind, String> {
    FaultKind::parse(v).ok_or_else(|| format!("must be http500, close, slow or garbage, got {v:?}"))
}

fn endpoint_fault(v: &str) -> Result<EndpointFault, String> {
    EndpointFault::parse(v).ok_or_else(|| format!("must be http500, hang or garbage, got {v:?}"))
}

fn clock_offset(v: &str) -> Result<i64, String> {
    v.parse::<i64>()
        .ok()
        .filter(|s| s.unsigned_abs() <= MAX_CLOCK_OFFSET_SECS)
        .ok_or_else(|| format!("wants seconds (at most 10 years either way), got {v:?}"))
}

fn cvm_role(v: &str) -> Result<String, String> {
    let role = non_empty(v)?;
    if role.contains(['/', '?', '#', '%']) {
        return Err(format!("must be a role name without '/', '?', '#' or '%', got {role:?}"));
    }
    Ok(role)
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

    #[test]
    fn a_repeated_flag_takes_the_last_value() {
        let c = run(&["--listen", "127.0.0.1:1", "--listen=127.0.0.1:2", "--workers", "2", "--workers", "3"]).unwrap();
        assert_eq!((c.listen.as_str(), c.workers), ("127.0.0.1:2", 3));
        assert_eq!(run(&["--fault", "close"]).unwrap().fault_every, 1);
        assert!(matches!(parse(["-V".to_owned()]), Ok(Command::Version)));
    }

    #[test]
    fn credential_flags_parse() {
        let c = run(&[
            "--cvm-role",
            "tcsms-role",
            "--temp-credential-lifetime",
            "30",
            "--web-identity-token",
            "oidc-token",
            "--metadata-fault",
            "hang",
            "--sts-fault=garbage",
            "--inspection-token",
            "look",
        ])
        .unwrap();
        assert_eq!(c.cvm_role.as_deref(), Some("tcsms-role"));
        assert_eq!(c.temp_credential_lifetime_secs, Some(30));
        assert_eq!(c.web_identity_token.as_ref().map(Secret::expose), Some("oidc-token"));
        assert_eq!((c.metadata_fault, c.sts_fault), (Some(EndpointFault::Hang), Some(EndpointFault::Garbage)));
        assert_eq!(c.inspection_token.as_ref().map(Secret::expose), Some("look"));
        assert!(!format!("{c:?}").contains("oidc-token") && !format!("{c:?}").contains("\"look\""));
        let file = run(&["--web-identity-token-file", "/run/token"]).unwrap();
        assert_eq!(file.web_identity_token_file, Some(PathBuf::from("/run/token")));
        for bad in [
            &["--web-identity-token", "a", "--web-identity-token-file", "b"][..],
            &["--temp-credential-lifetime", "0"],
            &["--temp-credential-lifetime", "43201"],
            &["--metadata-fault", "boom"],
            &["--sts-fault", "close"],
            &["--cvm-role", "a/b"],
            &["--inspection-token", ""],
        ] {
            assert!(run(bad).is_err(), "{bad:?}");
        }
    }
}
