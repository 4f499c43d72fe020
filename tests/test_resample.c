/* Resampling: exact output lengths, nothing lost at the end, no delay, and a
 * 1 kHz sine stays 1 kHz with its amplitude. */
#include "audio/resample.h"
#include "common/status.h"
#include "tests/check.h"

#include <stdint.h>
#include <stdlib.h>

static const int rates[] = {8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 96000};
#define N_RATES (int)(sizeof rates / sizeof rates[0])

static void test_length_rule(void)
{
    CHECK_EQ_INT(vkr_resample_length(0, 16000, 48000), 0);
    CHECK_EQ_INT(vkr_resample_length(1, 16000, 48000), 3);
    CHECK_EQ_INT(vkr_resample_length(1, 16000, 44100), 3);   /* 2.75625 */
    CHECK_EQ_INT(vkr_resample_length(1, 16000, 8000), 1);    /* 0.5: halves round up */
    CHECK_EQ_INT(vkr_resample_length(3, 16000, 8000), 2);    /* 1.5 */
    CHECK_EQ_INT(vkr_resample_length(5, 16000, 11025), 3);   /* 3.4453 */
    CHECK_EQ_INT(vkr_resample_length(4160, 16000, 44100), 11466);
    CHECK_EQ_INT(vkr_resample_length(163840, 16000, 48000), 491520);
    CHECK_EQ_INT(vkr_resample_length(163841, 16000, 44100), 451587); /* 451586.75625 */
    CHECK_EQ_INT(vkr_resample_length(7, 44100, 22050), 4);          /* 3.5: halves round up */
    CHECK_EQ_INT(vkr_resample_length(-1, 16000, 48000), -1);
    CHECK_EQ_INT(vkr_resample_length(10, 0, 48000), -1);
    CHECK_EQ_INT(vkr_resample_length(10, 16000, -5), -1);
    CHECK_EQ_INT(vkr_resample_length(INT64_MAX / 4, 16000, 48000), -1);
    /* Against floating point where that is exact enough. */
    for (int64_t n = 0; n < 100000; n += 977)
        for (int a = 0; a < N_RATES; a++)
            for (int b = 0; b < N_RATES; b++)
                CHECK_EQ_INT(vkr_resample_length(n, rates[a], rates[b]),
                             (int64_t)floor((double)n * rates[b] / rates[a] + 0.5));
}

static void test_exact_lengths(void)
{
    const int n_max = 3000;
    float *x = malloc(sizeof(float) * n_max * 2);
    for (int i = 0; i < n_max * 2; i++)
        x[i] = (float)sin(i * 0.1);
    int bad = 0, runs = 0;
    for (int b = 0; b < N_RATES; b++) {
        for (int n = 1; n <= n_max; n += (n < 40 ? 1 : 53)) {
            for (int ch = 1; ch <= 2; ch++) {
                float *y = NULL;
                int64_t m = -1;
                int rc = vkr_resample(x, n, ch, 16000, rates[b], &y, &m);
                int64_t want = (int64_t)floor((double)n * rates[b] / 16000 + 0.5);
                if ((rc || m != want) && bad++ < 10)
                    CHECK(0, "%d frames x %d ch 16000 -> %d Hz: rc %d, %lld frames, expected %lld", n,
                          ch, rates[b], rc, (long long)m, (long long)want);
                runs++;
                free(y);
            }
        }
    }
    CHECK(bad == 0, "%d of %d resamplings had the wrong length", bad, runs);
    printf("exact lengths: %d resamplings (1..%d frames, mono and stereo, 16 kHz -> 8..96 kHz)\n",
           runs, n_max);
    /* Other directions too (downsampling to 16 kHz, 44.1 <-> 48). */
    const int pairs[][2] = {{48000, 16000}, {44100, 48000}, {48000, 44100}, {22050, 16000}};
    for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++)
        for (int n = 1; n <= n_max; n += 211) {
            float *y = NULL;
            int64_t m = -1;
            CHECK_EQ_INT(vkr_resample(x, n, 1, pairs[p][0], pairs[p][1], &y, &m), 0);
            CHECK_EQ_INT(m, vkr_resample_length(n, pairs[p][0], pairs[p][1]));
            free(y);
        }
    free(x);
}

/* Nothing lost or added at the end: resampling x equals resampling x followed
 * by silence, cut to the same length (so the filter tail was flushed, not cut). */
static void test_tail_flushed(void)
{
    const int n = 1000, pad = 4000;
    float *x = calloc(n + pad, sizeof(float));
    uint32_t s = 1;
    for (int i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)((double)(s >> 8) / 16777216.0 - 0.5);
    }
    const int outs[] = {8000, 44100, 48000};
    for (int r = 0; r < 3; r++) {
        float *y = NULL, *z = NULL;
        int64_t my = 0, mz = 0;
        CHECK_EQ_INT(vkr_resample(x, n, 1, 16000, outs[r], &y, &my), 0);
        CHECK_EQ_INT(vkr_resample(x, n + pad, 1, 16000, outs[r], &z, &mz), 0);
        double max_diff = 0, tail_energy = 0;
        for (int64_t j = 0; j < my && j < mz; j++)
            max_diff = fmax(max_diff, fabs(y[j] - z[j]));
        for (int64_t j = my - 10; j < my; j++) /* the last input samples did reach the output */
            tail_energy += (double)y[j] * y[j];
        CHECK(max_diff < 1e-6, "16000 -> %d: output differs from the zero-extended run by %g",
              outs[r], max_diff);
        CHECK(tail_energy > 1e-4, "16000 -> %d: silent tail (%g)", outs[r], tail_energy);
        free(y);
        free(z);
    }
    /* A single sample becomes a (short) impulse response, not silence. */
    float one = 1.0f, *y = NULL;
    int64_t m = 0;
    CHECK_EQ_INT(vkr_resample(&one, 1, 1, 16000, 48000, &y, &m), 0);
    CHECK_EQ_INT(m, 3);
    if (m == 3)
        CHECK(fabs(y[0] - 1.0) < 0.1, "impulse at t=0 resampled to %g %g %g", y[0], y[1], y[2]);
    free(y);
    free(x);
}

