/* SpeechT5HifiGan vocoder (audio/hifigan.h) against the transformers golden
 * case tests/golden/hifigan, on the Vulkan engine in f32:
 *   - out.waveform within case.json's recommended max_abs / rel_l2, with every
 *     debug tensor (conv_pre, upsampler.N, conv_post) compared on the way so a
 *     mismatch points at its stage;
 *   - f16 weights (the real-checkpoint storage) within a looser bound;
 *   - batching (B = 2 equals two B = 1 runs) and a tiny forced binding window
 *     (the conv / eltwise split paths) equal to the default window;
 *   - config validation and weight-set errors (missing, wrong shape, unused).
 *
 * `test_hifigan_golden --real [frames]` (registered as a slow test in
 * tests/hifigan.cmake) runs AudioLDM's real vocoder config with random weights
 * on `frames` mel frames (default 1024 = the 10.24 s window), times it, and
 * checks the long run against a short crop of the same input (HiFi-GAN is
 * local, so the crop's interior must equal the long run's samples). */
#include "audio/hifigan.h"
#include "common/dtype.h"
#include "common/status.h"
#include "gpu_test.h"
#include "model/safetensors.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CASE_DIR "tests/golden/hifigan"
#define REAL_CONFIG "tests/model/real-configs/cvssp__audioldm/vocoder/config.json"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* max |a - b| and ||a - b|| / ||b||; NaN/Inf in a gives +inf. */
static void errors(const float *a, const float *b, size_t n, double *max_abs, double *rel_l2)
{
    double m = 0, num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        if (!(d == d) || d > 1e30 || d < -1e30) {
            m = INFINITY;
            num = INFINITY;
            continue;
        }
        if (fabs(d) > m)
            m = fabs(d);
        num += d * d;
        den += (double)b[i] * b[i];
    }
    *max_abs = m;
    *rel_l2 = den > 0 ? sqrt(num / den) : sqrt(num);
}

static double case_tol(const cJSON *root, const char *kind, const char *out)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "tolerance");
    const cJSON *k = t ? cJSON_GetObjectItemCaseSensitive(t, kind) : NULL;
    const cJSON *v = k ? cJSON_GetObjectItemCaseSensitive(k, out) : NULL;
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static cJSON *read_json(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return cJSON_Parse(buf);
}

/* ---- the golden case ------------------------------------------------------- */

typedef struct {
    vkr_gpu *gpu;
    vkr_safetensors *dbg;
    int seen;
} dbg_taps;

/* Compares each intermediate with the reference's forward-hook capture. The
 * bound (rel L2 1e-5) is loose for f32 but tight enough to name the first
 * stage that goes wrong. */
static int tap_compare(void *user, const char *name, const vkr_tensor *t)
{
    dbg_taps *d = user;
    char key[64];
    snprintf(key, sizeof key, "dbg.%s", name);
    int64_t n_ref = 0;
    float *ref = vkr_st_load_f32(d->dbg, key, &n_ref);
    int64_t n = vkr_tensor_nelem(t);
    CHECK(ref && n_ref == n, "%s: %lld elements, reference %lld (%s)", key, (long long)n, (long long)n_ref,
          ref ? "" : vkr_last_error());
    if (ref && n_ref == n) {
        float *got = malloc((size_t)n * sizeof *got);
        int rc = vkr_tensor_download(d->gpu, t, got, VKR_F32);
        CHECK(rc == 0, "download %s: %s", key, vkr_last_error());
        double ma, rl;
        errors(got, ref, (size_t)n, &ma, &rl);
        printf("  %-16s max_abs %.3g  rel_l2 %.3g\n", key, ma, rl);
        CHECK(rl <= 1e-5, "%s: rel_l2 %.3g > 1e-5 (first stage off the reference)", key, rl);
        d->seen++;
        free(got);
    }
    free(ref);
    return VKR_OK;
}

/* Runs spectrogram host data (B, T, D) through m; returns the malloc'd
 * waveform (B * L floats) or NULL. */
