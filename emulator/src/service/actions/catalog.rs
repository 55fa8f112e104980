//! Signatures and templates: Add / Modify / Delete / Describe, with review statuses that
//! move from pending to approved (or rejected) after the review delay.

use serde_json::{json, Value};

use super::{fields, Ctx, Params};
use crate::model::state::{Review, Sign, Template, STATUS_APPROVED, STATUS_PENDING};
use crate::service::envelope::ApiError;

type Fields = serde_json::Map<String, Value>;

const DELETED: &str = "return successfully!";

/// Names or contents containing this word (any case) are rejected at review, so that
/// tests can see StatusCode -1.
const REJECT_WORD: &str = "reject";

fn review_for(ctx: &Ctx, texts: &[&str]) -> Review {
    let rejected = texts.iter().any(|t| t.to_lowercase().contains(REJECT_WORD));
    Review {
        decided_at_ms: ctx.now_ms + ctx.settings.review_delay_ms,
        rejection: rejected.then(|| "Rejected by tcsms-emulator: the text contains \"reject\".".to_owned()),
    }
}

fn check_international(v: u64) -> Result<(), ApiError> {
    if v > 1 {
        return Err(ApiError::value(
            Some("InvalidInternational"),
            "International must be 0 (mainland) or 1 (international).",
        ));
    }
    Ok(())
}

fn looks_like_base64(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'\r' | b'\n'))
}

/// The fields shared by AddSmsSign and ModifySmsSign, checked.
struct SignInput {
    name: String,
    sign_type: u64,
    document_type: u64,
    international: u64,
    purpose: u64,
    qualification_id: Option<u64>,
    remark: String,
}

fn sign_input(p: &Params, modifying: bool) -> Result<SignInput, ApiError> {
    let name = p.req_str("SignName")?.trim().to_owned();
    let sign_type = p.req_u64("SignType")?;
    let document_type = p.req_u64("DocumentType")?;
    let international = p.req_u64("International")?;
    let purpose = p.req_u64("SignPurpose")?;
    let proof = p.req_str("ProofImage")?;
    let commission = p.str("CommissionImage").unwrap_or("");
    check_international(international)?;
    let chars = name.chars().count();
    if chars > 12 {
        return Err(ApiError::value(Some("SignNameLengthTooLong"), "SignName is longer than 12 characters."));
    }
    if chars < 2 {
        return Err(ApiError::value(None, "SignName must have 2 to 12 characters."));
    }
    if !matches!(sign_type, 0 | 1 | 4 | 5) || (sign_type == 1 && international == 0) {
        return Err(ApiError::value(
            None,
            "SignType must be 0, 4 or 5 for mainland signatures, or 0, 1, 4 or 5 for international ones.",
        ));
    }
    if !matches!(document_type, 0 | 1 | 2 | 3 | 4 | 7) || (document_type == 4 && international == 0) {
        return Err(ApiError::value(Some("InvalidDocumentType"), "DocumentType is not accepted for this signature."));
    }
    if purpose > 1 {
        return Err(ApiError::value(Some("InvalidSignPurpose"), "SignPurpose must be 0 or 1."));
    }
    if (!modifying && proof.is_empty()) || !looks_like_base64(proof) {
        return Err(ApiError::value(
            Some("ImageInvalid"),
            "ProofImage must be a base64 image without a data-URL prefix.",
        ));
    }
    if !looks_like_base64(commission) || (purpose == 1 && !modifying && commission.is_empty()) {
        return Err(ApiError::value(
            Some("ImageInvalid"),
            "CommissionImage must be a base64 image (needed when SignPurpose is 1).",
        ));
    }
    Ok(SignInput {
        name,
        sign_type,
        document_type,
        international,
        purpose,
        qualification_id: p.u64("QualificationId"),
        remark: p.string("Remark"),
    })
}

