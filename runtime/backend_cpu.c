/* backend_cpu.c: the CPU backend: fp32 host memory, GEMMs through OpenBLAS (cblas_sgemm,
 * one call per batch entry; a few rows through kernels_cpu_gemm.c), the elementwise ops through the vector kernels of
 * kernels/kernels_cpu_vec.c (checked against kernels_cpu.c's plain references), the fused
 * attention in backend_cpu_attn.c. Op timers are wall clock (CLOCK_MONOTONIC); the CPU
 * runs synchronously, so synchronize is a no-op. */
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "backend.h"
#include "backend_cpu_attn.h"
#include "diag.h"
#include "kernels_cpu.h"
#include "kernels_cpu_gemm.h"
#include "kernels_cpu_vec.h"
#include "metrics.h"

/* OpenBLAS extension; declared here too in case cblas.h is the reference (netlib) header. */
void openblas_set_num_threads(int num_threads);

/* Each allocation carries a header recording its size, for the byte counters. */
typedef struct cpu_alloc_header { size_t bytes; size_t pad; } cpu_alloc_header;

typedef struct cpu_ctx {
    size_t bytes_in_use, bytes_peak;
    double op_started;      /* when the open op began */
    int open_op;            /* -1 when none */
    double op_seconds[OP_COUNT];
    backend_cpu_attn_ws attn_ws; /* the fused attention's scratch */
} cpu_ctx;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static float *F(attn_ptr p) { return (float *)(void *)p.addr; }

static attn_ptr cpu_alloc(void *vctx, size_t count) {
    cpu_ctx *ctx = vctx;
    attn_ptr p = {NULL};
    if (count > (SIZE_MAX - sizeof(cpu_alloc_header)) / sizeof(float)) {
        fprintf(stderr, "%s:%d: error: allocation of %zu floats overflows\n", __FILE__, __LINE__, count);
        return p;
    }
    size_t bytes = count * sizeof(float);
    cpu_alloc_header *h = malloc(sizeof *h + (bytes ? bytes : 1));
    if (!h) {
        fprintf(stderr, "%s:%d: error: out of memory allocating %zu bytes\n", __FILE__, __LINE__, bytes);
        return p;
    }
    h->bytes = bytes;
    ctx->bytes_in_use += bytes;
    if (ctx->bytes_in_use > ctx->bytes_peak) ctx->bytes_peak = ctx->bytes_in_use;
    p.addr = (char *)(h + 1);
    return p;
}

static void cpu_free(void *vctx, attn_ptr p) {
    cpu_ctx *ctx = vctx;
    if (!p.addr) return;
    cpu_alloc_header *h = (cpu_alloc_header *)(void *)p.addr - 1;
    ctx->bytes_in_use -= h->bytes;
    free(h);
}

static void cpu_mem_stats(void *vctx, size_t *in_use, size_t *peak) {
    cpu_ctx *ctx = vctx;
    if (in_use) *in_use = ctx->bytes_in_use;
    if (peak) *peak = ctx->bytes_peak;
}

static int cpu_upload(void *ctx, attn_ptr dst, const float *src, size_t count) {
    (void)ctx;
    if (count) memcpy(F(dst), src, count * sizeof(float));
    return 0;
}

static int cpu_download(void *ctx, float *dst, attn_ptr src, size_t count) {
    (void)ctx;
    if (count) memcpy(dst, F(src), count * sizeof(float));
    return 0;
}

static void cpu_fill(void *ctx, attn_ptr dst, size_t count, float value) {
    (void)ctx;
    float *d = F(dst);
    for (size_t i = 0; i < count; i++) d[i] = value;
}

static void cpu_copy2d(void *ctx, attn_ptr dst, size_t dst_ld, attn_ptr src, size_t src_ld, size_t rows, size_t cols) {
    (void)ctx;
    if (cols == dst_ld && cols == src_ld) {
        memcpy(F(dst), F(src), rows * cols * sizeof(float));
        return;
    }
    for (size_t r = 0; r < rows; r++) memcpy(F(dst) + r * dst_ld, F(src) + r * src_ld, cols * sizeof(float));
}

static void cpu_gemm(void *ctx, int transA, int transB, int M, int N, int K, float alpha,
                     attn_ptr A, int lda, long long strideA, attn_ptr B, int ldb, long long strideB,
                     float beta, attn_ptr C, int ldc, long long strideC, int batch) {
    (void)ctx;
    /* a few rows (a decode step's M = batch): the kernels that read B once, without
     * OpenBLAS's packing of B, which costs more than the product there (kernels_cpu_gemm.h) */
    if (!transA && M >= 1 && M <= KGEMM_ROWS_MAX) {
        for (int i = 0; i < batch; i++)
            (transB ? kgemm_rows_nt : kgemm_rows_nn)(M, N, K, alpha, F(A) + i * strideA, lda, F(B) + i * strideB, ldb,
                                                    beta, F(C) + i * strideC, ldc);
        return;
    }
    for (int i = 0; i < batch; i++)
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    M, N, K, alpha, F(A) + i * strideA, lda, F(B) + i * strideB, ldb, beta,
                    F(C) + i * strideC, ldc);
}

static void cpu_layernorm(void *ctx, attn_ptr out, attn_ptr x, attn_ptr w, attn_ptr b, int N, int C, float eps) {
    (void)ctx;
    kvec_layernorm(F(out), F(x), F(w), F(b), N, C, eps);
}

