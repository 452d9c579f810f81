/* test_kernels.cu: every CUDA kernel of kernels/cuda/ against its CPU reference
 * (kernels/kernels_cpu.h, or a plain loop for copies and casts), in fp16, bf16 and fp32,
 * on seeded random inputs with shapes that are not multiples of the block size, with
 * NaN-poisoned outputs so an unwritten element fails. Exits 77 when no GPU is usable. */
#include "gpu_test_util.h"
#include "attn_tiling.h"
#include "kernels_cpu.h"

static const kc_dtype DTYPES[3] = {KC_FP16, KC_BF16, KC_FP32};

static void check_layernorm(kc_dtype dt, int N, int C, int rms) {
    size_t n = (size_t)N * C;
    float *x = (float *)malloc(n * 4), *w = (float *)malloc(C * 4), *b = (float *)malloc(C * 4);
    float *ref = (float *)malloc(n * 4), *out = (float *)malloc(n * 4);
    fill_random(x, n, -2.0f, 3.0f);
    fill_random(w, C, 0.5f, 1.5f);
    fill_random(b, C, -0.5f, 0.5f);
    round_all(x, n, dt), round_all(w, C, dt), round_all(b, C, dt);
    void *dx = dev_upload(x, n, dt), *dw = dev_upload(w, C, dt), *db = dev_upload(b, C, dt), *dout = dev_poisoned(n, dt);
    if (rms) {
        rmsnorm_forward_cpu(ref, x, w, N, C, 1e-5f);
        CUDA_CHECK(rmsnorm_forward_cuda(dout, dx, dw, N, C, 1e-5f, dt, 0));
    } else {
        layernorm_forward_cpu(ref, x, w, b, N, C, 1e-5f);
        CUDA_CHECK(layernorm_forward_cuda(dout, dx, dw, db, N, C, 1e-5f, dt, 0));
    }
    CUDA_CHECK(cudaDeviceSynchronize());
    dev_download(out, dout, n, dt);
    size_t bad;
    double err = rel_error(out, ref, n, &bad);
    char what[64];
    snprintf(what, sizeof what, "%s N=%d C=%d", rms ? "rmsnorm" : "layernorm", N, C);
    report(what, dt, err, dt_bound(dt), bad);
    cudaFree(dx), cudaFree(dw), cudaFree(db), cudaFree(dout);
    free(x), free(w), free(b), free(ref), free(out);
}

/* RoPE on a strided view inside a wider buffer: the view must match the reference and
 * every element outside it must stay bit-for-bit untouched. */
static void check_rope(kc_dtype dt, int T, int NH, int HS, int pair_begin, int head_dim, int pad) {
    size_t ld_h = (size_t)HS + pad, ld_t = (size_t)NH * ld_h + (pad ? 3 : 0); /* pad 0: contiguous */
    size_t nbuf = (size_t)T * ld_t, n = (size_t)T * NH * HS;
    float *buf = (float *)malloc(nbuf * 4), *view = (float *)malloc(n * 4), *out = (float *)malloc(nbuf * 4);
    int *pos = (int *)malloc(T * sizeof(int));
    fill_random(buf, nbuf, -1.0f, 1.0f);
    round_all(buf, nbuf, dt);
    for (int t = 0; t < T; t++) pos[t] = (int)rng_uniform(0.0f, 30000.0f);
    for (int t = 0; t < T; t++)
        for (int h = 0; h < NH; h++) memcpy(view + ((size_t)t * NH + h) * HS, buf + t * ld_t + h * ld_h, HS * 4);
    rope_forward_cpu(view, T, NH, HS, pos, pair_begin, head_dim, 10000.0f);
    void *dbuf = dev_upload(buf, nbuf, dt);
    int *dpos = NULL;
    CUDA_CHECK(cudaMalloc(&dpos, T * sizeof(int)));
    CUDA_CHECK(cudaMemcpy(dpos, pos, T * sizeof(int), cudaMemcpyHostToDevice));
    if (pad == 0 && ld_t == (size_t)NH * HS)
        CUDA_CHECK(rope_forward_cuda(dbuf, T, NH, HS, dpos, pair_begin, head_dim, 10000.0f, dt, 0));
    else
        CUDA_CHECK(rope_forward_strided_cuda(dbuf, ld_t, ld_h, T, NH, HS, dpos, pair_begin, head_dim, 10000.0f, dt, 0));
    CUDA_CHECK(cudaDeviceSynchronize());
    dev_download(out, dbuf, nbuf, dt);
    float *got = (float *)malloc(n * 4);
    size_t outside_changed = 0;
    for (int t = 0; t < T; t++)
        for (size_t e = 0; e < ld_t; e++) {
            size_t h = e / ld_h, k = e % ld_h;
            if (h < (size_t)NH && k < (size_t)HS) got[((size_t)t * NH + h) * HS + k] = out[t * ld_t + e];
            else if (memcmp(&out[t * ld_t + e], &buf[t * ld_t + e], 4) != 0) outside_changed++;
        }
    size_t bad;
    double err = rel_error(got, view, n, &bad);
    char what[64];
    snprintf(what, sizeof what, "rope T=%d NH=%d HS=%d pb=%d%s", T, NH, HS, pair_begin, pad ? " strided" : "");
    report(what, dt, err, dt_bound(dt), bad + outside_changed);
    cudaFree(dbuf), cudaFree(dpos);
    free(buf), free(view), free(out), free(pos), free(got);
}