fn check_duplicate_sign(ctx: &Ctx, input: &SignInput, except: Option<u64>) -> Result<(), ApiError> {
    let twin = ctx
        .st
        .signs
        .values()
        .find(|s| Some(s.id) != except && s.name == input.name && s.international == input.international);
    match twin.map(|s| s.review.status(ctx.now_ms)) {
        Some(STATUS_PENDING) => Err(ApiError::value(
            Some("SignExistAndUnapproved"),
            format!("The signature `{}` is already waiting for review.", input.name),
        )),
        Some(STATUS_APPROVED) => Err(ApiError::value(
            Some("SignAlreadyPassedCheck"),
            format!("The signature `{}` is already approved.", input.name),
        )),
        _ => Ok(()),
    }
}

pub fn add_sign(ctx: &mut Ctx, p: &Params) -> Result<Fields, ApiError> {
    let input = sign_input(p, false)?;
    check_duplicate_sign(ctx, &input, None)?;
    let id = ctx.st.take_sign_id();
    let review = review_for(ctx, &[&input.name]);
    ctx.st.signs.insert(
        id,
        Sign {
            id,
            name: input.name,
            international: input.international,
            sign_type: input.sign_type,
            document_type: input.document_type,
            purpose: input.purpose,
            qualification_id: input.qualification_id,
            remark: input.remark,
            create_time: ctx.now_secs(),
            review,
        },
    );
    Ok(fields([("AddSignStatus", json!({"SignId": id}))]))
}

pub fn modify_sign(ctx: &mut Ctx, p: &Params) -> Result<Fields, ApiError> {
    let id = p.req_u64("SignId")?;
    let input = sign_input(p, true)?;
    let now = ctx.now_ms;
    let existing = ctx.st.signs.get(&id).ok_or_else(|| {
        ApiError::new("FailedOperation.MissingSignatureToModify", format!("The signature {id} does not exist."))
    })?;
    if existing.review.status(now) == STATUS_APPROVED {
        return Err(ApiError::value(
            Some("SignAlreadyPassedCheck"),
            format!("The signature {id} is approved and can no longer be modified."),
        ));
    }
    if existing.international != input.international {
        return Err(ApiError::value(
            Some("InvalidInternational"),
            "International cannot change when modifying a signature.",
        ));
    }
    check_duplicate_sign(ctx, &input, Some(id))?;
    let review = review_for(ctx, &[&input.name]);
    if let Some(sign) = ctx.st.signs.get_mut(&id) {
        sign.name = input.name;
        sign.sign_type = input.sign_type;
        sign.document_type = input.document_type;
        sign.purpose = input.purpose;
        sign.qualification_id = input.qualification_id.or(sign.qualification_id);
        sign.remark = input.remark;
        sign.review = review;
    }
    Ok(fields([("ModifySignStatus", json!({"SignId": id}))]))
}

pub fn delete_sign(ctx: &mut Ctx, p: &Params) -> Result<Fields, ApiError> {
    let id = p.req_u64("SignId")?;
    if ctx.st.signs.remove(&id).is_none() {
        return Err(ApiError::new("FailedOperation.SignIdNotExist", format!("The signature {id} does not exist.")));
    }
    Ok(fields([("DeleteSignStatus", json!({"DeleteStatus": DELETED, "DeleteTime": ctx.now_secs()}))]))
}

/// Limit/Offset paging of the Describe actions: Limit at most 100, 10 when absent.
fn page(p: &Params) -> Result<(usize, usize), ApiError> {
    let limit = p.u64("Limit").unwrap_or(10);
    if limit > 100 {
        return Err(ApiError::value(Some("LimitVerifyFail"), "Limit must be at most 100."));
    }
    let offset = p.u64("Offset").unwrap_or(0);
    Ok((usize::try_from(offset).unwrap_or(usize::MAX), limit as usize))
}

fn id_set(p: &Params, name: &str) -> Result<Vec<u64>, ApiError> {
    let ids = p.u64s(name);
    if ids.len() > 100 {
        return Err(ApiError::value(None, format!("{name} may hold at most 100 IDs.")));
    }
    Ok(ids)
}

