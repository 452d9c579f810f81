/* cuda_emu.h: a CPU stand-in for the little of CUDA the kernels of kernels/cuda/ use, so
 * that their logic (indexing, grid-stride loops, block reductions, masking, every output
 * element written) is tested on machines without a GPU. emulate.py rewrites each launch
 * `k<<<g, b, s, st>>>(args)` into `emu_launch(g, b, st, [=] { k(args); }, s)`; emu_launch runs
 * the blocks one after another, a block's threads as fibers, so __syncthreads is a
 * barrier of the block and __syncwarp one of the warp, __shared__ is `static` (one block
 * at a time: one block's shared memory; dynamic shared memory is one buffer, poisoned with
 * NaN bytes at each launch), shuffles and votes exchange through per-thread slots between
 * two warp barriers, and WMMA fragments are emulated with the hardware's operand types
 * (cuda_emu_wmma.h).
 * Device memory is host memory. This says nothing about speed, the memory model or
 * warp-divergent code: the real test is tests/gpu/test_kernels.cu on a GPU. */
#ifndef ATTN_CUDA_EMU_H
#define ATTN_CUDA_EMU_H
#undef _FORTIFY_SOURCE /* its longjmp check refuses jumps between fiber stacks */
#include <csetjmp>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>
#include <ucontext.h>
#include <cuda_runtime.h> /* host part only: the typed cudaMalloc overload, dim3 */
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#undef __global__
#undef __device__
#undef __host__
#undef __forceinline__
#undef __shared__
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#undef __launch_bounds__
#define __launch_bounds__(...)
/* device code's integer min and max (CUDA's math_functions overloads) */
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }

/* Threads are fibers on one OS thread: makecontext gives each its stack, _setjmp and
 * _longjmp switch (no system call per switch, unlike swapcontext). A fiber runs until it
 * waits at a barrier: __syncthreads (the whole block) or __syncwarp (its warp of 32
 * consecutive threads, as on the hardware). The scheduler runs every runnable fiber, then
 * releases each warp whose lanes all wait at __syncwarp, and only when no warp can be
 * released, the block, once every thread waits at __syncthreads; any other state is a
 * deadlock on the hardware too (a barrier some threads never reach) and aborts. Each fiber
 * walks all the blocks, with a block barrier between blocks (shared memory is reused).
 * threadIdx is set before each switch into a fiber. */
inline uint3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;

enum { EMU_RUN, EMU_AT_BLOCK, EMU_AT_WARP, EMU_DONE };
struct emu_fiber {
    ucontext_t ctx;
    jmp_buf jb;
    std::unique_ptr<char[]> stack; /* uninitialized: no page is touched until used */
    bool started;
    int wait;
};
/* a WMMA fragment holds its whole 16x16 tile in every lane here (cuda_emu_wmma.h): a
 * warp's accumulators of a 256-wide head take 16 KiB of each fiber's stack */
inline constexpr size_t emu_stack_bytes = 1 << 18;
inline std::vector<emu_fiber> emu_fibers; /* kept from launch to launch */
inline jmp_buf emu_sched_jb;
inline emu_fiber *emu_cur;
inline std::function<void()> emu_body;
inline std::vector<unsigned long long> emu_slots; /* one shuffle slot per thread */
inline unsigned emu_blocks, emu_t, emu_n;
inline std::vector<unsigned long long> emu_mma_seq; /* each thread's mma_sync calls (cuda_emu_wmma.h) */
inline bool emu_alive;
/* dynamic shared memory (extern __shared__, rewritten by emulate.py to point here) */
inline constexpr size_t emu_dyn_smem_max = 227 * 1024; /* an H100's opt-in limit per block */
alignas(128) inline unsigned char emu_dyn_smem[emu_dyn_smem_max];

inline void emu_fail(const char *what) {
    fprintf(stderr, "cuda_emu: %s (block %u,%u,%u thread %u)\n", what, blockIdx.x, blockIdx.y, blockIdx.z, emu_t);
    std::abort();
}
inline void emu_wait(int why) {
    emu_cur->wait = why;
    if (!_setjmp(emu_cur->jb)) _longjmp(emu_sched_jb, 1);
}
inline void __syncthreads() { emu_wait(EMU_AT_BLOCK); }
inline void __syncwarp(unsigned mask = 0xffffffffu) {
    if (mask != 0xffffffffu) emu_fail("__syncwarp with a partial mask is not emulated");
    emu_wait(EMU_AT_WARP);
}
inline unsigned emu_lane() { return emu_t & 31u; }
/* a shuffle: every lane posts its value, the warp meets, each reads its source lane's */
template <typename V> V emu_shfl(V v, unsigned src_lane) {
    static_assert(sizeof(V) <= sizeof(unsigned long long), "shuffle of a wide type");
    unsigned t = emu_t;
    std::memcpy(&emu_slots[t], &v, sizeof v);
    __syncwarp();
    unsigned src = (t & ~31u) | (src_lane & 31u);
    V r = v;
    if (src < emu_n) std::memcpy(&r, &emu_slots[src], sizeof r);
    __syncwarp();
    return r;
}
template <typename V> V __shfl_xor_sync(unsigned mask, V v, int lane_mask) {
    if (mask != 0xffffffffu) emu_fail("a shuffle with a partial mask is not emulated");
    return emu_shfl(v, emu_lane() ^ (unsigned)lane_mask);
}
template <typename V> V __shfl_sync(unsigned mask, V v, int src_lane, int width = 32) {
    if (mask != 0xffffffffu || width != 32) emu_fail("a shuffle with a partial mask or width is not emulated");
    return emu_shfl(v, (unsigned)src_lane);
}
inline int __any_sync(unsigned mask, int pred) {
    if (mask != 0xffffffffu) emu_fail("a vote with a partial mask is not emulated");
    int any = 0;
    unsigned t = emu_t;
    emu_slots[t] = pred != 0;
    __syncwarp();
    unsigned base = t & ~31u;
    for (unsigned l = base; l < base + 32 && l < emu_n; l++) any |= emu_slots[l] != 0;
    __syncwarp();
    return any;
}
inline int __all_sync(unsigned mask, int pred) { return !__any_sync(mask, !pred); }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }

inline void emu_fiber_main() {
    for (unsigned b = 0; b < emu_blocks; b++) {
        blockIdx = uint3{b % gridDim.x, (b / gridDim.x) % gridDim.y, b / (gridDim.x * gridDim.y)};
        emu_body();
        __syncthreads();
    }
    emu_cur->wait = EMU_DONE;
    _longjmp(emu_sched_jb, 1); /* never return: the context has no successor */
}

/* Releases what the barriers allow; false when everything is done. Aborts on a deadlock. */
inline bool emu_release() {
    std::vector<emu_fiber> &f = emu_fibers;
    bool released = false, all_block = true, any_live = false;
    for (unsigned w = 0; w * 32 < emu_n; w++) {
        unsigned lo = w * 32, hi = lo + 32 < emu_n ? lo + 32 : emu_n;
        bool all_warp = true;
        for (unsigned t = lo; t < hi; t++) all_warp &= f[t].wait == EMU_AT_WARP;
        if (all_warp) {
            for (unsigned t = lo; t < hi; t++) f[t].wait = EMU_RUN;
            released = true;
        }
    }
    if (released) return true;
    for (unsigned t = 0; t < emu_n; t++) {
        if (f[t].wait == EMU_DONE) continue;
        any_live = true;
        all_block &= f[t].wait == EMU_AT_BLOCK;
    }
    if (!any_live) return false;
    if (!all_block) emu_fail("deadlock: threads wait at different barriers");
    for (unsigned t = 0; t < emu_n; t++)
        if (f[t].wait == EMU_AT_BLOCK) f[t].wait = EMU_RUN;
    return true;
}

cudaError_t emu_launch_error(cudaError_t e);
/* cuda_runtime.h's typed overload, which only nvcc sees */
template <typename F> cudaError_t cudaFuncSetAttribute(F *kernel, enum cudaFuncAttribute attr, int value) {
    return cudaFuncSetAttribute(reinterpret_cast<const void *>(kernel), attr, value);
} /* cuda_emu_runtime.cpp: the sticky launch error */

/* Stream capture (cuda_emu_runtime.cpp): while stream s is captured, work queued on it
 * (launches, cuBLAS calls, async copies, emulated NCCL operations) is appended to its
 * graph and runs at each cudaGraphLaunch instead of now. cuda_emu_capture_add returns
 * false, recording nothing, when s is not being captured. */
bool cuda_emu_capturing(cudaStream_t s);
bool cuda_emu_capture_add(cudaStream_t s, std::function<cudaError_t()> work);

template <typename F> void emu_launch_now(dim3 grid, dim3 block, F body, size_t dyn_smem) {
    unsigned n = block.x * block.y * block.z;
    if (n == 0 || n > 1024 || grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535 ||
        dyn_smem > emu_dyn_smem_max) {
        emu_launch_error(cudaErrorInvalidConfiguration);
        return;
    }
    gridDim = grid, blockDim = block;
    emu_n = n;
    emu_blocks = grid.x * grid.y * grid.z;
    emu_body = body;
    emu_slots.assign(n, 0);
    emu_mma_seq.assign(n, 0);
    /* fresh shared memory is garbage on the hardware: NaN bytes make a read before a write show */
    std::memset(emu_dyn_smem, 0xFF, dyn_smem);
    if (emu_fibers.size() < n) emu_fibers.resize(n);
    std::vector<emu_fiber> &f = emu_fibers;
    for (unsigned t = 0; t < n; t++) {
        emu_fiber &x = f[t];
        if (!x.stack) x.stack.reset(new char[emu_stack_bytes]);
        getcontext(&x.ctx);
        x.ctx.uc_stack.ss_sp = x.stack.get();
        x.ctx.uc_stack.ss_size = emu_stack_bytes;
        x.ctx.uc_link = nullptr;
        makecontext(&x.ctx, emu_fiber_main, 0);
        x.started = false;
        x.wait = EMU_RUN;
    }
    /* the loop state is global, not local: it lives across _setjmp/_longjmp */
    for (emu_alive = true; emu_alive; emu_alive = emu_release()) {
        for (emu_t = 0; emu_t < n; emu_t++) {
            emu_fiber &x = f[emu_t];
            if (x.wait != EMU_RUN) continue;
            threadIdx = uint3{emu_t % block.x, (emu_t / block.x) % block.y, emu_t / (block.x * block.y)};
            emu_cur = &x;
            if (!_setjmp(emu_sched_jb)) {
                if (!x.started) {
                    x.started = true;
                    ucontext_t from;
                    swapcontext(&from, &x.ctx); /* first entry; the fiber comes back by _longjmp */
                } else {
                    _longjmp(x.jb, 1);
                }
            }
        }
    }
}

/* A launch: run now, or recorded (with its arguments, copied by the rewrite's [=]) into
 * the graph being captured on stream. */
template <typename F> void emu_launch(dim3 grid, dim3 block, cudaStream_t stream, F body, size_t dyn_smem = 0) {
    if (cuda_emu_capture_add(stream, [grid, block, body, dyn_smem] {
            emu_launch_now(grid, block, body, dyn_smem);
            return cudaSuccess;
        }))
        return;
    emu_launch_now(grid, block, body, dyn_smem);
}

#include "cuda_emu_wmma.h"

#endif
