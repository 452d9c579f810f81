/* forward_seq.c: the sequence axis (S > 1; lib/plan.h's rules, docs/plan-format.md).
 * Prefill: this rank holds two zigzag chunks of every sequence, rows chunk-major; its
 * queries attend to every slice's keys either after one all-gather of K and V over the
 * SEQ group (cp=allgather: each query chunk is then one fused call over keys 0..its end)
 * or by S - 1 ring passes of the slices' K|V blocks (cp=ring: one fused call per query
 * chunk and visible key chunk, the partials merged by log-sum-exp, backend.h
 * attention_merge). Decode: the slice attends over its own cached positions (all visible
 * to the new token) and the S partials (O, LSE) are all-gathered over SEQ and merged in
 * member order on every slice, so the slices keep identical residual streams.
 * Only the fused attention runs here (attnrun refuses --attention unfused with S > 1):
 * a partial over a key range needs its LSE, which only the fused op returns. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "forward_private.h"

void seq_init(attn_forward *fw) {
    const attn_strategy *st = &fw->plan->strategy;
    const attn_rank_assign *a = fw->me;
    fw->S = strategy_seq(st);
    fw->seq_stride = st->n * st->m;
    fw->seq_rank0 = fw->rank - a->seq * fw->seq_stride;
    fw->TL = plan_seq_chunk_range(fw->L, fw->S, a->seq, &fw->seq_b[0], &fw->seq_e[0], &fw->seq_b[1], &fw->seq_e[1]);
    fw->seq_blk = 0;
    for (int j = 0; j < fw->S; j++) {
        int b0, e0, b1, e1, n = plan_seq_chunk_range(fw->L, fw->S, j, &b0, &e0, &b1, &e1);
        if (n > fw->seq_blk) fw->seq_blk = n;
    }
    /* the cache: the prefill positions, then the decode positions this slice owns */
    fw->TMAX = fw->TL + seq_owned_steps(fw, fw->TDEC);
    int QW = fw->NQ * fw->HS, KW = fw->NKV * fw->HS;
    fw->sharded = fw->S > 1 && st->weights == WEIGHTS_SHARDED;
    fw->pq0 = 0, fw->pq1 = QW, fw->pk0 = 0, fw->pk1 = KW;
    if (fw->sharded) {
        plan_seq_proj_range(QW, fw->S, a->seq, &fw->pq0, &fw->pq1);
        plan_seq_proj_range(KW, fw->S, a->seq, &fw->pk0, &fw->pk1);
    }
}

int seq_owned_steps(const attn_forward *fw, int steps) {
    int seq = fw->me->seq;
    return steps > seq ? (steps - seq + fw->S - 1) / fw->S : 0;
}

/* visible (query, key) pairs of Tq query rows at q0.. against Tk keys at k0..: row i sees
 * keys k0 + j <= q0 + i */
static double visible_pairs(int q0, int Tq, int k0, int Tk) {
    double n = 0;
    for (int i = 0; i < Tq; i++) {
        int v = q0 + i - k0 + 1;
        n += v < 0 ? 0 : v > Tk ? Tk : v;
    }
    return n;
}

/* keys of one fused call: rows [k0, k0+Tk) at K (V), head-major rows of row_k (row_v) */
typedef struct seq_keys {
    attn_ptr K, V;
    size_t k_seq, v_seq;
    int k0, Tk;
} seq_keys;

/* One fused call of nseq sequences x att_nq heads: Tq query rows at q0 (Q row stride
 * att_nq*qw, q_seq between sequences) against keys ks, into O (o_seq) and lse (fp32
 * [nseq][heads][Tq], or null) */
