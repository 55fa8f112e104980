/* Tests of the completion queue (tcsms_queue_new, tcsms_queue_fd, tcsms_submit,
 * tcsms_queue_next, tcsms_queue_take, tcsms_queue_free) against the emulator, driven by epoll as an
 * event loop would: many concurrent calls each matched to its answer by tag, the
 * queue-full error, time limits of queued calls, and freeing a client or the queue
 * while calls are pending. Run under valgrind by run-tests.sh (no leaks allowed).
 *
 * Environment: TCSMS_EMULATOR or TCSMS_ROOT (emulator.h), TCSMS_TEST_SLACK_MS (extra time
 * allowed for timing checks, e.g. under valgrind). */
#define _GNU_SOURCE
#include "test_helpers.h"

#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emulator.h" /* emulator processes, now_ms() */

#define DEMO "\"secret_id\":\"AKIDtcsmsdemo00000000000000000000000\",\"secret_key\":\"tcsmsdemosecretkey00000000000000\""

static long slack_ms;

static tcsms_client *client_for(const char *endpoint, const char *extra)
{
    char config[512], *out = NULL;
    tcsms_client *c = NULL;
    snprintf(config, sizeof config, "{" DEMO ",\"endpoint\":\"%s\",\"max_retries\":0%s}", endpoint, extra);
    if (tcsms_client_new(config, &c, &out) != TCSMS_STATUS_OK) {
        fprintf(stderr, "tcsms_client_new: %s\n", out ? out : "");
        tcsms_free(out);
        exit(1);
    }
    return c;
}

static tcsms_queue *queue_with(const char *options)
{
    tcsms_queue *q = NULL;
    char *out = NULL;
    tcsms_status st = tcsms_queue_new(options, &q, &out);
    check(st == TCSMS_STATUS_OK && q != NULL && out == NULL, "tcsms_queue_new succeeds with out_json NULL");
    return q;
}

static void numbered_sms_request(char *buf, size_t size, int i)
{
    snprintf(buf, size,
             "{\"PhoneNumberSet\":[\"+86136%08d\"],\"SmsSdkAppId\":\"1400000001\",\"TemplateId\":\"2001\","
             "\"SignName\":\"tcsms\",\"TemplateParamSet\":[\"1234\",\"5\"]}", i);
}

/* Records one completion in statuses[tag] and answers[tag] (or fails the test if
 * the tag is unknown or came twice). */
static void record(uint64_t tag, tcsms_status st, char *json, tcsms_status *statuses, char **answers, int size)
{
    if (tag < (uint64_t)size && answers[tag] == NULL) {
        statuses[tag] = st;
        answers[tag] = json;
    } else {
        check(0, "a completion carries a tag that was submitted once");
        tcsms_free(json);
    }
}

/* Waits on the queue's fd with epoll and takes completions until `n` arrived or
 * `within_ms` passed: one at a time with tcsms_queue_next when `batch` is 0, else
 * with tcsms_queue_take, `batch` at a time, until it returns less than `batch`.
 * Each completion's status and json go to statuses[tag] and answers[tag] (answers
 * are freed by the caller). Returns the number taken. */
static int collect(tcsms_queue *q, int n, long within_ms, tcsms_status *statuses, char **answers, int size, int batch)
{
    int ep = epoll_create1(EPOLL_CLOEXEC), got = 0;
    struct epoll_event ev = {.events = EPOLLIN};
    long deadline = now_ms() + within_ms;
    epoll_ctl(ep, EPOLL_CTL_ADD, tcsms_queue_fd(q), &ev);
    while (got < n && now_ms() < deadline) {
        struct epoll_event out;
        if (epoll_wait(ep, &out, 1, 100) != 1)
            continue;
        uint64_t tag, tags[64];
        tcsms_status st, sts[64];
        char *json, *jsons[64];
        if (batch == 0) {
            while (tcsms_queue_next(q, &tag, &st, &json) == 1) {
                got++;
                record(tag, st, json, statuses, answers, size);
            }
            continue;
        }
        int k;
        do {
            k = tcsms_queue_take(q, tags, sts, jsons, (size_t)batch);
            for (int i = 0; i < k; i++)
                record(tags[i], sts[i], jsons[i], statuses, answers, size);
            for (int i = k > 0 ? k : 0; i < batch; i++)
                if (jsons[i] != NULL || sts[i] != TCSMS_STATUS_OK)
                    check(0, "tcsms_queue_take leaves the entries past its count NULL and OK");
            got += k > 0 ? k : 0;
        } while (k == batch);
    }
    close(ep);
    return got;
}

