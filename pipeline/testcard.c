#include "testcard.h"

#include "common/status.h"
#include "font.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Mid-luma colours (BT.709 Y' = 0.45 of full scale), chosen as 12 mutually
 * far-apart points on that luma plane (every pair >= 86 apart in 8-bit RGB) and
 * ordered so consecutive shots are >= 170 apart. Mid luma keeps white text
 * readable and leaves a wide gap to the white flash frame, so a flash can never
 * be confused with a bright shot, even after compression. */
static const uint8_t palette[VKR_TESTCARD_N_COLORS][3] = {
    {136, 118, 20},  /* olive */
    {40, 131, 172},  /* steel blue */
    {252, 75, 100},  /* coral red */
    {0, 151, 92},    /* jade */
    {164, 86, 252},  /* violet */
    {0, 135, 252},   /* azure */
    {252, 60, 252},  /* magenta */
    {88, 125, 96},   /* grey green */
    {236, 90, 0},    /* orange */
    {128, 105, 172}, /* lavender grey */
    {40, 149, 0},    /* green */
    {212, 80, 176},  /* orchid */
};

static const uint8_t white[3] = {255, 255, 255};
/* Text on a flash frame: light enough that the frame stays "near-white whole
 * frame" for detection, dark enough to read. */
static const uint8_t flash_text[3] = {176, 176, 176};

void vkr_testcard_shot_color(int i, uint8_t rgb[3])
{
    int k = i % VKR_TESTCARD_N_COLORS;
    if (k < 0)
        k += VKR_TESTCARD_N_COLORS;
    memcpy(rgb, palette[k], 3);
}

int vkr_testcard_shot_at(const vkr_timeline *tl, int64_t frame)
{
    int lo = 0, hi = tl->n_shots - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (frame < tl->shots[mid].frame_begin)
            hi = mid - 1;
        else if (frame >= tl->shots[mid].frame_end)
            lo = mid + 1;
        else
            return mid;
    }
    return -1;
}

/* Blend of shot i-1 into shot i at `frame`, if frame lies in shot i's crossfade. */
static bool xfade_color(const vkr_timeline *tl, int i, int64_t frame, uint8_t rgb[3])
{
    if (i <= 0 || i >= tl->n_shots)
        return false;
    const vkr_tl_shot *s = &tl->shots[i];
    if (frame < s->xfade_frame_begin || frame >= s->xfade_frame_end)
        return false;
    /* Sample the blend at the frame's centre so a fade of n frames runs
     * symmetrically from 1/(2n) to 1 - 1/(2n): never a pure copy of either shot. */
    double a = ((double)(frame - s->xfade_frame_begin) + 0.5) /
               (double)(s->xfade_frame_end - s->xfade_frame_begin);
    uint8_t from[3], to[3];
    vkr_testcard_shot_color(i - 1, from);
    vkr_testcard_shot_color(i, to);
    for (int c = 0; c < 3; c++)
        rgb[c] = (uint8_t)lrint(from[c] * (1.0 - a) + to[c] * a);
    return true;
}

void vkr_testcard_background(const vkr_timeline *tl, int64_t frame, uint8_t rgb[3])
{
    int i = vkr_testcard_shot_at(tl, frame);
    if (i < 0)
        i = frame < 0 ? 0 : tl->n_shots - 1;
    /* A crossfade straddles the boundary: its first half belongs to the outgoing
     * shot's frame range, its second half to the incoming one's. */
    if (xfade_color(tl, i, frame, rgb) || xfade_color(tl, i + 1, frame, rgb))
        return;
    vkr_testcard_shot_color(i, rgb);
}

bool vkr_testcard_is_flash(const vkr_timeline *tl, int64_t frame)
{
    /* Cues are sorted by start, so their frames are non-decreasing. */
    int lo = 0, hi = tl->n_cues;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (tl->cues[mid].frame < frame)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < tl->n_cues && tl->cues[lo].frame == frame;
}

int vkr_timecode_fps(int fps_num, int fps_den)
{
    int n = (int)(((int64_t)fps_num + fps_den / 2) / fps_den);
    return n < 1 ? 1 : n;
}