/* rope_forward_seq_cuda: nseq sequences of T rows, row r at position pos0 + r % T. */
static void check_rope_seq(kc_dtype dt, int nseq, int T, int NH, int HS, int pos0, int pair_begin, int head_dim) {
    int N = nseq * T;
    size_t n = (size_t)N * NH * HS;
    float *x = (float *)malloc(n * 4), *ref = (float *)malloc(n * 4), *out = (float *)malloc(n * 4);
    int *pos = (int *)malloc(T * sizeof(int));
    fill_random(x, n, -1.0f, 1.0f);
    round_all(x, n, dt);
    memcpy(ref, x, n * 4);
    for (int t = 0; t < T; t++) pos[t] = pos0 + t;
    for (int q = 0; q < nseq; q++)
        rope_forward_cpu(ref + (size_t)q * T * NH * HS, T, NH, HS, pos, pair_begin, head_dim, 500000.0f);
    void *dx = dev_upload(x, n, dt);
    CUDA_CHECK(rope_forward_seq_cuda(dx, N, T, NH, HS, pos0, pair_begin, head_dim, 500000.0f, dt, 0));
    CUDA_CHECK(cudaDeviceSynchronize());
    dev_download(out, dx, n, dt);
    size_t bad;
    double err = rel_error(out, ref, n, &bad);
    char what[64];
    snprintf(what, sizeof what, "rope_seq %dx%d NH=%d HS=%d p0=%d", nseq, T, NH, HS, pos0);
    report(what, dt, err, dt_bound(dt), bad);
    cudaFree(dx);
    free(x), free(ref), free(out), free(pos);
}

/* fill_cuda writes every element with the rounded value. */
static void check_fill(kc_dtype dt, size_t N, float value) {
    float *out = (float *)malloc(N * 4);
    void *d = dev_poisoned(N, dt);
    CUDA_CHECK(fill_cuda(d, value, N, dt, 0));
    CUDA_CHECK(cudaDeviceSynchronize());
    dev_download(out, d, N, dt);
    size_t wrong = 0;
    float want = round_to(value, dt);
    for (size_t i = 0; i < N; i++) wrong += out[i] != want;
    char what[64];
    snprintf(what, sizeof what, "fill N=%zu v=%g", N, value);
    report(what, dt, wrong ? 1.0 : 0.0, 0.0, wrong);
    cudaFree(d);
    free(out);
}

