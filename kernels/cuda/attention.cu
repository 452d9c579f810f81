/* attention.cu: fused attention (flash attention) and the exact merge of two partial
 * attentions, the CUDA twins of the CPU backend's attention_fused and attention_merge
 * (runtime/backend.h states the contract: causal with a query offset q0 and a key offset
 * k0, GQA by index, d_qk != d_v, O = 0 and lse = -inf for a row without a visible key).
 *
 * The tensor-core kernel (fp16/bf16, widths multiples of 16): a thread block owns one query
 * tile of q_tile rows (lib/attn_tiling.h attn_fused_plan: the tiles the cost model prices)
 * of one (sequence, query head) and one of its key ranges, one warp per 16 query rows. It
 * streams key tiles of k_tile rows through shared memory, stopping at the last tile any of
 * its rows can see (tiles wholly above the causal diagonal are never loaded), and per tile
 *   S = Q K^T            WMMA 16x16x16, fp32 accumulation, into shared memory,
 *   online softmax       two lanes per row: running max m and sum l in fp32, P rounded
 *                        to the storage type for the second product,
 *   O = alpha O + P V    O stays in accumulator fragments for the whole key range.
 * WMMA leaves the fragment's element-to-lane mapping unspecified, so the per-row rescale
 * alpha = exp(m_old - m_new) goes through shared memory, and only when some row of the
 * warp's 16 actually changed its maximum (rare after the first tiles of a long row). Each
 * query head addresses its own kv head ((head0 + h) / qpk - kv_base): no K/V copies.
 *
 * Split-KV (flash-decoding): when attn_fused_plan gives kv_splits > 1 (few sequences x
 * heads, as in decode), blockIdx.z also runs over the key ranges; each block writes its
 * range's normalized O and LSE in fp32 to a workspace and attn_combine_kernel merges the
 * ranges by their LSE into O and lse.
 *
 * The SIMT kernel covers what the tensor cores cannot: fp32 storage (kept true fp32, as
 * the backend's GEMMs are) and widths that are not multiples of 16; one warp per query
 * row, lanes over keys for the scores and over the head width for O, the same tiles,
 * key ranges and outputs. */
#include <mma.h>
#include "kc_common.cuh"

using namespace nvcuda;

#include <type_traits>

constexpr float ATTN_LOG2E = 1.4426950408889634f;
constexpr float ATTN_LN2 = 0.6931471805599453f;
constexpr int ATTN_MAX_DIM = KC_ATTN_MAX_DIM;
constexpr int ATTN_SIMT_WARPS = 4;

/* The call as the kernels read it (by value). Strides in elements. */
struct attn_dev {
    const void *Q, *K, *V;
    void *O;
    float *lse;
    long long q_ld, q_head, q_seq, k_ld, k_head, k_seq, v_ld, v_head, v_seq, o_ld, o_head, o_seq;
    int seqs, heads, head0, qpk, kv_base, Tq, Tk, q0, k0, d_qk, d_v;
    float scale_log2; /* scale * log2(e): the kernels exponentiate with exp2f */
    int q_tile, kv_splits, split_keys;
    int vec; /* Q, K, V rows may be read as 16-byte vectors */
};

/* The block's work: sequence s, query head h, key range [kb, ke), query rows [r0, r0 + rows). */
struct attn_block {
    int s, h, split, kv, r0, rows, kb, ke;
};
__device__ __forceinline__ attn_block attn_block_of(const attn_dev &p) {
    attn_block b;
    b.h = blockIdx.y;
    b.s = blockIdx.z / p.kv_splits;
    b.split = blockIdx.z % p.kv_splits;
    b.kv = (p.head0 + b.h) / p.qpk - p.kv_base;
    b.r0 = blockIdx.x * p.q_tile;
    b.rows = min(p.q_tile, p.Tq - b.r0);
    b.kb = min(p.Tk, b.split * p.split_keys);
    b.ke = min(p.Tk, b.kb + p.split_keys);
    return b;
}
/* one past the last key row any of rows [r0, r0 + rows) can see, within [kb, ke) */
__device__ __forceinline__ int attn_key_end(const attn_dev &p, const attn_block &b, int rows) {
    long long last = (long long)p.q0 + b.r0 + rows - 1 - p.k0;
    if (last < b.kb) return b.kb;
    return last + 1 < b.ke ? (int)(last + 1) : b.ke;
}
/* fp32 partial results of key range `split`: O [splits][seqs][heads][Tq][d_v], then LSE
 * [splits][seqs][heads][Tq] */
