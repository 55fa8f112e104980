"""Build step for the tcsms wheel: compile libtcsms with cargo and bundle it.

``pip wheel ./bindings/python`` (or ``pip install``) builds the tcsms crate's library and
copies it, stripped, into the ``tcsms`` package. On Linux with glibc the build is portable:
``cargo zigbuild --release --lib --target <host>.2.17`` links against glibc 2.17 (RHEL/CentOS
7 and newer), with zig and cargo-zigbuild from PyPI, pinned in pyproject.toml
(``[tool.tcsms] portable-build-tools``) and installed on first use into
``~/.cache/tcsms/tools/<pins>``, the directory scripts/install.sh uses: both run the same
cargo command with the same flags, so one build serves both. ``TCSMS_NATIVE=1`` builds
with the host toolchain instead (``cargo build --release --lib``: a wheel for systems with
this glibc or newer); on other systems that is the only build.

The wheel is tagged ``py3-none-manylinux_2_NN_<arch>`` (with its legacy alias, e.g.
``manylinux2014``, beside it): the library is loaded with ctypes, so any CPython 3 works,
and NN is the level ``auditwheel show`` gives the library, computed here the way auditwheel
does (its manylinux policy table against the library's needed libraries and symbol
versions; ``auditwheel`` is a build requirement).

The crate is found in this order: ``$TCSMS_CARGO_MANIFEST``; ``rust/Cargo.toml`` beside
this file (an sdist: ``python -m build --sdist`` embeds the crate as ``cargo package``
packs it, so the sdist builds without the repository, wherever cargo exists); the
repository around this file. The version is ``TCSMS_VERSION`` of the crate's generated
header ``include/tcsms.h``, i.e. the crate version in Cargo.toml.

cargo's progress goes to stderr, which pip shows with ``-v``; without it pip hides the
build's output, so a status line also goes to the terminal (``/dev/tty``) when there is one.

Environment knobs:
  TCSMS_CARGO_MANIFEST   path of the crate's Cargo.toml (when building outside the repo)
  TCSMS_PREBUILT_LIBRARY bundle this already-built libtcsms instead of running cargo
  TCSMS_NATIVE           1: build with the host toolchain, not for glibc 2.17
  TCSMS_TOOLS_DIR        where the portable build's tools live (default ~/.cache/tcsms/tools)
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
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Set

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


#: Environment variables pip sets for an isolated build; a pip started from the build
#: must not inherit them (its own site-packages would be hidden).
_PIP_BUILD_ENV = ("PYTHONPATH", "PYTHONNOUSERSITE", "PYTHONHOME")


def _portable_host() -> Optional[str]:
    """The Rust host triple when the portable (glibc 2.17) build applies, else None."""
    if os.environ.get("TCSMS_NATIVE", "") not in ("", "0") or not sys.platform.startswith("linux"):
        return None
    try:
        out = subprocess.run(
            [_find_rustc(), "-vV"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True
        ).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.CalledProcessError):
        return None  # cargo's own error follows
    host = re.search(r"^host: (\S+)$", out, re.MULTILINE)
    if host is None or not host.group(1).endswith("-unknown-linux-gnu"):
        return None
    return host.group(1)


def _find_rustc() -> str:
    cargo = Path(_find_cargo())
    beside = cargo.parent / "rustc"
    return str(beside) if beside.is_file() else (shutil.which("rustc") or "rustc")


def _tool_pins() -> List[str]:
    """``[tool.tcsms] portable-build-tools`` of pyproject.toml (read as text: 3.8 has no tomllib)."""
    text = (HERE / "pyproject.toml").read_text(encoding="utf-8")
    m = re.search(r"^portable-build-tools = \[(.*)\]$", text, re.MULTILINE)
    if not m:
        raise SystemExit(f"tcsms: {HERE / 'pyproject.toml'} has no portable-build-tools")
    return re.findall(r'"([^"]+)"', m.group(1))


def portable_tools() -> Path:
    """The directory with ``bin/cargo-zigbuild`` and ``ziglang/zig``, installed when missing.

    Outside the build tree, named after the pins: scripts/install.sh uses the same one, so
    cargo sees the same linker wrappers (paths) and a build by either is reused by the other.
    """
    pins = _tool_pins()
    base = Path(os.environ.get("TCSMS_TOOLS_DIR") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tcsms" / "tools")
    tools = base / "_".join(p.replace("==", "-") for p in pins)
    if (tools / "bin" / "cargo-zigbuild").is_file() and (tools / "ziglang" / "zig").is_file():
        return tools
    _status(f"tcsms: installing {' '.join(pins)} from PyPI into {tools} (about 95 MB to download, once)")
    base.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=tools.name + ".", dir=str(base)))
    env = {k: v for k, v in os.environ.items() if k not in _PIP_BUILD_ENV}
    env["PIP_ROOT_USER_ACTION"] = "ignore"
    cmd = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-deps"]
    cmd += ["--only-binary=:all:", "--target", str(staging), *pins]
    proc = subprocess.run(cmd, env=env, stdout=sys.stderr, check=False)
    if proc.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise SystemExit(
            f"tcsms: pip could not install {' '.join(pins)} (exit code {proc.returncode}); "
            "set TCSMS_NATIVE=1 to build with the host toolchain instead"
        )
    shutil.rmtree(tools, ignore_errors=True)  # an incomplete earlier install
    try:
        os.rename(staging, tools)
    except OSError:  # another build was first
        shutil.rmtree(staging, ignore_errors=True)
    return tools


def _tty():  # type: ignore[no-untyped-def]
    """The terminal when pip hides our stderr (a status line goes there), else None."""
    if sys.stderr.isatty():
        return None
    try:
        return open("/dev/tty", "w")  # noqa: SIM115 - kept for the build's duration
    except OSError:
        return None


_TTY = _tty()


def _status(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
    if _TTY is not None:
        _TTY.write("\r\033[K" + line + "\n")
        _TTY.flush()


def _run_cargo(cmd: List[str], env: Dict[str, str]) -> List[str]:
    """Run cargo: stdout (JSON messages) returned, stderr (progress) passed through to stderr,
    and its "Compiling ..." lines shown as one updating line on the terminal, if any."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out: List[bytes] = []
    import threading

    reader = threading.Thread(target=lambda: out.append(proc.stdout.read()))  # type: ignore[union-attr]
    reader.start()
    for raw in proc.stderr:  # type: ignore[union-attr]
        line = raw.decode("utf-8", "replace").rstrip()
        print(line, file=sys.stderr, flush=True)
        if _TTY is not None and line.lstrip().startswith(("Compiling", "Finished")):
            _TTY.write("\r\033[K  cargo: " + line.strip()[:100])
            _TTY.flush()
    code = proc.wait()
    reader.join()
    if _TTY is not None:
        _TTY.write("\r\033[K")
        _TTY.flush()
    if code != 0:
        raise SystemExit(f"tcsms: cargo failed with exit code {code} (pip install -v shows its output)")
    return b"".join(out).decode("utf-8", "replace").splitlines()


