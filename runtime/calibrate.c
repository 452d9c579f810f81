/* calibrate.c: `attnrun --calibrate`: options, the GEMM shapes to measure, the run
 * (calibrate_ops.c, calibrate_comm.c) and the calibration file (docs/calibration.md),
 * written atomically by rank 0. Efficiencies are achieved FLOP/s over the peak of the
 * device type given by --topology (or --peak): the file records both, and the loader
 * rescales efficiencies when it prices on a device type with another peak. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef ATTN_HAVE_MPI
#include <mpi.h>
#endif
#include "attn_tiling.h"
#include "calibrate.h"
#include "measure.h"
#include "plan.h"
#include "ytree.h"

#define CAL_MAX_MODELS 16

typedef struct cal_options {
    const char *out, *backend, *topology, *name;
    const char *models[CAL_MAX_MODELS];
    int n_models, threads, samples, passes, world_max, quick;
    double peak;
} cal_options;

static void usage(FILE *f) {
    fprintf(f,
            "usage: [mpirun -np W] attnrun --calibrate [options]\n"
            "  -o FILE             calibration file to write (default calibration.yaml)\n"
            "  --topology FILE     the topology whose device type this machine is: its peak (the\n"
            "                      efficiencies' denominator), device type and link class\n"
            "  --peak FLOPS        the peak instead of a topology (link class then 'node')\n"
            "  --model FILE        measure the GEMM shapes of this model's plans (repeatable;\n"
            "                      default: a generic grid)\n"
            "  --world-max W       plans of up to W devices (default: this run's world size)\n"
            "  --backend cpu|cuda|auto   --threads T (BLAS threads per rank, default 1)\n"
            "  --samples N         timed samples per point, the median kept (default 7)\n"
            "  --passes N          passes over every kernel and GEMM point, spread over the run;\n"
            "                      each point keeps its median over the passes (default 7)\n"
            "  --quick             fewer, shorter samples (tests)\n"
            "  --name NAME         name recorded in the file (default: the topology's)\n");
}

int calibrate_requested(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--calibrate")) return 1;
    return 0;
}

static int parse_options(int argc, char **argv, cal_options *o, int loud) {
    *o = (cal_options){.out = "calibration.yaml", .backend = "auto", .threads = 1, .samples = 7, .passes = 7};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (!strcmp(a, "--calibrate")) continue;
        if (!strcmp(a, "--quick")) { o->quick = 1; continue; }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return 1;
        if (a[0] != '-') {
            if (loud) fprintf(stderr, "attnrun: error: --calibrate takes no plan (got '%s')\n", a);
            return 2;
        }
        if (!val) {
            if (loud) fprintf(stderr, "attnrun: error: %s needs a value (see --calibrate --help)\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "-o") || !strcmp(a, "--output")) o->out = val;
        else if (!strcmp(a, "--topology")) o->topology = val;
        else if (!strcmp(a, "--name")) o->name = val;
        else if (!strcmp(a, "--backend")) {
            o->backend = val;
            if (strcmp(val, "cpu") && strcmp(val, "cuda") && strcmp(val, "auto")) {
                if (loud) fprintf(stderr, "attnrun: error: --backend must be cpu, cuda or auto (got '%s')\n", val);
                return 2;
            }
        } else if (!strcmp(a, "--model")) {
            if (o->n_models == CAL_MAX_MODELS) {
                if (loud) fprintf(stderr, "attnrun: error: at most %d --model files\n", CAL_MAX_MODELS);
                return 2;
            }
            o->models[o->n_models++] = val;
        } else if (!strcmp(a, "--peak")) {
            o->peak = strtod(val, &end);
            if (*val == '\0' || *end != '\0' || !(o->peak > 0) || o->peak > 1e20) {
                if (loud) fprintf(stderr, "attnrun: error: --peak: bad value '%s'\n", val);
                return 2;
            }
        } else if (!strcmp(a, "--threads") || !strcmp(a, "--samples") || !strcmp(a, "--passes") ||
                   !strcmp(a, "--world-max")) {
            long v = strtol(val, &end, 10);
            long most = !strcmp(a, "--samples") ? 15 : !strcmp(a, "--passes") ? CAL_MAX_PASSES : 4096;
            if (*val == '\0' || *end != '\0' || v < 1 || v > most) {
                if (loud) fprintf(stderr, "attnrun: error: %s: bad value '%s'\n", a, val);
                return 2;
            }
            if (!strcmp(a, "--threads")) o->threads = (int)v;
            else if (!strcmp(a, "--samples")) o->samples = (int)v;
            else if (!strcmp(a, "--passes")) o->passes = (int)v;
            else o->world_max = (int)v;
        } else {
            if (loud) fprintf(stderr, "attnrun: error: unknown --calibrate option '%s'\n", a);
            return 2;
        }
    }
    if (!o->topology && !(o->peak > 0)) {
        if (loud) fprintf(stderr, "attnrun: error: --calibrate needs --topology FILE or --peak FLOPS (the efficiencies' denominator)\n");
        return 2;
    }
    return 0;
}

/* ---- shapes ---- */

