/* backend_cpu_attn.h: the CPU backend's fused attention and its merge (backend.h
 * attention_fused / attention_merge; kernels_cpu.h attention_forward_cpu and
 * attention_merge_forward_cpu are their references). Flash attention on OpenBLAS: query
 * tiles x key tiles from the shared rule (attn_tiling.h attn_fused_plan, ATTN_FUSED_CPU),
 * one sgemm per tile for the scores and one for P.V, an online softmax, so the Tq x Tk
 * matrix never exists (docs/attention.md). */
#ifndef ATTN_BACKEND_CPU_ATTN_H
#define ATTN_BACKEND_CPU_ATTN_H
#include <stddef.h>
#include "backend.h"
#ifdef __cplusplus
extern "C" {
#endif

/* Scratch of the fused op (packed query rows, one score tile, the output accumulator and
 * the per-row running max and sum), grown on demand and kept between calls. The caller
 * owns the struct: zero it (or backend_cpu_attn_init) first, backend_cpu_attn_free after. */
typedef struct backend_cpu_attn_ws {
    float *buf;
    size_t floats;
} backend_cpu_attn_ws;

void backend_cpu_attn_init(backend_cpu_attn_ws *ws);
void backend_cpu_attn_free(backend_cpu_attn_ws *ws);
/* backend.h attention_fused on fp32 host memory. Out of memory for the scratch (a few
 * hundred KiB) or a head width over ATTN_FUSED_MAX_DIM is fatal (ATTN_FATAL): the op
 * returns nothing. */
void backend_cpu_attn_fused(backend_cpu_attn_ws *ws, const attn_fused_args *a);
/* backend.h attention_merge on fp32 host memory */
void backend_cpu_attn_merge(const attn_merge_args *a);

#ifdef __cplusplus
}
#endif
#endif
