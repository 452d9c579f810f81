/* calibrate_comm.c: the collectives of `attnrun --calibrate`, over the comm interface
 * (comm.h: MPI on the CPU, NCCL on GPUs). Every collective runs over the whole world (one
 * group of `world` ranks); send/recv is a ping-pong between ranks 0 and 1 (one-way time =
 * round trip / 2). Conventions are nccl-tests' (doc/PERFORMANCE.md): S is the buffer size
 * (all-gather: the gathered buffer; all-to-all: one rank's send buffer), algbw = S / t,
 * busbw = algbw x factor, with factor 2(p-1)/p for all-reduce, (p-1)/p for all-gather and
 * all-to-all, 1 for send/recv. Fit: t = steps x alpha + factor x S / busbw, steps 2(p-1),
 * p-1, p-1 and 1, weighted to relative error so small and large messages both count. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "calibrate.h"

#define COLL_MAX_BYTES (16u << 20)

typedef struct coll_arg {
    attn_coll coll;
    size_t elems;           /* per member (all-gather, all-to-all) or whole buffer */
    size_t *counts;         /* world entries */
    attn_ptr send, recv;
} coll_arg;

static void run_coll(cal_ctx *c, void *varg, int iter) {
    coll_arg *a = varg;
    attn_comm *cm = c->comm;
    (void)iter;
    switch (a->coll) {
    case COLL_ALLREDUCE: cm->allreduce_sum(cm, GROUP_STAGE, a->send, a->elems); break;
    case COLL_ALLGATHER: cm->allgather(cm, GROUP_STAGE, a->send, a->recv, a->counts); break;
    case COLL_ALLTOALL: cm->alltoall(cm, GROUP_STAGE, a->send, a->counts, a->recv, a->counts); break;
    case COLL_SENDRECV: /* rank 0 -> 1 -> 0; the others idle */
        if (c->rank == 0) {
            cm->send(cm, a->send, a->elems, 1);
            cm->recv(cm, a->recv, a->elems, 1);
        } else if (c->rank == 1) {
            cm->recv(cm, a->recv, a->elems, 0);
            cm->send(cm, a->send, a->elems, 0);
        }
        break;
    default: break;
    }
}

static double time_coll(cal_ctx *c, coll_arg *a) {
    double t = cal_time_op(c, run_coll, a, 1, 20000);
    return a->coll == COLL_SENDRECV ? t / 2 : t; /* one way of the round trip */
}

static int measure_one(cal_ctx *c, attn_coll coll, cal_coll *out) {
    int p = c->world;
    size_t eb = c->be->elem_bytes, max_elems = COLL_MAX_BYTES / eb;
    coll_arg a = {.coll = coll};
    a.counts = malloc((size_t)p * sizeof *a.counts);
    a.send = c->be->alloc(c->be->ctx, max_elems);
    a.recv = c->be->alloc(c->be->ctx, max_elems);
    if (!a.counts || attn_ptr_null(a.send) || attn_ptr_null(a.recv)) {
        fprintf(stderr, "attnrun: error: calibrate: cannot allocate the collective buffers\n");
        free(a.counts);
        c->be->free(c->be->ctx, a.send);
        c->be->free(c->be->ctx, a.recv);
        return -1;
    }
    c->be->fill(c->be->ctx, a.send, max_elems, 1.0f);
    out->coll = coll;
    out->group_size = coll == COLL_SENDRECV ? 2 : p;
    out->n_sizes = 0;
    int per_member = coll == COLL_ALLGATHER || coll == COLL_ALLTOALL;
    for (size_t e = 1; e <= max_elems && out->n_sizes < CAL_MAX_COLL_SIZES; e *= 4) {
        size_t total = per_member ? (e < (size_t)p ? (size_t)p : e / p * p) : e;
        if (total > max_elems) break;
        a.elems = per_member ? total / p : total;
        for (int i = 0; i < p; i++) a.counts[i] = a.elems;
        out->bytes[out->n_sizes] = (double)total * eb;
        out->seconds[out->n_sizes] = time_coll(c, &a);
        out->n_sizes++;
    }
    free(a.counts);
    c->be->free(c->be->ctx, a.send);
    c->be->free(c->be->ctx, a.recv);

    /* lib/coll.h: the convention the cost model prices with */
    double steps = coll_latency_steps(coll, out->group_size), factor = coll_bus_factor(coll, out->group_size);
    double x[CAL_MAX_COLL_SIZES], al, inv_bw;
    for (int i = 0; i < out->n_sizes; i++) x[i] = factor * out->bytes[i];
    if (cal_fit_line(x, out->seconds, out->n_sizes, &al, &inv_bw) != 0) {
        if (c->rank == 0) fprintf(stderr, "attnrun: error: calibrate: %s timings do not fit alpha-beta\n", coll_name(coll));
        return -1;
    }
    out->alpha_s = al / steps;
    out->bus_bandwidth = 1.0 / inv_bw;
    return 0;
}

