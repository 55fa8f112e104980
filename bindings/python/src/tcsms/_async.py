"""The :class:`AsyncClient` class: asyncio calls over libtcsms's completion queue."""

from __future__ import annotations

import asyncio
import itertools
from ctypes import byref, c_char_p, c_int32, c_uint64, c_void_p
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Set, Tuple

from . import _ffi
from ._actions import AsyncActionsMixin, Response
from ._client import send_results_blocking
from ._config import Settings, signature
from ._core import ClientCore
from ._errors import InvalidArgument, Status
from ._events import EventCallback
from ._handle import Handle, closed_error
from ._marshal import (
    action_request,
    encode,
    error,
    report_conversion_params,
    request_json,
    result,
    results_call,
    seconds_to_ms,
    to_json,
)
from ._results import SendResults

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._config import ClientOptions

__all__ = ["AsyncClient"]

_Result = Tuple[int, Optional[bytes]]


def _queue_options(workers: Any, queue_capacity: Any) -> Dict[str, int]:
    options: Dict[str, int] = {"workers": 16}
    for key, name, value in (("workers", "workers", workers), ("capacity", "queue_capacity", queue_capacity)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidArgument(
                    f"{name} must be an int",
                    status=Status.INVALID_ARGUMENT,
                    code="ClientError.InvalidArgument",
                )
            options[key] = value
    return options


class AsyncClient(ClientCore, AsyncActionsMixin):
    """An asyncio client for the Tencent Cloud SMS API (2021-01-11).

    Example::

        import asyncio, tcsms

        async def main() -> None:
            async with tcsms.AsyncClient(secret_id="AKID...", secret_key="...") as client:
                resp = await client.send_sms(
                    phone_number_set=["+8613800000000"], sms_sdk_app_id="1400000001",
                    template_id="2001", sign_name="tcsms", template_param_set=["1234", "5"],
                )
                await client.report_conversion("1400000001", resp["SendStatusSet"][0]["SerialNo"])

        asyncio.run(main())

    Every method of :class:`tcsms.Client` is here, as a coroutine where it calls the
    service: :meth:`call`, :meth:`report_conversion`, one typed method per action,
    :meth:`send_sms_results` and :meth:`send_multi_global_sms_results`;
    ``set_credentials``, ``clock_offset``, ``set_event_callback`` and ``stats`` are the
    same plain methods.  Results and errors are those of :class:`tcsms.Client`.

    Calls are submitted to the library's completion queue; the event loop waits for
    the queue's file descriptor (``loop.add_reader``), so no Python thread blocks per
    call.  A call on a kept-alive connection is written when it is made and its answer
    read on the event loop's thread; the others (new connections, retries, a client
    with an event callback) are made by the queue's worker threads.  The ``*_results``
    methods (batching, per-number results) run the library's blocking send in the
    loop's default executor.

    Arguments: those of :class:`tcsms.Client`, plus (keyword-only)
        workers: worker threads for the calls that need one (1-256, default 16,
            started only while calls wait for one): those that open a connection,
            wait for a rate-limit slot or retry.  At most this many of those are on
            the network at once, the others wait in the queue (their time limit runs
            while they wait); calls on kept-alive connections need no worker.
        queue_capacity: calls pending at once (default 1024); one more raises
            :class:`tcsms.InvalidArgument` with code ``ClientError.QueueFull``.

    The client is bound to the event loop of its first call. :meth:`aclose` (or
    ``async with``) waits for pending calls; :meth:`close` does not (calls still
    awaited raise :class:`tcsms.ClientClosedError`; queued ones are never sent).

    fork(): a child process that inherited the client gets a completion queue of its
    own at its first call (run the child's calls on a loop of its own, e.g.
    ``asyncio.run``; the event loop inherited from the parent is refused with a
    ``RuntimeError``); the parent's queue, loop and pending calls are never touched.
    """

    _queue: Optional[Handle] = None
    _loop: Optional[asyncio.AbstractEventLoop] = None
    # In a fork() child: the parent's loop, never registered on here.
    _inherited_loop: Optional[asyncio.AbstractEventLoop] = None

    def __init__(
        self,
        secret_id: Optional[str] = None,
        secret_key: Optional[str] = None,
        *,
        workers: Optional[int] = None,
        queue_capacity: Optional[int] = None,
        on_event: Optional[EventCallback] = None,
        config: Optional[Mapping[str, Any]] = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        settings = Settings(secret_id, secret_key, options, config)
        del secret_key, options, config
        self._queue_options = to_json(_queue_options(workers, queue_capacity), "queue options")
        self._futures: Dict[int, "asyncio.Future[_Result]"] = {}
        self._sends: Set["asyncio.Future[SendResults]"] = set()
        self._tags = itertools.count()
        self._start(settings, on_event)
        try:
            self._open_queue()
        except BaseException:
            self._close_client()
            raise

    def _open_queue(self) -> None:
        queue = c_void_p()
        status, data = _ffi.call_out(_ffi.out_lib.tcsms_queue_new, self._queue_options, byref(queue))
        if status != Status.OK or not queue.value:
            raise error(status if status != Status.OK else Status.PANIC, data)
        self._queue = Handle(queue.value, _ffi.lib.tcsms_queue_free, fork_safe=False)
        self._fd: int = int(_ffi.lib.tcsms_queue_fd(queue.value))
        self._futures = {}
        self._loop = None

    def _after_fork(self) -> None:
        """In a fork() child: forget the parent's queue, loop and pending calls (never
        freed nor unregistered here: they are the parent's) and make a queue of our own."""
        queue = self._queue
        if queue is None or not queue.inherited:
            return
        if self._loop is not None:
            self._inherited_loop = self._loop  # refused by _attach from now on
        queue.close()  # forgets it: not fork-safe
        self._queue = None
        self._loop = None
        self._futures = {}
        self._sends = set()
        self._open_queue()

    # -- lifetime ---------------------------------------------------------------------

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Wait for the pending calls, then release the queue and the client. Idempotent."""
        queue = self._queue
        if queue is not None and not queue.inherited:
            pending: List["asyncio.Future[Any]"] = [f for f in self._futures.values() if not f.done()]
            pending += [f for f in self._sends if not f.done()]
            if pending:
                await asyncio.wait(pending)
        self.close()

    def close(self) -> None:
        """Release the queue and the client now: waits for the calls a worker is making
        (each within its time limit), drops the queued ones (never sent); every call
        still awaited raises :class:`tcsms.ClientClosedError`. Idempotent."""
        queue, self._queue = self._queue, None
        if queue is not None:
            if queue.inherited:  # a fork() child: the queue and the loop are the parent's
                self._loop = None
                self._futures = {}
                queue.close()  # forgets it
            else:
                self._detach()
                queue.close()
                futures, self._futures = self._futures, {}
                for future in futures.values():
                    if not future.done():
                        future.set_exception(closed_error("the client was closed before the call was made"))
        self._close_client()

    @property
    def closed(self) -> bool:
        """Whether the client has been closed (or was never made)."""
        return self._queue is None or super().closed

    # -- the event loop ---------------------------------------------------------------

    def _attach(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if loop is self._inherited_loop:
            # Its epoll instance is shared with the parent: registering here would
            # change the parent's.
            raise RuntimeError(
                "this event loop was inherited across fork(); run the child's calls on a "
                "loop of its own (asyncio.run) to use the tcsms.AsyncClient there"
            )
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
        while True:
            queue = self._queue
            if queue is None or queue.inherited:  # never drain the parent's queue
                return
            if next_(queue.acquire(), byref(tag), byref(status), byref(out)) != 1:
                queue.release()
                return
            queue.release()
            data = _ffi.take(out)
            future = self._futures.pop(tag.value, None)
            if future is not None and not future.done():  # cancelled: the answer is dropped
                future.set_result((status.value, data))

    # -- calls ------------------------------------------------------------------------

    async def _submit(self, action: str, request_b: bytes, timeout: Optional[float]) -> Response:
        timeout_ms = 0 if timeout is None else seconds_to_ms(timeout, "timeout")
        action_b = encode(action, "action")
        self._after_fork()
        queue = self._queue
        if queue is None or self.closed:
            raise closed_error()
        loop = self._attach()
        queue_ptr = queue.acquire()
        try:
            handle = self._acquire()
            try:
                tag = next(self._tags)
                future: "asyncio.Future[_Result]" = loop.create_future()
                self._futures[tag] = future
                status, data = _ffi.call_out(
                    _ffi.out_lib.tcsms_submit, queue_ptr, handle, action_b, request_b, timeout_ms, tag
                )
            finally:
                self._release()
        finally:
            queue.release()
        if status != Status.OK:
            del self._futures[tag]
            raise error(status, data)
        status, data = await future
        return result(status, data)

    async def call(
        self,
        action: str,
        params: Optional[Mapping[str, Any]] = None,
        *,
        timeout: Optional[float] = None,
    ) -> Response:
        """As :meth:`tcsms.Client.call`, as a coroutine."""
        return await self._submit(action, request_json(action, params), timeout)

    async def report_conversion(
        self,
        sms_sdk_app_id: str,
        serial_no: str,
        conversion_time: Optional[int] = None,
        *,
        timeout: Optional[float] = None,
    ) -> Response:
        """As :meth:`tcsms.Client.report_conversion`, as a coroutine."""
        params = report_conversion_params(sms_sdk_app_id, serial_no, conversion_time)
        return await self.call("ReportConversion", params, timeout=timeout)

    async def _invoke(self, action: str, values: Dict[str, Any], timeout: Optional[float]) -> Response:
        """A typed method's call: its request built from the keywords."""
        return await self.call(action, action_request(action, values), timeout=timeout)

    async def _send_results(
        self,
        action: str,
        request: Optional[Mapping[str, Any]],
        values: Dict[str, Any],
        timeout: Optional[float],
    ) -> SendResults:
        """A ``*_results`` method's call: the library's blocking send, in an executor."""
        body, timeout_ms = results_call(action, request, values, timeout)
        self._after_fork()
        if self.closed:
            raise closed_error()
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(None, send_results_blocking, self, action, body, timeout_ms)
        self._sends.add(future)
        future.add_done_callback(self._sends.discard)
        return await future


AsyncClient.__init__.__signature__ = signature(AsyncClient.__init__)  # type: ignore[attr-defined]
