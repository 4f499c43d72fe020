/* Host side of the matmul family: shaders/matmul.comp (tiled),
 * shaders/matmul_skinny.comp, shaders/matmul_coopmat.comp; variants in
 * shaders/family_matmul.cmake, reference in gpu/ref_matmul.c, tests in
 * tests/test_gpu_matmul.c, benchmarks in gpu/bench_matmul.c. */
#include "gpu/ops_matmul.h"
#include "gpu/kernel.h"

#include "common/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* [A/C storage][B storage] */
static const vkr_shader_code *const tiled_variants[3][3] = {
    {&vkr_spv_matmul_f32_f32, &vkr_spv_matmul_f32_f16, &vkr_spv_matmul_f32_bf16},
    {&vkr_spv_matmul_f16_f32, &vkr_spv_matmul_f16_f16, &vkr_spv_matmul_f16_bf16},
    {&vkr_spv_matmul_bf16_f32, &vkr_spv_matmul_bf16_f16, &vkr_spv_matmul_bf16_bf16},
};
static const vkr_shader_code *const skinny_variants[3][3] = {
    {&vkr_spv_matmul_skinny_f32_f32, &vkr_spv_matmul_skinny_f32_f16, &vkr_spv_matmul_skinny_f32_bf16},
    {&vkr_spv_matmul_skinny_f16_f32, &vkr_spv_matmul_skinny_f16_f16, &vkr_spv_matmul_skinny_f16_bf16},
    {&vkr_spv_matmul_skinny_bf16_f32, &vkr_spv_matmul_skinny_bf16_f16, &vkr_spv_matmul_skinny_bf16_bf16},
};
/* [tn == 4][A/C storage][B storage] */
static const vkr_shader_code *const bcast_variants[2][3][3] = {
    {{&vkr_spv_matmul_bcast2_f32_f32, &vkr_spv_matmul_bcast2_f32_f16, &vkr_spv_matmul_bcast2_f32_bf16},
     {&vkr_spv_matmul_bcast2_f16_f32, &vkr_spv_matmul_bcast2_f16_f16, &vkr_spv_matmul_bcast2_f16_bf16},
     {&vkr_spv_matmul_bcast2_bf16_f32, &vkr_spv_matmul_bcast2_bf16_f16, &vkr_spv_matmul_bcast2_bf16_bf16}},
    {{&vkr_spv_matmul_bcast4_f32_f32, &vkr_spv_matmul_bcast4_f32_f16, &vkr_spv_matmul_bcast4_f32_bf16},
     {&vkr_spv_matmul_bcast4_f16_f32, &vkr_spv_matmul_bcast4_f16_f16, &vkr_spv_matmul_bcast4_f16_bf16},
     {&vkr_spv_matmul_bcast4_bf16_f32, &vkr_spv_matmul_bcast4_bf16_f16, &vkr_spv_matmul_bcast4_bf16_bf16}},
};
/* coopmat: A and B are f16; [C storage]. Zero-size modules when glslc lacks
 * GL_KHR_cooperative_matrix (see shaders/family_matmul.cmake). */
static const vkr_shader_code *const coopmat_variants[3] = {
    &vkr_spv_matmul_coopmat_f32, &vkr_spv_matmul_coopmat_f16, &vkr_spv_matmul_coopmat_bf16};

/* Spec-constant FLAGS bits shared with the shaders. */
enum { MM_BIAS = 1, MM_RESIDUAL = 2, MM_A_KFAST = 4, MM_B_KFAST = 8 };

/* The layout of `Push` in the three shaders. */
typedef struct {
    uint32_t m, n, k;
    uint32_t off_a, off_b, off_c, off_bias, off_res;
    uint32_t sa_m, sa_k, sb_k, sb_n, sc_m, sc_n, sr_m, sr_n, s_bias;
    uint32_t nb1;
    uint32_t ba0, ba1, bb0, bb1, bc0, bc1, br0, br1;
    float scale;
} mm_push;
_Static_assert(sizeof(mm_push) <= VKR_MAX_PUSH, "push constants");

#define SKINNY_MAX_M 8
#define VK_COMPONENT_F16 0 /* VkComponentTypeKHR */
#define VK_COMPONENT_F32 1
#define VK_SCOPE_SUBGROUP 3 /* VkScopeKHR */
#define VK_DEVICE_TYPE_CPU 4

int vkr_matmul_coopmat_built(void) { return vkr_spv_matmul_coopmat_f32.size > 0; }

