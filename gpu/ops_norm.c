/* Host side of the normalisation / reduction family: shaders/groupnorm_*.comp,
 * layernorm.comp, softmax.comp, l2norm.comp, reduce_rows.comp (variants in
 * shaders/family_norm.cmake), reference in gpu/ref_norm.c, tests in
 * tests/test_gpu_norm.c. */
#include "gpu/ops_norm.h"
#include "gpu/kernel.h"
#include "gpu/reduce_chunk.h"

#include "common/status.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define GN_STATS_WG 256
#define GN_APPLY_WG 256
#define GN_APPLY_EPT 4 /* = EPT in groupnorm_apply.comp */
#define GN_APPLY_EPT4 4 /* = EPT4 in groupnorm_apply.comp */

/* [activation storage][weight / mask storage] */
#define VARIANTS3(base)                                                                                            \
    {{&vkr_spv_##base##_f32_f32, &vkr_spv_##base##_f32_f16, &vkr_spv_##base##_f32_bf16},                           \
     {&vkr_spv_##base##_f16_f32, &vkr_spv_##base##_f16_f16, &vkr_spv_##base##_f16_bf16},                           \
     {&vkr_spv_##base##_bf16_f32, &vkr_spv_##base##_bf16_f16, &vkr_spv_##base##_bf16_bf16}}
static const vkr_shader_code *const gn_apply_variants[3][3] = VARIANTS3(groupnorm_apply);
static const vkr_shader_code *const ln_variants[3][3] = VARIANTS3(layernorm);
static const vkr_shader_code *const softmax_variants[3][3] = VARIANTS3(softmax);
static const vkr_shader_code *const gn_stats_variants[3] = {&vkr_spv_groupnorm_stats_f32, &vkr_spv_groupnorm_stats_f16,
                                                            &vkr_spv_groupnorm_stats_bf16};
static const vkr_shader_code *const l2_variants[3] = {&vkr_spv_l2norm_f32, &vkr_spv_l2norm_f16, &vkr_spv_l2norm_bf16};
static const vkr_shader_code *const reduce_variants[3] = {&vkr_spv_reduce_rows_f32, &vkr_spv_reduce_rows_f16,
                                                          &vkr_spv_reduce_rows_bf16};

static int same_shape_dtype(const char *op, const vkr_tensor *x, const vkr_tensor *y)
{
    int rc = vkr_check_shape(op, "y", y, x->ne);
    return rc ? rc : vkr_check_dtype(op, "y", y, x->dtype);
}

/* Dispatches n_groups workgroups. */
static int dispatch_groups(vkr_gpu *gpu, const vkr_kernel *k, const vkr_binding *b, uint32_t nb, const void *push,
                           uint32_t push_size, uint64_t n_groups, double flops, double bytes)
{
    uint32_t g[3];
    int rc = vkr_grid_1d(gpu, n_groups, g);
    return rc ? rc : vkr_dispatch(gpu, k, b, nb, push, push_size, g, flops, bytes);
}

static int bind_all(vkr_gpu *gpu, const vkr_tensor *v, const int *write, int n, vkr_binding *b, uint32_t *off)
{
    for (int i = 0; i < n; i++) {
        int rc = vkr_bind_tensor(gpu, &v[i], write[i], &b[i], &off[i]);
        if (rc)
            return rc;
    }
    return VKR_OK;
}

/* vec4 paths (shaders/reduce_vec4.glsl): the last dim of view t is contiguous
 * with a multiple of 4 elements, and every row start (window offset + outer
 * strides) is a multiple of 4 elements. */
static int vec4_rows(const vkr_tensor *t, uint32_t off)
{
    if (off % 4 || t->ne[4] % 4 || (t->ne[4] > 1 && t->nb[4] != 1))
        return 0;
    for (int d = 0; d < 4; d++)
        if (t->ne[d] > 1 && t->nb[d] % 4)
            return 0;
    return 1;
}

/* ---------------------------------------------------------------- group norm */

typedef struct {
    uint32_t ne_n, ne_g, ne_f, cg, ne_h, ne_w;
    uint32_t nb_x[5];
    uint32_t off_x, off_s;
    uint32_t nb_s[3];
} gn_stats_push;

typedef struct {
    uint32_t ne[5];
    uint32_t cg;
    uint32_t nb_x[5], nb_y[5];
    uint32_t off_x, off_y, off_g, off_b;
    uint32_t nb_g, nb_b;
    uint32_t off_s;
    uint32_t nb_s[3];
    uint32_t tiles;
    float eps;
} gn_apply_push;

typedef struct {
    vkr_kernel k;
    int64_t cg;
    float eps;
} gn_job;

/* H and W merge into one row when they are contiguous in x (and y). */
static int hw_merges(const vkr_tensor *t) { return t->ne[3] == 1 || t->nb[3] == t->ne[4] * t->nb[4]; }
/* The element stride of the merged H*W row (W = 1: H's stride). */
static uint32_t merged_stride(const vkr_tensor *t)
{
    return t->ne[4] > 1 ? (uint32_t)t->nb[4] : t->ne[3] > 1 ? (uint32_t)t->nb[3] : 0;
}

static int gn_stats_chunk(vkr_gpu *gpu, const vkr_chunk *c, void *user)
{
    const gn_job *job = user;
    const vkr_tensor *x = &c->view[0], *s = &c->view[1];
    vkr_binding b[2];
    uint32_t off[2];
    int rc = bind_all(gpu, c->view, (const int[]){0, 1}, 2, b, off);
    if (rc)
        return rc;
    gn_stats_push p = {.ne_n = (uint32_t)c->ne[0], .ne_g = (uint32_t)c->ne[1], .ne_f = (uint32_t)c->ne[2],
                       .cg = (uint32_t)job->cg, .ne_h = (uint32_t)x->ne[3], .ne_w = (uint32_t)x->ne[4],
                       .off_x = off[0], .off_s = off[1]};
    vkr_nb_u32(x, p.nb_x);
    if (hw_merges(x)) {
        p.nb_x[4] = merged_stride(x);
        p.ne_w *= p.ne_h;
        p.ne_h = 1;
    }
    uint32_t nbs[5];
    vkr_nb_u32(s, nbs);
    memcpy(p.nb_s, nbs, sizeof p.nb_s);
    uint64_t slots = (uint64_t)p.ne_n * p.ne_g * p.ne_f;
    double n = (double)vkr_tensor_nelem(x);
    vkr_kernel k = job->k;
    k.spec[1] = p.ne_h == 1 && p.ne_w % 4 == 0 && p.nb_x[4] <= 1 && p.off_x % 4 == 0 && p.nb_x[0] % 4 == 0 &&
                p.nb_x[1] % 4 == 0 && p.nb_x[2] % 4 == 0;
    k.n_spec = 2;
    return dispatch_groups(gpu, &k, b, 2, &p, sizeof p, slots, 5 * n,
                           n * (double)vkr_dtype_size(x->dtype) + 12.0 * (double)slots);
}

static int gn_apply_chunk(vkr_gpu *gpu, const vkr_chunk *c, void *user)
{
    const gn_job *job = user;
    const vkr_tensor *x = &c->view[0], *y = &c->view[4];
    vkr_binding b[5];
    uint32_t off[5];
    int rc = bind_all(gpu, c->view, (const int[]){0, 0, 0, 0, 1}, 5, b, off);
    if (rc)
        return rc;
    gn_apply_push p = {.cg = (uint32_t)job->cg, .off_x = off[0], .off_y = off[4], .off_g = off[1], .off_b = off[2],
                       .nb_g = (uint32_t)c->view[1].nb[1], .nb_b = (uint32_t)c->view[2].nb[1], .off_s = off[3],
                       .eps = job->eps};
    vkr_ne_u32(x, p.ne);
    vkr_nb_u32(x, p.nb_x);
    vkr_nb_u32(y, p.nb_y);
    if (hw_merges(x) && hw_merges(y)) {
        p.nb_x[4] = merged_stride(x);
        p.nb_y[4] = merged_stride(y);
        p.ne[4] *= p.ne[3];
        p.ne[3] = 1;
    }
    uint32_t nbs[5];
    vkr_nb_u32(&c->view[3], nbs);
    memcpy(p.nb_s, nbs, sizeof p.nb_s);
    uint64_t rows = (uint64_t)p.ne[0] * p.ne[1] * p.ne[2];
    double n = (double)vkr_tensor_nelem(x);
    vkr_kernel k = job->k;
    int v4 = p.ne[3] == 1 && p.ne[4] % 4 == 0 && p.off_x % 4 == 0 && p.off_y % 4 == 0;
    for (int d = 0; d < 5; d++)
        v4 &= d == 4 ? p.nb_x[4] <= 1 && p.nb_y[4] <= 1 : p.nb_x[d] % 4 == 0 && p.nb_y[d] % 4 == 0;
    k.spec[3] = (uint32_t)v4;
    k.n_spec = 4;
    uint64_t hw = (uint64_t)p.ne[3] * p.ne[4], tile = (uint64_t)k.spec[0] * (v4 ? GN_APPLY_EPT4 * 4 : GN_APPLY_EPT);
    p.tiles = (uint32_t)((hw + tile - 1) / tile);
    return dispatch_groups(gpu, &k, b, 5, &p, sizeof p, rows * p.tiles, 4 * n,
                           n * (double)(vkr_dtype_size(x->dtype) + vkr_dtype_size(y->dtype)));
}

static int gn_check(const char *op, const vkr_tensor *x, int groups)
{
    if (groups < 1 || x->ne[1] % groups)
        return vkr_fail(VKR_E_INTERNAL, "%s: %lld channels are not divisible into %d groups", op,
                        (long long)x->ne[1], groups);
    return VKR_OK;
}

int vkr_group_norm_stats_alloc(vkr_gpu *gpu, int64_t n, int groups, int64_t frames, vkr_tensor *stats)
{
    const int64_t ne[5] = {n, groups, frames, 1, 3};
    return vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne, stats);
}

static int stats_check(const char *op, const vkr_tensor *x, int groups, const vkr_tensor *stats)
{
    int rc = vkr_check_dtype(op, "stats", stats, VKR_F32);
    if (!rc)
        rc = vkr_check_shape(op, "stats", stats, (const int64_t[]){x->ne[0], groups, -1, 1, 3});
    if (!rc && stats->nb[4] != 1)
        rc = vkr_fail(VKR_E_INTERNAL, "%s: stats slots must be 3 consecutive floats", op);
    return rc;
}

int vkr_op_group_norm_stats(vkr_gpu *gpu, const vkr_tensor *x, int groups, const vkr_tensor *stats, int64_t frame0)
{
    int rc, s;
    if ((rc = vkr_storage_index(gpu, x->dtype, &s)))
        return rc;
    if ((rc = gn_check("group_norm_stats", x, groups)) || (rc = stats_check("group_norm_stats", x, groups, stats)))
        return rc;
    vkr_tensor sv;
    if (frame0 < 0 || frame0 + x->ne[2] > stats->ne[2])
        return vkr_fail(VKR_E_INTERNAL, "group_norm_stats: frames [%lld, +%lld) outside the %lld stats slots",
                        (long long)frame0, (long long)x->ne[2], (long long)stats->ne[2]);
    if ((rc = vkr_tensor_slice(stats, VKR_DIM_F, frame0, x->ne[2], &sv)))
        return rc;
    int64_t cg = x->ne[1] / groups;
    gn_job job = {.k = {.name = "group_norm_stats", .shader = gn_stats_variants[s], .spec = {GN_STATS_WG},
                        .n_spec = 1},
                  .cg = cg};
    const vkr_tensor ops[2] = {*x, sv};
    const int64_t ne[5] = {x->ne[0], groups, x->ne[2], 1, 1};
    const int64_t scale[2][5] = {{1, cg, 1, 0, 0}, {1, 1, 1, 0, 0}};
    return vkr_for_each_outer_chunk(gpu, ne, ops, scale, 2, gn_stats_chunk, &job);
}

typedef struct {
    uint32_t ne_n, ne_g, ne_f;
    uint32_t off_s, off_d;
    uint32_t nb_s[3], nb_d[3];
} gn_combine_push;

int vkr_op_group_norm_combine(vkr_gpu *gpu, const vkr_tensor *stats, const vkr_tensor *combined)
{
    int rc;
    if ((rc = vkr_check_dtype("group_norm_combine", "stats", stats, VKR_F32)) ||
        (rc = vkr_check_dtype("group_norm_combine", "combined", combined, VKR_F32)) ||
        (rc = vkr_check_shape("group_norm_combine", "stats", stats, (const int64_t[]){-1, -1, -1, 1, 3})) ||
        (rc = vkr_check_shape("group_norm_combine", "combined", combined,
                              (const int64_t[]){stats->ne[0], stats->ne[1], 1, 1, 3})))
        return rc;
    if (stats->nb[4] != 1 || combined->nb[4] != 1)
        return vkr_fail(VKR_E_INTERNAL, "group_norm_combine: stats slots must be 3 consecutive floats");
    vkr_binding b[2];
    uint32_t off[2], nbs[5], nbd[5];
    if ((rc = vkr_bind_tensor(gpu, stats, 0, &b[0], &off[0])) || (rc = vkr_bind_tensor(gpu, combined, 1, &b[1], &off[1])))
        return rc;
    gn_combine_push p = {.ne_n = (uint32_t)stats->ne[0], .ne_g = (uint32_t)stats->ne[1],
                         .ne_f = (uint32_t)stats->ne[2], .off_s = off[0], .off_d = off[1]};
    vkr_nb_u32(stats, nbs);
    vkr_nb_u32(combined, nbd);
    memcpy(p.nb_s, nbs, sizeof p.nb_s);
    memcpy(p.nb_d, nbd, sizeof p.nb_d);
    vkr_kernel k = {.name = "group_norm_combine", .shader = &vkr_spv_groupnorm_combine, .spec = {64}, .n_spec = 1};
    uint64_t n = (uint64_t)p.ne_n * p.ne_g;
    return vkr_dispatch_1d(gpu, &k, b, 2, &p, sizeof p, n, 8.0 * (double)n * p.ne_f,
                           12.0 * (double)n * (p.ne_f + 1));
}

int vkr_op_group_norm_apply(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *weight, const vkr_tensor *bias,
                            const vkr_tensor *stats, int64_t frame0, const vkr_group_norm_params *p,
                            const vkr_tensor *y)
{
    const char *op = "group_norm_apply";
    int rc, s;
    if ((rc = vkr_storage_index(gpu, x->dtype, &s)))
        return rc;
    if ((rc = gn_check(op, x, p->groups)) || (rc = stats_check(op, x, p->groups, stats)) ||
        (rc = same_shape_dtype(op, x, y)))
        return rc;
    if (!weight != !bias)
        return vkr_fail(VKR_E_INTERNAL, "%s: weight and bias must both be given or both be NULL", op);
    int64_t C = x->ne[1], cg = C / p->groups;
    vkr_tensor wv = *x, bv = *x, sv = *stats, comb = {0};
    int sw = 0;
    if (weight) {
        if ((rc = vkr_vector_view(op, "weight", weight, C, VKR_DIM_C, &wv)) ||
            (rc = vkr_vector_view(op, "bias", bias, C, VKR_DIM_C, &bv)))
            return rc;
        if (weight->dtype != bias->dtype)
            return vkr_fail(VKR_E_INTERNAL, "%s: weight and bias dtypes differ", op);
        if ((rc = vkr_storage_index(gpu, weight->dtype, &sw)))
            return rc;
    } else {
        /* unused bindings: the x vector view keeps the operand shapes valid */
        wv.ne[0] = wv.ne[2] = wv.ne[3] = wv.ne[4] = 1;
        bv = wv;
        sw = s;
    }
    if (stats->ne[2] > 1) {
        if (frame0 < 0 || frame0 + x->ne[2] > stats->ne[2])
            return vkr_fail(VKR_E_INTERNAL, "%s: frames [%lld, +%lld) outside the %lld stats slots", op,
                            (long long)frame0, (long long)x->ne[2], (long long)stats->ne[2]);
        if (p->per_frame) {
            if ((rc = vkr_tensor_slice(stats, VKR_DIM_F, frame0, x->ne[2], &sv)))
                return rc;
        } else {
            const int64_t cne[5] = {stats->ne[0], stats->ne[1], 1, 1, 3};
            if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, cne, &comb)) ||
                (rc = vkr_op_group_norm_combine(gpu, stats, &comb)))
                goto fail;
            sv = comb;
        }
    }
    gn_job job = {.k = {.name = p->silu ? "group_norm_silu" : "group_norm", .shader = gn_apply_variants[s][sw],
                        .spec = {GN_APPLY_WG, weight != NULL, p->silu != 0}, .n_spec = 3},
                  .cg = cg, .eps = p->eps};
    const vkr_tensor ops[5] = {*x, wv, bv, sv, *y};
    const int64_t ne[5] = {x->ne[0], p->groups, x->ne[2], 1, 1};
    const int64_t scale[5][5] = {{1, cg, 1, 0, 0}, {0, cg, 0, 0, 0}, {0, cg, 0, 0, 0}, {1, 1, 1, 0, 0}, {1, cg, 1, 0, 0}};
    rc = vkr_for_each_outer_chunk(gpu, ne, ops, scale, 5, gn_apply_chunk, &job);
fail:
    if (comb.owner)
        vkr_tensor_free(gpu, &comb);
    return rc;
}

