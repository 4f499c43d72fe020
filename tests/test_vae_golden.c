/* AutoencoderKL on the Vulkan engine vs the diffusers golden cases
 * (tests/golden/vae_decoder: SD-style image VAE; tests/golden/vae_mel:
 * AudioLDM's mel VAE), f32 activations and weights:
 *   - decode(z).sample, encode(x).latent_dist.mean / .logvar within case.json's
 *     recommended_max_abs / recommended_rel_l2 (errors printed);
 *   - the batch decoded as the frames of one video equals the image decode;
 *   - frame-chunked decode (1 frame at a time, and from a memory budget) equals
 *     the whole decode;
 *   - tiled decode equals a host re-implementation of diffusers' tiled_decode
 *     on independently decoded tiles, stays close to the untiled decode, and
 *     shows no seam (jumps across tile edges like those elsewhere);
 *   - config errors and shape checks (unknown block type, missing tensor). */
#include "gpu_test.h"

#include "gpu/ops_eltwise.h"
#include "model/safetensors.h"
#include "vae/autoencoder_kl.h"

#include <cjson/cJSON.h>
#include <unistd.h>

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = 0;
    fclose(f);
    return s;
}

typedef struct {
    double max_abs, rel_l2;
} tol_t;

static tol_t case_tol(const char *dir, const char *out)
{
    char path[512];
    snprintf(path, sizeof path, "%s/case.json", dir);
    char *txt = read_text(path);
    cJSON *j = txt ? cJSON_Parse(txt) : NULL;
    free(txt);
    tol_t t = {0, 0};
    cJSON *tol = cJSON_GetObjectItem(j, "tolerance");
    cJSON *ma = cJSON_GetObjectItem(cJSON_GetObjectItem(tol, "recommended_max_abs"), out);
    cJSON *rl = cJSON_GetObjectItem(cJSON_GetObjectItem(tol, "recommended_rel_l2"), out);
    CHECK(cJSON_IsNumber(ma) && cJSON_IsNumber(rl), "%s: no tolerance for %s", dir, out);
    if (cJSON_IsNumber(ma))
        t.max_abs = ma->valuedouble;
    if (cJSON_IsNumber(rl))
        t.rel_l2 = rl->valuedouble;
    cJSON_Delete(j);
    return t;
}

/* max |a - b|, ||a - b|| / ||b||; worst index in *worst. */
static void errors(const float *a, const float *b, size_t n, double *max_abs, double *rel, size_t *worst)
{
    double m = 0, num = 0, den = 0;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= m)) /* NaN counts as worst */
            m = isnan(d) ? INFINITY : d, wi = i;
        num += d * d;
        den += (double)b[i] * b[i];
    }
    *max_abs = m;
    *rel = sqrt(num) / (den > 0 ? sqrt(den) : 1);
    if (worst)
        *worst = wi;
}

static void compare_out(const char *what, const float *got, const float *want, size_t n, tol_t t)
{
    double m, r;
    size_t wi;
    errors(got, want, n, &m, &r, &wi);
    printf("  %-28s max_abs %.3g (tol %.3g)  rel_l2 %.3g (tol %.3g)\n", what, m, t.max_abs, r, t.rel_l2);
    CHECK(m <= t.max_abs && r <= t.rel_l2, "%s: max_abs %.3g (tol %g) at flat index %zu: got %.9g expected %.9g; "
          "rel_l2 %.3g (tol %g)", what, m, t.max_abs, wi, got[wi], want[wi], r, t.rel_l2);
}

/* Uploads a host NCHW tensor as {N, C, 1, H, W}. */
static vkr_tensor upload_nchw(vkr_gpu *gpu, const float *host, const int64_t *shape)
{
    const int64_t ne[5] = {shape[0], shape[1], 1, shape[2], shape[3]};
    vkr_tensor t = {0};
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne, &t));
    GT_OK(vkr_tensor_upload(gpu, &t, host, VKR_F32));
    return t;
}

static float *download(vkr_gpu *gpu, const vkr_tensor *t)
{
    float *h = malloc((size_t)vkr_tensor_nelem(t) * sizeof(float));
    GT_OK(vkr_tensor_download(gpu, t, h, VKR_F32));
    return h;
}

