//! Shared by the integration tests that run `tcsms-emulator`.
// Each test crate uses a different part of this module.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use tcsms::sign;

pub mod harness;

/// The key pair most tests start the emulator with.
pub const ID: &str = "AKIDtestemulator0000000000000000000";
pub const KEY: &str = "test-secret-key-0000000000000000";

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

pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A request to build and sign.
#[derive(Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub query: String,
    pub action: Option<String>,
    pub version: Option<String>,
    pub region: Option<String>,
    pub content_type: String,
    pub body: Vec<u8>,
    /// Body actually sent, when it differs from the one signed.
    pub sent_body: Option<Vec<u8>>,
    pub timestamp: i64,
    pub secret_id: String,
    pub secret_key: String,
    pub token: Option<String>,
    /// Extra signed headers besides content-type and host: (lowercase name, value).
    pub extra_signed: Vec<(String, String)>,
    pub authorization: Option<String>,
    pub scope_service: String,
    pub unsigned: bool,
}

impl Req {
    pub fn post(action: &str, body: impl Into<Vec<u8>>) -> Req {
        Req {
            method: "POST".into(),
            path: "/".into(),
            query: String::new(),
            action: Some(action.into()),
            version: Some("2021-01-11".into()),
            region: Some("ap-guangzhou".into()),
            content_type: "application/json".into(),
            body: body.into(),
            sent_body: None,
            timestamp: now(),
            secret_id: ID.into(),
            secret_key: KEY.into(),
            token: None,
            extra_signed: Vec::new(),
            authorization: None,
            scope_service: "sms".into(),
            unsigned: false,
        }
    }

    pub fn get(action: &str, query: &str) -> Req {
        Req {
            method: "GET".into(),
            query: query.into(),
            content_type: "application/x-www-form-urlencoded".into(),
            ..Req::post(action, "")
        }
    }

    pub fn with(mut self, f: impl FnOnce(&mut Req)) -> Req {
        f(&mut self);
        self
    }

    pub fn authorization(&self, host: &str) -> String {
        if let Some(a) = &self.authorization {
            return a.clone();
        }
        let mut headers =
            vec![("content-type".to_owned(), self.content_type.clone()), ("host".to_owned(), host.to_owned())];
        headers.extend(self.extra_signed.iter().cloned());
        headers.sort();
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let payload = if self.unsigned { sign::sha256_hex(b"UNSIGNED-PAYLOAD") } else { sign::sha256_hex(&self.body) };
        let canonical = sign::canonical_request(&self.method, &self.path, &self.query, &pairs, &payload);
        let date = sign::utc_date(self.timestamp);
        let scope = sign::credential_scope(&date, &self.scope_service);
        let key = sign::SigningKey::derive(self.secret_key.as_bytes(), &date, &self.scope_service);
        let signature = key.sign(&sign::string_to_sign(self.timestamp, &scope, &canonical));
        let names: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
        sign::authorization(&self.secret_id, &scope, &names.join(";"), &signature)
    }

    /// The request target: the path and any query.
    pub fn target(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        }
    }

    /// The headers to send to `host` (no Content-Length), signed.
    pub fn headers(&self, host: &str) -> Vec<(String, String)> {
        let mut headers = vec![
            ("Host".to_owned(), host.to_owned()),
            ("Content-Type".to_owned(), self.content_type.clone()),
            ("Authorization".to_owned(), self.authorization(host)),
            ("X-TC-Timestamp".to_owned(), self.timestamp.to_string()),
        ];
        for (name, value) in [
            ("X-TC-Action", &self.action),
            ("X-TC-Version", &self.version),
            ("X-TC-Region", &self.region),
            ("X-TC-Token", &self.token),
        ] {
            if let Some(v) = value {
                headers.push((name.to_owned(), v.clone()));
            }
        }
        for (name, value) in &self.extra_signed {
            if name != "x-tc-action" {
                headers.push((name.clone(), value.clone()));
            }
        }
        if self.unsigned {
            headers.push(("X-TC-Content-SHA256".to_owned(), "UNSIGNED-PAYLOAD".to_owned()));
        }
        headers
    }
}

