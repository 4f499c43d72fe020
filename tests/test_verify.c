/* verify: the flash and beep-onset detectors on synthetic input, then whole
 * test card renders through the real MP4 writer, verified clean and after
 * tampering (audio shifted by 3 frames, an extra flash, a missing flash, the
 * wrong storyboard). */
#include "check.h"

#include "common/status.h"
#include "pipeline/render.h"
#include "pipeline/storyboard.h"
#include "pipeline/testcard.h"
#include "pipeline/timeline.h"
#include "pipeline/verify.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static void test_flash_detector(void)
{
    enum { W = 64, H = 36 };
    static uint8_t y[W * H];
    memset(y, 235, sizeof y); /* limited-range white */
    CHECK(vkr_verify_is_flash(y, W, W, H, false), "white frame not a flash");
    CHECK(vkr_verify_is_flash(y, W, W, H, true), "white frame (full range) not a flash");
    /* White with 10 % light grey text: still a flash. */
    for (int i = 0; i < W * H / 10; i++)
        y[i * 10] = 170;
    CHECK(vkr_verify_is_flash(y, W, W, H, false), "white frame with grey text not a flash");
    /* Mid-luma background with 20 % white text: not a flash. */
    memset(y, 112, sizeof y);
    for (int i = 0; i < W * H / 5; i++)
        y[i * 5] = 235;
    CHECK(!vkr_verify_is_flash(y, W, W, H, false), "mid-luma frame with white text taken for a flash");
    /* The whole frame must be bright: a white top half is not a flash. */
    memset(y, 235, sizeof y);
    memset(y, 16, W * H / 2);
    CHECK(!vkr_verify_is_flash(y, W, W, H, false), "half-white frame taken for a flash");
    /* Stride is honoured: padding bytes outside the width are ignored. */
    static uint8_t padded[(W + 16) * H];
    memset(padded, 16, sizeof padded);
    for (int r = 0; r < H; r++)
        memset(padded + r * (W + 16), 235, W);
    CHECK(vkr_verify_is_flash(padded, W + 16, W, H, false), "padded white frame not a flash");
}

static void test_onset_detector(void)
{
    enum { RATE = 48000, N = 48000 };
    float *x = calloc(N * 2, sizeof(float));
    /* Beep 1 at 1000, preceded by 100 samples of pre-echo-like noise below the
     * threshold; beep 2 at 30000 on the right channel only. */
    for (int i = 900; i < 1000; i++)
        x[2 * i] = 0.03f * (float)((i % 2) ? 1 : -1);
    for (int i = 1000; i < 1000 + 9600; i++)
        x[2 * i] = x[2 * i + 1] = 0.177f * (float)cos(2 * M_PI * 1000.0 * (i - 1000) / RATE);
    for (int i = 30000; i < 30000 + 4800; i++)
        x[2 * i + 1] = 0.25f * (float)cos(2 * M_PI * 1000.0 * (i - 30000) / RATE);
    /* A second burst 20 ms after beep 2 ends: too close to count as a new onset. */
    for (int i = 34800 + 960; i < 34800 + 960 + 480; i++)
        x[2 * i] = 0.2f;

    vkr_onset_detector d;
    vkr_onset_init(&d, RATE);
    CHECK_EQ_INT(vkr_onset_feed(&d, x, N, 2, 0), 0);
    CHECK_EQ_INT(d.n, 2);
    if (d.n == 2) {
        CHECK_EQ_INT(d.onsets[0], 1000);
        CHECK_EQ_INT(d.onsets[1], 30000);
    }
    vkr_onset_free(&d);

    /* Feeding in odd-sized chunks at absolute offsets gives the same onsets. */
    vkr_onset_init(&d, RATE);
    for (int s = 0; s < N; s += 333)
        vkr_onset_feed(&d, x + 2 * s, N - s < 333 ? N - s : 333, 2, 5000 + s);
    CHECK_EQ_INT(d.n, 2);
    if (d.n == 2) {
        CHECK_EQ_INT(d.onsets[0], 6000);
        CHECK_EQ_INT(d.onsets[1], 35000);
    }
    vkr_onset_free(&d);
    free(x);
}

