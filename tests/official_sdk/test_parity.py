"""The official Python SDK and tcsms get the same verdicts from the emulator.

Each case sends the same logical request through both clients against one emulator and
compares the outcome: success, or the service's error code (with a RequestId each).
tcsms is loaded from bindings/python/src with the library in target/release, so this
needs only `cargo build --release`.
"""

import os
import sys

import pytest
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.common.common_client import CommonClient

from test_official_sdk import REPO, SECRET_ID, SECRET_KEY, UUID, Emulator

os.environ.setdefault("TCSMS_LIBRARY", str(REPO / "target" / "release" / "libtcsms.so"))
sys.path.insert(0, str(REPO / "bindings" / "python" / "src"))
import tcsms  # noqa: E402


@pytest.fixture(scope="module")
def emu():
    e = Emulator("--rate-limit", "all=0", "--token", "sts-token")
    yield e
    e.stop()


def official(emu, action, params, secret_key=SECRET_KEY, token="sts-token"):
    """The official SDK's generic client: ("ok", response) or (code, request id)."""
    http = HttpProfile(protocol="http", endpoint=emu.endpoint, reqTimeout=10)
    client = CommonClient("sms", "2021-01-11", credential.Credential(SECRET_ID, secret_key, token), "ap-guangzhou",
                          ClientProfile(httpProfile=http))
    try:
        return "ok", client.call_json(action, params)["Response"]
    except TencentCloudSDKException as e:
        return e.code, e.requestId


def ours(emu, action, params, secret_key=SECRET_KEY, token="sts-token"):
    """tcsms: ("ok", response) or (code, request id)."""
    with tcsms.Client(secret_id=SECRET_ID, secret_key=secret_key, token=token, endpoint=f"http://{emu.endpoint}",
                      timeout=10) as client:
        try:
            return "ok", client.call(action, params)
        except tcsms.APIError as e:
            return e.code, e.request_id


SEND = {"PhoneNumberSet": ["+8613800000000"], "SmsSdkAppId": "1400000001", "SignName": "tcsms",
        "TemplateId": "2002", "TemplateParamSet": ["五号-77"]}

CASES = {
    "send": ("SendSms", SEND, {}),
    "send to an international number with a mainland template": (
        "SendSms", {**SEND, "PhoneNumberSet": ["+447911123456"]}, {}),
    "describe templates": ("DescribeSmsTemplateList", {"International": 0}, {}),
    "wrong key": ("DescribeSmsSignList", {"International": 0}, {"secret_key": "wrong-key-0000"}),
    "missing token": ("DescribeSmsSignList", {"International": 0}, {"token": None}),
    "wrong token": ("DescribeSmsSignList", {"International": 0}, {"token": "other"}),
    "unknown app": ("ReportConversion", {"SmsSdkAppId": "1400999999", "SerialNo": "2433:1"}, {}),
    "missing parameter": ("ReportConversion", {"SmsSdkAppId": "1400000001"}, {}),
    "unknown parameter": ("ReportConversion", {"SmsSdkAppId": "1400000001", "SerialNo": "2433:1", "Extra": 1}, {}),
    "wrong type": ("SendSms", {**SEND, "PhoneNumberSet": "+8613800000000"}, {}),
    "empty phone list": ("SendSms", {**SEND, "PhoneNumberSet": []}, {}),
    "unknown serial number": ("ReportConversion", {"SmsSdkAppId": "1400000001", "SerialNo": "2433:123"}, {}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_verdict(emu, name):
    action, params, creds = CASES[name]
    theirs_verdict, theirs_detail = official(emu, action, params, **creds)
    ours_verdict, ours_detail = ours(emu, action, params, **creds)
    assert ours_verdict == theirs_verdict, (name, theirs_detail, ours_detail)
    if ours_verdict == "ok":
        # Same shape of answer: the same fields, per-number codes alike.
        assert sorted(ours_detail) == sorted(theirs_detail)
        for key in ("SendStatusSet",):
            if key in ours_detail:
                assert [s["Code"] for s in ours_detail[key]] == [s["Code"] for s in theirs_detail[key]]
    else:
        assert UUID.match(ours_detail or "") and UUID.match(theirs_detail or ""), (ours_detail, theirs_detail)
        assert ours_detail != theirs_detail, "each answer has its own RequestId"