/// The order in which the documentation's examples tell one account's story: AddSms* create
/// 1110, ModifySms* change it under review, and (after the review delay) the rest use it,
/// DeleteSms* last. Every action of the spec is listed once.
pub const DOC_EXAMPLE_ORDER: &[&str] = &[
    "AddSmsSign",
    "ModifySmsSign",
    "AddSmsTemplate",
    "ModifySmsTemplate",
    // The review delay passes here.
    "DescribeSmsSignList",
    "DescribeSmsTemplateList",
    "SendSms",
    "SendMultiGlobalSms",
    "PullSmsSendStatus",
    "PullSmsSendStatusByPhoneNumber",
    "PullSmsReplyStatus",
    "PullSmsReplyStatusByPhoneNumber",
    "ReportConversion",
    "SendStatusStatistics",
    "CallbackStatusStatistics",
    "SmsPackagesStatistics",
    "DescribePhoneNumberInfo",
    "DeleteSmsSign",
    "DeleteSmsTemplate",
];

/// The index in [`DOC_EXAMPLE_ORDER`] before which the review delay must have passed.
pub const DOC_EXAMPLES_REVIEWED_FROM: usize = 4;

/// One documented example: (action, request body, documented answer `Response`).
pub struct DocExample {
    pub action: String,
    pub request: serde_json::Value,
    pub response: serde_json::Value,
}

pub fn spec() -> serde_json::Value {
    serde_json::from_str(include_str!("../../../spec/actions.json")).expect("spec/actions.json")
}

/// Every `doc_examples` entry of spec/actions.json, in [`DOC_EXAMPLE_ORDER`]. Digits the
/// documentation masks with `*` (`+60198***000`) are written as `0`.
pub fn doc_examples() -> Vec<DocExample> {
    let spec = spec();
    let actions = spec["actions"].as_array().expect("actions");
    assert_eq!(actions.len(), DOC_EXAMPLE_ORDER.len(), "DOC_EXAMPLE_ORDER lists every action");
    let mut out = Vec::new();
    for name in DOC_EXAMPLE_ORDER {
        let action = actions.iter().find(|a| a["name"] == *name).unwrap_or_else(|| panic!("{name} in the spec"));
        let examples = action["doc_examples"].as_array().expect("doc_examples");
        assert!(!examples.is_empty(), "{name} has a documented example");
        for example in examples {
            let request = example["request_body"].to_string().replace('*', "0");
            out.push(DocExample {
                action: (*name).to_owned(),
                request: serde_json::from_str(&request).expect("an unmasked request"),
                response: example["response"]["Response"].clone(),
            });
        }
    }
    out
}

/// Output fields the spec marks as not always present (newer than some examples).
pub fn optional_output_fields() -> std::collections::HashSet<String> {
    let spec = spec();
    let mut out = std::collections::HashSet::new();
    for ty in spec["data_types"].as_object().expect("data_types").values() {
        for field in ty["fields"].as_array().into_iter().flatten() {
            if field["always_present_in_output"].as_str().is_some_and(|p| p != "yes") {
                out.insert(field["name"].as_str().unwrap_or_default().to_owned());
            }
        }
    }
    out
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(n) if n.is_f64() => "float",
        serde_json::Value::Number(_) => "integer",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// Whether `actual` has the shape of `documented`: every documented key with a value of
/// the same JSON type (recursively; each array element like the documented first one, and
/// a documented non-empty array not empty), and no other key except `optional` ones.
pub fn same_shape(
    documented: &serde_json::Value,
    actual: &serde_json::Value,
    optional: &std::collections::HashSet<String>,
    path: &str,
) -> Result<(), String> {
    if kind(documented) != kind(actual) {
        return Err(format!("{path}: documented {}, got {} ({actual})", kind(documented), kind(actual)));
    }
    match (documented, actual) {
        (serde_json::Value::Object(doc), serde_json::Value::Object(got)) => {
            for (key, value) in doc {
                let sub = got.get(key).ok_or_else(|| format!("{path}.{key}: missing"))?;
                same_shape(value, sub, optional, &format!("{path}.{key}"))?;
            }
            match got.keys().find(|k| !doc.contains_key(*k) && !optional.contains(*k)) {
                Some(extra) => Err(format!("{path}.{extra}: not in the documented answer")),
                None => Ok(()),
            }
        }
        (serde_json::Value::Array(doc), serde_json::Value::Array(got)) => match doc.first() {
            Some(first) if got.is_empty() => Err(format!("{path}: empty, documented {first}")),
            Some(first) => {
                got.iter().enumerate().try_for_each(|(i, v)| same_shape(first, v, optional, &format!("{path}[{i}]")))
            }
            None => Ok(()),
        },
        _ => Ok(()),
    }
}
