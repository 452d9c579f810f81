/* lin.c: evaluation of the planner's linear model (lin.h) for one candidate and one
 * distribution. The GLPK program and the exhaustive search both report through
 * lin_eval, so the figures they compare are computed by one function. */
#include <string.h>
#include "lin.h"

int lin_min_units(const lin_cand *c) { return c->min_units > 1 ? c->min_units : 1; }

const char *lin_balance_name(lin_balance b) {
    switch (b) {
    case LIN_EVEN: return "even";
    case LIN_ROWS: return "rows per replica";
    case LIN_LAYERS: return "layers per stage";
    case LIN_SHARES: return "heads and MLP columns per device";
    case LIN_SEGS: return "dimension segments and MLP columns per device";
    case LIN_BALANCE_COUNT: break;
    }
    return "?";
}

/* Shares `units` over classes whose parts take at most per[k] each: totals T[k] with
 * parts[k] <= T[k] <= parts[k]*per[k] summing to units; the surplus is taken from the last
 * classes first. 0 ok, -1 when impossible. */
static int share_totals(const lin_cand *c, const int *per, int units, int per_device, int *T) {
    long long cap = 0, low = 0;
    int least = per_device ? 1 : lin_min_units(c);
    for (int k = 0; k < c->n_classes; k++) {
        long long parts = (long long)c->cls[k].parts * (per_device ? c->cls[k].devices : 1);
        if (per[k] < least) return -1;
        T[k] = (int)(parts * per[k] > units ? units : parts * per[k]);
        cap += parts * per[k];
        low += parts * least;
    }
    if (cap < units || low > units) return -1;
    long long surplus = 0;
    for (int k = 0; k < c->n_classes; k++) surplus += T[k];
    surplus -= units;
    for (int k = c->n_classes - 1; k >= 0 && surplus > 0; k--) {
        long long parts = (long long)c->cls[k].parts * (per_device ? c->cls[k].devices : 1) * least;
        long long room = T[k] - parts;
        long long take = room < surplus ? room : surplus;
        T[k] -= (int)take;
        surplus -= take;
    }
    return surplus == 0 ? 0 : -1;
}

int lin_totals(const lin_cand *c, const int *x, const int *xf, int *X, int *XF) {
    memset(X, 0, LIN_MAX_CLASSES * sizeof *X);
    memset(XF, 0, LIN_MAX_CLASSES * sizeof *XF);
    if (c->balance == LIN_EVEN) return 0;
    if (share_totals(c, x, c->units, 0, X) != 0) return -1;
    if (lin_two_level(c->balance) && share_totals(c, xf, c->f_units, 1, XF) != 0) return -1;
    return 0;
}

int lin_eval(const lin_cand *c, const int *x, const int *X, const int *xf, double mem_fraction,
             double *pre_s, double *dec_s) {
    *pre_s = c->pre_0, *dec_s = c->dec_0;
    if (c->balance == LIN_EVEN) return c->mem_even_ok ? 0 : -1;
    long long cover = 0, cover_f = 0, sumX = 0;
    double pmax = 0, dmax = 0, pfmax = 0, dfmax = 0, psum = 0, dsum = 0;
    for (int k = 0; k < c->n_classes; k++) {
        const lin_class *q = &c->cls[k];
        if (x[k] < lin_min_units(c)) return -1;
        cover += (long long)q->parts * x[k];
        double mem = q->mem_u * x[k] + q->mem_0;
        if (lin_two_level(c->balance)) {
            if (xf[k] < 1) return -1;
            cover_f += (long long)q->parts * q->devices * xf[k];
            mem += q->mem_f * xf[k];
            if (q->pre_f * xf[k] > pfmax) pfmax = q->pre_f * xf[k];
            if (q->dec_f * xf[k] > dfmax) dfmax = q->dec_f * xf[k];
        }
        if (mem > q->mem_cap * mem_fraction) return -1;
        double cp = c->balance == LIN_ROWS ? q->pre_c : 0, cd = c->balance == LIN_ROWS ? q->dec_c : 0;
        if (q->pre_u * x[k] + cp > pmax) pmax = q->pre_u * x[k] + cp;
        if (q->dec_u * x[k] + cd > dmax) dmax = q->dec_u * x[k] + cd;
        if (c->balance == LIN_LAYERS) {
            if (X[k] < (long long)q->parts * lin_min_units(c) || X[k] > (long long)q->parts * x[k]) return -1;
            sumX += X[k];
            psum += q->pre_u * X[k];
            dsum += q->dec_u * X[k];
        }
    }
    if (cover < c->units) return -1;
    switch (c->balance) {
    case LIN_ROWS:
        *pre_s = pmax, *dec_s = dmax;
        break;
    case LIN_LAYERS:
        if (sumX != c->units) return -1;
        *pre_s = c->pre_max * pmax + psum + c->pre_0;
        *dec_s = dsum + c->dec_0;
        break;
    case LIN_SHARES:
    case LIN_SEGS:
        if (cover_f < c->f_units) return -1;
        *pre_s = pmax + pfmax + c->pre_0;
        *dec_s = dmax + dfmax + c->dec_0;
        break;
    default:
        break;
    }
    return 0;
}
