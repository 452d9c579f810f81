/* test_backend_ops.c: every op of the attn_backend interface (runtime/backend.h) on the
 * CUDA backend against the CPU backend, in fp32, fp16 and bf16 storage, on random inputs
 * (never zeros). Inputs go to the CUDA backend first and come back rounded to its storage
 * type, and the CPU backend gets exactly those values, so each comparison measures the op
 * (and its output rounding), not the input rounding. Outputs are NaN-poisoned before each
 * op, so an element the op does not write shows up as non-finite. The GEMMs cover the
 * backend's row-major to column-major mapping: both transposes, strided batches, stride 0
 * (one matrix reused), leading dimensions wider than the rows, alpha and beta (beta != 0
 * reads C); the score GEMM writes fp32 from operands whose dot products exceed fp16's
 * range (65504), which an fp16 C would turn into infinities. Built twice: against the real
 * CUDA backend (label gpu; exit 77 without a GPU) and against the emulated CUDA runtime and
 * cuBLAS of tests/gpu/emu (label unit, every build). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend.h"
#include "../check.h"

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static float uniform(float lo, float hi) { /* xorshift64* */
    rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
    return lo + (hi - lo) * (float)((double)((rng * 0x2545F4914F6CDD1Dull) >> 40) / 16777216.0);
}

static float *host_random(size_t n, float lo, float hi) {
    float *x = malloc(n * sizeof *x);
    if (!x) exit(2);
    for (size_t i = 0; i < n; i++) x[i] = uniform(lo, hi);
    return x;
}

/* A tensor on both backends with the same values: g on the GPU backend, c on the CPU. */
typedef struct pair {
    attn_ptr g, c;
    size_t n;
    int f32; /* an fp32 (score) buffer on the GPU side */
} pair;

static attn_backend *G, *C;

static pair pair_new(size_t n, int f32) {
    pair p = {f32 ? G->alloc_f32(G->ctx, n) : G->alloc(G->ctx, n), C->alloc(C->ctx, n), n, f32};
    if (attn_ptr_null(p.g) || attn_ptr_null(p.c)) {
        fprintf(stderr, "test_backend_ops: allocation of %zu elements failed\n", n);
        exit(2);
    }
    return p;
}

static void pair_free(pair *p) {
    G->free(G->ctx, p->g);
    C->free(C->ctx, p->c);
}

static void download(const pair *p, float *gpu, float *cpu) {
    if ((p->f32 ? G->download_f32 : G->download)(G->ctx, gpu, p->g, p->n) != 0 || C->download(C->ctx, cpu, p->c, p->n))
        exit(2);
}

/* random values in [lo, hi), rounded by the GPU's storage type, on both sides */
static pair pair_random(size_t n, float lo, float hi, int f32) {
    pair p = pair_new(n, f32);
    float *h = host_random(n, lo, hi), *back = malloc(n * sizeof *back);
    if (!back) exit(2);
    if ((f32 ? G->upload_f32 : G->upload)(G->ctx, p.g, h, n) != 0) exit(2);
    if ((f32 ? G->download_f32 : G->download)(G->ctx, back, p.g, n) != 0) exit(2);
    if (C->upload(C->ctx, p.c, back, n) != 0) exit(2);
    free(h);
    free(back);
    return p;
}

/* NaN in every element of the output on both sides (fill writes the storage type; an fp32
 * buffer is poisoned through upload_f32) */
static void poison(pair *p) {
    if (p->f32) {
        float *h = malloc(p->n * sizeof *h);
        if (!h) exit(2);
        for (size_t i = 0; i < p->n; i++) h[i] = NAN;
        G->upload_f32(G->ctx, p->g, h, p->n);
        free(h);
    } else {
        G->fill(G->ctx, p->g, p->n, NAN);
    }
    C->fill(C->ctx, p->c, p->n, NAN);
}

static double bound_for(attn_dtype dt, int f32) {
    if (f32 || dt == DTYPE_FP32) return 1e-5;
    return dt == DTYPE_FP16 ? 2e-3 : 1.6e-2;
}

static const char *dt_name(attn_dtype dt) { return dt == DTYPE_FP16 ? "fp16" : dt == DTYPE_BF16 ? "bf16" : "fp32"; }

