/* linearize.c: per-candidate coefficients of the planner's linear model, read off the full
 * cost model's report for the candidate's even plan. Each rank's op times are divided by
 * the work it holds (rows, layers, head units, MLP units) to get a time per unit for its
 * device class; the same for memory. Finally one scale factor per phase makes the linear
 * model reproduce the cost model's ttft and tpot exactly at the even split, so the program
 * starts from the cost model's own figure and only extrapolates the balancing from there.
 * The chosen plan is re-priced with the full cost model afterwards (reprice.c). */
#include <math.h>
#include <string.h>
#include "search_private.h"

/* Ops whose work scales with the rank's query heads, and with its MLP columns. */
static int head_op(int op) {
    return op == OP_QKV_PROJ || op == OP_ROPE || op == OP_ATTN_COMM || op == OP_SCORES || op == OP_SOFTMAX ||
           op == OP_PV || op == OP_ATTENTION || op == OP_O_PROJ || op == OP_KV_CACHE_WRITE;
}
static int mlp_op(int op) { return op == OP_MLP_UP || op == OP_MLP_ACT || op == OP_MLP_DOWN; }

typedef struct rank_split {
    double head[PHASE_COUNT], mlp[PHASE_COUNT], rest[PHASE_COUNT], p2p[PHASE_COUNT];
} rank_split;

static void split_rank(const attn_rank_report *rr, rank_split *s) {
    memset(s, 0, sizeof *s);
    for (int ph = 0; ph < PHASE_COUNT; ph++)
        for (int op = 0; op < OP_COUNT; op++) {
            double v = rr->op[ph][op].time_s;
            if (v < 0) v = 0;
            if (op == OP_PIPE_P2P) s->p2p[ph] += v;
            else if (head_op(op)) s->head[ph] += v;
            else if (mlp_op(op)) s->mlp[ph] += v;
            else s->rest[ph] += v;
        }
}

static double total(const rank_split *s, int ph) { return s->head[ph] + s->mlp[ph] + s->rest[ph]; }
static double maxd(double a, double b) { return a > b ? a : b; }

/* Decode GEMMs whose time is set by reading their weights (the memory side of the
 * roofline on that device): a replica pays them once per step whatever its rows. */
static double weight_bound_decode(const attn_topology *t, const attn_plan *p, int i, const attn_rank_report *rr) {
    static const int gemms[] = {OP_QKV_PROJ, OP_O_PROJ, OP_MLP_UP, OP_MLP_DOWN};
    const attn_device_type *dt = &t->dev_types[t->devices[p->ranks[i].device].device_type];
    double peak = dt->peak_flops[p->model.dtype] * (dt->gemm_efficiency > 0 ? dt->gemm_efficiency : 1);
    double bw = dt->memory_bandwidth * (dt->memory_efficiency > 0 ? dt->memory_efficiency : 1);
    double sum = 0;
    for (int k = 0; k < 4; k++) {
        const attn_op_cost *oc = &rr->op[PHASE_DECODE][gemms[k]];
        if (oc->time_s > 0 && peak > 0 && bw > 0 && oc->bytes / bw >= oc->flops / peak) sum += oc->time_s;
    }
    return sum;
}

/* LIN_ROWS: a replica's time against its rows, affine. Per stage (slowest rank): prefill
 * time per row s_st, and decode time split into a weight-bound part and a per-row part.
 * Prefill with M microbatches (the even split's count; a plan may not have more
 * microbatches than its smallest replica has rows, so balancing cannot add any) is
 * ((M - 1) max s + sum s) rows / M + (pp - 1) p2p. */
static void linearize_rows(const attn_topology *t, const attn_plan *p, const attn_report *r, const place_map *pm,
                           lin_cand *lc, int *x) {
    const attn_strategy *s = &p->strategy;
    int pp = s->pp, per_stage = strategy_stage_devices(s);
    double ru = pm->row_unit > 1 ? pm->row_unit : 1; /* rows per unit */
    for (int rep = 0; rep < s->dp; rep++) {
        int c = pm->part_class[rep];
        lin_class *q = &lc->cls[c];
        int r0 = plan_coord_rank(s, rep, 0, 0, 0, 0);
        double rows = p->ranks[r0].batch_end - p->ranks[r0].batch_begin;
        int M = s->microbatches < rows ? s->microbatches : (int)rows;
        if (M < 1) M = 1;
        double smax = 0, ssum = 0, p2p = 0, dconst = 0, drow = 0;
        for (int st = 0; st < pp; st++) {
            double sp = 0, wc = 0, wr = 0;
            int first = plan_coord_rank(s, rep, st, 0, 0, 0); /* the stage's ranks are consecutive */
            for (int i = first; i < first + per_stage; i++) {
                rank_split sp_;
                split_rank(&r->ranks[i], &sp_);
                double w = weight_bound_decode(t, p, i, &r->ranks[i]);
                sp = maxd(sp, total(&sp_, PHASE_PREFILL) / rows);
                p2p = maxd(p2p, sp_.p2p[PHASE_PREFILL] / M);
                wc = maxd(wc, w);
                wr = maxd(wr, (total(&sp_, PHASE_DECODE) + sp_.p2p[PHASE_DECODE] - w) / rows);
            }
            smax = maxd(smax, sp), ssum += sp, dconst += wc, drow += wr;
        }
        /* microbatches stay at the even split's count: more rows make them larger */
        double pre_u = ((M - 1) * smax + ssum) / M, pre_c = (pp - 1) * p2p;
        q->pre_u = maxd(q->pre_u, pre_u * ru), q->pre_c = maxd(q->pre_c, pre_c);
        q->dec_u = maxd(q->dec_u, drow * ru), q->dec_c = maxd(q->dec_c, dconst);
        int xu = (int)ceil(rows / ru - 1e-9);
        if (xu > x[c]) x[c] = xu;
    }
}

