"""Exceptions raised by tcsms.

Every failure raises a subclass of :class:`TcsmsError`.  The hierarchy::

    TcsmsError
    ├── APIError                  status 10: the service answered with Response.Error
    ├── NetworkError              status 6: connect, reset, TLS, proxy failures
    │   ├── HttpStatusError       status 8: an HTTP status other than 200
    │   └── DecodeError           status 9: the body is not the API envelope (or too large)
    ├── TimeoutError              status 7: the call ran out of time (also a builtins.TimeoutError)
    ├── InvalidArgument           statuses 1-4: bad arguments (also a builtins.ValueError)
    │   ├── ConfigError           status 5: bad client configuration, missing credentials
    │   └── ClientClosedError     the client was used after close()
    └── InternalError             status 11: a bug in the native library (a caught panic)

``HttpStatusError`` and ``DecodeError`` are ``NetworkError`` subclasses: in all three
cases no valid API answer arrived, so the request may or may not have been processed.
"""

from __future__ import annotations

import builtins
from typing import Any, Dict, Mapping, Optional, Type

from ._status import DEFAULT_CODES, Status

__all__ = [
    "Status",
    "TcsmsError",
    "APIError",
    "NetworkError",
    "HttpStatusError",
    "DecodeError",
    "TimeoutError",
    "InvalidArgument",
    "ConfigError",
    "ClientClosedError",
    "InternalError",
]


class TcsmsError(Exception):
    """Base class of every error raised by tcsms.

    Attributes:
        status: the ``tcsms_status`` value of the failed call (an ``int``; see
            :class:`Status`), or ``None`` when the error was raised by Python code
            without calling the library.
        code: the error code: the service's ``Response.Error.Code`` (for example
            ``"AuthFailure.SignatureFailure"``) or a local ``"ClientError.*"`` code.
        message: the human-readable message.
        request_id: the service's ``RequestId``; ``""`` for local failures.
        response: the whole ``Response`` object of the error envelope, when there was one.
    """

    status: Optional[int]
    code: str
    message: str
    request_id: str
    response: Optional[Dict[str, Any]]

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        code: str = "",
        request_id: str = "",
        response: Optional[Dict[str, Any]] = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id or ""
        self.response = response

    def __str__(self) -> str:
        text = f"{self.code}: {self.message}" if self.code else self.message
        if self.request_id:
            text += f" (RequestId: {self.request_id})"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
            f"message={self.message!r}, request_id={self.request_id!r})"
        )

    def __reduce__(self) -> Any:
        return (
            _rebuild,
            (type(self), self.message, self.status, self.code, self.request_id, self.response),
        )


def _rebuild(
    cls: Type[TcsmsError],
    message: str,
    status: Optional[int],
    code: str,
    request_id: str,
    response: Optional[Dict[str, Any]],
) -> TcsmsError:
    return cls(message, status=status, code=code, request_id=request_id, response=response)


class APIError(TcsmsError):
    """The service refused the request: ``Response.Error`` with its code and RequestId.

    ``code`` is the service's error code (``"FailedOperation.SignatureIncorrectOrUnapproved"``,
    ``"AuthFailure.SignatureFailure"``, ...) and ``request_id`` the service's RequestId.
    """


class NetworkError(TcsmsError):
    """No valid answer arrived: connection refused or reset, TLS or proxy failure.

    The request may or may not have reached the service.
    """


class HttpStatusError(NetworkError):
    """The server answered with an HTTP status other than 200."""


class DecodeError(NetworkError):
    """The server's body was not a Tencent Cloud API envelope (or was too large)."""


class TimeoutError(TcsmsError, builtins.TimeoutError):  # noqa: A001 - deliberate name
    """The call did not finish within its timeout (retries included).

    Also an instance of the built-in :class:`TimeoutError`.
    """


class InvalidArgument(TcsmsError, builtins.ValueError):
    """An argument was refused before anything was sent (unknown action, bad JSON, ...).

    Also an instance of the built-in :class:`ValueError`.
    """


class ConfigError(InvalidArgument):
    """The client configuration was refused (unknown key, bad value, missing credentials)."""


class ClientClosedError(InvalidArgument):
    """The client was used after :meth:`tcsms.Client.close`."""


class InternalError(TcsmsError):
    """The native library hit an internal error (a caught panic). Please report it."""


_BY_STATUS: Mapping[int, Type[TcsmsError]] = {
    Status.NULL_ARGUMENT: InvalidArgument,
    Status.INVALID_UTF8: InvalidArgument,
    Status.INVALID_JSON: InvalidArgument,
    Status.INVALID_ARGUMENT: InvalidArgument,
    Status.INVALID_CONFIG: ConfigError,
    Status.NETWORK: NetworkError,
    Status.TIMEOUT: TimeoutError,
    Status.HTTP_STATUS: HttpStatusError,
    Status.DECODE: DecodeError,
    Status.API_ERROR: APIError,
    Status.PANIC: InternalError,
}


def error_class(status: int) -> Type[TcsmsError]:
    """The exception class used for a failed ``tcsms_status``."""
    return _BY_STATUS.get(status, TcsmsError)


def error_from_envelope(status: int, envelope: Any, status_text: str = "") -> TcsmsError:
    """Build the exception for a failed call from its status and parsed error envelope."""
    cls = error_class(status)
    response: Optional[Dict[str, Any]] = None
    code = ""
    message = ""
    request_id = ""
    if isinstance(envelope, dict) and isinstance(envelope.get("Response"), dict):
        response = envelope["Response"]
        err = response.get("Error")
        if isinstance(err, dict):
            code = str(err.get("Code") or "")
            message = str(err.get("Message") or "")
        request_id = str(response.get("RequestId") or "")
    if not message:
        message = status_text or f"tcsms call failed with status {status}"
    if not code:
        code = DEFAULT_CODES.get(status, f"ClientError.Status{status}")
    return cls(message, status=status, code=code, request_id=request_id, response=response)
