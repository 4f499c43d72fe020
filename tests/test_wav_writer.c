/* WAV writer: float32 and PCM24 round trips, INFO strings and the bext chunk
 * read back through libsndfile, atomic failure behaviour. */
#include "check.h"

#include "common/status.h"
#include "common/version.h"
#include "pipeline/wav_writer.h"

#include <dirent.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

/* Arrays through a function, so CHECK_EQ_STR's NULL tests stay meaningful to GCC. */
static const char *str(const char *s) { return s; }

static void path_in(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", tmpdir, name); }

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static int count_temps(void)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' && l > 4 && strcmp(e->d_name + l - 4, ".tmp") == 0)
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

/* Test signal: a sweep plus values at the edges of the range, including
 * exact powers of two and +-1. */
static float *make_signal(int64_t n, int ch)
{
    float *x = malloc(sizeof(float) * (size_t)(n * ch));
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < ch; c++)
            x[i * ch + c] = (float)(0.9 * sin(0.001 * (double)i * (double)i / n * (c + 1) + c));
    x[0] = 1.0f;
    x[1] = -1.0f;
    x[2] = 0.5f;
    x[3] = 1.0f / 8388608.0f; /* 2^-23: one PCM24 step */
    x[4] = -0.3333333f;
    return x;
}

static void test_round_trip(vkr_wav_format fmt, const char *name, double tol)
{
    const int64_t n = 48000 + 17;
    const int ch = 2;
    float *x = make_signal(n, ch);
    char path[512];
    path_in(path, sizeof path, name);
    vkr_wav_meta meta = {
        .title = "Door slam", .comment = "prompt: a heavy door slams; seed 7", .artist = "vkreel test",
        .description = "A heavy wooden door slams shut in a stone hallway.",
    };
    int rc = vkr_wav_write(path, x, n, ch, 48000, fmt, &meta);
    CHECK(rc == 0, "%s: write failed: %d %s", name, rc, vkr_last_error());
    CHECK_EQ_INT(count_temps(), 0);

    float *y = NULL;
    int64_t m = 0;
    int got_ch = 0, rate = 0;
    rc = vkr_wav_read(path, &y, &m, &got_ch, &rate);
    CHECK(rc == 0, "%s: read failed: %d %s", name, rc, vkr_last_error());
    CHECK_EQ_INT(m, n);
    CHECK_EQ_INT(got_ch, ch);
    CHECK_EQ_INT(rate, 48000);
    if (y && m == n && got_ch == ch) {
        double worst = 0;
        int64_t at = 0;
        for (int64_t i = 0; i < n * ch; i++) {
            double e = fabs((double)y[i] - (double)x[i]);
            if (e > worst)
                worst = e, at = i;
        }
        CHECK(worst <= tol, "%s: sample %lld: got %.9g, wrote %.9g (tol %g)", name, (long long)at,
              y[at], x[at], tol);
    }
    free(y);

    /* Format, INFO strings and bext straight from libsndfile. */
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    CHECK(sf != NULL, "%s: libsndfile cannot open it: %s", name, sf_strerror(NULL));
    if (sf) {
        CHECK_EQ_INT(info.format & SF_FORMAT_TYPEMASK, SF_FORMAT_WAV);
        CHECK_EQ_INT(info.format & SF_FORMAT_SUBMASK,
                     fmt == VKR_WAV_F32 ? SF_FORMAT_FLOAT : SF_FORMAT_PCM_24);
        CHECK_EQ_STR(sf_get_string(sf, SF_STR_TITLE), "Door slam");
        CHECK_EQ_STR(sf_get_string(sf, SF_STR_COMMENT), "prompt: a heavy door slams; seed 7");
        CHECK_EQ_STR(sf_get_string(sf, SF_STR_ARTIST), "vkreel test");
        const char *sw = sf_get_string(sf, SF_STR_SOFTWARE);
        /* libsndfile may append its own name in parentheses. */
        CHECK(sw && strncmp(sw, "vkreel " VKR_VERSION, strlen("vkreel " VKR_VERSION)) == 0,
              "%s: software = \"%s\"", name, sw ? sw : "(null)");
        SF_BROADCAST_INFO b;
        memset(&b, 0, sizeof b);
        int has = sf_command(sf, SFC_GET_BROADCAST_INFO, &b, sizeof b);
        CHECK(has == SF_TRUE, "%s: no bext chunk", name);
        if (has == SF_TRUE) {
            char desc[257] = {0}, orig[33] = {0}, date[11] = {0}, tod[9] = {0};
            memcpy(desc, b.description, 256);
            memcpy(orig, b.originator, 32);
            memcpy(date, b.origination_date, 10);
            memcpy(tod, b.origination_time, 8);
            CHECK_EQ_STR(str(desc), meta.description);
            CHECK_EQ_STR(str(orig), "vkreel");
            /* SOURCE_DATE_EPOCH=86400*365 is set in main: 1971-01-01 00:00:00. */
            CHECK_EQ_STR(str(date), "1971-01-01");
            CHECK_EQ_STR(str(tod), "00:00:00");
            char hist[257] = {0};
            memcpy(hist, b.coding_history, b.coding_history_size < 256 ? b.coding_history_size : 256);
            const char *want = fmt == VKR_WAV_F32 ? "A=PCM,F=48000,W=32,M=stereo,T=vkreel " VKR_VERSION " float"
                                                  : "A=PCM,F=48000,W=24,M=stereo,T=vkreel " VKR_VERSION;
            CHECK(strncmp(hist, want, strlen(want)) == 0, "%s: coding history \"%s\", expected \"%s\"",
                  name, hist, want);
        }
        sf_close(sf);
    }
    free(x);
}

