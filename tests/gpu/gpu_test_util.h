/* gpu_test_util.h: helpers the GPU tests share: a seeded random generator (inputs are
 * never zero-filled), host rounding to fp16/bf16 so the CPU reference sees exactly the
 * GPU's inputs, upload/download in any storage type, NaN-poisoned outputs (0xFF bytes are
 * NaN in fp16, bf16 and fp32) and the norm-relative error with per-dtype bounds.
 * Header-only, C++ (the tests are .cu files built by nvcc). */
#ifndef ATTN_GPU_TEST_UTIL_H
#define ATTN_GPU_TEST_UTIL_H
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cuda_check.h"
#include "kernels_cuda.h"

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static inline void rng_seed(uint64_t s) { g_rng = s * 0x9E3779B97F4A7C15ull + 1; }
static inline float rng_uniform(float lo, float hi) { /* xorshift64* */
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    uint64_t r = g_rng * 0x2545F4914F6CDD1Dull;
    return lo + (hi - lo) * (float)((r >> 40) * (1.0 / 16777216.0));
}
static inline void fill_random(float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) x[i] = rng_uniform(lo, hi);
}

static const char *dt_name(kc_dtype dt) { return dt == KC_FP16 ? "fp16" : dt == KC_BF16 ? "bf16" : "fp32"; }
/* Norm-relative error bounds: a few units of the storage type's rounding. */
static double dt_bound(kc_dtype dt) { return dt == KC_FP16 ? 2e-3 : dt == KC_BF16 ? 1.6e-2 : 1e-5; }

static inline float round_to(float v, kc_dtype dt) {
    if (dt == KC_FP16) return __half2float(__float2half_rn(v));
    if (dt == KC_BF16) return __bfloat162float(__float2bfloat16_rn(v));
    return v;
}
static inline void round_all(float *x, size_t n, kc_dtype dt) {
    for (size_t i = 0; i < n; i++) x[i] = round_to(x[i], dt);
}

/* Device copy of host floats in storage type dt (rounded to nearest). */
static void *dev_upload(const float *h, size_t n, kc_dtype dt) {
    size_t eb = (size_t)kc_dtype_bytes(dt);
    void *d = NULL;
    CUDA_CHECK(cudaMalloc(&d, n * eb + 16));
    void *tmp = malloc(n * eb + 16);
    for (size_t i = 0; i < n; i++) {
        if (dt == KC_FP16) ((__half *)tmp)[i] = __float2half_rn(h[i]);
        else if (dt == KC_BF16) ((__nv_bfloat16 *)tmp)[i] = __float2bfloat16_rn(h[i]);
        else ((float *)tmp)[i] = h[i];
    }
    CUDA_CHECK(cudaMemcpy(d, tmp, n * eb, cudaMemcpyHostToDevice));
    free(tmp);
    return d;
}
/* A device buffer of n elements, every byte 0xFF (NaN in each type). */
static void *dev_poisoned(size_t n, kc_dtype dt) {
    void *d = NULL;
    CUDA_CHECK(cudaMalloc(&d, n * (size_t)kc_dtype_bytes(dt) + 16));
    CUDA_CHECK(cudaMemset(d, 0xFF, n * (size_t)kc_dtype_bytes(dt) + 16));
    return d;
}
static void dev_download(float *h, const void *d, size_t n, kc_dtype dt) {
    size_t eb = (size_t)kc_dtype_bytes(dt);
    void *tmp = malloc(n * eb + 16);
    CUDA_CHECK(cudaMemcpy(tmp, d, n * eb, cudaMemcpyDeviceToHost));
    for (size_t i = 0; i < n; i++) {
        if (dt == KC_FP16) h[i] = __half2float(((const __half *)tmp)[i]);
        else if (dt == KC_BF16) h[i] = __bfloat162float(((const __nv_bfloat16 *)tmp)[i]);
        else h[i] = ((const float *)tmp)[i];
    }
    free(tmp);
}

/* ||out - ref|| / ||ref|| in double; counts non-finite outputs (unwritten NaN poison). */
static double rel_error(const float *out, const float *ref, size_t n, size_t *nonfinite) {
    double num = 0.0, den = 0.0;
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(out[i])) {
            bad++;
            continue;
        }
        double d = (double)out[i] - ref[i];
        num += d * d;
        den += (double)ref[i] * ref[i];
    }
    *nonfinite = bad;
    return den > 0.0 ? sqrt(num / den) : sqrt(num);
}

static int g_failures = 0, g_checks = 0;
/* Prints one result line; counts a failure when err exceeds bound or any output is not finite. */
static void report(const char *what, kc_dtype dt, double err, double bound, size_t nonfinite) {
    int ok = nonfinite == 0 && err <= bound && isfinite(err);
    g_checks++;
    if (!ok) g_failures++;
    printf("%-4s %-28s %-4s rel_err %.3e (bound %.1e) unwritten %zu\n", ok ? "ok" : "FAIL", what, dt_name(dt), err,
           bound, nonfinite);
}

#endif
