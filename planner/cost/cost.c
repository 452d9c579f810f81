/* cost.c: prices a whole plan: checks it, builds the groups' geometry, prices every rank
 * (cost_rank.c; ranks with the same share and the same groups' geometry as the previous
 * rank reuse its prices), then stages (slowest rank), the pipeline (microbatches and
 * bubble for prefill, stage latencies added for decode), replicas (slowest one), memory
 * and the metrics. docs/cost-model.md explains each step. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cost_private.h"

double cost_pipeline_time(int M, int P, const double *stage_s, double p2p_s) {
    if (P < 1 || M < 1) return 0;
    if (P == 1) p2p_s = 0;
    double sum = 0, period = p2p_s;
    for (int s = 0; s < P; s++) {
        sum += stage_s[s];
        if (stage_s[s] > period) period = stage_s[s];
    }
    return (M - 1) * period + sum + (P - 1) * p2p_s;
}

#define FAIL(...) do { snprintf(detail->reason, sizeof detail->reason, __VA_ARGS__); goto fail; } while (0)

/* The checks pricing relies on (plan_check does the full structural audit). */
static int check_inputs(const attn_plan *p, const attn_topology *t, cost_detail *detail) {
    const attn_model *md = &p->model;
    const attn_strategy *s = &p->strategy;
    if (s->dp < 1 || s->pp < 1 || s->n < 1 || s->m < 1 || s->s < 0) FAIL("strategy has a size below 1");
    /* the sequence axis is priced for what the runtime would execute, the one rule of lib/plan.h */
    char why[256];
    if (!plan_seq_supported(s, md, why, sizeof why)) FAIL("%s", why);
    long long want = (long long)s->dp * s->pp * strategy_seq(s) * s->n * s->m;
    if (want != p->world || p->world < 1 || !p->ranks)
        FAIL("plan has %d ranks but its strategy needs %lld", p->world, want);
    if (md->layers < 1 || md->heads < 1 || md->kv_heads < 1 || md->head_dim < 1 || md->hidden < 1 ||
        md->ffn_hidden < 1 || md->workload.batch < 1 || md->workload.seq_len < 1 || md->workload.decode_tokens < 0 ||
        md->heads % md->kv_heads != 0 || md->dtype < 0 || md->dtype >= DTYPE_COUNT)
        FAIL("model %s has inconsistent sizes", md->name);
    if (!t || t->n_devices < 1) FAIL("topology has no devices");
    for (int i = 0; i < p->world; i++) {
        const attn_rank_assign *a = &p->ranks[i];
        if (a->device < 0 || a->device >= t->n_devices)
            FAIL("rank %d is placed on device %d; topology %s has %d", a->rank, a->device, t->name, t->n_devices);
        int dtype = t->devices[a->device].device_type;
        if (dtype < 0 || dtype >= t->n_dev_types) FAIL("device %d has no device type", a->device);
        if (a->batch_begin < 0 || a->batch_end > md->workload.batch || a->batch_end <= a->batch_begin ||
            a->layer_begin < 0 || a->layer_end > md->layers || a->layer_end < a->layer_begin ||
            a->head_begin < 0 || a->head_end > md->heads || a->head_end < a->head_begin ||
            a->a2a_head_begin < 0 || a->a2a_head_end > md->heads || a->a2a_head_end < a->a2a_head_begin ||
            a->mlp_begin < 0 || a->mlp_end > md->ffn_hidden || a->mlp_end < a->mlp_begin ||
            a->n_dim_ranges < 1 || a->n_dim_ranges > 2)
            FAIL("rank %d has a share outside the model", a->rank);
        for (int k = 0; k < a->n_dim_ranges; k++)
            if (a->dim_begin[k] < 0 || a->dim_end[k] > md->head_dim || a->dim_end[k] < a->dim_begin[k])
                FAIL("rank %d has a dimension range outside head_dim=%d", a->rank, md->head_dim);
    }
    return 0;
fail:
    return -1;
}

