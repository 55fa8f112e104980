#!/usr/bin/env python3
"""Send one SMS, then report a conversion for it, printing both answers.

    python bindings/python/examples/report_conversion.py [ENDPOINT]

ENDPOINT defaults to $TCSMS_ENDPOINT (for example the URL that tcsms-emulator prints).
Credentials come from $TENCENTCLOUD_SECRET_ID / $TENCENTCLOUD_SECRET_KEY, else the
emulator's demo credentials.  $TCSMS_APP_ID, $TCSMS_PHONE, $TCSMS_SIGN_NAME and
$TCSMS_TEMPLATE_ID override the emulator's seeded app, number, signature and template.
"""

from __future__ import annotations

import json
import os
import sys

import tcsms

DEMO_SECRET_ID = "AKIDtcsmsdemo00000000000000000000000"
DEMO_SECRET_KEY = "tcsmsdemosecretkey00000000000000"


def main(argv: list) -> int:
    endpoint = argv[1] if len(argv) > 1 else os.environ.get("TCSMS_ENDPOINT")
    if not endpoint:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    app_id = os.environ.get("TCSMS_APP_ID", "1400000001")
    secret_id = os.environ.get("TENCENTCLOUD_SECRET_ID", DEMO_SECRET_ID)
    secret_key = os.environ.get("TENCENTCLOUD_SECRET_KEY", DEMO_SECRET_KEY)

    try:
        with tcsms.Client(secret_id, secret_key, endpoint=endpoint, timeout=10) as client:
            sent = client.send_sms(
                phone_number_set=[os.environ.get("TCSMS_PHONE", "+8613800000000")],
                sms_sdk_app_id=app_id,
                template_id=os.environ.get("TCSMS_TEMPLATE_ID", "2001"),
                sign_name=os.environ.get("TCSMS_SIGN_NAME", "tcsms"),
                template_param_set=["1234", "5"],
            )
            print("SendSms:", json.dumps(sent, ensure_ascii=False))
            serial_no = sent["SendStatusSet"][0]["SerialNo"]
            converted = client.report_conversion(app_id, serial_no)
            print("ReportConversion:", json.dumps(converted, ensure_ascii=False))
    except tcsms.TcsmsError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