static void test_edge_cases(void)
{
    char path[512];
    /* Out-of-range values saturate in PCM24 instead of wrapping. */
    float loud[4] = {1.5f, -1.5f, 0.25f, -0.25f};
    path_in(path, sizeof path, "loud.wav");
    CHECK_EQ_INT(vkr_wav_write(path, loud, 2, 2, 44100, VKR_WAV_S24, NULL), 0);
    float *y = NULL;
    int64_t m = 0;
    int ch = 0, rate = 0;
    CHECK_EQ_INT(vkr_wav_read(path, &y, &m, &ch, &rate), 0);
    if (y && m == 2) {
        CHECK(y[0] > 0.999f && y[1] < -0.999f, "clipping: got %g %g", y[0], y[1]);
        CHECK_NEAR(y[2], 0.25, 1.0 / 8388608);
        CHECK_EQ_INT(rate, 44100);
    }
    free(y);
    /* Zero frames and mono, NULL metadata: a valid empty file. */
    path_in(path, sizeof path, "empty.wav");
    CHECK_EQ_INT(vkr_wav_write(path, NULL, 0, 1, 16000, VKR_WAV_F32, NULL), 0);
    y = NULL;
    CHECK_EQ_INT(vkr_wav_read(path, &y, &m, &ch, &rate), 0);
    CHECK_EQ_INT(m, 0);
    CHECK_EQ_INT(ch, 1);
    free(y);
}

static void test_failures(void)
{
    float x[8] = {0};
    char path[512], keep[512];

    path_in(path, sizeof path, "missing/out.wav");
    CHECK_EQ_INT(vkr_wav_write(path, x, 4, 2, 48000, VKR_WAV_F32, NULL), VKR_E_CANTCREATE);
    path_in(path, sizeof path, "missing");
    CHECK(!file_exists(path), "missing directory was created");

    path_in(path, sizeof path, "bad.wav");
    CHECK_EQ_INT(vkr_wav_write(path, x, 4, 0, 48000, VKR_WAV_F32, NULL), VKR_E_USAGE);
    CHECK_EQ_INT(vkr_wav_write(path, x, 4, 2, 0, VKR_WAV_F32, NULL), VKR_E_USAGE);
    CHECK_EQ_INT(vkr_wav_write(path, NULL, 4, 2, 48000, VKR_WAV_F32, NULL), VKR_E_USAGE);
    CHECK_EQ_INT(vkr_wav_write(path, x, 4, 2, 48000, (vkr_wav_format)7, NULL), VKR_E_USAGE);
    CHECK(!file_exists(path), "refused write created the output");

    /* Commit failure (target is a non-empty directory): temp removed, target kept. */
    path_in(path, sizeof path, "dir.wav");
    mkdir(path, 0755);
    path_in(keep, sizeof keep, "dir.wav/inside");
    FILE *f = fopen(keep, "wb");
    if (f)
        fclose(f);
    CHECK_EQ_INT(vkr_wav_write(path, x, 4, 2, 48000, VKR_WAV_S24, NULL), VKR_E_CANTCREATE);
    CHECK(file_exists(keep), "directory target was disturbed");
    CHECK_EQ_INT(count_temps(), 0);
    unlink(keep);
    rmdir(path);

    /* Reading: missing file vs. not audio. */
    float *y = NULL;
    int64_t m;
    int ch, rate;
    path_in(path, sizeof path, "nothing.wav");
    CHECK_EQ_INT(vkr_wav_read(path, &y, &m, &ch, &rate), VKR_E_NOINPUT);
    path_in(path, sizeof path, "text.wav");
    f = fopen(path, "wb");
    if (f) {
        fputs("this is not a RIFF file at all, just some text\n", f);
        fclose(f);
    }
    CHECK_EQ_INT(vkr_wav_read(path, &y, &m, &ch, &rate), VKR_E_DATA);
    CHECK(y == NULL, "buffer returned on failure");
    unlink(path);
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[600];
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/vkr_wav_test.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    setenv("SOURCE_DATE_EPOCH", "31536000", 1);
    test_round_trip(VKR_WAV_F32, "f32.wav", 0.0);
    /* PCM24: one quantisation step (libsndfile scales by 2^31 - 1, reads by 2^31). */
    test_round_trip(VKR_WAV_S24, "s24.wav", 1.0 / 8388608);
    test_edge_cases();
    test_failures();
    if (getenv("VKR_KEEP_OUTPUT"))
        printf("outputs kept in %s\n", tmpdir);
    else
        remove_tree(tmpdir);
    return check_summary("test_wav_writer");
}