static double shape_working_set; /* bytes: set per strategy by cal_add_model_shapes */

static void add_shape_ld(cal_ctx *c, double m, double n, double k, cal_gemm_kind kind, int ldb, int reuse) {
    int im = (int)m, in = (int)n, ik = (int)k;
    if (im < 1 || in < 1 || ik < 1) return;
    if (reuse < 1) reuse = 1;
    for (int i = 0; i < c->n_gemm; i++) { /* the cost model keys its table by shape and reuse only */
        cal_gemm *g = &c->gemm[i];
        if (g->m == im && g->n == in && g->k == ik && g->reuse == reuse) return;
    }
    if (c->n_gemm == CAL_MAX_SHAPES) {
        static int warned;
        if (!warned++ && c->rank == 0)
            fprintf(stderr, "attnrun: warning: calibrate: more than %d GEMM shapes; the rest are not measured\n",
                    CAL_MAX_SHAPES);
        return;
    }
    c->gemm[c->n_gemm++] = (cal_gemm){.m = im, .n = in, .k = ik, .kind = kind, .ldb = ldb, .reuse = reuse,
                                      .working_set = shape_working_set};
}

static void add_shape(cal_ctx *c, double m, double n, double k, cal_gemm_kind kind) {
    add_shape_ld(c, m, n, k, kind, 0, 1);
}

/* The B reuse of the runtime's attention GEMM calls in a phase: the score blocks as the
 * cost model tiles them (cost_rank.c: chunk rows x keys, score + probability bytes per
 * pair), batched by attn_gemm_batch for the largest block, the fullest rank's heads
 * starting at head 0. Rounded: a call batches whole heads. */
static int attn_reuse(const cal_ctx *c, int seqs, int heads, int rows, int keys, int qpk) {
    attn_tiling tl;
    attn_tiling_plan(&tl, seqs, heads, rows, keys, ATTN_SCORE_ELEM_BYTES + (double)c->be->elem_bytes, 0);
    return (int)lround(attn_gemm_batch(tl.block_seqs, 0, tl.block_heads, qpk).b_shared);
}

static int ceil_div(int a, int b) { return (a + b - 1) / b; }

/* The GEMM shapes of the fullest rank of every even strategy of up to world_max devices,
 * both as the runtime calls them (q, k, v; gate, up) and as a cost model that merges them
 * prices them (q, k and v as one GEMM; gate and up as one): o_proj, mlp_down, and the
 * attention GEMMs at (query rows of a chunk, keys per chunk, width) in prefill and decode,
 * as cost_rank.c shapes them. Query chunk: the cost model's default (1024) capped at
 * seq_len. */
