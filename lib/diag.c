/* diag.c: error reporting shared by every attnplan tool.
 * Messages go to stderr (or d->out) as "FILE:LINE:COL: error: message"; after
 * max_errors messages the rest are only counted, so a file with thousands of bad
 * entries cannot flood the terminal. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "diag.h"

void attn_diag_init(attn_diag *d) {
    d->nerrors = 0;
    d->max_errors = 0;
    d->out = NULL;
    d->quiet = 0;
}

/* 1 when this message should be printed; counts it either way. */
static int diag_count(attn_diag *d) {
    int limit = d->max_errors > 0 ? d->max_errors : 50;
    d->nerrors++;
    if (d->quiet) return 0;
    FILE *out = d->out ? d->out : stderr;
    if (d->nerrors == limit + 1) fprintf(out, "(further errors not shown)\n");
    return d->nerrors <= limit;
}

void diag_error(attn_diag *d, const char *file, int line, int col, const char *fmt, ...) {
    if (!diag_count(d)) return;
    FILE *out = d->out ? d->out : stderr;
    if (file && line > 0 && col > 0) fprintf(out, "%s:%d:%d: error: ", file, line, col);
    else if (file && line > 0) fprintf(out, "%s:%d: error: ", file, line);
    else if (file) fprintf(out, "%s: error: ", file);
    else fprintf(out, "error: ");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
}

void diag_plain(attn_diag *d, const char *fmt, ...) {
    if (!diag_count(d)) return;
    FILE *out = d->out ? d->out : stderr;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
}

void attn_error_clear(attn_error *e) {
    e->kind = ATTN_EXIT_OK;
    e->msg[0] = '\0';
}

int attn_error_set(attn_error *e, int kind, const char *fmt, ...) {
    if (!e || e->kind != ATTN_EXIT_OK) return -1;
    e->kind = kind != ATTN_EXIT_OK ? kind : ATTN_EXIT_FAIL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int attn_format_err(char *buf, size_t len, const char *fmt, ...) {
    if (!buf || len == 0) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    return -1;
}

static attn_fatal_hook fatal_hook;
static void *fatal_ctx;

attn_fatal_hook attn_set_fatal_hook(attn_fatal_hook hook, void *ctx) {
    attn_fatal_hook old = fatal_hook;
    fatal_hook = hook;
    fatal_ctx = ctx;
    return old;
}

attn_fatal_hook attn_get_fatal_hook(void **ctx) {
    if (ctx) *ctx = fatal_ctx;
    return fatal_hook;
}

void attn_fatal_at(const char *file, int line, int code, const char *fmt, ...) {
    fprintf(stderr, "%s:%d: fatal: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    attn_fatal_hook hook = fatal_hook;
    fatal_hook = NULL; /* a hook that fails fatally again ends here, not in a loop */
    if (hook) hook(code, fatal_ctx);
    exit(code);
}
