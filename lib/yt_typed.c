/* yt_typed.c: strict typed readers over the yt_node tree, and the YAML writer.
 * Integers: plain decimal only ("80", "-3"); refused: quoted values, "1.5", "1e3",
 * "0x10", "010" (YAML 1.1 would read that as octal 8), "+5", "1_000". Reals: plain
 * decimal or exponent form ("0.8", "989e12", "-1.5E-3"); refused: inf/nan, hex floats,
 * quoted values. Every refusal is reported at the value's own line:col.
 * The writer never leaves a half-written file: it writes a temporary file in the
 * target's directory, fsyncs it and renames it into place. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ytree.h"

static void node_error(const yt_doc *doc, const yt_node *n, attn_diag *d, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void node_error(const yt_doc *doc, const yt_node *n, attn_diag *d, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    diag_error(d, doc->file, n ? n->line : 0, n ? n->col : 0, "%s", msg);
}

static const char *kind_article(yt_kind k) {
    return k == YT_MAP ? "a map" : k == YT_SEQ ? "a list" : "a single value";
}

/* "'heads' " or "" for messages. */
static void label(const char *key, char *buf, size_t len) {
    if (!key) {
        snprintf(buf, len, "this value ");
        return;
    }
    char k[64];
    yt_printable(key, k, sizeof k);
    snprintf(buf, len, "'%s' ", k);
}

/* A plain scalar that YAML reads as null. */
static int is_plain_null(const yt_node *n) {
    return !n->quoted && (n->len == 0 || !strcmp(n->str, "~") || !strcmp(n->str, "null") ||
                          !strcmp(n->str, "Null") || !strcmp(n->str, "NULL"));
}

/* Common checks for a number: a plain, non-empty scalar. */
static int number_node(const yt_doc *doc, const yt_node *n, const char *key, const char *what, attn_diag *d) {
    char lb[80], v[64];
    label(key, lb, sizeof lb);
    if (n->kind != YT_SCALAR) {
        node_error(doc, n, d, "%smust be %s, got %s", lb, what, kind_article(n->kind));
        return -1;
    }
    yt_printable(n->str, v, sizeof v);
    if (n->quoted) {
        node_error(doc, n, d, "%smust be %s, got the quoted string \"%s\" (write numbers without quotes)", lb, what, v);
        return -1;
    }
    if (is_plain_null(n)) {
        node_error(doc, n, d, "%smust be %s, got an empty value", lb, what);
        return -1;
    }
    return 0;
}

static int node_int(const yt_doc *doc, const yt_node *n, const char *key, long long lo, long long hi,
                    long long *out, attn_diag *d) {
    if (number_node(doc, n, key, "an integer", d)) return -1;
    char lb[80], v[64];
    label(key, lb, sizeof lb);
    yt_printable(n->str, v, sizeof v);
    const char *s = n->str;
    const char *digits = s[0] == '-' ? s + 1 : s;
    int ok = digits[0] != '\0';
    for (const char *p = digits; *p; p++)
        if (*p < '0' || *p > '9') ok = 0;
    if (!ok) {
        char *end;
        int numeric = (strtod(s, &end), *end == '\0' && strpbrk(s, ".eE"));
        node_error(doc, n, d, "%smust be an integer, got '%s'%s", lb, v,
                   numeric ? " (integers have no decimal point or exponent)" : "");
        return -1;
    }
    if (digits[0] == '0' && digits[1] != '\0') {
        node_error(doc, n, d, "%sleading zeros are not allowed in '%s'", lb, v);
        return -1;
    }
    errno = 0;
    char *end;
    long long val = strtoll(s, &end, 10);
    if (errno == ERANGE || *end != '\0' || val < lo || val > hi) {
        if (errno != ERANGE && lo >= 1 && val < lo && val <= 0)
            node_error(doc, n, d, "%smust be at least %lld, got %s", lb, lo, v);
        else
            node_error(doc, n, d, "%smust be between %lld and %lld, got %s", lb, lo, hi, v);
        return -1;
    }
    *out = val;
    return 0;
}

