/* forward.c: one rank's transformer blocks (docs/model-contract.md): loading its weight
 * shard, the pre-norm block (norm, QKV, RoPE, attention, o_proj + all-reduce, MLP +
 * all-reduce, residuals), the pipeline (microbatches through stages with send/recv) and the
 * decode steps. Only backend.h and comm.h are called, so the CUDA backend reuses it. */
#include "forward_private.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

/* --- the buffers: one table per layer and one for the forward (as llm.c lists a model's
 * parameters and activations): name, where it lives, element count, the memory category it
 * is counted in, its type. Allocation, memory accounting and freeing are loops over them. --- */
typedef enum { FW_MEM_WEIGHTS, FW_MEM_KV_CACHE, FW_MEM_ACTIVATIONS, FW_MEM_COMM } fw_mem_category;

typedef struct fw_buf {
    const char *name;
    attn_ptr *slot;
    size_t elems;
    fw_mem_category category;
    int f32;        /* 1: fp32 (alloc_f32: the score block); 0: the backend's storage type */
    int on;         /* allocated for this rank: the architecture and the scheme decide */
} fw_buf;

enum { FW_LAYER_BUFS = 18, FW_BUFS = 30 };

/* rows of the largest activation of the token-wise parts: a prefill microbatch (the
 * slice's rows of each sequence; every position with the weights sharded) or the decode
 * batch; and of the attention (the slice's rows) */
static size_t fw_rows(const attn_forward *fw) {
    return max_size((size_t)fw->max_mb_rows * (fw->sharded ? fw->L : fw->TL), (size_t)fw->B);
}
static size_t fw_att_rows(const attn_forward *fw) { return max_size((size_t)fw->max_mb_rows * fw->TL, (size_t)fw->B); }

static int layer_bufs(const attn_forward *fw, fwd_layer *ly, fw_buf *t) {
    const attn_model *m = &fw->plan->model;
    int gpt = m->arch == ARCH_GPT, llama = m->arch == ARCH_LLAMA;
    size_t C = (size_t)fw->C, F = (size_t)fw->F;
    size_t qw = (size_t)(fw->pq1 - fw->pq0), kw = (size_t)(fw->pk1 - fw->pk0); /* this slice's projection columns */
    size_t cache_rows = (size_t)fw->B * fw->TMAX * fw->cache_kv_heads;
    fw_buf b[FW_LAYER_BUFS] = {
        {"norm1_w", &ly->norm1_w, C, FW_MEM_WEIGHTS, 0, 1},
        {"norm2_w", &ly->norm2_w, C, FW_MEM_WEIGHTS, 0, 1},
        {"norm1_b", &ly->norm1_b, C, FW_MEM_WEIGHTS, 0, gpt},
        {"norm2_b", &ly->norm2_b, C, FW_MEM_WEIGHTS, 0, gpt},
        {"wq", &ly->wq, qw * C, FW_MEM_WEIGHTS, 0, 1},
        {"wk", &ly->wk, kw * C, FW_MEM_WEIGHTS, 0, 1},
        {"wv", &ly->wv, kw * C, FW_MEM_WEIGHTS, 0, 1},
        {"wo", &ly->wo, C * qw, FW_MEM_WEIGHTS, 0, 1},
        {"w_up", &ly->w_up, F * C, FW_MEM_WEIGHTS, 0, 1},
        {"w_gate", &ly->w_gate, F * C, FW_MEM_WEIGHTS, 0, llama},
        {"w_down", &ly->w_down, C * F, FW_MEM_WEIGHTS, 0, 1},
        {"bq", &ly->bq, qw, FW_MEM_WEIGHTS, 0, m->qkv_bias},
        {"bk", &ly->bk, kw, FW_MEM_WEIGHTS, 0, m->qkv_bias},
        {"bv", &ly->bv, kw, FW_MEM_WEIGHTS, 0, m->qkv_bias},
        {"q_norm", &ly->q_norm, (size_t)fw->D, FW_MEM_WEIGHTS, 0, m->qk_norm},
        {"k_norm", &ly->k_norm, (size_t)fw->D, FW_MEM_WEIGHTS, 0, m->qk_norm},
        {"k_cache", &ly->k_cache, cache_rows * fw->k_width, FW_MEM_KV_CACHE, 0, 1},
        {"v_cache", &ly->v_cache, cache_rows * fw->v_width, FW_MEM_KV_CACHE, 0, 1},
    };
    memcpy(t, b, sizeof b);
    return FW_LAYER_BUFS;
}

/* one score block (attn_tiling.h) of the largest tiling any call uses: both microbatch
 * sizes (blocks are not monotone in the rows: 4 rows may tile as 2 + 2 where 3 fit in
 * one) and the decode step */
static size_t score_block_elems(const attn_forward *fw) {
    size_t score_elems = 1;
    int small_rows = split_count(fw->B, fw->microbatches, fw->microbatches - 1);
    int sizes[3] = {fw->max_mb_rows, small_rows, fw->B};
    for (int i = 0; i < 3; i++) {
        attn_tiling t;
        fw_tiling(fw, sizes[i], i == 2, &t);
        size_t e = (size_t)t.block_seqs * t.block_heads * (i == 2 ? 1 : fw->query_chunk) * (i == 2 ? fw->TMAX : fw->L);
        score_elems = max_size(score_elems, e);
    }
    return score_elems;
}

/* The forward's workspaces; score_elems: score_block_elems (any value when only the slots
 * are wanted, as forward_destroy). probs is the fp32 score block itself on an fp32 backend. */
