/* test_ytree.c: the YAML tree loader and its strict typed readers: node positions,
 * the refusals (aliases, depth, duplicates, node limit), number syntax, string limits,
 * and the atomic writer (round trip of awkward strings, no file left on abort). */
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>
#include "testutil.h"
#include "ytree.h"

/* Loads text; expects success. */
static int load(const char *text, yt_doc *doc) {
    attn_diag d;
    attn_diag_init(&d);
    return yt_load_buffer(text, strlen(text), "t.yaml", doc, &d);
}

/* Loads text expecting failure with the message `want` (e.g. "t.yaml:2:3: error: ..."). */
static void expect_load_error(const char *text, size_t len, const char *want) {
    captured_diag c;
    capture_begin(&c);
    yt_doc doc;
    int rc = yt_load_buffer(text, len, "t.yaml", &doc, &c.d);
    CHECK(rc == -1);
    CHECK(doc.root == NULL && doc.arena == NULL);
    CHECK(capture_end(&c, want));
}

static void test_positions(void) {
    yt_doc doc;
    const char *text = "# comment\nname: x\nsizes:\n  - 1\n  - 'two'\nflow: {a: 1, b: [2, 3]}\n";
    CHECK(load(text, &doc) == 0);
    const yt_node *root = doc.root;
    CHECK(root && root->kind == YT_MAP && root->n == 3);
    CHECK(root->line == 2 && root->col == 1);
    CHECK(root->keys[1]->line == 3 && root->keys[1]->col == 1);
    const yt_node *sizes = yt_get(root, "sizes");
    CHECK(sizes && sizes->kind == YT_SEQ && sizes->n == 2);
    CHECK(sizes->vals[0]->line == 4 && sizes->vals[0]->col == 5 && !sizes->vals[0]->quoted);
    CHECK(sizes->vals[1]->line == 5 && sizes->vals[1]->col == 5 && sizes->vals[1]->quoted);
    CHECK(!strcmp(sizes->vals[1]->str, "two") && sizes->vals[1]->len == 3);
    const yt_node *flow = yt_get(root, "flow");
    CHECK(flow && flow->kind == YT_MAP && flow->line == 6 && flow->col == 7);
    const yt_node *b = yt_get(flow, "b");
    CHECK(b && b->kind == YT_SEQ && b->n == 2 && b->vals[1]->line == 6 && b->vals[1]->col == 21);
    CHECK(yt_get(root, "missing") == NULL && yt_get(sizes, "x") == NULL && yt_get(NULL, "x") == NULL);
    yt_free(&doc);
    yt_free(&doc); /* a second free is harmless */
    /* JSON goes through the same loader. */
    const char *json = "{\"a\": 1,\n \"b\": [true, \"x\"]}";
    CHECK(load(json, &doc) == 0);
    CHECK(doc.root && yt_get(doc.root, "b") && yt_get(doc.root, "b")->vals[1]->quoted);
    CHECK(yt_get(doc.root, "b")->line == 2 && yt_get(doc.root, "b")->col == 7);
    yt_free(&doc);
    /* Columns count characters, not bytes. */
    CHECK(load("k: \xc3\xa9\xc3\xa9\nz: [1, 2]\n", &doc) == 0);
    yt_free(&doc);
    expect_load_error("k: \xc3\xa9\xc3\xa9: x\n", 11, "t.yaml:1:6: error: YAML syntax error");
    expect_load_error("k: \xc3\xa9\xc3\xa9\x00", 8, "t.yaml:1:6: error: binary data");
}

