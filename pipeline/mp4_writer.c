/* MP4 writer on libavformat/libavcodec: libx264 + native AAC + mov_text.
 *
 * The file is muxed under the atomic temporary name. libavformat opens it by
 * name ("file:" URL, so a ':' in a directory name is never read as a
 * protocol), because the faststart pass re-opens the output by its URL to move
 * the moov atom to the front. */
#include "mp4_writer.h"

#include "subtitles.h"

#include "common/atomic_file.h"
#include "common/log.h"
#include "common/status.h"
#include "common/version.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/avstring.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Sub-track time base: cues are quantised to milliseconds (as in SRT/VTT). */
static const AVRational ms_tb = {1, 1000};

struct vkr_mp4_writer {
    vkr_mp4_params p;
    vkr_atomic out;
    char *url; /* "file:" + out.tmp_path */
    char *srt_path, *vtt_path;
    vkr_sub_cue *cues; /* prepared cues, for the sidecars */
    int n_cues;
    vkr_sub_cue *track_cues; /* the same, flattened for mov_text */
    int n_track_cues;

    AVFormatContext *oc;
    AVCodecContext *venc, *aenc, *senc;
    AVStream *vst, *ast, *sst;
    struct SwsContext *sws;
    AVFrame *vframe, *aframe;
    AVAudioFifo *fifo;
    AVPacket *pkt;
    float *planar; /* channels x frame_size scratch for de-interleaving */

    int64_t frames_in;     /* video frames encoded so far (= next pts) */
    int64_t samples_sent;  /* audio samples handed to the encoder (= next pts) */
    int status;            /* sticky: first failure of a write_* call */
};

/* ---- libav logging: nothing on stderr at vkreel's default level ---- */

static _Thread_local char av_last_error[256];

static void av_log_to_vkreel(void *avcl, int level, const char *fmt, va_list vl)
{
    if (level > AV_LOG_WARNING) /* info/verbose/debug, incl. x264's statistics */
        return;
    char line[512];
    int print_prefix = 1;
    av_log_format_line2(avcl, level, fmt, vl, line, sizeof line, &print_prefix);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = 0;
    if (!n)
        return;
    if (level <= AV_LOG_ERROR)
        av_strlcpy(av_last_error, line, sizeof av_last_error); /* truncation is fine */
    vkr_debug("libav: %s", line);
}

static pthread_once_t av_log_install_once = PTHREAD_ONCE_INIT;
static void install_av_log(void) { av_log_set_callback(av_log_to_vkreel); }

