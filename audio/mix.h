/* Mixing primitives for the sound track: dB helpers, an equal-power pan law, an
 * equal-power crossfade, and placing a mono clip into a bus at an exact sample
 * offset. All laws are in docs/audio.md:
 *
 *   pan p in [-1, 1]:  theta = (p + 1) pi / 4,  L = cos theta,  R = sin theta
 *     (centre: both 1/sqrt 2 = -3.01 dB; L^2 + R^2 = 1 for every p);
 *   crossfade over n samples, sample i in [0, n):  phi_i = (i + 1/2) / n * pi / 2,
 *     outgoing gain cos phi_i, incoming gain sin phi_i (cos^2 + sin^2 = 1 at every
 *     sample; the two gain curves are mirror images: g_in[i] = g_out[n-1-i]).
 *
 * Buses are interleaved float, 1 (mono) or 2 (stereo) channels; clips are mono. */
#ifndef VKR_AUDIO_MIX_H
#define VKR_AUDIO_MIX_H

#include <stdint.h>

/* 10^(db/20); -INFINITY -> 0. */
double vkr_db_to_gain(double db);
/* 20 log10(|gain|); 0 -> -INFINITY. */
double vkr_gain_to_db(double gain);

/* Equal-power pan gains; pan is clamped to [-1, 1]. */
void vkr_pan_gains(double pan, double *left, double *right);

/* Equal-power crossfade gains at sample i of an n-sample fade (0 <= i < n). */
void vkr_xfade_gains(int64_t i, int64_t n, double *g_out, double *g_in);

typedef struct {
    double gain_db;   /* applied to the whole clip */
    double pan;       /* -1 (left) .. 1 (right); ignored on a mono bus (no -3 dB there) */
    int64_t fade_in;  /* the first fade_in samples rise with the crossfade's incoming (sin) law */
    int64_t fade_out; /* the last fade_out samples fall with its outgoing (cos) law */
} vkr_place_opts;

/* Adds clip[0..clip_len) into bus (bus_frames x bus_channels) so that clip
 * sample j lands on bus frame offset + j. Parts before frame 0 or from
 * bus_frames on are dropped (offset may be negative or past the end). A clip
 * placed with fade_out = n and a second one starting n samples before the
 * first one's end with fade_in = n mix exactly as vkr_mix_crossfade. If the fades
 * overlap (fade_in + fade_out > clip_len) their gains multiply. opts NULL: 0 dB,
 * centre, no fades. */
int vkr_mix_place(float *bus, int64_t bus_frames, int bus_channels, const float *clip,
                  int64_t clip_len, int64_t offset, const vkr_place_opts *opts);

/* out[i] = a[i] cos phi_i + b[i] sin phi_i for n frames of `channels`
 * interleaved channels (out may alias a or b). */
int vkr_mix_crossfade(const float *a, const float *b, int64_t n, int channels, float *out);

#endif
