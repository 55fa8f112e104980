//! `--table`: a readable rendering of any JSON answer.
//!
//! Scalars become `Key: value` lines (nested objects as `Outer.Inner`), arrays of objects
//! become column tables (one row per item, columns in key order), `RequestId` comes last.
//! Columns are aligned by display width, so Chinese text lines up too. Times given as Unix
//! seconds (integer fields named `...Time` or `time`) are shown in ISO 8601, UTC.

use serde_json::{Map, Value};
use unicode_width::UnicodeWidthStr;

/// Renders `json` (an answer envelope, an error envelope or a parsed callback); text that
/// is not a JSON object is returned unchanged.
pub fn render(json: &str) -> String {
    let Ok(Value::Object(root)) = serde_json::from_str::<Value>(json) else {
        return json.to_owned();
    };
    let body = match root.get("Response") {
        Some(Value::Object(response)) if root.len() == 1 => response,
        _ => &root,
    };
    let mut fields = Vec::new();
    let mut tables = Vec::new();
    collect(body, "", &mut fields, &mut tables);
    let key_width = fields.iter().map(|(k, _)| k.width()).max().unwrap_or(0);
    let mut out: Vec<String> =
        fields.iter().map(|(key, value)| format!("{key}:{} {value}", pad(key.width(), key_width))).collect();
    for (name, rows) in tables {
        if !out.is_empty() {
            out.push(String::new());
        }
        out.push(format!("{name} ({}):", rows.len()));
        out.extend(table(&rows));
    }
    if let Some(id) = body.get("RequestId").and_then(Value::as_str) {
        if !out.is_empty() {
            out.push(String::new());
        }
        out.push(format!("RequestId: {id}"));
    }
    out.join("\n")
}

type Fields = Vec<(String, String)>;
type Tables<'a> = Vec<(String, Vec<&'a Map<String, Value>>)>;

fn collect<'a>(map: &'a Map<String, Value>, prefix: &str, fields: &mut Fields, tables: &mut Tables<'a>) {
    for (key, value) in map {
        if prefix.is_empty() && key == "RequestId" {
            continue;
        }
        let name = format!("{prefix}{key}");
        match value {
            Value::Object(inner) => collect(inner, &format!("{name}."), fields, tables),
            Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object) => {
                tables.push((name, items.iter().filter_map(Value::as_object).collect()));
            }
            Value::Array(items) if items.is_empty() => fields.push((name, "(none)".to_owned())),
            Value::Array(items) => fields.push((name, items.iter().map(cell).collect::<Vec<_>>().join(", "))),
            scalar => fields.push((name, field(key, scalar))),
        }
    }
}

/// A value under `key`: Unix seconds in a time field as ISO 8601, anything else as [`cell`].
fn field(key: &str, value: &Value) -> String {
    match value.as_u64() {
        Some(seconds) if key.ends_with("Time") || key == "time" => iso8601(seconds),
        _ => cell(value),
    }
}

/// Unix seconds as `YYYY-MM-DDThh:mm:ssZ` (the proleptic Gregorian calendar, UTC).
fn iso8601(seconds: u64) -> String {
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    // Below u64::MAX / 86_400 days, so the conversion cannot fail.
    let (year, month, day) = tcsms::sign::civil_from_days(i64::try_from(days).unwrap_or(i64::MAX));
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.replace(['\n', '\r', '\t'], " "),
        other => other.to_string(),
    }
}

fn pad(width: usize, to: usize) -> String {
    " ".repeat(to.saturating_sub(width))
}

fn table(rows: &[&Map<String, Value>]) -> Vec<String> {
    let mut columns: Vec<&String> = Vec::new();
    for row in rows {
        for key in row.keys() {
            if !columns.contains(&key) {
                columns.push(key);
            }
        }
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| columns.iter().map(|c| row.get(*c).map(|v| field(c, v)).unwrap_or_default()).collect())
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| cells.iter().map(|r| r[i].width()).chain([c.width()]).max().unwrap_or(0))
        .collect();
    let line = |values: Vec<&str>| {
        let mut text = String::new();
        for (i, v) in values.iter().enumerate() {
            text.push_str(v);
            if i + 1 < values.len() {
                text.push_str(&pad(v.width(), widths[i] + 2));
            }
        }
        text.trim_end().to_owned()
    };
    let mut out = vec![line(columns.iter().map(|c| c.as_str()).collect())];
    out.extend(cells.iter().map(|r| line(r.iter().map(String::as_str).collect())));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_become_fields_and_tables() {
        let json = r#"{"Response":{"SendStatusSet":[
            {"SerialNo":"s1","PhoneNumber":"+8613800000000","Fee":1,"Code":"Ok","Message":"send success"},
            {"SerialNo":"s2","PhoneNumber":"+65912","Fee":12,"Code":"Ok","Message":"发送成功"}],
            "RequestId":"r-1"}}"#;
        let text = render(json);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "SendStatusSet (2):");
        assert_eq!(lines[1], "Code  Fee  Message       PhoneNumber     SerialNo");
        assert_eq!(lines[2], "Ok    1    send success  +8613800000000  s1");
        // Chinese text is two columns wide per character: still aligned.
        assert_eq!(lines[3], "Ok    12   发送成功      +65912          s2");
        assert_eq!(lines[5], "RequestId: r-1");
    }

    #[test]
    fn nested_objects_and_errors_become_fields() {
        let text =
            render(r#"{"Response":{"ReportConversionStatus":{"Code":"OK","Message":"success"},"RequestId":"r"}}"#);
        assert_eq!(text, "ReportConversionStatus.Code:    OK\nReportConversionStatus.Message: success\n\nRequestId: r");
        let text = render(r#"{"Response":{"PullSmsSendStatusSet":[],"RequestId":"r"}}"#);
        assert_eq!(text, "PullSmsSendStatusSet: (none)\n\nRequestId: r");
        assert_eq!(render("not json"), "not json");
    }

    #[test]
    fn callbacks_render_too() {
        let text = render(r#"{"Kind":"reply","Reply":{"PhoneNumber":"+861","text":"TD","time":5}}"#);
        assert_eq!(
            text,
            "Kind:              reply\nReply.PhoneNumber: +861\nReply.text:        TD\nReply.time:        1970-01-01T00:00:05Z"
        );
    }

    #[test]
    fn unix_times_become_iso_8601() {
        for (seconds, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_620_734_188, "2021-05-11T11:56:28Z"),
            (1_709_251_199, "2024-02-29T23:59:59Z"),
            (4_102_444_800, "2100-01-01T00:00:00Z"),
            (253_402_300_799, "9999-12-31T23:59:59Z"),
        ] {
            assert_eq!(iso8601(seconds), text, "{seconds}");
        }
        let text = render(
            r#"{"Response":{"PullSmsSendStatusSet":[{"UserReceiveTime":1620734188,"SerialNo":"s"}],"BeginTime":"2021040113","RequestId":"r"}}"#,
        );
        assert!(text.contains("BeginTime: 2021040113"), "{text}");
        assert!(text.lines().any(|l| l.starts_with("s ") && l.ends_with(" 2021-05-11T11:56:28Z")), "{text}");
        assert_eq!(field("Fee", &Value::from(5)), "5");
    }
}
