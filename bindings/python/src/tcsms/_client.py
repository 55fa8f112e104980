"""The :class:`Client` class."""

from __future__ import annotations

import json
import json.decoder
import math
import sys
import threading
from ctypes import byref, c_void_p
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from . import _ffi
from ._actions import ACTION_FIELDS, STRUCT_FIELDS, ActionsMixin, Response
from ._send import SendMixin
from ._events import EventCallback, EventsMixin
from ._errors import (
    ClientClosedError,
    DecodeError,
    InvalidArgument,
    Status,
    error_from_envelope,
)

__all__ = ["Client"]

# The functions of the call path, looked up once.
_call = _ffi.out_lib.tcsms_call
_call_with_timeout = _ffi.out_lib.tcsms_call_with_timeout
_report_conversion = _ffi.out_lib.tcsms_report_conversion


def _encode(value: str, what: str) -> bytes:
    """UTF-8 bytes for a C string argument, refusing what C cannot carry."""
    if not isinstance(value, str):
        raise InvalidArgument(
            f"{what} must be a str, not {type(value).__name__}",
            status=Status.INVALID_ARGUMENT,
            code="ClientError.InvalidArgument",
        )
    try:
        data = value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidArgument(
            f"{what} is not valid UTF-8 text: {exc}",
            status=Status.INVALID_UTF8,
            code="ClientError.InvalidUtf8",
        ) from None
    if 0 in data:  # the int: `b"\0" in data` raises and clears a TypeError first
        raise InvalidArgument(
            f"{what} contains a NUL character",
            status=Status.INVALID_ARGUMENT,
            code="ClientError.InvalidArgument",
        )
    return data


# json.dumps with these options would build a new encoder per call.
_json_encoder = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False)


def _to_json(value: Any, what: str) -> bytes:
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


def _from_json(data: bytes) -> Any:
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


def _conversion_time(value: Any) -> int:
    """``ConversionTime`` as the C call takes it (-1: omitted), checked."""
    if value is None:
        return -1
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(
            "conversion_time must be an int (Unix seconds) or None",
            status=Status.INVALID_ARGUMENT,
            code="ClientError.InvalidArgument",
        )
    if value < 0:
        raise InvalidArgument(
            "conversion_time must not be negative",
            status=Status.INVALID_ARGUMENT,
            code="ClientError.InvalidArgument",
        )
    if value > 2**63 - 1:
        raise InvalidArgument(
            "conversion_time is too large",
            status=Status.INVALID_ARGUMENT,
            code="ClientError.InvalidArgument",
        )
    return value


def _report_conversion_params(
    sms_sdk_app_id: str, serial_no: str, conversion_time: Optional[int]
) -> Dict[str, Any]:
    """The ReportConversion request of :meth:`Client.report_conversion`'s arguments."""
    params: Dict[str, Any] = {"SmsSdkAppId": sms_sdk_app_id, "SerialNo": serial_no}
    if _conversion_time(conversion_time) >= 0:
        params["ConversionTime"] = conversion_time
    return params


def _request_json(action: str, params: Optional[Mapping[str, Any]]) -> bytes:
    """The JSON body of a call of ``action`` with ``params`` (None: ``{}``)."""
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise InvalidArgument(
            f"params must be a dict, not {type(params).__name__}",
            status=Status.INVALID_JSON,
            code="ClientError.InvalidJson",
        )
    return _to_json(dict(params), f"{action} request")


