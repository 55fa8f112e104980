//! The documentation's tables, checked against the code by `xtask check`:
//!
//! - every table of configuration keys against `KEYS` in src/config.rs (the one key list),
//!   and the Python and Go configuration wrappers against it too;
//! - every table of statuses against include/tcsms.h (values and names);
//! - docs/c.md's function count and list against the header;
//! - the README's C quick start against bindings/c/examples/quickstart.c, which the c suite
//!   compiles and runs;
//! - docs/architecture.md's "where each change goes" rows name every file checked here.

use crate::spec::Inputs;
use std::collections::BTreeSet;
use std::path::Path;

/// The tables of configuration keys: file and the heading the table follows.
const KEY_TABLES: [(&str, &str); 3] = [
    ("README.md", "## Configuration"),
    ("docs/c.md", "### Configuration"),
    ("docs/contracts.md", "## Client configuration"),
];

/// Which statuses a status table lists.
#[derive(Clone, Copy)]
enum Covers {
    All,
    /// The failures only (no row for OK).
    AllButOk,
}

/// The tables of statuses: file, heading, the column with the names and the one with the
/// values (0-based), and which statuses they must list.
const STATUS_TABLES: [(&str, &str, usize, usize, Covers); 3] = [
    ("README.md", "## Status codes", 1, 0, Covers::All),
    ("docs/c.md", "### Errors", 0, 0, Covers::AllButOk),
    ("docs/cli.md", "## Output and exit status", 1, 0, Covers::All),
];

/// Where configuration keys must also appear: the bindings' configuration wrappers, each
/// key in one of the given forms (Python: a `ClientOptions` field, or a quoted key where
/// the keyword is converted or secret).
const KEY_WRAPPERS: [(&str, &[&str]); 2] =
    [("bindings/python/src/tcsms/_config.py", &["\"{}\"", "\n    {}: "]), ("bindings/go/client.go", &["json:\"{},"])];

const QUICKSTART: &str = "bindings/c/examples/quickstart.c";

fn read(root: &Path, rel: &str) -> Result<String, String> {
    std::fs::read_to_string(root.join(rel)).map_err(|e| format!("{rel}: {e}"))
}

/// The configuration keys of src/config.rs: the strings of `pub const KEYS`.
pub fn config_keys(config_rs: &str) -> Result<Vec<String>, String> {
    let start = config_rs.find("pub const KEYS").ok_or("src/config.rs: no `pub const KEYS`")?;
    let body = &config_rs[start..];
    let body = &body[body.find('=').ok_or("src/config.rs: KEYS has no value")?..];
    let body = &body[..body.find("];").ok_or("src/config.rs: KEYS does not end with `];`")?];
    let keys: Vec<String> = body.split('"').skip(1).step_by(2).map(str::to_owned).collect();
    if keys.is_empty() {
        return Err("src/config.rs: KEYS is empty".into());
    }
    Ok(keys)
}

/// The rows (cells, trimmed) of the first table after the line that starts with `heading`.
fn table_after<'a>(doc: &'a str, file: &str, heading: &str) -> Result<Vec<Vec<&'a str>>, String> {
    let mut lines = doc.lines().skip_while(|l| !l.trim_end().starts_with(heading));
    if lines.next().is_none() {
        return Err(format!("{file}: no heading `{heading}`"));
    }
    let rows: Vec<Vec<&str>> = lines
        .skip_while(|l| !l.starts_with('|') && !l.starts_with('#'))
        .take_while(|l| l.starts_with('|'))
        .skip(2) // the header and the separator
        .map(|l| l.trim().trim_matches('|').split('|').map(str::trim).collect())
        .collect();
    if rows.is_empty() {
        return Err(format!("{file}: no table under `{heading}`"));
    }
    Ok(rows)
}

/// The `code` spans of a cell.
fn code_spans(cell: &str) -> impl Iterator<Item = &str> {
    cell.split('`').skip(1).step_by(2)
}

/// Checks that the key table of `file` lists exactly `keys`.
fn check_key_table(doc: &str, file: &str, heading: &str, keys: &[String]) -> Result<(), String> {
    let mut listed = BTreeSet::new();
    for row in table_after(doc, file, heading)? {
        for key in code_spans(row[0]) {
            if !listed.insert(key.to_owned()) {
                return Err(format!("{file}: configuration key `{key}` is listed twice"));
            }
        }
    }
    let known: BTreeSet<String> = keys.iter().cloned().collect();
    let missing: Vec<&String> = known.difference(&listed).collect();
    let unknown: Vec<&String> = listed.difference(&known).collect();
    if !missing.is_empty() || !unknown.is_empty() {
        return Err(format!(
            "{file}: the configuration key table under `{heading}` differs from KEYS in src/config.rs: \
             missing {missing:?}, not a key {unknown:?}"
        ));
    }
    Ok(())
}