void cal_add_model_shapes(cal_ctx *c, const attn_model *m, int world_max) {
    int L = m->workload.seq_len, batch = m->workload.batch, H = m->hidden, D = m->head_dim;
    int llama = m->arch == ARCH_LLAMA, qpk = m->heads / m->kv_heads;
    for (int n = 1; n <= world_max && n <= m->heads; n++)
        for (int mm = 1; n * mm <= world_max && mm <= (llama ? D / 2 : D); mm++)
            for (int scheme = mm > 1 ? 1 : 0; scheme <= (mm > 1 ? 3 : 0); scheme++)
                for (int dp = 1; dp * n * mm <= world_max && dp <= batch; dp++)
                    for (int pp = 1; dp * pp * n * mm <= world_max && pp <= m->layers; pp++) {
                        int qh = ceil_div(m->heads, n), kvh = plan_kv_range(qpk, 0, qh, NULL, NULL);
                        int dims = llama ? 2 * ceil_div(D / 2, mm) : ceil_div(D, mm);
                        int F = ceil_div(m->ffn_hidden, n * mm), rows = ceil_div(batch, dp);
                        int mb_rows = ceil_div(rows, plan_resolve_microbatches(m->workload.microbatches, rows, pp));
                        int qk = dims, v = dims, cache_heads = kvh; /* the KV cache: heads x width rows */
                        int ah = qh; /* query heads in the attention core */
                        if (scheme == SCHEME_QK_ALLGATHER) qk = D;
                        if (scheme == SCHEME_HEAD_ALLTOALL) {
                            ah = ceil_div(qh, mm);
                            qk = v = D, cache_heads = plan_kv_range(qpk, 0, ah, NULL, NULL);
                        }
                        int ch = L < 1024 ? L : 1024, chunks = ceil_div(L, ch);
                        double keys = (double)ch * (chunks - 1) * chunks / 2 + L;
                        int tokens[2] = {mb_rows * L, rows};
                        /* A weight matrix is used again one pass through the rank's layers
                         * later (a decode step's, after the prefill's): in between, the
                         * rank touched its layers' weights and a microbatch's activations
                         * (x, the normalized copy, q, k, v, the attention output, the
                         * projection, the MLP's columns, a chunk's scores) in every layer. */
                        double Tm = (double)mb_rows * L, ch_rows = L < 1024 ? L : 1024;
                        double acts = Tm * (3.0 * H + (2.0 * qh + 2 * kvh) * dims + (llama ? 2.0 : 1.0) * F) +
                                      (double)mb_rows * qh * ch_rows * (L + m->workload.decode_tokens);
                        shape_working_set = (model_layer_params(m) / (n * mm) + acts) * (double)c->be->elem_bytes *
                                            ceil_div(m->layers, pp);
                        for (int ph = 0; ph < 2; ph++) {
                            double T = tokens[ph];
                            add_shape(c, T, (double)qh * dims, H, CAL_GEMM_PROJ);  /* q, as the runtime runs it */
                            add_shape(c, T, (double)kvh * dims, H, CAL_GEMM_PROJ); /* k and v */
                            add_shape(c, T, (double)(qh + 2 * kvh) * dims, H, CAL_GEMM_PROJ); /* q, k, v as one */
                            add_shape(c, T, H, (double)qh * dims, CAL_GEMM_PROJ);
                            add_shape(c, T, F, H, CAL_GEMM_PROJ); /* up (and gate) */
                            if (llama) add_shape(c, T, 2.0 * F, H, CAL_GEMM_PROJ); /* gate and up as one */
                            add_shape(c, T, H, F, CAL_GEMM_PROJ);
                        }
                        int r_pre = attn_reuse(c, mb_rows, ah, ch, L, qpk);
                        int r_dec = attn_reuse(c, rows, ah, 1, L + m->workload.decode_tokens, qpk);
                        add_shape_ld(c, ch, keys / chunks, qk, CAL_GEMM_SCORES, cache_heads * qk, r_pre);
                        add_shape_ld(c, ch, v, keys / chunks, CAL_GEMM_PV, cache_heads * v, r_pre);
                        add_shape_ld(c, 1, L + 1, qk, CAL_GEMM_SCORES, cache_heads * qk, r_dec);
                        add_shape_ld(c, 1, v, L + 1, CAL_GEMM_PV, cache_heads * v, r_dec);
                    }
}

static void add_generic_shapes(cal_ctx *c) {
    shape_working_set = 0;
    static const int ms[] = {1, 4, 16, 64, 256, 1024}, nk[] = {64, 256, 1024};
    for (size_t i = 0; i < 6; i++)
        for (size_t j = 0; j < 3; j++)
            for (size_t k = 0; k < 3; k++) add_shape(c, ms[i], nk[j], nk[k], CAL_GEMM_PROJ);
}

/* ---- output ---- */

static const char *const gemm_kind_names[] = {"proj", "scores", "pv"};

