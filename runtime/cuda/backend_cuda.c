/* backend_cuda.c: the CUDA backend behind backend.h. One device, one stream; storage
 * fp16/bf16 (or fp32) as the model says, attention scores fp32 (backend.h), fp32
 * accumulation everywhere. GEMMs go through cuBLAS (cublasGemmStridedBatchedEx,
 * CUBLAS_COMPUTE_32F: tensor cores for fp16/bf16, a 32 MiB workspace); every other op
 * is a kernels/cuda/ kernel. Op timers are CUDA events on the stream. Inside an op, a
 * failing CUDA or cuBLAS call ends through lib/diag.h's fatal path (CUDA_CHECK,
 * CUBLAS_CHECK: FILE:LINE with the library's error name; a comm's hook ends the job): the
 * interface has no error returns there, and a half-done step cannot be continued.
 * Creation and allocation return their failures (NULL, with why) instead. Host data
 * crosses as fp32 through a device staging buffer. */
#include <cublas_v2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "attn_tiling.h"
#include "backend_cuda.h"
#include "backend_cuda_graph.h"
#include "kernels_cuda.h"
#include "metrics.h"

#include "cublas_check.h"

enum { WORKSPACE_BYTES = 32 << 20, STAGING_ELEMS = 1 << 22, EVENT_FOLD = 4096 };

typedef struct cuda_block { void *ptr; size_t bytes; } cuda_block;
typedef struct ev_pair { cudaEvent_t start, stop; int op; } ev_pair;

typedef struct cuda_ctx {
    int device;
    kc_dtype dt;
    cudaDataType_t blas_type;
    cudaStream_t stream;
    cublasHandle_t blas;
    void *workspace;
    int sms;                    /* multiprocessors: attn_fused_plan's units */
    float *attn_work;           /* the fused attention's key-range partials (attn_work_cap) */
    size_t attn_work_floats;
    float *staging;             /* STAGING_ELEMS fp32, for host transfers in fp16/bf16 */
    cuda_block *blocks;         /* live allocations, for the byte counters */
    size_t n_blocks, cap_blocks, bytes_in_use, bytes_peak;
    ev_pair *ev;                /* recorded op intervals not yet folded into op_seconds */
    int n_ev, cap_ev, open_op;
    double op_seconds[OP_COUNT];
    cuda_graph *graph;          /* decode graphs and their step slots (backend_cuda_graph.c) */
} cuda_ctx;

/* 0, or -1 when the block list cannot grow (the block is then not counted) */
static int count_bytes(cuda_ctx *c, void *ptr, size_t bytes) {
    if (c->n_blocks == c->cap_blocks) {
        size_t cap = c->cap_blocks ? 2 * c->cap_blocks : 64;
        cuda_block *b = realloc(c->blocks, cap * sizeof *b);
        if (!b) return -1;
        c->blocks = b, c->cap_blocks = cap;
    }
    c->blocks[c->n_blocks++] = (cuda_block){ptr, bytes};
    c->bytes_in_use += bytes;
    if (c->bytes_in_use > c->bytes_peak) c->bytes_peak = c->bytes_in_use;
    return 0;
}

/* NULL on failure, with why in err (printing nothing: alloc prints it, create returns it) */
static void *dev_alloc(cuda_ctx *c, size_t bytes, char *err, size_t err_len) {
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, bytes ? bytes : 16);
    if (e != cudaSuccess) {
        size_t free_b = 0, total_b = 0;
        cudaMemGetInfo(&free_b, &total_b);
        attn_format_err(err, err_len, "%s:%d: error: cudaMalloc of %zu bytes failed (%s: %s); %zu of %zu bytes free",
                        __FILE__, __LINE__, bytes, cudaGetErrorName(e), cudaGetErrorString(e), free_b, total_b);
        (void)cudaGetLastError();
        return NULL;
    }
    if (count_bytes(c, p, bytes) != 0) {
        cudaFree(p);
        attn_format_err(err, err_len, "%s:%d: error: out of host memory", __FILE__, __LINE__);
        return NULL;
    }
    return p;
}

/* alloc's contract (backend.h): {NULL} after printing why */
static void *dev_alloc_or_say(cuda_ctx *c, size_t bytes) {
    char err[256];
    void *p = dev_alloc(c, bytes, err, sizeof err);
    if (!p) fprintf(stderr, "%s\n", err);
    return p;
}