static void free_answers(char **answers, int n)
{
    for (int i = 0; i < n; i++) {
        tcsms_free(answers[i]);
        answers[i] = NULL;
    }
}

static void test_arguments(void)
{
    tcsms_queue *q = (tcsms_queue *)1;
    char *out = NULL;
    uint64_t tag;
    tcsms_status st;
    check(tcsms_queue_new("{\"workers\":0}", &q, &out) == TCSMS_STATUS_INVALID_CONFIG && q == NULL && out &&
              strstr(out, "workers"), "workers 0 is refused, naming the option");
    tcsms_free(out);
    check(tcsms_queue_new("{\"threads\":2}", &q, &out) == TCSMS_STATUS_INVALID_CONFIG && out && strstr(out, "threads"),
          "an unknown option is refused");
    tcsms_free(out);
    check(tcsms_queue_new("[", &q, &out) == TCSMS_STATUS_INVALID_JSON, "malformed options: INVALID_JSON");
    tcsms_free(out);
    check(tcsms_queue_new(NULL, NULL, &out) == TCSMS_STATUS_NULL_ARGUMENT, "out_queue NULL: NULL_ARGUMENT");
    tcsms_free(out);
    check(tcsms_queue_fd(NULL) == -1, "tcsms_queue_fd(NULL) is -1");
    check(tcsms_queue_next(NULL, &tag, &st, &out) == -1 && out == NULL, "tcsms_queue_next(NULL queue) is -1");
    q = queue_with(NULL);
    check(tcsms_queue_next(q, &tag, &st, &out) == 0 && out == NULL && st == TCSMS_STATUS_OK,
          "an empty queue has no completion");
    check(tcsms_queue_next(q, NULL, &st, &out) == -1, "tcsms_queue_next with a NULL out-pointer is -1");
    {
        uint64_t tags[3] = {7, 7, 7};
        tcsms_status sts[3] = {9, 9, 9};
        char *jsons[3] = {(char *)1, (char *)1, (char *)1};
        check(tcsms_queue_take(NULL, tags, sts, jsons, 3) == -1, "tcsms_queue_take(NULL queue) is -1");
        check(tcsms_queue_take(q, NULL, sts, jsons, 3) == -1 && tcsms_queue_take(q, tags, NULL, jsons, 3) == -1 &&
                  tcsms_queue_take(q, tags, sts, NULL, 3) == -1,
              "tcsms_queue_take with a NULL array is -1");
        check(tcsms_queue_take(q, tags, sts, jsons, 0) == -1, "tcsms_queue_take with max 0 is -1");
        check(tcsms_queue_take(q, tags, sts, jsons, 3) == 0 && tags[2] == 0 && sts[2] == TCSMS_STATUS_OK &&
                  jsons[0] == NULL && jsons[2] == NULL,
              "tcsms_queue_take on an empty queue is 0 and clears every entry");
    }
    check(tcsms_submit(q, NULL, "SendSms", "{}", 0, 1, &out) == TCSMS_STATUS_NULL_ARGUMENT && out &&
              strstr(out, "client"), "tcsms_submit without a client: NULL_ARGUMENT");
    tcsms_free(out);
    tcsms_queue_free(q);
    tcsms_queue_free(NULL);
}

static void test_many_concurrent_calls(const char *endpoint)
{
    enum { N = 120 };
    tcsms_client *c = client_for(endpoint, "");
    tcsms_queue *q = queue_with("{\"workers\":8,\"capacity\":200}");
    tcsms_status statuses[N];
    char *answers[N] = {0}, req[256], *out = NULL;
    int submitted = 0, matched = 0;
    for (int i = 0; i < N; i++) {
        numbered_sms_request(req, sizeof req, i);
        submitted += tcsms_submit(q, c, "SendSms", req, 0, (uint64_t)i, &out) == TCSMS_STATUS_OK && out == NULL;
    }
    check(submitted == N, "120 calls submitted at once");
    check(collect(q, N, 30000 + slack_ms * 20, statuses, answers, N, 7) == N,
          "120 completions arrive, taken 7 at a time with tcsms_queue_take");
    for (int i = 0; i < N; i++) {
        char want[64];
        snprintf(want, sizeof want, "\"PhoneNumber\":\"+86136%08d\"", i);
        matched += statuses[i] == TCSMS_STATUS_OK && answers[i] && strstr(answers[i], want);
    }
    check(matched == N, "every answer is the one for the request with its tag");
    free_answers(answers, N);
    tcsms_queue_free(q);
    tcsms_client_free(c);
}

