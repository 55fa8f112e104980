//! HTTP CONNECT proxies: the configured one, or the process environment's.

use crate::error::Error;

/// Parses a proxy URL; the error never repeats the URL, which may hold a password.
pub fn parse(url: &str) -> Result<ureq::Proxy, Error> {
    let proxy = ureq::Proxy::new(url)
        .map_err(|_| Error::invalid_config("proxy must be a URL like http://[user:password@]host:port"))?;
    refuse_socks(&proxy, "configuration key `proxy`")?;
    Ok(proxy)
}

/// The environment variables a proxy is read from, in the order ureq reads them.
const PROXY_ENV: [&str; 6] = ["ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"];

/// The proxy of the process environment (with `NO_PROXY`), as ureq reads it; a SOCKS
/// proxy is refused, naming the variable.
pub fn from_env() -> Result<Option<ureq::Proxy>, Error> {
    let Some(proxy) = ureq::Proxy::try_from_env() else {
        return Ok(None);
    };
    let variable = PROXY_ENV
        .iter()
        .find(|name| std::env::var(name).is_ok_and(|v| ureq::Proxy::new(&v).is_ok()))
        .copied()
        .unwrap_or("ALL_PROXY/HTTPS_PROXY/HTTP_PROXY");
    refuse_socks(&proxy, &format!("environment variable {variable}"))?;
    Ok(Some(proxy))
}

/// SOCKS proxies are refused when the client is made: ureq is built without SOCKS
/// support, and would otherwise fail (or connect directly) on every call.
fn refuse_socks(proxy: &ureq::Proxy, origin: &str) -> Result<(), Error> {
    use ureq::ProxyProtocol as P;
    let scheme = match proxy.protocol() {
        P::Socks4 => "socks4",
        P::Socks4A => "socks4a",
        P::Socks5 => "socks5",
        P::Socks5h => "socks5h",
        _ => return Ok(()),
    };
    Err(Error::invalid_config(format!(
        "{origin} names a {scheme}:// proxy; tcsms supports only HTTP CONNECT proxies (http://[user:password@]host:port)"
    )))
}