/* ||gpu - cpu|| / ||cpu|| within bound, and every element finite */
static void compare_within(const char *what, attn_dtype dt, const pair *out, double bound) {
    float *g = malloc(out->n * sizeof *g), *c = malloc(out->n * sizeof *c);
    if (!g || !c) exit(2);
    download(out, g, c);
    double num = 0, den = 0;
    size_t bad = 0;
    for (size_t i = 0; i < out->n; i++) {
        if (!isfinite(g[i]) || !isfinite(c[i])) {
            bad++;
            continue;
        }
        num += ((double)g[i] - c[i]) * ((double)g[i] - c[i]);
        den += (double)c[i] * c[i];
    }
    double rel = den > 0 ? sqrt(num / den) : sqrt(num);
    printf("%-4s %-34s %s rel_err %.3e (bound %.0e) non-finite %zu\n", bad || rel > bound ? "FAIL" : "ok", what,
           dt_name(dt), rel, bound, bad);
    CHECK(bad == 0, "%s %s: %zu non-finite or unwritten elements", what, dt_name(dt), bad);
    CHECK(rel <= bound, "%s %s: relative error %.3e over %.0e", what, dt_name(dt), rel, bound);
    CHECK(den > 0, "%s %s: the reference is all zeros", what, dt_name(dt));
    free(g);
    free(c);
}

/* GEMM of one shape and layout on both backends (row-major, backend.h's contract). */
typedef struct gemm_case {
    const char *name;
    int ta, tb, M, N, K, batch, pad; /* pad: extra columns in each leading dimension */
    int reuse_b;                     /* stride 0 for B: one matrix for the whole batch */
    float alpha, beta;
    int to_f32;                      /* gemm_to_f32 into an fp32 C */
    float lo, hi;                    /* operand range */
} gemm_case;

static void compare(const char *what, attn_dtype dt, const pair *out) {
    compare_within(what, dt, out, bound_for(dt, out->f32));
}

static void test_gemm(attn_dtype dt, const gemm_case *t) {
    int arows = t->ta ? t->K : t->M, acols = t->ta ? t->M : t->K;
    int brows = t->tb ? t->N : t->K, bcols = t->tb ? t->K : t->N;
    int lda = acols + t->pad, ldb = bcols + t->pad, ldc = t->N + t->pad;
    long long sa = (long long)arows * lda, sb = t->reuse_b ? 0 : (long long)brows * ldb, sc = (long long)t->M * ldc;
    pair A = pair_random((size_t)sa * t->batch, t->lo, t->hi, 0);
    pair B = pair_random((size_t)(t->reuse_b ? brows * ldb : sb * t->batch), t->lo, t->hi, 0);
    pair Cm = t->beta != 0.0f ? pair_random((size_t)sc * t->batch, -1.0f, 1.0f, t->to_f32)
                              : pair_new((size_t)sc * t->batch, t->to_f32);
    if (t->beta == 0.0f) poison(&Cm); /* beta = 0 must not read C: NaN there must not leak */
    (t->to_f32 ? G->gemm_to_f32 : G->gemm)(G->ctx, t->ta, t->tb, t->M, t->N, t->K, t->alpha, A.g, lda, sa, B.g, ldb,
                                           sb, t->beta, Cm.g, ldc, sc, t->batch);
    C->gemm(C->ctx, t->ta, t->tb, t->M, t->N, t->K, t->alpha, A.c, lda, sa, B.c, ldb, sb, t->beta, Cm.c, ldc, sc,
            t->batch);
    G->synchronize(G->ctx);
    /* the padding columns of C are not written by either side: compare row by row */
    float *g = malloc(Cm.n * sizeof *g), *c = malloc(Cm.n * sizeof *c);
    if (!g || !c) exit(2);
    download(&Cm, g, c);
    double num = 0, den = 0;
    size_t bad = 0;
    for (int b = 0; b < t->batch; b++)
        for (int i = 0; i < t->M; i++)
            for (int j = 0; j < t->N; j++) {
                size_t at = (size_t)b * sc + (size_t)i * ldc + j;
                if (!isfinite(g[at]) || !isfinite(c[at])) {
                    bad++;
                    continue;
                }
                num += ((double)g[at] - c[at]) * ((double)g[at] - c[at]);
                den += (double)c[at] * c[at];
            }
    double rel = den > 0 ? sqrt(num / den) : 1.0, bound = bound_for(dt, t->to_f32);
    printf("%-4s gemm %-29s %s rel_err %.3e (bound %.0e) non-finite %zu\n", bad || rel > bound ? "FAIL" : "ok",
           t->name, dt_name(dt), rel, bound, bad);
    CHECK(bad == 0, "gemm %s %s: %zu non-finite or unwritten elements", t->name, dt_name(dt), bad);
    CHECK(rel <= bound, "gemm %s %s: relative error %.3e over %.0e", t->name, dt_name(dt), rel, bound);
    free(g);
    free(c);
    pair_free(&A);
    pair_free(&B);
    pair_free(&Cm);
}

