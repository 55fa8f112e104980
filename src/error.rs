//! The one error type of the core.
//!
//! Every failure is either the service's own error (code, message and RequestId from
//! `Response.Error`) or a local one with a documented `ClientError.*` code. Either can be
//! turned into the service's envelope shape, so every caller has one parse path.

use std::fmt;

/// What went wrong, coarsely; the C ABI maps each kind to one status value. More kinds
/// may be added: match with a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A JSON argument was malformed or not an object.
    InvalidJson,
    /// An argument had a wrong value (an unknown action, a wrong-typed field, ...).
    InvalidArgument,
    /// The client configuration was refused (unknown key, bad value, no credentials).
    InvalidConfig,
    /// The service could not be reached, or the connection broke.
    Network,
    /// The call did not finish within its time limit.
    Timeout,
    /// The service answered with an HTTP status other than 200.
    HttpStatus,
    /// The answer was not the service's JSON envelope.
    Decode,
    /// The service answered with `Response.Error`.
    Api,
}

/// An error from tcsms or from the service.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    code: String,
    message: String,
    request_id: String,
    /// The service's body as received, kept for API errors.
    body: Option<String>,
}

impl Error {
    /// A local failure; `code` is a `ClientError.*` code.
    pub fn local(kind: ErrorKind, code: &str, message: impl Into<String>) -> Error {
        Error { kind, code: code.to_owned(), message: message.into(), request_id: String::new(), body: None }
    }

    /// The service's own error, with the body as received.
    pub fn api(code: String, message: String, request_id: String, body: String) -> Error {
        Error { kind: ErrorKind::Api, code, message, request_id, body: Some(body) }
    }

    /// The same error with `note` appended to its message (the envelope of an API error
    /// stays the service's body as received).
    pub fn with_note(mut self, note: &str) -> Error {
        self.message.push_str(note);
        self
    }

    pub fn invalid_argument(message: impl Into<String>) -> Error {
        Error::local(ErrorKind::InvalidArgument, codes::INVALID_ARGUMENT, message)
    }

    pub fn invalid_config(message: impl Into<String>) -> Error {
        Error::local(ErrorKind::InvalidConfig, codes::INVALID_CONFIG, message)
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The service's `Error.Code`, or a `ClientError.*` code for local failures.
    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// The service's RequestId; empty for local failures.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The envelope `{"Response":{"Error":{"Code","Message"},"RequestId"}}`: the service's
    /// body as received for API errors, a synthesized one otherwise.
    pub fn to_envelope_json(&self) -> String {
        if let Some(body) = &self.body {
            return body.clone();
        }
        envelope_json(&self.code, &self.message, &self.request_id)
    }
}

/// The service's error envelope `{"Response":{"Error":{"Code","Message"},"RequestId"}}`.
/// The text of a caught panic's payload (the C ABI and a completion queue's workers
/// report it with `ClientError.Panic`).
pub(crate) fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

pub(crate) fn envelope_json(code: &str, message: &str, request_id: &str) -> String {
    serde_json::json!({
        "Response": {
            "Error": { "Code": code, "Message": message },
            "RequestId": request_id,
        }
    })
    .to_string()
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if !self.request_id.is_empty() {
            write!(f, " (RequestId: {})", self.request_id)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("code", &self.code)
            .field("message", &self.message)
            .field("request_id", &self.request_id)
            .finish()
    }
}

impl std::error::Error for Error {}

/// The documented `ClientError.*` codes of local failures. `NULL_ARGUMENT`,
/// `INVALID_UTF8` and `PANIC` arise only at the C boundary.
pub mod codes {
    pub const NULL_ARGUMENT: &str = "ClientError.NullArgument";
    pub const INVALID_UTF8: &str = "ClientError.InvalidUtf8";
    pub const INVALID_JSON: &str = "ClientError.InvalidJson";
    pub const INVALID_ARGUMENT: &str = "ClientError.InvalidArgument";
    pub const UNKNOWN_ACTION: &str = "ClientError.UnknownAction";
    pub const INVALID_CONFIG: &str = "ClientError.InvalidConfig";
    pub const MISSING_CREDENTIALS: &str = "ClientError.MissingCredentials";
    pub const NETWORK: &str = "ClientError.Network";
    pub const TIMEOUT: &str = "ClientError.Timeout";
    pub const HTTP_STATUS: &str = "ClientError.HttpStatus";
    pub const DECODE: &str = "ClientError.Decode";
    pub const PANIC: &str = "ClientError.Panic";
    pub const QUEUE_FULL: &str = "ClientError.QueueFull";
    /// A phone number is neither E.164 nor an 11-digit mainland number.
    pub const INVALID_PHONE_NUMBER: &str = "ClientError.InvalidPhoneNumber";
    /// No client-side rate-limit slot within the call's time limit; nothing was sent.
    pub const RATE_LIMITED: &str = "ClientError.RateLimited";
    /// A client call made from inside the client's event callback (refused instead of
    /// deadlocking).
    pub const REENTRANT: &str = "ClientError.Reentrant";
    /// Temporary credentials (CVM role, STS, OIDC) could not be fetched and no unexpired
    /// keys remain; the message names each source tried and why it failed.
    pub const CREDENTIALS_UNAVAILABLE: &str = "ClientError.CredentialsUnavailable";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_errors_become_envelopes() {
        let e = Error::invalid_argument("argument `action` is bad");
        let v: serde_json::Value = serde_json::from_str(&e.to_envelope_json()).unwrap();
        assert_eq!(v["Response"]["Error"]["Code"], "ClientError.InvalidArgument");
        assert_eq!(v["Response"]["Error"]["Message"], "argument `action` is bad");
        assert_eq!(v["Response"]["RequestId"], "");
        assert_eq!(e.to_string(), "ClientError.InvalidArgument: argument `action` is bad");
    }

    #[test]
    fn api_errors_keep_the_body_as_received() {
        let body = r#"{"Response": {"Error": {"Code": "X", "Message": "m"}, "RequestId": "r"}}"#;
        let e = Error::api("X".into(), "m".into(), "r".into(), body.into());
        assert_eq!(e.to_envelope_json(), body);
        assert_eq!(e.kind(), ErrorKind::Api);
        assert_eq!(e.to_string(), "X: m (RequestId: r)");
    }

    #[test]
    fn messages_with_quotes_stay_valid_json() {
        let e = Error::invalid_argument("bad \"quote\" and \\ and \n newline");
        let v: serde_json::Value = serde_json::from_str(&e.to_envelope_json()).unwrap();
        assert_eq!(v["Response"]["Error"]["Message"], "bad \"quote\" and \\ and \n newline");
    }
}
