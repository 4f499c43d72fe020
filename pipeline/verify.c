#include "verify.h"

#include "common/status.h"
#include "subtitles.h"

#include <cjson/cJSON.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- report */

static char *vstrdup(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s)
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

static int add_check(vkr_verify_report *r, bool ok, const char *name, const char *fmt, ...)
    VKR_PRINTF(4, 5);
static int add_check(vkr_verify_report *r, bool ok, const char *name, const char *fmt, ...)
{
    if (r->n == r->cap) {
        int cap = r->cap ? 2 * r->cap : 16;
        vkr_verify_check *c = realloc(r->checks, sizeof *c * (size_t)cap);
        if (!c)
            return vkr_fail(VKR_E_INTERNAL, "verify: out of memory");
        r->checks = c;
        r->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *detail = vstrdup(fmt, ap);
    va_end(ap);
    char *nm = strdup(name);
    if (!detail || !nm) {
        free(detail);
        free(nm);
        return vkr_fail(VKR_E_INTERNAL, "verify: out of memory");
    }
    r->checks[r->n++] = (vkr_verify_check){nm, ok, detail};
    r->n_failed += !ok;
    return VKR_OK;
}

void vkr_verify_report_print(const vkr_verify_report *r, FILE *out)
{
    for (int i = 0; i < r->n; i++) {
        const vkr_verify_check *c = &r->checks[i];
        if (c->ok)
            fprintf(out, "%s: ok%s%s%s\n", c->name, c->detail[0] ? " (" : "", c->detail,
                    c->detail[0] ? ")" : "");
        else
            fprintf(out, "%s: FAIL: %s\n", c->name, c->detail);
    }
}

void vkr_verify_report_free(vkr_verify_report *r)
{
    for (int i = 0; i < r->n; i++) {
        free(r->checks[i].name);
        free(r->checks[i].detail);
    }
    free(r->checks);
    free(r->flash_frames);
    free(r->beep_onsets);
    memset(r, 0, sizeof *r);
}

static int push_i64(int64_t **v, int *n, int *cap, int64_t x)
{
    if (*n == *cap) {
        int c = *cap ? 2 * *cap : 16;
        int64_t *p = realloc(*v, sizeof *p * (size_t)c);
        if (!p)
            return vkr_fail(VKR_E_INTERNAL, "verify: out of memory");
        *v = p;
        *cap = c;
    }
    (*v)[(*n)++] = x;
    return VKR_OK;
}

/* -------------------------------------------------------------- detectors */

bool vkr_verify_is_flash(const uint8_t *y, int linesize, int width, int height, bool full_range)
{
    /* Normalise to 0..1 so the thresholds mean the same for either range. */
    double lo = full_range ? 0.0 : 16.0, span = full_range ? 255.0 : 219.0;
    int level = (int)ceil(lo + VKR_VERIFY_FLASH_LEVEL * span);
    uint64_t sum = 0, bright = 0;
    for (int r = 0; r < height; r++) {
        const uint8_t *row = y + (size_t)r * (size_t)linesize;
        for (int x = 0; x < width; x++) {
            sum += row[x];
            bright += row[x] >= level;
        }
    }
    double n = (double)width * height;
    double mean = ((double)sum / n - lo) / span;
    return mean >= VKR_VERIFY_FLASH_MEAN && (double)bright / n >= VKR_VERIFY_FLASH_FRACTION;
}

void vkr_onset_init(vkr_onset_detector *d, int sample_rate)
{
    memset(d, 0, sizeof *d);
    d->sample_rate = sample_rate;
    d->gap = (int64_t)llround(VKR_VERIFY_BEEP_GAP_S * sample_rate);
    d->last_loud = INT64_MIN / 2;
}

/* An onset is the first loud sample after a quiet gap. Measuring the gap from
 * the last *loud* sample (not the last non-zero one) makes this indifferent to
 * AAC pre-echo, which smears low-level energy ahead of a sharp attack, and to
 * the zero crossings inside the beep itself. */
int vkr_onset_feed(vkr_onset_detector *d, const float *x, int n, int channels, int64_t first)
{
    for (int i = 0; i < n; i++) {
        float m = 0.0f;
        for (int c = 0; c < channels; c++) {
            float a = fabsf(x[(size_t)i * (size_t)channels + (size_t)c]);
            m = a > m ? a : m;
        }
        if (m < (float)VKR_VERIFY_BEEP_ON)
            continue;
        int64_t k = first + i;
        if (k - d->last_loud > d->gap) {
            int rc = push_i64(&d->onsets, &d->n, &d->cap, k);
            if (rc)
                return rc;
        }
        d->last_loud = k;
    }
    return VKR_OK;
}

void vkr_onset_free(vkr_onset_detector *d)
{
    free(d->onsets);
    memset(d, 0, sizeof *d);
}

/* ------------------------------------------------------------------ verify */

typedef struct {
    int64_t start_us, end_us;
    char *text;
} sub_cue;

typedef struct {
    const char *path;
    const vkr_verify_opts *o;
    vkr_verify_report *r;
    AVFormatContext *fmt;
    AVStream *vs, *as, *ss;
    AVCodecContext *vdec, *adec;
    AVFrame *frame;
    float *abuf; /* interleaving scratch */
    size_t abuf_len;
    int64_t audio_next; /* running sample position */
    vkr_onset_detector onsets;
    int flash_cap;
    sub_cue *subs;
    int n_subs, subs_cap;
} vctx;

static const char *codec_name(enum AVCodecID id)
{
    const char *n = avcodec_get_name(id);
    return n ? n : "unknown";
}

static int count_streams(AVFormatContext *fmt, enum AVMediaType t, AVStream **first, char *names,
                         size_t names_len)
{
    int n = 0;
    names[0] = 0;
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        AVStream *st = fmt->streams[i];
        if (st->codecpar->codec_type != t)
            continue;
        if (!n)
            *first = st;
        size_t used = strlen(names);
        snprintf(names + used, names_len - used, "%s%s", n ? ", " : "",
                 codec_name(st->codecpar->codec_id));
        n++;
    }
    return n;
}

