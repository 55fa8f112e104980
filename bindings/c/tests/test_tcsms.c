/*
 * Tests of the tcsms C ABI (include/tcsms.h), in plain C11 that is also valid C++17.
 *
 * No framework: every check prints one line ("ok   ..." or "FAIL ..."), and the last
 * line is "N passed, M failed". The exit status is 0 only when nothing failed.
 *
 * The program starts the emulator itself: the binary named by TCSMS_EMULATOR, else
 * $TCSMS_ROOT/target/release/tcsms-emulator (TCSMS_ROOT defaults to "../.."), once
 * normally and once per fault it needs (--fault slow|garbage|http500). Each instance
 * listens on 127.0.0.1:0 and announces its port as its first stdout line.
 *
 * Environment: TCSMS_ROOT, TCSMS_EMULATOR, TCSMS_TEST_SLACK_MS (extra time allowed in
 * the timing checks, e.g. under valgrind; default 0), TCSMS_TEST_OFFLINE=1 (run only the
 * cases that need no emulator).
 */
#include "test_helpers.h"


/* ------------------------------------------------------------------------------------ */
/* Cases that need no emulator.                                                         */

static void test_json_validator(void)
{
    check(is_json("{\"a\":[1,-2.5e3,true,false,null,\"x\\\"\\u00e9\"],\"b\":{}}") && is_json(" [ ] ") &&
              !is_json("{\"a\":1,}") && !is_json("{\"a\" 1}") && !is_json("\"a\nb\"") && !is_json("{} x") &&
              !is_json("") && !is_json("01"),
          "the test's JSON validator accepts JSON and refuses non-JSON");
}

static void test_version(void)
{
    int s;
    int all_named = 1;
    const char *v = tcsms_version();
    check(tcsms_abi_version() == TCSMS_ABI_VERSION, "tcsms_abi_version() == TCSMS_ABI_VERSION (%u)",
          (unsigned)TCSMS_ABI_VERSION);
    check(v != NULL && strncmp(v, "tcsms ", 6) == 0, "tcsms_version() = \"%s\"", v ? v : "(null)");
    for (s = TCSMS_STATUS_OK; s <= TCSMS_STATUS_PARTIAL; s++) {
        const char *text = tcsms_status_str(s);
        if (text == NULL || text[0] == '\0' || strcmp(text, "unknown status") == 0) {
            all_named = 0;
            note("status %d has no description", s);
        }
    }
    check(all_named, "tcsms_status_str names every status 0..12");
    check(str_eq(tcsms_status_str(13), "unknown status") && str_eq(tcsms_status_str(-1), "unknown status") &&
              str_eq(tcsms_status_str(INT32_MAX), "unknown status"),
          "tcsms_status_str(13 / -1 / INT32_MAX) == \"unknown status\"");
    check(str_eq(tcsms_status_str(TCSMS_STATUS_OK), "ok"), "tcsms_status_str(OK) == \"ok\"");
}

static void test_create_free(void)
{
    tcsms_client *client = NULL;
    char *out = NULL;
    tcsms_status st = tcsms_client_new(
        "{\"secret_id\":\"" DEMO_SECRET_ID "\",\"secret_key\":\"" DEMO_SECRET_KEY "\"}", &client, &out);
    check(st == TCSMS_STATUS_OK && client != NULL && out == NULL,
          "tcsms_client_new with credentials and defaults -> OK, client set, out_json NULL");
    free(take(out));
    tcsms_client_free(client);

    client = NULL;
    st = tcsms_client_new(
        "{\"secret_id\":\"" DEMO_SECRET_ID "\",\"secret_key\":\"" DEMO_SECRET_KEY "\","
        "\"token\":null,\"region\":\"ap-beijing\",\"endpoint\":\"http://127.0.0.1:9\","
        "\"language\":\"zh-CN\",\"timeout_ms\":2000,\"connect_timeout_ms\":1000,\"max_retries\":0,"
        "\"proxy\":\"\",\"ca_file\":null}",
        &client, &out);
    check(st == TCSMS_STATUS_OK && client != NULL, "tcsms_client_new with every key -> OK");
    free(take(out));
    tcsms_client_free(client);

    tcsms_client_free(NULL);
    check(1, "tcsms_client_free(NULL) is a no-op");
    tcsms_free(NULL);
    check(1, "tcsms_free(NULL) is a no-op");
}

static char g_sentinel_byte;
#define SENTINEL (&g_sentinel_byte)

/* Calls that must fail with NULL_ARGUMENT naming `what`, with out pointers reset. */
static void expect_null(const char *name, tcsms_status st, char *out, const char *what)
{
    char *json = out == SENTINEL ? NULL : take(out);
    if (out == SENTINEL) {
        check(0, "%s: out_json was not reset to NULL", name);
        return;
    }
    check_error(name, st, TCSMS_STATUS_NULL_ARGUMENT, json, "ClientError.NullArgument", what);
    free(json);
}

