/* attnrun.h: what attnrun's main (attnrun.c) hands the run (attnrun_run.c): the options
 * and the run's state. Dependencies point one way: attnrun.c calls attnrun_run.c, never
 * the reverse; the run returns its exit code and main ends the process (attnrun_exit). */
#ifndef ATTN_ATTNRUN_H
#define ATTN_ATTNRUN_H
#include <stdint.h>
#include "backend.h"
#include "comm.h"
#include "forward.h"
#include "plan.h"
#include "run_select.h"
#include "tensors.h"

/* --check's bound on the relative error, by the backend's storage type: fp32 (the CPU
 * backend) must match the float64 reference to 1e-4; fp16/bf16 storage rounds every stored
 * activation and weight (unit roundoff 2^-11 and 2^-8), so its bound is set a few roundoffs
 * above what the CUDA backend's tests accept against the CPU backend (docs/gpu-results.md). */
#define CHECK_TOLERANCE 1e-4
static inline double check_tolerance(attn_dtype storage) {
    return storage == DTYPE_FP16 ? 2e-2 : storage == DTYPE_BF16 ? 6e-2 : CHECK_TOLERANCE;
}

typedef struct attnrun_options {
    const char *plan, *weights, *input, *dump, *out, *model;
    run_backend_kind backend; /* --backend */
    int check, repeat, warmup, threads, rank_share, query_chunk;
    int stats; /* --stats: print the attention's GEMM calls per phase */
    forward_attention attention; /* --attention fused|unfused */
    int no_decode_graph; /* --decode-graph off: decode steps launch every op (forward.h fw_graph) */
    uint64_t seed;
    double score_workspace; /* --score-workspace BYTES; 0: the default (attn_tiling.h) */
} attnrun_options;

typedef struct run_state {
    attnrun_options opt;
    int use_mpi, rank, world;
    attn_plan plan;
    int plan_loaded;
    char plan_sha[65];
    attn_backend *be;
    attn_comm *comm;
    tensor_source *weights, *inputs;
    attn_forward *fw;
} run_state;

/* attnrun_run.c: inputs, timed runs, --check, --dump, -o. Returns the exit code, the
 * same on every rank (agreed). Leaves st's objects for main to free. */
int run_plan(run_state *st);
#endif
