/* reprice.c: the full cost model's word on a choice of the linear model, for the two
 * searches that need it: the pipeline (planner.c: the choice, its ties and neighbours,
 * the alternatives) and the full search of --exhaustive (full_search.c). Rebuilds a
 * candidate's plan with a distribution, prices it, checks the limits again, and fills the
 * row the output prints. Both call this file; neither calls the other's. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "search_private.h"

/* Worst excess of any rank's memory over fraction * capacity (<= 0: fits). */
double reprice_excess(const attn_report *r, double fraction) {
    double worst = -INFINITY;
    for (int i = 0; i < r->n_ranks; i++) {
        const attn_rank_report *rr = &r->ranks[i];
        if (rr->memory_capacity_bytes <= 0) continue;
        double e = rr->memory_bytes - fraction * rr->memory_capacity_bytes;
        if (e > worst) worst = e;
    }
    return worst;
}

/* Builds and prices the plan of candidate c with distribution sol (NULL: even). */
int reprice_build_priced(const planner_ctx *x, const planner_cand *c, const lin_solution *sol, attn_plan *p, cost_detail *det,
                        char *err, size_t len) {
    if (place_even_plan(x->m, x->t, &c->lc.strategy, &x->orders, c->lc.order, 1, p, err, len) != 0) return -1;
    if (sol && c->pm.balance != LIN_EVEN && place_apply(p, x->t, &c->pm, &c->lc, sol, err, len) != 0) {
        plan_free(p);
        return -1;
    }
    if (cost_price_plan(p, x->t, x->co, &p->predicted, det) != 0) {
        snprintf(err, len, "%s", det->reason);
        plan_free(p);
        return -1;
    }
    p->has_predicted = 1;
    return 0;
}

/* The critical rank's time by kind: compute, memory traffic, communication, bubble. A
 * compute op counts as memory traffic when its bytes, not its FLOPs, bound its roofline on
 * that device (decode GEMMs usually). */
static void fill_terms(const attn_topology *t, const attn_plan *p, const cost_detail *det, planner_alt *a) {
    memset(a->terms, 0, sizeof a->terms);
    for (int ph = 0; ph < PHASE_COUNT; ph++) {
        int idx = 0;
        for (int i = 0; i < p->world; i++)
            if (p->ranks[i].rank == det->critical_rank[ph]) idx = i;
        const attn_rank_report *rr = &p->predicted.ranks[idx];
        const attn_device_type *dt = &t->dev_types[t->devices[p->ranks[idx].device].device_type];
        double peak = dt->peak_flops[p->model.dtype] * (dt->gemm_efficiency > 0 ? dt->gemm_efficiency : 1);
        double bw = dt->memory_bandwidth * (dt->memory_efficiency > 0 ? dt->memory_efficiency : 1);
        for (int op = 0; op < OP_COUNT; op++) {
            const attn_op_cost *oc = &rr->op[ph][op];
            if (oc->time_s <= 0) continue;
            int kind = attn_op_table[op].cls;
            if (kind != OPCLASS_COMM)
                kind = peak > 0 && bw > 0 && oc->flops / peak >= oc->bytes / bw ? OPCLASS_COMPUTE : OPCLASS_MEMORY;
            a->terms[ph][kind] += oc->time_s;
        }
    }
    a->terms[PHASE_PREFILL][3] = det->bubble_s > 0 ? det->bubble_s : 0;
}

void reprice_fill_alt(const planner_ctx *x, const planner_cand *c, const lin_solution *sol, const attn_plan *p,
                     const cost_detail *det, planner_alt *a) {
    memset(a, 0, sizeof *a);
    a->strategy = p->strategy;
    a->order = c->lc.order;
    snprintf(a->order_name, sizeof a->order_name, "%s", x->orders.name[c->lc.order]);
    a->balance = c->pm.balance;
    a->program_pre_s = sol ? sol->pre_s : c->lc.pre_0;
    a->program_dec_s = sol ? sol->dec_s : c->lc.dec_0;
    a->program_obj_s = lin_objective_value(&x->lim, a->program_pre_s, a->program_dec_s);
    memcpy(a->metric, p->predicted.metric, sizeof a->metric);
    double worst = 0;
    for (int i = 0; i < p->predicted.n_ranks; i++) {
        const attn_rank_report *rr = &p->predicted.ranks[i];
        if (rr->memory_capacity_bytes > 0 && rr->memory_bytes / rr->memory_capacity_bytes > worst)
            worst = rr->memory_bytes / rr->memory_capacity_bytes;
    }
    a->peak_mem_fraction = worst;
    fill_terms(x->t, p, det, a);
}

/* 1 when the re-priced plan keeps the limits the linear model promised. */
int reprice_ok(const planner_ctx *x, const attn_plan *p) {
    if (reprice_excess(&p->predicted, x->lim.mem_fraction) > 0) return 0;
    const double *v = p->predicted.metric;
    if (x->lim.max_tpot_s > 0 && v[MET_TPOT_S] > x->lim.max_tpot_s * (1 + 1e-9)) return 0;
    if (x->lim.max_ttft_s > 0 && v[MET_TTFT_S] > x->lim.max_ttft_s * (1 + 1e-9)) return 0;
    if (x->lim.max_e2e_s > 0 && v[MET_E2E_LATENCY_S] > x->lim.max_e2e_s * (1 + 1e-9)) return 0;
    return 1;
}

double reprice_objective(const planner_ctx *x, const attn_plan *p) {
    return p->predicted.metric[x->lim.objective == OBJ_TPOT     ? MET_TPOT_S
                               : x->lim.objective == OBJ_PER_GPU ? MET_E2E_LATENCY_S
                                                                 : MET_TTFT_S];
}
