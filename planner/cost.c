/* cost.c: prices a whole plan. For every rank: its share (batch rows, layers, heads,
 * dimension ranges, MLP columns) becomes a cost_shape per microbatch and per decode step;
 * cost_ops.c prices the compute ops, cost_comm.c the collectives over the groups the
 * rank belongs to under the placement. Then stages (slowest rank), the pipeline
 * (microbatches and bubble for prefill, stage latencies added for decode), replicas
 * (slowest one), memory per device and the metrics. docs/cost-model.md explains each step. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cost_private.h"

int cost_resolve_microbatches(int requested, int rows, int pp) {
    if (rows < 1) return 1;
    if (requested > 0) return requested < rows ? requested : rows;
    if (pp <= 1) return 1; /* the same rule as plan_build_even */
    int best = 1;
    for (int k = 1; k <= 4 * pp && k <= rows; k++)
        if (rows % k == 0) best = k;
    return best;
}

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

/* Everything pricing one plan needs, built once. */
typedef struct price_ctx {
    const attn_plan *p;
    const attn_topology *t;
    const cost_calibration *cal;
    int chunk, score_bytes;
    int dp, pp, n, m, M;
    int *at;             /* coordinate -> index into p->ranks */
    comm_geom *seg;      /* per (replica, stage, head group) */
    comm_geom *stage;    /* per (replica, stage) */
} price_ctx;

static int coord_of(const price_ctx *c, const attn_rank_assign *a) {
    return ((a->replica * c->pp + a->stage) * c->n + a->head_group) * c->m + a->seg;
}

static double dims_of(const attn_rank_assign *a) {
    double d = 0;
    for (int k = 0; k < a->n_dim_ranges && k < 2; k++) d += a->dim_end[k] - a->dim_begin[k];
    return d;
}

/* kv heads that query heads [hb, he) use */
static double kv_heads_of(const attn_model *md, int hb, int he) {
    if (he <= hb) return 0;
    int g = md->heads / md->kv_heads;
    return (double)((he - 1) / g - hb / g + 1);
}

/* The rank's shape for `rows` sequences in a phase (attention extents filled by caller). */
static void base_shape(const price_ctx *c, const attn_rank_assign *a, attn_phase ph, double rows, cost_shape *sh) {
    const attn_model *md = &c->p->model;
    memset(sh, 0, sizeof *sh);
    sh->arch = md->arch;
    sh->dtype = md->dtype;
    sh->elem_bytes = dtype_bytes(md->dtype);
    sh->score_bytes = c->score_bytes;
    sh->rows = rows;
    sh->hidden = md->hidden;
    sh->q_heads = a->head_end - a->head_begin;
    sh->kv_heads = a->kv_head_end - a->kv_head_begin;
    sh->dims = dims_of(a);
    sh->mlp_cols = a->mlp_end - a->mlp_begin;
    double L = md->workload.seq_len;
    if (ph == PHASE_PREFILL) {
        double ch = c->chunk < L ? c->chunk : L;
        double K = ceil(L / ch), last = L - (K - 1) * ch;
        sh->q_len = L;
        sh->chunks = K;
        sh->chunk_rows = ch;
        sh->score_pairs = ch * ch * (K - 1) * K / 2 + last * L;
        sh->key_reads = ch * (K - 1) * K / 2 + L;
    } else { /* one new token attending to the seq_len cached positions and itself */
        sh->q_len = 1;
        sh->chunks = 1;
        sh->chunk_rows = 1;
        sh->score_pairs = L + 1;
        sh->key_reads = L + 1;
    }
    sh->tokens = rows * sh->q_len;
    double d = md->head_dim;
    double ah = a->a2a_head_end - a->a2a_head_begin;
    switch (c->p->strategy.scheme) {
    case SCHEME_QK_ALLGATHER:
        sh->att_heads = sh->q_heads, sh->att_kv_heads = sh->kv_heads;
        sh->att_qk_dims = d, sh->att_v_dims = sh->dims;
        sh->cache_kv_heads = sh->kv_heads, sh->cache_k_dims = d, sh->cache_v_dims = sh->dims;
        break;
    case SCHEME_HEAD_ALLTOALL:
        sh->att_heads = ah, sh->att_kv_heads = kv_heads_of(md, a->a2a_head_begin, a->a2a_head_end);
        sh->att_qk_dims = d, sh->att_v_dims = d;
        sh->cache_kv_heads = sh->att_kv_heads, sh->cache_k_dims = d, sh->cache_v_dims = d;
        break;
    default: /* none, score-allreduce: the core works on the rank's own segment */
        sh->att_heads = sh->q_heads, sh->att_kv_heads = sh->kv_heads;
        sh->att_qk_dims = sh->dims, sh->att_v_dims = sh->dims;
        sh->cache_kv_heads = sh->kv_heads, sh->cache_k_dims = sh->dims, sh->cache_v_dims = sh->dims;
        break;
    }
}

