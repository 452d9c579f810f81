/* kernels_cpu_vec.h: fast fp32 versions of the CPU backend's elementwise kernels, written
 * for the compiler's auto-vectorizer (and built with one clone per instruction set, chosen
 * at load time on x86-64). kernels_cpu.h keeps the plain loops; these are checked against
 * them element by element (tests/runtime/test_kernels_cpu_vec.c) within the bounds below.
 *
 * exp: range reduction x = k ln2 + r, |r| <= ln2/2, and a degree-6 polynomial for e^r
 * (approximation error 3.9e-9 relative, well under fp32's rounding); the result is within
 * KVEC_EXP_MAX_ULP units in the last place of libm's expf(x) for every float x (denormal
 * results included: their unit is 2^-149, and they round once, as expf's do): 0 below
 * -103.98, +inf above 88.7228, NaN for NaN.
 * The bounds of the other kernels are stated at each declaration; all follow from exp's.
 *
 * out may be the same array as an input (in place); arrays must not overlap otherwise. */
#ifndef ATTN_KERNELS_CPU_VEC_H
#define ATTN_KERNELS_CPU_VEC_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif

/* the error bound of kvec_exp in ulps, tested; measured over all 2^32 float bit patterns
 * against glibc's expf: at most 1 (docs/cpu-performance.md) */
#define KVEC_EXP_MAX_ULP 2

/* out[i] = e^x[i] */
void kvec_exp(float *out, const float *x, size_t n);
/* out[i] = e^(x[i] * scale - shift); returns the sum of out (fp32, 16 partial sums).
 * The online softmax's step: shift is the running maximum of x * scale. */
float kvec_exp_sum(float *out, const float *x, size_t n, float scale, float shift);
/* max of x[0..n), -inf for n = 0 (NaNs are not propagated) */
float kvec_max(const float *x, size_t n);
/* x[i] *= a (an online softmax rescales its output rows as the maximum grows) */
void kvec_scale(float *x, size_t n, float a);

/* The backend's ops: same contracts as the *_forward_cpu functions of kernels_cpu.h. */
/* per element within 2e-6 ((|xhat| + 1) |w| + |b|) of the exact result, xhat = (x - mean) rstd:
 * fp32 statistics in 16 partial sums, deviations taken from the row's first element */
void kvec_layernorm(float *out, const float *x, const float *w, const float *b, int N, int C, float eps);
/* per element within 2e-6 relative */
void kvec_rmsnorm(float *out, const float *x, const float *w, int N, int C, float eps);
/* per element within 2e-6 relative of the exact probabilities (1e-38 absolute near 0) */
void kvec_softmax_causal(float *out, const float *s, int NH, int Tq, int Tk, int q0, float scale);
/* gelu_tanh computed as x * sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3), the same
 * function as 0.5 x (1 + tanh u) without its cancellation for negative x: per element
 * within (1e-6 + 2^-22 |2u|) relative of the exact gelu_tanh, plus |x| 2^-127 absolute
 * (the second term is the conditioning of e^(-2u) on its fp32 argument; the last, where
 * e^(-2u) overflows to +inf and the result to -0) */
void kvec_gelu(float *out, const float *x, size_t n);
/* out[i] = silu(gate[i]) * up[i], per element within 1e-6 relative */
void kvec_swiglu(float *out, const float *gate, const float *up, size_t n);
/* out[i] = a[i] + b[i], exact (the same rounding as the plain loop) */
void kvec_residual(float *out, const float *a, const float *b, size_t n);

#ifdef __cplusplus
}
#endif
#endif
