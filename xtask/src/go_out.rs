//! bindings/go: `models_gen.go` (request/response structs and one method per action) and
//! `status_gen.go` (status constants, ClientError codes). Output goes through `gofmt`.
//!
//! Rules of the models:
//! - Request fields marked required are plain values (always sent, so 0 and "" reach the
//!   service); optional scalars are pointers with omitempty and optional arrays are slices
//!   with omitzero (nil = not sent, an empty non-nil slice is sent as []).
//! - Response fields and output-struct fields the service always returns are plain values;
//!   the others are pointers.
//! - Integers are uint64 or int64 following integer_kind.
//! - ReportConversionRequest.ConversionTime is a plain uint64 where 0 means "not sent", so
//!   the documented example `ConversionTime: 1658310430` compiles.
//! - ReportConversion's method is written by hand (it uses tcsms_report_conversion).

use crate::spec::{Action, DataType, Field, Inputs};
use crate::text::{go_code, go_status, quote, wrap};
use std::fmt::Write;
use std::io::Write as _;
use std::process::{Command, Stdio};

const HAND_WRITTEN: [&str; 1] = ["ReportConversion"];
const VALUE_OPTIONAL: [&str; 1] = ["ReportConversionRequest.ConversionTime"];

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Always sent / always present.
    Value,
    /// Pointer + omitempty, or slice + omitzero.
    Optional,
    /// Value + omitempty (zero = not sent).
    ValueOptional,
}

