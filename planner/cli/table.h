/* table.h: the ranked strategy table `attnplan plan` prints (fitting plans with their
 * metrics, then the ones that do not fit with the shortfall, then the invalid ones with
 * the reason). */
#ifndef ATTN_TABLE_H
#define ATTN_TABLE_H
#include <stdio.h>
#include "enumerate.h"

/* Prints c[0..n) (already ranked). top > 0 limits the fitting rows shown; the rows that
 * do not fit and the invalid ones are always listed. */
void table_print_candidates(FILE *f, const plan_candidate *c, int n, int top);

#endif
