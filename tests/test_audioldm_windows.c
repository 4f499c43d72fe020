/* Long audio in AudioLDM (pipeline/audioldm.h): the latent is denoised as
 * overlapping windows whose guided noise predictions are blended at every
 * step (MultiDiffusion), then decoded whole. On the tiny golden model
 * (tests/golden/pipeline_audioldm), f32, 3 DDIM steps, 0.64 s = 16 latent
 * frames, windows of 8 latent frames (0.325 s) overlapping by 4 (0.165 s):
 *   (a) a window at least as long as the audio reproduces the plain pipeline
 *       bit for bit (the 10.24 s default, and a window of exactly the clip);
 *   (b) the clip runs as 3 windows whose weights partition unity, and every
 *       step reports progress;
 *   (c) no seam (docs/audioldm.md): with initial noise that is constant along
 *       time the right answer is stationary sound, so anything a window edge
 *       leaves behind stands out. Seam measure = spectral flux of the output
 *       waveform: F[f] = RMS over the 64 bands of logmel[f+1] - logmel[f]
 *       (AudioLDM's own log-mel, audio/mel.h, 10 ms frames). At every window
 *       edge, max F over the frames within +-2 of it must be <= 1.5 x the
 *       median of F over the whole clip. Control: the two halves generated
 *       separately and butted together must FAIL the same criterion.
 *       (The sample-domain criterion max|x[i+1]-x[i]| near an edge vs the
 *       clip's P99 is printed too; the random tiny model's audio is noise-like,
 *       so it cannot tell a butted seam from no seam; see the docs.)
 *   (d) with random noise the windowed waveform differs from the single-window
 *       one (the windows really ran) but stays close to it. */
#include "audio/mel.h"
#include "check.h"
#include "common/status.h"
#include "gpu/gpu.h"
#include "pipeline/audioldm.h"
#include "sched/noise.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CASE_DIR "tests/golden/pipeline_audioldm"
#define SEAM_K 1.5     /* edge flux / median flux bound */
#define SEAM_FRAMES 2  /* +- log-mel frames around an edge */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* q-quantile of v[0..n) (copied, sorted). */
static double quantile(const double *v, int64_t n, double q)
{
    double *s = malloc((size_t)n * sizeof *s);
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double r = s[(int64_t)(q * (double)(n - 1))];
    free(s);
    return r;
}

/* Worst (max flux within +-SEAM_FRAMES of an edge) / median flux over the
 * edges (in samples); *flux_out (optional) gets the worst edge flux. */
static double flux_seam_ratio(const vkr_mel *m, const float *x, int64_t n, const int64_t *edges, int n_edges)
{
    const int64_t nf = vkr_mel_n_frames(m, n), hop = vkr_mel_get_config(m)->hop;
    const int nb = vkr_mel_get_config(m)->n_mels;
    float *lm = malloc((size_t)(nf * nb) * sizeof *lm);
    double *flux = malloc((size_t)nf * sizeof *flux);
    double worst = -1;
    if (vkr_mel_log_spectrogram(m, x, n, lm) == 0) {
        for (int64_t f = 0; f + 1 < nf; f++) {
            double s = 0;
            for (int b = 0; b < nb; b++) {
                double d = (double)lm[(f + 1) * nb + b] - lm[f * nb + b];
                s += d * d;
            }
            flux[f] = sqrt(s / nb);
        }
        const double med = quantile(flux, nf - 1, 0.5);
        for (int e = 0; e < n_edges; e++) {
            const int64_t fe = edges[e] / hop; /* frame f is centred on sample f * hop */
            for (int64_t f = fe - SEAM_FRAMES - 1; f <= fe + SEAM_FRAMES; f++)
                if (f >= 0 && f + 1 < nf)
                    worst = fmax(worst, flux[f] / med);
        }
    }
    free(lm), free(flux);
    return worst;
}

/* Sample domain, informative: max |x[i+1] - x[i]| within +-half of an edge / P99 over the clip. */
static double step_seam_ratio(const float *x, int64_t n, const int64_t *edges, int n_edges, int64_t half)
{
    double *d = malloc((size_t)(n - 1) * sizeof *d), worst = 0;
    for (int64_t i = 0; i + 1 < n; i++)
        d[i] = fabs((double)x[i + 1] - x[i]);
    const double p99 = quantile(d, n - 1, 0.99);
    for (int e = 0; e < n_edges; e++)
        for (int64_t i = edges[e] - half; i < edges[e] + half; i++)
            if (i >= 0 && i + 1 < n)
                worst = fmax(worst, d[i] / p99);
    free(d);
    return worst;
}

static int steps_seen;
static void on_progress(void *ctx, int step, int n_steps)
{
    (void)ctx;
    if (step == steps_seen + 1 && n_steps == 3)
        steps_seen = step;
}

