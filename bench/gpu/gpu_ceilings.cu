/* gpu_ceilings.cu: the device's two ceilings, measured the way the cost model uses them:
 * a large fp16 GEMM through cuBLAS (fp32 accumulation, tensor cores) in TFLOP/s, and a
 * large device-to-device copy in GB/s counting bytes read plus bytes written. Inputs are
 * random (never zeros), 3 warm-ups, then the median of `reps` event-timed runs. Prints
 * YAML lines for scripts/gpu-check.sh. Exits 77 without a usable GPU.
 * usage: gpu_ceilings [--size N] [--copy-mib M] [--reps R] */
#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cuda_check.h"

#include "cublas_check.h"

/* Uniform values in [-1, 1) from a hash of the index: random, reproducible, never all zero. */
__global__ void fill_hash_kernel(__half *x, size_t n, unsigned seed) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        unsigned h = (unsigned)i * 2654435761u ^ seed;
        h ^= h >> 15, h *= 2246822519u, h ^= h >> 13, h *= 3266489917u, h ^= h >> 16;
        x[i] = __float2half((float)(h >> 8) * (2.0f / 16777216.0f) - 1.0f);
    }
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

static float median_ms(cudaEvent_t *ev, int reps) {
    float *ms = (float *)malloc(reps * sizeof(float));
    for (int i = 0; i < reps; i++) CUDA_CHECK(cudaEventElapsedTime(&ms[i], ev[2 * i], ev[2 * i + 1]));
    qsort(ms, reps, sizeof(float), cmp_float);
    float m = ms[reps / 2];
    free(ms);
    return m;
}

int main(int argc, char **argv) {
    int n = 8192, reps = 20;
    size_t copy_mib = 2048;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--size") && i + 1 < argc) n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--copy-mib") && i + 1 < argc) copy_mib = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: gpu_ceilings [--size N] [--copy-mib M] [--reps R]\n");
            return 2;
        }
    }
    if (n <= 0 || reps <= 0 || copy_mib == 0) return 2;
    if (!cuda_have_device()) {
        printf("SKIP: no usable CUDA device\n");
        return ATTN_EXIT_SKIP;
    }
    cudaDeviceProp prop;
    CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    printf("device: \"%s\"\nsm_count: %d\nmemory_bytes: %zu\n", prop.name, prop.multiProcessorCount,
           prop.totalGlobalMem);
    cudaStream_t st;
    CUDA_CHECK(cudaStreamCreate(&st));
    cudaEvent_t *ev = (cudaEvent_t *)malloc(2 * reps * sizeof(cudaEvent_t));
    for (int i = 0; i < 2 * reps; i++) CUDA_CHECK(cudaEventCreate(&ev[i]));

    /* GEMM: C[n,n] = A[n,n] B[n,n], fp16 in and out, fp32 accumulation. */
    size_t nn = (size_t)n * n;
    __half *A, *B, *C;
    CUDA_CHECK(cudaMalloc(&A, nn * 2));
    CUDA_CHECK(cudaMalloc(&B, nn * 2));
    CUDA_CHECK(cudaMalloc(&C, nn * 2));
    fill_hash_kernel<<<1024, 256, 0, st>>>(A, nn, 1u);
    fill_hash_kernel<<<1024, 256, 0, st>>>(B, nn, 2u);
    CUDA_CHECK(cudaGetLastError());
    cublasHandle_t h;
    CUBLAS_CHECK(cublasCreate(&h));
    CUBLAS_CHECK(cublasSetStream(h, st));
    void *ws;
    CUDA_CHECK(cudaMalloc(&ws, 32 << 20));
    CUBLAS_CHECK(cublasSetWorkspace(h, ws, 32 << 20));
    float alpha = 1.0f, beta = 0.0f;
    for (int i = -3; i < reps; i++) {
        if (i >= 0) CUDA_CHECK(cudaEventRecord(ev[2 * i], st));
        CUBLAS_CHECK(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, A, CUDA_R_16F, n, B, CUDA_R_16F, n,
                                  &beta, C, CUDA_R_16F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
        if (i >= 0) CUDA_CHECK(cudaEventRecord(ev[2 * i + 1], st));
    }
    CUDA_CHECK(cudaStreamSynchronize(st));
    float gemm_ms = median_ms(ev, reps);
    double tflops = 2.0 * n * (double)n * n / (gemm_ms * 1e-3) / 1e12;
    CUDA_CHECK(cudaFree(A));
    CUDA_CHECK(cudaFree(B));
    CUDA_CHECK(cudaFree(C));

    /* Copy: copy_mib MiB from one buffer to another; bytes moved = 2 x size. */
    size_t bytes = copy_mib << 20;
    __half *src, *dst;
    CUDA_CHECK(cudaMalloc(&src, bytes));
    CUDA_CHECK(cudaMalloc(&dst, bytes));
    fill_hash_kernel<<<1024, 256, 0, st>>>(src, bytes / 2, 3u);
    CUDA_CHECK(cudaGetLastError());
    for (int i = -3; i < reps; i++) {
        if (i >= 0) CUDA_CHECK(cudaEventRecord(ev[2 * i], st));
        CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, st));
        if (i >= 0) CUDA_CHECK(cudaEventRecord(ev[2 * i + 1], st));
    }
    CUDA_CHECK(cudaStreamSynchronize(st));
    float copy_ms = median_ms(ev, reps);
    double gbps = 2.0 * bytes / (copy_ms * 1e-3) / 1e9;
    printf("gemm_fp16_n: %d\ngemm_fp16_ms: %.4f\ngemm_fp16_tflops: %.1f\n", n, gemm_ms, tflops);
    printf("copy_bytes: %zu\ncopy_ms: %.4f\ncopy_gbytes_per_s: %.1f\n", bytes, copy_ms, gbps);
    CUDA_CHECK(cudaFree(src));
    CUDA_CHECK(cudaFree(dst));
    CUDA_CHECK(cudaFree(ws));
    CUBLAS_CHECK(cublasDestroy(h));
    for (int i = 0; i < 2 * reps; i++) CUDA_CHECK(cudaEventDestroy(ev[i]));
    free(ev);
    CUDA_CHECK(cudaStreamDestroy(st));
    return 0;
}
