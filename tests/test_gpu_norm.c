/* Normalisation / reduction kernels vs the plain-C references
 * (gpu/ref_norm.c): group norm (per frame and across frames, SiLU, with and
 * without affine, f32/f16/bf16 activations and weights, odd C/G, H x W 1x1,
 * 3x5, 7x9, F 1/3/5, permuted input view, sliced output, in place), the
 * two-pass chunked form (chunked == whole, bit for bit), layer norm, softmax
 * (scale, broadcast masks with -inf), L2 normalise, sum/mean along each dim,
 * and the split path for tensors larger than a binding window (forced with a
 * 4 KiB window), including the VKR_E_DATA refusal of a single oversized group.
 *
 * Tolerances (max |got - want| <= atol + rtol |want|, plus a normalised MSE
 * bound) are looser than the one-rounding defaults where the op reduces:
 *   group/layer norm f32: 2e-5 + 2e-5|w| (f32 statistics over up to ~7000
 *     values: mean and rstd carry ~1e-6 relative error, times |x - mean| / std
 *     up to ~4); f16/bf16: the one-rounding defaults (the storage rounding of
 *     the output dominates), except bf16 in-place/chained cases noted below.
 *   softmax: f32 1e-6 + 1e-5|w| (exp in f32 over rows up to 320); f16/bf16
 *     defaults.
 *   sum/mean f32: 1e-5 + 1e-5|w| over <= 9 terms of magnitude <= 3.
 */
#include "gpu_test.h"

#include "gpu/gpu_internal.h"
#include "gpu/ops_norm.h"
#include "gpu/ref_norm.h"

#include <string.h>

static const vkr_dtype dtypes[] = {VKR_F32, VKR_F16, VKR_BF16};
static uint64_t seed = 4242;

static float *new_floats(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

static gt_tol stat_tol(vkr_dtype t)
{
    gt_tol r = gt_default_tol(t);
    if (t == VKR_F32)
        r = (gt_tol){2e-5, 2e-5, 1e-10};
    return r;
}

/* Allocates t (dtype, ne) and uploads host (already rounded to dtype). */
static void upload_new(vkr_gpu *gpu, vkr_dtype dt, const int64_t ne[5], const float *host, vkr_tensor *t)
{
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, ne, t));
    GT_OK(vkr_tensor_upload(gpu, t, host, VKR_F32));
}

static void rand_vec(float *v, int64_t n, float lo, float hi, vkr_dtype dt)
{
    gt_rand(v, (size_t)n, lo, hi, &seed);
    gt_round(v, (size_t)n, dt);
}

/* ---------------------------------------------------------------- group norm */

typedef struct {
    int64_t ne[5];
    int groups;
} gn_shape;

static const gn_shape gn_shapes[] = {
    {{1, 12, 3, 3, 5}, 4},  /* C/G = 3 */
    {{2, 33, 1, 7, 9}, 3},  /* C/G = 11, N = 2 */
    {{1, 320, 1, 1, 1}, 32}, /* 1x1 spatial, C/G = 10 */
    {{1, 12, 5, 7, 9}, 4},
    {{1, 33, 3, 1, 1}, 3},
    {{1, 12, 3, 4, 5}, 4},  /* H*W % 4 == 0: the vec4 path */
    {{2, 8, 2, 8, 9}, 2},   /* vec4, C/G = 4 */
    {{1, 8, 3, 4, 1}, 2},   /* W = 1: H is the row (vec4) */
    {{1, 6, 2, 7, 1}, 3},   /* W = 1, odd H */
};