static int valid_tile(uint32_t bm, uint32_t bn, uint32_t bk, uint32_t tm, uint32_t tn)
{
    if (!bm || !bn || !bk || !tm || !tn || bm % tm || bn % tn)
        return 0;
    uint32_t wg = (bm / tm) * (bn / tn);
    /* 256 invocations and 16 KiB of shared memory are guaranteed everywhere */
    return wg >= 1 && wg <= 256 && (bm + bn) * bk * 4 <= 16384 && tm * tn <= 128;
}

static void set_tiled(vkr_matmul_plan *p, uint32_t bm, uint32_t bn, uint32_t bk, uint32_t tm, uint32_t tn)
{
    *p = (vkr_matmul_plan){.variant = VKR_MATMUL_TILED, .bm = bm, .bn = bn, .bk = bk, .tm = tm, .tn = tn,
                           .wg = (bm / tm) * (bn / tn)};
}

/* Picks the f16 x f16 -> f32 subgroup shape with the most work per instruction. */
static const vkr_coopmat_shape *coopmat_shape(const vkr_device_info *dev)
{
    const vkr_coopmat_shape *best = NULL;
    for (uint32_t i = 0; dev->coopmat && i < dev->n_coopmat; i++) {
        const vkr_coopmat_shape *s = &dev->coopmat_shapes[i];
        if (s->a_type != VK_COMPONENT_F16 || s->b_type != VK_COMPONENT_F16 || s->c_type != VK_COMPONENT_F32 ||
            s->result_type != VK_COMPONENT_F32 || s->scope != VK_SCOPE_SUBGROUP || s->saturating)
            continue;
        if (s->m < 8 || s->n < 8 || s->k < 8 || s->m > 32 || s->n > 32 || s->k > 32)
            continue; /* keeps the staged tiles within 16 KiB of shared memory */
        if (!best || (uint64_t)s->m * s->n * s->k > (uint64_t)best->m * best->n * best->k)
            best = s;
    }
    return best;
}

void vkr_matmul_plan_for(const vkr_device_info *dev, int coopmat_built, vkr_dtype a_dtype, vkr_dtype b_dtype,
                         int64_t m, int64_t n, int64_t k, vkr_matmul_plan *plan)
{
    if (dev->type == VK_DEVICE_TYPE_CPU) {
        /* lavapipe/llvmpipe: subgroups are SIMD registers and every buffer
         * load is a per-lane scalar loop, so the kernel that loads least per
         * FMA wins: the subgroup-broadcast kernel, for any M (20-60x faster
         * than skinny for 1 x 320 x 1280 on lavapipe) (K-contiguous operands only;
         * vkr_op_matmul falls back to the tiled plan below otherwise). Measured
         * in docs/performance.md. */
        if (dev->subgroup_size == 8 && (!dev->subgroup_size_control || dev->subgroup_min == dev->subgroup_max) &&
            n >= 32) {
            *plan = (vkr_matmul_plan){.variant = VKR_MATMUL_BCAST, .tn = 4, .wg = 32};
            return;
        }
    }
    if (m <= SKINNY_MAX_M && n >= 64 && k >= 64) {
        /* few rows: split K across the workgroup instead of tiling M */
        *plan = (vkr_matmul_plan){.variant = VKR_MATMUL_SKINNY, .wg = 64, .maxm = SKINNY_MAX_M, .nw = 4};
        return;
    }
    if (dev->type == VK_DEVICE_TYPE_CPU) {
        set_tiled(plan, 32, 32, 16, 4, 4);
        return;
    }
    const vkr_coopmat_shape *cs = coopmat_shape(dev);
    uint32_t sg = dev->subgroup_size;
    if (coopmat_built && cs && a_dtype == VKR_F16 && b_dtype == VKR_F16 && m >= 64 && n >= 64 && k >= 32 &&
        sg >= 8 && sg <= 64 && (!dev->subgroup_size_control || (sg >= dev->subgroup_min && sg <= dev->subgroup_max))) {
        /* 2 x 2 subgroups, each owning 2 x 2 accumulators */
        *plan = (vkr_matmul_plan){.variant = VKR_MATMUL_COOPMAT, .cm = cs->m, .cn = cs->n, .ck = cs->k,
                                  .bm = 4 * cs->m, .bn = 4 * cs->n, .bk = 2 * cs->k, .wg = 4 * sg,
                                  .subgroup = dev->subgroup_size_control ? sg : 0};
        return;
    }
    if (m >= 128 && n >= 128)
        set_tiled(plan, 128, 128, 16, 8, 8); /* 256 invocations, 8 KiB + 8 KiB shared */
    else if (m >= 64 && n >= 64)
        set_tiled(plan, 64, 64, 16, 4, 4);
    else
        set_tiled(plan, 32, 32, 16, 2, 2);
}

