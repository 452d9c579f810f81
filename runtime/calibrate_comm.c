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

static void coll_steps(attn_coll c, int p, double *steps, double *factor) {
    switch (c) {
    case COLL_ALLREDUCE: *steps = 2.0 * (p - 1); *factor = 2.0 * (p - 1) / p; break;
    case COLL_SENDRECV: *steps = 1; *factor = 1; break;
    default: *steps = p - 1; *factor = (double)(p - 1) / p; break;
    }
}

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

/* time_op from calibrate_ops.c is static there; collectives need the same protocol with a
 * barrier first so that no rank starts a sample while another is still in the last one. */
static double time_coll(cal_ctx *c, coll_arg *a) {
    run_coll(c, a, 0);
    c->be->synchronize(c->be->ctx);
    c->comm->barrier(c->comm, GROUP_KIND_COUNT);
    double t0 = cal_now();
    run_coll(c, a, 1);
    c->be->synchronize(c->be->ctx);
    double once = cal_world_max(c, cal_now() - t0);
    int reps = once > 0 ? (int)ceil(c->min_sample_s / once) : 1000;
    if (reps < 1) reps = 1;
    if (reps > 20000) reps = 20000;
    double s[16];
    int ns = c->samples < 16 ? c->samples : 16;
    for (int i = 0; i < ns; i++) {
        c->comm->barrier(c->comm, GROUP_KIND_COUNT);
        t0 = cal_now();
        for (int r = 0; r < reps; r++) run_coll(c, a, r);
        c->be->synchronize(c->be->ctx);
        s[i] = (cal_now() - t0) / reps;
    }
    double t = cal_world_max(c, cal_median(s, ns));
    return a->coll == COLL_SENDRECV ? t / 2 : t;
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

    double steps, factor, x[CAL_MAX_COLL_SIZES], al, inv_bw;
    coll_steps(coll, out->group_size, &steps, &factor);
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
    double steps, factor;
    coll_steps(k->coll, k->group_size, &steps, &factor);
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