int vkr_op_group_norm(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *weight, const vkr_tensor *bias,
                      const vkr_group_norm_params *p, const vkr_tensor *y)
{
    int rc = gn_check("group_norm", x, p->groups);
    if (rc)
        return rc;
    vkr_tensor st;
    if ((rc = vkr_group_norm_stats_alloc(gpu, x->ne[0], p->groups, x->ne[2], &st)))
        return rc;
    rc = vkr_op_group_norm_stats(gpu, x, p->groups, &st, 0);
    if (!rc)
        rc = vkr_op_group_norm_apply(gpu, x, weight, bias, &st, 0, p, y);
    vkr_tensor_free(gpu, &st); /* the tracker orders any later reuse after the reads */
    return rc;
}

/* ------------------------------------------------------------------ row ops */

typedef enum { ROW_LAYER_NORM, ROW_SOFTMAX, ROW_L2, ROW_REDUCE } row_kind;

typedef struct {
    uint32_t ne[5];
    uint32_t nb_x[5], nb_y[5];
    uint32_t off_x, off_y, off_g, off_b;
    uint32_t nb_g, nb_b;
    uint32_t rows;
    float eps;
} ln_push;
typedef struct {
    uint32_t ne[5];
    uint32_t nb_x[5], nb_m[5], nb_y[5];
    uint32_t off_x, off_m, off_y;
    uint32_t rows;
    float scale;
} softmax_push;
typedef struct {
    uint32_t ne[5];
    uint32_t nb_x[5], nb_y[5];
    uint32_t off_x, off_y;
    uint32_t rows;
    float eps;
} l2_push; /* reduce_rows uses the same layout without eps */