static void test_null_arguments(const tcsms_client *client)
{
    tcsms_client *c = (tcsms_client *)SENTINEL;
    char *out = SENTINEL;
    tcsms_status st;
    const char *cfg = "{\"secret_id\":\"" DEMO_SECRET_ID "\",\"secret_key\":\"" DEMO_SECRET_KEY "\"}";

    /* tcsms_client_new */
    st = tcsms_client_new(NULL, &c, &out);
    check(c == NULL, "tcsms_client_new(NULL config): out_client reset to NULL");
    expect_null("tcsms_client_new(config_json = NULL)", st, out, "config_json");

    out = SENTINEL;
    st = tcsms_client_new(cfg, NULL, &out);
    expect_null("tcsms_client_new(out_client = NULL)", st, out, "out_client");

    c = (tcsms_client *)SENTINEL;
    st = tcsms_client_new(cfg, &c, NULL);
    check(st == TCSMS_STATUS_NULL_ARGUMENT && c == NULL,
          "tcsms_client_new(out_json = NULL) -> NULL_ARGUMENT, out_client NULL (no client leaked)");
    if (c != NULL && c != (tcsms_client *)SENTINEL)
        tcsms_client_free(c);

    c = (tcsms_client *)SENTINEL;
    st = tcsms_client_new(NULL, &c, NULL);
    check(st == TCSMS_STATUS_NULL_ARGUMENT && c == NULL,
          "tcsms_client_new(NULL, &c, NULL) -> NULL_ARGUMENT, out_client NULL");
    st = tcsms_client_new(NULL, NULL, NULL);
    check(st == TCSMS_STATUS_NULL_ARGUMENT, "tcsms_client_new(NULL, NULL, NULL) -> NULL_ARGUMENT");

    /* tcsms_report_conversion */
    out = SENTINEL;
    st = tcsms_report_conversion(NULL, APP_ID, "2433:1", -1, &out);
    expect_null("tcsms_report_conversion(client = NULL)", st, out, "client");
    out = SENTINEL;
    st = tcsms_report_conversion(client, NULL, "2433:1", -1, &out);
    expect_null("tcsms_report_conversion(sms_sdk_app_id = NULL)", st, out, "sms_sdk_app_id");
    out = SENTINEL;
    st = tcsms_report_conversion(client, APP_ID, NULL, -1, &out);
    expect_null("tcsms_report_conversion(serial_no = NULL)", st, out, "serial_no");
    st = tcsms_report_conversion(client, APP_ID, "2433:1", -1, NULL);
    check(st == TCSMS_STATUS_NULL_ARGUMENT, "tcsms_report_conversion(out_json = NULL) -> NULL_ARGUMENT");
    st = tcsms_report_conversion(NULL, NULL, NULL, -1, NULL);
    check(st == TCSMS_STATUS_NULL_ARGUMENT, "tcsms_report_conversion(all NULL) -> NULL_ARGUMENT");

    /* tcsms_call */
    out = SENTINEL;
    st = tcsms_call(NULL, "DescribeSmsSignList", "{}", &out);
    expect_null("tcsms_call(client = NULL)", st, out, "client");
    out = SENTINEL;
    st = tcsms_call(client, NULL, "{}", &out);
    expect_null("tcsms_call(action = NULL)", st, out, "action");
    out = SENTINEL;
    st = tcsms_call(client, "DescribeSmsSignList", NULL, &out);
    expect_null("tcsms_call(request_json = NULL)", st, out, "request_json");
    st = tcsms_call(client, "DescribeSmsSignList", "{}", NULL);
    check(st == TCSMS_STATUS_NULL_ARGUMENT, "tcsms_call(out_json = NULL) -> NULL_ARGUMENT");

    /* tcsms_call_with_timeout */
    out = SENTINEL;
    st = tcsms_call_with_timeout(NULL, "DescribeSmsSignList", "{}", 100, &out);
    expect_null("tcsms_call_with_timeout(client = NULL)", st, out, "client");
    out = SENTINEL;
    st = tcsms_call_with_timeout(client, NULL, "{}", 100, &out);
    expect_null("tcsms_call_with_timeout(action = NULL)", st, out, "action");
    out = SENTINEL;
    st = tcsms_call_with_timeout(client, "DescribeSmsSignList", NULL, 100, &out);
    expect_null("tcsms_call_with_timeout(request_json = NULL)", st, out, "request_json");
    st = tcsms_call_with_timeout(client, "DescribeSmsSignList", "{}", 100, NULL);
    check(st == TCSMS_STATUS_NULL_ARGUMENT, "tcsms_call_with_timeout(out_json = NULL) -> NULL_ARGUMENT");
}

static void test_invalid_utf8(const tcsms_client *client)
{
    /* 0xff never occurs in UTF-8; "\xc3(" is a truncated sequence; "\xed\xa0\x80" a surrogate. */
    char *out = NULL;
    char *json;
    tcsms_client *c = NULL;
    tcsms_status st;

    st = tcsms_client_new("{\"secret_id\":\"" DEMO_SECRET_ID "\",\"secret_key\":\"\xff\"}", &c, &out);
    json = take(out);
    check(c == NULL, "tcsms_client_new(invalid UTF-8): no client");
    check_error("tcsms_client_new(config_json invalid UTF-8)", st, TCSMS_STATUS_INVALID_UTF8, json,
                "ClientError.InvalidUtf8", "config_json");
    free(json);
    tcsms_client_free(c);

    st = tcsms_report_conversion(client, "1400\xc3(", "2433:1", -1, &out);
    json = take(out);
    check_error("tcsms_report_conversion(sms_sdk_app_id invalid UTF-8)", st, TCSMS_STATUS_INVALID_UTF8,
                json, "ClientError.InvalidUtf8", "sms_sdk_app_id");
    free(json);

    st = tcsms_report_conversion(client, APP_ID, "2433:\xed\xa0\x80", -1, &out);
    check_error_out("tcsms_report_conversion(serial_no invalid UTF-8)", st, TCSMS_STATUS_INVALID_UTF8, out,
                    "ClientError.InvalidUtf8", "serial_no");

    st = tcsms_call(client, "Send\xffSms", "{}", &out);
    check_error_out("tcsms_call(action invalid UTF-8)", st, TCSMS_STATUS_INVALID_UTF8, out,
                    "ClientError.InvalidUtf8", "action");

    st = tcsms_call(client, "SendSms", "{\"SmsSdkAppId\":\"\xff\"}", &out);
    check_error_out("tcsms_call(request_json invalid UTF-8)", st, TCSMS_STATUS_INVALID_UTF8, out,
                    "ClientError.InvalidUtf8", "request_json");

    st = tcsms_call_with_timeout(client, "Send\xffSms", "{}", 100, &out);
    check_error_out("tcsms_call_with_timeout(action invalid UTF-8)", st, TCSMS_STATUS_INVALID_UTF8, out,
                    "ClientError.InvalidUtf8", "action");

    st = tcsms_call_with_timeout(client, "SendSms", "{\"SmsSdkAppId\":\"\xc3(\"}", 100, &out);
    check_error_out("tcsms_call_with_timeout(request_json invalid UTF-8)", st, TCSMS_STATUS_INVALID_UTF8, out,
                    "ClientError.InvalidUtf8", "request_json");
}

