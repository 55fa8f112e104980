//! The bodies Tencent Cloud POSTs to a customer's callback URL (protocol.md §11), parsed
//! into typed records, and the acknowledgement the service expects back.
//!
//! Two kinds of body exist:
//!
//! - a **delivery-status** callback: a JSON array of reports, each with the string fields
//!   `user_receive_time`, `nationcode`, `mobile`, `report_status`, `errmsg`,
//!   `description` and `sid` (the SendSms `SerialNo`);
//! - a **reply** (MO) callback: one JSON object with the strings `extend` (optional),
//!   `mobile`, `nationcode`, `sign`, `text` and the number `time` (Unix seconds).
//!
//! Field names are kept as the service sends them; every record also carries the number in
//! E.164 form as `PhoneNumber` (`"+" + nationcode + mobile`). `mobile`, `nationcode` and
//! (for delivery reports) `report_status` and `sid`, and (for replies) `text` and `time`
//! are required; the other fields default to `""` when absent. Unknown fields are ignored.
//! A body larger than [`MAX_BODY_BYTES`] is refused before it is read.
//!
//! Answer every callback with [`ACK`]; a receiver that could not take the body answers
//! [`ack_failure`] (the service treats a non-zero `result` as a failure).

use crate::error::{codes, Error, ErrorKind};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The largest callback body accepted: 1 MiB.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The acknowledgement body the service expects for an accepted callback, exactly as
/// documented (protocol.md §11).
pub const ACK: &str = r#"{"result": 0, "errmsg": "OK"}"#;

/// The acknowledgement body for a callback that was not accepted: `result` 1 and the
/// reason in `errmsg`.
pub fn ack_failure(reason: &str) -> String {
    serde_json::json!({ "result": 1, "errmsg": reason }).to_string()
}

/// One delivery report of a delivery-status callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryReport {
    /// When the phone received the message, e.g. `2015-10-17 08:03:04`.
    pub user_receive_time: String,
    /// Country code without `+`, e.g. `86`.
    pub nationcode: String,
    /// The number without the country code.
    pub mobile: String,
    /// `SUCCESS` or `FAIL`.
    pub report_status: String,
    /// The carrier's receipt code, e.g. `DELIVRD`.
    pub errmsg: String,
    /// The receipt's description.
    pub description: String,
    /// The message's serial number (SendSms `SerialNo`).
    pub sid: String,
    /// `+` nationcode mobile.
    #[serde(rename = "PhoneNumber")]
    pub phone_number: String,
}

/// A reply (MO message) callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// The extension code; `""` when absent.
    pub extend: String,
    pub mobile: String,
    pub nationcode: String,
    /// The SMS signature the reply answers.
    pub sign: String,
    /// The reply's text.
    pub text: String,
    /// When the reply arrived, Unix seconds.
    pub time: i64,
    /// `+` nationcode mobile.
    #[serde(rename = "PhoneNumber")]
    pub phone_number: String,
}

/// A parsed callback body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    Delivery(Vec<DeliveryReport>),
    Reply(Reply),
}

impl Callback {
    /// The normalised JSON: `{"Kind":"delivery","Reports":[...]}` or
    /// `{"Kind":"reply","Reply":{...}}`.
    pub fn to_json(&self) -> String {
        let value = match self {
            Callback::Delivery(reports) => serde_json::json!({ "Kind": "delivery", "Reports": reports }),
            Callback::Reply(reply) => serde_json::json!({ "Kind": "reply", "Reply": reply }),
        };
        value.to_string()
    }
}

fn invalid(message: String) -> Error {
    Error::local(ErrorKind::InvalidArgument, codes::INVALID_ARGUMENT, message)
}

/// Parses a callback body.
///
/// Errors: `ClientError.InvalidArgument` for an empty body, a body over 1 MiB, or a
/// body of the wrong shape (named field and record); `ClientError.InvalidJson` for
/// malformed or truncated JSON and for bytes that are not UTF-8.
pub fn parse(body: &[u8]) -> Result<Callback, Error> {
    check_len(body.len())?;
    // JSON is UTF-8: other bytes are malformed JSON (the C ABI reports them as
    // TCSMS_STATUS_INVALID_UTF8 before calling this).
    let text = std::str::from_utf8(body).map_err(|e| {
        Error::local(
            ErrorKind::InvalidJson,
            codes::INVALID_JSON,
            format!("callback body is not valid UTF-8 (at byte {})", e.valid_up_to()),
        )
    })?;
    if text.trim().is_empty() {
        return Err(invalid("callback body is empty".to_owned()));
    }
    let value: Value = serde_json::from_str(text).map_err(|e| {
        let what = if e.is_eof() { "is truncated" } else { "is not valid JSON" };
        Error::local(ErrorKind::InvalidJson, codes::INVALID_JSON, format!("callback body {what}: {e}"))
    })?;
    match value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| delivery_report(i, item))
            .collect::<Result<_, _>>()
            .map(Callback::Delivery),
        Value::Object(map) => reply(&map).map(Callback::Reply),
        other => Err(invalid(format!(
            "callback body must be a JSON array (delivery reports) or object (reply), not {}",
            type_name(&other)
        ))),
    }
}

