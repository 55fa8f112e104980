"""What :class:`tcsms.Client` and :class:`tcsms.AsyncClient` share: the configuration,
the native client's lifetime (a :class:`~tcsms._handle.Handle`), credential rotation,
the clock offset, events and statistics."""

from __future__ import annotations

import ctypes
import json
import logging
import os
from ctypes import byref, c_int64, c_uint64, c_void_p
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple

from . import _ffi
from ._config import Redacted, Settings, new_client, signature
from ._errors import InvalidArgument, Status, TcsmsError
from ._events import EventCallback, logger, make_thunk
from ._handle import Handle, closed_error
from ._marshal import encode, error, result, seconds_to_ms

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._config import ClientOptions

__all__ = ["ClientCore"]


def _credentials(creds: Redacted) -> Tuple[Optional[TcsmsError], Redacted]:
    """The C arguments of ``set_credentials`` (as :class:`Redacted` bytes), or the error
    refusing them; returns either way, so no frame holding a secret is in a traceback."""
    args: List[Optional[bytes]] = []
    for value, what in zip(creds.reveal(), ("secret_id", "secret_key", "token")):
        if value is None and what == "token":
            args.append(None)
            continue
        try:
            args.append(encode(value, what))
        except InvalidArgument as exc:
            return exc.with_traceback(None), Redacted(None)
    return None, Redacted(tuple(args))


