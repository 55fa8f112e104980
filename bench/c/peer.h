/* What the C peers of bench/run.sh share (bench.c, tls_plain.c): the clock, the CPU
 * time, the result line, the prebuilt request and the fixed answer's length. */
#ifndef TCSMS_BENCH_PEER_H
#define TCSMS_BENCH_PEER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define APP "1400000001"
#define SERIAL "2433:1045710669157053657849499619"
#define BODY "{\"SmsSdkAppId\":\"" APP "\",\"SerialNo\":\"" SERIAL "\",\"ConversionTime\":1700000000}"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The process's user + system CPU time. */
static double cpu(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* The line every timed peer prints: N calls in T seconds, with C seconds of CPU. */
static void report(long n, double t, double c) {
    printf("calls=%ld seconds=%.3f rate=%.0f cpu_us=%.2f\n", n, t, n / t, 1e6 * c / (double)n);
}

/* A request of the size tcsms sends (a signature of the right length, not a valid one:
   nginx does not check it), into `out`; returns its length. */
static size_t prebuilt_request(char *out, size_t size, int port) {
    return (size_t)snprintf(out, size,
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
        "X-TC-Action: ReportConversion\r\nX-TC-Version: 2021-01-11\r\nX-TC-Region: ap-guangzhou\r\n"
        "X-TC-Timestamp: 1700000000\r\nX-TC-Language: en-US\r\nX-TC-RequestClient: tcsms-bench\r\n"
        "Authorization: TC3-HMAC-SHA256 Credential=AKIDbench000000000000000000000000000/2023-11-14/sms/tc3_request, "
        "SignedHeaders=content-type;host;x-tc-action, "
        "Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n"
        "Content-Length: %zu\r\n\r\n%s", port, strlen(BODY), BODY);
}

/* The whole length of the fixed answer whose first `got` bytes are in `buf` (its head and
   Content-Length bytes of body), or 0 while its head is incomplete. */
static size_t answer_length(const char *buf, size_t got) {
    const char *end = memmem(buf, got, "\r\n\r\n", 4);
    if (!end) return 0;
    const char *cl = memmem(buf, (size_t)(end - buf), "Content-Length: ", 16);
    if (!cl) {
        fprintf(stderr, "bench: an answer without Content-Length\n");
        exit(1);
    }
    return (size_t)(end + 4 - buf) + strtoul(cl + 16, NULL, 10);
}

#endif
