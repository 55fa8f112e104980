"""Credentials from a role, from Python, against the emulator: a client configured only
with ``credential_source="cvm_role"`` sends and reports conversions across several
expiries of 2-second keys (the ``credentials`` events arrive from the refresh thread);
OIDC with a token file; STS refusing the token raises :class:`tcsms.APIError` with STS's
code; no secret in any event or error."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest

import tcsms

from conftest import APP_ID, SIGN_MAINLAND, TEMPLATE_VERIFY

ROLE_ARN = "qcs::cam::uin/100000000001:roleName/py-test"
WEB_TOKEN = "eyJpythonwebidentitytoken"


def send_and_report(client: tcsms.Client, number: str) -> None:
    resp = client.send_sms(
        phone_number_set=[number],
        sms_sdk_app_id=APP_ID,
        template_id=TEMPLATE_VERIFY,
        sign_name=SIGN_MAINLAND,
        template_param_set=["1234", "5"],
    )
    status = resp["SendStatusSet"][0]
    assert status["Code"] == "Ok", status
    client.report_conversion(APP_ID, status["SerialNo"])


def test_a_cvm_role_client_sends_across_expiries(start_emulator) -> None:  # type: ignore[no-untyped-def]
    emu = start_emulator("--rate-limit", "all=0", "--cvm-role", "py-role", "--temp-credential-lifetime", "2")
    events: List[Dict[str, Any]] = []
    lock = threading.Lock()

    def on_event(event: Dict[str, Any]) -> None:
        with lock:
            events.append(event)

    with tcsms.Client(
        endpoint=emu.url,
        credential_source="cvm_role",
        metadata_endpoint=emu.url,
        rate_limits={"*": 0},
        on_event=on_event,
    ) as client:
        deadline = time.monotonic() + 5.0
        i = 0
        while time.monotonic() < deadline:
            i += 1
            send_and_report(client, f"+86137{i:08d}")
        with pytest.raises(tcsms.InvalidArgument):
            client.set_credentials("AKIDx", "key")
    with lock:
        credentials = [e for e in events if e["event"] == "credentials"]
    assert len(credentials) >= 3, credentials
    assert all(e["outcome"] == "ok" and e["source"] == "cvm_role" for e in credentials), credentials
    assert all(set(e) == {"event", "source", "outcome", "expiry", "code", "message"} for e in credentials)


def test_oidc_and_an_sts_refusal(start_emulator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    token_file = tmp_path / "token"
    token_file.write_text(WEB_TOKEN + "\n")
    emu = start_emulator("--rate-limit", "all=0", "--web-identity-token-file", str(token_file))
    with tcsms.Client(
        endpoint=emu.url,
        credential_source="oidc",
        oidc_provider_id="OIDC",
        oidc_token_file=str(token_file),
        role_arn=ROLE_ARN,
        role_session_name="py-test",
        role_duration_seconds=900,
        sts_endpoint=emu.url,
    ) as client:
        send_and_report(client, "+8613900000003")

    stale = tmp_path / "stale"
    stale.write_text("eyJstaletoken")
    with tcsms.Client(
        endpoint=emu.url,
        credential_source="oidc",
        oidc_provider_id="OIDC",
        oidc_token_file=str(stale),
        role_arn=ROLE_ARN,
        sts_endpoint=emu.url,
    ) as client:
        with pytest.raises(tcsms.APIError) as caught:
            client.describe_sms_sign_list(sign_id_set=[1], international=0)
    err = caught.value
    assert err.code == "InvalidParameter.WebIdentityTokenError"
    assert "oidc" in str(err)
    assert "eyJstaletoken" not in f"{err!r} {err}"


def test_no_metadata_service_is_a_fast_named_network_error(start_emulator) -> None:  # type: ignore[no-untyped-def]
    emu = start_emulator()
    with tcsms.Client(
        endpoint=emu.url, credential_source="cvm_role", metadata_endpoint="http://127.0.0.1:1"
    ) as client:
        started = time.monotonic()
        with pytest.raises(tcsms.NetworkError) as caught:
            client.describe_sms_sign_list(sign_id_set=[1], international=0)
        assert time.monotonic() - started < 2.0
    assert caught.value.code == "ClientError.CredentialsUnavailable"
    assert "metadata service http://127.0.0.1:1/" in str(caught.value)
    with pytest.raises(tcsms.ConfigError, match="credential_source"):
        tcsms.Client(endpoint=emu.url, credential_source="imds")


@pytest.mark.filterwarnings("ignore:This process:DeprecationWarning")
def test_a_role_client_used_before_fork_refreshes_in_parent_and_child(start_emulator) -> None:  # type: ignore[no-untyped-def]
    import os

    emu = start_emulator("--rate-limit", "all=0", "--cvm-role", "py-role", "--temp-credential-lifetime", "2")
    client = tcsms.Client(
        endpoint=emu.url, credential_source="cvm_role", metadata_endpoint=emu.url, rate_limits={"*": 0}, timeout=10.0
    )
    send_and_report(client, "+8613500000000")  # keys fetched before the fork

    def traffic(who: int) -> List[str]:
        wrong: List[str] = []
        deadline = time.monotonic() + 4.5  # across two expiries of 2-second keys
        n = 0
        while time.monotonic() < deadline:
            n += 1
            try:
                send_and_report(client, f"+86135{who:02d}{n:06d}")
            except Exception as e:  # noqa: BLE001 - every failure is a finding here
                wrong.append(f"{type(e).__name__}: {e}")
        return wrong

    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 3
        try:
            wrong = traffic(2)
            for line in wrong[:3]:
                os.write(2, f"fork child: {line}\n".encode())
            code = 0 if not wrong else 1
        finally:
            os._exit(code)
    wrong = traffic(1)
    _, status = os.waitpid(pid, 0)
    client.close()
    assert wrong == [], wrong[:3]
    # os.waitstatus_to_exitcode is Python 3.9+; the suite runs on 3.8 too.
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status


def test_an_async_client_takes_the_role_keywords(start_emulator) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    emu = start_emulator("--rate-limit", "all=0", "--cvm-role", "py-async-role")
    events: List[Dict[str, Any]] = []

    async def main() -> Dict[str, Any]:
        async with tcsms.AsyncClient(
            endpoint=emu.url,
            credential_source="cvm_role",
            cvm_role_name="py-async-role",
            metadata_endpoint=emu.url,
            rate_limits={"*": 0},
            on_event=events.append,
        ) as client:
            with pytest.raises(tcsms.InvalidArgument):
                client.set_credentials("AKIDx", "key")
            return await client.report_conversion(APP_ID, "2433:1")

    assert asyncio.run(main())["RequestId"]
    credentials = [e for e in events if e["event"] == "credentials"]
    assert credentials and credentials[0]["source"] == "cvm_role", events
