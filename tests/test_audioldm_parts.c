/* AudioLDMPipeline stages (pipeline/audioldm.h) against the diffusers golden
 * case tests/golden/pipeline_audioldm, on the Vulkan engine in f32, without
 * the UNet (the end-to-end run is `vkreel golden tests/golden/pipeline_audioldm`
 * and tests/test_audioldm_windows.c):
 *   - duration arithmetic: 0.26 s -> 26 -> 28 mel frames, latent (8, 7, 16),
 *     orig_len 4160; 0.29 s -> 28.999.. -> 28 (truncation); the minimum length;
 *   - tokenization (cond to 512, the negative prompt to P = 32), attention
 *     masks and the L2-normalised CLAP embeddings [uncond; cond];
 *   - DDIM timesteps from the model's scheduler_config.json;
 *   - decode: out.latents_after_step_2 -> out.mel -> out.waveform_untrimmed ->
 *     out.waveform (HiFi-GAN), each within case.json's tolerances;
 *   - the Griffin-Lim vocoder on the same mel (length, finite, not silent, and
 *     its log-mel correlates with the mel it was made from);
 *   - the window plan's partition of unity. */
#include "audio/mel.h"
#include "check.h"
#include "common/status.h"
#include "gpu/gpu.h"
#include "model/safetensors.h"
#include "pipeline/audioldm.h"
#include "sched/sampler.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CASE_DIR "tests/golden/pipeline_audioldm"

static cJSON *read_json(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[1 << 17];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return cJSON_Parse(buf);
}

static double case_tol(const cJSON *root, const char *kind, const char *out)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "tolerance");
    const cJSON *k = t ? cJSON_GetObjectItemCaseSensitive(t, kind) : NULL;
    const cJSON *v = k ? cJSON_GetObjectItemCaseSensitive(k, out) : NULL;
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* Compares got (n floats) with io tensor `name` under the case's bounds. */
static void compare_f32(const cJSON *cj, const vkr_safetensors *io, const char *name, const float *got, int64_t n)
{
    char key[64];
    snprintf(key, sizeof key, "out.%s", name);
    int64_t n_ref = 0;
    float *ref = vkr_st_load_f32(io, key, &n_ref);
    CHECK(ref && n_ref == n, "%s: %lld values, reference %lld", key, (long long)n, (long long)n_ref);
    if (ref && n_ref == n) {
        double m = 0, num = 0, den = 0;
        int64_t worst = 0;
        for (int64_t i = 0; i < n; i++) {
            double d = fabs((double)got[i] - (double)ref[i]);
            if (!(d <= m))
                m = d, worst = i;
            num += d * d, den += (double)ref[i] * ref[i];
        }
        double rel = sqrt(num / den);
        double tm = case_tol(cj, "recommended_max_abs", name), tr = case_tol(cj, "recommended_rel_l2", name);
        printf("  %-22s max_abs %.3g (tol %.3g)  rel_l2 %.3g (tol %.3g)\n", key, m, tm, rel, tr);
        CHECK(tm > 0 && m <= tm, "%s: max_abs %.3g > %.3g at %lld (got %.9g, want %.9g)", key, m, tm,
              (long long)worst, got[worst], ref[worst]);
        CHECK(tr > 0 && rel <= tr, "%s: rel_l2 %.3g > %.3g", key, rel, tr);
    }
    free(ref);
}

static void compare_i64(const vkr_safetensors *io, const char *name, const int64_t *got, int64_t n)
{
    char key[64];
    snprintf(key, sizeof key, "out.%s", name);
    const vkr_st_tensor *t = vkr_st_find(io, key);
    CHECK(t && t->numel == n, "%s: %lld values, reference %lld", key, (long long)n, t ? (long long)t->numel : -1LL);
    if (!t || t->numel != n)
        return;
    int64_t *ref = malloc((size_t)n * sizeof *ref);
    CHECK(vkr_st_to_i64(t, ref) == 0, "%s: %s", key, vkr_last_error());
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < n; i++)
        if (got[i] != ref[i] && bad++ == 0)
            first = i;
    CHECK(bad == 0, "%s: %lld of %lld differ, first at %lld: got %lld, want %lld", key, (long long)bad, (long long)n,
          (long long)first, first >= 0 ? (long long)got[first] : 0LL, first >= 0 ? (long long)ref[first] : 0LL);
    free(ref);
}

