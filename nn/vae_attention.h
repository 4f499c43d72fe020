/* The VAE mid-block attention (diffusers Attention with group_norm, as built by
 * UNetMidBlock2D for AutoencoderKL): over the H*W tokens of each frame,
 *
 *   t = GroupNorm(groups, C, eps)(x)                   per frame
 *   q, k, v = to_q(t), to_k(t), to_v(t)                 Linear C -> C with bias
 *   o = softmax(q k^T / sqrt(D)) v   per head (D = C / heads; the VAE has 1 head)
 *   y = (to_out.0(o) + x) / rescale_output_factor
 *
 * softmax in f32 (upcast_softmax). Legacy checkpoints name the projections
 * query / key / value / proj_attn; both spellings load, as (C, C) or
 * (C, C, 1, 1) matrices.
 *
 * Layout: tokens are never gathered. The projections run as 1x1 convolutions
 * on the (N, C, F, H, W) activation, and the attention reads q, k, v through
 * strided [tokens, channels] views of it (batch dims N, F, heads), so frames
 * stay folded into the batch with no permute copy. Scores are materialised
 * (D can be 512 in real checkpoints) in blocks of query rows so that their
 * size stays under a budget. */
#ifndef VKR_NN_VAE_ATTENTION_H
#define VKR_NN_VAE_ATTENTION_H

#include "gpu/tensor.h"
#include "model/weights.h"

typedef struct {
    int channels;
    int heads;                   /* 0 = 1 */
    int groups;
    float eps;
    float rescale_output_factor; /* 0 = 1 */
} vkr_vae_attention_config;

typedef struct {
    vkr_vae_attention_config cfg;
    vkr_tensor group_norm_weight, group_norm_bias;
    /* projections as 1x1 conv weights {1, C, C, 1, 1} */
    vkr_tensor to_q_weight, to_q_bias, to_k_weight, to_k_bias, to_v_weight, to_v_bias;
    vkr_tensor to_out_weight, to_out_bias;
} vkr_vae_attention;

/* prefix: e.g. "decoder.mid_block.attentions.0". */
int vkr_vae_attention_load(vkr_gpu *gpu, vkr_weights *w, const char *prefix, const vkr_vae_attention_config *cfg,
                           vkr_dtype dtype, vkr_vae_attention *att);

/* y = att(x): x, y {N, C, F, H, W}, same dtype, y must not overlap x.
 * score_budget_bytes bounds the score block (0 = 64 MiB). */
int vkr_vae_attention_forward(vkr_gpu *gpu, const vkr_vae_attention *att, const vkr_tensor *x, const vkr_tensor *y,
                              uint64_t score_budget_bytes);

#endif
