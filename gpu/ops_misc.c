/* Host side of the small ops: shaders/upsample_nearest.comp,
 * timestep_embedding.comp, embedding.comp (variants in
 * shaders/family_misc.cmake), video layout views over the elementwise copy;
 * reference in gpu/ref_misc.c, tests in tests/test_gpu_misc.c. */
#include "gpu/ops_misc.h"
#include "gpu/kernel.h"
#include "gpu/ops_eltwise.h"
#include "gpu/reduce_chunk.h"

#include "common/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WORKGROUP 256

static const vkr_shader_code *const upsample_variants[3] = {
    &vkr_spv_upsample_nearest_f32, &vkr_spv_upsample_nearest_f16, &vkr_spv_upsample_nearest_bf16};
static const vkr_shader_code *const timestep_variants[3] = {
    &vkr_spv_timestep_embedding_f32, &vkr_spv_timestep_embedding_f16, &vkr_spv_timestep_embedding_bf16};
static const vkr_shader_code *const embedding_variants[3][3] = {
    {&vkr_spv_embedding_f32_f32, &vkr_spv_embedding_f32_f16, &vkr_spv_embedding_f32_bf16},
    {&vkr_spv_embedding_f16_f32, &vkr_spv_embedding_f16_f16, &vkr_spv_embedding_f16_bf16},
    {&vkr_spv_embedding_bf16_f32, &vkr_spv_embedding_bf16_f16, &vkr_spv_embedding_bf16_bf16}};

/* ------------------------------------------------------------------ upsample */

typedef struct {
    uint32_t ne[5];
    uint32_t n;
    uint32_t in_h, in_w;
    uint32_t nb_x[5], nb_y[5];
    uint32_t off_x, off_y;
    float scale_h, scale_w;
} upsample_push;

static int upsample_chunk(vkr_gpu *gpu, const vkr_chunk *c, void *user)
{
    const vkr_kernel *k = user;
    const vkr_tensor *x = &c->view[0], *y = &c->view[1];
    vkr_binding b[2];
    upsample_push p = {.in_h = (uint32_t)x->ne[3], .in_w = (uint32_t)x->ne[4],
                       /* ATen: static_cast<float>(input_size) / output_size */
                       .scale_h = (float)x->ne[3] / (float)y->ne[3], .scale_w = (float)x->ne[4] / (float)y->ne[4]};
    int rc;
    if ((rc = vkr_bind_tensor(gpu, x, 0, &b[0], &p.off_x)) || (rc = vkr_bind_tensor(gpu, y, 1, &b[1], &p.off_y)))
        return rc;
    vkr_ne_u32(y, p.ne);
    vkr_nb_u32(x, p.nb_x);
    vkr_nb_u32(y, p.nb_y);
    uint64_t n = (uint64_t)vkr_tensor_nelem(y);
    p.n = (uint32_t)n;
    return vkr_dispatch_1d(gpu, k, b, 2, &p, sizeof p, n, 0,
                           (double)n * (double)(vkr_dtype_size(x->dtype) + vkr_dtype_size(y->dtype)));
}

int vkr_op_upsample_nearest(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *y)
{
    int rc, s;
    if ((rc = vkr_storage_index(gpu, x->dtype, &s)) ||
        (rc = vkr_check_shape("upsample_nearest", "y", y, (const int64_t[]){x->ne[0], x->ne[1], x->ne[2], -1, -1})) ||
        (rc = vkr_check_dtype("upsample_nearest", "y", y, x->dtype)))
        return rc;
    vkr_kernel k = {.name = "upsample_nearest", .shader = upsample_variants[s], .spec = {WORKGROUP}, .n_spec = 1};
    const vkr_tensor ops[2] = {*x, *y};
    const int64_t ne[5] = {x->ne[0], x->ne[1], x->ne[2], 1, 1};
    const int64_t scale[2][5] = {{1, 1, 1, 0, 0}, {1, 1, 1, 0, 0}};
    return vkr_for_each_outer_chunk(gpu, ne, ops, scale, 2, upsample_chunk, &k);
}

