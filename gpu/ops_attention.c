/* Host side of the attention family: shaders/attention.comp (variants in
 * shaders/family_attention.cmake), reference gpu/ref_attention.c, tests
 * tests/test_gpu_attention.c, benchmarks gpu/bench_attention.c.
 *
 * Tiling (spec constants of attention.comp), chosen per call:
 *   DV   head dim rounded up to a bucket (4, 8, 16, then multiples of 16
 *        elements), in vec4s: one pipeline per bucket, not per head dim.
 *   RS   row slots (invocations) per sequence and workgroup. GPUs: 64, or Lq
 *        rounded up to 8 for short sequences (temporal attention: Lq = 24).
 *        CPU devices: 8 (one SIMD vector of lavapipe).
 *   R    query rows per invocation: 1 on GPUs; on CPU devices up to 8 (R*DV
 *        <= 128 vec4, which bounds the LLVM compile time of a pipeline to a
 *        few seconds), so each K/V element loaded feeds R rows.
 *   SEQS sequences per workgroup: on GPUs short sequences are packed so a
 *        workgroup has >= 64 rows (2880*5 sequences of 24 frames: 4 per group);
 *        on CPU devices 1 (the workgroup is one SIMD vector anyway).
 *   BC   keys per shared block: as many (<= 64) as the keys need and the
 *        shared budget (32 KiB) holds; >= RS*R/2 because q and o rows are
 *        staged through the same shared memory.
 *   T    lanes per row: 1 (plain) or the subgroup size (subgroup variant,
 *        used when there are too few query rows to fill the device, e.g. a
 *        single query against thousands of keys).
 * Work over (batch, head) and query rows is split so every operand fits one
 * binding window (see split()). */
#include "gpu/ops_attention.h"
#include "gpu/gpu_internal.h"
#include "gpu/ops_matmul.h"
#include "gpu/ops_norm.h"

#include "common/status.h"

#include <math.h>
#include <string.h>

static const vkr_shader_code *const plain_variants[3] = {&vkr_spv_attention_f32, &vkr_spv_attention_f16,
                                                         &vkr_spv_attention_bf16};
static const vkr_shader_code *const subgroup_variants[3] = {&vkr_spv_attention_sg_f32, &vkr_spv_attention_sg_f16,
                                                            &vkr_spv_attention_sg_bf16};

/* = Push in shaders/attention.comp (128 bytes). */
typedef struct {
    uint32_t H, BH, Lq, Lk;
    uint32_t D, flags;
    float scale_log2;
    uint32_t off_q, off_k, off_v, off_o, off_m;
    uint32_t nq[4], nk[4], nv[4], no[4], nm[4];
} attention_push;
_Static_assert(sizeof(attention_push) == VKR_MAX_PUSH, "attention push constants must be 128 bytes");

#define MAX_HEAD_DIM 128

typedef struct {
    int subgroup;             /* use the subgroup variant */
    uint32_t dv, bc, rs, seqs, t, r, wg;
    int storage;
    float scale;
    int causal;
} attention_plan;

/* Device facts the planner needs (not in vkr_device_info). */
typedef struct {
    uint32_t shared_bytes;
    int subgroup_ok; /* arithmetic ops in compute shaders, with a usable fixed subgroup size */
    uint32_t subgroup_size;
    int cpu;
} attention_device;

static void query_device(vkr_gpu *gpu, attention_device *dev)
{
    VkPhysicalDeviceSubgroupProperties sg = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &sg};
    vkGetPhysicalDeviceProperties2(gpu->phys, &p2);
    const vkr_device_info *info = &gpu->info;
    dev->shared_bytes = p2.properties.limits.maxComputeSharedMemorySize;
    dev->cpu = info->type == VK_PHYSICAL_DEVICE_TYPE_CPU;
    /* The shader maps rows to gl_SubgroupID, so the subgroup size must be known
     * when the grid is planned: either the driver has one size, or we require it. */
    uint32_t size = info->subgroup_size;
    int fixed = info->subgroup_min == info->subgroup_max || info->subgroup_size_control;
    int base = (sg.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
               (sg.supportedOperations & VK_SUBGROUP_FEATURE_BASIC_BIT) && fixed && size >= 1 && size <= 64 &&
               (size & (size - 1)) == 0;
    dev->subgroup_ok = base && (sg.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);
    dev->subgroup_size = size;
}

int vkr_attention_has_variant(vkr_gpu *gpu, vkr_attention_variant variant)
{
    attention_device dev;
    query_device(gpu, &dev);
    switch (variant) {
    case VKR_ATTENTION_SUBGROUP:  return dev.subgroup_ok;
    case VKR_ATTENTION_AUTO:
    case VKR_ATTENTION_PLAIN:
    case VKR_ATTENTION_GPU_TILING: return 1;
    default:                      return 0;
    }
}