void vkr_timecode_format(int64_t frame, int fps_num, int fps_den, char out[32])
{
    int64_t fps = vkr_timecode_fps(fps_num, fps_den);
    if (frame < 0)
        frame = 0;
    int64_t ff = frame % fps, s = frame / fps;
    /* Hours wrap at 100 (clips are at most minutes long); the bounds also tell the
     * compiler the text always fits. */
    snprintf(out, 32, "%02u:%02u:%02u:%02u", (unsigned)(s / 3600 % 100), (unsigned)(s / 60 % 60),
             (unsigned)(s % 60), (unsigned)(ff % 1000));
}

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }

void vkr_testcard_layout_for(int width, int height, const char *id, vkr_testcard_layout *l)
{
    /* Size the type so an 11-character line ("00:00:12:05", "frame 12345")
     * spans about 85 % of the width, and the three lines fit in 80 % of the height. */
    const int line_chars = 11;
    int by_w = (int)(0.85 * width) / (line_chars * VKR_FONT_ADVANCE - 1);
    int by_h = (int)(0.80 * height) / (3 * VKR_FONT_LINE);
    l->scale = imax(1, imin(by_w, by_h));
    int id_len = (int)strlen(id);
    l->id_scale = l->scale;
    if (id_len > 0) {
        int fit = (int)(0.95 * width) / (id_len * VKR_FONT_ADVANCE - 1 > 0 ? id_len * VKR_FONT_ADVANCE - 1 : 1);
        l->id_scale = imax(1, imin(l->scale, fit));
    }
    int block_h = l->id_scale * VKR_FONT_LINE + 2 * l->scale * VKR_FONT_LINE - 2 * l->scale;
    int y0 = (height - block_h) / 2;
    l->id_x = (width - vkr_font_text_width(id, l->id_scale)) / 2;
    l->id_y = y0;
    int w11 = (line_chars * VKR_FONT_ADVANCE - 1) * l->scale;
    l->frame_x = (width - w11) / 2;
    l->frame_y = y0 + l->id_scale * VKR_FONT_LINE;
    l->tc_x = l->frame_x;
    l->tc_y = l->frame_y + l->scale * VKR_FONT_LINE;
}

int vkr_testcard_init(vkr_testcard *tc, const vkr_storyboard *sb, const vkr_timeline *tl)
{
    memset(tc, 0, sizeof *tc);
    if (tl->fps_num <= 0 || tl->fps_den <= 0 || tl->sample_rate <= 0)
        return vkr_fail(VKR_E_DATA, "test card: timeline has no frame or sample rate");
    if (sb->output.width < 16 || sb->output.height < 16)
        return vkr_fail(VKR_E_DATA, "test card: output size %dx%d is too small", sb->output.width,
                        sb->output.height);
    if (sb->output.channels != 1 && sb->output.channels != 2)
        return vkr_fail(VKR_E_DATA, "test card: %d audio channels (expected 1 or 2)",
                        sb->output.channels);
    if (tl->n_shots < 1)
        return vkr_fail(VKR_E_DATA, "test card: timeline has no shots");
    tc->sb = sb;
    tc->tl = tl;
    tc->width = sb->output.width;
    tc->height = sb->output.height;
    tc->channels = sb->output.channels;
    return VKR_OK;
}