static int check_stream(vctx *v, enum AVMediaType t, enum AVCodecID want, const char *what,
                        AVStream **out)
{
    char names[256];
    AVStream *st = NULL;
    int n = count_streams(v->fmt, t, &st, names, sizeof names);
    bool ok = n == 1 && st->codecpar->codec_id == want;
    *out = n >= 1 ? st : NULL;
    if (ok)
        return add_check(v->r, true, what, "%s", names);
    return add_check(v->r, false, what, "expected 1 %s stream, found %d%s%s%s", codec_name(want), n,
                     n ? " (" : "", names, n ? ")" : "");
}

/* The writer adds a subtitle track only when there are cues, so a file
 * without subtitles has none; when present it must be the one mov_text track. */
static int check_subtitle_stream(vctx *v)
{
    char names[256];
    AVStream *st = NULL;
    int n = count_streams(v->fmt, AVMEDIA_TYPE_SUBTITLE, &st, names, sizeof names);
    const vkr_timeline *tl = v->o->tl;
    v->ss = n >= 1 ? st : NULL;
    if (n == 0) {
        if (tl && tl->n_subtitles > 0)
            return add_check(v->r, false, "subtitle stream",
                             "expected 1 mov_text stream (%d subtitles planned), found none",
                             tl->n_subtitles);
        return add_check(v->r, true, "subtitle stream", "none: no subtitles%s",
                         tl ? " planned" : "");
    }
    if (n == 1 && st->codecpar->codec_id == AV_CODEC_ID_MOV_TEXT)
        return add_check(v->r, true, "subtitle stream", "%s", names);
    return add_check(v->r, false, "subtitle stream", "expected 1 mov_text stream, found %d (%s)", n,
                     names);
}

static int open_decoder(AVStream *st, AVCodecContext **out)
{
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (!codec)
        return vkr_fail(VKR_E_DATA, "no decoder for %s", codec_name(st->codecpar->codec_id));
    AVCodecContext *c = avcodec_alloc_context3(codec);
    if (!c)
        return vkr_fail(VKR_E_INTERNAL, "verify: out of memory");
    *out = c;
    if (avcodec_parameters_to_context(c, st->codecpar) < 0)
        return vkr_fail(VKR_E_INTERNAL, "verify: cannot set up the %s decoder", codec->name);
    /* Lets the decoder shift timestamps when it drops the AAC encoder delay. */
    c->pkt_timebase = st->time_base;
    c->thread_count = 1;
    if (avcodec_open2(c, codec, NULL) < 0)
        return vkr_fail(VKR_E_DATA, "cannot open the %s decoder", codec->name);
    return VKR_OK;
}

