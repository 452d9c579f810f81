/* cost_rank.c: one rank's prices. Its share (batch rows, layers, heads, dimension ranges,
 * MLP columns) becomes a cost_shape per microbatch and per decode step; cost_ops.c prices
 * the compute ops, cost_comm.c the collectives over the groups the rank belongs to; then
 * the rank's memory. Also the description of the critical rank's collectives for
 * `attnplan price`. cost.c assembles ranks into stages, pipelines and replicas. */
#include <math.h>
#include <string.h>
#include "cost_private.h"
#include "split.h"

int cost_coord_of(const price_ctx *c, const attn_rank_assign *a) {
    return plan_coord_rank(&c->p->strategy, a->replica, a->stage, a->seq, a->head_group, a->seg);
}

/* kv heads that query heads [hb, he) use */
static double kv_heads_of(const attn_model *md, int hb, int he) {
    return plan_kv_range(md->heads / md->kv_heads, hb, he, NULL, NULL);
}

double cost_causal_pairs(double qb, double qe, double kb, double ke) {
    /* query q sees keys [kb, min(q + 1, ke)): none while q + 1 <= kb, then one more per
     * query up to ke - kb, then all ke - kb */
    if (qe <= qb || ke <= kb) return 0;
    double lo = qb > kb ? qb : kb;      /* first query that sees a key: q >= kb */
    double mid = qe < ke ? qe : ke;     /* queries [lo, mid) see q + 1 - kb keys */
    double pairs = 0;
    if (mid > lo) pairs += (mid - lo) * (lo + mid - 1) / 2 + (mid - lo) * (1 - kb);
    double full = qb > ke ? qb : ke;    /* queries [full, qe) see all ke - kb */
    if (qe > full) pairs += (qe - full) * (ke - kb);
    return pairs;
}

double cost_seq_pairs(int L, int s, int seq, int zigzag) {
    int b0, e0, b1, e1;
    if (zigzag) {
        plan_seq_chunk_range(L, s, seq, &b0, &e0, &b1, &e1);
    } else {
        split_range(L, s, seq, &b0, &e0);
        b1 = e1 = 0;
    }
    return cost_causal_pairs(b0, e0, 0, e0) + cost_causal_pairs(b1, e1, 0, e1);
}

/* The decode steps of D whose KV slice seq of s holds (plan_seq_decode_owner: t mod s). */
static double seq_decode_share(int D, int s, int seq) {
    if (s <= 1) return D;
    return D / s + (seq < D % s ? 1 : 0);
}

/* Causal attention of the queries [b, e) against the keys 0..e-1 in query chunks of at most
 * ch rows (the unfused core): adds the chunks, the computed (query, key) pairs (each
 * chunk's whole rectangle against the keys up to its last row) and the keys read. */
static void chunked_causal(double b, double e, double ch, double *chunks, double *pairs, double *key_reads,
                           double *chunk_rows) {
    double len = e - b;
    if (len <= 0) return;
    double c = ch < len ? ch : len;
    double K = ceil(len / c), last = len - (K - 1) * c;
    *chunks += K;
    *pairs += c * ((K - 1) * b + c * (K - 1) * K / 2) + last * e;
    *key_reads += (K - 1) * b + c * (K - 1) * K / 2 + e;
    if (c > *chunk_rows) *chunk_rows = c;
}

/* The rank's shape for `rows` sequences in a phase, attention extents by its scheme, and
 * with s > 1 by its slice (lib/plan.h): prefill queries are the slice's two zigzag chunks,
 * each against the keys up to its end; decode attends over the slice's own positions. */
