//! The business rules of the 19 actions, run on verified parameters against the state.

mod catalog;
mod info;
mod reports;
mod send;
mod stats;

use serde_json::{Map, Value};

use crate::model::state::{Emulator, Message, Reply, Settings, State};
use crate::outbound::callbacks::Outbox;
use crate::service::envelope::ApiError;

pub use catalog::{param_count, render};

/// What an action handler works with.
pub struct Ctx<'a> {
    pub st: &'a mut State,
    pub settings: &'a Settings,
    /// `--callback-url`: accepted messages and replies are also handed to it.
    pub outbox: Option<&'a Outbox>,
    pub now_ms: u64,
}

impl Ctx<'_> {
    /// Records an accepted message (and hands its delivery report to the outbox).
    pub fn accept_message(&mut self, msg: Message) {
        if let Some(outbox) = self.outbox {
            outbox.report(&msg);
        }
        self.st.push_message(msg);
    }

    /// Records a reply (and hands it to the outbox).
    pub fn accept_reply(&mut self, reply: Reply) {
        accept_reply(self.st, self.outbox, reply);
    }

    pub fn now_secs(&self) -> u64 {
        self.now_ms / 1000
    }

    /// The `SmsSdkAppId` parameter, which must be one of the account's apps.
    pub fn app(&self, p: &Params) -> Result<String, ApiError> {
        let app = p.req_str("SmsSdkAppId")?;
        if self.st.has_app(app) {
            Ok(app.to_owned())
        } else {
            Err(ApiError::app_verify_fail(app))
        }
    }
}

/// Records a reply in `st` and hands it to `outbox`.
pub fn accept_reply(st: &mut State, outbox: Option<&Outbox>, reply: Reply) {
    if let Some(outbox) = outbox {
        outbox.reply(&reply);
    }
    st.push_reply(reply);
}

/// Typed access to verified parameters. Verification already checked presence and types,
/// so the `req_*` errors only guard against a schema/handler mismatch.
pub struct Params<'a>(pub &'a Map<String, Value>);

impl<'a> Params<'a> {
    pub fn str(&self, k: &str) -> Option<&'a str> {
        self.0.get(k).and_then(Value::as_str)
    }

    pub fn string(&self, k: &str) -> String {
        self.str(k).unwrap_or_default().to_owned()
    }

    pub fn u64(&self, k: &str) -> Option<u64> {
        self.0.get(k).and_then(Value::as_u64)
    }

    pub fn req_str(&self, k: &str) -> Result<&'a str, ApiError> {
        self.str(k).ok_or_else(|| ApiError::missing(k))
    }

    pub fn req_u64(&self, k: &str) -> Result<u64, ApiError> {
        self.u64(k).ok_or_else(|| ApiError::missing(k))
    }

    pub fn strs(&self, k: &str) -> Vec<String> {
        self.0
            .get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    }

    pub fn u64s(&self, k: &str) -> Vec<u64> {
        self.0
            .get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default()
    }

    pub fn objects(&self, k: &str) -> Vec<&'a Map<String, Value>> {
        self.0
            .get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_object).collect())
            .unwrap_or_default()
    }
}

/// Runs `action` with verified `params`; returns the `Response` fields (without RequestId).
pub fn dispatch(
    emu: &Emulator,
    outbox: Option<&Outbox>,
    action: &str,
    params: &Map<String, Value>,
    now_ms: u64,
) -> Result<Map<String, Value>, ApiError> {
    let mut st = emu.lock();
    let mut ctx = Ctx { st: &mut st, settings: &emu.settings, outbox, now_ms };
    let p = Params(params);
    match action {
        "AddSmsSign" => catalog::add_sign(&mut ctx, &p),
        "ModifySmsSign" => catalog::modify_sign(&mut ctx, &p),
        "DeleteSmsSign" => catalog::delete_sign(&mut ctx, &p),
        "DescribeSmsSignList" => catalog::describe_signs(&mut ctx, &p),
        "AddSmsTemplate" => catalog::add_template(&mut ctx, &p),
        "ModifySmsTemplate" => catalog::modify_template(&mut ctx, &p),
        "DeleteSmsTemplate" => catalog::delete_template(&mut ctx, &p),
        "DescribeSmsTemplateList" => catalog::describe_templates(&mut ctx, &p),
        "SendSms" => send::send_sms(&mut ctx, &p),
        "SendMultiGlobalSms" => send::send_multi_global_sms(&mut ctx, &p),
        "PullSmsSendStatus" => reports::pull_send_status(&mut ctx, &p),
        "PullSmsSendStatusByPhoneNumber" => reports::pull_send_status_by_phone(&mut ctx, &p),
        "PullSmsReplyStatus" => reports::pull_reply_status(&mut ctx, &p),
        "PullSmsReplyStatusByPhoneNumber" => reports::pull_reply_status_by_phone(&mut ctx, &p),
        "ReportConversion" => reports::report_conversion(&mut ctx, &p),
        "SendStatusStatistics" => stats::send_status(&mut ctx, &p),
        "CallbackStatusStatistics" => stats::callback_status(&mut ctx, &p),
        "SmsPackagesStatistics" => stats::packages(&mut ctx, &p),
        "DescribePhoneNumberInfo" => info::describe_phone_number_info(&mut ctx, &p),
        other => Err(ApiError::new("InvalidAction", format!("The requested action `{other}` does not exist."))),
    }
}

/// Builds a `Response` field map from `(name, value)` pairs.
pub fn fields<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// `Limit` of the pull actions: at most 100.
pub fn pull_limit(p: &Params, max: u64) -> Result<usize, ApiError> {
    let limit = p.req_u64("Limit")?;
    if limit > max {
        return Err(ApiError::value(Some("LimitVerifyFail"), format!("Limit must be at most {max}.")));
    }
    Ok(limit as usize)
}