static int on_video_frame(vctx *v, const AVFrame *f)
{
    int64_t idx = v->r->n_video_frames_decoded++;
    bool full = f->color_range == AVCOL_RANGE_JPEG;
    if (vkr_verify_is_flash(f->data[0], f->linesize[0], f->width, f->height, full))
        return push_i64(&v->r->flash_frames, &v->r->n_flashes, &v->flash_cap, idx);
    return VKR_OK;
}

static int on_audio_frame(vctx *v, const AVFrame *f)
{
    int ch = f->ch_layout.nb_channels, n = f->nb_samples;
    if (ch < 1 || n < 1)
        return VKR_OK;
    int64_t pos = v->audio_next;
    if (f->pts != AV_NOPTS_VALUE) {
        int64_t start = v->as->start_time != AV_NOPTS_VALUE ? v->as->start_time : 0;
        pos = av_rescale_q(f->pts - start, v->as->time_base, (AVRational){1, f->sample_rate});
    }
    v->audio_next = pos + n;
    if (v->audio_next > v->r->n_audio_decoded)
        v->r->n_audio_decoded = v->audio_next;
    if (!v->r->sync_checked)
        return VKR_OK;

    size_t need = (size_t)n * (size_t)ch;
    if (need > v->abuf_len) {
        float *b = realloc(v->abuf, need * sizeof *b);
        if (!b)
            return vkr_fail(VKR_E_INTERNAL, "verify: out of memory");
        v->abuf = b;
        v->abuf_len = need;
    }
    switch (f->format) {
    case AV_SAMPLE_FMT_FLTP:
        for (int c = 0; c < ch; c++) {
            const float *src = (const float *)f->extended_data[c];
            for (int i = 0; i < n; i++)
                v->abuf[(size_t)i * (size_t)ch + (size_t)c] = src[i];
        }
        break;
    case AV_SAMPLE_FMT_FLT:
        memcpy(v->abuf, f->data[0], need * sizeof(float));
        break;
    default:
        return vkr_fail(VKR_E_DATA, "%s: unexpected decoded audio format %s", v->path,
                        av_get_sample_fmt_name(f->format));
    }
    return vkr_onset_feed(&v->onsets, v->abuf, n, ch, pos);
}

static int decode(vctx *v, AVCodecContext *dec, const AVPacket *pkt)
{
    int ret = avcodec_send_packet(dec, pkt);
    if (ret < 0 && ret != AVERROR_EOF)
        return vkr_fail(VKR_E_DATA, "%s: %s decoding failed", v->path, dec->codec->name);
    for (;;) {
        ret = avcodec_receive_frame(dec, v->frame);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return VKR_OK;
        if (ret < 0)
            return vkr_fail(VKR_E_DATA, "%s: %s decoding failed", v->path, dec->codec->name);
        int rc = dec == v->vdec ? on_video_frame(v, v->frame) : on_audio_frame(v, v->frame);
        av_frame_unref(v->frame);
        if (rc)
            return rc;
    }
}

/* mov_text sample: 16-bit big-endian text length, the UTF-8 text, then style boxes. */
static int on_subtitle_packet(vctx *v, const AVPacket *pkt)
{
    if (pkt->size < 2)
        return VKR_OK;
    int len = (pkt->data[0] << 8) | pkt->data[1];
    if (len == 0 || len > pkt->size - 2)
        return VKR_OK; /* the muxer's empty samples that fill gaps between cues */
    if (v->n_subs == v->subs_cap) {
        int c = v->subs_cap ? 2 * v->subs_cap : 16;
        sub_cue *p = realloc(v->subs, sizeof *p * (size_t)c);
        if (!p)
            return vkr_fail(VKR_E_INTERNAL, "verify: out of memory");
        v->subs = p;
        v->subs_cap = c;
    }
    sub_cue *s = &v->subs[v->n_subs];
    s->text = malloc((size_t)len + 1);
    if (!s->text)
        return vkr_fail(VKR_E_INTERNAL, "verify: out of memory");
    memcpy(s->text, pkt->data + 2, (size_t)len);
    s->text[len] = 0;
    AVRational us = {1, 1000000};
    s->start_us = av_rescale_q(pkt->pts, v->ss->time_base, us);
    s->end_us = av_rescale_q(pkt->pts + pkt->duration, v->ss->time_base, us);
    v->n_subs++;
    return VKR_OK;
}

static const char *tag(AVDictionary *m, const char *key)
{
    AVDictionaryEntry *e = av_dict_get(m, key, NULL, 0);
    return e ? e->value : NULL;
}