static uint32_t head_dim_bucket(int64_t d)
{
    if (d <= 4)
        return 4;
    if (d <= 8)
        return 8;
    if (d <= 16)
        return 16;
    return (uint32_t)((d + 15) / 16 * 16);
}

/* Chooses the tiling for one dispatch of bh sequences x lq rows x lk keys. */
static int plan_tiles(const attention_device *dev, vkr_attention_variant want, int64_t bh, int64_t lq, int64_t lk,
                      int64_t d, attention_plan *pl)
{
    pl->dv = head_dim_bucket(d) / 4;
    uint32_t budget = dev->shared_bytes < 32768 ? dev->shared_bytes : 32768;
    uint32_t per_key = pl->dv * 16 * 2; /* a K and a V row of vec4 */
    int64_t rows = bh * lq;
    int sub = 0;
    if (want == VKR_ATTENTION_SUBGROUP) {
        if (!dev->subgroup_ok)
            return vkr_fail(VKR_E_TEMPFAIL, "attention: the device has no subgroup arithmetic in compute shaders "
                                            "(or no fixed subgroup size)");
        sub = 1;
    } else if (want == VKR_ATTENTION_AUTO && dev->subgroup_ok) {
        /* Few rows: one row per invocation would leave the device idle. A CPU
         * has few lanes (and the per-lane key split costs it gathers), so the
         * threshold there is tiny. */
        int64_t enough = dev->cpu ? 16 : 16384;
        sub = rows < enough && lk >= 4 * (int64_t)dev->subgroup_size;
    }
    pl->subgroup = sub;
    pl->r = 1;
    pl->seqs = 1;
    if (sub) {
        pl->t = dev->subgroup_size;
        pl->rs = 128 / pl->t ? 128 / pl->t : 1; /* 128 invocations */
        if (pl->rs > 4)
            pl->rs = 4; /* few rows is why we are here; more only wastes idle subgroups */
        if ((int64_t)pl->rs > lq)
            pl->rs = (uint32_t)lq;
    } else {
        pl->t = 1;
        if (dev->cpu && want != VKR_ATTENTION_GPU_TILING) {
            /* Every lane loads each K/V element it uses one by one (lavapipe has
             * no vector loads inside loops), so a lane takes R rows to reuse
             * each loaded element R times; 8-16 lanes = 1-2 SIMD vectors. */
            pl->rs = 8;
            int64_t r = (lq + pl->rs - 1) / pl->rs, rmax = 128 / pl->dv; /* R*DV <= 128 vec4: compile time */
            if (rmax > 8)
                rmax = 8;
            pl->r = (uint32_t)(r < rmax ? r : rmax);
        } else {
            pl->rs = lq >= 64 ? 64 : (uint32_t)((lq + 7) / 8 * 8);
            while (pl->seqs * pl->rs < 64 && (int64_t)pl->seqs < bh)
                pl->seqs *= 2;
        }
    }
    /* BC: keys per shared block, a multiple of T, <= 64 and <= what the keys need */
    uint32_t bc = 64, need = (uint32_t)((lk + 7) / 8 * 8);
    while (bc > 8 && bc / 2 >= need && bc >= pl->rs * pl->r) /* the q/o staging needs R*RS <= 2*BC */
        bc /= 2;
    while (bc > 8 && pl->seqs * bc * per_key > budget && bc > pl->rs * pl->r / 2)
        bc /= 2;
    while (pl->seqs > 1 && pl->seqs * bc * per_key > budget)
        pl->seqs /= 2;
    if (pl->seqs * bc * per_key > budget || 2 * bc < pl->rs * pl->r)
        return vkr_fail(VKR_E_TEMPFAIL, "attention: %u bytes of shared memory are not enough", budget);
    pl->bc = bc;
    pl->wg = pl->seqs * pl->rs * pl->t;
    return VKR_OK;
}

typedef struct {
    vkr_tensor q, k, v, o, m; /* m.block NULL: no mask */
    attention_plan pl;
    attention_device dev;
    vkr_attention_variant variant;
} attention_job;

/* Would a binding of t fit one window? (the formula of vkr_bind_tensor) */
static int fits(vkr_gpu *gpu, const vkr_tensor *t)
{
    uint64_t a = gpu->info.min_storage_buffer_offset_alignment ? gpu->info.min_storage_buffer_offset_alignment : 1;
    uint64_t r = t->offset % a + vkr_tensor_span_bytes(t);
    r = (r + 3) & ~(uint64_t)3;
    return r <= vkr_gpu_max_range(gpu);
}

