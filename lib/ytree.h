/* ytree.h: the one YAML (and JSON) loader of the project.
 * libyaml events are turned into a small tree whose every node keeps its source
 * line and column, so every later check can say FILE:LINE:COL. Aliases and anchors
 * are refused (they can blow a small file up into a huge tree), nesting deeper than
 * YT_MAX_DEPTH is refused, duplicate keys are refused, files over YT_MAX_BYTES are
 * refused. The strict typed readers below report through attn_diag. */
#ifndef ATTN_YTREE_H
#define ATTN_YTREE_H
#include <stddef.h>
#include <stdint.h>
#include "diag.h"
#ifdef __cplusplus
extern "C" {
#endif

#define YT_MAX_DEPTH 32
#define YT_MAX_BYTES (64u << 20)
#define YT_MAX_NODES 4000000

typedef enum { YT_SCALAR, YT_MAP, YT_SEQ } yt_kind;

typedef struct yt_node {
    yt_kind kind;
    int line, col;          /* 1-based position of the node's start */
    char *str;              /* YT_SCALAR: the value, NUL-terminated */
    size_t len;             /* YT_SCALAR: length of str */
    int quoted;             /* YT_SCALAR: 1 if written quoted (then never a number) */
    size_t n;               /* YT_MAP: pairs; YT_SEQ: items */
    struct yt_node **keys;  /* YT_MAP: key scalars */
    struct yt_node **vals;  /* YT_MAP: values; YT_SEQ: items */
} yt_node;

typedef struct yt_doc {
    yt_node *root;          /* NULL for an empty document */
    const char *file;       /* name used in messages (not owned) */
    void *arena;            /* owned storage */
} yt_doc;

/* Parse a file / buffer. Returns 0 on success; on failure reports and returns -1.
 * An empty document is an error ("empty file"). */
int yt_load_file(const char *path, yt_doc *doc, attn_diag *d);
int yt_load_buffer(const char *buf, size_t len, const char *name, yt_doc *doc, attn_diag *d);
void yt_free(yt_doc *doc);
/* Reads a whole file (at most YT_MAX_BYTES) into a malloc'd, NUL-terminated buffer the
 * caller frees. 0 ok; -1 after reporting "FILE: error: cannot open: ..." etc. */
int yt_read_file(const char *path, char **buf, size_t *len, attn_diag *d);
/* Copies s for an error message: control characters become '?', long text ends in "...". */
void yt_printable(const char *s, char *buf, size_t buflen);

/* Lookup (NULL when absent or when map is not a map). */
const yt_node *yt_get(const yt_node *map, const char *key);

/* Strict schema helpers: each reports at the node's position and returns -1 on error. */
int yt_expect(const yt_doc *doc, const yt_node *n, yt_kind kind, const char *what, attn_diag *d);
/* Every key of map must be in allowed (NULL-terminated). */
int yt_check_keys(const yt_doc *doc, const yt_node *map, const char *const *allowed, attn_diag *d);
/* Reads map[key]. required=1: missing is an error; required=0: missing leaves *out unchanged
 * and returns 0. Range checks are inclusive. */
int yt_int(const yt_doc *doc, const yt_node *map, const char *key, int required,
           long long lo, long long hi, long long *out, attn_diag *d);
int yt_num(const yt_doc *doc, const yt_node *map, const char *key, int required,
           double lo, double hi, double *out, attn_diag *d);
/* Like yt_num with the range (0, hi]: zero is refused as "must be > 0". */
int yt_num_positive(const yt_doc *doc, const yt_node *map, const char *key, int required,
                    double hi, double *out, attn_diag *d);
int yt_str(const yt_doc *doc, const yt_node *map, const char *key, int required,
           char *out, size_t outlen, attn_diag *d);
/* Conversions of a scalar node itself. */
int yt_node_int(const yt_doc *doc, const yt_node *n, long long lo, long long hi, long long *out, attn_diag *d);
int yt_node_num(const yt_doc *doc, const yt_node *n, double lo, double hi, double *out, attn_diag *d);
/* Reads a real written by yt_write_real (also .inf, -.inf, .nan). 0 ok, reports -1. */
int yt_node_real(const yt_doc *doc, const yt_node *n, double *out, attn_diag *d);
/* An unquoted true or false. 0 ok, reports -1. */
int yt_node_bool(const yt_doc *doc, const yt_node *n, int *out, attn_diag *d);

/* Writing: a tiny emitter that quotes strings safely. Output goes to a temporary
 * file that yt_writer_commit() renames into place (never a half-written file). Failures
 * of open and commit are reported through the diag given to open ("PATH: error: ...";
 * d NULL: on stderr), so a caller's quiet or redirected diag holds them too. */
typedef struct yt_writer {
    FILE *f;
    char *path, *tmp_path;
    int failed;
    attn_diag *d;   /* where open and commit report; NULL: stderr */
} yt_writer;
int yt_writer_open(yt_writer *w, const char *path, attn_diag *d); /* path "-" writes stdout */
void yt_write_str(FILE *f, const char *s);            /* a safely quoted YAML scalar */
/* A real that reads back bit for bit: the shortest of %.15g..%.17g, or .inf, -.inf, .nan. */
void yt_write_real(FILE *f, double v);
int yt_writer_commit(yt_writer *w);                    /* 0 ok; reports errno on failure */
void yt_writer_abort(yt_writer *w);

#ifdef __cplusplus
}
#endif
#endif
