/* plan_print.h: the report of `attnplan plan`'s default branch on stdout (and what went
 * wrong on stderr), from a planner_result (search/planner.h). */
#ifndef ATTN_PLAN_PRINT_H
#define ATTN_PLAN_PRINT_H
#include "planner.h"
#ifdef __cplusplus
extern "C" {
#endif

/* Prints the header, then the choice, alternatives, baseline, reasons and rejections, or
 * why nothing was chosen. secs: how long planner_run took. Returns the exit code
 * (ATTN_EXIT_*): OK when r holds a choice. Writes no file. */
int plan_print_result(const attn_model *m, const attn_topology *t, const planner_options *o, const planner_result *r,
                      double secs);

#ifdef __cplusplus
}
#endif
#endif