static void seq_fused(attn_forward *fw, attn_ptr Q, int qw, size_t q_seq, attn_ptr O, size_t o_seq, attn_ptr lse, int nseq,
                      int Tq, int q0, const seq_keys *ks) {
    attn_backend *be = fw->be;
    int nq = fw->att_nq, vw = fw->v_width;
    size_t k_ld = (size_t)fw->cache_kv_heads * fw->k_width, v_ld = (size_t)fw->cache_kv_heads * vw;
    attn_fused_args a = {
        .seqs = nseq, .heads = nq, .head0 = fw->att_q_begin, .qpk = fw->QPK, .kv_base = fw->cache_kv_begin,
        .Tq = Tq, .Tk = ks->Tk, .q0 = q0, .k0 = ks->k0, .d_qk = qw, .d_v = vw,
        .scale = (float)(1.0 / sqrt((double)fw->D)),
        .Q = Q, .q_ld = (size_t)nq * qw, .q_head = (size_t)qw, .q_seq = q_seq,
        .K = ks->K, .k_ld = k_ld, .k_head = (size_t)fw->k_width, .k_seq = ks->k_seq,
        .V = ks->V, .v_ld = v_ld, .v_head = (size_t)vw, .v_seq = ks->v_seq,
        .O = O, .o_ld = (size_t)nq * vw, .o_head = (size_t)vw, .o_seq = o_seq,
        .lse = lse,
    };
    if (fw->counting) {
        fw->flops[fw->phase][OP_ATTENTION] += 2.0 * (qw + vw) * nseq * nq * visible_pairs(q0, Tq, ks->k0, ks->Tk);
        fw->gemm_calls[fw->phase][OP_ATTENTION] += 1;
    }
    OP(OP_ATTENTION, be->attention_fused(be->ctx, &a));
}

/* (O, lse) <- merged with (O2, lse2): nseq sequences x att_nq heads x Tq rows, O's layout */
static void seq_merge(attn_forward *fw, attn_ptr O, attn_ptr lse, attn_ptr O2, attn_ptr lse2, int nseq, int Tq, size_t o_seq) {
    size_t o_ld = (size_t)fw->att_nq * fw->v_width;
    attn_merge_args m = {
        .seqs = nseq, .heads = fw->att_nq, .Tq = Tq, .d_v = fw->v_width,
        .O = O, .o_ld = o_ld, .o_head = (size_t)fw->v_width, .o_seq = o_seq,
        .O2 = O2, .o2_ld = o_ld, .o2_head = (size_t)fw->v_width, .o2_seq = o_seq,
        .lse = lse, .lse2 = lse2,
    };
    OP(OP_ATTENTION, fw->be->attention_merge(fw->be->ctx, &m));
}

/* elements of the storage type that carry n fp32 values (the LSEs cross the comm, which
 * only moves bytes in an all-gather, as storage elements) */
static size_t f32_as_elems(const attn_forward *fw, size_t n) { return n * sizeof(float) / fw->be->elem_bytes; }

/* Packs this slice's K|V of sequences seq0.. (TL cached rows each) into blk:
 * [K: nseq][TL][row_k] then [V: nseq][TL][row_v]; returns its elements. */
static size_t pack_own_kv(attn_forward *fw, fwd_layer *ly, attn_ptr blk, int nseq, int seq0) {
    size_t rk = (size_t)fw->cache_kv_heads * fw->k_width, rv = (size_t)fw->cache_kv_heads * fw->v_width;
    size_t TL = (size_t)fw->TL, TM = (size_t)fw->TMAX;
    fw->be->copy2d(fw->be->ctx, blk, TL * rk, fw_at(fw, ly->k_cache, (size_t)seq0 * TM * rk), TM * rk, (size_t)nseq, TL * rk);
    fw->be->copy2d(fw->be->ctx, fw_at(fw, blk, (size_t)nseq * TL * rk), TL * rv, fw_at(fw, ly->v_cache, (size_t)seq0 * TM * rv),
                   TM * rv, (size_t)nseq, TL * rv);
    return (size_t)nseq * TL * (rk + rv);
}

/* slice j's prefill chunks: positions [b[c], e[c]); its rows per sequence */
static int slice_chunks(const attn_forward *fw, int j, int b[2], int e[2]) {
    return plan_seq_chunk_range(fw->L, fw->S, j, &b[0], &e[0], &b[1], &e[1]);
}