static void base_shape(const price_ctx *c, const attn_rank_assign *a, attn_phase ph, double rows, cost_shape *sh) {
    const attn_model *md = &c->p->model;
    const attn_strategy *st = &c->p->strategy;
    memset(sh, 0, sizeof *sh);
    sh->phase = ph;
    sh->arch = md->arch;
    sh->dtype = md->dtype;
    sh->elem_bytes = dtype_bytes(md->dtype);
    sh->score_bytes = c->score_bytes;
    sh->rows = rows;
    sh->hidden = md->hidden;
    sh->q_heads = a->head_end - a->head_begin;
    sh->kv_heads = a->kv_head_end - a->kv_head_begin;
    sh->dims = plan_rank_width(a);
    sh->mlp_cols = a->mlp_end - a->mlp_begin;
    int S = c->s, Li = md->workload.seq_len, b0, e0, b1, e1;
    sh->s = S;
    sh->seq = a->seq;
    sh->cp = S > 1 ? st->cp : CP_AUTO;
    sh->sharded = S > 1 && st->weights == WEIGHTS_SHARDED;
    double L = Li, P = plan_seq_chunk_range(Li, S, S > 1 ? a->seq : 0, &b0, &e0, &b1, &e1);
    sh->seq_max_pos = c->seq_max_pos; /* the fullest slice's (cost.c) */
    /* decode keys: the cached context and the new token; with s > 1 the fullest slice's
     * positions and the new token (the step waits for the slowest slice at the merge) */
    double dec_keys = S > 1 ? sh->seq_max_pos + 1 : L + 1;
    /* step t of the output: t more cached positions (with s > 1 the fullest slice's share
     * of them, decode tokens going round the slices) */
    if (ph == PHASE_DECODE && c->dec_step > 0) dec_keys += S > 1 ? (c->dec_step + S - 1) / S : c->dec_step;
    if (ph == PHASE_PREFILL) {
        sh->q_len = P;
        chunked_causal(b0, e0, c->chunk, &sh->chunks, &sh->score_pairs, &sh->key_reads, &sh->chunk_rows);
        chunked_causal(b1, e1, c->chunk, &sh->chunks, &sh->score_pairs, &sh->key_reads, &sh->chunk_rows);
    } else { /* one new token attending to the cached positions and itself */
        sh->q_len = 1;
        sh->chunks = 1;
        sh->chunk_rows = 1;
        sh->score_pairs = dec_keys;
        sh->key_reads = dec_keys;
    }
    sh->tokens = rows * sh->q_len;
    /* the token-wise parts: the slice's tokens, or with sharded weights the stage's whole
     * residual (every token of the stage) on 1/s of the block's projection columns */
    sh->tok_tokens = sh->sharded && ph == PHASE_PREFILL ? rows * L : sh->tokens;
    sh->qkv_bias = md->qkv_bias;
    sh->qk_norm = md->qk_norm;
    sh->q_cols = sh->o_cols = sh->q_heads * sh->dims;
    sh->kv_cols = sh->kv_heads * sh->dims;
    if (sh->sharded) {
        sh->q_cols = sh->o_cols = plan_seq_proj_range((int)(sh->q_heads * sh->dims), S, a->seq, NULL, NULL);
        sh->kv_cols = plan_seq_proj_range((int)(sh->kv_heads * sh->dims), S, a->seq, NULL, NULL);
    }
    sh->merge_parts = S > 1 && ph == PHASE_DECODE ? S : 0;
    double d = md->head_dim;
    double ah = a->a2a_head_end - a->a2a_head_begin;
    switch (st->scheme) {
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
    /* The score blocks the runtime uses (attn_tiling.h, the same call as forward.c's
     * fw_tiling): prefill blocks of c query rows against the L keys; decode blocks of one
     * row against the longest context a step reaches (L + decode_tokens; with s > 1 the
     * fullest slice's positions and its share of the decode tokens), so every step uses
     * the same blocks; memory counts one block. */
    attn_tiling tl;
    int D = md->workload.decode_tokens;
    int keys = ph == PHASE_PREFILL ? Li : S > 1 ? (int)sh->seq_max_pos + (D + S - 1) / S : Li + D;
    attn_tiling_plan(&tl, (int)rows, (int)sh->att_heads, (int)sh->chunk_rows, keys,
                     sh->score_bytes + sh->elem_bytes, c->score_budget);
    sh->score_blocks = attn_tiling_blocks(&tl);
    /* the GEMM calls of those blocks: the attention core's query heads start at the rank's
     * first head, or its first whole head under head-alltoall */
    int head0 = st->scheme == SCHEME_HEAD_ALLTOALL ? a->a2a_head_begin : a->head_begin;
    int qpk = md->kv_heads > 0 ? md->heads / md->kv_heads : 1;
    sh->gemm_calls = (double)attn_tiling_gemm_calls(&tl, head0, qpk);
    sh->gemm_reuse = attn_gemm_batch(tl.block_seqs, head0, tl.block_heads, qpk).b_shared;
    sh->score_ws = tl.block_bytes;
    sh->block_seqs = tl.block_seqs;
    sh->block_heads = tl.block_heads;

    /* The fused attention (cost_attention.c) where the scheme allows it: one call per layer
     * over all rows x att_heads, q_len queries at positions 0.. (prefill) or L (decode)
     * against the keys 0..L-1 (prefill) or 0..L (the cached context and the new token),
     * tiled by the device's kernel as the runtime's call is. No score blocks then.
     * s > 1, prefill: one call per zigzag chunk, its queries against the keys up to the
     * chunk's end (all-gathered, or arriving pass by pass around the ring: the same
     * tiles, in one call per visible key chunk); decode: the slice's keys, all visible. */
    const attn_device_type *dt = &c->t->dev_types[c->t->devices[a->device].device_type];
    sh->qpk = qpk;
    sh->fa_gpu = dt->attention_gpu;
    sh->fa_units = dt->attention_units;
    sh->fused = c->fused && st->scheme != SCHEME_SCORE_ALLREDUCE;
    if (sh->fused) {
        attn_fused_target tg = sh->fa_gpu ? ATTN_FUSED_GPU : ATTN_FUSED_CPU;
        sh->fa_calls = 1;
        if (ph == PHASE_PREFILL && S > 1) {
            attn_fused_tiling f1;
            attn_fused_plan_gqa(&sh->fa, tg, (int)rows, (int)sh->att_heads, head0, qpk, e0 - b0, e0, b0, 0,
                                (int)sh->att_qk_dims, (int)sh->att_v_dims, sh->fa_units);
            attn_fused_plan_gqa(&f1, tg, (int)rows, (int)sh->att_heads, head0, qpk, e1 - b1, e1, b1, 0,
                                (int)sh->att_qk_dims, (int)sh->att_v_dims, sh->fa_units);
            sh->fa.tiles += f1.tiles;
            sh->fa.key_rows += f1.key_rows;
            sh->fa.pairs += f1.pairs;
            if (f1.kv_splits > sh->fa.kv_splits) sh->fa.kv_splits = f1.kv_splits;
            /* allgather: one call per chunk; ring: one per visible (query chunk, key chunk)
             * pair over the passes (forward_seq.c): query chunk q sees the chunks 0..q, so
             * slice i's chunks i and 2s-1-i make (i+1) + (2s-i) = 2s+1 calls */
            sh->fa_calls = st->cp == CP_RING ? 2.0 * S + 1 : 2;
            /* the calibration's point for these calls (attnrun --calibrate times the same
             * shapes, calibrate.c): a chunk's rows against, around the ring, a chunk and
             * the one before it (the calls are chunk x chunk blocks), all-gathered the mean
             * of the two chunks' key extents. Looked up at (L/s, L), where nothing was
             * measured, small's ring attention was priced 5.4 ms and ran 13.7 ms. */
            sh->fa_q_key = e0 - b0;
            sh->fa_keys = st->cp == CP_RING ? 2.0 * (e0 - b0) : (double)((e0 + e1) / 2);
        } else {
            sh->fa_keys = ph == PHASE_PREFILL ? L : dec_keys;
            /* the GQA rule: a GPU decode tile stacks the query heads of one kv head (the kernel's
             * head0 and qpk, as the runtime passes them) */
            attn_fused_plan_gqa(&sh->fa, tg, (int)rows, (int)sh->att_heads, head0, qpk, (int)sh->q_len,
                                (int)sh->fa_keys, ph == PHASE_PREFILL ? 0 : (int)sh->fa_keys - 1, 0,
                                (int)sh->att_qk_dims, (int)sh->att_v_dims, sh->fa_units);
        }
        sh->score_blocks = 1;
        sh->gemm_calls = 0;
        sh->score_ws = cost_attention_workspace(sh);
        sh->block_seqs = (int)rows;
        sh->block_heads = (int)sh->att_heads;
    }
    /* a decode step replayed from a CUDA graph: each kernel a node of the graph */
    sh->launch_s = ph == PHASE_DECODE && dt->graph ? dt->graph_kernel_s : -1;
}

/* NCCL's options for a collective in this phase on this rank's device: its latency
 * scaled when it is captured in the decode step's CUDA graph, eager (1) otherwise. */
static cost_nccl_options coll_options(const price_ctx *c, const attn_rank_assign *a, attn_phase ph) {
    const attn_device_type *dt = &c->t->dev_types[c->t->devices[a->device].device_type];
    cost_nccl_options o;
    cost_nccl_options_default(&o);
    if (ph == PHASE_DECODE && dt->graph) o.latency_scale = dt->graph_coll_latency_scale;
    return o;
}

/* One graph launch per decode step on a device that replays the step from a graph. */
static double graph_launch_s(const price_ctx *c, const attn_rank_assign *a) {
    const attn_device_type *dt = &c->t->dev_types[c->t->devices[a->device].device_type];
    return dt->graph ? dt->graph_launch_s : 0;
}

/* Where in the layer a collective runs, for its synchronization wait (forward.c's order):
 * PRE before the attention core (after q/k/v and RoPE), BLOCKS one per score block inside
 * the core (score-allreduce), RING the cp=ring passes overlapped with the core, POST after
 * the core, OPROJ after o_proj, MLP after the MLP. */
typedef enum { AT_PRE = 0, AT_BLOCKS, AT_RING, AT_POST, AT_OPROJ, AT_MLP } coll_at;

/* One collective's buffer, calls and the group it runs on, for one layer. */
typedef struct coll_call {
    attn_op op;
    attn_coll coll;
    attn_group_kind group;
    const cost_comm_geom *g;
    double S, calls;
    coll_at at;
} coll_call;
#define LAYER_COLLS 10

/* The collectives of one layer of rank a with shape sh, in the order they run; returns
 * how many. The sequence axis (s > 1) reuses OP_ATTN_COMM for its K/V exchange, the decode
 * merge and the sharded layout's re-sharding (docs/cost-model.md, "The sequence axis"). */
static int layer_colls(const price_ctx *c, const attn_rank_assign *a, const cost_shape *sh, coll_call out[LAYER_COLLS]) {
    const attn_model *md = &c->p->model;
    int k = 0, coord = cost_coord_of(c, a);
    double eb = sh->elem_bytes, T = sh->tokens, d = md->head_dim, S = sh->s;
    const cost_comm_geom *seg = &c->seg[coord / c->m], *stage = &c->stage[coord / (c->m * c->n)];
    const cost_comm_geom *seq = sh->s > 1 ? &c->seqg[cost_seq_index(c, coord)] : NULL;
    int prefill = sh->phase == PHASE_PREFILL;
    /* weights sharded: from the projections' columns (1/s of the block, every token of the
     * stage) to the attention's layout (the block's columns, the slice's tokens): prefill
     * one all-to-all of q, k and v; decode the new tokens' q, k and v all-gathered (every
     * slice attends for every row; the owner keeps k and v) */
    if (sh->sharded && prefill)
        out[k++] = (coll_call){OP_ATTN_COMM, COLL_ALLTOALL, GROUP_SEQ, seq, sh->tok_tokens * (sh->q_cols + 2 * sh->kv_cols) * eb,
                               1, AT_PRE};
    if (sh->sharded && !prefill) {
        out[k++] = (coll_call){OP_ATTN_COMM, COLL_ALLGATHER, GROUP_SEQ, seq, T * sh->q_heads * sh->dims * eb, 1, AT_PRE};
        out[k++] = (coll_call){OP_ATTN_COMM, COLL_ALLGATHER, GROUP_SEQ, seq, T * 2 * sh->kv_heads * sh->dims * eb, 1, AT_PRE};
    }
    int a2a_out = 0;
    switch (c->p->strategy.scheme) {
    case SCHEME_SCORE_ALLREDUCE: { /* partial scores of every block of every chunk, summed in place */
        /* the average buffer: time is affine in S (cost_comm.c), so calls x time(average)
         * is the sum over the blocks and chunks of different sizes */
        double calls = sh->chunks * sh->score_blocks;
        out[k++] = (coll_call){OP_ATTN_COMM, COLL_ALLREDUCE, GROUP_SEG, seg,
                               sh->rows * sh->q_heads * sh->score_pairs * sh->score_bytes / calls, calls, AT_BLOCKS};
        break;
    }
    case SCHEME_QK_ALLGATHER: /* q and k segments gathered to whole heads */
        out[k++] = (coll_call){OP_ATTN_COMM, COLL_ALLGATHER, GROUP_SEG, seg, T * sh->q_heads * d * eb, 1, AT_PRE};
        out[k++] = (coll_call){OP_ATTN_COMM, COLL_ALLGATHER, GROUP_SEG, seg, T * sh->kv_heads * d * eb, 1, AT_PRE};
        break;
    case SCHEME_HEAD_ALLTOALL: { /* q, k, v to whole heads; the output back to segments */
        double need = 0; /* heads the group's members want from this rank's segment */
        int base = coord - a->seg;
        for (int j = 0; j < c->m; j++) {
            const attn_rank_assign *b = &c->p->ranks[c->at[base + j]];
            need += (b->a2a_head_end - b->a2a_head_begin) + 2 * kv_heads_of(md, b->a2a_head_begin, b->a2a_head_end);
        }
        out[k++] = (coll_call){OP_ATTN_COMM, COLL_ALLTOALL, GROUP_SEG, seg, T * sh->dims * need * eb, 1, AT_PRE};
        a2a_out = 1;
        break;
    }
    default:
        break;
    }
    if (sh->s > 1) {
        /* K and V of one slice's tokens in the cache's layout (the fullest slice's: NCCL
         * moves equal parts) */
        double kv1 = sh->rows * sh->seq_max_pos * sh->cache_kv_heads * (sh->cache_k_dims + sh->cache_v_dims) * eb;
        if (prefill && sh->cp == CP_ALLGATHER) /* every slice's K and V, once */
            out[k++] = (coll_call){OP_ATTN_COMM, COLL_ALLGATHER, GROUP_SEQ, seq, S * kv1, 1, AT_PRE};
        else if (prefill) /* cp ring: s - 1 passes of one slice's K and V (layer_coll_time) */
            out[k++] = (coll_call){OP_ATTN_COMM, COLL_SENDRECV, GROUP_SEQ, seq, kv1, S - 1, AT_RING};
        else /* decode: every slice's (O, LSE) partials in fp32, merged locally (cost_layer_ops) */
            out[k++] = (coll_call){OP_ATTN_COMM, COLL_ALLGATHER, GROUP_SEQ, seq,
                                   S * sh->rows * sh->att_heads * (sh->att_v_dims + 1) * 4.0, 1, AT_POST};
    }
    if (a2a_out) out[k++] = (coll_call){OP_ATTN_COMM, COLL_ALLTOALL, GROUP_SEG, seg, T * sh->att_heads * d * eb, 1, AT_POST};
    /* weights sharded, prefill: the attention output back to the projections' layout */
    if (sh->sharded && prefill)
        out[k++] = (coll_call){OP_ATTN_COMM, COLL_ALLTOALL, GROUP_SEQ, seq, T * sh->q_heads * sh->dims * eb, 1, AT_POST};
    /* o_proj and MLP all-reduces: over the slice's n*m ranks on its tokens, or with sharded
     * weights over the stage's s*n*m ranks on the whole residual */
    const cost_comm_geom *tp = sh->sharded ? &c->shard[coord / (c->s * c->n * c->m)] : stage;
    attn_group_kind tk = sh->sharded ? GROUP_SHARD : GROUP_STAGE;
    double R = sh->tok_tokens * md->hidden * eb;
    out[k++] = (coll_call){OP_O_PROJ_ALLREDUCE, COLL_ALLREDUCE, tk, tp, R, 1, AT_OPROJ};
    out[k++] = (coll_call){OP_MLP_ALLREDUCE, COLL_ALLREDUCE, tk, tp, R, 1, AT_MLP};
    return k;
}

/* The attention core's compute time in a layer (fused or not). */
static double core_time(const attn_op_cost *op) {
    return op[OP_SCORES].time_s + op[OP_SOFTMAX].time_s + op[OP_PV].time_s + op[OP_ATTENTION].time_s;
}

/* The transfer time of all calls of entry cc, given the layer's compute ops; choice (may
 * be NULL) receives one call's. cp ring: pass i's send/recv runs while the attention of
 * pass i - 1 computes, so only max(0, comm - compute) of each pass is exposed, except the
 * first exchange, which is charged whole (it is where the slices meet, before any remote
 * pass can start). Zigzag makes every pass the same attention work (each holds two chunk x
 * chunk blocks of visible pairs), so a pass computes core / s. */
static double layer_coll_time(const price_ctx *c, const coll_call *cc, const attn_op_cost *op, const cost_nccl_options *no,
                              cost_coll_choice *choice) {
    double one = cost_comm_time(cc->g, cc->coll, cc->S, c->cal, no, choice);
    if (cc->at != AT_RING || cc->calls < 1) return cc->calls * one;
    double per_pass = core_time(op) / (cc->calls + 1);
    double exposed = one - per_pass;
    return one + (cc->calls - 1) * (exposed > 0 ? exposed : 0);
}

/* The synchronization wait of each entry of layer_colls (all its calls), from the work the
 * rank does before each call since the previous one, in forward.c's order: residual2 of
 * the layer before, norm1, q/k/v, RoPE, [the attention collectives around the KV cache
 * write and the core], o_proj, its all-reduce, residual1, norm2, the MLP, its all-reduce.
 * Work before a collective over a group of one is carried to the next. */
static void layer_sync_waits(const price_ctx *c, const attn_op_cost *op, const coll_call *cc, int k,
                             double wait[LAYER_COLLS]) {
    double pre = op[OP_RESIDUAL2].time_s + op[OP_NORM1].time_s + op[OP_QKV_PROJ].time_s + op[OP_ROPE].time_s;
    double core = op[OP_KV_CACHE_WRITE].time_s + core_time(op);
    double mlp = op[OP_RESIDUAL1].time_s + op[OP_NORM2].time_s + op[OP_MLP_UP].time_s + op[OP_MLP_ACT].time_s +
                 op[OP_MLP_DOWN].time_s;
    double acc = pre; /* work since the last synchronization */
    for (int i = 0; i < LAYER_COLLS; i++) wait[i] = 0;
    for (int i = 0; i < k; i++) {
        int sync = cc[i].g->n > 1;
        switch (cc[i].at) {
        case AT_BLOCKS: {
            /* one all-reduce per score block, each after the block's q.k (softmax and P.V of
             * the block before it in between) */
            double calls = cc[i].calls > 1 ? cc[i].calls : 1, per = core / calls;
            if (sync) {
                wait[i] = cost_sync_wait(c->cal, acc + per) + (calls - 1) * cost_sync_wait(c->cal, per);
                acc = 0;
            } else
                acc += core;
            core = 0;
            break;
        }
        case AT_PRE:  /* after the projections (qk-allgather: q then k; head-alltoall: in) */
        case AT_RING: /* the ring's first exchange; later passes are paced by the ring */
            if (sync) wait[i] = cost_sync_wait(c->cal, acc), acc = 0;
            break;
        case AT_POST: /* after the core: the decode merge, head-alltoall out, the re-sharding back */
            acc += core, core = 0;
            if (sync) wait[i] = cost_sync_wait(c->cal, acc), acc = 0;
            break;
        case AT_OPROJ:
            acc += core + op[OP_O_PROJ].time_s, core = 0;
            if (sync) wait[i] = cost_sync_wait(c->cal, acc), acc = 0;
            break;
        case AT_MLP:
            acc += mlp;
            if (sync) wait[i] = cost_sync_wait(c->cal, acc), acc = 0;
            break;
        }
    }
}

/* All ops of one layer (compute and collectives) for rank a. A collective's time is its
 * transfer (alpha-beta; the ring's exposed part) plus the wait for its slowest member
 * (cost_sync_wait). */
static void layer_cost(const price_ctx *c, const attn_rank_assign *a, const cost_shape *sh, attn_op_cost op[OP_COUNT]) {
    const attn_device_type *dt = &c->t->dev_types[c->t->devices[a->device].device_type];
    cost_layer_ops(sh, dt, c->cal, op, NULL);
    coll_call cc[LAYER_COLLS];
    double wait[LAYER_COLLS], t[LAYER_COLLS];
    int k = layer_colls(c, a, sh, cc);
    layer_sync_waits(c, op, cc, k, wait);
    cost_nccl_options no = coll_options(c, a, sh->phase);
    for (int i = 0; i < k; i++) t[i] = layer_coll_time(c, &cc[i], op, &no, NULL); /* before op[] gains comm */
    for (int i = 0; i < k; i++) {
        op[cc[i].op].time_s += t[i] + wait[i];
        op[cc[i].op].bytes += cc[i].calls * coll_bus_factor(cc[i].coll, cc[i].g->n) * cc[i].S;
    }
}

/* The rank a stage's rank sends to in the pipeline: the next stage's rank with the same
 * coordinates, and from the last stage the first's (a decode step's token ids,
 * PLAN_TOKEN_ID_BYTES in lib/plan.h); -1 without a pipeline. */
static int pipe_peer(const price_ctx *c, const attn_rank_assign *a) {
    if (c->pp < 2) return -1;
    int to = a->stage + 1 < c->pp ? a->stage + 1 : 0;
    return c->at[plan_coord_rank(&c->p->strategy, a->replica, to, a->seq, a->head_group, a->seg)];
}

/* What rank a sends to its pipe peer: `tokens` rows of hidden states to the next stage,
 * or (last stage, decode) one token id per sequence back to the first. */
static double p2p_time(const price_ctx *c, const attn_rank_assign *a, double tokens, double *bytes, attn_link *link,
                       cost_coll_choice *ch, attn_phase ph) {
    *bytes = 0;
    if (link) *link = LINK_SELF;
    int peer = pipe_peer(c, a), back = a->stage + 1 >= c->pp;
    if (peer < 0 || (back && ph != PHASE_DECODE)) return 0;
    const attn_model *md = &c->p->model;
    int devs[2] = {a->device, c->p->ranks[peer].device};
    double S = back ? tokens * PLAN_TOKEN_ID_BYTES : tokens * md->hidden * dtype_bytes(md->dtype);
    cost_comm_geom g;
    if (cost_comm_geom_build(c->t, devs, 2, &g) != 0) return 0;
    if (link) *link = g.link;
    *bytes = g.n > 1 ? S : 0;
    cost_nccl_options no = coll_options(c, a, ph);
    return cost_comm_time(&g, COLL_SENDRECV, S, c->cal, &no, ch);
}

/* The model's ends on rank a (cost_ends.c): its stage position and vocabulary shard. */
static cost_ends_rank ends_of(const price_ctx *c, const attn_rank_assign *a) {
    cost_ends_rank e = {a->stage == 0, a->stage + 1 >= c->pp, 0, &c->stage[cost_coord_of(c, a) / (c->m * c->n)]};
    e.vocab_rows = plan_vocab_range(c->p->model.vocab_size, c->n, c->m, a->head_group, a->seg, NULL, NULL);
    return e;
}

static void accumulate(attn_op_cost *dst, const attn_op_cost *src, double times) {
    for (int i = 0; i < OP_COUNT; i++) {
        dst[i].time_s += times * src[i].time_s;
        dst[i].flops += times * src[i].flops;
        dst[i].bytes += times * src[i].bytes;
    }
}

double cost_ops_total(const attn_op_cost *op) {
    double s = 0;
    for (int i = 0; i < OP_COUNT; i++) s += op[i].time_s;
    return s;
}

double cost_ops_comm(const attn_op_cost *op) {
    double s = 0;
    for (int i = 0; i < OP_COUNT; i++)
        if (attn_op_table[i].cls == OPCLASS_COMM) s += op[i].time_s;
    return s;
}

/* Prices rank idx: fills its report entry and its times. */
void cost_rank_price(const price_ctx *c, int idx, attn_rank_report *rr, rank_time *rt, double *floor_flops,
                       double *floor_bytes) {
    const attn_rank_assign *a = &c->p->ranks[idx];
    const attn_model *md = &c->p->model;
    const attn_device_type *dt = &c->t->dev_types[c->t->devices[a->device].device_type];
    double layers = a->layer_end - a->layer_begin, eb = dtype_bytes(md->dtype);
    int rows = cost_rank_rows(a), M = c->M < rows ? c->M : rows;
    if (M < 1) M = 1;
    int q, rem;
    split_sizes(rows, M, &q, &rem);
    attn_op_cost lay[OP_COUNT];
    cost_shape big, small, dec;
    small.score_ws = 0;
    memset(rr->op, 0, sizeof rr->op);

    /* prefill: rem microbatches of q+1 rows, M-rem of q rows */
    base_shape(c, a, PHASE_PREFILL, q + (rem > 0), &big);
    layer_cost(c, a, &big, lay);
    rt->mb_s = layers * cost_ops_total(lay);
    accumulate(rr->op[PHASE_PREFILL], lay, layers * (rem > 0 ? rem : M));
    if (rem > 0 && q > 0) {
        base_shape(c, a, PHASE_PREFILL, q, &small);
        layer_cost(c, a, &small, lay);
        accumulate(rr->op[PHASE_PREFILL], lay, layers * (M - rem));
    }
    /* the ends (first and last stage) once per microbatch and per step, on the tokens of the
     * token-wise parts (the slice's, or the stage's with sharded weights) */
    cost_ends_rank ends = ends_of(c, a);
    double eq = big.rows > 0 ? big.tok_tokens / big.rows : 0;
    cost_ends_ops(&ends, md, dt, c->cal, q + (rem > 0), eq, lay);
    rt->mb_s += cost_ops_total(lay);
    accumulate(rr->op[PHASE_PREFILL], lay, rem > 0 ? rem : M);
    if (rem > 0 && q > 0) {
        cost_ends_ops(&ends, md, dt, c->cal, q, eq, lay);
        accumulate(rr->op[PHASE_PREFILL], lay, M - rem);
    }
    double bytes;
    rt->p2p_mb_s = p2p_time(c, a, big.tok_tokens, &bytes, NULL, NULL, PHASE_PREFILL);
    attn_op_cost *pp = &rr->op[PHASE_PREFILL][OP_PIPE_P2P];
    pp->time_s = rt->p2p_mb_s * (rem > 0 ? rem : M);
    pp->bytes = bytes * (rem > 0 ? rem : M);
    if (rem > 0 && q > 0) {
        pp->time_s += (M - rem) * p2p_time(c, a, small.tok_tokens, &bytes, NULL, NULL, PHASE_PREFILL);
        pp->bytes += (M - rem) * bytes;
    }

    /* decode: one step of the replica's whole batch. TPOT is the mean step over the output
     * (contexts L .. L+D-1): a step's cost is affine in its context (the KV reads grow by
     * one position a step, everything else is fixed), so the mean of the first and the last
     * step is the mean of them all (docs/cost-model.md). The first step's shape (dec)
     * stays the one memory and the collectives are sized by. */
    base_shape(c, a, PHASE_DECODE, rows, &dec);
    layer_cost(c, a, &dec, lay);
    int D_out = md->workload.decode_tokens;
    if (!c->dec_first_only && D_out > 1) {
        price_ctx last_ctx = *c;
        last_ctx.dec_step = D_out - 1;
        cost_shape dec_last;
        attn_op_cost lay_last[OP_COUNT];
        base_shape(&last_ctx, a, PHASE_DECODE, rows, &dec_last);
        layer_cost(&last_ctx, a, &dec_last, lay_last);
        for (int i = 0; i < OP_COUNT; i++) {
            lay[i].time_s = 0.5 * (lay[i].time_s + lay_last[i].time_s);
            lay[i].flops = 0.5 * (lay[i].flops + lay_last[i].flops);
            lay[i].bytes = 0.5 * (lay[i].bytes + lay_last[i].bytes);
        }
    }
    accumulate(rr->op[PHASE_DECODE], lay, layers);
    rt->step_s = layers * cost_ops_total(lay);
    cost_ends_ops(&ends, md, dt, c->cal, rows, 1, lay);
    accumulate(rr->op[PHASE_DECODE], lay, 1);
    rt->step_s += cost_ops_total(lay);
    /* the step's one graph launch, charged to its first kernel (norm1) */
    double gl = graph_launch_s(c, a);
    rr->op[PHASE_DECODE][OP_NORM1].time_s += gl;
    rt->step_s += gl;
    rt->p2p_step_s = p2p_time(c, a, rows, &bytes, NULL, NULL, PHASE_DECODE);
    rr->op[PHASE_DECODE][OP_PIPE_P2P].time_s = rt->p2p_step_s;
    rr->op[PHASE_DECODE][OP_PIPE_P2P].bytes = bytes;

    /* memory: the KV cache holds the rank's own positions (with s > 1 its slice's prefill
     * positions and its share of the decode steps) */
    double per_tok_kv = big.cache_kv_heads * (big.cache_k_dims + big.cache_v_dims) * eb;
    int Li = md->workload.seq_len, D = md->workload.decode_tokens;
    double P = plan_seq_chunk_range(Li, c->s, c->s > 1 ? a->seq : 0, NULL, NULL, NULL, NULL);
    rr->weights_bytes = layers * cost_layer_weight_bytes(&big) + cost_ends_weight_bytes(&ends, md);
    rr->kv_cache_bytes = layers * rows * (P + seq_decode_share(D, c->s, a->seq)) * per_tok_kv;
    double T = big.tokens, Tt = big.tok_tokens, H = md->hidden, F = big.mlp_cols, gated = md->arch == ARCH_LLAMA ? 2 : 1;
    /* one score block's workspace (attn_tiling.h); blocks are not monotone in the rows
     * (4 rows may tile as 2+2 where 3 fit in one), so the larger of the two microbatch sizes */
    double score_ws = big.score_ws;
    if (rem > 0 && q > 0 && small.score_ws > score_ws) score_ws = small.score_ws;
    double attn_live = T * (big.q_heads + 2 * big.kv_heads) * big.dims * eb + score_ws +
                       T * big.att_heads * big.att_v_dims * eb;
    double mlp_live = Tt * F * (gated + 1) * eb;
    double dec_live = dec.score_ws;
    double live = attn_live > mlp_live ? attn_live : mlp_live;
    if (dec_live > live) live = dec_live;
    rr->activation_bytes = 2 * Tt * H * eb + live;
    double recv = 0, d = md->head_dim;
    if (c->p->strategy.scheme == SCHEME_QK_ALLGATHER) recv = T * (big.q_heads + big.kv_heads) * d * eb;
    if (c->p->strategy.scheme == SCHEME_HEAD_ALLTOALL) recv = T * (big.att_heads + 2 * big.att_kv_heads) * d * eb;
    if (c->pp > 1 && a->stage > 0 && Tt * H * eb > recv) recv = Tt * H * eb;
    if (c->s > 1) {
        /* the sequence axis' receive buffers: cp allgather the whole sequence's K/V of the
         * rank's kv heads, cp ring two slices' (the one attended, the one arriving); with
         * sharded weights also q, k, v of the block for the slice's tokens; decode's
         * gathered (O, LSE) partials */
        double kv_tok = big.cache_kv_heads * (big.cache_k_dims + big.cache_v_dims) * eb;
        double kvb = big.rows * (c->p->strategy.cp == CP_ALLGATHER ? c->s * big.seq_max_pos : 2 * big.seq_max_pos) * kv_tok;
        if (big.sharded) kvb += T * (big.q_heads + 2 * big.kv_heads) * big.dims * eb;
        double merge = c->s * dec.rows * dec.att_heads * (dec.att_v_dims + 1) * 4.0;
        recv += kvb > merge ? kvb : merge;
    }
    double ends_act, ends_comm; /* the runtime's ends buffers, sized for the decode batch (the larger) */
    cost_ends_buffers(&ends, md, rows, &ends_act, &ends_comm);
    rr->activation_bytes += ends_act;
    rr->comm_buffer_bytes = recv + ends_comm;
    rr->memory_bytes = rr->weights_bytes + rr->kv_cache_bytes + rr->activation_bytes + rr->comm_buffer_bytes;
    rr->memory_capacity_bytes = dt->memory_bytes;

    double fl = 0;
    for (int i = 0; i < OP_COUNT; i++) fl += rr->op[PHASE_PREFILL][i].flops;
    double peak = dt->peak_flops[md->dtype] > 0 ? dt->peak_flops[md->dtype] : dt->peak_flops[DTYPE_FP32];
    *floor_flops = peak > 0 ? fl / peak : 0;
    double bw = dt->memory_bandwidth;
    *floor_bytes = bw > 0 ? (rr->weights_bytes + layers * rows * P * per_tok_kv) / bw : 0;
}

/* The critical rank's collectives, one line per call kind and phase. */
void cost_rank_describe_colls(const price_ctx *c, int idx_pre, int idx_dec, cost_detail *detail) {
    for (int ph = 0; ph < PHASE_COUNT; ph++) {
        const attn_rank_assign *a = &c->p->ranks[ph == PHASE_PREFILL ? idx_pre : idx_dec];
        int rows = cost_rank_rows(a), M = c->M < rows ? c->M : rows;
        if (M < 1) M = 1;
        double per = ph == PHASE_PREFILL ? M : 1, layers = a->layer_end - a->layer_begin;
        cost_shape sh;
        base_shape(c, a, (attn_phase)ph, ph == PHASE_PREFILL ? split_count(rows, M, 0) : rows, &sh);
        detail->score_blocks[ph] = (int)sh.score_blocks;
        detail->block_seqs[ph] = sh.block_seqs;
        detail->block_heads[ph] = sh.block_heads;
        detail->score_ws_bytes[ph] = sh.score_ws;
        double calls = sh.chunks * sh.gemm_calls;
        if (ph == PHASE_PREFILL) { /* rows % M microbatches of one row more, as cost_rank_price */
            int q, rem;
            split_sizes(rows, M, &q, &rem);
            cost_shape small;
            base_shape(c, a, PHASE_PREFILL, q, &small);
            if (rem > 0) calls = calls * rem + (double)(M - rem) * small.chunks * small.gemm_calls;
            else calls *= M;
        }
        detail->scores_calls[ph] = layers * calls;
        detail->pv_calls[ph] = sh.att_v_dims > 0 ? layers * calls : 0; /* no value dims: no P.V GEMM */
        coll_call cc[LAYER_COLLS];
        attn_op_cost op[OP_COUNT];
        double wait[LAYER_COLLS];
        int k = layer_colls(c, a, &sh, cc);
        double launch_s = 0;
        cost_layer_ops(&sh, &c->t->dev_types[c->t->devices[a->device].device_type], c->cal, op, &launch_s);
        layer_sync_waits(c, op, cc, k, wait);
        /* decode: the mean step's, as cost_rank_price prices it (score-allreduce's
         * transfers and every wait grow with the context) */
        int D_out = c->p->model.workload.decode_tokens, have_last = 0;
        price_ctx last_ctx = *c;
        coll_call cl[LAYER_COLLS];
        attn_op_cost opl[OP_COUNT];
        int kl = 0;
        if (ph == PHASE_DECODE && !c->dec_first_only && D_out > 1) {
            have_last = 1;
            last_ctx.dec_step = D_out - 1;
            cost_shape sl;
            base_shape(&last_ctx, a, PHASE_DECODE, rows, &sl);
            double waitl[LAYER_COLLS], ls = 0;
            kl = layer_colls(&last_ctx, a, &sl, cl);
            cost_layer_ops(&sl, &c->t->dev_types[c->t->devices[a->device].device_type], c->cal, opl, &ls);
            layer_sync_waits(&last_ctx, opl, cl, kl, waitl);
            for (int i = 0; i < k && i < kl; i++) wait[i] = 0.5 * (wait[i] + waitl[i]);
            launch_s = 0.5 * (launch_s + ls);
        }
        cost_nccl_options no = coll_options(c, a, (attn_phase)ph);
        if (sh.fused) {
            double fl = 0;
            attn_op_cost wk;
            cost_attention_work(&sh, &wk, &fl);
            detail->attention_calls[ph] = layers * per * fl;
            detail->attention_kv_splits[ph] = sh.fa.kv_splits;
            detail->attention_q_tile[ph] = sh.fa.q_tile;
            detail->attention_k_tile[ph] = sh.fa.k_tile;
            detail->attention_tiles[ph] = sh.fa.tiles;
        }
        if (ph == PHASE_DECODE) {
            detail->graph_decode = sh.launch_s >= 0;
            detail->decode_launch_s = layers * launch_s + graph_launch_s(c, a);
        }
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
            cost_coll_choice ch;
            l->time_s = layers * per * layer_coll_time(c, &cc[i], op, &no, &ch);
            if (have_last && i < kl) {
                cost_coll_choice chl;
                l->time_s = 0.5 * (l->time_s + layers * per * layer_coll_time(&last_ctx, &cl[i], opl, &no, &chl));
                l->bytes_per_call = 0.5 * (l->bytes_per_call + cl[i].S);
            }
            l->hierarchical = ch.hierarchical;
            l->algo = ch.algo;
            l->proto = ch.proto;
            l->source = ch.source;
            l->wait_s = wait[i] * layers * per;
        }
        cost_ends_rank ends = ends_of(c, a);
        detail->n_coll += cost_ends_describe(&ends, &c->p->model, &c->t->dev_types[c->t->devices[a->device].device_type], c->cal,
                                             (attn_phase)ph, sh.rows, sh.rows > 0 ? sh.tok_tokens / sh.rows : 0, per,
                                             detail->coll + detail->n_coll,
                                             COST_MAX_COLL_LINES - detail->n_coll);
        double bytes;
        attn_link link;
        cost_coll_choice pch = {COLL_ALGO_P2P, COLL_PROTO_SIMPLE, 0, COST_COLL_MODEL, 0};
        double t = p2p_time(c, a, sh.tok_tokens, &bytes, &link, &pch, (attn_phase)ph);
        if (bytes > 0 && detail->n_coll < COST_MAX_COLL_LINES) {
            cost_coll_line *l = &detail->coll[detail->n_coll++];
            *l = (cost_coll_line){.phase = (attn_phase)ph, .op = OP_PIPE_P2P, .coll = COLL_SENDRECV,
                                  .group = GROUP_PIPE, .group_size = 2, .link = link, .hierarchical = pch.hierarchical,
                                  .algo = pch.algo, .proto = pch.proto, .source = pch.source,
                                  .bytes_per_call = bytes, .calls = per, .time_s = per * t};
        }
    }
}

