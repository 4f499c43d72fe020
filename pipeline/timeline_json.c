/* The timeline as the stable plan JSON and as a readable table
 * (docs/timeline.md). Kept apart from timeline.c because both need the
 * storyboard's prompt helpers, while the arithmetic needs nothing. */
#include "timeline.h"

#include "common/status.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ---- JSON ------------------------------------------------------------------ */

/* cJSON keeps numbers as doubles, which cannot hold every int64 or uint64 (a
 * seed needs 64 bits): integers are inserted as raw digit strings instead, so
 * they print exactly. Every helper records allocation failure in *oom and is a
 * no-op once it is set, so the builder checks once at the end. */
typedef struct {
    bool oom;
} json_ctx;

static cJSON *checked(json_ctx *c, cJSON *item)
{
    if (!item)
        c->oom = true;
    return item;
}

static void put_i64(json_ctx *c, cJSON *obj, const char *key, int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    if (!c->oom)
        checked(c, cJSON_AddRawToObject(obj, key, buf));
}

static void put_u64(json_ctx *c, cJSON *obj, const char *key, uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    if (!c->oom)
        checked(c, cJSON_AddRawToObject(obj, key, buf));
}

/* Doubles print with cJSON's shortest round-trip form (%.15g, else %.17g). */
static void put_num(json_ctx *c, cJSON *obj, const char *key, double v)
{
    if (!c->oom)
        checked(c, cJSON_AddNumberToObject(obj, key, v));
}

static void put_str(json_ctx *c, cJSON *obj, const char *key, const char *s)
{
    if (c->oom)
        return;
    if (s)
        checked(c, cJSON_AddStringToObject(obj, key, s));
    else
        checked(c, cJSON_AddNullToObject(obj, key));
}

static cJSON *put_obj(json_ctx *c, cJSON *obj, const char *key)
{
    return c->oom ? NULL : checked(c, cJSON_AddObjectToObject(obj, key));
}

static cJSON *put_arr(json_ctx *c, cJSON *obj, const char *key)
{
    return c->oom ? NULL : checked(c, cJSON_AddArrayToObject(obj, key));
}

static cJSON *push_obj(json_ctx *c, cJSON *arr)
{
    if (c->oom)
        return NULL;
    cJSON *o = checked(c, cJSON_CreateObject());
    if (o)
        cJSON_AddItemToArray(arr, o);
    return o;
}

static void put_sampler(json_ctx *c, cJSON *obj, const char *key, const vkr_sampler_cfg *s)
{
    cJSON *o = put_obj(c, obj, key);
    put_str(c, o, "name", vkr_sampler_name(s->name));
    put_i64(c, o, "steps", s->steps);
    put_num(c, o, "guidance", s->guidance);
}

static void put_shot(json_ctx *c, cJSON *arr, const vkr_storyboard *sb, const vkr_tl_shot *t)
{
    const vkr_shot *s = &sb->shots[t->shot];
    cJSON *o = push_obj(c, arr);
    put_i64(c, o, "index", t->shot);
    put_str(c, o, "id", s->id);
    put_i64(c, o, "start_us", t->start_us);
    put_i64(c, o, "end_us", t->end_us);
    put_i64(c, o, "frame_begin", t->frame_begin);
    put_i64(c, o, "frame_end", t->frame_end);
    put_i64(c, o, "sample_begin", t->sample_begin);
    put_i64(c, o, "sample_end", t->sample_end);

    cJSON *tr = put_obj(c, o, "transition");
    put_str(c, tr, "kind", t->transition == VKR_TRANSITION_CROSSFADE ? "crossfade" : "cut");
    put_i64(c, tr, "duration_us", t->xfade_us);
    put_i64(c, tr, "frame_begin", t->xfade_frame_begin);
    put_i64(c, tr, "frame_end", t->xfade_frame_end);
    put_i64(c, tr, "sample_begin", t->xfade_sample_begin);
    put_i64(c, tr, "sample_end", t->xfade_sample_end);

    char *prompt = vkr_shot_full_prompt(sb, s);
    char *negative = vkr_shot_full_negative_prompt(sb, s);
    if (!prompt)
        c->oom = true;
    put_str(c, o, "prompt", prompt);
    put_str(c, o, "negative_prompt", negative);
    free(prompt);
    free(negative);
    put_u64(c, o, "seed", s->seed);
    put_sampler(c, o, "sampler", &s->sampler);
    if (s->ambience_prompt) {
        cJSON *a = put_obj(c, o, "ambience");
        put_str(c, a, "prompt", s->ambience_prompt);
        put_num(c, a, "gain_db", s->ambience_gain_db);
    } else {
        put_str(c, o, "ambience", NULL);
    }
    put_str(c, o, "subtitle", s->subtitle);
}

