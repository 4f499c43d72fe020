#include "stft.h"

#include "common/status.h"

#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Process-wide plan cache: one r2c and one c2r plan per FFT size, created on
 * first use with FFTW_ESTIMATE and kept until exit. Plans are made for
 * out-of-place transforms on fftwf_malloc'd arrays and always executed with the
 * new-array functions on fftwf_malloc'd arrays, so alignment matches. */
#define PLAN_CACHE_SIZE 16

typedef struct {
    int n;
    fftwf_plan r2c, c2r;
} plan_entry;

static pthread_mutex_t plan_lock = PTHREAD_MUTEX_INITIALIZER;
static plan_entry plan_cache[PLAN_CACHE_SIZE];
static int plan_count;

static int get_plans(int n, fftwf_plan *r2c, fftwf_plan *c2r)
{
    int rc = VKR_OK;
    float *re = NULL;
    fftwf_complex *cx = NULL;

    pthread_mutex_lock(&plan_lock);
    for (int i = 0; i < plan_count; i++) {
        if (plan_cache[i].n == n) {
            *r2c = plan_cache[i].r2c;
            *c2r = plan_cache[i].c2r;
            goto done;
        }
    }
    if (plan_count == PLAN_CACHE_SIZE) {
        rc = vkr_fail(VKR_E_INTERNAL, "stft: more than %d FFT sizes in use", PLAN_CACHE_SIZE);
        goto done;
    }
    re = fftwf_malloc(sizeof(float) * (size_t)n);
    cx = fftwf_malloc(sizeof(fftwf_complex) * (size_t)(n / 2 + 1));
    if (!re || !cx) {
        rc = vkr_fail(VKR_E_INTERNAL, "stft: out of memory planning a %d-point FFT", n);
        goto done;
    }
    fftwf_plan f = fftwf_plan_dft_r2c_1d(n, re, cx, FFTW_ESTIMATE);
    fftwf_plan b = fftwf_plan_dft_c2r_1d(n, cx, re, FFTW_ESTIMATE);
    if (!f || !b) {
        if (f)
            fftwf_destroy_plan(f);
        if (b)
            fftwf_destroy_plan(b);
        rc = vkr_fail(VKR_E_INTERNAL, "stft: FFTW could not plan a %d-point FFT", n);
        goto done;
    }
    plan_cache[plan_count].n = n;
    plan_cache[plan_count].r2c = f;
    plan_cache[plan_count].c2r = b;
    plan_count++;
    *r2c = f;
    *c2r = b;
done:
    pthread_mutex_unlock(&plan_lock);
    fftwf_free(re);
    fftwf_free(cx);
    return rc;
}

struct vkr_stft {
    vkr_stft_config cfg;
    int n_bins;
    float *window; /* n_fft */
    fftwf_plan r2c, c2r;
};

int vkr_stft_create(const vkr_stft_config *cfg, vkr_stft **out)
{
    *out = NULL;
    if (cfg->n_fft < 2 || cfg->n_fft % 2 || cfg->n_fft > (1 << 24) || cfg->hop < 1 ||
        cfg->win_length < 1 || cfg->win_length > cfg->n_fft)
        return vkr_fail(VKR_E_USAGE, "stft: bad configuration n_fft=%d hop=%d win_length=%d",
                        cfg->n_fft, cfg->hop, cfg->win_length);
    vkr_stft *s = calloc(1, sizeof(*s));
    if (!s)
        return vkr_fail(VKR_E_INTERNAL, "stft: out of memory");
    s->cfg = *cfg;
    s->n_bins = cfg->n_fft / 2 + 1;
    s->window = calloc((size_t)cfg->n_fft, sizeof(float));
    if (!s->window) {
        free(s);
        return vkr_fail(VKR_E_INTERNAL, "stft: out of memory");
    }
    /* Periodic Hann (scipy get_window('hann', N, fftbins=True) = torch.hann_window(N)):
     * w[m] = 0.5 - 0.5 cos(2 pi m / N), centred in n_fft like torch.stft does. */
    int off = (cfg->n_fft - cfg->win_length) / 2;
    for (int m = 0; m < cfg->win_length; m++)
        s->window[off + m] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * m / cfg->win_length));
    int rc = get_plans(cfg->n_fft, &s->r2c, &s->c2r);
    if (rc) {
        vkr_stft_free(s);
        return rc;
    }
    *out = s;
    return VKR_OK;
}

void vkr_stft_free(vkr_stft *s)
{
    if (!s)
        return;
    free(s->window);
    free(s);
}

const vkr_stft_config *vkr_stft_get_config(const vkr_stft *s) { return &s->cfg; }
int vkr_stft_n_bins(const vkr_stft *s) { return s->n_bins; }
const float *vkr_stft_window(const vkr_stft *s) { return s->window; }

int64_t vkr_stft_n_frames(const vkr_stft *s, int64_t n)
{
    if (n < 0)
        return 0;
    if (s->cfg.center)
        return 1 + n / s->cfg.hop;
    return n < s->cfg.n_fft ? 0 : 1 + (n - s->cfg.n_fft) / s->cfg.hop;
}

