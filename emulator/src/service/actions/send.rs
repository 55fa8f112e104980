//! SendSms and SendMultiGlobalSms: number rules, template and signature checks, per-number
//! results with SerialNo and fee, and the delivery reports (and replies) they lead to.

use serde_json::{json, Map, Value};

use super::{fields, render, Ctx, Params};
use crate::model::state::{Attempt, Message, Reply, Template, STATUS_APPROVED};
use crate::service::envelope::ApiError;
use crate::service::ids;
use crate::service::phone::{self, Phone};

type Fields = Map<String, Value>;

const MAX_NUMBERS: usize = 200;
const MAX_SESSION_CONTEXT_BYTES: usize = 512;

/// Numbers whose subscriber part ends like this are not delivered (report `FAIL`).
pub const UNDELIVERABLE_SUFFIX: &str = "0404";

const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENSION: &str = "^{}\\[~]|€\u{c}";

/// Billing segments of a message: mainland messages count 70 characters for one segment and
/// 67 per segment beyond; international ones 160/153 GSM-7 septets, or 70/67 UTF-16 units
/// when the text needs Unicode.
pub fn segments(text: &str, mainland: bool) -> u64 {
    let (len, single, multi) =
        if !mainland && text.chars().all(|c| GSM7_BASIC.contains(c) || GSM7_EXTENSION.contains(c)) {
            let septets: usize = text.chars().map(|c| if GSM7_EXTENSION.contains(c) { 2 } else { 1 }).sum();
            (septets, 160, 153)
        } else if mainland {
            (text.chars().count(), 70, 67)
        } else {
            (text.encode_utf16().count(), 70, 67)
        };
    if len <= single {
        1
    } else {
        len.div_ceil(multi) as u64
    }
}

/// Test numbers whose per-number result is fixed (docs/emulator.md, "Test phone numbers"):
/// `+8619900000NNN` (mainland) and `+15550000NNN` (international) with NNN from this table
/// get (Code, Message) in SendSms and SendMultiGlobalSms. Codes are from errorcodes.json.
pub const TEST_NUMBER_RESULTS: &[(&str, &str, &str)] = &[
    ("001", "InvalidParameterValue.IncorrectPhoneNumber", "incorrect number format"),
    ("002", "FailedOperation.PhoneNumberInBlacklist", "the number is on the do-not-disturb list"),
    ("011", "LimitExceeded.PhoneNumberThirtySecondLimit", "the number's 30-second limit is exceeded"),
    ("012", "LimitExceeded.PhoneNumberOneHourLimit", "the number's one-hour limit is exceeded"),
    ("013", "LimitExceeded.PhoneNumberDailyLimit", "the number's daily limit is exceeded"),
    ("014", "LimitExceeded.PhoneNumberSameContentDailyLimit", "the number's daily limit for this content is exceeded"),
    ("021", "InternalError.Timeout", "submitting the message timed out"),
    ("022", "InternalError.OtherError", "internal error"),
];

/// The E.164 prefixes of the test numbers; three digits follow.
const TEST_NUMBER_PREFIXES: &[&str] = &["+8619900000", "+15550000"];

/// The fixed (Code, Message) of a test number, if `phone` is one.
fn test_number_result(phone: &Phone) -> Option<(&'static str, &'static str)> {
    let suffix = TEST_NUMBER_PREFIXES.iter().find_map(|p| phone.e164.strip_prefix(p))?;
    TEST_NUMBER_RESULTS.iter().find(|(n, _, _)| *n == suffix).map(|&(_, code, message)| (code, message))
}

const PARAM_MISMATCH: (&str, &str) =
    ("FailedOperation.TemplateParamSetNotMatchApprovedTemplate", "request content does not match the template content");
const TEMPLATE_MISMATCH: (&str, &str) = (
    "FailedOperation.TemplateIncorrectOrUnapproved",
    "template is not approved or request content does not match the approved template content",
);

/// A per-number result entry of SendStatusSet / SendMultiStatusSet.
fn status_entry(serial: &str, ph: &Phone, fee: u64, session: &str, (code, message): (&str, &str), iso: &str) -> Value {
    json!({
        "SerialNo": serial, "PhoneNumber": ph.e164, "Fee": fee, "SessionContext": session,
        "Code": code, "Message": message, "IsoCode": iso,
    })
}

