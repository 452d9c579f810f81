/* backend_cuda_graph.c: the CUDA backend's decode graphs (backend_cuda_graph.h). A decode
 * step is recorded once by stream capture on the backend's stream (kernels, cuBLAS calls,
 * copies and, queued on the same stream by comm_nccl.c, NCCL collectives: NCCL 2.9 and
 * later capture collectives, point to point and groups, NCCL user guide "Using NCCL with
 * CUDA Graphs"), instantiated, and relaunched for every later step with one
 * cudaGraphLaunch. What differs between steps is only the decode position, which the
 * *_step kernels read from the slots when they run; set_step writes the slots before
 * each launch, in stream order.
 * Capture mode: cudaStreamCaptureModeThreadLocal. It still refuses unsafe calls (a
 * synchronization, cudaMalloc) made by this thread while recording, which would be bugs
 * of ours, while NCCL's own threads stay free to work (the NCCL guide names
 * ThreadLocal as the mode for multi-threaded NCCL use). */
#include "backend_cuda_graph.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cuda_check.h"

struct cuda_graph {
    cudaStream_t stream;
    kc_dtype dt;
    int *slots;             /* device int[ATTN_STEP_SLOTS] */
    int host[ATTN_STEP_SLOTS];
    int recording;
    cudaGraphExec_t exec;   /* the instantiated step, or NULL */
};

cuda_graph *cuda_graph_create(cudaStream_t stream, kc_dtype dt, attn_error *err) {
    cuda_graph *g = calloc(1, sizeof *g);
    if (!g) {
        attn_error_set(err, ATTN_EXIT_FAIL, "%s:%d: error: out of host memory", __FILE__, __LINE__);
        return NULL;
    }
    g->stream = stream;
    g->dt = dt;
    cudaError_t e = cudaMalloc((void **)&g->slots, ATTN_STEP_SLOTS * sizeof(int));
    if (e == cudaSuccess) e = cudaMemset(g->slots, 0, ATTN_STEP_SLOTS * sizeof(int));
    if (e != cudaSuccess) {
        attn_error_set(err, ATTN_EXIT_FAIL, "%s:%d: CUDA error %d (%s) allocating the decode step slots", __FILE__,
                       __LINE__, (int)e, cudaGetErrorString(e));
        (void)cudaGetLastError();
        if (g->slots) cudaFree(g->slots);
        free(g);
        return NULL;
    }
    return g;
}

void cuda_graph_destroy(cuda_graph *g) {
    if (!g) return;
    cuda_graph_reset(g);
    cudaFree(g->slots);
    free(g);
}

int cuda_graph_recording(const cuda_graph *g) { return g && g->recording; }

int cuda_graph_set_step(cuda_graph *g, const int *values, int count) {
    if (count < 0 || count > ATTN_STEP_SLOTS || g->recording) {
        fprintf(stderr, "%s:%d: error: set_step of %d values%s\n", __FILE__, __LINE__, count,
                g->recording ? " while recording a graph (the slots are written between launches)" : "");
        return -1;
    }
    /* from pageable host memory, cudaMemcpyAsync stages the values before it returns, so
     * g->host may be rewritten at once; the copy itself is stream-ordered after the
     * previous step's graph, which still reads the old values */
    memcpy(g->host, values, (size_t)count * sizeof(int));
    CUDA_CHECK(cudaMemcpyAsync(g->slots, g->host, (size_t)count * sizeof(int), cudaMemcpyHostToDevice, g->stream));
    return 0;
}

void cuda_graph_rope_step(cuda_graph *g, attn_ptr x, int N, int T, int NH, int HS, int pair_begin, int head_dim,
                          float theta) {
    CUDA_CHECK(rope_forward_seq_dev_cuda(x.addr, N, T, NH, HS, g->slots + ATTN_STEP_POS, pair_begin, head_dim, theta,
                                         g->dt, g->stream));
}

void cuda_graph_softmax_step(cuda_graph *g, attn_ptr out, attn_ptr s, int NH, int Tq, int Tk, float scale) {
    CUDA_CHECK(softmax_causal_forward_dev_cuda(out.addr, g->dt, s.addr, KC_FP32, NH, Tq, Tk, g->slots + ATTN_STEP_POS,
                                               scale, g->stream));
}

void cuda_graph_cache_write_step(cuda_graph *g, attn_ptr cache, size_t cache_seq, attn_ptr src, size_t src_seq,
                                 int seqs, size_t cols) {
    if (seqs <= 0 || cols == 0) return;
    CUDA_CHECK(copy_strided_at_cuda(cache.addr, cache_seq, cols, g->slots + ATTN_STEP_POS, src.addr, src_seq, cols,
                                    seqs, 1, (int)cols, g->dt, g->stream));
}

/* a failed capture or instantiation is reported and returned: the forward falls back to
 * launching the step op by op */
static int graph_fail(cudaError_t e, int line, const char *what) {
    fprintf(stderr, "%s:%d: error: CUDA error %d (%s: %s) in %s\n", __FILE__, line, (int)e, cudaGetErrorName(e),
            cudaGetErrorString(e), what);
    (void)cudaGetLastError();
    return -1;
}

int cuda_graph_begin(cuda_graph *g) {
    if (g->recording) {
        fprintf(stderr, "%s:%d: error: graph_begin while recording\n", __FILE__, __LINE__);
        return -1;
    }
    cudaError_t e = cudaStreamBeginCapture(g->stream, cudaStreamCaptureModeThreadLocal);
    if (e != cudaSuccess) return graph_fail(e, __LINE__, "cudaStreamBeginCapture");
    g->recording = 1;
    return 0;
}

int cuda_graph_end(cuda_graph *g, size_t *nodes) {
    if (!g->recording) {
        fprintf(stderr, "%s:%d: error: graph_end without graph_begin\n", __FILE__, __LINE__);
        return -1;
    }
    g->recording = 0;
    cudaGraph_t graph = NULL;
    cudaError_t e = cudaStreamEndCapture(g->stream, &graph);
    if (e != cudaSuccess) return graph_fail(e, __LINE__, "cudaStreamEndCapture (an op of the step broke the capture)");
    size_t n = 0;
    e = cudaGraphGetNodes(graph, NULL, &n);
    if (e == cudaSuccess) {
        if (g->exec) cudaGraphExecDestroy(g->exec), g->exec = NULL;
        e = cudaGraphInstantiate(&g->exec, graph, 0);
        if (e != cudaSuccess) g->exec = NULL;
    }
    cudaGraphDestroy(graph); /* the instance holds what it needs */
    if (e != cudaSuccess) return graph_fail(e, __LINE__, "cudaGraphInstantiate");
    if (nodes) *nodes = n;
    return 0;
}

int cuda_graph_launch(cuda_graph *g) {
    if (!g->exec || g->recording) {
        fprintf(stderr, "%s:%d: error: graph_launch %s\n", __FILE__, __LINE__,
                g->recording ? "while recording" : "without an instantiated graph");
        return -1;
    }
    CUDA_CHECK(cudaGraphLaunch(g->exec, g->stream));
    return 0;
}

void cuda_graph_reset(cuda_graph *g) {
    if (g->recording) { /* an abandoned recording: end it and drop what it holds */
        cudaGraph_t graph = NULL;
        if (cudaStreamEndCapture(g->stream, &graph) == cudaSuccess && graph) cudaGraphDestroy(graph);
        (void)cudaGetLastError();
        g->recording = 0;
    }
    if (g->exec) cudaGraphExecDestroy(g->exec), g->exec = NULL;
}
