"""ctypes declarations for libtcsms (C ABI version 1).

Rules followed here (see docs/contracts.md):

* every exported function gets ``argtypes`` and ``restype`` (no silent ``int``
  return type that would truncate 64-bit pointers);
* strings the library allocates come back through ``char **`` out-parameters, declared
  as ``POINTER(c_void_p)`` in ``lib``; the calls go through twins in :data:`out_lib`
  declared with ``POINTER(c_char_p)``, whose ``c_char_p`` keeps the pointer: the string
  is copied and always released with ``tcsms_free`` in a ``finally`` block
  (:func:`take`).  ``c_char_p`` is never the result type of an owned string; it is a
  result only for the static strings of ``tcsms_status_str`` and ``tcsms_version``;
* the library is loaded with :class:`ctypes.CDLL`, which releases the GIL for the
  duration of each call, so Python threads sharing a client run calls in parallel.
"""

from __future__ import annotations

import ctypes
import os
import sys
from ctypes import POINTER, byref, c_char_p, c_void_p
from pathlib import Path
from types import SimpleNamespace
from typing import Any, List, Optional, Tuple

from ._native import FUNCTIONS, HEADER_ABI_VERSION

__all__ = [
    "EXPECTED_ABI_VERSION",
    "AbiMismatchError",
    "LibraryNotFoundError",
    "call_out",
    "lib",
    "library_path",
    "load_library",
    "out_lib",
    "take",
]

#: The C ABI version this package was written against (``TCSMS_ABI_VERSION``).
EXPECTED_ABI_VERSION = HEADER_ABI_VERSION

#: Environment variable naming a libtcsms shared library to load instead of the bundled one.
LIBRARY_ENV = "TCSMS_LIBRARY"

if sys.platform == "darwin":
    _LIB_NAMES = ("libtcsms.dylib",)
elif sys.platform == "win32":
    _LIB_NAMES = ("tcsms.dll",)
else:
    _LIB_NAMES = ("libtcsms.so",)


class LibraryNotFoundError(ImportError):
    """The native library could not be found or loaded."""


class AbiMismatchError(ImportError):
    """The native library speaks another C ABI version than this package expects."""

    def __init__(self, found: int, expected: int, path: str) -> None:
        super().__init__(
            f"libtcsms at {path} has C ABI version {found}, but this tcsms Python package "
            f"expects ABI version {expected}; install a matching package or point "
            f"{LIBRARY_ENV} at a matching library",
            path=path,
        )
        self.found = found
        self.expected = expected


def _candidates() -> Tuple[List[Path], bool]:
    """Paths to try, and whether they came from the environment override."""
    override = os.environ.get(LIBRARY_ENV)
    if override:
        return [Path(override)], True
    here = Path(__file__).resolve().parent
    paths = [here / name for name in _LIB_NAMES]
    # Running from a source checkout (bindings/python/src/tcsms): fall back to the
    # repository's cargo build output when nothing is bundled.
    repo = here.parents[3] if len(here.parents) > 3 else None
    if repo is not None and (repo / "Cargo.toml").is_file():
        for profile in ("release", "debug"):
            paths += [repo / "target" / profile / name for name in _LIB_NAMES]
    return paths, False


def _declare(cdll: ctypes.CDLL) -> None:
    """Set argtypes/restype for every function of the C ABI (table generated from the header)."""
    for name, (restype, argtypes) in FUNCTIONS.items():
        fn = getattr(cdll, name)
        fn.argtypes = argtypes
        fn.restype = restype


#: Names of every function declared by :func:`_declare`.
DECLARED_FUNCTIONS = tuple(FUNCTIONS)


def check_abi(cdll: ctypes.CDLL, path: str, expected: Optional[int] = None) -> int:
    """Return the library's ABI version, raising :class:`AbiMismatchError` on a mismatch."""
    if expected is None:
        expected = EXPECTED_ABI_VERSION
    found = int(cdll.tcsms_abi_version())
    if found != expected:
        raise AbiMismatchError(found, expected, path)
    return found


