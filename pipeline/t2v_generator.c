/* The text-to-video frame generator: see pipeline/video_generator.h. */
#include "pipeline/video_generator.h"

#include "common/status.h"
#include "gpu/gpu.h"
#include "pipeline/t2v.h"
#include "sched/noise.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int vkr_video_windows(int n_frames, int window, int overlap)
{
    if (n_frames < 1 || window < 1 || overlap < 0)
        return 0;
    if (n_frames <= window)
        return 1;
    if (overlap >= window)
        return 0;
    const int step = window - overlap;
    return 1 + (n_frames - window + step - 1) / step;
}

const char *vkr_vgen_stage_name(vkr_vgen_stage s)
{
    switch (s) {
    case VKR_VGEN_TEXT: return "text";
    case VKR_VGEN_DENOISE: return "diffusion";
    case VKR_VGEN_DECODE: return "vae decode";
    default: return "?";
    }
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Closes the running stage (time, device memory peak) and opens `next` (-1: none). */
static void switch_stage(vkr_t2v_generator *g, int next)
{
    const double t = now_s();
    if (g->cur_stage >= 0) {
        vkr_gpu_mem_stats st;
        vkr_gpu_memory_stats(g->gpu, &st);
        vkr_vgen_stage_stats *s = &g->stats[g->cur_stage];
        s->seconds += t - g->stage_t0;
        if (st.device_allocated_peak > s->peak_device)
            s->peak_device = st.device_allocated_peak;
        if (st.tensors_in_use_peak > s->peak_tensors)
            s->peak_tensors = st.tensors_in_use_peak;
    }
    if (next >= 0 && next != g->cur_stage)
        g->stats[next].count += next != VKR_VGEN_DENOISE;
    vkr_gpu_memory_reset_peak(g->gpu);
    g->cur_stage = next;
    g->stage_t0 = t;
}

static void t2v_progress(void *ctx, vkr_t2v_stage stage, int step, int n_steps)
{
    vkr_t2v_generator *g = ctx;
    int next = -1;
    switch (stage) {
    case VKR_T2V_STAGE_TEXT: next = VKR_VGEN_TEXT; break;
    case VKR_T2V_STAGE_DENOISE: next = VKR_VGEN_DENOISE; break;
    case VKR_T2V_STAGE_DECODE: next = VKR_VGEN_DECODE; break;
    case VKR_T2V_STAGE_DONE: next = -1; break;
    }
    if (next != g->cur_stage)
        switch_stage(g, next);
    if (stage == VKR_T2V_STAGE_DENOISE && step > 0)
        g->stats[VKR_VGEN_DENOISE].count++;
    if (next >= 0 && g->o.progress) {
        g->where.stage = (vkr_vgen_stage)next;
        g->where.step = step;
        g->where.n_steps = n_steps;
        g->o.progress(g->o.progress_ctx, &g->where);
    }
}

int vkr_t2v_generator_init(vkr_t2v_generator *g, vkr_gpu *gpu, const vkr_t2v *pipe,
                           const vkr_t2v_generator_options *o)
{
    memset(g, 0, sizeof *g);
    if (o->width <= 0 || o->height <= 0 || o->width % 8 || o->height % 8)
        return vkr_fail(VKR_E_USAGE, "video size %dx%d: width and height must be positive multiples of 8",
                        o->width, o->height);
    if (o->frames < 1 || o->fps < 1)
        return vkr_fail(VKR_E_USAGE, "video frames %d / fps %d: both must be >= 1", o->frames, o->fps);
    if (o->overlap < 0 || (o->overlap >= o->frames && o->frames > 1))
        return vkr_fail(VKR_E_USAGE, "window overlap %d: must be in [0, %d)", o->overlap, o->frames);
    if (o->width % vkr_t2v_vae_scale_factor(pipe) || o->height % vkr_t2v_vae_scale_factor(pipe))
        return vkr_fail(VKR_E_USAGE, "video size %dx%d: not a multiple of the VAE scale factor %d", o->width,
                        o->height, vkr_t2v_vae_scale_factor(pipe));
    g->gpu = gpu;
    g->pipe = pipe;
    g->o = *o;
    g->cur_stage = -1;
    return VKR_OK;
}

/* Packs frames (1, F, H, W, 3) in [0, 1] frames [first, F) as 8-bit RGB. */
static void to_rgb8(const float *frames, int first, int F, size_t frame_px, uint8_t *dst)
{
    for (int f = first; f < F; f++) {
        const float *src = frames + (size_t)f * frame_px * 3;
        uint8_t *d = dst + (size_t)(f - first) * frame_px * 3;
        for (size_t k = 0; k < frame_px * 3; k++)
            d[k] = (uint8_t)lrintf(src[k] * 255.0f); /* frames are clamped to [0, 1] */
    }
}

static int generate(void *ctx, const vkr_video_request *req, uint8_t **rgb_out, int *n_out)
{
    vkr_t2v_generator *g = ctx;
    const vkr_t2v_generator_options *o = &g->o;
    const int F = o->frames, O = F > 1 ? o->overlap : 0;
    const int sf = vkr_t2v_vae_scale_factor(g->pipe), C = vkr_t2v_latent_channels(g->pipe);
    const int64_t h = o->height / sf, w = o->width / sf, hw = h * w;
    const size_t n_lat = (size_t)((int64_t)C * F * hw), frame_px = (size_t)o->width * (size_t)o->height;
    vkr_sched_config sched;
    int have_sched = 0;
    float *noise = NULL, *known = NULL;
    uint8_t *rgb = NULL;
    vkr_t2v_output out = {0};
    int rc;
    *rgb_out = NULL;
    *n_out = 0;

    const int n_windows = vkr_video_windows(req->n_frames, F, O);
    if (n_windows < 1)
        return vkr_fail(VKR_E_USAGE, "shot %d: %d frames need more than one %d-frame window, which needs an overlap "
                        "smaller than the window (got %d)", req->shot, req->n_frames, F, O);
    if (o->latents && n_windows > 1)
        return vkr_fail(VKR_E_USAGE, "injected latents cover one %d-frame window, but shot %d needs %d frames "
                        "(%d windows)", F, req->shot, req->n_frames, n_windows);
    vkr_sampler_kind kind;
    if ((rc = vkr_sampler_kind_from_name(req->sampler, &kind)))
        return rc;
    if ((rc = vkr_t2v_scheduler_for(g->pipe, kind, &sched)))
        return rc;
    have_sched = 1;

    const int total = F + (n_windows - 1) * (F - O);
    if (!(noise = malloc(n_lat * sizeof *noise)) || (O > 0 && !(known = malloc((size_t)C * O * hw * sizeof *known))) ||
        !(rgb = malloc((size_t)total * frame_px * 3))) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto done;
    }

    int produced = 0;
    for (int k = 0; k < n_windows; k++) {
        /* Stream k: every window of a shot draws independent noise from the
         * shot's seed, and the noise of window k never depends on the others. */
        if (k == 0 && o->latents)
            memcpy(noise, o->latents, n_lat * sizeof *noise);
        else
            vkr_noise_normal(req->seed, (uint64_t)k, 0, noise, n_lat);
        vkr_t2v_params prm = vkr_t2v_default_params();
        prm.prompt = req->prompt;
        prm.negative_prompt = req->negative_prompt;
        prm.num_frames = F;
        prm.height = o->height;
        prm.width = o->width;
        prm.num_inference_steps = req->steps;
        prm.guidance_scale = (float)req->guidance;
        prm.batch = 1;
        prm.latents = noise;
        prm.sched = &sched;
        prm.known_latents = k > 0 ? known : NULL;
        prm.known_frames = k > 0 ? O : 0;
        prm.progress = t2v_progress;
        prm.progress_ctx = g;
        prm.final_latents_only = 1;
        prm.decode_frames = o->decode_frames;
        g->where = (vkr_vgen_progress){.shot = req->shot, .window = k, .n_windows = n_windows};
        rc = vkr_t2v_run(g->gpu, g->pipe, &prm, &out);
        switch_stage(g, -1);
        if (rc)
            goto done;
        const int skip = k > 0 ? O : 0;
        to_rgb8(out.frames, skip, F, frame_px, rgb + (size_t)produced * frame_px * 3);
        produced += F - skip;
        if (O > 0 && k + 1 < n_windows) {
            /* The window's last O latent frames (1, C, F, h, w) -> (1, C, O, h, w). */
            const float *x = out.latents_after_step[out.num_steps - 1];
            for (int c = 0; c < C; c++)
                memcpy(known + (size_t)c * O * hw, x + ((size_t)c * F + (size_t)(F - O)) * hw,
                       (size_t)O * hw * sizeof *known);
        }
        vkr_t2v_output_free(&out);
    }
    *rgb_out = rgb;
    *n_out = produced;
    rgb = NULL;
done:
    vkr_t2v_output_free(&out);
    if (have_sched)
        vkr_sched_config_free(&sched);
    free(noise);
    free(known);
    free(rgb);
    return rc;
}

vkr_video_generator vkr_t2v_generator_as_generator(vkr_t2v_generator *g)
{
    return (vkr_video_generator){
        .width = g->o.width, .height = g->o.height, .fps = g->o.fps, .ctx = g, .generate = generate};
}
