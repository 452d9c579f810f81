/* copy.cu: copy_strided_cuda and kv_append_cuda: the strided slice copies the runtime
 * needs (a head's dimension segment out of a fused QKV row, a sequence's tokens into the
 * KV cache). One thread per element of the [batches, rows, cols] view; consecutive
 * threads walk cols, so both sides are read and written contiguously within a row. CPU
 * reference: the plain triple loop in tests/gpu/test_kernels.cu. fill_cuda is here too. */
#include "kc_common.cuh"

template <typename T>
__global__ void copy_strided_kernel(T *dst, size_t dst_bs, size_t dst_rs, const T *src, size_t src_bs, size_t src_rs,
                                    int rows, int cols, size_t n, const int *dst_row_dev) {
    /* read when the kernel runs: a graph replays it with each step's row */
    if (dst_row_dev) dst += (size_t)*dst_row_dev * dst_rs;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        int c = (int)(i % cols);
        size_t br = i / cols;
        int r = (int)(br % rows);
        size_t b = br / rows;
        dst[b * dst_bs + r * dst_rs + c] = src[b * src_bs + r * src_rs + c];
    }
}

static cudaError_t copy_launch(void *dst, size_t dst_bs, size_t dst_rs, const int *dst_row_dev, const void *src,
                               size_t src_bs, size_t src_rs, int batches, int rows, int cols, kc_dtype dt,
                               cudaStream_t stream) {
    if (batches < 0 || rows < 0 || cols < 0) return cudaErrorInvalidValue;
    size_t n = (size_t)batches * rows * cols;
    if (n == 0) return cudaSuccess;
    const int threads = 256;
    /* Move 2-byte types as raw 16-bit words and fp32 as 32-bit words: a copy needs no
     * arithmetic, so bf16 and fp16 share one instantiation. */
    if (dt == KC_FP16 || dt == KC_BF16)
        copy_strided_kernel<unsigned short><<<kc_grid(n, threads), threads, 0, stream>>>(
            (unsigned short *)dst, dst_bs, dst_rs, (const unsigned short *)src, src_bs, src_rs, rows, cols, n, dst_row_dev);
    else if (dt == KC_FP32)
        copy_strided_kernel<unsigned int><<<kc_grid(n, threads), threads, 0, stream>>>(
            (unsigned int *)dst, dst_bs, dst_rs, (const unsigned int *)src, src_bs, src_rs, rows, cols, n, dst_row_dev);
    else
        return cudaErrorInvalidValue;
    return cudaGetLastError();
}

extern "C" cudaError_t copy_strided_cuda(void *dst, size_t dst_bs, size_t dst_rs, const void *src, size_t src_bs,
                                         size_t src_rs, int batches, int rows, int cols, kc_dtype dt,
                                         cudaStream_t stream) {
    return copy_launch(dst, dst_bs, dst_rs, NULL, src, src_bs, src_rs, batches, rows, cols, dt, stream);
}

extern "C" cudaError_t copy_strided_at_cuda(void *dst, size_t dst_bs, size_t dst_rs, const int *dst_row_dev,
                                            const void *src, size_t src_bs, size_t src_rs, int batches, int rows,
                                            int cols, kc_dtype dt, cudaStream_t stream) {
    if (!dst_row_dev) return cudaErrorInvalidValue;
    return copy_launch(dst, dst_bs, dst_rs, dst_row_dev, src, src_bs, src_rs, batches, rows, cols, dt, stream);
}

extern "C" cudaError_t kv_append_cuda(void *cache, const void *new_kv, int B, int T, int pos0, int Tmax, int W,
                                      kc_dtype dt, cudaStream_t stream) {
    if (B < 0 || T < 0 || W < 0 || pos0 < 0 || pos0 + T > Tmax) return cudaErrorInvalidValue;
    int eb = kc_dtype_bytes(dt);
    if (eb == 0) return cudaErrorInvalidValue;
    char *dst = (char *)cache + (size_t)pos0 * W * eb;
    return copy_strided_cuda(dst, (size_t)Tmax * W, (size_t)W, new_kv, (size_t)T * W, (size_t)W, B, T, W, dt, stream);
}

template <typename T> __global__ void fill_kernel(T *dst, float value, size_t n) {
    T v = kc_store<T>(value);
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        dst[i] = v;
}

extern "C" cudaError_t fill_cuda(void *dst, float value, size_t N, kc_dtype dt, cudaStream_t stream) {
    if (N == 0) return cudaSuccess;
    const int threads = 256;
    KC_DISPATCH(dt, T, (fill_kernel<T><<<kc_grid(N, threads), threads, 0, stream>>>((T *)dst, value, N)));
    return cudaGetLastError();
}
