/* full_search.c: the second half of --exhaustive. The program and the exhaustive search agree
 * on the linear model; this prices every distribution they consider (each structure, each
 * placement order, each class split) with the full cost model instead, so the output can
 * say how far the program's choice, re-priced, is from the best the cost model knows in the
 * same space. Only for problems small enough to price one plan at a time. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "search_private.h"

typedef struct full_state {
    const planner_ctx *x;
    planner_result *r;
    double best;
} full_state;

static void price_one(const lin_cand *lc, int ci, const int *x, const int *X, const int *xf, const int *XF, void *arg) {
    full_state *f = arg;
    const planner_ctx *ctx = f->x;
    const planner_cand *c = &ctx->c[ci];
    lin_solution sol;
    memset(&sol, 0, sizeof sol);
    sol.cand = ci;
    memcpy(sol.x, x, sizeof sol.x), memcpy(sol.X, X, sizeof sol.X);
    memcpy(sol.xf, xf, sizeof sol.xf), memcpy(sol.XF, XF, sizeof sol.XF);
    if (lin_eval(lc, x, X, xf, INFINITY, &sol.pre_s, &sol.dec_s) != 0 && lc->balance != LIN_EVEN) return;
    attn_plan p;
    cost_detail det;
    char err[256];
    if (reprice_build_priced(ctx, c, lc->balance == LIN_EVEN ? NULL : &sol, &p, &det, err, sizeof err) != 0) return;
    f->r->full_priced++;
    double v = reprice_objective(ctx, &p);
    if (reprice_ok(ctx, &p) && v < f->best) {
        f->best = v;
        reprice_fill_alt(ctx, c, &sol, &p, &det, &f->r->full_best);
        f->r->has_full = 1;
    }
    plan_free(&p);
}

void full_search_run(const planner_ctx *x, double max_plans, planner_result *r) {
    double total = 0;
    for (int i = 0; i < x->n; i++)
        if (x->lcs[i].balance != LIN_EVEN || x->lcs[i].mem_even_ok) total += exhaustive_count(&x->lcs[i]);
    if (total > max_plans) {
        snprintf(r->full_note, sizeof r->full_note, "%.3g distributions, more than the %.3g this check prices", total,
                 max_plans);
        return;
    }
    full_state f = {x, r, INFINITY};
    for (int i = 0; i < x->n; i++)
        if (x->lcs[i].balance != LIN_EVEN || x->lcs[i].mem_even_ok) exhaustive_visit(&x->lcs[i], i, price_one, &f);
}
