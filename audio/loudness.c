#include "loudness.h"

#include "common/status.h"
#include "limiter.h"

#include <ebur128.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_FRAMES 65536
#define CEILING_MARGIN_DB 0.001 /* float rounding of the scaled samples stays inside this */

static double lin_to_db(double v) { return v > 0.0 ? 20.0 * log10(v) : -INFINITY; }

int vkr_loudness_measure(const float *x, int64_t frames, int channels, int rate, vkr_loudness *out)
{
    int rc = VKR_OK;
    out->integrated_lufs = out->true_peak_dbtp = out->sample_peak_dbfs = -INFINITY;
    if (frames < 0 || channels < 1 || channels > 64 || rate < 1 || rate > 2822400)
        return vkr_fail(VKR_E_USAGE, "loudness: bad arguments (%lld frames, %d channels, %d Hz)",
                        (long long)frames, channels, rate);
    ebur128_state *st = ebur128_init((unsigned)channels, (unsigned long)rate,
                                     EBUR128_MODE_I | EBUR128_MODE_TRUE_PEAK);
    if (!st)
        return vkr_fail(VKR_E_INTERNAL, "loudness: libebur128 init failed (%d ch, %d Hz)",
                        channels, rate);
    for (int64_t pos = 0; pos < frames; pos += CHUNK_FRAMES) {
        size_t n = frames - pos > CHUNK_FRAMES ? CHUNK_FRAMES : (size_t)(frames - pos);
        if (ebur128_add_frames_float(st, x + pos * channels, n) != EBUR128_SUCCESS) {
            rc = vkr_fail(VKR_E_INTERNAL, "loudness: libebur128 out of memory");
            goto fail;
        }
    }
    double lufs, tp_max = 0.0, sp_max = 0.0;
    if (ebur128_loudness_global(st, &lufs) != EBUR128_SUCCESS) {
        rc = vkr_fail(VKR_E_INTERNAL, "loudness: integrated loudness failed");
        goto fail;
    }
    for (int c = 0; c < channels; c++) {
        double tp, sp;
        if (ebur128_true_peak(st, (unsigned)c, &tp) != EBUR128_SUCCESS ||
            ebur128_sample_peak(st, (unsigned)c, &sp) != EBUR128_SUCCESS) {
            rc = vkr_fail(VKR_E_INTERNAL, "loudness: peak measurement failed");
            goto fail;
        }
        tp_max = fmax(tp_max, tp);
        sp_max = fmax(sp_max, sp);
    }
    out->integrated_lufs = isfinite(lufs) ? lufs : -INFINITY; /* libebur128 gives -HUGE_VAL */
    out->true_peak_dbtp = lin_to_db(tp_max);
    out->sample_peak_dbfs = lin_to_db(sp_max);
fail:
    ebur128_destroy(&st);
    return rc;
}

static void apply_gain(float *x, int64_t n, double gain_db)
{
    float g = (float)pow(10.0, gain_db / 20.0);
    for (int64_t i = 0; i < n; i++)
        x[i] *= g;
}

int vkr_loudness_normalize(float *x, int64_t frames, int channels, int rate, double target_lufs,
                           double ceiling_dbtp, vkr_loudnorm_result *res)
{
    vkr_loudnorm_result r = {0};
    int rc = vkr_loudness_measure(x, frames, channels, rate, &r.before);
    if (rc)
        return rc;
    if (!isfinite(r.before.integrated_lufs))
        return vkr_fail(VKR_E_DATA, "loudness: integrated loudness undefined (%.3f s: shorter than "
                        "400 ms, or silent); peak-normalise instead", (double)frames / rate);
    if (!isfinite(target_lufs) || !isfinite(ceiling_dbtp))
        return vkr_fail(VKR_E_USAGE, "loudness: target and ceiling must be finite");
    /* Loudness and true peak are both linear in the signal, so a gain of g dB
     * moves each by exactly g dB: no need to iterate. */
    r.gain_db = target_lufs - r.before.integrated_lufs;
    if (r.before.true_peak_dbtp + r.gain_db > ceiling_dbtp - CEILING_MARGIN_DB) {
        r.gain_db = ceiling_dbtp - CEILING_MARGIN_DB - r.before.true_peak_dbtp;
        r.peak_limited = 1;
    }
    apply_gain(x, frames * channels, r.gain_db);
    if ((rc = vkr_loudness_measure(x, frames, channels, rate, &r.after)))
        return rc;
    r.iterations = 1;
    if (res)
        *res = r;
    return VKR_OK;
}