/* Records `code` with the libav error text and the last libav error line. */
VKR_PRINTF(4, 5) static int av_fail(const vkr_mp4_writer *w, int code, int err, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    char errbuf[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(err, errbuf, sizeof errbuf);
    return vkr_fail(code, "%s: %s: %s%s%s%s", w->out.final_path ? w->out.final_path : "mp4", what,
                    errbuf, av_last_error[0] ? " (" : "", av_last_error,
                    av_last_error[0] ? ")" : "");
}

/* ---- parameters ---- */

static int aac_rate_ok(const AVCodec *c, int rate)
{
    if (!c->supported_samplerates)
        return rate > 0;
    for (const int *r = c->supported_samplerates; *r; r++)
        if (*r == rate)
            return 1;
    return 0;
}

static int check_params(const char *path, const vkr_mp4_params *p)
{
    if (!path || !*path)
        return vkr_fail(VKR_E_USAGE, "mp4: no output path");
    if (p->width <= 0 || p->height <= 0 || p->width > 16384 || p->height > 16384 ||
        (p->width & 1) || (p->height & 1))
        return vkr_fail(VKR_E_USAGE, "%s: frame size %dx%d: width and height must be even (yuv420p)",
                        path, p->width, p->height);
    if (p->fps_num <= 0 || p->fps_den <= 0 || (double)p->fps_num / p->fps_den > 1000.0)
        return vkr_fail(VKR_E_USAGE, "%s: bad frame rate %d/%d", path, p->fps_num, p->fps_den);
    if (p->crf < 1 || p->crf > 51)
        return vkr_fail(VKR_E_USAGE, "%s: crf %d outside 1..51", path, p->crf);
    if (p->gop_seconds < 0 || p->gop_seconds > 3600)
        return vkr_fail(VKR_E_USAGE, "%s: bad GOP length %d s", path, p->gop_seconds);
    if (p->channels < 0 || p->channels > 2)
        return vkr_fail(VKR_E_USAGE, "%s: %d audio channels (0, 1 or 2)", path, p->channels);
    if (p->n_subtitles < 0 || (p->n_subtitles > 0 && !p->subtitles))
        return vkr_fail(VKR_E_USAGE, "%s: bad subtitle list", path);
    return VKR_OK;
}

/* "<path without .mp4><ext>" */
static char *sidecar_path(const char *path, const char *ext)
{
    size_t n = strlen(path);
    if (n > 4 && strcasecmp(path + n - 4, ".mp4") == 0)
        n -= 4;
    char *s = malloc(n + strlen(ext) + 1);
    if (s) {
        memcpy(s, path, n);
        strcpy(s + n, ext);
    }
    return s;
}

/* The edit lists (which trim the AAC priming and give each track its length)
 * count in the movie timescale, 1000 by default: a 1/1000 s grid would cut
 * or pad the audio's end. A timescale divisible by the frame rate's numerator,
 * the sample rate and 1000 (subtitle cues) makes every track's length exact. */
static int movie_timescale(const vkr_mp4_params *p)
{
    AVRational fps;
    av_reduce(&fps.num, &fps.den, p->fps_num, p->fps_den, INT_MAX);
    int64_t t = 1000;
    t = t / av_gcd(t, fps.num) * fps.num;
    if (p->channels > 0)
        t = t / av_gcd(t, p->sample_rate) * p->sample_rate;
    return t <= INT_MAX / 64 ? (int)t : p->channels > 0 ? p->sample_rate : 1000;
}

/* ---- stream setup ---- */

static int open_video(vkr_mp4_writer *w)
{
    const vkr_mp4_params *p = &w->p;
    const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
    if (!codec)
        return vkr_fail(VKR_E_INTERNAL, "mp4: libavcodec has no libx264 encoder");
    AVCodecContext *c = w->venc = avcodec_alloc_context3(codec);
    if (!c)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    c->width = p->width;
    c->height = p->height;
    c->pix_fmt = AV_PIX_FMT_YUV420P;
    c->sample_aspect_ratio = (AVRational){1, 1};
    av_reduce(&c->framerate.num, &c->framerate.den, p->fps_num, p->fps_den, INT_MAX);
    c->time_base = av_inv_q(c->framerate); /* one tick per frame: pts = frame index */
    int gop_s = p->gop_seconds ? p->gop_seconds : 2;
    int64_t gop = av_rescale_rnd(gop_s, c->framerate.num, c->framerate.den, AV_ROUND_NEAR_INF);
    c->gop_size = (int)(gop < 1 ? 1 : gop > 10000 ? 10000 : gop);
    /* The tags must describe what swscale produces (set_colorspace below). */
    c->color_primaries = AVCOL_PRI_BT709;
    c->color_trc = AVCOL_TRC_BT709;
    c->colorspace = AVCOL_SPC_BT709;
    c->color_range = AVCOL_RANGE_MPEG;
    if (w->oc->oformat->flags & AVFMT_GLOBALHEADER)
        c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;

    AVDictionary *opts = NULL;
    av_dict_set(&opts, "profile", "high", 0);
    av_dict_set(&opts, "preset", "medium", 0);
    av_dict_set_int(&opts, "crf", p->crf, 0);
    int ret = avcodec_open2(c, codec, &opts);
    av_dict_free(&opts);
    if (ret < 0)
        return av_fail(w, VKR_E_INTERNAL, ret, "cannot open libx264");

    w->vst = avformat_new_stream(w->oc, NULL);
    if (!w->vst)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    w->vst->time_base = c->time_base;
    w->vst->avg_frame_rate = c->framerate;
    if ((ret = avcodec_parameters_from_context(w->vst->codecpar, c)) < 0)
        return av_fail(w, VKR_E_INTERNAL, ret, "video stream parameters");

    w->sws = sws_getContext(p->width, p->height, AV_PIX_FMT_RGB24, p->width, p->height,
                            AV_PIX_FMT_YUV420P,
                            SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP, NULL, NULL, NULL);
    if (!w->sws)
        return vkr_fail(VKR_E_INTERNAL, "mp4: cannot create the RGB -> yuv420p converter");
    /* Full-range RGB in, BT.709 matrix, limited ("tv") range out. The source
     * table is unused for RGB input but must be valid. */
    const int *bt709 = sws_getCoefficients(SWS_CS_ITU709);
    if (sws_setColorspaceDetails(w->sws, bt709, 1, bt709, 0, 0, 1 << 16, 1 << 16) < 0)
        return vkr_fail(VKR_E_INTERNAL, "mp4: swscale refused the BT.709 conversion");

    w->vframe = av_frame_alloc();
    if (!w->vframe)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    w->vframe->format = c->pix_fmt;
    w->vframe->width = c->width;
    w->vframe->height = c->height;
    w->vframe->color_primaries = c->color_primaries;
    w->vframe->color_trc = c->color_trc;
    w->vframe->colorspace = c->colorspace;
    w->vframe->color_range = c->color_range;
    if ((ret = av_frame_get_buffer(w->vframe, 0)) < 0)
        return av_fail(w, VKR_E_INTERNAL, ret, "video frame");
    return VKR_OK;
}

static int open_audio(vkr_mp4_writer *w)
{
    const vkr_mp4_params *p = &w->p;
    const AVCodec *codec = avcodec_find_encoder_by_name("aac"); /* FFmpeg's native encoder */
    if (!codec)
        return vkr_fail(VKR_E_INTERNAL, "mp4: libavcodec has no native aac encoder");
    if (!aac_rate_ok(codec, p->sample_rate))
        return vkr_fail(VKR_E_USAGE, "%s: AAC cannot encode at %d Hz", w->out.final_path,
                        p->sample_rate);
    AVCodecContext *c = w->aenc = avcodec_alloc_context3(codec);
    if (!c)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    c->sample_fmt = AV_SAMPLE_FMT_FLTP;
    c->sample_rate = p->sample_rate;
    av_channel_layout_default(&c->ch_layout, p->channels);
    c->bit_rate = 96000 * (int64_t)p->channels;
    c->profile = FF_PROFILE_AAC_LOW;
    c->time_base = (AVRational){1, p->sample_rate};
    if (w->oc->oformat->flags & AVFMT_GLOBALHEADER)
        c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    int ret = avcodec_open2(c, codec, NULL);
    if (ret < 0)
        return av_fail(w, VKR_E_INTERNAL, ret, "cannot open the aac encoder");
    if (c->frame_size <= 0 || !(codec->capabilities & AV_CODEC_CAP_SMALL_LAST_FRAME))
        return vkr_fail(VKR_E_INTERNAL, "mp4: aac encoder without fixed frame size / short last frame");

    w->ast = avformat_new_stream(w->oc, NULL);
    if (!w->ast)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    w->ast->time_base = c->time_base;
    if ((ret = avcodec_parameters_from_context(w->ast->codecpar, c)) < 0)
        return av_fail(w, VKR_E_INTERNAL, ret, "audio stream parameters");

    w->fifo = av_audio_fifo_alloc(c->sample_fmt, p->channels, c->frame_size);
    w->aframe = av_frame_alloc();
    w->planar = malloc(sizeof(float) * (size_t)c->frame_size * (size_t)p->channels);
    if (!w->fifo || !w->aframe || !w->planar)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    return VKR_OK;
}

/* A minimal ASS script header: the mov_text encoder builds the track's sample
 * description (default style, font table) from it. */
static const char ass_header_fmt[] =
    "[Script Info]\n"
    "ScriptType: v4.00+\n"
    "PlayResX: %d\n"
    "PlayResY: %d\n"
    "\n"
    "[V4+ Styles]\n"
    "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
    "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, "
    "Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
    "Style: Default,Sans,%d,&H00FFFFFF,&H00FFFFFF,&H00000000,&H80000000,0,0,0,0,100,100,0,0,1,1,0,"
    "2,10,10,10,1\n"
    "\n"
    "[Events]\n"
    "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n";

static int open_subtitles(vkr_mp4_writer *w)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MOV_TEXT);
    if (!codec)
        return vkr_fail(VKR_E_INTERNAL, "mp4: libavcodec has no mov_text encoder");
    AVCodecContext *c = w->senc = avcodec_alloc_context3(codec);
    if (!c)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    c->time_base = ms_tb;
    /* Script resolution = video size, so the font size (1/18 of the height,
     * a common subtitle size) is in video pixels. */
    int font = w->p.height / 18 < 8 ? 8 : w->p.height / 18;
    char *hdr = av_asprintf(ass_header_fmt, w->p.width, w->p.height, font);
    if (!hdr)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    c->subtitle_header = (uint8_t *)hdr; /* owned (and freed) by the codec context */
    c->subtitle_header_size = (int)strlen(hdr);
    int ret = avcodec_open2(c, codec, NULL);
    if (ret < 0)
        return av_fail(w, VKR_E_INTERNAL, ret, "cannot open the mov_text encoder");

    w->sst = avformat_new_stream(w->oc, NULL);
    if (!w->sst)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    w->sst->time_base = ms_tb;
    if ((ret = avcodec_parameters_from_context(w->sst->codecpar, c)) < 0)
        return av_fail(w, VKR_E_INTERNAL, ret, "subtitle stream parameters");
    return VKR_OK;
}