def load_library(path: Optional[str] = None) -> Tuple[ctypes.CDLL, str]:
    """Load libtcsms, declare its functions and check its ABI version.

    Without ``path``: ``$TCSMS_LIBRARY`` if set, else the library bundled in the package
    (else, in a source checkout, the repository's ``target/release`` build).
    """
    if path is not None:
        paths, from_env = [Path(path)], True
    else:
        paths, from_env = _candidates()
    errors = []
    for candidate in paths:
        if not from_env and not candidate.is_file():
            continue
        try:
            cdll = ctypes.CDLL(str(candidate))
        except OSError as exc:
            errors.append(f"{candidate}: {exc}")
            continue
        try:
            _declare(cdll)
        except AttributeError as exc:
            raise LibraryNotFoundError(
                f"{candidate} is not a usable libtcsms (missing symbol: {exc})",
                path=str(candidate),
            ) from None
        check_abi(cdll, str(candidate))
        return cdll, str(candidate)
    where = ", ".join(str(p) for p in paths) or "(nowhere)"
    detail = ("; " + "; ".join(errors)) if errors else ""
    hint = (
        f"set {LIBRARY_ENV} to a valid libtcsms" if from_env
        else f"reinstall the package (pip install ./bindings/python) or set {LIBRARY_ENV}"
    )
    raise LibraryNotFoundError(f"cannot load libtcsms (looked at {where}){detail}; {hint}")


lib, library_path = load_library()


def _out_functions(cdll: ctypes.CDLL) -> SimpleNamespace:
    """Twins of the functions whose last parameter is a ``char **`` out-parameter,
    declared with ``POINTER(c_char_p)`` there, for :func:`call_out`.

    ``cdll[name]`` makes a new function object, so ``lib``'s declarations stay as
    generated.  Reading the string through the ``c_char_p`` is one copy inside ctypes
    (``ctypes.string_at`` is a second foreign call); the ``c_char_p`` still holds the
    pointer, which :func:`take` hands to ``tcsms_free`` (``c_void_p`` accepts it).
    """
    out_type = POINTER(c_void_p)
    twins = SimpleNamespace()
    for name, (restype, argtypes) in FUNCTIONS.items():
        if argtypes and argtypes[-1] is out_type:
            fn = cdll[name]
            fn.restype = restype
            fn.argtypes = [*argtypes[:-1], POINTER(c_char_p)]
            setattr(twins, name, fn)
    return twins


#: The functions ending in a ``char **`` out-parameter, for :func:`call_out`.
out_lib = _out_functions(lib)


def take(out: c_char_p) -> Optional[bytes]:
    """Copy the string the library left in ``out`` (None for NULL) and release it with
    ``tcsms_free``, whatever happens; ``out`` is NULL afterwards."""
    try:
        return out.value
    finally:
        if out:
            lib.tcsms_free(out)
            out.value = None


def call_out(fn: Any, *args: Any) -> Tuple[int, Optional[bytes]]:
    """Call ``fn(*args, &out)``, ``fn`` from :data:`out_lib`, with a fresh ``char *``
    out-parameter ``out``.

    Returns ``(status, bytes or None)``: the string left in ``out`` is copied and
    released (:func:`take`), whatever happens.
    """
    out = c_char_p()
    try:
        status: int = fn(*args, byref(out))
    finally:
        data = take(out)
    return status, data


def status_str(status: int) -> str:
    """The library's static description of a status value."""
    raw = lib.tcsms_status_str(int(status))
    return raw.decode("utf-8", "replace") if raw else f"status {status}"


def version() -> str:
    """The library's version string (``tcsms_version()``)."""
    raw = lib.tcsms_version()
    return raw.decode("utf-8", "replace") if raw else ""


def abi_version() -> int:
    """The library's C ABI version (``tcsms_abi_version()``)."""
    return int(lib.tcsms_abi_version())

