//! The `tcsms` command line end to end against tcsms-emulator on 127.0.0.1.
//!
//! The emulator is `$TCSMS_EMULATOR`, else `tcsms-emulator` next to the `tcsms` binary
//! under test, else target/release/tcsms-emulator (built with cargo when missing).
//! Every run of `tcsms` starts from an empty environment (no proxy, no credentials, HOME
//! an empty directory) plus what the test gives, and every run is checked for secrets
//! in its output.

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const SECRET_ID: &str = "AKIDclitest00000000000000000000000000";
const SECRET_KEY: &str = "clitestsecretkey0000000000000000";
const TOKEN: &str = "clitesttoken000000000000000000000000";
const APP_ID: &str = "1400000001";
const PHONE: &str = "+8613800000000";

#[path = "../../tests/support/emulator.rs"]
mod emulator;
use emulator::Emulator;

/// The emulator binary ([`emulator::find`]), built with cargo when there is none.
fn emulator_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
        if let Some(path) = emulator::find(root) {
            return path;
        }
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--release", "-p", "tcsms-emulator"])
            .current_dir(root)
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build -p tcsms-emulator failed");
        root.join("target/release/tcsms-emulator")
    })
}

/// An emulator that knows the test's key pair.
fn start_emulator(extra: &[&str]) -> Emulator {
    let args = [&["--secret-id", SECRET_ID, "--secret-key", SECRET_KEY, "--report-delay-ms", "0"], extra].concat();
    Emulator::spawn(emulator_binary(), &args)
}

/// An empty directory for HOME (so no real profile file is read).
fn empty_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "tcsms-cli-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }

    fn ok(self) -> Run {
        assert_eq!(self.code, 0, "stdout: {}\nstderr: {}", self.stdout, self.stderr);
        self
    }

    fn error_code(&self) -> String {
        self.json()["Response"]["Error"]["Code"].as_str().unwrap_or_default().to_owned()
    }
}

/// Runs `tcsms` with `args`, the environment `env` only (plus HOME), and `stdin`.
fn tcsms_with(args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Run {
    let home = empty_dir();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcsms"))
        .args(args)
        .env_clear()
        .env("HOME", &home)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tcsms");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    let started = Instant::now();
    let Output { status, stdout, stderr } = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(30), "tcsms took {:?}", started.elapsed());
    let _ = std::fs::remove_dir_all(home);
    let run = Run {
        code: status.code().expect("exit code"),
        stdout: String::from_utf8(stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(stderr).expect("UTF-8 stderr"),
    };
    for secret in [SECRET_KEY, TOKEN, SECRET_ID] {
        assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret), "secret printed by {args:?}");
    }
    run
}

const ENV_CREDENTIALS: [(&str, &str); 2] =
    [("TENCENTCLOUD_SECRET_ID", SECRET_ID), ("TENCENTCLOUD_SECRET_KEY", SECRET_KEY)];

/// Runs `tcsms --endpoint URL args...` with the credentials in the environment.
fn tcsms(emulator: &Emulator, args: &[&str]) -> Run {
    let mut all = vec!["--endpoint", emulator.url.as_str()];
    all.extend_from_slice(args);
    tcsms_with(&all, &ENV_CREDENTIALS, b"")
}

fn send(emulator: &Emulator, extra: &[&str]) -> String {
    let mut args = vec!["send", "--app-id", APP_ID, "--sign", "tcsms", "--template", "2001"];
    args.extend_from_slice(&["--param", "1234", "--param", "5", PHONE]);
    args.extend_from_slice(extra);
    let v = tcsms(emulator, &args).ok().json();
    let result = &v["Results"][0];
    assert_eq!((&result["Code"], &result["Class"]), (&"Ok".into(), &"ok".into()), "{v}");
    assert_eq!(result["PhoneNumber"], PHONE);
    assert_eq!(v["RequestIds"].as_array().map(Vec::len), Some(1), "{v}");
    result["SerialNo"].as_str().unwrap().to_owned()
}

