/*
 * C ABI tests of issue 11 against the emulator: tcsms_send_sms with per-number results
 * and batching (and tcsms_send_multi_global_sms), client-side rate limits, clock-skew
 * correction (tcsms_client_clock_offset) and credential rotation
 * (tcsms_client_set_credentials). Run under valgrind by run-tests.sh.
 *
 * The helpers (checks, the JSON validator, take(), emulator processes, make_client) are
 * those of test_helpers.h.
 */
#include "test_helpers.h"

#define OTHER_SECRET_ID "AKIDtcsmsrotated000000000000000000000"
#define OTHER_SECRET_KEY "tcsmsrotatedsecretkey000000000000"
#define NUMBERS 450

/* Copies the string values of every "key" in `json`, in order, into `values` (at most
 * `max`, each truncated to 63 bytes). Returns how many there were. */
static int all_str(const char *json, const char *key, char values[][64], int max)
{
    char pattern[64];
    const char *p;
    int n = 0;
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    for (p = json ? strstr(json, pattern) : NULL; p != NULL; p = strstr(p + 1, pattern)) {
        const char *q = p + strlen(pattern);
        size_t len = 0;
        if (n < max) {
            while (q[len] != '\0' && q[len] != '"' && len < 63)
                len++;
            memcpy(values[n], q, len);
            values[n][len] = '\0';
        }
        n++;
    }
    return n;
}

/* The 450 numbers of the send test: ordinary ones (every 7th written as bare 11 digits)
 * and, at fixed places, the emulator's test numbers and one duplicate. */
static const struct {
    int place;
    const char *number;
    const char *class_;
} SPECIAL[] = {
    {3, "+8619900000001", "rejected"},   {150, "+8619900000002", "rejected"},
    {199, "+8619900000011", "limited"},  {200, "19900000013", "limited"},
    {401, "+8619900000021", "failed"},   {420, "+8613800000010", "rejected"},
};

static void number_at(int i, char *buf, size_t size, const char **class_)
{
    size_t k;
    for (k = 0; k < sizeof SPECIAL / sizeof SPECIAL[0]; k++) {
        if (SPECIAL[k].place == i) {
            snprintf(buf, size, "%s", SPECIAL[k].number);
            *class_ = SPECIAL[k].class_;
            return;
        }
    }
    snprintf(buf, size, i % 7 == 0 ? "138%08d" : "+86138%08d", i);
    *class_ = "ok";
}

static char *many_numbers_request(int bad_place)
{
    size_t size = 64 * NUMBERS + 512;
    char *buf = (char *)malloc(size);
    size_t len;
    int i;
    if (buf == NULL)
        exit(2);
    len = (size_t)snprintf(buf, size, "{\"PhoneNumberSet\":[");
    for (i = 0; i < NUMBERS; i++) {
        char number[32];
        const char *class_;
        number_at(i, number, sizeof number, &class_);
        if (i == bad_place)
            snprintf(number, sizeof number, "+86 138 0000 0000");
        len += (size_t)snprintf(buf + len, size - len, "%s\"%s\"", i ? "," : "", number);
    }
    snprintf(buf + len, size - len,
             "],\"SmsSdkAppId\":\"%s\",\"SignName\":\"tcsms\",\"TemplateId\":\"2001\","
             "\"TemplateParamSet\":[\"1234\",\"5\"]}",
             APP_ID);
    return buf;
}