static void expect_config_error(const char *label, const char *config, tcsms_status want,
                                const char *want_code, const char *needle)
{
    tcsms_client *c = (tcsms_client *)SENTINEL;
    char *out = NULL;
    char *json;
    char name[512];
    tcsms_status st = tcsms_client_new(config, &c, &out);
    json = take(out);
    snprintf(name, sizeof name, "tcsms_client_new(%s)", label);
    check_error(name, st, want, json, want_code, needle);
    if (!check(c == NULL, "  ... and out_client is NULL"))
        if (c != (tcsms_client *)SENTINEL)
            tcsms_client_free(c);
    free(json);
}

#define CREDS "\"secret_id\":\"" DEMO_SECRET_ID "\",\"secret_key\":\"" DEMO_SECRET_KEY "\""
/* A label for the output (secrets elided) and the configuration itself. */
#define WITH_CREDS(rest) "{<credentials>" rest, "{" CREDS rest

static void test_config_errors(void)
{
    const char *home = getenv("HOME");
    char *saved_home = home ? strdup(home) : NULL;
    const char *id = getenv("TENCENTCLOUD_SECRET_ID");
    char *saved_id = id ? strdup(id) : NULL;
    const char *key = getenv("TENCENTCLOUD_SECRET_KEY");
    char *saved_key = key ? strdup(key) : NULL;

    /* Not JSON / not an object. */
    expect_config_error(WITH_CREDS(","), TCSMS_STATUS_INVALID_JSON, "ClientError.InvalidJson", NULL);
    expect_config_error("[1,2]", "[1,2]", TCSMS_STATUS_INVALID_JSON, "ClientError.InvalidJson", NULL);
    expect_config_error("(empty)", "", TCSMS_STATUS_INVALID_JSON, "ClientError.InvalidJson", NULL);
    /* Unknown keys and bad values: the key is named in the message. */
    expect_config_error(WITH_CREDS(",\"tiemout_ms\":1}"), TCSMS_STATUS_INVALID_CONFIG,
                        "ClientError.InvalidConfig", "tiemout_ms");
    expect_config_error(WITH_CREDS(",\"SecretKey\":\"x\"}"), TCSMS_STATUS_INVALID_CONFIG,
                        "ClientError.InvalidConfig", "SecretKey");
    expect_config_error(WITH_CREDS(",\"timeout_ms\":\"500\"}"), TCSMS_STATUS_INVALID_CONFIG,
                        "ClientError.InvalidConfig", "timeout_ms");
    expect_config_error(WITH_CREDS(",\"timeout_ms\":0}"), TCSMS_STATUS_INVALID_CONFIG,
                        "ClientError.InvalidConfig", "timeout_ms");
    expect_config_error(WITH_CREDS(",\"connect_timeout_ms\":-5}"), TCSMS_STATUS_INVALID_CONFIG,
                        "ClientError.InvalidConfig", "connect_timeout_ms");
    expect_config_error(WITH_CREDS(",\"max_retries\":1000}"), TCSMS_STATUS_INVALID_CONFIG,
                        "ClientError.InvalidConfig", "max_retries");
    expect_config_error(WITH_CREDS(",\"endpoint\":\"ftp://example.com\"}"), TCSMS_STATUS_INVALID_CONFIG,
                        "ClientError.InvalidConfig", "endpoint");
    expect_config_error(WITH_CREDS(",\"endpoint\":\"http://127.0.0.1\"}"), TCSMS_STATUS_INVALID_CONFIG,
                        "ClientError.InvalidConfig", "endpoint");
    expect_config_error(WITH_CREDS(",\"language\":\"fr-FR\"}"), TCSMS_STATUS_INVALID_CONFIG,
                        "ClientError.InvalidConfig", "language");
    expect_config_error(WITH_CREDS(",\"region\":\"ap guangzhou\"}"), TCSMS_STATUS_INVALID_CONFIG,
                        "ClientError.InvalidConfig", "region");
    expect_config_error(WITH_CREDS(",\"secret_key\":5}"), TCSMS_STATUS_INVALID_CONFIG,
                        "ClientError.InvalidConfig", "secret_key");

    /* No credentials anywhere: config, environment, ~/.tencentcloud/credentials. */
    unsetenv("TENCENTCLOUD_SECRET_ID");
    unsetenv("TENCENTCLOUD_SECRET_KEY");
    setenv("HOME", "/nonexistent/tcsms-test-home", 1);
    expect_config_error("{}", "{}", TCSMS_STATUS_INVALID_CONFIG, "ClientError.MissingCredentials", NULL);
    expect_config_error("{\"secret_id\":...} without secret_key", "{\"secret_id\":\"" DEMO_SECRET_ID "\"}",
                        TCSMS_STATUS_INVALID_CONFIG, NULL, NULL);
    if (saved_home)
        setenv("HOME", saved_home, 1);
    else
        unsetenv("HOME");
    if (saved_id)
        setenv("TENCENTCLOUD_SECRET_ID", saved_id, 1);
    if (saved_key)
        setenv("TENCENTCLOUD_SECRET_KEY", saved_key, 1);
    free(saved_home);
    free(saved_id);
    free(saved_key);
}

