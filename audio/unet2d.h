/* diffusers UNet2DConditionModel on the Vulkan engine, in the configurations
 * AudioLDM uses (cvssp/audioldm-s-full-v2, -m-full, -l-full):
 *
 *   temb = time_embedding(time_proj(t))                    Linear -> SiLU -> Linear
 *   temb = cat([temb, class_embedding(class_labels)], -1)  simple_projection,
 *                                                           class_embeddings_concat
 *   x = conv_in(sample); skips; down blocks (DownBlock2D / CrossAttnDownBlock2D);
 *   mid block (UNetMidBlock2DCrossAttn); up blocks upsampling to the skip size;
 *   conv_out(silu(conv_norm_out(x)))
 *
 * The "cross" attentions get encoder_hidden_states=None in AudioLDM and attend
 * to their own normalised tokens. Every hyper-parameter comes from config.json
 * (defaults of diffusers 0.27.2 for missing keys, tests/golden/PIPELINES.md);
 * the ResnetBlock2D and Transformer2DModel code is shared with the UNet3D
 * (nn/resnet.h, nn/transformer.h).
 *
 *   vkr_unet2d *unet;
 *   vkr_unet2d_load(gpu, "audioldm-s-full-v2/unet", VKR_F16, &unet);
 *   vkr_unet2d_forward(gpu, unet, &sample, &timesteps, &class_labels, NULL, &eps);
 *   ... vkr_tensor_free(gpu, &eps); vkr_unet2d_free(unet); */
#ifndef VKR_AUDIO_UNET2D_H
#define VKR_AUDIO_UNET2D_H

#include "gpu/tensor.h"

#define VKR_UNET2D_MAX_BLOCKS 6

typedef enum {
    VKR_UNET2D_CLASS_NONE = 0,          /* class_embed_type null */
    VKR_UNET2D_CLASS_SIMPLE_PROJECTION, /* nn.Linear(projection_class_embeddings_input_dim, time_embed_dim) */
    VKR_UNET2D_CLASS_PROJECTION,        /* TimestepEmbedding(projection_..._dim, time_embed_dim): Linear-act-Linear */
} vkr_unet2d_class_embed;

/* The hyper-parameters the forward pass uses, resolved from config.json with
 * diffusers 0.27.2's defaults; per-block values are indexed by down block
 * (the up blocks use them reversed, as diffusers does). */
typedef struct {
    int in_channels, out_channels;
    int n_blocks;
    int block_out_channels[VKR_UNET2D_MAX_BLOCKS];
    int down_has_attention[VKR_UNET2D_MAX_BLOCKS]; /* CrossAttnDownBlock2D (1) / DownBlock2D (0) */
    int up_has_attention[VKR_UNET2D_MAX_BLOCKS];   /* up block i: CrossAttnUpBlock2D / UpBlock2D */
    int layers_per_block[VKR_UNET2D_MAX_BLOCKS];
    int transformer_layers_per_block[VKR_UNET2D_MAX_BLOCKS];
    int num_heads[VKR_UNET2D_MAX_BLOCKS];           /* = config attention_head_dim (see unet2d.c) */
    int cross_attention_dim[VKR_UNET2D_MAX_BLOCKS]; /* attn2 key/value width */
    int has_mid_block;                              /* UNetMidBlock2DCrossAttn (0: mid_block_type null) */
    int norm_num_groups;
    float norm_eps;
    float mid_block_scale_factor;
    int downsample_padding;
    int conv_in_kernel, conv_out_kernel;
    int center_input_sample;
    int flip_sin_to_cos;
    float freq_shift;
    int time_embed_dim;  /* time_embedding_dim, else 4 * block_out_channels[0] */
    vkr_unet2d_class_embed class_embed;
    int class_embed_dim; /* projection_class_embeddings_input_dim (0 without class embedding) */
    int class_embeddings_concat;
    int temb_channels;   /* the resnets' time-embedding width: 2 * time_embed_dim when concatenated */
} vkr_unet2d_config;

typedef struct vkr_unet2d vkr_unet2d;

/* Reads and validates config.json of a UNet folder (or of a pipeline folder's
 * unet/): unsupported values are VKR_E_DATA naming the key. */
int vkr_unet2d_config_load(const char *path, vkr_unet2d_config *cfg);

/* Loads config + weights. path: a diffusers pipeline folder (uses unet/), a
 * component folder (config.json + diffusion_pytorch_model.* as resolved in
 * docs/checkpoints.md, or weights.safetensors as in the golden cases).
 * dtype: weight storage (F32, F16, BF16). */
int vkr_unet2d_load(vkr_gpu *gpu, const char *path, vkr_dtype dtype, vkr_unet2d **out);
void vkr_unet2d_free(vkr_unet2d *unet);

int vkr_unet2d_in_channels(const vkr_unet2d *unet);
int vkr_unet2d_out_channels(const vkr_unet2d *unet);
/* Product of the down blocks' downsampling factors (2^(n_blocks-1)). Inputs
 * need not be multiples of it: up blocks upsample to the skip's size. */
int vkr_unet2d_downsample_factor(const vkr_unet2d *unet);
/* projection_class_embeddings_input_dim (0 when class_embed_type is null). */
int vkr_unet2d_class_embed_dim(const vkr_unet2d *unet);

const vkr_unet2d_config *vkr_unet2d_get_config(const vkr_unet2d *unet);

/* Optional observer of the top-level module outputs (diffusers names:
 * "time_proj", "time_embedding", "class_embedding", "conv_in",
 * "down_blocks.i", "mid_block", "up_blocks.i", "conv_norm_out", "conv_out")
 * for bisecting against debug vectors. Called during recording: download (a
 * sync point) to look at the tensor. Feature maps are (N, C, 1, H, W);
 * embeddings {1, 1, 1, N, D}. */
typedef int (*vkr_unet2d_observer)(void *user, const char *name, const vkr_tensor *t);
void vkr_unet2d_set_observer(vkr_unet2d *unet, vkr_unet2d_observer fn, void *user);

/* eps/v prediction. sample (N, C, 1, H, W) (AudioLDM: H = mel time frames /
 * vae scale, W = mel bins / vae scale); timesteps an F32 tensor of N values;
 * class_labels {1, 1, 1, N, P} F32 (required when the model has a class
 * embedding); encoder_hidden_states {1, 1, N, L, D} or NULL (AudioLDM: NULL).
 * *out is allocated in the activation arena with sample's shape and dtype. */
int vkr_unet2d_forward(vkr_gpu *gpu, const vkr_unet2d *unet, const vkr_tensor *sample,
                       const vkr_tensor *timesteps, const vkr_tensor *class_labels,
                       const vkr_tensor *encoder_hidden_states, vkr_tensor *out);

#endif
