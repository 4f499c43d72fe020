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

typedef struct vkr_unet2d vkr_unet2d;


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

/* eps/v prediction. sample (N, C, 1, H, W) (AudioLDM: H = mel time frames /
 * vae scale, W = mel bins / vae scale); timesteps an F32 tensor of N values;
 * class_labels {1, 1, 1, N, P} F32 (required when the model has a class
 * embedding); encoder_hidden_states {1, 1, N, L, D} or NULL (AudioLDM: NULL).
 * *out is allocated in the activation arena with sample's shape and dtype. */
int vkr_unet2d_forward(vkr_gpu *gpu, const vkr_unet2d *unet, const vkr_tensor *sample,
                       const vkr_tensor *timesteps, const vkr_tensor *class_labels,
                       const vkr_tensor *encoder_hidden_states, vkr_tensor *out);

#endif