def build_library() -> Path:
    """Return the path of a freshly built (or prebuilt) libtcsms."""
    prebuilt = os.environ.get("TCSMS_PREBUILT_LIBRARY")
    if prebuilt:
        path = Path(prebuilt)
        if not path.is_file():
            raise SystemExit(f"tcsms: TCSMS_PREBUILT_LIBRARY={prebuilt} does not exist")
        return path
    manifest = _find_manifest()
    cargo = _find_cargo()
    env = dict(os.environ)
    host = _portable_host()
    if host is not None:
        tools = portable_tools()
        # The same command and flags as scripts/install.sh (rustc prints native-static-libs
        # there, for the .pc files): a change here rebuilds everything there, and back.
        env["PATH"] = os.pathsep.join([str(tools / "ziglang"), str(tools / "bin"), env.get("PATH", "")])
        env["RUSTFLAGS"] = (env["RUSTFLAGS"] + " " if env.get("RUSTFLAGS") else "") + "--print=native-static-libs"
        cmd = [cargo, "zigbuild", "--release", "--lib", "--target", f"{host}.2.17"]
        what = f"building libtcsms for glibc 2.17 ({host}.2.17) with cargo-zigbuild"
    else:
        cmd = [cargo, "build", "--release", "--lib"]
        what = "building libtcsms with cargo for this system"
    cmd += ["--manifest-path", str(manifest), "--message-format=json-render-diagnostics"]
    _status(f"tcsms: {what}: the first build takes 2-5 minutes, then seconds")
    print("tcsms: running " + " ".join(cmd), file=sys.stderr, flush=True)
    found = None
    for line in _run_cargo(cmd, env):
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
    """The manylinux tag auditwheel gives a wheel whose only binary is ``library``, with its aliases.

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
            # e.g. manylinux_2_17_x86_64.manylinux2014_x86_64: pip before 20.3 knows only the alias
            return ".".join(f"{name}_{arch}" for name in [policy["name"], *policy.get("aliases", [])])
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
