/* wavcheck: asserts properties of a WAV written by `vkreel sfx` (tests/sfx.cmake).
 *
 *   sfx_wavcheck FILE [--rate HZ] [--channels N] [--frames N] [--pcm24 | --float]
 *                     [--true-peak DBTP TOL] [--true-peak-max DBTP] [--lufs LUFS TOL]
 *                     [--title S] [--comment-has S]... [--same-as OTHER.wav]
 *
 * Reads the samples with vkr_wav_read and the metadata with libsndfile (INFO
 * title/comment strings, bext description). Prints every failed check and exits 1. */
#include "audio/loudness.h"
#include "common/status.h"
#include "pipeline/wav_writer.h"

#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failed;

#define FAIL(...) (fprintf(stderr, "wavcheck: " __VA_ARGS__), fputc('\n', stderr), failed = 1)

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: sfx_wavcheck FILE [checks]\n");
        return 2;
    }
    const char *path = argv[1];
    float *x = NULL;
    int64_t frames = 0;
    int channels = 0, rate = 0;
    if (vkr_wav_read(path, &x, &frames, &channels, &rate)) {
        fprintf(stderr, "wavcheck: %s: %s\n", path, vkr_last_error());
        return 1;
    }
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (!sf) {
        fprintf(stderr, "wavcheck: %s: %s\n", path, sf_strerror(NULL));
        free(x);
        return 1;
    }
    const char *title = sf_get_string(sf, SF_STR_TITLE);
    const char *comment = sf_get_string(sf, SF_STR_COMMENT);
    SF_BROADCAST_INFO bext;
    memset(&bext, 0, sizeof bext);
    int has_bext = sf_command(sf, SFC_GET_BROADCAST_INFO, &bext, sizeof bext) == SF_TRUE;
    char desc[sizeof bext.description + 1];
    memcpy(desc, bext.description, sizeof bext.description);
    desc[sizeof bext.description] = 0;
    vkr_loudness l;
    if (vkr_loudness_measure(x, frames, channels, rate, &l)) {
        FAIL("%s: loudness: %s", path, vkr_last_error());
        l.integrated_lufs = l.true_peak_dbtp = NAN;
    }
    for (int64_t i = 0; i < frames * channels; i++)
        if (!isfinite(x[i])) {
            FAIL("%s: sample %lld is not finite", path, (long long)i);
            break;
        }

    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : "";
        const char *w = i + 2 < argc ? argv[i + 2] : "";
        if (!strcmp(a, "--rate")) {
            if (rate != atoi(v))
                FAIL("%s: %d Hz, expected %s", path, rate, v);
            i++;
        } else if (!strcmp(a, "--channels")) {
            if (channels != atoi(v))
                FAIL("%s: %d channels, expected %s", path, channels, v);
            i++;
        } else if (!strcmp(a, "--frames")) {
            if (frames != atoll(v))
                FAIL("%s: %lld frames, expected %s", path, (long long)frames, v);
            i++;
        } else if (!strcmp(a, "--pcm24") || !strcmp(a, "--float")) {
            int want = !strcmp(a, "--pcm24") ? SF_FORMAT_PCM_24 : SF_FORMAT_FLOAT;
            if ((info.format & SF_FORMAT_SUBMASK) != want || (info.format & SF_FORMAT_TYPEMASK) != SF_FORMAT_WAV)
                FAIL("%s: format 0x%x, expected WAV %s", path, info.format, a + 2);
        } else if (!strcmp(a, "--true-peak")) {
            if (!(fabs(l.true_peak_dbtp - atof(v)) <= atof(w)))
                FAIL("%s: true peak %.4f dBTP, expected %s +- %s", path, l.true_peak_dbtp, v, w);
            i += 2;
        } else if (!strcmp(a, "--true-peak-max")) {
            if (!(l.true_peak_dbtp <= atof(v)))
                FAIL("%s: true peak %.4f dBTP over %s", path, l.true_peak_dbtp, v);
            i++;
        } else if (!strcmp(a, "--lufs")) {
            if (!(fabs(l.integrated_lufs - atof(v)) <= atof(w)))
                FAIL("%s: integrated %.4f LUFS, expected %s +- %s", path, l.integrated_lufs, v, w);
            i += 2;
        } else if (!strcmp(a, "--title")) {
            if (!title || strcmp(title, v))
                FAIL("%s: title '%s', expected '%s'", path, title ? title : "(none)", v);
            i++;
        } else if (!strcmp(a, "--comment-has")) {
            if (!comment || !strstr(comment, v))
                FAIL("%s: comment '%s' lacks '%s'", path, comment ? comment : "(none)", v);
            if (!has_bext || !desc[0])
                FAIL("%s: no bext description", path);
            i++;
        } else if (!strcmp(a, "--same-as")) {
            float *y = NULL;
            int64_t fy = 0;
            int cy = 0, ry = 0;
            if (vkr_wav_read(v, &y, &fy, &cy, &ry)) {
                FAIL("%s: %s", v, vkr_last_error());
            } else if (fy != frames || cy != channels || ry != rate) {
                FAIL("%s: %lld x %d at %d Hz, %s: %lld x %d at %d Hz", path, (long long)frames, channels, rate, v,
                     (long long)fy, cy, ry);
            } else {
                int64_t diff = 0, first = -1;
                for (int64_t k = 0; k < frames * channels; k++)
                    if (x[k] != y[k]) {
                        diff++;
                        if (first < 0)
                            first = k;
                    }
                if (diff)
                    FAIL("%s and %s differ in %lld samples (first %lld: %g vs %g)", path, v, (long long)diff,
                         (long long)first, x[first], y[first]);
            }
            free(y);
            i++;
        } else {
            FAIL("unknown check '%s'", a);
        }
    }
    if (!failed)
        printf("%s: %lld frames x %d at %d Hz, %.3f LUFS, %.3f dBTP: ok\n", path, (long long)frames, channels,
               rate, l.integrated_lufs, l.true_peak_dbtp);
    sf_close(sf);
    free(x);
    return failed;
}
