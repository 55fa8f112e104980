"""Build step for the tcsms wheel: compile libtcsms with cargo and bundle it.

``pip install ./bindings/python`` runs ``cargo build --release --lib`` on the crate at
the repository root (found by walking up from this file) and copies the resulting
shared library into the ``tcsms`` package, producing a platform wheel
(``py3-none-<platform>``: the library is loaded with ctypes, so any CPython 3 works).

Environment knobs:
  TCSMS_CARGO_MANIFEST   path of the crate's Cargo.toml (when building outside the repo)
  TCSMS_PREBUILT_LIBRARY bundle this already-built libtcsms instead of running cargo
  CARGO                  the cargo executable (default: cargo on PATH, then ~/.cargo/bin)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py as _build_py

try:
    from setuptools.command.bdist_wheel import bdist_wheel as _bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel as _bdist_wheel

HERE = Path(__file__).resolve().parent

if sys.platform == "darwin":
    LIB_NAME = "libtcsms.dylib"
elif sys.platform == "win32":
    LIB_NAME = "tcsms.dll"
else:
    LIB_NAME = "libtcsms.so"


def _find_manifest() -> Path:
    env = os.environ.get("TCSMS_CARGO_MANIFEST")
    if env:
        return Path(env).resolve()
    for directory in (HERE, *HERE.parents):
        manifest = directory / "Cargo.toml"
        if manifest.is_file() and 'name = "tcsms"' in manifest.read_text(encoding="utf-8"):
            return manifest
    raise SystemExit(
        "tcsms: cannot find the tcsms crate (Cargo.toml) above "
        f"{HERE}; set TCSMS_CARGO_MANIFEST or TCSMS_PREBUILT_LIBRARY"
    )


def _find_cargo() -> str:
    for candidate in (
        os.environ.get("CARGO"),
        shutil.which("cargo"),
        str(Path.home() / ".cargo" / "bin" / "cargo"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    raise SystemExit(
        "tcsms: cargo not found; install Rust (https://rustup.rs) or set "
        "TCSMS_PREBUILT_LIBRARY to an already-built libtcsms"
    )


def build_library() -> Path:
    """Return the path of a freshly built (or prebuilt) libtcsms."""
    prebuilt = os.environ.get("TCSMS_PREBUILT_LIBRARY")
    if prebuilt:
        path = Path(prebuilt)
        if not path.is_file():
            raise SystemExit(f"tcsms: TCSMS_PREBUILT_LIBRARY={prebuilt} does not exist")
        return path
    manifest = _find_manifest()
    cmd = [
        _find_cargo(),
        "build",
        "--release",
        "--lib",
        "--manifest-path",
        str(manifest),
        "--message-format=json-render-diagnostics",
    ]
    print("tcsms: running " + " ".join(cmd), file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"tcsms: cargo build failed with exit code {proc.returncode}")
    found = None
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if msg.get("reason") != "compiler-artifact":
            continue
        target = msg.get("target", {})
        if "cdylib" not in target.get("kind", []) and "cdylib" not in target.get("crate_types", []):
            continue
        for filename in msg.get("filenames", []):
            if Path(filename).name == LIB_NAME:
                found = Path(filename)
    if found is None or not found.is_file():
        raise SystemExit(f"tcsms: cargo build did not produce {LIB_NAME}")
    return found


class build_py(_build_py):
    """Also build libtcsms and place it inside the tcsms package."""

    def run(self) -> None:
        super().run()
        library = build_library()
        if getattr(self, "editable_mode", False):
            dest_dir = HERE / "src" / "tcsms"
        else:
            dest_dir = Path(self.build_lib) / "tcsms"
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = dest_dir / LIB_NAME
        shutil.copyfile(library, dest)
        os.chmod(dest, 0o755)
        print(f"tcsms: bundled {library} as {dest}", file=sys.stderr, flush=True)


class bdist_wheel(_bdist_wheel):
    """A platform wheel (the package carries a native library) for any Python 3."""

    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self):  # type: ignore[no-untyped-def]
        _python, _abi, plat = super().get_tag()
        return "py3", "none", plat


setup(cmdclass={"build_py": build_py, "bdist_wheel": bdist_wheel})
