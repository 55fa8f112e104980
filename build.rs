//! Generates `include/tcsms.h` from `src/ffi/mod.rs` with cbindgen.
//!
//! The header is committed. A build rewrites it only when its content changes, so a
//! build of an up-to-date tree leaves it untouched. With `TCSMS_CHECK_HEADER=1` (CI) a
//! stale header fails the build instead of being rewritten.
//!
//! The header also carries `TCSMS_VERSION`, the crate version (CARGO_PKG_VERSION).

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=TCSMS_CHECK_HEADER");

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

    let committed_path = crate_dir.join("include").join("tcsms.h");
    let committed = std::fs::read(&committed_path).unwrap_or_default();
    if committed == generated {
        return;
    }
    if std::env::var_os("TCSMS_CHECK_HEADER").is_some_and(|v| v == "1") {
        panic!("include/tcsms.h is stale: run `cargo build` and commit include/tcsms.h");
    }
    std::fs::create_dir_all(committed_path.parent().expect("has a parent")).expect("include/ can be created");
    std::fs::write(&committed_path, &generated).expect("include/tcsms.h is writable");
}
