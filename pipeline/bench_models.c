/* Whole-model benchmarks: see bench_models.h. Inputs are fixed pseudo-random
 * values (the weights are random too): only time and memory are measured. */
#include "pipeline/bench_models.h"

#include "audio/hifigan.h"
#include "audio/unet2d.h"
#include "common/atomic_file.h"
#include "common/status.h"
#include "gpu/tensor.h"
#include "model/diffusers_dir.h"
#include "text/clap_text.h"
#include "text/clip_text.h"
#include "text/tokenizer_clip.h"
#include "text/tokenizer_roberta.h"
#include "video/unet3d.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct {
    double t0;
    vkr_gpu_mem_stats st0;
    const char *name; /* the stage running, for the error context */
} stage_mark;

/* Finishes earlier work, gives back empty activation blocks (so the device
 * peak of this stage is its own), and restarts the peaks. */
static int stage_begin(vkr_gpu *gpu, stage_mark *m, const char *name)
{
    m->name = name;
    int rc = vkr_gpu_trim(gpu);
    if (rc)
        return rc;
    vkr_gpu_memory_reset_peak(gpu);
    vkr_gpu_memory_stats(gpu, &m->st0);
    m->t0 = now_s();
    return VKR_OK;
}

static int stage_end(vkr_gpu *gpu, const stage_mark *m, vkr_bench_model_result *r, int is_load, const char *name,
                     const char *shape)
{
    int rc = vkr_gpu_submit_and_wait(gpu);
    if (rc)
        return rc;
    double t = now_s() - m->t0;
    if (r->n_stages == VKR_BENCH_MAX_STAGES)
        return vkr_fail(VKR_E_INTERNAL, "bench: more than %d stages", VKR_BENCH_MAX_STAGES);
    vkr_gpu_mem_stats st;
    vkr_gpu_memory_stats(gpu, &st);
    vkr_bench_stage *s = &r->stage[r->n_stages++];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->shape, sizeof s->shape, "%s", shape);
    s->seconds = t;
    s->weights_bytes = is_load ? st.tensors_in_use - m->st0.tensors_in_use : 0;
    s->tensors_peak = st.tensors_in_use_peak;
    s->activation_peak = st.tensors_in_use_peak - m->st0.tensors_in_use;
    s->device_alloc_peak = st.device_allocated_peak;
    if (is_load)
        r->weights_total += s->weights_bytes;
    if (st.tensors_in_use_peak > r->tensors_peak)
        r->tensors_peak = st.tensors_in_use_peak;
    if (st.device_allocated_peak > r->device_alloc_peak)
        r->device_alloc_peak = st.device_allocated_peak;
    return VKR_OK;
}

/* Fills n values of a fixed sequence in [-1, 1) (xorshift; reproducible). */
static float *pseudo_random(size_t n, uint32_t seed)
{
    float *v = malloc(n * sizeof *v);
    if (!v)
        return NULL;
    uint32_t x = seed ? seed : 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        v[i] = (float)(x >> 8) / 8388608.0f - 1.0f;
    }
    return v;
}

static int alloc_random(vkr_gpu *gpu, vkr_dtype dt, const int64_t ne[VKR_DIMS], uint32_t seed, vkr_tensor *t)
{
    int rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, ne, t);
    if (rc)
        return rc;
    size_t n = (size_t)vkr_tensor_nelem(t);
    float *v = pseudo_random(n, seed);
    if (!v)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    rc = vkr_tensor_upload(gpu, t, v, VKR_F32);
    free(v);
    return rc;
}

/* Writes f32 tensors as one safetensors file (names sorted by the caller). */
typedef struct {
    const char *name;
    const vkr_tensor *t;
} dump_item;

