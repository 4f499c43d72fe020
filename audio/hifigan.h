/* SpeechT5HifiGan (transformers), the vocoder of AudioLDM: log-mel spectrogram
 * frames -> 16 kHz waveform, on the Vulkan engine.
 *
 *   x = spectrogram (B, T, model_in_dim), time-major; transposed to (B, D, T)
 *   [normalize_before: x = (x - mean) / scale, per mel bin]
 *   x = conv_pre(x)                                   Conv1d k7 p3
 *   for each stage i:
 *     x = upsampler[i](leaky_relu(x, slope))          ConvTranspose1d stride r_i,
 *                                                      kernel k_i, padding (k_i - r_i) / 2
 *     x = mean over j of resblocks[i * num_kernels + j](x)
 *   x = conv_post(leaky_relu(x, 0.01))                 torch's DEFAULT slope, not the config's
 *   waveform = tanh(x) (B, L)
 *
 * A residual block (kernel k, dilations d_0..d_n): for each d,
 *   x = x + convs2[m](leaky_relu(convs1[m](leaky_relu(x, slope)), slope))
 * with convs1[m] dilated by d (padding d (k - 1) / 2) and convs2[m] undilated.
 * Every stage's length is (L - 1) r - 2 ((k - r) / 2) + k, so the output is not
 * T * prod(r) when k - r is odd (AudioLDM crops it afterwards).
 *
 * Channels: stage i has upsample_initial_channel / 2^(i + 1). Weights are read
 * by their transformers names (conv_pre.weight, upsampler.N.weight,
 * resblocks.M.convs1.K.weight, ...) with shape checks; weight norm is not used
 * at inference (the state dict holds plain weights). */
#ifndef VKR_AUDIO_HIFIGAN_H
#define VKR_AUDIO_HIFIGAN_H

#include "gpu/tensor.h"
#include "model/diffusers_dir.h"

#include <stdbool.h>

#define VKR_HIFIGAN_MAX_STAGES 8
#define VKR_HIFIGAN_MAX_KERNELS 8
#define VKR_HIFIGAN_MAX_DILATIONS 8

/* SpeechT5HifiGanConfig. Missing keys take the transformers defaults
 * (model_in_dim 80, normalize_before true, rates [4,4,4,4], kernels [8,8,8,8],
 * initial channels 512, resblock kernels [3,7,11], dilations [[1,3,5]] x 3,
 * slope 0.1, 16 kHz); AudioLDM's file states every value. */
typedef struct {
    int model_in_dim;
    int sampling_rate;
    int upsample_initial_channel;
    int num_upsamples;
    int upsample_rates[VKR_HIFIGAN_MAX_STAGES];
    int upsample_kernel_sizes[VKR_HIFIGAN_MAX_STAGES];
    int num_kernels;
    int resblock_kernel_sizes[VKR_HIFIGAN_MAX_KERNELS];
    int num_dilations[VKR_HIFIGAN_MAX_KERNELS];
    int resblock_dilation_sizes[VKR_HIFIGAN_MAX_KERNELS][VKR_HIFIGAN_MAX_DILATIONS];
    float leaky_relu_slope;
    bool normalize_before;
} vkr_hifigan_config;

/* Reads and validates config.json (VKR_E_DATA naming the key when a value is
 * of the wrong type or not a valid architecture: mismatched list lengths,
 * even resblock kernels, kernel < rate, channels not divisible by 2^stages). */
int vkr_hifigan_config_parse(const vkr_config *cfg, vkr_hifigan_config *out);

/* Channels of stage i's output (i = num_upsamples - 1: the last stage). */
int vkr_hifigan_stage_channels(const vkr_hifigan_config *c, int stage);
/* Samples produced from `frames` spectrogram frames (<= 0 when too short). */
int64_t vkr_hifigan_output_length(const vkr_hifigan_config *c, int64_t frames);
/* Length after stage `stage` for an input of `len` (its own unit). */
int64_t vkr_hifigan_stage_length(const vkr_hifigan_config *c, int stage, int64_t len);

/* A convolution's device weights: weight as the conv ops expect it
 * (gpu/ops_conv.h: Conv1d (O, C, K) as ne {1, 1, O, C, K}, ConvTranspose1d
 * (C, O, K) as {1, 1, C, O, K}) and bias {1, 1, 1, 1, O}. */
typedef struct {
    vkr_tensor weight, bias;
} vkr_hifigan_conv;

typedef struct {
    int kernel_size;
    int num_dilations;
    int dilation[VKR_HIFIGAN_MAX_DILATIONS];
    vkr_hifigan_conv convs1[VKR_HIFIGAN_MAX_DILATIONS];
    vkr_hifigan_conv convs2[VKR_HIFIGAN_MAX_DILATIONS];
} vkr_hifigan_resblock;

typedef struct {
    vkr_hifigan_config cfg;
    vkr_dtype weight_dtype;
    vkr_tensor mean, scale; /* {1, 1, 1, 1, model_in_dim}; loaded only when normalize_before */
    vkr_hifigan_conv conv_pre;
    vkr_hifigan_conv upsampler[VKR_HIFIGAN_MAX_STAGES];
    vkr_hifigan_resblock *resblocks; /* num_upsamples * num_kernels, stage-major */
    vkr_hifigan_conv conv_post;
} vkr_hifigan;

/* Uploads the weights of `w` into gpu's weights arena in weight_dtype (F32,
 * F16 or BF16; converted on the host). Every tensor of w must be used (mean
 * and scale are accepted but not loaded when normalize_before is false):
 * anything else is VKR_E_DATA naming it. The device tensors live until
 * vkr_gpu_weights_reset(); vkr_hifigan_free() releases the host side. */
int vkr_hifigan_load(vkr_gpu *gpu, const vkr_hifigan_config *cfg, vkr_weights *w, vkr_dtype weight_dtype,
                     vkr_hifigan *m);
/* config.json + one weight file (a golden case directory). */
int vkr_hifigan_load_files(vkr_gpu *gpu, const char *config_path, const char *weights_path, vkr_dtype weight_dtype,
                           vkr_hifigan *m);
/* <model_dir>/<component> of a diffusers pipeline ("vocoder" for AudioLDM). */
int vkr_hifigan_load_component(vkr_gpu *gpu, const char *model_dir, const char *component, vkr_variant variant,
                               vkr_dtype weight_dtype, vkr_hifigan *m);
void vkr_hifigan_free(vkr_hifigan *m);

/* Optional observer of intermediate results (tests bisect with it): called
 * after conv_pre, every upsampler and conv_post (before tanh) with the
 * transformers module name ("conv_pre", "upsampler.3", "conv_post") and the
 * tensor {B, C, 1, 1, L}. Recorded work may be pending: download to read it.
 * A non-zero return stops the forward with that status. */
typedef int (*vkr_hifigan_tap_fn)(void *user, const char *name, const vkr_tensor *t);

/* spectrogram: {1, 1, B, T, model_in_dim} (any strides); waveform: {1, 1, 1,
 * B, vkr_hifigan_output_length(T)}, contiguous, of the spectrogram's dtype
 * (the activations' storage dtype). Recorded; download the waveform to wait. */
int vkr_hifigan_forward(vkr_gpu *gpu, const vkr_hifigan *m, const vkr_tensor *spectrogram,
                        const vkr_tensor *waveform, vkr_hifigan_tap_fn tap, void *tap_user);

#endif
