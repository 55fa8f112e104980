"""Memory does not grow over many calls (every returned string is freed)."""

from __future__ import annotations

import gc
import os

import pytest

import tcsms

from conftest import APP_ID, send_verify_sms

PAGE = os.sysconf("SC_PAGE_SIZE")
NUMBERS = [f"+86138{n:08d}" for n in range(200)]


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def run(client: tcsms.Client, n: int) -> None:
    for i in range(n):
        kind = i % 4
        if kind == 0:
            resp = send_verify_sms(client)
            client.report_conversion(APP_ID, resp["SendStatusSet"][0]["SerialNo"])
        elif kind == 1:  # a large success answer (~200 entries)
            resp = client.describe_phone_number_info(phone_number_set=NUMBERS)
            assert len(resp["PhoneNumberInfoSet"]) == len(NUMBERS)
        elif kind == 2:
            with pytest.raises(tcsms.APIError):
                client.call("SendSms", {"SmsSdkAppId": APP_ID})
        else:
            with pytest.raises(tcsms.InvalidArgument):  # a large local error envelope
                client.call("NoSuchAction" + "x" * 50_000, {"x": "y" * 1000})


def test_rss_is_bounded_over_many_calls(emulator) -> None:
    with emulator.client() as client:
        run(client, 400)  # warm up allocator pools, connection pool, caches
        gc.collect()
        before = rss_bytes()
        run(client, 4000)
        gc.collect()
        after = rss_bytes()
    growth = after - before
    assert growth < 8 * 1024 * 1024, f"RSS grew by {growth / 1024:.0f} KiB over 4000 calls"


def test_clients_are_freed(emulator) -> None:
    for _ in range(50):
        emulator.client().close()
    gc.collect()
    before = rss_bytes()
    for i in range(1000):
        if i % 2:
            with emulator.client() as client:
                client.pull_sms_send_status(limit=1, sms_sdk_app_id=APP_ID)
        else:  # never closed: the garbage collector's __del__ must free it
            emulator.client().pull_sms_send_status(limit=1, sms_sdk_app_id=APP_ID)
    gc.collect()
    growth = rss_bytes() - before
    assert growth < 8 * 1024 * 1024, f"RSS grew by {growth / 1024:.0f} KiB over 1000 clients"
