/* report_html.c: the page of `attnplan report`: a summary paragraph (the winner, why it
 * wins, whether it fits), the key figures, the charts of report_charts.c and
 * report_measured.c, and the plan's facts, in one HTML file with inline CSS. No script, no
 * font or image is fetched, so it reads the same offline. Every string that came from an
 * input file (names, paths, notes) goes through svg_escaped. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "report_html.h"

static const char page_css[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#1d2430;"
    "max-width:1000px;margin:24px auto;padding:0 16px;background:#fff}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 6px;border-bottom:1px solid #dde3ea;"
    "padding-bottom:3px}.src{color:#5b6675;font-size:12px;margin:0 0 12px;word-break:break-all}"
    ".summary{background:#f3f6fa;border-left:4px solid #d9822b;padding:10px 14px;margin:12px 0}"
    ".bad{color:#b8391f;font-weight:600}.good{color:#2e7d4f;font-weight:600}"
    "table{border-collapse:collapse;margin:6px 0 10px;font-size:13px}"
    "th,td{padding:3px 10px;border-bottom:1px solid #e3e8ee;text-align:left}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f6fa}"
    "figure{margin:10px 0 18px}figcaption,.cap{color:#5b6675;font-size:12px;margin-top:2px}"
    "svg.chart{display:block;max-width:100%;height:auto;margin:6px 0}"
    "svg text{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;font-size:11px;fill:#1d2430}"
    "svg .ttl{font-size:13px;font-weight:600}svg .head{font-size:11.5px;font-weight:600;fill:#5b6675}"
    "svg .lbl.em{font-weight:700}svg .mut{fill:#8a94a3}svg .sub{fill:#5b6675;font-size:10.5px}"
    "svg .val{font-weight:600}svg .note{fill:#5b6675}svg .val,svg .note,svg .det{paint-order:stroke;stroke:#fff;"
    "stroke-width:3px;stroke-linejoin:round}svg .seg{font-size:10px}svg .tick{fill:#5b6675;font-size:10px}"
    "svg .axt{fill:#3b4656}svg .bar{stroke:#fff;stroke-width:.6}svg .hl{fill:#fff1dc}"
    "svg .axis{stroke:#8a94a3}svg .grid{stroke:#e6eaef}svg .mark{stroke:#b8391f;stroke-width:1.5;"
    "stroke-dasharray:5 3}svg .markt{fill:#b8391f;font-weight:600}svg .det{font-size:10.5px;fill:#3b4656}svg .whisk{stroke:#1d2430;stroke-width:1.2;fill:none}"
    "svg .hit{fill:transparent}footer{color:#8a94a3;font-size:12px;margin:30px 0 10px}";

static void put_fmt_metric(svg_buf *b, int met, double v) {
    char s[64];
    report_fmt_metric(met, v, s, sizeof s);
    svg_escaped(b, s);
}

static const char *ordinal_suffix(int n) {
    if (n % 100 >= 11 && n % 100 <= 13) return "th";
    return n % 10 == 1 ? "st" : n % 10 == 2 ? "nd" : n % 10 == 3 ? "rd" : "th";
}


/* The plan is ranked by one metric; say which fitting strategy is best by the other one
 * when that is not (about) the plan, since the choice trades one for the other. */
static void summary_other_metric(svg_buf *b, const report_input *in, int met) {
    int higher = attn_metric_table[met].higher_is_better;
    const report_alternative *best = NULL;
    for (int i = 0; i < in->n_alt; i++) {
        const report_alternative *a = &in->alt[i];
        double v = a->metric[met];
        if (a->status != REPORT_ALT_OK || !isfinite(v) || v <= 0) continue;
        if (!best || (higher ? v > best->metric[met] : v < best->metric[met])) best = a;
    }
    double mine = in->plan->predicted.metric[met];
    if (!best || !isfinite(mine) || mine <= 0) return;
    double rel = (best->metric[met] - mine) / mine;
    if (fabs(rel) < 0.005) return;
    svg_printf(b, " By %s the best is <b>", report_metric_names[met]);
    svg_escaped(b, best->strategy);
    svg_printf(b, "</b> (");
    put_fmt_metric(b, met, best->metric[met]);
    svg_printf(b, " against ");
    put_fmt_metric(b, met, mine);
    svg_printf(b, ").");
}

