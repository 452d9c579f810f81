/* forward_graph.c: decode steps as backend graphs (docs/cuda-graphs.md). The first decode
 * step is recorded (backend graph_begin/graph_end) while its host code runs as usual, then
 * launched; every later step writes its position into the backend's step slots and is one
 * graph_launch. A recording fixes every launch's shape and argument, so a recorded step
 * must be the same launches at every position: the rule is
 *  - the step's position-dependent ops read the position from the step slots (RoPE, the
 *    KV-cache append, the causal softmax's mask: the *_step ops of backend.h);
 *  - the attention spans a fixed key count, the whole cache (TMAX keys) with the keys past
 *    the position masked to probability 0 by the softmax, rather than the position + 1
 *    keys of an eager step: the score and P.V GEMMs' shapes then stay fixed. The padded
 *    keys are cache rows not yet written, zero-filled at creation or holding finite K/V of
 *    an earlier run, so 0 * V adds exact zeros and the result equals the eager step's
 *    (bitwise under tests/gpu/emu, within rounding of cuBLAS's choice of kernel on a GPU);
 *    the cost is the attention over TMAX keys instead of position + 1;
 *  - the fused attention (backend attention_fused, forward.h forward_is_attention_fused)
 *    is recorded through its step-slot variant attention_fused_step: the query position
 *    from the slots, Tk the whole cache (TMAX), so its tiles and flash-decoding's key
 *    ranges (attn_fused_plan over TMAX keys) are fixed at the recording; the causal mask
 *    hides the rows past the position, the kernels skip the key tiles past it when they
 *    run (the work follows the context, not TMAX), and key ranges wholly past it give
 *    lse = -inf partials that merge to nothing. Its FLOPs grow with the position, so a
 *    replay adds the recording's count corrected by the keys gained since (fw_graph.pos).
 *    A backend with attention_fused but no attention_fused_step decodes eagerly;
 *  - collectives (NCCL) are recorded with the step: NCCL 2.9 and later capture
 *    collectives, point to point and groups ("Using NCCL with CUDA Graphs", NCCL user
 *    guide). Every rank records, or none does: a failed recording anywhere makes every
 *    rank decode eagerly (host_max_int), as NCCL needs a captured operation to be captured
 *    on all the ranks taking part. */
#include <stdio.h>
#include <string.h>
#include "forward_private.h"

static int graph_hooks(const attn_backend *be) {
    return be->set_step && be->rope_step && be->softmax_causal_step && be->cache_write_step && be->graph_begin &&
           be->graph_end && be->graph_launch && be->graph_reset;
}

static void graph_decide(attn_forward *fw) {
    fw_graph *g = &fw->graph;
    g->decided = 1;
    g->usable = 0;
    if (!g->wanted) snprintf(g->why, sizeof g->why, "--decode-graph off");
    else if (!graph_hooks(fw->be)) snprintf(g->why, sizeof g->why, "the %s backend has no graphs", fw->be->name);
    else if (fw->S > 1) /* the slice's context length and the owner of the step's KV row change every step */
        snprintf(g->why, sizeof g->why, "the sequence axis (s=%d) decodes eagerly", fw->S);
    else if (fw->attention_fused && !fw->be->attention_fused_step)
        snprintf(g->why, sizeof g->why, "the %s backend's fused attention has no step-slot variant (--attention unfused records)",
                 fw->be->name);
    else g->usable = 1;
}