static void test_queue_full(const char *endpoint)
{
    tcsms_client *c = client_for(endpoint, "");
    tcsms_queue *q = queue_with("{\"workers\":1,\"capacity\":3}");
    tcsms_status statuses[8];
    char *answers[8] = {0}, req[256], *out = NULL;
    for (int i = 0; i < 3; i++) {
        numbered_sms_request(req, sizeof req, 200 + i);
        tcsms_submit(q, c, "SendSms", req, 0, (uint64_t)i, &out);
    }
    tcsms_status st = tcsms_submit(q, c, "SendSms", "{}", 0, 3, &out);
    check(st == TCSMS_STATUS_INVALID_ARGUMENT && out && strstr(out, "ClientError.QueueFull"),
          "a 4th call on a queue of capacity 3: INVALID_ARGUMENT, ClientError.QueueFull");
    tcsms_free(out);
    check(collect(q, 3, 20000 + slack_ms * 10, statuses, answers, 8, 0) == 3, "the 3 queued calls complete");
    check(tcsms_submit(q, c, "NoSuchAction", "{}", 0, 3, &out) == TCSMS_STATUS_OK, "room again once taken");
    check(collect(q, 1, 20000, statuses, answers, 8, 64) == 1 && statuses[3] == TCSMS_STATUS_INVALID_ARGUMENT &&
              strstr(answers[3], "ClientError.UnknownAction"),
          "an unknown action is reported by its completion");
    free_answers(answers, 8);
    tcsms_queue_free(q);
    tcsms_client_free(c);
}

static void test_time_limits(const char *slow_endpoint)
{
    enum { N = 6 };
    tcsms_client *c = client_for(slow_endpoint, ",\"timeout_ms\":60000");
    tcsms_queue *q = queue_with("{\"workers\":2}");
    tcsms_status statuses[N];
    char *answers[N] = {0}, *out = NULL;
    int timeouts = 0;
    long start = now_ms();
    for (int i = 0; i < N; i++)
        tcsms_submit(q, c, "ReportConversion", "{\"SmsSdkAppId\":\"1400000001\",\"SerialNo\":\"2433:1\"}", 300,
                     (uint64_t)i, &out);
    check(collect(q, N, 10000, statuses, answers, N, 64) == N, "6 calls limited to 300 ms on 2 workers complete");
    long took = now_ms() - start;
    for (int i = 0; i < N; i++)
        timeouts += statuses[i] == TCSMS_STATUS_TIMEOUT && strstr(answers[i], "ClientError.Timeout");
    check(timeouts == N, "each ends with TIMEOUT");
    check(took < 1500 + slack_ms, "queued calls end at their own limit (not 3 x 300 ms)");
    free_answers(answers, N);
    tcsms_queue_free(q);
    tcsms_client_free(c);
}

static void test_free_client_with_pending_calls(const char *endpoint)
{
    enum { N = 20 };
    tcsms_client *c = client_for(endpoint, "");
    tcsms_queue *q = queue_with("{\"workers\":4}");
    tcsms_status statuses[N];
    char *answers[N] = {0}, req[256], *out = NULL;
    int ok = 0;
    for (int i = 0; i < N; i++) {
        numbered_sms_request(req, sizeof req, 300 + i);
        tcsms_submit(q, c, "SendSms", req, 0, (uint64_t)i, &out);
    }
    tcsms_client_free(c);
    check(collect(q, N, 20000 + slack_ms * 10, statuses, answers, N, 0) == N,
          "calls pending when their client is freed still complete");
    for (int i = 0; i < N; i++)
        ok += statuses[i] == TCSMS_STATUS_OK;
    check(ok == N, "... successfully");
    free_answers(answers, N);
    tcsms_queue_free(q);
}

/* What an event callback's user_data points to; `freed` is set once tcsms_client_free
 * returns, when the caller may free it. */
