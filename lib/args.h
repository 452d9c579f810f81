/* args.h: the one option parser of attnplan and attnrun. Every message it prints has
 * one format, on stderr (nothing when quiet, as attnrun's ranks other than 0 parse):
 *   PROG: error: FLAG needs a value
 *   PROG: error: FLAG: bad value 'V' (EXPECTED)
 *   PROG: error: unknown option 'X' (see --help)
 *   PROG: error: unexpected argument 'X'
 * PROG names the tool and its command ("attnrun", "attnplan plan"). A command walks its
 * arguments with a cursor: attn_args_is() tests the flag under it, the value readers take
 * the flag's value and move past it, attn_args_next() moves past a flag without one. */
#ifndef ATTN_ARGS_H
#define ATTN_ARGS_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif

typedef struct attn_args {
    const char *prog;  /* starts every message */
    int argc;
    char **argv;
    int i;             /* the argument under the cursor */
    int quiet;         /* parse without printing */
} attn_args;

void attn_args_init(attn_args *a, const char *prog, int argc, char **argv, int first);
/* The argument under the cursor, NULL past the end. */
const char *attn_args_peek(const attn_args *a);
/* 1 when the argument under the cursor is FLAG. */
int attn_args_is(const attn_args *a, const char *flag);
/* 1 when the argument under the cursor looks like an option ("-x", "--x"; "-" alone is not). */
int attn_args_is_option(const attn_args *a);
void attn_args_next(attn_args *a);

/* The value of the flag under the cursor, moving past both; NULL after "needs a value". */
const char *attn_args_value(attn_args *a);
/* Value readers: 0 with *out set, or -1 after printing (the cursor moves past either way). */
int attn_args_int(attn_args *a, long lo, long hi, int *out);
int attn_args_real(attn_args *a, double lo, double hi, double *out);
int attn_args_u64(attn_args *a, unsigned long long *out);
int attn_args_bytes(attn_args *a, double *out); /* digits with an optional K, M or G */
/* One of names[0..n-1]: *out is its index. */
int attn_args_choice(attn_args *a, const char *const *names, int n, int *out);

/* The value parsers the readers use, for a value that came another way. 0 or -1. */
int attn_parse_int(const char *s, long lo, long hi, int *out);
int attn_parse_real(const char *s, double lo, double hi, double *out);
int attn_parse_u64(const char *s, unsigned long long *out);

/* "PROG: error: <message>"; returns -1. */
int attn_args_fail(const attn_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The argument under the cursor is not one the command takes: unknown option or
 * unexpected argument. Returns -1. */
int attn_args_reject(const attn_args *a);

#ifdef __cplusplus
}
#endif
#endif
