/* cost_comm.c: the price of one collective, by precedence
 *   1. a calibration fit (attnrun --calibrate: alpha and bus bandwidth per collective,
 *      link class and group size),
 *   2. the topology's measured `collectives:` table (interpolated in log bytes / log time
 *      between its points for the same collective, ranks and nodes; beyond its ends the
 *      model's shape scaled to the nearest point),
 *   3. on GPU fabrics the NCCL model (cost_nccl.c: algorithm and protocol as NCCL picks);
 *      on CPU fabrics (shared memory, MPI) the alpha-beta model below.
 * Alpha-beta with NCCL's bus-bandwidth conventions
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

/* The group as NCCL's tuner sees it (g's link class and specs already set). */
static int nccl_group_build(const attn_topology *t, const int *devs, cost_comm_geom *g) {
    cost_nccl_group *ng = &g->ng;
    int nvswitch = 1, nvlink = 1;
    g->nccl = 1;
    ng->launch_s = 0;
    for (int i = 0; i < g->n; i++) {
        const attn_device *dv = &t->devices[devs[i]];
        attn_fabric f = t->node_types[dv->node_type].fabric;
        if (f == FABRIC_SHARED_MEMORY) g->nccl = 0;
        if (f != FABRIC_NVSWITCH) nvswitch = 0;
        if (f == FABRIC_PCIE) nvlink = 0;
        ng->launch_s = fmax(ng->launch_s, t->dev_types[dv->device_type].launch_overhead_s);
    }
    attn_link_spec intra = g->flat, nic = g->flat;
    ng->ranks = g->n;
    if (g->link == LINK_NETWORK) {
        ng->nodes = g->nodes;
        ng->per_node = g->max_per_node;
        ng->per_node_min = g->min_per_node;
        intra = g->intra;
        nic = g->inter;
    } else { /* one node, or one NVLink domain: NVLink between every pair */
        ng->nodes = 1;
        ng->per_node = ng->per_node_min = g->n;
        if (g->link == LINK_DOMAIN) nvswitch = nvlink = 1;
    }
    ng->nvlink = nvlink;
    ng->link_bw = intra.bandwidth;
    ng->intra_bw = spec_beta(intra);
    ng->nic_bw = spec_beta(nic);
    /* a topology built in memory (tests) has no nccl block: the loader's default */
    ng->algorithms = t->nccl.algorithms ? t->nccl.algorithms : TOPOLOGY_NCCL_DEFAULT;
    if (!nvswitch) ng->algorithms &= ~((1u << COLL_ALGO_NVLS) | (1u << COLL_ALGO_NVLS_TREE));
    ng->nvls_eff = t->nccl.nvls_efficiency;
    ng->collnet_eff = t->nccl.collnet_efficiency;
    return 0;
}

int cost_comm_period(const attn_topology *t) {
    if (t->n_nodes < 1 || t->n_devices < 1 || !t->node_type_of || !topology_homogeneous(t)) return 0;
    int D = t->node_types[t->node_type_of[0]].devices, K = t->domain_nodes > 1 ? t->domain_nodes : 1;
    if (D < 1 || t->n_devices % (D * K) != 0) return 0;
    for (int d = 0; d < t->n_devices; d++)
        if (t->devices[d].node != d / D || (K > 1 && t->devices[d].domain != d / D / K)) return 0;
    return D * K;
}

int cost_geom_cache_init(cost_geom_cache *gc, int period, int n) {
    memset(gc, 0, sizeof *gc);
    if (period <= 0 || n <= 1) return 0;
    gc->have = calloc((size_t)period, sizeof *gc->have);
    gc->devs = malloc((size_t)period * n * sizeof *gc->devs);
    gc->geom = malloc((size_t)period * sizeof *gc->geom);
    if (!gc->have || !gc->devs || !gc->geom) {
        cost_geom_cache_free(gc);
        return -1;
    }
    gc->period = period, gc->n = n;
    return 0;
}

void cost_geom_cache_free(cost_geom_cache *gc) {
    free(gc->have);
    free(gc->devs);
    free(gc->geom);
    memset(gc, 0, sizeof *gc);
}