static void group_norm_case(vkr_gpu *gpu, const gn_shape *s, vkr_dtype dt, vkr_dtype wdt, int per_frame, int silu,
                            int affine, float offset)
{
    const int64_t *ne = s->ne, C = ne[1];
    size_t n = gt_nelem(ne);
    float *x = new_floats(n), *got = new_floats(n), *want = new_floats(n), *w = new_floats(C), *b = new_floats(C);
    gt_rand(x, n, offset - 3, offset + 3, &seed);
    gt_round(x, n, dt);
    rand_vec(w, C, 0.5f, 1.5f, wdt);
    rand_vec(b, C, -1, 1, wdt);
    vkr_tensor tx, ty, tw, tb;
    const int64_t vne[5] = {1, 1, 1, 1, C}; /* 1-D checkpoint vectors */
    upload_new(gpu, dt, ne, x, &tx);
    upload_new(gpu, wdt, vne, w, &tw);
    upload_new(gpu, wdt, vne, b, &tb);
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, ne, &ty));
    vkr_group_norm_params p = {.groups = s->groups, .eps = 1e-5f, .per_frame = per_frame, .silu = silu};
    GT_OK(vkr_op_group_norm(gpu, &tx, affine ? &tw : NULL, affine ? &tb : NULL, &p, &ty));
    GT_OK(vkr_tensor_download(gpu, &ty, got, VKR_F32));
    vkr_host_tensor hx = vkr_host_contiguous(x, ne), hy = vkr_host_contiguous(want, ne);
    vkr_ref_group_norm(&hx, affine ? w : NULL, affine ? b : NULL, s->groups, 1e-5, per_frame, silu, &hy);
    char name[160];
    snprintf(name, sizeof name, "group_norm G%d %s w=%s%s%s%s offset %g", s->groups, vkr_dtype_name(dt),
             vkr_dtype_name(wdt), per_frame ? " per-frame" : " all-frames", silu ? " silu" : "",
             affine ? "" : " no-affine", offset);
    gt_compare(name, dt, got, want, ne, &(gt_tol){stat_tol(dt).atol, stat_tol(dt).rtol, stat_tol(dt).nmse});
    vkr_tensor_free(gpu, &tx), vkr_tensor_free(gpu, &ty), vkr_tensor_free(gpu, &tw), vkr_tensor_free(gpu, &tb);
    free(x), free(got), free(want), free(w), free(b);
}

/* The frames-in-batch storage (N, F, C, H, W) normalised through a permuted
 * (N, C, F, H, W) view, written into an H slice of a bigger tensor; then the
 * same op in place on a contiguous copy. */
static void group_norm_views(vkr_gpu *gpu, vkr_dtype dt)
{
    const int64_t sne[5] = {1, 3, 12, 5, 7}; /* stored N, F, C, H, W */
    const int perm[5] = {0, 2, 1, 3, 4};
    const int64_t ne[5] = {1, 12, 3, 5, 7}, bigne[5] = {1, 12, 3, 9, 7};
    size_t n = gt_nelem(sne), nbig = gt_nelem(bigne);
    float *x = new_floats(n), *big = new_floats(nbig), *want = new_floats(nbig), *got = new_floats(nbig);
    float w[12], b[12];
    gt_rand(x, n, -2, 4, &seed);
    gt_round(x, n, dt);
    rand_vec(w, 12, 0.5f, 1.5f, VKR_F32);
    rand_vec(b, 12, -1, 1, VKR_F32);
    for (size_t i = 0; i < nbig; i++)
        big[i] = want[i] = -7.0f;
    vkr_tensor tx, xv, tbig, yv, tw, tb;
    upload_new(gpu, dt, sne, x, &tx);
    upload_new(gpu, dt, bigne, big, &tbig);
    upload_new(gpu, VKR_F32, (const int64_t[]){1, 12, 1, 1, 1}, w, &tw); /* a (C)-shaped vector too */
    upload_new(gpu, VKR_F32, (const int64_t[]){1, 12, 1, 1, 1}, b, &tb);
    GT_OK(vkr_tensor_permute(&tx, perm, &xv));
    GT_OK(vkr_tensor_slice(&tbig, VKR_DIM_H, 3, 5, &yv));
    for (int per_frame = 0; per_frame < 2; per_frame++) {
        vkr_group_norm_params p = {.groups = 4, .eps = 1e-6f, .per_frame = per_frame, .silu = 1};
        GT_OK(vkr_op_group_norm(gpu, &xv, &tw, &tb, &p, &yv));
        GT_OK(vkr_tensor_download(gpu, &tbig, got, VKR_F32));
        vkr_host_tensor hx = vkr_host_contiguous(x, sne), hxv = hx;
        for (int d = 0; d < 5; d++)
            hxv.ne[d] = hx.ne[perm[d]], hxv.nb[d] = hx.nb[perm[d]];
        vkr_host_tensor hb = vkr_host_contiguous(want, bigne), hyv = hb;
        hyv.data += 3 * hb.nb[3];
        hyv.ne[3] = 5;
        vkr_ref_group_norm(&hxv, w, b, 4, 1e-6, per_frame, 1, &hyv);
        char name[96];
        snprintf(name, sizeof name, "group_norm permuted->slice %s %s", vkr_dtype_name(dt),
                 per_frame ? "per-frame" : "all-frames");
        gt_compare(name, dt, got, want, bigne, &(gt_tol){stat_tol(dt).atol, stat_tol(dt).rtol, stat_tol(dt).nmse});
    }
    /* in place: y = x */
    float *xc = new_floats(gt_nelem(ne)), *wc = new_floats(gt_nelem(ne)), *gc = new_floats(gt_nelem(ne));
    vkr_tensor tc;
    gt_rand(xc, gt_nelem(ne), -3, 3, &seed);
    gt_round(xc, gt_nelem(ne), dt);
    upload_new(gpu, dt, ne, xc, &tc);
    vkr_group_norm_params p = {.groups = 3, .eps = 1e-5f, .per_frame = 0, .silu = 0};
    GT_OK(vkr_op_group_norm(gpu, &tc, &tw, &tb, &p, &tc));
    GT_OK(vkr_tensor_download(gpu, &tc, gc, VKR_F32));
    vkr_host_tensor hc = vkr_host_contiguous(xc, ne), hw = vkr_host_contiguous(wc, ne);
    vkr_ref_group_norm(&hc, w, b, 3, 1e-5, 0, 0, &hw);
    gt_compare("group_norm in place", dt, gc, wc, ne, &(gt_tol){stat_tol(dt).atol, stat_tol(dt).rtol, stat_tol(dt).nmse});
    vkr_tensor_free(gpu, &tc);
    free(xc), free(wc), free(gc);
    vkr_tensor_free(gpu, &tx), vkr_tensor_free(gpu, &tbig), vkr_tensor_free(gpu, &tw), vkr_tensor_free(gpu, &tb);
    free(x), free(big), free(want), free(got);
}