/* One collective's buffer, calls and the group it runs on, for one layer. */
typedef struct coll_call {
    attn_op op;
    attn_coll coll;
    attn_group_kind group;
    const comm_geom *g;
    double S, calls;
} coll_call;

static double coll_factor(attn_coll c, int p) {
    if (p <= 1) return 0;
    return c == COLL_ALLREDUCE ? 2.0 * (p - 1) / p : c == COLL_SENDRECV ? 1.0 : (double)(p - 1) / p;
}

/* The collectives of one layer of rank a with shape sh; returns how many. */
static int layer_colls(const price_ctx *c, const attn_rank_assign *a, const cost_shape *sh, coll_call out[4]) {
    const attn_model *md = &c->p->model;
    int k = 0, coord = coord_of(c, a);
    double eb = sh->elem_bytes, T = sh->tokens, d = md->head_dim;
    const comm_geom *seg = &c->seg[coord / c->m], *stage = &c->stage[coord / (c->m * c->n)];
    switch (c->p->strategy.scheme) {
    case SCHEME_SCORE_ALLREDUCE: /* partial scores of every chunk, summed in place */
        out[k++] = (coll_call){OP_ATTN_COMM, COLL_ALLREDUCE, GROUP_SEG, seg,
                               sh->rows * sh->q_heads * sh->score_pairs * sh->score_bytes / sh->chunks, sh->chunks};
        break;
    case SCHEME_QK_ALLGATHER: /* q and k segments gathered to whole heads */
        out[k++] = (coll_call){OP_ATTN_COMM, COLL_ALLGATHER, GROUP_SEG, seg, T * sh->q_heads * d * eb, 1};
        out[k++] = (coll_call){OP_ATTN_COMM, COLL_ALLGATHER, GROUP_SEG, seg, T * sh->kv_heads * d * eb, 1};
        break;
    case SCHEME_HEAD_ALLTOALL: { /* q, k, v to whole heads; the output back to segments */
        double need = 0; /* heads the group's members want from this rank's segment */
        int base = coord - a->seg;
        for (int j = 0; j < c->m; j++) {
            const attn_rank_assign *b = &c->p->ranks[c->at[base + j]];
            need += (b->a2a_head_end - b->a2a_head_begin) + 2 * kv_heads_of(md, b->a2a_head_begin, b->a2a_head_end);
        }
        out[k++] = (coll_call){OP_ATTN_COMM, COLL_ALLTOALL, GROUP_SEG, seg, T * sh->dims * need * eb, 1};
        out[k++] = (coll_call){OP_ATTN_COMM, COLL_ALLTOALL, GROUP_SEG, seg, T * sh->att_heads * d * eb, 1};
        break;
    }
    default:
        break;
    }
    out[k++] = (coll_call){OP_O_PROJ_ALLREDUCE, COLL_ALLREDUCE, GROUP_STAGE, stage, T * md->hidden * eb, 1};
    out[k++] = (coll_call){OP_MLP_ALLREDUCE, COLL_ALLREDUCE, GROUP_STAGE, stage, T * md->hidden * eb, 1};
    return k;
}

/* All ops of one layer (compute and collectives) for rank a. */
static void layer_cost(const price_ctx *c, const attn_rank_assign *a, const cost_shape *sh, attn_op_cost op[OP_COUNT]) {
    const attn_device_type *dt = &c->t->dev_types[c->t->devices[a->device].device_type];
    cost_layer_ops(sh, dt, c->cal, op);
    coll_call cc[4];
    int k = layer_colls(c, a, sh, cc);
    for (int i = 0; i < k; i++) {
        op[cc[i].op].time_s += cc[i].calls * comm_geom_time(cc[i].g, cc[i].coll, cc[i].S, c->cal, NULL);
        op[cc[i].op].bytes += cc[i].calls * coll_factor(cc[i].coll, cc[i].g->n) * cc[i].S;
    }
}

