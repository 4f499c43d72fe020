/* diffusers ResnetBlock2D (time_embedding_norm "default", no up/down):
 *
 *   h = conv1(silu(norm1(x)))                    GroupNorm(groups, in), 3x3 pad 1
 *   h = h + time_emb_proj(silu(temb))[:, :, None, None]      when temb_channels > 0
 *   h = conv2(dropout(silu(norm2(h))))           GroupNorm(groups_out, out), 3x3 pad 1
 *   y = (conv_shortcut(x) or x + h) / output_scale_factor   1x1 conv when in != out
 *
 * Activations are (N, C, F, H, W) device tensors: frames are folded into the
 * batch by the ops themselves (per-frame group-norm statistics, convs over
 * every frame), so a video needs no permute or copy. temb (one row per batch
 * element, {1, 1, 1, N, temb_channels}) is broadcast over the frames, which is
 * diffusers' repeat_interleave of the embedding over frames. Dropout is the
 * identity at inference. Used by the VAE (eps 1e-6, no temb) and the UNets
 * (eps norm_eps, temb). */
#ifndef VKR_NN_RESNET_H
#define VKR_NN_RESNET_H

#include "gpu/tensor.h"
#include "model/weights.h"

typedef struct {
    int in_channels, out_channels;
    int temb_channels;         /* 0: no time_emb_proj (VAE) */
    int groups;                /* norm1 groups */
    int groups_out;            /* norm2 groups; 0 = groups */
    float eps;                 /* both GroupNorms */
    float output_scale_factor; /* 0 = 1 */
} vkr_resnet_config;

typedef struct {
    vkr_resnet_config cfg;
    vkr_tensor norm1_weight, norm1_bias;
    vkr_tensor conv1_weight, conv1_bias;
    vkr_tensor time_emb_proj_weight, time_emb_proj_bias; /* cfg.temb_channels > 0 */
    vkr_tensor norm2_weight, norm2_bias;
    vkr_tensor conv2_weight, conv2_bias;
    vkr_tensor conv_shortcut_weight, conv_shortcut_bias; /* has_conv_shortcut */
    int has_conv_shortcut;
} vkr_resnet_block2d;

/* Loads "<prefix>.norm1.weight" ... ("<prefix>" e.g. "decoder.up_blocks.0.resnets.1")
 * into weight tensors of `dtype`, checking every shape against cfg. */
int vkr_resnet_block2d_load(vkr_gpu *gpu, vkr_weights *w, const char *prefix, const vkr_resnet_config *cfg,
                            vkr_dtype dtype, vkr_resnet_block2d *blk);

/* y = block(x, temb). x {N, in, F, H, W}; y {N, out, F, H, W} (allocated by
 * the caller; same dtype as x; must not overlap x); temb NULL or
 * {1, 1, 1, N, temb_channels} (required when temb_channels > 0). */
int vkr_resnet_block2d_forward(vkr_gpu *gpu, const vkr_resnet_block2d *blk, const vkr_tensor *x,
                               const vkr_tensor *temb, const vkr_tensor *y);

#endif
