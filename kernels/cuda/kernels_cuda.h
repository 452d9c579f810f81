/* kernels_cuda.h: the CUDA kernels, each the GPU twin of a kernels_cpu.h function (same
 * argument order, same layouts, same dimension names: N rows, C channels, T tokens, NH
 * heads, HS local head width, Tq query rows, Tk key columns; row-major throughout).
 * Storage is fp16, bf16 or fp32 (kc_dtype, the values of attn_dtype in lib/model.h);
 * arithmetic and every reduction are fp32. Pointers are device pointers. Every function
 * enqueues on `stream` and returns the launch's cudaError_t (cudaSuccess when nothing
 * needed launching), so callers check it with file:line (cuda_check.h). */
#ifndef ATTN_KERNELS_CUDA_H
#define ATTN_KERNELS_CUDA_H
#include <stddef.h>
#include <cuda_runtime_api.h>
#ifdef __cplusplus
extern "C" {
#endif

typedef enum { KC_FP16 = 0, KC_BF16 = 1, KC_FP32 = 2 } kc_dtype;
int kc_dtype_bytes(kc_dtype t);

/* out[N,C] = (x - mean) / sqrt(var + eps) * w + b; x, w, b, out all of type dt. */
cudaError_t layernorm_forward_cuda(void *out, const void *x, const void *w, const void *b, int N, int C,
                                   float eps, kc_dtype dt, cudaStream_t stream);
/* out[N,C] = x / sqrt(mean(x^2) + eps) * w */
cudaError_t rmsnorm_forward_cuda(void *out, const void *x, const void *w, int N, int C, float eps,
                                 kc_dtype dt, cudaStream_t stream);
/* In-place RoPE on x[T, NH, HS], exactly rope_forward_cpu's contract: local dim k < HS/2
 * pairs with k + HS/2, frequency theta^(-2(pair_begin+k)/head_dim), angle pos[t]*frequency.
 * pos is a device array of T ints. */
cudaError_t rope_forward_cuda(void *x, int T, int NH, int HS, const int *pos, int pair_begin, int head_dim,
                              float theta, kc_dtype dt, cudaStream_t stream);
/* The same on a strided view: token t, head h starts at x + t*ld_t + h*ld_h (elements), so
 * q and k can be rotated where a fused QKV projection left them. */
cudaError_t rope_forward_strided_cuda(void *x, size_t ld_t, size_t ld_h, int T, int NH, int HS, const int *pos,
                                      int pair_begin, int head_dim, float theta, kc_dtype dt,
                                      cudaStream_t stream);
/* The same on contiguous x[N, NH, HS] holding sequences of T rows each: row r is at
 * position pos0 + r % T (no position array; the CUDA backend's rope op). */
cudaError_t rope_forward_seq_cuda(void *x, int N, int T, int NH, int HS, int pos0, int pair_begin, int head_dim,
                                  float theta, kc_dtype dt, cudaStream_t stream);
/* Causal scaled softmax over s[NH, Tq, Tk] (softmax_causal_forward_cpu's contract): query
 * row i is at absolute position q0 + i, key j at j; keys j > q0 + i get exactly 0. Scores
 * may be fp32 (s_dt) while the probabilities are written in another type (out_dt); out may
 * alias s only when the two types are equal. */
cudaError_t softmax_causal_forward_cuda(void *out, kc_dtype out_dt, const void *s, kc_dtype s_dt, int NH, int Tq,
                                        int Tk, int q0, float scale, cudaStream_t stream);
/* out[i] = gelu_tanh(x[i]) (out may alias x) */
cudaError_t gelu_forward_cuda(void *out, const void *x, size_t N, kc_dtype dt, cudaStream_t stream);
/* out[i] = silu(gate[i]) * up[i] (out may alias gate or up) */
cudaError_t swiglu_forward_cuda(void *out, const void *gate, const void *up, size_t N, kc_dtype dt,
                                cudaStream_t stream);
/* out[i] = a[i] + b[i] (out may alias a) */
cudaError_t residual_forward_cuda(void *out, const void *a, const void *b, size_t N, kc_dtype dt,
                                  cudaStream_t stream);
/* dst[i] = (dst_dt) src[i]: fp32 <-> fp16/bf16 (any pair; equal types copy). */
cudaError_t convert_cuda(void *dst, kc_dtype dst_dt, const void *src, kc_dtype src_dt, size_t N,
                         cudaStream_t stream);
/* dst[i] = value, rounded to dt (NaN poisons outputs before a check, 0 clears). */
cudaError_t fill_cuda(void *dst, float value, size_t N, kc_dtype dt, cudaStream_t stream);
/* Strided slice copy of a [batches, rows, cols] view (strides in elements):
 * dst[b*dst_bs + r*dst_rs + c] = src[b*src_bs + r*src_rs + c]. */
cudaError_t copy_strided_cuda(void *dst, size_t dst_bs, size_t dst_rs, const void *src, size_t src_bs,
                              size_t src_rs, int batches, int rows, int cols, kc_dtype dt, cudaStream_t stream);
/* KV-cache append: cache[B, Tmax, W] gets new_kv[B, T, W] at positions [pos0, pos0 + T)
 * of every sequence (pos0 + T <= Tmax). */
cudaError_t kv_append_cuda(void *cache, const void *new_kv, int B, int T, int pos0, int Tmax, int W, kc_dtype dt,
                           cudaStream_t stream);

/* Fused attention, the twin of the CPU backend's attention_fused: runtime/backend.h
 * attn_fused_args states the contract (causal with query positions q0.. and key positions
 * k0.., GQA by index (head0 + h) / qpk - kv_base, d_qk != d_v, O = 0 and lse = -inf for a
 * row without a visible key; lse fp32 [seqs][heads][Tq] or NULL), here with device
 * pointers. The tiles are lib/attn_tiling.h attn_fused_plan's (q_tile <= 64; k_tile 32 or
 * 64 on the tensor cores). Widths up to KC_ATTN_MAX_DIM. */
#define KC_ATTN_MAX_DIM 256
typedef struct kc_attn_args {
    int seqs, heads, head0, qpk, kv_base;
    int Tq, Tk, q0, k0;
    int d_qk, d_v;
    float scale;
    const void *Q; size_t q_ld, q_head, q_seq;
    const void *K; size_t k_ld, k_head, k_seq;
    const void *V; size_t v_ld, v_head, v_seq;
    void *O; size_t o_ld, o_head, o_seq;
    float *lse;
} kc_attn_args;
typedef struct kc_attn_tiles {
    int q_tile, k_tile;  /* query rows per thread block, key rows per step */
    int kv_splits;       /* key ranges per (sequence, head); > 1: flash-decoding */
    int split_keys;      /* keys per range */
} kc_attn_tiles;
/* fp32 elements of workspace the call needs (the key ranges' partial O and LSE); 0 when
 * kv_splits is 1 */
size_t attention_fused_cuda_workspace(const kc_attn_args *a, const kc_attn_tiles *t);
/* work: at least attention_fused_cuda_workspace floats of device memory (NULL when 0).
 * Invalid shapes, tiles or a short workspace: cudaErrorInvalidValue, nothing launched. */
cudaError_t attention_fused_cuda(const kc_attn_args *a, const kc_attn_tiles *t, float *work, size_t work_floats,
                                 kc_dtype dt, cudaStream_t stream);
/* attention_merge (runtime/backend.h attn_merge_args): (O, lse) <- the exact merge of
 * (O, lse) and (O2, lse2) over disjoint key ranges, in place; lse, lse2 fp32 [seqs][heads][Tq]. */
cudaError_t attention_merge_cuda(void *O, size_t o_ld, size_t o_head, size_t o_seq, const void *O2, size_t o2_ld,
                                 size_t o2_head, size_t o2_seq, float *lse, const float *lse2, int seqs, int heads,
                                 int Tq, int d_v, kc_dtype dt, cudaStream_t stream);
/* --- step-slot variants (runtime/cuda/backend_cuda_graph.c): the same kernels with the
 * one argument that changes from decode step to decode step read from device memory when
 * the kernel runs, so a CUDA graph captured once replays every step. --- */
/* rope_forward_seq_cuda with pos0 = *pos0_dev */
cudaError_t rope_forward_seq_dev_cuda(void *x, int N, int T, int NH, int HS, const int *pos0_dev, int pair_begin,
                                      int head_dim, float theta, kc_dtype dt, cudaStream_t stream);
/* softmax_causal_forward_cuda with q0 = *q0_dev: over a fixed Tk (a whole cache), the keys
 * after q0 + i get exactly 0, so the padded row equals the unpadded one followed by zeros */
cudaError_t softmax_causal_forward_dev_cuda(void *out, kc_dtype out_dt, const void *s, kc_dtype s_dt, int NH, int Tq,
                                            int Tk, const int *q0_dev, float scale, cudaStream_t stream);
/* copy_strided_cuda into dst + (*dst_row_dev) * dst_rs (the KV-cache append at the step's
 * position) */
cudaError_t copy_strided_at_cuda(void *dst, size_t dst_bs, size_t dst_rs, const int *dst_row_dev, const void *src,
                                 size_t src_bs, size_t src_rs, int batches, int rows, int cols, kc_dtype dt,
                                 cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif
