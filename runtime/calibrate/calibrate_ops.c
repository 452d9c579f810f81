/* calibrate_ops.c: the compute side of `attnrun --calibrate`: GEMMs at the shapes plans
 * use, every elementwise kernel and the softmax over a range of sizes, and the fixed cost
 * of one op. Everything goes through the backend (backend.h), so a GPU backend is measured
 * by the same code. Each point: a warm-up call, then `samples` samples, each repeating the
 * call until it lasts min_sample_s; the median sample per call (the statistic attnrun
 * reports for a plan's runs), then the slowest rank's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "calibrate.h"

double cal_world_max(cal_ctx *c, double v) { return c->comm ? c->comm->host_max_double(c->comm, v) : v; }

/* Weighted least squares of t = a + b x with weights 1/t^2 (relative error). */
int cal_fit_line(const double *x, const double *t, int n, double *a, double *b) {
    double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < n; i++) {
        if (!(t[i] > 0)) return -1;
        double w = 1.0 / (t[i] * t[i]);
        sw += w, sx += w * x[i], sy += w * t[i], sxx += w * x[i] * x[i], sxy += w * x[i] * t[i];
    }
    double det = sw * sxx - sx * sx;
    if (n < 2 || !(fabs(det) > 0)) return -1;
    *a = (sy * sxx - sx * sxy) / det;
    *b = (sw * sxy - sx * sy) / det;
    if (*a < 0) { /* a negative fixed cost is noise: refit through the origin */
        *a = 0;
        *b = sxx > 0 ? sxy / sxx : 0;
    }
    return *b > 0 ? 0 : -1;
}

double cal_time_op(cal_ctx *c, cal_op_fn fn, void *arg, int barrier, int max_reps) {
    fn(c, arg, 0); /* warm-up: first touch, OpenBLAS buffers */
    c->be->synchronize(c->be->ctx);
    if (barrier) c->comm->barrier(c->comm, GROUP_KIND_COUNT);
    double t0 = measure_now();
    fn(c, arg, 1);
    c->be->synchronize(c->be->ctx);
    double once = cal_world_max(c, measure_now() - t0);
    int reps = once > 0 ? (int)ceil(c->min_sample_s / once) : 1000;
    if (reps < 1) reps = 1;
    if (reps > max_reps) reps = max_reps;
    double s[16];
    int ns = c->samples < 16 ? c->samples : 16;
    for (int i = 0; i < ns; i++) {
        if (barrier) c->comm->barrier(c->comm, GROUP_KIND_COUNT);
        t0 = measure_now();
        for (int r = 0; r < reps; r++) fn(c, arg, r);
        c->be->synchronize(c->be->ctx);
        s[i] = (measure_now() - t0) / reps;
    }
    return cal_world_max(c, measure_median(s, ns));
}

/* A kernel or GEMM: every rank times its own op, no barrier between samples. */
static double time_op(cal_ctx *c, cal_op_fn fn, void *arg) { return cal_time_op(c, fn, arg, 0, 100000); }

/* ---- GEMMs ---- */

/* Operands as the runtime's calls see them: A (the activations, or q / the probabilities)
 * and C were just written, so they are reused hot; B (the weights, or the KV cache) walks
 * through a pool as large as the rank's working set between two uses of the same weights
 * (cal_gemm.working_set): a model whose layers fit in L2 runs from L2, one that touches
 * tens of MiB per pass reads its weights from memory. Without a model: 4 MiB. */
#define GEMM_DEFAULT_WORKING_SET (4u << 20)
#define GEMM_MAX_POOL (256u << 20)

typedef struct gemm_arg {
    const cal_gemm *g;
    size_t positions;       /* distinct B matrices in the pool */
    attn_ptr a, pool, cbuf;
    size_t b_n;             /* elements one B spans with its row stride */
    int ldb;
} gemm_arg;

static void run_gemm(cal_ctx *c, void *varg, int iter) {
    gemm_arg *ga = varg;
    const cal_gemm *g = ga->g;
    /* a strided B (the KV cache) is visited head after head, as the runtime's loop does */
    size_t heads = (size_t)ga->ldb / (size_t)(g->kind == CALIBRATION_GEMM_PV ? g->n : g->k), i = (size_t)iter;
    size_t at = (i / heads) % ga->positions * ga->b_n + i % heads * (ga->ldb / heads);
    attn_ptr A = ga->a, C = ga->cbuf, B = attn_ptr_at(c->be, ga->pool, at);
    /* reuse > 1: one strided-batched call of `reuse` query heads on one kv head (B stride 0),
     * with forward_attn.c's layouts: q.k^T reads q heads interleaved in a row and writes
     * packed score blocks; p.v reads packed probabilities and writes interleaved heads */
    long long r = g->reuse > 1 ? g->reuse : 1;
    if (g->kind == CALIBRATION_GEMM_PV) /* P[M,K] . V[K,N] */
        c->be->gemm(c->be->ctx, 0, 0, g->m, g->n, g->k, 1.0f, A, g->k, (long long)g->m * g->k, B, ga->ldb, 0, 0.0f,
                    C, (int)(r * g->n), g->n, (int)r);
    else if (g->kind == CALIBRATION_GEMM_SCORES) /* Q[M,K] . K[N,K]^T into fp32 scores, as forward_attn.c */
        c->be->gemm_to_f32(c->be->ctx, 0, 1, g->m, g->n, g->k, 1.0f, A, (int)(r * g->k), g->k, B, ga->ldb, 0, 0.0f,
                           C, g->n, (long long)g->m * g->n, (int)r);
    else /* X[M,K] . W[N,K]^T: projections */
        c->be->gemm(c->be->ctx, 0, 1, g->m, g->n, g->k, 1.0f, A, g->k, 0, B, ga->ldb, 0, 0.0f, C, g->n, 0, 1);
}

/* The B pool, shared by every shape: grown to the largest working set asked for. */
static int pool_reserve(cal_ctx *c, size_t elems) {
    if (elems <= c->pool_elems) return 0;
    c->be->free(c->be->ctx, c->pool);
    c->pool = c->be->alloc(c->be->ctx, elems);
    c->pool_elems = attn_ptr_null(c->pool) ? 0 : elems;
    if (!c->pool_elems) return -1;
    c->be->fill(c->be->ctx, c->pool, elems, 0.02f); /* small values: no denormals or infinities */
    return 0;
}

static int measure_gemm(cal_ctx *c, cal_gemm *g) {
    size_t r = g->reuse > 1 ? (size_t)g->reuse : 1; /* batch entries: A and C per entry, one B */
    size_t eb = c->be->elem_bytes, a_n = (size_t)g->m * g->k * r, c_n = (size_t)g->m * g->n * r;
    /* B's rows: N rows of K (projections, q.k^T) or K rows of N (p.v), at the runtime's
     * stride (the KV cache interleaves its heads: ldb = heads x width) */
    int rows = g->kind == CALIBRATION_GEMM_PV ? g->k : g->n, width = g->kind == CALIBRATION_GEMM_PV ? g->n : g->k;
    gemm_arg ga = {.g = g, .ldb = g->ldb > width ? g->ldb : width};
    ga.b_n = (size_t)rows * ga.ldb;
    double ws = g->working_set > 0 ? g->working_set : GEMM_DEFAULT_WORKING_SET;
    if (ws > GEMM_MAX_POOL) ws = GEMM_MAX_POOL;
    ga.positions = (size_t)(ws / (double)(ga.b_n * eb));
    if (ga.positions < 1) ga.positions = 1;
    ga.a = c->be->alloc(c->be->ctx, a_n);
    ga.cbuf = g->kind == CALIBRATION_GEMM_SCORES ? c->be->alloc_f32(c->be->ctx, c_n) : c->be->alloc(c->be->ctx, c_n);
    int ok = !attn_ptr_null(ga.a) && !attn_ptr_null(ga.cbuf) && pool_reserve(c, ga.positions * ga.b_n) == 0;
    if (ok) {
        ga.pool = c->pool;
        c->be->fill(c->be->ctx, ga.a, a_n, 0.01f);
        g->seconds = time_op(c, run_gemm, &ga);
        g->flops_per_s = g->seconds > 0 ? 2.0 * g->m * g->n * g->k * (double)r / g->seconds : 0;
    }
    c->be->free(c->be->ctx, ga.a);
    c->be->free(c->be->ctx, ga.cbuf);
    if (!ok) fprintf(stderr, "attnrun: error: calibrate: cannot allocate the GEMM %dx%dx%d\n", g->m, g->n, g->k);
    return ok ? 0 : -1;
}

/* ---- the fused attention ---- */

static int fill_spread_seeded(cal_ctx *c, attn_ptr dst, size_t count, float scale, int f32, unsigned long long seed);

/* Q [seqs][heads][tq][d_qk], K and V [seqs][kv heads][tk][d], O [seqs][heads][tq][d_v],
 * lse fp32: a plan's q, cache and output layouts up to strides (the kernel reads rows by
 * stride, so packed rows time the same loops). */
typedef struct attn_arg {
    attn_fused_args a;
    attn_ptr kpool, vpool;  /* `positions` copies of K and V, one per call in turn */
    size_t positions, k_n, v_n;
} attn_arg;

static void run_attention(cal_ctx *c, void *varg, int iter) {
    attn_arg *g = varg;
    size_t at = (size_t)iter % g->positions;
    g->a.K = attn_ptr_at(c->be, g->kpool, at * g->k_n);
    g->a.V = attn_ptr_at(c->be, g->vpool, at * g->v_n);
    c->be->attention_fused(c->be->ctx, &g->a);
}

static int measure_attention(cal_ctx *c, cal_attention *s) {
    int kvh = (s->heads + s->qpk - 1) / s->qpk;
    size_t q_n = (size_t)s->seqs * s->heads * s->tq * s->d_qk, o_n = (size_t)s->seqs * s->heads * s->tq * s->d_v;
    size_t k_n = (size_t)s->seqs * kvh * s->tk * s->d_qk, v_n = (size_t)s->seqs * kvh * s->tk * s->d_v;
    attn_arg ga;
    memset(&ga, 0, sizeof ga);
    attn_fused_args *a = &ga.a;
    *a = (attn_fused_args){.seqs = s->seqs, .heads = s->heads, .head0 = 0, .qpk = s->qpk, .kv_base = 0, .Tq = s->tq,
                           .Tk = s->tk, .q0 = s->tk - s->tq, .k0 = 0, .d_qk = s->d_qk, .d_v = s->d_v,
                           .scale = 1.0f / sqrtf((float)s->d_qk)};
    a->q_ld = (size_t)s->d_qk, a->q_head = (size_t)s->tq * s->d_qk, a->q_seq = a->q_head * s->heads;
    a->k_ld = (size_t)s->d_qk, a->k_head = (size_t)s->tk * s->d_qk, a->k_seq = a->k_head * kvh;
    a->v_ld = (size_t)s->d_v, a->v_head = (size_t)s->tk * s->d_v, a->v_seq = a->v_head * kvh;
    a->o_ld = (size_t)s->d_v, a->o_head = (size_t)s->tq * s->d_v, a->o_seq = a->o_head * s->heads;
    /* Q and O were just written or are read next, so they stay hot; K and V (the layer's
     * cache) walk a pool as large as the rank's working set, as the GEMMs' B operands do:
     * a decode step reads each layer's cache once, after the other layers' weights and
     * caches went through the caches (timed on the same buffers every call, small's decode
     * step ran 3.7x faster here than inside the forward: docs/accuracy.md) */
    double ws = s->working_set > 0 ? s->working_set : GEMM_DEFAULT_WORKING_SET;
    if (ws > GEMM_MAX_POOL) ws = GEMM_MAX_POOL;
    ga.k_n = k_n, ga.v_n = v_n;
    ga.positions = (size_t)(ws / ((double)(k_n + v_n) * (double)c->be->elem_bytes));
    if (ga.positions < 1) ga.positions = 1;
    a->Q = c->be->alloc(c->be->ctx, q_n);
    ga.kpool = c->be->alloc(c->be->ctx, ga.positions * k_n);
    ga.vpool = c->be->alloc(c->be->ctx, ga.positions * v_n);
    a->K = ga.kpool, a->V = ga.vpool;
    a->O = c->be->alloc(c->be->ctx, o_n);
    a->lse = c->be->alloc_f32(c->be->ctx, (size_t)s->seqs * s->heads * s->tq);
    int ok = !attn_ptr_null(a->Q) && !attn_ptr_null(a->K) && !attn_ptr_null(a->V) && !attn_ptr_null(a->O) &&
             !attn_ptr_null(a->lse);
    /* values spread like activations, logits of a few units (q.k / sqrt(d) of std about
     * 2): the online softmax rescales its accumulators when a key tile raises a row's
     * maximum, as a plan's calls do; constant inputs never did */
    if (ok) ok = fill_spread_seeded(c, a->Q, q_n, 1.0f, 0, 1) == 0 && fill_spread_seeded(c, ga.kpool, ga.positions * k_n, 2.0f, 0, 2) == 0 &&
                 fill_spread_seeded(c, ga.vpool, ga.positions * v_n, 1.0f, 0, 3) == 0;
    if (ok) s->seconds = time_op(c, run_attention, &ga);
    c->be->free(c->be->ctx, a->Q);
    c->be->free(c->be->ctx, ga.kpool);
    c->be->free(c->be->ctx, ga.vpool);
    c->be->free(c->be->ctx, a->O);
    c->be->free(c->be->ctx, a->lse);
    if (!ok)
        fprintf(stderr, "attnrun: error: calibrate: cannot allocate the fused attention %d x %d of %d x %d\n", s->tq,
                s->tk, s->seqs, s->heads);
    return ok ? 0 : -1;
}