/* Statistics accumulated over frame chunks [0,2) [2,3) [3,5), normalised in
 * other chunks [0,3) [3,5): must equal the whole-tensor op exactly (the slots
 * are the same per-frame computations, combined in frame order). */
static void group_norm_chunked(vkr_gpu *gpu, vkr_dtype dt, int per_frame)
{
    const int64_t ne[5] = {2, 12, 5, 4, 5}; /* H*W = 20: vec4 path */
    const int G = 4;
    size_t n = gt_nelem(ne);
    float *x = new_floats(n), *whole = new_floats(n), *chunked = new_floats(n), *want = new_floats(n), w[12], b[12];
    gt_rand(x, n, -1, 5, &seed);
    gt_round(x, n, dt);
    rand_vec(w, 12, 0.5f, 1.5f, dt);
    rand_vec(b, 12, -1, 1, dt);
    vkr_tensor tx, ty, tw, tb, st, comb;
    upload_new(gpu, dt, ne, x, &tx);
    upload_new(gpu, dt, (const int64_t[]){1, 1, 1, 1, 12}, w, &tw);
    upload_new(gpu, dt, (const int64_t[]){1, 1, 1, 1, 12}, b, &tb);
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, ne, &ty));
    vkr_group_norm_params p = {.groups = G, .eps = 1e-6f, .per_frame = per_frame, .silu = 1};
    GT_OK(vkr_op_group_norm(gpu, &tx, &tw, &tb, &p, &ty));
    GT_OK(vkr_tensor_download(gpu, &ty, whole, VKR_F32));
    GT_OK(vkr_op_fill(gpu, &ty, 0.0f));

    GT_OK(vkr_group_norm_stats_alloc(gpu, ne[0], G, ne[2], &st));
    static const int64_t stat_chunks[][2] = {{0, 2}, {2, 1}, {3, 2}}, apply_chunks[][2] = {{0, 3}, {3, 2}};
    for (int i = 0; i < 3; i++) {
        vkr_tensor xc;
        GT_OK(vkr_tensor_slice(&tx, VKR_DIM_F, stat_chunks[i][0], stat_chunks[i][1], &xc));
        GT_OK(vkr_op_group_norm_stats(gpu, &xc, G, &st, stat_chunks[i][0]));
    }
    const vkr_tensor *use = &st;
    if (!per_frame) {
        GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, (const int64_t[]){ne[0], G, 1, 1, 3}, &comb));
        GT_OK(vkr_op_group_norm_combine(gpu, &st, &comb));
        use = &comb;
    }
    for (int i = 0; i < 2; i++) {
        vkr_tensor xc, yc;
        GT_OK(vkr_tensor_slice(&tx, VKR_DIM_F, apply_chunks[i][0], apply_chunks[i][1], &xc));
        GT_OK(vkr_tensor_slice(&ty, VKR_DIM_F, apply_chunks[i][0], apply_chunks[i][1], &yc));
        GT_OK(vkr_op_group_norm_apply(gpu, &xc, &tw, &tb, use, apply_chunks[i][0], &p, &yc));
    }
    GT_OK(vkr_tensor_download(gpu, &ty, chunked, VKR_F32));
    char name[96];
    snprintf(name, sizeof name, "group_norm chunked == whole %s %s", vkr_dtype_name(dt),
             per_frame ? "per-frame" : "all-frames");
    gt_compare(name, dt, chunked, whole, ne, &(gt_tol){0, 0, 0});
    /* and the uncombined stats path of apply (combines internally) */
    if (!per_frame) {
        vkr_tensor xc, yc;
        GT_OK(vkr_tensor_slice(&tx, VKR_DIM_F, 1, 4, &xc));
        GT_OK(vkr_tensor_slice(&ty, VKR_DIM_F, 1, 4, &yc));
        GT_OK(vkr_op_group_norm_apply(gpu, &xc, &tw, &tb, &st, 1, &p, &yc));
        GT_OK(vkr_tensor_download(gpu, &ty, chunked, VKR_F32));
        snprintf(name, sizeof name, "group_norm apply(uncombined stats) == whole %s", vkr_dtype_name(dt));
        gt_compare(name, dt, chunked, whole, ne, &(gt_tol){0, 0, 0});
        vkr_tensor_free(gpu, &comb);
    }
    vkr_host_tensor hx = vkr_host_contiguous(x, ne), hy = vkr_host_contiguous(want, ne);
    vkr_ref_group_norm(&hx, w, b, G, 1e-6, per_frame, 1, &hy);
    snprintf(name, sizeof name, "group_norm chunked vs reference %s", vkr_dtype_name(dt));
    gt_compare(name, dt, chunked, want, ne, &(gt_tol){stat_tol(dt).atol, stat_tol(dt).rtol, stat_tol(dt).nmse});
    vkr_tensor_free(gpu, &st);
    vkr_tensor_free(gpu, &tx), vkr_tensor_free(gpu, &ty), vkr_tensor_free(gpu, &tw), vkr_tensor_free(gpu, &tb);
    free(x), free(whole), free(chunked), free(want);
}

