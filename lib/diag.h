/* diag.h: error reporting shared by every attnplan tool.
 * Every problem with an input file is reported as "FILE:LINE:COL: error: message"
 * on stderr; tools exit with ATTN_EXIT_* codes. */
#ifndef ATTN_DIAG_H
#define ATTN_DIAG_H
#include <stdio.h>
#ifdef __cplusplus
extern "C" {
#endif

enum { ATTN_EXIT_OK = 0, ATTN_EXIT_FAIL = 1, ATTN_EXIT_BADINPUT = 2, ATTN_EXIT_SKIP = 77 };

typedef struct attn_diag {
    int nerrors;     /* errors reported so far */
    int max_errors;  /* stop printing after this many (0 = 50) */
    FILE *out;       /* NULL = stderr */
    int quiet;       /* count but do not print (used by the fuzz harness) */
} attn_diag;

void attn_diag_init(attn_diag *d);
/* Reports FILE:LINE:COL: error: msg. line/col are 1-based; 0 leaves them out. */
void diag_error(attn_diag *d, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* A message that names no position (usage errors, I/O). */
void diag_plain(attn_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif
#endif
