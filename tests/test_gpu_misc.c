/* Small ops vs the plain-C references (gpu/ref_misc.c): nearest upsampling
 * (2x and arbitrary sizes incl. 1x1 and shrinking, strided views, the split
 * path), timestep embedding (flip / no flip, odd dim, freq shift, per-element
 * timesteps up to 999), embedding lookup (int32 / int64 ids, positional add,
 * a table split over binding windows, out-of-vocabulary ids refused), video
 * layout round trips (N,C,F,H,W) <-> (N*F,C,1,H,W) <-> (1,1,N*H*W,F,C), and
 * slice copies + concat.
 *
 * Tolerances: upsampling, layouts, slices and lookups are copies: exact
 * (embedding with a positional add: one f32 add, then the storage rounding:
 * default tolerances). Timestep embedding f32: |err| <= 2e-6 + t * 2.4e-7,
 * i.e. two ulps of a frequency near 1 times t: sin(t * freq) is
 * ill-conditioned in freq, and a 1-ulp difference in exp (torch's own Sleef
 * expf vs a correctly rounded one differs by 1 ulp in 16 of 160 frequencies,
 * moving its output by 6e-5 at t = 999) is not an error of either; f16/bf16:
 * that bound plus the default rounding tolerance. */
#include "gpu_test.h"

#include "gpu/gpu_internal.h"
#include "gpu/ops_eltwise.h"
#include "gpu/ops_misc.h"
#include "gpu/ref_misc.h"

#include <string.h>

static const vkr_dtype dtypes[] = {VKR_F32, VKR_F16, VKR_BF16};
static uint64_t seed = 777;
static const gt_tol exact = {0, 0, 0};

static float *new_floats(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

static void upload_new(vkr_gpu *gpu, vkr_dtype dt, const int64_t ne[5], const float *host, vkr_tensor *t)
{
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, ne, t));
    GT_OK(vkr_tensor_upload(gpu, t, host, VKR_F32));
}

/* ------------------------------------------------------------------ upsample */

static void upsample_case(vkr_gpu *gpu, vkr_dtype dt, const int64_t xne[5], int64_t oh, int64_t ow)
{
    const int64_t yne[5] = {xne[0], xne[1], xne[2], oh, ow};
    size_t nx = gt_nelem(xne), ny = gt_nelem(yne);
    float *x = new_floats(nx), *got = new_floats(ny), *want = new_floats(ny);
    gt_rand(x, nx, -5, 5, &seed);
    gt_round(x, nx, dt);
    vkr_tensor tx, ty;
    upload_new(gpu, dt, xne, x, &tx);
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, yne, &ty));
    GT_OK(vkr_op_upsample_nearest(gpu, &tx, &ty));
    GT_OK(vkr_tensor_download(gpu, &ty, got, VKR_F32));
    vkr_host_tensor hx = vkr_host_contiguous(x, xne), hy = vkr_host_contiguous(want, yne);
    vkr_ref_upsample_nearest(&hx, &hy);
    char name[96];
    snprintf(name, sizeof name, "upsample_nearest %lldx%lld -> %lldx%lld %s", (long long)xne[3], (long long)xne[4],
             (long long)oh, (long long)ow, vkr_dtype_name(dt));
    gt_compare(name, dt, got, want, yne, &exact);
    vkr_tensor_free(gpu, &tx), vkr_tensor_free(gpu, &ty);
    free(x), free(got), free(want);
}

/* ATen's index rule on known cases (not just our own reference): 3 -> 7 and
 * 5 -> 3 as computed by torch.nn.functional.interpolate(mode="nearest"). */
static void upsample_known(vkr_gpu *gpu)
{
    const int64_t xne[5] = {1, 1, 1, 3, 5}, yne[5] = {1, 1, 1, 7, 3};
    float x[15], got[21];
    for (int i = 0; i < 15; i++)
        x[i] = (float)i;
    /* rows: floor(h * 3/7) = 0 0 0 1 1 2 2; cols: floor(w * 5/3) = 0 1 3 */
    static const int rows[7] = {0, 0, 0, 1, 1, 2, 2}, cols[3] = {0, 1, 3};
    float want[21];
    for (int h = 0; h < 7; h++)
        for (int w = 0; w < 3; w++)
            want[h * 3 + w] = (float)(rows[h] * 5 + cols[w]);
    vkr_tensor tx, ty;
    upload_new(gpu, VKR_F32, xne, x, &tx);
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, yne, &ty));
    GT_OK(vkr_op_upsample_nearest(gpu, &tx, &ty));
    GT_OK(vkr_tensor_download(gpu, &ty, got, VKR_F32));
    gt_compare("upsample_nearest torch indices 3x5 -> 7x3", VKR_F32, got, want, yne, &exact);
    vkr_tensor_free(gpu, &tx), vkr_tensor_free(gpu, &ty);
}

