/* MP4 writer: writes short clips and reopens them with libavformat/libavcodec
 * to check the facts the writer promises (codecs, profile, colour tags and
 * matrix, frame and sample counts, timing, subtitles, metadata, sidecars,
 * atomic failure behaviour). VKR_KEEP_OUTPUT=1 keeps the files for ffprobe. */
#include "check.h"

#include "common/status.h"
#include "common/version.h"
#include "pipeline/mp4_writer.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define W 320
#define H 240

static char tmpdir[256];

static void path_in(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", tmpdir, name); }

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* Number of leftover temporary files (".*.tmp") in the test directory. */
static int count_temps(void)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' && l > 4 && strcmp(e->d_name + l - 4, ".tmp") == 0)
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

static char *slurp(const char *p, size_t *len)
{
    FILE *f = fopen(p, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    if (b)
        b[n] = 0;
    fclose(f);
    if (len)
        *len = (size_t)n;
    return b;
}

/* ---- test content ---- */

/* Red and blue solid patches (16-aligned, so whole macroblocks) on a moving
 * gradient. */
#define RED_X0 64
#define RED_Y0 48
#define BLUE_X0 192
#define BLUE_Y0 128
#define PATCH 64

static void make_frame(uint8_t *rgb, int stride, int k)
{
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            uint8_t *p = rgb + (size_t)y * stride + 3 * x;
            p[0] = (uint8_t)(x + 3 * k);
            p[1] = (uint8_t)(y + 2 * k);
            p[2] = (uint8_t)(128 + (x ^ y) / 4);
            if (x >= RED_X0 && x < RED_X0 + PATCH && y >= RED_Y0 && y < RED_Y0 + PATCH) {
                p[0] = 255, p[1] = 0, p[2] = 0;
            }
            if (x >= BLUE_X0 && x < BLUE_X0 + PATCH && y >= BLUE_Y0 && y < BLUE_Y0 + PATCH) {
                p[0] = 0, p[1] = 0, p[2] = 255;
            }
        }
    }
}

static float tone(int64_t i, int c, int rate)
{
    double f = c == 0 ? 440.0 : 660.0;
    return (float)(0.5 * sin(2 * M_PI * f * (double)i / rate));
}

static const vkr_tl_subtitle test_subs[3] = {
    {250000, 900000, "First cue", 0},
    {1000000, 1400000, "Second & <last> line\nwith two lines", 1},
    {1450400, 1500000, "Third {\\i1}literal\\n", -1},
};

/* Text the mov_text track must carry for test_subs (after ASS escaping). */
static const char *const test_sub_track_text[3] = {
    "First cue",
    "Second & <last> line\nwith two lines",
    "Third {\xE2\x80\x8B\\i1}literal\\\xE2\x80\x8Bn",
};

/* Overlapping cues with equal starts must still mux: the track gets them
 * merged, one sample at a time; the empty cue is dropped. */
static const vkr_tl_subtitle overlap[3] = {
    {0, 800000, "shot one", 0},
    {0, 400000, "free line", -1},
    {1200000, 1900000, "", 1},
};

static const char *const generation_json = "{\"seed\":42,\"prompt\":\"a red square, \\\"quoted\\\"\"}";
static const char *const a1111_line = "a red square\nSteps: 25, Sampler: DDIM, CFG scale: 9, Seed: 42";

typedef struct {
    int fps_num, fps_den, n_frames, channels;
    const vkr_tl_subtitle *subs;
    int n_subs;
    int sidecars;
    int abort_after; /* >= 0: abort after this many frames */
    int audio_last;  /* feed all audio after all video, in one call */
    int rate;        /* 0: 48000 */
} clip_spec;

static int rate_of(const clip_spec *c) { return c->rate ? c->rate : 48000; }

static int64_t samples_for(const clip_spec *c, int64_t frames)
{
    /* round(frames * den * rate / num) */
    int64_t num = (int64_t)frames * c->fps_den * rate_of(c), den = c->fps_num;
    return (num + den / 2) / den;
}

static vkr_mp4_params params_for(const clip_spec *c)
{
    vkr_mp4_params p = {
        .width = W, .height = H, .fps_num = c->fps_num, .fps_den = c->fps_den, .crf = 18,
        .gop_seconds = 1, .sample_rate = rate_of(c), .channels = c->channels,
        .title = "Test clip", .comment = a1111_line, .generation_json = generation_json,
        .subtitles = c->subs, .n_subtitles = c->n_subs, .write_sidecars = c->sidecars,
    };
    return p;
}

