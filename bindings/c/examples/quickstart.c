/* quickstart.c: send an SMS, take its SerialNo, report that the code in it was used. */
#include <stdio.h>
#include <tcsms.h>

int main(void)
{
    /* The emulator's demo key pair; the endpoint comes from TCSMS_ENDPOINT, for example
       http://127.0.0.1:PORT as the emulator prints it. For the real service: unset
       TCSMS_ENDPOINT and pass "{}", so that the keys come from TENCENTCLOUD_SECRET_ID and
       TENCENTCLOUD_SECRET_KEY or ~/.tencentcloud/credentials. */
    const char *config = "{\"secret_id\":\"AKIDtcsmsdemo00000000000000000000000\","
                         "\"secret_key\":\"tcsmsdemosecretkey00000000000000\"}";
    tcsms_client *client = NULL;
    char *json = NULL, *serial = NULL, *code = NULL;
    tcsms_status st = tcsms_client_new(config, &client, &json);
    if (st == TCSMS_STATUS_OK)
        /* One result per number; TCSMS_STATUS_PARTIAL unless every number's Class is "ok". */
        st = tcsms_send_sms(client,
                            "{\"PhoneNumberSet\":[\"+8613800000000\"],\"SmsSdkAppId\":\"1400000001\","
                            "\"SignName\":\"tcsms\",\"TemplateId\":\"2001\",\"TemplateParamSet\":[\"1234\",\"5\"]}",
                            &json);
    if (st == TCSMS_STATUS_OK)
        st = tcsms_json_get(json, "Results[0].SerialNo", &serial); /* freed with tcsms_free */
    if (st == TCSMS_STATUS_OK) {
        printf("sent, SerialNo %s\n", serial);
        tcsms_free(json);
        st = tcsms_report_conversion(client, "1400000001", serial, -1 /* now */, &json);
    }
    if (st == TCSMS_STATUS_OK)
        st = tcsms_json_get(json, "Response.ReportConversionStatus.Code", &code);
    if (st == TCSMS_STATUS_OK)
        printf("conversion reported: %s\n", code);
    else /* json: the per-number results, or {"Response":{"Error":{"Code":...,"Message":...}}} */
        fprintf(stderr, "failed (%s): %s\n", tcsms_status_str(st), json ? json : "");
    tcsms_free(code);
    tcsms_free(serial);
    tcsms_free(json);
    tcsms_client_free(client);
    return st == TCSMS_STATUS_OK ? 0 : 1;
}