static int check_colour(vctx *v)
{
    const AVCodecParameters *p = v->vs->codecpar;
    bool ok = p->color_primaries == AVCOL_PRI_BT709 && p->color_trc == AVCOL_TRC_BT709 &&
              p->color_space == AVCOL_SPC_BT709 && p->color_range == AVCOL_RANGE_MPEG;
    const char *pri = av_color_primaries_name(p->color_primaries);
    const char *trc = av_color_transfer_name(p->color_trc);
    const char *spc = av_color_space_name(p->color_space);
    const char *rng = av_color_range_name(p->color_range);
    return add_check(v->r, ok, "colour tags", "%sprimaries %s, transfer %s, matrix %s, range %s",
                     ok ? "" : "expected bt709/bt709/bt709/tv, found ", pri ? pri : "?",
                     trc ? trc : "?", spc ? spc : "?", rng ? rng : "?");
}

static int check_start_times(vctx *v)
{
    char bad[256] = "";
    AVStream *sts[3] = {v->vs, v->as, v->ss};
    const char *names[3] = {"video", "audio", "subtitle"};
    for (int i = 0; i < 3; i++) {
        if (!sts[i])
            continue;
        int64_t st = sts[i]->start_time;
        if (st == 0)
            continue;
        size_t used = strlen(bad);
        if (st == AV_NOPTS_VALUE)
            snprintf(bad + used, sizeof bad - used, "%s%s unknown", used ? ", " : "", names[i]);
        else
            snprintf(bad + used, sizeof bad - used, "%s%s %.6f s", used ? ", " : "", names[i],
                     st * av_q2d(sts[i]->time_base));
    }
    if (bad[0])
        return add_check(v->r, false, "start times", "expected 0 for every stream, found %s", bad);
    return add_check(v->r, true, "start times", "all streams start at 0");
}

static int check_generation(vctx *v)
{
    const vkr_storyboard *sb = v->o->sb;
    if (!sb || !sb->canonical_json)
        return VKR_OK;
    const char *gen = tag(v->fmt->metadata, "vkreel_generation");
    if (!gen)
        return add_check(v->r, false, "generation metadata",
                         "expected a vkreel_generation tag, found none");
    cJSON *g = cJSON_Parse(gen), *want = cJSON_Parse(sb->canonical_json);
    const cJSON *have = cJSON_GetObjectItemCaseSensitive(g, "storyboard");
    int rc;
    if (!g || !have)
        rc = add_check(v->r, false, "generation metadata",
                       "expected JSON with a \"storyboard\" member, found %.60s", gen);
    else if (!want || !cJSON_Compare(have, want, true))
        rc = add_check(v->r, false, "generation metadata",
                       "expected the storyboard of %s, found a different storyboard", sb->path ? sb->path : "the plan");
    else
        rc = add_check(v->r, true, "generation metadata", "storyboard matches");
    cJSON_Delete(g);
    cJSON_Delete(want);
    return rc;
}

static bool contains(const int64_t *v, int n, int64_t x)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && v[lo] == x;
}

static int64_t beep_len(const vkr_timeline *tl, const vkr_tl_cue *c)
{
    /* Mirrors the test card (testcard.h): min(cue duration, 200 ms). */
    int64_t max_len = llround(0.200 * tl->sample_rate);
    int64_t len = c->sample_end - c->sample_begin;
    if (c->sample_begin + len > tl->n_samples)
        len = tl->n_samples - c->sample_begin;
    len = len < max_len ? len : max_len;
    return len < 0 ? 0 : len;
}

static void append_list(char *buf, size_t len, const int64_t *v, int n)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < n && used + 24 < len; i++) {
        if (i == 8) {
            snprintf(buf + used, len - used, ", ... (%d in all)", n);
            break;
        }
        used += (size_t)snprintf(buf + used, len - used, "%s%" PRId64, i ? ", " : "", v[i]);
    }
}

