/* cuda_emu_runtime.cpp: the CUDA runtime calls the kernels, tests/gpu/test_kernels.cu and
 * runtime/cuda/backend_cuda.c make, on host memory, for the CPU stand-in of cuda_emu.h.
 * One "device" that is always there; work is synchronous, so streams and synchronization
 * are no-ops and an event records the host clock; an error set by a call is returned
 * once by cudaGetLastError, as CUDA does. */
#include "cuda_emu.h"
#include <chrono>

static cudaError_t emu_last = cudaSuccess;
static cudaError_t emu_set(cudaError_t e) {
    if (e != cudaSuccess) emu_last = e;
    return e;
}

/* a launch with an impossible configuration (cuda_emu.h emu_launch) */
cudaError_t emu_launch_error(cudaError_t e) { return emu_set(e); }

extern "C" {
cudaError_t cudaGetDeviceCount(int *count) {
    *count = 1;
    return cudaSuccess;
}
cudaError_t cudaGetLastError(void) {
    cudaError_t e = emu_last;
    emu_last = cudaSuccess;
    return e;
}
cudaError_t cudaPeekAtLastError(void) { return emu_last; }
const char *cudaGetErrorString(cudaError_t e) { return e == cudaSuccess ? "no error" : "emulated CUDA error"; }
const char *cudaGetErrorName(cudaError_t e) { return e == cudaSuccess ? "cudaSuccess" : "cudaErrorEmulated"; }
cudaError_t cudaMalloc(void **p, size_t size) {
    *p = std::malloc(size ? size : 1);
    return emu_set(*p ? cudaSuccess : cudaErrorMemoryAllocation);
}
cudaError_t cudaFree(void *p) {
    std::free(p);
    return cudaSuccess;
}
cudaError_t cudaMemset(void *p, int value, size_t count) {
    std::memset(p, value, count);
    return cudaSuccess;
}
cudaError_t cudaMemcpy(void *dst, const void *src, size_t count, enum cudaMemcpyKind) {
    std::memmove(dst, src, count);
    return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count, enum cudaMemcpyKind, cudaStream_t) {
    std::memmove(dst, src, count);
    return cudaSuccess;
}
/* an H100 SXM's multiprocessors (the kernels size grids by them) and its opt-in shared
 * memory per block, which emu_launch enforces */
cudaError_t cudaDeviceGetAttribute(int *value, enum cudaDeviceAttr attr, int device) {
    if (device != 0) return emu_set(cudaErrorInvalidDevice);
    switch (attr) {
    case cudaDevAttrMultiProcessorCount: *value = 132; return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = (int)emu_dyn_smem_max; return cudaSuccess;
    default: return emu_set(cudaErrorInvalidValue);
    }
}
cudaError_t cudaGetDevice(int *device) {
    *device = 0;
    return cudaSuccess;
}
cudaError_t cudaFuncSetAttribute(const void *, enum cudaFuncAttribute attr, int value) {
    if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize && (value < 0 || (size_t)value > emu_dyn_smem_max))
        return emu_set(cudaErrorInvalidValue);
    return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize(void) { return cudaSuccess; }
cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : emu_set(cudaErrorInvalidDevice); }
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned int) {
    static int dummy;
    *s = (cudaStream_t)&dummy;
    return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamDestroy(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaMemGetInfo(size_t *free_b, size_t *total_b) {
    *free_b = *total_b = (size_t)1 << 34;
    return cudaSuccess;
}
cudaError_t cudaMemcpy2DAsync(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width, size_t height,
                              enum cudaMemcpyKind, cudaStream_t) {
    if (width > dpitch || width > spitch) return emu_set(cudaErrorInvalidPitchValue);
    for (size_t r = 0; r < height; r++) std::memmove((char *)dst + r * dpitch, (const char *)src + r * spitch, width);
    return cudaSuccess;
}
struct CUevent_st {
    double ms;
};
cudaError_t cudaEventCreate(cudaEvent_t *e) {
    *e = new CUevent_st{0.0};
    return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t) {
    using namespace std::chrono;
    e->ms = duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
    return cudaSuccess;
}
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b) {
    *ms = (float)(b->ms - a->ms);
    return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
    delete e;
    return cudaSuccess;
}
}
