/* Multi-head attention module: q/k/v projections, fused scaled-dot-product
 * attention (gpu/ops_attention.h) and the output projection, with the
 * residual add fused into the output projection's epilogue.
 *
 * One struct serves transformers' CLIPAttention (q_proj/k_proj/v_proj/out_proj,
 * all with biases), RoBERTa/CLAP self-attention (attention.self.query/key/value
 * + attention.output.dense) and diffusers' Attention (to_q/to_k/to_v without
 * bias, to_out.0 with bias; cross-attention when kv_dim != dim). The caller
 * names the four sub-modules, so no model vocabulary is baked in here.
 *
 * Tensors are tokens-major: x {1, 1, B, Lq, dim}, context {1, 1, B, Lk,
 * kv_dim}, out {1, 1, B, Lq, dim}; any leading layout the matmul accepts. */
#ifndef VKR_NN_ATTENTION_BLOCK_H
#define VKR_NN_ATTENTION_BLOCK_H

#include "gpu/ops_attention.h"
#include "nn/param.h"

typedef struct {
    const char *q, *k, *v, *out; /* sub-module names under the prefix, e.g. "q_proj" or "to_out.0" */
    bool q_bias, k_bias, v_bias, out_bias;
} vkr_attention_names;

/* transformers CLIPAttention: q_proj, k_proj, v_proj, out_proj, all biased. */
extern const vkr_attention_names vkr_attention_names_clip;
/* transformers RoBERTa/BERT/CLAP-text self-attention (prefix = "...layer.N.attention"):
 * self.query, self.key, self.value, output.dense, all biased. */
extern const vkr_attention_names vkr_attention_names_bert;
/* diffusers Attention (bias=False, out_bias=True): to_q, to_k, to_v, to_out.0. */
extern const vkr_attention_names vkr_attention_names_diffusers;

typedef struct {
    int64_t dim;       /* query / output width */
    int64_t kv_dim;    /* context width (== dim for self-attention) */
    int64_t inner_dim; /* heads * head_dim: width of q, k, v */
    int64_t heads;
    vkr_linear q, k, v, out;
} vkr_attention_block;

/* Loads "<prefix>.<names->q>.weight" (inner_dim, dim), k/v (inner_dim, kv_dim),
 * out (dim, inner_dim), biases as names say. inner_dim % heads must be 0. */
int vkr_attention_block_load(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, const char *prefix,
                             const vkr_attention_names *names, int64_t dim, int64_t kv_dim, int64_t inner_dim,
                             int64_t heads, vkr_attention_block *blk);

typedef struct {
    int causal;                 /* 1: query i sees keys j <= i (CLIP text encoder) */
    const vkr_tensor *mask;     /* additive mask {1, B|1, heads|1, Lq|1, Lk} in the activations'
                                 * dtype (key padding: {1, B, 1, 1, Lk} of 0 / finfo.min), or NULL */
    const vkr_tensor *residual; /* added after the output projection (may be `out` itself), or NULL */
    float scale;                /* 0: head_dim^-0.5 */
} vkr_attention_block_args;

/* out = to_out(attention(to_q(x), to_k(ctx), to_v(ctx))) (+ residual); ctx =
 * context, or x when context is NULL. args may be NULL. out must not overlap x
 * or context (it may be the residual). Scratch q/k/v/attention tensors are
 * taken from and returned to the activation arena. */
int vkr_attention_block_forward(vkr_gpu *gpu, const vkr_attention_block *blk, const vkr_tensor *x,
                                const vkr_tensor *context, const vkr_attention_block_args *args,
                                const vkr_tensor *out);

#endif
