/* comm_mpi.c: the MPI comm: one communicator per plan group kind, split from
 * MPI_COMM_WORLD by comm_group_color (key = world rank, so members are in world-rank
 * order). Buffers are host fp32 (the CPU backend). Every MPI call is checked; a failure
 * goes through ATTN_FATAL (FILE:LINE and the MPI error string), whose hook, this comm's
 * abort while it lives, ends the whole job (a half-done collective cannot be recovered
 * from without a hang). */
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include "comm.h"
#include "diag.h"

#define TAG_DATA 101
#define TAG_RING 103 /* ring passes of the sequence axis (sendrecv_start), apart from pipeline sends */
#define TAG_HOST 102

typedef struct mpi_ctx {
    MPI_Comm group[GROUP_KIND_COUNT];
    MPI_Request pass[2]; /* the ring pass in flight (sendrecv_start .. sendrecv_wait) */
    attn_fatal_hook prev_hook; /* the fatal hook before ours, put back by destroy */
    void *prev_hook_ctx;
} mpi_ctx;

/* The job-ending abort (comm->abort, and lib/diag.h's fatal hook while an MPI comm lives):
 * one rank's failure ends every rank, none is left waiting in a collective. */
static void mpi_abort(attn_comm *c, int code) {
    (void)c;
    fflush(stdout);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
    exit(code); /* MPI_Abort should not return; if it does, this process still ends */
}

static void mpi_fatal_hook(int code, void *c) { mpi_abort(c, code); }

/* Reports through ATTN_FATAL, so the hook (mpi_abort, installed first thing in create)
 * ends the job. */
static void mpi_fail(int rc, const char *file, int line, const char *what) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS) snprintf(msg, sizeof msg, "code %d", rc);
    attn_fatal_at(file, line, ATTN_EXIT_FAIL, "%s failed: %s", what, msg);
}
#define MPI_CHECK(call)                                                  \
    do {                                                                 \
        int rc_ = (call);                                                \
        if (rc_ != MPI_SUCCESS) mpi_fail(rc_, __FILE__, __LINE__, #call); \
    } while (0)

static int as_int(size_t n, const char *file, int line) {
    if (n > INT_MAX) attn_fatal_at(file, line, ATTN_EXIT_FAIL, "message of %zu elements exceeds MPI's int count", n);
    return (int)n;
}
#define AS_INT(n) as_int((n), __FILE__, __LINE__)

static MPI_Comm group_comm(attn_comm *c, attn_group_kind g) {
    mpi_ctx *ctx = c->ctx;
    if (g < 0 || g >= GROUP_KIND_COUNT) return MPI_COMM_WORLD;
    return ctx->group[g];
}

static float *F(attn_ptr p) { return (float *)(void *)p.addr; }

static void mpi_allreduce_sum(attn_comm *c, attn_group_kind g, attn_ptr buf, size_t count) {
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, F(buf), AS_INT(count), MPI_FLOAT, MPI_SUM, group_comm(c, g)));
}

/* counts and displacements as MPI wants them (ints), for a group of `size` members */
static void int_counts(const size_t *counts, int size, int *icounts, int *displs) {
    size_t off = 0;
    for (int i = 0; i < size; i++) {
        icounts[i] = AS_INT(counts[i]);
        displs[i] = AS_INT(off);
        off += counts[i];
    }
}

static void mpi_allgather(attn_comm *c, attn_group_kind g, attn_ptr send, attn_ptr recv, const size_t *counts) {
    MPI_Comm comm = group_comm(c, g);
    int size, me;
    MPI_CHECK(MPI_Comm_size(comm, &size));
    MPI_CHECK(MPI_Comm_rank(comm, &me));
    int *icounts = malloc(2 * (size_t)size * sizeof(int));
    if (!icounts) mpi_fail(MPI_ERR_NO_MEM, __FILE__, __LINE__, "malloc");
    int_counts(counts, size, icounts, icounts + size);
    MPI_CHECK(MPI_Allgatherv(F(send), icounts[me], MPI_FLOAT, F(recv), icounts, icounts + size, MPI_FLOAT, comm));
    free(icounts);
}

static void mpi_alltoall(attn_comm *c, attn_group_kind g, attn_ptr send, const size_t *send_counts,
                         attn_ptr recv, const size_t *recv_counts) {
    MPI_Comm comm = group_comm(c, g);
    int size;
    MPI_CHECK(MPI_Comm_size(comm, &size));
    int *v = malloc(4 * (size_t)size * sizeof(int));
    if (!v) mpi_fail(MPI_ERR_NO_MEM, __FILE__, __LINE__, "malloc");
    int_counts(send_counts, size, v, v + size);
    int_counts(recv_counts, size, v + 2 * size, v + 3 * size);
    MPI_CHECK(MPI_Alltoallv(F(send), v, v + size, MPI_FLOAT, F(recv), v + 2 * size, v + 3 * size, MPI_FLOAT, comm));
    free(v);
}

static void mpi_send(attn_comm *c, attn_ptr buf, size_t count, int peer) {
    (void)c;
    MPI_CHECK(MPI_Send(F(buf), AS_INT(count), MPI_FLOAT, peer, TAG_DATA, MPI_COMM_WORLD));
}

