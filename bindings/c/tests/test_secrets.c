/*
 * Secrets sweep of the C ABI (issue 10 item 6): marker secrets (secret key, token, proxy
 * password) go into the configuration; every error path is run (bad configurations, a
 * refused port and proxy, an echoing proxy, an API error, a server that echoes the
 * request headers) and every output channel is searched for them: the `out_json` string,
 * `tcsms_status_str`, and everything written to file descriptor 2 (redirected to a file).
 *
 * Servers are threads of this program on 127.0.0.1; nothing resolves a hostname.
 * Output: one "ok"/"FAIL" line per check, then "N passed, M failed"; exit 0 only if none
 * failed. Plain C11.
 */
#include "test_helpers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define KEY "MARKERsecretKEY0123456789abcdef"
#define TOKEN "MARKERtoken0123456789"
#define PROXY_PASSWORD "MARKERproxyPW0123"
/* base64("proxyuser:" PROXY_PASSWORD), as Proxy-Authorization carries it. */
#define PROXY_BASIC "cHJveHl1c2VyOk1BUktFUnByb3h5UFcwMTIz"

/* A check whose line names what was tried and what came back (at most 300 bytes). */
static void check_detail(int ok, const char *what, const char *detail)
{
    check(ok, "%s%s%.300s", what, detail ? ": " : "", detail ? detail : "");
}

/* The first marker found in text, or NULL. */
static const char *marker_in(const char *text)
{
    static const char *const markers[] = {KEY, TOKEN, PROXY_PASSWORD, PROXY_BASIC};
    size_t i;
    for (i = 0; text != NULL && i < sizeof markers / sizeof markers[0]; i++)
        if (strstr(text, markers[i]) != NULL)
            return markers[i];
    return NULL;
}

/* A port on 127.0.0.1 with nothing listening. */
static int closed_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

/* -- a one-connection-at-a-time server that answers with a script --------------------- */

typedef struct {
    int fd;
    int port;
    int status;        /* HTTP status of every answer */
    const char *body;  /* body, or NULL to echo the request head, credential lines first */
    pthread_t thread;
} server;

static void append_lines(char *out, size_t cap, const char *head, int credentials)
{
    const char *line = head;
    while (*line != '\0') {
        const char *end = strstr(line, "\r\n");
        size_t n = end ? (size_t)(end - line) : strlen(line);
        int cred = strncasecmp(line, "x-tc-token:", 11) == 0 || strncasecmp(line, "proxy-authorization:", 20) == 0;
        if (cred == credentials && strlen(out) + n + 2 < cap) {
            strncat(out, line, n);
            strcat(out, "\n");
        }
        line += n + (end ? 2 : 0);
    }
}

static void *serve(void *arg)
{
    server *s = (server *)arg;
    int c;
    while ((c = accept(s->fd, NULL, NULL)) >= 0) {
        char head[8192], body[8192], reply[17000];
        ssize_t got = 0, n;
        memset(head, 0, sizeof head);
        while (got < (ssize_t)sizeof head - 1 && strstr(head, "\r\n\r\n") == NULL &&
               (n = read(c, head + got, sizeof head - 1 - (size_t)got)) > 0)
            got += n;
        body[0] = '\0';
        if (s->body != NULL) {
            snprintf(body, sizeof body, "%s", s->body);
        } else {
            append_lines(body, sizeof body, head, 1);
            append_lines(body, sizeof body, head, 0);
        }
        n = snprintf(reply, sizeof reply, "HTTP/1.1 %d Scripted\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", s->status, strlen(body), body);
        if (write(c, reply, (size_t)n) < 0)
            perror("write");
        close(c);
    }
    return NULL;
}

static void server_start(server *s, int status, const char *body)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    s->status = status;
    s->body = body;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s->fd, (struct sockaddr *)&a, sizeof a);
    listen(s->fd, 8);
    getsockname(s->fd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->thread, NULL, serve, s);
}

static void server_stop(server *s)
{
    shutdown(s->fd, SHUT_RDWR);
    close(s->fd);
    pthread_join(s->thread, NULL);
}

/* -- running one case ----------------------------------------------------------------- */

/* Creates a client from extra configuration keys (a JSON fragment starting with ','),
 * makes one call, and returns the first marker seen in any channel (NULL if none). */