static void strides4(const vkr_tensor *t, uint32_t nb[4])
{
    uint32_t n5[5];
    vkr_nb_u32(t, n5); /* unit dims -> 0: broadcast mask dims and single heads look alike */
    memcpy(nb, n5 + 1, 4 * sizeof(uint32_t));
}

static int dispatch(vkr_gpu *gpu, attention_job *job, int64_t row0)
{
    const vkr_tensor *q = &job->q, *k = &job->k, *v = &job->v, *o = &job->o;
    int64_t B = q->ne[1], H = q->ne[2], Lq = q->ne[3], Lk = k->ne[3], D = q->ne[4];
    attention_plan *pl = &job->pl;
    int rc = plan_tiles(&job->dev, job->variant, B * H, Lq, Lk, D, pl);
    if (rc)
        return rc;
    vkr_binding b[5];
    uint32_t off[5];
    int has_mask = job->m.block != NULL;
    if ((rc = vkr_bind_tensor(gpu, q, 0, &b[0], &off[0])) || (rc = vkr_bind_tensor(gpu, k, 0, &b[1], &off[1])) ||
        (rc = vkr_bind_tensor(gpu, v, 0, &b[2], &off[2])) ||
        (rc = vkr_bind_tensor(gpu, has_mask ? &job->m : q, 0, &b[3], &off[3])) ||
        (rc = vkr_bind_tensor(gpu, o, 1, &b[4], &off[4])))
        return rc;
    attention_push pc = {.H = (uint32_t)H, .BH = (uint32_t)(B * H), .Lq = (uint32_t)Lq, .Lk = (uint32_t)Lk,
                         .D = (uint32_t)D, .flags = (pl->causal ? 1u : 0u) | (has_mask ? 2u : 0u) | (uint32_t)row0 << 2,
                         .scale_log2 = (float)(pl->scale * 1.4426950408889634),
                         .off_q = off[0], .off_k = off[1], .off_v = off[2], .off_o = off[4],
                         .off_m = has_mask ? off[3] : 0};
    strides4(q, pc.nq);
    strides4(k, pc.nk);
    strides4(v, pc.nv);
    strides4(o, pc.no);
    if (has_mask)
        strides4(&job->m, pc.nm);
    vkr_kernel kern = {.name = pl->subgroup ? "attention_sg" : "attention",
                       .shader = (pl->subgroup ? subgroup_variants : plain_variants)[pl->storage],
                       .spec = {pl->wg, pl->dv, pl->bc, pl->rs, pl->seqs, pl->t, pl->r},
                       .n_spec = 7};
    if (pl->subgroup && job->dev.subgroup_size && gpu->info.subgroup_size_control &&
        gpu->info.subgroup_min != gpu->info.subgroup_max)
        kern.subgroup_size = job->dev.subgroup_size;
    uint64_t rq = (uint64_t)pl->rs * pl->r, nqb = ((uint64_t)Lq + rq - 1) / rq, nsg = (uint64_t)((B * H + pl->seqs - 1) / pl->seqs);
    uint32_t groups[3];
    if ((rc = vkr_grid_1d(gpu, nqb * nsg, groups)))
        return rc;
    double pairs = (double)(B * H) * (double)Lq * (double)Lk;
    if (pl->causal && Lq == Lk)
        pairs = (double)(B * H) * (double)Lq * (double)(Lq + 1) / 2;
    double es = (double)vkr_dtype_size(q->dtype);
    double bytes = es * (double)(B * H) * (double)D * (double)(2 * Lq + 2 * Lk);
    return vkr_dispatch(gpu, &kern, b, 5, &pc, sizeof pc, groups, 4.0 * pairs * (double)D, bytes);
}

/* Sub-views over batches [b0, b0+nb), heads [h0, h0+nh), query rows [i0, i0+ni). */
static int sub_views(const attention_job *all, int64_t b0, int64_t nb, int64_t h0, int64_t nh, int64_t i0,
                     int64_t ni, attention_job *out)
{
    *out = *all;
    int rc = 0;
    vkr_tensor *t[5] = {&out->q, &out->k, &out->v, &out->o, &out->m};
    for (int x = 0; x < 5 && !rc; x++) {
        if (!t[x]->block)
            continue;
        if (t[x]->ne[1] > 1)
            rc = vkr_tensor_slice(t[x], 1, b0, nb, t[x]);
        if (!rc && t[x]->ne[2] > 1)
            rc = vkr_tensor_slice(t[x], 2, h0, nh, t[x]);
        if (!rc && (x == 0 || x == 3 || x == 4) && t[x]->ne[3] > 1) /* q, o, mask rows */
            rc = vkr_tensor_slice(t[x], 3, i0, ni, t[x]);
    }
    return rc;
}