/* Writes a clip, audio fed in uneven chunks interleaved with the video. */
static int write_clip(const char *path, const clip_spec *c, int64_t *fed_samples)
{
    vkr_mp4_params p = params_for(c);
    vkr_mp4_writer *w = NULL;
    int rc = vkr_mp4_open(&w, path, &p);
    if (rc)
        return rc;
    int stride = 3 * W + 8; /* padded rows: the writer must honour the stride */
    uint8_t *rgb = calloc((size_t)stride * H, 1);
    float *pcm = malloc(sizeof(float) * 2 * 1100);
    int64_t fed = 0;
    for (int k = 0; k < c->n_frames && !rc; k++) {
        if (c->abort_after >= 0 && k == c->abort_after) {
            vkr_mp4_abort(w);
            free(rgb);
            free(pcm);
            return -1;
        }
        make_frame(rgb, stride, k);
        rc = vkr_mp4_write_video(w, rgb, stride);
        if (c->channels == 0 || c->audio_last || rc)
            continue;
        int64_t end = samples_for(c, k + 1);
        while (fed < end && !rc) {
            int n = (int)(end - fed);
            int chunk = 300 + (int)(fed % 777); /* never a multiple of 1024 */
            if (n > chunk)
                n = chunk;
            for (int i = 0; i < n; i++)
                for (int ch = 0; ch < c->channels; ch++)
                    pcm[i * c->channels + ch] = tone(fed + i, ch, rate_of(c));
            rc = vkr_mp4_write_audio(w, pcm, n);
            fed += n;
        }
    }
    if (!rc && c->channels > 0 && c->audio_last) {
        int64_t n = samples_for(c, c->n_frames);
        float *all = malloc(sizeof(float) * (size_t)(n * c->channels));
        for (int64_t i = 0; i < n; i++)
            for (int ch = 0; ch < c->channels; ch++)
                all[i * c->channels + ch] = tone(i, ch, rate_of(c));
        rc = vkr_mp4_write_audio(w, all, (int)n);
        fed = n;
        free(all);
    }
    free(rgb);
    free(pcm);
    if (rc) {
        vkr_mp4_abort(w);
        return rc;
    }
    if (fed_samples)
        *fed_samples = fed;
    return vkr_mp4_finish(w);
}

/* ---- reading back ---- */

typedef struct {
    int64_t pts_ms, dur_ms;
    char text[256];
} sub_pkt;

typedef struct {
    int ok;
    int n_streams;
    enum AVCodecID vcodec, acodec, scodec;
    int profile, pix_fmt, primaries, trc, space, range, width, height;
    int sample_rate, channels;
    int64_t v_start, a_start;      /* stream start_time in its time base */
    double v_dur, a_dur;           /* stream durations in seconds */
    int64_t v_frames;              /* decoded */
    int n_key, max_key_gap;        /* video keyframe packets, largest distance in frames */
    int64_t first_key;
    int64_t a_samples;             /* decoded (priming skipped by libavcodec) */
    int64_t a_samples_in_edit;     /* those before the edit list's end */
    int v_pts_ok;                  /* decoded pts are 0,1,2.. frames */
    double a_rms_err;              /* RMS(decoded - fed tone) over the interior: about
                                    * 0.006 aligned, 0.021 one sample off */
    int y_red, u_red, v_red, y_blue, u_blue, v_blue; /* frame 0 patch centres */
    sub_pkt subs[16];
    int n_subs;
    char title[64], comment[256], generation[256], encoder[64];
} probe;

static int avg_plane(const AVFrame *f, int plane, int x0, int y0)
{
    int sub = plane ? 1 : 0, sum = 0;
    x0 >>= sub, y0 >>= sub;
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++)
            sum += f->data[plane][(size_t)(y0 + y) * f->linesize[plane] + x0 + x];
    return (sum + 32) / 64;
}

static void copy_tag(char *dst, size_t n, AVDictionary *m, const char *key)
{
    AVDictionaryEntry *e = av_dict_get(m, key, NULL, 0);
    snprintf(dst, n, "%s", e ? e->value : "");
}

