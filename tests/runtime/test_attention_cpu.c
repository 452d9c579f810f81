/* test_attention_cpu.c: the CPU backend's fused attention and its merge (backend.h
 * attention_fused / attention_merge) against the plain references (kernels_cpu.h
 * attention_forward_cpu / attention_merge_forward_cpu, double accumulation), on a table of
 * cases, each with its own tolerance. Inputs are random and never zero; every byte of
 * every buffer that is not an element (row, head and sequence padding) is NaN, so a read
 * of padding poisons the output and a write into it is seen. Every output element and
 * every lse is checked by relative error, |got - want| / max(|want|, FLOOR); rows with no
 * visible key must be exactly O = 0, lse = -inf. The merge is checked on splits of the
 * keys: attention over [0, a) merged with [a, Tk) equals attention over [0, Tk), for
 * a = 0, a = Tk and random a. Usage: test_attention_cpu [NAME_SUBSTRING...] runs only
 * the cases whose name contains one of the arguments. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend.h"
#include "../check.h"
#include "kernels_cpu.h"

/* below this magnitude an element's error is measured against FLOOR: the outputs are
 * weighted means of values of magnitude ~0.5, so an element near zero is a cancellation,
 * whose error is the absolute error of its terms */
#define FLOOR 1e-2

typedef struct attn_case {
    const char *name;
    int seqs, heads, head0, qpk, kv_base;
    int Tq, Tk, q0, k0, d_qk, d_v;
    int pad;        /* extra elements after every head, row and sequence */
    int head_major; /* 1: [seq][head][row][dim] instead of [seq][row][head][dim] */
    int no_lse;     /* 1: lse = NULL */
    double tol;     /* relative error allowed for O and lse */
} attn_case;

/* Tolerances: about 4x the worst error seen (fp32 scores and sums against double; the
 * largest are in the first rows of a prefill, a sharp softmax over few keys) */
static const attn_case cases[] = {
    /* name                  seqs hd h0 qpk kvb  Tq   Tk   q0   k0   dqk  dv pad hm nolse tol */
    {"prefill_mha_d64",        2, 3, 0, 1, 0, 150, 150, 0, 0, 64, 64, 0, 0, 0, 1e-4},
    {"prefill_gqa2_d80",       1, 4, 0, 2, 0, 300, 300, 0, 0, 80, 80, 3, 0, 0, 1e-4},
    {"prefill_gqa4_d96_dv64",  1, 8, 0, 4, 0, 130, 130, 0, 0, 96, 64, 1, 0, 0, 1e-4},
    {"prefill_gqa8_d128_h0",   1, 8, 8, 8, 1, 200, 200, 0, 0, 128, 128, 0, 0, 0, 1e-4},
    {"prefill_chunk_d256",     1, 2, 0, 1, 0, 70, 600, 530, 0, 256, 256, 2, 0, 0, 1e-4},
    {"prefill_odd_d33_dv47",   2, 3, 1, 2, 0, 77, 77, 0, 0, 33, 47, 5, 0, 0, 1e-4},
    {"prefill_allgather_dv32", 1, 4, 0, 2, 0, 260, 260, 0, 0, 128, 32, 0, 0, 0, 1e-4},
    {"prefill_head_major",     2, 4, 0, 2, 0, 90, 90, 0, 0, 64, 64, 7, 1, 0, 1e-4},
    {"prefill_lse_null",       1, 2, 0, 1, 0, 100, 100, 0, 0, 64, 64, 0, 0, 1, 1e-4},
    {"prefill_runs_h0_3_qpk4", 1, 5, 3, 4, 0, 65, 65, 0, 0, 64, 64, 0, 0, 0, 1e-4},
    {"prefill_past_keys",      1, 2, 0, 1, 0, 80, 300, 1000, 0, 64, 64, 0, 0, 0, 1e-4},
    {"offset_some_unseen",     1, 2, 0, 2, 0, 100, 90, 0, 40, 64, 64, 1, 0, 0, 1e-4},
    {"offset_none_seen",       1, 2, 0, 1, 0, 20, 30, 0, 500, 64, 64, 0, 0, 0, 1e-4},
    {"empty_keys",             1, 2, 0, 1, 0, 20, 0, 0, 0, 64, 64, 0, 0, 0, 1e-4},
    {"decode_qpk1_d64",        3, 4, 0, 1, 0, 1, 777, 776, 0, 64, 64, 0, 0, 0, 4e-5},
    {"decode_qpk2_d96",        2, 4, 0, 2, 0, 1, 513, 512, 0, 96, 96, 2, 0, 0, 4e-5},
    {"decode_qpk4_d128",       2, 8, 0, 4, 0, 1, 1000, 999, 0, 128, 128, 0, 0, 0, 4e-5},
    {"decode_qpk8_d256_h0",    1, 8, 16, 8, 2, 1, 300, 299, 0, 256, 256, 1, 0, 0, 4e-5},
    {"decode_odd_d33_dv80",    2, 6, 1, 3, 0, 1, 259, 258, 0, 33, 80, 3, 0, 0, 4e-5},
    {"decode_qpk4_h0_3_d80",   2, 6, 3, 4, 0, 1, 300, 299, 0, 80, 80, 2, 0, 0, 4e-5},
    {"decode_rows5_qpk4",      2, 4, 0, 4, 0, 5, 400, 395, 0, 64, 64, 0, 0, 0, 4e-5},
    {"decode_rows16_qpk2",     1, 4, 0, 2, 0, 16, 300, 284, 0, 80, 80, 0, 1, 0, 4e-5},
    {"decode_none_seen",       2, 2, 0, 2, 0, 1, 10, 3, 10, 64, 64, 0, 0, 0, 4e-5},
    {"decode_lse_null",        2, 4, 0, 2, 0, 1, 200, 199, 0, 64, 64, 0, 0, 1, 4e-5},
};

