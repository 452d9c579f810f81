/* report_charts.c: the predicted charts of `attnplan report`: ranked strategies, time per
 * device stacked by op (compute, memory-bound, communication) and memory per device against
 * capacity. Devices whose figures are identical (the usual case for even plans) share one
 * bar labelled with their rank list, so a 1024-device plan stays a short chart. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "report_html.h"

#define MAX_GROUPS 16      /* distinct device bars drawn per chart */
#define MAX_NOFIT_SHOWN 3  /* strategies that do not fit, drawn greyed under the ranking */

/* Stack order: compute ops, then memory-bound ones, then communication, so each bar reads
 * as a blue block, a green block and an orange block: compute against communication. */
static const attn_op stack_order[OP_COUNT] = {
    OP_QKV_PROJ, OP_SCORES, OP_PV, OP_ATTENTION, OP_O_PROJ, OP_MLP_UP, OP_MLP_DOWN, OP_LM_HEAD,
    OP_EMBED, OP_NORM1, OP_ROPE, OP_SOFTMAX, OP_RESIDUAL1, OP_NORM2, OP_MLP_ACT, OP_RESIDUAL2, OP_KV_CACHE_WRITE,
    OP_FINAL_NORM,
    OP_EMBED_COMM, OP_ATTN_COMM, OP_O_PROJ_ALLREDUCE, OP_MLP_ALLREDUCE, OP_LM_HEAD_COMM, OP_PIPE_P2P,
};
/* Shades alternate dark/light inside a class so neighbouring segments stay apart. */
static const char *const op_color[OP_COUNT] = {
    [OP_QKV_PROJ] = "#1b4f8f", [OP_SCORES] = "#5b9bd8", [OP_PV] = "#2c66ad", [OP_ATTENTION] = "#3a7bc8",
    [OP_LM_HEAD] = "#0f2f55", [OP_EMBED] = "#5aa87c", [OP_FINAL_NORM] = "#b4e2c4",
    [OP_EMBED_COMM] = "#c4501f", [OP_LM_HEAD_COMM] = "#f5b866",
    [OP_O_PROJ] = "#8db8e6", [OP_MLP_UP] = "#163f70", [OP_MLP_DOWN] = "#4f8fd2",
    [OP_NORM1] = "#2e8b57", [OP_ROPE] = "#7cc49a", [OP_SOFTMAX] = "#1f6f45",
    [OP_RESIDUAL1] = "#9fd8b2", [OP_NORM2] = "#3f9e68", [OP_MLP_ACT] = "#226b44",
    [OP_RESIDUAL2] = "#88cc9f", [OP_KV_CACHE_WRITE] = "#2a7d50",
    [OP_ATTN_COMM] = "#d9622b", [OP_O_PROJ_ALLREDUCE] = "#f0a040",
    [OP_MLP_ALLREDUCE] = "#b8391f", [OP_PIPE_P2P] = "#e8833a",
};
static const char *const class_label[3] = {"compute", "memory-bound", "communication"};

const char *const report_metric_names[MET_COUNT] = {
    [MET_PREFILL_TOKENS_PER_S] = "prefill throughput", [MET_TTFT_S] = "TTFT",
    [MET_TPOT_S] = "TPOT (decode step)", [MET_DECODE_TOKENS_PER_S] = "decode throughput",
    [MET_PEAK_MEMORY_BYTES] = "peak memory per device", [MET_COMM_FRACTION] = "communication share",
    [MET_E2E_LATENCY_S] = "e2e request latency", [MET_OUTPUT_TOKENS_PER_S_PER_GPU] = "output tokens/s per GPU",
    [MET_TOKENS_PER_S_PER_USER] = "tokens/s per user",
};

const char *report_op_color(attn_op op) { return op_color[op]; }

void report_strategy_label(const attn_strategy *s, char *out, size_t n) {
    strategy_format(s, out, n);
    /* microbatches only matter to a pipeline: "dp=16,pp=1,n=1,m=1" reads better without mb=1 */
    char *mb = strstr(out, ",mb=");
    if (mb && s->pp == 1) *mb = '\0';
}

