/* UNet3DConditionModel: config, weights, forward (diffusers 0.27 unet_3d_condition.py).
 *
 * Heads: diffusers reads config attention_head_dim as num_attention_heads
 * (num_attention_heads = num_attention_heads or attention_head_dim), and the
 * 3-D blocks build Transformer2DModel(out_channels // n, n, ...), i.e. `n`
 * lands in the attention_head_dim argument: each block transformer has
 * out_channels / n heads of dim n (ModelScope: 64-wide heads). transformer_in
 * is TransformerTemporalModel(8 heads, attention_head_dim). */
#include "video/unet3d.h"

#include "gpu/ops_conv.h"
#include "gpu/ops_eltwise.h"
#include "gpu/ops_misc.h"
#include "gpu/ops_norm.h"
#include "model/diffusers_dir.h"
#include "nn/timestep_embedding.h"
#include "video/unet3d_blocks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct vkr_unet3d {
    vkr_unet3d_config cfg;
    vkr_dtype dtype;
    vkr_tensor conv_in_weight, conv_in_bias;
    vkr_timestep_embedding time_embedding;
    vkr_transformer transformer_in;
    vkr_unet3d_block down[VKR_UNET3D_MAX_BLOCKS], mid, up[VKR_UNET3D_MAX_BLOCKS];
    vkr_tensor conv_norm_out_weight, conv_norm_out_bias;
    vkr_tensor conv_out_weight, conv_out_bias;
    vkr_unet3d_observer observer;
    void *observer_user;
};

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int block_type(const vkr_config *cfg, const char *key, const char *name, const char *attn, const char *plain,
                      int *has_attention)
{
    if (!strcmp(name, attn))
        *has_attention = 1;
    else if (!strcmp(name, plain))
        *has_attention = 0;
    else
        return vkr_fail(VKR_E_DATA, "%s: %s: unsupported block type '%s' (expected %s or %s)", cfg->path, key, name,
                        attn, plain);
    return VKR_OK;
}

