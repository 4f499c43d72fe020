/* UNet3D building blocks (private to video/unet3d*.c): the down / mid / up blocks of diffusers'
 * unet_3d_blocks.py (CrossAttnDownBlock3D, DownBlock3D, UNetMidBlock3DCrossAttn,
 * CrossAttnUpBlock3D, UpBlock3D). Activations are (N, C, F, H, W). */
#ifndef VKR_UNET3D_BLOCKS_H
#define VKR_UNET3D_BLOCKS_H

#include "nn/resnet.h"
#include "nn/temporal_conv.h"
#include "nn/transformer.h"

#define VKR_UNET3D_MAX_LAYERS 5 /* up blocks have layers_per_block + 1 */
#define VKR_UNET3D_MAX_SKIPS 64

typedef enum { VKR_UNET3D_DOWN, VKR_UNET3D_MID, VKR_UNET3D_UP } vkr_unet3d_block_kind;

typedef struct {
    vkr_unet3d_block_kind kind;
    int n_layers;      /* resnets (mid: 2, one per attention + 1) */
    int has_attention; /* CrossAttn* / the mid block */
    int64_t out_channels;
    vkr_resnet_block2d resnets[VKR_UNET3D_MAX_LAYERS];
    vkr_temporal_conv temp_convs[VKR_UNET3D_MAX_LAYERS];
    vkr_transformer attentions[VKR_UNET3D_MAX_LAYERS];
    vkr_transformer temp_attentions[VKR_UNET3D_MAX_LAYERS];
    int has_sampler; /* downsamplers.0.conv (stride 2) / upsamplers.0.conv (after nearest x2) */
    int downsample_padding;
    vkr_tensor sampler_weight, sampler_bias;
} vkr_unet3d_block;

/* What the blocks need besides their input. */
typedef struct {
    const vkr_tensor *temb;    /* time embedding {1, 1, 1, N, temb_dim} (the resnets apply silu) */
    const vkr_tensor *context;  /* encoder_hidden_states repeated over frames {1, 1, N*F, L, D} */
} vkr_unet3d_ctx;

/* The skip connections (down_block_res_samples); the stack owns its tensors. */
typedef struct {
    vkr_tensor t[VKR_UNET3D_MAX_SKIPS];
    int n;
} vkr_unet3d_skips;

typedef struct {
    int64_t in_channels, out_channels, prev_output_channels; /* up: prev = the incoming width */
    int64_t temb_dim, cross_dim, heads, head_dim;
    int n_layers, has_attention, add_sampler, groups, downsample_padding;
    float eps, output_scale_factor;
} vkr_unet3d_block_spec;

int vkr_unet3d_block_load(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, const char *prefix,
                          vkr_unet3d_block_kind kind, const vkr_unet3d_block_spec *spec, vkr_unet3d_block *b);

/* Down: pushes every layer output and the downsampled output onto skips; *out
 * is the last of them (owned by skips). */
int vkr_unet3d_down_forward(vkr_gpu *gpu, const vkr_unet3d_block *b, const vkr_tensor *x, const vkr_unet3d_ctx *c,
                            vkr_unet3d_skips *skips, vkr_tensor *out);
/* Mid: *out is a new activation tensor. */
int vkr_unet3d_mid_forward(vkr_gpu *gpu, const vkr_unet3d_block *b, const vkr_tensor *x, const vkr_unet3d_ctx *c,
                           vkr_tensor *out);
/* Up: consumes n_layers skips (freed), frees x, *out is new. When the block
 * upsamples, the result takes the size of the next skip (F.interpolate to
 * the skip's size when H, W were not divisible; exactly 2x otherwise). */
int vkr_unet3d_up_forward(vkr_gpu *gpu, const vkr_unet3d_block *b, vkr_tensor *x, const vkr_unet3d_ctx *c,
                          vkr_unet3d_skips *skips, vkr_tensor *out);

#endif
