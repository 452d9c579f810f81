/* cost_test_util.h: what the cost-model tests share: topologies and models built in code
 * (so the tests do not depend on the shipped files), and CHECK_REL on tests/check.h. */
#ifndef ATTN_COST_TEST_UTIL_H
#define ATTN_COST_TEST_UTIL_H
#include <math.h>
#include <stdio.h>
#include "../check.h"
#include "cost.h"

/* |got - want| <= rel * |want| */
#define CHECK_REL(got, want, rel) \
    CHECK(fabs((got) - (want)) <= (rel) * fabs(want), "got %.17g want %.17g", (double)(got), (double)(want))

/* One device type, one or two node types (node_types = 2 alternates them), optional
 * multi-node NVLink domain. */
typedef struct tu_topo_spec {
    int nodes, per_node, node_types;
    double peak_fp16, peak_fp32, memory_bytes, memory_bandwidth, gemm_eff, mem_eff, launch;
    attn_link_spec link, nic, network, domain;
    int domain_nodes;                   /* 1 = none */
    double slow_factor;                 /* second node type: its device's peak/bandwidth x this */
} tu_topo_spec;

/* An H100-like spec (datasheet figures, default efficiencies) on nodes x per_node devices. */
tu_topo_spec tu_h100_spec(int nodes, int per_node);
/* Builds t (free with topology_free); 0 ok. */
int tu_build_topology(attn_topology *t, const tu_topo_spec *s);
/* A model built in code, model_check'ed; 0 ok. */
int tu_model(attn_model *m, attn_arch arch, int layers, int heads, int kv_heads, int head_dim, int ffn,
             attn_dtype dtype, int batch, int seq_len, int decode_tokens);

#endif
