/* Loudness: EBU R128 / BS.1770 expectations computed independently here from
 * the published K-weighting coefficients, gating (EBU Tech 3341 case 3), true
 * peak above sample peak, normalisation to a target under a true-peak ceiling,
 * and sound-effect peak normalisation. */
#include "audio/loudness.h"
#include "common/status.h"
#include "tests/check.h"

#include <complex.h>
#include <stdint.h>
#include <stdlib.h>

/* |H_K(f)|^2 in dB at 48 kHz from the BS.1770-4 coefficients (pre-filter shelf
 * and RLB high-pass). */
static double k_weight_db(double f)
{
    const double b1[3] = {1.53512485958697, -2.69169618940638, 1.19839281085285};
    const double a1[3] = {1.0, -1.69065929318241, 0.73248077421585};
    const double b2[3] = {1.0, -2.0, 1.0};
    const double a2[3] = {1.0, -1.99004745483398, 0.99007225036621};
    double complex z1 = cexp(-I * 2 * M_PI * f / 48000.0), z2 = z1 * z1;
    double complex h = (b1[0] + b1[1] * z1 + b1[2] * z2) / (a1[0] + a1[1] * z1 + a1[2] * z2) *
                       (b2[0] + b2[1] * z1 + b2[2] * z2) / (a2[0] + a2[1] * z1 + a2[2] * z2);
    return 20 * log10(cabs(h));
}

/* BS.1770 loudness of a steady sine of peak `amp` on `channels` channels of weight 1. */
static double sine_lufs(double amp, int channels, double f)
{
    return -0.691 + 10 * log10(channels * amp * amp / 2) + k_weight_db(f);
}

static float *sine(int64_t frames, int channels, int rate, double f, double amp, double phase)
{
    float *x = malloc(sizeof(float) * frames * channels);
    for (int64_t i = 0; i < frames; i++)
        for (int c = 0; c < channels; c++)
            x[i * channels + c] = (float)(amp * sin(2 * M_PI * f * i / rate + phase));
    return x;
}

static void test_sine_levels(void)
{
    const int rates[] = {48000, 44100, 16000};
    for (int r = 0; r < 3; r++) {
        const int rate = rates[r];
        const double amp = pow(10, -20 / 20.0);
        float *x = sine(5 * rate, 2, rate, 1000.0, amp, 0.0);
        vkr_loudness l;
        CHECK_EQ_INT(vkr_loudness_measure(x, 5 * rate, 2, rate, &l), 0);
        double want = sine_lufs(amp, 2, 1000.0);
        printf("-20 dBFS 1 kHz stereo sine @ %d Hz: %.3f LUFS (BS.1770: %.3f; K-weight at 1 kHz "
               "%+.3f dB), true peak %.3f dBTP\n", rate, l.integrated_lufs, want,
               k_weight_db(1000.0), l.true_peak_dbtp);
        CHECK_NEAR(l.integrated_lufs, want, 0.1);
        CHECK_NEAR(l.true_peak_dbtp, -20.0, 0.05);
        CHECK_NEAR(l.sample_peak_dbfs, -20.0, 0.01);
        free(x);
    }
    /* EBU Tech 3341 case 1 and 2 style: -23 and -33 dBFS stereo 1 kHz -> -23 / -33 LUFS. */
    for (int lvl = -23; lvl >= -33; lvl -= 10) {
        float *x = sine(20 * 48000, 2, 48000, 1000.0, pow(10, lvl / 20.0), 0.0);
        vkr_loudness l;
        CHECK_EQ_INT(vkr_loudness_measure(x, 20 * 48000, 2, 48000, &l), 0);
        CHECK_NEAR(l.integrated_lufs, lvl, 0.1);
        free(x);
    }
    /* Mono is one front channel: 3 dB below the stereo measurement. */
    float *x = sine(5 * 48000, 1, 48000, 1000.0, 0.1, 0.0);
    vkr_loudness l;
    CHECK_EQ_INT(vkr_loudness_measure(x, 5 * 48000, 1, 48000, &l), 0);
    CHECK_NEAR(l.integrated_lufs, sine_lufs(0.1, 1, 1000.0), 0.1);
    free(x);
}

/* EBU Tech 3341 case 3: -36 / -23 / -36 dBFS for 10 / 60 / 10 s -> -23 LUFS
 * (the quiet parts fall under the relative gate). */
