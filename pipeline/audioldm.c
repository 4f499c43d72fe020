/* AudioLDMPipeline: see pipeline/audioldm.h. */
#include "pipeline/audioldm.h"

#include "audio/griffinlim.h"
#include "audio/hifigan.h"
#include "audio/mel.h"
#include "audio/unet2d.h"
#include "common/status.h"
#include "sched/cfg.h"
#include "sched/sampler.h"
#include "text/clap_text.h"
#include "text/tokenizer_roberta.h"
#include "vae/autoencoder_kl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct vkr_audioldm {
    vkr_roberta_tokenizer *tok;
    vkr_clap_text text;
    int has_text;
    vkr_unet2d *unet;
    vkr_vae vae;
    int has_vae;
    vkr_hifigan vocoder;
    int has_vocoder;
    vkr_sched_config sched;
    int has_sched;
    char sched_path[4200]; /* scheduler/scheduler_config.json */
    int sampling_rate;     /* the vocoder's, else the mel's (16 kHz) */
    int samples_per_frame; /* prod(upsample_rates), else the mel hop (160) */
    int mel_bins;          /* vocoder model_in_dim, else 64 */
};

#define VKR_PI 3.14159265358979323846

static int file_exists(const char *path) { return access(path, R_OK) == 0; }

int vkr_audioldm_load(vkr_gpu *gpu, const char *dir, vkr_dtype dtype, vkr_audioldm **out)
{
    char path[4200];
    int rc;
    *out = NULL;
    vkr_audioldm *p = calloc(1, sizeof *p);
    if (!p)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    snprintf(path, sizeof path, "%s/tokenizer", dir);
    if ((rc = vkr_roberta_tokenizer_load(path, &p->tok)))
        goto fail;
    snprintf(path, sizeof path, "%s/text_encoder", dir);
    if ((rc = vkr_clap_text_load_dir(gpu, path, VKR_VARIANT_DEFAULT, dtype, &p->text)))
        goto fail;
    p->has_text = 1;
    snprintf(path, sizeof path, "%s/unet", dir);
    if ((rc = vkr_unet2d_load(gpu, path, dtype, &p->unet)))
        goto fail;
    snprintf(path, sizeof path, "%s/vae", dir);
    if ((rc = vkr_vae_load_ex(gpu, path, dtype, VKR_VAE_LOAD_DECODER, &p->vae)))
        goto fail;
    p->has_vae = 1;
    snprintf(p->sched_path, sizeof p->sched_path, "%s/scheduler/scheduler_config.json", dir);
    if ((rc = vkr_sched_config_load(&p->sched, p->sched_path, -1)))
        goto fail;
    p->has_sched = 1;

    const vkr_mel_config mc = vkr_mel_config_audioldm();
    p->sampling_rate = mc.sample_rate, p->samples_per_frame = mc.hop, p->mel_bins = mc.n_mels;
    snprintf(path, sizeof path, "%s/vocoder/config.json", dir);
    if (file_exists(path)) {
        if ((rc = vkr_hifigan_load_component(gpu, dir, "vocoder", VKR_VARIANT_DEFAULT, dtype, &p->vocoder)))
            goto fail;
        p->has_vocoder = 1;
        int64_t up = 1;
        for (int i = 0; i < p->vocoder.cfg.num_upsamples; i++)
            up *= p->vocoder.cfg.upsample_rates[i];
        p->sampling_rate = p->vocoder.cfg.sampling_rate;
        p->samples_per_frame = (int)up;
        p->mel_bins = p->vocoder.cfg.model_in_dim;
    }
    if (p->vae.cfg.in_channels != 1 || p->vae.cfg.out_channels != 1) {
        rc = vkr_fail(VKR_E_DATA, "%s/vae: a mel VAE has 1 input and output channel (got %d, %d)", dir,
                      p->vae.cfg.in_channels, p->vae.cfg.out_channels);
        goto fail;
    }
    if (vkr_unet2d_in_channels(p->unet) != p->vae.cfg.latent_channels ||
        vkr_unet2d_out_channels(p->unet) != p->vae.cfg.latent_channels) {
        rc = vkr_fail(VKR_E_DATA, "%s: unet in/out channels %d/%d != vae latent_channels %d", dir,
                      vkr_unet2d_in_channels(p->unet), vkr_unet2d_out_channels(p->unet),
                      p->vae.cfg.latent_channels);
        goto fail;
    }
    if (vkr_unet2d_class_embed_dim(p->unet) != p->text.config.projection_dim) {
        rc = vkr_fail(VKR_E_DATA, "%s: unet class embedding input %d != text_encoder projection_dim %d", dir,
                      vkr_unet2d_class_embed_dim(p->unet), p->text.config.projection_dim);
        goto fail;
    }
    *out = p;
    return VKR_OK;
fail:
    vkr_audioldm_free(p);
    return rc;
}