int cal_measure_attention(cal_ctx *c) {
    if (!c->be->attention_fused) return 0;
    int rc = 0;
    for (int i = 0; i < c->n_attention && !rc; i++) rc = measure_attention(c, &c->attention[i]);
    return rc;
}

int cal_measure_gemms(cal_ctx *c) {
    int rc = 0;
    for (int i = 0; i < c->n_gemm && !rc; i++) rc = measure_gemm(c, &c->gemm[i]);
    c->be->free(c->be->ctx, c->pool);
    c->pool = (attn_ptr){NULL};
    c->pool_elems = 0;
    return rc;
}

/* ---- elementwise kernels and softmax ---- */

/* libm's tanh and exp take value-dependent paths, so kernels are timed on values spread
 * like activations (a fixed pseudo-random sequence, roughly normal, |x| < 4 x scale),
 * never on a constant. 0 ok, -1 after a message. */
/* f32: dst is an fp32 buffer (alloc_f32) rather than one of the storage type; seed: which
 * sequence (the fused attention's Q and K must not be copies of each other) */
static int fill_spread_seeded(cal_ctx *c, attn_ptr dst, size_t count, float scale, int f32, unsigned long long seed) {
    float *h = malloc(count * sizeof *h);
    if (!h) {
        fprintf(stderr, "attnrun: error: calibrate: out of memory\n");
        return -1;
    }
    unsigned long long x = 0x9e3779b97f4a7c15ull * (2 * seed + 1);
    for (size_t i = 0; i < count; i++) {
        double sum = 0; /* Irwin-Hall: the sum of 4 uniforms, centred */
        for (int j = 0; j < 4; j++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            sum += (double)(x >> 11) / 9007199254740992.0;
        }
        h[i] = (float)((sum - 2.0) * 1.7 * scale);
    }
    int rc = (f32 ? c->be->upload_f32 : c->be->upload)(c->be->ctx, dst, h, count);
    free(h);
    return rc;
}

static int fill_spread(cal_ctx *c, attn_ptr dst, size_t count, float scale, int f32) {
    return fill_spread_seeded(c, dst, count, scale, f32, 0);
}

#define KERNEL_WIDTH 256 /* channels per row (hidden, or heads x head width) */

