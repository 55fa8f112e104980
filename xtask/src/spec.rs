//! The inputs: spec/actions.json, spec/client_errors.json and include/tcsms.h.

use serde::Deserialize;
use std::path::Path;

/// spec/actions.json (the parts the generator reads).
#[derive(Debug, Deserialize)]
pub struct Actions {
    pub meta: Meta,
    pub actions: Vec<Action>,
    pub data_types: std::collections::BTreeMap<String, DataType>,
}

#[derive(Debug, Deserialize)]
pub struct Meta {
    pub service: String,
    pub api_version: String,
}

#[derive(Debug, Deserialize)]
pub struct Action {
    pub name: String,
    pub description: String,
    pub default_rate_limit_per_second: u32,
    pub request_struct: String,
    pub response_struct: String,
    pub request_fields: Vec<Field>,
    pub response_fields: Vec<Field>,
}

#[derive(Debug, Deserialize)]
pub struct DataType {
    pub usage: String,
    #[serde(default)]
    pub description: String,
    pub fields: Vec<Field>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Field {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub integer_kind: String,
    #[serde(default)]
    pub required: String,
    #[serde(default)]
    pub always_present: String,
    #[serde(default)]
    pub required_when_sent: String,
    #[serde(default)]
    pub always_present_in_output: String,
    #[serde(default)]
    pub description: String,
}

impl Field {
    /// A request field the caller must give.
    pub fn is_required(&self) -> bool {
        self.required == "yes"
    }