void vkr_audioldm_free(vkr_audioldm *p)
{
    if (!p)
        return;
    vkr_roberta_tokenizer_free(p->tok);
    if (p->has_text)
        vkr_clap_text_free(&p->text);
    vkr_unet2d_free(p->unet);
    if (p->has_vae)
        vkr_vae_free(&p->vae);
    if (p->has_vocoder)
        vkr_hifigan_free(&p->vocoder);
    if (p->has_sched)
        vkr_sched_config_free(&p->sched);
    free(p);
}

int vkr_audioldm_sampling_rate(const vkr_audioldm *p) { return p->sampling_rate; }
const vkr_sched_config *vkr_audioldm_scheduler_config(const vkr_audioldm *p) { return &p->sched; }

int vkr_audioldm_scheduler_for(const vkr_audioldm *p, vkr_sampler_kind kind, vkr_sched_config *out)
{
    return vkr_sched_config_for_kind(&p->sched, p->sched_path, kind, out);
}

vkr_audioldm_params vkr_audioldm_default_params(void)
{
    return (vkr_audioldm_params){.prompt = "", .audio_length_in_s = 5.12, .num_inference_steps = 10,
                                 .guidance_scale = 2.5f, .batch = 1, .vocoder = VKR_VOCODER_HIFIGAN};
}

int vkr_audioldm_get_geometry(const vkr_audioldm *p, double seconds, vkr_audioldm_geometry *g)
{
    memset(g, 0, sizeof *g);
    const int64_t vsf = vkr_vae_scale_factor(&p->vae.cfg);
    /* float64 throughout, Python int() truncation, as the pipeline does */
    const double vuf = (double)p->samples_per_frame / (double)p->sampling_rate;
    if (!(seconds >= vuf * (double)vsf) || !(seconds < 1e6))
        return vkr_fail(VKR_E_USAGE, "audioldm: audio length %g s is below the minimum %g s (or not finite)", seconds,
                        vuf * (double)vsf);
    if (p->mel_bins % vsf)
        return vkr_fail(VKR_E_DATA, "audioldm: mel bins %d are not a multiple of the VAE scale factor %lld",
                        p->mel_bins, (long long)vsf);
    int64_t height = (int64_t)(seconds / vuf);
    if (height % vsf)
        height = (int64_t)ceil((double)height / (double)vsf) * vsf;
    g->mel_frames = height;
    g->latent_channels = p->vae.cfg.latent_channels;
    g->latent_frames = height / vsf;
    g->latent_bins = p->mel_bins / vsf;
    g->orig_len = (int64_t)(seconds * (double)p->sampling_rate);
    return VKR_OK;
}

double vkr_audioldm_latent_frames_to_s(const vkr_audioldm *p, int64_t latent_frames)
{
    const double vuf = (double)p->samples_per_frame / (double)p->sampling_rate;
    return (double)(latent_frames * vkr_vae_scale_factor(&p->vae.cfg)) * vuf;
}

void vkr_audioldm_output_free(vkr_audioldm_output *o)
{
    if (!o)
        return;
    free(o->input_ids_cond), free(o->attention_mask_cond);
    free(o->input_ids_uncond), free(o->attention_mask_uncond);
    free(o->prompt_embeds);
    free(o->timesteps);
    if (o->latents_after_step)
        for (int i = 0; i < o->num_steps; i++)
            free(o->latents_after_step[i]);
    free(o->latents_after_step);
    free(o->mel);
    free(o->waveform_untrimmed);
    free(o->waveform);
    memset(o, 0, sizeof *o);
}

/* ---- text ---- */

