/* A program outside the tcsms checkout: built against an installed prefix (pkg-config or
 * CMake), it sends one SMS through the emulator.
 *   consumer ENDPOINT PHONE   -> prints "version=<TCSMS_VERSION> <tcsms_version()>" and the
 *                                answer; exits 0 only if SendSms succeeded with Code "Ok".
 */
#include <stdio.h>
#include <string.h>

#include <tcsms.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: consumer ENDPOINT PHONE\n");
        return 2;
    }
    if (tcsms_abi_version() != TCSMS_ABI_VERSION) {
        fprintf(stderr, "ABI mismatch: library %u, header %u\n", tcsms_abi_version(), (unsigned)TCSMS_ABI_VERSION);
        return 1;
    }
    printf("version=%s %s\n", TCSMS_VERSION, tcsms_version());

    char config[512];
    snprintf(config, sizeof config,
             "{\"secret_id\":\"AKIDtcsmsdemo00000000000000000000000\","
             "\"secret_key\":\"tcsmsdemosecretkey00000000000000\",\"endpoint\":\"%s\",\"timeout_ms\":10000}",
             argv[1]);
    tcsms_client *client = NULL;
    char *json = NULL;
    tcsms_status st = tcsms_client_new(config, &client, &json);
    if (st != TCSMS_STATUS_OK) {
        fprintf(stderr, "tcsms_client_new: %s %s\n", tcsms_status_str(st), json ? json : "");
        tcsms_free(json);
        return 1;
    }
    char request[512];
    snprintf(request, sizeof request,
             "{\"PhoneNumberSet\":[\"%s\"],\"SmsSdkAppId\":\"1400000001\",\"TemplateId\":\"2001\","
             "\"SignName\":\"tcsms\",\"TemplateParamSet\":[\"1234\",\"5\"]}",
             argv[2]);
    st = tcsms_call(client, "SendSms", request, &json);
    printf("SendSms: %s %s\n", tcsms_status_str(st), json ? json : "(null)");
    int ok = st == TCSMS_STATUS_OK && json != NULL && strstr(json, "\"Code\":\"Ok\"") != NULL;
    tcsms_free(json);
    tcsms_client_free(client);
    return ok ? 0 : 1;
}
