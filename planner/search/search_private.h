/* search_private.h: what the files of planner/search/ share and nobody else needs (the
 * tests aside): the solver entry points over lin.h's candidates (GLPK program and
 * exhaustive search), the placement of ranks on devices, the linearization of the cost
 * model, the pipeline's state, and the re-pricing helpers the pipeline and the full search
 * both use. Calls point one way: planner.c -> full_search.c -> reprice.c, exhaustive.c;
 * planner.c -> reprice.c, glpk_program.c, exhaustive.c, linearize.c, placement.c. */
#ifndef ATTN_SEARCH_PRIVATE_H
#define ATTN_SEARCH_PRIVATE_H
#include <stddef.h>
#include "cost.h"
#include "planner.h"
#include "lin.h"

/* What a solver returns. */
enum {
    SEARCH_OK = 0, SEARCH_FEASIBLE = 1, SEARCH_INFEASIBLE = 2, SEARCH_TIMEOUT = 3, SEARCH_ERROR = 4, SEARCH_TOO_BIG = 5
};

/* Solves the program over candidates c[0..n) (glpk_program.c). SEARCH_OK: proven optimal;
 * SEARCH_FEASIBLE: the time limit stopped it with an incumbent (out->gap); else no solution
 * with the reason in err. progress: a progress line on stderr. */
int glpk_program_solve(const lin_cand *c, int n, const lin_limits *lim, double time_limit_s,
                       int progress, lin_solution *out, char *err, size_t errlen);

/* The same optimum by enumerating every candidate and every distribution (exhaustive.c).
 * Refuses (SEARCH_TOO_BIG) when more than max_evals distributions would be tried. */
int exhaustive_solve(const lin_cand *c, int n, const lin_limits *lim, double max_evals,
                     lin_solution *out, char *err, size_t errlen);
/* How many distributions exhaustive_solve would try for candidate c. */
double exhaustive_count(const lin_cand *c);
/* Calls visit for every distribution of candidate c (index ci): per-part maxima x/xf and
 * class totals X/XF, as exhaustive_solve enumerates them. */
typedef void (*lin_visit_fn)(const lin_cand *c, int ci, const int *x, const int *X, const int *xf, const int *XF,
                             void *arg);
void exhaustive_visit(const lin_cand *c, int ci, lin_visit_fn visit, void *arg);

/* ---- placement (placement.c) ---- */

/* Placement orders: a permutation of the device classes (node types); devices are taken
 * class by class, node-major inside a class, and rank r goes to the r-th device, so the
 * innermost groups (segment, then stage) occupy the fewest nodes. */
#define PLACE_MAX_ORDERS 6
typedef struct place_orders {
    int n_orders;
    int n_classes;                 /* node types present */
    int *dev[PLACE_MAX_ORDERS];    /* order -> rank-slot -> device */
    int *cls_of_dev;               /* device -> class index (node type) */
    char name[PLACE_MAX_ORDERS][96];
} place_orders;
int place_orders_build(const attn_topology *t, place_orders *o);
void place_orders_free(place_orders *o);

/* How a candidate's parts map onto lin classes, to turn a distribution into ranks. */
typedef struct place_map {
    lin_balance balance;
    int n_parts;        /* ROWS: dp, LAYERS: pp, SHARES: n (head groups of one block) */
    int *part_class;    /* part -> lin class */
    int head_unit;      /* SHARES: query heads per unit */
    int dim_unit;       /* SEGS: dimensions per unit (gpt) or rotation pairs per unit (llama) */
    int mlp_unit;       /* SHARES: MLP columns per unit */
    int row_unit;       /* ROWS: batch rows per unit (a pipeline's microbatch count, so every
                           microbatch of a replica gains a row together) */
    int lin_cls_type[LIN_MAX_CLASSES]; /* lin class -> node type */
} place_map;
void place_map_free(place_map *pm);

/* Decides the balance kind of strategy s under order k and fills pm (and the lin
 * candidate's classes: parts, devices, units). 0 ok, -1 no memory. */
int place_classify(const attn_model *m, const attn_strategy *s, const place_orders *o, int k,
                   place_map *pm, lin_cand *lc);

/* The even plan of s with its ranks on order k's devices, with its groups when with_groups
 * (a plan that is kept), without them for pricing alone (the cost model prices from the
 * ranks). 0 ok, -1 with the reason in err. */
int place_even_plan(const attn_model *m, const attn_topology *t, const attn_strategy *s,
                    const place_orders *o, int k, int with_groups, attn_plan *p, char *err, size_t errlen);
/* Applies a distribution (sol's class totals) to an even plan built by place_even_plan. */
int place_apply(attn_plan *p, const attn_topology *t, const place_map *pm, const lin_cand *lc,
                const lin_solution *sol, char *err, size_t errlen);

/* ---- linearization (linearize.c) ---- */

/* Fills lc's time and memory coefficients from the even plan's cost-model report r
 * (and detail), so the linear model equals the cost model at the even split. */
void linearize(const attn_topology *t, const attn_plan *p, const attn_report *r, const cost_detail *det,
               const place_map *pm, double mem_fraction, lin_cand *lc);

/* ---- the pipeline's state (planner.c), which reprice.c and full_search.c read ---- */

/* One candidate: a structure under a placement order, its even plan's prices and its
 * linear model. */
typedef struct planner_cand {
    place_map pm;
    lin_cand lc;
    int valid;               /* even plan built and priced */
    double shortfall;        /* even plan: worst excess over the allowed memory (bytes) */
    double metric[MET_COUNT];
} planner_cand;

/* Everything one planning run shares. */
typedef struct planner_ctx {
    const attn_model *m;
    const attn_topology *t;
    const cost_options *co;
    const planner_options *o;
    lin_limits lim;
    place_orders orders;
    int n;
    planner_cand *c;
    lin_cand *lcs;           /* the lin candidates, contiguous, for the solvers */
} planner_ctx;

/* ---- re-pricing (reprice.c) ---- */

/* Builds and prices the plan of candidate c with distribution sol (NULL: even). */
int reprice_build_priced(const planner_ctx *x, const planner_cand *c, const lin_solution *sol, attn_plan *p,
                         cost_detail *det, char *err, size_t len);
/* 1 when a re-priced plan keeps the memory fraction and --max-tpot. */
int reprice_ok(const planner_ctx *x, const attn_plan *p);
/* The re-priced ttft or tpot, by the objective. */
double reprice_objective(const planner_ctx *x, const attn_plan *p);
/* Worst excess of any rank's memory over fraction * capacity (<= 0: fits). */
double reprice_excess(const attn_report *r, double fraction);
/* The printed row of a re-priced plan p: its figures, memory fraction and terms. */
void reprice_fill_alt(const planner_ctx *x, const planner_cand *c, const lin_solution *sol, const attn_plan *p,
                      const cost_detail *det, planner_alt *a);

/* ---- the full search (full_search.c) ---- */

/* --exhaustive's second check: every distribution of every feasible candidate
 * priced with the full cost model, when there are at most max_plans of them; fills
 * r->full_*. */
void full_search_run(const planner_ctx *x, double max_plans, planner_result *r);

#endif
