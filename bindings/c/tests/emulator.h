/*
 * Emulator processes for the C tests: test_tcsms.c includes it (and so test_events.c and
 * test_production.c, which include test_tcsms.c). Plain C11 that is also valid C++17.
 *
 * The binary is TCSMS_EMULATOR, else $TCSMS_ROOT/target/release/tcsms-emulator
 * (TCSMS_ROOT defaults to "../.."). Each instance listens on 127.0.0.1:0 and announces
 * its address as its first stdout line.
 */
#ifndef TCSMS_TESTS_EMULATOR_H
#define TCSMS_TESTS_EMULATOR_H

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ------------------------------------------------------------------------------------ */
/* Emulator processes.                                                                  */

typedef struct emulator {
    pid_t pid;
    int out_fd;          /* read end of the child's stdout */
    pthread_t drainer;   /* reads (and drops) the rest of its stdout until it exits */
    int has_drainer;
    char endpoint[64];   /* "http://127.0.0.1:PORT" */
} emulator;

static char g_emulator_path[4096];

static void *drain(void *arg)
{
    emulator *emu = (emulator *)arg;
    char buf[4096];
    while (read(emu->out_fd, buf, sizeof buf) > 0) {
    }
    return NULL;
}

/* Starts the emulator with extra arguments (NULL-terminated). Returns 0 on success. */
static int emulator_start(emulator *emu, const char *const *extra)
{
    char *argv[16];
    int argc = 0;
    int fds[2];
    int i;
    posix_spawn_file_actions_t actions;
    char line[256];
    size_t len = 0;
    long deadline = now_ms() + 15000;
    const char *prefix = "listening on ";

    memset(emu, 0, sizeof *emu);
    emu->pid = -1;
    emu->out_fd = -1;
    argv[argc++] = g_emulator_path;
    argv[argc++] = (char *)"--listen";
    argv[argc++] = (char *)"127.0.0.1:0";
    for (i = 0; extra != NULL && extra[i] != NULL && argc < 15; i++)
        argv[argc++] = (char *)extra[i];
    argv[argc] = NULL;

    if (pipe(fds) != 0)
        return -1;
    /* Close-on-exec, so later children don't hold this pipe open; dup2 onto the
     * child's stdout clears the flag on fd 1 only. */
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    if (posix_spawn(&emu->pid, g_emulator_path, &actions, NULL, argv, environ) != 0) {
        posix_spawn_file_actions_destroy(&actions);
        close(fds[0]);
        close(fds[1]);
        emu->pid = -1;
        return -1;
    }
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    emu->out_fd = fds[0];

    /* Read the first line, byte by byte, with an overall deadline. */
    while (len + 1 < sizeof line) {
        struct pollfd pfd;
        char c;
        ssize_t n;
        long left = deadline - now_ms();
        if (left <= 0)
            break;
        pfd.fd = emu->out_fd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        if (poll(&pfd, 1, (int)left) <= 0)
            continue;
        n = read(emu->out_fd, &c, 1);
        if (n <= 0)
            break;
        if (c == '\n')
            break;
        line[len++] = c;
    }
    line[len] = '\0';
    if (strncmp(line, prefix, strlen(prefix)) != 0 ||
        strlen(line + strlen(prefix)) >= sizeof emu->endpoint) {
        fprintf(stderr, "emulator %s did not announce its address (got \"%s\")\n", g_emulator_path,
                line);
        return -1;
    }
    strcpy(emu->endpoint, line + strlen(prefix));
    if (pthread_create(&emu->drainer, NULL, drain, emu) == 0)
        emu->has_drainer = 1;
    return 0;
}

static void emulator_stop(emulator *emu)
{
    int status;
    int i;
    if (emu->pid > 0) {
        kill(emu->pid, SIGTERM);
        for (i = 0; i < 100; i++) {
            struct timespec ts = {0, 20 * 1000000L};
            if (waitpid(emu->pid, &status, WNOHANG) == emu->pid)
                break;
            nanosleep(&ts, NULL);
        }
        if (i == 100) {
            kill(emu->pid, SIGKILL);
            waitpid(emu->pid, &status, 0);
        }
        emu->pid = -1;
    }
    if (emu->has_drainer) {
        pthread_join(emu->drainer, NULL);
        emu->has_drainer = 0;
    }
    if (emu->out_fd >= 0) {
        close(emu->out_fd);
        emu->out_fd = -1;
    }
}

/* Sets g_emulator_path from the environment (see the top of this file). */
static void emulator_locate(void)
{
    const char *root = getenv("TCSMS_ROOT");
    const char *path = getenv("TCSMS_EMULATOR");
    if (path != NULL && path[0] != '\0')
        snprintf(g_emulator_path, sizeof g_emulator_path, "%s", path);
    else
        snprintf(g_emulator_path, sizeof g_emulator_path, "%s/target/release/tcsms-emulator",
                 root && root[0] ? root : "../..");
}

#endif
