/* backend.h: the compute interface attnrun's forward runs on (ggml-style: a struct of
 * function pointers plus an opaque context). Two implementations: the CPU backend
 * (fp32, OpenBLAS; backend_cpu.c) and the CUDA backend (runtime/cuda/). forward.c does
 * all the control flow and only calls what is here, so both backends share it unchanged.
 *
 * Memory: every buffer holds elements of the backend's one storage type (fp32 on the CPU;
 * fp16/bf16/fp32 on the GPU, as elem_bytes says), except the attention's score buffers,
 * which are fp32 on every backend (alloc_f32; attn_f32_at offsets them): the scores are
 * unscaled q.k sums, partial sums over a SEG group under score-allreduce, that fp16 would
 * round at long heads and could overflow, and the cost model counts them as fp32
 * (ATTN_SCORE_ELEM_BYTES). An attn_ptr is an address in backend memory (device memory on a
 * GPU); attn_ptr_at() offsets it by whole elements, so the caller never dereferences it.
 * Host data crosses only through upload/download (upload_f32/download_f32 for score buffers), always as
 * fp32. Layouts are row-major; every "ld" is a row stride in elements.
 * Dimension names: N rows (tokens), C channels, NH heads, HS local head width,
 * Tq query rows, Tk key columns, M/N/K the GEMM sizes. */
#ifndef ATTN_BACKEND_H
#define ATTN_BACKEND_H
#include <stddef.h>
#include "diag.h"
#include "model.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef struct attn_ptr { char *addr; } attn_ptr;

/* One fused attention call: a block of `seqs` sequences x `heads` query heads, each
 * (sequence, head) an independent causal attention
 *     O[i, :] = softmax_j(scale * Q[i, :] . K[j, :]) V[j, :]   over keys j with k0 + j <= q0 + i,
 *     lse[i]  = log sum_j exp(scale * Q[i, :] . K[j, :])       (natural log, fp32),
 * query row i (0 <= i < Tq) at absolute position q0 + i, key row j (0 <= j < Tk) at
 * absolute position k0 + j (k0 = 0 for a whole cache; a key range's start for a partial
 * result that attention_merge combines). A row with no visible key gets O = 0 and
 * lse = -inf. Q, K, O are in the storage type; lse is an fp32 buffer (alloc_f32) laid out
 * [seqs][heads][Tq], or null when the caller does not need it.
 * Addressing (elements): row i of query head h of sequence s is at
 *     Q + s*q_seq + h*q_head + i*q_ld,  likewise O with o_*;
 * its kv head is kv = (head0 + h) / qpk - kv_base (GQA: qpk query heads per kv head,
 * head0 the block's first query head and kv_base the cache's first kv head, both in
 * global numbering), and key row j of it is at K + s*k_seq + kv*k_head + j*k_ld (V alike
 * with v_*). So query heads that share a kv head read the same K/V, never a copy. d_qk
 * (Q and K width) may differ from d_v (V and O width): qk-allgather attends with whole
 * heads' Q and K and its own V segment. Head widths up to ATTN_FUSED_MAX_DIM. */
#define ATTN_FUSED_MAX_DIM 256
typedef struct attn_fused_args {
    int seqs, heads, head0, qpk, kv_base;
    int Tq, Tk, q0, k0;
    int d_qk, d_v;
    float scale;
    attn_ptr Q; size_t q_ld, q_head, q_seq;
    attn_ptr K; size_t k_ld, k_head, k_seq;
    attn_ptr V; size_t v_ld, v_head, v_seq;
    attn_ptr O; size_t o_ld, o_head, o_seq;
    attn_ptr lse;  /* fp32 [seqs][heads][Tq], or {NULL} */
} attn_fused_args;

/* Merge of two partial results of the same (sequence, head, row)s over disjoint key
 * ranges: with m = max(lse, lse2),
 *     O   <- (exp(lse - m) O + exp(lse2 - m) O2) / (exp(lse - m) + exp(lse2 - m)),
 *     lse <- m + log(exp(lse - m) + exp(lse2 - m)),
 * exact up to rounding; a side with lse = -inf contributes nothing (both -inf: O = 0,
 * lse = -inf). O and O2 are addressed as attn_fused_args' O (o_* and o2_* strides,
 * d_v wide), lse and lse2 are fp32 [seqs][heads][Tq]. */
typedef struct attn_merge_args {
    int seqs, heads, Tq, d_v;
    attn_ptr O;  size_t o_ld, o_head, o_seq;
    attn_ptr O2; size_t o2_ld, o2_head, o2_seq;
    attn_ptr lse, lse2;
} attn_merge_args;

/* The step slots of the decode graphs (attn_backend's set_step): the decode position
 * (context length before the step, the KV-cache row it writes, RoPE's position). */
enum { ATTN_STEP_POS = 0, ATTN_STEP_SLOTS = 4 };

