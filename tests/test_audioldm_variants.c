/* AudioLDMPipeline (pipeline/audioldm.h) beyond the shipped golden call, on
 * the tiny golden model (tests/golden/pipeline_audioldm), lavapipe, f32:
 *   - batch 2 (num_waveforms_per_prompt) equals two batch-1 runs;
 *   - no guidance (w <= 1): the cond row only, no negative prompt tokens, and
 *     a different result from the guided run;
 *   - a negative prompt longer than P = 32 tokens is truncated to P (diffusers'
 *     max_length = prompt_embeds.shape[1]): ends in </s>, mask all ones;
 *   - another sampler through prm->sched (DPM-Solver++ 2M from the model's
 *     scheduler_config.json): its timesteps, a different result;
 *   - the Griffin-Lim vocoder through run(): hop samples per mel frame;
 *   - an odd length: 0.2655 s -> 26 mel frames -> 28, orig_len 4248;
 *   - usage errors (no latents, too short, no vocoder required fields);
 *   - f16 weights (text encoder, UNet, vocoder): the golden waveform within a
 *     half-precision bound. */
#include "check.h"
#include "common/status.h"
#include "gpu/gpu.h"
#include "model/safetensors.h"
#include "pipeline/audioldm.h"
#include "sched/noise.h"
#include "sched/schedule.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CASE_DIR "tests/golden/pipeline_audioldm"

