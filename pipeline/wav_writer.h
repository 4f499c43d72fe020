/* WAV writer (libsndfile): float32 or PCM24, with INFO and bext metadata,
 * written under a temporary name and renamed into place. */
#ifndef VKR_WAV_WRITER_H
#define VKR_WAV_WRITER_H

#include <stdint.h>

typedef enum { VKR_WAV_F32, VKR_WAV_S24 } vkr_wav_format;

typedef struct {
    const char *title;       /* INFO INAM; NULL: none */
    const char *comment;     /* INFO ICMT (e.g. prompt, seed, model) */
    const char *software;    /* INFO ISFT; NULL: "vkreel <version>" */
    const char *artist;      /* INFO IART */
    const char *description; /* bext Description (256 bytes max; truncated) */
} vkr_wav_meta;

int vkr_wav_write(const char *path, const float *interleaved, int64_t n_frames, int channels,
                  int sample_rate, vkr_wav_format fmt, const vkr_wav_meta *meta);

/* Reads a WAV (any libsndfile-supported format) into interleaved floats. */
int vkr_wav_read(const char *path, float **interleaved, int64_t *n_frames, int *channels,
                 int *sample_rate);

#endif
