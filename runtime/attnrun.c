/* attnrun.c: executes a plan: one process per planned rank (mpirun), or world size 1
 * without MPI, or one rank's share of a bigger plan (--rank-share). Loads the rank's
 * weight shard and inputs (safetensors or seeded random), runs warm-up and timed runs of
 * prefill + decode, then optionally checks against the float64 reference (--check),
 * dumps the outputs (--dump) and writes the measured report (-o). Exit 0 ok, 1 failure
 * (including a --check above tolerance), 2 bad usage or input. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef ATTN_HAVE_MPI
#include <mpi.h>
#endif
#include "backend.h"
#include "comm.h"
#include "forward.h"
#include "measure.h"
#include "plan.h"
#include "reference.h"
#include "args.h"
#include "run_select.h"
#include "sha256.h"
#include "tensors.h"
#include "attnrun.h"
#include "calibrate.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: mpirun -np WORLD attnrun PLAN [options]\n"
            "  --weights W.safetensors  weights (Hugging Face names); default: seeded random\n"
            "  --input X.safetensors    hidden_states [batch, seq_len, hidden] and decode_hidden_states\n"
            "                           [batch, decode_tokens, hidden]; default: seeded random\n"
            "  --dump OUT.safetensors   write hidden_states (prefill output) and decode_output\n"
            "  --check                  compare with the unpartitioned float64 forward (exit 1 above %g for fp32\n"
            "                           storage, 2e-2 fp16, 6e-2 bf16)\n"
            "  -o MEASURED.yaml         write the measured report\n"
            "  --repeat N               timed runs (default 3)     --warmup N   warm-up runs (default 1)\n"
            "  --seed S                 seed of the random weights and inputs (default 1)\n"
            "  --backend cpu|cuda|auto  (default auto: cuda when built and a GPU is present)\n"
            "  --model MODEL.yaml       refuse to run unless the plan was made for this model file\n"
            "  --threads T              BLAS threads per rank (default 1)\n"
            "  --rank-share R           run only rank R's work of the plan, collectives skipped\n"
            "  --query-chunk Q          query rows per attention score block (default: automatic)\n"
            "  --score-workspace BYTES  budget of one score block (K, M, G suffixes; default 1G): the\n"
            "                           sequences and heads of a query chunk are processed in blocks\n"
            "                           that fit it, as the cost model prices (attnplan --score-workspace)\n"
            "  --attention fused|unfused  the attention core as one fused op per layer and microbatch\n"
            "                           (flash attention, backend attention_fused; default fused: schemes\n"
            "                           none, qk-allgather, head-alltoall on a backend that has it) or as\n"
            "                           score blocks, softmax and P.V (always for score-allreduce)\n"
            "  --stats                  print the lead rank's backend GEMM calls of the attention (scores,\n"
            "                           P.V, fused attention) per phase, the launches attnplan price\n"
            "                           counts, and how a decode step runs (graph launch or eager)\n"
            "  --decode-graph on|off    replay decode steps from one recorded graph where the backend has\n"
            "                           graphs (default on; the CPU backend has none): docs/cuda-graphs.md\n",
            CHECK_TOLERANCE);
}

/* 0 ok, 1 --help, 2 bad usage (message printed unless quiet: ranks other than 0) */
static int parse_args(int argc, char **argv, attnrun_options *o, int quiet) {
    *o = (attnrun_options){.repeat = 3, .warmup = 1, .threads = 1, .rank_share = -1, .seed = 1,
                           .backend = RUN_BACKEND_AUTO, .attention = FORWARD_ATTENTION_FUSED};
    attn_args a;
    attn_args_init(&a, "attnrun", argc, argv, 1);
    a.quiet = quiet;
    const long most = 1000000000;
    while (attn_args_peek(&a)) {
        int rc = 0, kind;
        unsigned long long seed;
        if (attn_args_is(&a, "--help") || attn_args_is(&a, "-h")) return 1;
        else if (attn_args_is(&a, "--weights")) rc = (o->weights = attn_args_value(&a)) ? 0 : -1;
        else if (attn_args_is(&a, "--input")) rc = (o->input = attn_args_value(&a)) ? 0 : -1;
        else if (attn_args_is(&a, "--dump")) rc = (o->dump = attn_args_value(&a)) ? 0 : -1;
        else if (attn_args_is(&a, "-o") || attn_args_is(&a, "--output")) rc = (o->out = attn_args_value(&a)) ? 0 : -1;
        else if (attn_args_is(&a, "--model")) rc = (o->model = attn_args_value(&a)) ? 0 : -1;
        else if (attn_args_is(&a, "--backend")) {
            rc = attn_args_choice(&a, run_backend_names, RUN_BACKEND_COUNT, &kind);
            if (rc == 0) o->backend = (run_backend_kind)kind;
        } else if (attn_args_is(&a, "--attention")) {
            rc = attn_args_choice(&a, forward_attention_names, FORWARD_ATTENTION_COUNT, &kind);
            if (rc == 0) o->attention = (forward_attention)kind;
        } else if (attn_args_is(&a, "--check")) o->check = 1, attn_args_next(&a);
        else if (attn_args_is(&a, "--stats")) o->stats = 1, attn_args_next(&a);
        else if (attn_args_is(&a, "--decode-graph")) {
            static const char *const on_off[2] = {"off", "on"};
            rc = attn_args_choice(&a, on_off, 2, &kind);
            if (rc == 0) o->no_decode_graph = !kind;
        }
        else if (attn_args_is(&a, "--repeat")) rc = attn_args_int(&a, 1, most, &o->repeat);
        else if (attn_args_is(&a, "--warmup")) rc = attn_args_int(&a, 0, most, &o->warmup);
        else if (attn_args_is(&a, "--threads")) rc = attn_args_int(&a, 1, most, &o->threads);
        else if (attn_args_is(&a, "--rank-share")) rc = attn_args_int(&a, 0, most, &o->rank_share);
        else if (attn_args_is(&a, "--query-chunk")) rc = attn_args_int(&a, 1, most, &o->query_chunk);
        else if (attn_args_is(&a, "--score-workspace")) rc = attn_args_bytes(&a, &o->score_workspace);
        else if (attn_args_is(&a, "--seed")) {
            rc = attn_args_u64(&a, &seed);
            if (rc == 0) o->seed = seed;
        } else if (!attn_args_is_option(&a) && !o->plan) {
            o->plan = attn_args_peek(&a);
            attn_args_next(&a);
        } else
            rc = attn_args_reject(&a);
        if (rc != 0) return 2;
    }
    if (!o->plan) return attn_args_fail(&a, "no plan file given (see --help)"), 2;
    if (o->rank_share >= 0 && (o->check || o->dump))
        return attn_args_fail(&a, "--rank-share computes one rank's share only: no --check or --dump"), 2;
    return 0;
}

