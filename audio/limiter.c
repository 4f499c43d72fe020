#include "limiter.h"

#include "common/status.h"

#include <math.h>
#include <stdlib.h>

int vkr_limiter_apply(float *x, int64_t frames, int channels, int rate,
                      const vkr_limiter_config *cfg, double *min_gain)
{
    int rc = VKR_OK;
    if (min_gain)
        *min_gain = 1.0;
    if (frames < 0 || channels < 1 || rate < 1 || !(cfg->threshold > 0.0) ||
        !(cfg->lookahead_ms >= 0.0) || !(cfg->release_ms >= 0.0) || cfg->lookahead_ms > 1000.0)
        return vkr_fail(VKR_E_USAGE, "limiter: bad arguments (threshold %g, look-ahead %g ms, "
                        "release %g ms)", cfg->threshold, cfg->lookahead_ms, cfg->release_ms);
    if (frames == 0)
        return VKR_OK;
    int64_t L = (int64_t)llround(cfg->lookahead_ms * 1e-3 * rate);
    if (L < 1)
        L = 1;
    double *need = malloc(sizeof(double) * (size_t)frames);
    double *ahead = malloc(sizeof(double) * (size_t)frames);
    int64_t *dq = malloc(sizeof(int64_t) * (size_t)frames);
    if (!need || !ahead || !dq) {
        rc = vkr_fail(VKR_E_INTERNAL, "limiter: out of memory (%lld frames)", (long long)frames);
        goto fail;
    }
    for (int64_t i = 0; i < frames; i++) {
        double p = 0.0;
        for (int c = 0; c < channels; c++)
            p = fmax(p, fabs((double)x[i * channels + c]));
        need[i] = p > cfg->threshold ? cfg->threshold / p : 1.0;
    }
    /* Sliding-window minimum over [i, i+L-1], scanning backwards with a monotone deque. */
    int64_t head = 0, tail = 0;
    for (int64_t i = frames - 1; i >= 0; i--) {
        while (tail > head && need[dq[tail - 1]] >= need[i])
            tail--;
        dq[tail++] = i;
        while (dq[head] > i + L - 1)
            head++;
        ahead[i] = need[dq[head]];
    }
    /* Attack ramp: causal mean of the last L look-ahead minima. Before the start
     * the window is padded with ahead[0] = min(need[0 .. L-1]), which is <= need[i]
     * for every i < L, so the bound smooth[i] <= need[i] holds from sample 0.
     * Then release, never above the ramp. */
    double sum = (double)L * ahead[0], g = 1.0, gmin = 1.0;
    const double r = cfg->release_ms > 0.0 ? exp(-1.0 / (cfg->release_ms * 1e-3 * rate)) : 0.0;
    for (int64_t i = 0; i < frames; i++) {
        sum += ahead[i] - (i >= L ? ahead[i - L] : ahead[0]);
        /* <= need[i] exactly in real arithmetic; the min only absorbs rounding of the running sum. */
        double smooth = fmin(sum / (double)L, need[i]);
        g = fmin(smooth, 1.0 - (1.0 - g) * r);
        gmin = fmin(gmin, g);
        for (int c = 0; c < channels; c++)
            x[i * channels + c] = (float)(x[i * channels + c] * g);
    }
    if (min_gain)
        *min_gain = gmin;
fail:
    free(need);
    free(ahead);
    free(dq);
    return rc;
}