fn sign_json(s: &Sign, now_ms: u64) -> Value {
    let mut v = json!({
        "SignId": s.id,
        "International": s.international,
        "StatusCode": s.review.status(now_ms),
        "ReviewReply": s.review.reply(now_ms),
        "SignName": s.name,
        "CreateTime": s.create_time,
    });
    if let (Some(q), Some(obj)) = (s.qualification_id, v.as_object_mut()) {
        obj.insert("QualificationId".into(), json!(q));
        obj.insert("QualificationName".into(), json!(""));
        obj.insert("QualificationStatusCode".into(), json!(STATUS_APPROVED));
    }
    v
}

pub fn describe_signs(ctx: &mut Ctx, p: &Params) -> Result<Fields, ApiError> {
    let list = describe(p, "SignIdSet", &ctx.st.signs, |s: &Sign| s.international, |s| sign_json(s, ctx.now_ms))?;
    Ok(fields([("DescribeSignListStatusSet", Value::Array(list))]))
}

/// The Describe*List rules: with an id set (at most 100), the existing ones among them
/// (whatever their International); otherwise those of that International, paged.
fn describe<T>(
    p: &Params,
    id_set_name: &str,
    items: &std::collections::BTreeMap<u64, T>,
    international_of: impl Fn(&T) -> u64,
    to_json: impl Fn(&T) -> Value,
) -> Result<Vec<Value>, ApiError> {
    let international = p.req_u64("International")?;
    check_international(international)?;
    let ids = id_set(p, id_set_name)?;
    if !ids.is_empty() {
        return Ok(ids.iter().filter_map(|id| items.get(id)).map(to_json).collect());
    }
    let (offset, limit) = page(p)?;
    Ok(items.values().filter(|t| international_of(t) == international).skip(offset).take(limit).map(to_json).collect())
}

/// The number of variables of a template: the largest `{N}`. `None` when a `{` does not
/// start a well-formed `{N}` (N from 1 to 99).
pub fn param_count(content: &str) -> Option<usize> {
    let mut max = 0;
    let mut rest = content;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after.find('}')?;
        let n: usize = after[..close].parse().ok().filter(|n| (1..=99).contains(n))?;
        if !after[..close].bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        max = max.max(n);
        rest = &after[close + 1..];
    }
    Some(max)
}

/// Fills `{N}` with `params[N-1]`.
pub fn render(content: &str, params: &[String]) -> String {
    let mut out = content.to_owned();
    for (i, value) in params.iter().enumerate().rev() {
        out = out.replace(&format!("{{{}}}", i + 1), value);
    }
    out
}

struct TemplateInput {
    name: String,
    content: String,
    sms_type: u64,
    international: u64,
    remark: String,
}

fn template_input(p: &Params) -> Result<TemplateInput, ApiError> {
    let name = p.req_str("TemplateName")?.trim().to_owned();
    let content = p.req_str("TemplateContent")?.to_owned();
    let sms_type = p.req_u64("SmsType")?;
    let international = p.req_u64("International")?;
    let remark = p.req_str("Remark")?.to_owned();
    check_international(international)?;
    if !matches!(sms_type, 1..=3) {
        return Err(ApiError::value(
            Some("InvalidSmsType"),
            "SmsType must be 1 (marketing), 2 (notification) or 3 (verification code).",
        ));
    }
    if name.is_empty() {
        return Err(ApiError::value(None, "TemplateName must not be empty."));
    }
    if content.trim().is_empty() || param_count(&content).is_none() {
        return Err(ApiError::value(
            Some("InvalidTemplateFormat"),
            "TemplateContent must be non-empty text whose variables are written {1}, {2}, ...",
        ));
    }
    if content.chars().count() > 500 {
        return Err(ApiError::value(Some("ContentLengthLimit"), "TemplateContent is longer than 500 characters."));
    }
    if sms_type == 1 && international == 0 && !content.contains("拒收请回复R") {
        return Err(ApiError::value(
            Some("MarketingTemplateWithoutUnsubscribe"),
            "A mainland marketing template must contain the unsubscribe wording 拒收请回复R.",
        ));
    }
    Ok(TemplateInput { name, content, sms_type, international, remark })
}