/* Halves batches, then heads, then query rows until every operand fits a
 * window; K/V of one (batch, head) must fit. */
static int split(vkr_gpu *gpu, const attention_job *all, int64_t b0, int64_t nb, int64_t h0, int64_t nh, int64_t i0,
                 int64_t ni)
{
    attention_job job;
    int rc = sub_views(all, b0, nb, h0, nh, i0, ni, &job);
    if (rc)
        return rc;
    int ok = fits(gpu, &job.q) && fits(gpu, &job.k) && fits(gpu, &job.v) && fits(gpu, &job.o) &&
             (!job.m.block || fits(gpu, &job.m));
    /* uint32 row/sequence counts in the shader's index math */
    ok = ok && (double)nb * (double)nh * (double)ni < 2147483648.0 && i0 + ni < (1 << 30);
    if (ok)
        return dispatch(gpu, &job, i0);
    if (nb > 1) {
        if ((rc = split(gpu, all, b0, nb / 2, h0, nh, i0, ni)))
            return rc;
        return split(gpu, all, b0 + nb / 2, nb - nb / 2, h0, nh, i0, ni);
    }
    if (nh > 1) {
        if ((rc = split(gpu, all, b0, nb, h0, nh / 2, i0, ni)))
            return rc;
        return split(gpu, all, b0, nb, h0 + nh / 2, nh - nh / 2, i0, ni);
    }
    if (fits(gpu, &job.k) && fits(gpu, &job.v) && ni > 1) {
        if ((rc = split(gpu, all, b0, nb, h0, nh, i0, ni / 2)))
            return rc;
        return split(gpu, all, b0, nb, h0, nh, i0 + ni / 2, ni - ni / 2);
    }
    return vkr_fail(VKR_E_DATA, "attention: the keys/values of one (batch, head) (%lld x %lld %s) exceed the "
                    "binding window (%llu bytes)", (long long)job.k.ne[3], (long long)job.k.ne[4],
                    vkr_dtype_name(job.k.dtype), (unsigned long long)vkr_gpu_max_range(gpu));
}

int vkr_attention_split_heads(const vkr_tensor *x, int64_t heads, vkr_tensor *out)
{
    if (x->ne[0] != 1 || x->ne[1] != 1 || heads < 1 || x->ne[4] % heads)
        return vkr_fail(VKR_E_INTERNAL, "split_heads: x is %lldx%lldx%lldx%lldx%lld, expected 1x1xBxLx(H*D) with "
                        "H = %lld", (long long)x->ne[0], (long long)x->ne[1], (long long)x->ne[2],
                        (long long)x->ne[3], (long long)x->ne[4], (long long)heads);
    vkr_tensor v = *x;
    int64_t d = x->ne[4] / heads;
    v.owner = 0;
    v.ne[0] = 1, v.nb[0] = 0;
    v.ne[1] = x->ne[2], v.nb[1] = x->nb[2];     /* batch */
    v.ne[2] = heads, v.nb[2] = d * x->nb[4];    /* head h starts at channel h*D */
    v.ne[3] = x->ne[3], v.nb[3] = x->nb[3];     /* tokens */
    v.ne[4] = d, v.nb[4] = x->nb[4];            /* channels within a head */
    *out = v;
    return VKR_OK;
}

static int check_operand(const char *name, const vkr_tensor *t, const vkr_tensor *q, int64_t b, int64_t h,
                         int64_t l, int64_t d)
{
    const int64_t ne[5] = {1, b, h, l, d};
    int rc = vkr_check_shape("attention", name, t, ne);
    if (!rc)
        rc = vkr_check_dtype("attention", name, t, q->dtype);
    return rc;
}

/* Heads wider than the fused kernel holds in registers (AudioLDM-l's 1280 / 8
 * = 160 at its lowest resolution, where there are few tokens): the unfused
 * form with the Lq x Lk scores materialised in f32, S = scale q k^T (matmul
 * epilogue), P = softmax(S + mask) in place, out = P v. f16/bf16 q goes
 * through an f32 copy and the output is rounded once, as in the fused kernel
 * (the matmul's B operand, k or v, may keep its storage dtype). */
