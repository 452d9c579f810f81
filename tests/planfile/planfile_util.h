/* planfile_util.h: helpers for the plan-file tests: check macros, models and topologies
 * built in code, captured diagnostics, and text edits on written files. */
#ifndef PLANFILE_UTIL_H
#define PLANFILE_UTIL_H
#include <stdio.h>
#include "../check.h"
#include "plan.h"
#include "topology.h"

#define CHECK_EQ(a, b)                                                          \
    do {                                                                        \
        long long a_ = (a), b_ = (b);                                           \
        CHECK(a_ == b_, "%s == %s (%lld vs %lld)", #a, #b, a_, b_);             \
    } while (0)

/* A valid model built in code (model_check passes). */
attn_model pf_model(attn_arch arch, int layers, int heads, int kv_heads, int head_dim, int ffn, int batch);
attn_strategy pf_strategy(int dp, int pp, int n, int m, attn_scheme scheme);
/* nodes x per_node devices, one device and node type, no multi-node NVLink domain. */
void pf_topology(attn_topology *t, int nodes, int per_node, double memory_bytes);
void pf_topology_free(attn_topology *t);

/* A diag whose output is captured; pf_diag_text returns what was printed so far. */
typedef struct pf_diag {
    attn_diag d;
    char text[16384];
} pf_diag;
void pf_diag_begin(pf_diag *c);
const char *pf_diag_text(pf_diag *c);
void pf_diag_end(pf_diag *c);

/* dir/name into buf. */
const char *pf_path(char *buf, size_t len, const char *dir, const char *name);
/* Whole file into a malloc'd string (NULL on error). */
char *pf_read_file(const char *path);
int pf_write_file(const char *path, const char *text);
/* In the line that contains `anchor`, replaces the first `from` with `to` (whole text when
 * anchor is NULL); returns a malloc'd copy or NULL when not found. */
char *pf_edit(const char *text, const char *anchor, const char *from, const char *to);
/* 1-based line number of the first line containing s (0 if none). */
int pf_line_of(const char *text, const char *s);
#endif
