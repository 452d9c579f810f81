/* kernels_cpu.h: plain fp32 CPU kernels. They are the reference every CUDA kernel and
 * every vector kernel of kernels_cpu_vec.h (the CPU backend's elementwise ops) is checked
 * against; the CPU backend runs RoPE from here. GEMMs are not here (OpenBLAS on the
 * CPU, cuBLAS on the GPU). Dimension names: N rows (tokens), C channels, T tokens,
 * NH heads, HS local head width, Tq query rows, Tk key columns. Row-major throughout. */
#ifndef ATTN_KERNELS_CPU_H
#define ATTN_KERNELS_CPU_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif

/* out[N,C] = (x - mean) / sqrt(var + eps) * w + b */
void layernorm_forward_cpu(float *out, const float *x, const float *w, const float *b, int N, int C, float eps);
/* out[N,C] = x / sqrt(mean(x^2) + eps) * w */
void rmsnorm_forward_cpu(float *out, const float *x, const float *w, int N, int C, float eps);
/* In-place RoPE on x[T, NH, HS] holding, for every head, rotation pairs
 * [pair_begin, pair_begin + HS/2) of a head of width head_dim in rotate-half layout:
 * local dim k < HS/2 pairs with local dim k + HS/2, frequency theta^(-2(pair_begin+k)/head_dim),
 * angle pos[t] * frequency. With pair_begin = 0 and HS = head_dim this is standard RoPE. */
void rope_forward_cpu(float *x, int T, int NH, int HS, const int *pos, int pair_begin, int head_dim, float theta);
/* Causal scaled softmax over scores s[NH, Tq, Tk]: query row i has absolute position q0 + i,
 * key j has position j; keys j > q0 + i get probability 0. out may alias s. */
void softmax_causal_forward_cpu(float *out, const float *s, int NH, int Tq, int Tk, int q0, float scale);
/* out[i] = gelu_tanh(x[i]) */
void gelu_forward_cpu(float *out, const float *x, size_t N);
/* out[i] = silu(gate[i]) * up[i] */
void swiglu_forward_cpu(float *out, const float *gate, const float *up, size_t N);
/* out[i] = a[i] + b[i] (out may alias a) */
void residual_forward_cpu(float *out, const float *a, const float *b, size_t N);

/* ---- Attention (the reference of the backends' fused op, runtime/backend.h
 * attention_fused / attention_merge: the same shapes, strides and conventions, on plain
 * host pointers). A block of `seqs` sequences x `heads` query heads, each (sequence, head)
 * an independent causal attention
 *     O[i, :] = softmax_j(scale * Q[i, :] . K[j, :]) V[j, :]   over keys j with k0 + j <= q0 + i,
 *     lse[i]  = log sum_j exp(scale * Q[i, :] . K[j, :]),
 * row i of query head h of sequence s at Q + s*q_seq + h*q_head + i*q_ld (O alike), its kv
 * head kv = (head0 + h) / qpk - kv_base and key row j at K + s*k_seq + kv*k_head + j*k_ld
 * (V alike). A row with no visible key gets O = 0 and lse = -inf. lse is [seqs][heads][Tq]
 * or NULL. Straight loops, dot products and sums in double. ---- */
#define ATTENTION_CPU_MAX_DIM 256
typedef struct attention_cpu_args {
    int seqs, heads, head0, qpk, kv_base;
    int Tq, Tk, q0, k0;
    int d_qk, d_v;
    float scale;
    const float *Q; size_t q_ld, q_head, q_seq;
    const float *K; size_t k_ld, k_head, k_seq;
    const float *V; size_t v_ld, v_head, v_seq;
    float *O; size_t o_ld, o_head, o_seq;
    float *lse; /* [seqs][heads][Tq], or NULL */
} attention_cpu_args;
/* 0 ok; -1 (writing nothing) when a head width is outside 1..ATTENTION_CPU_MAX_DIM or qpk < 1 */
int attention_forward_cpu(const attention_cpu_args *a);

/* Merge of two partial attentions of the same rows over disjoint key ranges, in place into
 * (O, lse): with m = max(lse, lse2), w = exp(lse - m), w2 = exp(lse2 - m),
 *     O <- (w O + w2 O2) / (w + w2),   lse <- m + log(w + w2);
 * a side with lse = -inf contributes nothing, both -inf give O = 0, lse = -inf. O and O2
 * are addressed like attention_cpu_args' O; lse and lse2 are [seqs][heads][Tq]. */
typedef struct attention_merge_cpu_args {
    int seqs, heads, Tq, d_v;
    float *O; size_t o_ld, o_head, o_seq;
    const float *O2; size_t o2_ld, o2_head, o2_seq;
    float *lse;
    const float *lse2;
} attention_merge_cpu_args;
void attention_merge_forward_cpu(const attention_merge_cpu_args *a);

#ifdef __cplusplus
}
#endif
#endif
