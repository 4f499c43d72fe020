/* AudioLDM log-mel front end: filterbank against an independent numpy
 * re-derivation of librosa's formula, STFT against a direct double-precision
 * DFT, log-mel against a numpy reference, band placement and frame counts. */
#include "audio/mel.h"
#include "audio/stft.h"
#include "common/status.h"
#include "tests/check.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#define FB_REF "tests/audio/mel_fb_slaney_16k_1024_64.txt"
#define LOGMEL_REF "tests/audio/logmel_ref_16k.txt"

/* Must match test_signal() in tools/mel_reference.py. */
static void make_signal(float *x, int n)
{
    uint32_t s = 12345;
    for (int i = 0; i < n; i++) {
        double t = (double)i / 16000.0;
        double f0 = 200.0, f1 = 6000.0, T = 0.25;
        double v = 0.5 * sin(2 * M_PI * 440.0 * t) +
                   0.2 * sin(2 * M_PI * (f0 * t + (f1 - f0) * t * t / (2 * T)));
        s = s * 1664525u + 1013904223u;
        double noise = (double)(s >> 8) * (1.0 / 16777216.0) * 2.0 - 1.0;
        x[i] = (float)(v + 0.05 * noise);
    }
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double urand(void) /* [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

static void test_mel_scale(void)
{
    CHECK_NEAR(vkr_hz_to_mel_slaney(0.0), 0.0, 1e-12);
    CHECK_NEAR(vkr_hz_to_mel_slaney(500.0), 7.5, 1e-12);    /* linear part: 3 f / 200 */
    CHECK_NEAR(vkr_hz_to_mel_slaney(1000.0), 15.0, 1e-12);  /* the break */
    CHECK_NEAR(vkr_hz_to_mel_slaney(6400.0), 42.0, 1e-12);  /* 15 + 27: one factor 6.4 */
    CHECK_NEAR(vkr_hz_to_mel_slaney(8000.0), 15.0 + 27.0 * log(8.0) / log(6.4), 1e-12);
    for (double f = 1.0; f < 20000.0; f *= 1.37)
        CHECK_NEAR(vkr_mel_to_hz_slaney(vkr_hz_to_mel_slaney(f)), f, 1e-9 * f);
}

