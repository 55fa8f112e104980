"""The official Tencent Cloud Python SDK against tcsms-emulator.

Every one of the 19 actions is called with the documented sample requests of
spec/actions.json (through POST and through GET), and the answers must be well-formed;
signatures made with a wrong key, an old timestamp or for an unknown app are refused with
the real service's codes.

Run from the repository root after `cargo build --release --bin tcsms-emulator`:

    pip install -r tests/official_sdk/requirements.txt
    python -m pytest tests/official_sdk -q

The emulator binary is $TCSMS_EMULATOR, or target/release/tcsms-emulator.
"""

import copy
import json
import os
import re
import subprocess
import time
import types
import urllib.request
from pathlib import Path

import pytest
from tencentcloud.common import abstract_client, credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models, sms_client

REPO = Path(__file__).resolve().parents[2]
SECRET_ID = "AKIDofficialsdktest0000000000000000"
SECRET_KEY = "official-sdk-test-secret-key-0000"
# The apps the documented samples use.
SAMPLE_APPS = ["1400006666", "1400000001"]
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SERIAL = re.compile(r"^2433:\d{28}$")

SPEC = json.loads((REPO / "spec" / "actions.json").read_text(encoding="utf-8"))
SAMPLES = {a["name"]: [e["request_body"] for e in a["doc_examples"]] for a in SPEC["actions"]}
RATE_LIMITS = {a["name"]: a["default_rate_limit_per_second"] for a in SPEC["actions"]}
ALL_ACTIONS = sorted(SAMPLES)


def emulator_path():
    path = Path(os.environ.get("TCSMS_EMULATOR", REPO / "target" / "release" / "tcsms-emulator"))
    if not path.exists():
        pytest.fail(f"{path} does not exist: run `cargo build --release --bin tcsms-emulator` first")
    return path