static void prefill_allgather(attn_forward *fw, fwd_layer *ly, attn_ptr Q, int qw, attn_ptr out, int nseq, int seq0) {
    attn_backend *be = fw->be;
    int S = fw->S, L = fw->L, nq = fw->att_nq, vw = fw->v_width;
    size_t rk = (size_t)fw->cache_kv_heads * fw->k_width, rv = (size_t)fw->cache_kv_heads * vw;
    size_t *counts = malloc((size_t)S * sizeof *counts);
    if (!counts) {
        fprintf(stderr, "%s:%d: error: out of memory\n", __FILE__, __LINE__);
        fw->comm->abort(fw->comm, 1);
    }
    size_t total = 0;
    for (int j = 0; j < S; j++) {
        int b[2], e[2];
        total += counts[j] = (size_t)nseq * slice_chunks(fw, j, b, e) * (rk + rv);
    }
    OP(OP_ATTN_COMM, {
        pack_own_kv(fw, ly, fw->kv_a, nseq, seq0);
        fw->comm->allgather(fw->comm, GROUP_SEQ, fw->kv_a, fw->kv_b, counts);
        /* every slice's chunks to their positions in kfull / vfull [nseq][L][row] */
        size_t at = 0;
        for (int j = 0; j < S; j++) {
            int b[2], e[2], n = slice_chunks(fw, j, b, e);
            attn_ptr bk = fw_at(fw, fw->kv_b, at), bv = fw_at(fw, fw->kv_b, at + (size_t)nseq * n * rk);
            for (int c = 0, r = 0; c < 2; r += e[c] - b[c], c++) {
                size_t len = (size_t)(e[c] - b[c]);
                if (!len) continue;
                be->copy2d(be->ctx, fw_at(fw, fw->kfull, (size_t)b[c] * rk), (size_t)L * rk, fw_at(fw, bk, (size_t)r * rk),
                           (size_t)n * rk, (size_t)nseq, len * rk);
                be->copy2d(be->ctx, fw_at(fw, fw->vfull, (size_t)b[c] * rv), (size_t)L * rv, fw_at(fw, bv, (size_t)r * rv),
                           (size_t)n * rv, (size_t)nseq, len * rv);
            }
            at += counts[j];
        }
        fw_comm_bytes(fw, OP_ATTN_COMM, coll_bus_factor(COLL_ALLGATHER, S) * (double)total, be->elem_bytes);
    });
    free(counts);
    size_t q_ld = (size_t)nq * qw, o_ld = (size_t)nq * vw;
    for (int c = 0, off = 0; c < 2; off += nseq * (fw->seq_e[c] - fw->seq_b[c]), c++) {
        int len = fw->seq_e[c] - fw->seq_b[c];
        if (!len) continue;
        seq_keys ks = {fw->kfull, fw->vfull, (size_t)L * rk, (size_t)L * rv, 0, fw->seq_e[c]};
        seq_fused(fw, fw_at(fw, Q, (size_t)off * q_ld), qw, (size_t)len * q_ld, fw_at(fw, out, (size_t)off * o_ld),
                  (size_t)len * o_ld, (attn_ptr){NULL}, nseq, len, fw->seq_b[c], &ks);
    }
}

/* The partials of this slice's query chunks against slice j's K|V block blk (rows
 * [K nseq x n][V nseq x n], n its rows per sequence), merged into out / lse. first: the
 * block is this slice's own (the first pass), whose diagonal chunks start the results. */
