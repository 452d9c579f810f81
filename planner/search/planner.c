/* planner.c: the planner's pipeline (planner_run). For every structure of the device count and
 * every placement order: build the even plan on that placement, price it with the full
 * cost model, classify where device classes differ (placement.c) and linearize
 * (linearize.c). Then one GLPK program over all candidates (glpk_program.c), or the
 * exhaustive search (exhaustive.c), picks structure, placement and distribution. The
 * choice is rebuilt as a plan and re-priced with the full cost model; if the re-priced plan
 * breaks a limit the linear model kept (memory, --max-tpot), that candidate is dropped and
 * the program solved again. Equal program optima and the choice's distribution neighbours
 * are re-priced, and the cost model picks among them. The runners-up are re-priced the
 * same way for the table. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "enumerate.h"
#include "planner.h"
#include "search_private.h"

#define MAX_RESOLVES 8

void planner_options_init(planner_options *o) {
    memset(o, 0, sizeof *o);
    o->objective = OBJ_THROUGHPUT;
    o->max_memory_fraction = 1.0;
    o->time_limit_s = 10.0;
    o->max_evals = 1e8;
    o->top = 10;
    o->progress = -1;
}

void planner_result_free(planner_result *r) {
    plan_free(&r->plan);
    free(r->alts);
    free(r->rejected);
    memset(r, 0, sizeof *r);
}

static int progress_on(const planner_options *o) { return o->progress < 0 ? isatty(2) : o->progress; }

/* Symmetry of identical replicas: on a one-class topology, when every replica of an even
 * plan sits on the same shape of nodes and domains, replica 0 (it has the most batch rows,
 * the remainder going to the lowest replicas) is the slowest and fullest, so pricing it
 * alone gives the plan's ttft, tpot, peak memory and communication fraction. Saves a factor
 * dp at scale; tests/planner checks it against pricing the whole plan. */
static int replica_window_ok(const planner_ctx *x, const attn_strategy *s) {
    const attn_topology *t = x->t;
    if (s->dp < 2 || x->orders.n_classes != 1 || t->n_nodes < 1) return 0;
    long long P = (long long)s->pp * strategy_stage_devices(s);
    long long D = t->node_types[t->node_type_of[0]].devices;
    long long K = t->domain_nodes > 1 ? t->domain_nodes : 1;
    if (K > 1 && t->n_nodes % K != 0) return 0; /* a short last domain breaks the symmetry */
    long long period = D * K;
    return P % period == 0 || D % P == 0 || (period % P == 0 && P % D == 0);
}

/* Prices replica 0 of the even plan p alone (see replica_window_ok) into rep, with the
 * metrics of the whole plan. */
static int price_window(const planner_ctx *x, const attn_plan *p, attn_report *rep, cost_detail *det) {
    attn_plan w = *p; /* shares replica 0's ranks (the first pp*s*n*m, plan_coord_rank) with p */
    w.strategy.dp = 1;
    w.world = p->strategy.pp * strategy_stage_devices(&p->strategy);
    w.model.workload.batch = p->ranks[0].batch_end - p->ranks[0].batch_begin;
    w.groups = NULL, w.n_groups = 0, w.has_predicted = 0;
    if (cost_price_plan(&w, x->t, x->co, rep, det) != 0) return -1;
    double tokens = (double)p->model.workload.batch * p->model.workload.seq_len;
    double ttft = rep->metric[MET_TTFT_S], tpot = rep->metric[MET_TPOT_S];
    rep->metric[MET_PREFILL_TOKENS_PER_S] = ttft > 0 ? tokens / ttft : 0;
    rep->metric[MET_DECODE_TOKENS_PER_S] = tpot > 0 ? p->model.workload.batch / tpot : 0;
    metrics_fill_serving(rep->metric, p->model.workload.batch, p->model.workload.decode_tokens, p->world);
    for (int k = 0; k < MET_COUNT; k++) rep->metric_min[k] = rep->metric_max[k] = rep->metric[k];
    return 0;
}