static int forward_bufs(attn_forward *fw, size_t score_elems, fw_buf *t) {
    const attn_model *m = &fw->plan->model;
    attn_scheme scheme = fw->plan->strategy.scheme;
    int llama = m->arch == ARCH_LLAMA, qk = scheme == SCHEME_QK_ALLGATHER, a2a = scheme == SCHEME_HEAD_ALLTOALL;
    size_t C = (size_t)fw->C, Rt = fw_rows(fw), R = fw_att_rows(fw), D = (size_t)fw->D;
    size_t qw = (size_t)fw->NQ * fw->HS, kw = (size_t)fw->NKV * fw->HS;
    size_t nh = (size_t)fw->att_nq, nkv = (size_t)fw->cache_kv_heads;
    /* head-alltoall: there, every member's heads and kv heads in my dims; back, my whole heads */
    size_t send_there = R * fw->HS * ((size_t)fw->NQ + 2 * (size_t)fw->M * fw->NKV);
    size_t recv_there = R * D * (nh + 2 * nkv);
    size_t send = a2a ? max_size(send_there, R * nh * D) : 0;
    size_t recv = qk ? R * max_size(fw->NQ, fw->NKV) * D : a2a ? max_size(recv_there, R * qw) : 0;
    /* the sequence axis (forward_seq.c): K|V blocks of a prefill microbatch (Rs sequences),
     * ring (two slices' blocks) or all-gather (mine, then every position's, then K and V
     * apart by position); partial outputs and their LSEs (ring passes; decode's S partials) */
    int S = fw->S, seq = S > 1, ring = seq && fw->plan->strategy.cp == CP_RING;
    size_t Rs = (size_t)fw->max_mb_rows, L = (size_t)fw->L, rk = nkv * fw->k_width, rv = nkv * fw->v_width;
    size_t kv_a = ring ? Rs * fw->seq_blk * (rk + rv) : Rs * fw->TL * (rk + rv);
    size_t kv_b = ring ? kv_a : Rs * L * (rk + rv);
    size_t o_rows = max_size(Rs * fw->TL, (size_t)S * fw->B);
    int out_gather = seq && !fw->sharded && forward_is_last_stage(fw) && m->vocab_size == 0;
    /* weights sharded: my projection columns of every token, and the re-sharding buffers */
    size_t QWp = (size_t)(fw->pq1 - fw->pq0), W = QWp + 2 * (size_t)(fw->pk1 - fw->pk0), sh = fw->sharded;
    fw_buf b[FW_BUFS] = {
        {"x", &fw->x, Rt * C, FW_MEM_ACTIVATIONS, 0, 1},
        {"xn", &fw->xn, Rt * C, FW_MEM_ACTIVATIONS, 0, 1},
        {"proj", &fw->proj, Rt * C, FW_MEM_ACTIVATIONS, 0, 1},
        {"q", &fw->q, R * qw, FW_MEM_ACTIVATIONS, 0, 1},
        {"k", &fw->k, R * kw, FW_MEM_ACTIVATIONS, 0, 1},
        {"v", &fw->v, R * kw, FW_MEM_ACTIVATIONS, 0, 1},
        {"att", &fw->att, R * qw, FW_MEM_ACTIVATIONS, 0, 1},
        {"mlp_a", &fw->mlp_a, Rt * fw->F, FW_MEM_ACTIVATIONS, 0, 1},
        {"mlp_b", &fw->mlp_b, Rt * fw->F, FW_MEM_ACTIVATIONS, 0, llama},
        {"scores", &fw->scores, score_elems, FW_MEM_ACTIVATIONS, 1, 1},
        {"probs", &fw->probs, score_elems, FW_MEM_ACTIVATIONS, 0, fw->be->dtype != DTYPE_FP32},
        {"gq", &fw->gq, R * (a2a ? nh : (size_t)fw->NQ) * D, FW_MEM_ACTIVATIONS, 0, qk || a2a},
        {"gk", &fw->gk, R * (a2a ? nkv : (size_t)fw->NKV) * D, FW_MEM_ACTIVATIONS, 0, qk || a2a},
        {"gv", &fw->gv, R * nkv * D, FW_MEM_ACTIVATIONS, 0, a2a},
        {"go", &fw->go, R * nh * D, FW_MEM_ACTIVATIONS, 0, a2a},
        {"send_buf", &fw->send_buf, send, FW_MEM_COMM, 0, a2a},
        {"recv_buf", &fw->recv_buf, recv, FW_MEM_COMM, 0, qk || a2a},
        {"kv_a", &fw->kv_a, kv_a, FW_MEM_COMM, 0, seq},
        {"kv_b", &fw->kv_b, kv_b, FW_MEM_COMM, 0, seq},
        {"kfull", &fw->kfull, Rs * L * rk, FW_MEM_ACTIVATIONS, 0, seq && !ring},
        {"vfull", &fw->vfull, Rs * L * rv, FW_MEM_ACTIVATIONS, 0, seq && !ring},
        {"o2", &fw->o2, o_rows * nh * fw->v_width, FW_MEM_ACTIVATIONS, 0, seq},
        {"lse", &fw->lse, max_size(Rs * fw->TL, (size_t)fw->B) * nh, FW_MEM_ACTIVATIONS, 1, seq},
        {"lse2", &fw->lse2, o_rows * nh, FW_MEM_ACTIVATIONS, 1, seq},
        {"seq_out", &fw->seq_out, Rs * L * C, FW_MEM_COMM, 0, out_gather},
        {"qkv_p", &fw->qkv_p, Rt * W, FW_MEM_ACTIVATIONS, 0, sh},
        {"att_p", &fw->att_p, Rt * QWp, FW_MEM_ACTIVATIONS, 0, sh},
        {"sh_send", &fw->sh_send, max_size(Rt * W, R * qw), FW_MEM_COMM, 0, sh},
        {"sh_recv", &fw->sh_recv, max_size(R * (qw + 2 * kw), Rt * QWp), FW_MEM_COMM, 0, sh},
        {"ones", &fw->ones, Rt, FW_MEM_ACTIVATIONS, 0, m->qkv_bias},
    };
    memcpy(t, b, sizeof b);
    return FW_BUFS;
}

/* Bytes a buffer counts in its category: storage elements at the backend's width; fp32 at
 * 4 bytes, at least one element (an empty buffer is allocated as one). */
static size_t fw_buf_bytes(const attn_forward *fw, const fw_buf *b) {
    return b->f32 ? max_size(b->elems, 1) * sizeof(float) : b->elems * fw->be->elem_bytes;
}

/* Allocates and zero-fills the table's buffers (skipped collectives leave zeros, not
 * garbage); an empty one gets one element. fp32 buffers are zero-filled as bytes, which is
 * 0.0 in every type (fill writes the storage type). 0 ok, or -1 with *failed the buffer that
 * could not be had. */
static int fw_alloc_bufs(attn_forward *fw, const fw_buf *t, int n, const fw_buf **failed) {
    attn_backend *be = fw->be;
    for (int i = 0; i < n; i++) {
        if (!t[i].on) continue;
        size_t count = max_size(t[i].elems, 1);
        *t[i].slot = t[i].f32 ? be->alloc_f32(be->ctx, count) : be->alloc(be->ctx, count);
        if (attn_ptr_null(*t[i].slot)) {
            *failed = &t[i];
            return -1;
        }
        be->fill(be->ctx, *t[i].slot, t[i].f32 ? count * sizeof(float) / be->elem_bytes : count, 0.0f);
    }
    return 0;
}

