/* Render orchestration: a storyboard and its timeline, a picture source and a
 * sound source -> the MP4 writer (plus .srt/.vtt sidecars).
 *
 * The sources are the seam where the pipelines plug in. Today the only picture
 * source is the test card (pipeline/testcard.h); the model-driven source
 * (UNet3D + VAE, one shot at a time) will implement the same vkr_frame_source,
 * and the AudioLDM mix (rendered and loudness-normalised as a whole clip) will be
 * handed over as a vkr_audio_buffer wrapped by vkr_audio_source_from_buffer().
 * Frames are pulled one at a time in order, and audio in per-frame slices, so
 * the orchestrator's memory does not depend on the clip length. */
#ifndef VKR_RENDER_H
#define VKR_RENDER_H

#include "storyboard.h"
#include "testcard.h"
#include "timeline.h"

#include <stdint.h>

/* Produces output frame `index` (called for 0, 1, ..., n_frames-1 in order) as
 * packed 8-bit full-range sRGB, `stride` bytes per row, at the output size. */
typedef struct {
    void *ctx;
    int (*frame)(void *ctx, int64_t index, uint8_t *rgb, int stride);
} vkr_frame_source;

/* Produces `n` sample frames starting at sample `first` (consecutive calls cover
 * [0, n_samples) in order), interleaved float in [-1, 1], output channel count. */
typedef struct {
    void *ctx;
    int (*samples)(void *ctx, int64_t first, int n, float *interleaved);
} vkr_audio_source;

/* A finished whole-clip mix. Samples past n_frames read as silence. */
typedef struct {
    const float *data; /* interleaved */
    int64_t n_frames;
    int channels;
} vkr_audio_buffer;

/* An audio source reading from `buf` (which must outlive the source). */
vkr_audio_source vkr_audio_source_from_buffer(const vkr_audio_buffer *buf);

/* The test card as picture and sound sources (tc must outlive them). */
void vkr_testcard_sources(const vkr_testcard *tc, vkr_frame_source *video, vkr_audio_source *audio);

/* Called after each frame is written. */
typedef void (*vkr_progress_fn)(void *ctx, int64_t frames_done, int64_t frames_total);

typedef struct {
    const vkr_storyboard *sb;
    const vkr_timeline *tl;
    const char *out_path;
    vkr_frame_source video;
    vkr_audio_source audio;
    const char *model;        /* for the metadata: "testcard", or the video model's name */
    uint64_t seed;            /* the seed reported in the parameters line */
    vkr_progress_fn progress; /* NULL: none */
    void *progress_ctx;
} vkr_render_job;

/* Renders the whole clip. VKR_E_CANTCREATE when the output cannot be written
 * (the target is then untouched); source errors pass through unchanged. */
int vkr_render(const vkr_render_job *job);

/* The A1111-style parameters line stored as the MP4 comment:
 * "Steps: 25, Sampler: DDIM, CFG scale: 9, Seed: 42, Size: 1280x720, Model: testcard".
 * malloc'd; NULL on allocation failure. */
char *vkr_render_parameters(const vkr_storyboard *sb, uint64_t seed, const char *model);

/* The generation JSON stored as the "vkreel_generation" tag:
 * {"software": "vkreel X.Y.Z", "model": M, "storyboard": <canonical board>,
 *  "plan": <timeline JSON, docs/timeline.md>}. malloc'd; NULL on failure. */
char *vkr_render_generation_json(const vkr_storyboard *sb, const vkr_timeline *tl, const char *model);

/* First sample of frame k: floor(k * rate * fps_den / fps_num). */
int64_t vkr_render_frame_sample(const vkr_timeline *tl, int64_t k);

#endif
