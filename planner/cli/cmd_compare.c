/* cmd_compare.c: attnplan compare PLAN MEASURED [--tolerance F] [--force]
 * Predicted (the plan's `predicted:` section) against measured (attnrun -o): one table per
 * metric, one per op class and phase (with its ops), each with the relative error
 * (predicted - measured) / measured; then the median and worst absolute metric error.
 * Op class times are the slowest rank's sum over the class's ops, counting only ops the
 * measurement has (time_s >= 0) on both sides, so a rank-share report compares its one
 * rank's compute. The measured file must name the plan's sha256 (otherwise exit 2; --force
 * makes it a warning). --tolerance F: exit 1 when the worst metric error exceeds F. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "args.h"
#include "commands.h"
#include "diag.h"
#include "metrics.h"
#include "plan.h"
#include "report_io.h"
#include "sha256.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: attnplan compare PLAN MEASURED [--tolerance F] [--force]\n"
            "  PLAN      a plan file with a predicted: section (attnplan plan/price -o)\n"
            "  MEASURED  a measured report (attnrun PLAN -o MEASURED)\n"
            "  --tolerance F  exit 1 when the worst relative metric error exceeds F (e.g. 0.1)\n"
            "  --force        compare even when MEASURED was measured on another plan file\n"
            "Relative error = (predicted - measured) / measured; negative measured values mean\n"
            "\"not measured\" and are shown as such.\n");
}

static void fmt_value(char *buf, size_t len, double v) {
    if (isnan(v)) snprintf(buf, len, "not in file"); /* a file older than the metric (report_io.c) */
    else if (v < 0) snprintf(buf, len, "not measured");
    else snprintf(buf, len, "%.4g", v);
}

/* relative error of a prediction; 0 ok, -1 when it has no meaning (not measured, or 0) */
static int rel_error(double predicted, double measured, double *err) {
    if (measured < 0 || predicted < 0 || isnan(measured) || isnan(predicted)) return -1;
    if (measured == 0.0) {
        if (predicted == 0.0) {
            *err = 0.0;
            return 0;
        }
        return -1;
    }
    *err = (predicted - measured) / measured;
    return 0;
}