void vkr_matmul_plan_string(const vkr_matmul_plan *p, char *out, size_t n)
{
    switch (p->variant) {
    case VKR_MATMUL_SKINNY:
        snprintf(out, n, "skinny m<=%u nw%u wg%u", p->maxm, p->nw, p->wg);
        break;
    case VKR_MATMUL_BCAST:
        snprintf(out, n, "bcast tn%u wg%u", p->tn, p->wg);
        break;
    case VKR_MATMUL_COOPMAT:
        snprintf(out, n, "coopmat %ux%ux%u tile %ux%ux%u", p->cm, p->cn, p->ck, p->bm, p->bn, p->bk);
        break;
    default:
        snprintf(out, n, "tiled %ux%ux%u %ux%u", p->bm, p->bn, p->bk, p->tm, p->tn);
        break;
    }
}

/* ---- forced plans (benchmarks/tuning) ---- */

static _Thread_local int forced_set;
static _Thread_local vkr_matmul_plan forced;

int vkr_matmul_force(const vkr_matmul_plan *plan)
{
    if (!plan) {
        forced_set = 0;
        return VKR_OK;
    }
    if (plan->variant == VKR_MATMUL_TILED && plan->bm &&
        !valid_tile(plan->bm, plan->bn, plan->bk, plan->tm, plan->tn))
        return vkr_fail(VKR_E_USAGE, "matmul tile %ux%ux%u %ux%u is invalid (BM%%TM, BN%%TN, <= 256 invocations, "
                        "<= 16 KiB shared)", plan->bm, plan->bn, plan->bk, plan->tm, plan->tn);
    if (plan->variant == VKR_MATMUL_BCAST && ((plan->tn && plan->tn != 2 && plan->tn != 4) || plan->wg % 8 ||
                                              plan->wg > 256))
        return vkr_fail(VKR_E_USAGE, "matmul bcast: tn %u (2 or 4), wg %u (multiple of 8, <= 256)", plan->tn,
                        plan->wg);
    forced = *plan;
    forced_set = 1;
    return VKR_OK;
}

/* Applies vkr_matmul_force() / VKREEL_MATMUL / VKREEL_MATMUL_TILE to an automatic plan. */
static int apply_override(const vkr_gpu *gpu, int64_t m, vkr_matmul_plan *p)
{
    vkr_matmul_plan f = {.variant = (vkr_matmul_variant)-1};
    if (forced_set) {
        f = forced;
    } else {
        const char *v = getenv("VKREEL_MATMUL"), *t = getenv("VKREEL_MATMUL_TILE");
        if (v && *v) {
            if (!strcmp(v, "tiled"))
                f.variant = VKR_MATMUL_TILED;
            else if (!strcmp(v, "skinny"))
                f.variant = VKR_MATMUL_SKINNY;
            else if (!strcmp(v, "coopmat"))
                f.variant = VKR_MATMUL_COOPMAT;
            else if (!strcmp(v, "bcast"))
                f.variant = VKR_MATMUL_BCAST;
            else if (sscanf(v, "bcast%ux%u", &f.tn, &f.wg) == 2 && (f.tn == 2 || f.tn == 4) && f.wg % 8 == 0 &&
                     f.wg >= 8 && f.wg <= 256)
                f.variant = VKR_MATMUL_BCAST; /* bcastTNxWG */
            else
                return vkr_fail(VKR_E_USAGE, "VKREEL_MATMUL=%s: expected tiled, skinny or coopmat", v);
        }
        if (t && *t) {
            unsigned bm, bn, bk, tm, tn;
            if (sscanf(t, "%ux%ux%ux%ux%u", &bm, &bn, &bk, &tm, &tn) != 5 || !valid_tile(bm, bn, bk, tm, tn))
                return vkr_fail(VKR_E_USAGE, "VKREEL_MATMUL_TILE=%s: expected a valid BMxBNxBKxTMxTN", t);
            f.variant = VKR_MATMUL_TILED;
            f.bm = bm, f.bn = bn, f.bk = bk, f.tm = tm, f.tn = tn;
        }
    }
    if ((int)f.variant < 0)
        return VKR_OK;
    if (f.variant == VKR_MATMUL_TILED) {
        if (f.bm)
            set_tiled(p, f.bm, f.bn, f.bk, f.tm, f.tn);
        else if (p->variant != VKR_MATMUL_TILED)
            set_tiled(p, 64, 64, 16, 4, 4);
    } else if (f.variant == VKR_MATMUL_SKINNY) {
        if (m > SKINNY_MAX_M)
            return vkr_fail(VKR_E_USAGE, "matmul: skinny variant forced for %lld rows (max %d)", (long long)m,
                            SKINNY_MAX_M);
        *p = (vkr_matmul_plan){.variant = VKR_MATMUL_SKINNY, .wg = 64, .maxm = SKINNY_MAX_M, .nw = 4};
    } else if (f.variant == VKR_MATMUL_BCAST) {
        const vkr_device_info *dev = vkr_gpu_device(gpu);
        if (dev->subgroup_size != 8 || (dev->subgroup_size_control && dev->subgroup_min != dev->subgroup_max))
            return vkr_fail(VKR_E_USAGE, "matmul: bcast variant needs subgroups of exactly 8 lanes");
        *p = (vkr_matmul_plan){.variant = VKR_MATMUL_BCAST, .tn = f.tn ? f.tn : 2, .wg = f.wg ? f.wg : 64};
    } else if (p->variant != VKR_MATMUL_COOPMAT) {
        return vkr_fail(VKR_E_USAGE, "matmul: cooperative-matrix variant forced but unavailable on %s (device "
                        "support, f16 operands, build support: %d)", vkr_gpu_device(gpu)->name,
                        vkr_matmul_coopmat_built());
    }
    return VKR_OK;
}

