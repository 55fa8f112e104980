//! Per-number results and batching for SendSms and SendMultiGlobalSms.
//!
//! The service answers HTTP 200 with a RequestId even when some or all numbers failed:
//! each number's own `Code` sits in `SendStatusSet` (`SendMultiStatusSet`). Here every
//! number gets a result with a [`Class`], in input order, and the caller learns "all
//! ok" only when every number is `ok`.
//!
//! Before anything is sent, every number is checked locally: E.164 (`+`, 7 to 15
//! digits, no leading zero; `+86` numbers are 11 digits starting with 1) or an
//! 11-digit mainland number starting with 1, which is sent as `+86...`, as the service
//! accepts it. A bad number refuses the whole call with `ClientError.InvalidPhoneNumber`
//! naming its 0-based index. A number given again (after normalisation) is sent once,
//! at its first place; its later places get `ClientError.DuplicatePhoneNumber`
//! (`rejected`). More than [`MAX_BATCH`] numbers are sent in batches of at most
//! [`MAX_BATCH`], one after the other, in order. When a batch fails as a whole:
//! - the first batch: the call fails with that error (status and envelope as for
//!   `call`; its message adds that the later batches were not sent, when there are any);
//! - a later batch: its numbers get the error's code and message, with class `unknown`
//!   when the service may have acted on it (a network failure or timeout after
//!   sending, an HTTP 5xx, an unreadable answer, `InternalError*`), otherwise the class
//!   of the code; the batches after it are not sent (`ClientError.NotSent`, `failed`).
//!   A batch whose outcome is unknown is never resent.

pub use crate::api::normalize_phone_number;
use crate::client::Client;
use crate::error::{codes, Error, ErrorKind};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The most numbers the service takes in one request.
pub const MAX_BATCH: usize = 200;

/// Per-number `Code`s of tcsms itself (listed with `TCSMS_STATUS_PARTIAL` in
/// `spec/client_errors.json`); they never come as an error, only in results.
pub mod per_number {
    /// The number came earlier in the request and was sent once there (`rejected`).
    pub const DUPLICATE_PHONE_NUMBER: &str = "ClientError.DuplicatePhoneNumber";
    /// Not sent, because an earlier batch failed as a whole or time ran out (`failed`).
    pub const NOT_SENT: &str = "ClientError.NotSent";
    /// The service's answer has no entry for the number (`unknown`).
    pub const NO_RESULT: &str = "ClientError.NoResult";
}

/// What a number's result means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// Accepted by the service (`Code` `Ok`).
    Ok,
    /// Permanent for this request: the number, a blacklist, the signature or template,
    /// the content. Sending the same again fails the same way.
    Rejected,
    /// A per-number frequency limit (`LimitExceeded.PhoneNumber*`): try later.
    Limited,
    /// A service-side failure; nothing was sent to the number and it may be retried.
    Failed,
    /// The request may or may not have been delivered; it was not resent.
    Unknown,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Ok => "ok",
            Class::Rejected => "rejected",
            Class::Limited => "limited",
            Class::Failed => "failed",
            Class::Unknown => "unknown",
        }
    }
}

/// The classification of per-number codes, the only one in tcsms. An entry matches a
/// code equal to it or starting with it followed by `.`; the first match wins; a code
/// that matches nothing is `failed`. Every entry is a code or category of
/// `spec/errorcodes.json` (checked in the tests).
pub const CLASSIFICATION: &[(&str, Class)] = &[
    ("Ok", Class::Ok),
    // Per-number frequency limits.
    ("LimitExceeded.PhoneNumberThirtySecondLimit", Class::Limited),
    ("LimitExceeded.PhoneNumberOneHourLimit", Class::Limited),
    ("LimitExceeded.PhoneNumberDailyLimit", Class::Limited),
    ("LimitExceeded.PhoneNumberSameContentDailyLimit", Class::Limited),
    ("LimitExceeded.DeliveryFrequencyLimit", Class::Limited),
    // Account-side conditions that can clear without changing the request.
    ("FailedOperation.InsufficientBalanceInSmsPackage", Class::Failed),
    ("FailedOperation.MarketingSendTimeConstraint", Class::Failed),
    ("LimitExceeded", Class::Failed),
    ("RequestLimitExceeded", Class::Failed),
    ("InternalError", Class::Failed),
    ("ServiceUnavailable", Class::Failed),
    // The number, a blacklist, the signature or template, the content: permanent.
    ("FailedOperation", Class::Rejected),
    ("InvalidParameterValue", Class::Rejected),
    ("InvalidParameter", Class::Rejected),
    ("MissingParameter", Class::Rejected),
    ("UnsupportedOperation", Class::Rejected),
    ("UnauthorizedOperation", Class::Rejected),
];

