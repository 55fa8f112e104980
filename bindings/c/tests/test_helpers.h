/*
 * What every C test program shares: "ok"/"FAIL" checks with a final "N passed, M failed"
 * line, a small JSON validator, take() (every string tcsms returns is scanned for the
 * secret keys, checked to be JSON and released with tcsms_free), error-envelope checks,
 * client and SendSms helpers, and the emulator processes of emulator.h. Plain C11 that is
 * also valid C++17; include it first. Helpers a program does not use are not warned about.
 */
#ifndef TCSMS_TESTS_TEST_HELPERS_H
#define TCSMS_TESTS_TEST_HELPERS_H

#if !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"
#endif
#include "tcsms.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emulator.h" /* emulator processes, now_ms() */

/* ------------------------------------------------------------------------------------ */
/* Constants shared with the emulator (docs/contracts.md).                              */

#define DEMO_SECRET_ID "AKIDtcsmsdemo00000000000000000000000"
#define DEMO_SECRET_KEY "tcsmsdemosecretkey00000000000000"
#define WRONG_SECRET_KEY "tcsmswrongsecretkey0000000000000"
#define APP_ID "1400000001"
#define UNKNOWN_APP_ID "1400999999"

/* ------------------------------------------------------------------------------------ */
/* Checks and bookkeeping.                                                              */

static int g_passed;
static int g_failed;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static long g_strings_seen;   /* strings returned by tcsms and scanned for secrets */
static long g_secret_leaks;   /* ... of which contained a secret key */
static long g_invalid_json;   /* ... of which were not valid JSON */
static long g_slack_ms;

static int check(int ok, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&g_lock);
    printf("%s ", ok ? "ok  " : "FAIL");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    if (ok)
        g_passed++;
    else
        g_failed++;
    pthread_mutex_unlock(&g_lock);
    return ok;
}

static void note(const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&g_lock);
    printf("     ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    pthread_mutex_unlock(&g_lock);
}

/* A small JSON validator (RFC 8259 grammar; UTF-8 is not re-checked). Returns the
 * position after one value and trailing whitespace, or NULL if the text is not JSON. */
static const char *json_skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static const char *json_value(const char *p, int depth);

static const char *json_string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    for (;;) {
        unsigned char c = (unsigned char)*p++;
        if (c == '"')
            return p;
        if (c < 0x20)
            return NULL; /* includes the terminating NUL */
        if (c == '\\') {
            c = (unsigned char)*p++;
            if (c == 'u') {
                int i;
                for (i = 0; i < 4; i++, p++)
                    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')))
                        return NULL;
            } else if (strchr("\"\\/bfnrt", (int)c) == NULL || c == '\0') {
                return NULL;
            }
        }
    }
}

static const char *json_number(const char *p)
{
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return NULL;
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9'))
            return NULL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return NULL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return p;
}

static const char *json_value(const char *p, int depth)
{
    if (depth > 64)
        return NULL;
    p = json_skip_ws(p);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        int object = *p == '{';
        p = json_skip_ws(p + 1);
        if (*p == close)
            return json_skip_ws(p + 1);
        for (;;) {
            if (object) {
                p = json_string(json_skip_ws(p));
                if (p == NULL || *(p = json_skip_ws(p)) != ':')
                    return NULL;
                p++;
            }
            p = json_value(p, depth + 1);
            if (p == NULL)
                return NULL;
            if (*p == ',') {
                p++;
                continue;
            }
            if (*p != close)
                return NULL;
            return json_skip_ws(p + 1);
        }
    }
    if (*p == '"')
        p = json_string(p);
    else if (strncmp(p, "true", 4) == 0)
        p += 4;
    else if (strncmp(p, "false", 5) == 0)
        p += 5;
    else if (strncmp(p, "null", 4) == 0)
        p += 4;
    else
        p = json_number(p);
    return p == NULL ? NULL : json_skip_ws(p);
}

static int is_json(const char *text)
{
    const char *end = json_value(text, 0);
    return end != NULL && *end == '\0';
}

/* Every string tcsms hands out passes through here: it is scanned for the secret keys
 * this program uses and checked to be valid JSON, then copied into libc memory and
 * released with tcsms_free. The
 * copy (or NULL) belongs to the caller, who frees it with free(). */
