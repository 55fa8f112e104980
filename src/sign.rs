//! TC3-HMAC-SHA256 request signing, as specified in `spec/protocol.md` §5.
//!
//! Pure functions, no I/O. The client uses them to sign what it sends; the
//! emulator uses the same functions to verify what it receives.
//!
//! ```text
//! CanonicalRequest = METHOD \n URI \n QUERY \n CanonicalHeaders \n SignedHeaders \n hex(sha256(body))
//! StringToSign     = "TC3-HMAC-SHA256" \n Timestamp \n Date/service/tc3_request \n hex(sha256(CanonicalRequest))
//! kSigning         = HMAC(HMAC(HMAC("TC3"+SecretKey, Date), service), "tc3_request")
//! Signature        = hex(HMAC(kSigning, StringToSign))
//! ```

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The algorithm name that starts every `Authorization` header.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";
/// The credential-scope terminator.
pub const TERMINATOR: &str = "tc3_request";
/// The service name of the SMS API in the credential scope, whatever the host.
pub const SERVICE: &str = "sms";
/// The headers the client signs (lowercase, sorted).
pub const DEFAULT_SIGNED_HEADERS: &str = "content-type;host";

/// A derived signing key: `kSigning` for one (secret key, UTC date, service).
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey([u8; 32]);

impl SigningKey {
    /// Derives `kSigning` from the secret key, the UTC date (`YYYY-MM-DD`) and the service.
    pub fn derive(secret_key: &[u8], date: &str, service: &str) -> SigningKey {
        let mut prefixed = Vec::with_capacity(3 + secret_key.len());
        prefixed.extend_from_slice(b"TC3");
        prefixed.extend_from_slice(secret_key);
        let k_date = hmac(&prefixed, date.as_bytes());
        zeroize::Zeroize::zeroize(&mut prefixed);
        let k_service = hmac(&k_date, service.as_bytes());
        SigningKey(hmac(&k_service, TERMINATOR.as_bytes()))
    }

    /// Lowercase hex of `HMAC(kSigning, string_to_sign)`.
    pub fn sign(&self, string_to_sign: &str) -> String {
        hex_lower(&hmac(&self.0, string_to_sign.as_bytes()))
    }

    /// The raw key bytes (for test vectors only).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl Drop for SigningKey {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Lowercase hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex_lower(&Sha256::digest(data).into())
}

/// Lowercase hex of a 32-byte digest.
fn hex_lower(bytes: &[u8; 32]) -> String {
    as_str(&hex_digits(bytes)).to_owned()
}

/// The UTC calendar date (`YYYY-MM-DD`) of a Unix timestamp; never local time.
pub fn utc_date(timestamp: i64) -> String {
    let (y, m, d) = civil_from_days(timestamp.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Converts days since 1970-01-01 into a proleptic Gregorian (year, month, day).
/// Howard Hinnant's `civil_from_days` algorithm.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `Date/service/tc3_request`.
pub fn credential_scope(date: &str, service: &str) -> String {
    scope_parts(date, service).concat()
}

/// The pieces of [`credential_scope`].
fn scope_parts<'a>(date: &'a str, service: &'a str) -> [&'a str; 5] {
    [date, "/", service, "/", TERMINATOR]
}

/// Builds the canonical request. `signed_headers` are (lowercase name, value) pairs,
/// already sorted by name; values are trimmed here.
pub fn canonical_request(
    method: &str,
    uri: &str,
    query: &str,
    signed_headers: &[(&str, &str)],
    payload_sha256_hex: &str,
) -> String {
    let mut out = String::with_capacity(160 + payload_sha256_hex.len() + query.len());
    write_canonical_request(&mut out, method, uri, query, signed_headers, payload_sha256_hex);
    out
}

/// [`canonical_request`], appended to `out`. (The `write_` helpers are inlined into
/// `sign_post`, where their pieces are known: called, they cost it 560 instructions more
/// per call in memcpy calls and loops.)
#[inline(always)]
fn write_canonical_request(
    out: &mut String,
    method: &str,
    uri: &str,
    query: &str,
    signed_headers: &[(&str, &str)],
    payload_sha256_hex: &str,
) {
    out.push_str(method);
    out.push('\n');
    out.push_str(uri);
    out.push('\n');
    out.push_str(query);
    out.push('\n');
    for (name, value) in signed_headers {
        out.push_str(name);
        out.push(':');
        out.push_str(value.trim());
        out.push('\n');
    }
    out.push('\n');
    for (i, (name, _)) in signed_headers.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.push_str(name);
    }
    out.push('\n');
    out.push_str(payload_sha256_hex);
}