static void fw_count_bufs(attn_forward *fw, const fw_buf *t, int n) {
    size_t *category[] = {[FW_MEM_WEIGHTS] = &fw->bytes_weights, [FW_MEM_KV_CACHE] = &fw->bytes_kv_cache,
                          [FW_MEM_ACTIVATIONS] = &fw->bytes_activations, [FW_MEM_COMM] = &fw->bytes_comm};
    for (int i = 0; i < n; i++)
        if (t[i].on) *category[t[i].category] += fw_buf_bytes(fw, &t[i]);
}

static void fw_free_bufs(attn_forward *fw, const fw_buf *t, int n) {
    for (int i = 0; i < n; i++)
        if (t[i].on) fw->be->free(fw->be->ctx, *t[i].slot);
}

/* --- weights: read this rank's shard of each tensor into host memory, then upload --- */
typedef struct loader {
    attn_forward *fw;
    tensor_source *ws;
    float *host;         /* staging, as large as the largest local tensor */
    float *tmp;          /* one block before it is placed */
    attn_error *err;
    int failed;
} loader;

/* tensor_read_block into the loader's error: a weight tensor missing or malformed is a
 * bad input (the weights file), not a failure of the run */
static int ld_read(loader *ld, const char *name, int ndim, const long long *shape, long long r0, long long r1,
                   long long c0, long long c1, float *dst) {
    if (tensor_read_block(ld->ws, name, ndim, shape, r0, r1, c0, c1, dst, ld->err->msg, sizeof ld->err->msg) == 0)
        return 0;
    ld->err->kind = ATTN_EXIT_BADINPUT;
    return -1;
}

static int load_upload(loader *ld, attn_ptr dst, size_t count) {
    if (ld->fw->be->upload(ld->fw->be->ctx, dst, ld->host, count) != 0) {
        attn_error_set(ld->err, ATTN_EXIT_FAIL, "upload of weights to the %s backend failed", ld->fw->be->name);
        return -1;
    }
    return 0;
}

/* rows [r0,r1) of a [rows, cols] tensor into host at row offset `at` */
static int read_rows(loader *ld, const char *name, long long rows, long long cols, long long r0, long long r1, size_t at) {
    long long shape[2] = {rows, cols};
    return ld_read(ld, name, 2, shape, r0, r1, 0, cols, ld->host + at * (size_t)cols);
}

/* cols [c0,c1) of a [rows, cols] tensor into host (row stride ld) at column `at` */
static int read_cols(loader *ld, const char *name, long long rows, long long cols, long long c0, long long c1, int ld_host, int at) {
    long long shape[2] = {rows, cols};
    if (ld_read(ld, name, 2, shape, 0, rows, c0, c1, ld->tmp) != 0) return -1;
    long long w = c1 - c0;
    for (long long r = 0; r < rows; r++) memcpy(ld->host + r * ld_host + at, ld->tmp + r * w, (size_t)w * sizeof(float));
    return 0;
}

static int load_vector(loader *ld, const char *name, int C, attn_ptr dst) {
    long long shape[1] = {C};
    if (ld_read(ld, name, 1, shape, 0, 1, 0, C, ld->host) != 0) return -1;
    return load_upload(ld, dst, (size_t)C);
}

/* q/k/v_proj: the rows of heads [h0,h1), each the rank's dim ranges; of those (the
 * block's rows) [r0, r1) are uploaded: the slice's columns when the weights are sharded */
static int load_head_rows(loader *ld, const char *name, int total_heads, int h0, int h1, int r0, int r1, attn_ptr dst) {
    attn_forward *fw = ld->fw;
    const attn_rank_assign *a = fw->me;
    size_t at = 0;
    for (int h = h0; h < h1; h++)
        for (int i = 0; i < a->n_dim_ranges; i++) {
            long long t0 = (long long)h * fw->D + a->dim_begin[i], t1 = (long long)h * fw->D + a->dim_end[i];
            if (read_rows(ld, name, (long long)total_heads * fw->D, fw->C, t0, t1, at) != 0) return -1;
            at += (size_t)(t1 - t0);
        }
    if (r1 > r0 && fw->be->upload(fw->be->ctx, dst, ld->host + (size_t)r0 * fw->C, (size_t)(r1 - r0) * fw->C) != 0) {
        attn_error_set(ld->err, ATTN_EXIT_FAIL, "upload of weights to the %s backend failed", fw->be->name);
        return -1;
    }
    return 0;
}

/* q/k/v_proj.bias: the entries of heads [h0,h1), each the rank's dim ranges, the same
 * order as load_head_rows' rows; of those [r0, r1) are uploaded */
static int load_head_bias(loader *ld, const char *name, int total_heads, int h0, int h1, int r0, int r1, attn_ptr dst) {
    attn_forward *fw = ld->fw;
    const attn_rank_assign *a = fw->me;
    long long shape[1] = {(long long)total_heads * fw->D};
    size_t at = 0;
    for (int h = h0; h < h1; h++)
        for (int i = 0; i < a->n_dim_ranges; i++) {
            long long t0 = (long long)h * fw->D + a->dim_begin[i], t1 = (long long)h * fw->D + a->dim_end[i];
            if (ld_read(ld, name, 1, shape, 0, 1, t0, t1, ld->host + at) != 0) return -1;
            at += (size_t)(t1 - t0);
        }
    if (r1 > r0 && fw->be->upload(fw->be->ctx, dst, ld->host + r0, (size_t)(r1 - r0)) != 0) {
        attn_error_set(ld->err, ATTN_EXIT_FAIL, "upload of weights to the %s backend failed", fw->be->name);
        return -1;
    }
    return 0;
}

