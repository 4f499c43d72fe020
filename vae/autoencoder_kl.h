/* diffusers AutoencoderKL: the Stable Diffusion / ModelScope / Zeroscope image
 * VAE and AudioLDM's mel-spectrogram VAE (same code, different configs).
 *
 *   decode(z) = Decoder(post_quant_conv(z))        (no scaling_factor: the caller
 *                                                  divides latents by it first)
 *   encode(x) = quant_conv(Encoder(x)) = [mean, logvar], logvar clamped to [-30, 20]
 *
 * Encoder: conv_in -> DownEncoderBlock2D x L (layers_per_block resnets, then a
 * zero-pad (right, bottom) + 3x3 stride-2 conv, except the last) -> mid block
 * (resnet, attention, resnet) -> GroupNorm + SiLU -> conv_out (2 * latent).
 * Decoder: conv_in -> mid block -> UpDecoderBlock2D x L in reversed channel
 * order (layers_per_block + 1 resnets, then nearest x2 + 3x3 conv, except the
 * last) -> GroupNorm + SiLU -> conv_out. All GroupNorms: norm_num_groups, eps 1e-6.
 *
 * Tensors are (N, C, F, H, W) device tensors: every op of the VAE is per frame
 * (per-frame group-norm statistics, 2-D convs, attention within a frame), so
 * frames are simply folded into the batch and a video of F frames decodes the
 * same as F images. Frame-chunked decode relies on that: chunks of k frames are
 * independent and are decoded straight into slices of the output.
 *
 * Precision: weights may be stored as f32, f16 or bf16 (load option);
 * activations are always f32. The real VAEs ship force_upcast = true because
 * decoder activations overflow f16 (post-norm residual streams of the 512-ch
 * levels reach ~1e4..1e5 at 512 px, and the attention logits q.k over 512
 * channels exceed 65504), so vkreel runs the VAE with f32 activations
 * whatever the weight dtype. */
#ifndef VKR_VAE_AUTOENCODER_KL_H
#define VKR_VAE_AUTOENCODER_KL_H

#include "gpu/tensor.h"
#include "model/weights.h"
#include "nn/resnet.h"
#include "nn/vae_attention.h"

#define VKR_VAE_MAX_BLOCKS 8

typedef struct {
    int in_channels, out_channels, latent_channels;
    int block_out_channels[VKR_VAE_MAX_BLOCKS];
    int n_blocks;
    int layers_per_block;
    int norm_num_groups;
    int mid_block_add_attention;
    int use_quant_conv, use_post_quant_conv;
    int force_upcast;
    int sample_size;
    double scaling_factor; /* informative: decode/encode never apply it */
} vkr_vae_config;

typedef struct {
    vkr_resnet_block2d *resnets;
    int n_resnets;
    int has_sampler; /* down: Downsample2D conv; up: Upsample2D conv */
    vkr_tensor sampler_weight, sampler_bias;
} vkr_vae_block;

typedef struct {
    vkr_resnet_block2d resnets[2];
    vkr_vae_attention attention;
    int has_attention;
} vkr_vae_mid_block;

typedef struct {
    vkr_tensor conv_in_weight, conv_in_bias;
    vkr_vae_block blocks[VKR_VAE_MAX_BLOCKS]; /* down_blocks / up_blocks */
    vkr_vae_mid_block mid_block;
    vkr_tensor conv_norm_out_weight, conv_norm_out_bias;
    vkr_tensor conv_out_weight, conv_out_bias;
} vkr_vae_coder;

typedef struct {
    vkr_vae_config cfg;
    vkr_dtype dtype; /* weight storage */
    int has_encoder, has_decoder;
    vkr_vae_coder encoder, decoder;
    vkr_tensor quant_conv_weight, quant_conv_bias;
    vkr_tensor post_quant_conv_weight, post_quant_conv_bias;
} vkr_vae;

/* ---- config ---- */

/* Parses an AutoencoderKL config.json. Unknown block types and widths that
 * norm_num_groups does not divide are VKR_E_DATA. */
int vkr_vae_config_load(const char *config_path, vkr_vae_config *cfg);
/* Spatial factor between latents and samples: 2^(n_blocks - 1). */
int vkr_vae_scale_factor(const vkr_vae_config *cfg);

/* ---- loading ---- */

enum {
    VKR_VAE_LOAD_DECODER = 1, /* decoder + post_quant_conv */
    VKR_VAE_LOAD_ENCODER = 2, /* encoder + quant_conv */
    VKR_VAE_LOAD_ALL = 3,
};

/* dir: a diffusers component folder (config.json + diffusion_pytorch_model.*
 * resolved as docs/checkpoints.md), or a folder with config.json and
 * weights.safetensors (golden cases). Loads both halves; every tensor of the
 * checkpoint must be used (else VKR_E_DATA naming the extras). */
int vkr_vae_load(vkr_gpu *gpu, const char *dir, vkr_dtype dtype, vkr_vae *vae);
/* parts: VKR_VAE_LOAD_* (the half not loaded is skipped in the unused check). */
int vkr_vae_load_ex(vkr_gpu *gpu, const char *dir, vkr_dtype dtype, int parts, vkr_vae *vae);
/* From an already parsed config and open weights. */
int vkr_vae_load_weights(vkr_gpu *gpu, const vkr_vae_config *cfg, vkr_weights *w, vkr_dtype dtype, int parts,
                         vkr_vae *vae);
/* Frees the host-side block arrays (device weights live in the weights arena). */
void vkr_vae_free(vkr_vae *vae);

/* ---- decode ---- */

typedef struct {
    /* Bytes of activations one decode step may use (0: no limit). Frames are
     * decoded in chunks that fit; when one frame does not fit, each frame is
     * decoded in overlapping latent tiles blended linearly (diffusers
     * tiled_decode), which is an approximation of the whole decode. */
    uint64_t memory_budget;
    int frames_per_chunk; /* > 0: force this chunk size */
    int tile_latent;      /* > 0: force tiled decode with this latent tile size (multiple of 4) */
} vkr_vae_decode_opts;

/* Output extents of decode for latent z extents. */
void vkr_vae_decode_shape(const vkr_vae *vae, const int64_t z_ne[VKR_DIMS], int64_t out_ne[VKR_DIMS]);
/* Estimated peak activation bytes to decode `frames` frames of an h x w latent at once. */
uint64_t vkr_vae_decode_bytes(const vkr_vae *vae, int64_t frames, int64_t h, int64_t w);

/* out = decode(z): z {N, latent, F, h, w} (any strides); *out is allocated
 * ({N, out_channels, F, h * s, w * s}, f32; free with vkr_tensor_free). */
int vkr_vae_decode(vkr_gpu *gpu, const vkr_vae *vae, const vkr_tensor *z, vkr_tensor *out);
/* The same into a caller-provided out (any strides), with chunking/tiling options (NULL: whole). */
int vkr_vae_decode_into(vkr_gpu *gpu, const vkr_vae *vae, const vkr_tensor *z, const vkr_vae_decode_opts *opts,
                        const vkr_tensor *out);

/* ---- encode ---- */

/* x {N, in_channels, F, H, W} -> *mean and *logvar {N, latent, F, H / s, W / s}
 * (allocated, f32). logvar may be NULL (not computed). */
int vkr_vae_encode(vkr_gpu *gpu, const vkr_vae *vae, const vkr_tensor *x, vkr_tensor *mean, vkr_tensor *logvar);

#endif