static void test_send_sms(const char *endpoint)
{
    tcsms_client *client = make_client(endpoint, DEMO_SECRET_KEY, ",\"timeout_ms\":10000");
    static char classes[NUMBERS + 8][64];
    static char numbers[NUMBERS + 8][64];
    char request[512];
    char *body;
    char *out = NULL;
    char *json;
    tcsms_status st;
    int i, n, in_order = 1, ids;
    if (client == NULL)
        return;

    /* One bad number: refused locally, naming its index. */
    body = many_numbers_request(17);
    st = tcsms_send_sms(client, body, &out);
    free(body);
    check_error_out("tcsms_send_sms with a bad number at place 17", st, TCSMS_STATUS_INVALID_ARGUMENT, out,
                    "ClientError.InvalidPhoneNumber", "PhoneNumberSet[17]");

    /* 450 numbers: three batches, results in input order, PARTIAL. */
    body = many_numbers_request(-1);
    st = tcsms_send_sms(client, body, &out);
    free(body);
    json = take(out);
    check(st == TCSMS_STATUS_PARTIAL, "tcsms_send_sms(450 numbers, some rejected/limited/failed) -> TCSMS_STATUS_PARTIAL (got %d)",
          (int)st);
    n = all_str(json, "Class", classes, NUMBERS + 8);
    all_str(json, "PhoneNumber", numbers, NUMBERS + 8);
    check(n == NUMBERS, "one result per number (%d)", n);
    for (i = 0; i < NUMBERS && i < n; i++) {
        char number[32];
        const char *class_;
        number_at(i, number, sizeof number, &class_);
        if (!str_eq(classes[i], class_) || strstr(numbers[i], number[0] == '+' ? number : number) == NULL) {
            if (in_order)
                note("place %d: got %s %s, want %s %s", i, numbers[i], classes[i], number, class_);
            in_order = 0;
        }
    }
    check(in_order, "every result is at its input place with the expected Class");
    ids = 0;
    if (json != NULL) {
        const char *p = strstr(json, "\"RequestIds\":[");
        for (p = p ? strchr(p, '[') : NULL; p != NULL && *p != ']'; p++)
            ids += *p == ',';
        ids += 1;
    }
    check(ids == 3, "three RequestIds: batches of 200, 200 and 49 distinct numbers (%d)", ids);
    free(json);

    /* Every number ok: TCSMS_STATUS_OK. */
    sms_request(request, sizeof request, APP_ID, "13800000001", "2001", PARAMS_DIGITS);
    st = tcsms_send_sms(client, request, &out);
    json = take(out);
    check(st == TCSMS_STATUS_OK && json != NULL && strstr(json, "\"PhoneNumber\":\"+8613800000001\"") &&
              strstr(json, "\"Class\":\"ok\""),
          "tcsms_send_sms(one ordinary number) -> OK with its result");
    free(json);

    /* Every number failed is still not OK. */
    sms_request(request, sizeof request, APP_ID, "+8619900000002", "2001", PARAMS_DIGITS);
    st = tcsms_send_sms(client, request, &out);
    json = take(out);
    check(st == TCSMS_STATUS_PARTIAL && json && strstr(json, "FailedOperation.PhoneNumberInBlacklist"),
          "tcsms_send_sms(only a blacklisted number) -> TCSMS_STATUS_PARTIAL, never OK");
    free(json);

    /* Refused as a whole: today's status and envelope. */
    sms_request(request, sizeof request, APP_ID, "+8613800000002", "9999", PARAMS_DIGITS);
    st = tcsms_send_sms(client, request, &out);
    check_error_out("tcsms_send_sms with an unknown template", st, TCSMS_STATUS_API_ERROR, out,
                    "FailedOperation.TemplateUnapprovedOrNotExist", NULL);

    /* SendMultiGlobalSms. */
    snprintf(request, sizeof request,
             "{\"SmsSdkAppId\":\"%s\",\"MultiSmsInfoSet\":[{\"PhoneNumber\":\"+12025550100\",\"TemplateId\":\"2004\"},"
             "{\"PhoneNumber\":\"+15550000012\",\"TemplateId\":\"2004\"}]}",
             APP_ID);
    st = tcsms_send_multi_global_sms(client, request, &out);
    json = take(out);
    n = all_str(json, "Class", classes, 4);
    check(st == TCSMS_STATUS_PARTIAL && n == 2 && str_eq(classes[0], "ok") && str_eq(classes[1], "limited"),
          "tcsms_send_multi_global_sms -> PARTIAL with ok, limited (status %d)", (int)st);
    free(json);

    /* NULL arguments. */
    st = tcsms_send_sms(NULL, request, &out);
    check_error_out("tcsms_send_sms(NULL client)", st, TCSMS_STATUS_NULL_ARGUMENT, out, "ClientError.NullArgument", NULL);
    st = tcsms_send_multi_global_sms(client, NULL, &out);
    check_error_out("tcsms_send_multi_global_sms(NULL request)", st, TCSMS_STATUS_NULL_ARGUMENT, out,
                    "ClientError.NullArgument", NULL);
    check(tcsms_send_sms(client, request, NULL) == TCSMS_STATUS_NULL_ARGUMENT, "tcsms_send_sms(NULL out_json)");
    check(str_eq(tcsms_status_str(TCSMS_STATUS_PARTIAL), "not every number was sent"), "tcsms_status_str(PARTIAL)");
    tcsms_client_free(client);
}