/* Are we under a launcher (mpirun/srun)? Otherwise a world of one runs without MPI. */
static int launched_by_mpi(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK") || getenv("SLURM_PROCID");
}

/* The one way out of attnrun: frees everything, finalizes MPI when it was started, exits
 * with code. */
static void attnrun_exit(run_state *st, int code) __attribute__((noreturn));
static void attnrun_exit(run_state *st, int code) {
    forward_destroy(st->fw);
    tensor_source_destroy(st->weights);
    tensor_source_destroy(st->inputs);
    if (st->comm) st->comm->destroy(st->comm);
    if (st->be) st->be->destroy(st->be);
    if (st->plan_loaded) plan_free(&st->plan);
#ifdef ATTN_HAVE_MPI
    if (st->use_mpi) MPI_Finalize();
#endif
    exit(code);
}

static int check_model(const run_state *st, const char *path, int loud) {
    char sha[65];
    if (sha256_file(path, sha) != 0) {
        if (loud) fprintf(stderr, "attnrun: error: %s: cannot read the model file\n", path);
        return 2;
    }
    const attn_model *pm = &st->plan.model;
    if (pm->sha256[0] && strcmp(sha, pm->sha256) == 0) return 0;
    if (!loud) return 2; /* every rank fails alike; rank 0 says why */
    fprintf(stderr, "attnrun: error: model %s (sha256 %.12s...) is not the plan's model %s (%s, sha256 %.12s...)\n", path,
            sha, pm->name, pm->path[0] ? pm->path : "built in code", pm->sha256[0] ? pm->sha256 : "none recorded");
    attn_model m;
    attn_diag d;
    attn_diag_init(&d);
    if (model_load(path, &m, &d) == 0) {
        struct { const char *key; long long a, b; } f[] = {
            {"layers", m.layers, pm->layers}, {"heads", m.heads, pm->heads}, {"kv_heads", m.kv_heads, pm->kv_heads},
            {"head_dim", m.head_dim, pm->head_dim}, {"hidden", m.hidden, pm->hidden},
            {"ffn_hidden", m.ffn_hidden, pm->ffn_hidden}, {"arch", m.arch, pm->arch}};
        for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
            if (f[i].a != f[i].b) fprintf(stderr, "attnrun:   %s: %lld in %s, %lld in the plan\n", f[i].key, f[i].a, path, f[i].b);
        if (strcmp(m.name, pm->name) != 0) fprintf(stderr, "attnrun:   name: %s in %s, %s in the plan\n", m.name, path, pm->name);
    }
    return 2;
}