/* Activation transfer of `tokens` x hidden to the next stage's rank at the same (head group,
 * segment); 0 on the last stage. */
static double p2p_time(const price_ctx *c, const attn_rank_assign *a, double tokens, double *bytes, attn_link *link) {
    *bytes = 0;
    if (link) *link = LINK_SELF;
    if (a->stage + 1 >= c->pp) return 0;
    const attn_model *md = &c->p->model;
    int next = c->at[coord_of(c, a) + c->n * c->m];
    int devs[2] = {a->device, c->p->ranks[next].device};
    double S = tokens * md->hidden * dtype_bytes(md->dtype);
    comm_geom g;
    if (comm_geom_build(c->t, devs, 2, &g) != 0) return 0;
    if (link) *link = g.link;
    *bytes = g.n > 1 ? S : 0;
    return comm_geom_time(&g, COLL_SENDRECV, S, c->cal, NULL);
}

static int rank_rows(const attn_rank_assign *a) { return a->batch_end - a->batch_begin; }

/* Per-rank results kept for the stage/pipeline assembly. */
typedef struct rank_time {
    double mb_s;      /* prefill: one largest microbatch through the rank's layers (no p2p) */
    double p2p_mb_s;  /* prefill: one largest microbatch's transfer to the next stage */
    double step_s;    /* decode: one step through the rank's layers (no p2p) */
    double p2p_step_s;
} rank_time;

static void accumulate(attn_op_cost *dst, const attn_op_cost *src, double times) {
    for (int i = 0; i < OP_COUNT; i++) {
        dst[i].time_s += times * src[i].time_s;
        dst[i].flops += times * src[i].flops;
        dst[i].bytes += times * src[i].bytes;
    }
}

static double sum_time(const attn_op_cost *op) {
    double s = 0;
    for (int i = 0; i < OP_COUNT; i++) s += op[i].time_s;
    return s;
}

static double comm_time(const attn_op_cost *op) {
    double s = 0;
    for (int i = 0; i < OP_COUNT; i++)
        if (attn_op_table[i].cls == OPCLASS_COMM) s += op[i].time_s;
    return s;
}