static void put_cue(json_ctx *c, cJSON *arr, const vkr_storyboard *sb, const vkr_tl_cue *t)
{
    const vkr_cue *q = &sb->cues[t->cue];
    cJSON *o = push_obj(c, arr);
    put_i64(c, o, "index", t->cue);
    put_str(c, o, "id", q->id);
    put_i64(c, o, "start_us", t->start_us);
    put_i64(c, o, "end_us", t->end_us);
    put_i64(c, o, "sample_begin", t->sample_begin);
    put_i64(c, o, "sample_end", t->sample_end);
    put_i64(c, o, "frame", t->frame);
    put_str(c, o, "prompt", q->prompt);
    put_num(c, o, "gain_db", q->gain_db);
    put_num(c, o, "pan", q->pan);
    put_u64(c, o, "seed", q->seed);
}

char *vkr_timeline_to_json(const vkr_storyboard *sb, const vkr_timeline *tl)
{
    json_ctx c = {0};
    char *printed = NULL, *out = NULL;
    cJSON *root = checked(&c, cJSON_CreateObject());

    put_str(&c, root, "format", "vkreel-plan");
    put_i64(&c, root, "version", 1);
    put_str(&c, root, "title", sb->title);

    const vkr_output_cfg *oc = &sb->output;
    cJSON *o = put_obj(&c, root, "output");
    put_i64(&c, o, "width", oc->width);
    put_i64(&c, o, "height", oc->height);
    put_i64(&c, o, "fps_num", tl->fps_num);
    put_i64(&c, o, "fps_den", tl->fps_den);
    put_i64(&c, o, "sample_rate", tl->sample_rate);
    put_i64(&c, o, "channels", oc->channels);
    put_i64(&c, o, "crf", oc->crf);

    cJSON *m = put_obj(&c, root, "models");
    put_str(&c, m, "video", sb->video_model);
    put_str(&c, m, "audio", sb->audio_model);
    put_sampler(&c, root, "audio_sampler", &sb->audio_sampler);

    cJSON *t = put_obj(&c, root, "totals");
    put_i64(&c, t, "duration_us", tl->duration_us);
    put_i64(&c, t, "n_frames", tl->n_frames);
    put_i64(&c, t, "n_samples", tl->n_samples);
    put_i64(&c, t, "n_shots", tl->n_shots);
    put_i64(&c, t, "n_cues", tl->n_cues);
    put_i64(&c, t, "n_subtitles", tl->n_subtitles);

    cJSON *shots = put_arr(&c, root, "shots");
    for (int i = 0; i < tl->n_shots && !c.oom; i++)
        put_shot(&c, shots, sb, &tl->shots[i]);

    cJSON *cues = put_arr(&c, root, "cues");
    for (int i = 0; i < tl->n_cues && !c.oom; i++)
        put_cue(&c, cues, sb, &tl->cues[i]);

    if (sb->has_music) {
        cJSON *mu = put_obj(&c, root, "music");
        put_str(&c, mu, "prompt", sb->music_prompt);
        put_num(&c, mu, "gain_db", sb->music_gain_db);
        put_u64(&c, mu, "seed", sb->music_seed);
    } else {
        put_str(&c, root, "music", NULL);
    }

    cJSON *subs = put_arr(&c, root, "subtitles");
    for (int i = 0; i < tl->n_subtitles && !c.oom; i++) {
        const vkr_tl_subtitle *s = &tl->subtitles[i];
        cJSON *so = push_obj(&c, subs);
        put_i64(&c, so, "start_us", s->start_us);
        put_i64(&c, so, "end_us", s->end_us);
        if (s->shot >= 0)
            put_i64(&c, so, "shot", s->shot);
        else
            put_str(&c, so, "shot", NULL);
        put_str(&c, so, "text", s->text);
    }

    cJSON *l = put_obj(&c, root, "loudness");
    put_num(&c, l, "integrated_lufs", sb->loudness_lufs);
    put_num(&c, l, "true_peak_dbtp", sb->true_peak_dbtp);

    if (c.oom)
        goto fail;
    /* cJSON_Print allocates through cJSON's hooks; hand back plain malloc
     * memory with the trailing newline a text file wants. */
    printed = cJSON_Print(root);
    if (!printed)
        goto fail;
    size_t n = strlen(printed);
    out = malloc(n + 2);
    if (!out)
        goto fail;
    memcpy(out, printed, n);
    out[n] = '\n';
    out[n + 1] = 0;
    cJSON_free(printed);
    cJSON_Delete(root);
    return out;
fail:
    cJSON_free(printed);
    cJSON_Delete(root);
    vkr_fail(VKR_E_INTERNAL, "plan JSON: out of memory");
    return NULL;
}