class ClientCore:
    """The native client and what every client does with it directly."""

    # Set first thing in __init__, so repr() and close() work on a half-built client.
    _owner: Optional[Handle] = None
    _region: str = "ap-guangzhou"
    _endpoint: Optional[str] = None
    _event_thunks: List[Any] = []

    _error = staticmethod(error)
    _result = staticmethod(result)

    def __init__(
        self,
        secret_id: Optional[str] = None,
        secret_key: Optional[str] = None,
        *,
        on_event: Optional[EventCallback] = None,
        config: Optional[Mapping[str, Any]] = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        # The secrets go into a redacting holder at once: no plain local keeps them.
        settings = Settings(secret_id, secret_key, options, config)
        del secret_key, options, config
        self._start(settings, on_event)

    def _start(self, settings: Settings, on_event: Optional[EventCallback]) -> None:
        """Make the native client; raises ConfigError (or InvalidArgument) when refused."""
        self._event_thunks = []
        plain, native = settings.native()
        self._region = plain.get("region", "ap-guangzhou")
        # As the library does: without `endpoint`, a non-empty TCSMS_ENDPOINT is used.
        env_endpoint = os.environ.get("TCSMS_ENDPOINT")
        self._endpoint = plain.get("endpoint") or (
            f"{env_endpoint} (from TCSMS_ENDPOINT)" if env_endpoint else None
        )
        status, pointer, data = new_client(native)
        del native
        if pointer is None:
            raise error(status, data)
        self._owner = Handle(pointer, _ffi.lib.tcsms_client_free)
        if on_event is not None or logger.isEnabledFor(logging.DEBUG):
            self.set_event_callback(on_event, log=True)

    # -- lifetime ---------------------------------------------------------------------

    def _acquire(self) -> int:
        owner = self._owner
        if owner is None:
            raise closed_error()
        return owner.acquire()

    def _release(self) -> None:
        if self._owner is not None:
            self._owner.release()

    def _close_client(self) -> None:
        """Release the native client once the calls in flight are done. Idempotent."""
        if self._owner is not None:
            self._owner.close()
        self._event_thunks = []

    @property
    def closed(self) -> bool:
        """Whether the client has been closed (or was never made)."""
        return self._owner is None or self._owner.closed

    def __repr__(self) -> str:
        # Never raises, also for a client whose __init__ failed half-way.
        try:
            state = "closed" if self.closed else "open"
            endpoint = self._endpoint or "default endpoint"
            return f"<tcsms.{type(self).__name__} {endpoint} region={self._region!r} {state}>"
        except Exception:  # noqa: BLE001 - repr must not raise
            return f"<tcsms.{type(self).__name__}>"

    # -- credentials, clock, events, statistics ----------------------------------------

    def set_credentials(self, secret_id: str, secret_key: str, token: Optional[str] = None) -> None:
        """Replace the credentials (for example temporary ones about to expire).

        Safe while other threads are calling: calls already signing finish with the old
        credentials, later ones use the new; connections are kept; the old secrets are
        zeroed in the library when the last call using them ends.  Bad values raise
        :class:`tcsms.ConfigError` (or :class:`tcsms.InvalidArgument`) and keep the
        current credentials.
        """
        problem, args = _credentials(Redacted((secret_id, secret_key, token)))
        del secret_key, token
        if problem is not None:
            raise problem
        handle = self._acquire()
        try:
            status, data = _ffi.call_out(
                _ffi.out_lib.tcsms_client_set_credentials, handle, *args.reveal()
            )
        finally:
            self._release()
        if status != Status.OK:
            raise error(status, data)

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
            raise error(status, None)
        return int(seconds.value)

    def connect_ahead(self, count: int, *, timeout: Optional[float] = None) -> int:
        """Open connections (TCP, proxy tunnel, TLS handshake) before the first calls, so
        that up to ``count`` (at most 64) idle connections wait for them; nothing is sent.
        Returns how many wait.  ``timeout``: seconds capping the whole (at most the
        client's timeout; ``None``: the client's).  Blocks (from asyncio, run it in an
        executor).

        Raises:
            NetworkError, TimeoutError: the endpoint cannot be reached; the client is as
                before.
            InvalidArgument: ``count`` is not an integer from 0 to 2**32 - 1.
        """
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count < 2**32:
            raise InvalidArgument(
                f"count must be an integer from 0 to 2**32 - 1, got {count!r}",
                status=Status.INVALID_ARGUMENT,
                code="ClientError.InvalidArgument",
            )
        timeout_ms = 0 if timeout is None else seconds_to_ms(timeout, "timeout")
        ready = c_uint64(0)
        handle = self._acquire()
        try:
            status, data = _ffi.call_out(
                _ffi.out_lib.tcsms_client_connect_ahead, handle, count, timeout_ms, byref(ready)
            )
        finally:
            self._release()
        if status != Status.OK:
            raise error(status, data)
        return int(ready.value)

    def set_event_callback(self, on_event: Optional[EventCallback], *, log: bool = True) -> None:
        """Send every event to ``on_event`` (a callable taking the event dict) and, when
        ``log`` is true, to the ``"tcsms"`` logger at DEBUG.  ``on_event=None, log=False``
        turns events off.  Safe at any time from any thread.
        """
        handle = self._acquire()
        try:
            if on_event is None and not log:
                fn = None
            else:
                thunk = make_thunk(on_event)
                # Kept until close(): calls in flight may still call an older one.
                self._event_thunks.append(thunk)
                fn = ctypes.cast(thunk, c_void_p)
            status, data = _ffi.call_out(
                _ffi.out_lib.tcsms_client_set_event_callback, handle, fn, None
            )
        finally:
            self._release()
        if status != Status.OK:
            raise error(status, data)

    def stats(self) -> Dict[str, Any]:
        """Statistics since the client was made::

            {"Actions": {"SendSms": {"Calls": 3, "Attempts": 4, "Retries": 1,
                                     "Codes": {"ok": 3}, "LatencyUs": {"p50": .., "p90": ..,
                                     "p99": .., "max": ..}, "RateLimitWaits": 0,
                                     "RateLimitWaitUs": 0}},
             "RateLimitWaits": 0, "RateLimitWaitUs": 0}

        ``Codes`` counts calls by final outcome (successes under ``"ok"``) and sums to
        ``Calls``.
        """
        handle = self._acquire()
        try:
            status, data = _ffi.call_out(_ffi.out_lib.tcsms_client_stats, handle)
        finally:
            self._release()
        if status != Status.OK or not data:
            raise error(status, data)
        stats: Dict[str, Any] = json.loads(data.decode("utf-8"))
        return stats


ClientCore.__init__.__signature__ = signature(ClientCore.__init__)  # type: ignore[attr-defined]