static int config_from(const vkr_config *c, vkr_unet3d_config *u)
{
    static const int def_boc[4] = {320, 640, 1280, 1280};
    static const char *const def_down[4] = {"CrossAttnDownBlock3D", "CrossAttnDownBlock3D", "CrossAttnDownBlock3D",
                                            "DownBlock3D"};
    static const char *const def_up[4] = {"UpBlock3D", "CrossAttnUpBlock3D", "CrossAttnUpBlock3D",
                                          "CrossAttnUpBlock3D"};
    const char *down[VKR_UNET3D_MAX_BLOCKS], *up[VKR_UNET3D_MAX_BLOCKS], *act;
    int n_down, n_up, rc;
    double eps, msf;
    bool flip;
    memset(u, 0, sizeof *u);
    if ((rc = vkr_cfg_int(c, "in_channels", 4, &u->in_channels)) ||
        (rc = vkr_cfg_int(c, "out_channels", 4, &u->out_channels)) ||
        (rc = vkr_cfg_int_array(c, "block_out_channels", def_boc, 4, u->block_out_channels, VKR_UNET3D_MAX_BLOCKS,
                                &u->n_blocks)) ||
        (rc = vkr_cfg_string_array(c, "down_block_types", def_down, 4, down, VKR_UNET3D_MAX_BLOCKS, &n_down)) ||
        (rc = vkr_cfg_string_array(c, "up_block_types", def_up, 4, up, VKR_UNET3D_MAX_BLOCKS, &n_up)) ||
        (rc = vkr_cfg_int(c, "layers_per_block", 2, &u->layers_per_block)) ||
        (rc = vkr_cfg_int(c, "cross_attention_dim", 1024, &u->cross_attention_dim)) ||
        (rc = vkr_cfg_int(c, "norm_num_groups", 32, &u->norm_num_groups)) ||
        (rc = vkr_cfg_double(c, "norm_eps", 1e-5, &eps)) ||
        (rc = vkr_cfg_double(c, "mid_block_scale_factor", 1.0, &msf)) ||
        (rc = vkr_cfg_int(c, "downsample_padding", 1, &u->downsample_padding)) ||
        (rc = vkr_cfg_bool(c, "flip_sin_to_cos", true, &flip)) ||
        (rc = vkr_cfg_string(c, "act_fn", "silu", &act)))
        return rc;
    if (u->n_blocks < 1 || n_down != u->n_blocks || n_up != u->n_blocks)
        return vkr_fail(VKR_E_DATA, "%s: %d block_out_channels, %d down_block_types, %d up_block_types", c->path,
                        u->n_blocks, n_down, n_up);
    if (vkr_cfg_has(c, "num_attention_heads"))
        return vkr_fail(VKR_E_DATA, "%s: num_attention_heads is not supported by UNet3DConditionModel", c->path);
    if ((rc = vkr_cfg_int_per_block(c, "attention_head_dim", u->n_blocks, 64, u->attention_head_dim)))
        return rc;
    if (strcmp(act, "silu") && strcmp(act, "swish"))
        return vkr_fail(VKR_E_DATA, "%s: act_fn '%s' (UNet3D supports silu)", c->path, act);
    for (int i = 0; i < u->n_blocks; i++) {
        if ((rc = block_type(c, "down_block_types", down[i], "CrossAttnDownBlock3D", "DownBlock3D",
                             &u->down_has_attention[i])) ||
            (rc = block_type(c, "up_block_types", up[i], "CrossAttnUpBlock3D", "UpBlock3D", &u->up_has_attention[i])))
            return rc;
        int ch = u->block_out_channels[i], hd = u->attention_head_dim[i];
        if (ch < 1 || hd < 1 || ch % hd || ch % u->norm_num_groups)
            return vkr_fail(VKR_E_DATA, "%s: block %d: %d channels, attention_head_dim %d, %d groups", c->path, i, ch,
                            hd, u->norm_num_groups);
    }
    if (u->in_channels < 1 || u->out_channels < 1 || u->layers_per_block < 1 ||
        u->layers_per_block + 1 > VKR_UNET3D_MAX_LAYERS || u->cross_attention_dim < 1 || u->norm_num_groups < 1)
        return vkr_fail(VKR_E_DATA, "%s: unsupported hyper-parameters", c->path);
    u->norm_eps = (float)eps;
    u->mid_block_scale_factor = (float)msf;
    u->flip_sin_to_cos = flip;
    u->freq_shift = 0; /* UNet3DConditionModel: Timesteps(block_out_channels[0], True, 0) */
    u->time_embed_dim = 4 * u->block_out_channels[0];
    return VKR_OK;
}

/* A pipeline folder (with unet/), or the UNet folder itself. */
static void unet_dir(const char *path, char *out, size_t n)
{
    snprintf(out, n, "%s/unet", path);
    if (!is_dir(out))
        snprintf(out, n, "%s", path);
}

int vkr_unet3d_config_load(const char *path, vkr_unet3d_config *cfg)
{
    char dir[4096], cp[4200];
    vkr_config c = {0};
    unet_dir(path, dir, sizeof dir);
    snprintf(cp, sizeof cp, "%s/config.json", dir);
    int rc = vkr_cfg_load(&c, cp);
    if (!rc)
        rc = config_from(&c, cfg);
    vkr_cfg_free(&c);
    return rc;
}

static int open_weights(const char *path, char *cfg_path, size_t n, vkr_weights **w)
{
    char dir[4096];
    if (!is_dir(path)) {
        /* a weight file: config.json next to it */
        const char *slash = strrchr(path, '/');
        int len = slash ? (int)(slash - path) : 1;
        snprintf(cfg_path, n, "%.*s/config.json", len, slash ? path : ".");
        return vkr_weights_open(w, path);
    }
    unet_dir(path, dir, sizeof dir);
    snprintf(cfg_path, n, "%s/config.json", dir);
    return vkr_open_dir_weights(dir, VKR_VARIANT_DEFAULT, w);
}

