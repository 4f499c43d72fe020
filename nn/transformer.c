#include "nn/transformer.h"

#include "gpu/ops_eltwise.h"
#include "gpu/ops_norm.h"

#include <stdio.h>

/* nn.Linear, or the 1x1 Conv2d that Transformer2DModel uses for proj_in /
 * proj_out without use_linear_projection (same bytes, (out, in, 1, 1)). */
static int linear_or_conv1x1_load(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, const char *prefix, int64_t in,
                                  int64_t out, vkr_linear *lin)
{
    char name[512];
    snprintf(name, sizeof name, "%s.weight", prefix);
    const vkr_st_tensor *st = vkr_weights_find(w, name);
    if (!st || st->ndim != 4)
        return vkr_linear_load(gpu, w, dtype, prefix, in, out, true, lin);
    const int64_t ne[VKR_DIMS] = {1, 1, 1, out, in};
    int rc;
    lin->in = in;
    lin->out = out;
    lin->has_bias = true;
    if ((rc = vkr_param_loadf(gpu, w, dtype, VKR_SHAPE(out, in, 1, 1), &lin->weight, "%s", name)) ||
        (rc = vkr_tensor_reshape(&lin->weight, ne, &lin->weight)))
        return rc;
    return vkr_param_loadf(gpu, w, dtype, VKR_SHAPE(out), &lin->bias, "%s.bias", prefix);
}

#define LAYER_NORM_EPS 1e-5f   /* BasicTransformerBlock norm1..3 */
#define TRANSFORMER_GN_EPS 1e-6f /* Transformer2DModel / TransformerTemporalModel input GroupNorm */

static void tokens_ne(int64_t s, int64_t l, int64_t d, int64_t ne[VKR_DIMS])
{
    ne[0] = 1;
    ne[1] = 1;
    ne[2] = s;
    ne[3] = l;
    ne[4] = d;
}

int vkr_basic_transformer_block_load(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, const char *prefix,
                                     int64_t dim, int64_t heads, int64_t head_dim, int64_t cross_dim,
                                     vkr_basic_transformer_block *b)
{
    char p[512];
    int rc;
    b->dim = dim;
    b->ff_chunk_rows = 0;
    const vkr_attention_names *an = &vkr_attention_names_diffusers;
    snprintf(p, sizeof p, "%s.norm1", prefix);
    if ((rc = vkr_layer_norm_load(gpu, w, dtype, p, dim, LAYER_NORM_EPS, &b->norm1)))
        return rc;
    snprintf(p, sizeof p, "%s.attn1", prefix);
    if ((rc = vkr_attention_block_load(gpu, w, dtype, p, an, dim, dim, heads * head_dim, heads, &b->attn1)))
        return rc;
    snprintf(p, sizeof p, "%s.norm2", prefix);
    if ((rc = vkr_layer_norm_load(gpu, w, dtype, p, dim, LAYER_NORM_EPS, &b->norm2)))
        return rc;
    snprintf(p, sizeof p, "%s.attn2", prefix);
    if ((rc = vkr_attention_block_load(gpu, w, dtype, p, an, dim, cross_dim > 0 ? cross_dim : dim, heads * head_dim,
                                       heads, &b->attn2)))
        return rc;
    snprintf(p, sizeof p, "%s.norm3", prefix);
    if ((rc = vkr_layer_norm_load(gpu, w, dtype, p, dim, LAYER_NORM_EPS, &b->norm3)))
        return rc;
    snprintf(p, sizeof p, "%s.ff.net.0.proj", prefix);
    if ((rc = vkr_linear_load(gpu, w, dtype, p, dim, 8 * dim, true, &b->ff_proj)))
        return rc;
    snprintf(p, sizeof p, "%s.ff.net.2", prefix);
    return vkr_linear_load(gpu, w, dtype, p, 4 * dim, dim, true, &b->ff_out);
}

