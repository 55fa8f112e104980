"""Issue 12 items 1-2 from Python against the emulator: events (callable and the
``tcsms`` logger), re-entrancy refused, exceptions contained, exact stats, and no secret
or unmasked number in any event."""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, Iterator, List

import pytest

import tcsms

from conftest import APP_ID, SIGN_MAINLAND, TEMPLATE_VERIFY

TOKEN = "marker-python-sts-token-42"
NUMBER = "+8613711112222"
ALL_EVENTS: List[Dict[str, Any]] = []


@pytest.fixture(scope="module", autouse=True)
def no_secret_in_any_event() -> Iterator[None]:
    """After the module: every event any test saw has the keys, no secret, no full number."""
    yield
    assert ALL_EVENTS
    for event in ALL_EVENTS:
        for key in ("event", "action", "attempt", "status", "code", "request_id", "latency_us"):
            assert key in event, event
        text = json.dumps(event)
        for marker in ("tcsmsdemosecretkey", TOKEN, "TC3-HMAC-SHA256", "Authorization", NUMBER[1:]):
            assert marker not in text, text


def sms(template: str = TEMPLATE_VERIFY) -> Dict[str, Any]:
    return {
        "PhoneNumberSet": [NUMBER], "SmsSdkAppId": APP_ID, "SignName": SIGN_MAINLAND,
        "TemplateId": template, "TemplateParamSet": ["1234", "5"],
    }


def collect(events: List[Dict[str, Any]]):  # type: ignore[no-untyped-def]
    def on_event(event: Dict[str, Any]) -> None:
        events.append(event)
        ALL_EVENTS.append(event)
    return on_event


def test_events_per_attempt_and_call_with_a_retry_and_a_rate_limit_wait(start_emulator) -> None:  # type: ignore[no-untyped-def]
    emu = start_emulator("--fault", "http500", "--fault-every", "2", "--token", TOKEN)
    events: List[Dict[str, Any]] = []
    with emu.client(token=TOKEN, on_event=collect(events),
                    rate_limits={"*": 0, "PullSmsSendStatus": 5}) as client:
        pull = {"SmsSdkAppId": APP_ID, "Limit": 10}
        client.call("PullSmsSendStatus", pull)
        client.call("PullSmsSendStatus", pull)  # 500, retried
        shape = [(e["event"], e["attempt"], e["status"]) for e in events]
        assert shape == [("attempt", 1, 0), ("call", 1, 0), ("attempt", 1, 8), ("attempt", 2, 0),
                         ("call", 2, 0)]
        failed = events[2]
        assert failed["code"] == "ClientError.HttpStatus" and failed["retry"] is True
        assert failed["retry_delay_us"] >= 50_000 and "idempotent" in failed["retry_reason"]
        # 5/s with a burst of 1: the 2nd call waited for the limiter.
        assert 100_000 <= failed["rate_limit_wait_us"] <= 400_000
        assert events[4]["retries"] == 1 and events[4]["request_id"] == events[3]["request_id"]
        stats = client.stats()
        s = stats["Actions"]["PullSmsSendStatus"]
        assert (s["Calls"], s["Attempts"], s["Retries"], s["Codes"]) == (2, 3, 1, {"ok": 2})
        assert stats["RateLimitWaits"] == 1, "the 2nd call waited (twice)"


def test_the_tcsms_logger_gets_events_and_numbers_are_masked(emulator, caplog, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from conftest import EVENT_AUDIT

    monkeypatch.setattr(EVENT_AUDIT, "pass_through", True)  # to caplog
    caplog.set_level(logging.DEBUG, logger="tcsms")
    with emulator.client() as client:
        client.call("SendSms", sms())
    records = [r for r in caplog.records if r.name == "tcsms" and hasattr(r, "tcsms_event")]
    events = [r.tcsms_event for r in records]  # type: ignore[attr-defined]
    ALL_EVENTS.extend(events)
    assert [e["event"] for e in events] == ["attempt", "call"]
    assert events[1]["phone_numbers"] == ["+86137****2222"]
    assert all(NUMBER not in r.getMessage() for r in records)


def test_full_numbers_only_when_asked(emulator) -> None:  # type: ignore[no-untyped-def]
    from conftest import EVENT_AUDIT

    events: List[Dict[str, Any]] = []
    EVENT_AUDIT.allow_full_numbers = True
    try:
        with emulator.client(on_event=events.append, log_phone_numbers=True) as client:
            client.call("SendSms", sms())
    finally:
        EVENT_AUDIT.allow_full_numbers = False
    assert [e["phone_numbers"] for e in events] == [[NUMBER], [NUMBER]]


def test_a_call_from_the_callback_is_refused_and_exceptions_are_contained(emulator, caplog, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from conftest import EVENT_AUDIT

    monkeypatch.setattr(EVENT_AUDIT, "pass_through", True)  # to caplog
    outcomes: List[str] = []
    client = emulator.client()

    def on_event(event: Dict[str, Any]) -> None:
        ALL_EVENTS.append(event)
        try:
            client.call("DescribeSmsSignList", {"International": 0})
            outcomes.append("ok")
        except tcsms.TcsmsError as exc:
            outcomes.append(exc.code)
        assert "Actions" in client.stats()  # stats may be read inside
        raise RuntimeError("the callback fails")

    with client:
        client.set_event_callback(on_event, log=False)
        with caplog.at_level(logging.WARNING, logger="tcsms"):
            resp = client.call("DescribeSmsSignList", {"International": 0})
        assert "RequestId" in resp
        assert outcomes == ["ClientError.Reentrant", "ClientError.Reentrant"]
        assert any("RuntimeError" in r.getMessage() for r in caplog.records)
        client.set_event_callback(None, log=False)
        client.call("DescribeSmsSignList", {"International": 0})
        assert len(outcomes) == 2, "removed"
        assert client.stats()["Actions"]["DescribeSmsSignList"]["Calls"] == 2


def test_stats_are_exact_after_a_known_sequence(start_emulator) -> None:  # type: ignore[no-untyped-def]
    emu = start_emulator("--rate-limit", "all=0")
    events: List[Dict[str, Any]] = []
    with emu.client(max_retries=0, on_event=collect(events)) as client:
        for _ in range(3):
            client.call("SendSms", sms())
        with pytest.raises(tcsms.APIError) as refused:
            client.call("SendSms", sms(template="9999"))
        client.call("PullSmsSendStatus", {"SmsSdkAppId": APP_ID, "Limit": 10})
        stats = client.stats()
    send = stats["Actions"]["SendSms"]
    assert (send["Calls"], send["Attempts"], send["Retries"]) == (4, 4, 0)
    assert send["Codes"] == {"ok": 3, refused.value.code: 1}
    assert sum(send["Codes"].values()) == send["Calls"]
    latency = send["LatencyUs"]
    assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]
    assert stats["Actions"]["PullSmsSendStatus"]["Codes"] == {"ok": 1}
    assert len([e for e in events if e["event"] == "call"]) == 5
