/* forward_ops.c: the forward's counted primitives, shared by forward.c and forward_attn.c
 * (forward_private.h): the GEMM call that counts flops and launches, the sent-bytes counter
 * with NCCL's bus conventions, and the score tiling the cost model also computes. */
#include "forward_private.h"

void fw_gemm(attn_forward *fw, int op, int transA, int transB, int M, int N, int K, float alpha,
             attn_ptr A, int lda, long long strideA, attn_ptr B, int ldb, long long strideB, float beta,
             attn_ptr C, int ldc, long long strideC, int batch) {
    if (M == 0 || N == 0 || batch == 0) return;
    if (fw->counting) {
        fw->flops[fw->phase][op] += 2.0 * M * N * K * (double)batch;
        fw->gemm_calls[fw->phase][op] += 1;
    }
    (op == OP_SCORES ? fw->be->gemm_to_f32 : fw->be->gemm)(fw->be->ctx, transA, transB, M, N, K, alpha, A, lda, strideA,
                                                          B, ldb, strideB, beta, C, ldc, strideC, batch);
}

void fw_comm_bytes(attn_forward *fw, int op, double elems, size_t elem_bytes) {
    if (fw->counting) fw->comm_bytes[fw->phase][op] += elems * (double)elem_bytes;
}

/* bytes a member sends, with NCCL's bus conventions (docs/metrics.md) */
double fw_allreduce_elems(size_t count, int p) { return coll_bus_factor(COLL_ALLREDUCE, p) * (double)count; }

void fw_tiling(const attn_forward *fw, int nseq, int decode, attn_tiling *t) {
    /* bytes per score pair as the cost model counts them (fp32 scores + probabilities in
     * the model dtype), whatever this backend stores: the blocks, and so the collective
     * calls, must be the ones priced */
    double pair = ATTN_SCORE_ELEM_BYTES + dtype_bytes(fw->plan->model.dtype);
    attn_tiling_plan(t, nseq, fw->att_nq, decode ? 1 : fw->query_chunk, decode ? fw->TMAX : fw->L, pair,
                     fw->score_workspace);
}