static void print_row(const char *name, const char *unit, double predicted, double measured, const char *spread) {
    char p[32], m[32], e[32];
    double err;
    fmt_value(p, sizeof p, predicted);
    fmt_value(m, sizeof m, measured);
    if (rel_error(predicted, measured, &err) == 0) snprintf(e, sizeof e, "%+.1f%%", 100.0 * err);
    else snprintf(e, sizeof e, "%s", measured < 0 || isnan(measured) || isnan(predicted) ? "-" : "n/a");
    printf("  %-28s %-8s %14s %14s %10s  %s\n", name, unit, p, m, e, spread ? spread : "");
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* slowest rank's sum of the ops selected by want(op), counting ops measured on that rank */
static void class_time(const attn_report *pred, const attn_report *meas, int phase, int cls, int only_op,
                       double *tp, double *tm) {
    *tp = -1;
    *tm = -1;
    for (int r = 0; r < meas->n_ranks && r < pred->n_ranks; r++) {
        double sp = 0, sm = 0;
        int any = 0;
        for (int op = 0; op < OP_COUNT; op++) {
            if (only_op >= 0 ? op != only_op : (int)attn_op_table[op].cls != cls) continue;
            double m = meas->ranks[r].op[phase][op].time_s, p = pred->ranks[r].op[phase][op].time_s;
            if (m < 0) continue;
            sm += m;
            sp += p > 0 ? p : 0;
            any = 1;
        }
        if (!any) continue;
        if (sm > *tm) { /* the rank that was slowest in the measurement, and its prediction */
            *tm = sm;
            *tp = sp;
        }
    }
}

int cmd_compare(int argc, char **argv) {
    const char *plan_path = NULL, *meas_path = NULL;
    double tolerance = -1;
    int force = 0;
    attn_args p;
    attn_args_init(&p, "attnplan compare", argc, argv, 1);
    while (attn_args_peek(&p)) {
        if (attn_args_is(&p, "--help") || attn_args_is(&p, "-h")) {
            usage(stdout);
            return ATTN_EXIT_OK;
        } else if (attn_args_is(&p, "--tolerance")) {
            /* strtod, not attn_parse_real: any number >= 0, inf included (never fails) */
            const char *v = attn_args_value(&p);
            if (!v) return ATTN_EXIT_BADINPUT;
            char *end;
            tolerance = strtod(v, &end);
            if (*end != '\0' || v[0] == '\0' || !(tolerance >= 0)) {
                attn_args_fail(&p, "--tolerance: bad value '%s' (a number >= 0)", v);
                return ATTN_EXIT_BADINPUT;
            }
        } else if (attn_args_is(&p, "--force")) {
            force = 1;
            attn_args_next(&p);
        } else if (!attn_args_is_option(&p) && (!plan_path || !meas_path)) {
            if (!plan_path) plan_path = attn_args_peek(&p);
            else meas_path = attn_args_peek(&p);
            attn_args_next(&p);
        } else {
            attn_args_reject(&p);
            return ATTN_EXIT_BADINPUT;
        }
    }
    if (!plan_path || !meas_path) {
        attn_args_fail(&p, "needs PLAN and MEASURED (see --help)");
        return ATTN_EXIT_BADINPUT;
    }
    attn_diag d;
    attn_diag_init(&d);
    attn_plan plan;
    attn_report meas;
    memset(&meas, 0, sizeof meas);
    if (plan_load(plan_path, &plan, &d) != 0) return ATTN_EXIT_BADINPUT;
    int rc = ATTN_EXIT_BADINPUT;
    char meas_sha[65] = "", plan_sha[65] = "";
    if (!plan.has_predicted) {
        fprintf(stderr, "%s: error: the plan has no predicted: section (write it with attnplan plan/price -o)\n", plan_path);
        goto done;
    }
    if (report_load_measured(meas_path, &meas, meas_sha, &d) != 0) goto done;
    if (sha256_file(plan_path, plan_sha) != 0) {
        fprintf(stderr, "%s: error: cannot read the plan file\n", plan_path);
        goto done;
    }
    if (strcmp(plan_sha, meas_sha) != 0) {
        fprintf(stderr, "%s: %s: measured on plan sha256 %.12s..., but %s has sha256 %.12s...%s\n", meas_path,
                force ? "warning" : "error", meas_sha, plan_path, plan_sha, force ? "" : " (--force compares anyway)");
        if (!force) goto done;
    }
    const attn_report *pred = &plan.predicted;
    if (meas.n_ranks != pred->n_ranks) {
        fprintf(stderr, "%s: error: %d ranks measured, the plan predicts %d\n", meas_path, meas.n_ranks, pred->n_ranks);
        goto done;
    }
    printf("compare: %s (predicted) against %s (measured)\n", plan_path, meas_path);
    if (meas.note[0]) printf("measured note: %s\n", meas.note);
    printf("\nmetrics                        unit          predicted       measured  rel.error  measured min..max\n");
    double errs[MET_COUNT];
    int n_err = 0;
    for (int k = 0; k < MET_COUNT; k++) {
        char spread[64] = "";
        if (meas.metric[k] >= 0 && meas.metric_min[k] != meas.metric_max[k])
            snprintf(spread, sizeof spread, "%.4g..%.4g", meas.metric_min[k], meas.metric_max[k]);
        print_row(attn_metric_table[k].key, attn_metric_table[k].unit, pred->metric[k], meas.metric[k], spread);
        double e;
        if (rel_error(pred->metric[k], meas.metric[k], &e) == 0) errs[n_err++] = fabs(e);
    }
    for (int ph = 0; ph < PHASE_COUNT; ph++) {
        printf("\n%s op time (s), slowest measured rank: class, then its ops\n", attn_phase_names[ph]);
        for (int cls = 0; cls < 3; cls++) {
            double tp, tm;
            class_time(pred, &meas, ph, cls, -1, &tp, &tm);
            print_row(attn_opclass_names[cls], "s", tp, tm, NULL);
            for (int op = 0; op < OP_COUNT; op++) {
                if ((int)attn_op_table[op].cls != cls) continue;
                char name[40];
                snprintf(name, sizeof name, "  %s", attn_op_table[op].key);
                class_time(pred, &meas, ph, cls, op, &tp, &tm);
                if (tm < 0) { /* not measured anywhere: show the prediction beside it */
                    double p = -1;
                    for (int r = 0; r < pred->n_ranks; r++)
                        if (pred->ranks[r].op[ph][op].time_s > p) p = pred->ranks[r].op[ph][op].time_s;
                    tp = p;
                }
                print_row(name, "s", tp, tm, NULL);
            }
        }
    }
    rc = ATTN_EXIT_OK;
    if (n_err == 0) {
        printf("\nno metric was both predicted and measured\n");
        if (tolerance >= 0) rc = ATTN_EXIT_FAIL;
    } else {
        qsort(errs, (size_t)n_err, sizeof errs[0], cmp_double);
        double median = n_err % 2 ? errs[n_err / 2] : 0.5 * (errs[n_err / 2 - 1] + errs[n_err / 2]);
        double worst = errs[n_err - 1];
        printf("\nmetric error over %d measured metrics: median %.1f%%, worst %.1f%%\n", n_err, 100 * median, 100 * worst);
        if (tolerance >= 0) {
            int ok = worst <= tolerance;
            printf("tolerance %.1f%%: %s\n", 100 * tolerance, ok ? "met" : "EXCEEDED");
            if (!ok) rc = ATTN_EXIT_FAIL;
        }
    }
done:
    report_free(&meas);
    plan_free(&plan);
    return rc;
}
