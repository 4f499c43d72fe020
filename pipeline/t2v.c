/* TextToVideoSDPipeline: see pipeline/t2v.h. */
#include "pipeline/t2v.h"

#include "common/status.h"
#include "model/diffusers_dir.h"
#include "sched/cfg.h"
#include "sched/sampler.h"
#include "text/clip_text.h"
#include "text/tokenizer_clip.h"
#include "vae/autoencoder_kl.h"
#include "video/unet3d.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vkr_t2v {
    vkr_clip_tokenizer *tok;
    vkr_clip_text text;
    int has_text;
    vkr_unet3d *unet;
    vkr_vae vae;
    int has_vae;
    vkr_sched_config sched;
    int has_sched;
    char *dir;
    int sample_size; /* unet.config.sample_size (latent pixels) */
    vkr_dtype unet_activations; /* the load dtype: f16 weights run f16 activations */
};

int vkr_t2v_load(vkr_gpu *gpu, const char *dir, vkr_dtype dtype, vkr_t2v **out)
{
    char path[4200];
    int rc;
    *out = NULL;
    vkr_t2v *p = calloc(1, sizeof *p);
    if (!p)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    p->unet_activations = dtype;
    snprintf(path, sizeof path, "%s/tokenizer", dir);
    if ((rc = vkr_clip_tokenizer_load(path, &p->tok)))
        goto fail;
    snprintf(path, sizeof path, "%s/text_encoder", dir);
    if ((rc = vkr_clip_text_load_dir(gpu, path, VKR_VARIANT_DEFAULT, dtype, &p->text)))
        goto fail;
    p->has_text = 1;
    snprintf(path, sizeof path, "%s/unet", dir);
    if ((rc = vkr_unet3d_load(gpu, path, dtype, &p->unet)))
        goto fail;
    snprintf(path, sizeof path, "%s/vae", dir);
    if ((rc = vkr_vae_load_ex(gpu, path, dtype, VKR_VAE_LOAD_DECODER, &p->vae)))
        goto fail;
    p->has_vae = 1;
    snprintf(path, sizeof path, "%s/scheduler/scheduler_config.json", dir);
    if ((rc = vkr_sched_config_load(&p->sched, path, -1)))
        goto fail;
    p->has_sched = 1;
    /* sample_size is read here, not by the UNet, because only the pipeline's
     * default frame size uses it. */
    vkr_config ucfg = {0};
    if ((rc = vkr_cfg_load_component(&ucfg, dir, "unet")))
        goto fail;
    rc = vkr_cfg_int(&ucfg, "sample_size", 32, &p->sample_size);
    vkr_cfg_free(&ucfg);
    if (rc)
        goto fail;
    if (p->sample_size < 1) {
        rc = vkr_fail(VKR_E_DATA, "%s/unet/config.json: sample_size %d", dir, p->sample_size);
        goto fail;
    }
    if (!(p->dir = strdup(dir))) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto fail;
    }
    *out = p;
    return VKR_OK;
fail:
    vkr_t2v_free(p);
    return rc;
}

void vkr_t2v_free(vkr_t2v *p)
{
    if (!p)
        return;
    vkr_clip_tokenizer_free(p->tok);
    if (p->has_text)
        vkr_clip_text_free(&p->text);
    vkr_unet3d_free(p->unet);
    if (p->has_vae)
        vkr_vae_free(&p->vae);
    if (p->has_sched)
        vkr_sched_config_free(&p->sched);
    free(p->dir);
    free(p);
}

int vkr_t2v_vae_scale_factor(const vkr_t2v *p) { return vkr_vae_scale_factor(&p->vae.cfg); }
int vkr_t2v_latent_channels(const vkr_t2v *p) { return p->vae.cfg.latent_channels; }
const vkr_sched_config *vkr_t2v_scheduler_config(const vkr_t2v *p) { return &p->sched; }
int vkr_t2v_default_size(const vkr_t2v *p) { return p->sample_size * vkr_vae_scale_factor(&p->vae.cfg); }

int vkr_t2v_scheduler_for(const vkr_t2v *p, vkr_sampler_kind kind, vkr_sched_config *out)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/scheduler/scheduler_config.json", p->dir);
    return vkr_sched_config_for_kind(&p->sched, path, kind, out);
}

vkr_t2v_params vkr_t2v_default_params(void)
{
    return (vkr_t2v_params){.prompt = "", .negative_prompt = NULL, .num_frames = 16, .height = 256, .width = 256,
                            .num_inference_steps = 50, .guidance_scale = 9.0f, .batch = 1, .latents = NULL};
}