static void mpi_recv(attn_comm *c, attn_ptr buf, size_t count, int peer) {
    (void)c;
    MPI_CHECK(MPI_Recv(F(buf), AS_INT(count), MPI_FLOAT, peer, TAG_DATA, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
}

static void mpi_sendrecv_start(attn_comm *c, attn_ptr send, size_t send_count, int dest, attn_ptr recv, size_t recv_count,
                               int source) {
    mpi_ctx *ctx = c->ctx;
    MPI_CHECK(MPI_Irecv(F(recv), AS_INT(recv_count), MPI_FLOAT, source, TAG_RING, MPI_COMM_WORLD, &ctx->pass[0]));
    MPI_CHECK(MPI_Isend(F(send), AS_INT(send_count), MPI_FLOAT, dest, TAG_RING, MPI_COMM_WORLD, &ctx->pass[1]));
}

static void mpi_sendrecv_wait(attn_comm *c) {
    mpi_ctx *ctx = c->ctx;
    MPI_CHECK(MPI_Waitall(2, ctx->pass, MPI_STATUSES_IGNORE));
}

static void mpi_barrier(attn_comm *c, attn_group_kind g) { MPI_CHECK(MPI_Barrier(group_comm(c, g))); }

static int mpi_group_size(attn_comm *c, attn_group_kind g) {
    int size;
    MPI_CHECK(MPI_Comm_size(group_comm(c, g), &size));
    return size;
}

static int mpi_max_int(attn_comm *c, int v) {
    (void)c;
    int out;
    MPI_CHECK(MPI_Allreduce(&v, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD));
    return out;
}

static double mpi_max_double(attn_comm *c, double v) {
    (void)c;
    double out;
    MPI_CHECK(MPI_Allreduce(&v, &out, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD));
    return out;
}

static void mpi_gather_double(attn_comm *c, const double *mine, size_t count, double *all) {
    (void)c;
    MPI_CHECK(MPI_Gather(mine, AS_INT(count), MPI_DOUBLE, all, AS_INT(count), MPI_DOUBLE, 0, MPI_COMM_WORLD));
}

static void mpi_host_send(attn_comm *c, const float *buf, size_t count, int peer) {
    (void)c;
    MPI_CHECK(MPI_Send(buf, AS_INT(count), MPI_FLOAT, peer, TAG_HOST, MPI_COMM_WORLD));
}

static void mpi_host_recv(attn_comm *c, float *buf, size_t count, int peer) {
    (void)c;
    MPI_CHECK(MPI_Recv(buf, AS_INT(count), MPI_FLOAT, peer, TAG_HOST, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
}

static void mpi_destroy(attn_comm *c) {
    if (!c) return;
    mpi_ctx *ctx = c->ctx;
    for (int g = 0; g < GROUP_KIND_COUNT; g++)
        if (ctx->group[g] != MPI_COMM_NULL) MPI_CHECK(MPI_Comm_free(&ctx->group[g]));
    attn_set_fatal_hook(ctx->prev_hook, ctx->prev_hook_ctx);
    free(ctx);
    free(c);
}

attn_comm *attn_comm_mpi_create(const attn_plan *p, attn_backend *be) {
    if (be->dtype != DTYPE_FP32 || be->elem_bytes != sizeof(float)) {
        fprintf(stderr, "%s:%d: error: the MPI comm needs an fp32 host backend, not %s\n", __FILE__, __LINE__, be->name);
        return NULL;
    }
    /* From the first MPI call on, a fatal error anywhere ends the job (ggml_abort's
     * callback): the hook is ours until destroy, or until a failed create puts it back. */
    void *prev_hook_ctx;
    attn_fatal_hook prev_hook = attn_get_fatal_hook(&prev_hook_ctx);
    attn_set_fatal_hook(mpi_fatal_hook, NULL);
    int rank, world;
    MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &world));
    if (world != p->world) {
        fprintf(stderr, "%s:%d: error: world size %d differs from the plan's %d ranks\n", __FILE__, __LINE__, world, p->world);
        attn_set_fatal_hook(prev_hook, prev_hook_ctx);
        return NULL;
    }
    attn_comm *c = calloc(1, sizeof *c);
    mpi_ctx *ctx = calloc(1, sizeof *ctx);
    if (!c || !ctx) {
        fprintf(stderr, "%s:%d: error: out of memory\n", __FILE__, __LINE__);
        free(c);
        free(ctx);
        attn_set_fatal_hook(prev_hook, prev_hook_ctx);
        return NULL;
    }
    ctx->prev_hook = prev_hook;
    ctx->prev_hook_ctx = prev_hook_ctx;
    for (int g = 0; g < GROUP_KIND_COUNT; g++) {
        MPI_CHECK(MPI_Comm_split(MPI_COMM_WORLD, comm_group_color(p, rank, (attn_group_kind)g), rank, &ctx->group[g]));
        MPI_CHECK(MPI_Comm_set_errhandler(ctx->group[g], MPI_ERRORS_RETURN));
    }
    *c = (attn_comm){
        .name = "mpi", .ctx = ctx, .rank = rank, .world = world, .skips_collectives = 0,
        .allreduce_sum = mpi_allreduce_sum, .allreduce_sum_f32 = mpi_allreduce_sum, /* buffers are fp32 */
        .allgather = mpi_allgather, .alltoall = mpi_alltoall,
        .send = mpi_send, .recv = mpi_recv, .sendrecv_start = mpi_sendrecv_start, .sendrecv_wait = mpi_sendrecv_wait, .barrier = mpi_barrier, .group_size = mpi_group_size,
        .host_max_int = mpi_max_int, .host_max_double = mpi_max_double,
        .host_gather_double = mpi_gather_double, .host_send_float = mpi_host_send,
        .host_recv_float = mpi_host_recv, .abort = mpi_abort, .destroy = mpi_destroy,
    };
    return c;
}
