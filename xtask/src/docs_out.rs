//! The status table of docs/contracts.md, between markers, from the header and
//! spec/client_errors.json.

use crate::spec::Inputs;
use std::fmt::Write;

const BEGIN: &str = "<!-- BEGIN GENERATED status table: cargo run -p xtask -- gen -->\n";
const END: &str = "<!-- END GENERATED status table -->\n";

fn codes(inputs: &Inputs, status: &str, source: &str) -> String {
    let rows = inputs.errors.codes.iter().filter(|c| c.status == status && c.source == source);
    rows.map(|c| format!("`{}`", c.code)).collect::<Vec<_>>().join(", ")
}

fn table(inputs: &Inputs) -> String {
    let mut out = String::from(
        "| value | name | `tcsms_status_str` | `Response.Error.Code` | also from the bindings |\n|---|---|---|---|---|\n",
    );
    for s in &inputs.statuses {
        let library = match s.name.as_str() {
            "OK" => "(none)".to_owned(),
            "API_ERROR" => "the service's `Error.Code`".to_owned(),
            name => codes(inputs, name, "library"),
        };
        let bindings = codes(inputs, &s.name, "bindings");
        let _ =
            writeln!(out, "| {} | `TCSMS_STATUS_{}` | {} | {library} | {bindings} |", s.value, s.name, s.description);
    }
    out
}

/// `current` with the text between the markers replaced by the table.
pub fn contracts_md(inputs: &Inputs, current: &str) -> Result<String, String> {
    let missing = || format!("docs/contracts.md: the markers `{}` and `{}` are missing", BEGIN.trim(), END.trim());
    let start = current.find(BEGIN).ok_or_else(missing)? + BEGIN.len();
    let end = current[start..].find(END).ok_or_else(missing)? + start;
    Ok(format!("{}{}{}", &current[..start], table(inputs), &current[end..]))
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_outside_the_markers_is_kept() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let inputs = crate::spec::Inputs::load(&root).unwrap();
        let doc = format!("before\n{}old\n{}after\n", super::BEGIN, super::END);
        let new = super::contracts_md(&inputs, &doc).unwrap();
        assert!(new.starts_with("before\n<!--") && new.ends_with("-->\nafter\n") && !new.contains("old"));
        assert!(new.contains("| 4 | `TCSMS_STATUS_INVALID_ARGUMENT` | invalid argument |"));
        assert!(super::contracts_md(&inputs, "no markers").is_err());
    }
}
