/* comm_nccl.c: the NCCL comm behind comm.h, on device buffers of the CUDA backend. One
 * process per GPU. The world communicator is bootstrapped over MPI (rank 0 calls
 * ncclGetUniqueId, MPI_Bcast shares it, every rank calls ncclCommInitRank); one
 * sub-communicator per plan group kind comes from ncclCommSplit with the same colors the
 * MPI comm uses (comm_group_color; key = world rank, so members are in world-rank order).
 * Collectives are queued on the backend's stream. The control plane (host_* calls,
 * barriers) is delegated to an MPI comm over the same world. Built without MPI, only a
 * world of one runs, and then no NCCL is needed: the local comm serves. Every NCCL return
 * is checked with FILE:LINE and ncclGetErrorString; a failure goes through ATTN_FATAL,
 * whose hook (this comm's abort while it lives) aborts the whole job. */
#include <nccl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend_cuda.h"
#include "comm.h"
#include "diag.h"

#ifndef ATTN_NCCL_WITH_MPI

attn_comm *attn_comm_nccl_create(const attn_plan *p, attn_backend *be) {
    if (p->world != 1) {
        fprintf(stderr, "%s:%d: error: the plan needs %d ranks, but this attnrun was built without MPI, so NCCL "
                "cannot be bootstrapped: rebuild with -DATTN_MPI=ON or run a one-GPU plan\n", __FILE__, __LINE__,
                p->world);
        return NULL;
    }
    return attn_comm_local_create(p, be);
}

#else
#include <mpi.h>

typedef struct nccl_ctx {
    attn_backend *be;
    attn_comm *host;                   /* MPI comm: control plane and barriers */
    cudaStream_t stream;
    /* a ring pass (sendrecv_start .. wait) runs on its own stream, ordered after the work
     * queued before it (ring_ready) and before the work queued after the wait (ring_done),
     * so the attention kernels queued in between run beside the transfer */
    cudaStream_t ring_stream;
    cudaEvent_t ring_ready, ring_done;
    ncclDataType_t type;
    size_t elem_bytes;
    ncclComm_t world;
    ncclComm_t group[GROUP_KIND_COUNT];
    attn_fatal_hook prev_hook;         /* the fatal hook before ours (the host comm's), put back by destroy */
    void *prev_hook_ctx;
} nccl_ctx;