/* ---- dispatch ---- */

typedef struct {
    vkr_matmul_plan plan;
    vkr_kernel k;
    float scale;
    const vkr_tensor *bias;
} mm_job;

typedef struct {
    vkr_tensor a, b, c, r; /* r.block == NULL: no residual */
} mm_ops;

/* Window bytes a binding of t needs (alignment slack included). */
static uint64_t window_bytes(const vkr_gpu *gpu, const vkr_tensor *t)
{
    uint64_t align = vkr_gpu_device(gpu)->min_storage_buffer_offset_alignment;
    if (!align)
        align = 1;
    return t->offset % align + vkr_tensor_span_bytes(t) + 4;
}

static uint32_t u32_stride(const vkr_tensor *t, int d) { return t->ne[d] == 1 ? 0 : (uint32_t)t->nb[d]; }

/* Batch dims of c (0..2) folded into at most two levels for the shader. The
 * outermost of three non-mergeable dims is looped on the host. */
typedef struct {
    int n;               /* number of batch levels (0..3) */
    int64_t ne[3];
    int64_t nb[4][3];    /* per operand a, b, c, r */
} batch_dims;

static void fold_batch(const mm_ops *o, batch_dims *bd)
{
    const vkr_tensor *t[4] = {&o->a, &o->b, &o->c, o->r.block ? &o->r : &o->c};
    bd->n = 0;
    for (int d = 0; d < 3; d++) {
        if (o->c.ne[d] == 1)
            continue;
        int merge = bd->n > 0;
        for (int i = 0; i < 4 && merge; i++) {
            int64_t s = t[i]->ne[d] == 1 ? 0 : t[i]->nb[d];
            int64_t in = bd->nb[i][bd->n - 1];
            /* dim d is inner to level n-1: level n-1 stride must equal s * ne[d] */
            merge = in == s * o->c.ne[d];
        }
        if (merge) {
            bd->ne[bd->n - 1] *= o->c.ne[d];
            for (int i = 0; i < 4; i++)
                bd->nb[i][bd->n - 1] = t[i]->ne[d] == 1 ? 0 : t[i]->nb[d];
            continue;
        }
        bd->ne[bd->n] = o->c.ne[d];
        for (int i = 0; i < 4; i++)
            bd->nb[i][bd->n] = t[i]->ne[d] == 1 ? 0 : t[i]->nb[d];
        bd->n++;
    }
}

/* The grid for o; 0 when it exceeds the device's limits or the batch needs
 * three levels (the caller splits the work). */