static void cpu_rmsnorm(void *ctx, attn_ptr out, attn_ptr x, attn_ptr w, int N, int C, float eps) {
    (void)ctx;
    kvec_rmsnorm(F(out), F(x), F(w), N, C, eps);
}

static void cpu_rope(void *ctx, attn_ptr x, int N, int T, int NH, int HS, int pos0, int pair_begin, int head_dim, float theta) {
    (void)ctx;
    /* one sequence at a time: its T rows have positions pos0 .. pos0+T-1. Rows rotate
     * independently, so a fixed chunk of positions on the stack serves any T (this op
     * returns nothing, so it must not need memory that could fail to come). */
    enum { CHUNK = 256 };
    int pos[CHUNK];
    for (int r = 0; r < N; r += T)
        for (int t0 = 0; t0 < T; t0 += CHUNK) {
            int n = T - t0 < CHUNK ? T - t0 : CHUNK;
            for (int t = 0; t < n; t++) pos[t] = pos0 + t0 + t;
            rope_forward_cpu(F(x) + ((size_t)r + (size_t)t0) * NH * HS, n, NH, HS, pos, pair_begin, head_dim, theta);
        }
}

static void cpu_softmax_causal(void *ctx, attn_ptr out, attn_ptr s, int NH, int Tq, int Tk, int q0, float scale) {
    (void)ctx;
    kvec_softmax_causal(F(out), F(s), NH, Tq, Tk, q0, scale);
}

static void cpu_attention_fused(void *vctx, const attn_fused_args *a) {
    cpu_ctx *ctx = vctx;
    backend_cpu_attn_fused(&ctx->attn_ws, a);
}

static void cpu_attention_merge(void *ctx, const attn_merge_args *a) {
    (void)ctx;
    backend_cpu_attn_merge(a);
}

static void cpu_gelu(void *ctx, attn_ptr out, attn_ptr x, size_t count) {
    (void)ctx;
    kvec_gelu(F(out), F(x), count);
}

static void cpu_swiglu(void *ctx, attn_ptr out, attn_ptr gate, attn_ptr up, size_t count) {
    (void)ctx;
    kvec_swiglu(F(out), F(gate), F(up), count);
}

static void cpu_residual(void *ctx, attn_ptr out, attn_ptr a, attn_ptr b, size_t count) {
    (void)ctx;
    kvec_residual(F(out), F(a), F(b), count);
}

static void cpu_synchronize(void *ctx) { (void)ctx; }

static void cpu_op_begin(void *vctx, int op) {
    cpu_ctx *ctx = vctx;
    ctx->open_op = op;
    ctx->op_started = now_seconds();
}

static void cpu_op_end(void *vctx, int op) {
    cpu_ctx *ctx = vctx;
    if (ctx->open_op != op || op < 0 || op >= OP_COUNT) /* a bug in the caller's brackets */
        ATTN_FATAL(ATTN_EXIT_FAIL, "op timer mismatch (open %d, closing %d)", ctx->open_op, op);
    ctx->op_seconds[op] += now_seconds() - ctx->op_started;
    ctx->open_op = -1;
}

static void cpu_op_times(void *vctx, double *seconds) {
    cpu_ctx *ctx = vctx;
    for (int i = 0; i < OP_COUNT; i++) {
        seconds[i] += ctx->op_seconds[i];
        ctx->op_seconds[i] = 0.0;
    }
}

static void cpu_destroy(attn_backend *be) {
    if (!be) return;
    cpu_ctx *ctx = be->ctx;
    if (ctx) backend_cpu_attn_free(&ctx->attn_ws);
    free(be->ctx);
    free(be);
}

attn_backend *attn_backend_cpu_create(int threads) {
    attn_backend *be = calloc(1, sizeof *be);
    cpu_ctx *ctx = calloc(1, sizeof *ctx);
    if (!be || !ctx) {
        fprintf(stderr, "%s:%d: error: out of memory\n", __FILE__, __LINE__);
        free(be);
        free(ctx);
        return NULL;
    }
    if (threads > 0) openblas_set_num_threads(threads);
    ctx->open_op = -1;
    backend_cpu_attn_init(&ctx->attn_ws);
    *be = (attn_backend){
        .name = "cpu", .ctx = ctx, .dtype = DTYPE_FP32, .elem_bytes = sizeof(float),
        /* storage is fp32 here, so the fp32 score buffers are ordinary buffers */
        .alloc = cpu_alloc, .alloc_f32 = cpu_alloc, .free = cpu_free, .mem_stats = cpu_mem_stats,
        .upload = cpu_upload, .download = cpu_download, .upload_f32 = cpu_upload, .download_f32 = cpu_download,
        .fill = cpu_fill, .copy2d = cpu_copy2d, .gemm = cpu_gemm, .gemm_to_f32 = cpu_gemm,
        .layernorm = cpu_layernorm, .rmsnorm = cpu_rmsnorm, .rope = cpu_rope,
        .softmax_causal = cpu_softmax_causal,
        .attention_fused = cpu_attention_fused, .attention_merge = cpu_attention_merge, .gelu = cpu_gelu, .swiglu = cpu_swiglu,
        .residual = cpu_residual, .synchronize = cpu_synchronize, .op_begin = cpu_op_begin,
        .op_end = cpu_op_end, .op_times = cpu_op_times, .destroy = cpu_destroy,
    };
    return be;
}