static int dump_safetensors(vkr_gpu *gpu, const char *path, const dump_item *items, int n)
{
    char header[4096];
    size_t hl = 0;
    uint64_t off = 0;
    int rc = VKR_OK;
    hl += (size_t)snprintf(header + hl, sizeof header - hl, "{");
    for (int i = 0; i < n; i++) {
        const vkr_tensor *t = items[i].t;
        uint64_t bytes = (uint64_t)vkr_tensor_nelem(t) * 4;
        int d0 = 0; /* leading unit dims are dropped: shapes as torch sees them */
        while (d0 < VKR_DIMS - 1 && t->ne[d0] == 1)
            d0++;
        hl += (size_t)snprintf(header + hl, sizeof header - hl, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[", i ? "," : "",
                               items[i].name);
        for (int d = d0; d < VKR_DIMS; d++)
            hl += (size_t)snprintf(header + hl, sizeof header - hl, "%s%lld", d > d0 ? "," : "", (long long)t->ne[d]);
        hl += (size_t)snprintf(header + hl, sizeof header - hl, "],\"data_offsets\":[%llu,%llu]}",
                               (unsigned long long)off, (unsigned long long)(off + bytes));
        off += bytes;
    }
    hl += (size_t)snprintf(header + hl, sizeof header - hl, "}");
    if (hl >= sizeof header - 8)
        return vkr_fail(VKR_E_INTERNAL, "bench: safetensors header too long");
    while (hl % 8)
        header[hl++] = ' ';
    char *buf = malloc(8 + hl + off);
    if (!buf)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    uint64_t n8 = hl;
    for (int i = 0; i < 8; i++)
        buf[i] = (char)(n8 >> (8 * i));
    memcpy(buf + 8, header, hl);
    char *p = buf + 8 + hl;
    for (int i = 0; i < n && !rc; i++) {
        rc = vkr_tensor_download(gpu, items[i].t, p, VKR_F32);
        p += vkr_tensor_nelem(items[i].t) * 4;
    }
    if (!rc)
        rc = vkr_write_file_atomic(path, buf, 8 + hl + off);
    free(buf);
    return rc;
}

static const char *dt_name(vkr_dtype t) { return t == VKR_F16 ? "f16" : t == VKR_BF16 ? "bf16" : "f32"; }

/* ---- video ---- */

static int clip_ids(const char *dir, int64_t **ids, int *seq)
{
    char path[4096];
    vkr_clip_tokenizer *tok = NULL;
    snprintf(path, sizeof path, "%s/tokenizer", dir);
    int rc = vkr_clip_tokenizer_load(path, &tok);
    if (rc)
        return rc;
    int L = vkr_clip_model_max_length(tok);
    int32_t *row = malloc((size_t)L * sizeof *row);
    *ids = malloc(2 * (size_t)L * sizeof **ids);
    if (!row || !*ids) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto done;
    }
    static const char *const prompts[2] = {"", "a red fox running through fresh snow at sunrise, cinematic"};
    for (int r = 0; r < 2; r++) {
        if ((rc = vkr_clip_tokenize(tok, prompts[r], row, L, NULL)))
            goto done;
        for (int i = 0; i < L; i++)
            (*ids)[r * L + i] = row[i];
    }
    *seq = L;
done:
    free(row);
    vkr_clip_tokenizer_free(tok);
    return rc;
}

