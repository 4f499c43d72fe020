/* The sound of a storyboard: every SFX cue, each shot's ambience and the music
 * bed rendered by a sound generator, then mixed into one clip-length bus:
 *
 *   - a cue starts on its exact sample (timeline), gain and equal-power pan;
 *   - ambience follows its shot; at a crossfade transition the outgoing and the
 *     incoming ambience cross with the equal-power law over the shot blend's
 *     samples (each rendered long enough to cover its half of the blend);
 *   - music runs under the whole clip;
 *   - the mix is brought to the storyboard's integrated loudness target under
 *     its true-peak ceiling (audio/loudness.h, audio/limiter.h).
 *
 * The generator is the seam to the model: AudioLDM (pipeline/audioldm.h) in
 * production through vkr_soundtrack_audioldm_generator(); any deterministic
 * synthesiser in tests.
 *
 * Every generated stem is first brought to a reference level (the generator's
 * own level is arbitrary): sound effects to a true peak of -1 dBTP (the `vkreel
 * sfx` rule), ambience and music to -23 LUFS integrated under -1 dBTP (peak rule
 * when shorter than 400 ms). gain_db then sets the level in the mix. Beds fade
 * over VKR_SOUNDTRACK_DECLICK_MS at cuts and at the clip's ends. docs/sfx.md has
 * every rule. */
#ifndef VKR_PIPELINE_SOUNDTRACK_H
#define VKR_PIPELINE_SOUNDTRACK_H

#include "gpu/gpu.h"
#include "pipeline/storyboard.h" /* also sched/schedule.h */
#include "pipeline/timeline.h"

#include <stdint.h>

/* Renders `n` mono samples at `rate` Hz for a prompt into a malloc'd *out (of
 * at least n samples; the first n are the sound). negative_prompt NULL: none;
 * sampler NULL: the generator's defaults. Must be deterministic in its inputs. */
typedef struct {
    void *ctx;
    int (*generate)(void *ctx, const char *prompt, const char *negative_prompt, uint64_t seed,
                    const vkr_sampler_cfg *sampler, int rate, int64_t n, float **out);
    const char *model_name; /* metadata: the model directory's name */
} vkr_sound_generator;

#define VKR_SOUNDTRACK_SFX_PEAK_DBTP (-1.0) /* reference level of a sound effect */
#define VKR_SOUNDTRACK_BED_LUFS (-23.0)     /* reference level of ambience and music */
#define VKR_SOUNDTRACK_DECLICK_MS 2.0       /* bed fade at a cut and at the clip's ends */

typedef enum { VKR_STEM_SFX, VKR_STEM_AMBIENCE, VKR_STEM_MUSIC } vkr_stem_kind;

typedef struct {
    vkr_stem_kind kind;
    char *id;          /* cue id; shot id for ambience; "music" */
    const char *prompt; /* borrowed from the storyboard */
    uint64_t seed;
    int64_t start;     /* first sample on the clip's timeline */
    int64_t n;         /* samples */
    float *samples;    /* mono, rate Hz: as generated, brought to the reference level (before gain/pan) */
    double level_gain_db; /* the reference-level gain applied to `samples` */
    double gain_db, pan;  /* placement in the mix (pan 0 for beds) */
    int64_t fade_in, fade_out; /* crossfade or declick fades at placement, samples */
} vkr_stem;

typedef struct {
    int rate, channels;
    vkr_stem *stems;
    int n_stems;
    int64_t n_frames;  /* clip length in samples (timeline n_samples) */
    float *mix;        /* interleaved, channels, n_frames: the finished sound track */
    double integrated_lufs, true_peak_dbtp; /* measured on `mix`; -INFINITY for silence */
    double mix_gain_db;  /* the normalisation gain applied to the summed stems */
    double limiter_db;   /* the limiter's largest gain reduction (<= 0; 0: not limited) */
} vkr_soundtrack;

/* progress(ctx, done, total) after each generated stem (may be NULL). */
int vkr_soundtrack_render(const vkr_storyboard *sb, const vkr_timeline *tl, const vkr_sound_generator *gen,
                          void (*progress)(void *ctx, int done, int total), void *progress_ctx,
                          vkr_soundtrack *out);
void vkr_soundtrack_free(vkr_soundtrack *st);

/* The stem list vkr_soundtrack_render will generate, in its order (ambience in
 * shot order, cues in timeline order, music), with every field but `samples`
 * and level_gain_db; rate, channels and n_frames set, mix NULL. For progress
 * labels and listings; free with vkr_soundtrack_free. */
int vkr_soundtrack_plan(const vkr_storyboard *sb, const vkr_timeline *tl, vkr_soundtrack *out);

/* "sfx", "ambience" or "music". */
const char *vkr_stem_kind_name(vkr_stem_kind k);

/* ---- AudioLDM as the generator (pipeline/soundtrack_audioldm.c) ----
 *
 * generate(prompt, negative, seed, sampler, rate, n):
 *   - initial latents: vkr_noise_normal(seed, VKR_SOUNDTRACK_NOISE_STREAM, 0, ...)
 *     over the (1, C, T, M) latent of the pipeline's geometry (row-major);
 *   - length: m = ceil(n * 16000 / rate) samples at the model's 16 kHz, at least
 *     one latent frame (640 samples = 40 ms for AudioLDM), asked for as
 *     audio_length_in_s = (m + 1/2) / 16000 (so int() gives exactly m), resampled
 *     to `rate` (audio/resample.h) and cut to exactly n samples;
 *   - sampler: NULL runs the model's own scheduler_config.json with
 *     VKR_SOUNDTRACK_AUDIOLDM_STEPS steps at guidance VKR_SOUNDTRACK_AUDIOLDM_GUIDANCE.
 *     Otherwise its steps and guidance are used and its kind picks the scheduler:
 *     vkr_audioldm_scheduler_for (the model's config as is when the kinds
 *     match, else diffusers' OtherScheduler.from_config of the model's file). */
#define VKR_SOUNDTRACK_NOISE_STREAM 0x617564696full /* "audio": apart from any video stream */
#define VKR_SOUNDTRACK_AUDIOLDM_STEPS 10             /* diffusers AudioLDMPipeline's default */
#define VKR_SOUNDTRACK_AUDIOLDM_GUIDANCE 2.5

typedef struct vkr_audioldm vkr_audioldm; /* pipeline/audioldm.h */

typedef struct {
    vkr_gpu *gpu;
    const vkr_audioldm *model;
    int vocoder; /* vkr_vocoder_kind */
    /* After each diffusion step (may be NULL). */
    void (*step_progress)(void *ctx, int step, int n_steps);
    void *step_progress_ctx;
} vkr_soundtrack_audioldm;

/* A generator running `a` (which must outlive it); model_name is metadata. */
vkr_sound_generator vkr_soundtrack_audioldm_generator(vkr_soundtrack_audioldm *a, const char *model_name);

#endif
