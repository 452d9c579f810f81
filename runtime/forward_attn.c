/* forward_attn.c: the attention of one layer for every scheme (docs/model-contract.md).
 * In: q[N, NQ, HS], k/v[N, NKV, HS] (the rank's dims of its heads, RoPE applied).
 * Out: att[N, NQ, HS], the same dimension-split layout, ready for the row-parallel o_proj.
 *   none / score-allreduce: K, V segments go to the cache; per query block, partial scores
 *     q_seg·k_segᵀ (summed over the SEG group for score-allreduce), softmax, P·v_seg.
 *   qk-allgather: Q and K segments all-gathered over SEG into whole heads (dims ordered
 *     segment by segment, the same order for Q and K), full scores, P·v_seg.
 *   head-alltoall: all-to-all to whole heads a2a_head_begin..end (Q, and the K/V heads they
 *     use), attention on whole heads, all-to-all back to the dimension-split layout.
 * Where the attention is fused (forward_is_attention_fused: none, qk-allgather and
 * head-alltoall on a backend with attention_fused) the core is one backend.h
 * attention_fused call per layer and microbatch (or decode step) over all its sequences x
 * heads, timed as OP_ATTENTION. Otherwise scores are formed per query block [q0, q0+Tq)
 * against keys 0..q0+Tq-1 only, so the L x L matrix never exists, and per score block of
 * sequences x heads (attn_tiling.h), so the workspace does not grow with the microbatch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "forward_private.h"

/* Appends src[N, heads*width] (nseq sequences of T rows) to a cache at positions pos0.. */
static void cache_append(attn_forward *fw, attn_ptr cache, attn_ptr src, int nseq, int T, int pos0, int seq0, int width) {
    size_t row = (size_t)fw->cache_kv_heads * width;
    if (fw->step_graph) { /* a recorded decode step (T = 1): the row from the step slots, one launch */
        fw->be->cache_write_step(fw->be->ctx, fw_at(fw, cache, (size_t)seq0 * fw->TMAX * row), (size_t)fw->TMAX * row, src,
                                 (size_t)T * row, nseq, row);
        return;
    }
    for (int s = 0; s < nseq; s++) {
        attn_ptr dst = fw_at(fw, cache, ((size_t)(seq0 + s) * fw->TMAX + pos0) * row);
        fw->be->copy2d(fw->be->ctx, dst, row, fw_at(fw, src, (size_t)s * T * row), row, (size_t)T, row);
    }
}

/* The KV-cache write of K and V rows [nseq*T, heads*width] at positions pos0... With the
 * sequence axis (forward_seq.c) the cache holds the slice's own rows: a prefill's two
 * chunks (chunk-major in src) go to cache rows [0, TL) of each sequence, chunk 0 then
 * chunk 1; a decode step's row only to the slice that owns the step (plan.h), after its
 * prefill rows and the steps it owned before. */
static void kv_write(attn_forward *fw, fwd_layer *ly, attn_ptr k, attn_ptr v, int nseq, int T, int pos0, int seq0) {
    if (fw->S == 1) {
        cache_append(fw, ly->k_cache, k, nseq, T, pos0, seq0, fw->k_width);
        cache_append(fw, ly->v_cache, v, nseq, T, pos0, seq0, fw->v_width);
        return;
    }
    size_t rk = (size_t)fw->cache_kv_heads * fw->k_width, rv = (size_t)fw->cache_kv_heads * fw->v_width;
    if (fw->phase == PHASE_DECODE) {
        int step = pos0 - fw->L;
        if (plan_seq_decode_owner(step, fw->S) != fw->me->seq) return;
        cache_append(fw, ly->k_cache, k, nseq, T, fw->TL + step / fw->S, seq0, fw->k_width);
        cache_append(fw, ly->v_cache, v, nseq, T, fw->TL + step / fw->S, seq0, fw->v_width);
        return;
    }
    for (int c = 0, row = 0; c < 2; c++) {
        int len = fw->seq_e[c] - fw->seq_b[c];
        if (!len) continue;
        cache_append(fw, ly->k_cache, fw_at(fw, k, (size_t)nseq * row * rk), nseq, len, row, seq0, fw->k_width);
        cache_append(fw, ly->v_cache, fw_at(fw, v, (size_t)nseq * row * rv), nseq, len, row, seq0, fw->v_width);
        row += len;
    }
}

