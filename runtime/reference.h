/* reference.h: the unpartitioned forward in float64 with plain loops, the yardstick of
 * attnrun --check. Decode inputs are given, not sampled, so the prefill plus decode steps
 * equal one causal forward over the L + TDEC tokens of each sequence. */
#ifndef ATTN_REFERENCE_H
#define ATTN_REFERENCE_H
#include <stddef.h>
#include "model.h"
#include "tensors.h"

/* prefill_in [B, L, C], decode_in [B, TDEC, C] (NULL when TDEC = 0); outputs likewise.
 * 0 ok; -1 with a message in err (a weight could not be read, out of memory). */
int reference_forward(const attn_model *m, tensor_source *ws, const float *prefill_in, const float *decode_in,
                      double *prefill_out, double *decode_out, char *err, size_t errlen);
/* A model with a vocabulary (its ends): token ids prefill_ids [B, L] and decode_ids
 * [B, TDEC] (NULL when TDEC = 0) through the embedding, the layers (reference_forward),
 * the final norm and the LM head (the embedding when tied); prefill_logits [B, V] are the
 * logits of each sequence's last prompt position, decode_logits [B, TDEC, V] those of
 * every decode position. 0 ok; -1 with a message in err. */
int reference_forward_logits(const attn_model *m, tensor_source *ws, const int32_t *prefill_ids, const int32_t *decode_ids,
                             double *prefill_logits, double *decode_logits, char *err, size_t errlen);
#endif
