/* attn_tiling.c: the score-block rule of attn_tiling.h. */
#include "attn_tiling.h"
#include <math.h>

static int ceil_div(int a, int b) { return (a + b - 1) / b; }

void attn_tiling_plan(attn_tiling *t, int seqs, int heads, int rows, int keys, double bytes_per_pair,
                      double budget_bytes) {
    double budget = budget_bytes > 0 ? budget_bytes : ATTN_SCORE_WORKSPACE_DEFAULT;
    t->seqs = seqs;
    t->heads = heads;
    t->seq_blocks = t->head_blocks = 1;
    t->block_seqs = seqs > 0 ? seqs : 0;
    t->block_heads = heads > 0 ? heads : 0;
    double pair = (double)(rows > 0 ? rows : 0) * (keys > 0 ? keys : 0) * (bytes_per_pair > 0 ? bytes_per_pair : 0);
    if (seqs > 0 && heads > 0 && pair > 0) {
        double seq_bytes = pair * heads; /* one sequence, all its heads */
        if (seq_bytes <= budget) {
            /* floor(budget / seq_bytes) in double: it may exceed INT_MAX for tiny blocks */
            double fit = floor(budget / seq_bytes);
            int per = fit >= seqs ? seqs : (int)fit;
            t->seq_blocks = ceil_div(seqs, per);
        } else {
            t->seq_blocks = seqs;
            double fit = floor(budget / pair);
            int per = fit >= heads ? heads : fit < 1 ? 1 : (int)fit;
            t->head_blocks = ceil_div(heads, per);
        }
        t->block_seqs = ceil_div(seqs, t->seq_blocks);
        t->block_heads = ceil_div(heads, t->head_blocks);
    }
    t->block_bytes = (double)t->block_seqs * t->block_heads * pair;
}

void attn_tiling_part(int total, int parts, int i, int *begin, int *count) {
    if (parts < 1) parts = 1;
    if (total < 0) total = 0;
    int base = total / parts, extra = total % parts;
    *count = base + (i < extra);
    *begin = i * base + (i < extra ? i : extra);
}

int attn_parse_bytes(const char *s, double *out) {
    /* digits only (strtod would also take hex, exponents and "inf"), then the suffix */
    if (!s) return -1;
    double v = 0;
    const char *c = s;
    for (; *c >= '0' && *c <= '9'; c++) {
        v = v * 10 + (*c - '0');
        if (v > 1e18) return -1; /* far beyond the cap; stops the loop from overflowing */
    }
    if (c == s) return -1;
    if (*c == 'K') v *= 1024.0, c++;
    else if (*c == 'M') v *= 1024.0 * 1024.0, c++;
    else if (*c == 'G') v *= 1024.0 * 1024.0 * 1024.0, c++;
    if (*c != '\0' || v < 1 || v > 1125899906842624.0) return -1;
    *out = v;
    return 0;
}