/* ------------------------------------------------------- timestep embedding */

typedef struct {
    uint32_t rows, dim, half_dim, flip;
    uint32_t off_t, nb_t;
    uint32_t off_y, nb_y_row, nb_y_col;
    float neg_log_max_period, denom, scale;
} timestep_push;

int vkr_op_timestep_embedding(vkr_gpu *gpu, const vkr_tensor *t, const vkr_timestep_params *prm, const vkr_tensor *y)
{
    const char *op = "timestep_embedding";
    int rc, s;
    vkr_tensor tv;
    int64_t n = vkr_tensor_nelem(t);
    if ((rc = vkr_storage_index(gpu, y->dtype, &s)) || (rc = vkr_check_dtype(op, "t", t, VKR_F32)) ||
        (rc = vkr_vector_view(op, "t", t, n, VKR_DIM_W, &tv)) ||
        (rc = vkr_check_shape(op, "y", y, (const int64_t[]){1, 1, 1, n, -1})))
        return rc;
    int64_t dim = y->ne[4], half = dim / 2;
    double max_period = prm->max_period > 0 ? prm->max_period : 10000.0;
    if (half < 1 || (double)half - prm->downscale_freq_shift == 0)
        return vkr_fail(VKR_E_INTERNAL, "%s: dim %lld with downscale_freq_shift %g", op, (long long)dim,
                        (double)prm->downscale_freq_shift);
    /* torch: -math.log(max_period) (a Python float) times an f32 arange -> the
     * scalar enters as f32; (half_dim - shift) likewise */
    timestep_push p = {.rows = (uint32_t)n, .dim = (uint32_t)dim, .half_dim = (uint32_t)half,
                       .flip = prm->flip_sin_to_cos != 0, .nb_t = (uint32_t)tv.nb[4],
                       .nb_y_row = (uint32_t)y->nb[3], .nb_y_col = (uint32_t)y->nb[4],
                       .neg_log_max_period = (float)-log(max_period),
                       .denom = (float)((double)half - prm->downscale_freq_shift),
                       .scale = prm->scale != 0 ? prm->scale : 1.0f};
    vkr_binding b[2];
    if ((rc = vkr_bind_tensor(gpu, &tv, 0, &b[0], &p.off_t)) || (rc = vkr_bind_tensor(gpu, y, 1, &b[1], &p.off_y)))
        return rc;
    vkr_kernel k = {.name = op, .shader = timestep_variants[s], .spec = {64}, .n_spec = 1};
    uint64_t total = (uint64_t)n * (uint64_t)dim;
    return vkr_dispatch_1d(gpu, &k, b, 2, &p, sizeof p, total, 40.0 * (double)total,
                           4.0 * (double)n + (double)total * (double)vkr_dtype_size(y->dtype));
}

/* ---------------------------------------------------------------- embedding */

int vkr_embedding_ids_upload(vkr_gpu *gpu, const void *ids, vkr_dtype id_dtype, int64_t n, int64_t vocab,
                             vkr_tensor *out)
{
    if (id_dtype != VKR_I32 && id_dtype != VKR_I64)
        return vkr_fail(VKR_E_INTERNAL, "embedding ids must be I32 or I64, not %s", vkr_dtype_name(id_dtype));
    if (n < 1)
        return vkr_fail(VKR_E_INTERNAL, "embedding: %lld ids", (long long)n);
    int32_t *v = malloc((size_t)n * sizeof *v);
    if (!v)
        return vkr_fail(VKR_E_TEMPFAIL, "out of host memory");
    int rc = VKR_OK;
    for (int64_t i = 0; i < n; i++) {
        int64_t id = id_dtype == VKR_I32 ? ((const int32_t *)ids)[i] : ((const int64_t *)ids)[i];
        if (id < 0 || id >= vocab) {
            rc = vkr_fail(VKR_E_DATA, "token id %lld at position %lld is outside the vocabulary [0, %lld)",
                          (long long)id, (long long)i, (long long)vocab);
            goto fail;
        }
        v[i] = (int32_t)id;
    }
    /* device tensors are typed F32/F16/BF16: the ids travel bit for bit in a
     * 4-byte F32 tensor (same-dtype uploads are plain copies) and the shader
     * reads them as int */
    const int64_t ne[5] = {1, 1, 1, 1, n};
    if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne, out)))
        goto fail;
    if ((rc = vkr_tensor_upload(gpu, out, v, VKR_F32)))
        vkr_tensor_free(gpu, out);