/* One query chunk's score block inside attend(): sequences [s0, s0+ns) x query heads
 * [h0, h0+nh) of the call, query rows [c, c+Tq) against keys [0, Tk). */
typedef struct att_block {
    attn_ptr Q, out;
    int qw, T, c, Tq, Tk, seq0, s0, ns, h0, nh;
} att_block;

/* One batched GEMM of a block (OP_SCORES or OP_PV) over sequences [s, s+ns) x query heads
 * [h, h+nh): batched over the heads of one sequence (ns == 1) or over the sequences of one
 * head (nh == 1), as attn_gemm_batch chose. The block's scores are [ns][nh][Tq][Tk]. */
static void att_gemm(attn_forward *fw, fwd_layer *ly, int op, const att_block *b, int s, int ns, int h, int nh) {
    int nq = fw->att_nq, kw = fw->k_width, vw = fw->v_width, qw = b->qw;
    size_t q_ld = (size_t)nq * qw, o_ld = (size_t)nq * vw;
    size_t k_ld = (size_t)fw->cache_kv_heads * kw, v_ld = (size_t)fw->cache_kv_heads * vw;
    size_t blk = (size_t)b->Tq * b->Tk, seq_blk = (size_t)b->nh * blk;
    size_t kv = (size_t)((fw->att_q_begin + h) / fw->QPK - fw->cache_kv_begin);
    size_t qrow = (size_t)s * b->T + b->c, cache_row = (size_t)(b->seq0 + s) * fw->TMAX;
    /* the block's part: fp32 scores out of q.k^T, storage-type probabilities into p.v */
    size_t at = (size_t)(s - b->s0) * seq_blk + (size_t)(h - b->h0) * blk;
    /* strides of Q (or out), K (or V), scores and the batch count, along the batched axis:
     * over heads the next query head, its kv head (the next one when every query head has
     * its own, the same one for a run sharing it) and its scores; over sequences the next
     * sequence's rows, cache and part of the block */
    long long sq, sk, sv, so, ss;
    int batch;
    if (nh > 1) {
        sq = qw, so = vw, ss = (long long)blk, batch = nh;
        sk = fw->QPK == 1 ? kw : 0, sv = fw->QPK == 1 ? vw : 0;
    } else {
        sq = (long long)(b->T * q_ld), so = (long long)(b->T * o_ld), ss = (long long)seq_blk, batch = ns;
        sk = (long long)(fw->TMAX * k_ld), sv = (long long)(fw->TMAX * v_ld);
    }
    if (op == OP_SCORES)
        fw_gemm(fw, OP_SCORES, 0, 1, b->Tq, b->Tk, qw, 1.0f, fw_at(fw, b->Q, qrow * q_ld + (size_t)h * qw), (int)q_ld, sq,
                fw_at(fw, ly->k_cache, cache_row * k_ld + kv * kw), (int)k_ld, sk, 0.0f, attn_f32_at(fw->scores, at), b->Tk,
                ss, batch);
    else
        fw_gemm(fw, OP_PV, 0, 0, b->Tq, vw, b->Tk, 1.0f, fw_at(fw, fw->probs, at), b->Tk, ss,
                fw_at(fw, ly->v_cache, cache_row * v_ld + kv * vw),
                (int)v_ld, sv, 0.0f, fw_at(fw, b->out, qrow * o_ld + (size_t)h * vw), (int)o_ld, so, batch);
}

/* The block's GEMMs of one op, batched as the shared rule says (attn_gemm_batch, the
 * calls the cost model prices): per query head over the sequences, or per sequence over
 * each run of heads (all of them when every query head has its own kv head). */