static void dev_free(cuda_ctx *c, void *p) {
    if (!p) return;
    for (size_t i = 0; i < c->n_blocks; i++)
        if (c->blocks[i].ptr == p) {
            c->bytes_in_use -= c->blocks[i].bytes;
            c->blocks[i] = c->blocks[--c->n_blocks];
            CUDA_CHECK(cudaFree(p));
            return;
        }
    ATTN_FATAL(ATTN_EXIT_FAIL, "freeing %p, which this backend did not allocate", p); /* a caller's bug */
}

static attn_ptr cu_alloc(void *vctx, size_t count) {
    cuda_ctx *c = vctx;
    attn_ptr p = {NULL};
    size_t eb = (size_t)kc_dtype_bytes(c->dt);
    if (count > SIZE_MAX / eb) {
        fprintf(stderr, "%s:%d: error: allocation of %zu elements overflows\n", __FILE__, __LINE__, count);
        return p;
    }
    p.addr = dev_alloc_or_say(c, count * eb);
    return p;
}

static attn_ptr cu_alloc_f32(void *vctx, size_t count) {
    attn_ptr p = {NULL};
    if (count > SIZE_MAX / sizeof(float)) {
        fprintf(stderr, "%s:%d: error: allocation of %zu fp32 elements overflows\n", __FILE__, __LINE__, count);
        return p;
    }
    p.addr = dev_alloc_or_say(vctx, count * sizeof(float));
    return p;
}

static void cu_free(void *vctx, attn_ptr p) { dev_free(vctx, p.addr); }

static void cu_mem_stats(void *vctx, size_t *in_use, size_t *peak) {
    cuda_ctx *c = vctx;
    if (in_use) *in_use = c->bytes_in_use;
    if (peak) *peak = c->bytes_peak;
}

/* Host fp32 -> storage: copy in chunks to the staging buffer, convert on the device. */
static int cu_upload(void *vctx, attn_ptr dst, const float *src, size_t count) {
    cuda_ctx *c = vctx;
    size_t eb = (size_t)kc_dtype_bytes(c->dt);
    if (c->dt == KC_FP32) {
        CUDA_CHECK(cudaMemcpyAsync(dst.addr, src, count * 4, cudaMemcpyHostToDevice, c->stream));
    } else {
        for (size_t off = 0; off < count; off += STAGING_ELEMS) {
            size_t n = count - off < STAGING_ELEMS ? count - off : STAGING_ELEMS;
            CUDA_CHECK(cudaMemcpyAsync(c->staging, src + off, n * 4, cudaMemcpyHostToDevice, c->stream));
            CUDA_CHECK(convert_cuda(dst.addr + off * eb, c->dt, c->staging, KC_FP32, n, c->stream));
        }
    }
    CUDA_CHECK(cudaStreamSynchronize(c->stream));
    return 0;
}

static int cu_upload_f32(void *vctx, attn_ptr dst, const float *src, size_t count) {
    cuda_ctx *c = vctx;
    CUDA_CHECK(cudaMemcpyAsync(dst.addr, src, count * sizeof(float), cudaMemcpyHostToDevice, c->stream));
    CUDA_CHECK(cudaStreamSynchronize(c->stream));
    return 0;
}

static int cu_download_f32(void *vctx, float *dst, attn_ptr src, size_t count) {
    cuda_ctx *c = vctx;
    CUDA_CHECK(cudaMemcpyAsync(dst, src.addr, count * sizeof(float), cudaMemcpyDeviceToHost, c->stream));
    CUDA_CHECK(cudaStreamSynchronize(c->stream));
    return 0;
}

static int cu_download(void *vctx, float *dst, attn_ptr src, size_t count) {
    cuda_ctx *c = vctx;
    size_t eb = (size_t)kc_dtype_bytes(c->dt);
    if (c->dt == KC_FP32) {
        CUDA_CHECK(cudaMemcpyAsync(dst, src.addr, count * 4, cudaMemcpyDeviceToHost, c->stream));
    } else {
        for (size_t off = 0; off < count; off += STAGING_ELEMS) {
            size_t n = count - off < STAGING_ELEMS ? count - off : STAGING_ELEMS;
            CUDA_CHECK(convert_cuda(c->staging, KC_FP32, src.addr + off * eb, c->dt, n, c->stream));
            CUDA_CHECK(cudaMemcpyAsync(dst + off, c->staging, n * 4, cudaMemcpyDeviceToHost, c->stream));
        }
    }
    CUDA_CHECK(cudaStreamSynchronize(c->stream));
    return 0;
}