static void test_geometry(const vkr_audioldm *p)
{
    vkr_audioldm_geometry g;
    CHECK_EQ_INT(vkr_audioldm_get_geometry(p, 0.26, &g), 0);
    CHECK_EQ_INT(g.mel_frames, 28); /* int(26.0) = 26, rounded up to a multiple of 4 */
    CHECK_EQ_INT(g.latent_channels, 8);
    CHECK_EQ_INT(g.latent_frames, 7);
    CHECK_EQ_INT(g.latent_bins, 16);
    CHECK_EQ_INT(g.orig_len, 4160);
    CHECK_EQ_INT(vkr_audioldm_get_geometry(p, 0.29, &g), 0);
    CHECK_EQ_INT(g.mel_frames, 28); /* 0.29 / 0.01 = 28.999999999999996 -> 28, already a multiple of 4 */
    CHECK_EQ_INT(g.latent_frames, 7);
    CHECK_EQ_INT(g.orig_len, 4640);
    CHECK_EQ_INT(vkr_audioldm_get_geometry(p, 0.30, &g), 0);
    CHECK_EQ_INT(g.mel_frames, 32); /* 30 -> 32 */
    CHECK_EQ_INT(vkr_audioldm_get_geometry(p, 10.24, &g), 0);
    CHECK_EQ_INT(g.mel_frames, 1024);
    CHECK_EQ_INT(g.latent_frames, 256);
    CHECK_EQ_INT(g.orig_len, 163840);
    /* minimum: vocoder_upsample_factor * vae_scale_factor = 0.04 s */
    CHECK_EQ_INT(vkr_audioldm_get_geometry(p, 0.04, &g), 0);
    CHECK_EQ_INT(g.mel_frames, 4);
    CHECK_EQ_INT(vkr_audioldm_get_geometry(p, 0.039, &g), VKR_E_USAGE);
    CHECK_EQ_INT(vkr_audioldm_get_geometry(p, NAN, &g), VKR_E_USAGE);
    CHECK_EQ_INT(vkr_audioldm_sampling_rate(p), 16000);
}

static void test_windows(void)
{
    static const int64_t cases[][3] = {{16, 8, 4}, {17, 8, 4}, {30, 8, 2}, {9, 8, 1}, {20, 8, 7},
                                       {1000, 256, 64}, {5, 8, 2}, {8, 8, 4}, {23, 6, 5}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const int64_t T = cases[c][0], W = cases[c][1], O = cases[c][2];
        vkr_audioldm_windows w;
        int rc = vkr_audioldm_window_plan(T, W, O, &w);
        CHECK(rc == 0, "plan(%lld, %lld, %lld): %s", (long long)T, (long long)W, (long long)O, vkr_last_error());
        if (rc)
            continue;
        if (T <= W) {
            CHECK(w.n_windows == 1 && w.window == T && w.start[0] == 0, "plan(%lld, %lld): one window of all",
                  (long long)T, (long long)W);
        } else {
            const int64_t stride = W - O;
            CHECK_EQ_INT(w.n_windows, (T - W + stride - 1) / stride + 1);
            CHECK(w.start[0] == 0 && w.start[w.n_windows - 1] + W == T, "plan(%lld, %lld, %lld): ends",
                  (long long)T, (long long)W, (long long)O);
        }
        double *sum = calloc((size_t)T, sizeof *sum);
        int *cover = calloc((size_t)T, sizeof *cover);
        int bad_range = 0;
        for (int64_t k = 0; k < w.n_windows; k++) {
            if (k > 0)
                CHECK(w.start[k] > w.start[k - 1] && w.start[k] < w.start[k - 1] + w.window,
                      "plan(%lld, %lld, %lld): window %lld does not overlap its predecessor", (long long)T,
                      (long long)W, (long long)O, (long long)k);
            for (int64_t t = 0; t < w.window; t++) {
                float v = w.weight[k * w.window + t];
                bad_range += !(v > 0.0f && v <= 1.0f);
                sum[w.start[k] + t] += v;
                cover[w.start[k] + t]++;
            }
        }
        double worst = 0;
        int bad_single = 0;
        for (int64_t t = 0; t < T; t++) {
            worst = fmax(worst, fabs(sum[t] - 1.0));
            bad_single += cover[t] == 1 && sum[t] != 1.0; /* frames one window owns keep its prediction exactly */
        }
        CHECK(bad_range == 0, "plan(%lld, %lld, %lld): %d weights outside (0, 1]", (long long)T, (long long)W,
              (long long)O, bad_range);
        CHECK(worst <= 1e-6, "plan(%lld, %lld, %lld): weights sum to 1 +- %.3g", (long long)T, (long long)W,
              (long long)O, worst);
        CHECK(bad_single == 0, "plan(%lld, %lld, %lld): %d single-window frames with weight != 1", (long long)T,
              (long long)W, (long long)O, bad_single);
        free(sum), free(cover);
        vkr_audioldm_windows_free(&w);
    }
    vkr_audioldm_windows w;
    CHECK_EQ_INT(vkr_audioldm_window_plan(16, 8, 8, &w), VKR_E_USAGE);
    CHECK_EQ_INT(vkr_audioldm_window_plan(16, 8, 0, &w), VKR_E_USAGE);
    CHECK_EQ_INT(vkr_audioldm_window_plan(0, 8, 2, &w), VKR_E_USAGE);
}