static int node_num(const yt_doc *doc, const yt_node *n, const char *key, double lo, double hi, double *out,
                    attn_diag *d) {
    if (number_node(doc, n, key, "a number", d)) return -1;
    char lb[80], v[64];
    label(key, lb, sizeof lb);
    yt_printable(n->str, v, sizeof v);
    const char *s = n->str;
    int has_digit = 0, ok = 1;
    for (const char *p = s; *p; p++) {
        if (*p >= '0' && *p <= '9') has_digit = 1;
        else if (!strchr("+-.eE", *p)) ok = 0;
    }
    char *end;
    errno = 0;
    double val = ok && has_digit ? strtod(s, &end) : 0;
    if (!ok || !has_digit || *end != '\0') {
        node_error(doc, n, d, "%smust be a number, got '%s'", lb, v);
        return -1;
    }
    if (!isfinite(val) || (errno == ERANGE && fabs(val) > 1)) {
        node_error(doc, n, d, "%snumber '%s' is too large", lb, v);
        return -1;
    }
    if (val < lo || val > hi) {
        node_error(doc, n, d, "%smust be between %g and %g, got %s", lb, lo, hi, v);
        return -1;
    }
    *out = val;
    return 0;
}

int yt_node_int(const yt_doc *doc, const yt_node *n, long long lo, long long hi, long long *out, attn_diag *d) {
    return node_int(doc, n, NULL, lo, hi, out, d);
}

int yt_node_num(const yt_doc *doc, const yt_node *n, double lo, double hi, double *out, attn_diag *d) {
    return node_num(doc, n, NULL, lo, hi, out, d);
}

int yt_expect(const yt_doc *doc, const yt_node *n, yt_kind kind, const char *what, attn_diag *d) {
    if (!n) {
        diag_error(d, doc->file, 0, 0, "expected %s, got nothing", what ? what : kind_article(kind));
        return -1;
    }
    if (n->kind == kind) return 0;
    node_error(doc, n, d, "expected %s, got %s", what ? what : kind_article(kind), kind_article(n->kind));
    return -1;
}

int yt_check_keys(const yt_doc *doc, const yt_node *map, const char *const *allowed, attn_diag *d) {
    if (yt_expect(doc, map, YT_MAP, NULL, d)) return -1;
    char list[256];
    size_t o = 0;
    list[0] = '\0';
    for (int i = 0; allowed[i] && o < sizeof list; i++) {
        int w = snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", allowed[i]);
        if (w < 0) break;
        o += (size_t)w;
    }
    int bad = 0;
    for (size_t i = 0; i < map->n; i++) {
        const yt_node *k = map->keys[i];
        int found = 0;
        for (int j = 0; allowed[j] && !found; j++)
            if (strlen(allowed[j]) == k->len && !memcmp(allowed[j], k->str, k->len)) found = 1;
        if (!found) {
            char name[64];
            yt_printable(k->str, name, sizeof name);
            node_error(doc, k, d, "unknown key '%s' (expected one of: %s)", name, list);
            bad = 1;
        }
    }
    return bad ? -1 : 0;
}

/* map[key] or NULL; reports a missing required key at the map's position. */
static const yt_node *lookup(const yt_doc *doc, const yt_node *map, const char *key, int required,
                             int *missing_error, attn_diag *d) {
    *missing_error = 0;
    const yt_node *v = yt_get(map, key);
    if (!v && required) {
        node_error(doc, map, d, "missing required key '%s'", key);
        *missing_error = 1;
    }
    return v;
}

int yt_int(const yt_doc *doc, const yt_node *map, const char *key, int required, long long lo, long long hi,
           long long *out, attn_diag *d) {
    int missing;
    const yt_node *v = lookup(doc, map, key, required, &missing, d);
    if (!v) return missing ? -1 : 0;
    return node_int(doc, v, key, lo, hi, out, d);
}

int yt_num(const yt_doc *doc, const yt_node *map, const char *key, int required, double lo, double hi,
           double *out, attn_diag *d) {
    int missing;
    const yt_node *v = lookup(doc, map, key, required, &missing, d);
    if (!v) return missing ? -1 : 0;
    return node_num(doc, v, key, lo, hi, out, d);
}

