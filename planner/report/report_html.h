/* report_html.h: `attnplan report` as a library: everything the HTML page shows, gathered by
 * cmd_report.c (plan file, ranked alternatives, measured reports), and the writer that turns
 * it into one self-contained HTML file (inline CSS and SVG; no script, font or anything else
 * fetched). report_html.c writes the page and its summary; report_charts.c builds the charts. */
#ifndef ATTN_REPORT_HTML_H
#define ATTN_REPORT_HTML_H
#include <stddef.h>
#include "diag.h"
#include "metrics.h"
#include "plan.h"
#include "report_io.h"
#include "svg.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef enum { REPORT_ALT_OK = 0, REPORT_ALT_NOFIT = 1, REPORT_ALT_INVALID = 2 } report_alt_status;

/* One ranked strategy (from the cost model or an alternatives file). */
typedef struct report_alternative {
    char strategy[96];              /* "dp=1,pp=2,n=8,m=1" (strategy_format) */
    attn_strategy parsed;           /* the same, parsed (for matching the plan) */
    report_alt_status status;
    double metric[MET_COUNT];       /* OK and NOFIT */
    double shortfall_bytes;         /* NOFIT */
    char reason[192];
} report_alternative;

typedef struct report_measured {
    const char *path;               /* as given on the command line */
    attn_report report;
    int plan_matches;               /* 1: its plan sha256 is this plan file's; 0: differs; -1: unknown */
} report_measured;

/* One point of the serving front (search/pareto.c, converted by the command): a strategy at a batch. */
typedef struct report_front_point {
    double user, gpu;               /* tokens/s per user, output tokens/s per GPU */
    long batch;
    char strategy[96];
} report_front_point;

typedef struct report_input {
    const attn_plan *plan;          /* has_predicted must be set */
    const char *plan_path;
    attn_metric rank_key;           /* MET_PREFILL_TOKENS_PER_S, MET_TPOT_S or MET_OUTPUT_TOKENS_PER_S_PER_GPU (the plan's objective) */
    int n_alt;
    const report_alternative *alt;  /* ranked best first (fitting, then not fitting, then invalid) */
    char alt_source[512];           /* a sentence: where the alternatives came from, shown under the
                                       chart, or (alt_missing) why there are none */
    int alt_missing;                /* 1: no alternatives could be had (no topology) */
    int n_front;                    /* the serving front over strategies and batches (0: none drawn) */
    const report_front_point *front;/* fastest per user first */
    int front_priced;               /* the points it was drawn from */
    int top;                        /* fitting alternatives drawn (the plan's row is added if lower) */
    int n_measured;
    const report_measured *measured;
} report_input;

/* Writes the page to path atomically (temporary file + rename; "-" writes stdout).
 * Returns 0, or -1 after reporting through d. */
int report_html_write(const char *path, const report_input *in, attn_diag *d);
/* The page into b (what report_html_write writes). 0 ok, -1 on allocation failure. */
int report_html_render(svg_buf *b, const report_input *in);

/* Charts (report_charts.c). Each appends one or more <svg> elements with stable ids:
 *   chart-ranked-prefill, chart-ranked-tpot, chart-ops-prefill, chart-ops-decode,
 *   chart-memory, chart-measured-metrics-K, chart-measured-prefill-K, chart-measured-decode-K
 *   (K: the measured file's index, from 1). Each is wrapped in a <figure> with a caption. */
int report_chart_ranked(svg_buf *b, const report_input *in);
int report_chart_ops(svg_buf *b, const attn_plan *p, attn_phase phase);
int report_chart_memory(svg_buf *b, const attn_plan *p);
/* The serving front with the plan marked (in->n_front > 0); 0 ok, -1 buffer failure. */
int report_chart_front(svg_buf *b, const report_input *in);
int report_chart_measured(svg_buf *b, const attn_plan *p, const report_measured *m, int index);

/* Helpers shared by the page and the charts. */
/* Index of the alternative with the plan's structure (dp, pp, n, m, scheme), or -1. */
int report_find_plan_alt(const report_input *in);
/* The ranking the page shows: the fitting strategies best first with the plan placed by its
 * own predicted figures (a balanced plan can beat its even split; the even split among the
 * alternatives is dropped when its figures are the plan's), then the plan when it does not
 * fit, then the alternatives that do not fit. Invalid ones are left out. */
typedef struct report_ranked {
    const report_alternative *alt;  /* NULL: the plan itself */
    int rank;                       /* 1-based among the fitting; 0 for those that do not fit */
} report_ranked;
/* *out is malloc'd; returns the count (the plan is always one entry, at *plan_pos), or -1. */
int report_ranking(const report_input *in, report_ranked **out, int *plan_pos);
/* The alternative with the plan's structure when its figures differ from the plan's (it is
 * then drawn as "(even split)"), else NULL. */
const report_alternative *report_even_twin(const report_input *in);
/* Sum over the ops of one class (-1: all) of a rank's phase times (unmeasured ops skipped). */
double report_rank_time(const attn_rank_report *r, attn_phase phase, int opclass);
/* The rank with the largest total time in a phase (-1 when there are no ranks). */
int report_critical_rank(const attn_report *r, attn_phase phase);
/* A metric's value in its unit, for people ("1.52 M tokens/s", "350 µs", "42.1 GB", "23.1%"). */
void report_fmt_metric(int metric, double v, char *out, size_t n);
/* The colour of an op in every chart (shades of blue: compute, green: memory-bound, orange: comm). */
const char *report_op_color(attn_op op);
/* strategy_format without ",mb=K" when there is no pipeline (pp = 1). */
void report_strategy_label(const attn_strategy *s, char *out, size_t n);
/* Short display names of the metrics ("prefill throughput", "TPOT", ...). */
extern const char *const report_metric_names[MET_COUNT];
/* Relative error of a prediction as `attnplan compare` computes it, (pred - meas) / meas
 * (positive: the prediction is high); NAN when undefined. */
double report_rel_error(double predicted, double measured);
/* "predicted 9.1% low" / "predicted 4.2% high" / "error n/a". */
void report_fmt_error(double predicted, double measured, char *out, size_t n);

#ifdef __cplusplus
}
#endif
#endif
