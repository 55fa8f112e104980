//! Finding and starting `tcsms-emulator` from an integration test: shared, with
//! `#[path]`, by tests/stress.rs, tests/completion.rs and cli/tests/cli.rs (crates of
//! their own, so a module file rather than a crate).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// `$TCSMS_EMULATOR`, else `tcsms-emulator` in the directory above this test executable
/// (where cargo builds the workspace's binaries: target/PROFILE/deps/TEST ->
/// target/PROFILE), else `ROOT/target/release/tcsms-emulator` for the workspace root
/// `root`; the first that is a file.
pub fn find(root: &Path) -> Option<PathBuf> {
    let beside = std::env::current_exe().ok().and_then(|exe| Some(exe.parent()?.parent()?.join("tcsms-emulator")));
    let candidates = [
        std::env::var_os("TCSMS_EMULATOR").map(PathBuf::from),
        beside,
        Some(root.join("target/release/tcsms-emulator")),
    ];
    candidates.into_iter().flatten().find(|p| p.is_file())
}

/// A running emulator, killed on drop.
pub struct Emulator {
    child: Child,
    /// `http://127.0.0.1:PORT`, from its first line.
    pub url: String,
}

impl Emulator {
    /// Starts `binary --listen 127.0.0.1:0 ARGS...` and waits for its first line.
    pub fn spawn(binary: &Path, args: &[&str]) -> Emulator {
        let mut child = Command::new(binary)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("first line");
        let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("first line {line:?}")).to_owned();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        Emulator { child, url }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