/* ------------------------------------------------------------------ row ops */

static void layer_norm_case(vkr_gpu *gpu, vkr_dtype dt, vkr_dtype wdt, int64_t T, int64_t C, int affine, float offset,
                            int transposed)
{
    const int64_t ne[5] = {1, 1, 1, T, C}, sne[5] = {1, 1, 1, C, T};
    size_t n = gt_nelem(ne);
    float *x = new_floats(n), *got = new_floats(n), *want = new_floats(n), *w = new_floats(C), *b = new_floats(C);
    gt_rand(x, n, offset - 2, offset + 2, &seed);
    gt_round(x, n, dt);
    rand_vec(w, C, 0.5f, 1.5f, wdt);
    rand_vec(b, C, -1, 1, wdt);
    vkr_tensor tx, xv, ty, tw, tb;
    upload_new(gpu, dt, transposed ? sne : ne, x, &tx);
    xv = tx;
    vkr_host_tensor hx = vkr_host_contiguous(x, transposed ? sne : ne);
    if (transposed) { /* x stored as (C, T): the op reads a strided (T, C) view */
        const int perm[5] = {0, 1, 2, 4, 3};
        GT_OK(vkr_tensor_permute(&tx, perm, &xv));
        int64_t t3 = hx.nb[3];
        hx.ne[3] = T, hx.ne[4] = C, hx.nb[3] = hx.nb[4], hx.nb[4] = t3;
    }
    upload_new(gpu, wdt, (const int64_t[]){1, 1, 1, 1, C}, w, &tw);
    upload_new(gpu, wdt, (const int64_t[]){1, 1, 1, 1, C}, b, &tb);
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, ne, &ty));
    GT_OK(vkr_op_layer_norm(gpu, &xv, affine ? &tw : NULL, affine ? &tb : NULL, 1e-5f, &ty));
    GT_OK(vkr_tensor_download(gpu, &ty, got, VKR_F32));
    vkr_host_tensor hy = vkr_host_contiguous(want, ne);
    vkr_ref_layer_norm(&hx, affine ? w : NULL, affine ? b : NULL, 1e-5, &hy);
    char name[128];
    snprintf(name, sizeof name, "layer_norm %lldx%lld %s w=%s%s%s offset %g", (long long)T, (long long)C,
             vkr_dtype_name(dt), vkr_dtype_name(wdt), affine ? "" : " no-affine", transposed ? " transposed" : "",
             offset);
    gt_compare(name, dt, got, want, ne, &(gt_tol){stat_tol(dt).atol, stat_tol(dt).rtol, stat_tol(dt).nmse});
    vkr_tensor_free(gpu, &tx), vkr_tensor_free(gpu, &ty), vkr_tensor_free(gpu, &tw), vkr_tensor_free(gpu, &tb);
    free(x), free(got), free(want), free(w), free(b);
}