typedef struct {
    probe *r;
    const clip_spec *c;
    AVFrame *fr;
    int64_t a_pos;
    double sq_err;
    int64_t n_err;
} decode_state;

/* Sends one packet (NULL: flush) and inspects every decoded frame. */
static void decode(decode_state *ds, AVCodecContext *d, AVStream *st, const AVPacket *pkt)
{
    probe *r = ds->r;
    AVFrame *fr = ds->fr;
    avcodec_send_packet(d, pkt);
    while (avcodec_receive_frame(d, fr) == 0) {
        if (d->codec_type == AVMEDIA_TYPE_VIDEO) {
            int64_t expect = av_rescale_q(r->v_frames, av_inv_q(st->avg_frame_rate), st->time_base);
            if (fr->best_effort_timestamp != expect)
                r->v_pts_ok = 0;
            if (r->v_frames == 0 && fr->format == AV_PIX_FMT_YUV420P) {
                r->y_red = avg_plane(fr, 0, RED_X0 + 28, RED_Y0 + 28);
                r->u_red = avg_plane(fr, 1, RED_X0 + 16, RED_Y0 + 16);
                r->v_red = avg_plane(fr, 2, RED_X0 + 16, RED_Y0 + 16);
                r->y_blue = avg_plane(fr, 0, BLUE_X0 + 28, BLUE_Y0 + 28);
                r->u_blue = avg_plane(fr, 1, BLUE_X0 + 16, BLUE_Y0 + 16);
                r->v_blue = avg_plane(fr, 2, BLUE_X0 + 16, BLUE_Y0 + 16);
            }
            r->v_frames++;
        } else {
            const float *left = (const float *)fr->extended_data[0];
            int64_t interior_end = samples_for(ds->c, ds->c->n_frames) - 4096;
            for (int i = 0; i < fr->nb_samples; i++, ds->a_pos++) {
                if (ds->a_pos >= 4096 && ds->a_pos < interior_end) {
                    double e = left[i] - tone(ds->a_pos, 0, rate_of(ds->c));
                    ds->sq_err += e * e;
                    ds->n_err++;
                }
            }
            /* Samples inside the edit list (libavformat gives its end as the
             * stream duration; the start is trimmed by the decoder). */
            for (int i = 0; i < fr->nb_samples; i++) {
                int64_t t = fr->best_effort_timestamp + i;
                r->a_samples_in_edit += t >= 0 && t < st->duration;
            }
            r->a_samples += fr->nb_samples;
        }
        av_frame_unref(fr);
    }
}

