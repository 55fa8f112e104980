/*
 * report_conversion.c -- send one verification SMS with tcsms, then report that the
 * code in it was used (the SMS API's ReportConversion action).
 *
 * Usage:
 *   report_conversion [ENDPOINT [SECRET_ID SECRET_KEY]]
 *
 *   ENDPOINT               default: $TCSMS_ENDPOINT, else the real service
 *                          (for the local emulator: http://127.0.0.1:PORT)
 *   SECRET_ID SECRET_KEY   default: $TENCENTCLOUD_SECRET_ID and $TENCENTCLOUD_SECRET_KEY,
 *                          which tcsms reads by itself when the config has no keys
 *
 * Build (from the repository root, after `cargo build --release`):
 *   cc -std=c11 -Iinclude bindings/c/examples/report_conversion.c \
 *      -Ltarget/release -Wl,-rpath,"$PWD/target/release" -ltcsms -o report_conversion
 *
 * The rules this example follows (see include/tcsms.h and docs/c.md):
 *   - every tcsms function returns a tcsms_status; 0 (TCSMS_STATUS_OK) is success;
 *   - every `char *out` that tcsms fills in is yours: release it with tcsms_free(),
 *     never with free(); on failure it holds
 *     {"Response":{"Error":{"Code":"...","Message":"..."},"RequestId":"..."}};
 *   - a client is created once, may be shared by threads, and is released with
 *     tcsms_client_free().
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tcsms.h"

#define APP_ID "1400000001"

/*
 * Returns the value at `path` in `json` (tcsms_json_get: a string unquoted and unescaped),
 * or NULL when `json` is NULL or has no such value. Release it with tcsms_free().
 */
static char *json_value(const char *json, const char *path)
{
    char *value = NULL;
    if (json == NULL || tcsms_json_get(json, path, &value) != TCSMS_STATUS_OK) {
        tcsms_free(value); /* an error envelope, not wanted here */
        return NULL;
    }
    return value;
}

/*
 * Appends `"name":"value"` (with a leading comma unless it is the first member) to the
 * JSON object being built in `buf`, escaping the value. Returns 0, or -1 if `buf` is
 * too small.
 */
static int add_member(char *buf, size_t size, const char *name, const char *value)
{
    size_t len = strlen(buf);
    int n = snprintf(buf + len, size - len, "%s\"%s\":\"", len > 1 ? "," : "", name);
    if (n < 0 || (size_t)n >= size - len)
        return -1;
    len += (size_t)n;
    for (; *value != '\0'; value++) {
        unsigned char c = (unsigned char)*value;
        if (len + 8 >= size)
            return -1;
        if (c == '"' || c == '\\') {
            buf[len++] = '\\';
            buf[len++] = (char)c;
        } else if (c < 0x20) {
            len += (size_t)snprintf(buf + len, size - len, "\\u%04x", c);
        } else {
            buf[len++] = (char)c;
        }
    }
    if (len + 2 > size)
        return -1;
    buf[len++] = '"';
    buf[len] = '\0';
    return 0;
}

/* Prints a failed call: the status, and the Code and Message of the error envelope. */
static void print_failure(const char *what, tcsms_status status, const char *out)
{
    char *code = json_value(out, "Response.Error.Code");
    char *message = json_value(out, "Response.Error.Message");
    char *request_id = json_value(out, "Response.RequestId");
    fprintf(stderr, "%s failed: status %d (%s)\n", what, (int)status, tcsms_status_str(status));
    fprintf(stderr, "  Code:      %s\n", code ? code : "?");
    fprintf(stderr, "  Message:   %s\n", message ? message : "?");
    fprintf(stderr, "  RequestId: %s\n", request_id && request_id[0] ? request_id : "(none: local error)");
    tcsms_free(code);
    tcsms_free(message);
    tcsms_free(request_id);
}

