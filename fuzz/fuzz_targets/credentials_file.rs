//! The credentials-file (profile) parser, through `credentials::resolve` with nothing in the
//! configuration or the environment: the input is written to a file that
//! TENCENTCLOUD_CREDENTIALS_FILE names.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;
use tcsms::credentials::{resolve, CredentialSource, Credentials};

fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    // Rewriting a file on a disk costs milliseconds; in memory (tmpfs) microseconds.
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() { shm.to_owned() } else { std::env::temp_dir() };
    PATH.get_or_init(|| dir.join(format!("tcsms-fuzz-credentials-{}", std::process::id())))
}

/// Resolves credentials from a profile file holding `contents`; returns what a user could see.
fn shown(contents: &[u8]) -> (Option<Credentials>, String) {
    std::fs::write(path(), contents).expect("temporary file is writable");
    let file = path().to_str().expect("UTF-8 path").to_owned();
    let env = move |name: &str| (name == "TENCENTCLOUD_CREDENTIALS_FILE").then(|| file.clone());
    match resolve(None, None, None, &env) {
        Ok(credentials) => {
            let text = format!("{credentials:?}");
            (Some(credentials), text)
        }
        Err(error) => (None, format!("{error} {error:?} {}", error.to_envelope_json())),
    }
}

fuzz_target!(|data: &[u8]| {
    let (credentials, text) = shown(data);
    if let Some(c) = &credentials {
        assert_eq!(c.source(), CredentialSource::ProfileFile);
        for value in [c.secret_id(), c.secret_key().expose()] {
            assert!(!value.is_empty() && value.trim() == value, "{value:?} accepted");
            assert!(!value.bytes().any(|b| b.is_ascii_control()), "{value:?} accepted");
        }
    }
    // No value from the file shows, unless the output with that value replaced still shows
    // it (then it comes from elsewhere: the path, a fixed message, the masked id). Only
    // values are replaced, never section headers: replacing `[default]` inside a header
    // changes which section the lines belong to, and so the message.
    let Ok(contents) = std::str::from_utf8(data) else { return };
    for line in contents.lines() {
        if is_header(line) {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        let value = value.trim();
        if key.trim() == "secret_id" || value.len() < 6 || !text.contains(value) {
            continue;
        }
        let (_, again) = shown(without_value(contents, value).as_bytes());
        assert!(again.contains(value), "a value from the profile file shows: {text}");
    }
});

/// Whether the parser reads `line` as a `[section]` header.
fn is_header(line: &str) -> bool {
    let line = line.trim();
    line.starts_with('[') && line.ends_with(']')
}

/// `contents` with `value` replaced by as many `#` wherever it stands after the `=` of a
/// line that is not a section header.
fn without_value(contents: &str, value: &str) -> String {
    let mask = "#".repeat(value.len());
    contents
        .split_inclusive('\n')
        .map(|line| match line.split_once('=') {
            Some((key, rest)) if !is_header(line) => format!("{key}={}", rest.replace(value, &mask)),
            _ => line.to_owned(),
        })
        .collect()
}
