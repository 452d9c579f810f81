/* glpk_program.c: the planner's mixed-integer program in GLPK (the one file calling
 * glp_*), built from the candidates of lin.h. One binary per candidate (structure +
 * placement order) picks the plan; integer variables per device class carry the work
 * distribution; continuous variables carry the makespans (prefill and decode) of each
 * candidate, linked to its binary by disaggregation (every distribution variable is
 * bounded by units * y, so no big-M constant appears).
 * Times are in milliseconds and memory in GB inside the program, to keep GLPK's numbers
 * near 1. GLPK never aborts the process: every matrix entry is checked before
 * glp_load_matrix, and glp_error_hook jumps back here should GLPK fail anyway. */
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "search_private.h"

#ifdef ATTN_HAVE_GLPK
#include <glpk.h>

#define T_SCALE 1e3   /* seconds -> ms */
#define M_SCALE 1e-9  /* bytes -> GB */

/* The growing matrix in triplet form (GLPK's 1-based arrays). */
typedef struct mat {
    int n, cap;
    int *ia, *ja;
    double *ar;
    int bad;          /* a NaN/inf coefficient or a failed allocation */
} mat;

static void mat_put(mat *a, int i, int j, double v) {
    if (a->bad) return;
    if (!isfinite(v)) { a->bad = 1; return; }
    if (v == 0) return;
    if (a->n + 1 >= a->cap) {
        int cap = a->cap ? 2 * a->cap : 1024;
        int *ia = realloc(a->ia, (size_t)cap * sizeof *ia);
        if (ia) a->ia = ia;
        int *ja = realloc(a->ja, (size_t)cap * sizeof *ja);
        if (ja) a->ja = ja;
        double *ar = realloc(a->ar, (size_t)cap * sizeof *ar);
        if (ar) a->ar = ar;
        if (!ia || !ja || !ar) { a->bad = 1; return; }
        a->cap = cap;
    }
    a->n++;
    a->ia[a->n] = i, a->ja[a->n] = j, a->ar[a->n] = v;
}

/* Column and row helpers. */
typedef struct builder {
    glp_prob *P;
    mat A;
} builder;

static int add_col(builder *b, const char *kind, int cand, int k, int integer, double lo, double hi, double obj) {
    int j = glp_add_cols(b->P, 1);
    char name[48];
    snprintf(name, sizeof name, "%s_%d_%d", kind, cand, k);
    glp_set_col_name(b->P, j, name);
    if (integer == 2) glp_set_col_kind(b->P, j, GLP_BV);
    else if (integer) glp_set_col_kind(b->P, j, GLP_IV);
    if (integer != 2) {
        if (hi <= lo) glp_set_col_bnds(b->P, j, GLP_FX, lo, lo);
        else if (isinf(hi)) glp_set_col_bnds(b->P, j, GLP_LO, lo, 0);
        else glp_set_col_bnds(b->P, j, GLP_DB, lo, hi);
    }
    glp_set_obj_coef(b->P, j, isfinite(obj) ? obj : 0);
    return j;
}

/* A row with bounds type (GLP_LO / GLP_UP / GLP_FX) and value. */
static int add_row(builder *b, int type, double v) {
    int i = glp_add_rows(b->P, 1);
    if (type == GLP_LO) glp_set_row_bnds(b->P, i, GLP_LO, v, 0);
    else if (type == GLP_UP) glp_set_row_bnds(b->P, i, GLP_UP, 0, v);
    else glp_set_row_bnds(b->P, i, GLP_FX, v, v);
    return i;
}

/* Columns of one candidate. */
typedef struct cand_cols {
    int y, x[LIN_MAX_CLASSES], X[LIN_MAX_CLASSES], xf[LIN_MAX_CLASSES];
} cand_cols;

/* Adds candidate ci; the objective gets its prefill or decode time. Skips (y fixed at 0)
 * candidates that cannot be feasible. */