__device__ __forceinline__ size_t attn_part_row(const attn_dev &p, int split, int s, int h, int i) {
    return (((size_t)split * p.seqs + s) * p.heads + h) * p.Tq + i;
}
__device__ __forceinline__ size_t attn_part_rows(const attn_dev &p) {
    return (size_t)p.kv_splits * p.seqs * p.heads * p.Tq;
}

/* rows x d elements from global (row stride ld) into shared memory (row stride sld), rows
 * [rows, prow) zero: a padded key row must give P.V exact zeros, never 0 * garbage */
template <typename T>
__device__ __forceinline__ void attn_load_tile(T *dst, int sld, const T *src, long long ld, int rows, int prow, int d,
                                               int vec) {
    if (vec) {
        const int per = d / 8; /* 8 elements of 2 bytes per 16-byte vector */
        for (int e = threadIdx.x; e < prow * per; e += blockDim.x) {
            int r = e / per, c = (e % per) * 8;
            uint4 v = make_uint4(0, 0, 0, 0);
            if (r < rows) v = *(const uint4 *)(src + r * ld + c);
            *(uint4 *)(dst + r * sld + c) = v;
        }
    } else {
        for (int e = threadIdx.x; e < prow * d; e += blockDim.x) {
            int r = e / d, c = e % d;
            dst[r * sld + c] = r < rows ? src[r * ld + c] : kc_store<T>(0.0f);
        }
    }
}

/* Shared memory of the tensor-core kernel, in bytes, at the offsets the kernel uses. */
__host__ __device__ __forceinline__ size_t attn_wmma_smem(int warps, int kt, int d_qk, int d_v) {
    size_t ldq = d_qk + 8, ldv = d_v + 8, lds = kt + 4, ldp = kt + 8;
    return 2 * ((size_t)warps * 16 * ldq + (size_t)kt * ldq + (size_t)kt * ldv) + 4 * (size_t)warps * 16 * lds +
           2 * (size_t)warps * 16 * ldp + 4 * (size_t)warps * 16;
}

