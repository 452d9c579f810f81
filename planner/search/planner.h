/* planner.h: planner/search/, the planning pipeline and its solvers, behind one call.
 * `attnplan plan TOPOLOGY MODEL` (default branch, cli/cmd_plan.c) calls planner_run:
 * every structure (dp, pp, n, m, scheme) under every placement order is
 * priced on its even plan by the cost model, linearized, and one GLPK mixed-integer
 * program chooses the structure, the placement and the work distribution (rows per
 * replica, layers per stage, heads, dimension segments and MLP columns per device on mixed
 * clusters) under the objective and limits; the choice is re-priced with the full cost
 * model, ranked with the alternatives, and assembled as a plan; cli/plan_print.c prints
 * the result. --exhaustive replaces the program by enumeration (the cross-check).
 * docs/planner.md has the formulation. */
#ifndef ATTN_PLANNER_H
#define ATTN_PLANNER_H
#include <stdio.h>
#include "cost.h"
#include "lin.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef struct planner_options {
    lin_objective objective;     /* --objective throughput|tpot|throughput-per-gpu (default throughput,
                                    throughput-per-gpu when a target is given) */
    double max_tpot_s;           /* --max-tpot SECONDS; 0 = none */
    double max_ttft_s;           /* --max-ttft SECONDS; 0 = none */
    double max_e2e_s;            /* --max-latency SECONDS (request latency, e2e_latency_s); 0 = none */
    double max_memory_fraction;  /* --max-memory-fraction F in (0, 1]; default 1 */
    double time_limit_s;         /* --time-limit SECONDS for the solver; default 10 */
    int exhaustive;              /* --exhaustive */
    double max_evals;            /* distributions --exhaustive may try (default 1e8) */
    int top;                     /* --top K rows of alternatives (default 10) */
    int microbatches;            /* 0 = the model's workload value or auto */
    int progress;                /* -1 auto (stderr is a terminal), 0 off, 1 on */
    int no_symmetry;             /* 1: price every replica (tests compare with the default) */
} planner_options;

/* The defaults; the command line (cli/cmd_plan.c) sets the rest. */
void planner_options_init(planner_options *o);

/* One priced alternative (a structure under a placement order, best distribution). */
typedef struct planner_alt {
    attn_strategy strategy;
    int order;                   /* placement order index */
    char order_name[96];
    lin_balance balance;
    double program_pre_s, program_dec_s; /* the linear model's figures */
    double program_obj_s;        /* the linear model's objective figure (lin_objective_value) */
    double metric[MET_COUNT];    /* re-priced (full cost model) */
    double terms[PHASE_COUNT][4];/* critical rank: compute, memory, comm, bubble (s) */
    double peak_mem_fraction;    /* of the fullest device's capacity */
} planner_alt;

/* A structure the planner set aside, and why. */
typedef enum { REJ_INVALID = 0, REJ_NOFIT = 1, REJ_LIMIT = 2 } planner_reject_kind;
typedef struct planner_reject {
    attn_strategy strategy;
    planner_reject_kind kind;
    double shortfall_bytes;      /* REJ_NOFIT */
    char reason[192];
} planner_reject;

/* What planner_run found (planner_result.status). */
typedef enum planner_status {
    PLANNER_FOUND = 0,        /* a plan was chosen */
    PLANNER_NOTHING_FITS = 1, /* no plan fits the devices or meets the limits */
    PLANNER_BAD_INPUT = 2,    /* the problem cannot be posed (too big to enumerate) */
    PLANNER_ERROR = 3,        /* the solver or memory failed */
} planner_status;

typedef struct planner_result {
    int status;                  /* planner_status */
    int proven_optimal;
    double gap;                  /* relative, when not proven */
    double objective;            /* the program's optimum (linear model), seconds */
    int exhaustive;              /* found by enumeration */
    planner_alt best;
    attn_plan plan;              /* the chosen plan, priced (has_predicted) */
    int n_alts;
    planner_alt *alts;           /* ranked alternatives (best first), malloc'd */
    int n_cands, n_invalid, n_nofit, n_limit;
    int n_balance[LIN_BALANCE_COUNT]; /* candidates per lin_balance kind */
    int n_rejected;
    planner_reject *rejected;    /* malloc'd; invalid first, then not fitting, then limits */
    double min_shortfall_bytes;  /* smallest memory excess among candidates that do not fit */
    attn_strategy closest;       /* the structure with that excess */
    int fit_batch;               /* largest batch (halving) at which `closest` fits; 0 none */
    double min_limit_tpot_s;     /* fastest even-split tpot among those over --max-tpot; 0 none */
    attn_strategy fastest;       /* its structure */
    int has_baseline;            /* the seed's TP8 x PP2 per 16 devices was priced */
    planner_alt baseline;
    int baseline_rank;           /* 1-based rank among all feasible candidates */
    int n_feasible;              /* feasible candidates (structure x placement order) */
    char baseline_note[192];     /* why it is absent or not fitting */
    int has_full;                /* --exhaustive: every distribution priced by the cost model */
    long full_priced;            /* plans priced for it */
    planner_alt full_best;       /* the best of them by the full cost model */
    char full_note[160];         /* why that check was skipped */
    char message[512];           /* why nothing was chosen */
    char note[256];              /* how the choice was reached when not the usual way */
    int n_neighbours;            /* distribution neighbours of the choice re-priced */
    int n_ties;                  /* equal program optima the cost model preferred (tie breaks) */
    int refined;                 /* 1: a neighbour re-priced better and replaced the choice */
    double unrefined_s;          /* the program's distribution re-priced (ttft or tpot, by objective) */
} planner_result;

/* Runs the planner without printing (the tests call this). 0 ok (r->status says what was
 * found). The caller frees r with planner_result_free. */
int planner_run(const attn_model *m, const attn_topology *t, const cost_options *co,
                const planner_options *o, planner_result *r);
void planner_result_free(planner_result *r);

/* What the explanation of a result rests on (cli/plan_print.c prints it). A term is an
 * index into planner_alt.terms[phase]: compute, memory traffic, communication, bubble. */
/* The objective's figure of a: tpot, ttft or (throughput-per-gpu) the request latency, seconds. */
double planner_alt_objective(const planner_alt *a, lin_objective obj);
/* The term that takes most of a's time in phase ph. */
int planner_alt_dominant(const planner_alt *a, int ph);
/* The term in which a saves most against b in phase ph (b's time minus a's); *saving is
 * that difference in seconds (<= 0: a saves nowhere). */
int planner_alt_largest_saving(const planner_alt *a, const planner_alt *b, int ph, double *saving);
/* The alternative (index into r->alts, >= 1) the full cost model rates more than 1%
 * better than the choice, the best such; -1 when none. */
int planner_better_alt(const planner_result *r, lin_objective obj);
/* The memory a plan may use on the smallest device of t: its capacity times the fraction
 * (<= 0: 1); INFINITY on a topology without devices. */
double planner_allowed_memory(const attn_topology *t, double max_memory_fraction);

#ifdef __cplusplus
}
#endif
#endif