/* tok(text, padding="max_length", max_length=len, truncation=True) and
 * F.normalize(clap(ids, attention_mask=mask).text_embeds) into emb (P floats). */
static int encode_one(vkr_gpu *gpu, const vkr_audioldm *p, const char *text, int len, int64_t *ids,
                      int64_t *mask, float *emb)
{
    int32_t *ids32 = malloc((size_t)len * sizeof *ids32), *mask32 = malloc((size_t)len * sizeof *mask32);
    vkr_clap_text_output o = {0};
    int rc;
    if (!ids32 || !mask32) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto done;
    }
    if ((rc = vkr_roberta_tokenize(p->tok, text, len, ids32, mask32, NULL)))
        goto done;
    for (int j = 0; j < len; j++)
        ids[j] = ids32[j], mask[j] = mask32[j];
    if ((rc = vkr_clap_text_forward(gpu, &p->text, ids, mask, 1, len, 0, &o)))
        goto done;
    rc = vkr_tensor_download(gpu, &o.text_embeds_normalized, emb, VKR_F32);
done:
    vkr_clap_text_output_free(gpu, &o);
    free(ids32), free(mask32);
    return rc;
}

int vkr_audioldm_encode_prompt(vkr_gpu *gpu, const vkr_audioldm *p, const vkr_audioldm_params *prm,
                               vkr_audioldm_output *out)
{
    const int cfg = vkr_cfg_enabled(prm->guidance_scale);
    const int64_t P = p->text.config.projection_dim;
    const int64_t Lc = vkr_roberta_model_max_length(p->tok);
    /* diffusers pads the negative prompt to prompt_embeds.shape[1], the
     * embedding width, not to the tokenizer's model_max_length */
    const int64_t Lu = P;
    out->cfg = cfg, out->embed_dim = P, out->cond_len = Lc, out->uncond_len = cfg ? Lu : 0;
    if (!(out->input_ids_cond = calloc((size_t)Lc, sizeof(int64_t))) ||
        !(out->attention_mask_cond = calloc((size_t)Lc, sizeof(int64_t))) ||
        !(out->prompt_embeds = calloc((size_t)(cfg ? 2 : 1) * P, sizeof(float))) ||
        (cfg && (!(out->input_ids_uncond = calloc((size_t)Lu, sizeof(int64_t))) ||
                 !(out->attention_mask_uncond = calloc((size_t)Lu, sizeof(int64_t))))))
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    int rc = encode_one(gpu, p, prm->prompt ? prm->prompt : "", (int)Lc, out->input_ids_cond,
                        out->attention_mask_cond, out->prompt_embeds + (cfg ? P : 0));
    if (!rc && cfg)
        rc = encode_one(gpu, p, prm->negative_prompt ? prm->negative_prompt : "", (int)Lu, out->input_ids_uncond,
                        out->attention_mask_uncond, out->prompt_embeds);
    return rc;
}

/* ---- windows ---- */

void vkr_audioldm_windows_free(vkr_audioldm_windows *w)
{
    if (!w)
        return;
    free(w->start);
    free(w->weight);
    memset(w, 0, sizeof *w);
}