int vkr_testcard_frame(const vkr_testcard *tc, int64_t frame, uint8_t *rgb, int stride)
{
    const vkr_timeline *tl = tc->tl;
    if (frame < 0 || frame >= tl->n_frames)
        return vkr_fail(VKR_E_INTERNAL, "test card: frame %lld outside [0, %lld)",
                        (long long)frame, (long long)tl->n_frames);
    int shot = vkr_testcard_shot_at(tl, frame);
    if (shot < 0)
        return vkr_fail(VKR_E_INTERNAL, "test card: no shot covers frame %lld", (long long)frame);

    bool flash = vkr_testcard_is_flash(tl, frame);
    uint8_t bg[3];
    if (flash)
        memcpy(bg, white, 3);
    else
        vkr_testcard_background(tl, frame, bg);
    /* Fill one row, then copy it: the frame is mostly background. */
    for (int x = 0; x < tc->width; x++)
        memcpy(rgb + 3 * (size_t)x, bg, 3);
    for (int y = 1; y < tc->height; y++)
        memcpy(rgb + (size_t)y * (size_t)stride, rgb, 3 * (size_t)tc->width);

    const char *id = tc->sb->shots[tl->shots[shot].shot].id;
    if (!id)
        id = "";
    char frame_text[32], tc_text[32];
    snprintf(frame_text, sizeof frame_text, "frame %lld", (long long)frame);
    vkr_timecode_format(frame, tl->fps_num, tl->fps_den, tc_text);
    vkr_testcard_layout l;
    vkr_testcard_layout_for(tc->width, tc->height, id, &l);
    const uint8_t *ink = flash ? flash_text : white;
    vkr_font_draw(rgb, stride, tc->width, tc->height, l.id_x, l.id_y, id, l.id_scale, ink);
    vkr_font_draw(rgb, stride, tc->width, tc->height, l.frame_x, l.frame_y, frame_text, l.scale, ink);
    vkr_font_draw(rgb, stride, tc->width, tc->height, l.tc_x, l.tc_y, tc_text, l.scale, ink);
    return VKR_OK;
}

int64_t vkr_testcard_beep_length(int64_t sample_begin, int64_t sample_end, int sample_rate)
{
    int64_t max_len = llround(VKR_TESTCARD_BEEP_MAX_S * sample_rate);
    int64_t len = sample_end - sample_begin;
    if (len < 0)
        len = 0;
    return len < max_len ? len : max_len;
}

void vkr_testcard_pan_gains(double pan, float *left, float *right)
{
    if (pan < -1.0)
        pan = -1.0;
    if (pan > 1.0)
        pan = 1.0;
    double theta = (pan + 1.0) * M_PI / 4.0; /* 0 .. pi/2: constant power cos^2 + sin^2 = 1 */
    *left = (float)cos(theta);
    *right = (float)sin(theta);
}

int vkr_testcard_audio(const vkr_testcard *tc, int64_t first, int n, float *out)
{
    const vkr_timeline *tl = tc->tl;
    const int ch = tc->channels;
    if (n < 0)
        return vkr_fail(VKR_E_INTERNAL, "test card: negative sample count");
    memset(out, 0, sizeof(float) * (size_t)n * (size_t)ch);
    const double amp = pow(10.0, VKR_TESTCARD_BEEP_DBFS / 20.0);
    const double w = 2.0 * M_PI * VKR_TESTCARD_BEEP_HZ / tl->sample_rate;
    const int64_t fade_max = llround(VKR_TESTCARD_FADE_S * tl->sample_rate);
    const int64_t last = first + n; /* exclusive */

    for (int c = 0; c < tl->n_cues; c++) {
        const vkr_tl_cue *cue = &tl->cues[c];
        int64_t b = cue->sample_begin;
        int64_t len = vkr_testcard_beep_length(b, cue->sample_end, tl->sample_rate);
        if (b + len > tl->n_samples)
            len = tl->n_samples - b;
        if (len <= 0 || b + len <= first || b >= last)
            continue;
        int64_t fade = fade_max < len / 2 ? fade_max : len / 2;
        float g[2] = {1.0f, 1.0f};
        if (ch == 2)
            vkr_testcard_pan_gains(tc->sb->cues[cue->cue].pan, &g[0], &g[1]);
        int64_t k0 = b > first ? b : first;
        int64_t k1 = b + len < last ? b + len : last;
        for (int64_t k = k0; k < k1; k++) {
            int64_t t = k - b;
            /* Starts at the crest (cosine phase): the onset sample itself carries the
             * full amplitude, so the beep begins on exactly sample_begin - a step that
             * is unambiguous to the ear, the eye on a waveform, and an onset detector. */
            double env = 1.0;
            if (t >= len - fade)
                env = 0.5 * (1.0 + cos(M_PI * (double)(t - (len - fade) + 1) / (double)fade));
            double s = amp * env * cos(w * (double)t);
            float *o = out + (size_t)(k - first) * (size_t)ch;
            for (int j = 0; j < ch; j++) {
                float v = o[j] + (float)(s * g[j]);
                o[j] = v > 1.0f ? 1.0f : v < -1.0f ? -1.0f : v;
            }
        }
    }
    return VKR_OK;
}
