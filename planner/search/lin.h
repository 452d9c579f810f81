/* lin.h: the planner's linear program in data form, shared by the GLPK model
 * (glpk_program.c) and the exhaustive search (exhaustive.c), which must agree exactly.
 *
 * One candidate is a structure: (dp, pp, n, m, scheme) and a placement order. Its work
 * distribution is balanced at one level, the outermost at which device classes differ
 * (see docs/planner.md):
 *   LIN_EVEN    every block of the candidate is on one class: the even split, priced as is;
 *   LIN_ROWS    replicas differ in class: batch rows per replica;
 *   LIN_LAYERS  stages differ in class (same in every replica): layers per stage;
 *   LIN_SHARES  every stage holds the same mix of classes: query heads (in units) per
 *               head group and MLP columns (in units) per device;
 *   LIN_SEGS    every head group holds the same mix of classes (its segments differ):
 *               dimension units per segment and MLP columns (in units) per device.
 * Each class c has `parts` identical parts (replicas, stages or head groups) and a linear
 * time and memory per unit of work, anchored on the cost model's even plan. x[c] is the
 * largest number of units a part of class c holds. */
#ifndef ATTN_LIN_H
#define ATTN_LIN_H
#include "strategy.h"

#define LIN_MAX_CLASSES 4

typedef enum { LIN_EVEN = 0, LIN_ROWS = 1, LIN_LAYERS = 2, LIN_SHARES = 3, LIN_SEGS = 4, LIN_BALANCE_COUNT = 5 } lin_balance;
const char *lin_balance_name(lin_balance b);
/* SHARES and SEGS share one form: units per device of the class (head units or dimension
 * units) and MLP units per device, each phase a max over classes. */
static inline int lin_two_level(lin_balance b) { return b == LIN_SHARES || b == LIN_SEGS; }

typedef struct lin_class {
    int parts;          /* identical parts of this class (> 0) */
    int devices;        /* devices per part (SHARES: m per head group; SEGS: n head groups) */
    /* time per unit, seconds (prefill whole batch; one decode step) */
    double pre_u, dec_u;  /* rows / layers / head units */
    double pre_f, dec_f;  /* LIN_SHARES: per MLP unit on one device */
    double pre_c, dec_c;  /* LIN_ROWS: a replica's time that does not grow with its rows
                             (decode: reading the weights; prefill: the pipeline's fill) */
    /* memory of the busiest device of a part: mem_u*x + mem_f*xf + mem_0 <= mem_cap */
    double mem_u, mem_f, mem_0, mem_cap;
} lin_class;

typedef struct lin_cand {
    attn_strategy strategy;
    int order;              /* placement order (placement.h) */
    lin_balance balance;
    int n_classes;
    lin_class cls[LIN_MAX_CLASSES];
    int units;              /* work to share: rows, layers or head units */
    int f_units;            /* LIN_SHARES: MLP column units */
    int min_units;          /* least units per part (0 or 1: one); LIN_ROWS with a pipeline:
                               its microbatch count, which a plan may not exceed any replica's rows */
    /* prefill and decode time of the candidate:
     *   EVEN:   pre_0, dec_0
     *   ROWS:   pre = max_c (pre_u x_c + pre_c);           dec = max_c (dec_u x_c + dec_c)
     *   LAYERS: pre = pre_max * max_c pre_u x_c + sum_c pre_u X_c + pre_0
     *           dec = sum_c dec_u X_c + dec_0   (X_c: layers on class c, x_c >= X_c / parts)
     *   SHARES: pre = max_c pre_u x_c + max_c pre_f xf_c + pre_0 (dec alike)   */
    double pre_0, dec_0, pre_max;
    double mem_even_ok;     /* EVEN: 1 when it fits the capacity limit */
} lin_cand;

/* What the program asks: the objective and the limits. */
/* OBJ_THROUGHPUT: least ttft (most prefill tokens/s); OBJ_TPOT: least tpot; OBJ_PER_GPU:
 * most output tokens/s per GPU, i.e. the least request latency ttft + e2e_w x tpot (the
 * batch, the output and the devices are fixed for one program, so the rate per GPU is
 * B x osl / devices over that latency: linear in the program's pre and dec). */
typedef enum { OBJ_THROUGHPUT = 0, OBJ_TPOT = 1, OBJ_PER_GPU = 2 } lin_objective;
typedef struct lin_limits {
    lin_objective objective;
    double max_tpot_s;      /* <= 0: none */
    double max_ttft_s;      /* <= 0: none */
    double max_e2e_s;       /* request latency ttft + e2e_w x tpot; <= 0: none */
    double e2e_w;           /* decode steps after the first token: max(osl - 1, 0) */
    double mem_fraction;    /* of each device's capacity, (0, 1] */
} lin_limits;

/* A request's latency from the program's prefill and decode-step times. */
static inline double lin_e2e(const lin_limits *l, double pre, double dec) { return pre + l->e2e_w * dec; }
/* The objective's figure (seconds, lower is better). */
static inline double lin_objective_value(const lin_limits *l, double pre, double dec) {
    return l->objective == OBJ_TPOT ? dec : l->objective == OBJ_PER_GPU ? lin_e2e(l, pre, dec) : pre;
}
/* 1 when pre/dec meet every target (slack: relative tolerance, 0 for the program's own). */
static inline int lin_within(const lin_limits *l, double pre, double dec, double slack) {
    if (l->max_tpot_s > 0 && dec > l->max_tpot_s * (1 + slack)) return 0;
    if (l->max_ttft_s > 0 && pre > l->max_ttft_s * (1 + slack)) return 0;
    if (l->max_e2e_s > 0 && lin_e2e(l, pre, dec) > l->max_e2e_s * (1 + slack)) return 0;
    return 1;
}

/* A solution: the candidate and its distribution. */
typedef struct lin_solution {
    int cand;               /* index, -1 when none */
    int x[LIN_MAX_CLASSES];  /* largest units per part of each class */
    int X[LIN_MAX_CLASSES];  /* units on each class in total (sum = units) */
    int xf[LIN_MAX_CLASSES]; /* LIN_SHARES: MLP units per device */
    int XF[LIN_MAX_CLASSES]; /* LIN_SHARES: MLP units on each class in total */
    double pre_s, dec_s;    /* the linear model's figures */
    double objective;       /* pre_s or dec_s */
    int proven_optimal;
    double gap;             /* relative gap when not proven */
} lin_solution;

/* The linear model's prefill/decode time of candidate c with per-part maxima x/xf and class
 * totals X (LIN_LAYERS). Returns 0 when the distribution is feasible (capacity, limits not
 * included), -1 when not. */
int lin_eval(const lin_cand *c, const int *x, const int *X, const int *xf, double mem_fraction,
             double *pre_s, double *dec_s);
/* The least units a part holds (min_units, at least 1). */
int lin_min_units(const lin_cand *c);
/* Fills X/XF from x/xf: units per class total, summing to units (surplus taken from the
 * classes in reverse order, never below parts). 0 ok, -1 infeasible. */
int lin_totals(const lin_cand *c, const int *x, const int *xf, int *X, int *XF);

#endif
