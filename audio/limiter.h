/* Look-ahead peak limiter: a smooth, stereo-linked gain curve that keeps every
 * sample's magnitude at or below a threshold, reaching each peak's gain before
 * the peak arrives (no clipping, no overshoot) and recovering exponentially.
 *
 *   need[i]  = min(1, threshold / max_c |x[i,c]|)            required gain
 *   ahead[i] = min(need[i .. i+L-1])                          L = look-ahead samples
 *   smooth[i]= mean(ahead[i-L+1 .. i])                        attack ramp over L samples
 *   g[i]     = min(smooth[i], 1 - (1 - g[i-1]) * r)           r = exp(-1 / release samples)
 *   y[i,c]   = g[i] x[i,c]
 *
 * Every term of the mean covers sample i, so smooth[i] <= need[i] and the
 * output never exceeds the threshold (sample peak). Inter-sample (true) peaks
 * can still poke above it; vkr_loudness_normalize_limited checks the true peak
 * and tightens the threshold. Used only there; the plain normalisation applies a
 * static gain. */
#ifndef VKR_AUDIO_LIMITER_H
#define VKR_AUDIO_LIMITER_H

#include <stdint.h>

typedef struct {
    double threshold;    /* linear sample-peak threshold, > 0 */
    double lookahead_ms; /* attack/look-ahead time (e.g. 5 ms) */
    double release_ms;   /* release time constant (e.g. 80 ms) */
} vkr_limiter_config;

/* Limits x (frames x channels, interleaved) in place; *min_gain (may be NULL)
 * receives the smallest gain applied (1 = untouched). The signal is not delayed:
 * the look-ahead reads future samples of the whole buffer. */
int vkr_limiter_apply(float *x, int64_t frames, int channels, int rate,
                      const vkr_limiter_config *cfg, double *min_gain);

#endif