static int load_all(vkr_gpu *gpu, vkr_weights *w, vkr_unet3d *u)
{
    const vkr_unet3d_config *c = &u->cfg;
    const vkr_dtype dt = u->dtype;
    const int nb = c->n_blocks, g = c->norm_num_groups;
    const int64_t c0 = c->block_out_channels[0], temb = c->time_embed_dim;
    char p[256];
    int rc;
    if ((rc = vkr_param_loadf(gpu, w, dt, VKR_SHAPE(c0, c->in_channels, 3, 3), &u->conv_in_weight, "conv_in.weight")) ||
        (rc = vkr_param_loadf(gpu, w, dt, VKR_SHAPE(c0), &u->conv_in_bias, "conv_in.bias")))
        return rc;
    vkr_timestep_params tp = {.flip_sin_to_cos = c->flip_sin_to_cos, .downscale_freq_shift = c->freq_shift};
    if ((rc = vkr_timestep_embedding_load(gpu, w, dt, "time_embedding", c0, temb, &tp, VKR_UNARY_SILU,
                                          &u->time_embedding)))
        return rc;
    if ((rc = vkr_transformer_temporal_load(gpu, w, dt, "transformer_in", c0, 8, c->attention_head_dim[0], g, 1,
                                            &u->transformer_in)))
        return rc;
    int64_t out_ch = c0;
    for (int i = 0; i < nb; i++) {
        int64_t in_ch = out_ch;
        out_ch = c->block_out_channels[i];
        vkr_unet3d_block_spec s = {
            .in_channels = in_ch, .out_channels = out_ch, .temb_dim = temb, .cross_dim = c->cross_attention_dim,
            .heads = out_ch / c->attention_head_dim[i], .head_dim = c->attention_head_dim[i],
            .n_layers = c->layers_per_block, .has_attention = c->down_has_attention[i], .add_sampler = i < nb - 1,
            .groups = g, .downsample_padding = c->downsample_padding, .eps = c->norm_eps, .output_scale_factor = 1};
        snprintf(p, sizeof p, "down_blocks.%d", i);
        if ((rc = vkr_unet3d_block_load(gpu, w, dt, p, VKR_UNET3D_DOWN, &s, &u->down[i])))
            return rc;
    }
    const int64_t cl = c->block_out_channels[nb - 1];
    vkr_unet3d_block_spec ms = {
        .in_channels = cl, .out_channels = cl, .temb_dim = temb, .cross_dim = c->cross_attention_dim,
        .heads = cl / c->attention_head_dim[nb - 1], .head_dim = c->attention_head_dim[nb - 1], .n_layers = 2,
        .has_attention = 1, .groups = g, .eps = c->norm_eps, .output_scale_factor = c->mid_block_scale_factor};
    if ((rc = vkr_unet3d_block_load(gpu, w, dt, "mid_block", VKR_UNET3D_MID, &ms, &u->mid)))
        return rc;
    out_ch = cl;
    for (int i = 0; i < nb; i++) {
        int64_t prev = out_ch;
        out_ch = c->block_out_channels[nb - 1 - i];
        int64_t in_ch = c->block_out_channels[nb - 2 - i < 0 ? 0 : nb - 2 - i];
        int hd = c->attention_head_dim[nb - 1 - i];
        vkr_unet3d_block_spec s = {
            .in_channels = in_ch, .out_channels = out_ch, .prev_output_channels = prev, .temb_dim = temb,
            .cross_dim = c->cross_attention_dim, .heads = out_ch / hd, .head_dim = hd,
            .n_layers = c->layers_per_block + 1, .has_attention = c->up_has_attention[i], .add_sampler = i < nb - 1,
            .groups = g, .eps = c->norm_eps, .output_scale_factor = 1};
        snprintf(p, sizeof p, "up_blocks.%d", i);
        if ((rc = vkr_unet3d_block_load(gpu, w, dt, p, VKR_UNET3D_UP, &s, &u->up[i])))
            return rc;
    }
    if ((rc = vkr_param_loadf(gpu, w, dt, VKR_SHAPE(c0), &u->conv_norm_out_weight, "conv_norm_out.weight")) ||
        (rc = vkr_param_loadf(gpu, w, dt, VKR_SHAPE(c0), &u->conv_norm_out_bias, "conv_norm_out.bias")) ||
        (rc = vkr_param_loadf(gpu, w, dt, VKR_SHAPE(c->out_channels, c0, 3, 3), &u->conv_out_weight, "conv_out.weight")) ||
        (rc = vkr_param_loadf(gpu, w, dt, VKR_SHAPE(c->out_channels), &u->conv_out_bias, "conv_out.bias")))
        return rc;
    return vkr_weights_check_all_used(w);
}

