//! One call for an event loop, in steps that never wait: [`Client::begin`] signs and
//! sends it on a pooled connection, [`Client::poll`] reads its answer once the socket is
//! readable and judges it. Whatever must wait (opening a connection, a rate-limit slot,
//! a credential refresh, a retry's pause, a body that only reading on can delimit) is
//! left to the blocking path: [`Client::finish`], [`Client::resume`] or a whole blocking
//! call, which the completion queue runs on a worker thread. Every step is the blocking
//! call's own code (the same attempt, the same judgement, the same retry rules), cut
//! where it would wait.

use super::{check_request_json, lookup_action, Attempts, Client, Next, MAX_RESPONSE_BYTES};
use crate::api::Action;
use crate::error::Error;
use crate::events::{AttemptInfo, Traced};
use crate::signer::Signer;
use crate::transport::{Polled as Read, Sent};
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A call whose request went out, waiting for its answer.
pub(crate) struct Pending {
    sent: Sent,
    call: Parked,
    info: AttemptInfo,
    signer: Arc<Signer>,
}

impl Pending {
    /// The socket that becomes readable when (more of) the answer arrives.
    pub(crate) fn fd(&self) -> i32 {
        self.sent.fd()
    }

    /// When the call must end.
    pub(crate) fn deadline(&self) -> Instant {
        self.call.attempts.deadline
    }
}

/// A call between attempts, to go on the blocking way ([`Client::resume`]).
pub(crate) struct Parked {
    action: &'static Action,
    /// Where the request sent is in the caller's JSON (without surrounding whitespace).
    body: Range<usize>,
    attempts: Attempts,
    trace: Traced,
    /// The pause before the next attempt.
    pause: Duration,
}

/// What [`Client::begin`] did.
pub(crate) enum Begun {
    /// The request went out: wait for [`Pending::fd`].
    Sent(Box<Pending>),
    /// Nothing was done: make the whole call the blocking way.
    Blocking,
    /// The call ended before it was sent (an unknown action, invalid JSON), or its one
    /// attempt failed for good.
    Done(Result<String, Error>),
    /// Its attempt failed and another follows after a pause.
    Retry(Box<Parked>),
}

/// What [`Client::poll`] found.
pub(crate) enum Polled {
    Done(Result<String, Error>),
    /// Not all of the answer has arrived: wait for the socket again.
    Waiting(Box<Pending>),
    /// Only a blocking read can go on: [`Client::finish`].
    Blocking(Box<Pending>),
    /// The attempt failed and another follows after a pause: [`Client::resume`].
    Retry(Box<Parked>),
}

impl Client {
    /// Starts `action` with `request_json` for an event loop, to end by `deadline` (see
    /// the module's notes). Only a client without an event callback, a shared rate-limit
    /// store or a role's keys sends here; the others, and a call that would wait for a
    /// rate-limit slot or find no rested pooled connection, go the blocking way.
    pub(crate) fn begin(&self, action: &str, request_json: &str, deadline: Instant) -> Begun {
        if self.store.is_some() || self.refresher.is_some() || self.observer.hooked() || crate::events::in_callback() {
            return Begun::Blocking;
        }
        let action = match lookup_action(action) {
            Ok(action) => action,
            Err(error) => return Begun::Done(Err(error)),
        };
        let body = match check_request_json(request_json) {
            Ok(body) => body,
            Err(error) => return Begun::Done(Err(error)),
        };
        let start = body.as_ptr() as usize - request_json.as_ptr() as usize;
        let range = start..start + body.len();
        if deadline <= Instant::now() || !self.limiter.try_acquire(action) {
            return Begun::Blocking;
        }
        // The connection first: without one the call is signed once, on a worker.
        let Some(lease) = self.transport.lease() else {
            self.limiter.give_back(action);
            return Begun::Blocking;
        };
        let trace = self.observer.trace(action, body.as_bytes()).park();
        let call = Parked { action, body: range, attempts: Attempts::until(deadline), trace, pause: Duration::ZERO };
        let signer = self.signer.current();
        let mut info = AttemptInfo::start(self.clock.offset());
        let started = self.signed(action, body.as_bytes(), &signer, |request| {
            self.transport.start(lease, request, deadline, MAX_RESPONSE_BYTES)
        });
        let sent = match started {
            Ok(sent) => sent,
            Err(failed) => {
                let failure = self.transport_failure(failed, &signer);
                return match self.after(call, &mut info, Err(failure)) {
                    Ok(result) => Begun::Done(result),
                    Err(parked) => Begun::Retry(parked),
                };
            }
        };
        Begun::Sent(Box::new(Pending { sent, call, info, signer }))
    }

    /// Reads what has arrived for `pending` (begun with `request_json`), without waiting,
    /// and judges the answer once it is whole.
    pub(crate) fn poll(&self, request_json: &str, mut pending: Box<Pending>) -> Polled {
        let response = match self.transport.poll(&mut pending.sent) {
            Read::Waiting => return Polled::Waiting(pending),
            Read::Blocking => return Polled::Blocking(pending),
            Read::Answered(response) => response,
        };
        let Pending { call, mut info, signer, .. } = *pending;
        let body = request_json[call.body.clone()].as_bytes();
        let outcome = match response {
            Ok(response) => self.conclude(call.action, body, response, &signer, &mut info),
            Err(failed) => Err(self.transport_failure(failed, &signer)),
        };
        match self.after(call, &mut info, outcome) {
            Ok(result) => Polled::Done(result),
            Err(parked) => Polled::Retry(parked),
        }
    }

    /// Reads the rest of `pending`'s answer, waiting for it until the call's deadline, and
    /// goes on as a blocking call would (retries included).
    pub(crate) fn finish(&self, request_json: &str, pending: Box<Pending>) -> Result<String, Error> {
        let Pending { sent, call, mut info, signer } = *pending;
        let body = request_json[call.body.clone()].as_bytes();
        let outcome = match self.transport.finish(sent) {
            Ok(response) => self.conclude(call.action, body, response, &signer, &mut info),
            Err(failed) => Err(self.transport_failure(failed, &signer)),
        };
        match self.after(call, &mut info, outcome) {
            Ok(result) => result,
            Err(parked) => self.resume(request_json, *parked),
        }
    }

    /// Goes on with a call between attempts: pauses, then attempts as a blocking call
    /// does until one ends the call.
    pub(crate) fn resume(&self, request_json: &str, parked: Parked) -> Result<String, Error> {
        let Parked { action, body, mut attempts, trace, pause } = parked;
        let mut trace = trace.resume(&self.observer);
        let left = attempts.deadline.saturating_duration_since(Instant::now());
        std::thread::sleep(pause.min(left));
        let result = self.attempt_until_done(action, request_json[body].as_bytes(), &mut attempts, &mut trace);
        trace.finish(result.as_deref(), self.clock.offset());
        result
    }

    /// Records an attempt that ended with `outcome`: the call's result (its trace
    /// finished), or the call parked until its next attempt.
    fn after(
        &self,
        call: Parked,
        info: &mut AttemptInfo,
        outcome: Result<String, super::Failure>,
    ) -> Result<Result<String, Error>, Box<Parked>> {
        let Parked { action, body, mut attempts, trace, .. } = call;
        let mut trace = trace.resume(&self.observer);
        match self.after_attempt(action, &mut attempts, &mut trace, info, outcome) {
            Next::Done(result) => {
                trace.finish(result.as_deref(), self.clock.offset());
                Ok(result)
            }
            Next::Again(pause) => Err(Box::new(Parked { action, body, attempts, trace: trace.park(), pause })),
        }
    }
}