static void print_table(const cal_coll *k) {
    double steps = coll_latency_steps(k->coll, k->group_size), factor = coll_bus_factor(k->coll, k->group_size);
    printf("\n# %s, %d ranks: fit alpha %.3g us, busbw %.3g GB/s\n", coll_name(k->coll), k->group_size,
           k->alpha_s * 1e6, k->bus_bandwidth / 1e9);
    printf("# %12s %12s %6s %12s %10s %10s %10s\n", "size (B)", "count", "type", "time (us)", "algbw", "busbw", "fit (us)");
    for (int i = 0; i < k->n_sizes; i++) {
        double S = k->bytes[i], t = k->seconds[i], alg = S / t / 1e9;
        double fit = steps * k->alpha_s + factor * S / k->bus_bandwidth;
        printf("  %12.0f %12.0f %6s %12.2f %10.3f %10.3f %10.2f\n", S, S / 4, "float", t * 1e6, alg, alg * factor,
               fit * 1e6);
    }
}

int cal_measure_collectives(cal_ctx *c) {
    static const attn_coll colls[] = {COLL_ALLREDUCE, COLL_ALLGATHER, COLL_ALLTOALL, COLL_SENDRECV};
    c->n_coll = 0;
    if (!c->comm || c->world < 2) return 0;
    for (size_t i = 0; i < sizeof colls / sizeof colls[0]; i++) {
        if (measure_one(c, colls[i], &c->coll[c->n_coll]) != 0) return -1;
        if (c->rank == 0) print_table(&c->coll[c->n_coll]);
        c->n_coll++;
    }
    if (c->rank == 0) fflush(stdout);
    return 0;
}

/* ---- synchronization wait ---- */

/* One unit of independent work (a few microseconds on a CPU core): a 32x64x64 GEMM and a
 * GELU over 256 elements, a matrix unit and a libm/vector-bound kernel as a layer mixes them. */
typedef struct sync_work {
    attn_ptr a, b, cmat, x, y;
} sync_work;
#define SYNC_N 64
#define SYNC_M 32
#define SYNC_ELEMS 256
#define SYNC_MAX_SAMPLES 20000

static void sync_unit(cal_ctx *c, const sync_work *w) {
    c->be->gemm(c->be->ctx, 0, 1, SYNC_M, SYNC_N, SYNC_N, 1.0f, w->a, SYNC_N, 0, w->b, SYNC_N, 0, 0.0f, w->cmat, SYNC_N,
                0, 1);
    c->be->gelu(c->be->ctx, w->y, w->x, SYNC_ELEMS);
}

/* The mean over the world of v on rank 0 (the others get their own v back); the maximum
 * beyond 1024 ranks (every rank takes the same branch). */
static double world_mean(cal_ctx *c, double v) {
    double all[1024];
    if (c->world > 1024) return cal_world_max(c, v);
    c->comm->host_gather_double(c->comm, &v, 1, c->rank == 0 ? all : NULL);
    if (c->rank != 0) return v;
    double s = 0;
    for (int i = 0; i < c->world; i++) s += all[i];
    return s / c->world;
}

