/* calibration_io.h: the calibration file (calibration_version: 1, docs/calibration.md),
 * the contract between `attnrun --calibrate`, which measures and writes it, and `attnplan
 * price|plan --calibration`, which prices with it. One struct holds what the file says;
 * calibration_write emits it (atomically, through yt_writer), calibration_load reads it
 * back strictly (unknown or duplicate keys, wrong types, values out of range, a GEMM point
 * or a collective listed twice are FILE:LINE:COL errors). A file the writer wrote reads
 * back into a struct that writes the same bytes again. The kernel table (which kernels a
 * calibration times, in which order, under which keys) is defined here and nowhere else. */
#ifndef ATTN_CALIBRATION_IO_H
#define ATTN_CALIBRATION_IO_H
#include "diag.h"
#include "model.h"
#include "plan.h"
#include "topology.h"
#ifdef __cplusplus
extern "C" {
#endif

/* The kernels a calibration times one by one (on a CPU their rates differ by 50x: libm's
 * tanh and exp against a plain add, so one elementwise figure cannot price them), in the
 * order of the file's `kernels:` map. The softmax comes last: the cost model prices it by
 * the file's softmax_bandwidth and softmax_decode_bandwidth, not by its kernels entry. */
typedef enum calibration_kernel {
    CALIBRATION_KERNEL_LAYERNORM = 0,
    CALIBRATION_KERNEL_RMSNORM,
    CALIBRATION_KERNEL_ROPE,
    CALIBRATION_KERNEL_GELU,
    CALIBRATION_KERNEL_SWIGLU,
    CALIBRATION_KERNEL_RESIDUAL,
    CALIBRATION_KERNEL_KV_COPY,
    CALIBRATION_KERNEL_SOFTMAX,
    CALIBRATION_KERNEL_COUNT
} calibration_kernel;
/* The file's key of kernel k ("layernorm", ..., "kv_copy", "softmax"). */
const char *calibration_kernel_name(calibration_kernel k);

/* A GEMM's operand layout as the runtime calls it: a projection X.W^T, the scores Q.K^T
 * (into fp32), or the probabilities times V. */
typedef enum calibration_gemm_kind {
    CALIBRATION_GEMM_PROJ = 0,
    CALIBRATION_GEMM_SCORES,
    CALIBRATION_GEMM_PV,
    CALIBRATION_GEMM_KIND_COUNT
} calibration_gemm_kind;
const char *calibration_gemm_kind_name(calibration_gemm_kind k); /* "proj", "scores", "pv" */

#define CALIBRATION_MAX_SYNC_POINTS 16
#define CALIBRATION_TEXT_MAX 1024 /* machine, date, backend: at most this many bytes - 1 */

/* One kernel's fit t = fixed_s + bytes / bandwidth, bytes as the cost model counts them. */
typedef struct calibration_kernel_fit {
    double bandwidth;            /* bytes/s; 0: not in the file (then not written) */
    double fixed_s;
} calibration_kernel_fit;

typedef struct calibration_gemm {
    int m, n, k;
    int reuse;                   /* entries of one batched call sharing B; 1: one plain GEMM (written only when > 1) */
    calibration_gemm_kind kind;
    double seconds;              /* one call (covers `reuse` GEMMs); 0: not in the file (then not written) */
    double flops_per_s;          /* 0: not in the file */
    double efficiency;           /* achieved FLOP/s over peak_flops */
} calibration_gemm;

/* The fused attention op (backend.h attention_fused) timed at one call's shape: seqs x
 * heads (sequence, query head) pairs, qpk query heads per kv head, tq queries at position
 * q0 = tk - tq (the last tq of tk keys: the causal prefill when tq = tk, a decode step when
 * tq = 1) against tk keys, head widths d_qk and d_v. efficiency = 2 (d_qk + d_v) x pairs of
 * the computed tiles (attn_fused_plan's pairs, seqs x heads of them) / (seconds -
 * launch_overhead) / peak_flops: the FLOPs the cost model counts for the op. */
typedef struct calibration_attention {
    int tq, tk, d_qk, d_v, seqs, heads, qpk;
    double seconds;              /* one call */
    double efficiency;
} calibration_attention;

typedef struct calibration_sample {
    double bytes;                /* S, nccl-tests' buffer size */
    double seconds;
} calibration_sample;

/* A collective's fit t = steps(p) alpha + factor(p) S / bus_bandwidth (nccl-tests). */
typedef struct calibration_coll {
    attn_coll coll;
    attn_link link;
    int group_size;
    double alpha_s;
    double bus_bandwidth;        /* bytes/s */
    int n_samples;
    calibration_sample *samples; /* the measurements behind the fit (n_samples entries, malloc'd) */
} calibration_coll;

typedef struct attn_calibration {
    /* The opening comment (how the file was made), written when command != NULL: the
     * command line (its words joined by spaces, malloc'd), samples per point, passes. */
    char *command;
    int samples, passes;
    char name[128];
    char machine[CALIBRATION_TEXT_MAX], date[CALIBRATION_TEXT_MAX], backend[CALIBRATION_TEXT_MAX];
    attn_dtype dtype;            /* fp32 when the file has none */
    char device_type[64];
    int ranks, threads;          /* 1 when the file has none */
    double peak_flops;           /* the peak the efficiencies are fractions of */
    double launch_overhead_s;
    double elementwise_bandwidth;
    double softmax_bandwidth, softmax_decode_bandwidth; /* 0: not in the file (then not written) */
    calibration_kernel_fit kernel[CALIBRATION_KERNEL_COUNT];
    int n_gemm;
    calibration_gemm *gemm;      /* malloc'd */
    int n_coll;
    calibration_coll *coll;      /* malloc'd */
    int n_attention;             /* the fused op's table (optional `attention:` list) */
    calibration_attention *attention; /* malloc'd */
    int n_sync;                  /* synchronization wait: work ascending */
    double sync_work_s[CALIBRATION_MAX_SYNC_POINTS], sync_wait_s[CALIBRATION_MAX_SYNC_POINTS];
    /* Set by calibration_load against a topology: peak_flops over that topology's peak for
     * the file's device type and dtype (1 without a topology). Not part of the file. */
    double rescale;
} attn_calibration;

/* An empty calibration (dtype fp32, ranks and threads 1, rescale 1, no tables). */
void calibration_init(attn_calibration *c);
void calibration_free(attn_calibration *c);
/* Reads path into c (allocating its tables; calibration_free releases them). When t is
 * given, the file's device_type must be one of t's device types (an error at device_type
 * otherwise), and c->rescale is set from that device type's peak for the file's dtype.
 * Returns 0, or -1 with the errors reported through d (c then holds nothing to free). */
int calibration_load(const char *path, const attn_topology *t, attn_calibration *c, attn_diag *d);
/* Writes c to path atomically (never a half-written file; "-": stdout). 0 ok, -1 after a
 * message through d. */
int calibration_write(const char *path, const attn_calibration *c, attn_diag *d);

#ifdef __cplusplus
}
#endif
#endif
