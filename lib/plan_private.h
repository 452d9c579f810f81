/* plan_private.h: helpers shared by plan_build.c, plan_io.c and plan_check.c only
 * (not part of the public contract in plan.h). */
#ifndef ATTN_PLAN_PRIVATE_H
#define ATTN_PLAN_PRIVATE_H
#include <stddef.h>
#include "plan.h"
#include "topology.h"
#include "ytree.h"

/* Bounded string copy that always terminates (truncates silently). */
void plan_copy_str(char *dst, size_t dstlen, const char *src);
/* The groups the ranks' coordinates imply, into fresh storage; -1 when the coordinates
 * are not a permutation of the coordinate space, on out-of-range devices, or no memory. */
int plan_build_groups_into(const attn_plan *p, const attn_topology *t, attn_group **out, int *n_out);

/* Where the parts of a plan were in its file, so checks can say FILE:LINE:COL.
 * Any member may be NULL (then positions are left out). */
typedef struct plan_positions {
    const char *file;
    const yt_node *root;       /* the document's top map */
    const yt_node *ranks;      /* the ranks: sequence */
    const yt_node *groups;     /* the groups: sequence */
    const yt_node *pred_ranks; /* predicted: ranks: sequence */
} plan_positions;
void plan_positions_from_doc(plan_positions *pos, const char *file, const yt_doc *doc);
int plan_check_at(const attn_plan *p, const plan_positions *pos, attn_diag *d);

#endif
