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
 * synthesiser in tests. */
#ifndef VKR_PIPELINE_SOUNDTRACK_H
#define VKR_PIPELINE_SOUNDTRACK_H

#include "pipeline/storyboard.h"
#include "pipeline/timeline.h"

#include <stdint.h>

/* Renders `n` mono samples at `rate` Hz for a prompt; *out is malloc'd. */
typedef struct {
    void *ctx;
    int (*generate)(void *ctx, const char *prompt, const char *negative_prompt, uint64_t seed,
                    const vkr_sampler_cfg *sampler, int rate, int64_t n, float **out);
    const char *model_name; /* metadata: the model directory's name */
} vkr_sound_generator;

typedef enum { VKR_STEM_SFX, VKR_STEM_AMBIENCE, VKR_STEM_MUSIC } vkr_stem_kind;

typedef struct {
    vkr_stem_kind kind;
    char *id;          /* cue id; shot id for ambience; "music" */
    const char *prompt; /* borrowed from the storyboard */
    uint64_t seed;
    int64_t start;     /* first sample on the clip's timeline */
    int64_t n;         /* samples */
    float *samples;    /* mono, as generated (before gain/pan), rate Hz */
} vkr_stem;

typedef struct {
    int rate, channels;
    vkr_stem *stems;
    int n_stems;
    int64_t n_frames;  /* clip length in samples (timeline n_samples) */
    float *mix;        /* interleaved, channels, n_frames: the finished sound track */
    double integrated_lufs, true_peak_dbtp; /* measured on `mix` */
} vkr_soundtrack;

/* progress(ctx, done, total) after each generated stem (may be NULL). */
int vkr_soundtrack_render(const vkr_storyboard *sb, const vkr_timeline *tl, const vkr_sound_generator *gen,
                          void (*progress)(void *ctx, int done, int total), void *progress_ctx,
                          vkr_soundtrack *out);
void vkr_soundtrack_free(vkr_soundtrack *st);

#endif