/* NV: accumulator fragments of O per warp (d_v <= 16 NV); KT: keys per tile (k_tile). */
template <typename T, int NV, int KT>
__global__ void __launch_bounds__(128) attn_wmma_kernel(attn_dev p, float *part) {
    extern __shared__ __align__(128) unsigned char attn_smem[];
    typedef wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc_t;
    const int warps = blockDim.x / 32, w = threadIdx.x / 32, lane = threadIdx.x & 31;
    const attn_block b = attn_block_of(p);
    const int dq = p.d_qk, dv = p.d_v, nv = dv / 16;
    const int ldq = dq + 8, ldv = dv + 8, lds = KT + 4, ldp = KT + 8;
    /* every region starts at a multiple of 32 bytes (WMMA's pointer alignment) */
    T *sQ = (T *)attn_smem;
    T *sK = sQ + warps * 16 * ldq;
    T *sV = sK + KT * ldq;
    float *sS = (float *)(sV + KT * ldv) + w * 16 * lds;      /* this warp's scores, and O staging */
    T *sP = (T *)((float *)(sV + KT * ldv) + warps * 16 * lds); /* probabilities */
    float *sRow = (float *)(sP + warps * 16 * ldp) + w * 16;    /* per-row factor of this warp */
    sP += w * 16 * ldp;

    const T *Qg = (const T *)p.Q + b.s * p.q_seq + b.h * p.q_head + b.r0 * p.q_ld;
    const T *Kg = (const T *)p.K + b.s * p.k_seq + b.kv * p.k_head;
    const T *Vg = (const T *)p.V + b.s * p.v_seq + b.kv * p.v_head;
    attn_load_tile(sQ, ldq, Qg, p.q_ld, b.rows, warps * 16, dq, p.vec);
    const int kend = attn_key_end(p, b, b.rows);

    acc_t o[NV];
#pragma unroll
    for (int f = 0; f < NV; f++) wmma::fill_fragment(o[f], 0.0f);
    /* lanes 2r and 2r+1 own row r of the warp's 16, each half of a tile's columns */
    const int row = lane >> 1, half = lane & 1, c0 = half * (KT / 2);
    const bool row_ok = w * 16 + row < b.rows;
    const long long qpos = (long long)p.q0 + b.r0 + w * 16 + row;
    float m = -INFINITY, l = 0.0f;

    for (int kt = b.kb; kt < kend; kt += KT) {
        const int nk = min(KT, b.ke - kt);
        __syncthreads(); /* the previous tile is consumed */
        attn_load_tile(sK, ldq, Kg + (long long)kt * p.k_ld, p.k_ld, nk, KT, dq, p.vec);
        attn_load_tile(sV, ldv, Vg + (long long)kt * p.v_ld, p.v_ld, nk, KT, dv, p.vec);
        __syncthreads();
#pragma unroll
        for (int n = 0; n < KT / 16; n++) {
            acc_t sc;
            wmma::fill_fragment(sc, 0.0f);
            for (int k = 0; k < dq / 16; k++) {
                wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> qa;
                wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> kb; /* K^T */
                wmma::load_matrix_sync(qa, sQ + w * 16 * ldq + k * 16, ldq);
                wmma::load_matrix_sync(kb, sK + n * 16 * ldq + k * 16, ldq);
                wmma::mma_sync(sc, qa, kb, sc);
            }
            wmma::store_matrix_sync(sS + n * 16, sc, lds, wmma::mem_row_major);
        }
        __syncwarp();
        float v[KT / 2], mx = -INFINITY;
#pragma unroll
        for (int c = 0; c < KT / 2; c++) {
            int j = kt + c0 + c;
            bool vis = row_ok && j < b.ke && (long long)p.k0 + j <= qpos;
            v[c] = vis ? sS[row * lds + c0 + c] * p.scale_log2 : -INFINITY;
            mx = fmaxf(mx, v[c]);
        }
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        const float mn = fmaxf(m, mx);
        const float alpha = m == -INFINITY ? 1.0f : exp2f(m - mn); /* O and l are 0 until a key is seen */
        float sum = 0.0f;
#pragma unroll
        for (int c = 0; c < KT / 2; c++) {
            float pr = v[c] == -INFINITY ? 0.0f : exp2f(v[c] - mn);
            sum += pr;
            sP[row * ldp + c0 + c] = kc_store<T>(pr);
        }
        sum += __shfl_xor_sync(0xffffffffu, sum, 1);
        l = l * alpha + sum;
        m = mn;
        if (half == 0) sRow[row] = alpha;
        const int rescale = __any_sync(0xffffffffu, alpha != 1.0f);
        __syncwarp();
        if (rescale) {
#pragma unroll
            for (int f = 0; f < NV; f++) {
                if (f >= nv) break;
                wmma::store_matrix_sync(sS, o[f], lds, wmma::mem_row_major);
                __syncwarp();
                for (int e = lane; e < 256; e += 32) sS[(e / 16) * lds + e % 16] *= sRow[e / 16];
                __syncwarp();
                wmma::load_matrix_sync(o[f], sS, lds, wmma::mem_row_major);
                __syncwarp();
            }
        }
#pragma unroll
        for (int f = 0; f < NV; f++) {
            if (f >= nv) break;
#pragma unroll
            for (int k = 0; k < KT / 16; k++) {
                wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> pa;
                wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> vb;
                wmma::load_matrix_sync(pa, sP + k * 16, ldp);
                wmma::load_matrix_sync(vb, sV + k * 16 * ldv + f * 16, ldv);
                wmma::mma_sync(o[f], pa, vb, o[f]);
            }
        }
    }

    /* O / l (0 for a row that saw no key) and the row's LSE in natural log */
    if (half == 0) sRow[row] = l > 0.0f ? 1.0f / l : 0.0f;
    const float lse = l > 0.0f ? (m + log2f(l)) * ATTN_LN2 : -INFINITY;
    __syncwarp();
    const int i0 = b.r0 + w * 16; /* the warp's first query row */
#pragma unroll
    for (int f = 0; f < NV; f++) {
        if (f >= nv) break;
        wmma::store_matrix_sync(sS, o[f], lds, wmma::mem_row_major);
        __syncwarp();
        for (int e = lane; e < 256; e += 32) {
            int r = e / 16, c = f * 16 + e % 16;
            if (w * 16 + r >= b.rows) continue;
            float val = sS[(e / 16) * lds + e % 16] * sRow[r];
            if (part) part[attn_part_row(p, b.split, b.s, b.h, i0 + r) * dv + c] = val;
            else ((T *)p.O)[b.s * p.o_seq + b.h * p.o_head + (long long)(i0 + r) * p.o_ld + c] = kc_store<T>(val);
        }
        __syncwarp();
    }
    if (half == 0 && row_ok) {
        if (part) part[attn_part_rows(p) * dv + attn_part_row(p, b.split, b.s, b.h, i0 + row)] = lse;
        else if (p.lse) p.lse[((size_t)b.s * p.heads + b.h) * p.Tq + i0 + row] = lse;
    }
}