static void cu_fill(void *vctx, attn_ptr dst, size_t count, float value) {
    cuda_ctx *c = vctx;
    CUDA_CHECK(fill_cuda(dst.addr, value, count, c->dt, c->stream));
}

static void cu_copy2d(void *vctx, attn_ptr dst, size_t dst_ld, attn_ptr src, size_t src_ld, size_t rows,
                      size_t cols) {
    cuda_ctx *c = vctx;
    size_t eb = (size_t)kc_dtype_bytes(c->dt);
    if (rows == 0 || cols == 0) return;
    if ((dst_ld == cols && src_ld == cols) || rows == 1) {
        CUDA_CHECK(cudaMemcpyAsync(dst.addr, src.addr, rows * cols * eb, cudaMemcpyDeviceToDevice, c->stream));
        return;
    }
    CUDA_CHECK(cudaMemcpy2DAsync(dst.addr, dst_ld * eb, src.addr, src_ld * eb, cols * eb, rows,
                               cudaMemcpyDeviceToDevice, c->stream));
}

/* Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: cuBLAS sees the
 * operands swapped, M and N swapped, and each transpose flag kept with its matrix. A and
 * B are of the storage type; C of c_type (the storage type, or fp32 for scores). */
static void gemm_typed(cuda_ctx *c, int transA, int transB, int M, int N, int K, float alpha, attn_ptr A, int lda,
                       long long strideA, attn_ptr B, int ldb, long long strideB, float beta, attn_ptr C,
                       cudaDataType_t c_type, int ldc, long long strideC, int batch) {
    if (M <= 0 || N <= 0 || batch <= 0) return;
    cublasOperation_t opB = transB ? CUBLAS_OP_T : CUBLAS_OP_N, opA = transA ? CUBLAS_OP_T : CUBLAS_OP_N;
    if (batch == 1)
        CUBLAS_CHECK(cublasGemmEx(c->blas, opB, opA, N, M, K, &alpha, B.addr, c->blas_type, ldb, A.addr, c->blas_type,
                                lda, &beta, C.addr, c_type, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    else
        CUBLAS_CHECK(cublasGemmStridedBatchedEx(c->blas, opB, opA, N, M, K, &alpha, B.addr, c->blas_type, ldb, strideB,
                                              A.addr, c->blas_type, lda, strideA, &beta, C.addr, c_type, ldc,
                                              strideC, batch, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

static void cu_gemm(void *vctx, int transA, int transB, int M, int N, int K, float alpha, attn_ptr A, int lda,
                    long long strideA, attn_ptr B, int ldb, long long strideB, float beta, attn_ptr C, int ldc,
                    long long strideC, int batch) {
    cuda_ctx *c = vctx;
    gemm_typed(c, transA, transB, M, N, K, alpha, A, lda, strideA, B, ldb, strideB, beta, C, c->blas_type, ldc,
               strideC, batch);
}

static void cu_gemm_to_f32(void *vctx, int transA, int transB, int M, int N, int K, float alpha, attn_ptr A, int lda,
                           long long strideA, attn_ptr B, int ldb, long long strideB, float beta, attn_ptr C, int ldc,
                           long long strideC, int batch) {
    gemm_typed(vctx, transA, transB, M, N, K, alpha, A, lda, strideA, B, ldb, strideB, beta, C, CUDA_R_32F, ldc,
               strideC, batch);
}

static void cu_layernorm(void *vctx, attn_ptr out, attn_ptr x, attn_ptr w, attn_ptr b, int N, int C, float eps) {
    cuda_ctx *c = vctx;
    CUDA_CHECK(layernorm_forward_cuda(out.addr, x.addr, w.addr, b.addr, N, C, eps, c->dt, c->stream));
}

static void cu_rmsnorm(void *vctx, attn_ptr out, attn_ptr x, attn_ptr w, int N, int C, float eps) {
    cuda_ctx *c = vctx;
    CUDA_CHECK(rmsnorm_forward_cuda(out.addr, x.addr, w.addr, N, C, eps, c->dt, c->stream));
}

static void cu_rope(void *vctx, attn_ptr x, int N, int T, int NH, int HS, int pos0, int pair_begin, int head_dim,
                    float theta) {
    cuda_ctx *c = vctx;
    CUDA_CHECK(rope_forward_seq_cuda(x.addr, N, T, NH, HS, pos0, pair_begin, head_dim, theta, c->dt, c->stream));
}

static void cu_softmax_causal(void *vctx, attn_ptr out, attn_ptr s, int NH, int Tq, int Tk, int q0, float scale) {
    cuda_ctx *c = vctx;
    CUDA_CHECK(softmax_causal_forward_cuda(out.addr, c->dt, s.addr, KC_FP32, NH, Tq, Tk, q0, scale, c->stream));
}

/* Partials of flash-decoding, fp32 elements: attn_fused_plan splits keys only while the
 * call's ctas = seqs x heads x query tiles are under 2 x units, into at most
 * ceil(2 units / ctas) ranges, so ranges x ctas < 4 units, and each cta covers at most 64
 * query rows: under 256 units rows of d_v + 1 floats (about 35 MB on 132 SMs). Allocated
 * once at creation, so no call allocates (a captured decode step cannot); a call over it
 * means the tiling rule changed, and ends with that said. */
static size_t attn_work_cap(int sms) { return (size_t)256 * (size_t)sms * (ATTN_FUSED_MAX_DIM + 1); }

static void cu_attention_fused(void *vctx, const attn_fused_args *a) {
    cuda_ctx *c = vctx;
    attn_fused_tiling t;
    attn_fused_plan(&t, ATTN_FUSED_GPU, a->seqs, a->heads, a->Tq, a->Tk, a->q0, a->k0, a->d_qk, a->d_v, c->sms);
    kc_attn_tiles kt = {t.q_tile, t.k_tile, t.kv_splits, t.split_keys};
    kc_attn_args k = {
        .seqs = a->seqs, .heads = a->heads, .head0 = a->head0, .qpk = a->qpk, .kv_base = a->kv_base,
        .Tq = a->Tq, .Tk = a->Tk, .q0 = a->q0, .k0 = a->k0, .d_qk = a->d_qk, .d_v = a->d_v, .scale = a->scale,
        .Q = a->Q.addr, .q_ld = a->q_ld, .q_head = a->q_head, .q_seq = a->q_seq,
        .K = a->K.addr, .k_ld = a->k_ld, .k_head = a->k_head, .k_seq = a->k_seq,
        .V = a->V.addr, .v_ld = a->v_ld, .v_head = a->v_head, .v_seq = a->v_seq,
        .O = a->O.addr, .o_ld = a->o_ld, .o_head = a->o_head, .o_seq = a->o_seq,
        .lse = (float *)a->lse.addr,
    };
    size_t need = attention_fused_cuda_workspace(&k, &kt);
    if (need > c->attn_work_floats)
        ATTN_FATAL(ATTN_EXIT_FAIL,
                   "fused attention: %d key ranges of %d sequences x %d heads x %d rows need %zu fp32 partials, over "
                   "the backend's %zu (attn_work_cap no longer bounds attn_fused_plan's splits)",
                   kt.kv_splits, a->seqs, a->heads, a->Tq, need, c->attn_work_floats);
    CUDA_CHECK(attention_fused_cuda(&k, &kt, c->attn_work, c->attn_work_floats, c->dt, c->stream));
}

static void cu_attention_merge(void *vctx, const attn_merge_args *a) {
    cuda_ctx *c = vctx;
    CUDA_CHECK(attention_merge_cuda(a->O.addr, a->o_ld, a->o_head, a->o_seq, a->O2.addr, a->o2_ld, a->o2_head,
                                    a->o2_seq, (float *)a->lse.addr, (const float *)a->lse2.addr, a->seqs, a->heads,
                                    a->Tq, a->d_v, c->dt, c->stream));
}

static void cu_gelu(void *vctx, attn_ptr out, attn_ptr x, size_t count) {
    cuda_ctx *c = vctx;
    CUDA_CHECK(gelu_forward_cuda(out.addr, x.addr, count, c->dt, c->stream));
}

static void cu_swiglu(void *vctx, attn_ptr out, attn_ptr gate, attn_ptr up, size_t count) {
    cuda_ctx *c = vctx;
    CUDA_CHECK(swiglu_forward_cuda(out.addr, gate.addr, up.addr, count, c->dt, c->stream));
}

static void cu_residual(void *vctx, attn_ptr out, attn_ptr a, attn_ptr b, size_t count) {
    cuda_ctx *c = vctx;
    CUDA_CHECK(residual_forward_cuda(out.addr, a.addr, b.addr, count, c->dt, c->stream));
}

static void cu_synchronize(void *vctx) {
    cuda_ctx *c = vctx;
    CUDA_CHECK(cudaStreamSynchronize(c->stream));
}

/* Adds the elapsed time of every recorded interval to op_seconds and empties the list. */
static void fold_events(cuda_ctx *c) {
    if (c->n_ev == 0) return;
    CUDA_CHECK(cudaStreamSynchronize(c->stream));
    for (int i = 0; i < c->n_ev; i++) {
        float ms = 0.0f;
        CUDA_CHECK(cudaEventElapsedTime(&ms, c->ev[i].start, c->ev[i].stop));
        c->op_seconds[c->ev[i].op] += 1e-3 * ms;
    }
    c->n_ev = 0;
}

static void cu_op_begin(void *vctx, int op) {
    cuda_ctx *c = vctx;
    if (c->open_op != -1 || op < 0 || op >= OP_COUNT) /* a bug in the caller's brackets */
        ATTN_FATAL(ATTN_EXIT_FAIL, "op timer mismatch (open %d, opening %d)", c->open_op, op);
    if (c->n_ev == EVENT_FOLD) fold_events(c);
    if (c->n_ev == c->cap_ev) {
        int cap = c->cap_ev ? 2 * c->cap_ev : 64;
        ev_pair *ev = realloc(c->ev, (size_t)cap * sizeof *ev);
        if (!ev) ATTN_FATAL(ATTN_EXIT_FAIL, "out of host memory"); /* op_begin cannot return it */
        for (int i = c->cap_ev; i < cap; i++) {
            CUDA_CHECK(cudaEventCreate(&ev[i].start));
            CUDA_CHECK(cudaEventCreate(&ev[i].stop));
        }
        c->ev = ev, c->cap_ev = cap;
    }
    c->ev[c->n_ev].op = op;
    CUDA_CHECK(cudaEventRecord(c->ev[c->n_ev].start, c->stream));
    c->open_op = op;
}

static void cu_op_end(void *vctx, int op) {
    cuda_ctx *c = vctx;
    if (c->open_op != op) ATTN_FATAL(ATTN_EXIT_FAIL, "op timer mismatch (open %d, closing %d)", c->open_op, op);
    CUDA_CHECK(cudaEventRecord(c->ev[c->n_ev].stop, c->stream));
    c->n_ev++;
    c->open_op = -1;
}

static void cu_op_times(void *vctx, double *seconds) {
    cuda_ctx *c = vctx;
    fold_events(c);
    for (int i = 0; i < OP_COUNT; i++) {
        seconds[i] += c->op_seconds[i];
        c->op_seconds[i] = 0.0;
    }
}

/* the decode-graph hooks (backend.h), forwarded to backend_cuda_graph.c */
static int cu_set_step(void *vctx, const int *values, int count) {
    return cuda_graph_set_step(((cuda_ctx *)vctx)->graph, values, count);
}
static void cu_rope_step(void *vctx, attn_ptr x, int N, int T, int NH, int HS, int pair_begin, int head_dim,
                         float theta) {
    cuda_graph_rope_step(((cuda_ctx *)vctx)->graph, x, N, T, NH, HS, pair_begin, head_dim, theta);
}
static void cu_softmax_causal_step(void *vctx, attn_ptr out, attn_ptr s, int NH, int Tq, int Tk, float scale) {
    cuda_graph_softmax_step(((cuda_ctx *)vctx)->graph, out, s, NH, Tq, Tk, scale);
}
static void cu_cache_write_step(void *vctx, attn_ptr cache, size_t cache_seq, attn_ptr src, size_t src_seq, int seqs,
                                size_t cols) {
    cuda_graph_cache_write_step(((cuda_ctx *)vctx)->graph, cache, cache_seq, src, src_seq, seqs, cols);
}
static int cu_graph_begin(void *vctx) { return cuda_graph_begin(((cuda_ctx *)vctx)->graph); }
static int cu_graph_end(void *vctx, size_t *nodes) { return cuda_graph_end(((cuda_ctx *)vctx)->graph, nodes); }
static int cu_graph_launch(void *vctx) { return cuda_graph_launch(((cuda_ctx *)vctx)->graph); }
static void cu_graph_reset(void *vctx) { cuda_graph_reset(((cuda_ctx *)vctx)->graph); }

static void cu_destroy(attn_backend *be) {
    if (!be) return;
    cuda_ctx *c = be->ctx;
    if (c) {
        cuda_graph_destroy(c->graph);
        if (c->stream) cudaStreamSynchronize(c->stream);
        for (int i = 0; i < c->cap_ev; i++) cudaEventDestroy(c->ev[i].start), cudaEventDestroy(c->ev[i].stop);
        free(c->ev);
        if (c->blas) cublasDestroy(c->blas);
        for (size_t i = 0; i < c->n_blocks; i++) cudaFree(c->blocks[i].ptr);
        free(c->blocks);
        if (c->stream) cudaStreamDestroy(c->stream);
        free(c);
    }
    free(be);
}

static const char *env_first(const char *const *names) {
    for (int i = 0; names[i]; i++) {
        const char *v = getenv(names[i]);
        if (v && *v) return v;
    }
    return NULL;
}

int attn_backend_cuda_probe(attn_error *why) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e == cudaSuccess && n > 0) return n;
    /* no GPU here: not an error of ours, the caller decides (--backend auto takes the CPU) */
    attn_error_set(why, ATTN_EXIT_FAIL, "%s:%d: CUDA backend: no usable CUDA device (%s)", __FILE__, __LINE__,
                   e == cudaSuccess ? "none visible" : cudaGetErrorString(e));
    (void)cudaGetLastError();
    return 0;
}

int attn_backend_cuda_pick_device(void) {
    int n = attn_backend_cuda_probe(NULL);
    if (n <= 0) return -1;
    static const char *const names[] = {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID",
                                        "LOCAL_RANK", NULL};
    const char *v = env_first(names);
    int local = v ? atoi(v) : 0;
    return (local < 0 ? 0 : local) % n;
}

/* Creation's own checks: a failing call makes create return NULL with why in err. */
#define CREATE_CUDA(x)                                                                                          \
    do {                                                                                                        \
        cudaError_t e_ = (x);                                                                                   \
        if (e_ != cudaSuccess) {                                                                                \
            attn_error_set(err, ATTN_EXIT_FAIL, "%s:%d: CUDA error %d (%s: %s) in %s", __FILE__, __LINE__,     \
                           (int)e_, cudaGetErrorName(e_), cudaGetErrorString(e_), #x);                          \
            (void)cudaGetLastError();                                                                           \
            goto fail;                                                                                          \
        }                                                                                                       \
    } while (0)
#define CREATE_CUBLAS(x)                                                                                        \
    do {                                                                                                        \
        cublasStatus_t s_ = (x);                                                                                \
        if (s_ != CUBLAS_STATUS_SUCCESS) {                                                                      \
            attn_error_set(err, ATTN_EXIT_FAIL, "%s:%d: cuBLAS error %d (%s: %s) in %s", __FILE__, __LINE__,   \
                           (int)s_, cublasGetStatusName(s_), cublasGetStatusString(s_), #x);                    \
            goto fail;                                                                                          \
        }                                                                                                       \
    } while (0)

attn_backend *attn_backend_cuda_create(int device, attn_dtype dtype, attn_error *err) {
    char why[sizeof err->msg]; /* a failed allocation's reason, on its way to err */
    if (err) attn_error_clear(err);
    int n = attn_backend_cuda_probe(err);
    if (n <= 0) return NULL;
    if (device < 0) device = attn_backend_cuda_pick_device();
    /* A launcher that binds one GPU per task (srun --gpus-per-task=1) leaves each process
     * one visible device while its local rank counts on: local rank modulo the visible
     * count is then the right device, as it is when every GPU is visible. */
    if (device >= n) device %= n;
    if (device < 0) {
        attn_error_set(err, ATTN_EXIT_FAIL, "%s:%d: error: CUDA device index %d is negative", __FILE__, __LINE__,
                       device);
        return NULL;
    }
    attn_backend *be = calloc(1, sizeof *be);
    cuda_ctx *c = calloc(1, sizeof *c);
    if (!be || !c) {
        attn_error_set(err, ATTN_EXIT_FAIL, "%s:%d: error: out of host memory", __FILE__, __LINE__);
        free(be), free(c);
        return NULL;
    }
    be->ctx = c; /* from here on, cu_destroy undoes whatever part was made */
    c->device = device;
    c->open_op = -1;
    c->dt = dtype == DTYPE_FP16 ? KC_FP16 : dtype == DTYPE_BF16 ? KC_BF16 : KC_FP32;
    c->blas_type = dtype == DTYPE_FP16 ? CUDA_R_16F : dtype == DTYPE_BF16 ? CUDA_R_16BF : CUDA_R_32F;
    CREATE_CUDA(cudaSetDevice(device));
    CREATE_CUDA(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking));
    CREATE_CUBLAS(cublasCreate(&c->blas));
    CREATE_CUBLAS(cublasSetStream(c->blas, c->stream));
    /* fp32 storage stays true fp32 (no TF32), so the fp32 GPU run matches the CPU closely */
    CREATE_CUBLAS(cublasSetMathMode(c->blas, CUBLAS_DEFAULT_MATH));
    c->workspace = dev_alloc(c, WORKSPACE_BYTES, why, sizeof why);
    if (!c->workspace) goto fail_alloc;
    CREATE_CUBLAS(cublasSetWorkspace(c->blas, c->workspace, WORKSPACE_BYTES));
    CREATE_CUDA(cudaDeviceGetAttribute(&c->sms, cudaDevAttrMultiProcessorCount, device));
    c->attn_work_floats = attn_work_cap(c->sms);
    c->attn_work = dev_alloc(c, c->attn_work_floats * sizeof(float), why, sizeof why);
    if (!c->attn_work) goto fail_alloc;
    if (c->dt != KC_FP32) {
        c->staging = dev_alloc(c, (size_t)STAGING_ELEMS * 4, why, sizeof why);
        if (!c->staging) goto fail_alloc;
    }
    *be = (attn_backend){
        .name = "cuda", .ctx = c, .dtype = dtype, .elem_bytes = (size_t)kc_dtype_bytes(c->dt),
        .alloc = cu_alloc, .alloc_f32 = cu_alloc_f32, .free = cu_free, .mem_stats = cu_mem_stats,
        .upload = cu_upload, .download = cu_download, .upload_f32 = cu_upload_f32, .download_f32 = cu_download_f32,
        .fill = cu_fill, .copy2d = cu_copy2d, .gemm = cu_gemm, .gemm_to_f32 = cu_gemm_to_f32,
        .layernorm = cu_layernorm, .rmsnorm = cu_rmsnorm, .rope = cu_rope,
        .softmax_causal = cu_softmax_causal, .attention_fused = cu_attention_fused,
        .attention_merge = cu_attention_merge, .gelu = cu_gelu, .swiglu = cu_swiglu,
        .residual = cu_residual, .synchronize = cu_synchronize, .op_begin = cu_op_begin,
        .op_end = cu_op_end, .op_times = cu_op_times, .destroy = cu_destroy,
    };
    c->graph = cuda_graph_create(c->stream, c->dt, err);
    if (!c->graph) goto fail;
    be->set_step = cu_set_step, be->rope_step = cu_rope_step, be->softmax_causal_step = cu_softmax_causal_step;
    be->cache_write_step = cu_cache_write_step, be->graph_begin = cu_graph_begin, be->graph_end = cu_graph_end;
    be->graph_launch = cu_graph_launch, be->graph_reset = cu_graph_reset;
    return be;
fail_alloc:
    attn_error_set(err, ATTN_EXIT_FAIL, "%s", why);
fail:
    cu_destroy(be);
    return NULL;
}
#undef CREATE_CUDA
#undef CREATE_CUBLAS

cudaStream_t attn_backend_cuda_stream(const attn_backend *be) {
    if (!be || strcmp(be->name, "cuda") != 0) {
        fprintf(stderr, "%s:%d: error: backend %s is not the CUDA backend\n", __FILE__, __LINE__, be ? be->name : "?");
        return NULL;
    }
    return ((const cuda_ctx *)be->ctx)->stream;
}

int attn_backend_cuda_device(const attn_backend *be) {
    if (!be || strcmp(be->name, "cuda") != 0) return -1;
    return ((const cuda_ctx *)be->ctx)->device;
}
