/* Plain-C reference for the attention family (gpu/ops_attention.c), on host
 * views (gpu/ref.h): the full score row in double, max-subtracted softmax. */
#ifndef VKR_REF_ATTENTION_H
#define VKR_REF_ATTENTION_H

#include "gpu/ref.h"

/* out = softmax(scale * q k^T + mask) v per (batch, head). q, out: {1,B,H,Lq,D};
 * k, v: {1,B,H,Lk,D}; mask NULL or {1,B|1,H|1,Lq|1,Lk} (unit dims broadcast).
 * Same semantics as vkr_op_attention: scores clamped at -1e30, causal drops
 * keys j > i. */
void vkr_ref_attention(const vkr_host_tensor *q, const vkr_host_tensor *k, const vkr_host_tensor *v,
                       const vkr_host_tensor *mask, double scale, int causal, const vkr_host_tensor *out);

#endif
