//! Rate limits shared through Redis: every client configured with the same
//! `rate_limit_store` and `rate_limit_key` draws from one budget per action, wherever it
//! runs (threads, prefork workers, hosts).
//!
//! # Algorithm
//!
//! GCRA (the generic cell rate algorithm), equivalent to the in-process token bucket of
//! [`crate::ratelimit`] with the same rate and burst: one key per action holds the
//! theoretical arrival time (TAT) in microseconds of Redis's own `TIME`, so hosts need no
//! clock agreement. A call reserves its slot (TAT += 1/rate) and learns how long to wait
//! for it; a slot further away than the call's time limit is not reserved and the call
//! fails with `ClientError.RateLimited`, as with the in-process bucket. One Lua script
//! does this atomically: it is loaded once and run by digest (`EVALSHA`), and loaded
//! again when Redis answers `NOSCRIPT` (after a restart): one round trip per call.
//!
//! # Failure
//!
//! Each store operation has its own time limit ([`OP_TIMEOUT`], connecting
//! [`CONNECT_TIMEOUT`]), always inside the call's. When Redis is unreachable, slow or
//! refuses, the client falls back to an in-process bucket at its own share of the limits:
//! `rate_limit_store_fallback_share` when configured (a number in (0, 1]: each action's
//! rate times that share, its burst following from that rate as usual), else 1/N, where N
//! is the number of clients that used the same budget in the last [`SHARERS_WINDOW_S`]
//! seconds, as the store counted them (each client registers at most once a second,
//! inside the same script); a client that never reached the store uses the whole limit.
//! While down, one call at most every [`PROBE_INTERVAL`] tries the store again; the first
//! success resumes sharing. For [`RECOVERY`] after that, a call also takes a slot of the
//! in-process share: the other clients may still send at their shares until their own
//! probe, and the store's budget must not come on top of those. Each transition is
//! reported once
//! through the event hook: `{"event":"rate_limit_store","state":"down",...}` and
//! `"state":"up"`. The store's URL is shown without its `user:password@`.
//!
//! Built with the cargo feature `redis` (on by default); without it, a configuration that
//! sets `rate_limit_store` is refused.

// Without the feature only the configuration is checked.
#![cfg_attr(not(feature = "redis"), allow(dead_code, unused_variables, unused_imports))]

use crate::api::{Action, ACTIONS};
use crate::credentials::Secret;
use crate::error::Error;
use crate::events::Observer;
use crate::provider::{Base, Provider};
use crate::ratelimit::{no_slot, Limiter, RateLimits};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest one store operation (a script run) may take.
pub const OP_TIMEOUT: Duration = Duration::from_millis(100);
/// The longest connecting to the store (TCP, `AUTH`, `SELECT`) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(250);
/// While the store is down, how often a call tries it again.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(500);
/// After the store comes back, how long a client also keeps to its in-process share: the
/// other clients may still be on theirs until their next probe, and the store's budget
/// must not be spent on top of their shares meanwhile.
pub const RECOVERY: Duration = Duration::from_millis(2 * PROBE_INTERVAL.as_millis() as u64);
/// A client counts as sharing the budget for this long after it last registered.
pub const SHARERS_WINDOW_S: u64 = 10;
/// How often a client registers as a sharer.
const REGISTER_INTERVAL_MS: u64 = 1000;
/// The longest `rate_limit_key`.
pub const MAX_KEY_LEN: usize = 200;

/// The GCRA script. KEYS[1]: the action's TAT (µs of Redis TIME); KEYS[2]: the
/// namespace's sharers (sorted set: client id -> last registration, s). ARGV: emission
/// interval µs, burst (requests), the longest wait µs the caller accepts, the client id
/// to register ("" for none), the sharers window s. Returns {wait µs, or -1 when
/// refused (nothing reserved); sharers counted, or 0 when not registering}.
const SCRIPT: &str = r#"
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tat < now then tat = now end
local new_tat = tat + interval
local wait = new_tat - now - burst * interval
if wait < 0 then wait = 0 end
local sharers = 0
if ARGV[4] ~= '' then
  local window = tonumber(ARGV[5])
  redis.call('ZADD', KEYS[2], t[1], ARGV[4])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(t[1]) - window)
  redis.call('EXPIRE', KEYS[2], window * 2)
  sharers = redis.call('ZCARD', KEYS[2])
