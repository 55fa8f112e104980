//! `tcsms`: the Tencent Cloud SMS API (2021-01-11) from the shell, over the tcsms library.
//!
//! Credentials are read exactly as the library reads them when the configuration has no
//! `secret_id`/`secret_key`: TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY /
//! TENCENTCLOUD_SESSION_TOKEN, else the profile file. They are never taken on the command
//! line (where `ps` would show them) and never printed.
//!
//! Output is the service's JSON answer as received (or the error envelope), or a table with
//! `--table`; `send` prints one result per number, as `tcsms_send_sms` does. The exit status
//! is the call's `TCSMS_STATUS_*` value (0 on success, 12 PARTIAL when `send` did not send
//! to every number). Unreadable files and bad usage are plain messages on stderr.

mod table;

use clap::error::ErrorKind as ClapErrorKind;
use clap::{Args, Parser, Subcommand};
use serde_json::{json, Map, Value};
use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tcsms::api::ReportConversionRequest;
use tcsms::error::{codes, ErrorKind};
use tcsms::{Client, Error, Status};

const AFTER_HELP: &str = "\
Credentials: TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY (and TENCENTCLOUD_SESSION_TOKEN),
else the profile file ~/.tencentcloud/credentials, else TKE OIDC (TKE_PROVIDER_ID,
TKE_WEB_IDENTITY_TOKEN_FILE, TKE_ROLE_ARN, TKE_REGION). Or a role: --credential-source cvm_role
on a CVM instance, --role-arn to assume a role with the keys found. Secrets are never accepted
as flags and never printed.