static void test_refusals(void) {
    expect_load_error("", 0, "t.yaml:1:1: error: empty file");
    expect_load_error("  \n# only a comment\n", 19, "t.yaml:1:1: error: empty file");
    expect_load_error("a: &x 1\nb: 2\n", 13, "t.yaml:1:4: error: anchors are not allowed (&x)");
    expect_load_error("a: 1\nb: *x\n", 10, "t.yaml:2:4: error: aliases are not allowed (*x)");
    expect_load_error("a: !!str 1\n", 11, "t.yaml:1:4: error: tags are not allowed");
    expect_load_error("a: 1\nb: 2\na: 3\n", 15, "t.yaml:3:1: error: duplicate key 'a' (first at 1:1)");
    expect_load_error("a: 1\n---\nb: 2\n", 14, "t.yaml:2:1: error: a second document");
    expect_load_error("? [a]\n: 1\n", 10, "t.yaml:1:3: error: a map key must be a plain value");
    expect_load_error("a: \"x\\0y\"\n", 10, "t.yaml:1:4: error: a NUL character");
    expect_load_error("a: 1\nb: \x00\n", 10, "t.yaml:2:4: error: binary data");
    expect_load_error("a: \xff\n", 5, "t.yaml:1:4: error: not valid UTF-8 text");
    expect_load_error("a:\n\tb: 1\n", 9, "t.yaml:2:1: error: YAML syntax error");
    /* Exactly YT_MAX_DEPTH levels load; one more is refused at the opening bracket. */
    char deep[200];
    size_t o = 0;
    for (int i = 0; i < YT_MAX_DEPTH; i++) deep[o++] = '[';
    for (int i = 0; i < YT_MAX_DEPTH; i++) deep[o++] = ']';
    deep[o] = '\0';
    yt_doc doc;
    CHECK(load(deep, &doc) == 0);
    yt_free(&doc);
    o = 0;
    for (int i = 0; i <= YT_MAX_DEPTH; i++) deep[o++] = '[';
    for (int i = 0; i <= YT_MAX_DEPTH; i++) deep[o++] = ']';
    deep[o] = '\0';
    char want[64];
    snprintf(want, sizeof want, "t.yaml:1:%d: error: nesting deeper", YT_MAX_DEPTH + 1);
    expect_load_error(deep, o, want);
}

/* A flow list of n one-digit items: n + 1 nodes. */
static char *flow_list(size_t n, size_t *len) {
    char *s = malloc(2 * n + 3);
    if (!s) exit(1);
    size_t o = 0;
    s[o++] = '[';
    for (size_t i = 0; i < n; i++) {
        s[o++] = '1';
        s[o++] = ',';
    }
    s[o - 1] = ']';
    s[o] = '\0';
    *len = o;
    return s;
}

static void test_limits(void) {
    size_t len;
    char *s = flow_list(YT_MAX_NODES - 1, &len); /* with the list itself: exactly the limit */
    yt_doc doc;
    attn_diag d;
    attn_diag_init(&d);
    CHECK(yt_load_buffer(s, len, "t.yaml", &doc, &d) == 0);
    CHECK(doc.root && doc.root->n == YT_MAX_NODES - 1);
    yt_free(&doc);
    free(s);
    s = flow_list(YT_MAX_NODES, &len);
    captured_diag c;
    capture_begin(&c);
    CHECK(yt_load_buffer(s, len, "t.yaml", &doc, &c.d) == -1);
    CHECK(capture_end(&c, "error: more than 4000000 nodes"));
    free(s);
    /* Duplicate detection in a large map stays fast and names both positions. */
    size_t cap = 20000 * 16;
    char *m = malloc(cap);
    if (!m) exit(1);
    size_t o = 0;
    for (int i = 0; i < 20000; i++) o += (size_t)snprintf(m + o, cap - o, "k%d: %d\n", i, i);
    o += (size_t)snprintf(m + o, cap - o, "k777: 1\n");
    capture_begin(&c);
    CHECK(yt_load_buffer(m, o, "t.yaml", &doc, &c.d) == -1);
    CHECK(capture_end(&c, "t.yaml:20001:1: error: duplicate key 'k777' (first at 778:1)"));
    free(m);
    capture_begin(&c);
    CHECK(yt_load_buffer("a: 1", (size_t)YT_MAX_BYTES + 1, "t.yaml", &doc, &c.d) == -1);
    CHECK(capture_end(&c, "larger than 64 MiB"));
}

