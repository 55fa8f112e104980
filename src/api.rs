//! The SMS API 2021-01-11: its action list, the response envelope and typed models.
//!
//! Every action is callable through the generic [`crate::Client::call`]; the typed
//! models here cover ReportConversion. The list of actions is generated from
//! `spec/actions.json` (src/api_gen.rs) and checked against it in the tests.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// `X-TC-Version` of every request.
pub const API_VERSION: &str = "2021-01-11";

/// Whether an action may safely be sent twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Reading or reporting: sending it again changes nothing the caller cares about.
    Idempotent,
    /// Sends a message or changes state: never resent once it may have reached the service.
    NotIdempotent,
}

/// One action of the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action {
    pub name: &'static str,
    pub idempotency: Idempotency,
    /// The service's default limit for this action (requests per second).
    pub rate_limit_per_second: u32,
    /// The fields of `Response` that every success answer to this action has (besides
    /// `RequestId`).
    pub result_fields: &'static [&'static str],
}

const fn action(name: &'static str, idempotency: Idempotency, rate: u32, results: &'static [&'static str]) -> Action {
    Action { name, idempotency, rate_limit_per_second: rate, result_fields: results }
}

use Idempotency::{Idempotent as I, NotIdempotent as N};

// `ACTIONS`, generated from spec/actions.json by `cargo run -p xtask -- gen`.
include!("api_gen.rs");

/// Looks an action up by its exact name.
pub fn find_action(name: &str) -> Option<&'static Action> {
    ACTIONS.binary_search_by(|a| a.name.cmp(name)).ok().map(|i| &ACTIONS[i])
}

/// `Response.Error` of an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    #[serde(rename = "Code")]
    pub code: String,
    #[serde(rename = "Message", default)]
    pub message: String,
}

/// The parts of `{"Response": {...}}` every answer has.
#[derive(Debug, Clone, Deserialize)]
pub struct EnvelopeHead {
    #[serde(rename = "Response", deserialize_with = "object")]
    pub response: ResponseHead,
}

/// `Response` without the action's own fields.
#[derive(Debug, Clone, Deserialize)]
pub struct ResponseHead {
    #[serde(rename = "Error", default, deserialize_with = "optional_object")]
    pub error: Option<ApiError>,
    #[serde(rename = "RequestId", default)]
    pub request_id: Option<String>,
}

/// Parses the envelope head of a response body; `None` when the body is not an envelope.
/// The envelope, `Response` and `Error` must be JSON objects: serde's derived structs
/// would also take arrays (`[[]]`, `{"Response":[null,"id"]}`), which are no envelope.
pub fn parse_envelope_head(body: &[u8]) -> Option<ResponseHead> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let head: EnvelopeHead = object(&mut de).ok()?;
    de.end().ok()?;
    Some(head.response)
}

/// What ties a success answer to its request, read without building the whole answer:
/// which of the wanted result fields `Response` has, and the `PhoneNumber` of each entry
/// of the array `numbers_in` (for SendSms and SendMultiGlobalSms).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AnswerKeys {
    /// Bit `i` set: `fields[i]` is present.
    pub present: u64,
    /// The entries of `numbers_in`, each with its `PhoneNumber` (`None`: it has none).
    pub numbers: Vec<Option<String>>,
}

/// An entry of the number list of an answer, as [`answer_keys`] and [`parse_answer`]
/// read it.
#[derive(Deserialize)]
struct NumberEntry {
    #[serde(rename = "PhoneNumber", default)]
    phone_number: Option<String>,
}