/// Words that are integers on their own (not the `8` of `UTF8`).
fn integers(cell: &str) -> Vec<i32> {
    cell.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').filter_map(|w| w.parse().ok()).collect()
}

/// Status names in a cell: upper-case words, without the `TCSMS_STATUS_` prefix.
fn status_names(cell: &str) -> Vec<&str> {
    cell.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .map(|w| w.strip_prefix("TCSMS_STATUS_").unwrap_or(w))
        .filter(|w| w.len() > 1 && w.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'))
        .filter(|w| w.bytes().any(|b| b.is_ascii_uppercase()))
        .collect()
}

/// Checks a status table: every row's names have the header's values, and every status
/// the table must cover is there.
fn check_status_table(doc: &str, spec: (&str, &str, usize, usize, Covers), inputs: &Inputs) -> Result<(), String> {
    let (file, heading, name_col, value_col, covers) = spec;
    let mut seen = BTreeSet::new();
    for row in table_after(doc, file, heading)? {
        let (Some(names), Some(values)) = (row.get(name_col), row.get(value_col)) else {
            return Err(format!("{file}: a row of the status table under `{heading}` is short: {row:?}"));
        };
        let (names, values) = (status_names(names), integers(values));
        if names.is_empty() {
            continue; // a row about something else (the CLI's 255)
        }
        if names.len() != values.len() {
            return Err(format!("{file}: status row {row:?} has names {names:?} but values {values:?}"));
        }
        for (name, value) in names.into_iter().zip(values) {
            let status =
                inputs.statuses.iter().find(|s| s.name == name).ok_or_else(|| {
                    format!("{file}: `{name}` in the status table is not a status of include/tcsms.h")
                })?;
            if status.value != value {
                return Err(format!(
                    "{file}: status {name} is {value} in the table under `{heading}`, {} in include/tcsms.h",
                    status.value
                ));
            }
            seen.insert(name);
        }
    }
    let missing: Vec<&str> = inputs
        .statuses
        .iter()
        .map(|s| s.name.as_str())
        .filter(|name| !(matches!(covers, Covers::AllButOk) && *name == "OK"))
        .filter(|name| !seen.contains(name))
        .collect();
    if !missing.is_empty() {
        return Err(format!("{file}: the status table under `{heading}` lacks {missing:?}"));
    }
    Ok(())
}

/// docs/c.md says how many functions the header has ("Its N functions") and shows each.
fn check_c_functions(c_md: &str, inputs: &Inputs) -> Result<(), String> {
    let count = inputs.functions.len();
    let claim = format!("Its {count} functions");
    if !c_md.contains(&claim) {
        return Err(format!("docs/c.md: must say `{claim}` (the header's count)"));
    }
    let missing: Vec<&str> =
        inputs.functions.iter().map(|f| f.name.as_str()).filter(|name| !c_md.contains(&format!("{name}("))).collect();
    if !missing.is_empty() {
        return Err(format!("docs/c.md: functions of include/tcsms.h not shown: {missing:?}"));
    }
    Ok(())
}

/// Checks every table; returns a summary line.
pub fn check(root: &Path, inputs: &Inputs) -> Result<String, String> {
    let keys = config_keys(&read(root, "src/config.rs")?)?;
    for (file, heading) in KEY_TABLES {
        check_key_table(&read(root, file)?, file, heading, &keys)?;
    }
    for (file, forms) in KEY_WRAPPERS {
        let text = read(root, file)?;
        let missing: Vec<&String> =
            keys.iter().filter(|k| !forms.iter().any(|form| text.contains(&form.replace("{}", k)))).collect();
        if !missing.is_empty() {
            return Err(format!("{file}: configuration keys of src/config.rs not handled: {missing:?}"));
        }
    }
    for spec in STATUS_TABLES {
        check_status_table(&read(root, spec.0)?, spec, inputs)?;
    }
    check_c_functions(&read(root, "docs/c.md")?, inputs)?;
    let quickstart = read(root, QUICKSTART)?;
    if !read(root, "README.md")?.contains(&format!("```c\n{quickstart}```\n")) {
        return Err(format!("README.md: the C quick start must be {QUICKSTART} verbatim, in a ```c block"));
    }
    check_architecture(&read(root, "docs/architecture.md")?)?;
    Ok(format!(
        "{} key tables and {} status tables match src/config.rs and include/tcsms.h; docs/c.md lists the {} functions; \
         README's C quick start is {QUICKSTART}",
        KEY_TABLES.len(),
        STATUS_TABLES.len(),
        inputs.functions.len()
    ))
}

/// docs/architecture.md's "where each change goes" rows name every file this check covers.
fn check_architecture(doc: &str) -> Result<(), String> {
    let row = |start: &str| {
        doc.lines()
            .find(|l| l.starts_with(start))
            .ok_or_else(|| format!("docs/architecture.md: no row `{start}` in \"Where each kind of change goes\""))
    };
    let places = |start: &str, files: &mut dyn Iterator<Item = &str>| -> Result<(), String> {
        let line = row(start)?;
        let missing: Vec<&str> = files.filter(|f| !line.contains(f)).collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!("docs/architecture.md: the row `{start}` does not name {missing:?}"))
        }
    };
    places(
        "| A new config key",
        &mut KEY_TABLES.iter().map(|t| t.0).chain(KEY_WRAPPERS.iter().map(|w| w.0)).chain(["src/config.rs"]),
    )?;
    places("| A new status", &mut STATUS_TABLES.iter().map(|t| t.0).chain(["spec/client_errors.json"]))?;
    places("| A new C function", &mut ["docs/c.md", "check_exports.sh", "scripts/header.sh"].into_iter())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> Inputs {
        Inputs::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("..")).unwrap()
    }

    #[test]
    fn keys_come_from_the_const() {
        let keys = config_keys("x\npub const KEYS: [&str; 2] = [\n    \"a\",\n    \"b_c\",\n];\n").unwrap();
        assert_eq!(keys, ["a", "b_c"]);
        assert!(config_keys("nothing").is_err());
    }

    #[test]
    fn a_key_table_must_match_exactly() {
        let keys = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let doc = "# T\n\n## Configuration\n\ntext\n\n| Key | x |\n|---|---|\n| `a`, `b` | `b` is not read here |\n| `c` | y |\n\nafter\n| `z` | |\n";
        check_key_table(doc, "f", "## Configuration", &keys).unwrap();
        let short = doc.replace("| `c` | y |\n", "");
        assert!(check_key_table(&short, "f", "## Configuration", &keys).unwrap_err().contains("missing [\"c\"]"));
        let extra = doc.replace("| `c` |", "| `c`, `d` |");
        assert!(check_key_table(&extra, "f", "## Configuration", &keys).unwrap_err().contains("not a key [\"d\"]"));
        assert!(check_key_table(doc, "f", "## Nope", &keys).is_err());
    }

    #[test]
    fn a_status_table_must_have_the_headers_values() {
        let inputs = inputs();
        let mut doc = String::from("## S\n\n| v | name |\n|---|---|\n");
        for s in &inputs.statuses {
            doc.push_str(&format!("| {} | `TCSMS_STATUS_{}` |\n", s.value, s.name));
        }
        let spec = ("f", "## S", 1, 0, Covers::All);
        check_status_table(&doc, spec, &inputs).unwrap();
        let wrong = doc.replace("| 12 | `TCSMS_STATUS_PARTIAL` |", "| 13 | `TCSMS_STATUS_PARTIAL` |");
        assert!(check_status_table(&wrong, spec, &inputs).unwrap_err().contains("PARTIAL is 13"));
        let missing = doc.replace("| 12 | `TCSMS_STATUS_PARTIAL` |\n", "");
        assert!(check_status_table(&missing, spec, &inputs).unwrap_err().contains("lacks [\"PARTIAL\"]"));
        // Combined rows (docs/cli.md), values in the name cell (docs/c.md), UTF8 is no 8.
        let cli = "## S\n\n| exit | status |\n|---|---|\n| 1, 2 | NULL_ARGUMENT, INVALID_UTF8 |\n| 255 | |\n";
        let error = check_status_table(cli, ("f", "## S", 1, 0, Covers::AllButOk), &inputs).unwrap_err();
        assert!(error.contains("lacks") && !error.contains("NULL_ARGUMENT") && !error.contains("UTF8"), "{error}");
        assert_eq!(integers("`TCSMS_STATUS_INVALID_UTF8` (2)"), [2]);
        assert_eq!(status_names("`TCSMS_STATUS_INVALID_UTF8` (2)"), ["INVALID_UTF8"]);
    }

    #[test]
    fn the_repository_passes() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        check(&root, &inputs()).unwrap();
    }
}