static int grid(const vkr_gpu *gpu, const mm_job *job, const mm_ops *o, batch_dims *bd, uint64_t groups[3])
{
    const vkr_matmul_plan *pl = &job->plan;
    fold_batch(o, bd);
    const uint32_t *maxg = vkr_gpu_device(gpu)->max_workgroup_count;
    uint64_t m = (uint64_t)o->c.ne[3], n = (uint64_t)o->c.ne[4];
    groups[2] = 1;
    for (int i = 0; i < bd->n; i++)
        groups[2] *= (uint64_t)bd->ne[i];
    if (pl->variant == VKR_MATMUL_SKINNY) {
        groups[0] = (n + pl->nw - 1) / pl->nw;
        groups[1] = 1;
    } else if (pl->variant == VKR_MATMUL_BCAST) {
        uint64_t cols = (uint64_t)pl->tn * pl->wg; /* 8 lanes x tn per subgroup, wg / 8 subgroups */
        groups[0] = (n + cols - 1) / cols;
        groups[1] = (m + 7) / 8;
    } else {
        groups[0] = (n + pl->bn - 1) / pl->bn;
        groups[1] = (m + pl->bm - 1) / pl->bm;
    }
    return groups[0] <= maxg[0] && groups[1] <= maxg[1] && groups[2] <= maxg[2] && bd->n <= 2;
}

static int dispatch(vkr_gpu *gpu, const mm_job *job, const mm_ops *o, const batch_dims *bdp,
                    const uint64_t groups64[3])
{
    const batch_dims bd = *bdp;
    uint64_t nbatch = groups64[2];
    uint64_t m = (uint64_t)o->c.ne[3], n = (uint64_t)o->c.ne[4], kdim = (uint64_t)o->a.ne[4];
    uint32_t groups[3] = {(uint32_t)groups64[0], (uint32_t)groups64[1], (uint32_t)groups64[2]};

    vkr_binding b[5];
    uint32_t off_a, off_b, off_c, off_bias = 0, off_res = 0;
    int rc;
    if ((rc = vkr_bind_tensor(gpu, &o->a, 0, &b[0], &off_a)) || (rc = vkr_bind_tensor(gpu, &o->b, 0, &b[1], &off_b)) ||
        (rc = vkr_bind_tensor(gpu, &o->c, 1, &b[4], &off_c)))
        return rc;
    if (job->bias) {
        if ((rc = vkr_bind_tensor(gpu, job->bias, 0, &b[2], &off_bias)))
            return rc;
    } else {
        b[2] = b[1]; /* unused binding: any valid window */
    }
    if (o->r.block) {
        if ((rc = vkr_bind_tensor(gpu, &o->r, 0, &b[3], &off_res)))
            return rc;
    } else {
        b[3] = b[0];
    }
    mm_push p = {.m = (uint32_t)m, .n = (uint32_t)n, .k = (uint32_t)kdim, .off_a = off_a, .off_b = off_b,
                 .off_c = off_c, .off_bias = off_bias, .off_res = off_res,
                 .sa_m = u32_stride(&o->a, 3), .sa_k = u32_stride(&o->a, 4),
                 .sb_k = u32_stride(&o->b, 3), .sb_n = u32_stride(&o->b, 4),
                 .sc_m = u32_stride(&o->c, 3), .sc_n = u32_stride(&o->c, 4),
                 .s_bias = job->bias ? u32_stride(job->bias, 4) : 0, .nb1 = 1, .scale = job->scale};
    if (o->r.block)
        p.sr_m = u32_stride(&o->r, 3), p.sr_n = u32_stride(&o->r, 4);
    /* level 0 = outer, level 1 = inner (z = z0 * nb1 + z1) */
    if (bd.n == 1) {
        p.ba1 = (uint32_t)bd.nb[0][0], p.bb1 = (uint32_t)bd.nb[1][0], p.bc1 = (uint32_t)bd.nb[2][0];
        p.br1 = (uint32_t)bd.nb[3][0];
        p.nb1 = (uint32_t)bd.ne[0];
    } else if (bd.n == 2) {
        p.ba0 = (uint32_t)bd.nb[0][0], p.bb0 = (uint32_t)bd.nb[1][0], p.bc0 = (uint32_t)bd.nb[2][0];
        p.br0 = (uint32_t)bd.nb[3][0];
        p.ba1 = (uint32_t)bd.nb[0][1], p.bb1 = (uint32_t)bd.nb[1][1], p.bc1 = (uint32_t)bd.nb[2][1];
        p.br1 = (uint32_t)bd.nb[3][1];
        p.nb1 = (uint32_t)bd.ne[1];
    }
    if (!o->r.block)
        p.br0 = p.br1 = 0;
    vkr_kernel k = job->k;
    if (o->a.ne[4] > 1 && o->a.nb[4] == 1)
        k.spec[7] |= MM_A_KFAST;
    if (o->b.ne[3] > 1 && o->b.nb[3] == 1)
        k.spec[7] |= MM_B_KFAST;
    if (job->plan.variant == VKR_MATMUL_BCAST) { /* 16-byte loads where every row start is 16-byte aligned */
        uint32_t va = o->a.dtype == VKR_F32 ? 4 : 8, vb = o->b.dtype == VKR_F32 ? 4 : 8;
        int wa = off_a % va == 0 && p.sa_m % va == 0 && p.ba0 % va == 0 && p.ba1 % va == 0;
        int wb = off_b % vb == 0 && p.sb_n % vb == 0 && p.bb0 % vb == 0 && p.bb1 % vb == 0;
        k.spec[2] = (uint32_t)wa | (uint32_t)wb << 1;
    }
    double flops = 2.0 * (double)m * (double)n * (double)kdim * (double)nbatch;
    double bytes = (double)(vkr_tensor_span_bytes(&o->a) + vkr_tensor_span_bytes(&o->b) +
                            vkr_tensor_span_bytes(&o->c) + (o->r.block ? vkr_tensor_span_bytes(&o->r) : 0));
    return vkr_dispatch(gpu, &k, b, 5, &p, sizeof p, groups, flops, bytes);
}

