/* exhaustive.c: the planner's cross-check. Enumerates every candidate structure and every
 * distribution of its work over device classes (class totals of rows, layers, head units
 * and MLP units; inside a class the parts are identical, so each holds the ceiling of an
 * even share) and evaluates each with lin_eval, the same function that scores the GLPK
 * program's answer. Refuses problems with more than a given number of distributions. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "search_private.h"

/* Compositions of `units` into n parts with part k >= low[k]: C(free + n - 1, n - 1). */
static double compositions(int units, int n, const long long *low) {
    long long free_ = units;
    for (int k = 0; k < n; k++) free_ -= low[k];
    if (free_ < 0) return 0;
    double c = 1;
    for (int k = 1; k < n; k++) c = c * (double)(free_ + k) / k;
    return c;
}

static void lows(const lin_cand *c, int per_device, long long *low) {
    for (int k = 0; k < c->n_classes; k++)
        low[k] = (long long)c->cls[k].parts * (per_device ? c->cls[k].devices : lin_min_units(c));
}

double exhaustive_count(const lin_cand *c) {
    if (c->balance == LIN_EVEN) return 1;
    long long low[LIN_MAX_CLASSES];
    lows(c, 0, low);
    double n = compositions(c->units, c->n_classes, low);
    if (lin_two_level(c->balance)) {
        lows(c, 1, low);
        n *= compositions(c->f_units, c->n_classes, low);
    }
    return n;
}

/* Odometer over compositions: T[k] >= low[k], sum = units. first: set the first one. */
static int next_composition(int *T, const long long *low, int n, int units, int first) {
    if (first) {
        long long rest = units;
        for (int k = 0; k < n; k++) rest -= low[k];
        if (rest < 0) return 0;
        for (int k = 0; k < n; k++) T[k] = (int)low[k];
        T[n - 1] += (int)rest;
        return 1;
    }
    /* move one unit from the last class into the rightmost earlier class that can take it,
     * lexicographic order over T[0..n-2] */
    for (int k = n - 2; k >= 0; k--) {
        if (T[n - 1] > low[n - 1]) {
            T[k]++;
            T[n - 1]--;
            return 1;
        }
        /* T[n-1] at its minimum: reset T[k] and carry to the left */
        T[n - 1] += T[k] - (int)low[k];
        T[k] = (int)low[k];
    }
    return 0;
}

static int ceil_div(long long a, long long b) { return (int)((a + b - 1) / b); }

typedef struct best_state {
    const lin_limits *lim;
    lin_solution *out;
    int found;
} best_state;

static void consider(const lin_cand *c, int ci, const int *x, const int *X, const int *xf, const int *XF,
                     void *arg) {
    best_state *s = arg;
    double pre, dec;
    if (lin_eval(c, x, X, xf, s->lim->mem_fraction, &pre, &dec) != 0) return;
    if (!lin_within(s->lim, pre, dec, 0)) return;
    double obj = lin_objective_value(s->lim, pre, dec);
    if (s->found && obj >= s->out->objective) return;
    s->found = 1;
    lin_solution *o = s->out;
    o->cand = ci;
    o->pre_s = pre, o->dec_s = dec, o->objective = obj;
    memcpy(o->x, x, sizeof o->x), memcpy(o->X, X, sizeof o->X);
    memcpy(o->xf, xf, sizeof o->xf), memcpy(o->XF, XF, sizeof o->XF);
}

void exhaustive_visit(const lin_cand *c, int ci, lin_visit_fn visit, void *arg) {
    int x[LIN_MAX_CLASSES] = {0}, X[LIN_MAX_CLASSES] = {0}, xf[LIN_MAX_CLASSES] = {0}, XF[LIN_MAX_CLASSES] = {0};
    if (c->balance == LIN_EVEN) {
        visit(c, ci, x, X, xf, XF, arg);
        return;
    }
    int n = c->n_classes;
    long long low[LIN_MAX_CLASSES], lowf[LIN_MAX_CLASSES];
    lows(c, 0, low);
    lows(c, 1, lowf);
    for (int more = next_composition(X, low, n, c->units, 1); more; more = next_composition(X, low, n, c->units, 0)) {
        for (int k = 0; k < n; k++) x[k] = ceil_div(X[k], c->cls[k].parts);
        if (!lin_two_level(c->balance)) {
            visit(c, ci, x, X, xf, XF, arg);
            continue;
        }
        for (int mf = next_composition(XF, lowf, n, c->f_units, 1); mf; mf = next_composition(XF, lowf, n, c->f_units, 0)) {
            for (int k = 0; k < n; k++) xf[k] = ceil_div(XF[k], lowf[k]);
            visit(c, ci, x, X, xf, XF, arg);
        }
    }
}

int exhaustive_solve(const lin_cand *c, int n, const lin_limits *lim, double max_evals,
                     lin_solution *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    out->cand = -1;
    double total = 0;
    for (int i = 0; i < n; i++) total += exhaustive_count(&c[i]);
    if (total > max_evals) {
        snprintf(err, errlen,
                 "--exhaustive would try %.3g distributions (limit %.3g): too big to enumerate; "
                 "use the solver (without --exhaustive) or a smaller problem", total, max_evals);
        return SEARCH_TOO_BIG;
    }
    best_state s = {lim, out, 0};
    for (int i = 0; i < n; i++) exhaustive_visit(&c[i], i, consider, &s);
    if (!s.found) {
        snprintf(err, errlen, "no structure satisfies the constraints");
        return SEARCH_INFEASIBLE;
    }
    out->proven_optimal = 1;
    return SEARCH_OK;
}