Exit status: 0 on success, else the TCSMS_STATUS_* number of the failure:
3 INVALID_JSON (also bytes that are not UTF-8), 4 INVALID_ARGUMENT (also bad command-line usage),
5 INVALID_CONFIG (e.g. no credentials), 6 NETWORK, 7 TIMEOUT, 8 HTTP_STATUS, 9 DECODE,
10 API_ERROR (the service's Error.Code is in the output), 11 PANIC, 12 PARTIAL (send: not every
number's Class is ok; the per-number results are in the output).

Examples:
  export TENCENTCLOUD_SECRET_ID=AKID... TENCENTCLOUD_SECRET_KEY=...
  tcsms send --app-id 1400000001 --sign tcsms --template 2001 --param 1234 --param 5 +8613800000000
  tcsms report-conversion --app-id 1400000001 --serial-no 2433:1045710669157053657849499619
  tcsms pull-status --app-id 1400000001 --table
  tcsms call DescribeSmsTemplateList '{\"International\":0,\"TemplateIdSet\":[2001]}'
  tcsms parse-callback body.json
  tcsms --endpoint http://127.0.0.1:41234 send ...   # against tcsms-emulator
  tcsms --credential-source cvm_role pull-status --app-id 1400000001   # on a CVM with a role";

/// The Tencent Cloud SMS API (2021-01-11) from the shell.
#[derive(Debug, Parser)]
#[command(name = "tcsms", version, about, after_help = AFTER_HELP)]
struct Cli {
    /// Service endpoint: host, host:port, https://host[:port] or http://host:port
    /// [default: sms.intl.tencentcloudapi.com]
    #[arg(long, global = true, value_name = "URL", env = "TCSMS_ENDPOINT")]
    endpoint: Option<String>,

    /// Region [default: ap-guangzhou]
    #[arg(long, global = true, value_name = "R")]
    region: Option<String>,

    /// Time limit of the whole call, retries included, in milliseconds [default: 15000]
    #[arg(long, global = true, value_name = "MS")]
    timeout_ms: Option<u64>,

    /// Print a readable table instead of JSON
    #[arg(long, global = true)]
    table: bool,

    #[command(flatten)]
    role: RoleArgs,

    #[command(subcommand)]
    command: Command,
}

/// Temporary credentials from a role instead of fixed keys (the library's configuration
/// keys of the same names). None of them is a secret.
#[derive(Debug, Args)]
#[command(next_help_heading = "Credentials from a role")]
struct RoleArgs {
    /// cvm_role (the instance's CAM role) or oidc (TKE web identity; the TKE_* variables are
    /// read when set) [default: fixed keys, then the TKE variables]
    #[arg(long, global = true, value_name = "SOURCE", env = "TCSMS_CREDENTIAL_SOURCE")]
    credential_source: Option<String>,
    /// The CVM role to ask the metadata service for [default: the bound role]
    #[arg(long, global = true, value_name = "NAME", env = "TCSMS_CVM_ROLE_NAME")]
    cvm_role_name: Option<String>,
    /// Assume this role through STS AssumeRole (with oidc: the role of the web identity)
    #[arg(long, global = true, value_name = "ARN", env = "TENCENTCLOUD_ROLE_ARN")]
    role_arn: Option<String>,
    /// RoleSessionName of STS calls [default: tcsms-<time>]
    #[arg(long, global = true, value_name = "NAME", env = "TENCENTCLOUD_ROLE_SESSION_NAME")]
    role_session_name: Option<String>,
    /// Lifetime asked of STS, 1 to 43200 [default: 7200]
    #[arg(long, global = true, value_name = "S", env = "TCSMS_ROLE_DURATION_SECONDS")]
    role_duration_seconds: Option<u64>,
    /// OIDC provider id [default: TKE_PROVIDER_ID]
    #[arg(long, global = true, value_name = "ID")]
    oidc_provider_id: Option<String>,
    /// File holding the web identity token, read at every refresh [default: TKE_WEB_IDENTITY_TOKEN_FILE]
    #[arg(long, global = true, value_name = "PATH")]
    oidc_token_file: Option<String>,
    /// Instance metadata service [default: http://metadata.tencentyun.com]
    #[arg(long, global = true, value_name = "URL", env = "TCSMS_METADATA_ENDPOINT")]
    metadata_endpoint: Option<String>,
    /// STS endpoint [default: the STS host of the endpoint's site, sts.intl.tencentcloudapi.com]
    #[arg(long, global = true, value_name = "URL", env = "TCSMS_STS_ENDPOINT")]
    sts_endpoint: Option<String>,
}

impl RoleArgs {
    fn insert_into(&self, config: &mut Map<String, Value>) {
        let strings = [
            ("credential_source", &self.credential_source),
            ("cvm_role_name", &self.cvm_role_name),
            ("role_arn", &self.role_arn),
            ("role_session_name", &self.role_session_name),
            ("oidc_provider_id", &self.oidc_provider_id),
            ("oidc_token_file", &self.oidc_token_file),
            ("metadata_endpoint", &self.metadata_endpoint),
            ("sts_endpoint", &self.sts_endpoint),
        ];
        for (key, value) in strings {
            if let Some(value) = value {
                config.insert(key.into(), value.as_str().into());
            }
        }
        if let Some(seconds) = self.role_duration_seconds {
            config.insert("role_duration_seconds".into(), seconds.into());
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Send an SMS from a template to one or more numbers (SendSms)
    #[command(after_help = "\
Examples:
  tcsms send --app-id 1400000001 --sign tcsms --template 2001 --param 1234 --param 5 +8613800000000
  tcsms send --app-id 1400000001 --template 2004 +6591234567 +6591234568 --table")]
    Send(SendArgs),

    /// Report that a verification code was used (ReportConversion)
    #[command(after_help = "\
Examples:
  tcsms report-conversion --app-id 1400000001 --serial-no 2433:1045710669157053657849499619
  tcsms report-conversion --app-id 1400000001 --serial-no 2433:... --time 1700000000")]
    ReportConversion(ReportConversionArgs),

    /// Pull delivery reports, or replies with --replies (PullSmsSendStatus, PullSmsReplyStatus;
    /// with --phone the ...ByPhoneNumber variants)
    #[command(after_help = "\
PullSmsSendStatus and PullSmsReplyStatus are queues: each record is returned once.
With --phone, the ...ByPhoneNumber actions return (without consuming) the records of one
number since --begin-time (default: 24 hours ago; at most 7 days back).

Examples:
  tcsms pull-status --app-id 1400000001 --table
  tcsms pull-status --app-id 1400000001 --replies --limit 10
  tcsms pull-status --app-id 1400000001 --phone +8613800000000 --begin-time 1700000000")]
    PullStatus(PullStatusArgs),

    /// Call any action by name with its parameters as a JSON object, sent exactly as given
    #[command(after_help = "\
Examples:
  tcsms call DescribeSmsSignList '{\"International\":0,\"SignIdSet\":[1001]}'
  echo '{\"SmsSdkAppId\":\"1400000001\",\"Limit\":10}' | tcsms call PullSmsSendStatus -")]
    Call {
        /// Action name, e.g. SendSms, DescribeSmsTemplateList
        action: String,
        /// Parameters as a JSON object; `-` reads them from stdin
        json: String,
    },

    /// Parse a callback body Tencent POSTed to your URL (delivery reports or a reply)
    #[command(after_help = "\
Prints {\"Kind\":\"delivery\",\"Reports\":[...]} or {\"Kind\":\"reply\",\"Reply\":{...}}, with the
service's field names and PhoneNumber in E.164. A receiver answers the service with
{\"result\": 0, \"errmsg\": \"OK\"}.

Examples:
  tcsms parse-callback body.json
  curl -s ... | tcsms parse-callback - --table")]
    ParseCallback {
        /// File holding the body; `-` reads stdin
        file: String,
    },
}

#[derive(Debug, Args)]
struct SendArgs {
    /// SmsSdkAppId
    #[arg(long, env = "TCSMS_APP_ID")]
    app_id: String,
    /// Signature text (SignName); required for mainland China numbers
    #[arg(long)]
    sign: Option<String>,
    /// Template ID (TemplateId)
    #[arg(long)]
    template: String,
    /// A template parameter, in order; repeat for each (TemplateParamSet)
    #[arg(long = "param", value_name = "VALUE")]
    params: Vec<String>,
    /// Context echoed back in status reports (SessionContext)
    #[arg(long)]
    session_context: Option<String>,
    /// Extension code (ExtendCode)
    #[arg(long)]
    extend_code: Option<String>,
    /// International Sender ID (SenderId)
    #[arg(long)]
    sender_id: Option<String>,
    /// Numbers in E.164 form, e.g. +8613800000000, or 11-digit mainland numbers; any number of
    /// them (sent in batches of 200; a number given twice is sent once)
    #[arg(required = true, value_name = "PHONE")]
    phones: Vec<String>,
}

#[derive(Debug, Args)]
struct ReportConversionArgs {
    /// SmsSdkAppId
    #[arg(long, env = "TCSMS_APP_ID")]
    app_id: String,
    /// The SerialNo that SendSms returned for the message
    #[arg(long)]
    serial_no: String,
    /// When the code was used, Unix seconds [default: omitted, the service uses now]
    #[arg(long, value_name = "UNIX_SECONDS")]
    time: Option<u64>,
}

#[derive(Debug, Args)]
struct PullStatusArgs {
    /// SmsSdkAppId
    #[arg(long, env = "TCSMS_APP_ID")]
    app_id: String,
    /// Pull replies (PullSmsReplyStatus...) instead of delivery reports
    #[arg(long)]
    replies: bool,
    /// At most this many records (1-100)
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100))]
    limit: u32,
    /// Only this number (E.164): uses PullSms{Send,Reply}StatusByPhoneNumber
    #[arg(long, value_name = "PHONE")]
    phone: Option<String>,
    /// With --phone: start of the window, Unix seconds [default: 24 hours ago]
    #[arg(long, requires = "phone", value_name = "UNIX_SECONDS")]
    begin_time: Option<u64>,
    /// With --phone: end of the window, Unix seconds [default: now]
    #[arg(long, requires = "phone", value_name = "UNIX_SECONDS")]
    end_time: Option<u64>,
    /// With --phone: records to skip
    #[arg(long, requires = "phone", default_value_t = 0)]
    offset: u32,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                ClapErrorKind::DisplayHelp | ClapErrorKind::DisplayVersion => ExitCode::SUCCESS,
                _ => ExitCode::from(exit_code(USAGE_STATUS)),
            };
        }
    };
    let table = cli.table;
    let outcome = run(cli);
    let mut stdout = std::io::stdout().lock();
    let (status, written): (u8, _) = match outcome {
        Ok((json, status)) => {
            let text = if table { table::render(&json) } else { json };
            (status, writeln!(stdout, "{text}"))
        }
        Err(Failure::Input(error)) => (exit_status(&error), writeln!(std::io::stderr(), "tcsms: {}", error.message())),
        Err(Failure::Call(error)) if table => (exit_status(&error), writeln!(std::io::stderr(), "error: {error}")),
        Err(Failure::Call(error)) => (exit_status(&error), writeln!(stdout, "{}", error.to_envelope_json())),
    };
    let _ = written.and_then(|()| stdout.flush());
    ExitCode::from(status)
}