static double rel_l2(const float *a, const float *b, int64_t n)
{
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        num += d * d, den += (double)b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

static double max_abs(const float *a, const float *b, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

static vkr_audioldm_params base_params(const float *latents)
{
    vkr_audioldm_params prm = vkr_audioldm_default_params();
    prm.prompt = "rain on a tin roof";
    prm.negative_prompt = "low quality";
    prm.audio_length_in_s = 0.26;
    prm.num_inference_steps = 3;
    prm.guidance_scale = 2.5f;
    prm.latents = latents;
    return prm;
}

int main(void)
{
    vkr_gpu *gpu = NULL;
    vkr_audioldm *p = NULL, *p16 = NULL;
    vkr_safetensors io = {0};
    vkr_sched_config dpm = {0};
    int have_dpm = 0;
    vkr_audioldm_output o1 = {0}, o2 = {0}, ob = {0}, o = {0};
    float *lat = NULL, *lat2 = NULL, *ref_wav = NULL;
    int rc = vkr_gpu_create(NULL, &gpu);
    CHECK(rc == 0, "no Vulkan device: %s", vkr_last_error());
    rc = rc ? rc : vkr_audioldm_load(gpu, CASE_DIR, VKR_F32, &p);
    CHECK(rc == 0, "load: %s", vkr_last_error());
    rc = rc ? rc : vkr_st_open(&io, CASE_DIR "/io.safetensors");
    CHECK(rc == 0, "io: %s", vkr_last_error());
    if (rc)
        goto done;
    int64_t nl = 0, nw = 0;
    lat = vkr_st_load_f32(&io, "in.latents", &nl);
    ref_wav = vkr_st_load_f32(&io, "out.waveform", &nw);
    CHECK(lat && nl == 8 * 7 * 16 && ref_wav && nw == 4160, "golden tensors: %s", vkr_last_error());
    if (!lat || !ref_wav)
        goto done;

    /* batch 2 = two batch-1 runs: [golden noise; other noise] */
    lat2 = malloc(2 * (size_t)nl * sizeof *lat2);
    memcpy(lat2, lat, (size_t)nl * sizeof *lat2);
    vkr_noise_normal(11, 0, 0, lat2 + nl, (size_t)nl);
    vkr_audioldm_params prm = base_params(lat);
    rc = vkr_audioldm_run(gpu, p, &prm, &o1);
    CHECK(rc == 0, "run: %s", vkr_last_error());
    prm.latents = lat2 + nl;
    rc |= vkr_audioldm_run(gpu, p, &prm, &o2);
    prm.latents = lat2, prm.batch = 2;
    rc |= vkr_audioldm_run(gpu, p, &prm, &ob);
    CHECK(rc == 0, "batch runs: %s", vkr_last_error());
    if (!rc) {
        CHECK(ob.latent_shape[0] == 2 && ob.mel_shape[0] == 2 && ob.n_samples == 4160, "batch 2 shapes");
        double e1 = max_abs(ob.waveform, o1.waveform, 4160), e2 = max_abs(ob.waveform + 4160, o2.waveform, 4160);
        printf("  batch 2 vs batch 1 runs: waveform max_abs %.3g / %.3g\n", e1, e2);
        CHECK(e1 <= 1e-6 && e2 <= 1e-6, "batch 2 differs from batch-1 runs: %.3g / %.3g", e1, e2);
        CHECK(rel_l2(o1.waveform, ref_wav, 4160) <= 3e-5, "batch-1 run vs golden waveform rel_l2 %.3g",
              rel_l2(o1.waveform, ref_wav, 4160));
        CHECK(rel_l2(o2.waveform, o1.waveform, 4160) > 1e-2, "other noise gives the same audio");
    }
    vkr_audioldm_output_free(&o2), vkr_audioldm_output_free(&ob);

    /* no guidance */
    prm = base_params(lat);
    prm.guidance_scale = 1.0f;
    rc = vkr_audioldm_run(gpu, p, &prm, &o);
    CHECK(rc == 0, "run w=1: %s", vkr_last_error());
    if (!rc) {
        CHECK(o.cfg == 0 && o.uncond_len == 0 && !o.input_ids_uncond, "w=1 ran guidance");
        CHECK(memcmp(o.prompt_embeds, o1.prompt_embeds + o1.embed_dim, (size_t)o.embed_dim * sizeof(float)) == 0,
              "w=1 cond embedding differs from the guided run's cond row");
        CHECK(rel_l2(o.waveform, o1.waveform, o.n_samples) > 1e-3, "w=1 gives the guided result");
    }
    vkr_audioldm_output_free(&o);

    /* a negative prompt longer than P tokens */
    prm = base_params(lat);
    prm.negative_prompt = "low quality, distorted, noisy, muffled, clipping, hum, hiss, crackle, wind noise, "
                          "talking, music, silence, bad recording, low bitrate, mono, harsh, tinny, echo";
    rc = vkr_audioldm_encode_prompt(gpu, p, &prm, &o);
    CHECK(rc == 0, "encode long negative: %s", vkr_last_error());
    if (!rc) {
        CHECK_EQ_INT(o.uncond_len, 32);
        CHECK_EQ_INT(o.input_ids_uncond[0], 0);
        CHECK_EQ_INT(o.input_ids_uncond[31], 2);
        int ones = 0;
        for (int j = 0; j < 32; j++)
            ones += (int)o.attention_mask_uncond[j];
        CHECK_EQ_INT(ones, 32);
    }
    vkr_audioldm_output_free(&o);

    /* DPM-Solver++ 2M on the model's scheduler config */
    rc = vkr_sched_config_load(&dpm, CASE_DIR "/scheduler/scheduler_config.json", VKR_SAMPLER_DPMPP_2M);
    CHECK(rc == 0, "dpm config: %s", vkr_last_error());
    if (!rc) {
        have_dpm = 1;
        prm = base_params(lat);
        prm.sched = &dpm;
        rc = vkr_audioldm_run(gpu, p, &prm, &o);
        CHECK(rc == 0, "run dpm: %s", vkr_last_error());
        if (!rc) {
            /* the sparse file has no timestep_spacing: DPM's own default, linspace */
            CHECK(o.timesteps[0] == 999 && o.timesteps[1] == 666 && o.timesteps[2] == 333,
                  "dpm timesteps %lld %lld %lld, want 999 666 333", (long long)o.timesteps[0],
                  (long long)o.timesteps[1], (long long)o.timesteps[2]);
            printf("  dpmpp_2m timesteps %lld %lld %lld\n", (long long)o.timesteps[0], (long long)o.timesteps[1],
                   (long long)o.timesteps[2]);
            CHECK(o.num_steps == 3, "dpm steps %d", o.num_steps);
            CHECK(rel_l2(o.waveform, o1.waveform, o.n_samples) > 1e-3, "dpm gives the ddim result");
        }
        vkr_audioldm_output_free(&o);
    }

    /* Griffin-Lim through run() */
    prm = base_params(lat);
    prm.vocoder = VKR_VOCODER_GRIFFINLIM;
    rc = vkr_audioldm_run(gpu, p, &prm, &o);
    CHECK(rc == 0, "run griffin-lim: %s", vkr_last_error());
    if (!rc) {
        CHECK_EQ_INT(o.n_untrimmed, 28 * 160);
        CHECK_EQ_INT(o.n_samples, 4160);
        CHECK(memcmp(o.mel, o1.mel, 28 * 64 * sizeof(float)) == 0, "griffin-lim run: mel differs from hifigan run");
    }
    vkr_audioldm_output_free(&o);

    /* odd length: 0.2655 s -> int(26.55) = 26 -> 28 mel frames; orig_len int(4248.0) */
    vkr_audioldm_geometry g;
    CHECK_EQ_INT(vkr_audioldm_get_geometry(p, 0.2655, &g), 0);
    CHECK(g.mel_frames == 28 && g.orig_len == 4248, "0.2655 s: %lld mel frames, orig_len %lld",
          (long long)g.mel_frames, (long long)g.orig_len);
    prm = base_params(lat);
    prm.audio_length_in_s = 0.2655;
    rc = vkr_audioldm_run(gpu, p, &prm, &o);
    CHECK(rc == 0 && o.n_samples == 4248 && o.n_untrimmed == 4512, "0.2655 s run: %s, %lld samples",
          rc ? vkr_last_error() : "ok", (long long)o.n_samples);
    vkr_audioldm_output_free(&o);
    CHECK_NEAR(vkr_audioldm_latent_frames_to_s(p, 7), 0.28, 1e-15);

    /* usage errors */
    prm = base_params(NULL);
    CHECK_EQ_INT(vkr_audioldm_run(gpu, p, &prm, &o), VKR_E_USAGE);
    prm = base_params(lat);
    prm.audio_length_in_s = 0.03;
    CHECK_EQ_INT(vkr_audioldm_run(gpu, p, &prm, &o), VKR_E_USAGE);
    prm.audio_length_in_s = 0.26, prm.num_inference_steps = 0;
    CHECK_EQ_INT(vkr_audioldm_run(gpu, p, &prm, &o), VKR_E_USAGE);

    /* f16 weights */
    rc = vkr_audioldm_load(gpu, CASE_DIR, VKR_F16, &p16);
    CHECK(rc == 0, "load f16: %s", vkr_last_error());
    if (!rc) {
        prm = base_params(lat);
        rc = vkr_audioldm_run(gpu, p16, &prm, &o);
        CHECK(rc == 0, "run f16: %s", vkr_last_error());
        if (!rc) {
            const double r = rel_l2(o.waveform, ref_wav, 4160), m = max_abs(o.waveform, ref_wav, 4160);
            printf("  f16 weights vs golden waveform: max_abs %.3g rel_l2 %.3g\n", m, r);
            CHECK(r <= 2e-2, "f16 waveform rel_l2 %.3g > 2e-2", r);
        }
        vkr_audioldm_output_free(&o);
    }
done:
    vkr_audioldm_output_free(&o1);
    if (have_dpm)
        vkr_sched_config_free(&dpm);
    free(lat), free(lat2), free(ref_wav);
    vkr_st_close(&io);
    vkr_audioldm_free(p16);
    vkr_audioldm_free(p);
    if (gpu)
        vkr_gpu_destroy(gpu);
    return check_summary("test_audioldm_variants");
}
