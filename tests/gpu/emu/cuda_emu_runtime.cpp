/* cuda_emu_runtime.cpp: the CUDA runtime calls the kernels, tests/gpu/test_kernels.cu and
 * runtime/cuda/backend_cuda.c make, on host memory, for the CPU stand-in of cuda_emu.h.
 * One "device" that is always there; work is synchronous, so streams and synchronization
 * are no-ops and an event records the host clock; an error set by a call is returned
 * once by cudaGetLastError, as CUDA does.
 *
 * Stream capture and graphs: between cudaStreamBeginCapture and cudaStreamEndCapture the
 * work queued on the stream (kernel launches, cuBLAS calls, async copies, emulated NCCL
 * operations) is recorded in call order instead of run; cudaGraphLaunch runs the recorded
 * list, in order, as a graph captured from one stream runs on a GPU. As CUDA does, the
 * capture breaks on what a graph cannot hold, called from the capturing thread (the mode
 * ThreadLocal and Global alike, this emulation having one thread): a synchronization of
 * the stream or the device, a synchronous copy or memset, cudaMalloc and cudaFree; the
 * call fails with cudaErrorStreamCaptureUnsupported and cudaStreamEndCapture with
 * cudaErrorStreamCaptureInvalidated. Stricter than CUDA: cudaEventRecord on a capturing
 * stream fails too (CUDA records an event node, whose elapsed times cannot be read; the
 * project never times inside a graph, docs/cuda-graphs.md). */
#include "cuda_emu.h"
#include <chrono>

typedef std::vector<std::function<cudaError_t()>> emu_work_list;
struct CUgraph_st {
    emu_work_list work;
};
struct CUgraphExec_st {
    emu_work_list work;
};
static cudaStream_t emu_cap_stream;   /* the stream being captured, or null */
static bool emu_cap_active, emu_cap_broken;
static emu_work_list emu_cap_work;

bool cuda_emu_capturing(cudaStream_t s) { return emu_cap_active && s == emu_cap_stream; }
bool cuda_emu_capture_add(cudaStream_t s, std::function<cudaError_t()> work) {
    if (!cuda_emu_capturing(s)) return false;
    emu_cap_work.push_back(std::move(work));
    return true;
}

static cudaError_t emu_last = cudaSuccess;
static cudaError_t emu_set(cudaError_t e) {
    if (e != cudaSuccess) emu_last = e;
    return e;
}

/* a launch with an impossible configuration (cuda_emu.h emu_launch) */
cudaError_t emu_launch_error(cudaError_t e) { return emu_set(e); }

/* A call a graph cannot hold, made while a capture is open: it breaks the capture. */
static bool emu_cap_refuse() {
    if (!emu_cap_active) return false;
    emu_cap_broken = true;
    emu_set(cudaErrorStreamCaptureUnsupported);
    return true;
}

