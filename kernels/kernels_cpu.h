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

#ifdef __cplusplus
}
#endif
#endif