/* ---- table ------------------------------------------------------------------- */

/* "S.SSSSSS" from exact microseconds (non-negative). */
static void fmt_us(char *buf, size_t n, int64_t us)
{
    snprintf(buf, n, "%" PRId64 ".%06" PRId64, us / 1000000, us % 1000000);
}

/* At most `max` bytes of `s` on one line: control characters become spaces and
 * the cut never splits a UTF-8 sequence; "..." marks a cut. */
static void excerpt(char *buf, size_t max, const char *s)
{
    size_t o = 0;
    if (!s) {
        snprintf(buf, max + 1, "-");
        return;
    }
    size_t len = strlen(s);
    size_t limit = len <= max ? len : max - 3;
    while (limit < len && limit > 0 && ((unsigned char)s[limit] & 0xC0) == 0x80)
        limit--; /* back off to the start of a UTF-8 sequence */
    for (size_t i = 0; i < limit; i++)
        buf[o++] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
    if (limit < len) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = 0;
}

void vkr_timeline_print(const vkr_storyboard *sb, const vkr_timeline *tl, FILE *out)
{
    char a[32], b[32], text[64];
    const vkr_output_cfg *oc = &sb->output;

    fmt_us(a, sizeof a, tl->duration_us);
    excerpt(text, 60, sb->title ? sb->title : "(untitled)");
    fprintf(out, "%s\n", text);
    fprintf(out, "output  %dx%d, %d/%d fps (%.3f), %d Hz, %d channel%s, crf %d\n", oc->width,
            oc->height, tl->fps_num, tl->fps_den, (double)tl->fps_num / tl->fps_den,
            tl->sample_rate, oc->channels, oc->channels == 1 ? "" : "s", oc->crf);
    fprintf(out, "total   %s s = %" PRId64 " frames = %" PRId64 " samples; %d shot%s, %d cue%s, "
                 "%d subtitle%s\n\n",
            a, tl->n_frames, tl->n_samples, tl->n_shots, tl->n_shots == 1 ? "" : "s", tl->n_cues,
            tl->n_cues == 1 ? "" : "s", tl->n_subtitles, tl->n_subtitles == 1 ? "" : "s");

    fprintf(out, "%3s  %-14s %-23s %-15s %-21s %-24s %s\n", "#", "shot", "time (s)", "frames",
            "samples", "transition", "prompt");
    for (int i = 0; i < tl->n_shots; i++) {
        const vkr_tl_shot *t = &tl->shots[i];
        const vkr_shot *s = &sb->shots[t->shot];
        char id[16], range[72], frames[32], samples[32], tr[40];
        excerpt(id, 14, s->id);
        fmt_us(a, sizeof a, t->start_us);
        fmt_us(b, sizeof b, t->end_us);
        snprintf(range, sizeof range, "%s-%s", a, b);
        snprintf(frames, sizeof frames, "[%" PRId64 ",%" PRId64 ")", t->frame_begin, t->frame_end);
        snprintf(samples, sizeof samples, "[%" PRId64 ",%" PRId64 ")", t->sample_begin,
                 t->sample_end);
        if (t->transition == VKR_TRANSITION_CROSSFADE) {
            /* "xfade S.mmms f[b,e)": the effective length, in milliseconds. */
            snprintf(tr, sizeof tr, "xfade %" PRId64 ".%03" PRId64 "s f[%" PRId64 ",%" PRId64 ")",
                     t->xfade_us / 1000000, t->xfade_us % 1000000 / 1000, t->xfade_frame_begin,
                     t->xfade_frame_end);
        } else {
            snprintf(tr, sizeof tr, "cut");
        }
        excerpt(text, 40, s->prompt);
        fprintf(out, "%3d  %-14s %-23s %-15s %-21s %-24s %s\n", t->shot, id, range, frames, samples,
                tr, text);
    }

    if (tl->n_cues > 0) {
        fprintf(out, "\n%3s  %-14s %-23s %-21s %-7s %-6s %-5s %s\n", "#", "cue", "time (s)",
                "samples", "frame", "gain", "pan", "prompt");
        for (int i = 0; i < tl->n_cues; i++) {
            const vkr_tl_cue *t = &tl->cues[i];
            const vkr_cue *q = &sb->cues[t->cue];
            char id[16], range[72], samples[32];
            excerpt(id, 14, q->id);
            fmt_us(a, sizeof a, t->start_us);
            fmt_us(b, sizeof b, t->end_us);
            snprintf(range, sizeof range, "%s-%s", a, b);
            snprintf(samples, sizeof samples, "[%" PRId64 ",%" PRId64 ")", t->sample_begin,
                     t->sample_end);
            excerpt(text, 40, q->prompt);
            fprintf(out, "%3d  %-14s %-23s %-21s %-7" PRId64 " %+-6.1f %+-5.2f %s\n", t->cue, id,
                    range, samples, t->frame, q->gain_db, q->pan, text);
        }
    }

    if (tl->n_subtitles > 0) {
        fprintf(out, "\n%-23s %-6s %s\n", "subtitle (s)", "shot", "text");
        for (int i = 0; i < tl->n_subtitles; i++) {
            const vkr_tl_subtitle *s = &tl->subtitles[i];
            char range[72], shot[16];
            fmt_us(a, sizeof a, s->start_us);
            fmt_us(b, sizeof b, s->end_us);
            snprintf(range, sizeof range, "%s-%s", a, b);
            if (s->shot >= 0)
                snprintf(shot, sizeof shot, "%d", s->shot);
            else
                snprintf(shot, sizeof shot, "-");
            excerpt(text, 50, s->text);
            fprintf(out, "%-23s %-6s %s\n", range, shot, text);
        }
    }

    fprintf(out, "\n");
    if (sb->has_music) {
        excerpt(text, 50, sb->music_prompt);
        fprintf(out, "music     %s (%+.1f dB)\n", text, sb->music_gain_db);
    } else {
        fprintf(out, "music     none\n");
    }
    fprintf(out, "loudness  %.1f LUFS integrated, true peak <= %.1f dBTP\n", sb->loudness_lufs,
            sb->true_peak_dbtp);
}