extern "C" {
cudaError_t cudaStreamBeginCapture(cudaStream_t s, enum cudaStreamCaptureMode mode) {
    if (emu_cap_active) return emu_set(cudaErrorIllegalState); /* one capture at a time here */
    if (!s) return emu_set(cudaErrorStreamCaptureUnsupported); /* the legacy stream cannot be captured */
    if (mode != cudaStreamCaptureModeGlobal && mode != cudaStreamCaptureModeThreadLocal &&
        mode != cudaStreamCaptureModeRelaxed)
        return emu_set(cudaErrorInvalidValue);
    emu_cap_stream = s, emu_cap_active = true, emu_cap_broken = false;
    emu_cap_work.clear();
    return cudaSuccess;
}
cudaError_t cudaStreamIsCapturing(cudaStream_t s, enum cudaStreamCaptureStatus *st) {
    *st = !cuda_emu_capturing(s) ? cudaStreamCaptureStatusNone
          : emu_cap_broken       ? cudaStreamCaptureStatusInvalidated
                                 : cudaStreamCaptureStatusActive;
    return cudaSuccess;
}
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *graph) {
    if (!cuda_emu_capturing(s)) return emu_set(cudaErrorIllegalState);
    emu_cap_active = false, emu_cap_stream = nullptr;
    *graph = nullptr;
    if (emu_cap_broken) {
        emu_cap_work.clear();
        return emu_set(cudaErrorStreamCaptureInvalidated);
    }
    *graph = new CUgraph_st{std::move(emu_cap_work)};
    emu_cap_work.clear();
    return cudaSuccess;
}
cudaError_t cudaGraphGetNodes(cudaGraph_t g, cudaGraphNode_t *nodes, size_t *count) {
    if (!g || !count || nodes) return emu_set(cudaErrorInvalidValue); /* only the count is emulated */
    *count = g->work.size();
    return cudaSuccess;
}
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t g, unsigned long long) {
    if (!g || !exec) return emu_set(cudaErrorInvalidValue);
    *exec = new CUgraphExec_st{g->work}; /* a copy: the graph may be destroyed first */
    return cudaSuccess;
}
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t s) {
    if (!exec) return emu_set(cudaErrorInvalidValue);
    if (emu_cap_active) return emu_set(cudaErrorStreamCaptureUnsupported); /* graphs in graphs: never done here */
    (void)s;
    for (auto &w : exec->work) {
        cudaError_t e = w();
        if (e != cudaSuccess) return emu_set(e);
    }
    return cudaSuccess;
}
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
    delete exec;
    return cudaSuccess;
}
cudaError_t cudaGraphDestroy(cudaGraph_t g) {
    delete g;
    return cudaSuccess;
}
cudaError_t cudaGetDeviceCount(int *count) {
    *count = 1;
    return cudaSuccess;
}
cudaError_t cudaGetLastError(void) {
    cudaError_t e = emu_last;
    emu_last = cudaSuccess;
    return e;
}
cudaError_t cudaPeekAtLastError(void) { return emu_last; }
const char *cudaGetErrorString(cudaError_t e) { return e == cudaSuccess ? "no error" : "emulated CUDA error"; }
const char *cudaGetErrorName(cudaError_t e) { return e == cudaSuccess ? "cudaSuccess" : "cudaErrorEmulated"; }
cudaError_t cudaMalloc(void **p, size_t size) {
    if (emu_cap_refuse()) return cudaErrorStreamCaptureUnsupported;
    *p = std::malloc(size ? size : 1);
    return emu_set(*p ? cudaSuccess : cudaErrorMemoryAllocation);
}
cudaError_t cudaFree(void *p) {
    if (emu_cap_refuse()) return cudaErrorStreamCaptureUnsupported;
    std::free(p);
    return cudaSuccess;
}
cudaError_t cudaMemset(void *p, int value, size_t count) {
    if (emu_cap_refuse()) return cudaErrorStreamCaptureUnsupported;
    std::memset(p, value, count);
    return cudaSuccess;
}
cudaError_t cudaMemcpy(void *dst, const void *src, size_t count, enum cudaMemcpyKind) {
    if (emu_cap_refuse()) return cudaErrorStreamCaptureUnsupported;
    std::memmove(dst, src, count);
    return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count, enum cudaMemcpyKind, cudaStream_t s) {
    if (cuda_emu_capture_add(s, [=] {
            std::memmove(dst, src, count);
            return cudaSuccess;
        }))
        return cudaSuccess;
    std::memmove(dst, src, count);
    return cudaSuccess;
}
/* an H100 SXM's multiprocessors (the kernels size grids by them) and its opt-in shared
 * memory per block, which emu_launch enforces */
cudaError_t cudaDeviceGetAttribute(int *value, enum cudaDeviceAttr attr, int device) {
    if (device != 0) return emu_set(cudaErrorInvalidDevice);
    switch (attr) {
    case cudaDevAttrMultiProcessorCount: *value = 132; return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = (int)emu_dyn_smem_max; return cudaSuccess;
    default: return emu_set(cudaErrorInvalidValue);
    }
}
cudaError_t cudaGetDevice(int *device) {
    *device = 0;
    return cudaSuccess;
}
cudaError_t cudaFuncSetAttribute(const void *, enum cudaFuncAttribute attr, int value) {
    if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize && (value < 0 || (size_t)value > emu_dyn_smem_max))
        return emu_set(cudaErrorInvalidValue);
    return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize(void) { return emu_cap_refuse() ? cudaErrorStreamCaptureUnsupported : cudaSuccess; }
cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : emu_set(cudaErrorInvalidDevice); }
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned int) {
    static int dummy;
    *s = (cudaStream_t)&dummy;
    return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) { return emu_cap_refuse() ? cudaErrorStreamCaptureUnsupported : cudaSuccess; }
cudaError_t cudaStreamDestroy(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaMemGetInfo(size_t *free_b, size_t *total_b) {
    *free_b = *total_b = (size_t)1 << 34;
    return cudaSuccess;
}
cudaError_t cudaMemcpy2DAsync(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width, size_t height,
                              enum cudaMemcpyKind, cudaStream_t s) {
    if (width > dpitch || width > spitch) return emu_set(cudaErrorInvalidPitchValue);
    if (cuda_emu_capture_add(s, [=] {
            for (size_t r = 0; r < height; r++)
                std::memmove((char *)dst + r * dpitch, (const char *)src + r * spitch, width);
            return cudaSuccess;
        }))
        return cudaSuccess;
    for (size_t r = 0; r < height; r++) std::memmove((char *)dst + r * dpitch, (const char *)src + r * spitch, width);
    return cudaSuccess;
}
struct CUevent_st {
    double ms;
};
cudaError_t cudaEventCreate(cudaEvent_t *e) {
    *e = new CUevent_st{0.0};
    return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s) {
    if (cuda_emu_capturing(s) && emu_cap_refuse()) return cudaErrorStreamCaptureUnsupported;
    using namespace std::chrono;
    e->ms = duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
    return cudaSuccess;
}
/* everything runs at its call here, so a stream waiting for an event waits for nothing */
cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t, unsigned int) {
    if (cuda_emu_capturing(s) && emu_cap_refuse()) return cudaErrorStreamCaptureUnsupported;
    return cudaSuccess;
}
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b) {
    *ms = (float)(b->ms - a->ms);
    return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
    delete e;
    return cudaSuccess;
}
}