    /// The element type of an `Array of X`, or the type itself.
    pub fn element(&self) -> &str {
        self.kind.strip_prefix("Array of ").unwrap_or(&self.kind)
    }
}

impl DataType {
    /// Whether a field of this struct is always there (sent or returned).
    pub fn field_required(&self, f: &Field) -> bool {
        if self.usage == "in" {
            f.required_when_sent == "yes"
        } else {
            f.always_present_in_output == "yes"
        }
    }
}

/// spec/client_errors.json.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientErrors {
    /// Documentation for readers of the file; not used.
    #[allow(dead_code)]
    pub about: String,
    pub statuses: Vec<StatusInfo>,
    pub codes: Vec<CodeInfo>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusInfo {
    pub name: String,
    /// The failure kind reported with this status: `ErrorKind::K` (the core's) or
    /// `BoundaryKind::K` (the C boundary's own); empty for OK and PARTIAL.
    pub kind: String,
    pub description: String,
    pub default_code: String,
    /// The header's documentation of the `TCSMS_STATUS_*` constant.
    pub doc: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeInfo {
    pub code: String,
    pub status: String,
    pub source: String,
    pub meaning: String,
}

/// One row of client_errors.json's statuses, with its value (the row's place).
#[derive(Debug)]
pub struct Status {
    /// Without the prefix, e.g. `INVALID_UTF8`.
    pub name: String,
    pub value: i32,
    pub kind: String,
    pub description: String,
    pub default_code: String,
    pub doc: String,
}

/// One C prototype of the header.
#[derive(Debug, PartialEq)]
pub struct Function {
    pub name: String,
    pub ret: String,
    pub params: Vec<String>,
}

/// Everything the generator reads.
pub struct Inputs {
    pub actions: Actions,
    pub errors: ClientErrors,
    pub statuses: Vec<Status>,
    pub functions: Vec<Function>,
    /// `TCSMS_ABI_VERSION` of the header.
    pub abi_version: u32,
}

fn read(root: &Path, rel: &str) -> Result<String, String> {
    std::fs::read_to_string(root.join(rel)).map_err(|e| format!("{rel}: {e}"))
}

impl Inputs {
    pub fn load(root: &Path) -> Result<Inputs, String> {
        let actions: Actions =
            serde_json::from_str(&read(root, "spec/actions.json")?).map_err(|e| format!("spec/actions.json: {e}"))?;
        let errors: ClientErrors = serde_json::from_str(&read(root, "spec/client_errors.json")?)
            .map_err(|e| format!("spec/client_errors.json: {e}"))?;
        let header = read(root, "include/tcsms.h")?;
        let statuses = table_statuses(&errors);
        let functions = header_functions(&header)?;
        let abi_version = header_abi_version(&header)?;
        check_codes_table(&errors, &statuses)?;
        Ok(Inputs { actions, errors, statuses, functions, abi_version })
    }
}

fn header_abi_version(header: &str) -> Result<u32, String> {
    let line = header.lines().find_map(|l| l.strip_prefix("#define TCSMS_ABI_VERSION "));
    line.and_then(|v| v.trim().parse().ok()).ok_or_else(|| "include/tcsms.h: no TCSMS_ABI_VERSION".into())
}

/// `#define TCSMS_STATUS_NAME value` lines, in header order.
pub fn header_statuses(header: &str) -> Result<Vec<(String, i32)>, String> {
    let mut out = Vec::new();
    for line in header.lines() {
        let Some(rest) = line.strip_prefix("#define TCSMS_STATUS_") else { continue };
        let mut parts = rest.split_whitespace();
        let (Some(name), Some(value), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!("include/tcsms.h: cannot read `{line}`"));
        };
        let value = value.parse().map_err(|_| format!("include/tcsms.h: `{line}` has no integer value"))?;
        out.push((name.to_owned(), value));
    }
    if out.is_empty() {
        return Err("include/tcsms.h: no TCSMS_STATUS_* values".into());
    }
    Ok(out)
}

/// The `ClientError.*` codes named in the doc comment right above `#define TCSMS_STATUS_<name>`.
pub fn header_status_codes(header: &str, name: &str) -> Vec<String> {
    let define = format!("#define TCSMS_STATUS_{name} ");
    let Some(at) = header.find(&define) else { return Vec::new() };
    let comment = header[..at].rfind("/**").map_or("", |start| &header[start..at]);
    let mut codes: Vec<String> = comment
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
        .filter(|w| w.starts_with("ClientError.") && w.len() > "ClientError.".len())
        .map(|w| w.trim_end_matches('.').to_owned())
        .collect();
    codes.sort();
    codes.dedup();
    codes
}

/// The statuses of the table: each row's value is its place (dense from 0, append-only).
fn table_statuses(errors: &ClientErrors) -> Vec<Status> {
    let rows = errors.statuses.iter().zip(0..);
    rows.map(|(info, value)| Status {
        name: info.name.clone(),
        value,
        kind: info.kind.clone(),
        description: info.description.clone(),
        default_code: info.default_code.clone(),
        doc: info.doc.clone(),
    })
    .collect()
}

/// The header's `TCSMS_STATUS_*` values are the table's (the header is generated from
/// src/ffi/status.rs, which `gen` writes from the table: this catches a stale header).
pub fn check_header_statuses(header: &str, statuses: &[Status]) -> Result<(), String> {
    let header = header_statuses(header)?;
    let table: Vec<(String, i32)> = statuses.iter().map(|s| (s.name.clone(), s.value)).collect();
    if header != table {
        return Err(format!(
            "include/tcsms.h has the statuses {header:?}, spec/client_errors.json {table:?}; \
             run `cargo run -p xtask -- gen` and `scripts/header.sh --update`"
        ));
    }
    Ok(())
}

fn check_codes_table(errors: &ClientErrors, statuses: &[Status]) -> Result<(), String> {
    for c in &errors.codes {
        if !c.code.starts_with("ClientError.") {
            return Err(format!("spec/client_errors.json: `{}` is not a ClientError.* code", c.code));
        }
        if !statuses.iter().any(|s| s.name == c.status) {
            return Err(format!("spec/client_errors.json: `{}` has unknown status {}", c.code, c.status));
        }
        if errors.codes.iter().filter(|o| o.code == c.code).count() > 1 {
            return Err(format!("spec/client_errors.json: `{}` is listed twice", c.code));
        }
    }
    for s in statuses.iter().filter(|s| !s.default_code.is_empty()) {
        if !errors.codes.iter().any(|c| c.code == s.default_code && c.status == s.name) {
            return Err(format!(
                "spec/client_errors.json: default code {} of {} is not in codes",
                s.default_code, s.name
            ));
        }
    }
    Ok(())
}

/// The prototypes between `extern "C" {` and its closing brace, comments removed.
pub fn header_functions(header: &str) -> Result<Vec<Function>, String> {
    let start = header.find("extern \"C\" {").ok_or("include/tcsms.h: no extern \"C\" block")?;
    let end = header[start..].find("#ifdef __cplusplus\n}").ok_or("include/tcsms.h: extern \"C\" block not closed")?;
    let body = strip_comments(&header[start + "extern \"C\" {".len()..start + end]);
    let body = body.lines().filter(|l| !l.trim_start().starts_with('#')).collect::<Vec<_>>().join(" ");
    let functions: Result<Vec<_>, _> =
        body.split(';').map(str::trim).filter(|s| !s.is_empty()).map(parse_prototype).collect();
    let functions = functions?;
    if functions.is_empty() {
        return Err("include/tcsms.h: no functions".into());
    }
    Ok(functions)
}

fn strip_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("/*") {
        out.push_str(&rest[..i]);
        rest = rest[i..].find("*/").map_or("", |j| &rest[i + j + 2..]);
    }
    out.push_str(rest);
    out.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

fn parse_prototype(proto: &str) -> Result<Function, String> {
    let bad = || format!("include/tcsms.h: cannot read the prototype `{proto}`");
    let open = proto.find('(').ok_or_else(bad)?;
    let close = proto.rfind(')').ok_or_else(bad)?;
    let head = proto[..open].trim();
    let split = head.rfind([' ', '*']).ok_or_else(bad)?;
    let name = head[split + 1..].to_owned();
    let ret = squash(&head[..=split]);
    let params = squash(&proto[open + 1..close]);
    let params = if params == "void" || params.is_empty() {
        Vec::new()
    } else {
        params.split(',').map(|p| param_type(p.trim())).collect::<Result<_, _>>()?
    };
    Ok(Function { name, ret, params })
}

/// The type of `const char *name`: `const char *`.
fn param_type(param: &str) -> Result<String, String> {
    let split = param.rfind([' ', '*']).ok_or(format!("parameter `{param}` has no name"))?;
    Ok(squash(&param[..=split]))
}

/// Normalizes spacing: `const char  **` -> `const char **`.
fn squash(text: &str) -> String {
    let spaced = text.replace('*', " * ");
    let words: Vec<&str> = spaced.split_whitespace().collect();
    let mut out = String::new();
    for w in words {
        if w == "*" {
            if !out.ends_with('*') {
                out.push(' ');
            }
            out.push('*');
        } else {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(w);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prototypes_are_read_with_their_types() {
        let f = parse_prototype(
            "tcsms_status tcsms_client_new(const char *config_json,\n tcsms_client **out, char **out_json)",
        )
        .unwrap();
        assert_eq!(f.name, "tcsms_client_new");
        assert_eq!(f.ret, "tcsms_status");
        assert_eq!(f.params, ["const char *", "tcsms_client **", "char **"]);
        let v = parse_prototype("const char *tcsms_version(void)").unwrap();
        assert_eq!((v.ret.as_str(), v.params.len()), ("const char *", 0));
    }

    #[test]
    fn the_real_header_is_read() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let inputs = Inputs::load(&root).unwrap();
        assert_eq!(inputs.statuses[0].name, "OK");
        assert!(inputs.statuses.iter().any(|s| s.name == "PANIC"));
        assert!(inputs.functions.iter().any(|f| f.name == "tcsms_call_with_timeout" && f.params.len() == 5));
        assert_eq!(inputs.actions.actions.len(), 19);
    }
}