/// Runs `gofmt` on generated source.
fn gofmt(source: &str, file: &str) -> Result<String, String> {
    let mut child = Command::new("gofmt")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{file}: cannot run gofmt (install Go): {e}"))?;
    child.stdin.take().map(|mut s| s.write_all(source.as_bytes())).transpose().map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("{file}: gofmt failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    String::from_utf8(out.stdout).map_err(|e| e.to_string())
}

fn go_type(f: &Field) -> Result<String, String> {
    if let Some(inner) = f.kind.strip_prefix("Array of ") {
        let element = Field {
            name: f.name.clone(),
            kind: inner.to_owned(),
            integer_kind: f.integer_kind.clone(),
            ..Field::default()
        };
        return Ok(format!("[]{}", go_type(&element)?));
    }
    Ok(match (f.kind.as_str(), f.integer_kind.as_str()) {
        ("String", _) => "string".into(),
        ("Boolean", _) => "bool".into(),
        ("Float", _) => "float64".into(),
        ("Integer", "uint64") => "uint64".into(),
        ("Integer", "int64") => "int64".into(),
        ("Integer", other) => return Err(format!("field {}: unknown integer_kind {other:?}", f.name)),
        (t, _) if t.is_empty() || t.contains([' ', '<', '>']) => {
            return Err(format!("field {}: unsupported type {t:?}", f.name))
        }
        (t, _) => t.into(),
    })
}

fn comment(out: &mut String, indent: &str, text: &str, width: usize) {
    for line in wrap(text, width) {
        let _ = writeln!(out, "{indent}// {line}");
    }
}

fn field(out: &mut String, owner: &str, f: &Field, mode: Mode) -> Result<(), String> {
    let mut ty = go_type(f).map_err(|e| format!("{owner}: {e}"))?;
    comment(out, "\t", f.description.trim(), 74);
    let mut tag = f.name.clone();
    match mode {
        Mode::Value => {}
        Mode::Optional if ty.starts_with("[]") => tag.push_str(",omitzero"),
        Mode::Optional => {
            ty.insert(0, '*');
            tag.push_str(",omitempty");
        }
        Mode::ValueOptional => {
            out.push_str("\t// Zero means the field is not sent.\n");
            tag.push_str(",omitempty");
        }
    }
    let _ = writeln!(out, "\t{} {ty} `json:{}`", f.name, quote(&tag));
    Ok(())
}

fn request(out: &mut String, a: &Action) -> Result<(), String> {
    let _ = writeln!(
        out,
        "// {} is the request of {}.\n// Optional fields left nil are not sent.",
        a.request_struct, a.name
    );
    let _ = writeln!(out, "type {} struct {{", a.request_struct);
    for f in &a.request_fields {
        let mode = if f.is_required() {
            Mode::Value
        } else if VALUE_OPTIONAL.contains(&format!("{}.{}", a.request_struct, f.name).as_str()) {
            Mode::ValueOptional
        } else {
            Mode::Optional
        };
        field(out, &a.request_struct, f, mode)?;
    }
    out.push_str("}\n\n");
    Ok(())
}

fn response(out: &mut String, a: &Action) -> Result<(), String> {
    let _ = writeln!(out, "// {} is the response of {} (the object inside \"Response\").", a.response_struct, a.name);
    let _ = writeln!(out, "type {} struct {{", a.response_struct);
    for f in &a.response_fields {
        field(out, &a.response_struct, f, if f.always_present == "yes" { Mode::Value } else { Mode::Optional })?;
    }
    out.push_str("}\n\n");
    Ok(())
}

fn method(out: &mut String, a: &Action) {
    comment(out, "", &format!("{} calls the {} action: {}", a.name, a.name, a.description), 76);
    let (name, req, resp) = (&a.name, &a.request_struct, &a.response_struct);
    let _ = writeln!(out, "func (c *Client) {name}(ctx context.Context, req *{req}) (*{resp}, error) {{");
    let _ = writeln!(out, "\tvar resp {resp}");
    let _ = writeln!(out, "\tif err := c.call(ctx, {}, requestOrEmpty(req), &resp); err != nil {{", quote(name));
    out.push_str("\t\treturn nil, err\n\t}\n\treturn &resp, nil\n}\n\n");
}

fn data_type(out: &mut String, name: &str, dt: &DataType) -> Result<(), String> {
    let usage = match dt.usage.as_str() {
        "in" => "request data",
        "out" => "response data",
        _ => "request and response data",
    };
    let desc = if dt.description.trim().is_empty() { "is a data type of the API." } else { dt.description.trim() };
    comment(out, "", &format!("{name} ({usage}): {desc}"), 76);
    let _ = writeln!(out, "type {name} struct {{");
    for f in &dt.fields {
        let optional =
            if dt.usage == "in" { f.required_when_sent != "yes" } else { f.always_present_in_output != "yes" };
        field(out, name, f, if optional { Mode::Optional } else { Mode::Value })?;
    }
    out.push_str("}\n\n");
    Ok(())
}

pub fn models_gen(inputs: &Inputs) -> Result<String, String> {
    let spec = &inputs.actions;
    let mut out = String::from(
        "// Code generated by `cargo run -p xtask -- gen` from spec/actions.json; DO NOT EDIT.\n\npackage tcsms\n\n",
    );
    if spec.actions.len() > HAND_WRITTEN.len() {
        out.push_str("import \"context\"\n\n");
    }
    let _ = writeln!(out, "// APIVersion is the {} API version the models follow.", spec.meta.service);
    let _ = writeln!(out, "const APIVersion = {}\n", quote(&spec.meta.api_version));
    out.push_str("// Actions lists every action of the API, in spec order.\nvar Actions = []string{\n");
    for a in &spec.actions {
        let _ = writeln!(out, "\t{},", quote(&a.name));
    }
    out.push_str("}\n\n");
    for a in &spec.actions {
        request(&mut out, a)?;
        response(&mut out, a)?;
        if !HAND_WRITTEN.contains(&a.name.as_str()) {
            method(&mut out, a);
        }
    }
    for (name, dt) in &spec.data_types {
        data_type(&mut out, name, dt)?;
    }
    gofmt(&out, "bindings/go/models_gen.go")
}

pub fn status_gen(inputs: &Inputs) -> Result<String, String> {
    let mut out = String::from(
        "// Code generated by `cargo run -p xtask -- gen` from include/tcsms.h and spec/client_errors.json; DO NOT EDIT.\n\n\
         package tcsms\n\n",
    );
    let _ = writeln!(
        out,
        "// ABIVersionHeader is the C ABI version this package is written for.\nconst ABIVersionHeader = {}\n",
        inputs.abi_version
    );
    out.push_str("// Status values, equal to TCSMS_STATUS_* in include/tcsms.h.\nconst (\n");
    for s in &inputs.statuses {
        let _ = writeln!(out, "\tStatus{} Status = {} // {}", go_status(&s.name), s.value, s.description);
    }
    out.push_str(")\n\nvar statusNames = [...]string{\n");
    for s in &inputs.statuses {
        let _ = writeln!(out, "\tStatus{}: {},", go_status(&s.name), quote(&s.name));
    }
    out.push_str(
        "}\n\n// statusDescriptions are tcsms_status_str of every status.\nvar statusDescriptions = [...]string{\n",
    );
    for s in &inputs.statuses {
        let _ = writeln!(out, "\tStatus{}: {},", go_status(&s.name), quote(&s.description));
    }
    out.push_str("}\n\n// defaultCodes are the codes of failures whose error envelope carries none.\nvar defaultCodes = [...]string{\n");
    for s in inputs.statuses.iter().filter(|s| !s.default_code.is_empty()) {
        let _ = writeln!(out, "\tStatus{}: {},", go_status(&s.name), quote(&s.default_code));
    }
    out.push_str("}\n\n// Local error codes (Error.Code), from spec/client_errors.json.\nconst (\n");
    for c in &inputs.errors.codes {
        comment(&mut out, "\t", &format!("Code{} ({}): {}", go_code(&c.code), c.status, c.meaning), 74);
        let _ = writeln!(out, "\tCode{} = {}", go_code(&c.code), quote(&c.code));
    }
    out.push_str(")\n\n// clientErrorStatus is the status of every local error code.\nvar clientErrorStatus = map[string]Status{\n");
    for c in &inputs.errors.codes {
        let _ = writeln!(out, "\tCode{}: Status{},", go_code(&c.code), go_status(&c.status));
    }
    out.push_str("}\n");
    gofmt(&out, "bindings/go/status_gen.go")
}
