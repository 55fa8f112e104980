/* The C peers of bench/run.sh: N threads making sequential ReportConversion calls for a
 * few seconds against the fixed-response server; prints one line
 *     calls=N seconds=S rate=R cpu_us=U
 * where rate is calls/s and cpu_us the process's user+system CPU time per call
 * (getrusage), both over the measured interval only.
 *
 *   bench plain   THREADS SECONDS PORT   blocking sockets, one connection per thread,
 *                                        a prebuilt request: the floor for a blocking client
 *   bench tcsms   THREADS SECONDS PORT   one tcsms client shared by the threads
 *   bench async   THREADS SECONDS PORT   tcsms_submit on a completion queue: THREADS calls
 *                                        in flight, collected from one thread with poll()
 *   bench callgrind CALLS 0 PORT         CALLS sequential tcsms calls with callgrind's
 *                                        instrumentation on only around them
 *   bench callgrind-call CALLS 0 PORT    the same with tcsms_call and the request's JSON (the
 *                                        generic call, as the completion queue takes it)
 *   bench callgrind-async CALLS 0 PORT   the same through the completion queue (1 worker)
 *   bench cold    THREADS SECONDS PORT   a new client per call: each thread creates a
 *                                        client, makes one call and frees it, in a loop
 *   bench sim-threads THREADS SECONDS PORT  what-if for issue 21 (not a tcsms row): plain
 *                                        blocking threads that also make tcsms's per-call
 *                                        syscalls (the idle check, a recv with MSG_PEEK,
 *                                        before the request; TCP_QUICKACK after the answer)
 *                                        and spin TCSMS_SIM_WORK_US µs of CPU per call in
 *                                        place of tcsms's own work (default 6; bench/run.sh
 *                                        sets what tcsms C cost beyond the syscalls);
 *                                        TCSMS_SIM_CHECKS: 1 only the idle check, 2 only
 *                                        the quick ACK, 0 neither (default 3, both);
 *                                        TCSMS_SIM_REGISTER=1: sim-loop adds and removes
 *                                        each call's connection from epoll, 2: re-arms it
 *                                        (EPOLLONESHOT, EPOLL_CTL_MOD) at each send
 *   bench sim-loop-thread THREADS SECONDS PORT  the loop on a thread of its own, the calls
 *                                        handed over from and back to the caller's thread
 *                                        (two lists, an eventfd each way): a library's
 *                                        I/O thread behind a completion queue
 *   bench sim-loop THREADS SECONDS PORT  the same calls, THREADS in flight, multiplexed by
 *                                        one thread with epoll: the ceiling of an
 *                                        event-loop completion queue
 *
 * tcsms clients call http://127.0.0.1:PORT, or the endpoint in TCSMS_BENCH_ENDPOINT
 * (e.g. https://127.0.0.1:PORT) trusting the roots of TCSMS_BENCH_CA_FILE (`ca_file`)
 * when they are set (bench/run.sh --tls).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <valgrind/callgrind.h>

#include "peer.h"
#include "tcsms.h"

static int port;
static atomic_int stop;
static atomic_long total;
static tcsms_client *client;

static void die(const char *what) {
    perror(what);
    exit(1);
}

/* ---- plain: a prebuilt request of the size tcsms sends, one connection per thread ---- */

static char request[2048];
static size_t request_len;

static void build_request(void) { request_len = prebuilt_request(request, sizeof request, port); }

static int plain_connect(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) die("connect");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* One round trip: write the request, read the head and Content-Length bytes of body. */
static void plain_call(int fd) {
    char buf[4096];
    if (write(fd, request, request_len) != (ssize_t)request_len) die("write");
    size_t got = 0, need = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, sizeof buf - got);
        if (n <= 0) die("read");
        got += (size_t)n;
        if (!need) need = answer_length(buf, got);
        if (need && got >= need) return;
    }
}

static void sim_before(int fd);
static void sim_after(int fd);

/* One connection's calls until told to stop; with `sim`, tcsms's extra syscalls and CPU
   around each (the sim rows below). */