static void ring_block(attn_forward *fw, attn_ptr Q, int qw, attn_ptr out, int nseq, int j, attn_ptr blk, int first) {
    int nq = fw->att_nq, vw = fw->v_width;
    size_t rk = (size_t)fw->cache_kv_heads * fw->k_width, rv = (size_t)fw->cache_kv_heads * vw;
    size_t q_ld = (size_t)nq * qw, o_ld = (size_t)nq * vw;
    int b[2], e[2], n = slice_chunks(fw, j, b, e);
    attn_ptr bk = blk, bv = fw_at(fw, blk, (size_t)nseq * n * rk);
    /* own block: each query chunk's diagonal first (it writes out and lse), the rest merge */
    for (int pass = 0; pass < (first ? 2 : 1); pass++)
        for (int c = 0, off = 0; c < 2; off += nseq * (fw->seq_e[c] - fw->seq_b[c]), c++) {
            int len = fw->seq_e[c] - fw->seq_b[c];
            if (!len) continue;
            attn_ptr Qc = fw_at(fw, Q, (size_t)off * q_ld), Oc = fw_at(fw, out, (size_t)off * o_ld);
            attn_ptr lc = attn_f32_at(fw->lse, (size_t)off * nq), l2 = attn_f32_at(fw->lse2, (size_t)off * nq);
            attn_ptr O2 = fw_at(fw, fw->o2, (size_t)off * o_ld);
            for (int kc = 0, r = 0; kc < 2; r += e[kc] - b[kc], kc++) {
                int klen = e[kc] - b[kc];
                int diag = first && kc == c;
                if (!klen || (first && (pass == 0) != diag)) continue;
                if (b[kc] > fw->seq_e[c] - 1) continue; /* every key after every query: nothing visible */
                seq_keys ks = {fw_at(fw, bk, (size_t)r * rk), fw_at(fw, bv, (size_t)r * rv), (size_t)n * rk, (size_t)n * rv,
                               b[kc], klen};
                if (diag) {
                    seq_fused(fw, Qc, qw, (size_t)len * q_ld, Oc, (size_t)len * o_ld, lc, nseq, len, fw->seq_b[c], &ks);
                } else {
                    seq_fused(fw, Qc, qw, (size_t)len * q_ld, O2, (size_t)len * o_ld, l2, nseq, len, fw->seq_b[c], &ks);
                    seq_merge(fw, Oc, lc, O2, l2, nseq, len, (size_t)len * o_ld);
                }
            }
        }
}

static void prefill_ring(attn_forward *fw, fwd_layer *ly, attn_ptr Q, int qw, attn_ptr out, int nseq, int seq0) {
    int S = fw->S, me = fw->me->seq;
    size_t rk = (size_t)fw->cache_kv_heads * fw->k_width, rv = (size_t)fw->cache_kv_heads * fw->v_width;
    int next = fw->seq_rank0 + ((me + 1) % S) * fw->seq_stride, prev = fw->seq_rank0 + ((me + S - 1) % S) * fw->seq_stride;
    attn_ptr cur = fw->kv_a, nxt = fw->kv_b;
    OP(OP_ATTN_COMM, pack_own_kv(fw, ly, cur, nseq, seq0));
    for (int p = 0; p < S; p++) {
        int j = (me - p + S) % S; /* the slice whose block cur holds */
        int last = p == S - 1;
        if (!last) { /* the next block flies while this one's tiles run (comm.h) */
            int b[2], e[2], jn = (j + S - 1) % S;
            size_t send = (size_t)nseq * slice_chunks(fw, j, b, e) * (rk + rv);
            size_t recv = (size_t)nseq * slice_chunks(fw, jn, b, e) * (rk + rv);
            OP(OP_ATTN_COMM, {
                fw->comm->sendrecv_start(fw->comm, cur, send, next, nxt, recv, prev);
                fw_comm_bytes(fw, OP_ATTN_COMM, (double)send, fw->be->elem_bytes);
            });
        }
        ring_block(fw, Q, qw, out, nseq, j, cur, p == 0);
        if (last) break;
        OP(OP_ATTN_COMM, fw->comm->sendrecv_wait(fw->comm));
        attn_ptr t = cur;
        cur = nxt, nxt = t;
    }
}

