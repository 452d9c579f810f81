/* cuda_emu.h: a CPU stand-in for the little of CUDA the kernels of kernels/cuda/ use, so
 * that their logic (indexing, grid-stride loops, block reductions, masking, every output
 * element written) is tested on machines without a GPU. emulate.py rewrites each launch
 * `k<<<g, b, s, st>>>(args)` into `emu_launch(g, b, st, [=] { k(args); })`; emu_launch runs
 * the blocks one after another, a block's threads as fibers, so __syncthreads is a
 * barrier, __shared__ is `static` (one block at a time: one block's shared memory), and
 * __shfl_xor_sync exchanges through a per-block array between two barriers (valid because
 * every thread of a block reaches each shuffle, as the kernels' reductions are written).
 * Device memory is host memory. This says nothing about speed, the memory model or
 * warp-divergent code: the real test is tests/gpu/test_kernels.cu on a GPU. */
#ifndef ATTN_CUDA_EMU_H
#define ATTN_CUDA_EMU_H
#undef _FORTIFY_SOURCE /* its longjmp check refuses jumps between fiber stacks */
#include <csetjmp>
#include <cmath>
#include <cstdlib>
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

/* Threads are fibers on one OS thread: makecontext gives each its stack, _setjmp and
 * _longjmp switch (no system call per switch, unlike swapcontext). The scheduler runs
 * every fiber of the block up to its next __syncthreads, round after round, so one round
 * is one barrier phase; each fiber walks all the blocks, with a barrier between blocks
 * (shared memory is reused). threadIdx is set before each switch into a fiber. */
inline uint3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;

struct emu_fiber {
    ucontext_t ctx;
    jmp_buf jb;
    std::unique_ptr<char[]> stack; /* uninitialized: no page is touched until used */
    bool started, done;
};
inline constexpr size_t emu_stack_bytes = 1 << 16;
inline std::vector<emu_fiber> emu_fibers; /* kept from launch to launch */
inline jmp_buf emu_sched_jb;
inline emu_fiber *emu_cur;
inline std::function<void()> emu_body;
inline std::vector<float> emu_slots;
inline unsigned emu_blocks, emu_t;
inline bool emu_alive;

inline void __syncthreads() {
    if (!_setjmp(emu_cur->jb)) _longjmp(emu_sched_jb, 1);
}
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
    for (unsigned b = 0; b < emu_blocks; b++) {
        blockIdx = uint3{b % gridDim.x, (b / gridDim.x) % gridDim.y, b / (gridDim.x * gridDim.y)};
        emu_body();
        __syncthreads();
    }
    emu_cur->done = true;
    _longjmp(emu_sched_jb, 1); /* never return: the context has no successor */
}

/* Stream capture (cuda_emu_runtime.cpp): while stream s is captured, work queued on it
 * (launches, cuBLAS calls, async copies, emulated NCCL operations) is appended to its
 * graph and runs at each cudaGraphLaunch instead of now. cuda_emu_capture_add returns
 * false, recording nothing, when s is not being captured. */
bool cuda_emu_capturing(cudaStream_t s);
bool cuda_emu_capture_add(cudaStream_t s, std::function<cudaError_t()> work);

template <typename F> void emu_launch_now(dim3 grid, dim3 block, F body) {
    gridDim = grid, blockDim = block;
    unsigned n = block.x * block.y * block.z;
    emu_blocks = grid.x * grid.y * grid.z;
    emu_body = body;
    emu_slots.assign(n, 0.0f);
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
        x.started = x.done = false;
    }
    /* the loop state is global, not local: it lives across _setjmp/_longjmp */
    for (emu_alive = true; emu_alive;) {
        emu_alive = false;
        for (emu_t = 0; emu_t < n; emu_t++) {
            emu_fiber &x = f[emu_t];
            if (x.done) continue;
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
            if (!emu_cur->done) emu_alive = true;
        }
    }
}

/* A launch: run now, or recorded (with its arguments, copied by the rewrite's [=]) into
 * the graph being captured on stream. */
template <typename F> void emu_launch(dim3 grid, dim3 block, cudaStream_t stream, F body) {
    if (cuda_emu_capture_add(stream, [grid, block, body] {
            emu_launch_now(grid, block, body);
            return cudaSuccess;
        }))
        return;
    emu_launch_now(grid, block, body);
}

#endif