def _seconds_to_ms(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgument(
            f"{what} must be a number of seconds, not {type(value).__name__}",
            status=Status.INVALID_ARGUMENT,
            code="ClientError.InvalidArgument",
        )
    if not math.isfinite(value) or value <= 0:
        raise InvalidArgument(
            f"{what} must be a positive number of seconds, got {value!r}",
            status=Status.INVALID_ARGUMENT,
            code="ClientError.InvalidArgument",
        )
    return max(1, int(math.ceil(value * 1000)))


def _bad_field(action: str, field: str, message: str) -> InvalidArgument:
    return InvalidArgument(
        f"{action}: {field} {message}",
        status=Status.INVALID_ARGUMENT,
        code="ClientError.InvalidArgument",
    )


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
    result: Dict[str, Any] = {}
    for key, value in item.items():
        found = names.get(key) if isinstance(key, str) else None
        if found is None:
            known = ", ".join(p for p, _s, _k in STRUCT_FIELDS[struct])
            raise _bad_field(action, field, f"entry has unknown key {key!r} (known: {known})")
        if found in result:
            raise _bad_field(action, field, f"entry gives {found} twice")
        if value is not None:
            result[found] = value
    return result


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


def _make_finalizer() -> Callable[[Any], None]:
    # A closure, so the finalizer holds its own references to what it needs even when
    # module globals are being torn down, and help(Client) shows a plain __del__(self).
    lib = _ffi.lib
    is_finalizing = sys.is_finalizing

    def __del__(self: Any) -> None:
        """Safety net only (use close() or a with-block); skipped at interpreter exit."""
        try:
            handle = self.__dict__.get("_handle")
            if handle and not is_finalizing():
                self._handle = None
                self._closed = True
                lib.tcsms_client_free(handle)
        except Exception:  # pragma: no cover - never raise from __del__
            pass

    return __del__


class Client(ActionsMixin, SendMixin, EventsMixin):
    """A client for the Tencent Cloud SMS API (2021-01-11), backed by libtcsms.

    Example::

        import tcsms

        with tcsms.Client(secret_id="AKID...", secret_key="...") as client:
            resp = client.send_sms(
                phone_number_set=["+8613800000000"],
                sms_sdk_app_id="1400000001",
                template_id="2001",
                sign_name="tcsms",
                template_param_set=["1234", "5"],
            )
            serial_no = resp["SendStatusSet"][0]["SerialNo"]
            client.report_conversion("1400000001", serial_no)

    Every method returns the service's ``Response`` object as a dict (``RequestId``
    included) and raises a :class:`tcsms.TcsmsError` subclass on failure.

    Arguments (``None`` means "use the library's default"):
        secret_id, secret_key: API credentials.  Default: the environment variables
            ``TENCENTCLOUD_SECRET_ID``/``TENCENTCLOUD_SECRET_KEY``, then
            ``~/.tencentcloud/credentials``.
        token: session token for temporary credentials.
        region: the ``X-TC-Region`` to call (default ``"ap-guangzhou"``).
        endpoint: ``host``, ``host:port``, ``https://host[:port]`` or ``http://host:port``
            (default ``sms.intl.tencentcloudapi.com``).
        language: ``"en-US"`` or ``"zh-CN"`` for error messages.
        timeout: seconds a whole call may take, retries included (default 15).
        max_retries: retries of transient failures (default 2).
        connect_timeout: seconds to establish a connection (default 5).
        proxy: proxy URL (default: ``HTTPS_PROXY``/``NO_PROXY`` from the environment).
        ca_file: PEM file with extra root certificates.
        rate_limits: client-side rate limits, requests per second by action name, ``"*"``
            for every action not named, 0 for none (``{"*": 0}`` turns limiting off).
            Default: 85 % of each action's documented limit; a call waits for its turn
            within its timeout, else raises :class:`tcsms.TimeoutError` with code
            ``ClientError.RateLimited`` without sending.
        on_event: a callable receiving each event (one per attempt and per call) as a
            dict, on the calling thread; events also go to the ``logging`` logger
            ``"tcsms"`` at DEBUG (hooked when ``on_event`` is given or that logger has
            DEBUG enabled at creation; see :meth:`set_event_callback` and docs/events.md).
        log_phone_numbers: events show phone numbers in full (default: masked,
            ``+86137****2222``).
        config: raw configuration keys for ``tcsms_client_new`` (``timeout_ms``,
            ``max_retries``, ...), e.g. for options newer than this binding.  A keyword
            argument that is given (not ``None``) wins over the same key in ``config``;
            keywords left out never override it.

    Thread safety: one client may be shared by any number of threads; calls run in
    parallel (the GIL is released during each call).  :meth:`close` waits for calls
    in flight and makes later calls raise :class:`tcsms.ClientClosedError`.
    """

    def __init__(
        self,
        secret_id: Optional[str] = None,
        secret_key: Optional[str] = None,
        token: Optional[str] = None,
        region: Optional[str] = None,
        endpoint: Optional[str] = None,
        language: Optional[str] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        connect_timeout: Optional[float] = None,
        proxy: Optional[str] = None,
        ca_file: Optional[str] = None,
        *,
        rate_limits: Optional[Mapping[str, float]] = None,
        on_event: Optional[EventCallback] = None,
        log_phone_numbers: Optional[bool] = None,
        config: Optional[Mapping[str, Any]] = None,
    ) -> None:
        self._handle: Optional[int] = None
        self._closed = True
        self._inflight = 0
        # _acquire/_release take the plain lock (a Condition's `with` costs a Python
        # call per call); close() waits on _idle, which shares it.
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        cfg: Dict[str, Any] = dict(config) if config else {}
        explicit: Dict[str, Any] = {
            "secret_id": secret_id,
            "secret_key": secret_key,
            "token": token,
            "region": region,
            "endpoint": endpoint,
            "language": language,
            "timeout_ms": None if timeout is None else _seconds_to_ms(timeout, "timeout"),
            "connect_timeout_ms": (
                None if connect_timeout is None
                else _seconds_to_ms(connect_timeout, "connect_timeout")
            ),
            "max_retries": max_retries,
            "proxy": proxy,
            "ca_file": ca_file,
            "rate_limits": None if rate_limits is None else dict(rate_limits),
            "log_phone_numbers": log_phone_numbers,
        }
        for key, value in explicit.items():
            if value is not None:
                cfg[key] = value
        cfg = {k: v for k, v in cfg.items() if v is not None}
        self._region = cfg.get("region", "ap-guangzhou")
        self._endpoint = cfg.get("endpoint")
        config_json = _to_json(cfg, "client configuration")

        handle = c_void_p()
        status, data = _ffi.call_out(_ffi.out_lib.tcsms_client_new, config_json, byref(handle))
        if status != Status.OK or not handle.value:
            if handle.value:  # contract says NULL on failure; never leak regardless
                _ffi.lib.tcsms_client_free(handle)
            raise self._error(status if status != Status.OK else Status.PANIC, data)
        self._handle = handle.value
        self._closed = False
        self._install_events(on_event)

    # -- lifetime ---------------------------------------------------------------------

    def close(self) -> None:
        """Release the native client.

        Idempotent.  Calls already running on other threads finish first; calls made
        afterwards raise :class:`tcsms.ClientClosedError`.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            while self._inflight:
                self._idle.wait()
            handle, self._handle = self._handle, None
        if handle:
            _ffi.lib.tcsms_client_free(handle)
        self._event_thunks = []

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return self._closed

    def __enter__(self) -> Client:
        self._acquire()
        self._release()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    __del__ = _make_finalizer()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        endpoint = self._endpoint or "default endpoint"
        return f"<tcsms.Client {endpoint} region={self._region!r} {state}>"

    def _acquire(self) -> int:
        with self._lock:
            handle = self._handle
            if self._closed or not handle:
                raise ClientClosedError(
                    "the client is closed",
                    status=Status.INVALID_ARGUMENT,
                    code="ClientError.ClientClosed",
                )
            self._inflight += 1
            return handle

    def _release(self) -> None:
        with self._lock:
            self._inflight -= 1
            if self._closed and not self._inflight:  # only close() waits
                self._idle.notify_all()

    # -- calls ------------------------------------------------------------------------

    @staticmethod
    def _error(status: int, data: Optional[bytes]) -> Exception:
        envelope: Any = None
        if data:
            try:
                envelope = json.loads(data.decode("utf-8", "replace"))
            except (ValueError, RecursionError):
                envelope = None
        return error_from_envelope(status, envelope, _ffi.status_str(status))

    @classmethod
    def _result(cls, status: int, data: Optional[bytes]) -> Response:
        if status:  # Status.OK is 0
            raise cls._error(status, data)
        try:
            doc = _from_json(data) if data else None
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

    def call(
        self,
        action: str,
        params: Optional[Mapping[str, Any]] = None,
        *,
        timeout: Optional[float] = None,
    ) -> Response:
        """Call any action by name with its request fields as a dict.

        Args:
            action: the action name, e.g. ``"SendSms"``.
            params: the request body: PascalCase field names as in the API
                documentation, e.g. ``{"SmsSdkAppId": "1400000001", ...}``.
            timeout: seconds capping this call, retries included (at most the client's
                timeout); ``None`` uses the client's timeout.

        Returns:
            The ``Response`` object as a dict, ``RequestId`` included.

        Raises:
            APIError: the service refused the request (``.code``, ``.request_id``).
            NetworkError, TimeoutError: no valid answer arrived.
            InvalidArgument: unknown action or a request that is not a JSON object.
        """
        action_b = _encode(action, "action")
        request_b = _request_json(action, params)
        timeout_ms = None if timeout is None else _seconds_to_ms(timeout, "timeout")

        handle = self._acquire()
        try:
            if timeout_ms is None:
                status, data = _ffi.call_out(_call, handle, action_b, request_b)
            else:
                status, data = _ffi.call_out(
                    _call_with_timeout, handle, action_b, request_b, timeout_ms
                )
        finally:
            self._release()
        return self._result(status, data)

    def report_conversion(
        self,
        sms_sdk_app_id: str,
        serial_no: str,
        conversion_time: Optional[int] = None,
        *,
        timeout: Optional[float] = None,
    ) -> Response:
        """Report that the user acted on a message (for conversion-rate statistics).

        Calls the ``ReportConversion`` action and returns its ``Response`` object
        (a dict with ``ReportConversionStatus`` and ``RequestId``).

        Args:
            sms_sdk_app_id: ``SmsSdkAppId``, the SMS application ID, e.g. ``"1400000001"``.
            serial_no: ``SerialNo`` of the message, from SendSms's ``SendStatusSet``.
            conversion_time: ``ConversionTime``, Unix seconds of the conversion;
                ``None`` omits it (the service uses the time it receives the report).
            timeout: seconds capping this call, retries included; ``None`` uses the
                client's timeout.

        Raises:
            APIError: the service refused the request (``.code``, ``.request_id``).
            NetworkError, TimeoutError: no valid answer arrived.
            InvalidArgument: an argument was refused before sending.
        """
        if timeout is not None:
            return self._invoke(
                "ReportConversion",
                _report_conversion_params(sms_sdk_app_id, serial_no, conversion_time),
                timeout,
            )
        when = _conversion_time(conversion_time)
        app_b = _encode(sms_sdk_app_id, "sms_sdk_app_id")
        serial_b = _encode(serial_no, "serial_no")
        handle = self._acquire()
        try:
            status, data = _ffi.call_out(_report_conversion, handle, app_b, serial_b, when)
        finally:
            self._release()
        return self._result(status, data)

    def _invoke(
        self, action: str, values: Dict[str, Any], timeout: Optional[float]
    ) -> Response:
        """Build the request of a typed method (drop None, convert nested structs)."""
        kinds = _FIELD_KINDS[action]
        params: Dict[str, Any] = {}
        for pascal, value in values.items():
            if value is None:
                continue
            params[pascal] = _convert(action, pascal, kinds[pascal], value)
        return self.call(action, params, timeout=timeout)

