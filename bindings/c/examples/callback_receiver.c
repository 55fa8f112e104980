/*
 * A minimal receiver for the callbacks Tencent Cloud SMS POSTs to your URL (delivery
 * reports and replies), without a web server: put it behind one that passes the request
 * body on stdin and sends stdout back as the response body (CGI, inetd-style, a test).
 *
 *   callback_receiver [FILE]    reads the body from FILE, or from stdin without FILE
 *
 * It prints the typed records as JSON on stderr, and the acknowledgement on stdout:
 * {"result": 0, "errmsg": "OK"} when the body was parsed (exit status 0), else
 * {"result": 1, "errmsg": "<reason>"} (exit status 1).
 *
 *   gcc -Iinclude callback_receiver.c -Ltarget/release -ltcsms -o callback_receiver
 */
#include "tcsms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BODY (1u << 20) /* the library refuses more anyway */

int main(int argc, char **argv)
{
    FILE *in = stdin;
    if (argc > 1 && (in = fopen(argv[1], "rb")) == NULL) {
        perror(argv[1]);
        return 2;
    }
    /* One byte more than the limit, so an oversized body is seen as such. */
    char *body = (char *)malloc(MAX_BODY + 1);
    if (body == NULL)
        return 2;
    size_t len = fread(body, 1, MAX_BODY + 1, in);
    if (in != stdin)
        fclose(in);

    char *json = NULL;
    tcsms_status st = tcsms_parse_callback(body, len, &json);
    free(body);
    if (st == TCSMS_STATUS_OK) {
        fprintf(stderr, "%s\n", json);
        printf("{\"result\": 0, \"errmsg\": \"OK\"}");
    } else {
        /* json is the error envelope; its Message is the reason. Keep the ack simple. */
        fprintf(stderr, "%s: %s\n", tcsms_status_str(st), json ? json : "");
        printf("{\"result\": 1, \"errmsg\": \"%s\"}", tcsms_status_str(st));
    }
    tcsms_free(json);
    return st == TCSMS_STATUS_OK ? 0 : 1;
}