/// Reads [`AnswerKeys`] from a body; `None` when it is not an envelope of that shape
/// (`numbers_in` present but not an array of objects, say). `fields`: at most 64.
pub fn answer_keys(body: &[u8], fields: &[&str], numbers_in: Option<&str>) -> Option<AnswerKeys> {
    use serde::de::{DeserializeSeed, IgnoredAny};

    #[derive(Clone, Copy)]
    struct Seed<'s> {
        fields: &'s [&'s str],
        numbers_in: Option<&'s str>,
        /// Reading the envelope (true) or `Response` (false).
        envelope: bool,
    }

    impl<'de> DeserializeSeed<'de> for Seed<'_> {
        type Value = AnswerKeys;
        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<AnswerKeys, D::Error> {
            deserializer.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Seed<'_> {
        type Value = AnswerKeys;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnswerKeys, A::Error> {
            let mut keys = AnswerKeys::default();
            let mut response = false;
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if self.envelope {
                    if key == "Response" && !response {
                        response = true;
                        keys = map.next_value_seed(Seed { envelope: false, ..self })?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                } else {
                    if let Some(i) = self.fields.iter().position(|f| *f == key) {
                        keys.present |= 1 << i;
                    }
                    if Some(&*key) == self.numbers_in {
                        let entries: Vec<NumberEntry> = map.next_value()?;
                        keys.numbers = entries.into_iter().map(|e| e.phone_number).collect();
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            if self.envelope && !response {
                return Err(serde::de::Error::missing_field("Response"));
            }
            Ok(keys)
        }
    }

    let mut de = serde_json::Deserializer::from_slice(body);
    let keys =
        Seed { fields: &fields[..fields.len().min(64)], numbers_in, envelope: true }.deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(keys)
}

/// [`parse_envelope_head`] and [`answer_keys`] of one body, in one pass over it when it
/// is a well-formed answer (every real one): the same results as calling both, which
/// each read the whole body. `None` when the body is no envelope; the keys are `None`
/// when [`answer_keys`] would say so.
pub fn parse_answer(
    body: &[u8],
    fields: &[&str],
    numbers_in: Option<&str>,
) -> Option<(ResponseHead, Option<AnswerKeys>)> {
    use serde::de::{DeserializeSeed, Error as _, IgnoredAny};

    /// `Error` as [`ResponseHead`] reads it: an object or null.
    #[derive(Deserialize)]
    struct ErrorField(#[serde(deserialize_with = "optional_object")] Option<ApiError>);

    #[derive(Clone, Copy)]
    struct Seed<'s> {
        fields: &'s [&'s str],
        numbers_in: Option<&'s str>,
    }

    /// `Response`: the head's fields (each at most once, as the derived parser wants)
    /// and the keys.
    impl<'de> DeserializeSeed<'de> for Seed<'_> {
        type Value = (ResponseHead, AnswerKeys);
        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Seed<'_> {
        type Value = (ResponseHead, AnswerKeys);
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut keys = AnswerKeys::default();
            let (mut error, mut request_id) = (None, None);
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if let Some(i) = self.fields.iter().position(|f| *f == key) {
                    keys.present |= 1 << i;
                }
                if key == "Error" {
                    if error.is_some() {
                        return Err(A::Error::duplicate_field("Error"));
                    }
                    error = Some(map.next_value::<ErrorField>()?.0);
                } else if key == "RequestId" {
                    if request_id.is_some() {
                        return Err(A::Error::duplicate_field("RequestId"));
                    }
                    request_id = Some(map.next_value::<Option<String>>()?);
                } else if Some(&*key) == self.numbers_in {
                    let entries: Vec<NumberEntry> = map.next_value()?;
                    keys.numbers = entries.into_iter().map(|e| e.phone_number).collect();
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok((ResponseHead { error: error.flatten(), request_id: request_id.flatten() }, keys))
        }
    }

    /// The envelope: exactly one `Response`, other keys skipped.
    struct Envelope<'s>(Seed<'s>);

    impl<'de> Visitor<'de> for Envelope<'_> {
        type Value = (ResponseHead, AnswerKeys);
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut response = None;
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if key == "Response" {
                    if response.is_some() {
                        return Err(A::Error::duplicate_field("Response"));
                    }
                    response = Some(map.next_value_seed(self.0)?);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            response.ok_or_else(|| A::Error::missing_field("Response"))
        }
    }

    let fields = &fields[..fields.len().min(64)];
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = serde::Deserializer::deserialize_map(&mut de, Envelope(Seed { fields, numbers_in }));
    match parsed.and_then(|parsed| de.end().map(|()| parsed)) {
        Ok((head, keys)) => Some((head, Some(keys))),
        // Something the two parsers may judge differently (an answer whose number list
        // is no list, a repeated field): ask each.
        Err(_) => Some((parse_envelope_head(body)?, answer_keys(body, fields, numbers_in))),
    }
}

