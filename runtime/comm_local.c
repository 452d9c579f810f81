/* comm_local.c: the comms that need no MPI: world size 1 ("local": every group has one
 * member, so collectives are copies or nothing) and --rank-share's "null" comm (one
 * process plays one rank of a larger plan; data collectives and point-to-point transfers
 * are skipped and leave their buffers as the rank computed them). Also the group colors
 * every comm uses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "comm.h"
#include "diag.h"

int comm_group_color(const attn_plan *p, int r, attn_group_kind g) {
    const attn_strategy *s = &p->strategy;
    int slice = s->n * s->m, stage = strategy_stage_devices(s);
    switch (g) {
    case GROUP_SEG: return r / s->m;                                 /* (replica, stage, seq, head group) */
    case GROUP_STAGE: return r / slice;                              /* (replica, stage, seq) */
    case GROUP_REPLICA: return r / (s->pp * stage);                  /* replica */
    case GROUP_PIPE: return (r / (s->pp * stage)) * stage + r % stage; /* (replica, seq, head group, seg) */
    case GROUP_SEQ: return (r / stage) * slice + r % slice;          /* (replica, stage, head group, seg) */
    case GROUP_SHARD: return r / stage;                              /* (replica, stage) */
    default: return 0;
    }
}

typedef struct local_ctx {
    attn_backend *be;
    int null_mode;   /* 1: rank-share */
    attn_fatal_hook prev_hook; /* the fatal hook before ours, put back by destroy */
    void *prev_hook_ctx;
} local_ctx;

static void local_allreduce_sum(attn_comm *c, attn_group_kind g, attn_ptr buf, size_t count) {
    (void)c; (void)g; (void)buf; (void)count; /* one member: the sum is the buffer itself */
}

static void local_allgather(attn_comm *c, attn_group_kind g, attn_ptr send, attn_ptr recv, const size_t *counts) {
    local_ctx *ctx = c->ctx;
    (void)g;
    if (ctx->null_mode) return;
    ctx->be->copy2d(ctx->be->ctx, recv, counts[0], send, counts[0], 1, counts[0]);
}

static void local_alltoall(attn_comm *c, attn_group_kind g, attn_ptr send, const size_t *send_counts,
                           attn_ptr recv, const size_t *recv_counts) {
    local_ctx *ctx = c->ctx;
    (void)g; (void)recv_counts;
    if (ctx->null_mode) return;
    ctx->be->copy2d(ctx->be->ctx, recv, send_counts[0], send, send_counts[0], 1, send_counts[0]);
}

static void local_send(attn_comm *c, attn_ptr buf, size_t count, int peer) {
    (void)buf; (void)count;
    local_ctx *ctx = c->ctx;
    if (ctx->null_mode) return;
    fprintf(stderr, "%s:%d: error: send to rank %d in a world of one\n", __FILE__, __LINE__, peer);
    c->abort(c, 1);
}

static void local_recv(attn_comm *c, attn_ptr buf, size_t count, int peer) {
    (void)buf; (void)count;
    local_ctx *ctx = c->ctx;
    if (ctx->null_mode) return;
    fprintf(stderr, "%s:%d: error: recv from rank %d in a world of one\n", __FILE__, __LINE__, peer);
    c->abort(c, 1);
}

static void local_sendrecv_start(attn_comm *c, attn_ptr send, size_t send_count, int dest, attn_ptr recv, size_t recv_count,
                           int source) {
    local_ctx *ctx = c->ctx;
    if (ctx->null_mode) return;
    if (dest != c->rank || source != c->rank || send_count != recv_count) {
        fprintf(stderr, "%s:%d: error: sendrecv with ranks %d and %d in a world of one\n", __FILE__, __LINE__, dest, source);
        c->abort(c, 1);
    }
    ctx->be->copy2d(ctx->be->ctx, recv, send_count, send, send_count, 1, send_count);
}

static void local_sendrecv_wait(attn_comm *c) { (void)c; }

