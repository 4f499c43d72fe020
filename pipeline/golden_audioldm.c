/* Golden runner for tests/golden/pipeline_audioldm (and the hidden AudioLDM
 * pipeline cases): the case folder is a diffusers AudioLDMPipeline directory;
 * the call's arguments come from case.json "parameters", the initial noise
 * from io.safetensors in.latents. Weights in f32 storage on the --device GPU.
 * Outputs: out.input_ids_{cond,uncond}, out.attention_mask_{cond,uncond},
 * out.prompt_embeds, out.timesteps, out.latents_after_step_<k>, out.mel,
 * out.waveform_untrimmed, out.waveform (PIPELINES.md). */
#include "pipeline/golden_audio.h"

#include "common/status.h"
#include "pipeline/audioldm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cJSON *param(const cJSON *p, const char *key) { return cJSON_GetObjectItemCaseSensitive(p, key); }

static int param_int(const vkr_golden_case *c, const cJSON *p, const char *key, int fallback, int *out)
{
    const cJSON *v = param(p, key);
    if (!v || cJSON_IsNull(v)) {
        *out = fallback;
        return VKR_OK;
    }
    if (!cJSON_IsNumber(v))
        return vkr_fail(VKR_E_DATA, "%s: case.json parameters.%s is not a number", c->dir, key);
    *out = (int)v->valuedouble;
    return VKR_OK;
}

/* Copies `n` values into a new output tensor. */
static int add_copy_f32(vkr_golden_result *r, const char *name, int ndim, const int64_t *shape, const float *src,
                        size_t n)
{
    float *v = malloc(n * sizeof *v);
    if (!v)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    memcpy(v, src, n * sizeof *v);
    return vkr_golden_add_f32(&r->got, name, ndim, shape, v);
}

static int add_copy_i64(vkr_golden_result *r, const char *name, int ndim, const int64_t *shape, const int64_t *src,
                        size_t n)
{
    int64_t *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    memcpy(v, src, n * sizeof *v);
    return vkr_golden_add_i64(&r->got, name, ndim, shape, v);
}

