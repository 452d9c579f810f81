/* reference.c: the model of docs/model-contract.md computed directly, in float64, with
 * every weight whole: pre-norm blocks, causal multi-head attention with GQA and RoPE
 * (rotate-half), LayerNorm+GELU(tanh) or RMSNorm+SwiGLU MLP. Written for clarity, not
 * speed: it only has to handle the small models of the tests. */
#include "reference.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* y[N, out] = x[N, in] · W[out, in]ᵀ */
static void linear(double *y, const double *x, const double *W, int N, int in, int out) {
    for (int i = 0; i < N; i++)
        for (int o = 0; o < out; o++) {
            double acc = 0.0;
            const double *xr = x + (size_t)i * in, *wr = W + (size_t)o * in;
            for (int k = 0; k < in; k++) acc += xr[k] * wr[k];
            y[(size_t)i * out + o] = acc;
        }
}

static void norm(double *y, const double *x, const double *w, const double *b, int N, int C, double eps, int layer_norm) {
    for (int i = 0; i < N; i++) {
        const double *r = x + (size_t)i * C;
        double mean = 0.0, var = 0.0;
        if (layer_norm) {
            for (int c = 0; c < C; c++) mean += r[c];
            mean /= C;
        }
        for (int c = 0; c < C; c++) var += (r[c] - mean) * (r[c] - mean);
        var /= C;
        for (int c = 0; c < C; c++) y[(size_t)i * C + c] = (r[c] - mean) / sqrt(var + eps) * w[c] + (b ? b[c] : 0.0);
    }
}

/* rotate-half RoPE on x[T, heads, D], position = row index */
static void rope(double *x, int T, int heads, int D, double theta) {
    for (int t = 0; t < T; t++)
        for (int h = 0; h < heads; h++) {
            double *v = x + ((size_t)t * heads + h) * D;
            for (int i = 0; i < D / 2; i++) {
                double a = t * pow(theta, -2.0 * i / D), c = cos(a), s = sin(a);
                double x1 = v[i], x2 = v[i + D / 2];
                v[i] = x1 * c - x2 * s;
                v[i + D / 2] = x2 * c + x1 * s;
            }
        }
}

static double *read_tensor(tensor_source *ws, const char *name, int ndim, long long d0, long long d1, char *err, size_t errlen) {
    long long shape[2] = {d0, d1};
    long long rows = ndim == 1 ? 1 : d0, cols = ndim == 1 ? d0 : d1;
    if (ndim == 1) shape[0] = d0;
    float *f = malloc((size_t)(rows * cols) * sizeof *f);
    double *d = malloc((size_t)(rows * cols) * sizeof *d);
    if (!f || !d || tensor_read_block(ws, name, ndim, shape, 0, rows, 0, cols, f, err, errlen) != 0) {
        if (!f || !d) snprintf(err, errlen, "reference: out of memory");
        free(f);
        free(d);
        return NULL;
    }
    for (long long i = 0; i < rows * cols; i++) d[i] = f[i];
    free(f);
    return d;
}