/* One warp per query row: lanes take 32 keys at a time for the scores, then own columns
 * lane, lane + 32, ... of O. */
template <typename T> __global__ void __launch_bounds__(128) attn_simt_kernel(attn_dev p, float *part) {
    __shared__ float sq[ATTN_SIMT_WARPS][ATTN_MAX_DIM];
    const int w = threadIdx.x / 32, lane = threadIdx.x & 31;
    const attn_block b = attn_block_of(p);
    const T *Kg = (const T *)p.K + b.s * p.k_seq + b.kv * p.k_head;
    const T *Vg = (const T *)p.V + b.s * p.v_seq + b.kv * p.v_head;
    const int dq = p.d_qk, dv = p.d_v;
    for (int rr = w; rr < b.rows; rr += ATTN_SIMT_WARPS) {
        const int i = b.r0 + rr;
        const T *q = (const T *)p.Q + b.s * p.q_seq + b.h * p.q_head + (long long)i * p.q_ld;
        for (int c = lane; c < dq; c += 32) sq[w][c] = kc_load(q[c]) * p.scale_log2;
        __syncwarp();
        attn_block one = b;
        one.r0 = i;
        const int kend = attn_key_end(p, one, 1);
        float m = -INFINITY, l = 0.0f, o[ATTN_MAX_DIM / 32];
#pragma unroll
        for (int u = 0; u < ATTN_MAX_DIM / 32; u++) o[u] = 0.0f;
        for (int j0 = b.kb; j0 < kend; j0 += 32) {
            const int j = j0 + lane;
            float sc = -INFINITY;
            if (j < kend) {
                const T *kr = Kg + (long long)j * p.k_ld;
                sc = 0.0f;
                for (int c = 0; c < dq; c++) sc += sq[w][c] * kc_load(kr[c]);
            }
            const float mn = fmaxf(m, kc_warp_max(sc)); /* finite: key j0 is visible */
            const float alpha = m == -INFINITY ? 1.0f : exp2f(m - mn);
            const float pj = j < kend ? exp2f(sc - mn) : 0.0f;
            l = l * alpha + kc_warp_sum(pj);
            m = mn;
#pragma unroll
            for (int u = 0; u < ATTN_MAX_DIM / 32; u++) o[u] *= alpha;
            const int nk = min(32, kend - j0);
            for (int t = 0; t < nk; t++) {
                const float pt = __shfl_sync(0xffffffffu, pj, t);
                const T *vr = Vg + (long long)(j0 + t) * p.v_ld;
#pragma unroll
                for (int u = 0; u < ATTN_MAX_DIM / 32; u++)
                    if (lane + 32 * u < dv) o[u] += pt * kc_load(vr[lane + 32 * u]);
            }
        }
        const float inv = l > 0.0f ? 1.0f / l : 0.0f;
        const float lse = l > 0.0f ? (m + log2f(l)) * ATTN_LN2 : -INFINITY;
#pragma unroll
        for (int u = 0; u < ATTN_MAX_DIM / 32; u++) {
            int c = lane + 32 * u;
            if (c >= dv) continue;
            if (part) part[attn_part_row(p, b.split, b.s, b.h, i) * dv + c] = o[u] * inv;
            else ((T *)p.O)[b.s * p.o_seq + b.h * p.o_head + (long long)i * p.o_ld + c] = kc_store<T>(o[u] * inv);
        }
        if (lane == 0) {
            if (part) part[attn_part_rows(p) * dv + attn_part_row(p, b.split, b.s, b.h, i)] = lse;
            else if (p.lse) p.lse[((size_t)b.s * p.heads + b.h) * p.Tq + i] = lse;
        }
        __syncwarp(); /* sq[w] is read by every lane before the next row overwrites it */
    }
}