static void test_gating(void)
{
    const int rate = 48000;
    const int64_t n = 80LL * rate;
    float *x = malloc(sizeof(float) * n * 2);
    for (int64_t i = 0; i < n; i++) {
        double amp = (i >= 10LL * rate && i < 70LL * rate) ? pow(10, -23 / 20.0) : pow(10, -36 / 20.0);
        x[2 * i] = x[2 * i + 1] = (float)(amp * sin(2 * M_PI * 1000.0 * i / rate));
    }
    vkr_loudness l;
    CHECK_EQ_INT(vkr_loudness_measure(x, n, 2, rate, &l), 0);
    printf("EBU 3341 case 3 (gating): %.3f LUFS (expected -23.0 +- 0.1)\n", l.integrated_lufs);
    CHECK_NEAR(l.integrated_lufs, -23.0, 0.1);
    free(x);
}

static void test_true_peak(void)
{
    /* fs/4 sine at 45 degrees: every sample is at +-amp/sqrt(2), the waveform peaks at amp. */
    const int rate = 48000;
    float *x = sine(rate, 2, rate, rate / 4.0, 0.5, M_PI / 4);
    vkr_loudness l;
    CHECK_EQ_INT(vkr_loudness_measure(x, rate, 2, rate, &l), 0);
    printf("fs/4 sine at 45 deg: sample peak %.3f dBFS, true peak %.3f dBTP (ideal %.3f)\n",
           l.sample_peak_dbfs, l.true_peak_dbtp, 20 * log10(0.5));
    CHECK_NEAR(l.sample_peak_dbfs, 20 * log10(0.5 / sqrt(2.0)), 0.01);
    CHECK_NEAR(l.true_peak_dbtp, 20 * log10(0.5), 0.3);
    CHECK(l.true_peak_dbtp > l.sample_peak_dbfs + 2.5, "true peak %.3f not above sample peak %.3f",
          l.true_peak_dbtp, l.sample_peak_dbfs);
    free(x);
}

/* Deterministic "programme": a chord plus noise with a slow envelope, and sparse clicks. */
static float *programme(int64_t frames, int rate, double level, double click)
{
    float *x = malloc(sizeof(float) * frames * 2);
    uint32_t s = 99;
    for (int64_t i = 0; i < frames; i++) {
        double t = (double)i / rate;
        double env = 0.6 + 0.4 * sin(2 * M_PI * 0.3 * t);
        s = s * 1664525u + 1013904223u;
        double nz = (double)(s >> 8) / 16777216.0 - 0.5;
        double v = sin(2 * M_PI * 220 * t) + 0.5 * sin(2 * M_PI * 277 * t) + 0.3 * nz;
        double c = (i % (rate / 2) == 100) ? click : 0.0;
        x[2 * i] = (float)(level * env * v + c);
        x[2 * i + 1] = (float)(level * env * v * 0.8 - c);
    }
    return x;
}

