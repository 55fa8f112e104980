/*
 * Tests of tcsms_parse_callback (include/tcsms.h), in plain C11 that is also valid C++17.
 * No emulator needed. Every check prints "ok   ..." or "FAIL ..."; the last line is
 * "N passed, M failed" and the exit status is 0 only when nothing failed. Run under
 * valgrind by bindings/c/run-tests.sh (every returned string is freed with tcsms_free).
 */
#include "test_helpers.h"

static const char DELIVERY[] =
    "[{\"user_receive_time\":\"2015-10-17 08:03:04\",\"nationcode\":\"86\",\"mobile\":\"13900000001\","
    "\"report_status\":\"SUCCESS\",\"errmsg\":\"DELIVRD\",\"description\":\"ok\",\"sid\":\"x1\"},"
    "{\"user_receive_time\":\"2015-10-17 08:03:05\",\"nationcode\":\"65\",\"mobile\":\"91234567\","
    "\"report_status\":\"FAIL\",\"errmsg\":\"UNDELIV\",\"description\":\"no\",\"sid\":\"x2\"}]";
static const char REPLY[] =
    "{\"extend\":\"\",\"mobile\":\"13900000001\",\"nationcode\":\"86\",\"sign\":\"tcsms\","
    "\"text\":\"TD\",\"time\":1445391786}";

/* Parses `len` bytes; returns the status and leaves the (owned) JSON in *json. */
static tcsms_status parse(const char *body, size_t len, char **json)
{
    *json = (char *)"sentinel"; /* must be reset to NULL or a new string */
    return tcsms_parse_callback(body, len, json);
}

/* Checks status and that the JSON contains `needle`; frees the JSON. */
static void expect(const char *name, const char *body, size_t len, tcsms_status want, const char *needle)
{
    char *json = NULL;
    tcsms_status st = parse(body, len, &json);
    int has = json != NULL && strstr(json, needle) != NULL;
    check(st == want && has, "%s: status %d (want %d), json contains %s: %s", name, (int)st, (int)want, needle,
          json ? json : "(null)");
    tcsms_free(json);
}

int main(void)
{
    expect("delivery report", DELIVERY, strlen(DELIVERY), TCSMS_STATUS_OK, "{\"Kind\":\"delivery\",\"Reports\":[");
    expect("delivery report E.164", DELIVERY, strlen(DELIVERY), TCSMS_STATUS_OK, "\"PhoneNumber\":\"+6591234567\"");
    expect("delivery keeps sid", DELIVERY, strlen(DELIVERY), TCSMS_STATUS_OK, "\"sid\":\"x2\"");
    expect("reply", REPLY, strlen(REPLY), TCSMS_STATUS_OK, "{\"Kind\":\"reply\",\"Reply\":{");
    expect("reply E.164 and time", REPLY, strlen(REPLY), TCSMS_STATUS_OK, "\"time\":1445391786");

    /* The length counts, not a NUL: a body followed by other bytes parses. */
    {
        size_t n = strlen(REPLY);
        char *buf = (char *)malloc(n + 8);
        memcpy(buf, REPLY, n);
        memcpy(buf + n, "garbage", 8);
        expect("body without NUL", buf, n, TCSMS_STATUS_OK, "\"PhoneNumber\":\"+8613900000001\"");
        free(buf);
    }

    expect("truncated", DELIVERY, strlen(DELIVERY) / 2, TCSMS_STATUS_INVALID_JSON, "truncated");
    expect("not JSON", "{oops}", 6, TCSMS_STATUS_INVALID_JSON, "ClientError.InvalidJson");
    {
        const char *wrong = "[{\"nationcode\":\"86\",\"mobile\":139,\"report_status\":\"SUCCESS\",\"sid\":\"x\"}]";
        const char *time_str = "{\"mobile\":\"1\",\"nationcode\":\"86\",\"text\":\"x\",\"time\":\"1\"}";
        expect("wrong type", wrong, strlen(wrong), TCSMS_STATUS_INVALID_ARGUMENT, "field `mobile` must be a string");
        expect("reply time as string", time_str, strlen(time_str), TCSMS_STATUS_INVALID_ARGUMENT,
               "field `time` must be a number");
    }
    expect("empty (NULL, 0)", NULL, 0, TCSMS_STATUS_INVALID_ARGUMENT, "callback body is empty");
    expect("empty (\"\", 0)", "", 0, TCSMS_STATUS_INVALID_ARGUMENT, "callback body is empty");
    expect("NULL with a length", NULL, 5, TCSMS_STATUS_NULL_ARGUMENT, "ClientError.NullArgument");
    expect("invalid UTF-8", "[\"\xff\"]", 5, TCSMS_STATUS_INVALID_UTF8, "ClientError.InvalidUtf8");

    /* Oversized: 1 MiB + 1 bytes of an otherwise valid array. */
    {
        size_t n = (1u << 20) + 1;
        char *big = (char *)malloc(n);
        memset(big, ' ', n);
        big[0] = '[';
        big[n - 1] = ']';
        expect("over 1 MiB", big, n, TCSMS_STATUS_INVALID_ARGUMENT, "over the limit of 1048576 bytes");
        expect("exactly 1 MiB", big + 1, n - 1, TCSMS_STATUS_INVALID_JSON, "ClientError.InvalidJson");
        big[n - 2] = ']';
        expect("1 MiB array", big, n - 1, TCSMS_STATUS_OK, "\"Reports\":[]");
        free(big);
    }

    check(tcsms_parse_callback(REPLY, strlen(REPLY), NULL) == TCSMS_STATUS_NULL_ARGUMENT, "NULL out_json");

    return finish();
}
