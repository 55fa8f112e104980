"""The :class:`AsyncClient` class: asyncio calls over libtcsms's completion queue."""

from __future__ import annotations

import asyncio
import itertools
import sys
from ctypes import byref, c_char_p, c_int32, c_uint64, c_void_p
from typing import Any, Dict, Mapping, Optional, Tuple

from . import _ffi
from ._actions import Response
from ._client import (
    Client,
    _encode,
    _report_conversion_params,
    _request_json,
    _seconds_to_ms,
    _to_json,
)
from ._errors import ClientClosedError, InvalidArgument, Status

__all__ = ["AsyncClient"]

_Result = Tuple[int, Optional[bytes]]


class AsyncClient:
    """An asyncio client for the Tencent Cloud SMS API (2021-01-11).

    Example::

        import asyncio, tcsms

        async def main() -> None:
            async with tcsms.AsyncClient(secret_id="AKID...", secret_key="...") as client:
                answers = await asyncio.gather(
                    *(client.report_conversion("1400000001", s) for s in serials)
                )

        asyncio.run(main())

    Calls are submitted to the library's completion queue and made by its worker
    threads; the event loop waits for the queue's file descriptor
    (``loop.add_reader``), so no Python thread blocks per call. Results and errors are
    those of :class:`tcsms.Client`.

    Arguments: those of :class:`tcsms.Client`, plus
        workers: worker threads making calls (1-256, default 16, started only while
            calls wait for one); at most this many calls are on the network at once,
            the others wait in the queue (their time limit runs while they wait).
            Against a distant service it bounds the rate: 16 workers at 50 ms a
            round trip make at most 320 calls/s.
        queue_capacity: calls pending at once (default 1024); one more raises
            :class:`tcsms.InvalidArgument` with code ``ClientError.QueueFull``.

    The client is bound to the event loop of its first call. :meth:`aclose` (or
    ``async with``) waits for pending calls; :meth:`close` does not (calls still
    awaited raise :class:`tcsms.ClientClosedError`; queued ones are never sent).
    """

    def __init__(
        self,
        *args: Any,
        workers: Optional[int] = None,
        queue_capacity: Optional[int] = None,
        **kwargs: Any,
    ) -> None:
        self._queue: Optional[int] = None
        self._client = Client(*args, **kwargs)
        options: Dict[str, int] = {"workers": 16}
        for key, value in (("workers", workers), ("capacity", queue_capacity)):
            if value is not None:
                if isinstance(value, bool) or not isinstance(value, int):
                    self._client.close()
                    raise InvalidArgument(
                        f"{'queue_capacity' if key == 'capacity' else key} must be an int",
                        status=Status.INVALID_ARGUMENT,
                        code="ClientError.InvalidArgument",
                    )
                options[key] = value
        queue = c_void_p()
        options_b = _to_json(options, "queue options")
        status, data = _ffi.call_out(_ffi.out_lib.tcsms_queue_new, options_b, byref(queue))
        if status != Status.OK or not queue.value:
            self._client.close()
            raise Client._error(status if status != Status.OK else Status.PANIC, data)
        self._queue = queue.value
        self._fd: int = int(_ffi.lib.tcsms_queue_fd(self._queue))
        self._futures: Dict[int, "asyncio.Future[_Result]"] = {}
        self._tags = itertools.count()
        self._loop: Optional[asyncio.AbstractEventLoop] = None

    # -- lifetime ---------------------------------------------------------------------

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Wait for the pending calls, then release the queue and the client. Idempotent."""
        pending = [f for f in self._futures.values() if not f.done()]
        if pending:
            await asyncio.wait(pending)
        self.close()

    def close(self) -> None:
        """Release the queue and the client now: waits for the calls a worker is making
        (each within its time limit), drops the queued ones (never sent); every call
        still awaited raises :class:`tcsms.ClientClosedError`. Idempotent."""
        queue, self._queue = self._queue, None
        if queue is None:
            return
        self._detach()
        _ffi.lib.tcsms_queue_free(queue)
        futures, self._futures = self._futures, {}
        for future in futures.values():
            if not future.done():
                future.set_exception(
                    ClientClosedError(
                        "the client was closed before the call was made",
                        status=Status.INVALID_ARGUMENT,
                        code="ClientError.ClientClosed",
                    )
                )
        self._client.close()

    @property
    def closed(self) -> bool:
        """Whether the client has been closed."""
        return self._queue is None

    def __del__(self) -> None:
        """Safety net only (use ``async with`` or aclose()); skipped at interpreter exit."""
        try:
            queue = self.__dict__.get("_queue")
            if queue and not sys.is_finalizing():
                self._queue = None
                _ffi.lib.tcsms_queue_free(queue)
        except Exception:  # pragma: no cover - never raise from __del__
            pass

    def __repr__(self) -> str:
        inner = repr(self._client).replace("<tcsms.Client", "<tcsms.AsyncClient", 1)
        return inner if not self.closed else inner.replace(" open>", " closed>")

    # -- the event loop ---------------------------------------------------------------

    def _attach(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            if self._loop is not None and self._futures:
                raise RuntimeError("this tcsms.AsyncClient has calls pending on another event loop")
            self._detach()
            loop.add_reader(self._fd, self._drain)
            self._loop = loop
        return loop

    def _detach(self) -> None:
        if self._loop is not None:
            if not self._loop.is_closed():
                self._loop.remove_reader(self._fd)
            self._loop = None

    def _drain(self) -> None:
        """The fd is readable: hand every finished call to its future."""
        tag, status, out = c_uint64(), c_int32(), c_char_p()
        next_ = _ffi.out_lib.tcsms_queue_next
        while self._queue is not None:
            if next_(self._queue, byref(tag), byref(status), byref(out)) != 1:
                return
            data = _ffi.take(out)
            future = self._futures.pop(tag.value, None)
            if future is not None and not future.done():  # cancelled: the answer is dropped
                future.set_result((status.value, data))

    # -- calls ------------------------------------------------------------------------

    async def _submit(self, action: str, request_b: bytes, timeout: Optional[float]) -> Response:
        timeout_ms = 0 if timeout is None else _seconds_to_ms(timeout, "timeout")
        action_b = _encode(action, "action")
        if self._queue is None or self._client.closed:
            raise ClientClosedError(
                "the client is closed",
                status=Status.INVALID_ARGUMENT,
                code="ClientError.ClientClosed",
            )
        loop = self._attach()
        tag = next(self._tags)
        future: "asyncio.Future[_Result]" = loop.create_future()
        self._futures[tag] = future
        queue, handle = self._queue, self._client._acquire()
        try:
            status, data = _ffi.call_out(
                _ffi.out_lib.tcsms_submit, queue, handle, action_b, request_b, timeout_ms, tag
            )
        finally:
            self._client._release()
        if status != Status.OK:
            del self._futures[tag]
            raise Client._error(status, data)
        status, data = await future
        return Client._result(status, data)

    async def call(
        self,
        action: str,
        params: Optional[Mapping[str, Any]] = None,
        *,
        timeout: Optional[float] = None,
    ) -> Response:
        """As :meth:`tcsms.Client.call`, as a coroutine."""
        return await self._submit(action, _request_json(action, params), timeout)

    async def report_conversion(
        self,
        sms_sdk_app_id: str,
        serial_no: str,
        conversion_time: Optional[int] = None,
        *,
        timeout: Optional[float] = None,
    ) -> Response:
        """As :meth:`tcsms.Client.report_conversion`, as a coroutine."""
        params = _report_conversion_params(sms_sdk_app_id, serial_no, conversion_time)
        return await self.call("ReportConversion", params, timeout=timeout)
