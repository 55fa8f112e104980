"""Client lifetime, closed-client use, threads, and the ctypes layer."""

from __future__ import annotations

import ctypes
import gc
import json
import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator, List

import pytest

import tcsms
from tcsms import _ffi
from tcsms._native import FUNCTIONS

from conftest import (
    ok,
    APP_ID,
    DEMO_SECRET_ID,
    DEMO_SECRET_KEY,
    MAINLAND_PHONE,
    REPO,
    SIGN_MAINLAND,
    TEMPLATE_VERIFY,
)

# -- library loading -----------------------------------------------------------------


def test_library_loaded_and_abi_matches() -> None:
    assert tcsms.library_abi_version() == tcsms.ABI_VERSION == 1
    assert tcsms.library_version()
    assert Path(tcsms.library_path).is_file()
    if not os.environ.get("TCSMS_LIBRARY"):
        # Installed without any environment: the library is bundled inside the package.
        assert Path(tcsms.library_path).parent == Path(tcsms.__file__).parent


def test_installed_as_platform_wheel() -> None:
    from importlib import metadata

    wheel = metadata.distribution("tcsms").read_text("WHEEL") or ""
    assert "Root-Is-Purelib: false" in wheel, wheel
    tags = re.findall(r"^Tag: (\S+)$", wheel, re.M)
    assert tags and all(not t.endswith("-any") for t in tags), tags
    files = [str(f) for f in metadata.distribution("tcsms").files or []]
    assert any(f.endswith("tcsms/libtcsms.so") for f in files), files


def test_every_header_function_is_declared() -> None:
    header = (REPO / "include" / "tcsms.h").read_text(encoding="utf-8")
    header = re.sub(r"/\*.*?\*/", "", header, flags=re.S)
    header = re.sub(r"//[^\n]*", "", header)
    declared = set(re.findall(r"\b(tcsms_[a-z0-9_]+)\s*\(", header))
    assert declared, "no functions found in include/tcsms.h"
    assert declared == set(_ffi.DECLARED_FUNCTIONS), declared ^ set(_ffi.DECLARED_FUNCTIONS)
    for name in _ffi.DECLARED_FUNCTIONS:
        fn = getattr(_ffi.lib, name)
        assert fn.argtypes is not None, name
    assert _ffi.lib.tcsms_status_str.restype is ctypes.c_char_p
    assert _ffi.lib.tcsms_version.restype is ctypes.c_char_p
    assert _ffi.lib.tcsms_client_new.argtypes[1]._type_ is ctypes.c_void_p
    for name in ("tcsms_call", "tcsms_call_with_timeout", "tcsms_report_conversion",
                 "tcsms_client_new"):
        out = getattr(_ffi.lib, name).argtypes[-1]
        assert out._type_ is ctypes.c_void_p, f"{name} must take its char** as void**"



def test_out_parameter_twins() -> None:
    # Every function ending in a char** has a twin that reads it as c_char_p (the
    # string is copied, the pointer kept for tcsms_free); lib's own stay void**.
    out_void = ctypes.POINTER(ctypes.c_void_p)
    with_out = [name for name, (_r, args) in FUNCTIONS.items() if args and args[-1] is out_void]
    assert "tcsms_report_conversion" in with_out and "tcsms_queue_next" in with_out
    assert sorted(vars(_ffi.out_lib)) == sorted(with_out)
    for name in with_out:
        twin, fn = getattr(_ffi.out_lib, name), getattr(_ffi.lib, name)
        assert twin is not fn and twin.restype is fn.restype, name
        assert twin.argtypes[:-1] == fn.argtypes[:-1], name
        assert twin.argtypes[-1]._type_ is ctypes.c_char_p, name
        assert fn.argtypes[-1] is out_void, name

def test_status_strings() -> None:
    from tcsms._status import STATUS_DESCRIPTIONS

    assert set(STATUS_DESCRIPTIONS) == set(tcsms.Status)
    for status in tcsms.Status:
        assert _ffi.status_str(status) == STATUS_DESCRIPTIONS[status], status
    assert _ffi.status_str(999) == "unknown status"
    assert _ffi.status_str(-1) == "unknown status"


def test_abi_mismatch_is_a_clear_import_error(monkeypatch) -> None:
    monkeypatch.setattr(_ffi, "EXPECTED_ABI_VERSION", 99)
    with pytest.raises(tcsms.AbiMismatchError) as info:
        _ffi.load_library(tcsms.library_path)
    err = info.value
    assert isinstance(err, ImportError)
    assert (err.found, err.expected) == (1, 99)
    assert "99" in str(err) and "version 1" in str(err)
    assert tcsms.library_path in str(err)