int vkr_bench_video_model(vkr_gpu *gpu, const char *dir, const vkr_bench_model_opts *opt, vkr_bench_model_result *res)
{
    char path[4096], shape[96];
    vkr_clip_text clip = {0};
    vkr_unet3d *unet = NULL;
    vkr_vae vae = {0};
    int have_clip = 0, have_vae = 0;
    int64_t *ids = NULL;
    int seq = 77;
    vkr_tensor sample = {0}, ts = {0}, ehs = {0}, eps = {0}, z = {0}, video = {0};
    vkr_clip_text_output enc = {0};
    float *tvals = NULL;
    stage_mark m = {0};
    int rc;
    memset(res, 0, sizeof *res);
    const int W = opt->width ? opt->width : 64, H = opt->height ? opt->height : 64;
    const int F = opt->frames ? opt->frames : 4, B = opt->batch ? opt->batch : 2;
    const vkr_dtype wdt = opt->weights, adt = opt->activations;

    /* loads */
    if (!opt->skip_text) {
        snprintf(path, sizeof path, "%s/text_encoder", dir);
        if ((rc = stage_begin(gpu, &m, "load text_encoder")) ||
            (rc = vkr_clip_text_load_dir(gpu, path, VKR_VARIANT_DEFAULT, wdt, &clip)))
            goto done;
        have_clip = 1;
        snprintf(shape, sizeof shape, "%d layers x %d, %s", clip.config.num_hidden_layers, clip.config.hidden_size,
                 dt_name(wdt));
        if ((rc = stage_end(gpu, &m, res, 1, "load text_encoder", shape)))
            goto done;
    }
    snprintf(path, sizeof path, "%s/unet", dir);
    if ((rc = stage_begin(gpu, &m, "load unet")) || (rc = vkr_unet3d_load(gpu, path, wdt, &unet)))
        goto done;
    const vkr_unet3d_config *uc = vkr_unet3d_get_config(unet);
    snprintf(shape, sizeof shape, "block_out %d..%d, %s", uc->block_out_channels[0],
             uc->block_out_channels[uc->n_blocks - 1], dt_name(wdt));
    if ((rc = stage_end(gpu, &m, res, 1, "load unet", shape)))
        goto done;
    int s = 8; /* VAE factor, from the VAE config when it is loaded */
    if (!opt->skip_vae) {
        snprintf(path, sizeof path, "%s/vae", dir);
        if ((rc = stage_begin(gpu, &m, "load vae")) || (rc = vkr_vae_load_ex(gpu, path, wdt, VKR_VAE_LOAD_ALL, &vae)))
            goto done;
        have_vae = 1;
        s = vkr_vae_scale_factor(&vae.cfg);
        snprintf(shape, sizeof shape, "encoder + decoder, %s", dt_name(wdt));
        if ((rc = stage_end(gpu, &m, res, 1, "load vae", shape)))
            goto done;
    }
    if (W % s || H % s) {
        rc = vkr_fail(VKR_E_USAGE, "bench: --size %dx%d is not a multiple of the VAE factor %d", W, H, s);
        goto done;
    }
    const int64_t h = H / s, w = W / s, C = uc->in_channels, D = uc->cross_attention_dim;

    /* text encoder: the pipeline's two rows (negative prompt, prompt) */
    if (have_clip) {
        if ((rc = clip_ids(dir, &ids, &seq)) || (rc = stage_begin(gpu, &m, "text_encoder")) ||
            (rc = vkr_clip_text_forward(gpu, &clip, ids, 2, seq, 0, &enc)))
            goto done;
        snprintf(shape, sizeof shape, "2x%d tokens, %s", seq, dt_name(clip.dtype));
        if ((rc = stage_end(gpu, &m, res, 0, "text_encoder", shape)))
            goto done;
        vkr_clip_text_output_free(gpu, &enc);
    }

    /* one UNet step on B rows */
    {
        const int64_t sne[VKR_DIMS] = {B, C, F, h, w}, tne[VKR_DIMS] = {1, 1, 1, 1, B},
                      ene[VKR_DIMS] = {1, 1, B, seq, D};
        if (!(tvals = malloc((size_t)B * sizeof *tvals))) {
            rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
            goto done;
        }
        for (int i = 0; i < B; i++)
            tvals[i] = 981.0f; /* the first DDIM timestep of 50 */
        if ((rc = alloc_random(gpu, adt, sne, 1, &sample)) || (rc = alloc_random(gpu, adt, ene, 2, &ehs)) ||
            (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, tne, &ts)) ||
            (rc = vkr_tensor_upload(gpu, &ts, tvals, VKR_F32)) || (rc = stage_begin(gpu, &m, "unet")))
            goto done;
        const int steps = opt->steps > 0 ? opt->steps : 1;
        for (int i = 0; i < steps; i++) {
            /* each step ends at a sync point, as in the pipeline (eps is downloaded there) */
            if ((rc = vkr_unet3d_forward(gpu, unet, &sample, &ts, &ehs, &eps)) || (rc = vkr_gpu_submit_and_wait(gpu)))
                goto done;
            if (i + 1 < steps)
                vkr_tensor_free(gpu, &eps);
        }
        snprintf(shape, sizeof shape, "%dx%lldx%dx%lldx%lld %s (%dx%d px)%s", B, (long long)C, F, (long long)h,
                 (long long)w, dt_name(adt), W, H, steps > 1 ? ", per step" : "");
        if ((rc = stage_end(gpu, &m, res, 0, "unet", shape)))
            goto done;
        res->stage[res->n_stages - 1].seconds /= steps;
        if (opt->dump_unet) {
            const dump_item items[4] = {{"in.encoder_hidden_states", &ehs}, {"in.sample", &sample},
                                        {"in.timestep", &ts}, {"out.sample", &eps}};
            if ((rc = dump_safetensors(gpu, opt->dump_unet, items, 4)))
                goto done;
        }
        vkr_tensor_free(gpu, &eps);
        vkr_tensor_free(gpu, &sample);
        vkr_tensor_free(gpu, &ehs);
        vkr_tensor_free(gpu, &ts);
    }

    /* VAE decode of one video's latents, into a preallocated output */
    if (have_vae) {
        const int64_t zne[VKR_DIMS] = {1, vae.cfg.latent_channels, F, h, w};
        int64_t one[VKR_DIMS];
        if ((rc = alloc_random(gpu, VKR_F32, zne, 3, &z)))
            goto done;
        vkr_vae_decode_shape(&vae, zne, one);
        if ((rc = stage_begin(gpu, &m, "vae_decode")) || (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, one, &video)) ||
            (rc = vkr_vae_decode_into(gpu, &vae, &z, &opt->vae, &video)))
            goto done;
        snprintf(shape, sizeof shape, "1x%dx%dx%lldx%lld -> %dx%d px%s%s", vae.cfg.latent_channels, F, (long long)h,
                 (long long)w, W, H, opt->vae.frames_per_chunk ? ", chunked" : "",
                 opt->vae.tile_latent ? ", tiled" : "");
        if ((rc = stage_end(gpu, &m, res, 0, "vae_decode", shape)))
            goto done;
    }
