/* diffusers transformer blocks for the UNets (attention: nn/attention_block.h
 * with the diffusers names to_q/to_k/to_v (no bias) and to_out.0):
 *
 *  - vkr_basic_transformer_block: BasicTransformerBlock with norm_type
 *    "layer_norm": x += attn1(LN1(x)); x += attn2(LN2(x), ctx); x += FF(LN3(x)),
 *    FF = GEGLU (Linear(dim, 8 dim) -> a * gelu_erf(b) -> Linear(4 dim, dim)).
 *    attn2 attends to `context` (cross-attention), or to its own normed tokens
 *    when context is NULL (double_self_attention, or AudioLDM's None context).
 *  - vkr_transformer2d: Transformer2DModel (continuous input): GroupNorm(eps
 *    1e-6, statistics per frame), proj_in, blocks over the H*W tokens of each
 *    (batch, frame), proj_out, + residual.
 *  - vkr_transformer_temporal: TransformerTemporalModel: GroupNorm(eps 1e-6,
 *    statistics across all frames), proj_in, blocks over the F tokens of each
 *    (batch, pixel) (no positional embedding), proj_out, + residual.
 *
 * Video activations are (N, C, F, H, W) device tensors (contiguous); the token
 * layouts are strided views of them, so no permute copies are made. Tokens
 * are tokens-major {1, 1, S, L, dim} (S sequences of L tokens). */
#ifndef VKR_NN_TRANSFORMER_H
#define VKR_NN_TRANSFORMER_H

#include "nn/attention_block.h"
#include "nn/param.h"

typedef struct {
    int64_t dim;
    vkr_layer_norm norm1, norm2, norm3; /* eps 1e-5 */
    vkr_attention_block attn1, attn2;
    vkr_linear ff_proj, ff_out; /* ff.net.0.proj (dim -> 8 dim), ff.net.2 (4 dim -> dim) */
    /* Token rows per feed-forward chunk (diffusers' enable_forward_chunking);
     * 0 (what load sets): as many as keep the 8 dim projection under 64 MiB.
     * Chunking changes no value. */
    int64_t ff_chunk_rows;
} vkr_basic_transformer_block;

/* cross_dim: attn2's key/value width (0: attn2 is self-attention). */
int vkr_basic_transformer_block_load(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, const char *prefix,
                                     int64_t dim, int64_t heads, int64_t head_dim, int64_t cross_dim,
                                     vkr_basic_transformer_block *b);
/* x {1, 1, S, L, dim} (contiguous) is updated in place. ctx as for attn2. */
int vkr_basic_transformer_block_forward(vkr_gpu *gpu, const vkr_basic_transformer_block *b, const vkr_tensor *x,
                                        const vkr_tensor *ctx);

#define VKR_TRANSFORMER_MAX_LAYERS 4

typedef struct {
    int64_t channels, inner, heads, head_dim;
    int groups, n_layers;
    vkr_tensor norm_weight, norm_bias; /* GroupNorm eps 1e-6 */
    vkr_linear proj_in, proj_out;
    vkr_basic_transformer_block blocks[VKR_TRANSFORMER_MAX_LAYERS];
} vkr_transformer;

/* Transformer2DModel(num_attention_heads = heads, attention_head_dim =
 * head_dim, in_channels = channels, norm_num_groups = groups, cross_attention_dim
 * = cross_dim (0: none)). */
int vkr_transformer2d_load(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, const char *prefix, int64_t channels,
                           int64_t heads, int64_t head_dim, int groups, int n_layers, int64_t cross_dim,
                           vkr_transformer *t);
/* out (N, C, F, H, W) = Transformer2DModel(x) applied to every (batch, frame);
 * ctx {1, 1, N*F, L, cross_dim} (index n*F + f, encoder_hidden_states
 * repeat_interleave'd over frames) or NULL. out must not overlap x. */
int vkr_transformer2d_forward(vkr_gpu *gpu, const vkr_transformer *t, const vkr_tensor *x, const vkr_tensor *ctx,
                              const vkr_tensor *out);

/* TransformerTemporalModel (double_self_attention: attn2 is self-attention). */
int vkr_transformer_temporal_load(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, const char *prefix,
                                  int64_t channels, int64_t heads, int64_t head_dim, int groups, int n_layers,
                                  vkr_transformer *t);
/* out (N, C, F, H, W) = x + attention over frames for every (batch, pixel).
 * out must not overlap x. */
int vkr_transformer_temporal_forward(vkr_gpu *gpu, const vkr_transformer *t, const vkr_tensor *x,
                                     const vkr_tensor *out);

#endif
