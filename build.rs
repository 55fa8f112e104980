//! Generates the C header from `src/ffi/` with cbindgen into `$OUT_DIR/tcsms.h`: cbindgen
//! starts at `src/ffi/mod.rs` and follows its `mod` items in order, so the header reads
//! topic by topic.
//!
//! The committed `include/tcsms.h` is never written by a build: `scripts/header.sh --check`
//! compares the two and `scripts/header.sh --update` copies the generated one over. A build
//! whose header differs from the committed one prints a warning naming that command.
//!
//! The header also carries `TCSMS_VERSION`, the crate version (CARGO_PKG_VERSION).

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=include/tcsms.h");

    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml is valid");
    // The release version, from the one version in Cargo.toml ([workspace.package]): packaging
    // (scripts/install.sh, the Python wheel, the Go binding) reads it from the header.
    let version = std::env::var("CARGO_PKG_VERSION").expect("cargo sets CARGO_PKG_VERSION");
    config.after_includes = Some(format!(
        "\n/**\n * The tcsms release this header belongs to (the crate version in Cargo.toml).\n */\n\
         #define TCSMS_VERSION \"{version}\""
    ));
    let bindings =
        match cbindgen::Builder::new().with_src(crate_dir.join("src/ffi/mod.rs")).with_config(config).generate() {
            Ok(b) => b,
            Err(e) => {
                // Let rustc report the real error in the source.
                println!("cargo:warning=cbindgen could not generate include/tcsms.h: {e}");
                return;
            }
        };
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out_dir.join("tcsms.h"), &generated).expect("OUT_DIR is writable");

    let committed = std::fs::read(crate_dir.join("include").join("tcsms.h")).unwrap_or_default();
    if committed != generated {
        // The source tree is never written: `scripts/header.sh --update` copies the generated
        // header into include/, and `scripts/header.sh --check` (the header suite) fails on a
        // difference, whatever was built before.
        println!("cargo:warning=include/tcsms.h is stale: run scripts/header.sh --update and commit it");
    }
}