/// Refuses a body length over [`MAX_BODY_BYTES`] (before the body is read).
pub fn check_len(len: usize) -> Result<(), Error> {
    if len > MAX_BODY_BYTES {
        return Err(invalid(format!("callback body is {len} bytes, over the limit of {MAX_BODY_BYTES} bytes (1 MiB)")));
    }
    Ok(())
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads the fields of one record, naming the record in every error.
struct Fields<'a> {
    map: &'a Map<String, Value>,
    what: String,
}

impl Fields<'_> {
    fn string(&self, key: &str, required: bool) -> Result<String, Error> {
        match self.map.get(key) {
            Some(Value::String(s)) => Ok(s.clone()),
            None | Some(Value::Null) if !required => Ok(String::new()),
            None | Some(Value::Null) => Err(invalid(format!("{}: field `{key}` is missing", self.what))),
            Some(other) => {
                Err(invalid(format!("{}: field `{key}` must be a string, not {}", self.what, type_name(other))))
            }
        }
    }

    fn phone_number(&self) -> Result<String, Error> {
        let nation = self.string("nationcode", true)?;
        let mobile = self.string("mobile", true)?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let code = nation.strip_prefix('+').unwrap_or(&nation);
        if !digits(code) || code.len() > 4 {
            return Err(invalid(format!("{}: field `nationcode` must be 1-4 digits, not {nation:?}", self.what)));
        }
        if !digits(&mobile) || code.len() + mobile.len() > 15 {
            return Err(invalid(format!(
                "{}: field `mobile` must be digits (at most 15 with the country code), not {mobile:?}",
                self.what
            )));
        }
        Ok(format!("+{code}{mobile}"))
    }
}

fn delivery_report(index: usize, item: &Value) -> Result<DeliveryReport, Error> {
    let what = format!("delivery report {index}");
    let Value::Object(map) = item else {
        return Err(invalid(format!("{what} must be a JSON object, not {}", type_name(item))));
    };
    let f = Fields { map, what };
    Ok(DeliveryReport {
        phone_number: f.phone_number()?,
        user_receive_time: f.string("user_receive_time", false)?,
        nationcode: f.string("nationcode", true)?,
        mobile: f.string("mobile", true)?,
        report_status: f.string("report_status", true)?,
        errmsg: f.string("errmsg", false)?,
        description: f.string("description", false)?,
        sid: f.string("sid", true)?,
    })
}

