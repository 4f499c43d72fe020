/* diffusers AudioLDMPipeline (cvssp/audioldm-s-full-v2, -m-full, -l-full) as a
 * library: a diffusers model directory (model_index.json, tokenizer/,
 * text_encoder/, unet/, vae/, vocoder/, scheduler/) loaded onto the GPU, and one
 * call that runs prompt -> 16 kHz waveform exactly as diffusers 0.27.2 does
 * (tests/golden/PIPELINES.md, pipeline_audioldm):
 *
 *   emb_c = l2norm(clap(tok(prompt, max_length 512), mask).text_embeds)
 *   emb_u = l2norm(clap(tok(negative or "", max_length P), mask).text_embeds)
 *   pe = [emb_u; emb_c]                          UNCOND first; the UNet's class_labels
 *   x = latents * init_noise_sigma
 *   for t: eps = unet([x; x], t, None, pe); eps = eps_u + w (eps_c - eps_u); x = step(eps, t, x)
 *   mel = vae.decode(x * float32(1 / scaling_factor))
 *   wav = vocoder(mel)[:orig_len]                HiFi-GAN, or Griffin-Lim (no weights)
 *
 * Audio longer than the window (default the native 10.24 s) is denoised as
 * overlapping windows along the latent time axis whose noise predictions are
 * blended at every step (one latent, one scheduler), so there is no seam. */
#ifndef VKR_PIPELINE_AUDIOLDM_H
#define VKR_PIPELINE_AUDIOLDM_H

#include "gpu/tensor.h"
#include "sched/schedule.h"

#include <stdint.h>

typedef struct vkr_audioldm vkr_audioldm;

typedef enum { VKR_VOCODER_HIFIGAN = 0, VKR_VOCODER_GRIFFINLIM } vkr_vocoder_kind;

/* dir: a diffusers AudioLDM folder. dtype: weight storage of the text encoder,
 * UNet and vocoder (F32, F16, BF16). The vocoder/ folder may be absent; then
 * only VKR_VOCODER_GRIFFINLIM runs. */
int vkr_audioldm_load(vkr_gpu *gpu, const char *dir, vkr_dtype dtype, vkr_audioldm **out);
void vkr_audioldm_free(vkr_audioldm *p);
int vkr_audioldm_sampling_rate(const vkr_audioldm *p); /* the vocoder's (16000) */
const vkr_sched_config *vkr_audioldm_scheduler_config(const vkr_audioldm *p);
/* The scheduler for sampler `kind` on this checkpoint (diffusers'
 * OtherScheduler.from_config rule, vkr_sched_config_for_kind). Free with
 * vkr_sched_config_free. */
int vkr_audioldm_scheduler_for(const vkr_audioldm *p, vkr_sampler_kind kind, vkr_sched_config *out);

/* The pipeline's duration arithmetic (float64, Python int() truncation):
 * mel frames rounded up to the VAE's scale factor, latent (C, T, M), and the
 * number of samples kept. VKR_E_USAGE for a length below one latent frame. */
typedef struct {
    int64_t mel_frames;     /* height after rounding up */
    int64_t latent_channels, latent_frames, latent_bins;
    int64_t orig_len;       /* int(seconds * sampling_rate): samples returned */
} vkr_audioldm_geometry;
int vkr_audioldm_get_geometry(const vkr_audioldm *p, double seconds, vkr_audioldm_geometry *g);
/* frames * vae_scale_factor * vocoder_upsample_factor, evaluated as diffusers
 * evaluates its default length (unet.sample_size * vsf * vuf). */
double vkr_audioldm_latent_frames_to_s(const vkr_audioldm *p, int64_t latent_frames);