fail:
    free(v);
    return rc;
}

typedef struct {
    uint32_t rows, dim, seq;
    uint32_t off_i, nb_i;
    uint32_t off_t, nb_t_row, nb_t_col;
    uint32_t off_p, nb_p_row, nb_p_col;
    uint32_t off_y, nb_y_row, nb_y_col;
    int32_t row0, n_tab_rows;
} embedding_push;

/* Rows of y (all dims but W) must collapse into one stride. */
static int rows_collapse(const vkr_tensor *t)
{
    for (int d = 0; d < 3; d++)
        if (t->ne[d] > 1 && t->nb[d] != t->ne[d + 1] * t->nb[d + 1])
            return 0;
    return 1;
}

int vkr_op_embedding(vkr_gpu *gpu, const vkr_tensor *ids, const vkr_tensor *table, const vkr_tensor *pos,
                     const vkr_tensor *y)
{
    const char *op = "embedding";
    int rc, s, sp;
    int64_t n = vkr_tensor_nelem(ids), vocab = table->ne[3], dim = table->ne[4];
    int64_t rows = y->ne[0] * y->ne[1] * y->ne[2] * y->ne[3], seq = y->ne[3];
    vkr_tensor iv;
    if ((rc = vkr_storage_index(gpu, table->dtype, &s)) || (rc = vkr_check_dtype(op, "ids", ids, VKR_F32)) ||
        (rc = vkr_vector_view(op, "ids", ids, n, VKR_DIM_W, &iv)) ||
        (rc = vkr_check_shape(op, "table", table, (const int64_t[]){1, 1, 1, -1, -1})) ||
        (rc = vkr_check_shape(op, "y", y, (const int64_t[]){-1, -1, -1, -1, dim})) ||
        (rc = vkr_check_dtype(op, "y", y, table->dtype)))
        return rc;
    if (rows != n || !rows_collapse(y))
        return vkr_fail(VKR_E_INTERNAL, "%s: y must hold %lld rows with one row stride", op, (long long)n);
    sp = s;
    if (pos) {
        if ((rc = vkr_check_shape(op, "pos", pos, (const int64_t[]){1, 1, 1, -1, dim})) ||
            (rc = vkr_storage_index(gpu, pos->dtype, &sp)))
            return rc;
        if (pos->ne[3] < seq)
            return vkr_fail(VKR_E_INTERNAL, "%s: %lld positions for sequences of %lld", op, (long long)pos->ne[3],
                            (long long)seq);
    }
    vkr_binding b[4];
    embedding_push p = {.rows = (uint32_t)n, .dim = (uint32_t)dim, .seq = (uint32_t)seq, .nb_i = (uint32_t)iv.nb[4],
                        .nb_t_row = (uint32_t)table->nb[3], .nb_t_col = (uint32_t)table->nb[4],
                        .nb_y_row = (uint32_t)y->nb[3], .nb_y_col = (uint32_t)y->nb[4]};
    vkr_tensor pv = pos ? *pos : iv;
    if (pos)
        p.nb_p_row = (uint32_t)pos->nb[3], p.nb_p_col = (uint32_t)pos->nb[4];
    if ((rc = vkr_bind_tensor(gpu, &iv, 0, &b[0], &p.off_i)) || (rc = vkr_bind_tensor(gpu, &pv, 0, &b[2], &p.off_p)) ||
        (rc = vkr_bind_tensor(gpu, y, 1, &b[3], &p.off_y)))
        return rc;
    /* table rows per window: a row's span plus the alignment slack must fit */
    uint64_t row_bytes = (uint64_t)table->nb[3] * vkr_dtype_size(table->dtype), max = vkr_gpu_max_range(gpu);
    uint64_t per = row_bytes ? (max > 1024 ? max - 1024 : max) / row_bytes : (uint64_t)vocab;
    if (per < 1)
        return vkr_fail(VKR_E_DATA, "%s: one table row (%llu bytes) exceeds the binding window", op,
                        (unsigned long long)row_bytes);
    vkr_kernel k = {.name = op, .shader = embedding_variants[s][sp], .spec = {WORKGROUP, pos != NULL}, .n_spec = 2};
    uint64_t total = (uint64_t)n * (uint64_t)dim;
    for (int64_t r0 = 0; r0 < vocab; r0 += (int64_t)per) {
        int64_t cnt = vocab - r0 < (int64_t)per ? vocab - r0 : (int64_t)per;
        vkr_tensor tv;
        if ((rc = vkr_tensor_slice(table, VKR_DIM_H, r0, cnt, &tv)) ||
            (rc = vkr_bind_tensor(gpu, &tv, 0, &b[1], &p.off_t)))
            return rc;
        p.row0 = (int32_t)r0;
        p.n_tab_rows = (int32_t)cnt;
        if ((rc = vkr_dispatch_1d(gpu, &k, b, 4, &p, sizeof p, total, pos ? (double)total : 0,
                                  (double)total * 2.0 * (double)vkr_dtype_size(table->dtype))))
            return rc;
    }
    return VKR_OK;
}