typedef struct kern_arg {
    int kind, rows;
    attn_ptr x, y, z, w;
} kern_arg;

static void run_kernel(cal_ctx *c, void *varg, int iter) {
    kern_arg *k = varg;
    attn_backend *be = c->be;
    void *bc = be->ctx;
    size_t n = (size_t)k->rows * KERNEL_WIDTH;
    (void)iter;
    switch (k->kind) {
    case CALIBRATION_KERNEL_LAYERNORM: be->layernorm(bc, k->y, k->x, k->w, k->w, k->rows, KERNEL_WIDTH, 1e-5f); break;
    case CALIBRATION_KERNEL_RMSNORM: be->rmsnorm(bc, k->y, k->x, k->w, k->rows, KERNEL_WIDTH, 1e-5f); break;
    case CALIBRATION_KERNEL_ROPE: /* 8 heads of 32 dims, positions 0.. of one sequence */
        be->rope(bc, k->y, k->rows, k->rows, 8, KERNEL_WIDTH / 8, 0, 0, KERNEL_WIDTH / 8, 10000.0f);
        break;
    case CALIBRATION_KERNEL_GELU: be->gelu(bc, k->y, k->x, n); break;
    case CALIBRATION_KERNEL_SWIGLU: be->swiglu(bc, k->z, k->x, k->y, n); break;
    case CALIBRATION_KERNEL_RESIDUAL: be->residual(bc, k->z, k->x, k->y, n); break;
    case CALIBRATION_KERNEL_KV_COPY: be->copy2d(bc, k->y, KERNEL_WIDTH, k->x, KERNEL_WIDTH, (size_t)k->rows, KERNEL_WIDTH); break;
    default: break;
    }
}

/* Bytes the cost model counts for the kernel on rows x KERNEL_WIDTH elements. */
static double kernel_bytes(int kind, int rows, double eb) {
    double n = (double)rows * KERNEL_WIDTH;
    switch (kind) {
    case CALIBRATION_KERNEL_LAYERNORM: return eb * (2 * n + 2 * KERNEL_WIDTH);
    case CALIBRATION_KERNEL_RMSNORM: return eb * (2 * n + KERNEL_WIDTH);
    case CALIBRATION_KERNEL_ROPE: return 2 * eb * n;
    case CALIBRATION_KERNEL_GELU: return 2 * eb * n;
    case CALIBRATION_KERNEL_SWIGLU: return 3 * eb * n;
    case CALIBRATION_KERNEL_RESIDUAL: return 3 * eb * n;
    default: return 2 * eb * n; /* copy: read + write */
    }
}

/* Softmax over heads x Tq x Tk: Tq = Tk causal blocks (prefill) and single rows (decode). */
typedef struct soft_arg {
    int heads, tq, tk;
    attn_ptr s, out;        /* out of place, so every call sees the same logits */
} soft_arg;

static void run_softmax(cal_ctx *c, void *varg, int iter) {
    soft_arg *a = varg;
    (void)iter;
    c->be->softmax_causal(c->be->ctx, a->out, a->s, a->heads, a->tq, a->tk, a->tk - a->tq, 0.125f);
}

static const int kernel_rows[] = {1, 4, 16, 64, 256, 1024, 4096};
#define N_ROWS ((int)(sizeof kernel_rows / sizeof kernel_rows[0]))