typedef struct {
    row_kind kind;
    vkr_kernel k;
    int n_ops; /* views: x, [weight, bias | mask], y */
    float param;
    double flops_per_elem;
} row_job;

static int row_chunk(vkr_gpu *gpu, const vkr_chunk *c, void *user)
{
    const row_job *job = user;
    const vkr_tensor *x = &c->view[0], *y = &c->view[job->n_ops - 1];
    vkr_binding b[4];
    uint32_t off[4];
    int write[4] = {0, 0, 0, 0};
    write[job->n_ops - 1] = 1;
    int rc = bind_all(gpu, c->view, write, job->n_ops, b, off);
    if (rc)
        return rc;
    uint32_t ne[5], nbx[5], nby[5];
    vkr_ne_u32(x, ne);
    vkr_nb_u32(x, nbx);
    vkr_nb_u32(y, nby);
    uint64_t rows = (uint64_t)ne[0] * ne[1] * ne[2] * ne[3];
    double n = (double)vkr_tensor_nelem(x), flops = job->flops_per_elem * n;
    double bytes = n * (double)vkr_dtype_size(x->dtype) + (double)vkr_tensor_nelem(y) * (double)vkr_dtype_size(y->dtype);
    vkr_kernel k = job->k;
    int v4 = vec4_rows(x, off[0]) && vec4_rows(y, off[job->n_ops - 1]);
    if (job->kind == ROW_LAYER_NORM && k.spec[1]) /* affine: the weights too */
        v4 &= vec4_rows(&c->view[1], off[1]) && vec4_rows(&c->view[2], off[2]);
    if (job->kind == ROW_SOFTMAX && k.spec[1]) /* the mask (broadcast rows have stride 0) */
        v4 &= vec4_rows(&c->view[1], off[1]);
    k.spec[2] = (uint32_t)v4;
    k.n_spec = 3;
    switch (job->kind) {
    case ROW_LAYER_NORM: {
        ln_push p = {.off_x = off[0], .off_y = off[3], .off_g = off[1], .off_b = off[2],
                     .nb_g = (uint32_t)c->view[1].nb[4], .nb_b = (uint32_t)c->view[2].nb[4], .rows = (uint32_t)rows,
                     .eps = job->param};
        memcpy(p.ne, ne, sizeof ne), memcpy(p.nb_x, nbx, sizeof nbx), memcpy(p.nb_y, nby, sizeof nby);
        return dispatch_groups(gpu, &k, b, 4, &p, sizeof p, rows, flops, bytes);
    }
    case ROW_SOFTMAX: {
        softmax_push p = {.off_x = off[0], .off_m = off[1], .off_y = off[2], .rows = (uint32_t)rows,
                          .scale = job->param};
        memcpy(p.ne, ne, sizeof ne), memcpy(p.nb_x, nbx, sizeof nbx), memcpy(p.nb_y, nby, sizeof nby);
        vkr_nb_u32(&c->view[1], p.nb_m);
        return dispatch_groups(gpu, &k, b, 3, &p, sizeof p, rows, flops, bytes);
    }
    case ROW_L2:
    case ROW_REDUCE: {
        l2_push p = {.off_x = off[0], .off_y = off[1], .rows = (uint32_t)rows, .eps = job->param};
        memcpy(p.ne, ne, sizeof ne), memcpy(p.nb_x, nbx, sizeof nbx), memcpy(p.nb_y, nby, sizeof nby);
        /* reduce_rows' Push has no eps: pass only its size */
        uint32_t size = job->kind == ROW_L2 ? (uint32_t)sizeof p : (uint32_t)offsetof(l2_push, eps);
        return dispatch_groups(gpu, &job->k, b, 2, &p, size, rows, flops, bytes);
    }
    }
    return vkr_fail(VKR_E_INTERNAL, "row op %d", (int)job->kind);
}

