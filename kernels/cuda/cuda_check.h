/* cuda_check.h: check macros in nccl-tests' manner. Each failing call reports the file,
 * the line, the expression and the library's own error text, then returns or ends.
 *   CUDA_TRY(x)    prints, then returns -1 from the enclosing int function
 *   CUDA_CHECK(x)  ends through lib/diag.h's one fatal path (ATTN_FATAL, FILE:LINE kept):
 *                  where no error can be returned (an op of the backend interface, a
 *                  test); a comm's fatal hook then ends the whole job, not one rank
 * CUBLAS_CHECK is in cublas_check.h and NCCL_DIE in runtime/cuda/comm_nccl.c, so this
 * header needs only the CUDA runtime and lib/diag.h (ATTN_EXIT_SKIP, ATTN_FATAL): link
 * attncore. */
#ifndef ATTN_CUDA_CHECK_H
#define ATTN_CUDA_CHECK_H
#include <stdio.h>
#include <cuda_runtime_api.h>
#include "diag.h"

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

#define CUDA_CHECK(x)                                                                          \
    do {                                                                                       \
        cudaError_t e_ = (x);                                                                  \
        if (e_ != cudaSuccess)                                                                 \
            ATTN_FATAL(ATTN_EXIT_FAIL, "CUDA error %d (%s: %s) in %s", (int)e_,               \
                       cudaGetErrorName(e_), cudaGetErrorString(e_), #x);                      \
    } while (0)

/* Returns 1 when at least one CUDA device is usable; any error from the runtime (no
 * driver, no device, a container without the device nodes) counts as none. A test that
 * finds none exits ATTN_EXIT_SKIP (diag.h; ctest SKIP_RETURN_CODE). */
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