typedef struct attn_backend attn_backend;
struct attn_backend {
    const char *name;      /* "cpu", "cuda" */
    void *ctx;             /* implementation state */
    attn_dtype dtype;      /* storage type of every buffer */
    size_t elem_bytes;     /* bytes per element of that type */

    /* --- memory. alloc returns {NULL} on failure (after printing why). Every backend
     * counts its live bytes and their peak (mem_stats) for the measured report. --- */
    attn_ptr (*alloc)(void *ctx, size_t count);
    /* count fp32 elements whatever the storage type (score buffers); freed with free */
    attn_ptr (*alloc_f32)(void *ctx, size_t count);
    void (*free)(void *ctx, attn_ptr p);
    void (*mem_stats)(void *ctx, size_t *bytes_in_use, size_t *bytes_peak);
    /* host fp32 <-> backend storage, count elements; 0 ok, -1 after printing why */
    int (*upload)(void *ctx, attn_ptr dst, const float *src, size_t count);
    int (*download)(void *ctx, float *dst, attn_ptr src, size_t count);
    int (*upload_f32)(void *ctx, attn_ptr dst, const float *src, size_t count); /* alloc_f32 memory */
    int (*download_f32)(void *ctx, float *dst, attn_ptr src, size_t count);
    /* dst[i] = value (NaN fills outputs before a check; 0 clears accumulators) */
    void (*fill)(void *ctx, attn_ptr dst, size_t count, float value);
    /* 2-D strided copy: rows x cols elements, dst row r at dst + r*dst_ld (no overlap).
     * KV-cache appends, gathers/scatters of head and dimension slices, packing. */
    void (*copy2d)(void *ctx, attn_ptr dst, size_t dst_ld, attn_ptr src, size_t src_ld,
                   size_t rows, size_t cols);

    /* --- GEMM, row-major, strided-batched, fp32 accumulation:
     * for i in [0,batch): C_i[M,N] = alpha * op(A_i) * op(B_i) + beta * C_i,
     * op(A_i) is M x K (A_i = A + i*strideA, stored K x M when transA), op(B_i) is K x N
     * (stored N x K when transB). A stride of 0 reuses the same matrix. --- */
    void (*gemm)(void *ctx, int transA, int transB, int M, int N, int K, float alpha,
                 attn_ptr A, int lda, long long strideA, attn_ptr B, int ldb, long long strideB,
                 float beta, attn_ptr C, int ldc, long long strideC, int batch);
    /* the same with C an fp32 buffer (alloc_f32): the attention's q.k^T into scores */
    void (*gemm_to_f32)(void *ctx, int transA, int transB, int M, int N, int K, float alpha,
                        attn_ptr A, int lda, long long strideA, attn_ptr B, int ldb, long long strideB,
                        float beta, attn_ptr C, int ldc, long long strideC, int batch);

    /* --- elementwise / normalization, same semantics as kernels/kernels_cpu.h --- */
    void (*layernorm)(void *ctx, attn_ptr out, attn_ptr x, attn_ptr w, attn_ptr b, int N, int C, float eps);
    /* rmsnorm: out may alias x (each row is read whole before it is written: qk_norm in place) */
    void (*rmsnorm)(void *ctx, attn_ptr out, attn_ptr x, attn_ptr w, int N, int C, float eps);
    /* In-place RoPE on x[N, NH, HS] (rows contiguous, row stride NH*HS). Row r is at
     * position pos0 + (r % T): N = sequences * T, every sequence starting at pos0.
     * HS/2 local rotation pairs starting at global pair pair_begin (kernels_cpu.h). */
    void (*rope)(void *ctx, attn_ptr x, int N, int T, int NH, int HS, int pos0,
                 int pair_begin, int head_dim, float theta);
    /* Causal scaled softmax over fp32 scores s[NH, Tq, Tk] (alloc_f32) into probabilities
     * out[NH, Tq, Tk] of the storage type; query row i is at absolute position q0 + i, key
     * j at position j. out may alias s only when the storage type is fp32. */
    void (*softmax_causal)(void *ctx, attn_ptr out, attn_ptr s, int NH, int Tq, int Tk, int q0, float scale);
    /* Fused attention (flash attention; kernels_cpu.h attention_forward_cpu is the reference), see
     * attn_fused_args. Never forms the Tq x Tk matrix. NULL on a backend without it: the
     * forward then runs scores / softmax / P.V. */
    void (*attention_fused)(void *ctx, const struct attn_fused_args *a);
    /* Exact merge of two partial attentions over disjoint key ranges of the same queries
     * (attn_merge_args): (O, lse) <- the attention over the union (kernels_cpu.h
     * attention_merge_forward_cpu is the reference). */
    void (*attention_merge)(void *ctx, const struct attn_merge_args *a);
    void (*gelu)(void *ctx, attn_ptr out, attn_ptr x, size_t count);
    void (*swiglu)(void *ctx, attn_ptr out, attn_ptr gate, attn_ptr up, size_t count);
    void (*residual)(void *ctx, attn_ptr out, attn_ptr a, attn_ptr b, size_t count); /* out may alias a */