int reference_forward(const attn_model *m, tensor_source *ws, const float *prefill_in, const float *decode_in,
                      double *prefill_out, double *decode_out, char *err, size_t errlen) {
    int B = m->workload.batch, L = m->workload.seq_len, TD = m->workload.decode_tokens, T = L + TD;
    int C = m->hidden, H = m->heads, KVH = m->kv_heads, D = m->head_dim, FF = m->ffn_hidden, QPK = H / KVH;
    int gpt = m->arch == ARCH_GPT;
    size_t N = (size_t)B * T;
    double *x = malloc(N * C * sizeof *x), *xn = malloc(N * C * sizeof *xn), *tmp = malloc(N * C * sizeof *tmp);
    double *q = malloc(N * H * D * sizeof *q), *k = malloc(N * KVH * D * sizeof *k), *v = malloc(N * KVH * D * sizeof *v);
    double *att = malloc(N * H * D * sizeof *att), *p = malloc((size_t)T * sizeof *p);
    double *up = malloc(N * FF * sizeof *up), *gate = malloc(N * FF * sizeof *gate);
    int rc = -1;
    if (!x || !xn || !tmp || !q || !k || !v || !att || !p || !up || !gate) {
        snprintf(err, errlen, "reference: out of memory");
        goto done;
    }
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int c = 0; c < C; c++)
                x[((size_t)b * T + t) * C + c] = t < L ? prefill_in[((size_t)b * L + t) * C + c]
                                                       : decode_in[((size_t)b * TD + (t - L)) * C + c];
    for (int l = 0; l < m->layers; l++) {
        char name[256];
        double *w[16] = {0};
        const char *names[16] = {"input_layernorm.weight", "input_layernorm.bias", "self_attn.q_proj.weight",
                                 "self_attn.k_proj.weight", "self_attn.v_proj.weight", "self_attn.o_proj.weight",
                                 "post_attention_layernorm.weight", "post_attention_layernorm.bias",
                                 "mlp.up_proj.weight", "mlp.gate_proj.weight", "mlp.down_proj.weight",
                                 "self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias",
                                 "self_attn.q_norm.weight", "self_attn.k_norm.weight"};
        long long dims[16][3] = {{1, C, 0}, {1, C, 0}, {2, (long long)H * D, C}, {2, (long long)KVH * D, C},
                                 {2, (long long)KVH * D, C}, {2, C, (long long)H * D}, {1, C, 0}, {1, C, 0},
                                 {2, FF, C}, {2, FF, C}, {2, C, FF}, {1, (long long)H * D, 0}, {1, (long long)KVH * D, 0},
                                 {1, (long long)KVH * D, 0}, {1, D, 0}, {1, D, 0}};
        int bad = 0;
        for (int i = 0; i < 16 && !bad; i++) {
            if ((i == 1 || i == 7) && !gpt) continue;
            if (i == 9 && gpt) continue;
            if (i >= 11 && i <= 13 && !m->qkv_bias) continue;
            if (i >= 14 && !m->qk_norm) continue;
            snprintf(name, sizeof name, "model.layers.%d.%s", l, names[i]);
            w[i] = read_tensor(ws, name, (int)dims[i][0], dims[i][1], dims[i][2], err, errlen);
            if (!w[i]) bad = 1;
        }
        if (!bad) {
            norm(xn, x, w[0], w[1], (int)N, C, m->norm_eps, gpt);
            linear(q, xn, w[2], (int)N, C, H * D);
            linear(k, xn, w[3], (int)N, C, KVH * D);
            linear(v, xn, w[4], (int)N, C, KVH * D);
            if (m->qkv_bias) /* q, k, v projection biases (Qwen2) */
                for (size_t r = 0; r < N; r++) {
                    for (int i = 0; i < H * D; i++) q[r * H * D + i] += w[11][i];
                    for (int i = 0; i < KVH * D; i++) k[r * KVH * D + i] += w[12][i], v[r * KVH * D + i] += w[13][i];
                }
            if (m->qk_norm) { /* each head of q and k RMS-normalized over its d dims (Qwen3), before RoPE */
                norm(q, q, w[14], NULL, (int)(N * H), D, m->norm_eps, 0);
                norm(k, k, w[15], NULL, (int)(N * KVH), D, m->norm_eps, 0);
            }
            for (int b = 0; b < B; b++) {
                size_t r0 = (size_t)b * T;
                if (!gpt) {
                    rope(q + r0 * H * D, T, H, D, m->rope_theta);
                    rope(k + r0 * KVH * D, T, KVH, D, m->rope_theta);
                }
                for (int h = 0; h < H; h++) {
                    int g = h / QPK;
                    for (int i = 0; i < T; i++) {
                        const double *qi = q + ((r0 + i) * H + h) * D;
                        double mx = -INFINITY, sum = 0.0;
                        for (int j = 0; j <= i; j++) {
                            const double *kj = k + ((r0 + j) * KVH + g) * D;
                            double s = 0.0;
                            for (int e = 0; e < D; e++) s += qi[e] * kj[e];
                            p[j] = s / sqrt((double)D);
                            if (p[j] > mx) mx = p[j];
                        }
                        for (int j = 0; j <= i; j++) sum += (p[j] = exp(p[j] - mx));
                        double *o = att + ((r0 + i) * H + h) * D;
                        for (int e = 0; e < D; e++) o[e] = 0.0;
                        for (int j = 0; j <= i; j++) {
                            const double *vj = v + ((r0 + j) * KVH + g) * D;
                            for (int e = 0; e < D; e++) o[e] += p[j] / sum * vj[e];
                        }
                    }
                }
            }
            linear(tmp, att, w[5], (int)N, H * D, C);
            for (size_t i = 0; i < N * C; i++) x[i] += tmp[i];
            norm(xn, x, w[6], w[7], (int)N, C, m->norm_eps, gpt);
            linear(up, xn, w[8], (int)N, C, FF);
            if (gpt) {
                for (size_t i = 0; i < N * FF; i++) {
                    double a = up[i];
                    up[i] = 0.5 * a * (1.0 + tanh(sqrt(2.0 / acos(-1.0)) * (a + 0.044715 * a * a * a)));
                }
            } else {
                linear(gate, xn, w[9], (int)N, C, FF);
                for (size_t i = 0; i < N * FF; i++) up[i] *= gate[i] / (1.0 + exp(-gate[i]));
            }
            linear(tmp, up, w[10], (int)N, FF, C);
            for (size_t i = 0; i < N * C; i++) x[i] += tmp[i];
        }
        for (int i = 0; i < 16; i++) free(w[i]);
        if (bad) goto done;
    }
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const double *src = x + ((size_t)b * T + t) * C;
            double *dst = t < L ? prefill_out + ((size_t)b * L + t) * C : decode_out + ((size_t)b * TD + (t - L)) * C;
            memcpy(dst, src, (size_t)C * sizeof *dst);
        }
    rc = 0;
