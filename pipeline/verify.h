/* verify: reopen a rendered MP4 with libavformat and check it against what was
 * planned - stream layout and codecs, colour tags, start times, frame count,
 * audio/video duration match, subtitles, and, for a test card render with its
 * timeline, A/V sync: every cue has a white flash on its planned frame and a
 * beep onset within one frame of its planned sample, and there are no
 * unexpected flashes or beeps.
 *
 * The result is a structured report (one entry per check); printing it is the
 * caller's business (`vkreel verify`). */
#ifndef VKR_VERIFY_H
#define VKR_VERIFY_H

#include "storyboard.h"
#include "timeline.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    char *name;   /* what was checked: "video stream", "cue 'door' (frame 48)" */
    bool ok;
    char *detail; /* ok: what was found; failed: "expected ..., found ..." */
} vkr_verify_check;

typedef struct {
    vkr_verify_check *checks;
    int n, cap;
    int n_failed;

    /* What was measured (valid after vkr_verify returns VKR_OK or VKR_E_DATA). */
    int width, height;
    int fps_num, fps_den;
    int sample_rate, channels;
    int64_t n_video_packets;
    int64_t n_video_frames_decoded; /* -1 when video was not decoded */
    int64_t n_audio_samples;        /* the audio stream's duration in samples (edit list
                                       applied); the decoded count when the file has none */
    int64_t n_audio_decoded;        /* samples decoded after the encoder delay; includes
                                       the padding of the last AAC frame */
    int n_subtitles;                /* non-empty subtitle samples */
    bool testcard;                  /* the file says it is a test card render */
    bool sync_checked;              /* flashes and beeps were analysed */
    int64_t *flash_frames;          /* detected flash frames, ascending */
    int n_flashes;
    int64_t *beep_onsets;           /* detected beep onsets, in samples, ascending */
    int n_beeps;
} vkr_verify_report;

typedef struct {
    /* The plan to check against; both NULL for a self-consistency check only. */
    const vkr_storyboard *sb;
    const vkr_timeline *tl;
    /* Analyse flashes and beeps: -1 = when the file is a test card render and a
     * plan is given (the default), 0 = never, 1 = whenever a plan is given. */
    int sync;
} vkr_verify_opts;

/* Flash detection: a decoded frame whose luma (0 = black, 1 = white, after
 * undoing limited range) averages at least VKR_VERIFY_FLASH_MEAN with at least
 * VKR_VERIFY_FLASH_FRACTION of its samples above VKR_VERIFY_FLASH_LEVEL. */
#define VKR_VERIFY_FLASH_MEAN 0.80
#define VKR_VERIFY_FLASH_LEVEL 0.60
#define VKR_VERIFY_FLASH_FRACTION 0.90
/* Beep onset: the first sample with |x| >= VKR_VERIFY_BEEP_ON (any channel)
 * after at least VKR_VERIFY_BEEP_GAP_S seconds without such a sample. Well below
 * the beep's crest (-15 dBFS per channel at centre pan), well above AAC
 * pre-echo and coding noise of digital silence. */
#define VKR_VERIFY_BEEP_ON 0.05
#define VKR_VERIFY_BEEP_GAP_S 0.030

/* Runs every check on `path`. Returns VKR_OK when all pass, VKR_E_DATA when any
 * fails (the report says which), VKR_E_NOINPUT when the file cannot be opened as
 * media (the report is then empty), VKR_E_INTERNAL on allocation failure. */
int vkr_verify(const char *path, const vkr_verify_opts *opts, vkr_verify_report *r);

/* One line per check: "NAME: ok (DETAIL)" or "NAME: FAIL: DETAIL". */
void vkr_verify_report_print(const vkr_verify_report *r, FILE *out);

void vkr_verify_report_free(vkr_verify_report *r);

/* --- the detectors, exposed for tests --- */

/* Whether a luma plane (8-bit; limited range unless full_range) is a flash. */
bool vkr_verify_is_flash(const uint8_t *y, int linesize, int width, int height, bool full_range);

/* Streaming beep onset detector: feed samples in order, collect onsets. */
typedef struct {
    int sample_rate;
    int64_t gap;       /* samples of quiet needed before an onset */
    int64_t last_loud; /* index of the last loud sample, or INT64_MIN/2 */
    int64_t *onsets;
    int n, cap;
} vkr_onset_detector;

void vkr_onset_init(vkr_onset_detector *d, int sample_rate);
/* `n` frames of `channels` interleaved samples, the first at absolute index `first`. */
int vkr_onset_feed(vkr_onset_detector *d, const float *x, int n, int channels, int64_t first);
void vkr_onset_free(vkr_onset_detector *d);

#endif