    /* --- timing. synchronize waits for all queued work. op_begin/op_end bracket one op
     * (ids from metrics.h attn_op; not nested); the backend accumulates the elapsed time
     * per op (wall clock on the CPU, events on a GPU). op_times adds the totals since the
     * previous call into seconds[OP_COUNT] (after synchronizing) and restarts them. --- */
    void (*synchronize)(void *ctx);
    void (*op_begin)(void *ctx, int op);
    void (*op_end)(void *ctx, int op);
    void (*op_times)(void *ctx, double *seconds);

    /* --- decode graphs (docs/cuda-graphs.md), all NULL on a backend without them (the CPU's):
     * the forward then launches every op of every step. The values that change from one
     * decode step to the next live in the step slots, a small int array in backend memory
     * that set_step writes (stream-ordered, host values copied at the call) and the *_step
     * ops read when they run, so a step recorded once between graph_begin and graph_end
     * replays for every later step through graph_launch. Between graph_begin and
     * graph_end the ops are recorded, not run, and op_begin/op_end/synchronize/upload/
     * download must not be called. Each returns 0, or -1 after printing why. --- */
    int (*set_step)(void *ctx, const int *values, int count); /* slots [0, count) */
    /* rope with pos0 = slot ATTN_STEP_POS */
    void (*rope_step)(void *ctx, attn_ptr x, int N, int T, int NH, int HS, int pair_begin, int head_dim, float theta);
    /* softmax_causal with q0 = slot ATTN_STEP_POS */
    void (*softmax_causal_step)(void *ctx, attn_ptr out, attn_ptr s, int NH, int Tq, int Tk, float scale);
    /* attention_fused with q0 = slot ATTN_STEP_POS, read when the kernels run (a->q0 is
     * ignored). The caller passes Tk = the whole cache (TMAX rows, k0 = 0), fixed at the
     * recording: the causal mask (key k0 + j visible to query q0 + i only when
     * k0 + j <= q0 + i) hides the rows past the position, which must hold finite values
     * (zero-filled or an earlier run's K/V); key tiles wholly past the position are
     * skipped at run time, so the work follows the context, not TMAX. The tiling, and so
     * flash-decoding's key ranges, are attn_fused_plan's over Tk: ranges wholly past the
     * position give lse = -inf partials that the merge leaves out, so O and lse are the
     * eager attention_fused's over keys 0..q0 + i (within rounding; the ranges may cut
     * the keys elsewhere than an eager call over q0 + Tq keys does). NULL on a backend
     * without graphs; a forward with the fused attention then decodes eagerly. */
    void (*attention_fused_step)(void *ctx, const struct attn_fused_args *a);
    /* for s in [0, seqs): row (slot ATTN_STEP_POS) of cache + s*cache_seq (rows of `cols`
     * elements) = src + s*src_seq, cols elements: the KV-cache append at the step's position */
    void (*cache_write_step)(void *ctx, attn_ptr cache, size_t cache_seq, attn_ptr src, size_t src_seq, int seqs,
                             size_t cols);
    int (*graph_begin)(void *ctx);
    /* ends the recording and instantiates the graph (replacing a previous one); *nodes: its
     * node count (kernels, copies, collectives) */
    int (*graph_end)(void *ctx, size_t *nodes);
    int (*graph_launch)(void *ctx);
    void (*graph_reset)(void *ctx); /* drops the graph (and an open recording) */

    void (*destroy)(attn_backend *be);  /* frees ctx and be itself */
};

static inline attn_ptr attn_ptr_at(const attn_backend *be, attn_ptr p, size_t elems) {
    p.addr += elems * be->elem_bytes;
    return p;
}
static inline attn_ptr attn_f32_at(attn_ptr p, size_t elems) { /* offsets an fp32 (score) buffer */
    p.addr += elems * sizeof(float);
    return p;
}
static inline int attn_ptr_null(attn_ptr p) { return p.addr == NULL; }

/* CPU backend: fp32, GEMMs through OpenBLAS with `threads` threads (0: leave as is). */
attn_backend *attn_backend_cpu_create(int threads);
/* CUDA backend (runtime/cuda/, when built): device index `device` (-1: this process's
 * GPU, attn_backend_cuda_pick_device), storage dtype. Prints nothing: NULL on failure with the
 * reason in *err (cleared first; may be NULL), and the caller decides whether to say it
 * (`--backend cuda` does; `--backend auto` first asks attn_backend_cuda_probe and takes
 * the CPU silently when no GPU is usable). */
attn_backend *attn_backend_cuda_create(int device, attn_dtype dtype, attn_error *err);
/* The number of usable CUDA devices; 0 when none (no driver, no device, a driver older
 * than the runtime), with "CUDA backend: no usable CUDA device (why)" in *why (may be
 * NULL). Prints nothing. */
int attn_backend_cuda_probe(attn_error *why);

#ifdef __cplusplus
}
#endif
#endif