/* ---- packets ---- */

static int write_packet(vkr_mp4_writer *w, AVPacket *pkt, AVRational from, AVStream *st)
{
    av_packet_rescale_ts(pkt, from, st->time_base);
    pkt->stream_index = st->index;
    int ret = av_interleaved_write_frame(w->oc, pkt); /* takes the packet's reference */
    if (ret < 0)
        return av_fail(w, VKR_E_CANTCREATE, ret, "cannot write packet (stream %d)", st->index);
    return VKR_OK;
}

/* Sends `frame` (NULL: drain) and muxes every packet that comes out. */
static int encode(vkr_mp4_writer *w, AVCodecContext *c, AVStream *st, const AVFrame *frame)
{
    int ret = avcodec_send_frame(c, frame);
    if (ret < 0)
        return av_fail(w, VKR_E_INTERNAL, ret, "%s encoder refused a frame", c->codec->name);
    for (;;) {
        ret = avcodec_receive_packet(c, w->pkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return VKR_OK;
        if (ret < 0)
            return av_fail(w, VKR_E_INTERNAL, ret, "%s encoding failed", c->codec->name);
        /* x264 leaves durations unset; the muxer needs the last one to give
         * the final frame its display time. */
        if (c->codec_type == AVMEDIA_TYPE_VIDEO && w->pkt->duration <= 0)
            w->pkt->duration = 1;
        int rc = write_packet(w, w->pkt, c->time_base, st);
        av_packet_unref(w->pkt);
        if (rc)
            return rc;
    }
}

/* ASS dialogue line as the mov_text encoder reads it:
 * ReadOrder,Layer,Style,Name,MarginL,MarginR,MarginV,Effect,Text */
static int write_cue(vkr_mp4_writer *w, int index, const vkr_sub_cue *cue)
{
    char *text = vkr_ass_escape_text(cue->text);
    if (!text)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    char *line = av_asprintf("%d,0,Default,,0,0,0,,%s", index, text);
    free(text);
    if (!line)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    if (strlen(line) > 60000) { /* a mov_text sample holds at most 65535 bytes of text */
        av_free(line);
        return vkr_fail(VKR_E_DATA, "%s: subtitle %d: text too long for mov_text", w->out.final_path,
                        index);
    }
    AVSubtitleRect rect = {.type = SUBTITLE_ASS, .ass = line};
    AVSubtitleRect *rects[1] = {&rect};
    AVSubtitle sub = {
        .num_rects = 1,
        .rects = rects,
        .start_display_time = 0,
        .end_display_time = (uint32_t)(cue->end_ms - cue->start_ms),
        .pts = av_rescale_q(cue->start_ms, ms_tb, AV_TIME_BASE_Q),
    };
    int size = (int)strlen(line) + 1024;
    int rc = VKR_OK;
    int ret = av_new_packet(w->pkt, size);
    if (ret < 0) {
        av_free(line);
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    }
    ret = avcodec_encode_subtitle(w->senc, w->pkt->data, size, &sub);
    av_free(line);
    if (ret <= 0) {
        av_packet_unref(w->pkt);
        return av_fail(w, VKR_E_INTERNAL, ret ? ret : AVERROR_BUG, "subtitle %d: mov_text encoding", index);
    }
    av_shrink_packet(w->pkt, ret);
    w->pkt->pts = w->pkt->dts = cue->start_ms;
    w->pkt->duration = cue->end_ms - cue->start_ms;
    w->pkt->flags |= AV_PKT_FLAG_KEY;
    rc = write_packet(w, w->pkt, ms_tb, w->sst);
    av_packet_unref(w->pkt);
    return rc;
}

/* ---- public API ---- */

static void free_writer(vkr_mp4_writer *w)
{
    if (w->oc) {
        if (w->oc->pb)
            avio_closep(&w->oc->pb);
        avformat_free_context(w->oc);
    }
    avcodec_free_context(&w->venc);
    avcodec_free_context(&w->aenc);
    avcodec_free_context(&w->senc);
    sws_freeContext(w->sws);
    av_frame_free(&w->vframe);
    av_frame_free(&w->aframe);
    if (w->fifo)
        av_audio_fifo_free(w->fifo);
    av_packet_free(&w->pkt);
    free(w->planar);
    vkr_sub_cues_free(w->cues, w->n_cues);
    vkr_sub_cues_free(w->track_cues, w->n_track_cues);
    av_free(w->url);
    free(w->srt_path);
    free(w->vtt_path);
    vkr_atomic_abort(&w->out); /* no-op after a commit */
    free(w);
}

int vkr_mp4_open(vkr_mp4_writer **wp, const char *path, const vkr_mp4_params *p)
{
    *wp = NULL;
    int rc = check_params(path, p);
    if (rc)
        return rc;
    pthread_once(&av_log_install_once, install_av_log);
    av_last_error[0] = 0;

    vkr_mp4_writer *w = calloc(1, sizeof *w);
    if (!w)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    w->out.fd = -1;
    w->p = *p;
    w->p.subtitles = NULL; /* borrowed only during open */
    w->p.title = w->p.comment = w->p.generation_json = NULL;

    if ((rc = vkr_sub_cues_prepare(p->subtitles, p->n_subtitles, &w->cues, &w->n_cues)))
        goto fail;
    if ((rc = vkr_sub_cues_flatten(w->cues, w->n_cues, &w->track_cues, &w->n_track_cues)))
        goto fail;
    if (p->write_sidecars) {
        w->srt_path = sidecar_path(path, ".srt");
        w->vtt_path = sidecar_path(path, ".vtt");
        if (!w->srt_path || !w->vtt_path) {
            rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
            goto fail;
        }
    }

    if ((rc = vkr_atomic_begin(&w->out, path)))
        goto fail;
    close(w->out.fd); /* libavformat writes (and re-reads) the file by name */
    w->out.fd = -1;
    w->url = av_asprintf("file:%s", w->out.tmp_path);
    w->pkt = av_packet_alloc();
    if (!w->url || !w->pkt) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto fail;
    }

    int ret = avformat_alloc_output_context2(&w->oc, NULL, "mp4", w->url);
    if (ret < 0 || !w->oc) {
        rc = av_fail(w, VKR_E_INTERNAL, ret, "no mp4 muxer");
        goto fail;
    }
    if ((rc = open_video(w)))
        goto fail;
    if (p->channels > 0 && (rc = open_audio(w)))
        goto fail;
    if (w->n_track_cues > 0 && (rc = open_subtitles(w)))
        goto fail;

    if (p->title)
        av_dict_set(&w->oc->metadata, "title", p->title, 0);
    if (p->comment)
        av_dict_set(&w->oc->metadata, "comment", p->comment, 0);
    if (p->generation_json)
        av_dict_set(&w->oc->metadata, "vkreel_generation", p->generation_json, 0);

    if ((ret = avio_open(&w->oc->pb, w->url, AVIO_FLAG_WRITE)) < 0) {
        rc = av_fail(w, VKR_E_CANTCREATE, ret, "cannot open the temporary file");
        goto fail;
    }
    AVDictionary *opts = NULL;
    /* use_metadata_tags: store every tag under its own name (mdta keys), so the
     * custom vkreel_generation tag survives. */
    av_dict_set(&opts, "movflags", "+faststart+use_metadata_tags", 0);
    av_dict_set_int(&opts, "movie_timescale", movie_timescale(p), 0);
    ret = avformat_write_header(w->oc, &opts);
    av_dict_free(&opts);
    if (ret < 0) {
        rc = av_fail(w, VKR_E_CANTCREATE, ret, "cannot write the mp4 header");
        goto fail;
    }
    /* avformat_write_header() stamps "encoder" with libavformat's name; the
     * moov (and its metadata) is only written by the trailer, so ours wins. */
    av_dict_set(&w->oc->metadata, "encoder", "vkreel " VKR_VERSION, 0);

    /* All cues up front: the interleaver holds them until the audio and
     * video reach their times. */
    for (int i = 0; i < w->n_track_cues; i++)
        if ((rc = write_cue(w, i, &w->track_cues[i])))
            goto fail;

    *wp = w;
    return VKR_OK;
fail:
    free_writer(w);
    return rc;
}