/* Row kernels: one workgroup per row. On GPUs ~8 elements per invocation
 * (32..256 invocations). On CPU devices (lavapipe) one subgroup: there a
 * workgroup's invocations run as SIMD lanes of one thread and every barrier
 * of the reduction tree switches between groups of lanes -- measured on the
 * 17280 x 320 layer norm: 8 invocations 190 ms, 32: 280-470 ms, 128: 690-940
 * ms (2 loaded cores). */
static uint32_t row_workgroup(const vkr_gpu *gpu, int64_t w)
{
    /* tests/tuning: force a size, so the CPU run also covers the GPU sizes */
    const char *force = getenv("VKREEL_NORM_WORKGROUP");
    if (force && *force) {
        long v = strtol(force, NULL, 10);
        if (v >= 1 && v <= 1024 && !(v & (v - 1)))
            return (uint32_t)v;
    }
    const vkr_device_info *info = vkr_gpu_device(gpu);
    if (info->type == 4 /* VK_PHYSICAL_DEVICE_TYPE_CPU */ && info->subgroup_size >= 4 && info->subgroup_size <= 64 &&
        !(info->subgroup_size & (info->subgroup_size - 1)))
        return info->subgroup_size;
    return vkr_pow2_workgroup(w, 8, 32, 256);
}

