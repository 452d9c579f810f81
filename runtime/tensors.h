/* tensors.h: where attnrun's weights and inputs come from: a safetensors file (mapped;
 * only the requested block of each tensor is read) or, without a file, seeded random
 * values from a counter-based generator keyed on (seed, tensor name, element index), so
 * every rank generates exactly its shard and all ranks agree (docs/model-contract.md).
 * Every tensor is read as a 2-D block of its row-major [rows, cols] view, where cols is
 * its last dimension and rows the product of the others. */
#ifndef ATTN_TENSORS_H
#define ATTN_TENSORS_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

typedef struct tensor_source tensor_source;

/* path NULL: seeded random values. Returns NULL with a message in err on failure (a
 * file that cannot be opened, mapped or whose header is malformed). */
tensor_source *tensor_source_create(const char *path, uint64_t seed, char *err, size_t errlen);
void tensor_source_destroy(tensor_source *ts);
const char *tensor_source_name(const tensor_source *ts); /* file name or "seeded random" */
int tensor_source_has(const tensor_source *ts, const char *name);

/* Reads rows [r0,r1) x cols [c0,c1) of tensor `name`, whose shape must be shape[0..ndim),
 * into dst (row-major, r1-r0 rows of c1-c0 floats). 0 ok; -1 with a message naming the
 * file and tensor in err (missing, wrong shape, unsupported dtype, data out of the file). */
int tensor_read_block(tensor_source *ts, const char *name, int ndim, const long long *shape,
                      long long r0, long long r1, long long c0, long long c1, float *dst,
                      char *err, size_t errlen);

/* Token ids: rows [r0,r1) (all columns) of tensor `name` of shape shape[0..ndim), dtype
 * I64 or I32 (what tokenizers write), each checked to lie in [0, vocab); without a file,
 * seeded ids uniform over the vocabulary (docs/model-contract.md). 0 ok; -1 with a
 * message in err. */
int tensor_read_ids(tensor_source *ts, const char *name, int ndim, const long long *shape, long long r0, long long r1,
                    int vocab, int32_t *dst, char *err, size_t errlen);

/* The seeded random value of element `index` of tensor `name` with `cols` columns
 * (the scale depends on the name; docs/model-contract.md). */
double tensor_random_value(uint64_t seed, const char *name, long long cols, uint64_t index);
/* The same values, with the per-tensor work (hashing the name, choosing the
 * distribution) done once: tensor_random_init, then tensor_random_at per element. */
typedef struct tensor_random {
    uint64_t key;
    double scale, offset;
} tensor_random;
tensor_random tensor_random_init(uint64_t seed, const char *name, long long cols);
static inline double tensor_random_at(const tensor_random *tr, uint64_t index) {
    uint64_t z = tr->key + (index + 1) * 0x9E3779B97F4A7C15ull; /* splitmix64(key + index*golden) */
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    double r = 2.0 * ((double)(z >> 11) * 0x1.0p-53) - 1.0; /* uniform in [-1, 1) */
    return tr->offset + tr->scale * r;
}

/* Writes F32 tensors to a safetensors file atomically (temporary file + rename). */
typedef struct tensor_out {
    const char *name;
    int ndim;
    long long shape[4];
    const float *data;
} tensor_out;
int safetensors_write(const char *path, const tensor_out *tensors, int count, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
