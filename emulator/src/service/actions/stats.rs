//! Statistics computed from what was sent: SendStatusStatistics, CallbackStatusStatistics
//! and SmsPackagesStatistics.

use serde_json::{json, Map, Value};

use super::{fields, Ctx, Params};
use crate::clock::parse_hour;
use crate::service::envelope::ApiError;

type Fields = Map<String, Value>;

/// Every app has one package, created 2021-04-02 00:00 Beijing time (as in the documented sample).
const PACKAGE_CREATE_TIME: u64 = 1_617_292_800;
const PACKAGE_EXPIRED_TIME: u64 = 4_102_415_999; // 2099-12-31 23:59:59 UTC
const PACKAGE_AMOUNT: u64 = 1_000_000;
const PACKAGE_ID_BASE: u64 = 1_000_000_000;

/// `BeginTime`/`EndTime` hours as a half-open window of Unix milliseconds.
fn hours(p: &Params, max_days: Option<i64>) -> Result<(u64, u64), ApiError> {
    let begin_text = p.req_str("BeginTime")?;
    let end_text = p.req_str("EndTime")?;
    let begin = parse_hour(begin_text).ok_or_else(|| {
        ApiError::value(Some("BeginTimeVerifyFail"), format!("BeginTime `{begin_text}` is not a yyyymmddhh hour."))
    })?;
    let end = parse_hour(end_text).ok_or_else(|| {
        ApiError::value(Some("EndTimeVerifyFail"), format!("EndTime `{end_text}` is not a yyyymmddhh hour."))
    })?;
    if end < begin {
        return Err(ApiError::value(Some("EndTimeVerifyFail"), "EndTime is earlier than BeginTime."));
    }
    if max_days.is_some_and(|d| end - begin > d * 86_400) {
        return Err(ApiError::value(Some("EndTimeVerifyFail"), "EndTime is too far after BeginTime."));
    }
    let to_ms = |s: i64| u64::try_from(s).unwrap_or(0).saturating_mul(1000);
    Ok((to_ms(begin), to_ms(end + 3600)))
}

pub fn send_status(ctx: &mut Ctx, p: &Params) -> Result<Fields, ApiError> {
    let app = ctx.app(p)?;
    let (from, to) = hours(p, None)?;
    let mut request = 0u64;
    let mut success = 0u64;
    let mut fee = 0u64;
    for a in ctx.st.attempts.iter().filter(|a| a.app == app && (from..to).contains(&a.at_ms)) {
        request += 1;
        if a.success {
            success += 1;
            fee += a.fee;
        }
    }
    Ok(fields([(
        "SendStatusStatistics",
        json!({"FeeCount": fee, "RequestCount": request, "RequestSuccessCount": success}),
    )]))
}

pub fn callback_status(ctx: &mut Ctx, p: &Params) -> Result<Fields, ApiError> {
    let app = ctx.app(p)?;
    let (from, to) = hours(p, Some(32))?;
    let now = ctx.now_ms;
    let (mut sent, mut reports, mut ok, mut failed) = (0u64, 0u64, 0u64, 0u64);
    for m in ctx.st.messages.iter().filter(|m| m.app == app && (from..to).contains(&m.sent_ms)) {
        sent += 1;
        if m.report_ready(now) {
            reports += 1;
            if m.delivered {
                ok += 1;
            } else {
                failed += 1;
            }
        }
    }
    Ok(fields([(
        "CallbackStatusStatistics",
        json!({
            "CallbackCount": reports,
            "RequestSuccessCount": sent,
            "CallbackFailCount": failed,
            "CallbackSuccessCount": ok,
            "InternalErrorCount": 0,
            "InvalidNumberCount": failed,
            "ShutdownErrorCount": 0,
            "BlackListCount": 0,
            "FrequencyLimitCount": 0,
        }),
    )]))
}

pub fn packages(ctx: &mut Ctx, p: &Params) -> Result<Fields, ApiError> {
    let app = ctx.app(p)?;
    let limit = p.req_u64("Limit")?;
    if limit > 500 {
        return Err(ApiError::value(Some("LimitVerifyFail"), "Limit must be at most 500."));
    }
    let offset = p.req_u64("Offset")?;
    let (from, to) = hours(p, None)?;
    let index = ctx.st.apps.iter().position(|a| *a == app).unwrap_or(0) as u64;
    let usage: u64 = ctx.st.attempts.iter().filter(|a| a.app == app).map(|a| a.fee).sum();
    let created = (from..to).contains(&(PACKAGE_CREATE_TIME * 1000));
    let list: Vec<Value> = created
        .then(|| {
            json!({
                "PackageCreateTime": PACKAGE_CREATE_TIME,
                "PackageEffectiveTime": PACKAGE_CREATE_TIME,
                "PackageExpiredTime": PACKAGE_EXPIRED_TIME,
                "PackageAmount": PACKAGE_AMOUNT,
                "PackageType": 1,
                "PackageId": PACKAGE_ID_BASE + index + 1,
                "CurrentUsage": usage.min(PACKAGE_AMOUNT),
            })
        })
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(limit as usize)
        .collect();
    Ok(fields([("SmsPackagesStatisticsSet", Value::Array(list))]))
}
