/* Attention benchmark cases at the real-model shapes (Zeroscope UNet3D at
 * 576x320 -> latent 72x40 = 2880 tokens per frame, 5 heads x 64 at the first
 * level, 24 frames; --quick: 6), named and shaped as tools/bench_torch.py:
 *   attention_spatial   B=frames sequences of 2880 tokens, 5 heads, D 64
 *   attention_temporal  2880 sequences (one per latent pixel) of 24 frames
 * The operands are laid out as the model produces them, so the numbers include
 * the strided reads: spatial q/k/v are heads of tokens-major (B, 2880, 320)
 * projections; temporal q/k/v are (2880, 24, 320) sequences read straight out
 * of the frames-major (24, 2880, 320) spatial token tensors (no permute copy).
 * tools/bench_torch.py uses contiguous (B, H, L, D) tensors and, on torch 1.13
 * (no scaled_dot_product_attention), materialises the full score matrix. */
#include "gpu/bench.h"
#include "gpu/ops_attention.h"

#include "common/status.h"

#include <stdio.h>
#include <stdlib.h>


#define HEADS 5
#define HEAD_DIM 64

typedef struct {
    int temporal;
} attention_shape;

static const attention_shape spatial = {0}, temporal = {1};

/* sequences, sequence length */
static void dims(const attention_shape *s, const vkr_bench_config *cfg, int64_t *seqs, int64_t *len)
{
    int frames = cfg->quick ? VKR_BENCH_FRAMES / 4 : VKR_BENCH_FRAMES;
    *seqs = s->temporal ? VKR_BENCH_TOKENS : frames;
    *len = s->temporal ? VKR_BENCH_FRAMES : VKR_BENCH_TOKENS; /* bench_torch.py keeps 24 frames in --quick */
}

static void describe(const attention_shape *s, const vkr_bench_config *cfg, vkr_bench_info *info)
{
    int64_t n, l;
    dims(s, cfg, &n, &l);
    snprintf(info->shape, sizeof info->shape, "%lldx%dx%lldx%d", (long long)n, HEADS, (long long)l, HEAD_DIM);
    info->flops = 4.0 * (double)n * HEADS * (double)l * (double)l * HEAD_DIM;
    info->bytes = 4.0 * (double)vkr_dtype_size(cfg->dtype) * (double)n * (double)l * HEADS * HEAD_DIM;
}

typedef struct {
    vkr_tensor store[4];  /* q, k, v, o as allocated */
    vkr_tensor view[4];   /* their [B, H, L, D] views */
} attention_state;

static int setup(const attention_shape *s, vkr_gpu *gpu, const vkr_bench_config *cfg, void **state)
{
    attention_state *st = calloc(1, sizeof *st);
    if (!st)
        return vkr_fail(VKR_E_TEMPFAIL, "out of host memory");
    *state = st;
    int64_t n, l;
    dims(s, cfg, &n, &l);
    /* spatial: (B, L, C) tokens; temporal: frames-major (L=frames, N=pixels, C) */
    const int64_t ne[5] = {1, 1, s->temporal ? l : n, s->temporal ? n : l, HEADS * HEAD_DIM};
    const int perm[5] = {0, 1, 3, 2, 4};
    int rc = VKR_OK;
    for (int i = 0; i < 4 && !rc; i++) {
        vkr_tensor tok;
        rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, cfg->dtype, ne, &st->store[i]);
        if (!rc)
            rc = s->temporal ? vkr_tensor_permute(&st->store[i], perm, &tok) : (tok = st->store[i], VKR_OK);
        if (!rc)
            rc = vkr_attention_split_heads(&tok, HEADS, &st->view[i]);
        if (!rc && i < 3)
            rc = vkr_bench_fill_uniform(gpu, &st->store[i], 1 + (uint64_t)i, -1, 1);
    }
    return rc;
}

static int run(vkr_gpu *gpu, void *state)
{
    attention_state *st = state;
    return vkr_op_attention(gpu, &st->view[0], &st->view[1], &st->view[2], NULL, &st->view[3]);
}

static void teardown(vkr_gpu *gpu, void *state)
{
    attention_state *st = state;
    if (!st)
        return;
    for (int i = 0; i < 4; i++)
        if (st->store[i].block)
            vkr_tensor_free(gpu, &st->store[i]);
    free(st);
}

static void describe_spatial(const vkr_bench_config *c, vkr_bench_info *i) { describe(&spatial, c, i); }
static void describe_temporal(const vkr_bench_config *c, vkr_bench_info *i) { describe(&temporal, c, i); }
static int setup_spatial(vkr_gpu *g, const vkr_bench_config *c, void **s) { return setup(&spatial, g, c, s); }
static int setup_temporal(vkr_gpu *g, const vkr_bench_config *c, void **s) { return setup(&temporal, g, c, s); }

const vkr_bench_case vkr_bench_cases_attention[] = {
    {"attention_spatial", describe_spatial, setup_spatial, run, teardown},
    {"attention_temporal", describe_temporal, setup_temporal, run, teardown},
};
const size_t vkr_bench_n_cases_attention = sizeof vkr_bench_cases_attention / sizeof vkr_bench_cases_attention[0];
