/* Test card: font legibility, timecode, per-shot colours, flash frames,
 * crossfade blends, and the beep's exact onset, length, level and pan law.
 * The storyboard and timeline are built by hand here, so these checks do not
 * depend on the parser or the timeline builder. */
#include "check.h"

#include "pipeline/font.h"
#include "pipeline/testcard.h"

#include <stdint.h>
#include <stdlib.h>

enum { W = 320, H = 180, FPS = 24, RATE = 48000 };

static vkr_shot shots[2];
static vkr_cue cues[2];
static vkr_storyboard sb;
static vkr_tl_shot tl_shots[2];
static vkr_tl_cue tl_cues[2];
static vkr_timeline tl;

/* Two shots: "intro" [0, 48) and "otter-2" [48, 120), a 0.5 s crossfade
 * [42, 54) between them; cue 0 at 20000 samples (frame 10, centre), cue 1 at
 * 141000 samples (frame 70, hard left, 100 ms). */
static void build(int channels)
{
    memset(&sb, 0, sizeof sb);
    memset(&tl, 0, sizeof tl);
    memset(shots, 0, sizeof shots);
    memset(cues, 0, sizeof cues);
    shots[0].id = "intro";
    shots[1].id = "otter-2";
    cues[0].id = "ding";
    cues[0].pan = 0.0;
    cues[0].duration = 0.5;
    cues[1].id = "thud";
    cues[1].pan = -1.0;
    cues[1].duration = 0.1;
    sb.shots = shots;
    sb.n_shots = 2;
    sb.cues = cues;
    sb.n_cues = 2;
    sb.output = (vkr_output_cfg){W, H, FPS, 1, RATE, channels, 20};

    tl_shots[0] = (vkr_tl_shot){.shot = 0, .frame_begin = 0, .frame_end = 48, .sample_begin = 0,
                                .sample_end = 96000};
    tl_shots[1] = (vkr_tl_shot){.shot = 1, .frame_begin = 48, .frame_end = 120,
                                .sample_begin = 96000, .sample_end = 240000,
                                .xfade_frame_begin = 42, .xfade_frame_end = 54,
                                .xfade_sample_begin = 84000, .xfade_sample_end = 108000};
    tl_shots[0].xfade_frame_begin = tl_shots[0].xfade_frame_end = 0;
    tl_cues[0] = (vkr_tl_cue){.cue = 0, .sample_begin = 20000, .sample_end = 44000, .frame = 10};
    tl_cues[1] = (vkr_tl_cue){.cue = 1, .sample_begin = 141000, .sample_end = 145800, .frame = 70};
    tl.fps_num = FPS;
    tl.fps_den = 1;
    tl.sample_rate = RATE;
    tl.n_frames = 120;
    tl.n_samples = 240000;
    tl.duration_us = 5000000;
    tl.shots = tl_shots;
    tl.n_shots = 2;
    tl.cues = tl_cues;
    tl.n_cues = 2;
}

/* Arrays decay through a call so CHECK_EQ_STR's NULL tests stay meaningful. */
static const char *str(const char *s) { return s; }

static double luma(const uint8_t *p) { return (0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2]) / 255.0; }

