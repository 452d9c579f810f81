/* kernels_cpu.c: the plain fp32 CPU kernels declared in kernels_cpu.h. Straight loops
 * that read like the math: they are the reference the CUDA kernels and the CPU
 * backend's vector kernels (kernels_cpu_vec.c) are tested against. Statistics (mean,
 * variance, softmax sums) accumulate in double; the per-element transcendentals are fp32
 * (expf, tanhf), at fp32's own precision. */
#include "kernels_cpu.h"
#include <math.h>

void layernorm_forward_cpu(float *out, const float *x, const float *w, const float *b, int N, int C, float eps) {
    for (int i = 0; i < N; i++) {
        const float *row = x + (size_t)i * C;
        float *dst = out + (size_t)i * C;
        double mean = 0.0;
        for (int c = 0; c < C; c++) mean += row[c];
        mean /= C;
        double var = 0.0;
        for (int c = 0; c < C; c++) {
            double dev = row[c] - mean;
            var += dev * dev;
        }
        var /= C;
        double rstd = 1.0 / sqrt(var + eps);
        for (int c = 0; c < C; c++) dst[c] = (float)((row[c] - mean) * rstd * w[c] + b[c]);
    }
}

void rmsnorm_forward_cpu(float *out, const float *x, const float *w, int N, int C, float eps) {
    for (int i = 0; i < N; i++) {
        const float *row = x + (size_t)i * C;
        float *dst = out + (size_t)i * C;
        double sumsq = 0.0;
        for (int c = 0; c < C; c++) sumsq += (double)row[c] * row[c];
        double rrms = 1.0 / sqrt(sumsq / C + eps);
        for (int c = 0; c < C; c++) dst[c] = (float)(row[c] * rrms * w[c]);
    }
}

void rope_forward_cpu(float *x, int T, int NH, int HS, const int *pos, int pair_begin, int head_dim, float theta) {
    int half = HS / 2;  /* local rotation pairs: local k pairs with local k + half */
    for (int k = 0; k < half; k++) {
        double freq = pow((double)theta, -2.0 * (pair_begin + k) / head_dim);
        for (int t = 0; t < T; t++) {
            double angle = (double)pos[t] * freq; /* one angle per (pair, position), all heads */
            double c = cos(angle), s = sin(angle);
            for (int h = 0; h < NH; h++) {
                float *v = x + ((size_t)t * NH + h) * HS;
                double x1 = v[k], x2 = v[k + half];
                v[k] = (float)(x1 * c - x2 * s);
                v[k + half] = (float)(x2 * c + x1 * s);
            }
        }
    }
}

void softmax_causal_forward_cpu(float *out, const float *s, int NH, int Tq, int Tk, int q0, float scale) {
    for (int h = 0; h < NH; h++) {
        for (int i = 0; i < Tq; i++) {
            size_t off = ((size_t)h * Tq + i) * Tk;
            const float *row = s + off;
            float *dst = out + off;
            int last = q0 + i;  /* last visible key (inclusive) */
            if (last > Tk - 1) last = Tk - 1;
            float maxv = -INFINITY;
            for (int j = 0; j <= last; j++) {
                float v = row[j] * scale;
                if (v > maxv) maxv = v;
            }
            double sum = 0.0;
            for (int j = 0; j <= last; j++) {
                float e = expf(row[j] * scale - maxv); /* fp32 exp: the hot loop; the sum stays double */
                dst[j] = e;
                sum += e;
            }
            /* sum >= 1 whenever a key is visible (the max contributes exp(0)); a row with
             * no visible key (q0 + i < 0) is all zeros rather than 0/0. */
            double inv = sum > 0.0 ? 1.0 / sum : 0.0;
            for (int j = 0; j <= last; j++) dst[j] = (float)(dst[j] * inv);
            for (int j = last + 1 > 0 ? last + 1 : 0; j < Tk; j++) dst[j] = 0.0f; /* q0 + i may be < -1 */
        }
    }
}

void gelu_forward_cpu(float *out, const float *x, size_t N) {
    const float k = 0.7978845608f; /* sqrt(2/pi) */
    for (size_t i = 0; i < N; i++) {
        float v = x[i];
        out[i] = 0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v)));
    }
}