static int fits(const vkr_gpu *gpu, const mm_ops *o)
{
    uint64_t max = vkr_gpu_max_range(gpu);
    return window_bytes(gpu, &o->a) <= max && window_bytes(gpu, &o->b) <= max && window_bytes(gpu, &o->c) <= max &&
           (!o->r.block || window_bytes(gpu, &o->r) <= max);
}

static void slice_op(vkr_tensor *t, int d, int64_t start, int64_t len)
{
    if (t->block && t->ne[d] > 1)
        vkr_tensor_slice(t, d, start, len, t); /* in range by construction */
}

/* Splits the batch, then the rows, until the windows and the grid fit. */
static int run(vkr_gpu *gpu, const mm_job *job, const mm_ops *o)
{
    batch_dims bd;
    uint64_t groups[3];
    if (fits(gpu, o) && grid(gpu, job, o, &bd, groups))
        return dispatch(gpu, job, o, &bd, groups);
    for (int d = 0; d < 3; d++) {
        if (o->c.ne[d] < 2)
            continue;
        int64_t h = o->c.ne[d] / 2;
        mm_ops lo = *o, hi = *o;
        slice_op(&lo.a, d, 0, h), slice_op(&lo.b, d, 0, h), slice_op(&lo.c, d, 0, h), slice_op(&lo.r, d, 0, h);
        int64_t rest = o->c.ne[d] - h;
        slice_op(&hi.a, d, h, rest), slice_op(&hi.b, d, h, rest), slice_op(&hi.c, d, h, rest);
        slice_op(&hi.r, d, h, rest);
        int rc = run(gpu, job, &lo);
        return rc ? rc : run(gpu, job, &hi);
    }
    if (o->c.ne[3] >= 2) {
        /* rows of A / C / residual; a multiple of BM keeps the tiles aligned */
        int64_t h = o->c.ne[3] / 2, bm = job->plan.bm ? job->plan.bm : 1;
        if (h > bm)
            h = h / bm * bm;
        mm_ops lo = *o, hi = *o;
        int64_t rest = o->c.ne[3] - h;
        slice_op(&lo.a, 3, 0, h), slice_op(&lo.c, 3, 0, h), slice_op(&lo.r, 3, 0, h);
        slice_op(&hi.a, 3, h, rest), slice_op(&hi.c, 3, h, rest), slice_op(&hi.r, 3, h, rest);
        int rc = run(gpu, job, &lo);
        return rc ? rc : run(gpu, job, &hi);
    }
    return vkr_fail(VKR_E_DATA, "matmul: B (%lldx%lld %s) or one row of A does not fit one binding window "
                    "(%llu bytes)", (long long)o->b.ne[3], (long long)o->b.ne[4], vkr_dtype_name(o->b.dtype),
                    (unsigned long long)vkr_gpu_max_range(gpu));
}