static void test_font(void)
{
    const char *need = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz:._-/ ";
    for (const char *p = need; *p; p++)
        CHECK(vkr_font_has_glyph(*p), "no glyph for '%c'", *p);
    CHECK(!vkr_font_has_glyph('@'), "'@' should not have a glyph");

    /* Legibility: every pair of glyphs (except space) differs in >= 2 font pixels,
     * and digits, which carry the timing information, in >= 3. */
    for (const char *a = need; *a; a++) {
        for (const char *b = a + 1; *b; b++) {
            int diff = 0;
            for (int y = 0; y < VKR_FONT_GLYPH_H; y++)
                for (int x = 0; x < VKR_FONT_GLYPH_W; x++)
                    diff += vkr_font_pixel(*a, x, y) != vkr_font_pixel(*b, x, y);
            int digits = *a >= '0' && *a <= '9' && *b >= '0' && *b <= '9';
            CHECK(diff >= (digits ? 3 : 2), "glyphs '%c' and '%c' differ in only %d pixels", *a, *b,
                  diff);
        }
    }

    /* Drawing at scale 3: every font pixel becomes a 3x3 block of the ink colour. */
    enum { CW = 64, CH = 40 };
    static uint8_t img[CW * CH * 3];
    memset(img, 0, sizeof img);
    const uint8_t ink[3] = {10, 200, 30};
    vkr_font_draw(img, CW * 3, CW, CH, 2, 4, "42", 3, ink);
    CHECK_EQ_INT(vkr_font_text_width("42", 3), (2 * VKR_FONT_ADVANCE - 1) * 3);
    int bad = 0;
    for (int y = 0; y < CH; y++) {
        for (int x = 0; x < CW; x++) {
            int fx = x - 2, fy = y - 4;
            int on = 0;
            if (fx >= 0 && fy >= 0) {
                int ci = fx / (3 * VKR_FONT_ADVANCE), gx = fx % (3 * VKR_FONT_ADVANCE) / 3;
                if (ci < 2)
                    on = vkr_font_pixel("42"[ci], gx, fy / 3);
            }
            const uint8_t *p = img + (y * CW + x) * 3;
            int is_ink = p[0] == 10 && p[1] == 200 && p[2] == 30;
            int is_bg = p[0] == 0 && p[1] == 0 && p[2] == 0;
            if (on ? !is_ink : !is_bg)
                bad++;
        }
    }
    CHECK(bad == 0, "drawn \"42\" at scale 3: %d pixels differ from the glyph bitmap", bad);

    /* Clipping: drawing partly outside must not write out of bounds (ASan) and
     * must still draw the visible part. */
    memset(img, 0, sizeof img);
    vkr_font_draw(img, CW * 3, CW, CH, -7, CH - 5, "8888888888888", 4, ink);
    int any = 0;
    for (size_t i = 0; i < sizeof img; i += 3)
        any |= img[i + 1] == 200;
    CHECK(any, "clipped text drew nothing");
}

static void test_timecode(void)
{
    char s[32];
    vkr_timecode_format(0, 24, 1, s);
    CHECK_EQ_STR(str(s), "00:00:00:00");
    vkr_timecode_format(1234, 24, 1, s); /* 51 s + 10 frames */
    CHECK_EQ_STR(str(s), "00:00:51:10");
    vkr_timecode_format(24 * 3600 + 24 * 61 + 5, 24, 1, s);
    CHECK_EQ_STR(str(s), "01:01:01:05");
    CHECK_EQ_INT(vkr_timecode_fps(30000, 1001), 30);
    CHECK_EQ_INT(vkr_timecode_fps(24000, 1001), 24);
    vkr_timecode_format(1799, 30000, 1001, s); /* nominal 30 fps: frame field 0..29 */
    CHECK_EQ_STR(str(s), "00:00:59:29");
    vkr_timecode_format(1800, 30000, 1001, s);
    CHECK_EQ_STR(str(s), "00:01:00:00");
    vkr_timecode_format(59, 60, 1, s);
    CHECK_EQ_STR(str(s), "00:00:00:59");
}

/* Reads `n` characters at (x, y) drawn at `scale` in colour `ink` by matching each
 * cell against every glyph: a small OCR that proves the text is legible as drawn. */
static void ocr(const uint8_t *img, int x, int y, int scale, const uint8_t ink[3], int n, char *out)
{
    const char *alphabet =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz:._-/ ";
    for (int ci = 0; ci < n; ci++) {
        int cell[VKR_FONT_GLYPH_H][VKR_FONT_GLYPH_W];
        for (int fy = 0; fy < VKR_FONT_GLYPH_H; fy++) {
            for (int fx = 0; fx < VKR_FONT_GLYPH_W; fx++) {
                int px = x + (ci * VKR_FONT_ADVANCE + fx) * scale + scale / 2;
                int py = y + fy * scale + scale / 2;
                const uint8_t *p = img + ((size_t)py * W + (size_t)px) * 3;
                cell[fy][fx] = p[0] == ink[0] && p[1] == ink[1] && p[2] == ink[2];
            }
        }
        char found = '?';
        int matches = 0;
        for (const char *a = alphabet; *a; a++) {
            int same = 1;
            for (int fy = 0; fy < VKR_FONT_GLYPH_H && same; fy++)
                for (int fx = 0; fx < VKR_FONT_GLYPH_W && same; fx++)
                    same = cell[fy][fx] == vkr_font_pixel(*a, fx, fy);
            if (same) {
                found = *a;
                matches++;
            }
        }
        out[ci] = matches == 1 ? found : '?';
    }
    out[n] = 0;
}

