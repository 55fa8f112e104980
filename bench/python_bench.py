"""The Python peers of bench/run.sh: CALLERS threads (or asyncio tasks) making sequential
ReportConversion calls for SECONDS against the fixed-response server on 127.0.0.1:PORT.

    python3 bench/python_bench.py tcsms|async|official CALLERS SECONDS PORT

Prints `calls=N seconds=S rate=R cpu_us=U` (calls/s, and user+system CPU time of the
process per call from getrusage), both over the measured interval only.

  tcsms     one tcsms.Client shared by CALLERS threads (blocking calls, GIL released)
  async     one tcsms.AsyncClient, CALLERS asyncio tasks on one event loop
  official  the official SDK (tencentcloud-sdk-python-sms), one SmsClient shared by the
            threads
"""

from __future__ import annotations

import asyncio
import resource
import sys
import threading
import time
from typing import Callable

SECRET_ID = "AKIDbench000000000000000000000000000"
SECRET_KEY = "benchsecretkey0000000000000000000"
APP = "1400000001"
SERIAL = "2433:1045710669157053657849499619"


def cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def tcsms_config(port: int) -> dict:
    import tcsms

    config = {"endpoint": f"http://127.0.0.1:{port}", "max_retries": 0, "rate_limits": {"*": 0}}
    try:  # the rate limit off where the library has one
        tcsms.Client(SECRET_ID, SECRET_KEY, config=config).close()
    except tcsms.TcsmsError:
        del config["rate_limits"]
    return config


def tcsms_call(port: int) -> Callable[[], None]:
    import tcsms

    client = tcsms.Client(SECRET_ID, SECRET_KEY, config=tcsms_config(port))
    return lambda: client.report_conversion(APP, SERIAL, 1700000000) and None


def official_call(port: int) -> Callable[[], None]:
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.sms.v20210111 import models, sms_client

    profile = ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=f"127.0.0.1:{port}"))
    client = sms_client.SmsClient(credential.Credential(SECRET_ID, SECRET_KEY), "ap-guangzhou", profile)
    request = models.ReportConversionRequest()
    request.SmsSdkAppId, request.SerialNo, request.ConversionTime = APP, SERIAL, 1700000000
    return lambda: client.ReportConversion(request) and None


def run_threads(call: Callable[[], None], callers: int, seconds: float) -> tuple[int, float, float]:
    for _ in range(100):
        call()
    stop = threading.Event()
    counts = [0] * callers

    def worker(i: int) -> None:
        n = 0
        while not stop.is_set():
            call()
            n += 1
        counts[i] = n

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(callers)]
    c0, t0 = cpu(), time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    return sum(counts), time.perf_counter() - t0, cpu() - c0


async def run_async(port: int, callers: int, seconds: float) -> tuple[int, float, float]:
    import tcsms

    async with tcsms.AsyncClient(SECRET_ID, SECRET_KEY, config=tcsms_config(port)) as client:
        for _ in range(100):
            await client.report_conversion(APP, SERIAL, 1700000000)
        stop = False
        counts = [0] * callers

        async def worker(i: int) -> None:
            n = 0
            while not stop:
                await client.report_conversion(APP, SERIAL, 1700000000)
                n += 1
            counts[i] = n

        c0, t0 = cpu(), time.perf_counter()
        tasks = [asyncio.create_task(worker(i)) for i in range(callers)]
        await asyncio.sleep(seconds)
        stop = True
        await asyncio.gather(*tasks)
        return sum(counts), time.perf_counter() - t0, cpu() - c0


def main() -> None:
    mode, callers, seconds, port = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    if mode == "async":
        n, t, c = asyncio.run(run_async(port, callers, seconds))
    else:
        call = {"tcsms": tcsms_call, "official": official_call}[mode](port)
        n, t, c = run_threads(call, callers, seconds)
    print(f"calls={n} seconds={t:.3f} rate={n / t:.0f} cpu_us={1e6 * c / n:.2f}")


if __name__ == "__main__":
    main()