static int load_layer(loader *ld, int global_layer, fwd_layer *ly) {
    attn_forward *fw = ld->fw;
    const attn_model *m = &fw->plan->model;
    const attn_rank_assign *a = fw->me;
    char name[256];
#define NAME(fmt) (snprintf(name, sizeof name, "model.layers.%d." fmt, global_layer), name)
    if (load_vector(ld, NAME("input_layernorm.weight"), fw->C, ly->norm1_w)) return -1;
    if (load_vector(ld, NAME("post_attention_layernorm.weight"), fw->C, ly->norm2_w)) return -1;
    if (m->arch == ARCH_GPT) {
        if (load_vector(ld, NAME("input_layernorm.bias"), fw->C, ly->norm1_b)) return -1;
        if (load_vector(ld, NAME("post_attention_layernorm.bias"), fw->C, ly->norm2_b)) return -1;
    }
    if (load_head_rows(ld, NAME("self_attn.q_proj.weight"), m->heads, a->head_begin, a->head_end, fw->pq0, fw->pq1, ly->wq))
        return -1;
    if (load_head_rows(ld, NAME("self_attn.k_proj.weight"), m->kv_heads, a->kv_head_begin, a->kv_head_end, fw->pk0, fw->pk1,
                       ly->wk))
        return -1;
    if (load_head_rows(ld, NAME("self_attn.v_proj.weight"), m->kv_heads, a->kv_head_begin, a->kv_head_end, fw->pk0, fw->pk1,
                       ly->wv))
        return -1;
    if (m->qk_norm && (load_vector(ld, NAME("self_attn.q_norm.weight"), fw->D, ly->q_norm) ||
                       load_vector(ld, NAME("self_attn.k_norm.weight"), fw->D, ly->k_norm)))
        return -1;
    if (m->qkv_bias &&
        (load_head_bias(ld, NAME("self_attn.q_proj.bias"), m->heads, a->head_begin, a->head_end, fw->pq0, fw->pq1, ly->bq) ||
         load_head_bias(ld, NAME("self_attn.k_proj.bias"), m->kv_heads, a->kv_head_begin, a->kv_head_end, fw->pk0, fw->pk1,
                        ly->bk) ||
         load_head_bias(ld, NAME("self_attn.v_proj.bias"), m->kv_heads, a->kv_head_begin, a->kv_head_end, fw->pk0, fw->pk1,
                        ly->bv)))
        return -1;
    /* o_proj [C, heads*D]: input columns in the same (head, range) order as q's rows */
    int at = 0, qw = fw->NQ * fw->HS;
    for (int h = a->head_begin; h < a->head_end; h++)
        for (int i = 0; i < a->n_dim_ranges; i++) {
            long long c0 = (long long)h * fw->D + a->dim_begin[i], c1 = (long long)h * fw->D + a->dim_end[i];
            if (read_cols(ld, NAME("self_attn.o_proj.weight"), fw->C, (long long)m->heads * fw->D, c0, c1, qw, at)) return -1;
            at += (int)(c1 - c0);
        }
    /* the slice's input columns [pq0, pq1) of the block (all of them unless sharded) */
    int qwp = fw->pq1 - fw->pq0;
    for (int r = 0; r < fw->C && qwp < qw; r++)
        memmove(ld->host + (size_t)r * qwp, ld->host + (size_t)r * qw + fw->pq0, (size_t)qwp * sizeof(float));
    if (qwp > 0 && load_upload(ld, ly->wo, (size_t)fw->C * qwp)) return -1;
    long long ffn = m->ffn_hidden;
    if (read_rows(ld, NAME("mlp.up_proj.weight"), ffn, fw->C, a->mlp_begin, a->mlp_end, 0) ||
        load_upload(ld, ly->w_up, (size_t)fw->F * fw->C))
        return -1;
    if (m->arch == ARCH_LLAMA && (read_rows(ld, NAME("mlp.gate_proj.weight"), ffn, fw->C, a->mlp_begin, a->mlp_end, 0) ||
                                  load_upload(ld, ly->w_gate, (size_t)fw->F * fw->C)))
        return -1;
    if (read_cols(ld, NAME("mlp.down_proj.weight"), fw->C, ffn, a->mlp_begin, a->mlp_end, fw->F, 0) ||
        load_upload(ld, ly->w_down, (size_t)fw->C * fw->F))
        return -1;
#undef NAME
    return 0;
}

const char *const forward_attention_names[FORWARD_ATTENTION_COUNT] = {"fused", "unfused"};

int forward_is_attention_fused(const attn_plan *p, const attn_backend *be, forward_attention choice) {
    return choice == FORWARD_ATTENTION_FUSED && be->attention_fused && p->strategy.scheme != SCHEME_SCORE_ALLREDUCE;
}