static int measure_softmax(cal_ctx *c, cal_kernel *out, double *decode_bw) {
    /* prefill-like: causal square blocks of 8 heads; decode-like: one query row over keys */
    static const int tk[] = {16, 32, 64, 128, 256, 512};
    double eb = (double)c->be->elem_bytes;
    double x[6], t[6], xd[6], td[6];
    attn_ptr s = c->be->alloc_f32(c->be->ctx, (size_t)8 * 512 * 512), o = c->be->alloc(c->be->ctx, (size_t)8 * 512 * 512);
    if (attn_ptr_null(s) || attn_ptr_null(o)) {
        c->be->free(c->be->ctx, s);
        c->be->free(c->be->ctx, o);
        return -1;
    }
    if (fill_spread(c, s, (size_t)8 * 512 * 512, 4.0f, 1) != 0) { /* logits of a few units */
        c->be->free(c->be->ctx, s);
        c->be->free(c->be->ctx, o);
        return -1;
    }
    for (int i = 0; i < 6; i++) {
        soft_arg a = {8, tk[i], tk[i], s, o};
        x[i] = (4 + eb) * 8.0 * tk[i] * tk[i]; /* fp32 scores in, probabilities out */
        t[i] = time_op(c, run_softmax, &a);
        soft_arg d = {8 * 4, 1, tk[i] * 4, s, o};
        xd[i] = (4 + eb) * 32.0 * tk[i] * 4;
        td[i] = time_op(c, run_softmax, &d);
    }
    c->be->free(c->be->ctx, s);
    c->be->free(c->be->ctx, o);
    double a, b, ad, bd;
    if (cal_fit_line(x, t, 6, &a, &b) != 0 || cal_fit_line(xd, td, 6, &ad, &bd) != 0) return -1;
    out->bandwidth = 1.0 / b;
    out->fixed_s = a;
    *decode_bw = 1.0 / bd;
    return 0;
}

int cal_measure_kernels(cal_ctx *c) {
    size_t max_n = (size_t)kernel_rows[N_ROWS - 1] * KERNEL_WIDTH;
    kern_arg k = {0};
    k.x = c->be->alloc(c->be->ctx, max_n);
    k.y = c->be->alloc(c->be->ctx, max_n);
    k.z = c->be->alloc(c->be->ctx, max_n);
    k.w = c->be->alloc(c->be->ctx, KERNEL_WIDTH);
    int rc = 0;
    if (attn_ptr_null(k.x) || attn_ptr_null(k.y) || attn_ptr_null(k.z) || attn_ptr_null(k.w)) rc = -1;
    if (!rc) {
        if (fill_spread(c, k.x, max_n, 1.0f, 0) || fill_spread(c, k.y, max_n, 1.0f, 0)) rc = -1;
        c->be->fill(c->be->ctx, k.w, KERNEL_WIDTH, 1.0f);
    }
    double eb = (double)c->be->elem_bytes, fixed[CALIBRATION_KERNEL_COUNT];
    int n_fixed = 0;
    for (int kind = 0; kind < CALIBRATION_KERNEL_SOFTMAX && !rc; kind++) {
        double x[N_ROWS], t[N_ROWS], a, b;
        for (int i = 0; i < N_ROWS; i++) {
            k.kind = kind;
            k.rows = kernel_rows[i];
            x[i] = kernel_bytes(kind, k.rows, eb);
            t[i] = time_op(c, run_kernel, &k);
        }
        cal_kernel *o = &c->kernel[kind];
        o->name = calibration_kernel_name((calibration_kernel)kind);
        if (cal_fit_line(x, t, N_ROWS, &a, &b) != 0) {
            fprintf(stderr, "attnrun: error: calibrate: the %s timings do not fit t = a + bytes/bw\n", o->name);
            rc = -1;
            break;
        }
        o->bandwidth = 1.0 / b;
        o->fixed_s = a;
        fixed[n_fixed++] = a;
    }
    c->be->free(c->be->ctx, k.x);
    c->be->free(c->be->ctx, k.y);
    c->be->free(c->be->ctx, k.z);
    c->be->free(c->be->ctx, k.w);
    if (rc) return rc;
    cal_kernel *sm = &c->kernel[CALIBRATION_KERNEL_SOFTMAX];
    sm->name = calibration_kernel_name(CALIBRATION_KERNEL_SOFTMAX);
    if (measure_softmax(c, sm, &c->softmax_decode_bandwidth) != 0) {
        fprintf(stderr, "attnrun: error: calibrate: the softmax timings do not fit t = a + bytes/bw\n");
        return -1;
    }
    /* The fixed cost per op: the kernels' median intercept (what a tiny op costs). */
    c->launch_overhead_s = measure_median(fixed, n_fixed);
    return 0;
}