static unsigned long long rng = 0x9E3779B97F4A7C15ull;
static double urand01(void) { /* xorshift64 in [0, 1) */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (rng >> 11) * 0x1.0p-53;
}
static float urand(void) { /* [-1, 1) without exact zeros */
    float v = (float)(urand01() * 2.0 - 1.0);
    return v == 0.0f ? 0.5f : v;
}

/* One operand's layout: `rows` x `heads` x `width`, with padding */
typedef struct layout {
    int seqs, rows, heads, width;
    size_t ld, head, seq, total;
} layout;

static layout layout_make(const attn_case *c, int rows, int heads, int width) {
    layout L = {c->seqs, rows, heads, width, 0, 0, 0, 0};
    size_t p = (size_t)c->pad;
    if (c->head_major) {
        L.ld = width + p;
        L.head = rows * L.ld + p;
        L.seq = heads * L.head + p;
    } else {
        L.head = width + p;
        L.ld = heads * L.head + p;
        L.seq = rows * L.ld + p;
    }
    L.total = c->seqs * L.seq + 1; /* at least one element, for empty operands */
    return L;
}
static size_t layout_at(const layout *L, int s, int h, int r, int d) {
    return s * L->seq + h * L->head + r * L->ld + d;
}
static float *buf_alloc(const layout *L, int random) { /* NaN padding, random elements */
    float *p = malloc(L->total * sizeof *p);
    if (!p) {
        fprintf(stderr, "test_attention_cpu: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < L->total; i++) p[i] = NAN;
    if (random)
        for (int s = 0; s < L->seqs; s++)
            for (int h = 0; h < L->heads; h++)
                for (int r = 0; r < L->rows; r++)
                    for (int d = 0; d < L->width; d++) p[layout_at(L, s, h, r, d)] = urand();
    return p;
}

typedef struct operands {
    layout q, k, v, o;
    float *Q, *K, *V;
    int nkv;
} operands;

static double worst_o, worst_lse;

/* got against want: every element of O (and lse unless NULL), padding untouched */
static void compare(const attn_case *c, const char *what, const layout *o, const float *got, const float *want,
                    const float *got_lse, const float *want_lse, double tol) {
    int bad = 0;
    for (size_t i = 0; i < o->total && bad < 5; i++) {
        if (isnan(want[i])) { /* padding (want is a NaN-padded buffer of the same layout) */
            if (!isnan(got[i])) {
                CHECK(0, "%s %s: padding element %zu written (%g)", c->name, what, i, got[i]);
                bad++;
            }
            continue;
        }
        double e = fabs((double)got[i] - want[i]) / fmax(fabs(want[i]), FLOOR);
        if (want[i] == 0.0f && !(got[i] == 0.0f)) e = INFINITY; /* O = 0 exactly: a row with no key */
        if (!(e <= tol)) {
            CHECK(0, "%s %s: O element %zu: got %.9g, want %.9g (relative error %.2e > %.1e)", c->name, what, i, got[i],
                  want[i], e, tol);
            bad++;
        }
        if (e > worst_o) worst_o = e;
    }
    if (!got_lse) return;
    size_t n = (size_t)c->seqs * c->heads * c->Tq;
    for (size_t i = 0; i < n && bad < 5; i++) {
        double e;
        if (isinf(want_lse[i])) e = got_lse[i] == want_lse[i] ? 0.0 : INFINITY;
        else e = fabs((double)got_lse[i] - want_lse[i]) / fmax(fabs(want_lse[i]), FLOOR);
        if (!(e <= tol)) {
            CHECK(0, "%s %s: lse %zu: got %.9g, want %.9g (relative error %.2e > %.1e)", c->name, what, i, got_lse[i],
                  want_lse[i], e, tol);
            bad++;
        }
        if (e > worst_lse) worst_lse = e;
    }
}

/* the reference's arguments over keys [a, b) of the case, into O/lse */
static attention_cpu_args ref_args(const attn_case *c, const operands *op, int a, int b, float *O, float *lse) {
    attention_cpu_args r = {
        c->seqs, c->heads, c->head0, c->qpk, c->kv_base, c->Tq, b - a, c->q0, c->k0 + a, c->d_qk, c->d_v,
        (float)(1.0 / sqrt((double)c->d_qk)),
        op->Q, op->q.ld, op->q.head, op->q.seq,
        op->K + (size_t)a * op->k.ld, op->k.ld, op->k.head, op->k.seq,
        op->V + (size_t)a * op->v.ld, op->v.ld, op->v.head, op->v.seq,
        O, op->o.ld, op->o.head, op->o.seq, lse,
    };
    return r;
}
static attn_ptr P(const float *p) { return (attn_ptr){(char *)(void *)(size_t)p}; }
static attn_fused_args fused_args(const attention_cpu_args *r) {
    attn_fused_args f = {
        r->seqs, r->heads, r->head0, r->qpk, r->kv_base, r->Tq, r->Tk, r->q0, r->k0, r->d_qk, r->d_v, r->scale,
        P(r->Q), r->q_ld, r->q_head, r->q_seq,
        P(r->K), r->k_ld, r->k_head, r->k_seq,
        P(r->V), r->v_ld, r->v_head, r->v_seq,
        P(r->O), r->o_ld, r->o_head, r->o_seq, P(r->lse),
    };
    return f;
}

static void run_case(attn_backend *be, const attn_case *c) {
    operands op;
    op.nkv = (c->head0 + c->heads - 1) / c->qpk - c->kv_base + 1;
    op.q = layout_make(c, c->Tq, c->heads, c->d_qk);
    op.o = layout_make(c, c->Tq, c->heads, c->d_v);
    op.k = layout_make(c, c->Tk, op.nkv, c->d_qk);
    op.v = layout_make(c, c->Tk, op.nkv, c->d_v);
    op.Q = buf_alloc(&op.q, 1), op.K = buf_alloc(&op.k, 1), op.V = buf_alloc(&op.v, 1);
    /* sharper than unit variance so the softmax is far from uniform and the running max
     * moves between key tiles */
    for (size_t i = 0; i < op.q.total; i++) op.Q[i] *= 3.0f;
    size_t nl = (size_t)c->seqs * c->heads * c->Tq + 1;
    float *Oref = buf_alloc(&op.o, 0), *O = buf_alloc(&op.o, 0), *O2 = buf_alloc(&op.o, 0);
    float *lref = malloc(nl * sizeof *lref), *lse = malloc(nl * sizeof *lse), *lse2 = malloc(nl * sizeof *lse2);
    if (!lref || !lse || !lse2) exit(1);

    /* the reference over all keys, then the backend */
    attention_cpu_args r = ref_args(c, &op, 0, c->Tk, Oref, lref);
    CHECK(attention_forward_cpu(&r) == 0, "%s: reference refused the case", c->name);
    for (size_t i = 0; i < nl; i++) lse[i] = NAN;
    attention_cpu_args rb = ref_args(c, &op, 0, c->Tk, O, c->no_lse ? NULL : lse);
    attn_fused_args f = fused_args(&rb);
    be->attention_fused(be->ctx, &f);
    compare(c, "fused", &op.o, O, Oref, c->no_lse ? NULL : lse, lref, c->tol);
    if (c->no_lse) CHECK(isnan(lse[0]), "%s: lse written though NULL", c->name);

    /* merge: splits a = 0, Tk, and three random ones (the same for backend and reference) */
    if (!c->no_lse)
        for (int t = 0; t < 5; t++) {
            int a = t == 0 ? 0 : t == 1 ? c->Tk : (int)(urand01() * (c->Tk + 1));
            char what[64];
            /* backend partials, backend merge */
            for (size_t i = 0; i < op.o.total; i++) O[i] = O2[i] = NAN;
            attention_cpu_args r1 = ref_args(c, &op, 0, a, O, lse), r2 = ref_args(c, &op, a, c->Tk, O2, lse2);
            attn_fused_args f1 = fused_args(&r1), f2 = fused_args(&r2);
            be->attention_fused(be->ctx, &f1);
            be->attention_fused(be->ctx, &f2);
            attn_merge_args m = {c->seqs, c->heads, c->Tq, c->d_v, P(O), op.o.ld, op.o.head, op.o.seq,
                                 P(O2), op.o.ld, op.o.head, op.o.seq, P(lse), P(lse2)};
            be->attention_merge(be->ctx, &m);
            snprintf(what, sizeof what, "merge at %d of %d", a, c->Tk);
            compare(c, what, &op.o, O, Oref, lse, lref, c->tol);
            /* reference partials, reference merge */
            for (size_t i = 0; i < op.o.total; i++) O[i] = O2[i] = NAN;
            CHECK(attention_forward_cpu(&r1) == 0 && attention_forward_cpu(&r2) == 0);
            attention_merge_cpu_args mr = {c->seqs, c->heads, c->Tq, c->d_v, O, op.o.ld, op.o.head, op.o.seq,
                                           O2, op.o.ld, op.o.head, op.o.seq, lse, lse2};
            attention_merge_forward_cpu(&mr);
            snprintf(what, sizeof what, "reference merge at %d of %d", a, c->Tk);
            compare(c, what, &op.o, O, Oref, lse, lref, 1e-5); /* partials rounded to fp32 */
        }
    free(op.Q), free(op.K), free(op.V), free(Oref), free(O), free(O2), free(lref), free(lse), free(lse2);
}

int main(int argc, char **argv) {
    attn_backend *be = attn_backend_cpu_create(1);
    if (!be) return 1;
    CHECK(be->attention_fused && be->attention_merge, "the CPU backend has no fused attention");
    if (!be->attention_fused || !be->attention_merge) return check_finish("test_attention_cpu");
    int ran = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int want = argc < 2;
        for (int a = 1; a < argc; a++) want |= strstr(cases[i].name, argv[a]) != NULL;
        if (!want) continue;
        int before = check_failures;
        worst_o = worst_lse = 0;
        run_case(be, &cases[i]);
        printf("%s %-24s worst relative error: O %.2e, lse %.2e (tolerance %.0e)\n",
               check_failures == before ? "ok  " : "FAIL", cases[i].name, worst_o, worst_lse, cases[i].tol);
        ran++;
    }
    CHECK(ran > 0, "no case matches the arguments");
    be->destroy(be);
    return check_finish("test_attention_cpu");
}
