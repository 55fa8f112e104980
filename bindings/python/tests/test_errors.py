"""Each failure arrives as the right exception, with the service's code and RequestId."""

from __future__ import annotations

import builtins
import pickle
import time

import pytest

import tcsms

from conftest import (
    APP_ID,
    DEMO_SECRET_ID,
    DEMO_SECRET_KEY,
    MAINLAND_PHONE,
    SIGN_MAINLAND,
    TEMPLATE_VERIFY,
    closed_port,
)


def test_wrong_key_is_signature_failure(emulator) -> None:
    with emulator.client(secret_key="wrong" + DEMO_SECRET_KEY[5:]) as client:
        with pytest.raises(tcsms.APIError) as info:
            client.report_conversion(APP_ID, "2433:1")
    err = info.value
    assert err.status == tcsms.Status.API_ERROR == 10
    assert err.code == "AuthFailure.SignatureFailure"
    assert err.request_id
    assert err.message
    assert str(err) == f"AuthFailure.SignatureFailure: {err.message} (RequestId: {err.request_id})"
    assert err.response is not None and err.response["Error"]["Code"] == err.code
    assert isinstance(err, tcsms.TcsmsError)


def test_unknown_secret_id(emulator) -> None:
    with emulator.client(secret_id="AKIDunknown000000000000000000000000") as client:
        with pytest.raises(tcsms.APIError) as info:
            client.pull_sms_send_status(limit=1, sms_sdk_app_id=APP_ID)
    assert info.value.code.startswith("AuthFailure."), info.value
    assert info.value.request_id


def test_unknown_app(client: tcsms.Client) -> None:
    with pytest.raises(tcsms.APIError) as info:
        client.send_sms(
            phone_number_set=[MAINLAND_PHONE],
            sms_sdk_app_id="1400999999",
            template_id=TEMPLATE_VERIFY,
            sign_name=SIGN_MAINLAND,
            template_param_set=["1", "2"],
        )
    assert info.value.code == "UnauthorizedOperation.SmsSdkAppIdVerifyFail"
    assert info.value.request_id


def test_missing_parameter(client: tcsms.Client) -> None:
    with pytest.raises(tcsms.APIError) as info:
        client.call("SendSms", {"SmsSdkAppId": APP_ID, "TemplateId": TEMPLATE_VERIFY})
    assert info.value.code.startswith(("MissingParameter", "InvalidParameter")), info.value
    assert "PhoneNumberSet" in info.value.message
    assert info.value.request_id
    # A typed method with a required field passed as None omits it, same answer.
    with pytest.raises(tcsms.APIError) as info2:
        client.pull_sms_send_status(limit=10, sms_sdk_app_id=None)  # type: ignore[arg-type]
    assert "SmsSdkAppId" in info2.value.message


def test_unsigned_template_is_refused(client: tcsms.Client) -> None:
    with pytest.raises(tcsms.APIError) as info:
        client.send_sms(
            phone_number_set=[MAINLAND_PHONE],
            sms_sdk_app_id=APP_ID,
            template_id=TEMPLATE_VERIFY,
            sign_name="no such signature",
            template_param_set=["1", "2"],
        )
    assert info.value.code.startswith("FailedOperation."), info.value
    assert info.value.request_id


def test_unknown_action_is_invalid_argument(client: tcsms.Client) -> None:
    with pytest.raises(tcsms.InvalidArgument) as info:
        client.call("NoSuchAction", {})
    err = info.value
    assert err.status == tcsms.Status.INVALID_ARGUMENT
    assert err.code == "ClientError.UnknownAction"
    assert "NoSuchAction" in str(err)
    assert err.request_id == ""
    assert isinstance(err, ValueError)