/* decode step at position pos0 (T = 1): this slice's partial over its cached positions,
 * then the S partials gathered over SEQ and merged in member order */
static void decode_merge(attn_forward *fw, fwd_layer *ly, attn_ptr Q, int qw, attn_ptr out, int nseq, int pos0, int seq0) {
    int S = fw->S, nq = fw->att_nq, vw = fw->v_width;
    size_t rk = (size_t)fw->cache_kv_heads * fw->k_width, rv = (size_t)fw->cache_kv_heads * vw;
    int step = pos0 - fw->L, ctx = fw->TL + seq_owned_steps(fw, step + 1);
    size_t o_blk = (size_t)nseq * nq * vw, l_blk = (size_t)nseq * nq;
    seq_keys ks = {fw_at(fw, ly->k_cache, (size_t)seq0 * fw->TMAX * rk), fw_at(fw, ly->v_cache, (size_t)seq0 * fw->TMAX * rv),
                   (size_t)fw->TMAX * rk, (size_t)fw->TMAX * rv, 0, ctx};
    /* the new token sees every cached position: its query placed after the slice's last key */
    seq_fused(fw, Q, qw, (size_t)nq * qw, out, (size_t)nq * vw, fw->lse, nseq, 1, ctx - 1, &ks);
    size_t *counts = malloc(2 * (size_t)S * sizeof *counts);
    if (!counts) {
        fprintf(stderr, "%s:%d: error: out of memory\n", __FILE__, __LINE__);
        fw->comm->abort(fw->comm, 1);
    }
    for (int j = 0; j < S; j++) counts[j] = o_blk, counts[S + j] = f32_as_elems(fw, l_blk);
    OP(OP_ATTN_COMM, {
        fw->comm->allgather(fw->comm, GROUP_SEQ, out, fw->o2, counts);
        fw->comm->allgather(fw->comm, GROUP_SEQ, fw->lse, fw->lse2, counts + S);
        fw_comm_bytes(fw, OP_ATTN_COMM, coll_bus_factor(COLL_ALLGATHER, S) * S * (double)(o_blk + counts[S]), fw->be->elem_bytes);
    });
    free(counts);
    for (int j = 1; j < S; j++)
        seq_merge(fw, fw->o2, fw->lse2, fw_at(fw, fw->o2, j * o_blk), attn_f32_at(fw->lse2, j * l_blk), nseq, 1,
                  (size_t)nq * vw);
    OP(OP_ATTENTION, fw->be->copy2d(fw->be->ctx, out, o_blk, fw->o2, o_blk, 1, o_blk));
}

void seq_attend(attn_forward *fw, fwd_layer *ly, attn_ptr Q, int qw, attn_ptr out, int nseq, int T, int pos0, int seq0) {
    if (nseq == 0 || fw->att_nq == 0) return;
    if (fw->phase == PHASE_DECODE) {
        (void)T;
        decode_merge(fw, ly, Q, qw, out, nseq, pos0, seq0);
    } else if (fw->plan->strategy.cp == CP_RING) {
        prefill_ring(fw, ly, Q, qw, out, nseq, seq0);
    } else {
        prefill_allgather(fw, ly, Q, qw, out, nseq, seq0);
    }
}

void seq_take_rows(const attn_forward *fw, const void *src, size_t row_bytes, int nseq, void *dst) {
    char *d = dst;
    const char *s = src;
    for (int c = 0; c < 2; c++) {
        size_t len = (size_t)(fw->seq_e[c] - fw->seq_b[c]);
        for (int i = 0; i < nseq; i++, d += len * row_bytes)
            memcpy(d, s + ((size_t)i * fw->L + fw->seq_b[c]) * row_bytes, len * row_bytes);
    }
}

