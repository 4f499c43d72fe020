/* Subtitle cues: ms rounding, text normalisation, flattening of overlaps, SRT
 * and WebVTT documents (also read back with libavformat's own demuxers), ASS
 * escaping for mov_text, atomic sidecar writes. */
#include "check.h"

#include "common/status.h"
#include "pipeline/subtitles.h"

#include <libavformat/avformat.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Arrays through a function, so CHECK_EQ_STR's NULL tests stay meaningful to GCC. */
static const char *str(const char *s) { return s; }

static void test_times(void)
{
    CHECK_EQ_INT(vkr_sub_us_to_ms(0), 0);
    CHECK_EQ_INT(vkr_sub_us_to_ms(499), 0);
    CHECK_EQ_INT(vkr_sub_us_to_ms(500), 1);
    CHECK_EQ_INT(vkr_sub_us_to_ms(1499), 1);
    CHECK_EQ_INT(vkr_sub_us_to_ms(1500), 2);
    char b[32];
    vkr_sub_format_time(0, ',', b);
    CHECK_EQ_STR(str(b), "00:00:00,000");
    vkr_sub_format_time(3723004, ',', b);
    CHECK_EQ_STR(str(b), "01:02:03,004");
    vkr_sub_format_time(59999, '.', b);
    CHECK_EQ_STR(str(b), "00:00:59.999");
    vkr_sub_format_time(360000000 + 61001, '.', b);
    CHECK_EQ_STR(str(b), "100:01:01.001");
}

static void test_prepare(void)
{
    const vkr_tl_subtitle in[] = {
        {1000, 2400, "  Hello\r\n\r\n  world  \r\n", 0}, /* -> "Hello\nworld", 1..2 ms */
        {5000, 5400, "zero after rounding", 0},          /* 5 ms .. 5 ms: dropped */
        {6000, 9000, " \n\t\n", -1},                      /* blank: dropped */
        {10000, 20000, "one\rtwo", -1},                  /* lone CR is a line break */
    };
    vkr_sub_cue *c = NULL;
    int n = -1;
    CHECK_EQ_INT(vkr_sub_cues_prepare(in, 4, &c, &n), 0);
    CHECK_EQ_INT(n, 2);
    if (n == 2) {
        CHECK_EQ_INT(c[0].start_ms, 1);
        CHECK_EQ_INT(c[0].end_ms, 2);
        CHECK_EQ_STR(c[0].text, "Hello\nworld");
        CHECK_EQ_INT(c[1].start_ms, 10);
        CHECK_EQ_INT(c[1].end_ms, 20);
        CHECK_EQ_STR(c[1].text, "one\ntwo");
    }
    vkr_sub_cues_free(c, n);

    const vkr_tl_subtitle neg = {-1, 10, "x", 0}, back = {10, 9, "x", 0}, null = {0, 10, NULL, 0};
    CHECK_EQ_INT(vkr_sub_cues_prepare(&neg, 1, &c, &n), VKR_E_DATA);
    CHECK_EQ_INT(vkr_sub_cues_prepare(&back, 1, &c, &n), VKR_E_DATA);
    CHECK_EQ_INT(vkr_sub_cues_prepare(&null, 1, &c, &n), VKR_E_DATA);
    CHECK(c == NULL && n == 0, "outputs not cleared on failure");
    CHECK_EQ_INT(vkr_sub_cues_prepare(NULL, 0, &c, &n), 0);
    CHECK(c == NULL && n == 0, "empty input");
}

static void test_flatten(void)
{
    vkr_sub_cue in[] = {
        {0, 1000, "A"},
        {500, 1500, "B"},
        {500, 700, "C"},
        {2000, 2500, "D"},
        {2500, 3000, "D"}, /* same text, touching: merged */
    };
    vkr_sub_cue *c = NULL;
    int n = 0;
    CHECK_EQ_INT(vkr_sub_cues_flatten(in, 5, &c, &n), 0);
    const struct {
        int64_t a, b;
        const char *text;
    } want[] = {
        {0, 500, "A"}, {500, 700, "A\nB\nC"}, {700, 1000, "A\nB"}, {1000, 1500, "B"}, {2000, 3000, "D"},
    };
    CHECK_EQ_INT(n, 5);
    for (int i = 0; i < 5 && i < n; i++) {
        CHECK(c[i].start_ms == want[i].a && c[i].end_ms == want[i].b,
              "flattened cue %d: [%lld, %lld), expected [%lld, %lld)", i, (long long)c[i].start_ms,
              (long long)c[i].end_ms, (long long)want[i].a, (long long)want[i].b);
        CHECK_EQ_STR(c[i].text, want[i].text);
    }
    /* Strictly increasing, non-overlapping: what the mov muxer needs. */
    for (int i = 1; i < n; i++)
        CHECK(c[i].start_ms >= c[i - 1].end_ms, "cue %d overlaps cue %d", i, i - 1);
    vkr_sub_cues_free(c, n);
}

