/* Log-mel spectrogram exactly as AudioLDM was trained on (its TacotronSTFT), the
 * input domain of AudioLDM's mel VAE and HiFi-GAN vocoder (docs/audio.md):
 *
 *   16 kHz mono; STFT n_fft 1024, hop 160, win 1024 periodic Hann, centre with
 *   reflect padding of 512; magnitude |X| (not power); Slaney mel filterbank
 *   (librosa.filters.mel(sr=16000, n_fft=1024, n_mels=64, fmin=0, fmax=8000,
 *   htk=False, norm='slaney')); mel = fb . |X|; log-mel = ln(max(mel, 1e-5)).
 *   Output (frames, 64) time-major, frames = 1 + n/160.
 *
 * A vkr_mel is immutable after creation and may be shared between threads. */
#ifndef VKR_AUDIO_MEL_H
#define VKR_AUDIO_MEL_H

#include "stft.h"

#include <stdint.h>

typedef struct {
    int sample_rate;  /* Hz */
    int n_fft;        /* FFT size */
    int hop;          /* hop length in samples */
    int win_length;   /* periodic Hann length */
    int n_mels;       /* number of mel bands */
    double fmin, fmax;/* filterbank edges in Hz */
    double log_floor; /* mel values are clamped to this before the log */
} vkr_mel_config;

/* 16000, 1024, 160, 1024, 64, 0, 8000, 1e-5: AudioLDM (all sizes). */
vkr_mel_config vkr_mel_config_audioldm(void);

/* Slaney's auditory-toolbox mel scale (librosa htk=False): linear below 1 kHz
 * (mel = 3 f / 200), logarithmic above (mel = 15 + 27 ln(f / 1000) / ln 6.4). */
double vkr_hz_to_mel_slaney(double hz);
double vkr_mel_to_hz_slaney(double mel);

/* librosa's filterbank, norm='slaney': n_mels + 2 edges equally spaced on the
 * Slaney scale between fmin and fmax; band i is the triangle from edge i over
 * edge i+1 to edge i+2, evaluated at the FFT bin frequencies k sr / n_fft, and
 * scaled by 2 / (edge[i+2] - edge[i]) (unit area in Hz). Computed in double.
 * fb is (n_mels, n_fft/2 + 1) row-major. */
int vkr_mel_filterbank(const vkr_mel_config *cfg, float *fb);

typedef struct vkr_mel vkr_mel;

int vkr_mel_create(const vkr_mel_config *cfg, vkr_mel **out);
void vkr_mel_free(vkr_mel *m);

const vkr_mel_config *vkr_mel_get_config(const vkr_mel *m);
const vkr_stft *vkr_mel_stft(const vkr_mel *m);
/* The filterbank, (n_mels, n_bins) row-major. */
const float *vkr_mel_fb(const vkr_mel *m);
/* Band b is non-zero only on bins [first[b], first[b] + count[b]). */
void vkr_mel_band_support(const vkr_mel *m, int band, int *first, int *count);
int64_t vkr_mel_n_frames(const vkr_mel *m, int64_t n_samples);

/* Log-mel of wav[0..n) (n >= 1) into out (frames, n_mels), time-major. */
int vkr_mel_log_spectrogram(const vkr_mel *m, const float *wav, int64_t n, float *out);

/* mel = fb . mag, then ln(max(mel, floor)): mag (frames, n_bins) -> out (frames, n_mels). */
void vkr_mel_from_magnitude(const vkr_mel *m, const float *mag, int64_t frames, float *out);

#endif
