/* Matmul benchmark cases at the real-model shapes (Zeroscope UNet3D at
 * 576x320 -> latent 72x40 = 2880 tokens per frame, 24 frames; --quick: 6).
 * "gemm" is tools/bench_torch.py's F.linear(a, w) with a (M, 1280), w (5120,
 * 1280); the linear_* cases are the other projections of a transformer block
 * at the first UNet level (320 channels, 5 heads x 64), the text-encoder
 * cross-attention keys/values and the timestep MLP (skinny). */
#include "gpu/bench.h"
#include "gpu/ops_matmul.h"

#include "common/status.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct {
    int rows_per_frame; /* rows = rows_per_frame * frames; 0: fixed_rows */
    int fixed_rows;
    int k, n;
    int bias, residual;
    vkr_unary_op act;
} linear_shape;

enum { GEMM, ATTN_PROJ, FF_IN, FF_OUT, CROSS_KV, TIME_MLP, N_SHAPES };
static const linear_shape shapes[N_SHAPES] = {
    [GEMM] = {VKR_BENCH_TOKENS, 0, 1280, 5120, 0, 0, VKR_UNARY_IDENTITY},
    /* to_q / to_k / to_v / to_out[0] of spatial self-attention, 320 -> 320 */
    [ATTN_PROJ] = {VKR_BENCH_TOKENS, 0, 320, 320, 0, 0, VKR_UNARY_IDENTITY},
    /* GEGLU proj 320 -> 2 x 1280 (+bias) */
    [FF_IN] = {VKR_BENCH_TOKENS, 0, 320, 2560, 1, 0, VKR_UNARY_IDENTITY},
    /* ff.net.2 1280 -> 320 (+bias, + the residual stream) */
    [FF_OUT] = {VKR_BENCH_TOKENS, 0, 1280, 320, 1, 1, VKR_UNARY_IDENTITY},
    /* cross-attention to_k / to_v on the OpenCLIP text states: 77 x 1024 -> 320 */
    [CROSS_KV] = {0, 77, 1024, 320, 0, 0, VKR_UNARY_IDENTITY},
    /* time_embedding.linear_1 + SiLU: 1 x 320 -> 1280 (skinny) */
    [TIME_MLP] = {0, 1, 320, 1280, 1, 0, VKR_UNARY_SILU},
};

static int64_t rows_of(const linear_shape *s, const vkr_bench_config *cfg)
{
    int frames = cfg->quick ? VKR_BENCH_FRAMES / 4 : VKR_BENCH_FRAMES;
    return s->rows_per_frame ? (int64_t)s->rows_per_frame * frames : s->fixed_rows;
}

static void describe(const linear_shape *s, const vkr_bench_config *cfg, vkr_bench_info *info)
{
    int64_t m = rows_of(s, cfg);
    double es = (double)vkr_dtype_size(cfg->dtype);
    snprintf(info->shape, sizeof info->shape, "%lldx%dx%d", (long long)m, s->k, s->n);
    info->flops = 2.0 * (double)m * s->k * s->n;
    info->bytes = es * ((double)m * s->k + (double)s->k * s->n + (double)m * s->n * (s->residual ? 2 : 1));
}

typedef struct {
    vkr_tensor x, w, bias, res, y;
    int have_bias, have_res;
    vkr_matmul_epilogue ep;
} linear_state;

static int setup(const linear_shape *s, vkr_gpu *gpu, const vkr_bench_config *cfg, void **state)
{
    linear_state *st = calloc(1, sizeof *st);
    if (!st)
        return vkr_fail(VKR_E_TEMPFAIL, "out of host memory");
    *state = st;
    int64_t m = rows_of(s, cfg);
    const int64_t xne[5] = {1, 1, 1, m, s->k}, wne[5] = {1, 1, 1, s->n, s->k}, bne[5] = {1, 1, 1, 1, s->n},
                  yne[5] = {1, 1, 1, m, s->n};
    int rc;
    if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, cfg->dtype, xne, &st->x)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, cfg->dtype, wne, &st->w)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, cfg->dtype, yne, &st->y)) ||
        (rc = vkr_bench_fill_uniform(gpu, &st->x, 1, -1, 1)) || (rc = vkr_bench_fill_uniform(gpu, &st->w, 2, -1, 1)))
        return rc;
    st->ep.act = s->act;
    if (s->bias) {
        if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, cfg->dtype, bne, &st->bias)))
            return rc;
        st->have_bias = 1;
        st->ep.bias = &st->bias;
        if ((rc = vkr_bench_fill_uniform(gpu, &st->bias, 3, -1, 1)))
            return rc;
    }
    if (s->residual) {
        if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, cfg->dtype, yne, &st->res)))
            return rc;
        st->have_res = 1;
        st->ep.residual = &st->res;
        if ((rc = vkr_bench_fill_uniform(gpu, &st->res, 4, -1, 1)))
            return rc;
    }
    return VKR_OK;
}

static int run(vkr_gpu *gpu, void *state)
{
    linear_state *st = state;
    return vkr_op_linear_ex(gpu, &st->x, &st->w, &st->ep, &st->y);
}

static void teardown(vkr_gpu *gpu, void *state)
{
    linear_state *st = state;
    if (!st)
        return;
    vkr_tensor *ts[5] = {&st->x, &st->w, &st->y, st->have_bias ? &st->bias : NULL, st->have_res ? &st->res : NULL};
    for (int i = 0; i < 5; i++)
        if (ts[i] && ts[i]->block)
            vkr_tensor_free(gpu, ts[i]);
    free(st);
}

#define LINEAR_CASE(ID)                                                                                          \
    static void describe_##ID(const vkr_bench_config *c, vkr_bench_info *i) { describe(&shapes[ID], c, i); }     \
    static int setup_##ID(vkr_gpu *g, const vkr_bench_config *c, void **s) { return setup(&shapes[ID], g, c, s); }
LINEAR_CASE(GEMM)
LINEAR_CASE(ATTN_PROJ)
LINEAR_CASE(FF_IN)
LINEAR_CASE(FF_OUT)
LINEAR_CASE(CROSS_KV)
LINEAR_CASE(TIME_MLP)
#define ENTRY(ID, NAME) {NAME, describe_##ID, setup_##ID, run, teardown}

const vkr_bench_case vkr_bench_cases_matmul[] = {
    ENTRY(GEMM, "gemm"),
    ENTRY(ATTN_PROJ, "linear_attn_proj"),
    ENTRY(FF_IN, "linear_ff_geglu"),
    ENTRY(FF_OUT, "linear_ff_out"),
    ENTRY(CROSS_KV, "linear_cross_kv"),
    ENTRY(TIME_MLP, "linear_time_mlp"),
};
const size_t vkr_bench_n_cases_matmul = sizeof vkr_bench_cases_matmul / sizeof vkr_bench_cases_matmul[0];
