/* topology.c: cluster files (topologies/NAME.yaml, schema in docs/files.md) into a
 * flattened device table, and the link-class queries the cost model prices.
 * Devices are numbered node-major: node 0's devices first. With nvlink_domain, nodes
 * are grouped into domains of domain_nodes consecutive nodes (the last may be short);
 * without it each node is its own domain. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sha256.h"
#include "topology.h"
#include "ytree.h"

#define TOPO_MAX_DEVICES (1 << 20)
#define TOPO_MAX_TYPES 4096
#define BIG_FIGURE 1e21 /* bytes, FLOP/s: far above any device, below overflow in products */

static const char *const fabric_names[] = {"nvswitch", "nvlink-ring", "pcie", "shared-memory"};

const char *topology_fabric_name(attn_fabric f) { return (unsigned)f < 4 ? fabric_names[f] : "?"; }

void topology_free(attn_topology *t) {
    if (!t) return;
    free(t->dev_types);
    free(t->node_types);
    free(t->node_type_of);
    free(t->devices);
    free(t->coll_measured);
    t->coll_measured = NULL;
    t->n_coll_measured = 0;
    t->dev_types = NULL;
    t->node_types = NULL;
    t->node_type_of = NULL;
    t->devices = NULL;
    t->n_dev_types = t->n_node_types = t->n_nodes = t->n_devices = 0;
}

/* {bandwidth, latency, efficiency}: bandwidth > 0, latency >= 0, efficiency in (0, 1]. */
static int read_link(const yt_doc *doc, const yt_node *n, attn_link_spec *ls, attn_diag *d) {
    static const char *const keys[] = {"bandwidth", "latency", "efficiency", NULL};
    if (yt_expect(doc, n, YT_MAP, "a link (a map of bandwidth, latency, efficiency)", d) || yt_check_keys(doc, n, keys, d))
        return -1;
    ls->efficiency = 0.8;
    int bad = 0;
    bad |= yt_num_positive(doc, n, "bandwidth", 1, BIG_FIGURE, &ls->bandwidth, d) != 0;
    bad |= yt_num(doc, n, "latency", 1, 0, 1, &ls->latency, d) != 0;
    bad |= yt_num_positive(doc, n, "efficiency", 0, 1, &ls->efficiency, d) != 0;
    return bad ? -1 : 0;
}

/* The GEMM shape figures (cost_gemm.c): sms and gemm_tile price waves together, so one
 * without the other is refused rather than given a hidden default. */
static int read_gemm_shape(const yt_doc *doc, const yt_node *n, attn_device_type *dt, attn_diag *d) {
    long long sms = 0, tile = 0;
    int bad = 0;
    bad |= yt_int(doc, n, "sms", 0, 1, 100000, &sms, d) != 0;
    bad |= yt_int(doc, n, "gemm_tile", 0, 8, 1024, &tile, d) != 0;
    bad |= yt_num(doc, n, "gemm_latency", 0, 0, 1, &dt->gemm_latency_s, d) != 0;
    bad |= yt_num_positive(doc, n, "gemm_bandwidth_efficiency", 0, 1, &dt->gemm_bandwidth_efficiency, d) != 0;
    dt->sms = (int)sms;
    dt->gemm_tile = (int)tile;
    if (!bad && (sms > 0) != (tile > 0)) {
        const yt_node *given = yt_get(n, sms > 0 ? "sms" : "gemm_tile");
        diag_error(d, doc->file, given->line, given->col,
                   "'%s' needs '%s' (GEMM waves are priced from both)", sms > 0 ? "sms" : "gemm_tile",
                   sms > 0 ? "gemm_tile" : "sms");
        bad = 1;
    }
    return bad ? -1 : 0;
}