static void test_filterbank(void)
{
    vkr_mel_config cfg = vkr_mel_config_audioldm();
    const int nm = 64, nb = 513;
    float *fb = malloc(sizeof(float) * nm * nb);
    unsigned char *seen = calloc((size_t)nm * nb, 1);
    CHECK_EQ_INT(vkr_mel_filterbank(&cfg, fb), 0);
    FILE *f = fopen(FB_REF, "r");
    CHECK(f != NULL, "cannot open %s (run from the repository root)", FB_REF);
    if (!f)
        goto out;
    char line[256];
    int rows = 0, cols = 0, nonzero = -1, n_read = 0, bad = 0;
    double sum = 0, sumsq = 0, indexsum = 0, max_err = 0;
    while (fgets(line, sizeof line, f)) {
        int b, k;
        double v;
        if (line[0] == '#')
            continue;
        if (sscanf(line, "shape %d %d", &rows, &cols) == 2 || sscanf(line, "nonzero %d", &nonzero) == 1 ||
            sscanf(line, "sum %lf", &sum) == 1 || sscanf(line, "sumsq %lf", &sumsq) == 1 ||
            sscanf(line, "indexsum %lf", &indexsum) == 1)
            continue;
        if (sscanf(line, "%d %d %lf", &b, &k, &v) != 3 || b < 0 || b >= nm || k < 0 || k >= nb) {
            CHECK(0, "bad line in %s: %s", FB_REF, line);
            break;
        }
        n_read++;
        seen[b * nb + k] = 1;
        double err = fabs(fb[b * nb + k] - v);
        if (err > max_err)
            max_err = err;
        if (err > 1e-9 + 1e-6 * fabs(v) && bad++ < 10)
            CHECK(0, "fb[%d][%d] = %.10e, expected %.10e", b, k, fb[b * nb + k], v);
    }
    fclose(f);
    CHECK_EQ_INT(rows, nm);
    CHECK_EQ_INT(cols, nb);
    CHECK_EQ_INT(n_read, nonzero);
    for (int i = 0; i < nm * nb; i++)
        if (!seen[i] && fb[i] != 0.0f && bad++ < 10)
            CHECK(0, "fb[%d][%d] = %g, expected 0", i / nb, i % nb, fb[i]);
    double s = 0, s2 = 0, si = 0;
    for (int i = 0; i < nm * nb; i++) {
        s += fb[i];
        s2 += (double)fb[i] * fb[i];
        si += (double)fb[i] * (i + 1);
    }
    CHECK_NEAR(s, sum, 1e-6 * sum);
    CHECK_NEAR(s2, sumsq, 1e-6 * sumsq);
    CHECK_NEAR(si, indexsum, 1e-6 * indexsum);
    printf("filterbank: %d non-zero weights, max |diff| vs numpy %.3g\n", n_read, max_err);
    /* Spot values by hand: band 0 spans mel edges 0 .. 2*45.2456/65 (in Hz, 0 .. 92.80);
     * bin 1 (15.625 Hz) is on its rising edge: 15.625 / 46.40 * 2 / 92.80. */
    double m8k = vkr_hz_to_mel_slaney(8000.0);
    double e1 = vkr_mel_to_hz_slaney(m8k / 65), e2 = vkr_mel_to_hz_slaney(2 * m8k / 65);
    CHECK_NEAR(fb[1], 15.625 / e1 * 2.0 / e2, 1e-9);
    CHECK_NEAR(fb[0], 0.0, 0.0);       /* DC: every band starts at or above 0 Hz */
    CHECK_NEAR(fb[63 * nb + 512], 0.0, 0.0); /* Nyquist = fmax: the top band's end */
out:
    free(fb);
    free(seen);
}

/* Direct DFT in double of the framed signal, independent of FFTW. */
static void check_stft_against_dft(const vkr_stft_config *cfg, int n, const char *what)
{
    vkr_stft *s = NULL;
    CHECK_EQ_INT(vkr_stft_create(cfg, &s), 0);
    if (!s)
        return;
    const int N = cfg->n_fft, nb = N / 2 + 1, pad = cfg->center ? N / 2 : 0;
    float *x = malloc(sizeof(float) * n);
    for (int i = 0; i < n; i++)
        x[i] = (float)urand();
    int64_t frames = vkr_stft_n_frames(s, n);
    float *spec = malloc(sizeof(float) * 2 * (frames ? frames : 1) * nb);
    float *mag = malloc(sizeof(float) * (frames ? frames : 1) * nb);
    CHECK_EQ_INT(vkr_stft_forward(s, x, n, spec), 0);
    CHECK_EQ_INT(vkr_stft_magnitude(s, x, n, mag), 0);
    /* Padded signal built the numpy way: reflect without repeating the edge. */
    int plen = n + 2 * pad;
    double *xp = malloc(sizeof(double) * plen);
    for (int i = 0; i < plen; i++) {
        int j = i - pad;
        if (j < 0)
            j = -j;
        if (j >= n)
            j = 2 * (n - 1) - j;
        xp[i] = x[j];
    }
    double *win = calloc(N, sizeof(double)), *cs = malloc(sizeof(double) * N), *sn = malloc(sizeof(double) * N);
    for (int m = 0; m < cfg->win_length; m++)
        win[(N - cfg->win_length) / 2 + m] = 0.5 - 0.5 * cos(2 * M_PI * m / cfg->win_length);
    for (int m = 0; m < N; m++) {
        cs[m] = cos(2 * M_PI * m / N);
        sn[m] = sin(2 * M_PI * m / N);
    }
    double max_err = 0, max_mag = 0;
    int bad = 0;
    for (int64_t t = 0; t < frames; t++) {
        for (int k = 0; k < nb; k++) {
            double re = 0, im = 0;
            for (int m = 0; m < N; m++) {
                double v = win[m] * xp[t * cfg->hop + m];
                int p = (int)(((int64_t)k * m) % N);
                re += v * cs[p];
                im -= v * sn[p];
            }
            const float *got = spec + (t * nb + k) * 2;
            double err = fmax(fabs(got[0] - re), fabs(got[1] - im));
            double merr = fabs(mag[t * nb + k] - hypot(re, im));
            if (merr > err)
                err = merr;
            if (err > max_err)
                max_err = err;
            if (hypot(re, im) > max_mag)
                max_mag = hypot(re, im);
            /* float32 FFT of unit-range noise: measured <= 4.4e-6 at n_fft 1024. */
            if (err > 3e-5 && bad++ < 5)
                CHECK(0, "%s: frame %lld bin %d: got (%g, %g) |%g|, expected (%g, %g)", what,
                      (long long)t, k, got[0], got[1], mag[t * nb + k], re, im);
        }
    }
    CHECK(bad == 0, "%s: %d bins out of tolerance", what, bad);
    printf("stft %s: %lld frames x %d bins, max |diff| vs double DFT %.3g (max |X| %.3g)\n", what,
           (long long)frames, nb, max_err, max_mag);
    free(x);
    free(spec);
    free(mag);
    free(xp);
    free(win);
    free(cs);
    free(sn);
    vkr_stft_free(s);
}

