/* comm.h: the communication interface attnrun's forward uses, over the plan's groups.
 * Implementations: MPI (comm_mpi.c; host buffers, fp32), a world-size-1 comm without MPI
 * (comm_local.c), the null comm of --rank-share (collectives skipped, sizes kept), and
 * NCCL (runtime/cuda/; device buffers). Data collectives take attn_ptr buffers of the
 * backend the comm was created with (counts in elements of its storage type).
 *
 * Groups: the caller's group of a kind (plan.h attn_group_kind), members ordered by world
 * rank: GROUP_SEG = the m ranks of this rank's head group (same replica, stage, head
 * group; order = seg), GROUP_STAGE = the n*m ranks of this rank's stage, replica and
 * sequence slice, GROUP_REPLICA = every rank of this replica, GROUP_SEQ = the s slices
 * of this rank's (replica, stage, head group, seg) (order = seq), GROUP_SHARD = the
 * s*n*m ranks of this rank's stage and replica, GROUP_PIPE is not used for collectives
 * (send/recv name world ranks). Every member calls a collective with the same counts.
 *
 * Errors: a failing MPI/NCCL call prints FILE:LINE and aborts the job (comm->abort): a
 * collective that half-failed cannot be recovered from without a hang. The host_* calls
 * are the control plane (agreeing on errors, gathering timings); they exist on every comm,
 * including the NCCL one (which keeps an MPI world for them when built with MPI). */
#ifndef ATTN_COMM_H
#define ATTN_COMM_H
#include <stddef.h>
#include "backend.h"
#include "plan.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef struct attn_comm attn_comm;
struct attn_comm {
    const char *name;     /* "mpi", "local", "null", "nccl" */
    void *ctx;
    int rank, world;      /* this process in the plan's world (null comm: the shared rank) */
    int skips_collectives;/* 1 for the null comm: data collectives return at once, untouched */

    /* --- data plane (backend buffers) --- */
    void (*allreduce_sum)(attn_comm *c, attn_group_kind g, attn_ptr buf, size_t count);
    /* the same over an fp32 buffer (backend.h alloc_f32: the attention's partial scores) */
    void (*allreduce_sum_f32)(attn_comm *c, attn_group_kind g, attn_ptr buf, size_t count);
    /* recv = concatenation over members (in group order) of their send; member i sends
     * counts[i] elements. send must not alias recv. */
    void (*allgather)(attn_comm *c, attn_group_kind g, attn_ptr send, attn_ptr recv, const size_t *counts);
    /* send holds, back to back in group order, send_counts[i] elements for member i;
     * recv receives recv_counts[i] from member i, back to back in group order. */
    void (*alltoall)(attn_comm *c, attn_group_kind g, attn_ptr send, const size_t *send_counts,
                     attn_ptr recv, const size_t *recv_counts);
    /* point to point with a world rank (pipeline stages; gathering outputs to rank 0) */
    void (*send)(attn_comm *c, attn_ptr buf, size_t count, int peer);
    void (*recv)(attn_comm *c, attn_ptr buf, size_t count, int peer);
    /* One pass of a ring, split so that work runs while it is in flight: sendrecv_start
     * posts the send to world rank dest and the receive from world rank source (every
     * member sends and receives, so blocking send-then-recv could deadlock); neither
     * buffer may be touched (send not written, recv not read) until sendrecv_wait
     * returns. One pass in flight at a time; send must not alias recv; dest = source =
     * this rank copies. The MPI comm overlaps (nonblocking point to point); the NCCL comm
     * runs the pass on a second stream, after the work queued before the start and before
     * the work queued after the wait, so the kernels queued in between run beside it. */
    void (*sendrecv_start)(attn_comm *c, attn_ptr send, size_t send_count, int dest, attn_ptr recv, size_t recv_count,
                           int source);
    void (*sendrecv_wait)(attn_comm *c);
    void (*barrier)(attn_comm *c, attn_group_kind g); /* g = GROUP_KIND_COUNT: the world */
    int (*group_size)(attn_comm *c, attn_group_kind g);

    /* --- control plane (host memory, whole world) --- */
    /* returns the maximum of v over the world */
    int (*host_max_int)(attn_comm *c, int v);
    double (*host_max_double)(attn_comm *c, double v);
    /* world rank 0 receives every rank's `count` doubles into all[world*count] (others may
     * pass NULL) */
    void (*host_gather_double)(attn_comm *c, const double *mine, size_t count, double *all);
    /* host fp32 point to point, world ranks (outputs to rank 0 for --check/--dump) */
    void (*host_send_float)(attn_comm *c, const float *buf, size_t count, int peer);
    void (*host_recv_float)(attn_comm *c, float *buf, size_t count, int peer);
    void (*abort)(attn_comm *c, int exit_code);     /* never returns */
    void (*destroy)(attn_comm *c);                  /* frees c; finalizes what it started */
};

/* Rank coordinates of world rank r (plan.h plan_coord_rank):
 * r = (((replica*pp + stage)*s + seq)*n + head_group)*m + seg.
 * Color of r's group of kind g, equal exactly for the members of one group. */
int comm_group_color(const attn_plan *p, int r, attn_group_kind g);

/* MPI comm over MPI_COMM_WORLD (MPI_Init must have run); splits one communicator per
 * group kind. Needs an fp32 host backend. NULL (after a message) on error. */
attn_comm *attn_comm_mpi_create(const attn_plan *p, attn_backend *be);
/* World size 1, no MPI: collectives over one member are copies or no-ops. */
attn_comm *attn_comm_local_create(const attn_plan *p, attn_backend *be);
/* --rank-share R: one process plays rank R; data collectives are skipped (buffers keep
 * what the rank computed locally), sends/recvs are skipped, control plane is local. */
attn_comm *attn_comm_null_create(const attn_plan *p, attn_backend *be, int rank);
/* NCCL comm (runtime/cuda/, when built): device buffers of a CUDA backend. */
attn_comm *attn_comm_nccl_create(const attn_plan *p, attn_backend *be);

#ifdef __cplusplus
}
#endif
#endif