static void test_frames(void)
{
    build(2);
    vkr_testcard tc;
    CHECK_EQ_INT(vkr_testcard_init(&tc, &sb, &tl), 0);
    uint8_t *img = malloc((size_t)W * H * 3);
    const uint8_t white[3] = {255, 255, 255};

    /* Frame 75 of shot "otter-2": read every line back. */
    CHECK_EQ_INT(vkr_testcard_frame(&tc, 75, img, W * 3), 0);
    vkr_testcard_layout l;
    vkr_testcard_layout_for(W, H, "otter-2", &l);
    CHECK(l.scale >= 3, "text scale %d is too small for a %dx%d frame", l.scale, W, H);
    char got[32];
    ocr(img, l.id_x, l.id_y, l.id_scale, white, 7, got);
    CHECK_EQ_STR(str(got), "otter-2");
    ocr(img, l.frame_x, l.frame_y, l.scale, white, 11, got);
    CHECK_EQ_STR(str(got), "frame 75   ");
    ocr(img, l.tc_x, l.tc_y, l.scale, white, 11, got);
    CHECK_EQ_STR(str(got), "00:00:03:03");
    /* Text stays inside the frame. */
    CHECK(l.tc_x >= 0 && l.tc_x + vkr_font_text_width("00:00:03:03", l.scale) <= W,
          "timecode line x %d..%d outside width %d", l.tc_x,
          l.tc_x + vkr_font_text_width("00:00:03:03", l.scale), W);
    CHECK(l.id_y >= 0 && l.tc_y + VKR_FONT_GLYPH_H * l.scale <= H, "text block y %d..%d outside %d",
          l.id_y, l.tc_y + VKR_FONT_GLYPH_H * l.scale, H);

    /* Frame 10 is a flash: white with light grey text that still reads. */
    CHECK_EQ_INT(vkr_testcard_frame(&tc, 10, img, W * 3), 0);
    const uint8_t grey[3] = {176, 176, 176};
    vkr_testcard_layout_for(W, H, "intro", &l);
    ocr(img, l.tc_x, l.tc_y, l.scale, grey, 11, got);
    CHECK_EQ_STR(str(got), "00:00:00:10");

    /* Flash frames exactly at the cue frames and nowhere else. */
    for (int64_t f = 0; f < tl.n_frames; f++) {
        CHECK_EQ_INT(vkr_testcard_frame(&tc, f, img, W * 3), 0);
        double sum = 0;
        size_t bright = 0;
        for (size_t i = 0; i < (size_t)W * H; i++) {
            double y = luma(img + 3 * i);
            sum += y;
            bright += y >= 0.65;
        }
        double mean = sum / (W * H), frac = (double)bright / (W * H);
        int want = f == 10 || f == 70;
        CHECK(vkr_testcard_is_flash(&tl, f) == want, "is_flash(%lld) = %d", (long long)f, !want);
        if (want)
            CHECK(mean > 0.9 && frac > 0.99, "flash frame %lld: mean luma %.3f, bright %.3f",
                  (long long)f, mean, frac);
        else
            CHECK(mean < 0.6 && frac < 0.3, "frame %lld: mean luma %.3f, bright %.3f (looks like a flash)",
                  (long long)f, mean, frac);
    }
    CHECK(vkr_testcard_frame(&tc, 120, img, W * 3) != 0, "frame past the end accepted");
    free(img);
}

/* A long shot id shrinks to fit; 30000/1001 fps shows the nominal-30 timecode;
 * shot lookup at the boundaries. */
static void test_layout_and_rates(void)
{
    build(2);
    shots[1].id = "a-very-long-shot-identifier-for-the-plane";
    tl.fps_num = 30000;
    tl.fps_den = 1001;
    vkr_testcard tc;
    CHECK_EQ_INT(vkr_testcard_init(&tc, &sb, &tl), 0);
    vkr_testcard_layout l;
    vkr_testcard_layout_for(W, H, shots[1].id, &l);
    int idw = vkr_font_text_width(shots[1].id, l.id_scale);
    CHECK(l.id_scale < l.scale, "long id not shrunk: id scale %d, scale %d", l.id_scale, l.scale);
    CHECK(l.id_x >= 0 && l.id_x + idw <= W, "long id spans x %d..%d of %d", l.id_x, l.id_x + idw, W);

    uint8_t *img = malloc((size_t)W * H * 3);
    const uint8_t white[3] = {255, 255, 255};
    char got[64];
    CHECK_EQ_INT(vkr_testcard_frame(&tc, 119, img, W * 3), 0);
    ocr(img, l.id_x, l.id_y, l.id_scale, white, (int)strlen(shots[1].id), got);
    CHECK_EQ_STR(str(got), shots[1].id);
    ocr(img, l.tc_x, l.tc_y, l.scale, white, 11, got);
    CHECK_EQ_STR(str(got), "00:00:03:29");
    free(img);

    CHECK_EQ_INT(vkr_testcard_shot_at(&tl, 0), 0);
    CHECK_EQ_INT(vkr_testcard_shot_at(&tl, 47), 0);
    CHECK_EQ_INT(vkr_testcard_shot_at(&tl, 48), 1);
    CHECK_EQ_INT(vkr_testcard_shot_at(&tl, 119), 1);
    CHECK_EQ_INT(vkr_testcard_shot_at(&tl, 120), -1);
    CHECK_EQ_INT(vkr_testcard_shot_at(&tl, -1), -1);
}

