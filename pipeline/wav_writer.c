/* WAV through libsndfile, written on the atomic temporary file's descriptor
 * (libsndfile does not close it; vkr_atomic_commit syncs, closes and renames). */
#include "wav_writer.h"

#include "common/atomic_file.h"
#include "common/status.h"
#include "common/version.h"

#include <errno.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WAV_MAX_CHANNELS 256

/* Fixed-width, not necessarily NUL-terminated bext field. */
static void put_field(char *dst, size_t size, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    memcpy(dst, src ? src : "", n < size ? n : size);
}

/* Origination time: SOURCE_DATE_EPOCH when set (reproducible output), else now; UTC. */
static struct tm origination_time(void)
{
    time_t t = time(NULL);
    const char *env = getenv("SOURCE_DATE_EPOCH");
    if (env && *env) {
        char *end;
        long long v = strtoll(env, &end, 10);
        if (!*end && v >= 0)
            t = (time_t)v;
    }
    struct tm tm;
    gmtime_r(&t, &tm);
    return tm;
}

static void fill_bext(SF_BROADCAST_INFO *b, const vkr_wav_meta *meta, int channels,
                      int sample_rate, vkr_wav_format fmt)
{
    memset(b, 0, sizeof *b);
    put_field(b->description, sizeof b->description, meta ? meta->description : NULL);
    put_field(b->originator, sizeof b->originator, "vkreel");
    put_field(b->originator_reference, sizeof b->originator_reference, "vkreel " VKR_VERSION);
    struct tm tm = origination_time();
    char date[48], tod[48]; /* roomy: GCC cannot bound struct tm fields */
    snprintf(date, sizeof date, "%04d-%02d-%02d", (tm.tm_year + 1900) % 10000, tm.tm_mon + 1,
             tm.tm_mday);
    snprintf(tod, sizeof tod, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
    put_field(b->origination_date, sizeof b->origination_date, date);
    put_field(b->origination_time, sizeof b->origination_time, tod);
    b->version = 1;
    /* EBU R 98 coding history line: algorithm, rate, word length, mode, text. */
    char mode[16];
    if (channels == 1)
        snprintf(mode, sizeof mode, "mono");
    else if (channels == 2)
        snprintf(mode, sizeof mode, "stereo");
    else
        snprintf(mode, sizeof mode, "%dch", channels);
    int n = snprintf(b->coding_history, sizeof b->coding_history,
                     "A=PCM,F=%d,W=%d,M=%s,T=vkreel %s%s\r\n", sample_rate,
                     fmt == VKR_WAV_F32 ? 32 : 24, mode, VKR_VERSION,
                     fmt == VKR_WAV_F32 ? " float" : "");
    b->coding_history_size = (uint32_t)(n < (int)sizeof b->coding_history ? n : 0);
}

int vkr_wav_write(const char *path, const float *interleaved, int64_t n_frames, int channels,
                  int sample_rate, vkr_wav_format fmt, const vkr_wav_meta *meta)
{
    if (!path || !*path)
        return vkr_fail(VKR_E_USAGE, "wav: no output path");
    if (channels < 1 || channels > WAV_MAX_CHANNELS)
        return vkr_fail(VKR_E_USAGE, "%s: %d channels (1..%d)", path, channels, WAV_MAX_CHANNELS);
    if (sample_rate < 1 || sample_rate > 768000)
        return vkr_fail(VKR_E_USAGE, "%s: sample rate %d Hz", path, sample_rate);
    if (fmt != VKR_WAV_F32 && fmt != VKR_WAV_S24)
        return vkr_fail(VKR_E_USAGE, "%s: unknown sample format %d", path, (int)fmt);
    if (n_frames < 0 || (n_frames > 0 && !interleaved))
        return vkr_fail(VKR_E_USAGE, "%s: bad sample buffer", path);
    /* RIFF sizes are 32-bit; keep clear of the limit with room for the chunks. */
    const int bytes = fmt == VKR_WAV_F32 ? 4 : 3;
    if ((double)n_frames * channels * bytes > 4294967295.0 - (1 << 20))
        return vkr_fail(VKR_E_DATA, "%s: %lld frames do not fit a WAV file", path, (long long)n_frames);

    SF_INFO info = {
        .samplerate = sample_rate,
        .channels = channels,
        .format = SF_FORMAT_WAV | (fmt == VKR_WAV_F32 ? SF_FORMAT_FLOAT : SF_FORMAT_PCM_24),
    };
    if (!sf_format_check(&info))
        return vkr_fail(VKR_E_USAGE, "%s: libsndfile cannot write this WAV format", path);

    vkr_atomic a;
    int rc = vkr_atomic_begin(&a, path);
    if (rc)
        return rc;
    SNDFILE *sf = sf_open_fd(a.fd, SFM_WRITE, &info, SF_FALSE);
    if (!sf) {
        rc = vkr_fail(VKR_E_CANTCREATE, "%s: libsndfile: %s", path, sf_strerror(NULL));
        goto fail;
    }
    /* The bext chunk sits before the data, so it must be set before any audio. */
    SF_BROADCAST_INFO bext;
    fill_bext(&bext, meta, channels, sample_rate, fmt);
    if (sf_command(sf, SFC_SET_BROADCAST_INFO, &bext, sizeof bext) != SF_TRUE) {
        rc = vkr_fail(VKR_E_INTERNAL, "%s: libsndfile refused the bext chunk: %s", path,
                      sf_strerror(sf));
        goto fail;
    }
    const struct {
        int type;
        const char *value;
    } strings[] = {
        {SF_STR_TITLE, meta ? meta->title : NULL},
        {SF_STR_COMMENT, meta ? meta->comment : NULL},
        {SF_STR_SOFTWARE, meta && meta->software ? meta->software : "vkreel " VKR_VERSION},
        {SF_STR_ARTIST, meta ? meta->artist : NULL},
    };
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        if (strings[i].value && *strings[i].value &&
            sf_set_string(sf, strings[i].type, strings[i].value) != 0) {
            rc = vkr_fail(VKR_E_DATA, "%s: libsndfile refused an INFO string: %s", path,
                          sf_strerror(sf));
            goto fail;
        }
    }
    /* Out-of-range floats saturate instead of wrapping around in PCM. */
    sf_command(sf, SFC_SET_CLIPPING, NULL, SF_TRUE);

    sf_count_t written = n_frames ? sf_writef_float(sf, interleaved, n_frames) : 0;
    if (written != n_frames) {
        rc = vkr_fail(VKR_E_CANTCREATE, "%s: wrote %lld of %lld frames: %s", path,
                      (long long)written, (long long)n_frames, sf_strerror(sf));
        goto fail;
    }
    int err = sf_close(sf); /* finalises the header sizes; leaves the fd open */
    sf = NULL;
    if (err) {
        rc = vkr_fail(VKR_E_CANTCREATE, "%s: libsndfile: %s", path, sf_error_number(err));
        goto fail;
    }
    return vkr_atomic_commit(&a);
fail:
    if (sf)
        sf_close(sf);
    vkr_atomic_abort(&a);
    return rc;
}

