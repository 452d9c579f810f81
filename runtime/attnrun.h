/* attnrun.h: what attnrun's two files share: the options, the run's state, and the
 * ways out (finish: clean up and exit; agree: all ranks agree on failure). */
#ifndef ATTN_ATTNRUN_H
#define ATTN_ATTNRUN_H
#include <stdint.h>
#include "backend.h"
#include "comm.h"
#include "forward.h"
#include "plan.h"
#include "tensors.h"

#define CHECK_TOLERANCE 1e-4

typedef struct options {
    const char *plan, *weights, *input, *dump, *out, *model, *backend;
    int check, repeat, warmup, threads, rank_share, query_chunk;
    uint64_t seed;
    double score_workspace; /* --score-workspace BYTES; 0: the default (attn_tiling.h) */
} options;

typedef struct run_state {
    options opt;
    int use_mpi, rank, world;
    attn_plan plan;
    int plan_loaded;
    char plan_sha[65];
    attn_backend *be;
    attn_comm *comm;
    tensor_source *weights, *inputs;
    attn_forward *fw;
} run_state;

/* Frees everything, finalizes MPI when it was started, exits with code. */
void finish(run_state *st, int code) __attribute__((noreturn));
/* Collective over the world: when any rank's code is non-zero, the lowest failing rank
 * prints msg and every rank finishes with the largest code. Returns when all are 0. */
void agree(run_state *st, int code, const char *msg);
/* attnrun_run.c: inputs, timed runs, --check, --dump, -o. Returns the exit code. */
int run_plan(run_state *st);
#endif