static void summary_ranking(svg_buf *b, const report_input *in) {
    const attn_plan *p = in->plan;
    int key = in->rank_key;
    if (in->alt_missing) {
        svg_printf(b, " ");
        svg_escaped(b, in->alt_source);
        return;
    }
    if (in->n_alt == 0) {
        svg_printf(b, " The list of alternatives is empty.");
        return;
    }
    report_ranked *rk;
    int plan_pos, nr = report_ranking(in, &rk, &plan_pos), n_ok = 0;
    if (nr < 0) return;
    const report_alternative *other = NULL; /* the runner-up, or the best when the plan is not */
    int rank = rk[plan_pos].rank;
    for (int i = 0; i < nr; i++) {
        if (rk[i].rank > 0) n_ok++;
        if (rk[i].alt && rk[i].rank == (rank == 1 ? 2 : 1)) other = rk[i].alt;
    }
    free(rk);
    if (n_ok == 0) {
        svg_printf(b, " None of the %d alternatives fits either.", in->n_alt);
        return;
    }
    if (rank == 1 && !other) {
        svg_printf(b, " It is the only strategy that fits among the %d priced.", in->n_alt);
        return;
    }
    double mine = p->predicted.metric[key];
    if (rank > 0) svg_printf(b, " By %s it ranks <b>%d%s of %d</b> strategies that fit",
                             report_metric_names[key], rank, ordinal_suffix(rank), n_ok);
    else svg_printf(b, " Of the %d strategies that fit", n_ok);
    if (!other) { svg_printf(b, "."); return; }
    double ov = other->metric[key], rel = (ov - mine) / fabs(mine);
    svg_printf(b, rank == 1 ? "; the runner-up, <b>" : rank > 0 ? "; the best, <b>" : ", the best, <b>");
    svg_escaped(b, other->strategy);
    svg_printf(b, "</b>, ");
    if (isfinite(rel) && fabs(rel) >= 0.0005)
        svg_printf(b, "is %.1f%% %s (", 100 * fabs(rel),
                   key == MET_TPOT_S ? (rel > 0 ? "slower" : "faster") : (rel > 0 ? "faster" : "slower"));
    else svg_printf(b, "is as good (");
    put_fmt_metric(b, key, ov);
    svg_printf(b, ")");
    double mc = p->predicted.metric[MET_COMM_FRACTION], oc = other->metric[MET_COMM_FRACTION];
    if (isfinite(mc) && isfinite(oc) && fabs(mc - oc) >= 0.01)
        svg_printf(b, " and spends %.0f%% of its time communicating, against %.0f%% for this plan", 100 * oc, 100 * mc);
    svg_printf(b, ".");
    summary_other_metric(b, in, key == MET_TPOT_S ? MET_PREFILL_TOKENS_PER_S : MET_TPOT_S);
}

static void summary_why(svg_buf *b, const attn_plan *p) {
    const attn_report *r = &p->predicted;
    int crit = report_critical_rank(r, PHASE_PREFILL);
    if (crit < 0) return;
    const attn_rank_report *rk = &r->ranks[crit];
    double total = report_rank_time(rk, PHASE_PREFILL, -1);
    if (!(total > 0)) return;
    int big = -1;
    for (int o = 0; o < OP_COUNT; o++) {
        double t = rk->op[PHASE_PREFILL][o].time_s;
        if (isfinite(t) && (big < 0 || t > rk->op[PHASE_PREFILL][big].time_s)) big = o;
    }
    svg_printf(b, " Why: on its slowest device the prefill is %.0f%% compute, %.0f%% memory-bound and %.0f%% "
                  "communication",
               100 * report_rank_time(rk, PHASE_PREFILL, OPCLASS_COMPUTE) / total,
               100 * report_rank_time(rk, PHASE_PREFILL, OPCLASS_MEMORY) / total,
               100 * report_rank_time(rk, PHASE_PREFILL, OPCLASS_COMM) / total);
    if (big >= 0) {
        char t[32];
        svg_fmt_time(rk->op[PHASE_PREFILL][big].time_s, t, sizeof t);
        svg_printf(b, "; its largest op is %s (%s, %.0f%%)", attn_op_table[big].key, t,
                   100 * rk->op[PHASE_PREFILL][big].time_s / total);
    }
    int dcrit = report_critical_rank(r, PHASE_DECODE);
    double dt = dcrit >= 0 ? report_rank_time(&r->ranks[dcrit], PHASE_DECODE, -1) : 0;
    if (dt > 0)
        svg_printf(b, ", and a decode step is %.0f%% communication",
                   100 * report_rank_time(&r->ranks[dcrit], PHASE_DECODE, OPCLASS_COMM) / dt);
    svg_printf(b, ".");
}

