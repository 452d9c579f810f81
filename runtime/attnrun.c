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
            "  --stats                  print the lead rank's backend GEMM calls of the attention (scores,\n"
            "                           P.V) per phase, the launches attnplan price counts\n",
            CHECK_TOLERANCE);
}

static int parse_int(const char *s, int lo, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < lo || v > 1000000000) return -1;
    *out = (int)v;
    return 0;
}

/* 0 ok, 1 --help, 2 bad usage (message printed when loud) */
static int parse_args(int argc, char **argv, options *o, int loud) {
    *o = (options){.repeat = 3, .warmup = 1, .threads = 1, .rank_share = -1, .seed = 1, .backend = "auto"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE                                                                    \
    do {                                                                              \
        if (!val) {                                                                   \
            if (loud) fprintf(stderr, "attnrun: error: %s needs a value\n", a);       \
            return 2;                                                                 \
        }                                                                             \
        i++;                                                                          \
    } while (0)
#define INT_VALUE(field, lo)                                                          \
    do {                                                                              \
        NEED_VALUE;                                                                   \
        if (parse_int(val, lo, &o->field) != 0) {                                     \
            if (loud) fprintf(stderr, "attnrun: error: %s: bad value '%s'\n", a, val); \
            return 2;                                                                 \
        }                                                                             \
    } while (0)
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return 1;
        else if (!strcmp(a, "--weights")) { NEED_VALUE; o->weights = val; }
        else if (!strcmp(a, "--input")) { NEED_VALUE; o->input = val; }
        else if (!strcmp(a, "--dump")) { NEED_VALUE; o->dump = val; }
        else if (!strcmp(a, "-o") || !strcmp(a, "--output")) { NEED_VALUE; o->out = val; }
        else if (!strcmp(a, "--model")) { NEED_VALUE; o->model = val; }
        else if (!strcmp(a, "--backend")) {
            NEED_VALUE;
            o->backend = val;
            if (strcmp(val, "cpu") && strcmp(val, "cuda") && strcmp(val, "auto")) {
                if (loud) fprintf(stderr, "attnrun: error: --backend must be cpu, cuda or auto (got '%s')\n", val);
                return 2;
            }
        } else if (!strcmp(a, "--check")) o->check = 1;
        else if (!strcmp(a, "--stats")) o->stats = 1;
        else if (!strcmp(a, "--repeat")) INT_VALUE(repeat, 1);
        else if (!strcmp(a, "--warmup")) INT_VALUE(warmup, 0);
        else if (!strcmp(a, "--threads")) INT_VALUE(threads, 1);
        else if (!strcmp(a, "--rank-share")) INT_VALUE(rank_share, 0);
        else if (!strcmp(a, "--query-chunk")) INT_VALUE(query_chunk, 1);
        else if (!strcmp(a, "--score-workspace")) {
            NEED_VALUE;
            if (attn_parse_bytes(val, &o->score_workspace) != 0) {
                if (loud) fprintf(stderr, "attnrun: error: --score-workspace: bad value '%s' (digits, optional K, M or G)\n", val);
                return 2;
            }
        }
        else if (!strcmp(a, "--seed")) {
            NEED_VALUE;
            char *end;
            unsigned long long s = strtoull(val, &end, 10);
            if (*val == '\0' || *end != '\0' || *val == '-') {
                if (loud) fprintf(stderr, "attnrun: error: --seed: bad value '%s'\n", val);
                return 2;
            }
            o->seed = s;
        } else if (a[0] == '-' && a[1] != '\0') {
            if (loud) fprintf(stderr, "attnrun: error: unknown option '%s' (see --help)\n", a);
            return 2;
        } else if (!o->plan) o->plan = a;
        else {
            if (loud) fprintf(stderr, "attnrun: error: unexpected argument '%s'\n", a);
            return 2;
        }
#undef INT_VALUE
#undef NEED_VALUE
    }
    if (!o->plan) {
        if (loud) fprintf(stderr, "attnrun: error: no plan file given (see --help)\n");
        return 2;
    }
    if (o->rank_share >= 0 && (o->check || o->dump)) {
        if (loud) fprintf(stderr, "attnrun: error: --rank-share computes one rank's share only: no --check or --dump\n");
        return 2;
    }
    return 0;
}

/* Are we under a launcher (mpirun/srun)? Otherwise a world of one runs without MPI. */
static int launched_by_mpi(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK") || getenv("SLURM_PROCID");
}