static void block_gemms(attn_forward *fw, fwd_layer *ly, int op, const att_block *b) {
    attn_gemm_batching bt = attn_gemm_batch(b->ns, fw->att_q_begin + b->h0, b->nh, fw->QPK);
    if (bt.over_seqs) {
        for (int i = b->h0; i < b->h0 + b->nh; i++) att_gemm(fw, ly, op, b, b->s0, b->ns, i, 1);
        return;
    }
    for (int s = b->s0; s < b->s0 + b->ns; s++)
        for (int i = b->h0; i < b->h0 + b->nh;) {
            int j = i + 1;
            if (fw->QPK == 1) j = b->h0 + b->nh;
            else
                while (j < b->h0 + b->nh && (fw->att_q_begin + j) / fw->QPK == (fw->att_q_begin + i) / fw->QPK) j++;
            att_gemm(fw, ly, op, b, s, 1, i, j - i);
            i = j;
        }
}

/* The fused core: Q[N, att_nq, qw] of nseq sequences of T rows at positions pos0.. against
 * the cache rows seq0.. (keys 0..pos0+T-1), into out[N, att_nq, v_width], in one call. */
static void attend_fused(attn_forward *fw, fwd_layer *ly, attn_ptr Q, int qw, attn_ptr out, int nseq, int T, int pos0,
                         int seq0) {
    attn_backend *be = fw->be;
    int nq = fw->att_nq, kw = fw->k_width, vw = fw->v_width;
    size_t q_ld = (size_t)nq * qw, o_ld = (size_t)nq * vw;
    size_t k_ld = (size_t)fw->cache_kv_heads * kw, v_ld = (size_t)fw->cache_kv_heads * vw;
    size_t cache_row = (size_t)seq0 * fw->TMAX;
    attn_fused_args a = {
        .seqs = nseq, .heads = nq, .head0 = fw->att_q_begin, .qpk = fw->QPK, .kv_base = fw->cache_kv_begin,
        /* recorded: the whole cache, the position from the step slots (forward_graph.c) */
        .Tq = T, .Tk = fw->step_graph ? fw->TMAX : pos0 + T, .q0 = pos0, .k0 = 0, .d_qk = qw, .d_v = vw,
        .scale = (float)(1.0 / sqrt((double)fw->D)), /* the whole head's width, whatever the split */
        .Q = Q, .q_ld = q_ld, .q_head = (size_t)qw, .q_seq = (size_t)T * q_ld,
        .K = fw_at(fw, ly->k_cache, cache_row * k_ld), .k_ld = k_ld, .k_head = (size_t)kw, .k_seq = (size_t)fw->TMAX * k_ld,
        .V = fw_at(fw, ly->v_cache, cache_row * v_ld), .v_ld = v_ld, .v_head = (size_t)vw, .v_seq = (size_t)fw->TMAX * v_ld,
        .O = out, .o_ld = o_ld, .o_head = (size_t)vw, .o_seq = (size_t)T * o_ld,
        .lse = {NULL},
    };
    if (nseq == 0 || nq == 0 || T == 0) return;
    if (fw->counting) {
        /* visible (query, key) pairs: row i sees keys 0..pos0+i; each costs q.k and p.v */
        double pairs = (double)nseq * nq * ((double)T * pos0 + (double)T * (T + 1) / 2.0);
        fw->flops[fw->phase][OP_ATTENTION] += 2.0 * (qw + vw) * pairs;
        fw->gemm_calls[fw->phase][OP_ATTENTION] += 1;
    }
    /* a recorded step skips the key tiles past the position when it runs, so its work
     * grows by one key per row and step: what a replay adds on top of the recording's count */
    if (fw->step_graph) fw->graph.attn_flops_per_pos += 2.0 * (qw + vw) * nseq * nq * T;
    if (fw->step_graph) OP(OP_ATTENTION, be->attention_fused_step(be->ctx, &a));
    else OP(OP_ATTENTION, be->attention_fused(be->ctx, &a));
}