void vkr_t2v_output_free(vkr_t2v_output *o)
{
    if (!o)
        return;
    free(o->input_ids);
    free(o->prompt_embeds);
    free(o->timesteps);
    if (o->latents_after_step)
        for (int i = 0; i < o->num_steps; i++)
            free(o->latents_after_step[i]);
    free(o->latents_after_step);
    free(o->decoded);
    free(o->frames);
    memset(o, 0, sizeof *o);
}

/* last_hidden_state of one prompt (batch 1) into emb (seq x hidden floats). */
static int encode_prompt(vkr_gpu *gpu, const vkr_t2v *p, const char *text, int seq, int64_t *ids, float *emb)
{
    int32_t *ids32 = malloc((size_t)seq * sizeof *ids32);
    vkr_clip_text_output o = {0};
    int rc;
    if (!ids32)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    if ((rc = vkr_clip_tokenize(p->tok, text, ids32, seq, NULL)))
        goto done;
    for (int j = 0; j < seq; j++)
        ids[j] = ids32[j];
    if ((rc = vkr_clip_text_forward(gpu, &p->text, ids, 1, seq, 0, &o)))
        goto done;
    rc = vkr_tensor_download(gpu, &o.last_hidden_state, emb, VKR_F32);
done:
    vkr_clip_text_output_free(gpu, &o);
    free(ids32);
    return rc;
}

/* x = a * x0 + b * noise at the noise level the sampler's sample has just
 * before step i (i == num_steps: the clean sample, a = 1, b = 0); this is the
 * scheduler's add_noise at timesteps[i]. */
static void noise_level(const vkr_sampler *s, int i, float *a, float *b)
{
    *a = 1.0f, *b = 0.0f;
    if (i >= s->num_steps)
        return;
    if (s->cfg.kind == VKR_SAMPLER_DDIM) {
        const double t = s->timesteps[i];
        if (t < 0 || t >= s->cfg.num_train_timesteps)
            return;
        const float acp = s->alphas_cumprod[(int)t];
        *a = sqrtf(acp), *b = sqrtf(1.0f - acp);
    } else if (s->cfg.kind == VKR_SAMPLER_EULER) {
        *b = s->sigmas[i]; /* Euler samples live at x0 + sigma * noise */
    } else {
        const float sigma = s->sigmas[i], alpha = 1.0f / sqrtf(sigma * sigma + 1.0f);
        *a = alpha, *b = sigma * alpha;
    }
}

/* Pins the first kf latent frames of x (B, C, F, h, w) to known noised to the
 * level before step i (see vkr_t2v_params.known_latents). */
static void pin_known(const vkr_sampler *s, int i, const float *known, const float *noise, int kf, int64_t B,
                      int64_t C, int64_t F, int64_t hw, float *x)
{
    float a, b;
    noise_level(s, i, &a, &b);
    for (int64_t bc = 0; bc < B * C; bc++)
        for (int64_t f = 0; f < kf; f++)
            for (int64_t k = 0; k < hw; k++) {
                const size_t xi = (size_t)((bc * F + f) * hw + k), ki = (size_t)((bc * kf + f) * hw + k);
                x[xi] = a * known[ki] + b * noise[xi];
            }
}

static void report(const vkr_t2v_params *prm, vkr_t2v_stage stage, int step, int n_steps)
{
    if (prm->progress)
        prm->progress(prm->progress_ctx, stage, step, n_steps);
}