int yt_num_positive(const yt_doc *doc, const yt_node *map, const char *key, int required, double hi,
                    double *out, attn_diag *d) {
    int missing;
    const yt_node *v = lookup(doc, map, key, required, &missing, d);
    if (!v) return missing ? -1 : 0;
    double val;
    if (node_num(doc, v, key, -HUGE_VAL, HUGE_VAL, &val, d)) return -1;
    char lb[80], shown[64];
    label(key, lb, sizeof lb);
    yt_printable(v->str, shown, sizeof shown);
    if (!(val > 0)) {
        node_error(doc, v, d, "%smust be greater than 0, got %s", lb, shown);
        return -1;
    }
    if (val > hi) {
        node_error(doc, v, d, "%smust be at most %g, got %s", lb, hi, shown);
        return -1;
    }
    *out = val;
    return 0;
}

int yt_str(const yt_doc *doc, const yt_node *map, const char *key, int required, char *out, size_t outlen,
           attn_diag *d) {
    int missing;
    const yt_node *v = lookup(doc, map, key, required, &missing, d);
    if (!v) return missing ? -1 : 0;
    char lb[80];
    label(key, lb, sizeof lb);
    if (v->kind != YT_SCALAR) {
        node_error(doc, v, d, "%smust be a string, got %s", lb, kind_article(v->kind));
        return -1;
    }
    if (is_plain_null(v)) {
        node_error(doc, v, d, "%smust be a string, got an empty value", lb);
        return -1;
    }
    if (v->len >= outlen) {
        node_error(doc, v, d, "%sis too long (%zu bytes; at most %zu)", lb, v->len, outlen ? outlen - 1 : 0);
        return -1;
    }
    memcpy(out, v->str, v->len + 1);
    return 0;
}

/* ---- writing ---- */

/* Length of the valid UTF-8 sequence at p (1..4) and its code point, or 0 if invalid. */
static int utf8_decode(const unsigned char *p, unsigned *cp) {
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    int n = (p[0] & 0xE0) == 0xC0 ? 2 : (p[0] & 0xF0) == 0xE0 ? 3 : (p[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (!n) return 0;
    unsigned c = p[0] & (0x7F >> n);
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0; /* also stops at the terminating NUL */
        c = c << 6 | (p[i] & 0x3F);
    }
    static const unsigned min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < min_for_len[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    *cp = c;
    return n;
}

void yt_write_str(FILE *f, const char *s) {
    /* Double-quoted, so nothing in s can end the scalar or be read as YAML syntax.
     * Escaped: quote, backslash, C0/C1 controls, DEL, and the characters YAML treats as
     * line breaks or a byte-order mark (they would not read back as themselves).
     * Bytes that are not UTF-8 become U+FFFD so the file stays readable. */
    fputc('"', f);
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        unsigned cp;
        int n = utf8_decode(p, &cp);
        if (n == 0) {
            fputs("\\uFFFD", f);
            p++;
            continue;
        }
        if (cp == '"' || cp == '\\') fprintf(f, "\\%c", (char)cp);
        else if (cp == '\n') fputs("\\n", f);
        else if (cp == '\t') fputs("\\t", f);
        else if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) fprintf(f, "\\x%02x", cp);
        else if (cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF || cp == 0xFFFE || cp == 0xFFFF) fprintf(f, "\\u%04X", cp);
        else fwrite(p, 1, (size_t)n, f);
        p += n;
    }
    fputc('"', f);
}

/* A writer's failure as "FILE: error: message" (file NULL: "error: message") through its
 * diag, or a default one on stderr. */
