//! The inspection API for users' tests (no signature needed, never under `/`):
//! `GET /_emulator/messages`, `DELETE /_emulator/messages`, `POST /_emulator/replies`.

use serde_json::{json, Map, Value};

use crate::model::state::{Emulator, Message, Reply};
use crate::outbound::callbacks::Outbox;
use crate::service::phone;

pub const PREFIX: &str = "/_emulator";
/// Largest inspection request body; larger ones are answered 413.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Longest `ReplyContent` of `POST /_emulator/replies`, in characters.
pub const MAX_REPLY_CONTENT_CHARS: usize = 1000;
/// Longest `SignName` and `ExtendCode` of `POST /_emulator/replies`, in characters.
const MAX_REPLY_FIELD_CHARS: usize = 64;

/// (HTTP status, JSON body) of an inspection request.
pub fn handle(
    emu: &Emulator,
    outbox: Option<&Outbox>,
    method: &str,
    path: &str,
    query: &str,
    body: &[u8],
    now_ms: u64,
) -> (u16, String) {
    match (method, path.trim_end_matches('/')) {
        ("GET", "/_emulator/messages") => (200, list_messages(emu, query, now_ms).to_string()),
        ("DELETE", "/_emulator/messages") => {
            let mut st = emu.lock();
            let cleared = st.inspectable().len();
            st.inspect_from = st.messages.len();
            (200, json!({"Deleted": cleared}).to_string())
        }
        ("POST", "/_emulator/replies") => match queue_reply(emu, outbox, body, now_ms) {
            Ok(v) => (200, v.to_string()),
            Err(e) => (400, json!({"Error": e}).to_string()),
        },
        (_, "/_emulator/messages") | (_, "/_emulator/replies") => {
            (405, json!({"Error": "method not allowed"}).to_string())
        }
        _ => (404, json!({"Error": "no such inspection path; see /_emulator/messages"}).to_string()),
    }
}

/// The `name=value` pairs of a query string, form-decoded (a part with a malformed escape
/// is kept as sent).
fn query_pairs(query: &str) -> Vec<(String, String)> {
    let decode = |s: &str| crate::service::params::form_decode(s).unwrap_or_else(|_| s.to_owned());
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

pub fn message_json(m: &Message, now_ms: u64) -> Value {
    let ready = m.report_ready(now_ms);
    let (report_status, _) = m.delivery_report();
    let status = match (ready, m.delivered) {
        (false, _) => "sent",
        (true, true) => "delivered",
        (true, false) => "failed",
    };
    json!({
        "SerialNo": m.serial_no,
        "PhoneNumber": m.phone,
        "CountryCode": m.nation_code,
        "SubscriberNumber": m.subscriber,
        "IsoCode": m.iso_code,
        "SmsSdkAppId": m.app,
        "Action": m.action,
        "TemplateId": m.template_id.to_string(),
        "TemplateParamSet": m.template_params,
        "SignName": m.sign_name,
        "SenderId": m.sender_id,
        "ExtendCode": m.extend_code,
        "SessionContext": m.session_context,
        "Text": m.text,
        "Fee": m.fee,
        "SendTime": m.sent_ms / 1000,
        "Status": status,
        "ReportStatus": if ready { Value::from(report_status) } else { Value::Null },
        "ReportTime": if ready { Value::from(m.report_ms / 1000) } else { Value::Null },
        "Conversion": m.conversion.map(|c| json!({"ConversionTime": c.conversion_time, "ReportTime": c.reported_ms / 1000})),
    })
}

fn list_messages(emu: &Emulator, query: &str, now_ms: u64) -> Value {
    let filters = query_pairs(query);
    let wanted = |name: &str| filters.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let phone = wanted("PhoneNumber");
    let app = wanted("SmsSdkAppId");
    let st = emu.lock();
    let list: Vec<Value> = st
        .inspectable()
        .iter()
        .filter(|m| phone.is_none_or(|p| p == m.phone))
        .filter(|m| app.is_none_or(|a| a == m.app))
        .map(|m| message_json(m, now_ms))
        .collect();
    Value::Array(list)
}

fn queue_reply(emu: &Emulator, outbox: Option<&Outbox>, body: &[u8], now_ms: u64) -> Result<Value, String> {
    let v: Map<String, Value> = serde_json::from_slice(body).map_err(|e| format!("body must be a JSON object: {e}"))?;
    let get = |k: &str| -> Result<Option<String>, String> {
        match v.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("{k} must be a string")),
        }
    };
    if let Some(unknown) = v
        .keys()
        .find(|k| !["PhoneNumber", "ReplyContent", "SmsSdkAppId", "SignName", "ExtendCode"].contains(&k.as_str()))
    {
        return Err(format!("unknown field {unknown:?}"));
    }
    let number = get("PhoneNumber")?.ok_or("PhoneNumber is required")?;
    let content = get("ReplyContent")?.ok_or("ReplyContent is required")?;
    if content.chars().count() > MAX_REPLY_CONTENT_CHARS {
        return Err(format!("ReplyContent is longer than {MAX_REPLY_CONTENT_CHARS} characters"));
    }
    for field in ["SignName", "ExtendCode"] {
        if get(field)?.is_some_and(|f| f.chars().count() > MAX_REPLY_FIELD_CHARS) {
            return Err(format!("{field} is longer than {MAX_REPLY_FIELD_CHARS} characters"));
        }
    }
    let ph =
        phone::parse_send_target(&number).ok_or_else(|| format!("PhoneNumber {number:?} is not a valid number"))?;
    let mut st = emu.lock();
    let last = st.messages.iter().rev().find(|m| m.phone == ph.e164).cloned();
    let app = match get("SmsSdkAppId")? {
        Some(a) if st.has_app(&a) => a,
        Some(a) => return Err(format!("SmsSdkAppId {a:?} is not one of the emulator's apps")),
        None => last.as_ref().map(|m| m.app.clone()).or_else(|| st.apps.first().cloned()).unwrap_or_default(),
    };
    let sign_name = get("SignName")?.or_else(|| last.as_ref().map(|m| m.sign_name.clone())).unwrap_or_default();
    let extend_code = get("ExtendCode")?.unwrap_or_default();
    let reply = Reply {
        app,
        phone: ph.e164.clone(),
        nation_code: ph.nation_code.to_owned(),
        subscriber: ph.subscriber.clone(),
        sign_name,
        extend_code,
        content,
        reply_ms: now_ms + emu.settings.report_delay_ms,
    };
    let out = json!({
        "Queued": {
            "SmsSdkAppId": reply.app, "PhoneNumber": reply.phone, "SignName": reply.sign_name,
            "ReplyContent": reply.content, "ExtendCode": reply.extend_code, "ReplyTime": reply.reply_ms / 1000,
        }
    });
    crate::service::actions::accept_reply(&mut st, outbox, reply);
    Ok(out)
}
