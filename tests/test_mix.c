/* Mixing primitives: exact placement, gain, the equal-power pan and crossfade
 * laws, and that fades placed back to back are the crossfade. */
#include "audio/mix.h"
#include "common/status.h"
#include "tests/check.h"

#include <stdint.h>
#include <stdlib.h>

static uint32_t lcg = 2024;
static float noise(void) /* nonzero, in [-1, 1) */
{
    lcg = lcg * 1664525u + 1013904223u;
    float v = (float)((double)(lcg >> 8) / 8388608.0 - 1.0);
    return v == 0.0f ? 0.5f : v;
}

static int64_t first_nonzero(const float *bus, int64_t frames, int ch, int c)
{
    for (int64_t i = 0; i < frames; i++)
        if (bus[i * ch + c] != 0.0f)
            return i;
    return -1;
}

static int64_t last_nonzero(const float *bus, int64_t frames, int ch, int c)
{
    for (int64_t i = frames - 1; i >= 0; i--)
        if (bus[i * ch + c] != 0.0f)
            return i;
    return -1;
}

static void test_db(void)
{
    CHECK_NEAR(vkr_db_to_gain(0.0), 1.0, 0.0);
    CHECK_NEAR(vkr_db_to_gain(-6.0), 0.50118723362727224, 1e-15);
    CHECK_NEAR(vkr_db_to_gain(20.0), 10.0, 1e-12);
    CHECK_NEAR(vkr_db_to_gain(-INFINITY), 0.0, 0.0);
    CHECK(vkr_gain_to_db(0.0) == -INFINITY, "gain 0 -> %g dB", vkr_gain_to_db(0.0));
    CHECK_NEAR(vkr_gain_to_db(-0.5), -6.0205999132796239, 1e-12);
    for (double db = -120; db <= 24; db += 0.7)
        CHECK_NEAR(vkr_gain_to_db(vkr_db_to_gain(db)), db, 1e-9);
}

static void test_placement(void)
{
    const int64_t frames = 48000, len = 1000;
    float *clip = malloc(sizeof(float) * len);
    for (int64_t j = 0; j < len; j++)
        clip[j] = noise();
    const int64_t offsets[] = {0, 1, 12345, frames - len, frames - len + 1, frames - 1, frames,
                               -1, -999, -1000, -5000, INT64_MIN / 2, INT64_MAX / 2};
    for (int ch = 1; ch <= 2; ch++) {
        float *bus = calloc(frames * ch, sizeof(float));
        for (size_t k = 0; k < sizeof offsets / sizeof offsets[0]; k++) {
            int64_t off = offsets[k];
            for (int64_t i = 0; i < frames * ch; i++)
                bus[i] = 0.0f;
            vkr_place_opts o = {.gain_db = -6.0, .pan = 0.3};
            CHECK_EQ_INT(vkr_mix_place(bus, frames, ch, clip, len, off, &o), 0);
            int64_t lo = off < 0 ? 0 : off, hi = off + len - 1 < frames - 1 ? off + len - 1 : frames - 1;
            int inside = !(off >= frames || off + len <= 0);
            for (int c = 0; c < ch; c++) {
                int64_t f = first_nonzero(bus, frames, ch, c), l = last_nonzero(bus, frames, ch, c);
                CHECK(f == (inside ? lo : -1) && l == (inside ? hi : -1),
                      "%d-ch bus, offset %lld, channel %d: non-zero frames [%lld, %lld], expected "
                      "[%lld, %lld]", ch, (long long)off, c, (long long)f, (long long)l,
                      (long long)(inside ? lo : -1), (long long)(inside ? hi : -1));
            }
            if (inside) { /* values: clip sample j at bus frame off + j, times gain and pan */
                double l, r;
                vkr_pan_gains(0.3, &l, &r);
                double g = vkr_db_to_gain(-6.0), gl = ch == 2 ? g * l : g;
                int64_t j = lo - off;
                CHECK_NEAR(bus[lo * ch], clip[j] * gl, 1e-6);
                if (ch == 2)
                    CHECK_NEAR(bus[lo * ch + 1], clip[j] * g * r, 1e-6);
            }
        }
        /* Placement adds (a bus is a sum). */
        for (int64_t i = 0; i < frames * ch; i++)
            bus[i] = 0.25f;
        CHECK_EQ_INT(vkr_mix_place(bus, frames, ch, clip, len, 100, NULL), 0);
        double l = 1, r = 1;
        if (ch == 2)
            vkr_pan_gains(0.0, &l, &r);
        CHECK_NEAR(bus[100 * ch], 0.25 + clip[0] * l, 1e-6);
        CHECK_NEAR(bus[99 * ch], 0.25, 0.0);
        free(bus);
    }
    free(clip);
}

