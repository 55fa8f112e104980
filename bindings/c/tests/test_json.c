/*
 * Tests of tcsms_json_get (include/tcsms.h), in plain C11 that is also valid C++17.
 * No emulator needed. Every check prints "ok   ..." or "FAIL ..."; the last line is
 * "N passed, M failed" and the exit status is 0 only when nothing failed. Run under
 * valgrind by bindings/c/run-tests.sh (every returned string is freed with tcsms_free).
 */
#include "tcsms.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_passed;
static int g_failed;

static void check(int ok, const char *fmt, ...)
{
    va_list ap;
    printf("%s ", ok ? "ok  " : "FAIL");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (ok)
        g_passed++;
    else
        g_failed++;
}

static const char SEND[] =
    "{\"Response\":{\"SendStatusSet\":[{\"SerialNo\":\"5000:1045710669157053657849499619\","
    "\"PhoneNumber\":\"+8613711112222\",\"Fee\":1,\"Code\":\"Ok\",\"Message\":\"send \\\"success\\\"\"}],"
    "\"RequestId\":\"a0aabda6-cf91-4f3e-a81f-9198114a2279\"}}";
static const char RESULTS[] =
    "{\"Results\":[{\"PhoneNumber\":\"+8613711112222\",\"Class\":\"ok\"},"
    " {\"PhoneNumber\": \"+8613711113333\", \"Class\": \"rejected\", \"Fee\": 0}],\"RequestIds\":[\"r1\"]}";

/* Checks the status and that the value is exactly `want` (NULL: the value is an error
 * envelope containing `needle`); frees the value. */
static void expect(const char *json, const char *path, tcsms_status want, const char *value, const char *needle)
{
    char *out = (char *)"sentinel"; /* must be reset to NULL or a new string */
    tcsms_status st = tcsms_json_get(json, path, &out);
    int ok = st == want && out != NULL;
    if (ok && value)
        ok = strcmp(out, value) == 0;
    if (ok && needle)
        ok = strstr(out, needle) != NULL;
    check(ok, "%s: status %d (want %d): %s", path ? path : "(NULL path)", (int)st, (int)want, out ? out : "(null)");
    tcsms_free(out);
}

int main(void)
{
    expect(SEND, "Response.SendStatusSet[0].SerialNo", TCSMS_STATUS_OK, "5000:1045710669157053657849499619", NULL);
    expect(SEND, "Response.SendStatusSet[0].Message", TCSMS_STATUS_OK, "send \"success\"", NULL);
    expect(SEND, "Response.SendStatusSet[0].Fee", TCSMS_STATUS_OK, "1", NULL);
    expect(RESULTS, "Results[1].Class", TCSMS_STATUS_OK, "rejected", NULL);
    expect(RESULTS, "Results[1]", TCSMS_STATUS_OK,
           "{\"PhoneNumber\":\"+8613711113333\",\"Class\":\"rejected\",\"Fee\":0}", NULL);
    expect(RESULTS, "RequestIds", TCSMS_STATUS_OK, "[\"r1\"]", NULL);

    expect(SEND, "Response.SendStatusSet[1].SerialNo", TCSMS_STATUS_INVALID_ARGUMENT, NULL, "`[1]` not found");
    expect(SEND, "Response.Error.Code", TCSMS_STATUS_INVALID_ARGUMENT, NULL, "`Error` not found");
    expect(SEND, "Response..Code", TCSMS_STATUS_INVALID_ARGUMENT, NULL, "malformed");
    expect("{\"a\":1", "a", TCSMS_STATUS_INVALID_JSON, NULL, "ClientError.InvalidJson");
    expect("{\"a\":1} x", "a", TCSMS_STATUS_INVALID_JSON, NULL, "ClientError.InvalidJson");
    expect(NULL, "a", TCSMS_STATUS_NULL_ARGUMENT, NULL, "`json`");
    expect(SEND, NULL, TCSMS_STATUS_NULL_ARGUMENT, NULL, "`path`");
    expect("{\"a\":\"\xff\"}", "a", TCSMS_STATUS_INVALID_UTF8, NULL, "`json`");
    check(tcsms_json_get(SEND, "Response", NULL) == TCSMS_STATUS_NULL_ARGUMENT, "NULL out_value");

    /* A large answer: many results, the last one read. */
    {
        size_t n = 20000, cap = n * 40 + 64, len = 0;
        char *big = (char *)malloc(cap);
        char *out = NULL;
        if (big == NULL)
            return 2;
        len += (size_t)snprintf(big + len, cap - len, "{\"Results\":[");
        for (size_t i = 0; i < n; i++)
            len += (size_t)snprintf(big + len, cap - len, "%s{\"SerialNo\":\"s%zu\"}", i ? "," : "", i);
        snprintf(big + len, cap - len, "]}");
        tcsms_status st = tcsms_json_get(big, "Results[19999].SerialNo", &out);
        check(st == TCSMS_STATUS_OK && out && strcmp(out, "s19999") == 0, "large document: %s", out ? out : "(null)");
        tcsms_free(out);
        free(big);
    }

    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed == 0 ? 0 : 1;
}