/* ------------------------------------------------------ rendered files */

/* 2.5 s at 24 fps, 160x96: two shots with a crossfade, three cues (one inside
 * the crossfade, one hard right and short), a shot subtitle and a free one. */
static const char *board_a =
    "{\"version\": 1, \"title\": \"verify test\","
    " \"output\": {\"width\": 160, \"height\": 96, \"fps\": 24, \"sample_rate\": 48000,"
    "  \"channels\": 2, \"crf\": 23},"
    " \"shots\": ["
    "  {\"id\": \"one\", \"duration\": 1.25, \"prompt\": \"a\", \"subtitle\": \"first shot\"},"
    "  {\"id\": \"two\", \"duration\": 1.25, \"prompt\": \"b\","
    "   \"transition\": {\"type\": \"crossfade\", \"duration\": 0.5}}],"
    " \"sfx\": ["
    "  {\"id\": \"ding\", \"at\": 0.3, \"duration\": 0.5, \"prompt\": \"x\"},"
    "  {\"id\": \"blend\", \"at\": 1.1, \"duration\": 0.5, \"prompt\": \"x\", \"pan\": -0.5},"
    "  {\"id\": \"tick\", \"shot\": \"two\", \"at\": 0.8, \"duration\": 0.1, \"prompt\": \"x\","
    "   \"pan\": 1}],"
    " \"subtitles\": [{\"start\": 1.5, \"end\": 2.2, \"text\": \"second line\"}]}";

/* Same output settings, different cues and length. */
static const char *board_b =
    "{\"version\": 1,"
    " \"output\": {\"width\": 160, \"height\": 96, \"fps\": 24, \"sample_rate\": 48000,"
    "  \"channels\": 2, \"crf\": 23},"
    " \"shots\": [{\"id\": \"solo\", \"duration\": 2.0, \"prompt\": \"a\"}],"
    " \"sfx\": [{\"id\": \"bang\", \"at\": 1.0, \"duration\": 0.5, \"prompt\": \"x\"}]}";

typedef struct {
    vkr_storyboard sb;
    vkr_timeline tl;
    vkr_testcard tc;
} plan;

static int load_plan(const char *text, plan *p)
{
    vkr_diags d = {0};
    memset(p, 0, sizeof *p);
    int rc = vkr_storyboard_parse("board.json", text, strlen(text), &p->sb, &d);
    if (rc)
        vkr_diags_print(&d, "board.json", stderr);
    vkr_diags_free(&d);
    if (rc)
        return rc;
    if ((rc = vkr_timeline_build(&p->sb, &p->tl)))
        return rc;
    return vkr_testcard_init(&p->tc, &p->sb, &p->tl);
}

static void free_plan(plan *p)
{
    vkr_timeline_free(&p->tl);
    vkr_storyboard_free(&p->sb);
}

/* Tampering sources wrapping the test card. */
typedef struct {
    const vkr_testcard *tc;
    int64_t audio_shift;   /* samples of delay */
    int64_t extra_flash;   /* frame to flash although no cue asks; -1: none */
    int64_t missing_flash; /* cue frame to render without its flash; -1: none */
} tamper;

static int tamper_frame(void *ctx, int64_t index, uint8_t *rgb, int stride)
{
    const tamper *t = ctx;
    int64_t src = index;
    /* A neighbouring frame has the right shot colour and no flash. */
    if (index == t->missing_flash)
        src = index > 0 ? index - 1 : index + 1;
    int rc = vkr_testcard_frame(t->tc, src, rgb, stride);
    if (!rc && index == t->extra_flash)
        for (int y = 0; y < t->tc->height; y++)
            memset(rgb + (size_t)y * (size_t)stride, 255, (size_t)t->tc->width * 3);
    return rc;
}