static int check_sync(vctx *v)
{
    const vkr_timeline *tl = v->o->tl;
    const vkr_storyboard *sb = v->o->sb;
    vkr_verify_report *r = v->r;
    const double frame_samples = (double)tl->sample_rate * tl->fps_den / tl->fps_num;
    const double ms_per_sample = 1000.0 / tl->sample_rate;
    int rc = VKR_OK;
    int64_t *expected = NULL; /* onsets accounted for */
    int n_expected = 0, cap_expected = 0;

    for (int i = 0; i < tl->n_cues && !rc; i++) {
        const vkr_tl_cue *c = &tl->cues[i];
        const char *id = sb && sb->cues && sb->cues[c->cue].id ? sb->cues[c->cue].id : "?";
        char name[160];
        snprintf(name, sizeof name, "cue '%.100s' (frame %" PRId64 ")", id, c->frame);

        bool flash = contains(r->flash_frames, r->n_flashes, c->frame);
        int64_t b = c->sample_begin, len = beep_len(tl, c);

        /* A beep that starts while an earlier one is still sounding has no quiet
         * gap before it, so its onset cannot be seen separately. */
        int masked_by = -1;
        for (int j = 0; j < i; j++) {
            const vkr_tl_cue *p = &tl->cues[j];
            int64_t pl = beep_len(tl, p);
            if (pl > 0 && (double)(b - p->sample_begin) > frame_samples &&
                b < p->sample_begin + pl + v->onsets.gap)
                masked_by = j;
        }

        char beep[200];
        bool beep_ok = true;
        if (len == 0) {
            snprintf(beep, sizeof beep, "no beep (cue starts at the clip's end)");
        } else if (masked_by >= 0) {
            const vkr_tl_cue *p = &tl->cues[masked_by];
            snprintf(beep, sizeof beep, "beep not checked: it overlaps cue '%.60s'",
                     sb && sb->cues ? sb->cues[p->cue].id : "?");
        } else {
            int64_t best = -1;
            for (int k = 0; k < r->n_beeps; k++)
                if (best < 0 || llabs(r->beep_onsets[k] - b) < llabs(best - b))
                    best = r->beep_onsets[k];
            if (best < 0) {
                beep_ok = false;
                snprintf(beep, sizeof beep, "expected a beep onset at sample %" PRId64 ", found no beep", b);
            } else {
                int64_t d = best - b;
                beep_ok = fabs((double)d) <= frame_samples;
                if (beep_ok) {
                    snprintf(beep, sizeof beep, "beep onset at sample %" PRId64 " (%+.2f ms)", best,
                             d * ms_per_sample);
                    rc = push_i64(&expected, &n_expected, &cap_expected, best);
                } else {
                    snprintf(beep, sizeof beep,
                             "expected a beep onset within 1 frame of sample %" PRId64
                             ", found %" PRId64 " (%+.2f ms, %+.2f frames)",
                             b, best, d * ms_per_sample, (double)d / frame_samples);
                }
            }
        }
        if (!rc) {
            if (flash && beep_ok)
                rc = add_check(r, true, name, "flash at frame %" PRId64 ", %s", c->frame, beep);
            else if (!flash)
                rc = add_check(r, false, name, "expected a flash at frame %" PRId64 ", found %s; %s",
                               c->frame,
                               r->n_flashes ? "none on that frame" : "no flash frames at all",
                               beep);
            else
                rc = add_check(r, false, name, "%s", beep);
        }
    }

    /* Flashes on frames no cue asked for. */
    if (!rc) {
        int64_t *extra = NULL;
        int n_extra = 0, cap_extra = 0;
        for (int k = 0; k < r->n_flashes && !rc; k++) {
            bool planned = false;
            for (int i = 0; i < tl->n_cues && !planned; i++)
                planned = tl->cues[i].frame == r->flash_frames[k];
            if (!planned)
                rc = push_i64(&extra, &n_extra, &cap_extra, r->flash_frames[k]);
        }
        char list[200];
        append_list(list, sizeof list, extra, n_extra);
        if (!rc)
            rc = n_extra ? add_check(r, false, "unexpected flashes",
                                     "expected none, found %d at frames %s", n_extra, list)
                         : add_check(r, true, "unexpected flashes", "none");
        free(extra);
    }
    /* Beep onsets that no cue explains. */
    if (!rc) {
        int64_t *extra = NULL;
        int n_extra = 0, cap_extra = 0;
        for (int k = 0; k < r->n_beeps && !rc; k++) {
            bool planned = false;
            for (int i = 0; i < n_expected && !planned; i++)
                planned = expected[i] == r->beep_onsets[k];
            /* Onsets inside an overlapping cue's beep are not "unexpected". */
            for (int i = 0; i < tl->n_cues && !planned; i++)
                planned = llabs(r->beep_onsets[k] - tl->cues[i].sample_begin) <= (int64_t)frame_samples;
            if (!planned)
                rc = push_i64(&extra, &n_extra, &cap_extra, r->beep_onsets[k]);
        }
        char list[200];
        append_list(list, sizeof list, extra, n_extra);
        if (!rc)
            rc = n_extra ? add_check(r, false, "unexpected beeps",
                                     "expected none, found %d at samples %s", n_extra, list)
                         : add_check(r, true, "unexpected beeps", "none");
        free(extra);
    }
    free(expected);
    return rc;
}