class Emulator:
    def __init__(self, *extra):
        args = [
            str(emulator_path()), "--listen", "127.0.0.1:0",
            "--secret-id", SECRET_ID, "--secret-key", SECRET_KEY,
            "--review-delay-ms", "1000", "--report-delay-ms", "200",
        ]
        for app in SAMPLE_APPS:
            args += ["--app-id", app]
        self.proc = subprocess.Popen(list(args) + list(extra), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline().strip()
        m = re.fullmatch(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if not m:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"unexpected first line from the emulator: {line!r}")
        self.port = int(m.group(1))
        self.endpoint = f"127.0.0.1:{self.port}"

    def client(self, method="POST", secret_id=SECRET_ID, secret_key=SECRET_KEY, token=None, timeout=10):
        http = HttpProfile(protocol="http", endpoint=self.endpoint, reqMethod=method, reqTimeout=timeout)
        cred = credential.Credential(secret_id, secret_key, token)
        return sms_client.SmsClient(cred, "ap-guangzhou", ClientProfile(httpProfile=http))

    def inspect(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://{self.endpoint}{path}", data=data, method=method)
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def stop(self):
        self.proc.terminate()
        assert self.proc.wait(timeout=10) == 0


def call(client, action, body):
    """Calls `action` through the SDK's typed models; returns the response as a dict."""
    req = getattr(models, action + "Request")()
    req.from_json_string(json.dumps(body))
    resp = getattr(client, action)(req)
    out = json.loads(resp.to_json_string())
    assert UUID.match(out["RequestId"]), out
    return out


def refused(client, action, body):
    """Calls `action`, which must fail with a service error; returns the exception."""
    with pytest.raises(TencentCloudSDKException) as info:
        call(client, action, body)
    e = info.value
    assert e.code and e.message, e
    assert UUID.match(e.requestId or ""), e
    return e


def sample(action, index=0, **changes):
    body = copy.deepcopy(SAMPLES[action][index])
    body.update(changes)
    return body


def hour(ts):
    """The yyyymmddhh hour (Beijing time) of a Unix time."""
    return time.strftime("%Y%m%d%H", time.gmtime(ts + 8 * 3600))


class Scenario:
    """One emulator and one SDK client (POST or GET) for one test, with the steps a test
    sets up before what it checks; nothing is shared between tests, so each runs alone
    (``-k``) and in any order."""

    def __init__(self, emu, method):
        self.emu = emu
        self.method = method
        self.client = emu.client(method)
        self.last_call = {}
        self.ids = {}  # what this test's set-up made

    def pace(self, action):
        """Keeps to the service's rate limits (AddSmsSign, ModifySmsSign, ... allow 1 per second)."""
        # The margin covers a request delayed on a loaded machine arriving closer to
        # the next one than they were sent.
        spacing = 1.0 / RATE_LIMITS[action] + 0.2
        wait = self.last_call.get(action, 0) + spacing - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self.last_call[action] = time.monotonic()

    def ok(self, action, body):
        self.pace(action)
        return call(self.client, action, body)

    def refused(self, action, body):
        self.pace(action)
        return refused(self.client, action, body)

    def wait_approved(self, action, key, set_name, ids, international):
        deadline = time.time() + 10
        while True:
            out = self.ok(action, {"International": international, key: ids})
            if all(s["StatusCode"] == 0 for s in out[set_name]) and len(out[set_name]) == len(ids):
                return out
            assert time.time() < deadline, out
            time.sleep(0.1)

    # -- set-up steps ---------------------------------------------------------------------

    def add_sign(self):
        """The sample signature, added (under review): its SignId."""
        out = self.ok("AddSmsSign", sample("AddSmsSign"))
        assert isinstance(out["AddSignStatus"]["SignId"], int)
        return out["AddSignStatus"]["SignId"]

    def add_template(self, international=False):
        """The sample template (or an international one), added (under review): its id."""
        body = sample("AddSmsTemplate")
        if international:
            body = sample("AddSmsTemplate", International=1, TemplateContent="Your verification code is {1}.",
                          TemplateName="code")
        return int(self.ok("AddSmsTemplate", body)["AddTemplateStatus"]["TemplateId"])

    def approved_sign(self):
        """The sample signature (腾讯云, which the send samples use), approved: its SignId."""
        if "sign" not in self.ids:
            self.ids["sign"] = self.add_sign()
            self.wait_approved("DescribeSmsSignList", "SignIdSet", "DescribeSignListStatusSet", [self.ids["sign"]], 0)
        return self.ids["sign"]

    def approved_template(self, international=False):
        """A template approved, with the approved signature to send it under: its id."""
        self.approved_sign()
        tid = self.add_template(international)
        self.wait_approved("DescribeSmsTemplateList", "TemplateIdSet", "DescribeTemplateStatusSet", [tid],
                           1 if international else 0)
        return tid

    def send_sms(self):
        """SendSms sample 0 (2 numbers accepted) with an approved template: the SerialNo of
        its first number, +8618501234444."""
        body = sample("SendSms", 0, TemplateId=str(self.approved_template()))
        statuses = self.ok("SendSms", body)["SendStatusSet"]
        assert [s["Code"] for s in statuses] == ["Ok", "Ok"], statuses
        return statuses[0]["SerialNo"]

    def send_everything(self):
        """Every send of test_send_sms and test_send_multi_global_sms: 2 + 2 numbers
        accepted, 2 + 2 + 2 refused per number. The SerialNo of the first."""
        tid, intl = self.approved_template(), self.approved_template(international=True)
        serial = self.ok("SendSms", sample("SendSms", 0, TemplateId=str(tid)))["SendStatusSet"][0]["SerialNo"]
        self.ok("SendSms", sample("SendSms", 1, TemplateId=str(tid)))
        for index, template in ((0, intl), (1, None), (1, intl)):
            body = masked(sample("SendMultiGlobalSms", index))
            for entry in body["MultiSmsInfoSet"]:
                if template is not None:
                    entry["TemplateId"] = str(template)
            self.ok("SendMultiGlobalSms", body)
        return serial


def scenario_for(request, review_delay_ms):
    emu = Emulator("--review-delay-ms", str(review_delay_ms))
    request.addfinalizer(emu.stop)
    return Scenario(emu, request.param)


@pytest.fixture(params=["POST", "GET"])
def scenario(request):
    return scenario_for(request, 300)


@pytest.fixture(params=["POST", "GET"])
def slow_review(request):
    # Long enough for the 1-per-second Modify calls to reach a signature still under review.
    return scenario_for(request, 3000)


def test_add_sms_sign(scenario):
    sign = scenario.add_sign()
    listed = scenario.ok("DescribeSmsSignList", {"International": 0, "SignIdSet": [sign]})
    assert [s["SignName"] for s in listed["DescribeSignListStatusSet"]] == ["腾讯云"]


def test_modify_sms_sign(slow_review):
    sign = slow_review.add_sign()
    e = slow_review.refused("ModifySmsSign", sample("ModifySmsSign"))
    assert e.code == "FailedOperation.MissingSignatureToModify", "the sample's SignId 1110 does not exist here"
    out = slow_review.ok("ModifySmsSign", sample("ModifySmsSign", SignId=sign))
    assert out["ModifySignStatus"]["SignId"] == sign


def test_describe_sms_sign_list(scenario):
    assert scenario.ok("DescribeSmsSignList", sample("DescribeSmsSignList"))["DescribeSignListStatusSet"] == []
    sign = scenario.add_sign()
    out = scenario.wait_approved("DescribeSmsSignList", "SignIdSet", "DescribeSignListStatusSet", [sign, 1001], 0)
    names = [s["SignName"] for s in out["DescribeSignListStatusSet"]]
    assert names == ["腾讯云", "tcsms"]


def test_add_sms_template(scenario):
    domestic, international = scenario.add_template(), scenario.add_template(international=True)
    assert domestic != international


def test_modify_sms_template(slow_review):
    template = slow_review.add_template()
    e = slow_review.refused("ModifySmsTemplate", sample("ModifySmsTemplate"))
    assert e.code == "FailedOperation.MissingTemplateToModify"
    out = slow_review.ok("ModifySmsTemplate", sample("ModifySmsTemplate", TemplateId=template))
    assert out["ModifyTemplateStatus"]["TemplateId"] == template


def test_describe_sms_template_list(scenario):
    assert scenario.ok("DescribeSmsTemplateList", sample("DescribeSmsTemplateList"))["DescribeTemplateStatusSet"] == []
    template = scenario.add_template()
    out = scenario.wait_approved("DescribeSmsTemplateList", "TemplateIdSet", "DescribeTemplateStatusSet", [template], 0)
    assert out["DescribeTemplateStatusSet"][0]["TemplateContent"] == "您的验证码是{1}"
    scenario.approved_template(international=True)
    listed = scenario.ok("DescribeSmsTemplateList", {"International": 0, "Limit": 100, "Offset": 0})
    assert {2001, 2002, template} <= {t["TemplateId"] for t in listed["DescribeTemplateStatusSet"]}


def test_send_sms(scenario):
    template = scenario.approved_template()
    body = sample("SendSms", 0, TemplateId=str(template))
    out = scenario.ok("SendSms", body)
    statuses = out["SendStatusSet"]
    assert [s["PhoneNumber"] for s in statuses] == body["PhoneNumberSet"]
    for s in statuses:
        assert (s["Code"], s["Message"], s["Fee"], s["IsoCode"]) == ("Ok", "send success", 1, "CN")
        assert s["SessionContext"] == body["SessionContext"]
        assert SERIAL.match(s["SerialNo"])
    # The failure sample: two parameters for a one-parameter template, refused per number.
    out = scenario.ok("SendSms", sample("SendSms", 1, TemplateId=str(template)))
    for s in out["SendStatusSet"]:
        assert s["Code"] == "FailedOperation.TemplateParamSetNotMatchApprovedTemplate"
        assert (s["Fee"], s["SerialNo"]) == (0, "")
    sent = scenario.emu.inspect("GET", "/_emulator/messages?PhoneNumber=%2B8618501234444")
    assert [m["Text"] for m in sent] == ["【腾讯云】您的验证码是4370"]


def masked(body):
    """The samples mask digits of the numbers (+60198***000); fill them in."""
    body = copy.deepcopy(body)
    for entry in body["MultiSmsInfoSet"]:
        entry["PhoneNumber"] = entry["PhoneNumber"].replace("***", "123")
    return body


def test_send_multi_global_sms(scenario):
    tid = str(scenario.approved_template(international=True))
    body = masked(sample("SendMultiGlobalSms", 0))
    for entry in body["MultiSmsInfoSet"]:
        entry["TemplateId"] = tid
    out = scenario.ok("SendMultiGlobalSms", body)
    for s, entry in zip(out["SendMultiStatusSet"], body["MultiSmsInfoSet"]):
        assert (s["Code"], s["IsoCode"], s["Fee"]) == ("Ok", "MY", 1)
        assert (s["PhoneNumber"], s["SessionContext"]) == (entry["PhoneNumber"], entry["SessionContext"])
        assert SERIAL.match(s["SerialNo"])
    # The failure sample (no parameters for the template), verbatim apart from the masks.
    out = scenario.ok("SendMultiGlobalSms", masked(sample("SendMultiGlobalSms", 1)))
    assert {s["Code"] for s in out["SendMultiStatusSet"]} == {"FailedOperation.TemplateIncorrectOrUnapproved"}
    body = masked(sample("SendMultiGlobalSms", 1))
    for entry in body["MultiSmsInfoSet"]:
        entry["TemplateId"] = tid
    out = scenario.ok("SendMultiGlobalSms", body)
    assert {s["Code"] for s in out["SendMultiStatusSet"]} == {"FailedOperation.TemplateIncorrectOrUnapproved"}


def test_pull_sms_send_status(scenario):
    serial = scenario.send_everything()
    time.sleep(0.4)  # the report delay
    out = scenario.ok("PullSmsSendStatus", sample("PullSmsSendStatus"))
    reports = out["PullSmsSendStatusSet"]
    assert len(reports) == 4, reports
    assert reports[0]["SerialNo"] == serial
    assert {(r["ReportStatus"], r["Description"]) for r in reports} == {("SUCCESS", "DELIVRD")}
    assert scenario.ok("PullSmsSendStatus", sample("PullSmsSendStatus"))["PullSmsSendStatusSet"] == []


def test_pull_sms_send_status_by_phone_number(scenario):
    e = scenario.refused("PullSmsSendStatusByPhoneNumber", sample("PullSmsSendStatusByPhoneNumber"))
    assert e.code == "InvalidParameterValue.BeginTimeVerifyFail", "the sample's window is years old"
    serial = scenario.send_sms()
    time.sleep(0.4)  # the report delay
    now = int(time.time())
    out = scenario.ok("PullSmsSendStatusByPhoneNumber", sample("PullSmsSendStatusByPhoneNumber", BeginTime=now - 600, EndTime=now + 60))
    assert [r["SerialNo"] for r in out["PullSmsSendStatusSet"]] == [serial]


def reply(scenario):
    """A reply from the sample's number (its signature: that of the last message sent to it)."""
    scenario.send_sms()
    scenario.emu.inspect("POST", "/_emulator/replies", {"PhoneNumber": "+8618501234444", "ReplyContent": "1", "SmsSdkAppId": "1400006666"})
    time.sleep(0.4)


def test_pull_sms_reply_status(scenario):
    reply(scenario)
    out = scenario.ok("PullSmsReplyStatus", sample("PullSmsReplyStatus"))
    replies = out["PullSmsReplyStatusSet"]
    assert [(r["PhoneNumber"], r["ReplyContent"], r["SignName"], r["CountryCode"]) for r in replies] == [
        ("+8618501234444", "1", "腾讯云", "86")
    ]
    assert scenario.ok("PullSmsReplyStatus", sample("PullSmsReplyStatus"))["PullSmsReplyStatusSet"] == []


def test_pull_sms_reply_status_by_phone_number(scenario):
    e = scenario.refused("PullSmsReplyStatusByPhoneNumber", sample("PullSmsReplyStatusByPhoneNumber"))
    assert e.code == "InvalidParameterValue.BeginTimeVerifyFail"
    reply(scenario)
    now = int(time.time())
    out = scenario.ok("PullSmsReplyStatusByPhoneNumber", sample("PullSmsReplyStatusByPhoneNumber", BeginTime=now - 600, EndTime=now + 60))
    assert [r["ReplyContent"] for r in out["PullSmsReplyStatusSet"]] == ["1"]


def test_report_conversion(scenario):
    out = scenario.ok("ReportConversion", sample("ReportConversion"))
    assert out["ReportConversionStatus"] == {"Code": "ok", "Message": "report success"}, "the sample is accepted, as documented"
    serial = scenario.send_sms()
    out = scenario.ok("ReportConversion", sample("ReportConversion", SmsSdkAppId="1400006666", SerialNo=serial))
    assert out["ReportConversionStatus"] == {"Code": "ok", "Message": "report success"}
    sent = scenario.emu.inspect("GET", "/_emulator/messages")
    converted = [m for m in sent if m["Conversion"]]
    assert [(m["SerialNo"], m["Conversion"]["ConversionTime"]) for m in converted] == [(serial, 1658310430)]


def window(action):
    now = int(time.time())
    return sample(action, BeginTime=hour(now - 3600), EndTime=hour(now))


def test_send_status_statistics(scenario):
    out = scenario.ok("SendStatusStatistics", sample("SendStatusStatistics"))
    assert out["SendStatusStatistics"] == {"FeeCount": 0, "RequestCount": 0, "RequestSuccessCount": 0}
    scenario.send_everything()
    out = scenario.ok("SendStatusStatistics", window("SendStatusStatistics"))
    # 2 + 2 accepted, 2 + 2 + 2 refused per number.
    assert out["SendStatusStatistics"] == {"FeeCount": 4, "RequestCount": 10, "RequestSuccessCount": 4}


def test_callback_status_statistics(scenario):
    out = scenario.ok("CallbackStatusStatistics", sample("CallbackStatusStatistics"))
    assert out["CallbackStatusStatistics"]["CallbackCount"] == 0
    scenario.send_everything()
    time.sleep(0.4)  # the report delay
    stats = scenario.ok("CallbackStatusStatistics", window("CallbackStatusStatistics"))["CallbackStatusStatistics"]
    assert (stats["RequestSuccessCount"], stats["CallbackCount"], stats["CallbackSuccessCount"]) == (4, 4, 4)


def test_sms_packages_statistics(scenario):
    scenario.send_everything()
    out = scenario.ok("SmsPackagesStatistics", sample("SmsPackagesStatistics"))
    (package,) = out["SmsPackagesStatisticsSet"]
    assert package["CurrentUsage"] == 4
    assert package["PackageAmount"] > 0


def test_describe_phone_number_info(scenario):
    out = scenario.ok("DescribePhoneNumberInfo", sample("DescribePhoneNumberInfo"))
    documented = next(a for a in SPEC["actions"] if a["name"] == "DescribePhoneNumberInfo")["doc_examples"][0]["response"]
    assert out["PhoneNumberInfoSet"] == documented["Response"]["PhoneNumberInfoSet"]


def test_delete_sms_template(scenario):
    e = scenario.refused("DeleteSmsTemplate", sample("DeleteSmsTemplate"))
    assert e.code == "FailedOperation.TemplateIdNotExist"
    out = scenario.ok("DeleteSmsTemplate", sample("DeleteSmsTemplate", TemplateId=scenario.add_template()))
    assert out["DeleteTemplateStatus"]["DeleteStatus"] == "return successfully!"


def test_delete_sms_sign(scenario):
    e = scenario.refused("DeleteSmsSign", sample("DeleteSmsSign"))
    assert e.code == "FailedOperation.SignIdNotExist"
    out = scenario.ok("DeleteSmsSign", sample("DeleteSmsSign", SignId=scenario.add_sign()))
    assert isinstance(out["DeleteSignStatus"]["DeleteTime"], int)


def snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_every_action_has_its_test():
    # Each action's sample test is test_<action in snake_case>, run through POST and GET.
    for action in ALL_ACTIONS:
        test = globals().get(f"test_{snake(action)}")
        assert callable(test), f"no test_{snake(action)}"
        fixture = next(iter(test.__code__.co_varnames[: test.__code__.co_argcount]))
        assert fixture in ("scenario", "slow_review"), (action, fixture)
    assert len(ALL_ACTIONS) == 19


@pytest.fixture(scope="module")
def emu():
    e = Emulator()
    yield e
    e.stop()


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_wrong_key_is_refused(emu, method):
    e = refused(emu.client(method, secret_key="not-the-key"), "DescribePhoneNumberInfo", sample("DescribePhoneNumberInfo"))
    assert e.code == "AuthFailure.SignatureFailure"


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_old_timestamp_is_refused(emu, method, monkeypatch):
    # The SDK takes X-TC-Timestamp from its module's `time.time()`: make it 10 minutes late.
    past = types.SimpleNamespace(time=lambda: time.time() - 600, sleep=time.sleep)
    monkeypatch.setattr(abstract_client, "time", past)
    e = refused(emu.client(method), "DescribePhoneNumberInfo", sample("DescribePhoneNumberInfo"))
    assert e.code == "AuthFailure.SignatureExpire"


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_unknown_app_is_refused(emu, method):
    e = refused(emu.client(method), "PullSmsSendStatus", sample("PullSmsSendStatus", SmsSdkAppId="1400999999"))
    assert e.code == "UnauthorizedOperation.SmsSdkAppIdVerifyFail"


def test_unknown_secret_id_and_token(emu):
    e = refused(emu.client(secret_id="AKIDnosuchid"), "DescribePhoneNumberInfo", sample("DescribePhoneNumberInfo"))
    assert e.code == "AuthFailure.SecretIdNotFound"
    e = refused(emu.client(token="a-session-token"), "DescribePhoneNumberInfo", sample("DescribePhoneNumberInfo"))
    assert e.code == "AuthFailure.TokenFailure"


def test_parameter_errors_reach_the_sdk(emu):
    e = refused(emu.client(), "SendSms", sample("SendSms", 0, PhoneNumberSet=["+8618501234444", "+60198123000"]))
    assert e.code == "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber"
    e = refused(emu.client(), "PullSmsSendStatus", sample("PullSmsSendStatus", Limit=1000))
    assert e.code == "InvalidParameterValue.LimitVerifyFail"


def test_token_when_the_emulator_wants_one():
    e = Emulator("--token", "sts-token")
    try:
        assert refused(e.client(), "DescribePhoneNumberInfo", sample("DescribePhoneNumberInfo")).code == "AuthFailure.TokenFailure"
        call(e.client(token="sts-token"), "DescribePhoneNumberInfo", sample("DescribePhoneNumberInfo"))
    finally:
        e.stop()


@pytest.mark.parametrize(
    "fault, code",
    [("http500", "ServerNetworkError"), ("close", "ClientNetworkError"), ("slow", "ClientNetworkError")],
)
def test_faults_as_the_sdk_sees_them(fault, code):
    e = Emulator("--fault", fault, "--fault-every", "2", "--fault-delay-ms", "3000")
    try:
        client = e.client(timeout=1)
        call(client, "DescribePhoneNumberInfo", sample("DescribePhoneNumberInfo"))
        with pytest.raises(TencentCloudSDKException) as info:
            call(client, "DescribePhoneNumberInfo", sample("DescribePhoneNumberInfo"))
        assert info.value.code == code
        call(client, "DescribePhoneNumberInfo", sample("DescribePhoneNumberInfo"))
    finally:
        e.stop()


def test_garbage_is_not_an_answer():
    e = Emulator("--fault", "garbage")
    try:
        with pytest.raises(Exception) as info:
            call(e.client(), "DescribePhoneNumberInfo", sample("DescribePhoneNumberInfo"))
        assert not isinstance(info.value, AssertionError)
    finally:
        e.stop()
