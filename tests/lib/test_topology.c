/* test_topology.c: topology files: flattening (node-major), defaults, the optional
 * attention and graph blocks, NVLink domains,
 * the link class of device groups and the link spec of a pair (NIC minimum, latency
 * maximum, efficiency rule), truncation, and errors at the offending reference. */
#include "testutil.h"
#include <math.h>
#include <stdio.h>
#include "topology.h"

/* Two node types (a slow one with a 25 GB/s NIC), 4 nodes, NVLink domains of 3 nodes. */
static const char *const mixed =
    "name: mix\n"
    "device_types:\n"
    "  a100: {peak_flops: {fp16: 312e12, bf16: 312e12, fp32: 19.5e12}, memory_bytes: 80e9, memory_bandwidth: 2e12,"
    " attention: {kernel: gpu, units: 108, efficiency: 0.5}, graph: {launch: 15e-6, kernel: 0.58e-6, collective_latency: 0.14}}\n"
    "  h100:\n"
    "    peak_flops: {fp16: 989e12, bf16: 989e12, fp32: 67e12}\n"
    "    memory_bytes: 80e9\n"
    "    memory_bandwidth: 3.35e12\n"
    "    gemm_efficiency: 0.8\n"
    "    memory_efficiency: 0.9\n"
    "    launch_overhead: 4e-6\n"
    "node_types:\n"
    "  box-a:\n"
    "    device: a100\n"
    "    devices: 4\n"
    "    fabric: nvlink-ring\n"
    "    link: {bandwidth: 300e9, latency: 2e-6}\n"
    "    nic: {bandwidth: 25e9, latency: 7e-6, efficiency: 0.9}\n"
    "  box-h:\n"
    "    device: h100\n"
    "    devices: 2\n"
    "    fabric: nvswitch\n"
    "    link: {bandwidth: 450e9, latency: 3e-6, efficiency: 0.82}\n"
    "    nic: {bandwidth: 50e9, latency: 5e-6}\n"
    "nodes:\n"
    "  - {type: box-h, count: 3}\n"
    "  - {type: box-a, count: 1}\n"
    "nvlink_domain: {nodes: 3, link: {bandwidth: 400e9, latency: 4e-6, efficiency: 0.7}}\n";

static int load(const char *text, attn_topology *t) {
    attn_diag d;
    attn_diag_init(&d);
    return topology_load_buffer(text, strlen(text), "t.yaml", t, &d);
}