attn_forward *forward_create(const attn_plan *p, int rank, attn_backend *be, attn_comm *comm,
                             tensor_source *ws, int query_chunk, double score_workspace, forward_attention attention,
                             attn_error *err) {
    attn_error_clear(err);
    const attn_model *m = &p->model;
    const attn_rank_assign *a = plan_rank_entry(p, rank);
    if (!a) {
        attn_error_set(err, ATTN_EXIT_FAIL, "the plan has no rank %d", rank);
        return NULL;
    }
    /* the layouts below rely on these (lib/plan.h): llama segments are pair ranges */
    int pairs_ok = m->arch != ARCH_LLAMA ||
                   (a->n_dim_ranges == 2 && a->dim_begin[1] == a->dim_begin[0] + m->head_dim / 2 &&
                    a->dim_end[1] - a->dim_begin[1] == a->dim_end[0] - a->dim_begin[0] && a->dim_end[0] <= m->head_dim / 2);
    if (!pairs_ok || (m->arch == ARCH_GPT && a->n_dim_ranges != 1) || a->head_end <= a->head_begin ||
        a->kv_head_end <= a->kv_head_begin || a->layer_end < a->layer_begin || a->batch_end <= a->batch_begin) {
        attn_error_set(err, ATTN_EXIT_FAIL, "plan rank %d: an assignment the runtime cannot execute (empty heads or batch rows, or "
                             "dimension ranges that are not %s)", rank, m->arch == ARCH_LLAMA ? "one rotation-pair range" : "one range");
        return NULL;
    }
    attn_forward *fw = calloc(1, sizeof *fw);
    if (!fw) {
        attn_error_set(err, ATTN_EXIT_FAIL, "out of memory");
        return NULL;
    }
    fw->plan = p;
    fw->me = a;
    fw->be = be;
    fw->comm = comm;
    fw->rank = rank;
    fw->counting = 1;
    fw->graph.wanted = 1;
    fw->C = m->hidden;
    fw->D = m->head_dim;
    fw->HS = plan_rank_width(a);
    fw->NQ = a->head_end - a->head_begin;
    fw->NKV = a->kv_head_end - a->kv_head_begin;
    fw->QPK = m->heads / m->kv_heads;
    fw->F = a->mlp_end - a->mlp_begin;
    fw->n_layers = a->layer_end - a->layer_begin;
    fw->B = a->batch_end - a->batch_begin;
    fw->L = m->workload.seq_len;
    fw->TDEC = m->workload.decode_tokens;
    fw->TMAX = fw->L + fw->TDEC;
    seq_init(fw); /* S > 1: TL and TMAX become the slice's */
    fw->microbatches = p->strategy.microbatches < 1 ? 1 : p->strategy.microbatches;
    if (fw->microbatches > fw->B) fw->microbatches = fw->B;
    fw->max_mb_rows = split_count(fw->B, fw->microbatches, 0);
    fw->M = p->strategy.m;
    fw->seg_rank0 = rank - a->seg;
    fw->seg_off = calloc((size_t)fw->M, sizeof(int));
    fw->seg_hs = calloc((size_t)fw->M, sizeof(int));
    if (!fw->seg_off || !fw->seg_hs) {
        attn_error_set(err, ATTN_EXIT_FAIL, "out of memory");
        forward_destroy(fw);
        return NULL;
    }
    for (int s = 0, off = 0; s < fw->M; s++) {
        const attn_rank_assign *o = plan_rank_entry(p, fw->seg_rank0 + s);
        if (!o) {
            attn_error_set(err, ATTN_EXIT_FAIL, "the plan has no rank %d", fw->seg_rank0 + s);
            forward_destroy(fw);
            return NULL;
        }
        fw->seg_off[s] = off;
        fw->seg_hs[s] = plan_rank_width(o);
        off += fw->seg_hs[s];
    }
    attn_scheme scheme = p->strategy.scheme;
    fw->cache_kv_begin = a->kv_head_begin;
    fw->cache_kv_heads = fw->NKV;
    fw->att_q_begin = a->head_begin;
    fw->att_nq = fw->NQ;
    fw->k_width = fw->v_width = fw->HS;
    if (scheme == SCHEME_QK_ALLGATHER) fw->k_width = fw->D;
    if (scheme == SCHEME_HEAD_ALLTOALL) {
        fw->att_q_begin = a->a2a_head_begin;
        fw->att_nq = a->a2a_head_end - a->a2a_head_begin;
        fw->cache_kv_heads = plan_kv_range(fw->QPK, a->a2a_head_begin, a->a2a_head_end, &fw->cache_kv_begin, NULL);
        fw->k_width = fw->v_width = fw->D;
    }
    fw->query_chunk = query_chunk;
    if (fw->query_chunk <= 0) fw->query_chunk = FORWARD_DEFAULT_QUERY_CHUNK;
    if (fw->query_chunk > fw->L) fw->query_chunk = fw->L;
    fw->score_workspace = score_workspace > 0 ? score_workspace : ATTN_SCORE_WORKSPACE_DEFAULT;
    fw->attention_fused = forward_is_attention_fused(p, be, attention);
    if (fw->S > 1 && !fw->attention_fused) { /* partials over key ranges need the fused op's LSE */
        attn_error_set(err, ATTN_EXIT_BADINPUT, "the plan splits sequences (s=%d): its attention runs fused only, and %s",
                       fw->S, attention != FORWARD_ATTENTION_FUSED ? "--attention unfused was asked for"
                                                                   : "this backend has no fused attention");
        forward_destroy(fw);
        return NULL;
    }

    /* --- allocations: the tables, layer by layer, then the workspaces --- */
    fw_buf t[FW_BUFS];
    const fw_buf *bad = NULL;
    int failed = 0;
    fw->layers = calloc((size_t)(fw->n_layers ? fw->n_layers : 1), sizeof *fw->layers);
    if (!fw->layers) failed = 1;
    for (int l = 0; l < fw->n_layers && !failed; l++) {
        int n = layer_bufs(fw, &fw->layers[l], t);
        if (fw_alloc_bufs(fw, t, n, &bad) != 0) failed = 1;
        else fw_count_bufs(fw, t, n);
    }
    if (!failed) {
        /* the fused op keeps its tiles in the backend: no score block here */
        int n = forward_bufs(fw, fw->attention_fused ? 1 : score_block_elems(fw), t);
        if (fw_alloc_bufs(fw, t, n, &bad) != 0) failed = 1;
        else fw_count_bufs(fw, t, n);
    }
    if (fw->be->dtype == DTYPE_FP32) fw->probs = fw->scores;
    if (!failed && m->qkv_bias) be->fill(be->ctx, fw->ones, fw_rows(fw), 1.0f);
    if (failed) {
        if (bad)
            attn_error_set(err, ATTN_EXIT_FAIL, "rank %d: %s backend could not allocate %s (%zu bytes)", rank, be->name,
                           bad->name, fw_buf_bytes(fw, bad));
        else
            attn_error_set(err, ATTN_EXIT_FAIL, "rank %d: out of memory for the layer table", rank);
        forward_destroy(fw);
        return NULL;
    }

    /* --- weights --- */
    size_t C = (size_t)fw->C;
    size_t largest = max_size(max_size((size_t)fw->NQ, (size_t)fw->NKV) * fw->HS * C, (size_t)fw->F * C);
    largest = max_size(largest, C);
    loader ld = {.fw = fw, .ws = ws, .err = err};
    ld.host = malloc(largest * sizeof(float));
    ld.tmp = malloc(largest * sizeof(float));
    if (!ld.host || !ld.tmp) {
        attn_error_set(err, ATTN_EXIT_FAIL, "out of memory staging weights");
        ld.failed = 1;
    }
    for (int l = 0; l < fw->n_layers && !ld.failed; l++)
        if (load_layer(&ld, a->layer_begin + l, &fw->layers[l]) != 0) ld.failed = 1;
    free(ld.host);
    free(ld.tmp);
    if (ld.failed || fw_ends_create(fw, ws, err) != 0) {
        forward_destroy(fw);
        return NULL;
    }
    return fw;
}

/* count elements of buf from a seeded tile of at most 1 Mi elements, uploaded once and then
 * doubled on the backend (copy2d of the filled prefix): a host generator over a whole
 * activation buffer of a large plan would take minutes */
static int fill_seeded(attn_forward *fw, attn_ptr buf, size_t count, uint64_t seed, const char *name) {
    attn_backend *be = fw->be;
    if (!buf.addr || count == 0) return 0;
    size_t tile = count < ((size_t)1 << 20) ? count : ((size_t)1 << 20);
    float *host = malloc(tile * sizeof *host);
    if (!host) {
        fprintf(stderr, "%s:%d: error: rank %d: out of memory for a random fill\n", __FILE__, __LINE__, fw->rank);
        return -1;
    }
    tensor_random tr = tensor_random_init(seed, name, 0);
    for (size_t i = 0; i < tile; i++) host[i] = (float)tensor_random_at(&tr, i);
    int rc = be->upload(be->ctx, buf, host, tile);
    free(host);
    if (rc != 0) return -1;
    for (size_t done = tile; done < count;) {
        size_t n = count - done < done ? count - done : done;
        be->copy2d(be->ctx, fw_at(fw, buf, done), n, buf, n, 1, n);
        done += n;
    }
    be->synchronize(be->ctx);
    return 0;
}