/// The class of a per-number `Code` (see [`CLASSIFICATION`]).
pub fn classify(code: &str) -> Class {
    CLASSIFICATION
        .iter()
        .find(|(key, _)| code == *key || code.strip_prefix(key).is_some_and(|rest| rest.starts_with('.')))
        .map_or(Class::Failed, |(_, class)| *class)
}

/// One number's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NumberResult {
    #[serde(rename = "PhoneNumber")]
    pub phone_number: String,
    #[serde(rename = "SerialNo")]
    pub serial_no: String,
    #[serde(rename = "Code")]
    pub code: String,
    #[serde(rename = "Message")]
    pub message: String,
    #[serde(rename = "Fee")]
    pub fee: u64,
    #[serde(rename = "Class")]
    pub class: Class,
}

/// The results of one send: one per input number, in input order, and the RequestId
/// of every request sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SendResults {
    #[serde(rename = "Results")]
    pub results: Vec<NumberResult>,
    #[serde(rename = "RequestIds")]
    pub request_ids: Vec<String>,
}

impl SendResults {
    /// Whether every number is `ok`.
    pub fn all_ok(&self) -> bool {
        self.results.iter().all(|r| r.class == Class::Ok)
    }

    /// `{"Results":[...],"RequestIds":[...]}`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The two sending actions and where their numbers are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sms,
    MultiGlobal,
}

impl Kind {
    fn action(self) -> &'static str {
        match self {
            Kind::Sms => "SendSms",
            Kind::MultiGlobal => "SendMultiGlobalSms",
        }
    }

    fn list(self) -> &'static str {
        match self {
            Kind::Sms => "PhoneNumberSet",
            Kind::MultiGlobal => "MultiSmsInfoSet",
        }
    }

    fn status_set(self) -> &'static str {
        match self {
            Kind::Sms => "SendStatusSet",
            Kind::MultiGlobal => "SendMultiStatusSet",
        }
    }

    /// The number of one list item, and where to write its normalised form.
    fn number_of(self, item: &mut Value) -> Option<&mut Value> {
        match self {
            Kind::Sms => Some(item),
            Kind::MultiGlobal => item.as_object_mut()?.get_mut("PhoneNumber"),
        }
    }
}

impl Client {
    /// SendSms with any number of numbers (see the [module docs](crate::send)):
    /// `request_json` is a SendSms request whose `PhoneNumberSet` has at least one number.
    /// Each batch is one call, limited by the client's `timeout_ms`.
    pub fn send_sms(&self, request_json: &str) -> Result<SendResults, Error> {
        self.send_sms_with_timeout(request_json, None)
    }

    /// As [`Client::send_sms`]; `timeout`, when given, limits the whole send.
    pub fn send_sms_with_timeout(&self, request_json: &str, timeout: Option<Duration>) -> Result<SendResults, Error> {
        send(self, Kind::Sms, request_json, timeout)
    }

    /// SendMultiGlobalSms the same way: `MultiSmsInfoSet` may have any length of at least 1;
    /// numbers are checked, deduplicated and batched as for [`Client::send_sms`].
    pub fn send_multi_global_sms(&self, request_json: &str) -> Result<SendResults, Error> {
        self.send_multi_global_sms_with_timeout(request_json, None)
    }

    /// As [`Client::send_multi_global_sms`]; `timeout`, when given, limits the whole send.
    pub fn send_multi_global_sms_with_timeout(
        &self,
        request_json: &str,
        timeout: Option<Duration>,
    ) -> Result<SendResults, Error> {
        send(self, Kind::MultiGlobal, request_json, timeout)
    }
}