static void test_stft(void)
{
    vkr_stft_config audioldm = {.n_fft = 1024, .hop = 160, .win_length = 1024, .center = 1};
    check_stft_against_dft(&audioldm, 1000, "audioldm");
    vkr_stft_config small = {.n_fft = 64, .hop = 20, .win_length = 48, .center = 1};
    check_stft_against_dft(&small, 203, "n_fft64/win48/center");
    vkr_stft_config nocenter = {.n_fft = 64, .hop = 20, .win_length = 64, .center = 0};
    check_stft_against_dft(&nocenter, 203, "n_fft64/nocenter");

    /* A single sample: every padded sample is x[0], so the frame is x0 * Hann, whose
     * spectrum is x0 * N/2 at DC, -x0 * N/4 at bin 1 and zero elsewhere. */
    vkr_stft *s = NULL;
    CHECK_EQ_INT(vkr_stft_create(&audioldm, &s), 0);
    float one = 0.25f, spec[513 * 2];
    CHECK_EQ_INT(vkr_stft_n_frames(s, 1), 1);
    CHECK_EQ_INT(vkr_stft_forward(s, &one, 1, spec), 0);
    CHECK_NEAR(spec[0], 0.25 * 512, 1e-3);
    CHECK_NEAR(spec[2], -0.25 * 256, 1e-3);
    CHECK_NEAR(spec[3], 0.0, 1e-3);
    double rest = 0;
    for (int k = 2; k < 513; k++)
        rest = fmax(rest, hypot(spec[2 * k], spec[2 * k + 1]));
    CHECK(rest < 1e-3, "single sample: magnitude %g above bin 1", rest);
    CHECK(vkr_stft_forward(s, &one, 0, spec) == VKR_E_DATA, "empty signal accepted");

    /* Round trip: ISTFT(STFT(x)) == x (COLA not needed: window-sum division). */
    int n = 4000;
    float *x = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n);
    float *X = malloc(sizeof(float) * 2 * 513 * vkr_stft_n_frames(s, n));
    for (int i = 0; i < n; i++)
        x[i] = (float)urand();
    CHECK_EQ_INT(vkr_stft_forward(s, x, n, X), 0);
    CHECK_EQ_INT(vkr_istft(s, X, vkr_stft_n_frames(s, n), y, n), 0);
    double max_err = 0;
    for (int i = 0; i < n; i++)
        max_err = fmax(max_err, fabs(x[i] - y[i]));
    CHECK(max_err < 1e-5, "istft(stft(x)) max |diff| %g", max_err);
    printf("istft(stft(x)) on %d samples: max |diff| %.3g\n", n, max_err);
    free(x);
    free(y);
    free(X);
    vkr_stft_free(s);
}