/* attention: {kernel: cpu|gpu, units: N, efficiency: E}, every key optional. */
static int read_attention(const yt_doc *doc, const yt_node *n, attn_device_type *dt, attn_diag *d) {
    static const char *const keys[] = {"kernel", "units", "efficiency", NULL};
    if (yt_expect(doc, n, YT_MAP, "'attention' to be a map {kernel: cpu|gpu, units: N, efficiency: E}", d) ||
        yt_check_keys(doc, n, keys, d))
        return -1;
    int bad = 0;
    char word[16];
    const yt_node *k = yt_get(n, "kernel");
    if (k) {
        if (yt_str(doc, n, "kernel", 1, word, sizeof word, d)) {
            bad = 1;
        } else if (!strcmp(word, "gpu") || !strcmp(word, "cpu")) {
            dt->attention_gpu = word[0] == 'g';
        } else {
            char shown[16];
            yt_printable(word, shown, sizeof shown);
            diag_error(d, doc->file, k->line, k->col, "unknown attention kernel '%s' (expected cpu or gpu)", shown);
            bad = 1;
        }
    }
    long long units = 0;
    bad |= yt_int(doc, n, "units", 0, 1, 1 << 20, &units, d) != 0;
    dt->attention_units = (int)units;
    bad |= yt_num_positive(doc, n, "efficiency", 0, 1, &dt->attention_efficiency, d) != 0;
    return bad ? -1 : 0;
}

/* graph: {launch: S, kernel: S, collective_latency: F}, all three required. */
static int read_graph(const yt_doc *doc, const yt_node *n, attn_device_type *dt, attn_diag *d) {
    static const char *const keys[] = {"launch", "kernel", "collective_latency", NULL};
    if (yt_expect(doc, n, YT_MAP, "'graph' to be a map {launch: S, kernel: S, collective_latency: F}", d) ||
        yt_check_keys(doc, n, keys, d))
        return -1;
    int bad = 0;
    bad |= yt_num(doc, n, "launch", 1, 0, 1, &dt->graph_launch_s, d) != 0;
    bad |= yt_num(doc, n, "kernel", 1, 0, 1, &dt->graph_kernel_s, d) != 0;
    bad |= yt_num_positive(doc, n, "collective_latency", 1, 1, &dt->graph_coll_latency_scale, d) != 0;
    dt->graph = !bad;
    return bad ? -1 : 0;
}

static int read_device_type(const yt_doc *doc, const yt_node *key, const yt_node *n, attn_device_type *dt,
                            attn_diag *d) {
    static const char *const keys[] = {"peak_flops", "memory_bytes", "memory_bandwidth", "gemm_efficiency",
                                       "memory_efficiency", "launch_overhead",
                                       "sms", "gemm_tile", "gemm_latency", "gemm_bandwidth_efficiency",
                                       "attention", "graph", NULL};
    static const char *const dtypes[] = {"fp16", "bf16", "fp32", NULL};
    if (key->len >= sizeof dt->name) {
        diag_error(d, doc->file, key->line, key->col, "device type name is too long (at most %zu bytes)", sizeof dt->name - 1);
        return -1;
    }
    memcpy(dt->name, key->str, key->len + 1);
    if (yt_expect(doc, n, YT_MAP, "a device type (a map of peak_flops, memory_bytes, ...)", d) ||
        yt_check_keys(doc, n, keys, d))
        return -1;
    dt->gemm_efficiency = 0.75;
    dt->memory_efficiency = 0.85;
    dt->launch_overhead_s = 5e-6;
    int bad = 0;
    const yt_node *pf = yt_get(n, "peak_flops");
    if (!pf) {
        diag_error(d, doc->file, n->line, n->col, "missing required key 'peak_flops'");
        bad = 1;
    } else if (yt_expect(doc, pf, YT_MAP, "'peak_flops' to be a map {fp16: ..., bf16: ..., fp32: ...}", d) ||
               yt_check_keys(doc, pf, dtypes, d)) {
        bad = 1;
    } else {
        for (int i = 0; i < DTYPE_COUNT; i++)
            bad |= yt_num_positive(doc, pf, dtypes[i], 1, BIG_FIGURE, &dt->peak_flops[i], d) != 0;
    }
    bad |= yt_num_positive(doc, n, "memory_bytes", 1, BIG_FIGURE, &dt->memory_bytes, d) != 0;
    bad |= yt_num_positive(doc, n, "memory_bandwidth", 1, BIG_FIGURE, &dt->memory_bandwidth, d) != 0;
    bad |= yt_num_positive(doc, n, "gemm_efficiency", 0, 1, &dt->gemm_efficiency, d) != 0;
    bad |= yt_num_positive(doc, n, "memory_efficiency", 0, 1, &dt->memory_efficiency, d) != 0;
    bad |= yt_num(doc, n, "launch_overhead", 0, 0, 1, &dt->launch_overhead_s, d) != 0;
    bad |= read_gemm_shape(doc, n, dt, d) != 0;
    const yt_node *att = yt_get(n, "attention"), *graph = yt_get(n, "graph");
    if (att && read_attention(doc, att, dt, d)) bad = 1;
    if (graph && read_graph(doc, graph, dt, d)) bad = 1;
    return bad ? -1 : 0;
}

