/* norm.cu: layernorm_forward_cuda and rmsnorm_forward_cuda, the twins of
 * layernorm_forward_cpu / rmsnorm_forward_cpu (kernels/kernels_cpu.c). One block per row;
 * mean and variance are fp32 block reductions, the variance taken around the mean in a
 * second pass (no E[x^2] - E[x]^2 cancellation). The row is re-read from L1/L2, not HBM. */
#include "kc_common.cuh"

static const int NORM_THREADS = 256;

template <typename T>
__global__ void layernorm_forward_kernel(T *out, const T *x, const T *w, const T *b, int C, float eps) {
    __shared__ float scratch[32];
    const T *row = x + (size_t)blockIdx.x * C;
    T *dst = out + (size_t)blockIdx.x * C;
    float sum = 0.0f;
    for (int c = threadIdx.x; c < C; c += blockDim.x) sum += kc_load(row[c]);
    float mean = kc_block_sum(sum, scratch) / C;
    float sq = 0.0f;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float d = kc_load(row[c]) - mean;
        sq += d * d;
    }
    float rstd = rsqrtf(kc_block_sum(sq, scratch) / C + eps);
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float v = (kc_load(row[c]) - mean) * rstd;
        dst[c] = kc_store<T>(v * kc_load(w[c]) + kc_load(b[c]));
    }
}

template <typename T> __global__ void rmsnorm_forward_kernel(T *out, const T *x, const T *w, int C, float eps) {
    __shared__ float scratch[32];
    const T *row = x + (size_t)blockIdx.x * C;
    T *dst = out + (size_t)blockIdx.x * C;
    float sq = 0.0f;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float v = kc_load(row[c]);
        sq += v * v;
    }
    float rrms = rsqrtf(kc_block_sum(sq, scratch) / C + eps);
    for (int c = threadIdx.x; c < C; c += blockDim.x) dst[c] = kc_store<T>(kc_load(row[c]) * rrms * kc_load(w[c]));
}

extern "C" cudaError_t layernorm_forward_cuda(void *out, const void *x, const void *w, const void *b, int N, int C,
                                              float eps, kc_dtype dt, cudaStream_t stream) {
    if (N <= 0 || C <= 0) return N < 0 || C < 0 ? cudaErrorInvalidValue : cudaSuccess;
    KC_DISPATCH(dt, T,
                (layernorm_forward_kernel<T><<<N, NORM_THREADS, 0, stream>>>((T *)out, (const T *)x, (const T *)w,
                                                                             (const T *)b, C, eps)));
    return cudaGetLastError();
}

extern "C" cudaError_t rmsnorm_forward_cuda(void *out, const void *x, const void *w, int N, int C, float eps,
                                            kc_dtype dt, cudaStream_t stream) {
    if (N <= 0 || C <= 0) return N < 0 || C < 0 ? cudaErrorInvalidValue : cudaSuccess;
    KC_DISPATCH(dt, T,
                (rmsnorm_forward_kernel<T><<<N, NORM_THREADS, 0, stream>>>((T *)out, (const T *)x, (const T *)w, C,
                                                                           eps)));
    return cudaGetLastError();
}
