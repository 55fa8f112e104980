"""Build step for the tcsms wheel: compile libtcsms with cargo and bundle it.

``pip wheel ./bindings/python`` (or ``pip install``) runs ``cargo build --release --lib``
on the tcsms crate and copies the resulting shared library, stripped, into the ``tcsms``
package. The wheel is tagged ``py3-none-manylinux_2_NN_<arch>``: the library is loaded
with ctypes, so any CPython 3 works, and NN is the level ``auditwheel show`` gives the
library, computed here the way auditwheel does (its manylinux policy table against the
library's needed libraries and symbol versions; ``auditwheel`` is a build requirement).

The crate is found in this order: ``$TCSMS_CARGO_MANIFEST``; ``rust/Cargo.toml`` beside
this file (an sdist: ``python -m build --sdist`` embeds the crate as ``cargo package``
packs it, so the sdist builds without the repository, wherever cargo exists); the
repository around this file. The version is ``TCSMS_VERSION`` of the crate's generated
header ``include/tcsms.h``, i.e. the crate version in Cargo.toml.

Environment knobs:
  TCSMS_CARGO_MANIFEST   path of the crate's Cargo.toml (when building outside the repo)
  TCSMS_PREBUILT_LIBRARY bundle this already-built libtcsms instead of running cargo
  CARGO                  the cargo executable (default: cargo on PATH, then ~/.cargo/bin)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Dict, Optional, Set

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py as _build_py
from setuptools.command.sdist import sdist as _sdist

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


#: Where an sdist carries the crate (see ``sdist`` below).
EMBEDDED_CRATE = HERE / "rust"


def _find_manifest() -> Path:
    env = os.environ.get("TCSMS_CARGO_MANIFEST")
    if env:
        return Path(env).resolve()
    if (EMBEDDED_CRATE / "Cargo.toml").is_file():
        return EMBEDDED_CRATE / "Cargo.toml"
    for directory in (HERE.parent, *HERE.parent.parents):
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


def crate_version() -> str:
    """TCSMS_VERSION of the crate's header (generated from CARGO_PKG_VERSION)."""
    header = _find_manifest().parent / "include" / "tcsms.h"
    try:
        text = header.read_text(encoding="utf-8")
    except OSError as e:
        raise SystemExit(f"tcsms: cannot read {header}: {e}") from e
    m = re.search(r'^#define TCSMS_VERSION "([^"]+)"$', text, re.MULTILINE)
    if not m:
        raise SystemExit(f"tcsms: {header} has no TCSMS_VERSION")
    return m.group(1)


def manylinux_platform(library: Path, arch: str) -> str:
    """The manylinux tag auditwheel gives a wheel whose only binary is ``library``.

    Mirrors ``auditwheel show``: the most compatible policy of auditwheel's manylinux
    table whose allowed libraries cover the library's DT_NEEDED entries (the dynamic
    loader aside) and whose symbol versions cover every version it needs.
    """
    import auditwheel
    from elftools.elf.dynamic import DynamicSection
    from elftools.elf.elffile import ELFFile
    from elftools.elf.gnuversions import GNUVerNeedSection

    needed: Set[str] = set()
    required: Dict[str, Set[str]] = {}
    with open(library, "rb") as f:
        for section in ELFFile(f).iter_sections():
            if isinstance(section, DynamicSection):
                needed.update(t.needed for t in section.iter_tags() if t.entry.d_tag == "DT_NEEDED")
            elif isinstance(section, GNUVerNeedSection):
                for _verneed, auxiliaries in section.iter_versions():
                    for aux in auxiliaries:
                        required.setdefault(aux.name.partition("_")[0], set()).add(aux.name)
    needed = {n for n in needed if "ld-linux" not in n and n not in ("ld64.so.1", "ld64.so.2")}
    table = Path(auditwheel.__file__).parent / "policy" / "manylinux-policy.json"
    policies = json.loads(table.read_text(encoding="utf-8"))
    for policy in sorted(policies, key=lambda p: p["priority"], reverse=True):
        versions = policy["symbol_versions"].get(arch)
        if policy["priority"] == 0 or versions is None:
            continue
        if not needed <= set(policy["lib_whitelist"]):
            continue
        allowed = {name: {f"{name}_{v}" for v in vs} for name, vs in versions.items()}
        if all(req <= allowed[name] for name, req in required.items() if name in allowed):
            return f"{policy['name']}_{arch}"
    raise SystemExit(f"tcsms: {library} fits no manylinux policy (needs {sorted(needed)})")


#: The library bundled by build_py, which bdist_wheel tags the wheel for.
_bundled: Optional[Path] = None


def _strip(path: Path) -> None:
    strip = shutil.which("strip")
    if strip and sys.platform.startswith("linux"):
        subprocess.run([strip, "--strip-unneeded", str(path)], check=True)


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
        _strip(dest)
        global _bundled
        _bundled = dest
        print(f"tcsms: bundled {library} as {dest}", file=sys.stderr, flush=True)


class BinaryDistribution(Distribution):
    """The package carries a native library: install it to platlib (the wheel's root)."""

    def has_ext_modules(self) -> bool:
        return True


class bdist_wheel(_bdist_wheel):
    """A platform wheel (the package carries a native library) for any Python 3."""

    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self):  # type: ignore[no-untyped-def]
        _python, _abi, plat = super().get_tag()
        if plat.startswith("linux_") and _bundled is not None:
            plat = manylinux_platform(_bundled, plat[len("linux_") :])
        return "py3", "none", plat


class sdist(_sdist):
    """Embed the crate, as ``cargo package`` packs it, under ``rust/``."""

    def make_release_tree(self, base_dir, files):  # type: ignore[no-untyped-def]
        super().make_release_tree(base_dir, files)
        dest = Path(base_dir) / "rust"
        if (EMBEDDED_CRATE / "Cargo.toml").is_file():  # an sdist made from an sdist
            shutil.copytree(EMBEDDED_CRATE, dest, ignore=shutil.ignore_patterns("target"))
            return
        manifest = _find_manifest()
        cmd = [_find_cargo(), "package", "--manifest-path", str(manifest), "-p", "tcsms"]
        cmd += ["--no-verify", "--allow-dirty", "--locked", "--quiet"]
        print("tcsms: running " + " ".join(cmd), file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True)
        meta = subprocess.run(
            [_find_cargo(), "metadata", "--format-version", "1", "--no-deps", "--manifest-path", str(manifest)],
            stdout=subprocess.PIPE,
            check=True,
        )
        target = Path(json.loads(meta.stdout)["target_directory"])
        crate = target / "package" / f"tcsms-{crate_version()}.crate"
        with tarfile.open(crate) as tar:
            for member in tar.getmembers():
                parts = Path(member.name).parts
                if len(parts) < 2 or ".." in parts or not (member.isfile() or member.isdir()):
                    continue
                member.name = str(Path(*parts[1:]))
                # filter="data" where tarfile has it (3.12+, and security backports)
                tar.extract(member, dest, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        print(f"tcsms: embedded {crate} as {dest}", file=sys.stderr, flush=True)


setup(
    version=crate_version(),
    distclass=BinaryDistribution,
    cmdclass={"build_py": build_py, "bdist_wheel": bdist_wheel, "sdist": sdist},
)
