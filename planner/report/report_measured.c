/* report_measured.c: predicted against measured in `attnplan report`: one chart per
 * measured file with a pair of bars per metric (each pair on its own scale, since the units
 * differ, with the measured min-max spread as a whisker and the error printed), and per
 * phase a pair of bars per op on a common time axis. Ops are compared as the mean over the
 * devices the measurement covers, so a rank-share run (one device of a larger plan) is
 * compared with that device's prediction, and collectives it skipped say "not measured". */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "report_html.h"

#define PRED_COLOR "#a9b7c8"   /* predicted bars: light grey-blue; measured bars carry the op's colour */

static double finite_or_nan(double v) { return isfinite(v) ? v : NAN; }


static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int metrics_chart(svg_buf *b, const attn_plan *p, const report_measured *m, int index) {
    const attn_report *pr = &p->predicted, *me = &m->report;
    svg_row rows[2 * MET_COUNT];
    svg_seg segs[2 * MET_COUNT];
    char values[2 * MET_COUNT][48], notes[MET_COUNT][48];
    int nr = 0;
    for (int k = 0; k < MET_COUNT; k++) {
        double pv = finite_or_nan(pr->metric[k]), mv = finite_or_nan(me->metric[k]);
        if (!(pv > 0) && !(mv > 0)) continue; /* neither side has it (e.g. no comm measured) */
        double lo = finite_or_nan(me->metric_min[k]), hi = finite_or_nan(me->metric_max[k]);
        double mx = fmax(pv > 0 ? pv : 0, mv > 0 ? mv : 0);
        if (hi > mx) mx = hi;
        const char *color = k == MET_COMM_FRACTION ? "#d9622b" : k == MET_PEAK_MEMORY_BYTES ? "#4f6d9a" : "#2c66ad";
        report_fmt_metric(k, pv, values[nr], sizeof values[nr]);
        segs[nr] = (svg_seg){pv > 0 ? pv : 0, PRED_COLOR, NULL, NULL};
        rows[nr] = (svg_row){.label = report_metric_names[k], .sublabel = "predicted", .n_seg = 1,
                             .seg = &segs[nr], .value_text = values[nr], .row_max = mx, .gap_before = nr > 0};
        nr++;
        report_fmt_metric(k, mv, values[nr], sizeof values[nr]);
        report_fmt_error(pv, mv, notes[k], sizeof notes[k]);
        segs[nr] = (svg_seg){mv > 0 ? mv : 0, color, NULL, NULL};
        rows[nr] = (svg_row){.label = "", .sublabel = "measured", .n_seg = 1, .seg = &segs[nr],
                             .value_text = values[nr], .note = notes[k], .row_max = mx,
                             .whisker_lo = lo < hi ? lo : 0, .whisker_hi = lo < hi ? hi : 0};
        nr++;
    }
    char id[48], title[160];
    snprintf(id, sizeof id, "chart-measured-metrics-%d", index);
    snprintf(title, sizeof title, "Predicted against measured, per metric: %s", base_name(m->path));
    svg_hbar_chart c = {.id = id, .title = title, .axis_title = NULL, .label_width = 260};
    return svg_hbar_chart_write(b, &c, rows, nr);
}

/* Mean over the devices the measurement covers of one op's time, predicted and measured.
 * Returns the number of devices measured for that op (0: not measured anywhere). */
static int op_means(const attn_report *pr, const attn_report *me, attn_phase ph, int op, double *pred, double *meas) {
    int n = pr->n_ranks < me->n_ranks ? pr->n_ranks : me->n_ranks, cnt = 0;
    double ps = 0, ms = 0;
    for (int i = 0; i < n; i++) {
        double t = me->ranks[i].op[ph][op].time_s, tp = pr->ranks[i].op[ph][op].time_s;
        if (!(isfinite(t) && t >= 0) || !isfinite(tp)) continue;
        ms += t;
        ps += tp;
        cnt++;
    }
    if (cnt > 0) {
        *pred = ps / cnt;
        *meas = ms / cnt;
        return cnt;
    }
    /* not measured: still show the prediction, averaged over all predicted devices */
    for (int i = 0; i < pr->n_ranks; i++)
        if (isfinite(pr->ranks[i].op[ph][op].time_s)) ps += pr->ranks[i].op[ph][op].time_s;
    *pred = pr->n_ranks > 0 ? ps / pr->n_ranks : NAN;
    *meas = NAN;
    return 0;
}