/* Type names sorted for lookup: a file may reference types a million times. */
typedef struct {
    const char *name;
    int index;
} named_index;

static int compare_named(const void *a, const void *b) {
    return strcmp(((const named_index *)a)->name, ((const named_index *)b)->name);
}

/* The keys of map, sorted (caller frees); NULL when out of memory. */
static named_index *sorted_keys(const yt_node *map) {
    named_index *v = malloc(map->n * sizeof *v);
    if (!v) return NULL;
    for (size_t i = 0; i < map->n; i++) {
        v[i].name = map->keys[i]->str;
        v[i].index = (int)i;
    }
    qsort(v, map->n, sizeof *v, compare_named);
    return v;
}

/* Index of the key equal to name, or -1. */
static int find_key(const named_index *v, size_t n, const char *name) {
    named_index key = {name, 0};
    const named_index *hit = bsearch(&key, v, n, sizeof *v, compare_named);
    return hit ? hit->index : -1;
}

static int read_node_type(const yt_doc *doc, const yt_node *key, const yt_node *n, const named_index *dev_names,
                          size_t n_dev, attn_node_type *nt, attn_diag *d) {
    static const char *const keys[] = {"device", "devices", "fabric", "link", "nic", NULL};
    if (key->len >= sizeof nt->name) {
        diag_error(d, doc->file, key->line, key->col, "node type name is too long (at most %zu bytes)", sizeof nt->name - 1);
        return -1;
    }
    memcpy(nt->name, key->str, key->len + 1);
    if (yt_expect(doc, n, YT_MAP, "a node type (a map of device, devices, fabric, link, nic)", d) ||
        yt_check_keys(doc, n, keys, d))
        return -1;
    int bad = 0;
    char word[64];
    const yt_node *dev = yt_get(n, "device");
    if (yt_str(doc, n, "device", 1, word, sizeof word, d)) {
        bad = 1;
    } else if ((nt->device_type = find_key(dev_names, n_dev, word)) < 0) {
        char shown[64];
        yt_printable(word, shown, sizeof shown);
        diag_error(d, doc->file, dev->line, dev->col, "undefined device type '%s' (not a key of device_types)", shown);
        bad = 1;
    }
    long long count = 0;
    if (yt_int(doc, n, "devices", 1, 1, TOPO_MAX_DEVICES, &count, d)) bad = 1;
    nt->devices = (int)count;
    const yt_node *fab = yt_get(n, "fabric");
    if (yt_str(doc, n, "fabric", 1, word, sizeof word, d)) {
        bad = 1;
    } else {
        int f = -1;
        for (int i = 0; i < 4; i++)
            if (!strcmp(word, fabric_names[i])) f = i;
        if (f < 0) {
            char shown[64];
            yt_printable(word, shown, sizeof shown);
            diag_error(d, doc->file, fab->line, fab->col,
                       "unknown fabric '%s' (expected nvswitch, nvlink-ring, pcie or shared-memory)", shown);
            bad = 1;
        }
        nt->fabric = (attn_fabric)(f < 0 ? 0 : f);
    }
    const yt_node *link = yt_get(n, "link");
    if (link) {
        if (read_link(doc, link, &nt->link, d)) bad = 1;
    } else if (count > 1) {
        diag_error(d, doc->file, n->line, n->col, "missing required key 'link' (the fabric between the node's %lld devices)", count);
        bad = 1;
    }
    const yt_node *nic = yt_get(n, "nic");
    if (nic && read_link(doc, nic, &nt->nic, d)) bad = 1;
    return bad ? -1 : 0;
}

