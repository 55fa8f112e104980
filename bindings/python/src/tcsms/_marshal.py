"""Marshalling between Python values and the C ABI: C strings, request and answer
JSON, time limits, typed-method requests, error envelopes and results.

Every conversion of the binding lives here, shared by :class:`tcsms.Client` and
:class:`tcsms.AsyncClient`; it imports no client module.
"""

from __future__ import annotations

import json
import json.decoder
import math
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from . import _ffi
from ._actions import ACTION_FIELDS, STRUCT_FIELDS, Response
from ._errors import DecodeError, InvalidArgument, Status, TcsmsError, error_from_envelope

__all__ = [
    "action_request",
    "conversion_time",
    "encode",
    "error",
    "from_json",
    "report_conversion_params",
    "request_json",
    "result",
    "results_call",
    "results_request",
    "seconds_to_ms",
    "to_json",
]


def _invalid(message: str) -> InvalidArgument:
    return InvalidArgument(message, status=Status.INVALID_ARGUMENT, code="ClientError.InvalidArgument")


def encode(value: str, what: str) -> bytes:
    """UTF-8 bytes for a C string argument, refusing what C cannot carry."""
    if not isinstance(value, str):
        raise _invalid(f"{what} must be a str, not {type(value).__name__}")
    try:
        data = value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidArgument(
            f"{what} is not valid UTF-8 text: {exc}",
            status=Status.INVALID_UTF8,
            code="ClientError.InvalidUtf8",
        ) from None
    if 0 in data:  # the int: `b"\0" in data` raises and clears a TypeError first
        raise _invalid(f"{what} contains a NUL character")
    return data


# json.dumps with these options would build a new encoder per call.
_json_encoder = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False)


def to_json(value: Any, what: str) -> bytes:
    """Compact ASCII JSON of ``value``; what JSON cannot carry raises InvalidArgument."""
    try:
        text = _json_encoder.encode(value)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(
            f"{what} cannot be encoded as JSON: {exc}",
            status=Status.INVALID_JSON,
            code="ClientError.InvalidJson",
        ) from exc
    return text.encode("ascii")


# The decoder's scanner (what json.loads runs after skipping white space); typeshed
# does not declare this attribute of JSONDecoder.
_scan_json: Callable[[str, int], Tuple[Any, int]] = (
    json.decoder.JSONDecoder().scan_once  # type: ignore[attr-defined]
)


def from_json(data: bytes) -> Any:
    """``json.loads(data.decode("utf-8"))``, faster for the library's answers.

    They are compact JSON (no white space around the document), which the decoder's
    scanner reads directly, without the two white-space matches of ``json.loads``.
    Anything else goes through ``json.loads`` (same result, same errors).
    """
    text = data.decode("utf-8")
    try:
        doc, end = _scan_json(text, 0)
    except StopIteration:
        end = -1
    if end != len(text):
        doc = json.loads(text)
    return doc


def seconds_to_ms(value: Any, what: str) -> int:
    """A positive number of seconds as whole milliseconds (rounded up, at least 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _invalid(f"{what} must be a number of seconds, not {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise _invalid(f"{what} must be a positive number of seconds, got {value!r}")
    return max(1, int(math.ceil(value * 1000)))


def conversion_time(value: Any) -> int:
    """``ConversionTime`` as the C call takes it (-1: omitted), checked."""
    if value is None:
        return -1
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid("conversion_time must be an int (Unix seconds) or None")
    if value < 0:
        raise _invalid("conversion_time must not be negative")
    if value > 2**63 - 1:
        raise _invalid("conversion_time is too large")
    return value


def report_conversion_params(
    sms_sdk_app_id: str, serial_no: str, when: Optional[int]
) -> Dict[str, Any]:
    """The ReportConversion request of ``report_conversion``'s arguments."""
    params: Dict[str, Any] = {"SmsSdkAppId": sms_sdk_app_id, "SerialNo": serial_no}
    if conversion_time(when) >= 0:
        params["ConversionTime"] = when
    return params


def request_json(action: str, params: Optional[Mapping[str, Any]]) -> bytes:
    """The JSON body of a call of ``action`` with ``params`` (None: ``{}``)."""
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise InvalidArgument(
            f"params must be a dict, not {type(params).__name__}",
            status=Status.INVALID_JSON,
            code="ClientError.InvalidJson",
        )
    return to_json(dict(params), f"{action} request")


# -- typed-method requests ---------------------------------------------------------------

def _bad_field(action: str, field: str, message: str) -> InvalidArgument:
    return _invalid(f"{action}: {field} {message}")


# Built once from the generated tables: each action's field types by PascalCase name, and
# each request struct's PascalCase name by either spelling of its keys.
_FIELD_KINDS: Dict[str, Dict[str, str]] = {
    action: {pascal: kind for pascal, _snake, kind, _req in fields}
    for action, fields in ACTION_FIELDS.items()
}
_STRUCT_NAMES: Dict[str, Dict[str, str]] = {
    struct: {name: pascal for pascal, snake, _kind in fields for name in (pascal, snake)}
    for struct, fields in STRUCT_FIELDS.items()
}


