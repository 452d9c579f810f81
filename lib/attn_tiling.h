/* attn_tiling.h: how one attention call splits its score workspace into blocks of
 * sequences and heads. The attention core forms, per query chunk, the scores of every
 * (sequence, head) pair it covers; doing that for all sequences of a microbatch at once
 * needs a workspace proportional to the microbatch (hundreds of GB for a batch of 128 at
 * L = 10000), which is an artifact of the implementation, not of the partitioning. So the
 * runtime (runtime/forward_attn.c) works on one block of sequences × heads at a time --
 * scores, the scheme's score collective, softmax, P·V -- and the cost model
 * (planner/cost_rank.c) prices exactly those blocks: this header is the one rule both use,
 * so the collectives and launches priced are the ones run (docs/cost-model.md, "Memory
 * per device"). */
#ifndef ATTN_TILING_H
#define ATTN_TILING_H
#include "split.h"
#ifdef __cplusplus
extern "C" {
#endif

/* Default budget for one block's score workspace: 1 GiB, about 1% of a current GPU's
 * memory, and far above what the small CPU test models need (they run in one block). */
#define ATTN_SCORE_WORKSPACE_DEFAULT (1024.0 * 1024.0 * 1024.0)
/* Bytes per score element the rule assumes on top of the model dtype's probability:
 * scores are fp32 (docs/cost-model.md: σ). */
#define ATTN_SCORE_ELEM_BYTES 4

typedef struct attn_tiling {
    int seqs, heads;              /* what is tiled */
    int seq_blocks, head_blocks;  /* how many parts along each; blocks = their product */
    int block_seqs, block_heads;  /* the largest part along each (parts differ by at most one) */
    double block_bytes;           /* workspace of the largest block: block_seqs·block_heads·rows·keys·bytes */
} attn_tiling;

/* Tiles `seqs` sequences × `heads` heads whose score blocks are `rows` query rows ×
 * `keys` key columns of `bytes_per_pair` bytes each, so that one block's workspace is at
 * most budget_bytes (budget <= 0: ATTN_SCORE_WORKSPACE_DEFAULT). Whole heads of as many
 * sequences as fit come first (the fewest collectives, the widest batched GEMMs); only when
 * one sequence's heads do not fit are the heads split, one sequence per block. When a
 * single sequence × head is over the budget the block is that one pair (the floor: the
 * workspace is then over budget). Parts are balanced: sizes differ by at most one.
 * seqs or heads <= 0 give one (empty) block, so every caller runs its loop once. */
void attn_tiling_plan(attn_tiling *t, int seqs, int heads, int rows, int keys, double bytes_per_pair,
                      double budget_bytes);
static inline int attn_tiling_blocks(const attn_tiling *t) { return t->seq_blocks * t->head_blocks; }
/* Block sb of the seq_blocks sequence parts is split_part(seqs, seq_blocks, sb, ...), and
 * likewise for heads (split.h: the first total % parts parts have one more). */

/* How one score block issues its attention GEMMs. The backend's GEMM is strided-batched with
 * one stride per operand, so one call can cover either
 *   - the block's heads of one sequence (A stride: the next query head; B stride: the next
 *     kv head in the cache row, or 0 for a run of query heads sharing one kv head; C: the
 *     next head's scores), one call per sequence and kv-head run -- per sequence when every
 *     query head has its own kv head (qpk == 1), since then the whole run of heads steps
 *     through consecutive kv heads; or
 *   - one query head over the block's sequences (A stride: the next sequence's rows; B: the
 *     next sequence's cache; C: the next sequence's part of the block), one call per head.
 * Each call launches a kernel on a GPU, and in decode a call's work is tiny, so the block
 * takes whichever needs fewer calls (per sequence on a tie). The runtime
 * (runtime/forward_attn.c) issues these calls for scores and for P·V alike, and the cost
 * model (planner/cost_rank.c) prices these launches: this is the one rule both follow. */
typedef struct attn_gemm_batching {
    int over_seqs; /* 1: one call per query head, batched over the sequences; 0: per sequence */
    int calls;     /* calls for this block's scores (P·V issues as many) */
    double b_shared; /* batch entries per distinct B operand (K or V head) in a call, on average:
                        a run of query heads sharing one kv head reads that head once for all of
                        them (B stride 0), so a calibration must time the call with that reuse
                        (docs/calibration.md); 1 when every entry has its own B */
} attn_gemm_batching;

/* The batching of a block of `seqs` sequences x `heads` query heads whose first is query
 * head `head0` (global numbering: runs sharing a kv head are head / qpk), qpk query heads
 * per kv head (>= 1). No sequences or heads: 0 calls. */
attn_gemm_batching attn_gemm_batch(int seqs, int head0, int heads, int qpk);
/* The scores GEMM calls of one query chunk over every block of t (P·V issues as many),
 * the query heads starting at global head head0. */
long long attn_tiling_gemm_calls(const attn_tiling *t, int head0, int qpk);

/* ---- The fused attention's tiles (backend.h attention_fused): one rule for the kernels
 * of both backends and for the cost model, so the tiles, launches and K/V re-reads priced
 * are the ones run. A tile is q_tile query rows x k_tile key rows; a query tile visits key
 * tiles in order with an online softmax, and key tiles wholly above the causal diagonal
 * (every key later than the tile's last query) are skipped. In decode (Tq small) a
 * sequence's keys are cut into kv_splits ranges of whole key tiles, each computed apart
 * and merged by their log-sum-exp (flash-decoding), so that few sequences x heads still
 * fill a GPU's `units` multiprocessors. ---- */
typedef enum { ATTN_FUSED_CPU = 0, ATTN_FUSED_GPU = 1 } attn_fused_target;
/* On the CPU a call of at most this many query rows (a decode step) stacks the rows of the
 * query heads that share a kv head into one unit, so their keys are read once per kv head
 * (runtime/backend_cpu_attn.c, DECODE_ROWS there; the cost model prices the same reads). */
#define ATTN_FUSED_CPU_STACK_ROWS 16
typedef struct attn_fused_tiling {
    int q_tile, k_tile;  /* query rows and key rows of one tile */
    int kv_splits;       /* key ranges per (sequence, head), merged by LSE; 1: none */
    int split_keys;      /* keys per range (a multiple of k_tile; the last range may be shorter) */
    int head_stack;      /* query heads whose rows share one tile: 1, or on a GPU in decode
                            (Tq x qpk <= 64) the qpk query heads of one kv head, stacked as the
                            tile's rows (q_tile = qpk x Tq), so K/V are read once per kv head */
    double tiles;        /* tiles computed per (sequence, query head), causal skipping included */
    double key_rows;     /* K rows (and as many V rows) read per (sequence, query head): each
                            query tile reads the keys of the tiles it computes (with stacked
                            heads a tile's reads are shared by its heads: tiles and key_rows
                            are the (sequence, kv head) tile's divided over the query heads) */
    double pairs;        /* query-key pairs computed per (sequence, query head): every computed
                            tile whole (its rows x its keys, the diagonal tiles' masked part
                            included), so the FLOPs the kernel spends (planner/cost) */
} attn_fused_tiling;
/* The tiles of one call over `seqs` x `heads` (sequence, query head) pairs of Tq queries
 * at positions q0.. against Tk keys at positions k0.. (backend.h attn_fused_args), head
 * widths d_qk and d_v, on a target with `units` parallel units (a GPU's SMs; 0: the
 * target's default). */
void attn_fused_plan(attn_fused_tiling *t, attn_fused_target target, int seqs, int heads, int Tq, int Tk, int q0,
                     int k0, int d_qk, int d_v, int units);
/* The same for query heads head0 .. head0 + heads - 1 (global numbering) with qpk query
 * heads per kv head (backend.h attn_fused_args' head0 and qpk): on a GPU in decode
 * (qpk > 1, Tq x qpk <= 64) a tile stacks the query heads of one kv head (head_stack = qpk),
 * one tile row per (head, query row), and a thread block runs one (sequence, kv head) --
 * heads at the call's edges may leave a kv head fewer than qpk of them. attn_fused_plan is
 * this with qpk = 1 (no stacking); the CPU target never stacks (its decode path streams
 * each sequence's keys once per kv head already). */
void attn_fused_plan_gqa(attn_fused_tiling *t, attn_fused_target target, int seqs, int heads, int head0, int qpk,
                         int Tq, int Tk, int q0, int k0, int d_qk, int d_v, int units);

/* A byte count: a decimal number with an optional binary suffix K, M or G (KiB, MiB, GiB),
 * > 0 and at most 2^50. 0 ok, -1 on anything else. For --score-workspace of both tools. */
int attn_parse_bytes(const char *s, double *out);

#ifdef __cplusplus
}
#endif
#endif