end
if wait > tonumber(ARGV[3]) then return {-1, sharers} end
redis.call('SET', KEYS[1], string.format('%.17g', new_tat), 'PX', math.floor((new_tat - now) / 1000) + 1)
return {math.floor(wait), sharers}
"#;

/// The configuration keys `rate_limit_store`, `rate_limit_key` and
/// `rate_limit_store_fallback_share`, validated.
#[derive(Clone)]
pub struct StoreConfig {
    /// The URL's parts.
    target: Target,
    /// The URL without its `user:password@`, for errors and events.
    shown: String,
    /// The budget's namespace.
    key: String,
    /// The share of the limits used while the store is down; `None`: 1/N, learned.
    fallback_share: Option<f64>,
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("url", &self.shown)
            .field("key", &self.key)
            .field("fallback_share", &self.fallback_share)
            .finish()
    }
}

/// Whose budget a client draws from when `rate_limit_key` is not given.
#[derive(Clone, Copy)]
pub enum Owner<'a> {
    /// Fixed keys: the SecretId.
    Keys(&'a str),
    /// A role source, which has no keys yet when the configuration is read (and whose
    /// temporary SecretIds change at each refresh): the role it acts as.
    Role(&'a Provider),
}

impl StoreConfig {
    /// Reads `rate_limit_store` (absent, null or "": `None`, in-process buckets),
    /// `rate_limit_key` (absent: derived from `owner` and `region`, see [`default_key`])
    /// and `rate_limit_store_fallback_share` (absent: 1/N, learned). Errors never quote
    /// the URL's credentials.
    pub fn from_config(
        url: Option<&str>,
        key: Option<&str>,
        fallback_share: Option<f64>,
        owner: Owner<'_>,
        region: &str,
    ) -> Result<Option<StoreConfig>, Error> {
        let Some(url) = url.filter(|u| !u.is_empty()) else {
            for (given, name) in
                [(key.is_some(), "rate_limit_key"), (fallback_share.is_some(), "rate_limit_store_fallback_share")]
            {
                if given {
                    return Err(Error::invalid_config(format!(
                        "configuration key `{name}` needs `rate_limit_store` (a redis:// URL)"
                    )));
                }
            }
            return Ok(None);
        };
        if let Some(share) = fallback_share {
            if !(share > 0.0 && share <= 1.0) {
                return Err(Error::invalid_config(format!(
                    "configuration key `rate_limit_store_fallback_share` must be a number greater than 0 and at most 1 \
                     (the share of `rate_limits` this client uses while the store is down), not {share}"
                )));
            }
        }
        let shown = without_userinfo(url);
        let bad = |why: &str| {
            Error::invalid_config(format!(
                "configuration key `rate_limit_store` ({shown}) {why}; expected redis://[user:password@]host:port[/db]"
            ))
        };
        let target = Target::parse(url).map_err(bad)?;
        #[cfg(not(feature = "redis"))]
        {
            let _ = target;
            return Err(bad("cannot be used: this build of tcsms has no Redis support (cargo feature `redis`)"));
        }
        #[allow(unreachable_code)]
        let key = match key {
            None => match owner {
                Owner::Keys(secret_id) => default_key(secret_id, region),
                Owner::Role(provider) => default_role_key(provider, region),
            },
            Some(k) if !k.is_empty() && k.len() <= MAX_KEY_LEN && k.bytes().all(|b| b.is_ascii_graphic()) => {
                k.to_owned()
            }
            Some(_) => {
                return Err(Error::invalid_config(format!(
                    "configuration key `rate_limit_key` must be 1 to {MAX_KEY_LEN} printable ASCII characters without spaces"
                )))
            }
        };
        Ok(Some(StoreConfig { target, shown, key, fallback_share }))
    }

    /// The budget's namespace (`rate_limit_key`, given or derived).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The store's URL without its credentials.
    pub fn shown_url(&self) -> &str {
        &self.shown
    }

    /// `rate_limit_store_fallback_share`; `None`: 1/N, learned from the store.
    pub fn fallback_share(&self) -> Option<f64> {
        self.fallback_share
    }
}

/// The default `rate_limit_key`: the first 16 hex digits of SHA-256 over a label, the
/// SecretId and the region. It names the account and region without revealing either.
pub fn default_key(secret_id: &str, region: &str) -> String {
    hashed_key(b"tcsms rate_limit_key\0", secret_id, region)
}

/// 16 hex digits of SHA-256 over `label`, `owner`, a NUL and `region`.
fn hashed_key(label: &[u8], owner: &str, region: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(label);
    hash.update(owner.as_bytes());
    hash.update(b"\0");
    hash.update(region.as_bytes());
    hex::encode(&hash.finalize()[..8])
}

/// The default `rate_limit_key` of a client whose keys come from a role source: 16 hex
/// digits of SHA-256 over a label, the role and the region, revealing neither.
///
/// The role is its ARN (`qcs::cam::uin/<account>:roleName/<name>`, which names the
/// account) with `role_arn` or the `oidc` source, so every client acting as one role in
/// one region shares, whatever keys sign its `AssumeRole`; for a CVM role without
/// `role_arn` it is `cvm_role_name` and the metadata service (the account is not known
/// before the first fetch, so CVM role clients of one role name share by default, and
/// without `cvm_role_name` all CVM role clients of the region: the conservative side).
pub fn default_role_key(provider: &Provider, region: &str) -> String {
    let arn = provider.role_arn.as_deref().or(match &provider.base {
        Base::Oidc(oidc) => Some(oidc.role_arn.as_str()),
        _ => None,
    });
    let role = match (arn, &provider.base) {
        (Some(arn), _) => format!("role_arn\0{arn}"),
        (None, Base::CvmRole { role_name }) => {
            format!("cvm_role\0{}\0{}", role_name.as_deref().unwrap_or(""), provider.metadata_endpoint.authority)
        }
        // A provider has a role ARN unless it is a CVM role or OIDC (which has one).
        (None, _) => "role\0".to_owned(),
    };
    hashed_key(b"tcsms rate_limit_key role\0", &role, region)
}

/// The parts of `redis://[user:password@]host[:port][/db]`.
#[derive(Clone)]
struct Target {
    host: String,
    port: u16,
    db: i64,
    username: Option<Secret>,
    password: Option<Secret>,
}

impl Target {
    /// Parses the URL (by hand: the `url` crate and its IDNA tables would add a tenth to
    /// the library for one fixed form). Errors never quote it.
    fn parse(url: &str) -> Result<Target, &'static str> {
        let rest = url.strip_prefix("redis://").ok_or("must be a redis:// URL")?;
        if rest.contains(['?', '#']) || rest.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control()) {
            return Err("must have no query, fragment or spaces");
        }
        let (userinfo, rest) = match rest.rsplit_once('@') {
            Some((u, r)) => (Some(u), r),
            None => (None, rest),
        };
        let (authority, db) = match rest.split_once('/') {
            None | Some((_, "")) => (rest.trim_end_matches('/'), 0),
            Some((a, db)) => (
                a,
                db.parse::<i64>()
                    .ok()
                    .filter(|d| (0..=1_000_000).contains(d))
                    .ok_or("has an invalid database number")?,
            ),
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (ip, after) = v6.split_once(']').ok_or("has an invalid IPv6 address")?;
            (ip, after.strip_prefix(':'))
        } else {
            match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err("has no host");
        }
        if !host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':')) {
            return Err("has a host that is not an ASCII name or IP address");
        }
        let port = match port {
            None => 6379,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|&n| n > 0 && p.bytes().all(|b| b.is_ascii_digit()))
                .ok_or("has an invalid port")?,
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(info) => {
                let (user, password) = info.split_once(':').map_or((info, None), |(u, p)| (u, Some(p)));
                let decode = |text: &str| {
                    percent_decode(text).map(Secret::new).ok_or("has invalid %-escapes in its user or password")
                };
                (
                    Some(user).filter(|u| !u.is_empty()).map(decode).transpose()?,
                    password.filter(|p| !p.is_empty()).map(decode).transpose()?,
                )
            }
        };
        Ok(Target { host: host.to_owned(), port, db, username, password })
    }
}