static void probe_file(const char *path, const clip_spec *c, probe *r)
{
    memset(r, 0, sizeof *r);
    r->v_start = r->a_start = -1;
    r->a_rms_err = -1;
    AVFormatContext *fc = NULL;
    if (avformat_open_input(&fc, path, NULL, NULL) < 0)
        return;
    if (avformat_find_stream_info(fc, NULL) < 0) {
        avformat_close_input(&fc);
        return;
    }
    r->n_streams = (int)fc->nb_streams;
    copy_tag(r->title, sizeof r->title, fc->metadata, "title");
    copy_tag(r->comment, sizeof r->comment, fc->metadata, "comment");
    copy_tag(r->generation, sizeof r->generation, fc->metadata, "vkreel_generation");
    copy_tag(r->encoder, sizeof r->encoder, fc->metadata, "encoder");

    AVCodecContext *dec[8] = {0};
    for (unsigned i = 0; i < fc->nb_streams && i < 8; i++) {
        AVStream *st = fc->streams[i];
        AVCodecParameters *cp = st->codecpar;
        double dur = st->duration == AV_NOPTS_VALUE ? -1 : st->duration * av_q2d(st->time_base);
        if (cp->codec_type == AVMEDIA_TYPE_VIDEO) {
            r->vcodec = cp->codec_id;
            r->profile = cp->profile;
            r->pix_fmt = cp->format;
            r->primaries = cp->color_primaries;
            r->trc = cp->color_trc;
            r->space = cp->color_space;
            r->range = cp->color_range;
            r->width = cp->width;
            r->height = cp->height;
            r->v_start = st->start_time;
            r->v_dur = dur;
        } else if (cp->codec_type == AVMEDIA_TYPE_AUDIO) {
            r->acodec = cp->codec_id;
            r->sample_rate = cp->sample_rate;
            r->channels = cp->ch_layout.nb_channels;
            r->a_start = st->start_time;
            r->a_dur = dur;
        } else if (cp->codec_type == AVMEDIA_TYPE_SUBTITLE) {
            r->scodec = cp->codec_id;
            continue;
        }
        const AVCodec *codec = avcodec_find_decoder(cp->codec_id);
        dec[i] = avcodec_alloc_context3(codec);
        avcodec_parameters_to_context(dec[i], cp);
        dec[i]->pkt_timebase = st->time_base;
        dec[i]->thread_count = 1;
        if (avcodec_open2(dec[i], codec, NULL) < 0)
            avcodec_free_context(&dec[i]);
    }

    AVPacket *pkt = av_packet_alloc();
    AVFrame *fr = av_frame_alloc();
    decode_state ds = {r, c, fr, 0, 0, 0};
    r->v_pts_ok = 1;
    int64_t last_key = 0;
    while (av_read_frame(fc, pkt) >= 0) {
        AVStream *st = fc->streams[pkt->stream_index];
        if (st->codecpar->codec_type == AVMEDIA_TYPE_SUBTITLE && pkt->size > 2 && r->n_subs < 16) {
            int len = pkt->data[0] << 8 | pkt->data[1];
            sub_pkt *s = &r->subs[r->n_subs++];
            s->pts_ms = av_rescale_q(pkt->pts, st->time_base, (AVRational){1, 1000});
            s->dur_ms = av_rescale_q(pkt->duration, st->time_base, (AVRational){1, 1000});
            snprintf(s->text, sizeof s->text, "%.*s", len < 250 ? len : 250, pkt->data + 2);
        }
        if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && (pkt->flags & AV_PKT_FLAG_KEY)) {
            int64_t f = av_rescale_q(pkt->pts, st->time_base, av_inv_q(st->avg_frame_rate));
            if (r->n_key == 0)
                r->first_key = f;
            else if (f - last_key > r->max_key_gap)
                r->max_key_gap = (int)(f - last_key);
            last_key = f;
            r->n_key++;
        }
        if (pkt->stream_index < 8 && dec[pkt->stream_index])
            decode(&ds, dec[pkt->stream_index], st, pkt);
        av_packet_unref(pkt);
    }
    for (unsigned i = 0; i < fc->nb_streams && i < 8; i++)
        if (dec[i])
            decode(&ds, dec[i], fc->streams[i], NULL);
    if (ds.n_err)
        r->a_rms_err = sqrt(ds.sq_err / (double)ds.n_err);
    for (int i = 0; i < 8; i++)
        avcodec_free_context(&dec[i]);
    av_frame_free(&fr);
    av_packet_free(&pkt);
    avformat_close_input(&fc);
    r->ok = 1;
}

/* ---- tests ---- */

