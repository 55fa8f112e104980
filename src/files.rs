//! Bounded reads of the small files a configuration names (`ca_file`, the profile file,
//! the OIDC token file): never blocking, never reading without bound.

use std::fmt;
use std::io::Read;
use std::path::Path;
use zeroize::Zeroizing;

/// A file read by [`read_bounded`]: its bytes (zeroed when dropped) and its mode bits.
pub(crate) struct Bounded {
    pub(crate) bytes: Zeroizing<Vec<u8>>,
    /// The permission bits (0 where there are none: nobody else writes).
    mode: u32,
}

impl Bounded {
    /// The bytes as text.
    pub(crate) fn text(&self) -> Result<&str, Refusal> {
        std::str::from_utf8(&self.bytes).map_err(|_| Refusal::NotUtf8)
    }

    /// Who besides the owner may write the file: `"anyone"`, `"its group"` or nobody
    /// (`None`), with the permission bits, for the warnings of files that choose secrets.
    pub(crate) fn writable_by_others(&self) -> Option<(&'static str, u32)> {
        let who = if self.mode & 0o002 != 0 { "anyone" } else { "its group" };
        (self.mode & 0o022 != 0).then_some((who, self.mode & 0o777))
    }
}

/// Why a file was not read. Displayed as the end of a sentence that names the file:
/// "cannot be read: ...", "is not a regular file", "is larger than N bytes", "is not UTF-8".
#[derive(Debug)]
pub(crate) enum Refusal {
    /// It could not be opened (it may be missing: [`Refusal::is_missing`]).
    Open(std::io::Error),
    /// It opened but could not be read.
    Read(std::io::Error),
    /// A FIFO, a device, a directory, a socket.
    NotRegular,
    /// Larger than the limit, which is given.
    TooLarge(u64),
    /// Its bytes are not UTF-8 ([`Bounded::text`]).
    NotUtf8,
}

impl Refusal {
    /// The file does not exist.
    pub(crate) fn is_missing(&self) -> bool {
        matches!(self, Refusal::Open(e) if e.kind() == std::io::ErrorKind::NotFound)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Open(e) | Refusal::Read(e) => write!(f, "cannot be read: {e}"),
            Refusal::NotRegular => f.write_str("is not a regular file"),
            Refusal::TooLarge(max) => write!(f, "is larger than {max} bytes"),
            Refusal::NotUtf8 => f.write_str("is not UTF-8"),
        }
    }
}

/// Reads the regular file at `path`, of at most `max` bytes, without ever blocking: a FIFO
/// opens at once (O_NONBLOCK) and is refused, as are devices and directories; a file
/// larger than `max` is refused before it is read (by its size) or while it is (a file
/// that grows, or one whose size lies, stops at `max + 1` bytes).
pub(crate) fn read_bounded(path: &Path, max: u64) -> Result<Bounded, Refusal> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // A FIFO opens at once instead of waiting for a writer; regular files ignore it.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path).map_err(Refusal::Open)?;
    let metadata = file.metadata().map_err(Refusal::Read)?;
    if !metadata.is_file() {
        return Err(Refusal::NotRegular);
    }
    if metadata.len() > max {
        return Err(Refusal::TooLarge(max));
    }
    let bytes = read_up_to(file, metadata.len() as usize, max + 1).map_err(Refusal::Read)?;
    if bytes.len() as u64 > max {
        return Err(Refusal::TooLarge(max));
    }
    #[cfg(unix)]
    let mode = std::os::unix::fs::PermissionsExt::mode(&metadata.permissions());
    #[cfg(not(unix))]
    let mode = 0;
    Ok(Bounded { bytes, mode })
}

