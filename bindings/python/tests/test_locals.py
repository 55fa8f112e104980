"""Tracebacks printed with their local variables (pytest --showlocals, Sentry,
traceback.TracebackException(capture_locals=True)) show no secret of the client, and
repr() of a client whose constructor failed half-way never raises (it would replace the
original error in such a traceback)."""

from __future__ import annotations

import traceback
from typing import Any, Callable

import pytest

import tcsms

from conftest import DEMO_SECRET_ID, DEMO_SECRET_KEY, Emulator

KEY = "MARKERlocalsKEY0123456789abcdef"
TOKEN = "MARKERlocalsTOKEN012345"
PROXY_PASSWORD = "MARKERlocalsPROXY0123"
MARKERS = (KEY, TOKEN, PROXY_PASSWORD)


def with_locals(run: Callable[[], Any]) -> str:
    """The traceback of what ``run`` raises, formatted with every frame's locals."""
    with pytest.raises(Exception) as info:
        run()
    err = info.value
    text = "".join(
        traceback.TracebackException(type(err), err, err.__traceback__, capture_locals=True).format()
    )
    assert "Traceback" in text and type(err).__name__ in text
    return text


def secret_options(**extra: Any) -> dict:
    options = dict(token=TOKEN, proxy=f"http://user:{PROXY_PASSWORD}@127.0.0.1:9")
    options.update(extra)
    return options


@pytest.mark.parametrize(
    "where, run",
    [
        # refused by the library (ConfigError), by Python before the library (bad
        # timeout, bad rate_limits JSON), and a non-str secret
        ("language", lambda: tcsms.Client(DEMO_SECRET_ID, KEY, language="xx", **secret_options())),
        ("timeout", lambda: tcsms.Client(DEMO_SECRET_ID, KEY, timeout="soon", **secret_options())),
        ("rate_limits", lambda: tcsms.Client(DEMO_SECRET_ID, KEY, rate_limits={"*": float("nan")},
                                             **secret_options())),
        ("config", lambda: tcsms.Client(config={"secret_id": DEMO_SECRET_ID, "secret_key": KEY,
                                                "token": TOKEN, "bogus_key": 1})),
        ("token type", lambda: tcsms.Client(DEMO_SECRET_ID, KEY, token=12345,  # type: ignore[arg-type]
                                            proxy=f"http://u:{PROXY_PASSWORD}@127.0.0.1:9")),
        ("async workers", lambda: tcsms.AsyncClient(DEMO_SECRET_ID, KEY, workers=0, **secret_options())),
        ("async language", lambda: tcsms.AsyncClient(DEMO_SECRET_ID, KEY, language="xx",
                                                     **secret_options())),
    ],
)
def test_constructor_tracebacks_show_no_secret(where: str, run: Callable[[], Any]) -> None:
    text = with_locals(run)
    leaked = [m for m in MARKERS if m in text]
    assert not leaked, f"{where}: {leaked} in\n{text}"
    assert "<redacted>" in text or "settings (redacted)" in text, text  # the holder is shown


def test_set_credentials_tracebacks_show_no_secret(emulator: Emulator) -> None:
    with emulator.client() as client:
        text = with_locals(lambda: client.set_credentials(DEMO_SECRET_ID, KEY + "\0", TOKEN))
        assert not [m for m in MARKERS if m in text], text
        text = with_locals(lambda: client.set_credentials(DEMO_SECRET_ID, KEY, TOKEN + "\ud800"))
        assert not [m for m in MARKERS if m in text], text
        client.set_credentials(DEMO_SECRET_ID, DEMO_SECRET_KEY)  # still usable
        assert client.report_conversion("1400000001", "2433:1")["RequestId"]


def test_repr_of_a_half_built_client_never_raises() -> None:
    for cls in (tcsms.Client, tcsms.AsyncClient):
        bare = cls.__new__(cls)
        assert repr(bare).startswith(f"<tcsms.{cls.__name__}")
        assert bare.closed
        bare.close()  # idempotent on nothing
    # The constructor's own frame (self is half-built) appears in the traceback: the
    # original error is the one shown.
    text = with_locals(lambda: tcsms.Client(DEMO_SECRET_ID, KEY, timeout=-1))
    assert "timeout must be a positive number of seconds" in text
    assert "self = <tcsms.Client" in text, text
    assert "Error in repr" not in text and "repr" not in text.split("InvalidArgument")[-1]