typedef struct {
    atomic_int freed;
    atomic_long events, after_free;
} hook_data;

static void count_event(void *user_data, const char *event_json)
{
    hook_data *d = user_data;
    (void)event_json;
    atomic_fetch_add(&d->events, 1);
    if (atomic_load(&d->freed))
        atomic_fetch_add(&d->after_free, 1);
}

static void test_free_client_detaches_the_callback(const char *endpoint)
{
    enum { N = 40 };
    tcsms_client *c = client_for(endpoint, "");
    tcsms_queue *q = queue_with("{\"workers\":2}");
    hook_data *d = calloc(1, sizeof *d);
    tcsms_status statuses[N];
    char *answers[N] = {0}, req[256], *out = NULL;
    check(tcsms_client_set_event_callback(c, count_event, d, &out) == TCSMS_STATUS_OK, "callback installed");
    /* Control: a call made before the free is reported, so the count below can move. */
    numbered_sms_request(req, sizeof req, 399);
    check(tcsms_call(c, "SendSms", req, &out) == TCSMS_STATUS_OK, "a call before the free");
    tcsms_free(out);
    out = NULL;
    check(atomic_load(&d->events) >= 1, "the callback reports the call made before the free");
    for (int i = 0; i < N; i++) {
        numbered_sms_request(req, sizeof req, 400 + i);
        tcsms_submit(q, c, "SendSms", req, 0, (uint64_t)i, &out);
    }
    tcsms_client_free(c);
    atomic_store(&d->freed, 1);
    check(collect(q, N, 20000 + slack_ms * 10, statuses, answers, N, 0) == N,
          "calls pending when their client is freed complete");
    printf("# %ld events before tcsms_client_free returned, %ld after\n", atomic_load(&d->events) - atomic_load(&d->after_free),
           atomic_load(&d->after_free));
    check(atomic_load(&d->after_free) == 0, "no event callback after tcsms_client_free returned (user_data may be freed)");
    free(d);
    free_answers(answers, N);
    tcsms_queue_free(q);
}

/* A queue across fork(): the child gets a clear error, never the parent's descriptor,
 * never a hang, and frees its copy without a crash; a new queue works there; the
 * parent's queue keeps working (the child drained nothing of its descriptor). */
