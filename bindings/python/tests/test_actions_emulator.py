"""Every one of the 19 actions, through the typed methods, against the emulator."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any, Dict, Set

import pytest

import tcsms

from conftest import (
    ok,
    APP_ID,
    INTL_PHONE,
    MAINLAND_PHONE,
    REPO,
    SIGN_MAINLAND,
    TEMPLATE_INTL_VERIFY,
    TEMPLATE_INTL_WELCOME,
    TEMPLATE_NOTIFY,
    TEMPLATE_VERIFY,
)

SPEC = json.loads((REPO / "spec" / "actions.json").read_text(encoding="utf-8"))
RESPONSE_FIELDS = {
    a["name"]: [f["name"] for f in a["response_fields"] if f.get("always_present") == "yes"]
    for a in SPEC["actions"]
}
COVERED: Set[str] = set()


def check(action: str, resp: Dict[str, Any]) -> Dict[str, Any]:
    """A successful Response: a dict with a RequestId and the action's documented fields."""
    assert isinstance(resp, dict)
    assert "Error" not in resp
    assert isinstance(resp.get("RequestId"), str) and resp["RequestId"], resp
    for name in RESPONSE_FIELDS[action]:
        assert name in resp, f"{action} response lacks {name}: {resp}"
    COVERED.add(action)
    return resp


def hour(dt: datetime) -> str:
    return dt.strftime("%Y%m%d%H")


def test_send_pull_and_report_conversion(client: tcsms.Client) -> None:
    before = int(time.time()) - 60
    resp = check("SendSms", client.send_sms(
        phone_number_set=[MAINLAND_PHONE],
        sms_sdk_app_id=APP_ID,
        template_id=TEMPLATE_VERIFY,
        sign_name=SIGN_MAINLAND,
        template_param_set=["1234", "5"],
        session_context="py-send-pull-report",
    ))
    status = resp["SendStatusSet"][0]
    assert status["Code"] == "Ok", status
    assert status["PhoneNumber"] == MAINLAND_PHONE
    assert status["SessionContext"] == "py-send-pull-report"
    serial_no = status["SerialNo"]
    assert serial_no

    check("PullSmsSendStatus", client.pull_sms_send_status(limit=100, sms_sdk_app_id=APP_ID))
    check("PullSmsSendStatusByPhoneNumber", client.pull_sms_send_status_by_phone_number(
        begin_time=before,
        offset=0,
        limit=100,
        phone_number=MAINLAND_PHONE,
        sms_sdk_app_id=APP_ID,
        end_time=int(time.time()) + 60,
    ))

    rc = check("ReportConversion", client.report_conversion(APP_ID, serial_no))
    assert ok(rc["ReportConversionStatus"]["Code"]), rc
    # With an explicit conversion time, and through the timeout path (tcsms_call_with_timeout).
    rc2 = client.report_conversion(APP_ID, serial_no, int(time.time()), timeout=10)
    assert ok(rc2["ReportConversionStatus"]["Code"]), rc2
    # The generic call() reaches the same action.
    rc3 = client.call("ReportConversion", {"SmsSdkAppId": APP_ID, "SerialNo": serial_no})
    assert ok(rc3["ReportConversionStatus"]["Code"]), rc3


def test_send_sms_notification_template(client: tcsms.Client) -> None:
    resp = check("SendSms", client.send_sms(
        phone_number_set=[MAINLAND_PHONE, "+8613800000001"],
        sms_sdk_app_id=APP_ID,
        template_id=TEMPLATE_NOTIFY,
        sign_name=SIGN_MAINLAND,
        template_param_set=("A-1001",),  # any sequence works
    ))
    assert [s["Code"] for s in resp["SendStatusSet"]] == ["Ok", "Ok"]


def test_send_multi_global_sms_accepts_both_key_cases(client: tcsms.Client) -> None:
    resp = check("SendMultiGlobalSms", client.send_multi_global_sms(
        sms_sdk_app_id=APP_ID,
        multi_sms_info_set=[
            {"phone_number": INTL_PHONE, "template_id": TEMPLATE_INTL_VERIFY,
             "template_param_set": ["4321", "10"], "session_context": "snake"},
            {"PhoneNumber": "+6591234568", "TemplateId": TEMPLATE_INTL_WELCOME,
             "SessionContext": "pascal"},
        ],
    ))
    statuses = resp["SendMultiStatusSet"]
    assert [s["Code"] for s in statuses] == ["Ok", "Ok"], statuses
    assert {s["SessionContext"] for s in statuses} == {"snake", "pascal"}


