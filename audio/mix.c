#include "mix.h"

#include "common/status.h"

#include <math.h>

double vkr_db_to_gain(double db) { return db == -INFINITY ? 0.0 : pow(10.0, db / 20.0); }

double vkr_gain_to_db(double gain)
{
    gain = fabs(gain);
    return gain > 0.0 ? 20.0 * log10(gain) : -INFINITY;
}

void vkr_pan_gains(double pan, double *left, double *right)
{
    if (!(pan >= -1.0)) /* also maps NaN to hard left rather than propagating it */
        pan = -1.0;
    if (pan > 1.0)
        pan = 1.0;
    double theta = (pan + 1.0) * M_PI / 4.0;
    *left = cos(theta);
    *right = sin(theta);
}

void vkr_xfade_gains(int64_t i, int64_t n, double *g_out, double *g_in)
{
    /* Midpoint sampling keeps the two curves exact mirror images and never
     * gives a sample exactly 0 or 1 inside the fade. */
    double phi = ((double)i + 0.5) / (double)n * (M_PI / 2.0);
    *g_out = cos(phi);
    *g_in = sin(phi);
}

int vkr_mix_place(float *bus, int64_t bus_frames, int bus_channels, const float *clip,
                  int64_t clip_len, int64_t offset, const vkr_place_opts *opts)
{
    static const vkr_place_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    if (bus_channels < 1 || bus_channels > 2 || bus_frames < 0 || clip_len < 0 ||
        opts->fade_in < 0 || opts->fade_out < 0 || opts->fade_in > clip_len ||
        opts->fade_out > clip_len || isnan(opts->gain_db) || isnan(opts->pan) ||
        opts->gain_db > 200.0)
        return vkr_fail(VKR_E_USAGE, "mix: bad placement (%d-channel bus of %lld frames, clip of "
                        "%lld, fades %lld/%lld, gain %g dB, pan %g)", bus_channels,
                        (long long)bus_frames, (long long)clip_len, (long long)opts->fade_in,
                        (long long)opts->fade_out, opts->gain_db, opts->pan);
    double g = vkr_db_to_gain(opts->gain_db), gl = g, gr = g;
    if (bus_channels == 2) {
        double l, r;
        vkr_pan_gains(opts->pan, &l, &r);
        gl *= l;
        gr *= r;
    }
    /* Clip range that lands inside the bus, without overflow for huge offsets. */
    if (offset >= bus_frames || (offset < 0 && offset <= -clip_len))
        return VKR_OK;
    int64_t j0 = offset < 0 ? -offset : 0;
    int64_t j1 = clip_len;
    if (offset > 0 && clip_len > bus_frames - offset)
        j1 = bus_frames - offset;
    if (offset < 0 && j1 - j0 > bus_frames)
        j1 = j0 + bus_frames;
    const int64_t out_start = clip_len - opts->fade_out;
    for (int64_t j = j0; j < j1; j++) {
        double f = 1.0, unused;
        if (j < opts->fade_in) {
            double gin;
            vkr_xfade_gains(j, opts->fade_in, &unused, &gin);
            f *= gin;
        }
        if (j >= out_start) {
            double gout;
            vkr_xfade_gains(j - out_start, opts->fade_out, &gout, &unused);
            f *= gout;
        }
        float *dst = bus + (offset + j) * bus_channels;
        double v = clip[j] * f;
        if (bus_channels == 2) {
            dst[0] += (float)(v * gl);
            dst[1] += (float)(v * gr);
        } else {
            dst[0] += (float)(v * gl);
        }
    }
    return VKR_OK;
}

int vkr_mix_crossfade(const float *a, const float *b, int64_t n, int channels, float *out)
{
    if (n < 0 || channels < 1)
        return vkr_fail(VKR_E_USAGE, "mix: crossfade of %lld frames x %d channels", (long long)n,
                        channels);
    for (int64_t i = 0; i < n; i++) {
        double go, gi;
        vkr_xfade_gains(i, n, &go, &gi);
        for (int c = 0; c < channels; c++) {
            int64_t k = i * channels + c;
            out[k] = (float)(a[k] * go + b[k] * gi);
        }
    }
    return VKR_OK;
}