const SENT: (&str, &str) = ("Ok", "send success");

fn session_context(s: String) -> Result<String, ApiError> {
    if s.len() >= MAX_SESSION_CONTEXT_BYTES {
        return Err(ApiError::value(None, "SessionContext must be shorter than 512 bytes."));
    }
    Ok(s)
}

fn incorrect_number(n: &str) -> ApiError {
    ApiError::value(
        Some("IncorrectPhoneNumber"),
        format!("The phone number `{n}` is not a valid number (E.164: +<country code><number>)."),
    )
}

fn approved_template(ctx: &Ctx, id: &str) -> Option<Template> {
    let id: u64 = id.parse().ok()?;
    ctx.st.templates.get(&id).filter(|t| t.review.status(ctx.now_ms) == STATUS_APPROVED).cloned()
}

/// In a mainland verification-code template the code, variable {1}, is 0 to 6 digits (other
/// variables, such as a validity period, are free text); mainland variables carry no URL.
fn check_mainland_params(template: &Template, params: &[String]) -> Result<(), ApiError> {
    for (i, p) in params.iter().enumerate() {
        if template.sms_type == 3 && i == 0 && (p.len() > 6 || !p.bytes().all(|b| b.is_ascii_digit())) {
            return Err(ApiError::value(
                Some("TemplateParameterFormatError"),
                format!("The verification-code variable `{p}` must be 0 to 6 digits."),
            ));
        }
        let lower = p.to_ascii_lowercase();
        if lower.contains("http://") || lower.contains("https://") || lower.contains("www.") {
            return Err(ApiError::value(
                Some("ProhibitedUseUrlInTemplateParameter"),
                "Template variables must not contain URLs.",
            ));
        }
    }
    Ok(())
}

/// What one accepted message needs besides its number.
struct Outgoing<'a> {
    action: &'static str,
    app: &'a str,
    template: &'a Template,
    params: &'a [String],
    sign_name: &'a str,
    sender_id: String,
    extend_code: String,
    session_context: String,
}

/// Records a message to `phone`; returns (SerialNo, fee).
fn accept(ctx: &mut Ctx, phone: &Phone, out: &Outgoing) -> (String, u64) {
    let body = render(&out.template.content, out.params);
    let text = match (phone.is_mainland(), out.sign_name.is_empty()) {
        (true, _) => format!("【{}】{body}", out.sign_name),
        (false, false) => format!("[{}] {body}", out.sign_name),
        (false, true) => body,
    };
    let fee = segments(&text, phone.is_mainland());
    let serial = ids::serial_no(ctx.now_secs());
    let report_ms = ctx.now_ms + ctx.settings.report_delay_ms;
    let delivered = !phone.subscriber.ends_with(UNDELIVERABLE_SUFFIX);
    ctx.accept_message(Message {
        serial_no: serial.clone(),
        action: out.action,
        app: out.app.to_owned(),
        phone: phone.e164.clone(),
        nation_code: phone.nation_code.to_owned(),
        subscriber: phone.subscriber.clone(),
        iso_code: phone.iso_code.to_owned(),
        template_id: out.template.id,
        template_params: out.params.to_vec(),
        sign_name: out.sign_name.to_owned(),
        sender_id: out.sender_id.clone(),
        extend_code: out.extend_code.clone(),
        session_context: out.session_context.clone(),
        text,
        fee,
        sent_ms: ctx.now_ms,
        report_ms,
        delivered,
        conversion: None,
    });
    if let (Some(reply), true) = (ctx.settings.auto_reply.clone(), delivered) {
        ctx.accept_reply(Reply {
            app: out.app.to_owned(),
            phone: phone.e164.clone(),
            nation_code: phone.nation_code.to_owned(),
            subscriber: phone.subscriber.clone(),
            sign_name: out.sign_name.to_owned(),
            extend_code: out.extend_code.clone(),
            content: reply,
            reply_ms: report_ms,
        });
    }
    ctx.st.attempts.push(Attempt { app: out.app.to_owned(), at_ms: ctx.now_ms, success: true, fee });
    (serial, fee)
}