/// Deserializes `T` from a JSON object only (never from an array).
fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<T, D::Error> {
    struct ObjectVisitor<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(MapAccessDeserializer::new(map))
        }
    }
    deserializer.deserialize_map(ObjectVisitor(PhantomData))
}

/// As [`object`], for a field that may also be `null`.
fn optional_object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    struct OptionVisitor<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for OptionVisitor<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object or null")
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
            object(deserializer).map(Some)
        }
    }
    deserializer.deserialize_option(OptionVisitor(PhantomData))
}

/// ReportConversion request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportConversionRequest {
    #[serde(rename = "SmsSdkAppId")]
    pub sms_sdk_app_id: String,
    #[serde(rename = "SerialNo")]
    pub serial_no: String,
    /// Unix seconds when the code was used; omitted when `None`.
    #[serde(rename = "ConversionTime", skip_serializing_if = "Option::is_none")]
    pub conversion_time: Option<u64>,
}

/// `ReportConversionStatus` of a ReportConversion answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportConversionStatus {
    #[serde(rename = "Code")]
    pub code: String,
    #[serde(rename = "Message", default)]
    pub message: String,
}

/// ReportConversion response (`Response` of the envelope).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportConversionResponse {
    #[serde(rename = "ReportConversionStatus")]
    pub report_conversion_status: ReportConversionStatus,
    #[serde(rename = "RequestId")]
    pub request_id: String,
}

/// A whole envelope around a typed response.
#[derive(Debug, Clone, Deserialize)]
pub struct Envelope<T> {
    #[serde(rename = "Response")]
    pub response: T,
}

