/* test_report.c: `attnplan report` end to end, without a browser. Builds a plan in code
 * (plan_build_even, predicted section from the cost model) for a model whose name and note
 * carry HTML metacharacters, writes it and a measured report derived from it, runs the
 * command (cmd_report) with the cost model's alternatives, with an alternatives file and
 * with bad input, and checks the page: self-contained (nothing fetched, no script),
 * well-formed (tags balance, entities are entities), every chart present with its title and
 * bars, the input's text escaped, and the figures and errors it must state.
 * Usage: test_report SOURCE_DIR SCRATCH_DIR (leaves SCRATCH_DIR/report.html for the
 * Chromium test). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "commands.h"
#include "cost.h"
#include "report_html.h"
#include "sha256.h"
#include "../check.h"

static char scratch[1024], source[1024];

static const char *in_scratch(const char *name) {
    static char bufs[64][1200]; /* enough for every path this test names */
    static int next;
    char *b = bufs[next++ % 64];
    snprintf(b, sizeof bufs[0], "%s/%s", scratch, name);
    return b;
}

static char *read_all(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *s = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[65536];
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *t = realloc(s, cap);
            if (!t) { free(s); fclose(f); return NULL; }
            s = t;
        }
        memcpy(s + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (!s) s = calloc(1, 1);
    else s[len] = '\0';
    return s;
}

static int write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

/* Runs `attnplan report ARGS...` in-process; returns its exit code. */
static int run_report(const char *const *args) {
    char *argv[32];
    int argc = 0;
    argv[argc++] = "report";
    for (; *args && argc < 31; args++) argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    return cmd_report(argc, argv);
}

/* Tags balance (void elements and "/>" aside), raw-text elements are skipped, and every '&'
 * outside tags starts an entity. Returns the number of problems (printed). */
static int check_structure(const char *h) {
    static const char *const void_tags[] = {"meta", "br", "hr", "img", "link", "input", NULL};
    char stack[256][16];
    int depth = 0, problems = 0;
    for (const char *p = h; *p;) {
        if (*p == '&') {
            const char *q = p + 1;
            if (*q == '#') q++;
            while (isalnum((unsigned char)*q)) q++;
            if (*q != ';' || q == p + 1) { fprintf(stderr, "bare '&' at %.20s\n", p); problems++; }
            p++;
            continue;
        }
        if (*p != '<') { p++; continue; }
        if (!strncmp(p, "<!--", 4)) {
            const char *e = strstr(p, "-->");
            if (!e) { problems++; break; }
            p = e + 3;
            continue;
        }
        const char *end = strchr(p, '>');
        if (!end) { fprintf(stderr, "unterminated tag\n"); problems++; break; }
        if (p[1] == '!') { p = end + 1; continue; }
        int closing = p[1] == '/';
        const char *n0 = p + 1 + closing, *n1 = n0;
        while (isalnum((unsigned char)*n1)) n1++;
        char name[16] = "";
        if (n1 == n0 || n1 - n0 >= (long)sizeof name) { fprintf(stderr, "bad tag at %.30s\n", p); problems++; p = end + 1; continue; }
        memcpy(name, n0, (size_t)(n1 - n0));
        for (const char *q = n1; q < end; q++) /* '<' inside a tag: an escaping failure */
            if (*q == '<') { fprintf(stderr, "'<' inside tag %s\n", name); problems++; break; }
        int self_closing = end[-1] == '/';
        int is_void = 0;
        for (int i = 0; void_tags[i]; i++) is_void |= !strcasecmp(name, void_tags[i]);
        if (closing) {
            if (depth == 0 || strcmp(stack[depth - 1], name)) {
                fprintf(stderr, "</%s> closes <%s>\n", name, depth ? stack[depth - 1] : "(nothing)");
                problems++;
            } else depth--;
        } else if (!self_closing && !is_void) {
            if (depth >= 256) { problems++; break; }
            strcpy(stack[depth++], name);
            if (!strcmp(name, "style")) { /* raw text up to </style> */
                const char *e = strstr(end, "</style>");
                if (!e) { problems++; break; }
                p = e;
                continue;
            }
        }
        p = end + 1;
    }
    if (depth != 0) { fprintf(stderr, "%d unclosed tags (innermost <%s>)\n", depth, stack[depth - 1]); problems++; }
    return problems;
}

