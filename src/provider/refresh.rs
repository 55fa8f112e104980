//! Keeping a client's temporary keys fresh without hurting a call.
//!
//! - Every call signs with one snapshot of the client's [`CredentialSlot`] (id, key and
//!   token together); a refresh swaps in a new snapshot, and the old secrets are zeroed
//!   when the last call using them ends.
//! - Keys are refreshed ahead of expiry, once the remaining lifetime falls below the
//!   smaller of 5 minutes and 20 % of the lifetime; calls meanwhile keep signing with
//!   the current keys. The refresh runs on a thread of its own, one at a time per client.
//! - A call waits only when the keys have expired (or none were fetched yet), and then
//!   only within its own time limit; it returns the refresh's error if the refresh it
//!   waited for failed.
//! - A failed refresh keeps the last good keys until they expire and is retried with
//!   backoff (1 s doubling to 60 s, with jitter), started by the calls that come.
//! - Every refresh reports a `credentials` event: `source`, `outcome` (`"ok"` or
//!   `"failed"`), `expiry` (Unix seconds of the keys now in use, or null), `code` and
//!   `message` of a failure. Never a secret.

use super::fetch::{Fetched, Fetcher};
use crate::credentials::Credentials;
use crate::error::{codes, Error, ErrorKind};
use crate::events::Observer;
use crate::signer::{CredentialSlot, Expiry, Signer};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Refresh ahead by at most this.
pub const MAX_REFRESH_AHEAD: Duration = Duration::from_secs(300);
const BACKOFF_FIRST_MS: i64 = 1_000;
const BACKOFF_MAX_MS: i64 = 60_000;

/// The refresher of one client.
pub(crate) struct Refresher {
    inner: Arc<Inner>,
}

struct Inner {
    fetcher: Fetcher,
    slot: Arc<CredentialSlot>,
    observer: Arc<Observer>,
    source: String,
    state: Mutex<State>,
    changed: Condvar,
    /// False once the client is gone: a refresh still running then sends no event (the
    /// callback and its data may be freed).
    alive: AtomicBool,
    /// The process delivering an event now (0: none); the client's drop waits for a
    /// delivery of its own process (a copy made by fork() has no such thread). Atomics,
    /// not a lock, so that a fork() during a delivery leaves nothing locked in the child.
    emitting: AtomicU32,
}

#[derive(Default)]
struct State {
    /// The process whose thread is refreshing (a child of fork() has no such thread).
    in_flight: Option<u32>,
    /// Failed refreshes since the last good one.
    failures: u32,
    /// No new refresh starts before this (Unix ms), after a failure.
    next_try_ms: i64,
    last_error: Option<Error>,
    /// Counts finished refreshes.
    generation: u64,
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// When keys fetched now and expiring at `expires_at` (Unix s) are to be refreshed.
pub(crate) fn expiry_of(expires_at: i64, now_ms: i64) -> Expiry {
    let expires_at_ms = expires_at.saturating_mul(1000);
    let lifetime = (expires_at_ms - now_ms).max(0);
    let ahead = (lifetime / 5).min(MAX_REFRESH_AHEAD.as_millis() as i64);
    Expiry { refresh_at_ms: expires_at_ms - ahead, expires_at_ms }
}

impl Refresher {
    /// A refresher for `fetcher`'s source, publishing into `slot` (which holds a
    /// placeholder until the first fetch).
    pub(crate) fn new(fetcher: Fetcher, slot: Arc<CredentialSlot>, observer: Arc<Observer>) -> Refresher {
        let source = fetcher.provider().name();
        let inner = Inner {
            fetcher,
            slot,
            observer,
            source,
            state: Mutex::default(),
            changed: Condvar::new(),
            alive: AtomicBool::new(true),
            emitting: AtomicU32::new(0),
        };
        Refresher { inner: Arc::new(inner) }
    }

    /// The source's name, as events give it.
    pub(crate) fn source(&self) -> &str {
        &self.inner.source
    }

