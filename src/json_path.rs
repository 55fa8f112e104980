//! One value out of a JSON document by path, for callers without a JSON parser (C).
//!
//! A path is keys separated by `.`, each followed by any number of `[N]` array indexes
//! (`Response.SendStatusSet[0].SerialNo`, `Results[1].Class`, `[0]` at the top of an
//! array). A string value comes back unquoted and unescaped; any other value as compact
//! JSON, its object keys in the document's order and its numbers as written.
//!
//! The document is validated as a whole first (malformed JSON is `InvalidJson` even when
//! the path would be found before the error); then each step re-reads only the value it
//! is in. Both inputs are bounded so that the work is too: the document by
//! [`MAX_JSON_BYTES`] (the largest answer the client accepts) and the path by
//! [`MAX_PATH_BYTES`] and [`MAX_PATH_STEPS`].

use crate::error::{codes, Error, ErrorKind};
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// The largest document accepted: the client's largest answer.
pub const MAX_JSON_BYTES: usize = crate::client::MAX_RESPONSE_BYTES as usize;
/// The longest path accepted, in bytes.
pub const MAX_PATH_BYTES: usize = 4096;
/// The most steps (keys and indexes) a path may have.
pub const MAX_PATH_STEPS: usize = 64;

/// One step of a path: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// Returns the value at `path` in `json`: a string unescaped, any other value as
/// compact JSON.
///
/// Errors: `InvalidJson` when `json` is not one JSON value; `InvalidArgument` when the
/// path is malformed, an input is over its bound, the path is not in the document (the
/// message names the first missing segment), or the string found holds U+0000 (which a
/// C string cannot carry).
pub fn get(json: &str, path: &str) -> Result<String, Error> {
    if json.len() > MAX_JSON_BYTES {
        return Err(Error::invalid_argument(format!(
            "json is {} bytes, over the limit of {MAX_JSON_BYTES} bytes",
            json.len()
        )));
    }
    let steps = parse_path(path)?;
    let mut current: &RawValue = serde_json::from_str(json).map_err(|e| {
        Error::local(ErrorKind::InvalidJson, codes::INVALID_JSON, format!("json is not valid JSON: {e}"))
    })?;
    // The end of the path read so far, to name the segment that is missing.
    let mut done = 0;
    for (step, end) in &steps {
        let found = match step {
            Step::Key(key) => member(current, key),
            Step::Index(index) => element(current, *index),
        };
        current = found.ok_or_else(|| missing(path, done, *end, current))?;
        done = *end;
    }
    leaf(current, path)
}

/// Splits a path into its steps, each with the byte offset in `path` where it ends.
fn parse_path(path: &str) -> Result<Vec<(Step<'_>, usize)>, Error> {
    let bad = |why: &str| Error::invalid_argument(format!("path `{path}` is malformed: {why}"));
    if path.is_empty() {
        return Err(Error::invalid_argument("path is empty"));
    }
    if path.len() > MAX_PATH_BYTES {
        return Err(Error::invalid_argument(format!(
            "path is {} bytes, over the limit of {MAX_PATH_BYTES} bytes",
            path.len()
        )));
    }
    let mut steps = Vec::new();
    let bytes = path.as_bytes();
    let mut at = 0;
    loop {
        // A key (empty only at the very start, before an index: `[0].Name`).
        let start = at;
        while at < bytes.len() && !matches!(bytes[at], b'.' | b'[' | b']') {
            at += 1;
        }
        if at > start {
            steps.push((Step::Key(&path[start..at]), at));
        } else if !(start == 0 && bytes.get(at) == Some(&b'[')) {
            return Err(bad(&format!("empty key at byte {start}")));
        }
        // Its indexes.
        while bytes.get(at) == Some(&b'[') {
            let digits = at + 1;
            let close = path[digits..].find(']').map(|i| digits + i).ok_or_else(|| bad("`[` without `]`"))?;
            let text = &path[digits..close];
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(&format!("`[{text}]` is not an array index (digits only)")));
            }
            let index = text.parse().map_err(|_| bad(&format!("index `{text}` is too large")))?;
            at = close + 1;
            steps.push((Step::Index(index), at));
        }
        match bytes.get(at) {
            None => break,
            Some(b'.') => at += 1,
            Some(_) => return Err(bad(&format!("unexpected `{}` at byte {at}", char::from(bytes[at])))),
        }
    }
    if steps.len() > MAX_PATH_STEPS {
        return Err(Error::invalid_argument(format!(
            "path has {} steps, over the limit of {MAX_PATH_STEPS}",
            steps.len()
        )));
    }
    Ok(steps)
}