static int ops_chart(svg_buf *b, const attn_plan *p, const report_measured *m, int index, attn_phase ph) {
    const attn_report *pr = &p->predicted, *me = &m->report;
    svg_row rows[2 * OP_COUNT];
    svg_seg segs[2 * OP_COUNT];
    char values[2 * OP_COUNT][40], notes[OP_COUNT][48];
    double pred[OP_COUNT], meas[OP_COUNT], vmax = 0;
    int measured[OP_COUNT];
    for (int o = 0; o < OP_COUNT; o++) {
        measured[o] = op_means(pr, me, ph, o, &pred[o], &meas[o]);
        if (isfinite(pred[o]) && pred[o] > vmax) vmax = pred[o];
        if (isfinite(meas[o]) && meas[o] > vmax) vmax = meas[o];
    }
    if (!(vmax > 0)) return 0; /* nothing in this phase on either side */
    double scale;
    const char *unit = svg_time_unit(vmax, &scale);
    /* longest first (the larger of the two), so the ops that matter lead */
    int order[OP_COUNT];
    double key[OP_COUNT];
    for (int o = 0; o < OP_COUNT; o++) {
        order[o] = o;
        key[o] = fmax(isfinite(pred[o]) ? pred[o] : 0, measured[o] && isfinite(meas[o]) ? meas[o] : 0);
    }
    for (int i = 1; i < OP_COUNT; i++)
        for (int j = i; j > 0 && key[order[j]] > key[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    int nr = 0;
    for (int oi = 0; oi < OP_COUNT; oi++) {
        int o = order[oi];
        int has_pred = isfinite(pred[o]) && pred[o] > 0, has_meas = measured[o] && meas[o] > 0;
        if (!has_pred && !has_meas) continue;
        svg_fmt_time(pred[o], values[nr], sizeof values[nr]);
        segs[nr] = (svg_seg){has_pred ? pred[o] / scale : 0, PRED_COLOR, NULL, NULL};
        rows[nr] = (svg_row){.label = attn_op_table[o].key, .sublabel = "predicted", .n_seg = 1, .seg = &segs[nr],
                             .value_text = values[nr], .gap_before = nr > 0};
        nr++;
        if (measured[o]) {
            svg_fmt_time(meas[o], values[nr], sizeof values[nr]);
            report_fmt_error(pred[o], meas[o], notes[o], sizeof notes[o]);
        } else {
            snprintf(values[nr], sizeof values[nr], "not measured");
            notes[o][0] = '\0';
        }
        segs[nr] = (svg_seg){has_meas ? meas[o] / scale : 0, report_op_color((attn_op)o), NULL, NULL};
        rows[nr] = (svg_row){.label = "", .sublabel = "measured", .n_seg = 1, .seg = &segs[nr],
                             .value_text = values[nr], .note = notes[o][0] ? notes[o] : NULL,
                             .muted = !measured[o]};
        nr++;
    }
    char id[48], title[160], axis[128];
    snprintf(id, sizeof id, "chart-measured-%s-%d", attn_phase_names[ph], index);
    snprintf(title, sizeof title, "Predicted against measured, %s, per op: %s",
             ph == PHASE_PREFILL ? "prefill" : "decode step", base_name(m->path));
    snprintf(axis, sizeof axis, "mean time per measured device, %s (%s)",
             ph == PHASE_PREFILL ? "whole prefill" : "one decode step", unit);
    svg_hbar_chart c = {.id = id, .title = title, .axis_title = axis, .label_width = 260};
    return svg_hbar_chart_write(b, &c, rows, nr);
}

int report_chart_measured(svg_buf *b, const attn_plan *p, const report_measured *m, int index) {
    svg_printf(b, "<figure>\n");
    if (metrics_chart(b, p, m, index) != 0) return -1;
    svg_printf(b, "<figcaption>Each pair is drawn on its own scale (the units differ); the whisker on a measured "
                  "bar spans the fastest to the slowest repeat.</figcaption>\n</figure>\n<figure>\n");
    if (ops_chart(b, p, m, index, PHASE_PREFILL) != 0 || ops_chart(b, p, m, index, PHASE_DECODE) != 0) return -1;
    svg_printf(b, "<figcaption>Per op, the mean over the devices this measurement covers of the predicted and the "
                  "measured time. &ldquo;not measured&rdquo;: the run skipped that op (for example the collectives "
                  "of a rank-share run).</figcaption>\n</figure>\n");
    return b->failed ? -1 : 0;
}
