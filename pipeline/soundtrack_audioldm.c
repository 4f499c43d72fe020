/* AudioLDM as the sound track's generator: seeded latents, the storyboard
 * sampler mapped onto the model's scheduler, 16 kHz -> output rate with an
 * exact sample count. The rules are in soundtrack.h and docs/sfx.md. */
#include "soundtrack.h"

#include "pipeline/audioldm.h"

#include "audio/resample.h"
#include "common/status.h"
#include "sched/noise.h"

#include <stdlib.h>
#include <string.h>

/* The length asking the pipeline for m samples: int(seconds * rate) == m exactly. */
static double seconds_for(int64_t m, int rate) { return ((double)m + 0.5) / rate; }

static int audioldm_generate(void *ctx, const char *prompt, const char *negative_prompt, uint64_t seed,
                             const vkr_sampler_cfg *sampler, int rate, int64_t n, float **out)
{
    vkr_soundtrack_audioldm *a = ctx;
    *out = NULL;
    if (!a || !a->gpu || !a->model)
        return vkr_fail(VKR_E_USAGE, "audioldm generator: no model");
    if (rate <= 0 || n <= 0)
        return vkr_fail(VKR_E_USAGE, "audioldm generator: %lld samples at %d Hz", (long long)n, rate);
    const int model_rate = vkr_audioldm_sampling_rate(a->model);
    if (model_rate <= 0)
        return vkr_fail(VKR_E_DATA, "audioldm generator: the model has no sampling rate");

    /* The fewest model-rate samples that resample to at least n ... */
    int64_t m = (n * model_rate + rate - 1) / rate;
    while (vkr_resample_length(m, model_rate, rate) < n)
        m++;
    /* ... and at least one latent frame (AudioLDM: 4 mel frames of 10 ms), the
     * pipeline's shortest length: the smallest m it accepts, by bisection. */
    vkr_audioldm_geometry g;
    int rc = vkr_audioldm_get_geometry(a->model, seconds_for(m, model_rate), &g);
    if (rc == VKR_E_USAGE) {
        int64_t lo = m, hi = m;
        do {
            lo = hi;
            hi *= 2;
            if (hi > (int64_t)model_rate * 60)
                return vkr_fail(VKR_E_DATA, "audioldm generator: no usable length near %lld samples", (long long)m);
        } while (vkr_audioldm_get_geometry(a->model, seconds_for(hi, model_rate), &g) == VKR_E_USAGE);
        while (hi - lo > 1) { /* geometry fails at lo, works at hi */
            int64_t mid = lo + (hi - lo) / 2;
            if (vkr_audioldm_get_geometry(a->model, seconds_for(mid, model_rate), &g) == VKR_E_USAGE)
                lo = mid;
            else
                hi = mid;
        }
        m = hi;
        vkr_clear_error();
        rc = vkr_audioldm_get_geometry(a->model, seconds_for(m, model_rate), &g);
    }
    const double seconds = seconds_for(m, model_rate);

    vkr_sched_config sched = {0};
    vkr_audioldm_output res = {0};
    float *latents = NULL, *wav = NULL;
    int64_t wav_n = 0;
    if (rc)
        goto fail;
    if (g.orig_len != m) {
        rc = vkr_fail(VKR_E_INTERNAL, "audioldm generator: %.9f s gives %lld samples, expected %lld",
                      seconds, (long long)g.orig_len, (long long)m);
        goto fail;
    }
    const size_t n_latent = (size_t)(g.latent_channels * g.latent_frames * g.latent_bins);
    latents = malloc(n_latent * sizeof *latents);
    if (!latents) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto fail;
    }
    vkr_noise_normal(seed, VKR_SOUNDTRACK_NOISE_STREAM, 0, latents, n_latent);

    vkr_audioldm_params prm = vkr_audioldm_default_params();
    prm.prompt = prompt;
    prm.negative_prompt = negative_prompt;
    prm.audio_length_in_s = seconds;
    prm.num_inference_steps = VKR_SOUNDTRACK_AUDIOLDM_STEPS;
    prm.guidance_scale = (float)VKR_SOUNDTRACK_AUDIOLDM_GUIDANCE;
    prm.batch = 1;
    prm.latents = latents;
    prm.sched = NULL;
    prm.vocoder = a->vocoder;
    prm.progress = a->step_progress;
    prm.progress_ctx = a->step_progress_ctx;
    if (sampler) {
        if ((rc = vkr_audioldm_scheduler_for(a->model, sampler->name, &sched)))
            goto fail;
        prm.sched = &sched;
        prm.num_inference_steps = sampler->steps;
        prm.guidance_scale = (float)sampler->guidance;
    }
    if ((rc = vkr_audioldm_run(a->gpu, a->model, &prm, &res)))
        goto fail;
    if (res.n_samples != m || !res.waveform) {
        rc = vkr_fail(VKR_E_INTERNAL, "audioldm generator: the pipeline returned %lld samples, expected %lld",
                      (long long)res.n_samples, (long long)m);
        goto fail;
    }
    if ((rc = vkr_resample(res.waveform, m, 1, res.sampling_rate > 0 ? res.sampling_rate : model_rate,
                           rate, &wav, &wav_n)))
        goto fail;
    if (wav_n < n) {
        rc = vkr_fail(VKR_E_INTERNAL, "audioldm generator: %lld samples after resampling, expected %lld",
                      (long long)wav_n, (long long)n);
        goto fail;
    }
    /* Sample j is the signal at j / rate: cutting the tail keeps the onset. */
    *out = wav;
    wav = NULL;
fail:
    free(wav);
    free(latents);
    vkr_audioldm_output_free(&res);
    vkr_sched_config_free(&sched);
    return rc;
}

vkr_sound_generator vkr_soundtrack_audioldm_generator(vkr_soundtrack_audioldm *a, const char *model_name)
{
    return (vkr_sound_generator){.ctx = a, .generate = audioldm_generate, .model_name = model_name};
}