static void test_gemms(attn_dtype dt) {
    static const gemm_case cases[] = {
        {"NT (x.W^T, projections)", 0, 1, 37, 29, 48, 1, 0, 0, 1.0f, 0.0f, 0, -1.0f, 1.0f},
        {"NN batched (p.v)", 0, 0, 13, 10, 21, 3, 0, 0, 1.0f, 0.0f, 0, -1.0f, 1.0f},
        {"TN padded, alpha, beta", 1, 0, 9, 11, 17, 2, 5, 0, 0.5f, 0.75f, 0, -1.0f, 1.0f},
        {"TT padded", 1, 1, 7, 12, 19, 1, 3, 0, 1.0f, 0.0f, 0, -1.0f, 1.0f},
        {"NT batched, B stride 0 (GQA)", 0, 1, 6, 15, 16, 4, 2, 1, 1.0f, 0.0f, 0, -1.0f, 1.0f},
        {"scores q.k^T to fp32", 0, 1, 11, 23, 64, 3, 0, 0, 1.0f, 0.0f, 1, -1.0f, 1.0f},
        /* 64 products of about 64^2/3 each: sums near 9e4, past fp16's 65504 */
        {"scores to fp32, past fp16 range", 0, 1, 5, 9, 64, 2, 0, 0, 1.0f, 0.0f, 1, 40.0f, 64.0f},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) test_gemm(dt, &cases[i]);
}

static void test_elementwise(attn_dtype dt) {
    enum { N = 23, CH = 96 }; /* rows, channels (not a multiple of a warp) */
    size_t n = (size_t)N * CH;
    pair x = pair_random(n, -2.0f, 2.0f, 0), y = pair_random(n, -2.0f, 2.0f, 0);
    pair w = pair_random(CH, 0.5f, 1.5f, 0), b = pair_random(CH, -0.5f, 0.5f, 0), out = pair_new(n, 0);

    poison(&out);
    G->layernorm(G->ctx, out.g, x.g, w.g, b.g, N, CH, 1e-5f), C->layernorm(C->ctx, out.c, x.c, w.c, b.c, N, CH, 1e-5f);
    compare("layernorm", dt, &out);
    poison(&out);
    G->rmsnorm(G->ctx, out.g, x.g, w.g, N, CH, 1e-6f), C->rmsnorm(C->ctx, out.c, x.c, w.c, N, CH, 1e-6f);
    compare("rmsnorm", dt, &out);
    poison(&out);
    G->gelu(G->ctx, out.g, x.g, n), C->gelu(C->ctx, out.c, x.c, n);
    compare("gelu", dt, &out);
    poison(&out);
    G->swiglu(G->ctx, out.g, x.g, y.g, n), C->swiglu(C->ctx, out.c, x.c, y.c, n);
    compare("swiglu", dt, &out);
    poison(&out);
    G->residual(G->ctx, out.g, x.g, y.g, n), C->residual(C->ctx, out.c, x.c, y.c, n);
    compare("residual", dt, &out);
    G->residual(G->ctx, x.g, x.g, y.g, n), C->residual(C->ctx, x.c, x.c, y.c, n); /* out aliases a */
    compare("residual in place", dt, &x);

    /* RoPE in place on [N = 3 sequences x 5 rows, NH, HS], a rank's slice of pairs */
    enum { T = 5, NH = 4, HS = 6, HEAD_DIM = 16 };
    size_t nr = (size_t)3 * T * NH * HS;
    pair r = pair_random(nr, -1.0f, 1.0f, 0);
    G->rope(G->ctx, r.g, 3 * T, T, NH, HS, 7, 2, HEAD_DIM, 10000.0f);
    C->rope(C->ctx, r.c, 3 * T, T, NH, HS, 7, 2, HEAD_DIM, 10000.0f);
    compare("rope (pos0 7, pairs from 2)", dt, &r);

    /* fill, and a strided copy (a KV-cache append's shape) of fresh values: both exact,
     * and the elements the copy skips keep their values */
    G->fill(G->ctx, y.g, n, 0.375f), C->fill(C->ctx, y.c, n, 0.375f);
    compare_within("fill", dt, &y, 0.0);
    pair src = pair_random(n, -1.0f, 1.0f, 0), d = pair_random(n, -1.0f, 1.0f, 0);
    G->copy2d(G->ctx, attn_ptr_at(G, d.g, 3), CH, src.g, CH / 2, N / 2, CH / 3);
    C->copy2d(C->ctx, attn_ptr_at(C, d.c, 3), CH, src.c, CH / 2, N / 2, CH / 3);
    compare_within("copy2d strided", dt, &d, 0.0);

    pair *all[] = {&x, &y, &w, &b, &out, &r, &src, &d};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) pair_free(all[i]);
}

