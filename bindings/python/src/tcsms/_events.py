"""Events and statistics: ``tcsms_client_set_event_callback`` and ``tcsms_client_stats``.

Every attempt and every call of a client produces one event, a dict such as::

    {"event": "attempt", "action": "SendSms", "attempt": 1, "status": 0, "code": None,
     "request_id": "...", "latency_us": 1830, "retry": False, "retry_reason": None,
     "retry_delay_us": 0, "rate_limit_wait_us": 0, "clock_offset_s": 0,
     "clock_corrected": False, "bytes_sent": 160, "bytes_received": 420,
     "phone_numbers": ["+86137****2222"]}

(see docs/events.md).  Events go to the standard :mod:`logging` logger ``"tcsms"`` at
DEBUG (the dict is the record's ``tcsms_event`` attribute) and to the optional
``on_event`` callable.  They never hold a secret, a signature or a token; phone numbers
are masked unless the client was made with ``log_phone_numbers=True``.

The callable runs on the thread making the call, inside it: it must not call the
client (such a call raises :class:`tcsms.InvalidArgument` with code
``ClientError.Reentrant``) and must not close it.  An exception it raises is logged at
WARNING on the ``"tcsms"`` logger and otherwise ignored: it never reaches tcsms or the
caller.
"""

from __future__ import annotations

import json
import logging
from ctypes import CFUNCTYPE, c_char_p, c_void_p
from typing import Any, Callable, Dict, Optional

__all__ = ["EventCallback", "logger", "make_thunk"]

#: The logger events go to (at DEBUG).
logger = logging.getLogger("tcsms")

#: A Python event callback: receives each event as a dict.
EventCallback = Callable[[Dict[str, Any]], None]

_EVENT_FN = CFUNCTYPE(None, c_void_p, c_char_p)


def make_thunk(on_event: Optional[EventCallback]) -> Any:
    """The C callback: decodes the event, logs it, calls ``on_event``; never raises."""

    def thunk(_user_data: Optional[int], event_json: Optional[bytes]) -> None:
        try:
            if not event_json:
                return
            event = json.loads(event_json.decode("utf-8"))
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "%s %s attempt %s status %s code %s %s us",
                    event.get("event"), event.get("action"), event.get("attempt"),
                    event.get("status"), event.get("code"), event.get("latency_us"),
                    extra={"tcsms_event": event},
                )
            if on_event is not None:
                on_event(event)
        except BaseException as exc:  # noqa: BLE001 - nothing may cross into tcsms
            try:
                logger.warning("tcsms event callback raised %s; ignored", type(exc).__name__)
            except BaseException:  # noqa: BLE001
                pass

    return _EVENT_FN(thunk)