/* Builds candidate (s, order k) and prices its even plan. reason set when invalid. */
static void price_candidate(planner_ctx *x, const attn_strategy *s, int k, planner_cand *c, char *reason, size_t len) {
    attn_plan p;
    cost_detail det;
    memset(c, 0, sizeof *c);
    c->lc.strategy = *s;
    c->lc.order = k;
    if (place_even_plan(x->m, x->t, s, &x->orders, k, 0, &p, reason, len) != 0) return;
    attn_report rep;
    int priced = replica_window_ok(x, s) && !x->o->no_symmetry ? price_window(x, &p, &rep, &det)
                                                                : cost_price_plan(&p, x->t, x->co, &rep, &det);
    if (priced != 0) {
        snprintf(reason, len, "the cost model cannot price it: %.120s", det.reason);
        plan_free(&p);
        return;
    }
    if (place_classify(x->m, s, &x->orders, k, &c->pm, &c->lc) != 0) {
        snprintf(reason, len, "out of memory");
    } else {
        linearize(x->t, &p, &rep, &det, &c->pm, x->lim.mem_fraction, &c->lc);
        c->valid = 1;
        c->shortfall = reprice_excess(&rep, x->lim.mem_fraction);
        memcpy(c->metric, rep.metric, sizeof c->metric);
    }
    report_free(&rep);
    plan_free(&p);
}

/* Drops candidate i from further solves (its re-priced plan broke a limit). */
static void exclude(planner_ctx *x, int i) {
    x->lcs[i].balance = LIN_EVEN;
    x->lcs[i].mem_even_ok = 0;
}

/* Re-prices the distribution neighbours of a balanced choice (one unit of rows, layers,
 * heads or MLP columns moved from one class to another) with the full cost model and
 * keeps the best if it beats the program's choice and keeps the limits: the linear model
 * is a first-order picture, the cost model has the last word. */
static void refine(const planner_ctx *x, const planner_cand *c, lin_solution *sol, attn_plan *p, cost_detail *det,
                   planner_result *r) {
    if (c->pm.balance == LIN_EVEN) return;
    const lin_cand *lc = &c->lc;
    double best = reprice_objective(x, p);
    for (int round = 0; round < 8; round++) { /* first improvement, a few rounds */
        int improved = 0;
        for (int mlp = 0; mlp <= (lin_two_level(lc->balance)); mlp++)
            for (int a = 0; a < lc->n_classes; a++)
                for (int b = 0; b < lc->n_classes; b++) {
                    if (a == b) continue;
                    lin_solution n = *sol;
                    int *T = mlp ? n.XF : n.X;
                    long long low = (long long)lc->cls[a].parts * (mlp ? lc->cls[a].devices : lin_min_units(lc));
                    if (T[a] - 1 < low) continue;
                    T[a]--, T[b]++;
                    for (int k = 0; k < lc->n_classes; k++) {
                        n.x[k] = (n.X[k] + lc->cls[k].parts - 1) / lc->cls[k].parts;
                        if (lin_two_level(lc->balance)) {
                            int d = lc->cls[k].parts * lc->cls[k].devices;
                            n.xf[k] = (n.XF[k] + d - 1) / d;
                        }
                    }
                    attn_plan q;
                    cost_detail qd;
                    char err[256];
                    if (reprice_build_priced(x, c, &n, &q, &qd, err, sizeof err) != 0) continue;
                    r->n_neighbours++;
                    double v = reprice_objective(x, &q);
                    if (v < best * (1 - 1e-12) && reprice_ok(x, &q)) {
                        best = v;
                        if (lin_eval(lc, n.x, n.X, n.xf, INFINITY, &n.pre_s, &n.dec_s) == 0)
                            n.objective = x->lim.objective == OBJ_TPOT ? n.dec_s : n.pre_s;
                        *sol = n;
                        plan_free(p);
                        *p = q;
                        *det = qd;
                        r->refined = improved = 1;
                        continue;
                    }
                    plan_free(&q);
                }
        if (!improved) break;
    }
}

typedef struct ranked { int cand; lin_solution sol; } ranked;

