//! Credentials and where they come from: the configuration, the environment, or the
//! profile file `~/.tencentcloud/credentials`.

use crate::error::{codes, Error, ErrorKind};
use std::fmt;
use zeroize::{Zeroize, Zeroizing};

/// A secret string: redacted in `Debug` and `Display`, zeroed on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself; use only to sign or to send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where credentials were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialSource {
    Config,
    Environment,
    ProfileFile,
    /// Temporary keys of the CVM instance role (metadata service).
    CvmRole,
    /// Temporary keys of STS `AssumeRole`.
    AssumeRole,
    /// Temporary keys of STS `AssumeRoleWithWebIdentity`.
    Oidc,
}

/// A SecretId, a SecretKey and an optional STS session token.
#[derive(Clone)]
pub struct Credentials {
    secret_id: String,
    secret_key: Secret,
    token: Option<Secret>,
    source: CredentialSource,
    /// Something the owner should know about where they came from (a profile file
    /// others may write), delivered as a `warning` event.
    warning: Option<String>,
}

impl Credentials {
    /// Checks the values as the official SDKs do: non-empty, no surrounding whitespace.
    pub fn new(
        secret_id: &str,
        secret_key: &str,
        token: Option<&str>,
        source: CredentialSource,
    ) -> Result<Credentials, Error> {
        for (name, value) in [("secret_id", secret_id), ("secret_key", secret_key)] {
            if value.is_empty() {
                return Err(Error::invalid_config(format!("{name} is empty")));
            }
            if value.trim() != value {
                return Err(Error::invalid_config(format!("{name} has surrounding whitespace")));
            }
            check_header_safe(name, value)?;
        }
        let token = match token {
            Some("") | None => None,
            Some(t) if t.trim() != t => return Err(Error::invalid_config("token has surrounding whitespace")),
            Some(t) => {
                check_header_safe("token", t)?;
                Some(Secret::new(t))
            }
        };
        Ok(Credentials {
            secret_id: secret_id.to_owned(),
            secret_key: Secret::new(secret_key),
            token,
            source,
            warning: None,
        })
    }

    /// A warning about where the credentials came from, if any.
    pub fn warning(&self) -> Option<&str> {
        self.warning.as_deref()
    }

    /// Empty credentials standing in until a role source fetches real ones; never
    /// used to sign (a client with a role source waits for its first keys).
    pub(crate) fn placeholder(source: CredentialSource) -> Credentials {
        Credentials { secret_id: String::new(), secret_key: Secret::new(""), token: None, source, warning: None }
    }

    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    pub fn secret_key(&self) -> &Secret {
        &self.secret_key
    }

    pub fn token(&self) -> Option<&Secret> {
        self.token.as_ref()
    }

    pub fn source(&self) -> CredentialSource {
        self.source
    }