/// Bad command-line usage exits as an invalid argument.
const USAGE_STATUS: Status = Status::INVALID_ARGUMENT;

/// `send` exits with PARTIAL when not every number's `Class` is `ok`, as `tcsms_send_sms` returns.
const PARTIAL_STATUS: Status = Status::PARTIAL;

/// Why a run failed: the call (printed as its envelope, or a line in table mode), or the
/// command line's own input (a file or stdin that cannot be read: a plain message on stderr).
enum Failure {
    Call(Error),
    Input(Error),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure::Call(error)
    }
}

/// An exit status: the `TCSMS_STATUS_*` number (the library's outcome table); 255 for a
/// value that does not fit.
fn exit_code(status: Status) -> u8 {
    u8::try_from(status.value()).unwrap_or(u8::MAX)
}

/// The exit status of a failure: the status of its kind.
fn exit_status(error: &Error) -> u8 {
    exit_code(error.kind().status())
}

/// Runs the subcommand; `Ok` holds the JSON to print and the exit status.
fn run(cli: Cli) -> Result<(String, u8), Failure> {
    if let Command::ParseCallback { file } = &cli.command {
        let body = read_input(file, tcsms::callback::MAX_BODY_BYTES + 1)?;
        return Ok((tcsms::callback::parse(&body)?.to_json(), 0));
    }
    let client = client(&cli).map_err(cli_credentials_message)?;
    let answer = match cli.command {
        Command::Send(args) => {
            // As tcsms_send_sms: numbers checked, duplicates sent once, batches of 200, one
            // result per number; --timeout-ms limits the whole send.
            let timeout = cli.timeout_ms.map(Duration::from_millis);
            let results = client.send_sms_with_timeout(&send_request(args).to_string(), timeout)?;
            let status = if results.all_ok() { 0 } else { exit_code(PARTIAL_STATUS) };
            return Ok((results.to_json(), status));
        }
        Command::ReportConversion(args) => client.report_conversion(&ReportConversionRequest {
            sms_sdk_app_id: args.app_id,
            serial_no: args.serial_no,
            conversion_time: args.time,
        }),
        Command::PullStatus(args) => {
            let (action, request) = pull_request(args, unix_now());
            client.call(action, &request.to_string())
        }
        Command::Call { action, json } => {
            let request = if json == "-" { utf8(read_input("-", usize::MAX)?)? } else { json };
            client.call(&action, &request)
        }
        Command::ParseCallback { .. } => unreachable!("handled above"),
    };
    Ok((answer?, 0))
}

