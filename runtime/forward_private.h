/* forward_private.h: what the forward's files share and nothing outside them needs:
 * forward.c (the blocks, the pipeline, allocation and weights) calls forward_attn.c (the
 * attention of each scheme); both call forward_ops.c (counted GEMMs and bytes, the score
 * tiling). Dependencies point that way only. */
#ifndef ATTN_FORWARD_PRIVATE_H
#define ATTN_FORWARD_PRIVATE_H
#include "forward.h"

/* The one op-timing macro: times the statements (variadic: they may contain commas) as
 * one op on the backend's timers (backend.h op_begin/op_end). Needs `fw` in scope. A
 * recorded decode step (fw->step_graph) is not timed op by op: events inside a graph
 * cannot be timed, and the step is timed whole (docs/cuda-graphs.md). */
#define OP(op, ...)                                             \
    do {                                                        \
        if (!fw->step_graph) fw->be->op_begin(fw->be->ctx, (op)); \
        __VA_ARGS__;                                            \
        if (!fw->step_graph) fw->be->op_end(fw->be->ctx, (op));   \
    } while (0)

/* forward_attn.c: the attention of one layer for each scheme, from q, k, v to att. */
void attention_forward(attn_forward *fw, fwd_layer *ly, int N, int nseq, int T, int pos0, int seq0);

/* forward_seq.c: the sequence axis (S > 1). init: the slice's chunks, the cache capacity
 * (TMAX) and the SEQ peers, before any buffer is sized (S = 1 too: TL = L). owned_steps:
 * the decode steps among the first `steps` this slice owns. attend: the attention of Q
 * (att_nq heads of width qw) of nseq sequences against every slice's keys into out:
 * a prefill (T = TL rows chunk-major at pos0 = 0) or a decode step (T = 1 at pos0). */
void seq_init(attn_forward *fw);
int seq_owned_steps(const attn_forward *fw, int steps);
void seq_attend(attn_forward *fw, fwd_layer *ly, attn_ptr Q, int qw, attn_ptr out, int nseq, int T, int pos0, int seq0);
/* prefill rows of nseq sequences (src [nseq][L] rows of row_bytes) in the slice's order:
 * chunk 0 of every sequence, then chunk 1 (dst [nseq * TL] rows) */
void seq_take_rows(const attn_forward *fw, const void *src, size_t row_bytes, int nseq, void *dst);
/* last stage, hidden states out: every slice's prefill rows of x gathered over SEQ, and
 * (out not NULL) put in position order into out [nseq][L][C]; 0 ok, -1 after printing why */
int seq_output_hidden(attn_forward *fw, int nseq, float *out);
/* weights sharded: shard_in takes this slice's projection columns of every token (qkv_p)
 * to q, k, v of the block's whole columns for the slice's own rows (prefill: an
 * all-to-all over SEQ; decode: an all-gather); shard_out takes att of the own rows to
 * att_p, this slice's o_proj input columns of every token (prefill: the all-to-all back;
 * decode: a local column copy). nseq sequences. */
void seq_shard_in(attn_forward *fw, int nseq);
void seq_shard_out(attn_forward *fw, int nseq);

/* forward_ends.c: the model's ends (fwd_ends). create: buffers and weights of this rank's
 * vocabulary shard, counted in the memory categories (0, or -1 with err set); destroy
 * frees what create made. embed: token ids [N] into x [N, C] (first stage). head: each
 * of nseq sequences' last row (of T) of x (rows [nseq*T, C]: fw->x or a chunk of it) through the final norm and the LM head, the
 * logits gathered over the stage, into out [nseq, V] host fp32 (last stage; out NULL:
 * computed, not downloaded). */
int fw_ends_create(attn_forward *fw, tensor_source *ws, attn_error *err);
void fw_ends_destroy(attn_forward *fw);
void fw_ends_embed(attn_forward *fw, const int32_t *ids, int N);
void fw_ends_head(attn_forward *fw, attn_ptr x, int nseq, int T, float *out);

/* forward_ops.c: be->gemm, counted; OP_SCORES writes C into the fp32 score buffer
 * (be->gemm_to_f32) */
void fw_gemm(attn_forward *fw, int op, int transA, int transB, int M, int N, int K, float alpha,
             attn_ptr A, int lda, long long strideA, attn_ptr B, int ldb, long long strideB, float beta,
             attn_ptr C, int ldc, long long strideC, int batch);
/* counts elements of elem_bytes each sent by this rank for an op (when counting) */
void fw_comm_bytes(attn_forward *fw, int op, double elems, size_t elem_bytes);
double fw_allreduce_elems(size_t count, int p); /* 2(p-1)/p * count */
/* forward_graph.c: runs decode step body(fw, arg) at position pos as a graph launch,
 * recording it first when no graph exists yet; 1 when it ran the step so, 0 when the
 * caller must run body itself (no graphs: backend, rule, --decode-graph off, or a failed
 * recording, which every rank agrees on). */
typedef void (*fw_graph_body)(attn_forward *fw, void *arg);
int fw_graph_step(attn_forward *fw, int pos, fw_graph_body body, void *arg);
/* drops the backend's graph of this forward (its buffers are going) */
void fw_graph_release(attn_forward *fw);
static inline attn_ptr fw_at(const attn_forward *fw, attn_ptr p, size_t elems) { return attn_ptr_at(fw->be, p, elems); }

#endif
