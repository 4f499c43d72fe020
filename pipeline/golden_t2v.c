/* Golden runner for tests/golden/pipeline_t2v (and the hidden t2v pipeline
 * cases): the case folder is a diffusers TextToVideoSDPipeline directory; the
 * call's arguments come from case.json "parameters", the initial noise from
 * io.safetensors in.latents. Weights in f32 storage on the --device GPU.
 * Outputs: out.input_ids, out.prompt_embeds, out.timesteps,
 * out.latents_after_step_<k>, out.decoded, out.frames (PIPELINES.md). */
#include "pipeline/golden.h"

#include "common/status.h"
#include "pipeline/t2v.h"

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

/* Copies `n` floats into a new output tensor. */
static int add_copy_f32(vkr_golden_result *r, const char *name, int ndim, const int64_t *shape, const float *src,
                        size_t n)
{
    float *v = malloc(n * sizeof *v);
    if (!v)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    memcpy(v, src, n * sizeof *v);
    return vkr_golden_add_f32(&r->got, name, ndim, shape, v);
}

int vkr_golden_run_pipeline_t2v(const vkr_golden_case *c, vkr_golden_result *r)
{
    vkr_golden_tensor lat = {0};
    vkr_gpu *gpu = NULL;
    vkr_t2v *p = NULL;
    vkr_t2v_output o = {0};
    int rc;
    if (!c->has_io || !c->json)
        return vkr_fail(VKR_E_NOINPUT, "%s: needs case.json and io.safetensors", c->dir);
    const cJSON *pj = cJSON_GetObjectItemCaseSensitive(c->json, "parameters");
    if (!cJSON_IsObject(pj))
        return vkr_fail(VKR_E_DATA, "%s: case.json has no \"parameters\" object", c->dir);
    if ((rc = vkr_golden_load_st(&c->io, "in.latents", &lat)))
        goto done;
    if (lat.dtype != VKR_GOLDEN_F32 || lat.ndim != 5) {
        rc = vkr_fail(VKR_E_DATA, "%s: in.latents must be float (batch, channels, frames, h, w)", c->dir);
        goto done;
    }
    vkr_t2v_params prm = vkr_t2v_default_params();
    const cJSON *v;
    v = param(pj, "prompt");
    if (!cJSON_IsString(v)) {
        rc = vkr_fail(VKR_E_DATA, "%s: case.json parameters.prompt must be a string", c->dir);
        goto done;
    }
    prm.prompt = v->valuestring;
    v = param(pj, "negative_prompt");
    prm.negative_prompt = cJSON_IsString(v) ? v->valuestring : NULL;
    int per_prompt = 1;
    if ((rc = param_int(c, pj, "num_frames", (int)lat.shape[2], &prm.num_frames)) ||
        (rc = param_int(c, pj, "num_inference_steps", 50, &prm.num_inference_steps)) ||
        (rc = param_int(c, pj, "num_images_per_prompt", 1, &per_prompt)))
        goto done;
    v = param(pj, "guidance_scale");
    prm.guidance_scale = cJSON_IsNumber(v) ? (float)v->valuedouble : 9.0f;
    v = param(pj, "eta");
    if (cJSON_IsNumber(v) && v->valuedouble != 0.0) {
        rc = vkr_fail(VKR_E_DATA, "%s: eta %g is not supported (DDIM eta 0 only)", c->dir, v->valuedouble);
        goto done;
    }
    prm.batch = (int)lat.shape[0];
    if (prm.batch != per_prompt || prm.num_frames != lat.shape[2]) {
        rc = vkr_fail(VKR_E_DATA, "%s: in.latents shape does not match num_images_per_prompt / num_frames", c->dir);
        goto done;
    }
    prm.latents = lat.f32;

    if ((rc = vkr_gpu_create(&(vkr_gpu_options){.device = c->device}, &gpu)) ||
        (rc = vkr_t2v_load(gpu, c->dir, VKR_F32, &p)))
        goto done;
    const int sf = vkr_t2v_vae_scale_factor(p);
    /* height / width default to unet.sample_size * vae_scale_factor in diffusers;
     * here they follow the latents when the case omits them. */
    if ((rc = param_int(c, pj, "height", (int)lat.shape[3] * sf, &prm.height)) ||
        (rc = param_int(c, pj, "width", (int)lat.shape[4] * sf, &prm.width)))
        goto done;
    if (prm.height / sf != lat.shape[3] || prm.width / sf != lat.shape[4] || vkr_t2v_latent_channels(p) != lat.shape[1]) {
        rc = vkr_fail(VKR_E_DATA, "%s: in.latents shape does not match height/width/latent channels", c->dir);
        goto done;
    }
    if ((rc = vkr_t2v_run(gpu, p, &prm, &o)))
        goto done;

    const int64_t ids_shape[2] = {o.n_prompts, o.seq};
    int64_t *ids = malloc((size_t)o.n_prompts * o.seq * sizeof *ids);
    if (!ids) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto done;
    }
    memcpy(ids, o.input_ids, (size_t)o.n_prompts * o.seq * sizeof *ids);
    if ((rc = vkr_golden_add_i64(&r->got, "out.input_ids", 2, ids_shape, ids)))
        goto done;
    const int64_t rows = (int64_t)o.n_prompts * prm.batch;
    const int64_t pe_shape[3] = {rows, o.seq, o.hidden};
    if ((rc = add_copy_f32(r, "out.prompt_embeds", 3, pe_shape, o.prompt_embeds, (size_t)(rows * o.seq * o.hidden))))
        goto done;
    int64_t nsteps = o.num_steps;
    int64_t *ts = malloc((size_t)nsteps * sizeof *ts);
    if (!ts) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto done;
    }
    memcpy(ts, o.timesteps, (size_t)nsteps * sizeof *ts);
    if ((rc = vkr_golden_add_i64(&r->got, "out.timesteps", 1, &nsteps, ts)))
        goto done;
    size_t nl = 1;
    for (int d = 0; d < 5; d++)
        nl *= (size_t)o.latent_shape[d];
    for (int k = 0; k < o.num_steps; k++) {
        char name[64];
        snprintf(name, sizeof name, "out.latents_after_step_%d", k);
        if ((rc = add_copy_f32(r, name, 5, o.latent_shape, o.latents_after_step[k], nl)))
            goto done;
    }
    size_t nv = 1;
    for (int d = 0; d < 5; d++)
        nv *= (size_t)o.video_shape[d];
    const int64_t fr_shape[5] = {o.video_shape[0], o.video_shape[2], o.video_shape[3], o.video_shape[4],
                                 o.video_shape[1]};
    if ((rc = add_copy_f32(r, "out.decoded", 5, o.video_shape, o.decoded, nv)) ||
        (rc = add_copy_f32(r, "out.frames", 5, fr_shape, o.frames, nv)))
        goto done;
    snprintf(r->note, sizeof r->note, "t2v %d steps, w %g%s, %dx%d x %d frames, f32 storage", o.num_steps,
             (double)prm.guidance_scale, o.cfg ? " (CFG)" : " (no CFG)", prm.width, prm.height, prm.num_frames);
done:
    vkr_t2v_output_free(&o);
    vkr_t2v_free(p);
    if (gpu)
        vkr_gpu_destroy(gpu);
    free(lat.f32), free(lat.i64);
    return rc;
}