/* permuted (C <-> F) input view into an H slice of a bigger output */
static void upsample_views(vkr_gpu *gpu, vkr_dtype dt)
{
    const int64_t sne[5] = {1, 3, 2, 3, 5}, xne[5] = {1, 2, 3, 3, 5}, bigne[5] = {1, 2, 3, 9, 10};
    const int perm[5] = {0, 2, 1, 3, 4};
    size_t n = gt_nelem(sne), nbig = gt_nelem(bigne);
    float *x = new_floats(n), *got = new_floats(nbig), *want = new_floats(nbig);
    gt_rand(x, n, -5, 5, &seed);
    gt_round(x, n, dt);
    for (size_t i = 0; i < nbig; i++)
        want[i] = 9.0f;
    vkr_tensor tx, xv, tbig, yv;
    upload_new(gpu, dt, sne, x, &tx);
    upload_new(gpu, dt, bigne, want, &tbig);
    GT_OK(vkr_tensor_permute(&tx, perm, &xv));
    GT_OK(vkr_tensor_slice(&tbig, VKR_DIM_H, 2, 6, &yv));
    GT_OK(vkr_op_upsample_nearest(gpu, &xv, &yv));
    GT_OK(vkr_tensor_download(gpu, &tbig, got, VKR_F32));
    vkr_host_tensor hx = vkr_host_contiguous(x, sne), hxv = hx, hb = vkr_host_contiguous(want, bigne), hy = hb;
    for (int d = 0; d < 5; d++)
        hxv.ne[d] = hx.ne[perm[d]], hxv.nb[d] = hx.nb[perm[d]];
    (void)xne;
    hy.data += 2 * hb.nb[3];
    hy.ne[3] = 6;
    vkr_ref_upsample_nearest(&hxv, &hy);
    char name[64];
    snprintf(name, sizeof name, "upsample_nearest permuted->slice %s", vkr_dtype_name(dt));
    gt_compare(name, dt, got, want, bigne, &exact);
    vkr_tensor_free(gpu, &tx), vkr_tensor_free(gpu, &tbig);
    free(x), free(got), free(want);
}

/* -------------------------------------------------------- timestep embedding */

static void timestep_case(vkr_gpu *gpu, vkr_dtype dt, int64_t dim, int flip, float shift, float tmax)
{
    static const float base[7] = {0, 1, 999, 500.5f, 37, 981, 0.25f};
    const int64_t n = 7, yne[5] = {1, 1, 1, n, dim};
    float t[7], *got = new_floats((size_t)(n * dim)), *want = new_floats((size_t)(n * dim));
    for (int i = 0; i < 7; i++)
        t[i] = base[i] * tmax / 999.0f;
    vkr_tensor tt, ty;
    upload_new(gpu, VKR_F32, (const int64_t[]){1, 1, 1, 1, n}, t, &tt);
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, yne, &ty));
    vkr_timestep_params p = {.flip_sin_to_cos = flip, .downscale_freq_shift = shift};
    GT_OK(vkr_op_timestep_embedding(gpu, &tt, &p, &ty));
    GT_OK(vkr_tensor_download(gpu, &ty, got, VKR_F32));
    vkr_ref_timestep_embedding(t, n, &p, dim, want);
    gt_tol tol = gt_default_tol(dt);
    tol.atol += 2e-6 + tmax * 2.4e-7;
    tol.nmse = dt == VKR_F32 ? 1e-9 : tol.nmse;
    char name[96];
    snprintf(name, sizeof name, "timestep_embedding dim %lld flip %d shift %g t<=%g %s", (long long)dim, flip,
             (double)shift, (double)tmax, vkr_dtype_name(dt));
    gt_compare(name, dt, got, want, yne, &tol);
    vkr_tensor_free(gpu, &tt), vkr_tensor_free(gpu, &ty);
    free(got), free(want);
}

/* ---------------------------------------------------------------- embedding */

