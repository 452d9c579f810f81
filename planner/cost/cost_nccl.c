/* cost_nccl.c: collectives as NCCL runs them. For a group (ranks, nodes, GPUs per node,
 * its fabric) and a buffer of S bytes, every algorithm and protocol NCCL could run is
 * priced as
 *     time = latency(algorithm, protocol, group) + S / algbw(algorithm, protocol, group)
 * and the fastest is what NCCL picks, as its own tuner does (NVIDIA/nccl
 * src/graph/tuning.cc, ncclTopoTuneModel and ncclTopoGetAlgoTime: per algorithm and
 * protocol a base latency, per-hop latencies by link type, a bandwidth per channel and a
 * protocol efficiency). The structure follows that file; the code and the bandwidth side
 * are ours, written from the traffic each algorithm puts on each link:
 *
 *   ring      every rank sends and receives (p-1)/p of S per pass (2 passes for
 *             all-reduce) at the node fabric's achieved bandwidth; across nodes each ring
 *             leaves a node once through one NIC, so a node's q NICs carry all rings:
 *             busbw <= q x NIC.
 *   tree      all-reduce only: a chain inside the node, double binary trees between
 *             nodes; half the bus bandwidth of a ring pass (tuning.cc: busBw x 0.5, x 0.92)
 *             but log2(nodes) network hops instead of 2(nodes-1).
 *   NVLS      NVLink SHARP (NVSwitch multimem loads that reduce, stores that multicast):
 *             a GPU moves S (1 + 1/q) over its links for an all-reduce, so
 *             algbw = line rate x nvls efficiency x q / (q+1). That one efficiency is
 *             the topology's (nvls: {efficiency}); Simple protocol only.
 *   NVLS-tree NVLS inside each node, trees over the rail (one NIC per GPU) between nodes
 *             carrying the GPU's reduced S/q: on 2 nodes a plain exchange, S/q each way per
 *             NIC (algbw <= q x NIC); on more, double binary trees in which a node is
 *             interior (2 children, a parent: 3 x S/2q each way) in one tree and a leaf
 *             (S/2q each way) in the other: 2S/q per NIC, algbw <= q x NIC / 2.
 *   CollNet   the NIC hands its 1/q share to the switch's reduction (IB SHARP).
 *   P2P       all-to-all and send/recv: the on-node share over NVLink and the off-node
 *             share over the GPU's own NIC, concurrently.
 *
 * Latency constants (microseconds) are tuning.cc's published defaults as the releases
 * 2.22.3 to 2.28.x ship them (unchanged across those releases; v2.27.5 for instance):
 * NCCL's own figures of its kernels' startup and per-hop costs. Master (2.29+) raised the
 * NVLS-tree network hop from 14 to 20.9 us; every source in bench/published ran 2.28 or
 * older, so the release table is the one priced; protocol efficiencies are the
 * same file's (LL: half the bandwidth, 8-byte stores carrying 4 bytes of data and a flag;
 * LL128: 120 of 128 bytes, x0.92 on rings). Nothing here is fitted to bench/published. */
#include <math.h>
#include <string.h>
#include "cost_private.h"

enum { HW_NVLINK = 0, HW_PCI, HW_NET, HW_COUNT };

/* baseLatencies[algo][proto] and hwLatencies[hw][algo][proto] of tuning.cc, in us, in
 * our algorithm order (ring, tree, nvls, nvls-tree, collnet; p2p priced as ring). */
static const double base_lat[COLL_ALGO_COUNT][COLL_PROTO_COUNT] = {
    {6.6, 14.0, 8.4}, {6.8, 14.0, 8.4}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {6.6, 14.0, 8.4}};
static const double hw_lat[HW_COUNT][COLL_ALGO_COUNT][COLL_PROTO_COUNT] = {
    /* NVLink */ {{0.6, 1.9, 3.4}, {0.6, 1.25, 4.0}, {0, 0, 25}, {0, 0, 25}, {0, 0, 3.7}, {0.6, 1.9, 3.4}},
    /* PCIe   */ {{1.0, 2.5, 5.7}, {1.0, 1.9, 4.0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 3.7}, {1.0, 2.5, 5.7}},
    /* net    */ {{2.7, 4.0, 14}, {5.0, 8.5, 14}, {0, 0, 18}, {0, 0, 14}, {0, 0, 31}, {2.7, 4.0, 14}},
};
/* tuning.cc getNetOverhead: a network post costs 1 us of CPU proxy time on x86 (DGX H100:
 * Intel Xeon), three posts per step with the Simple protocol. */
