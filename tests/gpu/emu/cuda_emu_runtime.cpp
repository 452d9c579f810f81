/* cuda_emu_runtime.cpp: the CUDA runtime calls the kernels and tests/gpu/test_kernels.cu
 * make, on host memory, for the CPU stand-in of cuda_emu.h. One "device" that is always
 * there; work is synchronous, so streams and synchronization are no-ops; an error set by
 * a call is returned once by cudaGetLastError, as CUDA does. */
#include "cuda_emu.h"

static cudaError_t emu_last = cudaSuccess;
static cudaError_t emu_set(cudaError_t e) {
    if (e != cudaSuccess) emu_last = e;
    return e;
}

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
cudaError_t cudaDeviceSynchronize(void) { return cudaSuccess; }
}