static void check_softmax(kc_dtype s_dt, kc_dtype out_dt, int NH, int Tq, int Tk, int q0, int in_place) {
    size_t n = (size_t)NH * Tq * Tk;
    float *s = (float *)malloc(n * 4), *ref = (float *)malloc(n * 4), *out = (float *)malloc(n * 4);
    fill_random(s, n, -30.0f, 30.0f);
    round_all(s, n, s_dt);
    float scale = 1.0f / sqrtf(128.0f);
    softmax_causal_forward_cpu(ref, s, NH, Tq, Tk, q0, scale);
    void *ds = dev_upload(s, n, s_dt);
    void *dout = in_place ? ds : dev_poisoned(n, out_dt);
    CUDA_CHECK(softmax_causal_forward_cuda(dout, out_dt, ds, s_dt, NH, Tq, Tk, q0, scale, 0));
    CUDA_CHECK(cudaDeviceSynchronize());
    dev_download(out, dout, n, out_dt);
    size_t bad, masked_nonzero = 0;
    for (int h = 0; h < NH; h++)
        for (int i = 0; i < Tq; i++)
            for (int j = q0 + i + 1; j < Tk; j++)
                if (j >= 0 && out[((size_t)h * Tq + i) * Tk + j] != 0.0f) masked_nonzero++;
    double err = rel_error(out, ref, n, &bad);
    char what[64];
    snprintf(what, sizeof what, "softmax %d,%d,%d q0=%d %s->%s%s", NH, Tq, Tk, q0, dt_name(s_dt), dt_name(out_dt),
             in_place ? " inpl" : "");
    report(what, out_dt, err, dt_bound(out_dt), bad + masked_nonzero);
    if (!in_place) cudaFree(dout);
    cudaFree(ds);
    free(s), free(ref), free(out);
}

/* op: 0 gelu, 1 swiglu, 2 residual (in place on a). off shifts every pointer by one
 * element so the unaligned scalar path runs too. */
static void check_elementwise(kc_dtype dt, int op, size_t N, int off) {
    float *a = (float *)malloc(N * 4), *b = (float *)malloc(N * 4), *ref = (float *)malloc(N * 4),
          *out = (float *)malloc(N * 4);
    fill_random(a, N, -4.0f, 4.0f);
    fill_random(b, N, -2.0f, 2.0f);
    round_all(a, N, dt), round_all(b, N, dt);
    size_t eb = (size_t)kc_dtype_bytes(dt);
    float *a1 = (float *)malloc((N + 1) * 4), *b1 = (float *)malloc((N + 1) * 4);
    a1[0] = b1[0] = 1.0f;
    memcpy(a1 + 1, a, N * 4), memcpy(b1 + 1, b, N * 4);
    char *da = (char *)dev_upload(off ? a1 : a, N + off, dt), *db = (char *)dev_upload(off ? b1 : b, N + off, dt);
    char *dout = (char *)dev_poisoned(N + off, dt);
    void *pa = da + off * eb, *pb = db + off * eb, *po = dout + off * eb;
    const char *name = op == 0 ? "gelu" : op == 1 ? "swiglu" : "residual(inpl)";
    if (op == 0) {
        gelu_forward_cpu(ref, a, N);
        CUDA_CHECK(gelu_forward_cuda(po, pa, N, dt, 0));
    } else if (op == 1) {
        swiglu_forward_cpu(ref, a, b, N);
        CUDA_CHECK(swiglu_forward_cuda(po, pa, pb, N, dt, 0));
    } else {
        residual_forward_cpu(ref, a, b, N);
        po = pa;
        CUDA_CHECK(residual_forward_cuda(pa, pa, pb, N, dt, 0));
    }
    CUDA_CHECK(cudaDeviceSynchronize());
    dev_download(out, po, N, dt);
    size_t bad;
    double err = rel_error(out, ref, N, &bad);
    char what[64];
    snprintf(what, sizeof what, "%s N=%zu%s", name, N, off ? " unaligned" : "");
    report(what, dt, err, dt_bound(dt), bad);
    cudaFree(da), cudaFree(db), cudaFree(dout);
    free(a), free(b), free(ref), free(out), free(a1), free(b1);
}