/* The key ranges' partials merged by their LSE: one warp per (sequence, head, row). */
template <typename T> __global__ void __launch_bounds__(128) attn_combine_kernel(attn_dev p, const float *part) {
    const size_t g = (size_t)blockIdx.x * 4 + threadIdx.x / 32;
    const int lane = threadIdx.x & 31;
    const size_t rows = (size_t)p.seqs * p.heads * p.Tq;
    if (g >= rows) return;
    const int i = (int)(g % p.Tq), h = (int)(g / p.Tq % p.heads), s = (int)(g / ((size_t)p.Tq * p.heads));
    const float *plse = part + attn_part_rows(p) * p.d_v;
    float mx = -INFINITY;
    for (int k = 0; k < p.kv_splits; k++) mx = fmaxf(mx, plse[k * rows + g]);
    float wsum = 0.0f;
    if (mx != -INFINITY)
        for (int k = 0; k < p.kv_splits; k++) wsum += exp2f((plse[k * rows + g] - mx) * ATTN_LOG2E);
    T *o = (T *)p.O + s * p.o_seq + h * p.o_head + (long long)i * p.o_ld;
    for (int c = lane; c < p.d_v; c += 32) {
        float acc = 0.0f;
        if (mx != -INFINITY)
            for (int k = 0; k < p.kv_splits; k++) {
                float lk = plse[k * rows + g];
                if (lk != -INFINITY) acc += exp2f((lk - mx) * ATTN_LOG2E) * part[(k * rows + g) * p.d_v + c];
            }
        o[c] = kc_store<T>(mx == -INFINITY ? 0.0f : acc / wsum);
    }
    if (lane == 0 && p.lse) p.lse[g] = mx == -INFINITY ? -INFINITY : mx + logf(wsum);
}

/* attention_merge: one warp per (sequence, head, row). */
template <typename T>
__global__ void __launch_bounds__(128) attn_merge_kernel(T *O, long long o_ld, long long o_head, long long o_seq,
                                                         const T *O2, long long o2_ld, long long o2_head,
                                                         long long o2_seq, float *lse, const float *lse2, int heads,
                                                         int Tq, int d_v, size_t rows) {
    const size_t g = (size_t)blockIdx.x * 4 + threadIdx.x / 32;
    const int lane = threadIdx.x & 31;
    if (g >= rows) return;
    const int i = (int)(g % Tq), h = (int)(g / Tq % heads), s = (int)(g / ((size_t)Tq * heads));
    const float l1 = lse[g], l2 = lse2[g], mx = fmaxf(l1, l2);
    const float w1 = l1 == -INFINITY ? 0.0f : exp2f((l1 - mx) * ATTN_LOG2E);
    const float w2 = l2 == -INFINITY ? 0.0f : exp2f((l2 - mx) * ATTN_LOG2E);
    const float inv = mx == -INFINITY ? 0.0f : 1.0f / (w1 + w2);
    T *o = O + s * o_seq + h * o_head + (long long)i * o_ld;
    const T *o2 = O2 + s * o2_seq + h * o2_head + (long long)i * o2_ld;
    for (int c = lane; c < d_v; c += 32) {
        float a = w1 == 0.0f ? 0.0f : w1 * kc_load(o[c]), b2 = w2 == 0.0f ? 0.0f : w2 * kc_load(o2[c]);
        o[c] = kc_store<T>((a + b2) * inv);
    }
    __syncwarp(); /* every lane has read lse[g] before lane 0 replaces it */
    if (lane == 0) lse[g] = mx == -INFINITY ? -INFINITY : mx + logf(w1 + w2);
}

