//! Temporary credentials the emulator issued (instance metadata, STS): SecretId, SecretKey,
//! token and expiry. Pure data behind a lock; verification looks SecretIds up here when
//! they are not one of the configured key pairs.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::config::Secret;

/// Issued credentials kept at most; past this the oldest are forgotten (their SecretId is
/// then unknown: `AuthFailure.SecretIdNotFound`).
pub const MAX_KEPT: usize = 100_000;

/// Where a temporary credential came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Metadata,
    AssumeRole,
    AssumeRoleWithWebIdentity,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Metadata => "metadata",
            Source::AssumeRole => "AssumeRole",
            Source::AssumeRoleWithWebIdentity => "AssumeRoleWithWebIdentity",
        }
    }
}

/// One issued temporary credential.
#[derive(Debug, Clone)]
pub struct TempCredential {
    pub secret_id: String,
    pub secret_key: Secret,
    pub token: Secret,
    /// Unix seconds (the emulator's clock); valid while now < this.
    pub expired_time: u64,
    pub source: Source,
    /// The role it was issued for (the CVM role name or the RoleArn).
    pub role: String,
}

impl TempCredential {
    pub fn expired(&self, now_ms: u64) -> bool {
        now_ms >= self.expired_time.saturating_mul(1000)
    }
}

#[derive(Debug, Default)]
struct Inner {
    by_id: HashMap<String, TempCredential>,
    order: VecDeque<String>,
}

/// Every temporary credential issued (at most [`MAX_KEPT`], oldest dropped first).
#[derive(Debug, Default)]
pub struct TempKeys {
    inner: Mutex<Inner>,
}

impl TempKeys {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Keeps `cred` (forgetting the oldest past [`MAX_KEPT`]).
    pub fn keep(&self, cred: TempCredential) {
        let mut inner = self.lock();
        while inner.order.len() >= MAX_KEPT {
            if let Some(old) = inner.order.pop_front() {
                inner.by_id.remove(&old);
            }
        }
        inner.order.push_back(cred.secret_id.clone());
        inner.by_id.insert(cred.secret_id.clone(), cred);
    }

    pub fn find(&self, secret_id: &str) -> Option<TempCredential> {
        self.lock().by_id.get(secret_id).cloned()
    }

    /// The most recent `n` credentials issued, newest last.
    pub fn recent(&self, n: usize) -> Vec<TempCredential> {
        let inner = self.lock();
        let skip = inner.order.len().saturating_sub(n);
        inner.order.iter().skip(skip).filter_map(|id| inner.by_id.get(id).cloned()).collect()
    }

    pub fn len(&self) -> usize {
        self.lock().order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cred(id: &str, expired_time: u64) -> TempCredential {
        TempCredential {
            secret_id: id.to_owned(),
            secret_key: Secret::new("the-key".into()),
            token: Secret::new("the-token".into()),
            expired_time,
            source: Source::Metadata,
            role: "role".into(),
        }
    }

    #[test]
    fn kept_credentials_are_found_until_dropped() {
        let keys = TempKeys::default();
        keys.keep(cred("a", 100));
        keys.keep(cred("b", 200));
        let a = keys.find("a").unwrap();
        assert_eq!(a.expired_time, 100);
        assert!(a.expired(100_000) && !a.expired(99_999));
        assert_eq!(keys.recent(1)[0].secret_id, "b");
        assert_eq!(keys.len(), 2);
        assert!(!format!("{a:?}").contains("the-key") && !format!("{a:?}").contains("the-token"));
    }
}