/* The lin class of rank a, or -1. */
static int class_of(const place_map *pm, const attn_rank_assign *a) {
    int part = pm->balance == LIN_ROWS     ? a->replica
             : pm->balance == LIN_LAYERS   ? a->stage
             : pm->balance == LIN_SEGS     ? a->seg
                                           : a->head_group;
    return part >= 0 && part < pm->n_parts ? pm->part_class[part] : -1;
}

void linearize(const attn_topology *t, const attn_plan *p, const attn_report *r, const cost_detail *det,
               const place_map *pm, double mem_fraction, lin_cand *lc) {
    const attn_model *md = &p->model;
    double ttft = r->metric[MET_TTFT_S], tpot = r->metric[MET_TPOT_S];
    int fits = 1;
    for (int i = 0; i < r->n_ranks; i++) {
        const attn_rank_report *rr = &r->ranks[i];
        if (rr->memory_capacity_bytes > 0 && rr->memory_bytes > rr->memory_capacity_bytes * mem_fraction) fits = 0;
    }
    lc->pre_0 = ttft, lc->dec_0 = tpot;
    lc->mem_even_ok = fits;
    if (pm->balance == LIN_EVEN) return;

    int x[LIN_MAX_CLASSES] = {0}, X[LIN_MAX_CLASSES] = {0}, xf[LIN_MAX_CLASSES] = {0};
    double worst_mem[LIN_MAX_CLASSES];
    for (int c = 0; c < LIN_MAX_CLASSES; c++) {
        worst_mem[c] = -1;
        lin_class *q = &lc->cls[c];
        q->pre_u = q->dec_u = q->pre_f = q->dec_f = q->pre_c = q->dec_c = q->mem_u = q->mem_f = q->mem_0 = 0;
    }
    if (pm->balance == LIN_ROWS) linearize_rows(t, p, r, pm, lc, x);
    double rest_pre = 0, rest_dec = 0, p2p_dec = 0;
    int M = det->microbatches > 0 ? det->microbatches : 1;
    double eb = dtype_bytes(md->dtype), gated = md->arch == ARCH_LLAMA ? 3 : 2;
    for (int i = 0; i < p->world; i++) {
        const attn_rank_assign *a = &p->ranks[i];
        const attn_rank_report *rr = &r->ranks[i];
        int c = class_of(pm, a);
        if (c < 0) continue;
        lin_class *q = &lc->cls[c];
        rank_split s;
        split_rank(rr, &s);
        double rows = a->batch_end - a->batch_begin, layers = a->layer_end - a->layer_begin;
        double hu = (double)(a->head_end - a->head_begin) / (pm->head_unit > 0 ? pm->head_unit : 1);
        if (pm->balance == LIN_SEGS) { /* the units are the segment's dimensions (pairs for llama) */
            double dims = plan_rank_width(a);
            hu = dims / (md->arch == ARCH_LLAMA ? 2 : 1) / (pm->dim_unit > 0 ? pm->dim_unit : 1);
        }
        double fu = (double)(a->mlp_end - a->mlp_begin) / (pm->mlp_unit > 0 ? pm->mlp_unit : 1);
        if (rows <= 0 || layers <= 0) continue;
        q->mem_cap = rr->memory_capacity_bytes > 0 ? rr->memory_capacity_bytes : 1e30;
        double per_unit_mem_u = 0, per_unit_mem_f = 0, mem_0 = 0;
        double ends_w = cost_ends_plan_weight_bytes(p, a); /* fixed: the vocabulary shard does not follow the units */
        switch (pm->balance) {
        case LIN_ROWS: /* times: linearize_rows */
            per_unit_mem_u = rr->kv_cache_bytes / rows * (pm->row_unit > 1 ? pm->row_unit : 1);
            mem_0 = rr->weights_bytes + rr->activation_bytes + rr->comm_buffer_bytes;
            break;
        case LIN_LAYERS:
            q->pre_u = maxd(q->pre_u, total(&s, PHASE_PREFILL) / (layers * M));
            q->dec_u = maxd(q->dec_u, total(&s, PHASE_DECODE) / layers);
            p2p_dec = maxd(p2p_dec, s.p2p[PHASE_DECODE]);
            if ((int)layers > x[c]) x[c] = (int)layers;
            per_unit_mem_u = (rr->weights_bytes - ends_w + rr->kv_cache_bytes) / layers;
            mem_0 = ends_w + rr->activation_bytes + rr->comm_buffer_bytes;
            break;
        case LIN_SHARES:
        case LIN_SEGS: { /* hu: head units or dimension units */
            if (hu <= 0 || fu <= 0) continue;
            q->pre_u = maxd(q->pre_u, s.head[PHASE_PREFILL] / hu);
            q->dec_u = maxd(q->dec_u, s.head[PHASE_DECODE] / hu);
            q->pre_f = maxd(q->pre_f, s.mlp[PHASE_PREFILL] / fu);
            q->dec_f = maxd(q->dec_f, s.mlp[PHASE_DECODE] / fu);
            rest_pre = maxd(rest_pre, s.rest[PHASE_PREFILL] + s.p2p[PHASE_PREFILL]);
            rest_dec = maxd(rest_dec, s.rest[PHASE_DECODE] + s.p2p[PHASE_DECODE]);
            int xh = (int)ceil(hu - 1e-9), xm = (int)ceil(fu - 1e-9);
            if (xh > x[c]) x[c] = xh;
            if (xm > xf[c]) xf[c] = xm;
            double mlp_w = layers * (a->mlp_end - a->mlp_begin) * (double)md->hidden * gated * eb;
            if (mlp_w > rr->weights_bytes - ends_w) mlp_w = rr->weights_bytes - ends_w;
            per_unit_mem_u = (rr->weights_bytes - ends_w - mlp_w + rr->kv_cache_bytes) / hu;
            per_unit_mem_f = mlp_w / fu;
            mem_0 = ends_w + rr->activation_bytes + rr->comm_buffer_bytes;
            break;
        }
        default:
            break;
        }
        if (rr->memory_bytes > worst_mem[c]) { /* the class's fullest device sets its memory line */
            worst_mem[c] = rr->memory_bytes;
            q->mem_u = per_unit_mem_u, q->mem_f = per_unit_mem_f, q->mem_0 = mem_0;
        }
    }
    /* the even point: totals per class */
    if (pm->balance == LIN_LAYERS) {
        for (int st = 0; st < pm->n_parts; st++) {
            int b, e;
            b = e = 0;
            for (int i = 0; i < p->world; i++)
                if (p->ranks[i].stage == st) {
                    b = p->ranks[i].layer_begin, e = p->ranks[i].layer_end;
                    break;
                }
            X[pm->part_class[st]] += e - b;
        }
        lc->pre_max = M - 1;
        lc->pre_0 = (p->strategy.pp - 1) * det->p2p_time_s;
        lc->dec_0 = (p->strategy.pp - 1) * p2p_dec;
    } else if (lin_two_level(pm->balance)) {
        lc->pre_0 = rest_pre, lc->dec_0 = rest_dec;
    } else {
        lc->pre_0 = lc->dec_0 = 0;
    }
    /* scale so the linear model equals the cost model at the even point */
    double pre, dec;
    int cx[LIN_MAX_CLASSES], cxf[LIN_MAX_CLASSES];
    for (int c = 0; c < LIN_MAX_CLASSES; c++) cx[c] = x[c] > 0 ? x[c] : 1, cxf[c] = xf[c] > 0 ? xf[c] : 1;
    lin_cand probe = *lc;
    for (int c = 0; c < probe.n_classes; c++) probe.cls[c].mem_cap = INFINITY;
    if (lin_eval(&probe, cx, X, cxf, 1.0, &pre, &dec) == 0) {
        double kp = pre > 0 ? ttft / pre : 1, kd = dec > 0 ? tpot / dec : 1;
        if (!isfinite(kp) || kp <= 0) kp = 1;
        if (!isfinite(kd) || kd <= 0) kd = 1;
        for (int c = 0; c < lc->n_classes; c++) {
            lc->cls[c].pre_u *= kp, lc->cls[c].pre_f *= kp, lc->cls[c].pre_c *= kp;
            lc->cls[c].dec_u *= kd, lc->cls[c].dec_f *= kd, lc->cls[c].dec_c *= kd;
        }
        lc->pre_0 *= kp, lc->dec_0 *= kd;
    }
}