template <typename T, int NV, int KT>
static cudaError_t attn_launch_wmma(const attn_dev &p, float *part, dim3 grid, int warps, cudaStream_t stream) {
    size_t smem = attn_wmma_smem(warps, KT, p.d_qk, p.d_v);
    /* the opt-in above 48 KiB, once per kernel at the largest size any shape needs (4 warps,
     * the widest heads), so that no later launch -- a captured decode step's neither -- makes
     * a runtime call besides the launch itself */
    static const cudaError_t set = cudaFuncSetAttribute(attn_wmma_kernel<T, NV, KT>,
                                                        cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                        (int)attn_wmma_smem(4, KT, ATTN_MAX_DIM, NV * 16));
    if (set != cudaSuccess) return set;
    attn_wmma_kernel<T, NV, KT><<<grid, warps * 32, smem, stream>>>(p, part);
    return cudaGetLastError();
}

template <typename T, int KT>
static cudaError_t attn_launch_nv(const attn_dev &p, float *part, dim3 grid, int warps, cudaStream_t stream) {
    if (p.d_v <= 64) return attn_launch_wmma<T, 4, KT>(p, part, grid, warps, stream);
    if (p.d_v <= 128) return attn_launch_wmma<T, 8, KT>(p, part, grid, warps, stream);
    return attn_launch_wmma<T, 16, KT>(p, part, grid, warps, stream);
}

template <typename T>
static cudaError_t attn_launch(const attn_dev &p, const kc_attn_tiles *t, float *part, cudaStream_t stream) {
    dim3 grid((unsigned)((p.Tq + p.q_tile - 1) / p.q_tile), (unsigned)p.heads, (unsigned)(p.seqs * p.kv_splits));
    cudaError_t e = cudaSuccess;
    bool simt = true;
    if constexpr (!std::is_same<T, float>::value) { /* fp32 storage stays true fp32: no tensor cores */
        if (p.d_qk % 16 == 0 && p.d_v % 16 == 0 && (t->k_tile == 32 || t->k_tile == 64)) {
            int warps = (p.q_tile + 15) / 16;
            if (t->k_tile == 64) e = attn_launch_nv<T, 64>(p, part, grid, warps, stream);
            else e = attn_launch_nv<T, 32>(p, part, grid, warps, stream);
            simt = false;
        }
    }
    if (simt) {
        attn_simt_kernel<T><<<grid, ATTN_SIMT_WARPS * 32, 0, stream>>>(p, part);
        e = cudaGetLastError();
    }
    if (e != cudaSuccess || p.kv_splits == 1) return e;
    size_t rows = (size_t)p.seqs * p.heads * p.Tq;
    attn_combine_kernel<T><<<(unsigned)((rows + 3) / 4), 128, 0, stream>>>(p, part);
    return cudaGetLastError();
}

extern "C" size_t attention_fused_cuda_workspace(const kc_attn_args *a, const kc_attn_tiles *t) {
    if (!a || !t || t->kv_splits <= 1 || a->seqs <= 0 || a->heads <= 0 || a->Tq <= 0) return 0;
    return (size_t)t->kv_splits * a->seqs * a->heads * a->Tq * ((size_t)a->d_v + 1);
}

static bool attn_vec_ok(const void *ptr, size_t ld, size_t head, size_t seq, int d) {
    return (size_t)ptr % 16 == 0 && ld % 8 == 0 && head % 8 == 0 && seq % 8 == 0 && d % 8 == 0;
}

