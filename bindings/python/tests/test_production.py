"""Issue 11 from Python against the emulator: per-number results and batching,
client-side rate limits, clock-skew correction, credential rotation."""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from typing import List

import pytest

import tcsms
from tcsms import NumberClass

from conftest import APP_ID, DEMO_SECRET_ID, DEMO_SECRET_KEY, SIGN_MAINLAND, TEMPLATE_VERIFY

OTHER_SECRET_ID = "AKIDtcsmsrotated000000000000000000000"
OTHER_SECRET_KEY = "tcsmsrotatedsecretkey000000000000"

# Place -> (number as given, class, code): the emulator's test numbers and a duplicate.
SPECIAL = {
    3: ("+8619900000001", NumberClass.REJECTED, "InvalidParameterValue.IncorrectPhoneNumber"),
    150: ("+8619900000002", NumberClass.REJECTED, "FailedOperation.PhoneNumberInBlacklist"),
    199: ("+8619900000011", NumberClass.LIMITED, "LimitExceeded.PhoneNumberThirtySecondLimit"),
    200: ("19900000013", NumberClass.LIMITED, "LimitExceeded.PhoneNumberDailyLimit"),
    401: ("+8619900000021", NumberClass.FAILED, "InternalError.Timeout"),
    420: ("+8613800000010", NumberClass.REJECTED, "ClientError.DuplicatePhoneNumber"),
}


def numbers_450() -> List[str]:
    return [
        SPECIAL[i][0] if i in SPECIAL else (f"138{i:08d}" if i % 7 == 0 else f"+86138{i:08d}")
        for i in range(450)
    ]


def sms(numbers: List[str]) -> dict:
    return {
        "PhoneNumberSet": numbers,
        "SmsSdkAppId": APP_ID,
        "SignName": SIGN_MAINLAND,
        "TemplateId": TEMPLATE_VERIFY,
        "TemplateParamSet": ["1234", "5"],
    }


def logged(path: str) -> List[dict]:
    with open(path, encoding="utf-8") as f:
        return [line for line in map(json.loads, f) if line["action"]]


def test_450_numbers_get_typed_results_in_input_order(start_emulator) -> None:
    emu = start_emulator()
    with emu.client() as client:
        bad = numbers_450()
        bad[17] = "+86 138 0000 0000"
        with pytest.raises(tcsms.InvalidArgument) as info:
            client.send_sms_results(sms(bad))
        assert info.value.code == "ClientError.InvalidPhoneNumber"
        assert "PhoneNumberSet[17]" in info.value.message

        sent = client.send_sms_results(sms(numbers_450()))
        assert not sent.all_ok
        assert len(sent) == 450 and len(sent.request_ids) == 3
        for i, result in enumerate(sent):
            given, cls, code = SPECIAL.get(i, (numbers_450()[i], NumberClass.OK, "Ok"))
            want = given if given.startswith("+") else "+86" + given
            assert (result.phone_number, result.class_, result.code) == (want, cls, code), i
            assert result.ok == (cls is NumberClass.OK)
            assert (result.fee == 1) == result.ok and bool(result.serial_no) == result.ok

        one = client.send_sms_results(sms(["13800000001"]))
        assert one.all_ok and one[0].phone_number == "+8613800000001"
        # Every number failing is never "all ok".
        blacklisted = client.send_sms_results(sms(["+8619900000002"]))
        assert not blacklisted.all_ok and blacklisted[0].class_ is NumberClass.REJECTED
        # A request refused as a whole raises as call() does.
        with pytest.raises(tcsms.APIError) as refused:
            client.send_sms_results(dict(sms(["+8613800000002"]), TemplateId="9999"))
        assert refused.value.code == "FailedOperation.TemplateUnapprovedOrNotExist"

        multi = client.send_multi_global_sms_results({
            "SmsSdkAppId": APP_ID,
            "MultiSmsInfoSet": [
                {"PhoneNumber": "+12025550100", "TemplateId": "2004"},
                {"PhoneNumber": "+15550000012", "TemplateId": "2004"},
            ],
        })
        assert [r.class_ for r in multi] == [NumberClass.OK, NumberClass.LIMITED]
        with pytest.raises(tcsms.InvalidArgument):
            client.send_sms_results(["+8613800000000"])  # type: ignore[arg-type]