static int batch_ok(const vkr_tensor *t, const vkr_tensor *c)
{
    for (int d = 0; d < 3; d++)
        if (t->ne[d] != c->ne[d] && t->ne[d] != 1)
            return 0;
    return 1;
}

static int is_act(vkr_unary_op a)
{
    switch (a) {
    case VKR_UNARY_IDENTITY: case VKR_UNARY_SILU: case VKR_UNARY_GELU_ERF: case VKR_UNARY_GELU_TANH:
    case VKR_UNARY_QUICK_GELU: case VKR_UNARY_RELU: case VKR_UNARY_TANH: case VKR_UNARY_SIGMOID:
        return 1;
    default:
        return 0;
    }
}

int vkr_op_matmul(vkr_gpu *gpu, const vkr_tensor *a, const vkr_tensor *b, const vkr_matmul_epilogue *ep,
                  const vkr_tensor *c)
{
    static const vkr_matmul_epilogue none = {0};
    if (!ep)
        ep = &none;
    int64_t m = c->ne[3], n = c->ne[4], k = a->ne[4];
    if (a->ne[3] != m || b->ne[3] != k || b->ne[4] != n || !batch_ok(a, c) || !batch_ok(b, c))
        return vkr_fail(VKR_E_INTERNAL, "matmul: shapes a %lldx%lldx%lldx%lldx%lld . b %lldx%lldx%lldx%lldx%lld -> "
                        "c %lldx%lldx%lldx%lldx%lld do not match", (long long)a->ne[0], (long long)a->ne[1],
                        (long long)a->ne[2], (long long)a->ne[3], (long long)a->ne[4], (long long)b->ne[0],
                        (long long)b->ne[1], (long long)b->ne[2], (long long)b->ne[3], (long long)b->ne[4],
                        (long long)c->ne[0], (long long)c->ne[1], (long long)c->ne[2], (long long)c->ne[3],
                        (long long)c->ne[4]);
    for (int d = 0; d < VKR_DIMS; d++)
        if (c->nb[d] == 0 && c->ne[d] > 1)
            return vkr_fail(VKR_E_INTERNAL, "matmul: c has a broadcast dim %d", d);
    int rc;
    if ((rc = vkr_check_dtype("matmul", "c", c, a->dtype)))
        return rc;
    if (ep->bias) {
        const int64_t bne[5] = {1, 1, 1, 1, n};
        if ((rc = vkr_check_shape("matmul", "bias", ep->bias, bne)) ||
            (rc = vkr_check_dtype("matmul", "bias", ep->bias, b->dtype)))
            return rc;
    }
    if (ep->residual) {
        if (ep->residual->ne[3] != m || ep->residual->ne[4] != n || !batch_ok(ep->residual, c))
            return vkr_fail(VKR_E_INTERNAL, "matmul: residual shape does not match c");
        if ((rc = vkr_check_dtype("matmul", "residual", ep->residual, c->dtype)))
            return rc;
    }
    if (!is_act(ep->act))
        return vkr_fail(VKR_E_INTERNAL, "matmul: %s cannot be fused as an epilogue", vkr_unary_name(ep->act));
    int sa, sb;
    if ((rc = vkr_storage_index(gpu, a->dtype, &sa)) || (rc = vkr_storage_index(gpu, b->dtype, &sb)))
        return rc;
    if (m == 0 || n == 0)
        return VKR_OK;

    mm_job job = {.scale = ep->scale != 0.0f ? ep->scale : 1.0f, .bias = ep->bias};
    vkr_matmul_plan_for(vkr_gpu_device(gpu), vkr_matmul_coopmat_built(), a->dtype, b->dtype, m, n, k, &job.plan);
    if ((rc = apply_override(gpu, m, &job.plan)))
        return rc;
    if (job.plan.variant == VKR_MATMUL_BCAST && !((a->ne[4] == 1 || a->nb[4] == 1) && (b->ne[3] == 1 || b->nb[3] == 1)))
        set_tiled(&job.plan, 64, 64, 32, 8, 8); /* bcast reads A and B along K: other layouts go tiled */
    uint32_t flags = (ep->bias ? MM_BIAS : 0) | (ep->residual ? MM_RESIDUAL : 0);
    const vkr_matmul_plan *pl = &job.plan;
    switch (pl->variant) {
    case VKR_MATMUL_SKINNY:
        job.k = (vkr_kernel){.name = "matmul_skinny", .shader = skinny_variants[sa][sb],
                             .spec = {pl->wg, pl->maxm, pl->nw, 0, 0, 0, (uint32_t)ep->act, flags}, .n_spec = 8};
        break;
    case VKR_MATMUL_BCAST:
        job.k = (vkr_kernel){.name = "matmul_bcast", .shader = bcast_variants[pl->tn == 4][sa][sb],
                             .spec = {pl->wg, 0, 0, 0, 0, 0, (uint32_t)ep->act, flags}, .n_spec = 8};
        /* no required subgroup size: the plan only picks bcast on devices whose
         * subgroups are always 8 lanes (lavapipe), and wg is a multiple of 8 */
        break;
    case VKR_MATMUL_COOPMAT:
        job.k = (vkr_kernel){.name = "matmul_coopmat", .shader = coopmat_variants[sa],
                             .spec = {pl->wg, pl->cm, pl->cn, pl->ck, 0, 0, (uint32_t)ep->act, flags}, .n_spec = 8,
                             .subgroup_size = pl->subgroup};
        break;
    default:
        job.k = (vkr_kernel){.name = "matmul", .shader = tiled_variants[sa][sb],
                             .spec = {pl->wg, pl->bm, pl->bn, pl->bk, pl->tm, pl->tn, (uint32_t)ep->act, flags},
                             .n_spec = 8};
        break;
    }
    mm_ops o = {.a = *a, .b = *b, .c = *c};
    if (ep->residual)
        o.r = *ep->residual;
    else
        o.r.block = NULL;
    return run(gpu, &job, &o);
}