static void summary_measured(svg_buf *b, const report_input *in) {
    for (int k = 0; k < in->n_measured; k++) {
        const report_measured *m = &in->measured[k];
        svg_printf(b, " Measured (");
        svg_escaped(b, m->path);
        svg_printf(b, "):");
        static const int shown[] = {MET_PREFILL_TOKENS_PER_S, MET_TPOT_S};
        for (size_t j = 0; j < sizeof shown / sizeof shown[0]; j++) {
            int met = shown[j];
            char err[48];
            report_fmt_error(in->plan->predicted.metric[met], m->report.metric[met], err, sizeof err);
            svg_printf(b, "%s %s ", j ? "," : "", report_metric_names[met]);
            put_fmt_metric(b, met, m->report.metric[met]);
            svg_printf(b, " (%s)", err);
        }
        svg_printf(b, ".");
        if (m->plan_matches == 0)
            svg_printf(b, " <span class=\"bad\">It was measured on a different plan file (--force).</span>");
    }
}

static void write_summary(svg_buf *b, const report_input *in) {
    const attn_plan *p = in->plan;
    const attn_report *r = &p->predicted;
    char strat[96];
    report_strategy_label(&p->strategy, strat, sizeof strat);
    svg_printf(b, "<p class=\"summary\" id=\"summary\"><b>");
    svg_escaped(b, strat);
    svg_printf(b, "</b> runs ");
    svg_escaped(b, p->model.name);
    svg_printf(b, " on %d devices of ", p->world);
    svg_escaped(b, p->topology_name);
    svg_printf(b, ". The cost model predicts a prefill of <b>");
    put_fmt_metric(b, MET_PREFILL_TOKENS_PER_S, r->metric[MET_PREFILL_TOKENS_PER_S]);
    svg_printf(b, "</b> (TTFT ");
    put_fmt_metric(b, MET_TTFT_S, r->metric[MET_TTFT_S]);
    svg_printf(b, " for %d \xc3\x97 %d tokens) and a decode step (TPOT) of <b>", p->model.workload.batch,
               p->model.workload.seq_len);
    put_fmt_metric(b, MET_TPOT_S, r->metric[MET_TPOT_S]);
    svg_printf(b, "</b>; peak memory is ");
    put_fmt_metric(b, MET_PEAK_MEMORY_BYTES, r->metric[MET_PEAK_MEMORY_BYTES]);
    double cap = r->n_ranks > 0 ? r->ranks[0].memory_capacity_bytes : 0;
    if (cap > 0) {
        char cs[24];
        svg_fmt_bytes(cap, cs, sizeof cs);
        svg_printf(b, " of %s per device", cs);
    }
    if (r->fits) svg_printf(b, ": <span class=\"good\">it fits</span>.");
    else {
        char sh[24];
        svg_fmt_bytes(r->shortfall_bytes, sh, sizeof sh);
        svg_printf(b, ": <span class=\"bad\">it does not fit, %s over on the fullest device</span>.", sh);
    }
    summary_ranking(b, in);
    summary_why(b, p);
    summary_measured(b, in);
    svg_printf(b, "</p>\n");
}

