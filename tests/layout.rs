//! The rules of docs/architecture.md that the source can be checked against: the core
//! never reaches into the C layer, ureq stays inside the transport, which alone writes
//! request lines and framing headers, `unsafe` only where it is allowed (each site with a
//! SAFETY comment), and the modules import each other without a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Where `unsafe` may appear: the C layer, the socket's peek and non-blocking read, the
/// queue's wake-up fd, its epoll set and timer, and the page that keeps the process id.
const UNSAFE_ALLOWED: [&str; 5] =
    ["src/ffi/", "src/transport/tcp.rs", "src/completion.rs", "src/completion/epoll.rs", "src/process.rs"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every file of src/ as (path relative to the crate, text), the text without comments
/// that are documentation (`//!`, `///`), which may name anything.
fn sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    assert!(files.len() > 20, "src/ has only {} files", files.len());
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            let code: Vec<&str> = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("//!") && !l.trim_start().starts_with("///"))
                .collect();
            (f.strip_prefix(root).unwrap().display().to_string(), code.join("\n"))
        })
        .collect()
}

/// The text before the file's tests.
fn non_test(text: &str) -> &str {
    text.split("#[cfg(test)]").next().unwrap_or(text)
}

#[test]
fn the_core_never_names_the_c_layer() {
    for (file, text) in sources() {
        if !file.starts_with("src/ffi/") {
            assert!(!text.contains("crate::ffi"), "{file} names crate::ffi");
        }
    }
}

#[test]
fn ureq_appears_only_in_the_transport() {
    let mut seen = 0;
    for (file, text) in sources() {
        if file.starts_with("src/transport/") {
            seen += text.matches("ureq::").count();
        } else {
            assert!(!text.contains("ureq::"), "{file} names ureq:: outside src/transport/");
        }
    }
    assert!(seen > 0, "no ureq:: in src/transport/: update this test");
}

#[test]
fn request_heads_are_written_only_by_the_transport() {
    // The request line and the framing headers, as code writes them (not in comments).
    const FRAMING: [&str; 4] = ["HTTP/1.1\\r\\n", "Host: ", "Content-Length: ", "User-Agent: "];
    let mut seen = 0;
    for (file, text) in sources() {
        let code: Vec<&str> = non_test(&text).lines().map(|l| l.split("//").next().unwrap_or("")).collect();
        let code = code.join("\n");
        for framing in FRAMING {
            if file.starts_with("src/transport/") {
                seen += code.matches(framing).count();
            } else {
                assert!(!code.contains(framing), "{file} writes `{framing}`: request heads belong to src/transport/");
            }
        }
    }
    assert!(seen >= FRAMING.len(), "the request head is not written in src/transport/: update this test");
}

#[test]
fn unsafe_only_where_allowed_and_each_site_explained() {
    let root = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    assert!(root.contains("#![deny(unsafe_code)]"), "src/lib.rs lost #![deny(unsafe_code)]");
    let mut sites = 0;
    for (file, text) in sources() {
        let allowed = UNSAFE_ALLOWED.iter().any(|a| file.starts_with(a));
        let lines: Vec<&str> = non_test(&text).lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains("allow(unsafe_code)") {
                assert!(allowed, "{file}:{}: allow(unsafe_code) outside {UNSAFE_ALLOWED:?}", i + 1);
            }
            // A block or an `unsafe impl`: an `unsafe fn` states its contract in `# Safety`.
            if code.contains("unsafe {") || code.contains("unsafe impl") {
                assert!(allowed, "{file}:{}: unsafe outside {UNSAFE_ALLOWED:?}", i + 1);
                let explained = lines[i.saturating_sub(4)..=i].iter().any(|l| l.contains("SAFETY"));
                assert!(explained, "{file}:{}: unsafe without a SAFETY comment just above", i + 1);
                sites += 1;
            }
        }
    }
    assert!(sites > 20, "only {sites} unsafe sites found: update this test");
}

/// The top-level module of a file: `src/transport/http.rs` -> `transport`.
fn module_of(file: &str) -> String {
    let rel = file.trim_start_matches("src/").trim_end_matches(".rs");
    let top = rel.split('/').next().unwrap_or(rel);
    top.trim_end_matches("_gen").to_owned()
}

#[test]
fn modules_import_each_other_without_a_circle() {
    let sources = sources();
    let modules: BTreeSet<String> = sources.iter().map(|(f, _)| module_of(f)).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, text) in &sources {
        let from = module_of(file);
        let text = non_test(text);
        // `crate::m` anywhere, and `use crate::{m, ...}` lists.
        let mut named: Vec<&str> = text.split("crate::").skip(1).collect();
        for list in text.split("use crate::{").skip(1) {
            named.extend(list.split('}').next().unwrap_or("").split(','));
        }
        for n in named {
            let m = n.trim().split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next().unwrap_or("");
            if m != from && modules.contains(m) {
                edges.entry(from.clone()).or_default().insert(m.to_owned());
            }
        }
    }
    assert!(edges.get("client").is_some_and(|e| e.contains("transport")), "{edges:?}");
    for (from, to) in &edges {
        if from != "ffi" {
            assert!(!to.contains("ffi"), "{from} imports ffi");
        }
    }
    // Depth-first search for a path back to the start.
    for start in edges.keys() {
        let mut stack: Vec<Vec<&String>> = vec![vec![start]];
        while let Some(path) = stack.pop() {
            for next in edges.get(*path.last().unwrap()).into_iter().flatten() {
                assert!(
                    next != start,
                    "import circle: {} -> {next}",
                    path.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" -> ")
                );
                if !path.contains(&next) {
                    let mut longer = path.clone();
                    longer.push(next);
                    stack.push(longer);
                }
            }
        }
    }
}