fn failed_attempt(ctx: &mut Ctx, app: &str) {
    ctx.st.attempts.push(Attempt { app: app.to_owned(), at_ms: ctx.now_ms, success: false, fee: 0 });
}

pub fn send_sms(ctx: &mut Ctx, p: &Params) -> Result<Fields, ApiError> {
    let app = ctx.app(p)?;
    let numbers = p.strs("PhoneNumberSet");
    if numbers.is_empty() {
        return Err(ApiError::new("MissingParameter.EmptyPhoneNumberSet", "PhoneNumberSet is empty."));
    }
    if numbers.len() > MAX_NUMBERS {
        return Err(ApiError::new(
            "LimitExceeded.PhoneNumberCountLimit",
            "PhoneNumberSet holds more than 200 numbers.",
        ));
    }
    let phones = numbers
        .iter()
        .map(|n| phone::parse_send_target(n).ok_or_else(|| incorrect_number(n)))
        .collect::<Result<Vec<Phone>, ApiError>>()?;
    let mainland = phones[0].is_mainland();
    if phones.iter().any(|ph| ph.is_mainland() != mainland) {
        return Err(ApiError::new(
            "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber",
            "PhoneNumberSet mixes Chinese-mainland and international numbers.",
        ));
    }
    let session = session_context(p.string("SessionContext"))?;
    let template_id = p.req_str("TemplateId")?;
    let template = approved_template(ctx, template_id).ok_or_else(|| {
        ApiError::new(
            "FailedOperation.TemplateUnapprovedOrNotExist",
            format!("The template `{template_id}` does not exist or is not approved."),
        )
    })?;
    match (mainland, template.international) {
        (true, 1) => {
            return Err(ApiError::new(
                "UnsupportedOperation.GlobalTemplateToChineseMainlandPhone",
                "An international template cannot be sent to Chinese-mainland numbers.",
            ))
        }
        (false, 0) => {
            return Err(ApiError::new(
                "UnsupportedOperation.ChineseMainlandTemplateToGlobalPhone",
                "A Chinese-mainland template cannot be sent to international numbers.",
            ))
        }
        _ => {}
    }
    let sign_name = p.string("SignName");
    if mainland || !sign_name.is_empty() {
        let want = if mainland { 0 } else { 1 };
        let ok =
            ctx.st.signs.values().any(|s| {
                s.name == sign_name && s.international == want && s.review.status(ctx.now_ms) == STATUS_APPROVED
            });
        if !ok {
            return Err(ApiError::new(
                "FailedOperation.SignatureIncorrectOrUnapproved",
                format!("The signature `{sign_name}` does not exist or is not approved for this kind of number."),
            ));
        }
    }
    let params = p.strs("TemplateParamSet");
    let count_ok = super::param_count(&template.content) == Some(params.len());
    if count_ok && mainland {
        check_mainland_params(&template, &params)?;
    }
    let out = Outgoing {
        action: "SendSms",
        app: &app,
        template: &template,
        params: &params,
        sign_name: &sign_name,
        sender_id: p.string("SenderId"),
        extend_code: p.string("ExtendCode"),
        session_context: session.clone(),
    };
    let mut set = Vec::with_capacity(phones.len());
    for ph in &phones {
        // Failures carry no SerialNo and no IsoCode, as in the documented failure sample.
        match test_number_result(ph).or((!count_ok).then_some(PARAM_MISMATCH)) {
            Some(failure) => {
                failed_attempt(ctx, &app);
                set.push(status_entry("", ph, 0, &session, failure, ""));
            }
            None => {
                let (serial, fee) = accept(ctx, ph, &out);
                set.push(status_entry(&serial, ph, fee, &session, SENT, ph.iso_code));
            }
        }
    }
    Ok(fields([("SendStatusSet", Value::Array(set))]))
}