static void test_colors(void)
{
    build(2);
    for (int i = 0; i < VKR_TESTCARD_N_COLORS; i++) {
        uint8_t a[3];
        vkr_testcard_shot_color(i, a);
        double y = luma(a);
        CHECK(y > 0.40 && y < 0.50, "colour %d luma %.3f not mid-grey", i, y);
        for (int j = i + 1; j < VKR_TESTCARD_N_COLORS; j++) {
            uint8_t b[3];
            vkr_testcard_shot_color(j, b);
            double d = sqrt(pow(a[0] - b[0], 2) + pow(a[1] - b[1], 2) + pow(a[2] - b[2], 2));
            CHECK(d >= 60, "colours %d and %d only %.1f apart", i, j, d);
            if (j == i + 1)
                CHECK(d >= 120, "neighbouring colours %d and %d only %.1f apart", i, j, d);
        }
    }
    /* Cycling never puts two equal colours on neighbouring shots. */
    uint8_t a[3], b[3];
    vkr_testcard_shot_color(VKR_TESTCARD_N_COLORS - 1, a);
    vkr_testcard_shot_color(VKR_TESTCARD_N_COLORS, b);
    CHECK(memcmp(a, b, 3) != 0, "palette wrap repeats a colour on neighbouring shots");

    /* Crossfade [42, 54): pure colours outside, strictly moving from shot 0's to
     * shot 1's colour inside, halfway at the boundary. */
    uint8_t c0[3], c1[3], bg[3];
    vkr_testcard_shot_color(0, c0);
    vkr_testcard_shot_color(1, c1);
    vkr_testcard_background(&tl, 41, bg);
    CHECK(memcmp(bg, c0, 3) == 0, "frame 41 (before crossfade) is not shot 0's colour");
    vkr_testcard_background(&tl, 54, bg);
    CHECK(memcmp(bg, c1, 3) == 0, "frame 54 (after crossfade) is not shot 1's colour");
    double prev = -1;
    for (int f = 42; f < 54; f++) {
        vkr_testcard_background(&tl, f, bg);
        /* Recover the blend factor from the channel with the largest difference. */
        int k = 0;
        for (int c = 1; c < 3; c++)
            if (abs(c1[c] - c0[c]) > abs(c1[k] - c0[k]))
                k = c;
        double a = (double)(bg[k] - c0[k]) / (double)(c1[k] - c0[k]);
        double want = (f - 42 + 0.5) / 12.0;
        CHECK_NEAR(a, want, 0.01);
        CHECK(a > prev, "crossfade not increasing at frame %d", f);
        prev = a;
        for (int c = 0; c < 3; c++) {
            int lo = c0[c] < c1[c] ? c0[c] : c1[c], hi = c0[c] < c1[c] ? c1[c] : c0[c];
            CHECK(bg[c] >= lo && bg[c] <= hi, "frame %d channel %d = %d outside [%d, %d]", f, c,
                  bg[c], lo, hi);
        }
    }
}

