#include "render.h"

#include "common/status.h"
#include "common/version.h"
#include "mp4_writer.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------------- sources */

static int buffer_samples(void *ctx, int64_t first, int n, float *out)
{
    const vkr_audio_buffer *b = ctx;
    size_t ch = (size_t)b->channels;
    memset(out, 0, sizeof(float) * (size_t)n * ch);
    if (first < 0 || first >= b->n_frames)
        return VKR_OK;
    int64_t m = b->n_frames - first < n ? b->n_frames - first : n;
    memcpy(out, b->data + (size_t)first * ch, sizeof(float) * (size_t)m * ch);
    return VKR_OK;
}

vkr_audio_source vkr_audio_source_from_buffer(const vkr_audio_buffer *buf)
{
    return (vkr_audio_source){(void *)buf, buffer_samples};
}

static int testcard_frame(void *ctx, int64_t index, uint8_t *rgb, int stride)
{
    return vkr_testcard_frame(ctx, index, rgb, stride);
}

static int testcard_samples(void *ctx, int64_t first, int n, float *out)
{
    return vkr_testcard_audio(ctx, first, n, out);
}

void vkr_testcard_sources(const vkr_testcard *tc, vkr_frame_source *video, vkr_audio_source *audio)
{
    *video = (vkr_frame_source){(void *)tc, testcard_frame};
    *audio = (vkr_audio_source){(void *)tc, testcard_samples};
}

/* ---------------------------------------------------------------- metadata */

/* Sampler names as A1111 writes them, so tools that parse its parameters line
 * (image browsers, prompt extractors) recognise ours. */
static const char *a1111_sampler(vkr_sampler_kind k)
{
    switch (k) {
    case VKR_SAMPLER_DDIM: return "DDIM";
    case VKR_SAMPLER_DPMPP_2M: return "DPM++ 2M";
    case VKR_SAMPLER_EULER: return "Euler";
    case VKR_SAMPLER_COUNT: break;
    }
    return "unknown";
}

char *vkr_render_parameters(const vkr_storyboard *sb, uint64_t seed, const char *model)
{
    const char *fmt = "Steps: %d, Sampler: %s, CFG scale: %g, Seed: %llu, Size: %dx%d, Model: %s";
    int n = snprintf(NULL, 0, fmt, sb->sampler.steps, a1111_sampler(sb->sampler.name),
                     sb->sampler.guidance, (unsigned long long)seed, sb->output.width,
                     sb->output.height, model);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s)
        snprintf(s, (size_t)n + 1, fmt, sb->sampler.steps, a1111_sampler(sb->sampler.name),
                 sb->sampler.guidance, (unsigned long long)seed, sb->output.width,
                 sb->output.height, model);
    return s;
}

char *vkr_render_generation_json(const vkr_storyboard *sb, const vkr_timeline *tl, const char *model)
{
    char *plan_text = vkr_timeline_to_json(sb, tl);
    cJSON *root = cJSON_CreateObject();
    cJSON *board = sb->canonical_json ? cJSON_Parse(sb->canonical_json) : NULL;
    cJSON *plan = plan_text ? cJSON_Parse(plan_text) : NULL;
    char *out = NULL;
    free(plan_text);
    if (!root || !board || !plan)
        goto done;
    if (!cJSON_AddStringToObject(root, "software", "vkreel " VKR_VERSION) ||
        !cJSON_AddStringToObject(root, "model", model))
        goto done;
    /* Ownership moves into root only on success. */
    if (!cJSON_AddItemToObject(root, "storyboard", board))
        goto done;
    board = NULL;
    if (!cJSON_AddItemToObject(root, "plan", plan))
        goto done;
    plan = NULL;
    out = cJSON_PrintUnformatted(root);
done:
    cJSON_Delete(board);
    cJSON_Delete(plan);
    cJSON_Delete(root);
    return out;
}

/* ------------------------------------------------------------------ render */

