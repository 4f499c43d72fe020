#include "mel.h"

#include "common/status.h"

#include <math.h>
#include <stdlib.h>

/* Slaney scale constants (librosa.core.convert.hz_to_mel, htk=False). */
#define SLANEY_F_SP (200.0 / 3.0)                 /* Hz per mel below the break */
#define SLANEY_MIN_LOG_HZ 1000.0                  /* the break */
#define SLANEY_MIN_LOG_MEL (SLANEY_MIN_LOG_HZ / SLANEY_F_SP) /* = 15 */
#define SLANEY_LOGSTEP (log(6.4) / 27.0)          /* mels per ln(Hz) above the break */

vkr_mel_config vkr_mel_config_audioldm(void)
{
    vkr_mel_config c = {
        .sample_rate = 16000,
        .n_fft = 1024,
        .hop = 160,
        .win_length = 1024,
        .n_mels = 64,
        .fmin = 0.0,
        .fmax = 8000.0,
        .log_floor = 1e-5,
    };
    return c;
}

double vkr_hz_to_mel_slaney(double hz)
{
    if (hz >= SLANEY_MIN_LOG_HZ)
        return SLANEY_MIN_LOG_MEL + log(hz / SLANEY_MIN_LOG_HZ) / SLANEY_LOGSTEP;
    return hz / SLANEY_F_SP;
}

double vkr_mel_to_hz_slaney(double mel)
{
    if (mel >= SLANEY_MIN_LOG_MEL)
        return SLANEY_MIN_LOG_HZ * exp(SLANEY_LOGSTEP * (mel - SLANEY_MIN_LOG_MEL));
    return SLANEY_F_SP * mel;
}

static int check_config(const vkr_mel_config *c)
{
    if (c->sample_rate < 1 || c->n_fft < 2 || c->n_fft % 2 || c->n_mels < 1 ||
        c->n_mels > 4096 || !(c->fmin >= 0.0) || !(c->fmax > c->fmin) || !(c->log_floor > 0.0))
        return vkr_fail(VKR_E_USAGE, "mel: bad configuration (sr %d, n_fft %d, n_mels %d, "
                        "fmin %g, fmax %g, floor %g)", c->sample_rate, c->n_fft, c->n_mels,
                        c->fmin, c->fmax, c->log_floor);
    return VKR_OK;
}

int vkr_mel_filterbank(const vkr_mel_config *c, float *fb)
{
    int rc = check_config(c);
    if (rc)
        return rc;
    const int nb = c->n_fft / 2 + 1, nm = c->n_mels;
    double *edge = malloc(sizeof(double) * (size_t)(nm + 2));
    if (!edge)
        return vkr_fail(VKR_E_INTERNAL, "mel: out of memory");
    double mel_lo = vkr_hz_to_mel_slaney(c->fmin), mel_hi = vkr_hz_to_mel_slaney(c->fmax);
    /* numpy.linspace(lo, hi, n): lo + i * ((hi - lo) / (n - 1)), the last one exactly hi. */
    for (int i = 0; i < nm + 2; i++)
        edge[i] = vkr_mel_to_hz_slaney(i == nm + 1 ? mel_hi : mel_lo + i * ((mel_hi - mel_lo) / (nm + 1)));
    for (int b = 0; b < nm; b++) {
        double lo = edge[b], mid = edge[b + 1], hi = edge[b + 2];
        double enorm = 2.0 / (hi - lo);
        for (int k = 0; k < nb; k++) {
            double f = (double)k * c->sample_rate / c->n_fft;
            double up = (f - lo) / (mid - lo);   /* rising edge */
            double down = (hi - f) / (hi - mid); /* falling edge */
            double w = fmin(up, down);
            fb[(size_t)b * nb + k] = w > 0.0 ? (float)(w * enorm) : 0.0f;
        }
    }
    free(edge);
    return VKR_OK;
}

struct vkr_mel {
    vkr_mel_config cfg;
    vkr_stft *stft;
    int n_bins;
    float *fb;        /* (n_mels, n_bins) */
    int *first, *count;
};