/* Coordinate table and the groups' geometry. */
static int build_ctx(price_ctx *c, cost_detail *detail) {
    const attn_plan *p = c->p;
    int world = p->world, *devs = NULL;
    cost_geom_cache gc = {0};
    c->at = malloc((size_t)world * sizeof *c->at);
    c->seg = calloc((size_t)(world / c->m), sizeof *c->seg);
    c->stage = calloc((size_t)(world / (c->m * c->n)), sizeof *c->stage);
    int nseq = world / c->s, nshard = world / (c->s * c->n * c->m);
    int sharded = c->s > 1 && p->strategy.weights == WEIGHTS_SHARDED;
    c->seqg = c->s > 1 ? calloc((size_t)nseq, sizeof *c->seqg) : NULL;
    c->shard = sharded ? calloc((size_t)nshard, sizeof *c->shard) : NULL;
    devs = malloc((size_t)world * sizeof *devs);
    int period = cost_comm_period(c->t);
    if (!c->at || !c->seg || !c->stage || !devs || (c->s > 1 && !c->seqg) || (sharded && !c->shard) ||
        cost_geom_cache_init(c->pipe_gc, period, 2) != 0)
        FAIL("out of memory for %d ranks", world);
    for (int i = 0; i < world; i++) c->at[i] = -1;
    for (int i = 0; i < world; i++) {
        const attn_rank_assign *a = &p->ranks[i];
        if (a->replica < 0 || a->replica >= c->dp || a->stage < 0 || a->stage >= c->pp || a->head_group < 0 ||
            a->head_group >= c->n || a->seg < 0 || a->seg >= c->m || a->seq < 0 || a->seq >= c->s)
            FAIL("rank %d has coordinates outside the strategy", a->rank);
        int k = cost_coord_of(c, a);
        if (c->at[k] != -1) FAIL("ranks %d and %d have the same coordinates", p->ranks[c->at[k]].rank, a->rank);
        c->at[k] = i;
    }
    if (cost_geom_cache_init(&gc, period, c->m) != 0) FAIL("out of memory for %d ranks", world);
    for (int g = 0; g < world / c->m; g++) {
        for (int j = 0; j < c->m; j++) devs[j] = p->ranks[c->at[g * c->m + j]].device;
        if (cost_geom_cached(c->t, &gc, devs, c->m, &c->seg[g]) != 0) FAIL("cannot place segment group %d", g);
    }
    cost_geom_cache_free(&gc);
    int sz = c->m * c->n;
    if (cost_geom_cache_init(&gc, period, sz) != 0) FAIL("out of memory for %d ranks", world);
    for (int g = 0; g < world / sz; g++) {
        for (int j = 0; j < sz; j++) devs[j] = p->ranks[c->at[g * sz + j]].device;
        if (cost_geom_cached(c->t, &gc, devs, sz, &c->stage[g]) != 0) FAIL("cannot place stage group %d", g);
    }
    cost_geom_cache_free(&gc);
    /* the sequence axis' groups, as plan_build_groups forms them: SEQ the s slices of one
     * (replica, stage, head group, seg), SHARD the s*n*m ranks of one stage; their link
     * classes follow from the placement like the others' */
    const attn_strategy *st = &p->strategy;
    if (c->s > 1 && cost_geom_cache_init(&gc, period, c->s) != 0) FAIL("out of memory for %d ranks", world);
    for (int g = 0; c->s > 1 && g < nseq; g++) {
        int nm = c->n * c->m, block = g / nm, hg = g % nm / c->m, sg = g % c->m;
        for (int q = 0; q < c->s; q++)
            devs[q] = p->ranks[c->at[plan_coord_rank(st, block / c->pp, block % c->pp, q, hg, sg)]].device;
        if (cost_geom_cached(c->t, &gc, devs, c->s, &c->seqg[g]) != 0) FAIL("cannot place seq group %d", g);
    }
    cost_geom_cache_free(&gc);
    int ssz = c->s * c->n * c->m;
    if (sharded && cost_geom_cache_init(&gc, period, ssz) != 0) FAIL("out of memory for %d ranks", world);
    for (int g = 0; sharded && g < nshard; g++) {
        for (int j = 0; j < ssz; j++) devs[j] = p->ranks[c->at[g * ssz + j]].device;
        if (cost_geom_cached(c->t, &gc, devs, ssz, &c->shard[g]) != 0) FAIL("cannot place shard group %d", g);
    }
    cost_geom_cache_free(&gc);
    free(devs);
    return 0;
fail:
    cost_geom_cache_free(&gc);
    free(devs);
    return -1;
}

