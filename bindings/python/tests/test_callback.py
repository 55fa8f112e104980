"""tcsms.parse_callback and the http.server receiver example."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
from pathlib import Path

import pytest

import tcsms

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "callback_receiver.py"

DELIVERY = json.dumps([
    {"user_receive_time": "2015-10-17 08:03:04", "nationcode": "86", "mobile": "13900000001",
     "report_status": "SUCCESS", "errmsg": "DELIVRD", "description": "用户短信接收成功", "sid": "x1"},
    {"user_receive_time": "2015-10-17 08:03:05", "nationcode": "65", "mobile": "91234567",
     "report_status": "FAIL", "errmsg": "UNDELIV", "description": "no", "sid": "x2"},
], ensure_ascii=False).encode("utf-8")
REPLY = (b'{"extend":"01","mobile":"13900000001","nationcode":"86","sign":"tcsms",'
         b'"text":"TD","time":1445391786}')


def test_delivery_reports() -> None:
    cb = tcsms.parse_callback(DELIVERY)
    assert isinstance(cb, tcsms.DeliveryCallback) and cb.kind == "delivery"
    assert [r.PhoneNumber for r in cb.reports] == ["+8613900000001", "+6591234567"]
    first = cb.reports[0]
    assert first == tcsms.DeliveryReport(
        user_receive_time="2015-10-17 08:03:04", nationcode="86", mobile="13900000001",
        report_status="SUCCESS", errmsg="DELIVRD", description="用户短信接收成功", sid="x1",
        PhoneNumber="+8613900000001")


def test_reply() -> None:
    cb = tcsms.parse_callback(bytearray(REPLY))
    assert isinstance(cb, tcsms.ReplyCallback)
    assert cb.reply == tcsms.Reply(extend="01", mobile="13900000001", nationcode="86",
                                   sign="tcsms", text="TD", time=1445391786,
                                   PhoneNumber="+8613900000001")


@pytest.mark.parametrize("body, code, words", [
    (DELIVERY[: len(DELIVERY) // 2], "ClientError.InvalidJson", "truncated"),
    (b"{nope", "ClientError.InvalidJson", "not valid JSON"),
    (b'[{"nationcode":"86","mobile":139,"report_status":"SUCCESS","sid":"x"}]',
     "ClientError.InvalidArgument", "delivery report 0: field `mobile` must be a string"),
    (b'{"mobile":"1","nationcode":"86","text":"x","time":"1"}',
     "ClientError.InvalidArgument", "field `time` must be a number"),
    (b"", "ClientError.InvalidArgument", "callback body is empty"),
    (b"[" + b" " * tcsms.MAX_CALLBACK_BYTES + b"]", "ClientError.InvalidArgument", "over the limit"),
    (b'["\xff"]', "ClientError.InvalidUtf8", "not valid UTF-8"),
    (b'"text"', "ClientError.InvalidArgument", "must be a JSON array"),
])
def test_bad_bodies(body: bytes, code: str, words: str) -> None:
    with pytest.raises(tcsms.InvalidArgument) as info:
        tcsms.parse_callback(body)
    assert info.value.code == code
    assert words in info.value.message


def test_body_must_be_bytes() -> None:
    with pytest.raises(TypeError):
        tcsms.parse_callback(REPLY.decode())  # type: ignore[arg-type]


def test_acks() -> None:
    assert tcsms.CALLBACK_ACK == b'{"result": 0, "errmsg": "OK"}'
    assert json.loads(tcsms.callback_nack("bad")) == {"result": 1, "errmsg": "bad"}


def _post(port: int, body: bytes) -> "tuple[int, bytes]":
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", "/", body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_receiver_example_acknowledges() -> None:
    proc = subprocess.Popen([sys.executable, str(EXAMPLE), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().decode()
        assert first.startswith("listening on http://127.0.0.1:"), first
        port = int(first.rsplit(":", 1)[1])
        assert _post(port, DELIVERY) == (200, b'{"result": 0, "errmsg": "OK"}')
        records = [json.loads(proc.stdout.readline()) for _ in range(2)]
        assert [r["PhoneNumber"] for r in records] == ["+8613900000001", "+6591234567"]
        assert records[0]["kind"] == "delivery" and records[1]["sid"] == "x2"
        assert _post(port, REPLY) == (200, b'{"result": 0, "errmsg": "OK"}')
        assert json.loads(proc.stdout.readline())["text"] == "TD"
        status, body = _post(port, b'[{"mobile":')
        assert status == 400 and json.loads(body)["result"] == 1, body
    finally:
        proc.terminate()
        proc.wait(timeout=10)
