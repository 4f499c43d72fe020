/* Griffin-Lim vocoder: the `--vocoder griffinlim` fallback that needs no
 * weights. AudioLDM log-mel -> linear magnitude (non-negative least squares
 * through the mel filterbank) -> phase by fast Griffin-Lim (Perraudin, Balazs &
 * Sondergaard 2013, as librosa.griffinlim: momentum 0.99, random initial phase)
 * -> ISTFT with window-sum normalisation. docs/audio.md gives the settings and
 * the measured round-trip error. Deterministic for a given seed. */
#ifndef VKR_AUDIO_GRIFFINLIM_H
#define VKR_AUDIO_GRIFFINLIM_H

#include "mel.h"
#include "stft.h"

#include <stdint.h>

typedef struct {
    int n_iter;      /* Griffin-Lim iterations */
    float momentum;  /* fast Griffin-Lim momentum; 0 = classic Griffin-Lim */
    int nnls_iter;   /* multiplicative refinements of the mel -> magnitude inversion */
    uint64_t seed;   /* initial phases are uniform random from this seed */
} vkr_griffinlim_config;

/* n_iter 64, momentum 0.99, nnls_iter 64, seed 0. */
vkr_griffinlim_config vkr_griffinlim_config_default(void);

/* Linear magnitude (frames, n_bins) whose mel projection matches exp(logmel)
 * (frames, n_mels): the minimum-norm solution (fb^T (fb fb^T)^-1 mel), clamped to
 * be positive, then refined by nnls_iter multiplicative updates that minimise the
 * generalised KL divergence between fb . mag and mel (Lee & Seung 2001), which
 * keeps every bin non-negative and weighs quiet bands by their relative error.
 * Bins no mel band covers (DC and Nyquist for AudioLDM) come out 0. */
int vkr_mel_to_magnitude(const vkr_mel *m, const float *logmel, int64_t frames, int nnls_iter,
                         float *mag);

/* A signal of n_out samples whose STFT magnitude approximates mag (frames, n_bins). */
int vkr_griffinlim(const vkr_stft *s, const float *mag, int64_t frames,
                   const vkr_griffinlim_config *cfg, float *wav, int64_t n_out);

/* log-mel (frames, n_mels) -> n_out samples at the mel's sample rate. AudioLDM's
 * HiFi-GAN gives frames * hop samples; pass that to be interchangeable with it. */
int vkr_griffinlim_vocode(const vkr_mel *m, const float *logmel, int64_t frames,
                          const vkr_griffinlim_config *cfg, float *wav, int64_t n_out);

#endif