/* Layer norm of a sub-block of a {1, 1, 1, 9, 323} tensor: rows [1, 8) and
 * columns [c0, c0 + 320). c0 = 0 keeps rows 4-aligned (vec4 path with a
 * window offset); c0 = 1 and 3 do not (the scalar fallback must be chosen). */
static void layer_norm_slice_case(vkr_gpu *gpu, vkr_dtype dt, int64_t c0)
{
    const int64_t bne[5] = {1, 1, 1, 9, 323}, ne[5] = {1, 1, 1, 7, 320};
    size_t nb = gt_nelem(bne), n = gt_nelem(ne);
    float *x = new_floats(nb), *got = new_floats(n), *want = new_floats(n), w[320], b[320];
    gt_rand(x, nb, -2, 2, &seed);
    gt_round(x, nb, dt);
    rand_vec(w, 320, 0.5f, 1.5f, dt);
    rand_vec(b, 320, -1, 1, dt);
    vkr_tensor tx, xv, ty, tw, tb;
    upload_new(gpu, dt, bne, x, &tx);
    upload_new(gpu, dt, (const int64_t[]){1, 1, 1, 1, 320}, w, &tw);
    upload_new(gpu, dt, (const int64_t[]){1, 1, 1, 1, 320}, b, &tb);
    GT_OK(vkr_tensor_slice(&tx, VKR_DIM_H, 1, 7, &xv));
    GT_OK(vkr_tensor_slice(&xv, VKR_DIM_W, c0, 320, &xv));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, ne, &ty));
    GT_OK(vkr_op_layer_norm(gpu, &xv, &tw, &tb, 1e-5f, &ty));
    GT_OK(vkr_tensor_download(gpu, &ty, got, VKR_F32));
    vkr_host_tensor hx = vkr_host_contiguous(x, bne), hy = vkr_host_contiguous(want, ne);
    hx.data += hx.nb[3] + c0;
    hx.ne[3] = 7, hx.ne[4] = 320;
    vkr_ref_layer_norm(&hx, w, b, 1e-5, &hy);
    char name[96];
    snprintf(name, sizeof name, "layer_norm slice rows 1..7 cols %lld.. %s", (long long)c0, vkr_dtype_name(dt));
    gt_compare(name, dt, got, want, ne, &(gt_tol){stat_tol(dt).atol, stat_tol(dt).rtol, stat_tol(dt).nmse});
    vkr_tensor_free(gpu, &tx), vkr_tensor_free(gpu, &ty), vkr_tensor_free(gpu, &tw), vkr_tensor_free(gpu, &tb);
    free(x), free(got), free(want);
}

