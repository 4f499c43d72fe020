/* The timeline: exact frame and sample indexes for every shot, transition, cue
 * and subtitle of a storyboard (docs/timeline.md).
 *
 * Every time is quantised once to integer microseconds and every boundary is
 * mapped on its own from that exact time, never by adding up per-shot frame
 * counts: rounding errors then cannot accumulate, and the shots tile the clip
 * exactly because neighbouring shots share the same boundary index. */
#include "timeline.h"

#include "common/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define US_PER_SECOND 1000000

/* Longest clip the arithmetic accepts: far beyond any storyboard
 * (VKR_STORYBOARD_MAX_SECONDS), small enough that no sum can overflow. */
#define MAX_TOTAL_US ((int64_t)1 << 50)

int64_t vkr_seconds_to_us(double seconds)
{
    if (isnan(seconds))
        return 0;
    double us = round(seconds * 1e6); /* round() takes halves away from zero */
    if (us >= 9.2e18)
        return INT64_MAX;
    if (us <= -9.2e18)
        return INT64_MIN;
    return (int64_t)us;
}

/* floor(a / b) for b > 0; C division truncates toward zero. */
static __int128 floor_div(__int128 a, __int128 b)
{
    __int128 q = a / b;
    if (a % b != 0 && a < 0)
        q--;
    return q;
}

int64_t vkr_us_to_index(int64_t us, int64_t num, int64_t den)
{
    /* round(x) with halves up is floor(x + 1/2); with x = us*num / (den*1e6)
     * that is floor((2*us*num + den*1e6) / (2*den*1e6)), all in exact integers. */
    __int128 d = (__int128)den * US_PER_SECOND;
    return (int64_t)floor_div(2 * (__int128)us * num + d, 2 * d);
}

int64_t vkr_index_to_us(int64_t i, int64_t num, int64_t den)
{
    return (int64_t)floor_div((__int128)i * den * US_PER_SECOND, num);
}