/* fp32 -> dt -> fp32 must equal the host's round-to-nearest exactly. */
static void check_convert(kc_dtype dt, size_t N) {
    float *x = (float *)malloc(N * 4), *ref = (float *)malloc(N * 4), *out = (float *)malloc(N * 4);
    fill_random(x, N, -70000.0f, 70000.0f);
    for (size_t i = 0; i < N; i += 3) x[i] *= 1e-6f;
    for (size_t i = 0; i < N; i++) ref[i] = round_to(x[i], dt);
    void *dx = dev_upload(x, N, KC_FP32), *dmid = dev_poisoned(N, dt), *dback = dev_poisoned(N, KC_FP32);
    CUDA_CHECK(convert_cuda(dmid, dt, dx, KC_FP32, N, 0));
    CUDA_CHECK(convert_cuda(dback, KC_FP32, dmid, dt, N, 0));
    CUDA_CHECK(cudaDeviceSynchronize());
    dev_download(out, dback, N, KC_FP32);
    size_t mismatch = 0;
    for (size_t i = 0; i < N; i++)
        if (memcmp(&out[i], &ref[i], 4) != 0 && !(isinf(out[i]) && isinf(ref[i]) && out[i] == ref[i])) mismatch++;
    char what[64];
    snprintf(what, sizeof what, "convert fp32<->%s N=%zu", dt_name(dt), N);
    report(what, dt, mismatch ? 1.0 : 0.0, 0.0, mismatch);
    cudaFree(dx), cudaFree(dmid), cudaFree(dback);
    free(x), free(ref), free(out);
}

/* kv_append into a poisoned cache, then a strided copy of a column slice back out:
 * both are exact. */
static void check_copies(kc_dtype dt, int B, int T, int pos0, int Tmax, int W) {
    size_t nnew = (size_t)B * T * W, ncache = (size_t)B * Tmax * W;
    float *kv = (float *)malloc(nnew * 4), *cache = (float *)malloc(ncache * 4);
    fill_random(kv, nnew, -1.0f, 1.0f);
    round_all(kv, nnew, dt);
    void *dkv = dev_upload(kv, nnew, dt), *dcache = dev_poisoned(ncache, dt);
    CUDA_CHECK(kv_append_cuda(dcache, dkv, B, T, pos0, Tmax, W, dt, 0));
    int c0 = W / 3, cols = W - W / 3 - 1; /* a column slice [c0, c0 + cols) of each row */
    size_t nslice = (size_t)B * T * cols;
    void *dslice = dev_poisoned(nslice, dt);
    size_t eb = (size_t)kc_dtype_bytes(dt);
    CUDA_CHECK(copy_strided_cuda(dslice, (size_t)T * cols, (size_t)cols, (char *)dcache + ((size_t)pos0 * W + c0) * eb,
                                 (size_t)Tmax * W, (size_t)W, B, T, cols, dt, 0));
    CUDA_CHECK(cudaDeviceSynchronize());
    dev_download(cache, dcache, ncache, dt);
    float *slice = (float *)malloc(nslice * 4);
    dev_download(slice, dslice, nslice, dt);
    size_t wrong = 0;
    for (int b = 0; b < B; b++)
        for (int p = 0; p < Tmax; p++)
            for (int w = 0; w < W; w++) {
                float v = cache[((size_t)b * Tmax + p) * W + w];
                int inside = p >= pos0 && p < pos0 + T;
                if (inside ? v != kv[((size_t)b * T + p - pos0) * W + w] : !isnan(v)) wrong++;
            }
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int c = 0; c < cols; c++)
                if (slice[((size_t)b * T + t) * cols + c] != kv[((size_t)b * T + t) * W + c0 + c]) wrong++;
    char what[64];
    snprintf(what, sizeof what, "kv_append+copy B=%d T=%d p0=%d W=%d", B, T, pos0, W);
    report(what, dt, wrong ? 1.0 : 0.0, 0.0, wrong);
    cudaFree(dkv), cudaFree(dcache), cudaFree(dslice);
    free(kv), free(cache), free(slice);
}

/* attention_fused_cuda with attn_fused_plan's tiles (split-KV where the plan splits) and
 * attention_merge_cuda, against kernels_cpu.h attention_forward_cpu (double sums) on the
 * same rounded inputs: Q, O [seqs][Tq][heads][d], K, V [seqs][Tk][kv heads][d]. Every O
 * element by norm-relative error, every lse by absolute error, rows without a visible key
 * exactly O = 0, lse = -inf; then the keys cut at `cut`, the two halves merged on the GPU
 * against the whole. */