done:
    free(x); free(xn); free(tmp); free(q); free(k); free(v); free(att); free(p); free(up); free(gate);
    return rc;
}

int reference_forward_logits(const attn_model *m, tensor_source *ws, const int32_t *prefill_ids, const int32_t *decode_ids,
                             double *prefill_logits, double *decode_logits, char *err, size_t errlen) {
    int B = m->workload.batch, L = m->workload.seq_len, TD = m->workload.decode_tokens, C = m->hidden, V = m->vocab_size;
    int gpt = m->arch == ARCH_GPT;
    size_t np = (size_t)B * L, nd = (size_t)B * TD;
    float *in_pre = malloc((np ? np : 1) * C * sizeof *in_pre), *in_dec = malloc((nd ? nd : 1) * C * sizeof *in_dec);
    double *out_pre = malloc((np ? np : 1) * C * sizeof *out_pre), *out_dec = malloc((nd ? nd : 1) * C * sizeof *out_dec);
    double *last = malloc((size_t)C * sizeof *last), *xn = malloc((size_t)C * sizeof *xn);
    double *emb = read_tensor(ws, "model.embed_tokens.weight", 2, V, C, err, errlen), *head = NULL;
    double *nw = NULL, *nb = NULL;
    int rc = -1;
    if (!emb) goto done;
    head = m->tie_word_embeddings ? emb : read_tensor(ws, "lm_head.weight", 2, V, C, err, errlen);
    nw = head ? read_tensor(ws, "model.norm.weight", 1, C, 0, err, errlen) : NULL;
    nb = nw && gpt ? read_tensor(ws, "model.norm.bias", 1, C, 0, err, errlen) : NULL;
    if (!head || !nw || (gpt && !nb)) goto done;
    if (!in_pre || !in_dec || !out_pre || !out_dec || !last || !xn) {
        snprintf(err, errlen, "reference: out of memory");
        goto done;
    }
    /* the embedding: row id of the matrix, exactly (the weights are read as fp32) */
    for (size_t i = 0; i < np; i++)
        for (int c = 0; c < C; c++) in_pre[i * C + c] = (float)emb[(size_t)prefill_ids[i] * C + c];
    for (size_t i = 0; i < nd; i++)
        for (int c = 0; c < C; c++) in_dec[i * C + c] = (float)emb[(size_t)decode_ids[i] * C + c];
    if (reference_forward(m, ws, in_pre, TD ? in_dec : NULL, out_pre, TD ? out_dec : NULL, err, errlen) != 0) goto done;
    /* the final norm and the LM head on each output position */
    for (int b = 0; b < B; b++)
        for (int t = 0; t <= TD; t++) {
            if (t == 0) memcpy(last, out_pre + ((size_t)b * L + L - 1) * C, (size_t)C * sizeof *last);
            else memcpy(last, out_dec + ((size_t)b * TD + t - 1) * C, (size_t)C * sizeof *last);
            norm(xn, last, nw, nb, 1, C, m->norm_eps, gpt);
            linear(t == 0 ? prefill_logits + (size_t)b * V : decode_logits + ((size_t)b * TD + t - 1) * V, xn, head, 1, C, V);
        }
    rc = 0;
done:
    if (head != emb) free(head);
    free(emb); free(nw); free(nb); free(in_pre); free(in_dec); free(out_pre); free(out_dec); free(last); free(xn);
    return rc;
}