/* Prices rank idx: fills its report entry and its times. */
static void price_rank(const price_ctx *c, int idx, attn_rank_report *rr, rank_time *rt, double *floor_flops,
                       double *floor_bytes) {
    const attn_rank_assign *a = &c->p->ranks[idx];
    const attn_model *md = &c->p->model;
    const attn_device_type *dt = &c->t->dev_types[c->t->devices[a->device].device_type];
    double layers = a->layer_end - a->layer_begin, eb = dtype_bytes(md->dtype), L = md->workload.seq_len;
    int rows = rank_rows(a), M = c->M < rows ? c->M : rows;
    if (M < 1) M = 1;
    int q = rows / M, rem = rows % M;
    attn_op_cost lay[OP_COUNT];
    cost_shape big, small, dec;
    memset(rr->op, 0, sizeof rr->op);

    /* prefill: rem microbatches of q+1 rows, M-rem of q rows */
    base_shape(c, a, PHASE_PREFILL, q + (rem > 0), &big);
    layer_cost(c, a, &big, lay);
    rt->mb_s = layers * sum_time(lay);
    accumulate(rr->op[PHASE_PREFILL], lay, layers * (rem > 0 ? rem : M));
    if (rem > 0 && q > 0) {
        base_shape(c, a, PHASE_PREFILL, q, &small);
        layer_cost(c, a, &small, lay);
        accumulate(rr->op[PHASE_PREFILL], lay, layers * (M - rem));
    }
    double bytes;
    rt->p2p_mb_s = p2p_time(c, a, big.tokens, &bytes, NULL);
    attn_op_cost *pp = &rr->op[PHASE_PREFILL][OP_PIPE_P2P];
    pp->time_s = rt->p2p_mb_s * (rem > 0 ? rem : M);
    pp->bytes = bytes * (rem > 0 ? rem : M);
    if (rem > 0 && q > 0) {
        pp->time_s += (M - rem) * p2p_time(c, a, q * L, &bytes, NULL);
        pp->bytes += (M - rem) * bytes;
    }

    /* decode: one step of the replica's whole batch */
    base_shape(c, a, PHASE_DECODE, rows, &dec);
    layer_cost(c, a, &dec, lay);
    accumulate(rr->op[PHASE_DECODE], lay, layers);
    rt->step_s = layers * sum_time(lay);
    rt->p2p_step_s = p2p_time(c, a, rows, &bytes, NULL);
    rr->op[PHASE_DECODE][OP_PIPE_P2P].time_s = rt->p2p_step_s;
    rr->op[PHASE_DECODE][OP_PIPE_P2P].bytes = bytes;

    /* memory */
    double per_tok_kv = big.cache_kv_heads * (big.cache_k_dims + big.cache_v_dims) * eb;
    rr->weights_bytes = layers * cost_layer_weight_bytes(&big);
    rr->kv_cache_bytes = layers * rows * (L + md->workload.decode_tokens) * per_tok_kv;
    double T = big.tokens, H = md->hidden, F = big.mlp_cols, gated = md->arch == ARCH_LLAMA ? 2 : 1;
    double attn_live = T * (big.q_heads + 2 * big.kv_heads) * big.dims * eb +
                       big.rows * big.att_heads * big.chunk_rows * L * (c->score_bytes + eb) +
                       T * big.att_heads * big.att_v_dims * eb;
    double mlp_live = T * F * (gated + 1) * eb;
    double dec_live = dec.rows * dec.att_heads * dec.score_pairs * (c->score_bytes + eb);
    double live = attn_live > mlp_live ? attn_live : mlp_live;
    if (dec_live > live) live = dec_live;
    rr->activation_bytes = 2 * T * H * eb + live;
    double recv = 0, d = md->head_dim;
    if (c->p->strategy.scheme == SCHEME_QK_ALLGATHER) recv = T * (big.q_heads + big.kv_heads) * d * eb;
    if (c->p->strategy.scheme == SCHEME_HEAD_ALLTOALL) recv = T * (big.att_heads + 2 * big.att_kv_heads) * d * eb;
    if (c->pp > 1 && a->stage > 0 && T * H * eb > recv) recv = T * H * eb;
    rr->comm_buffer_bytes = recv;
    rr->memory_bytes = rr->weights_bytes + rr->kv_cache_bytes + rr->activation_bytes + rr->comm_buffer_bytes;
    rr->memory_capacity_bytes = dt->memory_bytes;

    double fl = 0;
    for (int i = 0; i < OP_COUNT; i++) fl += rr->op[PHASE_PREFILL][i].flops;
    double peak = dt->peak_flops[md->dtype] > 0 ? dt->peak_flops[md->dtype] : dt->peak_flops[DTYPE_FP32];
    *floor_flops = peak > 0 ? fl / peak : 0;
    double bw = dt->memory_bandwidth;
    *floor_bytes = bw > 0 ? (rr->weights_bytes + layers * rows * L * per_tok_kv) / bw : 0;
}

#define FAIL(...) do { snprintf(detail->reason, sizeof detail->reason, __VA_ARGS__); goto fail; } while (0)

/* The checks pricing relies on (plan_check does the full structural audit). */
static int check_inputs(const attn_plan *p, const attn_topology *t, cost_detail *detail) {
    const attn_model *md = &p->model;
    const attn_strategy *s = &p->strategy;
    if (s->dp < 1 || s->pp < 1 || s->n < 1 || s->m < 1) FAIL("strategy has a size below 1");
    if ((long long)s->dp * s->pp * s->n * s->m != p->world || p->world < 1 || !p->ranks)
        FAIL("plan has %d ranks but its strategy needs %lld", p->world, (long long)s->dp * s->pp * s->n * s->m);
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
    c->at = malloc((size_t)world * sizeof *c->at);
    c->seg = calloc((size_t)(world / c->m), sizeof *c->seg);
    c->stage = calloc((size_t)(world / (c->m * c->n)), sizeof *c->stage);
    devs = malloc((size_t)world * sizeof *devs);
    if (!c->at || !c->seg || !c->stage || !devs) FAIL("out of memory for %d ranks", world);
    for (int i = 0; i < world; i++) c->at[i] = -1;
    for (int i = 0; i < world; i++) {
        const attn_rank_assign *a = &p->ranks[i];
        if (a->replica < 0 || a->replica >= c->dp || a->stage < 0 || a->stage >= c->pp || a->head_group < 0 ||
            a->head_group >= c->n || a->seg < 0 || a->seg >= c->m)
            FAIL("rank %d has coordinates outside the strategy", a->rank);
        int k = coord_of(c, a);
        if (c->at[k] != -1) FAIL("ranks %d and %d have the same coordinates", p->ranks[c->at[k]].rank, a->rank);
        c->at[k] = i;
    }
    for (int g = 0; g < world / c->m; g++) {
        for (int j = 0; j < c->m; j++) devs[j] = p->ranks[c->at[g * c->m + j]].device;
        if (comm_geom_build(c->t, devs, c->m, &c->seg[g]) != 0) FAIL("cannot place segment group %d", g);
    }
    int sz = c->m * c->n;
    for (int g = 0; g < world / sz; g++) {
        for (int j = 0; j < sz; j++) devs[j] = p->ranks[c->at[g * sz + j]].device;
        if (comm_geom_build(c->t, devs, sz, &c->stage[g]) != 0) FAIL("cannot place stage group %d", g);
    }
    free(devs);
    return 0;
fail:
    free(devs);
    return -1;
}