/// `TC3-HMAC-SHA256\nTimestamp\nScope\nhex(sha256(canonical_request))`.
pub fn string_to_sign(timestamp: i64, credential_scope: &str, canonical_request: &str) -> String {
    let mut time = itoa::Buffer::new();
    let hash = hex_digits(&Sha256::digest(canonical_request.as_bytes()).into());
    let mut out = String::with_capacity(ALGORITHM.len() + 24 + credential_scope.len() + 64);
    write_string_to_sign(&mut out, time.format(timestamp), &[credential_scope], as_str(&hash));
    out
}

/// [`string_to_sign`], appended to `out`, given the canonical request's hash in hex and
/// the scope in pieces.
#[inline(always)]
fn write_string_to_sign(out: &mut String, time: &str, scope: &[&str], canonical_hash: &str) {
    extend(out, &[ALGORITHM, "\n", time, "\n"]);
    extend(out, scope);
    extend(out, &["\n", canonical_hash]);
}

/// The `Authorization` header value.
pub fn authorization(secret_id: &str, credential_scope: &str, signed_headers: &str, signature: &str) -> String {
    let mut out = String::with_capacity(
        ALGORITHM.len() + secret_id.len() + credential_scope.len() + signed_headers.len() + signature.len() + 40,
    );
    write_authorization(&mut out, secret_id, &[credential_scope], signed_headers, signature);
    out
}

/// [`authorization`], appended to `out`, the scope in pieces.
#[inline(always)]
fn write_authorization(out: &mut String, secret_id: &str, scope: &[&str], signed_headers: &str, signature: &str) {
    extend(out, &[ALGORITHM, " Credential=", secret_id, "/"]);
    extend(out, scope);
    extend(out, &[", SignedHeaders=", signed_headers, ", Signature=", signature]);
}

/// Signs a `POST /` request whose signed headers are `content-type` and `host`, as the
/// official SDKs do, and returns the `Authorization` header value. It runs on every call,
/// so the helpers above write the canonical request and the string to sign in turn into
/// one buffer, the scope stays in pieces and the hashes on the stack: two allocations.
pub fn sign_post(
    secret_id: &str,
    key: &SigningKey,
    date: &str,
    timestamp: i64,
    content_type: &str,
    host: &str,
    body: &[u8],
) -> String {
    let payload_hash = hex_digits(&Sha256::digest(body).into());
    let scope = scope_parts(date, SERVICE);
    let headers = [("content-type", content_type), ("host", host)];
    let mut text = String::with_capacity(256);
    write_canonical_request(&mut text, "POST", "/", "", &headers, as_str(&payload_hash));
    let canonical_hash = hex_digits(&Sha256::digest(text.as_bytes()).into());
    text.clear();
    let mut time = itoa::Buffer::new();
    write_string_to_sign(&mut text, time.format(timestamp), &scope, as_str(&canonical_hash));
    let signature = hex_digits(&hmac(&key.0, text.as_bytes()));
    let mut out = String::with_capacity(length(&scope) + secret_id.len() + DEFAULT_SIGNED_HEADERS.len() + 64 + 60);
    write_authorization(&mut out, secret_id, &scope, DEFAULT_SIGNED_HEADERS, as_str(&signature));
    out
}

fn length(parts: &[&str]) -> usize {
    parts.iter().map(|p| p.len()).sum()
}

#[inline(always)]
fn extend(text: &mut String, parts: &[&str]) {
    for part in parts {
        text.push_str(part);
    }
}

/// Lowercase hex digits of a 32-byte digest.
fn hex_digits(bytes: &[u8; 32]) -> [u8; 64] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 15)];
    }
    out
}