static void test_flatten(void) {
    attn_topology t;
    CHECK(load(mixed, &t) == 0);
    CHECK(!strcmp(t.name, "mix") && t.n_dev_types == 2 && t.n_node_types == 2);
    CHECK(t.n_nodes == 4 && t.n_devices == 3 * 2 + 4);
    CHECK(t.dev_types[0].gemm_efficiency == 0.75 && t.dev_types[0].memory_efficiency == 0.85);
    CHECK(t.dev_types[0].launch_overhead_s == 5e-6 && t.dev_types[1].launch_overhead_s == 4e-6);
    CHECK(t.dev_types[1].peak_flops[DTYPE_FP32] == 67e12 && t.dev_types[1].memory_efficiency == 0.9);
    /* the fused attention and graph blocks: read where given, absent (CPU rule, eager) elsewhere */
    CHECK(t.dev_types[0].attention_gpu == 1 && t.dev_types[0].attention_units == 108 &&
          t.dev_types[0].attention_efficiency == 0.5);
    CHECK(t.dev_types[0].graph == 1 && t.dev_types[0].graph_launch_s == 15e-6 && t.dev_types[0].graph_kernel_s == 0.58e-6 &&
          t.dev_types[0].graph_coll_latency_scale == 0.14);
    CHECK(t.dev_types[1].attention_gpu == 0 && t.dev_types[1].attention_units == 0 &&
          t.dev_types[1].attention_efficiency == 0 && t.dev_types[1].graph == 0);
    CHECK(t.node_types[0].link.efficiency == 0.8 && t.node_types[0].fabric == FABRIC_NVLINK_RING);
    CHECK(t.node_types[1].link.efficiency == 0.82 && t.node_types[1].nic.efficiency == 0.8);
    CHECK(t.domain_nodes == 3 && t.domain_link.bandwidth == 400e9 && t.network.efficiency == 0);
    /* node-major: devices 0-1 node 0, 2-3 node 1, 4-5 node 2, 6-9 node 3 (the A100 box) */
    for (int i = 0; i < t.n_devices; i++) {
        int node = i < 6 ? i / 2 : 3;
        CHECK(t.devices[i].node == node);
        CHECK(t.devices[i].local == (i < 6 ? i % 2 : i - 6));
        CHECK(t.devices[i].node_type == (i < 6 ? 1 : 0));
        CHECK(t.devices[i].device_type == (i < 6 ? 1 : 0));
        CHECK(t.devices[i].domain == (node < 3 ? 0 : 1));
    }
    CHECK(t.node_type_of[0] == 1 && t.node_type_of[3] == 0 && !topology_homogeneous(&t));

    int self[] = {5, 5}, node[] = {4, 5}, domain[] = {0, 3, 5}, net[] = {1, 7}, one[] = {9};
    CHECK(topology_group_link(&t, self, 2) == LINK_SELF);
    CHECK(topology_group_link(&t, one, 1) == LINK_SELF);
    CHECK(topology_group_link(&t, node, 2) == LINK_NODE);
    CHECK(topology_group_link(&t, domain, 3) == LINK_DOMAIN);
    CHECK(topology_group_link(&t, net, 2) == LINK_NETWORK);
    CHECK(!strcmp(link_name(LINK_DOMAIN), "domain") && !strcmp(topology_fabric_name(FABRIC_PCIE), "pcie"));

    attn_link_spec s = topology_link_spec(&t, LINK_NODE, 4, 5);
    CHECK(s.bandwidth == 450e9 && s.latency == 3e-6 && s.efficiency == 0.82);
    s = topology_link_spec(&t, LINK_NODE, 6, 7);
    CHECK(s.bandwidth == 300e9 && s.latency == 2e-6 && s.efficiency == 0.8);
    s = topology_link_spec(&t, LINK_DOMAIN, 0, 5);
    CHECK(s.bandwidth == 400e9 && s.latency == 4e-6 && s.efficiency == 0.7);
    /* network: the smaller NIC (A100 box, 25e9) with its efficiency; the larger latency */
    s = topology_link_spec(&t, LINK_NETWORK, 1, 7);
    CHECK(s.bandwidth == 25e9 && s.latency == 7e-6 && s.efficiency == 0.9);
    s = topology_link_spec(&t, LINK_NETWORK, 7, 1);
    CHECK(s.bandwidth == 25e9 && s.latency == 7e-6 && s.efficiency == 0.9);
    s = topology_link_spec(&t, LINK_SELF, 2, 2);
    CHECK(s.bandwidth == 3.35e12 && s.latency == 0 && s.efficiency == 0.9);

    CHECK(topology_truncate(&t, 0) == -1 && topology_truncate(&t, 11) == -1);
    CHECK(topology_truncate(&t, 5) == 0 && t.n_devices == 5 && t.n_nodes == 3 && topology_homogeneous(&t));
    topology_free(&t);
    topology_free(&t);
}

static void test_network_section(void) {
    char text[4096];
    snprintf(text, sizeof text, "%snetwork: {latency: 10e-6, efficiency: 0.94}\n", mixed);
    attn_topology t;
    CHECK(load(text, &t) == 0);
    attn_link_spec s = topology_link_spec(&t, LINK_NETWORK, 0, 2);
    /* inside one domain but asked for the network class: both 50e9 NICs */
    CHECK(s.bandwidth == 50e9 && s.latency == 10e-6 && s.efficiency == 0.94);
    topology_free(&t);
    /* No nvlink_domain: each node is its own domain and never LINK_DOMAIN. */
    const char *plain = "name: p\ndevice_types:\n  g: {peak_flops: {fp16: 1, bf16: 1, fp32: 1}, memory_bytes: 1, "
                        "memory_bandwidth: 1}\nnode_types:\n  n: {device: g, devices: 1, fabric: pcie, "
                        "nic: {bandwidth: 1e9, latency: 1e-6}}\nnodes: [{type: n, count: 3}]\n";
    CHECK(load(plain, &t) == 0);
    int devs[] = {0, 2};
    CHECK(t.domain_nodes == 1 && t.devices[2].domain == 2 && topology_group_link(&t, devs, 2) == LINK_NETWORK);
    topology_free(&t);
}

static void expect_error(const char *text, const char *want) {
    captured_diag c;
    capture_begin(&c);
    attn_topology t;
    CHECK(topology_load_buffer(text, strlen(text), "t.yaml", &t, &c.d) == -1);
    CHECK(t.devices == NULL && t.dev_types == NULL && t.node_type_of == NULL);
    CHECK(capture_end(&c, want));
}