int vkr_t2v_run(vkr_gpu *gpu, const vkr_t2v *p, const vkr_t2v_params *prm, vkr_t2v_output *out)
{
    vkr_sampler s = {0};
    int have_sampler = 0;
    vkr_tensor sample = {0}, ts = {0}, ehs = {0}, eps_t = {0}, z = {0}, video = {0};
    float *x = NULL, *xin2 = NULL, *eps2 = NULL, *eps = NULL, *tvals = NULL;
    int rc;
    memset(out, 0, sizeof *out);

    const int sf = vkr_vae_scale_factor(&p->vae.cfg);
    const int C = p->vae.cfg.latent_channels;
    const vkr_unet3d_config *ucfg = vkr_unet3d_get_config(p->unet);
    if (!prm->latents)
        return vkr_fail(VKR_E_USAGE, "t2v: initial latents are required");
    if (prm->height <= 0 || prm->width <= 0 || prm->height % 8 || prm->width % 8)
        return vkr_fail(VKR_E_USAGE, "t2v: height and width must be positive multiples of 8 (got %dx%d)",
                        prm->height, prm->width);
    if (prm->num_frames < 1 || prm->batch < 1 || prm->num_inference_steps < 1)
        return vkr_fail(VKR_E_USAGE, "t2v: num_frames, batch and num_inference_steps must be >= 1");
    if (prm->known_frames < 0 || prm->known_frames > prm->num_frames || (prm->known_frames && !prm->known_latents))
        return vkr_fail(VKR_E_USAGE, "t2v: %d known frames of %d", prm->known_frames, prm->num_frames);
    if (ucfg->in_channels != C)
        return vkr_fail(VKR_E_DATA, "t2v: unet in_channels %d != vae latent_channels %d", ucfg->in_channels, C);

    const int64_t B = prm->batch, F = prm->num_frames, h = prm->height / sf, w = prm->width / sf;
    const size_t n = (size_t)(B * C * F * h * w);
    const int cfg = vkr_cfg_enabled(prm->guidance_scale);
    const int seq = vkr_clip_model_max_length(p->tok);
    const int D = p->text.config.hidden_size;
    const int np = cfg ? 2 : 1;
    if (D != ucfg->cross_attention_dim)
        return vkr_fail(VKR_E_DATA, "t2v: text encoder width %d != unet cross_attention_dim %d", D,
                        ucfg->cross_attention_dim);
    out->cfg = cfg, out->seq = seq, out->hidden = D, out->n_prompts = np;
    const int64_t ls[5] = {B, C, F, h, w};
    memcpy(out->latent_shape, ls, sizeof ls);

    /* Text: [negative, prompt] ids; embeddings rows [uncond x B, cond x B]. */
    report(prm, VKR_T2V_STAGE_TEXT, 0, prm->num_inference_steps);
    float *emb1 = NULL;
    if (!(out->input_ids = calloc((size_t)np * seq, sizeof *out->input_ids)) ||
        !(out->prompt_embeds = malloc((size_t)np * B * seq * D * sizeof(float))) ||
        !(emb1 = malloc((size_t)np * seq * D * sizeof(float)))) {
        free(emb1);
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto done;
    }
    if (cfg) {
        rc = encode_prompt(gpu, p, prm->negative_prompt ? prm->negative_prompt : "", seq, out->input_ids, emb1);
        if (!rc)
            rc = encode_prompt(gpu, p, prm->prompt ? prm->prompt : "", seq, out->input_ids + seq,
                               emb1 + (size_t)seq * D);
    } else {
        rc = encode_prompt(gpu, p, prm->prompt ? prm->prompt : "", seq, out->input_ids, emb1);
    }
    if (!rc)
        for (int k = 0; k < np; k++)
            for (int64_t b = 0; b < B; b++)
                memcpy(out->prompt_embeds + ((size_t)k * B + b) * seq * D, emb1 + (size_t)k * seq * D,
                       (size_t)seq * D * sizeof(float));
    free(emb1);
    if (rc)
        goto done;

    /* Scheduler. */
    if ((rc = vkr_sampler_init(&s, prm->sched ? prm->sched : &p->sched, prm->num_inference_steps)))
        goto done;
    have_sampler = 1;
    out->num_steps = s.num_steps;
    if (!(out->timesteps = malloc((size_t)s.num_steps * sizeof *out->timesteps)) ||
        !(out->latents_after_step = calloc((size_t)s.num_steps, sizeof *out->latents_after_step))) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto done;
    }
    for (int i = 0; i < s.num_steps; i++)
        out->timesteps[i] = (int64_t)s.timesteps[i];

    const int64_t rows = np * B;
    const int64_t sne[VKR_DIMS] = {rows, C, F, h, w}, tne[VKR_DIMS] = {1, 1, 1, 1, rows},
                  ene[VKR_DIMS] = {1, 1, rows, seq, D};
    if (!(x = malloc(n * sizeof *x)) || !(xin2 = malloc((size_t)np * n * sizeof *xin2)) ||
        !(eps2 = malloc((size_t)np * n * sizeof *eps2)) || !(eps = malloc(n * sizeof *eps)) ||
        !(tvals = malloc((size_t)rows * sizeof *tvals))) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto done;
    }
    if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, p->unet_activations, sne, &sample)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, tne, &ts)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ene, &ehs)) ||
        (rc = vkr_tensor_upload(gpu, &ehs, out->prompt_embeds, VKR_F32)))
        goto done;

    vkr_sampler_init_latents(&s, prm->latents, x, n);
    if (prm->known_frames)
        pin_known(&s, 0, prm->known_latents, prm->latents, prm->known_frames, B, C, F, h * w, x);
    report(prm, VKR_T2V_STAGE_DENOISE, 0, s.num_steps);
    for (int i = 0; i < s.num_steps; i++) {
        vkr_sampler_scale_input(&s, i, x, xin2, n);
        if (cfg)
            memcpy(xin2 + n, xin2, n * sizeof *xin2);
        for (int64_t r = 0; r < rows; r++)
            tvals[r] = (float)s.timesteps[i];
        if ((rc = vkr_tensor_upload(gpu, &sample, xin2, VKR_F32)) || (rc = vkr_tensor_upload(gpu, &ts, tvals, VKR_F32)) ||
            (rc = vkr_unet3d_forward(gpu, p->unet, &sample, &ts, &ehs, &eps_t)) ||
            (rc = vkr_tensor_download(gpu, &eps_t, eps2, VKR_F32)))
            goto done;
        vkr_tensor_free(gpu, &eps_t);
        if (cfg)
            vkr_cfg_combine(eps2, (size_t)B, n / (size_t)B, prm->guidance_scale, 0.0f, eps);
        else
            memcpy(eps, eps2, n * sizeof *eps);
        if ((rc = vkr_sampler_step(&s, i, eps, x, n, NULL)))
            goto done;
        if (prm->known_frames)
            pin_known(&s, i + 1, prm->known_latents, prm->latents, prm->known_frames, B, C, F, h * w, x);
        if (!prm->final_latents_only || i == s.num_steps - 1) {
            if (!(out->latents_after_step[i] = malloc(n * sizeof(float)))) {
                rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
                goto done;
            }
            memcpy(out->latents_after_step[i], x, n * sizeof *x);
        }
        report(prm, VKR_T2V_STAGE_DENOISE, i + 1, s.num_steps);
    }
    report(prm, VKR_T2V_STAGE_DECODE, s.num_steps, s.num_steps);

    /* Decode: z = x * float32(1 / scaling_factor); the VAE folds frames into the batch. */
    const float inv_scale = (float)(1.0 / p->vae.cfg.scaling_factor);
    for (size_t k = 0; k < n; k++)
        x[k] = x[k] * inv_scale;
    /* The VAE decodes every frame on its own (frames are folded into its batch),
     * so chunks of frames give the same result with less device memory. */
    const int64_t fc = prm->decode_frames > 0 && prm->decode_frames < F ? prm->decode_frames : F;
    int64_t oc = 0, H = 0, W = 0;
    for (int64_t f0 = 0; f0 < F; f0 += fc) {
        const int64_t nf = F - f0 < fc ? F - f0 : fc;
        const int64_t zne[VKR_DIMS] = {B, C, nf, h, w};
        const float *zsrc = x;
        if (nf != F) { /* gather (B, C, nf, h, w) from (B, C, F, h, w) into eps (free by now) */
            for (int64_t bc = 0; bc < B * C; bc++)
                memcpy(eps + (size_t)(bc * nf * h * w), x + (size_t)((bc * F + f0) * h * w),
                       (size_t)(nf * h * w) * sizeof *eps);
            zsrc = eps;
        }
        if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, zne, &z)) ||
            (rc = vkr_tensor_upload(gpu, &z, zsrc, VKR_F32)) || (rc = vkr_vae_decode(gpu, &p->vae, &z, &video)))
            goto done;
        vkr_tensor_free(gpu, &z);
        if (f0 == 0) {
            oc = video.ne[1], H = video.ne[3], W = video.ne[4];
            const int64_t vs[5] = {B, oc, F, H, W};
            memcpy(out->video_shape, vs, sizeof vs);
            const size_t nv = (size_t)(B * oc * F * H * W);
            if (!(out->decoded = malloc(nv * sizeof(float))) || !(out->frames = malloc(nv * sizeof(float)))) {
                rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
                goto done;
            }
        }
        /* Downloaded into `frames` as scratch, then placed frame by frame. */
        if ((rc = vkr_tensor_download(gpu, &video, out->frames, VKR_F32)))
            goto done;
        vkr_tensor_free(gpu, &video);
        for (int64_t bc = 0; bc < B * oc; bc++)
            memcpy(out->decoded + (size_t)((bc * F + f0) * H * W), out->frames + (size_t)(bc * nf * H * W),
                   (size_t)(nf * H * W) * sizeof(float));
    }
    /* frames[b, f, y, x, c] = clamp(decoded[b, c, f, y, x] / 2 + 0.5, 0, 1) */
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < oc; c++)
            for (int64_t f = 0; f < F; f++)
                for (int64_t yx = 0; yx < H * W; yx++) {
                    float v = out->decoded[(((b * oc + c) * F + f) * H * W) + yx];
                    v = v / 2.0f;
                    v = v + 0.5f;
                    v = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
                    out->frames[((b * F + f) * H * W + yx) * oc + c] = v;
                }
    report(prm, VKR_T2V_STAGE_DONE, s.num_steps, s.num_steps);
done:
    vkr_tensor_free(gpu, &sample);
    vkr_tensor_free(gpu, &ts);
    vkr_tensor_free(gpu, &ehs);
    vkr_tensor_free(gpu, &eps_t);
    vkr_tensor_free(gpu, &z);
    vkr_tensor_free(gpu, &video);
    if (have_sampler)
        vkr_sampler_free(&s);
    free(x), free(xin2), free(eps2), free(eps), free(tvals);
    if (rc)
        vkr_t2v_output_free(out);
    return rc;
}