int cal_measure_sync(cal_ctx *c) {
    static const double work_s[] = {1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2};
    const int n_work = (int)(sizeof work_s / sizeof work_s[0]);
    c->n_sync = 0;
    if (!c->comm || c->world < 2) return 0;
    attn_backend *be = c->be;
    attn_comm *cm = c->comm;
    sync_work w = {be->alloc(be->ctx, SYNC_N * SYNC_N), be->alloc(be->ctx, SYNC_N * SYNC_N),
                   be->alloc(be->ctx, SYNC_N * SYNC_N), be->alloc(be->ctx, SYNC_ELEMS), be->alloc(be->ctx, SYNC_ELEMS)};
    attn_ptr one = be->alloc(be->ctx, 1);
    int rc = 0;
    if (attn_ptr_null(w.a) || attn_ptr_null(w.b) || attn_ptr_null(w.cmat) || attn_ptr_null(w.x) ||
        attn_ptr_null(w.y) || attn_ptr_null(one)) {
        fprintf(stderr, "attnrun: error: calibrate: cannot allocate the synchronization buffers\n");
        rc = -1;
    }
    if (cm->host_max_int(cm, rc ? 1 : 0)) rc = -1; /* no rank may enter a collective alone */
    if (!rc) {
        be->fill(be->ctx, w.a, SYNC_N * SYNC_N, 0.01f);
        be->fill(be->ctx, w.b, SYNC_N * SYNC_N, 0.02f);
        be->fill(be->ctx, w.x, SYNC_ELEMS, 0.5f);
        be->fill(be->ctx, one, 1, 1.0f);
        /* one unit's time (every rank then runs the same number of units and samples) */
        for (int i = 0; i < 20; i++) sync_unit(c, &w);
        be->synchronize(be->ctx);
        double t0 = measure_now();
        for (int i = 0; i < 200; i++) sync_unit(c, &w);
        be->synchronize(be->ctx);
        double unit = cal_world_max(c, (measure_now() - t0) / 200);
        /* the back-to-back latency the waits exclude */
        cm->barrier(cm, GROUP_KIND_COUNT);
        t0 = measure_now();
        for (int i = 0; i < 2000; i++) cm->allreduce_sum(cm, GROUP_STAGE, one, 1);
        be->synchronize(be->ctx);
        c->sync_latency_s = cal_world_max(c, (measure_now() - t0) / 2000);
        for (int p = 0; p < n_work && unit > 0; p++) {
            int units = (int)lround(work_s[p] / unit);
            if (units < 1) units = 1;
            /* the waits are heavy-tailed (on a shared host one core at times runs at half
             * speed): half a second of samples, at least 100, for a stable mean (--quick:
             * a twentieth) */
            int n_min = (int)(25000 * c->min_sample_s), n = (int)(125 * c->min_sample_s / (units * unit));
            if (n_min < 5) n_min = 5;
            n = n < n_min ? n_min : n > SYNC_MAX_SAMPLES ? SYNC_MAX_SAMPLES : n;
            double work_sum = 0, wait_sum = 0;
            cm->barrier(cm, GROUP_KIND_COUNT);
            for (int s = 0; s < n; s++) {
                double a = measure_now();
                for (int u = 0; u < units; u++) sync_unit(c, &w);
                be->synchronize(be->ctx);
                double b = measure_now();
                cm->allreduce_sum(cm, GROUP_STAGE, one, 1);
                be->synchronize(be->ctx);
                wait_sum += measure_now() - b - c->sync_latency_s;
                work_sum += b - a;
            }
            double work = world_mean(c, work_sum / n), wait = world_mean(c, wait_sum / n);
            if (c->n_sync > 0 && work <= c->sync_work_s[c->n_sync - 1]) continue; /* the same units twice */
            c->sync_work_s[c->n_sync] = work;
            c->sync_wait_s[c->n_sync] = wait > 0 ? wait : 0;
            c->n_sync++;
        }
    }
    if (!rc && c->rank == 0) {
        printf("\n# synchronization wait, %d ranks: all-reduce of one element after T of work per rank "
               "(back-to-back %.2f us excluded)\n#   %12s %12s %8s\n", c->world, c->sync_latency_s * 1e6, "work (us)",
               "wait (us)", "ratio");
        for (int i = 0; i < c->n_sync; i++)
            printf("    %12.2f %12.3f %8.4f\n", c->sync_work_s[i] * 1e6, c->sync_wait_s[i] * 1e6,
                   c->sync_wait_s[i] / c->sync_work_s[i]);
        fflush(stdout);
    }
    be->free(be->ctx, w.a);
    be->free(be->ctx, w.b);
    be->free(be->ctx, w.cmat);
    be->free(be->ctx, w.x);
    be->free(be->ctx, w.y);
    be->free(be->ctx, one);
    return rc;
}
