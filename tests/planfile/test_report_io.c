/* test_report_io.c: report sections and measured files: defaults of report_init, bit-exact
 * round trips (measured files with min/max spread, predicted sections without it, zero
 * ranks), and strict rejection of malformed measured files with positions. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "planfile_util.h"
#include "ytree.h"

static const char *dir;
static int case_no;
static const char *sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static void fill(attn_report *r, int n_ranks) {
    CHECK_EQ(report_init(r, n_ranks), 0);
    for (int i = 0; i < MET_COUNT; i++) {
        r->metric[i] = (i + 1) / 3.0;
        r->metric_min[i] = r->metric[i] * 0.75;
        r->metric_max[i] = r->metric[i] * 1.25;
    }
    r->metric[MET_TPOT_S] = INFINITY; /* e.g. no decode measured */
    r->fits = 1;
    r->shortfall_bytes = 0;
    snprintf(r->note, sizeof r->note, "rank-share: collectives not measured");
    for (int i = 0; i < n_ranks; i++)
        for (int ph = 0; ph < PHASE_COUNT; ph++)
            for (int op = 0; op < OP_COUNT; op++) {
                attn_op_cost *c = &r->ranks[i].op[ph][op];
                c->time_s = op == OP_PIPE_P2P ? -1 : 1e-6 * (op + 1) / 7 + i;
                c->flops = 1e9 / (op + 3);
                c->bytes = 3.0e7 / (ph + 11);
            }
    for (int i = 0; i < n_ranks; i++) {
        r->ranks[i].weights_bytes = 1e9 / 3;
        r->ranks[i].memory_bytes = 2e9 / 3 + i;
        r->ranks[i].memory_capacity_bytes = 24.0 * (1 << 30);
    }
}

static void same(const attn_report *a, const attn_report *b) {
    CHECK(!memcmp(a->metric, b->metric, sizeof a->metric));
    CHECK(!memcmp(a->metric_min, b->metric_min, sizeof a->metric_min));
    CHECK(!memcmp(a->metric_max, b->metric_max, sizeof a->metric_max));
    CHECK_EQ(a->n_ranks, b->n_ranks);
    CHECK_EQ(a->fits, b->fits);
    CHECK(!memcmp(&a->shortfall_bytes, &b->shortfall_bytes, sizeof a->shortfall_bytes));
    CHECK(!strcmp(a->note, b->note));
    if (a->n_ranks == b->n_ranks && a->n_ranks)
        CHECK(!memcmp(a->ranks, b->ranks, (size_t)a->n_ranks * sizeof *a->ranks));
}

static void test_alloc(void) {
    attn_report r;
    CHECK_EQ(report_init(&r, 3), 0);
    CHECK(r.n_ranks == 3 && r.fits == 1 && r.ranks != NULL);
    CHECK(r.ranks[2].op[PHASE_DECODE][OP_MLP_DOWN].time_s < 0);
    CHECK(r.ranks[0].op[PHASE_PREFILL][OP_NORM1].flops == 0);
    report_free(&r);
    CHECK(r.ranks == NULL && r.n_ranks == 0);
    CHECK_EQ(report_init(&r, -1), -1);
}

static void test_measured_round_trip(void) {
    char path[1024], got_sha[65] = "";
    attn_report r, q;
    fill(&r, 3);
    pf_diag c;
    pf_diag_begin(&c);
    pf_path(path, sizeof path, dir, "measured.yaml");
    CHECK_EQ(report_write_measured(path, &r, sha, "cpu: 2 cores \"quoted\"", &c.d), 0);
    CHECK_EQ(report_load_measured(path, &q, got_sha, &c.d), 0);
    CHECK(!strcmp(got_sha, sha));
    same(&r, &q);
    report_free(&q);
    /* equal min/max are still written in a measured section */
    for (int i = 0; i < MET_COUNT; i++) r.metric_min[i] = r.metric_max[i] = r.metric[i];
    CHECK_EQ(report_write_measured(path, &r, sha, "", &c.d), 0);
    char *text = pf_read_file(path);
    CHECK(text && strstr(text, "metrics_min:") && strstr(text, "measured_version: 1"));
    free(text);
    CHECK_EQ(report_load_measured(path, &q, NULL, &c.d), 0);
    same(&r, &q);
    report_free(&q);
    CHECK_EQ(c.d.nerrors, 0);
    /* a write that cannot happen leaves nothing behind and says so */
    pf_path(path, sizeof path, dir, "no-such-dir/measured.yaml");
    CHECK_EQ(report_write_measured(path, &r, sha, "", &c.d), -1);
    CHECK(pf_read_file(path) == NULL);
    CHECK(c.d.nerrors > 0);
    pf_diag_end(&c);
    report_free(&r);
}