/* Causal softmax from fp32 scores into storage-type probabilities: a prefill chunk whose
 * rows start at q0 = 6 (keys up to 6 + Tq), and a decode row (Tq = 1, q0 = Tk - 1). */
static void test_softmax(attn_dtype dt) {
    enum { NH = 5, TQ = 7, TK = 13 };
    size_t n = (size_t)NH * TQ * TK;
    pair s = pair_random(n, -30.0f, 30.0f, 1), p = pair_new(n, 0);
    poison(&p);
    G->softmax_causal(G->ctx, p.g, s.g, NH, TQ, TK, TK - TQ, 0.125f);
    C->softmax_causal(C->ctx, p.c, s.c, NH, TQ, TK, TK - TQ, 0.125f);
    compare("softmax_causal chunk (fp32 in)", dt, &p);
    poison(&p);
    G->softmax_causal(G->ctx, p.g, s.g, NH * TQ, 1, TK, TK - 1, 0.125f);
    C->softmax_causal(C->ctx, p.c, s.c, NH * TQ, 1, TK, TK - 1, 0.125f);
    compare("softmax_causal decode rows", dt, &p);
    pair_free(&s);
    pair_free(&p);
}

/* ---- Fused attention and its merge (backend.h attention_fused / attention_merge), CUDA
 * against the CPU backend's. Q and O token-major [seqs][Tq][heads][d] (the forward's
 * layout) or head-major [seqs][heads][Tq][d], K and V a cache [seqs][Tk][kv heads][d]; pad
 * widens every row stride, so strides are honoured and the gaps (left NaN) never read or
 * written. Each case states its bounds: O by norm-relative error per storage type (fp16/bf16
 * bounds cover P rounded to the storage type before P.V, as the tensor-core kernel does,
 * and the output's rounding), lse by absolute error (fp32 on both sides from the same
 * inputs), and a row that sees no key must be O = 0, lse = -inf exactly. ---- */
typedef struct attn_case {
    const char *name;
    int seqs, heads, head0, qpk;
    int Tq, Tk, q0, k0, d_qk, d_v;
    int head_major, pad, want_lse;
    double tol_fp16, tol_bf16, tol_fp32, tol_lse;
} attn_case;

typedef struct attn_bufs {
    pair Q, K, V, O, lse;
    int kvh, kv_base;
    size_t q_ld, q_head, q_seq, k_ld, k_head, k_seq, v_ld, v_head, v_seq, o_ld, o_head, o_seq;
} attn_bufs;

static void attn_layout(const attn_case *t, int d, size_t *ld, size_t *head, size_t *seq) {
    if (t->head_major) *ld = (size_t)d + t->pad, *head = (size_t)t->Tq * *ld, *seq = (size_t)t->heads * *head;
    else *ld = (size_t)t->heads * d + t->pad, *head = (size_t)d, *seq = (size_t)t->Tq * *ld;
}

static attn_bufs attn_bufs_new(const attn_case *t) {
    attn_bufs b;
    b.kv_base = t->head0 / t->qpk;
    b.kvh = (t->head0 + t->heads - 1) / t->qpk - b.kv_base + 1;
    attn_layout(t, t->d_qk, &b.q_ld, &b.q_head, &b.q_seq);
    attn_layout(t, t->d_v, &b.o_ld, &b.o_head, &b.o_seq);
    b.k_ld = (size_t)b.kvh * t->d_qk + t->pad, b.k_head = t->d_qk, b.k_seq = (size_t)t->Tk * b.k_ld;
    b.v_ld = (size_t)b.kvh * t->d_v + t->pad, b.v_head = t->d_v, b.v_seq = (size_t)t->Tk * b.v_ld;
    /* spread +-2: scores of a few units, so the softmax is neither flat nor one-hot */
    b.Q = pair_random(b.q_seq * t->seqs, -2.0f, 2.0f, 0);
    b.K = pair_random(b.k_seq * t->seqs, -2.0f, 2.0f, 0);
    b.V = pair_random(b.v_seq * t->seqs, -1.0f, 1.0f, 0);
    b.O = pair_new(b.o_seq * t->seqs, 0);
    b.lse = pair_new((size_t)t->seqs * t->heads * t->Tq, 1);
    poison(&b.O);
    poison(&b.lse);
    return b;
}

