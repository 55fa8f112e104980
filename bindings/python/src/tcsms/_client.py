"""The :class:`Client` class."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from . import _ffi
from ._actions import ActionsMixin, Response
from ._core import ClientCore
from ._marshal import (
    action_request,
    conversion_time as checked_conversion_time,
    encode,
    error,
    report_conversion_params,
    request_json,
    result,
    results_call,
    seconds_to_ms,
)
from ._results import SendResults, parse_results
from ._errors import Status

__all__ = ["Client"]

# The functions of the call path, looked up once.
_call = _ffi.out_lib.tcsms_call
_call_with_timeout = _ffi.out_lib.tcsms_call_with_timeout
_report_conversion = _ffi.out_lib.tcsms_report_conversion

#: The C function of each ``*_results`` method.
RESULTS_FUNCTIONS = {
    "SendSms": _ffi.out_lib.tcsms_send_sms_with_timeout,
    "SendMultiGlobalSms": _ffi.out_lib.tcsms_send_multi_global_sms_with_timeout,
}


def send_results_blocking(
    core: ClientCore, action: str, body: bytes, timeout_ms: int
) -> SendResults:
    """``tcsms_send_sms`` (or its twin) on ``core``'s native client, blocking."""
    handle = core._acquire()
    try:
        status, data = _ffi.call_out(RESULTS_FUNCTIONS[action], handle, body, timeout_ms)
    finally:
        core._release()
    if status not in (Status.OK, Status.PARTIAL):
        raise error(status, data)
    return parse_results(data)


class Client(ClientCore, ActionsMixin):
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

    Arguments (``None`` means "use the library's default"); everything after the
    credentials is keyword-only:
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
        proxy: proxy URL (default: ``ALL_PROXY``/``HTTPS_PROXY``/``HTTP_PROXY`` and
            ``NO_PROXY`` from the environment).
        ca_file: PEM file with extra root certificates.
        rate_limits: client-side rate limits, requests per second by action name, ``"*"``
            for every action not named, 0 for none (``{"*": 0}`` turns limiting off).
            Default: 85 % of each action's documented limit; a call waits for its turn
            within its timeout, else raises :class:`tcsms.TimeoutError` with code
            ``ClientError.RateLimited`` without sending.
        rate_limit_store: ``"redis://[user:password@]host:port[/db]"``: clients with the
            same store and ``rate_limit_key`` share one budget per action (processes and
            hosts on one account); default: in-process buckets.  See the README.
        rate_limit_key: the shared budget's namespace (default: derived from the
            SecretId, or a role client's role, and the region without revealing them).
        rate_limit_store_fallback_share: while the store is down, this client's share
            of ``rate_limits``, greater than 0 and at most 1 (default: 1/N of the N
            clients the store last counted on the budget).
        log_phone_numbers: events show phone numbers in full (default: masked,
            ``+86137****2222``).
        credential_source, cvm_role_name, role_arn, role_session_name,
        role_duration_seconds, oidc_provider_id, oidc_token_file, metadata_endpoint,
        sts_endpoint: temporary credentials from a role instead of fixed keys:
            ``credential_source="cvm_role"`` (the CVM instance's CAM role) or ``"oidc"``
            (TKE web identity; defaults from ``TKE_PROVIDER_ID``,
            ``TKE_WEB_IDENTITY_TOKEN_FILE``, ``TKE_ROLE_ARN``); ``role_arn`` alone assumes
            that role with the keys found.  Refreshed ahead of expiry in the background;
            each refresh sends a ``credentials`` event (from the library's refresh
            thread).  See the README's "Credentials from a role".
        on_event: a callable receiving each event (one per attempt and per call) as a
            dict, on the calling thread; events also go to the ``logging`` logger
            ``"tcsms"`` at DEBUG (hooked when ``on_event`` is given or that logger has
            DEBUG enabled at creation; see :meth:`set_event_callback` and docs/events.md).
        config: raw configuration keys for ``tcsms_client_new`` (``timeout_ms``,
            ``max_retries``, ...), e.g. for options newer than this binding.  A keyword
            argument that is given (not ``None``) wins over the same key in ``config``;
            keywords left out never override it.

    The secret key, the token, the proxy URL and the store URL never appear in ``repr()``, in error
    messages or in a traceback's local variables.

    Thread safety: one client may be shared by any number of threads; calls run in
    parallel (the GIL is released during each call).  :meth:`close` waits for calls
    in flight and makes later calls raise :class:`tcsms.ClientClosedError`.
    """

    # -- lifetime ---------------------------------------------------------------------

    def close(self) -> None:
        """Release the native client.

        Idempotent.  Calls already running on other threads finish first; calls made
        afterwards raise :class:`tcsms.ClientClosedError`.
        """
        self._close_client()

    def __enter__(self) -> Client:
        self._acquire()
        self._release()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- calls ------------------------------------------------------------------------

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
        action_b = encode(action, "action")
        request_b = request_json(action, params)
        timeout_ms = None if timeout is None else seconds_to_ms(timeout, "timeout")

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
        return result(status, data)

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
            return self.call(
                "ReportConversion",
                report_conversion_params(sms_sdk_app_id, serial_no, conversion_time),
                timeout=timeout,
            )
        when = checked_conversion_time(conversion_time)
        app_b = encode(sms_sdk_app_id, "sms_sdk_app_id")
        serial_b = encode(serial_no, "serial_no")
        handle = self._acquire()
        try:
            status, data = _ffi.call_out(_report_conversion, handle, app_b, serial_b, when)
        finally:
            self._release()
        return result(status, data)

    def _invoke(self, action: str, values: Dict[str, Any], timeout: Optional[float]) -> Response:
        """A typed method's call: its request built from the keywords."""
        return self.call(action, action_request(action, values), timeout=timeout)

    def _send_results(
        self,
        action: str,
        request: Optional[Mapping[str, Any]],
        values: Dict[str, Any],
        timeout: Optional[float],
    ) -> SendResults:
        """A ``*_results`` method's call (``tcsms_send_sms`` or its twin)."""
        body, timeout_ms = results_call(action, request, values, timeout)
        return send_results_blocking(self, action, body, timeout_ms)
