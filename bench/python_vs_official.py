"""The tcsms Python binding against the official Python SDK, on the same loopback server.

    python3 bench/python_vs_official.py [calls]

Starts the fixed-response server (`cargo run --release --example fixed_server`), then makes
the same number of sequential ReportConversion calls with: a raw keep-alive http.client
connection (the ceiling), the official SDK (tencentcloud-sdk-python-sms, one client,
keep-alive) and tcsms. Prints calls per second and the ratios. Each peer runs three
alternating rounds; the best round counts, so background noise hurts every peer alike.

Needs: `pip install ./bindings/python tencentcloud-sdk-python-sms==3.1.153`.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET_ID = "AKIDbench000000000000000000000000000"
SECRET_KEY = "benchsecretkey0000000000000000000"
APP = "1400000001"
SERIAL = "2433:1045710669157053657849499619"


def start_server() -> tuple[subprocess.Popen, str]:
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "--example", "fixed_server"], cwd=ROOT, check=True
    )
    proc = subprocess.Popen(
        [str(ROOT / "target/release/examples/fixed_server")], stdout=subprocess.PIPE, text=True
    )
    line = proc.stdout.readline().strip()
    return proc, line.removeprefix("listening on ")


def raw_peer(url: str):
    host = url.removeprefix("http://")
    conn = http.client.HTTPConnection(host)
    body = json.dumps({"SmsSdkAppId": APP, "SerialNo": SERIAL, "ConversionTime": 1700000000})
    headers = {"Content-Type": "application/json", "X-TC-Action": "ReportConversion"}

    def call() -> None:
        conn.request("POST", "/", body, headers)
        json.loads(conn.getresponse().read())

    return call


def official_peer(url: str):
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.sms.v20210111 import models, sms_client

    profile = ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=url.removeprefix("http://")))
    client = sms_client.SmsClient(credential.Credential(SECRET_ID, SECRET_KEY), "ap-guangzhou", profile)
    request = models.ReportConversionRequest()
    request.SmsSdkAppId, request.SerialNo, request.ConversionTime = APP, SERIAL, 1700000000

    def call() -> None:
        client.ReportConversion(request)

    return call


def tcsms_peer(url: str):
    import tcsms

    # Client-side rate limiting off: the bench measures the client, not the limiter.
    client = tcsms.Client(secret_id=SECRET_ID, secret_key=SECRET_KEY, endpoint=url, rate_limits={"*": 0})

    def call() -> None:
        client.report_conversion(APP, SERIAL, 1700000000)

    return call


def best_rate(call, n: int, rounds: int = 3) -> float:
    for _ in range(max(1, n // 20)):
        call()
    best = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(n):
            call()
        best = max(best, n / (time.perf_counter() - started))
    return best


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    server, url = start_server()
    try:
        peers = {"raw http.client": raw_peer(url), "official SDK": official_peer(url), "tcsms": tcsms_peer(url)}
        rates = {name: best_rate(call, n) for name, call in peers.items()}
    finally:
        server.kill()
        server.wait()
    print(f"Python {sys.version.split()[0]}, {n} sequential ReportConversion calls per round, loopback ({os.cpu_count()} cores)")
    for name, rate in rates.items():
        print(f"  {name:<16} {rate:>9.0f} calls/s")
    print(f"  tcsms / official SDK: {rates['tcsms'] / rates['official SDK']:.1f}x")
    print(f"  official SDK / raw:   {100 * rates['official SDK'] / rates['raw http.client']:.0f} %")
    print(f"  tcsms / raw:          {100 * rates['tcsms'] / rates['raw http.client']:.0f} %")


if __name__ == "__main__":
    main()