/* ------------------------------------------------------------------------------------ */
/* Rate limits: 3x DescribeSmsSignList's limit (20/s) from 8 threads, none refused.      */

#define BURST_THREADS 8
#define BURST_CALLS 60

typedef struct burst_worker {
    const tcsms_client *client;
    int calls;
    int failed;
    int limited;
} burst_worker;

static void *burst_work(void *arg)
{
    burst_worker *w = (burst_worker *)arg;
    int i;
    for (i = 0; i < w->calls; i++) {
        char *out = NULL;
        char *json;
        tcsms_status st = tcsms_call(w->client, "DescribeSmsSignList", "{\"International\":0}", &out);
        json = take(out);
        if (st != TCSMS_STATUS_OK) {
            if (w->failed++ == 0)
                note("DescribeSmsSignList failed: %s", json ? json : "(null)");
            if (json && strstr(json, "RequestLimitExceeded"))
                w->limited++;
        }
        free(json);
    }
    return NULL;
}

/* Returns how many calls the service refused with RequestLimitExceeded; *failed: any failure. */
static int burst(const tcsms_client *client, int *failed)
{
    pthread_t threads[BURST_THREADS];
    burst_worker workers[BURST_THREADS];
    int started[BURST_THREADS];
    int i, limited = 0;
    *failed = 0;
    for (i = 0; i < BURST_THREADS; i++) {
        workers[i].client = client;
        workers[i].calls = BURST_CALLS / BURST_THREADS + (i < BURST_CALLS % BURST_THREADS);
        workers[i].failed = workers[i].limited = 0;
        started[i] = pthread_create(&threads[i], NULL, burst_work, &workers[i]) == 0;
    }
    for (i = 0; i < BURST_THREADS; i++) {
        if (started[i])
            pthread_join(threads[i], NULL);
        *failed += workers[i].failed;
        limited += workers[i].limited;
    }
    return limited;
}

static void test_rate_limits(const char *endpoint)
{
    tcsms_client *limited = make_client(endpoint, DEMO_SECRET_KEY, ",\"timeout_ms\":10000,\"max_retries\":0");
    tcsms_client *unlimited =
        make_client(endpoint, DEMO_SECRET_KEY, ",\"timeout_ms\":10000,\"max_retries\":0,\"rate_limits\":{\"*\":0}");
    int failed, refused;
    long start = now_ms();
    if (limited != NULL) {
        refused = burst(limited, &failed);
        check(failed == 0, "%d DescribeSmsSignList calls (3x its 20/s) from %d threads: %d failed", BURST_CALLS,
              BURST_THREADS, failed);
        check(now_ms() - start >= 3000, "they were spread over more than 3 s (%ld ms)", now_ms() - start);
    }
    if (unlimited != NULL) {
        struct timespec second = {1, 100 * 1000000L};
        nanosleep(&second, NULL);
        refused = burst(unlimited, &failed);
        check(refused > 0, "the same burst with rate_limits {\"*\":0} is refused by the service (%d times)", refused);
    }
    tcsms_client_free(limited);
    tcsms_client_free(unlimited);
}