int forward_fill_skipped_receives(attn_forward *fw, uint64_t seed) {
    /* the names only key the generator: distinct streams for the two buffers */
    if (!forward_is_first_stage(fw) && fill_seeded(fw, fw->x, fw_rows(fw) * fw->C, seed, "rank_share.pipe_recv") != 0)
        return -1;
    if (fw->recv_buf.addr) {
        fw_buf t[FW_BUFS];
        int n = forward_bufs(fw, 0, t);
        for (int i = 0; i < n; i++) /* recv_buf's size as allocated, from the table */
            if (t[i].slot == &fw->recv_buf && fill_seeded(fw, fw->recv_buf, t[i].elems, seed, "rank_share.coll_recv") != 0)
                return -1;
    }
    return 0;
}

void forward_destroy(attn_forward *fw) {
    if (!fw) return;
    fw_graph_release(fw);
    fw_buf t[FW_BUFS];
    if (fw->layers)
        for (int l = 0; l < fw->n_layers; l++) fw_free_bufs(fw, t, layer_bufs(fw, &fw->layers[l], t));
    fw_free_bufs(fw, t, forward_bufs(fw, 0, t));
    fw_ends_destroy(fw);
    free(fw->layers);
    free(fw->seg_off);
    free(fw->seg_hs);
    free(fw);
}

int forward_is_first_stage(const attn_forward *fw) { return fw->me->stage == 0; }
int forward_is_last_stage(const attn_forward *fw) { return fw->me->stage == fw->plan->strategy.pp - 1; }