static void test_local_request_errors(const tcsms_client *client)
{
    char *out = NULL;
    char *json;
    tcsms_status st;

    st = tcsms_call(client, "SendSms", "{\"SmsSdkAppId\":", &out);
    check_error_out("tcsms_call(malformed request JSON)", st, TCSMS_STATUS_INVALID_JSON, out,
                    "ClientError.InvalidJson", NULL);

    st = tcsms_call(client, "SendSms", "[\"not\",\"an\",\"object\"]", &out);
    check_error_out("tcsms_call(request JSON not an object)", st, TCSMS_STATUS_INVALID_JSON, out,
                    "ClientError.InvalidJson", NULL);

    st = tcsms_call(client, "SendSms", "{\"SmsSdkAppId\":\"1\"} trailing", &out);
    check_error_out("tcsms_call(request JSON with trailing text)", st, TCSMS_STATUS_INVALID_JSON, out,
                    "ClientError.InvalidJson", NULL);

    st = tcsms_call(client, "SendSms", "null", &out);
    check_error_out("tcsms_call(request JSON null)", st, TCSMS_STATUS_INVALID_JSON, out,
                    "ClientError.InvalidJson", NULL);

    st = tcsms_call(client, "SendSmsPlease", "{}", &out);
    check_error_out("tcsms_call(unknown action)", st, TCSMS_STATUS_INVALID_ARGUMENT, out,
                    "ClientError.UnknownAction", "SendSmsPlease");

    /* Text from the caller that needs escaping in the error envelope. */
    st = tcsms_call(client, "Send\"Sms\\\n\t\x01", "{}", &out);
    json = take(out);
    check_error("tcsms_call(unknown action with quote, backslash, control characters)", st,
                TCSMS_STATUS_INVALID_ARGUMENT, json, "ClientError.UnknownAction", NULL);
    check(json != NULL && is_json(json), "  ... and the envelope is still valid JSON");
    free(json);

    st = tcsms_call(client, "", "{}", &out);
    check_error_out("tcsms_call(empty action)", st, TCSMS_STATUS_INVALID_ARGUMENT, out,
                    "ClientError.UnknownAction", NULL);
}

/* A loopback port nothing listens on: bind an ephemeral port, then close it. */
static int closed_port(void)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    int port = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
        getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
        port = ntohs(addr.sin_port);
    close(fd);
    return port;
}

static void test_unreachable(void)
{
    char endpoint[64];
    char *out = NULL;
    char *json;
    tcsms_client *client;
    tcsms_status st;
    long t0, elapsed;
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", closed_port());
    client = make_client(endpoint, DEMO_SECRET_KEY, "");
    if (client == NULL)
        return;
    t0 = now_ms();
    st = tcsms_call(client, "DescribeSmsSignList", "{\"International\":0,\"SignIdSet\":[1001]}", &out);
    elapsed = now_ms() - t0;
    json = take(out);
    check_error("unreachable host (closed loopback port)", st, TCSMS_STATUS_NETWORK, json,
                "ClientError.Network", NULL);
    check(elapsed < 3000 + g_slack_ms, "unreachable host fails fast (%ld ms, retries included)", elapsed);
    free(json);

    t0 = now_ms();
    st = tcsms_report_conversion(client, APP_ID, "2433:1", -1, &out);
    elapsed = now_ms() - t0;
    json = take(out);
    check_error("tcsms_report_conversion to unreachable host", st, TCSMS_STATUS_NETWORK, json,
                "ClientError.Network", NULL);
    check(elapsed < 3000 + g_slack_ms, "  ... fast (%ld ms)", elapsed);
    free(json);

    /* The largest per-call limit is simply capped by the client's. */
    st = tcsms_call_with_timeout(client, "DescribeSmsSignList", "{\"International\":0,\"SignIdSet\":[1001]}",
                                 UINT64_MAX, &out);
    check_error_out("tcsms_call_with_timeout(UINT64_MAX) to unreachable host", st, TCSMS_STATUS_NETWORK, out,
                    "ClientError.Network", NULL);

    /* Connecting ahead to an endpoint that is down: a typed error, in time, 0 ready. */
    {
        uint64_t ready = 99;
        t0 = now_ms();
        st = tcsms_client_connect_ahead(client, 4, 1000, &ready, &out);
        elapsed = now_ms() - t0;
        json = take(out);
        check_error("tcsms_client_connect_ahead to unreachable host", st, TCSMS_STATUS_NETWORK, json,
                    "ClientError.Network", NULL);
        check(ready == 0, "  ... 0 connections ready (%llu)", (unsigned long long)ready);
        check(elapsed < 1000 + g_slack_ms, "  ... within its limit (%ld ms)", elapsed);
        free(json);
        st = tcsms_client_connect_ahead(client, 1, 0, NULL, &out);
        check_error_out("tcsms_client_connect_ahead(out_ready NULL)", st, TCSMS_STATUS_NULL_ARGUMENT, out,
                        "ClientError.NullArgument", NULL);
        st = tcsms_client_connect_ahead(NULL, 1, 0, &ready, &out);
        check_error_out("tcsms_client_connect_ahead(client NULL)", st, TCSMS_STATUS_NULL_ARGUMENT, out,
                        "ClientError.NullArgument", NULL);
        check(tcsms_client_connect_ahead(client, 1, 0, &ready, NULL) == TCSMS_STATUS_NULL_ARGUMENT,
              "tcsms_client_connect_ahead(out_json NULL) -> TCSMS_STATUS_NULL_ARGUMENT");
    }
    tcsms_client_free(client);
}