static float *io_tensor(const vkr_safetensors *io, const char *name, int64_t shape[4])
{
    const vkr_st_tensor *t = vkr_st_find(io, name);
    CHECK(t && t->ndim == 4, "io tensor %s missing or not 4-D", name);
    if (!t || t->ndim != 4)
        return NULL;
    for (int i = 0; i < 4; i++)
        shape[i] = t->shape[i];
    int64_t n;
    return vkr_st_load_f32(io, name, &n);
}

static void golden_case(vkr_gpu *gpu, const char *dir, const char *x_name, int has_logvar)
{
    printf("%s\n", dir);
    vkr_vae vae;
    int rc = vkr_vae_load(gpu, dir, VKR_F32, &vae);
    CHECK(rc == 0, "vkr_vae_load(%s): %s", dir, vkr_last_error());
    if (rc)
        return;
    char path[512];
    snprintf(path, sizeof path, "%s/io.safetensors", dir);
    vkr_safetensors io;
    GT_OK(vkr_st_open(&io, path));
    int64_t zs[4], xs[4], ss[4], ms[4], ls[4];
    float *z = io_tensor(&io, "in.z", zs), *x = io_tensor(&io, x_name, xs);
    float *want_sample = io_tensor(&io, "out.sample", ss), *want_mean = io_tensor(&io, "out.latent_mean", ms);
    float *want_logvar = has_logvar ? io_tensor(&io, "out.latent_logvar", ls) : NULL;

    /* decode */
    vkr_tensor tz = upload_nchw(gpu, z, zs), out = {0};
    GT_OK(vkr_vae_decode(gpu, &vae, &tz, &out));
    CHECK(out.ne[0] == ss[0] && out.ne[1] == ss[1] && out.ne[2] == 1 && out.ne[3] == ss[2] && out.ne[4] == ss[3],
          "decode shape %lldx%lldx%lldx%lldx%lld", (long long)out.ne[0], (long long)out.ne[1], (long long)out.ne[2],
          (long long)out.ne[3], (long long)out.ne[4]);
    float *got = download(gpu, &out);
    size_t nsample = (size_t)(ss[0] * ss[1] * ss[2] * ss[3]);
    compare_out("decode sample", got, want_sample, nsample, case_tol(dir, "sample"));

    /* the batch as the frames of one video: z (B, C, h, w) -> {1, C, B, h, w} */
    {
        int64_t b = zs[0], c = zs[1], hw = zs[2] * zs[3];
        float *zv = malloc((size_t)(b * c * hw) * sizeof(float));
        for (int64_t bi = 0; bi < b; bi++)
            for (int64_t ci = 0; ci < c; ci++)
                memcpy(zv + (ci * b + bi) * hw, z + (bi * c + ci) * hw, (size_t)hw * sizeof(float));
        const int64_t vne[5] = {1, c, b, zs[2], zs[3]};
        vkr_tensor tv, ov = {0}, oc = {0};
        GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, vne, &tv));
        GT_OK(vkr_tensor_upload(gpu, &tv, zv, VKR_F32));
        GT_OK(vkr_vae_decode(gpu, &vae, &tv, &ov));
        float *gv = download(gpu, &ov);
        /* frame f of the video = image f of the batch */
        int64_t oc_ = ss[1], ohw = ss[2] * ss[3];
        float *back = malloc(nsample * sizeof(float));
        for (int64_t bi = 0; bi < b; bi++)
            for (int64_t ci = 0; ci < oc_; ci++)
                memcpy(back + (bi * oc_ + ci) * ohw, gv + (ci * b + bi) * ohw, (size_t)ohw * sizeof(float));
        compare_out("decode video frames", back, want_sample, nsample, case_tol(dir, "sample"));
        /* chunked: one frame at a time, then from a budget that fits one frame */
        GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ov.ne, &oc));
        const vkr_vae_decode_opts one = {.frames_per_chunk = 1};
        GT_OK(vkr_vae_decode_into(gpu, &vae, &tv, &one, &oc));
        float *gc = download(gpu, &oc);
        double m, r;
        errors(gc, gv, nsample, &m, &r, NULL);
        printf("  chunked (1 frame) vs whole: max_abs %.3g\n", m);
        CHECK(m <= 1e-6, "chunked decode differs from the whole decode by %g", m);
        free(gc);
        const vkr_vae_decode_opts budget = {.memory_budget = vkr_vae_decode_bytes(&vae, 1, zs[2], zs[3])};
        GT_OK(vkr_op_fill(gpu, &oc, NAN));
        GT_OK(vkr_vae_decode_into(gpu, &vae, &tv, &budget, &oc));
        gc = download(gpu, &oc);
        errors(gc, gv, nsample, &m, &r, NULL);
        CHECK(m <= 1e-6, "budget-chunked decode differs from the whole decode by %g", m);
        free(gc);
        free(gv);
        free(back);
        free(zv);
        vkr_tensor_free(gpu, &tv);
        vkr_tensor_free(gpu, &ov);
        vkr_tensor_free(gpu, &oc);
    }

    /* encode */
    vkr_tensor tx = upload_nchw(gpu, x, xs), mean = {0}, logvar = {0};
    GT_OK(vkr_vae_encode(gpu, &vae, &tx, &mean, &logvar));
    size_t nlat = (size_t)(ms[0] * ms[1] * ms[2] * ms[3]);
    CHECK(vkr_tensor_nelem(&mean) == (int64_t)nlat, "mean has %lld elements", (long long)vkr_tensor_nelem(&mean));
    if (vkr_tensor_nelem(&mean) == (int64_t)nlat) {
        float *gm = download(gpu, &mean);
        compare_out("encode latent_mean", gm, want_mean, nlat, case_tol(dir, "latent_mean"));
        free(gm);
        if (want_logvar) {
            float *gl = download(gpu, &logvar);
            compare_out("encode latent_logvar", gl, want_logvar, nlat, case_tol(dir, "latent_logvar"));
            free(gl);
        }
    }
    vkr_tensor_free(gpu, &mean);
    vkr_tensor_free(gpu, &logvar);
    vkr_tensor_free(gpu, &tx);
    vkr_tensor_free(gpu, &tz);
    vkr_tensor_free(gpu, &out);
    free(got);
    free(z);
    free(x);
    free(want_sample);
    free(want_mean);
    free(want_logvar);
    vkr_st_close(&io);
    vkr_vae_free(&vae);
    vkr_gpu_weights_reset(gpu);
}