int cost_geom_cached(const attn_topology *t, cost_geom_cache *gc, const int *devs, int n, cost_comm_geom *g) {
    if (gc->period <= 0 || n != gc->n || devs[0] < 0) return cost_comm_geom_build(t, devs, n, g);
    int r = devs[0] % gc->period, base = devs[0] - r, *met = gc->devs + (size_t)r * n;
    if (gc->have[r]) {
        int same = 1;
        for (int j = 0; same && j < n; j++) same = devs[j] - base == met[j];
        if (same) {
            *g = gc->geom[r];
            return 0;
        }
    }
    if (cost_comm_geom_build(t, devs, n, g) != 0) return -1;
    for (int j = 0; j < n; j++) met[j] = devs[j] - base;
    gc->geom[r] = *g;
    gc->have[r] = 1;
    return 0;
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
    g->topo = t;
    g->link = topology_group_link(t, devs, n);
    /* Worst pair spec over consecutive members (the ring NCCL would build). */
    int have_flat = 0;
    for (int i = 0; i + 1 < n; i++) {
        attn_link_spec s = topology_link_spec(t, g->link, devs[i], devs[i + 1]);
        g->flat = have_flat ? spec_worse(g->flat, s) : s;
        have_flat = 1;
    }
    if (g->link != LINK_NETWORK) return nccl_group_build(t, devs, g);

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
    if (!have_intra) g->intra = g->inter; /* one member per node: no hop inside a node */
    free(node_of);
    free(first);
    return nccl_group_build(t, devs, g);
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

static double alpha_beta_time(const cost_comm_geom *g, attn_coll c, double S, int *hier, double as);

/* A calibration entry's price of S bytes over p ranks. The calibration times eager calls;
 * a captured collective (latency scale as < 1) saves that share of the alpha terms. With
 * the measured sizes at this group size: between two of them log-log, beyond them the fit's
 * shape through the nearest. One alpha-beta line cannot follow a CPU fabric's protocol
 * changes: the calibration of 2026-12-03 measured a 2-rank all-reduce of 16 KiB at 7.8 us
 * where its fit gives 2.4 us, 16 MiB at 3.3 ms against 2.3 ms (docs/accuracy.md). */
static double fit_time(const cost_coll_fit *f, attn_coll c, int p, double S, double as) {
    double lat = coll_latency_steps(c, p) * f->alpha_s, bus = coll_bus_factor(c, p) / f->bus_bandwidth;
    double line = lat * as + bus * S;
    int n = f->n_points;
    if (n < 2 || f->group_size != p) return line;
    const double *b = f->point_bytes, *t = f->point_s;
    double at;
    if (S <= b[0]) at = t[0] * (lat + bus * S) / (lat + bus * b[0]);
    else if (S >= b[n - 1]) at = t[n - 1] * (lat + bus * S) / (lat + bus * b[n - 1]);
    else {
        int i = 0;
        while (i + 2 < n && b[i + 1] < S) i++;
        double w = log(S / b[i]) / log(b[i + 1] / b[i]);
        at = exp((1 - w) * log(t[i]) + w * log(t[i + 1]));
    }
    at -= (1 - as) * lat;
    return at > bus * S ? at : bus * S;
}

static const char *const source_names[] = {"model", "measured", "calibration", "alpha-beta"};
const char *cost_coll_source_name(cost_coll_source s) { return (unsigned)s < 4 ? source_names[s] : "?"; }

/* The model's time at S (NCCL's choice under o), or -1. */
static double model_time(const cost_comm_geom *g, attn_coll c, double S, const cost_nccl_options *o) {
    cost_coll_choice ch;
    return cost_collective_choose(&g->ng, c, S, o, &ch) == 0 ? ch.time_s : -1;
}

/* The topology's measured points for (c, n ranks, nodes) at S; 1 with *t set, 0 when it
 * has none. Sorted by bytes (topology_load sorts the table). */
static int measured_time(const cost_comm_geom *g, attn_coll c, double S, const cost_nccl_options *o, double *t) {
    const attn_topology *tp = g->topo;
    if (!tp || tp->n_coll_measured <= 0) return 0;
    int nodes = g->link == LINK_NETWORK ? g->nodes : 1, lo = -1, hi = -1;
    for (int i = 0; i < tp->n_coll_measured; i++) {
        const attn_coll_measured *m = &tp->coll_measured[i];
        if (m->coll != c || m->ranks != g->n || m->nodes != nodes) continue;
        if (lo < 0) lo = i;
        hi = i;
    }
    if (lo < 0) return 0;
    const attn_coll_measured *m = tp->coll_measured;
    int end = S <= m[lo].bytes ? lo : S >= m[hi].bytes ? hi : -1;
    if (end >= 0) { /* beyond the table: the model's shape through the nearest point */
        double at_end = g->nccl ? model_time(g, c, m[end].bytes, o) : -1, at_s = g->nccl ? model_time(g, c, S, o) : -1;
        if (at_end > 0 && at_s > 0) *t = m[end].time_s * at_s / at_end;
        else *t = S <= m[lo].bytes ? m[lo].time_s : m[hi].time_s * S / m[hi].bytes;
        return 1;
    }
    int i = lo;
    while (i + 1 < hi && m[i + 1].bytes < S) i++;
    double f = log(S / m[i].bytes) / log(m[i + 1].bytes / m[i].bytes);
    *t = exp((1 - f) * log(m[i].time_s) + f * log(m[i + 1].time_s));
    return 1;
}

double cost_comm_time(const cost_comm_geom *g, attn_coll c, double S, const cost_calibration *cal,
                      const cost_nccl_options *o, cost_coll_choice *choice) {
    cost_coll_choice ch;
    memset(&ch, 0, sizeof ch);
    ch.algo = c == COLL_ALLTOALL || c == COLL_SENDRECV ? COLL_ALGO_P2P : COLL_ALGO_RING;
    ch.proto = COLL_PROTO_SIMPLE;
    ch.source = g->nccl ? COST_COLL_MODEL : COST_COLL_ALPHA_BETA;
    if (g->n <= 1 || S <= 0) {
        if (choice) *choice = ch;
        return 0;
    }
    int have_model = g->nccl && cost_collective_choose(&g->ng, c, S, o, &ch) == 0;
    ch.hierarchical = g->link == LINK_NETWORK && g->nodes > 1;
    double t;
    const cost_coll_fit *fit = find_fit(cal, c, g->link, g->n);
    if (fit) {
        t = fit_time(fit, c, g->n, S, o ? o->latency_scale : 1.0);
        ch.source = COST_COLL_CALIBRATION;
    } else if (measured_time(g, c, S, o, &t)) {
        ch.source = COST_COLL_MEASURED;
    } else if (g->nccl) {
        t = have_model ? ch.time_s : -1;
    } else {
        int hier = 0;
        t = alpha_beta_time(g, c, S, &hier, o && o->latency_scale > 0 ? o->latency_scale : 1.0);
        ch.hierarchical = hier;
    }
    ch.time_s = t;
    if (choice) *choice = ch;
    return t;
}

/* The alpha-beta model of CPU fabrics; *hier 1 when priced intra / inter / intra; every
 * latency term times as (cost_nccl_options latency_scale). */
static double alpha_beta_time(const cost_comm_geom *g, attn_coll c, double S, int *hier, double as) {
    *hier = 0;
    if (g->link != LINK_NETWORK || c == COLL_SENDRECV || g->max_per_node <= 1 || g->nodes <= 1)
        return flat_time(c, g->n, S, g->link == LINK_NETWORK && g->nodes > 1 ? g->inter : g->flat, as);

    /* Hierarchical: q members per node (the largest node's count sets the intra steps, the
     * smallest sets how much each NIC carries), k nodes. */
    *hier = 1;
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
    cost_coll_choice ch;
    if (cost_comm_geom_build(t, devs, n, &g) != 0) {
        if (link) *link = LINK_SELF;
        if (hierarchical) *hierarchical = 0;
        return -1;
    }
    double time = cost_comm_time(&g, c, S, cal, NULL, &ch);
    if (link) *link = g.link;
    if (hierarchical) *hierarchical = ch.hierarchical;
    return time;
}

int cost_collective_predict(const attn_topology *t, attn_coll c, const int *devs, int n, double S,
                            const cost_calibration *cal, const cost_nccl_options *o, cost_coll_choice *out) {
    cost_comm_geom g;
    memset(out, 0, sizeof *out);
    if (cost_comm_geom_build(t, devs, n, &g) != 0) return -1;
    return cost_comm_time(&g, c, S, cal, o, out) < 0 ? -1 : 0;
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