int vkr_unet3d_load(vkr_gpu *gpu, const char *path, vkr_dtype dtype, vkr_unet3d **out)
{
    char cfg_path[4200];
    vkr_weights *w = NULL;
    vkr_config c = {0};
    vkr_unet3d *u = NULL;
    int rc;
    *out = NULL;
    if (dtype != VKR_F32 && dtype != VKR_F16 && dtype != VKR_BF16)
        return vkr_fail(VKR_E_USAGE, "unet3d: weight dtype must be f32, f16 or bf16");
    if (!(u = calloc(1, sizeof *u)))
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    u->dtype = dtype;
    if ((rc = open_weights(path, cfg_path, sizeof cfg_path, &w)) || (rc = vkr_cfg_load(&c, cfg_path)) ||
        (rc = config_from(&c, &u->cfg)) || (rc = load_all(gpu, w, u)))
        goto fail;
    *out = u;
    u = NULL;
fail:
    vkr_cfg_free(&c);
    if (w)
        vkr_weights_close(w);
    free(u); /* weight tensors live in the arena until vkr_gpu_weights_reset() */
    return rc;
}

void vkr_unet3d_free(vkr_unet3d *unet)
{
    free(unet);
}

const vkr_unet3d_config *vkr_unet3d_get_config(const vkr_unet3d *unet)
{
    return &unet->cfg;
}

void vkr_unet3d_set_observer(vkr_unet3d *unet, vkr_unet3d_observer fn, void *user)
{
    unet->observer = fn;
    unet->observer_user = user;
}

static int observe(const vkr_unet3d *u, const char *name, const vkr_tensor *t)
{
    return u->observer ? u->observer(u->observer_user, name, t) : VKR_OK;
}

static void free_skips(vkr_gpu *gpu, vkr_unet3d_skips *s)
{
    while (s->n > 0)
        vkr_tensor_free(gpu, &s->t[--s->n]);
}

