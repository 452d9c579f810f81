/* report_io.h: a predicted or measured report: the metrics and a per-rank, per-phase,
 * per-op breakdown. The same structure is written into plan files (`predicted:`) and
 * measured files (`measured:`). */
#ifndef ATTN_REPORT_IO_H
#define ATTN_REPORT_IO_H
#include <stdio.h>
#include "diag.h"
#include "metrics.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef struct attn_op_cost {
    double time_s;   /* prefill: whole prefill of this rank; decode: one step. <0: not measured */
    double flops;
    double bytes;    /* HBM bytes (compute ops) or bytes sent per device (comm ops) */
} attn_op_cost;

typedef struct attn_rank_report {
    attn_op_cost op[PHASE_COUNT][OP_COUNT];
    double weights_bytes, kv_cache_bytes, activation_bytes, comm_buffer_bytes;
    double memory_bytes;          /* sum of the above (predicted) or peak (measured) */
    double memory_capacity_bytes; /* the device's capacity (0 unknown) */
} attn_rank_report;

typedef struct attn_report {
    double metric[MET_COUNT];
    double metric_min[MET_COUNT];  /* measured: spread over repeats; predicted: = metric */
    double metric_max[MET_COUNT];
    int n_ranks;
    attn_rank_report *ranks;       /* n_ranks entries (malloc'd) */
    int fits;                      /* 1: every device's memory fits */
    double shortfall_bytes;        /* >0 when it does not fit: worst device's excess */
    char note[256];                /* free text: e.g. "rank-share: collectives not measured" */
} attn_report;

/* Lifecycle init/free, as plan_*, topology_* and yt_* in lib/: report_init fills r for
 * n_ranks ranks with defaults (allocating), report_free releases it. 0 ok, -1 on
 * n_ranks < 0 or no memory. */
int report_init(attn_report *r, int n_ranks);
void report_free(attn_report *r);
/* Writes `section:` (e.g. "predicted" or "measured") at the given indent. */
void report_write_yaml(FILE *f, const char *section, const attn_report *r);
/* Reads the section node produced by report_write_yaml (ytree.h). */
struct yt_doc;
struct yt_node;
int report_read_yaml(const struct yt_doc *doc, const struct yt_node *section, attn_report *r, attn_diag *d);
/* Loads a measured report file (top-level `measured:`); 0 ok. */
int report_load_measured(const char *path, attn_report *r, char *plan_sha256, attn_diag *d);
/* Writes a whole measured file atomically: measured_version: 1, plan_sha256 (of the plan
 * file that ran), machine (free text), then the `measured:` section. 0 ok. */
int report_write_measured(const char *path, const attn_report *r, const char *plan_sha256,
                          const char *machine, attn_diag *d);

#ifdef __cplusplus
}
#endif
#endif
