/* check_cuda_headers.c: kernels/cuda/cuda_check.h before lib/diag.h, in that order, must
 * compile: ATTN_EXIT_SKIP has one definition (diag.h), which cuda_check.h includes rather
 * than repeats. Built in every CUDA build; it also checks the value ctest skips on. */
#include "cuda_check.h"
#include "diag.h"

_Static_assert(ATTN_EXIT_SKIP == 77, "ctest's SKIP_RETURN_CODE for the gpu tests is 77");

int main(void) { return ATTN_EXIT_OK; }