/* A predicted section inside another document, read with report_read_yaml. */
static void test_section_round_trip(int n_ranks, int spread) {
    char path[1024];
    attn_report r, q;
    fill(&r, n_ranks);
    if (!spread)
        for (int i = 0; i < MET_COUNT; i++) r.metric_min[i] = r.metric_max[i] = r.metric[i];
    pf_path(path, sizeof path, dir, "section.yaml");
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs("other: 1\n", f);
    report_write_yaml(f, "predicted", &r);
    CHECK_EQ(fclose(f), 0);
    char *text = pf_read_file(path);
    CHECK(text != NULL);
    if (text) CHECK((strstr(text, "metrics_min:") != NULL) == spread);
    free(text);
    pf_diag c;
    pf_diag_begin(&c);
    yt_doc doc;
    CHECK_EQ(yt_load_file(path, &doc, &c.d), 0);
    CHECK_EQ(report_read_yaml(&doc, yt_get(doc.root, "predicted"), &q, &c.d), 0);
    same(&r, &q);
    report_free(&q);
    yt_free(&doc);
    if (c.d.nerrors) fprintf(stderr, "%s", pf_diag_text(&c));
    CHECK_EQ(c.d.nerrors, 0);
    pf_diag_end(&c);
    report_free(&r);
}

static void expect_rejected(const char *base, const char *anchor, const char *from, const char *to, const char *msg,
                            const char *line_anchor) {
    char *text = pf_edit(base, anchor, from, to);
    if (!text) {
        fprintf(stderr, "edit not applicable: '%s'\n", from);
        check_failures++;
        return;
    }
    char path[1024], name[64], where[1100];
    snprintf(name, sizeof name, "bad-measured-%02d.yaml", ++case_no);
    pf_path(path, sizeof path, dir, name);
    CHECK_EQ(pf_write_file(path, text), 0);
    attn_report q;
    pf_diag c;
    pf_diag_begin(&c);
    int rc = report_load_measured(path, &q, NULL, &c.d);
    const char *out = pf_diag_text(&c);
    CHECK_EQ(rc, -1);
    if (rc == 0) report_free(&q);
    if (!strstr(out, msg)) {
        fprintf(stderr, "case %d: expected '%s' in:\n%s", case_no, msg, out);
        check_failures++;
    }
    if (line_anchor) {
        int line = pf_line_of(text, line_anchor); /* else where it was before the edit */
        snprintf(where, sizeof where, "%s:%d:", path, line ? line : pf_line_of(base, line_anchor));
        if (!strstr(out, where)) {
            fprintf(stderr, "case %d: expected position '%s' in:\n%s", case_no, where, out);
            check_failures++;
        }
    }
    pf_diag_end(&c);
    free(text);
}

static void test_rejections(void) {
    char path[1024];
    attn_report r;
    fill(&r, 2);
    pf_diag c;
    pf_diag_begin(&c);
    pf_path(path, sizeof path, dir, "good-measured.yaml");
    CHECK_EQ(report_write_measured(path, &r, sha, "test", &c.d), 0);
    pf_diag_end(&c);
    report_free(&r);
    char *base = pf_read_file(path);
    CHECK(base != NULL);
    if (!base) return;
    expect_rejected(base, "measured_version", "measured_version: 1", "measured_version: 2",
                    "measured_version 2 is not supported", "measured_version");
    expect_rejected(base, "plan_sha256", "\"0123", "\"X123", "plan_sha256 must be 64 lowercase hex digits",
                    "plan_sha256");
    expect_rejected(base, "          rope:", "          rope:", "          roap:", "roap", "roap:");
    expect_rejected(base, "    ttft_s:", "ttft_s:", "ttft_seconds:", "ttft_seconds", "ttft_seconds:");
    expect_rejected(base, "metrics_max:", "metrics_max:", "metrics_mux:", "metrics_mux", "metrics_mux:");
    expect_rejected(base, "- rank: 1", "rank: 1", "rank: 0", "entry 1 has rank 0", "- rank: 1");
    expect_rejected(base, "fits:", "fits: true", "fits: maybe", "expected true or false", "fits:");
    expect_rejected(base, "          qkv_proj:", "qkv_proj: [", "qkv_proj: [1, ", "expected [time_s, flops, bytes]",
                    "qkv_proj: [1,");
    expect_rejected(base, "measured:", "measured:", "meeasured:", "meeasured", "meeasured:");
    expect_rejected(base, "  shortfall_bytes:", "shortfall_bytes: 0", "shortfall_bytes: lots", "number",
                    "shortfall_bytes:");
    free(base);
}

