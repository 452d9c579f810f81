/* elementwise.cu: gelu_forward_cuda, swiglu_forward_cuda, residual_forward_cuda and
 * convert_cuda, twins of gelu_forward_cpu, swiglu_forward_cpu, residual_forward_cpu (and
 * a plain cast). Memory-bound: when the pointers are 16-byte aligned each thread moves
 * 16-byte packs in a grid-stride loop; the tail (and unaligned views) go element by
 * element. One template, elementwise_kernel, serves every op through a small functor. */
#include "kc_common.cuh"

struct gelu_op {
    __device__ float operator()(float x, float) const {
        const float k = 0.7978845608028654f; /* sqrt(2/pi) */
        return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
    }
};
struct swiglu_op {
    __device__ float operator()(float g, float u) const { return g / (1.0f + expf(-g)) * u; }
};
struct add_op {
    __device__ float operator()(float a, float b) const { return a + b; }
};

/* out[i] = op(a[i], b[i]); b may be NULL for unary ops (then op gets 0). */
template <typename T, typename Op>
__global__ void elementwise_kernel(T *out, const T *a, const T *b, size_t N, bool vec, Op op) {
    size_t stride = (size_t)gridDim.x * blockDim.x;
    size_t tid = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    size_t done = 0;
    if (vec) {
        typedef kc_pack<T> P;
        size_t npacks = N / P::n;
        for (size_t p = tid; p < npacks; p += stride) {
            P pa, pb, po;
            pa.raw = ((const uint4 *)a)[p];
            if (b) pb.raw = ((const uint4 *)b)[p];
#pragma unroll
            for (int k = 0; k < P::n; k++) po.v[k] = kc_store<T>(op(kc_load(pa.v[k]), b ? kc_load(pb.v[k]) : 0.0f));
            ((uint4 *)out)[p] = po.raw;
        }
        done = npacks * P::n;
    }
    for (size_t i = done + tid; i < N; i += stride) out[i] = kc_store<T>(op(kc_load(a[i]), b ? kc_load(b[i]) : 0.0f));
}

template <typename Op>
static cudaError_t elementwise_launch(void *out, const void *a, const void *b, size_t N, kc_dtype dt,
                                      cudaStream_t stream, Op op) {
    if (N == 0) return cudaSuccess;
    const int threads = 256;
    bool vec = kc_aligned16(out, a, b);
    KC_DISPATCH(dt, T, {
        size_t work = vec ? N / kc_pack<T>::n + N % kc_pack<T>::n : N;
        elementwise_kernel<T, Op><<<kc_grid(work, threads), threads, 0, stream>>>((T *)out, (const T *)a,
                                                                                  (const T *)b, N, vec, op);
    });
    return cudaGetLastError();
}

extern "C" cudaError_t gelu_forward_cuda(void *out, const void *x, size_t N, kc_dtype dt, cudaStream_t stream) {
    return elementwise_launch(out, x, nullptr, N, dt, stream, gelu_op());
}

extern "C" cudaError_t swiglu_forward_cuda(void *out, const void *gate, const void *up, size_t N, kc_dtype dt,
                                           cudaStream_t stream) {
    return elementwise_launch(out, gate, up, N, dt, stream, swiglu_op());
}

extern "C" cudaError_t residual_forward_cuda(void *out, const void *a, const void *b, size_t N, kc_dtype dt,
                                             cudaStream_t stream) {
    return elementwise_launch(out, a, b, N, dt, stream, add_op());
}

template <typename TD, typename TS> __global__ void convert_kernel(TD *dst, const TS *src, size_t N) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < N; i += (size_t)gridDim.x * blockDim.x)
        dst[i] = kc_store<TD>(kc_load(src[i]));
}

template <typename TS>
static cudaError_t convert_launch(void *dst, kc_dtype dst_dt, const TS *src, size_t N, cudaStream_t stream) {
    const int threads = 256;
    KC_DISPATCH(dst_dt, TD, (convert_kernel<TD, TS><<<kc_grid(N, threads), threads, 0, stream>>>((TD *)dst, src, N)));
    return cudaGetLastError();
}

extern "C" cudaError_t convert_cuda(void *dst, kc_dtype dst_dt, const void *src, kc_dtype src_dt, size_t N,
                                    cudaStream_t stream) {
    if (N == 0) return cudaSuccess;
    if (dst_dt == src_dt)
        return cudaMemcpyAsync(dst, src, N * (size_t)kc_dtype_bytes(src_dt), cudaMemcpyDeviceToDevice, stream);
    KC_DISPATCH(src_dt, TS, return convert_launch<TS>(dst, dst_dt, (const TS *)src, N, stream));
    return cudaSuccess;
}

extern "C" int kc_dtype_bytes(kc_dtype t) { return t == KC_FP32 ? 4 : (t == KC_FP16 || t == KC_BF16) ? 2 : 0; }