int vkr_audioldm_window_plan(int64_t frames, int64_t window, int64_t overlap, vkr_audioldm_windows *w)
{
    memset(w, 0, sizeof *w);
    if (frames < 1 || window < 1)
        return vkr_fail(VKR_E_USAGE, "audioldm: window plan needs frames and window >= 1 (got %lld, %lld)",
                        (long long)frames, (long long)window);
    if (frames <= window) {
        window = frames;
        overlap = 0;
    } else if (overlap < 1 || overlap >= window) {
        return vkr_fail(VKR_E_USAGE, "audioldm: window overlap %lld must be in [1, %lld)", (long long)overlap,
                        (long long)window);
    }
    const int64_t stride = window - overlap;
    const int64_t n = frames <= window ? 1 : (frames - window + stride - 1) / stride + 1;
    double *raw = NULL, *sum = NULL;
    w->frames = frames, w->window = window, w->n_windows = n;
    if (!(w->start = malloc((size_t)n * sizeof *w->start)) ||
        !(w->weight = malloc((size_t)(n * window) * sizeof *w->weight)) ||
        !(raw = malloc((size_t)(n * window) * sizeof *raw)) || !(sum = calloc((size_t)frames, sizeof *sum))) {
        free(raw), free(sum);
        vkr_audioldm_windows_free(w);
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    }
    for (int64_t k = 0; k < n; k++)
        w->start[k] = k == n - 1 ? frames - window : k * stride;
    /* Raw weight: a raised-cosine ramp across each overlap with a neighbour
     * (sin^2 up on the left, cos^2 down on the right: two neighbours' ramps
     * sum to 1 by themselves), 1 elsewhere. Sampled at frame centres so no
     * weight is exactly 0 and every frame is covered. */
    for (int64_t k = 0; k < n; k++) {
        const int64_t s = w->start[k], e = s + window;
        const int64_t left = k > 0 ? w->start[k - 1] + window - s : 0;  /* overlap with the previous window */
        const int64_t right = k < n - 1 ? e - w->start[k + 1] : 0;      /* with the next one */
        for (int64_t t = 0; t < window; t++) {
            double v = 1.0;
            if (t < left) {
                const double a = sin(0.5 * VKR_PI * ((double)t + 0.5) / (double)left);
                v *= a * a;
            }
            if (window - 1 - t < right) {
                const double a = sin(0.5 * VKR_PI * ((double)(window - 1 - t) + 0.5) / (double)right);
                v *= a * a;
            }
            raw[k * window + t] = v;
            sum[s + t] += v;
        }
    }
    /* Normalise: with overlaps above half a window three windows can share a
     * frame, and the normalisation keeps the partition of unity exact there too. */
    for (int64_t k = 0; k < n; k++)
        for (int64_t t = 0; t < window; t++)
            w->weight[k * window + t] = (float)(raw[k * window + t] / sum[w->start[k] + t]);
    free(raw), free(sum);
    return VKR_OK;
}

/* Latent frames of a duration by the pipeline's own arithmetic (mel frames
 * truncated, rounded up to the VAE scale factor); 0 when below one frame. */
static int64_t latent_frames_of(const vkr_audioldm *p, double seconds)
{
    const int64_t vsf = vkr_vae_scale_factor(&p->vae.cfg);
    const double vuf = (double)p->samples_per_frame / (double)p->sampling_rate;
    if (!(seconds > 0) || !(seconds < 1e6))
        return 0;
    int64_t height = (int64_t)(seconds / vuf);
    if (height % vsf)
        height = (int64_t)ceil((double)height / (double)vsf) * vsf;
    return height / vsf;
}

int vkr_audioldm_window_frames(const vkr_audioldm *p, const vkr_audioldm_params *prm, int64_t *window,
                               int64_t *overlap)
{
    const double ws = prm->window_s > 0 ? prm->window_s : 10.24;
    const int64_t win = latent_frames_of(p, ws);
    if (win < 2)
        return vkr_fail(VKR_E_USAGE, "audioldm: window of %g s is under two latent frames", ws);
    int64_t ov = prm->window_overlap_s > 0 ? latent_frames_of(p, prm->window_overlap_s) : win / 4;
    if (ov < 1)
        ov = 1;
    if (ov >= win)
        return vkr_fail(VKR_E_USAGE, "audioldm: window overlap %g s is not shorter than the window %g s",
                        prm->window_overlap_s, ws);
    *window = win, *overlap = ov;
    return VKR_OK;
}

/* ---- decode ---- */

