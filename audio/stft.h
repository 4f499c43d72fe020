/* Short-time Fourier transform (FFTW3, single precision) and its inverse.
 *
 * Conventions follow torch.stft / librosa, which is what AudioLDM's TacotronSTFT
 * computes (docs/audio.md):
 *   - periodic Hann window of win_length samples, zero-padded symmetrically to
 *     n_fft when shorter;
 *   - center = 1: the signal is reflect-padded by n_fft/2 on both sides (numpy
 *     "reflect": the edge sample is not repeated), so frame t is centred on
 *     sample t*hop and there are 1 + n/hop frames (integer division);
 *   - center = 0: frame t starts at t*hop; 1 + (n - n_fft)/hop frames (0 if n < n_fft);
 *   - one-sided spectrum: n_fft/2 + 1 bins, X[k] = sum_m w[m] x[m] e^{-2 pi i k m / n_fft}
 *     (no normalisation).
 * Signals shorter than n_fft/2 + 1 samples, where numpy's reflect is undefined
 * for a single reflection, are extended by repeated reflection (period 2(n-1)).
 *
 * A vkr_stft is immutable after creation and may be shared between threads:
 * scratch buffers are allocated per call and the FFTW plans come from a
 * process-wide cache whose creation is serialised (the FFTW planner is not
 * thread-safe; executing a plan on new arrays is). */
#ifndef VKR_AUDIO_STFT_H
#define VKR_AUDIO_STFT_H

#include <stdint.h>

typedef struct {
    int n_fft;      /* FFT size, even, >= 2 */
    int hop;        /* hop length in samples, >= 1 */
    int win_length; /* 1 .. n_fft; periodic Hann */
    int center;     /* 1: reflect padding of n_fft/2 each side */
} vkr_stft_config;

typedef struct vkr_stft vkr_stft;

int vkr_stft_create(const vkr_stft_config *cfg, vkr_stft **out);
void vkr_stft_free(vkr_stft *s);

const vkr_stft_config *vkr_stft_get_config(const vkr_stft *s);
int vkr_stft_n_bins(const vkr_stft *s);                        /* n_fft/2 + 1 */
int64_t vkr_stft_n_frames(const vkr_stft *s, int64_t n_samples);
/* The n_fft-long analysis window (periodic Hann, zero-padded to n_fft). */
const float *vkr_stft_window(const vkr_stft *s);

/* Complex STFT of x[0..n): spec is (frames, n_bins, 2) floats, (re, im) pairs,
 * time-major. n >= 1. */
int vkr_stft_forward(const vkr_stft *s, const float *x, int64_t n, float *spec);

/* |STFT| of x[0..n): mag is (frames, n_bins), time-major. n >= 1. */
int vkr_stft_magnitude(const vkr_stft *s, const float *x, int64_t n, float *mag);

/* Inverse STFT by weighted overlap-add: each frame's inverse FFT is multiplied
 * by the window, overlap-added, and the sum divided by the overlap-added squared
 * window wherever that exceeds 1e-11 (zero elsewhere); this is the least-squares
 * signal for a possibly inconsistent spectrogram (Griffin & Lim 1984) and the
 * exact inverse of vkr_stft_forward where frames overlap. With center = 1 the
 * n_fft/2 padding is removed, so y[i] is at the same time as the forward input's
 * sample i. Writes exactly n_out samples (those no frame covers are 0); the
 * natural length is (frames - 1) * hop. The imaginary parts of the DC and
 * Nyquist bins are ignored. */
int vkr_istft(const vkr_stft *s, const float *spec, int64_t n_frames, float *y, int64_t n_out);

#endif