static void check_clip(const char *name, const clip_spec *c)
{
    char path[512], srt[512], vtt[512];
    snprintf(path, sizeof path, "%s/%s.mp4", tmpdir, name);
    snprintf(srt, sizeof srt, "%s/%s.srt", tmpdir, name);
    snprintf(vtt, sizeof vtt, "%s/%s.vtt", tmpdir, name);
    int64_t fed = 0;
    int rc = write_clip(path, c, &fed);
    CHECK(rc == 0, "%s: write failed: %d %s", name, rc, vkr_last_error());
    if (rc)
        return;
    CHECK_EQ_INT(count_temps(), 0);
    probe r;
    probe_file(path, c, &r);
    CHECK(r.ok, "%s: libavformat cannot read it back", name);
    if (!r.ok)
        return;
    int want_streams = 1 + (c->channels > 0) + (c->n_subs > 0);
    CHECK(r.n_streams == want_streams, "%s: %d streams, expected %d", name, r.n_streams, want_streams);

    CHECK_EQ_INT(r.vcodec, AV_CODEC_ID_H264);
    CHECK(r.profile == FF_PROFILE_H264_HIGH, "%s: H.264 profile %d, expected High (%d)", name,
          r.profile, FF_PROFILE_H264_HIGH);
    CHECK_EQ_INT(r.pix_fmt, AV_PIX_FMT_YUV420P);
    CHECK_EQ_INT(r.width, W);
    CHECK_EQ_INT(r.height, H);
    CHECK_EQ_INT(r.primaries, AVCOL_PRI_BT709);
    CHECK_EQ_INT(r.trc, AVCOL_TRC_BT709);
    CHECK_EQ_INT(r.space, AVCOL_SPC_BT709);
    CHECK_EQ_INT(r.range, AVCOL_RANGE_MPEG);
    CHECK(r.v_frames == c->n_frames, "%s: decoded %lld frames, fed %d", name, (long long)r.v_frames,
          c->n_frames);
    CHECK(r.v_pts_ok, "%s: decoded video timestamps are not 0, 1, 2, ... frames", name);
    /* GOP of gop_seconds (1 s here) in frames. */
    int gop = (c->fps_num + c->fps_den / 2) / c->fps_den;
    CHECK(r.n_key >= (c->n_frames + gop - 1) / gop && r.first_key == 0 && r.max_key_gap <= gop,
          "%s: %d keyframes, first at %lld, largest gap %d frames (GOP %d)", name, r.n_key,
          (long long)r.first_key, r.max_key_gap, gop);
    CHECK_EQ_INT(r.v_start, 0);
    double want_dur = (double)c->n_frames * c->fps_den / c->fps_num;
    CHECK(fabs(r.v_dur - want_dur) < 1e-3, "%s: video duration %.6f s, expected %.6f s", name,
          r.v_dur, want_dur);

    /* BT.709 limited range: red (255,0,0) -> Y 63, Cb 102, Cr 240;
     * blue (0,0,255) -> Y 32, Cb 240, Cr 118. (BT.601 would give Y 81 / 41.) */
    CHECK(abs(r.y_red - 63) <= 2 && abs(r.u_red - 102) <= 2 && abs(r.v_red - 240) <= 2,
          "%s: red patch decodes to Y %d Cb %d Cr %d, expected 63 102 240", name, r.y_red, r.u_red,
          r.v_red);
    CHECK(abs(r.y_blue - 32) <= 2 && abs(r.u_blue - 240) <= 2 && abs(r.v_blue - 118) <= 2,
          "%s: blue patch decodes to Y %d Cb %d Cr %d, expected 32 240 118", name, r.y_blue,
          r.u_blue, r.v_blue);

    if (c->channels > 0) {
        CHECK_EQ_INT(r.acodec, AV_CODEC_ID_AAC);
        CHECK_EQ_INT(r.sample_rate, rate_of(c));
        CHECK_EQ_INT(r.channels, c->channels);
        CHECK_EQ_INT(r.a_start, 0);
        CHECK(r.a_samples_in_edit == fed, "%s: decoded %lld audio samples within the edit, fed %lld",
              name, (long long)r.a_samples_in_edit, (long long)fed);
        /* Beyond the edit only the encoder's padding of the last frame. */
        CHECK(r.a_samples >= fed && r.a_samples < fed + 1024,
              "%s: decoded %lld audio samples in all, fed %lld", name, (long long)r.a_samples,
              (long long)fed);
        const double rate = rate_of(c);
        CHECK(fabs(r.a_dur - (double)fed / rate) < 0.5 / rate,
              "%s: audio duration %.6f s, fed %.6f s", name, r.a_dur, (double)fed / rate);
        CHECK(fabs(r.a_dur - r.v_dur) <= 1024.0 / rate, "%s: audio %.6f s vs video %.6f s", name,
              r.a_dur, r.v_dur);
        /* Sample-aligned with what was fed (priming skipped exactly). */
        CHECK(r.a_rms_err >= 0 && r.a_rms_err < 0.012, "%s: decoded tone differs by %.4f RMS", name,
              r.a_rms_err);
    }

    CHECK_EQ_STR(r.title, "Test clip");
    CHECK_EQ_STR(r.comment, a1111_line);
    CHECK_EQ_STR(r.generation, generation_json);
    CHECK_EQ_STR(r.encoder, "vkreel " VKR_VERSION);

    if (c->subs == test_subs) {
        CHECK_EQ_INT(r.scodec, AV_CODEC_ID_MOV_TEXT);
        CHECK_EQ_INT(r.n_subs, 3);
        for (int i = 0; i < 3 && i < r.n_subs; i++) {
            int64_t a = (test_subs[i].start_us + 500) / 1000, b = (test_subs[i].end_us + 500) / 1000;
            CHECK(r.subs[i].pts_ms == a && r.subs[i].dur_ms == b - a,
                  "%s: cue %d at %lld ms for %lld ms, expected %lld for %lld", name, i,
                  (long long)r.subs[i].pts_ms, (long long)r.subs[i].dur_ms, (long long)a,
                  (long long)(b - a));
            CHECK_EQ_STR(r.subs[i].text, test_sub_track_text[i]);
        }
    }

    if (c->subs == overlap) {
        CHECK_EQ_INT(r.n_subs, 2);
        if (r.n_subs == 2) {
            CHECK(r.subs[0].pts_ms == 0 && r.subs[0].dur_ms == 400 && r.subs[1].pts_ms == 400 &&
                      r.subs[1].dur_ms == 400,
                  "%s: merged cues at %lld+%lld, %lld+%lld ms", name, (long long)r.subs[0].pts_ms,
                  (long long)r.subs[0].dur_ms, (long long)r.subs[1].pts_ms, (long long)r.subs[1].dur_ms);
            CHECK_EQ_STR(r.subs[0].text, "shot one\nfree line");
            CHECK_EQ_STR(r.subs[1].text, "shot one");
        }
    }

    if (c->sidecars) {
        char *s = slurp(srt, NULL), *v = slurp(vtt, NULL);
        CHECK_EQ_STR(s, "1\n00:00:00,250 --> 00:00:00,900\nFirst cue\n\n"
                        "2\n00:00:01,000 --> 00:00:01,400\nSecond & <last> line\nwith two lines\n\n"
                        "3\n00:00:01,450 --> 00:00:01,500\nThird {\\i1}literal\\n\n\n");
        CHECK_EQ_STR(v, "WEBVTT\n\n"
                        "1\n00:00:00.250 --> 00:00:00.900\nFirst cue\n\n"
                        "2\n00:00:01.000 --> 00:00:01.400\nSecond &amp; &lt;last&gt; line\nwith two lines\n\n"
                        "3\n00:00:01.450 --> 00:00:01.500\nThird {\\i1}literal\\n\n\n");
        free(s);
        free(v);
    } else {
        CHECK(!file_exists(srt) && !file_exists(vtt), "%s: sidecars written without being asked", name);
    }
}