int vkr_audioldm_decode(vkr_gpu *gpu, const vkr_audioldm *p, const float *latents, int64_t batch,
                        int64_t latent_frames, int64_t orig_len, vkr_vocoder_kind vocoder, vkr_audioldm_output *out)
{
    vkr_tensor z = {0}, mel = {0}, wav = {0};
    float *zh = NULL;
    vkr_mel *melspec = NULL;
    int rc;
    const int64_t vsf = vkr_vae_scale_factor(&p->vae.cfg);
    const int64_t C = p->vae.cfg.latent_channels, M = p->mel_bins / vsf, T = latent_frames, B = batch;
    if (B < 1 || T < 1)
        return vkr_fail(VKR_E_USAGE, "audioldm: decode needs batch and latent_frames >= 1");
    if (vocoder == VKR_VOCODER_HIFIGAN && !p->has_vocoder)
        return vkr_fail(VKR_E_USAGE, "audioldm: the model has no vocoder/ folder; use the Griffin-Lim vocoder");
    const size_t n = (size_t)(B * C * T * M);
    if (!(zh = malloc(n * sizeof *zh)))
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    /* z = x * float32(1 / scaling_factor): the reciprocal in double, one float multiply */
    const float inv_scale = (float)(1.0 / p->vae.cfg.scaling_factor);
    for (size_t k = 0; k < n; k++)
        zh[k] = latents[k] * inv_scale;
    const int64_t zne[VKR_DIMS] = {B, C, 1, T, M};
    if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, zne, &z)) ||
        (rc = vkr_tensor_upload(gpu, &z, zh, VKR_F32)) || (rc = vkr_vae_decode(gpu, &p->vae, &z, &mel)))
        goto done;
    vkr_tensor_free(gpu, &z);
    const int64_t Tm = mel.ne[3], bins = mel.ne[4];
    if (mel.ne[1] != 1 || bins != p->mel_bins) {
        rc = vkr_fail(VKR_E_DATA, "audioldm: the VAE decoded %lld x %lld mel bins, the vocoder takes %d",
                      (long long)mel.ne[1], (long long)bins, p->mel_bins);
        goto done;
    }
    out->mel_shape[0] = B, out->mel_shape[1] = 1, out->mel_shape[2] = Tm, out->mel_shape[3] = bins;
    const size_t nm = (size_t)(B * Tm * bins);
    if (!(out->mel = malloc(nm * sizeof(float)))) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto done;
    }
    if ((rc = vkr_tensor_download(gpu, &mel, out->mel, VKR_F32)))
        goto done;

    int64_t L;
    if (vocoder == VKR_VOCODER_HIFIGAN) {
        /* vocoder(mel.squeeze(1)): (B, T, bins) time-major, a view of the decoded mel */
        vkr_tensor spec;
        const int64_t sne[VKR_DIMS] = {1, 1, B, Tm, bins};
        L = vkr_hifigan_output_length(&p->vocoder.cfg, Tm);
        if (L < 1) {
            rc = vkr_fail(VKR_E_USAGE, "audioldm: %lld mel frames are too short for the vocoder", (long long)Tm);
            goto done;
        }
        const int64_t wne[VKR_DIMS] = {1, 1, 1, B, L};
        if ((rc = vkr_tensor_reshape(&mel, sne, &spec)) ||
            (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, wne, &wav)) ||
            (rc = vkr_hifigan_forward(gpu, &p->vocoder, &spec, &wav, NULL, NULL)))
            goto done;
        if (!(out->waveform_untrimmed = malloc((size_t)(B * L) * sizeof(float)))) {
            rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
            goto done;
        }
        if ((rc = vkr_tensor_download(gpu, &wav, out->waveform_untrimmed, VKR_F32)))
            goto done;
        out->sampling_rate = p->vocoder.cfg.sampling_rate;
    } else {
        /* The VAE's mel is AudioLDM's natural-log mel (audio/mel.h): invert the
         * filterbank, then Griffin-Lim; one hop of samples per frame like HiFi-GAN. */
        vkr_mel_config mc = vkr_mel_config_audioldm();
        mc.n_mels = (int)bins;
        const vkr_griffinlim_config gl = vkr_griffinlim_config_default();
        if ((rc = vkr_mel_create(&mc, &melspec)))
            goto done;
        L = Tm * mc.hop;
        if (!(out->waveform_untrimmed = malloc((size_t)(B * L) * sizeof(float)))) {
            rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
            goto done;
        }
        for (int64_t b = 0; b < B; b++)
            if ((rc = vkr_griffinlim_vocode(melspec, out->mel + (size_t)(b * Tm * bins), Tm, &gl,
                                            out->waveform_untrimmed + (size_t)(b * L), L)))
                goto done;
        out->sampling_rate = mc.sample_rate;
    }
    out->n_untrimmed = L;
    /* audio[:, :orig_len] keeps what there is when the vocoder gave less */
    out->n_samples = orig_len < L ? orig_len : L;
    if (out->n_samples < 1) {
        rc = vkr_fail(VKR_E_USAGE, "audioldm: no samples to keep (orig_len %lld)", (long long)orig_len);
        goto done;
    }
    if (!(out->waveform = malloc((size_t)(B * out->n_samples) * sizeof(float)))) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto done;
    }
    for (int64_t b = 0; b < B; b++)
        memcpy(out->waveform + (size_t)(b * out->n_samples), out->waveform_untrimmed + (size_t)(b * L),
               (size_t)out->n_samples * sizeof(float));
