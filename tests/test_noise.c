/* Counter-based noise: Philox4x32-10 known-answer vectors (Random123's kat_vectors),
 * chunking / offset invariance, seed and stream independence, the moments of
 * 1e6 normals, and --latents injection from safetensors files. */
#include "check.h"

#include "common/status.h"
#include "model/safetensors.h"
#include "sched/noise.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_philox_kat(void)
{
    /* Random123 kat_vectors, "philox4x32 10": counter[4] key[2] -> output[4] */
    static const struct {
        uint32_t ctr[4], key[2], want[4];
    } kat[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
         {0xffffffff, 0xffffffff},
         {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
         {0xa4093822, 0x299f31d0},
         {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    for (size_t v = 0; v < sizeof kat / sizeof kat[0]; v++) {
        uint32_t out[4];
        vkr_philox4x32_10(kat[v].ctr, kat[v].key, out);
        for (int j = 0; j < 4; j++)
            CHECK(out[j] == kat[v].want[j], "philox KAT %zu word %d = %08x, expected %08x", v, j, out[j],
                  kat[v].want[j]);
    }
}

/* The spec in noise.h, written out independently of vkr_noise_normal's loop. */
static float spec_element(uint64_t seed, uint64_t stream, uint64_t i)
{
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    const uint64_t b = i / 4;
    const uint32_t ctr[4] = {(uint32_t)b, (uint32_t)(b >> 32), (uint32_t)stream, (uint32_t)(stream >> 32)};
    uint32_t w[4];
    vkr_philox4x32_10(ctr, key, w);
    const int pair = (int)(i % 4) / 2;
    const double u_r = (w[2 * pair] + 0.5) / 4294967296.0, u_t = (w[2 * pair + 1] + 0.5) / 4294967296.0;
    const double r = sqrt(-2 * log(u_r)), th = 2 * M_PI * u_t;
    return (float)(i % 2 ? r * sin(th) : r * cos(th));
}

static void test_chunking(void)
{
    enum { N = 10007 };
    static float whole[N], part[N];
    const uint64_t seed = 0x0123456789abcdefull;
    vkr_noise_normal(seed, 7, 0, whole, N);
    /* uneven chunks, starting at every lane of a block */
    size_t at = 0, len = 1;
    while (at < N) {
        size_t take = at + len > N ? N - at : len;
        vkr_noise_normal(seed, 7, at, part + at, take);
        at += take;
        len = len * 3 % 97 + 1;
    }
    int diff = 0;
    for (int i = 0; i < N; i++)
        diff += memcmp(&whole[i], &part[i], sizeof(float)) != 0;
    CHECK(diff == 0, "%d of %d elements depend on the chunking", diff, N);
    for (uint64_t i = 0; i < 64; i++)
        CHECK(whole[i] == spec_element(seed, 7, i), "element %llu = %.9g, spec gives %.9g", (unsigned long long)i,
              whole[i], spec_element(seed, 7, i));
    /* far offsets: the counter carries into its high word */
    const uint64_t far = (1ull << 34) + 3;
    float one;
    vkr_noise_normal(seed, 7, far, &one, 1);
    CHECK(one == spec_element(seed, 7, far), "element 2^34+3 = %.9g, spec gives %.9g", one,
          spec_element(seed, 7, far));

    /* other seeds and streams give other numbers */
    static float other[N];
    const uint64_t seeds[3] = {seed + 1, seed ^ (1ull << 40), seed};
    const uint64_t streams[3] = {7, 7, 8};
    for (int k = 0; k < 3; k++) {
        vkr_noise_normal(seeds[k], streams[k], 0, other, N);
        int same = 0;
        for (int i = 0; i < N; i++)
            same += other[i] == whole[i];
        CHECK(same < 5, "seed %llx stream %llu: %d of %d elements equal to seed %llx stream 7",
              (unsigned long long)seeds[k], (unsigned long long)streams[k], same, N, (unsigned long long)seed);
    }
}

static void test_distribution(void)
{
    enum { N = 1000000 };
    float *z = malloc(N * sizeof *z);
    CHECK(z != NULL, "out of memory");
    if (!z)
        return;
    vkr_noise_normal(42, 0, 0, z, N);
    double m1 = 0;
    for (int i = 0; i < N; i++)
        m1 += z[i];
    m1 /= N;
    double m2 = 0, m3 = 0, m4 = 0;
    long tail3 = 0;
    int nonfinite = 0;
    for (int i = 0; i < N; i++) {
        const double d = z[i] - m1, d2 = d * d;
        m2 += d2, m3 += d2 * d, m4 += d2 * d2;
        tail3 += fabs(z[i]) > 3;
        nonfinite += !isfinite(z[i]);
    }
    m2 /= N, m3 /= N, m4 /= N;
    const double skew = m3 / pow(m2, 1.5), kurt = m4 / (m2 * m2);
    printf("1e6 normals: mean %.5f var %.5f skew %.5f kurtosis %.5f P(|z|>3) %.5f\n", m1, m2, skew, kurt,
           (double)tail3 / N);
    /* bounds at about 5 standard errors: sqrt(1/N), sqrt(2/N), sqrt(6/N), sqrt(24/N) */
    CHECK(fabs(m1) < 0.005, "mean %.5f", m1);
    CHECK(fabs(m2 - 1) < 0.007, "variance %.5f", m2);
    CHECK(fabs(skew) < 0.013, "skewness %.5f", skew);
    CHECK(fabs(kurt - 3) < 0.025, "kurtosis %.5f", kurt);
    CHECK(fabs((double)tail3 / N - 0.0026998) < 0.0003, "P(|z|>3) = %.5f, expected 0.00270", (double)tail3 / N);
    CHECK(nonfinite == 0, "%d non-finite values", nonfinite);
    free(z);
}

/* A minimal safetensors writer for the latents tests (the format of
 * tests/golden/README.md: u64 header length, JSON padded with spaces to 8). */
static int write_st(const char *path, const char *const *names, const int64_t shapes[][4], const int *ndims,
                    const float *const *data, int count)
{
    char header[1024];
    size_t o = 0, off = 0;
    o += (size_t)snprintf(header + o, sizeof header - o, "{");
    for (int t = 0; t < count; t++) {
        size_t numel = 1;
        o += (size_t)snprintf(header + o, sizeof header - o, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[", t ? "," : "",
                              names[t]);
        for (int d = 0; d < ndims[t]; d++) {
            numel *= (size_t)shapes[t][d];
            o += (size_t)snprintf(header + o, sizeof header - o, d ? ",%lld" : "%lld", (long long)shapes[t][d]);
        }
        o += (size_t)snprintf(header + o, sizeof header - o, "],\"data_offsets\":[%zu,%zu]}", off,
                              off + numel * 4);
        off += numel * 4;
    }
    o += (size_t)snprintf(header + o, sizeof header - o, "}");
    while (o % 8)
        header[o++] = ' ';
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    uint64_t n = o;
    unsigned char len[8];
    for (int k = 0; k < 8; k++)
        len[k] = (unsigned char)(n >> (8 * k));
    fwrite(len, 1, 8, f);
    fwrite(header, 1, o, f);
    for (int t = 0; t < count; t++) {
        size_t numel = 1;
        for (int d = 0; d < ndims[t]; d++)
            numel *= (size_t)shapes[t][d];
        fwrite(data[t], sizeof(float), numel, f); /* little-endian host */
    }
    return fclose(f);
}

static void test_load_latents(void)
{
    char path[] = "/tmp/vkr_latents_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0)
        return;
    close(fd);
    float a[24], b[6], out[24];
    for (int i = 0; i < 24; i++)
        a[i] = (float)i * 0.5f - 3.0f;
    for (int i = 0; i < 6; i++)
        b[i] = 100.0f + (float)i;

    /* named "latents", next to another tensor */
    {
        const char *names[2] = {"aaa", "latents"};
        const int64_t shapes[2][4] = {{6}, {1, 2, 3, 4}};
        const int nd[2] = {1, 4};
        const float *data[2] = {b, a};
        CHECK_EQ_INT(write_st(path, names, shapes, nd, data, 2), 0);
        const int64_t want[3] = {2, 3, 4};
        CHECK_EQ_INT(vkr_noise_load_latents(path, want, 3, out), 0);
        CHECK(memcmp(out, a, sizeof a) == 0, "latents values");
        const int64_t wrong[4] = {1, 2, 4, 3};
        CHECK_EQ_INT(vkr_noise_load_latents(path, wrong, 4, out), VKR_E_DATA);
        CHECK(strstr(vkr_last_error(), "(1, 2, 3, 4)") && strstr(vkr_last_error(), "(1, 2, 4, 3)"),
              "error names both shapes: %s", vkr_last_error());
    }
    /* the only tensor, whatever its name */
    {
        const char *names[1] = {"noise"};
        const int64_t shapes[1][4] = {{2, 3, 4}};
        const int nd[1] = {3};
        const float *data[1] = {a};
        CHECK_EQ_INT(write_st(path, names, shapes, nd, data, 1), 0);
        const int64_t want[5] = {1, 1, 2, 3, 4};
        CHECK_EQ_INT(vkr_noise_load_latents(path, want, 5, out), 0);
        CHECK(memcmp(out, a, sizeof a) == 0, "only-tensor values");
    }
    /* two tensors, none named latents */
    {
        const char *names[2] = {"x", "y"};
        const int64_t shapes[2][4] = {{6}, {24}};
        const int nd[2] = {1, 1};
        const float *data[2] = {b, a};
        CHECK_EQ_INT(write_st(path, names, shapes, nd, data, 2), 0);
        const int64_t want[1] = {24};
        CHECK_EQ_INT(vkr_noise_load_latents(path, want, 1, out), VKR_E_DATA);
    }
    unlink(path);
    const int64_t want[1] = {24};
    CHECK_EQ_INT(vkr_noise_load_latents(path, want, 1, out), VKR_E_NOINPUT);

    /* the golden pipeline case's injected diffusers noise, "in.latents" */
    const char *golden = "tests/golden/pipeline_t2v/io.safetensors";
    vkr_safetensors st;
    if (vkr_st_open(&st, golden) == 0) {
        const vkr_st_tensor *t = vkr_st_find(&st, "in.latents");
        CHECK(t != NULL, "%s: no in.latents", golden);
        if (t) {
            float *ref = vkr_st_load_f32(&st, "in.latents", NULL);
            float *got = malloc((size_t)t->numel * sizeof *got);
            CHECK_EQ_INT(vkr_noise_load_latents(golden, t->shape, t->ndim, got), 0);
            CHECK(ref && got && memcmp(ref, got, (size_t)t->numel * sizeof *got) == 0, "in.latents values");
            free(ref);
            free(got);
        }
        vkr_st_close(&st);
    } else {
        CHECK(0, "%s: %s", golden, vkr_last_error());
    }
}

int main(void)
{
    test_philox_kat();
    test_chunking();
    test_distribution();
    test_load_latents();
    return check_summary("test_noise");
}
