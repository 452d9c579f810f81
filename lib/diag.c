/* diag.c: error reporting shared by every attnplan tool.
 * Messages go to stderr (or d->out) as "FILE:LINE:COL: error: message"; after
 * max_errors messages the rest are only counted, so a file with thousands of bad
 * entries cannot flood the terminal. */
#include <stdarg.h>
#include <stdio.h>
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
