/* run_select.c: attnrun's choice of backend and comm (run_select.h), made here only. */
#include <stdio.h>
#include <string.h>
#include "run_select.h"

const char *const run_backend_names[RUN_BACKEND_COUNT] = {"cpu", "cuda", "auto"};

attn_backend *run_select_backend(run_backend_kind kind, int threads, int device, attn_dtype dtype) {
#ifdef ATTN_HAVE_CUDA_BACKEND
    /* auto without a usable GPU: the CPU, silently (no message that reads as an error) */
    if (kind == RUN_BACKEND_CUDA || (kind == RUN_BACKEND_AUTO && attn_backend_cuda_probe(NULL) > 0)) {
        attn_error err;
        attn_backend *be = attn_backend_cuda_create(device, dtype, &err);
        if (!be) fprintf(stderr, "%s\n", err.msg);
        if (be || kind == RUN_BACKEND_CUDA) return be;
    }
#else
    (void)device;
    (void)dtype;
    if (kind == RUN_BACKEND_CUDA) {
        fprintf(stderr, "attnrun: error: this attnrun was built without the CUDA backend\n");
        return NULL;
    }
#endif
    return attn_backend_cpu_create(threads);
}

attn_comm *run_select_comm(const attn_plan *p, attn_backend *be, int use_mpi, int rank_share) {
    if (rank_share >= 0) return attn_comm_null_create(p, be, rank_share);
#ifdef ATTN_HAVE_MPI
    if (use_mpi) {
#ifdef ATTN_HAVE_CUDA_BACKEND
        if (strcmp(be->name, "cuda") == 0) return attn_comm_nccl_create(p, be);
#endif
        return attn_comm_mpi_create(p, be);
    }
#else
    (void)use_mpi;
#endif
    return attn_comm_local_create(p, be);
}
