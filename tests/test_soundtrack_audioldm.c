/* The AudioLDM sound generator (pipeline/soundtrack_audioldm.c) on the tiny
 * model tests/golden/pipeline_audioldm, against a direct vkr_audioldm_run built
 * here from the documented conventions: latents vkr_noise_normal(seed,
 * VKR_SOUNDTRACK_NOISE_STREAM), m = ceil(n * 16000 / rate) samples (at least one
 * 40 ms latent frame), the sampler's scheduler by diffusers' from_config rule
 * (vkr_sched_config_load with that kind), resampled and cut to n. The generator
 * must match it bit for bit, for lengths from 1 sample up, at and away from
 * 16 kHz. */
#include "pipeline/soundtrack.h"

#include "audio/resample.h"
#include "common/status.h"
#include "pipeline/audioldm.h"
#include "sched/noise.h"
#include "tests/check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MODEL "tests/golden/pipeline_audioldm"

static int steps_seen;
static void count_steps(void *ctx, int step, int n_steps)
{
    (void)ctx;
    CHECK(step == steps_seen + 1 && n_steps == 2, "step %d/%d after %d", step, n_steps, steps_seen);
    steps_seen = step;
}

/* The reference: the pipeline run by hand for m model-rate samples. */
static int reference(vkr_gpu *gpu, const vkr_audioldm *p, const char *prompt, uint64_t seed,
                     vkr_sampler_kind kind, int steps, double guidance, int64_t m, int rate, float **out,
                     int64_t *out_n)
{
    vkr_audioldm_geometry g;
    vkr_sched_config sc;
    vkr_audioldm_output res = {0};
    int rc = vkr_audioldm_get_geometry(p, ((double)m + 0.5) / 16000.0, &g);
    if (rc)
        return rc;
    CHECK_EQ_INT(g.orig_len, m);
    size_t nl = (size_t)(g.latent_channels * g.latent_frames * g.latent_bins);
    float *lat = malloc(nl * sizeof *lat);
    if (!lat)
        return VKR_E_INTERNAL;
    vkr_noise_normal(seed, VKR_SOUNDTRACK_NOISE_STREAM, 0, lat, nl);
    if ((rc = vkr_sched_config_load(&sc, MODEL "/scheduler/scheduler_config.json", (int)kind))) {
        free(lat);
        return rc;
    }
    vkr_audioldm_params prm = vkr_audioldm_default_params();
    prm.prompt = prompt;
    prm.audio_length_in_s = ((double)m + 0.5) / 16000.0;
    prm.num_inference_steps = steps;
    prm.guidance_scale = (float)guidance;
    prm.latents = lat;
    prm.sched = &sc;
    rc = vkr_audioldm_run(gpu, p, &prm, &res);
    if (!rc)
        rc = vkr_resample(res.waveform, res.n_samples, 1, res.sampling_rate, rate, out, out_n);
    vkr_audioldm_output_free(&res);
    vkr_sched_config_free(&sc);
    free(lat);
    return rc;
}

int main(void)
{
    vkr_gpu *gpu = NULL;
    vkr_audioldm *p = NULL;
    if (vkr_gpu_create(NULL, &gpu) || vkr_audioldm_load(gpu, MODEL, VKR_F32, &p)) {
        CHECK(0, "setup: %s", vkr_last_error());
        goto done;
    }
    CHECK_EQ_INT(vkr_audioldm_sampling_rate(p), 16000);
    vkr_soundtrack_audioldm a = {.gpu = gpu, .model = p, .vocoder = VKR_VOCODER_HIFIGAN,
                                 .step_progress = count_steps};
    vkr_sound_generator gen = vkr_soundtrack_audioldm_generator(&a, "tiny");
    CHECK_EQ_STR(gen.model_name, "tiny");

    static const struct {
        int64_t n;
        int rate;
        vkr_sampler_kind kind;
        int64_t m; /* model-rate samples the generator must ask for */
    } cases[] = {
        {1, 48000, VKR_SAMPLER_DDIM, 640},       /* below one latent frame: 40 ms */
        {4801, 44100, VKR_SAMPLER_EULER, 1742},  /* ceil(4801 * 16000 / 44100) = 1742 */
        {1000, 16000, VKR_SAMPLER_DPMPP_2M, 1000}, /* equal rates: a copy */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const vkr_sampler_cfg sampler = {.name = cases[c].kind, .steps = 2, .guidance = 3.0};
        float *got = NULL, *want = NULL;
        int64_t want_n = 0;
        steps_seen = 0;
        int rc = gen.generate(gen.ctx, "glass breaking", NULL, 1234 + c, &sampler, cases[c].rate, cases[c].n, &got);
        CHECK(rc == 0, "case %zu: generate: %s", c, vkr_last_error());
        CHECK_EQ_INT(steps_seen, 2);
        int rr = reference(gpu, p, "glass breaking", 1234 + c, cases[c].kind, 2, 3.0, cases[c].m, cases[c].rate,
                           &want, &want_n);
        CHECK(rr == 0, "case %zu: reference: %s", c, vkr_last_error());
        if (!rc && !rr) {
            CHECK(want_n >= cases[c].n, "case %zu: reference has %lld samples", c, (long long)want_n);
            int64_t diff = 0, first = -1;
            for (int64_t j = 0; j < cases[c].n && j < want_n; j++)
                if (got[j] != want[j] || !isfinite(got[j])) {
                    diff++;
                    if (first < 0)
                        first = j;
                }
            CHECK(diff == 0, "case %zu (%lld samples at %d Hz, %s): %lld samples differ from the direct run, "
                  "first %lld: %g vs %g", c, (long long)cases[c].n, cases[c].rate,
                  vkr_sampler_kind_name(cases[c].kind), (long long)diff, (long long)first,
                  first >= 0 ? got[first] : 0.0, first >= 0 ? want[first] : 0.0);
        }
        free(got);
        free(want);
    }
    /* n <= 0 is a usage error, not a crash. */
    float *z = NULL;
    CHECK_EQ_INT(gen.generate(gen.ctx, "x", NULL, 0, NULL, 48000, 0, &z), VKR_E_USAGE);
    CHECK(z == NULL, "no output on error");
done:
    vkr_audioldm_free(p);
    vkr_gpu_destroy(gpu);
    return check_summary("soundtrack_audioldm");
}
