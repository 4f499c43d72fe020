/* Look-ahead limiter: the threshold holds at every sample, the gain comes down
 * before a peak (look-ahead) rather than at it, the curve is smooth, quiet
 * signals pass bit-exactly, and nothing is delayed. */
#include "audio/limiter.h"
#include "common/status.h"
#include "tests/check.h"

#include <stdint.h>
#include <stdlib.h>

int main(void)
{
    const int rate = 48000, ch = 2;
    const int64_t n = rate; /* 1 s */
    float *x = malloc(sizeof(float) * n * ch), *y = malloc(sizeof(float) * n * ch);
    /* A 0.3-amplitude tone with spikes of 2.0 at 0.25 s and 0.6 s (left) and a
     * dense burst of 1.2 around 0.8 s (right). */
    for (int64_t i = 0; i < n; i++) {
        float v = (float)(0.3 * sin(2 * M_PI * 440.0 * i / rate));
        x[i * ch] = v;
        x[i * ch + 1] = v;
    }
    const int64_t spike1 = n / 4, spike2 = 6 * n / 10;
    x[spike1 * ch] = 2.0f;
    x[spike2 * ch] = -2.0f;
    for (int64_t i = 8 * n / 10; i < 8 * n / 10 + 2000; i++)
        x[i * ch + 1] = (float)(1.2 * sin(2 * M_PI * 1000.0 * i / rate));
    memcpy(y, x, sizeof(float) * n * ch);
    vkr_limiter_config lc = {.threshold = 0.5, .lookahead_ms = 5.0, .release_ms = 100.0};
    double min_gain = 0;
    CHECK_EQ_INT(vkr_limiter_apply(y, n, ch, rate, &lc, &min_gain), 0);
    double peak = 0;
    for (int64_t i = 0; i < n * ch; i++)
        peak = fmax(peak, fabs(y[i]));
    printf("limiter: input peak 2.0, output peak %.6f (threshold 0.5), min gain %.4f\n", peak, min_gain);
    CHECK(peak <= 0.5 * (1 + 1e-6), "output peak %.9f over the threshold", peak);
    CHECK_NEAR(min_gain, 0.25, 1e-6);

    /* Gain per frame (recovered from the untouched-by-spike right channel where possible). */
    const int64_t L = 240; /* 5 ms at 48 kHz */
    double g_before = fabs(x[(spike1 - L - 1) * ch + 1]) > 0.05
                          ? y[(spike1 - L - 1) * ch + 1] / x[(spike1 - L - 1) * ch + 1] : 1.0;
    double g_at = y[spike1 * ch] / x[spike1 * ch];
    double g_mid = y[(spike1 - L / 2) * ch + 1] / x[(spike1 - L / 2) * ch + 1];
    CHECK_NEAR(g_before, 1.0, 1e-6); /* still untouched one look-ahead before */
    CHECK_NEAR(g_at, 0.25, 1e-6);    /* exactly the needed gain at the peak */
    CHECK(g_mid < 0.9 && g_mid > 0.3, "half-way down the attack ramp: gain %g", g_mid);
    /* Smooth: the gain (from the tone, away from zero crossings) never jumps. */
    double max_step = 0, prev = -1;
    for (int64_t i = 0; i < n; i++) {
        double xv = x[i * ch + 1];
        if (fabs(xv) < 0.1 || (i >= 8 * n / 10 && i < 8 * n / 10 + 2000)) {
            prev = -1;
            continue;
        }
        double g = y[i * ch + 1] / xv;
        if (prev >= 0)
            max_step = fmax(max_step, fabs(g - prev));
        prev = g;
    }
    printf("limiter: largest gain step between adjacent samples %.5f\n", max_step);
    CHECK(max_step < 2.0 / L, "gain step %g (attack over %lld samples)", max_step, (long long)L);
    /* Release: exponential recovery from the spike's gain, 1 - (1 - 0.25) r^(k - spike),
     * r = exp(-1 / 100 ms); checked just before the next spike's attack starts. */
    int64_t k = spike2 - L - 200;
    while (fabs(x[k * ch + 1]) < 0.2)
        k++;
    double g_late = y[k * ch + 1] / x[k * ch + 1];
    double g_want = 1.0 - 0.75 * pow(exp(-1.0 / (0.1 * rate)), (double)(k - spike1));
    printf("limiter: gain %.5f at %.3f s after the spike (release law %.5f)\n", g_late,
           (double)(k - spike1) / rate, g_want);
    CHECK_NEAR(g_late, g_want, 1e-4);

    /* A spike inside the first look-ahead window is still limited. */
    for (int64_t i = 0; i < n * ch; i++)
        y[i] = 0.1f;
    y[3 * ch + 1] = 1.5f;
    CHECK_EQ_INT(vkr_limiter_apply(y, n, ch, rate, &lc, &min_gain), 0);
    CHECK(fabs(y[3 * ch + 1]) <= 0.5 * (1 + 1e-6), "early spike: %g", y[3 * ch + 1]);

    /* Below the threshold: bit-exact pass-through. */
    for (int64_t i = 0; i < n * ch; i++)
        x[i] = y[i] = (float)(0.4 * sin(i * 0.01));
    CHECK_EQ_INT(vkr_limiter_apply(y, n, ch, rate, &lc, &min_gain), 0);
    CHECK(memcmp(x, y, sizeof(float) * n * ch) == 0, "quiet signal altered");
    CHECK_NEAR(min_gain, 1.0, 0.0);

    lc.threshold = 0.0;
    CHECK_EQ_INT(vkr_limiter_apply(y, n, ch, rate, &lc, NULL), VKR_E_USAGE);
    free(x);
    free(y);
    return check_summary("test_limiter");
}