int main(int argc, char **argv)
{
    const char *endpoint = argc > 1 ? argv[1] : getenv("TCSMS_ENDPOINT");
    const char *secret_id = argc > 3 ? argv[2] : NULL;
    const char *secret_key = argc > 3 ? argv[3] : NULL;
    char config[2048] = "{";
    tcsms_client *client = NULL;
    char *out = NULL;     /* every answer; released with tcsms_free() */
    char *serial_no = NULL;
    char *code = NULL;
    tcsms_status status;
    int exit_code = 1;

    if (argc == 3 || argc > 4) {
        fprintf(stderr, "usage: %s [ENDPOINT [SECRET_ID SECRET_KEY]]\n", argv[0]);
        return 2;
    }
    /* The header and the loaded library must agree. */
    if (tcsms_abi_version() != TCSMS_ABI_VERSION) {
        fprintf(stderr, "libtcsms ABI %u, but this program was built for ABI %d\n",
                (unsigned)tcsms_abi_version(), TCSMS_ABI_VERSION);
        return 1;
    }
    printf("%s\n", tcsms_version());

    /* 1. The client: a JSON configuration. Keys left out take their defaults; without
     *    secret_id/secret_key tcsms reads TENCENTCLOUD_SECRET_ID/TENCENTCLOUD_SECRET_KEY. */
    if (endpoint != NULL && endpoint[0] != '\0' &&
        add_member(config, sizeof config, "endpoint", endpoint) != 0)
        goto too_long;
    if (secret_id != NULL && (add_member(config, sizeof config, "secret_id", secret_id) != 0 ||
                              add_member(config, sizeof config, "secret_key", secret_key) != 0))
        goto too_long;
    if (strlen(config) + 2 > sizeof config)
        goto too_long;
    strcat(config, "}");

    status = tcsms_client_new(config, &client, &out);
    if (status != TCSMS_STATUS_OK) {
        print_failure("tcsms_client_new", status, out);
        goto done;
    }

    /* 2. SendSms through the generic tcsms_call: any action of the API, its parameters
     *    as a JSON object. Template 2001 is "您的验证码为{1}，请于{2}分钟内填写。"; the
     *    parameters are UTF-8 ("五" is five). */
    status = tcsms_call(client, "SendSms",
                        "{\"PhoneNumberSet\":[\"+8613800000000\"],"
                        "\"SmsSdkAppId\":\"" APP_ID "\","
                        "\"TemplateId\":\"2001\","
                        "\"SignName\":\"tcsms\","
                        "\"TemplateParamSet\":[\"1234\",\"五\"]}",
                        &out);
    if (status != TCSMS_STATUS_OK) {
        print_failure("SendSms", status, out);
        goto done;
    }
    printf("SendSms answer: %s\n", out);

    /* 3. Each number has its own result in Response.SendStatusSet: "Code" is "Ok" when
     *    the message was accepted, and "SerialNo" identifies it. */
    code = json_value(out, "Response.SendStatusSet[0].Code");
    serial_no = json_value(out, "Response.SendStatusSet[0].SerialNo");
    if (code == NULL || strcmp(code, "Ok") != 0 || serial_no == NULL || serial_no[0] == '\0') {
        fprintf(stderr, "SendSms did not accept the message (Code %s)\n", code ? code : "?");
        goto done;
    }
    tcsms_free(out); /* done with this answer; `out` is reused below */
    out = NULL;

    /* 4. Report that the code was used now: ReportConversion has its own function. */
    status = tcsms_report_conversion(client, APP_ID, serial_no, (int64_t)time(NULL), &out);
    if (status != TCSMS_STATUS_OK) {
        print_failure("ReportConversion", status, out);
        goto done;
    }
    printf("ReportConversion answer: %s\n", out);
    printf("reported conversion of SerialNo %s\n", serial_no);
    exit_code = 0;
    goto done;

too_long:
    fprintf(stderr, "endpoint or credentials too long\n");
done:
    tcsms_free(out);           /* NULL is fine */
    tcsms_client_free(client); /* NULL is fine */
    tcsms_free(serial_no);     /* from tcsms_json_get */
    tcsms_free(code);
    return exit_code;
}