int seq_output_hidden(attn_forward *fw, int nseq, float *out) {
    attn_backend *be = fw->be;
    int S = fw->S;
    size_t C = (size_t)fw->C, L = (size_t)fw->L;
    size_t *counts = calloc((size_t)S, sizeof *counts);
    float *host = out ? malloc((size_t)nseq * L * C * sizeof *host) : NULL;
    if (!counts || (out && !host)) {
        free(counts);
        free(host);
        fprintf(stderr, "%s:%d: error: rank %d: out of memory gathering the slices' outputs\n", __FILE__, __LINE__, fw->rank);
        return -1;
    }
    for (int j = 0; j < S; j++) {
        int b[2], e[2];
        counts[j] = (size_t)nseq * slice_chunks(fw, j, b, e) * C;
    }
    fw->comm->allgather(fw->comm, GROUP_SEQ, fw->x, fw->seq_out, counts);
    int rc = 0;
    if (out) {
        be->synchronize(be->ctx);
        rc = be->download(be->ctx, host, fw->seq_out, (size_t)nseq * L * C);
        /* slice j's block: [chunk 0 of every sequence][chunk 1 of every sequence] */
        const float *blk = host;
        for (int j = 0; j < S && rc == 0; j++) {
            int b[2], e[2];
            slice_chunks(fw, j, b, e);
            for (int c = 0; c < 2; c++)
                for (int i = 0; i < nseq; i++) {
                    size_t len = (size_t)(e[c] - b[c]);
                    memcpy(out + ((size_t)i * L + b[c]) * C, blk, len * C * sizeof *out);
                    blk += len * C;
                }
        }
    }
    free(counts);
    free(host);
    return rc;
}

/* slice j's projection columns: q (and o input) [*q0, *q0 + *qn), k and v [*k0, *k0 + *kn) */
static void slice_cols(const attn_forward *fw, int j, int *q0, int *qn, int *k0, int *kn) {
    int q1, k1;
    *qn = plan_seq_proj_range(fw->NQ * fw->HS, fw->S, j, q0, &q1);
    *kn = plan_seq_proj_range(fw->NKV * fw->HS, fw->S, j, k0, &k1);
}

static size_t *seq_counts(attn_forward *fw) {
    size_t *c = calloc(2 * (size_t)fw->S, sizeof *c);
    if (!c) {
        fprintf(stderr, "%s:%d: error: out of memory\n", __FILE__, __LINE__);
        fw->comm->abort(fw->comm, 1);
    }
    return c;
}

static void copy_cols(attn_forward *fw, attn_ptr dst, size_t dst_ld, attn_ptr src, size_t src_ld, size_t rows, size_t cols) {
    if (rows && cols) fw->be->copy2d(fw->be->ctx, dst, dst_ld, src, src_ld, rows, cols);
}