static void softmax_case(vkr_gpu *gpu, vkr_dtype dt, vkr_dtype mdt, const int64_t ne[5], const int64_t *mne,
                         float scale)
{
    size_t n = gt_nelem(ne), nm = mne ? gt_nelem(mne) : 1;
    float *x = new_floats(n), *got = new_floats(n), *want = new_floats(n), *m = new_floats(nm);
    gt_rand(x, n, -8, 8, &seed);
    gt_round(x, n, dt);
    rand_vec(m, (int64_t)nm, -2, 2, mdt);
    for (size_t i = 0; i < nm; i++)
        if (gt_next(&seed) % 5 == 0)
            m[i] = -INFINITY; /* masked out */
    if (mne)
        m[0] = 0; /* keep the first mask row finite in its first element */
    vkr_tensor tx, ty, tm;
    upload_new(gpu, dt, ne, x, &tx);
    if (mne)
        upload_new(gpu, mdt, mne, m, &tm);
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, ne, &ty));
    GT_OK(vkr_op_softmax(gpu, &tx, mne ? &tm : NULL, scale, &ty));
    GT_OK(vkr_tensor_download(gpu, &ty, got, VKR_F32));
    vkr_host_tensor hx = vkr_host_contiguous(x, ne), hy = vkr_host_contiguous(want, ne), hm;
    if (mne)
        hm = vkr_host_contiguous(m, mne);
    vkr_ref_softmax(&hx, mne ? &hm : NULL, scale, &hy);
    char name[128];
    snprintf(name, sizeof name, "softmax %lldx%lldx%lld %s mask=%s scale %g", (long long)ne[2], (long long)ne[3],
             (long long)ne[4], vkr_dtype_name(dt), mne ? vkr_dtype_name(mdt) : "none", scale);
    gt_tol tol = dt == VKR_F32 ? (gt_tol){1e-6, 1e-5, 1e-10} : gt_default_tol(dt);
    gt_compare(name, dt, got, want, ne, &tol);
    vkr_tensor_free(gpu, &tx), vkr_tensor_free(gpu, &ty);
    if (mne)
        vkr_tensor_free(gpu, &tm);
    free(x), free(got), free(want), free(m);
}

static void l2_case(vkr_gpu *gpu, vkr_dtype dt, int64_t T, int64_t C, int in_place)
{
    const int64_t ne[5] = {1, 1, 1, T, C};
    size_t n = gt_nelem(ne);
    float *x = new_floats(n), *got = new_floats(n), *want = new_floats(n);
    gt_rand(x, n, -3, 3, &seed);
    for (int64_t c = 0; c < C; c++)
        x[c] = 0; /* an all-zero row: the eps clamp gives zeros, not NaN */
    gt_round(x, n, dt);
    vkr_tensor tx, ty;
    upload_new(gpu, dt, ne, x, &tx);
    ty = tx;
    if (!in_place)
        GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, ne, &ty));
    GT_OK(vkr_op_l2_normalize(gpu, &tx, 1e-12f, &ty));
    GT_OK(vkr_tensor_download(gpu, &ty, got, VKR_F32));
    vkr_host_tensor hx = vkr_host_contiguous(x, ne), hy = vkr_host_contiguous(want, ne);
    vkr_ref_l2_normalize(&hx, 1e-12, &hy);
    char name[96];
    snprintf(name, sizeof name, "l2_normalize %lldx%lld %s%s", (long long)T, (long long)C, vkr_dtype_name(dt),
             in_place ? " in place" : "");
    gt_compare(name, dt, got, want, ne, dt == VKR_F32 ? &(gt_tol){1e-6, 1e-5, 1e-10} : NULL);
    vkr_tensor_free(gpu, &tx);
    if (!in_place)
        vkr_tensor_free(gpu, &ty);
    free(x), free(got), free(want);
}

/* sum and mean of a (2, 3, 5, 7, 9) tensor along every dim. */
static void reduce_cases(vkr_gpu *gpu, vkr_dtype dt)
{
    const int64_t ne[5] = {2, 3, 5, 7, 9};
    size_t n = gt_nelem(ne);
    float *x = new_floats(n), *got = new_floats(n), *want = new_floats(n);
    gt_rand(x, n, -3, 3, &seed);
    gt_round(x, n, dt);
    vkr_tensor tx;
    upload_new(gpu, dt, ne, x, &tx);
    for (int dim = 0; dim < 5; dim++)
        for (int mean = 0; mean < 2; mean++) {
            int64_t one[5];
            memcpy(one, ne, sizeof one);
            one[dim] = 1;
            vkr_tensor ty;
            GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, one, &ty));
            GT_OK(mean ? vkr_op_mean(gpu, &tx, dim, &ty) : vkr_op_sum(gpu, &tx, dim, &ty));
            GT_OK(vkr_tensor_download(gpu, &ty, got, VKR_F32));
            vkr_host_tensor hx = vkr_host_contiguous(x, ne), hy = vkr_host_contiguous(want, one);
            vkr_ref_reduce(&hx, dim, mean, &hy);
            char name[64];
            snprintf(name, sizeof name, "%s dim %d %s", mean ? "mean" : "sum", dim, vkr_dtype_name(dt));
            gt_compare(name, dt, got, want, one, dt == VKR_F32 ? &(gt_tol){1e-5, 1e-5, 1e-10} : NULL);
            vkr_tensor_free(gpu, &ty);
        }
    vkr_tensor_free(gpu, &tx);
    free(x), free(got), free(want);
}