done:
    if (rc && m.name)
        vkr_fail_context(rc, "stage %s", m.name);
    vkr_clip_text_output_free(gpu, &enc);
    vkr_tensor_free(gpu, &video);
    vkr_tensor_free(gpu, &z);
    vkr_tensor_free(gpu, &eps);
    vkr_tensor_free(gpu, &sample);
    vkr_tensor_free(gpu, &ehs);
    vkr_tensor_free(gpu, &ts);
    free(tvals);
    free(ids);
    if (have_clip)
        vkr_clip_text_free(&clip);
    if (have_vae)
        vkr_vae_free(&vae);
    vkr_unet3d_free(unet);
    vkr_gpu_weights_reset(gpu);
    return rc;
}

/* ---- audio ---- */

static int roberta_ids(const char *dir, int64_t **ids, int64_t **mask, int *seq)
{
    char path[4096];
    vkr_roberta_tokenizer *tok = NULL;
    snprintf(path, sizeof path, "%s/tokenizer", dir);
    int rc = vkr_roberta_tokenizer_load(path, &tok);
    if (rc)
        return rc;
    int L = vkr_roberta_model_max_length(tok);
    int32_t *row = malloc((size_t)L * sizeof *row), *mrow = malloc((size_t)L * sizeof *mrow);
    *ids = malloc(2 * (size_t)L * sizeof **ids);
    *mask = malloc(2 * (size_t)L * sizeof **mask);
    if (!row || !mrow || !*ids || !*mask) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto done;
    }
    static const char *const prompts[2] = {"", "rain on a tin roof with distant thunder"};
    for (int r = 0; r < 2; r++) {
        if ((rc = vkr_roberta_tokenize(tok, prompts[r], L, row, mrow, NULL)))
            goto done;
        for (int i = 0; i < L; i++)
            (*ids)[r * L + i] = row[i], (*mask)[r * L + i] = mrow[i];
    }
    *seq = L;
done:
    free(row);
    free(mrow);
    vkr_roberta_tokenizer_free(tok);
    return rc;
}

