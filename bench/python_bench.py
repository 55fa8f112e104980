"""The Python peers of bench/run.sh: CALLERS threads (or asyncio tasks) making sequential
ReportConversion calls for SECONDS against the fixed-response server on 127.0.0.1:PORT.

    python3 bench/python_bench.py tcsms|async|official|cold|official-cold CALLERS SECONDS PORT

Prints `calls=N seconds=S rate=R cpu_us=U` (calls/s, and user+system CPU time of the
process per call from getrusage), both over the measured interval only.

  tcsms     one tcsms.Client shared by CALLERS threads (blocking calls, GIL released)
  async     one tcsms.AsyncClient, CALLERS asyncio tasks on one event loop
  official  the official SDK (tencentcloud-sdk-python-sms), one SmsClient shared by the
            threads
  cold      a new tcsms.Client per call (created, one call, closed)
  official-cold  a new SmsClient per call

The clients call http://127.0.0.1:PORT, or (bench/run.sh --tls) https://127.0.0.1:PORT
when TCSMS_BENCH_CA_FILE names the test CA: tcsms gets it as its `ca_file` keyword, the
official SDK as its HttpProfile `certification`.
"""

from __future__ import annotations

import asyncio
import os
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


CA_FILE = os.environ.get("TCSMS_BENCH_CA_FILE") or None
SCHEME = "https" if CA_FILE else "http"


def tcsms_config(port: int) -> dict:
    import tcsms

    config = {"endpoint": f"{SCHEME}://127.0.0.1:{port}", "max_retries": 0, "rate_limits": {"*": 0}}
    try:  # the rate limit off where the library has one
        tcsms.Client(SECRET_ID, SECRET_KEY, ca_file=CA_FILE, config=config).close()
    except tcsms.TcsmsError:
        del config["rate_limits"]
    return config


def tcsms_call(port: int) -> Callable[[], None]:
    import tcsms

    client = tcsms.Client(SECRET_ID, SECRET_KEY, ca_file=CA_FILE, config=tcsms_config(port))
    return lambda: client.report_conversion(APP, SERIAL, 1700000000) and None


def tcsms_cold_call(port: int) -> Callable[[], None]:
    import tcsms

    config = tcsms_config(port)

    def call() -> None:
        with tcsms.Client(SECRET_ID, SECRET_KEY, ca_file=CA_FILE, config=config) as client:
            client.report_conversion(APP, SERIAL, 1700000000)

    return call


def official_client(port: int):
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.sms.v20210111 import sms_client

    http = HttpProfile(protocol=SCHEME, endpoint=f"127.0.0.1:{port}", certification=CA_FILE)
    profile = ClientProfile(httpProfile=http)
    return sms_client.SmsClient(credential.Credential(SECRET_ID, SECRET_KEY), "ap-guangzhou", profile)


def official_request():
    from tencentcloud.sms.v20210111 import models

    request = models.ReportConversionRequest()
    request.SmsSdkAppId, request.SerialNo, request.ConversionTime = APP, SERIAL, 1700000000
    return request


def official_call(port: int) -> Callable[[], None]:
    client, request = official_client(port), official_request()
    return lambda: client.ReportConversion(request) and None


def official_cold_call(port: int) -> Callable[[], None]:
    request = official_request()

    def call() -> None:
        client = official_client(port)
        client.ReportConversion(request)
        client.request.conn._session.close()  # what the end of a CLI process would do

    return call


def run_threads(call: Callable[[], None], callers: int, seconds: float, warmup: int = 100) -> tuple[int, float, float]:
    for _ in range(warmup):
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

    async with tcsms.AsyncClient(SECRET_ID, SECRET_KEY, ca_file=CA_FILE, config=tcsms_config(port)) as client:
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
        peers = {"tcsms": tcsms_call, "official": official_call, "cold": tcsms_cold_call, "official-cold": official_cold_call}
        call = peers[mode](port)
        n, t, c = run_threads(call, callers, seconds, 5 if mode.endswith("cold") else 100)
    print(f"calls={n} seconds={t:.3f} rate={n / t:.0f} cpu_us={1e6 * c / n:.2f}")


if __name__ == "__main__":
    main()
