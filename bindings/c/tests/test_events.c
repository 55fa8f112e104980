/*
 * C ABI tests of issue 12 items 1-2 against the emulator: tcsms_client_set_event_callback
 * (one event per attempt and per call, a retry and a rate-limit wait shown, re-entrancy
 * refused, removal) and tcsms_client_stats (exact counts). Every event is checked to be
 * JSON without a secret and without an unmasked phone number. Run under valgrind by
 * run-tests.sh.
 *
 * The helpers are those of test_helpers.h.
 */
#include "test_helpers.h"

#define NUMBER "+8613711112222"
#define MAX_EVENTS 64

typedef struct recorder {
    const tcsms_client *client; /* for the re-entrancy check; NULL: none */
    int count;
    char *events[MAX_EVENTS];
    int reentrant_status[MAX_EVENTS];
    int reentrant_code_ok[MAX_EVENTS];
} recorder;

static long g_events_seen;
static long g_event_leaks;

/* The callback: copies the event, checks it for secrets and full numbers, and (when
 * asked) tries to call the client from inside. */
static void on_event(void *user_data, const char *event_json)
{
    recorder *r = (recorder *)user_data;
    size_t len = strlen(event_json);
    g_events_seen++;
    if (!is_json(event_json) || strstr(event_json, DEMO_SECRET_KEY) != NULL ||
        strstr(event_json, "TC3-HMAC-SHA256") != NULL || strstr(event_json, "Authorization") != NULL ||
        strstr(event_json, NUMBER + 1) != NULL) {
        g_event_leaks++;
        printf("     bad event: %s\n", event_json);
    }
    if (r->count >= MAX_EVENTS)
        return;
    r->events[r->count] = (char *)malloc(len + 1);
    if (r->events[r->count] == NULL)
        exit(2);
    memcpy(r->events[r->count], event_json, len + 1);
    if (r->client != NULL) {
        char *out = NULL;
        tcsms_status st = tcsms_call(r->client, "DescribeSmsSignList", "{\"International\":0}", &out);
        char *json = take(out);
        char *code = json_str(json, "Code");
        r->reentrant_status[r->count] = (int)st;
        r->reentrant_code_ok[r->count] = str_eq(code, "ClientError.Reentrant");
        free(code);
        free(json);
    }
    r->count++;
}

static void recorder_free(recorder *r)
{
    int i;
    for (i = 0; i < r->count && i < MAX_EVENTS; i++)
        free(r->events[i]);
    r->count = 0;
}

static int has(const char *json, const char *needle)
{
    return json != NULL && strstr(json, needle) != NULL;
}

static void call_ok(const tcsms_client *client, const char *action, const char *request, const char *name)
{
    char *out = NULL;
    tcsms_status st = tcsms_call(client, action, request, &out);
    char *json = take(out);
    if (!check(st == TCSMS_STATUS_OK, "%s", name))
        note("got status %d, out_json %s", (int)st, json ? json : "(null)");
    free(json);
}

#define PULL "{\"SmsSdkAppId\":\"" APP_ID "\",\"Limit\":10}"

static void test_events_and_retry(const char *endpoint)
{
    /* The emulator fails every 2nd API request with HTTP 500; PullSmsSendStatus at 1/s. */
    tcsms_client *client = make_client(endpoint, DEMO_SECRET_KEY, ",\"rate_limits\":{\"*\":0,\"PullSmsSendStatus\":1}");
    recorder r;
    char *out = NULL;
    char *stats;
    tcsms_status st;
    memset(&r, 0, sizeof r);
    if (client == NULL)
        return;
    st = tcsms_client_set_event_callback(client, on_event, &r, &out);
    check(st == TCSMS_STATUS_OK && out == NULL, "tcsms_client_set_event_callback -> OK, out_json NULL");
    call_ok(client, "PullSmsSendStatus", PULL, "1st PullSmsSendStatus");
    call_ok(client, "PullSmsSendStatus", PULL, "2nd PullSmsSendStatus (HTTP 500, retried)");
    if (check(r.count == 5, "5 events: attempt, call, attempt (500), attempt, call (got %d)", r.count)) {
        check(has(r.events[0], "\"event\":\"attempt\"") && has(r.events[0], "\"attempt\":1") &&
                  has(r.events[0], "\"status\":0") && has(r.events[0], "\"code\":null"),
              "1st event: attempt 1, status 0, code null");
        check(has(r.events[1], "\"event\":\"call\"") && has(r.events[1], "\"action\":\"PullSmsSendStatus\""),
              "2nd event: the call");
        check(has(r.events[2], "\"status\":8") && has(r.events[2], "\"code\":\"ClientError.HttpStatus\"") &&
                  has(r.events[2], "\"retry\":true") && has(r.events[2], "idempotent"),
              "3rd event: HTTP 500, retried: %s", r.events[2]);
        check(has(r.events[4], "\"event\":\"call\"") && has(r.events[4], "\"attempt\":2") &&
                  has(r.events[4], "\"retries\":1") && has(r.events[4], "\"status\":0") &&
                  !has(r.events[4], "\"rate_limit_wait_us\":0,"),
              "5th event: the call, 2 attempts, after a rate-limit wait: %s", r.events[4]);
        {
            char *a = json_str(r.events[3], "request_id");
            char *c = json_str(r.events[4], "request_id");
            check(a != NULL && a[0] != '\0' && str_eq(a, c), "the call's request_id is its last attempt's");
            free(a);
            free(c);
        }
    }
    st = tcsms_client_stats(client, &out);
    stats = take(out);
    check(st == TCSMS_STATUS_OK &&
              has(stats, "\"PullSmsSendStatus\":{\"Attempts\":3,\"Calls\":2,\"Codes\":{\"ok\":2},") &&
              has(stats, "\"Retries\":1") && has(stats, "\"RateLimitWaits\":1"),
          "tcsms_client_stats: 2 calls, 3 attempts, 1 retry, 1 rate-limit wait: %s", stats ? stats : "(null)");
    free(stats);

    /* Removed: no more events. */
    st = tcsms_client_set_event_callback(client, NULL, NULL, &out);
    check(st == TCSMS_STATUS_OK && out == NULL, "tcsms_client_set_event_callback(NULL) -> OK");
    recorder_free(&r);
    call_ok(client, "PullSmsSendStatus", PULL, "3rd PullSmsSendStatus");
    check(r.count == 0, "no event after the callback was removed");
    tcsms_client_free(client);
}

