/* Convolution benchmark cases at the real-model shapes, matching
 * tools/bench_torch.py (names, shapes, flop counts):
 *   conv2d_3x3:          F.conv2d(x (F, 320, 40, 72), w (320, 320, 3, 3), bias, padding=1)
 *                        -- here x is (1, 320, F, 40, 72) with frames folded into the batch
 *                        through strides, as the UNet3D runs it;
 *   conv_temporal_3x1x1: F.conv3d(x (1, 320, F, 40, 72), w (320, 320, 3, 1, 1), padding=(1,0,0));
 *   conv_transpose1d:    HiFi-GAN's first upsampler, x (1, 1024, 1024), w (1024, 512, 16),
 *                        stride 5, padding 5.
 * F = 24 frames (--quick: 6). */
#include "gpu/bench.h"
#include "gpu/ops_conv.h"

#include "common/status.h"

#include <stdio.h>
#include <stdlib.h>

enum { CONV2D_3X3, CONV_TEMPORAL, CONV_T1D, N_CASES };

static int64_t frames_of(const vkr_bench_config *cfg) { return cfg->quick ? VKR_BENCH_FRAMES / 4 : VKR_BENCH_FRAMES; }

static void describe(int id, const vkr_bench_config *cfg, vkr_bench_info *info)
{
    int64_t f = frames_of(cfg);
    info->bytes = 0;
    switch (id) {
    case CONV2D_3X3:
        snprintf(info->shape, sizeof info->shape, "%lldx320x%dx%d->320", (long long)f, VKR_BENCH_LAT_H,
                 VKR_BENCH_LAT_W);
        info->flops = 2.0 * (double)f * 320 * 320 * 9 * VKR_BENCH_TOKENS;
        break;
    case CONV_TEMPORAL:
        snprintf(info->shape, sizeof info->shape, "1x320x%lldx%dx%d", (long long)f, VKR_BENCH_LAT_H, VKR_BENCH_LAT_W);
        info->flops = 2.0 * (double)f * 320 * 320 * 3 * VKR_BENCH_TOKENS;
        break;
    default:
        snprintf(info->shape, sizeof info->shape, "1x1024x1024->512,k16,s5");
        info->flops = 2.0 * 1024 * 512 * 16 * 1024;
        break;
    }
}

typedef struct {
    int id;
    vkr_tensor x, w, b, y;
} conv_state;

static int setup(int id, vkr_gpu *gpu, const vkr_bench_config *cfg, void **state)
{
    conv_state *st = calloc(1, sizeof *st);
    if (!st)
        return vkr_fail(VKR_E_TEMPFAIL, "out of host memory");
    *state = st;
    st->id = id;
    int64_t f = frames_of(cfg);
    const int64_t act[5] = {1, 320, f, VKR_BENCH_LAT_H, VKR_BENCH_LAT_W}, w2[5] = {1, 320, 320, 3, 3},
                  wt[5] = {320, 320, 3, 1, 1}, b320[5] = {1, 1, 1, 1, 320}, x1[5] = {1, 1024, 1, 1, 1024},
                  w1[5] = {1, 1, 1024, 512, 16}, b512[5] = {1, 1, 1, 1, 512},
                  y1[5] = {1, 512, 1, 1, (1024 - 1) * 5 - 2 * 5 + 16};
    const int64_t *xne = id == CONV_T1D ? x1 : act, *wne = id == CONV_T1D ? w1 : id == CONV_TEMPORAL ? wt : w2, *bne = id == CONV_T1D ? b512 : b320,
                  *yne = id == CONV_T1D ? y1 : act;
    int rc;
    if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, cfg->dtype, xne, &st->x)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, cfg->dtype, wne, &st->w)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, cfg->dtype, bne, &st->b)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, cfg->dtype, yne, &st->y)) ||
        (rc = vkr_bench_fill_uniform(gpu, &st->x, 21, -1, 1)) || (rc = vkr_bench_fill_uniform(gpu, &st->w, 22, -0.05f, 0.05f)) ||
        (rc = vkr_bench_fill_uniform(gpu, &st->b, 23, -1, 1)))
        return rc;
    return VKR_OK;
}

static int run(vkr_gpu *gpu, void *state)
{
    conv_state *st = state;
    switch (st->id) {
    case CONV2D_3X3: {
        const vkr_conv2d_params p = {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1};
        return vkr_op_conv2d(gpu, &st->x, &st->w, &st->b, NULL, &p, &st->y);
    }
    case CONV_TEMPORAL:
        return vkr_op_conv_temporal(gpu, &st->x, &st->w, NULL, NULL, &st->y); /* bench_torch.py: no bias */
    default:
        return vkr_op_conv_transpose1d(gpu, &st->x, &st->w, NULL, 5, (16 - 5) / 2, &st->y);
    }
}

static void teardown(vkr_gpu *gpu, void *state)
{
    conv_state *st = state;
    if (!st)
        return;
    vkr_tensor *ts[4] = {&st->x, &st->w, &st->b, &st->y};
    for (int i = 0; i < 4; i++)
        if (ts[i]->block)
            vkr_tensor_free(gpu, ts[i]);
    free(st);
}

#define CONV_CASE(ID)                                                                                            \
    static void describe_##ID(const vkr_bench_config *c, vkr_bench_info *i) { describe(ID, c, i); }              \
    static int setup_##ID(vkr_gpu *g, const vkr_bench_config *c, void **s) { return setup(ID, g, c, s); }
CONV_CASE(CONV2D_3X3)
CONV_CASE(CONV_TEMPORAL)
CONV_CASE(CONV_T1D)
#define ENTRY(ID, NAME) {NAME, describe_##ID, setup_##ID, run, teardown}

const vkr_bench_case vkr_bench_cases_conv[] = {
    ENTRY(CONV2D_3X3, "conv2d_3x3"),
    ENTRY(CONV_TEMPORAL, "conv_temporal_3x1x1"),
    ENTRY(CONV_T1D, "conv_transpose1d"),
};
const size_t vkr_bench_n_cases_conv = sizeof vkr_bench_cases_conv / sizeof vkr_bench_cases_conv[0];