void swiglu_forward_cpu(float *out, const float *gate, const float *up, size_t N) {
    for (size_t i = 0; i < N; i++) {
        float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

void residual_forward_cpu(float *out, const float *a, const float *b, size_t N) {
    for (size_t i = 0; i < N; i++) out[i] = a[i] + b[i];
}

int attention_forward_cpu(const attention_cpu_args *a) {
    if (a->d_qk < 1 || a->d_qk > ATTENTION_CPU_MAX_DIM || a->d_v < 1 || a->d_v > ATTENTION_CPU_MAX_DIM || a->qpk < 1)
        return -1;
    double acc[ATTENTION_CPU_MAX_DIM];
    for (int s = 0; s < a->seqs; s++)
        for (int h = 0; h < a->heads; h++) {
            size_t kv = (size_t)((a->head0 + h) / a->qpk - a->kv_base);
            const float *K = a->K + (size_t)s * a->k_seq + kv * a->k_head;
            const float *V = a->V + (size_t)s * a->v_seq + kv * a->v_head;
            for (int i = 0; i < a->Tq; i++) {
                const float *q = a->Q + (size_t)s * a->q_seq + (size_t)h * a->q_head + (size_t)i * a->q_ld;
                float *o = a->O + (size_t)s * a->o_seq + (size_t)h * a->o_head + (size_t)i * a->o_ld;
                /* visible keys: j < vis (k0 + j <= q0 + i) */
                long long last = (long long)a->q0 + i - a->k0;
                int vis = last + 1 < a->Tk ? (int)(last + 1 > 0 ? last + 1 : 0) : a->Tk;
                double maxv = -INFINITY;
                for (int j = 0; j < vis; j++) { /* first pass: the row's max, so exp never overflows */
                    const float *k = K + (size_t)j * a->k_ld;
                    double dot = 0.0;
                    for (int c = 0; c < a->d_qk; c++) dot += (double)q[c] * k[c];
                    if (a->scale * dot > maxv) maxv = a->scale * dot;
                }
                for (int c = 0; c < a->d_v; c++) acc[c] = 0.0;
                double sum = 0.0;
                for (int j = 0; j < vis; j++) {
                    const float *k = K + (size_t)j * a->k_ld, *v = V + (size_t)j * a->v_ld;
                    double dot = 0.0;
                    for (int c = 0; c < a->d_qk; c++) dot += (double)q[c] * k[c];
                    double p = exp(a->scale * dot - maxv);
                    sum += p;
                    for (int c = 0; c < a->d_v; c++) acc[c] += p * v[c];
                }
                /* sum >= 1 when a key is visible (the max contributes exp(0)) */
                for (int c = 0; c < a->d_v; c++) o[c] = vis > 0 ? (float)(acc[c] / sum) : 0.0f;
                if (a->lse)
                    a->lse[((size_t)s * a->heads + h) * a->Tq + i] = vis > 0 ? (float)(maxv + log(sum)) : -INFINITY;
            }
        }
    return 0;
}

void attention_merge_forward_cpu(const attention_merge_cpu_args *a) {
    for (int s = 0; s < a->seqs; s++)
        for (int h = 0; h < a->heads; h++)
            for (int i = 0; i < a->Tq; i++) {
                size_t r = ((size_t)s * a->heads + h) * a->Tq + i;
                float *o = a->O + (size_t)s * a->o_seq + (size_t)h * a->o_head + (size_t)i * a->o_ld;
                const float *o2 = a->O2 + (size_t)s * a->o2_seq + (size_t)h * a->o2_head + (size_t)i * a->o2_ld;
                double l1 = a->lse[r], l2 = a->lse2[r];
                double m = l1 > l2 ? l1 : l2;
                if (m == -INFINITY) { /* neither side saw a key */
                    for (int c = 0; c < a->d_v; c++) o[c] = 0.0f;
                    a->lse[r] = -INFINITY;
                    continue;
                }
                double w1 = exp(l1 - m), w2 = exp(l2 - m), inv = 1.0 / (w1 + w2); /* exp(-inf) = 0 */
                /* a side that saw nothing has weight 0 and is not read: its O may be anything */
                for (int c = 0; c < a->d_v; c++)
                    o[c] = (float)(((w1 > 0 ? w1 * o[c] : 0.0) + (w2 > 0 ? w2 * o2[c] : 0.0)) * inv);
                a->lse[r] = (float)(m + log(w1 + w2));
            }
}
