/* gpu_probe.c: exits 0 when a CUDA device is usable, 77 (skip) when not: any error from
 * cudaGetDeviceCount (no driver, no device nodes) counts as no GPU. Prints what it found.
 * The GPU test scripts and scripts/gpu-check.sh start with it. */
#include <stdio.h>
#include "cuda_check.h"

int main(void) {
    if (!cuda_have_device()) {
        printf("no usable CUDA device\n");
        return ATTN_EXIT_SKIP;
    }
    struct cudaDeviceProp prop;
    CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    printf("%s (sm_%d%d, %d SMs, %zu bytes)\n", prop.name, prop.major, prop.minor, prop.multiProcessorCount,
           prop.totalGlobalMem);
    return 0;
}