extern "C" cudaError_t attention_fused_cuda(const kc_attn_args *a, const kc_attn_tiles *t, float *work,
                                            size_t work_floats, kc_dtype dt, cudaStream_t stream) {
    if (!a || !t) return cudaErrorInvalidValue;
    if (a->seqs < 0 || a->heads < 0 || a->Tq < 0 || a->Tk < 0 || a->qpk < 1 || a->d_qk < 1 || a->d_v < 1 ||
        a->d_qk > ATTN_MAX_DIM || a->d_v > ATTN_MAX_DIM)
        return cudaErrorInvalidValue;
    if (a->seqs == 0 || a->heads == 0 || a->Tq == 0) return cudaSuccess;
    if (t->q_tile < 1 || t->q_tile > 64 || t->k_tile < 1 || t->kv_splits < 1 || t->split_keys < 0 ||
        (t->kv_splits > 1 && (long long)t->kv_splits * t->split_keys < a->Tk) ||
        (t->kv_splits == 1 && t->split_keys < a->Tk))
        return cudaErrorInvalidValue;
    if (a->heads > 65535 || (long long)a->seqs * t->kv_splits > 65535) return cudaErrorInvalidValue;
    if (t->kv_splits > 1 && (!work || work_floats < attention_fused_cuda_workspace(a, t))) return cudaErrorInvalidValue;
    attn_dev p;
    p.Q = a->Q, p.K = a->K, p.V = a->V, p.O = a->O, p.lse = a->lse;
    p.q_ld = a->q_ld, p.q_head = a->q_head, p.q_seq = a->q_seq;
    p.k_ld = a->k_ld, p.k_head = a->k_head, p.k_seq = a->k_seq;
    p.v_ld = a->v_ld, p.v_head = a->v_head, p.v_seq = a->v_seq;
    p.o_ld = a->o_ld, p.o_head = a->o_head, p.o_seq = a->o_seq;
    p.seqs = a->seqs, p.heads = a->heads, p.head0 = a->head0, p.qpk = a->qpk, p.kv_base = a->kv_base;
    p.Tq = a->Tq, p.Tk = a->Tk, p.q0 = a->q0, p.k0 = a->k0, p.d_qk = a->d_qk, p.d_v = a->d_v;
    p.scale_log2 = a->scale * ATTN_LOG2E;
    p.q_tile = t->q_tile, p.kv_splits = t->kv_splits, p.split_keys = t->kv_splits > 1 ? t->split_keys : a->Tk;
    p.vec = dt != KC_FP32 && attn_vec_ok(a->Q, a->q_ld, a->q_head, a->q_seq, a->d_qk) &&
            attn_vec_ok(a->K, a->k_ld, a->k_head, a->k_seq, a->d_qk) &&
            attn_vec_ok(a->V, a->v_ld, a->v_head, a->v_seq, a->d_v);
    float *part = t->kv_splits > 1 ? work : nullptr;
    KC_DISPATCH(dt, T, return attn_launch<T>(p, t, part, stream));
    return cudaSuccess;
}

extern "C" cudaError_t attention_merge_cuda(void *O, size_t o_ld, size_t o_head, size_t o_seq, const void *O2,
                                            size_t o2_ld, size_t o2_head, size_t o2_seq, float *lse,
                                            const float *lse2, int seqs, int heads, int Tq, int d_v, kc_dtype dt,
                                            cudaStream_t stream) {
    if (seqs < 0 || heads < 0 || Tq < 0 || d_v < 0) return cudaErrorInvalidValue;
    size_t rows = (size_t)seqs * heads * Tq;
    if (rows == 0 || d_v == 0) return cudaSuccess;
    if (!O || !O2 || !lse || !lse2 || (rows + 3) / 4 > 0x7fffffffu) return cudaErrorInvalidValue;
    unsigned blocks = (unsigned)((rows + 3) / 4);
    KC_DISPATCH(dt, T,
                (attn_merge_kernel<T><<<blocks, 128, 0, stream>>>((T *)O, (long long)o_ld, (long long)o_head,
                                                                 (long long)o_seq, (const T *)O2, (long long)o2_ld,
                                                                 (long long)o2_head, (long long)o2_seq, lse, lse2,
                                                                 heads, Tq, d_v, rows)));
    return cudaGetLastError();
}