    /// Moves the credentials out, leaving empty ones behind (a client keeps its live
    /// credentials apart from its configuration, so that rotated ones can be zeroed).
    pub fn take(&mut self) -> Credentials {
        Credentials {
            secret_id: std::mem::take(&mut self.secret_id),
            secret_key: Secret(std::mem::take(&mut self.secret_key.0)),
            token: self.token.take(),
            source: self.source,
            warning: self.warning.take(),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("secret_id", &mask(&self.secret_id))
            .field("secret_key", &self.secret_key)
            .field("token", &self.token)
            .field("source", &self.source)
            .finish()
    }
}

/// Credentials travel in HTTP headers (and are signed): only printable ASCII can be
/// sent as given, so anything else is refused now rather than on every call. The
/// message never repeats the value.
fn check_header_safe(name: &str, value: &str) -> Result<(), Error> {
    if value.bytes().any(|b| b.is_ascii_control()) {
        return Err(Error::invalid_config(format!("{name} contains a control character")));
    }
    if !value.is_ascii() {
        return Err(Error::invalid_config(format!("{name} contains a non-ASCII character")));
    }
    Ok(())
}

/// Shows the first four characters of an identifier, enough to tell keys apart.
fn mask(id: &str) -> String {
    let prefix: String = id.chars().take(4).collect();
    format!("{prefix}****")
}

/// Looks up an environment variable; injectable for tests.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, with empty values treated as unset.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

pub const ENV_SECRET_ID: &str = "TENCENTCLOUD_SECRET_ID";
pub const ENV_SECRET_KEY: &str = "TENCENTCLOUD_SECRET_KEY";
pub const ENV_SESSION_TOKEN: &str = "TENCENTCLOUD_SESSION_TOKEN";
pub const ENV_TOKEN: &str = "TENCENTCLOUD_TOKEN";
pub const ENV_CREDENTIALS_FILE: &str = "TENCENTCLOUD_CREDENTIALS_FILE";

/// Resolves credentials: the configuration's `secret_id`/`secret_key` (with `token`), else
/// the environment, else the profile file. `None` everywhere is an error naming all three.
pub fn resolve(
    secret_id: Option<&str>,
    secret_key: Option<&str>,
    token: Option<&str>,
    env: EnvLookup<'_>,
) -> Result<Credentials, Error> {
    match (secret_id, secret_key) {
        (Some(id), Some(key)) => return Credentials::new(id, key, token, CredentialSource::Config),
        (Some(_), None) => return Err(Error::invalid_config("secret_id is set but secret_key is not")),
        (None, Some(_)) => return Err(Error::invalid_config("secret_key is set but secret_id is not")),
        (None, None) => {}
    }
    if let Some(credentials) = from_environment(token, env) {
        return credentials;
    }
    let path = env(ENV_CREDENTIALS_FILE).or_else(|| env("HOME").map(|h| format!("{h}/.tencentcloud/credentials")));
    if let Some(credentials) = path.as_deref().and_then(|path| from_profile_file(path, token)) {
        return credentials;
    }
    Err(Error::local(
        ErrorKind::InvalidConfig,
        codes::MISSING_CREDENTIALS,
        format!(
            "no credentials: set secret_id and secret_key in the configuration, or the environment \
             variables {ENV_SECRET_ID} and {ENV_SECRET_KEY}, or write them to the profile file {} \
             ([default] secret_id = ..., secret_key = ...)",
            path.as_deref().unwrap_or("~/.tencentcloud/credentials")
        ),
    ))
}

/// Credentials from the environment, when both the id and the key are set there; a
/// `token` from the configuration wins over the environment's.
fn from_environment(token: Option<&str>, env: EnvLookup<'_>) -> Option<Result<Credentials, Error>> {
    // Copies of secrets read here are zeroed when dropped.
    let secret = |name: &str| env(name).map(Zeroizing::new);
    let (id, key) = (env(ENV_SECRET_ID)?, secret(ENV_SECRET_KEY)?);
    let env_token = secret(ENV_SESSION_TOKEN).or_else(|| secret(ENV_TOKEN));
    let token = token.or(env_token.as_deref().map(String::as_str));
    Some(Credentials::new(&id, &key, token, CredentialSource::Environment))
}

/// The largest profile file read (a real one is a few hundred bytes).
pub const MAX_PROFILE_FILE_BYTES: u64 = 64 << 10;

/// Reads the profile file without ever blocking or reading without bound: `None` when
/// there is none; an error when it is not a regular file (a FIFO, a device, a
/// directory) or larger than [`MAX_PROFILE_FILE_BYTES`]; with it, a warning when group
/// or others may write it.
/// The profile file's text and the warning about it, if any.
type ProfileText = (Zeroizing<String>, Option<String>);

fn read_profile_file(path: &str) -> Option<Result<ProfileText, Error>> {
    let refused = |why: crate::files::Refusal| Error::invalid_config(format!("the profile file {path} {why}"));
    let read = match crate::files::read_bounded(std::path::Path::new(path), MAX_PROFILE_FILE_BYTES) {
        Ok(read) => read,
        Err(why) if why.is_missing() => return None,
        Err(why) => return Some(Err(refused(why))),
    };
    let text = match read.text() {
        Ok(text) => Zeroizing::new(text.to_owned()),
        Err(why) => return Some(Err(refused(why))),
    };
    let warning = read.writable_by_others().map(|(who, mode)| {
        format!(
            "the profile file {path} may be written by {who} (mode {mode:o}): anyone who can write it chooses the \
             credentials this client signs with; chmod go-w it"
        )
    });
    Some(Ok((text, warning)))
}

/// Credentials from the `[default]` section of the profile file, when there is one.
fn from_profile_file(path: &str, token: Option<&str>) -> Option<Result<Credentials, Error>> {
    let (text, warning) = match read_profile_file(path)? {
        Ok(read) => read,
        Err(e) => return Some(Err(e)),
    };
    let profile = Zeroizing::new(parse_profile(&text, "default"));
    let get = |k: &str| profile.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    Some(match (get("secret_id"), get("secret_key")) {
        (Some(id), Some(key)) => Credentials::new(id, key, token.or(get("token")), CredentialSource::ProfileFile)
            .map(|credentials| Credentials { warning, ..credentials }),
        _ => Err(Error::local(
            ErrorKind::InvalidConfig,
            codes::MISSING_CREDENTIALS,
            format!("the profile file {path} has no [default] section with secret_id and secret_key"),
        )),
    })
}

/// Reads `key = value` lines of one `[section]` of an INI file.
fn parse_profile(text: &str, section: &str) -> Vec<(String, String)> {
    let mut current = String::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.trim().to_owned();
        } else if current == section {
            if let Some((k, v)) = line.split_once('=') {
                out.push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn config_values_win() {
        let env = env_of(&[(ENV_SECRET_ID, "envid"), (ENV_SECRET_KEY, "envkey")]);
        let c = resolve(Some("id"), Some("key"), Some("tok"), &env).unwrap();
        assert_eq!(c.secret_id(), "id");
        assert_eq!(c.secret_key().expose(), "key");
        assert_eq!(c.token().unwrap().expose(), "tok");
        assert_eq!(c.source(), CredentialSource::Config);
    }

    #[test]
    fn environment_is_next_and_both_token_names_work() {
        let env = env_of(&[(ENV_SECRET_ID, "envid"), (ENV_SECRET_KEY, "envkey"), (ENV_TOKEN, "t1")]);
        let c = resolve(None, None, None, &env).unwrap();
        assert_eq!((c.secret_id(), c.token().unwrap().expose()), ("envid", "t1"));
        let env = env_of(&[
            (ENV_SECRET_ID, "envid"),
            (ENV_SECRET_KEY, "envkey"),
            (ENV_TOKEN, "t1"),
            (ENV_SESSION_TOKEN, "t2"),
        ]);
        assert_eq!(resolve(None, None, None, &env).unwrap().token().unwrap().expose(), "t2");
    }

    #[test]
    fn profile_file_is_last() {
        let dir = std::env::temp_dir().join(format!("tcsms-cred-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("credentials");
        std::fs::write(&file, "[other]\nsecret_id = no\n[default]\n secret_id = fileid \nsecret_key=filekey\n")
            .unwrap();
        let env = env_of(&[(ENV_CREDENTIALS_FILE, file.to_str().unwrap())]);
        let c = resolve(None, None, None, &env).unwrap();
        assert_eq!((c.secret_id(), c.secret_key().expose()), ("fileid", "filekey"));
        assert_eq!(c.source(), CredentialSource::ProfileFile);
        std::fs::write(&file, "[other]\nsecret_id = no\n").unwrap();
        let e = resolve(None, None, None, &env).unwrap_err();
        assert_eq!(e.code(), codes::MISSING_CREDENTIALS);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    #[allow(unsafe_code)] // mkfifo(3), which std does not offer
    fn the_profile_file_is_read_like_ca_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("tcsms-cred-kinds-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Resolved on a thread of its own, so that a read that blocks (a FIFO without a
        // writer) or never ends (a device) fails the test instead of hanging it.
        let resolve_from = |path: &std::path::Path| {
            let path_text = path.to_str().unwrap().to_owned();
            let (done, result) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let env = env_of(&[(ENV_CREDENTIALS_FILE, path_text.as_str())]);
                let _ = done.send(resolve(None, None, None, &env));
            });
            result
                .recv_timeout(std::time::Duration::from_secs(2))
                .unwrap_or_else(|_| panic!("reading the profile file {path:?} took more than 2 s"))
        };
        // A FIFO without a writer: refused at once, not waited on for ever.
        let fifo = dir.join("fifo");
        let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        let e = resolve_from(&fifo).unwrap_err();
        assert!(e.message().contains("not a regular file"), "{e}");
        // A device that never ends: refused, not read.
        let e = resolve_from(std::path::Path::new("/dev/zero")).unwrap_err();
        assert!(e.message().contains("not a regular file"), "{e}");
        // Too large.
        let large = dir.join("large");
        std::fs::write(&large, vec![b'#'; MAX_PROFILE_FILE_BYTES as usize + 1]).unwrap();
        let e = resolve_from(&large).unwrap_err();
        assert!(e.message().contains("larger than"), "{e}");
        // Others may write it: used, with a warning; private: no warning.
        let open = dir.join("open");
        std::fs::write(&open, "[default]\nsecret_id=fileid\nsecret_key=filekey\n").unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o666)).unwrap();
        let c = resolve_from(&open).unwrap();
        assert!(c.warning().is_some_and(|w| w.contains("anyone") && !w.contains("filekey")), "{:?}", c.warning());
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(resolve_from(&open).unwrap().warning(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn nothing_anywhere_names_all_three_sources() {
        let env = env_of(&[(ENV_CREDENTIALS_FILE, "/nonexistent/tcsms/credentials")]);
        let e = resolve(None, None, None, &env).unwrap_err();
        assert_eq!(e.code(), codes::MISSING_CREDENTIALS);
        assert_eq!(e.kind(), ErrorKind::InvalidConfig);
        for needle in ["secret_id", ENV_SECRET_ID, ENV_SECRET_KEY, "/nonexistent/tcsms/credentials"] {
            assert!(e.message().contains(needle), "{needle} in {}", e.message());
        }
    }

    #[test]
    fn half_given_and_malformed_values_are_refused() {
        let env = env_of(&[]);
        assert!(resolve(Some("id"), None, None, &env).unwrap_err().message().contains("secret_key"));
        assert!(resolve(None, Some("k"), None, &env).unwrap_err().message().contains("secret_id"));
        assert!(resolve(Some(" id"), Some("k"), None, &env).unwrap_err().message().contains("whitespace"));
        assert!(resolve(Some("id"), Some(""), None, &env).unwrap_err().message().contains("empty"));
    }

    #[test]
    fn values_that_cannot_travel_in_a_header_are_refused_without_echoing_them() {
        let env = env_of(&[]);
        for (id, key, token, needle) in [
            ("AKIDé1", "k1", None, "secret_id contains a non-ASCII"),
            ("AKID1", "kéy1", None, "secret_key contains a non-ASCII"),
            ("AKID1", "k1", Some("tök1"), "token contains a non-ASCII"),
            ("AKID\u{7f}1", "k1", None, "secret_id contains a control"),
            ("AKID1", "k\t1", None, "secret_key contains a control"),
            ("AKID1", "k1", Some("t\r\nX-Evil: 1"), "token contains a control"),
            ("AKID1", "k1", Some("   "), "token has surrounding whitespace"),
            ("AKID1", "k1", Some(" tok1"), "token has surrounding whitespace"),
        ] {
            let e = resolve(Some(id), Some(key), token, &env).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{needle}");
            assert!(e.message().contains(needle), "{}", e.message());
            for value in [id, key, token.unwrap_or(id)] {
                assert!(!e.message().contains(value), "{}", e.message());
            }
        }
    }

    #[test]
    fn debug_never_shows_secrets() {
        let c =
            Credentials::new("AKIDexample", "supersecretkey", Some("sessiontoken"), CredentialSource::Config).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("supersecretkey") && !shown.contains("sessiontoken") && !shown.contains("AKIDexample"));
        assert!(shown.contains("AKID****"));
    }
}