/// The delivery reports waiting in the emulator's queue (one per message sent).
fn pull_reports(emulator: &Emulator) -> Vec<Value> {
    std::thread::sleep(Duration::from_millis(50));
    let v = tcsms(emulator, &["pull-status", "--app-id", APP_ID]).ok().json();
    v["Response"]["PullSmsSendStatusSet"].as_array().expect("a set").clone()
}

#[test]
fn send_checks_deduplicates_and_exits_partial_as_tcsms_send_sms() {
    let emulator = start_emulator(&[]);
    let base = ["send", "--app-id", APP_ID, "--sign", "tcsms", "--template", "2001", "--param", "1", "--param", "2"];
    // A number given three times is sent once; its later places say so.
    let mainland = &PHONE[3..]; // 11 digits, sent as +86...
                                // Class `rejected` for the duplicates: not every number ok, so 12 as tcsms_send_sms.
    let run = tcsms(&emulator, &[&base[..], &[PHONE, mainland, PHONE]].concat());
    assert_eq!(run.code, 12, "{}", run.stdout);
    let v = run.json();
    let codes: Vec<&str> = v["Results"].as_array().unwrap().iter().map(|r| r["Code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["Ok", "ClientError.DuplicatePhoneNumber", "ClientError.DuplicatePhoneNumber"], "{v}");
    assert_eq!(pull_reports(&emulator).len(), 1, "one message for three mentions of one number");

    // A malformed number: nothing is sent, exit 4 naming its index.
    let run = tcsms(&emulator, &[&base[..], &[PHONE, "12345"]].concat());
    assert_eq!((run.code, run.error_code().as_str()), (4, "ClientError.InvalidPhoneNumber"), "{}", run.stdout);
    assert!(run.stdout.contains("1"), "{}", run.stdout);
    assert!(pull_reports(&emulator).is_empty(), "a request with a malformed number was sent");

    // Not every number ok: exit 12 (TCSMS_STATUS_PARTIAL), the results on stdout.
    let blacklisted = "+8619900000002";
    let run = tcsms(&emulator, &[&base[..], &[PHONE, blacklisted]].concat());
    assert_eq!(run.code, 12, "{}", run.stdout);
    let v = run.json();
    assert_eq!(v["Results"][0]["Class"], "ok", "{v}");
    assert_eq!((&v["Results"][1]["Class"], &v["Results"][1]["PhoneNumber"]), (&"rejected".into(), &blacklisted.into()));
    // And when none is ok.
    assert_eq!(tcsms(&emulator, &[&base[..], &[blacklisted]].concat()).code, 12);

    // More than 200 numbers go in batches of 200.
    let many: Vec<String> = (0..201).map(|i| format!("+86137{i:08}")).collect();
    let mut args: Vec<&str> = base.to_vec();
    args.extend(many.iter().map(String::as_str));
    let v = tcsms(&emulator, &args).ok().json();
    assert_eq!(v["Results"].as_array().map(Vec::len), Some(201));
    assert_eq!(v["RequestIds"].as_array().map(Vec::len), Some(2), "two batches");
}

#[test]
fn send_report_conversion_and_pull_status() {
    let emulator = start_emulator(&["--auto-reply", "TD"]);
    let serial = send(&emulator, &["--session-context", "cli-test"]);

    // The documentation page answers "ok", the tccli example "OK".
    let conversion_ok = |v: &Value| v["Response"]["ReportConversionStatus"]["Code"].as_str().map(str::to_lowercase);
    let v = tcsms(&emulator, &["report-conversion", "--app-id", APP_ID, "--serial-no", &serial]).ok().json();
    assert_eq!(conversion_ok(&v).as_deref(), Some("ok"), "{v}");
    let v =
        tcsms(&emulator, &["report-conversion", "--app-id", APP_ID, "--serial-no", &serial, "--time", "1700000000"])
            .ok()
            .json();
    assert_eq!(conversion_ok(&v).as_deref(), Some("ok"), "{v}");

    // The report exists at once (--report-delay-ms 0); give the emulator's clock a moment.
    std::thread::sleep(Duration::from_millis(50));
    let by_phone =
        tcsms(&emulator, &["pull-status", "--app-id", APP_ID, "--phone", PHONE, "--limit", "10"]).ok().json();
    let set = by_phone["Response"]["PullSmsSendStatusSet"].as_array().expect("a set");
    assert!(set.iter().any(|r| r["SerialNo"] == serial.as_str()), "{by_phone}");

    let pulled = tcsms(&emulator, &["pull-status", "--app-id", APP_ID]).ok().json();
    let set = pulled["Response"]["PullSmsSendStatusSet"].as_array().expect("a set");
    assert_eq!(set.len(), 1, "{pulled}");
    assert_eq!(set[0]["SerialNo"], serial.as_str());
    assert_eq!(set[0]["ReportStatus"], "SUCCESS");
    assert_eq!(set[0]["SessionContext"], "cli-test");
    // A queue: pulled once.
    let again = tcsms(&emulator, &["pull-status", "--app-id", APP_ID]).ok().json();
    assert_eq!(again["Response"]["PullSmsSendStatusSet"], Value::Array(vec![]), "{again}");

    let replies = tcsms(&emulator, &["pull-status", "--app-id", APP_ID, "--replies"]).ok().json();
    let set = replies["Response"]["PullSmsReplyStatusSet"].as_array().expect("a set");
    assert_eq!(set.len(), 1, "{replies}");
    assert_eq!(set[0]["ReplyContent"], "TD");
    assert_eq!(set[0]["PhoneNumber"], PHONE);
}

#[test]
fn call_any_action_with_json_from_the_argument_or_stdin() {
    let emulator = start_emulator(&[]);
    let v = tcsms(&emulator, &["call", "DescribeSmsTemplateList", r#"{"International":0,"TemplateIdSet":[2001]}"#])
        .ok()
        .json();
    assert_eq!(v["Response"]["DescribeTemplateStatusSet"][0]["TemplateId"], 2001, "{v}");

    let mut args = vec!["--endpoint", emulator.url.as_str()];
    args.extend_from_slice(&["call", "SendSms", "-"]);
    let body = format!(
        r#"{{"PhoneNumberSet":["{PHONE}"],"SmsSdkAppId":"{APP_ID}","SignName":"tcsms","TemplateId":"2002","TemplateParamSet":["x"]}}"#
    );
    let v = tcsms_with(&args, &ENV_CREDENTIALS, body.as_bytes()).ok().json();
    assert_eq!(v["Response"]["SendStatusSet"][0]["Code"], "Ok", "{v}");
}

#[test]
fn global_flags_are_accepted_after_the_subcommand() {
    let emulator = start_emulator(&[]);
    let args = ["call", "DescribeSmsSignList", r#"{"International":0,"SignIdSet":[1001]}"#];
    let run = tcsms_with(
        &[&args[..], &["--endpoint", &emulator.url, "--region", "ap-guangzhou", "--timeout-ms", "5000"]].concat(),
        &ENV_CREDENTIALS,
        b"",
    );
    assert_eq!(run.ok().json()["Response"]["DescribeSignListStatusSet"][0]["SignId"], 1001);
    // And the endpoint from TCSMS_ENDPOINT.
    let env = [ENV_CREDENTIALS[0], ENV_CREDENTIALS[1], ("TCSMS_ENDPOINT", &emulator.url)];
    assert_eq!(tcsms_with(&args, &env, b"").code, 0);
}

#[test]
fn tables() {
    let emulator = start_emulator(&[]);
    let run = tcsms(
        &emulator,
        &[
            "send",
            "--table",
            "--app-id",
            APP_ID,
            "--sign",
            "tcsms",
            "--template",
            "2001",
            "--param",
            "1",
            "--param",
            "2",
            PHONE,
        ],
    )
    .ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("RequestIds: "), "{}", run.stdout);
    assert_eq!(lines[2], "Results (1):", "{}", run.stdout);
    let header: Vec<&str> = lines[3].split_whitespace().collect();
    assert_eq!(header, ["Class", "Code", "Fee", "Message", "PhoneNumber", "SerialNo"]);
    assert!(lines[4].starts_with("ok ") && lines[4].contains(PHONE), "{}", run.stdout);

    std::thread::sleep(Duration::from_millis(50));
    let run = tcsms(&emulator, &["pull-status", "--app-id", APP_ID, "--table"]).ok();
    assert!(run.stdout.starts_with("PullSmsSendStatusSet (1):\n"), "{}", run.stdout);
    assert!(run.stdout.contains("SUCCESS"), "{}", run.stdout);
    // Times in ISO 8601 (UTC), not Unix seconds.
    let year = 1970 + unix_now() / 31_556_952;
    let row = run.stdout.lines().nth(2).unwrap_or_default();
    assert!(row.contains(&format!(" {year}-")) && row.contains('T') && row.contains("Z"), "{}", run.stdout);

    // Errors go to stderr as one line in table mode.
    let run = tcsms(&emulator, &["report-conversion", "--app-id", APP_ID, "--serial-no", "not a serial", "--table"]);
    assert_eq!(run.code, 10);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(run.stderr.starts_with("error: InvalidParameterValue"), "{}", run.stderr);
}

const DELIVERY: &str = r#"[{"user_receive_time":"2015-10-17 08:03:04","nationcode":"86","mobile":"13900000001","report_status":"SUCCESS","errmsg":"DELIVRD","description":"ok","sid":"x1"}]"#;

#[test]
fn parse_callback_from_a_file_or_stdin() {
    let dir = empty_dir();
    let file = dir.join("body.json");
    std::fs::write(&file, DELIVERY).unwrap();
    let v = tcsms_with(&["parse-callback", file.to_str().unwrap()], &[], b"").ok().json();
    assert_eq!(v["Kind"], "delivery");
    assert_eq!(v["Reports"][0]["PhoneNumber"], "+8613900000001");
    assert_eq!(v["Reports"][0]["sid"], "x1");

    let reply = br#"{"mobile":"13900000001","nationcode":"86","sign":"tcsms","text":"TD","time":1445391786}"#;
    let v = tcsms_with(&["parse-callback", "-"], &[], reply).ok().json();
    assert_eq!((v["Kind"].as_str(), v["Reply"]["text"].as_str()), (Some("reply"), Some("TD")));

    let run = tcsms_with(&["parse-callback", "-", "--table"], &[], DELIVERY.as_bytes()).ok();
    assert!(run.stdout.starts_with("Kind: delivery\n\nReports (1):\nPhoneNumber "), "{}", run.stdout);

    let run = tcsms_with(&["parse-callback", "-"], &[], &DELIVERY.as_bytes()[..40]);
    assert_eq!((run.code, run.error_code().as_str()), (3, "ClientError.InvalidJson"), "{}", run.stdout);
    let run = tcsms_with(&["parse-callback", "-"], &[], br#"[{"mobile":1}]"#);
    assert_eq!((run.code, run.error_code().as_str()), (4, "ClientError.InvalidArgument"), "{}", run.stdout);
    let run = tcsms_with(&["parse-callback", "-"], &[], b"");
    assert_eq!(run.code, 4);
    assert!(run.stdout.contains("callback body is empty"), "{}", run.stdout);

    std::fs::write(&file, vec![b' '; (1 << 20) + 1]).unwrap();
    let run = tcsms_with(&["parse-callback", file.to_str().unwrap()], &[], b"");
    assert_eq!(run.code, 4);
    assert!(run.stdout.contains("over the limit of 1048576 bytes"), "{}", run.stdout);

    // A file that cannot be read: a plain message on stderr, nothing on stdout.
    let missing = dir.join("missing");
    let run = tcsms_with(&["parse-callback", missing.to_str().unwrap()], &[], b"");
    assert_eq!(run.code, 4);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    let expected = format!("tcsms: cannot read {}: ", missing.display());
    assert!(run.stderr.starts_with(&expected) && run.stderr.lines().count() == 1, "{}", run.stderr);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn exit_codes_follow_the_status() {
    let emulator = start_emulator(&[]);
    // 10: the service's error, with its Error.Code in the output.
    let run = tcsms(&emulator, &["send", "--app-id", "1400999999", "--sign", "tcsms", "--template", "2001", PHONE]);
    assert_eq!(run.code, 10, "{}", run.stdout);
    assert_eq!(run.error_code(), "UnauthorizedOperation.SmsSdkAppIdVerifyFail");
    // 4: unknown action; 3: malformed JSON.
    let run = tcsms(&emulator, &["call", "NoSuchAction", "{}"]);
    assert_eq!((run.code, run.error_code().as_str()), (4, "ClientError.UnknownAction"));
    let run = tcsms(&emulator, &["call", "SendSms", "{not json"]);
    assert_eq!((run.code, run.error_code().as_str()), (3, "ClientError.InvalidJson"));
    // 6: nothing listens there (port 1 on loopback).
    let run = tcsms_with(
        &["--endpoint", "http://127.0.0.1:1", "--timeout-ms", "3000", "pull-status", "--app-id", APP_ID],
        &ENV_CREDENTIALS,
        b"",
    );
    assert_eq!((run.code, run.error_code().as_str()), (6, "ClientError.Network"), "{}", run.stdout);
    // 4: bad usage (missing phone numbers, unknown flag); 0: --help.
    let run = tcsms(&emulator, &["send", "--app-id", APP_ID, "--template", "2001"]);
    assert_eq!(run.code, 4);
    assert!(run.stderr.contains("<PHONE>"), "{}", run.stderr);
    assert_eq!(tcsms(&emulator, &["send", "--bogus"]).code, 4);
    let help = tcsms_with(&["--help"], &[], b"").ok();
    assert!(help.stdout.contains("Exit status") && help.stdout.contains("Examples:"), "{}", help.stdout);
    for sub in ["send", "report-conversion", "pull-status", "call", "parse-callback"] {
        let help = tcsms_with(&[sub, "--help"], &[], b"").ok();
        assert!(help.stdout.contains("Examples:\n  tcsms "), "{sub}: {}", help.stdout);
    }
}

#[test]
fn credentials_come_from_the_environment_or_the_profile_file() {
    let emulator = start_emulator(&[]);
    let args = ["--endpoint", emulator.url.as_str(), "pull-status", "--app-id", APP_ID];
    // None anywhere: 5, the error names where credentials are looked for.
    let run = tcsms_with(&args, &[], b"");
    assert_eq!((run.code, run.error_code().as_str()), (5, "ClientError.MissingCredentials"), "{}", run.stdout);
    let message = run.json()["Response"]["Error"]["Message"].as_str().unwrap_or_default().to_owned();
    for part in ["TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "profile file", ".tencentcloud/credentials"] {
        assert!(message.contains(part), "{part}: {message}");
    }
    assert!(!message.contains("configuration"), "the command line has no configuration: {message}");
    // A wrong key: the service refuses the signature (10), and no key is printed.
    let wrong = [("TENCENTCLOUD_SECRET_ID", SECRET_ID), ("TENCENTCLOUD_SECRET_KEY", TOKEN)];
    let run = tcsms_with(&args, &wrong, b"");
    assert_eq!((run.code, run.error_code().as_str()), (10, "AuthFailure.SignatureFailure"), "{}", run.stdout);
    // The profile file.
    let dir = empty_dir();
    let file = dir.join("credentials");
    std::fs::write(&file, format!("[default]\nsecret_id = {SECRET_ID}\nsecret_key = {SECRET_KEY}\n")).unwrap();
    let run = tcsms_with(&args, &[("TENCENTCLOUD_CREDENTIALS_FILE", file.to_str().unwrap())], b"");
    assert_eq!(run.ok().json()["Response"]["PullSmsSendStatusSet"], Value::Array(vec![]));
    std::fs::remove_dir_all(dir).unwrap();

    // A session token from the environment.
    let with_token = start_emulator(&["--token", TOKEN]);
    let args = ["--endpoint", with_token.url.as_str(), "pull-status", "--app-id", APP_ID];
    let env = [ENV_CREDENTIALS[0], ENV_CREDENTIALS[1], ("TENCENTCLOUD_SESSION_TOKEN", TOKEN)];
    assert_eq!(tcsms_with(&args, &env, b"").code, 0);
    let run = tcsms_with(&args, &ENV_CREDENTIALS, b"");
    assert_eq!(run.code, 10, "{}", run.stdout);
}

#[test]
fn role_sources_come_from_flags_or_the_environment_and_no_secret_is_printed() {
    let dir = empty_dir();
    let token_file = dir.join("token");
    std::fs::write(&token_file, "eyJclitesttoken").unwrap();
    let emulator = start_emulator(&[
        "--cvm-role",
        "cli-role",
        "--web-identity-token-file",
        token_file.to_str().unwrap(),
        "--rate-limit",
        "all=0",
    ]);
    let url = emulator.url.as_str();
    let pull = ["pull-status", "--app-id", APP_ID];
    // A CVM role, by flags; no key anywhere.
    let args =
        [&["--endpoint", url, "--credential-source", "cvm_role", "--metadata-endpoint", url][..], &pull].concat();
    tcsms_with(&args, &[], b"").ok();
    // AssumeRole over the environment's keys, by environment variables.
    let env = [
        ENV_CREDENTIALS[0],
        ENV_CREDENTIALS[1],
        ("TENCENTCLOUD_ROLE_ARN", "qcs::cam::uin/100000000001:roleName/cli"),
        ("TCSMS_STS_ENDPOINT", url),
    ];
    tcsms_with(&[&["--endpoint", url][..], &pull].concat(), &env, b"").ok();
    // OIDC from the TKE variables alone.
    let tke = [
        ("TKE_PROVIDER_ID", "OIDC"),
        ("TKE_WEB_IDENTITY_TOKEN_FILE", token_file.to_str().unwrap()),
        ("TKE_ROLE_ARN", "qcs::cam::uin/100000000001:roleName/cli"),
        ("TCSMS_STS_ENDPOINT", url),
    ];
    tcsms_with(&[&["--endpoint", url][..], &pull].concat(), &tke, b"").ok();
    // A refused token: STS's code, exit status API_ERROR, the token never printed.
    std::fs::write(dir.join("stale"), "eyJclistaletoken").unwrap();
    let stale = [("TKE_WEB_IDENTITY_TOKEN_FILE", dir.join("stale").to_str().unwrap().to_owned())];
    let env: Vec<(&str, &str)> = tke
        .iter()
        .copied()
        .filter(|(k, _)| *k != "TKE_WEB_IDENTITY_TOKEN_FILE")
        .chain([(stale[0].0, stale[0].1.as_str())])
        .collect();
    let run = tcsms_with(&[&["--endpoint", url][..], &pull].concat(), &env, b"");
    assert_eq!((run.code, run.error_code().as_str()), (10, "InvalidParameter.WebIdentityTokenError"), "{}", run.stdout);
    assert!(!run.stdout.contains("eyJclistaletoken") && !run.stderr.contains("eyJclistaletoken"));
    // No metadata service: a named error, quickly, exit status NETWORK.
    let args = [
        &["--endpoint", url, "--credential-source", "cvm_role", "--metadata-endpoint", "http://127.0.0.1:1"][..],
        &pull,
    ]
    .concat();
    let run = tcsms_with(&args, &[], b"");
    assert_eq!((run.code, run.error_code().as_str()), (6, "ClientError.CredentialsUnavailable"), "{}", run.stdout);
    // A bad source is a configuration error naming the key.
    let run = tcsms_with(&[&["--endpoint", url, "--credential-source", "imds"][..], &pull].concat(), &[], b"");
    assert_eq!(run.code, 5);
    assert!(run.stdout.contains("credential_source"), "{}", run.stdout);
    let _ = std::fs::remove_dir_all(dir);
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}