/* Candidates the program rates equal to its optimum (mirror placement orders, typically):
 * the full cost model picks among them, so the choice stays a proven optimum of the program. */
static void break_ties(const planner_ctx *x, const ranked *rk, int nr, lin_solution *sol, attn_plan *p,
                       cost_detail *det, planner_result *r) {
    if (!reprice_ok(x, p)) return;
    double best = reprice_objective(x, p);
    for (int j = 0, tried = 0; j < nr && tried < 8; j++) {
        if (rk[j].cand == sol->cand || !(rk[j].sol.objective <= sol->objective * (1 + 1e-9))) continue;
        tried++;
        attn_plan q;
        cost_detail qd;
        char err[256];
        if (reprice_build_priced(x, &x->c[rk[j].cand], &rk[j].sol, &q, &qd, err, sizeof err) != 0) continue;
        double v = reprice_objective(x, &q);
        if (v < best * (1 - 1e-12) && reprice_ok(x, &q)) {
            best = v;
            *sol = rk[j].sol;
            plan_free(p);
            *p = q;
            *det = qd;
            r->n_ties++;
            continue;
        }
        plan_free(&q);
    }
}

static int solve(planner_ctx *x, lin_solution *sol, char *err, size_t len) {
    if (x->o->exhaustive) return exhaustive_solve(x->lcs, x->n, &x->lim, x->o->max_evals, sol, err, len);
    return glpk_program_solve(x->lcs, x->n, &x->lim, x->o->time_limit_s, progress_on(x->o), sol, err, len);
}

/* Best distribution of one candidate alone (for the table); -1 when infeasible. */
static int solve_one(const planner_ctx *x, int i, lin_solution *sol) {
    const lin_cand *c = &x->lcs[i];
    if (c->balance == LIN_EVEN) { /* nothing to distribute: the cost model's figures */
        if (!c->mem_even_ok || !lin_within(&x->lim, c->pre_0, c->dec_0, 0)) return -1;
        memset(sol, 0, sizeof *sol);
        sol->cand = i, sol->pre_s = c->pre_0, sol->dec_s = c->dec_0, sol->proven_optimal = 1;
        sol->objective = lin_objective_value(&x->lim, c->pre_0, c->dec_0);
        return 0;
    }
    char err[256];
    int rc = x->o->exhaustive ? exhaustive_solve(&x->lcs[i], 1, &x->lim, x->o->max_evals, sol, err, sizeof err)
                              : glpk_program_solve(&x->lcs[i], 1, &x->lim, 2.0, 0, sol, err, sizeof err);
    if (rc != SEARCH_OK && rc != SEARCH_FEASIBLE) return -1;
    sol->cand = i;
    return 0;
}

static int add_reject(planner_result *r, const attn_strategy *s, planner_reject_kind kind, double shortfall,
                      const char *reason) {
    planner_reject *n = realloc(r->rejected, (size_t)(r->n_rejected + 1) * sizeof *n);
    if (!n) return -1;
    r->rejected = n;
    planner_reject *j = &r->rejected[r->n_rejected++];
    j->strategy = *s;
    j->kind = kind;
    j->shortfall_bytes = shortfall;
    snprintf(j->reason, sizeof j->reason, "%s", reason);
    return 0;
}


static int cmp_ranked(const void *a, const void *b) {
    const ranked *p = a, *q = b;
    if (p->sol.objective != q->sol.objective) return p->sol.objective < q->sol.objective ? -1 : 1;
    return p->cand - q->cand;
}

static int same_structure(const attn_strategy *a, const attn_strategy *b) {
    return a->dp == b->dp && a->pp == b->pp && a->n == b->n && a->m == b->m && a->scheme == b->scheme &&
           strategy_seq(a) == strategy_seq(b) && a->cp == b->cp && a->weights == b->weights;
}