static void add_candidate(builder *b, const lin_cand *c, int ci, const lin_limits *lim, cand_cols *cc) {
    /* the objective's weights of Tpre and Tdec: ttft, tpot, or the request latency */
    double w_pre = lim->objective == OBJ_TPOT ? 0 : 1;
    double w_dec = lim->objective == OBJ_TPOT ? 1 : lim->objective == OBJ_PER_GPU ? lim->e2e_w : 0;
    int nc = c->n_classes;
    memset(cc, 0, sizeof *cc);
    if (c->balance == LIN_EVEN) {
        double obj = lin_objective_value(lim, c->pre_0, c->dec_0) * T_SCALE;
        cc->y = add_col(b, "y", ci, 0, 2, 0, 1, obj);
        int ok = c->mem_even_ok && lin_within(lim, c->pre_0, c->dec_0, 0);
        if (!ok) glp_set_col_bnds(b->P, cc->y, GLP_FX, 0, 0);
        return;
    }
    cc->y = add_col(b, "y", ci, 0, 2, 0, 1, 0);
    int y = cc->y;
    double U = c->units, UF = c->f_units;
    double pmax = lim->max_ttft_s > 0 ? lim->max_ttft_s * T_SCALE : INFINITY;
    int T = add_col(b, "Tpre", ci, 0, 0, 0, pmax, w_pre);
    double dmax = lim->max_tpot_s > 0 ? lim->max_tpot_s * T_SCALE : INFINITY;
    int D = add_col(b, "Tdec", ci, 0, 0, 0, dmax, w_dec);
    if (lim->max_e2e_s > 0) { /* the request latency target: Tpre + e2e_w Tdec <= max */
        int re = add_row(b, GLP_UP, lim->max_e2e_s * T_SCALE);
        mat_put(&b->A, re, T, 1), mat_put(&b->A, re, D, lim->e2e_w);
    }
    for (int k = 0; k < nc; k++) {
        const lin_class *k_ = &c->cls[k];
        cc->x[k] = add_col(b, "x", ci, k, 1, 0, U, 0);
        int r = add_row(b, GLP_LO, 0); /* x >= least * y */
        mat_put(&b->A, r, cc->x[k], 1), mat_put(&b->A, r, y, -lin_min_units(c));
        r = add_row(b, GLP_UP, 0);     /* x <= U y */
        mat_put(&b->A, r, cc->x[k], 1), mat_put(&b->A, r, y, -U);
        if (lin_two_level(c->balance)) {
            cc->xf[k] = add_col(b, "xf", ci, k, 1, 0, UF, 0);
            r = add_row(b, GLP_LO, 0);
            mat_put(&b->A, r, cc->xf[k], 1), mat_put(&b->A, r, y, -1);
            r = add_row(b, GLP_UP, 0);
            mat_put(&b->A, r, cc->xf[k], 1), mat_put(&b->A, r, y, -UF);
        }
        if (c->balance == LIN_LAYERS) {
            cc->X[k] = add_col(b, "X", ci, k, 1, 0, U, 0);
            r = add_row(b, GLP_LO, 0); /* parts x >= X */
            mat_put(&b->A, r, cc->x[k], k_->parts), mat_put(&b->A, r, cc->X[k], -1);
            r = add_row(b, GLP_LO, 0); /* X >= parts * least * y */
            mat_put(&b->A, r, cc->X[k], 1), mat_put(&b->A, r, y, -(double)k_->parts * lin_min_units(c));
        }
        /* memory of the busiest device of this class */
        r = add_row(b, GLP_UP, 0);
        mat_put(&b->A, r, cc->x[k], k_->mem_u * M_SCALE);
        if (lin_two_level(c->balance)) mat_put(&b->A, r, cc->xf[k], k_->mem_f * M_SCALE);
        mat_put(&b->A, r, y, (k_->mem_0 - k_->mem_cap * lim->mem_fraction) * M_SCALE);
    }
    /* the work is covered */
    int r = add_row(b, c->balance == LIN_LAYERS ? GLP_FX : GLP_LO, 0);
    for (int k = 0; k < nc; k++)
        mat_put(&b->A, r, c->balance == LIN_LAYERS ? cc->X[k] : cc->x[k],
                c->balance == LIN_LAYERS ? 1 : c->cls[k].parts);
    mat_put(&b->A, r, y, -U);
    if (lin_two_level(c->balance)) {
        r = add_row(b, GLP_LO, 0);
        for (int k = 0; k < nc; k++) mat_put(&b->A, r, cc->xf[k], (double)c->cls[k].parts * c->cls[k].devices);
        mat_put(&b->A, r, y, -UF);
    }
    /* times */
    if (c->balance == LIN_ROWS) {
        for (int k = 0; k < nc; k++) {
            r = add_row(b, GLP_LO, 0);
            mat_put(&b->A, r, T, 1), mat_put(&b->A, r, cc->x[k], -c->cls[k].pre_u * T_SCALE);
            mat_put(&b->A, r, y, -c->cls[k].pre_c * T_SCALE);
            r = add_row(b, GLP_LO, 0);
            mat_put(&b->A, r, D, 1), mat_put(&b->A, r, cc->x[k], -c->cls[k].dec_u * T_SCALE);
            mat_put(&b->A, r, y, -c->cls[k].dec_c * T_SCALE);
        }
    } else if (c->balance == LIN_LAYERS) {
        int S = add_col(b, "Smax", ci, 0, 0, 0, INFINITY, 0);
        for (int k = 0; k < nc; k++) {
            r = add_row(b, GLP_LO, 0);
            mat_put(&b->A, r, S, 1), mat_put(&b->A, r, cc->x[k], -c->cls[k].pre_u * T_SCALE);
        }
        r = add_row(b, GLP_LO, 0);
        mat_put(&b->A, r, T, 1), mat_put(&b->A, r, S, -c->pre_max);
        for (int k = 0; k < nc; k++) mat_put(&b->A, r, cc->X[k], -c->cls[k].pre_u * T_SCALE);
        mat_put(&b->A, r, y, -c->pre_0 * T_SCALE);
        r = add_row(b, GLP_LO, 0);
        mat_put(&b->A, r, D, 1);
        for (int k = 0; k < nc; k++) mat_put(&b->A, r, cc->X[k], -c->cls[k].dec_u * T_SCALE);
        mat_put(&b->A, r, y, -c->dec_0 * T_SCALE);
    } else { /* SHARES, SEGS: attention phase max + MLP phase max + constant, both phases */
        for (int ph = 0; ph < 2; ph++) {
            int Z = ph ? D : T;
            int Ah = add_col(b, ph ? "Adh" : "Aph", ci, 0, 0, 0, INFINITY, 0);
            int Af = add_col(b, ph ? "Adf" : "Apf", ci, 0, 0, 0, INFINITY, 0);
            for (int k = 0; k < nc; k++) {
                r = add_row(b, GLP_LO, 0);
                mat_put(&b->A, r, Ah, 1);
                mat_put(&b->A, r, cc->x[k], -(ph ? c->cls[k].dec_u : c->cls[k].pre_u) * T_SCALE);
                r = add_row(b, GLP_LO, 0);
                mat_put(&b->A, r, Af, 1);
                mat_put(&b->A, r, cc->xf[k], -(ph ? c->cls[k].dec_f : c->cls[k].pre_f) * T_SCALE);
            }
            r = add_row(b, GLP_LO, 0);
            mat_put(&b->A, r, Z, 1), mat_put(&b->A, r, Ah, -1), mat_put(&b->A, r, Af, -1);
            mat_put(&b->A, r, y, -(ph ? c->dec_0 : c->pre_0) * T_SCALE);
        }
    }
}

