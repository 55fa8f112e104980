//! The credentials a client signs with, replaceable while calls are in flight.
//!
//! A call takes a snapshot (an `Arc<Signer>`) before it signs and uses it to the end;
//! [`CredentialSlot::replace`] swaps in new credentials for later calls. The old
//! secret key, token and derived signing key are zeroed when the last call holding
//! them finishes (`Secret` and `SigningKey` zero themselves on drop). The connection
//! pool is not touched.

use crate::credentials::Credentials;
use crate::sign::{self, SigningKey};
use std::sync::{Arc, Mutex, RwLock};

/// One set of credentials with what is derived from them.
pub struct Signer {
    credentials: Credentials,
    key_cache: Mutex<Option<CachedKey>>,
    /// When temporary credentials expire (`None`: fixed keys, never).
    expiry: Option<Expiry>,
}

/// When a signer's temporary credentials should be refreshed and when they expire,
/// in Unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry {
    pub refresh_at_ms: i64,
    pub expires_at_ms: i64,
}

struct CachedKey {
    day: i64,
    date: Arc<str>,
    key: Arc<SigningKey>,
}

impl Signer {
    pub fn new(credentials: Credentials) -> Signer {
        Signer { credentials, key_cache: Mutex::new(None), expiry: None }
    }

    /// Temporary credentials, valid until `expiry`.
    pub fn expiring(credentials: Credentials, expiry: Expiry) -> Signer {
        Signer { credentials, key_cache: Mutex::new(None), expiry: Some(expiry) }
    }

    /// When these credentials expire; `None` for fixed keys.
    pub fn expiry(&self) -> Option<Expiry> {
        self.expiry
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The `X-TC-Token` value, when there is a token: printable ASCII, as
    /// `Credentials::new` checked, so it goes into a header as it is. Every copy of it
    /// goes into memory that is zeroed before it is freed (the connection's output
    /// buffer, and a request head too large for it, which is spelled out first).
    pub fn token(&self) -> Option<&str> {
        self.credentials.token().map(|token| token.expose())
    }

    /// The signing key and date for `timestamp`'s UTC day, derived once per day.
    pub fn signing_key(&self, timestamp: i64) -> (Arc<str>, Arc<SigningKey>) {
        let day = timestamp.div_euclid(86_400);
        let mut cache = self.key_cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(cached) = cache.as_ref().filter(|c| c.day == day) {
            return (cached.date.clone(), cached.key.clone());
        }
        let date: Arc<str> = sign::utc_date(timestamp).into();
        let key = Arc::new(SigningKey::derive(self.credentials.secret_key().expose().as_bytes(), &date, sign::SERVICE));
        *cache = Some(CachedKey { day, date: date.clone(), key: key.clone() });
        (date, key)
    }
}

/// The client's current [`Signer`].
pub struct CredentialSlot(RwLock<Arc<Signer>>);

impl CredentialSlot {
    pub fn new(signer: Signer) -> CredentialSlot {
        CredentialSlot(RwLock::new(Arc::new(signer)))
    }

    /// A snapshot for one call.
    pub fn current(&self) -> Arc<Signer> {
        self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Later calls use `signer`; calls holding the old one finish with it.
    pub fn replace(&self, signer: Signer) {
        let old = std::mem::replace(&mut *self.0.write().unwrap_or_else(|p| p.into_inner()), Arc::new(signer));
        // Dropped outside the lock (zeroing, if this was the last user).
        drop(old);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::CredentialSource;

    #[test]
    fn calls_in_flight_keep_their_snapshot_and_later_calls_get_the_new_one() {
        let first = Credentials::new("AKID1", "key-one", None, CredentialSource::Config).unwrap();
        let slot = CredentialSlot::new(Signer::new(first));
        let in_flight = slot.current();
        let (_, old_key) = in_flight.signing_key(1_700_000_000);
        let second = Credentials::new("AKID2", "key-two", Some("tok"), CredentialSource::Config).unwrap();
        slot.replace(Signer::new(second));
        assert_eq!(in_flight.credentials().secret_id(), "AKID1");
        let now = slot.current();
        assert_eq!(now.credentials().secret_id(), "AKID2");
        assert!(now.token() == Some("tok") && in_flight.token().is_none());
        assert_ne!(now.signing_key(1_700_000_000).1.as_bytes(), old_key.as_bytes());
        // The old signer is freed once the last call drops it.
        let weak = Arc::downgrade(&in_flight);
        drop(in_flight);
        assert!(weak.upgrade().is_none());
    }
}