int vkr_mp4_write_video(vkr_mp4_writer *w, const uint8_t *rgb, int stride)
{
    if (w->status)
        return w->status;
    if (!rgb || stride < 3 * w->p.width)
        return w->status = vkr_fail(VKR_E_USAGE, "%s: frame %lld: bad RGB buffer (stride %d)",
                                    w->out.final_path, (long long)w->frames_in, stride);
    int ret = av_frame_make_writable(w->vframe); /* the encoder may still hold the last one */
    if (ret < 0)
        return w->status = av_fail(w, VKR_E_INTERNAL, ret, "video frame");
    const uint8_t *src[4] = {rgb, NULL, NULL, NULL};
    const int src_stride[4] = {stride, 0, 0, 0};
    if (sws_scale(w->sws, src, src_stride, 0, w->p.height, w->vframe->data, w->vframe->linesize) !=
        w->p.height)
        return w->status = vkr_fail(VKR_E_INTERNAL, "%s: frame %lld: RGB -> yuv420p conversion failed",
                                    w->out.final_path, (long long)w->frames_in);
    w->vframe->pts = w->frames_in++;
    int rc = encode(w, w->venc, w->vst, w->vframe);
    return w->status = rc;
}

/* Encodes n samples from the FIFO (n < frame_size only for the last frame). */
static int send_audio_frame(vkr_mp4_writer *w, int n)
{
    AVFrame *f = w->aframe;
    av_frame_unref(f);
    f->nb_samples = n;
    f->format = w->aenc->sample_fmt;
    f->sample_rate = w->aenc->sample_rate;
    int ret = av_channel_layout_copy(&f->ch_layout, &w->aenc->ch_layout);
    if (ret >= 0)
        ret = av_frame_get_buffer(f, 0);
    if (ret < 0)
        return av_fail(w, VKR_E_INTERNAL, ret, "audio frame");
    if (av_audio_fifo_read(w->fifo, (void **)f->extended_data, n) != n)
        return vkr_fail(VKR_E_INTERNAL, "%s: audio FIFO underrun", w->out.final_path);
    f->pts = w->samples_sent;
    w->samples_sent += n;
    return encode(w, w->aenc, w->ast, f);
}