static float *run_vocoder(vkr_gpu *gpu, const vkr_hifigan *m, const float *spec, int64_t B, int64_t T,
                          vkr_hifigan_tap_fn tap, void *user)
{
    int64_t L = vkr_hifigan_output_length(&m->cfg, T);
    const int64_t sne[5] = {1, 1, B, T, m->cfg.model_in_dim}, wne[5] = {1, 1, 1, B, L};
    vkr_tensor s = {0}, w = {0};
    float *out = malloc((size_t)(B * L) * sizeof *out);
    int rc;
    if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, sne, &s)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, wne, &w)) ||
        (rc = vkr_tensor_upload(gpu, &s, spec, VKR_F32)) ||
        (rc = vkr_hifigan_forward(gpu, m, &s, &w, tap, user)) || (rc = vkr_tensor_download(gpu, &w, out, VKR_F32))) {
        CHECK(0, "hifigan forward B=%lld T=%lld: %s (status %d)", (long long)B, (long long)T, vkr_last_error(), rc);
        free(out);
        out = NULL;
    }
    vkr_tensor_free(gpu, &s);
    vkr_tensor_free(gpu, &w);
    return out;
}

static void test_golden(void)
{
    cJSON *cj = read_json(CASE_DIR "/case.json");
    CHECK(cj != NULL, "cannot read " CASE_DIR "/case.json");
    if (!cj)
        return;
    double tol_abs = case_tol(cj, "recommended_max_abs", "waveform");
    double tol_rel = case_tol(cj, "recommended_rel_l2", "waveform");
    CHECK(tol_abs > 0 && tol_rel > 0, "case.json has no waveform tolerance");

    vkr_safetensors io = {0}, dbg = {0};
    vkr_gpu *gpu = gt_open(NULL);
    vkr_hifigan m = {0}, m16 = {0};
    float *spec = NULL, *want = NULL, *got = NULL, *got16 = NULL;
    int64_t n_spec = 0, n_want = 0;
    GT_OK(vkr_st_open(&io, CASE_DIR "/io.safetensors"));
    GT_OK(vkr_st_open(&dbg, CASE_DIR "/debug.safetensors"));
    const vkr_st_tensor *sin = vkr_st_find(&io, "in.spectrogram");
    const vkr_st_tensor *sout = vkr_st_find(&io, "out.waveform");
    CHECK(sin && sin->ndim == 3 && sout && sout->ndim == 2, "io.safetensors: in.spectrogram (B,T,D), out.waveform (B,L)");
    if (!sin || sin->ndim != 3 || !sout || sout->ndim != 2)
        goto done;
    spec = vkr_st_load_f32(&io, "in.spectrogram", &n_spec);
    want = vkr_st_load_f32(&io, "out.waveform", &n_want);
    int rc = vkr_hifigan_load_files(gpu, CASE_DIR "/config.json", CASE_DIR "/weights.safetensors", VKR_F32, &m);
    GT_OK(rc);
    if (rc || !spec || !want)
        goto done;
    int64_t B = sin->shape[0], T = sin->shape[1];
    CHECK_EQ_INT(sin->shape[2], m.cfg.model_in_dim);
    CHECK_EQ_INT(vkr_hifigan_output_length(&m.cfg, T), sout->shape[1]);
    if (sin->shape[2] != m.cfg.model_in_dim || vkr_hifigan_output_length(&m.cfg, T) != sout->shape[1])
        goto done;

    printf("golden hifigan (B=%lld, T=%lld -> %lld samples), f32:\n", (long long)B, (long long)T,
           (long long)sout->shape[1]);
    dbg_taps taps = {.gpu = gpu, .dbg = &dbg};
    got = run_vocoder(gpu, &m, spec, B, T, tap_compare, &taps);
    CHECK_EQ_INT(taps.seen, m.cfg.num_upsamples + 2);
    if (got) {
        double ma, rl;
        errors(got, want, (size_t)n_want, &ma, &rl);
        printf("  out.waveform     max_abs %.3g (tol %.3g)  rel_l2 %.3g (tol %.3g)\n", ma, tol_abs, rl, tol_rel);
        CHECK(ma <= tol_abs, "out.waveform max_abs %.3g > %.3g", ma, tol_abs);
        CHECK(rl <= tol_rel, "out.waveform rel_l2 %.3g > %.3g", rl, tol_rel);
    }

    /* f16 weights, f32 activations: every weight rounded once (2^-11 relative);
     * measured rel_l2 ~1e-3 on this case, bound 4x that. */
    rc = vkr_hifigan_load_files(gpu, CASE_DIR "/config.json", CASE_DIR "/weights.safetensors", VKR_F16, &m16);
    GT_OK(rc);
    if (!rc && (got16 = run_vocoder(gpu, &m16, spec, B, T, NULL, NULL))) {
        double ma, rl;
        errors(got16, want, (size_t)n_want, &ma, &rl);
        printf("  f16 weights: out.waveform max_abs %.3g  rel_l2 %.3g\n", ma, rl);
        CHECK(rl <= 4e-3 && ma <= 1e-2, "f16 weights: rel_l2 %.3g, max_abs %.3g", rl, ma);
    }
done:
    free(spec);
    free(want);
    free(got);
    free(got16);
    vkr_hifigan_free(&m);
    vkr_hifigan_free(&m16);
    vkr_st_close(&io);
    vkr_st_close(&dbg);
    gt_close(gpu);
    cJSON_Delete(cj);
}