#define NET_OVERHEAD_US 1.0
/* CollNet Direct's arity serialization, 0.4 us per local rank (tuning.cc). */
#define COLLNET_ARITY_US 0.4

void cost_nccl_options_default(cost_nccl_options *o) {
    o->algo = -1;
    o->proto = -1;
    o->single_process = 0;
    o->latency_scale = 1.0;
}

static int log2i(int x) {
    int l = 0;
    while (x >= 2) x >>= 1, l++;
    return l;
}

/* Protocol efficiency on bandwidth (tuning.cc's refinements). */
static double proto_eff(coll_algo a, coll_proto p, int nodes) {
    if (p == COLL_PROTO_SIMPLE) return 1.0;
    if (a == COLL_ALGO_TREE) return p == COLL_PROTO_LL ? 1.0 / 3.8 : (nodes == 1 ? 7.0 / 9.0 : 120.0 / 128.0);
    return p == COLL_PROTO_LL ? 0.5 : 0.92;
}

static int algo_offered(const cost_nccl_group *g, attn_coll c, coll_algo a) {
    if (!(g->algorithms & (1u << a))) return 0;
    int p = g->ranks, k = g->nodes, q = g->per_node;
    switch (a) {
    case COLL_ALGO_RING: return c == COLL_ALLREDUCE || c == COLL_ALLGATHER || c == COLL_REDUCESCATTER;
    case COLL_ALGO_TREE: return c == COLL_ALLREDUCE && p > 2;
    case COLL_ALGO_NVLS: /* one node (more needs CollNet beneath it); >= 2 GPUs on the switch */
        if (q < 2 || !g->nvlink) return 0;
        if (k > 1) return c == COLL_ALLREDUCE && (g->algorithms & (1u << COLL_ALGO_COLLNET));
        return c == COLL_ALLREDUCE || c == COLL_ALLGATHER || c == COLL_REDUCESCATTER;
    case COLL_ALGO_NVLS_TREE: return c == COLL_ALLREDUCE && k > 1 && q >= 2 && g->nvlink;
    case COLL_ALGO_COLLNET: return c == COLL_ALLREDUCE && k > 1;
    case COLL_ALGO_P2P: return c == COLL_ALLTOALL || c == COLL_SENDRECV;
    default: return 0;
    }
}

static int proto_offered(const cost_nccl_group *g, coll_algo a, coll_proto p) {
    if (a == COLL_ALGO_NVLS || a == COLL_ALGO_NVLS_TREE || a == COLL_ALGO_COLLNET) return p == COLL_PROTO_SIMPLE;
    if (p == COLL_PROTO_LL128) return g->nvlink; /* tuning.cc: LL128 only up to NVLink paths */
    return 1;
}

/* Latency in seconds. */
static double latency(const cost_nccl_group *g, attn_coll c, coll_algo a, coll_proto pr) {
    int p = g->ranks, k = g->nodes, q = g->per_node;
    int hw_intra = g->nvlink ? HW_NVLINK : HW_PCI;
    double intra = hw_lat[hw_intra][a][pr];
    /* one GPU per node: every hop is exposed, NCCL uses the tree's network figure */
    double inter = hw_lat[HW_NET][q == 1 ? COLL_ALGO_TREE : a][pr];
    double us = base_lat[a][pr];
    switch (a) {
    case COLL_ALGO_RING: {
        int steps = c == COLL_ALLREDUCE ? 2 * (p - 1) : p - 1;
        int inter_steps = k == 1 ? 0 : (c == COLL_ALLREDUCE ? 2 * (k - 1) : k - 1);
        if (k > 1) intra = fmax(intra, NET_OVERHEAD_US * (pr == COLL_PROTO_SIMPLE ? 3 : 1));
        us += (steps - inter_steps) * intra + inter_steps * inter;
        break;
    }
    case COLL_ALGO_TREE: us += 2 * ((q - 1) * intra + log2i(k) * inter); break;
    case COLL_ALGO_NVLS: us = intra + (k > 1 ? inter : 0); break;
    case COLL_ALGO_NVLS_TREE: us += intra + 2 * log2i(k) * inter; break;
    case COLL_ALGO_COLLNET: us += 2 * ((q > 1 ? 1 : 0) * intra + (q - 1) * COLLNET_ARITY_US) + inter; break;
    case COLL_ALGO_P2P: /* the farthest peer's hop; peers run concurrently on separate channels */
        us += k > 1 ? hw_lat[HW_NET][COLL_ALGO_RING][pr] : intra;
        break;
    default: break;
    }
    double s = us * 1e-6;
    /* One process driving the node's q GPUs (nccl-tests -g q) launches their kernels one
     * after the other from one thread. */
    if (g->single_process && q > 1) s += (q - 1) * g->launch_s;
    return s * (g->latency_scale > 0 ? g->latency_scale : 1.0);
}