/* One block on x[N, C]: nseq sequences of T rows at positions pos0.., cache rows seq0.. */
static void layer_forward(attn_forward *fw, fwd_layer *ly, int N, int nseq, int T, int pos0, int seq0) {
    attn_backend *be = fw->be;
    void *bc = be->ctx;
    const attn_model *m = &fw->plan->model;
    int C = fw->C, QW = fw->NQ * fw->HS, KW = fw->NKV * fw->HS;
    float eps = (float)m->norm_eps;
    size_t NC = (size_t)N * C;
    /* the all-reduces of o_proj and the MLP: over the slice's n*m ranks, or all s*n*m of
     * the stage when the weights are sharded over the sequence axis */
    attn_group_kind tp = fw->sharded ? GROUP_SHARD : GROUP_STAGE;
    int per_stage = fw->sharded ? strategy_stage_devices(&fw->plan->strategy) : fw->plan->strategy.n * fw->plan->strategy.m;
    /* the attention's rows: every row, except a sharded prefill's (N = every position),
     * which re-shards to the slice's own rows around the attention */
    int Ta = fw->sharded && fw->phase == PHASE_PREFILL ? fw->TL : T, Na = nseq * Ta;
    int QWp = fw->pq1 - fw->pq0, KWp = fw->pk1 - fw->pk0, Wp = QWp + 2 * KWp;

    OP(OP_NORM1, m->arch == ARCH_GPT ? be->layernorm(bc, fw->xn, fw->x, ly->norm1_w, ly->norm1_b, N, C, eps)
                                     : be->rmsnorm(bc, fw->xn, fw->x, ly->norm1_w, N, C, eps));
    if (fw->sharded) {
        OP(OP_QKV_PROJ, { /* this slice's columns of every token, side by side in qkv_p */
            if (QWp) fw_gemm(fw, OP_QKV_PROJ, 0, 1, N, QWp, C, 1.0f, fw->xn, C, 0, ly->wq, C, 0, 0.0f, fw->qkv_p, Wp, 0, 1);
            if (KWp) {
                fw_gemm(fw, OP_QKV_PROJ, 0, 1, N, KWp, C, 1.0f, fw->xn, C, 0, ly->wk, C, 0, 0.0f, fw_at(fw, fw->qkv_p, QWp), Wp, 0, 1);
                fw_gemm(fw, OP_QKV_PROJ, 0, 1, N, KWp, C, 1.0f, fw->xn, C, 0, ly->wv, C, 0, 0.0f, fw_at(fw, fw->qkv_p, QWp + KWp), Wp,
                        0, 1);
            }
            if (m->qkv_bias) { /* the biases: ones[N] x bias[cols] added (K = 1) */
                if (QWp) fw_gemm(fw, OP_QKV_PROJ, 0, 0, N, QWp, 1, 1.0f, fw->ones, 1, 0, ly->bq, QWp, 0, 1.0f, fw->qkv_p, Wp, 0, 1);
                if (KWp) {
                    fw_gemm(fw, OP_QKV_PROJ, 0, 0, N, KWp, 1, 1.0f, fw->ones, 1, 0, ly->bk, KWp, 0, 1.0f,
                            fw_at(fw, fw->qkv_p, QWp), Wp, 0, 1);
                    fw_gemm(fw, OP_QKV_PROJ, 0, 0, N, KWp, 1, 1.0f, fw->ones, 1, 0, ly->bv, KWp, 0, 1.0f,
                            fw_at(fw, fw->qkv_p, QWp + KWp), Wp, 0, 1);
                }
            }
        });
        OP(OP_ATTN_COMM, seq_shard_in(fw, nseq));
    } else {
        OP(OP_QKV_PROJ, {
            fw_gemm(fw, OP_QKV_PROJ, 0, 1, N, QW, C, 1.0f, fw->xn, C, 0, ly->wq, C, 0, 0.0f, fw->q, QW, 0, 1);
            fw_gemm(fw, OP_QKV_PROJ, 0, 1, N, KW, C, 1.0f, fw->xn, C, 0, ly->wk, C, 0, 0.0f, fw->k, KW, 0, 1);
            fw_gemm(fw, OP_QKV_PROJ, 0, 1, N, KW, C, 1.0f, fw->xn, C, 0, ly->wv, C, 0, 0.0f, fw->v, KW, 0, 1);
            if (m->qkv_bias) { /* the biases: ones[N] x bias[cols] added (K = 1) */
                fw_gemm(fw, OP_QKV_PROJ, 0, 0, N, QW, 1, 1.0f, fw->ones, 1, 0, ly->bq, QW, 0, 1.0f, fw->q, QW, 0, 1);
                fw_gemm(fw, OP_QKV_PROJ, 0, 0, N, KW, 1, 1.0f, fw->ones, 1, 0, ly->bk, KW, 0, 1.0f, fw->k, KW, 0, 1);
                fw_gemm(fw, OP_QKV_PROJ, 0, 0, N, KW, 1, 1.0f, fw->ones, 1, 0, ly->bv, KW, 0, 1.0f, fw->v, KW, 0, 1);
            }
        });
    }
    if (m->qk_norm) /* whole heads (m = 1, plan rule): each head of q and k RMS-normalized in place */
        OP(OP_NORM1, {
            be->rmsnorm(bc, fw->q, fw->q, ly->q_norm, Na * fw->NQ, fw->HS, eps);
            be->rmsnorm(bc, fw->k, fw->k, ly->k_norm, Na * fw->NKV, fw->HS, eps);
        });
    if (m->arch == ARCH_LLAMA) /* the rank's pair range: dims [b,e) and [b+D/2, e+D/2) */
        OP(OP_ROPE, {
            if (fw->step_graph) { /* a recorded decode step: the position from the step slots */
                be->rope_step(bc, fw->q, N, T, fw->NQ, fw->HS, fw->me->dim_begin[0], fw->D, (float)m->rope_theta);
                be->rope_step(bc, fw->k, N, T, fw->NKV, fw->HS, fw->me->dim_begin[0], fw->D, (float)m->rope_theta);
            } else if (fw->S > 1 && fw->phase == PHASE_PREFILL) { /* each chunk block at its positions */
                for (int c = 0, row = 0; c < 2; row += nseq * (fw->seq_e[c] - fw->seq_b[c]), c++) {
                    int len = fw->seq_e[c] - fw->seq_b[c];
                    if (!len) continue;
                    be->rope(bc, fw_at(fw, fw->q, (size_t)row * QW), nseq * len, len, fw->NQ, fw->HS, fw->seq_b[c],
                             fw->me->dim_begin[0], fw->D, (float)m->rope_theta);
                    be->rope(bc, fw_at(fw, fw->k, (size_t)row * KW), nseq * len, len, fw->NKV, fw->HS, fw->seq_b[c],
                             fw->me->dim_begin[0], fw->D, (float)m->rope_theta);
                }
            } else {
                be->rope(bc, fw->q, Na, Ta, fw->NQ, fw->HS, pos0, fw->me->dim_begin[0], fw->D, (float)m->rope_theta);
                be->rope(bc, fw->k, Na, Ta, fw->NKV, fw->HS, pos0, fw->me->dim_begin[0], fw->D, (float)m->rope_theta);
            }
        });
    if (fw->nan_fill) be->fill(bc, fw->att, (size_t)Na * QW, NAN);
    attention_forward(fw, ly, Na, nseq, Ta, pos0, seq0);
    if (fw->sharded) {
        OP(OP_ATTN_COMM, seq_shard_out(fw, nseq));
        if (QWp)
            OP(OP_O_PROJ, fw_gemm(fw, OP_O_PROJ, 0, 1, N, C, QWp, 1.0f, fw->att_p, QWp, 0, ly->wo, QWp, 0, 0.0f, fw->proj, C, 0, 1));
        else /* no o_proj column on this slice: zeros to the all-reduce */
            OP(OP_O_PROJ, be->fill(bc, fw->proj, NC, 0.0f));
    } else {
        OP(OP_O_PROJ, fw_gemm(fw, OP_O_PROJ, 0, 1, N, C, QW, 1.0f, fw->att, QW, 0, ly->wo, QW, 0, 0.0f, fw->proj, C, 0, 1));
    }
    OP(OP_O_PROJ_ALLREDUCE, {
        fw->comm->allreduce_sum(fw->comm, tp, fw->proj, NC);
        fw_comm_bytes(fw, OP_O_PROJ_ALLREDUCE, fw_allreduce_elems(NC, per_stage), fw->be->elem_bytes);
    });
    OP(OP_RESIDUAL1, be->residual(bc, fw->x, fw->x, fw->proj, NC));
    OP(OP_NORM2, m->arch == ARCH_GPT ? be->layernorm(bc, fw->xn, fw->x, ly->norm2_w, ly->norm2_b, N, C, eps)
                                     : be->rmsnorm(bc, fw->xn, fw->x, ly->norm2_w, N, C, eps));
    int F = fw->F;
    OP(OP_MLP_UP, {
        fw_gemm(fw, OP_MLP_UP, 0, 1, N, F, C, 1.0f, fw->xn, C, 0, ly->w_up, C, 0, 0.0f, fw->mlp_a, F, 0, 1);
        if (m->arch == ARCH_LLAMA)
            fw_gemm(fw, OP_MLP_UP, 0, 1, N, F, C, 1.0f, fw->xn, C, 0, ly->w_gate, C, 0, 0.0f, fw->mlp_b, F, 0, 1);
    });
    OP(OP_MLP_ACT, m->arch == ARCH_GPT ? be->gelu(bc, fw->mlp_a, fw->mlp_a, (size_t)N * F)
                                       : be->swiglu(bc, fw->mlp_a, fw->mlp_b, fw->mlp_a, (size_t)N * F));
    if (F > 0)
        OP(OP_MLP_DOWN, fw_gemm(fw, OP_MLP_DOWN, 0, 1, N, C, F, 1.0f, fw->mlp_a, F, 0, ly->w_down, F, 0, 0.0f, fw->proj, C, 0, 1));
    else /* an empty MLP share (uneven plans) contributes zeros to the all-reduce */
        OP(OP_MLP_DOWN, be->fill(bc, fw->proj, NC, 0.0f));
    OP(OP_MLP_ALLREDUCE, {
        fw->comm->allreduce_sum(fw->comm, tp, fw->proj, NC);
        fw_comm_bytes(fw, OP_MLP_ALLREDUCE, fw_allreduce_elems(NC, per_stage), fw->be->elem_bytes);
    });
    OP(OP_RESIDUAL2, be->residual(bc, fw->x, fw->x, fw->proj, NC));
}

typedef struct stage_rows { int nseq, T, pos0, seq0; } stage_rows;

/* The stage's device work on x: receive (not the first stage), layers, send (not the
 * last); what a decode step's graph holds (forward_graph.c). */
static void stage_body(attn_forward *fw, void *arg) {
    const stage_rows *r = arg;
    int N = r->nseq * r->T, per_stage = strategy_stage_devices(&fw->plan->strategy);
    size_t NC = (size_t)N * fw->C;
    if (!forward_is_first_stage(fw))
        OP(OP_PIPE_P2P, {
            fw->comm->recv(fw->comm, fw->x, NC, fw->rank - per_stage);
            fw_comm_bytes(fw, OP_PIPE_P2P, (double)NC, fw->be->elem_bytes);
        });
    for (int l = 0; l < fw->n_layers; l++) layer_forward(fw, &fw->layers[l], N, r->nseq, r->T, r->pos0, r->seq0);
    if (!forward_is_last_stage(fw))
        OP(OP_PIPE_P2P, {
            fw->comm->send(fw->comm, fw->x, NC, fw->rank + per_stage);
            fw_comm_bytes(fw, OP_PIPE_P2P, (double)NC, fw->be->elem_bytes);
        });
}

