/* ytree.c: the one YAML/JSON reader of the project: libyaml events -> a tree of
 * yt_node, each node keeping its 1-based line and column for FILE:LINE:COL messages.
 * Refused before any node reaches a loader: anchors and aliases (a few bytes can
 * expand into gigabytes), explicit tags, nesting deeper than YT_MAX_DEPTH, more than
 * YT_MAX_NODES nodes, files over YT_MAX_BYTES, duplicate or non-scalar map keys,
 * several documents, empty input, NUL bytes (binary or UTF-16 files) and anything
 * libyaml rejects (invalid UTF-8, control characters, tabs as indentation).
 * All nodes live in one arena owned by the yt_doc: yt_free releases everything.
 * The typed readers and the writer are in yt_typed.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>
#include "ytree.h"

/* ---- arena: nodes and strings of one document, freed at once ---- */

typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} arena_block;

typedef struct { arena_block *head; } arena;

static void *arena_alloc(arena *a, size_t size) {
    size = (size + 15) & ~(size_t)15;
    if (!a->head || a->head->cap - a->head->used < size) {
        size_t cap = size > 65536 ? size : 65536;
        arena_block *b = malloc(sizeof *b + cap);
        if (!b) return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    void *p = a->head->data + a->head->used;
    a->head->used += size;
    return p;
}

static void arena_free(arena *a) {
    while (a && a->head) {
        arena_block *next = a->head->next;
        free(a->head);
        a->head = next;
    }
}

/* ---- positions ---- */

/* 1-based line and column (in characters, like libyaml's marks) of a byte offset. */
static void offset_position(const char *buf, size_t len, size_t off, int *line, int *col) {
    int l = 1, c = 1;
    if (off > len) off = len;
    for (size_t i = 0; i < off; i++) {
        unsigned char ch = (unsigned char)buf[i];
        if (ch == '\n') {
            l++;
            c = 1;
        } else if ((ch & 0xC0) != 0x80) {
            c++; /* count a UTF-8 sequence once, at its lead byte */
        }
        if (l == INT32_MAX || c == INT32_MAX) break;
    }
    *line = l;
    *col = c;
}

/* The byte at 1-based (line, col), or -1 past the end. */
static int char_at(const char *buf, size_t len, int line, int col) {
    size_t i = 0;
    for (int l = 1; l < line && i < len; i++)
        if (buf[i] == '\n') l++;
    for (int c = 1; i < len; i++) {
        if (((unsigned char)buf[i] & 0xC0) == 0x80) continue;
        if (c == col) return (unsigned char)buf[i];
        if (buf[i] == '\n') return -1;
        c++;
    }
    return -1;
}

void yt_printable(const char *s, char *buf, size_t buflen) {
    if (buflen == 0) return;
    if (!s) s = "";
    size_t n = strlen(s), take = n;
    int cut = n >= buflen;
    if (cut) take = buflen > 4 ? buflen - 4 : buflen - 1; /* room for "..." */
    for (size_t i = 0; i < take; i++) {
        unsigned char ch = (unsigned char)s[i];
        buf[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    if (cut && buflen > 4) {
        memcpy(buf + take, "...", 3);
        take += 3;
    }
    buf[take] = '\0';
}

/* ---- reading a whole file ---- */

int yt_read_file(const char *path, char **out, size_t *outlen, attn_diag *d) {
    *out = NULL;
    *outlen = 0;
    /* O_NONBLOCK so that opening a FIFO nobody writes to cannot hang; reads then block
     * as usual (a FIFO without a writer reads as end of file). */
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) {
        diag_error(d, path, 0, 0, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        diag_error(d, path, 0, 0, "cannot stat: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        diag_error(d, path, 0, 0, "is a directory, not a file");
        close(fd);
        return -1;
    }
    int flags = fcntl(fd, F_GETFL);
    FILE *f = NULL;
    if (flags == -1 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1 || !(f = fdopen(fd, "rb"))) {
        diag_error(d, path, 0, 0, "cannot read: %s", strerror(errno));
        close(fd);
        return -1;
    }
    /* Read at most one byte past the limit: st_size is not trusted (pipes, /proc). */
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        diag_error(d, path, 0, 0, "out of memory");
        fclose(f);
        return -1;
    }
    for (;;) {
        if (len == cap) {
            if (cap > YT_MAX_BYTES) break;
            size_t ncap = cap * 2 > (size_t)YT_MAX_BYTES + 1 ? (size_t)YT_MAX_BYTES + 1 : cap * 2;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                diag_error(d, path, 0, 0, "out of memory");
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    if (ferror(f)) {
        diag_error(d, path, 0, 0, "read error: %s", strerror(errno));
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    if (len > YT_MAX_BYTES) {
        diag_error(d, path, 0, 0, "file is larger than %u MiB", (unsigned)(YT_MAX_BYTES >> 20));
        free(buf);
        return -1;
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    return 0;
}

/* ---- the event loop ---- */

typedef struct {
    yt_node *node;
    yt_node **items; /* map: key, value, key, value...; seq: items */
    size_t n, cap;
} frame;

typedef struct {
    const char *buf;
    size_t len;
    const char *file;
    attn_diag *d;
    arena arena;
    frame stack[YT_MAX_DEPTH + 1];
    int depth;
    long nodes;
    int documents;
    yt_node *root;
} loader;

static void loader_error(loader *ld, int line, int col, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void loader_error(loader *ld, int line, int col, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    diag_error(ld->d, ld->file, line, col, "%s", msg);
}

static int mark_line(yaml_mark_t m) { return m.line >= INT32_MAX ? INT32_MAX : (int)m.line + 1; }
static int mark_col(yaml_mark_t m) { return m.column >= INT32_MAX ? INT32_MAX : (int)m.column + 1; }

static yt_node *new_node(loader *ld, yt_kind kind, yaml_mark_t mark) {
    if (++ld->nodes > YT_MAX_NODES) {
        loader_error(ld, mark_line(mark), mark_col(mark), "more than %d nodes: refusing to load", YT_MAX_NODES);
        return NULL;
    }
    yt_node *n = arena_alloc(&ld->arena, sizeof *n);
    if (!n) {
        loader_error(ld, mark_line(mark), mark_col(mark), "out of memory");
        return NULL;
    }
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->line = mark_line(mark);
    n->col = mark_col(mark);
    return n;
}

/* 1 when the next child of the innermost collection is a map key. */
static int expecting_key(const loader *ld) {
    if (ld->depth == 0) return 0;
    const frame *f = &ld->stack[ld->depth - 1];
    return f->node->kind == YT_MAP && f->n % 2 == 0;
}

static int attach(loader *ld, yt_node *n) {
    if (ld->depth == 0) {
        ld->root = n;
        return 0;
    }
    frame *f = &ld->stack[ld->depth - 1];
    if (f->n == f->cap) {
        size_t ncap = f->cap ? f->cap * 2 : 8;
        yt_node **ni = realloc(f->items, ncap * sizeof *ni);
        if (!ni) {
            loader_error(ld, n->line, n->col, "out of memory");
            return -1;
        }
        f->items = ni;
        f->cap = ncap;
    }
    f->items[f->n++] = n;
    return 0;
}

/* Anchors, aliases and tags are refused wherever they appear. */
static int check_plain_node(loader *ld, const yaml_char_t *anchor, const yaml_char_t *tag, yaml_mark_t mark) {
    if (anchor) {
        char name[64];
        yt_printable((const char *)anchor, name, sizeof name);
        loader_error(ld, mark_line(mark), mark_col(mark), "anchors are not allowed (&%s)", name);
        return -1;
    }
    if (tag) {
        char name[64];
        yt_printable((const char *)tag, name, sizeof name);
        loader_error(ld, mark_line(mark), mark_col(mark), "tags are not allowed (%s)", name);
        return -1;
    }
    return 0;
}

static int on_scalar(loader *ld, const yaml_event_t *ev) {
    if (check_plain_node(ld, ev->data.scalar.anchor, ev->data.scalar.tag, ev->start_mark)) return -1;
    yt_node *n = new_node(ld, YT_SCALAR, ev->start_mark);
    if (!n) return -1;
    size_t len = ev->data.scalar.length;
    if (memchr(ev->data.scalar.value, '\0', len)) {
        loader_error(ld, n->line, n->col, "a NUL character inside a string is not allowed");
        return -1;
    }
    n->str = arena_alloc(&ld->arena, len + 1);
    if (!n->str) {
        loader_error(ld, n->line, n->col, "out of memory");
        return -1;
    }
    memcpy(n->str, ev->data.scalar.value, len);
    n->str[len] = '\0';
    n->len = len;
    n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
    return attach(ld, n);
}

static int on_collection_start(loader *ld, const yaml_event_t *ev, yt_kind kind) {
    const yaml_char_t *anchor = kind == YT_MAP ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    const yaml_char_t *tag = kind == YT_MAP ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;
    if (check_plain_node(ld, anchor, tag, ev->start_mark)) return -1;
    int line = mark_line(ev->start_mark), col = mark_col(ev->start_mark);
    if (expecting_key(ld)) {
        loader_error(ld, line, col, "a map key must be a plain value, not a %s", kind == YT_MAP ? "map" : "list");
        return -1;
    }
    if (ld->depth >= YT_MAX_DEPTH) {
        loader_error(ld, line, col, "nesting deeper than %d levels is not allowed", YT_MAX_DEPTH);
        return -1;
    }
    yt_node *n = new_node(ld, kind, ev->start_mark);
    if (!n) return -1;
    frame *f = &ld->stack[ld->depth++];
    f->node = n;
    f->items = NULL;
    f->n = f->cap = 0;
    return 0;
}

static int compare_keys(const void *a, const void *b) {
    const yt_node *x = *(yt_node *const *)a, *y = *(yt_node *const *)b;
    size_t m = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->str, y->str, m);
    if (c) return c;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    if (x->line != y->line) return x->line < y->line ? -1 : 1;
    return (x->col > y->col) - (x->col < y->col);
}

/* Reports every repeated key of a finished map (at the repeat, naming the first). */
static int check_duplicate_keys(loader *ld, yt_node *map) {
    if (map->n < 2) return 0;
    yt_node **sorted = malloc(map->n * sizeof *sorted);
    if (!sorted) {
        loader_error(ld, map->line, map->col, "out of memory");
        return -1;
    }
    memcpy(sorted, map->keys, map->n * sizeof *sorted);
    qsort(sorted, map->n, sizeof *sorted, compare_keys);
    int bad = 0;
    size_t first = 0;
    for (size_t i = 1; i < map->n; i++) {
        const yt_node *a = sorted[first], *b = sorted[i];
        if (a->len == b->len && !memcmp(a->str, b->str, a->len)) {
            char name[80];
            yt_printable(b->str, name, sizeof name);
            loader_error(ld, b->line, b->col, "duplicate key '%s' (first at %d:%d)", name, a->line, a->col);
            bad = 1;
        } else {
            first = i;
        }
    }
    free(sorted);
    return bad ? -1 : 0;
}

static int on_collection_end(loader *ld) {
    if (ld->depth == 0) { /* libyaml balances its events; never trust that blindly */
        loader_error(ld, 0, 0, "unbalanced YAML events (libyaml bug?)");
        return -1;
    }
    frame *f = &ld->stack[--ld->depth];
    yt_node *n = f->node;
    int rc = 0;
    if (n->kind == YT_MAP) {
        n->n = f->n / 2;
        n->keys = n->n ? arena_alloc(&ld->arena, n->n * sizeof *n->keys) : NULL;
        n->vals = n->n ? arena_alloc(&ld->arena, n->n * sizeof *n->vals) : NULL;
        if (n->n && (!n->keys || !n->vals)) rc = -1;
        for (size_t i = 0; rc == 0 && i < n->n; i++) {
            n->keys[i] = f->items[2 * i];
            n->vals[i] = f->items[2 * i + 1];
        }
    } else {
        n->n = f->n;
        n->vals = n->n ? arena_alloc(&ld->arena, n->n * sizeof *n->vals) : NULL;
        if (n->n && !n->vals) rc = -1;
        else if (n->n) memcpy(n->vals, f->items, n->n * sizeof *n->vals);
    }
    free(f->items);
    f->items = NULL;
    if (rc) {
        loader_error(ld, n->line, n->col, "out of memory");
        return -1;
    }
    if (n->kind == YT_MAP && check_duplicate_keys(ld, n)) return -1;
    return attach(ld, n);
}

/* Turns libyaml's error into one clear FILE:LINE:COL message. */
static void report_parser_error(loader *ld, const yaml_parser_t *p) {
    const char *problem = p->problem ? p->problem : "unknown problem";
    if (p->error == YAML_MEMORY_ERROR) {
        loader_error(ld, 0, 0, "out of memory while parsing");
    } else if (p->error == YAML_READER_ERROR) {
        int line, col;
        offset_position(ld->buf, ld->len, p->problem_offset, &line, &col);
        if (p->problem_value >= 0)
            loader_error(ld, line, col, "not valid UTF-8 text: %s (value 0x%X)", problem, (unsigned)p->problem_value);
        else
            loader_error(ld, line, col, "not valid UTF-8 text: %s", problem);
    } else {
        int line = mark_line(p->problem_mark), col = mark_col(p->problem_mark);
        int tab = char_at(ld->buf, ld->len, line, col) == '\t' || strstr(problem, "tab");
        if (p->context)
            loader_error(ld, line, col, "YAML syntax error: %s %s (%d:%d)%s", p->context, problem,
                         mark_line(p->context_mark), mark_col(p->context_mark),
                         tab ? "; tabs cannot indent YAML, use spaces" : "");
        else
            loader_error(ld, line, col, "YAML syntax error: %s%s", problem,
                         tab ? "; tabs cannot indent YAML, use spaces" : "");
    }
}

/* Handles one event; 1 at the end of the stream, 0 to go on, -1 on error. */
static int on_event(loader *ld, const yaml_event_t *ev) {
    switch (ev->type) {
    case YAML_STREAM_START_EVENT:
    case YAML_DOCUMENT_END_EVENT:
    case YAML_NO_EVENT:
        return 0;
    case YAML_STREAM_END_EVENT:
        return 1;
    case YAML_DOCUMENT_START_EVENT:
        if (++ld->documents > 1) {
            loader_error(ld, mark_line(ev->start_mark), mark_col(ev->start_mark),
                         "a second document: a file holds exactly one");
            return -1;
        }
        return 0;
    case YAML_ALIAS_EVENT: {
        char name[64];
        yt_printable((const char *)ev->data.alias.anchor, name, sizeof name);
        loader_error(ld, mark_line(ev->start_mark), mark_col(ev->start_mark), "aliases are not allowed (*%s)", name);
        return -1;
    }
    case YAML_SCALAR_EVENT:
        return on_scalar(ld, ev);
    case YAML_SEQUENCE_START_EVENT:
        return on_collection_start(ld, ev, YT_SEQ);
    case YAML_MAPPING_START_EVENT:
        return on_collection_start(ld, ev, YT_MAP);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return on_collection_end(ld);
    }
    return 0;
}

int yt_load_buffer(const char *buf, size_t len, const char *name, yt_doc *doc, attn_diag *d) {
    if (!name) name = "(buffer)";
    doc->root = NULL;
    doc->file = name;
    doc->arena = NULL;
    if (len > YT_MAX_BYTES) {
        diag_error(d, name, 0, 0, "file is larger than %u MiB", (unsigned)(YT_MAX_BYTES >> 20));
        return -1;
    }
    if (len == 0 || !buf) {
        diag_error(d, name, 1, 1, "empty file");
        return -1;
    }
    const char *nul = memchr(buf, '\0', len);
    if (nul) {
        int line, col;
        offset_position(buf, len, (size_t)(nul - buf), &line, &col);
        int utf16 = len >= 2 && (((unsigned char)buf[0] == 0xFF && (unsigned char)buf[1] == 0xFE) ||
                                 ((unsigned char)buf[0] == 0xFE && (unsigned char)buf[1] == 0xFF));
        if (utf16) line = col = 1;
        diag_error(d, name, line, col, "%s", utf16 ? "UTF-16 text is not supported: save the file as UTF-8"
                                                   : "binary data (a NUL byte): not a YAML or JSON text file");
        return -1;
    }
    loader ld;
    memset(&ld, 0, sizeof ld);
    ld.buf = buf;
    ld.len = len;
    ld.file = name;
    ld.d = d;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        diag_error(d, name, 0, 0, "out of memory (YAML parser)");
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    int rc = 0;
    while (rc == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            report_parser_error(&ld, &parser);
            rc = -1;
            break;
        }
        rc = on_event(&ld, &ev);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    if (rc > 0 && !ld.root) {
        diag_error(d, name, 1, 1, "empty file");
        rc = -1;
    }
    for (int i = 0; i < ld.depth; i++) free(ld.stack[i].items);
    if (rc < 0) {
        arena_free(&ld.arena);
        return -1;
    }
    arena *owned = malloc(sizeof *owned);
    if (!owned) {
        diag_error(d, name, 0, 0, "out of memory");
        arena_free(&ld.arena);
        return -1;
    }
    *owned = ld.arena;
    doc->root = ld.root;
    doc->arena = owned;
    return 0;
}

int yt_load_file(const char *path, yt_doc *doc, attn_diag *d) {
    char *buf;
    size_t len;
    doc->root = NULL;
    doc->file = path;
    doc->arena = NULL;
    if (yt_read_file(path, &buf, &len, d)) return -1;
    int rc = yt_load_buffer(buf, len, path, doc, d);
    free(buf);
    return rc;
}

void yt_free(yt_doc *doc) {
    if (!doc) return;
    arena_free(doc->arena);
    free(doc->arena);
    doc->arena = NULL;
    doc->root = NULL;
}

const yt_node *yt_get(const yt_node *map, const char *key) {
    if (!map || map->kind != YT_MAP || !key) return NULL;
    size_t klen = strlen(key);
    for (size_t i = 0; i < map->n; i++)
        if (map->keys[i]->len == klen && !memcmp(map->keys[i]->str, key, klen)) return map->vals[i];
    return NULL;
}