/* Every case of the reference file: "samples N frames F mels 64" then F rows. */
static void test_logmel_reference(void)
{
    FILE *f = fopen(LOGMEL_REF, "r");
    CHECK(f != NULL, "cannot open %s", LOGMEL_REF);
    if (!f)
        return;
    vkr_mel_config cfg = vkr_mel_config_audioldm();
    vkr_mel *m = NULL;
    CHECK_EQ_INT(vkr_mel_create(&cfg, &m), 0);
    char line[256];
    int cases = 0;
    while (m && fgets(line, sizeof line, f)) {
        int n = 0, frames = 0, mels = 0;
        if (line[0] == '#')
            continue;
        if (sscanf(line, "samples %d frames %d mels %d", &n, &frames, &mels) != 3 || mels != 64 ||
            n <= 0 || n >= 100000 || frames <= 0 || frames > 1000) {
            CHECK(0, "bad case header in %s: %s", LOGMEL_REF, line);
            break;
        }
        float *ref = malloc(sizeof(float) * frames * 64);
        int ok = 1;
        for (int i = 0; ok && i < frames * 64; i++)
            ok = fscanf(f, "%f", &ref[i]) == 1;
        CHECK(ok, "case %d samples: short reference", n);
        if (fgets(line, sizeof line, f) == NULL) /* rest of the last row */
            line[0] = 0;
        float *x = malloc(sizeof(float) * n), *out = malloc(sizeof(float) * frames * 64);
        make_signal(x, n);
        CHECK_EQ_INT(vkr_mel_n_frames(m, n), frames);
        CHECK_EQ_INT(vkr_mel_log_spectrogram(m, x, n, out), 0);
        /* Log error, except in bins so far below the loudest that float32 FFT
         * rounding (relative to the frame's peak) dominates: there the linear
         * mel error must stay under 1e-6 of the case's largest mel value (this
         * matters for the strongly periodic 17-sample case). */
        double max_err = 0, sum_err = 0, top = 0;
        int bad = 0;
        for (int i = 0; ok && i < frames * 64; i++)
            top = fmax(top, exp(ref[i]));
        for (int i = 0; ok && i < frames * 64; i++) {
            double err = fabs(out[i] - ref[i]);
            double lin = fabs(exp(out[i]) - exp(ref[i]));
            max_err = fmax(max_err, err);
            sum_err += err;
            if (err > 1e-4 && lin > 1e-6 * top && bad++ < 5)
                CHECK(0, "%d samples: logmel[frame %d][mel %d] = %.7g, expected %.7g", n, i / 64,
                      i % 64, out[i], ref[i]);
        }
        printf("log-mel of %d samples vs numpy reference (%d x 64): max |diff| %.3g, mean %.3g\n",
               n, frames, max_err, sum_err / (frames * 64));
        cases++;
        free(ref);
        free(x);
        free(out);
    }
    CHECK(cases >= 4, "only %d reference cases", cases);
    fclose(f);
    vkr_mel_free(m);
}

