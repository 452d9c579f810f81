/* cuda_emu.h: a CPU stand-in for the little of CUDA the kernels of kernels/cuda/ use, so
 * that their logic (indexing, grid-stride loops, block reductions, masking, every output
 * element written) is tested on machines without a GPU. emulate.py rewrites each launch
 * `k<<<g, b, s, st>>>(args)` into `emu_launch(g, b, [&] { k(args); })`; emu_launch runs
 * the blocks one after another, a block's threads as fibers, so __syncthreads is a
 * barrier, __shared__ is `static` (one block at a time: one block's shared memory), and
 * __shfl_xor_sync exchanges through a per-block array between two barriers (valid because
 * every thread of a block reaches each shuffle, as the kernels' reductions are written).
 * Device memory is host memory. This says nothing about speed, the memory model or
 * warp-divergent code: the real test is tests/gpu/test_kernels.cu on a GPU. */
#ifndef ATTN_CUDA_EMU_H
#define ATTN_CUDA_EMU_H
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
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

/* Threads are fibers (ucontext) on one OS thread: the scheduler runs every fiber of the
 * block up to its next __syncthreads (or its end), then the next round, so one round is
 * one barrier phase. threadIdx is set before each switch into a fiber. */
inline uint3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;

struct emu_fiber {
    ucontext_t ctx;
    std::vector<char> stack;
    bool done;
};
inline ucontext_t emu_sched;
inline emu_fiber *emu_cur;
inline std::function<void()> emu_body;
inline std::vector<float> emu_slots;

inline void __syncthreads() { swapcontext(&emu_cur->ctx, &emu_sched); }
inline float __shfl_xor_sync(unsigned, float v, int lane_mask) {
    unsigned t = threadIdx.x;
    emu_slots[t] = v;
    __syncthreads();
    float r = emu_slots[t ^ (unsigned)lane_mask];
    __syncthreads();
    return r;
}
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }

inline void emu_fiber_main() {
    emu_body();
    emu_cur->done = true; /* returning resumes the scheduler (uc_link) */
}

template <typename F> void emu_launch(dim3 grid, dim3 block, F body) {
    gridDim = grid, blockDim = block;
    unsigned n = block.x * block.y * block.z, blocks = grid.x * grid.y * grid.z;
    emu_body = body;
    emu_slots.assign(n, 0.0f);
    std::vector<emu_fiber> f(n);
    for (auto &x : f) x.stack.resize(1 << 16);
    for (unsigned b = 0; b < blocks; b++) {
        blockIdx = uint3{b % grid.x, (b / grid.x) % grid.y, b / (grid.x * grid.y)};
        for (auto &x : f) {
            getcontext(&x.ctx);
            x.ctx.uc_stack.ss_sp = x.stack.data();
            x.ctx.uc_stack.ss_size = x.stack.size();
            x.ctx.uc_link = &emu_sched;
            makecontext(&x.ctx, emu_fiber_main, 0);
            x.done = false;
        }
        for (bool alive = true; alive;) {
            alive = false;
            for (unsigned t = 0; t < n; t++) {
                if (f[t].done) continue;
                threadIdx = uint3{t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
                emu_cur = &f[t];
                swapcontext(&emu_sched, &f[t].ctx);
                alive |= !f[t].done;
            }
        }
    }
}

#endif
