"""fork() safety: a client used before a fork keeps working in parent and child at once,
and each process gets the answer to each of its own requests (issue 10 #1, issue 11 #6).

Before the fix, parent and child shared the pooled keep-alive connection the parent
had opened, and read each other's answers (a SendSms answer for the other process's
number, with status OK) or failed with parse errors and timeouts.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import time
from typing import List, Optional

import pytest

import tcsms

from conftest import (
    APP_ID,
    DEMO_SECRET_ID,
    DEMO_SECRET_KEY,
    SIGN_MAINLAND,
    TEMPLATE_VERIFY,
    Emulator,
    send_verify_sms,
)

ROUNDS = 30

pytestmark = pytest.mark.filterwarnings(
    # Python 3.12+ warns about fork() in a process with threads (the emulator fixture's
    # stdout pump); this is exactly what a prefork server does.
    "ignore:This process:DeprecationWarning"
)


def phone(who: int, n: int) -> str:
    """A distinct mainland number for caller `who`, request `n`."""
    return f"+86139{who:02d}{n:06d}"


def traffic(client: tcsms.Client, who: int, rounds: int = ROUNDS) -> List[str]:
    """Sends `rounds` SMS, each to its own number; returns what went wrong (empty: all
    answers were OK answers for the very number sent)."""
    wrong: List[str] = []
    for n in range(rounds):
        number = phone(who, n)
        try:
            resp = send_verify_sms(client, number)
            status = resp["SendStatusSet"][0]
            if status["PhoneNumber"] != number or status["Code"] != "Ok":
                wrong.append(f"sent to {number}, got the answer {status}")
        except Exception as e:  # noqa: BLE001 - every failure is a finding here
            wrong.append(f"sent to {number}, got {type(e).__name__}: {e}")
    return wrong


def used_client(emulator: Emulator) -> tcsms.Client:
    """A client with one call made, so its pool holds a connection to inherit."""
    client = emulator.client(max_retries=0, timeout=10.0)
    assert traffic(client, 99, rounds=1) == []
    return client


def wait_child(pid: int, timeout: float) -> Optional[int]:
    """The child's exit status, or None after killing it when it overran `timeout`."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            # os.waitstatus_to_exitcode is 3.9+
            return os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


def test_os_fork_parent_and_child_each_get_their_own_answers(emulator: Emulator) -> None:
    client = used_client(emulator)
    go_read, go_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 3
        try:
            os.close(go_write)
            os.read(go_read, 1)  # start together with the parent
            wrong = traffic(client, 2)
            for line in wrong[:3]:
                os.write(2, f"fork child: {line}\n".encode())
            code = 0 if not wrong else 1
        finally:
            os._exit(code)
    os.close(go_read)
    os.write(go_write, b"g")
    wrong = traffic(client, 1)
    os.close(go_write)
    child = wait_child(pid, 60.0)
    client.close()
    assert wrong == [], f"parent: {len(wrong)} of {ROUNDS} answers not its own: {wrong[:3]}"
    assert child == 0, f"child: exit status {child} (1: some answers were not its own)"


# The client the multiprocessing workers inherit (fork start method).
_INHERITED: Optional[tcsms.Client] = None


def _worker(who: int) -> List[str]:
    assert _INHERITED is not None
    return traffic(_INHERITED, who)


def test_multiprocessing_fork_pool_workers_and_parent_each_get_their_own_answers(
    emulator: Emulator,
) -> None:
    global _INHERITED
    _INHERITED = used_client(emulator)
    ctx = multiprocessing.get_context("fork")
    try:
        with ctx.Pool(4) as pool:
            pending = pool.map_async(_worker, [10, 11, 12, 13])
            parent_wrong = traffic(_INHERITED, 20)  # while the workers call
            workers_wrong = pending.get(timeout=120)
    finally:
        _INHERITED.close()
        _INHERITED = None
    assert parent_wrong == [], f"parent: {parent_wrong[:3]}"
    for who, wrong in zip([10, 11, 12, 13], workers_wrong):
        assert wrong == [], f"worker {who}: {len(wrong)} of {ROUNDS} not its own: {wrong[:3]}"


# -- AsyncClient across fork() ------------------------------------------------------------

def _async_call(client: tcsms.AsyncClient, loop: "asyncio.AbstractEventLoop", phone_no: str) -> str:
    """One SendSms through ``client`` on ``loop``, bounded: the number answered for."""
    answer = loop.run_until_complete(
        asyncio.wait_for(
            client.send_sms(phone_number_set=[phone_no], sms_sdk_app_id=APP_ID,
                            template_id=TEMPLATE_VERIFY, sign_name=SIGN_MAINLAND,
                            template_param_set=["1234", "5"]),
            10.0,
        )
    )
    return str(answer["SendStatusSet"][0]["PhoneNumber"])


def test_async_client_works_in_a_fork_child_and_keeps_working_in_the_parent(emulator: Emulator) -> None:
    client = tcsms.AsyncClient(DEMO_SECRET_ID, DEMO_SECRET_KEY, endpoint=emulator.url, max_retries=0)
    loop = asyncio.new_event_loop()  # the parent's loop stays open (and registered) across the fork
    try:
        assert _async_call(client, loop, phone(30, 0)) == phone(30, 0)
        pid = os.fork()
        if pid == 0:  # the child: never return into pytest
            code = 3
            try:
                asyncio.events._set_running_loop(None)  # not running here; 3.12+ does it itself
                # Its own loop: the client makes a queue of its own.
                got = [asyncio.run(_child_send(client, phone(31, n))) for n in range(3)]
                code = 0 if got == [phone(31, n) for n in range(3)] else 1
                # The inherited loop is refused clearly (never registered on).
                try:
                    _async_call(client, loop, phone(31, 9))
                    code = code or 4
                except RuntimeError as exc:
                    code = code or (0 if "inherited across fork" in str(exc) else 5)
                client.close()
            except BaseException as exc:  # noqa: BLE001
                os.write(2, f"fork child: {type(exc).__name__}: {exc}\n".encode())
                code = code or 2
            finally:
                os._exit(code)
        child = wait_child(pid, 60.0)
        # The parent's loop, queue and registration are intact: calls still complete.
        got = [_async_call(client, loop, phone(32, n)) for n in range(3)]
        assert child == 0, f"child: exit status {child}"
        assert got == [phone(32, n) for n in range(3)]
    finally:
        client.close()
        loop.close()


async def _child_send(client: tcsms.AsyncClient, phone_no: str) -> str:
    answer = await asyncio.wait_for(
        client.send_sms(phone_number_set=[phone_no], sms_sdk_app_id=APP_ID, template_id=TEMPLATE_VERIFY,
                        sign_name=SIGN_MAINLAND, template_param_set=["1234", "5"]),
        10.0,
    )
    return str(answer["SendStatusSet"][0]["PhoneNumber"])