/* Removes U+200B zero-width spaces, which the writer inserts to defuse ASS
 * sequences (subtitles.h), so texts compare as written. In place. */
static void strip_zwsp(char *t)
{
    char *o = t;
    for (const char *i = t; *i;) {
        if ((unsigned char)i[0] == 0xE2 && (unsigned char)i[1] == 0x80 && (unsigned char)i[2] == 0x8B)
            i += 3;
        else
            *o++ = *i++;
    }
    *o = 0;
}

static int check_subtitles(vctx *v)
{
    const vkr_timeline *tl = v->o->tl;
    if (!tl)
        return add_check(v->r, true, "subtitles", "%d cues", v->n_subs);
    /* The plan as mov_text can carry it: the writer's own preparation (ms times,
     * normalised text) and flattening (one cue at a time; overlaps become
     * consecutive cues showing every active text). */
    vkr_sub_cue *prep = NULL, *want = NULL;
    int n_prep = 0, n_want = 0, rc;
    if ((rc = vkr_sub_cues_prepare(tl->subtitles, tl->n_subtitles, &prep, &n_prep)) ||
        (rc = vkr_sub_cues_flatten(prep, n_prep, &want, &n_want)))
        goto done;
    if (v->n_subs != n_want) {
        rc = add_check(v->r, false, "subtitles", "expected %d cues, found %d", n_want, v->n_subs);
        goto done;
    }
    for (int i = 0; i < v->n_subs; i++) {
        sub_cue *have = &v->subs[i];
        strip_zwsp(have->text);
        strip_zwsp(want[i].text);
        if (strcmp(want[i].text, have->text) != 0) {
            rc = add_check(v->r, false, "subtitles", "cue %d: expected text \"%.80s\", found \"%.80s\"",
                           i + 1, want[i].text, have->text);
            goto done;
        }
        if (have->start_us != want[i].start_ms * 1000 || have->end_us != want[i].end_ms * 1000) {
            rc = add_check(v->r, false, "subtitles",
                           "cue %d: expected %.3f-%.3f s, found %.6f-%.6f s", i + 1,
                           want[i].start_ms / 1e3, want[i].end_ms / 1e3, have->start_us / 1e6,
                           have->end_us / 1e6);
            goto done;
        }
    }
    rc = add_check(v->r, true, "subtitles", "%d cues, texts and times as planned", v->n_subs);
done:
    vkr_sub_cues_free(prep, n_prep);
    vkr_sub_cues_free(want, n_want);
    return rc;
}

static int check_counts(vctx *v)
{
    vkr_verify_report *r = v->r;
    const vkr_timeline *tl = v->o->tl;
    int rc;
    if (!v->vs || r->fps_num <= 0 || r->fps_den <= 0)
        return VKR_OK;
    double fps = (double)r->fps_num / r->fps_den;
    if (tl) {
        bool ok = r->n_video_packets == tl->n_frames &&
                  (r->n_video_frames_decoded < 0 || r->n_video_frames_decoded == tl->n_frames);
        if (ok)
            rc = add_check(r, true, "frame count", "%" PRId64 " frames", tl->n_frames);
        else if (r->n_video_packets != tl->n_frames)
            rc = add_check(r, false, "frame count", "expected %" PRId64 " frames, found %" PRId64,
                           tl->n_frames, r->n_video_packets);
        else
            rc = add_check(r, false, "frame count",
                           "expected %" PRId64 " decoded frames, found %" PRId64, tl->n_frames,
                           r->n_video_frames_decoded);
    } else {
        /* No plan: the packet count must agree with the stream's own duration. */
        int64_t dur = v->vs->duration;
        double secs = dur != AV_NOPTS_VALUE ? dur * av_q2d(v->vs->time_base)
                                            : v->fmt->duration / (double)AV_TIME_BASE;
        int64_t want = llround(secs * fps);
        if (want == r->n_video_packets)
            rc = add_check(r, true, "frame count", "%" PRId64 " frames = %.3f s at %d/%d fps", want,
                           secs, r->fps_num, r->fps_den);
        else
            rc = add_check(r, false, "frame count",
                           "expected %" PRId64 " frames (%.3f s at %d/%d fps), found %" PRId64, want,
                           secs, r->fps_num, r->fps_den, r->n_video_packets);
    }
    if (rc || !v->as || r->sample_rate <= 0)
        return rc;
    double video_s = (double)r->n_video_packets / fps;
    double audio_s = (double)r->n_audio_samples / r->sample_rate;
    double diff = (audio_s - video_s) * r->sample_rate;
    bool ok = fabs(diff) <= 1024.0;
    if (ok)
        return add_check(r, true, "audio duration", "%.6f s, video %.6f s, difference %+.0f samples",
                         audio_s, video_s, diff);
    return add_check(r, false, "audio duration",
                     "expected %.6f s (the video's) within 1024 samples, found %.6f s (%+.0f samples)",
                     video_s, audio_s, diff);
}