/// The library's missing-credentials message speaks of a configuration object, which the
/// command line does not have: it names only the environment variables and the profile file.
fn cli_credentials_message(error: Error) -> Error {
    const LIBRARY: &str = "set secret_id and secret_key in the configuration, or the environment variables";
    if error.code() != codes::MISSING_CREDENTIALS || !error.message().contains(LIBRARY) {
        return error;
    }
    let message = error.message().replacen(LIBRARY, "set the environment variables", 1);
    Error::local(error.kind(), error.code(), message)
}

/// The client configuration: only what the flags give, so the library reads credentials
/// from the environment or the profile file.
fn client(cli: &Cli) -> Result<Client, Error> {
    let mut config = Map::new();
    if let Some(endpoint) = &cli.endpoint {
        config.insert("endpoint".into(), endpoint.as_str().into());
    }
    if let Some(region) = &cli.region {
        config.insert("region".into(), region.as_str().into());
    }
    if let Some(ms) = cli.timeout_ms {
        config.insert("timeout_ms".into(), ms.into());
    }
    cli.role.insert_into(&mut config);
    Client::from_json(&Value::Object(config).to_string())
}

fn send_request(args: SendArgs) -> Value {
    let mut request = json!({
        "PhoneNumberSet": args.phones,
        "SmsSdkAppId": args.app_id,
        "TemplateId": args.template,
    });
    let optional = [
        ("SignName", args.sign),
        ("SessionContext", args.session_context),
        ("ExtendCode", args.extend_code),
        ("SenderId", args.sender_id),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            request[key] = value.into();
        }
    }
    if !args.params.is_empty() {
        request["TemplateParamSet"] = args.params.into();
    }
    request
}