fn send(client: &Client, kind: Kind, request_json: &str, timeout: Option<Duration>) -> Result<SendResults, Error> {
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut request: Map<String, Value> = serde_json::from_str(request_json).map_err(|e| {
        Error::local(ErrorKind::InvalidJson, codes::INVALID_JSON, format!("request must be a JSON object: {e}"))
    })?;
    let list = kind.list();
    let mut items = match request.remove(list) {
        Some(Value::Array(items)) if !items.is_empty() => items,
        _ => return Err(Error::invalid_argument(format!("{}: {list} must be a non-empty array", kind.action()))),
    };
    let mut numbers = Vec::with_capacity(items.len());
    for (index, item) in items.iter_mut().enumerate() {
        let slot = kind.number_of(item);
        let normalized = slot.as_deref().and_then(Value::as_str).and_then(normalize_phone_number);
        let (Some(slot), Some(normalized)) = (slot, normalized) else {
            return Err(invalid_number(kind, index, item));
        };
        *slot = Value::String(normalized.clone());
        numbers.push(normalized);
    }

    let mut results: Vec<Option<NumberResult>> = vec![None; numbers.len()];
    let mut first_place: HashMap<&str, usize> = HashMap::new();
    let mut to_send = Vec::new();
    for (index, number) in numbers.iter().enumerate() {
        match first_place.get(number.as_str()) {
            Some(&first) => {
                results[index] = Some(local_result(
                    number,
                    per_number::DUPLICATE_PHONE_NUMBER,
                    format!("the same number as {list}[{first}]; sent once, there"),
                    Class::Rejected,
                ))
            }
            None => {
                first_place.insert(number, index);
                to_send.push(index);
            }
        }
    }

    let mut request_ids = Vec::new();
    let mut stopped: Option<String> = None;
    for (batch, chunk) in to_send.chunks(MAX_BATCH).enumerate() {
        if stopped.is_none() && deadline.is_some_and(|d| Instant::now() >= d) {
            stopped = Some("the call's time limit ran out before this batch".to_owned());
        }
        if let Some(why) = &stopped {
            for &i in chunk {
                results[i] =
                    Some(local_result(&numbers[i], per_number::NOT_SENT, format!("not sent: {why}"), Class::Failed));
            }
            continue;
        }
        request.insert(list.to_owned(), Value::Array(chunk.iter().map(|&i| items[i].clone()).collect()));
        let body = Value::Object(request.clone()).to_string();
        let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        match client.call_with_timeout(kind.action(), &body, remaining) {
            Ok(answer) => {
                let answer: Value = serde_json::from_str(&answer).unwrap_or(Value::Null);
                let response = &answer["Response"];
                if let Some(id) = response["RequestId"].as_str() {
                    request_ids.push(id.to_owned());
                }
                let set = response[kind.status_set()].as_array().map(Vec::as_slice).unwrap_or_default();
                let by_number: HashMap<&str, &Value> =
                    set.iter().filter_map(|entry| Some((entry["PhoneNumber"].as_str()?, entry))).collect();
                // By number only: the client refused an answer listing numbers that were
                // not in this batch, and a place in the list proves nothing.
                for &i in chunk {
                    let entry = by_number.get(numbers[i].as_str()).copied();
                    results[i] = Some(match entry {
                        Some(entry) => service_result(&numbers[i], entry),
                        None => local_result(
                            &numbers[i],
                            per_number::NO_RESULT,
                            format!("the answer has no {} entry for this number", kind.status_set()),
                            Class::Unknown,
                        ),
                    });
                }
            }
            Err(error) if batch == 0 => {
                // Nothing of the later batches was sent either: say so.
                let rest = to_send.len() - chunk.len();
                if rest == 0 {
                    return Err(error);
                }
                let batches = to_send.len().div_ceil(MAX_BATCH);
                return Err(error.with_note(&format!(
                    "; the first batch of {} failed as a whole, so batches 2 to {batches} ({rest} more numbers) were \
                     not sent",
                    chunk.len()
                )));
            }
            Err(error) => {
                if !error.request_id().is_empty() {
                    request_ids.push(error.request_id().to_owned());
                }
                let class = batch_failure_class(&error);
                for &i in chunk {
                    results[i] = Some(local_result(&numbers[i], error.code(), error.message().to_owned(), class));
                }
                stopped = Some(format!("batch {batch} (0-based) failed as a whole with {}", error.code()));
            }
        }
    }
    // Every place holds a result by now; a missed one would show as `unknown`, not panic.
    let results = results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| local_result("", per_number::NO_RESULT, "no result".to_owned(), Class::Unknown)))
        .collect();
    Ok(SendResults { results, request_ids })
}

/// The class of a batch's numbers when the batch failed as a whole.
fn batch_failure_class(error: &Error) -> Class {
    match error.kind() {
        ErrorKind::Api => match error.code() {
            "InternalError" | "InternalError.SendAndRecvFail" | "InternalError.Timeout" | "ServiceUnavailable" => {
                Class::Unknown
            }
            code => classify(code),
        },
        // Transport and rate-limit errors say whether anything was written (see crate::client).
        _ if error.message().ends_with("the request was not sent") => Class::Failed,
        ErrorKind::Network | ErrorKind::Timeout | ErrorKind::HttpStatus | ErrorKind::Decode => Class::Unknown,
        _ => Class::Failed,
    }
}

fn service_result(number: &str, entry: &Value) -> NumberResult {
    let text = |key: &str| entry[key].as_str().unwrap_or_default().to_owned();
    let code = text("Code");
    NumberResult {
        phone_number: number.to_owned(),
        serial_no: text("SerialNo"),
        message: text("Message"),
        fee: entry["Fee"].as_u64().unwrap_or(0),
        class: classify(&code),
        code,
    }
}

fn local_result(number: &str, code: &str, message: String, class: Class) -> NumberResult {
    NumberResult {
        phone_number: number.to_owned(),
        serial_no: String::new(),
        code: code.to_owned(),
        message,
        fee: 0,
        class,
    }
}