done:
    vkr_tensor_free(gpu, &z);
    vkr_tensor_free(gpu, &mel);
    vkr_tensor_free(gpu, &wav);
    vkr_mel_free(melspec);
    free(zh);
    return rc;
}

/* ---- denoising ---- */

/* Guided noise prediction on latent frames [t0, t0 + Tw) of x_in (B, C, T, M):
 * the UNet on [x; x] (cfg) with class labels [emb_u x B; emb_c x B], then CFG. */
typedef struct {
    vkr_tensor sample, ts, labels, eps;
    float *xin2, *eps2;
} unet_buffers;

static int guided_eps(vkr_gpu *gpu, const vkr_audioldm *p, unet_buffers *u, const float *x_in, int64_t B,
                      int64_t C, int64_t T, int64_t M, int64_t t0, int64_t Tw, int cfg, float w, float *eps)
{
    const size_t nw = (size_t)(B * C * Tw * M);
    int rc;
    for (int64_t bc = 0; bc < B * C; bc++)
        memcpy(u->xin2 + (size_t)(bc * Tw * M), x_in + (size_t)((bc * T + t0) * M), (size_t)(Tw * M) * sizeof(float));
    if (cfg)
        memcpy(u->xin2 + nw, u->xin2, nw * sizeof(float));
    if ((rc = vkr_tensor_upload(gpu, &u->sample, u->xin2, VKR_F32)) ||
        (rc = vkr_unet2d_forward(gpu, p->unet, &u->sample, &u->ts, &u->labels, NULL, &u->eps)) ||
        (rc = vkr_tensor_download(gpu, &u->eps, u->eps2, VKR_F32)))
        return rc;
    vkr_tensor_free(gpu, &u->eps);
    if (cfg)
        vkr_cfg_combine(u->eps2, (size_t)B, nw / (size_t)B, w, 0.0f, eps);
    else
        memcpy(eps, u->eps2, nw * sizeof(float));
    return VKR_OK;
}