def test_a_send_with_a_timeout_ends_within_it(start_emulator) -> None:
    emu = start_emulator("--fault", "slow", "--fault-delay-ms", "3000")
    with emu.client(timeout=10.0) as client:
        start = time.monotonic()
        with pytest.raises(tcsms.TimeoutError):
            client.send_sms_results(sms(numbers_450()), timeout=0.8)
        assert time.monotonic() - start < 1.5


def burst(client: tcsms.Client) -> List[Exception]:
    """60 DescribeSmsSignList calls (3x its 20/s limit) from 8 threads."""
    errors: List[Exception] = []
    lock = threading.Lock()

    def work(calls: int) -> None:
        for _ in range(calls):
            try:
                client.call("DescribeSmsSignList", {"International": 0})
            except tcsms.TcsmsError as exc:
                with lock:
                    errors.append(exc)

    threads = [threading.Thread(target=work, args=(60 // 8 + (i < 60 % 8),)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_a_burst_of_three_times_the_limit_from_eight_threads_is_never_refused(start_emulator) -> None:
    emu = start_emulator()
    with emu.client(max_retries=0) as client:
        start = time.monotonic()
        assert burst(client) == []
        assert time.monotonic() - start >= 3.0
    time.sleep(1.1)
    with emu.client(max_retries=0, rate_limits={"*": 0}) as unlimited:
        errors = burst(unlimited)
    assert errors and all(getattr(e, "code", "") == "RequestLimitExceeded" for e in errors), errors


def test_a_call_without_a_token_in_time_raises_without_sending(start_emulator) -> None:
    emu = start_emulator()
    with emu.client(timeout=0.3, rate_limits={"*": 0, "DescribeSmsSignList": 1}) as client:
        client.call("DescribeSmsSignList", {"International": 0})
        with pytest.raises(tcsms.TimeoutError) as info:
            client.call("DescribeSmsSignList", {"International": 0})
        assert info.value.code == "ClientError.RateLimited"
    with pytest.raises(tcsms.ConfigError):
        emu.client(rate_limits={"SendSMS": 1})


def test_a_client_900_s_fast_succeeds_after_one_re_sign(start_emulator) -> None:
    log = os.path.join(tempfile.mkdtemp(), "emulator.log")
    emu = start_emulator("--clock-offset", "-900", "--log", log)
    with emu.client(max_retries=0) as client:
        assert client.clock_offset == 0
        assert client.send_sms_results(sms(["+8613800000003"])).all_ok
        assert -901 <= client.clock_offset <= -899
        assert [line["code"] for line in logged(log)] == ["AuthFailure.SignatureExpire", None]
        client.call("DescribeSmsSignList", {"International": 0})
        assert len(logged(log)) == 3


def test_credentials_rotate_while_eight_threads_call(start_emulator) -> None:
    emu = start_emulator(
        "--rate-limit", "all=0",
        "--secret-id", DEMO_SECRET_ID, "--secret-key", DEMO_SECRET_KEY,
        "--secret-id", OTHER_SECRET_ID, "--secret-key", OTHER_SECRET_KEY,
    )
    with emu.client(rate_limits={"*": 0}) as client:
        stop = threading.Event()
        failures: List[Exception] = []
        calls = [0]

        def work() -> None:
            while not stop.is_set():
                try:
                    client.call("DescribeSmsSignList", {"International": 0})
                    calls[0] += 1
                except Exception as exc:  # noqa: BLE001 - any failure fails the test
                    failures.append(exc)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for i in range(20):
            time.sleep(0.02)
            if i % 2 == 0:
                client.set_credentials(OTHER_SECRET_ID, OTHER_SECRET_KEY)
            else:
                client.set_credentials(DEMO_SECRET_ID, DEMO_SECRET_KEY, token=None)
        stop.set()
        for t in threads:
            t.join()
        assert failures == [] and calls[0] >= 8

        client.set_credentials("AKIDunknown0000000000000000000000000", "unknown-secret-key")
        with pytest.raises(tcsms.APIError) as info:
            client.call("DescribeSmsSignList", {"International": 0})
        assert info.value.code == "AuthFailure.SecretIdNotFound"
        with pytest.raises(tcsms.ConfigError) as bad:
            client.set_credentials("", OTHER_SECRET_KEY)
        assert OTHER_SECRET_KEY not in f"{bad.value} {bad.value!r} {client!r}"
        client.set_credentials(OTHER_SECRET_ID, OTHER_SECRET_KEY)
        client.call("DescribeSmsSignList", {"International": 0})
    with pytest.raises(tcsms.ClientClosedError):
        client.set_credentials(OTHER_SECRET_ID, OTHER_SECRET_KEY)