/* Batching and the split paths: the golden weights on a longer random input.
 * B = 2 must equal two B = 1 runs, and a context with a 320 KiB binding
 * window must give the same samples as the default window. At 320 KiB the
 * largest weight (128 KiB) and one batch element of every activation (C x L
 * <= 256 KiB: the conv never splits channels) fit, but the B = 2 activations
 * of the last four stages (512 KiB) do not: convs and eltwise ops split. */
static void test_batch_and_split(void)
{
    const int64_t B = 2, T = 200;
    uint64_t seed = 99;
    vkr_hifigan m = {0}, ms = {0};
    vkr_gpu *gpu = gt_open(NULL);
    int rc = vkr_hifigan_load_files(gpu, CASE_DIR "/config.json", CASE_DIR "/weights.safetensors", VKR_F32, &m);
    GT_OK(rc);
    if (rc) {
        gt_close(gpu);
        return;
    }
    int64_t D = m.cfg.model_in_dim, L = vkr_hifigan_output_length(&m.cfg, T);
    float *spec = malloc((size_t)(B * T * D) * sizeof *spec);
    gt_rand(spec, (size_t)(B * T * D), -6.f, 2.f, &seed); /* log-mel-like range */
    float *both = run_vocoder(gpu, &m, spec, B, T, NULL, NULL);
    for (int64_t b = 0; b < B && both; b++) {
        float *one = run_vocoder(gpu, &m, spec + b * T * D, 1, T, NULL, NULL);
        if (one) {
            double ma, rl;
            errors(both + b * L, one, (size_t)L, &ma, &rl);
            CHECK(ma <= 1e-6, "batch element %lld differs from its B=1 run: max_abs %.3g", (long long)b, ma);
        }
        free(one);
    }
    gt_close(gpu);

    vkr_gpu *small = gt_open(&(vkr_gpu_options){.max_binding_range = 320 << 10});
    rc = vkr_hifigan_load_files(small, CASE_DIR "/config.json", CASE_DIR "/weights.safetensors", VKR_F32, &ms);
    GT_OK(rc);
    float *split = rc ? NULL : run_vocoder(small, &ms, spec, B, T, NULL, NULL);
    if (split && both) {
        double ma, rl;
        errors(split, both, (size_t)(B * L), &ma, &rl);
        printf("batch 2 x %lld frames, 320 KiB binding window vs default: max_abs %.3g\n", (long long)T, ma);
        CHECK(ma <= 1e-6, "320 KiB binding window: max_abs %.3g vs the default window", ma);
    }
    gt_close(small);
    free(split);
    free(both);
    free(spec);
    vkr_hifigan_free(&m);
    vkr_hifigan_free(&ms);
}

/* ---- a safetensors writer for synthetic weight sets ------------------------ */

typedef struct {
    char name[96];
    int ndim;
    int64_t shape[3];
} st_entry;

typedef struct {
    st_entry *v;
    int n, cap;
} st_list;

static void st_add(st_list *l, const char *name, int ndim, int64_t a, int64_t b, int64_t c)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->v = realloc(l->v, (size_t)l->cap * sizeof *l->v);
    }
    st_entry *e = &l->v[l->n++];
    snprintf(e->name, sizeof e->name, "%s", name);
    e->ndim = ndim;
    e->shape[0] = a, e->shape[1] = b, e->shape[2] = c;
}