/* What a rank's prices depend on (cost_rank_key in cost_private.h): its share's sizes
 * (padding zeroed so memcmp compares values) and the geometry of its groups, compared in
 * place (cost_comm_geom_build zeroes every geometry before filling it, calloc'd arrays the
 * rest). Made once per rank: most ranks of a plan repeat their neighbour. */
void cost_rank_key_make(const price_ctx *c, int idx, cost_rank_key *key) {
    const attn_rank_assign *a = &c->p->ranks[idx];
    const attn_model *md = &c->p->model;
    memset(key, 0, sizeof *key);
    cost_rank_sizes *k = &key->sizes;
    k->device_type = c->t->devices[a->device].device_type;
    k->rows = cost_rank_rows(a);
    k->layers = a->layer_end - a->layer_begin;
    k->q_heads = a->head_end - a->head_begin;
    k->kv_heads = a->kv_head_end - a->kv_head_begin;
    k->dims = plan_rank_width(a);
    k->a2a_heads = a->a2a_head_end - a->a2a_head_begin;
    k->a2a_kv = (int)kv_heads_of(md, a->a2a_head_begin, a->a2a_head_end);
    k->mlp = a->mlp_end - a->mlp_begin;
    k->stage_pos = (a->stage > 0) + 2 * (a->stage + 1 >= c->pp);
    k->vocab_rows = plan_vocab_range(md->vocab_size, c->n, c->m, a->head_group, a->seg, NULL, NULL);
    if (c->s > 1) { /* once per slice and row count: the same for every rank of the slice */
        double *sig = &c->slice_sig[a->seq * COST_SLICE_SIG];
        if (sig[0] != k->rows) {
            int rows = k->rows, M = c->M < rows ? c->M : rows, q, rem;
            split_sizes(rows, M > 0 ? M : 1, &q, &rem);
            cost_shape sh; /* the largest microbatch's prefill; decode does not depend on the slice */
            base_shape(c, a, PHASE_PREFILL, q + (rem > 0), &sh);
            int P = plan_seq_chunk_range(md->workload.seq_len, c->s, a->seq, NULL, NULL, NULL, NULL);
            double v[COST_SLICE_SIG] = {rows, P, seq_decode_share(md->workload.decode_tokens, c->s, a->seq), sh.q_cols,
                                        sh.kv_cols, sh.score_pairs, sh.key_reads, sh.chunks, sh.chunk_rows, sh.fa.tiles,
                                        sh.fa.key_rows, sh.fa.pairs, sh.fa.kv_splits, sh.fa.q_tile, sh.fa_keys,
                                        sh.fa_q_key};
            memcpy(sig, v, sizeof v);
        }
        memcpy(k->slice, sig + 1, sizeof k->slice);
    }
    int coord = cost_coord_of(c, a), base = coord - a->seg;
    if (c->p->strategy.scheme == SCHEME_HEAD_ALLTOALL)
        for (int j = 0; j < c->m; j++) {
            const attn_rank_assign *b = &c->p->ranks[c->at[base + j]];
            k->a2a_need += (b->a2a_head_end - b->a2a_head_begin) + 2 * kv_heads_of(md, b->a2a_head_begin, b->a2a_head_end);
        }
    key->seg = &c->seg[coord / c->m];
    key->stage = &c->stage[coord / (c->m * c->n)];
    key->seqg = c->s > 1 ? &c->seqg[cost_seq_index(c, coord)] : NULL;
    key->shard = c->shard ? &c->shard[coord / (c->s * c->n * c->m)] : NULL;
    key->pipe_ok = 1;
    int peer = pipe_peer(c, a);
    if (peer >= 0) {
        int devs[2] = {a->device, c->p->ranks[peer].device};
        key->pipe_ok = cost_geom_cached(c->t, c->pipe_gc, devs, 2, &key->pipe) == 0;
    }
}

static int same_geom(const cost_comm_geom *x, const cost_comm_geom *y) {
    return x == y || (x && y && memcmp(x, y, sizeof *x) == 0);
}

int cost_rank_key_same(const cost_rank_key *a, const cost_rank_key *b) {
    return a->pipe_ok && b->pipe_ok && memcmp(&a->sizes, &b->sizes, sizeof a->sizes) == 0 && same_geom(a->seg, b->seg) &&
           same_geom(a->stage, b->stage) && same_geom(a->seqg, b->seqg) && same_geom(a->shard, b->shard) &&
           memcmp(&a->pipe, &b->pipe, sizeof a->pipe) == 0;
}