static void attn_bufs_free(attn_bufs *b) {
    pair_free(&b->Q), pair_free(&b->K), pair_free(&b->V), pair_free(&b->O), pair_free(&b->lse);
}

/* the call on backend be over keys [kb, kb + nk) of the cache (k0 = t->k0 + kb), into O
 * and lse (pointers of that backend's side) */
static attn_fused_args attn_args(const attn_case *t, const attn_bufs *b, attn_backend *be, int kb, int nk, attn_ptr O,
                                 attn_ptr lse) {
    int gpu = be == G;
    attn_fused_args a = {
        .seqs = t->seqs, .heads = t->heads, .head0 = t->head0, .qpk = t->qpk, .kv_base = b->kv_base,
        .Tq = t->Tq, .Tk = nk, .q0 = t->q0, .k0 = t->k0 + kb, .d_qk = t->d_qk, .d_v = t->d_v,
        .scale = 1.0f / sqrtf((float)t->d_qk),
        .Q = gpu ? b->Q.g : b->Q.c, .q_ld = b->q_ld, .q_head = b->q_head, .q_seq = b->q_seq,
        .K = attn_ptr_at(be, gpu ? b->K.g : b->K.c, (size_t)kb * b->k_ld), .k_ld = b->k_ld, .k_head = b->k_head,
        .k_seq = b->k_seq,
        .V = attn_ptr_at(be, gpu ? b->V.g : b->V.c, (size_t)kb * b->v_ld), .v_ld = b->v_ld, .v_head = b->v_head,
        .v_seq = b->v_seq,
        .O = O, .o_ld = b->o_ld, .o_head = b->o_head, .o_seq = b->o_seq, .lse = lse,
    };
    return a;
}

/* O (the d_v columns of every row, not the padding) and lse against the CPU side */
static void attn_compare(const char *what, attn_dtype dt, const attn_case *t, const attn_bufs *b, const pair *O,
                         const pair *lse, int check_lse) {
    float *g = malloc(O->n * sizeof *g), *c = malloc(O->n * sizeof *c);
    size_t nl = (size_t)t->seqs * t->heads * t->Tq;
    float *gl = malloc(nl * sizeof *gl), *cl = malloc(nl * sizeof *cl);
    if (!g || !c || !gl || !cl) exit(2);
    download(O, g, c);
    if (check_lse) download(lse, gl, cl);
    double num = 0, den = 0, lse_err = 0;
    size_t bad = 0, masked = 0, masked_wrong = 0;
    for (int s = 0; s < t->seqs; s++)
        for (int h = 0; h < t->heads; h++)
            for (int i = 0; i < t->Tq; i++) {
                size_t r = ((size_t)s * t->heads + h) * t->Tq + i, at = s * b->o_seq + h * b->o_head + i * b->o_ld;
                /* no visible key: q0 + i < k0, the first key's position */
                int none = (long long)t->q0 + i < t->k0 || t->Tk == 0;
                masked += none;
                for (int k = 0; k < t->d_v; k++) {
                    float x = g[at + k], y = c[at + k];
                    if (!isfinite(x) || !isfinite(y)) {
                        bad++;
                        continue;
                    }
                    if (none && (x != 0.0f || y != 0.0f)) masked_wrong++;
                    num += ((double)x - y) * ((double)x - y);
                    den += (double)y * y;
                }
                if (!check_lse) continue;
                if (none) {
                    if (!(isinf(gl[r]) && gl[r] < 0 && isinf(cl[r]) && cl[r] < 0)) masked_wrong++;
                } else if (!isfinite(gl[r]) || !isfinite(cl[r])) {
                    bad++;
                } else {
                    lse_err = fmax(lse_err, fabs((double)gl[r] - cl[r]));
                }
            }
    double rel = den > 0 ? sqrt(num / den) : 1.0;
    double bound = dt == DTYPE_FP16 ? t->tol_fp16 : dt == DTYPE_BF16 ? t->tol_bf16 : t->tol_fp32;
    int ok = bad == 0 && masked_wrong == 0 && rel <= bound && lse_err <= t->tol_lse;
    printf("%-4s %-34s %s rel_err %.3e (bound %.0e) lse %.1e (bound %.0e) masked rows %zu, wrong %zu, "
           "non-finite %zu\n",
           ok ? "ok" : "FAIL", what, dt_name(dt), rel, bound, lse_err, t->tol_lse, masked, masked_wrong, bad);
    CHECK(bad == 0, "%s %s: %zu non-finite or unwritten elements", what, dt_name(dt), bad);
    CHECK(masked_wrong == 0, "%s %s: %zu values of rows without a visible key are not O = 0, lse = -inf", what,
          dt_name(dt), masked_wrong);
    CHECK(rel <= bound, "%s %s: relative error %.3e over %.0e", what, dt_name(dt), rel, bound);
    CHECK(lse_err <= t->tol_lse, "%s %s: lse error %.3e over %.0e", what, dt_name(dt), lse_err, t->tol_lse);
    free(g), free(c), free(gl), free(cl);
}

