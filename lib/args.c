/* args.c: the one option parser (args.h): a cursor over argv and value readers that
 * print every complaint in one format. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "args.h"
#include "attn_tiling.h"

void attn_args_init(attn_args *a, const char *prog, int argc, char **argv, int first) {
    a->prog = prog;
    a->argc = argc;
    a->argv = argv;
    a->i = first;
    a->quiet = 0;
}

const char *attn_args_peek(const attn_args *a) { return a->i < a->argc ? a->argv[a->i] : NULL; }

int attn_args_is(const attn_args *a, const char *flag) {
    const char *x = attn_args_peek(a);
    return x && !strcmp(x, flag);
}

int attn_args_is_option(const attn_args *a) {
    const char *x = attn_args_peek(a);
    return x && x[0] == '-' && x[1] != '\0';
}

void attn_args_next(attn_args *a) {
    if (a->i < a->argc) a->i++;
}

int attn_args_fail(const attn_args *a, const char *fmt, ...) {
    if (a->quiet) return -1;
    fprintf(stderr, "%s: error: ", a->prog);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return -1;
}

int attn_args_reject(const attn_args *a) {
    const char *x = attn_args_peek(a);
    if (!x) return attn_args_fail(a, "missing argument");
    if (attn_args_is_option(a)) return attn_args_fail(a, "unknown option '%s' (see --help)", x);
    return attn_args_fail(a, "unexpected argument '%s'", x);
}

const char *attn_args_value(attn_args *a) {
    const char *flag = attn_args_peek(a);
    if (!flag) return NULL;
    if (a->i + 1 >= a->argc) {
        attn_args_fail(a, "%s needs a value", flag);
        a->i = a->argc;
        return NULL;
    }
    a->i += 2;
    return a->argv[a->i - 1];
}

/* Reads the flag's value with parse; on a bad one prints "FLAG: bad value 'V' (expected)". */
static int bad_value(const attn_args *a, const char *expected) {
    return attn_args_fail(a, "%s: bad value '%s' (%s)", a->argv[a->i - 2], a->argv[a->i - 1], expected);
}

int attn_parse_int(const char *s, long lo, long hi, int *out) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

int attn_parse_real(const char *s, double lo, double hi, double *out) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno || !isfinite(v) || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int attn_parse_u64(const char *s, unsigned long long *out) {
    if (!s || *s < '0' || *s > '9') return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

int attn_args_int(attn_args *a, long lo, long hi, int *out) {
    const char *v = attn_args_value(a);
    if (!v) return -1;
    if (attn_parse_int(v, lo, hi, out) == 0) return 0;
    char expected[96];
    snprintf(expected, sizeof expected, "an integer in [%ld, %ld]", lo, hi);
    return bad_value(a, expected);
}

int attn_args_real(attn_args *a, double lo, double hi, double *out) {
    const char *v = attn_args_value(a);
    if (!v) return -1;
    if (attn_parse_real(v, lo, hi, out) == 0) return 0;
    char expected[96];
    snprintf(expected, sizeof expected, "a number in [%g, %g]", lo, hi);
    return bad_value(a, expected);
}

int attn_args_u64(attn_args *a, unsigned long long *out) {
    const char *v = attn_args_value(a);
    if (!v) return -1;
    if (attn_parse_u64(v, out) == 0) return 0;
    return bad_value(a, "a non-negative integer");
}

int attn_args_bytes(attn_args *a, double *out) {
    const char *v = attn_args_value(a);
    if (!v) return -1;
    if (attn_parse_bytes(v, out) == 0) return 0;
    return bad_value(a, "a byte count: digits, optional K, M or G");
}

int attn_args_choice(attn_args *a, const char *const *names, int n, int *out) {
    const char *v = attn_args_value(a);
    if (!v) return -1;
    for (int k = 0; k < n; k++)
        if (!strcmp(v, names[k])) {
            *out = k;
            return 0;
        }
    char expected[256];
    size_t len = 0;
    expected[0] = '\0';
    for (int k = 0; k < n && len < sizeof expected; k++)
        len += (size_t)snprintf(expected + len, sizeof expected - len, "%s%s", k ? (k + 1 == n ? " or " : ", ") : "one of ", names[k]);
    return bad_value(a, expected);
}
