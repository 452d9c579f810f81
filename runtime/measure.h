/* measure.h: attnrun's timings: one sample per repeated run (prefill and decode wall
 * times, the world's maximum, and this rank's per-op times), then the measured report
 * (medians with min and max, per-rank per-op medians gathered to rank 0, peak memory,
 * comm_fraction) written through lib/report_io.h. */
#ifndef ATTN_MEASURE_H
#define ATTN_MEASURE_H
#include "comm.h"
#include "forward.h"
#include "report_io.h"

typedef struct run_sample {
    double ttft_s;                          /* prefill of the whole batch: max over ranks */
    double tpot_s;                          /* the mean decode step over all steps: max over ranks */
    double op_s[PHASE_COUNT][OP_COUNT];     /* this rank: whole prefill; the first decode step */
} run_sample;

double measure_now(void); /* seconds, CLOCK_MONOTONIC */
/* The median of v[0..n) (sorts v); 0 when n <= 0. */
double measure_median(double *v, int n);
/* Builds the report on every rank (rank 0's is complete; the others only carry their
 * own row). rank_share >= 0: only that rank ran, with collectives skipped. 0 ok. */
int measure_build_report(attn_report *r, const attn_forward *fw, attn_comm *comm, const run_sample *runs, int nruns,
                         int rank_share);
/* "host, cpu model, backend, world, threads" for the report's machine field */
void measure_machine(char *buf, size_t len, const char *backend, int world, int threads);
#endif