/* mixed with one substring replaced. */
static void expect_error_edit(const char *from, const char *to, const char *want) {
    char text[4096];
    const char *at = strstr(mixed, from);
    CHECK(at != NULL);
    if (!at) return;
    snprintf(text, sizeof text, "%.*s%s%s", (int)(at - mixed), mixed, to, at + strlen(from));
    expect_error(text, want);
}

static void test_errors(void) {
    expect_error_edit("device: h100", "device: h200", "t.yaml:19:13: error: undefined device type 'h200'");
    expect_error_edit("{type: box-a,", "{type: box-b,", "t.yaml:26:12: error: undefined node type 'box-b'");
    expect_error_edit("    nic: {bandwidth: 50e9, latency: 5e-6}\n", "",
                      "t.yaml:19:5: error: node type 'box-h' needs a 'nic' (the cluster has 4 nodes)");
    expect_error_edit("count: 3", "count: -3", "t.yaml:25:26: error: 'count' must be at least 1, got -3");
    expect_error_edit("devices: 4", "devices: 4.5", "t.yaml:14:14: error: 'devices' must be an integer");
    expect_error_edit("fabric: nvswitch", "fabric: ib", "t.yaml:21:13: error: unknown fabric 'ib'");
    expect_error_edit("latency: 2e-6", "latency: -2e-6", "t.yaml:16:39: error: 'latency' must be between 0 and 1");
    expect_error_edit("name: mix\n", "", "t.yaml:1:1: error: missing required key 'name'");
    expect_error_edit("    gemm_efficiency: 0.8\n", "    gemm_efficiency: 0\n",
                      "t.yaml:8:22: error: 'gemm_efficiency' must be greater than 0");
    expect_error_edit("nodes: 3,", "nodes: three,", "t.yaml:27:24: error: 'nodes' must be an integer");
    expect_error_edit("nodes:\n  - {type: box-h, count: 3}\n  - {type: box-a, count: 1}\n",
                      "nodes: {type: box-h}\n", "t.yaml:24:8: error: expected 'nodes' to be a list");
    expect_error("name: x\ndevice_types: {}\nnode_types: {}\nnodes: []\n",
                 "t.yaml:2:15: error: 'device_types' must define between 1 and 4096 types");
    expect_error("name: x\nnode_types: {}\nnodes: []\n", "t.yaml:1:1: error: missing required key 'device_types'");
    /* 2^20 devices is the limit: one node of 1024 x 1025 nodes is over it. */
    expect_error("name: x\ndevice_types:\n  g: {peak_flops: {fp16: 1, bf16: 1, fp32: 1}, memory_bytes: 1, "
                 "memory_bandwidth: 1}\nnode_types:\n  n: {device: g, devices: 1024, fabric: pcie, "
                 "link: {bandwidth: 1, latency: 0}, nic: {bandwidth: 1, latency: 0}}\n"
                 "nodes:\n  - {type: n, count: 1024}\n  - {type: n, count: 1}\n",
                 "t.yaml:8:5: error: more than 1048576 devices in total");
    expect_error_edit("    peak_flops: {fp16: 989e12, bf16: 989e12, fp32: 67e12}\n", "",
                      "t.yaml:5:5: error: missing required key 'peak_flops'");
    expect_error_edit(", link: {bandwidth: 400e9, latency: 4e-6, efficiency: 0.7}}", "}",
                      "t.yaml:27:16: error: missing required key 'link'");
    expect_error_edit("name: mix", "name: \"mi\\x01x\"", "t.yaml:1:7: error: 'name' must not contain control characters");
    expect_error_edit("  box-a:\n", "  box-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:\n",
                      "t.yaml:12:3: error: node type name is too long");
    attn_topology t;
    captured_diag c;
#ifdef ATTN_SOURCE_DIR
    attn_diag d;
    attn_diag_init(&d);
    CHECK(topology_load(ATTN_SOURCE_DIR "/topologies/dgx-h100-x2.yaml", &t, &d) == 0);
    CHECK(t.n_devices == 16 && t.n_nodes == 2 && t.domain_nodes == 1 && strlen(t.sha256) == 64);
    int across[] = {0, 8};
    CHECK(topology_group_link(&t, across, 2) == LINK_NETWORK);
    topology_free(&t);
#endif
    capture_begin(&c);
    CHECK(topology_load("/nonexistent/t.yaml", &t, &c.d) == -1);
    CHECK(capture_end(&c, "/nonexistent/t.yaml: error: cannot open"));
}