/// Decodes `%XX` escapes; `None` when one is malformed or the result is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `url` with any `user:password@` replaced by `***@`.
fn without_userinfo(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    match url[start..].rfind('@') {
        Some(at) => format!("{}***{}", &url[..start], &url[start + at..]),
        None => url.to_owned(),
    }
}

/// Why a store operation failed (for the `down` event: never the store's own message,
/// which could quote the URL).
fn reason_of(#[cfg(feature = "redis")] error: &redis::RedisError) -> String {
    #[cfg(feature = "redis")]
    {
        if error.is_timeout() {
            return "timed out".into();
        }
        if error.is_connection_refusal() {
            return "connection refused".into();
        }
        if error.kind() == redis::ErrorKind::AuthenticationFailed {
            return "refused by Redis (authentication failed)".into();
        }
        if let Some(code) = error.code() {
            let code: String = code.chars().filter(char::is_ascii_alphanumeric).take(32).collect();
            return format!("refused by Redis ({code})");
        }
        if error.is_io_error() || error.is_connection_dropped() {
            return "connection lost".into();
        }
        "failed".into()
    }
    #[cfg(not(feature = "redis"))]
    "unavailable".into()
}

/// A connection made by this process (after fork() the child drops its parent's).
#[cfg(feature = "redis")]
struct Pooled {
    connection: redis::Connection,
    pid: u32,
}

