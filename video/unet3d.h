/* diffusers UNet3DConditionModel (ModelScope text-to-video-ms-1.7b, Zeroscope)
 * on the Vulkan engine.
 *
 *   vkr_unet3d *unet;
 *   vkr_unet3d_load(gpu, "model/unet", VKR_F16, &unet);   // or a folder with config.json + weights
 *   vkr_unet3d_forward(gpu, unet, &sample, &timesteps, &ehs, &eps);
 *   ... vkr_tensor_free(gpu, &eps); vkr_unet3d_free(unet);
 *
 * Every hyper-parameter comes from config.json; weights are fetched by their
 * diffusers names with shape checks, and a checkpoint tensor the model does
 * not use is an error naming it. Activations are (N, C, F, H, W) device
 * tensors: frames are folded into the batch by strides for the spatial layers
 * (diffusers' permute + reshape to (N*F, C, H, W) costs nothing here). */
#ifndef VKR_UNET3D_H
#define VKR_UNET3D_H

#include "gpu/tensor.h"

#define VKR_UNET3D_MAX_BLOCKS 6

typedef struct {
    int in_channels, out_channels;
    int n_blocks;
    int block_out_channels[VKR_UNET3D_MAX_BLOCKS];
    int down_has_attention[VKR_UNET3D_MAX_BLOCKS]; /* CrossAttnDownBlock3D (1) / DownBlock3D (0) */
    int up_has_attention[VKR_UNET3D_MAX_BLOCKS];   /* CrossAttnUpBlock3D / UpBlock3D */
    int layers_per_block;
    int attention_head_dim[VKR_UNET3D_MAX_BLOCKS]; /* per down block (see the heads note in unet3d.c) */
    int cross_attention_dim;
    int norm_num_groups;
    float norm_eps;
    float mid_block_scale_factor;
    int downsample_padding;
    int flip_sin_to_cos;
    float freq_shift;
    int time_embed_dim; /* 4 * block_out_channels[0] */
} vkr_unet3d_config;

typedef struct vkr_unet3d vkr_unet3d;

/* Reads the config of a UNet folder: `path` is a folder holding config.json
 * (a diffusers "unet" component folder, or a pipeline folder with unet/). */
int vkr_unet3d_config_load(const char *path, vkr_unet3d_config *cfg);

/* Loads config + weights. path: a diffusers pipeline folder (uses unet/), a
 * component folder (config.json + diffusion_pytorch_model.* resolved as in
 * docs/checkpoints.md, or weights.safetensors as in the golden cases), or a
 * weight file with config.json next to it. dtype: weight storage (F32, F16,
 * BF16). */
int vkr_unet3d_load(vkr_gpu *gpu, const char *path, vkr_dtype dtype, vkr_unet3d **out);
void vkr_unet3d_free(vkr_unet3d *unet);
const vkr_unet3d_config *vkr_unet3d_get_config(const vkr_unet3d *unet);

/* Optional observer of the top-level module outputs (diffusers names:
 * "time_proj", "time_embedding", "conv_in", "transformer_in", "down_blocks.i",
 * "mid_block", "up_blocks.i", "conv_norm_out", "conv_out") for bisecting
 * against debug vectors. Called during recording: download (a sync point) to
 * look at the tensor. Videos are (N, C, F, H, W); embeddings {1,1,1,N,D}. */
typedef int (*vkr_unet3d_observer)(void *user, const char *name, const vkr_tensor *t);
void vkr_unet3d_set_observer(vkr_unet3d *unet, vkr_unet3d_observer fn, void *user);

/* eps/v prediction. sample (N, C, F, H, W) f32 (or f16/bf16); timesteps an
 * F32 tensor of N values (any dims); encoder_hidden_states {1, 1, N, L, D} (or
 * {N, L, D, ...} flattened the same way: N*L*D values, N outermost). *out is
 * allocated in the activation arena with sample's shape and dtype (free it
 * with vkr_tensor_free). */
int vkr_unet3d_forward(vkr_gpu *gpu, const vkr_unet3d *unet, const vkr_tensor *sample, const vkr_tensor *timesteps,
                       const vkr_tensor *encoder_hidden_states, vkr_tensor *out);

#endif
