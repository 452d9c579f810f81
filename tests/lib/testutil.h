/* testutil.h: the few helpers the lib unit tests share (CHECK comes from tests/check.h):
 * a diag that captures messages in memory so a test can assert the
 * exact "FILE:LINE:COL: error:" prefix a loader printed. */
#ifndef ATTN_TESTS_LIB_TESTUTIL_H
#define ATTN_TESTS_LIB_TESTUTIL_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../check.h"
#include "diag.h"

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

#endif
