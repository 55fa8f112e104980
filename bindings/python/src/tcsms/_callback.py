"""Parsing the callbacks Tencent Cloud SMS POSTs to your URL (``tcsms_parse_callback``).

::

    cb = tcsms.parse_callback(body)          # body: the raw request body, bytes
    if isinstance(cb, tcsms.DeliveryCallback):
        for r in cb.reports:
            print(r.PhoneNumber, r.report_status, r.sid)
    else:
        print(cb.reply.PhoneNumber, cb.reply.text)
    # then answer HTTP 200 with tcsms.CALLBACK_ACK

Field names are the service's own (``nationcode``, ``mobile``, ``report_status``, ...),
plus ``PhoneNumber`` in E.164 form.  A malformed, truncated, wrong-typed, empty or
oversized (over 1 MiB) body raises :class:`InvalidArgument` (``ClientError.InvalidJson``,
``ClientError.InvalidArgument`` or ``ClientError.InvalidUtf8``, with the record and field
named in the message).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Union

from . import _ffi  # tcsms_parse_callback's ctypes signature: generated in _native.py
from ._errors import Status, error_from_envelope

__all__ = [
    "CALLBACK_ACK",
    "DeliveryCallback",
    "DeliveryReport",
    "MAX_CALLBACK_BYTES",
    "Reply",
    "ReplyCallback",
    "callback_nack",
    "parse_callback",
]

#: The acknowledgement body the service expects for an accepted callback (HTTP 200).
CALLBACK_ACK: bytes = b'{"result": 0, "errmsg": "OK"}'

#: The largest callback body accepted.
MAX_CALLBACK_BYTES: int = 1 << 20


def callback_nack(reason: str) -> bytes:
    """The acknowledgement body for a callback that was not accepted (``result`` 1)."""
    return json.dumps({"result": 1, "errmsg": reason}, ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class DeliveryReport:
    """One delivery report of a delivery-status callback."""

    user_receive_time: str
    nationcode: str
    mobile: str
    report_status: str  #: ``SUCCESS`` or ``FAIL``
    errmsg: str  #: the carrier's receipt code, e.g. ``DELIVRD``
    description: str
    sid: str  #: the SendSms ``SerialNo``
    PhoneNumber: str  #: E.164, e.g. ``+8613900000001``


@dataclass(frozen=True)
class Reply:
    """A reply (MO message) from a recipient."""

    extend: str
    mobile: str
    nationcode: str
    sign: str
    text: str
    time: int  #: Unix seconds
    PhoneNumber: str


@dataclass(frozen=True)
class DeliveryCallback:
    """A delivery-status callback: one or more reports."""

    reports: List[DeliveryReport]
    kind: str = "delivery"


@dataclass(frozen=True)
class ReplyCallback:
    """A reply callback."""

    reply: Reply
    kind: str = "reply"


def _pick(cls: Any, record: Dict[str, Any]) -> Any:
    return cls(**{name: record[name] for name in cls.__dataclass_fields__})


def parse_callback(body: bytes) -> Union[DeliveryCallback, ReplyCallback]:
    """Parse the raw body of a callback request into typed records."""
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError(f"parse_callback expects bytes, not {type(body).__name__}")
    data = bytes(body)
    status, out = _ffi.call_out(_ffi.out_lib.tcsms_parse_callback, data, len(data))
    parsed: Any = json.loads(out.decode("utf-8")) if out else None
    if status != Status.OK:
        raise error_from_envelope(status, parsed, _ffi.status_str(status))
    if parsed["Kind"] == "delivery":
        return DeliveryCallback([_pick(DeliveryReport, r) for r in parsed["Reports"]])
    return ReplyCallback(_pick(Reply, parsed["Reply"]))