static void test_failures(void)
{
    clip_spec c = {24, 1, 12, 2, test_subs, 3, 1, -1};
    char path[512], srt[512], keep[512];

    /* Missing directory: 73, nothing created. */
    path_in(path, sizeof path, "missing/dir/clip.mp4");
    int rc = write_clip(path, &c, NULL);
    CHECK_EQ_INT(rc, VKR_E_CANTCREATE);
    path_in(path, sizeof path, "missing");
    CHECK(!file_exists(path), "missing directory was created");

    /* Abort mid-way: the existing target is untouched, no temp left, no sidecars. */
    path_in(keep, sizeof keep, "keep.mp4");
    path_in(srt, sizeof srt, "keep.srt");
    static const char old[] = "previous good file\n";
    FILE *f = fopen(keep, "wb");
    fwrite(old, 1, sizeof old - 1, f);
    fclose(f);
    c.abort_after = 5;
    rc = write_clip(keep, &c, NULL);
    CHECK_EQ_INT(rc, -1);
    size_t len = 0;
    char *got = slurp(keep, &len);
    CHECK(got && len == sizeof old - 1 && memcmp(got, old, len) == 0, "aborted write changed the target");
    free(got);
    CHECK_EQ_INT(count_temps(), 0);
    CHECK(!file_exists(srt), "aborted write left a sidecar");

    /* Failure at the final rename (target is a non-empty directory): no temp,
     * no sidecars, the directory untouched. */
    c.abort_after = -1;
    path_in(path, sizeof path, "isdir.mp4");
    mkdir(path, 0755);
    path_in(keep, sizeof keep, "isdir.mp4/inside");
    f = fopen(keep, "wb");
    fclose(f);
    rc = write_clip(path, &c, NULL);
    CHECK_EQ_INT(rc, VKR_E_CANTCREATE);
    CHECK_EQ_INT(count_temps(), 0);
    CHECK(file_exists(keep), "directory target was disturbed");
    path_in(srt, sizeof srt, "isdir.srt");
    CHECK(!file_exists(srt), "sidecar written although the mp4 failed");
    path_in(srt, sizeof srt, "isdir.vtt");
    CHECK(!file_exists(srt), "sidecar written although the mp4 failed");
    unlink(keep);
    rmdir(path);

    /* Bad parameters are refused before anything is created. */
    vkr_mp4_params p = params_for(&c);
    vkr_mp4_writer *w = NULL;
    path_in(path, sizeof path, "bad.mp4");
    p.width = 321;
    CHECK_EQ_INT(vkr_mp4_open(&w, path, &p), VKR_E_USAGE);
    CHECK(w == NULL, "writer returned on failure");
    p = params_for(&c);
    p.height = 0;
    CHECK_EQ_INT(vkr_mp4_open(&w, path, &p), VKR_E_USAGE);
    p = params_for(&c);
    p.sample_rate = 12345;
    CHECK_EQ_INT(vkr_mp4_open(&w, path, &p), VKR_E_USAGE);
    p = params_for(&c);
    p.crf = 0;
    CHECK_EQ_INT(vkr_mp4_open(&w, path, &p), VKR_E_USAGE);
    p = params_for(&c);
    vkr_tl_subtitle bad = {500000, 400000, "backwards", -1};
    p.subtitles = &bad;
    p.n_subtitles = 1;
    CHECK_EQ_INT(vkr_mp4_open(&w, path, &p), VKR_E_DATA);
    CHECK(!file_exists(path), "refused open created the output");
    CHECK_EQ_INT(count_temps(), 0);

    /* A failed write_* keeps failing and finish removes the temp. */
    p = params_for(&c);
    CHECK_EQ_INT(vkr_mp4_open(&w, path, &p), 0);
    if (w) {
        CHECK_EQ_INT(vkr_mp4_write_video(w, NULL, 3 * W), VKR_E_USAGE);
        uint8_t px[3 * W * 2] = {0};
        CHECK_EQ_INT(vkr_mp4_write_video(w, px, 3 * W), VKR_E_USAGE);
        CHECK_EQ_INT(vkr_mp4_finish(w), VKR_E_USAGE);
    }
    CHECK(!file_exists(path), "failed writer produced a file");
    CHECK_EQ_INT(count_temps(), 0);

    /* Non-finite audio is invalid data. */
    CHECK_EQ_INT(vkr_mp4_open(&w, path, &p), 0);
    if (w) {
        float pcm[8] = {0, 0, 0.5f, 0.5f, NAN, 0, 0, 0};
        CHECK_EQ_INT(vkr_mp4_write_audio(w, pcm, 4), VKR_E_DATA);
        vkr_mp4_abort(w);
    }
    CHECK(!file_exists(path), "aborted writer produced a file");
    CHECK_EQ_INT(count_temps(), 0);

    /* No frames: refused at finish. */
    CHECK_EQ_INT(vkr_mp4_open(&w, path, &p), 0);
    if (w)
        CHECK_EQ_INT(vkr_mp4_finish(w), VKR_E_USAGE);
    CHECK(!file_exists(path), "empty writer produced a file");
    CHECK_EQ_INT(count_temps(), 0);
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[600];
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/vkr_mp4_test.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    const clip_spec clips[] = {
        {24, 1, 48, 2, test_subs, 3, 1, -1},
        {30000, 1001, 48, 2, test_subs, 3, 0, -1},
        {25, 1, 30, 1, overlap, 3, 0, -1},
        {24, 1, 24, 0, NULL, 0, 0, -1},
        {24, 1, 36, 2, test_subs, 3, 0, -1, 1, 0},
        {60000, 1001, 61, 2, NULL, 0, 0, -1, 0, 44100},
    };
    const char *names[] = {"clip24", "clip2997", "mono", "noaudio", "audiolast", "clip5994_44k"};
    for (int i = 0; i < 6; i++)
        check_clip(names[i], &clips[i]);
    test_failures();

    if (getenv("VKR_KEEP_OUTPUT"))
        printf("outputs kept in %s\n", tmpdir);
    else
        remove_tree(tmpdir);
    return check_summary("test_mp4_writer");
}