static int write_file(const cal_ctx *c, const cal_options *o, const char *device_type, attn_link link,
                      const char *machine, int argc, char **argv) {
    yt_writer w;
    if (yt_writer_open(&w, o->out, NULL) != 0) return -1;
    FILE *f = w.f;
    char date[64];
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    fprintf(f, "# Written by attnrun --calibrate (docs/calibration.md). Command:\n#  ");
    for (int i = 0; i < argc; i++) fprintf(f, " %s", argv[i]);
    fprintf(f, "\n# Every figure below is a measurement of this run (per point the median of %d samples, the\n"
               "# slowest rank's when several ranks measured at once; kernels and GEMMs: the median over %d\n"
               "# passes spread over the run).\n", c->samples, o->quick ? 1 : o->passes);
    fprintf(f, "calibration_version: 1\nname: ");
    yt_write_str(f, o->name ? o->name : device_type);
    fprintf(f, "\nmachine: ");
    yt_write_str(f, machine);
    fprintf(f, "\ndate: ");
    yt_write_str(f, date);
    fprintf(f, "\nbackend: %s\ndtype: %s\ndevice_type: ", c->be->name, dtype_name(c->be->dtype));
    yt_write_str(f, device_type);
    fprintf(f, "\nranks: %d\nthreads: %d\npeak_flops: %.6g\n", c->world, o->threads, c->peak_flops);
    fprintf(f, "launch_overhead: %.6g          # s: the kernels' median fixed cost per call\n", c->launch_overhead_s);
    fprintf(f, "elementwise_bandwidth: %.6g    # bytes/s: residual (a plain memory-bound kernel)\n",
            c->kernel[CAL_K_RESIDUAL].bandwidth);
    fprintf(f, "softmax_bandwidth: %.6g        # bytes/s: causal square blocks (prefill)\n", c->kernel[CAL_K_SOFTMAX].bandwidth);
    fprintf(f, "softmax_decode_bandwidth: %.6g # bytes/s: one query row over every key (decode)\n",
            c->softmax_decode_bandwidth);
    fprintf(f, "kernels:                         # t = fixed + bytes / bandwidth, bytes as the cost model counts them\n");
    for (int i = 0; i < CAL_KERNELS; i++)
        fprintf(f, "  %s: {bandwidth: %.6g, fixed: %.6g}\n", c->kernel[i].name, c->kernel[i].bandwidth,
                c->kernel[i].fixed_s);
    fprintf(f, "gemm:                            # efficiency = 2mnk x reuse / (seconds - launch_overhead) / peak_flops\n");
    for (int i = 0; i < c->n_gemm; i++) {
        const cal_gemm *g = &c->gemm[i];
        double t = g->seconds - c->launch_overhead_s;
        if (t < 0.5 * g->seconds) t = 0.5 * g->seconds; /* the fixed cost is priced separately */
        double eff = 2.0 * g->m * g->n * g->k * g->reuse / t / c->peak_flops;
        /* seconds: one call, which covers `reuse` GEMMs on one B (written only when > 1:
         * files without it load as reuse 1) */
        char reuse[32] = "";
        if (g->reuse > 1) snprintf(reuse, sizeof reuse, " reuse: %d,", g->reuse);
        fprintf(f, "  - {m: %d, n: %d, k: %d,%s kind: %s, seconds: %.6g, flops_per_s: %.6g, efficiency: %.6g}\n",
                g->m, g->n, g->k, reuse, gemm_kind_names[g->kind], g->seconds, g->flops_per_s, eff);
    }
    fprintf(f, "collectives:%s\n", c->n_coll ? "" : " []");
    for (int i = 0; i < c->n_coll; i++) {
        const cal_coll *k = &c->coll[i];
        fprintf(f, "  - coll: %s\n    link: %s\n    group_size: %d\n    alpha: %.6g\n    bus_bandwidth: %.6g\n",
                coll_name(k->coll), link_name(link), k->group_size, k->alpha_s, k->bus_bandwidth);
        fprintf(f, "    samples:                       # [S bytes, seconds]\n");
        for (int j = 0; j < k->n_sizes; j++) fprintf(f, "      - [%.0f, %.6g]\n", k->bytes[j], k->seconds[j]);
    }
    fprintf(f, "sync_wait:%s\n", c->n_sync ? "                       # s: mean extra time a collective waits for its slowest member\n"
                                              "  # after `work` s of the same work on every rank (back-to-back latency excluded)" : " []");
    for (int i = 0; i < c->n_sync; i++) fprintf(f, "  - {work: %.6g, wait: %.6g}\n", c->sync_work_s[i], c->sync_wait_s[i]);
    return yt_writer_commit(&w);
}