/* GLPK failure recovery. The builder lives at file scope so that its state is intact
 * after a longjmp (locals modified after setjmp would not be). */
static jmp_buf glpk_jump;
static builder g_b;
static cand_cols *g_cc;
static void glpk_failed(void *info) {
    (void)info;
    longjmp(glpk_jump, 1);
}

typedef struct cb_state {
    double gap;
    int progress;
    time_t last;
} cb_state;

static void ios_callback(glp_tree *tree, void *info) {
    cb_state *s = info;
    int why = glp_ios_reason(tree);
    if (why == GLP_IBINGO || why == GLP_ISELECT) {
        double g = glp_ios_mip_gap(tree);
        if (isfinite(g) && g < 1e30) s->gap = g; /* GLPK says DBL_MAX before an incumbent */
    }
    if (s->progress) {
        time_t now = time(NULL);
        if (now != s->last) {
            s->last = now;
            if (isfinite(s->gap)) fprintf(stderr, "\rattnplan: solving, gap %.3g%%   ", 100 * s->gap);
            else fprintf(stderr, "\rattnplan: solving, no plan found yet   ");
            fflush(stderr);
        }
    }
}

int glpk_program_solve(const lin_cand *c, int n, const lin_limits *lim, double time_limit_s,
                       int progress, lin_solution *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    out->cand = -1;
    if (n <= 0) {
        snprintf(err, errlen, "no candidate structure to choose from");
        return SEARCH_INFEASIBLE;
    }
    g_cc = calloc((size_t)n, sizeof *g_cc);
    if (!g_cc) {
        snprintf(err, errlen, "out of memory building the program");
        return SEARCH_ERROR;
    }
    memset(&g_b, 0, sizeof g_b);
    int rc = SEARCH_ERROR;
    glp_term_out(GLP_OFF);
    glp_error_hook(glpk_failed, NULL);
    if (setjmp(glpk_jump)) {
        /* GLPK's environment is unusable after an error: free it all (the problem too) */
        glp_error_hook(NULL, NULL);
        glp_free_env();
        free(g_b.A.ia), free(g_b.A.ja), free(g_b.A.ar);
        free(g_cc);
        g_cc = NULL;
        snprintf(err, errlen, "GLPK failed internally while solving the program");
        return SEARCH_ERROR;
    }
    cand_cols *const cc = g_cc;
    g_b.P = glp_create_prob();
    glp_set_prob_name(g_b.P, "attnplan");
    glp_set_obj_dir(g_b.P, GLP_MIN);
    for (int i = 0; i < n; i++) add_candidate(&g_b, &c[i], i, lim, &cc[i]);
    int one = add_row(&g_b, GLP_FX, 1); /* exactly one structure */
    for (int i = 0; i < n; i++) mat_put(&g_b.A, one, cc[i].y, 1);
    if (g_b.A.bad) {
        snprintf(err, errlen, "the program has a non-finite coefficient or ran out of memory");
        goto done;
    }
    /* the checks glp_load_matrix would abort on */
    int nr = glp_get_num_rows(g_b.P), ncol = glp_get_num_cols(g_b.P);
    for (int k = 1; k <= g_b.A.n; k++)
        if (g_b.A.ia[k] < 1 || g_b.A.ia[k] > nr || g_b.A.ja[k] < 1 || g_b.A.ja[k] > ncol) {
            snprintf(err, errlen, "internal error: matrix entry %d out of range", k);
            goto done;
        }
    /* duplicates are refused by GLPK; our builder never repeats (row, col) by construction */
    glp_load_matrix(g_b.P, g_b.A.n, g_b.A.ia, g_b.A.ja, g_b.A.ar);
    glp_scale_prob(g_b.P, GLP_SF_AUTO);

    glp_iocp parm;
    glp_init_iocp(&parm);
    parm.presolve = GLP_ON;
    parm.msg_lev = GLP_MSG_OFF;
    double ms = time_limit_s * 1000.0;
    parm.tm_lim = ms >= 2e9 ? 2000000000 : (ms < 1 ? 1 : (int)ms);
    cb_state st = {INFINITY, progress, 0};
    parm.cb_func = ios_callback;
    parm.cb_info = &st;
    int ret = glp_intopt(g_b.P, &parm);
    if (progress) fprintf(stderr, "\r%40s\r", "");
    int status = glp_mip_status(g_b.P);
    if (status == GLP_NOFEAS || (ret == GLP_ENOPFS) || (ret == GLP_ENODFS && status != GLP_FEAS)) {
        rc = SEARCH_INFEASIBLE;
        snprintf(err, errlen, "no structure satisfies the constraints");
        goto done;
    }
    if (status != GLP_OPT && status != GLP_FEAS) {
        if (ret == GLP_ETMLIM) {
            rc = SEARCH_TIMEOUT;
            snprintf(err, errlen, "the solver reached its time limit (%.3g s) before finding any plan", time_limit_s);
        } else {
            snprintf(err, errlen, "GLPK could not solve the program (glp_intopt returned %d, status %d)", ret, status);
        }
        goto done;
    }
    out->proven_optimal = status == GLP_OPT && ret == 0;
    out->gap = out->proven_optimal ? 0 : st.gap;
    for (int i = 0; i < n && out->cand < 0; i++)
        if (glp_mip_col_val(g_b.P, cc[i].y) > 0.5) out->cand = i;
    if (out->cand < 0) {
        snprintf(err, errlen, "GLPK returned a solution without a structure");
        goto done;
    }
    const lin_cand *w = &c[out->cand];
    const cand_cols *wc = &cc[out->cand];
    for (int k = 0; k < w->n_classes && w->balance != LIN_EVEN; k++) {
        out->x[k] = (int)lround(glp_mip_col_val(g_b.P, wc->x[k]));
        if (lin_two_level(w->balance)) out->xf[k] = (int)lround(glp_mip_col_val(g_b.P, wc->xf[k]));
    }
    int totals = lin_totals(w, out->x, out->xf, out->X, out->XF);
    if (w->balance == LIN_LAYERS) /* the layer totals are the program's own variables */
        for (int k = 0; k < w->n_classes; k++) out->X[k] = (int)lround(glp_mip_col_val(g_b.P, cc[out->cand].X[k]));
    if (totals != 0 ||
        lin_eval(w, out->x, out->X, out->xf, lim->mem_fraction, &out->pre_s, &out->dec_s) != 0) {
        snprintf(err, errlen, "internal error: the solver's distribution does not check out");
        goto done;
    }
    out->objective = lin_objective_value(lim, out->pre_s, out->dec_s);
    rc = out->proven_optimal ? SEARCH_OK : SEARCH_FEASIBLE;
done:
    glp_delete_prob(g_b.P);
    glp_error_hook(NULL, NULL);
    free(g_b.A.ia), free(g_b.A.ja), free(g_b.A.ar);
    free(g_cc);
    g_cc = NULL;
    return rc;
}

#else /* no GLPK: the build still works, the program is unavailable */
int glpk_program_solve(const lin_cand *c, int n, const lin_limits *lim, double time_limit_s,
                       int progress, lin_solution *out, char *err, size_t errlen) {
    (void)c, (void)n, (void)lim, (void)time_limit_s, (void)progress;
    memset(out, 0, sizeof *out);
    out->cand = -1;
    snprintf(err, errlen, "this attnplan was built without GLPK (install libglpk-dev and rebuild, or use --exhaustive)");
    return SEARCH_ERROR;
}
#endif
