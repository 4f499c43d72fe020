#include "griffinlim.h"

#include "common/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

vkr_griffinlim_config vkr_griffinlim_config_default(void)
{
    vkr_griffinlim_config c = {.n_iter = 64, .momentum = 0.99f, .nnls_iter = 64, .seed = 0};
    return c;
}

/* In-place Cholesky factorisation A = L L^T of an n x n SPD matrix (lower half used). */
static int cholesky(double *a, int n)
{
    for (int j = 0; j < n; j++) {
        double d = a[j * n + j];
        for (int k = 0; k < j; k++)
            d -= a[j * n + k] * a[j * n + k];
        if (!(d > 0.0))
            return -1;
        d = sqrt(d);
        a[j * n + j] = d;
        for (int i = j + 1; i < n; i++) {
            double v = a[i * n + j];
            for (int k = 0; k < j; k++)
                v -= a[i * n + k] * a[j * n + k];
            a[i * n + j] = v / d;
        }
    }
    return 0;
}

/* Solves L L^T y = b in place. */
static void cholesky_solve(const double *l, int n, double *b)
{
    for (int i = 0; i < n; i++) {
        double v = b[i];
        for (int k = 0; k < i; k++)
            v -= l[i * n + k] * b[k];
        b[i] = v / l[i * n + i];
    }
    for (int i = n - 1; i >= 0; i--) {
        double v = b[i];
        for (int k = i + 1; k < n; k++)
            v -= l[k * n + i] * b[k];
        b[i] = v / l[i * n + i];
    }
}

