/* Model-driven frame source: see pipeline/video_source.h and docs/render.md. */
#include "pipeline/video_source.h"

#include "common/status.h"
#include "pipeline/testcard.h"

#include <libavutil/pixfmt.h>
#include <libswscale/swscale.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    int shot;     /* timeline shot index, -1: empty slot */
    int n;        /* model frames held */
    int64_t begin;/* first output frame of the shot's span */
    uint8_t *rgb; /* n frames, model size, packed RGB */
} shot_frames;

struct vkr_video_source {
    const vkr_storyboard *sb;
    const vkr_timeline *tl;
    vkr_video_generator gen;
    int out_w, out_h;
    shot_frames slot[2];
    /* scaling: the centred crop of a model frame that has the output's aspect */
    int crop_x, crop_y, crop_w, crop_h;
    struct SwsContext *sws; /* NULL when the crop is already the output size */
    uint8_t *blend;         /* one model frame (time-resampled) */
    uint8_t *src, *dst;     /* 16-byte aligned strides for swscale */
    int src_stride, dst_stride;
    uint8_t *mix;           /* the outgoing shot's picture during a crossfade */
    int64_t last_frame;     /* frames must come in increasing order */
    double gen_seconds;
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

void vkr_video_source_shot_span(const vkr_timeline *tl, int i, int64_t *begin, int64_t *end)
{
    const vkr_tl_shot *s = &tl->shots[i];
    int64_t a = s->frame_begin, b = s->frame_end;
    if (s->xfade_frame_begin < a)
        a = s->xfade_frame_begin;
    if (i + 1 < tl->n_shots && tl->shots[i + 1].xfade_frame_end > b)
        b = tl->shots[i + 1].xfade_frame_end;
    *begin = a;
    *end = b;
}

int vkr_video_source_model_frames(const vkr_timeline *tl, int i, int model_fps)
{
    int64_t a, b;
    vkr_video_source_shot_span(tl, i, &a, &b);
    if (b <= a)
        return 0;
    /* Position of the span's last frame: (b - a - 1) * den * model_fps / num;
     * its frame and the next one (when the position is fractional). */
    const int64_t pos = (b - a - 1) * tl->fps_den * model_fps;
    return (int)((pos + tl->fps_num - 1) / tl->fps_num) + 1;
}

double vkr_video_source_generator_seconds(const vkr_video_source *vs) { return vs->gen_seconds; }

static int align16(int x) { return (x + 15) & ~15; }

int vkr_video_source_create(const vkr_storyboard *sb, const vkr_timeline *tl, const vkr_video_generator *gen,
                            vkr_video_source **out)
{
    *out = NULL;
    if (tl->n_shots < 1 || tl->fps_num <= 0 || tl->fps_den <= 0)
        return vkr_fail(VKR_E_DATA, "video: timeline has no shots or no frame rate");
    if (sb->output.width < 2 || sb->output.height < 2)
        return vkr_fail(VKR_E_DATA, "video: output size %dx%d", sb->output.width, sb->output.height);
    if (gen->width < 1 || gen->height < 1 || gen->fps < 1 || !gen->generate)
        return vkr_fail(VKR_E_INTERNAL, "video: generator has no size or rate");
    vkr_video_source *vs = calloc(1, sizeof *vs);
    if (!vs)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    vs->sb = sb;
    vs->tl = tl;
    vs->gen = *gen;
    vs->out_w = sb->output.width;
    vs->out_h = sb->output.height;
    vs->slot[0].shot = vs->slot[1].shot = -1;
    vs->last_frame = -1;

    /* Cover: the largest centred crop with the output's aspect ratio. */
    const int W = gen->width, H = gen->height, OW = vs->out_w, OH = vs->out_h;
    if ((int64_t)W * OH > (int64_t)OW * H) { /* model frame is wider: crop the sides */
        vs->crop_h = H;
        vs->crop_w = (int)(((int64_t)H * OW * 2 + OH) / (2 * OH));
    } else {
        vs->crop_w = W;
        vs->crop_h = (int)(((int64_t)W * OH * 2 + OW) / (2 * OW));
    }
    if (vs->crop_w < 1)
        vs->crop_w = 1;
    if (vs->crop_h < 1)
        vs->crop_h = 1;
    vs->crop_x = (W - vs->crop_w) / 2;
    vs->crop_y = (H - vs->crop_h) / 2;
    int rc = VKR_OK;
    const size_t frame_bytes = (size_t)W * (size_t)H * 3;
    if (!(vs->blend = malloc(frame_bytes)) || !(vs->mix = malloc((size_t)OW * (size_t)OH * 3))) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto fail;
    }
    if (vs->crop_w != OW || vs->crop_h != OH) {
        vs->src_stride = align16(vs->crop_w * 3);
        vs->dst_stride = align16(OW * 3);
        vs->src = aligned_alloc(16, (size_t)vs->src_stride * (size_t)vs->crop_h);
        vs->dst = aligned_alloc(16, (size_t)vs->dst_stride * (size_t)OH);
        vs->sws = sws_getContext(vs->crop_w, vs->crop_h, AV_PIX_FMT_RGB24, OW, OH, AV_PIX_FMT_RGB24,
                                 SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP, NULL,
                                 NULL, NULL);
        if (!vs->src || !vs->dst || !vs->sws) {
            rc = vkr_fail(VKR_E_INTERNAL, "video: cannot set up scaling %dx%d -> %dx%d", vs->crop_w, vs->crop_h,
                          OW, OH);
            goto fail;
        }
    }
    *out = vs;
    return VKR_OK;
fail:
    vkr_video_source_free(vs);
    return rc;
}