void report_fmt_metric(int metric, double v, char *out, size_t n) {
    if (metric < 0 || metric >= MET_COUNT) { snprintf(out, n, "n/a"); return; }
    const char *unit = attn_metric_table[metric].unit;
    if (!strcmp(unit, "s")) svg_fmt_time(v, out, n);
    else if (!strcmp(unit, "bytes")) svg_fmt_bytes(v, out, n);
    else if (!strcmp(unit, "fraction")) svg_fmt_pct(v, out, n);
    else svg_fmt_si(v, unit, out, n);
}

double report_rel_error(double predicted, double measured) {
    if (!isfinite(predicted) || !isfinite(measured) || measured == 0) return NAN;
    return (predicted - measured) / fabs(measured);
}

void report_fmt_error(double predicted, double measured, char *out, size_t n) {
    double e = report_rel_error(predicted, measured);
    if (isnan(e)) snprintf(out, n, "error n/a");
    else if (fabs(e) < 0.0005) snprintf(out, n, "predicted within 0.05%%");
    else snprintf(out, n, "predicted %.1f%% %s", 100 * fabs(e), e > 0 ? "high" : "low");
}

double report_rank_time(const attn_rank_report *r, attn_phase phase, int opclass) {
    double t = 0;
    for (int o = 0; o < OP_COUNT; o++) {
        double v = r->op[phase][o].time_s;
        if ((opclass < 0 || (int)attn_op_table[o].cls == opclass) && isfinite(v) && v > 0) t += v;
    }
    return t;
}

int report_critical_rank(const attn_report *r, attn_phase phase) {
    int best = -1;
    double best_t = -1;
    for (int i = 0; i < r->n_ranks; i++) {
        double t = report_rank_time(&r->ranks[i], phase, -1);
        if (t > best_t) { best_t = t; best = i; }
    }
    return best;
}

int report_find_plan_alt(const report_input *in) {
    const attn_strategy *s = &in->plan->strategy;
    for (int i = 0; i < in->n_alt; i++) {
        const attn_strategy *a = &in->alt[i].parsed;
        if (a->dp == s->dp && a->pp == s->pp && a->n == s->n && a->m == s->m &&
            (s->m == 1 || a->scheme == s->scheme) && strategy_seq(a) == strategy_seq(s) &&
            (strategy_seq(s) == 1 || (a->cp == s->cp && a->weights == s->weights)))
            return i;
    }
    return -1;
}

static int close_to(double a, double b) {
    return (isnan(a) && isnan(b)) || a == b || fabs(a - b) <= 1e-6 * fmax(fabs(a), fabs(b));
}

static int twin_differs(const report_input *in, int twin) {
    const double *a = in->alt[twin].metric, *p = in->plan->predicted.metric;
    return !close_to(a[MET_PREFILL_TOKENS_PER_S], p[MET_PREFILL_TOKENS_PER_S]) || !close_to(a[MET_TPOT_S], p[MET_TPOT_S]) ||
           !close_to(a[MET_PEAK_MEMORY_BYTES], p[MET_PEAK_MEMORY_BYTES]);
}

const report_alternative *report_even_twin(const report_input *in) {
    int twin = report_find_plan_alt(in);
    return twin >= 0 && twin_differs(in, twin) ? &in->alt[twin] : NULL;
}

/* a strictly better than b by metric met (NaN is worst) */
static int better(int met, double a, double b) {
    if (isnan(a)) return 0;
    if (isnan(b)) return 1;
    return attn_metric_table[met].higher_is_better ? a > b : a < b;
}

