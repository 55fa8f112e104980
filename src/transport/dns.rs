//! A caching name resolver for the HTTP agent.
//!
//! ureq resolves the host before it looks for a pooled connection, on every request, and
//! with a timeout set it does so on a new thread. That costs more than a whole loopback
//! round trip. This resolver keeps each answer for [`TTL`] and forgets every answer when
//! connecting failed, so the next attempt resolves afresh. IP literals are answered
//! without ureq's resolver (and without its thread).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// How long a resolved address is reused.
pub const TTL: Duration = Duration::from_secs(30);

/// Resolved addresses by scheme, then by authority (`host[:port]`); nested so that a
/// lookup borrows the request's strings instead of building a key for every request.
type Cache = HashMap<String, HashMap<String, (Instant, ResolvedSocketAddrs)>>;

/// Clones share one cache.
#[derive(Debug, Clone)]
pub struct CachingResolver {
    inner: Arc<dyn Resolver>,
    cache: Arc<Mutex<Cache>>,
}

impl Default for CachingResolver {
    fn default() -> Self {
        CachingResolver::over(System::default())
    }
}

/// The system's resolver, except that an IP literal is answered here: ureq's starts a
/// thread for every lookup that has a time limit, even for an address that needs no
/// lookup, and that thread cost a new client's first call more than its loopback round
/// trip. (A [`Hook`] sees IP literals too: tests may answer them as they please.)
#[derive(Debug, Default)]
struct System(DefaultResolver);

impl Resolver for System {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let literal = uri.host().map(|h| h.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>());
        if let Some(Ok(ip)) = literal {
            let port = uri.port_u16().unwrap_or(if uri.scheme_str() == Some("http") { 80 } else { 443 });
            let mut addrs = self.empty();
            addrs.push(SocketAddr::new(ip, port));
            return Ok(addrs);
        }
        self.0.resolve(uri, config, timeout)
    }
}

impl CachingResolver {
    /// Caches the answers of `inner` (the system's resolver by default; tests inject
    /// failing ones, so that no test ever resolves a real name).
    pub fn over(inner: impl Resolver) -> Self {
        CachingResolver { inner: Arc::new(inner), cache: Arc::default() }
    }

    /// Drops every cached address (after a failed connection).
    pub fn forget_all(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A [`super::NameResolver`] as ureq's resolver hook.
#[derive(Debug)]
pub struct Hook(pub Box<dyn super::NameResolver>);

impl Resolver for Hook {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        _: &ureq::config::Config,
        _: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let host = uri.host().ok_or(ureq::Error::HostNotFound)?.trim_start_matches('[').trim_end_matches(']');
        let port = uri.port_u16().unwrap_or(if uri.scheme_str() == Some("http") { 80 } else { 443 });
        let mut addrs = self.empty();
        for addr in self.0.resolve(host, port).map_err(ureq::Error::Io)?.into_iter().take(16) {
            addrs.push(addr);
        }
        if addrs.is_empty() {
            return Err(ureq::Error::HostNotFound);
        }
        Ok(addrs)
    }
}

impl Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let Some(authority) = uri.authority() else {
            return self.inner.resolve(uri, config, timeout);
        };
        let scheme = uri.scheme_str().unwrap_or("");
        let now = Instant::now();
        if let Some((at, addrs)) = self.lock().get(scheme).and_then(|by_authority| by_authority.get(authority.as_str()))
        {
            if now.duration_since(*at) < TTL {
                return Ok(addrs.clone());
            }
        }
        let addrs = self.inner.resolve(uri, config, timeout)?;
        self.lock().entry(scheme.to_owned()).or_default().insert(authority.as_str().to_owned(), (now, addrs.clone()));
        Ok(addrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_cached_and_forgotten() {
        let resolver = CachingResolver::default();
        let uri: ureq::http::Uri = "http://127.0.0.1:8080/".parse().unwrap();
        let config = ureq::config::Config::default();
        let timeout = NextTimeout::default();
        let first = resolver.resolve(&uri, &config, timeout).unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0], "127.0.0.1:8080".parse().unwrap());
        assert_eq!(resolver.lock().len(), 1);
        let again = resolver.resolve(&uri, &config, timeout).unwrap();
        assert_eq!(again[0], first[0]);
        resolver.forget_all();
        assert!(resolver.lock().is_empty());
    }

    #[test]
    fn ip_literals_are_answered_with_the_scheme_s_port() {
        let resolver = CachingResolver::default();
        let config = ureq::config::Config::default();
        for (uri, expected) in [
            ("https://127.0.0.1/", "127.0.0.1:443"),
            ("http://10.1.2.3/", "10.1.2.3:80"),
            ("https://[::1]:8443/", "[::1]:8443"),
            ("http://[fe80::1]/", "[fe80::1]:80"),
        ] {
            let uri: ureq::http::Uri = uri.parse().unwrap();
            let addrs = resolver.resolve(&uri, &config, NextTimeout::default()).unwrap();
            assert_eq!(addrs.len(), 1, "{uri}");
            assert_eq!(addrs[0], expected.parse().unwrap(), "{uri}");
        }
    }
}