/* Attention of att_nq query heads Q[N, att_nq, qw] against the cache, into
 * out[N, att_nq, v_width]. reduce_scores: sum the partial score blocks over SEG.
 * Per query chunk, the sequences × heads are processed in score blocks (fw_tiling,
 * attn_tiling.h) so the workspace is one block's, not the microbatch's: each block forms
 * its scores, all-reduces them (score-allreduce), runs the softmax and P·V. The members of
 * a SEG group tile alike (same rows, heads and options), so their all-reduces pair up. */
static void attend(attn_forward *fw, fwd_layer *ly, attn_ptr Q, int qw, attn_ptr out, int nseq, int T, int pos0,
                   int seq0, int reduce_scores) {
    if (fw->S > 1) { /* the sequence axis: fused only (forward_seq.c) */
        seq_attend(fw, ly, Q, qw, out, nseq, T, pos0, seq0);
        return;
    }
    if (fw->attention_fused) {
        attend_fused(fw, ly, Q, qw, out, nseq, T, pos0, seq0);
        return;
    }
    attn_backend *be = fw->be;
    int nh = fw->att_nq;
    float scale = (float)(1.0 / sqrt((double)fw->D)); /* the whole head's width, whatever the split */
    attn_tiling tl;
    fw_tiling(fw, nseq, fw->phase == PHASE_DECODE, &tl);
    /* chunk outer, blocks inner: every sequence of a chunk has the same positions, so one
     * all-reduce and one softmax cover a block's scores of all its sequences and heads */
    for (int c = 0; c < T; c += fw->query_chunk) {
        att_block b = {Q, out, qw, T, c, 0, 0, seq0, 0, 0, 0, 0};
        b.Tq = T - c < fw->query_chunk ? T - c : fw->query_chunk;
        int q0 = pos0 + c;
        b.Tk = fw->step_graph ? fw->TMAX : q0 + b.Tq; /* recorded: the whole cache, masked (forward_graph.c) */
        for (int sb = 0; sb < tl.seq_blocks; sb++) {
            split_part(nseq, tl.seq_blocks, sb, &b.s0, &b.ns);
            for (int hb = 0; hb < tl.head_blocks; hb++) {
                split_part(nh, tl.head_blocks, hb, &b.h0, &b.nh);
                size_t elems = (size_t)b.ns * b.nh * b.Tq * b.Tk;
                OP(OP_SCORES, block_gemms(fw, ly, OP_SCORES, &b));
                if (reduce_scores)
                    OP(OP_ATTN_COMM, {
                        fw->comm->allreduce_sum_f32(fw->comm, GROUP_SEG, fw->scores, elems);
                        fw_comm_bytes(fw, OP_ATTN_COMM, fw_allreduce_elems(elems, fw->M), sizeof(float));
                    });
                if (fw->step_graph)
                    OP(OP_SOFTMAX, be->softmax_causal_step(be->ctx, fw->probs, fw->scores, b.ns * b.nh, b.Tq, b.Tk, scale));
                else
                    OP(OP_SOFTMAX, be->softmax_causal(be->ctx, fw->probs, fw->scores, b.ns * b.nh, b.Tq, b.Tk, q0, scale));
                OP(OP_PV, block_gemms(fw, ly, OP_PV, &b));
            }
        }
    }
}

/* recv holds M blocks [N, heads, seg_hs[s]] (member order); assemble dst[N, heads, D]
 * with member s's dims at offset seg_off[s] of every head. */
static void assemble_heads(attn_forward *fw, attn_ptr dst, attn_ptr recv, int N, int heads) {
    size_t at = 0;
    for (int s = 0; s < fw->M; s++) {
        size_t hs = (size_t)fw->seg_hs[s];
        for (int h = 0; h < heads; h++)
            fw->be->copy2d(fw->be->ctx, fw_at(fw, dst, (size_t)h * fw->D + fw->seg_off[s]), (size_t)heads * fw->D,
                           fw_at(fw, recv, at + h * hs), (size_t)heads * hs, (size_t)N, hs);
        at += (size_t)N * heads * hs;
    }
}