/* GEGLU feed-forward with the residual fused into the last projection:
 * x += ff.net.2(a * gelu(b)), (a, b) = chunk(ff.net.0.proj(n), 2, dim=-1). */
/* Rows of the feed-forward's (rows x 8 dim) projection per chunk when the
 * block's ff_chunk_rows is 0: at most 64 MiB of it at a time. The FF is
 * row-wise, so chunking changes no value; at 576x320x24 with CFG the
 * transformer_in FF would otherwise hold 138240 x 2560 + 138240 x 1280
 * elements at once, most of the UNet step's activation peak (docs/memory.md). */
#define FF_CHUNK_BYTES (64ll << 20)

static int64_t ff_chunk_rows(const vkr_basic_transformer_block *b, int64_t rows, vkr_dtype dtype)
{
    int64_t r = b->ff_chunk_rows;
    if (r <= 0)
        r = FF_CHUNK_BYTES / (8 * b->dim * (int64_t)vkr_dtype_size(dtype));
    return r < 1 ? 1 : r > rows ? rows : r;
}

/* x += ff_out(a * gelu(g)), [a, g] = ff_proj(n), over row chunks of the
 * tokens (n and x are contiguous {1, 1, S, L, dim}). */
static int geglu_ff(vkr_gpu *gpu, const vkr_basic_transformer_block *b, const vkr_tensor *n, const vkr_tensor *x)
{
    const int64_t rows = x->ne[2] * x->ne[3], d = b->dim, chunk = ff_chunk_rows(b, rows, x->dtype);
    int64_t ne[VKR_DIMS];
    vkr_tensor proj = {0}, hid = {0}, nf, xf;
    int rc;
    tokens_ne(1, chunk, 8 * d, ne);
    if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, x->dtype, ne, &proj)))
        goto fail;
    tokens_ne(1, chunk, 4 * d, ne);
    if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, x->dtype, ne, &hid)))
        goto fail;
    tokens_ne(1, rows, d, ne);
    if ((rc = vkr_tensor_reshape(n, ne, &nf)) || (rc = vkr_tensor_reshape(x, ne, &xf)))
        goto fail;
    for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
        const int64_t m = rows - r0 < chunk ? rows - r0 : chunk;
        vkr_tensor nc, xc, pc, hc, a, g;
        if ((rc = vkr_tensor_slice(&nf, VKR_DIM_H, r0, m, &nc)) || (rc = vkr_tensor_slice(&xf, VKR_DIM_H, r0, m, &xc)) ||
            (rc = vkr_tensor_slice(&proj, VKR_DIM_H, 0, m, &pc)) || (rc = vkr_tensor_slice(&hid, VKR_DIM_H, 0, m, &hc)) ||
            (rc = vkr_linear_forward(gpu, &b->ff_proj, &nc, VKR_UNARY_IDENTITY, NULL, &pc)) ||
            (rc = vkr_tensor_slice(&pc, VKR_DIM_W, 0, 4 * d, &a)) ||
            (rc = vkr_tensor_slice(&pc, VKR_DIM_W, 4 * d, 4 * d, &g)) || (rc = vkr_op_gelu(gpu, &g, &g)) ||
            (rc = vkr_op_mul(gpu, &a, &g, &hc)) ||
            (rc = vkr_linear_forward(gpu, &b->ff_out, &hc, VKR_UNARY_IDENTITY, &xc, &xc)))
            goto fail;
    }
fail:
    vkr_tensor_free(gpu, &proj);
    vkr_tensor_free(gpu, &hid);
    return rc;
}

