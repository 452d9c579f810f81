/* plan_disagg.h: `attnplan plan --disaggregate` (plan_disagg.c): the prefill and decode
 * pools, their strategies, the KV transfer and the split that serves the most requests. */
#ifndef ATTN_PLAN_DISAGG_H
#define ATTN_PLAN_DISAGG_H
#include "cli_input.h"
#include "cost.h"
#include "planner.h"

/* Prints every split and the chosen one; an ATTN_EXIT_* code (1: no split fits, or the
 * workload's rate exceeds what the best split serves). */
int plan_disaggregate(const cli_input *in, const cost_options *co, const planner_options *po);

#endif
