/* kernels_cpu_gemm.c: the few-row GEMMs of kernels_cpu_gemm.h. Register tiles in GCC's
 * vector extension (8 floats: one AVX2 register in the x86-64-v3 clone, two SSE registers
 * in the baseline), so the compiler allocates the accumulators of a whole tile to
 * registers: an auto-vectorized loop nest would reload them from memory at every step.
 * Each tile function is inlined with constant row and column counts and unrolled.
 * Built, as kernels_cpu_vec.c, once per instruction set (target_clones) with -O3 and
 * contraction on (a * b + acc as one FMA in the v3 clone). */
#include "kernels_cpu_gemm.h"
#include <string.h>

/* GCC notes that 32-byte vectors passed by value change the ABI where AVX is off: every
 * function taking one here is inlined, so no such call exists */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && !defined(ATTN_KVEC_NO_CLONES)
#define KGEMM_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define KGEMM_CLONES
#endif
#define KGEMM_INLINE static inline __attribute__((always_inline))

typedef float kgemm_v8 __attribute__((vector_size(32)));
enum { KGEMM_W = 8, KGEMM_NN_AHEAD = 8 };

KGEMM_INLINE kgemm_v8 kgemm_load(const float *p) {
    kgemm_v8 v;
    memcpy(&v, p, sizeof v); /* unaligned */
    return v;
}
KGEMM_INLINE void kgemm_store(float *p, kgemm_v8 v) { memcpy(p, &v, sizeof v); }
KGEMM_INLINE float kgemm_out(float s, float alpha, float beta, const float *c) {
    return beta == 0.0f ? alpha * s : alpha * s + beta * *c; /* beta 0: C is not read (it may hold NaN) */
}

/* r[i] = the sum of a[i]'s lanes, i < 8, in three rounds of lane pairs (14 shuffles and 7
 * adds for 8 sums, where one horizontal sum each would take about 8 operations apiece) */
KGEMM_INLINE kgemm_v8 kgemm_reduce8(const kgemm_v8 a[8]) {
    kgemm_v8 b[4], c[2];
    for (int p = 0; p < 4; p++) /* [x01 y01 x23 y23 x45 y45 x67 y67] of x = a[2p], y = a[2p+1] */
        b[p] = __builtin_shufflevector(a[2 * p], a[2 * p + 1], 0, 8, 2, 10, 4, 12, 6, 14) +
               __builtin_shufflevector(a[2 * p], a[2 * p + 1], 1, 9, 3, 11, 5, 13, 7, 15);
    for (int q = 0; q < 2; q++) /* [a0..a3 of lanes 0-3, a0..a3 of lanes 4-7] for q = 0 */
        c[q] = __builtin_shufflevector(b[2 * q], b[2 * q + 1], 0, 1, 8, 9, 4, 5, 12, 13) +
               __builtin_shufflevector(b[2 * q], b[2 * q + 1], 2, 3, 10, 11, 6, 7, 14, 15);
    return __builtin_shufflevector(c[0], c[1], 0, 1, 2, 3, 8, 9, 10, 11) +
           __builtin_shufflevector(c[0], c[1], 4, 5, 6, 7, 12, 13, 14, 15);
}

/* NT: rows [0, MR) of A against NB consecutive rows n.. of B, full K; MR * NB <= 8 */
KGEMM_INLINE void kgemm_nt_tile(int MR, int NB, int PF, int n, int K, float alpha, const float *A, int lda, const float *B,
                                int ldb, float beta, float *C, int ldc) {
    kgemm_v8 acc[8]; /* output i = row i / NB, column n + i % NB */
    for (int i = 0; i < 8; i++) acc[i] = (kgemm_v8){0};
    const float *b0 = B + (size_t)n * ldb;
    int k = 0;
    for (; k + KGEMM_W <= K; k += KGEMM_W) {
        kgemm_v8 b[4];
        for (int j = 0; j < NB; j++) b[j] = kgemm_load(b0 + (size_t)j * ldb + k);
        if (PF) /* the next tile's rows, one tile ahead (past the last row: a prefetch does not fault) */
            for (int j = 0; j < NB; j++) __builtin_prefetch(b0 + (size_t)(NB + j) * ldb + k, 0, 0);
        for (int m = 0; m < MR; m++) {
            kgemm_v8 a = kgemm_load(A + (size_t)m * lda + k);
            for (int j = 0; j < NB; j++) acc[m * NB + j] += a * b[j];
        }
    }
    kgemm_v8 r = kgemm_reduce8(acc);
    for (int i = 0; i < MR * NB; i++) {
        int m = i / NB, j = i % NB;
        float s = r[i];
        for (int t = k; t < K; t++) s += A[(size_t)m * lda + t] * b0[(size_t)j * ldb + t]; /* K past the last 8 */
        float *c = C + (size_t)m * ldc + n + j;
        *c = kgemm_out(s, alpha, beta, c);
    }
}

