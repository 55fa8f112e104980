/* The plain blocking TLS peer of bench/run.sh --tls (issue 21): N threads, each with one
 * keep-alive TLS 1.3 connection (OpenSSL, verifying the server against CA_FILE), sending
 * a prebuilt request of tcsms's size and reading the answer, for SECONDS; prints
 *     calls=N seconds=S rate=R cpu_us=U
 * like bench/c/bench.c. No signing, no checks, no library: the most any client made of
 * blocking threads can reach on this machine, to set beside wrk's event loop.
 *
 *   tls_plain THREADS SECONDS PORT CA_FILE
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "peer.h"

static int port;
static SSL_CTX *ctx;
static char request[2048];
static size_t request_len;
static atomic_int stop;
static atomic_long total;

static void fail(const char *what) {
    fprintf(stderr, "tls_plain: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

static SSL *tls_connect(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) fail("connect");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    SSL *ssl = SSL_new(ctx);
    /* The certificate must name 127.0.0.1 (bench/tls.sh issues it for that address). */
    if (!ssl || !SSL_set_fd(ssl, fd) || !X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1"))
        fail("SSL_new");
    if (SSL_connect(ssl) != 1) fail("handshake");
    return ssl;
}

/* One round trip: the request, then the head and Content-Length bytes of body. */
static void call(SSL *ssl) {
    char buf[4096];
    if (SSL_write(ssl, request, (int)request_len) != (int)request_len) fail("write");
    size_t got = 0, need = 0;
    for (;;) {
        int n = SSL_read(ssl, buf + got, (int)(sizeof buf - got));
        if (n <= 0) fail("read");
        got += (size_t)n;
        if (!need) need = answer_length(buf, got);
        if (need && got >= need) return;
    }
}

static void *thread(void *arg) {
    (void)arg;
    SSL *ssl = tls_connect();
    long n = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        call(ssl);
        n++;
    }
    atomic_fetch_add(&total, n);
    int fd = SSL_get_fd(ssl);
    SSL_free(ssl);
    close(fd);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: tls_plain THREADS SECONDS PORT CA_FILE\n");
        return 2;
    }
    int threads = atoi(argv[1]);
    double seconds = atof(argv[2]);
    port = atoi(argv[3]);
    if (threads < 1 || threads > 256) return 2;
    ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION)) fail("SSL_CTX_new");
    if (SSL_CTX_load_verify_locations(ctx, argv[4], NULL) != 1) fail("CA_FILE");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    request_len = prebuilt_request(request, sizeof request, port);
    /* A warm-up connection: the handshake's one-time costs stay out of the figures. */
    SSL *warm = tls_connect();
    call(warm);
    int fd = SSL_get_fd(warm);
    SSL_free(warm);
    close(fd);
    pthread_t tid[256];
    double c0 = cpu(), t0 = now();
    for (int i = 0; i < threads; i++) pthread_create(&tid[i], NULL, thread, NULL);
    struct timespec d = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
    nanosleep(&d, NULL);
    atomic_store(&stop, 1);
    for (int i = 0; i < threads; i++) pthread_join(tid[i], NULL);
    report(atomic_load(&total), now() - t0, cpu() - c0);
    SSL_CTX_free(ctx);
    return 0;
}