void finish(run_state *st, int code) {
    forward_destroy(st->fw);
    tensor_source_close(st->weights);
    tensor_source_close(st->inputs);
    if (st->comm) st->comm->destroy(st->comm);
    if (st->be) st->be->destroy(st->be);
    if (st->plan_loaded) plan_free(&st->plan);
#ifdef ATTN_HAVE_MPI
    if (st->use_mpi) MPI_Finalize();
#endif
    exit(code);
}

/* Every rank calls this with its own status; if any failed, the lowest failing rank prints
 * its message and every rank exits with the worst code. Needs a comm. */
void agree(run_state *st, int code, const char *msg) {
    int worst = st->comm->host_max_int(st->comm, code);
    if (worst == 0) return;
    int first = st->comm->world - st->comm->host_max_int(st->comm, code ? st->comm->world - st->comm->rank : 0);
    if (st->comm->rank == first && msg && *msg) fprintf(stderr, "attnrun: error: %s\n", msg);
    finish(st, worst);
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
    finish(st, 1);
}

/* auto: the CUDA backend when built and it starts (a GPU is there), else the CPU */
static attn_backend *make_backend(const options *o, int device, attn_dtype dtype) {
#ifdef ATTN_HAVE_CUDA_BACKEND
    if (strcmp(o->backend, "cuda") == 0 || (strcmp(o->backend, "auto") == 0 && attn_backend_cuda_probe(NULL) > 0)) {
        attn_error err; /* auto without a usable GPU: the CPU, silently */
        attn_backend *be = attn_backend_cuda_create(device, dtype, &err);
        if (!be) fprintf(stderr, "%s\n", err.msg);
        if (be || strcmp(o->backend, "cuda") == 0) return be;
    }
#else
    (void)device;
    (void)dtype;
    if (strcmp(o->backend, "cuda") == 0) {
        fprintf(stderr, "attnrun: error: this attnrun was built without the CUDA backend\n");
        return NULL;
    }
#endif
    return attn_backend_cpu_create(o->threads);
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
        int cal_rc = calibrate_main(argc, argv, st.use_mpi, st.rank, st.world);
        finish(&st, cal_rc);
    }
    int loud = st.rank == 0;
    int rc = parse_args(argc, argv, &st.opt, loud);
    if (rc == 1) {
        if (loud) usage(stdout);
        finish(&st, 0);
    }
    if (rc != 0) finish(&st, 2);
    /* the plan: every rank loads it; only rank 0 reports problems */
    attn_diag d;
    attn_diag_init(&d);
    d.quiet = !loud;
    if (plan_load(st.opt.plan, &st.plan, &d) != 0) finish(&st, 2);
    st.plan_loaded = 1;
    if (plan_check(&st.plan, st.opt.plan, &d) != 0) finish(&st, 2);
    if (sha256_file(st.opt.plan, st.plan_sha) != 0) {
        if (loud) fprintf(stderr, "attnrun: error: %s: cannot read the plan file\n", st.opt.plan);
        finish(&st, 2);
    }
    if (st.opt.model && (rc = check_model(&st, st.opt.model, loud)) != 0) finish(&st, rc);
    int share = st.opt.rank_share;
    if (share >= 0 && st.world != 1) {
        if (loud) fprintf(stderr, "attnrun: error: --rank-share runs as one process (this run has %d)\n", st.world);
        finish(&st, 2);
    }
    if (share >= st.plan.world) {
        if (loud) fprintf(stderr, "attnrun: error: --rank-share %d: the plan has ranks 0..%d\n", share, st.plan.world - 1);
        finish(&st, 2);
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
        finish(&st, 2);
    }
    const char *local_rank = getenv("OMPI_COMM_WORLD_LOCAL_RANK");
    if (!local_rank) local_rank = getenv("SLURM_LOCALID");
    st.be = make_backend(&st.opt, share >= 0 || !local_rank ? 0 : atoi(local_rank), st.plan.model.dtype);
    if (!st.be) fail_alone(&st);
    if (share >= 0) st.comm = attn_comm_null_create(&st.plan, st.be, share);
#ifdef ATTN_HAVE_MPI
    else if (st.use_mpi) {
#ifdef ATTN_HAVE_CUDA_BACKEND
        if (strcmp(st.be->name, "cuda") == 0) st.comm = attn_comm_nccl_create(&st.plan, st.be);
        else
#endif
            st.comm = attn_comm_mpi_create(&st.plan, st.be);
    }
#endif
    else st.comm = attn_comm_local_create(&st.plan, st.be);
    if (!st.comm) fail_alone(&st);
    return run_plan(&st);
}