/* ------------------------------------------------------------------------------------ */
/* Cases against the emulator.                                                          */

static void test_success(const char *endpoint)
{
    tcsms_client *client = make_client(endpoint, DEMO_SECRET_KEY, "");
    char *serial;
    char *out = NULL;
    char *json;
    tcsms_status st;
    if (client == NULL)
        return;

    serial = send_one(client, "+8613800000000", "2001", PARAMS_UNICODE, 1, "success");
    if (serial != NULL) {
        check(strncmp(serial, "2433:", 5) == 0, "SerialNo looks like 2433:... (%s)", serial);
        report_one(client, serial, 1, "success");
        /* conversion_time < 0 omits ConversionTime. */
        st = tcsms_report_conversion(client, APP_ID, serial, -1, &out);
        json = take(out);
        check(st == TCSMS_STATUS_OK, "ReportConversion without ConversionTime -> OK");
        if (st != TCSMS_STATUS_OK)
            note("got status %d, out_json %s", (int)st, json ? json : "(null)");
        free(json);
        free(serial);
    }

    /* A notification template (no digit-only rule) with a Unicode parameter: 订单五. */
    serial = send_one(client, "+8613800000006", "2002", "[\"\xe8\xae\xa2\xe5\x8d\x95\xe4\xba\x94\"]", 1,
                      "notification");
    free(serial);

    /* The answer is the service's body: RequestId present. */
    st = tcsms_call(client, "DescribeSmsTemplateList",
                    "{\"International\":0,\"TemplateIdSet\":[2001],\"Limit\":10,\"Offset\":0}", &out);
    json = take(out);
    {
        char *request_id = json_str(json, "RequestId");
        if (!check(st == TCSMS_STATUS_OK && request_id != NULL && request_id[0] != '\0' &&
                       strstr(json, "\"Response\"") != NULL,
                   "DescribeSmsTemplateList -> OK, {\"Response\":{...,\"RequestId\"}}"))
            note("got status %d, out_json %s", (int)st, json ? json : "(null)");
        free(request_id);
    }
    free(json);

    /* tcsms_call_with_timeout with a generous limit, and with 0 (= client's). */
    {
        char request[512];
        sms_request(request, sizeof request, APP_ID, "+8613800000001", "2001", PARAMS_DIGITS);
        st = tcsms_call_with_timeout(client, "SendSms", request, 5000, &out);
        json = take(out);
        check(st == TCSMS_STATUS_OK, "tcsms_call_with_timeout(SendSms, 5000 ms) -> OK");
        free(json);
        st = tcsms_call_with_timeout(client, "SendSms", request, 0, &out);
        json = take(out);
        check(st == TCSMS_STATUS_OK, "tcsms_call_with_timeout(SendSms, 0 = client's) -> OK");
        free(json);
    }

    /* Connections opened ahead: the pool holds the one the calls above left and one more. */
    {
        uint64_t ready = 0;
        st = tcsms_client_connect_ahead(client, 2, 2000, &ready, &out);
        check(st == TCSMS_STATUS_OK && out == NULL && ready == 2,
              "tcsms_client_connect_ahead(2) -> OK, 2 ready (status %d, %llu)", (int)st, (unsigned long long)ready);
        tcsms_free(out);
        st = tcsms_call(client, "DescribeSmsTemplateList",
                        "{\"International\":0,\"TemplateIdSet\":[2001],\"Limit\":10,\"Offset\":0}", &out);
        json = take(out);
        check(st == TCSMS_STATUS_OK, "a call after tcsms_client_connect_ahead -> OK");
        free(json);
    }
    tcsms_client_free(client);
}

static void test_env_credentials(const char *endpoint)
{
    /* Credentials from TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY. */
    char config[256];
    tcsms_client *client = NULL;
    char *out = NULL;
    char *json;
    tcsms_status st;
    snprintf(config, sizeof config, "{\"endpoint\":\"%s\"}", endpoint);
    setenv("TENCENTCLOUD_SECRET_ID", DEMO_SECRET_ID, 1);
    setenv("TENCENTCLOUD_SECRET_KEY", DEMO_SECRET_KEY, 1);
    st = tcsms_client_new(config, &client, &out);
    unsetenv("TENCENTCLOUD_SECRET_ID");
    unsetenv("TENCENTCLOUD_SECRET_KEY");
    json = take(out);
    check(st == TCSMS_STATUS_OK && client != NULL, "tcsms_client_new with credentials from the environment");
    free(json);
    if (client != NULL) {
        char *serial = send_one(client, "+8613800000002", "2001", PARAMS_DIGITS, 0, "env credentials");
        check(serial != NULL, "SendSms with environment credentials -> OK");
        free(serial);
    }
    tcsms_client_free(client);
}