int vkr_mp4_write_audio(vkr_mp4_writer *w, const float *interleaved, int n)
{
    if (w->status)
        return w->status;
    if (n < 0 || (n > 0 && !interleaved))
        return w->status = vkr_fail(VKR_E_USAGE, "%s: bad audio buffer", w->out.final_path);
    if (!w->aenc)
        return n == 0 ? VKR_OK
                      : (w->status = vkr_fail(VKR_E_USAGE, "%s: audio given but the file has no audio stream",
                                              w->out.final_path));
    const int ch = w->p.channels, fs = w->aenc->frame_size;
    /* The AAC encoder rejects NaN/Inf with a bare EINVAL; say what is wrong. */
    for (int64_t i = 0; i < (int64_t)n * ch; i++) {
        if (!isfinite(interleaved[i])) {
            int64_t at = w->samples_sent + av_audio_fifo_size(w->fifo) + i / ch;
            return w->status = vkr_fail(VKR_E_DATA, "%s: audio sample %lld (channel %d) is not finite",
                                        w->out.final_path, (long long)at, (int)(i % ch));
        }
    }
    while (n > 0) {
        int k = n < fs ? n : fs;
        void *planes[2];
        for (int c = 0; c < ch; c++) {
            float *dst = w->planar + (size_t)c * fs;
            for (int i = 0; i < k; i++)
                dst[i] = interleaved[(size_t)i * ch + c];
            planes[c] = dst;
        }
        if (av_audio_fifo_write(w->fifo, planes, k) != k)
            return w->status = vkr_fail(VKR_E_INTERNAL, "out of memory (audio FIFO)");
        interleaved += (size_t)k * ch;
        n -= k;
        while (av_audio_fifo_size(w->fifo) >= fs) {
            int rc = send_audio_frame(w, fs);
            if (rc)
                return w->status = rc;
        }
    }
    return VKR_OK;
}