static int tamper_samples(void *ctx, int64_t first, int n, float *out)
{
    const tamper *t = ctx;
    int ch = t->tc->channels;
    memset(out, 0, sizeof(float) * (size_t)n * (size_t)ch);
    int64_t src = first - t->audio_shift;
    int skip = src < 0 ? (int)(-src < n ? -src : n) : 0;
    if (n - skip > 0)
        return vkr_testcard_audio(t->tc, src + skip, n - skip, out + (size_t)skip * (size_t)ch);
    return 0;
}

static int render_to(plan *p, const char *path, const tamper *t)
{
    vkr_render_job job = {.sb = &p->sb, .tl = &p->tl, .out_path = path, .model = "testcard",
                          .seed = p->sb.seed};
    if (t) {
        job.video = (vkr_frame_source){(void *)t, tamper_frame};
        job.audio = (vkr_audio_source){(void *)t, tamper_samples};
    } else {
        vkr_testcard_sources(&p->tc, &job.video, &job.audio);
    }
    return vkr_render(&job);
}

static const vkr_verify_check *find_check(const vkr_verify_report *r, const char *prefix)
{
    for (int i = 0; i < r->n; i++)
        if (strncmp(r->checks[i].name, prefix, strlen(prefix)) == 0)
            return &r->checks[i];
    return NULL;
}

static void expect_failed(const vkr_verify_report *r, const char *prefix, const char *needle)
{
    const vkr_verify_check *c = find_check(r, prefix);
    CHECK(c != NULL, "no check named '%s...'", prefix);
    if (!c)
        return;
    CHECK(!c->ok, "check '%s' passed: %s", c->name, c->detail);
    if (needle)
        CHECK(strstr(c->detail, needle) != NULL, "check '%s' detail \"%s\" lacks \"%s\"", c->name,
              c->detail, needle);
}