static void test_attention_case(attn_dtype dt, const attn_case *t) {
    attn_bufs b = attn_bufs_new(t);
    attn_fused_args ag = attn_args(t, &b, G, 0, t->Tk, b.O.g, t->want_lse ? b.lse.g : (attn_ptr){NULL});
    attn_fused_args ac = attn_args(t, &b, C, 0, t->Tk, b.O.c, t->want_lse ? b.lse.c : (attn_ptr){NULL});
    G->attention_fused(G->ctx, &ag);
    C->attention_fused(C->ctx, &ac);
    G->synchronize(G->ctx);
    attn_compare(t->name, dt, t, &b, &b.O, &b.lse, t->want_lse);
    if (!t->want_lse) { /* lse NULL: nothing written there (still the poison on both sides) */
        float *g = malloc(b.lse.n * sizeof *g), *c = malloc(b.lse.n * sizeof *c);
        if (!g || !c) exit(2);
        download(&b.lse, g, c);
        size_t touched = 0;
        for (size_t i = 0; i < b.lse.n; i++) touched += !isnan(g[i]);
        CHECK(touched == 0, "%s %s: lse NULL, yet %zu lse elements written", t->name, dt_name(dt), touched);
        free(g), free(c);
    }

    /* the merge: keys cut at a random point into [0, cut) and [cut, Tk), each half by the
     * CUDA fused op, merged by the CUDA merge, against the CPU's one call over all keys */
    if (t->Tk >= 2) {
        int cut = 1 + (int)uniform(0.0f, (float)(t->Tk - 1));
        if (cut >= t->Tk) cut = t->Tk - 1;
        pair O2 = pair_new(b.O.n, 0), l2 = pair_new(b.lse.n, 1);
        poison(&b.O), poison(&O2), poison(&b.lse), poison(&l2);
        attn_fused_args a1 = attn_args(t, &b, G, 0, cut, b.O.g, b.lse.g);
        attn_fused_args a2 = attn_args(t, &b, G, cut, t->Tk - cut, O2.g, l2.g);
        G->attention_fused(G->ctx, &a1);
        G->attention_fused(G->ctx, &a2);
        attn_merge_args mg = {t->seqs, t->heads, t->Tq, t->d_v, b.O.g, b.o_ld, b.o_head, b.o_seq,
                              O2.g, b.o_ld, b.o_head, b.o_seq, b.lse.g, l2.g};
        G->attention_merge(G->ctx, &mg);
        attn_fused_args whole = attn_args(t, &b, C, 0, t->Tk, b.O.c, b.lse.c);
        C->attention_fused(C->ctx, &whole);
        G->synchronize(G->ctx);
        char what[96];
        snprintf(what, sizeof what, "merge at key %d: %s", cut, t->name);
        attn_compare(what, dt, t, &b, &b.O, &b.lse, 1);
        pair_free(&O2), pair_free(&l2);
    }
    attn_bufs_free(&b);
}