/* Frequency from interpolated zero crossings of y[a..b). */
static double zero_crossing_freq(const float *y, int64_t a, int64_t b, int stride, int rate)
{
    double first = -1, last = -1;
    int64_t count = 0;
    for (int64_t j = a; j + 1 < b; j++) {
        double u = y[j * stride], v = y[(j + 1) * stride];
        if (u < 0 && v >= 0) { /* rising crossings only: one per period */
            double t = j + u / (u - v);
            if (first < 0)
                first = t;
            last = t;
            count++;
        }
    }
    return count > 1 ? (count - 1) * rate / (last - first) : 0.0;
}

static void test_sine(void)
{
    const int in_rate = 16000, n = 2 * in_rate;
    const double amp = 0.5;
    float *x = malloc(sizeof(float) * n * 2);
    for (int i = 0; i < n; i++) {
        x[2 * i] = (float)(amp * sin(2 * M_PI * 1000.0 * i / in_rate));
        x[2 * i + 1] = (float)(0.25 * sin(2 * M_PI * 440.0 * i / in_rate + 1.0));
    }
    const int outs[] = {8000, 22050, 44100, 48000, 96000};
    for (int r = 0; r < 5; r++) {
        const int rate = outs[r];
        float *y = NULL;
        int64_t m = 0;
        CHECK_EQ_INT(vkr_resample(x, n, 2, in_rate, rate, &y, &m), 0);
        CHECK_EQ_INT(m, 2 * rate);
        if (m != 2 * rate) {
            free(y);
            continue;
        }
        /* The middle second: exactly 1000 periods at every rate. */
        int64_t a = rate / 2, b = a + rate;
        double ms = 0, max_err = 0, max_err1 = 0;
        for (int64_t j = a; j < b; j++) {
            ms += (double)y[2 * j] * y[2 * j];
            max_err = fmax(max_err, fabs(y[2 * j] - amp * sin(2 * M_PI * 1000.0 * j / rate)));
            max_err1 = fmax(max_err1, fabs(y[2 * j + 1] - 0.25 * sin(2 * M_PI * 440.0 * j / rate + 1.0)));
        }
        double gain_db = 20 * log10(sqrt(2 * ms / rate) / amp);
        double f = zero_crossing_freq(y, a, b, 2, rate);
        printf("1 kHz sine 16000 -> %5d Hz: %.4f Hz, amplitude %+.4f dB, max |err| vs ideal %.2g "
               "(440 Hz channel %.2g)\n", rate, f, gain_db, max_err, max_err1);
        CHECK(fabs(f - 1000.0) < 0.01, "16000 -> %d: sine at %.4f Hz", rate, f);
        CHECK(fabs(gain_db) < 0.1, "16000 -> %d: amplitude off by %.4f dB", rate, gain_db);
        /* Sample-exact timing: a delay of even 1/10 output sample would give
         * errors of amp * 2 pi 1000 / (10 rate) > 1.6e-3 at 96 kHz. */
        CHECK(max_err < 1e-3, "16000 -> %d: %.3g from the ideal sine (delay?)", rate, max_err);
        CHECK(max_err1 < 1e-3, "16000 -> %d: 440 Hz channel %.3g from the ideal", rate, max_err1);
        free(y);
    }
    free(x);
}

static void test_misc(void)
{
    float x[4] = {1, 2, 3, 4}, *y = NULL;
    int64_t m = 0;
    CHECK_EQ_INT(vkr_resample(x, 4, 1, 48000, 48000, &y, &m), 0);
    CHECK_EQ_INT(m, 4);
    CHECK(y && memcmp(x, y, sizeof x) == 0, "equal rates changed the data");
    free(y);
    y = NULL;
    CHECK_EQ_INT(vkr_resample(x, 0, 1, 16000, 48000, &y, &m), 0);
    CHECK(y == NULL && m == 0, "empty input gave %lld frames", (long long)m);
    CHECK_EQ_INT(vkr_resample(x, 4, 1, 0, 48000, &y, &m), VKR_E_USAGE);
    CHECK_EQ_INT(vkr_resample(x, 4, 0, 16000, 48000, &y, &m), VKR_E_USAGE);
    CHECK_EQ_INT(vkr_resample(x, -1, 1, 16000, 48000, &y, &m), VKR_E_USAGE);
}

int main(void)
{
    test_length_rule();
    test_exact_lengths();
    test_tail_flushed();
    test_sine();
    test_misc();
    return check_summary("test_resample");
}
