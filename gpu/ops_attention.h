/* Fused scaled-dot-product attention (flash-attention style: the Lq x Lk score
 * matrix is never stored):
 *
 *   out[b,h,i,:] = sum_j softmax_j(scale * q[b,h,i,:].k[b,h,j,:] + mask[b,h,i,j]) v[b,h,j,:]
 *
 * Tensors are [B, H, L, D] as 5-D extents {1, B, H, L, D} with ANY element
 * strides, so the heads of a tokens-major (B, L, H*D) projection are read in
 * place (vkr_attention_split_heads) and the output is written straight into a
 * (B, L, H*D) tensor. q: {1,B,H,Lq,D}; k, v: {1,B,H,Lk,D}; out: {1,B,H,Lq,D}.
 * Self and cross attention (Lq != Lk); head dim D 1..128 fused; q, k, v, mask and out
 * share one storage dtype (F32, F16, BF16); softmax and accumulation are f32.
 * Wider heads (AudioLDM-l: 160) run unfused (f32 scores Lq x Lk in memory:
 * matmul, softmax, matmul; non-causal, automatic variant only; a fully masked
 * row gives NaN there instead of the mean of v).
 *
 * Mask (optional): additive, extents {1, B|1, H|1, Lq|1, Lk} (dims of extent 1
 * broadcast), e.g. a key-padding mask {1,B,1,1,Lk} of 0 / -inf (or finfo.min).
 * Scores are clamped at -1e30, so -inf acts like finfo.min: a row whose keys
 * are all masked averages v uniformly (torch gives the same with finfo.min
 * masks and NaN with -inf ones).
 * Causal (CLIP text encoder): key j is dropped for query i when j > i
 * (top-left aligned, as torch's is_causal, also when Lq != Lk).
 *
 * Size limits: operands larger than one binding window are split over batch,
 * then heads, then query rows (rows are independent); the keys/values of ONE
 * (batch, head) must fit a window (on lavapipe's 128 MiB: Lk*D <= 32M f32
 * elements), otherwise VKR_E_DATA. */
#ifndef VKR_OPS_ATTENTION_H
#define VKR_OPS_ATTENTION_H

#include "gpu/tensor.h"

typedef enum {
    VKR_ATTENTION_AUTO = 0,     /* pick by shape and device */
    VKR_ATTENTION_PLAIN = 1,    /* one invocation per query row */
    VKR_ATTENTION_SUBGROUP = 2, /* one subgroup per query row (needs subgroup arithmetic; else VKR_E_TEMPFAIL) */
    VKR_ATTENTION_GPU_TILING = 3, /* plain with the GPU tiling (1 row per invocation, short sequences packed
                                   * several per workgroup) on any device: lets CPU-only CI test it */
} vkr_attention_variant;

typedef struct {
    float scale;                  /* 0: 1/sqrt(D) */
    int causal;                   /* 1: drop keys j > i */
    const vkr_tensor *mask;       /* NULL or additive mask (see above) */
    vkr_attention_variant variant; /* tests and benchmarks; 0 = auto */
} vkr_attention_params;

/* out = attention(q, k, v); params may be NULL (scale 1/sqrt(D), no mask).
 * Recorded like every op. out must not overlap q, k, v. */
int vkr_op_attention(vkr_gpu *gpu, const vkr_tensor *q, const vkr_tensor *k, const vkr_tensor *v,
                     const vkr_attention_params *params, const vkr_tensor *out);

/* The [B, H, L, D] view {1, B, H, L, D} of a tokens-major tensor x with extents
 * {1, 1, B, L, H*D} (any strides): no copy. Use it for q, k, v (from the
 * to_q/to_k/to_v projections) and for out (then feed x to to_out). */
int vkr_attention_split_heads(const vkr_tensor *x, int64_t heads, vkr_tensor *out);

/* Whether a variant can run on this device (PLAIN and AUTO always can). */
int vkr_attention_has_variant(vkr_gpu *gpu, vkr_attention_variant variant);

#endif