static void test_attention(attn_dtype dt) {
    if (!G->attention_fused || !G->attention_merge || !C->attention_fused || !C->attention_merge) {
        CHECK(0, "attention_fused / attention_merge missing on a backend");
        return;
    }
    /*  name                               seqs heads h0 qpk  Tq    Tk    q0   k0  dqk dv  hm pad lse  fp16  bf16  fp32  lse */
    static const attn_case cases[] = {
        {"prefill MHA d64",                    2, 3, 0, 1,   77,   77,    0,   0,  64, 64, 0, 0, 1, 1e-3, 8e-3, 5e-6, 2e-5},
        {"prefill GQA qpk4 d128 padded",       1, 8, 4, 4,  130,  130,    0,   0, 128,128, 0, 8, 1, 1e-3, 8e-3, 5e-6, 2e-5},
        {"chunk q0=100 qpk8 d128, lse NULL",   2, 8, 0, 8,   40,  140,  100,   0, 128,128, 0, 0, 0, 1e-3, 8e-3, 5e-6, 2e-5},
        {"d_qk 128 != d_v 64, head-major",     2, 2, 0, 1,   33,   33,    0,   0, 128, 64, 1, 0, 1, 1e-3, 8e-3, 5e-6, 2e-5},
        {"prefill d256 qpk2",                  1, 2, 2, 2,   70,   70,    0,   0, 256,256, 0, 0, 1, 1e-3, 8e-3, 5e-6, 2e-5},
        {"prefill d80, 65 rows",               1, 2, 0, 1,   65,   65,    0,   0,  80, 80, 0, 0, 1, 1e-3, 8e-3, 5e-6, 2e-5},
        {"d64 rows padded by 1 (scalar loads)",  1, 2, 0, 1,   50,   50,    0,   0,  64, 64, 0, 1, 1, 1e-3, 8e-3, 5e-6, 2e-5},
        {"odd widths 37/21 padded (SIMT)",     2, 2, 0, 1,   19,   50,   31,   0,  37, 21, 0, 3, 1, 1e-3, 8e-3, 5e-6, 2e-5},
        {"keys from k0=40, rows w/o keys",     2, 4, 0, 4,   20,   30,   30,  40,  64, 64, 0, 0, 1, 1e-3, 8e-3, 5e-6, 2e-5},
        {"decode split-KV qpk4 d128 Tk2000",   3, 8, 0, 4,    1, 2000, 1999,   0, 128,128, 0, 0, 1, 1e-3, 8e-3, 5e-6, 2e-5},
        {"decode split-KV d256 Tk777",         1, 2, 0, 1,    1,  777,  776,   0, 256,256, 0, 0, 1, 1e-3, 8e-3, 5e-6, 2e-5},
        {"decode 4 rows qpk2 d96 Tk504",       2, 4, 0, 2,    4,  504,  500,   0,  96, 96, 0, 0, 1, 1e-3, 8e-3, 5e-6, 2e-5},
        {"split-KV, most ranges masked",       1, 4, 0, 4,    2, 2000,   10,   0,  64, 64, 0, 0, 1, 1e-3, 8e-3, 5e-6, 2e-5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) test_attention_case(dt, &cases[i]);
}

/* fp32 upload/download round trips exactly; storage-type ones within one rounding */
static void test_transfers(attn_dtype dt) {
    enum { N = 1000 };
    pair s = pair_random(N, -3.0f, 3.0f, 1);
    float *h = host_random(N, -3.0f, 3.0f), *back = malloc(N * sizeof *back);
    if (!back) exit(2);
    G->upload_f32(G->ctx, s.g, h, N);
    G->download_f32(G->ctx, back, s.g, N);
    CHECK(memcmp(h, back, N * sizeof *h) == 0, "upload_f32/download_f32 %s do not round-trip", dt_name(dt));
    pair x = pair_new(N, 0);
    G->upload(G->ctx, x.g, h, N);
    G->download(G->ctx, back, x.g, N);
    double worst = 0;
    for (int i = 0; i < N; i++) worst = fmax(worst, fabs((double)back[i] - h[i]) / fabs((double)h[i]));
    double tol = dt == DTYPE_FP32 ? 0.0 : dt == DTYPE_FP16 ? 4.9e-4 : 3.9e-3; /* half an ulp */
    printf("%-4s upload/download                    %s worst rel %.2e (bound %.1e)\n", worst <= tol ? "ok" : "FAIL",
           dt_name(dt), worst, tol);
    CHECK(worst <= tol, "upload/download %s: worst relative error %.3e over %.1e", dt_name(dt), worst, tol);
    free(h);
    free(back);
    pair_free(&s);
    pair_free(&x);
}

/* The decode-graph ops (backend.h set_step ... graph_reset): RoPE, a KV-cache append and a
 * causal softmax over a whole cache, recorded once in a graph with the position in the step
 * slots, then replayed at positions 5..8, each replay against the CPU backend's eager ops
 * at that position (positions in the arguments). */
static void test_step_graph(attn_dtype dt) {
    enum { S = 3, NH = 4, HS = 6, HEAD_DIM = 16, TMAX = 9, W = 10, SH = 5 };
    if (!G->graph_begin) {
        CHECK(0, "the CUDA backend has no decode-graph hooks");
        return;
    }
    pair r = pair_random((size_t)S * NH * HS, -1.0f, 1.0f, 0), cache = pair_random((size_t)S * TMAX * W, -1.0f, 1.0f, 0);
    pair src = pair_random((size_t)S * W, -1.0f, 1.0f, 0), sc = pair_random((size_t)SH * TMAX, -30.0f, 30.0f, 1);
    pair p = pair_new((size_t)SH * TMAX, 0);
    size_t nodes = 0;
    char what[96];
    for (int pos = 5; pos < TMAX; pos++) {
        int slot[1] = {pos};
        CHECK(G->set_step(G->ctx, slot, 1) == 0, "set_step %s", dt_name(dt));
        if (pos == 5) {
            poison(&p);
            CHECK(G->graph_begin(G->ctx) == 0, "graph_begin %s", dt_name(dt));
            G->rope_step(G->ctx, r.g, S, 1, NH, HS, 2, HEAD_DIM, 10000.0f);
            G->cache_write_step(G->ctx, cache.g, (size_t)TMAX * W, src.g, W, S, W);
            G->softmax_causal_step(G->ctx, p.g, sc.g, SH, 1, TMAX, 0.125f);
            CHECK(G->graph_end(G->ctx, &nodes) == 0, "graph_end %s", dt_name(dt));
            CHECK(nodes == 3, "the recorded graph has %zu nodes, not the 3 ops", nodes);
        }
        CHECK(G->graph_launch(G->ctx) == 0, "graph_launch %s", dt_name(dt));
        C->rope(C->ctx, r.c, S, 1, NH, HS, pos, 2, HEAD_DIM, 10000.0f);
        for (int q = 0; q < S; q++)
            C->copy2d(C->ctx, attn_ptr_at(C, cache.c, ((size_t)q * TMAX + pos) * W), W, attn_ptr_at(C, src.c, (size_t)q * W),
                      W, 1, W);
        C->softmax_causal(C->ctx, p.c, sc.c, SH, 1, TMAX, pos, 0.125f);
        snprintf(what, sizeof what, "graph replay at pos %d: rope", pos);
        compare(what, dt, &r);
        snprintf(what, sizeof what, "graph replay at pos %d: softmax", pos);
        compare(what, dt, &p);
    }
    compare_within("graph replays: cache rows 5..8", dt, &cache, 0.0);
    G->graph_reset(G->ctx);
    pair *all[] = {&r, &cache, &src, &sc, &p};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) pair_free(all[i]);
}

int main(void) {
    C = attn_backend_cpu_create(1);
    if (!C) return 2;
    static const attn_dtype dts[] = {DTYPE_FP32, DTYPE_FP16, DTYPE_BF16};
    for (int i = 0; i < 3; i++) {
        G = attn_backend_cuda_create(-1, dts[i], NULL);
        if (!G) {
            C->destroy(C);
            printf("test_backend_ops: no usable CUDA device: skipped\n");
            return 77;
        }
        size_t start = 0, end = 0, peak = 0;
        G->mem_stats(G->ctx, &start, NULL); /* the backend's own buffers (workspace, staging) */
        test_transfers(dts[i]);
        test_gemms(dts[i]);
        test_elementwise(dts[i]);
        test_softmax(dts[i]);
        test_attention(dts[i]);
        test_step_graph(dts[i]);
        G->mem_stats(G->ctx, &end, &peak);
        CHECK(end == start && peak > start, "mem_stats %s: %zu bytes in use at the start, %zu at the end, peak %zu",
              dt_name(dts[i]), start, end, peak);
        G->destroy(G);
    }
    C->destroy(C);
    return check_finish("test_backend_ops");
}