static void test_window_frames(const vkr_audioldm *p)
{
    vkr_audioldm_params prm = vkr_audioldm_default_params();
    int64_t win = 0, ov = 0;
    CHECK_EQ_INT(vkr_audioldm_window_frames(p, &prm, &win, &ov), 0);
    CHECK(win == 256 && ov == 64, "default window %lld / overlap %lld, want 256 / 64", (long long)win, (long long)ov);
    prm.window_s = 0.325, prm.window_overlap_s = 0.165; /* 32 mel = 8 latent frames, 16 mel -> 4 */
    CHECK_EQ_INT(vkr_audioldm_window_frames(p, &prm, &win, &ov), 0);
    CHECK(win == 8 && ov == 4, "window %lld / overlap %lld, want 8 / 4", (long long)win, (long long)ov);
    prm.window_overlap_s = 0.5;
    CHECK_EQ_INT(vkr_audioldm_window_frames(p, &prm, &win, &ov), VKR_E_USAGE);
}

int main(void)
{
    vkr_gpu *gpu = NULL;
    vkr_audioldm *p = NULL;
    vkr_safetensors io = {0};
    cJSON *cj = read_json(CASE_DIR "/case.json");
    CHECK(cj != NULL, "cannot read %s/case.json", CASE_DIR);
    test_windows();
    int rc = vkr_gpu_create(NULL, &gpu);
    CHECK(rc == 0, "no Vulkan device: %s", vkr_last_error());
    if (rc)
        goto done;
    rc = vkr_audioldm_load(gpu, CASE_DIR, VKR_F32, &p);
    CHECK(rc == 0, "load %s: %s", CASE_DIR, vkr_last_error());
    rc = rc ? rc : vkr_st_open(&io, CASE_DIR "/io.safetensors");
    CHECK(rc == 0, "io.safetensors: %s", vkr_last_error());
    if (rc || !cj)
        goto done;
    test_geometry(p);
    test_window_frames(p);

    const cJSON *pj = cJSON_GetObjectItemCaseSensitive(cj, "parameters");
    vkr_audioldm_params prm = vkr_audioldm_default_params();
    prm.prompt = cJSON_GetObjectItemCaseSensitive(pj, "prompt")->valuestring;
    prm.negative_prompt = cJSON_GetObjectItemCaseSensitive(pj, "negative_prompt")->valuestring;
    prm.guidance_scale = (float)cJSON_GetObjectItemCaseSensitive(pj, "guidance_scale")->valuedouble;

    /* text */
    vkr_audioldm_output o = {0};
    float cond_row[512] = {0};
    rc = vkr_audioldm_encode_prompt(gpu, p, &prm, &o);
    CHECK(rc == 0, "encode_prompt: %s", vkr_last_error());
    if (!rc) {
        CHECK_EQ_INT(o.cfg, 1);
        CHECK_EQ_INT(o.cond_len, 512);
        CHECK_EQ_INT(o.uncond_len, 32); /* the negative prompt padded to P, the diffusers quirk */
        CHECK_EQ_INT(o.embed_dim, 32);
        compare_i64(&io, "input_ids_cond", o.input_ids_cond, o.cond_len);
        compare_i64(&io, "attention_mask_cond", o.attention_mask_cond, o.cond_len);
        compare_i64(&io, "input_ids_uncond", o.input_ids_uncond, o.uncond_len);
        compare_i64(&io, "attention_mask_uncond", o.attention_mask_uncond, o.uncond_len);
        compare_f32(cj, &io, "prompt_embeds", o.prompt_embeds, 2 * o.embed_dim);
        double norm = 0;
        for (int64_t j = 0; j < o.embed_dim; j++)
            norm += (double)o.prompt_embeds[j] * o.prompt_embeds[j];
        CHECK_NEAR(sqrt(norm), 1.0, 1e-6);
        memcpy(cond_row, o.prompt_embeds + o.embed_dim, (size_t)o.embed_dim * sizeof(float));
    }
    vkr_audioldm_output_free(&o);
    /* no guidance: one row, the prompt only */
    prm.guidance_scale = 1.0f;
    rc = vkr_audioldm_encode_prompt(gpu, p, &prm, &o);
    CHECK(rc == 0 && o.cfg == 0 && o.uncond_len == 0 && !o.input_ids_uncond, "encode_prompt without CFG: %s",
          rc ? vkr_last_error() : "cfg rows");
    if (!rc)
        CHECK(memcmp(o.prompt_embeds, cond_row, (size_t)o.embed_dim * sizeof(float)) == 0,
              "prompt_embeds without CFG differ from the cond row with CFG");
    vkr_audioldm_output_free(&o);

    /* timesteps */
    vkr_sampler s;
    rc = vkr_sampler_init(&s, vkr_audioldm_scheduler_config(p),
                          cJSON_GetObjectItemCaseSensitive(pj, "num_inference_steps")->valueint);
    CHECK(rc == 0, "sampler: %s", vkr_last_error());
    if (!rc) {
        int64_t ts[64];
        for (int i = 0; i < s.num_steps && i < 64; i++)
            ts[i] = (int64_t)s.timesteps[i];
        compare_i64(&io, "timesteps", ts, s.num_steps);
        CHECK_NEAR(s.init_noise_sigma, 1.0, 0);
        vkr_sampler_free(&s);
    }

    /* decode the final latents (HiFi-GAN) */
    int64_t nl = 0;
    float *lat = vkr_st_load_f32(&io, "out.latents_after_step_2", &nl);
    CHECK(lat && nl == 8 * 7 * 16, "out.latents_after_step_2: %s", vkr_last_error());
    if (lat) {
        rc = vkr_audioldm_decode(gpu, p, lat, 1, 7, 4160, VKR_VOCODER_HIFIGAN, &o);
        CHECK(rc == 0, "decode: %s", vkr_last_error());
        if (!rc) {
            CHECK(o.mel_shape[0] == 1 && o.mel_shape[1] == 1 && o.mel_shape[2] == 28 && o.mel_shape[3] == 64,
                  "mel shape (%lld, %lld, %lld, %lld)", (long long)o.mel_shape[0], (long long)o.mel_shape[1],
                  (long long)o.mel_shape[2], (long long)o.mel_shape[3]);
            CHECK_EQ_INT(o.n_untrimmed, 4512);
            CHECK_EQ_INT(o.n_samples, 4160);
            CHECK_EQ_INT(o.sampling_rate, 16000);
            compare_f32(cj, &io, "mel", o.mel, 28 * 64);
            compare_f32(cj, &io, "waveform_untrimmed", o.waveform_untrimmed, o.n_untrimmed);
            compare_f32(cj, &io, "waveform", o.waveform, o.n_samples);
        }
        vkr_audioldm_output_free(&o);

        /* Griffin-Lim on the same mel: hop samples per frame, trimmed alike */
        rc = vkr_audioldm_decode(gpu, p, lat, 1, 7, 4160, VKR_VOCODER_GRIFFINLIM, &o);
        CHECK(rc == 0, "decode griffin-lim: %s", vkr_last_error());
        if (!rc) {
            CHECK_EQ_INT(o.n_untrimmed, 28 * 160);
            CHECK_EQ_INT(o.n_samples, 4160);
            double e = 0;
            int finite = 1;
            for (int64_t i = 0; i < o.n_samples; i++) {
                finite &= isfinite(o.waveform[i]) != 0;
                e += (double)o.waveform[i] * o.waveform[i];
            }
            CHECK(finite && e > 0, "griffin-lim waveform finite %d energy %g", finite, e);
            /* its log-mel follows the mel it was made from (interior frames) */
            vkr_mel *m = NULL;
            vkr_mel_config mc = vkr_mel_config_audioldm();
            if (vkr_mel_create(&mc, &m) == 0) {
                const int64_t nf = vkr_mel_n_frames(m, o.n_untrimmed);
                float *lm = malloc((size_t)(nf * 64) * sizeof *lm);
                if (vkr_mel_log_spectrogram(m, o.waveform_untrimmed, o.n_untrimmed, lm) == 0) {
                    double sa = 0, sb = 0, sab = 0, saa = 0, sbb = 0;
                    int64_t cnt = 0;
                    for (int64_t f = 4; f < 24 && f < nf; f++)
                        for (int b = 0; b < 64; b++) {
                            double a = lm[f * 64 + b], c = o.mel[f * 64 + b];
                            sa += a, sb += c, sab += a * c, saa += a * a, sbb += c * c, cnt++;
                        }
                    double cov = sab / cnt - sa / cnt * sb / cnt;
                    double corr = cov / sqrt((saa / cnt - sa / cnt * sa / cnt) * (sbb / cnt - sb / cnt * sb / cnt));
                    printf("  griffin-lim: log-mel correlation with the VAE mel %.3f\n", corr);
                    CHECK(corr > 0.5, "griffin-lim log-mel correlation %.3f <= 0.5", corr);
                }
                free(lm);
                vkr_mel_free(m);
            }
        }
        vkr_audioldm_output_free(&o);
    }
    free(lat);
done:
    vkr_st_close(&io);
    vkr_audioldm_free(p);
    if (gpu)
        vkr_gpu_destroy(gpu);
    cJSON_Delete(cj);
    return check_summary("test_audioldm_parts");
}