def test_reply_status(client: tcsms.Client) -> None:
    check("PullSmsReplyStatus", client.pull_sms_reply_status(limit=10, sms_sdk_app_id=APP_ID))
    now = int(time.time())
    check("PullSmsReplyStatusByPhoneNumber", client.pull_sms_reply_status_by_phone_number(
        begin_time=now - 3600,
        offset=0,
        limit=10,
        phone_number=MAINLAND_PHONE,
        sms_sdk_app_id=APP_ID,
    ))


def test_statistics(client: tcsms.Client) -> None:
    now = datetime.now()
    begin, end = hour(now - timedelta(hours=2)), hour(now + timedelta(hours=1))
    check("SendStatusStatistics", client.send_status_statistics(
        begin_time=begin, end_time=end, sms_sdk_app_id=APP_ID, limit=0, offset=0))
    check("CallbackStatusStatistics", client.callback_status_statistics(
        begin_time=begin, end_time=end, sms_sdk_app_id=APP_ID, limit=0, offset=0))
    check("SmsPackagesStatistics", client.sms_packages_statistics(
        sms_sdk_app_id=APP_ID, limit=10, offset=0, begin_time=begin, end_time=end))


def test_describe_phone_number_info(client: tcsms.Client) -> None:
    resp = check("DescribePhoneNumberInfo", client.describe_phone_number_info(
        phone_number_set=[MAINLAND_PHONE, INTL_PHONE]))
    assert len(resp["PhoneNumberInfoSet"]) == 2


def test_describe_seeded_signatures_and_templates(client: tcsms.Client) -> None:
    signs = check("DescribeSmsSignList", client.describe_sms_sign_list(
        international=0, sign_id_set=[1001]))
    assert [s["SignName"] for s in signs["DescribeSignListStatusSet"]] == [SIGN_MAINLAND]
    templates = check("DescribeSmsTemplateList", client.describe_sms_template_list(
        international=0, template_id_set=[2001, 2002]))
    ids = sorted(int(t["TemplateId"]) for t in templates["DescribeTemplateStatusSet"])
    assert ids == [2001, 2002]


def test_signature_lifecycle(client: tcsms.Client) -> None:
    added = check("AddSmsSign", client.add_sms_sign(
        sign_name="tcsmspy",
        sign_type=0,
        document_type=1,
        international=0,
        sign_purpose=0,
        proof_image="aGVsbG8=",
        remark="python binding test",
    ))
    sign_id = added["AddSignStatus"]["SignId"]
    check("ModifySmsSign", client.modify_sms_sign(
        sign_id=sign_id,
        sign_name="tcsmspy2",
        sign_type=0,
        document_type=1,
        international=0,
        sign_purpose=0,
        proof_image="aGVsbG8=",
    ))
    check("DeleteSmsSign", client.delete_sms_sign(sign_id=sign_id))


def test_template_lifecycle(client: tcsms.Client) -> None:
    added = check("AddSmsTemplate", client.add_sms_template(
        template_name="py test",
        template_content="Your code is {1}.",
        sms_type=3,
        international=1,
        remark="python binding test",
    ))
    template_id = int(added["AddTemplateStatus"]["TemplateId"])
    check("ModifySmsTemplate", client.modify_sms_template(
        template_id=template_id,
        template_name="py test 2",
        template_content="Your code is {1}!",
        sms_type=3,
        international=1,
        remark="python binding test",
    ))
    check("DeleteSmsTemplate", client.delete_sms_template(template_id=template_id))


def test_every_action_was_covered() -> None:
    # Runs last in this module (pytest keeps file order).
    assert COVERED == set(tcsms.ACTIONS), f"not exercised: {set(tcsms.ACTIONS) - COVERED}"


def test_nested_entries_refuse_unknown_keys(client: tcsms.Client) -> None:
    with pytest.raises(tcsms.InvalidArgument, match="phone"):
        client.send_multi_global_sms(
            sms_sdk_app_id=APP_ID, multi_sms_info_set=[{"phone": INTL_PHONE}])
    with pytest.raises(tcsms.InvalidArgument, match="must be a list"):
        client.send_sms(phone_number_set=MAINLAND_PHONE,  # type: ignore[arg-type]
                        sms_sdk_app_id=APP_ID, template_id=TEMPLATE_VERIFY)