static void test_rendered(const char *dir)
{
    plan a, b;
    CHECK_EQ_INT(load_plan(board_a, &a), 0);
    CHECK_EQ_INT(load_plan(board_b, &b), 0);
    CHECK_EQ_INT(a.tl.n_cues, 3);
    if (a.tl.n_cues != 3 || b.tl.n_cues != 1)
        return;
    char clean[512], shifted[512], extra[512], missing[512];
    snprintf(clean, sizeof clean, "%s/clean.mp4", dir);
    snprintf(shifted, sizeof shifted, "%s/shifted.mp4", dir);
    snprintf(extra, sizeof extra, "%s/extra.mp4", dir);
    snprintf(missing, sizeof missing, "%s/missing.mp4", dir);

    /* Clean render: every check passes, with and without the plan. */
    CHECK_EQ_INT(render_to(&a, clean, NULL), 0);
    vkr_verify_opts with_a = {&a.sb, &a.tl, -1}, with_b = {&b.sb, &b.tl, -1};
    vkr_verify_report r;
    int rc = vkr_verify(clean, &with_a, &r);
    if (rc)
        vkr_verify_report_print(&r, stderr);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(r.n_failed, 0);
    CHECK(r.testcard && r.sync_checked, "test card render not recognised (testcard %d, sync %d)",
          r.testcard, r.sync_checked);
    CHECK_EQ_INT(r.n_video_packets, a.tl.n_frames);
    CHECK_EQ_INT(r.n_video_frames_decoded, a.tl.n_frames);
    CHECK_EQ_INT(r.n_audio_samples, a.tl.n_samples);
    CHECK_EQ_INT(r.n_subtitles, 2);
    CHECK_EQ_INT(r.n_flashes, 3);
    CHECK_EQ_INT(r.n_beeps, 3);
    for (int i = 0; i < r.n_flashes && i < 3; i++)
        CHECK_EQ_INT(r.flash_frames[i], a.tl.cues[i].frame);
    /* The measured onsets land within a few samples of the planned ones, far
     * inside the one-frame (2000 samples) tolerance. */
    for (int i = 0; i < r.n_beeps && i < 3; i++)
        CHECK(llabs(r.beep_onsets[i] - a.tl.cues[i].sample_begin) <= 8,
              "beep %d onset at %lld, planned %lld", i, (long long)r.beep_onsets[i],
              (long long)a.tl.cues[i].sample_begin);
    vkr_verify_report_free(&r);

    rc = vkr_verify(clean, NULL, &r);
    if (rc)
        vkr_verify_report_print(&r, stderr);
    CHECK_EQ_INT(rc, 0);
    CHECK(!r.sync_checked, "sync checked without a plan");
    vkr_verify_report_free(&r);

    /* Verified against another storyboard: fails, naming what differs. */
    rc = vkr_verify(clean, &with_b, &r);
    CHECK_EQ_INT(rc, VKR_E_DATA);
    expect_failed(&r, "frame count", "expected 48 frames, found 60");
    expect_failed(&r, "generation metadata", NULL);
    expect_failed(&r, "subtitles", "expected 0 cues, found 2");
    expect_failed(&r, "cue 'bang'", NULL);
    expect_failed(&r, "unexpected flashes", NULL);
    vkr_verify_report_free(&r);

    /* Audio 3 frames late: every cue's beep fails, by +3 frames. */
    tamper t = {&a.tc, 3 * 2000, -1, -1};
    CHECK_EQ_INT(render_to(&a, shifted, &t), 0);
    rc = vkr_verify(shifted, &with_a, &r);
    CHECK_EQ_INT(rc, VKR_E_DATA);
    expect_failed(&r, "cue 'ding'", "+3.00 frames");
    expect_failed(&r, "cue 'blend'", "+3.00 frames");
    expect_failed(&r, "cue 'tick'", "+3.00 frames");
    expect_failed(&r, "unexpected beeps", NULL);
    const vkr_verify_check *c = find_check(&r, "unexpected flashes");
    CHECK(c && c->ok, "flashes should be untouched by an audio shift");
    vkr_verify_report_free(&r);

    /* An extra flash on frame 40. */
    t = (tamper){&a.tc, 0, 40, -1};
    CHECK_EQ_INT(render_to(&a, extra, &t), 0);
    rc = vkr_verify(extra, &with_a, &r);
    CHECK_EQ_INT(rc, VKR_E_DATA);
    expect_failed(&r, "unexpected flashes", "frames 40");
    CHECK_EQ_INT(r.n_failed, 1);
    vkr_verify_report_free(&r);

    /* The 'blend' cue's flash missing. */
    t = (tamper){&a.tc, 0, -1, a.tl.cues[1].frame};
    CHECK_EQ_INT(render_to(&a, missing, &t), 0);
    rc = vkr_verify(missing, &with_a, &r);
    CHECK_EQ_INT(rc, VKR_E_DATA);
    expect_failed(&r, "cue 'blend'", "expected a flash at frame");
    CHECK_EQ_INT(r.n_failed, 1);
    vkr_verify_report_free(&r);

    /* Not media at all, and no file: 66. */
    char junk[512];
    snprintf(junk, sizeof junk, "%s/junk.mp4", dir);
    FILE *f = fopen(junk, "wb");
    if (f) {
        fputs("this is not an mp4 file\n", f);
        fclose(f);
    }
    CHECK_EQ_INT(vkr_verify(junk, NULL, &r), VKR_E_NOINPUT);
    vkr_verify_report_free(&r);
    snprintf(junk, sizeof junk, "%s/absent.mp4", dir);
    CHECK_EQ_INT(vkr_verify(junk, NULL, &r), VKR_E_NOINPUT);
    vkr_verify_report_free(&r);

    free_plan(&a);
    free_plan(&b);
}

static void remove_dir(const char *dir)
{
    const char *names[] = {"clean", "shifted", "extra", "missing"};
    const char *exts[] = {".mp4", ".srt", ".vtt"};
    char path[600];
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < 3; j++) {
            snprintf(path, sizeof path, "%s/%s%s", dir, names[i], exts[j]);
            unlink(path);
        }
    snprintf(path, sizeof path, "%s/junk.mp4", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    test_flash_detector();
    test_onset_detector();
    char dir[] = "/tmp/vkreel-test-verify-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_rendered(dir);
    remove_dir(dir);
    return check_summary("test_verify");
}
