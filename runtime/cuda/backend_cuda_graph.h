/* backend_cuda_graph.h: the CUDA backend's decode graphs (backend.h set_step ... graph_reset;
 * docs/cuda-graphs.md): the step slots in device memory, the kernels that read them, and
 * stream capture into one instantiated graph. backend_cuda.c owns one cuda_graph per
 * backend and forwards the hooks to these functions; only it includes this header. */
#ifndef ATTN_BACKEND_CUDA_GRAPH_H
#define ATTN_BACKEND_CUDA_GRAPH_H
#include <stddef.h>
#include <cuda_runtime_api.h>
#include "backend.h"
#include "kernels_cuda.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef struct cuda_graph cuda_graph;

/* The slots (zeroed) on the backend's stream; NULL with why in err on failure. */
cuda_graph *cuda_graph_create(cudaStream_t stream, kc_dtype dt, attn_error *err);
void cuda_graph_destroy(cuda_graph *g);
/* 1 while a recording is open: the backend's timers stay off the stream (events cannot be
 * timed inside a graph) */
int cuda_graph_recording(const cuda_graph *g);

int cuda_graph_set_step(cuda_graph *g, const int *values, int count);
void cuda_graph_rope_step(cuda_graph *g, attn_ptr x, int N, int T, int NH, int HS, int pair_begin, int head_dim,
                          float theta);
void cuda_graph_softmax_step(cuda_graph *g, attn_ptr out, attn_ptr s, int NH, int Tq, int Tk, float scale);
void cuda_graph_cache_write_step(cuda_graph *g, attn_ptr cache, size_t cache_seq, attn_ptr src, size_t src_seq,
                                 int seqs, size_t cols);
int cuda_graph_begin(cuda_graph *g);
int cuda_graph_end(cuda_graph *g, size_t *nodes);
int cuda_graph_launch(cuda_graph *g);
void cuda_graph_reset(cuda_graph *g);

#ifdef __cplusplus
}
#endif
#endif