/* ---- tiled decode ---- */

/* diffusers blend_v / blend_h on host tiles [C][th][tw] (N = F = 1). */
typedef struct {
    float *d;
    int64_t c, h, w;
} htile;

static void blend_host(const htile *a, htile *b, int vertical, int64_t e)
{
    int64_t ea = vertical ? a->h : a->w, eb = vertical ? b->h : b->w;
    if (ea < e)
        e = ea;
    if (eb < e)
        e = eb;
    for (int64_t c = 0; c < b->c; c++)
        for (int64_t y = 0; y < e; y++) {
            float wa = (float)(1.0 - (double)y / e), wb = (float)((double)y / e);
            int64_t len = vertical ? b->w : b->h;
            for (int64_t i = 0; i < len; i++) {
                float *pb = vertical ? &b->d[(c * b->h + y) * b->w + i] : &b->d[(c * b->h + i) * b->w + y];
                float pa = vertical ? a->d[(c * a->h + a->h - e + y) * a->w + i] : a->d[(c * a->h + i) * a->w + a->w - e + y];
                *pb = pa * wa + *pb * wb;
            }
        }
}

static void tiled_case(vkr_gpu *gpu, const char *dir, int64_t lh, int64_t lw, int tl)
{
    vkr_vae vae;
    GT_OK(vkr_vae_load_ex(gpu, dir, VKR_F32, VKR_VAE_LOAD_DECODER, &vae));
    const int s = vkr_vae_scale_factor(&vae.cfg);
    const int64_t c = vae.cfg.latent_channels, oc = vae.cfg.out_channels;
    const int64_t zne[5] = {1, c, 1, lh, lw};
    /* smooth latent: low-frequency waves plus a little noise */
    size_t nz = (size_t)(c * lh * lw);
    float *z = malloc(nz * sizeof(float));
    uint64_t seed = 7;
    for (int64_t ci = 0; ci < c; ci++)
        for (int64_t y = 0; y < lh; y++)
            for (int64_t x = 0; x < lw; x++)
                z[(ci * lh + y) * lw + x] = (float)(sin(0.3 * y + ci) * cos(0.25 * x - ci) +
                                                    0.1 * ((double)(gt_next(&seed) >> 11) / 9007199254740992.0 - 0.5));
    vkr_tensor tz, whole = {0}, tiled;
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, zne, &tz));
    GT_OK(vkr_tensor_upload(gpu, &tz, z, VKR_F32));
    GT_OK(vkr_vae_decode(gpu, &vae, &tz, &whole));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, whole.ne, &tiled));
    GT_OK(vkr_op_fill(gpu, &tiled, NAN));
    const vkr_vae_decode_opts topt = {.tile_latent = tl};
    GT_OK(vkr_vae_decode_into(gpu, &vae, &tz, &topt, &tiled));
    float *gw = download(gpu, &whole), *gt = download(gpu, &tiled);
    const int64_t H = lh * s, W = lw * s;
    size_t n = (size_t)(oc * H * W);

    /* host re-implementation of tiled_decode from per-tile decodes */
    const int64_t step = tl - tl / 4, e = (int64_t)tl * s / 4, keep = (int64_t)tl * s - e;
    const int64_t rows = (lh + step - 1) / step, cols = (lw + step - 1) / step;
    htile *tiles = calloc((size_t)(rows * cols), sizeof *tiles);
    float *ref = malloc(n * sizeof(float));
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) {
            vkr_tensor zt, ot = {0};
            int64_t th = lh - i * step < tl ? lh - i * step : tl, tw = lw - j * step < tl ? lw - j * step : tl;
            GT_OK(vkr_tensor_slice(&tz, 3, i * step, th, &zt));
            GT_OK(vkr_tensor_slice(&zt, 4, j * step, tw, &zt));
            GT_OK(vkr_vae_decode(gpu, &vae, &zt, &ot));
            htile *t = &tiles[i * cols + j];
            *t = (htile){download(gpu, &ot), oc, th * s, tw * s};
            vkr_tensor_free(gpu, &ot);
            if (i > 0)
                blend_host(&tiles[(i - 1) * cols + j], t, 1, e);
            if (j > 0)
                blend_host(&tiles[i * cols + j - 1], t, 0, e);
            for (int64_t ci = 0; ci < oc; ci++)
                for (int64_t y = 0; y < t->h && y < keep; y++)
                    for (int64_t x = 0; x < t->w && x < keep; x++)
                        ref[(ci * H + i * step * s + y) * W + j * step * s + x] = t->d[(ci * t->h + y) * t->w + x];
        }
    double m, r;
    errors(gt, ref, n, &m, &r, NULL);
    printf("  tiled %lldx%lld latent, tile %d: vs host tiled_decode max_abs %.3g rel_l2 %.3g\n", (long long)lh,
           (long long)lw, tl, m, r);
    CHECK(m <= 1e-5, "tiled decode vs host tiled_decode: max_abs %g", m);
    errors(gt, gw, n, &m, &r, NULL);
    /* Informative: tiles see only part of the image (their own GroupNorm
     * statistics and attention context), so tiled decode approximates the
     * whole decode; with these random-weight tiny VAEs and 16-32 px tiles the
     * difference is large (trained VAEs on real latents are far closer). */
    printf("  tiled vs untiled (informative): max_abs %.3g rel_l2 %.3g\n", m, r);
    /* Seams: the step between the last row/column of one tile's kept part and
     * the first of the next must not exceed the largest step the decoder
     * itself produces inside any tile (the blend starts from the neighbour's
     * own continuation). Without the blend it would be a jump between two
     * independent decodes. */
    double jump_edge = 0, jump_inside = 0;
    for (int64_t t = 0; t < rows * cols; t++) {
        const htile *h = &tiles[t];
        for (int64_t ci = 0; ci < h->c; ci++)
            for (int64_t y = 0; y < h->h; y++)
                for (int64_t x = 0; x < h->w; x++) {
                    float v = h->d[(ci * h->h + y) * h->w + x];
                    if (y > 0 && fabs(v - h->d[(ci * h->h + y - 1) * h->w + x]) > jump_inside)
                        jump_inside = fabs(v - h->d[(ci * h->h + y - 1) * h->w + x]);
                    if (x > 0 && fabs(v - h->d[(ci * h->h + y) * h->w + x - 1]) > jump_inside)
                        jump_inside = fabs(v - h->d[(ci * h->h + y) * h->w + x - 1]);
                }
    }
    for (int64_t ci = 0; ci < oc; ci++)
        for (int64_t k = 1; k < rows + cols; k++) {
            int vertical = k < rows;
            int64_t edge = (vertical ? k : k - rows + 1) * step * s; /* first row/col of a new tile */
            if (edge >= (vertical ? H : W))
                continue;
            int64_t len = vertical ? W : H;
            for (int64_t p = 0; p < len; p++) {
                size_t i1 = vertical ? (size_t)((ci * H + edge) * W + p) : (size_t)((ci * H + p) * W + edge);
                size_t i0 = vertical ? i1 - (size_t)W : i1 - 1;
                double jt = fabs((double)gt[i1] - gt[i0]);
                if (jt > jump_edge)
                    jump_edge = jt;
            }
        }
    printf("  largest step across tile edges %.3g, inside tiles %.3g\n", jump_edge, jump_inside);
    CHECK(jump_edge <= jump_inside + 1e-5, "seam: step %g across a tile edge exceeds the in-tile maximum %g",
          jump_edge, jump_inside);

    /* a memory budget smaller than one frame selects the tiled path */
    const vkr_vae_decode_opts budget = {.memory_budget = vkr_vae_decode_bytes(&vae, 1, lh, lw) / 2};
    GT_OK(vkr_op_fill(gpu, &tiled, NAN));
    GT_OK(vkr_vae_decode_into(gpu, &vae, &tz, &budget, &tiled));
    float *gb = download(gpu, &tiled);
    int finite = 1;
    for (size_t i = 0; i < n; i++)
        finite &= isfinite(gb[i]) != 0;
    errors(gb, gw, n, &m, &r, NULL);
    errors(gb, gt, n, &m, &r, NULL);
    /* the budget picks its own tile size; it must have tiled (differ from the whole decode) and be finite */
    double mw, rw;
    errors(gb, gw, n, &mw, &rw, NULL);
    printf("  budget-tiled: vs untiled rel_l2 %.3g\n", rw);
    CHECK(finite && rw > 1e-3, "budget-tiled decode: finite %d, rel_l2 vs untiled %g (not tiled?)", finite, rw);
    free(gb);

    for (int64_t i = 0; i < rows * cols; i++)
        free(tiles[i].d);
    free(tiles);
    free(ref);
    free(gw);
    free(gt);
    free(z);
    vkr_tensor_free(gpu, &tz);
    vkr_tensor_free(gpu, &whole);
    vkr_tensor_free(gpu, &tiled);
    vkr_vae_free(&vae);
    vkr_gpu_weights_reset(gpu);
}