pub fn add_template(ctx: &mut Ctx, p: &Params) -> Result<Fields, ApiError> {
    let input = template_input(p)?;
    if !ctx.st.signs.values().any(|s| s.international == input.international) {
        return Err(ApiError::new(
            "FailedOperation.MissingSignature",
            "Apply for a signature of this kind (mainland/international) before a template.",
        ));
    }
    let id = ctx.st.take_template_id();
    let review = review_for(ctx, &[&input.name, &input.content]);
    ctx.st.templates.insert(
        id,
        Template {
            id,
            name: input.name,
            content: input.content,
            sms_type: input.sms_type,
            international: input.international,
            remark: input.remark,
            create_time: ctx.now_secs(),
            review,
        },
    );
    Ok(fields([("AddTemplateStatus", json!({"TemplateId": id.to_string()}))]))
}

pub fn modify_template(ctx: &mut Ctx, p: &Params) -> Result<Fields, ApiError> {
    let id = p.req_u64("TemplateId")?;
    let input = template_input(p)?;
    let existing = ctx.st.templates.get(&id).ok_or_else(|| {
        ApiError::new("FailedOperation.MissingTemplateToModify", format!("The template {id} does not exist."))
    })?;
    if existing.review.status(ctx.now_ms) == STATUS_APPROVED {
        return Err(ApiError::new(
            "FailedOperation.TemplateAlreadyPassedCheck",
            format!("The template {id} is approved and can no longer be modified."),
        ));
    }
    if existing.international != input.international {
        return Err(ApiError::value(
            Some("InvalidInternational"),
            "International cannot change when modifying a template.",
        ));
    }
    let review = review_for(ctx, &[&input.name, &input.content]);
    if let Some(t) = ctx.st.templates.get_mut(&id) {
        t.name = input.name;
        t.content = input.content;
        t.sms_type = input.sms_type;
        t.remark = input.remark;
        t.review = review;
    }
    Ok(fields([("ModifyTemplateStatus", json!({"TemplateId": id}))]))
}

pub fn delete_template(ctx: &mut Ctx, p: &Params) -> Result<Fields, ApiError> {
    let id = p.req_u64("TemplateId")?;
    if ctx.st.templates.remove(&id).is_none() {
        return Err(ApiError::new("FailedOperation.TemplateIdNotExist", format!("The template {id} does not exist.")));
    }
    Ok(fields([("DeleteTemplateStatus", json!({"DeleteStatus": DELETED, "DeleteTime": ctx.now_secs()}))]))
}

fn template_json(t: &Template, now_ms: u64) -> Value {
    json!({
        "TemplateId": t.id,
        "International": t.international,
        "StatusCode": t.review.status(now_ms),
        "ReviewReply": t.review.reply(now_ms),
        "TemplateName": t.name,
        "CreateTime": t.create_time,
        "TemplateContent": t.content,
    })
}

pub fn describe_templates(ctx: &mut Ctx, p: &Params) -> Result<Fields, ApiError> {
    let list = describe(
        p,
        "TemplateIdSet",
        &ctx.st.templates,
        |t: &Template| t.international,
        |t| template_json(t, ctx.now_ms),
    )?;
    Ok(fields([("DescribeTemplateStatusSet", Value::Array(list))]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_variables() {
        assert_eq!(param_count("您的验证码为{1}，请于{2}分钟内填写。"), Some(2));
        assert_eq!(param_count("Welcome to tcsms."), Some(0));
        assert_eq!(param_count("{3} only"), Some(3));
        for bad in ["{x}", "{0}", "open { brace", "{1", "{100}", "{ 1}"] {
            assert_eq!(param_count(bad), None, "{bad}");
        }
        assert_eq!(render("a{1}b{2}c{1}", &["X".into(), "Y".into()]), "aXbYcX");
        assert_eq!(render("{1}{11}", &(1..=11).map(|i| i.to_string()).collect::<Vec<_>>()), "111");
    }
}
