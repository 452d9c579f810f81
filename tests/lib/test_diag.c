/* test_diag.c: lib/diag.h's one fatal path. ATTN_FATAL prints "FILE:LINE: fatal: msg",
 * calls the hook installed by attn_set_fatal_hook with the code and its context (the MPI
 * and NCCL comms end the job there), then exits with the code. Each case runs in a child
 * process (fork), since the path ends the process; the parent reads the child's stderr
 * and exit status. Also: set returns the previous hook, get gives it back with its
 * context (what a comm saves and restores), and a hook that returns still ends in exit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../check.h"
#include "diag.h"

enum { HOOK_EXIT_BASE = 40 };

static int hook_ctx_value = 5;

/* As a comm's hook: ends the process itself (with a code that proves it ran with the
 * code and context it was given). */
static void ending_hook(int code, void *ctx) {
    fflush(stderr);
    _exit(HOOK_EXIT_BASE + code + (ctx == &hook_ctx_value ? *(int *)ctx : 0));
}

static int returning_hook_calls;
static void returning_hook(int code, void *ctx) {
    (void)ctx;
    returning_hook_calls++;
    fprintf(stderr, "hook called with %d\n", code);
}

typedef struct child_result { int exited, status; char err[1024]; } child_result;

/* Runs fn in a child with stderr into a pipe; returns how it ended and what it said. */
static child_result run_child(void (*fn)(void)) {
    child_result r = {0, -1, ""};
    int fd[2];
    if (pipe(fd) != 0) return r;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        dup2(fd[1], 2);
        fn();
        _exit(99); /* the fatal path did not end the process */
    }
    close(fd[1]);
    size_t n = 0;
    ssize_t got;
    while (n + 1 < sizeof r.err && (got = read(fd[0], r.err + n, sizeof r.err - 1 - n)) > 0) n += (size_t)got;
    r.err[n] = '\0';
    close(fd[0]);
    int st = 0;
    if (pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st)) r.exited = 1, r.status = WEXITSTATUS(st);
    return r;
}

enum { ENDING_FATAL_LINE = __LINE__ + 3 }; /* the line of the ATTN_FATAL below */
static void fatal_with_ending_hook(void) {
    attn_set_fatal_hook(ending_hook, &hook_ctx_value);
    ATTN_FATAL(3, "broken invariant %d", 42);
}

static void fatal_without_hook(void) { ATTN_FATAL(ATTN_EXIT_BADINPUT, "no hook"); }

static void fatal_with_returning_hook(void) {
    attn_set_fatal_hook(returning_hook, NULL);
    ATTN_FATAL(4, "hook returns");
}

static void fatal_after_hook_removed(void) {
    attn_set_fatal_hook(ending_hook, &hook_ctx_value);
    attn_set_fatal_hook(NULL, NULL); /* as a comm's destroy does when no hook was there before */
    ATTN_FATAL(6, "hook removed");
}

int main(void) {
    /* set/get: the previous hook and its context come back */
    void *ctx = &ctx;
    CHECK(attn_get_fatal_hook(&ctx) == NULL && ctx == NULL, "no hook at the start");
    CHECK(attn_set_fatal_hook(ending_hook, &hook_ctx_value) == NULL);
    CHECK(attn_get_fatal_hook(&ctx) == ending_hook && ctx == &hook_ctx_value);
    CHECK(attn_set_fatal_hook(returning_hook, NULL) == ending_hook, "set returns the previous hook");
    CHECK(attn_get_fatal_hook(NULL) == returning_hook);
    attn_set_fatal_hook(NULL, NULL);

    /* the hook is called with the code and its context before the exit */
    child_result r = run_child(fatal_with_ending_hook);
    CHECK(r.exited && r.status == HOOK_EXIT_BASE + 3 + hook_ctx_value,
          "the hook ends the process with code 3 and its context: exited %d, status %d", r.exited, r.status);
    char want[128];
    snprintf(want, sizeof want, "test_diag.c:%d: fatal: broken invariant 42\n", ENDING_FATAL_LINE);
    CHECK(strstr(r.err, want) != NULL, "FILE:LINE: fatal: message before the hook: want '%s', got '%s'", want, r.err);

    /* no hook: exit with the code */
    r = run_child(fatal_without_hook);
    CHECK(r.exited && r.status == ATTN_EXIT_BADINPUT, "exited %d, status %d", r.exited, r.status);
    CHECK(strstr(r.err, ": fatal: no hook\n") != NULL, "got '%s'", r.err);

    /* a hook that returns: called once, after the message, then exit with the code */
    r = run_child(fatal_with_returning_hook);
    CHECK(r.exited && r.status == 4, "exited %d, status %d", r.exited, r.status);
    const char *msg = strstr(r.err, ": fatal: hook returns\n"), *hook = strstr(r.err, "hook called with 4\n");
    CHECK(msg && hook && msg < hook, "message, then the hook: got '%s'", r.err);

    /* a removed hook is not called */
    r = run_child(fatal_after_hook_removed);
    CHECK(r.exited && r.status == 6, "exited %d, status %d", r.exited, r.status);
    return check_finish("test_diag");
}