/// The value of `key` in `value` when it is an object with that key (the last one, if
/// the key repeats).
fn member<'a>(value: &'a RawValue, key: &str) -> Option<&'a RawValue> {
    if !value.get().starts_with('{') {
        return None;
    }
    let mut object: BTreeMap<String, &RawValue> = serde_json::from_str(value.get()).ok()?;
    object.remove(key)
}

/// Element `index` of `value` when it is an array that long.
fn element(value: &RawValue, index: usize) -> Option<&RawValue> {
    if !value.get().starts_with('[') {
        return None;
    }
    let array: Vec<&RawValue> = serde_json::from_str(value.get()).ok()?;
    array.get(index).copied()
}

/// The error for the segment of `path` from `from` to `to`, not found in `value`.
fn missing(path: &str, from: usize, to: usize, value: &RawValue) -> Error {
    let segment = path[from..to].trim_start_matches('.');
    let within = if from == 0 { "the document".to_owned() } else { format!("`{}`", &path[..from]) };
    let what = match value.get().as_bytes().first() {
        Some(b'{') => "an object".to_owned(),
        Some(b'[') => {
            let len = serde_json::from_str::<Vec<&RawValue>>(value.get()).map_or(0, |a| a.len());
            format!("an array of {len} element{}", if len == 1 { "" } else { "s" })
        }
        Some(b'"') => "a string".to_owned(),
        Some(b'n') => "null".to_owned(),
        Some(b't' | b'f') => "a boolean".to_owned(),
        _ => "a number".to_owned(),
    };
    Error::invalid_argument(format!("path `{path}`: `{segment}` not found ({within} is {what})"))
}

/// A string unescaped; anything else as compact JSON.
fn leaf(value: &RawValue, path: &str) -> Result<String, Error> {
    let text = value.get();
    if !text.starts_with('"') {
        return Ok(compact(text));
    }
    let string: String = serde_json::from_str(text).map_err(|e| {
        Error::local(ErrorKind::InvalidJson, codes::INVALID_JSON, format!("json is not valid JSON: {e}"))
    })?;
    if string.contains('\0') {
        return Err(Error::invalid_argument(format!(
            "path `{path}`: the string holds U+0000, which a C string cannot carry"
        )));
    }
    Ok(string)
}

