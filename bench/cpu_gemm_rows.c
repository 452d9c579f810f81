/* bench/cpu_gemm_rows.c: the few-row GEMM kgemm_rows_nt (kernels/kernels_cpu_gemm.h)
 * against OpenBLAS's sgemm and M sgemv calls at a decode step's shape, C[M, N] = A[M, K]
 * B[N, K]^T, one thread. The three run interleaved, rep by rep, over 16 distinct B
 * matrices (a model's weights: more than the L3 cache unless N K is small), and each
 * prints its minimum and first quartile per call. A benchmark, not a test.
 * build: cc -O2 -Ikernels bench/cpu_gemm_rows.c build/kernels/libattnkernels_cpu.a -lopenblas -lm -o cpu_gemm_rows
 * usage: ./cpu_gemm_rows N K M   (e.g. 1408 512 4) */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "kernels_cpu_gemm.h"

void openblas_set_num_threads(int num_threads);

enum { MATS = 16, REPS = 60 };

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}
static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: cpu_gemm_rows N K M (M in 1..%d)\n", KGEMM_ROWS_MAX);
        return 2;
    }
    int N = atoi(argv[1]), K = atoi(argv[2]), M = atoi(argv[3]);
    if (N < 1 || K < 1 || M < 1 || M > KGEMM_ROWS_MAX) {
        fprintf(stderr, "cpu_gemm_rows: error: N, K >= 1 and M in 1..%d\n", KGEMM_ROWS_MAX);
        return 2;
    }
    openblas_set_num_threads(1);
    float *W[MATS], *X = malloc((size_t)M * K * sizeof *X), *Y = malloc((size_t)M * N * sizeof *Y);
    if (!X || !Y) return 1;
    for (int l = 0; l < MATS; l++) {
        if (!(W[l] = malloc((size_t)N * K * sizeof *W[l]))) return 1;
        for (size_t i = 0; i < (size_t)N * K; i++) W[l][i] = rand() / (float)RAND_MAX - 0.5f;
    }
    for (size_t i = 0; i < (size_t)M * K; i++) X[i] = rand() / (float)RAND_MAX - 0.5f;
    static double t[3][REPS];
    for (int r = 0; r < REPS; r++)
        for (int v = 0; v < 3; v++) {
            double t0 = now_seconds();
            for (int l = 0; l < MATS; l++) {
                if (v == 0) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, X, K, W[l], K, 0.0f, Y, N);
                if (v == 1) kgemm_rows_nt(M, N, K, 1.0f, X, K, W[l], K, 0.0f, Y, N);
                if (v == 2)
                    for (int m = 0; m < M; m++)
                        cblas_sgemv(CblasRowMajor, CblasNoTrans, N, K, 1.0f, W[l], K, X + (size_t)m * K, 1, 0.0f,
                                    Y + (size_t)m * N, 1);
            }
            t[v][r] = (now_seconds() - t0) / MATS;
        }
    const char *name[3] = {"sgemm", "kgemm_rows_nt", "sgemv x M"};
    printf("N %d K %d M %d, per call:\n", N, K, M);
    for (int v = 0; v < 3; v++) {
        qsort(t[v], REPS, sizeof(double), cmp_double);
        printf("  %-14s min %7.1f us  q25 %7.1f us  (%.1f GB/s of B at the minimum)\n", name[v], t[v][0] * 1e6,
               t[v][REPS / 4] * 1e6, (double)N * K * sizeof(float) / t[v][0] / 1e9);
    }
    return 0;
}
