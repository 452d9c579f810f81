/* cublas_emu.cpp: the cuBLAS calls of runtime/cuda/backend_cuda.c on host memory, for
 * the emulated CUDA backend (attnrun_emu): a plain column-major GEMM with cuBLAS's
 * semantics (op(A) m x k, op(B) k x n, C m x n, leading dimensions in elements, strided
 * batches, beta = 0 never reads C) in fp16/bf16/fp32 storage with fp32 accumulation. It
 * checks backend_cuda.c's row-major to column-major mapping, not cuBLAS. A call on a stream
 * being captured (cuda_emu_runtime.cpp) is checked now and recorded, alpha and beta by
 * value (the host pointer mode reads them at the call, as a captured cuBLAS call does). */
#include "cuda_emu.h"
#include <cublas_v2.h>
#include <vector>

struct cublasContext {
    cudaStream_t stream;
};

static float load(const void *p, cudaDataType t, size_t i) {
    if (t == CUDA_R_16F) return __half2float(((const __half *)p)[i]);
    if (t == CUDA_R_16BF) return __bfloat162float(((const __nv_bfloat16 *)p)[i]);
    return ((const float *)p)[i];
}
static void store(void *p, cudaDataType t, size_t i, float v) {
    if (t == CUDA_R_16F) ((__half *)p)[i] = __float2half_rn(v);
    else if (t == CUDA_R_16BF) ((__nv_bfloat16 *)p)[i] = __float2bfloat16_rn(v);
    else ((float *)p)[i] = v;
}
static bool known(cudaDataType t) { return t == CUDA_R_16F || t == CUDA_R_16BF || t == CUDA_R_32F; }

extern "C" {
cublasStatus_t cublasCreate_v2(cublasHandle_t *h) {
    *h = new cublasContext{nullptr};
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy_v2(cublasHandle_t h) {
    delete h;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream_v2(cublasHandle_t h, cudaStream_t s) {
    h->stream = s;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetMathMode(cublasHandle_t, cublasMath_t) { return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t, void *, size_t) { return CUBLAS_STATUS_SUCCESS; }
const char *cublasGetStatusName(cublasStatus_t s) { return s == CUBLAS_STATUS_SUCCESS ? "CUBLAS_STATUS_SUCCESS" : "CUBLAS_STATUS_EMULATED_ERROR"; }
const char *cublasGetStatusString(cublasStatus_t s) { return s == CUBLAS_STATUS_SUCCESS ? "success" : "emulated error"; }

static void gemm_run(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, float al, const void *A,
                     cudaDataType at, int lda, long long sa, const void *B, cudaDataType bt, int ldb, long long sb,
                     float be, void *C, cudaDataType ct, int ldc, long long sc, int batch);

cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                                          int k, const void *alpha, const void *A, cudaDataType at, int lda,
                                          long long sa, const void *B, cudaDataType bt, int ldb, long long sb,
                                          const void *beta, void *C, cudaDataType ct, int ldc, long long sc,
                                          int batch, cublasComputeType_t compute, cublasGemmAlgo_t) {
    if (m < 0 || n < 0 || k < 0 || batch < 0 || !known(at) || !known(bt) || !known(ct) || compute != CUBLAS_COMPUTE_32F)
        return CUBLAS_STATUS_INVALID_VALUE;
    /* cuBLAS's own argument rules: leading dimensions cover the stored rows */
    if (lda < (ta == CUBLAS_OP_N ? m : k) || ldb < (tb == CUBLAS_OP_N ? k : n) || ldc < m || lda < 1 || ldb < 1)
        return CUBLAS_STATUS_INVALID_VALUE;
    float al = *(const float *)alpha, be = *(const float *)beta;
    if (cuda_emu_capture_add(h->stream, [=] {
            gemm_run(ta, tb, m, n, k, al, A, at, lda, sa, B, bt, ldb, sb, be, C, ct, ldc, sc, batch);
            return cudaSuccess;
        }))
        return CUBLAS_STATUS_SUCCESS;
    gemm_run(ta, tb, m, n, k, al, A, at, lda, sa, B, bt, ldb, sb, be, C, ct, ldc, sc, batch);
    return CUBLAS_STATUS_SUCCESS;
}

static void gemm_run(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, float al, const void *A,
                     cudaDataType at, int lda, long long sa, const void *B, cudaDataType bt, int ldb, long long sb,
                     float be, void *C, cudaDataType ct, int ldc, long long sc, int batch) {
    /* op(A) as rows of k and op(B) as columns of k, in fp32, then one dot product per
     * element of C */
    std::vector<float> a((size_t)m * k), b((size_t)n * k);
    for (int bi = 0; bi < batch; bi++) {
        for (int i = 0; i < m; i++)
            for (int l = 0; l < k; l++)
                a[(size_t)i * k + l] = load(A, at, bi * sa + (ta == CUBLAS_OP_N ? (size_t)i + (size_t)l * lda
                                                                                : (size_t)l + (size_t)i * lda));
        for (int j = 0; j < n; j++)
            for (int l = 0; l < k; l++)
                b[(size_t)j * k + l] = load(B, bt, bi * sb + (tb == CUBLAS_OP_N ? (size_t)l + (size_t)j * ldb
                                                                                : (size_t)j + (size_t)l * ldb));
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) {
                const float *x = &a[(size_t)i * k], *y = &b[(size_t)j * k];
                float acc = 0.0f;
                for (int l = 0; l < k; l++) acc += x[l] * y[l];
                size_t ic = bi * sc + (size_t)i + (size_t)j * ldc;
                store(C, ct, ic, be == 0.0f ? al * acc : al * acc + be * load(C, ct, ic));
            }
    }
}

cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                            const void *alpha, const void *A, cudaDataType at, int lda, const void *B,
                            cudaDataType bt, int ldb, const void *beta, void *C, cudaDataType ct, int ldc,
                            cublasComputeType_t compute, cublasGemmAlgo_t algo) {
    return cublasGemmStridedBatchedEx(h, ta, tb, m, n, k, alpha, A, at, lda, 0, B, bt, ldb, 0, beta, C, ct, ldc, 0, 1,
                                      compute, algo);
}
}
