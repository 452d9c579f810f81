/* cublas_check.h: CUBLAS_CHECK(call) reports file:line, cuBLAS's own status name and text
 * and the failing call, then exits 1 (nccl-tests style). Include after <cublas_v2.h>. */
#ifndef ATTN_CUBLAS_CHECK_H
#define ATTN_CUBLAS_CHECK_H
#include <stdio.h>
#include <stdlib.h>

#define CUBLAS_CHECK(x)                                                                                  \
    do {                                                                                                 \
        cublasStatus_t s_ = (x);                                                                         \
        if (s_ != CUBLAS_STATUS_SUCCESS) {                                                               \
            fprintf(stderr, "%s:%d: cuBLAS error %d (%s: %s) in %s\n", __FILE__, __LINE__, (int)s_,      \
                    cublasGetStatusName(s_), cublasGetStatusString(s_), #x);                             \
            exit(1);                                                                                     \
        }                                                                                                \
    } while (0)

#endif
