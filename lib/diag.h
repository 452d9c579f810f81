/* diag.h: error reporting shared by every attnplan tool.
 * Every problem with an input file is reported as "FILE:LINE:COL: error: message"
 * on stderr; tools exit with ATTN_EXIT_* codes. */
#ifndef ATTN_DIAG_H
#define ATTN_DIAG_H
#include <stddef.h>
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

/* An error that travels up to main with its kind: the kind is the exit code main
 * ends with (ATTN_EXIT_BADINPUT for a bad input, ATTN_EXIT_FAIL for a failure). The
 * first error set wins; later ones (consequences of it) are dropped. */
typedef struct attn_error {
    int kind;       /* ATTN_EXIT_OK while no error is set */
    char msg[512];
} attn_error;

void attn_error_clear(attn_error *e);
/* Sets the error unless one is set already; returns -1 so callers can `return attn_error_set(...)`. */
int attn_error_set(attn_error *e, int kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* snprintf into a caller's message buffer (buf may be NULL): the one copy of the
 * set_err helpers the runtime had. Returns -1. */
int attn_format_err(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The one fatal path (as ggml_abort): prints "FILE:LINE: fatal: message" on stderr,
 * calls the hook, then exits with code. Library code returns errors; this is for what
 * cannot be returned from (a CUDA or NCCL failure inside a check macro, a broken
 * invariant). A comm sets the hook to end the whole job (MPI_Abort), not one rank. */
typedef void (*attn_fatal_hook)(int code, void *ctx);
/* Installs hook (NULL restores plain exit); returns the previous one. */
attn_fatal_hook attn_set_fatal_hook(attn_fatal_hook hook, void *ctx);
/* The hook installed now and (ctx not NULL) its context: a comm saves them when it
 * installs its own and puts them back when it is destroyed (comms nest: NCCL over MPI). */
attn_fatal_hook attn_get_fatal_hook(void **ctx);
void attn_fatal_at(const char *file, int line, int code, const char *fmt, ...) __attribute__((noreturn))
    __attribute__((format(printf, 4, 5)));
#define ATTN_FATAL(code, ...) attn_fatal_at(__FILE__, __LINE__, (code), __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
