/* coll.c: collective names and the bus-bandwidth convention of coll.h. */
#include "coll.h"

static const char *const coll_names[COLL_COUNT] = {"allreduce", "allgather", "reducescatter",
                                                   "alltoall", "sendrecv"};

const char *coll_name(attn_coll c) { return (c >= 0 && c < COLL_COUNT) ? coll_names[c] : "?"; }

double coll_bus_factor(attn_coll c, int p) {
    if (p <= 1) return 0;
    switch (c) {
    case COLL_ALLREDUCE: return 2.0 * (p - 1) / p;
    case COLL_SENDRECV: return 1;
    default: return (double)(p - 1) / p;
    }
}

double coll_latency_steps(attn_coll c, int p) {
    if (p <= 1) return 0;
    switch (c) {
    case COLL_ALLREDUCE: return 2.0 * (p - 1);
    case COLL_SENDRECV: return 1;
    default: return p - 1;
    }
}
