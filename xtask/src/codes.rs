//! Checks that every `ClientError.*` code the library can emit is in spec/client_errors.json
//! with the status the library gives it.
//!
//! The library builds local errors as `Error::local(ErrorKind::K, codes::C, ...)` (or a
//! tuple `(.., ErrorKind::K, codes::C, ..)`); `codes::C` is defined in src/error.rs. This
//! reads those two facts from src/; the status of each kind is the table's own (its
//! `kind` column, from which `ErrorKind::status` is generated), not read from source.

use crate::spec::ClientErrors;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// The text before `#[cfg(test)]`: tests build errors the library never emits.
fn non_test(text: &str) -> &str {
    text.split("#[cfg(test)]").next().unwrap_or(text)
}

/// The identifier at the start of `text`.
fn ident(text: &str) -> &str {
    let end = text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(text.len());
    &text[..end]
}

/// `pub const NAME: &str = "ClientError.X";` lines.
fn code_constants(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix("pub const ") else { continue };
        let Some((name, value)) = rest.split_once(": &str = \"") else { continue };
        if let Some(code) = value.strip_suffix("\";").filter(|c| c.starts_with("ClientError.")) {
            out.insert(name.to_owned(), code.to_owned());
        }
    }
    out
}

/// Every `codes::C` with the `ErrorKind::K` (the core's kinds) or `BoundaryKind::K` (the C
/// boundary's own) written just before it, as `ErrorKind::K` (`None` if there is none).
fn kind_code_pairs(text: &str) -> Vec<(Option<String>, String)> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices("codes::") {
        let code = ident(&text[i + "codes::".len()..]).to_owned();
        let before = text[..i].trim_end().strip_suffix(',').map(str::trim_end);
        let kind = before.and_then(|b| {
            ["ErrorKind::", "BoundaryKind::"].iter().find_map(|prefix| {
                let start = b.rfind(prefix)?;
                let k = ident(&b[start + prefix.len()..]);
                let whole = b.len() == start + prefix.len() + k.len();
                let alone = !b[..start].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
                (whole && alone).then(|| format!("{prefix}{k}"))
            })
        });
        if !code.is_empty() && code.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
            out.push((kind, code));
        }
    }
    out
}

/// The table's status of each `ErrorKind` (its `kind` column).
fn kind_statuses(table: &ClientErrors) -> BTreeMap<String, String> {
    table.statuses.iter().filter(|s| !s.kind.is_empty()).map(|s| (s.kind.clone(), s.name.clone())).collect()
}

/// Fails naming the first code the table does not list with the library's status.
pub fn check_library_codes(root: &Path, table: &ClientErrors) -> Result<usize, String> {
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files)?;
    let mut sources = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        sources.push((f.strip_prefix(root).unwrap_or(&f).display().to_string(), non_test(&text).to_owned()));
    }
    let all: String = sources.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join("\n");
    let (constants, statuses) = (code_constants(&all), kind_statuses(table));
    if constants.is_empty() || statuses.is_empty() {
        return Err("found no `codes::` constants in src/ or no status with a kind in spec/client_errors.json; \
                    update xtask/src/codes.rs to the library's new shape"
            .into());
    }
    let mut checked = 0;
    for (file, text) in &sources {
        for (kind, name) in kind_code_pairs(text) {
            let code = constants.get(&name).ok_or(format!("{file}: codes::{name} is not defined"))?;
            let kind = kind.ok_or(format!("{file}: codes::{name} without an ErrorKind right before it"))?;
            let status =
                statuses.get(&kind).ok_or(format!("{file}: {kind} has no status in the table's kind column"))?;
            check_one(table, file, code, status)?;
            checked += 1;
        }
    }
    Ok(checked)
}