static void test_api_errors(const char *endpoint)
{
    tcsms_client *good = make_client(endpoint, DEMO_SECRET_KEY, "");
    tcsms_client *bad = make_client(endpoint, WRONG_SECRET_KEY, "");
    char request[512];
    char *out = NULL;
    tcsms_status st;

    if (bad != NULL) {
        send_sms_request(request, sizeof request, APP_ID, "+8613800000003");
        st = tcsms_call(bad, "SendSms", request, &out);
        check_error_out("SendSms with a wrong secret key", st, TCSMS_STATUS_API_ERROR, out,
                        "AuthFailure.SignatureFailure", NULL);
        st = tcsms_report_conversion(bad, APP_ID, "2433:1", -1, &out);
        check_error_out("ReportConversion with a wrong secret key", st, TCSMS_STATUS_API_ERROR, out,
                        "AuthFailure.SignatureFailure", NULL);
    }
    if (good != NULL) {
        send_sms_request(request, sizeof request, UNKNOWN_APP_ID, "+8613800000003");
        st = tcsms_call(good, "SendSms", request, &out);
        check_error_out("SendSms with an unknown SmsSdkAppId", st, TCSMS_STATUS_API_ERROR, out,
                        "UnauthorizedOperation.SmsSdkAppIdVerifyFail", NULL);

        st = tcsms_call(good, "SendSms",
                        "{\"PhoneNumberSet\":[\"+8613800000003\"],\"SmsSdkAppId\":\"" APP_ID "\","
                        "\"SignName\":\"tcsms\",\"TemplateParamSet\":[\"1234\",\"5\"]}",
                        &out);
        check_error_out("SendSms without TemplateId", st, TCSMS_STATUS_API_ERROR, out, "MissingParameter",
                        "TemplateId");

        st = tcsms_report_conversion(good, UNKNOWN_APP_ID, "2433:1", -1, &out);
        check_error_out("ReportConversion with an unknown SmsSdkAppId", st, TCSMS_STATUS_API_ERROR, out,
                        "UnauthorizedOperation.SmsSdkAppIdVerifyFail", NULL);
    }
    tcsms_client_free(good);
    tcsms_client_free(bad);
}

static void test_timeouts(const char *slow_endpoint)
{
    tcsms_client *client = make_client(slow_endpoint, DEMO_SECRET_KEY, ",\"timeout_ms\":500");
    tcsms_client *patient = make_client(slow_endpoint, DEMO_SECRET_KEY, ",\"timeout_ms\":10000");
    char request[512];
    char *out = NULL;
    char *json;
    tcsms_status st;
    long t0, elapsed;

    send_sms_request(request, sizeof request, APP_ID, "+8613800000004");
    if (client != NULL) {
        t0 = now_ms();
        st = tcsms_call(client, "SendSms", request, &out);
        elapsed = now_ms() - t0;
        json = take(out);
        check_error("slow service, client timeout_ms 500", st, TCSMS_STATUS_TIMEOUT, json,
                    "ClientError.Timeout", NULL);
        check(elapsed >= 450 && elapsed < 1200 + g_slack_ms, "  ... returned after %ld ms (500..1200)",
              elapsed);
        free(json);

        t0 = now_ms();
        st = tcsms_report_conversion(client, APP_ID, "2433:1", -1, &out);
        elapsed = now_ms() - t0;
        json = take(out);
        check_error("slow service, ReportConversion (retried), timeout_ms 500", st, TCSMS_STATUS_TIMEOUT,
                    json, "ClientError.Timeout", NULL);
        check(elapsed >= 450 && elapsed < 1200 + g_slack_ms,
              "  ... retries stay inside timeout_ms (%ld ms)", elapsed);
        free(json);
    }
    if (patient != NULL) {
        t0 = now_ms();
        st = tcsms_call_with_timeout(patient, "SendSms", request, 300, &out);
        elapsed = now_ms() - t0;
        json = take(out);
        check_error("tcsms_call_with_timeout 300 ms on a 10 s client", st, TCSMS_STATUS_TIMEOUT, json,
                    "ClientError.Timeout", NULL);
        check(elapsed >= 250 && elapsed < 1000 + g_slack_ms, "  ... returned after %ld ms (300..1000)",
              elapsed);
        free(json);
    }
    if (client != NULL) {
        /* The shorter of the two limits wins: 500 ms client, 5000 ms call. */
        t0 = now_ms();
        st = tcsms_call_with_timeout(client, "SendSms", request, 5000, &out);
        elapsed = now_ms() - t0;
        json = take(out);
        check(st == TCSMS_STATUS_TIMEOUT && elapsed < 1200 + g_slack_ms,
              "tcsms_call_with_timeout 5000 ms on a 500 ms client -> TIMEOUT after %ld ms", elapsed);
        free(json);
    }
    tcsms_client_free(client);
    tcsms_client_free(patient);
}

static void test_fault(const char *endpoint, const char *what, tcsms_status want, const char *want_code)
{
    tcsms_client *client = make_client(endpoint, DEMO_SECRET_KEY, ",\"timeout_ms\":5000");
    char request[512];
    char name[128];
    char *out = NULL;
    char *json;
    tcsms_status st;
    if (client == NULL)
        return;
    send_sms_request(request, sizeof request, APP_ID, "+8613800000005");
    st = tcsms_call(client, "SendSms", request, &out);
    json = take(out);
    snprintf(name, sizeof name, "%s: SendSms", what);
    check_error(name, st, want, json, want_code, NULL);
    free(json);
    st = tcsms_report_conversion(client, APP_ID, "2433:1", -1, &out);
    json = take(out);
    snprintf(name, sizeof name, "%s: ReportConversion (after retries)", what);
    check_error(name, st, want, json, want_code, NULL);
    free(json);
    tcsms_client_free(client);
}

/* After test_fault: SendSms may never be resent once it may have reached the service;
 * ReportConversion is idempotent and is retried max_retries (default 2) times. */
static void check_attempts(const char *log_path, const char *what)
{
    int sends = count_logged(log_path, "SendSms");
    int reports = count_logged(log_path, "ReportConversion");
    check(sends == 1, "%s: SendSms reached the service exactly once (logged %d times), never resent", what,
          sends);
    check(reports == 3, "%s: ReportConversion was tried 1 + max_retries (2) = 3 times (logged %d)", what,
          reports);
    unlink(log_path);
}

/* `--fault close --fault-every 2`: every second request is dropped without an answer.
 * Request 1 (SendSms) succeeds; 2 (ReportConversion) is dropped and retried as 3, which
 * succeeds; 4 (SendSms) is dropped and, as it may have been acted on, not resent. */
