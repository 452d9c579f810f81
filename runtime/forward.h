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
    attn_ptr bq, bk, bv;    /* model qkv_bias: the biases of wq's, wk's and wv's rows */
    attn_ptr q_norm, k_norm;/* model qk_norm: [D], the per-head RMSNorm weights of q and k */
    attn_ptr k_cache, v_cache; /* [B, TMAX, cache heads, cache width] */
} fwd_layer;

/* Decode steps replayed from a backend graph (forward_graph.c; docs/cuda-graphs.md): the
 * first decode step is recorded once and every step, that one included, is one graph
 * launch, where the backend has graphs and the rule (fw_graph_step) allows; otherwise
 * every op is launched (eager), with the reason in why. */
typedef struct fw_graph {
    int wanted;             /* 1 (forward_create): replay where allowed; 0: eager (attnrun --decode-graph off) */
    int decided, usable;    /* the rule, taken at the first decode step */
    int captured;
    size_t nodes;           /* the recorded step's graph nodes (kernels, copies, collectives) */
    long long launches;     /* graph launches so far */
    char why[160];          /* not usable: why */
    /* the recorded step's counters (flops, bytes, GEMM calls per op): a replay adds them
     * when the forward counts, since the ops' calls are not made again */
    double flops[OP_COUNT], comm_bytes[OP_COUNT], gemm_calls[OP_COUNT];
    /* the fused attention's FLOPs follow the position (key tiles past it are skipped at
     * run time): a replay at position p adds attn_flops_per_pos * (p - pos) to the
     * recording's OP_ATTENTION count, pos the recorded step's position */
    int pos;
    double attn_flops_per_pos;
} fw_graph;

/* The model's ends (docs/model-contract.md; runtime/forward_ends.c), when the model has a
 * vocabulary: the embedding on the first stage, the final norm and the LM head on the last,
 * each rank holding vocabulary rows [v0, v1) of both matrices (plan_vocab_range). */
