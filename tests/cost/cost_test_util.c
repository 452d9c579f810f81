/* cost_test_util.c: topologies and models built in code for the cost-model tests. */
#include <stdlib.h>
#include <string.h>
#include "cost_test_util.h"


tu_topo_spec tu_h100_spec(int nodes, int per_node) {
    tu_topo_spec s;
    memset(&s, 0, sizeof s);
    s.nodes = nodes;
    s.per_node = per_node;
    s.node_types = 1;
    s.peak_fp16 = 989e12;
    s.peak_fp32 = 67e12;
    s.memory_bytes = 80e9;
    s.memory_bandwidth = 3.35e12;
    s.gemm_eff = 0.75;
    s.mem_eff = 0.85;
    s.launch = 5e-6;
    s.link = (attn_link_spec){450e9, 3e-6, 0.82};
    s.nic = (attn_link_spec){50e9, 10e-6, 0.94};
    s.network = (attn_link_spec){0, 10e-6, 0.94};
    s.domain = (attn_link_spec){450e9, 4e-6, 0.8};
    s.domain_nodes = 1;
    s.slow_factor = 0.5;
    return s;
}

int tu_build_topology(attn_topology *t, const tu_topo_spec *s) {
    memset(t, 0, sizeof *t);
    int types = s->node_types == 2 ? 2 : 1;
    snprintf(t->name, sizeof t->name, "test-%dx%d", s->nodes, s->per_node);
    t->n_dev_types = types;
    t->n_node_types = types;
    t->n_nodes = s->nodes;
    t->n_devices = s->nodes * s->per_node;
    t->dev_types = calloc((size_t)types, sizeof *t->dev_types);
    t->node_types = calloc((size_t)types, sizeof *t->node_types);
    t->node_type_of = calloc((size_t)s->nodes, sizeof *t->node_type_of);
    t->devices = calloc((size_t)t->n_devices, sizeof *t->devices);
    if (!t->dev_types || !t->node_types || !t->node_type_of || !t->devices) return -1;
    for (int k = 0; k < types; k++) {
        double f = k == 0 ? 1.0 : s->slow_factor;
        attn_device_type *dt = &t->dev_types[k];
        snprintf(dt->name, sizeof dt->name, "dev%d", k);
        dt->peak_flops[DTYPE_FP16] = dt->peak_flops[DTYPE_BF16] = s->peak_fp16 * f;
        dt->peak_flops[DTYPE_FP32] = s->peak_fp32 * f;
        dt->memory_bytes = s->memory_bytes;
        dt->memory_bandwidth = s->memory_bandwidth * f;
        dt->gemm_efficiency = s->gemm_eff;
        dt->memory_efficiency = s->mem_eff;
        dt->launch_overhead_s = s->launch;
        attn_node_type *nt = &t->node_types[k];
        snprintf(nt->name, sizeof nt->name, "node%d", k);
        nt->device_type = k;
        nt->devices = s->per_node;
        nt->fabric = FABRIC_NVSWITCH;
        nt->link = s->link;
        nt->nic = s->nic;
    }
    t->domain_nodes = s->domain_nodes > 1 ? s->domain_nodes : 1;
    t->domain_link = s->domain;
    t->network = s->network;
    for (int n = 0; n < s->nodes; n++) t->node_type_of[n] = types == 2 ? n % 2 : 0;
    for (int i = 0; i < t->n_devices; i++) {
        attn_device *d = &t->devices[i];
        d->node = i / s->per_node;
        d->local = i % s->per_node;
        d->node_type = t->node_type_of[d->node];
        d->device_type = t->node_types[d->node_type].device_type;
        d->domain = d->node / t->domain_nodes;
    }
    return 0;
}

int tu_model(attn_model *m, attn_arch arch, int layers, int heads, int kv_heads, int head_dim, int ffn,
             attn_dtype dtype, int batch, int seq_len, int decode_tokens) {
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "test-%s-%dl-%dh", arch_name(arch), layers, heads);
    m->arch = arch;
    m->layers = layers;
    m->heads = heads;
    m->kv_heads = kv_heads;
    m->head_dim = head_dim;
    m->hidden = heads * head_dim;
    m->ffn_hidden = ffn;
    m->norm_eps = 1e-5;
    m->rope_theta = 10000;
    m->dtype = dtype;
    m->workload = (attn_workload){.batch = batch, .seq_len = seq_len, .decode_tokens = decode_tokens};
    attn_diag d;
    attn_diag_init(&d);
    d.quiet = 1;
    return model_check(m, NULL, &d) == 0 ? 0 : -1;
}
