/* check.h: the one check macro of the C tests. CHECK(cond) or CHECK(cond, fmt, ...)
 * counts a failed condition, prints "FILE:LINE: check failed: COND[: message]" and keeps
 * going; check_finish(name) prints the outcome and is main's exit status. The counter is
 * per translation unit: the checks live in each test's main file (the shared helper .c
 * files of tests/planfile and tests/cost have none). */
#ifndef ATTN_TESTS_CHECK_H
#define ATTN_TESTS_CHECK_H
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int check_failures;

/* The message after the condition: fmt arrives as ": " followed by the caller's format,
 * or as ": " alone when CHECK had no message. */
static inline void check_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void check_note(const char *fmt, ...) {
    if (strcmp(fmt, ": ") != 0) {
        va_list ap;
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fputc('\n', stderr);
}

#define CHECK(cond, ...)                                                             \
    do {                                                                             \
        if (!(cond)) {                                                               \
            check_failures++;                                                        \
            fprintf(stderr, "%s:%d: check failed: %s", __FILE__, __LINE__, #cond);   \
            check_note(": " __VA_ARGS__);                                            \
        }                                                                            \
    } while (0)

static inline int check_finish(const char *name) {
    if (check_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}
#endif