static void test_typed(void) {
    yt_doc doc;
    const char *text = "i: 80\nneg: -3\nf: 1.5\ne: 1e3\nhex: 0x10\noct: 010\nq: \"5\"\nbig: 99999999999999999999\n"
                       "r: 989e12\nr2: -1.5E-3\nhuge: 1e400\nnan: .nan\ninf: inf\nempty:\ns: hello\nlist: [1]\n"
                       "zero: 0\nplus: +5\nqs: ''\n";
    CHECK(load(text, &doc) == 0);
    long long v = 0;
    double x = 0;
    char buf[8];
    attn_diag d;
    attn_diag_init(&d);
    CHECK(yt_int(&doc, doc.root, "i", 1, 0, 100, &v, &d) == 0 && v == 80);
    CHECK(yt_int(&doc, doc.root, "neg", 1, -10, 10, &v, &d) == 0 && v == -3);
    v = 42;
    CHECK(yt_int(&doc, doc.root, "absent", 0, 0, 100, &v, &d) == 0 && v == 42);
    CHECK(d.nerrors == 0);
    struct { const char *key, *want; } bad_ints[] = {
        {"f", "t.yaml:3:4: error: 'f' must be an integer, got '1.5'"},
        {"e", "t.yaml:4:4: error: 'e' must be an integer, got '1e3'"},
        {"hex", "t.yaml:5:6: error: 'hex' must be an integer, got '0x10'"},
        {"oct", "t.yaml:6:6: error: 'oct' leading zeros"},
        {"q", "t.yaml:7:4: error: 'q' must be an integer, got the quoted string"},
        {"big", "t.yaml:8:6: error: 'big' must be between 0 and 100"},
        {"neg", "t.yaml:2:6: error: 'neg' must be at least 1, got -3"},
        {"zero", "t.yaml:17:7: error: 'zero' must be at least 1, got 0"},
        {"i", "t.yaml:1:4: error: 'i' must be between 1 and 50, got 80"},
        {"empty", "t.yaml:14:7: error: 'empty' must be an integer, got an empty value"},
        {"list", "t.yaml:16:7: error: 'list' must be an integer, got a list"},
        {"plus", "t.yaml:18:7: error: 'plus' must be an integer, got '+5'"},
        {"absent", "t.yaml:1:1: error: missing required key 'absent'"},
    };
    for (size_t i = 0; i < sizeof bad_ints / sizeof bad_ints[0]; i++) {
        captured_diag c;
        capture_begin(&c);
        long long hi = !strcmp(bad_ints[i].key, "i") ? 50 : 100;
        long long lo = !strcmp(bad_ints[i].key, "neg") || !strcmp(bad_ints[i].key, "zero") || !strcmp(bad_ints[i].key, "i") ? 1 : 0;
        v = 7;
        CHECK(yt_int(&doc, doc.root, bad_ints[i].key, 1, lo, hi, &v, &c.d) == -1);
        CHECK(v == 7);
        CHECK(capture_end(&c, bad_ints[i].want));
    }
    CHECK(yt_num(&doc, doc.root, "r", 1, 0, 1e15, &x, &d) == 0 && x == 989e12);
    CHECK(yt_num(&doc, doc.root, "r2", 1, -1, 1, &x, &d) == 0 && x == -1.5e-3);
    CHECK(yt_num(&doc, doc.root, "i", 1, 0, 100, &x, &d) == 0 && x == 80);
    CHECK(yt_num_positive(&doc, doc.root, "f", 1, 2, &x, &d) == 0 && x == 1.5);
    CHECK(d.nerrors == 0);
    struct { const char *key, *want; } bad_nums[] = {
        {"huge", "t.yaml:11:7: error: 'huge' number '1e400' is too large"},
        {"nan", "t.yaml:12:6: error: 'nan' must be a number, got '.nan'"},
        {"inf", "t.yaml:13:6: error: 'inf' must be a number, got 'inf'"},
        {"q", "t.yaml:7:4: error: 'q' must be a number, got the quoted string"},
        {"r", "t.yaml:9:4: error: 'r' must be between 0 and 1"},
        {"s", "t.yaml:15:4: error: 's' must be a number, got 'hello'"},
    };
    for (size_t i = 0; i < sizeof bad_nums / sizeof bad_nums[0]; i++) {
        captured_diag c;
        capture_begin(&c);
        CHECK(yt_num(&doc, doc.root, bad_nums[i].key, 1, 0, 1, &x, &c.d) == -1);
        CHECK(capture_end(&c, bad_nums[i].want));
    }
    captured_diag c;
    capture_begin(&c);
    CHECK(yt_num_positive(&doc, doc.root, "zero", 1, 1, &x, &c.d) == -1);
    CHECK(capture_end(&c, "t.yaml:17:7: error: 'zero' must be greater than 0, got 0"));
    capture_begin(&c);
    CHECK(yt_num_positive(&doc, doc.root, "r", 1, 1, &x, &c.d) == -1);
    CHECK(capture_end(&c, "t.yaml:9:4: error: 'r' must be at most 1, got 989e12"));
    CHECK(yt_str(&doc, doc.root, "s", 1, buf, sizeof buf, &d) == 0 && !strcmp(buf, "hello"));
    CHECK(yt_str(&doc, doc.root, "i", 1, buf, sizeof buf, &d) == 0 && !strcmp(buf, "80"));
    CHECK(yt_str(&doc, doc.root, "qs", 1, buf, sizeof buf, &d) == 0 && !strcmp(buf, ""));
    capture_begin(&c);
    CHECK(yt_str(&doc, doc.root, "s", 1, buf, 5, &c.d) == -1);
    CHECK(capture_end(&c, "t.yaml:15:4: error: 's' is too long (5 bytes; at most 4)"));
    capture_begin(&c);
    CHECK(yt_str(&doc, doc.root, "empty", 1, buf, sizeof buf, &c.d) == -1);
    CHECK(capture_end(&c, "t.yaml:14:7: error: 'empty' must be a string, got an empty value"));
    static const char *const allowed[] = {"i", "neg", NULL};
    capture_begin(&c);
    CHECK(yt_check_keys(&doc, doc.root, allowed, &c.d) == -1);
    CHECK(capture_end(&c, "t.yaml:3:1: error: unknown key 'f' (expected one of: i, neg)"));
    capture_begin(&c);
    CHECK(yt_expect(&doc, yt_get(doc.root, "list"), YT_MAP, NULL, &c.d) == -1);
    CHECK(capture_end(&c, "t.yaml:16:7: error: expected a map, got a list"));
    yt_free(&doc);
}

