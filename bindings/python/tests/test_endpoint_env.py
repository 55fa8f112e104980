"""TCSMS_ENDPOINT: read by the library when the configuration has no endpoint."""

from __future__ import annotations

import pytest

import tcsms

from conftest import APP_ID, DEMO_SECRET_ID, DEMO_SECRET_KEY


def test_tcsms_endpoint_is_used_and_shown(emulator, monkeypatch) -> None:
    monkeypatch.setenv("TCSMS_ENDPOINT", emulator.url)
    with tcsms.Client(DEMO_SECRET_ID, DEMO_SECRET_KEY) as client:
        assert f"{emulator.url} (from TCSMS_ENDPOINT)" in repr(client)
        assert client.pull_sms_send_status(limit=1, sms_sdk_app_id=APP_ID)["RequestId"]


def test_explicit_endpoint_wins(emulator, monkeypatch) -> None:
    monkeypatch.setenv("TCSMS_ENDPOINT", "http://127.0.0.1:9")
    with emulator.client() as client:
        assert "TCSMS_ENDPOINT" not in repr(client)
        assert client.pull_sms_send_status(limit=1, sms_sdk_app_id=APP_ID)["RequestId"]


def test_a_bad_tcsms_endpoint_is_refused_naming_it(monkeypatch) -> None:
    monkeypatch.setenv("TCSMS_ENDPOINT", "ftp://127.0.0.1:21")
    with pytest.raises(tcsms.ConfigError) as info:
        tcsms.Client(DEMO_SECRET_ID, DEMO_SECRET_KEY)
    assert "TCSMS_ENDPOINT" in str(info.value)