static int run(vkr_gpu *gpu, const vkr_audioldm *p, vkr_audioldm_params *prm, vkr_audioldm_output *o,
               const char *what)
{
    double t0 = now_s();
    steps_seen = 0;
    int rc = vkr_audioldm_run(gpu, p, prm, o);
    CHECK(rc == 0, "%s: %s", what, vkr_last_error());
    if (!rc)
        printf("  %-36s %lld window(s), %.2f s\n", what, (long long)o->n_windows, now_s() - t0);
    return rc;
}

int main(void)
{
    vkr_gpu *gpu = NULL;
    vkr_audioldm *p = NULL;
    vkr_mel *mel = NULL;
    vkr_audioldm_output plain = {0}, exact = {0}, win = {0}, cplain = {0}, cwin = {0}, half[2] = {{0}};
    vkr_audioldm_windows plan = {0};
    float *noise = NULL, *cnoise = NULL, *hnoise = NULL, *butt = NULL;
    vkr_mel_config mc = vkr_mel_config_audioldm();
    int rc = vkr_mel_create(&mc, &mel);
    CHECK(rc == 0, "mel: %s", vkr_last_error());
    rc = rc ? rc : vkr_gpu_create(NULL, &gpu);
    CHECK(rc == 0, "no Vulkan device: %s", vkr_last_error());
    rc = rc ? rc : vkr_audioldm_load(gpu, CASE_DIR, VKR_F32, &p);
    CHECK(rc == 0, "load %s: %s", CASE_DIR, vkr_last_error());
    if (rc)
        goto done;

    const double seconds = 0.64;
    vkr_audioldm_geometry g;
    CHECK_EQ_INT(vkr_audioldm_get_geometry(p, seconds, &g), 0);
    CHECK_EQ_INT(g.latent_frames, 16);
    const int64_t T = g.latent_frames, C = g.latent_channels, M = g.latent_bins;
    const size_t n = (size_t)(C * T * M);
    noise = malloc(n * sizeof *noise), cnoise = malloc(n * sizeof *cnoise);
    vkr_noise_normal(7, 0, 0, noise, n);
    for (int64_t c = 0; c < C; c++) /* constant along time: frame 0 of the random noise everywhere */
        for (int64_t t = 0; t < T; t++)
            memcpy(cnoise + (size_t)((c * T + t) * M), noise + (size_t)(c * T * M), (size_t)M * sizeof *cnoise);

    vkr_audioldm_params prm = vkr_audioldm_default_params();
    prm.prompt = "rain on a tin roof";
    prm.negative_prompt = "low quality";
    prm.audio_length_in_s = seconds;
    prm.num_inference_steps = 3;
    prm.guidance_scale = 2.5f;
    prm.latents = noise;
    prm.progress = on_progress;

    /* (a) windows that cover the clip: the plain pipeline, bit for bit */
    if (run(gpu, p, &prm, &plain, "random noise, default window 10.24 s"))
        goto done;
    CHECK_EQ_INT(plain.n_windows, 1);
    CHECK_EQ_INT(steps_seen, 3);
    prm.window_s = seconds; /* exactly the clip's 16 latent frames */
    prm.window_overlap_s = 0.165;
    if (run(gpu, p, &prm, &exact, "random noise, window = clip"))
        goto done;
    CHECK_EQ_INT(exact.n_windows, 1);
    CHECK(exact.n_samples == plain.n_samples &&
              memcmp(exact.waveform, plain.waveform, (size_t)plain.n_samples * sizeof(float)) == 0 &&
              memcmp(exact.latents_after_step[2], plain.latents_after_step[2], n * sizeof(float)) == 0,
          "window = clip length: output differs from the plain run");

    /* (b) 8-frame windows (0.325 s -> 32 mel -> 8 latent) overlapping by 4 (0.165 s -> 16 mel -> 4) */
    prm.window_s = 0.325;
    int64_t wl = 0, wo = 0;
    CHECK_EQ_INT(vkr_audioldm_window_frames(p, &prm, &wl, &wo), 0);
    CHECK(wl == 8 && wo == 4, "window %lld / overlap %lld, want 8 / 4", (long long)wl, (long long)wo);
    CHECK_EQ_INT(vkr_audioldm_window_plan(T, wl, wo, &plan), 0);
    CHECK_EQ_INT(plan.n_windows, 3);
    for (int64_t t = 0; t < T && plan.weight; t++) {
        double s = 0;
        for (int64_t k = 0; k < plan.n_windows; k++)
            if (t >= plan.start[k] && t < plan.start[k] + plan.window)
                s += plan.weight[k * plan.window + t - plan.start[k]];
        CHECK(fabs(s - 1.0) <= 1e-6, "frame %lld: window weights sum to %.9g", (long long)t, s);
    }
    if (run(gpu, p, &prm, &win, "random noise, 3 windows of 8 (4 overlap)"))
        goto done;
    CHECK_EQ_INT(win.n_windows, 3);
    CHECK_EQ_INT(steps_seen, 3);
    CHECK_EQ_INT(win.n_samples, plain.n_samples);

    /* (d) the windows ran, and stayed near the single-window result */
    double num = 0, den = 0;
    for (int64_t i = 0; i < plain.n_samples; i++) {
        double d = (double)win.waveform[i] - plain.waveform[i];
        num += d * d, den += (double)plain.waveform[i] * plain.waveform[i];
    }
    printf("  windowed vs single window (random noise): waveform rel_l2 %.3g\n", sqrt(num / den));
    CHECK(sqrt(num / den) > 0 && sqrt(num / den) < 0.5, "windowed vs single window rel_l2 %.3g not in (0, 0.5)",
          sqrt(num / den));

    /* (c) seams: window edges at latent frames 4, 8, 12 -> samples x (vae scale 4 x prod(upsample_rates) 160) */
    const int64_t per_latent = (g.mel_frames / T) * 160;
    int64_t edges[8];
    int n_edges = 0;
    for (int64_t k = 0; k < plan.n_windows; k++) {
        const int64_t cand[2] = {plan.start[k], plan.start[k] + plan.window};
        for (int j = 0; j < 2; j++) {
            int dup = cand[j] <= 0 || cand[j] >= T;
            for (int e = 0; e < n_edges; e++)
                dup |= edges[e] == cand[j] * per_latent;
            if (!dup)
                edges[n_edges++] = cand[j] * per_latent;
        }
    }
    CHECK_EQ_INT(n_edges, 3);
    prm.latents = cnoise;
    prm.window_s = 0; /* default: one window */
    if (run(gpu, p, &prm, &cplain, "time-constant noise, one window"))
        goto done;
    prm.window_s = 0.325;
    if (run(gpu, p, &prm, &cwin, "time-constant noise, 3 windows"))
        goto done;
    /* control: the two 8-frame halves generated separately, waveforms butted */
    vkr_audioldm_params hp = prm;
    hp.window_s = 0, hp.window_overlap_s = 0, hp.audio_length_in_s = seconds / 2;
    hnoise = malloc(n / 2 * sizeof *hnoise);
    for (int h = 0; h < 2; h++) {
        for (int64_t c = 0; c < C; c++)
            memcpy(hnoise + (size_t)(c * (T / 2) * M), cnoise + (size_t)((c * T + h * (T / 2)) * M),
                   (size_t)((T / 2) * M) * sizeof *hnoise);
        hp.latents = hnoise;
        if (run(gpu, p, &hp, &half[h], h ? "control: second half alone" : "control: first half alone"))
            goto done;
    }
    const int64_t a = half[0].n_untrimmed, b = half[1].n_untrimmed;
    butt = malloc((size_t)(a + b) * sizeof *butt);
    memcpy(butt, half[0].waveform_untrimmed, (size_t)a * sizeof *butt);
    memcpy(butt + a, half[1].waveform_untrimmed, (size_t)b * sizeof *butt);
    const int64_t butt_edge = a;

    const double f_win = flux_seam_ratio(mel, cwin.waveform, cwin.n_samples, edges, n_edges);
    const double f_plain = flux_seam_ratio(mel, cplain.waveform, cplain.n_samples, edges, n_edges);
    const double f_butt = flux_seam_ratio(mel, butt, a + b, &butt_edge, 1);
    printf("  spectral-flux seam ratio (edge / median), bound %.2f: windowed %.3f, one window %.3f, "
           "butted halves %.3f\n", SEAM_K, f_win, f_plain, f_butt);
    CHECK(f_win > 0 && f_win <= SEAM_K, "windowed: spectral flux at a window edge is %.3f x the median > %.2f",
          f_win, SEAM_K);
    CHECK(f_butt > SEAM_K, "control: the criterion misses the butted seam (%.3f <= %.2f)", f_butt, SEAM_K);
    printf("  sample-step ratio (max |dx| within 640 samples of an edge / P99), informative: windowed %.3f, "
           "one window %.3f, butted %.3f (random-noise run: windowed %.3f, one window %.3f)\n",
           step_seam_ratio(cwin.waveform, cwin.n_samples, edges, n_edges, per_latent),
           step_seam_ratio(cplain.waveform, cplain.n_samples, edges, n_edges, per_latent),
           step_seam_ratio(butt, a + b, &butt_edge, 1, per_latent),
           step_seam_ratio(win.waveform, win.n_samples, edges, n_edges, per_latent),
           step_seam_ratio(plain.waveform, plain.n_samples, edges, n_edges, per_latent));
done:
    vkr_audioldm_output_free(&plain), vkr_audioldm_output_free(&exact), vkr_audioldm_output_free(&win);
    vkr_audioldm_output_free(&cplain), vkr_audioldm_output_free(&cwin);
    vkr_audioldm_output_free(&half[0]), vkr_audioldm_output_free(&half[1]);
    vkr_audioldm_windows_free(&plan);
    free(noise), free(cnoise), free(hnoise), free(butt);
    vkr_audioldm_free(p);
    vkr_mel_free(mel);
    if (gpu)
        vkr_gpu_destroy(gpu);
    return check_summary("test_audioldm_windows");
}