int vkr_golden_run_pipeline_audioldm(const vkr_golden_case *c, vkr_golden_result *r)
{
    vkr_golden_tensor lat = {0};
    vkr_gpu *gpu = NULL;
    vkr_audioldm *p = NULL;
    vkr_audioldm_output o = {0};
    int rc;
    if (!c->has_io || !c->json)
        return vkr_fail(VKR_E_NOINPUT, "%s: needs case.json and io.safetensors", c->dir);
    const cJSON *pj = cJSON_GetObjectItemCaseSensitive(c->json, "parameters");
    if (!cJSON_IsObject(pj))
        return vkr_fail(VKR_E_DATA, "%s: case.json has no \"parameters\" object", c->dir);
    if ((rc = vkr_golden_load_st(&c->io, "in.latents", &lat)))
        goto done;
    if (lat.dtype != VKR_GOLDEN_F32 || lat.ndim != 4) {
        rc = vkr_fail(VKR_E_DATA, "%s: in.latents must be float (batch, channels, time, mel bins)", c->dir);
        goto done;
    }
    vkr_audioldm_params prm = vkr_audioldm_default_params();
    const cJSON *v = param(pj, "prompt");
    if (!cJSON_IsString(v)) {
        rc = vkr_fail(VKR_E_DATA, "%s: case.json parameters.prompt must be a string", c->dir);
        goto done;
    }
    prm.prompt = v->valuestring;
    v = param(pj, "negative_prompt");
    prm.negative_prompt = cJSON_IsString(v) ? v->valuestring : NULL;
    const cJSON *len_j = param(pj, "audio_length_in_s");
    if (len_j && !cJSON_IsNull(len_j) && !cJSON_IsNumber(len_j)) {
        rc = vkr_fail(VKR_E_DATA, "%s: case.json parameters.audio_length_in_s must be a number", c->dir);
        goto done;
    }
    int per_prompt = 1;
    if ((rc = param_int(c, pj, "num_inference_steps", 10, &prm.num_inference_steps)) ||
        (rc = param_int(c, pj, "num_waveforms_per_prompt", 1, &per_prompt)))
        goto done;
    v = param(pj, "guidance_scale");
    prm.guidance_scale = cJSON_IsNumber(v) ? (float)v->valuedouble : 2.5f;
    v = param(pj, "eta");
    if (cJSON_IsNumber(v) && v->valuedouble != 0.0) {
        rc = vkr_fail(VKR_E_DATA, "%s: eta %g is not supported (DDIM eta 0 only)", c->dir, v->valuedouble);
        goto done;
    }
    prm.batch = (int)lat.shape[0];
    if (prm.batch != per_prompt) {
        rc = vkr_fail(VKR_E_DATA, "%s: in.latents batch %lld != num_waveforms_per_prompt %d", c->dir,
                      (long long)lat.shape[0], per_prompt);
        goto done;
    }
    prm.latents = lat.f32;
    /* one window: the golden is the plain diffusers pipeline */
    prm.window_s = 1e5;

    if ((rc = vkr_gpu_create(&(vkr_gpu_options){.device = c->device}, &gpu)) ||
        (rc = vkr_audioldm_load(gpu, c->dir, VKR_F32, &p)))
        goto done;
    /* None: diffusers takes unet.sample_size * vae_scale_factor * vocoder_upsample_factor,
     * the latents' length here */
    prm.audio_length_in_s = cJSON_IsNumber(len_j) ? len_j->valuedouble
                                                  : vkr_audioldm_latent_frames_to_s(p, lat.shape[2]);
    vkr_audioldm_geometry g;
    if ((rc = vkr_audioldm_get_geometry(p, prm.audio_length_in_s, &g)))
        goto done;
    if (lat.shape[1] != g.latent_channels || lat.shape[2] != g.latent_frames || lat.shape[3] != g.latent_bins) {
        rc = vkr_fail(VKR_E_DATA, "%s: in.latents (%lld, %lld, %lld, %lld) does not match the geometry of %g s "
                      "(B, %lld, %lld, %lld)", c->dir, (long long)lat.shape[0], (long long)lat.shape[1],
                      (long long)lat.shape[2], (long long)lat.shape[3], prm.audio_length_in_s,
                      (long long)g.latent_channels, (long long)g.latent_frames, (long long)g.latent_bins);
        goto done;
    }
    if ((rc = vkr_audioldm_run(gpu, p, &prm, &o)))
        goto done;

    const int64_t B = prm.batch;
    const int64_t cshape[2] = {1, o.cond_len}, ushape[2] = {1, o.uncond_len};
    if ((rc = add_copy_i64(r, "out.input_ids_cond", 2, cshape, o.input_ids_cond, (size_t)o.cond_len)) ||
        (rc = add_copy_i64(r, "out.attention_mask_cond", 2, cshape, o.attention_mask_cond, (size_t)o.cond_len)))
        goto done;
    if (o.cfg && ((rc = add_copy_i64(r, "out.input_ids_uncond", 2, ushape, o.input_ids_uncond, (size_t)o.uncond_len)) ||
                  (rc = add_copy_i64(r, "out.attention_mask_uncond", 2, ushape, o.attention_mask_uncond,
                                     (size_t)o.uncond_len))))
        goto done;
    /* prompt_embeds as the UNet's class_labels: [uncond x B; cond x B] */
    const int64_t np = o.cfg ? 2 : 1, P = o.embed_dim;
    const int64_t pe_shape[2] = {np * B, P};
    float *pe = malloc((size_t)(np * B * P) * sizeof *pe);
    if (!pe) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto done;
    }
    for (int64_t row = 0; row < np * B; row++)
        memcpy(pe + row * P, o.prompt_embeds + (row / B) * P, (size_t)P * sizeof *pe);
    if ((rc = vkr_golden_add_f32(&r->got, "out.prompt_embeds", 2, pe_shape, pe)))
        goto done;
    const int64_t nsteps = o.num_steps;
    if ((rc = add_copy_i64(r, "out.timesteps", 1, &nsteps, o.timesteps, (size_t)nsteps)))
        goto done;
    size_t nl = 1;
    for (int d = 0; d < 4; d++)
        nl *= (size_t)o.latent_shape[d];
    for (int k = 0; k < o.num_steps; k++) {
        char name[64];
        snprintf(name, sizeof name, "out.latents_after_step_%d", k);
        if ((rc = add_copy_f32(r, name, 4, o.latent_shape, o.latents_after_step[k], nl)))
            goto done;
    }
    const size_t nm = (size_t)(o.mel_shape[0] * o.mel_shape[1] * o.mel_shape[2] * o.mel_shape[3]);
    const int64_t wu_shape[2] = {B, o.n_untrimmed}, w_shape[2] = {B, o.n_samples};
    if ((rc = add_copy_f32(r, "out.mel", 4, o.mel_shape, o.mel, nm)) ||
        (rc = add_copy_f32(r, "out.waveform_untrimmed", 2, wu_shape, o.waveform_untrimmed,
                           (size_t)(B * o.n_untrimmed))) ||
        (rc = add_copy_f32(r, "out.waveform", 2, w_shape, o.waveform, (size_t)(B * o.n_samples))))
        goto done;
    snprintf(r->note, sizeof r->note, "audioldm %d steps, w %g%s, %g s = %lld mel frames, f32 storage", o.num_steps,
             (double)prm.guidance_scale, o.cfg ? " (CFG)" : " (no CFG)", prm.audio_length_in_s,
             (long long)o.mel_shape[2]);
done:
    vkr_audioldm_output_free(&o);
    vkr_audioldm_free(p);
    if (gpu)
        vkr_gpu_destroy(gpu);
    free(lat.f32), free(lat.i64);
    return rc;
}