/* Drops every line holding one of keys (NULL-terminated) from text; malloc'd. */
static char *drop_lines(const char *text, const char *const *keys) {
    char *out = malloc(strlen(text) + 1), *o = out;
    if (!out) return NULL;
    for (const char *l = text; *l;) {
        const char *e = strchr(l, '\n');
        size_t n = e ? (size_t)(e - l) + 1 : strlen(l);
        int drop = 0;
        for (int k = 0; keys[k] && !drop; k++) {
            const char *hit = strstr(l, keys[k]);
            drop = hit && hit < l + n;
        }
        if (!drop) memcpy(o, l, n), o += n;
        l += n;
    }
    *o = '\0';
    return out;
}

/* A measured file written before the serving metrics (no e2e_latency_s,
 * output_tokens_per_s_per_gpu, tokens_per_s_per_user) reads without a word, those as
 * NaN and everything else as written; an older key missing is still an error. */
static void test_before_serving(void) {
    char path[1024];
    attn_report r, q;
    fill(&r, 2);
    pf_diag c;
    pf_diag_begin(&c);
    pf_path(path, sizeof path, dir, "serving-measured.yaml");
    CHECK_EQ(report_write_measured(path, &r, sha, "test", &c.d), 0);
    pf_diag_end(&c);
    char *base = pf_read_file(path);
    CHECK(base != NULL && strstr(base, "    tokens_per_s_per_user: ") != NULL);
    static const char *const serving[] = {"e2e_latency_s:", "output_tokens_per_s_per_gpu:", "tokens_per_s_per_user:", NULL};
    char *old = base ? drop_lines(base, serving) : NULL;
    CHECK(old != NULL && strstr(old, "e2e_latency_s") == NULL && strstr(old, "tokens_per_s_per_user") == NULL);
    if (old) {
        pf_path(path, sizeof path, dir, "old-measured.yaml");
        CHECK_EQ(pf_write_file(path, old), 0);
        pf_diag_begin(&c);
        CHECK_EQ(report_load_measured(path, &q, NULL, &c.d), 0);
        CHECK_EQ(c.d.nerrors, 0);
        CHECK(strlen(pf_diag_text(&c)) == 0);
        pf_diag_end(&c);
        for (int k = 0; k < MET_COUNT; k++) {
            if (k >= MET_FIRST_SERVING) CHECK(isnan(q.metric[k]) && isnan(q.metric_min[k]) && isnan(q.metric_max[k]));
            else CHECK(!memcmp(&q.metric[k], &r.metric[k], sizeof r.metric[k]) && q.metric_max[k] == r.metric_max[k]);
        }
        report_free(&q);
        static const char *const ttft[] = {"    ttft_s:", NULL};
        char *older = drop_lines(old, ttft);
        CHECK(older != NULL);
        if (older) {
            CHECK_EQ(pf_write_file(path, older), 0);
            pf_diag_begin(&c);
            CHECK_EQ(report_load_measured(path, &q, NULL, &c.d), -1);
            CHECK(strstr(pf_diag_text(&c), "missing metric 'ttft_s'") != NULL);
            pf_diag_end(&c);
            free(older);
        }
    }
    free(old);
    free(base);
    report_free(&r);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_report_io SCRATCH_DIR\n");
        return 2;
    }
    dir = argv[1];
    test_alloc();
    test_measured_round_trip();
    test_before_serving();
    test_section_round_trip(4, 0);
    test_section_round_trip(2, 1);
    test_section_round_trip(0, 0);
    test_rejections();
    return check_finish("test_report_io");
}