static void test_close_fault(const char *endpoint)
{
    tcsms_client *client = make_client(endpoint, DEMO_SECRET_KEY, ",\"timeout_ms\":5000");
    char request[512];
    char *serial;
    char *out = NULL;
    tcsms_status st;
    if (client == NULL)
        return;
    serial = send_one(client, "+8613800000007", "2001", PARAMS_DIGITS, 1, "--fault close (request 1)");
    if (serial != NULL)
        report_one(client, serial, 1, "--fault close (request 2 dropped, retried as 3)");
    free(serial);
    sms_request(request, sizeof request, APP_ID, "+8613800000008", "2001", PARAMS_DIGITS);
    st = tcsms_call(client, "SendSms", request, &out);
    check_error_out("--fault close: SendSms (request 4 dropped)", st, TCSMS_STATUS_NETWORK, out,
                    "ClientError.Network", NULL);
    tcsms_client_free(client);
}

/* After test_close_fault and the emulator's exit (so its log is complete). */
static void check_close_attempts(const char *log_path)
{
    int sends = count_logged(log_path, "SendSms");
    int reports = count_logged(log_path, "ReportConversion");
    check(sends == 2 && reports == 2,
          "--fault close: emulator saw SendSms twice (%d: the dropped one not resent) and "
          "ReportConversion twice (%d: the dropped one retried)", sends, reports);
    unlink(log_path);
}

#define THREADS 8
#define ROUNDS 4

typedef struct worker {
    const tcsms_client *client;
    int index;
    int ok;
} worker;

static void *work(void *arg)
{
    worker *w = (worker *)arg;
    int round;
    char name[64];
    w->ok = 0;
    snprintf(name, sizeof name, "thread %d", w->index);
    for (round = 0; round < ROUNDS; round++) {
        char phone[32];
        char *serial;
        snprintf(phone, sizeof phone, "+86138%08d", 100 + w->index * ROUNDS + round);
        serial = send_one(w->client, phone, "2001", PARAMS_DIGITS, 0, name);
        if (serial == NULL)
            continue;
        if (report_one(w->client, serial, 0, name))
            w->ok++;
        free(serial);
    }
    return NULL;
}

static void test_threads(const char *endpoint)
{
    tcsms_client *client = make_client(endpoint, DEMO_SECRET_KEY, ",\"timeout_ms\":5000");
    pthread_t threads[THREADS];
    worker workers[THREADS];
    int started[THREADS];
    int i, total = 0;
    if (client == NULL)
        return;
    for (i = 0; i < THREADS; i++) {
        workers[i].client = client;
        workers[i].index = i;
        workers[i].ok = 0;
        started[i] = pthread_create(&threads[i], NULL, work, &workers[i]) == 0;
    }
    for (i = 0; i < THREADS; i++) {
        if (started[i])
            pthread_join(threads[i], NULL);
        total += workers[i].ok;
    }
    check(total == THREADS * ROUNDS,
          "%d threads x %d rounds of SendSms + ReportConversion on one client: %d/%d succeeded", THREADS,
          ROUNDS, total, THREADS * ROUNDS);
    tcsms_client_free(client);
}

/* ------------------------------------------------------------------------------------ */
/* fork(): the parent pools a keep-alive connection, forks, and both processes call at  */
/* once; each must get the answer to each of its own requests (issue 10 #1, 11 #6).     */

#define FORK_ROUNDS 40

/* Sends FORK_ROUNDS SMS, each to its own number, and returns how many answers were not
 * an OK answer for that very number. */
static int fork_traffic(const tcsms_client *client, int who, const char *name)
{
    int round, bad = 0;
    for (round = 0; round < FORK_ROUNDS; round++) {
        char phone[32];
        char request[512];
        char *out = NULL;
        char *json;
        char *got;
        tcsms_status st;
        snprintf(phone, sizeof phone, "+86139%02d%06d", who, round);
        sms_request(request, sizeof request, APP_ID, phone, "2001", PARAMS_DIGITS);
        st = tcsms_call(client, "SendSms", request, &out);
        json = take(out);
        got = json_str(json, "PhoneNumber");
        if (st != TCSMS_STATUS_OK || !str_eq(got, phone)) {
            if (++bad <= 3)
                printf("     %s: sent to %s, got status %d, %s\n", name, phone, (int)st, json ? json : "(null)");
        }
        free(got);
        free(json);
    }
    return bad;
}

#define FORK_OPTIONS ",\"timeout_ms\":5000,\"max_retries\":0"

/* Forks; parent and child start together and each sends FORK_ROUNDS SMS, with `shared`
 * (the child with its inherited copy, which it frees), or when it is NULL with a client
 * each makes after the fork. Checks that each got its own answers. */
static void fork_and_send(const char *endpoint, tcsms_client *shared, int who, const char *what)
{
    tcsms_client *client;
    int go[2];
    int status = -1;
    int bad;
    pid_t child;
    if (!check(pipe(go) == 0, "%s: pipe", what))
        return;
    child = fork();
    if (child == 0) {
        char c;
        close(go[1]);
        if (read(go[0], &c, 1) < 0) { /* start together with the parent */
        }
        client = shared ? shared : make_client(endpoint, DEMO_SECRET_KEY, FORK_OPTIONS);
        bad = client ? fork_traffic(client, who + 1, "child") : -1;
        tcsms_client_free(client);
        _exit(bad == 0 ? 0 : 1);
    }
    close(go[0]);
    client = shared ? shared : make_client(endpoint, DEMO_SECRET_KEY, FORK_OPTIONS);
    if (write(go[1], "g", 1) < 0) {
    }
    bad = child > 0 && client ? fork_traffic(client, who, "parent") : -1;
    close(go[1]);
    if (child > 0)
        waitpid(child, &status, 0);
    check(bad == 0, "%s: the parent got its own answer to each of its %d SendSms", what, FORK_ROUNDS);
    check(child > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "%s: the child, calling at the same time, got its own answer to each of its %d SendSms", what,
          FORK_ROUNDS);
    if (!shared)
        tcsms_client_free(client);
}

