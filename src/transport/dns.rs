//! A caching name resolver for the connectors.
//!
//! A connection is opened after its host is resolved, and ureq's resolver does each
//! lookup that has a time limit on a new thread. This resolver keeps each answer for
//! [`TTL`] and forgets every answer when connecting failed, so the next attempt resolves
//! afresh. The answers of the system's resolver are kept once per process, for every
//! client that uses it (a new client then starts with the addresses its predecessors
//! found, as it starts with their TLS roots and sessions); a client with its own
//! [`super::NameResolver`] keeps its own. IP literals are answered without ureq's resolver
//! (and without its thread).

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// How long a resolved address is reused.
pub const TTL: Duration = Duration::from_secs(30);

/// The most answers a cache keeps (a process talks to a handful of hosts: the endpoint,
/// STS, the metadata service, a proxy); the oldest goes first.
const MAX_ANSWERS: usize = 32;

/// One resolved address list: scheme, authority (`host[:port]`), when, the addresses.
type Answer = (String, String, Instant, ResolvedSocketAddrs);

/// A few answers, searched in order. (A list rather than a hash map: a lookup borrows the
/// request's strings, and memory that only a static holds stays plainly reachable for
/// leak checkers, where a hash table's interior pointers look "possibly lost".)
type Cache = Vec<Answer>;

/// The system resolver's answers, shared by the clients of the process.
static SYSTEM_ANSWERS: LazyLock<Arc<Mutex<Cache>>> = LazyLock::new(Arc::default);

/// Clones share one cache.
#[derive(Debug, Clone)]
pub struct CachingResolver {
    inner: Arc<dyn Resolver>,
    cache: Arc<Mutex<Cache>>,
}

/// The system's resolver, with the process's cache.
impl Default for CachingResolver {
    fn default() -> Self {
        CachingResolver { inner: Arc::new(System::default()), cache: SYSTEM_ANSWERS.clone() }
    }
}

impl CachingResolver {
    /// Caches the answers of `inner` in a cache of its own (tests inject failing
    /// resolvers, so that no test ever resolves a real name).
    pub fn over(inner: impl Resolver) -> Self {
        CachingResolver { inner: Arc::new(inner), cache: Arc::default() }
    }

    /// The system's resolver (not a [`super::NameResolver`] hook): its answers are the
    /// process's, the same for every client.
    pub fn is_system(&self) -> bool {
        Arc::ptr_eq(&self.cache, &SYSTEM_ANSWERS)
    }

    /// Drops every cached address (after a failed connection).
    pub fn forget_all(&self) {
        if let Some(mut cache) = self.lock() {
            cache.clear();
        }
    }

    /// The cache, or `None` when its lock stays busy (the lookup then goes without it).
    fn lock(&self) -> Option<MutexGuard<'_, Cache>> {
        super::lock_soon(&self.cache)
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
        if let Some((Ok(ip), port)) = host_and_port(uri).map(|(host, port)| (host.parse::<IpAddr>(), port)) {
            let mut addrs = self.empty();
            addrs.push(SocketAddr::new(ip, port));
            return Ok(addrs);
        }
        self.0.resolve(uri, config, timeout)
    }
}