static void test_normalize(void)
{
    const int rate = 48000;
    const int64_t n = 6LL * rate;
    /* Reaches the target: -16 LUFS under a -1 dBTP ceiling. */
    float *x = programme(n, rate, 0.05, 0.0);
    vkr_loudnorm_result r;
    CHECK_EQ_INT(vkr_loudness_normalize(x, n, 2, rate, -16.0, -1.0, &r), 0);
    printf("normalise to -16 LUFS: %.3f -> %.3f LUFS (gain %+.3f dB), true peak %.3f dBTP, "
           "limited %d\n", r.before.integrated_lufs, r.after.integrated_lufs, r.gain_db,
           r.after.true_peak_dbtp, r.peak_limited);
    CHECK_NEAR(r.after.integrated_lufs, -16.0, 0.1);
    CHECK(r.after.true_peak_dbtp <= -1.0, "true peak %.4f over the ceiling", r.after.true_peak_dbtp);
    CHECK_EQ_INT(r.peak_limited, 0);
    CHECK_NEAR(r.gain_db, -16.0 - r.before.integrated_lufs, 1e-9);
    free(x);

    /* Clicks: reaching -14 LUFS would put the true peak far over -1 dBTP. */
    x = programme(n, rate, 0.02, 0.5);
    CHECK_EQ_INT(vkr_loudness_normalize(x, n, 2, rate, -14.0, -1.0, &r), 0);
    printf("normalise clicks to -14 LUFS under -1 dBTP: %.3f -> %.3f LUFS, true peak %.4f dBTP, "
           "limited %d\n", r.before.integrated_lufs, r.after.integrated_lufs,
           r.after.true_peak_dbtp, r.peak_limited);
    CHECK_EQ_INT(r.peak_limited, 1);
    CHECK(r.after.true_peak_dbtp <= -1.0, "true peak %.4f over the ceiling", r.after.true_peak_dbtp);
    CHECK_NEAR(r.after.true_peak_dbtp, -1.0, 0.01);
    CHECK(r.after.integrated_lufs < -14.0, "target reached despite the ceiling?");
    /* Gain moves loudness by exactly the gain. */
    CHECK_NEAR(r.after.integrated_lufs - r.before.integrated_lufs, r.gain_db, 0.01);
    free(x);

    /* The same with the look-ahead limiter: the target is reached. */
    x = programme(n, rate, 0.02, 0.5);
    float *copy = malloc(sizeof(float) * n * 2);
    memcpy(copy, x, sizeof(float) * n * 2);
    CHECK_EQ_INT(vkr_loudness_normalize_limited(x, n, 2, rate, -14.0, -1.0, &r), 0);
    printf("limited normalise clicks to -14 LUFS under -1 dBTP: %.3f -> %.3f LUFS, true peak "
           "%.4f dBTP, gain %+.2f dB, limiter %.2f dB, %d passes\n", r.before.integrated_lufs,
           r.after.integrated_lufs, r.after.true_peak_dbtp, r.gain_db, r.limiter_db, r.iterations);
    CHECK_NEAR(r.after.integrated_lufs, -14.0, 0.1);
    CHECK(r.after.true_peak_dbtp <= -1.0, "true peak %.4f over the ceiling", r.after.true_peak_dbtp);
    CHECK(r.peak_limited && r.limiter_db < -1.0, "limiter reduction %.3f dB", r.limiter_db);
    free(x);
    /* No limiting needed: identical to the static gain. */
    x = programme(n, rate, 0.05, 0.0);
    memcpy(copy, x, sizeof(float) * n * 2);
    vkr_loudnorm_result r2;
    CHECK_EQ_INT(vkr_loudness_normalize_limited(x, n, 2, rate, -16.0, -1.0, &r), 0);
    CHECK_EQ_INT(vkr_loudness_normalize(copy, n, 2, rate, -16.0, -1.0, &r2), 0);
    CHECK(memcmp(x, copy, sizeof(float) * n * 2) == 0, "limited variant changed an unlimited signal");
    CHECK_EQ_INT(r.peak_limited, 0);
    free(x);
    free(copy);

    /* Undefined integrated loudness: short or silent. */
    x = programme(rate / 4, rate, 0.1, 0.0);
    vkr_loudness l;
    CHECK_EQ_INT(vkr_loudness_measure(x, rate / 4, 2, rate, &l), 0);
    CHECK(isinf(l.integrated_lufs) && l.integrated_lufs < 0, "250 ms: %g LUFS", l.integrated_lufs);
    CHECK_EQ_INT(vkr_loudness_normalize(x, rate / 4, 2, rate, -16.0, -1.0, &r), VKR_E_DATA);
    free(x);
    float *z = calloc(2 * rate, sizeof(float));
    CHECK_EQ_INT(vkr_loudness_normalize(z, rate, 2, rate, -16.0, -1.0, &r), VKR_E_DATA);
    free(z);
}

static void test_peak_normalize(void)
{
    const int rate = 16000;
    const int64_t n = rate / 5; /* a 200 ms effect */
    float *x = programme(n, rate, 0.1, 0.3);
    double g = 0;
    CHECK_EQ_INT(vkr_peak_normalize(x, n, 2, rate, -1.0, &g), 0);
    vkr_loudness l;
    CHECK_EQ_INT(vkr_loudness_measure(x, n, 2, rate, &l), 0);
    printf("sfx peak normalise: gain %+.3f dB, true peak %.4f dBTP\n", g, l.true_peak_dbtp);
    CHECK(l.true_peak_dbtp <= -1.0 && l.true_peak_dbtp > -1.01, "true peak %.4f", l.true_peak_dbtp);
    free(x);
    float *z = calloc(n * 2, sizeof(float));
    g = 5;
    CHECK_EQ_INT(vkr_peak_normalize(z, n, 2, rate, -1.0, &g), 0);
    CHECK_NEAR(g, 0.0, 0.0);
    int nonzero = 0;
    for (int64_t i = 0; i < n * 2; i++)
        nonzero += z[i] != 0.0f;
    CHECK_EQ_INT(nonzero, 0);
    CHECK_EQ_INT(vkr_peak_normalize(z, n, 0, rate, -1.0, &g), VKR_E_USAGE);
    free(z);
}

int main(void)
{
    test_sine_levels();
    test_gating();
    test_true_peak();
    test_normalize();
    test_peak_normalize();
    return check_summary("test_loudness");
}