/* A failure that may hit this rank alone (its device, its memory) before the ranks can
 * agree: take the whole job down rather than leave the others waiting in a collective. */
static void fail_alone(run_state *st) {
#ifdef ATTN_HAVE_MPI
    if (st->use_mpi && st->world > 1) {
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
#endif
    attnrun_exit(st, 1);
}

int main(int argc, char **argv) {
    run_state st;
    memset(&st, 0, sizeof st);
    st.use_mpi = 0;
    st.world = 1;
#ifdef ATTN_HAVE_MPI
    st.use_mpi = launched_by_mpi();
    if (st.use_mpi) {
        if (MPI_Init(&argc, &argv) != MPI_SUCCESS) {
            fprintf(stderr, "%s:%d: error: MPI_Init failed\n", __FILE__, __LINE__);
            return 1;
        }
        if (MPI_Comm_rank(MPI_COMM_WORLD, &st.rank) != MPI_SUCCESS || MPI_Comm_size(MPI_COMM_WORLD, &st.world) != MPI_SUCCESS) {
            fprintf(stderr, "%s:%d: error: MPI_Comm_rank/size failed\n", __FILE__, __LINE__);
            MPI_Abort(MPI_COMM_WORLD, 1);
            return 1;
        }
    }
#else
    if (launched_by_mpi() && getenv("OMPI_COMM_WORLD_SIZE") && atoi(getenv("OMPI_COMM_WORLD_SIZE")) > 1) {
        fprintf(stderr, "attnrun: error: this attnrun was built without MPI; it runs world-size-1 plans only\n");
        return 2;
    }
#endif
    if (calibrate_requested(argc, argv)) { /* attnrun --calibrate: another program sharing the runtime */
        attnrun_exit(&st, calibrate_main(argc, argv, st.use_mpi, st.rank, st.world));
    }
    int loud = st.rank == 0;
    int rc = parse_args(argc, argv, &st.opt, !loud);
    if (rc == 1) {
        if (loud) usage(stdout);
        attnrun_exit(&st, 0);
    }
    if (rc != 0) attnrun_exit(&st, 2);
    /* the plan: every rank loads it; only rank 0 reports problems */
    attn_diag d;
    attn_diag_init(&d);
    d.quiet = !loud;
    if (plan_load(st.opt.plan, &st.plan, &d) != 0) attnrun_exit(&st, 2);
    st.plan_loaded = 1;
    if (plan_check(&st.plan, st.opt.plan, &d) != 0) attnrun_exit(&st, 2);
    if (sha256_file(st.opt.plan, st.plan_sha) != 0) {
        if (loud) fprintf(stderr, "attnrun: error: %s: cannot read the plan file\n", st.opt.plan);
        attnrun_exit(&st, 2);
    }
    if (st.opt.model && (rc = check_model(&st, st.opt.model, loud)) != 0) attnrun_exit(&st, rc);
    int share = st.opt.rank_share;
    if (share >= 0 && st.world != 1) {
        if (loud) fprintf(stderr, "attnrun: error: --rank-share runs as one process (this run has %d)\n", st.world);
        attnrun_exit(&st, 2);
    }
    if (share >= st.plan.world) {
        if (loud) fprintf(stderr, "attnrun: error: --rank-share %d: the plan has ranks 0..%d\n", share, st.plan.world - 1);
        attnrun_exit(&st, 2);
    }
    if (share < 0 && st.world != st.plan.world) {
        if (loud)
            fprintf(stderr, "attnrun: error: the plan %s needs %d ranks (%s) but this run has %d%s\n", st.opt.plan,
                    st.plan.world, "dp*pp*n*m", st.world,
#ifdef ATTN_HAVE_MPI
                    st.use_mpi ? "" : " (no MPI launcher: start it with mpirun -np N)");
#else
                    " (this attnrun is built without MPI: world-size-1 plans and --rank-share only)");
#endif
        attnrun_exit(&st, 2);
    }
    const char *local_rank = getenv("OMPI_COMM_WORLD_LOCAL_RANK");
    if (!local_rank) local_rank = getenv("SLURM_LOCALID");
    st.be = run_select_backend(st.opt.backend, st.opt.threads, share >= 0 || !local_rank ? 0 : atoi(local_rank),
                               st.plan.model.dtype);
    if (!st.be) fail_alone(&st);
    st.comm = run_select_comm(&st.plan, st.be, st.use_mpi, share);
    if (!st.comm) fail_alone(&st);
    attnrun_exit(&st, run_plan(&st));
}