static void check_attention(kc_dtype dt, int seqs, int heads, int head0, int qpk, int Tq, int Tk, int q0, int k0,
                            int dqk, int dv, int cut) {
    int kv_base = head0 / qpk, kvh = (head0 + heads - 1) / qpk - kv_base + 1;
    size_t nq = (size_t)seqs * Tq * heads * dqk, nk = (size_t)seqs * Tk * kvh * dqk, nv = (size_t)seqs * Tk * kvh * dv;
    size_t no = (size_t)seqs * Tq * heads * dv, nl = (size_t)seqs * heads * Tq;
    float *q = (float *)malloc(nq * 4), *k = (float *)malloc(nk * 4), *v = (float *)malloc(nv * 4);
    float *ref = (float *)malloc(no * 4), *rl = (float *)malloc(nl * 4), *out = (float *)malloc(no * 4),
          *ol = (float *)malloc(nl * 4);
    fill_random(q, nq, -2.0f, 2.0f), fill_random(k, nk, -2.0f, 2.0f), fill_random(v, nv, -1.0f, 1.0f);
    round_all(q, nq, dt), round_all(k, nk, dt), round_all(v, nv, dt);
    attention_cpu_args ra = {seqs, heads, head0, qpk, kv_base, Tq, Tk, q0, k0, dqk, dv, 1.0f / sqrtf((float)dqk),
                             q, (size_t)heads * dqk, (size_t)dqk, (size_t)Tq * heads * dqk,
                             k, (size_t)kvh * dqk, (size_t)dqk, (size_t)Tk * kvh * dqk,
                             v, (size_t)kvh * dv, (size_t)dv, (size_t)Tk * kvh * dv,
                             ref, (size_t)heads * dv, (size_t)dv, (size_t)Tq * heads * dv, rl};
    if (attention_forward_cpu(&ra) != 0) {
        report("attention reference refused", dt, 1.0, 0.0, 1);
        return;
    }
    void *dq = dev_upload(q, nq, dt), *dk = dev_upload(k, nk, dt), *dvv = dev_upload(v, nv, dt);
    void *dout = dev_poisoned(no, dt), *dout2 = dev_poisoned(no, dt);
    float *dl = (float *)dev_poisoned(nl, KC_FP32), *dl2 = (float *)dev_poisoned(nl, KC_FP32);
    size_t eb = (size_t)kc_dtype_bytes(dt);
    for (int pass = 0; pass < 2; pass++) {
        /* pass 0: one call over all keys; pass 1: [0, cut) and [cut, Tk) merged */
        int ranges = pass ? 2 : 1;
        for (int r = 0; r < ranges; r++) {
            int kb = pass ? (r ? cut : 0) : 0, n = pass ? (r ? Tk - cut : cut) : Tk;
            kc_attn_args a = {seqs, heads, head0, qpk, kv_base, Tq, n, q0, k0 + kb, dqk, dv, ra.scale,
                              dq, ra.q_ld, ra.q_head, ra.q_seq,
                              (char *)dk + (size_t)kb * ra.k_ld * eb, ra.k_ld, ra.k_head, ra.k_seq,
                              (char *)dvv + (size_t)kb * ra.v_ld * eb, ra.v_ld, ra.v_head, ra.v_seq,
                              r ? dout2 : dout, ra.o_ld, ra.o_head, ra.o_seq, r ? dl2 : dl};
            attn_fused_tiling t;
            attn_fused_plan(&t, ATTN_FUSED_GPU, seqs, heads, Tq, n, q0, k0 + kb, dqk, dv, 0);
            kc_attn_tiles tl = {t.q_tile, t.k_tile, t.kv_splits, t.split_keys};
            size_t wf = attention_fused_cuda_workspace(&a, &tl);
            float *work = NULL;
            if (wf) CUDA_CHECK(cudaMalloc(&work, wf * 4));
            CUDA_CHECK(attention_fused_cuda(&a, &tl, work, wf, dt, 0));
            CUDA_CHECK(cudaDeviceSynchronize());
            if (work) cudaFree(work);
        }
        if (pass)
            CUDA_CHECK(attention_merge_cuda(dout, ra.o_ld, ra.o_head, ra.o_seq, dout2, ra.o_ld, ra.o_head, ra.o_seq, dl,
                                            dl2, seqs, heads, Tq, dv, dt, 0));
        CUDA_CHECK(cudaDeviceSynchronize());
        dev_download(out, dout, no, dt);
        CUDA_CHECK(cudaMemcpy(ol, dl, nl * 4, cudaMemcpyDeviceToHost));
        size_t bad, wrong = 0;
        double err = rel_error(out, ref, no, &bad), lse_err = 0;
        for (size_t i = 0; i < nl; i++) {
            if (isinf(rl[i])) wrong += !(isinf(ol[i]) && ol[i] < 0);
            else if (!isfinite(ol[i])) wrong++;
            else lse_err = fmax(lse_err, fabs((double)ol[i] - rl[i]));
        }
        for (size_t i = 0; i < no; i++) wrong += ref[i] == 0.0f && out[i] != 0.0f; /* a masked row's zeros */
        char what[64];
        snprintf(what, sizeof what, "attn%s %dx%d/%d %dx%d q0=%d k0=%d d%d/%d", pass ? "+merge" : "", seqs, heads, qpk,
                 Tq, Tk, q0, k0, dqk, dv);
        report(what, dt, err, dt_bound(dt), bad + wrong + (lse_err > 2e-5));
    }
    cudaFree(dq), cudaFree(dk), cudaFree(dvv), cudaFree(dout), cudaFree(dout2), cudaFree(dl), cudaFree(dl2);
    free(q), free(k), free(v), free(ref), free(rl), free(out), free(ol);
}

