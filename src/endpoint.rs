//! Where requests go: the endpoint of the SMS API (configuration key `endpoint`) or of a
//! credential source (`metadata_endpoint`, `sts_endpoint`).

use crate::error::Error;

/// Where requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub https: bool,
    /// `host` or `host:port`, exactly as sent (and signed) in the `Host` header.
    pub authority: String,
    /// `https://authority/` or `http://authority/`.
    pub url: String,
}

impl Endpoint {
    /// Accepts `host`, `host:port`, `https://host[:port]` and `http://host:port`.
    pub fn parse(text: &str) -> Result<Endpoint, Error> {
        let shown = without_userinfo(text);
        let bad = |why: &str| Error::invalid_config(format!("endpoint `{shown}` {why}"));
        let (https, rest) = if let Some(rest) = text.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = text.strip_prefix("http://") {
            (false, rest)
        } else if text.contains("://") {
            return Err(bad("must use https:// or http://"));
        } else {
            (true, text)
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() {
            return Err(bad("has no host"));
        }
        if authority.contains(['/', '?', '#', '@'])
            || authority.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(bad("must be a host with an optional port, without a path"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, _)) if !h.ends_with(']') && h.contains(':') => (authority, None), // bare IPv6
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        if host.is_empty() {
            return Err(bad("has no host"));
        }
        if !host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'[' | b']' | b':')) {
            return Err(bad("has a host that is not an ASCII name or IP address (write internationalised names in punycode, xn--...)"));
        }
        if let Some(p) = port {
            // Digits only: `u16::from_str` would also take "+80", sent as `Host: x:+80`.
            match p.parse::<u16>() {
                Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => {}
                _ => return Err(bad("has an invalid port")),
            }
        }
        if !https && port.is_none() {
            return Err(bad("uses http:// and must give a port (plain http is for local testing)"));
        }
        let authority = authority.to_ascii_lowercase();
        let url = format!("{}://{authority}/", if https { "https" } else { "http" });
        Ok(Endpoint { https, authority, url })
    }
}

/// `text` with any `user:password@` part replaced by `***@`, so an error can quote it.
fn without_userinfo(text: &str) -> std::borrow::Cow<'_, str> {
    let start = text.find("://").map_or(0, |i| i + 3);
    match text[start..].rfind('@') {
        Some(at) => format!("{}***{}", &text[..start], &text[start + at..]).into(),
        None => text.into(),
    }
}