int vkr_bench_audio_model(vkr_gpu *gpu, const char *dir, const vkr_bench_model_opts *opt, vkr_bench_model_result *res)
{
    char path[4096], shape[96];
    vkr_clap_text clap = {0};
    vkr_unet2d *unet = NULL;
    vkr_vae vae = {0};
    vkr_hifigan voc = {0};
    int have_clap = 0, have_vae = 0, have_voc = 0;
    int64_t *ids = NULL, *mask = NULL;
    int seq = 0;
    vkr_clap_text_output enc = {0};
    vkr_tensor z = {0}, mel = {0}, wave = {0}, sample = {0}, ts = {0}, labels = {0}, eps = {0};
    float *tvals = NULL;
    stage_mark m = {0};
    int rc;
    memset(res, 0, sizeof *res);
    const vkr_dtype wdt = opt->weights;
    const int T = opt->audio_frames ? opt->audio_frames : 64, B = opt->batch ? opt->batch : 2;

    if (!opt->skip_text) {
        snprintf(path, sizeof path, "%s/text_encoder", dir);
        if ((rc = stage_begin(gpu, &m, "load text_encoder")) ||
            (rc = vkr_clap_text_load_dir(gpu, path, VKR_VARIANT_DEFAULT, wdt, &clap)))
            goto done;
        have_clap = 1;
        snprintf(shape, sizeof shape, "%d layers x %d, %s", clap.config.num_hidden_layers, clap.config.hidden_size,
                 dt_name(wdt));
        if ((rc = stage_end(gpu, &m, res, 1, "load text_encoder", shape)))
            goto done;
    }
    snprintf(path, sizeof path, "%s/unet", dir);
    if ((rc = stage_begin(gpu, &m, "load unet")) || (rc = vkr_unet2d_load(gpu, path, wdt, &unet)))
        goto done;
    const vkr_unet2d_config *uc = vkr_unet2d_get_config(unet);
    snprintf(shape, sizeof shape, "block_out %d..%d, %s", uc->block_out_channels[0],
             uc->block_out_channels[uc->n_blocks - 1], dt_name(wdt));
    if ((rc = stage_end(gpu, &m, res, 1, "load unet", shape)))
        goto done;
    if (!opt->skip_vae) {
        snprintf(path, sizeof path, "%s/vae", dir);
        if ((rc = stage_begin(gpu, &m, "load vae")) || (rc = vkr_vae_load_ex(gpu, path, wdt, VKR_VAE_LOAD_ALL, &vae)))
            goto done;
        have_vae = 1;
        snprintf(shape, sizeof shape, "encoder + decoder, %s", dt_name(wdt));
        if ((rc = stage_end(gpu, &m, res, 1, "load vae", shape)) || (rc = stage_begin(gpu, &m, "load vocoder")) ||
            (rc = vkr_hifigan_load_component(gpu, dir, "vocoder", VKR_VARIANT_DEFAULT, wdt, &voc)))
            goto done;
        have_voc = 1;
        snprintf(shape, sizeof shape, "%d mels, init channels %d, %s", voc.cfg.model_in_dim,
                 voc.cfg.upsample_initial_channel, dt_name(wdt));
        if ((rc = stage_end(gpu, &m, res, 1, "load vocoder", shape)))
            goto done;
    }
    if (have_clap) {
        if ((rc = roberta_ids(dir, &ids, &mask, &seq)) || (rc = stage_begin(gpu, &m, "text_encoder")) ||
            (rc = vkr_clap_text_forward(gpu, &clap, ids, mask, 2, seq, 0, &enc)))
            goto done;
        snprintf(shape, sizeof shape, "2x%d tokens, %s", seq, dt_name(clap.dtype));
        if ((rc = stage_end(gpu, &m, res, 0, "text_encoder", shape)))
            goto done;
        vkr_clap_text_output_free(gpu, &enc);
    }

    /* one UNet step on B rows: latents (B, C, 1, T / s, mels / s), the CLAP
     * embedding as class labels, no encoder states (AudioLDM) */
    {
        const int s = have_vae ? vkr_vae_scale_factor(&vae.cfg) : 4;
        const int mels = have_voc ? voc.cfg.model_in_dim : 64;
        const int64_t sne[VKR_DIMS] = {B, uc->in_channels, 1, T / s, mels / s}, tne[VKR_DIMS] = {1, 1, 1, 1, B},
                      lne[VKR_DIMS] = {1, 1, 1, B, uc->class_embed_dim > 0 ? uc->class_embed_dim : 1};
        if (T % s || mels % s) {
            rc = vkr_fail(VKR_E_USAGE, "bench: %d mel frames / %d mel bins not a multiple of the VAE factor %d", T,
                          mels, s);
            goto done;
        }
        if (!(tvals = malloc((size_t)B * sizeof *tvals))) {
            rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
            goto done;
        }
        for (int i = 0; i < B; i++)
            tvals[i] = 981.0f;
        if ((rc = alloc_random(gpu, opt->activations, sne, 5, &sample)) ||
            (rc = alloc_random(gpu, opt->activations, lne, 6, &labels)) ||
            (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, tne, &ts)) ||
            (rc = vkr_tensor_upload(gpu, &ts, tvals, VKR_F32)) || (rc = stage_begin(gpu, &m, "unet")))
            goto done;
        const int steps = opt->steps > 0 ? opt->steps : 1;
        for (int i = 0; i < steps; i++) {
            if ((rc = vkr_unet2d_forward(gpu, unet, &sample, &ts, uc->class_embed_dim > 0 ? &labels : NULL, NULL,
                                         &eps)) ||
                (rc = vkr_gpu_submit_and_wait(gpu)))
                goto done;
            if (i + 1 < steps)
                vkr_tensor_free(gpu, &eps);
        }
        snprintf(shape, sizeof shape, "%dx%dx1x%lldx%lld %s (%d mel frames)%s", B, uc->in_channels,
                 (long long)sne[3], (long long)sne[4], dt_name(opt->activations), T, steps > 1 ? ", per step" : "");
        if ((rc = stage_end(gpu, &m, res, 0, "unet", shape)))
            goto done;
        res->stage[res->n_stages - 1].seconds /= steps;
        vkr_tensor_free(gpu, &eps);
        vkr_tensor_free(gpu, &sample);
        vkr_tensor_free(gpu, &labels);
        vkr_tensor_free(gpu, &ts);
    }
    if (have_vae) {
        const int s = vkr_vae_scale_factor(&vae.cfg);
        const int mels = voc.cfg.model_in_dim;
        if (T % s || mels % s) {
            rc = vkr_fail(VKR_E_USAGE, "bench: %d mel frames / %d mel bins not a multiple of the VAE factor %d", T,
                          mels, s);
            goto done;
        }
        /* AudioLDM latents: (B, latent, 1, T / s, mels / s); the VAE decodes a
         * 1-channel mel "image" of T x mels. */
        const int64_t zne[VKR_DIMS] = {1, vae.cfg.latent_channels, 1, T / s, mels / s};
        int64_t one[VKR_DIMS];
        if ((rc = alloc_random(gpu, VKR_F32, zne, 4, &z)))
            goto done;
        vkr_vae_decode_shape(&vae, zne, one);
        if ((rc = stage_begin(gpu, &m, "vae_decode")) || (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, one, &mel)) ||
            (rc = vkr_vae_decode_into(gpu, &vae, &z, &opt->vae, &mel)))
            goto done;
        snprintf(shape, sizeof shape, "1x%dx%lldx%lld -> %d x %d mel", vae.cfg.latent_channels, (long long)(T / s),
                 (long long)(mels / s), T, mels);
        if ((rc = stage_end(gpu, &m, res, 0, "vae_decode", shape)))
            goto done;
        vkr_tensor_free(gpu, &z);
        /* vocoder: the mel {1, 1, 1, T, mels} -> waveform {1, 1, 1, 1, samples} */
        const int64_t spec_ne[VKR_DIMS] = {1, 1, 1, T, mels};
        const int64_t wne[VKR_DIMS] = {1, 1, 1, 1, vkr_hifigan_output_length(&voc.cfg, T)};
        vkr_tensor spec;
        if ((rc = vkr_tensor_reshape(&mel, spec_ne, &spec)) || (rc = stage_begin(gpu, &m, "vocoder")) ||
            (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, wne, &wave)) ||
            (rc = vkr_hifigan_forward(gpu, &voc, &spec, &wave, NULL, NULL)))
            goto done;
        snprintf(shape, sizeof shape, "%d x %d mel -> %lld samples", T, mels, (long long)wne[4]);
        if ((rc = stage_end(gpu, &m, res, 0, "vocoder", shape)))
            goto done;
    }
done:
    if (rc && m.name)
        vkr_fail_context(rc, "stage %s", m.name);
    vkr_clap_text_output_free(gpu, &enc);
    vkr_tensor_free(gpu, &eps);
    vkr_tensor_free(gpu, &sample);
    vkr_tensor_free(gpu, &labels);
    vkr_tensor_free(gpu, &ts);
    free(tvals);
    vkr_unet2d_free(unet);
    vkr_tensor_free(gpu, &wave);
    vkr_tensor_free(gpu, &mel);
    vkr_tensor_free(gpu, &z);
    free(ids);
    free(mask);
    if (have_clap)
        vkr_clap_text_free(&clap);
    if (have_vae)
        vkr_vae_free(&vae);
    if (have_voc)
        vkr_hifigan_free(&voc);
    vkr_gpu_weights_reset(gpu);
    return rc;
}
