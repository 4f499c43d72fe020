/* Normalisation benchmark cases at the real-model shapes (Zeroscope UNet3D at
 * 576x320 -> latent 72x40 = 2880 tokens per frame, 24 frames; --quick: 6).
 *   group_norm: tools/bench_torch.py's F.group_norm(x (1, 320, F, 40, 72), 32,
 *     w, b, 1e-5) -- statistics over all frames (TemporalConvLayer's norm);
 *   group_norm_silu_per_frame: the spatial resnets' norm1 + SiLU, frames
 *     folded into the batch (statistics per frame);
 *   layer_norm: a transformer block's norm over 2880*F tokens x 320;
 *   softmax: one head's spatial attention scores, 2880 rows of 2880 (scaled).
 * bytes = one read of the input and one write of the output (the statistics
 * pass reads x once more; not counted, as bench_torch.py). */
#include "gpu/bench.h"
#include "gpu/ops_norm.h"

#include "common/status.h"

#include <stdio.h>
#include <stdlib.h>

enum { GROUP_NORM, GROUP_NORM_SILU_PF, LAYER_NORM, SOFTMAX, N_CASES };

static int frames_of(const vkr_bench_config *cfg) { return cfg->quick ? VKR_BENCH_FRAMES / 4 : VKR_BENCH_FRAMES; }

static void shape_of(int id, const vkr_bench_config *cfg, int64_t ne[5])
{
    int64_t f = frames_of(cfg);
    const int64_t gn[5] = {1, 320, f, VKR_BENCH_LAT_H, VKR_BENCH_LAT_W}, ln[5] = {1, 1, 1, VKR_BENCH_TOKENS * f, 320},
                  sm[5] = {1, 1, 1, VKR_BENCH_TOKENS, VKR_BENCH_TOKENS};
    const int64_t *s = id == LAYER_NORM ? ln : id == SOFTMAX ? sm : gn;
    for (int d = 0; d < 5; d++)
        ne[d] = s[d];
}

static void describe(int id, const vkr_bench_config *cfg, vkr_bench_info *info)
{
    int64_t ne[5];
    shape_of(id, cfg, ne);
    double n = (double)(ne[0] * ne[1] * ne[2] * ne[3] * ne[4]);
    if (id == LAYER_NORM || id == SOFTMAX)
        snprintf(info->shape, sizeof info->shape, "%lldx%lld", (long long)ne[3], (long long)ne[4]);
    else
        snprintf(info->shape, sizeof info->shape, "1x320x%lldx%dx%d,G32", (long long)ne[2], VKR_BENCH_LAT_H,
                 VKR_BENCH_LAT_W);
    info->flops = 0;
    info->bytes = 2.0 * n * (double)vkr_dtype_size(cfg->dtype);
}

typedef struct {
    int id;
    vkr_tensor x, y, w, b;
} norm_state;

static int setup(int id, vkr_gpu *gpu, const vkr_bench_config *cfg, void **state)
{
    norm_state *st = calloc(1, sizeof *st);
    if (!st)
        return vkr_fail(VKR_E_TEMPFAIL, "out of host memory");
    *state = st;
    st->id = id;
    int64_t ne[5];
    shape_of(id, cfg, ne);
    const int64_t vne[5] = {1, 1, 1, 1, 320}; /* 320 channels everywhere */
    int rc;
    if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, cfg->dtype, ne, &st->x)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, cfg->dtype, ne, &st->y)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, cfg->dtype, vne, &st->w)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, cfg->dtype, vne, &st->b)) ||
        (rc = vkr_bench_fill_uniform(gpu, &st->x, 11, -3, 3)) || (rc = vkr_bench_fill_uniform(gpu, &st->w, 12, 0.5f, 1.5f)) ||
        (rc = vkr_bench_fill_uniform(gpu, &st->b, 13, -1, 1)))
        return rc;
    return VKR_OK;
}

static int run(vkr_gpu *gpu, void *state)
{
    norm_state *st = state;
    switch (st->id) {
    case GROUP_NORM:
        return vkr_op_group_norm(gpu, &st->x, &st->w, &st->b, &(vkr_group_norm_params){.groups = 32, .eps = 1e-5f},
                                 &st->y);
    case GROUP_NORM_SILU_PF:
        return vkr_op_group_norm(gpu, &st->x, &st->w, &st->b,
                                 &(vkr_group_norm_params){.groups = 32, .eps = 1e-5f, .per_frame = 1, .silu = 1},
                                 &st->y);
    case LAYER_NORM:
        return vkr_op_layer_norm(gpu, &st->x, &st->w, &st->b, 1e-5f, &st->y);
    default:
        return vkr_op_softmax(gpu, &st->x, NULL, 0.125f, &st->y);
    }
}

static void teardown(vkr_gpu *gpu, void *state)
{
    norm_state *st = state;
    if (!st)
        return;
    vkr_tensor *ts[4] = {&st->x, &st->y, &st->w, &st->b};
    for (int i = 0; i < 4; i++)
        if (ts[i]->block)
            vkr_tensor_free(gpu, ts[i]);
    free(st);
}

#define NORM_CASE(ID)                                                                                            \
    static void describe_##ID(const vkr_bench_config *c, vkr_bench_info *i) { describe(ID, c, i); }              \
    static int setup_##ID(vkr_gpu *g, const vkr_bench_config *c, void **s) { return setup(ID, g, c, s); }
NORM_CASE(GROUP_NORM)
NORM_CASE(GROUP_NORM_SILU_PF)
NORM_CASE(LAYER_NORM)
NORM_CASE(SOFTMAX)
#define ENTRY(ID, NAME) {NAME, describe_##ID, setup_##ID, run, teardown}

const vkr_bench_case vkr_bench_cases_norm[] = {
    ENTRY(GROUP_NORM, "group_norm"),
    ENTRY(GROUP_NORM_SILU_PF, "group_norm_silu_per_frame"),
    ENTRY(LAYER_NORM, "layer_norm"),
    ENTRY(SOFTMAX, "softmax"),
};
const size_t vkr_bench_n_cases_norm = sizeof vkr_bench_cases_norm / sizeof vkr_bench_cases_norm[0];
