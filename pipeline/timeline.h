/* The timeline: a storyboard resolved to exact frame and sample indexes.
 *
 * All times are first quantised to integer microseconds; every boundary is then
 * mapped independently with exact integer arithmetic (round half up), so there is
 * no accumulated drift over any length: boundary k lands on
 * round(t_k * fps) frames and round(t_k * rate) samples, the last boundary gives
 * total_frames = round(total * fps), and consecutive shots tile [0, n) with no gap
 * and no overlap. docs/timeline.md specifies every rule and the plan JSON. */
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
     * to frame_begin / sample_begin. The half-width is clamped to what each
     * neighbouring shot has room for, so a blend stays inside the two shots it
     * joins and a shot's incoming and outgoing blends never overlap. */
    vkr_transition_kind transition;   /* the first shot's is always a cut */
    int64_t xfade_us;                 /* effective blend length (2 x half-width); 0 for a cut */
    int64_t xfade_frame_begin, xfade_frame_end;
    int64_t xfade_sample_begin, xfade_sample_end;
} vkr_tl_shot;

typedef struct {
    int cue;                          /* index into the storyboard's cues */
    int64_t start_us, end_us;
    int64_t sample_begin, sample_end; /* [begin, end) output samples; end clamped to the clip */
    int64_t frame; /* the frame whose display interval contains sample_begin (at most n_frames-1) */
} vkr_tl_cue;

typedef struct {
    int64_t start_us, end_us; /* end clamped to the clip; never empty */
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
    vkr_tl_subtitle *subtitles; /* shot then free subtitles, stably sorted by start */
    int n_subtitles;
} vkr_timeline;

/* Seconds -> integer microseconds (round half away from zero). */
int64_t vkr_seconds_to_us(double seconds);

/* Index of the time `us` at rate num/den per second: round(us * num / (den * 1e6)),
 * halves rounded up, exact for all |us| < 2^63 / num. */
int64_t vkr_us_to_index(int64_t us, int64_t num, int64_t den);

/* Time in microseconds of index i at rate num/den: floor(i * den * 1e6 / num). */
int64_t vkr_index_to_us(int64_t i, int64_t num, int64_t den);

/* Resolves `sb` (only its output rates, shots, cues and subtitles are read) into
 * `tl`. VKR_E_DATA for values a validated storyboard cannot hold (no shots,
 * non-positive rates or durations, negative times); `tl` is then left zeroed. */
int vkr_timeline_build(const vkr_storyboard *sb, vkr_timeline *tl);
void vkr_timeline_free(vkr_timeline *tl);

/* Stable, documented JSON (docs/timeline.md): keys in a fixed order, integers
 * exact, ends with a newline. malloc'd, NUL-terminated; NULL (with vkr_fail) on
 * allocation failure. Lives in timeline_json.c with vkr_timeline_print because it
 * needs the storyboard's prompt helpers. */
char *vkr_timeline_to_json(const vkr_storyboard *sb, const vkr_timeline *tl);

/* Human-readable table for `vkreel plan` without --json. */
void vkr_timeline_print(const vkr_storyboard *sb, const vkr_timeline *tl, FILE *out);

#endif