    /// The snapshot to sign one attempt with. Returns at once while the keys are
    /// valid (starting a refresh in the background when one is due); otherwise waits
    /// for a refresh until `deadline`.
    pub(crate) fn signer(&self, deadline: Instant) -> Result<Arc<Signer>, Error> {
        let signer = self.inner.slot.current();
        let now = now_ms();
        match signer.expiry() {
            None => return Ok(signer),
            Some(e) if now < e.refresh_at_ms => return Ok(signer),
            Some(e) if now < e.expires_at_ms => {
                self.due(now);
                return Ok(signer);
            }
            Some(_) => {}
        }
        drop(signer);
        self.wait(deadline)
    }

    /// The service refused `signer`'s temporary keys (`AuthFailure.TokenFailure` or
    /// `SecretIdNotFound`: expired or revoked early, or this host's clock is behind): they
    /// count as expired from now on, so the next attempt waits for new ones. Returns
    /// whether trying again can help (the keys were temporary ones of this refresher).
    pub(crate) fn refused(&self, signer: &Arc<Signer>) -> bool {
        if signer.expiry().is_none() {
            return false;
        }
        let _state = self.inner.lock();
        let current = self.inner.slot.current();
        if Arc::ptr_eq(&current, signer) {
            let expired = Expiry { refresh_at_ms: 0, expires_at_ms: 0 };
            self.inner.slot.replace(Signer::expiring(current.credentials().clone(), expired));
        }
        true
    }

    /// Starts a refresh ahead of expiry unless one is running or failures hold it back.
    fn due(&self, now: i64) {
        let mut state = self.inner.lock();
        // Checked again under the lock: a refresh may have just published new keys.
        let still_due = self.inner.slot.current().expiry().is_some_and(|e| now >= e.refresh_at_ms);
        if still_due && !self.inner.running(&state) && now >= state.next_try_ms {
            Inner::start(&self.inner, &mut state);
        }
    }

    /// Waits for valid keys until `deadline`.
    fn wait(&self, deadline: Instant) -> Result<Arc<Signer>, Error> {
        let inner = &self.inner;
        let mut state = inner.lock();
        let mut seen = None;
        loop {
            let signer = inner.slot.current();
            if signer.expiry().is_none_or(|e| now_ms() < e.expires_at_ms) {
                return Ok(signer);
            }
            drop(signer);
            if !inner.running(&state) {
                match (&state.last_error, seen) {
                    // The refresh this call waited for failed, or failures hold new ones back.
                    (Some(error), Some(generation)) if generation != state.generation => {
                        return Err(inner.expired_error(error))
                    }
                    (Some(error), _) if now_ms() < state.next_try_ms => return Err(inner.expired_error(error)),
                    _ => Inner::start(inner, &mut state),
                }
            }
            seen.get_or_insert(state.generation);
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::local(
                    ErrorKind::Timeout,
                    codes::TIMEOUT,
                    format!(
                        "no credentials from {} within the call's time limit (the keys have expired and a refresh \
                         is still running); the request was not sent",
                        inner.source
                    ),
                ));
            }
            state = inner.changed.wait_timeout(state, left).unwrap_or_else(|p| p.into_inner()).0;
        }
    }
}

