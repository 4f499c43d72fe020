/* diffusers TextToVideoSDPipeline (ModelScope text-to-video-ms-1.7b, Zeroscope)
 * as a library function: a diffusers model directory (model_index.json,
 * tokenizer/, text_encoder/, unet/, vae/, scheduler/) loaded onto the GPU, and
 * one call that runs prompt -> frames exactly as diffusers 0.27.2 does
 * (tests/golden/PIPELINES.md, pipeline_t2v):
 *
 *   ids_u, ids_c = tokenizer(negative_prompt or "", prompt), padded to model_max_length
 *   pe = [clip(ids_u) x B; clip(ids_c) x B]     text encoder once per prompt, batch 1,
 *                                                no attention mask; UNCOND rows first
 *   x = latents * init_noise_sigma
 *   for t in scheduler.timesteps:                (scheduler from scheduler_config.json)
 *       eps = unet([x; x], t, pe); eps = eps_u + w * (eps_c - eps_u)   (w > 1; else cond only)
 *       x = scheduler.step(eps, t, x)
 *   decoded = vae.decode(x * float32(1 / scaling_factor))   frames folded into the batch
 *   frames  = clamp(decoded / 2 + 0.5, 0, 1) as (B, F, H, W, 3)
 *
 *   vkr_t2v *p;
 *   vkr_t2v_load(gpu, "text-to-video-ms-1.7b", VKR_F16, &p);
 *   vkr_t2v_params prm = vkr_t2v_default_params(); prm.prompt = "..."; prm.latents = noise;
 *   vkr_t2v_output o;  vkr_t2v_run(gpu, p, &prm, &o);  ... o.frames ...
 *   vkr_t2v_output_free(&o); vkr_t2v_free(p); */
#ifndef VKR_PIPELINE_T2V_H
#define VKR_PIPELINE_T2V_H

#include "gpu/tensor.h"
#include "sched/schedule.h"

#include <stdint.h>

typedef struct vkr_t2v vkr_t2v;

/* dir: a diffusers pipeline folder. dtype: weight storage of the text encoder
 * and UNet (F32, F16, BF16), and the UNet's activation storage (accumulation
 * stays f32): with f16 the 576x320x24 CFG step fits 8 GB, with f32 it does not
 * (docs/memory.md). The sampler state stays f32 on the host; the VAE keeps f32
 * activations whatever dtype is. */
int vkr_t2v_load(vkr_gpu *gpu, const char *dir, vkr_dtype dtype, vkr_t2v **out);
void vkr_t2v_free(vkr_t2v *p);
/* 2^(len(vae.block_out_channels) - 1). */
int vkr_t2v_vae_scale_factor(const vkr_t2v *p);
int vkr_t2v_latent_channels(const vkr_t2v *p);
const vkr_sched_config *vkr_t2v_scheduler_config(const vkr_t2v *p);
/* unet.config.sample_size x vae scale factor: diffusers' default height and
 * width (sample_size absent: 32, ModelScope's value -> 256). */
int vkr_t2v_default_size(const vkr_t2v *p);
/* The scheduler for another sampler `kind` on this checkpoint, as diffusers'
 * OtherScheduler.from_config(scheduler_config.json) builds it (sched/schedule.h):
 * the keys the file has (betas, beta_schedule, prediction_type,
 * num_train_timesteps, steps_offset, an explicit timestep_spacing, ...) are
 * kept, every absent key takes the chosen class's default. When `kind` is the
 * file's own class this is exactly vkr_t2v_scheduler_config(). Free with
 * vkr_sched_config_free. */
int vkr_t2v_scheduler_for(const vkr_t2v *p, vkr_sampler_kind kind, vkr_sched_config *out);

/* Stages reported to vkr_t2v_params.progress. */
typedef enum {
    VKR_T2V_STAGE_TEXT = 0, /* about to encode the prompts */
    VKR_T2V_STAGE_DENOISE,  /* step `step` of `n_steps` has just finished (step 0: about to start) */
    VKR_T2V_STAGE_DECODE,   /* about to VAE-decode */
    VKR_T2V_STAGE_DONE      /* frames are ready */
} vkr_t2v_stage;

typedef struct {
    const char *prompt;
    const char *negative_prompt; /* NULL: "" */
    int num_frames, height, width; /* height, width: multiples of 8 */
    int num_inference_steps;
    float guidance_scale;          /* diffusers convention: CFG when > 1 */
    int batch;                     /* num_images_per_prompt (latents batch) */
    /* Initial noise (batch, latent_channels, num_frames, height/s, width/s),
     * required (this port has no torch-compatible generator). */
    const float *latents;

    /* Optional. */
    const vkr_sched_config *sched; /* NULL: the checkpoint's scheduler_config.json */
    /* Temporal inpainting (window continuation): the first `known_frames`
     * latent frames are pinned to known_latents (batch, C, known_frames, h, w),
     * as diffusers' inpainting pipelines do with a 4-channel UNet: before the
     * first step and after every step i they are replaced by
     *     a * known + b * noise   (the noise level of timesteps[i + 1];
     *                              clean after the last step)
     * where noise is the same frames of `latents` and (a, b) = (sqrt(acp),
     * sqrt(1 - acp)) for DDIM, (1, sigma) for Euler, (1, sigma) / sqrt(sigma^2 + 1)
     * for DPM-Solver. The other frames are denoised attending to them through the
     * temporal layers, so they continue the known motion. 0: none. */
    const float *known_latents;
    int known_frames;
    /* Called at each stage boundary and after every denoising step (may be NULL);
     * a caller measuring per-stage time or memory does it here. */
    void (*progress)(void *ctx, vkr_t2v_stage stage, int step, int n_steps);
    void *progress_ctx;
    /* 1: do not keep latents_after_step (only the final latents are stored, in
     * latents_after_step[num_steps - 1]); saves host memory in long renders. */
    int final_latents_only;
    /* Frames per VAE decode call (0: all at once). The VAE decodes frames
     * independently, so the result is the same; the device memory is not. */
    int decode_frames;
} vkr_t2v_params;

vkr_t2v_params vkr_t2v_default_params(void); /* 16 frames, 256x256, 50 steps, w 9.0, batch 1 */

/* Everything the pipeline computes on the way (host arrays, malloc'd). */
typedef struct {
    int cfg;                 /* 1 when guidance ran (two prompt rows) */
    int seq;                 /* token positions (model_max_length) */
    int hidden;              /* text encoder width */
    int n_prompts;           /* 2 with CFG ([negative, prompt]), else 1 ([prompt]) */
    int64_t *input_ids;      /* n_prompts x seq */
    float *prompt_embeds;    /* (n_prompts * batch) x seq x hidden, rows as the UNet gets them */
    int num_steps;
    int64_t *timesteps;      /* num_steps */
    int64_t latent_shape[5]; /* (B, C, F, h, w) */
    float **latents_after_step; /* num_steps arrays of latent_shape */
    int64_t video_shape[5];  /* decoded: (B, 3, F, H, W) */
    float *decoded;
    float *frames;           /* (B, F, H, W, 3) */
} vkr_t2v_output;

int vkr_t2v_run(vkr_gpu *gpu, const vkr_t2v *p, const vkr_t2v_params *prm, vkr_t2v_output *out);
void vkr_t2v_output_free(vkr_t2v_output *o);

#endif