static char *take(char *out)
{
    char *copy;
    size_t len;
    if (out == NULL)
        return NULL;
    len = strlen(out);
    pthread_mutex_lock(&g_lock);
    g_strings_seen++;
    if (strstr(out, DEMO_SECRET_KEY) != NULL || strstr(out, WRONG_SECRET_KEY) != NULL) {
        g_secret_leaks++;
        printf("     secret key found in a returned string: %s\n", out);
    }
    if (!is_json(out)) {
        g_invalid_json++;
        printf("     returned string is not valid JSON: %s\n", out);
    }
    pthread_mutex_unlock(&g_lock);
    copy = (char *)malloc(len + 1);
    if (copy == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    memcpy(copy, out, len + 1);
    tcsms_free(out);
    return copy;
}

/* Returns a malloc'd copy of the first string value of "key" in a JSON text (no
 * unescaping; enough for the ASCII values the tests look at), or NULL. */
static char *json_str(const char *json, const char *key)
{
    char pattern[128];
    const char *p;
    if (json == NULL)
        return NULL;
    snprintf(pattern, sizeof pattern, "\"%s\"", key);
    for (p = strstr(json, pattern); p != NULL; p = strstr(p + 1, pattern)) {
        const char *q = p + strlen(pattern);
        const char *end;
        char *value;
        while (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t')
            q++;
        if (*q != ':')
            continue;
        q++;
        while (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t')
            q++;
        if (*q != '"')
            continue;
        q++;
        for (end = q; *end != '\0' && *end != '"'; end++)
            if (*end == '\\' && end[1] != '\0')
                end++;
        value = (char *)malloc((size_t)(end - q) + 1);
        if (value == NULL)
            exit(2);
        memcpy(value, q, (size_t)(end - q));
        value[end - q] = '\0';
        return value;
    }
    return NULL;
}

static int str_eq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* Checks the error envelope of a failed call: status, Error.Code, a message containing
 * `needle` (if given) and a RequestId (non-empty for API errors, empty for local ones). */
static void check_error(const char *name, tcsms_status got, tcsms_status want, const char *json,
                        const char *want_code, const char *needle)
{
    char *code = json_str(json, "Code");
    char *message = json_str(json, "Message");
    char *request_id = json_str(json, "RequestId");
    int ok_status = got == want;
    int ok_code = want_code == NULL || str_eq(code, want_code);
    int ok_message = message != NULL && message[0] != '\0' &&
                     (needle == NULL || strstr(message, needle) != NULL);
    int ok_request_id = request_id != NULL &&
                        (want == TCSMS_STATUS_API_ERROR ? request_id[0] != '\0' : 1);
    if (!check(ok_status && ok_code && ok_message && ok_request_id, "%s: status %d (%s), code %s",
               name, (int)want, tcsms_status_str(want), want_code ? want_code : "-"))
        note("got status %d, out_json %s", (int)got, json ? json : "(null)");
    free(code);
    free(message);
    free(request_id);
}

/* check_error on the string a failed call left in `out`, which it takes and releases. */
static void check_error_out(const char *name, tcsms_status got, tcsms_status want, char *out,
                            const char *want_code, const char *needle)
{
    char *json = take(out);
    check_error(name, got, want, json, want_code, needle);
    free(json);
}

/* ------------------------------------------------------------------------------------ */
/* Client helpers.                                                                      */

/* Creates a client for `endpoint` with the given secret key and extra config members
 * (a JSON fragment starting with ',' or ""). Returns NULL (after a failed check) on error. */
static tcsms_client *make_client(const char *endpoint, const char *secret_key, const char *extra)
{
    char config[1024];
    tcsms_client *client = NULL;
    char *out = NULL;
    tcsms_status st;
    snprintf(config, sizeof config,
             "{\"endpoint\":\"%s\",\"secret_id\":\"%s\",\"secret_key\":\"%s\"%s}", endpoint,
             DEMO_SECRET_ID, secret_key, extra);
    st = tcsms_client_new(config, &client, &out);
    if (st != TCSMS_STATUS_OK || client == NULL) {
        char *json = take(out);
        check(0, "tcsms_client_new(%s)", config);
        note("got status %d, out_json %s", (int)st, json ? json : "(null)");
        free(json);
        tcsms_client_free(client);
        return NULL;
    }
    check(out == NULL, "tcsms_client_new leaves out_json NULL on success");
    return client;
}

/* TemplateParamSet values: the Unicode ones of the demo (template 2001, "...{1}...{2}..."),
 * and plain digits for the load test. */
#define PARAMS_UNICODE "[\"1234\",\"\xe4\xba\x94\"]" /* ["1234","五"] */
#define PARAMS_DIGITS "[\"1234\",\"5\"]"

/* A SendSms request for one mainland number with the seeded signature and template. */
static void sms_request(char *buf, size_t size, const char *app_id, const char *phone,
                        const char *template_id, const char *params)
{
    snprintf(buf, size,
             "{\"PhoneNumberSet\":[\"%s\"],\"SmsSdkAppId\":\"%s\",\"TemplateId\":\"%s\","
             "\"SignName\":\"tcsms\",\"TemplateParamSet\":%s}",
             phone, app_id, template_id, params);
}

static void send_sms_request(char *buf, size_t size, const char *app_id, const char *phone)
{
    sms_request(buf, size, app_id, phone, "2001", PARAMS_UNICODE);
}

/* Sends one SMS; returns its SerialNo (malloc'd) or NULL. Checks quietly unless
 * `verbose`: failures are always reported. */
static char *send_one(const tcsms_client *client, const char *phone, const char *template_id,
                      const char *params, int verbose, const char *name)
{
    char request[512];
    char *out = NULL;
    char *json;
    char *serial;
    char *code;
    tcsms_status st;
    sms_request(request, sizeof request, APP_ID, phone, template_id, params);
    st = tcsms_call(client, "SendSms", request, &out);
    json = take(out);
    serial = json_str(json, "SerialNo");
    code = json_str(json, "Code");
    if (st != TCSMS_STATUS_OK || serial == NULL || !str_eq(code, "Ok") || verbose) {
        if (!check(st == TCSMS_STATUS_OK && serial != NULL && str_eq(code, "Ok"),
                   "%s: SendSms(template %s, params %s) -> status OK, SendStatusSet Code \"Ok\", SerialNo",
                   name, template_id, params))
            note("got status %d, out_json %s", (int)st, json ? json : "(null)");
    }
    if (st != TCSMS_STATUS_OK || !str_eq(code, "Ok")) {
        free(serial);
        serial = NULL;
    }
    free(code);
    free(json);
    return serial;
}

/* Reports a conversion; returns 1 on success. */
static int report_one(const tcsms_client *client, const char *serial, int verbose, const char *name)
{
    char *out = NULL;
    char *json;
    char *code;
    tcsms_status st = tcsms_report_conversion(client, APP_ID, serial, (int64_t)time(NULL), &out);
    int ok;
    json = take(out);
    code = json_str(json, "Code");
    /* The documented ReportConversionStatus.Code is "ok" (SendStatusSet uses "Ok"). */
    ok = st == TCSMS_STATUS_OK && json != NULL && strstr(json, "ReportConversionStatus") != NULL &&
         str_eq(code, "ok");
    if (!ok || verbose) {
        if (!check(ok, "%s: ReportConversion(SerialNo %s) -> status OK, ReportConversionStatus Code \"ok\"",
                   name, serial))
            note("got status %d, out_json %s", (int)st, json ? json : "(null)");
    }
    free(code);
    free(json);
    return ok;
}

/* Counts the lines of the emulator's --log file that record `action`. */
static int count_logged(const char *path, const char *action)
{
    char needle[96];
    char line[4096];
    int n = 0;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    snprintf(needle, sizeof needle, "\"action\":\"%s\"", action);
    while (fgets(line, sizeof line, f) != NULL)
        if (strstr(line, needle) != NULL)
            n++;
    fclose(f);
    return n;
}

/* ------------------------------------------------------------------------------------ */
/* Program start and end.                                                               */

/* Finds the emulator (emulator_locate), sets up stdout and SIGPIPE, and prints the first
 * line. */
static void start_program(const char *what)
{
    emulator_locate();
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    printf("# %s: %s, emulator %s\n", what, tcsms_version(), g_emulator_path);
}

/* Prints the "N passed, M failed" line; the exit status of main(). */
static int finish(void)
{
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed == 0 ? 0 : 1;
}

#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#endif /* TCSMS_TESTS_TEST_HELPERS_H */