impl Drop for Refresher {
    /// No event after this; waits for one being delivered (sequentially consistent: either
    /// the delivery sees `alive` false, or this sees it in progress).
    fn drop(&mut self) {
        self.inner.alive.store(false, Ordering::SeqCst);
        let me = crate::process::id();
        while self.inner.emitting.load(Ordering::SeqCst) == me {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

impl Inner {
    /// Delivers an event unless the client is gone.
    fn emit(&self, event: &str) {
        self.emitting.store(crate::process::id(), Ordering::SeqCst);
        if self.alive.load(Ordering::SeqCst) {
            self.observer.emit(event);
        }
        self.emitting.store(0, Ordering::SeqCst);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn running(&self, state: &State) -> bool {
        state.in_flight == Some(crate::process::id())
    }

    /// The error of a call that found no valid keys after `error`.
    fn expired_error(&self, error: &Error) -> Error {
        let prefix = format!("no valid credentials (tried {}): ", self.source);
        match error.kind() {
            ErrorKind::Api => {
                let message = format!("{prefix}{}", error.message());
                let body = crate::error::envelope_json(error.code(), &message, error.request_id());
                Error::api(error.code().to_owned(), message, error.request_id().to_owned(), body)
            }
            kind => Error::local(kind, error.code(), format!("{prefix}{}; the request was not sent", error.message())),
        }
    }

    /// Starts a refresh thread; `state` is locked.
    fn start(inner: &Arc<Inner>, state: &mut State) {
        state.in_flight = Some(crate::process::id());
        let worker = Arc::clone(inner);
        let spawned = std::thread::Builder::new().name("tcsms-credentials".into()).spawn(move || worker.refresh());
        if let Err(e) = spawned {
            state.in_flight = None;
            state.generation += 1;
            state.last_error =
                Some(super::fetch::unavailable(format!("{}: cannot start the refresh thread: {e}", inner.source)));
        }
    }

    /// One refresh, on its own thread.
    fn refresh(&self) {
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.fetcher.fetch())).unwrap_or_else(|panic| {
                Err(Error::local(
                    ErrorKind::Network,
                    codes::CREDENTIALS_UNAVAILABLE,
                    format!("{}: the refresh failed: {}", self.source, crate::error::panic_text(&*panic)),
                ))
            });
        // The event goes out before the outcome is published, so that a caller that
        // waited for this refresh has seen its event when it returns.
        let current = self.slot.current();
        let outcome = match result {
            Ok(Fetched { credentials, expires_at }) => {
                self.emit(&self.event("ok", Some(expires_at), None));
                Ok((credentials, expiry_of(expires_at, now_ms())))
            }
            Err(error) => {
                let error = redacted(error, current.credentials());
                let expiry = current.expiry().filter(|e| e.expires_at_ms > 0).map(|e| e.expires_at_ms / 1000);
                self.emit(&self.event("failed", expiry, Some(&error)));
                Err(error)
            }
        };
        drop(current);
        let mut state = self.lock();
        state.in_flight = None;
        state.generation += 1;
        match outcome {
            Ok((credentials, expiry)) => {
                self.slot.replace(Signer::expiring(credentials, expiry));
                state.failures = 0;
                state.next_try_ms = 0;
                state.last_error = None;
            }
            Err(error) => {
                state.failures += 1;
                let ceiling = (BACKOFF_FIRST_MS << state.failures.min(7).saturating_sub(1)).min(BACKOFF_MAX_MS);
                let jitter = (now_ms().unsigned_abs() % 1000) as i64 * ceiling / 2000;
                state.next_try_ms = now_ms() + ceiling / 2 + jitter;
                state.last_error = Some(error);
            }
        }
        self.changed.notify_all();
    }

    fn event(&self, outcome: &str, expiry: Option<i64>, error: Option<&Error>) -> String {
        serde_json::json!({
            "event": "credentials",
            "source": self.source,
            "outcome": outcome,
            "expiry": expiry,
            "code": error.map(Error::code),
            "message": error.map(Error::message),
        })
        .to_string()
    }
}

/// `error` with any of the current secrets in its message replaced (the messages are
/// built never to hold one; this is the second line of defence).
fn redacted(error: Error, current: &Credentials) -> Error {
    let secrets = [Some(current.secret_key().expose()), current.token().map(|t| t.expose())];
    let leaks = secrets.iter().flatten().any(|s| s.len() >= 4 && error.message().contains(s));
    if !leaks {
        return error;
    }
    let mut message = error.message().to_owned();
    for secret in secrets.iter().flatten().filter(|s| s.len() >= 4) {
        message = message.replace(secret, "<redacted>");
    }
    match error.kind() {
        ErrorKind::Api => {
            let body = crate::error::envelope_json(error.code(), &message, error.request_id());
            Error::api(error.code().to_owned(), message, error.request_id().to_owned(), body)
        }
        kind => Error::local(kind, error.code(), message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_ahead_is_the_smaller_of_five_minutes_and_a_fifth_of_the_lifetime() {
        let now = 1_000_000_000;
        // Two-hour keys: 5 minutes early.
        let e = expiry_of(now / 1000 + 7200, now);
        assert_eq!(e.expires_at_ms - e.refresh_at_ms, 300_000);
        // 30-second keys: 6 seconds early.
        let e = expiry_of(now / 1000 + 30, now);
        assert_eq!(e.expires_at_ms - e.refresh_at_ms, 6_000);
        // Already expired: refresh now.
        let e = expiry_of(now / 1000 - 5, now);
        assert_eq!(e.refresh_at_ms, e.expires_at_ms);
    }
}