void vkr_mel_free(vkr_mel *m)
{
    if (!m)
        return;
    vkr_stft_free(m->stft);
    free(m->fb);
    free(m->first);
    free(m->count);
    free(m);
}

int vkr_mel_create(const vkr_mel_config *cfg, vkr_mel **out)
{
    int rc;
    *out = NULL;
    if ((rc = check_config(cfg)))
        return rc;
    vkr_mel *m = calloc(1, sizeof(*m));
    if (!m)
        return vkr_fail(VKR_E_INTERNAL, "mel: out of memory");
    m->cfg = *cfg;
    m->n_bins = cfg->n_fft / 2 + 1;
    vkr_stft_config sc = {.n_fft = cfg->n_fft, .hop = cfg->hop, .win_length = cfg->win_length,
                          .center = 1};
    if ((rc = vkr_stft_create(&sc, &m->stft)))
        goto fail;
    m->fb = malloc(sizeof(float) * (size_t)cfg->n_mels * (size_t)m->n_bins);
    m->first = calloc((size_t)cfg->n_mels, sizeof(int));
    m->count = calloc((size_t)cfg->n_mels, sizeof(int));
    if (!m->fb || !m->first || !m->count) {
        rc = vkr_fail(VKR_E_INTERNAL, "mel: out of memory");
        goto fail;
    }
    if ((rc = vkr_mel_filterbank(cfg, m->fb)))
        goto fail;
    /* Each band is a triangle: one contiguous run of non-zero bins. */
    for (int b = 0; b < cfg->n_mels; b++) {
        const float *row = m->fb + (size_t)b * m->n_bins;
        int k0 = 0, k1 = m->n_bins;
        while (k0 < m->n_bins && row[k0] == 0.0f)
            k0++;
        while (k1 > k0 && row[k1 - 1] == 0.0f)
            k1--;
        m->first[b] = k0 < m->n_bins ? k0 : 0;
        m->count[b] = k1 - k0;
    }
    *out = m;
    return VKR_OK;
fail:
    vkr_mel_free(m);
    return rc;
}

const vkr_mel_config *vkr_mel_get_config(const vkr_mel *m) { return &m->cfg; }
const vkr_stft *vkr_mel_stft(const vkr_mel *m) { return m->stft; }
const float *vkr_mel_fb(const vkr_mel *m) { return m->fb; }
int64_t vkr_mel_n_frames(const vkr_mel *m, int64_t n) { return vkr_stft_n_frames(m->stft, n); }

void vkr_mel_band_support(const vkr_mel *m, int band, int *first, int *count)
{
    *first = m->first[band];
    *count = m->count[band];
}

void vkr_mel_from_magnitude(const vkr_mel *m, const float *mag, int64_t frames, float *out)
{
    const int nm = m->cfg.n_mels, nb = m->n_bins;
    for (int64_t t = 0; t < frames; t++) {
        const float *x = mag + t * nb;
        for (int b = 0; b < nm; b++) {
            const float *w = m->fb + (size_t)b * nb;
            double acc = 0.0;
            for (int k = m->first[b]; k < m->first[b] + m->count[b]; k++)
                acc += (double)w[k] * x[k];
            out[t * nm + b] = (float)log(fmax(acc, m->cfg.log_floor));
        }
    }
}

int vkr_mel_log_spectrogram(const vkr_mel *m, const float *wav, int64_t n, float *out)
{
    if (n < 1)
        return vkr_fail(VKR_E_DATA, "mel: empty signal");
    int64_t frames = vkr_mel_n_frames(m, n);
    float *mag = malloc(sizeof(float) * (size_t)frames * (size_t)m->n_bins);
    if (!mag)
        return vkr_fail(VKR_E_INTERNAL, "mel: out of memory (%lld frames)", (long long)frames);
    int rc = vkr_stft_magnitude(m->stft, wav, n, mag);
    if (!rc)
        vkr_mel_from_magnitude(m, mag, frames, out);
    free(mag);
    return rc;
}