def _convert_struct(action: str, field: str, struct: str, item: Any) -> Dict[str, Any]:
    """A request struct given as a dict with PascalCase or snake_case keys."""
    if not isinstance(item, Mapping):
        raise _bad_field(action, field, f"entries must be dicts, not {type(item).__name__}")
    names = _STRUCT_NAMES[struct]
    converted: Dict[str, Any] = {}
    for key, value in item.items():
        found = names.get(key) if isinstance(key, str) else None
        if found is None:
            known = ", ".join(p for p, _s, _k in STRUCT_FIELDS[struct])
            raise _bad_field(action, field, f"entry has unknown key {key!r} (known: {known})")
        if found in converted:
            raise _bad_field(action, field, f"entry gives {found} twice")
        if value is not None:
            converted[found] = value
    return converted


def _convert(action: str, pascal: str, kind: str, value: Any) -> Any:
    if kind.startswith("Array of "):
        if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__iter__"):
            raise _bad_field(action, pascal, f"must be a list, not {type(value).__name__}")
        element = kind[len("Array of "):]
        items = list(value)
        if element in STRUCT_FIELDS:
            return [_convert_struct(action, pascal, element, item) for item in items]
        return items
    if kind in STRUCT_FIELDS:
        return _convert_struct(action, pascal, kind, value)
    return value


def action_request(action: str, values: Mapping[str, Any]) -> Dict[str, Any]:
    """The request of a typed method: PascalCase name -> value, None dropped, nested
    structs converted (their keys may be PascalCase or snake_case)."""
    kinds = _FIELD_KINDS[action]
    params: Dict[str, Any] = {}
    for pascal, value in values.items():
        if value is not None:
            params[pascal] = _convert(action, pascal, kinds[pascal], value)
    return params


def _loose(name: str) -> str:
    return name.replace("_", "").lower()


def _unknown_keys(action: str, keys: List[Any]) -> InvalidArgument:
    """The error naming a request dict's unknown keys, and the key meant when there is one."""
    fields = ACTION_FIELDS[action]
    meant = {_loose(pascal): pascal for pascal, _snake, _kind, _req in fields}
    parts = []
    for key in keys:
        guess = meant.get(_loose(key)) if isinstance(key, str) else None
        parts.append(f"{key!r} (did you mean {guess!r}?)" if guess else repr(key))
    known = ", ".join(pascal for pascal, _snake, _kind, _req in fields)
    noun = "key" if len(keys) == 1 else "keys"
    return _invalid(f"{action} request: unknown {noun} {', '.join(parts)}; the keys are {known}")


def results_request(
    action: str, request: Optional[Mapping[str, Any]], values: Mapping[str, Any]
) -> Dict[str, Any]:
    """The request of ``send_sms_results`` and its twin: a request dict (PascalCase keys,
    as for ``call``) or the snake_case keywords of the typed method, not both."""
    given = [pascal for pascal, value in values.items() if value is not None]
    if request is None:
        missing = [
            snake for pascal, snake, _kind, required in ACTION_FIELDS[action]
            if required and values.get(pascal) is None
        ]
        if missing:
            raise _invalid(f"{action}: missing required keyword {', '.join(missing)}")
        return action_request(action, values)
    if not isinstance(request, Mapping):
        raise InvalidArgument(
            f"request must be a dict, not {type(request).__name__}",
            status=Status.INVALID_JSON,
            code="ClientError.InvalidJson",
        )
    if given:
        snakes = {pascal: snake for pascal, snake, _kind, _req in ACTION_FIELDS[action]}
        raise _invalid(
            f"{action}: give the request as a dict or as keywords, not both "
            f"(keywords given: {', '.join(snakes[p] for p in given)})"
        )
    kinds = _FIELD_KINDS[action]
    unknown = [key for key in request if key not in kinds]
    if unknown:
        raise _unknown_keys(action, unknown)
    return action_request(action, request)


def results_call(
    action: str,
    request: Optional[Mapping[str, Any]],
    values: Mapping[str, Any],
    timeout: Optional[float],
) -> Tuple[bytes, int]:
    """The arguments of ``tcsms_send_sms`` (or its twin) for a ``*_results`` method: the
    request's JSON (:func:`results_request`) and the time limit in milliseconds (0: the
    client's)."""
    body = to_json(results_request(action, request, values), f"{action} request")
    timeout_ms = 0 if timeout is None else seconds_to_ms(timeout, "timeout")
    return body, timeout_ms


# -- answers ---------------------------------------------------------------------------

def error(status: int, data: Optional[bytes]) -> TcsmsError:
    """The exception of a failed call: its status and the library's error envelope."""
    envelope: Any = None
    if data:
        try:
            envelope = json.loads(data.decode("utf-8", "replace"))
        except (ValueError, RecursionError):
            envelope = None
    return error_from_envelope(status, envelope, _ffi.status_str(status))


def result(status: int, data: Optional[bytes]) -> Response:
    """The ``Response`` object of a call's answer, or the exception of its failure."""
    if status:  # Status.OK is 0
        raise error(status, data)
    try:
        doc = from_json(data) if data else None
    except (ValueError, RecursionError) as exc:
        # RecursionError: nesting deeper than Python's parser can follow.
        raise DecodeError(
            f"the library returned an undecodable answer: {exc}",
            status=Status.DECODE,
            code="ClientError.Decode",
        ) from None
    response = doc.get("Response") if isinstance(doc, dict) else None
    if not isinstance(response, dict):
        raise DecodeError(
            "the library returned an answer without a Response object",
            status=Status.DECODE,
            code="ClientError.Decode",
        )
    return response
