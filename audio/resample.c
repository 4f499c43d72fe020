#include "resample.h"

#include "common/status.h"

#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RATE 1000000 /* 1 MHz: beyond any audio rate, keeps the products in range */
#define CHUNK (1 << 16)  /* input frames per swr_convert call (its counts are int) */

int64_t vkr_resample_length(int64_t in_len, int in_rate, int out_rate)
{
    if (in_len < 0 || in_rate < 1 || out_rate < 1 || in_rate > MAX_RATE || out_rate > MAX_RATE)
        return -1;
    if (in_len > (INT64_MAX - in_rate) / 2 / out_rate)
        return -1;
    /* floor((2 n out + in) / (2 in)) = round half up of n out / in */
    return (2 * in_len * out_rate + in_rate) / (2 * (int64_t)in_rate);
}

int vkr_resample(const float *in, int64_t in_frames, int channels, int in_rate, int out_rate,
                 float **out, int64_t *out_frames)
{
    int rc = VKR_OK, err;
    SwrContext *swr = NULL;
    AVChannelLayout layout = {0};
    float *buf = NULL, *zeros = NULL;
    *out = NULL;
    *out_frames = 0;

    int64_t want = vkr_resample_length(in_frames, in_rate, out_rate);
    if (want < 0 || channels < 1 || channels > 64)
        return vkr_fail(VKR_E_USAGE, "resample: bad arguments (%lld frames, %d channels, %d -> %d Hz)",
                        (long long)in_frames, channels, in_rate, out_rate);
    if (want == 0)
        return VKR_OK;
    if ((uint64_t)want > SIZE_MAX / sizeof(float) / (size_t)channels)
        return vkr_fail(VKR_E_USAGE, "resample: %lld output frames is too many", (long long)want);
    if (in_rate == out_rate) {
        buf = malloc(sizeof(float) * (size_t)want * channels);
        if (!buf)
            return vkr_fail(VKR_E_INTERNAL, "resample: out of memory");
        memcpy(buf, in, sizeof(float) * (size_t)want * channels);
        *out = buf;
        *out_frames = want;
        return VKR_OK;
    }

    av_channel_layout_default(&layout, channels);
    err = swr_alloc_set_opts2(&swr, &layout, AV_SAMPLE_FMT_FLT, out_rate, &layout,
                              AV_SAMPLE_FMT_FLT, in_rate, 0, NULL);
    if (err >= 0)
        err = swr_init(swr);
    if (err < 0) {
        rc = vkr_fail(VKR_E_INTERNAL, "resample: swresample setup %d -> %d Hz failed: %s", in_rate,
                      out_rate, av_err2str(err));
        goto fail;
    }
    /* swresample emits nothing for inputs shorter than its filter and may end a
     * sample short after the flush, so the input is followed by `tail` frames of
     * silence — what an ideal resampler assumes past the end anyway — and the
     * output cut to the exact length. tail covers the filter's reach (filter_size
     * 32 taps at the lower rate, each side) with a wide margin. */
    const int64_t ratio = (in_rate + out_rate - 1) / out_rate; /* input frames per output frame, rounded up */
    const int64_t tail = 256 + 128 * ratio;
    const int64_t cap = want + 4096 + (int64_t)swr_get_out_samples(swr, 0) +
                        (tail * out_rate + in_rate - 1) / in_rate;
    buf = malloc(sizeof(float) * (size_t)cap * channels);
    zeros = calloc((size_t)(tail < CHUNK ? tail : CHUNK) * channels, sizeof(float));
    if (!buf || !zeros) {
        rc = vkr_fail(VKR_E_INTERNAL, "resample: out of memory");
        goto fail;
    }
    int64_t got = 0, pos = 0;
    const int64_t total_in = in_frames + tail;
    while (got < want) {
        const uint8_t *src = NULL;
        int n_in = 0;
        if (pos < total_in) {
            int64_t left = pos < in_frames ? in_frames - pos : total_in - pos;
            n_in = left > CHUNK ? CHUNK : (int)left;
            src = (const uint8_t *)(pos < in_frames ? in + pos * channels : zeros);
        }
        int room = cap - got > INT_MAX ? INT_MAX : (int)(cap - got);
        if (swr_get_out_samples(swr, n_in) > room) {
            /* Cannot happen with the capacity above unless swresample misreports
             * its delay; stop rather than overrun. */
            rc = vkr_fail(VKR_E_INTERNAL, "resample: output would overrun %d frames", room);
            goto fail;
        }
        uint8_t *dst = (uint8_t *)(buf + got * channels);
        int n = swr_convert(swr, &dst, room, n_in ? &src : NULL, n_in);
        if (n < 0) {
            rc = vkr_fail(VKR_E_INTERNAL, "resample: swr_convert failed: %s", av_err2str(n));
            goto fail;
        }
        got += n;
        pos += n_in;
        if (!n_in && n == 0)
            break; /* fully flushed */
    }
    if (got < want) {
        rc = vkr_fail(VKR_E_INTERNAL, "resample: swresample gave %lld of %lld frames (%d -> %d Hz)",
                      (long long)got, (long long)want, in_rate, out_rate);
        goto fail;
    }
    *out = buf;
    *out_frames = want;
    buf = NULL;
fail:
    free(buf);
    free(zeros);
    swr_free(&swr);
    av_channel_layout_uninit(&layout);
    return rc;
}
