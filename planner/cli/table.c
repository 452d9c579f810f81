/* table.c: text tables of ranked strategies: aligned columns, units in the header, one
 * line per strategy, so a person can read the ranking and grep it. */
#include <string.h>
#include "table.h"

void table_print_candidates(FILE *f, const plan_candidate *c, int n, int top) {
    int n_ok = 0, n_nofit = 0, n_bad = 0;
    for (int i = 0; i < n; i++) {
        if (c[i].status == CAND_OK) n_ok++;
        else if (c[i].status == CAND_NOFIT) n_nofit++;
        else n_bad++;
    }
    char s[128];
    int w = 44; /* the strategy column: as wide as the longest name (the sequence axis' are long) */
    for (int i = 0; i < n; i++) {
        strategy_format(&c[i].strategy, s, sizeof s);
        if ((int)strlen(s) > w) w = (int)strlen(s);
    }
    fprintf(f, "%d strategies: %d fit, %d do not fit, %d invalid\n\n", n, n_ok, n_nofit, n_bad);
    if (n_ok) {
        fprintf(f, "%4s  %-*s %14s %11s %10s %14s %9s %7s\n", "rank", w, "strategy", "prefill tok/s", "ttft s",
                "tpot ms", "decode tok/s", "mem GB", "comm %");
        int shown = 0;
        for (int i = 0; i < n; i++) {
            if (c[i].status != CAND_OK) continue;
            if (top > 0 && shown >= top) break;
            const double *v = c[i].metric;
            strategy_format(&c[i].strategy, s, sizeof s);
            fprintf(f, "%4d  %-*s %14.6g %11.5g %10.4f %14.6g %9.2f %7.1f\n", ++shown, w, s,
                    v[MET_PREFILL_TOKENS_PER_S], v[MET_TTFT_S], v[MET_TPOT_S] * 1e3, v[MET_DECODE_TOKENS_PER_S],
                    v[MET_PEAK_MEMORY_BYTES] / 1e9, 100 * v[MET_COMM_FRACTION]);
        }
        if (top > 0 && n_ok > top) fprintf(f, "      ... %d more that fit (--top)\n", n_ok - top);
    }
    if (n_nofit) {
        fprintf(f, "\ndo not fit in device memory:\n");
        for (int i = 0; i < n; i++) {
            if (c[i].status != CAND_NOFIT) continue;
            strategy_format(&c[i].strategy, s, sizeof s);
            fprintf(f, "      %-*s needs %.2f GB on its fullest device, %.2f GB over capacity\n", w, s,
                    c[i].metric[MET_PEAK_MEMORY_BYTES] / 1e9, c[i].shortfall_bytes / 1e9);
        }
    }
    if (n_bad) {
        fprintf(f, "\ninvalid for this model:\n");
        for (int i = 0; i < n; i++) {
            if (c[i].status != CAND_INVALID) continue;
            strategy_format(&c[i].strategy, s, sizeof s);
            fprintf(f, "      %-*s %s\n", w, s, c[i].reason);
        }
    }
}