/* Through ATTN_FATAL: the hook (nccl_abort while the comm lives) ends the job. */
static void nccl_fail(ncclResult_t r, const char *file, int line, const char *what) {
    const char *last = ncclGetLastError(NULL);
    int said = last && *last;
    attn_fatal_at(file, line, ATTN_EXIT_FAIL, "NCCL error %d (%s) in %s%s%s", (int)r, ncclGetErrorString(r), what,
                  said ? "; NCCL says: " : "", said ? last : "");
}
#define NCCL_DIE(c, x)                                                       \
    do {                                                                     \
        ncclResult_t r_ = (x);                                               \
        (void)(c);                                                           \
        if (r_ != ncclSuccess) nccl_fail(r_, __FILE__, __LINE__, #x);        \
    } while (0)

static nccl_ctx *CTX(attn_comm *c) { return (nccl_ctx *)c->ctx; }

static ncclComm_t group_comm(attn_comm *c, attn_group_kind g) {
    ncclComm_t comm = g >= 0 && g < GROUP_KIND_COUNT ? CTX(c)->group[g] : CTX(c)->world;
    if (!comm) { /* GROUP_PIPE: no communicator (comm.h: pipeline sends name world ranks) */
        fprintf(stderr, "%s:%d: error: no NCCL communicator for group kind %d\n", __FILE__, __LINE__, (int)g);
        c->abort(c, 1);
    }
    return comm;
}

static void nccl_allreduce_sum(attn_comm *c, attn_group_kind g, attn_ptr buf, size_t count) {
    nccl_ctx *x = CTX(c);
    if (count == 0) return;
    NCCL_DIE(c, ncclAllReduce(buf.addr, buf.addr, count, x->type, ncclSum, group_comm(c, g), x->stream));
}

static void nccl_allreduce_sum_f32(attn_comm *c, attn_group_kind g, attn_ptr buf, size_t count) {
    if (count == 0) return;
    NCCL_DIE(c, ncclAllReduce(buf.addr, buf.addr, count, ncclFloat, ncclSum, group_comm(c, g), CTX(c)->stream));
}

/* Equal counts: one ncclAllGather. Uneven shares (balanced plans): one broadcast per
 * member into its slot of recv, fused in a group. */
static void nccl_allgather(attn_comm *c, attn_group_kind g, attn_ptr send, attn_ptr recv, const size_t *counts) {
    nccl_ctx *x = CTX(c);
    ncclComm_t comm = group_comm(c, g);
    int size, me;
    NCCL_DIE(c, ncclCommCount(comm, &size));
    NCCL_DIE(c, ncclCommUserRank(comm, &me));
    int equal = 1;
    for (int i = 1; i < size; i++) equal &= counts[i] == counts[0];
    if (equal) {
        if (counts[0]) NCCL_DIE(c, ncclAllGather(send.addr, recv.addr, counts[0], x->type, comm, x->stream));
        return;
    }
    NCCL_DIE(c, ncclGroupStart());
    size_t off = 0;
    for (int i = 0; i < size; i++) {
        if (counts[i])
            NCCL_DIE(c, ncclBroadcast(i == me ? (const void *)send.addr : NULL, recv.addr + off * x->elem_bytes,
                                      counts[i], x->type, i, comm, x->stream));
        off += counts[i];
    }
    NCCL_DIE(c, ncclGroupEnd());
}

/* All-to-all with per-member counts: grouped sends and receives; the member's own share
 * is a device copy. */
static void nccl_alltoall(attn_comm *c, attn_group_kind g, attn_ptr send, const size_t *send_counts, attn_ptr recv,
                          const size_t *recv_counts) {
    nccl_ctx *x = CTX(c);
    ncclComm_t comm = group_comm(c, g);
    int size, me;
    NCCL_DIE(c, ncclCommCount(comm, &size));
    NCCL_DIE(c, ncclCommUserRank(comm, &me));
    size_t soff = 0, roff = 0, eb = x->elem_bytes;
    for (int i = 0; i < me; i++) soff += send_counts[i], roff += recv_counts[i];
    if (send_counts[me] != recv_counts[me]) {
        fprintf(stderr, "%s:%d: error: all-to-all sends %zu elements to itself but expects %zu\n", __FILE__, __LINE__,
                send_counts[me], recv_counts[me]);
        c->abort(c, 1);
    }
    if (send_counts[me])
        CUDA_CHECK(cudaMemcpyAsync(recv.addr + roff * eb, send.addr + soff * eb, send_counts[me] * eb,
                                 cudaMemcpyDeviceToDevice, x->stream));
    NCCL_DIE(c, ncclGroupStart());
    soff = roff = 0;
    for (int i = 0; i < size; i++) {
        if (i != me && send_counts[i]) NCCL_DIE(c, ncclSend(send.addr + soff * eb, send_counts[i], x->type, i, comm, x->stream));
        if (i != me && recv_counts[i]) NCCL_DIE(c, ncclRecv(recv.addr + roff * eb, recv_counts[i], x->type, i, comm, x->stream));
        soff += send_counts[i], roff += recv_counts[i];
    }
    NCCL_DIE(c, ncclGroupEnd());
}

static void nccl_send(attn_comm *c, attn_ptr buf, size_t count, int peer) {
    nccl_ctx *x = CTX(c);
    if (count == 0) return;
    NCCL_DIE(c, ncclGroupStart());
    NCCL_DIE(c, ncclSend(buf.addr, count, x->type, peer, x->world, x->stream));
    NCCL_DIE(c, ncclGroupEnd());
}

static void nccl_recv(attn_comm *c, attn_ptr buf, size_t count, int peer) {
    nccl_ctx *x = CTX(c);
    if (count == 0) return;
    NCCL_DIE(c, ncclGroupStart());
    NCCL_DIE(c, ncclRecv(buf.addr, count, x->type, peer, x->world, x->stream));
    NCCL_DIE(c, ncclGroupEnd());
}

static void nccl_sendrecv_start(attn_comm *c, attn_ptr send, size_t send_count, int dest, attn_ptr recv, size_t recv_count,
                          int source) {
    nccl_ctx *x = CTX(c);
    CUDA_CHECK(cudaEventRecord(x->ring_ready, x->stream)); /* the block to send is written */
    CUDA_CHECK(cudaStreamWaitEvent(x->ring_stream, x->ring_ready, 0));
    NCCL_DIE(c, ncclGroupStart());
    if (send_count) NCCL_DIE(c, ncclSend(send.addr, send_count, x->type, dest, x->world, x->ring_stream));
    if (recv_count) NCCL_DIE(c, ncclRecv(recv.addr, recv_count, x->type, source, x->world, x->ring_stream));
    NCCL_DIE(c, ncclGroupEnd());
    CUDA_CHECK(cudaEventRecord(x->ring_done, x->ring_stream));
}

/* the compute stream's later work (the received block's tiles, the next send) waits for the pass */
static void nccl_sendrecv_wait(attn_comm *c) { CUDA_CHECK(cudaStreamWaitEvent(CTX(c)->stream, CTX(c)->ring_done, 0)); }

/* Drains this rank's queued device work, then meets the group on the host. */
static void nccl_barrier(attn_comm *c, attn_group_kind g) {
    CUDA_CHECK(cudaStreamSynchronize(CTX(c)->stream));
    CTX(c)->host->barrier(CTX(c)->host, g);
}

static int nccl_group_size(attn_comm *c, attn_group_kind g) {
    int size;
    NCCL_DIE(c, ncclCommCount(group_comm(c, g), &size));
    return size;
}

static int nccl_max_int(attn_comm *c, int v) { return CTX(c)->host->host_max_int(CTX(c)->host, v); }
static double nccl_max_double(attn_comm *c, double v) { return CTX(c)->host->host_max_double(CTX(c)->host, v); }
static void nccl_gather_double(attn_comm *c, const double *mine, size_t count, double *all) {
    CTX(c)->host->host_gather_double(CTX(c)->host, mine, count, all);
}
static void nccl_host_send(attn_comm *c, const float *buf, size_t count, int peer) {
    CTX(c)->host->host_send_float(CTX(c)->host, buf, count, peer);
}
static void nccl_host_recv(attn_comm *c, float *buf, size_t count, int peer) {
    CTX(c)->host->host_recv_float(CTX(c)->host, buf, count, peer);
}

/* The job-ending abort (comm->abort, and lib/diag.h's fatal hook while the comm lives):
 * aborts the NCCL communicators first (a peer stuck in a collective would otherwise
 * hang), then the MPI job. */
static void nccl_abort(attn_comm *c, int code) {
    nccl_ctx *x = CTX(c);
    fflush(stdout);
    fflush(stderr);
    for (int g = 0; g < GROUP_KIND_COUNT; g++)
        if (x->group[g]) ncclCommAbort(x->group[g]), x->group[g] = NULL;
    if (x->world) ncclCommAbort(x->world), x->world = NULL;
    x->host->abort(x->host, code);
    exit(code);
}

static void nccl_fatal_hook(int code, void *c) { nccl_abort(c, code); }

static void nccl_destroy(attn_comm *c) {
    if (!c) return;
    nccl_ctx *x = CTX(c);
    CUDA_CHECK(cudaStreamSynchronize(x->stream));
    if (x->ring_stream) CUDA_CHECK(cudaStreamSynchronize(x->ring_stream));
    for (int g = 0; g < GROUP_KIND_COUNT; g++)
        if (x->group[g]) NCCL_DIE(c, ncclCommDestroy(x->group[g]));
    if (x->ring_ready) CUDA_CHECK(cudaEventDestroy(x->ring_ready));
    if (x->ring_done) CUDA_CHECK(cudaEventDestroy(x->ring_done));
    if (x->ring_stream) CUDA_CHECK(cudaStreamDestroy(x->ring_stream));
    if (x->world) NCCL_DIE(c, ncclCommDestroy(x->world));
    attn_set_fatal_hook(x->prev_hook, x->prev_hook_ctx); /* the host comm's, which its destroy puts back in turn */
    x->host->destroy(x->host);
    free(x);
    free(c);
}

attn_comm *attn_comm_nccl_create(const attn_plan *p, attn_backend *be) {
    cudaStream_t stream = attn_backend_cuda_stream(be);
    if (!stream) return NULL;
    /* The MPI comm checks the world size against the plan and splits the same groups on
     * the host; it needs only an fp32 description of the host side, never our buffers. */
    static attn_backend host_view = {.name = "host", .dtype = DTYPE_FP32, .elem_bytes = sizeof(float)};
    attn_comm *host = attn_comm_mpi_create(p, &host_view);
    if (!host) return NULL;
    attn_comm *c = calloc(1, sizeof *c);
    nccl_ctx *x = calloc(1, sizeof *x);
    if (!c || !x) {
        fprintf(stderr, "%s:%d: error: out of host memory\n", __FILE__, __LINE__);
        host->abort(host, 1);
    }
    x->be = be;
    x->host = host;
    x->stream = stream;
    x->elem_bytes = be->elem_bytes;
    x->type = be->dtype == DTYPE_FP16 ? ncclHalf : be->dtype == DTYPE_BF16 ? ncclBfloat16 : ncclFloat;
    *c = (attn_comm){
        .name = "nccl", .ctx = x, .rank = host->rank, .world = host->world, .skips_collectives = 0,
        .allreduce_sum = nccl_allreduce_sum, .allreduce_sum_f32 = nccl_allreduce_sum_f32,
        .allgather = nccl_allgather, .alltoall = nccl_alltoall,
        .send = nccl_send, .recv = nccl_recv, .sendrecv_start = nccl_sendrecv_start, .sendrecv_wait = nccl_sendrecv_wait, .barrier = nccl_barrier, .group_size = nccl_group_size,
        .host_max_int = nccl_max_int, .host_max_double = nccl_max_double,
        .host_gather_double = nccl_gather_double, .host_send_float = nccl_host_send,
        .host_recv_float = nccl_host_recv, .abort = nccl_abort, .destroy = nccl_destroy,
    };
    /* ours over the host comm's: a fatal error now aborts the NCCL communicators too */
    x->prev_hook = attn_get_fatal_hook(&x->prev_hook_ctx);
    attn_set_fatal_hook(nccl_fatal_hook, c);

    /* One GPU per process: local rank i (MPI_Comm_split_type) on visible device i modulo
     * the visible count (the backend's choice). Two ranks on one physical GPU are refused
     * by ncclCommInitRank itself ("Duplicate GPU detected"). */
    MPI_Comm node;
    int local = 0, local_size = 1, ndev = 0, dev = attn_backend_cuda_device(be);
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_rank(node, &local);
        MPI_Comm_size(node, &local_size);
        MPI_Comm_free(&node);
    }
    CUDA_CHECK(cudaGetDeviceCount(&ndev));
    int bad = dev != local % ndev;
    if (bad)
        fprintf(stderr, "%s:%d: error: rank %d is local rank %d of %d on its node with %d GPUs, but runs on GPU %d: "
                "launch one rank per GPU (mpirun sets OMPI_COMM_WORLD_LOCAL_RANK, srun SLURM_LOCALID)\n",
                __FILE__, __LINE__, c->rank, local, local_size, ndev, dev);
    if (host->host_max_int(host, bad)) host->abort(host, 1);
    CUDA_CHECK(cudaSetDevice(dev));
    CUDA_CHECK(cudaStreamCreateWithFlags(&x->ring_stream, cudaStreamNonBlocking));
    CUDA_CHECK(cudaEventCreate(&x->ring_ready));
    CUDA_CHECK(cudaEventCreate(&x->ring_done));

    ncclUniqueId id;
    if (c->rank == 0) NCCL_DIE(c, ncclGetUniqueId(&id));
    int rc = MPI_Bcast(&id, (int)sizeof id, MPI_BYTE, 0, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) {
        fprintf(stderr, "%s:%d: error: MPI_Bcast of the NCCL id failed (code %d)\n", __FILE__, __LINE__, rc);
        host->abort(host, 1);
    }
    NCCL_DIE(c, ncclCommInitRank(&x->world, c->world, id, c->rank));
    /* GROUP_PIPE carries no collective (pipeline sends go over the world communicator), so
     * it gets no communicator: each one costs device memory and a bootstrap at start-up */
    for (int g = 0; g < GROUP_KIND_COUNT; g++)
        if (g != GROUP_PIPE)
            NCCL_DIE(c, ncclCommSplit(x->world, comm_group_color(p, c->rank, (attn_group_kind)g), c->rank,
                                      &x->group[g], NULL));
    return c;
}
#endif
