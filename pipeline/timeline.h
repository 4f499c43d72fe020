/* The timeline: a storyboard resolved to exact frame and sample indexes.
 *
 * All times are first quantised to integer microseconds; every boundary is then
 * mapped independently with exact integer arithmetic (round half up), so there is
 * no accumulated drift over any length: boundary k lands on
 * round(t_k * fps) frames and round(t_k * rate) samples, the last boundary gives
 * total_frames = round(total * fps), and consecutive shots tile [0, n) with no gap
 * and no overlap. */
#ifndef VKR_TIMELINE_H
#define VKR_TIMELINE_H

#include "storyboard.h"

#include <stdint.h>

typedef struct {
    int shot;                         /* index into the storyboard's shots */
    int64_t start_us, end_us;         /* exact boundaries in microseconds */
    int64_t frame_begin, frame_end;   /* [begin, end) output frames */
    int64_t sample_begin, sample_end; /* [begin, end) output samples */
    /* Transition into this shot. For a crossfade of d seconds the blend covers
     * [boundary - d/2, boundary + d/2); for a cut both ranges are empty and equal
     * to frame_begin / sample_begin. */
    int64_t xfade_frame_begin, xfade_frame_end;
    int64_t xfade_sample_begin, xfade_sample_end;
} vkr_tl_shot;

typedef struct {
    int cue;                          /* index into the storyboard's cues */
    int64_t start_us, end_us;
    int64_t sample_begin, sample_end; /* [begin, end) output samples; end clamped to the clip */
    int64_t frame;                    /* the frame whose display interval contains sample_begin */
} vkr_tl_cue;

typedef struct {
    int64_t start_us, end_us; /* end clamped to the clip */
    const char *text;         /* borrowed from the storyboard */
    int shot;                 /* shot index for a shot subtitle, -1 for a free subtitle */
} vkr_tl_subtitle;

typedef struct {
    int fps_num, fps_den, sample_rate;
    int64_t duration_us;
    int64_t n_frames;  /* round(total * fps) */
    int64_t n_samples; /* round(total * rate) */
    vkr_tl_shot *shots;
    int n_shots;
    vkr_tl_cue *cues; /* sorted by start, then document order */
    int n_cues;
    vkr_tl_subtitle *subtitles; /* shot and free subtitles, sorted by start */
    int n_subtitles;
} vkr_timeline;

/* Seconds -> integer microseconds (round half away from zero). */
int64_t vkr_seconds_to_us(double seconds);

/* Index of the time `us` at rate num/den per second: round(us * num / (den * 1e6)),
 * halves rounded up, exact for all |us| < 2^63 / num. */
int64_t vkr_us_to_index(int64_t us, int64_t num, int64_t den);

/* Time in microseconds of index i at rate num/den: floor(i * den * 1e6 / num). */
int64_t vkr_index_to_us(int64_t i, int64_t num, int64_t den);

int vkr_timeline_build(const vkr_storyboard *sb, vkr_timeline *tl);
void vkr_timeline_free(vkr_timeline *tl);

/* Stable, documented JSON (docs/timeline.md): keys in a fixed order, integers
 * exact. malloc'd, NUL-terminated. */
char *vkr_timeline_to_json(const vkr_storyboard *sb, const vkr_timeline *tl);

/* Human-readable table for `vkreel plan` without --json. */
void vkr_timeline_print(const vkr_storyboard *sb, const vkr_timeline *tl, FILE *out);

#endif
