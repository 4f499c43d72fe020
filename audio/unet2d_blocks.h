/* UNet2D building blocks (private to audio/unet2d*.c): the down / mid / up
 * blocks of diffusers' unet_2d_blocks.py that UNet2DConditionModel builds for
 * AudioLDM and Stable Diffusion (DownBlock2D, CrossAttnDownBlock2D,
 * UNetMidBlock2DCrossAttn, CrossAttnUpBlock2D, UpBlock2D). Feature maps are
 * (N, C, 1, H, W) device tensors. */
#ifndef VKR_UNET2D_BLOCKS_H
#define VKR_UNET2D_BLOCKS_H

#include "nn/resnet.h"
#include "nn/transformer.h"

#define VKR_UNET2D_MAX_LAYERS 5 /* up blocks have layers_per_block + 1 resnets */
#define VKR_UNET2D_MAX_SKIPS 64

typedef enum { VKR_UNET2D_DOWN, VKR_UNET2D_MID, VKR_UNET2D_UP } vkr_unet2d_block_kind;

typedef struct {
    vkr_unet2d_block_kind kind;
    int n_layers;      /* resnets (mid: attentions + 1) */
    int has_attention; /* CrossAttn* / the mid block */
    int64_t out_channels;
    vkr_resnet_block2d resnets[VKR_UNET2D_MAX_LAYERS];
    vkr_transformer attentions[VKR_UNET2D_MAX_LAYERS];
    int has_sampler; /* downsamplers.0.conv (stride 2) / upsamplers.0.conv (after nearest upsampling) */
    int downsample_padding;
    vkr_tensor sampler_weight, sampler_bias;
} vkr_unet2d_block;

/* What the blocks need besides their input. */
typedef struct {
    const vkr_tensor *temb;    /* {1, 1, 1, N, temb_channels} (the resnets apply silu) */
    const vkr_tensor *context; /* encoder_hidden_states {1, 1, N, L, D}, or NULL: attn2 attends to its own tokens */
} vkr_unet2d_ctx;

/* The skip connections (down_block_res_samples); the stack owns its tensors. */
typedef struct {
    vkr_tensor t[VKR_UNET2D_MAX_SKIPS];
    int n;
} vkr_unet2d_skips;

typedef struct {
    int64_t in_channels, out_channels, prev_output_channels; /* up: prev = the incoming width */
    int64_t temb_channels, cross_dim, heads;
    int n_layers, transformer_layers, has_attention, add_sampler, groups, downsample_padding;
    float eps, output_scale_factor;
} vkr_unet2d_block_spec;

int vkr_unet2d_block_load(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, const char *prefix,
                          vkr_unet2d_block_kind kind, const vkr_unet2d_block_spec *spec, vkr_unet2d_block *b);

/* Down: pushes every layer output and the downsampled output onto skips; *out
 * is the last of them (owned by skips). */
int vkr_unet2d_down_forward(vkr_gpu *gpu, const vkr_unet2d_block *b, const vkr_tensor *x, const vkr_unet2d_ctx *c,
                            vkr_unet2d_skips *skips, vkr_tensor *out);
/* Mid: *out is a new activation tensor (x is not freed). */
int vkr_unet2d_mid_forward(vkr_gpu *gpu, const vkr_unet2d_block *b, const vkr_tensor *x, const vkr_unet2d_ctx *c,
                           vkr_tensor *out);
/* Up: consumes n_layers skips (freed), frees *x, *out is new. When the block
 * upsamples, the result takes the size of the next skip (diffusers passes
 * upsample_size = the skip's size when H or W is not divisible by the total
 * factor; otherwise 2x, which is the same size). */
int vkr_unet2d_up_forward(vkr_gpu *gpu, const vkr_unet2d_block *b, vkr_tensor *x, const vkr_unet2d_ctx *c,
                          vkr_unet2d_skips *skips, vkr_tensor *out);

#endif
