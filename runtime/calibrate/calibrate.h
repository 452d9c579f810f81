/* calibrate.h: `attnrun --calibrate`: measures what the cost model assumes about the
 * machine it runs on, through the backend and comm interfaces only (so the CPU and CUDA
 * backends are measured by the same code), and writes a calibration file
 * (docs/calibration.md) that `attnplan price|plan --calibration FILE` reads:
 *   - GEMM efficiency (achieved FLOP/s over the device's peak) at the shapes plans use;
 *   - the effective rate of every elementwise kernel and of the softmax, in the bytes the
 *     cost model counts for that op, and the fixed cost per op;
 *   - each collective's alpha and bus bandwidth on the world's group (nccl-tests'
 *     conventions, with algbw/busbw tables on stdout).
 * Under mpirun every rank measures at once (as the ranks of a plan run do); per-rank
 * figures are combined into the slowest rank's. */
#ifndef ATTN_CALIBRATE_H
#define ATTN_CALIBRATE_H
#include <stddef.h>
#include "backend.h"
#include "calibration_io.h" /* the file, its kernel table and GEMM kinds */
#include "comm.h"
#include "measure.h" /* measure_now, measure_median: the clock and statistic attnrun uses */
#include "metrics.h"
#include "model.h"
#include "plan.h"
#include "topology.h"

/* 1 when argv asks for --calibrate (attnrun's main then hands over to calibrate_main). */
int calibrate_requested(int argc, char **argv);
/* The whole --calibrate run, after MPI_Init (use_mpi) or without MPI; returns the exit code
 * (0 ok, 1 failure, 2 bad usage or input). rank/world: this process in MPI_COMM_WORLD. */
int calibrate_main(int argc, char **argv, int use_mpi, int rank, int world);

/* ---- what calibrate_main and the measuring files share ---- */

#define CAL_MAX_SHAPES 512
#define CAL_MAX_COLL_SIZES 24
#define CAL_MAX_SYNC 8
#define CAL_MAX_PASSES 15

typedef struct cal_gemm {
    int m, n, k;
    calibration_gemm_kind kind; /* operand layout as the runtime calls it */
    int ldb;                /* B's row stride in the runtime (KV cache: heads x width); 0: packed */
    int reuse;              /* entries of one strided-batched call sharing B (stride 0), as the
                               runtime batches query heads of one kv head (attn_gemm_batch's
                               b_shared); 1: one plain GEMM */
    double working_set;     /* bytes the rank touches between two uses of the same weights: its
                               layers' weights and one microbatch's activations (0: 4 MiB) */
    double seconds;         /* time of one call (median sample) */
    double flops_per_s;
} cal_gemm;

/* One fused attention call (backend.h attention_fused) at a plan's shape: seqs x heads
 * query heads (qpk per kv head), tq queries at positions tk - tq.. against tk keys. */
#define CAL_MAX_ATTENTION 128
typedef struct cal_attention {
    int tq, tk, d_qk, d_v, seqs, heads, qpk;
    double seconds;         /* one call (median sample); 0: not measured (no fused op) */
    double working_set;     /* bytes the rank touches between two calls on the same layer's KV
                             * cache (cal_gemm.working_set's): K and V walk a pool that large */
} cal_attention;

/* One kernel's fit t = fixed_s + bytes / bandwidth over the sizes measured, with bytes
 * counted as the cost model counts them for the op (docs/cost-model.md). */
typedef struct cal_kernel {
    const char *name;       /* the file's key (calibration_kernel_name) */
    double bandwidth;       /* bytes/s */
    double fixed_s;
} cal_kernel;

typedef struct cal_coll {
    attn_coll coll;
    int group_size;
    int n_sizes;
    double bytes[CAL_MAX_COLL_SIZES];   /* S, nccl-tests' buffer size */
    double seconds[CAL_MAX_COLL_SIZES]; /* median sample, slowest rank */
    double alpha_s, bus_bandwidth;      /* the fit */
} cal_coll;

typedef struct cal_ctx {
    attn_backend *be;
    attn_comm *comm;        /* NULL without MPI (world 1) */
    int rank, world;
    int samples;            /* timed samples per point (the median is kept) */
    double min_sample_s;    /* each sample repeats the op until it lasts this long */
    double peak_flops;      /* of the device, for efficiencies */
    attn_ptr pool;          /* GEMM B operands (calibrate_ops.c) */
    size_t pool_elems;
    int n_gemm;
    cal_gemm gemm[CAL_MAX_SHAPES];
    int n_attention;
    cal_attention attention[CAL_MAX_ATTENTION];
    cal_kernel kernel[CALIBRATION_KERNEL_COUNT]; /* by calibration_kernel */
    double softmax_decode_bandwidth; /* one query row over all keys (nothing masked) */
    double launch_overhead_s;
    int n_coll;
    cal_coll coll[COLL_COUNT];
    int n_sync;             /* synchronization wait (calibrate_comm.c), world > 1 */
    double sync_work_s[CAL_MAX_SYNC], sync_wait_s[CAL_MAX_SYNC];
    double sync_latency_s;  /* the back-to-back all-reduce of one element the waits exclude */
} cal_ctx;

/* Adds the GEMM shapes the cost model prices for model m's plans with up to max_split
 * devices per stage and any dp/pp over `world_max` devices (duplicates skipped). */
void cal_add_model_shapes(cal_ctx *c, const attn_model *m, int world_max);
/* calibrate_ops.c: measures every shape of c->gemm, the kernels and the launch overhead.
 * 0 ok, -1 after a message (allocation failure). */
int cal_measure_gemms(cal_ctx *c);
/* One timed point: fn(c, arg, iter) is the op; every rank runs the same number of calls: a
 * warm-up call, then `samples` samples, each repeating the call until it lasts min_sample_s
 * (at most max_reps calls); the median sample per call, then the slowest rank's. barrier:
 * the world synchronizes before each sample (collectives: no rank starts a sample while
 * another is still in the last one). */
typedef void (*cal_op_fn)(cal_ctx *c, void *arg, int iter);
double cal_time_op(cal_ctx *c, cal_op_fn fn, void *arg, int barrier, int max_reps);
int cal_measure_kernels(cal_ctx *c);
/* calibrate_ops.c: times the fused attention at every shape of c->attention (nothing when
 * the backend has no attention_fused). 0 ok, -1 after a message (allocation failure). */
int cal_measure_attention(cal_ctx *c);
/* calibrate_comm.c: the collectives over the world (world > 1), tables on stdout (rank 0). */
int cal_measure_collectives(cal_ctx *c);
/* calibrate_comm.c: the synchronization wait (world > 1): every rank does the same work for
 * T seconds, then an all-reduce of one element; the time in it beyond the back-to-back
 * latency is the wait for the slowest member (mean over samples and ranks), at T from
 * 10 us to 10 ms. Table on stdout (rank 0). */
int cal_measure_sync(cal_ctx *c);
/* Least-squares fit of t = a + b*x minimizing relative error; returns 0, or -1 when the
 * points do not determine it. Exposed for the tests. */
int cal_fit_line(const double *x, const double *t, int n, double *a, double *b);
/* The slowest rank's value (max over the world); the value itself without a comm. */
double cal_world_max(cal_ctx *c, double v);
#endif
