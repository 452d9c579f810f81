/* kernels_cpu_gemm.h: GEMMs with few rows (a decode step's M = batch, the decode attention's
 * stacked query heads), for the CPU backend. OpenBLAS's sgemm packs both operands per call,
 * so at M = 1..8 it reads and writes the weight matrix once more than the product needs;
 * these read each element of B once (prefetched one tile ahead) and keep the few rows of
 * A in L1. Row-major, fp32 accumulation in 8-lane partial sums. Measured by
 * bench/cpu_gemm_rows.c (docs/cpu-performance.md): 1408 x 512 weights from memory, M = 4,
 * 112 us against sgemm's 236; M = 1, 86 us against sgemm's 229 and sgemv's 97.
 *
 * Bound (tested, tests/runtime/test_kernels_cpu_gemm.c): every element of C within
 * 2^-22 (K / 8 + 4) sum_k |alpha a_mk b_kn| + 2^-23 |beta c| of the exact result (the usual
 * bound of a pairwise-blocked fp32 dot product: K / 8 products per lane, then the lanes). */
#ifndef ATTN_KERNELS_CPU_GEMM_H
#define ATTN_KERNELS_CPU_GEMM_H
#ifdef __cplusplus
extern "C" {
#endif

/* the most rows of A these take; the backend uses OpenBLAS beyond */
#define KGEMM_ROWS_MAX 8

/* C[m][n] = alpha sum_k A[m][k] B[n][k] + beta C[m][n] (B transposed: a weight matrix
 * [N, K] or a key tile), m < M <= KGEMM_ROWS_MAX. beta 0 ignores C's old contents. */
void kgemm_rows_nt(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta,
                   float *C, int ldc);
/* C[m][n] = alpha sum_k A[m][k] B[k][n] + beta C[m][n] (B as stored: a value tile) */
void kgemm_rows_nn(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta,
                   float *C, int ldc);

#ifdef __cplusplus
}
#endif
#endif
