/* Whole-model benchmarks (`vkreel bench model`): load a real-size diffusers
 * directory and run each stage of a generation once, reporting per stage the
 * wall time, the weight bytes it made resident and the device memory peak.
 *
 * Video (TextToVideoSDPipeline: ModelScope ms-1.7b, Zeroscope):
 *   load text_encoder / unet / vae   (weights arena; the VAE with its encoder
 *                                     too, so the whole checkpoint is checked)
 *   text_encoder   CLIP on 2 rows of model_max_length tokens (negative, prompt)
 *   unet           `steps` forwards (default 1), batch 2 (classifier-free
 *                  guidance rows); seconds are per step
 *   vae_decode     the latents of one video (batch 1), chunked as requested
 * Audio (AudioLDMPipeline): load text_encoder / unet / vae / vocoder;
 * text_encoder (CLAP, 2 rows of model_max_length tokens), unet (UNet2D,
 * `steps` forwards of `batch` rows, the CLAP embedding as class labels),
 * vae_decode (mel latents -> mel), vocoder (HiFi-GAN mel -> waveform).
 *
 * Memory per stage: tensors_in_use_peak while the stage ran (weights
 * included: they stay resident) and `activation_peak` = that peak minus the
 * bytes in use when the stage began, i.e. what the stage itself needed on top
 * of everything resident. device_allocated_peak is the VkDeviceMemory high
 * water mark (whole blocks; >= the tensor peak). With a dry-run context
 * (gpu.h) the memory numbers are exact and the times are meaningless. */
#ifndef VKR_PIPELINE_BENCH_MODELS_H
#define VKR_PIPELINE_BENCH_MODELS_H

#include "common/dtype.h"
#include "gpu/gpu.h"
#include "vae/autoencoder_kl.h"

#include <stdint.h>

#define VKR_BENCH_MAX_STAGES 12

typedef struct {
    char name[32];              /* "load unet", "unet", "vae_decode", ... */
    char shape[96];             /* what ran, e.g. "2x4x4x8x8 f32" */
    double seconds;             /* wall time including submit + wait */
    uint64_t weights_bytes;     /* load stages: bytes the component made resident */
    uint64_t tensors_peak;      /* tensors_in_use_peak during the stage */
    uint64_t activation_peak;   /* tensors_peak - tensors_in_use at the stage's start */
    uint64_t device_alloc_peak; /* device_allocated_peak during the stage */
} vkr_bench_stage;

typedef struct {
    vkr_bench_stage stage[VKR_BENCH_MAX_STAGES];
    int n_stages;
    uint64_t weights_total;   /* all resident weights */
    uint64_t tensors_peak;    /* over the whole run */
    uint64_t device_alloc_peak;
} vkr_bench_model_result;

typedef struct {
    int width, height;      /* video: pixels (multiples of the VAE factor); 0: 64 x 64 */
    int frames;             /* video: frames (0: 4) */
    int audio_frames;       /* audio: mel frames (multiple of the VAE factor; 0: 64 = 0.64 s) */
    int batch;              /* UNet rows (0: 2 = classifier-free guidance) */
    int steps;              /* UNet forwards to time (0: 1); the stage reports seconds per step */
    vkr_dtype weights;      /* weight storage (VKR_F16 / VKR_F32) */
    vkr_dtype activations;  /* UNet / text encoder activations (the pipelines use F32) */
    vkr_vae_decode_opts vae;/* decode chunking / tiling (zero: whole) */
    int skip_text;          /* do not load / run the text encoder */
    int skip_vae;           /* do not load / run the VAE (and vocoder) */
    const char *dump_unet;  /* video: write the UNet's inputs and output (the last step) to this
                             * safetensors file (in.sample, in.timestep, in.encoder_hidden_states,
                             * out.sample; f32), for tools/bench_torch_model.py --check */
} vkr_bench_model_opts;

/* Runs the video benchmark on a TextToVideoSDPipeline directory. */
int vkr_bench_video_model(vkr_gpu *gpu, const char *dir, const vkr_bench_model_opts *opt, vkr_bench_model_result *res);
/* Runs the audio benchmark on an AudioLDMPipeline directory. */
int vkr_bench_audio_model(vkr_gpu *gpu, const char *dir, const vkr_bench_model_opts *opt, vkr_bench_model_result *res);

#endif
