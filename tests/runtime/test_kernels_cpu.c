/* test_kernels_cpu.c: kernels/kernels_cpu.c against float64 formulas written out here, on
 * random (never zero) inputs with NaN-filled outputs, by relative error. RoPE is also
 * checked for what the partitioned runtime relies on: rotating a segment of pairs in the
 * local layout equals rotating the whole head and taking that segment. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "kernels_cpu.h"

static int failures = 0;
static unsigned long long rng = 88172645463325252ull;
static float urand(void) { /* xorshift64, values in [-1, 1) without exact zeros */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    float v = (float)((rng >> 11) * 0x1.0p-53 * 2.0 - 1.0);
    return v == 0.0f ? 0.5f : v;
}
static float *rand_buf(size_t n) {
    float *p = malloc(n * sizeof *p);
    if (!p) exit(1);
    for (size_t i = 0; i < n; i++) p[i] = urand();
    return p;
}
static float *nan_buf(size_t n) {
    float *p = malloc(n * sizeof *p);
    if (!p) exit(1);
    for (size_t i = 0; i < n; i++) p[i] = NAN;
    return p;
}
static void expect_close(const char *what, const float *got, const double *want, size_t n, double tol) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(got[i])) {
            printf("FAIL %s: element %zu not written\n", what, i);
            failures++;
            return;
        }
        num += (got[i] - want[i]) * (got[i] - want[i]);
        den += want[i] * want[i];
    }
    double rel = sqrt(num / (den > 0 ? den : 1));
    printf("%s %s: relative error %.2e\n", rel <= tol ? "ok  " : "FAIL", what, rel);
    if (!(rel <= tol)) failures++;
}