static void test_queue_across_fork(const char *endpoint)
{
    tcsms_client *c = client_for(endpoint, "");
    tcsms_queue *q = queue_with("{\"workers\":2}");
    tcsms_status statuses[4];
    char *answers[4] = {0}, req[256], *out = NULL;
    for (int i = 0; i < 4; i++) {
        numbered_sms_request(req, sizeof req, 500 + i);
        tcsms_submit(q, c, "SendSms", req, 0, (uint64_t)i, &out);
    }
    check(collect(q, 4, 20000 + slack_ms * 10, statuses, answers, 4, 0) == 4, "parent: calls complete before fork");
    free_answers(answers, 4);
    /* One completion left waiting: the parent's descriptor is readable across the fork. */
    numbered_sms_request(req, sizeof req, 510);
    tcsms_submit(q, c, "SendSms", req, 0, 2, &out);
    {
        struct epoll_event ev = {.events = EPOLLIN};
        int ep = epoll_create1(0);
        epoll_ctl(ep, EPOLL_CTL_ADD, tcsms_queue_fd(q), &ev);
        check(epoll_wait(ep, &ev, 1, (int)(20000 + slack_ms * 10)) == 1, "parent: a completion waits at the fork");
        close(ep);
    }
    /* The child reports through a pipe: under valgrind its exit status is valgrind's
     * (the copy of the parent's memory it inherits shows as leaked there). */
    int report[2];
    check(pipe(report) == 0, "pipe");
    pid_t child = fork();
    if (child == 0) {
        int bad = 0;
        char *err = NULL;
        alarm(30); /* a hang fails the test instead of stalling it */
        bad |= tcsms_queue_fd(q) != -1;
        bad |= (tcsms_submit(q, c, "SendSms", req, 0, 99, &err) == TCSMS_STATUS_OK) << 1;
        bad |= (err == NULL || strstr(err, "fork") == NULL) << 2;
        tcsms_free(err);
        uint64_t tag;
        tcsms_status st;
        char *json = NULL;
        bad |= (tcsms_queue_next(q, &tag, &st, &json) != 0) << 3;
        tcsms_queue_free(q);
        /* A queue made in the child works. */
        tcsms_queue *mine = NULL;
        char *o = NULL;
        bad |= (tcsms_queue_new("{\"workers\":1}", &mine, &o) != TCSMS_STATUS_OK) << 4;
        tcsms_client *cc = client_for(endpoint, "");
        numbered_sms_request(req, sizeof req, 520);
        bad |= (tcsms_submit(mine, cc, "SendSms", req, 0, 7, &o) != TCSMS_STATUS_OK) << 5;
        int got = 0;
        for (long t0 = now_ms(); !got && now_ms() - t0 < 20000 + slack_ms * 10;) {
            got = tcsms_queue_next(mine, &tag, &st, &json);
            if (!got) {
                struct timespec pause = {0, 10 * 1000 * 1000};
                nanosleep(&pause, NULL);
            }
        }
        bad |= (!got || tag != 7 || st != TCSMS_STATUS_OK) << 6;
        tcsms_free(json);
        tcsms_queue_free(mine);
        tcsms_client_free(cc);
        close(report[0]);
        ssize_t written = write(report[1], &bad, sizeof bad);
        _exit(written == (ssize_t)sizeof bad ? 0 : 2);
    }
    close(report[1]);
    int wstatus = 0, bad = -1;
    ssize_t got = read(report[0], &bad, sizeof bad);
    close(report[0]);
    check(child > 0 && waitpid(child, &wstatus, 0) == child && WIFEXITED(wstatus), "child ran and exited (no crash, no hang)");
    printf("# child result %d (bits: 1 fd, 2 submit, 4 message, 8 next, 16 new queue, 32 submit, 64 completion)\n", bad);
    check(got == (ssize_t)sizeof bad && bad == 0,
          "child: fd -1, submit refused naming fork(), next finds nothing, free does not crash, a new queue works");
    /* The parent's descriptor still reads as ready and its completion is there. */
    check(collect(q, 1, 20000 + slack_ms * 10, statuses, answers, 4, 0) == 1 && statuses[2] == TCSMS_STATUS_OK,
          "parent: the completion waiting at the fork is still signalled and taken");
    free_answers(answers, 4);
    tcsms_queue_free(q);
    tcsms_client_free(c);
}

static void test_free_queue_with_pending_calls(const char *slow_endpoint)
{
    tcsms_client *c = client_for(slow_endpoint, ",\"timeout_ms\":500");
    tcsms_queue *q = queue_with("{\"workers\":2}");
    char *out = NULL;
    for (int i = 0; i < 30; i++)
        tcsms_submit(q, c, "ReportConversion", "{\"SmsSdkAppId\":\"1400000001\",\"SerialNo\":\"2433:1\"}", 0,
                     (uint64_t)i, &out);
    long start = now_ms();
    tcsms_queue_free(q); /* 2 running calls end at 500 ms; 28 queued ones are dropped */
    check(now_ms() - start < 2500 + slack_ms, "freeing a queue waits only for its running calls");
    tcsms_client_free(c);
}

int main(void)
{
    const char *slack = getenv("TCSMS_TEST_SLACK_MS");
    static const char *const normal_args[] = {"--rate-limit", "all=0", NULL};
    static const char *const slow_args[] = {"--rate-limit", "all=0", "--fault", "slow", "--fault-delay-ms", "5000",
                                            NULL};
    emulator normal, slow;
    slack_ms = slack ? atol(slack) : 0;
    signal(SIGPIPE, SIG_IGN);
    emulator_locate();
    printf("# tcsms completion queue tests, emulator %s\n", g_emulator_path);
    test_arguments();
    if (emulator_start(&normal, normal_args) != 0 || emulator_start(&slow, slow_args) != 0) {
        check(0, "start the emulators");
        return finish();
    }
    test_many_concurrent_calls(normal.endpoint);
    test_queue_full(normal.endpoint);
    test_time_limits(slow.endpoint);
    test_free_client_with_pending_calls(normal.endpoint);
    test_free_client_detaches_the_callback(normal.endpoint);
    test_queue_across_fork(normal.endpoint);
    test_free_queue_with_pending_calls(slow.endpoint);
    emulator_stop(&normal);
    emulator_stop(&slow);
    return finish();
}