/* Creates a sidecar under its temporary name (committed later). */
static int stage_sidecar(const char *path, char *doc, vkr_atomic *a)
{
    if (!doc)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    int rc = vkr_atomic_begin(a, path);
    size_t len = strlen(doc), off = 0;
    while (!rc && off < len) {
        ssize_t k = write(a->fd, doc + off, len - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            rc = vkr_fail(VKR_E_CANTCREATE, "%s: write failed: %s", path, strerror(errno));
            vkr_atomic_abort(a);
        } else {
            off += (size_t)k;
        }
    }
    free(doc);
    return rc;
}

int vkr_mp4_finish(vkr_mp4_writer *w)
{
    vkr_atomic srt = {.fd = -1}, vtt = {.fd = -1};
    int rc = w->status;
    if (rc)
        goto fail;
    if (w->frames_in == 0) {
        rc = vkr_fail(VKR_E_USAGE, "%s: no video frames were written", w->out.final_path);
        goto fail;
    }
    if (w->aenc) {
        int left = av_audio_fifo_size(w->fifo);
        if (left > 0 && (rc = send_audio_frame(w, left)))
            goto fail;
        if ((rc = encode(w, w->aenc, w->ast, NULL)))
            goto fail;
    }
    if ((rc = encode(w, w->venc, w->vst, NULL)))
        goto fail;
    int ret = av_write_trailer(w->oc);
    if (ret < 0) {
        rc = av_fail(w, VKR_E_CANTCREATE, ret, "cannot finish the mp4");
        goto fail;
    }
    ret = avio_closep(&w->oc->pb);
    if (ret < 0) {
        rc = av_fail(w, VKR_E_CANTCREATE, ret, "cannot close the mp4");
        goto fail;
    }
    /* Sidecars are staged first and committed after the MP4, so a failure
     * before the MP4 is in place leaves none of the three. */
    if (w->srt_path) {
        if ((rc = stage_sidecar(w->srt_path, vkr_srt_format(w->cues, w->n_cues), &srt)))
            goto fail;
        if ((rc = stage_sidecar(w->vtt_path, vkr_vtt_format(w->cues, w->n_cues), &vtt)))
            goto fail;
    }
    if ((rc = vkr_atomic_commit(&w->out)))
        goto fail;
    if (w->srt_path) {
        if ((rc = vkr_atomic_commit(&srt)))
            goto fail;
        if ((rc = vkr_atomic_commit(&vtt)))
            goto fail;
    }
    free_writer(w);
    return VKR_OK;
fail:
    vkr_atomic_abort(&srt);
    vkr_atomic_abort(&vtt);
    free_writer(w);
    return rc;
}

void vkr_mp4_abort(vkr_mp4_writer *w)
{
    if (w)
        free_writer(w);
}