int cost_price_plan(const attn_plan *p, const attn_topology *t, const cost_options *o, attn_report *out,
                    cost_detail *detail) {
    cost_options def;
    cost_detail local;
    if (!o) {
        cost_options_default(&def);
        o = &def;
    }
    if (!detail) detail = &local;
    memset(detail, 0, sizeof *detail);
    memset(out, 0, sizeof *out);
    price_ctx c;
    memset(&c, 0, sizeof c);
    cost_geom_cache pipe_gc = {0};
    c.pipe_gc = &pipe_gc;
    rank_time *rt = NULL;
    double *agg = NULL;
    if (!p) FAIL("no plan");
    if (check_inputs(p, t, detail) != 0) return -1;
    c.p = p;
    c.t = t;
    c.cal = o->calibration;
    c.chunk = o->query_chunk > 0 ? o->query_chunk : COST_DEFAULT_QUERY_CHUNK;
    c.score_bytes = o->score_bytes > 0 ? o->score_bytes : 4;
    c.score_budget = o->score_workspace > 0 ? o->score_workspace : ATTN_SCORE_WORKSPACE_DEFAULT;
    c.fused = o->fused_attention != 0;
    c.dec_first_only = o->decode_first_step != 0;
    c.dp = p->strategy.dp, c.pp = p->strategy.pp, c.n = p->strategy.n, c.m = p->strategy.m;
    c.s = strategy_seq(&p->strategy);
    c.seq_max_pos = p->model.workload.seq_len;
    if (c.s > 1) { /* the fullest slice: NCCL's all-gather moves equal parts, so every buffer is its size */
        c.seq_max_pos = 0;
        for (int q = 0; q < c.s; q++) {
            int np = plan_seq_chunk_range(p->model.workload.seq_len, c.s, q, NULL, NULL, NULL, NULL);
            if (np > c.seq_max_pos) c.seq_max_pos = np;
        }
    }
    c.M = p->strategy.microbatches > 0
              ? p->strategy.microbatches
              : plan_resolve_microbatches(p->model.workload.microbatches, p->model.workload.batch / c.dp, c.pp);
    if (c.s > 1) {
        c.slice_sig = malloc((size_t)c.s * COST_SLICE_SIG * sizeof *c.slice_sig);
        if (!c.slice_sig) FAIL("out of memory");
        for (int q = 0; q < c.s; q++) c.slice_sig[q * COST_SLICE_SIG] = -1;
    }
    if (build_ctx(&c, detail) != 0) goto fail;
    if (report_init(out, p->world) != 0) FAIL("out of memory for the report");
    int world = p->world, nst = c.dp * c.pp;
    rt = calloc((size_t)world, sizeof *rt);
    agg = calloc((size_t)nst * 4, sizeof *agg); /* per (replica, stage): mb, p2p_mb, step, p2p_step */
    if (!rt || !agg) FAIL("out of memory for %d ranks", world);

    double worst_pre = -1, worst_dec = -1;
    int crit_pre = 0, crit_dec = 0;
    out->fits = 1;
    double ff = 0, fb = 0; /* the floors of the rank priced last */
    /* Even shares repeat: most ranks are their neighbour, and the rest one of a few kinds
     * that alternate (a head or a vocabulary row more on the first ranks of every slice,
     * first and last stages), so the ranks priced last are kept by their keys and a rank
     * equal to one of them takes its prices. */
    enum { RECENT = 8 };
    cost_rank_key recent[RECENT], cur;
    int recent_rank[RECENT], n_recent = 0, next_slot = 0, last_hit = 0;
    for (int i = 0; i < world; i++) {
        attn_rank_report *rr = &out->ranks[i];
        cost_rank_key_make(&c, i, &cur);
        int hit = -1;
        for (int j = 0; j < n_recent && hit < 0; j++) { /* the last hit first: usually the neighbour */
            int e = (last_hit + j) % n_recent;
            if (cost_rank_key_same(&recent[e], &cur)) hit = e;
        }
        if (hit >= 0) {
            *rr = out->ranks[recent_rank[hit]];
            rt[i] = rt[recent_rank[hit]];
            last_hit = hit;
        } else {
            cost_rank_price(&c, i, rr, &rt[i], &ff, &fb);
            recent[next_slot] = cur, recent_rank[next_slot] = i, last_hit = next_slot;
            next_slot = (next_slot + 1) % RECENT;
            if (n_recent < RECENT) n_recent++;
        }
        if (ff > detail->compute_floor_s) detail->compute_floor_s = ff;
        if (fb > detail->hbm_floor_s) detail->hbm_floor_s = fb;
        if (rr->memory_capacity_bytes > 0 && rr->memory_bytes > rr->memory_capacity_bytes) {
            out->fits = 0;
            double short_by = rr->memory_bytes - rr->memory_capacity_bytes;
            if (short_by > out->shortfall_bytes) out->shortfall_bytes = short_by;
        }
        double tp = cost_ops_total(rr->op[PHASE_PREFILL]), td = cost_ops_total(rr->op[PHASE_DECODE]);
        if (tp > worst_pre) worst_pre = tp, crit_pre = i;
        if (td > worst_dec) worst_dec = td, crit_dec = i;
        const attn_rank_assign *a = &p->ranks[i];
        double *g = &agg[(size_t)(a->replica * c.pp + a->stage) * 4];
        if (rt[i].mb_s > g[0]) g[0] = rt[i].mb_s;
        if (rt[i].p2p_mb_s > g[1]) g[1] = rt[i].p2p_mb_s;
        if (rt[i].step_s > g[2]) g[2] = rt[i].step_s;
        if (rt[i].p2p_step_s > g[3]) g[3] = rt[i].p2p_step_s;
    }

    double ttft = 0, tpot = 0;
    double *stage_mb = malloc((size_t)c.pp * sizeof *stage_mb);
    if (!stage_mb) FAIL("out of memory");
    for (int rep = 0; rep < c.dp; rep++) {
        int rows = cost_rank_rows(&p->ranks[c.at[plan_coord_rank(&p->strategy, rep, 0, 0, 0, 0)]]);
        int M = c.M < rows ? c.M : rows;
        double p2p = 0, step = 0, slowest = -1; /* slowest stage's time, its index */
        int crit_s = 0;
        for (int s = 0; s < c.pp; s++) {
            double *g = &agg[(size_t)(rep * c.pp + s) * 4];
            stage_mb[s] = g[0];
            if (g[0] > slowest) slowest = g[0], crit_s = s;
            if (s + 1 < c.pp && g[1] > p2p) p2p = g[1];
            step += g[2] + g[3]; /* g[3]: to the next stage, from the last the token ids back */
        }
        double tr = cost_pipeline_time(M, c.pp, stage_mb, p2p);
        /* synchronization (cost_sync_wait): each of the M - 1 steady-state periods lasts
         * as long as its slowest stage, and replicas, which never synchronize with each
         * other, end when the slowest one does (ttft and tpot are the slowest rank's) */
        if (c.pp > 1) tr += (M - 1) * cost_sync_wait(c.cal, slowest);
        if (c.dp > 1) {
            tr += cost_sync_wait(c.cal, tr);
            step += cost_sync_wait(c.cal, step);
        }
        if (tr > ttft) {
            ttft = tr;
            detail->microbatches = M;
            detail->p2p_time_s = c.pp > 1 ? p2p : 0;
            detail->critical_stage = crit_s;
            detail->stage_time_s = slowest;
            double period = slowest > detail->p2p_time_s ? slowest : detail->p2p_time_s;
            detail->bubble_s = tr - M * period;
        }
        if (step > tpot) tpot = step;
    }
    free(stage_mb);

    const attn_model *md = &p->model;
    double tokens = (double)md->workload.batch * md->workload.seq_len, peak_mem = 0;
    for (int i = 0; i < world; i++)
        if (out->ranks[i].memory_bytes > peak_mem) peak_mem = out->ranks[i].memory_bytes;
    const attn_rank_report *cr = &out->ranks[crit_pre];
    double total = cost_ops_total(cr->op[PHASE_PREFILL]) + cost_ops_total(cr->op[PHASE_DECODE]);
    double comm = cost_ops_comm(cr->op[PHASE_PREFILL]) + cost_ops_comm(cr->op[PHASE_DECODE]);
    out->metric[MET_TTFT_S] = ttft;
    out->metric[MET_PREFILL_TOKENS_PER_S] = ttft > 0 ? tokens / ttft : 0;
    out->metric[MET_TPOT_S] = tpot;
    out->metric[MET_DECODE_TOKENS_PER_S] = tpot > 0 ? md->workload.batch / tpot : 0;
    out->metric[MET_PEAK_MEMORY_BYTES] = peak_mem;
    out->metric[MET_COMM_FRACTION] = total > 0 ? comm / total : 0;
    metrics_fill_serving(out->metric, md->workload.batch, md->workload.decode_tokens, world);
    for (int k = 0; k < MET_COUNT; k++) out->metric_min[k] = out->metric_max[k] = out->metric[k];
    snprintf(out->note, sizeof out->note, "analytic cost model (docs/cost-model.md)%s%.160s",
             c.cal ? "; calibration " : "; topology defaults", c.cal ? c.cal->source : "");

    detail->critical_rank[PHASE_PREFILL] = p->ranks[crit_pre].rank;
    detail->critical_rank[PHASE_DECODE] = p->ranks[crit_dec].rank;
    detail->comm_time_s[PHASE_PREFILL] = cost_ops_comm(cr->op[PHASE_PREFILL]);
    detail->comm_time_s[PHASE_DECODE] = cost_ops_comm(out->ranks[crit_dec].op[PHASE_DECODE]);
    cost_rank_describe_colls(&c, crit_pre, crit_dec, detail);

    free(rt);
    free(agg);
    free(c.at);
    free(c.seg);
    free(c.stage);
    free(c.seqg);
    free(c.shard);
    free(c.slice_sig);
    cost_geom_cache_free(&pipe_gc);
    return 0;
fail:
    free(rt);
    free(agg);
    free(c.at);
    free(c.seg);
    free(c.stage);
    free(c.seqg);
    free(c.shard);
    free(c.slice_sig);
    cost_geom_cache_free(&pipe_gc);
    report_free(out);
    memset(out, 0, sizeof *out);
    return -1;
}

int cost_price_strategy(const attn_model *m, const attn_topology *t, const attn_strategy *s,
                        const cost_options *o, attn_plan *plan, cost_detail *detail, char *err, size_t errlen) {
    cost_detail local;
    if (!detail) detail = &local;
    if (plan_build_even(plan, m, t, s, err, errlen) != 0) return -1;
    if (cost_price_plan(plan, t, o, &plan->predicted, detail) != 0) {
        snprintf(err, errlen, "%s", detail->reason);
        plan_free(plan);
        return -1;
    }
    plan->has_predicted = 1;
    return 0;
}