/* ---- the run ---- */

static attn_backend *make_backend(const cal_options *o, int device) {
#ifdef ATTN_HAVE_CUDA_BACKEND
    if (strcmp(o->backend, "cpu") != 0) {
        attn_backend *be = attn_backend_cuda_create(device, DTYPE_FP16);
        if (be || strcmp(o->backend, "cuda") == 0) return be;
    }
#else
    (void)device;
    if (strcmp(o->backend, "cuda") == 0) {
        fprintf(stderr, "attnrun: error: this attnrun was built without the CUDA backend\n");
        return NULL;
    }
#endif
    return attn_backend_cpu_create(o->threads);
}

/* Every rank ends with the worst code (no rank may leave a collective half-done). */
static int agree_code(cal_ctx *c, int code) { return c->comm ? c->comm->host_max_int(c->comm, code) : code; }

/* The kernels and GEMMs in `passes` passes over the whole set, each point keeping its
 * median over the passes: on a shared host the machine's speed drifts by 10-20% over
 * seconds, and a point measured in one stretch would catch one moment of it. 0 ok, 1 after
 * a message. */
static int measure_passes(cal_ctx *c, int passes) {
    enum { K_BW, K_FIXED, K_N };
    int nk = CAL_KERNELS * K_N + 2, per = nk + 2 * c->n_gemm; /* + decode softmax, launch */
    double *v = malloc((size_t)passes * per * sizeof *v), *col = malloc((size_t)passes * sizeof *col);
    int rc = v && col ? 0 : 1;
    if (rc) fprintf(stderr, "attnrun: error: out of memory\n");
    for (int p = 0; p < passes && !rc; p++) {
        rc = agree_code(c, cal_measure_kernels(c) ? 1 : 0);
        if (!rc) rc = agree_code(c, cal_measure_gemms(c) ? 1 : 0);
        if (rc) break;
        double *row = v + (size_t)p * per;
        for (int k = 0; k < CAL_KERNELS; k++) {
            row[k * K_N + K_BW] = c->kernel[k].bandwidth;
            row[k * K_N + K_FIXED] = c->kernel[k].fixed_s;
        }
        row[nk - 2] = c->softmax_decode_bandwidth;
        row[nk - 1] = c->launch_overhead_s;
        for (int i = 0; i < c->n_gemm; i++) {
            row[nk + 2 * i] = c->gemm[i].seconds;
            row[nk + 2 * i + 1] = c->gemm[i].flops_per_s;
        }
    }
    if (!rc && passes > 1) {
        double med[CAL_KERNELS * K_N + 2];
        for (int j = 0; j < per; j++) {
            for (int p = 0; p < passes; p++) col[p] = v[(size_t)p * per + j];
            double m = measure_median(col, passes);
            if (j < nk) med[j] = m;
            else if ((j - nk) % 2 == 0) c->gemm[(j - nk) / 2].seconds = m;
            else c->gemm[(j - nk) / 2].flops_per_s = m;
        }
        for (int k = 0; k < CAL_KERNELS; k++) {
            c->kernel[k].bandwidth = med[k * K_N + K_BW];
            c->kernel[k].fixed_s = med[k * K_N + K_FIXED];
        }
        c->softmax_decode_bandwidth = med[nk - 2];
        c->launch_overhead_s = med[nk - 1];
    }
    free(v);
    free(col);
    return rc;
}