void vkr_timeline_free(vkr_timeline *tl)
{
    if (!tl)
        return;
    free(tl->shots);
    free(tl->cues);
    free(tl->subtitles);
    memset(tl, 0, sizeof *tl);
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* qsort is not stable, so ties on start are broken by the original position:
 * equal starts keep document order. */
static int cmp_cue(const void *a, const void *b)
{
    const vkr_tl_cue *x = a, *y = b;
    if (x->start_us != y->start_us)
        return x->start_us < y->start_us ? -1 : 1;
    return (x->cue > y->cue) - (x->cue < y->cue);
}

typedef struct {
    vkr_tl_subtitle sub;
    int order;
} keyed_subtitle;

static int cmp_subtitle(const void *a, const void *b)
{
    const keyed_subtitle *x = a, *y = b;
    if (x->sub.start_us != y->sub.start_us)
        return x->sub.start_us < y->sub.start_us ? -1 : 1;
    return (x->order > y->order) - (x->order < y->order);
}

static int build_shots(const vkr_storyboard *sb, vkr_timeline *tl)
{
    const int64_t fn = tl->fps_num, fd = tl->fps_den, rate = tl->sample_rate;
    int64_t *dur = NULL;
    int ret;

    if (sb->n_shots <= 0 || !sb->shots)
        return vkr_fail(VKR_E_DATA, "timeline: the storyboard has no shots");
    dur = calloc((size_t)sb->n_shots, sizeof *dur);
    tl->shots = calloc((size_t)sb->n_shots, sizeof *tl->shots);
    if (!dur || !tl->shots) {
        ret = vkr_fail(VKR_E_INTERNAL, "timeline: out of memory");
        goto fail;
    }
    tl->n_shots = sb->n_shots;

    int64_t t = 0;
    for (int i = 0; i < sb->n_shots; i++) {
        const vkr_shot *s = &sb->shots[i];
        if (!(s->duration > 0) || !isfinite(s->duration)) {
            ret = vkr_fail(VKR_E_DATA, "timeline: shot %d has duration %g, expected > 0", i,
                           s->duration);
            goto fail;
        }
        dur[i] = vkr_seconds_to_us(s->duration);
        if (dur[i] < 1 || dur[i] > MAX_TOTAL_US - t) {
            ret = vkr_fail(VKR_E_DATA,
                           "timeline: shot %d duration %g s is shorter than 1 us or makes the "
                           "clip too long",
                           i, s->duration);
            goto fail;
        }
        vkr_tl_shot *o = &tl->shots[i];
        o->shot = i;
        o->start_us = t;
        t += dur[i];
        o->end_us = t;
        /* Both ends from the exact boundary times: shot i ends exactly where
         * shot i+1 begins. */
        o->frame_begin = vkr_us_to_index(o->start_us, fn, fd);
        o->frame_end = vkr_us_to_index(o->end_us, fn, fd);
        o->sample_begin = vkr_us_to_index(o->start_us, rate, 1);
        o->sample_end = vkr_us_to_index(o->end_us, rate, 1);
    }
    tl->duration_us = t;
    tl->n_frames = vkr_us_to_index(t, fn, fd);
    tl->n_samples = vkr_us_to_index(t, rate, 1);

    int64_t prev_half = 0; /* the previous shot's incoming half-width */
    for (int i = 0; i < sb->n_shots; i++) {
        const vkr_shot *s = &sb->shots[i];
        vkr_tl_shot *o = &tl->shots[i];
        int64_t half = 0;
        o->transition = i == 0 ? VKR_TRANSITION_CUT : s->transition;
        if (o->transition == VKR_TRANSITION_CROSSFADE) {
            if (!(s->transition_duration >= 0) || !isfinite(s->transition_duration)) {
                ret = vkr_fail(VKR_E_DATA, "timeline: shot %d has crossfade duration %g", i,
                               s->transition_duration);
                goto fail;
            }
            /* d/2 is exact in binary, so the half-width is round(d/2 * 1e6) and
             * the blend is exactly centred in microseconds. The parser allows a
             * half as long as a whole neighbour provided the halves inside each
             * shot fit in it together (to within 0.5 us); clamping to what is
             * left of each neighbour makes that exact after rounding, so blends
             * never leave the two shots they join nor overlap each other. */
            half = vkr_seconds_to_us(s->transition_duration * 0.5);
            half = min64(half, min64(dur[i], dur[i - 1] - prev_half));
        }
        prev_half = half;
        o->xfade_us = 2 * half;
        o->xfade_frame_begin = vkr_us_to_index(o->start_us - half, fn, fd);
        o->xfade_frame_end = vkr_us_to_index(o->start_us + half, fn, fd);
        o->xfade_sample_begin = vkr_us_to_index(o->start_us - half, rate, 1);
        o->xfade_sample_end = vkr_us_to_index(o->start_us + half, rate, 1);
    }
    free(dur);
    return VKR_OK;
fail:
    free(dur);
    return ret;
}

static int build_cues(const vkr_storyboard *sb, vkr_timeline *tl)
{
    const int64_t fn = tl->fps_num, fd = tl->fps_den, rate = tl->sample_rate;
    if (sb->n_cues <= 0)
        return VKR_OK;
    tl->cues = calloc((size_t)sb->n_cues, sizeof *tl->cues);
    if (!tl->cues)
        return vkr_fail(VKR_E_INTERNAL, "timeline: out of memory");
    tl->n_cues = sb->n_cues;
    for (int i = 0; i < sb->n_cues; i++) {
        const vkr_cue *c = &sb->cues[i];
        if (!(c->start >= 0) || !isfinite(c->start) || !(c->duration > 0) ||
            !isfinite(c->duration))
            return vkr_fail(VKR_E_DATA,
                            "timeline: cue %d has start %g s and duration %g s, expected start "
                            ">= 0 and duration > 0",
                            i, c->start, c->duration);
        vkr_tl_cue *o = &tl->cues[i];
        o->cue = i;
        o->start_us = min64(vkr_seconds_to_us(c->start), MAX_TOTAL_US);
        o->end_us = o->start_us + min64(vkr_seconds_to_us(c->duration), MAX_TOTAL_US);
        /* A cue that starts at or after the end of the clip is kept, empty, at
         * the clip end: the parser decides whether that is an error. */
        o->sample_begin = min64(vkr_us_to_index(o->start_us, rate, 1), tl->n_samples);
        o->sample_end = max64(min64(vkr_us_to_index(o->end_us, rate, 1), tl->n_samples),
                              o->sample_begin);
        /* Frame k is displayed over [k/fps, (k+1)/fps): floor of the sample's
         * time in frames. The last frame stays up until the clip ends. */
        int64_t frame = (int64_t)floor_div((__int128)o->sample_begin * fn, (__int128)rate * fd);
        o->frame = max64(min64(frame, tl->n_frames - 1), 0);
    }
    qsort(tl->cues, (size_t)tl->n_cues, sizeof *tl->cues, cmp_cue);
    return VKR_OK;
}

static int build_subtitles(const vkr_storyboard *sb, vkr_timeline *tl)
{
    int n_max = 0, n = 0, ret = VKR_OK;
    for (int i = 0; i < sb->n_shots; i++)
        n_max += sb->shots[i].subtitle != NULL;
    n_max += sb->n_subtitles > 0 ? sb->n_subtitles : 0;
    if (n_max == 0)
        return VKR_OK;

    keyed_subtitle *k = calloc((size_t)n_max, sizeof *k);
    if (!k)
        return vkr_fail(VKR_E_INTERNAL, "timeline: out of memory");
    for (int i = 0; i < sb->n_shots; i++) {
        if (!sb->shots[i].subtitle)
            continue;
        k[n].sub = (vkr_tl_subtitle){.start_us = tl->shots[i].start_us,
                                     .end_us = tl->shots[i].end_us,
                                     .text = sb->shots[i].subtitle,
                                     .shot = i};
        k[n].order = n;
        n++;
    }
    for (int i = 0; i < sb->n_subtitles; i++) {
        const vkr_subtitle *s = &sb->subtitles[i];
        if (!(s->start >= 0) || !(s->end > s->start) || !isfinite(s->end)) {
            ret = vkr_fail(VKR_E_DATA,
                           "timeline: subtitle %d spans %g..%g s, expected 0 <= start < end", i,
                           s->start, s->end);
            goto done;
        }
        int64_t start = vkr_seconds_to_us(s->start);
        int64_t end = min64(vkr_seconds_to_us(s->end), tl->duration_us);
        /* Nothing of it is visible (past the clip end, or shorter than 1 us). */
        if (end <= start)
            continue;
        k[n].sub = (vkr_tl_subtitle){.start_us = start, .end_us = end, .text = s->text, .shot = -1};
        k[n].order = n;
        n++;
    }
    qsort(k, (size_t)n, sizeof *k, cmp_subtitle);
    if (n > 0) {
        tl->subtitles = calloc((size_t)n, sizeof *tl->subtitles);
        if (!tl->subtitles) {
            ret = vkr_fail(VKR_E_INTERNAL, "timeline: out of memory");
            goto done;
        }
        for (int i = 0; i < n; i++)
            tl->subtitles[i] = k[i].sub;
        tl->n_subtitles = n;
    }
done:
    free(k);
    return ret;
}

int vkr_timeline_build(const vkr_storyboard *sb, vkr_timeline *tl)
{
    int ret;
    memset(tl, 0, sizeof *tl);
    const vkr_output_cfg *o = &sb->output;
    if (o->fps_num <= 0 || o->fps_den <= 0 || o->sample_rate <= 0)
        return vkr_fail(VKR_E_DATA, "timeline: frame rate %d/%d and sample rate %d must be > 0",
                        o->fps_num, o->fps_den, o->sample_rate);
    tl->fps_num = o->fps_num;
    tl->fps_den = o->fps_den;
    tl->sample_rate = o->sample_rate;

    if ((ret = build_shots(sb, tl)) || (ret = build_cues(sb, tl)) ||
        (ret = build_subtitles(sb, tl)))
        goto fail;
    return VKR_OK;
fail:
    vkr_timeline_free(tl);
    return ret;
}
