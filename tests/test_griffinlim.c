/* Griffin-Lim vocoder: mel inversion residual, phase retrieval on an exact
 * magnitude, and the full log-mel -> waveform -> log-mel round trip, with the
 * measured bounds asserted (docs/audio.md quotes them). */
#include "audio/griffinlim.h"
#include "audio/mel.h"
#include "common/status.h"
#include "tests/check.h"

#include <stdint.h>
#include <stdlib.h>

#define SR 16000
#define NEPER_TO_DB (20.0 / M_LN10) /* 1 unit of natural-log magnitude in dB */

/* 1 s test scene: a 220 Hz harmonic tone with vibrato, a rising chirp, and a
 * noise burst with a decaying envelope (deterministic LCG). */
static void make_scene(float *x, int n)
{
    uint32_t s = 777;
    for (int i = 0; i < n; i++) {
        double t = (double)i / SR;
        double ph = 2 * M_PI * 220.0 * t + 3.0 * sin(2 * M_PI * 5.0 * t);
        double v = 0.0;
        for (int h = 1; h <= 6; h++)
            v += 0.3 / h * sin(h * ph);
        v += 0.15 * sin(2 * M_PI * (300.0 * t + 2000.0 * t * t));
        s = s * 1664525u + 1013904223u;
        double noise = (double)(s >> 8) * (1.0 / 16777216.0) * 2.0 - 1.0;
        double env = t > 0.5 ? exp(-(t - 0.5) * 8.0) : 0.0;
        x[i] = (float)(v + 0.3 * env * noise);
    }
}

static double mean_abs_diff(const float *a, const float *b, size_t n, double *max_out)
{
    double sum = 0, mx = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        sum += d;
        mx = fmax(mx, d);
    }
    if (max_out)
        *max_out = mx;
    return sum / n;
}