static int run_rows(vkr_gpu *gpu, row_job *job, const vkr_tensor *ops)
{
    const vkr_tensor *x = &ops[0];
    const int64_t ne[5] = {x->ne[0], x->ne[1], x->ne[2], x->ne[3], 1};
    int64_t scale[4][5];
    for (int i = 0; i < job->n_ops; i++) {
        int row_op = i == 0 || i == job->n_ops - 1 || job->kind == ROW_SOFTMAX; /* weights are not split */
        for (int d = 0; d < 5; d++)
            scale[i][d] = row_op && d < 4 ? 1 : 0;
    }
    job->k.spec[0] = row_workgroup(gpu, x->ne[4]);
    return vkr_for_each_outer_chunk(gpu, ne, ops, (const int64_t(*)[5])scale, job->n_ops, row_chunk, job);
}

int vkr_op_layer_norm(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *weight, const vkr_tensor *bias,
                      float eps, const vkr_tensor *y)
{
    const char *op = "layer_norm";
    int rc, s, sw;
    if ((rc = vkr_storage_index(gpu, x->dtype, &s)))
        return rc;
    sw = s;
    if ((rc = same_shape_dtype(op, x, y)))
        return rc;
    if (!weight != !bias)
        return vkr_fail(VKR_E_INTERNAL, "%s: weight and bias must both be given or both be NULL", op);
    int64_t C = x->ne[4];
    vkr_tensor wv = *x, bv;
    if (weight) {
        if ((rc = vkr_vector_view(op, "weight", weight, C, VKR_DIM_W, &wv)) ||
            (rc = vkr_vector_view(op, "bias", bias, C, VKR_DIM_W, &bv)))
            return rc;
        if (weight->dtype != bias->dtype)
            return vkr_fail(VKR_E_INTERNAL, "%s: weight and bias dtypes differ", op);
        if ((rc = vkr_storage_index(gpu, weight->dtype, &sw)))
            return rc;
    } else {
        wv.ne[0] = wv.ne[1] = wv.ne[2] = wv.ne[3] = 1; /* unused binding */
        bv = wv;
    }
    row_job job = {.kind = ROW_LAYER_NORM,
                   .k = {.name = "layer_norm", .shader = ln_variants[s][sw], .spec = {0, weight != NULL}, .n_spec = 2},
                   .n_ops = 4, .param = eps, .flops_per_elem = 8};
    const vkr_tensor ops[4] = {*x, wv, bv, *y};
    return run_rows(gpu, &job, ops);
}