/* f16 weights (real checkpoints on GPUs), f32 activations (force_upcast):
 * only the weights are rounded, so the decode stays close to the reference. */
static void f16_weights(vkr_gpu *gpu, const char *dir)
{
    vkr_vae vae;
    GT_OK(vkr_vae_load_ex(gpu, dir, VKR_F16, VKR_VAE_LOAD_DECODER, &vae));
    char path[512];
    snprintf(path, sizeof path, "%s/io.safetensors", dir);
    vkr_safetensors io;
    GT_OK(vkr_st_open(&io, path));
    int64_t zs[4], ss[4];
    float *z = io_tensor(&io, "in.z", zs), *want = io_tensor(&io, "out.sample", ss);
    vkr_tensor tz = upload_nchw(gpu, z, zs), out = {0};
    GT_OK(vkr_vae_decode(gpu, &vae, &tz, &out));
    float *got = download(gpu, &out);
    double m, r;
    errors(got, want, (size_t)(ss[0] * ss[1] * ss[2] * ss[3]), &m, &r, NULL);
    printf("  %s decode with f16 weights: max_abs %.3g rel_l2 %.3g (bound 1e-2 / 2e-3)\n", dir, m, r);
    CHECK(m <= 1e-2 && r <= 2e-3, "f16 weights: max_abs %g rel_l2 %g", m, r);
    free(got);
    free(z);
    free(want);
    vkr_tensor_free(gpu, &tz);
    vkr_tensor_free(gpu, &out);
    vkr_st_close(&io);
    vkr_vae_free(&vae);
    vkr_gpu_weights_reset(gpu);
}

