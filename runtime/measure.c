/* measure.c: from per-run samples to the measured report. Each metric is the median over
 * the repeated runs with their min and max; each op's time is this rank's median over
 * runs. Not-measured values are negative (no decode tokens: decode metrics; rank-share:
 * everything that involves other ranks). */
#include "measure.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double measure_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double measure_median(double *v, int n) {
    if (n <= 0) return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* median, min, max of v[0..n) (sorts v) */
static void stats(double *v, int n, double *med, double *lo, double *hi) {
    *med = measure_median(v, n);
    *lo = v[0];
    *hi = v[n - 1];
}

static void set_metric(attn_report *r, int k, double med, double lo, double hi) {
    r->metric[k] = med;
    r->metric_min[k] = lo;
    r->metric_max[k] = hi;
}

enum { ROW_OPS = PHASE_COUNT * OP_COUNT * 3, ROW_LEN = ROW_OPS + 5 };

int measure_build_report(attn_report *r, const attn_forward *fw, attn_comm *comm, const run_sample *runs, int nruns,
                         int rank_share) {
    const attn_plan *p = fw->plan;
    int world = p->world, decode = fw->TDEC > 0;
    if (report_init(r, world) != 0) return -1;
    double *v = malloc((size_t)(nruns ? nruns : 1) * 3 * sizeof *v);
    double *row = malloc(ROW_LEN * sizeof *row);
    double *all = malloc((size_t)world * ROW_LEN * sizeof *all);
    if (!v || !row || !all) {
        free(v);
        free(row);
        free(all);
        return -1;
    }
    /* this rank's row: per op (median time, flops, bytes), then memory */
    for (int ph = 0; ph < PHASE_COUNT; ph++)
        for (int op = 0; op < OP_COUNT; op++) {
            double med, lo, hi;
            for (int i = 0; i < nruns; i++) v[i] = runs[i].op_s[ph][op];
            stats(v, nruns, &med, &lo, &hi);
            int unused = ph == PHASE_DECODE && !decode;
            double *o = row + (ph * OP_COUNT + op) * 3; /* counters: decode counts only step 0 */
            o[0] = unused ? -1.0 : med;
            o[1] = fw->flops[ph][op] / (nruns ? nruns : 1);
            o[2] = fw->comm_bytes[ph][op] / (nruns ? nruns : 1);
        }
    size_t in_use, peak;
    fw->be->mem_stats(fw->be->ctx, &in_use, &peak);
    row[ROW_OPS + 0] = (double)fw->bytes_weights;
    row[ROW_OPS + 1] = (double)fw->bytes_kv_cache;
    row[ROW_OPS + 2] = (double)fw->bytes_activations;
    row[ROW_OPS + 3] = (double)fw->bytes_comm;
    row[ROW_OPS + 4] = (double)peak;
    if (rank_share >= 0) {
        for (int i = 0; i < world * ROW_LEN; i++) all[i] = -1.0;
        memcpy(all + (size_t)rank_share * ROW_LEN, row, ROW_LEN * sizeof *row);
    } else {
        comm->host_gather_double(comm, row, ROW_LEN, all);
    }
    /* comm_fraction: on the rank whose prefill is longest, comm time / total time over
     * the prefill plus one decode step (docs/metrics.md) */
    double peak_all = 0.0, crit_prefill = -1.0, crit_total = 0.0, crit_comm = 0.0;
    for (int rk = 0; rk < world && (comm->rank == 0 || rank_share >= 0); rk++) {
        const double *a = all + (size_t)rk * ROW_LEN;
        attn_rank_report *rr = &r->ranks[rk];
        if (a[ROW_OPS + 4] < 0) continue; /* rank-share: not this rank */
        double total = 0.0, comm_s = 0.0, prefill = 0.0;
        for (int ph = 0; ph < PHASE_COUNT; ph++)
            for (int op = 0; op < OP_COUNT; op++) {
                const double *o = a + (ph * OP_COUNT + op) * 3;
                int collective = attn_op_table[op].cls == OPCLASS_COMM;
                rr->op[ph][op].time_s = rank_share >= 0 && collective ? -1.0 : o[0];
                rr->op[ph][op].flops = o[1];
                rr->op[ph][op].bytes = o[2];
                if (o[0] > 0) {
                    total += o[0];
                    if (ph == PHASE_PREFILL) prefill += o[0];
                    if (collective) comm_s += o[0];
                }
            }
        rr->weights_bytes = a[ROW_OPS + 0];
        rr->kv_cache_bytes = a[ROW_OPS + 1];
        rr->activation_bytes = a[ROW_OPS + 2];
        rr->comm_buffer_bytes = a[ROW_OPS + 3];
        rr->memory_bytes = a[ROW_OPS + 4];
        if (rr->memory_bytes > peak_all) peak_all = rr->memory_bytes;
        if (prefill > crit_prefill) {
            crit_prefill = prefill;
            crit_total = total;
            crit_comm = comm_s;
        }
    }
    for (int k = 0; k < MET_COUNT; k++) set_metric(r, k, -1.0, -1.0, -1.0);
    set_metric(r, MET_PEAK_MEMORY_BYTES, peak_all, peak_all, peak_all);
    if (rank_share < 0) {
        double med, lo, hi;
        const attn_model *m = &p->model;
        double tokens = (double)m->workload.batch * m->workload.seq_len;
        for (int i = 0; i < nruns; i++) v[i] = runs[i].ttft_s;
        stats(v, nruns, &med, &lo, &hi);
        set_metric(r, MET_TTFT_S, med, lo, hi);
        set_metric(r, MET_PREFILL_TOKENS_PER_S, tokens / med, tokens / hi, tokens / lo);
        if (decode) {
            for (int i = 0; i < nruns; i++) v[i] = runs[i].tpot_s;
            stats(v, nruns, &med, &lo, &hi);
            set_metric(r, MET_TPOT_S, med, lo, hi);
            double b = m->workload.batch;
            set_metric(r, MET_DECODE_TOKENS_PER_S, b / med, b / hi, b / lo);
        }
        double frac = crit_total > 0 ? crit_comm / crit_total : 0.0;
        set_metric(r, MET_COMM_FRACTION, frac, frac, frac);
        /* the serving metrics from the measured ttft and tpot, as the planner's */
        metrics_fill_serving(r->metric, m->workload.batch, m->workload.decode_tokens, world);
        metrics_fill_serving_spread(r->metric_min, r->metric_max, m->workload.batch, m->workload.decode_tokens, world);
        snprintf(r->note, sizeof r->note, "attnrun: median of %d timed runs after warm-up; op times are per-rank medians", nruns);
    } else {
        snprintf(r->note, sizeof r->note,
                 "rank-share %d: only this rank ran, collectives skipped (not measured); whole-plan metrics not measured",
                 rank_share);
    }
    free(v);
    free(row);
    free(all);
    return 0;
}

void measure_machine(char *buf, size_t len, const char *backend, int world, int threads) {
    char host[256] = "unknown", cpu[256] = "unknown cpu";
    if (gethostname(host, sizeof host) != 0) snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "model name", 10) == 0) {
                char *c = strchr(line, ':');
                if (c) {
                    snprintf(cpu, sizeof cpu, "%s", c + 2);
                    cpu[strcspn(cpu, "\n")] = '\0';
                }
                break;
            }
        fclose(f);
    }
    snprintf(buf, len, "%s; %s; backend %s; %d ranks; %d BLAS threads per rank", host, cpu, backend, world, threads);
}
