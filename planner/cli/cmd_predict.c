/* cmd_predict.c: `attnplan predict KIND ...`: what the cost model predicts for one
 * kernel-level measurement, so public figures (bench/published) can be priced one by one.
 * Each kind is a row of predict_kinds with its handler; `attnplan predict --help` lists
 * them. Exit codes: 0 predicted, 2 bad usage or bad input (files: FILE:LINE:COL). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "args.h"
#include "commands.h"
#include "cost.h"

typedef struct predict_kind {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} predict_kind;

static int predict_coll(int argc, char **argv);

static const predict_kind predict_kinds[] = {
    {"coll", predict_coll, "one collective: NCCL's algorithm and protocol, time, algbw and busbw"},
};
#define N_PREDICT_KINDS (sizeof predict_kinds / sizeof predict_kinds[0])

static void usage(FILE *f) {
    fprintf(f, "usage: attnplan predict KIND [OPTIONS]   (attnplan predict KIND --help for its options)\n\nkinds:\n");
    for (size_t i = 0; i < N_PREDICT_KINDS; i++)
        fprintf(f, "  %-8s %s\n", predict_kinds[i].name, predict_kinds[i].summary);
    fprintf(f, "\nexit codes: 0 predicted, 2 bad usage or bad input\n");
}

int cmd_predict(int argc, char **argv) {
    if (argc < 2) { usage(stderr); return ATTN_EXIT_BADINPUT; }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) { usage(stdout); return ATTN_EXIT_OK; }
    for (size_t i = 0; i < N_PREDICT_KINDS; i++)
        if (!strcmp(argv[1], predict_kinds[i].name)) return predict_kinds[i].run(argc - 1, argv + 1);
    attn_args a;
    attn_args_init(&a, "attnplan predict", argc, argv, 1);
    attn_args_fail(&a, "unknown kind '%s'", argv[1]);
    usage(stderr);
    return ATTN_EXIT_BADINPUT;
}

/* ---- coll ---- */

static void coll_usage(FILE *f) {
    fprintf(f,
            "usage: attnplan predict coll --topology FILE --op OP --ranks N --bytes B [--nodes K]\n"
            "                             [--algo A] [--proto P] [--single-process] [--calibration FILE] [--brief]\n\n"
            "Prices one collective as NCCL runs it (docs/cost-model.md, \"Collectives\"): N ranks on the first K\n"
            "nodes of the topology, N/K on each (its first N/K GPUs, one NIC each), B bytes in nccl-tests'\n"
            "convention (all-gather: the gathered buffer; all-to-all: one rank's send buffer).\n"
            "--op OP          allreduce, allgather, reducescatter, alltoall or sendrecv\n"
            "--nodes K        default: as few nodes as hold N ranks\n"
            "--algo A         force an algorithm as NCCL_ALGO does: ring, tree, nvls, nvlstree, collnet, p2p\n"
            "--proto P        force a protocol as NCCL_PROTO does: LL, LL128, Simple\n"
            "--single-process one process drives all a node's GPUs (nccl-tests -g N); default one per GPU\n"
            "--calibration F  a calibration file's collective fits take precedence (docs/calibration.md)\n"
            "--brief          one line: algorithm=.. protocol=.. source=.. time_s=.. algbw=.. busbw=..\n"
            "exit codes: 0 predicted, 2 bad usage, bad input, or a forced algorithm the group does not offer\n");
}

/* The devices of n ranks on the first k nodes, n/k each; 0, or -1 with the reason printed. */
static int coll_devices(const attn_args *a, const attn_topology *t, int n, int k, int *devs) {
    if (k > t->n_nodes) return attn_args_fail(a, "--nodes %d: topology %s has %d nodes", k, t->name, t->n_nodes);
    if (n % k != 0) return attn_args_fail(a, "--ranks %d is not a multiple of --nodes %d", n, k);
    int per = n / k, filled = 0;
    for (int node = 0; node < k; node++) {
        int got = 0;
        for (int d = 0; d < t->n_devices && got < per; d++)
            if (t->devices[d].node == node) devs[filled + got++] = d;
        if (got < per)
            return attn_args_fail(a, "--ranks %d on %d nodes needs %d GPUs per node; node %d has %d", n, k, per, node,
                                  got);
        filled += per;
    }
    return 0;
}