/* ------------------------------------------------------------------------------------ */
/* Clock skew: the client is 900 s fast against --clock-offset -900.                     */

static void test_clock_skew(const char *endpoint, const char *log_path)
{
    tcsms_client *client = make_client(endpoint, DEMO_SECRET_KEY, ",\"timeout_ms\":5000,\"max_retries\":0");
    char request[512];
    char *out = NULL;
    char *json;
    int64_t offset = 1;
    tcsms_status st;
    if (client == NULL)
        return;
    check(tcsms_client_clock_offset(client, &offset) == TCSMS_STATUS_OK && offset == 0, "clock offset starts at 0");
    sms_request(request, sizeof request, APP_ID, "+8613800000003", "2001", PARAMS_DIGITS);
    st = tcsms_send_sms(client, request, &out);
    json = take(out);
    if (!check(st == TCSMS_STATUS_OK, "a client 900 s fast: the first send succeeds (max_retries 0)"))
        note("got status %d, out_json %s", (int)st, json ? json : "(null)");
    free(json);
    st = tcsms_client_clock_offset(client, &offset);
    check(st == TCSMS_STATUS_OK && offset >= -901 && offset <= -899, "tcsms_client_clock_offset is about -900 (%lld)",
          (long long)offset);
    check(count_logged(log_path, "SendSms") == 2, "one refused request and one re-signed one reached the emulator (%d)",
          count_logged(log_path, "SendSms"));
    st = tcsms_call(client, "DescribeSmsSignList", "{\"International\":0}", &out);
    free(take(out));
    check(st == TCSMS_STATUS_OK && count_logged(log_path, "DescribeSmsSignList") == 1,
          "later calls sign with the corrected time at once");
    check(tcsms_client_clock_offset(NULL, &offset) == TCSMS_STATUS_NULL_ARGUMENT &&
              tcsms_client_clock_offset(client, NULL) == TCSMS_STATUS_NULL_ARGUMENT,
          "tcsms_client_clock_offset refuses NULL");
    tcsms_client_free(client);
    unlink(log_path);
}

/* ------------------------------------------------------------------------------------ */
/* Credential rotation while 8 threads call.                                             */

typedef struct rotation_worker {
    const tcsms_client *client;
    volatile int *stop;
    int calls;
    int failed;
} rotation_worker;

static void *rotation_work(void *arg)
{
    rotation_worker *w = (rotation_worker *)arg;
    while (!*w->stop) {
        char *out = NULL;
        tcsms_status st = tcsms_call(w->client, "DescribeSmsSignList", "{\"International\":0}", &out);
        char *json = take(out);
        if (st != TCSMS_STATUS_OK && ++w->failed == 1)
            note("call failed during rotation: %s", json ? json : "(null)");
        w->calls++;
        free(json);
    }
    return NULL;
}