/* A 4 KiB binding window: every op is split into many dispatches. */
static void test_split(void)
{
    vkr_gpu *gpu = gt_open(&(vkr_gpu_options){.max_binding_range = 4096});
    const gn_shape big = {{2, 12, 5, 7, 9}, 4}; /* 30 KB of f32, slots of 756 B */
    uint64_t before = gpu->n_dispatches;
    group_norm_case(gpu, &big, VKR_F32, VKR_F16, 0, 1, 1, 0.0f);
    CHECK(gpu->n_dispatches - before > 8, "group norm: expected a split op, got %llu dispatches",
          (unsigned long long)(gpu->n_dispatches - before));
    group_norm_case(gpu, &big, VKR_F16, VKR_F32, 1, 0, 1, 0.0f);
    group_norm_views(gpu, VKR_F32);
    before = gpu->n_dispatches;
    layer_norm_case(gpu, VKR_F32, VKR_F32, 57, 33, 1, 0.0f, 0);
    CHECK(gpu->n_dispatches - before >= 2, "layer norm: expected a split op");
    softmax_case(gpu, VKR_F32, VKR_F16, (const int64_t[]){1, 2, 3, 17, 33}, (const int64_t[]){1, 1, 3, 1, 33}, 0.5f);
    l2_case(gpu, VKR_F32, 65, 33, 0);
    reduce_cases(gpu, VKR_F32);

    /* one (n, group, frame) slot of 4 x 33 x 33 f32 (17 KB) cannot be split */
    const int64_t ne[5] = {1, 4, 1, 33, 33};
    vkr_tensor tx, ty;
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne, &tx));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne, &ty));
    GT_OK(vkr_op_fill(gpu, &tx, 1.0f));
    vkr_group_norm_params p = {.groups = 1, .eps = 1e-5f, .per_frame = 1};
    int rc = vkr_op_group_norm(gpu, &tx, NULL, NULL, &p, &ty);
    CHECK(rc == VKR_E_DATA, "oversized group: expected VKR_E_DATA, got %d (%s)", rc, vkr_last_error());
    GT_OK(vkr_gpu_submit_and_wait(gpu));
    vkr_tensor_free(gpu, &tx), vkr_tensor_free(gpu, &ty);
    gt_close(gpu);
}

/* Caller bugs are refused with VKR_E_INTERNAL and a message, never a crash. */
static void test_errors(vkr_gpu *gpu)
{
    const int64_t ne[5] = {1, 10, 1, 2, 2};
    vkr_tensor tx, ty, tw;
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne, &tx));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F16, ne, &ty));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, (const int64_t[]){1, 1, 1, 1, 9}, &tw));
    vkr_group_norm_params p = {.groups = 3, .eps = 1e-5f};
    CHECK(vkr_op_group_norm(gpu, &tx, NULL, NULL, &p, &tx) == VKR_E_INTERNAL, "10 channels in 3 groups accepted");
    p.groups = 5;
    CHECK(vkr_op_group_norm(gpu, &tx, NULL, NULL, &p, &ty) == VKR_E_INTERNAL, "dtype mismatch accepted");
    CHECK(vkr_op_group_norm(gpu, &tx, &tw, &tw, &p, &tx) == VKR_E_INTERNAL, "9-element weight accepted");
    CHECK(vkr_op_layer_norm(gpu, &tx, &tw, &tw, 1e-5f, &tx) == VKR_E_INTERNAL, "LN weight of 9 for W=2 accepted");
    CHECK(vkr_op_sum(gpu, &tx, 1, &tx) == VKR_E_INTERNAL, "sum into a same-shape tensor accepted");
    CHECK(strstr(vkr_last_error(), "sum") != NULL, "error names the op: %s", vkr_last_error());
    vkr_tensor_free(gpu, &tx), vkr_tensor_free(gpu, &ty), vkr_tensor_free(gpu, &tw);
}