static void call_until_stopped(int sim) {
    int fd = plain_connect();
    long n = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        if (sim) sim_before(fd);
        plain_call(fd);
        if (sim) sim_after(fd);
        n++;
    }
    close(fd);
    atomic_fetch_add(&total, n);
}

static void *plain_thread(void *arg) {
    (void)arg;
    call_until_stopped(0);
    return NULL;
}

/* ---- sim: plain calls with tcsms's per-call syscalls and CPU, blocking or one epoll loop ---- */

static double work_us = 6.0;
static int checks = 3; /* TCSMS_SIM_CHECKS: 1 the idle check, 2 the quick ACK, 3 both, 0 neither */
/* TCSMS_SIM_REGISTER=1: sim-loop registers each call's connection with epoll when it
   sends and removes it when the answer is in (a connection that goes back to a pool
   between calls), instead of keeping the connections registered; 2: registered once
   with EPOLLONESHOT and re-armed (EPOLL_CTL_MOD) at each send. */
static int register_per_call;

static double iterations_per_us;

/* A fixed amount of CPU work: `n` rounds of xorshift, which the compiler cannot fold. */
static uint64_t churn(long n) {
    static volatile uint64_t seed = 88172645463325252ull;
    uint64_t x = seed;
    for (long i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

static volatile uint64_t sink;

/* Busy for about `us` µs of CPU: a counted amount of work, so that a thread preempted in
   the middle still does all of it (a spin on the clock would count the time other
   threads ran, one on the thread's CPU clock adds a syscall per turn). */
static void spin(double us) {
    if (us > 0) sink = churn((long)(us * iterations_per_us));
}

static void sim_options(void) {
    const char *w = getenv("TCSMS_SIM_WORK_US");
    if (w) work_us = atof(w);
    const char *c = getenv("TCSMS_SIM_CHECKS");
    if (c) checks = atoi(c);
    const char *r = getenv("TCSMS_SIM_REGISTER");
    if (r) register_per_call = atoi(r);
    /* Calibrated in pieces of the size used (one long run ran at another speed). */
    double best = 1e9;
    for (int round = 0; round < 5; round++) {
        double t0 = now();
        for (int i = 0; i < 2000; i++) sink = churn(2000);
        double t = now() - t0;
        if (t < best) best = t;
    }
    iterations_per_us = 2000.0 * 2000.0 / (best * 1e6);
}

/* The idle check tcsms makes before reusing a connection: nothing may wait to be read. */
static void idle_check(int fd) {
    if (!(checks & 1)) return;
    char c;
    if (recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) != -1) { fprintf(stderr, "sim: bytes on an idle connection\n"); exit(1); }
}

static void quick_ack(int fd) {
    if (!(checks & 2)) return;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

/* Before a request: the idle check. */
static void sim_before(int fd) { idle_check(fd); }

/* After its answer: the quick ACK, then tcsms's CPU. */
static void sim_after(int fd) {
    quick_ack(fd);
    spin(work_us);
}

static void *sim_thread(void *arg) {
    (void)arg;
    call_until_stopped(1);
    return NULL;
}

/* Connections for a loop, each registered with `ep` (its index as the event's data). */
static void loop_connections(int ep, int *fds, int count, uint32_t flags) {
    for (int i = 0; i < count; i++) {
        fds[i] = plain_connect();
        struct epoll_event e = {.events = EPOLLIN | flags, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &e);
    }
}

/* Reads what connection `fd` has into `buf` (`*got` bytes so far); true when that made
   its answer whole, after which it has had sim_after and `*got` starts again. */
static int answer_in(int fd, char *buf, size_t size, size_t *got) {
    ssize_t r = read(fd, buf + *got, size - *got);
    if (r <= 0) die("read");
    *got += (size_t)r;
    size_t need = answer_length(buf, *got);
    if (!need || *got < need) return 0;
    *got = 0;
    sim_after(fd);
    return 1;
}

/* Sends the request on `fd`, after the idle check. */
static void send_request(int fd) {
    sim_before(fd);
    if (write(fd, request, request_len) != (ssize_t)request_len) die("write");
}

static long run_sim_loop(int inflight, double seconds) {
    int ep = epoll_create1(0);
    int fds[256];
    size_t got[256] = {0};
    static char bufs[256][4096];
    loop_connections(ep, fds, inflight, register_per_call == 2 ? EPOLLONESHOT : 0);
    for (int i = 0; i < inflight; i++) send_request(fds[i]);
    long n = 0;
    double end = now() + seconds;
    struct epoll_event ev[64];
    while (now() < end) {
        int k = epoll_wait(ep, ev, 64, 100);
        for (int j = 0; j < k; j++) {
            int i = (int)ev[j].data.u32;
            if (!answer_in(fds[i], bufs[i], sizeof bufs[i], &got[i])) continue;
            if (register_per_call == 1) epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
            n++;
            send_request(fds[i]);
            if (register_per_call == 1) {
                struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
                epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &e);
            } else if (register_per_call == 2) {
                struct epoll_event e = {.events = EPOLLIN | EPOLLONESHOT, .data.u32 = (uint32_t)i};
                epoll_ctl(ep, EPOLL_CTL_MOD, fds[i], &e);
            }
        }
    }
    for (int i = 0; i < inflight; i++) close(fds[i]);
    close(ep);
    return n;
}

/* sim-loop-thread: the same loop on a thread of its own, as a library's I/O thread would
   be, with the calls handed over from and back to the caller's thread: submissions and
   completions go through two lists under one mutex, and an eventfd each way is written
   once per batch (only while the other side may sleep). */

static struct {
    pthread_mutex_t lock;
    int submitted[256], nsubmitted; /* connection indices to send on */
    int done[256], ndone;           /* connection indices whose answer is in */
    int to_loop, to_caller;         /* eventfds */
    atomic_int loop_waiting, caller_waiting;
    int inflight;
} handover = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Moves the entries of one of the hand-over lists into `out`, under the lock; returns
   how many. */
static int take_all(int *list, int *count, int *out) {
    pthread_mutex_lock(&handover.lock);
    int n = *count;
    memcpy(out, list, sizeof(int) * (size_t)n);
    *count = 0;
    pthread_mutex_unlock(&handover.lock);
    return n;
}

static void signal_fd(int fd) {
    uint64_t one = 1;
    if (write(fd, &one, sizeof one) != sizeof one) die("eventfd write");
}

static void drain_fd(int fd) {
    uint64_t v;
    if (read(fd, &v, sizeof v) < 0) { /* EAGAIN: nothing to clear */ }
}

static void *sim_loop_thread(void *arg) {
    (void)arg;
    int ep = epoll_create1(0);
    int fds[256];
    size_t got[256] = {0};
    static char bufs[256][4096];
    struct epoll_event w = {.events = EPOLLIN, .data.u32 = 256};
    epoll_ctl(ep, EPOLL_CTL_ADD, handover.to_loop, &w);
    loop_connections(ep, fds, handover.inflight, 0);
    struct epoll_event ev[64];
    while (!atomic_load(&stop)) {
        /* Says it may sleep, then looks: a submission queued before the flag was seen
           is sent now, one after it writes the eventfd. */
        atomic_store(&handover.loop_waiting, 1);
        int todo[256];
        int n = take_all(handover.submitted, &handover.nsubmitted, todo);
        for (int t = 0; t < n; t++) send_request(fds[todo[t]]);
        int k = epoll_wait(ep, ev, 64, n ? 0 : 100);
        atomic_store(&handover.loop_waiting, 0);
        int finished = 0;
        for (int j = 0; j < k; j++) {
            int i = (int)ev[j].data.u32;
            if (i == 256) {
                drain_fd(handover.to_loop);
                continue;
            }
            if (!answer_in(fds[i], bufs[i], sizeof bufs[i], &got[i])) continue;
            pthread_mutex_lock(&handover.lock);
            handover.done[handover.ndone++] = i;
            pthread_mutex_unlock(&handover.lock);
            finished++;
        }
        if (finished && atomic_load(&handover.caller_waiting)) signal_fd(handover.to_caller);
    }
    for (int i = 0; i < handover.inflight; i++) close(fds[i]);
    close(ep);
    return NULL;
}

static long run_sim_loop_thread(int inflight, double seconds) {
    handover.inflight = inflight;
    handover.to_loop = eventfd(0, EFD_NONBLOCK);
    handover.to_caller = eventfd(0, EFD_NONBLOCK);
    pthread_mutex_lock(&handover.lock);
    for (int i = 0; i < inflight; i++) handover.submitted[i] = i;
    handover.nsubmitted = inflight;
    pthread_mutex_unlock(&handover.lock);
    pthread_t loop;
    pthread_create(&loop, NULL, sim_loop_thread, NULL);
    signal_fd(handover.to_loop);
    long n = 0;
    double end = now() + seconds;
    struct pollfd p = {.fd = handover.to_caller, .events = POLLIN};
    while (now() < end) {
        int taken[256];
        int k = take_all(handover.done, &handover.ndone, taken);
        if (k == 0) {
            atomic_store(&handover.caller_waiting, 1);
            /* Looked again after saying so: a completion queued before it is not missed. */
            pthread_mutex_lock(&handover.lock);
            int empty = handover.ndone == 0;
            pthread_mutex_unlock(&handover.lock);
            if (empty) poll(&p, 1, 100);
            atomic_store(&handover.caller_waiting, 0);
            drain_fd(handover.to_caller);
            continue;
        }
        n += k;
        pthread_mutex_lock(&handover.lock);
        memcpy(handover.submitted + handover.nsubmitted, taken, sizeof(int) * (size_t)k);
        handover.nsubmitted += k;
        pthread_mutex_unlock(&handover.lock);
        if (atomic_load(&handover.loop_waiting)) signal_fd(handover.to_loop);
    }
    atomic_store(&stop, 1);
    pthread_join(loop, NULL);
    return n;
}

/* ---- tcsms ---- */

static void tcsms_once(void) {
    char *out = NULL;
    tcsms_status st = tcsms_report_conversion(client, APP, SERIAL, 1700000000, &out);
    if (st != TCSMS_STATUS_OK) { fprintf(stderr, "tcsms: %d %s\n", st, out ? out : ""); exit(1); }
    tcsms_free(out);
}

/* The same call through the generic entry point, with the request's JSON. */
static void tcsms_generic_once(void) {
    char *out = NULL;
    tcsms_status st = tcsms_call(client, "ReportConversion", BODY, &out);
    if (st != TCSMS_STATUS_OK) { fprintf(stderr, "tcsms_call: %d %s\n", st, out ? out : ""); exit(1); }
    tcsms_free(out);
}

static void *tcsms_thread(void *arg) {
    (void)arg;
    long n = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        tcsms_once();
        n++;
    }
    atomic_fetch_add(&total, n);
    return NULL;
}