int main(void) {
    if (!cuda_have_device()) {
        printf("SKIP: no usable CUDA device\n");
        return ATTN_EXIT_SKIP;
    }
    rng_seed(6);
    for (int k = 0; k < 3; k++) {
        kc_dtype dt = DTYPES[k];
        check_layernorm(dt, 37, 1000, 0);
        check_layernorm(dt, 5, 4096, 0);
        check_layernorm(dt, 37, 1000, 1);
        check_layernorm(dt, 3, 8192, 1);
        check_rope(dt, 13, 3, 64, 0, 64, 0);
        check_rope(dt, 11, 2, 40, 12, 128, 7);
        check_rope_seq(dt, 3, 9, 4, 32, 0, 0, 32);
        check_rope_seq(dt, 2, 1, 5, 16, 10000, 8, 64);
        check_fill(dt, 12345, 0.3f);
        check_softmax(KC_FP32, dt, 3, 17, 300, 250, 0);
        check_softmax(KC_FP32, dt, 2, 33, 1000, 5, 0);
        check_softmax(dt, dt, 2, 9, 77, -1, 1); /* row 0 sees no key: all zeros */
        check_softmax(dt, dt, 1, 1, 10001, 10000, 0);
        check_elementwise(dt, 0, 10007, 0);
        check_elementwise(dt, 0, 4096, 1);
        check_elementwise(dt, 1, 10007, 0);
        check_elementwise(dt, 1, 999, 1);
        check_elementwise(dt, 2, 65536 + 5, 0);
        check_elementwise(dt, 2, 1023, 1);
        check_copies(dt, 3, 7, 5, 20, 97);
        if (dt != KC_FP32) check_convert(dt, 100003);
        check_attention(dt, 2, 4, 0, 2, 70, 70, 0, 0, 64, 64, 33);         /* prefill, GQA */
        check_attention(dt, 1, 8, 8, 4, 1, 1500, 1499, 0, 128, 128, 700);  /* decode, split-KV */
        check_attention(dt, 1, 2, 0, 1, 24, 40, 10, 20, 128, 64, 15);      /* k0 offset, masked rows, d_qk != d_v */
        check_attention(dt, 1, 1, 0, 1, 9, 33, 24, 0, 256, 256, 5);        /* d 256 */
        check_attention(dt, 2, 1, 0, 1, 11, 11, 0, 0, 45, 45, 6);          /* odd width */
    }
    printf("%d checks, %d failed\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
