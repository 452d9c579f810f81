/* testutil.h: the few helpers the lib unit tests share: CHECK that counts failures and
 * keeps going, and a diag that captures messages in memory so a test can assert the
 * exact "FILE:LINE:COL: error:" prefix a loader printed. */
#ifndef ATTN_TESTS_LIB_TESTUTIL_H
#define ATTN_TESTS_LIB_TESTUTIL_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "diag.h"

static int test_failures;

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            test_failures++;                                                        \
        }                                                                           \
    } while (0)

/* A diag whose messages land in a memory buffer. */
typedef struct {
    attn_diag d;
    char *text;
    size_t len;
} captured_diag;

static inline void capture_begin(captured_diag *c) {
    attn_diag_init(&c->d);
    c->text = NULL;
    c->len = 0;
    c->d.out = open_memstream(&c->text, &c->len);
    if (!c->d.out) {
        perror("open_memstream");
        exit(1);
    }
}

/* Ends the capture; returns 1 when the messages contain want (NULL: no messages at all). */
static inline int capture_end(captured_diag *c, const char *want) {
    fclose(c->d.out);
    int ok = want ? (c->text && strstr(c->text, want) != NULL) : (c->len == 0);
    if (!ok) fprintf(stderr, "  wanted %s%s%s, got: %s\n", want ? "'" : "", want ? want : "no messages",
                     want ? "'" : "", c->text ? c->text : "(nothing)");
    free(c->text);
    c->text = NULL;
    return ok;
}

static inline int test_summary(const char *name) {
    if (test_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, test_failures);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}
#endif