/* Legacy attention names (diffusers < 0.20 checkpoints, e.g. the published
 * ModelScope / AudioLDM VAEs): a copy of the golden weights with to_q/to_k/
 * to_v/to_out.0 renamed query/key/value/proj_attn decodes the same. */
static void legacy_names(vkr_gpu *gpu, const char *dir)
{
    char path[512], tmpdir[] = "/tmp/vkr_test_vae_legacy_XXXXXX";
    if (!mkdtemp(tmpdir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    snprintf(path, sizeof path, "%s/weights.safetensors", dir);
    vkr_safetensors st;
    GT_OK(vkr_st_open(&st, path));
    /* header */
    size_t cap = 1 << 16, len = 0;
    char *hdr = malloc(cap);
    len += (size_t)snprintf(hdr + len, cap - len, "{");
    int64_t off = 0;
    for (int i = 0; i < st.n_tensors; i++) {
        const vkr_st_tensor *t = &st.tensors[i];
        char name[256];
        snprintf(name, sizeof name, "%s", t->name);
        static const char *const from[4] = {".to_q.", ".to_k.", ".to_v.", ".to_out.0."};
        static const char *const to[4] = {".query.", ".key.", ".value.", ".proj_attn."};
        for (int k = 0; k < 4; k++) {
            char *p = strstr(name, from[k]);
            if (p) {
                char tail[256];
                snprintf(tail, sizeof tail, "%s", p + strlen(from[k]));
                snprintf(p, sizeof name - (size_t)(p - name), "%s%s", to[k], tail);
            }
        }
        len += (size_t)snprintf(hdr + len, cap - len, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[", i ? "," : "", name);
        for (int d = 0; d < t->ndim; d++)
            len += (size_t)snprintf(hdr + len, cap - len, "%s%lld", d ? "," : "", (long long)t->shape[d]);
        len += (size_t)snprintf(hdr + len, cap - len, "],\"data_offsets\":[%lld,%lld]}", (long long)off,
                                (long long)(off + (int64_t)t->nbytes));
        off += (int64_t)t->nbytes;
    }
    len += (size_t)snprintf(hdr + len, cap - len, "}");
    while (len % 8)
        hdr[len++] = ' ';
    snprintf(path, sizeof path, "%s/weights.safetensors", tmpdir);
    FILE *f = fopen(path, "wb");
    if (f) {
        uint64_t hl = len;
        fwrite(&hl, 8, 1, f);
        fwrite(hdr, 1, len, f);
        for (int i = 0; i < st.n_tensors; i++)
            fwrite(st.tensors[i].data, 1, st.tensors[i].nbytes, f);
        fclose(f);
    }
    free(hdr);
    vkr_st_close(&st);
    char cfg_src[512], cfg_dst[512];
    snprintf(cfg_src, sizeof cfg_src, "%s/config.json", dir);
    snprintf(cfg_dst, sizeof cfg_dst, "%s/config.json", tmpdir);
    char *cfg = read_text(cfg_src);
    f = fopen(cfg_dst, "w");
    if (f && cfg)
        fputs(cfg, f);
    if (f)
        fclose(f);
    free(cfg);

    vkr_vae vae;
    int rc = vkr_vae_load(gpu, tmpdir, VKR_F32, &vae);
    CHECK(rc == 0, "legacy names: %s", vkr_last_error());
    if (!rc) {
        snprintf(path, sizeof path, "%s/io.safetensors", dir);
        vkr_safetensors io;
        GT_OK(vkr_st_open(&io, path));
        int64_t zs[4], ss[4];
        float *z = io_tensor(&io, "in.z", zs), *want = io_tensor(&io, "out.sample", ss);
        vkr_tensor tz = upload_nchw(gpu, z, zs), out = {0};
        GT_OK(vkr_vae_decode(gpu, &vae, &tz, &out));
        float *got = download(gpu, &out);
        compare_out("decode, legacy attention names", got, want, (size_t)(ss[0] * ss[1] * ss[2] * ss[3]),
                    case_tol(dir, "sample"));
        free(got);
        free(z);
        free(want);
        vkr_tensor_free(gpu, &tz);
        vkr_tensor_free(gpu, &out);
        vkr_st_close(&io);
        vkr_vae_free(&vae);
    }
    vkr_gpu_weights_reset(gpu);
    snprintf(path, sizeof path, "%s/weights.safetensors", tmpdir);
    remove(path);
    remove(cfg_dst);
    rmdir(tmpdir);
}

static void config_errors(void)
{
    vkr_vae_config cfg;
    CHECK(vkr_vae_config_load("tests/golden/vae_mel/config.json", &cfg) == 0, "%s", vkr_last_error());
    CHECK_EQ_INT(cfg.n_blocks, 3);
    CHECK_EQ_INT(cfg.latent_channels, 8);
    CHECK_EQ_INT(vkr_vae_scale_factor(&cfg), 4);
    CHECK(cfg.force_upcast == 1 && cfg.mid_block_add_attention == 1, "flags");
    char bad[] = "/tmp/vkr_test_vae_config_XXXXXX";
    int fd = mkstemp(bad);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f) {
        fputs("{\"block_out_channels\": [32, 48], \"down_block_types\": [\"DownEncoderBlock2D\", \"AttnDownEncoderBlock2D\"],"
              " \"up_block_types\": [\"UpDecoderBlock2D\", \"UpDecoderBlock2D\"], \"norm_num_groups\": 8}", f);
        fclose(f);
        int rc = vkr_vae_config_load(bad, &cfg);
        CHECK(rc == VKR_E_DATA && strstr(vkr_last_error(), "AttnDownEncoderBlock2D"), "rc %d: %s", rc, vkr_last_error());
        f = fopen(bad, "w");
        if (!f)
            return;
        fputs("{\"block_out_channels\": [30, 48], \"norm_num_groups\": 8, \"down_block_types\": [\"DownEncoderBlock2D\", "
              "\"DownEncoderBlock2D\"], \"up_block_types\": [\"UpDecoderBlock2D\", \"UpDecoderBlock2D\"]}", f);
        fclose(f);
        rc = vkr_vae_config_load(bad, &cfg);
        CHECK(rc == VKR_E_DATA && strstr(vkr_last_error(), "norm_num_groups"), "rc %d: %s", rc, vkr_last_error());
        remove(bad);
    }
}

static void weight_errors(vkr_gpu *gpu)
{
    /* the mel VAE's weights with the image VAE's config: shape mismatch named */
    vkr_vae_config cfg;
    vkr_weights *w;
    vkr_vae vae;
    GT_OK(vkr_vae_config_load("tests/golden/vae_decoder/config.json", &cfg));
    GT_OK(vkr_weights_open(&w, "tests/golden/vae_mel/weights.safetensors"));
    int rc = vkr_vae_load_weights(gpu, &cfg, w, VKR_F32, VKR_VAE_LOAD_ALL, &vae);
    CHECK(rc == VKR_E_DATA && strstr(vkr_last_error(), "has shape"), "rc %d: %s", rc, vkr_last_error());
    vkr_weights_close(w);
    /* one block fewer than the checkpoint: the extra tensors are reported */
    cfg = (vkr_vae_config){0};
    GT_OK(vkr_vae_config_load("tests/golden/vae_mel/config.json", &cfg));
    GT_OK(vkr_weights_open(&w, "tests/golden/vae_mel/weights.safetensors"));
    cfg.layers_per_block = 0 + 1;
    cfg.mid_block_add_attention = 0;
    rc = vkr_vae_load_weights(gpu, &cfg, w, VKR_F32, VKR_VAE_LOAD_ALL, &vae);
    CHECK(rc == VKR_E_DATA && strstr(vkr_last_error(), "mid_block.attentions.0"), "rc %d: %s", rc, vkr_last_error());
    vkr_weights_close(w);
    vkr_gpu_weights_reset(gpu);
}

int main(void)
{
    vkr_gpu *gpu = gt_open(NULL);
    config_errors();
    golden_case(gpu, "tests/golden/vae_decoder", "in.x", 1);
    golden_case(gpu, "tests/golden/vae_mel", "in.mel", 0);
    weight_errors(gpu);
    f16_weights(gpu, "tests/golden/vae_decoder");
    legacy_names(gpu, "tests/golden/vae_decoder");
    /* odd, non-square latent; tiles of 8 with 6-row steps (partial last tiles) */
    tiled_case(gpu, "tests/golden/vae_decoder", 15, 10, 8);
    tiled_case(gpu, "tests/golden/vae_mel", 7, 12, 4);
    gt_close(gpu);
    return check_summary("test_vae_golden");
}