/* The critical rank's collectives, one line per call kind and phase. */
static void describe_colls(const price_ctx *c, int idx_pre, int idx_dec, cost_detail *detail) {
    for (int ph = 0; ph < PHASE_COUNT; ph++) {
        const attn_rank_assign *a = &c->p->ranks[ph == PHASE_PREFILL ? idx_pre : idx_dec];
        int rows = rank_rows(a), M = c->M < rows ? c->M : rows;
        if (M < 1) M = 1;
        double per = ph == PHASE_PREFILL ? M : 1, layers = a->layer_end - a->layer_begin;
        cost_shape sh;
        base_shape(c, a, (attn_phase)ph, ph == PHASE_PREFILL ? (rows + M - 1) / M : rows, &sh);
        coll_call cc[4];
        int k = layer_colls(c, a, &sh, cc);
        for (int i = 0; i < k && detail->n_coll < COST_MAX_COLL_LINES; i++) {
            if (cc[i].g->n <= 1) continue;
            cost_coll_line *l = &detail->coll[detail->n_coll++];
            l->phase = (attn_phase)ph;
            l->op = cc[i].op;
            l->coll = cc[i].coll;
            l->group = cc[i].group;
            l->group_size = cc[i].g->n;
            l->link = cc[i].g->link;
            l->bytes_per_call = cc[i].S;
            l->calls = cc[i].calls * layers * per;
            l->time_s = l->calls * comm_geom_time(cc[i].g, cc[i].coll, cc[i].S, c->cal, &l->hierarchical);
        }
        double bytes;
        attn_link link;
        double t = p2p_time(c, a, sh.tokens, &bytes, &link);
        if (bytes > 0 && detail->n_coll < COST_MAX_COLL_LINES) {
            cost_coll_line *l = &detail->coll[detail->n_coll++];
            *l = (cost_coll_line){(attn_phase)ph, OP_PIPE_P2P, COLL_SENDRECV, GROUP_PIPE, 2, link, 0, bytes, per, per * t};
        }
    }
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
    rank_time *rt = NULL;
    double *agg = NULL;
    if (!p) FAIL("no plan");
    if (check_inputs(p, t, detail) != 0) return -1;
    c.p = p;
    c.t = t;
    c.cal = o->calibration;
    c.chunk = o->query_chunk > 0 ? o->query_chunk : COST_DEFAULT_QUERY_CHUNK;
    c.score_bytes = o->score_bytes > 0 ? o->score_bytes : 4;
    c.dp = p->strategy.dp, c.pp = p->strategy.pp, c.n = p->strategy.n, c.m = p->strategy.m;
    c.M = p->strategy.microbatches > 0
              ? p->strategy.microbatches
              : cost_resolve_microbatches(p->model.workload.microbatches, p->model.workload.batch / c.dp, c.pp);
    if (build_ctx(&c, detail) != 0) goto fail;
    if (report_alloc(out, p->world) != 0) FAIL("out of memory for the report");
    int world = p->world, nst = c.dp * c.pp;
    rt = calloc((size_t)world, sizeof *rt);
    agg = calloc((size_t)nst * 4, sizeof *agg); /* per (replica, stage): mb, p2p_mb, step, p2p_step */
    if (!rt || !agg) FAIL("out of memory for %d ranks", world);

    double worst_pre = -1, worst_dec = -1;
    int crit_pre = 0, crit_dec = 0;
    out->fits = 1;
    for (int i = 0; i < world; i++) {
        attn_rank_report *rr = &out->ranks[i];
        double ff, fb;
        price_rank(&c, i, rr, &rt[i], &ff, &fb);
        if (ff > detail->compute_floor_s) detail->compute_floor_s = ff;
        if (fb > detail->hbm_floor_s) detail->hbm_floor_s = fb;
        if (rr->memory_capacity_bytes > 0 && rr->memory_bytes > rr->memory_capacity_bytes) {
            out->fits = 0;
            double short_by = rr->memory_bytes - rr->memory_capacity_bytes;
            if (short_by > out->shortfall_bytes) out->shortfall_bytes = short_by;
        }
        double tp = sum_time(rr->op[PHASE_PREFILL]), td = sum_time(rr->op[PHASE_DECODE]);
        if (tp > worst_pre) worst_pre = tp, crit_pre = i;
        if (td > worst_dec) worst_dec = td, crit_dec = i;
        const attn_rank_assign *a = &p->ranks[i];
        double *g = &agg[(size_t)(a->replica * c.pp + a->stage) * 4];
        if (rt[i].mb_s > g[0]) g[0] = rt[i].mb_s;
        if (rt[i].p2p_mb_s > g[1]) g[1] = rt[i].p2p_mb_s;
        if (rt[i].step_s > g[2]) g[2] = rt[i].step_s;
        if (rt[i].p2p_step_s > g[3]) g[3] = rt[i].p2p_step_s;
    }

    double ttft = 0, tpot = 0, stage_buf_max = 0;
    double *stage_mb = malloc((size_t)c.pp * sizeof *stage_mb);
    if (!stage_mb) FAIL("out of memory");
    for (int rep = 0; rep < c.dp; rep++) {
        int rows = rank_rows(&p->ranks[c.at[rep * c.pp * c.n * c.m]]);
        int M = c.M < rows ? c.M : rows;
        double p2p = 0, step = 0, period = 0;
        for (int s = 0; s < c.pp; s++) {
            double *g = &agg[(size_t)(rep * c.pp + s) * 4];
            stage_mb[s] = g[0];
            if (s + 1 < c.pp) {
                if (g[1] > p2p) p2p = g[1];
                step += g[3];
            }
            step += g[2];
        }
        double tr = cost_pipeline_time(M, c.pp, stage_mb, p2p);
        if (tr > ttft) {
            ttft = tr;
            detail->microbatches = M;
            detail->p2p_time_s = c.pp > 1 ? p2p : 0;
            period = detail->p2p_time_s;
            for (int s = 0; s < c.pp; s++) {
                if (stage_mb[s] > period) period = stage_mb[s];
                if (stage_mb[s] >= stage_buf_max) stage_buf_max = stage_mb[s], detail->critical_stage = s;
            }
            detail->stage_time_s = stage_buf_max;
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
    double total = sum_time(cr->op[PHASE_PREFILL]) + sum_time(cr->op[PHASE_DECODE]);
    double comm = comm_time(cr->op[PHASE_PREFILL]) + comm_time(cr->op[PHASE_DECODE]);
    out->metric[MET_TTFT_S] = ttft;
    out->metric[MET_PREFILL_TOKENS_PER_S] = ttft > 0 ? tokens / ttft : 0;
    out->metric[MET_TPOT_S] = tpot;
    out->metric[MET_DECODE_TOKENS_PER_S] = tpot > 0 ? md->workload.batch / tpot : 0;
    out->metric[MET_PEAK_MEMORY_BYTES] = peak_mem;
    out->metric[MET_COMM_FRACTION] = total > 0 ? comm / total : 0;
    for (int k = 0; k < MET_COUNT; k++) out->metric_min[k] = out->metric_max[k] = out->metric[k];
    snprintf(out->note, sizeof out->note, "analytic cost model (docs/cost-model.md)%s%.160s",
             c.cal ? "; calibration " : "; topology defaults", c.cal ? c.cal->source : "");

    detail->critical_rank[PHASE_PREFILL] = p->ranks[crit_pre].rank;
    detail->critical_rank[PHASE_DECODE] = p->ranks[crit_dec].rank;
    detail->comm_time_s[PHASE_PREFILL] = comm_time(cr->op[PHASE_PREFILL]);
    detail->comm_time_s[PHASE_DECODE] = comm_time(out->ranks[crit_dec].op[PHASE_DECODE]);
    describe_colls(&c, crit_pre, crit_dec, detail);

    free(rt);
    free(agg);
    free(c.at);
    free(c.seg);
    free(c.stage);
    return 0;
fail:
    free(rt);
    free(agg);
    free(c.at);
    free(c.seg);
    free(c.stage);
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