/// The header documents, for each status, the codes the library reports with it: the
/// same codes as the table's library rows.
pub fn check_header_docs(header: &str, table: &ClientErrors) -> Result<(), String> {
    for status in &table.statuses {
        let documented = crate::spec::header_status_codes(header, &status.name);
        let mut listed: Vec<String> = table
            .codes
            .iter()
            .filter(|c| c.status == status.name && c.source == "library")
            .map(|c| c.code.clone())
            .collect();
        listed.sort();
        if documented != listed {
            return Err(format!(
                "include/tcsms.h documents {documented:?} for TCSMS_STATUS_{}, spec/client_errors.json lists {listed:?}",
                status.name
            ));
        }
    }
    Ok(())
}

fn check_one(table: &ClientErrors, file: &str, code: &str, status: &str) -> Result<(), String> {
    match table.codes.iter().find(|c| c.code == code) {
        None => Err(format!("{file} emits {code}, which spec/client_errors.json does not list")),
        Some(row) if row.status != status => {
            Err(format!("{file} emits {code} with status {status}, spec/client_errors.json says {}", row.status))
        }
        Some(row) if row.source != "library" => {
            Err(format!("{file} emits {code}; spec/client_errors.json says its source is {}", row.source))
        }
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::CodeInfo;

    fn table(code: &str, status: &str) -> ClientErrors {
        let row =
            CodeInfo { code: code.into(), status: status.into(), source: "library".into(), meaning: String::new() };
        ClientErrors { about: String::new(), statuses: Vec::new(), codes: vec![row] }
    }

    #[test]
    fn pairs_are_read_across_lines_and_in_tuples() {
        let text = "Error::local(\n    ErrorKind::Timeout,\n    codes::TIMEOUT,\n    msg)\n\
                    (Reach::NotSent, ErrorKind::Network, codes::NETWORK, x)\nuse crate::error::codes::X;";
        let pairs = kind_code_pairs(text);
        assert_eq!(pairs[0], (Some("ErrorKind::Timeout".into()), "TIMEOUT".into()));
        assert_eq!(pairs[1], (Some("ErrorKind::Network".into()), "NETWORK".into()));
        let boundary = kind_code_pairs("(BoundaryKind::Panic, codes::PANIC, m)");
        assert_eq!(boundary[0], (Some("BoundaryKind::Panic".into()), "PANIC".into()));
        assert_eq!(pairs[2], (None, "X".into()));
    }

    #[test]
    fn a_missing_or_misfiled_code_fails() {
        assert!(check_one(&table("ClientError.Timeout", "TIMEOUT"), "f", "ClientError.Timeout", "TIMEOUT").is_ok());
        let wrong = check_one(&table("ClientError.Timeout", "NETWORK"), "f", "ClientError.Timeout", "TIMEOUT");
        assert!(wrong.unwrap_err().contains("says NETWORK"));
        let missing = check_one(&table("ClientError.Other", "TIMEOUT"), "f", "ClientError.Timeout", "TIMEOUT");
        assert!(missing.unwrap_err().contains("does not list"));
    }

    #[test]
    fn header_docs_are_compared_with_the_table() {
        let mut t = table("ClientError.Timeout", "TIMEOUT");
        t.statuses.push(crate::spec::StatusInfo {
            name: "TIMEOUT".into(),
            kind: "ErrorKind::Timeout".into(),
            description: String::new(),
            default_code: String::new(),
            doc: String::new(),
        });
        let good = "/**\n * Timed out. Code `ClientError.Timeout`.\n */\n#define TCSMS_STATUS_TIMEOUT 7\n";
        assert!(check_header_docs(good, &t).is_ok());
        let bad = good.replace("ClientError.Timeout", "ClientError.Other");
        assert!(check_header_docs(&bad, &t).unwrap_err().contains("ClientError.Other"));
        assert_eq!(kind_statuses(&t)["ErrorKind::Timeout"], "TIMEOUT");
    }

    #[test]
    fn every_code_the_library_emits_is_in_the_table() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let text = std::fs::read_to_string(root.join("spec/client_errors.json")).unwrap();
        let table: ClientErrors = serde_json::from_str(&text).unwrap();
        let checked = check_library_codes(&root, &table).unwrap();
        assert!(checked >= 10, "only {checked} emitted codes found in src/");
    }
}
