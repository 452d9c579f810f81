/* backend_cuda.h: what the CUDA backend and the NCCL comm share beyond backend.h and
 * comm.h: the backend's stream (NCCL collectives are queued on it, so they order with the
 * kernels and land inside the op timers) and the device choice for one process per GPU.
 * Both use CUDA_CHECK (kernels/cuda/cuda_check.h) inside their ops: a failing call ends
 * through ATTN_FATAL (and the comm's fatal hook, the whole job), since a half-done step
 * cannot be recovered. */
#ifndef ATTN_BACKEND_CUDA_H
#define ATTN_BACKEND_CUDA_H
#include <cuda_runtime_api.h>
#include "backend.h"
#include "cuda_check.h" /* CUDA_CHECK: FILE:LINE, the call and CUDA's error name and text, then ATTN_FATAL */
#ifdef __cplusplus
extern "C" {
#endif

/* The stream every op of a "cuda" backend runs on; NULL (after a message) for another backend. */
cudaStream_t attn_backend_cuda_stream(const attn_backend *be);
/* The device index this backend runs on, or -1 for another backend. */
int attn_backend_cuda_device(const attn_backend *be);
/* The GPU for this process: the node-local rank (OMPI_COMM_WORLD_LOCAL_RANK, SLURM_LOCALID,
 * MPI_LOCALRANKID, LOCAL_RANK) modulo the visible device count; 0 when none is set.
 * attn_backend_cuda_create(-1, dt) uses it. -1 when no device is usable. */
int attn_backend_cuda_pick_device(void);

#ifdef __cplusplus
}
#endif
#endif