int report_ranking(const report_input *in, report_ranked **out, int *plan_pos) {
    const attn_plan *p = in->plan;
    int twin = report_find_plan_alt(in), key = in->rank_key, n = 0, rank = 0, placed = 0;
    if (twin >= 0 && twin_differs(in, twin)) twin = -1; /* a different figure: keep it as an alternative */
    *out = malloc(sizeof **out * (size_t)(in->n_alt + 1));
    if (!*out) return -1;
    double mine = p->predicted.metric[key];
    for (int i = 0; i < in->n_alt; i++) {
        const report_alternative *a = &in->alt[i];
        if (a->status != REPORT_ALT_OK || i == twin) continue;
        if (!placed && p->predicted.fits && better(key, mine, a->metric[key])) {
            *plan_pos = n;
            (*out)[n++] = (report_ranked){NULL, ++rank};
            placed = 1;
        }
        (*out)[n++] = (report_ranked){a, ++rank};
    }
    if (!placed) {
        *plan_pos = n;
        (*out)[n++] = (report_ranked){NULL, p->predicted.fits ? ++rank : 0};
    }
    for (int i = 0; i < in->n_alt; i++)
        if (in->alt[i].status == REPORT_ALT_NOFIT && i != twin) (*out)[n++] = (report_ranked){&in->alt[i], 0};
    return n;
}

/* ---- devices with identical figures share a bar ---- */

typedef struct dev_group {
    int first;              /* representative rank */
    int count;
    char label[72];         /* "ranks 0–7, 16–23" */
} dev_group;

static int same_value(double a, double b) {
    if (a == b) return 1;
    return fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b));
}

/* Key of a rank for grouping: its op times in `phase`, or (phase < 0) its memory terms. */
static int same_rank(const attn_rank_report *a, const attn_rank_report *b, int phase) {
    if (phase < 0)
        return same_value(a->weights_bytes, b->weights_bytes) && same_value(a->kv_cache_bytes, b->kv_cache_bytes) &&
               same_value(a->activation_bytes, b->activation_bytes) &&
               same_value(a->comm_buffer_bytes, b->comm_buffer_bytes) &&
               same_value(a->memory_capacity_bytes, b->memory_capacity_bytes);
    for (int o = 0; o < OP_COUNT; o++)
        if (!same_value(a->op[phase][o].time_s, b->op[phase][o].time_s)) return 0;
    return 1;
}

/* Appends "a–b" or "a" to a rank-list label; marks it cut ("…") when it is full. */
static void label_add_range(char *label, size_t n, int a, int b, int *cut) {
    if (*cut) return;
    char part[32];
    if (a == b) snprintf(part, sizeof part, "%s%d", label[0] ? ", " : "", a);
    else snprintf(part, sizeof part, "%s%d\xe2\x80\x93%d", label[0] ? ", " : "", a, b);
    if (strlen(label) + strlen(part) + 8 >= n) {
        strncat(label, ", \xe2\x80\xa6", n - strlen(label) - 1);
        *cut = 1;
        return;
    }
    strncat(label, part, n - strlen(label) - 1);
}

/* Groups the ranks of r; returns the number of groups written to g (at most max) and sets
 * *hidden to the number of distinct groups left out. The critical rank's group is always kept. */
static int group_ranks(const attn_report *r, int phase, int critical, dev_group *g, int max, int *hidden) {
    int n = r->n_ranks, ng = 0, total = 0;
    int *group_of = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    int *rep = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    *hidden = 0;
    if (!group_of || !rep) { free(group_of); free(rep); return 0; }
    for (int i = 0; i < n; i++) {
        int k = 0;
        for (; k < total; k++)
            if (same_rank(&r->ranks[rep[k]], &r->ranks[i], phase)) break;
        if (k == total) rep[total++] = i;
        group_of[i] = k;
    }
    int crit_group = critical >= 0 && critical < n ? group_of[critical] : -1;
    /* the first max-1 groups, and in the last slot the critical one when it comes later */
    int last = crit_group >= max - 1 ? crit_group : max - 1;
    for (int k = 0; k < total; k++) {
        if (k >= max - 1 && k != last) { (*hidden)++; continue; }
        dev_group *d = &g[ng++];
        d->first = rep[k];
        d->count = 0;
        d->label[0] = '\0';
        int cut = 0, run_a = -1, run_b = -1;
        char ranks[56] = ""; /* fits in label after "ranks " */
        for (int i = 0; i < n; i++) {
            if (group_of[i] != k) continue;
            d->count++;
            if (run_a >= 0 && i == run_b + 1) { run_b = i; continue; }
            if (run_a >= 0) label_add_range(ranks, sizeof ranks, run_a, run_b, &cut);
            run_a = run_b = i;
        }
        if (run_a >= 0) label_add_range(ranks, sizeof ranks, run_a, run_b, &cut);
        snprintf(d->label, sizeof d->label, "%s %s", d->count == 1 ? "rank" : "ranks", ranks);
    }
    free(group_of);
    free(rep);
    return ng;
}