/// The host of `uri` (an IPv6 literal without its brackets) and its port (the scheme's
/// when none is given).
fn host_and_port(uri: &ureq::http::Uri) -> Option<(&str, u16)> {
    let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
    Some((host, uri.port_u16().unwrap_or(if uri.scheme_str() == Some("http") { 80 } else { 443 })))
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
        let (host, port) = host_and_port(uri).ok_or(ureq::Error::HostNotFound)?;
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
        let cached = self.lock().and_then(|cache| {
            let (_, _, at, addrs) = cache.iter().find(|(s, a, _, _)| s == scheme && a == authority.as_str())?;
            (now.duration_since(*at) < TTL).then(|| addrs.clone())
        });
        if let Some(addrs) = cached {
            return Ok(addrs);
        }
        let addrs = self.inner.resolve(uri, config, timeout)?;
        if let Some(mut cache) = self.lock() {
            cache.retain(|(s, a, _, _)| !(s == scheme && a == authority.as_str()));
            if cache.len() >= MAX_ANSWERS {
                cache.remove(0);
            }
            cache.push((scheme.to_owned(), authority.as_str().to_owned(), now, addrs.clone()));
        }
        Ok(addrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers every lookup with one address, counting the lookups.
    #[derive(Debug, Default)]
    struct Counting(std::sync::atomic::AtomicUsize);

    impl Resolver for Counting {
        fn resolve(
            &self,
            uri: &ureq::http::Uri,
            _: &ureq::config::Config,
            _: NextTimeout,
        ) -> Result<ResolvedSocketAddrs, ureq::Error> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            assert_eq!(uri.host(), Some("sms.example.test"), "only the test's name is looked up");
            let mut addrs = self.empty();
            addrs.push("192.0.2.7:443".parse().unwrap());
            Ok(addrs)
        }
    }

    #[test]
    fn answers_are_cached_shared_by_clones_and_forgotten() {
        let counting = Arc::new(Counting::default());
        let resolver = CachingResolver { inner: counting.clone(), cache: Arc::default() };
        let other = resolver.clone();
        let uri: ureq::http::Uri = "https://sms.example.test/".parse().unwrap();
        let config = ureq::config::Config::default();
        let timeout = NextTimeout::default();
        let lookups = || counting.0.load(std::sync::atomic::Ordering::SeqCst);
        let first = resolver.resolve(&uri, &config, timeout).unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0], "192.0.2.7:443".parse().unwrap());
        assert_eq!(other.resolve(&uri, &config, timeout).unwrap()[0], first[0]);
        assert_eq!(lookups(), 1, "the second lookup, through a clone, is answered from the cache");
        other.forget_all();
        assert!(resolver.lock().unwrap().is_empty());
        resolver.resolve(&uri, &config, timeout).unwrap();
        assert_eq!(lookups(), 2, "after forget_all the name is looked up again");
    }

    #[test]
    fn a_cache_keeps_at_most_max_answers_the_oldest_goes_first() {
        let counting = Arc::new(Counting::default());
        let resolver = CachingResolver { inner: counting.clone(), cache: Arc::default() };
        let config = ureq::config::Config::default();
        let resolve = |port: usize| {
            let uri: ureq::http::Uri = format!("https://sms.example.test:{port}/").parse().unwrap();
            resolver.resolve(&uri, &config, NextTimeout::default()).unwrap();
        };
        for port in 1000..1000 + MAX_ANSWERS + 8 {
            resolve(port);
        }
        assert_eq!(resolver.lock().unwrap().len(), MAX_ANSWERS);
        let lookups = || counting.0.load(std::sync::atomic::Ordering::SeqCst);
        let before = lookups();
        resolve(1000 + MAX_ANSWERS + 7);
        assert_eq!(lookups(), before, "the newest answer is kept");
        resolve(1000);
        assert_eq!(lookups(), before + 1, "the oldest answer was dropped");
    }

    #[test]
    fn clients_of_the_system_resolver_share_the_process_s_answers_others_keep_their_own() {
        let (a, b) = (CachingResolver::default(), CachingResolver::default());
        assert!(Arc::ptr_eq(&a.cache, &b.cache));
        assert!(Arc::ptr_eq(&a.cache, &SYSTEM_ANSWERS));
        let own = CachingResolver::over(Counting::default());
        assert!(!Arc::ptr_eq(&own.cache, &a.cache));
    }

    #[test]
    fn a_cache_whose_lock_stays_busy_is_bypassed() {
        let counting = Arc::new(Counting::default());
        let resolver = CachingResolver { inner: counting.clone(), cache: Arc::default() };
        let uri: ureq::http::Uri = "https://sms.example.test/".parse().unwrap();
        let config = ureq::config::Config::default();
        let held = resolver.cache.lock().unwrap();
        // As in a child forked while another thread held the lock: the lookup goes on.
        let resolver_in_thread = resolver.clone();
        let answer =
            std::thread::spawn(move || resolver_in_thread.resolve(&uri, &config, NextTimeout::default()).map(|a| a[0]))
                .join()
                .unwrap();
        assert_eq!(answer.unwrap(), "192.0.2.7:443".parse().unwrap());
        assert_eq!(counting.0.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(held.is_empty(), "nothing was stored past the held lock");
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