void vkr_video_source_free(vkr_video_source *vs)
{
    if (!vs)
        return;
    for (int k = 0; k < 2; k++)
        free(vs->slot[k].rgb);
    sws_freeContext(vs->sws);
    free(vs->blend);
    free(vs->src);
    free(vs->dst);
    free(vs->mix);
    free(vs);
}

/* Shot i's model frames, generating them if needed. `keep` is the other shot
 * needed for the current frame (-1: none); any other held shot may go. */
static int get_shot(vkr_video_source *vs, int i, int keep, const shot_frames **out)
{
    for (int k = 0; k < 2; k++)
        if (vs->slot[k].shot == i) {
            *out = &vs->slot[k];
            return VKR_OK;
        }
    int k = vs->slot[0].shot == keep && keep >= 0 ? 1 : 0;
    if (vs->slot[k].shot >= 0 && vs->slot[1 - k].shot < 0)
        k = 1 - k;
    shot_frames *s = &vs->slot[k];
    free(s->rgb);
    *s = (shot_frames){.shot = -1};

    const vkr_shot *shot = &vs->sb->shots[vs->tl->shots[i].shot];
    char *prompt = vkr_shot_full_prompt(vs->sb, shot);
    char *negative = vkr_shot_full_negative_prompt(vs->sb, shot);
    int rc;
    if (!prompt) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto done;
    }
    int want = vkr_video_source_model_frames(vs->tl, i, vs->gen.fps);
    vkr_video_request req = {
        .prompt = prompt,
        .negative_prompt = negative,
        .seed = shot->seed,
        .sampler = vkr_sampler_name(shot->sampler.name),
        .steps = shot->sampler.steps,
        .guidance = shot->sampler.guidance,
        .n_frames = want > 0 ? want : 1,
        .shot = i,
    };
    uint8_t *rgb = NULL;
    int n = 0;
    const double t0 = now_s();
    rc = vs->gen.generate(vs->gen.ctx, &req, &rgb, &n);
    vs->gen_seconds += now_s() - t0;
    if (rc)
        goto done;
    if (!rgb || n < req.n_frames) {
        free(rgb);
        rc = vkr_fail(VKR_E_INTERNAL, "video: shot '%s': generator gave %d of %d frames", shot->id, n,
                      req.n_frames);
        goto done;
    }
    int64_t end;
    vkr_video_source_shot_span(vs->tl, i, &s->begin, &end);
    s->shot = i;
    s->n = n;
    s->rgb = rgb;
    *out = s;
done:
    free(prompt);
    free(negative);
    return rc;
}