/* ---- ranked strategies ---- */

typedef struct ranked_row {
    const report_alternative *alt; /* NULL: the plan's own predicted figures */
    int rank;                      /* 1-based among fitting strategies; 0 none */
    int is_plan;
} ranked_row;

static double row_metric(const ranked_row *r, const attn_plan *p, int met) {
    return r->alt ? r->alt->metric[met] : p->predicted.metric[met];
}

/* The top N of the ranking, then the plan when it is lower (with its rank) or does not fit,
 * then a few strategies that do not fit. -1: out of memory. */
static int ranked_rows(const report_input *in, ranked_row *rows, int max) {
    report_ranked *rk;
    int plan_pos, nr = report_ranking(in, &rk, &plan_pos);
    if (nr < 0) return -1;
    int n = 0, nofit = 0, top = in->top > 0 ? in->top : 10;
    for (int i = 0; i < nr && n < max; i++)
        if (rk[i].rank > 0 && rk[i].rank <= top) rows[n++] = (ranked_row){rk[i].alt, rk[i].rank, rk[i].alt == NULL};
    if ((rk[plan_pos].rank == 0 || rk[plan_pos].rank > top) && n < max)
        rows[n++] = (ranked_row){NULL, rk[plan_pos].rank, 1};
    /* a plan whose figures differ from its even split keeps that split beside it, wherever it
     * ranks (the strategy space is large with the sequence axis) */
    const report_alternative *twin = report_even_twin(in);
    for (int i = 0; twin && i < nr && n < max; i++)
        if (rk[i].alt == twin && rk[i].rank > top) rows[n++] = (ranked_row){rk[i].alt, rk[i].rank, 0};
    for (int i = 0; i < nr && n < max && nofit < MAX_NOFIT_SHOWN; i++)
        if (rk[i].rank == 0 && rk[i].alt) {
            rows[n++] = (ranked_row){rk[i].alt, 0, 0};
            nofit++;
        }
    free(rk);
    return n;
}

