//! `--doc-examples`: the state the API documentation's examples (spec/actions.json
//! `doc_examples`) assume, so that each documented request gets the documented answer's shape.
//!
//! The examples are one account's history around signature and template 1110: AddSmsSign and
//! AddSmsTemplate create 1110, ModifySms* change it while it is under review,
//! DescribeSms*List show it next to 1111, SendSms sends with it, DeleteSms* delete it. So
//! 1110 is not seeded; it is the next id handed out. Seeded: the apps, signature 1111 and
//! template 1111 of the Describe examples, the international template 1800308 of
//! SendMultiGlobalSms, and the May 2021 messages and replies the pull examples show.

use crate::phone;
use crate::state::{Attempt, Message, Reply, Review, Sign, State, Template};

/// The app of most examples.
pub const DOC_APP: &str = "1400006666";
/// The app of the ReportConversion example.
pub const DOC_APP_CONVERSION: &str = "1400000001";
/// The id AddSmsSign / AddSmsTemplate hand out first, as in their examples.
pub const FIRST_NEW_ID: u64 = 1110;
/// The signature text of the examples.
pub const DOC_SIGN_NAME: &str = "腾讯云";

const REMARK: &str = "seeded by tcsms-emulator --doc-examples";

/// (phone, SerialNo, report time in Unix seconds) of the documented delivery reports.
const REPORTS: &[(&str, &str, u64)] = &[
    ("+8618501234444", "5000:1045710669157053657849499619", 1_620_734_188),
    ("+8618501234445", "5000:1045710669157053657849499718", 1_620_734_188),
    ("+8618501234444", "5000:1045710669157053657849498556", 1_620_734_188),
];

/// (phone, content, reply time in Unix seconds) of the documented replies.
const REPLIES: &[(&str, &str, u64)] = &[("+8618501234444", "1", 1_620_734_188), ("+8618501234444", "2", 1_620_734_189)];

/// Adds the documented state to `st` (on top of the default seed).
pub fn seed(st: &mut State) {
    st.add_app(DOC_APP);
    st.add_app(DOC_APP_CONVERSION);
    st.signs.insert(
        1111,
        Sign {
            id: 1111,
            name: DOC_SIGN_NAME.to_owned(),
            international: 1,
            sign_type: 1,
            document_type: 4,
            purpose: 0,
            qualification_id: None,
            remark: REMARK.to_owned(),
            create_time: 1_617_508_801,
            review: Review::approved(),
        },
    );
    for (id, international, sms_type, name, content, create_time) in [
        (1111, 0, 2, "通知", "请尽快参加{1}会议", 1_617_508_800),
        (1_800_308, 1, 3, "verification (doc examples)", "Your verification code is {1}.", 1_617_508_800),
    ] {
        let template = Template {
            id,
            name: name.to_owned(),
            content: content.to_owned(),
            sms_type,
            international,
            remark: REMARK.to_owned(),
            create_time,
            review: Review::approved(),
        };
        st.templates.insert(id, template);
    }
    st.next_sign_id = FIRST_NEW_ID;
    st.next_template_id = FIRST_NEW_ID;
    for &(number, serial, report_secs) in REPORTS {
        push_sent(st, number, serial, report_secs * 1000);
    }
    for &(number, content, secs) in REPLIES {
        let Some(ph) = phone::parse_e164(number) else { continue };
        st.push_reply(Reply {
            app: DOC_APP.to_owned(),
            phone: ph.e164,
            nation_code: ph.nation_code.to_owned(),
            subscriber: ph.subscriber,
            sign_name: DOC_SIGN_NAME.to_owned(),
            extend_code: "11".to_owned(),
            content: content.to_owned(),
            reply_ms: secs * 1000,
        });
    }
}

/// A delivered verification code sent with the example's template 1110 and signature.
fn push_sent(st: &mut State, number: &str, serial: &str, report_ms: u64) {
    let Some(ph) = phone::parse_e164(number) else { return };
    let sent_ms = report_ms - 8000;
    st.attempts.push(Attempt { app: DOC_APP.to_owned(), at_ms: sent_ms, success: true, fee: 1 });
    st.push_message(Message {
        serial_no: serial.to_owned(),
        action: "SendSms",
        app: DOC_APP.to_owned(),
        phone: ph.e164,
        nation_code: ph.nation_code.to_owned(),
        subscriber: ph.subscriber,
        iso_code: ph.iso_code.to_owned(),
        template_id: FIRST_NEW_ID,
        template_params: vec!["4370".to_owned()],
        sign_name: DOC_SIGN_NAME.to_owned(),
        sender_id: String::new(),
        extend_code: String::new(),
        session_context: String::new(),
        text: format!("【{DOC_SIGN_NAME}】您的验证码是4370"),
        fee: 1,
        sent_ms,
        report_ms,
        delivered: true,
        conversion: None,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_adds_the_documented_state() {
        let mut st = State::seeded(&["1400000001".to_owned()], 0);
        seed(&mut st);
        assert!(st.has_app(DOC_APP) && st.has_app(DOC_APP_CONVERSION));
        assert_eq!(st.apps.len(), 2, "1400000001 is not added twice");
        assert_eq!(st.take_sign_id(), FIRST_NEW_ID);
        assert_eq!(st.take_sign_id(), 1112, "1111 is taken");
        assert_eq!(st.take_template_id(), FIRST_NEW_ID);
        assert_eq!(st.messages.len(), REPORTS.len());
        assert_eq!(st.replies.len(), REPLIES.len());
        assert!(st.by_serial.contains_key("5000:1045710669157053657849499619"));
    }
}