static int load_inputs(const cal_options *o, cal_ctx *c, attn_topology *t, int *have_t, char *device_type,
                       size_t dlen, attn_link *link, int loud) {
    attn_diag d;
    attn_diag_init(&d);
    d.quiet = !loud;
    snprintf(device_type, dlen, "device");
    *link = LINK_NODE;
    c->peak_flops = o->peak;
    if (o->topology) {
        if (topology_load(o->topology, t, &d) != 0) return 2;
        *have_t = 1;
        if (c->world > t->n_devices) {
            if (loud) fprintf(stderr, "attnrun: error: %s has %d devices; this run has %d ranks\n", o->topology, t->n_devices, c->world);
            return 2;
        }
        const attn_device_type *dt = &t->dev_types[t->devices[c->rank].device_type];
        snprintf(device_type, dlen, "%s", dt->name);
        if (!(o->peak > 0)) c->peak_flops = dt->peak_flops[c->be->dtype] > 0 ? dt->peak_flops[c->be->dtype] : dt->peak_flops[DTYPE_FP32];
        int *devs = malloc((size_t)c->world * sizeof *devs);
        if (!devs) return 1;
        for (int i = 0; i < c->world; i++) devs[i] = i;
        *link = c->world > 1 ? topology_group_link(t, devs, c->world) : LINK_SELF;
        free(devs);
    }
    if (!(c->peak_flops > 0)) {
        if (loud) fprintf(stderr, "attnrun: error: %s lists no peak for %s\n", o->topology, device_type);
        return 2;
    }
    int wmax = o->world_max > 0 ? o->world_max : c->world;
    for (int i = 0; i < o->n_models; i++) {
        attn_model m;
        if (model_load(o->models[i], &m, &d) != 0) return 2;
        cal_add_model_shapes(c, &m, wmax);
    }
    if (o->n_models == 0) add_generic_shapes(c);
    return 0;
}

int calibrate_main(int argc, char **argv, int use_mpi, int rank, int world) {
    int loud = rank == 0;
    cal_options o;
    int rc = parse_options(argc, argv, &o, loud);
    if (rc == 1) {
        if (loud) usage(stdout);
        return 0;
    }
    if (rc) return rc;
    cal_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        fprintf(stderr, "attnrun: error: out of memory\n");
        return 1;
    }
    c->rank = rank;
    c->world = world;
    c->samples = o.quick ? 3 : o.samples;
    c->min_sample_s = o.quick ? 2e-4 : 4e-3;
    const char *lr = getenv("OMPI_COMM_WORLD_LOCAL_RANK");
    c->be = make_backend(&o, lr ? atoi(lr) : 0);
    /* A plan of world ranks in one stage (n = world): GROUP_STAGE is the whole world. */
    attn_plan fake;
    memset(&fake, 0, sizeof fake);
    fake.world = world;
    fake.strategy = (attn_strategy){.dp = 1, .pp = 1, .n = world, .m = 1};
#ifdef ATTN_HAVE_MPI
#ifdef ATTN_HAVE_CUDA_BACKEND
    if (use_mpi && c->be && strcmp(c->be->name, "cuda") == 0) c->comm = attn_comm_nccl_create(&fake, c->be);
    else
#endif
        if (use_mpi && c->be) c->comm = attn_comm_mpi_create(&fake, c->be);
#else
    (void)use_mpi;
#endif
    if (!c->be || (use_mpi && !c->comm)) {
#ifdef ATTN_HAVE_MPI
        if (use_mpi) MPI_Abort(MPI_COMM_WORLD, 1);
#endif
        if (c->be) c->be->destroy(c->be);
        free(c);
        return 1;
    }
    attn_topology t;
    int have_t = 0;
    char device_type[64];
    attn_link link;
    rc = agree_code(c, load_inputs(&o, c, &t, &have_t, device_type, sizeof device_type, &link, loud));
    if (!rc) {
        if (loud) printf("attnrun --calibrate: %d rank(s), %s backend, %d GEMM shapes\n", world, c->be->name, c->n_gemm);
        double t0 = measure_now();
        rc = agree_code(c, measure_passes(c, o.quick ? 1 : o.passes));
        if (!rc) rc = agree_code(c, cal_measure_collectives(c) ? 1 : 0);
        if (!rc) rc = agree_code(c, cal_measure_sync(c) ? 1 : 0);
        if (!rc && loud) {
            char machine[640];
            measure_machine(machine, sizeof machine, c->be->name, world, o.threads);
            if (write_file(c, &o, device_type, link, machine, argc, argv) != 0) rc = 1;
            else
                printf("\nattnrun --calibrate: %d GEMM shapes, %d kernels, %d collectives in %.1f s; wrote %s\n", c->n_gemm,
                       CAL_KERNELS, c->n_coll, measure_now() - t0, o.out);
        }
        rc = agree_code(c, rc);
    }
    if (have_t) topology_free(&t);
    if (c->comm) c->comm->destroy(c->comm);
    c->be->destroy(c->be);
    free(c);
    return rc;
}