/// The E.164 form of a number, or `None` when it is neither E.164 (`+` and 7 to 15
/// digits, no leading zero; `+86` numbers 11 digits starting with 1) nor an 11-digit
/// mainland number starting with 1 (returned as `+86...`).
pub fn normalize_phone_number(number: &str) -> Option<String> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(rest) = number.strip_prefix('+') {
        if !digits(rest) || !(7..=15).contains(&rest.len()) || rest.starts_with('0') {
            return None;
        }
        if let Some(mainland) = rest.strip_prefix("86") {
            if mainland.len() != 11 || !mainland.starts_with('1') {
                return None;
            }
        }
        return Some(number.to_owned());
    }
    (number.len() == 11 && digits(number) && number.starts_with('1')).then(|| format!("+86{number}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn spec() -> Value {
        serde_json::from_str(include_str!("../spec/actions.json")).unwrap()
    }

    #[test]
    fn action_list_matches_the_spec() {
        let spec = spec();
        let spec_actions = spec["actions"].as_array().unwrap();
        assert_eq!(spec_actions.len(), ACTIONS.len());
        for a in spec_actions {
            let name = a["name"].as_str().unwrap();
            let ours = find_action(name).unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!(
                u64::from(ours.rate_limit_per_second),
                a["default_rate_limit_per_second"].as_u64().unwrap(),
                "{name}"
            );
        }
        assert!(ACTIONS.windows(2).all(|w| w[0].name < w[1].name), "sorted for binary search");
    }

    #[test]
    fn only_reads_and_reports_are_idempotent() {
        for a in ACTIONS {
            let reads = a.name.starts_with("Describe")
                || a.name.starts_with("Pull")
                || a.name.ends_with("Statistics")
                || a.name == "ReportConversion";
            assert_eq!(a.idempotency == Idempotency::Idempotent, reads, "{}", a.name);
        }
        assert!(find_action("sendsms").is_none(), "names are case-sensitive");
        assert!(find_action("Nope").is_none());
    }

    #[test]
    fn report_conversion_models_match_the_doc_example() {
        let spec = spec();
        let ex = spec["actions"].as_array().unwrap().iter().find(|a| a["name"] == "ReportConversion").unwrap()
            ["doc_examples"][0]
            .clone();
        let req: ReportConversionRequest = serde_json::from_value(ex["request_body"].clone()).unwrap();
        assert_eq!(serde_json::to_value(&req).unwrap(), ex["request_body"]);
        let resp: Envelope<ReportConversionResponse> = serde_json::from_value(ex["response"].clone()).unwrap();
        assert_eq!(resp.response.report_conversion_status.code, "OK");
        let no_time = ReportConversionRequest { conversion_time: None, ..req };
        assert!(!serde_json::to_string(&no_time).unwrap().contains("ConversionTime"));
    }

    #[test]
    fn envelope_head_reads_errors_and_request_ids() {
        let err =
            br#"{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"bad"},"RequestId":"r-1"}}"#;
        let head = parse_envelope_head(err).unwrap();
        assert_eq!(head.error.unwrap().code, "AuthFailure.SignatureFailure");
        assert_eq!(head.request_id.as_deref(), Some("r-1"));
        let ok = br#"{"Response":{"SendStatusSet":[],"RequestId":"r-2"}}"#;
        assert!(parse_envelope_head(ok).unwrap().error.is_none());
        assert!(parse_envelope_head(b"<html>").is_none());
        assert!(parse_envelope_head(br#"{"NotResponse":1}"#).is_none());
    }

    #[test]
    fn one_pass_reads_what_the_head_and_keys_parsers_read() {
        let fields = ["SendStatusSet", "Other"];
        for body in [
            &br#"{"Response":{"SendStatusSet":[{"PhoneNumber":"+8613800000000"},{}],"RequestId":"r"}}"#[..],
            br#"{"Response":{"Error":{"Code":"X","Message":"m"},"RequestId":"r"},"Extra":[1,{"a":2}]}"#,
            br#"{"Response":{"Error":null,"RequestId":null,"Other":1}}"#,
            br#"{"Response":{"Re\u0071uestId":"escaped","SendStatusSet":[]}}"#,
            br#"{"Response":{"SendStatusSet":"not a list","RequestId":"r"}}"#,
            br#"{"Response":{"SendStatusSet":[1,2],"RequestId":"r"}}"#,
            br#"{"Response":{"RequestId":"a","RequestId":"b"}}"#,
            br#"{"Response":{"Error":null,"Error":{"Code":"X"}}}"#,
            br#"{"Response":{"RequestId":"a"},"Response":{"RequestId":"b"}}"#,
            br#"{"Response":{"Error":["AuthFailure","m"],"RequestId":"r"}}"#,
            br#"{"Response":{"Error":{"Message":"no code"}}}"#,
            br#"{"Response":{"RequestId":7}}"#,
            br#"{"Response":[null,"id"]}"#,
            br#"{"Response":{}} trailing"#,
            br#"{"NotResponse":1}"#,
            br#"[[]]"#,
            b"<html>",
            b"",
        ] {
            let shown = String::from_utf8_lossy(body);
            let head = parse_envelope_head(body);
            let keys = answer_keys(body, &fields, Some("SendStatusSet"));
            match parse_answer(body, &fields, Some("SendStatusSet")) {
                None => assert!(head.is_none(), "{shown}: the head parser reads it"),
                Some((one_head, one_keys)) => {
                    let head = head.unwrap_or_else(|| panic!("{shown}: only the one pass reads it"));
                    assert_eq!(one_head.error, head.error, "{shown}");
                    assert_eq!(one_head.request_id, head.request_id, "{shown}");
                    assert_eq!(one_keys, keys, "{shown}");
                }
            }
        }
    }

    #[test]
    fn only_objects_are_envelopes() {
        for body in [
            &br#"[[]]"#[..],
            br#"[{"Error":{"Code":"X"}}]"#,
            br#"{"Response":[null,"id"]}"#,
            br#"{"Response":{"Error":["AuthFailure","m"],"RequestId":"r"}}"#,
        ] {
            assert!(parse_envelope_head(body).is_none(), "{}", String::from_utf8_lossy(body));
        }
        let null_error = parse_envelope_head(br#"{"Response":{"Error":null,"RequestId":"r"}}"#).unwrap();
        assert!(null_error.error.is_none());
    }
}