static void attention_qk_allgather(attn_forward *fw, fwd_layer *ly, int N, int nseq, int T, int pos0, int seq0) {
    size_t *cq = malloc(2 * (size_t)fw->M * sizeof *cq);
    if (!cq) {
        fprintf(stderr, "%s:%d: error: out of memory\n", __FILE__, __LINE__);
        fw->comm->abort(fw->comm, 1);
    }
    size_t *ck = cq + fw->M;
    size_t total_q = 0, total_k = 0;
    for (int s = 0; s < fw->M; s++) {
        cq[s] = (size_t)N * fw->NQ * fw->seg_hs[s];
        ck[s] = (size_t)N * fw->NKV * fw->seg_hs[s];
        total_q += cq[s];
        total_k += ck[s];
    }
    OP(OP_ATTN_COMM, {
        fw->comm->allgather(fw->comm, GROUP_SEG, fw->q, fw->recv_buf, cq);
        assemble_heads(fw, fw->gq, fw->recv_buf, N, fw->NQ);
        fw->comm->allgather(fw->comm, GROUP_SEG, fw->k, fw->recv_buf, ck);
        assemble_heads(fw, fw->gk, fw->recv_buf, N, fw->NKV);
        fw_comm_bytes(fw, OP_ATTN_COMM, coll_bus_factor(COLL_ALLGATHER, fw->M) * (double)(total_q + total_k), fw->be->elem_bytes);
    });
    free(cq);
    OP(OP_KV_CACHE_WRITE, kv_write(fw, ly, fw->gk, fw->v, nseq, T, pos0, seq0));
    attend(fw, ly, fw->gq, fw->D, fw->att, nseq, T, pos0, seq0, 0);
}

/* member s's a2a query heads [h0,h1) and the kv heads they use [k0,k1) */
static void a2a_range(attn_forward *fw, int s, int *h0, int *h1, int *k0, int *k1) {
    const attn_rank_assign *o = plan_rank_entry(fw->plan, fw->seg_rank0 + s);
    *h0 = o->a2a_head_begin;
    *h1 = o->a2a_head_end;
    plan_kv_range(fw->QPK, *h0, *h1, k0, k1);
}