static void test_pan_law(void)
{
    double l, r;
    vkr_pan_gains(0.0, &l, &r);
    CHECK_NEAR(l, M_SQRT1_2, 1e-15);
    CHECK_NEAR(r, M_SQRT1_2, 1e-15);
    CHECK_NEAR(vkr_gain_to_db(l), -3.0103, 1e-4);
    vkr_pan_gains(-1.0, &l, &r);
    CHECK(l == 1.0 && r == 0.0, "hard left: %g %g", l, r);
    vkr_pan_gains(1.0, &l, &r);
    CHECK(fabs(l) < 1e-15 && r == 1.0, "hard right: %g %g", l, r);
    vkr_pan_gains(7.0, &l, &r); /* clamped */
    CHECK(fabs(l) < 1e-15 && r == 1.0, "pan 7: %g %g", l, r);
    double prev_l = 2.0;
    for (double p = -1.0; p <= 1.0 + 1e-9; p += 0.05) {
        vkr_pan_gains(p, &l, &r);
        CHECK_NEAR(l * l + r * r, 1.0, 1e-12);
        CHECK(l < prev_l, "left gain not decreasing at pan %g", p);
        prev_l = l;
        double l2, r2;
        vkr_pan_gains(-p, &l2, &r2);
        CHECK_NEAR(l, r2, 1e-12); /* mirror image */
    }
    /* Energy of a placed clip is independent of pan (equal power). */
    const int64_t len = 4800;
    float *clip = malloc(sizeof(float) * len), *bus = malloc(sizeof(float) * len * 2);
    double e_clip = 0;
    for (int64_t j = 0; j < len; j++) {
        clip[j] = noise();
        e_clip += (double)clip[j] * clip[j];
    }
    for (double p = -1.0; p <= 1.0 + 1e-9; p += 0.25) {
        for (int64_t i = 0; i < len * 2; i++)
            bus[i] = 0.0f;
        vkr_place_opts o = {.gain_db = -3.0, .pan = p};
        CHECK_EQ_INT(vkr_mix_place(bus, len, 2, clip, len, 0, &o), 0);
        double e = 0;
        for (int64_t i = 0; i < len * 2; i++)
            e += (double)bus[i] * bus[i];
        CHECK_NEAR(e / e_clip, vkr_db_to_gain(-6.0), 1e-6);
    }
    free(clip);
    free(bus);
}

static void test_crossfade(void)
{
    const int64_t n = 4800;
    double max_dev = 0;
    for (int64_t i = 0; i < n; i++) {
        double go, gi, go2, gi2;
        vkr_xfade_gains(i, n, &go, &gi);
        vkr_xfade_gains(n - 1 - i, n, &go2, &gi2);
        max_dev = fmax(max_dev, fabs(go * go + gi * gi - 1.0));
        CHECK(fabs(gi - go2) < 1e-12, "not mirror images at %lld", (long long)i);
        CHECK(go > 0.0 && go < 1.0 && gi > 0.0 && gi < 1.0, "gain at the rails at %lld", (long long)i);
    }
    CHECK(max_dev < 1e-12, "cos^2 + sin^2 off by %g", max_dev);
    double go, gi;
    vkr_xfade_gains(n / 2, n, &go, &gi); /* just past the middle */
    CHECK(gi > go && fabs(gi - M_SQRT1_2) < 1e-3, "middle gains %g %g", go, gi);
    vkr_xfade_gains(0, 1, &go, &gi); /* a one-sample fade is the midpoint */
    CHECK_NEAR(go, M_SQRT1_2, 1e-15);

    /* Uncorrelated equal-power signals: the crossfade keeps the power. Measured
     * over 8 windows of 12000 frames. */
    const int64_t m = 96000;
    float *a = malloc(sizeof(float) * m * 2), *b = malloc(sizeof(float) * m * 2);
    float *out = malloc(sizeof(float) * m * 2);
    for (int64_t i = 0; i < m * 2; i++) {
        a[i] = noise();
        b[i] = noise();
    }
    CHECK_EQ_INT(vkr_mix_crossfade(a, b, m, 2, out), 0);
    double p_in = 0;
    for (int64_t i = 0; i < m * 2; i++)
        p_in += 0.5 * ((double)a[i] * a[i] + (double)b[i] * b[i]);
    p_in /= m * 2;
    double worst = 0;
    for (int w = 0; w < 8; w++) {
        double p = 0;
        for (int64_t i = w * 12000 * 2; i < (w + 1) * 12000 * 2; i++)
            p += (double)out[i] * out[i];
        p /= 12000 * 2;
        worst = fmax(worst, fabs(vkr_gain_to_db(sqrt(p / p_in))));
    }
    printf("equal-power crossfade of uncorrelated noise: power within %.3f dB of the inputs' in "
           "every 1/8\n", worst);
    CHECK(worst < 0.1, "crossfade power deviates %.3f dB", worst);
    /* In-place (out aliases a). */
    CHECK_EQ_INT(vkr_mix_crossfade(a, b, m, 2, a), 0);
    CHECK(memcmp(a, out, sizeof(float) * m * 2) == 0, "aliased crossfade differs");
    free(a);
    free(b);
    free(out);
}

