/* cmd_predict.c: `attnplan predict KIND ...`: the cost model's time for one kernel or one
 * transfer on a topology's device, with the rate it implies, so a published measurement
 * (bench/published.sh, docs/published.md) can be priced by the same formulas a plan is.
 * The kinds are the rows of predict_kinds: each row's handler reads its own options and
 * prints one readable line and one `time_s=... rate=... unit=...` line for scripts (coll:
 * its own `--brief` line, algorithm and protocol included). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "args.h"
#include "commands.h"
#include "cost.h"

typedef struct predict_kind {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the kind */
    const char *usage;
} predict_kind;

static int predict_gemm(int argc, char **argv);
static int predict_copy(int argc, char **argv);
static int predict_triad(int argc, char **argv);
static int predict_coll(int argc, char **argv);

static const predict_kind predict_kinds[] = {
    {"gemm", predict_gemm, "gemm --topology T --device D --m M --n N --k K [--dtype fp16|bf16|fp32]"},
    {"copy", predict_copy, "copy --topology T --device D --bytes B   (B: bytes read + written)"},
    {"triad", predict_triad, "triad --topology T --device D --bytes B  (B: bytes read + written)"},
    {"coll", predict_coll, "coll --topology T --op OP --ranks N --bytes B [--nodes K] ...  (one NCCL collective)"},
};
#define PREDICT_KINDS (sizeof predict_kinds / sizeof predict_kinds[0])

static void usage(FILE *f) {
    fprintf(f, "usage: attnplan predict KIND OPTIONS\n\n"
               "The cost model's time for one operation on device type D of topology T, and the rate\n"
               "it implies (docs/published.md). Kinds:\n");
    for (size_t i = 0; i < PREDICT_KINDS; i++) fprintf(f, "  attnplan predict %s\n", predict_kinds[i].usage);
    fprintf(f, "\nPrints a readable line, then `time_s=SECONDS rate=RATE unit=UNIT`.\n"
               "exit codes: 0 priced, 2 bad usage or bad input\n");
}

int cmd_predict(int argc, char **argv) {
    attn_args a;
    attn_args_init(&a, "attnplan predict", argc, argv, 1);
    const char *kind = attn_args_peek(&a);
    if (!kind) {
        usage(stderr);
        return ATTN_EXIT_BADINPUT;
    }
    if (!strcmp(kind, "--help") || !strcmp(kind, "-h")) {
        usage(stdout);
        return ATTN_EXIT_OK;
    }
    for (size_t i = 0; i < PREDICT_KINDS; i++)
        if (!strcmp(kind, predict_kinds[i].name)) return predict_kinds[i].run(argc - 1, argv + 1);
    attn_args_fail(&a, "unknown kind '%s' (see --help)", kind);
    return ATTN_EXIT_BADINPUT;
}

/* ---- what the kinds share: the topology and its device type ---- */

typedef struct predict_target {
    const char *topology_path, *device;
    attn_topology topo;
    const attn_device_type *dt;
    int loaded;
} predict_target;

/* --topology and --device: 1 taken, 0 not ours, -1 bad. */
static int predict_take_target(attn_args *a, predict_target *t) {
    if (attn_args_is(a, "--topology")) return (t->topology_path = attn_args_value(a)) ? 1 : -1;
    if (attn_args_is(a, "--device")) return (t->device = attn_args_value(a)) ? 1 : -1;
    return 0;
}

static int predict_load_target(const attn_args *a, predict_target *t) {
    if (!t->topology_path || !t->device) {
        attn_args_fail(a, "needs --topology T and --device D (see attnplan predict --help)");
        return ATTN_EXIT_BADINPUT;
    }
    attn_diag d;
    attn_diag_init(&d);
    if (topology_load(t->topology_path, &t->topo, &d) != 0) return ATTN_EXIT_BADINPUT;
    t->loaded = 1;
    for (int i = 0; i < t->topo.n_dev_types; i++)
        if (!strcmp(t->topo.dev_types[i].name, t->device)) t->dt = &t->topo.dev_types[i];
    if (!t->dt) {
        char names[512] = "";
        size_t used = 0;
        for (int i = 0; i < t->topo.n_dev_types && used + 2 < sizeof names; i++) {
            int w = snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", t->topo.dev_types[i].name);
            if (w < 0) break;
            used += (size_t)w;
        }
        attn_args_fail(a, "--device '%s': not a device type of %s (it has: %s)", t->device, t->topology_path, names);
        return ATTN_EXIT_BADINPUT;
    }
    return ATTN_EXIT_OK;
}

static void predict_free_target(predict_target *t) {
    if (t->loaded) topology_free(&t->topo);
    t->loaded = 0;
}

/* ---- gemm ---- */