/* ---- async: THREADS calls in flight on a completion queue, one thread driving it ---- */

static tcsms_queue *queue;

static void submit_one(uint64_t tag) {
    char *out = NULL;
    tcsms_status st = tcsms_submit(queue, client, "ReportConversion", BODY, 0, tag, &out);
    if (st != TCSMS_STATUS_OK) { fprintf(stderr, "tcsms_submit: %d %s\n", st, out ? out : ""); exit(1); }
}

/* Takes what has finished (tcsms_queue_take, up to 64 at a time); resubmits unless
   stopping. Returns the number taken. */
static long drain(int resubmit) {
    enum { BATCH = 64 };
    long n = 0;
    uint64_t tags[BATCH];
    tcsms_status st[BATCH];
    char *out[BATCH];
    int got;
    do {
        got = tcsms_queue_take(queue, tags, st, out, BATCH);
        for (int i = 0; i < got; i++) {
            if (st[i] != TCSMS_STATUS_OK) { fprintf(stderr, "completion: %d %s\n", st[i], out[i] ? out[i] : ""); exit(1); }
            tcsms_free(out[i]);
            if (resubmit) submit_one(tags[i]);
        }
        n += got > 0 ? got : 0;
    } while (got == BATCH);
    return n;
}

static long run_async(int inflight, double seconds) {
    struct pollfd p = {.fd = tcsms_queue_fd(queue), .events = POLLIN};
    long done = 0, outstanding = inflight;
    for (int i = 0; i < inflight; i++) submit_one((uint64_t)i);
    double end = now() + seconds;
    while (now() < end) {
        if (poll(&p, 1, 100) == 1) done += drain(1);
    }
    while (outstanding > 0) {
        poll(&p, 1, 100);
        long n = drain(0);
        done += n;
        outstanding -= n;
    }
    return done;
}