int vkr_basic_transformer_block_forward(vkr_gpu *gpu, const vkr_basic_transformer_block *b, const vkr_tensor *x,
                                        const vkr_tensor *ctx)
{
    vkr_tensor n = {0};
    int rc;
    if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, x->dtype, x->ne, &n)))
        return rc;
    const vkr_attention_block_args res = {.residual = x};
    if ((rc = vkr_layer_norm_forward(gpu, &b->norm1, x, &n)) ||
        (rc = vkr_attention_block_forward(gpu, &b->attn1, &n, NULL, &res, x)) ||
        (rc = vkr_layer_norm_forward(gpu, &b->norm2, x, &n)) ||
        (rc = vkr_attention_block_forward(gpu, &b->attn2, &n, ctx, &res, x)) ||
        (rc = vkr_layer_norm_forward(gpu, &b->norm3, x, &n)) ||
        (rc = geglu_ff(gpu, b, &n, x)))
        goto fail;
fail:
    vkr_tensor_free(gpu, &n);
    return rc;
}

static int transformer_load(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, const char *prefix, int64_t channels,
                            int64_t heads, int64_t head_dim, int groups, int n_layers, int64_t cross_dim,
                            vkr_transformer *t)
{
    char p[512];
    int rc;
    if (n_layers < 1 || n_layers > VKR_TRANSFORMER_MAX_LAYERS)
        return vkr_fail(VKR_E_DATA, "%s: %d transformer layers (1..%d supported)", prefix, n_layers,
                        VKR_TRANSFORMER_MAX_LAYERS);
    if (heads < 1 || head_dim < 1 || groups < 1 || channels % groups)
        return vkr_fail(VKR_E_DATA, "%s: %lld channels, %lld heads of %lld, %d groups", prefix,
                        (long long)channels, (long long)heads, (long long)head_dim, groups);
    t->channels = channels;
    t->heads = heads;
    t->head_dim = head_dim;
    t->inner = heads * head_dim;
    t->groups = groups;
    t->n_layers = n_layers;
    if ((rc = vkr_param_loadf(gpu, w, dtype, VKR_SHAPE(channels), &t->norm_weight, "%s.norm.weight", prefix)) ||
        (rc = vkr_param_loadf(gpu, w, dtype, VKR_SHAPE(channels), &t->norm_bias, "%s.norm.bias", prefix)))
        return rc;
    snprintf(p, sizeof p, "%s.proj_in", prefix);
    if ((rc = linear_or_conv1x1_load(gpu, w, dtype, p, channels, t->inner, &t->proj_in)))
        return rc;
    for (int i = 0; i < n_layers; i++) {
        snprintf(p, sizeof p, "%s.transformer_blocks.%d", prefix, i);
        if ((rc = vkr_basic_transformer_block_load(gpu, w, dtype, p, t->inner, heads, head_dim, cross_dim,
                                                   &t->blocks[i])))
            return rc;
    }
    snprintf(p, sizeof p, "%s.proj_out", prefix);
    return linear_or_conv1x1_load(gpu, w, dtype, p, t->inner, channels, &t->proj_out);
}

int vkr_transformer2d_load(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, const char *prefix, int64_t channels,
                           int64_t heads, int64_t head_dim, int groups, int n_layers, int64_t cross_dim,
                           vkr_transformer *t)
{
    return transformer_load(gpu, w, dtype, prefix, channels, heads, head_dim, groups, n_layers, cross_dim, t);
}

int vkr_transformer_temporal_load(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, const char *prefix,
                                  int64_t channels, int64_t heads, int64_t head_dim, int groups, int n_layers,
                                  vkr_transformer *t)
{
    return transformer_load(gpu, w, dtype, prefix, channels, heads, head_dim, groups, n_layers, 0, t);
}

/* The shared body: GroupNorm over x, then the tokens are the view `perm` of
 * the normed video seen as {1, N, C, F, H*W}; proj_in, blocks, proj_out, and
 * the residual add written back through the same permuted view of out. */