int vkr_mel_to_magnitude(const vkr_mel *m, const float *logmel, int64_t frames, int nnls_iter,
                         float *mag)
{
    int rc = VKR_OK;
    const vkr_mel_config *c = vkr_mel_get_config(m);
    const int nm = c->n_mels, nb = c->n_fft / 2 + 1;
    const float *fb = vkr_mel_fb(m);
    /* The filterbank is sparse (each band a short run of bins, each bin in at most
     * a few bands): keep it by rows (first/count) and by columns (CSC). */
    int *first = malloc(sizeof(int) * (size_t)nm), *count = malloc(sizeof(int) * (size_t)nm);
    int *col_start = calloc((size_t)nb + 1, sizeof(int)), *col_band = NULL;
    double *col_w = NULL, *rowsum = calloc((size_t)nm, sizeof(double));
    double *gram = calloc((size_t)nm * nm, sizeof(double)), *colsum = calloc((size_t)nb, sizeof(double));
    double *mel = malloc(sizeof(double) * (size_t)nm), *y = malloc(sizeof(double) * (size_t)nm);
    double *s = malloc(sizeof(double) * (size_t)nb), *ratio = malloc(sizeof(double) * (size_t)nm);
    if (!first || !count || !col_start || !rowsum || !gram || !colsum || !mel || !y || !s || !ratio) {
        rc = vkr_fail(VKR_E_INTERNAL, "griffinlim: out of memory");
        goto fail;
    }
    if (frames < 0 || nnls_iter < 0) {
        rc = vkr_fail(VKR_E_USAGE, "griffinlim: negative frame or iteration count");
        goto fail;
    }
    int nnz = 0;
    for (int b = 0; b < nm; b++) {
        vkr_mel_band_support(m, b, &first[b], &count[b]);
        for (int k = first[b]; k < first[b] + count[b]; k++) {
            col_start[k + 1]++;
            nnz++;
            rowsum[b] += fb[(size_t)b * nb + k];
            colsum[k] += fb[(size_t)b * nb + k];
        }
    }
    for (int k = 0; k < nb; k++)
        col_start[k + 1] += col_start[k];
    col_band = malloc(sizeof(int) * (size_t)(nnz ? nnz : 1));
    col_w = malloc(sizeof(double) * (size_t)(nnz ? nnz : 1));
    if (!col_band || !col_w) {
        rc = vkr_fail(VKR_E_INTERNAL, "griffinlim: out of memory");
        goto fail;
    }
    for (int k = 0; k < nb; k++) {
        int p = col_start[k];
        for (int b = 0; b < nm; b++)
            if (k >= first[b] && k < first[b] + count[b]) {
                col_band[p] = b;
                col_w[p++] = fb[(size_t)b * nb + k];
            }
    }
    for (int a = 0; a < nm; a++)
        for (int b = 0; b < nm; b++) {
            double g = 0.0;
            for (int k = first[a]; k < first[a] + count[a]; k++)
                g += (double)fb[(size_t)a * nb + k] * fb[(size_t)b * nb + k];
            gram[a * nm + b] = g;
        }
    if (cholesky(gram, nm)) {
        rc = vkr_fail(VKR_E_DATA, "griffinlim: mel filterbank is rank-deficient (a band covers "
                      "no FFT bin); use fewer mel bands or a larger n_fft");
        goto fail;
    }
    for (int64_t t = 0; t < frames; t++) {
        for (int b = 0; b < nm; b++)
            y[b] = mel[b] = exp((double)logmel[t * nm + b]);
        /* Minimum-norm solution of fb s = mel: s = fb^T (fb fb^T)^-1 mel. */
        cholesky_solve(gram, nm, y);
        for (int k = 0; k < nb; k++) {
            double v = 0.0, flat = 0.0;
            for (int p = col_start[k]; p < col_start[k + 1]; p++) {
                v += col_w[p] * y[col_band[p]];
                flat += col_w[p] * (mel[col_band[p]] / rowsum[col_band[p]]);
            }
            /* Clamp to a small fraction of the flat-spectrum estimate (band level
             * mel_b / sum_k fb_bk, averaged over the bands covering k), not to 0,
             * so the multiplicative updates below can still move the bin. */
            s[k] = colsum[k] > 0.0 ? fmax(v, 1e-3 * flat / colsum[k]) : 0.0;
        }
        /* KL-NMF multiplicative updates with the dictionary fixed:
         * s_k <- s_k * sum_b fb_bk (mel_b / (fb s)_b) / sum_b fb_bk. */
        for (int it = 0; it < nnls_iter; it++) {
            for (int b = 0; b < nm; b++) {
                double p = 0.0;
                for (int k = first[b]; k < first[b] + count[b]; k++)
                    p += fb[(size_t)b * nb + k] * s[k];
                ratio[b] = p > 0.0 ? mel[b] / p : 0.0;
            }
            for (int k = 0; k < nb; k++) {
                if (colsum[k] <= 0.0)
                    continue;
                double num = 0.0;
                for (int p = col_start[k]; p < col_start[k + 1]; p++)
                    num += col_w[p] * ratio[col_band[p]];
                s[k] *= num / colsum[k];
            }
        }
        for (int k = 0; k < nb; k++)
            mag[t * nb + k] = (float)s[k];
    }
fail:
    free(first);
    free(count);
    free(col_start);
    free(col_band);
    free(col_w);
    free(rowsum);
    free(gram);
    free(colsum);
    free(mel);
    free(y);
    free(s);
    free(ratio);
    return rc;
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int vkr_griffinlim(const vkr_stft *s, const float *mag, int64_t frames,
                   const vkr_griffinlim_config *cfg, float *wav, int64_t n_out)
{
    int rc = VKR_OK;
    const int nb = vkr_stft_n_bins(s), hop = vkr_stft_get_config(s)->hop;
    if (frames < 1 || n_out < 0 || cfg->n_iter < 0 || !(cfg->momentum >= 0.0f))
        return vkr_fail(VKR_E_USAGE, "griffinlim: %lld frames, %d iterations, momentum %g",
                        (long long)frames, cfg->n_iter, cfg->momentum);
    /* Inner signal length whose re-analysis has exactly `frames` frames. */
    const int64_t len = frames > 1 ? (frames - 1) * hop : 1;
    if (vkr_stft_n_frames(s, len) != frames)
        return vkr_fail(VKR_E_USAGE, "griffinlim: needs a centred STFT");
    const size_t nspec = (size_t)frames * nb * 2;
    float *angles = malloc(sizeof(float) * nspec), *rebuilt = malloc(sizeof(float) * nspec);
    float *tprev = calloc(nspec, sizeof(float)), *work = malloc(sizeof(float) * nspec);
    float *x = malloc(sizeof(float) * (size_t)len);
    if (!angles || !rebuilt || !tprev || !work || !x) {
        rc = vkr_fail(VKR_E_INTERNAL, "griffinlim: out of memory (%lld frames)", (long long)frames);
        goto fail;
    }
    uint64_t st = cfg->seed;
    for (size_t i = 0; i < nspec / 2; i++) {
        double ph = 2.0 * M_PI * (double)(splitmix64(&st) >> 11) * (1.0 / 9007199254740992.0);
        angles[2 * i] = (float)cos(ph);
        angles[2 * i + 1] = (float)sin(ph);
    }
    const float beta = cfg->momentum / (1.0f + cfg->momentum);
    for (int it = 0; it < cfg->n_iter; it++) {
        for (size_t i = 0; i < nspec / 2; i++) {
            work[2 * i] = mag[i] * angles[2 * i];
            work[2 * i + 1] = mag[i] * angles[2 * i + 1];
        }
        if ((rc = vkr_istft(s, work, frames, x, len)) || (rc = vkr_stft_forward(s, x, len, rebuilt)))
            goto fail;
        /* Accelerated projection: extrapolate away from the previous estimate. */
        for (size_t i = 0; i < nspec / 2; i++) {
            float re = rebuilt[2 * i] - beta * tprev[2 * i];
            float im = rebuilt[2 * i + 1] - beta * tprev[2 * i + 1];
            float norm = hypotf(re, im) + 1e-16f;
            angles[2 * i] = re / norm;
            angles[2 * i + 1] = im / norm;
        }
        float *tmp = tprev;
        tprev = rebuilt;
        rebuilt = tmp;
    }
    for (size_t i = 0; i < nspec / 2; i++) {
        work[2 * i] = mag[i] * angles[2 * i];
        work[2 * i + 1] = mag[i] * angles[2 * i + 1];
    }
    rc = vkr_istft(s, work, frames, wav, n_out);
fail:
    free(angles);
    free(rebuilt);
    free(tprev);
    free(work);
    free(x);
    return rc;
}

int vkr_griffinlim_vocode(const vkr_mel *m, const float *logmel, int64_t frames,
                          const vkr_griffinlim_config *cfg, float *wav, int64_t n_out)
{
    if (frames < 1)
        return vkr_fail(VKR_E_USAGE, "griffinlim: no mel frames");
    const int nb = vkr_stft_n_bins(vkr_mel_stft(m));
    float *mag = malloc(sizeof(float) * (size_t)frames * nb);
    if (!mag)
        return vkr_fail(VKR_E_INTERNAL, "griffinlim: out of memory (%lld frames)", (long long)frames);
    int rc = vkr_mel_to_magnitude(m, logmel, frames, cfg->nnls_iter, mag);
    if (!rc)
        rc = vkr_griffinlim(vkr_mel_stft(m), mag, frames, cfg, wav, n_out);
    free(mag);
    return rc;
}
