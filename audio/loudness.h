/* Loudness measurement and normalisation with libebur128 (ITU-R BS.1770-4 /
 * EBU R128): integrated loudness in LUFS (K-weighting, 400 ms blocks with 75 %
 * overlap, absolute gate -70 LUFS, relative gate -10 LU) and true peak in dBTP
 * (libebur128's 4x oversampling below 96 kHz, never below the sample peak).
 *
 * Channel weights are libebur128's defaults for the channel index: 0 left,
 * 1 right, 2 centre (weight 1), 3 unused (LFE), 4/5 surround (1.41). A mono
 * signal is one front channel: it measures 3 dB below the same signal on both
 * channels of a stereo bus.
 *
 * vkr_loudness_normalize applies one static gain and no limiter: when the gain
 * that reaches the loudness target would push the true peak over the ceiling,
 * the gain is reduced to meet the ceiling and the result stays below the target
 * (reported). vkr_loudness_normalize_limited reaches the target anyway through
 * the look-ahead limiter of audio/limiter.h. docs/audio.md has the procedures. */
#ifndef VKR_AUDIO_LOUDNESS_H
#define VKR_AUDIO_LOUDNESS_H

#include <stdint.h>

typedef struct {
    double integrated_lufs;  /* -INFINITY when undefined: shorter than one 400 ms block, or all gated */
    double true_peak_dbtp;   /* maximum over channels; -INFINITY for digital silence */
    double sample_peak_dbfs; /* maximum |sample| over channels, in dBFS */
} vkr_loudness;

/* Measures x (frames x channels, interleaved) at `rate` Hz. */
int vkr_loudness_measure(const float *x, int64_t frames, int channels, int rate, vkr_loudness *out);

typedef struct {
    vkr_loudness before;
    vkr_loudness after;  /* re-measured after the gain */
    double gain_db;      /* the static gain applied */
    int peak_limited;    /* 1: the true-peak ceiling, not the target, set the gain (static),
                          * or the limiter reduced the gain somewhere (limited variant) */
    double limiter_db;   /* limited variant: largest limiter gain reduction, <= 0 dB; else 0 */
    int iterations;      /* limited variant: measure/adjust passes used; else 1 */
} vkr_loudnorm_result;

/* Scales x in place to integrated loudness target_lufs, then lowers the gain if
 * needed so the true peak stays at or below ceiling_dbtp (a 0.001 dB margin
 * covers float rounding of the scaled samples). VKR_E_DATA when the integrated
 * loudness is undefined (shorter than 400 ms or silent): use
 * vkr_peak_normalize for short effects. `res` may be NULL. */
int vkr_loudness_normalize(float *x, int64_t frames, int channels, int rate, double target_lufs,
                           double ceiling_dbtp, vkr_loudnorm_result *res);

/* Like vkr_loudness_normalize, but reaches the target through a look-ahead
 * limiter (5 ms look-ahead, 100 ms release) instead of giving up loudness:
 * repeat { x = original * gain; limit to the sample-peak threshold; measure;
 * if the true peak is over the ceiling lower the threshold by the excess (+0.01 dB),
 * else gain += target - measured } until within 0.02 LU of the target and under
 * the ceiling, at most 8 passes. If the limiter cannot get there (a signal that
 * is nothing but peaks) the last pass stands; the true-peak ceiling is always
 * respected (a final static trim if needed). Signals that need no limiting get
 * exactly vkr_loudness_normalize's static gain. */
int vkr_loudness_normalize_limited(float *x, int64_t frames, int channels, int rate,
                                   double target_lufs, double ceiling_dbtp, vkr_loudnorm_result *res);

/* Scales x in place so its true peak is ceiling_dbtp (less the 0.001 dB
 * margin): the sound-effect rule (-1 dBTP), for clips too short for an integrated
 * loudness. Digital silence is left alone (gain 0, *gain_db = 0). gain_db may be NULL. */
int vkr_peak_normalize(float *x, int64_t frames, int channels, int rate, double ceiling_dbtp,
                       double *gain_db);

#endif