pub fn send_multi_global_sms(ctx: &mut Ctx, p: &Params) -> Result<Fields, ApiError> {
    let app = ctx.app(p)?;
    let entries = p.objects("MultiSmsInfoSet");
    if entries.is_empty() {
        return Err(ApiError::value(Some("MultiSmsInfoSetEmpty"), "MultiSmsInfoSet is empty."));
    }
    if entries.len() > MAX_NUMBERS {
        return Err(ApiError::new(
            "LimitExceeded.PhoneNumberCountLimit",
            "MultiSmsInfoSet holds more than 200 entries.",
        ));
    }
    let mut parsed = Vec::with_capacity(entries.len());
    for e in &entries {
        let e = Params(e);
        let number = e.req_str("PhoneNumber")?;
        let ph = phone::parse_e164(number).ok_or_else(|| incorrect_number(number))?;
        if ph.is_mainland() {
            return Err(ApiError::new(
                "UnsupportedOperation.ContainDomesticPhoneNumber",
                "SendMultiGlobalSms accepts only international / Hong Kong, Macao and Taiwan numbers.",
            ));
        }
        let session = session_context(e.string("SessionContext"))?;
        parsed.push((e, ph, session));
    }
    let mut set = Vec::with_capacity(parsed.len());
    for (e, ph, session) in parsed {
        let template_id = e.string("TemplateId");
        let params = e.strs("TemplateParamSet");
        let template = approved_template(ctx, &template_id)
            .filter(|t| t.international == 1 && super::param_count(&t.content) == Some(params.len()));
        // Failures still carry a SerialNo and the IsoCode, as in the documented sample.
        let failure = test_number_result(&ph).or(template.is_none().then_some(TEMPLATE_MISMATCH));
        let (Some(template), None) = (template, failure) else {
            failed_attempt(ctx, &app);
            let serial = ids::serial_no(ctx.now_secs());
            set.push(status_entry(&serial, &ph, 0, &session, failure.unwrap_or(TEMPLATE_MISMATCH), ph.iso_code));
            continue;
        };
        let out = Outgoing {
            action: "SendMultiGlobalSms",
            app: &app,
            template: &template,
            params: &params,
            sign_name: "",
            sender_id: e.string("SenderId"),
            extend_code: String::new(),
            session_context: session.clone(),
        };
        let (serial, fee) = accept(ctx, &ph, &out);
        set.push(status_entry(&serial, &ph, fee, &session, SENT, ph.iso_code));
    }
    Ok(fields([("SendMultiStatusSet", Value::Array(set))]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_count_segments() {
        assert_eq!(segments(&"短".repeat(70), true), 1);
        assert_eq!(segments(&"短".repeat(71), true), 2);
        assert_eq!(segments(&"短".repeat(134), true), 2);
        assert_eq!(segments(&"短".repeat(135), true), 3);
        assert_eq!(segments(&"a".repeat(71), true), 2, "mainland counts every character alike");
        assert_eq!(segments(&"a".repeat(160), false), 1);
        assert_eq!(segments(&"a".repeat(161), false), 2);
        assert_eq!(segments(&"[".repeat(80), false), 1);
        assert_eq!(segments(&"[".repeat(81), false), 2, "extension characters take two septets");
        assert_eq!(segments(&"é".repeat(100), false), 1, "é is GSM-7");
        assert_eq!(segments(&"ü".repeat(10), false), 1);
        assert_eq!(segments(&"ł".repeat(70), false), 1, "ł needs Unicode");
        assert_eq!(segments(&"ł".repeat(71), false), 2);
        assert_eq!(segments("", false), 1);
    }

    #[test]
    fn test_numbers_have_fixed_results() {
        let result = |n: &str| test_number_result(&phone::parse_e164(n).unwrap());
        assert_eq!(result("+8619900000002").map(|r| r.0), Some("FailedOperation.PhoneNumberInBlacklist"));
        assert_eq!(result("+15550000013").map(|r| r.0), Some("LimitExceeded.PhoneNumberDailyLimit"));
        assert_eq!(result("+8619900000999"), None, "suffixes outside the table are ordinary numbers");
        assert_eq!(result("+8613800000001"), None);
        let codes: Vec<&str> = TEST_NUMBER_RESULTS.iter().map(|r| r.1).collect();
        let spec = include_str!("../../../../spec/errorcodes.json");
        for code in codes {
            assert!(spec.contains(&format!("\"{code}\"")), "{code} is a real code");
        }
    }
}
