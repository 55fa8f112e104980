"""Per-number results and batching, credential rotation and the clock offset.

``Client.send_sms_results`` / ``Client.send_multi_global_sms_results`` call
``tcsms_send_sms`` / ``tcsms_send_multi_global_sms``: any number of numbers, checked
locally (E.164, or 11-digit mainland numbers sent as ``+86...``), duplicates reported,
batches of at most 200 sent in order, and one typed result per input number, in input
order.  ``Client.set_credentials`` and ``Client.clock_offset`` wrap
``tcsms_client_set_credentials`` and ``tcsms_client_clock_offset``.  Their ctypes
declarations are generated with the others (``_native.py``).
"""

from __future__ import annotations

import enum
import json
from ctypes import byref, c_int64
from dataclasses import dataclass, field
from typing import Any, Iterator, List, Mapping, Optional

from . import _ffi
from ._errors import DecodeError, InvalidArgument, Status

__all__ = ["NumberClass", "NumberResult", "SendResults", "SendMixin"]


class NumberClass(str, enum.Enum):
    """What a number's result means (``Class`` in the library's JSON)."""

    #: Accepted by the service (``Code`` ``"Ok"``).
    OK = "ok"
    #: Permanent: the number, a blacklist, the signature or template, the content.
    REJECTED = "rejected"
    #: A per-number frequency limit (``LimitExceeded.PhoneNumber*``): try later.
    LIMITED = "limited"
    #: Not sent because of a service-side failure; may be retried.
    FAILED = "failed"
    #: The request may or may not have been delivered; it was not resent.
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class NumberResult:
    """One number's result."""

    phone_number: str
    serial_no: str
    code: str
    message: str
    fee: int
    class_: NumberClass

    @property
    def ok(self) -> bool:
        return self.class_ is NumberClass.OK


@dataclass(frozen=True)
class SendResults:
    """One result per input number, in input order, and the RequestIds of the batches."""

    results: List[NumberResult] = field(default_factory=list)
    request_ids: List[str] = field(default_factory=list)

    @property
    def all_ok(self) -> bool:
        """Whether every number is ``ok`` (never true for "every number failed")."""
        return all(r.ok for r in self.results)

    def __iter__(self) -> Iterator[NumberResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, index: int) -> NumberResult:
        return self.results[index]


def _parse_results(data: Optional[bytes]) -> SendResults:
    try:
        if not data:
            raise ValueError("no answer")
        doc: Any = json.loads(data.decode("utf-8"))
        results = [
            NumberResult(
                phone_number=r["PhoneNumber"],
                serial_no=r["SerialNo"],
                code=r["Code"],
                message=r["Message"],
                fee=int(r["Fee"]),
                class_=NumberClass(r["Class"]),
            )
            for r in doc["Results"]
        ]
        return SendResults(results, [str(i) for i in doc["RequestIds"]])
    except (ValueError, KeyError, TypeError) as exc:
        raise DecodeError(
            f"the library returned undecodable send results: {exc}",
            status=Status.DECODE,
            code="ClientError.Decode",
        ) from None


class SendMixin:
    """Methods of :class:`tcsms.Client` for issue 11's behaviours."""

    # Provided by Client.
    _acquire: Any
    _release: Any
    _error: Any

    def _send(self, function: str, request: Mapping[str, Any], timeout: Optional[float]) -> SendResults:
        from ._client import _seconds_to_ms, _to_json  # the binding's one encoder

        if not isinstance(request, Mapping):
            raise InvalidArgument(
                f"request must be a dict, not {type(request).__name__}",
                status=Status.INVALID_JSON,
                code="ClientError.InvalidJson",
            )
        body = _to_json(dict(request), "send request")
        timeout_ms = 0 if timeout is None else _seconds_to_ms(timeout, "timeout")
        fn = getattr(_ffi.out_lib, function + "_with_timeout")
        handle = self._acquire()
        try:
            status, data = _ffi.call_out(fn, handle, body, timeout_ms)
        finally:
            self._release()
        if status not in (Status.OK, Status.PARTIAL):
            raise self._error(status, data)
        return _parse_results(data)

    def send_sms_results(
        self, request: Mapping[str, Any], *, timeout: Optional[float] = None
    ) -> SendResults:
        """SendSms to any number of numbers, with one result per number.

        ``request`` is a SendSms request (PascalCase keys, as for :meth:`call`) whose
        ``PhoneNumberSet`` has at least one number.  Numbers are checked before anything
        is sent (E.164 such as ``+8613800000000``, or an 11-digit mainland number sent as
        ``+86...``); a bad one raises :class:`tcsms.InvalidArgument` with code
        ``ClientError.InvalidPhoneNumber`` naming its 0-based index.  A number given
        again is sent once (its later places: ``ClientError.DuplicatePhoneNumber``,
        ``rejected``).  More than 200 numbers go in batches of at most 200, in order,
        each limited by the client's timeout; ``timeout`` (seconds), when given, limits
        the whole send (batches that no longer fit: ``ClientError.NotSent``).

        Returns :class:`SendResults` (``.all_ok`` is true only when every number is
        ``ok``).  A request refused as a whole (authentication, app, template, network)
        raises as :meth:`call` does.
        """
        return self._send("tcsms_send_sms", request, timeout)

    def send_multi_global_sms_results(
        self, request: Mapping[str, Any], *, timeout: Optional[float] = None
    ) -> SendResults:
        """As :meth:`send_sms_results`, for SendMultiGlobalSms (``MultiSmsInfoSet``)."""
        return self._send("tcsms_send_multi_global_sms", request, timeout)

    def set_credentials(self, secret_id: str, secret_key: str, token: Optional[str] = None) -> None:
        """Replace the credentials (for example temporary ones about to expire).

        Safe while other threads are calling: calls already signing finish with the old
        credentials, later ones use the new; connections are kept; the old secrets are
        zeroed in the library when the last call using them ends.  Bad values raise
        :class:`tcsms.ConfigError` and keep the current credentials.
        """
        from ._client import _encode

        args = (
            _encode(secret_id, "secret_id"),
            _encode(secret_key, "secret_key"),
            None if token is None else _encode(token, "token"),
        )
        handle = self._acquire()
        try:
            status, data = _ffi.call_out(
                _ffi.out_lib.tcsms_client_set_credentials, handle, *args
            )
        finally:
            self._release()
        if status != Status.OK:
            raise self._error(status, data)

    @property
    def clock_offset(self) -> int:
        """Seconds the service's clock runs ahead of this host's (negative: behind).

        Learned when the service refuses a request for clock skew
        (``AuthFailure.SignatureExpire``): the client then re-signs that request with the
        service's time, once, and signs every later one with it.  0 until then.
        """
        seconds = c_int64(0)
        handle = self._acquire()
        try:
            status = _ffi.lib.tcsms_client_clock_offset(handle, byref(seconds))
        finally:
            self._release()
        if status != Status.OK:
            raise self._error(status, None)
        return int(seconds.value)