fn pull_request(args: PullStatusArgs, now: u64) -> (&'static str, Value) {
    let mut request = json!({ "SmsSdkAppId": args.app_id, "Limit": args.limit });
    let Some(phone) = args.phone else {
        return (if args.replies { "PullSmsReplyStatus" } else { "PullSmsSendStatus" }, request);
    };
    request["PhoneNumber"] = phone.into();
    request["BeginTime"] = args.begin_time.unwrap_or(now.saturating_sub(24 * 3600)).into();
    request["Offset"] = args.offset.into();
    if let Some(end) = args.end_time {
        request["EndTime"] = end.into();
    }
    let action = if args.replies { "PullSmsReplyStatusByPhoneNumber" } else { "PullSmsSendStatusByPhoneNumber" };
    (action, request)
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Reads a file (`-`: stdin), at most `limit` bytes.
fn read_input(path: &str, limit: usize) -> Result<Vec<u8>, Failure> {
    let limit = u64::try_from(limit).unwrap_or(u64::MAX);
    let mut body = Vec::new();
    let read = if path == "-" {
        std::io::stdin().lock().take(limit).read_to_end(&mut body)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(limit).read_to_end(&mut body))
    };
    let name = if path == "-" { "stdin" } else { path };
    read.map_err(|e| {
        Failure::Input(Error::local(
            ErrorKind::InvalidArgument,
            codes::INVALID_ARGUMENT,
            format!("cannot read {name}: {e}"),
        ))
    })?;
    Ok(body)
}

