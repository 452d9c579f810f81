/* forward_ends.c: the model's ends (docs/model-contract.md, "The ends"), as Megatron
 * shards them over a stage's n x m ranks (plan_vocab_range): each rank holds vocabulary
 * rows [v0, v1) of the embedding and of the LM head.
 *   embed (first stage): every rank writes the rows of the tokens in its range and zeros
 *     elsewhere, then one all-reduce over the stage sums the shards (vocab-parallel
 *     embedding); with one rank, only the row copies.
 *   head (last stage): each sequence's last position is copied out (prefill; one strided
 *     copy), normalized by the final norm, multiplied by the rank's LM-head rows
 *     (column-parallel over the vocabulary: logits of its vocabulary columns), and the
 *     logits all-gathered over the stage, so every rank of the stage holds all of them.
 * The cost model prices the same calls (planner/cost/cost_ends.c). */
#include "forward_private.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t ends_rows(const attn_forward *fw) { return (size_t)(fw->max_mb_rows > fw->B ? fw->max_mb_rows : fw->B); }

/* one buffer of count storage elements, counted in *category; 0 or -1 with err set */
static int ends_alloc(attn_forward *fw, attn_ptr *slot, size_t count, size_t *category, const char *name, attn_error *err) {
    if (count == 0) count = 1;
    *slot = fw->be->alloc(fw->be->ctx, count);
    if (attn_ptr_null(*slot)) {
        attn_error_set(err, ATTN_EXIT_FAIL, "rank %d: %s backend could not allocate %s (%zu bytes)", fw->rank,
                       fw->be->name, name, count * fw->be->elem_bytes);
        return -1;
    }
    fw->be->fill(fw->be->ctx, *slot, count, 0.0f);
    *category += count * fw->be->elem_bytes;
    return 0;
}

/* rows [v0, v1) of the [V, C] matrix `name` into dst via host staging */
static int ends_load_rows(attn_forward *fw, tensor_source *ws, const char *name, attn_ptr dst, float *host, attn_error *err) {
    fwd_ends *e = &fw->ends;
    long long shape[2] = {e->V, fw->C};
    if (e->v1 == e->v0) return 0;
    if (tensor_read_block(ws, name, 2, shape, e->v0, e->v1, 0, fw->C, host, err->msg, sizeof err->msg) != 0) {
        err->kind = ATTN_EXIT_BADINPUT;
        return -1;
    }
    if (fw->be->upload(fw->be->ctx, dst, host, (size_t)(e->v1 - e->v0) * fw->C) != 0) {
        attn_error_set(err, ATTN_EXIT_FAIL, "upload of %s to the %s backend failed", name, fw->be->name);
        return -1;
    }
    return 0;
}

static int ends_load_vector(attn_forward *fw, tensor_source *ws, const char *name, attn_ptr dst, float *host, attn_error *err) {
    long long shape[1] = {fw->C};
    if (tensor_read_block(ws, name, 1, shape, 0, 1, 0, fw->C, host, err->msg, sizeof err->msg) != 0) {
        err->kind = ATTN_EXIT_BADINPUT;
        return -1;
    }
    if (fw->be->upload(fw->be->ctx, dst, host, (size_t)fw->C) != 0) {
        attn_error_set(err, ATTN_EXIT_FAIL, "upload of %s to the %s backend failed", name, fw->be->name);
        return -1;
    }
    return 0;
}

int fw_ends_create(attn_forward *fw, tensor_source *ws, attn_error *err) {
    const attn_plan *p = fw->plan;
    const attn_model *m = &p->model;
    fwd_ends *e = &fw->ends;
    memset(e, 0, sizeof *e);
    if (m->vocab_size <= 0) return 0;
    e->on = 1;
    e->V = m->vocab_size;
    e->P = p->strategy.n * p->strategy.m;
    plan_vocab_range(e->V, p->strategy.n, p->strategy.m, fw->me->head_group, fw->me->seg, &e->v0, &e->v1);
    e->counts = calloc(2 * (size_t)e->P, sizeof *e->counts);
    if (!e->counts) {
        attn_error_set(err, ATTN_EXIT_FAIL, "out of memory");
        return -1;
    }
    for (int i = 0; i < e->P; i++)
        e->counts[i] = (size_t)plan_vocab_range(e->V, p->strategy.n, p->strategy.m, i / p->strategy.m, i % p->strategy.m, NULL, NULL);
    /* the stage test of forward.c, written here: forward_ends.c never calls back into forward.c */
    int first = fw->me->stage == 0, last = fw->me->stage == p->strategy.pp - 1, gpt = m->arch == ARCH_GPT;
    size_t C = (size_t)fw->C, Vp = (size_t)(e->v1 - e->v0), R = ends_rows(fw);
    float *host = malloc((Vp > 0 ? Vp : 1) * C * sizeof *host);
    if (!host) {
        attn_error_set(err, ATTN_EXIT_FAIL, "out of memory staging the vocabulary shard");
        return -1;
    }
    int rc = 0;
    if (first)
        rc = ends_alloc(fw, &e->embed, Vp * C, &fw->bytes_weights, "embed_tokens", err) ||
             ends_load_rows(fw, ws, "model.embed_tokens.weight", e->embed, host, err);
    if (!rc && last) {
        if (m->tie_word_embeddings && first) {
            e->head = e->embed; /* one matrix, held once */
        } else {
            rc = ends_alloc(fw, &e->head, Vp * C, &fw->bytes_weights, "lm_head", err) ||
                 ends_load_rows(fw, ws, m->tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight", e->head,
                                host, err);
        }
        rc = rc || ends_alloc(fw, &e->norm_w, C, &fw->bytes_weights, "norm", err) ||
             ends_load_vector(fw, ws, "model.norm.weight", e->norm_w, host, err);
        if (gpt)
            rc = rc || ends_alloc(fw, &e->norm_b, C, &fw->bytes_weights, "norm_bias", err) ||
                 ends_load_vector(fw, ws, "model.norm.bias", e->norm_b, host, err);
        rc = rc || ends_alloc(fw, &e->last, R * C, &fw->bytes_activations, "last_hidden", err) ||
             ends_alloc(fw, &e->normed, R * C, &fw->bytes_activations, "final_norm", err) ||
             ends_alloc(fw, &e->logits, R * Vp, &fw->bytes_activations, "logits", err);
        if (!rc && e->P > 1) rc = ends_alloc(fw, &e->gathered, R * (size_t)e->V, &fw->bytes_comm, "gathered_logits", err);
        if (!rc && !(e->host = malloc(R * (size_t)e->V * sizeof *e->host))) {
            attn_error_set(err, ATTN_EXIT_FAIL, "out of memory for the logits");
            rc = -1;
        }
    }
    free(host);
    return rc ? -1 : 0;
}