static void embedding_case(vkr_gpu *gpu, vkr_dtype dt, vkr_dtype pdt, int use_pos, int int64_ids, int64_t vocab,
                           int64_t dim)
{
    const int64_t B = 2, T = 7, n = B * T, yne[5] = {1, 1, B, T, dim}, tne[5] = {1, 1, 1, vocab, dim},
                  pne[5] = {1, 1, 1, 9, dim};
    float *tab = new_floats((size_t)(vocab * dim)), *pos = new_floats((size_t)(9 * dim));
    float *got = new_floats((size_t)(n * dim)), *want = new_floats((size_t)(n * dim));
    int64_t ids64[14];
    int32_t ids32[14];
    gt_rand(tab, (size_t)(vocab * dim), -2, 2, &seed);
    gt_round(tab, (size_t)(vocab * dim), dt);
    gt_rand(pos, (size_t)(9 * dim), -1, 1, &seed);
    gt_round(pos, (size_t)(9 * dim), pdt);
    for (int i = 0; i < n; i++)
        ids32[i] = (int32_t)(ids64[i] = (int64_t)(gt_next(&seed) % (uint64_t)vocab));
    ids64[3] = ids32[3] = (int32_t)(vocab - 1), ids64[5] = ids32[5] = 0; /* both ends of the table */
    vkr_tensor tt, tp, ti, ty;
    upload_new(gpu, dt, tne, tab, &tt);
    upload_new(gpu, pdt, pne, pos, &tp);
    GT_OK(vkr_embedding_ids_upload(gpu, int64_ids ? (const void *)ids64 : (const void *)ids32,
                                   int64_ids ? VKR_I64 : VKR_I32, n, vocab, &ti));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, yne, &ty));
    GT_OK(vkr_op_embedding(gpu, &ti, &tt, use_pos ? &tp : NULL, &ty));
    GT_OK(vkr_tensor_download(gpu, &ty, got, VKR_F32));
    vkr_ref_embedding(ids64, n, tab, dim, use_pos ? pos : NULL, T, want);
    char name[96];
    snprintf(name, sizeof name, "embedding %lldx%lld %s ids %s pos %s", (long long)vocab, (long long)dim,
             vkr_dtype_name(dt), int64_ids ? "I64" : "I32", use_pos ? vkr_dtype_name(pdt) : "none");
    gt_compare(name, dt, got, want, yne, use_pos ? NULL : &exact);
    vkr_tensor_free(gpu, &tt), vkr_tensor_free(gpu, &tp), vkr_tensor_free(gpu, &ti), vkr_tensor_free(gpu, &ty);
    free(tab), free(pos), free(got), free(want);
}

static void embedding_bad_ids(vkr_gpu *gpu)
{
    const int32_t bad32[3] = {1, 37, 2};
    const int64_t bad64[2] = {-1, 0};
    vkr_tensor t;
    int rc = vkr_embedding_ids_upload(gpu, bad32, VKR_I32, 3, 37, &t);
    CHECK(rc == VKR_E_DATA, "id 37 of a 37-row vocabulary: expected VKR_E_DATA, got %d", rc);
    CHECK(strstr(vkr_last_error(), "37") != NULL, "error names the id: %s", vkr_last_error());
    rc = vkr_embedding_ids_upload(gpu, bad64, VKR_I64, 2, 37, &t);
    CHECK(rc == VKR_E_DATA, "id -1: expected VKR_E_DATA, got %d", rc);
}

/* ------------------------------------------------------------ video layouts */