static int64_t st_numel(const st_entry *e)
{
    int64_t n = 1;
    for (int d = 0; d < e->ndim; d++)
        n *= e->shape[d];
    return n;
}

static void conv_entries(st_list *l, const char *prefix, int64_t a, int64_t b, int64_t k, int64_t bias)
{
    char n[96]; /* prefixes are short ("resblocks.11.convs1.2"); %.80s bounds them for the compiler */
    snprintf(n, sizeof n, "%.80s.weight", prefix);
    st_add(l, n, 3, a, b, k);
    snprintf(n, sizeof n, "%.80s.bias", prefix);
    st_add(l, n, 1, bias, 0, 0);
}

/* Every tensor transformers' SpeechT5HifiGan has for config c. */
static void hifigan_entries(const vkr_hifigan_config *c, st_list *l)
{
    char p[96];
    st_add(l, "mean", 1, c->model_in_dim, 0, 0);
    st_add(l, "scale", 1, c->model_in_dim, 0, 0);
    conv_entries(l, "conv_pre", c->upsample_initial_channel, c->model_in_dim, 7, c->upsample_initial_channel);
    for (int i = 0; i < c->num_upsamples; i++) {
        int64_t cin = i ? vkr_hifigan_stage_channels(c, i - 1) : c->upsample_initial_channel;
        int64_t ch = vkr_hifigan_stage_channels(c, i);
        snprintf(p, sizeof p, "upsampler.%d", i);
        conv_entries(l, p, cin, ch, c->upsample_kernel_sizes[i], ch);
        for (int j = 0; j < c->num_kernels; j++)
            for (int q = 0; q < c->num_dilations[j]; q++)
                for (int s = 1; s <= 2; s++) {
                    snprintf(p, sizeof p, "resblocks.%d.convs%d.%d", i * c->num_kernels + j, s, q);
                    conv_entries(l, p, ch, ch, c->resblock_kernel_sizes[j], ch);
                }
    }
    conv_entries(l, "conv_post", 1, vkr_hifigan_stage_channels(c, c->num_upsamples - 1), 7, 1);
}

/* Writes l as F16 safetensors with random values: weights N(0,1)/sqrt(fan_in)
 * (uniform with that variance; fan_in = shape[1] * k, or for upsamplers
 * shape[0] * k / rate as in the golden recipe, approximated by shape[0] * k / 4),
 * biases and buffers 0.05 * U(-1,1) (scale: 1 + that, it divides). */
static int write_random_f16(const char *path, const st_list *l, uint64_t seed)
{
    size_t cap = 256 + (size_t)l->n * 160, len = 0;
    char *hdr = malloc(cap);
    int64_t off = 0;
    len += (size_t)snprintf(hdr + len, cap - len, "{");
    for (int i = 0; i < l->n; i++) {
        const st_entry *e = &l->v[i];
        int64_t bytes = st_numel(e) * 2;
        len += (size_t)snprintf(hdr + len, cap - len, "%s\"%s\":{\"dtype\":\"F16\",\"shape\":[", i ? "," : "", e->name);
        for (int d = 0; d < e->ndim; d++)
            len += (size_t)snprintf(hdr + len, cap - len, "%s%lld", d ? "," : "", (long long)e->shape[d]);
        len += (size_t)snprintf(hdr + len, cap - len, "],\"data_offsets\":[%lld,%lld]}", (long long)off,
                                (long long)(off + bytes));
        off += bytes;
    }
    len += (size_t)snprintf(hdr + len, cap - len, "}");
    while (len % 8)
        hdr[len++] = ' ';
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(hdr);
        return 1;
    }
    uint64_t hl = len;
    int ok = fwrite(&hl, 8, 1, f) == 1 && fwrite(hdr, 1, len, f) == len;
    free(hdr);
    for (int i = 0; i < l->n && ok; i++) {
        const st_entry *e = &l->v[i];
        int64_t n = st_numel(e);
        int is_weight = e->ndim == 3;
        int is_up = strncmp(e->name, "upsampler.", 10) == 0;
        double fan_in = is_weight ? (is_up ? (double)e->shape[0] * e->shape[2] / 4 : (double)e->shape[1] * e->shape[2]) : 1;
        double a = is_weight ? sqrt(3.0 / fan_in) : 0.05;
        float base = strcmp(e->name, "scale") == 0 ? 1.0f : 0.0f;
        uint16_t buf[4096];
        for (int64_t k = 0; k < n && ok;) {
            int64_t c = n - k < 4096 ? n - k : 4096;
            for (int64_t q = 0; q < c; q++) {
                double u = (double)(gt_next(&seed) >> 11) * 0x1.0p-53 * 2 - 1;
                buf[q] = vkr_f32_to_f16(base + (float)(a * u));
            }
            ok = fwrite(buf, 2, (size_t)c, f) == (size_t)c;
            k += c;
        }
    }
    return fclose(f) == 0 && ok ? 0 : 1;
}

