/* MP4 writer: H.264 (libx264, High, yuv420p, BT.709) + AAC-LC + mov_text
 * subtitles, muxed by libavformat into a file written under a temporary name
 * and renamed into place by vkr_mp4_finish() (common/atomic_file.h). Sidecar
 * .srt and .vtt files are written next to the MP4 the same way.
 *
 * Usage: open, then feed the video frames in order and the audio samples (in
 * any mix: the muxer interleaves; feeding audio alongside the video keeps the
 * file's chunks interleaved, all audio at the end still gives a valid file
 * with up to 10 s of video buffered), then finish (or abort). Frames out = frames
 * in; audio samples are encoded exactly as fed (no padding: the AAC priming is
 * covered by the MP4 edit list, the last frame may be short).
 *
 * Errors: VKR_E_USAGE for bad parameters (odd size, crf outside 1..51, sample
 * rate AAC cannot take), VKR_E_DATA for bad subtitle cues, VKR_E_CANTCREATE
 * when the output cannot be written, VKR_E_INTERNAL when an encoder cannot be
 * set up. libav's own log lines are kept off stderr (shown at vkreel debug
 * level only); the last libav error line is appended to the failure message.
 * After a failed write_* call the writer only accepts finish/abort, which
 * remove the temporary file. */
#ifndef VKR_MP4_WRITER_H
#define VKR_MP4_WRITER_H

#include "timeline.h"

#include <stdint.h>

typedef struct vkr_mp4_writer vkr_mp4_writer;

typedef struct {
    int width, height;    /* even */
    int fps_num, fps_den;
    int crf;              /* 1..51 (0, lossless, needs High 4:4:4: refused) */
    int gop_seconds;      /* keyframe interval; 0 means 2 s */
    int sample_rate;      /* AAC rate, e.g. 48000 */
    int channels;         /* 1 or 2; 0 = no audio stream */
    const char *title;            /* NULL: none */
    const char *comment;          /* A1111-style parameters line; NULL: none */
    const char *generation_json;  /* full generation JSON, stored as tag "vkreel_generation"; NULL: none */
    const vkr_tl_subtitle *subtitles; /* mov_text cues (may be NULL when n_subtitles is 0) */
    int n_subtitles;
    int write_sidecars;   /* also write <out>.srt and <out>.vtt (base name without .mp4),
                           * committed only after the MP4 itself was */
} vkr_mp4_params;

int vkr_mp4_open(vkr_mp4_writer **w, const char *path, const vkr_mp4_params *p);

/* One frame of packed 8-bit RGB (R,G,B bytes), `stride` bytes per row,
 * full range sRGB; converted to limited-range BT.709 yuv420p. */
int vkr_mp4_write_video(vkr_mp4_writer *w, const uint8_t *rgb, int stride);

/* `n` sample frames of interleaved float audio in [-1, 1] at the stream's rate. */
int vkr_mp4_write_audio(vkr_mp4_writer *w, const float *interleaved, int n);

/* Flushes the encoders, writes the trailer (faststart), renames into place and
 * frees the writer. On failure the target is untouched and the writer freed. */
int vkr_mp4_finish(vkr_mp4_writer *w);

/* Frees the writer and removes the temporary file. NULL is accepted. */
void vkr_mp4_abort(vkr_mp4_writer *w);

#endif
