/* cuda_emu_wmma.h: nvcuda::wmma (mma.h) for cuda_emu.h, the 16x16x16 shapes with fp16 or
 * bf16 operands and fp32 accumulators. Each lane's fragment holds the whole tile in its
 * logical order (x[row * cols + col]), so element-wise loops over num_elements act on every
 * element, as the kernels' uniform loops do on the hardware's per-lane slices. The
 * emulation is faithful where results depend on it: operands are the storage type's values
 * (a float stored into an fp16/bf16 fragment is rounded to nearest), mma_sync multiplies
 * them exactly in fp32 and accumulates in fp32, as the tensor cores do; and it is strict
 * where the hardware leaves things undefined: load/store pointers must be 32-byte aligned
 * and ldm a multiple of 16 bytes (else abort), and each lane's store writes only its own
 * share of the tile (elements e with e % 32 == lane), so a lane that reads the stored tile
 * before a __syncwarp sees other lanes' elements unwritten (NaN from the poisoned shared
 * memory), as a missing barrier would race on a GPU; none of these calls is a barrier
 * itself, so a load before the other lanes' stores are fenced by __syncwarp reads stale data. */
#ifndef ATTN_CUDA_EMU_WMMA_H
#define ATTN_CUDA_EMU_WMMA_H
#include <cstdint>
#include <type_traits>

namespace nvcuda {
namespace wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

template <typename Use, int M, int N, int K, typename T, typename Layout = void> struct fragment {
    static_assert(M == 16 && N == 16 && K == 16, "only the 16x16x16 shape is emulated");
    static constexpr int rows = std::is_same<Use, matrix_b>::value ? K : M;
    static constexpr int cols = std::is_same<Use, matrix_a>::value ? K : N;
    static constexpr int num_elements = rows * cols;
    typedef T element_type;
    T x[num_elements];
};

inline float emu_wmma_f(float v) { return v; }
inline float emu_wmma_f(__half v) { return __half2float(v); }
inline float emu_wmma_f(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T> T emu_wmma_to(float v);
template <> inline float emu_wmma_to<float>(float v) { return v; }
template <> inline __half emu_wmma_to<__half>(float v) { return __float2half_rn(v); }
template <> inline __nv_bfloat16 emu_wmma_to<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

inline void emu_wmma_check(const void *p, unsigned ldm, size_t elem) {
    if ((uintptr_t)p % 32 != 0) emu_fail("wmma load/store: pointer not 32-byte aligned");
    if ((ldm * elem) % 16 != 0) emu_fail("wmma load/store: ldm not a multiple of 16 bytes");
}

template <typename Use, typename T, typename L, typename V>
inline void fill_fragment(fragment<Use, 16, 16, 16, T, L> &f, const V &v) {
    for (int i = 0; i < f.num_elements; i++) f.x[i] = emu_wmma_to<T>(emu_wmma_f(v));
}

/* operands: element (r, c) of the fragment's rows x cols at p[r*ldm + c] (row_major) or
 * p[c*ldm + r] (col_major) */
template <typename Use, typename T, typename L>
inline void load_matrix_sync(fragment<Use, 16, 16, 16, T, L> &f, const T *p, unsigned ldm) {
    static_assert(!std::is_same<Use, accumulator>::value, "an accumulator load needs its layout");
    emu_wmma_check(p, ldm, sizeof(T));
    constexpr bool row = std::is_same<L, row_major>::value;
    for (int r = 0; r < f.rows; r++)
        for (int c = 0; c < f.cols; c++) f.x[r * f.cols + c] = row ? p[(size_t)r * ldm + c] : p[(size_t)c * ldm + r];
}
template <typename T>
inline void load_matrix_sync(fragment<accumulator, 16, 16, 16, T> &f, const T *p, unsigned ldm, layout_t l) {
    emu_wmma_check(p, ldm, sizeof(T));
    for (int r = 0; r < 16; r++)
        for (int c = 0; c < 16; c++)
            f.x[r * 16 + c] = l == mem_row_major ? p[(size_t)r * ldm + c] : p[(size_t)c * ldm + r];
}
template <typename T>
inline void store_matrix_sync(T *p, const fragment<accumulator, 16, 16, 16, T> &f, unsigned ldm, layout_t l) {
    emu_wmma_check(p, ldm, sizeof(T));
    for (int e = (int)emu_lane(); e < 256; e += 32) {
        int r = e / 16, c = e % 16;
        (l == mem_row_major ? p[(size_t)r * ldm + c] : p[(size_t)c * ldm + r]) = f.x[e];
    }
}
/* Every lane of a warp multiplies the same tiles (the warp's operands are one tile on the
 * hardware), so the first lane to reach its k-th mma_sync computes it and leaves operands
 * and result in its warp's memo; a later lane at its k-th call whose operands are equal
 * takes the result (any other lane computes its own: a lane never gets another's data). */
struct emu_mma_memo {
    unsigned long long seq;
    unsigned char a[256 * 2], b[256 * 2];
    float c[256], d[256];
};
inline constexpr unsigned emu_mma_ring = 128; /* mma calls a lane may run ahead of its warp */
inline std::vector<emu_mma_memo> emu_mma_memos;

/* d = a b + c: products of the operands exact in fp32, sums in fp32 */
template <typename T, typename LA, typename LB>
inline void mma_sync(fragment<accumulator, 16, 16, 16, float> &d, const fragment<matrix_a, 16, 16, 16, T, LA> &a,
                     const fragment<matrix_b, 16, 16, 16, T, LB> &b,
                     const fragment<accumulator, 16, 16, 16, float> &c) {
    static_assert(sizeof(T) == 2, "fp16 or bf16 operands");
    unsigned warp = emu_t / 32;
    unsigned long long seq = ++emu_mma_seq[emu_t];
    size_t need = (size_t)((emu_n + 31) / 32) * emu_mma_ring;
    if (emu_mma_memos.size() < need) emu_mma_memos.resize(need, emu_mma_memo{~0ull, {}, {}, {}, {}});
    emu_mma_memo &mm = emu_mma_memos[warp * emu_mma_ring + seq % emu_mma_ring];
    if (mm.seq == seq && !std::memcmp(mm.a, a.x, sizeof a.x) && !std::memcmp(mm.b, b.x, sizeof b.x) &&
        !std::memcmp(mm.c, c.x, sizeof c.x)) {
        std::memcpy(d.x, mm.d, sizeof mm.d);
        return;
    }
    mm.seq = seq;
    std::memcpy(mm.a, a.x, sizeof a.x), std::memcpy(mm.b, b.x, sizeof b.x), std::memcpy(mm.c, c.x, sizeof c.x);
    float bt[256]; /* b transposed, so the inner loop runs over contiguous k */
    for (int k = 0; k < 16; k++)
        for (int j = 0; j < 16; j++) bt[j * 16 + k] = emu_wmma_f(b.x[k * 16 + j]);
    for (int i = 0; i < 16; i++) {
        float ar[16];
        for (int k = 0; k < 16; k++) ar[k] = emu_wmma_f(a.x[i * 16 + k]);
        for (int j = 0; j < 16; j++) {
            float acc = c.x[i * 16 + j];
            for (int k = 0; k < 16; k++) acc = std::fmaf(ar[k], bt[j * 16 + k], acc);
            mm.d[i * 16 + j] = acc;
        }
    }
    std::memcpy(d.x, mm.d, sizeof mm.d);
}
} // namespace wmma
} // namespace nvcuda
#endif
