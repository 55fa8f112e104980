//! The emulator's in-memory account: apps, signatures, templates, sent messages, delivery
//! reports, replies and conversions. Times are Unix milliseconds; review and delivery
//! progress is derived from them when read, so no timer threads are needed.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

/// Review status codes of signatures and templates.
pub const STATUS_APPROVED: i64 = 0;
pub const STATUS_PENDING: i64 = 1;
pub const STATUS_REJECTED: i64 = -1;

/// Review outcome decided when a signature/template is submitted; it shows after the delay.
#[derive(Debug, Clone)]
pub struct Review {
    pub decided_at_ms: u64,
    /// `Some(reason)` when it will be rejected.
    pub rejection: Option<String>,
}

impl Review {
    pub fn approved() -> Review {
        Review { decided_at_ms: 0, rejection: None }
    }

    pub fn status(&self, now_ms: u64) -> i64 {
        if now_ms < self.decided_at_ms {
            STATUS_PENDING
        } else if self.rejection.is_some() {
            STATUS_REJECTED
        } else {
            STATUS_APPROVED
        }
    }

    pub fn reply(&self, now_ms: u64) -> String {
        match (&self.rejection, self.status(now_ms)) {
            (Some(r), STATUS_REJECTED) => r.clone(),
            _ => String::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Sign {
    pub id: u64,
    pub name: String,
    pub international: u64,
    pub sign_type: u64,
    pub document_type: u64,
    pub purpose: u64,
    pub qualification_id: Option<u64>,
    pub remark: String,
    pub create_time: u64,
    pub review: Review,
}

#[derive(Debug, Clone)]
pub struct Template {
    pub id: u64,
    pub name: String,
    pub content: String,
    pub sms_type: u64,
    pub international: u64,
    pub remark: String,
    pub create_time: u64,
    pub review: Review,
}

/// One message accepted for delivery (a per-number success of SendSms/SendMultiGlobalSms).
#[derive(Debug, Clone)]
pub struct Message {
    pub serial_no: String,
    pub action: &'static str,
    pub app: String,
    pub phone: String,
    pub nation_code: String,
    pub subscriber: String,
    pub iso_code: String,
    pub template_id: u64,
    pub template_params: Vec<String>,
    pub sign_name: String,
    pub sender_id: String,
    pub extend_code: String,
    pub session_context: String,
    pub text: String,
    pub fee: u64,
    pub sent_ms: u64,
    /// When the delivery report exists (and can be pulled).
    pub report_ms: u64,
    pub delivered: bool,
    pub conversion: Option<Conversion>,
}

impl Message {
    pub fn report_ready(&self, now_ms: u64) -> bool {
        now_ms >= self.report_ms
    }

    /// The delivery report of the message: (ReportStatus, Description).
    pub fn delivery_report(&self) -> (&'static str, &'static str) {
        if self.delivered {
            ("SUCCESS", "DELIVRD")
        } else {
            ("FAIL", "UNDELIV")
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Conversion {
    pub conversion_time: u64,
    pub reported_ms: u64,
}

/// One SMS reply (mobile-originated message) from a subscriber.
#[derive(Debug, Clone)]
pub struct Reply {
    pub app: String,
    pub phone: String,
    pub nation_code: String,
    pub subscriber: String,
    pub sign_name: String,
    pub extend_code: String,
    pub content: String,
    pub reply_ms: u64,
}

/// One per-number send attempt, successful or not, for the statistics.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub app: String,
    pub at_ms: u64,
    pub success: bool,
    pub fee: u64,
}

/// Timing and behaviour settings from the command line.
#[derive(Debug, Clone)]
pub struct Settings {
    pub review_delay_ms: u64,
    pub report_delay_ms: u64,
    pub auto_reply: Option<String>,
    /// ReportConversion refuses SerialNos not issued to the app (`--strict-serial-no`).
    pub strict_serial_no: bool,
    /// `--doc-examples`: the ByPhoneNumber pulls reach back to the documented dates (2021).
    pub doc_examples: bool,
}

#[derive(Debug, Default)]
pub struct State {
    pub apps: Vec<String>,
    pub signs: BTreeMap<u64, Sign>,
    pub next_sign_id: u64,
    pub templates: BTreeMap<u64, Template>,
    pub next_template_id: u64,
    /// Every message ever accepted, in order.
    pub messages: Vec<Message>,
    /// Messages before this index were cleared from the inspection list.
    pub inspect_from: usize,
    pub by_serial: HashMap<String, usize>,
    /// Per app, indexes of messages whose report has not been pulled yet.
    pub report_queue: HashMap<String, VecDeque<usize>>,
    /// The replies kept, oldest first: at most [`MAX_REPLIES_KEPT`] and
    /// [`MAX_REPLY_BYTES_KEPT`] of content; older ones are dropped.
    pub replies: VecDeque<Reply>,
    /// Replies dropped from the front of `replies` so far: reply number `i` (counting every
    /// reply ever kept) is `replies[i - replies_dropped]`.
    pub replies_dropped: usize,
    /// Bytes of `content` in `replies`.
    pub reply_bytes: usize,
    /// Per app, numbers of replies not pulled yet.
    pub reply_queue: HashMap<String, VecDeque<usize>>,
    pub attempts: Vec<Attempt>,
}

/// Replies kept at most (the oldest are dropped first).
pub const MAX_REPLIES_KEPT: usize = 10_000;
/// Bytes of reply content kept at most (the oldest replies are dropped first).
pub const MAX_REPLY_BYTES_KEPT: usize = 4 * 1024 * 1024;

impl State {
    /// An account owning `apps`, with nothing else in it (see `crate::fixtures` for the
    /// seeded one).
    pub fn new(apps: &[String]) -> State {
        State { apps: apps.to_vec(), ..State::default() }
    }

    /// Adds `app` to the account unless it is there.
    pub fn add_app(&mut self, app: &str) {
        if !self.has_app(app) {
            self.apps.push(app.to_owned());
        }
    }

    /// A fresh signature id: the counter, past ids already taken (seeds may sit above it).
    pub fn take_sign_id(&mut self) -> u64 {
        take_id(&mut self.next_sign_id, |id| self.signs.contains_key(&id))
    }

    /// A fresh template id, as [`State::take_sign_id`].
    pub fn take_template_id(&mut self) -> u64 {
        take_id(&mut self.next_template_id, |id| self.templates.contains_key(&id))
    }

    pub fn has_app(&self, app: &str) -> bool {
        self.apps.iter().any(|a| a == app)
    }

    /// Records an accepted message and queues its delivery report.
    pub fn push_message(&mut self, msg: Message) -> usize {
        let index = self.messages.len();
        self.by_serial.insert(msg.serial_no.clone(), index);
        self.report_queue.entry(msg.app.clone()).or_default().push_back(index);
        self.messages.push(msg);
        index
    }

    /// Keeps `reply` (dropping the oldest ones past the caps) and queues it for its app.
    pub fn push_reply(&mut self, reply: Reply) {
        while !self.replies.is_empty()
            && (self.replies.len() >= MAX_REPLIES_KEPT || self.reply_bytes + reply.content.len() > MAX_REPLY_BYTES_KEPT)
        {
            if let Some(old) = self.replies.pop_front() {
                self.reply_bytes -= old.content.len();
                self.replies_dropped += 1;
            }
        }
        let index = self.replies_dropped + self.replies.len();
        self.reply_bytes += reply.content.len();
        self.reply_queue.entry(reply.app.clone()).or_default().push_back(index);
        self.replies.push_back(reply);
    }

    /// The messages still on the inspection list.
    pub fn inspectable(&self) -> &[Message] {
        self.messages.get(self.inspect_from..).unwrap_or(&[])
    }
}

fn take_id(next: &mut u64, taken: impl Fn(u64) -> bool) -> u64 {
    while taken(*next) {
        *next += 1;
    }
    *next += 1;
    *next - 1
}

/// The shared, thread-safe emulator state.
#[derive(Debug)]
pub struct Emulator {
    state: Mutex<State>,
    pub settings: Settings,
}

impl Emulator {
    pub fn new(state: State, settings: Settings) -> Emulator {
        Emulator { state: Mutex::new(state), settings }
    }

    /// Locks the state; a panic in another thread never makes it unusable.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reviews_move_from_pending() {
        let r = Review { decided_at_ms: 100, rejection: None };
        assert_eq!(r.status(99), STATUS_PENDING);
        assert_eq!(r.status(100), STATUS_APPROVED);
        let r = Review { decided_at_ms: 100, rejection: Some("no".into()) };
        assert_eq!((r.status(50), r.reply(50).as_str()), (STATUS_PENDING, ""));
        assert_eq!((r.status(100), r.reply(100).as_str()), (STATUS_REJECTED, "no"));
    }

    #[test]
    fn fresh_ids_skip_taken_ones() {
        let mut st = State::new(&["1400000001".to_owned()]);
        for id in [1001, 1002] {
            st.signs.insert(id, Sign { id, ..sign() });
        }
        st.next_sign_id = 1001;
        assert_eq!(st.take_sign_id(), 1003, "1001 and 1002 are taken");
        assert_eq!(st.take_sign_id(), 1004);
        st.next_template_id = 1;
        assert_eq!(st.take_template_id(), 1);
    }

    fn sign() -> Sign {
        Sign {
            id: 0,
            name: String::new(),
            international: 0,
            sign_type: 0,
            document_type: 0,
            purpose: 0,
            qualification_id: None,
            remark: String::new(),
            create_time: 0,
            review: Review::approved(),
        }
    }

    #[test]
    fn delivery_reports_follow_delivery() {
        let mut st = State::new(&[]);
        let message = |delivered| Message {
            serial_no: String::new(),
            action: "SendSms",
            app: String::new(),
            phone: String::new(),
            nation_code: String::new(),
            subscriber: String::new(),
            iso_code: String::new(),
            template_id: 0,
            template_params: Vec::new(),
            sign_name: String::new(),
            sender_id: String::new(),
            extend_code: String::new(),
            session_context: String::new(),
            text: String::new(),
            fee: 0,
            sent_ms: 0,
            report_ms: 0,
            delivered,
            conversion: None,
        };
        assert_eq!(message(true).delivery_report(), ("SUCCESS", "DELIVRD"));
        assert_eq!(message(false).delivery_report(), ("FAIL", "UNDELIV"));
        st.push_message(message(true));
        assert_eq!(st.messages.len(), 1);
    }
}
