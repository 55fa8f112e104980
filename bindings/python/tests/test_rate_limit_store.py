"""The keywords rate_limit_store and rate_limit_key reach the library: a client given a
real redis-server (started here on 127.0.0.1, no persistence) registers in the shared
budget named by the key, and the store's password shows nowhere."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest

import tcsms

from conftest import Emulator, closed_port, send_verify_sms

PASSWORD = "py-redis-pw-marker"


def redis_cli(port: int, *args: str) -> str:
    out = subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", str(port), "-a", PASSWORD, "--no-auth-warning", *args],
        capture_output=True, text=True, timeout=10,
    )
    return out.stdout.strip()


def test_rate_limit_store_keywords_pass_through(emulator: Emulator, tmp_path: Path) -> None:
    port = closed_port()
    server = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path), "--logfile", "", "--requirepass", PASSWORD],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while redis_cli(port, "PING") != "PONG":
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        events: List[Dict[str, Any]] = []
        url = f"redis://:{PASSWORD}@127.0.0.1:{port}/0"
        with emulator.client(rate_limit_store=url, rate_limit_key="py-key", on_event=events.append) as client:
            send_verify_sms(client)
            assert PASSWORD not in repr(client)
        # The call registered this client in the budget named by rate_limit_key.
        assert redis_cli(port, "ZCARD", "tcsms:rl:py-key:sharers") == "1"
        assert [e for e in events if e.get("event") == "rate_limit_store"] == []
        assert all(PASSWORD not in str(e) for e in events)
        with pytest.raises(tcsms.ConfigError) as refused:
            emulator.client(rate_limit_store=f"redis://:{PASSWORD}@127.0.0.1:0")
        assert "rate_limit_store" in str(refused.value) and PASSWORD not in str(refused.value)
    finally:
        server.kill()
        server.wait()


def test_rate_limit_store_fallback_share_passes_through(emulator: Emulator) -> None:
    # Nothing listens on the store's port: the client falls back at the configured share.
    events: List[Dict[str, Any]] = []
    url = f"redis://:{PASSWORD}@127.0.0.1:{closed_port()}/0"
    with emulator.client(
        rate_limit_store=url, rate_limit_store_fallback_share=0.125, on_event=events.append
    ) as client:
        send_verify_sms(client)
    down = [e for e in events if e.get("event") == "rate_limit_store"]
    assert len(down) == 1, events
    assert down[0]["state"] == "down" and down[0]["reason"] == "connection refused", down
    assert down[0]["fallback_share"] == 0.125, down
    assert all(PASSWORD not in str(e) for e in events)
    for bad in (0, 1.5, "0.5"):
        with pytest.raises(tcsms.ConfigError) as refused:
            emulator.client(rate_limit_store=url, rate_limit_store_fallback_share=bad)
        assert "rate_limit_store_fallback_share" in str(refused.value), refused.value
        assert PASSWORD not in str(refused.value)
