/* kernels_cpu_vec.c: the fast kernels of kernels_cpu_vec.h. Every loop is a straight
 * fp32 loop without calls, branches or float-to-int conversions, so GCC's vectorizer
 * turns it into SIMD code (built -O3 with contraction on: the top CMakeLists.txt says
 * why); reductions keep KVEC_LANES partial results in a small array, the form GCC
 * vectorizes without -ffast-math's license to reassociate.
 *
 * Instruction sets: the build must run on any x86-64 (CI and developers use "a machine
 * like" this one, but no -march=native is assumed), so each exported function is built
 * twice, for x86-64-v3 (AVX2 + FMA: Haswell and Zen onwards) and for the baseline
 * (SSE2), and the loader picks one per function once (GCC target_clones, an ifunc).
 * Other compilers and targets get the baseline build. */
#include "kernels_cpu_vec.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

/* ATTN_KVEC_NO_CLONES: the baseline build alone, so the tests check it on any machine */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && !defined(ATTN_KVEC_NO_CLONES)
#define KVEC_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define KVEC_CLONES
#endif

/* partial sums / maxima per reduction: two AVX2 vectors, four SSE ones */
enum { KVEC_LANES = 16 };

static inline float kvec_bits_to_float(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static inline uint32_t kvec_float_to_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* e^x for one element, inlined into every loop. x = k ln2 + r with k = round(x / ln2)
 * (round to nearest by adding 1.5 * 2^23: the low mantissa bits of the sum are k, read
 * as an integer, so no float-to-int conversion is needed, which NaN would make undefined),
 * r = x - k ln2 with ln2 in two parts (Cody and Waite: ln2_hi has 15 significant bits, so
 * k ln2_hi is exact for |k| <= 2^9) and e^r = 1 + r + r^2 q(r) on |r| <= ln2/2, q of
 * degree 4, fitted for minimal maximum relative error (3.9e-9 with the coefficients
 * rounded to fp32; derived by scripts/fit-exp-poly.py). 2^k is applied as 2^k1 * 2^k2
 * with k1 = k/2, both normal for k in [-150, 128], so results in the denormal range round
 * once, in the last multiply, as expf's do. */
static inline float kvec_exp1(float x) {
    const float magic = 12582912.0f; /* 1.5 * 2^23 */
    const float log2e = 1.44269504088896341f;
    const float ln2_hi = 0.693145751953125f, ln2_lo = 1.42860676533018e-06f;
    /* clamp (NaN passes both comparisons unchanged): below -104 e^x rounds to 0, above
     * 88.8 to +inf, and the clamped inputs still give exactly that */
    x = x < -104.0f ? -104.0f : x;
    x = x > 88.8f ? 88.8f : x;
    float t = x * log2e + magic;
    float kf = t - magic;
    int32_t k = (int32_t)(kvec_float_to_bits(t) - kvec_float_to_bits(magic));
    float r = x - kf * ln2_hi;
    r = r - kf * ln2_lo;
    float q = 0.001381458481773734f;
    q = q * r + 0.008368706330657005f;
    q = q * r + 0.04166838899254799f;
    q = q * r + 0.1666652113199234f;
    q = q * r + 0.4999999403953552f;
    float p = (r * r) * q + r + 1.0f;
    int32_t k1 = k / 2, k2 = k - k1;
    float s1 = kvec_bits_to_float((uint32_t)(k1 + 127) << 23);
    float s2 = kvec_bits_to_float((uint32_t)(k2 + 127) << 23);
    return p * s1 * s2;
}

KVEC_CLONES void kvec_exp(float *out, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = kvec_exp1(x[i]);
}

/* The reductions, inlined into the exported functions and the softmax (a call between
 * two exported functions would go through the dispatch each time). */
static inline float kvec_exp_sum1(float *out, const float *x, size_t n, float scale, float shift) {
    float acc[KVEC_LANES] = {0};
    size_t i = 0;
    for (; i + KVEC_LANES <= n; i += KVEC_LANES)
        for (int l = 0; l < KVEC_LANES; l++) {
            float e = kvec_exp1(x[i + l] * scale - shift);
            out[i + l] = e;
            acc[l] += e;
        }
    for (int l = 0; i < n; i++, l++) {
        float e = kvec_exp1(x[i] * scale - shift);
        out[i] = e;
        acc[l] += e;
    }
    float sum = 0.0f;
    for (int l = 0; l < KVEC_LANES; l++) sum += acc[l];
    return sum;
}

/* max of x[i] * scale */
static inline float kvec_max1(const float *x, size_t n, float scale) {
    float m[KVEC_LANES];
    for (int l = 0; l < KVEC_LANES; l++) m[l] = -INFINITY;
    size_t i = 0;
    for (; i + KVEC_LANES <= n; i += KVEC_LANES)
        for (int l = 0; l < KVEC_LANES; l++) {
            float v = x[i + l] * scale;
            m[l] = v > m[l] ? v : m[l];
        }
    for (int l = 0; i < n; i++, l++) {
        float v = x[i] * scale;
        m[l] = v > m[l] ? v : m[l];
    }
    float r = -INFINITY;
    for (int l = 0; l < KVEC_LANES; l++) r = m[l] > r ? m[l] : r;
    return r;
}

static inline void kvec_scale1(float *x, size_t n, float a) {
    for (size_t i = 0; i < n; i++) x[i] *= a;
}

KVEC_CLONES float kvec_exp_sum(float *out, const float *x, size_t n, float scale, float shift) {
    return kvec_exp_sum1(out, x, n, scale, shift);
}

KVEC_CLONES float kvec_max(const float *x, size_t n) { return kvec_max1(x, n, 1.0f); }

KVEC_CLONES void kvec_scale(float *x, size_t n, float a) { kvec_scale1(x, n, a); }

/* sum of x - c over x[0..n) in KVEC_LANES partial sums */
static inline float kvec_sum1(const float *x, size_t n, float c) {
    float acc[KVEC_LANES] = {0};
    size_t i = 0;
    for (; i + KVEC_LANES <= n; i += KVEC_LANES)
        for (int l = 0; l < KVEC_LANES; l++) acc[l] += x[i + l] - c;
    for (int l = 0; i < n; i++, l++) acc[l] += x[i] - c;
    float s = 0.0f;
    for (int l = 0; l < KVEC_LANES; l++) s += acc[l];
    return s;
}

/* sum of ((x - c) - m)^2 over x[0..n) in KVEC_LANES partial sums */
static inline float kvec_sumsq1(const float *x, size_t n, float c, float m) {
    float acc[KVEC_LANES] = {0};
    size_t i = 0;
    for (; i + KVEC_LANES <= n; i += KVEC_LANES)
        for (int l = 0; l < KVEC_LANES; l++) {
            float d = (x[i + l] - c) - m;
            acc[l] += d * d;
        }
    for (int l = 0; i < n; i++, l++) {
        float d = (x[i] - c) - m;
        acc[l] += d * d;
    }
    float s = 0.0f;
    for (int l = 0; l < KVEC_LANES; l++) s += acc[l];
    return s;
}

KVEC_CLONES void kvec_layernorm(float *out, const float *x, const float *w, const float *b, int N, int C, float eps) {
    if (C <= 0) return; /* no row element to take deviations from */
    for (int i = 0; i < N; i++) {
        const float *row = x + (size_t)i * C;
        float *dst = out + (size_t)i * C;
        /* two passes (mean, then squared deviations) as the reference: one pass of
         * sum and sum of squares would cancel for rows with a large mean. Deviations
         * are taken from the row's first element k, mean = k + m, and x - mean is
         * formed as (x - k) - m: (x - k) is exact for a row far from 0 whose spread
         * is small, where an fp32 mean itself would be off by an ulp of k, a large
         * fraction of the deviations (the reference works in double) */
        float k = row[0];
        float m = kvec_sum1(row, (size_t)C, k) / (float)C;
        float var = kvec_sumsq1(row, (size_t)C, k, m) / (float)C;
        float rstd = 1.0f / sqrtf(var + eps);
        for (int c = 0; c < C; c++) dst[c] = ((row[c] - k) - m) * rstd * w[c] + b[c];
    }
}

KVEC_CLONES void kvec_rmsnorm(float *out, const float *x, const float *w, int N, int C, float eps) {
    for (int i = 0; i < N; i++) {
        const float *row = x + (size_t)i * C;
        float *dst = out + (size_t)i * C;
        float rrms = 1.0f / sqrtf(kvec_sumsq1(row, (size_t)C, 0.0f, 0.0f) / (float)C + eps);
        for (int c = 0; c < C; c++) dst[c] = row[c] * rrms * w[c];
    }
}

KVEC_CLONES void kvec_softmax_causal(float *out, const float *s, int NH, int Tq, int Tk, int q0, float scale) {
    for (int h = 0; h < NH; h++) {
        for (int i = 0; i < Tq; i++) {
            size_t off = ((size_t)h * Tq + i) * Tk;
            const float *row = s + off;
            float *dst = out + off;
            int last = q0 + i; /* last visible key (inclusive) */
            if (last > Tk - 1) last = Tk - 1;
            size_t visible = last >= 0 ? (size_t)last + 1 : 0;
            if (visible > 0) {
                /* the reference's steps in fp32: max of row * scale, e^(row * scale - max)
                 * and its sum (>= 1: the maximum contributes e^0), then the division */
                float m = kvec_max1(row, visible, scale);
                float sum = kvec_exp_sum1(dst, row, visible, scale, m);
                kvec_scale1(dst, visible, 1.0f / sum);
            }
            for (size_t j = visible; j < (size_t)Tk; j++) dst[j] = 0.0f;
        }
    }
}

/* gelu_tanh(x) = 0.5 x (1 + tanh u) = x / (1 + e^(-2u)), since 1 + tanh u = 2 / (1 + e^(-2u)) */
KVEC_CLONES void kvec_gelu(float *out, const float *x, size_t n) {
    const float k2 = 2.0f * 0.7978845608f; /* 2 sqrt(2/pi) */
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float u2 = k2 * (v + 0.044715f * v * v * v);
        out[i] = v / (1.0f + kvec_exp1(-u2));
    }
}

KVEC_CLONES void kvec_swiglu(float *out, const float *gate, const float *up, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float g = gate[i];
        out[i] = g / (1.0f + kvec_exp1(-g)) * up[i];
    }
}

KVEC_CLONES void kvec_residual(float *out, const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}