static int attention_unfused(vkr_gpu *gpu, const vkr_tensor *q, const vkr_tensor *k, const vkr_tensor *v,
                             const vkr_tensor *mask, float scale, const vkr_tensor *out)
{
    static const int swap_hw[VKR_DIMS] = {0, 1, 2, 4, 3};
    const int64_t sne[VKR_DIMS] = {1, q->ne[1], q->ne[2], q->ne[3], k->ne[3]};
    const int wide = q->dtype != VKR_F32;
    vkr_tensor s = {0}, q32 = {0}, o32 = {0}, kt;
    const vkr_matmul_epilogue ep = {.scale = scale};
    int rc;
    if ((rc = vkr_tensor_permute(k, swap_hw, &kt)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, sne, &s)))
        goto fail;
    if (wide && ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, q->ne, &q32)) ||
                 (rc = vkr_op_copy(gpu, q, &q32)) ||
                 (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, out->ne, &o32))))
        goto fail;
    if ((rc = vkr_op_matmul(gpu, wide ? &q32 : q, &kt, &ep, &s)) || (rc = vkr_op_softmax(gpu, &s, mask, 1.0f, &s)) ||
        (rc = vkr_op_matmul(gpu, &s, v, NULL, wide ? &o32 : out)))
        goto fail;
    if (wide)
        rc = vkr_op_copy(gpu, &o32, out);
fail:
    vkr_tensor_free(gpu, &s);
    vkr_tensor_free(gpu, &q32);
    vkr_tensor_free(gpu, &o32);
    return rc;
}

int vkr_op_attention(vkr_gpu *gpu, const vkr_tensor *q, const vkr_tensor *k, const vkr_tensor *v,
                     const vkr_attention_params *params, const vkr_tensor *out)
{
    static const vkr_attention_params defaults = {0};
    const vkr_attention_params *pp = params ? params : &defaults;
    int64_t B = q->ne[1], H = q->ne[2], Lq = q->ne[3], Lk = k->ne[3], D = q->ne[4];
    int rc;
    const int unfused = D > MAX_HEAD_DIM && !pp->causal && pp->variant == VKR_ATTENTION_AUTO;
    if (q->ne[0] != 1 || D < 1 || (D > MAX_HEAD_DIM && !unfused))
        return vkr_fail(VKR_E_INTERNAL, "attention: q is %lldx%lldx%lldx%lldx%lld, expected 1xBxHxLqxD with D in "
                        "1..%d (wider heads: non-causal, automatic variant only)", (long long)q->ne[0],
                        (long long)B, (long long)H, (long long)Lq, (long long)D, MAX_HEAD_DIM);
    if ((rc = check_operand("k", k, q, B, H, Lk, D)) || (rc = check_operand("v", v, q, B, H, Lk, D)) ||
        (rc = check_operand("out", out, q, B, H, Lq, D)))
        return rc;
    attention_job job = {.q = *q, .k = *k, .v = *v, .o = *out, .variant = pp->variant};
    if (pp->mask) {
        const vkr_tensor *m = pp->mask;
        if (m->ne[0] != 1 || (m->ne[1] != B && m->ne[1] != 1) || (m->ne[2] != H && m->ne[2] != 1) ||
            (m->ne[3] != Lq && m->ne[3] != 1) || m->ne[4] != Lk)
            return vkr_fail(VKR_E_INTERNAL, "attention: mask is %lldx%lldx%lldx%lldx%lld, expected "
                            "1x(%lld|1)x(%lld|1)x(%lld|1)x%lld", (long long)m->ne[0], (long long)m->ne[1],
                            (long long)m->ne[2], (long long)m->ne[3], (long long)m->ne[4], (long long)B,
                            (long long)H, (long long)Lq, (long long)Lk);
        if ((rc = vkr_check_dtype("attention", "mask", m, q->dtype)))
            return rc;
        job.m = *m;
    } else {
        memset(&job.m, 0, sizeof job.m);
    }
    for (int d = 0; d < VKR_DIMS; d++)
        if (out->nb[d] == 0 && out->ne[d] > 1)
            return vkr_fail(VKR_E_INTERNAL, "attention: out dim %d is a broadcast view", d);
    if ((unsigned)pp->variant > VKR_ATTENTION_GPU_TILING)
        return vkr_fail(VKR_E_INTERNAL, "attention: unknown variant %d", (int)pp->variant);
    if ((rc = vkr_storage_index(gpu, q->dtype, &job.pl.storage)))
        return rc;
    job.pl.scale = pp->scale != 0 ? pp->scale : (float)(1.0 / sqrt((double)D));
    if (unfused)
        return attention_unfused(gpu, q, k, v, pp->mask, job.pl.scale, out);
    job.pl.causal = pp->causal != 0;
    query_device(gpu, &job.dev);
    return split(gpu, &job, 0, B, 0, H, 0, Lq);
}
