/* The picture generator behind the model-driven frame source
 * (pipeline/video_source.h): "give me N frames of this shot" -> N frames of
 * packed 8-bit RGB at the model's native size and frame rate.
 *
 * The text-to-video implementation (vkr_t2v_generator, pipeline/t2v_generator.c)
 * runs pipeline/t2v.h window by window: a shot longer than one model window is
 * continued, not restarted (docs/render.md, "Long shots"):
 *
 *   window 0:  F frames from Philox noise (seed, stream 0), or the injected
 *              --latents;
 *   window k:  F frames from Philox noise (seed, stream k) whose first O latent
 *              frames are pinned to the last O final latent frames of window
 *              k-1 (temporal inpainting, vkr_t2v_params.known_latents); its
 *              first O decoded frames repeat window k-1's and are dropped, the
 *              other F - O continue it.
 *
 * so W windows give F + (W - 1)(F - O) frames. This header deliberately does not
 * include the storyboard (its sampler enum and sched/schedule.h's share names):
 * the sampler travels by name. */
#ifndef VKR_VIDEO_GENERATOR_H
#define VKR_VIDEO_GENERATOR_H

#include "common/dtype.h"

#include <stdint.h>

typedef struct vkr_gpu vkr_gpu;
typedef struct vkr_t2v vkr_t2v;

/* The pipeline/t2v.h calls a renderer needs, declared again here (identically:
 * t2v_generator.c sees both) for code that also includes the storyboard. */
int vkr_t2v_load(vkr_gpu *gpu, const char *dir, vkr_dtype dtype, vkr_t2v **out);
void vkr_t2v_free(vkr_t2v *p);
int vkr_t2v_vae_scale_factor(const vkr_t2v *p);
int vkr_t2v_latent_channels(const vkr_t2v *p);
int vkr_t2v_default_size(const vkr_t2v *p);

typedef struct {
    const char *prompt;          /* full prompt (style applied) */
    const char *negative_prompt; /* NULL: "" */
    uint64_t seed;
    const char *sampler;         /* "ddim", "dpmpp_2m", "euler" (any name sched/schedule.h accepts) */
    int steps;
    double guidance;             /* diffusers convention: CFG when > 1 */
    int n_frames;                /* frames wanted (>= 1) */
    int shot;                    /* timeline shot index, for progress reports */
} vkr_video_request;

typedef struct {
    int width, height; /* frame size */
    int fps;           /* frames per second of the generated motion */
    void *ctx;
    /* At least req->n_frames frames: *rgb (malloc'd, the caller frees) holds
     * *n_out >= n_frames frames of width*height*3 bytes, frame after frame. */
    int (*generate)(void *ctx, const vkr_video_request *req, uint8_t **rgb, int *n_out);
} vkr_video_generator;

/* Windows of `window` frames overlapping by `overlap` needed for n_frames
 * frames: 1 when n_frames <= window, else 1 + ceil((n_frames - window) /
 * (window - overlap)). 0 for an impossible geometry (window < 1, overlap < 0,
 * overlap >= window while more than one window is needed). */
int vkr_video_windows(int n_frames, int window, int overlap);

/* ------------------------------------------------ text-to-video generator */

typedef enum {
    VKR_VGEN_TEXT = 0, /* prompt encoding */
    VKR_VGEN_DENOISE,  /* UNet steps */
    VKR_VGEN_DECODE,   /* VAE decode + frame conversion */
    VKR_VGEN_N_STAGES
} vkr_vgen_stage;

/* Where a generation is (for progress lines). */
typedef struct {
    vkr_vgen_stage stage;
    int shot;
    int window, n_windows; /* 0-based window of this shot */
    int step, n_steps;     /* DENOISE: steps done so far in this window */
} vkr_vgen_progress;

typedef struct {
    double seconds;       /* wall time */
    uint64_t peak_device; /* highest device memory allocated (bytes) */
    uint64_t peak_tensors;/* highest device memory in use by tensors (bytes) */
    int64_t count;        /* DENOISE: steps; other stages: runs */
} vkr_vgen_stage_stats;

typedef struct {
    int width, height; /* native frame size (multiples of 8) */
    int frames;        /* F: frames per window (>= 2 when a shot needs several windows) */
    int overlap;       /* O: frames shared by consecutive windows, 0 <= O < F */
    int fps;           /* frame rate the model's motion is taken to have */
    int decode_frames; /* frames per VAE decode call (0: the whole window) */
    /* Injected initial latents (1, C, F, h, w) for window 0 of every request
     * (--latents; the caller makes sure only one window is needed). NULL: Philox. */
    const float *latents;
    void (*progress)(void *ctx, const vkr_vgen_progress *p);
    void *progress_ctx;
} vkr_t2v_generator_options;

typedef struct {
    vkr_gpu *gpu;
    const vkr_t2v *pipe;
    vkr_t2v_generator_options o;
    vkr_vgen_stage_stats stats[VKR_VGEN_N_STAGES];
    /* private: stage timing */
    int cur_stage; /* -1: none */
    double stage_t0;
    vkr_vgen_progress where;
} vkr_t2v_generator;

/* Binds a loaded pipeline (both must outlive the generator). VKR_E_USAGE for a
 * size that is not a positive multiple of 8, frames < 1, fps < 1, overlap
 * outside [0, frames). */
int vkr_t2v_generator_init(vkr_t2v_generator *g, vkr_gpu *gpu, const vkr_t2v *pipe,
                           const vkr_t2v_generator_options *o);
vkr_video_generator vkr_t2v_generator_as_generator(vkr_t2v_generator *g);

/* Name of a stage for reports: "text", "diffusion", "vae decode". */
const char *vkr_vgen_stage_name(vkr_vgen_stage s);

#endif
