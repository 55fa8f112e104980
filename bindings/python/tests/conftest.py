"""Shared fixtures: a tcsms-emulator subprocess and clients pointed at it.

The emulator binary comes from $TCSMS_EMULATOR, else <repo>/target/release/tcsms-emulator.
The library is whatever ``import tcsms`` loads: $TCSMS_LIBRARY, else the installed package.
Nothing here skips: a missing emulator or library is a failure.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator, List, Optional

import pytest

import tcsms

REPO = Path(__file__).resolve().parents[3]
EMULATOR = Path(os.environ.get("TCSMS_EMULATOR", REPO / "target" / "release" / "tcsms-emulator"))

DEMO_SECRET_ID = "AKIDtcsmsdemo00000000000000000000000"
DEMO_SECRET_KEY = "tcsmsdemosecretkey00000000000000"
APP_ID = "1400000001"
SIGN_MAINLAND = "tcsms"  # signature 1001, International 0
SIGN_INTL = "tcsms intl"  # signature 1002, International 1
TEMPLATE_VERIFY = "2001"  # mainland, 2 params
TEMPLATE_NOTIFY = "2002"  # mainland, 1 param
TEMPLATE_INTL_VERIFY = "2003"  # international, 2 params
TEMPLATE_INTL_WELCOME = "2004"  # international, no params
MAINLAND_PHONE = "+8613800000000"
INTL_PHONE = "+6591234567"


class Emulator:
    """A running tcsms-emulator process."""

    def __init__(self, *args: str) -> None:
        if not EMULATOR.is_file():
            raise FileNotFoundError(
                f"tcsms-emulator not found at {EMULATOR}; build it with "
                "`cargo build --release` or set TCSMS_EMULATOR"
            )
        self.args = [str(EMULATOR), "--listen", "127.0.0.1:0", *args]
        self.proc: "subprocess.Popen[bytes]"
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            self.args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        lines: "queue.Queue[Optional[bytes]]" = queue.Queue()

        def pump() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:  # keep draining so the pipe never fills
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        try:
            first = lines.get(timeout=30)
        except queue.Empty:
            self.stop()
            raise RuntimeError(f"{self.args}: no 'listening on' line within 30 s")
        text = (first or b"").decode("utf-8", "replace").strip()
        prefix = "listening on "
        if not text.startswith(prefix):
            self.stop()
            raise RuntimeError(
                f"{self.args}: unexpected first line {text!r}; stderr: {self.stderr()}"
            )
        self.url = text[len(prefix):].strip()

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")

    def client(self, **kwargs: object) -> tcsms.Client:
        options = dict(
            secret_id=DEMO_SECRET_ID,
            secret_key=DEMO_SECRET_KEY,
            endpoint=self.url,
            timeout=20.0,
        )
        options.update(kwargs)
        return tcsms.Client(**options)  # type: ignore[arg-type]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._stderr.close()


class EventAudit(logging.Filter):
    """Checks every event any client of the suite emits (issue 12): no marker secret, no
    signature, no full phone number.  Clients hook events because the ``tcsms`` logger
    has DEBUG enabled for the whole session.  The records are then dropped (pytest would
    keep every one of them in memory) unless ``pass_through`` is set."""

    MARKERS = ("MARKER", "marker-", DEMO_SECRET_KEY, "TC3-HMAC-SHA256", "Authorization", "X-TC-Token")
    FULL_NUMBER = re.compile(r"\+\d{8,}|(?<![\w-])1\d{10}(?![\w-])")

    def __init__(self) -> None:
        super().__init__()
        self.seen = 0
        self.violations: List[str] = []
        self.allow_full_numbers = False
        self.pass_through = False

    def filter(self, record: logging.LogRecord) -> bool:
        event = getattr(record, "tcsms_event", None)
        if event is None:
            return True
        self.seen += 1
        text = json.dumps(event)
        bad = [m for m in self.MARKERS if m in text]
        if not self.allow_full_numbers and self.FULL_NUMBER.search(text):
            bad.append("a full phone number")
        if bad:
            self.violations.append(f"{bad}: {text}")
        return self.pass_through


EVENT_AUDIT = EventAudit()


@pytest.fixture(scope="session", autouse=True)
def audit_every_event() -> Iterator[EventAudit]:
    logger = logging.getLogger("tcsms")
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addFilter(EVENT_AUDIT)
    try:
        yield EVENT_AUDIT
    finally:
        logger.removeFilter(EVENT_AUDIT)
        logger.setLevel(old_level)
    assert EVENT_AUDIT.seen > 0, "no client of the suite emitted an event"
    assert not EVENT_AUDIT.violations, EVENT_AUDIT.violations[:5]


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """One emulator with the default app and demo credentials for the whole session."""
    emu = Emulator("--rate-limit", "all=0")
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def start_emulator() -> Iterator:
    """Factory: start_emulator('--fault', 'slow') -> Emulator, stopped at teardown."""
    started: List[Emulator] = []

    def start(*args: str) -> Emulator:
        emu = Emulator(*args)
        started.append(emu)
        return emu

    try:
        yield start
    finally:
        for emu in started:
            emu.stop()


@pytest.fixture
def client(emulator: Emulator) -> Iterator[tcsms.Client]:
    c = emulator.client()
    try:
        yield c
    finally:
        c.close()


def send_verify_sms(client: tcsms.Client, number: str = MAINLAND_PHONE) -> tcsms.Response:
    """SendSms of the verification template to one mainland number; the Response."""
    return client.send_sms(
        phone_number_set=[number],
        sms_sdk_app_id=APP_ID,
        template_id=TEMPLATE_VERIFY,
        sign_name=SIGN_MAINLAND,
        template_param_set=["1234", "5"],
    )


@pytest.fixture
def serial_no(client: tcsms.Client) -> str:
    """The SerialNo of a freshly sent mainland SMS."""
    resp = send_verify_sms(client)
    status = resp["SendStatusSet"][0]
    assert status["Code"] == "Ok", status
    return status["SerialNo"]


def ok(code: str) -> bool:
    """A success Code in a status object ("Ok"; ReportConversion answers "ok")."""
    return code.lower() == "ok"


def closed_port() -> int:
    """A loopback port with nothing listening on it."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


class ScriptedServer:
    """An HTTP server on 127.0.0.1 answering every POST with ``status`` and ``body``.

    ``echo_headers`` appends the request's headers to the body (a hostile server or proxy
    that reflects what it was sent).  ``requests`` counts the requests that arrived.
    """

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.status = 200
        self.body = b"{}"
        self.echo_headers = False
        self.requests = 0
        script = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                script.requests += 1
                body = script.body
                if script.echo_headers:  # credential headers first, as short excerpts show them
                    first = ("x-tc-token", "proxy-authorization", "authorization")
                    items = sorted(self.headers.items(), key=lambda kv: (
                        first.index(kv[0].lower()) if kv[0].lower() in first else len(first)))
                    body += "".join(f"{k}: {v}\n" for k, v in items).encode("utf-8", "replace")
                self.send_response(script.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_CONNECT = do_POST  # noqa: N815 - also a (refusing) proxy

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client that hangs up mid-answer is part of the script

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def scripted_server() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    try:
        yield server
    finally:
        server.stop()