/* Prices every candidate; fills r's rejection of invalid structures. 0 ok. */
static int price_all(planner_ctx *x, planner_result *r) {
    attn_strategy *ss = NULL;
    int ns = enumerate_strategies(x->t->n_devices, x->o->microbatches, &ss);
    if (ns < 0) return -1;
    int K = x->orders.n_orders;
    x->c = calloc((size_t)(ns > 0 ? ns : 1) * K, sizeof *x->c);
    x->lcs = calloc((size_t)(ns > 0 ? ns : 1) * K, sizeof *x->lcs);
    if (!x->c || !x->lcs) {
        free(ss);
        return -1;
    }
    int prog = progress_on(x->o);
    double last_progress = 0;
    for (int i = 0; i < ns; i++) {
        if (prog) { /* at most ten updates a second */
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            double t = (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
            if (t - last_progress >= 0.1 || i + 1 == ns) {
                fprintf(stderr, "\rattnplan: pricing structure %d/%d ", i + 1, ns);
                last_progress = t;
            }
        }
        for (int k = 0; k < K; k++) {
            char reason[192] = "";
            planner_cand *c = &x->c[x->n];
            price_candidate(x, &ss[i], k, c, reason, sizeof reason);
            if (!c->valid) {
                place_map_free(&c->pm);
                if (k == 0 && add_reject(r, &ss[i], REJ_INVALID, 0, reason[0] ? reason : "invalid") != 0) {
                    free(ss);
                    return -1;
                }
                if (k == 0) r->n_invalid++;
                break; /* validity does not depend on the placement */
            }
            x->lcs[x->n] = c->lc;
            r->n_balance[c->lc.balance]++;
            x->n++;
        }
    }
    if (prog) fprintf(stderr, "\r%60s\r", "");
    r->n_cands = x->n;
    free(ss);
    return 0;
}

/* Ranks all feasible candidates by the program's objective; records the infeasible ones. */
static int rank_all(planner_ctx *x, planner_result *r, ranked **out, int *n_out) {
    ranked *rk = calloc((size_t)(x->n > 0 ? x->n : 1), sizeof *rk);
    if (!rk) return -1;
    int nr = 0;
    r->min_shortfall_bytes = -1;
    for (int i = 0; i < x->n;) {
        int end = i + 1, any = 0;
        while (end < x->n && same_structure(&x->c[end].lc.strategy, &x->c[i].lc.strategy)) end++;
        for (int k = i; k < end; k++) { /* every placement order of this structure */
            lin_solution sol;
            if (solve_one(x, k, &sol) == 0) {
                rk[nr].cand = k, rk[nr].sol = sol;
                nr++;
                any = 1;
            }
        }
        const planner_cand *c = &x->c[i];
        i = end;
        if (any) continue;
        /* no order works: say why, once per structure */
        char why[192];
        if (c->shortfall > 0) {
            snprintf(why, sizeof why, "does not fit: %.2f GB over %s on the fullest device%s", c->shortfall / 1e9,
                     x->lim.mem_fraction < 1 ? "the --max-memory-fraction limit" : "capacity",
                     c->pm.balance != LIN_EVEN ? " (even with balancing)" : "");
            if (r->min_shortfall_bytes < 0 || c->shortfall < r->min_shortfall_bytes) {
                r->min_shortfall_bytes = c->shortfall;
                r->closest = c->lc.strategy;
            }
            r->n_nofit++;
            if (add_reject(r, &c->lc.strategy, REJ_NOFIT, c->shortfall, why) != 0) goto oom;
        } else {
            const double *v = c->metric;
            if (x->lim.max_tpot_s > 0 && v[MET_TPOT_S] > x->lim.max_tpot_s)
                snprintf(why, sizeof why, "violates --max-tpot: tpot %.4g ms > %.4g ms", v[MET_TPOT_S] * 1e3,
                         x->lim.max_tpot_s * 1e3);
            else if (x->lim.max_ttft_s > 0 && v[MET_TTFT_S] > x->lim.max_ttft_s)
                snprintf(why, sizeof why, "violates --max-ttft: ttft %.4g s > %.4g s", v[MET_TTFT_S], x->lim.max_ttft_s);
            else if (x->lim.max_e2e_s > 0 && v[MET_E2E_LATENCY_S] > x->lim.max_e2e_s)
                snprintf(why, sizeof why, "violates --max-latency: e2e latency %.4g s > %.4g s", v[MET_E2E_LATENCY_S],
                         x->lim.max_e2e_s);
            else /* the even split meets them; no distribution the program may use does */
                snprintf(why, sizeof why, "violates a target (--max-tpot, --max-ttft, --max-latency) at every distribution");
            r->n_limit++;
            if (x->lim.max_tpot_s > 0 && v[MET_TPOT_S] > x->lim.max_tpot_s &&
                (r->min_limit_tpot_s <= 0 || c->metric[MET_TPOT_S] < r->min_limit_tpot_s)) {
                r->min_limit_tpot_s = c->metric[MET_TPOT_S];
                r->fastest = c->lc.strategy;
            }
            if (add_reject(r, &c->lc.strategy, REJ_LIMIT, 0, why) != 0) goto oom;
        }
    }
    qsort(rk, (size_t)nr, sizeof *rk, cmp_ranked);
    *out = rk;
    *n_out = nr;
    return 0;
oom:
    free(rk);
    return -1;
}

/* The largest batch (halving) at which the closest structure fits; 0 if none. */
static int find_fit_batch(const planner_ctx *x, const attn_strategy *s) {
    attn_model m2 = *x->m;
    for (int b = x->m->workload.batch / 2; b >= 1 && b >= s->dp; b /= 2) {
        m2.workload.batch = b;
        attn_plan p;
        char err[192];
        if (place_even_plan(&m2, x->t, s, &x->orders, 0, 0, &p, err, sizeof err) != 0) continue;
        attn_report rep;
        int ok = cost_price_plan(&p, x->t, x->co, &rep, NULL) == 0 && reprice_excess(&rep, x->lim.mem_fraction) <= 0;
        if (ok || rep.ranks) report_free(&rep);
        plan_free(&p);
        if (ok) return b;
    }
    return 0;
}

static int close_to(double a, double b) { return fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b)); }