/// `json` (valid JSON) without the white space outside its strings.
fn compact(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if matches!(c, ' ' | '\t' | '\n' | '\r') {
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEND: &str = r#"{"Response":{"SendStatusSet":[{"SerialNo":"5000:1045710669157053657849499619",
        "PhoneNumber":"+8613711112222","Fee":1,"Code":"Ok","Message":"send success"}],
        "RequestId":"a0aabda6-cf91-4f3e-a81f-9198114a2279"}}"#;

    fn get_ok(json: &str, path: &str) -> String {
        get(json, path).unwrap_or_else(|e| panic!("{path}: {}", e.message()))
    }

    fn get_err(json: &str, path: &str) -> (ErrorKind, String) {
        let e = get(json, path).expect_err(path);
        (e.kind(), e.message().to_owned())
    }

    #[test]
    fn strings_come_back_unquoted_and_unescaped() {
        assert_eq!(get_ok(SEND, "Response.SendStatusSet[0].SerialNo"), "5000:1045710669157053657849499619");
        assert_eq!(get_ok(SEND, "Response.RequestId"), "a0aabda6-cf91-4f3e-a81f-9198114a2279");
        assert_eq!(get_ok(r#"{"a":"line\nt\u00e9l \"q\" \\ \ud83d\ude00"}"#, "a"), "line\ntél \"q\" \\ 😀");
        assert_eq!(get_ok(r#"{"a":""}"#, "a"), "");
    }

    #[test]
    fn other_values_come_back_as_compact_json_in_document_order() {
        assert_eq!(get_ok(SEND, "Response.SendStatusSet[0].Fee"), "1");
        assert_eq!(
            get_ok(r#"{"a": { "z" : [1, 2.50, 1e3], "b": "x y", "c":null, "d":true }}"#, "a"),
            r#"{"z":[1,2.50,1e3],"b":"x y","c":null,"d":true}"#
        );
        assert_eq!(get_ok(r#"{"a":"q\"  \\"}"#, "a"), "q\"  \\");
        assert_eq!(get_ok(r#"{"a":{"s":"q\\\"  x"}}"#, "a"), r#"{"s":"q\\\"  x"}"#);
        assert_eq!(get_ok(r#"{"n":-0.000001234567890123456789}"#, "n"), "-0.000001234567890123456789");
        assert_eq!(get_ok(r#"{"n":123456789012345678901234567890}"#, "n"), "123456789012345678901234567890");
        assert_eq!(get_ok(r#"{"b":false,"z":null}"#, "z"), "null");
        assert_eq!(get_ok(r#"{"n":1e400}"#, "n"), "1e400");
    }

    #[test]
    fn indexes_chain_and_may_start_the_path() {
        let json = r#"[{"Results":[{"Class":"ok"},{"Class":"rejected"}]},[[1,[2,3]]]]"#;
        assert_eq!(get_ok(json, "[0].Results[1].Class"), "rejected");
        assert_eq!(get_ok(json, "[1][0][1][1]"), "3");
        assert_eq!(get_ok(r#"{"m":[[0,1],[2]]}"#, "m[1][0]"), "2");
    }

    #[test]
    fn a_repeated_key_gives_its_last_value() {
        assert_eq!(get_ok(r#"{"a":1,"a":2}"#, "a"), "2");
    }

    #[test]
    fn a_missing_path_names_its_first_missing_segment() {
        let (kind, message) = get_err(SEND, "Response.SendStatusSet[3].SerialNo");
        assert_eq!(kind, ErrorKind::InvalidArgument);
        assert!(message.contains("`[3]` not found"), "{message}");
        assert!(message.contains("`Response.SendStatusSet` is an array of 1 element"), "{message}");
        let (_, message) = get_err(SEND, "Response.Error.Code");
        assert!(message.contains("`Error` not found (`Response` is an object)"), "{message}");
        let (_, message) = get_err(SEND, "Nope");
        assert!(message.contains("`Nope` not found (the document is an object)"), "{message}");
        let (_, message) = get_err(SEND, "Response.RequestId.x");
        assert!(message.contains("`x` not found (`Response.RequestId` is a string)"), "{message}");
        let (_, message) = get_err(SEND, "Response[0]");
        assert!(message.contains("`[0]` not found (`Response` is an object)"), "{message}");
        let (_, message) = get_err("[1]", "a");
        assert!(message.contains("`a` not found (the document is an array of 1 element)"), "{message}");
    }

    #[test]
    fn bad_json_is_invalid_json_even_after_the_value() {
        for json in ["", "{", r#"{"a":1"#, r#"{"a":"x"} trailing"#, r#"{"a":"x","b":}"#, "nul"] {
            assert_eq!(get_err(json, "a").0, ErrorKind::InvalidJson, "{json}");
        }
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(get_ok(&deep, "[0][0]"), "[".repeat(99_998) + &"]".repeat(99_998));
    }

    #[test]
    fn malformed_paths_are_refused() {
        for path in
            ["", ".a", "a.", "a..b", "a[", "a[]", "a[x]", "a[-1]", "a]", "a[0]b", "[0]x", "a[99999999999999999999999]"]
        {
            assert_eq!(get_err("{}", path).0, ErrorKind::InvalidArgument, "{path:?}");
        }
        let long = "a.".repeat(MAX_PATH_STEPS) + "a";
        assert!(get_err("{}", &long).1.contains("steps"));
        let wide = "a".repeat(MAX_PATH_BYTES + 1);
        assert!(get_err("{}", &wide).1.contains("bytes"));
    }

    #[test]
    fn a_nul_in_the_string_found_is_refused() {
        let (kind, message) = get_err(r#"{"a":"x\u0000y"}"#, "a");
        assert_eq!(kind, ErrorKind::InvalidArgument);
        assert!(message.contains("U+0000"), "{message}");
        assert_eq!(get_ok(r#"{"a":{"b":"x\u0000y"}}"#, "a"), r#"{"b":"x\u0000y"}"#);
    }

    #[test]
    fn keys_may_hold_any_character_but_dot_and_brackets() {
        assert_eq!(get_ok(r#"{"a b":{"é-1":"v"}}"#, "a b.é-1"), "v");
        assert_eq!(get_ok(r#"{"a\"b":1}"#, "a\"b"), "1");
    }
}