/// The fallback bucket, rebuilt when the share changes.
struct Fallback {
    share: f64,
    limiter: Arc<Limiter>,
}

/// The shared limiter of one client.
pub(crate) struct SharedLimiter {
    limits: RateLimits,
    /// `rate_limit_store_fallback_share`; `None`: 1/N, learned.
    fallback_share: Option<f64>,
    shown: String,
    key_prefix: String,
    target: Target,
    #[cfg(feature = "redis")]
    script: redis::Script,
    #[cfg(feature = "redis")]
    pool: Mutex<Vec<Pooled>>,
    /// A random part of this client's sharer id (the process id is the other).
    nonce: u64,
    created: Instant,
    /// When this client last registered as a sharer, ms since `created` (0: never).
    registered_ms: AtomicU64,
    /// The process that last registered (after fork() the child differs).
    registered_pid: AtomicU32,
    /// Sharers counted (0: never reached the store), and when, ms since `created`.
    sharers: AtomicU32,
    sharers_at_ms: AtomicU64,
    down: AtomicBool,
    down_since: Mutex<Option<Instant>>,
    /// While down: when the next probe is due, ms since `created`.
    next_probe_ms: AtomicU64,
    /// After the store came back: until when calls also take the in-process share, ms
    /// since `created` (0: not recovering).
    recovering_until_ms: AtomicU64,
    /// The latest slot the store gave this client, µs since `created`: slots reserved
    /// before the store went down are still sent, and the in-process share starts after
    /// them, not on top of them.
    store_slots_until_us: AtomicU64,
    fallback: Mutex<Option<Fallback>>,
}

impl std::fmt::Debug for SharedLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedLimiter").field("store", &self.shown).finish_non_exhaustive()
    }
}

/// The result of one store operation: the wait for the reserved slot, or `None` when no
/// slot is free within the caller's limit.
type Reserved = Option<Duration>;