/* 1 when a is already listed under another placement order with the same figures. */
static int equivalent_listed(const planner_result *r, const planner_alt *a) {
    for (int i = 0; i < r->n_alts; i++) {
        const planner_alt *b = &r->alts[i];
        if (same_structure(&a->strategy, &b->strategy) && close_to(a->metric[MET_TTFT_S], b->metric[MET_TTFT_S]) &&
            close_to(a->metric[MET_TPOT_S], b->metric[MET_TPOT_S]) &&
            close_to(a->metric[MET_PEAK_MEMORY_BYTES], b->metric[MET_PEAK_MEMORY_BYTES]))
            return 1;
    }
    return 0;
}

/* Prices the top alternatives and the seed's baseline. */
static int price_alternatives(planner_ctx *x, planner_result *r, const ranked *rk, int nr) {
    int top = x->o->top > 0 ? x->o->top : 10;
    r->alts = calloc((size_t)top + 1, sizeof *r->alts);
    if (!r->alts) return -1;
    r->alts[0] = r->best;
    r->n_alts = 1;
    attn_strategy base = {x->t->n_devices / 16, 2, 8, 1, SCHEME_NONE, 0, 1, CP_AUTO, WEIGHTS_AUTO};
    int want_base = x->t->n_devices % 16 == 0;
    if (!want_base) snprintf(r->baseline_note, sizeof r->baseline_note, "%d devices are not a multiple of 16", x->t->n_devices);
    for (int j = 0; j < nr; j++) {
        const planner_cand *c = &x->c[rk[j].cand];
        int is_best = same_structure(&c->lc.strategy, &r->best.strategy) && c->lc.order == r->best.order;
        int is_base = want_base && !r->has_baseline && same_structure(&c->lc.strategy, &base);
        if (is_best && is_base) {
            r->has_baseline = 1, r->baseline = r->best, r->baseline_rank = 1;
            continue;
        }
        if (is_best || (r->n_alts >= top && !is_base)) continue;
        attn_plan p;
        cost_detail det;
        char err[256];
        if (reprice_build_priced(x, c, &rk[j].sol, &p, &det, err, sizeof err) != 0) continue;
        planner_alt a;
        reprice_fill_alt(x, c, &rk[j].sol, &p, &det, &a);
        plan_free(&p);
        if (equivalent_listed(r, &a)) continue; /* a mirror placement: same structure, same figures */
        if (r->n_alts < top) r->alts[r->n_alts++] = a;
        if (is_base) { /* its place in the whole ranking: 1 + how many are strictly better */
            r->has_baseline = 1, r->baseline = a;
            r->baseline_rank = 1;
            for (int i = 0; i < nr; i++)
                if (rk[i].sol.objective < rk[j].sol.objective) r->baseline_rank++;
        }
        if (r->n_alts >= top && (!want_base || r->has_baseline)) break;
    }
    if (want_base && !r->has_baseline && !r->baseline_note[0]) {
        for (int i = 0; i < r->n_rejected; i++)
            if (same_structure(&r->rejected[i].strategy, &base))
                snprintf(r->baseline_note, sizeof r->baseline_note, "%s", r->rejected[i].reason);
        if (!r->baseline_note[0]) snprintf(r->baseline_note, sizeof r->baseline_note, "not priced");
    }
    return 0;
}