static int load_config_text(const char *json, vkr_config *cfg)
{
    cfg->path = "inline config.json";
    cfg->root = cJSON_Parse(json);
    return cfg->root ? 0 : 1;
}

static void test_config_errors(void)
{
    static const struct {
        const char *json;
        const char *what;
    } bad[] = {
        {"{\"upsample_rates\":[5,4],\"upsample_kernel_sizes\":[16]}", "kernel list shorter than rates"},
        {"{\"upsample_rates\":[5],\"upsample_kernel_sizes\":[4]}", "kernel < rate"},
        {"{\"resblock_kernel_sizes\":[3,4],\"resblock_dilation_sizes\":[[1],[1]]}", "even resblock kernel"},
        {"{\"resblock_kernel_sizes\":[3,7],\"resblock_dilation_sizes\":[[1,3]]}", "dilation lists != kernels"},
        {"{\"resblock_dilation_sizes\":[[1,3,5],[1,0,5],[1,3,5]]}", "dilation 0"},
        {"{\"resblock_dilation_sizes\":[1,3,5]}", "flat dilation list"},
        {"{\"upsample_initial_channel\":8,\"upsample_rates\":[2,2,2,2],\"upsample_kernel_sizes\":[4,4,4,4]}",
         "channels halved to 0"},
        {"{\"leaky_relu_slope\":\"0.1\"}", "slope as a string"},
        {"{\"normalize_before\":1}", "normalize_before as a number"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vkr_config cfg = {0};
        vkr_hifigan_config c;
        CHECK(load_config_text(bad[i].json, &cfg) == 0, "parse %s", bad[i].json);
        int rc = vkr_hifigan_config_parse(&cfg, &c);
        CHECK(rc == VKR_E_DATA, "%s: config_parse -> %d, expected VKR_E_DATA", bad[i].what, rc);
        cJSON_Delete(cfg.root);
    }
    /* {}: the SpeechT5HifiGanConfig defaults */
    vkr_config cfg = {0};
    vkr_hifigan_config c;
    load_config_text("{}", &cfg);
    GT_OK(vkr_hifigan_config_parse(&cfg, &c));
    cJSON_Delete(cfg.root);
    CHECK(c.model_in_dim == 80 && c.normalize_before && c.num_upsamples == 4 && c.upsample_rates[3] == 4 &&
              c.upsample_kernel_sizes[0] == 8 && c.upsample_initial_channel == 512 && c.num_kernels == 3 &&
              c.resblock_kernel_sizes[2] == 11 && c.num_dilations[1] == 3 && c.resblock_dilation_sizes[2][2] == 5 &&
              fabsf(c.leaky_relu_slope - 0.1f) < 1e-7f && c.sampling_rate == 16000,
          "defaults differ from SpeechT5HifiGanConfig's");
    /* the golden case's lengths: 12 -> 61 -> 244 -> 488 -> 976 -> 1952 */
    vkr_config g = {0};
    GT_OK(vkr_cfg_load(&g, CASE_DIR "/config.json"));
    GT_OK(vkr_hifigan_config_parse(&g, &c));
    vkr_cfg_free(&g);
    CHECK_EQ_INT(vkr_hifigan_stage_length(&c, 0, 12), 61);
    CHECK_EQ_INT(vkr_hifigan_output_length(&c, 12), 1952);
    CHECK_EQ_INT(vkr_hifigan_output_length(&c, 1024), 163840 + 32);
}

/* A small normalize_before model with synthetic weights: the weight-set
 * checks (missing, wrong shape, unexpected tensors) and normalize_before
 * against the same model fed a host-normalised spectrogram. */
static void test_weight_sets(void)
{
    static const char *json = "{\"model_in_dim\":5,\"upsample_initial_channel\":8,\"upsample_rates\":[3,2],"
                              "\"upsample_kernel_sizes\":[7,4],\"resblock_kernel_sizes\":[3,7],"
                              "\"resblock_dilation_sizes\":[[1,3],[5]],\"leaky_relu_slope\":0.2,"
                              "\"normalize_before\":true}";
    char path[] = "/tmp/vkreel_hifigan_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0)
        return;
    close(fd);
    vkr_config cfg = {0};
    vkr_hifigan_config c;
    load_config_text(json, &cfg);
    GT_OK(vkr_hifigan_config_parse(&cfg, &c));
    cJSON_Delete(cfg.root);
    st_list full = {0};
    hifigan_entries(&c, &full);
    vkr_gpu *gpu = gt_open(NULL);

    /* 0: complete; 1: one missing; 2: one with a wrong shape; 3: one extra */
    for (int variant = 0; variant < 4; variant++) {
        st_list l = full;
        st_entry keep = {{0}, 0, {0}};
        if (variant == 1)
            l.n--; /* conv_post.bias... the last entry */
        if (variant == 2) {
            keep = l.v[4]; /* upsampler.0.weight */
            l.v[4].shape[2]++;
        }
        if (variant == 3)
            st_add(&l, "upsampler.9.weight", 1, 4, 0, 0), full = l;
        CHECK(write_random_f16(path, &l, 7) == 0, "write %s", path);
        vkr_weights *w = NULL;
        vkr_hifigan m = {0};
        int rc = vkr_weights_open(&w, path);
        GT_OK(rc);
        if (!rc)
            rc = vkr_hifigan_load(gpu, &c, w, VKR_F32, &m);
        vkr_weights_close(w);
        if (variant == 2)
            l.v[4] = keep;
        if (variant == 3)
            full.n--; /* drop the extra entry again */
        if (variant == 0) {
            GT_OK(rc);
        } else {
            CHECK(rc == VKR_E_DATA, "variant %d: load -> %d, expected VKR_E_DATA", variant, rc);
            const char *e = vkr_last_error();
            const char *want = variant == 1 ? "conv_post" : variant == 2 ? l.v[4].name : "upsampler.9.weight";
            CHECK(strstr(e, want) != NULL, "variant %d: error \"%s\" does not name %s", variant, e, want);
        }
        if (variant == 0 && !rc) {
            /* normalize_before: run raw x, and x' = (x - mean) / scale through a
             * copy of the model with normalize_before off: same samples. */
            const int64_t T = 9, D = c.model_in_dim;
            uint64_t seed = 3;
            float x[9 * 5], xn[9 * 5], mean[5], scale[5];
            gt_rand(x, (size_t)(T * D), -3, 3, &seed);
            GT_OK(vkr_tensor_download(gpu, &m.mean, mean, VKR_F32));
            GT_OK(vkr_tensor_download(gpu, &m.scale, scale, VKR_F32));
            for (int64_t t = 0; t < T; t++)
                for (int64_t d = 0; d < D; d++)
                    xn[t * D + d] = (x[t * D + d] - mean[d]) / scale[d];
            vkr_hifigan plain = m;
            plain.cfg.normalize_before = false;
            float *a = run_vocoder(gpu, &m, x, 1, T, NULL, NULL), *b = run_vocoder(gpu, &plain, xn, 1, T, NULL, NULL);
            if (a && b) {
                double ma, rl;
                errors(a, b, (size_t)vkr_hifigan_output_length(&c, T), &ma, &rl);
                CHECK(ma <= 1e-6, "normalize_before: max_abs %.3g vs host-normalised input", ma);
                CHECK_EQ_INT(vkr_hifigan_output_length(&c, T), ((9 - 1) * 3 - 2 * 2 + 7 - 1) * 2 - 2 + 4);
            }
            free(a);
            free(b);
        }
        vkr_hifigan_free(&m);
    }
    free(full.v);
    gt_close(gpu);
    unlink(path);
}

/* ---- real size ------------------------------------------------------------- */

static void test_real_size(int64_t T)
{
    vkr_config cfg = {0};
    vkr_hifigan_config c;
    GT_OK(vkr_cfg_load(&cfg, REAL_CONFIG));
    GT_OK(vkr_hifigan_config_parse(&cfg, &c));
    vkr_cfg_free(&cfg);
    st_list l = {0};
    hifigan_entries(&c, &l);
    int64_t params = 0;
    for (int i = 0; i < l.n; i++)
        params += st_numel(&l.v[i]);
    char path[] = "/tmp/vkreel_hifigan_real_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0)
        return;
    close(fd);
    double t0 = now_s();
    CHECK(write_random_f16(path, &l, 1234) == 0, "write %s", path);
    free(l.v);
    double t1 = now_s();

    vkr_gpu *gpu = gt_open(NULL);
    vkr_weights *w = NULL;
    vkr_hifigan m = {0};
    int rc = vkr_weights_open(&w, path);
    if (!rc)
        rc = vkr_hifigan_load(gpu, &c, w, VKR_F32, &m);
    vkr_weights_close(w);
    unlink(path);
    GT_OK(rc);
    double t2 = now_s();
    int64_t D = c.model_in_dim, L = vkr_hifigan_output_length(&c, T);
    float *spec = malloc((size_t)(T * D) * sizeof *spec);
    uint64_t seed = 5;
    gt_rand(spec, (size_t)(T * D), -6.f, 2.f, &seed);
    float *out = rc ? NULL : run_vocoder(gpu, &m, spec, 1, T, NULL, NULL);
    double t3 = now_s();
    vkr_gpu_mem_stats st;
    vkr_gpu_memory_stats(gpu, &st);
    printf("real config (%s), %lld params, %lld frames -> %lld samples (%.2f s at %d Hz)\n", REAL_CONFIG,
           (long long)params, (long long)T, (long long)L, (double)L / c.sampling_rate, c.sampling_rate);
    printf("  write random f16 weights %.1f s, load %.1f s, forward %.1f s; device memory peak %.0f MiB "
           "(tensors %.0f MiB)\n",
           t1 - t0, t2 - t1, t3 - t2, st.device_allocated_peak / 1048576.0, st.tensors_in_use_peak / 1048576.0);
    if (out) {
        double sum2 = 0, peak = 0;
        int64_t bad = 0;
        for (int64_t i = 0; i < L; i++) {
            if (!(fabsf(out[i]) <= 1.0f))
                bad++;
            sum2 += (double)out[i] * out[i];
            peak = fmax(peak, fabs(out[i]));
        }
        printf("  waveform rms %.4f peak %.4f\n", sqrt(sum2 / (double)L), peak);
        CHECK(bad == 0, "%lld samples non-finite or outside [-1, 1]", (long long)bad);
        CHECK(sqrt(sum2 / (double)L) > 1e-3, "silent output (rms %.3g)", sqrt(sum2 / (double)L));

        /* HiFi-GAN is local (receptive radius ~22 frames for this config):
         * frames [a, a + n) alone reproduce the long run's samples of frames
         * [a + 48, a + n - 48), shifted by a * prod(rates). */
        int64_t a = T / 2 - 64, n = 128, P = 1;
        for (int i = 0; i < c.num_upsamples; i++)
            P *= c.upsample_rates[i];
        if (a >= 0 && a + n <= T) {
            float *crop = run_vocoder(gpu, &m, spec + a * D, 1, n, NULL, NULL);
            if (crop) {
                int64_t s0 = 48 * P, s1 = (n - 48) * P;
                double ma, rl;
                errors(crop + s0, out + a * P + s0, (size_t)(s1 - s0), &ma, &rl);
                printf("  crop of %lld frames vs the long run (interior %lld samples): max_abs %.3g rel_l2 %.3g\n",
                       (long long)n, (long long)(s1 - s0), ma, rl);
                CHECK(ma <= 1e-5, "crop vs long run: max_abs %.3g", ma);
            }
            free(crop);
        }
    }
    free(out);
    free(spec);
    vkr_hifigan_free(&m);
    gt_close(gpu);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--real") == 0) {
        test_real_size(argc >= 3 ? atoll(argv[2]) : 1024);
        return check_summary("test_hifigan_golden --real");
    }
    test_config_errors();
    test_golden();
    test_batch_and_split();
    test_weight_sets();
    return check_summary("test_hifigan_golden");
}