static void write_key_figures(svg_buf *b, const report_input *in) {
    svg_printf(b, "<table id=\"figures\"><tr><th>metric</th><th>predicted</th>");
    for (int k = 0; k < in->n_measured; k++) {
        svg_printf(b, "<th>measured: ");
        const char *s = strrchr(in->measured[k].path, '/');
        svg_escaped(b, s ? s + 1 : in->measured[k].path);
        svg_printf(b, "</th><th>error</th>");
    }
    svg_printf(b, "</tr>\n");
    for (int met = 0; met < MET_COUNT; met++) {
        svg_printf(b, "<tr><td>%s</td><td class=\"num\">", report_metric_names[met]);
        put_fmt_metric(b, met, in->plan->predicted.metric[met]);
        svg_printf(b, "</td>");
        for (int k = 0; k < in->n_measured; k++) {
            double mv = in->measured[k].report.metric[met];
            double e = report_rel_error(in->plan->predicted.metric[met], mv);
            svg_printf(b, "<td class=\"num\">");
            put_fmt_metric(b, met, mv);
            if (isnan(e)) svg_printf(b, "</td><td class=\"num\">n/a</td>");
            else svg_printf(b, "</td><td class=\"num\">%+.1f%%</td>", 100 * e);
        }
        svg_printf(b, "</tr>\n");
    }
    svg_printf(b, "</table>\n");
    if (in->n_measured > 0)
        svg_printf(b, "<p class=\"cap\">error = (predicted \xe2\x88\x92 measured) / measured, as attnplan compare "
                      "reports it: positive when the prediction is high.</p>\n");
}

static void write_plan_facts(svg_buf *b, const report_input *in) {
    const attn_plan *p = in->plan;
    const attn_model *m = &p->model;
    char strat[96];
    report_strategy_label(&p->strategy, strat, sizeof strat);
    svg_printf(b, "<table id=\"facts\">\n<tr><th>model</th><td>");
    svg_escaped(b, m->name);
    svg_printf(b, ": %s, %d layers, %d heads (%d kv) \xc3\x97 %d, hidden %d, ffn %d, %s</td></tr>\n",
               arch_name(m->arch), m->layers, m->heads, m->kv_heads, m->head_dim, m->hidden, m->ffn_hidden,
               dtype_name(m->dtype));
    svg_printf(b, "<tr><th>workload</th><td>batch %d, prompt %d tokens, %d decode tokens, microbatches %d</td></tr>\n",
               m->workload.batch, m->workload.seq_len, m->workload.decode_tokens, p->strategy.microbatches);
    svg_printf(b, "<tr><th>topology</th><td>");
    svg_escaped(b, p->topology_name);
    svg_printf(b, " (");
    svg_escaped(b, p->topology_path[0] ? p->topology_path : "path not recorded");
    svg_printf(b, ")</td></tr>\n<tr><th>strategy</th><td>");
    svg_escaped(b, strat);
    svg_printf(b, " = %d replicas \xc3\x97 %d stages \xc3\x97 ", p->strategy.dp, p->strategy.pp);
    if (strategy_seq(&p->strategy) > 1) /* the sequence axis: how prefill reaches the other slices, where weights live */
        svg_printf(b, "%d sequence slices (%s K/V in prefill, weights %s) \xc3\x97 ", p->strategy.s, cp_name(p->strategy.cp),
                   weights_name(p->strategy.weights));
    svg_printf(b, "%d head groups \xc3\x97 %d segments per head", p->strategy.n, p->strategy.m);
    if (!strcmp(p->objective, "throughput") || !strcmp(p->objective, "tpot") ||
        !strcmp(p->objective, "throughput-per-gpu")) { /* chosen by the planner */
        svg_printf(b, "; objective ");
        svg_escaped(b, p->objective);
        svg_printf(b, p->proven_optimal ? ", proven optimal" : ", not proven optimal");
    }
    svg_printf(b, "</td></tr>\n");
    for (int k = 0; k < GROUP_KIND_COUNT; k++) {
        int count = 0, size = 0, link = -1, coll = -1;
        for (int g = 0; g < p->n_groups; g++) {
            const attn_group *gr = &p->groups[g];
            if ((int)gr->kind != k) continue;
            count++;
            if (gr->n_ranks > size) size = gr->n_ranks;
            if ((int)gr->link > link) link = (int)gr->link;
            coll = (int)gr->coll;
        }
        if (!count || coll < 0 || coll >= COLL_COUNT || link < 0 || link >= LINK_COUNT) continue;
        svg_printf(b, "<tr><th>%s groups</th><td>%d of up to %d ranks, %s, widest link: %s</td></tr>\n",
                   plan_group_kind_name((attn_group_kind)k), count, size, coll_name((attn_coll)coll),
                   link_name((attn_link)link));
    }
    if (p->predicted.note[0]) {
        svg_printf(b, "<tr><th>note</th><td>");
        svg_escaped(b, p->predicted.note);
        svg_printf(b, "</td></tr>\n");
    }
    svg_printf(b, "</table>\n");
}