/// Reads at most `limit` bytes of `file`, whose size was `size`. When the file turns out
/// larger than its size said (it grew, or it is one of /proc's files of size 0), the
/// buffer grows through [`crate::wipe::reserve`], so no copy of a profile or token file
/// (secrets) is left in freed memory, as `read_to_end`'s reallocation would leave one.
fn read_up_to(file: std::fs::File, size: usize, limit: u64) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut file = file.take(limit);
    // One byte more than the size, so that the read that finds the end needs no more room.
    let mut bytes = Zeroizing::new(Vec::with_capacity(size.saturating_add(1).min(limit as usize)));
    loop {
        crate::wipe::reserve(&mut bytes, 1);
        let filled = bytes.len();
        let room = bytes.capacity();
        bytes.resize(room, 0);
        match file.read(&mut bytes[filled..]) {
            Ok(0) => {
                bytes.truncate(filled);
                return Ok(bytes);
            }
            Ok(n) => bytes.truncate(filled + n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => bytes.truncate(filled),
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A path of this process's own in the temporary folder.
    fn temp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("tcsms-files-{name}-{}", std::process::id()))
    }

    #[test]
    fn reads_a_regular_file_within_the_limit() {
        let path = temp("small");
        std::fs::write(&path, "hello").unwrap();
        let read = read_bounded(&path, 5).unwrap();
        assert_eq!(&read.bytes[..], b"hello");
        assert_eq!(read.text().unwrap(), "hello");
        std::fs::remove_file(&path).unwrap();
    }

    /// /proc's files say they are empty and are not: they are read whole all the same,
    /// and refused when larger than the limit.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_file_larger_than_its_size_says_is_read_whole_or_refused() {
        let status = Path::new("/proc/self/status");
        assert_eq!(std::fs::metadata(status).unwrap().len(), 0);
        let read = read_bounded(status, 64 << 10).unwrap();
        let text = read.text().unwrap();
        assert!(text.starts_with("Name:") && text.contains("\nPid:") && text.ends_with('\n'), "{text}");
        assert!(text.len() > 256, "{} bytes", text.len());
        for max in [5, 100] {
            let refusal = read_bounded(status, max).err().unwrap();
            assert!(matches!(refusal, Refusal::TooLarge(m) if m == max), "{refusal:?}");
        }
    }

    #[test]
    fn an_empty_file_reads_as_nothing() {
        let path = temp("empty");
        std::fs::write(&path, "").unwrap();
        assert!(read_bounded(&path, 5).unwrap().bytes.is_empty());
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_file_over_the_limit_is_refused() {
        let path = temp("large");
        std::fs::write(&path, "123456").unwrap();
        let refusal = read_bounded(&path, 5).err().unwrap();
        assert!(matches!(refusal, Refusal::TooLarge(5)), "{refusal:?}");
        assert_eq!(refusal.to_string(), "is larger than 5 bytes");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_missing_file_is_told_apart() {
        let refusal = read_bounded(&temp("missing"), 5).err().unwrap();
        assert!(refusal.is_missing(), "{refusal:?}");
        assert!(refusal.to_string().starts_with("cannot be read: "), "{refusal}");
    }

    #[test]
    fn a_directory_is_refused() {
        let refusal = read_bounded(&std::env::temp_dir(), 5).err().unwrap();
        assert!(matches!(refusal, Refusal::NotRegular), "{refusal:?}");
        assert!(!refusal.is_missing());
        assert_eq!(refusal.to_string(), "is not a regular file");
    }

    #[test]
    fn invalid_utf8_is_refused_as_text_only() {
        let path = temp("latin1");
        std::fs::write(&path, b"caf\xe9").unwrap();
        let read = read_bounded(&path, 5).unwrap();
        assert_eq!(&read.bytes[..], b"caf\xe9");
        let refusal = read.text().err().unwrap();
        assert_eq!(refusal.to_string(), "is not UTF-8");
        std::fs::remove_file(&path).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_without_a_writer_is_refused_without_blocking() {
        let path = temp("fifo");
        let _ = std::fs::remove_file(&path);
        let made = std::process::Command::new("mkfifo").arg(&path).status().expect("mkfifo runs");
        assert!(made.success(), "mkfifo {}", path.display());
        // Without O_NONBLOCK the open would wait for a writer forever.
        let refusal = read_bounded(&path, 5).err().unwrap();
        assert!(matches!(refusal, Refusal::NotRegular), "{refusal:?}");
        std::fs::remove_file(&path).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn an_endless_device_is_refused_without_reading_it() {
        let refusal = read_bounded(Path::new("/dev/zero"), 5).err().unwrap();
        assert!(matches!(refusal, Refusal::NotRegular), "{refusal:?}");
    }

    #[cfg(unix)]
    #[test]
    fn writers_besides_the_owner_are_named() {
        use std::os::unix::fs::PermissionsExt;
        let path = temp("modes");
        std::fs::write(&path, "x").unwrap();
        for (mode, expected) in
            [(0o600, None), (0o644, None), (0o620, Some(("its group", 0o620))), (0o666, Some(("anyone", 0o666)))]
        {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            assert_eq!(read_bounded(&path, 5).unwrap().writable_by_others(), expected, "mode {mode:o}");
        }
        std::fs::remove_file(&path).unwrap();
    }
}