typedef struct fwd_ends {
    int on;                 /* the model has vocab_size (0: hidden states in and out) */
    int V, v0, v1;          /* vocab_size and this rank's rows */
    int P;                  /* ranks of the stage the vocabulary is split over (n x m) */
    size_t *counts;         /* per stage member: its vocabulary rows; then P entries of scratch */
    attn_ptr embed;         /* [v1-v0, C] first stage */
    attn_ptr head;          /* [v1-v0, C] last stage; = embed when tied on a one-stage rank */
    attn_ptr norm_w, norm_b;/* [C] last stage; bias for gpt */
    attn_ptr last, normed;  /* [rows, C]: each sequence's last position, then normalized */
    attn_ptr logits;        /* [rows, v1-v0] this rank's vocabulary columns */
    attn_ptr gathered;      /* P > 1: [rows, V] member-major after the all-gather */
    float *host;            /* [rows, V] staging of the gathered logits before the reorder */
} fwd_ends;

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
    /* the sequence axis (plan.h; forward_seq.c). S = 1: TL = L, one chunk [0, L). S > 1:
     * prefill rows are the slice's two zigzag chunks, chunk-major: [chunk 0 of every
     * sequence][chunk 1 of every sequence]; the cache holds the slice's prefill positions
     * (chunk 0 then chunk 1) and then the decode positions it owns (TMAX is its capacity) */
    int S;                  /* sequence slices (strategy_seq) */
    int seq_b[2], seq_e[2]; /* prefill positions [seq_b[c], seq_e[c]) of chunk c */
    int TL;                 /* prefill rows per sequence on this rank (L when S = 1) */
    int seq_rank0, seq_stride; /* world rank of SEQ member 0 and the rank step between members (n*m) */
    int seq_blk;            /* the largest slice's prefill rows per sequence (ring blocks) */
    attn_ptr kv_a, kv_b;    /* S > 1 prefill: K|V blocks (ring: current and incoming; all-gather: send and recv) */
    attn_ptr kfull, vfull;  /* all-gather: every position's K and V of the microbatch */
    attn_ptr o2;            /* a second partial O: ring passes; decode: the S gathered partials */
    attn_ptr lse, lse2;     /* fp32 log-sum-exps of att's rows and of o2's */
    attn_ptr seq_out;       /* last stage without a vocabulary: the S slices' outputs gathered */
    /* weights sharded over the sequence axis (plan.h): the token-wise parts run on every
     * position of the microbatch, the projections on this slice's columns [pq0, pq1) of the
     * block's q (and o input) columns and [pk0, pk1) of its k and v columns */
    int sharded;
    int pq0, pq1, pk0, pk1;
    attn_ptr qkv_p;         /* [tokens, q|k|v columns of this slice] */
    attn_ptr att_p;         /* [tokens, this slice's o_proj input columns] */
    attn_ptr sh_send, sh_recv; /* the re-sharding all-to-alls / all-gather */
    int M;                  /* members of the SEG group (the plan's m) */
    int seg_rank0;          /* world rank of SEG member 0 */
    int *seg_off, *seg_hs;  /* per SEG member: its dims' offset inside a gathered head, and width */
    fwd_layer *layers;
    fwd_ends ends;
    /* workspaces */
    attn_ptr x, xn, q, k, v, att, proj, mlp_a, mlp_b;
    attn_ptr scores;        /* fp32 (backend.h alloc_f32): one score block */
    attn_ptr probs;         /* its probabilities, storage type: scores itself when that is fp32 */
    attn_ptr gq, gk, gv, go, send_buf, recv_buf; /* scheme buffers (gathered / whole heads) */
    attn_ptr ones;          /* model qkv_bias: [rows] of 1, the biases added as ones x bias (one GEMM) */
    size_t bytes_weights, bytes_kv_cache, bytes_activations, bytes_comm;
    int nan_fill;           /* --check: NaN-fill outputs before they are written */
    int phase;              /* PHASE_PREFILL or PHASE_DECODE: where flops/bytes are counted */
    int counting;           /* 0: flops/bytes not counted (decode steps after the first) */
    double flops[PHASE_COUNT][OP_COUNT], comm_bytes[PHASE_COUNT][OP_COUNT];
    /* backend GEMM calls (each a kernel launch on a GPU) per op, counted like flops: what
     * the cost model's launch counts must equal (attnrun --stats) */
    double gemm_calls[PHASE_COUNT][OP_COUNT];
    fw_graph graph;         /* decode graphs (forward_graph.c) */
    int step_graph;         /* 1 while a decode step is recorded: the step's position comes from
                               the backend's step slots, the attention spans the whole cache */
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
/* Prefill of the replica's rows. input: [B, L, C] host fp32, or with a vocabulary ids:
 * [B, L] token ids (read by stage 0 only; the other may be NULL); out: [B, L, C], or with a
 * vocabulary [B, V], the logits of each sequence's last position (written by the last
 * stage only; may be NULL). */
void forward_prefill(attn_forward *fw, const float *input, const int32_t *ids, float *out);
/* Decode step `step` (0-based: position L + step). input: [B, C] host fp32 or ids [B];
 * out: [B, C] or [B, V] logits. */
void forward_decode_step(attn_forward *fw, int step, const float *input, const int32_t *ids, float *out);
/* Elements of one sequence's output: prefill L x C or V, a decode step C or V. */
size_t forward_output_elems(const attn_plan *p, int decode);
/* --rank-share: the comm skips every transfer, so what this rank would receive (the
 * previous stage's activations, the gathered or exchanged Q/K/V) never arrives. Fills
 * those receive buffers once with seeded random values in [-1, 1) so the rank computes on
 * data like the real run's rather than on zeros, which some kernels take fast paths on.
 * Later skipped receives leave the buffers as the rank's own work left them (never zero
 * again). Timings only: the values are not the plan's. 0 ok, -1 after printing why. */
int forward_fill_skipped_receives(attn_forward *fw, uint64_t seed);
/* forward_graph.c: one line on how decode steps run, for attnrun --stats: "1 graph launch
 * of N nodes" or the eager launches and why. */
void forward_graph_describe(const attn_forward *fw, char *buf, size_t len);
/* 1 when decode steps run as graph launches (decided at the first decode step) */
int forward_decode_graphed(const attn_forward *fw);
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
