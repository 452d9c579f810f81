/* run_select.h: the one place attnrun chooses its backend and comm (as redis's ae.c picks
 * its event-loop implementation in one spot): attnrun's plan runs (attnrun.c) and
 * `attnrun --calibrate` (calibrate/calibrate.c) both call these. run_select.c is compiled
 * into the program, which knows which backends it links (ATTN_HAVE_CUDA_BACKEND). */
#ifndef ATTN_RUN_SELECT_H
#define ATTN_RUN_SELECT_H
#include "backend.h"
#include "comm.h"
#include "plan.h"
#ifdef __cplusplus
extern "C" {
#endif

/* The values of --backend, in the order of run_backend_kind. */
typedef enum { RUN_BACKEND_CPU, RUN_BACKEND_CUDA, RUN_BACKEND_AUTO, RUN_BACKEND_COUNT } run_backend_kind;
extern const char *const run_backend_names[RUN_BACKEND_COUNT];

/* auto: the CUDA backend when built and it starts (a GPU is there), else the CPU with
 * `threads` BLAS threads. device: the GPU of this rank; dtype: the CUDA backend's storage
 * type. NULL after a message. */
attn_backend *run_select_backend(run_backend_kind kind, int threads, int device, attn_dtype dtype);
/* rank_share >= 0: the null comm running that rank alone; under a launcher (use_mpi): NCCL
 * for the CUDA backend, MPI otherwise; else the local comm (world of one). NULL on failure. */
attn_comm *run_select_comm(const attn_plan *p, attn_backend *be, int use_mpi, int rank_share);

#ifdef __cplusplus
}
#endif
#endif