/* Reads `nodes:` into node_type_of (allocated here) and the device table. */
static int read_nodes(const yt_doc *doc, const yt_node *seq, const named_index *node_names, size_t n_node_types,
                      attn_topology *t, attn_diag *d) {
    static const char *const keys[] = {"type", "count", NULL};
    if (yt_expect(doc, seq, YT_SEQ, "'nodes' to be a list of {type, count}", d)) return -1;
    if (seq->n == 0) {
        diag_error(d, doc->file, seq->line, seq->col, "'nodes' must list at least one node group");
        return -1;
    }
    long long total_nodes = 0, total_devices = 0;
    int bad = 0;
    int *type_of_entry = calloc(seq->n, sizeof *type_of_entry);
    long long *count_of_entry = calloc(seq->n, sizeof *count_of_entry);
    if (!type_of_entry || !count_of_entry) {
        free(type_of_entry);
        free(count_of_entry);
        diag_error(d, doc->file, seq->line, seq->col, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < seq->n; i++) {
        const yt_node *e = seq->vals[i];
        if (yt_expect(doc, e, YT_MAP, "a node group {type: NODE_TYPE, count: N}", d) || yt_check_keys(doc, e, keys, d)) {
            bad = 1;
            continue;
        }
        char word[64];
        const yt_node *type = yt_get(e, "type");
        if (yt_str(doc, e, "type", 1, word, sizeof word, d)) {
            bad = 1;
        } else if ((type_of_entry[i] = find_key(node_names, n_node_types, word)) < 0) {
            char shown[64];
            yt_printable(word, shown, sizeof shown);
            diag_error(d, doc->file, type->line, type->col, "undefined node type '%s' (not a key of node_types)", shown);
            bad = 1;
        }
        if (yt_int(doc, e, "count", 1, 1, TOPO_MAX_DEVICES, &count_of_entry[i], d)) bad = 1;
        if (bad) continue;
        total_nodes += count_of_entry[i];
        total_devices += count_of_entry[i] * t->node_types[type_of_entry[i]].devices;
        if (total_devices > TOPO_MAX_DEVICES) {
            diag_error(d, doc->file, e->line, e->col, "more than %d devices in total", TOPO_MAX_DEVICES);
            bad = 1;
            break;
        }
    }
    if (!bad) {
        t->node_type_of = malloc((size_t)total_nodes * sizeof *t->node_type_of);
        t->devices = malloc((size_t)total_devices * sizeof *t->devices);
        if (!t->node_type_of || !t->devices) {
            diag_error(d, doc->file, seq->line, seq->col, "out of memory");
            bad = 1;
        }
    }
    if (!bad) {
        int node = 0, dev = 0;
        for (size_t i = 0; i < seq->n; i++)
            for (long long c = 0; c < count_of_entry[i]; c++, node++) {
                int nt = type_of_entry[i];
                t->node_type_of[node] = nt;
                for (int k = 0; k < t->node_types[nt].devices; k++, dev++) {
                    attn_device *dv = &t->devices[dev];
                    dv->node = node;
                    dv->local = k;
                    dv->node_type = nt;
                    dv->device_type = t->node_types[nt].device_type;
                    dv->domain = node; /* set properly once domain_nodes is known */
                }
            }
        t->n_nodes = (int)total_nodes;
        t->n_devices = (int)total_devices;
    }
    free(type_of_entry);
    free(count_of_entry);
    return bad ? -1 : 0;
}

/* `nccl: {algorithms: [...], nvls: {efficiency}, collnet: {efficiency}}`. */
static int read_nccl(const yt_doc *doc, const yt_node *n, attn_nccl_spec *ns, attn_diag *d) {
    static const char *const keys[] = {"algorithms", "nvls", "collnet", NULL};
    static const char *const eff_keys[] = {"efficiency", NULL};
    if (yt_expect(doc, n, YT_MAP, "'nccl' to be a map {algorithms, nvls, collnet}", d) || yt_check_keys(doc, n, keys, d))
        return -1;
    int bad = 0;
    const yt_node *al = yt_get(n, "algorithms");
    if (al) {
        if (yt_expect(doc, al, YT_SEQ, "'algorithms' to be a list such as [ring, tree, nvls, nvlstree, collnet]", d))
            return -1;
        ns->algorithms = 1u << COLL_ALGO_P2P; /* all-to-all and send/recv always run */
        for (size_t i = 0; i < al->n; i++) {
            const yt_node *e = al->vals[i];
            coll_algo a;
            if (yt_expect(doc, e, YT_SCALAR, "an algorithm name", d)) { bad = 1; continue; }
            if (coll_algo_parse(e->str, &a) || a == COLL_ALGO_P2P) {
                char shown[64];
                yt_printable(e->str, shown, sizeof shown);
                diag_error(d, doc->file, e->line, e->col,
                           "unknown algorithm '%s' (expected ring, tree, nvls, nvlstree or collnet)", shown);
                bad = 1;
                continue;
            }
            ns->algorithms |= 1u << a;
        }
        if (!bad && !(ns->algorithms & (1u << COLL_ALGO_RING))) {
            diag_error(d, doc->file, al->line, al->col, "'algorithms' must include ring (NCCL always has it)");
            bad = 1;
        }
    }
    const char *const blocks[2] = {"nvls", "collnet"};
    double *effs[2] = {&ns->nvls_efficiency, &ns->collnet_efficiency};
    for (int b = 0; b < 2; b++) {
        const yt_node *e = yt_get(n, blocks[b]);
        if (!e) continue;
        if (yt_expect(doc, e, YT_MAP, "a map {efficiency: E}", d) || yt_check_keys(doc, e, eff_keys, d) ||
            yt_num_positive(doc, e, "efficiency", 1, 1, effs[b], d))
            bad = 1;
    }
    if (bad) return -1;
    unsigned nv = (1u << COLL_ALGO_NVLS) | (1u << COLL_ALGO_NVLS_TREE);
    if (!al) { /* no list: a block names what the fabric offers */
        if (yt_get(n, "nvls")) ns->algorithms |= nv;
        if (yt_get(n, "collnet")) ns->algorithms |= 1u << COLL_ALGO_COLLNET;
        return 0;
    }
    if ((ns->algorithms & nv) && !yt_get(n, "nvls")) {
        diag_error(d, doc->file, al->line, al->col, "nvls and nvlstree need 'nvls: {efficiency: E}' beside 'algorithms'");
        return -1;
    }
    if ((ns->algorithms & (1u << COLL_ALGO_COLLNET)) && !yt_get(n, "collnet")) {
        diag_error(d, doc->file, al->line, al->col, "collnet needs 'collnet: {efficiency: E}' beside 'algorithms'");
        return -1;
    }
    return 0;
}

static int compare_measured(const void *pa, const void *pb) {
    const attn_coll_measured *a = pa, *b = pb;
    if (a->coll != b->coll) return a->coll < b->coll ? -1 : 1;
    if (a->ranks != b->ranks) return a->ranks < b->ranks ? -1 : 1;
    if (a->nodes != b->nodes) return a->nodes < b->nodes ? -1 : 1;
    return (a->bytes > b->bytes) - (a->bytes < b->bytes);
}

/* `collectives: [{op, ranks, nodes, bytes, time | busbw}, ...]`: measured figures that
 * take precedence over the model (planner/cost/cost_comm.c). */
static int read_collectives(const yt_doc *doc, const yt_node *seq, attn_topology *t, attn_diag *d) {
    static const char *const keys[] = {"op", "ranks", "nodes", "bytes", "time", "busbw", NULL};
    if (yt_expect(doc, seq, YT_SEQ, "'collectives' to be a list of {op, ranks, nodes, bytes, time}", d)) return -1;
    if (seq->n == 0) return 0;
    t->coll_measured = calloc(seq->n, sizeof *t->coll_measured);
    if (!t->coll_measured) {
        diag_error(d, doc->file, seq->line, seq->col, "out of memory");
        return -1;
    }
    int bad = 0;
    for (size_t i = 0; i < seq->n; i++) {
        const yt_node *e = seq->vals[i];
        attn_coll_measured *m = &t->coll_measured[i];
        if (yt_expect(doc, e, YT_MAP, "a measured collective {op, ranks, nodes, bytes, time}", d) ||
            yt_check_keys(doc, e, keys, d)) {
            bad = 1;
            continue;
        }
        char word[32];
        const yt_node *op = yt_get(e, "op");
        if (yt_str(doc, e, "op", 1, word, sizeof word, d)) {
            bad = 1;
        } else if (coll_parse(word, &m->coll)) {
            char shown[64];
            yt_printable(word, shown, sizeof shown);
            diag_error(d, doc->file, op->line, op->col,
                       "unknown collective '%s' (expected allreduce, allgather, reducescatter, alltoall or sendrecv)", shown);
            bad = 1;
        }
        long long ranks = 2, nodes = 1;
        bad |= yt_int(doc, e, "ranks", 1, 2, TOPO_MAX_DEVICES, &ranks, d) != 0;
        bad |= yt_int(doc, e, "nodes", 0, 1, TOPO_MAX_DEVICES, &nodes, d) != 0;
        if (nodes > ranks) {
            const yt_node *nn = yt_get(e, "nodes");
            diag_error(d, doc->file, nn->line, nn->col, "'nodes' (%lld) must not exceed 'ranks' (%lld)", nodes, ranks);
            bad = 1;
        }
        m->ranks = (int)ranks;
        m->nodes = (int)nodes;
        bad |= yt_num_positive(doc, e, "bytes", 1, BIG_FIGURE, &m->bytes, d) != 0;
        const yt_node *tm = yt_get(e, "time"), *bw = yt_get(e, "busbw");
        if (!tm == !bw) {
            diag_error(d, doc->file, e->line, e->col, "give exactly one of 'time' (seconds) and 'busbw' (bytes/s)");
            bad = 1;
        } else if (tm) {
            bad |= yt_num_positive(doc, e, "time", 1, 1e6, &m->time_s, d) != 0;
        } else {
            double busbw = 0;
            if (yt_num_positive(doc, e, "busbw", 1, BIG_FIGURE, &busbw, d)) bad = 1;
            else m->time_s = coll_bus_factor(m->coll, m->ranks) * m->bytes / busbw;
        }
    }
    if (bad) return -1;
    t->n_coll_measured = (int)seq->n;
    qsort(t->coll_measured, seq->n, sizeof *t->coll_measured, compare_measured);
    return 0;
}

static int read_topology(const yt_doc *doc, const yt_node *root, attn_topology *t, attn_diag *d) {
    static const char *const keys[] = {"name", "device_types", "node_types", "nodes", "network", "nvlink_domain", "nccl",
                                       "collectives", NULL};
    if (yt_expect(doc, root, YT_MAP, "a topology (a map of name, device_types, node_types, nodes, ...)", d)) return -1;
    int bad = yt_check_keys(doc, root, keys, d) ? 1 : 0;
    if (yt_str(doc, root, "name", 1, t->name, sizeof t->name, d)) {
        bad = 1;
    } else {
        for (const char *c = t->name; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f) {
                const yt_node *n = yt_get(root, "name");
                diag_error(d, doc->file, n->line, n->col, "'name' must not contain control characters");
                bad = 1;
                break;
            }
    }
    const yt_node *dev_map = yt_get(root, "device_types"), *node_map = yt_get(root, "node_types");
    if (!dev_map || !node_map || !yt_get(root, "nodes")) {
        diag_error(d, doc->file, root->line, root->col, "missing required key '%s'",
                   !dev_map ? "device_types" : !node_map ? "node_types" : "nodes");
        return -1;
    }
    if (yt_expect(doc, dev_map, YT_MAP, "'device_types' to be a map of NAME: {...}", d) ||
        yt_expect(doc, node_map, YT_MAP, "'node_types' to be a map of NAME: {...}", d))
        return -1;
    if (dev_map->n == 0 || node_map->n == 0 || dev_map->n > TOPO_MAX_TYPES || node_map->n > TOPO_MAX_TYPES) {
        const yt_node *m = dev_map->n == 0 || dev_map->n > TOPO_MAX_TYPES ? dev_map : node_map;
        diag_error(d, doc->file, m->line, m->col, "'%s' must define between 1 and %d types",
                   m == dev_map ? "device_types" : "node_types", TOPO_MAX_TYPES);
        return -1;
    }
    t->dev_types = calloc(dev_map->n, sizeof *t->dev_types);
    t->node_types = calloc(node_map->n, sizeof *t->node_types);
    if (!t->dev_types || !t->node_types) {
        diag_error(d, doc->file, root->line, root->col, "out of memory");
        return -1;
    }
    t->n_dev_types = (int)dev_map->n;
    t->n_node_types = (int)node_map->n;
    for (size_t i = 0; i < dev_map->n; i++)
        if (read_device_type(doc, dev_map->keys[i], dev_map->vals[i], &t->dev_types[i], d)) bad = 1;
    named_index *dev_names = sorted_keys(dev_map), *node_names = sorted_keys(node_map);
    if (!dev_names || !node_names) {
        free(dev_names);
        free(node_names);
        diag_error(d, doc->file, root->line, root->col, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < node_map->n; i++)
        if (read_node_type(doc, node_map->keys[i], node_map->vals[i], dev_names, dev_map->n, &t->node_types[i], d))
            bad = 1;
    if (!bad && read_nodes(doc, yt_get(root, "nodes"), node_names, node_map->n, t, d)) bad = 1;
    free(dev_names);
    free(node_names);
    if (bad) return -1;

    const yt_node *net = yt_get(root, "network");
    if (net) {
        static const char *const net_keys[] = {"latency", "efficiency", NULL};
        if (yt_expect(doc, net, YT_MAP, "'network' to be a map {latency, efficiency}", d) ||
            yt_check_keys(doc, net, net_keys, d))
            return -1;
        /* efficiency 0 means "not given": each NIC's own efficiency applies. */
        bad |= yt_num(doc, net, "latency", 0, 0, 1, &t->network.latency, d) != 0;
        bad |= yt_num_positive(doc, net, "efficiency", 0, 1, &t->network.efficiency, d) != 0;
    }
    t->domain_nodes = 1;
    const yt_node *dom = yt_get(root, "nvlink_domain");
    if (dom) {
        static const char *const dom_keys[] = {"nodes", "link", NULL};
        if (yt_expect(doc, dom, YT_MAP, "'nvlink_domain' to be a map {nodes, link}", d) ||
            yt_check_keys(doc, dom, dom_keys, d))
            return -1;
        long long nodes = 1;
        if (yt_int(doc, dom, "nodes", 1, 1, TOPO_MAX_DEVICES, &nodes, d)) bad = 1;
        t->domain_nodes = (int)nodes;
        const yt_node *link = yt_get(dom, "link");
        if (!link) {
            diag_error(d, doc->file, dom->line, dom->col, "missing required key 'link'");
            bad = 1;
        } else if (read_link(doc, link, &t->domain_link, d)) {
            bad = 1;
        }
    }
    t->nccl.algorithms = TOPOLOGY_NCCL_DEFAULT;
    const yt_node *nccl = yt_get(root, "nccl");
    if (nccl && read_nccl(doc, nccl, &t->nccl, d)) bad = 1;
    const yt_node *colls = yt_get(root, "collectives");
    if (colls && read_collectives(doc, colls, t, d)) bad = 1;
    if (bad) return -1;
    for (int i = 0; i < t->n_devices; i++) t->devices[i].domain = t->devices[i].node / t->domain_nodes;
    if (t->n_nodes > 1) {
        /* Every node type in use needs a NIC; reported once per type, at its definition. */
        char *reported = calloc(node_map->n, 1);
        if (!reported) {
            diag_error(d, doc->file, root->line, root->col, "out of memory");
            return -1;
        }
        for (int k = 0; k < t->n_nodes; k++) {
            int i = t->node_type_of[k];
            if (t->node_types[i].nic.bandwidth > 0 || reported[i]) continue;
            reported[i] = 1;
            const yt_node *nt = node_map->vals[i];
            diag_error(d, doc->file, nt->line, nt->col,
                       "node type '%s' needs a 'nic' (the cluster has %d nodes)", t->node_types[i].name, t->n_nodes);
            bad = 1;
        }
        free(reported);
    }
    return bad ? -1 : 0;
}

int topology_load_buffer(const char *buf, size_t len, const char *name, attn_topology *t, attn_diag *d) {
    memset(t, 0, sizeof *t);
    if (!name) name = "(buffer)";
    yt_doc doc;
    if (yt_load_buffer(buf, len, name, &doc, d)) return -1;
    int rc = read_topology(&doc, doc.root, t, d);
    yt_free(&doc);
    if (rc) {
        topology_free(t);
        return -1;
    }
    snprintf(t->path, sizeof t->path, "%s", name);
    sha256_buffer(buf, len, t->sha256);
    return 0;
}

int topology_load(const char *path, attn_topology *t, attn_diag *d) {
    char *buf;
    size_t len;
    memset(t, 0, sizeof *t);
    if (yt_read_file(path, &buf, &len, d)) return -1;
    int rc = topology_load_buffer(buf, len, path, t, d);
    free(buf);
    return rc;
}

int topology_truncate(attn_topology *t, int n) {
    if (n < 1 || n > t->n_devices) return -1;
    t->n_devices = n;
    t->n_nodes = t->devices[n - 1].node + 1;
    return 0;
}

attn_link topology_group_link(const attn_topology *t, const int *devs, int n) {
    if (n <= 0) return LINK_SELF;
    int same_dev = 1, same_node = 1, same_domain = 1;
    const attn_device *a = &t->devices[devs[0]];
    for (int i = 1; i < n; i++) {
        const attn_device *b = &t->devices[devs[i]];
        if (devs[i] != devs[0]) same_dev = 0;
        if (b->node != a->node) same_node = 0;
        if (b->domain != a->domain) same_domain = 0;
    }
    if (same_dev) return LINK_SELF;
    if (same_node) return LINK_NODE;
    if (same_domain && t->domain_nodes > 1) return LINK_DOMAIN;
    return LINK_NETWORK;
}

attn_link_spec topology_link_spec(const attn_topology *t, attn_link l, int dev_a, int dev_b) {
    const attn_device *a = &t->devices[dev_a], *b = &t->devices[dev_b];
    attn_link_spec s = {0, 0, 0};
    switch (l) {
    case LINK_SELF: {
        /* Data that stays on one device is a copy in its own memory. */
        const attn_device_type *dt = &t->dev_types[a->device_type];
        s.bandwidth = dt->memory_bandwidth;
        s.latency = 0;
        s.efficiency = dt->memory_efficiency;
        break;
    }
    case LINK_NODE:
        s = t->node_types[a->node_type].link;
        break;
    case LINK_DOMAIN:
        s = t->domain_link;
        break;
    case LINK_NETWORK:
    case LINK_COUNT: {
        const attn_link_spec *na = &t->node_types[a->node_type].nic, *nb = &t->node_types[b->node_type].nic;
        const attn_link_spec *slow = nb->bandwidth < na->bandwidth ? nb : na;
        s.bandwidth = slow->bandwidth;
        s.latency = fmax(fmax(na->latency, nb->latency), t->network.latency);
        s.efficiency = t->network.efficiency > 0 ? t->network.efficiency : slow->efficiency;
        break;
    }
    }
    return s;
}

int topology_homogeneous(const attn_topology *t) {
    for (int i = 1; i < t->n_nodes; i++)
        if (t->node_type_of[i] != t->node_type_of[0]) return 0;
    return 1;
}