static const char *run_case(const char *extra, tcsms_status *status_out)
{
    char config[1024];
    tcsms_client *client = NULL;
    char *out = NULL;
    const char *seen = NULL;
    tcsms_status st;
    char captured[8192];
    FILE *err_file = tmpfile();
    int saved = dup(2);
    ssize_t n;

    snprintf(config, sizeof config,
             "{\"secret_id\":\"AKIDmarker\",\"secret_key\":\"" KEY "\",\"token\":\"" TOKEN "\","
             "\"endpoint\":\"http://127.0.0.1:%d\",\"max_retries\":0,\"timeout_ms\":5000%s}",
             closed_port(), extra);
    fflush(stderr);
    dup2(fileno(err_file), 2);
    st = tcsms_client_new(config, &client, &out);
    if (st == TCSMS_STATUS_OK)
        st = tcsms_call(client, "PullSmsSendStatus", "{\"Limit\":1,\"SmsSdkAppId\":\"1400000001\"}", &out);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    seen = marker_in(out);
    if (seen == NULL)
        seen = marker_in(tcsms_status_str(st));
    rewind(err_file);
    n = (ssize_t)fread(captured, 1, sizeof captured - 1, err_file);
    captured[n > 0 ? n : 0] = '\0';
    if (seen == NULL)
        seen = marker_in(captured);
    fclose(err_file);
    tcsms_free(out);
    tcsms_client_free(client);
    *status_out = st;
    return seen;
}

static void expect_clean(const char *what, const char *extra)
{
    tcsms_status st;
    const char *seen = run_case(extra, &st);
    check_detail(st != TCSMS_STATUS_OK && seen == NULL, what, seen ? seen : tcsms_status_str(st));
}

int main(void)
{
    char extra[512];
    server s;
    tcsms_status st;
    const char *seen;
    static const int proxy_statuses[] = {500, 407};
    static const int echo_statuses[] = {500, 403, 200};
    size_t i;

    expect_clean("unknown key", ",\"bogus\":\"" KEY "\"");
    expect_clean("bad endpoint", ",\"endpoint\":\"ftp://127.0.0.1:1\"");
    expect_clean("bad proxy", ",\"proxy\":\"http://proxyuser:" PROXY_PASSWORD "@127.0.0.1:notaport\"");
    snprintf(extra, sizeof extra, ",\"proxy\":\"socks5://proxyuser:" PROXY_PASSWORD "@127.0.0.1:%d\"", closed_port());
    expect_clean("socks proxy", extra);
    expect_clean("missing ca_file", ",\"ca_file\":\"/nonexistent/ca.pem\"");
    expect_clean("bad timeout", ",\"timeout_ms\":\"x\"");
    expect_clean("refused port", "");
    snprintf(extra, sizeof extra, ",\"proxy\":\"http://proxyuser:" PROXY_PASSWORD "@127.0.0.1:%d\"", closed_port());
    expect_clean("refused proxy", extra);

    for (i = 0; i < sizeof proxy_statuses / sizeof proxy_statuses[0]; i++) {
        server_start(&s, proxy_statuses[i], NULL);
        snprintf(extra, sizeof extra, ",\"proxy\":\"http://proxyuser:" PROXY_PASSWORD "@127.0.0.1:%d\"", s.port);
        expect_clean(proxy_statuses[i] == 500 ? "echoing proxy 500" : "echoing proxy 407", extra);
        server_stop(&s);
    }

    server_start(&s, 200, "{\"Response\":{\"Error\":{\"Code\":\"AuthFailure.SignatureFailure\","
                          "\"Message\":\"signature mismatch\"},\"RequestId\":\"r-1\"}}");
    snprintf(extra, sizeof extra, ",\"endpoint\":\"http://127.0.0.1:%d\"", s.port);
    seen = run_case(extra, &st);
    check_detail(st == TCSMS_STATUS_API_ERROR && seen == NULL, "API error", seen ? seen : tcsms_status_str(st));
    server_stop(&s);

    for (i = 0; i < sizeof echo_statuses / sizeof echo_statuses[0]; i++) {
        char what[128];
        server_start(&s, echo_statuses[i], NULL);
        snprintf(extra, sizeof extra, ",\"endpoint\":\"http://127.0.0.1:%d\"", s.port);
        seen = run_case(extra, &st);
        snprintf(what, sizeof what, "echoing server %d leaks nothing", echo_statuses[i]);
        check_detail(st != TCSMS_STATUS_OK && seen == NULL, what, seen ? seen : tcsms_status_str(st));
        server_stop(&s);
    }

    return finish();
}