static void writer_error(attn_diag *d, const char *file, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void writer_error(attn_diag *d, const char *file, const char *fmt, ...) {
    attn_diag fallback;
    if (!d) {
        attn_diag_init(&fallback);
        d = &fallback;
    }
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    diag_error(d, file, 0, 0, "%s", msg);
}

int yt_writer_open(yt_writer *w, const char *path, attn_diag *d) {
    memset(w, 0, sizeof *w);
    w->d = d;
    if (!strcmp(path, "-")) {
        w->f = stdout;
        return 0;
    }
    size_t n = strlen(path);
    w->path = malloc(n + 1);
    w->tmp_path = malloc(n + 16);
    if (!w->path || !w->tmp_path) {
        writer_error(d, path, "out of memory");
        yt_writer_abort(w);
        return -1;
    }
    memcpy(w->path, path, n + 1);
    snprintf(w->tmp_path, n + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(w->tmp_path);
    if (fd < 0) {
        writer_error(d, path, "cannot create a temporary file next to it: %s", strerror(errno));
        free(w->tmp_path);
        w->tmp_path = NULL; /* nothing to unlink */
        yt_writer_abort(w);
        return -1;
    }
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0 || !(w->f = fdopen(fd, "w"))) {
        writer_error(d, w->tmp_path, "%s", strerror(errno));
        close(fd);
        yt_writer_abort(w);
        return -1;
    }
    return 0;
}

void yt_writer_abort(yt_writer *w) {
    if (w->f && w->f != stdout) fclose(w->f);
    if (w->tmp_path) unlink(w->tmp_path);
    free(w->path);
    free(w->tmp_path);
    memset(w, 0, sizeof *w);
}

int yt_writer_commit(yt_writer *w) {
    if (!w->f) return -1;
    if (w->f == stdout) {
        int bad = w->failed || fflush(stdout) != 0 || ferror(stdout);
        if (bad) writer_error(w->d, NULL, "writing to standard output failed");
        memset(w, 0, sizeof *w);
        return bad ? -1 : 0;
    }
    const char *step = NULL;
    if (w->failed || ferror(w->f)) step = "write";
    else if (fflush(w->f) != 0) step = "write";
    else if (fsync(fileno(w->f)) != 0) step = "fsync";
    int saved = errno;
    FILE *f = w->f;
    w->f = NULL;
    if (fclose(f) != 0 && !step) {
        step = "close";
        saved = errno;
    }
    if (!step && rename(w->tmp_path, w->path) != 0) {
        step = "rename";
        saved = errno;
    }
    if (step) {
        writer_error(w->d, w->path, "%s failed: %s", step, saved ? strerror(saved) : "I/O error");
        yt_writer_abort(w);
        return -1;
    }
    free(w->path);
    free(w->tmp_path);
    memset(w, 0, sizeof *w);
    return 0;
}

/* ---- reals and booleans as plan and report files write them ---- */

void yt_write_real(FILE *f, double v) {
    if (isnan(v)) {
        fputs(".nan", f);
        return;
    }
    if (isinf(v)) {
        fputs(v > 0 ? ".inf" : "-.inf", f);
        return;
    }
    /* The shortest of %.15g..%.17g that reads back as the same double. */
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    fputs(buf, f);
}

int yt_node_real(const yt_doc *doc, const yt_node *n, double *out, attn_diag *d) {
    if (n && n->kind == YT_SCALAR && !n->quoted) {
        const char *s = n->str;
        if (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN")) {
            *out = NAN;
            return 0;
        }
        int neg = (*s == '-');
        if (*s == '-' || *s == '+') s++;
        if (!strcmp(s, ".inf") || !strcmp(s, ".Inf") || !strcmp(s, ".INF")) {
            *out = neg ? -INFINITY : INFINITY;
            return 0;
        }
    }
    return yt_node_num(doc, n, -HUGE_VAL, HUGE_VAL, out, d);
}

int yt_node_bool(const yt_doc *doc, const yt_node *n, int *out, attn_diag *d) {
    if (n && n->kind == YT_SCALAR && !n->quoted) {
        if (!strcmp(n->str, "true")) {
            *out = 1;
            return 0;
        }
        if (!strcmp(n->str, "false")) {
            *out = 0;
            return 0;
        }
    }
    diag_error(d, doc->file, n ? n->line : 0, n ? n->col : 0, "expected true or false");
    return -1;
}