/* Shot picture at output frame f, at the output size, into dst (stride bytes per row). */
static void picture(vkr_video_source *vs, const shot_frames *s, int64_t f, uint8_t *dst, int stride)
{
    const vkr_timeline *tl = vs->tl;
    const int W = vs->gen.width, H = vs->gen.height;
    const size_t fb = (size_t)W * (size_t)H * 3;
    int64_t local = f - s->begin;
    if (local < 0)
        local = 0;
    const int64_t pos = local * tl->fps_den * vs->gen.fps, N = tl->fps_num;
    int64_t q = pos / N, r = pos % N;
    if (q >= s->n - 1) { /* cannot happen with enough frames; hold the last one */
        q = s->n - 1;
        r = 0;
    }
    const uint8_t *frame = s->rgb + (size_t)q * fb;
    if (r) {
        const uint8_t *next = frame + fb;
        for (size_t k = 0; k < fb; k++)
            vs->blend[k] = (uint8_t)((frame[k] * (N - r) + next[k] * r + N / 2) / N);
        frame = vs->blend;
    }
    const int OW = vs->out_w, OH = vs->out_h;
    if (!vs->sws) { /* the crop is the output size: copy */
        for (int y = 0; y < OH; y++)
            memcpy(dst + (size_t)y * stride, frame + ((size_t)(y + vs->crop_y) * W + vs->crop_x) * 3,
                   (size_t)OW * 3);
        return;
    }
    for (int y = 0; y < vs->crop_h; y++)
        memcpy(vs->src + (size_t)y * vs->src_stride, frame + ((size_t)(y + vs->crop_y) * W + vs->crop_x) * 3,
               (size_t)vs->crop_w * 3);
    const uint8_t *const sp[4] = {vs->src, NULL, NULL, NULL};
    uint8_t *const dp[4] = {vs->dst, NULL, NULL, NULL};
    const int ss[4] = {vs->src_stride, 0, 0, 0}, ds[4] = {vs->dst_stride, 0, 0, 0};
    sws_scale(vs->sws, sp, ss, 0, vs->crop_h, dp, ds);
    for (int y = 0; y < OH; y++)
        memcpy(dst + (size_t)y * stride, vs->dst + (size_t)y * vs->dst_stride, (size_t)OW * 3);
}

/* The crossfade (into shot j) whose range holds f, or 0. */
static int crossfade_at(const vkr_timeline *tl, int i, int64_t f)
{
    const int cand[3] = {i, i + 1, i - 1};
    for (int c = 0; c < 3; c++) {
        int j = cand[c];
        if (j >= 1 && j < tl->n_shots && f >= tl->shots[j].xfade_frame_begin && f < tl->shots[j].xfade_frame_end)
            return j;
    }
    return 0;
}

static int source_frame(void *ctx, int64_t f, uint8_t *rgb, int stride)
{
    vkr_video_source *vs = ctx;
    const vkr_timeline *tl = vs->tl;
    if (f < 0 || f >= tl->n_frames)
        return vkr_fail(VKR_E_INTERNAL, "video: frame %lld outside [0, %lld)", (long long)f,
                        (long long)tl->n_frames);
    if (f <= vs->last_frame)
        return vkr_fail(VKR_E_INTERNAL, "video: frame %lld requested after frame %lld", (long long)f,
                        (long long)vs->last_frame);
    vs->last_frame = f;
    const int i = vkr_testcard_shot_at(tl, f);
    if (i < 0)
        return vkr_fail(VKR_E_INTERNAL, "video: no shot covers frame %lld", (long long)f);
    const int j = crossfade_at(tl, i, f);
    const shot_frames *a = NULL, *b = NULL;
    int rc;
    if (!j) {
        if ((rc = get_shot(vs, i, -1, &a)))
            return rc;
        picture(vs, a, f, rgb, stride);
        return VKR_OK;
    }
    /* The outgoing shot first: it is normally held already. */
    if ((rc = get_shot(vs, j - 1, j, &a)) || (rc = get_shot(vs, j, j - 1, &b)))
        return rc;
    const int OW = vs->out_w, OH = vs->out_h;
    picture(vs, a, f, vs->mix, OW * 3);
    picture(vs, b, f, rgb, stride);
    /* Incoming weight (k + 0.5) / n at the k-th frame of the n-frame range, as
     * the test card: never a pure copy of either shot. */
    const int64_t n = tl->shots[j].xfade_frame_end - tl->shots[j].xfade_frame_begin;
    const int64_t k = f - tl->shots[j].xfade_frame_begin;
    const int64_t wb = 2 * k + 1, wa = 2 * n - wb, d = 2 * n;
    for (int y = 0; y < OH; y++) {
        uint8_t *o = rgb + (size_t)y * stride;
        const uint8_t *m = vs->mix + (size_t)y * OW * 3;
        for (int x = 0; x < OW * 3; x++)
            o[x] = (uint8_t)((m[x] * wa + o[x] * wb + n) / d);
    }
    return VKR_OK;
}

vkr_frame_source vkr_video_source_frames(vkr_video_source *vs) { return (vkr_frame_source){vs, source_frame}; }
