"""Secrets sweep (issue 10 item 6): every error path, every output channel, no secret.

Marker secrets (secret key, token, proxy password) go into the configuration; each error
path is run and every channel a caller could print is searched for them: the exception's
str/repr/pickle/traceback/response, logging output, repr(client), and the process's stderr
(file descriptor 2, where a native library would write).
"""

from __future__ import annotations

import base64
import json
import logging
import pickle
import traceback
from typing import Any, Callable, Dict, List

import pytest

import tcsms

from conftest import APP_ID, DEMO_SECRET_ID, DEMO_SECRET_KEY, closed_port

KEY = "MARKERsecretKEY0123456789abcdef"
TOKEN = "MARKERtoken0123456789"
PROXY_PASSWORD = "MARKERproxyPW0123"
PROXY_USER = "proxyuser"
MARKERS = (
    KEY,
    TOKEN,
    PROXY_PASSWORD,
    # Proxy-Authorization carries the password base64-encoded.
    base64.b64encode(f"{PROXY_USER}:{PROXY_PASSWORD}".encode()).decode(),
)


def channels(err: BaseException, caplog: pytest.LogCaptureFixture) -> Dict[str, str]:
    """Everything a caller might print or store about a failure."""
    logging.getLogger("tcsms-test").exception("call failed: %s", err)
    tb = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    out = {
        "str": str(err),
        "repr": repr(err),
        "pickle": pickle.dumps(err).decode("latin-1"),
        "traceback": tb,
        "logging": caplog.text,
        "args": repr(err.args),
    }
    if isinstance(err, tcsms.TcsmsError):
        out["response"] = json.dumps(err.response)
        out["message"] = err.message
    return out


def assert_clean(where: str, run: Callable[[], Any], caplog, capfd) -> BaseException:
    caplog.clear()
    capfd.readouterr()
    with pytest.raises(tcsms.TcsmsError) as info:
        run()
    found: List[str] = []
    captured = capfd.readouterr()
    texts = dict(channels(info.value, caplog), stderr=captured.err, stdout=captured.out)
    for name, text in texts.items():
        found += [f"{where}: {m!r} in {name}: {text[:300]!r}" for m in MARKERS if m in text]
    assert not found, "\n".join(found)
    return info.value


def secret_config(**extra: Any) -> Dict[str, Any]:
    # Always a loopback endpoint: nothing here may resolve or reach a real host.
    config: Dict[str, Any] = dict(secret_id=DEMO_SECRET_ID, secret_key=KEY, token=TOKEN,
                                  endpoint=f"http://127.0.0.1:{closed_port()}")
    config.update(extra)
    return config


def proxy_url(port: int) -> str:
    return f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{port}"


def call(client: tcsms.Client) -> Any:
    return client.call("PullSmsSendStatus", {"Limit": 1, "SmsSdkAppId": APP_ID})


def test_bad_config_paths(caplog, capfd) -> None:
    port = closed_port()
    cases = {
        "unknown key": dict(config={"bogus": KEY}),
        "bad endpoint": dict(endpoint="ftp://127.0.0.1:1"),
        "bad endpoint port": dict(endpoint="http://127.0.0.1:+1"),
        "bad timeout": dict(config={"timeout_ms": "x"}),
        "bad proxy": dict(proxy=f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:notaport"),
        "socks proxy": dict(proxy=f"socks5://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{port}"),
        "missing ca_file": dict(ca_file="/nonexistent/ca.pem"),
    }
    for where, extra in cases.items():
        def make(extra: Dict[str, Any] = extra) -> Any:
            client = tcsms.Client(**secret_config(**extra))  # type: ignore[arg-type]
            try:  # configurations the library accepts must fail on the call
                call(client)
            finally:
                client.close()

        assert_clean(where, make, caplog, capfd)


def test_network_paths(caplog, capfd) -> None:
    cases = {
        "refused port": dict(),
        "refused proxy": dict(proxy=proxy_url(closed_port())),
    }
    for where, extra in cases.items():
        with tcsms.Client(**secret_config(max_retries=0, timeout=5, **extra)) as client:
            assert "MARKER" not in repr(client)
            err = assert_clean(where, lambda: call(client), caplog, capfd)
            assert isinstance(err, tcsms.NetworkError), err


def echo(server, status: int) -> None:
    server.status = status
    server.echo_headers = True
    server.body = b""


@pytest.mark.parametrize("status", [500, 407, 200])
def test_echoing_proxy(status: int, scripted_server, caplog, capfd) -> None:
    # A proxy that refuses CONNECT and echoes Proxy-Authorization back.
    echo(scripted_server, status)
    proxy = proxy_url(int(scripted_server.url.rsplit(":", 1)[1]))
    with tcsms.Client(**secret_config(max_retries=0, timeout=5, proxy=proxy)) as client:
        assert_clean(f"proxy echo {status}", lambda: call(client), caplog, capfd)
    assert scripted_server.requests >= 1  # the CONNECT reached the proxy


@pytest.mark.parametrize("status", [500, 403, 200])
def test_echoing_server(status: int, scripted_server, caplog, capfd) -> None:
    # A server that echoes the request headers (X-TC-Token first) in an error page
    # or a 200 that is not the envelope.
    echo(scripted_server, status)
    with tcsms.Client(**secret_config(max_retries=0, timeout=5, endpoint=scripted_server.url)) as client:
        assert_clean(f"server echo {status}", lambda: call(client), caplog, capfd)
    assert scripted_server.requests == 1


def test_api_error_paths(emulator, caplog, capfd) -> None:
    with emulator.client(secret_key=KEY, token=TOKEN) as client:
        err = assert_clean("wrong key", lambda: call(client), caplog, capfd)
        assert isinstance(err, tcsms.APIError)
        assert_clean("unknown action", lambda: client.call("NoSuchAction", {}), caplog, capfd)
        assert_clean("bad request", lambda: client.call("SendSms", {"x": 1}), caplog, capfd)
    with emulator.client(secret_key=DEMO_SECRET_KEY, token=TOKEN) as client:
        assert_clean("missing field", lambda: client.call("SendSms", {}), caplog, capfd)