/* Views t's leading dims (0..3) as one row dim when they are uniformly strided. */
static int rows_view(const vkr_tensor *t, vkr_tensor *out)
{
    int64_t rows = 1, stride = 0;
    int have = 0;
    for (int d = 3; d >= 0; d--) {
        if (t->ne[d] == 1)
            continue;
        if (!have) {
            stride = t->nb[d];
            have = 1;
        } else if (t->nb[d] != stride * rows) {
            return 0;
        }
        rows *= t->ne[d];
    }
    *out = *t;
    out->owner = 0;
    for (int d = 0; d < 3; d++)
        out->ne[d] = 1, out->nb[d] = 0;
    out->ne[3] = rows;
    out->nb[3] = have ? stride : t->ne[4];
    return 1;
}

int vkr_op_linear_ex(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *weight, const vkr_matmul_epilogue *ep,
                     const vkr_tensor *y)
{
    int64_t n = weight->ne[3], k = weight->ne[4];
    if (weight->ne[0] != 1 || weight->ne[1] != 1 || weight->ne[2] != 1 || x->ne[4] != k || y->ne[4] != n)
        return vkr_fail(VKR_E_INTERNAL, "linear: x [..,%lld] . weight %lldx%lldx%lldx%lldx%lld^T -> y [..,%lld]: "
                        "expected weight (out, in) = [1,1,1,%lld,%lld]", (long long)x->ne[4],
                        (long long)weight->ne[0], (long long)weight->ne[1], (long long)weight->ne[2],
                        (long long)n, (long long)k, (long long)y->ne[4], (long long)y->ne[4], (long long)x->ne[4]);
    for (int d = 0; d < 4; d++)
        if (x->ne[d] != y->ne[d])
            return vkr_fail(VKR_E_INTERNAL, "linear: x and y leading dims differ (dim %d: %lld vs %lld)", d,
                            (long long)x->ne[d], (long long)y->ne[d]);
    static const int perm[5] = {0, 1, 2, 4, 3};
    vkr_tensor wt, xa, yc, ra;
    int rc = vkr_tensor_permute(weight, perm, &wt); /* (N, K) -> K x N with sb_k = 1 */
    if (rc)
        return rc;
    vkr_matmul_epilogue e = ep ? *ep : (vkr_matmul_epilogue){0};
    if (rows_view(x, &xa) && rows_view(y, &yc) && (!e.residual || rows_view(e.residual, &ra))) {
        if (e.residual)
            e.residual = &ra;
        return vkr_op_matmul(gpu, &xa, &wt, &e, &yc);
    }
    return vkr_op_matmul(gpu, x, &wt, &e, y); /* rows in H, batch over N, C, F; weight broadcast */
}

int vkr_op_linear(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *weight, const vkr_tensor *bias,
                  const vkr_tensor *y)
{
    vkr_matmul_epilogue e = {.bias = bias};
    return vkr_op_linear_ex(gpu, x, weight, &e, y);
}