int vkr_unet3d_forward(vkr_gpu *gpu, const vkr_unet3d *u, const vkr_tensor *sample, const vkr_tensor *timesteps,
                       const vkr_tensor *encoder_hidden_states, vkr_tensor *out)
{
    const vkr_unet3d_config *c = &u->cfg;
    const int64_t n = sample->ne[0], f = sample->ne[2], h = sample->ne[3], wd = sample->ne[4];
    const int64_t c0 = c->block_out_channels[0];
    const vkr_dtype dt = sample->dtype;
    vkr_tensor sin = {0}, emb = {0}, ctx = {0}, ctx_seq, x = {0}, y = {0};
    vkr_unet3d_skips skips = {.n = 0};
    int rc;
    *out = (vkr_tensor){0};
    const vkr_tensor *e = encoder_hidden_states;
    const int64_t l = e->ne[3], d = e->ne[4];
    if (sample->ne[1] != c->in_channels || vkr_tensor_nelem(timesteps) != n || d != c->cross_attention_dim ||
        e->ne[0] * e->ne[1] * e->ne[2] != n)
        return vkr_fail(VKR_E_USAGE,
                        "unet3d: sample {%lld, %lld, ..} (in_channels %d), %lld timesteps, context {%lld, %lld, %lld} "
                        "(cross_attention_dim %d)",
                        (long long)n, (long long)sample->ne[1], c->in_channels, (long long)vkr_tensor_nelem(timesteps),
                        (long long)(e->ne[0] * e->ne[1] * e->ne[2]), (long long)l, (long long)d,
                        c->cross_attention_dim);
    /* time embedding (one row per batch element; the resnets broadcast it over frames) */
    const int64_t sne[VKR_DIMS] = {1, 1, 1, n, c0}, ene[VKR_DIMS] = {1, 1, 1, n, c->time_embed_dim};
    if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, sne, &sin)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, ene, &emb)) ||
        (rc = vkr_timestep_embedding_forward(gpu, &u->time_embedding, timesteps, &sin, &emb)) ||
        (rc = observe(u, "time_proj", &sin)) || (rc = observe(u, "time_embedding", &emb)))
        goto fail;
    vkr_tensor_free(gpu, &sin);
    /* encoder_hidden_states.repeat_interleave(F, dim=0): {1, N, F, L, D} = sequences n*F + f */
    {
        const int64_t cne[VKR_DIMS] = {1, n, f, l, d}, one[VKR_DIMS] = {1, n, 1, l, d},
                      flat[VKR_DIMS] = {1, 1, n * f, l, d};
        vkr_tensor ev, eb;
        if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, cne, &ctx)) ||
            (rc = vkr_tensor_reshape(e, one, &ev)) || (rc = vkr_tensor_broadcast(&ev, cne, &eb)) ||
            (rc = vkr_op_copy(gpu, &eb, &ctx)) || (rc = vkr_tensor_reshape(&ctx, flat, &ctx_seq)))
            goto fail;
    }
    vkr_unet3d_ctx bc = {.temb = &emb, .context = &ctx_seq};
    /* conv_in -> transformer_in */
    {
        const int64_t xne[VKR_DIMS] = {n, c0, f, h, wd};
        static const vkr_conv2d_params cp = {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1};
        if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, xne, &x)) ||
            (rc = vkr_op_conv2d(gpu, sample, &u->conv_in_weight, &u->conv_in_bias, NULL, &cp, &x)) ||
            (rc = observe(u, "conv_in", &x)) || (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, xne, &y)) ||
            (rc = vkr_transformer_temporal_forward(gpu, &u->transformer_in, &x, &y)) ||
            (rc = observe(u, "transformer_in", &y)))
            goto fail;
        vkr_tensor_free(gpu, &x);
        skips.t[skips.n++] = y;
        x = y; /* owned by skips */
        y = (vkr_tensor){0};
    }
    char name[32];
    for (int i = 0; i < c->n_blocks; i++) {
        if ((rc = vkr_unet3d_down_forward(gpu, &u->down[i], &x, &bc, &skips, &x)))
            goto fail;
        snprintf(name, sizeof name, "down_blocks.%d", i);
        if ((rc = observe(u, name, &x)))
            goto fail;
    }
    if ((rc = vkr_unet3d_mid_forward(gpu, &u->mid, &x, &bc, &y)) || (rc = observe(u, "mid_block", &y)))
        goto fail;
    x = y; /* owned here now */
    y = (vkr_tensor){0};
    for (int i = 0; i < c->n_blocks; i++) {
        if ((rc = vkr_unet3d_up_forward(gpu, &u->up[i], &x, &bc, &skips, &x)))
            goto fail;
        snprintf(name, sizeof name, "up_blocks.%d", i);
        if ((rc = observe(u, name, &x)))
            goto fail;
    }
    /* conv_norm_out (GroupNorm, norm_eps) -> SiLU -> conv_out */
    {
        vkr_group_norm_params gp = {.groups = c->norm_num_groups, .eps = c->norm_eps, .per_frame = 1,
                                    .silu = u->observer == NULL};
        const int64_t one[VKR_DIMS] = {n, c->out_channels, f, h, wd};
        static const vkr_conv2d_params cp = {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1};
        if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, x.ne, &y)) ||
            (rc = vkr_op_group_norm(gpu, &x, &u->conv_norm_out_weight, &u->conv_norm_out_bias, &gp, &y)))
            goto fail;
        if (u->observer && ((rc = observe(u, "conv_norm_out", &y)) || (rc = vkr_op_silu(gpu, &y, &y))))
            goto fail;
        vkr_tensor_free(gpu, &x);
        if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, one, out)) ||
            (rc = vkr_op_conv2d(gpu, &y, &u->conv_out_weight, &u->conv_out_bias, NULL, &cp, out)) ||
            (rc = observe(u, "conv_out", out)))
            goto fail;
    }
fail:
    if (rc)
        vkr_tensor_free(gpu, out);
    vkr_tensor_free(gpu, &sin);
    vkr_tensor_free(gpu, &emb);
    vkr_tensor_free(gpu, &ctx);
    /* x is either owned by the skip stack (down path), or ours (after the mid block) */
    if (skips.n == 0 || x.block != skips.t[skips.n - 1].block || x.offset != skips.t[skips.n - 1].offset)
        vkr_tensor_free(gpu, &x);
    vkr_tensor_free(gpu, &y);
    free_skips(gpu, &skips);
    return rc;
}