#define LIMITER_LOOKAHEAD_MS 5.0
#define LIMITER_RELEASE_MS 100.0
#define LIMITED_MAX_PASSES 8
#define LIMITED_TOLERANCE_LU 0.02

int vkr_loudness_normalize_limited(float *x, int64_t frames, int channels, int rate,
                                   double target_lufs, double ceiling_dbtp, vkr_loudnorm_result *res)
{
    vkr_loudnorm_result r = {0};
    float *orig = NULL;
    int rc = vkr_loudness_measure(x, frames, channels, rate, &r.before);
    if (rc)
        return rc;
    if (!isfinite(r.before.integrated_lufs))
        return vkr_fail(VKR_E_DATA, "loudness: integrated loudness undefined (%.3f s: shorter than "
                        "400 ms, or silent); peak-normalise instead", (double)frames / rate);
    if (!isfinite(target_lufs) || !isfinite(ceiling_dbtp))
        return vkr_fail(VKR_E_USAGE, "loudness: target and ceiling must be finite");
    const size_t n = (size_t)frames * channels;
    orig = malloc(sizeof(float) * n);
    if (!orig)
        return vkr_fail(VKR_E_INTERNAL, "loudness: out of memory");
    memcpy(orig, x, sizeof(float) * n);
    double gain = target_lufs - r.before.integrated_lufs;
    double threshold_db = ceiling_dbtp - CEILING_MARGIN_DB;
    for (int pass = 0; pass < LIMITED_MAX_PASSES; pass++) {
        memcpy(x, orig, sizeof(float) * n);
        apply_gain(x, (int64_t)n, gain);
        vkr_limiter_config lc = {.threshold = pow(10.0, threshold_db / 20.0),
                                 .lookahead_ms = LIMITER_LOOKAHEAD_MS,
                                 .release_ms = LIMITER_RELEASE_MS};
        double min_gain;
        if ((rc = vkr_limiter_apply(x, frames, channels, rate, &lc, &min_gain)) ||
            (rc = vkr_loudness_measure(x, frames, channels, rate, &r.after)))
            goto fail;
        r.gain_db = gain;
        r.limiter_db = 20.0 * log10(min_gain);
        r.peak_limited = min_gain < 1.0;
        r.iterations = pass + 1;
        if (r.after.true_peak_dbtp > ceiling_dbtp - CEILING_MARGIN_DB / 2) {
            /* Inter-sample overs: the limiter works on sample peaks. */
            threshold_db -= r.after.true_peak_dbtp - (ceiling_dbtp - CEILING_MARGIN_DB) + 0.01;
            continue;
        }
        double err = target_lufs - r.after.integrated_lufs;
        if (!isfinite(err) || fabs(err) < LIMITED_TOLERANCE_LU)
            break;
        gain += err;
    }
    if (r.after.true_peak_dbtp > ceiling_dbtp - CEILING_MARGIN_DB / 2) {
        double trim = ceiling_dbtp - CEILING_MARGIN_DB - r.after.true_peak_dbtp;
        apply_gain(x, (int64_t)n, trim);
        r.gain_db += trim;
        if ((rc = vkr_loudness_measure(x, frames, channels, rate, &r.after)))
            goto fail;
    }
    if (res)
        *res = r;
fail:
    free(orig);
    return rc;
}

int vkr_peak_normalize(float *x, int64_t frames, int channels, int rate, double ceiling_dbtp,
                       double *gain_db)
{
    vkr_loudness l;
    if (gain_db)
        *gain_db = 0.0;
    if (!isfinite(ceiling_dbtp))
        return vkr_fail(VKR_E_USAGE, "loudness: ceiling must be finite");
    int rc = vkr_loudness_measure(x, frames, channels, rate, &l);
    if (rc)
        return rc;
    if (!isfinite(l.true_peak_dbtp))
        return VKR_OK; /* digital silence: nothing to scale */
    double g = ceiling_dbtp - CEILING_MARGIN_DB - l.true_peak_dbtp;
    apply_gain(x, frames * channels, g);
    if (gain_db)
        *gain_db = g;
    return VKR_OK;
}
