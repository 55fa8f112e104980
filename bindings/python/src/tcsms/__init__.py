"""tcsms: a small, thread-safe client for the Tencent Cloud SMS API (2021-01-11).

The package is a ctypes binding over the native ``libtcsms`` library::

    import tcsms

    with tcsms.Client(secret_id="AKID...", secret_key="...") as client:
        print(client.report_conversion("1400000001", "2433:1234"))

Every API failure raises a :class:`TcsmsError` subclass (:class:`APIError`,
:class:`NetworkError`, :class:`TimeoutError`, :class:`InvalidArgument`, ...).

Set ``TCSMS_LIBRARY`` to load another build of libtcsms than the bundled one.
"""

from . import _ffi
from ._actions import ACTION_FIELDS, ACTIONS, API_VERSION, Response
from ._async import AsyncClient
from ._callback import (
    CALLBACK_ACK,
    DeliveryCallback,
    DeliveryReport,
    MAX_CALLBACK_BYTES,
    Reply,
    ReplyCallback,
    callback_nack,
    parse_callback,
)
from ._client import Client
from ._errors import (
    APIError,
    ClientClosedError,
    ConfigError,
    DecodeError,
    HttpStatusError,
    InternalError,
    InvalidArgument,
    NetworkError,
    Status,
    TcsmsError,
    TimeoutError,
)
from ._ffi import AbiMismatchError, LibraryNotFoundError
from ._results import NumberClass, NumberResult, SendResults

__version__ = "0.1.0"

#: The C ABI version this package expects from libtcsms.
ABI_VERSION: int = _ffi.EXPECTED_ABI_VERSION

#: Path of the loaded libtcsms.
library_path: str = _ffi.library_path


def library_version() -> str:
    """The native library's version string (``tcsms_version()``)."""
    return _ffi.version()


def library_abi_version() -> int:
    """The native library's C ABI version (``tcsms_abi_version()``)."""
    return _ffi.abi_version()


__all__ = [
    "ABI_VERSION",
    "ACTIONS",
    "ACTION_FIELDS",
    "API_VERSION",
    "APIError",
    "AbiMismatchError",
    "AsyncClient",
    "CALLBACK_ACK",
    "Client",
    "ClientClosedError",
    "ConfigError",
    "DecodeError",
    "DeliveryCallback",
    "DeliveryReport",
    "HttpStatusError",
    "InternalError",
    "InvalidArgument",
    "LibraryNotFoundError",
    "MAX_CALLBACK_BYTES",
    "NetworkError",
    "NumberClass",
    "NumberResult",
    "Reply",
    "ReplyCallback",
    "Response",
    "SendResults",
    "Status",
    "TcsmsError",
    "TimeoutError",
    "callback_nack",
    "library_abi_version",
    "library_path",
    "library_version",
    "parse_callback",
]
