/* kc_common.cuh: what every CUDA kernel file shares: loading and storing fp16/bf16/fp32
 * as fp32, a dispatch from kc_dtype to a template argument, block-wide sums and maxima,
 * and 16-byte vector packs for the elementwise kernels. Device code only; not a public
 * header (kernels_cuda.h is). */
#ifndef ATTN_KC_COMMON_CUH
#define ATTN_KC_COMMON_CUH
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include "kernels_cuda.h"

__device__ __forceinline__ float kc_load(float v) { return v; }
__device__ __forceinline__ float kc_load(__half v) { return __half2float(v); }
__device__ __forceinline__ float kc_load(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T> __device__ __forceinline__ T kc_store(float v);
template <> __device__ __forceinline__ float kc_store<float>(float v) { return v; }
template <> __device__ __forceinline__ __half kc_store<__half>(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ __nv_bfloat16 kc_store<__nv_bfloat16>(float v) {
    return __float2bfloat16_rn(v);
}

/* KC_DISPATCH(dt, T, ...): runs the statements ... with T the storage type of dt; an
 * unknown dt returns cudaErrorInvalidValue from the enclosing function. */
#define KC_DISPATCH(dt, T, ...)                                    \
    switch (dt) {                                                  \
    case KC_FP16: { typedef __half T; __VA_ARGS__; } break;        \
    case KC_BF16: { typedef __nv_bfloat16 T; __VA_ARGS__; } break; \
    case KC_FP32: { typedef float T; __VA_ARGS__; } break;         \
    default: return cudaErrorInvalidValue;                         \
    }

__device__ __forceinline__ float kc_warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float kc_warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/* Block-wide reductions for blockDim.x a multiple of 32 (at most 1024). Every thread gets
 * the result. `scratch` holds 32 floats; the trailing barrier lets it be reused. */
__device__ __forceinline__ float kc_block_sum(float v, float *scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    v = kc_warp_sum(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float r = lane < nwarps ? scratch[lane] : 0.0f;
    r = kc_warp_sum(r);
    __syncthreads();
    return r;
}
__device__ __forceinline__ float kc_block_max(float v, float *scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    v = kc_warp_max(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float r = lane < nwarps ? scratch[lane] : -INFINITY;
    r = kc_warp_max(r);
    __syncthreads();
    return r;
}

/* A 16-byte pack of storage elements, loaded and stored as one vector access. */
template <typename T> struct kc_pack {
    static constexpr int n = 16 / sizeof(T);
    union {
        uint4 raw;
        T v[16 / sizeof(T)];
    };
};

/* True when every pointer is 16-byte aligned (vector path allowed). */
__host__ __forceinline__ bool kc_aligned16(const void *a, const void *b = nullptr, const void *c = nullptr) {
    return ((size_t)a % 16 == 0) && ((size_t)b % 16 == 0) && ((size_t)c % 16 == 0);
}

/* Grid size for a grid-stride loop over `work` items with `threads` per block. */
__host__ __forceinline__ unsigned kc_grid(size_t work, int threads) {
    size_t g = (work + threads - 1) / threads;
    if (g < 1) g = 1;
    if (g > 65535u * 16u) g = 65535u * 16u;
    return (unsigned)g;
}

#endif
