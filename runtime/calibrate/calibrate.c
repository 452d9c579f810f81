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
#include <unistd.h>
#ifdef ATTN_HAVE_MPI
#include <mpi.h>
#endif
#include "args.h"
#include "attn_tiling.h"
#include "calibrate.h"
#include "measure.h"
#include "plan.h"
#include "run_select.h"

#define CAL_MAX_MODELS 16

typedef struct cal_options {
    const char *out, *topology, *name;
    run_backend_kind backend;
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

/* 0 ok, 1 --help, 2 bad usage (message printed unless quiet) */
static int parse_options(int argc, char **argv, cal_options *o, int quiet) {
    *o = (cal_options){.out = "calibration.yaml", .backend = RUN_BACKEND_AUTO, .threads = 1, .samples = 7, .passes = 7};
    attn_args a;
    attn_args_init(&a, "attnrun", argc, argv, 1);
    a.quiet = quiet;
    while (attn_args_peek(&a)) {
        int rc = 0, kind;
        const char *v;
        if (attn_args_is(&a, "--calibrate")) attn_args_next(&a);
        else if (attn_args_is(&a, "--quick")) o->quick = 1, attn_args_next(&a);
        else if (attn_args_is(&a, "--help") || attn_args_is(&a, "-h")) return 1;
        else if (!attn_args_is_option(&a)) rc = attn_args_fail(&a, "--calibrate takes no plan (got '%s')", attn_args_peek(&a));
        else if (attn_args_is(&a, "-o") || attn_args_is(&a, "--output")) rc = (o->out = attn_args_value(&a)) ? 0 : -1;
        else if (attn_args_is(&a, "--topology")) rc = (o->topology = attn_args_value(&a)) ? 0 : -1;
        else if (attn_args_is(&a, "--name")) rc = (o->name = attn_args_value(&a)) ? 0 : -1;
        else if (attn_args_is(&a, "--backend")) {
            rc = attn_args_choice(&a, run_backend_names, RUN_BACKEND_COUNT, &kind);
            if (rc == 0) o->backend = (run_backend_kind)kind;
        } else if (attn_args_is(&a, "--model")) {
            if (o->n_models == CAL_MAX_MODELS) rc = attn_args_fail(&a, "at most %d --model files", CAL_MAX_MODELS);
            else if ((v = attn_args_value(&a)) != NULL) o->models[o->n_models++] = v;
            else rc = -1;
        } else if (attn_args_is(&a, "--peak")) {
            if (!(v = attn_args_value(&a))) rc = -1;
            else if (attn_parse_real(v, 0, 1e20, &o->peak) != 0 || !(o->peak > 0))
                rc = attn_args_fail(&a, "--peak: bad value '%s' (FLOP/s above 0, at most 1e20)", v);
        } else if (attn_args_is(&a, "--threads")) rc = attn_args_int(&a, 1, 4096, &o->threads);
        else if (attn_args_is(&a, "--samples")) rc = attn_args_int(&a, 1, 15, &o->samples);
        else if (attn_args_is(&a, "--passes")) rc = attn_args_int(&a, 1, CAL_MAX_PASSES, &o->passes);
        else if (attn_args_is(&a, "--world-max")) rc = attn_args_int(&a, 1, 4096, &o->world_max);
        else rc = attn_args_reject(&a);
        if (rc != 0) return 2;
    }
    if (!o->topology && !(o->peak > 0))
        return attn_args_fail(&a, "--calibrate needs --topology FILE or --peak FLOPS (the efficiencies' denominator)"), 2;
    return 0;
}

/* ---- shapes ---- */

static double shape_working_set; /* bytes: set per strategy by cal_add_model_shapes */

static void add_shape_ld(cal_ctx *c, double m, double n, double k, calibration_gemm_kind kind, int ldb, int reuse) {
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

static void add_shape(cal_ctx *c, double m, double n, double k, calibration_gemm_kind kind) {
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

/* A fused attention shape, once. */
static void add_attention(cal_ctx *c, int tq, int tk, int d_qk, int d_v, int seqs, int heads, int qpk) {
    if (tq < 1 || tk < 1 || d_qk < 1 || d_v < 1 || seqs < 1 || heads < 1) return;
    for (int i = 0; i < c->n_attention; i++) {
        const cal_attention *a = &c->attention[i];
        if (a->tq == tq && a->tk == tk && a->d_qk == d_qk && a->d_v == d_v && a->seqs == seqs && a->heads == heads &&
            a->qpk == qpk)
            return;
    }
    if (c->n_attention == CAL_MAX_ATTENTION) return; /* the cost model interpolates between the rest */
    c->attention[c->n_attention++] = (cal_attention){tq, tk, d_qk, d_v, seqs, heads, qpk, 0, shape_working_set};
}

/* The fullest rank's share of an even split (lib/split.h: the first parts hold the remainder). */
static int largest_part(int total, int parts) { return split_count(total, parts, 0); }

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
                        int qh = largest_part(m->heads, n), kvh = plan_kv_range(qpk, 0, qh, NULL, NULL);
                        int dims = llama ? 2 * largest_part(D / 2, mm) : largest_part(D, mm);
                        int F = largest_part(m->ffn_hidden, n * mm), rows = largest_part(batch, dp);
                        int mb_rows = largest_part(rows, plan_resolve_microbatches(m->workload.microbatches, rows, pp));
                        int qk = dims, v = dims, cache_heads = kvh; /* the KV cache: heads x width rows */
                        int ah = qh; /* query heads in the attention core */
                        if (scheme == SCHEME_QK_ALLGATHER) qk = D;
                        if (scheme == SCHEME_HEAD_ALLTOALL) {
                            ah = largest_part(qh, mm);
                            qk = v = D, cache_heads = plan_kv_range(qpk, 0, ah, NULL, NULL);
                        }
                        int ch = L < 1024 ? L : 1024, chunks = (L + ch - 1) / ch; /* query chunks of ch rows */
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
                                            largest_part(m->layers, pp);
                        for (int ph = 0; ph < 2; ph++) {
                            double T = tokens[ph];
                            add_shape(c, T, (double)qh * dims, H, CALIBRATION_GEMM_PROJ);  /* q, as the runtime runs it */
                            add_shape(c, T, (double)kvh * dims, H, CALIBRATION_GEMM_PROJ); /* k and v */
                            add_shape(c, T, (double)(qh + 2 * kvh) * dims, H, CALIBRATION_GEMM_PROJ); /* q, k, v as one */
                            add_shape(c, T, H, (double)qh * dims, CALIBRATION_GEMM_PROJ);
                            add_shape(c, T, F, H, CALIBRATION_GEMM_PROJ); /* up (and gate) */
                            if (llama) add_shape(c, T, 2.0 * F, H, CALIBRATION_GEMM_PROJ); /* gate and up as one */
                            add_shape(c, T, H, F, CALIBRATION_GEMM_PROJ);
                        }
                        /* the fused op's calls as cost_rank.c shapes them: the microbatch's
                         * causal prefill (L x L) and a decode step's row against L + 1 keys,
                         * over the rank's rows x attention heads; score-allreduce does not fuse */
                        if (scheme != SCHEME_SCORE_ALLREDUCE) {
                            add_attention(c, L, L, qk, v, mb_rows, ah, qpk);
                            add_attention(c, 1, L + 1, qk, v, rows, ah, qpk);
                            /* the sequence axis's prefill calls, at the points cost_rank.c
                             * looks them up at: slice 0's chunk rows against two chunks
                             * (cp=ring: chunk x chunk blocks) and against the mean of its
                             * chunks' key extents (cp=allgather) */
                            for (int s = 2; dp * pp * s * n * mm <= world_max && 2 * s <= L; s++) {
                                int b0, e0, b1, e1;
                                plan_seq_chunk_range(L, s, 0, &b0, &e0, &b1, &e1);
                                add_attention(c, e0 - b0, 2 * (e0 - b0), qk, v, mb_rows, ah, qpk);
                                add_attention(c, e0 - b0, (e0 + e1) / 2, qk, v, mb_rows, ah, qpk);
                            }
                        }
                        if (m->vocab_size > 0) { /* the LM head (forward_ends.c): one position per sequence, */
                            int Vp = largest_part(m->vocab_size, n * mm); /* its vocabulary shard */
                            add_shape(c, mb_rows, Vp, H, CALIBRATION_GEMM_PROJ);
                            add_shape(c, rows, Vp, H, CALIBRATION_GEMM_PROJ);
                        }
                        int r_pre = attn_reuse(c, mb_rows, ah, ch, L, qpk);
                        int r_dec = attn_reuse(c, rows, ah, 1, L + m->workload.decode_tokens, qpk);
                        add_shape_ld(c, ch, keys / chunks, qk, CALIBRATION_GEMM_SCORES, cache_heads * qk, r_pre);
                        add_shape_ld(c, ch, v, keys / chunks, CALIBRATION_GEMM_PV, cache_heads * v, r_pre);
                        add_shape_ld(c, 1, L + 1, qk, CALIBRATION_GEMM_SCORES, cache_heads * qk, r_dec);
                        add_shape_ld(c, 1, v, L + 1, CALIBRATION_GEMM_PV, cache_heads * v, r_dec);
                    }
}

static void add_generic_shapes(cal_ctx *c) {
    shape_working_set = 0;
    static const int ms[] = {1, 4, 16, 64, 256, 1024}, nk[] = {64, 256, 1024};
    for (size_t i = 0; i < 6; i++)
        for (size_t j = 0; j < 3; j++)
            for (size_t k = 0; k < 3; k++) add_shape(c, ms[i], nk[j], nk[k], CALIBRATION_GEMM_PROJ);
}

/* ---- output ---- */

/* The run's figures as the calibration file holds them (lib/calibration_io.h, which
 * writes it atomically). 0 ok, -1 after a message. */
static int write_file(const cal_ctx *c, const cal_options *o, const char *device_type, attn_link link,
                      const char *machine, int argc, char **argv) {
    const char *name = o->name ? o->name : device_type;
    attn_calibration f;
    calibration_init(&f);
    if (strlen(name) >= sizeof f.name) { /* the loader would refuse it */
        fprintf(stderr, "attnrun: error: --name is longer than %zu bytes\n", sizeof f.name - 1);
        return -1;
    }
    size_t cmd_len = 1;
    for (int i = 0; i < argc; i++) cmd_len += strlen(argv[i]) + 1;
    f.command = malloc(cmd_len);
    f.gemm = calloc(c->n_gemm ? (size_t)c->n_gemm : 1, sizeof *f.gemm);
    f.coll = calloc(c->n_coll ? (size_t)c->n_coll : 1, sizeof *f.coll);
    int rc = f.command && f.gemm && f.coll ? 0 : -1;
    for (int i = 0; i < c->n_coll && !rc; i++) {
        f.coll[i].samples = calloc(c->coll[i].n_sizes ? (size_t)c->coll[i].n_sizes : 1, sizeof *f.coll[i].samples);
        if (!f.coll[i].samples) rc = -1;
        f.n_coll = i + 1; /* freed with f from here on */
    }
    if (rc) {
        fprintf(stderr, "attnrun: error: out of memory\n");
        calibration_free(&f);
        return -1;
    }
    /* Arguments under the working directory are recorded relative to it: the file names
     * the command as run from there, not a path only this machine has. */
    char cwd[4096];
    size_t cwd_len = getcwd(cwd, sizeof cwd) ? strlen(cwd) : 0;
    char *p = f.command;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (cwd_len > 1 && !strncmp(arg, cwd, cwd_len) && arg[cwd_len] == '/') arg += cwd_len + 1;
        p += sprintf(p, "%s%s", i ? " " : "", arg);
    }
    *p = '\0';
    f.samples = c->samples;
    f.passes = o->quick ? 1 : o->passes;
    snprintf(f.name, sizeof f.name, "%s", name);
    snprintf(f.machine, sizeof f.machine, "%s", machine);
    time_t now = time(NULL);
    strftime(f.date, sizeof f.date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    snprintf(f.backend, sizeof f.backend, "%s", c->be->name);
    f.dtype = c->be->dtype;
    snprintf(f.device_type, sizeof f.device_type, "%s", device_type);
    f.ranks = c->world;
    f.threads = o->threads;
    f.peak_flops = c->peak_flops;
    f.launch_overhead_s = c->launch_overhead_s;
    f.elementwise_bandwidth = c->kernel[CALIBRATION_KERNEL_RESIDUAL].bandwidth;
    f.softmax_bandwidth = c->kernel[CALIBRATION_KERNEL_SOFTMAX].bandwidth;
    f.softmax_decode_bandwidth = c->softmax_decode_bandwidth;
    for (int i = 0; i < CALIBRATION_KERNEL_COUNT; i++)
        f.kernel[i] = (calibration_kernel_fit){c->kernel[i].bandwidth, c->kernel[i].fixed_s};
    for (int i = 0; i < c->n_gemm; i++) {
        const cal_gemm *g = &c->gemm[i];
        double t = g->seconds - c->launch_overhead_s;
        if (t < 0.5 * g->seconds) t = 0.5 * g->seconds; /* the fixed cost is priced separately */
        double eff = 2.0 * g->m * g->n * g->k * g->reuse / t / c->peak_flops;
        f.gemm[i] = (calibration_gemm){g->m, g->n, g->k, g->reuse, g->kind, g->seconds, g->flops_per_s, eff};
    }
    f.n_gemm = c->n_gemm;
    f.attention = calloc(c->n_attention ? (size_t)c->n_attention : 1, sizeof *f.attention);
    if (!f.attention) {
        fprintf(stderr, "attnrun: error: out of memory\n");
        calibration_free(&f);
        return -1;
    }
    for (int i = 0; i < c->n_attention; i++) {
        const cal_attention *a = &c->attention[i];
        if (!(a->seconds > 0)) continue; /* not measured: the backend has no fused op */
        attn_fused_tiling tl; /* the FLOPs the cost model counts: the computed tiles' pairs */
        attn_fused_plan(&tl, strcmp(c->be->name, "cpu") ? ATTN_FUSED_GPU : ATTN_FUSED_CPU, a->seqs, a->heads, a->tq,
                        a->tk, a->tk - a->tq, 0, a->d_qk, a->d_v, 0);
        double t = a->seconds - c->launch_overhead_s;
        if (t < 0.5 * a->seconds) t = 0.5 * a->seconds; /* the fixed cost is priced separately */
        double eff = 2.0 * (a->d_qk + a->d_v) * (double)a->seqs * a->heads * tl.pairs / t / c->peak_flops;
        f.attention[f.n_attention++] =
            (calibration_attention){a->tq, a->tk, a->d_qk, a->d_v, a->seqs, a->heads, a->qpk, a->seconds, eff};
    }
    for (int i = 0; i < c->n_coll; i++) {
        const cal_coll *k = &c->coll[i];
        calibration_coll *out = &f.coll[i];
        *out = (calibration_coll){k->coll, link, k->group_size, k->alpha_s, k->bus_bandwidth, k->n_sizes, out->samples};
        for (int j = 0; j < k->n_sizes; j++) out->samples[j] = (calibration_sample){k->bytes[j], k->seconds[j]};
    }
    f.n_sync = c->n_sync;
    for (int i = 0; i < c->n_sync; i++) {
        f.sync_work_s[i] = c->sync_work_s[i];
        f.sync_wait_s[i] = c->sync_wait_s[i];
    }
    attn_diag d;
    attn_diag_init(&d);
    rc = calibration_write(o->out, &f, &d);
    calibration_free(&f);
    return rc;
}

/* ---- the run ---- */

/* Every rank ends with the worst code (no rank may leave a collective half-done). */
static int agree_code(cal_ctx *c, int code) { return c->comm ? c->comm->host_max_int(c->comm, code) : code; }

/* The kernels, GEMMs and fused-attention shapes in `passes` passes over the whole set,
 * each point keeping its median over the passes: on a shared host the machine's speed
 * drifts by 10-20% over seconds, and a point measured in one stretch would catch one
 * moment of it (measured once, after the passes, the attention table of a loaded run had
 * 1 sequence slower than 2 at one shape and 4 heads 12x faster than 8: docs/accuracy.md,
 * "The bias of 2026-12-01"). 0 ok, 1 after a message. */
static int measure_passes(cal_ctx *c, int passes) {
    enum { K_BW, K_FIXED, K_N };
    int nk = CALIBRATION_KERNEL_COUNT * K_N + 2, per = nk + 2 * c->n_gemm + c->n_attention; /* + decode softmax, launch */
    double *v = malloc((size_t)passes * per * sizeof *v), *col = malloc((size_t)passes * sizeof *col);
    int rc = v && col ? 0 : 1;
    if (rc) fprintf(stderr, "attnrun: error: out of memory\n");
    for (int p = 0; p < passes && !rc; p++) {
        rc = agree_code(c, cal_measure_kernels(c) ? 1 : 0);
        if (!rc) rc = agree_code(c, cal_measure_gemms(c) ? 1 : 0);
        if (!rc) rc = agree_code(c, cal_measure_attention(c) ? 1 : 0);
        if (rc) break;
        double *row = v + (size_t)p * per;
        for (int k = 0; k < CALIBRATION_KERNEL_COUNT; k++) {
            row[k * K_N + K_BW] = c->kernel[k].bandwidth;
            row[k * K_N + K_FIXED] = c->kernel[k].fixed_s;
        }
        row[nk - 2] = c->softmax_decode_bandwidth;
        row[nk - 1] = c->launch_overhead_s;
        for (int i = 0; i < c->n_gemm; i++) {
            row[nk + 2 * i] = c->gemm[i].seconds;
            row[nk + 2 * i + 1] = c->gemm[i].flops_per_s;
        }
        for (int i = 0; i < c->n_attention; i++) row[nk + 2 * c->n_gemm + i] = c->attention[i].seconds;
    }
    if (!rc && passes > 1) {
        double med[CALIBRATION_KERNEL_COUNT * K_N + 2];
        for (int j = 0; j < per; j++) {
            for (int p = 0; p < passes; p++) col[p] = v[(size_t)p * per + j];
            double m = measure_median(col, passes);
            if (j < nk) med[j] = m;
            else if (j >= nk + 2 * c->n_gemm) c->attention[j - nk - 2 * c->n_gemm].seconds = m;
            else if ((j - nk) % 2 == 0) c->gemm[(j - nk) / 2].seconds = m;
            else c->gemm[(j - nk) / 2].flops_per_s = m;
        }
        for (int k = 0; k < CALIBRATION_KERNEL_COUNT; k++) {
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
    int rc = parse_options(argc, argv, &o, !loud);
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
    c->be = run_select_backend(o.backend, o.threads, lr ? atoi(lr) : 0, DTYPE_FP16);
    /* A plan of world ranks in one stage (n = world): GROUP_STAGE is the whole world. */
    attn_plan fake;
    memset(&fake, 0, sizeof fake);
    fake.world = world;
    fake.strategy = (attn_strategy){.dp = 1, .pp = 1, .n = world, .m = 1};
    if (use_mpi && c->be) c->comm = run_select_comm(&fake, c->be, use_mpi, -1); /* without MPI: no comm */
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
                       CALIBRATION_KERNEL_COUNT, c->n_coll, measure_now() - t0, o.out);
        }
        rc = agree_code(c, rc);
    }
    if (have_t) topology_free(&t);
    if (c->comm) c->comm->destroy(c->comm);
    c->be->destroy(c->be);
    free(c);
    return rc;
}