static void test_reentrancy_and_stats(const char *endpoint)
{
    tcsms_client *client = make_client(endpoint, DEMO_SECRET_KEY, ",\"max_retries\":0");
    recorder r;
    char *out = NULL;
    char *stats;
    char request[512];
    tcsms_status st;
    int i, all_refused = 1;
    memset(&r, 0, sizeof r);
    if (client == NULL)
        return;
    r.client = client;
    tcsms_client_set_event_callback(client, on_event, &r, &out);
    snprintf(request, sizeof request,
             "{\"PhoneNumberSet\":[\"" NUMBER "\"],\"SmsSdkAppId\":\"" APP_ID
             "\",\"SignName\":\"tcsms\",\"TemplateId\":\"%s\",\"TemplateParamSet\":[\"1234\",\"5\"]}",
             "2001");
    for (i = 0; i < 3; i++)
        call_ok(client, "SendSms", request, "SendSms with a callback that calls the client");
    check(r.count == 6, "6 events for 3 calls (got %d)", r.count);
    for (i = 0; i < r.count; i++)
        all_refused &= r.reentrant_status[i] == TCSMS_STATUS_INVALID_ARGUMENT && r.reentrant_code_ok[i];
    check(all_refused, "every call from inside the callback: TCSMS_STATUS_INVALID_ARGUMENT, ClientError.Reentrant");
    check(has(r.events[0], "\"phone_numbers\":[\"+86137****2222\"]"), "numbers are masked: %s", r.events[0]);
    r.client = NULL;
    snprintf(request, sizeof request,
             "{\"PhoneNumberSet\":[\"" NUMBER "\"],\"SmsSdkAppId\":\"" APP_ID
             "\",\"SignName\":\"tcsms\",\"TemplateId\":\"%s\",\"TemplateParamSet\":[\"1234\",\"5\"]}",
             "9999");
    st = tcsms_call(client, "SendSms", request, &out);
    free(take(out));
    check(st == TCSMS_STATUS_API_ERROR, "SendSms with an unknown template -> API error");
    st = tcsms_client_stats(client, &out);
    stats = take(out);
    check(st == TCSMS_STATUS_OK && has(stats, "\"SendSms\":{\"Attempts\":4,\"Calls\":4,") &&
              has(stats, "\"ok\":3") && !has(stats, "DescribeSmsSignList"),
          "stats: 4 SendSms calls, 3 ok, the refused inner calls not counted: %s", stats ? stats : "(null)");
    free(stats);
    st = tcsms_client_stats(NULL, &out);
    free(take(out));
    check(st == TCSMS_STATUS_NULL_ARGUMENT, "tcsms_client_stats(NULL) -> TCSMS_STATUS_NULL_ARGUMENT");
    st = tcsms_client_set_event_callback(NULL, on_event, &r, &out);
    free(take(out));
    check(st == TCSMS_STATUS_NULL_ARGUMENT, "tcsms_client_set_event_callback(NULL client) -> NULL_ARGUMENT");
    tcsms_client_free(client);
    recorder_free(&r);
}

int main(void)
{
    emulator faulty, normal;
    static const char *const faulty_args[] = {"--fault", "http500", "--fault-every", "2", NULL};
    static const char *const normal_args[] = {"--rate-limit", "all=0", NULL};

    start_program("tcsms C ABI event and stats tests (issue 12)");

    if (check(emulator_start(&faulty, faulty_args) == 0, "emulator --fault http500 --fault-every 2 started"))
        test_events_and_retry(faulty.endpoint);
    emulator_stop(&faulty);
    if (check(emulator_start(&normal, normal_args) == 0, "emulator started"))
        test_reentrancy_and_stats(normal.endpoint);
    emulator_stop(&normal);

    check(g_events_seen > 0 && g_event_leaks == 0, "none of the %ld events is invalid JSON, has a secret or a full number",
          g_events_seen);
    check(g_secret_leaks == 0, "no secret key in any of the %ld strings tcsms returned", g_strings_seen);
    return finish();
}
