/* cost_comm.c: collectives by the alpha-beta model with NCCL's bus-bandwidth conventions
 * (nccl-tests doc/PERFORMANCE.md): for p ranks and a buffer of S bytes,
 *   all-reduce                          2(p-1) alpha + 2(p-1)/p * S / beta
 *   all-gather, reduce-scatter, a2a     (p-1) alpha +  (p-1)/p * S / beta
 *   send/recv                           alpha + S / beta
 * with beta = link bandwidth x link efficiency. A group inside one node or one NVLink domain
 * is priced flat on that fabric; a group that spans nodes over the network is priced
 * hierarchically (docs/cost-model.md, "Collectives"). A calibration entry for the
 * (collective, link class, group size) replaces alpha and beta. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cost_private.h"

static double spec_beta(attn_link_spec s) {
    double b = s.bandwidth * (s.efficiency > 0 ? s.efficiency : 1.0);
    return b > 0 ? b : 1.0; /* a link with no bandwidth: priced as 1 byte/s rather than divided by 0 */
}

/* The worse of two specs: lower achieved bandwidth, higher latency. */
static attn_link_spec spec_worse(attn_link_spec a, attn_link_spec b) {
    attn_link_spec w = spec_beta(a) <= spec_beta(b) ? a : b;
    w.latency = a.latency > b.latency ? a.latency : b.latency;
    return w;
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int cost_comm_geom_build(const attn_topology *t, const int *devs, int n, cost_comm_geom *g) {
    memset(g, 0, sizeof *g);
    g->n = n;
    g->link = LINK_SELF;
    g->nodes = n > 0 ? 1 : 0;
    g->min_per_node = g->max_per_node = n;
    if (n <= 1) return 0;
    for (int i = 0; i < n; i++)
        if (devs[i] < 0 || devs[i] >= t->n_devices) return -1;
    g->link = topology_group_link(t, devs, n);
    /* Worst pair spec over consecutive members (the ring NCCL would build). */
    int have_flat = 0;
    for (int i = 0; i + 1 < n; i++) {
        attn_link_spec s = topology_link_spec(t, g->link, devs[i], devs[i + 1]);
        g->flat = have_flat ? spec_worse(g->flat, s) : s;
        have_flat = 1;
    }
    if (g->link != LINK_NETWORK) return 0;

    /* Members per node: sort the members' node indices. */
    int *node_of = malloc((size_t)n * sizeof *node_of), *first = malloc((size_t)n * sizeof *first);
    if (!node_of || !first) {
        free(node_of);
        free(first);
        return -1;
    }
    for (int i = 0; i < n; i++) node_of[i] = t->devices[devs[i]].node;
    qsort(node_of, (size_t)n, sizeof *node_of, cmp_int);
    g->nodes = 0;
    g->min_per_node = n;
    g->max_per_node = 0;
    for (int i = 0; i < n;) {
        int j = i;
        while (j < n && node_of[j] == node_of[i]) j++;
        int c = j - i;
        if (c < g->min_per_node) g->min_per_node = c;
        if (c > g->max_per_node) g->max_per_node = c;
        g->nodes++;
        i = j;
    }
    /* Intra: worst node fabric among members sharing a node; inter: worst NIC pair between
     * the first member seen on each node. */
    int have_intra = 0, have_inter = 0, n_first = 0;
    for (int i = 0; i < n; i++) {
        int dev = devs[i], node = t->devices[dev].node, seen = -1;
        for (int k = 0; k < n_first; k++)
            if (t->devices[first[k]].node == node) { seen = first[k]; break; }
        if (seen >= 0) {
            attn_link_spec s = topology_link_spec(t, LINK_NODE, seen, dev);
            g->intra = have_intra ? spec_worse(g->intra, s) : s;
            have_intra = 1;
        } else {
            if (n_first > 0) {
                attn_link_spec s = topology_link_spec(t, LINK_NETWORK, first[n_first - 1], dev);
                g->inter = have_inter ? spec_worse(g->inter, s) : s;
                have_inter = 1;
            }
            first[n_first++] = dev;
        }
    }
    if (!have_inter) g->inter = g->flat;
    free(node_of);
    free(first);
    return 0;
}

/* alpha scale of the collective being priced (cost_comm_time_scaled): a captured
 * collective's latency terms; 1 eager */
static double flat_time(attn_coll c, int p, double S, attn_link_spec s, double as) {
    return coll_latency_steps(c, p) * s.latency * as + coll_bus_factor(c, p) * S / spec_beta(s);
}

static const cost_coll_fit *find_fit(const cost_calibration *cal, attn_coll c, attn_link l, int p) {
    if (!cal || cal->n_coll <= 0 || !cal->coll) return NULL;
    const cost_coll_fit *best = NULL;
    int best_d = 0;
    for (int i = 0; i < cal->n_coll; i++) {
        const cost_coll_fit *f = &cal->coll[i];
        if (f->coll != c || f->link != l || f->bus_bandwidth <= 0) continue;
        int d = abs(f->group_size - p);
        if (!best || d < best_d) { best = f; best_d = d; }
    }
    return best;
}

double cost_comm_time(const cost_comm_geom *g, attn_coll c, double S, const cost_calibration *cal, int *hier) {
    return cost_comm_time_scaled(g, c, S, cal, hier, 1.0);
}

double cost_comm_time_scaled(const cost_comm_geom *g, attn_coll c, double S, const cost_calibration *cal, int *hier,
                             double as) {
    if (hier) *hier = 0;
    if (g->n <= 1 || S <= 0) return 0;
    const cost_coll_fit *fit = find_fit(cal, c, g->link, g->n);
    if (fit) { /* a calibration times eager calls: the captured scale applies to its alpha too */
        return coll_latency_steps(c, g->n) * fit->alpha_s * as + coll_bus_factor(c, g->n) * S / fit->bus_bandwidth;
    }
    if (g->link != LINK_NETWORK || c == COLL_SENDRECV || g->max_per_node <= 1 || g->nodes <= 1)
        return flat_time(c, g->n, S, g->link == LINK_NETWORK && g->nodes > 1 ? g->inter : g->flat, as);

    /* Hierarchical: q members per node (the largest node's count sets the intra steps, the
     * smallest sets how much each NIC carries), k nodes. */
    if (hier) *hier = 1;
    int q = g->max_per_node, qmin = g->min_per_node, k = g->nodes, p = g->n;
    switch (c) {
    case COLL_ALLREDUCE: /* reduce-scatter in node, all-reduce of 1/q across nodes, all-gather in node */
        return flat_time(COLL_REDUCESCATTER, q, S, g->intra, as) + flat_time(COLL_ALLREDUCE, k, S / qmin, g->inter, as) +
               flat_time(COLL_ALLGATHER, q, S, g->intra, as);
    case COLL_ALLGATHER: /* across nodes among same-local-index peers, then in node */
        return flat_time(COLL_ALLGATHER, k, S / qmin, g->inter, as) + flat_time(COLL_ALLGATHER, q, S, g->intra, as);
    case COLL_REDUCESCATTER:
        return flat_time(COLL_REDUCESCATTER, q, S, g->intra, as) + flat_time(COLL_REDUCESCATTER, k, S / qmin, g->inter, as);
    case COLL_ALLTOALL: { /* the off-node share crosses the NICs, the on-node share the fabric */
        attn_link_spec in = g->intra, out = g->inter;
        return ((q - 1) * in.latency + (p - q) * out.latency) * as + (double)(q - 1) / p * S / spec_beta(in) +
               (double)(p - q) / p * S / spec_beta(out);
    }
    default:
        return flat_time(c, p, S, g->inter, as);
    }
}

double cost_collective_time(const attn_topology *t, attn_coll c, const int *devs, int n, double S,
                            const cost_calibration *cal, attn_link *link, int *hierarchical) {
    cost_comm_geom g;
    int hier = 0;
    double time = 0;
    if (cost_comm_geom_build(t, devs, n, &g) != 0) {
        if (link) *link = LINK_SELF;
        if (hierarchical) *hierarchical = 0;
        return -1;
    }
    time = cost_comm_time(&g, c, S, cal, &hier);
    if (link) *link = g.link;
    if (hierarchical) *hierarchical = hier;
    return time;
}

double cost_sync_wait(const cost_calibration *cal, double work_s) {
    if (!cal || cal->n_sync <= 0 || !(work_s > 0)) return 0;
    const double *w = cal->sync_work_s, *t = cal->sync_wait_s;
    int n = cal->n_sync;
    if (n == 1 || work_s <= w[0]) return work_s * t[0] / w[0];
    if (work_s >= w[n - 1]) return work_s * t[n - 1] / w[n - 1];
    int i = 1;
    while (i < n - 1 && w[i] < work_s) i++;
    double f = log(work_s / w[i - 1]) / log(w[i] / w[i - 1]);
    double ratio = (1 - f) * t[i - 1] / w[i - 1] + f * t[i] / w[i];
    return work_s * ratio;
}