int64_t vkr_render_frame_sample(const vkr_timeline *tl, int64_t k)
{
    /* k <= 72000 frames, rate <= 192 kHz, den <= 1001: the product fits easily. */
    return k * (int64_t)tl->sample_rate * tl->fps_den / tl->fps_num;
}

int vkr_render(const vkr_render_job *job)
{
    const vkr_storyboard *sb = job->sb;
    const vkr_timeline *tl = job->tl;
    const vkr_output_cfg *oc = &sb->output;
    vkr_mp4_writer *w = NULL;
    uint8_t *rgb = NULL;
    float *pcm = NULL;
    char *comment = NULL, *generation = NULL;
    int rc = VKR_OK;

    if (tl->n_frames < 1 || tl->fps_num <= 0 || tl->fps_den <= 0 || tl->sample_rate <= 0)
        return vkr_fail(VKR_E_INTERNAL, "render: empty timeline");
    const int stride = oc->width * 3;
    /* Largest per-frame audio slice: ceil(rate * den / num). */
    const int64_t max_slice = ((int64_t)tl->sample_rate * tl->fps_den + tl->fps_num - 1) / tl->fps_num;
    rgb = malloc((size_t)stride * (size_t)oc->height);
    pcm = malloc(sizeof(float) * (size_t)max_slice * (size_t)oc->channels);
    comment = vkr_render_parameters(sb, job->seed, job->model);
    generation = vkr_render_generation_json(sb, tl, job->model);
    if (!rgb || !pcm || !comment || !generation) {
        rc = vkr_fail(VKR_E_INTERNAL, "render: out of memory");
        goto fail;
    }

    vkr_mp4_params p = {
        .width = oc->width,
        .height = oc->height,
        .fps_num = tl->fps_num,
        .fps_den = tl->fps_den,
        .crf = oc->crf,
        .sample_rate = tl->sample_rate,
        .channels = oc->channels,
        .title = sb->title,
        .comment = comment,
        .generation_json = generation,
        .subtitles = tl->subtitles,
        .n_subtitles = tl->n_subtitles,
        .write_sidecars = 1,
    };
    if ((rc = vkr_mp4_open(&w, job->out_path, &p))) {
        /* The writer's "bad parameters" are the storyboard's output settings here:
         * invalid data, not a command-line mistake. */
        if (rc == VKR_E_USAGE)
            rc = vkr_fail_context(VKR_E_DATA, "%s: output settings",
                                  sb->path ? sb->path : "storyboard");
        goto fail;
    }

    int64_t audio_done = 0;
    for (int64_t f = 0; f < tl->n_frames; f++) {
        if ((rc = job->video.frame(job->video.ctx, f, rgb, stride)))
            goto fail;
        if ((rc = vkr_mp4_write_video(w, rgb, stride)))
            goto fail;
        /* Keep the audio abreast of the picture: the writer interleaves, and only
         * one frame's worth of either is ever held here. */
        int64_t audio_end = f + 1 == tl->n_frames ? tl->n_samples : vkr_render_frame_sample(tl, f + 1);
        if (audio_end > tl->n_samples)
            audio_end = tl->n_samples;
        while (audio_done < audio_end) {
            int n = (int)(audio_end - audio_done < max_slice ? audio_end - audio_done : max_slice);
            if ((rc = job->audio.samples(job->audio.ctx, audio_done, n, pcm)))
                goto fail;
            if ((rc = vkr_mp4_write_audio(w, pcm, n)))
                goto fail;
            audio_done += n;
        }
        if (job->progress)
            job->progress(job->progress_ctx, f + 1, tl->n_frames);
    }
    rc = vkr_mp4_finish(w);
    w = NULL; /* finish frees the writer, whatever it returns */
fail:
    vkr_mp4_abort(w);
    free(rgb);
    free(pcm);
    free(comment);
    free(generation);
    return rc;
}