static void test_audio(void)
{
    const double amp = pow(10.0, -12.0 / 20.0);
    build(2);
    vkr_testcard tc;
    CHECK_EQ_INT(vkr_testcard_init(&tc, &sb, &tl), 0);
    size_t n = (size_t)tl.n_samples;
    float *all = malloc(n * 2 * sizeof(float));
    float *chunked = malloc(n * 2 * sizeof(float));
    CHECK_EQ_INT(vkr_testcard_audio(&tc, 0, (int)n, all), 0);
    /* Chunk boundaries do not change the signal (render pulls per frame). */
    for (size_t s = 0; s < n; s += 997) {
        int m = (int)(n - s < 997 ? n - s : 997);
        vkr_testcard_audio(&tc, (int64_t)s, m, chunked + s * 2);
    }
    CHECK(memcmp(all, chunked, n * 2 * sizeof(float)) == 0, "chunked audio differs from whole");

    float gl, gr;
    vkr_testcard_pan_gains(0.0, &gl, &gr);
    CHECK_NEAR(gl, sqrt(0.5), 1e-6);
    CHECK_NEAR(gr, sqrt(0.5), 1e-6);
    for (double p = -1.0; p <= 1.0; p += 0.25) {
        vkr_testcard_pan_gains(p, &gl, &gr);
        CHECK_NEAR(gl * gl + gr * gr, 1.0, 1e-6);
    }
    vkr_testcard_pan_gains(-1.0, &gl, &gr);
    CHECK(gl == 1.0f && fabsf(gr) < 1e-7f, "pan -1 gains %g %g", gl, gr);

    /* Cue 0, centre: nothing before sample 20000, the crest on it, 200 ms long. */
    const int64_t b0 = 20000, len0 = 9600;
    CHECK_EQ_INT(vkr_testcard_beep_length(b0, 44000, RATE), len0);
    int first_nonzero = -1, last_nonzero = -1;
    for (size_t i = 0; i < n; i++) {
        if ((int64_t)i >= 140000)
            break;
        if (all[2 * i] != 0.0f || all[2 * i + 1] != 0.0f) {
            if (first_nonzero < 0)
                first_nonzero = (int)i;
            last_nonzero = (int)i;
        }
    }
    CHECK_EQ_INT(first_nonzero, b0);
    CHECK(last_nonzero < b0 + len0 && last_nonzero > b0 + len0 - 48, "beep 0 ends at %d, expected ~%lld",
          last_nonzero, (long long)(b0 + len0));
    CHECK_NEAR(all[2 * b0], amp * sqrt(0.5), 1e-6);
    CHECK_NEAR(all[2 * b0 + 1], amp * sqrt(0.5), 1e-6);
    CHECK_NEAR(all[2 * (b0 + 24)], -amp * sqrt(0.5), 1e-6);  /* half a 1 kHz period: trough */
    CHECK_NEAR(all[2 * (b0 + 12)], 0.0, 1e-6);               /* quarter period: zero crossing */
    CHECK_NEAR(all[2 * (b0 + 48 * 50)], amp * sqrt(0.5), 1e-5); /* 50 whole periods: crest */
    /* Fade-out only: full level up to the last 5 ms. */
    CHECK_NEAR(all[2 * (b0 + len0 - 240 - 48)], amp * sqrt(0.5), 1e-5);
    CHECK(fabsf(all[2 * (b0 + len0 - 1)]) < 1e-3f, "beep 0 last sample %g not faded",
          all[2 * (b0 + len0 - 1)]);
    double peak = 0;
    for (int64_t i = b0; i < b0 + len0; i++)
        peak = fmax(peak, fabs(all[2 * i]));
    CHECK_NEAR(20 * log10(peak / sqrt(0.5)), -12.0, 0.01);

    /* Cue 1, hard left, 100 ms: the cue is shorter than 200 ms. */
    const int64_t b1 = 141000, len1 = 4800;
    CHECK_EQ_INT(vkr_testcard_beep_length(b1, 145800, RATE), len1);
    CHECK(all[2 * (b1 - 1)] == 0.0f, "sample before beep 1 = %g", all[2 * (b1 - 1)]);
    CHECK_NEAR(all[2 * b1], amp, 1e-6);
    int right_nonzero = 0, left_after = 0;
    for (int64_t i = b1; i < (int64_t)n; i++) {
        right_nonzero += all[2 * i + 1] != 0.0f;
        left_after += i >= b1 + len1 && all[2 * i] != 0.0f;
    }
    CHECK_EQ_INT(right_nonzero, 0);
    CHECK_EQ_INT(left_after, 0);

    /* Mono: no pan, full -12 dBFS crest on the onset sample. */
    build(1);
    CHECK_EQ_INT(vkr_testcard_init(&tc, &sb, &tl), 0);
    float mono[4];
    CHECK_EQ_INT(vkr_testcard_audio(&tc, b0 - 2, 4, mono), 0);
    CHECK(mono[0] == 0.0f && mono[1] == 0.0f, "mono: samples before onset %g %g", mono[0], mono[1]);
    CHECK_NEAR(mono[2], amp, 1e-6);
    CHECK_NEAR(mono[3], amp * cos(2 * M_PI * 1000.0 / RATE), 1e-6);
    /* Past the end of the clip is silence. */
    CHECK_EQ_INT(vkr_testcard_audio(&tc, tl.n_samples, 4, mono), 0);
    CHECK(mono[0] == 0.0f && mono[3] == 0.0f, "audio past the end is not silent");
    free(all);
    free(chunked);
}

int main(void)
{
    test_font();
    test_timecode();
    test_frames();
    test_layout_and_rates();
    test_colors();
    test_audio();
    return check_summary("test_testcard");
}