impl SharedLimiter {
    pub(crate) fn new(config: &StoreConfig, limits: &RateLimits) -> Result<SharedLimiter, Error> {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos(),
        );
        hasher.write_usize(config as *const StoreConfig as usize);
        Ok(SharedLimiter {
            limits: limits.clone(),
            fallback_share: config.fallback_share,
            shown: config.shown.clone(),
            key_prefix: format!("tcsms:rl:{}:", config.key),
            target: config.target.clone(),
            #[cfg(feature = "redis")]
            script: redis::Script::new(SCRIPT),
            #[cfg(feature = "redis")]
            pool: Mutex::new(Vec::new()),
            nonce: hasher.finish(),
            created: Instant::now(),
            registered_ms: AtomicU64::new(0),
            registered_pid: AtomicU32::new(crate::process::id()),
            sharers: AtomicU32::new(0),
            sharers_at_ms: AtomicU64::new(0),
            down: AtomicBool::new(false),
            down_since: Mutex::new(None),
            next_probe_ms: AtomicU64::new(0),
            recovering_until_ms: AtomicU64::new(0),
            store_slots_until_us: AtomicU64::new(0),
            fallback: Mutex::new(None),
        })
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.created.elapsed().as_millis()).unwrap_or(u64::MAX).max(1)
    }

    /// Waits for a slot of `action`'s shared budget, at most until `deadline`; falls back
    /// to the in-process share while the store is down. Returns how long it waited.
    pub(crate) fn acquire(&self, action: &Action, deadline: Instant, observer: &Observer) -> Result<Duration, Error> {
        let Some((rate, burst)) = self.limits.bucket_for(action) else {
            return Ok(Duration::ZERO);
        };
        if self.down.load(Ordering::Acquire) && !self.probe_due() {
            return self.fallback(action, deadline);
        }
        // Just after the store came back, other clients may still send at their shares
        // until they probe it: this client keeps to its own share too (and takes the
        // store's slot as well, so the store counts what it sends).
        let recovering = self.elapsed_ms() < self.recovering_until_ms.load(Ordering::Acquire);
        let local = if recovering { self.fallback(action, deadline)? } else { Duration::ZERO };
        match self.reserve(action, rate, burst, deadline) {
            Ok(reserved) => {
                self.mark_up(observer);
                match reserved {
                    Some(wait) => {
                        let slot = self.created.elapsed().saturating_add(wait).as_micros();
                        self.store_slots_until_us.fetch_max(u64::try_from(slot).unwrap_or(u64::MAX), Ordering::AcqRel);
                        if !wait.is_zero() {
                            std::thread::sleep(wait);
                        }
                        Ok(local + wait)
                    }
                    None => Err(no_slot(
                        action,
                        &format!(
                            "the shared rate limit ({rate:.3} requests/s, configuration keys `rate_limits` and \
                             `rate_limit_store`) has no free slot within the call's time limit"
                        ),
                    )),
                }
            }
            Err(reason) => {
                self.mark_down(observer, &reason);
                if recovering {
                    Ok(local) // the in-process share's slot is taken already
                } else {
                    self.fallback(action, deadline)
                }
            }
        }
    }

    /// Whether this call should try the store while it is down (one call per interval).
    fn probe_due(&self) -> bool {
        let now = self.elapsed_ms();
        let due = self.next_probe_ms.load(Ordering::Acquire);
        now >= due
            && self
                .next_probe_ms
                .compare_exchange(due, now + PROBE_INTERVAL.as_millis() as u64, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
    }

    fn mark_down(&self, observer: &Observer, reason: &str) {
        self.next_probe_ms.store(self.elapsed_ms() + PROBE_INTERVAL.as_millis() as u64, Ordering::Release);
        if self.down.swap(true, Ordering::AcqRel) {
            return;
        }
        *self.down_since.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        observer.emit(&format!(
            r#"{{"event":"rate_limit_store","state":"down","store":{},"reason":{},"fallback_share":{}}}"#,
            json_string(&self.shown),
            json_string(reason),
            self.share()
        ));
    }

    fn mark_up(&self, observer: &Observer) {
        if !self.down.load(Ordering::Acquire) || !self.down.swap(false, Ordering::AcqRel) {
            return;
        }
        self.recovering_until_ms.store(self.elapsed_ms() + RECOVERY.as_millis() as u64, Ordering::Release);
        let since = self.down_since.lock().unwrap_or_else(|p| p.into_inner()).take();
        let down_ms = since.map_or(0, |s| s.elapsed().as_millis());
        observer.emit(&format!(
            r#"{{"event":"rate_limit_store","state":"up","store":{},"down_ms":{down_ms}}}"#,
            json_string(&self.shown)
        ));
    }

    /// This client's share of the limits while the store is down: the configured one,
    /// else 1/N of the sharers last counted (1 when it never reached the store).
    fn share(&self) -> f64 {
        self.fallback_share.unwrap_or_else(|| 1.0 / f64::from(self.sharers.load(Ordering::Relaxed).max(1)))
    }

    /// The in-process bucket at this client's share (while the store is down, after the
    /// last slot the store gave this client).
    fn fallback(&self, action: &Action, deadline: Instant) -> Result<Duration, Error> {
        let mut held = Duration::ZERO;
        if self.down.load(Ordering::Acquire) {
            let until = Duration::from_micros(self.store_slots_until_us.load(Ordering::Acquire));
            held = until.saturating_sub(self.created.elapsed());
            if !held.is_zero() {
                if Instant::now() + held > deadline {
                    return Err(no_slot(
                        action,
                        "the rate limit's store is down and this client's share has no free slot within the call's \
                         time limit",
                    ));
                }
                std::thread::sleep(held);
            }
        }
        let share = self.share();
        let limiter = {
            let mut slot = self.fallback.lock().unwrap_or_else(|p| p.into_inner());
            match &*slot {
                Some(f) if f.share == share => f.limiter.clone(),
                _ => {
                    let limiter = Arc::new(Limiter::new(&self.share_of_limits(share)));
                    *slot = Some(Fallback { share, limiter: limiter.clone() });
                    limiter
                }
            }
        };
        limiter.acquire(action, deadline).map(|wait| held + wait)
    }

    /// The limits times `share` (each at least the smallest rate `rate_limits` takes).
    fn share_of_limits(&self, share: f64) -> RateLimits {
        if share >= 1.0 {
            return self.limits.clone();
        }
        let mut rates = serde_json::Map::new();
        rates.insert("*".into(), 0.into());
        for action in ACTIONS.iter() {
            if let Some((rate, _)) = self.limits.bucket_for(action) {
                rates.insert(action.name.into(), (rate * share).max(crate::ratelimit::MIN_RATE).into());
            }
        }
        RateLimits::from_config(Some(&serde_json::Value::Object(rates))).unwrap_or_else(|_| self.limits.clone())
    }

    /// Keeps the count of sharers: a larger count at once, a smaller one only after the
    /// larger is a window old (after a Redis restart the clients register again one by
    /// one, and the fallback share must not grow meanwhile).
    fn learn_sharers(&self, counted: u32) {
        let now = self.elapsed_ms();
        let known = self.sharers.load(Ordering::Relaxed);
        if counted >= known || now >= self.sharers_at_ms.load(Ordering::Relaxed) + SHARERS_WINDOW_S * 1000 {
            self.sharers.store(counted, Ordering::Relaxed);
            self.sharers_at_ms.store(now, Ordering::Relaxed);
        }
    }

    /// The sharer id to register with this call, if one is due.
    fn registration(&self) -> String {
        let now = self.elapsed_ms();
        let last = self.registered_ms.load(Ordering::Relaxed);
        let pid = crate::process::id();
        // The child of a fork() is a sharer of its own: it registers at its first call.
        let forked = self.registered_pid.swap(pid, Ordering::Relaxed) != pid;
        if !forked && last != 0 && now < last + REGISTER_INTERVAL_MS {
            return String::new();
        }
        if self.registered_ms.compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed).is_err() && !forked {
            return String::new();
        }
        format!("{:016x}-{pid}", self.nonce)
    }

    #[cfg(not(feature = "redis"))]
    fn reserve(&self, _: &Action, _: f64, _: f64, _: Instant) -> Result<Reserved, String> {
        Err(reason_of())
    }

    /// A new connection, made within `limit` (name resolution included).
    #[cfg(feature = "redis")]
    fn connect(&self, limit: Duration) -> Result<redis::Connection, String> {
        use redis::IntoConnectionInfo;
        let start = Instant::now();
        let target = &self.target;
        let ip = match target.host.parse::<std::net::IpAddr>() {
            Ok(ip) => ip,
            Err(_) => resolve(&target.host, target.port, limit)?,
        };
        let mut settings = redis::RedisConnectionInfo::default().set_db(target.db).set_skip_set_lib_name();
        if let Some(user) = &target.username {
            settings = settings.set_username(user.expose());
        }
        if let Some(password) = &target.password {
            settings = settings.set_password(password.expose());
        }
        let info = redis::ConnectionAddr::Tcp(ip.to_string(), target.port)
            .into_connection_info()
            .map_err(|e| reason_of(&e))?
            .set_redis_settings(settings);
        let left = limit.saturating_sub(start.elapsed()).max(Duration::from_millis(1));
        redis::Client::open(info).and_then(|client| client.get_connection_with_timeout(left)).map_err(|e| reason_of(&e))
    }

    /// One script run: reserves a slot of `action`'s budget if its wait fits before
    /// `deadline`. `Err`: why the store could not answer.
    #[cfg(feature = "redis")]
    fn reserve(&self, action: &Action, rate: f64, burst: f64, deadline: Instant) -> Result<Reserved, String> {
        let interval_us = 1e6 / rate;
        let register = self.registration();
        let keys = [format!("{}{}", self.key_prefix, action.name), format!("{}sharers", self.key_prefix)];
        let interval = format!("{interval_us:.6}");
        let pid = crate::process::id();
        // A pooled connection may be stale (Redis restarted, the child of a fork): then
        // one more try on a fresh connection.
        for _ in 0..2 {
            let now = Instant::now();
            let left = deadline.saturating_duration_since(now);
            if left.is_zero() {
                return Ok(None);
            }
            let pooled = self.pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let (mut pooled, fresh) = match pooled {
                Some(p) if p.pid == pid => (p, false),
                stale => {
                    drop(stale);
                    let connection = self.connect(CONNECT_TIMEOUT.min(left))?;
                    (Pooled { connection, pid }, true)
                }
            };
            let limit =
                OP_TIMEOUT.min(deadline.saturating_duration_since(Instant::now())).max(Duration::from_millis(1));
            let con = &mut pooled.connection;
            if let Err(e) = con.set_read_timeout(Some(limit)).and_then(|()| con.set_write_timeout(Some(limit))) {
                if fresh {
                    return Err(reason_of(&e));
                }
                continue;
            }
            let longest_wait =
                u64::try_from(deadline.saturating_duration_since(Instant::now()).as_micros()).unwrap_or(u64::MAX);
            let answer: redis::RedisResult<(i64, u32)> = self
                .script
                .key(&keys[0])
                .key(&keys[1])
                .arg(&interval)
                .arg(burst)
                .arg(longest_wait)
                .arg(&register)
                .arg(SHARERS_WINDOW_S)
                .invoke(con);
            match answer {
                Ok((wait, sharers)) => {
                    self.pool.lock().unwrap_or_else(|p| p.into_inner()).push(pooled);
                    if sharers > 0 {
                        self.learn_sharers(sharers);
                    }
                    return Ok(u64::try_from(wait).ok().map(Duration::from_micros));
                }
                Err(e) if !fresh && (e.is_io_error() || e.is_connection_dropped()) => {
                    // The registration is kept: the fresh connection runs the same script.
                    continue;
                }
                Err(e) => return Err(reason_of(&e)),
            }
        }
        Err("connection lost".into())
    }
}