static void test_escape(void)
{
    const struct {
        const char *in, *out;
    } cases[] = {
        {"plain, with commas", "plain, with commas"},
        {"two\nlines", "two\\Nlines"},
        {"crlf\r\nline", "crlf\\Nline"},
        {"literal \\n and \\N", "literal \\\xE2\x80\x8Bn and \\\xE2\x80\x8BN"},
        {"{\\b1}not bold", "{\xE2\x80\x8B\\b1}not bold"},
        {"brace {\nnext", "brace {\xE2\x80\x8B\\Nnext"},
        {"{plain braces}", "{plain braces}"},
        {"tab\there", "tab here"},
        {"trailing backslash\\", "trailing backslash\\"},
        {"backslash then newline\\\nx", "backslash then newline\\\\Nx"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = vkr_ass_escape_text(cases[i].in);
        CHECK(got && strcmp(got, cases[i].out) == 0, "escape case %zu: \"%s\", expected \"%s\"", i,
              got ? got : "(null)", cases[i].out);
        free(got);
    }
}

static const vkr_sub_cue doc_cues[] = {
    {0, 1500, "Hello, world"},
    {1500, 3250, "A & B <i>not markup</i>\nand --> arrows"},
    {3723004, 3724000, "late"},
};

static void test_documents(void)
{
    char *srt = vkr_srt_format(doc_cues, 3);
    CHECK_EQ_STR(srt, "1\n00:00:00,000 --> 00:00:01,500\nHello, world\n\n"
                      "2\n00:00:01,500 --> 00:00:03,250\nA & B <i>not markup</i>\nand --> arrows\n\n"
                      "3\n01:02:03,004 --> 01:02:04,000\nlate\n\n");
    char *vtt = vkr_vtt_format(doc_cues, 3);
    CHECK_EQ_STR(vtt, "WEBVTT\n\n"
                      "1\n00:00:00.000 --> 00:00:01.500\nHello, world\n\n"
                      "2\n00:00:01.500 --> 00:00:03.250\nA &amp; B &lt;i&gt;not markup&lt;/i&gt;\n"
                      "and --&gt; arrows\n\n"
                      "3\n01:02:03.004 --> 01:02:04.000\nlate\n\n");
    char *empty = vkr_vtt_format(NULL, 0);
    CHECK_EQ_STR(empty, "WEBVTT\n\n");
    char *empty_srt = vkr_srt_format(NULL, 0);
    CHECK_EQ_STR(empty_srt, "");
    free(srt);
    free(vtt);
    free(empty);
    free(empty_srt);
}

/* Reads a sidecar with libavformat's demuxer; checks cue times and text. */
static void check_demuxed(const char *path, const char *format, const char *const *texts)
{
    AVFormatContext *fc = NULL;
    const AVInputFormat *fmt = av_find_input_format(format);
    int ret = avformat_open_input(&fc, path, fmt, NULL);
    CHECK(ret >= 0, "%s: libavformat cannot open it", path);
    if (ret < 0)
        return;
    AVPacket *pkt = av_packet_alloc();
    int i = 0;
    while (av_read_frame(fc, pkt) >= 0) {
        AVStream *st = fc->streams[pkt->stream_index];
        if (i < 3) {
            int64_t a = av_rescale_q(pkt->pts, st->time_base, (AVRational){1, 1000});
            int64_t d = av_rescale_q(pkt->duration, st->time_base, (AVRational){1, 1000});
            CHECK(a == doc_cues[i].start_ms && d == doc_cues[i].end_ms - doc_cues[i].start_ms,
                  "%s cue %d: %lld ms for %lld ms", format, i, (long long)a, (long long)d);
            char text[256];
            snprintf(text, sizeof text, "%.*s", pkt->size, (const char *)pkt->data);
            size_t n = strlen(text);
            while (n && text[n - 1] == '\n') /* demuxers keep the cue's line end */
                text[--n] = 0;
            CHECK(strcmp(text, texts[i]) == 0, "%s cue %d text \"%s\", expected \"%s\"", format, i,
                  text, texts[i]);
        }
        i++;
        av_packet_unref(pkt);
    }
    CHECK(i == 3, "%s: %d cues demuxed, expected 3", format, i);
    av_packet_free(&pkt);
    avformat_close_input(&fc);
}

static void test_files(void)
{
    char dir[] = "/tmp/vkr_sub_test.XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp failed");
        return;
    }
    char srt[256], vtt[256], bad[256];
    snprintf(srt, sizeof srt, "%s/cues.srt", dir);
    snprintf(vtt, sizeof vtt, "%s/cues.vtt", dir);
    snprintf(bad, sizeof bad, "%s/missing/cues.srt", dir);
    CHECK_EQ_INT(vkr_srt_write(srt, doc_cues, 3), 0);
    CHECK_EQ_INT(vkr_vtt_write(vtt, doc_cues, 3), 0);
    CHECK_EQ_INT(vkr_srt_write(bad, doc_cues, 3), VKR_E_CANTCREATE);
    static const char *const srt_texts[] = {
        "Hello, world", "A & B <i>not markup</i>\nand --> arrows", "late"};
    static const char *const vtt_texts[] = {
        "Hello, world", "A &amp; B &lt;i&gt;not markup&lt;/i&gt;\nand --&gt; arrows", "late"};
    check_demuxed(srt, "srt", srt_texts);
    check_demuxed(vtt, "webvtt", vtt_texts);
    unlink(srt);
    unlink(vtt);
    rmdir(dir);
}

int main(void)
{
    av_log_set_level(AV_LOG_ERROR);
    test_times();
    test_prepare();
    test_flatten();
    test_escape();
    test_documents();
    test_files();
    return check_summary("test_subtitles");
}