static int transformer_forward(vkr_gpu *gpu, const vkr_transformer *t, const vkr_tensor *x, const vkr_tensor *ctx,
                               int per_frame, const int perm[VKR_DIMS], const vkr_tensor *out)
{
    const int64_t n = x->ne[0], c = x->ne[1], f = x->ne[2], hw = x->ne[3] * x->ne[4];
    const int64_t flat[VKR_DIMS] = {1, n, c, f, hw};
    vkr_tensor normed = {0}, h = {0}, p = {0};
    vkr_tensor tok_in, tok_x, tok_out, hv, pv, h3;
    int rc;
    if (c != t->channels)
        return vkr_fail(VKR_E_INTERNAL, "transformer: %lld channels, expected %lld", (long long)c,
                        (long long)t->channels);
    vkr_group_norm_params gp = {.groups = t->groups, .eps = TRANSFORMER_GN_EPS, .per_frame = per_frame};
    if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, x->dtype, x->ne, &normed)) ||
        (rc = vkr_op_group_norm(gpu, x, &t->norm_weight, &t->norm_bias, &gp, &normed)))
        goto fail;
    if ((rc = vkr_tensor_reshape(&normed, flat, &tok_in)) || (rc = vkr_tensor_permute(&tok_in, perm, &tok_in)))
        goto fail;
    /* tok_in: {1, N, S1, L, C} with S1 * L tokens per batch element. */
    const int64_t s1 = tok_in.ne[2], l = tok_in.ne[3];
    const int64_t hne[VKR_DIMS] = {1, n, s1, l, t->inner}, pne[VKR_DIMS] = {1, n, s1, l, c};
    const int64_t h3ne[VKR_DIMS] = {1, 1, n * s1, l, t->inner};
    if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, x->dtype, hne, &h)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, x->dtype, pne, &p)))
        goto fail;
    if ((rc = vkr_linear_forward(gpu, &t->proj_in, &tok_in, VKR_UNARY_IDENTITY, NULL, &h)))
        goto fail;
    vkr_tensor_free(gpu, &normed);
    if ((rc = vkr_tensor_reshape(&h, h3ne, &h3)))
        goto fail;
    for (int i = 0; i < t->n_layers; i++)
        if ((rc = vkr_basic_transformer_block_forward(gpu, &t->blocks[i], &h3, ctx)))
            goto fail;
    hv = h;
    pv = p;
    if ((rc = vkr_linear_forward(gpu, &t->proj_out, &hv, VKR_UNARY_IDENTITY, NULL, &pv)))
        goto fail;
    if ((rc = vkr_tensor_reshape(x, flat, &tok_x)) || (rc = vkr_tensor_permute(&tok_x, perm, &tok_x)) ||
        (rc = vkr_tensor_reshape(out, flat, &tok_out)) || (rc = vkr_tensor_permute(&tok_out, perm, &tok_out)))
        goto fail;
    rc = vkr_op_add(gpu, &p, &tok_x, &tok_out);
fail:
    vkr_tensor_free(gpu, &normed);
    vkr_tensor_free(gpu, &h);
    vkr_tensor_free(gpu, &p);
    return rc;
}

int vkr_transformer2d_forward(vkr_gpu *gpu, const vkr_transformer *t, const vkr_tensor *x, const vkr_tensor *ctx,
                              const vkr_tensor *out)
{
    /* {1, N, C, F, HW} -> {1, N, F, HW, C}: H*W tokens per (batch, frame). */
    static const int perm[VKR_DIMS] = {0, 1, 3, 4, 2};
    return transformer_forward(gpu, t, x, ctx, 1, perm, out);
}

int vkr_transformer_temporal_forward(vkr_gpu *gpu, const vkr_transformer *t, const vkr_tensor *x,
                                     const vkr_tensor *out)
{
    /* {1, N, C, F, HW} -> {1, N, HW, F, C}: F tokens per (batch, pixel), as
     * diffusers' permute(0, 3, 4, 2, 1).reshape(N*H*W, F, C). */
    static const int perm[VKR_DIMS] = {0, 1, 4, 3, 2};
    return transformer_forward(gpu, t, x, NULL, 0, perm, out);
}