static int predict_coll(int argc, char **argv) {
    attn_args a;
    attn_args_init(&a, "attnplan predict coll", argc, argv, 1);
    const char *topo_path = NULL, *cal_path = NULL;
    int have_op = 0, ranks = 0, nodes = 0, brief = 0;
    double bytes = -1;
    attn_coll op = COLL_ALLREDUCE;
    cost_nccl_options o;
    cost_nccl_options_default(&o);
    while (attn_args_peek(&a)) {
        const char *v;
        if (attn_args_is(&a, "--help") || attn_args_is(&a, "-h")) {
            coll_usage(stdout);
            return ATTN_EXIT_OK;
        } else if (attn_args_is(&a, "--topology")) {
            if (!(topo_path = attn_args_value(&a))) return ATTN_EXIT_BADINPUT;
        } else if (attn_args_is(&a, "--calibration")) {
            if (!(cal_path = attn_args_value(&a))) return ATTN_EXIT_BADINPUT;
        } else if (attn_args_is(&a, "--op")) {
            const char *flag = attn_args_peek(&a);
            if (!(v = attn_args_value(&a))) return ATTN_EXIT_BADINPUT;
            if (coll_parse(v, &op)) {
                attn_args_fail(&a, "%s: bad value '%s' (allreduce, allgather, reducescatter, alltoall, sendrecv)", flag, v);
                return ATTN_EXIT_BADINPUT;
            }
            have_op = 1;
        } else if (attn_args_is(&a, "--algo")) {
            const char *flag = attn_args_peek(&a);
            coll_algo al;
            if (!(v = attn_args_value(&a))) return ATTN_EXIT_BADINPUT;
            if (coll_algo_parse(v, &al)) {
                attn_args_fail(&a, "%s: bad value '%s' (ring, tree, nvls, nvlstree, collnet, p2p)", flag, v);
                return ATTN_EXIT_BADINPUT;
            }
            o.algo = al;
        } else if (attn_args_is(&a, "--proto")) {
            const char *flag = attn_args_peek(&a);
            coll_proto pr;
            if (!(v = attn_args_value(&a))) return ATTN_EXIT_BADINPUT;
            if (coll_proto_parse(v, &pr)) {
                attn_args_fail(&a, "%s: bad value '%s' (LL, LL128, Simple)", flag, v);
                return ATTN_EXIT_BADINPUT;
            }
            o.proto = pr;
        } else if (attn_args_is(&a, "--ranks")) {
            if (attn_args_int(&a, 2, 1 << 20, &ranks)) return ATTN_EXIT_BADINPUT;
        } else if (attn_args_is(&a, "--nodes")) {
            if (attn_args_int(&a, 1, 1 << 20, &nodes)) return ATTN_EXIT_BADINPUT;
        } else if (attn_args_is(&a, "--bytes")) {
            if (attn_args_bytes(&a, &bytes)) return ATTN_EXIT_BADINPUT;
        } else if (attn_args_is(&a, "--single-process")) {
            o.single_process = 1;
            attn_args_next(&a);
        } else if (attn_args_is(&a, "--brief")) {
            brief = 1;
            attn_args_next(&a);
        } else {
            attn_args_reject(&a);
            return ATTN_EXIT_BADINPUT;
        }
    }
    const char *missing = !topo_path ? "--topology" : !have_op ? "--op" : !ranks ? "--ranks" : bytes < 0 ? "--bytes" : NULL;
    if (missing) {
        attn_args_fail(&a, "%s is required (see --help)", missing);
        return ATTN_EXIT_BADINPUT;
    }
    if (!(bytes > 0)) {
        attn_args_fail(&a, "--bytes must be greater than 0");
        return ATTN_EXIT_BADINPUT;
    }
    attn_diag d;
    attn_diag_init(&d);
    attn_topology t;
    if (topology_load(topo_path, &t, &d) != 0) return ATTN_EXIT_BADINPUT;
    int rc = ATTN_EXIT_BADINPUT;
    int *devs = malloc((size_t)ranks * sizeof *devs);
    cost_calibration cal;
    int cal_loaded = 0;
    if (!devs) {
        fprintf(stderr, "attnplan predict coll: out of memory\n");
        rc = ATTN_EXIT_FAIL;
        goto done;
    }
    if (nodes == 0) { /* as few nodes as hold the ranks, the first ones */
        int held = 0;
        while (nodes < t.n_nodes && held < ranks) held += t.node_types[t.node_type_of[nodes++]].devices;
        if (held < ranks) {
            attn_args_fail(&a, "--ranks %d: topology %s has %d GPUs", ranks, t.name, t.n_devices);
            goto done;
        }
        while (ranks % nodes) nodes++; /* an even share per node */
    }
    if (coll_devices(&a, &t, ranks, nodes, devs)) goto done;
    if (cal_path) {
        if (cost_calibration_load(cal_path, &t, &cal, NULL, &d) != 0) goto done;
        cal_loaded = 1;
    }
    cost_coll_choice ch;
    if (cost_collective_predict(&t, op, devs, ranks, bytes, cal_loaded ? &cal : NULL, &o, &ch) != 0) {
        attn_args_fail(&a, "%s%s%s is not offered for %s over %d ranks on %d node(s) of %s",
                       o.algo >= 0 ? coll_algo_name((coll_algo)o.algo) : "", o.algo >= 0 && o.proto >= 0 ? "/" : "",
                       o.proto >= 0 ? coll_proto_name((coll_proto)o.proto) : "", coll_name(op), ranks, nodes, t.name);
        goto done;
    }
    double algbw = bytes / ch.time_s, busbw = algbw * coll_bus_factor(op, ranks);
    if (brief) {
        printf("algorithm=%s protocol=%s source=%s time_s=%.6g algbw=%.6g busbw=%.6g\n", coll_algo_name(ch.algo),
               coll_proto_name(ch.proto), cost_coll_source_name(ch.source), ch.time_s, algbw, busbw);
    } else {
        printf("%s of %.6g bytes over %d ranks on %d node(s) of %s (%s)\n", coll_name(op), bytes, ranks, nodes, t.name,
               o.single_process ? "one process per node" : "one process per GPU");
        printf("  %-10s %s\n", "algorithm", coll_algo_name(ch.algo));
        printf("  %-10s %s\n", "protocol", coll_proto_name(ch.proto));
        printf("  %-10s %s\n", "source", cost_coll_source_name(ch.source));
        printf("  %-10s %.4g us\n", "time", ch.time_s * 1e6);
        printf("  %-10s %.4g GB/s\n", "algbw", algbw / 1e9);
        printf("  %-10s %.4g GB/s\n", "busbw", busbw / 1e9);
    }
    rc = ATTN_EXIT_OK;
done:
    if (cal_loaded) cost_calibration_free(&cal);
    free(devs);
    topology_free(&t);
    return rc;
}