static void test_writer(void) {
    char dir[] = "/tmp/attn_test_writerXXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/out.yaml", dir);
    const char *awkward = "q\"uo\\te\nnew\tline \x01 caf\xc3\xa9: - # [x] &a *b";
    yt_writer w;
    CHECK(yt_writer_open(&w, path, NULL) == 0);
    fprintf(w.f, "s: ");
    yt_write_str(w.f, awkward);
    fprintf(w.f, "\nt: ");
    yt_write_str(w.f, "");
    fprintf(w.f, "\n");
    struct stat st;
    CHECK(stat(path, &st) != 0); /* nothing at the target before commit */
    CHECK(yt_writer_commit(&w) == 0);
    yt_doc doc;
    attn_diag d;
    attn_diag_init(&d);
    CHECK(yt_load_file(path, &doc, &d) == 0);
    if (doc.root) {
        const yt_node *s = yt_get(doc.root, "s"), *t = yt_get(doc.root, "t");
        CHECK(s && !strcmp(s->str, awkward) && s->quoted);
        CHECK(t && t->len == 0 && t->quoted);
    }
    yt_free(&doc);
    /* Characters YAML reads as line breaks or a BOM, C1 controls, and bytes that are not
     * UTF-8 (written as U+FFFD, so the file still loads). */
    CHECK(yt_writer_open(&w, path, NULL) == 0);
    fprintf(w.f, "s: ");
    yt_write_str(w.f, "a\xe2\x80\xa8" "b\xe2\x80\xa9" "c\xc2\x85" "d\xef\xbb\xbf" "e\xc2\x9f" "f");
    fprintf(w.f, "\nt: ");
    yt_write_str(w.f, "x\xffy\xc3");
    fprintf(w.f, "\n");
    CHECK(yt_writer_commit(&w) == 0);
    CHECK(yt_load_file(path, &doc, &d) == 0);
    if (doc.root) {
        const yt_node *s = yt_get(doc.root, "s"), *t = yt_get(doc.root, "t");
        CHECK(s && !strcmp(s->str, "a\xe2\x80\xa8" "b\xe2\x80\xa9" "c\xc2\x85" "d\xef\xbb\xbf" "e\xc2\x9f" "f"));
        CHECK(t && !strcmp(t->str, "x\xef\xbf\xbdy\xef\xbf\xbd"));
    }
    yt_free(&doc);
    /* An aborted write leaves the old file as it was and no temporary behind. */
    CHECK(yt_writer_open(&w, path, NULL) == 0);
    fprintf(w.f, "garbage: [\n");
    yt_writer_abort(&w);
    CHECK(yt_load_file(path, &doc, &d) == 0 && yt_get(doc.root, "s"));
    yt_free(&doc);
    CHECK(unlink(path) == 0);
    CHECK(rmdir(dir) == 0); /* fails if a temporary file was left behind */
    /* "-" writes standard output and never renames anything. */
    CHECK(yt_writer_open(&w, "-", NULL) == 0 && w.f == stdout && w.path == NULL);
    fprintf(w.f, "# test_ytree: a line on standard output\n");
    CHECK(yt_writer_commit(&w) == 0);
    /* A target in a missing directory fails cleanly. */
    CHECK(yt_writer_open(&w, "/nonexistent-dir-attn/x.yaml", NULL) == -1);
    captured_diag c;
    capture_begin(&c);
    CHECK(yt_load_file("/nonexistent-dir-attn/x.yaml", &doc, &c.d) == -1);
    CHECK(capture_end(&c, "/nonexistent-dir-attn/x.yaml: error: cannot open"));
    capture_begin(&c);
    CHECK(yt_load_file("/tmp", &doc, &c.d) == -1);
    CHECK(capture_end(&c, "/tmp: error: is a directory"));
}