static void test_rotation(const char *endpoint)
{
    tcsms_client *client =
        make_client(endpoint, DEMO_SECRET_KEY, ",\"timeout_ms\":5000,\"rate_limits\":{\"*\":0}");
    pthread_t threads[BURST_THREADS];
    rotation_worker workers[BURST_THREADS];
    int started[BURST_THREADS];
    volatile int stop = 0;
    int i, calls = 0, failed = 0, rotations_ok = 1;
    char *out = NULL;
    tcsms_status st;
    if (client == NULL)
        return;
    for (i = 0; i < BURST_THREADS; i++) {
        workers[i].client = client;
        workers[i].stop = &stop;
        workers[i].calls = workers[i].failed = 0;
        started[i] = pthread_create(&threads[i], NULL, rotation_work, &workers[i]) == 0;
    }
    for (i = 0; i < 20; i++) {
        struct timespec pause = {0, 20 * 1000000L};
        nanosleep(&pause, NULL);
        st = i % 2 == 0 ? tcsms_client_set_credentials(client, OTHER_SECRET_ID, OTHER_SECRET_KEY, NULL, &out)
                        : tcsms_client_set_credentials(client, DEMO_SECRET_ID, DEMO_SECRET_KEY, "", &out);
        rotations_ok &= st == TCSMS_STATUS_OK && out == NULL;
    }
    stop = 1;
    for (i = 0; i < BURST_THREADS; i++) {
        if (started[i])
            pthread_join(threads[i], NULL);
        calls += workers[i].calls;
        failed += workers[i].failed;
    }
    check(rotations_ok, "20 rotations with tcsms_client_set_credentials succeeded, out_json NULL");
    check(failed == 0 && calls >= BURST_THREADS, "%d calls from %d threads during the rotations: %d failed", calls,
          BURST_THREADS, failed);

    /* Later calls use the new credentials: a pair the emulator does not know is refused. */
    st = tcsms_client_set_credentials(client, "AKIDunknown0000000000000000000000000", "unknown-secret-key", NULL, &out);
    check(st == TCSMS_STATUS_OK, "set_credentials(unknown pair)");
    st = tcsms_call(client, "DescribeSmsSignList", "{\"International\":0}", &out);
    check_error_out("a call after rotating to an unknown pair", st, TCSMS_STATUS_API_ERROR, out,
                    "AuthFailure.SecretIdNotFound", NULL);
    st = tcsms_client_set_credentials(client, "", DEMO_SECRET_KEY, NULL, &out);
    check_error_out("set_credentials(empty secret_id)", st, TCSMS_STATUS_INVALID_CONFIG, out, "ClientError.InvalidConfig",
                    "secret_id");
    st = tcsms_client_set_credentials(client, DEMO_SECRET_ID, NULL, NULL, &out);
    check_error_out("set_credentials(NULL secret_key)", st, TCSMS_STATUS_NULL_ARGUMENT, out, "ClientError.NullArgument",
                    "secret_key");
    st = tcsms_client_set_credentials(client, DEMO_SECRET_ID, DEMO_SECRET_KEY, NULL, &out);
    check(st == TCSMS_STATUS_OK, "set_credentials back to a known pair");
    st = tcsms_call(client, "DescribeSmsSignList", "{\"International\":0}", &out);
    free(take(out));
    check(st == TCSMS_STATUS_OK, "calls succeed again");
    tcsms_client_free(client);
}

int main(void)
{
    emulator normal, skewed, rotating;
    char skew_log[128];
    const char *skew_args[] = {"--clock-offset", "-900", "--log", skew_log, NULL};
    static const char *const rotating_args[] = {"--rate-limit", "all=0", "--secret-id", DEMO_SECRET_ID,
                                                 "--secret-key", DEMO_SECRET_KEY, "--secret-id", OTHER_SECRET_ID,
                                                 "--secret-key", OTHER_SECRET_KEY, NULL};

    snprintf(skew_log, sizeof skew_log, "/tmp/tcsms-c-prod-%ld-skew.log", (long)getpid());
    unlink(skew_log);
    start_program("tcsms C ABI production tests (issue 11)");

    if (check(emulator_start(&normal, NULL) == 0, "emulator started")) {
        test_send_sms(normal.endpoint);
        test_rate_limits(normal.endpoint);
    }
    emulator_stop(&normal);
    if (check(emulator_start(&skewed, skew_args) == 0, "emulator --clock-offset -900 started"))
        test_clock_skew(skewed.endpoint, skew_log);
    emulator_stop(&skewed);
    if (check(emulator_start(&rotating, rotating_args) == 0, "emulator with two key pairs started"))
        test_rotation(rotating.endpoint);
    emulator_stop(&rotating);

    check(g_secret_leaks == 0, "no secret key in any of the %ld strings tcsms returned", g_strings_seen);
    check(g_invalid_json == 0, "every one of the %ld strings tcsms returned is valid JSON (%ld not)", g_strings_seen,
          g_invalid_json);
    return finish();
}
