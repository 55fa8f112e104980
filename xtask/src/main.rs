//! The one generator of tcsms: every action table, status table and ClientError table of
//! every language comes from spec/actions.json, spec/client_errors.json and
//! include/tcsms.h.
//!
//!     cargo run -p xtask -- gen     # write the generated files
//!     cargo run -p xtask -- check   # regenerate in memory; fail naming any stale file,
//!                                   # and any ClientError code of src/ missing from the table

mod codes;
mod doc_tables;
mod docs_out;
mod go_out;
mod python_out;
mod rust_out;
mod spec;
mod text;

use spec::Inputs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Every generated file, relative to the repository root, with its content.
fn outputs(root: &Path, inputs: &Inputs) -> Result<Vec<(&'static str, String)>, String> {
    let contracts =
        std::fs::read_to_string(root.join("docs/contracts.md")).map_err(|e| format!("docs/contracts.md: {e}"))?;
    Ok(vec![
        ("docs/contracts.md", docs_out::contracts_md(inputs, &contracts)?),
        ("src/api_gen.rs", rust_out::api_gen(inputs)),
        ("src/status_gen.rs", rust_out::status_gen(inputs)),
        ("src/ffi/status.rs", rust_out::ffi_status(inputs)),
        ("bindings/python/src/tcsms/_actions.py", python_out::actions_py(inputs)),
        ("bindings/python/src/tcsms/_status.py", python_out::status_py(inputs)),
        ("bindings/python/src/tcsms/_native.py", python_out::native_py(inputs)?),
        ("bindings/go/models_gen.go", go_out::models_gen(inputs)?),
        ("bindings/go/status_gen.go", go_out::status_gen(inputs)?),
    ])
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn gen(root: &Path, files: &[(&str, String)]) -> Result<(), String> {
    for (rel, text) in files {
        let old = std::fs::read_to_string(root.join(rel)).unwrap_or_default();
        if old != *text {
            std::fs::write(root.join(rel), text).map_err(|e| format!("{rel}: {e}"))?;
            println!("wrote {rel}");
        }
    }
    Ok(())
}

fn check(root: &Path, files: &[(&str, String)], inputs: &Inputs) -> Result<(), String> {
    let checked = codes::check_library_codes(root, &inputs.errors)?;
    let header = std::fs::read_to_string(root.join("include/tcsms.h")).map_err(|e| format!("include/tcsms.h: {e}"))?;
    spec::check_header_statuses(&header, &inputs.statuses)?;
    codes::check_header_docs(&header, &inputs.errors)?;
    let stale: Vec<&str> = files
        .iter()
        .filter(|(rel, text)| std::fs::read_to_string(root.join(rel)).ok().as_ref() != Some(text))
        .map(|(rel, _)| *rel)
        .collect();
    if !stale.is_empty() {
        return Err(format!("stale generated files (run `cargo run -p xtask -- gen`): {}", stale.join(", ")));
    }
    println!("{} generated files are current; the {checked} ClientError codes src/ emits and the header documents are in the table", files.len());
    println!("{}", doc_tables::check(root, inputs)?);
    Ok(())
}

fn run(command: &str) -> Result<(), String> {
    let root = repo_root();
    let inputs = Inputs::load(&root)?;
    let files = outputs(&root, &inputs)?;
    match command {
        "gen" => gen(&root, &files),
        "check" => check(&root, &files, &inputs),
        other => Err(format!("unknown command `{other}`; use `gen` or `check`")),
    }
}

fn main() -> ExitCode {
    let command = std::env::args().nth(1).unwrap_or_default();
    match run(&command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask {command}: {e}");
            ExitCode::FAILURE
        }
    }
}