static void test_read_file(void) {
    /* A file larger than the first read buffer (64 KiB) is read whole. */
    char path[] = "/tmp/attn_test_bigXXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "w");
    CHECK(f != NULL);
    if (!f) return;
    for (int i = 0; i < 20000; i++) fprintf(f, "# padding line %05d\n", i);
    fprintf(f, "last: 7\n");
    CHECK(fclose(f) == 0);
    yt_doc doc;
    attn_diag d;
    attn_diag_init(&d);
    CHECK(yt_load_file(path, &doc, &d) == 0);
    const yt_node *last = yt_get(doc.root, "last");
    CHECK(last && last->line == 20001 && !strcmp(last->str, "7"));
    yt_free(&doc);
    CHECK(unlink(path) == 0);
    /* An endless device stops one byte past the limit (its st_size is not trusted). */
    captured_diag c;
    capture_begin(&c);
    CHECK(yt_load_file("/dev/zero", &doc, &c.d) == -1);
    CHECK(capture_end(&c, "/dev/zero: error: file is larger than 64 MiB"));
}

static void test_diag(void) {
    captured_diag c;
    capture_begin(&c);
    c.d.max_errors = 2;
    for (int i = 0; i < 5; i++) diag_error(&c.d, "f", i + 1, 2, "problem %d", i);
    diag_plain(&c.d, "not shown either");
    CHECK(c.d.nerrors == 6);
    fflush(c.d.out);
    CHECK(c.text && strstr(c.text, "f:1:2: error: problem 0\nf:2:2: error: problem 1\n(further errors not shown)\n"));
    CHECK(c.text && !strstr(c.text, "problem 2") && !strstr(c.text, "not shown either"));
    CHECK(capture_end(&c, "(further errors not shown)"));
    capture_begin(&c);
    diag_plain(&c.d, "plain %s", "message");
    diag_error(&c.d, "f", 3, 0, "no column");
    diag_error(&c.d, "f", 0, 0, "whole file");
    diag_error(&c.d, NULL, 0, 0, "no file");
    fflush(c.d.out);
    CHECK(c.text && !strcmp(c.text, "plain message\nf:3: error: no column\nf: error: whole file\nerror: no file\n"));
    CHECK(capture_end(&c, "plain message"));
    capture_begin(&c);
    c.d.quiet = 1;
    diag_error(&c.d, "f", 1, 1, "quiet");
    CHECK(c.d.nerrors == 1);
    CHECK(capture_end(&c, NULL));
}

static void test_printable(void) {
    char buf[8];
    yt_printable("a\x01\n\x7f" "b", buf, sizeof buf);
    CHECK(!strcmp(buf, "a???b"));
    yt_printable("abcdefghijk", buf, sizeof buf);
    CHECK(!strcmp(buf, "abcd...") && strlen(buf) == 7);
    yt_printable("abcdefg", buf, sizeof buf);
    CHECK(!strcmp(buf, "abcdefg"));
}

int main(void) {
    test_positions();
    test_refusals();
    test_limits();
    test_typed();
    test_writer();
    test_read_file();
    test_diag();
    test_printable();
    return check_finish("test_ytree");
}