void fw_ends_destroy(attn_forward *fw) {
    fwd_ends *e = &fw->ends;
    attn_ptr *bufs[] = {&e->embed, &e->head, &e->norm_w, &e->norm_b, &e->last, &e->normed, &e->logits, &e->gathered};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        if (attn_ptr_null(*bufs[i])) continue;
        if (i == 1 && bufs[1]->addr == e->embed.addr) continue; /* tied: freed as embed */
        fw->be->free(fw->be->ctx, *bufs[i]);
    }
    free(e->counts);
    free(e->host);
    memset(e, 0, sizeof *e);
}

void fw_ends_embed(attn_forward *fw, const int32_t *ids, int N) {
    attn_backend *be = fw->be;
    fwd_ends *e = &fw->ends;
    size_t C = (size_t)fw->C, NC = (size_t)N * C;
    OP(OP_EMBED, {
        if (e->P > 1) be->fill(be->ctx, fw->x, NC, 0.0f); /* rows of other ranks' tokens: zeros to sum */
        for (int i = 0; i < N; i++)
            if (ids[i] >= e->v0 && ids[i] < e->v1)
                be->copy2d(be->ctx, fw_at(fw, fw->x, (size_t)i * C), C, fw_at(fw, e->embed, (size_t)(ids[i] - e->v0) * C), C, 1, C);
    });
    if (e->P > 1)
        OP(OP_EMBED_COMM, {
            fw->comm->allreduce_sum(fw->comm, GROUP_STAGE, fw->x, NC);
            fw_comm_bytes(fw, OP_EMBED_COMM, fw_allreduce_elems(NC, e->P), be->elem_bytes);
        });
}

void fw_ends_head(attn_forward *fw, attn_ptr x, int nseq, int T, float *out) {
    attn_backend *be = fw->be;
    fwd_ends *e = &fw->ends;
    const attn_model *m = &fw->plan->model;
    int C = fw->C, Vp = e->v1 - e->v0;
    float eps = (float)m->norm_eps;
    OP(OP_FINAL_NORM, {
        attn_ptr src = x;
        if (T > 1) { /* row T-1 of each sequence, one strided copy */
            be->copy2d(be->ctx, e->last, (size_t)C, fw_at(fw, x, (size_t)(T - 1) * C), (size_t)T * C, (size_t)nseq, (size_t)C);
            src = e->last;
        }
        if (m->arch == ARCH_GPT) be->layernorm(be->ctx, e->normed, src, e->norm_w, e->norm_b, nseq, C, eps);
        else be->rmsnorm(be->ctx, e->normed, src, e->norm_w, nseq, C, eps);
    });
    if (fw->nan_fill && Vp > 0) be->fill(be->ctx, e->logits, (size_t)nseq * Vp, NAN);
    OP(OP_LM_HEAD, fw_gemm(fw, OP_LM_HEAD, 0, 1, nseq, Vp, C, 1.0f, e->normed, C, 0, e->head, C, 0, 0.0f, e->logits, Vp, 0, 1));
    attn_ptr result = e->logits;
    if (e->P > 1) {
        size_t *counts = e->counts + e->P, total = 0;
        for (int i = 0; i < e->P; i++) total += counts[i] = (size_t)nseq * e->counts[i];
        OP(OP_LM_HEAD_COMM, {
            fw->comm->allgather(fw->comm, GROUP_STAGE, e->logits, e->gathered, counts);
            fw_comm_bytes(fw, OP_LM_HEAD_COMM, coll_bus_factor(COLL_ALLGATHER, e->P) * (double)total, be->elem_bytes);
        });
        result = e->gathered;
    }
    if (!out) return;
    be->synchronize(be->ctx);
    size_t n = (size_t)nseq * e->V;
    if (be->download(be->ctx, e->P > 1 ? e->host : out, result, n) != 0) {
        fprintf(stderr, "%s:%d: error: rank %d: logits download failed\n", __FILE__, __LINE__, fw->rank);
        fw->comm->abort(fw->comm, 1);
    }
    if (e->P > 1) /* member-major [member][nseq][its rows] to [nseq][V] */
        for (size_t i = 0, v = 0; i < (size_t)e->P; v += e->counts[i], i++) {
            const float *blk = e->host + (size_t)nseq * v;
            for (int s = 0; s < nseq; s++)
                memcpy(out + (size_t)s * e->V + v, blk + (size_t)s * e->counts[i], e->counts[i] * sizeof *out);
        }
}