static void test_fork(const char *endpoint)
{
    tcsms_client *client = make_client(endpoint, DEMO_SECRET_KEY, FORK_OPTIONS);
    char *serial;
    if (client == NULL)
        return;
    /* One call first, so that the pool holds a connection when the process forks. */
    serial = send_one(client, "+8613900000000", "2001", PARAMS_DIGITS, 0, "fork: before");
    free(serial);
    fork_and_send(endpoint, client, 1, "fork");
    tcsms_client_free(client);
}

/* fork() after a hand-over: a freed client leaves its kept-alive connection to the      */
/* process's later clients (issue 21); after fork() only the process that opened it may */
/* use it, so new clients in parent and child, calling at once, each get their answers. */

static void test_fork_handover(const char *endpoint)
{
    tcsms_client *client = make_client(endpoint, DEMO_SECRET_KEY, FORK_OPTIONS);
    /* Past the connection's rest (twice the exchange, >= 1 ms; longer under valgrind). */
    struct timespec rest = {0, 200 * 1000 * 1000};
    char *serial;
    if (client == NULL)
        return;
    serial = send_one(client, "+8613900000001", "2001", PARAMS_DIGITS, 0, "fork after hand-over: before");
    free(serial);
    tcsms_client_free(client); /* its connection is left to the next client */
    nanosleep(&rest, NULL);
    fork_and_send(endpoint, NULL, 3, "fork after hand-over, a new client in each");
}

/* ------------------------------------------------------------------------------------ */


int main(void)
{
    const char *slack = getenv("TCSMS_TEST_SLACK_MS");
    const char *offline_only = getenv("TCSMS_TEST_OFFLINE");
    tcsms_client *offline = NULL;
    emulator normal, slow, garbage, http500;
    char garbage_log[128];
    char http500_log[128];
    char close_log[128];
    emulator closer;
    static const char *const slow_args[] = {"--fault", "slow", "--fault-delay-ms", "5000", NULL};
    const char *garbage_args[] = {"--fault", "garbage", "--log", garbage_log, NULL};
    const char *http500_args[] = {"--fault", "http500", "--log", http500_log, NULL};
    const char *close_args[] = {"--fault", "close", "--fault-every", "2", "--log", close_log, NULL};

    g_slack_ms = slack ? atol(slack) : 0;
    snprintf(garbage_log, sizeof garbage_log, "/tmp/tcsms-c-test-%ld-garbage.log", (long)getpid());
    snprintf(http500_log, sizeof http500_log, "/tmp/tcsms-c-test-%ld-http500.log", (long)getpid());
    snprintf(close_log, sizeof close_log, "/tmp/tcsms-c-test-%ld-close.log", (long)getpid());
    unlink(close_log);
    unlink(garbage_log);
    unlink(http500_log);
    start_program("tcsms C ABI tests");

    /* No emulator needed. */
    test_json_validator();
    test_version();
    test_create_free();
    test_config_errors();
    offline = make_client("http://127.0.0.1:9", DEMO_SECRET_KEY, ",\"timeout_ms\":1000");
    if (offline != NULL) {
        test_null_arguments(offline);
        test_invalid_utf8(offline);
        test_local_request_errors(offline);
    }
    tcsms_client_free(offline);
    test_unreachable();

    /* Against the emulator. */
    if (offline_only != NULL && strcmp(offline_only, "1") == 0) {
        note("TCSMS_TEST_OFFLINE=1: skipping the emulator cases");
    } else if (!check(access(g_emulator_path, X_OK) == 0, "emulator binary exists: %s", g_emulator_path)) {
        note("set TCSMS_EMULATOR or TCSMS_ROOT; skipping the emulator cases");
    } else {
        if (check(emulator_start(&normal, NULL) == 0, "emulator started")) {
            note("emulator at %s", normal.endpoint);
            test_success(normal.endpoint);
            test_env_credentials(normal.endpoint);
            test_api_errors(normal.endpoint);
            test_threads(normal.endpoint);
            test_fork(normal.endpoint);
            test_fork_handover(normal.endpoint);
        }
        emulator_stop(&normal);

        if (check(emulator_start(&slow, slow_args) == 0, "emulator --fault slow started"))
            test_timeouts(slow.endpoint);
        if (check(emulator_start(&garbage, garbage_args) == 0, "emulator --fault garbage started"))
            test_fault(garbage.endpoint, "--fault garbage", TCSMS_STATUS_DECODE, "ClientError.Decode");
        emulator_stop(&garbage);
        check_attempts(garbage_log, "--fault garbage");
        if (check(emulator_start(&http500, http500_args) == 0, "emulator --fault http500 started"))
            test_fault(http500.endpoint, "--fault http500", TCSMS_STATUS_HTTP_STATUS,
                       "ClientError.HttpStatus");
        emulator_stop(&http500);
        check_attempts(http500_log, "--fault http500");
        if (check(emulator_start(&closer, close_args) == 0, "emulator --fault close --fault-every 2 started"))
            test_close_fault(closer.endpoint);
        emulator_stop(&closer);
        check_close_attempts(close_log);
        emulator_stop(&slow);
    }

    check(g_secret_leaks == 0, "no secret key in any of the %ld strings tcsms returned", g_strings_seen);
    check(g_invalid_json == 0, "every one of the %ld strings tcsms returned is valid JSON (%ld not)",
          g_strings_seen, g_invalid_json);
    return finish();
}