/* Algorithm bandwidth S / (time - latency), bytes/s; 0 when nothing can move. */
static double algbw(const cost_nccl_group *g, attn_coll c, coll_algo a, coll_proto pr) {
    int p = g->ranks, k = g->nodes, q = g->per_node, qmin = g->per_node_min > 0 ? g->per_node_min : q;
    double f = proto_eff(a, pr, k);
    double nics = qmin * g->nic_bw; /* a node's rail of NICs, one per GPU */
    double nvls = g->link_bw * g->nvls_eff; /* NVLS traffic per GPU moves at this */
    switch (a) {
    case COLL_ALGO_RING: {
        double bus = k == 1 ? g->intra_bw : fmin(g->intra_bw, nics);
        return c == COLL_ALLREDUCE ? bus * f * p / (2.0 * (p - 1)) : bus * f * p / (p - 1.0);
    }
    case COLL_ALGO_TREE: {
        /* tuning.cc: nodes <= 2 are bounded by the node fabric, more by the NICs */
        double bus = k <= 2 ? g->intra_bw : fmin(g->intra_bw, nics);
        return 0.5 * 0.92 * bus * f;
    }
    case COLL_ALGO_NVLS:
        if (c == COLL_ALLREDUCE) {
            double in_node = nvls * q / (q + 1.0);
            return k == 1 ? in_node : fmin(in_node, nics * g->collnet_eff);
        }
        return nvls * q / (q - 1.0); /* all-gather / reduce-scatter: a GPU's inbound (q-1)/q of S */
    case COLL_ALGO_NVLS_TREE: return fmin(nvls * q / (q + 1.0), (k == 2 ? 1.0 : 0.5) * nics);
    case COLL_ALGO_COLLNET: return fmin(g->intra_bw, nics * g->collnet_eff);
    case COLL_ALGO_P2P: {
        if (c == COLL_SENDRECV) return f * (k > 1 ? g->nic_bw : g->intra_bw);
        /* all-to-all: (q-1)/p of S to node peers over the fabric, (p-q)/p over the NIC */
        double t_in = (q - 1.0) / p / g->intra_bw, t_out = k > 1 ? (double)(p - q) / p / g->nic_bw : 0;
        double t = fmax(t_in, t_out);
        return t > 0 ? f / t : 0;
    }
    default: return 0;
    }
}

double cost_nccl_time(const cost_nccl_group *g, attn_coll c, coll_algo a, coll_proto p, double S) {
    if (g->ranks <= 1 || S <= 0) return 0;
    if (a < 0 || a >= COLL_ALGO_COUNT || p < 0 || p >= COLL_PROTO_COUNT) return -1;
    if (!algo_offered(g, c, a) || !proto_offered(g, a, p)) return -1;
    double bw = algbw(g, c, a, p);
    if (!(bw > 0)) return -1;
    return latency(g, c, a, p) + S / bw;
}

int cost_collective_choose(const cost_nccl_group *g, attn_coll c, double S, const cost_nccl_options *o,
                           cost_coll_choice *out) {
    memset(out, 0, sizeof *out);
    out->source = COST_COLL_MODEL;
    out->algo = c == COLL_ALLTOALL || c == COLL_SENDRECV ? COLL_ALGO_P2P : COLL_ALGO_RING;
    out->proto = COLL_PROTO_SIMPLE;
    out->hierarchical = g->nodes > 1;
    if (g->ranks <= 1 || S <= 0) return 0;
    cost_nccl_group gg = *g;
    if (o) gg.single_process = o->single_process, gg.latency_scale = o->latency_scale;
    g = &gg;
    int found = 0;
    for (int a = 0; a < COLL_ALGO_COUNT; a++) {
        if (o && o->algo >= 0 && a != o->algo) continue;
        for (int p = 0; p < COLL_PROTO_COUNT; p++) {
            if (o && o->proto >= 0 && p != o->proto) continue;
            double t = cost_nccl_time(g, c, (coll_algo)a, (coll_proto)p, S);
            if (t < 0 || (found && t >= out->time_s)) continue;
            out->algo = (coll_algo)a;
            out->proto = (coll_proto)p;
            out->time_s = t;
            found = 1;
        }
    }
    return found ? 0 : -1;
}