static void local_barrier(attn_comm *c, attn_group_kind g) { (void)c; (void)g; }

static int local_group_size(attn_comm *c, attn_group_kind g) {
    (void)g;
    local_ctx *ctx = c->ctx;
    return ctx->null_mode ? -1 : 1; /* null comm: sizes come from the plan, not from here */
}

static int local_max_int(attn_comm *c, int v) { (void)c; return v; }
static double local_max_double(attn_comm *c, double v) { (void)c; return v; }

static void local_gather_double(attn_comm *c, const double *mine, size_t count, double *all) {
    (void)c;
    if (all && all != mine) memcpy(all, mine, count * sizeof *mine);
}

static void local_host_send(attn_comm *c, const float *buf, size_t count, int peer) {
    (void)buf; (void)count;
    fprintf(stderr, "%s:%d: error: host send to rank %d without MPI\n", __FILE__, __LINE__, peer);
    c->abort(c, 1);
}

static void local_host_recv(attn_comm *c, float *buf, size_t count, int peer) {
    (void)buf; (void)count;
    fprintf(stderr, "%s:%d: error: host recv from rank %d without MPI\n", __FILE__, __LINE__, peer);
    c->abort(c, 1);
}

/* The job-ending abort: a job of one process (or one rank played alone) is this process. */
static void local_abort(attn_comm *c, int code) {
    (void)c;
    fflush(stdout);
    exit(code);
}

/* Installed as lib/diag.h's fatal hook while the comm lives: every ATTN_FATAL ends here. */
static void local_fatal_hook(int code, void *c) { local_abort(c, code); }

static void local_destroy(attn_comm *c) {
    if (!c) return;
    local_ctx *ctx = c->ctx;
    attn_set_fatal_hook(ctx->prev_hook, ctx->prev_hook_ctx);
    free(c->ctx);
    free(c);
}

static attn_comm *local_make(attn_backend *be, int rank, int world, int null_mode) {
    attn_comm *c = calloc(1, sizeof *c);
    local_ctx *ctx = calloc(1, sizeof *ctx);
    if (!c || !ctx) {
        fprintf(stderr, "%s:%d: error: out of memory\n", __FILE__, __LINE__);
        free(c);
        free(ctx);
        return NULL;
    }
    ctx->be = be;
    ctx->null_mode = null_mode;
    *c = (attn_comm){
        .name = null_mode ? "null" : "local", .ctx = ctx, .rank = rank, .world = world,
        .skips_collectives = null_mode,
        .allreduce_sum = local_allreduce_sum, .allreduce_sum_f32 = local_allreduce_sum,
        .allgather = local_allgather, .alltoall = local_alltoall,
        .send = local_send, .recv = local_recv, .sendrecv_start = local_sendrecv_start, .sendrecv_wait = local_sendrecv_wait, .barrier = local_barrier, .group_size = local_group_size,
        .host_max_int = local_max_int, .host_max_double = local_max_double,
        .host_gather_double = local_gather_double, .host_send_float = local_host_send,
        .host_recv_float = local_host_recv, .abort = local_abort, .destroy = local_destroy,
    };
    ctx->prev_hook = attn_get_fatal_hook(&ctx->prev_hook_ctx);
    attn_set_fatal_hook(local_fatal_hook, c);
    return c;
}

attn_comm *attn_comm_local_create(const attn_plan *p, attn_backend *be) {
    if (p->world != 1) {
        fprintf(stderr, "attnrun: error: the plan needs %d ranks but this run has 1 (and no MPI)\n", p->world);
        return NULL;
    }
    return local_make(be, 0, 1, 0);
}

attn_comm *attn_comm_null_create(const attn_plan *p, attn_backend *be, int rank) {
    if (rank < 0 || rank >= p->world) {
        fprintf(stderr, "attnrun: error: --rank-share %d is outside the plan's ranks 0..%d\n", rank, p->world - 1);
        return NULL;
    }
    return local_make(be, rank, p->world, 1);
}
