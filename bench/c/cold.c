/* Cold start: a new client per call, as a CLI, a cron job or a CGI-style handler sees it.
 *
 *   cold ENDPOINT CA_FILE N new    N times tcsms_client_new + tcsms_client_free
 *   cold ENDPOINT CA_FILE N call   N times new client, one ReportConversion, free
 *
 * Prints calls/s and the process's CPU time per iteration (user + system, µs). Run the
 * `new` mode under `valgrind --tool=callgrind` for instruction counts. */
#include "tcsms.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double seconds(struct timeval t) { return t.tv_sec + t.tv_usec / 1e6; }

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: cold ENDPOINT CA_FILE N new|call\n");
        return 2;
    }
    int n = atoi(argv[3]);
    int call = strcmp(argv[4], "call") == 0;
    char config[2048];
    snprintf(config, sizeof config,
             "{\"secret_id\":\"AKIDbench\",\"secret_key\":\"BenchSecretKey0000000000\",\"endpoint\":\"%s\","
             "\"ca_file\":\"%s\",\"timeout_ms\":5000,\"max_retries\":0}",
             argv[1], argv[2]);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < n; i++) {
        tcsms_client *client = NULL;
        char *out = NULL;
        if (tcsms_client_new(config, &client, &out) != TCSMS_STATUS_OK) {
            fprintf(stderr, "client: %s\n", out ? out : "?");
            return 1;
        }
        if (call) {
            tcsms_status status =
                tcsms_call(client, "ReportConversion", "{\"SmsSdkAppId\":\"1400000001\",\"SerialNo\":\"1\"}", &out);
            if (status != TCSMS_STATUS_OK) {
                fprintf(stderr, "call: %s\n", out ? out : "?");
                return 1;
            }
            tcsms_free(out);
        }
        tcsms_client_free(client);
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double wall = (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
    double cpu = seconds(usage.ru_utime) + seconds(usage.ru_stime);
    printf("%s %d: %.0f/s, %.0f us CPU each\n", argv[4], n, n / wall, cpu * 1e6 / n);
    return 0;
}