typedef struct {
    const char *prompt;
    const char *negative_prompt;   /* NULL: "" */
    double audio_length_in_s;
    int num_inference_steps;
    float guidance_scale;          /* diffusers convention: CFG when > 1 */
    int batch;                     /* num_waveforms_per_prompt */
    /* Initial noise (batch, latent_channels, latent_frames, latent_bins), required. */
    const float *latents;
    const vkr_sched_config *sched; /* NULL: the model's scheduler_config.json */
    vkr_vocoder_kind vocoder;
    double window_s;               /* 0: 10.24 s; longer audio runs as blended windows */
    double window_overlap_s;       /* 0: a quarter of the window */
    void (*progress)(void *ctx, int step, int n_steps); /* after each step; NULL: none */
    void *progress_ctx;
} vkr_audioldm_params;

vkr_audioldm_params vkr_audioldm_default_params(void); /* 5.12 s, 10 steps, w 2.5, batch 1, HiFi-GAN */

typedef struct {
    int cfg;                     /* 1 when guidance ran */
    int sampling_rate;
    int64_t cond_len, uncond_len; /* token positions of the two tokenizations */
    int64_t *input_ids_cond, *attention_mask_cond;     /* cond_len */
    int64_t *input_ids_uncond, *attention_mask_uncond; /* uncond_len (cfg only) */
    int64_t embed_dim;           /* P */
    float *prompt_embeds;        /* (cfg ? 2 : 1) x P, [uncond; cond] */
    int num_steps;
    int64_t *timesteps;
    int64_t latent_shape[4];     /* (B, C, T, M) */
    float **latents_after_step;  /* num_steps arrays */
    int64_t mel_shape[4];        /* (B, 1, mel_frames, mel_bins) */
    float *mel;
    int64_t n_untrimmed;         /* samples per waveform before trimming */
    float *waveform_untrimmed;   /* B x n_untrimmed */
    int64_t n_samples;           /* orig_len */
    float *waveform;             /* B x n_samples, mono, sampling_rate Hz */
    int64_t n_windows;           /* UNet windows per step (1: the plain pipeline) */
} vkr_audioldm_output;

int vkr_audioldm_run(vkr_gpu *gpu, const vkr_audioldm *p, const vkr_audioldm_params *prm,
                     vkr_audioldm_output *out);
void vkr_audioldm_output_free(vkr_audioldm_output *o);

/* The stages of vkr_audioldm_run, for callers that cache or test them.
 * encode_prompt fills cfg, the token ids / masks, embed_dim and prompt_embeds
 * from prm (prompt, negative_prompt, guidance_scale). decode turns final
 * latents (batch, C, latent_frames, latent_bins) into mel, waveform_untrimmed
 * and waveform (the first min(orig_len, n_untrimmed) samples), and sets
 * sampling_rate. Both write only their own fields of out. */
int vkr_audioldm_encode_prompt(vkr_gpu *gpu, const vkr_audioldm *p, const vkr_audioldm_params *prm,
                               vkr_audioldm_output *out);
int vkr_audioldm_decode(vkr_gpu *gpu, const vkr_audioldm *p, const float *latents, int64_t batch,
                        int64_t latent_frames, int64_t orig_len, vkr_vocoder_kind vocoder, vkr_audioldm_output *out);

/* Long audio. The window and its overlap in latent frames for prm's window_s
 * and window_overlap_s (the duration arithmetic above, so a window of 10.24 s is
 * 256 latent frames of the real model; overlap at least 1, below the window). */
int vkr_audioldm_window_frames(const vkr_audioldm *p, const vkr_audioldm_params *prm, int64_t *window,
                               int64_t *overlap);

/* Windows of `window` latent frames covering [0, frames): starts 0, s, 2s, ...
 * with s = window - overlap, the last one moved back to end at `frames`. weight
 * (n_windows x window) is each window's share of its frames: a raised-cosine
 * ramp over every overlap with a neighbour, normalised so the shares of every
 * frame sum to 1 (1 outside overlaps). frames <= window: one window of all
 * frames, weight 1. */
typedef struct {
    int64_t frames, window, n_windows;
    int64_t *start; /* n_windows */
    float *weight;  /* n_windows x window */
} vkr_audioldm_windows;
int vkr_audioldm_window_plan(int64_t frames, int64_t window, int64_t overlap, vkr_audioldm_windows *w);
void vkr_audioldm_windows_free(vkr_audioldm_windows *w);

#endif
