/* cuda_check.h: check macros in nccl-tests' manner. Each failing call prints the file,
 * the line, the expression and the library's own error text, then returns or exits.
 *   CUDA_TRY(x)    returns -1 from the enclosing int function on failure
 *   CUDA_CHECK(x)  exits the process with status 1 (tests, tools)
 * CUBLAS_CHECK is in cublas_check.h and NCCL_DIE in runtime/cuda/comm_nccl.c, so this
 * header needs only the CUDA runtime. */
#ifndef ATTN_CUDA_CHECK_H
#define ATTN_CUDA_CHECK_H
#include <stdio.h>
#include <stdlib.h>
#include <cuda_runtime_api.h>

#define CUDA_REPORT_(e, expr)                                                                  \
    fprintf(stderr, "%s:%d: CUDA error %d (%s: %s) in %s\n", __FILE__, __LINE__, (int)(e),   \
            cudaGetErrorName(e), cudaGetErrorString(e), expr)

#define CUDA_TRY(x)                                  \
    do {                                             \
        cudaError_t e_ = (x);                        \
        if (e_ != cudaSuccess) {                     \
            CUDA_REPORT_(e_, #x);                    \
            return -1;                               \
        }                                            \
    } while (0)

#define CUDA_CHECK(x)                                \
    do {                                             \
        cudaError_t e_ = (x);                        \
        if (e_ != cudaSuccess) {                     \
            CUDA_REPORT_(e_, #x);                    \
            exit(1);                                 \
        }                                            \
    } while (0)

/* Exit status of a test that found no usable GPU (ctest SKIP_RETURN_CODE). */
#define ATTN_EXIT_SKIP 77

/* Returns 1 when at least one CUDA device is usable; any error from the runtime (no
 * driver, no device, a container without the device nodes) counts as none. */
static inline int cuda_have_device(void) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        (void)cudaGetLastError(); /* clear the sticky-free error so later calls start clean */
        return 0;
    }
    return n > 0;
}

#endif