int planner_run(const attn_model *m, const attn_topology *t, const cost_options *co, const planner_options *o,
                planner_result *r) {
    memset(r, 0, sizeof *r);
    planner_ctx x;
    memset(&x, 0, sizeof x);
    x.m = m, x.t = t, x.co = co, x.o = o;
    x.lim.objective = o->objective;
    x.lim.max_tpot_s = o->max_tpot_s;
    x.lim.max_ttft_s = o->max_ttft_s;
    x.lim.max_e2e_s = o->max_e2e_s;
    x.lim.e2e_w = m->workload.decode_tokens > 1 ? m->workload.decode_tokens - 1 : 0;
    x.lim.mem_fraction = o->max_memory_fraction > 0 && o->max_memory_fraction <= 1 ? o->max_memory_fraction : 1;
    r->exhaustive = o->exhaustive;
    r->status = PLANNER_ERROR;
    ranked *rk = NULL;
    int nr = 0, rc = -1;
    if (place_orders_build(t, &x.orders) != 0 || price_all(&x, r) != 0 || rank_all(&x, r, &rk, &nr) != 0) {
        snprintf(r->message, sizeof r->message, "out of memory");
        goto done;
    }
    rc = 0;
    r->n_feasible = nr;
    for (int attempt = 0; attempt < MAX_RESOLVES; attempt++) {
        lin_solution sol;
        char err[256];
        int s = solve(&x, &sol, err, sizeof err);
        if (s == SEARCH_INFEASIBLE) {
            r->status = PLANNER_NOTHING_FITS;
            if (x.n == 0)
                snprintf(r->message, sizeof r->message, "none of the %d structures for %d devices is valid for %.120s "
                         "(see the reasons above); plan for fewer devices with --devices N", r->n_invalid,
                         t->n_devices, m->name);
            else
                snprintf(r->message, sizeof r->message, "%s", err);
            if (r->min_shortfall_bytes > 0) r->fit_batch = find_fit_batch(&x, &r->closest);
            goto done;
        }
        if (s == SEARCH_TIMEOUT) { /* no incumbent in time: the best candidate solved on its own */
            int j = 0;
            while (j < nr && !isfinite(rk[j].sol.objective)) j++;
            if (j < nr) {
                sol = rk[j].sol;
                sol.gap = NAN;
                s = SEARCH_FEASIBLE;
                snprintf(r->note, sizeof r->note, "the program had no incumbent at its time limit; this is the best "
                         "candidate solved on its own");
            }
        }
        if (s != SEARCH_OK && s != SEARCH_FEASIBLE) {
            r->status = s == SEARCH_TOO_BIG ? PLANNER_BAD_INPUT : PLANNER_ERROR;
            snprintf(r->message, sizeof r->message, "%s", err);
            goto done;
        }
        attn_plan p;
        cost_detail det;
        if (reprice_build_priced(&x, &x.c[sol.cand], &sol, &p, &det, err, sizeof err) != 0) {
            snprintf(r->message, sizeof r->message, "the chosen plan could not be built: %s", err);
            goto done;
        }
        if (s == SEARCH_OK) break_ties(&x, rk, nr, &sol, &p, &det, r);
        const planner_cand *c = &x.c[sol.cand];
        if (!reprice_ok(&x, &p)) {
            plan_free(&p);
            exclude(&x, sol.cand);
            for (int j = 0; j < nr; j++)
                if (rk[j].cand == sol.cand) rk[j].sol.objective = INFINITY; /* not offered either */
            continue;
        }
        r->status = PLANNER_FOUND;
        r->proven_optimal = s == SEARCH_OK;
        r->gap = sol.gap;
        r->objective = sol.objective;
        lin_solution program = sol;
        r->unrefined_s = reprice_objective(&x, &p);
        refine(&x, c, &sol, &p, &det, r);
        reprice_fill_alt(&x, c, &sol, &p, &det, &r->best);
        r->best.program_pre_s = program.pre_s, r->best.program_dec_s = program.dec_s; /* the program's optimum */
        r->best.program_obj_s = lin_objective_value(&x.lim, program.pre_s, program.dec_s);
        snprintf(p.objective, sizeof p.objective, "%s",
                 o->objective == OBJ_TPOT ? "tpot" : o->objective == OBJ_PER_GPU ? "throughput-per-gpu" : "throughput");
        p.proven_optimal = r->proven_optimal;
        r->plan = p;
        break;
    }
    if (r->status != PLANNER_FOUND) {
        r->status = PLANNER_NOTHING_FITS;
        snprintf(r->message, sizeof r->message, "every plan the program chose broke a limit once re-priced");
        goto done;
    }
    if (o->exhaustive) full_search_run(&x, 2e6 / t->n_devices, r); /* about 2e6 ranks priced at most */
    /* drop the excluded from the ranking, then price the runners-up */
    int keep = 0;
    for (int j = 0; j < nr; j++)
        if (isfinite(rk[j].sol.objective)) rk[keep++] = rk[j];
    if (price_alternatives(&x, r, rk, keep) != 0) {
        snprintf(r->message, sizeof r->message, "out of memory");
        r->status = PLANNER_ERROR;
    }
done:
    free(rk);
    for (int i = 0; i < x.n; i++) place_map_free(&x.c[i].pm);
    free(x.c);
    free(x.lcs);
    place_orders_free(&x.orders);
    return rc;
}

