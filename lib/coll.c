/* coll.c: collective names and the bus-bandwidth convention of coll.h. */
#include "coll.h"
#include <ctype.h>
#include <string.h>
#include <strings.h>

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

static const char *const algo_names[COLL_ALGO_COUNT] = {"Ring", "Tree", "NVLS", "NVLSTree", "CollNet", "P2P"};
static const char *const proto_names[COLL_PROTO_COUNT] = {"LL", "LL128", "Simple"};

const char *coll_algo_name(coll_algo a) { return (a >= 0 && a < COLL_ALGO_COUNT) ? algo_names[a] : "?"; }
const char *coll_proto_name(coll_proto p) { return (p >= 0 && p < COLL_PROTO_COUNT) ? proto_names[p] : "?"; }

int coll_algo_parse(const char *s, coll_algo *a) {
    for (int i = 0; i < COLL_ALGO_COUNT; i++)
        if (!strcasecmp(s, algo_names[i])) { *a = (coll_algo)i; return 0; }
    if (!strcasecmp(s, "collnetdirect")) { *a = COLL_ALGO_COLLNET; return 0; }
    return -1;
}

int coll_proto_parse(const char *s, coll_proto *p) {
    for (int i = 0; i < COLL_PROTO_COUNT; i++)
        if (!strcasecmp(s, proto_names[i])) { *p = (coll_proto)i; return 0; }
    return -1;
}

int coll_parse(const char *s, attn_coll *c) {
    char k[32];
    size_t n = 0;
    for (; *s && n + 1 < sizeof k; s++)
        if (*s != '-' && *s != '_') k[n++] = (char)tolower((unsigned char)*s);
    k[n] = 0;
    if (*s) return -1;
    for (int i = 0; i < COLL_COUNT; i++)
        if (!strcmp(k, coll_names[i])) { *c = (attn_coll)i; return 0; }
    return -1;
}