int vkr_op_softmax(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *mask, float scale, const vkr_tensor *y)
{
    const char *op = "softmax";
    int rc, s, sm;
    if ((rc = vkr_storage_index(gpu, x->dtype, &s)))
        return rc;
    sm = s;
    if ((rc = same_shape_dtype(op, x, y)))
        return rc;
    vkr_tensor mv = *x;
    if (mask) {
        for (int d = 0; d < VKR_DIMS; d++)
            if (mask->ne[d] != 1 && mask->ne[d] != x->ne[d])
                return vkr_fail(VKR_E_INTERNAL, "%s: mask extent %lld in dim %d does not broadcast to %lld", op,
                                (long long)mask->ne[d], d, (long long)x->ne[d]);
        if ((rc = vkr_storage_index(gpu, mask->dtype, &sm)))
            return rc;
        mv = *mask;
    }
    row_job job = {.kind = ROW_SOFTMAX,
                   .k = {.name = "softmax", .shader = softmax_variants[s][sm], .spec = {0, mask != NULL}, .n_spec = 2},
                   .n_ops = 3, .param = scale, .flops_per_elem = 8};
    const vkr_tensor ops[3] = {*x, mv, *y};
    return run_rows(gpu, &job, ops);
}

int vkr_op_l2_normalize(vkr_gpu *gpu, const vkr_tensor *x, float eps, const vkr_tensor *y)
{
    int rc, s;
    if ((rc = vkr_storage_index(gpu, x->dtype, &s)))
        return rc;
    if ((rc = same_shape_dtype("l2_normalize", x, y)))
        return rc;
    row_job job = {.kind = ROW_L2, .k = {.name = "l2_normalize", .shader = l2_variants[s], .spec = {0}, .n_spec = 1},
                   .n_ops = 2, .param = eps, .flops_per_elem = 3};
    const vkr_tensor ops[2] = {*x, *y};
    return run_rows(gpu, &job, ops);
}