/// The first address of `host`, resolved on a helper thread so that a slow resolver
/// cannot hold the call longer than `limit`.
#[cfg(feature = "redis")]
fn resolve(host: &str, port: u16, limit: Duration) -> Result<std::net::IpAddr, String> {
    use std::net::ToSocketAddrs;
    let (tx, rx) = std::sync::mpsc::channel();
    let name = host.to_owned();
    std::thread::Builder::new()
        .name("tcsms-redis-dns".into())
        .spawn(move || {
            let _ = tx.send((name.as_str(), port).to_socket_addrs().ok().and_then(|mut a| a.next()));
        })
        .map_err(|_| "cannot resolve the host".to_owned())?;
    match rx.recv_timeout(limit) {
        Ok(Some(addr)) => Ok(addr.ip()),
        Ok(None) => Err("cannot resolve the host".into()),
        Err(_) => Err("timed out resolving the host".into()),
    }
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "null".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::codes;

    #[test]
    fn urls_are_checked_and_never_shown_with_their_credentials() {
        let ok = StoreConfig::from_config(
            Some("redis://u:storepw@127.0.0.1:6390/2"),
            None,
            None,
            Owner::Keys("AKID"),
            "ap-guangzhou",
        )
        .unwrap()
        .unwrap();
        assert_eq!(ok.shown_url(), "redis://***@127.0.0.1:6390/2");
        assert!(!format!("{ok:?}").contains("storepw"), "{ok:?}");
        assert_eq!(ok.key(), default_key("AKID", "ap-guangzhou"));
        for bad in ["http://u:storepw@h:1", "redis://u:storepw@:6379", "redis://u:storepw@h:notaport", "redis://"] {
            let e = StoreConfig::from_config(Some(bad), None, None, Owner::Keys("AKID"), "r").unwrap_err();
            assert_eq!(e.code(), codes::INVALID_CONFIG, "{bad}");
            assert!(e.message().contains("rate_limit_store") && !e.message().contains("storepw"), "{}", e.message());
        }
        assert!(StoreConfig::from_config(None, None, None, Owner::Keys("a"), "r").unwrap().is_none());
        assert!(StoreConfig::from_config(Some(""), None, None, Owner::Keys("a"), "r").unwrap().is_none());
        let e = StoreConfig::from_config(None, Some("k"), None, Owner::Keys("a"), "r").unwrap_err();
        assert!(e.message().contains("rate_limit_key"), "{e}");
        for bad in ["", "has space", &"x".repeat(MAX_KEY_LEN + 1)] {
            let e = StoreConfig::from_config(Some("redis://h:1"), Some(bad), None, Owner::Keys("a"), "r").unwrap_err();
            assert!(e.message().contains("rate_limit_key"), "{e}");
        }
        let given = StoreConfig::from_config(Some("redis://h:1"), Some("fleet-1"), None, Owner::Keys("a"), "r")
            .unwrap()
            .unwrap();
        assert_eq!(given.key(), "fleet-1");
    }

    #[test]
    fn the_default_key_separates_accounts_and_regions_without_revealing_them() {
        let key = default_key("AKIDexample", "ap-guangzhou");
        assert_eq!(key.len(), 16);
        assert!(key.bytes().all(|b| b.is_ascii_hexdigit()) && !key.contains("AKID"));
        assert_eq!(key, default_key("AKIDexample", "ap-guangzhou"));
        assert_ne!(key, default_key("AKIDexample", "ap-singapore"));
        assert_ne!(key, default_key("AKIDother", "ap-guangzhou"));
    }

    #[test]
    fn the_fallback_share_divides_every_limit() {
        let limits = RateLimits::from_config(Some(&serde_json::json!({"SendSms": 400}))).unwrap();
        let config =
            StoreConfig::from_config(Some("redis://127.0.0.1:1"), None, None, Owner::Keys("a"), "r").unwrap().unwrap();
        let shared = SharedLimiter::new(&config, &limits).unwrap();
        let send = crate::api::find_action("SendSms").unwrap();
        let pull = crate::api::find_action("PullSmsSendStatus").unwrap();
        let quarter = shared.share_of_limits(0.25);
        assert_eq!(quarter.bucket_for(send).map(|b| b.0), Some(100.0));
        assert_eq!(quarter.bucket_for(pull).map(|b| b.0), Some(85.0 / 4.0));
        assert_eq!(shared.share_of_limits(1.0), limits);
        // A tiny share still limits every action (never the whole limit, never none).
        let tiny = shared.share_of_limits(1e-12);
        assert_eq!(tiny.bucket_for(send).map(|b| b.0), Some(crate::ratelimit::MIN_RATE));
    }

    #[test]
    fn the_fallback_share_is_the_configured_one_else_one_over_the_sharers() {
        let limits = RateLimits::from_config(Some(&serde_json::json!({"SendSms": 400}))).unwrap();
        let learned =
            StoreConfig::from_config(Some("redis://127.0.0.1:1"), None, None, Owner::Keys("a"), "r").unwrap().unwrap();
        assert_eq!(learned.fallback_share(), None);
        let shared = SharedLimiter::new(&learned, &limits).unwrap();
        assert_eq!(shared.share(), 1.0, "never reached the store: the whole limit");
        shared.learn_sharers(4);
        assert_eq!(shared.share(), 0.25);

        let configured = StoreConfig::from_config(Some("redis://127.0.0.1:1"), None, Some(0.1), Owner::Keys("a"), "r")
            .unwrap()
            .unwrap();
        assert_eq!(configured.fallback_share(), Some(0.1));
        let shared = SharedLimiter::new(&configured, &limits).unwrap();
        shared.learn_sharers(4);
        assert_eq!(shared.share(), 0.1, "the configured share wins over the learned one");
        let send = crate::api::find_action("SendSms").unwrap();
        assert_eq!(shared.share_of_limits(shared.share()).bucket_for(send), Some((40.0, 1.0)));

        for bad in [0.0, -0.5, 1.0001, 2.0, f64::NAN, f64::INFINITY] {
            let e = StoreConfig::from_config(Some("redis://127.0.0.1:1"), None, Some(bad), Owner::Keys("a"), "r")
                .unwrap_err();
            assert_eq!(e.code(), codes::INVALID_CONFIG, "{bad}");
            assert!(
                e.message().contains("`rate_limit_store_fallback_share` must be a number greater than 0 and at most 1"),
                "{bad}: {e}"
            );
        }
        assert!(StoreConfig::from_config(Some("redis://127.0.0.1:1"), None, Some(1.0), Owner::Keys("a"), "r").is_ok());
        let e = StoreConfig::from_config(None, None, Some(0.5), Owner::Keys("a"), "r").unwrap_err();
        assert!(e.message().contains("`rate_limit_store_fallback_share` needs `rate_limit_store`"), "{e}");
    }

    #[test]
    fn a_smaller_count_of_sharers_does_not_replace_a_recent_larger_one() {
        let config =
            StoreConfig::from_config(Some("redis://127.0.0.1:1"), None, None, Owner::Keys("a"), "r").unwrap().unwrap();
        let shared = SharedLimiter::new(&config, &RateLimits::default()).unwrap();
        shared.learn_sharers(4);
        shared.learn_sharers(1);
        assert_eq!(shared.sharers.load(Ordering::Relaxed), 4);
        shared.learn_sharers(6);
        assert_eq!(shared.sharers.load(Ordering::Relaxed), 6);
    }
}