/* ------------------------------------------------------------ video layouts */

int vkr_video_view(const vkr_tensor *t, vkr_video_layout layout, const int64_t v[5], vkr_tensor *view)
{
    const int64_t N = v[0], C = v[1], F = v[2], H = v[3], W = v[4];
    int64_t want[5];
    vkr_tensor r = *t;
    r.owner = 0;
    memcpy(r.ne, v, sizeof r.ne);
    switch (layout) {
    case VKR_VIDEO_NCFHW:
        memcpy(want, v, sizeof want);
        break;
    case VKR_VIDEO_BATCH_FRAMES: { /* element (n, c, f, h, w) at (n*F + f, c, 0, h, w) */
        const int64_t w5[5] = {N * F, C, 1, H, W};
        memcpy(want, w5, sizeof want);
        const int64_t nb[5] = {F * t->nb[0], t->nb[1], t->nb[0], t->nb[3], t->nb[4]};
        memcpy(r.nb, nb, sizeof r.nb);
        break;
    }
    case VKR_VIDEO_TEMPORAL_TOKENS: { /* element (n, c, f, h, w) at (0, 0, (n*H + h)*W + w, f, c) */
        const int64_t w5[5] = {1, 1, N * H * W, F, C};
        memcpy(want, w5, sizeof want);
        const int64_t nb[5] = {H * W * t->nb[2], t->nb[4], t->nb[3], W * t->nb[2], t->nb[2]};
        memcpy(r.nb, nb, sizeof r.nb);
        break;
    }
    default:
        return vkr_fail(VKR_E_INTERNAL, "video_view: layout %d", (int)layout);
    }
    int rc = vkr_check_shape("video_view", "t", t, want);
    if (rc)
        return rc;
    *view = r;
    return VKR_OK;
}

int vkr_op_video_relayout(vkr_gpu *gpu, const vkr_tensor *src, vkr_video_layout src_layout, const vkr_tensor *dst,
                          vkr_video_layout dst_layout, const int64_t video_ne[5])
{
    vkr_tensor a, b;
    int rc;
    if ((rc = vkr_video_view(src, src_layout, video_ne, &a)) || (rc = vkr_video_view(dst, dst_layout, video_ne, &b)))
        return rc;
    return vkr_op_copy(gpu, &a, &b);
}

int vkr_op_slice_copy(vkr_gpu *gpu, const vkr_tensor *x, int dim, int64_t start, int64_t len, const vkr_tensor *dst)
{
    vkr_tensor v;
    int rc = vkr_tensor_slice(x, dim, start, len, &v);
    return rc ? rc : vkr_op_copy(gpu, &v, dst);
}