static void attention_head_alltoall(attn_forward *fw, fwd_layer *ly, int N, int nseq, int T, int pos0, int seq0) {
    attn_backend *be = fw->be;
    void *bc = be->ctx;
    int M = fw->M, HS = fw->HS, me = fw->me->seg;
    size_t *cnt = malloc(2 * (size_t)M * sizeof *cnt);
    if (!cnt) {
        fprintf(stderr, "%s:%d: error: out of memory\n", __FILE__, __LINE__);
        fw->comm->abort(fw->comm, 1);
    }
    size_t *send_counts = cnt, *recv_counts = cnt + M;
    int nh_me = fw->att_nq, nkv_me = fw->cache_kv_heads;
    size_t qw_ld = (size_t)fw->NQ * HS, kv_ld = (size_t)fw->NKV * HS;
    OP(OP_ATTN_COMM, {
        /* there: pack [Q | K | V] of member t's heads, my dims */
        size_t at = 0, sent = 0;
        for (int t = 0; t < M; t++) {
            int h0, h1, k0, k1;
            a2a_range(fw, t, &h0, &h1, &k0, &k1);
            size_t start = at;
            size_t qcols = (size_t)(h1 - h0) * HS, kcols = (size_t)(k1 - k0) * HS;
            be->copy2d(bc, fw_at(fw, fw->send_buf, at), qcols, fw_at(fw, fw->q, (size_t)(h0 - fw->me->head_begin) * HS), qw_ld, N, qcols);
            at += (size_t)N * qcols;
            be->copy2d(bc, fw_at(fw, fw->send_buf, at), kcols, fw_at(fw, fw->k, (size_t)(k0 - fw->me->kv_head_begin) * HS), kv_ld, N, kcols);
            at += (size_t)N * kcols;
            be->copy2d(bc, fw_at(fw, fw->send_buf, at), kcols, fw_at(fw, fw->v, (size_t)(k0 - fw->me->kv_head_begin) * HS), kv_ld, N, kcols);
            at += (size_t)N * kcols;
            send_counts[t] = at - start;
            if (t != me) sent += send_counts[t];
            recv_counts[t] = (size_t)N * fw->seg_hs[t] * (nh_me + 2 * nkv_me);
        }
        fw->comm->alltoall(fw->comm, GROUP_SEG, fw->send_buf, send_counts, fw->recv_buf, recv_counts);
        /* unpack: from member s, [N, nh_me, hs_s] then K and V [N, nkv_me, hs_s] */
        at = 0;
        for (int s = 0; s < M; s++) {
            size_t hs = (size_t)fw->seg_hs[s];
            struct { attn_ptr dst; int heads; } parts[3] = {{fw->gq, nh_me}, {fw->gk, nkv_me}, {fw->gv, nkv_me}};
            for (int p = 0; p < 3; p++) {
                for (int h = 0; h < parts[p].heads; h++)
                    be->copy2d(bc, fw_at(fw, parts[p].dst, (size_t)h * fw->D + fw->seg_off[s]), (size_t)parts[p].heads * fw->D,
                               fw_at(fw, fw->recv_buf, at + h * hs), (size_t)parts[p].heads * hs, N, hs);
                at += (size_t)N * parts[p].heads * hs;
            }
        }
        fw_comm_bytes(fw, OP_ATTN_COMM, (double)sent, fw->be->elem_bytes);
    });
    OP(OP_KV_CACHE_WRITE, kv_write(fw, ly, fw->gk, fw->gv, nseq, T, pos0, seq0));
    attend(fw, ly, fw->gq, fw->D, fw->go, nseq, T, pos0, seq0, 0);
    OP(OP_ATTN_COMM, {
        /* back: member t gets my whole heads' dims of t; I get my dims of every member's heads */
        size_t at = 0, sent = 0, o_ld = (size_t)nh_me * fw->D;
        for (int t = 0; t < M; t++) {
            size_t hs = (size_t)fw->seg_hs[t];
            for (int h = 0; h < nh_me; h++)
                be->copy2d(bc, fw_at(fw, fw->send_buf, at + h * hs), (size_t)nh_me * hs,
                           fw_at(fw, fw->go, (size_t)h * fw->D + fw->seg_off[t]), o_ld, N, hs);
            send_counts[t] = (size_t)N * nh_me * hs;
            at += send_counts[t];
            if (t != me) sent += send_counts[t];
            int h0, h1, k0, k1;
            a2a_range(fw, t, &h0, &h1, &k0, &k1);
            recv_counts[t] = (size_t)N * (h1 - h0) * HS;
        }
        fw->comm->alltoall(fw->comm, GROUP_SEG, fw->send_buf, send_counts, fw->recv_buf, recv_counts);
        at = 0;
        for (int s = 0; s < M; s++) {
            int h0, h1, k0, k1;
            a2a_range(fw, s, &h0, &h1, &k0, &k1);
            size_t cols = (size_t)(h1 - h0) * HS;
            be->copy2d(bc, fw_at(fw, fw->att, (size_t)(h0 - fw->me->head_begin) * HS), qw_ld, fw_at(fw, fw->recv_buf, at), cols, N, cols);
            at += (size_t)N * cols;
        }
        fw_comm_bytes(fw, OP_ATTN_COMM, (double)sent, fw->be->elem_bytes);
    });
    free(cnt);
}

void attention_forward(attn_forward *fw, fwd_layer *ly, int N, int nseq, int T, int pos0, int seq0) {
    switch (fw->plan->strategy.scheme) {
    case SCHEME_QK_ALLGATHER:
        attention_qk_allgather(fw, ly, N, nseq, T, pos0, seq0);
        return;
    case SCHEME_HEAD_ALLTOALL:
        attention_head_alltoall(fw, ly, N, nseq, T, pos0, seq0);
        return;
    default:
        OP(OP_KV_CACHE_WRITE, kv_write(fw, ly, fw->k, fw->v, nseq, T, pos0, seq0));
        attend(fw, ly, fw->q, fw->HS, fw->att, nseq, T, pos0, seq0, fw->plan->strategy.scheme == SCHEME_SCORE_ALLREDUCE);
    }
}