int fw_graph_step(attn_forward *fw, int pos, fw_graph_body body, void *arg) {
    fw_graph *g = &fw->graph;
    attn_backend *be = fw->be;
    if (!g->decided) graph_decide(fw);
    if (!g->usable) return 0;
    if (pos < 0 || pos >= fw->TMAX) /* the *_step kernels trust the slots: the cache has TMAX rows */
        ATTN_FATAL(ATTN_EXIT_FAIL, "decode position %d outside the cache's %d rows", pos, fw->TMAX);
    int slots[1] = {pos};
    if (be->set_step(be->ctx, slots, 1) != 0) {
        fprintf(stderr, "%s:%d: error: rank %d: writing the decode step slots failed\n", __FILE__, __LINE__, fw->rank);
        fw->comm->abort(fw->comm, 1);
    }
    int ph = PHASE_DECODE;
    if (!g->captured) {
        /* the recording makes the step's host calls once: its counters are kept for replays */
        double f0[OP_COUNT], b0[OP_COUNT], c0[OP_COUNT];
        memcpy(f0, fw->flops[ph], sizeof f0);
        memcpy(b0, fw->comm_bytes[ph], sizeof b0);
        memcpy(c0, fw->gemm_calls[ph], sizeof c0);
        int counting = fw->counting, failed = 0;
        fw->counting = 1;
        g->pos = pos;
        g->attn_flops_per_pos = 0;
        if (be->graph_begin(be->ctx) != 0) failed = 1;
        else {
            fw->step_graph = 1;
            body(fw, arg);
            fw->step_graph = 0;
            if (be->graph_end(be->ctx, &g->nodes) != 0) failed = 1;
        }
        for (int op = 0; op < OP_COUNT; op++) {
            g->flops[op] = fw->flops[ph][op] - f0[op];
            g->comm_bytes[op] = fw->comm_bytes[ph][op] - b0[op];
            g->gemm_calls[op] = fw->gemm_calls[ph][op] - c0[op];
        }
        if (!counting) { /* as if nothing had been counted */
            memcpy(fw->flops[ph], f0, sizeof f0);
            memcpy(fw->comm_bytes[ph], b0, sizeof b0);
            memcpy(fw->gemm_calls[ph], c0, sizeof c0);
        }
        fw->counting = counting;
        if (fw->comm->host_max_int(fw->comm, failed)) {
            be->graph_reset(be->ctx);
            if (counting) { /* the caller runs the step eagerly and counts it */
                memcpy(fw->flops[ph], f0, sizeof f0);
                memcpy(fw->comm_bytes[ph], b0, sizeof b0);
                memcpy(fw->gemm_calls[ph], c0, sizeof c0);
            }
            g->usable = 0;
            snprintf(g->why, sizeof g->why, "recording the step failed on %s rank", failed ? "this" : "another");
            return 0;
        }
        g->captured = 1;
    } else if (fw->counting) {
        for (int op = 0; op < OP_COUNT; op++) {
            fw->flops[ph][op] += g->flops[op];
            fw->comm_bytes[ph][op] += g->comm_bytes[op];
            fw->gemm_calls[ph][op] += g->gemm_calls[op];
        }
        fw->flops[ph][OP_ATTENTION] += g->attn_flops_per_pos * (pos - g->pos);
    }
    if (be->graph_launch(be->ctx) != 0) {
        fprintf(stderr, "%s:%d: error: rank %d: the decode step's graph launch failed\n", __FILE__, __LINE__, fw->rank);
        fw->comm->abort(fw->comm, 1);
    }
    g->launches++;
    return 1;
}

void fw_graph_release(attn_forward *fw) {
    if (fw->graph.captured && fw->be->graph_reset) fw->be->graph_reset(fw->be->ctx);
    fw->graph.captured = 0;
}

int forward_decode_graphed(const attn_forward *fw) { return fw->graph.usable && fw->graph.captured; }

void forward_graph_describe(const attn_forward *fw, char *buf, size_t len) {
    const fw_graph *g = &fw->graph;
    if (forward_decode_graphed(fw) && fw->attention_fused)
        snprintf(buf, len, "1 graph launch of %zu recorded nodes (kernels, copies, collectives), fused attention over "
                 "the %d-row cache, key tiles past the position skipped; %lld launches", g->nodes, fw->TMAX, g->launches);
    else if (forward_decode_graphed(fw))
        snprintf(buf, len, "1 graph launch of %zu recorded nodes (kernels, copies, collectives), attention over all %d "
                 "cache rows, masked; %lld launches", g->nodes, fw->TMAX, g->launches);
    else
        snprintf(buf, len, "eager, every op launched (%s)", g->decided ? g->why : "no decode step ran");
}