/* N calls one after the other through the queue: submit, poll, take (as an event loop
   does: it takes when the fd says so, not before). */
static long run_async_calls(long n) {
    struct pollfd p = {.fd = tcsms_queue_fd(queue), .events = POLLIN};
    for (long i = 0; i < n; i++) {
        submit_one((uint64_t)i);
        do poll(&p, 1, 1000);
        while (drain(0) == 0);
    }
    return n;
}

static char config[2048];

/* The configuration of every tcsms client of the run, chosen once. */
static void choose_config(void) {
    char endpoint[512], ca[1100] = "";
    const char *e = getenv("TCSMS_BENCH_ENDPOINT"), *ca_file = getenv("TCSMS_BENCH_CA_FILE");
    if (e && *e)
        snprintf(endpoint, sizeof endpoint, "%s", e);
    else
        snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", port);
    if (ca_file && *ca_file) snprintf(ca, sizeof ca, ",\"ca_file\":\"%s\"", ca_file);
    /* The rate limit off where the library has one, no retries; TCSMS_BENCH_CONFIG_EXTRA
       (members to add, e.g. the limiter rows' rate_limits and rate_limit_store) instead. */
    const char *extras[] = {",\"rate_limits\":{\"*\":0}", ""};
    if (getenv("TCSMS_BENCH_CONFIG_EXTRA")) extras[0] = extras[1] = getenv("TCSMS_BENCH_CONFIG_EXTRA");
    for (int i = 0; i < 2; i++) {
        snprintf(config, sizeof config,
                 "{\"secret_id\":\"AKIDbench000000000000000000000000000\",\"secret_key\":\"benchsecretkey0000000000000000000\","
                 "\"endpoint\":\"%s\",\"max_retries\":0%s%s}", endpoint, ca, extras[i]);
        tcsms_client *c = NULL;
        char *out = NULL;
        if (tcsms_client_new(config, &c, &out) == TCSMS_STATUS_OK) {
            tcsms_client_free(c);
            return;
        }
        if (i == 1) fprintf(stderr, "tcsms_client_new: %s\n", out ? out : "?");
        tcsms_free(out);
    }
    exit(1);
}

