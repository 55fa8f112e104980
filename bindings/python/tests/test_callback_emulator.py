"""End to end (issue 12 item 3): the emulator's --callback-url POSTs delivery reports and
replies to the http.server receiver example, which parses them with tcsms.parse_callback
and acknowledges them."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

from conftest import APP_ID, SIGN_MAINLAND, TEMPLATE_VERIFY

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "callback_receiver.py"


class Receiver:
    """The example receiver as a subprocess; its stdout lines (one JSON per record) queued."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(EXAMPLE), "--port", "0"], stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=dict(os.environ),
        )
        self.lines: "queue.Queue[str]" = queue.Queue()

        def pump() -> None:
            assert self.proc.stdout is not None
            for raw in self.proc.stdout:
                self.lines.put(raw.decode("utf-8"))

        threading.Thread(target=pump, daemon=True).start()
        first = self.lines.get(timeout=30).strip()
        assert first.startswith("listening on "), first
        self.url = first[len("listening on "):] + "/sms/callback"

    def record(self, timeout: float = 10.0) -> Dict[str, Any]:
        return json.loads(self.lines.get(timeout=timeout))

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.stop()


def test_the_emulator_posts_to_the_receiver_example_which_acknowledges(start_emulator, receiver) -> None:  # type: ignore[no-untyped-def]
    emu = start_emulator("--report-delay-ms", "100", "--callback-url", receiver.url)
    with emu.client() as client:
        sent = client.call("SendSms", {
            "PhoneNumberSet": ["+8613700000001", "+8613700000404"], "SmsSdkAppId": APP_ID,
            "SignName": SIGN_MAINLAND, "TemplateId": TEMPLATE_VERIFY, "TemplateParamSet": ["1234", "5"],
        })
    serials = [s["SerialNo"] for s in sent["SendStatusSet"]]
    reports = [receiver.record(), receiver.record()]
    assert [r["kind"] for r in reports] == ["delivery", "delivery"]
    assert [r["sid"] for r in reports] == serials
    assert [r["PhoneNumber"] for r in reports] == ["+8613700000001", "+8613700000404"]
    assert [r["report_status"] for r in reports] == ["SUCCESS", "FAIL"]

    request = urllib.request.Request(
        f"{emu.url}/_emulator/replies", method="POST",
        data=json.dumps({"PhoneNumber": "+8613700000001", "ReplyContent": "TD"}).encode())
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
    reply = receiver.record()
    assert (reply["kind"], reply["PhoneNumber"], reply["text"], reply["sign"]) == (
        "reply", "+8613700000001", "TD", SIGN_MAINLAND)
    # Acknowledged: the emulator never had to retry (it logs each failed callback).
    assert "callback to" not in emu.stderr()
    with pytest.raises(queue.Empty):
        receiver.lines.get(timeout=1.5)
