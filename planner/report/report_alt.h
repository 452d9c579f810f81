/* report_alt.h: where `attnplan report` gets its ranked alternatives: the cost model
 * (every strategy for the plan's devices, priced on its topology) or an alternatives file. */
#ifndef ATTN_REPORT_ALT_H
#define ATTN_REPORT_ALT_H
#include <stddef.h>
#include "enumerate.h"
#include "report_html.h"
#ifdef __cplusplus
extern "C" {
#endif

/* Converts priced candidates (already ranked) into *out (malloc'd). Returns n or -1. */
int report_alt_from_candidates(const plan_candidate *c, int n, report_alternative **out);
/* Enumerates and prices every strategy for t's devices with the cost model, ranked by key.
 * Returns the count (*out malloc'd) or -1 with the reason in err. */
int report_alt_price(const attn_model *m, const attn_topology *t, attn_metric key, report_alternative **out,
                     char *err, size_t errlen);
/* Loads an alternatives file (docs/report.md), ranked by key. Returns the count (*out
 * malloc'd) or -1 after reporting FILE:LINE:COL errors through d. */
int report_alt_load(const char *path, attn_metric key, report_alternative **out, attn_diag *d);
/* Best first: fitting by key, then not fitting by shortfall, then invalid. */
void report_alt_sort(report_alternative *a, int n, attn_metric key);

#ifdef __cplusplus
}
#endif
#endif
