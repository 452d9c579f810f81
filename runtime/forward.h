/* forward.h: one rank's part of the partitioned forward (prefill over the whole prompt,
 * then decode steps with a KV cache), written only against backend.h and comm.h so every
 * backend runs the same control flow. The rank's share (heads, dimension ranges, kv
 * heads, MLP columns, layers, batch rows) comes from the plan; see docs/model-contract.md
 * for the model and the layouts. */
#ifndef ATTN_FORWARD_H
#define ATTN_FORWARD_H
#include "attn_tiling.h"
#include "backend.h"
#include "comm.h"
#include "diag.h"
#include "metrics.h"
#include "plan.h"
#include "tensors.h"
#ifdef __cplusplus
extern "C" {
#endif

/* query rows per score block unless --query-chunk says otherwise: the cost model's c
 * (docs/cost-model.md), so predictions and runs do the same work */
#define FORWARD_DEFAULT_QUERY_CHUNK 1024

/* --attention: the attention core as one fused op (backend.h attention_fused) where the
 * scheme and the backend allow it, or always materialized (scores, softmax, P.V) */
typedef enum { FORWARD_ATTENTION_FUSED = 0, FORWARD_ATTENTION_UNFUSED = 1, FORWARD_ATTENTION_COUNT = 2 } forward_attention;
extern const char *const forward_attention_names[FORWARD_ATTENTION_COUNT]; /* "fused", "unfused" */

/* Whether a plan's attention runs fused on backend be under the choice: the backend has
 * attention_fused and the scheme is none, qk-allgather or head-alltoall. score-allreduce
 * never fuses: its m devices sum partial scores between the scores and the softmax. The
 * forward asks this once (attn_forward.attention_fused); the report and measure code may
 * ask it too, before or without a forward. */
int forward_is_attention_fused(const attn_plan *p, const attn_backend *be, forward_attention choice);

typedef struct fwd_layer {
    attn_ptr norm1_w, norm1_b, norm2_w, norm2_b; /* [C]; biases only for gpt */
    attn_ptr wq;            /* [NQ*HS, C]: local heads, each its local dims (range order) */
    attn_ptr wk, wv;        /* [NKV*HS, C] */
    attn_ptr wo;            /* [C, NQ*HS]: the matching input columns of o_proj */
    attn_ptr w_up, w_gate;  /* [F, C]: local MLP columns (gate for llama) */
    attn_ptr w_down;        /* [C, F] */
    attn_ptr k_cache, v_cache; /* [B, TMAX, cache heads, cache width] */
} fwd_layer;

typedef struct attn_forward {
    const attn_plan *plan;
    const attn_rank_assign *me;
    attn_backend *be;
    attn_comm *comm;
    int rank;
    /* sizes (names as in the model: C hidden, D head_dim) */
    int C, D, HS;           /* HS: local width of a head (sum of the rank's dim ranges) */
    int NQ, NKV, QPK;       /* local query heads, local kv heads, query heads per kv head */
    int F;                  /* local MLP columns */
    int n_layers;           /* layers of this stage */
    int B, L, TDEC, TMAX;   /* replica batch rows, prompt length, decode tokens, L + TDEC */
    int microbatches, max_mb_rows;
    int query_chunk;        /* query rows per score block */
    int attention_fused;    /* forward_is_attention_fused: one attention_fused call per layer and
                               microbatch (or decode step), timed as OP_ATTENTION */
    double score_workspace; /* budget of one score block in bytes (attn_tiling.h): how many
                               sequences and heads one block of a query chunk covers */
    /* KV cache geometry (scheme dependent) */
    int cache_kv_begin;     /* global kv head of cache head 0 */
    int cache_kv_heads, k_width, v_width;
    int att_q_begin, att_nq; /* query heads attention runs on (head-alltoall: whole heads) */
    int M;                  /* members of the SEG group (the plan's m) */
    int seg_rank0;          /* world rank of SEG member 0 */
    int *seg_off, *seg_hs;  /* per SEG member: its dims' offset inside a gathered head, and width */
    fwd_layer *layers;
    /* workspaces */
    attn_ptr x, xn, q, k, v, att, proj, mlp_a, mlp_b;
    attn_ptr scores;        /* fp32 (backend.h alloc_f32): one score block */
    attn_ptr probs;         /* its probabilities, storage type: scores itself when that is fp32 */
    attn_ptr gq, gk, gv, go, send_buf, recv_buf; /* scheme buffers (gathered / whole heads) */
    size_t bytes_weights, bytes_kv_cache, bytes_activations, bytes_comm;
    int nan_fill;           /* --check: NaN-fill outputs before they are written */
    int phase;              /* PHASE_PREFILL or PHASE_DECODE: where flops/bytes are counted */
    int counting;           /* 0: flops/bytes not counted (decode steps after the first) */
    double flops[PHASE_COUNT][OP_COUNT], comm_bytes[PHASE_COUNT][OP_COUNT];
    /* backend GEMM calls (each a kernel launch on a GPU) per op, counted like flops: what
     * the cost model's launch counts must equal (attnrun --stats) */
    double gemm_calls[PHASE_COUNT][OP_COUNT];
} attn_forward;

/* Allocates the rank's weights (read from ws: file shard or seeded random), KV cache and
 * workspaces. query_chunk 0 picks a size; score_workspace <= 0 the default budget
 * (ATTN_SCORE_WORKSPACE_DEFAULT); attention: --attention (the score workspace is not
 * allocated when the attention runs fused). NULL on failure with err set: kind ATTN_EXIT_BADINPUT
 * when a weight tensor is missing or malformed, ATTN_EXIT_FAIL otherwise (memory, backend). */
attn_forward *forward_create(const attn_plan *p, int rank, attn_backend *be, attn_comm *comm,
                             tensor_source *ws, int query_chunk, double score_workspace, forward_attention attention,
                             attn_error *err);
void forward_destroy(attn_forward *fw);
/* Prefill of the replica's rows. input: [B, L, C] host fp32 (read by stage 0 only);
 * out: [B, L, C] (written by the last stage only; may be NULL). */
void forward_prefill(attn_forward *fw, const float *input, float *out);
/* Decode step `step` (0-based: position L + step). input/out: [B, C] host fp32. */
void forward_decode_step(attn_forward *fw, int step, const float *input, float *out);
/* --rank-share: the comm skips every transfer, so what this rank would receive (the
 * previous stage's activations, the gathered or exchanged Q/K/V) never arrives. Fills
 * those receive buffers once with seeded random values in [-1, 1) so the rank computes on
 * data like the real run's rather than on zeros, which some kernels take fast paths on.
 * Later skipped receives leave the buffers as the rank's own work left them (never zero
 * again). Timings only: the values are not the plan's. 0 ok, -1 after printing why. */
int forward_fill_skipped_receives(attn_forward *fw, uint64_t seed);
int forward_is_first_stage(const attn_forward *fw);
int forward_is_last_stage(const attn_forward *fw);

/* The score blocks of an attention call over nseq sequences (attn_tiling.h), the same
 * call the cost model makes: prefill blocks of query_chunk rows against L keys, decode
 * (decode != 0) blocks of one row against TMAX keys (every step the same blocks). */
void fw_tiling(const attn_forward *fw, int nseq, int decode, attn_tiling *t);

#ifdef __cplusplus
}
#endif
#endif
