/* report_check.h: the check macro the report tests share: CHECK(cond, fmt, ...) counts a
 * failure, prints file:line, the condition and a message, and keeps going. */
#ifndef ATTN_TESTS_REPORT_CHECK_H
#define ATTN_TESTS_REPORT_CHECK_H
#include <stdio.h>

static int failures = 0;
#define CHECK(cond, ...)                                                                      \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            failures++;                                                                       \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);          \
            fprintf(stderr, __VA_ARGS__);                                                     \
            fprintf(stderr, "\n");                                                            \
        }                                                                                     \
    } while (0)

#endif