/* Runs nseq sequences of T rows through this stage: the input (the embedding of the token
 * ids where the model has a vocabulary, else the uploaded hidden states), the stage body,
 * the output (the LM head's logits, or the hidden states). A decode step's body runs as a
 * graph launch where forward_graph.c allows; the ends stay outside the graph (the
 * embedding's row copies depend on the step's token ids). */
static void stage_forward(attn_forward *fw, const float *input, const int32_t *ids, float *out, int nseq, int T, int pos0,
                          int seq0) {
    attn_backend *be = fw->be;
    int N = nseq * T;
    size_t NC = (size_t)N * fw->C;
    if (fw->nan_fill) be->fill(be->ctx, fw->x, NC, NAN);
    if (forward_is_first_stage(fw) && fw->ends.on) {
        fw_ends_embed(fw, ids, N);
    } else if (forward_is_first_stage(fw) && be->upload(be->ctx, fw->x, input, NC) != 0) {
        fprintf(stderr, "%s:%d: error: rank %d: input upload failed\n", __FILE__, __LINE__, fw->rank);
        fw->comm->abort(fw->comm, 1);
    }
    stage_rows rows = {nseq, T, pos0, seq0};
    if (!(fw->phase == PHASE_DECODE && fw_graph_step(fw, pos0, stage_body, &rows))) stage_body(fw, &rows);
    /* the slices' own rows (weights replicated); sharded, every rank holds every row */
    int seq_prefill = fw->S > 1 && !fw->sharded && fw->phase == PHASE_PREFILL;
    if (forward_is_last_stage(fw) && fw->ends.on) {
        /* the sequence axis: slice 0 holds each sequence's last position (the end of its
         * chunk 1, zigzag); after a decode step every slice holds the same rows */
        if (fw->me->seq == 0) {
            int len0 = fw->seq_e[0] - fw->seq_b[0];
            if (seq_prefill) fw_ends_head(fw, fw_at(fw, fw->x, (size_t)nseq * len0 * fw->C), nseq, fw->seq_e[1] - fw->seq_b[1], out);
            else fw_ends_head(fw, fw->x, nseq, T, out);
        }
    } else if (forward_is_last_stage(fw) && seq_prefill) {
        if (seq_output_hidden(fw, nseq, out) != 0) fw->comm->abort(fw->comm, 1);
    } else if (forward_is_last_stage(fw) && out) {
        be->synchronize(be->ctx);
        if (be->download(be->ctx, out, fw->x, NC) != 0) {
            fprintf(stderr, "%s:%d: error: rank %d: output download failed\n", __FILE__, __LINE__, fw->rank);
            fw->comm->abort(fw->comm, 1);
        }
    }
}

size_t forward_output_elems(const attn_plan *p, int decode) {
    const attn_model *m = &p->model;
    if (m->vocab_size > 0) return (size_t)m->vocab_size;
    return (size_t)m->hidden * (decode ? 1 : (size_t)m->workload.seq_len);
}

void forward_prefill(attn_forward *fw, const float *input, const int32_t *ids, float *out) {
    fw->phase = PHASE_PREFILL;
    size_t seq_elems = (size_t)fw->L * fw->C, out_elems = forward_output_elems(fw->plan, 0);
    /* the sequence axis: the slice's rows of each microbatch, chunk-major (seq_take_rows) */
    float *my_input = NULL;
    int32_t *my_ids = NULL;
    int first = forward_is_first_stage(fw);
    if (fw->S > 1 && !fw->sharded && first) {
        size_t rows = (size_t)fw->max_mb_rows * fw->TL;
        if (input && !(my_input = malloc(rows * fw->C * sizeof *my_input))) fw->comm->abort(fw->comm, 1);
        if (ids && !(my_ids = malloc(rows * sizeof *my_ids))) fw->comm->abort(fw->comm, 1);
    }
    for (int mb = 0, b0 = 0; mb < fw->microbatches; mb++) {
        int rows = split_count(fw->B, fw->microbatches, mb);
        const float *in = input ? input + b0 * seq_elems : NULL;
        const int32_t *id = ids ? ids + (size_t)b0 * fw->L : NULL;
        if (my_input && in) seq_take_rows(fw, in, (size_t)fw->C * sizeof *in, rows, my_input), in = my_input;
        if (my_ids && id) seq_take_rows(fw, id, sizeof *id, rows, my_ids), id = my_ids;
        stage_forward(fw, in, id, out ? out + b0 * out_elems : NULL, rows, fw->sharded ? fw->L : fw->TL, 0, b0);
        b0 += rows;
    }
    free(my_input);
    free(my_ids);
}

/* The end of a decode step with a pipeline (PLAN_TOKEN_ID_BYTES, lib/plan.h): the last
 * stage sends the step's token ids to the first, which waits for them. Without it the
 * first stage would start step t+1 while the last still runs step t, overlapping
 * consecutive tokens of the same sequences, which no server can do. The bytes travel in
 * x (the last stage's output rows are already read; the first stage's x is rewritten by
 * the next step's embedding). */
static void pipe_token_return(attn_forward *fw) {
    int pp = fw->plan->strategy.pp;
    if (pp < 2) return;
    int per_stage = strategy_stage_devices(&fw->plan->strategy), eb = fw->be->elem_bytes;
    size_t n = ((size_t)fw->B * PLAN_TOKEN_ID_BYTES + (size_t)eb - 1) / (size_t)eb;
    if (forward_is_last_stage(fw))
        OP(OP_PIPE_P2P, {
            fw->comm->send(fw->comm, fw->x, n, fw->rank - (pp - 1) * per_stage);
            fw_comm_bytes(fw, OP_PIPE_P2P, (double)n, eb);
        });
    else if (forward_is_first_stage(fw))
        OP(OP_PIPE_P2P, {
            fw->comm->recv(fw->comm, fw->x, n, fw->rank + (pp - 1) * per_stage);
            fw_comm_bytes(fw, OP_PIPE_P2P, (double)n, eb);
        });
}

void forward_decode_step(attn_forward *fw, int step, const float *input, const int32_t *ids, float *out) {
    fw->phase = PHASE_DECODE;
    stage_forward(fw, input, ids, out, fw->B, 1, fw->L + step, 0);
    pipe_token_return(fw);
}