static void video_layouts(vkr_gpu *gpu, vkr_dtype dt)
{
    const int64_t N = 2, C = 3, F = 5, H = 3, W = 4, v[5] = {N, C, F, H, W};
    const int64_t ncfhw[5] = {N, C, F, H, W}, bf[5] = {N * F, C, 1, H, W}, tok[5] = {1, 1, N * H * W, F, C};
    size_t n = gt_nelem(ncfhw);
    float *x = new_floats(n), *got = new_floats(n), *want = new_floats(n);
    gt_rand(x, n, -9, 9, &seed);
    gt_round(x, n, dt);
    vkr_tensor tx, tb, tt, tr;
    upload_new(gpu, dt, ncfhw, x, &tx);
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, bf, &tb));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, tok, &tt));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, ncfhw, &tr));
    /* x (N, C, F, H, W) -> batch frames: diffusers permute(0, 2, 1, 3, 4).reshape(N*F, C, H, W) */
    GT_OK(vkr_op_video_relayout(gpu, &tx, VKR_VIDEO_NCFHW, &tb, VKR_VIDEO_BATCH_FRAMES, v));
    GT_OK(vkr_tensor_download(gpu, &tb, got, VKR_F32));
    for (int64_t a = 0; a < N; a++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t f = 0; f < F; f++)
                for (int64_t h = 0; h < H; h++)
                    for (int64_t w = 0; w < W; w++)
                        want[(((a * F + f) * C + c) * H + h) * W + w] = x[(((a * C + c) * F + f) * H + h) * W + w];
    char name[64];
    snprintf(name, sizeof name, "frames -> batch %s", vkr_dtype_name(dt));
    gt_compare(name, dt, got, want, bf, &exact);
    /* batch frames -> temporal tokens: (N*F, C, H, W) -> (N*H*W, F, C) */
    GT_OK(vkr_op_video_relayout(gpu, &tb, VKR_VIDEO_BATCH_FRAMES, &tt, VKR_VIDEO_TEMPORAL_TOKENS, v));
    GT_OK(vkr_tensor_download(gpu, &tt, got, VKR_F32));
    for (int64_t a = 0; a < N; a++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t f = 0; f < F; f++)
                for (int64_t h = 0; h < H; h++)
                    for (int64_t w = 0; w < W; w++)
                        want[(((a * H + h) * W + w) * F + f) * C + c] = x[(((a * C + c) * F + f) * H + h) * W + w];
    snprintf(name, sizeof name, "batch -> temporal tokens %s", vkr_dtype_name(dt));
    gt_compare(name, dt, got, want, tok, &exact);
    /* tokens -> (N, C, F, H, W): the round trip is the identity */
    GT_OK(vkr_op_video_relayout(gpu, &tt, VKR_VIDEO_TEMPORAL_TOKENS, &tr, VKR_VIDEO_NCFHW, v));
    GT_OK(vkr_tensor_download(gpu, &tr, got, VKR_F32));
    snprintf(name, sizeof name, "temporal tokens -> frames %s", vkr_dtype_name(dt));
    gt_compare(name, dt, got, x, ncfhw, &exact);
    /* slices along F copied out and concatenated back */
    vkr_tensor s1, s2;
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, (const int64_t[]){N, C, 2, H, W}, &s1));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, (const int64_t[]){N, C, 3, H, W}, &s2));
    GT_OK(vkr_op_slice_copy(gpu, &tx, VKR_DIM_F, 0, 2, &s1));
    GT_OK(vkr_op_slice_copy(gpu, &tx, VKR_DIM_F, 2, 3, &s2));
    GT_OK(vkr_op_fill(gpu, &tr, 0.0f));
    GT_OK(vkr_op_concat(gpu, &s1, &s2, VKR_DIM_F, &tr));
    GT_OK(vkr_tensor_download(gpu, &tr, got, VKR_F32));
    snprintf(name, sizeof name, "slice_copy F + concat %s", vkr_dtype_name(dt));
    gt_compare(name, dt, got, x, ncfhw, &exact);
    CHECK(vkr_op_video_relayout(gpu, &tx, VKR_VIDEO_BATCH_FRAMES, &tb, VKR_VIDEO_NCFHW, v) == VKR_E_INTERNAL,
          "a wrong layout/shape pairing must be refused");
    vkr_tensor_free(gpu, &s1), vkr_tensor_free(gpu, &s2);
    vkr_tensor_free(gpu, &tx), vkr_tensor_free(gpu, &tb), vkr_tensor_free(gpu, &tt), vkr_tensor_free(gpu, &tr);
    free(x), free(got), free(want);
}

static void test_split(void)
{
    vkr_gpu *gpu = gt_open(&(vkr_gpu_options){.max_binding_range = 4096});
    uint64_t before = gpu->n_dispatches;
    upsample_case(gpu, VKR_F32, (const int64_t[]){2, 3, 5, 7, 9}, 14, 18); /* 90 KB output */
    CHECK(gpu->n_dispatches - before > 8, "upsample: expected a split op, got %llu dispatches",
          (unsigned long long)(gpu->n_dispatches - before));
    before = gpu->n_dispatches;
    embedding_case(gpu, VKR_F32, VKR_F32, 1, 0, 100, 17); /* 6.8 KB table: 2 windows */
    CHECK(gpu->n_dispatches - before >= 2, "embedding: expected table windows");
    gt_close(gpu);
}

int main(void)
{
    vkr_gpu *gpu = gt_open(NULL);
    static const int64_t shapes[][5] = {{1, 3, 2, 3, 5}, {2, 1, 1, 1, 1}, {1, 2, 3, 7, 9}};
    static const int64_t sizes[][2] = {{0, 0} /* 2x */, {7, 9}, {3, 4}, {14, 20}};
    for (int t = 0; t < 3; t++) {
        vkr_dtype dt = dtypes[t];
        for (int s = 0; s < 3; s++)
            for (int z = 0; z < 4; z++) {
                int64_t oh = z ? sizes[z][0] : 2 * shapes[s][3], ow = z ? sizes[z][1] : 2 * shapes[s][4];
                upsample_case(gpu, dt, shapes[s], oh, ow);
            }
        upsample_views(gpu, dt);
        timestep_case(gpu, dt, 320, 1, 0, 999);
        timestep_case(gpu, dt, 33, 0, 0, 999);
        timestep_case(gpu, dt, 8, 1, 1, 999);
        timestep_case(gpu, dt, 320, 1, 0, 1); /* small t: tight */
        embedding_case(gpu, dt, VKR_F32, 1, t % 2, 37, 33);
        embedding_case(gpu, dt, dt, 1, 1, 49, 8);
        embedding_case(gpu, dt, dt, 0, 0, 37, 320);
        video_layouts(gpu, dt);
    }
    upsample_known(gpu);
    embedding_bad_ids(gpu);
    gt_close(gpu);
    test_split();
    return check_summary("test_gpu_misc");
}
