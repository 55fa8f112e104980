"""A Python program outside the tcsms checkout: sends one SMS through the emulator.

    python consumer.py ENDPOINT PHONE

Prints where tcsms and its library were loaded from; exits 0 only if SendSms answered
with Code "Ok".
"""

import sys

import tcsms
from tcsms import _ffi

endpoint, phone = sys.argv[1], sys.argv[2]
print("module", tcsms.__file__)
print("library", _ffi.library_path)
with tcsms.Client(
    "AKIDtcsmsdemo00000000000000000000000", "tcsmsdemosecretkey00000000000000", endpoint=endpoint, timeout=10
) as client:
    sent = client.send_sms(
        phone_number_set=[phone],
        sms_sdk_app_id="1400000001",
        template_id="2001",
        sign_name="tcsms",
        template_param_set=["1234", "5"],
    )
print("SendSms", sent)
sys.exit(0 if sent["SendStatusSet"][0]["Code"] == "Ok" else 1)