def test_params_must_be_a_dict(client: tcsms.Client) -> None:
    with pytest.raises(tcsms.InvalidArgument):
        client.call("SendSms", ["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(tcsms.InvalidArgument, match="JSON"):
        client.call("SendSms", {"SmsSdkAppId": object()})
    with pytest.raises(tcsms.InvalidArgument, match="NUL"):
        client.call("Send\0Sms", {})
    with pytest.raises(tcsms.InvalidArgument):
        client.call("SendSms", {"SmsSdkAppId": APP_ID}, timeout=-1)


def test_bad_config_key_names_the_key(emulator) -> None:
    with pytest.raises(tcsms.ConfigError) as info:
        emulator.client(config={"no_such_option": 1})
    err = info.value
    assert err.status == tcsms.Status.INVALID_CONFIG
    assert err.code.startswith("ClientError.")
    assert "no_such_option" in str(err)
    assert isinstance(err, tcsms.InvalidArgument)


def test_bad_config_value(emulator) -> None:
    with pytest.raises(tcsms.ConfigError) as info:
        emulator.client(language="fr-FR")
    assert "language" in str(info.value)


def test_missing_credentials(monkeypatch, tmp_path, emulator) -> None:
    for name in ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY",
                 "TENCENTCLOUD_SESSION_TOKEN", "TENCENTCLOUD_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(tcsms.ConfigError) as info:
        client = tcsms.Client(endpoint=emulator.url)
        try:  # the core may defer the credential lookup to the first call
            client.pull_sms_send_status(limit=1, sms_sdk_app_id=APP_ID)
        finally:
            client.close()
    assert info.value.code == "ClientError.MissingCredentials", info.value


def test_credentials_from_environment(monkeypatch, emulator) -> None:
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", DEMO_SECRET_ID)
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", DEMO_SECRET_KEY)
    with tcsms.Client(endpoint=emulator.url) as client:
        resp = client.pull_sms_send_status(limit=1, sms_sdk_app_id=APP_ID)
    assert resp["RequestId"]


def test_unreachable_host_is_network_error() -> None:
    port = closed_port()
    with tcsms.Client(DEMO_SECRET_ID, DEMO_SECRET_KEY, endpoint=f"http://127.0.0.1:{port}",
                      max_retries=0, timeout=5) as client:
        started = time.monotonic()
        with pytest.raises(tcsms.NetworkError) as info:
            client.report_conversion(APP_ID, "2433:1")
        assert time.monotonic() - started < 5
    err = info.value
    assert err.status == tcsms.Status.NETWORK
    assert err.code == "ClientError.Network"
    assert err.request_id == ""
    assert str(err).startswith("ClientError.Network: ")


def test_slow_server_times_out(start_emulator) -> None:
    emu = start_emulator("--fault", "slow", "--fault-delay-ms", "1500")
    with emu.client(max_retries=0, timeout=0.5) as client:
        started = time.monotonic()
        with pytest.raises(tcsms.TimeoutError) as info:
            client.report_conversion(APP_ID, "2433:1")
        elapsed = time.monotonic() - started
    assert elapsed < 3, elapsed
    err = info.value
    assert err.status == tcsms.Status.TIMEOUT
    assert err.code == "ClientError.Timeout"
    assert isinstance(err, builtins.TimeoutError)


def test_per_call_timeout(start_emulator) -> None:
    emu = start_emulator("--fault", "slow", "--fault-delay-ms", "1500")
    with emu.client(max_retries=0, timeout=30) as client:
        started = time.monotonic()
        with pytest.raises(tcsms.TimeoutError):
            client.pull_sms_send_status(limit=1, sms_sdk_app_id=APP_ID, timeout=0.3)
        with pytest.raises(tcsms.TimeoutError):
            client.call("PullSmsSendStatus", {"Limit": 1, "SmsSdkAppId": APP_ID}, timeout=0.3)
        with pytest.raises(tcsms.TimeoutError):
            client.report_conversion(APP_ID, "2433:1", timeout=0.3)
        assert time.monotonic() - started < 6


def test_garbage_body_is_decode_error(start_emulator) -> None:
    emu = start_emulator("--fault", "garbage", "--fault-every", "1")
    with emu.client(max_retries=0) as client:
        with pytest.raises(tcsms.DecodeError) as info:
            client.report_conversion(APP_ID, "2433:1")
    assert info.value.status == tcsms.Status.DECODE
    assert info.value.code == "ClientError.Decode"
    assert isinstance(info.value, tcsms.NetworkError)


def test_http_500_is_http_status_error(start_emulator) -> None:
    emu = start_emulator("--fault", "http500", "--fault-every", "1")
    with emu.client(max_retries=0) as client:
        with pytest.raises(tcsms.HttpStatusError) as info:
            client.report_conversion(APP_ID, "2433:1")
    assert info.value.status == tcsms.Status.HTTP_STATUS
    assert isinstance(info.value, tcsms.NetworkError)


def test_closed_connection_is_network_error(start_emulator) -> None:
    emu = start_emulator("--fault", "close", "--fault-every", "1")
    with emu.client(max_retries=0) as client:
        with pytest.raises(tcsms.NetworkError) as info:
            client.report_conversion(APP_ID, "2433:1")
    assert info.value.status in (tcsms.Status.NETWORK, tcsms.Status.DECODE)


def test_retries_recover_from_every_other_failure(start_emulator) -> None:
    emu = start_emulator("--fault", "http500", "--fault-every", "2")
    with emu.client(max_retries=2) as client:
        for _ in range(4):
            assert client.pull_sms_send_status(limit=1, sms_sdk_app_id=APP_ID)["RequestId"]


def test_errors_pickle_and_repr() -> None:
    err = tcsms.APIError("bad", status=10, code="X.Y", request_id="r-1",
                         response={"Error": {"Code": "X.Y"}})
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is tcsms.APIError
    assert (again.status, again.code, again.message, again.request_id) == (10, "X.Y", "bad", "r-1")
    assert str(again) == "X.Y: bad (RequestId: r-1)"
    assert "X.Y" in repr(err)
    t = pickle.loads(pickle.dumps(tcsms.TimeoutError("slow", status=7, code="ClientError.Timeout")))
    assert isinstance(t, builtins.TimeoutError) and t.code == "ClientError.Timeout"


def test_status_classes() -> None:
    from tcsms._errors import error_class

    assert error_class(1) is tcsms.InvalidArgument
    assert error_class(2) is tcsms.InvalidArgument
    assert error_class(3) is tcsms.InvalidArgument
    assert error_class(4) is tcsms.InvalidArgument
    assert error_class(5) is tcsms.ConfigError
    assert error_class(6) is tcsms.NetworkError
    assert error_class(7) is tcsms.TimeoutError
    assert error_class(8) is tcsms.HttpStatusError
    assert error_class(9) is tcsms.DecodeError
    assert error_class(10) is tcsms.APIError
    assert error_class(11) is tcsms.InternalError
    assert error_class(99) is tcsms.TcsmsError


def test_deeply_nested_answer_is_decode_error(scripted_server) -> None:
    # A 200 answer nested deeper than Python's json can follow (in a field the core
    # does not look at) must still end as a TcsmsError, never a RecursionError.
    depth = 100_000
    scripted_server.body = (
        '{"Response":{"RequestId":"r-deep","Deep":' + "[" * depth + "]" * depth + "}}"
    ).encode()
    with tcsms.Client(DEMO_SECRET_ID, DEMO_SECRET_KEY, endpoint=scripted_server.url,
                      max_retries=0) as client:
        for call in (
            lambda: client.call("PullSmsSendStatus", {"Limit": 1, "SmsSdkAppId": APP_ID}),
            lambda: client.report_conversion(APP_ID, "2433:1"),
        ):
            with pytest.raises(tcsms.TcsmsError) as info:
                call()
            assert type(info.value) is tcsms.DecodeError
            assert info.value.status == tcsms.Status.DECODE
            assert info.value.code == "ClientError.Decode"
    assert scripted_server.requests == 2
    # The same answer handed over by the library directly (whatever the core accepts).
    with pytest.raises(tcsms.DecodeError):
        tcsms.Client._result(tcsms.Status.OK, scripted_server.body)
    err = tcsms.Client._error(tcsms.Status.HTTP_STATUS, scripted_server.body)
    assert type(err) is tcsms.HttpStatusError and err.code == "ClientError.HttpStatus"
