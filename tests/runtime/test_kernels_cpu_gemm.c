/* test_kernels_cpu_gemm.c: the few-row GEMMs of kernels/kernels_cpu_gemm.h against a
 * plain double-accumulating loop, every element of C, within the header's bound
 * 2^-22 (K / 8 + 4) sum_k |alpha a b| + 2^-23 |beta c|, and the bound is not vacuous: each
 * case's largest error is also printed against it. Inputs random in (-1, 1), never zero,
 * alpha and beta not 1; all M = 1..KGEMM_ROWS_MAX, N and K on and off the 8-lane and tile
 * multiples, leading dimensions wider than the rows; C prefilled with random values (beta
 * != 0) or NaN (beta = 0, which must not read C); the elements of C beside each row (ldc
 * > N) must stay untouched. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernels_cpu_gemm.h"

static int failures = 0;
static unsigned long long rng = 0x2545F4914F6CDD1Dull;
static double urand01(void) { /* xorshift64, uniform in (0, 1) */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return ((rng >> 11) + 0.5) * 0x1.0p-53;
}
static float urand_signed(void) {
    float v = (float)(2.0 * urand01() - 1.0);
    return v == 0.0f ? 0.5f : v;
}
static float *alloc_floats(size_t n) {
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) {
        fprintf(stderr, "test_kernels_cpu_gemm: out of memory\n");
        exit(1);
    }
    return p;
}

/* one case: nn = 0 for C = alpha A B^T + beta C (B [N, K]), 1 for alpha A B + beta C (B [K, N]) */
static void check(int nn, int M, int N, int K, float alpha, float beta) {
    int lda = K + 3, ldb = (nn ? N : K) + 5, ldc = N + 2, brows = nn ? K : N;
    float *A = alloc_floats((size_t)M * lda), *B = alloc_floats((size_t)brows * ldb);
    float *C = alloc_floats((size_t)M * ldc), *C0 = alloc_floats((size_t)M * ldc);
    for (size_t i = 0; i < (size_t)M * lda; i++) A[i] = urand_signed();
    for (size_t i = 0; i < (size_t)brows * ldb; i++) B[i] = urand_signed();
    for (size_t i = 0; i < (size_t)M * ldc; i++) C0[i] = (beta == 0.0f && (int)(i % ldc) < N) ? NAN : urand_signed();
    memcpy(C, C0, (size_t)M * ldc * sizeof *C);
    (nn ? kgemm_rows_nn : kgemm_rows_nt)(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    double worst = 0.0; /* largest error / bound */
    int bad = 0;
    for (int m = 0; m < M; m++)
        for (int n = 0; n < ldc; n++) {
            size_t at = (size_t)m * ldc + n;
            if (n >= N) { /* beside the row: untouched */
                if (memcmp(&C[at], &C0[at], sizeof *C) != 0) bad++;
                continue;
            }
            double exact = 0.0, mag = 0.0;
            for (int k = 0; k < K; k++) {
                double p = (double)A[(size_t)m * lda + k] * (nn ? B[(size_t)k * ldb + n] : B[(size_t)n * ldb + k]);
                exact += p;
                mag += fabs(p);
            }
            double c0 = beta == 0.0f ? 0.0 : (double)C0[at];
            exact = alpha * exact + beta * c0;
            double bound = 0x1.0p-22 * (K / 8 + 4) * fabs(alpha) * mag + 0x1.0p-23 * fabs(beta * c0) + 1e-30;
            double err = fabs((double)C[at] - exact);
            if (!(err <= bound)) bad++; /* NaN fails */
            if (err / bound > worst) worst = err / bound;
        }
    char what[96];
    snprintf(what, sizeof what, "kgemm_rows_%s M %d N %d K %d alpha %g beta %g", nn ? "nn" : "nt", M, N, K, alpha, beta);
    printf("%s %s: %d bad elements, largest error %.3f of the bound\n", bad ? "FAIL" : "ok  ", what, bad, worst);
    if (bad) failures++;
    free(A);
    free(B);
    free(C);
    free(C0);
}

int main(void) {
    const int Ns[] = {1, 3, 8, 9, 17, 64, 70}, Ks[] = {1, 7, 8, 64, 67, 512};
    for (int nn = 0; nn <= 1; nn++)
        for (int M = 1; M <= KGEMM_ROWS_MAX; M++)
            for (size_t i = 0; i < sizeof Ns / sizeof *Ns; i++)
                for (size_t j = 0; j < sizeof Ks / sizeof *Ks; j++) {
                    check(nn, M, Ns[i], Ks[j], 0.7f, 0.0f);
                    if ((i + j) % 2 == 0) check(nn, M, Ns[i], Ks[j], -1.3f, 0.6f);
                }
    /* the shapes the backend runs: decode projections (M = batch) and attention tiles */
    check(0, 4, 1408, 512, 1.0f, 0.0f);
    check(0, 4, 512, 1408, 1.0f, 0.0f);
    check(0, 4, 256, 64, 0.125f, 0.0f);
    check(1, 4, 64, 256, 1.0f, 1.0f);
    printf("%s\n", failures ? "test_kernels_cpu_gemm: FAILED" : "test_kernels_cpu_gemm: all passed");
    return failures ? 1 : 0;
}