static int reduce_dim(vkr_gpu *gpu, const vkr_tensor *x, int dim, const vkr_tensor *y, int mean)
{
    const char *op = mean ? "mean" : "sum";
    int rc, s;
    if ((rc = vkr_storage_index(gpu, x->dtype, &s)))
        return rc;
    if (dim < 0 || dim >= VKR_DIMS)
        return vkr_fail(VKR_E_INTERNAL, "%s: dim %d", op, dim);
    int64_t want[5];
    memcpy(want, x->ne, sizeof want);
    want[dim] = 1;
    if ((rc = vkr_check_shape(op, "y", y, want)) || (rc = vkr_check_dtype(op, "y", y, x->dtype)))
        return rc;
    /* the reduced dim becomes the row (W): a view, no copy */
    int perm[5] = {0, 1, 2, 3, 4};
    perm[dim] = 4, perm[4] = dim;
    vkr_tensor ops[2];
    if ((rc = vkr_tensor_permute(x, perm, &ops[0])) || (rc = vkr_tensor_permute(y, perm, &ops[1])))
        return rc;
    row_job job = {.kind = ROW_REDUCE,
                   .k = {.name = op, .shader = reduce_variants[s], .spec = {0, mean != 0}, .n_spec = 2},
                   .n_ops = 2, .flops_per_elem = 1};
    return run_rows(gpu, &job, ops);
}

int vkr_op_sum(vkr_gpu *gpu, const vkr_tensor *x, int dim, const vkr_tensor *y) { return reduce_dim(gpu, x, dim, y, 0); }
int vkr_op_mean(vkr_gpu *gpu, const vkr_tensor *x, int dim, const vkr_tensor *y) { return reduce_dim(gpu, x, dim, y, 1); }