int main(void)
{
    vkr_mel_config mc = vkr_mel_config_audioldm();
    vkr_mel *m = NULL;
    CHECK_EQ_INT(vkr_mel_create(&mc, &m), 0);
    if (!m)
        return check_summary("test_griffinlim");
    const vkr_stft *st = vkr_mel_stft(m);
    const int n = SR, nb = 513, nm = 64;
    const int64_t frames = vkr_mel_n_frames(m, n); /* 101 */
    float *x = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * (frames * 160));
    float *y2 = malloc(sizeof(float) * (frames * 160));
    float *lm = malloc(sizeof(float) * frames * nm), *lm2 = malloc(sizeof(float) * frames * nm);
    float *mag = malloc(sizeof(float) * frames * nb), *mag_inv = malloc(sizeof(float) * frames * nb);
    float *mag2 = malloc(sizeof(float) * frames * nb);
    make_scene(x, n);
    CHECK_EQ_INT(vkr_mel_log_spectrogram(m, x, n, lm), 0);
    CHECK_EQ_INT(vkr_stft_magnitude(st, x, n, mag), 0);

    /* 1. Mel inversion: fb . mag_inv reproduces the mel it came from. */
    double mx, err0, err;
    CHECK_EQ_INT(vkr_mel_to_magnitude(m, lm, frames, 0, mag_inv), 0);
    vkr_mel_from_magnitude(m, mag_inv, frames, lm2);
    err0 = mean_abs_diff(lm, lm2, (size_t)frames * nm, NULL);
    CHECK_EQ_INT(vkr_mel_to_magnitude(m, lm, frames, 64, mag_inv), 0);
    int negative = 0;
    for (int64_t i = 0; i < frames * nb; i++)
        negative += !(mag_inv[i] >= 0.0f);
    CHECK_EQ_INT(negative, 0);
    vkr_mel_from_magnitude(m, mag_inv, frames, lm2);
    err = mean_abs_diff(lm, lm2, (size_t)frames * nm, &mx);
    printf("mel inversion: log-mel mean |err| %.3g dB after pinv+clamp, %.3g dB (max %.3g dB) "
           "after 64 KL updates\n", err0 * NEPER_TO_DB, err * NEPER_TO_DB, mx * NEPER_TO_DB);
    CHECK(err * NEPER_TO_DB < 0.01, "mel inversion mean error %.4f dB", err * NEPER_TO_DB);
    CHECK(mx * NEPER_TO_DB < 0.5, "mel inversion max error %.4f dB", mx * NEPER_TO_DB);
    CHECK(err <= err0, "KL updates made the inversion worse: %g > %g", err, err0);

    /* 2. Phase retrieval on the exact magnitude: spectral convergence
     * || |STFT(y)| - S ||_F / || S ||_F. */
    vkr_griffinlim_config gc = vkr_griffinlim_config_default();
    double sc[2];
    for (int pass = 0; pass < 2; pass++) {
        vkr_griffinlim_config c = gc;
        c.n_iter = pass ? gc.n_iter : 0;
        CHECK_EQ_INT(vkr_griffinlim(st, mag, frames, &c, y, n), 0);
        CHECK_EQ_INT(vkr_stft_magnitude(st, y, n, mag2), 0);
        double num = 0, den = 0;
        for (int64_t i = 0; i < frames * nb; i++) {
            num += ((double)mag2[i] - mag[i]) * ((double)mag2[i] - mag[i]);
            den += (double)mag[i] * mag[i];
        }
        sc[pass] = sqrt(num / den);
    }
    printf("griffin-lim on the exact |STFT|: spectral convergence %.4f (random phase) -> %.4f "
           "(%d iterations, momentum %.2f)\n", sc[0], sc[1], gc.n_iter, gc.momentum);
    CHECK(sc[1] < 0.15, "spectral convergence %.4f", sc[1]);
    CHECK(sc[1] < 0.5 * sc[0], "Griffin-Lim did not converge: %.4f vs %.4f", sc[1], sc[0]);

    /* 3. The vocoder round trip: log-mel -> waveform (frames * hop samples, as
     * HiFi-GAN) -> log-mel. Frames past the input's end are compared too. */
    const int64_t n_out = frames * 160;
    CHECK_EQ_INT(vkr_griffinlim_vocode(m, lm, frames, &gc, y, n_out), 0);
    CHECK_EQ_INT(vkr_mel_n_frames(m, n_out), frames + 1);
    float *lm3 = malloc(sizeof(float) * (frames + 1) * nm);
    CHECK_EQ_INT(vkr_mel_log_spectrogram(m, y, n_out, lm3), 0);
    err = mean_abs_diff(lm, lm3, (size_t)frames * nm, &mx);
    double peak = 0;
    for (int64_t i = 0; i < n_out; i++)
        peak = fmax(peak, fabs(y[i]));
    /* GL's residual inconsistency is a noise floor: it dominates bands far below
     * the loudest one, so the error is also reported for bands within 40 dB of it. */
    float top = lm[0];
    for (int64_t i = 0; i < frames * nm; i++)
        top = fmaxf(top, lm[i]);
    double loud_sum = 0;
    int loud_n = 0;
    for (int64_t i = 0; i < frames * nm; i++)
        if ((top - lm[i]) * NEPER_TO_DB <= 40.0) {
            loud_sum += fabs((double)lm[i] - lm3[i]);
            loud_n++;
        }
    double loud = loud_sum / (loud_n ? loud_n : 1) * NEPER_TO_DB;
    printf("vocoder round trip (%lld frames): log-mel mean |err| %.3f dB (all bins), %.3f dB (%d "
           "bins within 40 dB of the loudest), max %.1f dB; output peak %.3f\n", (long long)frames,
           err * NEPER_TO_DB, loud, loud_n, mx * NEPER_TO_DB, peak);
    CHECK(err * NEPER_TO_DB < 2.5, "round-trip mean log-mel error %.3f dB", err * NEPER_TO_DB);
    CHECK(loud < 1.2, "round-trip mean log-mel error within 40 dB of peak %.3f dB", loud);
    CHECK(loud_n > frames * nm / 4, "only %d loud bins", loud_n);
    CHECK(peak > 0.3 && peak < 1.5, "output peak %g (input peak about 0.9)", peak);

    /* 4. Deterministic for a seed; a different seed gives different phases. */
    CHECK_EQ_INT(vkr_griffinlim_vocode(m, lm, frames, &gc, y2, n_out), 0);
    CHECK(memcmp(y, y2, sizeof(float) * n_out) == 0, "same seed, different output");
    gc.seed = 1;
    CHECK_EQ_INT(vkr_griffinlim_vocode(m, lm, frames, &gc, y2, n_out), 0);
    CHECK(memcmp(y, y2, sizeof(float) * n_out) != 0, "seed ignored");

    /* 5. Bad arguments. */
    CHECK(vkr_griffinlim_vocode(m, lm, 0, &gc, y2, n_out) == VKR_E_USAGE, "0 frames accepted");

    free(x);
    free(y);
    free(y2);
    free(lm);
    free(lm2);
    free(lm3);
    free(mag);
    free(mag_inv);
    free(mag2);
    vkr_mel_free(m);
    return check_summary("test_griffinlim");
}
