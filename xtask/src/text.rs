//! Naming and wrapping shared by the writers.

/// `SmsSdkAppId` -> `sms_sdk_app_id`: an underscore before each capital that follows a
/// lower-case letter or a digit.
pub fn snake(name: &str) -> String {
    let mut out = String::new();
    let mut prev: Option<char> = None;
    for c in name.chars() {
        if c.is_ascii_uppercase() && prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit()) {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
        prev = Some(c);
    }
    out
}

/// Splits text into lines of at most `width` characters at spaces.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

/// Go's spelling of a word: initialisms stay upper-case (`Json` -> `JSON`).
fn go_word(word: &str) -> String {
    const INITIALISMS: [&str; 6] = ["OK", "UTF8", "JSON", "HTTP", "API", "ABI"];
    let upper = word.to_ascii_uppercase();
    if INITIALISMS.contains(&upper.as_str()) {
        return upper;
    }
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |f| f.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase())
}

/// `INVALID_UTF8` -> `InvalidUTF8`.
pub fn go_status(name: &str) -> String {
    name.split('_').map(go_word).collect()
}

/// `ClientError.InvalidJson` -> `InvalidJSON`.
pub fn go_code(code: &str) -> String {
    let name = code.strip_prefix("ClientError.").unwrap_or(code);
    let mut words: Vec<String> = Vec::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() || words.is_empty() {
            words.push(String::new());
        }
        if let Some(w) = words.last_mut() {
            w.push(c);
        }
    }
    words.iter().map(|w| go_word(w)).collect()
}

/// A double-quoted string literal valid in Rust, Go and Python for the ASCII text of the specs.
pub fn quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(snake("SmsSdkAppId"), "sms_sdk_app_id");
        assert_eq!(snake("PullSmsSendStatusByPhoneNumber"), "pull_sms_send_status_by_phone_number");
        assert_eq!(go_status("INVALID_UTF8"), "InvalidUTF8");
        assert_eq!(go_status("API_ERROR"), "APIError");
        assert_eq!(go_status("OK"), "OK");
        assert_eq!(go_code("ClientError.InvalidJson"), "InvalidJSON");
        assert_eq!(go_code("ClientError.HttpStatus"), "HTTPStatus");
        assert_eq!(go_code("ClientError.InvalidUtf8"), "InvalidUTF8");
        assert_eq!(go_code("ClientError.AbiMismatch"), "ABIMismatch");
        assert_eq!(go_code("ClientError.ClientClosed"), "ClientClosed");
    }

    #[test]
    fn wrapping_keeps_words_whole() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("  ", 5), Vec::<String>::new());
        assert_eq!(quote("a\"b\\"), "\"a\\\"b\\\\\"");
    }
}