fn invalid_number(kind: Kind, index: usize, item: &Value) -> Error {
    let list = kind.list();
    let shown = match kind {
        Kind::Sms => item.to_string(),
        Kind::MultiGlobal => item.get("PhoneNumber").map_or_else(|| "no PhoneNumber".to_owned(), Value::to_string),
    };
    let shown: String = shown.chars().take(40).collect();
    Error::local(
        ErrorKind::InvalidArgument,
        codes::INVALID_PHONE_NUMBER,
        format!(
            "{list}[{index}] ({shown}) is not a phone number: write it in E.164 form (+ and the country code, \
             such as +8613800000000) or as an 11-digit mainland number; nothing was sent"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_normalised_or_refused() {
        assert_eq!(normalize_phone_number("13800000000").as_deref(), Some("+8613800000000"));
        assert_eq!(normalize_phone_number("+8613800000000").as_deref(), Some("+8613800000000"));
        assert_eq!(normalize_phone_number("+15550000001").as_deref(), Some("+15550000001"));
        assert_eq!(normalize_phone_number("+85291234567").as_deref(), Some("+85291234567"));
        for bad in [
            "",
            "+",
            "138000000",
            "23800000000",
            "+86138000000",
            "+8623800000000",
            "+0123456789",
            "+1 555 0000",
            "+1234567890123456",
            "abc",
            "8613800000000",
        ] {
            assert_eq!(normalize_phone_number(bad), None, "{bad}");
        }
    }

    /// The table in one place, checked against the service's list of codes.
    #[test]
    fn the_classification_table_matches_errorcodes_json() {
        let spec: Value =
            serde_json::from_str(include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/spec/errorcodes.json"))).unwrap();
        let mut known: Vec<&str> =
            spec["sms_service_codes"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
        known.extend(
            spec["common_codes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap_or_else(|| c["code"].as_str().unwrap())),
        );
        for (code, _) in CLASSIFICATION.iter().skip(1) {
            assert!(known.contains(code), "{code} is not in spec/errorcodes.json");
        }
        // Every per-number code of the service gets the class the README documents.
        let expect = |code: &str| -> Class {
            if code.starts_with("LimitExceeded.PhoneNumber") && code != "LimitExceeded.PhoneNumberCountLimit"
                || code == "LimitExceeded.DeliveryFrequencyLimit"
            {
                Class::Limited
            } else if code.starts_with("InternalError")
                || code.starts_with("LimitExceeded")
                || code.starts_with("RequestLimitExceeded")
                || code == "ServiceUnavailable"
                || code == "FailedOperation.InsufficientBalanceInSmsPackage"
                || code == "FailedOperation.MarketingSendTimeConstraint"
            {
                Class::Failed
            } else if [
                "FailedOperation",
                "InvalidParameter",
                "MissingParameter",
                "UnsupportedOperation",
                "UnauthorizedOperation",
            ]
            .iter()
            .any(|p| code.starts_with(p))
            {
                Class::Rejected
            } else {
                Class::Failed
            }
        };
        for code in &known {
            let want =
                if code.starts_with("LimitExceeded.PhoneNumberCountLimit") { Class::Failed } else { expect(code) };
            assert_eq!(classify(code), want, "{code}");
        }
        // The emulator's documented test numbers (docs/emulator.md) and their classes.
        for (code, class) in [
            ("Ok", Class::Ok),
            ("InvalidParameterValue.IncorrectPhoneNumber", Class::Rejected),
            ("FailedOperation.PhoneNumberInBlacklist", Class::Rejected),
            ("FailedOperation.TemplateParamSetNotMatchApprovedTemplate", Class::Rejected),
            ("LimitExceeded.PhoneNumberThirtySecondLimit", Class::Limited),
            ("LimitExceeded.PhoneNumberSameContentDailyLimit", Class::Limited),
            ("InternalError.Timeout", Class::Failed),
            ("InternalError.OtherError", Class::Failed),
            ("SomethingNew.Entirely", Class::Failed),
            ("OkNot", Class::Failed),
        ] {
            assert_eq!(classify(code), class, "{code}");
        }
    }

    #[test]
    fn results_serialise_exactly_as_documented() {
        let results = SendResults {
            results: vec![NumberResult {
                phone_number: "+8613711112222".into(),
                serial_no: "2433:1".into(),
                code: "Ok".into(),
                message: "send success".into(),
                fee: 1,
                class: Class::Ok,
            }],
            request_ids: vec!["r1".into()],
        };
        assert_eq!(
            results.to_json(),
            r#"{"Results":[{"PhoneNumber":"+8613711112222","SerialNo":"2433:1","Code":"Ok","Message":"send success","Fee":1,"Class":"ok"}],"RequestIds":["r1"]}"#
        );
        assert!(results.all_ok());
    }
}
