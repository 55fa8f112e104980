//! The emulator's layers, checked on its source: the model is pure data (it imports no
//! other layer and does no I/O), outbound delivery and the fixtures never reach into the
//! service, the service does not take its configuration from the argv parser, and only the
//! HTTP module touches hyper.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `emulator/src/<dir>` (or the file `emulator/src/<dir>.rs`).
fn sources(dir: &str) -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    let mut stack = vec![root.join(dir)];
    let single = root.join(format!("{dir}.rs"));
    if single.is_file() {
        stack = vec![single];
    }
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            out.push((path, text));
        }
    }
    assert!(!out.is_empty(), "no sources under {dir}");
    out
}

/// Lines of code (comments left out) of `dir` that contain any of `needles`.
fn offending(dir: &str, needles: &[&str]) -> Vec<String> {
    sources(dir)
        .into_iter()
        .flat_map(|(path, text)| {
            text.lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .filter(|l| needles.iter().any(|n| l.contains(n)))
                .map(|l| format!("{}: {}", path.display(), l.trim()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn the_model_is_pure_data() {
    let bad = offending(
        "model",
        &[
            "crate::service",
            "crate::outbound",
            "crate::fixtures",
            "crate::http",
            "crate::cli",
            "std::fs",
            "std::net",
            "std::thread",
            "ureq",
            "hyper",
            "tokio",
            "libc",
        ],
    );
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn outbound_and_fixtures_stay_out_of_the_service() {
    let bad = offending("outbound", &["crate::service", "crate::fixtures", "crate::http", "crate::cli"]);
    assert!(bad.is_empty(), "{bad:#?}");
    let bad = offending("fixtures", &["crate::service::actions", "crate::outbound", "crate::http", "crate::cli"]);
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn configuration_does_not_come_from_the_argv_parser() {
    for dir in ["service", "http", "model", "outbound", "fixtures", "config"] {
        let bad = offending(dir, &["crate::cli", "clap"]);
        assert!(bad.is_empty(), "{bad:#?}");
    }
    let bad = offending("service", &["hyper", "tokio"]);
    assert!(bad.is_empty(), "only crate::http serves sockets: {bad:#?}");
}