int vkr_verify(const char *path, const vkr_verify_opts *opts, vkr_verify_report *r)
{
    static const vkr_verify_opts no_plan = {NULL, NULL, -1};
    vctx v = {0};
    AVPacket *pkt = NULL;
    int rc = VKR_OK, ret;

    memset(r, 0, sizeof *r);
    r->n_video_frames_decoded = -1;
    v.path = path;
    v.o = opts ? opts : &no_plan;
    v.r = r;
    const vkr_timeline *tl = v.o->tl;
    const vkr_storyboard *sb = v.o->sb;

    if ((ret = avformat_open_input(&v.fmt, path, NULL, NULL)) < 0)
        return vkr_fail(VKR_E_NOINPUT, "%s: cannot open: %s", path, av_err2str(ret));
    if ((ret = avformat_find_stream_info(v.fmt, NULL)) < 0) {
        rc = vkr_fail(VKR_E_NOINPUT, "%s: cannot read the streams: %s", path, av_err2str(ret));
        goto fail;
    }

    /* Streams and formats. */
    if ((rc = check_stream(&v, AVMEDIA_TYPE_VIDEO, AV_CODEC_ID_H264, "video stream", &v.vs)))
        goto fail;
    if (v.vs) {
        const AVCodecParameters *p = v.vs->codecpar;
        const char *pix = av_get_pix_fmt_name(p->format);
        const char *prof = avcodec_profile_name(p->codec_id, p->profile);
        bool ok = p->format == AV_PIX_FMT_YUV420P && p->profile == FF_PROFILE_H264_HIGH;
        r->width = p->width;
        r->height = p->height;
        AVRational fr = v.vs->avg_frame_rate.num > 0 ? v.vs->avg_frame_rate : v.vs->r_frame_rate;
        r->fps_num = fr.num;
        r->fps_den = fr.den;
        if ((rc = add_check(r, ok, "video format", "%s%s, %s, %dx%d, %d/%d fps",
                            ok ? "" : "expected High, yuv420p, found ", prof ? prof : "?",
                            pix ? pix : "?", p->width, p->height, fr.num, fr.den)))
            goto fail;
        if (sb) {
            const vkr_output_cfg *oc = &sb->output;
            bool same = p->width == oc->width && p->height == oc->height &&
                        (int64_t)fr.num * oc->fps_den == (int64_t)oc->fps_num * fr.den;
            if (same)
                rc = add_check(r, true, "video size and rate", "%dx%d at %d/%d fps", oc->width,
                               oc->height, oc->fps_num, oc->fps_den);
            else
                rc = add_check(r, false, "video size and rate",
                               "expected %dx%d at %d/%d fps, found %dx%d at %d/%d fps", oc->width,
                               oc->height, oc->fps_num, oc->fps_den, p->width, p->height, fr.num,
                               fr.den);
            if (rc)
                goto fail;
        }
    }
    if ((rc = check_stream(&v, AVMEDIA_TYPE_AUDIO, AV_CODEC_ID_AAC, "audio stream", &v.as)))
        goto fail;
    if (v.as) {
        r->sample_rate = v.as->codecpar->sample_rate;
        r->channels = v.as->codecpar->ch_layout.nb_channels;
        if (sb) {
            bool same = r->sample_rate == sb->output.sample_rate && r->channels == sb->output.channels;
            if (same)
                rc = add_check(r, true, "audio format", "%d Hz, %d channel%s", r->sample_rate,
                               r->channels, r->channels == 1 ? "" : "s");
            else
                rc = add_check(r, false, "audio format",
                               "expected %d Hz, %d channel%s, found %d Hz, %d channel%s",
                               sb->output.sample_rate, sb->output.channels,
                               sb->output.channels == 1 ? "" : "s", r->sample_rate, r->channels,
                               r->channels == 1 ? "" : "s");
            if (rc)
                goto fail;
        }
    }
    if ((rc = check_subtitle_stream(&v)))
        goto fail;
    if ((rc = check_start_times(&v)))
        goto fail;
    if (v.vs && (rc = check_colour(&v)))
        goto fail;

    const char *comment = tag(v.fmt->metadata, "comment");
    r->testcard = comment && strstr(comment, "Model: testcard");
    if ((rc = check_generation(&v)))
        goto fail;

    bool plan = tl != NULL;
    r->sync_checked = plan && v.vs && v.as &&
                      (v.o->sync == 1 || (v.o->sync < 0 && r->testcard));

    /* One pass over the packets: count video, decode audio (always: its exact
     * length), decode video only for flash detection. */
    if (!(pkt = av_packet_alloc()) || !(v.frame = av_frame_alloc())) {
        rc = vkr_fail(VKR_E_INTERNAL, "verify: out of memory");
        goto fail;
    }
    if (v.as && v.as->codecpar->codec_id == AV_CODEC_ID_AAC && (rc = open_decoder(v.as, &v.adec)))
        goto fail;
    if (r->sync_checked) {
        if ((rc = open_decoder(v.vs, &v.vdec)))
            goto fail;
        r->n_video_frames_decoded = 0;
        vkr_onset_init(&v.onsets, v.as->codecpar->sample_rate);
    }
    while ((ret = av_read_frame(v.fmt, pkt)) >= 0) {
        if (v.vs && pkt->stream_index == v.vs->index) {
            r->n_video_packets++;
            if (v.vdec)
                rc = decode(&v, v.vdec, pkt);
        } else if (v.as && pkt->stream_index == v.as->index && v.adec) {
            rc = decode(&v, v.adec, pkt);
        } else if (v.ss && pkt->stream_index == v.ss->index) {
            rc = on_subtitle_packet(&v, pkt);
        }
        av_packet_unref(pkt);
        if (rc)
            goto fail;
    }
    if (ret != AVERROR_EOF) {
        rc = vkr_fail(VKR_E_DATA, "%s: read error: %s", path, av_err2str(ret));
        goto fail;
    }
    if (v.vdec && (rc = decode(&v, v.vdec, NULL)))
        goto fail;
    if (v.adec && (rc = decode(&v, v.adec, NULL)))
        goto fail;
    r->n_subtitles = v.n_subs;
    /* The decoder does not trim the last frame's padding; the container's
     * duration (from the edit list) is the real length. */
    r->n_audio_samples = r->n_audio_decoded;
    if (v.as && v.as->duration != AV_NOPTS_VALUE && v.as->duration > 0 && r->sample_rate > 0)
        r->n_audio_samples = av_rescale_q(v.as->duration, v.as->time_base, (AVRational){1, r->sample_rate});
    r->beep_onsets = v.onsets.onsets;
    r->n_beeps = v.onsets.n;
    v.onsets.onsets = NULL;

    if ((rc = check_counts(&v)))
        goto fail;
    if (v.ss && (rc = check_subtitles(&v)))
        goto fail;
    if (r->sync_checked) {
        if ((rc = check_sync(&v)))
            goto fail;
    } else if (plan) {
        if ((rc = add_check(r, true, "a/v sync",
                            "not checked: %s", r->testcard ? "no audio or video stream"
                                                           : "not a test card render")))
            goto fail;
    }

    rc = r->n_failed ? vkr_fail(VKR_E_DATA, "%s: %d of %d checks failed", path, r->n_failed, r->n)
                     : VKR_OK;
fail:
    for (int i = 0; i < v.n_subs; i++)
        free(v.subs[i].text);
    free(v.subs);
    free(v.abuf);
    vkr_onset_free(&v.onsets);
    av_packet_free(&pkt);
    av_frame_free(&v.frame);
    avcodec_free_context(&v.vdec);
    avcodec_free_context(&v.adec);
    avformat_close_input(&v.fmt);
    return rc;
}