/* The GEMM shape fields (cost_gemm.c): read when given, 0 when left out; sms and gemm_tile
 * only together. */
static void test_gemm_shape(void) {
    attn_topology t;
    char text[4096];
    const char *from = "    launch_overhead: 4e-6\n";
    const char *at = strstr(mixed, from);
    CHECK(at != NULL);
    if (!at) return;
    snprintf(text, sizeof text, "%.*s%s%s", (int)(at - mixed), mixed,
             "    launch_overhead: 4e-6\n    sms: 132\n    gemm_tile: 64\n    gemm_latency: 0.5e-6\n"
             "    gemm_bandwidth_efficiency: 0.7\n",
             at + strlen(from));
    CHECK(load(text, &t) == 0);
    CHECK(t.dev_types[1].sms == 132 && t.dev_types[1].gemm_tile == 64);
    CHECK(t.dev_types[1].gemm_latency_s == 0.5e-6 && t.dev_types[1].gemm_bandwidth_efficiency == 0.7);
    CHECK(t.dev_types[0].sms == 0 && t.dev_types[0].gemm_tile == 0 && t.dev_types[0].gemm_latency_s == 0 &&
          t.dev_types[0].gemm_bandwidth_efficiency == 0);
    topology_free(&t);
    expect_error_edit("    launch_overhead: 4e-6\n", "    launch_overhead: 4e-6\n    sms: 132\n",
                      "t.yaml:11:10: error: 'sms' needs 'gemm_tile'");
    expect_error_edit("    launch_overhead: 4e-6\n", "    launch_overhead: 4e-6\n    gemm_bandwidth_efficiency: 1.5\n",
                      "t.yaml:11:32: error: 'gemm_bandwidth_efficiency' must be at most 1");
}

/* nccl: and collectives: (docs/topologies.md, "Collectives"). */
static void test_collectives_blocks(void) {
    attn_topology t;
    CHECK(load(mixed, &t) == 0);
    CHECK(t.nccl.algorithms == TOPOLOGY_NCCL_DEFAULT && t.n_coll_measured == 0); /* no block: ring, tree, p2p */
    topology_free(&t);
    char buf[4096];
    snprintf(buf, sizeof buf, "%s%s", mixed,
             "nccl: {algorithms: [ring, tree, nvlstree], nvls: {efficiency: 0.7}}\n"
             "collectives:\n"
             "  - {op: all-reduce, ranks: 8, bytes: 4096, time: 20e-6}\n"
             "  - {op: allreduce, ranks: 8, bytes: 1024, busbw: 1e9}\n"
             "  - {op: allgather, ranks: 4, nodes: 2, bytes: 1e6, time: 30e-6}\n");
    CHECK(load(buf, &t) == 0);
    CHECK(t.nccl.algorithms == (TOPOLOGY_NCCL_DEFAULT | (1u << COLL_ALGO_NVLS_TREE)) && t.nccl.nvls_efficiency == 0.7);
    CHECK(t.n_coll_measured == 3);
    /* sorted by collective, ranks, nodes, bytes; busbw converted with the bus factor 2*7/8 */
    CHECK(t.coll_measured[0].coll == COLL_ALLREDUCE && t.coll_measured[0].bytes == 1024);
    CHECK(fabs(t.coll_measured[0].time_s - 1.75 * 1024 / 1e9) < 1e-18);
    CHECK(t.coll_measured[1].bytes == 4096 && t.coll_measured[1].time_s == 20e-6 && t.coll_measured[1].nodes == 1);
    CHECK(t.coll_measured[2].coll == COLL_ALLGATHER && t.coll_measured[2].nodes == 2);
    topology_free(&t);
    /* a block alone offers its algorithm */
    snprintf(buf, sizeof buf, "%s%s", mixed, "nccl: {nvls: {efficiency: 0.7}, collnet: {efficiency: 0.9}}\n");
    CHECK(load(buf, &t) == 0);
    CHECK(t.nccl.algorithms == (TOPOLOGY_NCCL_DEFAULT | (1u << COLL_ALGO_NVLS) | (1u << COLL_ALGO_NVLS_TREE) |
                                (1u << COLL_ALGO_COLLNET)));
    topology_free(&t);
}

int main(void) {
    test_flatten();
    test_collectives_blocks();
    test_network_section();
    test_errors();
    test_gemm_shape();
    return check_finish("test_topology");
}