/* All of C, tiles of 4 rows of B: the tile's rows stream from memory once, with the first
 * two rows of A (four streams at a time keep this core's prefetchers busy: a tile of 2
 * rows of B for 4 rows of A at a time ran at half the bandwidth, 11 against 23 GB/s for
 * 1408 x 512 weights), and the further pairs of rows of A re-read them from L1. */
KGEMM_CLONES void kgemm_rows_nt(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                                float beta, float *C, int ldc) {
    if (M < 1 || M > KGEMM_ROWS_MAX) return; /* the caller's bug; the header says */
    int n = 0;
    for (; n + 4 <= N; n += 4) {
        int m = 0;
        for (; m + 2 <= M; m += 2)
            kgemm_nt_tile(2, 4, m == 0, n, K, alpha, A + (size_t)m * lda, lda, B, ldb, beta, C + (size_t)m * ldc, ldc);
        if (m < M) kgemm_nt_tile(1, 4, m == 0, n, K, alpha, A + (size_t)m * lda, lda, B, ldb, beta, C + (size_t)m * ldc, ldc);
    }
    for (; n < N; n++) /* the rows of B past the last 4 */
        for (int m = 0; m < M; m++)
            kgemm_nt_tile(1, 1, 0, n, K, alpha, A + (size_t)m * lda, lda, B, ldb, beta, C + (size_t)m * ldc, ldc);
}

/* NN: rows [0, MR) of C, columns [n, n + NV * 8), summed over all K rows of B */
KGEMM_INLINE void kgemm_nn_tile(int MR, int NV, int n, int K, float alpha, const float *A, int lda, const float *B,
                                int ldb, float beta, float *C, int ldc) {
    kgemm_v8 acc[KGEMM_ROWS_MAX][4];
    for (int m = 0; m < MR; m++)
        for (int v = 0; v < NV; v++) acc[m][v] = (kgemm_v8){0};
    for (int k = 0; k < K; k++) {
        kgemm_v8 b[4];
        for (int v = 0; v < NV; v++) b[v] = kgemm_load(B + (size_t)k * ldb + n + v * KGEMM_W);
        /* rows KGEMM_NN_AHEAD further on: B's rows are strided (a value tile's rows hold
         * every kv head), which the hardware prefetchers follow late; past the last row
         * a prefetch does not fault */
        for (int v = 0; v < NV; v += 2) __builtin_prefetch(B + (size_t)(k + KGEMM_NN_AHEAD) * ldb + n + v * KGEMM_W, 0, 0);
        for (int m = 0; m < MR; m++) {
            float s = A[(size_t)m * lda + k];
            kgemm_v8 a = {s, s, s, s, s, s, s, s};
            for (int v = 0; v < NV; v++) acc[m][v] += a * b[v];
        }
    }
    for (int m = 0; m < MR; m++)
        for (int v = 0; v < NV; v++) {
            float *c = C + (size_t)m * ldc + n + v * KGEMM_W;
            kgemm_v8 r = acc[m][v] * alpha;
            if (beta != 0.0f) r += kgemm_load(c) * beta; /* beta 0: C is not read (it may hold NaN) */
            kgemm_store(c, r);
        }
}

KGEMM_INLINE void kgemm_nn_rows(int MR, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                                float beta, float *C, int ldc) {
    int NV = MR <= 2 ? 4 : MR <= 4 ? 2 : 1, n = 0;
    if (NV == 4)
        for (; n + 4 * KGEMM_W <= N; n += 4 * KGEMM_W) kgemm_nn_tile(MR, 4, n, K, alpha, A, lda, B, ldb, beta, C, ldc);
    if (NV >= 2)
        for (; n + 2 * KGEMM_W <= N; n += 2 * KGEMM_W) kgemm_nn_tile(MR, 2, n, K, alpha, A, lda, B, ldb, beta, C, ldc);
    for (; n + KGEMM_W <= N; n += KGEMM_W) kgemm_nn_tile(MR, 1, n, K, alpha, A, lda, B, ldb, beta, C, ldc);
    for (; n < N; n++) /* the columns past the last 8 */
        for (int m = 0; m < MR; m++) {
            float s = 0.0f;
            for (int k = 0; k < K; k++) s += A[(size_t)m * lda + k] * B[(size_t)k * ldb + n];
            float *c = C + (size_t)m * ldc + n;
            *c = kgemm_out(s, alpha, beta, c);
        }
}

KGEMM_CLONES void kgemm_rows_nn(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                                float beta, float *C, int ldc) {
    switch (M) {
    case 1: kgemm_nn_rows(1, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 2: kgemm_nn_rows(2, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 3: kgemm_nn_rows(3, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 4: kgemm_nn_rows(4, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 5: kgemm_nn_rows(5, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 6: kgemm_nn_rows(6, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 7: kgemm_nn_rows(7, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 8: kgemm_nn_rows(8, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    default: break;
    }
}
