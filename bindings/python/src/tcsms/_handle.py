"""The owner of one native pointer (a ``tcsms_client`` or a ``tcsms_queue``).

Modelled on wasmtime-py's ``Managed``: the pointer is freed exactly once, by
:meth:`Handle.close` (idempotent) or, as a safety net, by the garbage collector;
never during interpreter shutdown, when the library may already be unloaded.
Calls take the pointer with :meth:`acquire` and give it back with :meth:`release`;
:meth:`close` waits for the calls in flight.

A handle that is not fork-safe (the completion queue: its worker threads and its file
descriptor belong to the process that made it) is never freed by another process: a
child that inherited it only forgets it (:attr:`inherited`).
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, Callable, Optional

from ._errors import ClientClosedError, Status

__all__ = ["Handle", "closed_error"]


def closed_error(what: str = "the client is closed") -> ClientClosedError:
    return ClientClosedError(what, status=Status.INVALID_ARGUMENT, code="ClientError.ClientClosed")


class Handle:
    """Owns a native pointer: ``free(pointer)`` runs once, after the last call."""

    __slots__ = ("_pointer", "_free", "_fork_safe", "_pid", "_inflight", "_lock", "_idle")

    def __init__(self, pointer: int, free: Callable[[int], None], *, fork_safe: bool = True) -> None:
        self._pointer: Optional[int] = pointer
        self._free = free
        self._fork_safe = fork_safe
        self._pid = os.getpid()
        self._inflight = 0
        # acquire/release take the plain lock (a Condition's `with` costs a Python
        # call per call); close() waits on _idle, which shares it.
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)

    @property
    def closed(self) -> bool:
        return self._pointer is None

    @property
    def inherited(self) -> bool:
        """Whether this process is not the one that made the pointer (a fork() child)."""
        return self._pid != os.getpid()

    def acquire(self) -> int:
        """The pointer, counted as in use until :meth:`release`; raises when closed."""
        with self._lock:
            pointer = self._pointer
            if pointer is None:
                raise closed_error()
            self._inflight += 1
            return pointer

    def release(self) -> None:
        with self._lock:
            self._inflight -= 1
            if self._pointer is None and not self._inflight:  # only close() waits
                self._idle.notify_all()

    def close(self) -> None:
        """Free the pointer once the calls in flight are done. Idempotent.

        In a process that inherited a handle that is not fork-safe, only forgets it.
        """
        with self._lock:
            pointer, self._pointer = self._pointer, None
            if pointer is None:
                return
            if self.inherited:
                # The parent's calls in flight were copied, not inherited: no one to wait for.
                self._inflight = 0
                if not self._fork_safe:
                    return
            while self._inflight:
                self._idle.wait()
        self._free(pointer)

    def __enter__(self) -> Handle:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __del__(
        self,
        # Bound now: module globals may be gone when __del__ runs late at shutdown.
        _is_finalizing: Callable[[], bool] = sys.is_finalizing,
        _getpid: Callable[[], int] = os.getpid,
    ) -> None:
        """Safety net only; skipped at interpreter exit."""
        try:
            pointer = self._pointer
            if pointer is None or _is_finalizing():
                return
            self._pointer = None
            if self._fork_safe or self._pid == _getpid():
                self._free(pointer)
        except Exception:  # pragma: no cover - never raise from __del__
            pass

    def __repr__(self) -> str:
        return f"<tcsms handle {'closed' if self._pointer is None else 'open'}>"
