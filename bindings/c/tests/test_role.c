/*
 * C ABI tests of credentials from a role, against the emulator: a client configured only
 * with credential_source "cvm_role" sends and reports conversions across several expiries
 * of 2-second keys; an OIDC client (web identity token file) sends; a machine without a
 * metadata service gets ClientError.CredentialsUnavailable at once. Every `credentials`
 * event is checked to be JSON without the token or a key. Run under valgrind by
 * run-tests.sh.
 */
#include "test_helpers.h"

#define WEB_TOKEN "eyJctestwebidentitytoken"
#define ROLE_ARN "qcs::cam::uin/100000000001:roleName/c-test"

static pthread_mutex_t g_events_lock = PTHREAD_MUTEX_INITIALIZER;
static long g_credentials_ok;
static long g_credentials_failed;
static long g_role_event_leaks;

/* Events of the refresh arrive on the library's refresh thread: counted under a lock. */
static void on_event(void *user_data, const char *event_json)
{
    (void)user_data;
    pthread_mutex_lock(&g_events_lock);
    if (!is_json(event_json) || strstr(event_json, WEB_TOKEN) != NULL || strstr(event_json, "TmpSecretKey") != NULL ||
        strstr(event_json, "\"Token\"") != NULL)
        g_role_event_leaks++;
    if (strstr(event_json, "\"event\":\"credentials\"") != NULL) {
        if (strstr(event_json, "\"outcome\":\"ok\"") != NULL && strstr(event_json, "\"source\":\"cvm_role\"") != NULL)
            g_credentials_ok++;
        else
            g_credentials_failed++;
    }
    pthread_mutex_unlock(&g_events_lock);
}

static tcsms_client *role_client(const char *config)
{
    tcsms_client *client = NULL;
    char *out = NULL;
    tcsms_status st = tcsms_client_new(config, &client, &out);
    char *json = take(out);
    if (!check(st == TCSMS_STATUS_OK && client != NULL, "tcsms_client_new(%s)", config))
        note("got status %d, out_json %s", (int)st, json ? json : "(null)");
    free(json);
    return client;
}

static void test_cvm_role_across_expiries(const char *endpoint)
{
    char config[1024];
    tcsms_client *client;
    long until;
    int calls = 0, failures = 0, i = 0;
    snprintf(config, sizeof config,
             "{\"endpoint\":\"%s\",\"metadata_endpoint\":\"%s\",\"credential_source\":\"cvm_role\","
             "\"rate_limits\":{\"*\":0},\"timeout_ms\":10000}",
             endpoint, endpoint);
    client = role_client(config);
    if (client == NULL)
        return;
    {
        char *out = NULL;
        tcsms_status st = tcsms_client_set_event_callback(client, on_event, NULL, &out);
        free(take(out));
        check(st == TCSMS_STATUS_OK, "event callback installed");
    }
    until = now_ms() + 5500;
    while (now_ms() < until) {
        char phone[32];
        char *serial;
        snprintf(phone, sizeof phone, "+86139%08d", ++i);
        serial = send_one(client, phone, "2001", PARAMS_DIGITS, 0, "cvm_role");
        calls++;
        if (serial == NULL) {
            failures++;
            continue;
        }
        if (!report_one(client, serial, 0, "cvm_role"))
            failures++;
        calls++;
        free(serial);
    }
    check(failures == 0 && calls > 4, "cvm_role: %d calls over 5.5 s of 2-second keys, %d failed", calls, failures);
    pthread_mutex_lock(&g_events_lock);
    check(g_credentials_ok >= 3 && g_credentials_failed == 0,
          "cvm_role: the keys were fetched and refreshed (%ld credentials events ok, %ld failed)", g_credentials_ok,
          g_credentials_failed);
    pthread_mutex_unlock(&g_events_lock);
    /* Fixed keys cannot be set on a client that refreshes its own. */
    {
        char *out = NULL;
        tcsms_status st = tcsms_client_set_credentials(client, DEMO_SECRET_ID, DEMO_SECRET_KEY, NULL, &out);
        char *json = take(out);
        check_error("tcsms_client_set_credentials on a role client", st, TCSMS_STATUS_INVALID_ARGUMENT, json,
                    "ClientError.InvalidArgument", "refreshes its own credentials");
        free(json);
    }
    tcsms_client_free(client);
}

static void test_oidc(const char *endpoint, const char *token_file)
{
    char config[1024];
    tcsms_client *client;
    char *serial;
    snprintf(config, sizeof config,
             "{\"endpoint\":\"%s\",\"sts_endpoint\":\"%s\",\"credential_source\":\"oidc\","
             "\"oidc_provider_id\":\"OIDC\",\"oidc_token_file\":\"%s\",\"role_arn\":\"" ROLE_ARN "\","
             "\"role_session_name\":\"c-test\",\"role_duration_seconds\":900}",
             endpoint, endpoint, token_file);
    client = role_client(config);
    if (client == NULL)
        return;
    serial = send_one(client, "+8613900000002", "2001", PARAMS_DIGITS, 1, "oidc");
    if (serial != NULL)
        report_one(client, serial, 1, "oidc");
    free(serial);
    tcsms_client_free(client);
}

static void test_no_metadata_service(const char *endpoint)
{
    char config[512];
    tcsms_client *client;
    char *out = NULL;
    char *json;
    long started;
    tcsms_status st;
    snprintf(config, sizeof config,
             "{\"endpoint\":\"%s\",\"credential_source\":\"cvm_role\",\"metadata_endpoint\":\"http://127.0.0.1:1\"}",
             endpoint);
    client = role_client(config);
    if (client == NULL)
        return;
    started = now_ms();
    st = tcsms_call(client, "DescribeSmsSignList", "{\"International\":0}", &out);
    json = take(out);
    check_error("no metadata service", st, TCSMS_STATUS_NETWORK, json, "ClientError.CredentialsUnavailable",
                "metadata service http://127.0.0.1:1/");
    check(now_ms() - started < 2000 + g_slack_ms, "no metadata service: the call failed within 2 s");
    free(json);
    tcsms_client_free(client);
}

int main(void)
{
    emulator emu;
    char token_file[] = "/tmp/tcsms-c-role-XXXXXX";
    int fd = mkstemp(token_file);
    const char *args[] = {"--rate-limit", "all=0", "--cvm-role", "c-role", "--temp-credential-lifetime", "2",
                          "--web-identity-token-file", token_file, NULL};

    const char *slack = getenv("TCSMS_TEST_SLACK_MS");
    g_slack_ms = slack != NULL ? atol(slack) : 0;
    start_program("tcsms C ABI credentials from a role");
    if (!check(fd >= 0 && write(fd, WEB_TOKEN "\n", strlen(WEB_TOKEN) + 1) == (ssize_t)(strlen(WEB_TOKEN) + 1),
               "token file written"))
        return 1;
    close(fd);
    if (check(emulator_start(&emu, args) == 0, "emulator --cvm-role c-role --temp-credential-lifetime 2 started")) {
        test_cvm_role_across_expiries(emu.endpoint);
        test_oidc(emu.endpoint, token_file);
        test_no_metadata_service(emu.endpoint);
    }
    emulator_stop(&emu);
    unlink(token_file);
    check(g_role_event_leaks == 0, "no event is invalid JSON or holds the token or a key");
    check(g_secret_leaks == 0, "no secret key in any of the %ld strings tcsms returned", g_strings_seen);
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed == 0 ? 0 : 1;
}