/* The <svg> with this id: its text up to </svg> (malloc'd), or NULL. */
static char *svg_by_id(const char *html, const char *id) {
    char key[128];
    snprintf(key, sizeof key, "<svg id=\"%s\"", id);
    const char *s = strstr(html, key);
    if (!s) return NULL;
    const char *e = strstr(s, "</svg>");
    if (!e) return NULL;
    size_t n = (size_t)(e - s) + 6;
    char *out = malloc(n + 1);
    if (!out) return NULL;
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

static void check_chart(const char *html, const char *id, int min_rects, const char *must_contain) {
    char *svg = svg_by_id(html, id);
    CHECK(svg != NULL, "no <svg id=\"%s\">", id);
    if (!svg) return;
    const char *tag_end = strchr(svg, '>');
    CHECK(tag_end && !strncmp(tag_end + 1, "\n<title>", 8), "%s: the svg does not start with a <title>", id);
    int rects = count(svg, "<rect");
    CHECK(rects >= min_rects, "%s: %d <rect> elements, expected at least %d", id, rects, min_rects);
    if (must_contain) CHECK(strstr(svg, must_contain) != NULL, "%s: lacks '%s'", id, must_contain);
    free(svg);
}

static void check_self_contained(const char *html, const char *what) {
    static const char *const banned[] = {"http://", "https://", "<script", "<link", "<img", "<iframe", "@import",
                                         "url(", "src=", "href=", NULL};
    for (int i = 0; banned[i]; i++) {
        int found = 0;
        for (const char *p = html; *p && !found; p++) found = !strncasecmp(p, banned[i], strlen(banned[i]));
        CHECK(!found, "%s: contains '%s' (not self-contained)", what, banned[i]);
    }
    CHECK(!strncmp(html, "<!DOCTYPE html>", 15), "%s: no doctype", what);
    CHECK(check_structure(html) == 0, "%s: not well-formed", what);
}

/* A measured report as attnrun would write it: prefill 10% slower, decode 5% faster; the
 * prefill collectives measured on rank 0 only, the decode ones nowhere (as in a partial run). */
static int write_measured(const attn_plan *p, const char *plan_path, const char *path, int n_ranks) {
    attn_report m;
    if (n_ranks > p->predicted.n_ranks || report_init(&m, n_ranks) != 0) return -1;
    memcpy(m.ranks, p->predicted.ranks, sizeof *m.ranks * (size_t)n_ranks);
    for (int r = 0; r < m.n_ranks; r++)
        for (int o = 0; o < OP_COUNT; o++) {
            m.ranks[r].op[PHASE_PREFILL][o].time_s *= 1.10;
            m.ranks[r].op[PHASE_DECODE][o].time_s *= 0.95;
            if (attn_op_table[o].cls == OPCLASS_COMM) {
                m.ranks[r].op[PHASE_DECODE][o].time_s = -1;
                if (r > 0) m.ranks[r].op[PHASE_PREFILL][o].time_s = -1;
            }
        }
    for (int k = 0; k < MET_COUNT; k++) m.metric[k] = p->predicted.metric[k];
    m.metric[MET_PREFILL_TOKENS_PER_S] /= 1.10;
    m.metric[MET_TTFT_S] *= 1.10;
    m.metric[MET_TPOT_S] *= 0.95;
    m.metric[MET_DECODE_TOKENS_PER_S] /= 0.95;
    for (int k = 0; k < MET_COUNT; k++) {
        m.metric_min[k] = m.metric[k] * 0.98;
        m.metric_max[k] = m.metric[k] * 1.03;
    }
    m.fits = p->predicted.fits;
    snprintf(m.note, sizeof m.note, "test fixture <measured & \"noted\">");
    char sha[65];
    attn_diag d;
    attn_diag_init(&d);
    int rc = sha256_file(plan_path, sha) == 0 ? report_write_measured(path, &m, sha, "test machine", &d) : -1;
    report_free(&m);
    return rc;
}

static int build_plan(attn_plan *p, attn_topology *t) {
    attn_diag d;
    attn_diag_init(&d);
    char path[1200];
    snprintf(path, sizeof path, "%s/topologies/dgx-h100-x1.yaml", source);
    if (topology_load(path, t, &d) != 0) return -1;
    attn_model m;
    memset(&m, 0, sizeof m);
    /* metacharacters in every text the page shows from its inputs */
    snprintf(m.name, sizeof m.name, "gqa<b>&\"test\"</b><script>x</script>");
    m.arch = ARCH_LLAMA;
    m.layers = 16;
    m.heads = 32;
    m.kv_heads = 8;
    m.head_dim = 128;
    m.hidden = 4096;
    m.ffn_hidden = 14336;
    m.norm_eps = 1e-5;
    m.rope_theta = 500000;
    m.dtype = DTYPE_BF16;
    m.workload = (attn_workload){.batch = 8, .seq_len = 4096, .decode_tokens = 64, .microbatches = 0};
    attn_strategy s;
    char err[256];
    if (strategy_parse("dp=1,pp=2,n=2,m=2,scheme=score-allreduce", &s, err, sizeof err) != 0) return -1;
    s.microbatches = plan_resolve_microbatches(0, m.workload.batch, s.pp);
    memset(p, 0, sizeof *p);
    if (plan_build_even(p, &m, t, &s, err, sizeof err) != 0) {
        fprintf(stderr, "plan_build_even: %s\n", err);
        return -1;
    }
    cost_options o;
    cost_options_default(&o);
    cost_detail det;
    if (cost_price_plan(p, t, &o, &p->predicted, &det) != 0) {
        fprintf(stderr, "cost_price_plan: %s\n", det.reason);
        return -1;
    }
    p->has_predicted = 1;
    snprintf(p->objective, sizeof p->objective, "throughput");
    snprintf(p->predicted.note, sizeof p->predicted.note, "note with <tags> & 'quotes'");
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: test_report SOURCE_DIR SCRATCH_DIR\n");
        return 2;
    }
    snprintf(source, sizeof source, "%s", argv[1]);
    snprintf(scratch, sizeof scratch, "%s", argv[2]);
    attn_plan plan;
    attn_topology topo;
    if (build_plan(&plan, &topo) != 0) { fprintf(stderr, "cannot build the test plan\n"); return 1; }
    attn_diag d;
    attn_diag_init(&d);
    const char *plan_path = in_scratch("plan.yaml"), *meas_path = in_scratch("measured.yaml");
    if (plan_write(plan_path, &plan, &d) != 0 || write_measured(&plan, plan_path, meas_path, plan.world) != 0) {
        fprintf(stderr, "cannot write the fixtures\n");
        return 1;
    }
    char topo_path[1200];
    snprintf(topo_path, sizeof topo_path, "%s/topologies/dgx-h100-x1.yaml", source);

    /* 1. the full report: cost-model alternatives on the recorded topology, one measured file */
    const char *out = in_scratch("report.html");
    CHECK(run_report((const char *[]){plan_path, meas_path, "-o", out, NULL}) == 0, "report failed");
    char *html = read_all(out);
    CHECK(html != NULL, "no report written");
    if (html) {
        check_self_contained(html, "report.html");
        check_chart(html, "chart-ranked-prefill", 8, "this plan");
        check_chart(html, "chart-ranked-tpot", 8, "lower is better");
        check_chart(html, "chart-ops-prefill", 10, "attn_comm");
        check_chart(html, "chart-ops-decode", 10, "pipe_p2p");
        check_chart(html, "chart-memory", 4, "capacity 80");
        /* the serving front: points faster per user first, each less so and more per GPU than
         * the one before (cx falls, cy falls: up is more), and the plan marked */
        char *front = svg_by_id(html, "chart-front");
        CHECK(front && strstr(front, "this plan: "), "no serving front with the plan marked");
        int pts = 0, mono = 1;
        double px = 0, py = 0;
        for (const char *q = front ? strstr(front, "<circle cx=\"") : NULL; q; q = strstr(q + 1, "<circle cx=\"")) {
            double cx, cy;
            if (sscanf(q, "<circle cx=\"%lf\" cy=\"%lf\"", &cx, &cy) != 2) { mono = 0; break; }
            if (pts > 0 && !(cx < px && cy < py)) mono = 0;
            px = cx, py = cy, pts++;
        }
        CHECK(pts >= 3 && mono, "the serving front has %d points%s", pts, mono ? "" : ", not a front");
        free(front);
        check_chart(html, "chart-measured-metrics-1", 8, "predicted 10.0% high");
        check_chart(html, "chart-measured-prefill-1", 10, "predicted 9.1% low");
        check_chart(html, "chart-measured-decode-1", 10, "not measured");
        /* the input's text arrives escaped, never as markup */
        CHECK(strstr(html, "gqa&lt;b&gt;&amp;&quot;test&quot;&lt;/b&gt;&lt;script&gt;") != NULL, "model name not escaped");
        CHECK(strstr(html, "<b>&") == NULL, "raw model name in the page");
        CHECK(strstr(html, "note with &lt;tags&gt; &amp; &#39;quotes&#39;") != NULL, "note not escaped");
        /* the summary states the figures, the verdict on memory and the ranking */
        char fig[64], sum[4096];
        const char *s0 = strstr(html, "<p class=\"summary\""), *s1 = s0 ? strstr(s0, "</p>") : NULL;
        CHECK(s0 && s1 && s1 - s0 < (long)sizeof sum, "no summary paragraph");
        if (s0 && s1 && s1 - s0 < (long)sizeof sum) {
            memcpy(sum, s0, (size_t)(s1 - s0));
            sum[s1 - s0] = '\0';
            report_fmt_metric(MET_PREFILL_TOKENS_PER_S, plan.predicted.metric[MET_PREFILL_TOKENS_PER_S], fig, sizeof fig);
            CHECK(strstr(sum, fig) != NULL, "summary lacks the prefill figure %s", fig);
            report_fmt_metric(MET_TPOT_S, plan.predicted.metric[MET_TPOT_S], fig, sizeof fig);
            CHECK(strstr(sum, fig) != NULL, "summary lacks the TPOT figure %s", fig);
            CHECK(strstr(sum, plan.predicted.fits ? "it fits" : "does not fit") != NULL, "summary lacks the memory verdict");
            CHECK(strstr(sum, "strategies that fit") != NULL, "summary lacks the ranking");
            CHECK(strstr(sum, "Measured (") != NULL && strstr(sum, "predicted 10.0% high"), "summary lacks the measurement");
        }
        CHECK(strstr(html, "Alternatives: every strategy for 8 devices") != NULL, "alternatives not priced");
    }

    /* 2. --topology names the file explicitly: the same alternatives */
    const char *out2 = in_scratch("report-topology.html");
    CHECK(run_report((const char *[]){plan_path, "--topology", topo_path, "--top", "3", "-o", out2, NULL}) == 0,
          "report --topology failed");
    char *html2 = read_all(out2);
    CHECK(html2 && strstr(html2, "Alternatives: every strategy for 8 devices"), "--topology: no alternatives");
    CHECK(html2 && !strstr(html2, "chart-measured"), "measured charts without a measured file");
    if (html2) {
        check_self_contained(html2, "report-topology.html");
        char *svg = svg_by_id(html2, "chart-ranked-prefill");
        CHECK(svg && strstr(svg, ">3. ") && !strstr(svg, ">4. "), "--top 3 not honoured");
        free(svg);
    }
    free(html2);

    /* 2b. a plan whose own figures beat its even split (as a balanced plan can): ranked by its
     * own figures, first, with the even split kept beside it */
    attn_plan boosted = plan;
    boosted.predicted.metric[MET_PREFILL_TOKENS_PER_S] *= 100;
    boosted.predicted.metric[MET_TTFT_S] /= 100;
    const char *boosted_path = in_scratch("plan-boosted.yaml"), *out2b = in_scratch("report-boosted.html");
    CHECK(plan_write(boosted_path, &boosted, &d) == 0, "cannot write %s", boosted_path);
    CHECK(run_report((const char *[]){boosted_path, "--top", "50", "-o", out2b, NULL}) == 0,
          "report of the boosted plan failed");
    char *html2b = read_all(out2b);
    CHECK(html2b && strstr(html2b, "ranks <b>1st of"), "the plan is not ranked by its own figures");
    char *svg2b = html2b ? svg_by_id(html2b, "chart-ranked-prefill") : NULL;
    CHECK(svg2b && strstr(svg2b, "(even split)"), "the plan's even split is not shown beside it");
    free(svg2b);
    free(html2b);

    /* 2c. a plan with the sequence axis: the strategy line names its slices, and the plan is
     * found among the cost model's alternatives (s, cp and weights part of the match) */
    {
        attn_strategy sq;
        attn_plan ps;
        char serr[256];
        CHECK(strategy_parse("s=2,n=2,m=2,scheme=head-alltoall,cp=ring,weights=sharded", &sq, serr, sizeof serr) == 0, "%s",
              serr);
        int built = cost_price_strategy(&plan.model, &topo, &sq, NULL, &ps, NULL, serr, sizeof serr) == 0;
        CHECK(built, "cannot price the s=2 plan: %s", serr);
        const char *seq_path = in_scratch("plan-seq.yaml"), *out2c = in_scratch("report-seq.html");
        if (built) {
            CHECK(plan_write(seq_path, &ps, &d) == 0, "cannot write %s", seq_path);
            CHECK(run_report((const char *[]){seq_path, "-o", out2c, NULL}) == 0, "report of the s=2 plan failed");
            char *h = read_all(out2c);
            CHECK(h && strstr(h, "2 sequence slices (ring K/V in prefill, weights sharded) \xc3\x97 2 head groups"),
                  "the strategy line lacks the sequence axis");
            CHECK(h && strstr(h, "it ranks <b>"), "the s=2 plan is not found among the alternatives");
            if (h) check_self_contained(h, "report-seq.html");
            free(h);
            /* the plan's twin is the alternative with its cp and weights, not a sibling */
            const char *sibs[] = {"s=2,n=2,m=2,scheme=head-alltoall,cp=allgather,weights=sharded",
                                  "s=2,n=2,m=2,scheme=head-alltoall,cp=ring,weights=replicated",
                                  "n=4,m=2,scheme=head-alltoall",
                                  "s=2,n=2,m=2,scheme=head-alltoall,cp=ring,weights=sharded"};
            report_alternative alts[4];
            memset(alts, 0, sizeof alts);
            for (int i = 0; i < 4; i++) {
                snprintf(alts[i].strategy, sizeof alts[i].strategy, "%s", sibs[i]);
                CHECK(strategy_parse(sibs[i], &alts[i].parsed, serr, sizeof serr) == 0, "%s", serr);
            }
            report_input ri;
            memset(&ri, 0, sizeof ri);
            ri.plan = &ps, ri.n_alt = 4, ri.alt = alts;
            CHECK(report_find_plan_alt(&ri) == 3, "the s=2 plan's twin is alternative %d, not 3", report_find_plan_alt(&ri));
            /* a plan chosen for output tokens/s per GPU is ranked by it */
            snprintf(ps.objective, sizeof ps.objective, "throughput-per-gpu");
            const char *gpu_path = in_scratch("plan-per-gpu.yaml"), *out2d = in_scratch("report-per-gpu.html");
            CHECK(plan_write(gpu_path, &ps, &d) == 0, "cannot write %s", gpu_path);
            CHECK(run_report((const char *[]){gpu_path, "-o", out2d, NULL}) == 0, "report of the per-GPU plan failed");
            char *hg = read_all(out2d);
            CHECK(hg && strstr(hg, "id=\"chart-ranked-per-gpu\"") && strstr(hg, "By output tokens/s per GPU it ranks <b>"),
                  "the per-GPU plan is not ranked by output tokens/s per GPU");
            CHECK(hg && !strstr(hg, "id=\"chart-ranked-prefill\""), "the per-GPU plan's page ranks by prefill");
            free(hg);
            plan_free(&ps);
        }
    }

    /* 3. an alternatives file instead of the cost model (ranked by the file's figures) */
    const char *alt_path = in_scratch("alternatives.yaml");
    CHECK(write_text(alt_path,
                     "alternatives:\n"
                     "  - {strategy: \"dp=1,pp=1,n=8,m=1\", prefill_tokens_per_s: 2.0e5, tpot_s: 0.004}\n"
                     "  - {strategy: \"dp=2,pp=2,n=2,m=1\", prefill_tokens_per_s: 3.0e5, tpot_s: 0.006,\n"
                     "     comm_fraction: 0.1}\n"
                     "  - {strategy: \"dp=8,pp=1,n=1,m=1\", prefill_tokens_per_s: 9.0e5, tpot_s: 0.002,\n"
                     "     fits: false, shortfall_bytes: 3.5e9, reason: \"<too big>\"}\n") == 0,
          "cannot write %s", alt_path);
    const char *out3 = in_scratch("report-alt.html");
    CHECK(run_report((const char *[]){plan_path, "--alternatives", alt_path, "-o", out3, NULL}) == 0,
          "report --alternatives failed");
    char *html3 = read_all(out3);
    if (html3) {
        check_self_contained(html3, "report-alt.html");
        char *svg = svg_by_id(html3, "chart-ranked-prefill");
        CHECK(svg && strstr(svg, "1. dp=2,pp=2,n=2,m=1") && strstr(svg, "2. dp=1,pp=1,n=8,m=1"),
              "alternatives file: wrong ranking");
        CHECK(svg && strstr(svg, "does not fit (3.5 GB over)"), "alternatives file: the misfit is not marked");
        free(svg);
        CHECK(strstr(html3, "Alternatives: from ") != NULL, "alternatives file not named");
    } else CHECK(0, "no report from the alternatives file");
    free(html3);

    /* 3b. an empty list: the page still shows the plan's own row and says the list is empty */
    const char *empty_alt = in_scratch("empty-alternatives.yaml"), *out3b = in_scratch("report-empty.html");
    CHECK(write_text(empty_alt, "alternatives: []\n") == 0, "cannot write %s", empty_alt);
    CHECK(run_report((const char *[]){plan_path, "--alternatives", empty_alt, "-o", out3b, NULL}) == 0,
          "report with an empty alternatives list failed");
    char *html3b = read_all(out3b);
    CHECK(html3b && strstr(html3b, "The list of alternatives is empty."), "empty list not explained");
    if (html3b) {
        check_self_contained(html3b, "report-empty.html");
        check_chart(html3b, "chart-ranked-prefill", 1, "this plan");
    }
    free(html3b);

    /* 4. the recorded topology has gone: still a report, saying why there is no ranking */
    attn_plan moved = plan;
    int cut = snprintf(moved.topology_path, sizeof moved.topology_path, "%.900s/no-such-topology.yaml", scratch);
    CHECK(cut > 0 && cut < (int)sizeof moved.topology_path, "scratch path too long");
    const char *moved_path = in_scratch("plan-moved.yaml"), *out4 = in_scratch("report-moved.html");
    CHECK(plan_write(moved_path, &moved, &d) == 0, "cannot write %s", moved_path);
    CHECK(run_report((const char *[]){moved_path, "-o", out4, NULL}) == 0, "report without topology failed");
    char *html4 = read_all(out4);
    CHECK(html4 && strstr(html4, "did not load"), "missing topology not explained");
    if (html4) check_self_contained(html4, "report-moved.html");
    free(html4);

    /* 5. bad usage and bad input: exit 2; an unwritable output: exit 1 and no file */
    const char *bad_alt = in_scratch("bad-alt.yaml");
    CHECK(write_text(bad_alt, "alternatives:\n  - {strategy: \"dp=1,pp=1,n=8,m=1\", tpot_s: 1, colour: red}\n") == 0,
          "cannot write %s", bad_alt);
    const char *out5 = in_scratch("never.html");
    CHECK(run_report((const char *[]){plan_path, NULL}) == 2, "missing -o accepted");
    CHECK(run_report((const char *[]){"-o", out5, NULL}) == 2, "missing PLAN accepted");
    CHECK(run_report((const char *[]){in_scratch("absent.yaml"), "-o", out5, NULL}) == 2, "absent plan accepted");
    CHECK(run_report((const char *[]){plan_path, "--top", "0", "-o", out5, NULL}) == 2, "--top 0 accepted");
    CHECK(run_report((const char *[]){plan_path, "--bogus", "-o", out5, NULL}) == 2, "unknown option accepted");
    CHECK(run_report((const char *[]){plan_path, "--alternatives", bad_alt, "-o", out5, NULL}) == 2,
          "bad alternatives file accepted");
    CHECK(run_report((const char *[]){plan_path, "--alternatives", alt_path, "--topology", topo_path, "-o", out5,
                                      NULL}) == 2, "--alternatives with --topology accepted");
    CHECK(run_report((const char *[]){plan_path, alt_path, "-o", out5, NULL}) == 2, "a non-measured file accepted");
    const char *short_meas = in_scratch("measured-short.yaml");
    CHECK(write_measured(&plan, plan_path, short_meas, plan.world - 1) == 0, "cannot write %s", short_meas);
    CHECK(run_report((const char *[]){plan_path, short_meas, "-o", out5, NULL}) == 2,
          "a measurement with too few ranks accepted");
    /* a measurement of another plan file: refused as by attnplan compare, or flagged with --force */
    CHECK(run_report((const char *[]){moved_path, meas_path, "-o", out5, NULL}) == 2,
          "a measurement of another plan accepted");
    const char *out6 = in_scratch("report-forced.html");
    CHECK(run_report((const char *[]){moved_path, meas_path, "--force", "-o", out6, NULL}) == 0, "--force refused");
    char *html6 = read_all(out6);
    CHECK(html6 && strstr(html6, "measured on a different plan file"), "--force: the mismatch is not flagged");
    free(html6);
    CHECK(access(out5, F_OK) != 0, "a report was written despite bad input");
    CHECK(run_report((const char *[]){plan_path, "-o", in_scratch("no/such/dir/r.html"), NULL}) == 1,
          "unwritable output not reported as failure");

    free(html);
    plan_free(&plan);
    topology_free(&topo);
    if (check_failures) {
        fprintf(stderr, "test_report: %d check(s) failed\n", check_failures);
        return 1;
    }
    printf("test_report: all checks passed\n");
    return 0;
}