def test_abi_mismatch_at_import(tmp_path) -> None:
    # A fresh interpreter whose package expects another ABI refuses to import.
    code = (
        "import ctypes, sys\n"
        "import tcsms._ffi as f\n"  # loads fine (ABI 1)
        "f.EXPECTED_ABI_VERSION = 2\n"
        "try:\n"
        "    f.load_library()\n"
        "except ImportError as e:\n"
        "    print('ERR', e); sys.exit(0)\n"
        "sys.exit('no error')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "version 1" in out.stdout and "expects ABI version 2" in out.stdout


def test_tcsms_library_override(tmp_path) -> None:
    env = dict(os.environ, TCSMS_LIBRARY=str(tmp_path / "missing" / "libtcsms.so"))
    out = subprocess.run([sys.executable, "-c", "import tcsms"], capture_output=True,
                         text=True, cwd=tmp_path, env=env, timeout=60)
    assert out.returncode != 0
    assert "ImportError" in out.stderr or "LibraryNotFoundError" in out.stderr
    assert str(tmp_path / "missing" / "libtcsms.so") in out.stderr
    env["TCSMS_LIBRARY"] = tcsms.library_path
    out = subprocess.run([sys.executable, "-c", "import tcsms; print(tcsms.library_path)"],
                         capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == tcsms.library_path


def test_every_returned_string_is_freed(monkeypatch, client: tcsms.Client) -> None:
    real_free = _ffi.lib.tcsms_free
    freed: List[int] = []

    def counting_free(ptr):  # type: ignore[no-untyped-def]
        freed.append(ctypes.cast(ptr, ctypes.c_void_p).value)  # the address
        real_free(ptr)

    monkeypatch.setattr(_ffi.lib, "tcsms_free", counting_free)
    client.pull_sms_send_status(limit=1, sms_sdk_app_id=APP_ID)  # success envelope
    with pytest.raises(tcsms.InvalidArgument):
        client.call("NoSuchAction", {})  # local error envelope
    with pytest.raises(tcsms.APIError):
        client.call("SendSms", {})  # service error envelope
    with pytest.raises(tcsms.ConfigError):
        tcsms.Client(config={"bogus": 1})  # tcsms_client_new error envelope
    assert len(freed) == 4 and all(freed), freed


# -- lifetime ------------------------------------------------------------------------


def test_closed_client_raises(emulator) -> None:
    client = emulator.client()
    client.close()
    client.close()  # idempotent
    assert client.closed
    for attempt in (
        lambda: client.call("PullSmsSendStatus", {"Limit": 1, "SmsSdkAppId": APP_ID}),
        lambda: client.report_conversion(APP_ID, "2433:1"),
        lambda: client.pull_sms_send_status(limit=1, sms_sdk_app_id=APP_ID),
    ):
        with pytest.raises(tcsms.ClientClosedError) as info:
            attempt()
        assert isinstance(info.value, tcsms.TcsmsError)
        assert isinstance(info.value, tcsms.InvalidArgument)
        assert "closed" in str(info.value)
    with pytest.raises(tcsms.ClientClosedError):
        with client:
            pass


def test_context_manager_closes(emulator) -> None:
    with emulator.client() as client:
        assert not client.closed
        assert client.pull_sms_send_status(limit=1, sms_sdk_app_id=APP_ID)["RequestId"]
    assert client.closed
    assert "closed" in repr(client)


def test_repr_hides_secrets(emulator) -> None:
    with emulator.client() as client:
        text = repr(client)
    assert DEMO_SECRET_KEY not in text and DEMO_SECRET_ID not in text
    assert emulator.url in text


def test_garbage_collected_client_is_freed(emulator, monkeypatch) -> None:
    real_free = _ffi.lib.tcsms_client_free
    freed: List[int] = []

    def counting_free(handle):  # type: ignore[no-untyped-def]
        freed.append(handle)
        real_free(handle)

    monkeypatch.setattr(_ffi.lib, "tcsms_client_free", counting_free)
    client = emulator.client()
    assert client._owner is not None
    handle = client._owner._pointer
    assert handle
    del client
    gc.collect()
    assert freed == [handle]  # the finalizer released the native client, once
    closed = emulator.client()
    closed.close()
    del closed
    gc.collect()
    assert len(freed) == 2  # close() freed it; the finalizer did not free it again


def test_closed_client_code_and_status(emulator) -> None:
    # The same code and status as the Go binding (spec/client_errors.json).
    client = emulator.client()
    client.close()
    with pytest.raises(tcsms.ClientClosedError) as info:
        client.call("PullSmsSendStatus", {"Limit": 1, "SmsSdkAppId": APP_ID})
    assert info.value.code == "ClientError.ClientClosed"
    assert info.value.status == tcsms.Status.INVALID_ARGUMENT


def test_config_keys_are_not_overridden_by_keyword_defaults(start_emulator) -> None:
    # Keywords left out must not override config=: here timeout_ms and max_retries.
    emu = start_emulator("--fault", "slow", "--fault-delay-ms", "3000")
    client = tcsms.Client(DEMO_SECRET_ID, DEMO_SECRET_KEY, endpoint=emu.url,
                          config={"timeout_ms": 300, "max_retries": 0, "region": "ap-beijing"})
    with client:
        assert "ap-beijing" in repr(client)
        started = time.monotonic()
        with pytest.raises(tcsms.TimeoutError):
            client.pull_sms_send_status(limit=1, sms_sdk_app_id=APP_ID)
        assert time.monotonic() - started < 2.0
    # A keyword that is given wins over the same key in config=.
    with tcsms.Client(DEMO_SECRET_ID, DEMO_SECRET_KEY, endpoint=emu.url, timeout=0.3,
                      config={"timeout_ms": 60_000, "max_retries": 0}) as client:
        started = time.monotonic()
        with pytest.raises(tcsms.TimeoutError):
            client.pull_sms_send_status(limit=1, sms_sdk_app_id=APP_ID)
        assert time.monotonic() - started < 2.0


def test_close_waits_for_calls_in_flight(start_emulator) -> None:
    emu = start_emulator("--fault", "slow", "--fault-delay-ms", "1500")
    client = emu.client(max_retries=0, timeout=30)
    started = threading.Event()
    result: List[object] = []
    finished: List[float] = []

    def slow_call() -> None:
        started.set()
        try:
            result.append(client.pull_sms_send_status(limit=1, sms_sdk_app_id=APP_ID))
        except Exception as exc:  # pragma: no cover - reported below
            result.append(exc)
        finished.append(time.monotonic())

    t = threading.Thread(target=slow_call)
    t.start()
    started.wait()
    time.sleep(0.2)  # the call is now inside the library
    client.close()  # must wait for it, not free the handle under it
    closed = time.monotonic()
    t.join()
    # Not waiting, close() would have returned >= 1.3 s before the call (the emulator's delay is
    # 1.5 s). The thread itself may still be finishing when close() returns: Python 3.13 hands
    # the GIL back to close() at once, so "not t.is_alive()" is no test.
    assert finished[0] - closed < 1.0, "close() returned while a call was still running"
    assert isinstance(result[0], dict) and result[0]["RequestId"], result
    with pytest.raises(tcsms.ClientClosedError):
        client.pull_sms_send_status(limit=1, sms_sdk_app_id=APP_ID)


# -- threads -------------------------------------------------------------------------


def test_eight_threads_share_one_client(client: tcsms.Client) -> None:
    def worker(n: int) -> int:
        done = 0
        for i in range(25):
            ctx = f"thread-{n}-call-{i}"
            resp = client.send_sms(
                phone_number_set=[MAINLAND_PHONE],
                sms_sdk_app_id=APP_ID,
                template_id=TEMPLATE_VERIFY,
                sign_name=SIGN_MAINLAND,
                template_param_set=[str(i), "5"],
                session_context=ctx,
            )
            status = resp["SendStatusSet"][0]
            assert status["SessionContext"] == ctx  # no answer crossed threads
            rc = client.report_conversion(APP_ID, status["SerialNo"])
            assert ok(rc["ReportConversionStatus"]["Code"])
            done += 1
        return done

    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(worker, range(8))) == 200


def test_threads_overlap_against_slow_emulator(start_emulator) -> None:
    emu = start_emulator("--fault", "slow", "--fault-delay-ms", "1500")
    with emu.client(max_retries=0, timeout=60) as client:
        started = time.monotonic()
        client.pull_sms_send_status(limit=1, sms_sdk_app_id=APP_ID)
        one = time.monotonic() - started
        assert one >= 0.2, f"--fault slow answered in {one:.3f}s; cannot show overlap"

        def call(_: int) -> float:
            t0 = time.monotonic()
            client.pull_sms_send_status(limit=1, sms_sdk_app_id=APP_ID)
            return time.monotonic() - t0

        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            durations = list(pool.map(call, range(8)))
        wall = time.monotonic() - started
    assert wall < sum(durations) / 2, (wall, durations)
    assert wall < 4 * one, (wall, one)


class _SlowHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real service
    delay = 0.5
    active = 0
    peak = 0
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        cls = type(self)
        with cls.lock:
            cls.active += 1
            cls.peak = max(cls.peak, cls.active)
        time.sleep(self.delay)
        with cls.lock:
            cls.active -= 1
        body = json.dumps({"Response": {"RequestId": "stub-" + str(threading.get_ident()),
                                        "PullSmsSendStatusSet": []}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stub_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_gil_is_released_during_calls(stub_server: str) -> None:
    # The stub server runs on Python threads in this process: it can only answer
    # (and answer 8 requests at once) if the ctypes calls release the GIL.
    _SlowHandler.peak = 0
    with tcsms.Client(DEMO_SECRET_ID, DEMO_SECRET_KEY, endpoint=stub_server,
                      max_retries=0, timeout=20) as client:
        barrier = threading.Barrier(8)

        def call(_: int) -> str:
            barrier.wait()
            return client.pull_sms_send_status(limit=1, sms_sdk_app_id=APP_ID)["RequestId"]

        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(call, range(8)))
        wall = time.monotonic() - started
    assert all(i.startswith("stub-") for i in ids)
    assert _SlowHandler.peak >= 4, _SlowHandler.peak
    assert wall < 8 * _SlowHandler.delay / 2, wall


def test_close_races_with_calls_on_other_threads(stub_server: str) -> None:
    # Close while 8 threads hammer the client: every call either completes or raises
    # ClientClosedError; nothing crashes and close() returns once calls have drained.
    _SlowHandler.delay = 0.01
    try:
        client = tcsms.Client(DEMO_SECRET_ID, DEMO_SECRET_KEY, endpoint=stub_server,
                              max_retries=0, timeout=20)
        stop = threading.Event()
        outcomes: List[str] = []

        def hammer() -> None:
            while not stop.is_set():
                try:
                    client.pull_sms_send_status(limit=1, sms_sdk_app_id=APP_ID)
                    outcomes.append("ok")
                except tcsms.ClientClosedError:
                    outcomes.append("closed")
                    return

        threads = [threading.Thread(target=hammer) for _ in range(8)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        client.close()
        for t in threads:
            t.join(timeout=30)
        stop.set()
        assert not any(t.is_alive() for t in threads)
        assert outcomes.count("closed") == 8
        assert "ok" in outcomes
    finally:
        _SlowHandler.delay = 0.5


def test_unclosed_clients_at_interpreter_exit(emulator) -> None:
    # __del__ is a safety net; at interpreter shutdown it must neither crash nor hang.
    code = (
        "import tcsms, sys\n"
        f"c = tcsms.Client({DEMO_SECRET_ID!r}, {DEMO_SECRET_KEY!r}, endpoint={emulator.url!r})\n"
        f"print(c.pull_sms_send_status(limit=1, sms_sdk_app_id={APP_ID!r})['RequestId'])\n"
        "cycle = [tcsms.Client(endpoint='http://127.0.0.1:1', secret_id='a', secret_key='b')]\n"
        "cycle.append(cycle)\n"
        "sys.modules['keep'] = c  # alive until the very end\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip()
    assert "Exception ignored" not in out.stderr, out.stderr


# -- connections opened ahead ----------------------------------------------------------


def test_connect_ahead_opens_pooled_connections(emulator) -> None:
    with emulator.client() as client:
        assert client.connect_ahead(2) == 2
        assert client.connect_ahead(1, timeout=2) == 1, "enough connections are idle already"
        assert client.report_conversion(APP_ID, "2433:1")["RequestId"]
        assert client.connect_ahead(0) == 0
        with pytest.raises(tcsms.InvalidArgument):
            client.connect_ahead(-1)
        with pytest.raises(tcsms.InvalidArgument):
            client.connect_ahead(1, timeout=0)


def test_connect_ahead_to_a_closed_port_is_a_network_error_in_time() -> None:
    from conftest import closed_port  # type: ignore[attr-defined]

    port = closed_port()
    with tcsms.Client(DEMO_SECRET_ID, DEMO_SECRET_KEY, endpoint=f"http://127.0.0.1:{port}",
                      timeout=5) as client:
        started = time.monotonic()
        with pytest.raises(tcsms.NetworkError) as info:
            client.connect_ahead(3, timeout=1)
        assert time.monotonic() - started < 2
        assert info.value.code == "ClientError.Network"
        assert DEMO_SECRET_KEY not in repr(info.value)
    aclient = tcsms.AsyncClient(DEMO_SECRET_ID, DEMO_SECRET_KEY, endpoint=f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(tcsms.NetworkError):
            aclient.connect_ahead(1, timeout=1)
    finally:
        aclient.close()
