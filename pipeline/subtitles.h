/* Subtitle cues for output: SRT and WebVTT sidecar text, the ASS dialogue
 * text that the mov_text encoder takes, and flattening of overlapping cues.
 *
 * Timeline subtitles (microseconds, raw text) are first prepared into
 * millisecond cues with normalised text; every writer works from those, so the
 * MP4 track and both sidecars show exactly the same cues at the same times. */
#ifndef VKR_SUBTITLES_H
#define VKR_SUBTITLES_H

#include "timeline.h"

#include <stdint.h>

typedef struct {
    int64_t start_ms, end_ms; /* [start, end), end > start */
    char *text;               /* UTF-8, lines separated by '\n', no blank lines, trimmed */
} vkr_sub_cue;

/* Microseconds -> milliseconds, halves rounded up (us >= 0). */
int64_t vkr_sub_us_to_ms(int64_t us);

/* Prepares timeline subtitles: times rounded to ms, CR LF / CR turned into LF,
 * each line trimmed, blank lines dropped (a blank line ends an SRT or VTT cue).
 * Cues left with no text or no duration are dropped. Order is kept.
 * VKR_E_DATA for a negative start, an end before the start or a NULL text. */
int vkr_sub_cues_prepare(const vkr_tl_subtitle *subs, int n, vkr_sub_cue **out, int *n_out);

/* One cue at a time: mov_text shows a single sample at any instant and needs
 * strictly increasing sample times, so overlapping cues become consecutive cues
 * whose text is every active cue's text (input order, joined by '\n');
 * neighbours with equal text are merged. */
int vkr_sub_cues_flatten(const vkr_sub_cue *in, int n, vkr_sub_cue **out, int *n_out);

void vkr_sub_cues_free(vkr_sub_cue *cues, int n);

/* "HH:MM:SS,mmm" (SRT, sep ',') or "HH:MM:SS.mmm" (WebVTT, sep '.'); hours
 * widen past 99. buf must hold 32 bytes. */
void vkr_sub_format_time(int64_t ms, char sep, char buf[32]);

/* Whole sidecar documents (malloc'd, NUL-terminated; NULL when out of memory).
 * SRT keeps the text as is; WebVTT starts with "WEBVTT" and escapes & < > so
 * that no text can be taken for markup or for a "-->" timing line. */
char *vkr_srt_format(const vkr_sub_cue *cues, int n);
char *vkr_vtt_format(const vkr_sub_cue *cues, int n);

/* Text field of an ASS dialogue line as FFmpeg's ASS parser reads it: newlines
 * become "\N"; "\n", "\N" and "{\" (line-break and override-block openers,
 * which ASS has no escape for; also a "{" right before a newline) are broken up
 * with a U+200B zero-width space so they show literally; other control
 * characters become spaces. malloc'd; NULL when out of memory. */
char *vkr_ass_escape_text(const char *text);

/* Atomic sidecar writers (common/atomic_file.h). */
int vkr_srt_write(const char *path, const vkr_sub_cue *cues, int n);
int vkr_vtt_write(const char *path, const vkr_sub_cue *cues, int n);

#endif
