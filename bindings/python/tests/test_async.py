"""tcsms.AsyncClient: asyncio calls over the library's completion queue, against the emulator."""

from __future__ import annotations

import asyncio
import time
from typing import Any, List

import pytest

import tcsms

from conftest import APP_ID, DEMO_SECRET_ID, DEMO_SECRET_KEY, SIGN_MAINLAND, TEMPLATE_VERIFY


def make(url: str, **kwargs: Any) -> tcsms.AsyncClient:
    options: dict = dict(secret_id=DEMO_SECRET_ID, secret_key=DEMO_SECRET_KEY, endpoint=url, max_retries=0)
    options.update(kwargs)
    return tcsms.AsyncClient(**options)


def sms(phone: str) -> dict:
    return {
        "PhoneNumberSet": [phone],
        "SmsSdkAppId": APP_ID,
        "TemplateId": TEMPLATE_VERIFY,
        "SignName": SIGN_MAINLAND,
        "TemplateParamSet": ["1234", "5"],
    }


def test_many_concurrent_calls_each_get_their_answer(start_emulator) -> None:  # type: ignore[no-untyped-def]
    emu = start_emulator("--rate-limit", "all=0")

    async def main() -> List[Any]:
        async with make(emu.url, workers=8) as client:
            phones = [f"+86134{i:08d}" for i in range(150)]
            answers = await asyncio.gather(*(client.call("SendSms", sms(p)) for p in phones))
            return list(zip(phones, answers))

    results = asyncio.run(main())
    assert len(results) == 150
    for phone, answer in results:
        assert answer["SendStatusSet"][0]["PhoneNumber"] == phone
        assert answer["RequestId"]


def test_report_conversion_and_errors(emulator) -> None:  # type: ignore[no-untyped-def]
    async def main() -> None:
        async with make(emulator.url) as client:
            answer = await client.report_conversion(APP_ID, "2433:1045710669157053657849499619", 1700000000)
            assert "ReportConversionStatus" in answer
            with pytest.raises(tcsms.InvalidArgument) as info:
                await client.call("NoSuchAction", {})
            assert info.value.code == "ClientError.UnknownAction"
            with pytest.raises(tcsms.APIError):
                await client.call("SendSms", {"SmsSdkAppId": APP_ID})
        assert client.closed
        with pytest.raises(tcsms.ClientClosedError):
            await client.call("SendSms", {})

    asyncio.run(main())


def test_queue_full(emulator) -> None:  # type: ignore[no-untyped-def]
    async def main() -> None:
        async with make(emulator.url, workers=1, queue_capacity=2) as client:
            first = [asyncio.ensure_future(client.call("SendSms", sms(f"+86133{i:08d}"))) for i in range(2)]
            await asyncio.sleep(0)  # both submitted
            with pytest.raises(tcsms.InvalidArgument) as info:
                await client.call("SendSms", sms("+8613300000099"))
            assert info.value.code == "ClientError.QueueFull"
            for answer in await asyncio.gather(*first):
                assert answer["SendStatusSet"][0]["Code"] == "Ok"
            await client.call("SendSms", sms("+8613300000099"))  # room again

    asyncio.run(main())


def test_time_limits_hold_for_queued_calls(start_emulator) -> None:  # type: ignore[no-untyped-def]
    slow = start_emulator("--fault", "slow", "--fault-delay-ms", "5000")

    async def main() -> float:
        async with make(slow.url, workers=2, timeout=60.0) as client:
            started = time.monotonic()
            results = await asyncio.gather(
                *(client.report_conversion(APP_ID, "2433:1", timeout=0.3) for _ in range(6)),
                return_exceptions=True,
            )
            took = time.monotonic() - started
            assert all(isinstance(r, tcsms.TimeoutError) for r in results), results
            return took

    assert asyncio.run(main()) < 1.5  # not 3 rounds of 0.3 s on 2 workers


def test_loop_is_not_blocked_while_calls_are_pending(start_emulator) -> None:  # type: ignore[no-untyped-def]
    slow = start_emulator("--fault", "slow", "--fault-delay-ms", "5000")

    async def main() -> int:
        async with make(slow.url, workers=4) as client:
            calls = [
                asyncio.ensure_future(client.report_conversion(APP_ID, "2433:1", timeout=0.5)) for _ in range(4)
            ]
            ticks = 0
            while not all(c.done() for c in calls):
                await asyncio.sleep(0.01)
                ticks += 1
            for c in calls:
                assert isinstance(c.exception(), tcsms.TimeoutError)
            return ticks

    # The loop kept running while the calls were pending (blocked, it would tick once);
    # 10 of the possible 50 ticks leave room for a loaded machine.
    assert asyncio.run(main()) >= 10


def test_cancelled_call_and_close_with_pending_calls(start_emulator) -> None:  # type: ignore[no-untyped-def]
    slow = start_emulator("--fault", "slow", "--fault-delay-ms", "5000")

    async def main() -> None:
        client = make(slow.url, workers=1, timeout=0.5)
        task = asyncio.ensure_future(client.report_conversion(APP_ID, "2433:1"))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        pending = [asyncio.ensure_future(client.report_conversion(APP_ID, "2433:1")) for _ in range(5)]
        await asyncio.sleep(0.05)
        started = time.monotonic()
        client.close()  # waits for the one running call (<= 0.5 s), drops the queued ones
        assert time.monotonic() - started < 2.0
        for result in await asyncio.gather(*pending, return_exceptions=True):
            assert isinstance(result, tcsms.ClientClosedError), result
        client.close()  # idempotent

    asyncio.run(main())


def test_bad_options() -> None:
    with pytest.raises(tcsms.ConfigError):
        tcsms.AsyncClient(secret_id="a", secret_key="b", workers=0)
    with pytest.raises(tcsms.InvalidArgument):
        tcsms.AsyncClient(secret_id="a", secret_key="b", queue_capacity="8")  # type: ignore[arg-type]
