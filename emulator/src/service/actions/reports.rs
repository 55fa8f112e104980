//! Delivery reports and replies (PullSmsSendStatus, PullSmsReplyStatus and their
//! ByPhoneNumber variants) and ReportConversion.

use serde_json::{json, Map, Value};

use super::{fields, pull_limit, Ctx, Params};
use crate::model::state::{Conversion, Message, Reply};
use crate::service::envelope::ApiError;
use crate::service::ids;
use crate::service::phone;

type Fields = Map<String, Value>;

/// The ByPhoneNumber variants reach at most this far back.
const MAX_LOOKBACK_SECS: u64 = 7 * 86_400;

fn report_json(m: &Message) -> Value {
    let (status, description) = m.delivery_report();
    json!({
        "UserReceiveTime": m.report_ms / 1000,
        "CountryCode": m.nation_code,
        "SubscriberNumber": m.subscriber,
        "PhoneNumber": m.phone,
        "SerialNo": m.serial_no,
        "ReportStatus": status,
        "Description": description,
        "SessionContext": m.session_context,
    })
}

fn reply_json(r: &Reply) -> Value {
    json!({
        "ExtendCode": r.extend_code,
        "CountryCode": r.nation_code,
        "PhoneNumber": r.phone,
        "SignName": r.sign_name,
        "ReplyContent": r.content,
        "ReplyTime": r.reply_ms / 1000,
        "SubscriberNumber": r.subscriber,
    })
}

/// Queue semantics: each ready record is returned once, oldest first.
pub fn pull_send_status(ctx: &mut Ctx, p: &Params) -> Result<Fields, ApiError> {
    let app = ctx.app(p)?;
    let limit = pull_limit(p, 100)?;
    let now = ctx.now_ms;
    let st = &mut *ctx.st;
    let mut out = Vec::new();
    if let Some(queue) = st.report_queue.get_mut(&app) {
        while out.len() < limit {
            match queue.front().and_then(|&i| st.messages.get(i)) {
                Some(m) if m.report_ready(now) => {
                    out.push(report_json(m));
                    queue.pop_front();
                }
                _ => break,
            }
        }
    }
    Ok(fields([("PullSmsSendStatusSet", Value::Array(out))]))
}

pub fn pull_reply_status(ctx: &mut Ctx, p: &Params) -> Result<Fields, ApiError> {
    let app = ctx.app(p)?;
    let limit = pull_limit(p, 100)?;
    let now = ctx.now_ms;
    let st = &mut *ctx.st;
    let mut out = Vec::new();
    if let Some(queue) = st.reply_queue.get_mut(&app) {
        // Replies scripted through the inspection API may be queued out of time order.
        let mut kept = std::collections::VecDeque::with_capacity(queue.len());
        while let Some(i) = queue.pop_front() {
            match i.checked_sub(st.replies_dropped).and_then(|k| st.replies.get(k)) {
                Some(r) if out.len() < limit && r.reply_ms <= now => out.push(reply_json(r)),
                Some(_) => kept.push_back(i),
                None => {}
            }
        }
        *queue = kept;
    }
    Ok(fields([("PullSmsReplyStatusSet", Value::Array(out))]))
}

/// The checked window, number and paging of the ByPhoneNumber variants:
/// (app, E.164 number, begin secs, end secs, offset, limit).
fn window(ctx: &Ctx, p: &Params) -> Result<(String, String, u64, u64, usize, usize), ApiError> {
    let app = ctx.app(p)?;
    let limit = pull_limit(p, 100)?;
    let number = p.req_str("PhoneNumber")?;
    let phone = phone::parse_send_target(number).ok_or_else(|| {
        ApiError::value(Some("IncorrectPhoneNumber"), format!("The phone number `{number}` is not valid."))
    })?;
    let begin = p.req_u64("BeginTime")?;
    let end = p.u64("EndTime").unwrap_or_else(|| ctx.now_secs());
    // `--doc-examples` lifts the limit: the documented requests ask for May 2021.
    if !ctx.settings.doc_examples && begin.saturating_add(MAX_LOOKBACK_SECS) < ctx.now_secs() {
        return Err(ApiError::value(Some("BeginTimeVerifyFail"), "BeginTime may be at most 7 days ago."));
    }
    if end < begin {
        return Err(ApiError::value(Some("InvalidStartTime"), "BeginTime is later than EndTime."));
    }
    let offset = usize::try_from(p.req_u64("Offset")?).unwrap_or(usize::MAX);
    Ok((app, phone.e164, begin, end, offset, limit))
}

pub fn pull_send_status_by_phone(ctx: &mut Ctx, p: &Params) -> Result<Fields, ApiError> {
    let (app, phone, begin, end, offset, limit) = window(ctx, p)?;
    let now = ctx.now_ms;
    let out: Vec<Value> = ctx
        .st
        .messages
        .iter()
        .filter(|m| m.app == app && m.phone == phone && m.report_ready(now))
        .filter(|m| (begin..=end).contains(&(m.report_ms / 1000)))
        .skip(offset)
        .take(limit)
        .map(report_json)
        .collect();
    Ok(fields([("PullSmsSendStatusSet", Value::Array(out))]))
}

pub fn pull_reply_status_by_phone(ctx: &mut Ctx, p: &Params) -> Result<Fields, ApiError> {
    let (app, phone, begin, end, offset, limit) = window(ctx, p)?;
    let now = ctx.now_ms;
    let mut replies: Vec<&Reply> = ctx
        .st
        .replies
        .iter()
        .filter(|r| r.app == app && r.phone == phone && r.reply_ms <= now)
        .filter(|r| (begin..=end).contains(&(r.reply_ms / 1000)))
        .collect();
    replies.sort_by_key(|r| r.reply_ms);
    let out: Vec<Value> = replies.into_iter().skip(offset).take(limit).map(reply_json).collect();
    Ok(fields([("PullSmsReplyStatusSet", Value::Array(out))]))
}

/// The answer of an accepted ReportConversion, as on the action's documentation page.
pub const CONVERSION_OK: (&str, &str) = ("ok", "report success");

/// Accepts any SerialNo the service could have issued; records the conversion on the
/// message when this emulator issued it to the app. With `--strict-serial-no`, a SerialNo
/// not issued to the app is refused.
pub fn report_conversion(ctx: &mut Ctx, p: &Params) -> Result<Fields, ApiError> {
    let app = ctx.app(p)?;
    let serial = p.req_str("SerialNo")?;
    if !ids::plausible_serial_no(serial) {
        return Err(ApiError::value(None, format!("SerialNo `{serial}` is not a SerialNo this service issues.")));
    }
    let conversion_time = p.u64("ConversionTime").unwrap_or_else(|| ctx.now_secs());
    let now = ctx.now_ms;
    let strict = ctx.settings.strict_serial_no;
    let st = &mut *ctx.st;
    match st.by_serial.get(serial).and_then(|&i| st.messages.get_mut(i)).filter(|m| m.app == app) {
        Some(message) => message.conversion = Some(Conversion { conversion_time, reported_ms: now }),
        None if strict => {
            return Err(ApiError::value(None, format!("SerialNo `{serial}` was not issued to SmsSdkAppId `{app}`.")))
        }
        None => {}
    }
    let (code, message) = CONVERSION_OK;
    Ok(fields([("ReportConversionStatus", json!({"Code": code, "Message": message}))]))
}