int main(void) {
    enum { N = 7, C = 37, T = 9, NH = 3, HD = 14 };
    double *want = malloc(4096 * sizeof *want);
    if (!want) return 1;
    /* layernorm / rmsnorm */
    float *x = rand_buf(N * C), *w = rand_buf(C), *b = rand_buf(C), *out = nan_buf(N * C);
    layernorm_forward_cpu(out, x, w, b, N, C, 1e-5f);
    for (int i = 0; i < N; i++) {
        double mu = 0, var = 0;
        for (int c = 0; c < C; c++) mu += x[i * C + c] / (double)C;
        for (int c = 0; c < C; c++) var += (x[i * C + c] - mu) * (x[i * C + c] - mu) / C;
        for (int c = 0; c < C; c++) want[i * C + c] = (x[i * C + c] - mu) / sqrt(var + 1e-5) * w[c] + b[c];
    }
    expect_close("layernorm", out, want, N * C, 1e-6);
    for (int i = 0; i < N * C; i++) out[i] = NAN;
    rmsnorm_forward_cpu(out, x, w, N, C, 1e-5f);
    for (int i = 0; i < N; i++) {
        double ms = 0;
        for (int c = 0; c < C; c++) ms += (double)x[i * C + c] * x[i * C + c] / C;
        for (int c = 0; c < C; c++) want[i * C + c] = x[i * C + c] / sqrt(ms + 1e-5) * w[c];
    }
    expect_close("rmsnorm", out, want, N * C, 1e-6);
    /* elementwise */
    float *y = rand_buf(N * C);
    for (int i = 0; i < N * C; i++) out[i] = NAN;
    gelu_forward_cpu(out, x, N * C);
    for (int i = 0; i < N * C; i++) {
        double v = x[i];
        want[i] = 0.5 * v * (1 + tanh(sqrt(2 / acos(-1.0)) * (v + 0.044715 * v * v * v)));
    }
    expect_close("gelu", out, want, N * C, 1e-6);
    for (int i = 0; i < N * C; i++) out[i] = NAN;
    swiglu_forward_cpu(out, x, y, N * C);
    for (int i = 0; i < N * C; i++) want[i] = x[i] / (1 + exp(-(double)x[i])) * y[i];
    expect_close("swiglu", out, want, N * C, 1e-6);
    for (int i = 0; i < N * C; i++) out[i] = NAN;
    residual_forward_cpu(out, x, y, N * C);
    for (int i = 0; i < N * C; i++) want[i] = (double)x[i] + y[i];
    expect_close("residual", out, want, N * C, 1e-7);

    /* causal softmax on a query block at offset q0 against Tk keys */
    int Tq = 4, Tk = 11, q0 = 6;
    float *s = rand_buf(NH * Tq * Tk), *p = nan_buf(NH * Tq * Tk);
    softmax_causal_forward_cpu(p, s, NH, Tq, Tk, q0, 0.3f);
    for (int h = 0; h < NH; h++)
        for (int i = 0; i < Tq; i++) {
            double mx = -INFINITY, sum = 0;
            const float *row = s + (h * Tq + i) * Tk;
            for (int j = 0; j <= q0 + i && j < Tk; j++) mx = fmax(mx, 0.3 * row[j]);
            for (int j = 0; j <= q0 + i && j < Tk; j++) sum += exp(0.3 * row[j] - mx);
            for (int j = 0; j < Tk; j++) want[(h * Tq + i) * Tk + j] = j <= q0 + i ? exp(0.3 * row[j] - mx) / sum : 0.0;
        }
    expect_close("softmax_causal", p, want, NH * Tq * Tk, 1e-6);
    for (int i = 0; i < NH * Tq * Tk; i++)
        if (want[i] == 0.0 && p[i] != 0.0f) {
            printf("FAIL softmax_causal: masked element %d is %g\n", i, p[i]);
            failures++;
            break;
        }

    /* RoPE: whole head against complex rotation; a pair segment against the whole head */
    float *q = rand_buf(T * NH * HD), *full = malloc(T * NH * HD * sizeof *full);
    int pos[T];
    for (int t = 0; t < T; t++) pos[t] = 3 + 2 * t;
    for (int i = 0; i < T * NH * HD; i++) full[i] = q[i];
    rope_forward_cpu(full, T, NH, HD, pos, 0, HD, 500.0f);
    for (int t = 0; t < T; t++)
        for (int h = 0; h < NH; h++)
            for (int k = 0; k < HD / 2; k++) {
                const float *v = q + (t * NH + h) * HD;
                double a = pos[t] * pow(500.0, -2.0 * k / HD);
                want[(t * NH + h) * HD + k] = v[k] * cos(a) - v[k + HD / 2] * sin(a);
                want[(t * NH + h) * HD + k + HD / 2] = v[k + HD / 2] * cos(a) + v[k] * sin(a);
            }
    expect_close("rope (whole head)", full, want, T * NH * HD, 1e-6);
    int pb = 2, pe = 5, HS = 2 * (pe - pb);           /* pairs [2,5): dims 2..4 and 9..11 */
    float *seg = malloc(T * NH * HS * sizeof *seg);
    for (int t = 0; t < T; t++)
        for (int h = 0; h < NH; h++)
            for (int k = 0; k < pe - pb; k++) {
                seg[(t * NH + h) * HS + k] = q[(t * NH + h) * HD + pb + k];
                seg[(t * NH + h) * HS + k + HS / 2] = q[(t * NH + h) * HD + pb + k + HD / 2];
            }
    rope_forward_cpu(seg, T, NH, HS, pos, pb, HD, 500.0f);
    for (int t = 0; t < T; t++)
        for (int h = 0; h < NH; h++)
            for (int k = 0; k < pe - pb; k++) {
                want[(t * NH + h) * HS + k] = full[(t * NH + h) * HD + pb + k];
                want[(t * NH + h) * HS + k + HS / 2] = full[(t * NH + h) * HD + pb + k + HD / 2];
            }
    expect_close("rope (pair segment)", seg, want, T * NH * HS, 1e-6);
    free(x); free(w); free(b); free(out); free(y); free(s); free(p); free(q); free(full); free(seg); free(want);
    printf("%s\n", failures ? "test_kernels_cpu: FAILED" : "test_kernels_cpu: all passed");
    return failures ? 1 : 0;
}
