//! The response envelope parsers: `api::parse_envelope_head`, `api::parse_answer` (every
//! answer goes through it: the head and the answer's keys in one pass, which must read
//! what `parse_envelope_head` and `api::answer_keys` read), the typed ReportConversion
//! envelope, and the error envelope built from what they find.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tcsms::api::{answer_keys, parse_answer, parse_envelope_head, Envelope, ReportConversionResponse};
use tcsms::Error;

fuzz_target!(|data: &[u8]| {
    let head = parse_envelope_head(data);
    let fields = ["SendStatusSet", "ReportConversionStatus"];
    match (parse_answer(data, &fields, Some("SendStatusSet")), &head) {
        (None, None) => {}
        (Some((one, keys)), Some(head)) => {
            assert_eq!(one.error, head.error, "the one pass read another Error");
            assert_eq!(one.request_id, head.request_id, "the one pass read another RequestId");
            assert_eq!(keys, answer_keys(data, &fields, Some("SendStatusSet")), "the one pass read other keys");
        }
        (one, _) => panic!("only one of the parsers read it as an envelope (the one pass: {})", one.is_some()),
    }
    let _ = serde_json::from_slice::<Envelope<ReportConversionResponse>>(data);
    let Some(head) = head else { return };
    // What was accepted is a JSON object with a `Response` object. The head parser skips
    // unknown fields without checking their UTF-8, \u escapes or number ranges; the client
    // refuses a non-UTF-8 answer afterwards, and the others are still JSON syntax.
    let value: Value = match serde_json::from_slice(data) {
        Ok(value) => value,
        Err(_) if std::str::from_utf8(data).is_err() => return,
        Err(e) if e.to_string().contains("unicode code point") => return,
        // Skipped numbers are not converted, so 8e8223 passes the head parser; the body is
        // returned as received.
        Err(e) if e.to_string().contains("number out of range") => return,
        Err(e) => panic!("an accepted envelope is not JSON: {e}"),
    };
    assert!(value["Response"].is_object(), "accepted without a Response object");
    if let Some(error) = head.error {
        assert_eq!(value["Response"]["Error"]["Code"].as_str(), Some(error.code.as_str()));
        let Ok(body) = String::from_utf8(data.to_vec()) else { return };
        let error = Error::api(error.code, error.message, head.request_id.unwrap_or_default(), body);
        // The error is shown as the body as received, and prints without panicking.
        assert_eq!(error.to_envelope_json().as_bytes(), data);
        let _ = format!("{error} {error:?}");
    }
});