int main(void)
{
    vkr_gpu *gpu = gt_open(NULL);
    for (int t = 0; t < 3; t++) {
        vkr_dtype dt = dtypes[t];
        for (size_t s = 0; s < sizeof gn_shapes / sizeof gn_shapes[0]; s++)
            for (int per_frame = 0; per_frame < 2; per_frame++)
                group_norm_case(gpu, &gn_shapes[s], dt, s % 2 ? dt : VKR_F32, per_frame, (int)(s + per_frame) % 2,
                                1, 0.0f);
        group_norm_case(gpu, &gn_shapes[3], dt, dt, 0, 0, 0, 0.0f);   /* no affine */
        group_norm_case(gpu, &gn_shapes[0], dt, VKR_F16, 0, 1, 1, 0.0f);
        group_norm_views(gpu, dt);
        for (int per_frame = 0; per_frame < 2; per_frame++)
            group_norm_chunked(gpu, dt, per_frame);

        static const int64_t tokens[] = {1, 7, 257}, dims[] = {8, 33, 320};
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                if (tokens[i] * dims[j] <= 257 * 33 || i == 1) /* one big case only */
                    layer_norm_case(gpu, dt, (i + j) % 2 ? dt : VKR_F32, tokens[i], dims[j], 1, 0.0f, 0);
        layer_norm_case(gpu, dt, dt, 257, 320, 1, 0.0f, 0);
        layer_norm_case(gpu, dt, dt, 7, 33, 0, 0.0f, 1);       /* no affine, transposed input */
        layer_norm_case(gpu, dt, dt, 7, 320, 0, 0.0f, 0);      /* no affine, vec4 */
        for (int i = 0; i < 3; i++)
            layer_norm_slice_case(gpu, dt, (int64_t[]){0, 1, 3}[i]);

        softmax_case(gpu, dt, dt, (const int64_t[]){1, 1, 1, 1, 1}, NULL, 1.0f);
        softmax_case(gpu, dt, dt, (const int64_t[]){1, 1, 2, 7, 33}, NULL, 0.125f);
        softmax_case(gpu, dt, VKR_F32, (const int64_t[]){1, 1, 2, 7, 33}, (const int64_t[]){1, 1, 1, 1, 33}, 1.0f);
        softmax_case(gpu, dt, VKR_F16, (const int64_t[]){1, 1, 2, 7, 32}, (const int64_t[]){1, 1, 1, 1, 32}, 0.5f);
        softmax_case(gpu, dt, dt, (const int64_t[]){2, 1, 3, 7, 257}, (const int64_t[]){2, 1, 1, 7, 257}, 0.125f);
        softmax_case(gpu, dt, dt, (const int64_t[]){1, 1, 1, 33, 320}, (const int64_t[]){1, 1, 1, 33, 320}, 0.05f);

        for (int i = 0; i < 3; i++)
            l2_case(gpu, dt, tokens[i], dims[(i + 1) % 3], i == 1);
        reduce_cases(gpu, dt);
    }
    /* stability: a large mean (|mean| / std ~ 100) must not cost precision */
    group_norm_case(gpu, &gn_shapes[3], VKR_F32, VKR_F32, 0, 0, 1, 300.0f);
    layer_norm_case(gpu, VKR_F32, VKR_F32, 7, 320, 1, 300.0f, 0);
    test_errors(gpu);
    /* the row kernels' workgroup size depends on the device (one subgroup on
     * CPUs, 32..256 on GPUs): run the row ops at the GPU sizes too */
    static const char *const sizes[] = {"1", "64", "256"};
    for (int i = 0; i < 3; i++) {
        setenv("VKREEL_NORM_WORKGROUP", sizes[i], 1);
        for (int t = 0; t < (i == 2 ? 1 : 3); t++) { /* 256 lanes are slow on lavapipe: f32 only */
            layer_norm_case(gpu, dtypes[t], VKR_F32, 7, 33, 1, 0.0f, 0);
            layer_norm_case(gpu, dtypes[t], dtypes[t], 7, 320, 1, 0.0f, 0);
            softmax_case(gpu, dtypes[t], dtypes[t], (const int64_t[]){1, 1, 2, 7, 257}, (const int64_t[]){1, 1, 1, 7, 257},
                         0.125f);
            softmax_case(gpu, dtypes[t], VKR_F32, (const int64_t[]){1, 1, 1, 5, 320}, (const int64_t[]){1, 1, 1, 1, 320},
                         1.0f);
            l2_case(gpu, dtypes[t], 7, 320, 0);
            l2_case(gpu, dtypes[t], 3, 33, 0);
        }
        reduce_cases(gpu, VKR_F32);
    }
    unsetenv("VKREEL_NORM_WORKGROUP");
    gt_close(gpu);
    test_split();
    return check_summary("test_gpu_norm");
}