fn utf8(bytes: Vec<u8>) -> Result<String, Failure> {
    String::from_utf8(bytes).map_err(|_| {
        Failure::Input(Error::local(
            ErrorKind::InvalidJson,
            codes::INVALID_JSON,
            "the JSON on stdin is not valid UTF-8",
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("tcsms").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn exit_statuses_are_the_headers_numbers() {
        let header = include_str!("../../include/tcsms.h");
        let number = |name: &str| {
            let define = format!("#define TCSMS_STATUS_{name} ");
            let line = header.lines().find(|l| l.starts_with(&define)).unwrap_or_else(|| panic!("{define} missing"));
            line[define.len()..].trim().parse::<u8>().unwrap()
        };
        for kind in [ErrorKind::InvalidJson, ErrorKind::Network, ErrorKind::Timeout, ErrorKind::Api] {
            let e = Error::local(kind, codes::TIMEOUT, "x");
            assert_eq!(exit_status(&e), number(kind.status().name().unwrap()), "{kind:?}");
        }
        assert_eq!(exit_code(USAGE_STATUS), number("INVALID_ARGUMENT"));
        assert_eq!(exit_code(Status::OK), number("OK"));
        let e = Error::local(ErrorKind::Timeout, codes::TIMEOUT, "late");
        assert_eq!(exit_status(&e), 7);
        assert_eq!(exit_code(Status::from_value(300)), 255);
    }

    #[test]
    fn the_partial_exit_status_is_the_headers_number() {
        let header = include_str!("../../include/tcsms.h");
        let define = format!("#define TCSMS_STATUS_{} {}", PARTIAL_STATUS.name().unwrap(), exit_code(PARTIAL_STATUS));
        assert!(header.lines().any(|l| l.trim_end() == define), "{define} missing from include/tcsms.h");
    }

    #[test]
    fn the_missing_credentials_message_names_no_configuration() {
        let error = tcsms::Config::from_json_with_env("{}", &|_| None).unwrap_err();
        let message = cli_credentials_message(error).message().to_owned();
        assert!(!message.contains("configuration"), "{message}");
        assert!(message.contains("TENCENTCLOUD_SECRET_ID") && message.contains("TENCENTCLOUD_SECRET_KEY"), "{message}");
        assert!(message.contains("profile file"), "{message}");
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_go_before_or_after_the_subcommand() {
        for args in [
            &["--endpoint", "http://127.0.0.1:1", "--region", "r", "call", "SendSms", "{}"][..],
            &["call", "SendSms", "{}", "--endpoint", "http://127.0.0.1:1", "--region", "r"][..],
        ] {
            let cli = parse(args);
            assert_eq!(cli.endpoint.as_deref(), Some("http://127.0.0.1:1"));
            assert_eq!(cli.region.as_deref(), Some("r"));
        }
    }

    #[test]
    fn send_builds_the_request() {
        let cli = parse(&["send", "--app-id", "1", "--template", "2", "--param", "a", "--param", "b", "+1", "+2"]);
        let Command::Send(args) = cli.command else { panic!() };
        let v = send_request(args);
        assert_eq!(
            v,
            json!({"PhoneNumberSet":["+1","+2"],"SmsSdkAppId":"1","TemplateId":"2","TemplateParamSet":["a","b"]})
        );
    }

    #[test]
    fn pull_status_picks_the_action() {
        let pull = |args: &[&str]| {
            let Command::PullStatus(a) = parse(args).command else { panic!() };
            pull_request(a, 1_000_000)
        };
        assert_eq!(
            pull(&["pull-status", "--app-id", "1"]),
            ("PullSmsSendStatus", json!({"SmsSdkAppId":"1","Limit":100}))
        );
        assert_eq!(pull(&["pull-status", "--app-id", "1", "--replies", "--limit", "5"]).0, "PullSmsReplyStatus");
        let (action, v) = pull(&["pull-status", "--app-id", "1", "--phone", "+1", "--end-time", "9"]);
        assert_eq!(action, "PullSmsSendStatusByPhoneNumber");
        assert_eq!(
            v,
            json!({"SmsSdkAppId":"1","Limit":100,"PhoneNumber":"+1","BeginTime":913_600,"Offset":0,"EndTime":9})
        );
        assert!(Cli::try_parse_from(["tcsms", "pull-status", "--app-id", "1", "--limit", "101"]).is_err());
        assert!(Cli::try_parse_from(["tcsms", "pull-status", "--app-id", "1", "--begin-time", "1"]).is_err());
    }
}
