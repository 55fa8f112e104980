"""Per-number results of ``send_sms_results`` / ``send_multi_global_sms_results``.

Both call ``tcsms_send_sms`` / ``tcsms_send_multi_global_sms``: any number of numbers,
checked locally (E.164, or 11-digit mainland numbers sent as ``+86...``), duplicates
reported, batches of at most 200 sent in order, and one typed result per input number,
in input order.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any, Iterator, List, Optional

from ._errors import DecodeError, Status

__all__ = ["NumberClass", "NumberResult", "SendResults", "parse_results"]


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


def parse_results(data: Optional[bytes]) -> SendResults:
    """The :class:`SendResults` of the library's results JSON."""
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