int vkr_wav_read(const char *path, float **interleaved, int64_t *n_frames, int *channels,
                 int *sample_rate)
{
    *interleaved = NULL;
    *n_frames = 0;
    *channels = 0;
    *sample_rate = 0;
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (!sf) {
        if (access(path, R_OK) != 0)
            return vkr_fail(VKR_E_NOINPUT, "%s: cannot open: %s", path, strerror(errno));
        return vkr_fail(VKR_E_DATA, "%s: not a readable audio file: %s", path, sf_strerror(NULL));
    }
    int rc = VKR_OK;
    float *buf = NULL;
    if (info.channels < 1 || info.samplerate < 1 || info.frames < 0 ||
        (double)info.frames * info.channels > (double)(1u << 31)) {
        rc = vkr_fail(VKR_E_DATA, "%s: unsupported audio layout (%d ch, %d Hz, %lld frames)", path,
                      info.channels, info.samplerate, (long long)info.frames);
        goto done;
    }
    buf = malloc(sizeof(float) * (size_t)(info.frames ? info.frames : 1) * (size_t)info.channels);
    if (!buf) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto done;
    }
    sf_count_t got = info.frames ? sf_readf_float(sf, buf, info.frames) : 0;
    if (got != info.frames) {
        rc = vkr_fail(VKR_E_DATA, "%s: read %lld of %lld frames: %s", path, (long long)got,
                      (long long)info.frames, sf_strerror(sf));
        goto done;
    }
    *interleaved = buf;
    buf = NULL;
    *n_frames = got;
    *channels = info.channels;
    *sample_rate = info.samplerate;
done:
    free(buf);
    sf_close(sf);
    return rc;
}