int vkr_audioldm_run(vkr_gpu *gpu, const vkr_audioldm *p, const vkr_audioldm_params *prm, vkr_audioldm_output *out)
{
    memset(out, 0, sizeof *out);
    if (!prm->latents)
        return vkr_fail(VKR_E_USAGE, "audioldm: initial latents are required");
    if (prm->batch < 1 || prm->num_inference_steps < 1)
        return vkr_fail(VKR_E_USAGE, "audioldm: batch and num_inference_steps must be >= 1");
    if (prm->vocoder == VKR_VOCODER_HIFIGAN && !p->has_vocoder)
        return vkr_fail(VKR_E_USAGE, "audioldm: the model has no vocoder/ folder; use the Griffin-Lim vocoder");
    vkr_audioldm_geometry g;
    vkr_audioldm_windows win = {0};
    vkr_sampler s = {0};
    int have_sampler = 0;
    unet_buffers u = {0};
    float *x = NULL, *xin = NULL, *eps = NULL, *epsw = NULL, *tvals = NULL, *labels = NULL;
    int rc;
    if ((rc = vkr_audioldm_get_geometry(p, prm->audio_length_in_s, &g)))
        return rc;
    const int64_t B = prm->batch, C = g.latent_channels, T = g.latent_frames, M = g.latent_bins;
    const size_t n = (size_t)(B * C * T * M);
    const int64_t ls[4] = {B, C, T, M};
    memcpy(out->latent_shape, ls, sizeof ls);
    out->sampling_rate = p->sampling_rate;

    if ((rc = vkr_audioldm_encode_prompt(gpu, p, prm, out)))
        goto done;
    const int cfg = out->cfg;
    const int64_t P = out->embed_dim, rows = (cfg ? 2 : 1) * B;

    int64_t wlen, wover;
    if ((rc = vkr_audioldm_window_frames(p, prm, &wlen, &wover)) ||
        (rc = vkr_audioldm_window_plan(T, wlen, wover, &win)))
        goto done;
    out->n_windows = win.n_windows;
    const int64_t Tw = win.window;

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

    const size_t nw = (size_t)(B * C * Tw * M);
    if (!(x = malloc(n * sizeof *x)) || !(xin = malloc(n * sizeof *xin)) || !(eps = malloc(n * sizeof *eps)) ||
        !(epsw = malloc(nw * sizeof *epsw)) || !(u.xin2 = malloc((size_t)rows / (size_t)B * nw * sizeof(float))) ||
        !(u.eps2 = malloc((size_t)rows / (size_t)B * nw * sizeof(float))) ||
        !(tvals = malloc((size_t)rows * sizeof *tvals)) || !(labels = malloc((size_t)(rows * P) * sizeof *labels))) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto done;
    }
    /* class_labels rows [emb_u x B; emb_c x B] (prompt_embeds.repeat per waveform, uncond first) */
    for (int64_t r = 0; r < rows; r++)
        memcpy(labels + (size_t)(r * P), out->prompt_embeds + (size_t)((r / B) * P), (size_t)P * sizeof(float));
    const int64_t sne[VKR_DIMS] = {rows, C, 1, Tw, M}, tne[VKR_DIMS] = {1, 1, 1, 1, rows},
                  lne[VKR_DIMS] = {1, 1, 1, rows, P};
    if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, sne, &u.sample)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, tne, &u.ts)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, lne, &u.labels)) ||
        (rc = vkr_tensor_upload(gpu, &u.labels, labels, VKR_F32)))
        goto done;

    vkr_sampler_init_latents(&s, prm->latents, x, n);
    for (int i = 0; i < s.num_steps; i++) {
        vkr_sampler_scale_input(&s, i, x, xin, n);
        for (int64_t r = 0; r < rows; r++)
            tvals[r] = (float)s.timesteps[i];
        if ((rc = vkr_tensor_upload(gpu, &u.ts, tvals, VKR_F32)))
            goto done;
        if (win.n_windows == 1) {
            if ((rc = guided_eps(gpu, p, &u, xin, B, C, T, M, 0, T, cfg, prm->guidance_scale, eps)))
                goto done;
        } else {
            /* MultiDiffusion: every window's guided noise, blended with weights
             * that sum to 1 per frame, then one step on the whole latent. */
            memset(eps, 0, n * sizeof *eps);
            for (int64_t k = 0; k < win.n_windows; k++) {
                const int64_t t0 = win.start[k];
                const float *wk = win.weight + (size_t)(k * Tw);
                if ((rc = guided_eps(gpu, p, &u, xin, B, C, T, M, t0, Tw, cfg, prm->guidance_scale, epsw)))
                    goto done;
                for (int64_t bc = 0; bc < B * C; bc++)
                    for (int64_t t = 0; t < Tw; t++)
                        for (int64_t m = 0; m < M; m++)
                            eps[(size_t)((bc * T + t0 + t) * M + m)] += wk[t] * epsw[(size_t)((bc * Tw + t) * M + m)];
            }
        }
        if ((rc = vkr_sampler_step(&s, i, eps, x, n, NULL)))
            goto done;
        if (!(out->latents_after_step[i] = malloc(n * sizeof(float)))) {
            rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
            goto done;
        }
        memcpy(out->latents_after_step[i], x, n * sizeof *x);
        if (prm->progress)
            prm->progress(prm->progress_ctx, i + 1, s.num_steps);
    }
    vkr_tensor_free(gpu, &u.sample);
    vkr_tensor_free(gpu, &u.ts);
    vkr_tensor_free(gpu, &u.labels);
    rc = vkr_audioldm_decode(gpu, p, x, B, T, g.orig_len, prm->vocoder, out);
done:
    vkr_tensor_free(gpu, &u.sample);
    vkr_tensor_free(gpu, &u.ts);
    vkr_tensor_free(gpu, &u.labels);
    vkr_tensor_free(gpu, &u.eps);
    vkr_audioldm_windows_free(&win);
    if (have_sampler)
        vkr_sampler_free(&s);
    free(x), free(xin), free(eps), free(epsw), free(u.xin2), free(u.eps2), free(tvals), free(labels);
    if (rc)
        vkr_audioldm_output_free(out);
    return rc;
}