/* A sine exactly at FFT bin k lands in the band whose centre is nearest. */
static void test_sine_band(void)
{
    vkr_mel_config cfg = vkr_mel_config_audioldm();
    vkr_mel *m = NULL;
    CHECK_EQ_INT(vkr_mel_create(&cfg, &m), 0);
    const int n = 8000;
    float *x = malloc(sizeof(float) * n), *lm = malloc(sizeof(float) * 64 * (1 + n / 160));
    const int bins[] = {6, 13, 40, 64, 100, 201, 333, 450, 500};
    double mel_top = vkr_hz_to_mel_slaney(8000.0);
    for (size_t i = 0; i < sizeof bins / sizeof bins[0]; i++) {
        double f = bins[i] * 16000.0 / 1024.0;
        for (int j = 0; j < n; j++)
            x[j] = (float)(0.5 * sin(2 * M_PI * f * j / 16000.0));
        CHECK_EQ_INT(vkr_mel_log_spectrogram(m, x, n, lm), 0);
        const float *row = lm + 25 * 64; /* a frame far from both ends */
        int best = 0;
        for (int b = 1; b < 64; b++)
            if (row[b] > row[best])
                best = b;
        int nearest = 0;
        double dn = 1e9;
        for (int b = 0; b < 64; b++) {
            double centre = vkr_mel_to_hz_slaney((b + 1) * mel_top / 65.0);
            if (fabs(centre - f) < dn) {
                dn = fabs(centre - f);
                nearest = b;
            }
        }
        CHECK(best == nearest, "sine %.3f Hz (bin %d): loudest band %d, nearest centre band %d",
              f, bins[i], best, nearest);
    }
    free(x);
    free(lm);
    vkr_mel_free(m);
}

static void test_frame_count(void)
{
    vkr_mel_config cfg = vkr_mel_config_audioldm();
    vkr_mel *m = NULL;
    CHECK_EQ_INT(vkr_mel_create(&cfg, &m), 0);
    const int lens[] = {1, 2, 159, 160, 161, 319, 320, 513, 1023, 1024, 4160, 16000, 16001, 163840};
    float *x = calloc(163840, sizeof(float));
    float *lm = malloc(sizeof(float) * 64 * (1 + 163840 / 160));
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        CHECK_EQ_INT(vkr_mel_n_frames(m, lens[i]), 1 + lens[i] / 160);
        CHECK_EQ_INT(vkr_mel_log_spectrogram(m, x, lens[i], lm), 0);
    }
    /* Silence hits the floor exactly: ln(1e-5). */
    CHECK_NEAR(lm[0], log(1e-5), 1e-6);
    /* AudioLDM's pipeline check: 10.24 s = 163840 samples -> 1025 frames. */
    CHECK_EQ_INT(vkr_mel_n_frames(m, 163840), 1025);
    free(x);
    free(lm);
    vkr_mel_free(m);
}

/* Plan creation from several threads at once (the FFTW planner is not
 * thread-safe; the cache serialises it), then each thread checks a round trip. */
static void *thread_body(void *arg)
{
    int n_fft = *(int *)arg;
    vkr_stft_config c = {.n_fft = n_fft, .hop = n_fft / 4, .win_length = n_fft, .center = 1};
    vkr_stft *s = NULL;
    long ok = 0;
    if (vkr_stft_create(&c, &s) == 0) {
        int n = 4 * n_fft;
        float *x = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n);
        float *X = malloc(sizeof(float) * 2 * (n_fft / 2 + 1) * vkr_stft_n_frames(s, n));
        for (int i = 0; i < n; i++)
            x[i] = (float)sin(i * 0.37 + n_fft);
        ok = vkr_stft_forward(s, x, n, X) == 0 && vkr_istft(s, X, vkr_stft_n_frames(s, n), y, n) == 0;
        for (int i = 0; ok && i < n; i++)
            ok = fabs(x[i] - y[i]) < 1e-4;
        free(x);
        free(y);
        free(X);
        vkr_stft_free(s);
    }
    return (void *)ok;
}

static void test_threads(void)
{
    enum { T = 8 };
    pthread_t th[T];
    int sizes[T] = {256, 512, 2048, 4096, 256, 512, 2048, 4096};
    for (int i = 0; i < T; i++)
        CHECK_EQ_INT(pthread_create(&th[i], NULL, thread_body, &sizes[i]), 0);
    for (int i = 0; i < T; i++) {
        void *ret = NULL;
        pthread_join(th[i], &ret);
        CHECK(ret == (void *)1, "thread %d (n_fft %d) failed", i, sizes[i]);
    }
}

int main(void)
{
    test_threads();
    test_mel_scale();
    test_filterbank();
    test_stft();
    test_logmel_reference();
    test_sine_band();
    test_frame_count();
    return check_summary("test_mel");
}