void seq_shard_in(attn_forward *fw, int nseq) {
    int S = fw->S, me = fw->me->seq, decode = fw->phase == PHASE_DECODE;
    size_t QW = (size_t)fw->NQ * fw->HS, KW = (size_t)fw->NKV * fw->HS;
    size_t W = (size_t)(fw->pq1 - fw->pq0) + 2 * (size_t)(fw->pk1 - fw->pk0);
    size_t rows_me = decode ? (size_t)nseq : (size_t)nseq * fw->TL, sent = 0;
    size_t *cnt = seq_counts(fw), *send_counts = cnt, *recv_counts = cnt + S;
    for (int j = 0; j < S; j++) {
        int q0, qn, k0, kn;
        slice_cols(fw, j, &q0, &qn, &k0, &kn);
        recv_counts[j] = rows_me * (size_t)(qn + 2 * kn);
    }
    if (decode) { /* every slice computed its columns of the same tokens: gather them */
        fw->comm->allgather(fw->comm, GROUP_SEQ, fw->qkv_p, fw->sh_recv, recv_counts);
        sent = (size_t)nseq * W * (S - 1);
    } else { /* to slice t its positions (its chunk-major order), my columns */
        size_t at = 0;
        for (int t = 0; t < S; t++) {
            int b[2], e[2];
            size_t start = at;
            slice_chunks(fw, t, b, e);
            for (int c = 0; c < 2; c++)
                for (int i = 0; i < nseq; i++) {
                    size_t len = (size_t)(e[c] - b[c]);
                    copy_cols(fw, fw_at(fw, fw->sh_send, at), W, fw_at(fw, fw->qkv_p, ((size_t)i * fw->L + b[c]) * W), W, len, W);
                    at += len * W;
                }
            send_counts[t] = at - start;
            if (t != me) sent += send_counts[t];
        }
        fw->comm->alltoall(fw->comm, GROUP_SEQ, fw->sh_send, send_counts, fw->sh_recv, recv_counts);
    }
    /* from slice j: [my rows, its q | k | v columns] into q, k, v at its column offsets */
    size_t at = 0;
    for (int j = 0; j < S; j++) {
        int q0, qn, k0, kn;
        slice_cols(fw, j, &q0, &qn, &k0, &kn);
        size_t Wj = (size_t)qn + 2 * (size_t)kn;
        attn_ptr blk = fw_at(fw, fw->sh_recv, at);
        copy_cols(fw, fw_at(fw, fw->q, (size_t)q0), QW, blk, Wj, rows_me, (size_t)qn);
        copy_cols(fw, fw_at(fw, fw->k, (size_t)k0), KW, fw_at(fw, blk, (size_t)qn), Wj, rows_me, (size_t)kn);
        copy_cols(fw, fw_at(fw, fw->v, (size_t)k0), KW, fw_at(fw, blk, (size_t)(qn + kn)), Wj, rows_me, (size_t)kn);
        at += rows_me * Wj;
    }
    fw_comm_bytes(fw, OP_ATTN_COMM, (double)sent, fw->be->elem_bytes);
    free(cnt);
}

void seq_shard_out(attn_forward *fw, int nseq) {
    int S = fw->S, me = fw->me->seq;
    size_t QW = (size_t)fw->NQ * fw->HS, QWp = (size_t)(fw->pq1 - fw->pq0);
    if (fw->phase == PHASE_DECODE) { /* every slice holds the whole attention: take my columns */
        copy_cols(fw, fw->att_p, QWp, fw_at(fw, fw->att, (size_t)fw->pq0), QW, (size_t)nseq, QWp);
        return;
    }
    size_t rows_me = (size_t)nseq * fw->TL, at = 0, sent = 0;
    size_t *cnt = seq_counts(fw), *send_counts = cnt, *recv_counts = cnt + S;
    for (int t = 0; t < S; t++) { /* to slice t: my positions, its columns */
        int q0, qn, k0, kn, b[2], e[2];
        slice_cols(fw, t, &q0, &qn, &k0, &kn);
        copy_cols(fw, fw_at(fw, fw->sh_send, at), (size_t)qn, fw_at(fw, fw->att, (size_t)q0), QW, rows_me, (size_t)qn);
        send_counts[t] = rows_me * (size_t)qn;
        at += send_counts[t];
        if (t != me) sent += send_counts[t];
        recv_counts[t] = (size_t)nseq * slice_chunks(fw, t, b, e) * QWp;
    }
    fw->comm->alltoall(fw->comm, GROUP_SEQ, fw->sh_send, send_counts, fw->sh_recv, recv_counts);
    at = 0; /* from slice j: its positions (chunk-major), my columns, to their rows */
    for (int j = 0; j < S; j++) {
        int b[2], e[2];
        slice_chunks(fw, j, b, e);
        for (int c = 0; c < 2; c++)
            for (int i = 0; i < nseq; i++) {
                size_t len = (size_t)(e[c] - b[c]);
                copy_cols(fw, fw_at(fw, fw->att_p, ((size_t)i * fw->L + b[c]) * QWp), QWp, fw_at(fw, fw->sh_recv, at), QWp, len,
                          QWp);
                at += len * QWp;
            }
    }
    fw_comm_bytes(fw, OP_ATTN_COMM, (double)sent, fw->be->elem_bytes);
    free(cnt);
}