fn reply(map: &Map<String, Value>) -> Result<Reply, Error> {
    let f = Fields { map, what: "reply".to_owned() };
    let time = match map.get("time") {
        Some(Value::Number(n)) => {
            n.as_i64().ok_or_else(|| invalid(format!("reply: field `time` must be whole Unix seconds, not {n}")))?
        }
        None | Some(Value::Null) => return Err(invalid("reply: field `time` is missing".to_owned())),
        Some(other) => return Err(invalid(format!("reply: field `time` must be a number, not {}", type_name(other)))),
    };
    Ok(Reply {
        phone_number: f.phone_number()?,
        extend: f.string("extend", false)?,
        mobile: f.string("mobile", true)?,
        nationcode: f.string("nationcode", true)?,
        sign: f.string("sign", false)?,
        text: f.string("text", true)?,
        time,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const DELIVERY: &str = r#"[
        {"user_receive_time":"2015-10-17 08:03:04","nationcode":"86","mobile":"13900000001",
         "report_status":"SUCCESS","errmsg":"DELIVRD","description":"用户短信接收成功","sid":"x1"},
        {"user_receive_time":"2015-10-17 08:03:05","nationcode":"65","mobile":"91234567",
         "report_status":"FAIL","errmsg":"UNDELIV","description":"fail","sid":"x2","extra":1}
    ]"#;
    pub(crate) const REPLY: &str =
        r#"{"extend":"","mobile":"13900000001","nationcode":"86","sign":"tcsms","text":"TD","time":1445391786}"#;

    fn error(body: &[u8]) -> Error {
        parse(body).expect_err("must be refused")
    }

    #[test]
    fn delivery_reports_keep_field_names_and_gain_e164() {
        let Callback::Delivery(reports) = parse(DELIVERY.as_bytes()).unwrap() else { panic!("not delivery") };
        assert_eq!(reports.len(), 2);
        assert_eq!(reports[0].phone_number, "+8613900000001");
        assert_eq!(reports[0].description, "用户短信接收成功");
        assert_eq!(reports[1].phone_number, "+6591234567");
        assert_eq!(reports[1].report_status, "FAIL");
        let json: Value = serde_json::from_str(&parse(DELIVERY.as_bytes()).unwrap().to_json()).unwrap();
        assert_eq!(json["Kind"], "delivery");
        let first = &json["Reports"][0];
        for key in ["user_receive_time", "nationcode", "mobile", "report_status", "errmsg", "description", "sid"] {
            assert!(first[key].is_string(), "{key} missing in {first}");
        }
        assert_eq!(first["PhoneNumber"], "+8613900000001");
        assert_eq!(first["sid"], "x1");
        assert!(json["Reports"][1].get("extra").is_none(), "unknown fields are dropped");
    }

    #[test]
    fn a_reply_is_one_object() {
        let json: Value = serde_json::from_str(&parse(REPLY.as_bytes()).unwrap().to_json()).unwrap();
        assert_eq!(json["Kind"], "reply");
        assert_eq!(json["Reply"]["PhoneNumber"], "+8613900000001");
        assert_eq!(json["Reply"]["time"], 1445391786);
        assert_eq!(json["Reply"]["text"], "TD");
        // `extend` and `sign` are optional.
        let Callback::Reply(r) = parse(br#"{"mobile":"1","nationcode":"+1","text":"x","time":0}"#).unwrap() else {
            panic!()
        };
        assert_eq!((r.extend.as_str(), r.sign.as_str(), r.phone_number.as_str()), ("", "", "+11"));
    }

    #[test]
    fn empty_array_is_a_delivery_without_reports() {
        assert_eq!(parse(b"[]").unwrap(), Callback::Delivery(vec![]));
        assert_eq!(parse(b"[]").unwrap().to_json(), r#"{"Kind":"delivery","Reports":[]}"#);
    }

    #[test]
    fn truncated_bodies_are_invalid_json() {
        for cut in [1, DELIVERY.len() / 2, DELIVERY.len() - 1] {
            let e = error(&DELIVERY.as_bytes()[..cut]);
            assert_eq!(e.code(), codes::INVALID_JSON, "{cut}: {e}");
            assert!(e.message().contains("truncated"), "{e}");
        }
        let e = error(b"{\"mobile\": 12,,}");
        assert_eq!(e.code(), codes::INVALID_JSON);
        assert!(e.message().contains("not valid JSON"), "{e}");
    }

    #[test]
    fn wrong_types_name_the_record_and_field() {
        let e = error(br#"[{"nationcode":"86","mobile":13900000001,"report_status":"SUCCESS","sid":"x"}]"#);
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert_eq!(e.message(), "delivery report 0: field `mobile` must be a string, not a number");
        let e = error(br#"[{"nationcode":"86","mobile":"1","report_status":"SUCCESS","sid":"x"}, 5]"#);
        assert_eq!(e.message(), "delivery report 1 must be a JSON object, not a number");
        let e = error(br#"[{"nationcode":"86","mobile":"1","report_status":"SUCCESS"}]"#);
        assert_eq!(e.message(), "delivery report 0: field `sid` is missing");
        let e = error(br#"{"mobile":"1","nationcode":"86","text":"x","time":"1445391786"}"#);
        assert_eq!(e.message(), "reply: field `time` must be a number, not a string");
        let e = error(br#"{"mobile":"1","nationcode":"86","text":"x","time":1.5}"#);
        assert!(e.message().contains("whole Unix seconds"), "{e}");
        let e = error(br#"{"mobile":"1","nationcode":"86","time":1}"#);
        assert_eq!(e.message(), "reply: field `text` is missing");
        let e = error(br#"{"mobile":"1","nationcode":"8a6","text":"x","time":1}"#);
        assert!(e.message().contains("`nationcode` must be 1-4 digits"), "{e}");
        let e = error(br#""just a string""#);
        assert!(e.message().contains("must be a JSON array"), "{e}");
    }

    #[test]
    fn oversized_empty_and_non_utf8_bodies_are_refused() {
        let mut big = String::from("[");
        while big.len() <= MAX_BODY_BYTES {
            big.push_str(r#"{"nationcode":"86","mobile":"1","report_status":"SUCCESS","sid":"x"},"#);
        }
        big.pop();
        big.push(']');
        let e = error(big.as_bytes());
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.message().contains("over the limit of 1048576 bytes"), "{e}");
        // Exactly at the limit is still read (and here fails only as JSON).
        assert_eq!(error(&vec![b' '; MAX_BODY_BYTES]).message(), "callback body is empty");
        assert_eq!(error(b"").message(), "callback body is empty");
        assert_eq!(error(b" \n").message(), "callback body is empty");
        let e = error(b"[\"\xff\"]");
        assert_eq!((e.kind(), e.code()), (ErrorKind::InvalidJson, codes::INVALID_JSON));
        assert_eq!(e.message(), "callback body is not valid UTF-8 (at byte 2)");
    }

    #[test]
    fn acknowledgements() {
        assert_eq!(ACK, r#"{"result": 0, "errmsg": "OK"}"#);
        let v: Value = serde_json::from_str(ACK).unwrap();
        assert_eq!((v["result"].as_i64(), v["errmsg"].as_str()), (Some(0), Some("OK")));
        let v: Value = serde_json::from_str(&ack_failure("bad \"body\"")).unwrap();
        assert_eq!((v["result"].as_i64(), v["errmsg"].as_str()), (Some(1), Some("bad \"body\"")));
    }
}
