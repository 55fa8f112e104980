//! The response envelope: `{"Response": {..., "RequestId": "..."}}`, and API errors.

use serde_json::{json, Map, Value};

/// An error answered inside the envelope (`Response.Error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(code: &str, message: impl Into<String>) -> ApiError {
        ApiError { code: code.to_owned(), message: message.into() }
    }

    pub fn missing(name: &str) -> ApiError {
        ApiError::new("MissingParameter", format!("The request is missing a required parameter `{name}`."))
    }

    pub fn unknown(name: &str) -> ApiError {
        ApiError::new("UnknownParameter", format!("The parameter `{name}` is not recognized."))
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new("InvalidParameter", message)
    }

    pub fn value(code_suffix: Option<&str>, message: impl Into<String>) -> ApiError {
        match code_suffix {
            Some(s) => ApiError::new(&format!("InvalidParameterValue.{s}"), message),
            None => ApiError::new("InvalidParameterValue", message),
        }
    }

    pub fn app_verify_fail(app: &str) -> ApiError {
        ApiError::new(
            "UnauthorizedOperation.SmsSdkAppIdVerifyFail",
            format!("SmsSdkAppId `{app}` does not belong to the account of this SecretId."),
        )
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new("InternalError", message)
    }
}

/// The body of an error answer.
pub fn error_body(err: &ApiError, request_id: &str) -> String {
    json!({"Response": {"Error": {"Code": err.code, "Message": err.message}, "RequestId": request_id}}).to_string()
}

/// The body of a successful answer carrying `fields`.
pub fn success_body(mut fields: Map<String, Value>, request_id: &str) -> String {
    fields.insert("RequestId".to_owned(), Value::String(request_id.to_owned()));
    let mut outer = Map::new();
    outer.insert("Response".to_owned(), Value::Object(fields));
    Value::Object(outer).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_have_the_real_shape() {
        let e: Value = serde_json::from_str(&error_body(&ApiError::missing("X"), "r")).unwrap();
        assert_eq!(e["Response"]["Error"]["Code"], "MissingParameter");
        assert_eq!(e["Response"]["RequestId"], "r");
        let mut m = Map::new();
        m.insert("A".into(), json!(1));
        let s: Value = serde_json::from_str(&success_body(m, "q")).unwrap();
        assert_eq!(s, json!({"Response": {"A": 1, "RequestId": "q"}}));
    }
}