double planner_alt_objective(const planner_alt *a, lin_objective obj) {
    return obj == OBJ_TPOT ? a->metric[MET_TPOT_S] : obj == OBJ_PER_GPU ? a->metric[MET_E2E_LATENCY_S] : a->metric[MET_TTFT_S];
}

int planner_alt_dominant(const planner_alt *a, int ph) {
    int k = 0;
    for (int j = 1; j < 4; j++)
        if (a->terms[ph][j] > a->terms[ph][k]) k = j;
    return k;
}

int planner_alt_largest_saving(const planner_alt *a, const planner_alt *b, int ph, double *saving) {
    int k = 0;
    double best = -INFINITY;
    for (int j = 0; j < 4; j++) {
        double d = b->terms[ph][j] - a->terms[ph][j];
        if (d > best) best = d, k = j;
    }
    *saving = best;
    return k;
}

int planner_better_alt(const planner_result *r, lin_objective obj) {
    int better = -1;
    for (int i = 1; i < r->n_alts; i++)
        if (planner_alt_objective(&r->alts[i], obj) < planner_alt_objective(&r->best, obj) * 0.99 &&
            (better < 0 || planner_alt_objective(&r->alts[i], obj) < planner_alt_objective(&r->alts[better], obj)))
            better = i;
    return better;
}

double planner_allowed_memory(const attn_topology *t, double max_memory_fraction) {
    double cap = INFINITY;
    for (int i = 0; i < t->n_dev_types; i++)
        if (t->dev_types[i].memory_bytes < cap) cap = t->dev_types[i].memory_bytes;
    return cap * (max_memory_fraction > 0 ? max_memory_fraction : 1);
}