/* Index into x[0..n) for position j of the unpadded signal, reflecting at both
 * ends without repeating the edge sample (numpy/torch "reflect"), periodically
 * for signals too short for a single reflection. */
static int64_t reflect_index(int64_t j, int64_t n)
{
    if (j >= 0 && j < n)
        return j;
    if (n == 1)
        return 0;
    int64_t period = 2 * (n - 1);
    j %= period;
    if (j < 0)
        j += period;
    return j < n ? j : period - j;
}

/* Windowed frame t of x into buf[0..n_fft). */
static void load_frame(const vkr_stft *s, const float *x, int64_t n, int64_t t, float *buf)
{
    const int n_fft = s->cfg.n_fft;
    int64_t start = t * s->cfg.hop - (s->cfg.center ? n_fft / 2 : 0);
    if (start >= 0 && start + n_fft <= n) {
        for (int m = 0; m < n_fft; m++)
            buf[m] = s->window[m] * x[start + m];
    } else {
        for (int m = 0; m < n_fft; m++)
            buf[m] = s->window[m] * x[reflect_index(start + m, n)];
    }
}

/* Every frame of x, windowed and transformed: complex (re, im) pairs or magnitudes. */
static int analyse(const vkr_stft *s, const float *x, int64_t n, float *out, int magnitude)
{
    if (n < 1)
        return vkr_fail(VKR_E_DATA, "stft: empty signal");
    const int n_fft = s->cfg.n_fft, nb = s->n_bins;
    int64_t frames = vkr_stft_n_frames(s, n);
    float *buf = fftwf_malloc(sizeof(float) * (size_t)n_fft);
    fftwf_complex *spec = fftwf_malloc(sizeof(fftwf_complex) * (size_t)nb);
    if (!buf || !spec) {
        fftwf_free(buf);
        fftwf_free(spec);
        return vkr_fail(VKR_E_INTERNAL, "stft: out of memory");
    }
    for (int64_t t = 0; t < frames; t++) {
        load_frame(s, x, n, t, buf);
        fftwf_execute_dft_r2c(s->r2c, buf, spec);
        if (magnitude) {
            float *row = out + t * nb;
            for (int k = 0; k < nb; k++)
                row[k] = hypotf(spec[k][0], spec[k][1]);
        } else {
            memcpy(out + t * nb * 2, spec, sizeof(float) * 2 * (size_t)nb);
        }
    }
    fftwf_free(buf);
    fftwf_free(spec);
    return VKR_OK;
}

int vkr_stft_forward(const vkr_stft *s, const float *x, int64_t n, float *spec)
{
    return analyse(s, x, n, spec, 0);
}

int vkr_stft_magnitude(const vkr_stft *s, const float *x, int64_t n, float *mag)
{
    return analyse(s, x, n, mag, 1);
}

int vkr_istft(const vkr_stft *s, const float *spec, int64_t n_frames, float *y, int64_t n_out)
{
    int rc = VKR_OK;
    const int n_fft = s->cfg.n_fft, nb = s->n_bins, hop = s->cfg.hop;
    const int64_t pad = s->cfg.center ? n_fft / 2 : 0;
    if (n_frames < 0 || n_out < 0)
        return vkr_fail(VKR_E_USAGE, "istft: negative length");
    if (n_out == 0)
        return VKR_OK;
    /* Only the padded span [pad, pad + n_out) is kept; accumulate just that. */
    double *acc = calloc((size_t)n_out, sizeof(double));
    double *wsum = calloc((size_t)n_out, sizeof(double));
    float *buf = fftwf_malloc(sizeof(float) * (size_t)n_fft);
    fftwf_complex *cx = fftwf_malloc(sizeof(fftwf_complex) * (size_t)nb);
    if (!acc || !wsum || !buf || !cx) {
        rc = vkr_fail(VKR_E_INTERNAL, "istft: out of memory");
        goto fail;
    }
    const float scale = 1.0f / (float)n_fft; /* FFTW's c2r is unnormalised */
    for (int64_t t = 0; t < n_frames; t++) {
        int64_t start = t * hop - pad; /* output index of the frame's first sample */
        if (start >= n_out || start + n_fft <= 0)
            continue;
        memcpy(cx, spec + t * nb * 2, sizeof(float) * 2 * (size_t)nb);
        cx[0][1] = 0.0f;
        cx[nb - 1][1] = 0.0f;
        fftwf_execute_dft_c2r(s->c2r, cx, buf); /* destroys cx: it is a copy */
        int m0 = start < 0 ? (int)-start : 0;
        int m1 = start + n_fft > n_out ? (int)(n_out - start) : n_fft;
        for (int m = m0; m < m1; m++) {
            double w = s->window[m];
            acc[start + m] += w * (double)(buf[m] * scale);
            wsum[start + m] += w * w;
        }
    }
    for (int64_t i = 0; i < n_out; i++)
        y[i] = wsum[i] > 1e-11 ? (float)(acc[i] / wsum[i]) : 0.0f;
fail:
    free(acc);
    free(wsum);
    fftwf_free(buf);
    fftwf_free(cx);
    return rc;
}
