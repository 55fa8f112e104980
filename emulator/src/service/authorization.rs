//! Reading the `Authorization` header a client sent: parsing its parts and comparing
//! signatures in constant time.

use tcsms::sign::{ALGORITHM, TERMINATOR};

/// The parts of a received `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAuthorization {
    pub secret_id: String,
    pub date: String,
    pub service: String,
    /// Lowercase header names, in the order given.
    pub signed_headers: Vec<String>,
    pub signature: String,
}

/// Parses `TC3-HMAC-SHA256 Credential=ID/DATE/SERVICE/tc3_request, SignedHeaders=a;b, Signature=hex`.
/// Returns a short reason when the header is malformed.
pub fn parse_authorization(value: &str) -> Result<ParsedAuthorization, &'static str> {
    let rest = value
        .strip_prefix(ALGORITHM)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or("the algorithm must be TC3-HMAC-SHA256")?;
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let part = part.trim();
        let (key, val) = part.split_once('=').ok_or("a part has no '='")?;
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            _ => return Err("unknown part"),
        };
        if slot.replace(val).is_some() {
            return Err("a part is repeated");
        }
    }
    let credential = credential.ok_or("Credential is missing")?;
    let signed = signed.ok_or("SignedHeaders is missing")?;
    let signature = signature.ok_or("Signature is missing")?;
    let mut pieces = credential.rsplitn(4, '/');
    let terminator = pieces.next().unwrap_or("");
    let service = pieces.next().ok_or("Credential has too few parts")?;
    let date = pieces.next().ok_or("Credential has too few parts")?;
    let secret_id = pieces.next().ok_or("Credential has too few parts")?;
    if terminator != TERMINATOR {
        return Err("Credential must end with tc3_request");
    }
    if secret_id.is_empty() || date.len() != 10 {
        return Err("Credential is malformed");
    }
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("Signature must be 64 hex digits");
    }
    let signed_headers: Vec<String> = signed.split(';').map(str::to_owned).collect();
    if signed_headers.iter().any(|h| h.is_empty() || h.bytes().any(|b| b.is_ascii_uppercase())) {
        return Err("SignedHeaders must be lowercase names separated by ';'");
    }
    Ok(ParsedAuthorization {
        secret_id: secret_id.to_owned(),
        date: date.to_owned(),
        service: service.to_owned(),
        signed_headers,
        signature: signature.to_owned(),
    })
}

/// Compares two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_authorization_is_refused() {
        let good = "TC3-HMAC-SHA256 Credential=AKID/2024-01-01/sms/tc3_request, SignedHeaders=content-type;host, Signature=0000000000000000000000000000000000000000000000000000000000000000";
        assert!(parse_authorization(good).is_ok());
        for bad in [
            "",
            "HMAC-SHA1 Credential=a",
            "TC3-HMAC-SHA256 Credential=AKID/2024-01-01/sms/tc3_request, SignedHeaders=content-type;host",
            "TC3-HMAC-SHA256 Credential=AKID/2024-01-01/sms/v4_request, SignedHeaders=content-type;host, Signature=0000000000000000000000000000000000000000000000000000000000000000",
            "TC3-HMAC-SHA256 Credential=2024-01-01/sms/tc3_request, SignedHeaders=content-type;host, Signature=0000000000000000000000000000000000000000000000000000000000000000",
            "TC3-HMAC-SHA256 Credential=AKID/2024-01-01/sms/tc3_request, SignedHeaders=Content-Type;host, Signature=0000000000000000000000000000000000000000000000000000000000000000",
            "TC3-HMAC-SHA256 Credential=AKID/2024-01-01/sms/tc3_request, SignedHeaders=content-type;host, Signature=xyz",
        ] {
            assert!(parse_authorization(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