/* Two clips placed with fade_out / fade_in over their overlap == vkr_mix_crossfade. */
static void test_place_equals_crossfade(void)
{
    const int64_t la = 3000, lb = 2500, n = 700, bus_len = la + lb - n;
    float *a = malloc(sizeof(float) * la), *b = malloc(sizeof(float) * lb);
    for (int64_t i = 0; i < la; i++)
        a[i] = noise();
    for (int64_t i = 0; i < lb; i++)
        b[i] = noise();
    float *bus = calloc(bus_len * 2, sizeof(float));
    vkr_place_opts oa = {.gain_db = 0.0, .pan = -1.0, .fade_out = n};
    vkr_place_opts ob = {.gain_db = 0.0, .pan = -1.0, .fade_in = n};
    CHECK_EQ_INT(vkr_mix_place(bus, bus_len, 2, a, la, 0, &oa), 0);
    CHECK_EQ_INT(vkr_mix_place(bus, bus_len, 2, b, lb, la - n, &ob), 0);
    float *xf = malloc(sizeof(float) * n);
    CHECK_EQ_INT(vkr_mix_crossfade(a + la - n, b, n, 1, xf), 0);
    int bad = 0;
    for (int64_t i = 0; i < bus_len; i++) {
        double want = i < la - n ? a[i] : i < la ? xf[i - (la - n)] : b[i - (la - n)];
        if ((fabs(bus[2 * i] - want) > 1e-6 || bus[2 * i + 1] != 0.0f) && bad++ < 5)
            CHECK(0, "bus frame %lld: (%g, %g), expected (%g, 0)", (long long)i, bus[2 * i],
                  bus[2 * i + 1], want);
    }
    CHECK(bad == 0, "%d frames differ", bad);
    /* Overlapping fades multiply. */
    float one[4] = {1, 1, 1, 1}, mono[4] = {0};
    vkr_place_opts both = {.fade_in = 3, .fade_out = 3};
    CHECK_EQ_INT(vkr_mix_place(mono, 4, 1, one, 4, 0, &both), 0);
    double gi, go, unused;
    vkr_xfade_gains(1, 3, &unused, &gi);
    vkr_xfade_gains(0, 3, &go, &unused);
    CHECK_NEAR(mono[1], gi * go, 1e-7);
    free(a);
    free(b);
    free(bus);
    free(xf);
}

static void test_bad_args(void)
{
    float bus[8] = {0}, clip[4] = {1, 1, 1, 1};
    vkr_place_opts o = {.fade_in = 5};
    CHECK_EQ_INT(vkr_mix_place(bus, 4, 2, clip, 4, 0, &o), VKR_E_USAGE);
    CHECK_EQ_INT(vkr_mix_place(bus, 4, 3, clip, 4, 0, NULL), VKR_E_USAGE);
    o = (vkr_place_opts){.pan = NAN};
    CHECK_EQ_INT(vkr_mix_place(bus, 4, 2, clip, 4, 0, &o), VKR_E_USAGE);
    CHECK_EQ_INT(vkr_mix_crossfade(clip, clip, -1, 1, bus), VKR_E_USAGE);
}

int main(void)
{
    test_db();
    test_placement();
    test_pan_law();
    test_crossfade();
    test_place_equals_crossfade();
    test_bad_args();
    return check_summary("test_mix");
}