static tcsms_client *make_client(void) {
    tcsms_client *c = NULL;
    char *out = NULL;
    if (tcsms_client_new(config, &c, &out) != TCSMS_STATUS_OK) {
        fprintf(stderr, "tcsms_client_new: %s\n", out ? out : "?");
        exit(1);
    }
    return c;
}

static void new_client(void) { client = make_client(); }

/* ---- cold: a new client per call ---- */

static void cold_once(void) {
    char *out = NULL;
    tcsms_client *c = make_client();
    tcsms_status st = tcsms_report_conversion(c, APP, SERIAL, 1700000000, &out);
    if (st != TCSMS_STATUS_OK) { fprintf(stderr, "tcsms: %d %s\n", st, out ? out : ""); exit(1); }
    tcsms_free(out);
    tcsms_client_free(c);
}

static void *cold_thread(void *arg) {
    (void)arg;
    long n = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        cold_once();
        n++;
    }
    atomic_fetch_add(&total, n);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: bench plain|tcsms|async|cold|sim-threads|sim-loop|sim-loop-thread|callgrind|callgrind-call|callgrind-async THREADS|CALLS SECONDS PORT\n");
        return 2;
    }
    const char *mode = argv[1];
    int threads = atoi(argv[2]);
    double seconds = atof(argv[3]);
    port = atoi(argv[4]);
    build_request();
    if (strcmp(mode, "plain") != 0 && strncmp(mode, "sim-", 4) != 0) choose_config();

    if (strncmp(mode, "callgrind", 9) == 0) {
        int queued = strcmp(mode, "callgrind-async") == 0;
        void (*once)(void) = strcmp(mode, "callgrind-call") == 0 ? tcsms_generic_once : tcsms_once;
        char *out = NULL;
        new_client();
        if (queued && tcsms_queue_new("{\"workers\":1}", &queue, &out) != TCSMS_STATUS_OK) return 1;
        for (int i = 0; i < 50; i++) /* connection, daily key, DNS cache, worker thread */
            queued ? (void)run_async_calls(1) : once();
        CALLGRIND_ZERO_STATS;
        CALLGRIND_START_INSTRUMENTATION;
        if (queued)
            run_async_calls(threads);
        else
            for (int i = 0; i < threads; i++) once();
        CALLGRIND_STOP_INSTRUMENTATION;
        if (queued) tcsms_queue_free(queue);
        CALLGRIND_DUMP_STATS_AT("calls");
        tcsms_client_free(client);
        printf("calls=%d\n", threads);
        return 0;
    }

    if (strncmp(mode, "sim-loop", 8) == 0) {
        sim_options();
        int inflight = threads < 255 ? threads : 255;
        double c0 = cpu(), t0 = now();
        long n = strcmp(mode, "sim-loop-thread") == 0 ? run_sim_loop_thread(inflight, seconds)
                                                      : run_sim_loop(inflight, seconds);
        report(n, now() - t0, cpu() - c0);
        return 0;
    }

    if (strcmp(mode, "async") == 0) {
        char opts[64], *out = NULL;
        const char *workers = getenv("TCSMS_BENCH_WORKERS"); /* default: one per call in flight */
        snprintf(opts, sizeof opts, "{\"workers\":%d}", workers ? atoi(workers) : threads);
        new_client();
        if (tcsms_queue_new(opts, &queue, &out) != TCSMS_STATUS_OK) { fprintf(stderr, "%s\n", out); return 1; }
        run_async(threads, 0.2); /* warm-up: workers, connections */
        double c0 = cpu(), t0 = now();
        long n = run_async(threads, seconds);
        report(n, now() - t0, cpu() - c0);
        tcsms_queue_free(queue);
        tcsms_client_free(client);
        return 0;
    }

    void *(*body)(void *) = NULL;
    if (strcmp(mode, "plain") == 0) {
        body = plain_thread;
    } else if (strcmp(mode, "sim-threads") == 0) {
        sim_options();
        body = sim_thread;
    } else if (strcmp(mode, "tcsms") == 0) {
        new_client();
        for (int i = 0; i < 200; i++) tcsms_once();
        body = tcsms_thread;
    } else if (strcmp(mode, "cold") == 0) {
        for (int i = 0; i < 5; i++) cold_once(); /* the process's first client pays the roots */
        body = cold_thread;
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    pthread_t tid[256];
    if (threads < 1 || threads > 256) return 2;
    double c0 = cpu(), t0 = now();
    for (int i = 0; i < threads; i++) pthread_create(&tid[i], NULL, body, NULL);
    struct timespec d = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
    nanosleep(&d, NULL);
    atomic_store(&stop, 1);
    for (int i = 0; i < threads; i++) pthread_join(tid[i], NULL);
    double t = now() - t0, c = cpu() - c0;
    report(atomic_load(&total), t, c);
    if (client) tcsms_client_free(client);
    return 0;
}
