/* cublas_check.h: CUBLAS_CHECK(call) reports file:line, cuBLAS's own status name and text
 * and the failing call through lib/diag.h's one fatal path (ATTN_FATAL: a comm's fatal
 * hook ends the whole job), nccl-tests style. Include after <cublas_v2.h>. */
#ifndef ATTN_CUBLAS_CHECK_H
#define ATTN_CUBLAS_CHECK_H
#include "diag.h"

#define CUBLAS_CHECK(x)                                                                                  \
    do {                                                                                                 \
        cublasStatus_t s_ = (x);                                                                         \
        if (s_ != CUBLAS_STATUS_SUCCESS)                                                                 \
            ATTN_FATAL(ATTN_EXIT_FAIL, "cuBLAS error %d (%s: %s) in %s", (int)s_,                       \
                       cublasGetStatusName(s_), cublasGetStatusString(s_), #x);                          \
    } while (0)

#endif