int report_html_render(svg_buf *b, const report_input *in) {
    const attn_plan *p = in->plan;
    svg_printf(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>attnplan report: ");
    svg_escaped(b, p->model.name);
    svg_printf(b, " on ");
    svg_escaped(b, p->topology_name);
    svg_printf(b, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>", page_css);
    svg_escaped(b, p->model.name);
    svg_printf(b, " on ");
    svg_escaped(b, p->topology_name);
    svg_printf(b, "</h1>\n<p class=\"src\">plan ");
    svg_escaped(b, in->plan_path);
    svg_printf(b, " \xc2\xb7 attnplan report %s</p>\n", ATTN_VERSION);
    write_summary(b, in);
    write_key_figures(b, in);
    svg_printf(b, "<h2 id=\"ranked\">Ranked strategies</h2>\n");
    if (report_chart_ranked(b, in) != 0) return -1;
    if (in->n_front > 0) {
        svg_printf(b, "<h2 id=\"front\">Serving: output per GPU against speed per user</h2>\n");
        if (report_chart_front(b, in) != 0) return -1;
    }
    svg_printf(b, "<h2 id=\"time\">Where the time goes</h2>\n");
    if (report_chart_ops(b, p, PHASE_PREFILL) != 0 || report_chart_ops(b, p, PHASE_DECODE) != 0) return -1;
    svg_printf(b, "<h2 id=\"memory\">Memory</h2>\n");
    if (report_chart_memory(b, p) != 0) return -1;
    if (in->n_measured > 0) {
        svg_printf(b, "<h2 id=\"measured\">Predicted against measured</h2>\n");
        for (int k = 0; k < in->n_measured; k++)
            if (report_chart_measured(b, p, &in->measured[k], k + 1) != 0) return -1;
    }
    svg_printf(b, "<h2 id=\"plan\">The plan</h2>\n");
    write_plan_facts(b, in);
    svg_printf(b, "<footer>Written by attnplan report from the plan's predicted section");
    if (in->n_measured > 0) svg_printf(b, " and %d measured report%s", in->n_measured, in->n_measured > 1 ? "s" : "");
    svg_printf(b, ". Self-contained: no scripts, fonts or images are loaded.</footer>\n</body>\n</html>\n");
    return b->failed ? -1 : 0;
}

/* Writes data to path through a temporary file in the same directory and a rename, so a
 * reader never sees half a report and a failure leaves any earlier report in place. */
static int write_atomically(const char *path, const char *data, size_t len, attn_diag *d) {
    if (!strcmp(path, "-")) {
        if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
            diag_plain(d, "attnplan report: writing stdout: %s", strerror(errno));
            return -1;
        }
        return 0;
    }
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp) { diag_plain(d, "attnplan report: out of memory"); return -1; }
    snprintf(tmp, n, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        diag_plain(d, "attnplan report: cannot create a temporary file next to %s: %s", path, strerror(errno));
        free(tmp);
        return -1;
    }
    if (fchmod(fd, 0644) != 0) { /* mkstemp's 0600 would hide the report from others */
        diag_plain(d, "attnplan report: %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        free(tmp);
        return -1;
    }
    FILE *f = fdopen(fd, "w");
    int ok = f != NULL;
    if (!f) close(fd);
    if (ok && fwrite(data, 1, len, f) != len) ok = 0;
    if (f && fclose(f) != 0) ok = 0;
    if (ok && rename(tmp, path) != 0) ok = 0;
    if (!ok) {
        diag_plain(d, "attnplan report: writing %s: %s", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return ok ? 0 : -1;
}

int report_html_write(const char *path, const report_input *in, attn_diag *d) {
    svg_buf b;
    svg_buf_init(&b);
    int rc = report_html_render(&b, in);
    if (rc != 0) diag_plain(d, "attnplan report: out of memory while rendering");
    else rc = write_atomically(path, b.data, b.len, d);
    svg_buf_free(&b);
    return rc;
}