static int ranked_chart(svg_buf *b, const report_input *in, const ranked_row *rr, int n, int met) {
    const attn_plan *p = in->plan;
    int higher = attn_metric_table[met].higher_is_better;
    double vmax = 0, best = NAN;
    for (int i = 0; i < n; i++) {
        double v = row_metric(&rr[i], p, met);
        if (isfinite(v) && v > vmax) vmax = v;
    }
    /* "best" is over every fitting strategy, drawn or not, and the plan itself */
    for (int i = 0; i <= in->n_alt; i++) {
        int ok = i < in->n_alt ? in->alt[i].status == REPORT_ALT_OK : p->predicted.fits;
        double v = i < in->n_alt ? in->alt[i].metric[met] : p->predicted.metric[met];
        if (ok && isfinite(v) && v > 0 && (isnan(best) || (higher ? v > best : v < best))) best = v;
    }
    double scale = 1;
    const char *unit;
    char axis[96];
    if (met == MET_TPOT_S) {
        unit = svg_time_unit(vmax, &scale);
        snprintf(axis, sizeof axis, "TPOT, the mean decode step over the output (%s) \xe2\x80\x94 lower is better", unit);
    } else {
        scale = vmax >= 1e6 ? 1e6 : vmax >= 1e3 ? 1e3 : 1;
        unit = scale == 1e6 ? "M tokens/s" : scale == 1e3 ? "k tokens/s" : "tokens/s";
        snprintf(axis, sizeof axis, "%s (%s) \xe2\x80\x94 higher is better",
                 met == MET_OUTPUT_TOKENS_PER_S_PER_GPU ? "output tokens/s per GPU" : "prefill throughput", unit);
    }
    svg_row rows[64];
    svg_seg segs[64];
    char labels[64][128], values[64][48], notes[64][96];
    const report_alternative *twin = report_even_twin(in);
    for (int i = 0; i < n; i++) {
        const ranked_row *r = &rr[i];
        double v = row_metric(r, p, met);
        int fits = r->alt ? r->alt->status == REPORT_ALT_OK : p->predicted.fits;
        char strat[112];
        if (r->alt) snprintf(strat, sizeof strat, "%s%s", r->alt->strategy, r->alt == twin ? " (even split)" : "");
        else report_strategy_label(&p->strategy, strat, sizeof strat);
        if (r->rank > 0) snprintf(labels[i], sizeof labels[i], "%d. %s", r->rank, strat);
        else snprintf(labels[i], sizeof labels[i], "%s", strat);
        report_fmt_metric(met, v, values[i], sizeof values[i]);
        notes[i][0] = '\0';
        if (!fits) {
            char sh[32];
            svg_fmt_bytes(r->alt ? r->alt->shortfall_bytes : p->predicted.shortfall_bytes, sh, sizeof sh);
            snprintf(notes[i], sizeof notes[i], "does not fit (%s over)", sh);
        } else if (isfinite(best) && isfinite(v) && v != best && best > 0) {
            snprintf(notes[i], sizeof notes[i], "%+.1f%% vs best", 100 * (v - best) / best);
        } else if (isfinite(best) && v == best) {
            snprintf(notes[i], sizeof notes[i], "best");
        }
        if (r->is_plan) {
            size_t l = strlen(notes[i]);
            snprintf(notes[i] + l, sizeof notes[i] - l, "%s\xe2\x97\x80 this plan", l ? "  " : "");
        }
        segs[i] = (svg_seg){isfinite(v) ? v / scale : 0, r->is_plan ? "#d9822b" : "#4878a8", NULL, NULL};
        rows[i] = (svg_row){0};
        rows[i].label = labels[i];
        rows[i].n_seg = 1;
        rows[i].seg = &segs[i];
        rows[i].value_text = values[i];
        rows[i].note = notes[i][0] ? notes[i] : NULL;
        rows[i].emphasis = r->is_plan;
        rows[i].muted = !fits;
        rows[i].gap_before = i > 0 && (r->rank == 0 || r->rank != rr[i - 1].rank + 1) && rr[i - 1].rank != 0;
    }
    svg_hbar_chart c = {
        .id = met == MET_TPOT_S                        ? "chart-ranked-tpot"
              : met == MET_OUTPUT_TOKENS_PER_S_PER_GPU ? "chart-ranked-per-gpu"
                                                       : "chart-ranked-prefill",
        .title = met == MET_TPOT_S                        ? "Ranked strategies: decode step latency (TPOT)"
                 : met == MET_OUTPUT_TOKENS_PER_S_PER_GPU ? "Ranked strategies: output tokens/s per GPU"
                                                          : "Ranked strategies: prefill throughput",
        .axis_title = axis, .label_width = 340,
    };
    return svg_hbar_chart_write(b, &c, rows, n);
}

int report_chart_ranked(svg_buf *b, const report_input *in) {
    ranked_row rr[64];
    int n = ranked_rows(in, rr, 64);
    if (n < 0) return -1;
    int invalid = 0, nofit = 0, ok = 0;
    for (int i = 0; i < in->n_alt; i++) {
        if (in->alt[i].status == REPORT_ALT_OK) ok++;
        else if (in->alt[i].status == REPORT_ALT_NOFIT) nofit++;
        else invalid++;
    }
    /* Both charts list the strategies in the same order (the objective's ranking) so a row
     * can be followed from one to the other. */
    int first = in->rank_key == MET_TPOT_S || in->rank_key == MET_OUTPUT_TOKENS_PER_S_PER_GPU ? (int)in->rank_key
                                                                                              : MET_PREFILL_TOKENS_PER_S;
    int second = first == MET_TPOT_S ? MET_PREFILL_TOKENS_PER_S : MET_TPOT_S;
    svg_printf(b, "<figure>\n");
    if (ranked_chart(b, in, rr, n, first) != 0 || ranked_chart(b, in, rr, n, second) != 0) return -1;
    svg_printf(b, "<figcaption>");
    if (in->n_alt > 0)
        svg_printf(b, "Ranked by %s. %d strategies fit, %d do not fit (up to %d shown greyed), %d are invalid for "
                      "this model (not drawn). ",
                   report_metric_names[first], ok, nofit, MAX_NOFIT_SHOWN, invalid);
    svg_escaped(b, in->alt_source);
    svg_printf(b, "</figcaption>\n</figure>\n");
    return b->failed ? -1 : 0;
}

