/* split.h: splitting `total` items into `parts` as evenly as possible, the remainder one
 * each to the first parts: part i holds base + (i < extra ? 1 : 0) items, with
 * base = total / parts and extra = total % parts. The one rule for every even share: a
 * plan's batch rows, layers, heads, dimensions and MLP columns (lib/plan_build.c), the
 * pipeline's microbatch rows (runtime/forward.c and the cost model, planner/cost_rank.c)
 * and the score blocks (lib/attn_tiling.c). parts < 1 is taken as 1, total < 0 as 0. */
#ifndef ATTN_SPLIT_H
#define ATTN_SPLIT_H
#ifdef __cplusplus
extern "C" {
#endif

/* The sizes of the split: the first *extra parts hold *base + 1 items, the rest *base. */
void split_sizes(int total, int parts, int *base, int *extra);
/* Part i: its first item and its number of items. */
void split_part(int total, int parts, int i, int *begin, int *count);
/* Part i as the index range [*begin, *end). */
void split_range(int total, int parts, int i, int *begin, int *end);
/* Part i's number of items. */
int split_count(int total, int parts, int i);

#ifdef __cplusplus
}
#endif
#endif
