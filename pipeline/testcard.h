/* The A/V sync test card: a picture and sound source that renders a timeline
 * without any model, so that every timing decision of the pipeline (shot
 * boundaries, crossfades, cue frames and samples, subtitles, muxing) can be
 * checked by eye, by ear and by `vkreel verify`.
 *
 * Picture: each frame is filled with its shot's colour (mid-luma, distinct per
 * shot; crossfades blend the two colours across the timeline's xfade frame
 * range) and shows the shot id, the frame number and the HH:MM:SS:FF timecode in
 * large type. The frame at each cue's `frame` is a white flash.
 * Sound: silence, with a 1 kHz beep at -12 dBFS starting on each cue's exact
 * `sample_begin`, lasting min(cue duration, 200 ms), sharp onset and a short
 * fade-out, panned equal-power by the cue's pan.
 *
 * Frames and audio are synthesised on demand for any index, so memory does not
 * depend on the clip length. */
#ifndef VKR_TESTCARD_H
#define VKR_TESTCARD_H

#include "storyboard.h"
#include "timeline.h"

#include <stdbool.h>
#include <stdint.h>

#define VKR_TESTCARD_BEEP_HZ 1000.0
#define VKR_TESTCARD_BEEP_DBFS (-12.0)  /* peak level of the beep before panning */
#define VKR_TESTCARD_BEEP_MAX_S 0.200   /* longest beep */
#define VKR_TESTCARD_FADE_S 0.005       /* fade-out at the end of each beep */
#define VKR_TESTCARD_N_COLORS 12        /* size of the per-shot palette */

/* Where the three text lines sit in a frame (output pixels). */
typedef struct {
    int scale;            /* font pixel size of the frame and timecode lines */
    int id_scale;         /* font pixel size of the shot-id line (shrinks to fit long ids) */
    int id_x, id_y;       /* top-left of line 1: the shot id */
    int frame_x, frame_y; /* line 2: "frame N" */
    int tc_x, tc_y;       /* line 3: the timecode */
} vkr_testcard_layout;

typedef struct {
    const vkr_storyboard *sb; /* borrowed: shot ids */
    const vkr_timeline *tl;   /* borrowed: frames, cues, crossfades */
    int width, height;
    int channels;
} vkr_testcard;

/* Binds the card to a storyboard and its timeline (both must outlive it).
 * VKR_E_DATA if the timeline's rate or the output size is unusable. */
int vkr_testcard_init(vkr_testcard *tc, const vkr_storyboard *sb, const vkr_timeline *tl);

/* Renders frame `frame` (0 <= frame < tl->n_frames) as packed RGB into `rgb`,
 * `stride` bytes per row. */
int vkr_testcard_frame(const vkr_testcard *tc, int64_t frame, uint8_t *rgb, int stride);

/* Renders `n` sample frames starting at sample `first` as interleaved float
 * (tc->channels per frame). Samples at or beyond the clip's end are silence. */
int vkr_testcard_audio(const vkr_testcard *tc, int64_t first, int n, float *out);

/* --- pieces, exposed for tests and for verify --- */

/* Palette entry for the shot at timeline position i (cycles; neighbours always differ). */
void vkr_testcard_shot_color(int i, uint8_t rgb[3]);

/* The timeline shot whose [frame_begin, frame_end) contains `frame`, or -1. */
int vkr_testcard_shot_at(const vkr_timeline *tl, int64_t frame);

/* Background colour of `frame`: its shot colour, or the blend of the outgoing and
 * incoming colours inside a crossfade's frame range. */
void vkr_testcard_background(const vkr_timeline *tl, int64_t frame, uint8_t rgb[3]);

/* True when some cue's flash frame is `frame`. */
bool vkr_testcard_is_flash(const vkr_timeline *tl, int64_t frame);

/* Nominal integer frame rate used for timecode: round(num / den), e.g. 30 for 30000/1001. */
int vkr_timecode_fps(int fps_num, int fps_den);

/* "HH:MM:SS:FF" (non-drop-frame) for `frame` at the nominal rate. */
void vkr_timecode_format(int64_t frame, int fps_num, int fps_den, char out[32]);

/* Text layout for a width x height frame showing shot id `id`. */
void vkr_testcard_layout_for(int width, int height, const char *id, vkr_testcard_layout *l);

/* Beep length in samples for a cue whose sample range is [begin, end). */
int64_t vkr_testcard_beep_length(int64_t sample_begin, int64_t sample_end, int sample_rate);

/* Equal-power pan gains: pan -1 -> (1, 0), 0 -> (0.7071, 0.7071), +1 -> (0, 1). */
void vkr_testcard_pan_gains(double pan, float *left, float *right);

#endif