/* ---- time per device, stacked by op ---- */

int report_chart_ops(svg_buf *b, const attn_plan *p, attn_phase phase) {
    const attn_report *r = &p->predicted;
    int crit = report_critical_rank(r, phase);
    const char *phase_id = phase == PHASE_PREFILL ? "prefill" : "decode";
    if (crit < 0 || report_rank_time(&r->ranks[crit], phase, -1) <= 0) {
        svg_printf(b, "<p class=\"cap\">No %s times in the plan's predicted section.</p>\n", phase_id);
        return b->failed ? -1 : 0;
    }
    double crit_t = report_rank_time(&r->ranks[crit], phase, -1), scale;
    const char *unit = svg_time_unit(crit_t, &scale);
    dev_group g[MAX_GROUPS];
    int hidden, ng = group_ranks(r, phase, crit, g, MAX_GROUPS, &hidden);

    /* rows: one stacked bar per device group, then the critical device op by op */
    enum { MAX_ROWS = MAX_GROUPS + OP_COUNT + 2 };
    svg_row rows[MAX_ROWS];
    svg_seg segs[MAX_GROUPS][OP_COUNT], op_seg[OP_COUNT];
    char values[MAX_ROWS][40], notes[MAX_ROWS][96], tips[MAX_GROUPS][OP_COUNT][96], head[64];
    int nr = 0;
    for (int k = 0; k < ng; k++) {
        const attn_rank_report *rk = &r->ranks[g[k].first];
        double total = report_rank_time(rk, phase, -1);
        int ns = 0;
        for (int j = 0; j < OP_COUNT; j++) {
            attn_op o = stack_order[j];
            double t = rk->op[phase][o].time_s;
            if (!(isfinite(t) && t > 0)) continue;
            char ts[32];
            svg_fmt_time(t, ts, sizeof ts);
            snprintf(tips[k][ns], sizeof tips[k][ns], "%s (%s): %s, %.1f%%", attn_op_table[o].key,
                     class_label[attn_op_table[o].cls], ts, total > 0 ? 100 * t / total : 0.0);
            segs[k][ns] = (svg_seg){t / scale, op_color[o], attn_op_table[o].key, tips[k][ns]};
            ns++;
        }
        svg_fmt_time(total, values[nr], sizeof values[nr]);
        snprintf(notes[nr], sizeof notes[nr], "compute %.0f%% \xc2\xb7 mem %.0f%% \xc2\xb7 comm %.0f%%",
                 total > 0 ? 100 * report_rank_time(rk, phase, OPCLASS_COMPUTE) / total : 0.0,
                 total > 0 ? 100 * report_rank_time(rk, phase, OPCLASS_MEMORY) / total : 0.0,
                 total > 0 ? 100 * report_rank_time(rk, phase, OPCLASS_COMM) / total : 0.0);
        rows[nr] = (svg_row){.label = g[k].label, .n_seg = ns, .seg = segs[k], .value_text = values[nr],
                             .note = notes[nr], .emphasis = g[k].first == crit && ng > 1};
        nr++;
    }
    snprintf(head, sizeof head, "the slowest device (rank %d), op by op", crit);
    rows[nr++] = (svg_row){.label = head, .heading = 1, .gap_before = 1};
    int order[OP_COUNT], no = 0;
    for (int o = 0; o < OP_COUNT; o++) {
        double t = r->ranks[crit].op[phase][o].time_s;
        if (isfinite(t) && t > 0) order[no++] = o;
    }
    for (int i = 1; i < no; i++) /* insertion sort, longest first: a handful of ops */
        for (int j = i; j > 0 && r->ranks[crit].op[phase][order[j]].time_s >
                                      r->ranks[crit].op[phase][order[j - 1]].time_s; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (int i = 0; i < no && nr < MAX_ROWS; i++) {
        int o = order[i];
        double t = r->ranks[crit].op[phase][o].time_s;
        op_seg[i] = (svg_seg){t / scale, op_color[o], NULL, NULL};
        svg_fmt_time(t, values[nr], sizeof values[nr]);
        snprintf(notes[nr], sizeof notes[nr], "%s, %.1f%%", class_label[attn_op_table[o].cls], 100 * t / crit_t);
        rows[nr] = (svg_row){.label = attn_op_table[o].key, .n_seg = 1, .seg = &op_seg[i],
                             .value_text = values[nr], .note = notes[nr]};
        nr++;
    }
    char title[128], axis[128];
    snprintf(title, sizeof title, "%s: time per device by op, compute (blue) \xc2\xb7 memory-bound (green) \xc2\xb7 "
             "communication (orange)", phase == PHASE_PREFILL ? "Prefill" : "Decode");
    snprintf(axis, sizeof axis, "%s (%s)", phase == PHASE_PREFILL ? "time for the whole prefill of the batch"
             : "time for one decode step of the batch", unit);
    char id[32];
    snprintf(id, sizeof id, "chart-ops-%s", phase_id);
    svg_hbar_chart c = {.id = id, .title = title, .axis_title = axis, .label_width = 200};
    svg_printf(b, "<figure>\n");
    if (svg_hbar_chart_write(b, &c, rows, nr) != 0) return -1;
    svg_printf(b, "<figcaption>Each bar is one device's own work (devices with identical figures share a bar). ");
    if (hidden > 0) svg_printf(b, "%d more distinct devices are not drawn. ", hidden);
    if (phase == PHASE_PREFILL && p->strategy.pp > 1)
        svg_printf(b, "TTFT also counts the pipeline's fill and drain, which no single device's bar shows. ");
    svg_printf(b, "Hover a segment for its op and time.</figcaption>\n</figure>\n");
    return b->failed ? -1 : 0;
}

/* ---- memory per device against capacity ---- */

int report_chart_memory(svg_buf *b, const attn_plan *p) {
    const attn_report *r = &p->predicted;
    if (r->n_ranks <= 0) return 0;
    int worst = 0;
    for (int i = 1; i < r->n_ranks; i++)
        if (r->ranks[i].memory_bytes > r->ranks[worst].memory_bytes) worst = i;
    dev_group g[MAX_GROUPS];
    int hidden, ng = group_ranks(r, -1, worst, g, MAX_GROUPS, &hidden);
    double cap0 = r->ranks[0].memory_capacity_bytes;
    int one_capacity = 1;
    for (int i = 1; i < r->n_ranks; i++)
        if (!same_value(r->ranks[i].memory_capacity_bytes, cap0)) one_capacity = 0;
    static const char *const names[4] = {"weights", "KV cache", "activations", "comm buffers"};
    static const char *const colors[4] = {"#4f6d9a", "#d08a2e", "#5aa469", "#9a5aa6"};
    svg_row rows[MAX_GROUPS];
    svg_seg segs[MAX_GROUPS][4], details[MAX_GROUPS][4];
    char seg_labels[MAX_GROUPS][4][48], tips[MAX_GROUPS][4][64], values[MAX_GROUPS][32], notes[MAX_GROUPS][96];
    for (int k = 0; k < ng; k++) {
        const attn_rank_report *rk = &r->ranks[g[k].first];
        double part[4] = {rk->weights_bytes, rk->kv_cache_bytes, rk->activation_bytes, rk->comm_buffer_bytes};
        double total = 0;
        for (int j = 0; j < 4; j++) {
            char s[24];
            svg_fmt_bytes(part[j], s, sizeof s);
            snprintf(seg_labels[k][j], sizeof seg_labels[k][j], "%s %s", names[j], s);
            snprintf(tips[k][j], sizeof tips[k][j], "%s: %s", names[j], s);
            segs[k][j] = (svg_seg){part[j] / 1e9, colors[j], names[j], tips[k][j]};
            details[k][j] = (svg_seg){0, colors[j], seg_labels[k][j], NULL};
            if (isfinite(part[j]) && part[j] > 0) total += part[j];
        }
        double cap = rk->memory_capacity_bytes;
        char cs[24];
        svg_fmt_bytes(total, values[k], sizeof values[k]);
        svg_fmt_bytes(cap, cs, sizeof cs);
        if (!(cap > 0)) snprintf(notes[k], sizeof notes[k], "capacity unknown");
        else if (total > cap) {
            char over[24];
            svg_fmt_bytes(total - cap, over, sizeof over);
            snprintf(notes[k], sizeof notes[k], "DOES NOT FIT: %s over %s", over, cs);
        } else snprintf(notes[k], sizeof notes[k], "%.0f%% of %s", 100 * total / cap, cs);
        rows[k] = (svg_row){.label = g[k].label, .n_seg = 4, .seg = segs[k], .value_text = values[k],
                            .note = notes[k], .emphasis = total > cap && cap > 0, .n_detail = 4,
                            .detail = details[k]};
    }
    char marker[48] = "";
    if (one_capacity && cap0 > 0) {
        char cs[24];
        svg_fmt_bytes(cap0, cs, sizeof cs);
        snprintf(marker, sizeof marker, "capacity %s", cs);
    }
    svg_hbar_chart c = {.id = "chart-memory",
                        .title = "Memory per device: weights, KV cache, activations, communication buffers",
                        .axis_title = "memory per device (GB, 1 GB = 10^9 bytes)",
                        .marker = one_capacity && cap0 > 0 ? cap0 / 1e9 : 0,
                        .marker_label = marker[0] ? marker : NULL, .label_width = 200};
    svg_printf(b, "<figure>\n");
    if (svg_hbar_chart_write(b, &c, rows, ng) != 0) return -1;
    svg_printf(b, "<figcaption>");
    if (c.marker > 0) svg_printf(b, "The dashed line is the device's memory capacity. ");
    if (hidden > 0) svg_printf(b, "%d more distinct devices are not drawn. ", hidden);
    if (!one_capacity) svg_printf(b, "Devices differ in capacity: each bar's note gives its own. ");
    svg_printf(b, "</figcaption>\n</figure>\n");
    return b->failed ? -1 : 0;
}

int report_chart_front(svg_buf *b, const report_input *in) {
    if (in->n_front <= 0) return 0;
    const attn_plan *p = in->plan;
    int n = in->n_front;
    svg_point *pts = calloc((size_t)n, sizeof *pts);
    char (*labels)[128] = calloc((size_t)n, sizeof *labels);
    if (!pts || !labels) {
        free(pts);
        free(labels);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        snprintf(labels[i], sizeof labels[i], "%s, batch %ld", in->front[i].strategy, in->front[i].batch);
        pts[i] = (svg_point){in->front[i].user, in->front[i].gpu, labels[i]};
    }
    char mark[160], strat[112];
    report_strategy_label(&p->strategy, strat, sizeof strat);
    snprintf(mark, sizeof mark, "this plan: %s, batch %d", strat, p->model.workload.batch);
    svg_front_chart c = {
        .id = "chart-front", .title = "Serving front: output tokens/s per GPU against tokens/s per user",
        .x_title = "tokens/s per user (1 / TPOT) \xe2\x80\x94 right is faster for each request",
        .y_title = "output tokens/s per GPU \xe2\x80\x94 up is more for the fleet",
        .has_mark = 1,
        .mark = {p->predicted.metric[MET_TOKENS_PER_S_PER_USER], p->predicted.metric[MET_OUTPUT_TOKENS_PER_S_PER_GPU], mark},
    };
    svg_printf(b, "<figure>\n");
    int rc = svg_front_chart_write(b, &c, pts, n);
    svg_printf(b, "<figcaption>Every strategy for %d devices at batches 1, 2, 4, ... until none fits (even splits, "
                  "the cost model): %d points, of which these %d are not beaten on both axes by another. The plan is "
                  "the orange diamond.</figcaption>\n</figure>\n", p->world, in->front_priced, n);
    free(pts);
    free(labels);
    return rc;
}
