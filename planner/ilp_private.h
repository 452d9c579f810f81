/* ilp_private.h: what the planner's files share and nobody else needs: the solver entry
 * points over lin.h's candidates (GLPK program and exhaustive search), the placement of
 * ranks on devices, the linearization of the cost model, and plan assembly. */
#ifndef ATTN_ILP_PRIVATE_H
#define ATTN_ILP_PRIVATE_H
#include <stddef.h>
#include "lin.h"

enum { ILP_OK = 0, ILP_FEASIBLE = 1, ILP_INFEASIBLE = 2, ILP_TIMEOUT = 3, ILP_ERROR = 4, ILP_TOO_BIG = 5 };

/* Solves the program over candidates c[0..n) (ilp_model.c). ILP_OK: proven optimal;
 * ILP_FEASIBLE: the time limit stopped it with an incumbent (out->gap); else no solution
 * with the reason in err. progress: a progress line on stderr. */
int ilp_solve(const lin_cand *c, int n, const lin_limits *lim, double time_limit_s,
              int progress, lin_solution *out, char *err, size_t errlen);

/* The same optimum by enumerating every candidate and every distribution (exhaustive.c).
 * Refuses (ILP_TOO_BIG) when more than max_evals distributions would be tried. */
int exhaustive_solve(const lin_cand *c, int n, const lin_limits *lim, double max_evals,
                     lin_solution *out, char *err, size_t errlen);
/* How many distributions exhaustive_solve would try for candidate c. */
double exhaustive_count(const lin_cand *c);

#endif
