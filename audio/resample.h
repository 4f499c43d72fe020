/* Sample-rate conversion with libswresample (FFmpeg's polyphase windowed-sinc
 * resampler), with an exact, documented output length:
 *
 *   out_len = round(in_len * out_rate / in_rate), halves rounded up,
 *
 * computed exactly in integers — the same rule the timeline uses for sample
 * boundaries, so a clip of exactly t seconds at in_rate becomes exactly the
 * timeline's sample count at out_rate. Output sample j is the signal at time
 * j / out_rate: the resampler's filter delay is flushed at the end, nothing is
 * lost or added, and if the flushed output is one sample short (rounding of the
 * last fractional phase) it is padded with a zero. Interleaved float; channel
 * count is preserved (mono -> stereo is the mixer's job). */
#ifndef VKR_AUDIO_RESAMPLE_H
#define VKR_AUDIO_RESAMPLE_H

#include <stdint.h>

/* round(in_len * out_rate / in_rate), halves up; -1 if a rate is not positive,
 * in_len is negative, or the product would overflow. */
int64_t vkr_resample_length(int64_t in_len, int in_rate, int out_rate);

/* Resamples in (in_frames x channels, interleaved) from in_rate to out_rate into
 * a malloc'd *out of *out_frames = vkr_resample_length(in_frames, ...) frames.
 * Equal rates copy. in_frames may be 0 (then *out is NULL, *out_frames 0). */
int vkr_resample(const float *in, int64_t in_frames, int channels, int in_rate, int out_rate,
                 float **out, int64_t *out_frames);

#endif