fn as_str(hex: &[u8; 64]) -> &str {
    // Only ASCII hex digits are ever written by hex_digits.
    std::str::from_utf8(hex).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn vectors() -> Vec<Value> {
        let all: Value = serde_json::from_str(include_str!("../spec/signature-vectors.json")).unwrap();
        let mut out = Vec::new();
        for group in ["official_example", "sdk_vectors", "supplementary_vectors"] {
            out.extend(all[group].as_array().unwrap().iter().cloned());
        }
        out
    }

    #[test]
    fn every_vector_matches() {
        let vectors = vectors();
        assert_eq!(vectors.len(), 16, "all vectors are loaded");
        for v in vectors {
            let id = v["id"].as_str().unwrap();
            let i = &v["inputs"];
            let expected = v.get("expected").unwrap_or_else(|| &v["expected_from_doc"]);
            let ts = i["timestamp"].as_i64().unwrap();
            let method = i["http_method"].as_str().unwrap();
            let service = i["service"].as_str().unwrap();
            let body = match v.get("request") {
                Some(r) if method == "POST" => r["body"].as_str().unwrap().to_owned(),
                Some(_) => String::new(),
                None => i["payload"].as_str().unwrap().to_owned(),
            };
            let query = v.get("request").and_then(|r| r.get("query_string")).and_then(Value::as_str).unwrap_or("");
            let date = utc_date(ts);
            if let Some(d) = i.get("date_utc").and_then(Value::as_str) {
                assert_eq!(date, d, "{id}: date");
            }
            let payload_hash = sha256_hex(body.as_bytes());
            assert_eq!(payload_hash, expected["payload_sha256"].as_str().unwrap(), "{id}: payload");
            let canonical = canonical_request(
                method,
                "/",
                query,
                &[("content-type", i["content_type"].as_str().unwrap()), ("host", i["host"].as_str().unwrap())],
                &payload_hash,
            );
            if let Some(c) = expected.get("canonical_request") {
                assert_eq!(canonical, c.as_str().unwrap(), "{id}: canonical request");
            }
            assert_eq!(
                sha256_hex(canonical.as_bytes()),
                expected["hashed_canonical_request"].as_str().unwrap(),
                "{id}: hashed canonical request"
            );
            let scope = credential_scope(&date, service);
            let sts = string_to_sign(ts, &scope, &canonical);
            if let Some(s) = expected.get("string_to_sign") {
                assert_eq!(sts, s.as_str().unwrap(), "{id}: string to sign");
            }
            let key = SigningKey::derive(i["secret_key"].as_str().unwrap().as_bytes(), &date, service);
            if let Some(k) = v.pointer("/expected_full/derived_keys_hex/SecretSigning") {
                assert_eq!(hex::encode(key.as_bytes()), k.as_str().unwrap(), "{id}: key");
            }
            let signature = key.sign(&sts);
            assert_eq!(signature, expected["signature"].as_str().unwrap(), "{id}: signature");
            let auth = authorization(i["secret_id"].as_str().unwrap(), &scope, DEFAULT_SIGNED_HEADERS, &signature);
            assert_eq!(auth, expected["authorization"].as_str().unwrap(), "{id}: authorization");
            if method == "POST" && service == SERVICE {
                let via_helper = sign_post(
                    i["secret_id"].as_str().unwrap(),
                    &key,
                    &date,
                    ts,
                    i["content_type"].as_str().unwrap(),
                    i["host"].as_str().unwrap(),
                    body.as_bytes(),
                );
                assert_eq!(via_helper, auth, "{id}: sign_post");
            }
        }
    }

    #[test]
    fn sign_post_is_the_helpers_composed() {
        let key = SigningKey::derive(b"Gu5t9xGARNpq86cd98joQYCN3Cozk1qA", "2019-02-25", SERVICE);
        let hosts = ["sms.tencentcloudapi.com", "127.0.0.1:8443", "  padded.example  ", "[::1]:9", ""];
        let types = ["application/json", " application/json; charset=utf-8 ", ""];
        let bodies: [&[u8]; 3] = [b"", b"{\"PhoneNumberSet\":[\"+8613800000000\"]}", &[0xff; 300]];
        for (n, ((host, content_type), body)) in
            hosts.iter().flat_map(|h| types.iter().map(move |t| (h, t))).zip(bodies.iter().cycle()).enumerate()
        {
            let (id, date, ts) = ("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "2019-02-25", 1_551_113_065 + n as i64);
            let canonical = canonical_request(
                "POST",
                "/",
                "",
                &[("content-type", content_type), ("host", host)],
                &sha256_hex(body),
            );
            let scope = credential_scope(date, SERVICE);
            let expected =
                authorization(id, &scope, DEFAULT_SIGNED_HEADERS, &key.sign(&string_to_sign(ts, &scope, &canonical)));
            assert_eq!(sign_post(id, &key, date, ts, content_type, host, body), expected, "{host:?} {content_type:?}");
        }
    }

    #[test]
    fn utc_date_is_utc_not_local() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(1_551_113_065), "2019-02-25");
        // 2024-02-29 23:59:59 UTC and the next second.
        assert_eq!(utc_date(1_709_251_199), "2024-02-29");
        assert_eq!(utc_date(1_709_251_200), "2024-03-01");
        // 00:30 in Beijing is still the previous UTC day.
        assert_eq!(utc_date(1_717_173_000), "2024-05-31");
        assert_eq!(utc_date(-1), "1969-12-31");
    }

    #[test]
    fn signing_key_debug_is_redacted() {
        let key = SigningKey::derive(b"secret", "2024-01-01", "sms");
        assert_eq!(format!("{key:?}"), "SigningKey(<redacted>)");
    }
}