static int predict_gemm(int argc, char **argv) {
    attn_args a;
    attn_args_init(&a, "attnplan predict gemm", argc, argv, 1);
    predict_target t = {0};
    int m = 0, n = 0, k = 0;
    attn_dtype dtype = DTYPE_BF16;
    while (attn_args_peek(&a)) {
        if (attn_args_is(&a, "--help") || attn_args_is(&a, "-h")) {
            usage(stdout);
            return ATTN_EXIT_OK;
        }
        int r = predict_take_target(&a, &t);
        if (r == 0) {
            if (attn_args_is(&a, "--m")) r = attn_args_int(&a, 1, 1 << 30, &m) == 0 ? 1 : -1;
            else if (attn_args_is(&a, "--n")) r = attn_args_int(&a, 1, 1 << 30, &n) == 0 ? 1 : -1;
            else if (attn_args_is(&a, "--k")) r = attn_args_int(&a, 1, 1 << 30, &k) == 0 ? 1 : -1;
            else if (attn_args_is(&a, "--dtype")) {
                static const char *const names[] = {"fp16", "bf16", "fp32"};
                int c = 0;
                r = attn_args_choice(&a, names, 3, &c) == 0 ? 1 : -1;
                dtype = (attn_dtype)c;
            } else r = attn_args_reject(&a);
        }
        if (r < 0) return ATTN_EXIT_BADINPUT;
    }
    if (m <= 0 || n <= 0 || k <= 0) {
        attn_args_fail(&a, "needs --m M --n N --k K (C[M,N] = A[M,K] B[K,N])");
        return ATTN_EXIT_BADINPUT;
    }
    int rc = predict_load_target(&a, &t);
    if (rc != ATTN_EXIT_OK) {
        predict_free_target(&t);
        return rc;
    }
    /* one kernel, one launch, the topology's figures: what a plan prices for the shape */
    double time_s = cost_gemm_time(t.dt, dtype, m, n, k, 1, NULL);
    double flops = 2.0 * m * n * k;
    double bytes = (double)dtype_bytes(dtype) * ((double)m * k + (double)k * n + (double)m * n);
    double peak = t.dt->peak_flops[dtype] > 0 ? t.dt->peak_flops[dtype] : t.dt->peak_flops[DTYPE_FP32];
    double wave = cost_gemm_wave_fraction(t.dt, m, n);
    double t_compute = flops / (peak * (t.dt->gemm_efficiency > 0 ? t.dt->gemm_efficiency : 1) * wave);
    double t_mem = bytes / cost_gemm_bandwidth(t.dt);
    printf("gemm %dx%dx%d %s on %s (%s): %.4g us, %.4g TFLOP/s (%.3f of the %.4g TFLOP/s peak), "
           "%.4g GB/s of operands; the waves keep %.3f of the SMs busy; %s-bound\n",
           m, n, k, dtype_name(dtype), t.dt->name, t.topo.name, time_s * 1e6, flops / time_s / 1e12,
           flops / time_s / peak, peak / 1e12, bytes / time_s / 1e9, wave,
           t_compute >= t_mem ? "compute" : "bandwidth");
    printf("time_s=%.6e rate=%.6g unit=TFLOP/s\n", time_s, flops / time_s / 1e12);
    predict_free_target(&t);
    return ATTN_EXIT_OK;
}

/* ---- copy and triad: streams of B bytes (read + written, as STREAM and BabelStream count) ---- */

static int predict_stream(int argc, char **argv, const char *kind) {
    char prog[64];
    snprintf(prog, sizeof prog, "attnplan predict %s", kind);
    attn_args a;
    attn_args_init(&a, prog, argc, argv, 1);
    predict_target t = {0};
    double bytes = 0;
    while (attn_args_peek(&a)) {
        if (attn_args_is(&a, "--help") || attn_args_is(&a, "-h")) {
            usage(stdout);
            return ATTN_EXIT_OK;
        }
        int r = predict_take_target(&a, &t);
        if (r == 0) {
            if (attn_args_is(&a, "--bytes")) r = attn_args_bytes(&a, &bytes) == 0 ? 1 : -1;
            else r = attn_args_reject(&a);
        }
        if (r < 0) return ATTN_EXIT_BADINPUT;
    }
    if (bytes <= 0) {
        attn_args_fail(&a, "needs --bytes B > 0 (bytes read + written)");
        return ATTN_EXIT_BADINPUT;
    }
    int rc = predict_load_target(&a, &t);
    if (rc != ATTN_EXIT_OK) {
        predict_free_target(&t);
        return rc;
    }
    /* an elementwise kernel as the plan prices one: bytes at memory_bandwidth x
     * memory_efficiency, one launch */
    double time_s = cost_kernel_time(t.dt, DTYPE_FP32, 0, bytes, 1.0, 0, 1, NULL);
    printf("%s of %.6g bytes on %s (%s): %.4g us, %.4g GB/s (%.3f of the %.4g GB/s datasheet)\n", kind, bytes,
           t.dt->name, t.topo.name, time_s * 1e6, bytes / time_s / 1e9, bytes / time_s / t.dt->memory_bandwidth,
           t.dt->memory_bandwidth / 1e9);
    printf("time_s=%.6e rate=%.6g unit=GB/s\n", time_s, bytes / time_s / 1e9);
    predict_free_target(&t);
    return ATTN_EXIT_OK;
}

static int predict_copy(int argc, char **argv) { return predict_stream(argc, argv, "copy"); }
static int predict_triad(int argc, char **argv) { return predict_stream(argc, argv, "triad"); }

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
